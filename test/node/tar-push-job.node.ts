/**
 * TarPushJob on the real node: the archive is fetched over https by curl (or read from a PersistentVolumeClaim bound to
 * a hostPath PersistentVolume) and pushed by skopeo, in pods admitted at the Job's declared Pod Security level.
 */
import { createHash } from 'crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'fs';
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
async function push(props: TarPushJobProps, extra: (namespace: string) => any[] = () => []) {
  let level = '';
  const objects = synthesize(chart => {
    level = new TarPushJob(chart, 'push', props).podSecurityLevel;
  });
  return env.runJob(objects, level, namespace => [
    usernamePasswordSecret('harbor-credentials', HARBOR_USER, env.harborPassword),
    dockerConfigSecret('harbor-push', env.harbor.host, HARBOR_USER, env.harborPassword),
    ...extra(namespace),
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

  test('an archive on a PersistentVolumeClaim (bound to a hostPath PersistentVolume) is pushed', async () => {
    const volume = join(env.dir, 'volumes', 'image-store');
    mkdirSync(join(volume, 'images'), { recursive: true });
    writeFileSync(join(volume, 'images', 'api-1.4.0.tar'), ociArchive);
    chmodSync(join(volume, 'images', 'api-1.4.0.tar'), 0o644);
    const run = await push({
      archive: ImageArchive.fromPersistentVolumeClaim('image-store', 'images/api-1.4.0.tar'),
      destinations: [`${env.intermediate.host}/claims/api:1.4.0`],
      destinationTlsVerify: false,
    }, (namespace: string) => [
      {
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: { name: `image-store-${namespace}` },
        spec: {
          capacity: { storage: '1Gi' },
          accessModes: ['ReadWriteOnce'],
          storageClassName: 'node-tier-local',
          hostPath: { path: volume, type: 'Directory' },
          claimRef: { namespace, name: 'image-store' },
        },
      },
      {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: 'image-store' },
        spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'node-tier-local', resources: { requests: { storage: '1Gi' } }, volumeName: `image-store-${namespace}` },
      },
    ]);
    expect(run.phase, describeJob(run)).toBe('Complete');
    expect(expectServed(env, containerOf(run, 'push').terminationMessage)).toEqual([`${env.intermediate.host}/claims/api:1.4.0@${image.digest}`]);
  });

  test('a sha256 mismatch ends the Job Failed with the message in the termination message, nothing pushed', async () => {
    const url = env.files.serve('/images/tampered.tar', Buffer.concat([ociArchive, Buffer.from('tampered')]));
    const run = await push({
      archive: ImageArchive.fromUrl(url, { sha256: sha256(ociArchive) }),
      destinations: [`${env.intermediate.host}/fail/tampered:1.0.0`],
      destinationTlsVerify: false,
    });
    expect(run.phase, describeJob(run)).toBe('Failed');
    expect(run.job.status.conditions.find((c: any) => c.type === 'Failed').reason).toBe('BackoffLimitExceeded');
    expect(containerOf(run, 'fetch-archive').terminationMessage).toMatch(new RegExp(`sha256 mismatch for ${url}: expected ${sha256(ociArchive)}`));
    expect(await env.intermediate.repositories()).not.toContain('fail/tampered');
  });

  test('an unreachable registry ends the Job Failed with the message in the termination message', async () => {
    const url = env.files.serve('/images/unreachable.tar', ociArchive);
    const run = await push({
      archive: ImageArchive.fromUrl(url, { sha256: sha256(ociArchive) }),
      destinations: [`${env.intermediate.host.split(':')[0]}:1/nowhere/api:1.0.0`],
      destinationTlsVerify: false,
      retryTimes: 0,
    });
    expect(run.phase, describeJob(run)).toBe('Failed');
    expect(containerOf(run, 'push').terminationMessage).toMatch(/error: .*nowhere\/api/);
  });
});
