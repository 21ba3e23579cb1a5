import { canonicalRegistry, checkRegistryHost, isRegistryHost } from './_registry';
import { invalid } from './_validate';
import { ImageReference } from './image-reference';
import { ToolImages, ToolImagesOptions } from './tool-images';

/** Tool images after defaults and validation. */
export interface ResolvedToolImages {
  readonly kaniko: string;
  readonly kanikoDebug: string;
  readonly skopeo: string;
  readonly downloadHelper: string;
  readonly buildkit: string;
  readonly buildkitRootless: string;
  readonly buildah: string;
}

/** Applies defaults (through `registryMirrors`) and refuses unpinned overrides. */
export function resolveToolImages(options: ToolImagesOptions = {}): ResolvedToolImages {
  const mirrors = checkMirrors(options.registryMirrors);
  const pick = (prop: keyof ResolvedToolImages, given: string | undefined, upstream: string) =>
    checkToolImage(`toolImages.${prop}`, given ?? mirrored(upstream, mirrors));
  return {
    kaniko: pick('kaniko', options.kaniko, ToolImages.KANIKO),
    kanikoDebug: pick('kanikoDebug', options.kanikoDebug, ToolImages.KANIKO_DEBUG),
    skopeo: pick('skopeo', options.skopeo, ToolImages.SKOPEO),
    downloadHelper: pick('downloadHelper', options.downloadHelper, ToolImages.DOWNLOAD_HELPER),
    buildkit: pick('buildkit', options.buildkit, ToolImages.BUILDKIT),
    buildkitRootless: pick('buildkitRootless', options.buildkitRootless, ToolImages.BUILDKIT_ROOTLESS),
    buildah: pick('buildah', options.buildah, ToolImages.BUILDAH),
  };
}

/** `registryMirrors`, keyed by canonical registry, each prefix a `host[/path]` without scheme or trailing "/". */
function checkMirrors(mirrors: { [registry: string]: string } | undefined): Map<string, string> {
  const checked = new Map<string, string>();
  for (const registry of Object.keys(mirrors ?? {}).sort()) {
    const prefix = mirrors![registry];
    const host = checkRegistryHost('toolImages.registryMirrors key', registry);
    if (typeof prefix !== 'string' || !MIRROR_PREFIX.test(prefix) || !isRegistryHost(prefix.split('/')[0])) {
      invalid(`toolImages.registryMirrors.${registry}`, prefix, 'expected a registry host with an optional path such as "harbor.corp.io/dockerhub" (no scheme, tag or trailing "/")');
    }
    if (checked.has(host)) {
      invalid('toolImages.registryMirrors key', registry, `expected each registry once; ${host} is already mirrored`);
    }
    checked.set(host, prefix);
  }
  return checked;
}

const MIRROR_PREFIX = /^[a-z0-9.-]+(?::[0-9]{1,5})?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

/** An upstream default image with its registry replaced by its mirror prefix, if any. */
function mirrored(image: string, mirrors: Map<string, string>): string {
  const slash = image.indexOf('/');
  const prefix = mirrors.get(canonicalRegistry(image.slice(0, slash)));
  return prefix === undefined ? image : `${prefix}${image.slice(slash)}`;
}

/** An image reference pinned to a tag (not `latest`) or a digest. */
export function checkToolImage(prop: string, image: string): string {
  const ref = ImageReference._parseFor(prop, image);
  if (!ref.digest && (!ref.tag || ref.tag === 'latest')) {
    invalid(prop, image, 'expected an image pinned to an exact tag or an @sha256: digest, never an implicit or explicit "latest"');
  }
  return image;
}
