# buildah's settings, written to the paths buildah reads (CONTAINERS_STORAGE_CONF, CONTAINERS_REGISTRIES_CONF) so
# the image's own files never decide them: STORAGE_DRIVER (vfs or kernel overlay) in STORAGE_ROOT, short names
# resolved on docker.io, INSECURE_REGISTRIES over plain http.
buildah_configure() {
  require_env STORAGE_DRIVER STORAGE_ROOT CONTAINERS_STORAGE_CONF CONTAINERS_REGISTRIES_CONF
  case "$STORAGE_DRIVER" in
    vfs | overlay) ;;
    *) die "STORAGE_DRIVER must be vfs or overlay, got '$STORAGE_DRIVER'" ;;
  esac
  mkdir -p "$STORAGE_ROOT/storage" "$STORAGE_ROOT/run" "$STORAGE_ROOT/tmp"
  # no mount_program: overlay means the kernel's overlayfs (the upstream image points it at fuse-overlayfs).
  {
    printf '[storage]\ndriver = "%s"\ngraphroot = "%s/storage"\nrunroot = "%s/run"\n' "$STORAGE_DRIVER" "$STORAGE_ROOT" "$STORAGE_ROOT"
    [ "$STORAGE_DRIVER" != overlay ] || printf '[storage.options.overlay]\nmountopt = "nodev"\n'
  } >"$CONTAINERS_STORAGE_CONF"
  {
    printf 'unqualified-search-registries = ["docker.io"]\n'
    for registry in ${INSECURE_REGISTRIES:-}; do
      case "$registry" in
        *[!A-Za-z0-9.:-]*) die "INSECURE_REGISTRIES must hold host[:port] names, got '$registry'" ;;
      esac
      printf '[[registry]]\nlocation = "%s"\ninsecure = true\n' "$registry"
    done
  } >"$CONTAINERS_REGISTRIES_CONF"
  TMPDIR=$STORAGE_ROOT/tmp
  export TMPDIR
}

# `buildah_in_storage ARGS...`: buildah with the storage of buildah_configure said on its command line, which holds
# even where buildah ignores CONTAINERS_STORAGE_CONF (with _CONTAINERS_ROOTLESS_UID set, see kaniko-assemble.sh).
buildah_in_storage() {
  buildah --root "$STORAGE_ROOT/storage" --runroot "$STORAGE_ROOT/run" --storage-driver "$STORAGE_DRIVER" "$@"
}

# `buildah_manifest SUBCOMMAND REFERENCE ARGS...`: `buildah manifest SUBCOMMAND` with the TLS setting of REFERENCE's
# registry and the credentials file. buildah 1.28's manifest commands read neither CONTAINERS_REGISTRIES_CONF nor
# REGISTRY_AUTH_FILE: both are said on their command line (and `manifest push` exits 0 when the push fails: check the
# digest it wrote).
buildah_manifest() {
  subcommand=$1
  tls_verify=true
  for registry in ${INSECURE_REGISTRIES:-}; do
    [ "${2%%/*}" != "$registry" ] || tls_verify=false
  done
  shift 2
  if [ -n "${REGISTRY_AUTH_FILE:-}" ]; then
    buildah_in_storage manifest "$subcommand" --tls-verify="$tls_verify" --authfile "$REGISTRY_AUTH_FILE" "$@"
  else
    buildah_in_storage manifest "$subcommand" --tls-verify="$tls_verify" "$@"
  fi
}

# `check_digest DIGEST WHAT`: fails unless DIGEST is sha256: and 64 characters.
check_digest() {
  case "$1" in
    sha256:*) [ ${#1} -eq 71 ] || die "malformed digest '$1' from $2 (buildah's message above)" ;;
    *) die "malformed digest '$1' from $2 (buildah's message above)" ;;
  esac
}

# `build_destination`: the builder's first destination, a final one (DESTINATION_*) or the intermediate one a
# promoter copies from (INTERMEDIATE_REGISTRY_URL, BUILD_IMAGE_NAME, BUILD_IMAGE_TAG).
build_destination() {
  if [ -n "${DESTINATION_REGISTRY:-}" ]; then
    require_env DESTINATION_IMAGE_NAME DESTINATION_IMAGE_TAG
    printf '%s\n' "$DESTINATION_REGISTRY/$DESTINATION_IMAGE_NAME:$DESTINATION_IMAGE_TAG"
  else
    require_env INTERMEDIATE_REGISTRY_URL BUILD_IMAGE_NAME BUILD_IMAGE_TAG
    printf '%s\n' "$INTERMEDIATE_REGISTRY_URL/$BUILD_IMAGE_NAME:$BUILD_IMAGE_TAG"
  fi
}
