/**
 * TarPushJob on the real node: the archive is fetched over https by curl (or read from a PersistentVolumeClaim bound to
 * a hostPath PersistentVolume) and pushed by skopeo, in pods admitted at the Job's declared Pod Security level.
 */
import { createHash } from 'crypto';
import { readFileSync } from 'fs';
import { join } from 'path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { containerOf, describeJob, expectServed, HARBOR_USER, NodeEnvironment } from './node';
import { ImageArchive, RegistryCredentials, TarPushJob, TarPushJobProps } from '../../src';
import { dockerConfigSecret, synthesize, usernamePasswordSecret } from '../e2e/environment';
import { singleImage, TestImage, writeOciLayout } from '../e2e/oci';

let env: NodeEnvironment;
let image: TestImage;
let ociArchive: Buffer;
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

beforeAll(async () => {
  env = await NodeEnvironment.start('tar-push');
  image = singleImage({ 'app.txt': 'pushed from a tarball on the node\n' });
  const dir = join(env.dir, 'archives');
  writeOciLayout(join(dir, 'layout'), image, 'latest');
  env.skopeo(['copy', `oci:${join(dir, 'layout')}:latest`, `oci-archive:${join(dir, 'oci.tar')}:latest`]);
  ociArchive = readFileSync(join(dir, 'oci.tar'));
});
afterAll(async () => {
  await env?.stop();
});

/** Synthesizes a TarPushJob and runs it at its declared level, with the harbor Secrets in its namespace. */
async function push(props: TarPushJobProps, extra: any[] = []) {
  let level = '';
  const objects = synthesize(chart => {
    level = new TarPushJob(chart, 'push', props).podSecurityLevel;
  });
  return env.runJob(objects, level, [
    usernamePasswordSecret('harbor-credentials', HARBOR_USER, env.harborPassword),
    dockerConfigSecret('harbor-push', env.harbor.host, HARBOR_USER, env.harborPassword),
    ...extra,
  ]);
}

describe('TarPushJob on a real node', () => {
  test('an OCI archive over https reaches every destination with its digest, with composed credentials', async () => {
    const url = env.files.serve('/images/api-oci.tar', ociArchive);
    const run = await push({
      archive: ImageArchive.fromUrl(url, { sha256: sha256(ociArchive) }),
      destinations: [`${env.harbor.host}/platform/api:1.4.0`, `${env.harbor.host}/mirror/api:1.4.0`],
      credentials: RegistryCredentials.fromUsernamePassword('harbor-credentials'),
    });
    expect(run.phase, describeJob(run)).toBe('Complete');
    expect(run.containers.map(c => c.name)).toEqual(['compose-destination-auth', 'fetch-archive', 'push']);
    expect(containerOf(run, 'fetch-archive').log).toContain(`sha256 ${sha256(ociArchive)} verified`);
    expect(expectServed(env, containerOf(run, 'push').terminationMessage)).toEqual([
      `${env.harbor.host}/platform/api:1.4.0@${image.digest}`,
      `${env.harbor.host}/mirror/api:1.4.0@${image.digest}`,
    ]);
  });
});
