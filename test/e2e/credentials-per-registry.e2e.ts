/**
 * Credentials per registry, run for real: three recording registries (a proxy on 127.0.0.1 that records every
 * `Authorization` header, in front of Docker Distribution) — "alpha" and "beta" each demand their own robot
 * account with a basic-auth challenge, "open" allows anonymous access but challenges the `/v2/` ping, so a client
 * holding a credential for it would send it. Each construct the tier runs pushes or reads across
 * them; the records prove that each registry received its own credentials and no other registry's.
 */
import { createHash } from 'crypto';
import { mkdirSync, writeFileSync } from 'fs';
import { join } from 'path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  containerOf, describeRun, E2eEnvironment, expectNoSecretLeak, ociArchiveOf, startEnvironment, synthesize, usernamePasswordSecret,
} from './environment';
import { RecordingRegistry } from './fixtures';
import { pushImage, singleImage, tarGz } from './oci';
import { PodResult } from './runner';
import {
  BuildahBuildJob, BuildContext, BuildkitBuildJob, ImageArchive, KanikoBatchShape, KanikoBuildBatch, KanikoBuildJob, RegistryCredentials,
  SkopeoPromoteJob, TarPushJob, UnifiedImageJob, UnifiedJobMode,
} from '../../src';

const ALPHA = { username: 'alpha-robot', password: `alpha ${Math.random().toString(36).slice(2)} 'q' $(id)` };
const BETA = { username: 'beta-robot', password: `beta ${Math.random().toString(36).slice(2)} "q"` };
const CONTEXT = tarGz({ 'Dockerfile': 'FROM scratch\nCOPY app.txt /app.txt\n', 'app.txt': 'per-registry credentials\n' });
const CONTEXT_SHA256 = createHash('sha256').update(CONTEXT).digest('hex');

let env: E2eEnvironment;
let alpha: RecordingRegistry;
let beta: RecordingRegistry;
let open: RecordingRegistry;
beforeAll(async () => {
  env = await startEnvironment('credentials');
  alpha = await RecordingRegistry.start(env.dir, 'alpha', ALPHA);
  beta = await RecordingRegistry.start(env.dir, 'beta', BETA);
  open = await RecordingRegistry.start(env.dir, 'open');
});
afterAll(async () => {
  for (const registry of [alpha, beta, open]) {
    await registry?.stop();
  }
  await env?.stop();
});

/** The Secrets of the two robots, in the "cluster". */
const SECRETS = () => [
  usernamePasswordSecret('alpha-robot', ALPHA.username, ALPHA.password),
  usernamePasswordSecret('beta-robot', BETA.username, BETA.password),
];
const alphaOnly = () => RegistryCredentials.fromUsernamePassword('alpha-robot', { registries: [alpha.host] });
const betaOnly = () => RegistryCredentials.fromUsernamePassword('beta-robot', { registries: [beta.host] });

/** Forgets what the registries recorded so far. */
function clearRecords(): void {
  for (const registry of [alpha, beta, open]) {
    registry.requests.length = 0;
  }
}

/** The run succeeded, each robot's registry saw only that robot, the open one no credentials at all, and no password leaked. */
function expectOwnCredentialsOnly(result: PodResult, used: RecordingRegistry[]): void {
  expect(result.phase, describeRun(result)).toBe('Succeeded');
  const expected = new Map([[alpha, [ALPHA.username]], [beta, [BETA.username]], [open, []]]);
  for (const registry of [alpha, beta, open]) {
    expect(registry.users(), `users seen by ${registry.host}`).toEqual(used.includes(registry) ? expected.get(registry) : []);
  }
  expectNoSecretLeak(result, [ALPHA.password], ALPHA.username);
  expectNoSecretLeak(result, [BETA.password], BETA.username);
}

describe('credentials per registry', () => {
  test('SkopeoPromoteJob: the source registry gets only the source robot, the destination only the destination robot', async () => {
    const image = singleImage({ 'app.txt': 'promoted\n' });
    await pushImage(alpha.backend.host, 'build/api', 'candidate', image);
    clearRecords();
    const objects = synthesize(chart => new SkopeoPromoteJob(chart, 'promote', {
      source: `${alpha.host}/build/api@${image.digest}`,
      sourceCredentials: RegistryCredentials.fromUsernamePassword('alpha-robot'),
      sourceTlsVerify: false,
      destinations: [`${beta.host}/platform/api:1.0.0`],
      destinationCredentials: RegistryCredentials.fromUsernamePassword('beta-robot'),
      destinationTlsVerify: false,
    }));
    const result = await env.runner.run([...objects, ...SECRETS()]);
    expectOwnCredentialsOnly(result, [alpha, beta]);
    expect(containerOf(result, 'promote').terminationMessage.trim()).toBe(`${beta.host}/platform/api:1.0.0@${image.digest}`);
  });

  test('TarPushJob: combine() pushes to two registries, each with its own robot', async () => {
    const image = singleImage({ 'app.txt': 'from a tarball\n' });
    const archive = ociArchiveOf(env, image, 'archive');
    const url = env.files.serve('/images/per-registry.tar', archive);
    clearRecords();
    const objects = synthesize(chart => new TarPushJob(chart, 'push', {
      archive: ImageArchive.fromUrl(url, { sha256: createHash('sha256').update(archive).digest('hex') }),
      destinations: [`${alpha.host}/platform/tar:1`, `${beta.host}/platform/tar:1`],
      credentials: RegistryCredentials.combine([alphaOnly(), betaOnly()]),
      destinationTlsVerify: false,
    }));
    const result = await env.runner.run([...objects, ...SECRETS()]);
    expectOwnCredentialsOnly(result, [alpha, beta]);
    expect(await alpha.backend.repositories()).toContain('platform/tar');
    expect(await beta.backend.repositories()).toContain('platform/tar');
  });

  test('KanikoBuildJob (stand-in executor): combine() pushes both destinations, each with its own robot', async () => {
    const url = env.files.serve('/contexts/per-registry-kaniko.tar.gz', CONTEXT);
    clearRecords();
    const objects = synthesize(chart => new KanikoBuildJob(chart, 'build', {
      context: BuildContext.fromUrl(url, { sha256: CONTEXT_SHA256 }),
      destinations: [`${alpha.host}/build/kaniko:1`, `${beta.host}/build/kaniko:1`],
      insecureRegistries: [alpha.host, beta.host],
      credentials: RegistryCredentials.combine([alphaOnly(), betaOnly()]),
    }));
    const result = await env.runner.run([...objects, ...SECRETS()]);
    expectOwnCredentialsOnly(result, [alpha, beta]);
  });

  test('KanikoBuildBatch (stand-in executor, a context from a directory): combine() pushes to both registries, each with its own robot', async () => {
    const contextsDirectory = join(env.dir, 'batch-contexts');
    mkdirSync(join(contextsDirectory, 'api'), { recursive: true });
    writeFileSync(join(contextsDirectory, 'api', 'Dockerfile'), 'FROM scratch\nCOPY app.txt /app.txt\n');
    writeFileSync(join(contextsDirectory, 'api', 'app.txt'), 'batch per-registry credentials\n');
    clearRecords();
    const objects = synthesize(chart => new KanikoBuildBatch(chart, 'batch', {
      contextsDirectory,
      registries: [alpha.host, beta.host],
      repositoryPrefix: 'batch',
      tags: ['1.0'],
      insecureRegistries: [alpha.host, beta.host],
      credentials: RegistryCredentials.combine([alphaOnly(), betaOnly()]),
      shape: KanikoBatchShape.JOBS,
    }));
    const result = await env.runner.run([...objects, ...SECRETS()]);
    expectOwnCredentialsOnly(result, [alpha, beta]);
    expect(await alpha.backend.repositories()).toContain('batch/api');
    expect(await beta.backend.repositories()).toContain('batch/api');
  });

  test('BuildkitBuildJob (buildctl stand-in): combine() pushes both destinations, each with its own robot', async () => {
    const url = env.files.serve('/contexts/per-registry-buildkit.tar.gz', CONTEXT);
    clearRecords();
    const objects = synthesize(chart => new BuildkitBuildJob(chart, 'build', {
      context: BuildContext.fromUrl(url, { sha256: CONTEXT_SHA256 }),
      destinations: [`${alpha.host}/build/buildkit:1`, `${beta.host}/build/buildkit:1`],
      insecureRegistries: [alpha.host, beta.host],
      credentials: RegistryCredentials.combine([alphaOnly(), betaOnly()]),
    }));
    const result = await env.runner.run([...objects, ...SECRETS()]);
    expectOwnCredentialsOnly(result, [alpha, beta]);
    expect(await beta.backend.repositories()).toContain('build/buildkit');
  });

  test('UnifiedImageJob build_and_push: the intermediate registry gets the build robot, the destination the destination robot', async () => {
    const url = env.files.serve('/contexts/per-registry-unified.tar.gz', CONTEXT);
    clearRecords();
    const objects = synthesize(chart => new UnifiedImageJob(chart, 'unified', {
      toolsImage: 'harbor.example.com/platform/unified-tools:1.0.0',
      mode: UnifiedJobMode.BUILD_AND_PUSH,
      context: BuildContext.fromUrl(url, { sha256: CONTEXT_SHA256 }),
      intermediateDestination: `${alpha.host}/build/unified:1`,
      buildCredentials: RegistryCredentials.fromUsernamePassword('alpha-robot'),
      insecureRegistries: [alpha.host],
      destinations: [`${beta.host}/platform/unified:1`],
      credentials: RegistryCredentials.fromUsernamePassword('beta-robot'),
      destinationTlsVerify: false,
    }));
    const result = await env.runner.run([...objects, ...SECRETS()]);
    expectOwnCredentialsOnly(result, [alpha, beta]);
    expect(await beta.backend.repositories()).toContain('platform/unified');
  });

  describe('BuildahBuildJob with a layer cache on another registry', () => {
    async function build(repository: string, credentials: RegistryCredentials, cache: RecordingRegistry): Promise<PodResult> {
      const url = env.files.serve(`/contexts/${repository}.tar.gz`, CONTEXT);
      clearRecords();
      const objects = synthesize(chart => new BuildahBuildJob(chart, 'build', {
        context: BuildContext.fromUrl(url, { sha256: CONTEXT_SHA256 }),
        destinations: [`${beta.host}/build/${repository}:1`],
        insecureRegistries: [alpha.host, beta.host, open.host],
        credentials,
        cache: { repository: `${cache.host}/cache/${repository}` },
      }));
      return env.runner.run([...objects, ...SECRETS()], { timeoutMs: 180000 });
    }

    test('combine(): the cache registry gets the cache robot, the destination the destination robot', async () => {
      const result = await build('buildah-combined', RegistryCredentials.combine([betaOnly(), alphaOnly()]), alpha);
      expectOwnCredentialsOnly(result, [alpha, beta]);
      expect(containerOf(result, 'build').stdout).toContain(`--> Pushing cache ${alpha.host}/cache/buildah-combined:`);
      expect(alpha.requests.some(r => r.method === 'PUT' && r.path.startsWith('/v2/cache/buildah-combined/manifests/'))).toBe(true);
    });

    test('credentials for the destination only: the anonymous cache registry receives no credentials at all', async () => {
      const result = await build('buildah-anonymous-cache', betaOnly(), open);
      expectOwnCredentialsOnly(result, [beta, open]);
      expect(open.requests.some(r => r.method === 'PUT' && r.path.startsWith('/v2/cache/buildah-anonymous-cache/manifests/'))).toBe(true);
      // it challenged the client, so a held credential would have been sent and recorded
      expect(open.requests.some(r => r.path === '/v2/' && r.authorization === undefined)).toBe(true);
    });
  });
});
