push_archive() {
  push_path=$1
  push_format=$2
  push_first=$(first_destination)
  set -- --retry-times "$RETRY_TIMES" --dest-tls-verify="$DEST_TLS_VERIFY" --digestfile "$work_dir/digest"
  [ -z "${DEST_AUTH_FILE:-}" ] || set -- "$@" --dest-authfile "$DEST_AUTH_FILE"
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
  SOURCE_AUTH_FILE=${DEST_AUTH_FILE:-}
  SOURCE_TLS_VERIFY=$DEST_TLS_VERIFY
  for destination in ${ADDITIONAL_DESTINATIONS:-}; do
    copy_to "$destination"
  done
}
