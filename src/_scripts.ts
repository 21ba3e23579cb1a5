import { readFileSync } from 'fs';
import { join } from 'path';

/**
 * The shell run by the Jobs' containers, kept as real files in the package's `container-scripts/` directory
 * (highlighted and shellchecked as files): `lib/` holds the pieces, written once, and each other file is the
 * end of one container's script. Every script is constant text: values arrive only through environment
 * variables and files, never by interpolation. The pieces are composed below into the scripts of every
 * construct that needs them; all of it is POSIX sh (busybox ash, dash, bash) and passes shellcheck.
 */

/** The directory of the script files: beside `src/` (tests) and `lib/` (the package). */
export const CONTAINER_SCRIPTS_DIR = join(__dirname, '..', 'container-scripts');

/** One script file's text, byte for byte. */
function read(name: string): string {
  return readFileSync(join(CONTAINER_SCRIPTS_DIR, `${name}.sh`), 'utf8');
}

/** Strict mode, logging, and failures that also reach the termination message. */
const PRELUDE = read('lib/prelude');

/** `download URL OUT [SHA256]`: https-only (unless ALLOW_INSECURE_HTTP=true), retried, verified. */
const DOWNLOAD = read('lib/download');

/** `unpack_context ARCHIVE DIR`: unpacks a .tar.gz build context; the archive is left alone (it may be a read-only mount). */
const UNPACK_CONTEXT = read('lib/unpack-context');

/**
 * `select_by_index LIST NAME`: the line of LIST (newline-separated) at JOB_COMPLETION_INDEX (from 0), which
 * Kubernetes sets in every container of an Indexed Job's pod.
 */
const SELECT_BY_INDEX = read('lib/select-by-index');

/**
 * `prepare_context`: afterwards CONTEXT_DIR holds the build context, downloaded from BUILD_CONTEXT_URL,
 * unpacked from the mounted BUILD_CONTEXT_ARCHIVE (or the line of BUILD_CONTEXT_ARCHIVES at
 * JOB_COMPLETION_INDEX), or already mounted there; and DOCKERFILE_PATH is in it.
 */
const PREPARE_CONTEXT = read('lib/prepare-context');

/**
 * `archive_format PATH`: prints docker-archive (has manifest.json) or oci-archive (has an oci-layout entry and no
 * manifest.json). Docker 25+ `docker save` writes both, and with the containerd image store its OCI index may
 * name platforms whose blobs it left out (so `--all` fails); its manifest.json lists only what it holds.
 */
const ARCHIVE_FORMAT = read('lib/archive-format');

/**
 * skopeo helpers shared by promotion and archive pushes: settings from the environment, `repository_of`,
 * `manifest_digest` and `copy_to`, which copies the pinned source, checks and verifies the digest and
 * records `<destination>@<digest>` in the termination message.
 */
const SKOPEO = read('lib/skopeo');

/**
 * `promote_image`: copies one image by digest to every destination. Source: SOURCE_IMAGE, or
 * INTERMEDIATE_REGISTRY_URL/BUILD_IMAGE_NAME at the digest in SOURCE_DIGEST_FILE (written by the build
 * step). A source without a digest is resolved once; every copy then uses that digest. Destinations: the
 * first destination, then ADDITIONAL_DESTINATIONS.
 */
const PROMOTE = read('lib/promote');

/**
 * `push_archive PATH FORMAT`: pushes an image archive to the first destination (the registry computes the
 * digest), verifies it, then copies that digest to ADDITIONAL_DESTINATIONS. OCI archives keep their
 * manifest digest; docker archives get a new manifest, so the digest is whatever the registry holds.
 */
const PUSH_ARCHIVE = read('lib/push-archive');

/**
 * Prepares the build context in CONTEXT_DIR (see `prepare_context`): downloads and verifies BUILD_CONTEXT_URL,
 * or unpacks a mounted archive, and checks the Dockerfile is there.
 */
export const FETCH_CONTEXT_SCRIPT = [PRELUDE, DOWNLOAD, UNPACK_CONTEXT, SELECT_BY_INDEX, PREPARE_CONTEXT, read('fetch-context')].join('');

/**
 * The build container of an Indexed KanikoBuildBatch (kaniko's debug image, busybox sh): picks the context's
 * name, destinations (space-separated) and cache repository at JOB_COMPLETION_INDEX from CONTEXT_NAMES,
 * INDEXED_DESTINATIONS and INDEXED_CACHE_REPOS (one line per context), then runs the executor with the
 * script's arguments (the shared flags) plus those.
 */
export const KANIKO_INDEXED_BUILD_SCRIPT = [PRELUDE, SELECT_BY_INDEX, read('kaniko-indexed-build')].join('');

/**
 * Downloads IMAGE_TAR_URL to ARCHIVE_PATH (verifying IMAGE_TAR_SHA256) when set, and with ARCHIVE_FORMAT=auto
 * writes the detected format to ARCHIVE_FORMAT_FILE.
 */
export const FETCH_ARCHIVE_SCRIPT = [PRELUDE, DOWNLOAD, ARCHIVE_FORMAT, read('fetch-archive')].join('');

/**
 * Writes a docker config.json for AUTH_REGISTRIES (space-separated host[:port]) from HARBOR_USERNAME and
 * HARBOR_PASSWORD to AUTH_FILE, mode 0640 (the pod's fsGroup reads it: rootless BuildKit runs as uid 1000). The password only passes through the shell's builtin printf
 * and base64's standard input, so it never appears in any process's arguments.
 */
export const COMPOSE_AUTH_SCRIPT = [PRELUDE, read('compose-auth')].join('');

/** Promotes one image by digest to every destination with skopeo and verifies each (see `promote_image`). */
export const PROMOTE_SCRIPT = [PRELUDE, SKOPEO, PROMOTE, read('promote')].join('');

/** Pushes the archive at ARCHIVE_PATH (format ARCHIVE_FORMAT, or the one in ARCHIVE_FORMAT_FILE) to every destination. */
export const PUSH_ARCHIVE_SCRIPT = [PRELUDE, SKOPEO, PUSH_ARCHIVE, read('push-archive')].join('');

/** Seed 000's `init-determine-action`: maps JOB_TYPE to the action the main container runs. */
export const DETERMINE_ACTION_SCRIPT = [PRELUDE, read('determine-action')].join('');

/**
 * Seed 000's `main-task-executor`: reads the action from ACTION_FILE and runs it with the tools of one
 * combined image. build: prepare the context (`prepare_context`: BUILD_CONTEXT_URL, a mounted archive or directory), kaniko builds and pushes to the intermediate
 * registry (extra flags in KANIKO_ARGS, one per line), then the digest is promoted. push_tar: download
 * IMAGE_TAR_URL (or use ARCHIVE_PATH), detect its format, push it.
 */
export const UNIFIED_SCRIPT = [PRELUDE, DOWNLOAD, UNPACK_CONTEXT, SELECT_BY_INDEX, PREPARE_CONTEXT, ARCHIVE_FORMAT, SKOPEO, PROMOTE, PUSH_ARCHIVE, read('unified')].join('');

/**
 * `buildah_configure` (storage, registries.conf and TMPDIR from the environment), `buildah_manifest` (a manifest
 * command with its registry's TLS setting and the credentials file), `check_digest` and `build_destination`.
 */
const BUILDAH = read('lib/buildah');

/**
 * `buildctl-daemonless.sh build "$@" --metadata-file "$METADATA_FILE"` (the flags arrive as the script's
 * arguments, never as shell text), then `digest` holds the `containerimage.digest` from the metadata: the image's
 * manifest digest, or the index digest of a multi-platform build. Not a function: inline, as the connector's script
 * has always been.
 */
const BUILDCTL_BUILD = read('lib/buildkit-build');

/**
 * `record_platform_digests INDEX REPOSITORY`: one "<os/arch[/variant]> REPOSITORY@<manifest digest>" line per
 * platform of the image index in the file INDEX, appended to the termination message.
 */
const PLATFORM_DIGESTS = read('lib/platform-digests');

/**
 * OciConnectorBuildJob's container: builds with BUILDCTL_BUILD and writes "<reference>@<digest>" lines to the
 * termination message: DESTINATIONS (what the pipeline asked for, on the upstream registry) first, then
 * PROXY_DESTINATIONS (the names actually pushed, through the proxy).
 */
export const BUILDKIT_BUILD_SCRIPT = [PRELUDE, read('oci-connector-build-begin'), BUILDCTL_BUILD, read('oci-connector-build')].join('');

/**
 * BuildkitBuildJob's container: with INSECURE_REGISTRIES, writes them to BUILDKITD_CONFIG (plain http, unverified
 * certificate) and adds `--config` to BUILDKITD_FLAGS; builds with BUILDCTL_BUILD; writes "<destination>@<digest>"
 * for DESTINATIONS to the termination message and the bare digest to DIGEST_FILE for the promoter. With PLATFORMS,
 * when BuildKit pushed an index, also one platform line per entry (PLATFORM_DIGESTS) of the index BuildKit keeps in
 * its content store under BUILDKIT_STATE_DIR, checked against the pushed digest.
 */
export const BUILDKIT_DIRECT_BUILD_SCRIPT = [PRELUDE, PLATFORM_DIGESTS, read('buildkit-build-begin'), BUILDCTL_BUILD, read('buildkit-build')].join('');

/**
 * Builds CONTEXT_DIR/DOCKERFILE_PATH with `buildah bud --isolation chroot "$@"` (the build flags arrive as
 * the script's arguments, never as shell text), pushes the image to the first destination
 * (DESTINATION_REGISTRY/DESTINATION_IMAGE_NAME:DESTINATION_IMAGE_TAG without a promotion, else the intermediate
 * INTERMEDIATE_REGISTRY_URL/BUILD_IMAGE_NAME:BUILD_IMAGE_TAG) and ADDITIONAL_DESTINATIONS with
 * `--digestfile`, fails unless every destination received the same digest, and writes
 * "<destination>@<digest>" lines to the termination message and the bare digest to DIGEST_FILE. With PLATFORMS
 * (os/arch[,…]) it builds one local manifest list, pushes it with `manifest push --all`, reads the index back from
 * the first destination by digest (`manifest add --all`) and adds one platform line per entry (PLATFORM_DIGESTS).
 *
 * Settings are written first to CONTAINERS_STORAGE_CONF, CONTAINERS_REGISTRIES_CONF and CONTAINERS_CONF (the
 * paths buildah reads), so the image's own files never decide them and nothing is written to its /etc:
 * STORAGE_DRIVER (vfs or kernel overlay) in STORAGE_ROOT, short names resolved on docker.io,
 * INSECURE_REGISTRIES over plain http, RUN_CAPABILITIES for RUN steps, network locks in STORAGE_ROOT.
 */
export const BUILDAH_BUILD_SCRIPT = [PRELUDE, BUILDAH, PLATFORM_DIGESTS, read('buildah-build')].join('');

/**
 * A kaniko fan-out's `wait-for-platforms` container (the download helper's curl image): for each
 * "<platform> <Job name> <reference> <repository>" line of PLATFORM_BUILDS, polls the Kubernetes API with the pod's
 * projected token until the Job is Complete (or fails naming the platform when it is Failed), reads the exact
 * "<reference>@sha256:<64 hex>" from its succeeded pod's termination message, and writes
 * "<platform> <repository>@sha256:<64 hex>" lines to PLATFORM_DIGESTS_FILE.
 */
export const WAIT_FOR_PLATFORM_BUILDS_SCRIPT = [PRELUDE, read('wait-for-platform-builds')].join('');

/**
 * A kaniko fan-out's `assemble` container (buildah): adds each image of PLATFORM_DIGESTS_FILE by digest to one image
 * index, pushes it with `buildah manifest push --all` to every destination, and writes "<destination>@<index digest>"
 * lines then the per-platform lines to the termination message and the bare index digest to DIGEST_FILE.
 */
export const KANIKO_ASSEMBLE_SCRIPT = [PRELUDE, BUILDAH, read('kaniko-assemble')].join('');

/**
 * The `notify-kargo` container (the download helper's curl image): POSTs to the Kargo webhook receiver whose URL is
 * in KARGO_WEBHOOK_URL_FILE (plus the header KARGO_WEBHOOK_HEADER_NAME from KARGO_WEBHOOK_HEADER_FILE), the URL and
 * header on curl's standard input. Always exits 0: a failure is logged and noted in the termination message.
 */
export const NOTIFY_KARGO_SCRIPT = [PRELUDE, read('notify-kargo')].join('');
