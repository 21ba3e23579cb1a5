/**
 * One image for linux/amd64 and linux/arm64 from each builder. BuildKit (rootless) pushes one image index and
 * promotes it by digest; buildah builds each platform into a manifest list, pushes it with `manifest push --all` and
 * promotes it the same way. Platforms other than the node's run their RUN steps under QEMU, registered with
 * binfmt_misc (F flag) on the nodes; both pods need a `privileged` namespace. kaniko builds one architecture per
 * run, so it fans out: one kaniko Job per platform on a node of that architecture, then an assembly Job (with a
 * ServiceAccount, Role and RoleBinding of its own to read those Jobs) pushes the index and promotes it; every Job of
 * the fan-out fits a `baseline` namespace.
 */
import { App, Chart } from 'cdk8s';
import { BuildahBuildJob, BuildContext, BuildkitBuildJob, JobName, KanikoBuildJob, RegistryCredentials } from '../src';

export function build(app: App): Chart {
  const chart = new Chart(app, 'multi-arch', { namespace: 'image-builds' });
  const context = BuildContext.fromUrl('https://artifacts.example.com/contexts/api-1.4.0.tar.gz', {
    sha256: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
  });
  const promotion = {
    destinations: ['harbor.example.com/platform/api:1.4.0'],
    credentials: RegistryCredentials.fromUsernamePassword('harbor-credentials'),
  };
  new BuildkitBuildJob(chart, 'buildkit', {
    name: JobName.contentHashed('api-buildkit-multi-arch'),
    context,
    destinations: ['registry.internal:5000/build/api:1.4.0-buildkit'],
    platforms: ['linux/amd64', 'linux/arm64'],
    cache: {},
    promotion,
  });
  new BuildahBuildJob(chart, 'buildah', {
    name: JobName.contentHashed('api-buildah-multi-arch'),
    context,
    destinations: ['registry.internal:5000/build/api:1.4.0-buildah'],
    platforms: ['linux/amd64', 'linux/arm64'],
    promotion,
  });
  new KanikoBuildJob(chart, 'kaniko', {
    name: JobName.contentHashed('api-kaniko-multi-arch'),
    context,
    destinations: ['registry.internal:5000/build/api:1.4.0-kaniko'],
    platforms: ['linux/amd64', 'linux/arm64'],
    cache: {},
    promotion,
  });
  return chart;
}
