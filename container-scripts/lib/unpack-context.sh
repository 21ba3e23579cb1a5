unpack_context() {
  mkdir -p "$2"
  tar -xzf "$1" -C "$2" || die "cannot unpack the build context: expected a gzip-compressed tar archive"
}
