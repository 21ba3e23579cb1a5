/**
 * What a built image records about its origin, as the OCI manifest annotations Kargo reads: its `NewestBuild`
 * image selection orders by `org.opencontainers.image.created`, and its UI links `org.opencontainers.image.source`
 * and `org.opencontainers.image.revision`. Kargo reads manifest annotations, not config labels, so every builder
 * writes them with its own annotation flag (kaniko and buildah `--annotation`, BuildKit
 * `--output type=image,annotation.<key>=<value>`).
 */
export interface ImageAnnotationOptions {
  /**
   * The commit the image is built from: passed as the build arg `BUILD_COMMIT_SHA` (as Kyma's image builder
   * does) unless `buildArgs` sets it, and written as the manifest annotation `org.opencontainers.image.revision`
   * (Kargo's UI shows it). `ImageTag` exposes the commit it found as `commitSha`.
   *
   * @default - no BUILD_COMMIT_SHA build arg and no revision annotation
   */
  readonly commitSha?: string;

  /**
   * The URL of the source repository, written as the manifest annotation `org.opencontainers.image.source`
   * (Kargo's UI links it), e.g. `https://github.com/example/api`.
   *
   * @default - no source annotation
   */
  readonly sourceUrl?: string;

  /**
   * The image's creation time (RFC 3339, e.g. `2026-01-31T12:00:00Z`), written as the manifest annotation
   * `org.opencontainers.image.created`, which Kargo's `NewestBuild` image selection orders by. The value is
   * part of the YAML, so the same input still gives byte-identical YAML.
   *
   * Needed with kaniko's `--reproducible` (it zeroes the config's creation time, so without the annotation
   * `NewestBuild` cannot order the images; the construct refuses that combination).
   *
   * @default - buildah: the time the build ran, computed by the build script; kaniko and BuildKit: no annotation,
   * and Kargo orders by the build time the builder writes into the image config
   */
  readonly imageCreated?: string;
}
