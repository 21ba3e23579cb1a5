: >"$termination_log"
for reference in $DESTINATIONS; do
  printf '%s@%s\n' "$reference" "$digest" >>"$termination_log"
done
printf '%s\n' "$digest" >"$DIGEST_FILE"
log "pushed $digest"
