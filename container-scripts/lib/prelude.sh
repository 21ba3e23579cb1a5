set -eu
termination_log=${TERMINATION_LOG:-/dev/termination-log}
log() { printf '%s\n' "$*" >&2; }
die() {
  printf 'error: %s\n' "$*" >&2
  printf 'error: %s\n' "$*" >>"$termination_log" 2>/dev/null || true
  exit 1
}
require_env() {
  missing=''
  for name in "$@"; do
    eval "value=\${$name:-}"
    [ -n "$value" ] || missing="$missing $name"
  done
  [ -z "$missing" ] || die "missing required environment variable(s):$missing"
}
require_bool() {
  eval "value=\${$1:-}"
  case "$value" in
    true | false) ;;
    *) die "$1 must be true or false, got '$value'" ;;
  esac
}
