/**
 * One-layer OCI images from a root filesystem directory: a deterministic tar (sorted names, mtime 0, numeric
 * owners as in the directory), gzip without a timestamp, a config without a creation date. The same
 * directory gives the same digests. File capabilities are kept. Pushed with skopeo over plain http.
 */
import { createHash } from 'crypto';
import { createReadStream, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'fs';
import { join } from 'path';
import { runAsync } from './rootfs';

/** The parts of an OCI image config a tool image sets (`config` in the image config JSON). */
export interface ImageConfig {
  /** `NAME=value` entries, in the order the upstream image lists them. */
  readonly env: string[];
  /** `uid[:gid]`; root when unset. */
  readonly user?: string;
  readonly entrypoint?: string[];
  readonly cmd?: string[];
  readonly workingDir?: string;
  /** Paths declared with `VOLUME`. */
  readonly volumes?: string[];
}

/** An OCI image layout directory with one image, and that image's manifest digest. */
export interface OciLayout {
  readonly dir: string;
  readonly manifestDigest: string;
}

const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
  }
  return `sha256:${hash.digest('hex')}`;
}

function writeBlob(blobs: string, content: Buffer): { digest: string; size: number } {
  const digest = `sha256:${createHash('sha256').update(content).digest('hex')}`;
  writeFileSync(join(blobs, digest.slice(7)), content);
  return { digest, size: content.length };
}

/**
 * Packs `rootfs` (root `/` of the image) into a one-layer OCI layout at `layoutDir`, reusing a layer blob
 * already in `layoutDir` when the tar is byte-identical.
 */
export async function writeOciImage(rootfs: string, layoutDir: string, config: ImageConfig): Promise<OciLayout> {
  const blobs = join(layoutDir, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const tarFile = join(layoutDir, 'layer.tar');
  // pax format for file capabilities (security.capability); no per-run header names or access times.
  await runAsync('tar', ['--sort=name', '--mtime=@0', '--numeric-owner', '--format=posix', '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime',
    '--xattrs', '--xattrs-include=security.capability', '-C', rootfs, '-cf', tarFile, '.']);
  const diffId = await sha256File(tarFile);
  const cacheFile = join(layoutDir, 'layer.cache.json');
  let layer: { digest: string; size: number } | undefined;
  try {
    const cached = JSON.parse(readFileSync(cacheFile, 'utf8'));
    if (cached.diffId === diffId) {
      layer = cached.layer;
    }
  } catch {
    // no cache yet
  }
  if (!layer) {
    await runAsync('gzip', ['-n', '-1', '-f', tarFile]);
    const digest = await sha256File(`${tarFile}.gz`);
    const size = statSync(`${tarFile}.gz`).size;
    renameSync(`${tarFile}.gz`, join(blobs, digest.slice(7)));
    layer = { digest, size };
    writeFileSync(cacheFile, JSON.stringify({ diffId, layer }));
  }
  rmSync(tarFile, { force: true });

  const imageConfig = {
    architecture: 'amd64',
    os: 'linux',
    config: {
      Env: config.env,
      ...(config.user ? { User: config.user } : {}),
      ...(config.entrypoint ? { Entrypoint: config.entrypoint } : {}),
      ...(config.cmd ? { Cmd: config.cmd } : {}),
      ...(config.workingDir ? { WorkingDir: config.workingDir } : {}),
      ...(config.volumes ? { Volumes: Object.fromEntries(config.volumes.map(volume => [volume, {}])) } : {}),
    },
    rootfs: { type: 'layers', diff_ids: [diffId] },
  };
  const configBlob = writeBlob(blobs, Buffer.from(JSON.stringify(imageConfig)));
  const manifest = {
    schemaVersion: 2,
    mediaType: MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...configBlob },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer }],
  };
  const manifestBlob = writeBlob(blobs, Buffer.from(JSON.stringify(manifest)));
  writeFileSync(join(layoutDir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(join(layoutDir, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    manifests: [{ mediaType: MANIFEST, ...manifestBlob, annotations: { 'org.opencontainers.image.ref.name': 'latest' } }],
  }));
  return { dir: layoutDir, manifestDigest: manifestBlob.digest };
}

/**
 * Pushes the layout's image to `reference` (plain http, no credentials) and returns the digest the registry
 * stored, which is the layout's manifest digest: skopeo copies the manifest unchanged. With `netns`, skopeo
 * runs in that network namespace (`nsenter --net=<path>`).
 */
export async function pushOciImage(layout: OciLayout, reference: string, netns?: string): Promise<string> {
  const digestFile = join(layout.dir, 'pushed-digest');
  const skopeo = ['skopeo', 'copy', '--quiet', '--dest-tls-verify=false', '--digestfile', digestFile, `oci:${layout.dir}:latest`, `docker://${reference}`];
  if (netns) {
    await runAsync('nsenter', [`--net=${netns}`, '--', ...skopeo]);
  } else {
    await runAsync(skopeo[0], skopeo.slice(1));
  }
  const pushed = readFileSync(digestFile, 'utf8').trim();
  if (pushed !== layout.manifestDigest) {
    throw new Error(`${reference}: the registry stored ${pushed}, the layout holds ${layout.manifestDigest}`);
  }
  return pushed;
}
