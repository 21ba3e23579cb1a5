import { describe, expect, test } from 'vitest';
import { ImageReference, ToolImages } from '../src';

describe('ToolImages', () => {
  test.each([
    ['KANIKO', ToolImages.KANIKO],
    ['KANIKO_UPSTREAM_ARCHIVED', ToolImages.KANIKO_UPSTREAM_ARCHIVED],
    ['SKOPEO', ToolImages.SKOPEO],
    ['DOWNLOAD_HELPER', ToolImages.DOWNLOAD_HELPER],
    ['BUILDKIT', ToolImages.BUILDKIT],
    ['BUILDKIT_ROOTLESS', ToolImages.BUILDKIT_ROOTLESS],
    ['BUILDAH', ToolImages.BUILDAH],
  ])('%s is a valid reference pinned to an exact version, never latest', (_, image) => {
    const ref = ImageReference.parse(image);
    expect(ref.tag).toMatch(/^v?\d+\.\d+\.\d+/);
    expect(ref.tag).not.toBe('latest');
  });

  test('the default kaniko is the maintained fork, not the archived upstream', () => {
    expect(ImageReference.parse(ToolImages.KANIKO).name).toBe('ghcr.io/osscontainertools/kaniko');
    expect(ImageReference.parse(ToolImages.KANIKO_UPSTREAM_ARCHIVED).digest).toMatch(/^sha256:[a-f0-9]{64}$/);
  });

  test('skopeo uses an immutable tag; the helper is pinned by digest', () => {
    expect(ImageReference.parse(ToolImages.SKOPEO).tag).toMatch(/-immutable$/);
    expect(ImageReference.parse(ToolImages.DOWNLOAD_HELPER).digest).toMatch(/^sha256:[a-f0-9]{64}$/);
  });

  test('BuildKit: the rootless image is the same release as the privileged one, which is pinned by digest', () => {
    const buildkit = ImageReference.parse(ToolImages.BUILDKIT);
    const rootless = ImageReference.parse(ToolImages.BUILDKIT_ROOTLESS);
    expect(buildkit.name).toBe('docker.io/moby/buildkit');
    expect(buildkit.digest).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(rootless.name).toBe('docker.io/moby/buildkit');
    expect(rootless.tag).toBe(`${buildkit.tag}-rootless`);
  });

  test('buildah is the upstream stable image on an exact release tag', () => {
    const buildah = ImageReference.parse(ToolImages.BUILDAH);
    expect(buildah.name).toBe('quay.io/buildah/stable');
    expect(buildah.tag).toMatch(/^v\d+\.\d+\.\d+$/);
  });
});
