/**
 * One e2e environment per test file: the registries, the file server, the image stand-ins and a Job
 * runner, all under one scratch directory; plus the assertions every e2e test shares.
 */
import { spawnSync } from 'child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { Chart, Testing } from 'cdk8s';
import { expect } from 'vitest';
import { FileServer, Registry, removeScratch, requireTools, scratchDir, selfSignedCertificate } from './fixtures';
import { prepareImages } from './images';
import { singleImage, TestImage, writeOciLayout } from './oci';
import { ContainerResult, JobRunner, PodResult } from './runner';
import { BUILDCTL_BUILD_FLAGS, KANIKO_EXECUTOR_FLAGS } from '../../src/_tool-flags';

/** The harbor registry's robot account. */
export const HARBOR_USER = 'robot$e2e';

/** The executor's flags: the library's own list (src/_tool-flags.ts), which also checks `extraArgs`. */
export const KANIKO_FLAGS = KANIKO_EXECUTOR_FLAGS;

/** `buildctl build`'s flags: the library's own list (src/_tool-flags.ts). */
export const BUILDCTL_FLAGS = BUILDCTL_BUILD_FLAGS;

/** The running e2e services of one test file. */
export interface E2eEnvironment {
  readonly dir: string;
  readonly intermediate: Registry;
  readonly harbor: Registry;
  /** The harbor robot's password: random per run, with characters that need quoting. */
  readonly harborPassword: string;
  readonly files: FileServer;
  readonly runner: JobRunner;
  /** The image the kaniko stand-in pushes. */
  readonly prebuilt: TestImage;
  /** The test CA's certificate (the harbor registry and the file server use it). */
  readonly caCert: string;
  /** Stops every service and removes the scratch directory. */
  stop(): Promise<void>;
}

/** Starts the registries and the file server, and prepares the image stand-ins. */
export async function startEnvironment(name: string): Promise<E2eEnvironment> {
  requireTools();
  const dir = scratchDir(name);
  const started: { stop(): Promise<void> }[] = [];
  try {
    mkdirSync(join(dir, 'tls'));
    const tls = selfSignedCertificate(join(dir, 'tls'));
    const harborPassword = `p@ss 'w0rd' $(id) ${Math.random().toString(36).slice(2)}`;
    const intermediate = await Registry.start(dir, 'intermediate');
    started.push(intermediate);
    const harbor = await Registry.start(dir, 'harbor', { tls, htpasswd: { username: HARBOR_USER, password: harborPassword } });
    started.push(harbor);
    const files = await FileServer.start(tls);
    started.push(files);
    const prebuilt = singleImage({ 'hello.txt': 'built by the kaniko stand-in\n' });
    const profiles = prepareImages(join(dir, 'images'), {
      caCert: tls.cert,
      kanikoFlags: [...KANIKO_FLAGS.flags, ...KANIKO_FLAGS.deprecated],
      prebuiltImage: prebuilt,
      buildctlFlags: BUILDCTL_FLAGS.flags,
    });
    const runner = new JobRunner(dir, profiles);
    // host-side skopeo reads the CA from here (never from the system trust store).
    mkdirSync(join(dir, 'certs.d'));
    writeFileSync(join(dir, 'certs.d', 'ca.crt'), readFileSync(tls.cert));
    return {
      dir,
      intermediate,
      harbor,
      harborPassword,
      files,
      runner,
      prebuilt,
      caCert: tls.cert,
      stop: async () => {
        for (const s of started.reverse()) {
          await s.stop();
        }
        removeScratch(dir);
      },
    };
  } catch (e) {
    for (const s of started.reverse()) {
      await s.stop();
    }
    removeScratch(dir);
    throw e;
  }
}

/** A `kubernetes.io/dockerconfigjson` Secret for `registry`. */
export function dockerConfigSecret(name: string, registry: string, username: string, password: string): any {
  const auth = Buffer.from(`${username}:${password}`).toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/dockerconfigjson',
    metadata: { name },
    data: { '.dockerconfigjson': Buffer.from(JSON.stringify({ auths: { [registry]: { auth } } })).toString('base64') },
  };
}

/** An Opaque Secret with `username` and `password` keys (seed 000's `harbor-credentials`). */
export function usernamePasswordSecret(name: string, username: string, password: string): any {
  return { apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name }, stringData: { username, password } };
}

/** The objects a chart synthesizes. */
export function synthesize(build: (chart: Chart) => void): any[] {
  const chart = Testing.chart();
  build(chart);
  return Testing.synth(chart);
}

/** `skopeo inspect` on the host: the digest the registry reports for `ref`. */
export function skopeoInspectDigest(env: E2eEnvironment, ref: string): string {
  const authFile = join(env.dir, 'host-auth.json');
  writeFileSync(authFile, JSON.stringify({
    auths: { [env.harbor.host]: { auth: Buffer.from(`${HARBOR_USER}:${env.harborPassword}`).toString('base64') } },
  }), { mode: 0o600 });
  const tlsVerify = ref.startsWith(env.harbor.host) ? 'true' : 'false';
  const result = spawnSync('skopeo', ['inspect', '--authfile', authFile, '--cert-dir', join(env.dir, 'certs.d'),
    `--tls-verify=${tlsVerify}`, `docker://${ref}`], { encoding: 'utf8', env: { ...process.env, HOME: env.dir, TMPDIR: env.dir } });
  expect(result.status, result.stderr).toBe(0);
  return JSON.parse(result.stdout).Digest;
}

/** A container of a run by name; fails the test when it did not run. */
export function containerOf(result: PodResult, name: string): ContainerResult {
  const found = result.containers.find(c => c.name === name);
  expect(found, `container ${name} ran (ran: ${result.containers.map(c => c.name).join(', ')})`).toBeDefined();
  return found!;
}

/** A readable account of a run, for assertion messages. */
export function describeRun(result: PodResult): string {
  return result.containers.map(c => `--- ${c.name} (exit ${c.exitCode})\n${c.stderr}${c.stdout}termination: ${c.terminationMessage}`).join('\n');
}

/**
 * Asserts that no secret (nor its base64 forms, alone or as a `user:password` auth token) appears in any
 * process's argv, any container log, or any termination message of the run.
 */
export function expectNoSecretLeak(result: PodResult, secrets: string[], username = HARBOR_USER): void {
  const forms = secrets.flatMap(s => [s, Buffer.from(s).toString('base64'), Buffer.from(`${username}:${s}`).toString('base64')]);
  let processes = 0;
  for (const c of result.containers) {
    processes += c.processes.length;
    const visible = [...c.processes.map(p => p.argv.join(' ')), c.stdout, c.stderr, c.terminationMessage];
    for (const text of visible) {
      for (const form of forms) {
        expect(text.includes(form), `${c.name} exposes a secret in: ${text.slice(0, 300)}`).toBe(false);
      }
    }
  }
  // the check is only meaningful if processes were recorded at all.
  expect(processes).toBeGreaterThan(0);
}

/** Runs skopeo on the host (the CA of the test registries trusted); fails the test on a non-zero exit. */
export function hostSkopeo(env: E2eEnvironment, args: string[]): string {
  const result = spawnSync('skopeo', args, { encoding: 'utf8', env: { ...process.env, HOME: env.dir, TMPDIR: env.dir } });
  expect(result.status, `skopeo ${args.join(' ')}: ${result.stderr}`).toBe(0);
  return result.stdout;
}

/** `image` as an oci-archive tarball made by the host's skopeo from a hand-written layout (under `env.dir/<name>`). */
export function ociArchiveOf(env: E2eEnvironment, image: TestImage, name: string): Buffer {
  const dir = join(env.dir, name);
  writeOciLayout(join(dir, 'layout'), image, 'latest');
  hostSkopeo(env, ['copy', `oci:${join(dir, 'layout')}:latest`, `oci-archive:${join(dir, 'oci.tar')}:latest`]);
  return readFileSync(join(dir, 'oci.tar'));
}
