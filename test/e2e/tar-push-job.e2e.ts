/**
 * TarPushJob, run for real: tarballs made by the host's skopeo (docker-archive and oci-archive) are downloaded
 * by curl over https with faults injected, checked with sha256sum, and pushed by skopeo to the registries.
 */
import { createHash } from 'crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  containerOf, describeRun, dockerConfigSecret, E2eEnvironment, expectNoSecretLeak, HARBOR_USER, hostSkopeo, skopeoInspectDigest, startEnvironment,
  synthesize, usernamePasswordSecret,
} from './environment';
import { freePort } from './fixtures';
import { singleImage, TestImage, writeOciLayout } from './oci';
import { PodResult, RunOptions } from './runner';
import { ArchiveFormat, ImageArchive, RegistryCredentials, TarPushJob, TarPushJobProps } from '../../src';

let env: E2eEnvironment;
let image: TestImage;
let ociArchive: Buffer;
let dockerArchive: Buffer;
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

beforeAll(async () => {
  env = await startEnvironment('tar-push');
  // the archives are made by the real skopeo from a hand-written OCI layout
  image = singleImage({ 'app.txt': 'pushed from a tarball\n' });
  const dir = join(env.dir, 'archives');
  writeOciLayout(join(dir, 'layout'), image, 'latest');
  hostSkopeo(env, ['copy', `oci:${join(dir, 'layout')}:latest`, `oci-archive:${join(dir, 'oci.tar')}:latest`]);
  hostSkopeo(env, ['copy', `oci:${join(dir, 'layout')}:latest`, `docker-archive:${join(dir, 'docker.tar')}:e2e/app:latest`]);
  ociArchive = readFileSync(join(dir, 'oci.tar'));
  dockerArchive = readFileSync(join(dir, 'docker.tar'));
});
afterAll(async () => {
  await env?.stop();
});

/** Runs a TarPushJob with the harbor Secrets in the cluster. */
async function push(props: TarPushJobProps, options: RunOptions = {}): Promise<PodResult> {
  const objects = synthesize(chart => new TarPushJob(chart, 'push', props));
  return env.runner.run([
    ...objects,
    usernamePasswordSecret('harbor-credentials', HARBOR_USER, env.harborPassword),
    dockerConfigSecret('harbor-push', env.harbor.host, HARBOR_USER, env.harborPassword),
  ], options);
}

/** The `<ref>@<digest>` lines of the push container's termination message, each checked against `skopeo inspect`. */
function pushedAndServed(result: PodResult): string[] {
  const lines = containerOf(result, 'push').terminationMessage.trim().split('\n');
  for (const line of lines) {
    const at = line.lastIndexOf('@');
    expect(skopeoInspectDigest(env, line.slice(0, at)), line).toBe(line.slice(at + 1));
  }
  return lines;
}

/** Asserts the run failed in fetch-archive with `message`, before the push container, and nothing reached `repository`. */
async function expectFailedBeforePush(result: PodResult, repository: string, message: RegExp): Promise<void> {
  expect(result.phase).toBe('Failed');
  expect(result.containers.map(c => c.name)).toEqual(['fetch-archive']);
  const fetch = containerOf(result, 'fetch-archive');
  expect(fetch.exitCode).toBe(1);
  expect(fetch.stderr).toMatch(message);
  expect(fetch.terminationMessage).toMatch(message);
  expect(fetch.processes.map(p => p.argv[0])).not.toContain('skopeo');
  expect(await env.intermediate.repositories()).not.toContain(repository);
}

/** Props pushing `url` to the plain-http intermediate registry. */
function toIntermediate(repository: string, url: string, sha: string | undefined = sha256(ociArchive)): TarPushJobProps {
  return {
    archive: ImageArchive.fromUrl(url, { sha256: sha }),
    destinations: [`${env.intermediate.host}/${repository}:1.0.0`],
    destinationTlsVerify: false,
  };
}

describe('TarPushJob', () => {
  test('an OCI archive keeps its manifest digest; every destination receives it, with composed credentials', async () => {
    // GIVEN
    const url = env.files.serve('/images/api-oci.tar', ociArchive);
    // WHEN
    const result = await push({
      archive: ImageArchive.fromUrl(url, { sha256: sha256(ociArchive) }),
      destinations: [`${env.harbor.host}/platform/api:1.4.0`, `${env.harbor.host}/mirror/api:1.4.0`, `${env.harbor.host}/platform/api:stable`],
      credentials: RegistryCredentials.fromUsernamePassword('harbor-credentials'),
    });
    // THEN
    expect(result.phase, describeRun(result)).toBe('Succeeded');
    expect(result.containers.map(c => c.name)).toEqual(['compose-destination-auth', 'fetch-archive', 'push']);
    const fetch = containerOf(result, 'fetch-archive');
    expect(fetch.stderr).toContain(`sha256 ${sha256(ociArchive)} verified`);
    expect(fetch.stderr).toContain('detected oci-archive in /archive/image.tar');
    expect(pushedAndServed(result)).toEqual([
      `${env.harbor.host}/platform/api:1.4.0@${image.digest}`,
      `${env.harbor.host}/mirror/api:1.4.0@${image.digest}`,
      `${env.harbor.host}/platform/api:stable@${image.digest}`,
    ]);
    // the archive is pushed once; the others are copies of what the registry holds, by digest
    const copies = containerOf(result, 'push').processes.filter(p => p.argv[0] === 'skopeo' && p.argv[1] === 'copy').map(p => p.argv);
    expect(copies[0]).toContain('oci-archive:/archive/image.tar');
    expect(copies.slice(1).every(argv => argv.includes(`docker://${env.harbor.host}/platform/api@${image.digest}`))).toBe(true);
    expectNoSecretLeak(result, [env.harborPassword]);
  });

  test('a docker-archive gets the manifest the registry computes; the termination message says which', async () => {
    // GIVEN
    const url = env.files.serve('/images/web-docker.tar', dockerArchive);
    // WHEN
    const result = await push({
      archive: ImageArchive.fromUrl(url, { sha256: sha256(dockerArchive) }),
      destinations: [`${env.harbor.host}/platform/web:2.0.0`, `${env.harbor.host}/platform/web:latest-release`],
      credentials: RegistryCredentials.fromDockerConfigSecret('harbor-push'),
    });
    // THEN
    expect(result.phase, describeRun(result)).toBe('Succeeded');
    expect(containerOf(result, 'fetch-archive').stderr).toContain('detected docker-archive in /archive/image.tar');
    const lines = pushedAndServed(result);
    const digests = new Set(lines.map(l => l.slice(l.lastIndexOf('@') + 1)));
    expect(digests.size).toBe(1);
    expect([...digests][0]).toMatch(/^sha256:[0-9a-f]{64}$/);
    // a docker save archive has no registry manifest: the digest is new
    expect([...digests][0]).not.toBe(image.digest);
    expectNoSecretLeak(result, [env.harborPassword]);
  });

  test('an archive on a PersistentVolumeClaim is pushed read-only, format detected into a scratch volume', async () => {
    // GIVEN a claim's volume holding the archive, readable by others like a typical shared volume
    const volume = join(env.dir, 'claims', 'image-store');
    mkdirSync(join(volume, 'images'), { recursive: true });
    writeFileSync(join(volume, 'images', 'api-1.4.0.tar'), ociArchive);
    chmodSync(join(volume, 'images', 'api-1.4.0.tar'), 0o644);
    // WHEN
    const result = await push({
      archive: ImageArchive.fromPersistentVolumeClaim('image-store', 'images/api-1.4.0.tar'),
      destinations: [`${env.intermediate.host}/claims/api:1.4.0`],
      destinationTlsVerify: false,
    }, { claims: { 'image-store': volume } });
    // THEN
    expect(result.phase, describeRun(result)).toBe('Succeeded');
    expect(containerOf(result, 'fetch-archive').processes.map(p => p.argv[0])).not.toContain('curl');
    expect(containerOf(result, 'push').terminationMessage).toBe(`${env.intermediate.host}/claims/api:1.4.0@${image.digest}\n`);
    expect(skopeoInspectDigest(env, `${env.intermediate.host}/claims/api:1.4.0`)).toBe(image.digest);
  });

  test('an archive on a claim with a declared format needs no init container', async () => {
    const volume = join(env.dir, 'claims', 'declared');
    mkdirSync(volume, { recursive: true });
    writeFileSync(join(volume, 'web.tar'), dockerArchive);
    const result = await push({
      archive: ImageArchive.fromPersistentVolumeClaim('declared', 'web.tar', { format: ArchiveFormat.DOCKER_ARCHIVE }),
      destinations: [`${env.intermediate.host}/claims/web:1.0.0`],
      destinationTlsVerify: false,
    }, { claims: { declared: volume } });
    expect(result.phase, describeRun(result)).toBe('Succeeded');
    expect(result.containers.map(c => c.name)).toEqual(['push']);
    pushedAndServed(result);
  });

  test('a sha256 mismatch fails before any push', async () => {
    const url = env.files.serve('/images/tampered.tar', dockerArchive);
    const result = await push(toIntermediate('fail/tampered', url));
    await expectFailedBeforePush(result, 'fail/tampered',
      new RegExp(`sha256 mismatch for ${url}: expected ${sha256(ociArchive)}, got ${sha256(dockerArchive)}`));
  });

  test('a truncated download fails before any push', async () => {
    const url = env.files.route('/images/truncated.tar', { kind: 'truncate', body: ociArchive });
    const result = await push(toIntermediate('fail/truncated', url));
    await expectFailedBeforePush(result, 'fail/truncated', /download of .*truncated\.tar failed \(curl exit code 18\)/);
  });

  test('a 404 fails at once, before any push and without retries', async () => {
    const url = `${env.files.url}/images/missing.tar`;
    const result = await push(toIntermediate('fail/missing', url));
    await expectFailedBeforePush(result, 'fail/missing', /download of .*missing\.tar failed \(curl exit code 22\)/);
    expect(env.files.count('/images/missing.tar')).toBe(1);
  });

  test('a dead server fails after the retries, before any push', async () => {
    const url = `https://127.0.0.1:${await freePort()}/images/dead.tar`;
    const result = await push(toIntermediate('fail/dead', url));
    await expectFailedBeforePush(result, 'fail/dead', /download of .*dead\.tar failed \(curl exit code 7\)/);
    // --retry 5 with --retry-connrefused: six attempts
    expect(containerOf(result, 'fetch-archive').stderr.match(/Couldn't connect to server/g)).toHaveLength(6);
  });

  test('a server that refuses connections at first is retried until it is up', async () => {
    // GIVEN: the port starts listening only once fetch-archive has logged a refused connection
    const late = await env.files.serveLater('/images/late.tar', ociArchive);
    const onStderr = (container: string, chunk: string) => {
      if (container === 'fetch-archive' && /Failed to connect|Couldn't connect/.test(chunk)) late.listen();
    };
    // WHEN
    const result = await push(toIntermediate('ok/late', late.url), { onStderr });
    // THEN: refused at least once (or the server would never have listened), then one request served
    expect(result.phase, describeRun(result)).toBe('Succeeded');
    expect(containerOf(result, 'fetch-archive').stderr).toMatch(/Failed to connect|Couldn't connect/);
    expect(env.files.count('/images/late.tar')).toBe(1);
    expect(pushedAndServed(result)).toEqual([`${env.intermediate.host}/ok/late:1.0.0@${image.digest}`]);
  });

  test('two 503 answers are retried, then the archive is pushed', async () => {
    const url = env.files.route('/images/busy.tar', { kind: 'status-then-serve', status: 503, times: 2, body: ociArchive });
    const result = await push(toIntermediate('ok/busy', url));
    expect(result.phase, describeRun(result)).toBe('Succeeded');
    expect(env.files.count('/images/busy.tar')).toBe(3);
    expect(pushedAndServed(result)).toEqual([`${env.intermediate.host}/ok/busy:1.0.0@${image.digest}`]);
  });
});
