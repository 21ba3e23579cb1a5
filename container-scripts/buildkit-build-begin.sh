
require_env METADATA_FILE DESTINATIONS DIGEST_FILE BUILDKITD_CONFIG
rm -f "$METADATA_FILE"
# registries over plain http or with an unverified certificate: BuildKit reads that from its own configuration
if [ -n "${INSECURE_REGISTRIES:-}" ]; then
  : >"$BUILDKITD_CONFIG"
  for registry in $INSECURE_REGISTRIES; do
    case "$registry" in
      *[!A-Za-z0-9.:-]*) die "INSECURE_REGISTRIES must hold host[:port] names, got '$registry'" ;;
    esac
    printf '[registry."%s"]\n  http = true\n  insecure = true\n' "$registry" >>"$BUILDKITD_CONFIG"
  done
  BUILDKITD_FLAGS="${BUILDKITD_FLAGS:-} --config $BUILDKITD_CONFIG"
  export BUILDKITD_FLAGS
fi
log "building with buildctl-daemonless.sh; pushing $DESTINATIONS"
