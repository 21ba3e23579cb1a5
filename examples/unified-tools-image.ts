/**
 * The bootstrap step the monorepo-of-contexts setup talks about: build UnifiedImageJob's combined tools image
 * (images/unified-tools/Dockerfile in this repository) inside the cluster with a KanikoBuildJob, without
 * Docker on anyone's machine, then promote it by digest to Harbor.
 */
import { App, Chart } from 'cdk8s';
import { BuildContext, JobName, KanikoBuildJob, RegistryCredentials } from '../src';

export function build(app: App): Chart {
  const chart = new Chart(app, 'unified-tools-image', { namespace: 'image-builds' });
  new KanikoBuildJob(chart, 'tools', {
    name: JobName.contentHashed('build-unified-tools-1-0-0'),
    context: BuildContext.fromGit('https://github.com/cdk8s-image-jobs/cdk8s-image-jobs.git', { ref: 'refs/heads/main', subPath: 'images/unified-tools' }),
    destinations: ['docker-registry.default.svc.cluster.local:5000/build/unified-tools:1.0.0'],
    insecureRegistries: ['docker-registry.default.svc.cluster.local:5000'],
    promotion: {
      destinations: ['harbor.example.com/platform/unified-tools:1.0.0'],
      credentials: RegistryCredentials.fromUsernamePassword('harbor-credentials'),
    },
  });
  return chart;
}
