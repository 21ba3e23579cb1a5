/**
 * Run identity on the real API server: a Job's pod template is immutable, so re-applying a changed build under the
 * same name fails, while the default content-hashed name makes it a new Job that applies next to the old one, and
 * re-applying an unchanged build changes nothing. Server-side apply as `kubectl apply --server-side` does it.
 */
import { Chart, Testing } from 'cdk8s';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { KubeApi, KubeObject } from './cluster';
import { NodeEnvironment } from './node';
import { BuildContext, JobName, KanikoBuildJob, PodSecurityLevel } from '../../src';

let env: NodeEnvironment;
beforeAll(async () => {
  env = await NodeEnvironment.start('identity');
});
afterAll(async () => {
  await env?.stop();
});

/** The Job of a KanikoBuildJob built with `version` as a build arg, named by `name`. */
function buildJob(version: string, name?: JobName): KubeObject {
  const chart = new Chart(Testing.app(), 'images');
  new KanikoBuildJob(chart, 'api', {
    context: BuildContext.fromUrl('https://artifacts.example.com/api-context.tar.gz', { sha256: 'a'.repeat(64) }),
    destinations: ['registry.example.com/team/api:1.4.0'],
    buildArgs: { VERSION: version },
    name,
  });
  const job = Testing.synth(chart).find(o => o.kind === 'Job');
  // suspended, so no pod starts: only the API server's handling of the object is under test (suspend is mutable)
  return { ...job, spec: { ...job.spec, suspend: true } };
}

describe('re-applying a changed build on the real API server', () => {
  let namespace: string;
  beforeAll(async () => {
    namespace = await env.namespace(PodSecurityLevel.BASELINE);
  });

  async function apply(job: KubeObject): Promise<{ status: number; body: any }> {
    const path = `${KubeApi.collectionPath(job, namespace)}/${job.metadata.name}?fieldManager=node-tier&fieldValidation=Strict`;
    return env.api.request('PATCH', path, JSON.stringify({ ...job, metadata: { ...job.metadata, namespace } }), 'application/apply-patch+yaml');
  }

  test('content-hashed (the default): a changed build arg is a new Job next to the old one; the same build re-applies unchanged', async () => {
    const first = buildJob('1.4.0');
    const changed = buildJob('1.4.1');
    expect(changed.metadata.name).not.toBe(first.metadata.name);
    expect((await apply(first)).status).toBe(201);
    const again = await apply(buildJob('1.4.0'));
    expect(again.status, JSON.stringify(again.body).slice(0, 1000)).toBe(200);
    expect(again.body.metadata.generation).toBe(1);
    const next = await apply(changed);
    expect(next.status, JSON.stringify(next.body).slice(0, 1000)).toBe(201);
  });

  test('a stable name: the changed build is refused as Kubernetes refuses any pod template change (field is immutable)', async () => {
    const first = buildJob('1.4.0', JobName.stable());
    const changed = buildJob('1.4.1', JobName.stable());
    expect(changed.metadata.name).toBe(first.metadata.name);
    expect((await apply(first)).status).toBe(201);
    const refused = await apply(changed);
    expect(refused.status).toBe(422);
    expect(refused.body.message).toContain('field is immutable');
  });
});
