/**
 * The shell run by the Jobs' containers. Every script is constant text: values arrive only through
 * environment variables and files, never by interpolation. Each piece below is written once and
 * composed into the scripts of every construct that needs it; all of it is POSIX sh (busybox ash, dash,
 * bash) and passes shellcheck.
 */

/** Strict mode, logging, and failures that also reach the termination message. */
const PRELUDE = String.raw`set -eu
termination_log=${'$'}{TERMINATION_LOG:-/dev/termination-log}
log() { printf '%s\n' "$*" >&2; }
die() {
  printf 'error: %s\n' "$*" >&2
  printf 'error: %s\n' "$*" >>"$termination_log" 2>/dev/null || true
  exit 1
}
require_env() {
  missing=''
  for name in "$@"; do
    eval "value=\${$name:-}"
    [ -n "$value" ] || missing="$missing $name"
  done
  [ -z "$missing" ] || die "missing required environment variable(s):$missing"
}
require_bool() {
  eval "value=\${$1:-}"
  case "$value" in
    true | false) ;;
    *) die "$1 must be true or false, got '$value'" ;;
  esac
}
`;

/** `download URL OUT [SHA256]`: https-only (unless ALLOW_INSECURE_HTTP=true), retried, verified. */
const DOWNLOAD = String.raw`download() {
  download_url=$1
  download_out=$2
  download_sha256=${'$'}{3:-}
  shown_url=${'$'}{download_url%%\?*}
  case "$download_url" in
    https://*) protocols='=https' ;;
    http://*)
      [ "${'$'}{ALLOW_INSECURE_HTTP:-false}" = true ] || die "refusing plain-http download of $shown_url; set ALLOW_INSECURE_HTTP=true to allow it"
      protocols='=https,http'
      ;;
    *) die "cannot download $shown_url: only https:// URLs (or http:// with ALLOW_INSECURE_HTTP=true) are supported" ;;
  esac
  log "downloading $shown_url"
  curl --fail --silent --show-error --location --proto "$protocols" --proto-redir "$protocols" \
    --retry "${'$'}{DOWNLOAD_RETRIES:-5}" --retry-connrefused --retry-delay 2 --retry-max-time 300 \
    --connect-timeout 10 --max-time "${'$'}{DOWNLOAD_TIMEOUT_SECONDS:-1800}" \
    --output "$download_out" "$download_url" || die "download of $shown_url failed (curl exit code $?)"
  download_size=$(wc -c <"$download_out" | tr -d ' ')
  if [ -n "$download_sha256" ]; then
    actual_sha256=$(sha256sum "$download_out" | cut -d ' ' -f 1)
    if [ "$actual_sha256" != "$download_sha256" ]; then
      rm -f "$download_out"
      die "sha256 mismatch for $shown_url: expected $download_sha256, got $actual_sha256"
    fi
    log "downloaded $download_size bytes, sha256 $actual_sha256 verified"
  else
    log "downloaded $download_size bytes (no sha256 given: content not verified)"
  fi
}
`;

/** `unpack_context ARCHIVE DIR`: unpacks a .tar.gz build context; the archive is left alone (it may be a read-only mount). */
const UNPACK_CONTEXT = String.raw`unpack_context() {
  mkdir -p "$2"
  tar -xzf "$1" -C "$2" || die "cannot unpack the build context: expected a gzip-compressed tar archive"
}
`;

/**
 * `select_by_index LIST NAME`: the line of LIST (newline-separated) at JOB_COMPLETION_INDEX (from 0), which
 * Kubernetes sets in every container of an Indexed Job's pod.
 */
const SELECT_BY_INDEX = String.raw`select_by_index() {
  case "${'$'}{JOB_COMPLETION_INDEX:-}" in
    '' | *[!0-9]*) die "JOB_COMPLETION_INDEX must be a whole number, got '${'$'}{JOB_COMPLETION_INDEX:-}' (is this an Indexed Job?)" ;;
  esac
  selected=$(printf '%s\n' "$1" | sed -n "$((JOB_COMPLETION_INDEX + 1))p")
  [ -n "$selected" ] || die "$2 has no entry for JOB_COMPLETION_INDEX $JOB_COMPLETION_INDEX"
  printf '%s\n' "$selected"
}
`;

/**
 * `prepare_context`: afterwards CONTEXT_DIR holds the build context, downloaded from BUILD_CONTEXT_URL,
 * unpacked from the mounted BUILD_CONTEXT_ARCHIVE (or the line of BUILD_CONTEXT_ARCHIVES at
 * JOB_COMPLETION_INDEX), or already mounted there; and DOCKERFILE_PATH is in it.
 */
const PREPARE_CONTEXT = String.raw`prepare_context() {
  require_env CONTEXT_DIR DOCKERFILE_PATH
  if [ -n "${'$'}{BUILD_CONTEXT_URL:-}" ]; then
    download "$BUILD_CONTEXT_URL" "$CONTEXT_DIR.tar.gz" "${'$'}{BUILD_CONTEXT_SHA256:-}"
    unpack_context "$CONTEXT_DIR.tar.gz" "$CONTEXT_DIR"
    rm -f "$CONTEXT_DIR.tar.gz"
  elif [ -n "${'$'}{BUILD_CONTEXT_ARCHIVES:-}" ]; then
    context_archive=$(select_by_index "$BUILD_CONTEXT_ARCHIVES" BUILD_CONTEXT_ARCHIVES)
    log "context $((JOB_COMPLETION_INDEX + 1)): $context_archive"
    unpack_context "$context_archive" "$CONTEXT_DIR"
  elif [ -n "${'$'}{BUILD_CONTEXT_ARCHIVE:-}" ]; then
    unpack_context "$BUILD_CONTEXT_ARCHIVE" "$CONTEXT_DIR"
  fi
  [ -f "$CONTEXT_DIR/$DOCKERFILE_PATH" ] || die "the build context has no $DOCKERFILE_PATH (DOCKERFILE_PATH is relative to the context root)"
  log "build context ready in $CONTEXT_DIR"
}
`;

/**
 * `archive_format PATH`: prints docker-archive (has manifest.json) or oci-archive (has an oci-layout entry and no
 * manifest.json). Docker 25+ `docker save` writes both, and with the containerd image store its OCI index may
 * name platforms whose blobs it left out (so `--all` fails); its manifest.json lists only what it holds.
 */
const ARCHIVE_FORMAT = String.raw`archive_format() {
  entries=$(tar -tf "$1") || die "cannot read $1 as a tar archive"
  for entry in $entries; do
    case "$entry" in
      manifest.json | ./manifest.json) echo docker-archive && return 0 ;;
    esac
  done
  for entry in $entries; do
    case "$entry" in
      oci-layout | ./oci-layout) echo oci-archive && return 0 ;;
    esac
  done
  die "$1 is neither an OCI archive (no oci-layout entry) nor a docker save archive (no manifest.json entry)"
}
`;

/**
 * skopeo helpers shared by promotion and archive pushes: settings from the environment, `repository_of`,
 * `manifest_digest` and `copy_to`, which copies the pinned source, checks and verifies the digest and
 * records `<destination>@<digest>` in the termination message.
 */
const SKOPEO = String.raw`: "${'$'}{RETRY_TIMES:=3}" "${'$'}{COPY_ALL_PLATFORMS:=true}" "${'$'}{PRESERVE_DIGESTS:=true}"
: "${'$'}{SOURCE_TLS_VERIFY:=true}" "${'$'}{DEST_TLS_VERIFY:=true}"
for flag in COPY_ALL_PLATFORMS PRESERVE_DIGESTS SOURCE_TLS_VERIFY DEST_TLS_VERIFY; do require_bool "$flag"; done
case "$RETRY_TIMES" in '' | *[!0-9]*) die "RETRY_TIMES must be a whole number, got '$RETRY_TIMES'" ;; esac
work_dir=$(mktemp -d "${'$'}{TMPDIR:-/tmp}/skopeo.XXXXXX")
trap 'rm -rf "$work_dir"' EXIT

# run_skopeo ARGS...: skopeo, with SKOPEO_POLICY as its signature policy when the image keeps it elsewhere.
run_skopeo() {
  if [ -n "${'$'}{SKOPEO_POLICY:-}" ]; then
    skopeo --policy "$SKOPEO_POLICY" "$@"
  else
    skopeo "$@"
  fi
}

# repository_of REF: the reference without its tag and digest.
repository_of() {
  without_digest=${'$'}{1%@*}
  case "${'$'}{without_digest##*/}" in
    *:*) printf '%s\n' "${'$'}{without_digest%:*}" ;;
    *) printf '%s\n' "$without_digest" ;;
  esac
}

# manifest_digest REF AUTH_FILE TLS_VERIFY: the digest of the manifest the registry serves for REF.
manifest_digest() {
  inspected_ref=$1
  inspect_auth_file=$2
  set -- --retry-times "$RETRY_TIMES" --tls-verify="$3"
  [ -z "$inspect_auth_file" ] || set -- "$@" --authfile "$inspect_auth_file"
  run_skopeo inspect --raw "$@" "docker://$inspected_ref" >"$work_dir/manifest" || die "cannot read the manifest of $inspected_ref (skopeo's message above)"
  printf 'sha256:%s\n' "$(sha256sum "$work_dir/manifest" | cut -d ' ' -f 1)"
}

# record REF DIGEST: one "<ref>@<digest>" line in the termination message.
record() {
  printf '%s@%s\n' "$1" "$2" >>"$termination_log"
  log "pushed $1@$2"
}

# verify_served REF DIGEST: the registry now serves DIGEST for REF's tag.
verify_served() {
  served_digest=$(manifest_digest "$1" "${'$'}{DEST_AUTH_FILE:-}" "$DEST_TLS_VERIFY")
  [ "$served_digest" = "$2" ] || die "verification failed: $1 serves $served_digest, expected $2"
}

# copy_to DESTINATION: copy pinned_source (repository@digest), check the digest (with PRESERVE_DIGESTS: the
# source's, or without COPY_ALL_PLATFORMS the one platform's the first copy selected), verify the tag, record it.
copy_to() {
  destination=$1
  set -- --retry-times "$RETRY_TIMES" --src-tls-verify="$SOURCE_TLS_VERIFY" --dest-tls-verify="$DEST_TLS_VERIFY" --digestfile "$work_dir/digest"
  [ "$COPY_ALL_PLATFORMS" = false ] || set -- "$@" --all
  [ "$PRESERVE_DIGESTS" = false ] || set -- "$@" --preserve-digests
  [ -z "${'$'}{SOURCE_AUTH_FILE:-}" ] || set -- "$@" --src-authfile "$SOURCE_AUTH_FILE"
  [ -z "${'$'}{DEST_AUTH_FILE:-}" ] || set -- "$@" --dest-authfile "$DEST_AUTH_FILE"
  log "copying $pinned_source to $destination"
  rm -f "$work_dir/digest"
  run_skopeo copy "$@" "docker://$pinned_source" "docker://$destination" || die "copy of $pinned_source to $destination failed (skopeo's message above)"
  written_digest=$(cat "$work_dir/digest")
  if [ "$PRESERVE_DIGESTS" = true ]; then
    # --all copies the source's manifest unchanged; without it skopeo copies one platform's manifest of an
    # index (unchanged), the same one for every destination: the first destination's digest is the expected one
    if [ "$COPY_ALL_PLATFORMS" = true ]; then
      expected_digest=$source_digest
    else
      expected_digest=${'$'}{selected_digest:=$written_digest}
    fi
    [ "$written_digest" = "$expected_digest" ] || die "$destination received digest $written_digest, expected $expected_digest"
  fi
  verify_served "$destination" "$written_digest"
  record "$destination" "$written_digest"
}

# first_destination: seed 000's HARBOR_REGISTRY/[HARBOR_PROJECT/]HARBOR_IMAGE_NAME:HARBOR_IMAGE_TAG.
first_destination() {
  require_env HARBOR_REGISTRY HARBOR_IMAGE_NAME HARBOR_IMAGE_TAG
  printf '%s\n' "$HARBOR_REGISTRY/${'$'}{HARBOR_PROJECT:+$HARBOR_PROJECT/}$HARBOR_IMAGE_NAME:$HARBOR_IMAGE_TAG"
}
`;

/**
 * `promote_image`: copies one image by digest to every destination. Source: SOURCE_IMAGE, or
 * INTERMEDIATE_REGISTRY_URL/BUILD_IMAGE_NAME at the digest in SOURCE_DIGEST_FILE (written by the build
 * step). A source without a digest is resolved once; every copy then uses that digest. Destinations: the
 * first destination, then ADDITIONAL_DESTINATIONS.
 */
const PROMOTE = String.raw`promote_image() {
  if [ -n "${'$'}{SOURCE_IMAGE:-}" ]; then
    source_ref=$SOURCE_IMAGE
  else
    require_env INTERMEDIATE_REGISTRY_URL BUILD_IMAGE_NAME SOURCE_DIGEST_FILE
    [ -s "$SOURCE_DIGEST_FILE" ] || die "no digest in $SOURCE_DIGEST_FILE: the build step did not record what it pushed"
    source_ref="$INTERMEDIATE_REGISTRY_URL/$BUILD_IMAGE_NAME@$(cat "$SOURCE_DIGEST_FILE")"
  fi
  case "$source_ref" in
    *@*) source_digest=${'$'}{source_ref##*@} ;;
    *)
      log "$source_ref has no digest: resolving it once; every copy uses that digest"
      source_digest=$(manifest_digest "$source_ref" "${'$'}{SOURCE_AUTH_FILE:-}" "$SOURCE_TLS_VERIFY")
      ;;
  esac
  case "$source_digest" in
    sha256:*) [ ${'$'}{#source_digest} -eq 71 ] || die "malformed source digest '$source_digest'" ;;
    *) die "malformed source digest '$source_digest'" ;;
  esac
  pinned_source="$(repository_of "$source_ref")@$source_digest"
  promotion_first=$(first_destination)
  copy_to "$promotion_first"
  for destination in ${'$'}{ADDITIONAL_DESTINATIONS:-}; do
    copy_to "$destination"
  done
  log "promoted $pinned_source"
}
`;

/**
 * `push_archive PATH FORMAT`: pushes an image archive to the first destination (the registry computes the
 * digest), verifies it, then copies that digest to ADDITIONAL_DESTINATIONS. OCI archives keep their
 * manifest digest; docker archives get a new manifest, so the digest is whatever the registry holds.
 */
const PUSH_ARCHIVE = String.raw`push_archive() {
  push_path=$1
  push_format=$2
  push_first=$(first_destination)
  set -- --retry-times "$RETRY_TIMES" --dest-tls-verify="$DEST_TLS_VERIFY" --digestfile "$work_dir/digest"
  [ -z "${'$'}{DEST_AUTH_FILE:-}" ] || set -- "$@" --dest-authfile "$DEST_AUTH_FILE"
  case "$push_format" in
    oci-archive) set -- "$@" --all --preserve-digests ;;
    docker-archive) ;;
    *) die "unknown archive format '$push_format' (oci-archive or docker-archive)" ;;
  esac
  log "pushing $push_format $push_path to $push_first"
  run_skopeo copy "$@" "$push_format:$push_path" "docker://$push_first" || die "push of $push_path to $push_first failed (skopeo's message above)"
  source_digest=$(cat "$work_dir/digest")
  verify_served "$push_first" "$source_digest"
  record "$push_first" "$source_digest"
  # the others are copies of what the registry now holds, by digest, with the destination's credentials
  pinned_source="$(repository_of "$push_first")@$source_digest"
  SOURCE_AUTH_FILE=${'$'}{DEST_AUTH_FILE:-}
  SOURCE_TLS_VERIFY=$DEST_TLS_VERIFY
  for destination in ${'$'}{ADDITIONAL_DESTINATIONS:-}; do
    copy_to "$destination"
  done
}
`;

/**
 * Prepares the build context in CONTEXT_DIR (see `prepare_context`): downloads and verifies BUILD_CONTEXT_URL,
 * or unpacks a mounted archive, and checks the Dockerfile is there.
 */
export const FETCH_CONTEXT_SCRIPT = `${PRELUDE}${DOWNLOAD}${UNPACK_CONTEXT}${SELECT_BY_INDEX}${PREPARE_CONTEXT}${String.raw`
prepare_context
`}`;

/**
 * The build container of an Indexed KanikoBuildBatch (kaniko's debug image, busybox sh): picks the context's
 * name, destinations (space-separated) and cache repository at JOB_COMPLETION_INDEX from CONTEXT_NAMES,
 * INDEXED_DESTINATIONS and INDEXED_CACHE_REPOS (one line per context), then runs the executor with the
 * script's arguments (the shared flags) plus those.
 */
export const KANIKO_INDEXED_BUILD_SCRIPT = `${PRELUDE}${SELECT_BY_INDEX}${String.raw`
require_env CONTEXT_NAMES INDEXED_DESTINATIONS
context_name=$(select_by_index "$CONTEXT_NAMES" CONTEXT_NAMES)
destinations=$(select_by_index "$INDEXED_DESTINATIONS" INDEXED_DESTINATIONS)
for destination in $destinations; do
  set -- "$@" "--destination=$destination"
done
if [ -n "${'$'}{INDEXED_CACHE_REPOS:-}" ]; then
  cache_repo=$(select_by_index "$INDEXED_CACHE_REPOS" INDEXED_CACHE_REPOS)
  set -- "$@" --cache=true "--cache-repo=$cache_repo"
fi
log "building context $context_name for $destinations"
exec "${'$'}{KANIKO_EXECUTOR:-/kaniko/executor}" "$@"
`}`;

/**
 * Downloads IMAGE_TAR_URL to ARCHIVE_PATH (verifying IMAGE_TAR_SHA256) when set, and with ARCHIVE_FORMAT=auto
 * writes the detected format to ARCHIVE_FORMAT_FILE.
 */
export const FETCH_ARCHIVE_SCRIPT = `${PRELUDE}${DOWNLOAD}${ARCHIVE_FORMAT}${String.raw`
require_env ARCHIVE_PATH ARCHIVE_FORMAT
if [ -n "${'$'}{IMAGE_TAR_URL:-}" ]; then
  download "$IMAGE_TAR_URL" "$ARCHIVE_PATH" "${'$'}{IMAGE_TAR_SHA256:-}"
fi
[ -f "$ARCHIVE_PATH" ] || die "no image archive at $ARCHIVE_PATH"
if [ "$ARCHIVE_FORMAT" = auto ]; then
  require_env ARCHIVE_FORMAT_FILE
  archive_format "$ARCHIVE_PATH" >"$ARCHIVE_FORMAT_FILE"
  log "detected $(cat "$ARCHIVE_FORMAT_FILE") in $ARCHIVE_PATH"
fi
`}`;

/**
 * Writes a docker config.json for AUTH_REGISTRIES (space-separated host[:port]) from HARBOR_USERNAME and
 * HARBOR_PASSWORD to AUTH_FILE, mode 0600. The password only passes through the shell's builtin printf
 * and base64's standard input, so it never appears in any process's arguments.
 */
export const COMPOSE_AUTH_SCRIPT = `${PRELUDE}${String.raw`
require_env AUTH_FILE AUTH_REGISTRIES HARBOR_USERNAME HARBOR_PASSWORD
umask 077
# Credential 0 is HARBOR_USERNAME/HARBOR_PASSWORD for AUTH_REGISTRIES; credential i (1..AUTH_MORE_CREDENTIALS) is
# HARBOR_USERNAME_i/HARBOR_PASSWORD_i for AUTH_REGISTRIES_i: each is written under its own registries only.
more=${'$'}{AUTH_MORE_CREDENTIALS:-0}
case "$more" in ''|*[!0-9]*) die "AUTH_MORE_CREDENTIALS must be a number, got '$more'" ;; esac
i=1
while [ "$i" -le "$more" ]; do
  require_env "AUTH_REGISTRIES_$i" "HARBOR_USERNAME_$i" "HARBOR_PASSWORD_$i"
  i=$((i + 1))
done
separator=''
write_entries() { # registries username password
  auth_token=$(printf '%s:%s' "$2" "$3" | base64 | tr -d '\n')
  for registry in $1; do
    printf '%s"%s":{"auth":"%s"}' "$separator" "$registry" "$auth_token"
    separator=','
  done
}
{
  printf '{"auths":{'
  write_entries "$AUTH_REGISTRIES" "$HARBOR_USERNAME" "$HARBOR_PASSWORD"
  i=1
  while [ "$i" -le "$more" ]; do
    eval 'write_entries "$AUTH_REGISTRIES_'"$i"'" "$HARBOR_USERNAME_'"$i"'" "$HARBOR_PASSWORD_'"$i"'"'
    i=$((i + 1))
  done
  printf '}}\n'
} >"$AUTH_FILE.tmp"
mv -f "$AUTH_FILE.tmp" "$AUTH_FILE"
log "wrote $((more + 1)) credential(s), each for its own registries, to $AUTH_FILE (mode 0600)"
`}`;

/** Promotes one image by digest to every destination with skopeo and verifies each (see `promote_image`). */
export const PROMOTE_SCRIPT = `${PRELUDE}${SKOPEO}${PROMOTE}${String.raw`
: >"$termination_log"
promote_image
`}`;

/** Pushes the archive at ARCHIVE_PATH (format ARCHIVE_FORMAT, or the one in ARCHIVE_FORMAT_FILE) to every destination. */
export const PUSH_ARCHIVE_SCRIPT = `${PRELUDE}${SKOPEO}${PUSH_ARCHIVE}${String.raw`
require_env ARCHIVE_PATH ARCHIVE_FORMAT
detected_format=$ARCHIVE_FORMAT
if [ "$detected_format" = auto ]; then
  require_env ARCHIVE_FORMAT_FILE
  detected_format=$(cat "$ARCHIVE_FORMAT_FILE")
fi
: >"$termination_log"
push_archive "$ARCHIVE_PATH" "$detected_format"
`}`;

/** Seed 000's `init-determine-action`: maps JOB_TYPE to the action the main container runs. */
export const DETERMINE_ACTION_SCRIPT = `${PRELUDE}${String.raw`
require_env JOB_TYPE ACTION_FILE
case "$JOB_TYPE" in
  build_and_push) action=build ;;
  push_tar) action=push_tar ;;
  *) die "unknown JOB_TYPE '$JOB_TYPE': expected build_and_push or push_tar" ;;
esac
printf '%s\n' "$action" >"$ACTION_FILE"
log "JOB_TYPE $JOB_TYPE: action $action"
`}`;

/**
 * Seed 000's `main-task-executor`: reads the action from ACTION_FILE and runs it with the tools of one
 * combined image. build: prepare the context (`prepare_context`: BUILD_CONTEXT_URL, a mounted archive or directory), kaniko builds and pushes to the intermediate
 * registry (extra flags in KANIKO_ARGS, one per line), then the digest is promoted. push_tar: download
 * IMAGE_TAR_URL (or use ARCHIVE_PATH), detect its format, push it.
 */
export const UNIFIED_SCRIPT = `${PRELUDE}${DOWNLOAD}${UNPACK_CONTEXT}${SELECT_BY_INDEX}${PREPARE_CONTEXT}${ARCHIVE_FORMAT}${SKOPEO}${PROMOTE}${PUSH_ARCHIVE}${String.raw`
build_with_kaniko() {
  require_env DOCKERFILE_PATH INTERMEDIATE_REGISTRY_URL BUILD_IMAGE_NAME BUILD_IMAGE_TAG CONTEXT_DIR SOURCE_DIGEST_FILE
  prepare_context
  set -- --context="dir://$CONTEXT_DIR" --dockerfile="$CONTEXT_DIR/$DOCKERFILE_PATH" \
    --destination="$INTERMEDIATE_REGISTRY_URL/$BUILD_IMAGE_NAME:$BUILD_IMAGE_TAG" --digest-file="$SOURCE_DIGEST_FILE"
  set -f
  saved_ifs=$IFS
  IFS='
'
  for kaniko_arg in ${'$'}{KANIKO_ARGS:-}; do
    set -- "$@" "$kaniko_arg"
  done
  IFS=$saved_ifs
  set +f
  log "building $INTERMEDIATE_REGISTRY_URL/$BUILD_IMAGE_NAME:$BUILD_IMAGE_TAG"
  "${'$'}{KANIKO_EXECUTOR:-/kaniko/executor}" "$@" || die "kaniko failed (exit code $?)"
}

require_env ACTION_FILE
[ -s "$ACTION_FILE" ] || die "no action in $ACTION_FILE: init-determine-action did not run"
action=$(cat "$ACTION_FILE")
: >"$termination_log"
case "$action" in
  build)
    build_with_kaniko
    promote_image
    ;;
  push_tar)
    require_env ARCHIVE_PATH
    if [ -n "${'$'}{IMAGE_TAR_URL:-}" ]; then
      download "$IMAGE_TAR_URL" "$ARCHIVE_PATH" "${'$'}{IMAGE_TAR_SHA256:-}"
    fi
    [ -f "$ARCHIVE_PATH" ] || die "no image archive at $ARCHIVE_PATH"
    detected_format=${'$'}{ARCHIVE_FORMAT:-auto}
    [ "$detected_format" != auto ] || detected_format=$(archive_format "$ARCHIVE_PATH")
    push_archive "$ARCHIVE_PATH" "$detected_format"
    ;;
  *) die "unknown action '$action' in $ACTION_FILE" ;;
esac
`}`;

/**
 * Runs `buildctl-daemonless.sh build "$@" --metadata-file "$METADATA_FILE"` (the flags arrive as the
 * script's arguments, never as shell text), reads `containerimage.digest` from the metadata, and writes
 * "<reference>@<digest>" lines to the termination message: DESTINATIONS (what the pipeline asked for, on
 * the upstream registry) first, then PROXY_DESTINATIONS (the names actually pushed, through the proxy).
 */
export const BUILDKIT_BUILD_SCRIPT = `${PRELUDE}${String.raw`
require_env METADATA_FILE DESTINATIONS PROXY_DESTINATIONS
rm -f "$METADATA_FILE"
log "building with buildctl-daemonless.sh; pushing $PROXY_DESTINATIONS"
buildctl-daemonless.sh build "$@" --metadata-file "$METADATA_FILE" || die "buildctl build failed with exit code $? (BuildKit's message above)"
[ -s "$METADATA_FILE" ] || die "buildctl wrote no metadata to $METADATA_FILE"
digest=$(grep -o '"containerimage\.digest": *"sha256:[a-f0-9]*"' "$METADATA_FILE" | grep -o 'sha256:[a-f0-9]*' | head -n 1)
case "$digest" in
  sha256:*) [ ${'$'}{#digest} -eq 71 ] || die "malformed containerimage.digest '$digest' in $METADATA_FILE" ;;
  *) die "no containerimage.digest in $METADATA_FILE: was the image pushed?" ;;
esac
: >"$termination_log"
for reference in $DESTINATIONS $PROXY_DESTINATIONS; do
  printf '%s@%s\n' "$reference" "$digest" >>"$termination_log"
done
log "pushed $digest"
`}`;

/**
 * Builds CONTEXT_DIR/DOCKERFILE_PATH with `buildah bud --isolation chroot "$@"` (the build flags arrive as
 * the script's arguments, never as shell text), pushes the image to the first destination
 * (INTERMEDIATE_REGISTRY_URL/BUILD_IMAGE_NAME:BUILD_IMAGE_TAG) and ADDITIONAL_DESTINATIONS with
 * `--digestfile`, fails unless every destination received the same digest, and writes
 * "<destination>@<digest>" lines to the termination message and the bare digest to DIGEST_FILE.
 *
 * Settings are written first to CONTAINERS_STORAGE_CONF, CONTAINERS_REGISTRIES_CONF and CONTAINERS_CONF (the
 * paths buildah reads), so the image's own files never decide them and nothing is written to its /etc:
 * STORAGE_DRIVER (vfs or kernel overlay) in STORAGE_ROOT, short names resolved on docker.io,
 * INSECURE_REGISTRIES over plain http, RUN_CAPABILITIES for RUN steps, network locks in STORAGE_ROOT.
 */
export const BUILDAH_BUILD_SCRIPT = `${PRELUDE}${String.raw`
require_env CONTEXT_DIR DOCKERFILE_PATH INTERMEDIATE_REGISTRY_URL BUILD_IMAGE_NAME BUILD_IMAGE_TAG DIGEST_FILE
require_env STORAGE_DRIVER STORAGE_ROOT CONTAINERS_STORAGE_CONF CONTAINERS_REGISTRIES_CONF CONTAINERS_CONF RUN_CAPABILITIES
case "$STORAGE_DRIVER" in
  vfs | overlay) ;;
  *) die "STORAGE_DRIVER must be vfs or overlay, got '$STORAGE_DRIVER'" ;;
esac
[ -f "$CONTEXT_DIR/$DOCKERFILE_PATH" ] || die "the build context has no $DOCKERFILE_PATH (DOCKERFILE_PATH is relative to the context root)"
mkdir -p "$STORAGE_ROOT/storage" "$STORAGE_ROOT/run" "$STORAGE_ROOT/tmp"
# no mount_program: overlay means the kernel's overlayfs (the upstream image points it at fuse-overlayfs).
{
  printf '[storage]\ndriver = "%s"\ngraphroot = "%s/storage"\nrunroot = "%s/run"\n' "$STORAGE_DRIVER" "$STORAGE_ROOT" "$STORAGE_ROOT"
  [ "$STORAGE_DRIVER" != overlay ] || printf '[storage.options.overlay]\nmountopt = "nodev"\n'
} >"$CONTAINERS_STORAGE_CONF"
{
  printf 'unqualified-search-registries = ["docker.io"]\n'
  for registry in ${'$'}{INSECURE_REGISTRIES:-}; do
    case "$registry" in
      *[!A-Za-z0-9.:-]*) die "INSECURE_REGISTRIES must hold host[:port] names, got '$registry'" ;;
    esac
    printf '[[registry]]\nlocation = "%s"\ninsecure = true\n' "$registry"
  done
} >"$CONTAINERS_REGISTRIES_CONF"
# RUN steps get exactly RUN_CAPABILITIES (each must be in the container's bounding set, or every RUN fails);
# buildah keeps network locks even with chroot isolation: keep them out of the image's /etc.
{
  printf '[containers]\ndefault_capabilities = ['
  separator=''
  for capability in $RUN_CAPABILITIES; do
    case "$capability" in
      *[!A-Z_]*) die "RUN_CAPABILITIES must hold capability names such as CHOWN, got '$capability'" ;;
    esac
    printf '%s"%s"' "$separator" "$capability"
    separator=', '
  done
  printf ']\n[network]\nnetwork_config_dir = "%s/networks"\n' "$STORAGE_ROOT"
} >"$CONTAINERS_CONF"
TMPDIR=$STORAGE_ROOT/tmp
export TMPDIR
work_dir=$(mktemp -d "$TMPDIR/build.XXXXXX")

first="$INTERMEDIATE_REGISTRY_URL/$BUILD_IMAGE_NAME:$BUILD_IMAGE_TAG"
log "building $CONTEXT_DIR/$DOCKERFILE_PATH with buildah ($STORAGE_DRIVER storage, chroot isolation)"
buildah bud --isolation chroot --iidfile "$work_dir/image-id" "$@" --file "$CONTEXT_DIR/$DOCKERFILE_PATH" "$CONTEXT_DIR" ||
  die "buildah bud failed with exit code $? (buildah's message above)"
image_id=$(cat "$work_dir/image-id")
: >"$termination_log"
digest=''
for destination in "$first" ${'$'}{ADDITIONAL_DESTINATIONS:-}; do
  log "pushing $destination"
  rm -f "$work_dir/digest"
  buildah push --digestfile "$work_dir/digest" "$image_id" "docker://$destination" ||
    die "push to $destination failed with exit code $? (buildah's message above)"
  pushed=$(cat "$work_dir/digest")
  case "$pushed" in
    sha256:*) [ ${'$'}{#pushed} -eq 71 ] || die "malformed digest '$pushed' from the push to $destination" ;;
    *) die "malformed digest '$pushed' from the push to $destination" ;;
  esac
  [ -n "$digest" ] || digest=$pushed
  [ "$pushed" = "$digest" ] || die "$destination received digest $pushed but $first received $digest"
  printf '%s@%s\n' "$destination" "$pushed" >>"$termination_log"
done
printf '%s\n' "$digest" >"$DIGEST_FILE"
log "pushed $digest"
`}`;
