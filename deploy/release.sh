#!/usr/bin/env bash
# `make release`: proves the build at HEAD is reproducible and writes release/manifest.json.
#
#   deploy/release.sh [--logd-image REPO@sha256:HEX --collector-image REPO@sha256:HEX]
#                     [--image-repo PREFIX] [--lock FILE] [--out DIR] [--keep]
#
# 1. Exports the commit at HEAD (git archive: only committed files, never the working
#    tree) into two fresh directories whose paths differ in name and length, and builds
#    every program (`make all`) in each with SOURCE_DATE_EPOCH = the commit time and a
#    clean environment that differs between the two (locale, time zone, umask, -j).
# 2. Compares every file in the two bin/ directories bit for bit; names each one that
#    differs (exit 1).
# 3. Scans every binary for what must not be embedded: either build directory, /tmp,
#    /home, /root, /work, and the build day's __DATE__ string (exit 1 when found).
# 4. Builds the OCI images of logd and collector (deploy/images/build-images.sh) from
#    each build's binaries and the package lock (default: the commit's
#    deploy/images/packages.lock; --lock for another, e.g. a fresh `make lock`), with a
#    different time zone and umask for each, and compares the image digests (exit 1 when
#    they differ). Build A's layouts go to DIR/images/. Given image references must carry
#    these digests; --image-repo PREFIX names them PREFIX/logd@sha256:... (deployable).
#    Skipped, and said so, when the commit has no bin/logd or no image builder.
# 5. Recompiles the anchor contract with the pinned solc and compares it with the
#    committed artifacts (skipped, and said so, when node_modules is missing).
# 6. Renders the compose file and app-compose.json and computes the compose hash: with
#    the image references given (or --image-repo), the deployable ones (deployment.conf
#    must hold no placeholder); without, example.invalid references carrying the built
#    images' digests (all zeros when no image was built), marked "deployable": false.
# 7. Writes DIR/manifest.json (default release/): commit, toolchain and library versions
#    (dpkg), binary SHA-256s, compose hash, contract bytecode hashes; and beside it
#    docker-compose.yml and app-compose.json.
# 8. Prints the release's entry for an auditor's policy `releases` section
#    ({compose_hash, manifest_sha256, commit, version}) and writes it to
#    DIR/policy-release.json.
# Exit 0: reproducible, manifest written. 1: a check failed (named). 2: usage/setup error.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/release
logd_image='' collector_image='' keep=0 image_repo='' lock=''
deb_cache=${XT_DEB_CACHE:-$root/build/debs}
usage() { sed -n '4,5p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
  case $1 in
    --logd-image) logd_image=${2-}; shift 2 ;;
    --collector-image) collector_image=${2-}; shift 2 ;;
    --out) out=${2-}; shift 2 ;;
    --image-repo) image_repo=${2-}; shift 2 ;;
    --lock) lock=${2-}; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) usage ;;
    *) echo "release: unknown argument '$1'" >&2; usage ;;
  esac
done
if [ -n "$logd_image$collector_image" ] && { [ -z "$logd_image" ] || [ -z "$collector_image" ]; }; then
  echo "release: give both --logd-image and --collector-image, or neither" >&2
  exit 2
fi

say() { printf 'release: %s\n' "$*" >&2; }
failures=()
fail() { say "FAIL: $*"; failures+=("$*"); }

cd "$root"
commit=$(git rev-parse --verify HEAD)
epoch=$(git log -1 --format=%ct HEAD)
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
  say "note: the working tree has uncommitted changes; they are not part of this release"
fi

work=$(mktemp -d /tmp/xt-release.XXXXXX)
cleanup() { [ $keep -eq 1 ] && say "kept $work" || rm -rf "$work"; }
trap cleanup EXIT
# Different names and lengths, so an embedded path cannot hide by coincidence.
dir_a=$work/a
dir_b=$work/build-b-with-a-longer-name/src
mkdir -p "$dir_a" "$dir_b"
git archive --format=tar HEAD | tar -x -C "$dir_a"
git archive --format=tar HEAD | tar -x -C "$dir_b"

build() { # dir locale tz umask jobs log
  local dir=$1 locale=$2 tz=$3 um=$4 jobs=$5 log=$6
  (cd "$dir" && umask "$um" &&
    env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$dir" LC_ALL="$locale" TZ="$tz" \
      SOURCE_DATE_EPOCH="$epoch" make -j"$jobs" all) >"$log" 2>&1
}
say "commit $commit, SOURCE_DATE_EPOCH=$epoch"
say "building in $dir_a"
build "$dir_a" C UTC 022 2 "$work/build-a.log" || { tail -n 30 "$work/build-a.log" >&2; say "build A failed"; exit 1; }
say "building in $dir_b"
build "$dir_b" C.UTF-8 Pacific/Kiritimati 077 1 "$work/build-b.log" || { tail -n 30 "$work/build-b.log" >&2; say "build B failed"; exit 1; }

# 2. bit-for-bit comparison of everything in bin/
names_a=$(cd "$dir_a/bin" && find . -type f | sort)
names_b=$(cd "$dir_b/bin" && find . -type f | sort)
[ "$names_a" = "$names_b" ] || fail "the two builds produced different sets of files in bin/"
nbins=0
for f in $names_a; do
  f=${f#./}
  nbins=$((nbins + 1))
  if ! cmp -s "$dir_a/bin/$f" "$dir_b/bin/$f"; then
    fail "bin/$f differs between the two builds ($(cmp "$dir_a/bin/$f" "$dir_b/bin/$f" 2>&1 | head -n 1))"
  fi
done
[ $nbins -gt 0 ] || fail "no binaries were built"
say "compared $nbins binaries"

# 3. embedded paths and times
build_day=$(LC_ALL=C date -u +'%b %e %Y')
for f in $names_a; do
  f=${f#./}
  for needle in "$dir_a" "$dir_b" "$work" /tmp/ /home/ /root/ /work/ "$build_day"; do
    if LC_ALL=C strings -a "$dir_a/bin/$f" | grep -qF -- "$needle"; then
      fail "bin/$f embeds '$needle'"
    fi
  done
done

# 4. the images, built from each build's binaries: the same digests
declare -A image_digest=()
if [ ! -f "$dir_a/deploy/images/build-images.sh" ] || [ ! -x "$dir_a/bin/logd" ] || [ ! -x "$dir_a/bin/collector" ]; then
  say "note: bin/logd, bin/collector or deploy/images/build-images.sh missing at this commit; images not built"
else
  lock_file=${lock:-$dir_a/deploy/images/packages.lock}
  [ -f "$lock_file" ] || { say "no package lock $lock_file"; exit 2; }
  lock_file=$(cd "$(dirname "$lock_file")" && pwd)/$(basename "$lock_file")
  build_images() { # dir tz umask name
    (cd "$1" && umask "$3" &&
      env -i PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin HOME="$1" LC_ALL=C TZ="$2" \
        SOURCE_DATE_EPOCH="$epoch" bash deploy/images/build-images.sh --bin bin \
        --lock "$lock_file" --cache "$deb_cache" --out "$work/images-$4") \
      >"$work/images-$4.digests" 2>"$work/images-$4.log"
  }
  say "building the images from build A's and build B's binaries (lock: $lock_file)"
  if build_images "$dir_a" UTC 022 a && build_images "$dir_b" Pacific/Kiritimati 077 b; then
    grep 'note:' "$work/images-a.log" >&2 || true
    if cmp -s "$work/images-a.digests" "$work/images-b.digests"; then
      while read -r name digest; do image_digest[$name]=$digest; done <"$work/images-a.digests"
      rm -rf "$out/images" && mkdir -p "$out/images"
      cp -R "$work/images-a/logd" "$work/images-a/collector" "$out/images/"
      say "images identical across the two builds: $(tr '\n' ' ' <"$work/images-a.digests")"
    else
      fail "the image digests differ between the two builds ($(tr '\n' ' ' <"$work/images-a.digests")vs $(tr '\n' ' ' <"$work/images-b.digests"))"
    fi
  else
    tail -n 20 "$work/images-a.log" "$work/images-b.log" >&2
    fail "the images do not build (see above)"
  fi
fi

# 5. the contract artifacts rebuild bit-identically
contract_check=skipped
if [ -d "$root/node_modules/solc" ] && command -v node >/dev/null; then
  mkdir -p "$work/contract"
  if NODE_PATH=$root/node_modules node "$dir_a/anchor/contracts/build.js" "$work/contract" >"$work/contract.log" 2>&1; then
    contract_check=identical
    for f in "$dir_a"/anchor/contracts/build/*; do
      b=$(basename "$f")
      if ! cmp -s "$f" "$work/contract/$b"; then
        contract_check=different
        fail "anchor/contracts/build/$b differs from a fresh solc build"
      fi
    done
  else
    tail -n 10 "$work/contract.log" >&2
    fail "the anchor contract does not rebuild"
    contract_check=failed
  fi
else
  say "note: node_modules/solc missing (run make deps); contract rebuild check skipped"
fi

# 6. compose file, app-compose.json, compose hash
mkdir -p "$out"
deployable=true
zero=sha256:$(printf '0%.0s' $(seq 64))
if [ -n "$logd_image" ]; then
  # a given reference must name the image this commit builds, not some other one
  for prog in logd collector; do
    ref=$logd_image; [ $prog = collector ] && ref=$collector_image
    if [ -n "${image_digest[$prog]-}" ] && [ "${ref##*@}" != "${image_digest[$prog]}" ]; then
      fail "--$prog-image $ref is not the image built from this commit (${image_digest[$prog]})"
    fi
  done
  render_flags=()
elif [ -n "$image_repo" ] && [ -z "${image_digest[logd]-}" ]; then
  fail "--image-repo $image_repo: no image was built, so there is nothing deployable to name"
  deployable=false
  logd_image=example.invalid/xordi-tlog/logd@$zero
  collector_image=example.invalid/xordi-tlog/collector@$zero
  render_flags=(--allow-placeholders)
elif [ -n "$image_repo" ]; then
  logd_image=$image_repo/logd@${image_digest[logd]}
  collector_image=$image_repo/collector@${image_digest[collector]}
  render_flags=()
else
  deployable=false
  logd_image=example.invalid/xordi-tlog/logd@${image_digest[logd]:-$zero}
  collector_image=example.invalid/xordi-tlog/collector@${image_digest[collector]:-$zero}
  render_flags=(--allow-placeholders)
  say "note: no image references given: the compose hash is an example (not deployable)"
fi
if bash "$dir_a/deploy/render-compose.sh" --conf "$dir_a/deploy/deployment.conf" \
     --template "$dir_a/deploy/docker-compose.template.yml" \
     --logd-image "$logd_image" --collector-image "$collector_image" \
     ${render_flags[@]+"${render_flags[@]}"} --out "$out/docker-compose.yml"; then
  line=$(bash "$dir_a/deploy/make-app-compose.sh" "$out/docker-compose.yml" \
           --conf "$dir_a/deploy/deployment.conf" --tlog "$dir_a/bin/tlog" --out "$out/app-compose.json") \
    || fail "app-compose.json generation failed"
  compose_hash=${line#compose-hash }
else
  fail "the compose file does not render (see above)"
  compose_hash=
fi

# 7. the manifest
status=reproducible
[ ${#failures[@]} -eq 0 ] || status=failed
pkgs=(gcc-12 cpp-12 binutils libc6-dev make pkg-config libssl-dev libssl3 librocksdb-dev
      librocksdb7.8 libmicrohttpd-dev libmicrohttpd12 libsecp256k1-dev libsecp256k1-1
      libcurl4-openssl-dev libcurl4 libjansson-dev libjansson4 zlib1g-dev liblz4-dev
      libzstd-dev libsnappy-dev libbz2-dev)
{
  for p in "${pkgs[@]}"; do
    v=$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null || true)
    [ -n "$v" ] && printf 'pkg\t%s\t%s\n' "$p" "$v"
  done
  printf 'tool\tcc\t%s\n' "$(cc --version | head -n 1)"
  printf 'tool\tmake\t%s\n' "$(make --version | head -n 1)"
  printf 'tool\tnode\t%s\n' "$(node --version 2>/dev/null || echo none)"
  printf 'tool\tdebian\t%s\n' "$(cat /etc/debian_version 2>/dev/null || echo unknown)"
  for f in $names_a; do
    f=${f#./}
    printf 'bin\t%s\t%s\t%s\n' "$f" "$(sha256sum <"$dir_a/bin/$f" | cut -d' ' -f1)" "$(stat -c %s "$dir_a/bin/$f")"
  done
  for f in "$dir_a"/anchor/contracts/build/*.bin; do
    [ -e "$f" ] || continue
    printf 'contract\t%s\t%s\n' "anchor/contracts/build/$(basename "$f")" "$(sha256sum <"$f" | cut -d' ' -f1)"
  done
  for f in "${failures[@]+"${failures[@]}"}"; do printf 'failure\t%s\n' "$f"; done
  for name in logd collector; do [ -n "${image_digest[$name]-}" ] && printf 'image\t%s\t%s\n' "$name" "${image_digest[$name]}"; done
  if [ ${#image_digest[@]} -gt 0 ]; then
    printf 'meta\tlock_sha256\t%s\n' "$(sha256sum <"$lock_file" | cut -d' ' -f1)"
    printf 'meta\tlock_file\t%s\n' "$([ -z "$lock" ] && echo deploy/images/packages.lock || basename "$lock_file")"
    grep -E '^(archive|tool|pkg) ' "$lock_file" | tr ' ' '\t' | sed 's/^/lock\t/'
  fi
  printf 'meta\tcommit\t%s\n' "$commit"
  printf 'meta\tversion\t%s\n' "$(cat "$dir_a/VERSION")"
  printf 'meta\tsource_date_epoch\t%s\n' "$epoch"
  printf 'meta\tstatus\t%s\n' "$status"
  printf 'meta\tcontract_rebuild\t%s\n' "$contract_check"
  printf 'meta\tcompose_hash\t%s\n' "$compose_hash"
  printf 'meta\tdeployable\t%s\n' "$deployable"
  printf 'meta\tlogd_image\t%s\n' "$logd_image"
  printf 'meta\tcollector_image\t%s\n' "$collector_image"
} >"$work/facts.tsv"

NODE_PATH=$root/node_modules node - "$work/facts.tsv" "$out/manifest.json" "$dir_a" <<'NODE'
'use strict';
const fs = require('fs');
const [facts, outPath, root] = process.argv.slice(2);
let keccak = null;
try { keccak = require('js-sha3').keccak256; } catch (e) { /* optional */ }
const meta = {};
for (const line of fs.readFileSync(facts, 'utf8').split('\n')) {
  const f = line.split('\t');
  if (f[0] === 'meta') meta[f[1]] = f[2];
}
const m = {
  manifest_version: 1,
  commit: meta.commit,
  version: meta.version,
  source_date_epoch: Number(meta.source_date_epoch),
  reproducible: meta.status === 'reproducible',
  toolchain: {},
  packages: {},
  binaries: {},
  shipped_in_images: { logd: 'bin/logd', collector: 'bin/collector', built_by: 'deploy/images/build-images.sh' },
  contracts: {},
  contract_rebuild: meta.contract_rebuild,
  compose: {
    hash: meta.compose_hash || null,
    deployable: meta.deployable === 'true',
    logd_image: meta.logd_image,
    collector_image: meta.collector_image,
    files: ['docker-compose.yml', 'app-compose.json'],
  },
  failures: [],
  images: {},
  package_lock: null,
};
if (meta.lock_sha256) {
  m.package_lock = { file: meta.lock_file, sha256: meta.lock_sha256, archive: [], toolchain: {}, packages: {} };
}
for (const line of fs.readFileSync(facts, 'utf8').split('\n')) {
  if (!line) continue;
  const f = line.split('\t');
  if (f[0] === 'pkg') m.packages[f[1]] = f[2];
  else if (f[0] === 'tool') m.toolchain[f[1]] = f[2];
  else if (f[0] === 'bin') m.binaries['bin/' + f[1]] = { sha256: f[2], bytes: Number(f[3]) };
  else if (f[0] === 'contract') {
    const c = { file_sha256: f[2] };
    if (keccak) {
      const hex = fs.readFileSync(root + '/' + f[1], 'utf8').trim().replace(/^0x/, '');
      c.initcode_keccak256 = '0x' + keccak(Buffer.from(hex, 'hex'));
    }
    m.contracts[f[1]] = c;
  } else if (f[0] === 'failure') m.failures.push(f[1]);
  else if (f[0] === 'image') m.images[f[1]] = { digest: f[2] };
  else if (f[0] === 'lock' && m.package_lock) {
    const l = m.package_lock;
    if (f[1] === 'archive') l.archive.push({ label: f[2], suite: f[3], date: f[4] });
    else if (f[1] === 'tool') l.toolchain[f[2]] = f[3];
    else if (f[1] === 'pkg') l.packages[f[2]] = { version: f[3], arch: f[4], sha256: f[5], filename: f[6], images: f[7].split(',') };
  }
}
fs.writeFileSync(outPath + '.tmp', JSON.stringify(m, null, 2) + '\n');
fs.renameSync(outPath + '.tmp', outPath);
NODE

if [ ${#failures[@]} -gt 0 ]; then
  say "NOT REPRODUCIBLE or checks failed (${#failures[@]}):"
  for f in "${failures[@]}"; do printf '  - %s\n' "$f" >&2; done
  say "manifest (marked failed): $out/manifest.json"
  exit 1
fi
say "OK: $nbins binaries bit-identical across two builds; contract rebuild: $contract_check"
say "compose hash $compose_hash ($([ "$deployable" = true ] && echo deployable || echo 'example, not deployable'))"
say "manifest: $out/manifest.json"
# 8. The release's entry for an auditor's policy (SPEC.md 6.3, `releases`): printed on
#    stdout and written to DIR/policy-release.json. An example compose hash (no images
#    given) is printed too, marked so on stderr: no deployment runs it.
manifest_sha=$(sha256sum <"$out/manifest.json" | cut -d' ' -f1)
if [ -n "$compose_hash" ]; then
  entry=$(printf '{"compose_hash":"%s","manifest_sha256":"%s","commit":"%s","version":"%s"}' \
    "$compose_hash" "$manifest_sha" "$commit" "$(tr -d ' \n' <"$dir_a/VERSION")")
  printf '%s\n' "$entry" >"$out/policy-release.json"
  printf '%s\n' "$entry"
  say "policy entry (releases[]): $out/policy-release.json$([ "$deployable" = true ] || echo ' (example compose hash: list it only for tests)')"
fi
