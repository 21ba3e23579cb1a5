
require_env ARCHIVE_PATH ARCHIVE_FORMAT
detected_format=$ARCHIVE_FORMAT
if [ "$detected_format" = auto ]; then
  require_env ARCHIVE_FORMAT_FILE
  detected_format=$(cat "$ARCHIVE_FORMAT_FILE")
fi
: >"$termination_log"
push_archive "$ARCHIVE_PATH" "$detected_format"
