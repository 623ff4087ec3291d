#!/usr/bin/env bash
# Re-derives a release from its commit, for anyone: the image digests and compose hash
# the commit yields, compared with what a deployment claims.
#
#   deploy/rederive.sh COMMIT [--repo DIR|URL] [--image-repo PREFIX] [--lock FILE]
#       [--out DIR] [--tlog FILE] [--compose-hash HEX] [--rpc URL --app 0xAPP [--at RFC3339]]
#       [--report FILE [--collateral FILE] [--allow-simulated]]
#
# Clones --repo (default: the repository this script is in) into a temporary directory,
# checks out COMMIT and runs that commit's own `make release` there (deploy/release.sh:
# two clean builds compared bit for bit, the OCI images built from each and compared by
# digest, the compose rendered on them), with --image-repo PREFIX (the registry path the
# release's compose file names: PREFIX/logd@sha256:...; without it, the example.invalid
# references of a test release) and --lock FILE (default: the commit's package lock).
# Prints "commit HEX", "image logd sha256:...", "image collector sha256:...",
# "compose-hash HEX", then one MATCH or MISMATCH line per comparison asked for:
#   --compose-hash HEX   a compose hash you were given (release notes, the CVM's Info);
#   --rpc URL --app 0xAPP  the app's DstackApp contract allowed the hash by
#                        ComposeHashAdded (not removed since) at --at (default: now),
#                        read with `tlog kms-history --allowed`;
#   --report FILE        a dstack GetQuote response (quote + event log): the compose
#                        hash its RTMR3 replays to (`tlog verify-quote --report FILE
#                        --json`, with --collateral FILE for a real quote, or
#                        --allow-simulated for the dstack simulator's).
# --out DIR keeps the release's files (manifest.json, docker-compose.yml,
# app-compose.json, images/). --tlog: the tlog used for the comparisons (default: this
# checkout's bin/tlog). Downloads of locked packages are shared with this checkout's
# build/debs (each is checked against the lock).
# Exit 0: the commit's release reproduces and every comparison matches. 1: it does not
# reproduce, or a comparison does not match (named). 2: usage, I/O or RPC error.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
commit='' repo=$here image_repo='' lock='' out='' tlog=$here/bin/tlog
want_hash='' rpc='' app='' at='' report='' collateral='' allow_sim=0
usage() { sed -n '5,7p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
  case $1 in
    --repo) repo=${2-}; shift 2 ;;
    --image-repo) image_repo=${2-}; shift 2 ;;
    --lock) lock=${2-}; shift 2 ;;
    --out) out=${2-}; shift 2 ;;
    --tlog) tlog=${2-}; shift 2 ;;
    --compose-hash) want_hash=${2-}; shift 2 ;;
    --rpc) rpc=${2-}; shift 2 ;;
    --app) app=${2-}; shift 2 ;;
    --at) at=${2-}; shift 2 ;;
    --report) report=${2-}; shift 2 ;;
    --collateral) collateral=${2-}; shift 2 ;;
    --allow-simulated) allow_sim=1; shift ;;
    -h|--help) usage ;;
    -*) echo "rederive: unknown option '$1'" >&2; usage ;;
    *) [ -z "$commit" ] || { echo "rederive: one commit only" >&2; usage; }; commit=$1; shift ;;
  esac
done
say() { printf 'rederive: %s\n' "$*" >&2; }
[[ $commit =~ ^[0-9a-fA-F]{7,40}$|^v[0-9A-Za-z._-]+$ ]] || { say "COMMIT must be a commit id or a vX.Y.Z tag ('$commit')"; usage; }
[ -z "$want_hash" ] || [[ $want_hash =~ ^(0x)?[0-9a-fA-F]{64}$ ]] || { say "--compose-hash must be 64 hex digits"; exit 2; }
want_hash=${want_hash#0x}; want_hash=${want_hash,,}
if [ -n "$rpc$app" ] && { [ -z "$rpc" ] || [ -z "$app" ]; }; then say "give --rpc and --app together"; exit 2; fi
[ -z "$at" ] || [ -n "$rpc" ] || { say "--at needs --rpc and --app"; exit 2; }
[ -z "$collateral$([ $allow_sim = 1 ] && echo x)" ] || [ -n "$report" ] || { say "--collateral and --allow-simulated go with --report"; exit 2; }
[ -z "$report" ] || [ -f "$report" ] || { say "no such file: $report"; exit 2; }
[ -z "$lock" ] || lock=$(cd "$(dirname "$lock")" && pwd)/$(basename "$lock")
[ -z "$report" ] || report=$(cd "$(dirname "$report")" && pwd)/$(basename "$report")
if [ -n "$rpc$report" ] && [ ! -x "$tlog" ]; then say "no tlog at $tlog (make, or --tlog FILE)"; exit 2; fi

work=$(mktemp -d "${TMPDIR:-/tmp}/xt-rederive.XXXXXX")
trap 'rm -rf "$work"' EXIT
src=$work/src
git clone -q --no-checkout "$repo" "$src" 2>"$work/clone.err" || { sed 's/^/  /' "$work/clone.err" >&2; say "cannot clone $repo"; exit 2; }
git -C "$src" -c advice.detachedHead=false checkout -q "$commit^{commit}" 2>"$work/co.err" \
  || { sed 's/^/  /' "$work/co.err" >&2; say "$repo has no commit $commit"; exit 2; }
full=$(git -C "$src" rev-parse HEAD)
[ -f "$src/deploy/release.sh" ] || { say "commit $full has no deploy/release.sh"; exit 1; }
# The solc the commit pins, when this checkout's node_modules is the commit's
if [ -d "$here/node_modules" ] && cmp -s "$here/package-lock.json" "$src/package-lock.json"; then
  ln -s "$here/node_modules" "$src/node_modules"
fi
rel_out=${out:-$work/release}
args=(--out "$rel_out")
[ -z "$image_repo" ] || args+=(--image-repo "$image_repo")
[ -z "$lock" ] || args+=(--lock "$lock")
say "commit $full: running its deploy/release.sh (two builds, images, compose; a few minutes)"
if ! (cd "$src" && XT_DEB_CACHE=${XT_DEB_CACHE:-$here/build/debs} bash deploy/release.sh "${args[@]}") \
     >"$work/release.out" 2>"$work/release.err"; then
  grep -E 'FAIL|note:|cannot' "$work/release.err" | sed 's/^/  /' >&2 || tail -n 20 "$work/release.err" >&2
  say "NOT REPRODUCED: commit $full's release fails (above)"
  exit 1
fi
m=$rel_out/manifest.json
logd=$(jq -r '.images.logd.digest // empty' "$m")
coll=$(jq -r '.images.collector.digest // empty' "$m")
hash=$(jq -r '.compose.hash // empty' "$m")
[[ $hash =~ ^[0-9a-f]{64}$ ]] || { say "the release wrote no compose hash"; exit 1; }
echo "commit $full"
echo "image logd ${logd:-none}"
echo "image collector ${coll:-none}"
echo "compose-hash $hash"
[ "$(jq -r .compose.deployable "$m")" = true ] || say "note: no --image-repo: the example.invalid references of a test release, not a deployment's"

bad=0
if [ -n "$want_hash" ]; then
  if [ "$want_hash" = "$hash" ]; then echo "MATCH compose hash given"; else echo "MISMATCH compose hash given: $want_hash"; bad=1; fi
fi
if [ -n "$rpc" ]; then
  [ -n "$at" ] || at=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  set +e
  "$tlog" kms-history --rpc "$rpc" --app "$app" --allowed "$hash" --at "$at" >"$work/kms.out" 2>"$work/kms.err"
  rc=$?
  set -e
  case $rc in
    0) echo "MATCH allowed by DstackApp $app at $at (ComposeHashAdded)" ;;
    1) echo "MISMATCH not allowed by DstackApp $app at $at"; bad=1 ;;
    *) sed 's/^/  /' "$work/kms.err" >&2; say "tlog kms-history failed (exit $rc)"; exit 2 ;;
  esac
fi
if [ -n "$report" ]; then
  vq=(--report "$report" --json)
  [ -z "$collateral" ] || vq+=(--collateral "$collateral")
  [ $allow_sim = 0 ] || vq+=(--allow-simulated)
  set +e
  "$tlog" verify-quote "${vq[@]}" >"$work/vq.json" 2>"$work/vq.err"
  rc=$?
  set -e
  qh=$(jq -r '.compose_hash // empty' "$work/vq.json" 2>/dev/null || true)
  if [ $rc -eq 2 ]; then
    sed 's/^/  /' "$work/vq.err" >&2; say "tlog verify-quote: usage or I/O error"; exit 2
  elif [ $rc -ne 0 ]; then
    sed 's/^/  /' "$work/vq.err" | head -n 5 >&2
    echo "MISMATCH the quote does not verify (tlog verify-quote exit $rc)"; bad=1
  elif [ "$qh" = "$hash" ]; then
    echo "MATCH the quote's RTMR3 replays to this compose hash ($(jq -r .status "$work/vq.json"))"
  else
    echo "MISMATCH the quote's RTMR3 replays to compose hash ${qh:-none}"; bad=1
  fi
fi
exit $bad
