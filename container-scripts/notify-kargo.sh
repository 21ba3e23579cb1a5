
# Tells Kargo about the push that just succeeded: POSTs to the generic webhook receiver whose URL is in
# KARGO_WEBHOOK_URL_FILE (a Secret key), with the header KARGO_WEBHOOK_HEADER_NAME: <KARGO_WEBHOOK_HEADER_FILE's
# content> when set. The URL and header travel to curl on its standard input (--config -), never in argv.
# A failed notification never fails the Job: the push is done, and the Warehouse still finds the image at its
# next interval. Failures are logged and noted in the termination message.
notify_failed() {
  printf 'kargo notification failed: %s\n' "$*" >&2
  printf 'kargo notification failed: %s\n' "$*" >>"$termination_log" 2>/dev/null || true
  exit 0
}
: >"$termination_log" 2>/dev/null || true
[ -r "${KARGO_WEBHOOK_URL_FILE:-}" ] || notify_failed "cannot read the webhook URL file '${KARGO_WEBHOOK_URL_FILE:-}'"
url=$(cat "$KARGO_WEBHOOK_URL_FILE")
case "$url" in
  https://?*) ;;
  http://?*) [ "${ALLOW_INSECURE_HTTP:-false}" = true ] || notify_failed 'the webhook URL uses plain http; allowInsecureHttp: true permits it' ;;
  *) notify_failed 'the webhook URL in the Secret is not an https:// URL' ;;
esac
# curl's config syntax: a quoted value ends at '"' and treats '\' as an escape, so neither may appear.
case "$url" in
  *[!A-Za-z0-9._~:/?#@!\$\&\'\(\)*+,\;=%\[\]-]*) notify_failed 'the webhook URL in the Secret holds characters a URL cannot (white space, quotes or backslashes)' ;;
esac
header=''
if [ -n "${KARGO_WEBHOOK_HEADER_NAME:-}" ]; then
  [ -r "${KARGO_WEBHOOK_HEADER_FILE:-}" ] || notify_failed "cannot read the header value file '${KARGO_WEBHOOK_HEADER_FILE:-}'"
  header=$(cat "$KARGO_WEBHOOK_HEADER_FILE")
  case "$header" in
    *[\"\\]* | *"$(printf '\r')"* | *"
"*) notify_failed "the $KARGO_WEBHOOK_HEADER_NAME header value in the Secret holds a quote, backslash or line break" ;;
  esac
fi
protocols='=https'
[ "${ALLOW_INSECURE_HTTP:-false}" != true ] || protocols='=https,http'
log "notifying Kargo's webhook receiver"
if status=$(
  {
    printf 'url = "%s"\n' "$url"
    [ -z "${KARGO_WEBHOOK_HEADER_NAME:-}" ] || printf 'header = "%s: %s"\n' "$KARGO_WEBHOOK_HEADER_NAME" "$header"
  } | curl --config - --proto "$protocols" --silent --show-error --max-time "${NOTIFY_TIMEOUT_SECONDS:-10}" \
    --retry 2 --retry-connrefused --request POST --header 'Content-Type: application/json' --data '{}' \
    --output /dev/null --write-out '%{http_code}'
); then
  case "$status" in
    2??) ;;
    *) notify_failed "the webhook receiver answered HTTP $status" ;;
  esac
else
  notify_failed "curl could not reach the webhook receiver (exit code $?, status '${status:-}')"
fi
printf 'kargo notified: webhook receiver answered HTTP %s\n' "$status" >>"$termination_log"
log "Kargo notified (HTTP $status)"
