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
  containerOf, describeRun, E2eEnvironment, expectNoSecretLeak, HARBOR_USER, hostSkopeo, skopeoInspectDigest, startEnvironment, synthesize,
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

/** Two stages, each writing a file only it writes; without `--target` buildah builds the last one. */
const STAGES_CONTEXT = tarGz({
  'docker/Dockerfile': 'ARG BASE\nFROM ${BASE} AS one\nRUN echo "stage one" > /one\nFROM ${BASE} AS two\nRUN echo "stage two" > /two\n',
});
const STAGES_SHA256 = createHash('sha256').update(STAGES_CONTEXT).digest('hex');

/** A root RUN step that chowns and records its effective capabilities, then a RUN step as USER 1000. */
const CAPS_CONTEXT = tarGz({
  'docker/Dockerfile': [
    'ARG BASE',
    'FROM ${BASE}',
    'RUN busybox mkdir /data && busybox chown 1000:1000 /data && busybox grep CapEff /proc/self/status > /data/caps',
    'USER 1000',
    'RUN busybox id -u > /data/uid',
    '',
  ].join('\n'),
});
const CAPS_SHA256 = createHash('sha256').update(CAPS_CONTEXT).digest('hex');

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
async function build(url: string, props: Partial<BuildahBuildJobProps>, patch?: (job: any) => void, sha256 = CONTEXT_SHA256): Promise<PodResult> {
  const stat: [string, string][] = [['buildah-storage', 'storage/overlay'], ['buildah-storage', 'storage/vfs']];
  const objects = synthesize(chart => new BuildahBuildJob(chart, 'build', {
    context: BuildContext.fromUrl(url, { sha256 }),
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
    const commitSha = 'c0ffee'.padEnd(40, '0');
    const started = new Date(Math.floor(Date.now() / 1000) * 1000);
    // WHEN
    const result = await build(url, {
      destinations,
      commitSha,
      sourceUrl: 'https://github.com/example/app',
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
    // the manifest annotations Kargo reads: the revision and source from props, the time the build ran.
    expect(Object.keys(manifest.annotations).sort()).toEqual(expect.arrayContaining([
      'org.opencontainers.image.created', 'org.opencontainers.image.revision', 'org.opencontainers.image.source',
    ]));
    expect(manifest.annotations['org.opencontainers.image.revision']).toBe(commitSha);
    expect(manifest.annotations['org.opencontainers.image.source']).toBe('https://github.com/example/app');
    const created = new Date(manifest.annotations['org.opencontainers.image.created']);
    expect(manifest.annotations['org.opencontainers.image.created']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(created.getTime()).toBeGreaterThanOrEqual(started.getTime());
    expect(created.getTime()).toBeLessThanOrEqual(Date.now());

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
    expect(rawManifest(`${env.harbor.host}/platform/app:1.4.0`).annotations).toEqual(manifest.annotations);
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

  test('target builds only the named stage; the labels are the image config\'s, exactly', async () => {
    // GIVEN a two-stage Dockerfile: without --target buildah would build the last stage, which writes /two.
    const url = env.files.serve('/contexts/stages.tar.gz', STAGES_CONTEXT);
    const destination = `${env.intermediate.host}/build/stages:1.0.0`;
    const labels = { 'org.opencontainers.image.title': 'app "quoted" $(HOME) $$x', 'com.example.team': 'two words' };
    // WHEN
    const result = await build(url, { destinations: [destination], target: 'one', labels }, undefined, STAGES_SHA256);
    // THEN
    expect(result.phase, describeRun(result)).toBe('Succeeded');
    const files = imageFiles(destination);
    expect(files.one).toEqual({ owner: '0/0', content: 'stage one\n' });
    expect(files.two).toBeUndefined();
    // buildah adds its own version label; every other label is exactly what was given, `$` included.
    const config = JSON.parse(hostSkopeo(env, ['inspect', '--config', '--tls-verify=false', `docker://${destination}`]));
    expect(config.config.Labels).toEqual({ ...labels, 'io.buildah.version': '1.28.2' });
  });

  test('cache: {} pushes layers to <repository>/cache, and a second build in a fresh pod reuses them', async () => {
    // GIVEN
    const url = env.files.serve('/contexts/cached.tar.gz', STAGES_CONTEXT);
    const first = `${env.intermediate.host}/build/cached:1`;
    const second = `${env.intermediate.host}/build/cached:2`;
    // WHEN the same build runs twice, each time in a new pod with empty buildah storage
    const run1 = await build(url, { destinations: [first], target: 'one', cache: {} }, undefined, STAGES_SHA256);
    const run2 = await build(url, { destinations: [second], target: 'one', cache: {} }, undefined, STAGES_SHA256);
    // THEN the first run pushed the RUN step's layer to the cache repository
    expect(run1.phase, describeRun(run1)).toBe('Succeeded');
    const cache = `${env.intermediate.host}/build/cached/cache`;
    expect(containerOf(run1, 'build').stdout).toContain(`--> Pushing cache ${cache}:`);
    expect(containerOf(run1, 'build').stdout).not.toContain('Cache pulled from remote');
    expect(await env.intermediate.repositories()).toContain('build/cached/cache');
    // the second pulled it back instead of running the step (its storage started empty: it pulled the base again)
    expect(run2.phase, describeRun(run2)).toBe('Succeeded');
    const stdout2 = containerOf(run2, 'build').stdout;
    expect(stdout2).toContain(`--> Cache pulled from remote ${cache}:`);
    expect(stdout2).toContain('--> Using cache ');
    expect(containerOf(run2, 'build').stderr).toContain('Trying to pull ');
    expect(skopeoInspectDigest(env, second)).toBe(skopeoInspectDigest(env, first));
  });

  // The capabilities, tested without circularity: each test removes one capability from BOTH the container's
  // bounding set and RUN_CAPABILITIES (the containers.conf default_capabilities buildah hands RUN steps).
  // CAPS_DOCKERFILE has a root RUN step that chowns and records its effective capabilities, then a USER 1000 RUN step.
  const RUN_SET = ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'NET_BIND_SERVICE', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT'];
  /** Without these the build fails, with buildah's (or the RUN step's) error. */
  const NEEDED: { [capability: string]: RegExp } = {
    SYS_ADMIN: /Error during unshare\(CLONE_NEWUSER\): Operation not permitted/, // no mount namespace: buildah tries a user namespace
    SYS_CHROOT: /chrooting to directory "[^"]+": operation not permitted/,
    DAC_OVERRIDE: /setting up pivot dir: mkdir [^:]+: permission denied/, // applying the base layer in its own storage
    FOWNER: /chmod \/data: operation not permitted/, // applying the RUN step's layer (a directory owned by 1000)
    SETGID: /error setting supplemental groups list: operation not permitted/, // before every RUN step
    CHOWN: /chown: \/data: Operation not permitted/, // the Dockerfile's own `chown`
    SETUID: /error setting UID: operation not permitted/, // the Dockerfile's `USER 1000` RUN step
  };
  /** Docker's default RUN capabilities that these builds do not need: kept so Dockerfiles behave as under docker build. */
  const DOCKER_DEFAULTS = ['FSETID', 'KILL', 'NET_BIND_SERVICE', 'SETFCAP', 'SETPCAP'];
  /** capability(7) numbers, for the CapEff mask in /proc/self/status. */
  const BITS: { [capability: string]: number } = {
    CHOWN: 0,
    DAC_OVERRIDE: 1,
    FOWNER: 3,
    FSETID: 4,
    KILL: 5,
    SETGID: 6,
    SETUID: 7,
    SETPCAP: 8,
    NET_BIND_SERVICE: 10,
    SYS_CHROOT: 18,
    SYS_ADMIN: 21,
    SETFCAP: 31,
  };
  const capEff = (capabilities: string[]) =>
    `CapEff:\t${capabilities.reduce((mask, c) => mask + 2n ** BigInt(BITS[c]), 0n).toString(16).padStart(16, '0')}\n`;

  /** Builds CAPS_DOCKERFILE with `capability` removed from the bounding set and from RUN_CAPABILITIES. */
  async function buildWithout(capability: string | undefined) {
    const name = `caps-${(capability ?? 'all').toLowerCase().replace('_', '-')}`;
    const url = env.files.serve(`/contexts/${name}.tar.gz`, CAPS_CONTEXT);
    const destination = `${env.intermediate.host}/build/${name}:1.0.0`;
    let bounding: string[] = [];
    let run: string[] = [];
    const result = await build(url, { destinations: [destination] }, job => {
      const container = job.spec.template.spec.containers.find((c: any) => c.name === 'build');
      bounding = container.securityContext.capabilities.add;
      const variable = container.env.find((e: any) => e.name === 'RUN_CAPABILITIES');
      run = variable.value.split(' ');
      container.securityContext.capabilities.add = bounding.filter((c: string) => c !== capability);
      variable.value = run.filter(c => c !== capability).join(' ');
    }, CAPS_SHA256);
    // the construct declares the RUN set plus SYS_ADMIN, and RUN steps get the RUN set
    expect(bounding).toEqual([...RUN_SET, 'SYS_ADMIN'].sort());
    expect(run).toEqual(RUN_SET);
    return { result, destination };
  }

  test('with the declared capabilities the RUN steps run with exactly the RUN set as effective capabilities', async () => {
    const { result, destination } = await buildWithout(undefined);
    expect(result.phase, describeRun(result)).toBe('Succeeded');
    const files = imageFiles(destination);
    expect(files['data/caps'].content).toBe(capEff(RUN_SET));
    expect(files['data/uid'].content).toBe('1000\n');
  });

  test.each(Object.keys(NEEDED))('without %s (bounding set and RUN set) the build fails', async (capability) => {
    const { result } = await buildWithout(capability);
    expect(result.phase).toBe('Failed');
    const build_ = containerOf(result, 'build');
    expect(build_.terminationMessage).toMatch(/^error: buildah bud failed with exit code \d+/);
    expect(build_.stdout + build_.stderr).toMatch(NEEDED[capability]);
  });

  test.each(DOCKER_DEFAULTS)('without %s the build succeeds and its RUN step lacks exactly that capability', async (capability) => {
    const { result, destination } = await buildWithout(capability);
    expect(result.phase, describeRun(result)).toBe('Succeeded');
    expect(imageFiles(destination)['data/caps'].content).toBe(capEff(RUN_SET.filter(c => c !== capability)));
  });

  test('NEEDED and DOCKER_DEFAULTS cover the declared capabilities exactly once', () => {
    expect([...Object.keys(NEEDED), ...DOCKER_DEFAULTS].sort()).toEqual([...RUN_SET, 'SYS_ADMIN'].sort());
  });
});
