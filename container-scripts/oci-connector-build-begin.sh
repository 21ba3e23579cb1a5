
require_env METADATA_FILE DESTINATIONS PROXY_DESTINATIONS
rm -f "$METADATA_FILE"
log "building with buildctl-daemonless.sh; pushing $PROXY_DESTINATIONS"
