
require_env METADATA_FILE DESTINATIONS DIGEST_FILE BUILDKITD_CONFIG
rm -f "$METADATA_FILE"
# registries over plain http or with an unverified certificate (INSECURE_REGISTRIES), and registries whose CA bundle
# is mounted as REGISTRY_CA_DIR/<host>/ca.crt: BuildKit reads both from its own configuration, one table per host
ca_hosts=''
if [ -n "${REGISTRY_CA_DIR:-}" ]; then
  for ca in "$REGISTRY_CA_DIR"/*/ca.crt; do
    [ -f "$ca" ] || continue
    host=${ca%/ca.crt}
    ca_hosts="$ca_hosts ${host##*/}"
  done
fi
if [ -n "${INSECURE_REGISTRIES:-}$ca_hosts" ]; then
  : >"$BUILDKITD_CONFIG"
  for registry in ${INSECURE_REGISTRIES:-} $ca_hosts; do
    case "$registry" in
      *[!A-Za-z0-9.:-]*) die "registry names must be host[:port], got '$registry'" ;;
    esac
    ! grep -qF "[registry.\"$registry\"]" "$BUILDKITD_CONFIG" || continue
    printf '[registry."%s"]\n' "$registry" >>"$BUILDKITD_CONFIG"
    for insecure in ${INSECURE_REGISTRIES:-}; do
      [ "$insecure" != "$registry" ] || printf '  http = true\n  insecure = true\n' >>"$BUILDKITD_CONFIG"
    done
    [ ! -f "${REGISTRY_CA_DIR:-}/$registry/ca.crt" ] || printf '  ca = ["%s"]\n' "$REGISTRY_CA_DIR/$registry/ca.crt" >>"$BUILDKITD_CONFIG"
  done
  BUILDKITD_FLAGS="${BUILDKITD_FLAGS:-} --config $BUILDKITD_CONFIG"
  export BUILDKITD_FLAGS
fi
log "building with buildctl-daemonless.sh; pushing $DESTINATIONS"
