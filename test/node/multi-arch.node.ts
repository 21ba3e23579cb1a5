/**
 * Multi-architecture images with the real BuildKit on the real node: a BuildkitBuildJob with `platforms:
 * ['linux/amd64', 'linux/arm64']` builds a RUN step for each platform, the arm64 one under QEMU, pushes one index and
 * promotes it. QEMU comes first from the BuildKit image's `buildkit-qemu-aarch64` helper with nothing registered on the
 * machine, then from a binfmt_misc entry with the F flag (registered by this file, and unregistered after). The base
 * image is a two-platform busybox index pushed from the Debian .deb files `.ci/run` downloads into `.e2e/`.
 */
import { createHash } from 'crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { containerOf, describeJob, HARBOR_USER, JobRun, NodeEnvironment } from './node';
import { BuildContext, BuildkitBuildJob, BuildkitBuildJobProps, BuildkitMode, RegistryCredentials } from '../../src';
import { synthesize, usernamePasswordSecret } from '../e2e/environment';
import { busyboxIndex, imageArch, platformLines, qemuRegistered, registerQemu, UNAME_DOCKERFILE } from '../e2e/multi-arch';
import { OCI_INDEX, pushImage, tarGz } from '../e2e/oci';

let env: NodeEnvironment;
let base: string;

beforeAll(async () => {
  env = await NodeEnvironment.start('multi-arch');
  await pushImage(env.intermediate.host, 'base/busybox', 'multi', busyboxIndex());
  base = `${env.intermediate.host}/base/busybox:multi`;
});
afterAll(async () => {
  await env?.stop();
});

/** The `uname -m` Dockerfile as a context served by the file's server. */
function unameContext(): BuildContext {
  const archive = tarGz({ Dockerfile: UNAME_DOCKERFILE });
  const sha256 = createHash('sha256').update(archive).digest('hex');
  return BuildContext.fromUrl(env.files.serve(`/contexts/${sha256}.tar.gz`, archive), { sha256 });
}

/** Runs a BuildkitBuildJob of the `uname -m` context on the tier's busybox index (harbor's credentials as a Secret). */
async function runBuildkit(props: Omit<BuildkitBuildJobProps, 'context'>): Promise<JobRun> {
  let level = '';
  const objects = synthesize(chart => {
    level = new BuildkitBuildJob(chart, 'build', { context: unameContext(), buildArgs: { BASE: base }, ...props }).podSecurityLevel;
  });
  return env.runJob(objects, level, [usernamePasswordSecret('harbor-credentials', HARBOR_USER, env.harborPassword)], 400_000);
}

/**
 * Builds linux/amd64 + linux/arm64 (a RUN step printing `uname -m`) with BuildKit in `mode`, promotes the index, and
 * checks the index, each image's architecture, the platform lines and the promoted digest.
 */
async function buildTwoPlatforms(mode: BuildkitMode, name: string): Promise<void> {
  // GIVEN
  const repository = `${env.intermediate.host}/${name}/multi`;
  const destination = `${repository}:1.0.0`;
  const promoted = `${env.harbor.host}/platform/${name}-multi:1.0.0`;

  // WHEN
  const run = await runBuildkit({
    mode,
    destinations: [destination],
    insecureRegistries: [env.intermediate.host],
    platforms: ['linux/amd64', 'linux/arm64'],
    promotion: { destinations: [promoted], credentials: RegistryCredentials.fromUsernamePassword('harbor-credentials') },
  });

  // THEN: one index with both platforms
  expect(run.phase, describeJob(run)).toBe('Complete');
  const digest = env.inspectDigest(destination);
  const index = JSON.parse(env.skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${destination}`]));
  expect(index.mediaType).toBe(OCI_INDEX);
  expect(index.manifests.map((m: any) => `${m.platform.os}/${m.platform.architecture}`).sort()).toEqual(['linux/amd64', 'linux/arm64']);

  // the destination line, then one line per platform: exactly the manifests the pushed index references
  const build = containerOf(run, 'build');
  expect(build.terminationMessage).toBe([`${destination}@${digest}`, ...platformLines(index, repository), ''].join('\n'));

  // each image's config names its architecture, and its RUN step ran on that architecture
  const byArch = (arch: string) => imageArch(args => env.skopeo(args), env.dir, `${repository}@${index.manifests.find((m: any) => m.platform.architecture === arch).digest}`, false);
  const [amd64, arm64] = [byArch('amd64'), byArch('arm64')];
  expect([amd64.config.architecture, amd64.arch]).toEqual(['amd64', 'x86_64\n']);
  expect([arm64.config.architecture, arm64.arch]).toEqual(['arm64', 'aarch64\n']);

  // the promoter copied the index by its digest: harbor serves the same index digest
  expect(containerOf(run, 'promote').terminationMessage).toBe(`${promoted}@${digest}\n`);
  expect(env.inspectDigest(promoted)).toBe(digest);
}

// first, while nothing is registered: the image's own helper (as moby/buildkit's images ship them)
describe('BuildkitBuildJob with platforms on a real node, no binfmt_misc entry: BuildKit\'s buildkit-qemu-aarch64 helper in the image', () => {
  for (const mode of [BuildkitMode.PRIVILEGED, BuildkitMode.ROOTLESS]) {
    test(`${mode}: one index for linux/amd64 + linux/arm64, each RUN step on its architecture, every platform's digest reported, the index promoted by digest`, async () => {
      expect(qemuRegistered(env.dir), 'no binfmt_misc entry for aarch64 on the machine (another run registered one)').toBe(false);
      await buildTwoPlatforms(mode, `helper-${mode}`);
    });
  }
});

describe('BuildkitBuildJob with platforms on a real node: QEMU registered with binfmt_misc with the F flag', () => {
  /** What this block set up on the machine, undone after it. */
  let undo: (() => void)[] = [];
  beforeAll(() => {
    undo = registerQemu();
  });
  afterAll(() => {
    for (const step of undo) {
      step();
    }
  });

  for (const mode of [BuildkitMode.PRIVILEGED, BuildkitMode.ROOTLESS]) {
    test(`${mode}: one index for linux/amd64 + linux/arm64, each RUN step on its architecture, every platform's digest reported, the index promoted by digest`, async () => {
      expect(qemuRegistered(env.dir)).toBe(true);
      await buildTwoPlatforms(mode, `binfmt-${mode}`);
    });
  }
});

describe('BuildkitBuildJob on a real node: one foreign platform, and insecureRegistries', () => {
  test('privileged, platforms: [\'linux/arm64\']: BuildKit pushes a single arm64 image, not an index; only the destination line', async () => {
    const repository = `${env.intermediate.host}/buildkit-arm64/single`;
    const destination = `${repository}:1.0.0`;
    const run = await runBuildkit({
      mode: BuildkitMode.PRIVILEGED, destinations: [destination], insecureRegistries: [env.intermediate.host], platforms: ['linux/arm64'],
    });
    expect(run.phase, describeJob(run)).toBe('Complete');
    const digest = env.inspectDigest(destination);
    expect(containerOf(run, 'build').terminationMessage).toBe(`${destination}@${digest}\n`);
    const image = imageArch(args => env.skopeo(args), env.dir, `${repository}@${digest}`, false);
    expect([image.config.architecture, image.arch]).toEqual(['arm64', 'aarch64\n']);
  });

  // control for the others: the intermediate registry is plain http on the node address (not localhost), which
  // BuildKit reaches only through the buildkitd.toml the script writes from insecureRegistries
  test('privileged, without insecureRegistries: the same build fails, BuildKit speaks https to the plain-http registry', async () => {
    const run = await runBuildkit({ mode: BuildkitMode.PRIVILEGED, destinations: [`${env.intermediate.host}/buildkit-https/app:1.0.0`] });
    expect(run.phase, describeJob(run)).toBe('Failed');
    const build = containerOf(run, 'build');
    expect(build.log).toContain('http: server gave HTTP response to HTTPS client');
    expect(build.terminationMessage).toBe('error: buildctl build failed with exit code 1 (BuildKit\'s message above)\n');
    expect(await env.intermediate.repositories()).not.toContain('buildkit-https/app');
  });
});
