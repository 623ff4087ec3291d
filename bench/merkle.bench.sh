#!/usr/bin/env bash
# Merkle hashing and appends, beside OpenSSL's own SHA-256 rate on 64-byte inputs
# (a node hash is SHA-256 of 65 bytes; the same two compression calls).
set -euo pipefail
n=${XT_BENCH_MERKLE_N:-4000000}
ossl=$(openssl speed -evp sha256 -bytes 64 -seconds 3 2>/dev/null | awk '/^sha256/{print $2}' | tr -d k)
# openssl prints thousands of bytes per second; 64 bytes per hash.
ossl_rate=$(awk -v k="$ossl" 'BEGIN{printf "%.0f", k*1000/64}')
declare -A r
while read -r name value unit; do r[$name]=$value; done < <("$BIN/bench-merkle" "$n")
echo "### merkle (\`bench-merkle $n\`)"
echo
echo "| measure | rate | vs openssl speed -evp sha256 (64 B): $ossl_rate hashes/s |"
echo "|---|---|---|"
for k in node_hash leaf_hash_100B append append_with_leaf_hash_100B; do
  awk -v k="$k" -v v="${r[$k]}" -v o="$ossl_rate" 'BEGIN{printf "| %s | %.2f M/s | %.0f%% |\n", k, v/1e6, 100*v/o}'
done
