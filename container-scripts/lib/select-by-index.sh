select_by_index() {
  case "${JOB_COMPLETION_INDEX:-}" in
    '' | *[!0-9]*) die "JOB_COMPLETION_INDEX must be a whole number, got '${JOB_COMPLETION_INDEX:-}' (is this an Indexed Job?)" ;;
  esac
  selected=$(printf '%s\n' "$1" | sed -n "$((JOB_COMPLETION_INDEX + 1))p")
  [ -n "$selected" ] || die "$2 has no entry for JOB_COMPLETION_INDEX $JOB_COMPLETION_INDEX"
  printf '%s\n' "$selected"
}
