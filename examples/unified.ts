/**
 * Seed 000's unified single-container Job, both modes: `init-determine-action` maps JOB_TYPE to an action,
 * and `main-task-executor` runs it with one combined tools image (see images/unified-tools/Dockerfile).
 */
import { App, Chart } from 'cdk8s';
import { BuildContext, ImageArchive, JobName, RegistryCredentials, UnifiedImageJob, UnifiedJobMode } from '../src';

/** The combined image built by examples/unified-tools-image.ts, pinned by the digest it reported. */
const TOOLS_IMAGE = 'harbor.example.com/platform/unified-tools:1.0.0@sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0';

export function build(app: App): Chart {
  const chart = new Chart(app, 'unified', { namespace: 'image-builds' });
  const harbor = RegistryCredentials.fromUsernamePassword('harbor-credentials');
  new UnifiedImageJob(chart, 'build-api', {
    name: JobName.contentHashed('unified-build-api-1-4-0'),
    mode: UnifiedJobMode.BUILD_AND_PUSH,
    toolsImage: TOOLS_IMAGE,
    context: BuildContext.fromUrl('https://artifacts.example.com/contexts/api-1.4.0.tar.gz'),
    dockerfile: 'Dockerfile',
    intermediateDestination: 'docker-registry.default.svc.cluster.local:5000/build/api:1.4.0',
    insecureRegistries: ['docker-registry.default.svc.cluster.local:5000'],
    buildArgs: { APP_VERSION: '1.4.0' },
    destinations: ['harbor.example.com/platform/api:1.4.0'],
    credentials: harbor,
  });
  new UnifiedImageJob(chart, 'push-worker', {
    name: JobName.contentHashed('unified-push-worker-2-0-1'),
    mode: UnifiedJobMode.PUSH_TAR,
    toolsImage: TOOLS_IMAGE,
    archive: ImageArchive.fromUrl('https://artifacts.example.com/images/worker-2.0.1.tar'),
    destinations: ['harbor.example.com/platform/worker:2.0.1'],
    credentials: harbor,
  });
  return chart;
}
