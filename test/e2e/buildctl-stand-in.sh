#!/bin/sh
# Stand-in for buildctl-daemonless.sh in the e2e tier (see test/e2e/README.md). It does NOT run BuildKit and
# does not run the Dockerfile. It:
# - checks BUILDKITD_FLAGS the way buildkitd would read them (only the flags the constructs use) and reads the
#   --config buildkitd.toml for [registry."host"] http/insecure settings and ca = ["file"] trust;
# - parses its arguments like `buildctl build` (urfave/cli), refusing any flag BuildKit does not define (the list
#   is /e2e/buildctl/build-flags, from BUILDCTL_BUILD_FLAGS in src/_tool-flags.ts) and any single-value flag given
#   twice;
# - checks the dockerfile.v0 frontend inputs: --local context/dockerfile directories, the Dockerfile in it,
#   --secret src files;
# - assembles a real one-layer OCI image from the context directory (tar + gzip + sha256, written by hand) and
#   pushes it with skopeo to every name of --output type=image,name=…,push=true, with $DOCKER_CONFIG/config.json
#   plain http for registries buildkitd.toml marks http or insecure, and each registry's ca file;
# - writes --metadata-file with containerimage.digest, as buildctl does.
set -eu
flags=${BUILDCTL_STAND_IN_FLAGS:-/e2e/buildctl/build-flags}
die() {
  printf 'error: %s\n' "$*" >&2
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

# buildkitd's flags, as buildctl-daemonless.sh hands them to the daemon
config=''
set -f
set -- "$@" --end-of-args
expect_config=false
for flag in ${BUILDKITD_FLAGS:-}; do
  if [ "$expect_config" = true ]; then
    config=$flag
    expect_config=false
    continue
  fi
  case $flag in
    --config) expect_config=true ;;
    --config=*) config=${flag#--config=} ;;
    --oci-worker-no-process-sandbox) ;;
    *) die "the stand-in does not model buildkitd flag $flag" ;;
  esac
done
set +f
[ "$expect_config" = false ] || die "buildkitd: flag needs an argument: --config"
plain_http=''
registry_cas=''
if [ -n "$config" ]; then
  [ -r "$config" ] || die "buildkitd: failed to load config $config"
  section=''
  while IFS= read -r line || [ -n "$line" ]; do
    case $line in
      '[registry."'*'"]'*) section=${line#\[registry.\"} && section=${section%%\"*} ;;
      '['*) section='' ;;
      *http*=*true* | *insecure*=*true*) [ -z "$section" ] || plain_http="$plain_http $section" ;;
      *'ca = ["'*'"]'*)
        ca_file=${line#*\"} && ca_file=${ca_file%%\"*}
        [ -n "$section" ] || die "buildkitd: ca $ca_file outside a [registry] table"
        [ -r "$ca_file" ] || die "buildkitd: cannot read ca $ca_file"
        registry_cas="$registry_cas $section=$ca_file" ;;
    esac
  done <"$config"
fi

# buildctl build flags
[ "$1" = build ] || [ "$1" = b ] || die "the stand-in only supports 'build', got '$1'"
shift
frontend=''
output=''
outputs=0
metadata_file=''
context_dir=''
dockerfile_dir=''
filename=Dockerfile
seen=' '
while [ "$1" != --end-of-args ]; do
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
  kind=$(kind_of "$name") || die "flag provided but not defined: $name"
  if [ "$has_value" = false ]; then
    if [ "$kind" = bool ]; then
      value=true
    else
      [ "$1" != --end-of-args ] || die "flag needs an argument: $name"
      value=$1
      shift
    fi
  fi
  if [ "$kind" = string ]; then
    case $seen in
      *" $name "*) die "$name given twice: buildctl would silently keep only the last value" ;;
    esac
    seen="$seen$name "
  fi
  case $name in
    --frontend) frontend=$value ;;
    --progress)
      case $value in auto | plain | tty | rawjson) ;; *) die "invalid progress value : $value" ;; esac
      ;;
    --output | -o)
      output=$value
      outputs=$((outputs + 1))
      ;;
    --metadata-file) metadata_file=$value ;;
    --local)
      case $value in
        context=*) context_dir=${value#context=} ;;
        dockerfile=*) dockerfile_dir=${value#dockerfile=} ;;
        *) die "invalid local: $value (the dockerfile frontend reads context= and dockerfile=)" ;;
      esac
      ;;
    --opt)
      case $value in
        filename=*) filename=${value#filename=} ;;
        target=* | platform=* | build-arg:*=* | label:*=*) ;;
        context=*) die "the stand-in cannot clone git contexts ($value)" ;;
        *) die "the stand-in does not know frontend option $value" ;;
      esac
      ;;
    --secret)
      case $value in
        id=*,src=*)
          secret_src=${value#*,src=}
          [ -r "$secret_src" ] || die "failed to stat secret source $secret_src"
          ;;
        *) die "invalid secret $value (expected id=<id>,src=<file>)" ;;
      esac
      ;;
    --export-cache | --import-cache)
      case $value in
        type=inline | type=registry,ref=*) ;;
        *) die "the stand-in does not model cache $value" ;;
      esac
      ;;
    *) ;;
  esac
done
shift

[ "$frontend" = dockerfile.v0 ] || die "the stand-in supports only --frontend=dockerfile.v0, got '$frontend'"
[ -d "${context_dir:-/nonexistent}" ] || die "no such local context directory: '$context_dir'"
[ -f "${dockerfile_dir:-/nonexistent}/$filename" ] || die "failed to read dockerfile: $dockerfile_dir/$filename: no such file"
[ "$outputs" -eq 1 ] || die "the stand-in expects exactly one --output, got $outputs"

# --output type=image,"name=a,b",push=true (a CSV record; the quoted field may hold commas)
names=''
rest=$output
case $rest in
  *'"name='*'"'*)
    before=${rest%%\"name=*}
    after=${rest#*\"name=}
    names=${after%%\"*}
    rest="$before${after#*\"}"
    ;;
esac
# "annotation.<key>=<value>" fields (quoted, as the constructs write them): the pushed manifest's annotations
annotations=''
while :; do
  case $rest in
    *'"annotation.'*'"'*)
      before=${rest%%\"annotation.*}
      after=${rest#*\"annotation.}
      pair=${after%%\"*}
      case $pair in
        *=*) ;;
        *) die "output annotation '$pair' has no value" ;;
      esac
      case $pair in
        *\\*) die "the stand-in does not model a backslash in output annotation '$pair'" ;;
      esac
      annotations="$annotations,\"${pair%%=*}\":\"${pair#*=}\""
      rest="$before${after#*\"}"
      ;;
    *) break ;;
  esac
done
type=''
push=false
saved_ifs=$IFS
IFS=,
for pair in $rest; do
  case $pair in
    '') ;;
    type=*) type=${pair#type=} ;;
    name=*) names=${pair#name=} ;;
    push=*) push=${pair#push=} ;;
    oci-mediatypes=* | compression=* | registry.insecure=*) ;;
    *) die "the stand-in does not model image output option $pair" ;;
  esac
done
IFS=$saved_ifs
[ "$type" = image ] || die "the stand-in supports only type=image outputs, got '$type'"
[ "$push" = true ] || die "the stand-in only pushes: expected push=true"
[ -n "$names" ] || die "output type=image needs a name"

read -r first_line <"$dockerfile_dir/$filename" || true
printf 'stand-in: context %s, Dockerfile %s/%s (%s); not building, pushing an image of the context\n' \
  "$context_dir" "$dockerfile_dir" "$filename" "$first_line" >&2

# one layer holding the context's visible entries (a ConfigMap volume's ..data links are not files)
work=$(mktemp -d "${TMPDIR:-/tmp}/buildctl.XXXXXX")
trap 'rm -rf "$work"' EXIT
layout=$work/layout
mkdir -p "$layout/blobs/sha256"
(cd "$context_dir" && set -- * && tar -ch -f "$work/layer.tar" -- "$@") || die "cannot read the context $context_dir"
gzip -n -c "$work/layer.tar" >"$work/layer.tar.gz"
sha() { sha256sum "$1" | cut -d ' ' -f 1; }
size() { wc -c <"$1" | tr -d ' '; }
blob() {
  blob_sha=$(sha "$1")
  cp "$1" "$layout/blobs/sha256/$blob_sha"
  printf '%s\n' "$blob_sha"
}
diff_id=$(sha "$work/layer.tar")
layer_sha=$(blob "$work/layer.tar.gz")
printf '{"architecture":"amd64","os":"linux","config":{"Labels":{"e2e.stand-in":"buildctl"}},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
  "$diff_id" >"$work/config.json"
config_sha=$(blob "$work/config.json")
manifest_annotations=''
[ -z "$annotations" ] || manifest_annotations=",\"annotations\":{${annotations#,}}"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]%s}' \
  "$config_sha" "$(size "$work/config.json")" "$layer_sha" "$(size "$work/layer.tar.gz")" \
  "$manifest_annotations" >"$work/manifest.json"
manifest_sha=$(blob "$work/manifest.json")
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"built"}}]}' \
  "$manifest_sha" "$(size "$work/manifest.json")" >"$layout/index.json"
printf '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"
digest=sha256:$manifest_sha

auth_file=${DOCKER_CONFIG:-$HOME/.docker}/config.json
IFS=,
for name in $names; do
  IFS=$saved_ifs
  host=${name%%/*}
  tls=true
  for insecure_host in $plain_http; do
    [ "$insecure_host" != "$host" ] || tls=false
  done
  set -- --preserve-digests --dest-tls-verify="$tls" --digestfile "$work/pushed"
  # ca = [file]: BuildKit adds the file to its trust for that registry; skopeo reads a directory's *.crt
  for registry_ca in $registry_cas; do
    ca_file=${registry_ca#*=}
    [ "${registry_ca%%=*}" != "$host" ] || set -- "$@" --dest-cert-dir "${ca_file%/*}"
  done
  [ ! -f "$auth_file" ] || set -- "$@" --dest-authfile "$auth_file"
  printf '#1 exporting to image\n#1 pushing %s\n' "$name" >&2
  skopeo copy "$@" "oci:$layout:built" "docker://$name" || die "failed to push $name"
  [ "$(cat "$work/pushed")" = "$digest" ] || die "pushed $(cat "$work/pushed") to $name, expected $digest"
done
IFS=$saved_ifs

if [ -n "$metadata_file" ]; then
  printf '{\n  "containerimage.config.digest": "sha256:%s",\n  "containerimage.digest": "%s",\n  "image.name": "%s"\n}' \
    "$config_sha" "$digest" "$names" >"$metadata_file"
fi
