/**
 * A monorepo of build contexts built with kaniko: every directory under `contexts/` (except `docs`, skipped
 * on purpose) is built by kaniko and pushed to Harbor, with no Docker on the machine that synthesizes. Each context travels in its own ConfigMap
 * (a deterministic `.tar.gz`). The same batch in both shapes: one Job per context, and one Indexed Job
 * building two contexts at a time.
 */
import { join } from 'path';
import { App, Chart } from 'cdk8s';
import { KanikoBatchShape, KanikoBuildBatch, RegistryCredentials } from '../src';

export function build(app: App): Chart {
  const chart = new Chart(app, 'monorepo-batch', { namespace: 'image-builds' });
  const shared = {
    contextsDirectory: join(__dirname, 'contexts'),
    skip: ['docs'], // not a build context: without this the synthesis fails and names it
    registries: ['harbor.example.com'],
    repositoryPrefix: 'vcity/grim',
    tags: ['2.0'],
    credentials: RegistryCredentials.fromDockerConfigSecret('harbor-push'),
    cache: {},
  };
  new KanikoBuildBatch(chart, 'jobs', { ...shared, shape: KanikoBatchShape.JOBS });
  new KanikoBuildBatch(chart, 'indexed', { ...shared, shape: KanikoBatchShape.INDEXED, parallelism: 2 });
  return chart;
}
