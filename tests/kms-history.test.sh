#!/usr/bin/env bash
# tlog kms-history against a stand-in DstackApp on anvil (tests/kms/): every event with
# its block time, and "was this compose hash allowed at time T" before, during and after
# its removal and re-addition.
set -u
root=${XT_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
BIN=${BIN:-bin}
cd "$root" || exit 2
. tests/lib/harness.sh
harness_init kms tlog
TLOG=$B/tlog

port=$(free_port)
"$ANVIL" --host 127.0.0.1 --port "$port" --silent &
pids+=($!)
U=http://127.0.0.1:$port
for _ in $(seq 300); do
  curl -s -m 2 -H 'Content-Type: application/json' -d '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' "$U" | grep -q result && break
  sleep 0.02
done

H1=$(printf 'app-compose v1' | sha256sum | cut -d' ' -f1)
H2=$(printf 'app-compose v2' | sha256sum | cut -d' ' -f1)
if ! node tests/kms/standin.js "$U" "$H1" "$H2" >"$tmp/want.json" 2>"$tmp/standin.err"; then
  nok "stand-in DstackApp deployed and driven"; sed 's/^/#   /' "$tmp/standin.err"; exit 1
fi
ok "stand-in DstackApp deployed and driven"
APP=$(jq -r .address "$tmp/want.json")

"$TLOG" kms-history --rpc "$U" --app "$APP" --json >"$tmp/got.json" 2>"$tmp/err"
check "kms-history exits 0" [ $? = 0 ]
norm='[.events[] | {event, block, time} + (if .compose_hash then {compose_hash} else {} end)
       + (if .implementation then {implementation} else {} end) + (if .new_owner then {new_owner} else {} end)]'
check "every event, in order, with block and time (same as ethers reads)" \
  [ "$(jq -c "$norm" "$tmp/got.json")" = "$(jq -c "$norm" "$tmp/want.json")" ]
check "7 events: deployment's ownership, 3 adds, 1 removal, upgrade, transfer" [ "$(jq '.events | length' "$tmp/got.json")" = 7 ]
"$TLOG" kms-history --rpc "$U" --app "$APP" >"$tmp/table.txt"
check "human table names the events" grep -q "ComposeHashRemoved.*$H1" "$tmp/table.txt"

t_of() { jq -r ".events[$1].time" "$tmp/want.json"; }
plus() { date -u -d "$1 + $2 seconds" +%Y-%m-%dT%H:%M:%SZ; }
add1=$(t_of 1); add2=$(t_of 2); rem1=$(t_of 3); readd1=$(t_of 6)
allowed() { "$TLOG" kms-history --rpc "$U" --app "$APP" --allowed "$1" --at "$2" >/dev/null 2>&1; echo $?; }
check "H1 not allowed before its addition" [ "$(allowed "$H1" "$(plus "$add1" -1)")" = 1 ]
check "H1 allowed from its addition" [ "$(allowed "$H1" "$add1")" = 0 ]
check "H1 allowed until its removal" [ "$(allowed "$H1" "$(plus "$rem1" -1)")" = 0 ]
check "H1 not allowed after its removal" [ "$(allowed "$H1" "$(plus "$rem1" 60)")" = 1 ]
check "H1 allowed again after re-addition by the new owner" [ "$(allowed "$H1" "$readd1")" = 0 ]
check "H2 allowed after its addition" [ "$(allowed "$H2" "$(plus "$add2" 10)")" = 0 ]
check "an unknown hash is never allowed" [ "$(allowed "$(printf x | sha256sum | cut -d' ' -f1)" "$readd1")" = 1 ]
dep=$(jq -r '.events[0].block' "$tmp/want.json")
"$TLOG" kms-history --rpc "$U" --app "$APP" --to-block "$dep" --json >"$tmp/first.json"
check "--to-block: only the deployment's OwnershipTransferred" \
  [ "$(jq -c '[.events[].event]' "$tmp/first.json")" = '["OwnershipTransferred"]' ]
"$TLOG" kms-history --rpc "$U" --app "$APP" --from-block "$((dep + 1))" --json >"$tmp/rest.json"
check "--from-block: the rest" [ "$(jq '.events | length' "$tmp/rest.json")" = 6 ]
"$TLOG" kms-history --rpc "$U" --app "$APP" --to-block "$(printf '0x%x' "$dep")" --json >"$tmp/first-hex.json"
check "--to-block in 0x-hex: the same block" cmp -s "$tmp/first.json" "$tmp/first-hex.json"
"$TLOG" kms-history --rpc "$U" --app "$APP" --to-block "0$dep" >/dev/null 2>&1
check "--to-block with a leading zero is a usage error (not read as octal)" [ $? = 2 ]
"$TLOG" kms-history --rpc "$U" --app 0x1234 >/dev/null 2>&1
check "a malformed --app is a usage error" [ $? = 2 ]
"$TLOG" kms-history --rpc "http://127.0.0.1:1" --app "$APP" >/dev/null 2>&1
check "an unreachable node is exit 2" [ $? = 2 ]
[ $fails -eq 0 ]
