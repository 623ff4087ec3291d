#!/usr/bin/env bash
# Prepares (never signs, never sends) the transaction that allows a compose hash in the
# app's DstackApp contract on Base: addComposeHash(bytes32). The KMS releases the app's
# keys only to CVMs whose measured compose hash that contract allows.
#
#   deploy/prepare-add-compose-hash.sh --app 0xDSTACKAPP --hash HEX64 [--chain-id 8453]
#
# Prints one JSON object: {"chainId","to","value","data","function","compose_hash"},
# for the app owner to review and sign with their own wallet or multisig. The selector
# is the first 4 bytes of keccak256("addComposeHash(bytes32)") = dfc77223
# (tests/deploy.test.sh recomputes it with ethers).
set -euo pipefail
app='' hash='' chain=8453
while [ $# -gt 0 ]; do
  case $1 in
    --app) app=${2-}; shift 2 ;;
    --hash) hash=${2-}; shift 2 ;;
    --chain-id) chain=${2-}; shift 2 ;;
    *) sed -n '6p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
done
hash=${hash#0x}
[[ $app =~ ^0x[0-9a-fA-F]{40}$ ]] || { echo "prepare-add-compose-hash: --app must be 0x + 40 hex" >&2; exit 2; }
[[ $hash =~ ^[0-9a-f]{64}$ ]] || { echo "prepare-add-compose-hash: --hash must be 64 lower-case hex" >&2; exit 2; }
[[ $chain =~ ^[1-9][0-9]{0,9}$ ]] || { echo "prepare-add-compose-hash: bad --chain-id" >&2; exit 2; }
printf '{"chainId":%s,"to":"%s","value":"0x0","data":"0xdfc77223%s","function":"addComposeHash(bytes32)","compose_hash":"0x%s"}\n' \
  "$chain" "$app" "$hash" "$hash"
