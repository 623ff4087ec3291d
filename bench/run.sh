#!/usr/bin/env bash
# make bench: every benchmark, each printed beside the limit it is measured against,
# taken in the same run on the same machine. Sections are bench/*.bench.sh scripts
# (one per component); each prints Markdown that this script also appends, with the
# date, machine and command, to bench/RESULTS.md when XT_BENCH_RECORD=1.
set -euo pipefail
cd "$(dirname "$0")/.."
export BIN=${BIN:-bin}
out=$(mktemp)
{
  echo "## Run of $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "Machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), commit $(git rev-parse --short HEAD 2>/dev/null || echo none)."
  echo "Command: \`make bench\`"
  echo
  for s in bench/*.bench.sh; do
    bash "$s"
    echo
  done
} | tee "$out"
if [ "${XT_BENCH_RECORD:-0}" = 1 ]; then
  { echo; cat "$out"; } >> bench/RESULTS.md
fi
rm -f "$out"
