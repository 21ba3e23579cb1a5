: >"$termination_log"
for reference in $DESTINATIONS; do
  printf '%s@%s\n' "$reference" "$digest" >>"$termination_log"
done
# PLATFORMS: BuildKit's metadata names only the index; its entries are read from the index itself, which BuildKit
# keeps in its content store under BUILDKIT_STATE_DIR (checked against the digest: exactly the bytes it pushed)
if [ -n "${PLATFORMS:-}" ]; then
  require_env BUILDKIT_STATE_DIR
  index_file=''
  for blob in "$BUILDKIT_STATE_DIR"/runc-*/content/blobs/sha256/"${digest#sha256:}"; do
    [ ! -f "$blob" ] || index_file=$blob
  done
  [ -n "$index_file" ] || die "the pushed image index $digest is not in BuildKit's content store under $BUILDKIT_STATE_DIR"
  index_sum=$(sha256sum <"$index_file")
  [ "sha256:${index_sum%% *}" = "$digest" ] || die "$index_file is not the pushed image index $digest (its sha256 is ${index_sum%% *})"
  # one platform gives a single image, not an index: the destination lines already carry its manifest digest
  first=${DESTINATIONS%% *}
  ! grep -q '"manifests"' "$index_file" || record_platform_digests "$index_file" "${first%:*}"
fi
printf '%s\n' "$digest" >"$DIGEST_FILE"
log "pushed $digest"
