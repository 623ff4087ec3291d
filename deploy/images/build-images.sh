#!/usr/bin/env bash
# `make images`: OCI image layouts of logd and collector, without a container runtime.
#
#   deploy/images/build-images.sh [--bin DIR] [--lock FILE] [--out DIR] [--cache DIR]
#                                 [--epoch N] [--ca-bundle FILE] [--reuse]
#
# Inputs: the binaries DIR/logd and DIR/collector (default bin/), the package lock
# (default deploy/images/packages.lock, written by `make lock`), deploy/logd-submitters,
# and SOURCE_DATE_EPOCH (--epoch; default: the environment, else HEAD's commit time).
# Downloaded packages are kept in --cache DIR (default build/debs).
# No base image: each image's first layer is the locked Debian packages it needs,
# fetched with `apt-get download` (apt checks them against the signed index) and checked
# again against the lock's SHA-256, unpacked with dpkg-deb, stripped of programs,
# scripts and documentation (copyright files stay). The CA bundle libcurl reads
# (/etc/ssl/certs/ca-certificates.crt) is made from the ca-certificates package as
# update-ca-certificates would, unless --ca-bundle replaces it (tests only: it shows a
# changed CA changes the digests). The second layer: the binary at /usr/local/bin/PROG,
# /etc/passwd and /etc/group with the program's user, /data (0700, owned by that user)
# and, for logd, /etc/xordi-tlog/logd-submitters.
# Layers are GNU tar with sorted names, mtime = SOURCE_DATE_EPOCH, owner 0 (the user for
# /data), modes 0755/0644 by the executable bit, gzip -n; config and manifest hold no
# time and no host data, so the digests are a function of the inputs.
# Output: DIR/logd/ and DIR/collector/ (OCI image layouts; default release/images/),
# and on stdout one line per image: "NAME sha256:HEX" (the manifest digest, which is
# the digest a registry serves for NAME@sha256:HEX).
# --reuse: when DIR already holds layouts built from the same inputs (the SHA-256 of
# both binaries, the lock, the submitters file, this script, the epoch, the CA bundle
# and the installed tar, gzip and dpkg versions, recorded in DIR/.inputs) whose blobs
# still match their digests, print their digests without building again (`make images`
# and the demo; `make release` always builds).
# Exit 0: built. 1: a check failed (named). 2: usage.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=$root/bin lock=$root/deploy/images/packages.lock out=$root/release/images
cache=$root/build/debs  # verified against the lock on every use, so sharing it is safe
epoch=${SOURCE_DATE_EPOCH:-} ca_bundle='' reuse=0
usage() { sed -n '4,5p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
  case $1 in
    --bin) bin=${2-}; shift 2 ;;
    --lock) lock=${2-}; shift 2 ;;
    --out) out=${2-}; shift 2 ;;
    --cache) cache=${2-}; shift 2 ;;
    --epoch) epoch=${2-}; shift 2 ;;
    --ca-bundle) ca_bundle=${2-}; shift 2 ;;
    --reuse) reuse=1; shift ;;
    -h|--help) usage ;;
    *) echo "build-images: unknown argument '$1'" >&2; usage ;;
  esac
done
say() { printf 'build-images: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
[ -n "$epoch" ] || epoch=$(git -C "$root" log -1 --format=%ct HEAD 2>/dev/null) || true
[[ $epoch =~ ^[0-9]{1,12}$ ]] || { say "SOURCE_DATE_EPOCH missing or not a number ('$epoch')"; exit 2; }
[ -f "$lock" ] || { say "no package lock at $lock (make lock)"; exit 2; }
export LC_ALL=C TZ=UTC
umask 022

# What the layouts' bytes are a function of (see --reuse).
inputs() {
  local f
  for f in "$bin/logd" "$bin/collector" "$lock" "$root/deploy/logd-submitters" "$0" ${ca_bundle:+"$ca_bundle"}; do
    [ -f "$f" ] || return 1
    printf '%s %s\n' "$(sha256sum <"$f" | cut -d' ' -f1)" "${f##*/}"
  done
  printf 'epoch %s\n' "$epoch"
  dpkg-query -W -f='${Package} ${Version}\n' tar gzip dpkg
}
layout_ok() { # layout: prints "NAME DIGEST" when every blob matches its name
  local l=$1 d b
  d=$(jq -r '.manifests[0].digest' "$l/index.json" 2>/dev/null) || return 1
  [[ $d =~ ^sha256:[0-9a-f]{64}$ ]] || return 1
  for b in "$l"/blobs/sha256/*; do
    [ "$(sha256sum <"$b" | cut -d' ' -f1)" = "${b##*/}" ] || return 1
  done
  [ -f "$l/blobs/sha256/${d#sha256:}" ] || return 1
  echo "${l##*/} $d"
}
if [ $reuse -eq 1 ] && [ -f "$out/.inputs" ] && inputs | cmp -s - "$out/.inputs" &&
   old=$(layout_ok "$out/logd") && old2=$(layout_ok "$out/collector"); then
  say "reusing the layouts in $out (built from the same inputs)"
  printf '%s\n%s\n' "$old" "$old2"
  exit 0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/xt-images.XXXXXX")
trap 'rm -rf "$work"' EXIT

# ---- the lock
declare -A ver=() arch=() sha=() imgs=()
libdiff=()
n=0
while read -r kind a b c d e f rest; do
  case $kind in
    ''|'#'*|archive) continue ;;
    tool)
      have=$(dpkg-query -W -f='${Version}' "$a" 2>/dev/null || echo none)
      [ "$have" = "$b" ] || say "note: installed $a is $have, the lock was made with $b (the binaries or layers may differ from the lock's release)"
      continue ;;
    pkg) ;;
    *) die "$lock: unknown line kind '$kind'" ;;
  esac
  [[ $a =~ ^[a-z0-9][a-z0-9.+-]*$ && $b =~ ^[A-Za-z0-9.+:~-]+$ && $c =~ ^[a-z0-9]+$ \
     && $d =~ ^[0-9a-f]{64}$ && $f =~ ^(logd|collector)(,(logd|collector))?$ && -z $rest ]] \
    || die "$lock: malformed pkg line for '$a'"
  [ -n "$e" ] || die "$lock: $a has no filename"
  ver[$a]=$b arch[$a]=$c sha[$a]=$d imgs[$a]=$f
  n=$((n + 1))
  # the binaries run against the locked libraries: say when they were linked against others
  have=$(dpkg-query -W -f='${Version}' "$a:$c" 2>/dev/null || dpkg-query -W -f='${Version}' "$a" 2>/dev/null || echo none)
  [ "$have" = "$b" ] || libdiff+=("$a $have->$b")
done <"$lock"
[ $n -gt 0 ] || die "$lock lists no packages"
[ ${#libdiff[@]} -eq 0 ] || say "note: ${#libdiff[@]} locked runtime packages differ from the installed ones the binaries were linked against (installed->image): ${libdiff[*]}"

# The collector's test build (collector-test: --api-base, plain HTTP) is never shipped,
# whatever file is handed in as the collector.
for p in logd collector; do
  [ -x "$bin/$p" ] || die "$bin/$p is not built"
  ! LC_ALL=C grep -qaF -- '--api-base' "$bin/$p" || die "$bin/$p knows --api-base: that is the collector's test build, never shipped"
done

# ---- fetch: apt verifies against the signed index; we verify against the lock
mkdir -p "$cache"
for p in "${!ver[@]}"; do
  deb=$cache/${p}_${ver[$p]//:/%3a}_${arch[$p]}.deb
  if [ ! -f "$deb" ] || [ "$(sha256sum <"$deb" | cut -d' ' -f1)" != "${sha[$p]}" ]; then
    dl=$work/dl-$p
    mkdir -p "$dl"
    (cd "$dl" && apt-get download -q "$p:${arch[$p]}=${ver[$p]}") >"$work/dl.log" 2>&1 || {
      sed 's/^/  /' "$work/dl.log" >&2
      die "cannot fetch $p ${ver[$p]}: Debian's archive keeps only the newest version; build with a lock from \`make lock\`, or point apt at snapshot.debian.org (docs/RELEASE.md)"
    }
    # another build may share the cache: copy under a private name, then rename
    cp "$dl"/*.deb "$deb.tmp.$$" && mv "$deb.tmp.$$" "$deb"
  fi
  got=$(sha256sum <"$deb" | cut -d' ' -f1)
  [ "$got" = "${sha[$p]}" ] || die "$p ${ver[$p]}: SHA-256 $got, the lock says ${sha[$p]}"
done

# ---- layers
normalize() { # dir: fixed modes, whatever the umask and the packages said
  find "$1" -type d -exec chmod 0755 {} +
  find "$1" -type f -perm /111 -exec chmod 0755 {} +
  find "$1" -type f ! -perm /111 -exec chmod 0644 {} +
}
tar_layer() { # dir out.tar [uid:gid path...]: sorted, epoch, owner 0 (or uid for the paths)
  local dir=$1 tarf=$2 owner=${3-}
  shift 3 2>/dev/null || shift $#
  (cd "$dir" && find . -mindepth 1 -printf '%P\n' | sort) >"$work/list"
  local p
  for p in "$@"; do grep -vxF -e "$p" "$work/list" >"$work/list2" || true; mv "$work/list2" "$work/list"; done
  local common=(--format=gnu --numeric-owner --mtime="@$epoch" --hard-dereference --no-recursion -C "$dir")
  tar --create --file="$tarf" --owner=0 --group=0 "${common[@]}" -T "$work/list"
  [ $# -eq 0 ] || tar --append --file="$tarf" --owner="${owner%:*}" --group="${owner#*:}" "${common[@]}" "$@"
}
blob() { # file media-type -> moves it into the layout's blobs; prints {"mediaType","digest","size"}
  local f=$1 mt=$2 d
  d=$(sha256sum <"$f" | cut -d' ' -f1)
  mv "$f" "$layout/blobs/sha256/$d"
  jq -cn --arg mt "$mt" --arg d "sha256:$d" --argjson s "$(stat -c %s "$layout/blobs/sha256/$d")" \
    '{mediaType: $mt, digest: $d, size: $s}'
}
layer() { # tar: appends its diff_id to $work/diff_ids, prints the gzip blob's descriptor
  local t=$1
  echo "sha256:$(sha256sum <"$t" | cut -d' ' -f1)" >>"$work/diff_ids"
  gzip -n <"$t" >"$t.gz"
  blob "$t.gz" application/vnd.oci.image.layer.v1.tar+gzip
}

base_rootfs() { # image dir
  local img=$1 dir=$2 p
  mkdir -p "$dir"
  for p in $(printf '%s\n' "${!ver[@]}" | sort); do
    [[ ,${imgs[$p]}, == *,$img,* ]] || continue
    dpkg-deb --fsys-tarfile "$cache/${p}_${ver[$p]//:/%3a}_${arch[$p]}.deb" \
      | tar -x --no-same-owner --no-same-permissions -C "$dir"
  done
  # only what a program loads: no programs, scripts, manuals, translations or changelogs
  rm -rf "${dir:?}"/{bin,sbin,usr/bin,usr/sbin,usr/libexec,usr/games,usr/share/man,usr/share/info} \
         "${dir:?}"/usr/share/{lintian,locale,bug,menu,bash-completion,gcc,gdb}
  find "$dir/usr/share/doc" -mindepth 2 ! -name copyright ! -type d -delete 2>/dev/null || true
  find "$dir" -depth -mindepth 1 -type d -empty -delete
  if [ -d "$dir/usr/share/ca-certificates" ]; then
    mkdir -p "$dir/etc/ssl/certs"
    if [ -n "$ca_bundle" ]; then
      cp "$ca_bundle" "$dir/etc/ssl/certs/ca-certificates.crt"
    else
      # like update-ca-certificates: every certificate of the package, in sorted order,
      # each ending in a newline
      (cd "$dir/usr/share/ca-certificates" && find . -name '*.crt' | sort | while read -r c; do
         sed -e '$a\' "$c"; done) >"$dir/etc/ssl/certs/ca-certificates.crt"
    fi
    [ -s "$dir/etc/ssl/certs/ca-certificates.crt" ] || die "$img: empty CA bundle"
  fi
  normalize "$dir"
}

check_rootfs() { # image rootfs program: every library it loads is there, and no shell
  local img=$1 dir=$2 prog=$3 todo seen='' f lib found d
  interp=$(readelf -l "$prog" | sed -n 's/.*Requesting program interpreter: \(.*\)]$/\1/p')
  [ -n "$interp" ] || die "$img: no program interpreter in $(basename "$prog")"
  [ -e "$dir$interp" ] || die "$img: the interpreter $interp is not in the image"
  todo=$prog
  while [ -n "$todo" ]; do
    set -- $todo; f=$1; shift; todo=$*
    for lib in $(objdump -p "$f" | awk '$1 == "NEEDED" {print $2}'); do
      case " $seen " in *" $lib "*) continue ;; esac
      seen="$seen $lib" found=''
      for d in lib/x86_64-linux-gnu usr/lib/x86_64-linux-gnu lib usr/lib; do
        [ -e "$dir/$d/$lib" ] && { found=$(readlink -f "$dir/$d/$lib"); break; }
      done
      [ -n "$found" ] || die "$img: $lib (needed by $(basename "$f")) is in no locked package"
      todo="$todo $found"
    done
  done
  for sh in bin/sh bin/bash bin/dash usr/bin/sh usr/bin/bash usr/bin/dash bin/busybox usr/bin/busybox; do
    [ ! -e "$dir/$sh" ] || die "$img: the image has a shell ($sh)"
  done
}

build_image() { # name uid entrypoint port
  local img=$1 uid=$2 port=$3
  layout=$out/$img
  local r=$work/$img
  [ -x "$bin/$img" ] || die "$bin/$img is not built"
  rm -rf "$layout" && mkdir -p "$layout/blobs/sha256"
  : >"$work/diff_ids"
  base_rootfs "$img" "$r/base"
  mkdir -p "$r/app/usr/local/bin" "$r/app/etc" "$r/app/data"
  cp "$bin/$img" "$r/app/usr/local/bin/$img"
  printf 'root:x:0:0:root:/root:/usr/sbin/nologin\n%s:x:%s:%s::/nonexistent:/usr/sbin/nologin\n' "$img" "$uid" "$uid" >"$r/app/etc/passwd"
  printf 'root:x:0:\n%s:x:%s:\n' "$img" "$uid" >"$r/app/etc/group"
  if [ "$img" = logd ]; then
    mkdir -p "$r/app/etc/xordi-tlog"
    cp "$root/deploy/logd-submitters" "$r/app/etc/xordi-tlog/logd-submitters"
  fi
  normalize "$r/app"
  chmod 0755 "$r/app/usr/local/bin/$img"
  chmod 0700 "$r/app/data"
  cp -a "$r/app/." "$r/base/"  # for the check: the two layers together
  check_rootfs "$img" "$r/base" "$r/app/usr/local/bin/$img"
  rm -rf "$r/base/usr/local" "$r/base/data" "$r/base/etc/passwd" "$r/base/etc/group" "$r/base/etc/xordi-tlog"
  find "$r/base" -depth -mindepth 1 -type d -empty -delete
  tar_layer "$r/base" "$work/$img-base.tar"
  tar_layer "$r/app" "$work/$img-app.tar" "$uid:$uid" data
  l1=$(layer "$work/$img-base.tar")
  l2=$(layer "$work/$img-app.tar")
  jq -cnS --arg user "$uid:$uid" --arg ep "/usr/local/bin/$img" --arg port "$port/tcp" \
     --argjson diffs "$(jq -Rcs 'split("\n") | map(select(. != ""))' "$work/diff_ids")" \
     '{architecture: "amd64", os: "linux",
       config: {User: $user, Entrypoint: [$ep], Env: ["PATH=/usr/local/bin:/usr/bin:/bin"],
                WorkingDir: "/", ExposedPorts: {($port): {}}, Volumes: {"/data": {}}},
       rootfs: {type: "layers", diff_ids: $diffs}}' | tr -d '\n' >"$work/config.json"
  cfg=$(blob "$work/config.json" application/vnd.oci.image.config.v1+json)
  jq -cnS --argjson cfg "$cfg" --argjson l1 "$l1" --argjson l2 "$l2" \
     '{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
       config: $cfg, layers: [$l1, $l2]}' | tr -d '\n' >"$work/manifest.json"
  man=$(blob "$work/manifest.json" application/vnd.oci.image.manifest.v1+json)
  jq -cnS --argjson m "$man" '{schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
     manifests: [$m + {annotations: {"org.opencontainers.image.ref.name": "latest"}}]}' >"$layout/index.json"
  printf '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"
  echo "$img $(jq -r .digest <<<"$man")"
}

mkdir -p "$out"
rm -f "$out/.inputs"
build_image logd 10001 8080
build_image collector 10002 8081
inputs >"$out/.inputs"
