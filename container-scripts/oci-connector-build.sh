: >"$termination_log"
for reference in $DESTINATIONS $PROXY_DESTINATIONS; do
  printf '%s@%s\n' "$reference" "$digest" >>"$termination_log"
done
log "pushed $digest"
