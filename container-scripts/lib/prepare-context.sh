prepare_context() {
  require_env CONTEXT_DIR DOCKERFILE_PATH
  if [ -n "${BUILD_CONTEXT_URL:-}" ]; then
    download "$BUILD_CONTEXT_URL" "$CONTEXT_DIR.tar.gz" "${BUILD_CONTEXT_SHA256:-}"
    unpack_context "$CONTEXT_DIR.tar.gz" "$CONTEXT_DIR"
    rm -f "$CONTEXT_DIR.tar.gz"
  elif [ -n "${BUILD_CONTEXT_ARCHIVES:-}" ]; then
    context_archive=$(select_by_index "$BUILD_CONTEXT_ARCHIVES" BUILD_CONTEXT_ARCHIVES)
    log "context $((JOB_COMPLETION_INDEX + 1)): $context_archive"
    unpack_context "$context_archive" "$CONTEXT_DIR"
  elif [ -n "${BUILD_CONTEXT_ARCHIVE:-}" ]; then
    unpack_context "$BUILD_CONTEXT_ARCHIVE" "$CONTEXT_DIR"
  fi
  [ -f "$CONTEXT_DIR/$DOCKERFILE_PATH" ] || die "the build context has no $DOCKERFILE_PATH (DOCKERFILE_PATH is relative to the context root)"
  log "build context ready in $CONTEXT_DIR"
}
