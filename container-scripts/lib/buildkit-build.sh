buildctl-daemonless.sh build "$@" --metadata-file "$METADATA_FILE" || die "buildctl build failed with exit code $? (BuildKit's message above)"
[ -s "$METADATA_FILE" ] || die "buildctl wrote no metadata to $METADATA_FILE"
digest=$(grep -o '"containerimage\.digest": *"sha256:[a-f0-9]*"' "$METADATA_FILE" | grep -o 'sha256:[a-f0-9]*' | head -n 1)
case "$digest" in
  sha256:*) [ ${#digest} -eq 71 ] || die "malformed containerimage.digest '$digest' in $METADATA_FILE" ;;
  *) die "no containerimage.digest in $METADATA_FILE: was the image pushed?" ;;
esac
