#!/bin/sh
# Stand-in for /kaniko/executor in the e2e tier (see test/e2e/README.md). It does NOT build anything.
# It parses its arguments like the executor's flag parser would, refusing flags the executor does not
# have (the list is /kaniko/e2e/executor-flags, written from KANIKO_EXECUTOR_FLAGS in src/_tool-flags.ts), checks
# the context directory and Dockerfile it is pointed at, pushes the prebuilt image /kaniko/e2e/prebuilt to
# every --destination with skopeo (honouring --insecure-registry, --registry-certificate and $DOCKER_CONFIG/config.json), and
# writes --digest-file and --image-name-with-digest-file the way kaniko does.
set -eu
flags=${KANIKO_STAND_IN_FLAGS:-/kaniko/e2e/executor-flags}
die() {
  printf 'Error: %s\n' "$*" >&2
  exit 1
}
kind_of() {
  while read -r known kind; do
    if [ "$known" = "$1" ]; then
      printf '%s\n' "$kind"
      return 0
    fi
  done <"$flags"
  return 1
}

context=/workspace/
dockerfile=Dockerfile
digest_file=''
name_digest_file=''
destinations=''
insecure=''
certificates=''
seen=' '
while [ $# -gt 0 ]; do
  arg=$1
  shift
  case $arg in
    -*=*)
      name=${arg%%=*}
      value=${arg#*=}
      has_value=true
      ;;
    -*)
      name=$arg
      value=''
      has_value=false
      ;;
    *) die "unexpected argument \"$arg\"" ;;
  esac
  kind=$(kind_of "$name") || die "unknown flag: $name"
  if [ "$has_value" = false ]; then
    if [ "$kind" = bool ]; then
      value=true
    else
      [ $# -gt 0 ] || die "flag needs an argument: $name"
      value=$1
      shift
    fi
  fi
  # the executor's flag parser keeps the last of two single-value flags silently; a Job that says a managed
  # flag twice would not do what its YAML reads, so the stand-in refuses it.
  if [ "$kind" != repeatable ]; then
    long=$name
    case $name in
      -c) long=--context ;;
      -f) long=--dockerfile ;;
      -v) long=--verbosity ;;
      -b) long=--bucket ;;
    esac
    case $seen in
      *" $long "*) die "flag given twice: $long (the executor would silently keep only the last value)" ;;
    esac
    seen="$seen$long "
  fi
  case $name in
    --context | -c) context=$value ;;
    --dockerfile | -f) dockerfile=$value ;;
    --destination | -d) destinations="$destinations $value" ;;
    --digest-file) digest_file=$value ;;
    --image-name-with-digest-file) name_digest_file=$value ;;
    --insecure-registry) insecure="$insecure $value" ;;
    --registry-certificate) certificates="$certificates $value" ;;
    --no-push | --tar-path) die "the stand-in only pushes; $name is not supported" ;;
    *) ;;
  esac
done

case $context in
  dir://*) context_dir=${context#dir://} ;;
  *) die "the stand-in supports only dir:// contexts, got $context" ;;
esac
[ -d "$context_dir" ] || die "error resolving source context: $context_dir does not exist"
if [ -f "$dockerfile" ]; then
  dockerfile_path=$dockerfile
elif [ -f "$context_dir/$dockerfile" ]; then
  dockerfile_path=$context_dir/$dockerfile
else
  die "error resolving dockerfile path: please provide a valid path to a Dockerfile within the build context with --dockerfile"
fi
[ -n "$destinations" ] || die "you must provide --destination, or use --no-push"
read -r first_line <"$dockerfile_path" || true
printf 'stand-in: context %s, Dockerfile %s (%s); not building, pushing the prebuilt image\n' "$context_dir" "$dockerfile_path" "$first_line" >&2

auth_file=${DOCKER_CONFIG:-/kaniko/.docker}
auth_file=${auth_file%/}/config.json
names=''
digest=''
for destination in $destinations; do
  registry=${destination%%/*}
  tls=true
  for host in $insecure; do
    [ "$host" != "$registry" ] || tls=false
  done
  set -- --preserve-digests --dest-tls-verify="$tls" --digestfile /tmp/stand-in-digest
  [ ! -f "$auth_file" ] || set -- "$@" --dest-authfile "$auth_file"
  # --registry-certificate <host>=<file>: kaniko adds the file to its trust for that registry; skopeo reads a directory's *.crt
  for certificate in $certificates; do
    certificate_file=${certificate#*=}
    [ "${certificate%%=*}" != "$registry" ] || set -- "$@" --dest-cert-dir "${certificate_file%/*}"
  done
  /usr/bin/skopeo copy "$@" oci:/kaniko/e2e/prebuilt:latest "docker://$destination" || die "error pushing image to $destination"
  # builtins only: the kaniko image's PATH (/usr/local/bin:/kaniko) has no coreutils.
  digest=""
  read -r digest </tmp/stand-in-digest || [ -n "$digest" ]
  repository=${destination%@*}
  case ${repository##*/} in
    *:*) repository=${repository%:*} ;;
  esac
  names="$names$repository@$digest
"
  printf 'INFO Pushed %s@%s\n' "$repository" "$digest" >&2
done
[ -z "$digest_file" ] || printf '%s' "$digest" >"$digest_file"
[ -z "$name_digest_file" ] || printf '%s' "$names" >"$name_digest_file"
