
build_with_kaniko() {
  require_env DOCKERFILE_PATH INTERMEDIATE_REGISTRY_URL BUILD_IMAGE_NAME BUILD_IMAGE_TAG CONTEXT_DIR SOURCE_DIGEST_FILE
  prepare_context
  set -- --context="dir://$CONTEXT_DIR" --dockerfile="$CONTEXT_DIR/$DOCKERFILE_PATH" \
    --destination="$INTERMEDIATE_REGISTRY_URL/$BUILD_IMAGE_NAME:$BUILD_IMAGE_TAG" --digest-file="$SOURCE_DIGEST_FILE"
  set -f
  saved_ifs=$IFS
  IFS='
'
  for kaniko_arg in ${KANIKO_ARGS:-}; do
    set -- "$@" "$kaniko_arg"
  done
  IFS=$saved_ifs
  set +f
  log "building $INTERMEDIATE_REGISTRY_URL/$BUILD_IMAGE_NAME:$BUILD_IMAGE_TAG"
  "${KANIKO_EXECUTOR:-/kaniko/executor}" "$@" || die "kaniko failed (exit code $?)"
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
    if [ -n "${IMAGE_TAR_URL:-}" ]; then
      download "$IMAGE_TAR_URL" "$ARCHIVE_PATH" "${IMAGE_TAR_SHA256:-}"
    fi
    [ -f "$ARCHIVE_PATH" ] || die "no image archive at $ARCHIVE_PATH"
    detected_format=${ARCHIVE_FORMAT:-auto}
    [ "$detected_format" != auto ] || detected_format=$(archive_format "$ARCHIVE_PATH")
    push_archive "$ARCHIVE_PATH" "$detected_format"
    ;;
  *) die "unknown action '$action' in $ACTION_FILE" ;;
esac
