download() {
  download_url=$1
  download_out=$2
  download_sha256=${3:-}
  shown_url=${download_url%%\?*}
  case "$download_url" in
    https://*) protocols='=https' ;;
    http://*)
      [ "${ALLOW_INSECURE_HTTP:-false}" = true ] || die "refusing plain-http download of $shown_url; set ALLOW_INSECURE_HTTP=true to allow it"
      protocols='=https,http'
      ;;
    *) die "cannot download $shown_url: only https:// URLs (or http:// with ALLOW_INSECURE_HTTP=true) are supported" ;;
  esac
  log "downloading $shown_url"
  curl --fail --silent --show-error --location --proto "$protocols" --proto-redir "$protocols" \
    --retry "${DOWNLOAD_RETRIES:-5}" --retry-connrefused --retry-delay 2 --retry-max-time 300 \
    --connect-timeout 10 --max-time "${DOWNLOAD_TIMEOUT_SECONDS:-1800}" \
    --output "$download_out" "$download_url" || die "download of $shown_url failed (curl exit code $?)"
  download_size=$(wc -c <"$download_out" | tr -d ' ')
  if [ -n "$download_sha256" ]; then
    actual_sha256=$(sha256sum "$download_out" | cut -d ' ' -f 1)
    if [ "$actual_sha256" != "$download_sha256" ]; then
      rm -f "$download_out"
      die "sha256 mismatch for $shown_url: expected $download_sha256, got $actual_sha256"
    fi
    log "downloaded $download_size bytes, sha256 $actual_sha256 verified"
  else
    log "downloaded $download_size bytes (no sha256 given: content not verified)"
  fi
}
