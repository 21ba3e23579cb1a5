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

/** Applies defaults and refuses unpinned overrides. */
export function resolveToolImages(options: ToolImagesOptions = {}): ResolvedToolImages {
  return {
    kaniko: checkToolImage('toolImages.kaniko', options.kaniko ?? ToolImages.KANIKO),
    kanikoDebug: checkToolImage('toolImages.kanikoDebug', options.kanikoDebug ?? ToolImages.KANIKO_DEBUG),
    skopeo: checkToolImage('toolImages.skopeo', options.skopeo ?? ToolImages.SKOPEO),
    downloadHelper: checkToolImage('toolImages.downloadHelper', options.downloadHelper ?? ToolImages.DOWNLOAD_HELPER),
    buildkit: checkToolImage('toolImages.buildkit', options.buildkit ?? ToolImages.BUILDKIT),
    buildkitRootless: checkToolImage('toolImages.buildkitRootless', options.buildkitRootless ?? ToolImages.BUILDKIT_ROOTLESS),
    buildah: checkToolImage('toolImages.buildah', options.buildah ?? ToolImages.BUILDAH),
  };
}

/** An image reference pinned to a tag (not `latest`) or a digest. */
export function checkToolImage(prop: string, image: string): string {
  const ref = ImageReference._parseFor(prop, image);
  if (!ref.digest && (!ref.tag || ref.tag === 'latest')) {
    invalid(prop, image, 'expected an image pinned to an exact tag or an @sha256: digest, never an implicit or explicit "latest"');
  }
  return image;
}
