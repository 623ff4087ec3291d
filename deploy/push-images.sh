#!/usr/bin/env bash
# Pushes the release's OCI image layouts to a registry by digest, with skopeo.
#
#   deploy/push-images.sh --to DEST [--release DIR] [--tag TAG] [--dest-creds-file FILE]
#
# DEST: docker://REGISTRY/REPO (the images go to REPO/logd and REPO/collector: the
# references `make release --image-repo REGISTRY/REPO` rendered into the compose file),
# or, to try it without a registry, oci:DIR or dir:DIR (tests/images.test.sh).
# Reads DIR/manifest.json (default release/) and the layouts DIR/images/{logd,collector}
# that `make release` wrote. For each image: the layout's manifest digest must be the
# one manifest.json names; skopeo copies it with --preserve-digests (no recompression,
# no conversion: the registry stores the same bytes), under TAG (default: the release's
# version) so that a registry accepts the push, and the digest it wrote must be the
# manifest's; then the pushed manifest is read back by digest and hashed.
# --dest-creds-file: a file holding USER:TOKEN for skopeo's --dest-creds (never an
# argument, so it stays out of process listings).
# Prints one line per image: "NAME REFERENCE" (REFERENCE by digest for docker://).
# Exit 0: pushed and read back. 1: a digest differs, or skopeo failed. 2: usage.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rel=$root/release to='' tag='' creds=''
usage() { sed -n '4p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
  case $1 in
    --to) to=${2-}; shift 2 ;;
    --release) rel=${2-}; shift 2 ;;
    --tag) tag=${2-}; shift 2 ;;
    --dest-creds-file) creds=${2-}; shift 2 ;;
    -h|--help) usage ;;
    *) echo "push-images: unknown argument '$1'" >&2; usage ;;
  esac
done
say() { printf 'push-images: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
[[ $to =~ ^(docker://[a-z0-9][a-z0-9.:/_-]*[a-z0-9]|oci:/?[^:@]+|dir:/?[^:@]+)$ ]] \
  || { say "--to must be docker://REGISTRY/REPO, oci:DIR or dir:DIR ('$to')"; exit 2; }
[ -f "$rel/manifest.json" ] || { say "no $rel/manifest.json (make release)"; exit 2; }
command -v skopeo >/dev/null || { say "skopeo is missing (make deps)"; exit 2; }
[ -n "$tag" ] || tag=$(jq -r '.version // empty' "$rel/manifest.json")
[[ $tag =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || { say "tag '$tag' is not a valid tag"; exit 2; }
jq -e '.reproducible == true' "$rel/manifest.json" >/dev/null || die "$rel/manifest.json: not a reproducible release"
creds_args=()
if [ -n "$creds" ]; then
  [ -f "$creds" ] || { say "no credentials file $creds"; exit 2; }
  creds_args=(--dest-creds "$(cat "$creds")")
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/xt-push.XXXXXX")
trap 'rm -rf "$work"' EXIT

# every layout is the manifest's image before anything is pushed
declare -A digest=()
for name in logd collector; do
  want=$(jq -r --arg n "$name" '.images[$n].digest // empty' "$rel/manifest.json")
  [[ $want =~ ^sha256:[0-9a-f]{64}$ ]] || die "$rel/manifest.json names no $name image digest"
  layout=$rel/images/$name
  have=$(jq -r '.manifests[0].digest' "$layout/index.json" 2>/dev/null) || die "no OCI layout at $layout"
  [ "$have" = "$want" ] || die "$layout holds $have, manifest.json says $want"
  digest[$name]=$want
done
case $to in oci:*|dir:*) mkdir -p "${to#*:}" ;; esac
for name in logd collector; do
  want=${digest[$name]} layout=$rel/images/$name
  case $to in
    docker://*) dest=$to/$name:$tag; back=$to/$name@$want ;;
    oci:*) dest=$to/$name:$tag; back=$dest ;;
    dir:*) dest=$to/$name; back=$dest ;;
  esac
  skopeo copy --quiet --preserve-digests --digestfile "$work/$name.digest" \
    ${creds_args[@]+"${creds_args[@]}"} "oci:$layout" "$dest" >&2 || die "skopeo copy $name to $dest failed"
  got=$(cat "$work/$name.digest")
  [ "$got" = "$want" ] || die "$name: skopeo wrote $got, the release is $want"
  read_args=()
  case $to in docker://*) [ -z "$creds" ] || read_args=(--creds "$(cat "$creds")") ;; esac
  skopeo inspect --raw ${read_args[@]+"${read_args[@]}"} "$back" >"$work/$name.raw" || die "cannot read $back back"
  [ "sha256:$(sha256sum <"$work/$name.raw" | cut -d' ' -f1)" = "$want" ] || die "$back: the manifest read back is not $want"
  case $to in docker://*) echo "$name ${to#docker://}/$name@$want" ;; *) echo "$name $dest $want" ;; esac
done
