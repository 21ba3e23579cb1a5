/**
 * What the multi-architecture tests share (the e2e tier with buildah, the node tier with BuildKit): QEMU for aarch64
 * registered with binfmt_misc with the F flag, a linux/amd64 + linux/arm64 busybox base index built from the Debian
 * .deb files `.ci/run` downloads into `.e2e/` (tests never reach the network), the architecture a built image's RUN
 * step saw, and the platform lines a build's termination message must hold for an index.
 */
import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { expect } from 'vitest';
import { which } from './fixtures';
import { digestOf, OCI_INDEX, singleImage, TestImage } from './oci';

const BINFMT = '/proc/sys/fs/binfmt_misc';
/** Debian's qemu-aarch64 binfmt entry (/usr/share/binfmts/qemu-aarch64), with F: the interpreter is opened now, so it runs in chroots. */
const AARCH64_MAGIC = '\\x7f\\x45\\x4c\\x46\\x02\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\xb7\\x00';
const AARCH64_MASK = '\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x00\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff\\xff';
const ENTRY = 'cdk8s-image-jobs-e2e-aarch64';

/**
 * Mounts binfmt_misc and registers QEMU for aarch64 with the F flag, unless the machine already runs arm64
 * binaries; returns the steps that undo what it did, to run in order when the tests finish.
 */
export function registerQemu(): (() => void)[] {
  const undo: (() => void)[] = [];
  if (!existsSync(join(BINFMT, 'register'))) {
    const mount = spawnSync('mount', ['-t', 'binfmt_misc', 'binfmt_misc', BINFMT], { encoding: 'utf8' });
    expect(mount.status, `mount binfmt_misc: ${mount.stderr}`).toBe(0);
    undo.push(() => spawnSync('umount', [BINFMT]));
  }
  if (!aarch64Registered(BINFMT)) {
    const qemu = which('qemu-aarch64-static');
    expect(qemu, 'qemu-aarch64-static (Debian package qemu-user-static)').toBeDefined();
    writeFileSync(join(BINFMT, 'register'), `:${ENTRY}:M::${AARCH64_MAGIC}:${AARCH64_MASK}:${qemu}:F`);
    undo.unshift(() => writeFileSync(join(BINFMT, ENTRY), '-1'));
  }
  return undo;
}

/** True when the binfmt_misc mounted at `dir` has an entry for aarch64 ELF binaries. */
function aarch64Registered(dir: string): boolean {
  return readdirSync(dir).some(name => name !== 'register' && name !== 'status' &&
    readFileSync(join(dir, name), 'utf8').includes(`magic ${AARCH64_MAGIC.replace(/\\x/g, '')}`));
}

/**
 * The machine's binfmt_misc entries for aarch64 binaries, read through a mount of its own (so the check neither needs
 * nor disturbs the one at /proc/sys/fs/binfmt_misc): whether an arm64 binary would run through QEMU now.
 */
export function qemuRegistered(scratch: string): boolean {
  const dir = mkdtempSync(join(scratch, 'binfmt-'));
  const mount = spawnSync('mount', ['-t', 'binfmt_misc', 'binfmt_misc', dir], { encoding: 'utf8' });
  expect(mount.status, `mount binfmt_misc: ${mount.stderr}`).toBe(0);
  try {
    return aarch64Registered(dir);
  } finally {
    spawnSync('umount', [dir]);
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
export function busyboxIndex(): TestImage {
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

/** A Dockerfile whose RUN step writes the architecture it ran on (`uname -m`) to `/arch`. */
export const UNAME_DOCKERFILE = 'ARG BASE\nFROM ${BASE}\nRUN uname -m > /arch\n';

/**
 * The config and the content of `/arch` of one image, copied with `skopeo` (a runner of the host's skopeo with the
 * test's TLS settings; `tlsVerify` for the source) into `dir`.
 */
export function imageArch(skopeo: (args: string[]) => string, dir: string, ref: string, tlsVerify: boolean): { config: any; arch: string } {
  const imageDir = join(dir, `image-${createHash('sha256').update(ref).digest('hex').slice(0, 12)}`);
  skopeo(['copy', `--src-tls-verify=${tlsVerify}`, `docker://${ref}`, `dir:${imageDir}`]);
  const manifest = JSON.parse(readFileSync(join(imageDir, 'manifest.json'), 'utf8'));
  const config = JSON.parse(readFileSync(join(imageDir, manifest.config.digest.replace('sha256:', '')), 'utf8'));
  let arch = '';
  for (const layer of manifest.layers) {
    const out = spawnSync('tar', ['-xzOf', join(imageDir, layer.digest.replace('sha256:', '')), 'arch'], { encoding: 'utf8' });
    if (out.status === 0) {
      arch = out.stdout;
    }
  }
  return { config, arch };
}

/** The platform lines a build's termination message must hold for `index` (as `skopeo inspect --raw` gives it), in its order. */
export function platformLines(index: any, repository: string): string[] {
  return index.manifests.map((m: any) => `${[m.platform.os, m.platform.architecture, m.platform.variant].filter(Boolean).join('/')} ${repository}@${m.digest}`);
}
