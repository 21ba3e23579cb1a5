# The `wait-for-platforms` container of a kaniko fan-out: for each line "<platform> <Job name> <reference> <repository>"
# of PLATFORM_BUILDS (in order), polls the Kubernetes API with the pod's projected token (API_TOKEN_FILE, API_CA_FILE)
# until that Job in POD_NAMESPACE is Complete, or fails naming the platform when it is Failed; then reads the
# exact "<reference>@sha256:<64 hex>" line (the reference as kaniko reports it) from the termination message of the
# Job's succeeded pod, and writes "<platform> <repository>@sha256:<64 hex>" to PLATFORM_DIGESTS_FILE.
require_env PLATFORM_BUILDS POD_NAMESPACE API_TOKEN_FILE API_CA_FILE PLATFORM_DIGESTS_FILE KUBERNETES_SERVICE_HOST KUBERNETES_SERVICE_PORT
poll_seconds=${POLL_SECONDS:-10}
case "$poll_seconds" in
  '' | *[!0-9]*) die "POLL_SECONDS must be a whole number of seconds, got '$poll_seconds'" ;;
esac
case "$KUBERNETES_SERVICE_HOST" in
  *:*) api="https://[$KUBERNETES_SERVICE_HOST]:$KUBERNETES_SERVICE_PORT" ;;
  *) api="https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT" ;;
esac
work_dir=$(mktemp -d)

# `api_get PATH OUT`: GETs PATH into OUT and prints the HTTP status (000 when the API server is unreachable). The token goes to curl in a header file (never in
# its arguments), re-read on every call: the kubelet rotates it. The user agent is not curl's, or the API server
# would pretty-print its JSON.
api_get() {
  {
    printf 'Authorization: Bearer '
    tr -d '\n' <"$API_TOKEN_FILE"
    printf '\n'
  } >"$work_dir/header"
  curl -sS --retry 3 --cacert "$API_CA_FILE" -A cdk8s-image-jobs -H "@$work_dir/header" -o "$2" -w '%{http_code}' "$api$1" || true
}

# `digest_after PREFIX FILE`: the 64 hex digits that follow the fixed string PREFIX in FILE where PREFIX starts a
# termination message or one of its lines (after `"` or an escaped newline), each distinct one once.
digest_after() {
  PREFIX=$1 awk '{
    s = $0
    while ((i = index(s, ENVIRON["PREFIX"])) > 0) {
      before = substr(s, 1, i - 1)
      s = substr(s, i + length(ENVIRON["PREFIX"]))
      digest = substr(s, 1, 64)
      if ((before ~ /"$/ || before ~ /\\n$/) && digest ~ /^[0-9a-f]+$/ && length(digest) == 64 && substr(s, 65, 1) !~ /[0-9a-f]/) {
        print digest
      }
    }
  }' "$2" | sort -u
}

: >"$termination_log"
: >"$PLATFORM_DIGESTS_FILE"
while read -r platform job reference repository; do
  [ -n "$platform" ] || continue
  case "$job" in
    '' | *[!a-z0-9.-]*) die "PLATFORM_BUILDS must hold \"<platform> <Job name> <reference>\" lines, got Job name '$job'" ;;
  esac
  [ -n "$repository" ] || die "PLATFORM_BUILDS has no reference and repository for $platform"
  log "waiting for Job $job ($platform)"
  while :; do
    status=$(api_get "/apis/batch/v1/namespaces/$POD_NAMESPACE/jobs/$job" "$work_dir/job.json")
    case "$status" in
      200)
        if grep -qF '"type":"Failed","status":"True"' "$work_dir/job.json"; then
          die "the $platform build failed: Job $job ended Failed (kubectl logs job/$job); nothing was pushed to the destinations"
        fi
        ! grep -qF '"type":"Complete","status":"True"' "$work_dir/job.json" || break
        ;;
      404) log "Job $job ($platform) does not exist yet" ;;
      401 | 403) die "the Kubernetes API refused to read Job $job ($platform): HTTP $status; the pod's service account needs the Role this construct synthesizes" ;;
      *) log "reading Job $job ($platform): HTTP $status; trying again" ;;
    esac
    sleep "$poll_seconds"
  done
  status=$(api_get "/api/v1/namespaces/$POD_NAMESPACE/pods?labelSelector=job-name%3D$job&fieldSelector=status.phase%3DSucceeded" "$work_dir/pods.json")
  [ "$status" = 200 ] || die "listing the succeeded pods of Job $job ($platform) failed: HTTP $status"
  digests=$(digest_after "$reference@sha256:" "$work_dir/pods.json")
  case "$digests" in
    '') die "the succeeded pod of Job $job ($platform) reported no $reference@sha256:<digest> in its termination message" ;;
    *[!0-9a-f]*) die "the succeeded pods of Job $job ($platform) reported different digests for $reference: $(echo "$digests" | tr '\n' ' ')" ;;
  esac
  log "$platform: $reference@sha256:$digests"
  printf '%s %s@sha256:%s\n' "$platform" "$repository" "$digests" >>"$PLATFORM_DIGESTS_FILE"
done <<EOF_BUILDS
$PLATFORM_BUILDS
EOF_BUILDS
log "every platform is built"
