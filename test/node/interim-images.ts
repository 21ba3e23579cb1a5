/**
 * Interim tool images for the node tier, until `images.ts` (the tier's real tool images) lands: one Debian root
 * filesystem made by `mmdebstrap` (curl, skopeo, buildah, busybox, CA certificates) pushed once per upstream tool
 * image with that image's environment and default user, plus a tiny sandbox ("pause") image. Every image trusts
 * the tier's test CA through its system trust store, as a cluster's images would trust a private registry's CA.
 */
import { existsSync, readFileSync } from 'fs';
import { digestOf, OCI_CONFIG, OCI_MANIFEST, pushImage, tar, TestImage } from '../e2e/oci';

const OCI_LAYER_TAR = 'application/vnd.oci.image.layer.v1.tar';
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The local image standing for each upstream tool image repository. */
export interface NodeImages {
  /** Upstream repository (without tag or digest) → local reference. */
  readonly byRepository: { [repository: string]: string };
  /** The sandbox image containerd runs as each pod's "pause" container. */
  readonly sandbox: string;
}

interface ImageConfig {
  readonly env: string[];
  readonly user?: string;
}

/** The upstream images and the environment and user each sets (as their Dockerfiles do). */
const PROFILES: { [name: string]: { repositories: string[]; config: ImageConfig } } = {
  curl: { repositories: ['docker.io/curlimages/curl'], config: { env: [`PATH=${DEFAULT_PATH}`, 'CURL_CA_BUNDLE=/cacert.pem'], user: '100:101' } },
  skopeo: { repositories: ['quay.io/skopeo/stable'], config: { env: [`PATH=${DEFAULT_PATH}`] } },
  buildah: { repositories: ['quay.io/buildah/stable'], config: { env: [`PATH=${DEFAULT_PATH}`, 'BUILDAH_ISOLATION=chroot'] } },
};

function blob(mediaType: string, data: Buffer) {
  return { mediaType, digest: digestOf(data), data };
}

/** An image of uncompressed tar layers (no gzip: the registry is local) with `config`. */
function layeredImage(layers: Buffer[], config: ImageConfig, entrypoint?: string[]): TestImage {
  const layerBlobs = layers.map(l => blob(OCI_LAYER_TAR, l));
  const configBlob = blob(OCI_CONFIG, Buffer.from(JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    config: { Env: config.env, ...(config.user ? { User: config.user } : {}), ...(entrypoint ? { Entrypoint: entrypoint } : {}) },
    rootfs: { type: 'layers', diff_ids: layerBlobs.map(l => l.digest) },
    history: layerBlobs.map(() => ({ created_by: 'test/node/interim-images.ts' })),
  })));
  const manifest = blob(OCI_MANIFEST, Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: configBlob.mediaType, digest: configBlob.digest, size: configBlob.data.length },
    layers: layerBlobs.map(l => ({ mediaType: l.mediaType, digest: l.digest, size: l.data.length })),
  })));
  return { blobs: [...layerBlobs, configBlob], manifests: [manifest], top: manifest, digest: manifest.digest };
}

/**
 * Builds the images and pushes them to the plain-http registry `registryHost`. `caCert` is added to
 * every image's trust store.
 */
export async function buildInterimImages(registryHost: string, caCert: string): Promise<NodeImages> {
  // made by in-netns.sh with mmdebstrap before it enters the namespace (the Debian mirror is outside)
  const rootfs = process.env.NODE_TIER_ROOTFS;
  if (!rootfs || !existsSync(rootfs)) {
    throw new Error(`NODE_TIER_ROOTFS (${rootfs}) does not name the Debian root filesystem tar: start the tier with npx projen test:node`);
  }
  const base = readFileSync(rootfs);
  const ca = readFileSync(caCert, 'utf8');
  const trust = Buffer.from(`${readFileSync('/etc/ssl/certs/ca-certificates.crt', 'utf8')}${ca}`);
  const etc = tar({
    'etc/ssl/certs/ca-certificates.crt': trust,
    'cacert.pem': trust,
    'etc/containers/policy.json': JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }),
    'etc/containers/registries.conf': 'unqualified-search-registries = []\n',
  });
  const byRepository: { [repository: string]: string } = {};
  for (const [name, profile] of Object.entries(PROFILES)) {
    // one repository for all, so the registry stores the Debian layer once
    await pushImage(registryHost, 'node-tier/tools', name, layeredImage([base, etc], profile.config));
    for (const repository of profile.repositories) {
      byRepository[repository] = `${registryHost}/node-tier/tools:${name}`;
    }
  }
  // the sandbox: Debian's busybox and the libraries it loads, waiting for SIGTERM
  const libs: { [path: string]: Buffer } = {};
  for (const lib of ['/lib/x86_64-linux-gnu/libc.so.6', '/lib/x86_64-linux-gnu/libresolv.so.2', '/lib64/ld-linux-x86-64.so.2']) {
    libs[lib.slice(1)] = readFileSync(lib);
  }
  const pause = tar({ ...libs, 'bin/busybox': readFileSync('/bin/busybox') }, { 'bin/busybox': 0o755, 'lib64/ld-linux-x86-64.so.2': 0o755 });
  await pushImage(registryHost, 'node-tier/pause', '1', layeredImage([pause], { env: ['PATH=/bin'] },
    ['/bin/busybox', 'sh', '-c', 'trap "exit 0" TERM INT; while :; do /bin/busybox sleep 3600 & wait; done']));
  return { byRepository, sandbox: `${registryHost}/node-tier/pause:1` };
}

/** `registry/repo` of an image reference, without tag or digest. */
export function repositoryOf(image: string): string {
  const withoutDigest = image.split('@')[0];
  const lastSlash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  return colon > lastSlash ? withoutDigest.slice(0, colon) : withoutDigest;
}

/**
 * Rewrites every container's `image` in a synthesized Job (or pod template holder) to the local image of the same
 * tool, and nothing else; an image with no local counterpart fails with its name.
 */
export function useNodeImages<T>(object: T, images: NodeImages): T {
  const copy = JSON.parse(JSON.stringify(object));
  const spec = copy?.spec?.template?.spec;
  for (const container of [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])]) {
    const local = images.byRepository[repositoryOf(container.image)];
    if (!local) {
      throw new Error(`no node-tier image for ${container.image} (container ${container.name})`);
    }
    container.image = local;
  }
  return copy;
}
