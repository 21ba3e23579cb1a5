
require_env ARCHIVE_PATH ARCHIVE_FORMAT
if [ -n "${IMAGE_TAR_URL:-}" ]; then
  download "$IMAGE_TAR_URL" "$ARCHIVE_PATH" "${IMAGE_TAR_SHA256:-}"
fi
[ -f "$ARCHIVE_PATH" ] || die "no image archive at $ARCHIVE_PATH"
if [ "$ARCHIVE_FORMAT" = auto ]; then
  require_env ARCHIVE_FORMAT_FILE
  archive_format "$ARCHIVE_PATH" >"$ARCHIVE_FORMAT_FILE"
  log "detected $(cat "$ARCHIVE_FORMAT_FILE") in $ARCHIVE_PATH"
fi
