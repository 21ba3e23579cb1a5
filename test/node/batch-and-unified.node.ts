/**
 * KanikoBuildBatch (both shapes) and UnifiedImageJob (both modes) on the real node, with the real kaniko executor:
 * every planned image is in the registry with the label of its own context (so the Indexed pods picked their own
 * contexts), and every digest a Job reports equals `skopeo inspect`.
 */
import { createHash } from 'crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { UNIFIED_TOOLS_REPOSITORY } from './images';
import { containerOf, describeJob, expectServed, HARBOR_USER, NodeEnvironment } from './node';
import { BuildContext, ImageArchive, KanikoBatchShape, KanikoBuildBatch, RegistryCredentials, UnifiedImageJob, UnifiedImageJobProps, UnifiedJobMode } from '../../src';
import { synthesize, usernamePasswordSecret } from '../e2e/environment';
import { singleImage, tarGz, writeOciLayout } from '../e2e/oci';

let env: NodeEnvironment;
let base: string;
let imagesRegistry: string;
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

beforeAll(async () => {
  env = await NodeEnvironment.start('batch-unified');
  base = env.tier.images.busybox;
  imagesRegistry = base.split('/')[0];
});
afterAll(async () => {
  await env?.stop();
});

describe('KanikoBuildBatch on a real node, with the real kaniko executor', () => {
  /** Three contexts, each labelling its image with its own name and running a RUN step. */
  function contexts(): string {
    const dir = join(env.dir, 'contexts');
    for (const name of ['alpha', 'beta', 'gamma']) {
      mkdirSync(join(dir, name), { recursive: true });
      writeFileSync(join(dir, name, 'Dockerfile'), `ARG BASE\nFROM \${BASE}\nLABEL built.from=${name}\nCOPY ${name}.txt /${name}.txt\nRUN cat /${name}.txt\n`);
      writeFileSync(join(dir, name, `${name}.txt`), `context ${name}\n`);
    }
    return dir;
  }

  for (const shape of [KanikoBatchShape.JOBS, KanikoBatchShape.INDEXED]) {
    test(`${shape}: every context is built from its own directory and pushed`, async () => {
      const contextsDirectory = contexts();
      let batch!: KanikoBuildBatch;
      const objects = synthesize(chart => {
        batch = new KanikoBuildBatch(chart, 'batch', {
          contextsDirectory,
          registries: [env.intermediate.host],
          repositoryPrefix: `batch-${shape}`,
          tags: ['2.0'],
          insecureRegistries: [env.intermediate.host, imagesRegistry],
          buildArgs: { BASE: base },
          shape,
          ...(shape === KanikoBatchShape.INDEXED ? { parallelism: 2 } : {}),
        });
      });
      const runs = await env.runJobs(objects, batch.podSecurityLevel, [], 400_000);
      expect(runs.length).toBe(shape === KanikoBatchShape.JOBS ? 3 : 1);
      for (const run of runs) {
        expect(run.phase, describeJob(run)).toBe('Complete');
      }
      if (shape === KanikoBatchShape.INDEXED) {
        expect(runs[0].job.status.succeeded).toBe(3);
        expect(runs[0].job.status.completedIndexes).toBe('0-2');
      }
      expect(batch.contextNames).toEqual(['alpha', 'beta', 'gamma']);
      expect(batch.plannedImages.length).toBe(3);
      batch.plannedImages.forEach((ref, i) => {
        const inspected = env.inspect(ref);
        expect(inspected.Labels?.['built.from'], ref).toBe(batch.contextNames[i]);
      });
    });
  }
});

describe('UnifiedImageJob on a real node, in the unified tools image', () => {
  const toolsImage = `${UNIFIED_TOOLS_REPOSITORY}:1.0.0`;
  async function run(props: Partial<UnifiedImageJobProps>) {
    let level = '';
    const objects = synthesize(chart => {
      level = new UnifiedImageJob(chart, 'unified', {
        toolsImage,
        credentials: RegistryCredentials.fromUsernamePassword('harbor-credentials'),
        ...props,
      } as UnifiedImageJobProps).podSecurityLevel;
    });
    return env.runJob(objects, level, [usernamePasswordSecret('harbor-credentials', HARBOR_USER, env.harborPassword)], 400_000);
  }

  test('push_tar: the OCI archive is downloaded, verified and pushed; every destination gets its digest', async () => {
    const image = singleImage({ 'app.txt': 'unified push_tar on the node\n' });
    const dir = join(env.dir, 'archives');
    writeOciLayout(join(dir, 'layout'), image, 'latest');
    env.skopeo(['copy', `oci:${join(dir, 'layout')}:latest`, `oci-archive:${join(dir, 'oci.tar')}:latest`]);
    const archive = readFileSync(join(dir, 'oci.tar'));
    const result = await run({
      mode: UnifiedJobMode.PUSH_TAR,
      archive: ImageArchive.fromUrl(env.files.serve('/images/unified.tar', archive), { sha256: sha256(archive) }),
      destinations: [`${env.harbor.host}/platform/tarball:1.0.0`, `${env.harbor.host}/mirror/tarball:1.0.0`],
    });
    expect(result.phase, describeJob(result)).toBe('Complete');
    expect(expectServed(env, containerOf(result, 'main-task-executor').terminationMessage)).toEqual([
      `${env.harbor.host}/platform/tarball:1.0.0@${image.digest}`,
      `${env.harbor.host}/mirror/tarball:1.0.0@${image.digest}`,
    ]);
  });

  test('build_and_push: the real kaniko builds the context (RUN step) and the recorded digest is promoted', async () => {
    const context = tarGz({ 'Dockerfile': 'ARG BASE\nFROM ${BASE}\nCOPY app.txt /app.txt\nRUN echo "built $(cat /app.txt)"\n', 'app.txt': 'unified\n' });
    const result = await run({
      mode: UnifiedJobMode.BUILD_AND_PUSH,
      context: BuildContext.fromUrl(env.files.serve('/contexts/unified.tar.gz', context), { sha256: sha256(context) }),
      intermediateDestination: `${env.intermediate.host}/build/unified:1.4.0`,
      insecureRegistries: [env.intermediate.host, imagesRegistry],
      buildArgs: { BASE: base },
      destinations: [`${env.harbor.host}/platform/unified:1.4.0`],
    });
    expect(result.phase, describeJob(result)).toBe('Complete');
    const main = containerOf(result, 'main-task-executor');
    expect(main.log).toContain('built unified');
    const digest = env.inspectDigest(`${env.intermediate.host}/build/unified:1.4.0`);
    expect(expectServed(env, main.terminationMessage)).toEqual([
      `${env.intermediate.host}/build/unified@${digest}`,
      `${env.harbor.host}/platform/unified:1.4.0@${digest}`,
    ]);
  });
});
