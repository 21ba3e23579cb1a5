/**
 * The same build-from-context flow with buildah instead of kaniko (kaniko is archived upstream): download a
 * `.tar.gz` context, `buildah bud --isolation chroot` on vfs storage, push to the intermediate registry with
 * `--digestfile`, then promote that exact digest to Harbor. A second Job builds a ConfigMap context on
 * kernel overlay storage and pushes straight to Harbor with a dockerconfigjson Secret. Both pods need a
 * namespace that admits Pod Security `privileged` (SYS_ADMIN, Unconfined AppArmor; no privileged container).
 */
import { App, Chart, Duration } from 'cdk8s';
import { BuildahBuildJob, BuildahImageFormat, BuildahStorageDriver, BuildContext, JobName, RegistryCredentials } from '../src';

export function build(app: App): Chart {
  const chart = new Chart(app, 'buildah-build', { namespace: 'image-builds' });
  new BuildahBuildJob(chart, 'api', {
    name: JobName.contentHashed('buildah-api-1-4-0'),
    context: BuildContext.fromUrl('https://artifacts.example.com/contexts/api-1.4.0.tar.gz', {
      sha256: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
    }),
    destinations: ['docker-registry.default.svc.cluster.local:5000/build/api:1.4.0'],
    insecureRegistries: ['docker-registry.default.svc.cluster.local:5000'],
    buildArgs: { APP_VERSION: '1.4.0' },
    labels: { 'org.opencontainers.image.version': '1.4.0' },
    promotion: {
      destinations: ['harbor.example.com/platform/api:1.4.0'],
      credentials: RegistryCredentials.fromUsernamePassword('harbor-credentials'),
    },
    activeDeadline: Duration.minutes(45),
  });
  new BuildahBuildJob(chart, 'docs', {
    name: JobName.contentHashed('buildah-docs-2-0-0'),
    context: BuildContext.fromConfigMap('docs-context'),
    destinations: ['harbor.example.com/platform/docs:2.0.0', 'harbor.example.com/platform/docs:stable'],
    credentials: RegistryCredentials.fromDockerConfigSecret('harbor-push'),
    storageDriver: BuildahStorageDriver.OVERLAY,
    format: BuildahImageFormat.DOCKER,
    cache: { repository: 'harbor.example.com/platform/docs-cache' },
  });
  return chart;
}
