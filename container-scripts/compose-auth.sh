
require_env AUTH_FILE AUTH_REGISTRIES HARBOR_USERNAME HARBOR_PASSWORD
umask 027
# Credential 0 is HARBOR_USERNAME/HARBOR_PASSWORD for AUTH_REGISTRIES; credential i (1..AUTH_MORE_CREDENTIALS) is
# HARBOR_USERNAME_i/HARBOR_PASSWORD_i for AUTH_REGISTRIES_i: each is written under its own registries only.
more=${AUTH_MORE_CREDENTIALS:-0}
case "$more" in ''|*[!0-9]*) die "AUTH_MORE_CREDENTIALS must be a number, got '$more'" ;; esac
i=1
while [ "$i" -le "$more" ]; do
  require_env "AUTH_REGISTRIES_$i" "HARBOR_USERNAME_$i" "HARBOR_PASSWORD_$i"
  i=$((i + 1))
done
separator=''
write_entries() { # registries username password
  auth_token=$(printf '%s:%s' "$2" "$3" | base64 | tr -d '\n')
  for registry in $1; do
    printf '%s"%s":{"auth":"%s"}' "$separator" "$registry" "$auth_token"
    separator=','
  done
}
{
  printf '{"auths":{'
  write_entries "$AUTH_REGISTRIES" "$HARBOR_USERNAME" "$HARBOR_PASSWORD"
  i=1
  while [ "$i" -le "$more" ]; do
    eval 'write_entries "$AUTH_REGISTRIES_'"$i"'" "$HARBOR_USERNAME_'"$i"'" "$HARBOR_PASSWORD_'"$i"'"'
    i=$((i + 1))
  done
  printf '}}\n'
} >"$AUTH_FILE.tmp"
mv -f "$AUTH_FILE.tmp" "$AUTH_FILE"
log "wrote $((more + 1)) credential(s), each for its own registries, to $AUTH_FILE (mode 0640: the pod's fsGroup reads it, rootless BuildKit as uid 1000 too)"
