/**
 * Small OCI images written by hand: a tar layer, a config, a manifest, and optionally a two-platform
 * index. Nothing is pulled. Images are pushed with the registry's HTTP API (no tool involved, so the
 * tools under test only ever see images they did not produce), or written as an OCI layout directory.
 */
import { createHash } from 'crypto';
import { mkdirSync, writeFileSync } from 'fs';
import { join } from 'path';
import { gzipSync } from 'zlib';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';

/** `sha256:<hex>` of some bytes. */
export function digestOf(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/**
 * A ustar archive of regular files (mode 0644 unless `modes` says otherwise, owner 0, mtime 0): deterministic
 * for the same input.
 */
export function tar(files: { [path: string]: string | Buffer }, modes: { [path: string]: number } = {}): Buffer {
  const blocks: Buffer[] = [];
  for (const [path, content] of Object.entries(files)) {
    const data = Buffer.from(content);
    const header = Buffer.alloc(512);
    const field = (offset: number, length: number, value: string) => header.write(value, offset, length, 'ascii');
    const octal = (offset: number, length: number, value: number) => field(offset, length, value.toString(8).padStart(length - 1, '0'));
    if (Buffer.byteLength(path) > 100) {
      throw new Error(`tar: path too long: ${path}`);
    }
    field(0, 100, path);
    octal(100, 8, modes[path] ?? 0o644);
    octal(108, 8, 0);
    octal(116, 8, 0);
    octal(124, 12, data.length);
    octal(136, 12, 0);
    header.fill(' ', 148, 156);
    field(156, 1, '0');
    field(257, 6, 'ustar');
    field(263, 2, '00');
    let sum = 0;
    for (const byte of header) {
      sum += byte;
    }
    field(148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
    blocks.push(header, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/** A gzip-compressed tar (`.tar.gz`), as a build context or layer. */
export function tarGz(files: { [path: string]: string | Buffer }): Buffer {
  return gzipSync(tar(files), { level: 9 });
}

/** A content-addressed blob. */
export interface Blob {
  readonly mediaType: string;
  readonly digest: string;
  readonly data: Buffer;
}

function blob(mediaType: string, data: Buffer): Blob {
  return { mediaType, digest: digestOf(data), data };
}

function descriptor(b: Blob, extra: object = {}): object {
  return { mediaType: b.mediaType, digest: b.digest, size: b.data.length, ...extra };
}

/** An image: every blob (layers, configs, child manifests) plus the top-level manifest or index. */
export interface TestImage {
  readonly blobs: Blob[];
  readonly manifests: Blob[];
  /** The manifest or index a tag points to. */
  readonly top: Blob;
  readonly digest: string;
}

/** A single-platform image with one layer holding `files` (with `modes`, e.g. 0o755 for programs). */
export function singleImage(files: { [path: string]: string | Buffer }, platform = { os: 'linux', architecture: 'amd64' },
  modes: { [path: string]: number } = {}): TestImage {
  const layerTar = tar(files, modes);
  const layer = blob(OCI_LAYER, gzipSync(layerTar, { level: 9 }));
  const config = blob(OCI_CONFIG, Buffer.from(JSON.stringify({
    ...platform,
    config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] },
    rootfs: { type: 'layers', diff_ids: [digestOf(layerTar)] },
    // one entry per layer, as real images have (buildah --layers checks history against the layers).
    history: [{ created_by: 'oci.ts singleImage' }],
  })));
  const manifest = blob(OCI_MANIFEST, Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: descriptor(config),
    layers: [descriptor(layer)],
  })));
  return { blobs: [layer, config], manifests: [manifest], top: manifest, digest: manifest.digest };
}

/** A two-platform (linux/amd64, linux/arm64) OCI index. */
export function twoPlatformImage(name: string): TestImage {
  const platforms = [{ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'arm64' }];
  const images = platforms.map(p => singleImage({ 'platform.txt': `${name} ${p.os}/${p.architecture}\n` }, p));
  const index = blob(OCI_INDEX, Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: images.map((image, i) => descriptor(image.top, { platform: platforms[i] })),
  })));
  return {
    blobs: images.flatMap(i => i.blobs),
    manifests: [...images.flatMap(i => i.manifests), index],
    top: index,
    digest: index.digest,
  };
}

/** Writes `image` as an OCI layout directory whose index names it `tag` (for skopeo's `oci:DIR:TAG`). */
export function writeOciLayout(dir: string, image: TestImage, tag: string): void {
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  for (const b of [...image.blobs, ...image.manifests]) {
    writeFileSync(join(dir, 'blobs', 'sha256', b.digest.slice('sha256:'.length)), b.data);
  }
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(join(dir, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    manifests: [descriptor(image.top, { annotations: { 'org.opencontainers.image.ref.name': tag } })],
  }));
}

/**
 * Pushes `image` to a plain-http registry without auth (`http://host:port/v2/…`) as `repository:tag`,
 * using the distribution API directly: monolithic blob uploads, then child manifests, then the top.
 */
export async function pushImage(registry: string, repository: string, tag: string, image: TestImage): Promise<void> {
  const base = `http://${registry}/v2/${repository}`;
  for (const b of image.blobs) {
    const start = await fetch(`${base}/blobs/uploads/`, { method: 'POST' });
    if (start.status !== 202) {
      throw new Error(`blob upload to ${registry}/${repository} failed to start: ${start.status} ${await start.text()}`);
    }
    const location = new URL(start.headers.get('location')!, `http://${registry}`);
    location.searchParams.set('digest', b.digest);
    const put = await fetch(location, { method: 'PUT', body: b.data, headers: { 'content-type': 'application/octet-stream' } });
    if (put.status !== 201) {
      throw new Error(`blob upload ${b.digest} failed: ${put.status} ${await put.text()}`);
    }
  }
  for (const m of image.manifests) {
    const reference = m === image.top ? tag : m.digest;
    const put = await fetch(`${base}/manifests/${reference}`, { method: 'PUT', body: m.data, headers: { 'content-type': m.mediaType } });
    if (put.status !== 201) {
      throw new Error(`manifest ${reference} upload failed: ${put.status} ${await put.text()}`);
    }
  }
}
