#!/usr/bin/env bash
# Gas per anchor of TreeHeadAnchor on the pinned anvil, at real tree sizes
# (bench/anchor/gas.js: genuine RFC 9162 trees and consistency proofs, checked by the
# contract). Two growths between anchors: 1,000 entries and 1,000,000 entries.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
echo "### anchor: gas per anchor (\`node bench/anchor/gas.js --delta D\`, anvil 1.7.1, solc 0.8.28 cancun, optimizer 1000000 runs)"
echo
for d in 1000 1000000; do
  node bench/anchor/gas.js --delta "$d" >"$tmp"
  # The deploy/register/first-anchor line once, then the table.
  [ "$d" = 1000 ] && head -n 2 "$tmp"
  echo "Growth between two anchors: $d entries."
  echo
  tail -n +3 "$tmp"
  echo
done
echo "Target: <= 60,000 gas per anchor at 2^32 entries."
