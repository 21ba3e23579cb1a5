: "${RETRY_TIMES:=3}" "${COPY_ALL_PLATFORMS:=true}" "${PRESERVE_DIGESTS:=true}"
: "${SOURCE_TLS_VERIFY:=true}" "${DEST_TLS_VERIFY:=true}"
for flag in COPY_ALL_PLATFORMS PRESERVE_DIGESTS SOURCE_TLS_VERIFY DEST_TLS_VERIFY; do require_bool "$flag"; done
case "$RETRY_TIMES" in '' | *[!0-9]*) die "RETRY_TIMES must be a whole number, got '$RETRY_TIMES'" ;; esac
work_dir=$(mktemp -d "${TMPDIR:-/tmp}/skopeo.XXXXXX")
trap 'rm -rf "$work_dir"' EXIT

# run_skopeo ARGS...: skopeo, with SKOPEO_POLICY as its signature policy when the image keeps it elsewhere.
run_skopeo() {
  if [ -n "${SKOPEO_POLICY:-}" ]; then
    skopeo --policy "$SKOPEO_POLICY" "$@"
  else
    skopeo "$@"
  fi
}

# repository_of REF: the reference without its tag and digest.
repository_of() {
  without_digest=${1%@*}
  case "${without_digest##*/}" in
    *:*) printf '%s\n' "${without_digest%:*}" ;;
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
  served_digest=$(manifest_digest "$1" "${DEST_AUTH_FILE:-}" "$DEST_TLS_VERIFY")
  [ "$served_digest" = "$2" ] || die "verification failed: $1 serves $served_digest, expected $2"
}

# copy_to DESTINATION: copy pinned_source (repository@digest), check the digest (with PRESERVE_DIGESTS: the
# source's, or without COPY_ALL_PLATFORMS the one platform's the first copy selected), verify the tag, record it.
copy_to() {
  destination=$1
  set -- --retry-times "$RETRY_TIMES" --src-tls-verify="$SOURCE_TLS_VERIFY" --dest-tls-verify="$DEST_TLS_VERIFY" --digestfile "$work_dir/digest"
  [ "$COPY_ALL_PLATFORMS" = false ] || set -- "$@" --all
  [ "$PRESERVE_DIGESTS" = false ] || set -- "$@" --preserve-digests
  [ -z "${SOURCE_AUTH_FILE:-}" ] || set -- "$@" --src-authfile "$SOURCE_AUTH_FILE"
  [ -z "${DEST_AUTH_FILE:-}" ] || set -- "$@" --dest-authfile "$DEST_AUTH_FILE"
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
      expected_digest=${selected_digest:=$written_digest}
    fi
    [ "$written_digest" = "$expected_digest" ] || die "$destination received digest $written_digest, expected $expected_digest"
  fi
  verify_served "$destination" "$written_digest"
  record "$destination" "$written_digest"
}

# first_destination: seed 000's HARBOR_REGISTRY/[HARBOR_PROJECT/]HARBOR_IMAGE_NAME:HARBOR_IMAGE_TAG.
first_destination() {
  require_env HARBOR_REGISTRY HARBOR_IMAGE_NAME HARBOR_IMAGE_TAG
  printf '%s\n' "$HARBOR_REGISTRY/${HARBOR_PROJECT:+$HARBOR_PROJECT/}$HARBOR_IMAGE_NAME:$HARBOR_IMAGE_TAG"
}
