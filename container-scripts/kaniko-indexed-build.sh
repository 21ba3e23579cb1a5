
require_env CONTEXT_NAMES INDEXED_DESTINATIONS
context_name=$(select_by_index "$CONTEXT_NAMES" CONTEXT_NAMES)
destinations=$(select_by_index "$INDEXED_DESTINATIONS" INDEXED_DESTINATIONS)
for destination in $destinations; do
  set -- "$@" "--destination=$destination"
done
if [ -n "${INDEXED_CACHE_REPOS:-}" ]; then
  cache_repo=$(select_by_index "$INDEXED_CACHE_REPOS" INDEXED_CACHE_REPOS)
  set -- "$@" --cache=true "--cache-repo=$cache_repo"
fi
log "building context $context_name for $destinations"
exec "${KANIKO_EXECUTOR:-/kaniko/executor}" "$@"
