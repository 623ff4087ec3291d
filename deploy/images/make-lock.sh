#!/usr/bin/env bash
# `make lock`: writes the package lock the container images are built from.
#
#   deploy/images/make-lock.sh [--bin DIR] [--out FILE]
#
# For logd and collector (DIR/logd, DIR/collector; default bin/), the shared libraries
# each binary loads (ldd) are mapped to their Debian packages (dpkg -S); both also get
# ca-certificates: the CA store libcurl verifies TLS against (the collector's egress,
# logd's anchor RPC), which no library depends on. Each
# package is pinned at the version apt would install now, with the SHA-256 from the
# archive's Packages index (signed by the archive's InRelease, which apt verified at
# `apt-get update`). The lock also records the archive's Release dates (so a verifier
# knows which snapshot.debian.org timestamp holds these versions) and the installed
# toolchain versions the binaries were built with (build-images.sh compares them).
# Only the packages the programs load are listed, not their dependency closure: the
# images hold shared libraries, never maintainer scripts or a shell.
# Output lines (space separated, sorted):
#   archive LABEL CODENAME DATE           the InRelease Date of each suite apt reads
#   tool PACKAGE VERSION                  installed build toolchain
#   pkg NAME VERSION ARCH SHA256 FILENAME IMAGES   (IMAGES: comma-separated)
# Exit 0: written. 1: a library has no package or a package is not in the archive.
# 2: usage.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=$root/bin
out=$root/deploy/images/packages.lock
usage() { sed -n '4p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
  case $1 in
    --bin) bin=${2-}; shift 2 ;;
    --out) out=${2-}; shift 2 ;;
    -h|--help) usage ;;
    *) echo "make-lock: unknown argument '$1'" >&2; usage ;;
  esac
done
die() { echo "make-lock: $*" >&2; exit 1; }

# The toolchain whose versions decide the bytes of the binaries and of the layers.
tools=(gcc-12 cpp-12 binutils libc6-dev make pkg-config libssl-dev librocksdb-dev
       libmicrohttpd-dev libsecp256k1-dev libcurl4-openssl-dev libjansson-dev tar gzip dpkg)

owner() { # path of a shared library -> its package name
  local lib=$1 cand p
  for cand in "$lib" "$(readlink -f "$lib")" "/usr$lib" "${lib#/usr}"; do
    p=$(dpkg -S "$cand" 2>/dev/null | head -n 1) || continue
    [ -n "$p" ] && { p=${p%%: *}; echo "${p%%:*}"; return 0; }
  done
  return 1
}

libs_of() { # binary -> absolute paths of every library it loads, interpreter included
  ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'
}

declare -A images=()
for prog in logd collector; do
  [ -x "$bin/$prog" ] || die "$bin/$prog is not built (make all)"
  libs=$(libs_of "$bin/$prog")
  [ -n "$libs" ] || die "ldd found no libraries for $bin/$prog"
  pkgs=()
  for lib in $libs; do
    p=$(owner "$lib") || die "no Debian package holds $lib (loaded by $prog)"
    pkgs+=("$p")
  done
  pkgs+=(ca-certificates)
  for p in $(printf '%s\n' "${pkgs[@]}" | LC_ALL=C sort -u); do
    images[$p]=${images[$p]:+${images[$p]},}$prog
  done
done

tmp=$out.tmp.$$
trap 'rm -f "$tmp"' EXIT
{
  echo "# Package lock of the container images (deploy/images/build-images.sh)."
  echo "# Written by \`make lock\` (deploy/images/make-lock.sh); changed only by a reviewed commit."
  for f in /var/lib/apt/lists/*_InRelease; do
    [ -e "$f" ] || die "apt has no package index (run apt-get update)"
    label=$(sed -n 's/^Label: //p' "$f" | head -n 1 | tr 'A-Z ' 'a-z-')
    suite=$(sed -n 's/^Codename: //p' "$f" | head -n 1)
    date=$(sed -n 's/^Date: //p' "$f" | head -n 1)
    [ -n "$label" ] && [ -n "$suite" ] && [ -n "$date" ] \
      && echo "archive $label $suite $(date -u -d "$date" +%Y%m%dT%H%M%SZ)"
  done | LC_ALL=C sort
  for t in "${tools[@]}"; do
    v=$(dpkg-query -W -f='${Version}' "$t" 2>/dev/null || true)
    echo "tool $t ${v:-none}"
  done
  for p in $(printf '%s\n' "${!images[@]}" | LC_ALL=C sort); do
    # --no-all-versions: the candidate, i.e. what the archive apt reads offers now
    rec=$(apt-cache show --no-all-versions "$p" 2>/dev/null) || die "$p is not in the archive apt reads"
    field() { printf '%s\n' "$rec" | sed -n "s/^$1: //p" | head -n 1; }
    v=$(field Version) a=$(field Architecture) s=$(field SHA256) fn=$(field Filename)
    [[ $s =~ ^[0-9a-f]{64}$ ]] && [ -n "$v" ] && [ -n "$a" ] && [ -n "$fn" ] \
      || die "the archive's record of $p is incomplete"
    echo "pkg $p $v $a $s $fn ${images[$p]}"
  done
} >"$tmp"
mv "$tmp" "$out"
trap - EXIT
echo "make-lock: wrote $out ($(grep -c '^pkg ' "$out") packages)" >&2
