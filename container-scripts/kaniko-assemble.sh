# The `assemble` container of a kaniko fan-out: builds one image index from the per-platform images listed in
# PLATFORM_DIGESTS_FILE ("<os/arch[/variant]> <repository>@sha256:<64 hex>" lines), each added by digest, and pushes
# it with every image to the first destination and ADDITIONAL_DESTINATIONS. The termination message gets
# "<destination>@<index digest>" per destination, then the PLATFORM_DIGESTS_FILE lines (a first token without "@");
# DIGEST_FILE gets the bare index digest, for the promoter.
require_env PLATFORM_DIGESTS_FILE DIGEST_FILE
first=$(build_destination)
[ -s "$PLATFORM_DIGESTS_FILE" ] || die "no per-platform digests in $PLATFORM_DIGESTS_FILE: the wait-for-platforms step recorded none"
buildah_configure
image_index=localhost/cdk8s-image-jobs/index:assemble
buildah_in_storage manifest create "$image_index" >/dev/null || die "buildah manifest create failed with exit code $? (buildah's message above)"
while read -r platform image; do
  case "$platform" in
    *[!a-z0-9_/]* | */*/*/* | [!a-z0-9]*) die "PLATFORM_DIGESTS_FILE must hold os/arch[/variant] platforms, got '$platform'" ;;
    */*) ;;
    *) die "PLATFORM_DIGESTS_FILE must hold os/arch[/variant] platforms, got '$platform'" ;;
  esac
  check_digest "${image##*@}" "the $platform build ($image)"
  os=${platform%%/*}
  arch=${platform#*/}
  variant=''
  case "$arch" in
    */*)
      variant=${arch#*/}
      arch=${arch%%/*}
      ;;
  esac
  log "adding $image as $platform"
  if [ -n "$variant" ]; then
    buildah_manifest add "$image" --os "$os" --arch "$arch" --variant "$variant" "$image_index" "docker://$image" >/dev/null
  else
    buildah_manifest add "$image" --os "$os" --arch "$arch" "$image_index" "docker://$image" >/dev/null
  fi || die "adding $image ($platform) to the image index failed with exit code $? (buildah's message above)"
done <"$PLATFORM_DIGESTS_FILE"

work_dir=$(mktemp -d "$TMPDIR/assemble.XXXXXX")
: >"$termination_log"
digest=''
for destination in "$first" ${ADDITIONAL_DESTINATIONS:-}; do
  log "pushing the image index to $destination"
  rm -f "$work_dir/digest"
  buildah_manifest push "$destination" --all --digestfile "$work_dir/digest" "$image_index" "docker://$destination" ||
    die "push of the image index to $destination failed with exit code $? (buildah's message above)"
  pushed=$(cat "$work_dir/digest" 2>/dev/null || true)
  check_digest "$pushed" "the push to $destination"
  [ -n "$digest" ] || digest=$pushed
  [ "$pushed" = "$digest" ] || die "$destination received digest $pushed but $first received $digest"
  printf '%s@%s\n' "$destination" "$pushed" >>"$termination_log"
done
cat "$PLATFORM_DIGESTS_FILE" >>"$termination_log"
printf '%s\n' "$digest" >"$DIGEST_FILE"
log "pushed image index $digest"
