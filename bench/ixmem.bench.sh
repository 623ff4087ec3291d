#!/usr/bin/env bash
# logd's index merge sort (logd/ixmem.c): CPU to sort one merge's 2^18 keys with
# ixmem_sorted (counting passes on the first key bytes and the tag, then short runs)
# beside qsort of the same keys in the same order, in one process, best of 7 each.
set -euo pipefail
declare -A r
while read -r name value; do r[$name]=$value; done < <("$BIN/bench-ixmem" "${XT_BENCH_IXMEM_ROUNDS:-7}")
echo "### logd index merge sort (\`bench-ixmem\`, 2^18 keys)"
echo
echo "| sort | CPU per merge | per entry (2 keys) | vs qsort |"
echo "|---|---|---|---|"
for k in ixmem_sorted qsort; do
  awk -v k="$k" -v v="${r[$k]}" -v q="${r[qsort]}" \
    'BEGIN{printf "| %s | %.1f ms | %.3f us | %.2fx |\n", k, v, v*1e3/131072, q/v}'
done
