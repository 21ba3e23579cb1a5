/**
 * Seed 000's build-from-context flow: download a `.tar.gz` build context, build it with kaniko, push it to
 * an in-cluster intermediate registry, then promote that exact digest to Harbor with the
 * `harbor-credentials` Secret (keys `username` / `password`).
 */
import { App, Chart, Duration } from 'cdk8s';
import { BuildContext, JobName, KanikoBuildJob, RegistryCredentials } from '../src';

export function build(app: App): Chart {
  const chart = new Chart(app, 'build-from-context', { namespace: 'image-builds' });
  new KanikoBuildJob(chart, 'api', {
    name: JobName.contentHashed('build-api-1-4-0'),
    context: BuildContext.fromUrl('https://artifacts.example.com/contexts/api-1.4.0.tar.gz', {
      sha256: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
    }),
    dockerfile: 'Dockerfile',
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
  return chart;
}
