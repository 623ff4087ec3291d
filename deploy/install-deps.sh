#!/usr/bin/env bash
# Installs what building, testing and the demo need on Debian 12, and nothing else.
# Idempotent: when every package is already present it only checks and returns.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)

debian_packages=(
  build-essential pkg-config clang llvm libclang-rt-14-dev
  libssl-dev openssl librocksdb-dev rocksdb-tools libmicrohttpd-dev libsecp256k1-dev
  libcurl4-openssl-dev libjansson-dev curl ca-certificates nginx-light jq
  man-db chromium fiu-utils libfiu-dev skopeo
)
# man-db: tests/install.test.sh renders the generated man pages with `man -l` (minimal
# Debian images leave it out). chromium: tests/report.test.sh renders `tlog audit
# --report` in headless Chromium (DOM text, widths, screenshot). fiu-utils (fiu-run,
# fiu-ctrl and libfiu's POSIX preload) and libfiu-dev: tests/logd-faults.test.sh fails
# logd's writes and fsyncs at run time. skopeo: the release workflow pushes the OCI
# layouts by digest with it (deploy/push-images.sh), and tests/images.test.sh copies
# them with it locally.
# Node.js may come from elsewhere (this image ships its own node and npm); Debian's
# nodejs conflicts with such an npm, so only ask for it when there is no node at all.
command -v node >/dev/null 2>&1 || debian_packages+=(nodejs)
command -v npm >/dev/null 2>&1 || debian_packages+=(npm)
# Some shell tests read JSON with python3 (Debian 12 ships it; minimal images may not).
command -v python3 >/dev/null 2>&1 || debian_packages+=(python3)

missing=()
for p in "${debian_packages[@]}"; do
  # dpkg-query prints "install ok installed" only for a fully installed package.
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing Debian packages: ${missing[*]}" >&2
    echo "install-deps: run as root (or: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >&2
  apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
fi

# npm packages (local chain, Solidity compiler, test cross-checks), pinned by the
# committed package-lock.json; `npm ci` only when node_modules does not match it.
if [ -f "$here/package-lock.json" ]; then
  stamp="$here/node_modules/.lock-sha256"
  want=$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "install-deps: npm ci" >&2
    (cd "$here" && npm ci --no-audit --no-fund >&2)
    echo "$want" > "$stamp"
  fi
fi
exit 0
