
require_env AUTH_FILE AUTH_REGISTRIES HARBOR_USERNAME HARBOR_PASSWORD
umask 077
auth_token=$(printf '%s:%s' "$HARBOR_USERNAME" "$HARBOR_PASSWORD" | base64 | tr -d '\n')
{
  printf '{"auths":{'
  separator=''
  for registry in $AUTH_REGISTRIES; do
    printf '%s"%s":{"auth":"%s"}' "$separator" "$registry" "$auth_token"
    separator=','
  done
  printf '}}\n'
} >"$AUTH_FILE.tmp"
mv -f "$AUTH_FILE.tmp" "$AUTH_FILE"
log "wrote credentials for $AUTH_REGISTRIES to $AUTH_FILE (mode 0600)"
