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

/** Downloads BUILD_CONTEXT_URL, verifies it, unpacks it into CONTEXT_DIR and checks the Dockerfile is there. */
export const FETCH_CONTEXT_SCRIPT = `${PRELUDE}${DOWNLOAD}${String.raw`
require_env BUILD_CONTEXT_URL CONTEXT_DIR DOCKERFILE_PATH
context_archive="$CONTEXT_DIR.tar.gz"
download "$BUILD_CONTEXT_URL" "$context_archive" "${'$'}{BUILD_CONTEXT_SHA256:-}"
mkdir -p "$CONTEXT_DIR"
tar -xzf "$context_archive" -C "$CONTEXT_DIR" || die "cannot unpack the build context: expected a gzip-compressed tar archive"
rm -f "$context_archive"
[ -f "$CONTEXT_DIR/$DOCKERFILE_PATH" ] || die "the build context has no $DOCKERFILE_PATH (DOCKERFILE_PATH is relative to the context root)"
log "build context ready in $CONTEXT_DIR"
`}`;

/**
 * Writes a docker config.json for AUTH_REGISTRIES (space-separated host[:port]) from HARBOR_USERNAME and
 * HARBOR_PASSWORD to AUTH_FILE, mode 0600. The password only passes through the shell's builtin printf
 * and base64's standard input, so it never appears in any process's arguments.
 */
export const COMPOSE_AUTH_SCRIPT = `${PRELUDE}${String.raw`
require_env AUTH_FILE AUTH_REGISTRIES HARBOR_USERNAME HARBOR_PASSWORD
umask 077
auth_token=$(printf '%s:%s' "$HARBOR_USERNAME" "$HARBOR_PASSWORD" | base64 | tr -d '\n')
{
  printf '{"auths":{'
  separator=''
  for registry in $AUTH_REGISTRIES; do
    printf '%s"%s":{"auth":"%s"}' "$separator" "$registry" "$auth_token"
    separator=','
  done
  printf '}}\n'
} >"$AUTH_FILE.tmp"
mv -f "$AUTH_FILE.tmp" "$AUTH_FILE"
log "wrote credentials for $AUTH_REGISTRIES to $AUTH_FILE (mode 0600)"
`}`;

/**
 * Promotes one image by digest to every destination with skopeo and verifies each.
 *
 * Source: SOURCE_IMAGE, or INTERMEDIATE_REGISTRY_URL/BUILD_IMAGE_NAME at the digest in SOURCE_DIGEST_FILE
 * (written by the build step). A source without a digest is resolved once; every copy then uses that digest.
 * Destinations: HARBOR_REGISTRY/[HARBOR_PROJECT/]HARBOR_IMAGE_NAME:HARBOR_IMAGE_TAG, then ADDITIONAL_DESTINATIONS.
 * Writes "<destination>@<digest>" lines to the termination message.
 */
export const PROMOTE_SCRIPT = `${PRELUDE}${String.raw`
: "${'$'}{RETRY_TIMES:=3}" "${'$'}{COPY_ALL_PLATFORMS:=true}" "${'$'}{PRESERVE_DIGESTS:=true}"
: "${'$'}{SOURCE_TLS_VERIFY:=true}" "${'$'}{DEST_TLS_VERIFY:=true}"
for flag in COPY_ALL_PLATFORMS PRESERVE_DIGESTS SOURCE_TLS_VERIFY DEST_TLS_VERIFY; do require_bool "$flag"; done
case "$RETRY_TIMES" in '' | *[!0-9]*) die "RETRY_TIMES must be a whole number, got '$RETRY_TIMES'" ;; esac
work_dir=$(mktemp -d "${'$'}{TMPDIR:-/tmp}/promote.XXXXXX")
trap 'rm -rf "$work_dir"' EXIT

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
  skopeo inspect --raw "$@" "docker://$inspected_ref" >"$work_dir/manifest" || die "cannot read the manifest of $inspected_ref (skopeo's message above)"
  printf 'sha256:%s\n' "$(sha256sum "$work_dir/manifest" | cut -d ' ' -f 1)"
}

# copy_to DESTINATION: copy the pinned source, check the digest, verify the tag, record the result.
copy_to() {
  destination=$1
  set -- --retry-times "$RETRY_TIMES" --src-tls-verify="$SOURCE_TLS_VERIFY" --dest-tls-verify="$DEST_TLS_VERIFY" --digestfile "$work_dir/digest"
  [ "$COPY_ALL_PLATFORMS" = false ] || set -- "$@" --all
  [ "$PRESERVE_DIGESTS" = false ] || set -- "$@" --preserve-digests
  [ -z "${'$'}{SOURCE_AUTH_FILE:-}" ] || set -- "$@" --src-authfile "$SOURCE_AUTH_FILE"
  [ -z "${'$'}{DEST_AUTH_FILE:-}" ] || set -- "$@" --dest-authfile "$DEST_AUTH_FILE"
  log "copying $pinned_source to $destination"
  rm -f "$work_dir/digest"
  skopeo copy "$@" "docker://$pinned_source" "docker://$destination" || die "copy of $pinned_source to $destination failed (skopeo's message above)"
  written_digest=$(cat "$work_dir/digest")
  if [ "$PRESERVE_DIGESTS" = true ] && [ "$written_digest" != "$source_digest" ]; then
    die "$destination received digest $written_digest, expected $source_digest"
  fi
  served_digest=$(manifest_digest "$destination" "${'$'}{DEST_AUTH_FILE:-}" "$DEST_TLS_VERIFY")
  [ "$served_digest" = "$written_digest" ] || die "verification failed: $destination serves $served_digest, expected $written_digest"
  printf '%s@%s\n' "$destination" "$written_digest" >>"$termination_log"
  log "promoted $destination@$written_digest"
}

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

require_env HARBOR_REGISTRY HARBOR_IMAGE_NAME HARBOR_IMAGE_TAG
: >"$termination_log"
copy_to "$HARBOR_REGISTRY/${'$'}{HARBOR_PROJECT:+$HARBOR_PROJECT/}$HARBOR_IMAGE_NAME:$HARBOR_IMAGE_TAG"
for destination in ${'$'}{ADDITIONAL_DESTINATIONS:-}; do
  copy_to "$destination"
done
log "promoted $pinned_source"
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
