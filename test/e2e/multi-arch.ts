/**
 * What the multi-architecture tests share (the e2e tier's buildah run, the node tier's kaniko fan-out): QEMU for
 * aarch64 registered with binfmt_misc (F flag, so it works inside chroots and containers), a linux/amd64 +
 * linux/arm64 busybox base image from the Debian .deb files `.ci/run` downloads into `.e2e/`, and a look inside
 * a built image.
 */
import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { expect } from 'vitest';
import { which } from './fixtures';
import { digestOf, OCI_INDEX, singleImage, TestImage } from './oci';

const BINFMT = '/proc/sys/fs/binfmt_misc';
/** Debian's qemu-aarch64 binfmt entry (/usr/share/binfmts/qemu-aarch64), with F: the interpreter is opened now, so it runs in chroots. */
const AARCH64_MAGIC = '\\x7f\\x45\\x4c\\x46\\x02\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\xb7\\x00';
const AARCH64_MASK = '\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x00\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff\\xff';

/**
 * Mounts binfmt_misc and registers QEMU for aarch64 as `entry` with the F flag, unless the machine already runs arm64
 * binaries; returns what undoes exactly that.
 */
export function registerQemu(entry: string): () => void {
  const undo: (() => void)[] = [];
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
    writeFileSync(join(BINFMT, 'register'), `:${entry}:M::${AARCH64_MAGIC}:${AARCH64_MASK}:${qemu}:F`);
    undo.unshift(() => writeFileSync(join(BINFMT, entry), '-1'));
  }
  return () => undo.forEach(step => step());
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

/**
 * The config and the content of `/arch` (written by a `RUN uname -m > /arch` step) of one image on a plain-http
 * registry, copied with `skopeo` (a runner that fails the test on error) into a directory under `workDir`.
 */
export function imageArch(skopeo: (args: string[]) => string, workDir: string, ref: string): { config: any; arch: string } {
  const dir = join(workDir, `image-${createHash('sha256').update(ref).digest('hex').slice(0, 12)}`);
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
