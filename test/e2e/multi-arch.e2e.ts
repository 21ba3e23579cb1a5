/**
 * Multi-architecture images, run for real: Debian's buildah builds a Dockerfile with a RUN step for linux/amd64
 * and linux/arm64 (the arm64 RUN step under QEMU, registered with binfmt_misc with the F flag so it works inside
 * buildah's chroot), pushes one image index with `buildah manifest push --all`, and skopeo promotes that index
 * by digest. The base image is Debian's busybox-static for each architecture, unpacked from the .deb files
 * `.ci/run` downloads into `.e2e/` (tests never reach the network).
 */
import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  containerOf, describeRun, E2eEnvironment, HARBOR_USER, skopeoInspectDigest, startEnvironment, synthesize, usernamePasswordSecret,
} from './environment';
import { which } from './fixtures';
import { digestOf, OCI_INDEX, pushImage, singleImage, tarGz, TestImage } from './oci';
import { BuildahBuildJob, BuildContext, RegistryCredentials } from '../../src';

const BINFMT = '/proc/sys/fs/binfmt_misc';
/** Debian's qemu-aarch64 binfmt entry (/usr/share/binfmts/qemu-aarch64), with F: the interpreter is opened now, so it runs in chroots. */
const AARCH64_MAGIC = '\\x7f\\x45\\x4c\\x46\\x02\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\xb7\\x00';
const AARCH64_MASK = '\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x00\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff\\xff';
const ENTRY = 'cdk8s-image-jobs-e2e-aarch64';

/** What this file set up on the machine, undone in afterAll. */
const undo: (() => void)[] = [];

/** Mounts binfmt_misc and registers QEMU for aarch64 with the F flag, unless the machine already runs arm64 binaries. */
function registerQemu(): void {
  if (!existsSync(join(BINFMT, 'register'))) {
    const mount = spawnSync('mount', ['-t', 'binfmt_misc', 'binfmt_misc', BINFMT], { encoding: 'utf8' });
    expect(mount.status, `mount binfmt_misc: ${mount.stderr}`).toBe(0);
    undo.push(() => spawnSync('umount', [BINFMT]));
  }
  const registered = readdirSync(BINFMT).some(name => name !== 'register' && name !== 'status' &&
    readFileSync(join(BINFMT, name), 'utf8').includes(`magic ${AARCH64_MAGIC.replace(/\\x/g, '')}`));
  if (!registered) {
    const qemu = which('qemu-aarch64-static');
    expect(qemu, 'qemu-aarch64-static (Debian package qemu-user-static)').toBeDefined();
    writeFileSync(join(BINFMT, 'register'), `:${ENTRY}:M::${AARCH64_MAGIC}:${AARCH64_MASK}:${qemu}:F`);
    undo.unshift(() => writeFileSync(join(BINFMT, ENTRY), '-1'));
  }
}

/** busybox-static of one Debian architecture, from the .deb `.ci/run` downloaded into `.e2e/`. */
function debianBusybox(arch: string): Buffer {
  const dir = join(__dirname, '..', '..', '.e2e');
  const deb = existsSync(dir) ? readdirSync(dir).find(name => name.startsWith('busybox-static_') && name.endsWith(`_${arch}.deb`)) : undefined;
  expect(deb, `busybox-static:${arch} .deb in .e2e/ (.ci/run downloads it: apt-get download busybox-static:${arch})`).toBeDefined();
  const tar = spawnSync('sh', ['-c', 'dpkg-deb --fsys-tarfile "$1" | tar -xOf - ./bin/busybox', 'sh', join(dir, deb!)], { maxBuffer: 64 * 1024 * 1024 });
  expect(tar.status, tar.stderr.toString()).toBe(0);
  return tar.stdout;
}

/** A linux/amd64 + linux/arm64 index of busybox-static images (`/bin/sh`, `/bin/busybox`), each config naming its platform. */
function busyboxIndex(): TestImage {
  const platforms = [{ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'arm64' }];
  const images = platforms.map(p => {
    const busybox = debianBusybox(p.architecture);
    return singleImage({ 'bin/busybox': busybox, 'bin/sh': busybox }, p, { 'bin/busybox': 0o755, 'bin/sh': 0o755 });
  });
  const data = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: images.map((image, i) => ({
      mediaType: image.top.mediaType, digest: image.top.digest, size: image.top.data.length, platform: platforms[i],
    })),
  }));
  const index = { mediaType: OCI_INDEX, digest: digestOf(data), data };
  return { blobs: images.flatMap(i => i.blobs), manifests: [...images.flatMap(i => i.manifests), index], top: index, digest: index.digest };
}

/** A RUN step whose output is the architecture it ran on. */
const CONTEXT = tarGz({ Dockerfile: 'ARG BASE\nFROM ${BASE}\nRUN uname -m > /arch\n' });
const CONTEXT_SHA256 = createHash('sha256').update(CONTEXT).digest('hex');

let env: E2eEnvironment;
let base: string;
beforeAll(async () => {
  registerQemu();
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
  const dir = join(env.dir, `image-${createHash('sha256').update(ref).digest('hex').slice(0, 12)}`);
  skopeo(['copy', '--src-tls-verify=false', `docker://${ref}`, `dir:${dir}`]);
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  const config = JSON.parse(readFileSync(join(dir, manifest.config.digest.replace('sha256:', '')), 'utf8'));
  let arch = '';
  for (const layer of manifest.layers) {
    const out = spawnSync('tar', ['-xzOf', join(dir, layer.digest.replace('sha256:', '')), 'arch'], { encoding: 'utf8' });
    if (out.status === 0) {
      arch = out.stdout;
    }
  }
  return { config, arch };
}

describe('multi-architecture images', () => {
  test('buildah (real, QEMU for arm64) builds linux/amd64 + linux/arm64 with a RUN step, pushes one index and promotes it by digest', async () => {
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
    expect(build.processes.some(p => p.argv[0] === 'buildah' && p.argv[1] === 'manifest' && p.argv[2] === 'push' && p.argv.includes('--all'))).toBe(true);

    // one index, both platforms, its digest reported and recorded
    const digest = skopeoInspectDigest(env, destination);
    expect(build.terminationMessage).toBe(`${destination}@${digest}\n`);
    const index = JSON.parse(skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${destination}`]));
    expect(index.mediaType).toBe(OCI_INDEX);
    // buildah adds each platform's image as its build finishes, so the order varies from run to run
    expect(index.manifests.map((m: any) => `${m.platform.os}/${m.platform.architecture}`).sort()).toEqual(['linux/amd64', 'linux/arm64']);

    // each image's config names its architecture, and its RUN step ran on that architecture
    const repository = `${env.intermediate.host}/build/multi`;
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
