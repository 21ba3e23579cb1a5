/**
 * The build-from-context flow with BuildKit: rootless `buildctl-daemonless.sh` builds a downloaded `.tar.gz`
 * context, pushes to the intermediate registry with a registry layer cache next to it, and the exact digest is
 * promoted to Harbor. A second Job builds a private git repository with privileged BuildKit, an npm token as a
 * build secret file, and pushes straight to Harbor with a dockerconfigjson Secret. Both pods need a namespace that
 * admits Pod Security `privileged` (rootless: Unconfined seccomp and AppArmor; privileged: a privileged container).
 */
import { App, Chart, Duration } from 'cdk8s';
import { BuildContext, BuildkitBuildJob, BuildkitMode, CacheMode, JobName, RegistryCredentials } from '../src';

export function build(app: App): Chart {
  const chart = new Chart(app, 'buildkit-build', { namespace: 'image-builds' });
  new BuildkitBuildJob(chart, 'api', {
    name: JobName.contentHashed('buildkit-api-1-4-0'),
    context: BuildContext.fromUrl('https://artifacts.example.com/contexts/api-1.4.0.tar.gz', {
      sha256: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
    }),
    destinations: ['docker-registry.default.svc.cluster.local:5000/build/api:1.4.0'],
    insecureRegistries: ['docker-registry.default.svc.cluster.local:5000'],
    buildArgs: { APP_VERSION: '1.4.0' },
    labels: { 'org.opencontainers.image.version': '1.4.0' },
    cache: {},
    promotion: {
      destinations: ['harbor.example.com/platform/api:1.4.0'],
      credentials: RegistryCredentials.fromUsernamePassword('harbor-credentials'),
    },
    activeDeadline: Duration.minutes(45),
  });
  new BuildkitBuildJob(chart, 'web', {
    name: JobName.contentHashed('buildkit-web-3-1-0'),
    mode: BuildkitMode.PRIVILEGED,
    context: BuildContext.fromGit('https://git.example.com/platform/web.git', { ref: 'v3.1.0', tokenSecret: 'git-token' }),
    destinations: ['harbor.example.com/platform/web:3.1.0'],
    credentials: RegistryCredentials.fromDockerConfigSecret('harbor-push'),
    secrets: [{ id: 'npmrc', secretName: 'npm-token', key: '.npmrc' }],
    target: 'runtime',
    cache: { mode: CacheMode.INLINE },
  });
  return chart;
}
