
require_env JOB_TYPE ACTION_FILE
case "$JOB_TYPE" in
  build_and_push) action=build ;;
  push_tar) action=push_tar ;;
  *) die "unknown JOB_TYPE '$JOB_TYPE': expected build_and_push or push_tar" ;;
esac
printf '%s\n' "$action" >"$ACTION_FILE"
log "JOB_TYPE $JOB_TYPE: action $action"
