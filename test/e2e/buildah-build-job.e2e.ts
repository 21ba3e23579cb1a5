/**
 * BuildahBuildJob, run for real: the context is downloaded and unpacked by curl and busybox, Debian's buildah
 * builds the Dockerfile (a RUN step included) on a base image from the intermediate registry, pushes it with
 * `--digestfile`, and skopeo promotes that digest to the TLS + htpasswd "harbor" registry. The container
 * runs with exactly the capabilities the construct declares (setpriv bounding set, see README.md).
 */
import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import { readFileSync, realpathSync } from 'fs';
import { join } from 'path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  containerOf, describeRun, E2eEnvironment, expectNoSecretLeak, HARBOR_USER, skopeoInspectDigest, startEnvironment, synthesize,
  usernamePasswordSecret,
} from './environment';
import { which } from './fixtures';
import { pushImage, singleImage, tarGz } from './oci';
import { PodResult } from './runner';
import { BuildahBuildJob, BuildahBuildJobProps, BuildahImageFormat, BuildahStorageDriver, BuildContext, RegistryCredentials } from '../../src';

const DOCKERFILE = [
  'ARG BASE',
  'FROM ${BASE}',
  'ARG APP_VERSION',
  // a real RUN step: needs a shell in the base image, chroot isolation and the capabilities to chown.
  'RUN busybox mkdir -p /data && echo "version $APP_VERSION" > /data/version && busybox chown 1000:1000 /data/version',
  'COPY app.txt /data/',
  '',
].join('\n');
const CONTEXT = tarGz({ 'docker/Dockerfile': DOCKERFILE, 'app.txt': 'hello from the context\n' });
const CONTEXT_SHA256 = createHash('sha256').update(CONTEXT).digest('hex');

/** A base image with a shell: Debian's (dynamic) busybox as `/bin/sh` and `/bin/busybox`, plus the libraries it loads. */
function busyboxBaseImage(): ReturnType<typeof singleImage> {
  const busybox = readFileSync(which('busybox')!);
  const files: { [path: string]: Buffer } = { 'bin/busybox': busybox, 'bin/sh': busybox };
  const ldd = spawnSync('ldd', [which('busybox')!], { encoding: 'utf8' });
  for (const path of ldd.stdout.match(/\/\S+\.so[.\d]*/g) ?? []) {
    files[path.slice(1)] = readFileSync(realpathSync(path));
  }
  return singleImage(files, undefined, Object.fromEntries(Object.keys(files).map(path => [path, 0o755])));
}

let env: E2eEnvironment;
let base: string;
beforeAll(async () => {
  env = await startEnvironment('buildah');
  await pushImage(env.intermediate.host, 'base/busybox', '1', busyboxBaseImage());
  base = `${env.intermediate.host}/base/busybox:1`;
});
afterAll(async () => {
  await env?.stop();
});

/** Runs a BuildahBuildJob on the context served at `url`, with the harbor credentials Secret in the "cluster". */
async function build(url: string, props: Partial<BuildahBuildJobProps>, patch?: (job: any) => void): Promise<PodResult> {
  const stat: [string, string][] = [['buildah-storage', 'storage/overlay'], ['buildah-storage', 'storage/vfs']];
  const objects = synthesize(chart => new BuildahBuildJob(chart, 'build', {
    context: BuildContext.fromUrl(url, { sha256: CONTEXT_SHA256 }),
    dockerfile: 'docker/Dockerfile',
    destinations: [`${env.intermediate.host}/build/app:1.4.0`],
    insecureRegistries: [env.intermediate.host],
    ...props,
    buildArgs: { BASE: base, APP_VERSION: '1.4.0', ...props.buildArgs },
  }));
  patch?.(objects.find(o => o.kind === 'Job'));
  return env.runner.run([...objects, usernamePasswordSecret('harbor-credentials', HARBOR_USER, env.harborPassword)], { timeoutMs: 180000, stat });
}

/** The manifest the registry serves for `ref` (harbor with the robot's credentials, the intermediate without). */
function rawManifest(ref: string): any {
  skopeoInspectDigest(env, ref); // writes the host auth file
  const result = spawnSync('skopeo', ['inspect', '--raw', '--authfile', join(env.dir, 'host-auth.json'), '--cert-dir', join(env.dir, 'certs.d'),
    `--tls-verify=${ref.startsWith(env.harbor.host)}`, `docker://${ref}`], { encoding: 'utf8', env: { ...process.env, HOME: env.dir, TMPDIR: env.dir } });
  expect(result.status, result.stderr).toBe(0);
  return JSON.parse(result.stdout);
}

/** The files of an image on the intermediate registry: `path` → `{ owner, content }`, read from its layers with tar. */
function imageFiles(ref: string): { [path: string]: { owner: string; content: string } } {
  const dir = join(env.dir, `image-${createHash('sha256').update(ref).digest('hex').slice(0, 12)}`);
  const copy = spawnSync('skopeo', ['copy', '--src-tls-verify=false', `docker://${ref}`, `dir:${dir}`], {
    encoding: 'utf8', env: { ...process.env, HOME: env.dir, TMPDIR: env.dir },
  });
  expect(copy.status, copy.stderr).toBe(0);
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  const files: { [path: string]: { owner: string; content: string } } = {};
  for (const layer of manifest.layers) {
    const archive = join(dir, layer.digest.replace('sha256:', ''));
    const list = spawnSync('tar', ['-tvzf', archive, '--numeric-owner'], { encoding: 'utf8' });
    for (const line of list.stdout.split('\n').filter(l => l.startsWith('-'))) {
      const fields = line.split(/\s+/);
      const path = fields.slice(5).join(' ').replace(/^\.?\//, '');
      const content = spawnSync('tar', ['-xzOf', archive, fields.slice(5).join(' ')], { encoding: 'utf8' }).stdout;
      files[path] = { owner: fields[1], content };
    }
  }
  return files;
}

describe('BuildahBuildJob', () => {
  test('builds a Dockerfile with a RUN step (vfs), pushes two tags at one digest, and promotes it with composed credentials', async () => {
    // GIVEN
    const url = env.files.serve('/contexts/app.tar.gz', CONTEXT);
    const destinations = [`${env.intermediate.host}/build/app:1.4.0`, `${env.intermediate.host}/build/app:build-7`];
    // WHEN
    const result = await build(url, {
      destinations,
      buildArgs: { LITERAL: 'a$(HOME)b$$c' },
      labels: { 'org.opencontainers.image.version': '1.4.0' },
      promotion: {
        destinations: [`${env.harbor.host}/platform/app:1.4.0`],
        credentials: RegistryCredentials.fromUsernamePassword('harbor-credentials'),
      },
    });
    // THEN
    expect(result.phase, describeRun(result)).toBe('Succeeded');
    expect(result.containers.map(c => c.name)).toEqual(['compose-promotion-auth', 'fetch-context', 'build', 'promote']);
    const build_ = containerOf(result, 'build');
    const digest = skopeoInspectDigest(env, destinations[0]);
    expect(digest).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(skopeoInspectDigest(env, destinations[1])).toBe(digest);
    expect(build_.terminationMessage).toBe(destinations.map(d => `${d}@${digest}\n`).join(''));

    // real buildah did it: bud with chroot isolation and the user's `$` literally, then one push per destination.
    const buildah = build_.processes.filter(p => p.argv[0] === 'buildah');
    const bud = buildah.find(p => p.argv[1] === 'bud')!;
    expect(bud.argv.slice(0, 4)).toEqual(['buildah', 'bud', '--isolation', 'chroot']);
    expect(bud.argv).toEqual(expect.arrayContaining(['--format=oci', '--build-arg=LITERAL=a$(HOME)b$$c', '--file', '/workspace/context/docker/Dockerfile']));
    expect(buildah.filter(p => p.argv[1] === 'push').map(p => p.argv.at(-1))).toEqual(destinations.map(d => `docker://${d}`));
    expect(build_.stdout).toContain('STEP 3/5: RUN busybox mkdir');
    expect(result.stats['buildah-storage:storage/vfs']).toBeDefined();
    // OCI format; without --layers everything after FROM is one layer on top of the base's.
    const manifest = rawManifest(destinations[0]);
    expect(manifest.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(manifest.layers).toHaveLength(2);

    // the image holds what the RUN step and COPY produced, owned as the Dockerfile said.
    const files = imageFiles(destinations[0]);
    expect(files['data/version']).toEqual({ owner: '1000/1000', content: 'version 1.4.0\n' });
    expect(files['data/app.txt']).toEqual({ owner: '0/0', content: 'hello from the context\n' });
    expect(files['bin/busybox']).toBeDefined();

    // the promoter copied exactly the digest buildah recorded.
    const promote = containerOf(result, 'promote');
    expect(promote.processes.filter(p => p.argv[1] === 'copy')[0].argv).toContain(`docker://${env.intermediate.host}/build/app@${digest}`);
    expect(promote.terminationMessage).toBe(`${env.harbor.host}/platform/app:1.4.0@${digest}\n`);
    expect(skopeoInspectDigest(env, `${env.harbor.host}/platform/app:1.4.0`)).toBe(digest);
    expectNoSecretLeak(result, [env.harborPassword]);
  });

  test('overlay storage, docker format and layers, pushing straight to the TLS registry with credentials', async () => {
    // GIVEN
    const url = env.files.serve('/contexts/overlay.tar.gz', CONTEXT);
    const destination = `${env.harbor.host}/direct/app:2.0.0`;
    // WHEN
    const result = await build(url, {
      destinations: [destination],
      credentials: RegistryCredentials.fromUsernamePassword('harbor-credentials'),
      storageDriver: BuildahStorageDriver.OVERLAY,
      format: BuildahImageFormat.DOCKER,
      layers: true,
    });
    // THEN
    expect(result.phase, describeRun(result)).toBe('Succeeded');
    expect(result.containers.map(c => c.name)).toEqual(['compose-build-auth', 'fetch-context', 'build']);
    const build_ = containerOf(result, 'build');
    const digest = skopeoInspectDigest(env, destination);
    expect(build_.terminationMessage).toBe(`${destination}@${digest}\n`);
    expect(build_.stderr).toContain('(overlay storage, chroot isolation)');
    // buildah's storage in the emptyDir is overlay's layout, not vfs's.
    expect(result.stats['buildah-storage:storage/overlay']).toBeDefined();
    expect(result.stats['buildah-storage:storage/vfs']).toBeUndefined();
    // docker format; --layers commits the base, RUN and COPY layers separately.
    const manifest = rawManifest(destination);
    expect(manifest.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    expect(manifest.layers).toHaveLength(3);
    expectNoSecretLeak(result, [env.harborPassword]);
  });

  test('a failing RUN step fails the build with buildah\'s exit code; nothing is pushed or promoted', async () => {
    // GIVEN
    const broken = tarGz({ 'docker/Dockerfile': 'ARG BASE\nFROM ${BASE}\nRUN exit 3\n', 'app.txt': 'x\n' });
    const url = env.files.serve('/contexts/broken.tar.gz', broken);
    const sha256 = createHash('sha256').update(broken).digest('hex');
    // WHEN
    const objects = synthesize(chart => new BuildahBuildJob(chart, 'build', {
      context: BuildContext.fromUrl(url, { sha256 }),
      dockerfile: 'docker/Dockerfile',
      destinations: [`${env.intermediate.host}/build/broken:1.0.0`],
      insecureRegistries: [env.intermediate.host],
      buildArgs: { BASE: base },
      promotion: { destinations: [`${env.harbor.host}/platform/broken:1.0.0`] },
    }));
    const result = await env.runner.run(objects, { timeoutMs: 180000 });
    // THEN
    expect(result.phase).toBe('Failed');
    expect(result.containers.map(c => c.name)).toEqual(['fetch-context', 'build']);
    const build_ = containerOf(result, 'build');
    expect(build_.exitCode).toBe(1);
    expect(build_.stderr).toMatch(/exit status 3/);
    expect(build_.terminationMessage).toMatch(/^error: buildah bud failed with exit code \d+ \(buildah's message above\)\n$/);
    expect(await env.intermediate.repositories()).not.toContain('build/broken');
  });

  // each declared capability is needed: without any one of them the same build fails.
  const declared = ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'NET_BIND_SERVICE', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_ADMIN', 'SYS_CHROOT'];
  test.each(declared)('without %s the build fails', async (capability) => {
    const url = env.files.serve(`/contexts/without-${capability}.tar.gz`, CONTEXT);
    let seen: string[] = [];
    const result = await build(url, { destinations: [`${env.intermediate.host}/build/without-${capability.toLowerCase()}:1.0.0`] }, job => {
      const container = job.spec.template.spec.containers.find((c: any) => c.name === 'build');
      seen = container.securityContext.capabilities.add;
      container.securityContext.capabilities.add = seen.filter((c: string) => c !== capability);
    });
    expect(seen).toEqual(declared);
    expect(result.phase).toBe('Failed');
    expect(containerOf(result, 'build').terminationMessage).toMatch(/^error: buildah bud failed with exit code \d+/);
  });
});
