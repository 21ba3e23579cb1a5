archive_format() {
  entries=$(tar -tf "$1") || die "cannot read $1 as a tar archive"
  for entry in $entries; do
    case "$entry" in
      manifest.json | ./manifest.json) echo docker-archive && return 0 ;;
    esac
  done
  for entry in $entries; do
    case "$entry" in
      oci-layout | ./oci-layout) echo oci-archive && return 0 ;;
    esac
  done
  die "$1 is neither an OCI archive (no oci-layout entry) nor a docker save archive (no manifest.json entry)"
}
