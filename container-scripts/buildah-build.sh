
require_env CONTEXT_DIR DOCKERFILE_PATH DIGEST_FILE
first=$(build_destination)
require_env RUN_CAPABILITIES CONTAINERS_CONF
[ -f "$CONTEXT_DIR/$DOCKERFILE_PATH" ] || die "the build context has no $DOCKERFILE_PATH (DOCKERFILE_PATH is relative to the context root)"
buildah_configure
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
    buildah_manifest push "$destination" --all --digestfile "$work_dir/digest" "$image_index" "docker://$destination" ||
      die "push of the image index to $destination failed with exit code $? (buildah's message above)"
  else
    buildah push --digestfile "$work_dir/digest" "$image_id" "docker://$destination" ||
      die "push to $destination failed with exit code $? (buildah's message above)"
  fi
  pushed=$(cat "$work_dir/digest")
  check_digest "$pushed" "the push to $destination"
  [ -n "$digest" ] || digest=$pushed
  [ "$pushed" = "$digest" ] || die "$destination received digest $pushed but $first received $digest"
  printf '%s@%s\n' "$destination" "$pushed" >>"$termination_log"
done
# the pushed index's entries, as the first destination serves them: buildah's local list is not what it pushed (the
# push writes each platform's manifest anew), so the index is read back by digest into a second local list
if [ -n "${PLATFORMS:-}" ]; then
  pushed_index=localhost/cdk8s-image-jobs/index:pushed
  buildah manifest create "$pushed_index" >/dev/null || die "buildah manifest create failed with exit code $? (buildah's message above)"
  buildah_manifest add "$first" --all "$pushed_index" "docker://${first%:*}@$digest" >/dev/null ||
    die "reading the pushed image index $first@$digest back failed with exit code $? (buildah's message above)"
  buildah manifest inspect "$pushed_index" >"$work_dir/pushed-index.json" || die "buildah manifest inspect failed with exit code $? (buildah's message above)"
  record_platform_digests "$work_dir/pushed-index.json" "${first%:*}"
fi
printf '%s\n' "$digest" >"$DIGEST_FILE"
log "pushed $digest"
