/**
 * Per-construct overrides of the tool images a Job runs.
 *
 * Point these at your own mirror (air-gapped clusters) or at a newer release. Each value must pin a tag
 * or a digest; `latest` without a digest is refused.
 */
export interface ToolImagesOptions {
  /**
   * The kaniko executor image. It must provide `/kaniko/executor`.
   *
   * @default ToolImages.KANIKO
   */
  readonly kaniko?: string;

  /**
   * The kaniko executor image with a shell, used where the build container must choose its inputs at run
   * time (the Indexed shape of `KanikoBuildBatch`). It must provide `/kaniko/executor` and `/busybox/sh`
   * with `sed`, as kaniko's `-debug` images do.
   *
   * @default ToolImages.KANIKO_DEBUG
   */
  readonly kanikoDebug?: string;

  /**
   * The skopeo image. It must provide `skopeo`, `sh`, `sha256sum` and a `/etc/containers/policy.json`.
   *
   * @default ToolImages.SKOPEO
   */
  readonly skopeo?: string;

  /**
   * The small helper image that downloads build contexts, composes registry credentials and (in a kaniko
   * fan-out, `KanikoBuildJob.platforms`) waits for the per-platform Jobs through the Kubernetes API. It must
   * provide `sh`, `curl`, `sha256sum`, `tar`, `gzip`, `base64`, `awk`, `grep`, `sort` and `tr`.
   *
   * @default ToolImages.DOWNLOAD_HELPER
   */
  readonly downloadHelper?: string;

  /**
   * The BuildKit image for `BuildkitMode.PRIVILEGED`. It must provide `buildctl-daemonless.sh`, `buildkitd`
   * and a POSIX `sh` with `grep`.
   *
   * @default ToolImages.BUILDKIT
   */
  readonly buildkit?: string;

  /**
   * The rootless BuildKit image for `BuildkitMode.ROOTLESS` (uid 1000, rootlesskit). Same tools as `buildkit`.
   *
   * @default ToolImages.BUILDKIT_ROOTLESS
   */
  readonly buildkitRootless?: string;

  /**
   * The buildah image for `BuildahBuildJob` and for the assembly step of a kaniko fan-out
   * (`KanikoBuildJob.platforms`). It must provide `buildah` and a POSIX `sh` with `mktemp` and, for `platforms`,
   * `awk`, and run as root.
   *
   * @default ToolImages.BUILDAH
   */
  readonly buildah?: string;

  /**
   * Registry mirrors for the default tool images, in one place: each key is an upstream registry (`ghcr.io`,
   * `quay.io`, `docker.io`), each value the prefix that replaces it, e.g. a Harbor proxy-cache project
   * `{ 'docker.io': 'harbor.corp.io/dockerhub', 'quay.io': 'harbor.corp.io/quay' }`: `docker.io/moby/buildkit:v0.34.0@sha256:…`
   * becomes `harbor.corp.io/dockerhub/moby/buildkit:v0.34.0@sha256:…` (tag and digest kept). Images given
   * explicitly above are used as given.
   *
   * @default - the upstream registries
   */
  readonly registryMirrors?: { [registry: string]: string };
}

/**
 * The one place that pins the default tool images. Every construct takes overrides through
 * `toolImages` (see `ToolImagesOptions`).
 *
 * Kaniko: `GoogleContainerTools/kaniko` was archived on 2025-06-03 (last release v1.24.0). The default is
 * the maintained fork `osscontainertools/kaniko`, which publishes multi-arch images on ghcr.io and keeps
 * the upstream flags and image layout (`/kaniko/executor`, `DOCKER_CONFIG=/kaniko/.docker`). To stay on
 * the archived upstream, or to use another fork or a mirror, set `toolImages: { kaniko: ToolImages.KANIKO_UPSTREAM_ARCHIVED }`
 * (or any pinned reference).
 */
export class ToolImages {
  /**
   * Kaniko executor from the maintained fork `osscontainertools/kaniko`, pinned to an exact release.
   *
   * No digest is pinned: no index digest for this tag could be established from public material when
   * it was chosen. Mirror it and pin your mirror's digest for full immutability.
   */
  public static readonly KANIKO = 'ghcr.io/osscontainertools/kaniko:v1.28.5';

  /**
   * The `-debug` variant of `KANIKO`: the same executor plus busybox in `/busybox` (a shell for the Indexed
   * shape of `KanikoBuildBatch`, which picks its context by `JOB_COMPLETION_INDEX`).
   */
  public static readonly KANIKO_DEBUG = 'ghcr.io/osscontainertools/kaniko:v1.28.5-debug';

  /** The last upstream kaniko release (archived project, no security fixes), pinned by its index digest. */
  public static readonly KANIKO_UPSTREAM_ARCHIVED = 'gcr.io/kaniko-project/executor:v1.24.0@sha256:4e7a52dd1f14872430652bb3b027405b8dfd17c4538751c620ac005741ef9698';

  /**
   * skopeo from the upstream image build, on its `-immutable` tag: plain `vX.Y.Z` tags there are rebuilt
   * daily and old digests vanish, while `-immutable` tags are never overwritten.
   */
  public static readonly SKOPEO = 'quay.io/skopeo/stable:v1.22.3-immutable';

  /** curl's official image (Alpine: busybox `sh`, `tar`, `gzip`, `sha256sum`, `base64`), pinned by digest. */
  public static readonly DOWNLOAD_HELPER = 'docker.io/curlimages/curl:8.22.0@sha256:58adaa4e8dca9c988bae2aba4ab3434a0bb2da16bbe3f92dec39ec7785166777';

  /**
   * BuildKit (`moby/buildkit`, busybox `sh`), pinned to an exact release and the index digest published for
   * that tag.
   */
  public static readonly BUILDKIT = 'docker.io/moby/buildkit:v0.34.0@sha256:b059f8d7226d0b326bc871af489a5dddf65e36af4d20d14251b072974d9ee87c';

  /**
   * Rootless BuildKit (`moby/buildkit:<version>-rootless`), the same release as `BUILDKIT`.
   *
   * No digest is pinned: none for this tag could be established from public material when it was chosen.
   * Mirror it and pin your mirror's digest for full immutability.
   */
  public static readonly BUILDKIT_ROOTLESS = 'docker.io/moby/buildkit:v0.34.0-rootless';

  /**
   * buildah's upstream image (Fedora with the distribution's buildah; `BUILDAH_ISOLATION=chroot`), pinned to an
   * exact release. Its version tags are documented as never updated once pushed.
   *
   * No digest is pinned: none for this tag could be established from public material when it was chosen.
   * Mirror it and pin your mirror's digest for full immutability.
   */
  public static readonly BUILDAH = 'quay.io/buildah/stable:v1.43.1';

  private constructor() {}
}
