/**
 * Multi-architecture images, run for real: Debian's buildah builds a Dockerfile with a RUN step for linux/amd64
 * and linux/arm64 (the arm64 RUN step under QEMU, registered with binfmt_misc with the F flag so it works inside
 * buildah's chroot), pushes one image index with `buildah manifest push --all`, and skopeo promotes that index
 * by digest. The base image is Debian's busybox-static for each architecture, unpacked from the .deb files
 * `.ci/run` downloads into `.e2e/` (tests never reach the network).
 */
import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  containerOf, describeRun, E2eEnvironment, HARBOR_USER, skopeoInspectDigest, startEnvironment, synthesize, usernamePasswordSecret,
} from './environment';
import { busyboxIndex, imageArch, platformLines, registerQemu, UNAME_DOCKERFILE } from './multi-arch';
import { OCI_INDEX, pushImage, tarGz } from './oci';
import { BuildahBuildJob, BuildContext, RegistryCredentials } from '../../src';

/** What this file set up on the machine, undone in afterAll. */
let undo: (() => void)[] = [];

/** A RUN step whose output is the architecture it ran on. */
const CONTEXT = tarGz({ Dockerfile: UNAME_DOCKERFILE });
const CONTEXT_SHA256 = createHash('sha256').update(CONTEXT).digest('hex');

let env: E2eEnvironment;
let base: string;
beforeAll(async () => {
  undo = registerQemu();
  env = await startEnvironment('multi-arch');
  await pushImage(env.intermediate.host, 'base/busybox', 'multi', busyboxIndex());
  base = `${env.intermediate.host}/base/busybox:multi`;
});
afterAll(async () => {
  await env?.stop();
  for (const step of undo) {
    step();
  }
});

/** `skopeo` on the host against the test registries, as in the other e2e files. */
function skopeo(args: string[]): string {
  const result = spawnSync('skopeo', args, { encoding: 'utf8', env: { ...process.env, HOME: env.dir, TMPDIR: env.dir }, maxBuffer: 64 * 1024 * 1024 });
  expect(result.status, result.stderr).toBe(0);
  return result.stdout;
}

/** The config and the content of `/arch` of one image on the intermediate registry (plain http). */
function imageOf(ref: string): { config: any; arch: string } {
  return imageArch(skopeo, env.dir, ref, false);
}

describe('multi-architecture images', () => {
  test('buildah (real, QEMU for arm64) builds linux/amd64 + linux/arm64 with a RUN step, pushes one index, reports each platform\'s digest and promotes it by digest', async () => {
    // GIVEN
    const url = env.files.serve('/contexts/multi-arch.tar.gz', CONTEXT);
    const destination = `${env.intermediate.host}/build/multi:1.0.0`;
    const promoted = `${env.harbor.host}/platform/multi:1.0.0`;
    const objects = synthesize(chart => new BuildahBuildJob(chart, 'build', {
      context: BuildContext.fromUrl(url, { sha256: CONTEXT_SHA256 }),
      destinations: [destination],
      insecureRegistries: [env.intermediate.host],
      platforms: ['linux/amd64', 'linux/arm64'],
      buildArgs: { BASE: base },
      promotion: { destinations: [promoted], credentials: RegistryCredentials.fromUsernamePassword('harbor-credentials') },
    }));
    // WHEN
    const result = await env.runner.run([...objects, usernamePasswordSecret('harbor-credentials', HARBOR_USER, env.harborPassword)], { timeoutMs: 240000 });
    // THEN
    expect(result.phase, describeRun(result)).toBe('Succeeded');
    const build = containerOf(result, 'build');
    const bud = build.processes.find(p => p.argv[0] === 'buildah' && p.argv[1] === 'bud')!;
    expect(bud.argv).toEqual(expect.arrayContaining(['--platform', 'linux/amd64,linux/arm64', '--manifest']));
    // after the storage flags (--root, --runroot, --storage-driver) every manifest command takes
    const manifestPush = build.processes.find(p => p.argv[0] === 'buildah' && p.argv.includes('manifest') && p.argv.includes('push'));
    expect(manifestPush?.argv).toEqual(expect.arrayContaining(['--storage-driver', 'vfs', 'manifest', 'push', '--all']));

    // one index, both platforms, its digest reported and recorded
    const digest = skopeoInspectDigest(env, destination);
    const index = JSON.parse(skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${destination}`]));
    // the destination line, then one line per platform with the manifest digest the pushed index references
    const repository = `${env.intermediate.host}/build/multi`;
    expect(build.terminationMessage).toBe([`${destination}@${digest}`, ...platformLines(index, repository), ''].join('\n'));
    expect(index.mediaType).toBe(OCI_INDEX);
    // buildah adds each platform's image as its build finishes, so the order varies from run to run
    expect(index.manifests.map((m: any) => `${m.platform.os}/${m.platform.architecture}`).sort()).toEqual(['linux/amd64', 'linux/arm64']);

    // each image's config names its architecture, and its RUN step ran on that architecture
    const byArch = (arch: string) => imageOf(`${repository}@${index.manifests.find((m: any) => m.platform.architecture === arch).digest}`);
    const [amd64, arm64] = [byArch('amd64'), byArch('arm64')];
    expect([amd64.config.architecture, amd64.arch]).toEqual(['amd64', 'x86_64\n']);
    expect([arm64.config.architecture, arm64.arch]).toEqual(['arm64', 'aarch64\n']);

    // the promoter copied the index by its digest (--all): harbor serves the same index digest
    const promote = containerOf(result, 'promote');
    expect(promote.processes.find(p => p.argv[1] === 'copy')!.argv).toEqual(expect.arrayContaining(['--all', `docker://${repository}@${digest}`]));
    expect(promote.terminationMessage).toBe(`${promoted}@${digest}\n`);
    expect(skopeoInspectDigest(env, promoted)).toBe(digest);
  }, 300000);
});
