/**
 * A company network: an on-prem Harbor whose certificate a corporate CA issued, a layer cache on an internal
 * registry with its own robot account, an artifact server and a git server behind the same CA, an HTTP proxy for
 * everything outside, and tool images pulled through Harbor's proxy-cache projects. One service is built from a
 * release archive, another straight from git; kaniko pushes to Harbor, then skopeo promotes the digest to the
 * production project. Each robot's credentials are written only for its own registry.
 */
import { App, Chart } from 'cdk8s';
import {
  BuildContext, ImageJobOptions, JobName, KanikoBuildJob, NodeLabel, PodEnvValue, RegistryCertificateAuthority, RegistryCredentials,
} from '../src';

export function build(app: App): Chart {
  const chart = new Chart(app, 'production-registries', { namespace: 'image-builds' });
  const proxy = PodEnvValue.fromValue('http://proxy.corp.example:3128');
  const noProxy = PodEnvValue.fromValue('.corp.example,.svc,.cluster.local,10.0.0.0/8');
  // what every build Job of this network shares: the pod knobs, the proxy and the tool image mirrors
  const company: ImageJobOptions = {
    env: { HTTPS_PROXY: proxy, https_proxy: proxy, HTTP_PROXY: proxy, http_proxy: proxy, NO_PROXY: noProxy, no_proxy: noProxy },
    toolImages: {
      registryMirrors: { 'ghcr.io': 'harbor.corp.example/ghcr', 'docker.io': 'harbor.corp.example/dockerhub', 'quay.io': 'harbor.corp.example/quay' },
    },
    imagePullSecrets: ['harbor-mirror-pull'],
    priorityClassName: 'batch-builds',
    runtimeClassName: 'gvisor',
    podLabels: { 'corp.example/cost-center': 'platform' },
    podAnnotations: { 'sidecar.istio.io/inject': 'false' },
    // on the build pool, never on spot nodes or GPU nodes; rather in the zone next to Harbor
    requiredNodeLabels: [
      NodeLabel.oneOf('node.corp.example/pool', ['builds']),
      NodeLabel.noneOf('node.kubernetes.io/lifecycle', ['spot']),
      NodeLabel.absent('nvidia.com/gpu.present'),
    ],
    preferredNodes: [{ labels: [NodeLabel.oneOf('topology.kubernetes.io/zone', ['corp-a'])], weight: 50 }],
    spreadAcrossNodes: true,
  };
  // each robot only for its own registry: the cache registry never sees Harbor's robot, nor Harbor the cache's
  const credentials = RegistryCredentials.combine([
    RegistryCredentials.fromUsernamePassword('harbor-build-robot', { registries: ['harbor.corp.example'] }),
    RegistryCredentials.fromUsernamePassword('cache-robot', { registries: ['cache.corp.example:5000'] }),
  ]);
  // the corporate CA for every registry the Job names
  const corpCa = RegistryCertificateAuthority.fromConfigMap('corp-ca-bundle', 'ca.crt');

  new KanikoBuildJob(chart, 'api', {
    ...company,
    name: JobName.contentHashed('build-api-2-1-0'),
    context: BuildContext.fromUrl('https://artifacts.corp.example/api/api-2.1.0.tar.gz', {
      sha256: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
    }),
    destinations: ['harbor.corp.example/build/api:2.1.0'],
    credentials,
    cache: { repository: 'cache.corp.example:5000/build/api-cache' },
    promotion: {
      destinations: ['harbor.corp.example/production/api:2.1.0'],
      credentials: RegistryCredentials.fromDockerConfigSecret('harbor-production-push'),
    },
    // and, named explicitly, for the artifact server the context is downloaded from (curl)
    certificateAuthorities: [corpCa, RegistryCertificateAuthority.fromSecret('artifacts-tls', 'ca.crt', { registries: ['artifacts.corp.example'] })],
  });

  new KanikoBuildJob(chart, 'worker', {
    ...company,
    name: JobName.contentHashed('build-worker-1-3-0'),
    context: BuildContext.fromGit('https://git.corp.example/platform/worker.git', { ref: 'v1.3.0', tokenSecret: 'git-read-token' }),
    destinations: ['harbor.corp.example/build/worker:1.3.0'],
    credentials,
    cache: { repository: 'cache.corp.example:5000/build/worker-cache' },
    // and, named explicitly, for the git server kaniko clones from
    certificateAuthorities: [corpCa, RegistryCertificateAuthority.fromConfigMap('corp-ca-bundle', 'ca.crt', { registries: ['git.corp.example'] })],
  });
  return chart;
}
