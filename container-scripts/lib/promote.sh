promote_image() {
  if [ -n "${SOURCE_IMAGE:-}" ]; then
    source_ref=$SOURCE_IMAGE
  else
    require_env INTERMEDIATE_REGISTRY_URL BUILD_IMAGE_NAME SOURCE_DIGEST_FILE
    [ -s "$SOURCE_DIGEST_FILE" ] || die "no digest in $SOURCE_DIGEST_FILE: the build step did not record what it pushed"
    source_ref="$INTERMEDIATE_REGISTRY_URL/$BUILD_IMAGE_NAME@$(cat "$SOURCE_DIGEST_FILE")"
  fi
  case "$source_ref" in
    *@*) source_digest=${source_ref##*@} ;;
    *)
      log "$source_ref has no digest: resolving it once; every copy uses that digest"
      source_digest=$(manifest_digest "$source_ref" "${SOURCE_AUTH_FILE:-}" "$SOURCE_TLS_VERIFY")
      ;;
  esac
  case "$source_digest" in
    sha256:*) [ ${#source_digest} -eq 71 ] || die "malformed source digest '$source_digest'" ;;
    *) die "malformed source digest '$source_digest'" ;;
  esac
  pinned_source="$(repository_of "$source_ref")@$source_digest"
  promotion_first=$(first_destination)
  copy_to "$promotion_first"
  for destination in ${ADDITIONAL_DESTINATIONS:-}; do
    copy_to "$destination"
  done
  log "promoted $pinned_source"
}
