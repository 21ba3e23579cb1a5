
require_env CONTEXT_DIR DOCKERFILE_PATH DIGEST_FILE
# the first destination: a final one (DESTINATION_*), or the intermediate one a promoter copies from
if [ -n "${DESTINATION_REGISTRY:-}" ]; then
  require_env DESTINATION_IMAGE_NAME DESTINATION_IMAGE_TAG
  first="$DESTINATION_REGISTRY/$DESTINATION_IMAGE_NAME:$DESTINATION_IMAGE_TAG"
else
  require_env INTERMEDIATE_REGISTRY_URL BUILD_IMAGE_NAME BUILD_IMAGE_TAG
  first="$INTERMEDIATE_REGISTRY_URL/$BUILD_IMAGE_NAME:$BUILD_IMAGE_TAG"
fi
require_env STORAGE_DRIVER STORAGE_ROOT CONTAINERS_STORAGE_CONF CONTAINERS_REGISTRIES_CONF CONTAINERS_CONF RUN_CAPABILITIES
case "$STORAGE_DRIVER" in
  vfs | overlay) ;;
  *) die "STORAGE_DRIVER must be vfs or overlay, got '$STORAGE_DRIVER'" ;;
esac
[ -f "$CONTEXT_DIR/$DOCKERFILE_PATH" ] || die "the build context has no $DOCKERFILE_PATH (DOCKERFILE_PATH is relative to the context root)"
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
# RUN steps get exactly RUN_CAPABILITIES (each must be in the container's bounding set, or every RUN fails);
# buildah keeps network locks even with chroot isolation: keep them out of the image's /etc.
{
  printf '[containers]\ndefault_capabilities = ['
  separator=''
  for capability in $RUN_CAPABILITIES; do
    case "$capability" in
      *[!A-Z_]*) die "RUN_CAPABILITIES must hold capability names such as CHOWN, got '$capability'" ;;
    esac
    printf '%s"%s"' "$separator" "$capability"
    separator=', '
  done
  printf ']\n[network]\nnetwork_config_dir = "%s/networks"\n' "$STORAGE_ROOT"
} >"$CONTAINERS_CONF"
TMPDIR=$STORAGE_ROOT/tmp
export TMPDIR
work_dir=$(mktemp -d "$TMPDIR/build.XXXXXX")

# Kargo's NewestBuild orders images by this manifest annotation: the time of this build unless IMAGE_CREATED fixes it
created=${IMAGE_CREATED:-$(date -u +%Y-%m-%dT%H:%M:%SZ)}
# PLATFORMS (os/arch[,os/arch…]): every platform built into one local manifest list, pushed as an image index
if [ -n "${PLATFORMS:-}" ]; then
  case "$PLATFORMS" in
    *[!a-z0-9_/,]*) die "PLATFORMS must hold os/arch[/variant] names separated by commas, got '$PLATFORMS'" ;;
  esac
  log "building $CONTEXT_DIR/$DOCKERFILE_PATH with buildah for $PLATFORMS ($STORAGE_DRIVER storage, chroot isolation)"
  image_index=localhost/cdk8s-image-jobs/index:build
  buildah bud --isolation chroot --platform "$PLATFORMS" --manifest "$image_index" --annotation "org.opencontainers.image.created=$created" "$@" --file "$CONTEXT_DIR/$DOCKERFILE_PATH" "$CONTEXT_DIR" ||
    die "buildah bud failed with exit code $? (buildah's message above)"
else
  log "building $CONTEXT_DIR/$DOCKERFILE_PATH with buildah ($STORAGE_DRIVER storage, chroot isolation)"
  buildah bud --isolation chroot --iidfile "$work_dir/image-id" --annotation "org.opencontainers.image.created=$created" "$@" --file "$CONTEXT_DIR/$DOCKERFILE_PATH" "$CONTEXT_DIR" ||
    die "buildah bud failed with exit code $? (buildah's message above)"
  image_id=$(cat "$work_dir/image-id")
fi
: >"$termination_log"
digest=''
for destination in "$first" ${ADDITIONAL_DESTINATIONS:-}; do
  log "pushing $destination"
  rm -f "$work_dir/digest"
  if [ -n "${PLATFORMS:-}" ]; then
    # buildah 1.28's manifest push reads neither CONTAINERS_REGISTRIES_CONF nor REGISTRY_AUTH_FILE: say both on its
    # command line (and it exits 0 when the push fails, which the digest check below catches)
    tls_verify=true
    for registry in ${INSECURE_REGISTRIES:-}; do
      [ "${destination%%/*}" != "$registry" ] || tls_verify=false
    done
    [ -n "$digest" ] || first_tls_verify=$tls_verify
    set -- --all --tls-verify="$tls_verify" --digestfile "$work_dir/digest"
    [ -z "${REGISTRY_AUTH_FILE:-}" ] || set -- "$@" --authfile "$REGISTRY_AUTH_FILE"
    buildah manifest push "$@" "$image_index" "docker://$destination" ||
      die "push of the image index to $destination failed with exit code $? (buildah's message above)"
  else
    buildah push --digestfile "$work_dir/digest" "$image_id" "docker://$destination" ||
      die "push to $destination failed with exit code $? (buildah's message above)"
  fi
  pushed=$(cat "$work_dir/digest")
  case "$pushed" in
    sha256:*) [ ${#pushed} -eq 71 ] || die "malformed digest '$pushed' from the push to $destination (buildah's message above)" ;;
    *) die "malformed digest '$pushed' from the push to $destination (buildah's message above)" ;;
  esac
  [ -n "$digest" ] || digest=$pushed
  [ "$pushed" = "$digest" ] || die "$destination received digest $pushed but $first received $digest"
  printf '%s@%s\n' "$destination" "$pushed" >>"$termination_log"
done
# the pushed index's entries, as the first destination serves them: buildah's local list is not what it pushed (the
# push writes each platform's manifest anew), so the index is read back by digest into a second local list
if [ -n "${PLATFORMS:-}" ]; then
  pushed_index=localhost/cdk8s-image-jobs/index:pushed
  buildah manifest create "$pushed_index" >/dev/null || die "buildah manifest create failed with exit code $? (buildah's message above)"
  set -- --all --tls-verify="$first_tls_verify"
  [ -z "${REGISTRY_AUTH_FILE:-}" ] || set -- "$@" --authfile "$REGISTRY_AUTH_FILE"
  buildah manifest add "$@" "$pushed_index" "docker://${first%:*}@$digest" >/dev/null ||
    die "reading the pushed image index $first@$digest back failed with exit code $? (buildah's message above)"
  buildah manifest inspect "$pushed_index" >"$work_dir/pushed-index.json" || die "buildah manifest inspect failed with exit code $? (buildah's message above)"
  record_platform_digests "$work_dir/pushed-index.json" "${first%:*}"
fi
printf '%s\n' "$digest" >"$DIGEST_FILE"
log "pushed $digest"
