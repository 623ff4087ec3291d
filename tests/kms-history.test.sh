#!/usr/bin/env bash
# tlog kms-history against KMS stand-ins with the real contracts' events (tests/kms/
# KmsStandins.sol: DstackKms behind an ERC-1967 proxy, a DstackApp made by its factory,
# two-step ownership, an upgrade to an implementation that allows every compose hash),
# with ~4,500 blocks of history, read through a proxy that behaves like a public Base
# endpoint: eth_getLogs over 2,000 blocks refused, every 7th request rate-limited.
# Every event must come back exactly as ethers reads it from the chain directly.
set -u
root=${XT_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root"
BIN=${BIN:-bin}
. tests/lib/harness.sh
harness_init kms-history tlog
TLOG=$B/tlog

port=$(free_port)
# An archive node: state kept for every block (anvil keeps ~3,500 by default), so the
# creation block can be found by eth_getCode. A pruned node is played by the proxy.
"$ANVIL" --host 127.0.0.1 --port "$port" --silent --max-persisted-states 100000 &
pids+=($!)
U=http://127.0.0.1:$port
for _ in $(seq 300); do
  curl -s -m 2 -H 'Content-Type: application/json' -d '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' "$U" | grep -q result && break
  sleep 0.02
done

# start_proxy ARGS...: a range-limited proxy in front of the chain; sets P (its URL).
start_proxy() {
  node tests/kms/rpc-limit-proxy.js --upstream "$U" "$@" >"$tmp/proxy.port" 2>"$tmp/proxy.err" &
  pids+=($!)
  wait_file "$tmp/proxy.port" $! || sed 's/^/#   proxy: /' "$tmp/proxy.err"
  P=http://127.0.0.1:$(head -n 1 "$tmp/proxy.port")
}
stats() { curl -s "$P/stats"; }

H1=$(printf 'app-compose v1' | sha256sum | cut -d' ' -f1)
H2=$(printf 'app-compose v2' | sha256sum | cut -d' ' -f1)
OS1=$(printf 'os image 0.6.0' | sha256sum | cut -d' ' -f1)
if ! node tests/kms/history.js "$U" "$H1" "$H2" "$OS1" --gap 180 >"$tmp/want.json" 2>"$tmp/history.err"; then
  nok "KMS stand-ins deployed and driven"; sed 's/^/#   /' "$tmp/history.err"; exit 1
fi
ok "KMS stand-ins deployed and driven ($(jq '.events | length' "$tmp/want.json") events over $(jq .head "$tmp/want.json") blocks)"
APP=$(jq -r .app "$tmp/want.json")
KMS=$(jq -r .kms "$tmp/want.json")

start_proxy --max-range 2000 --flaky 7
"$TLOG" kms-history --rpc "$P" --app "$APP" --kms "$KMS" --json >"$tmp/got.json" 2>"$tmp/err"
check "kms-history through a 2,000-block, rate-limiting endpoint exits 0" [ $? = 0 ]
norm='[.events[] | {contract, event, block, log_index, time, tx: (.tx | ascii_downcase), args}]'
check "every event of both contracts, in order, decoded exactly as ethers reads them" \
  [ "$(jq -cS "$norm" "$tmp/got.json")" = "$(jq -cS "$norm" "$tmp/want.json")" ]
for e in ComposeHashAdded ComposeHashRemoved DeviceAdded DeviceRemoved AllowAnyDeviceSet \
  RequireTcbUpToDateSet UpgradesDisabled Upgraded OwnershipTransferStarted OwnershipTransferred \
  Initialized AppRegistered KmsInfoSet KmsAggregatedMrAdded KmsAggregatedMrRemoved KmsDeviceAdded \
  KmsDeviceRemoved OsImageHashAdded OsImageHashRemoved GatewayAppIdSet AppImplementationSet \
  AppDeployedViaFactory PolicyChanged; do
  jq -e --arg e "$e" '[.events[] | select(.event == $e)] | length > 0' "$tmp/got.json" >/dev/null || nok "event $e listed"
done
ok "all 23 event types of DstackApp, DstackKms (PolicyChanged, dstack's audit event, included) and their proxy and ownership bases are listed"
s=$(stats)
check "no request exceeded the endpoint's range (largest $(jq .max_range_served <<<"$s"), refused $(jq .refused <<<"$s"))" \
  [ "$(jq '.refused == 0 and .max_range_served <= 2000' <<<"$s")" = true ]
check "rate-limited requests were retried ($(jq .rate_limited <<<"$s") answered 429)" [ "$(jq '.rate_limited > 0' <<<"$s")" = true ]
check "read from each contract's creation block (found by eth_getCode), not block 0" \
  [ "$(jq .from_block "$tmp/got.json")" = "$(jq .kms_created "$tmp/want.json")" ]
check "the hostile upgrade is visible: Upgraded to the allow-all implementation by the new owner's contract" \
  [ "$(jq -r --arg i "$(jq -r .allow_all_impl "$tmp/want.json")" '[.events[] | select(.contract == "app" and .event == "Upgraded" and .args.implementation == $i)] | length' "$tmp/got.json")" = 1 ]

kill "${pids[-1]}" 2>/dev/null
start_proxy --max-range 2000
"$TLOG" kms-history --rpc "$P" --app "$APP" --kms "$KMS" --max-block-range 5000 --json >"$tmp/halved.json" 2>"$tmp/err"
s=$(stats)
check "--max-block-range above the endpoint's limit: refused ranges are halved, same events" \
  [ "$(jq -cS "$norm" "$tmp/halved.json")" = "$(jq -cS "$norm" "$tmp/want.json")" ] \
  && [ "$(jq '.refused > 0 and .max_range_served <= 2000' <<<"$s")" = true ]
"$TLOG" kms-history --rpc "$P" --app "$APP" >"$tmp/table.txt"
check "human table: one line per app event, arguments named" \
  grep -q "app  ComposeHashRemoved  *composeHash=$H1" "$tmp/table.txt"

t_of() { jq -r --arg e "$1" --arg h "$2" '[.events[] | select(.event == $e and .args.composeHash == $h)][0].time' "$tmp/want.json"; }
plus() { date -u -d "$1 + $2 seconds" +%Y-%m-%dT%H:%M:%SZ; }
add1=$(t_of ComposeHashAdded "$H1"); add2=$(t_of ComposeHashAdded "$H2"); rem1=$(t_of ComposeHashRemoved "$H1")
allowed() { "$TLOG" kms-history --rpc "$P" --app "$APP" --allowed "$1" --at "$2" >/dev/null 2>&1; echo $?; }
check "H1 not allowed before the factory's initial ComposeHashAdded" [ "$(allowed "$H1" "$(plus "$add1" -1)")" = 1 ]
check "H1 allowed from it" [ "$(allowed "$H1" "$add1")" = 0 ]
check "H1 not allowed after its removal" [ "$(allowed "$H1" "$(plus "$rem1" 60)")" = 1 ]
check "H2 allowed after its addition" [ "$(allowed "$H2" "$(plus "$add2" 10)")" = 0 ]

created=$(jq .app_created "$tmp/want.json")
"$TLOG" kms-history --rpc "$P" --app "$APP" --from-block "$created" --to-block "$created" --json >"$tmp/first.json"
check "--from-block/--to-block: the creation block's events only" \
  [ "$(jq -c '[.events[].event]' "$tmp/first.json")" = '["Upgraded","DeviceAdded","PolicyChanged","ComposeHashAdded","PolicyChanged","OwnershipTransferred","Initialized"]' ]
"$TLOG" kms-history --rpc "$P" --app "$APP" --from-block 0x0 --to-block "$(printf '0x%x' "$created")" --json >"$tmp/hex.json"
check "block numbers in 0x hex" [ "$(jq '.events | length' "$tmp/hex.json")" = 7 ]
kill "${pids[-1]}" 2>/dev/null
start_proxy --max-range 2000 --state-window 1000
"$TLOG" kms-history --rpc "$P" --app "$APP" --json >/dev/null 2>"$tmp/err"
"$TLOG" kms-history --rpc "$P" --app "$APP" --kms "$KMS" --json >"$tmp/pruned0.json" 2>"$tmp/err"
check "a pruned node: the creation block cannot be found, so every block from 0 is read (said on stderr), same events" \
  [ $? = 0 ] && grep -q "creation blocks are unknown: read from block 0" "$tmp/err" &&
  [ "$(jq -cS "$norm" "$tmp/pruned0.json")" = "$(jq -cS "$norm" "$tmp/want.json")" ] &&
  [ "$(jq .from_block "$tmp/pruned0.json")" = 0 ]
"$TLOG" kms-history --rpc "$P" --app "$APP" --from-block "$created" --json >"$tmp/pruned.json" 2>"$tmp/err"
check "... and with --from-block the same history" \
  [ "$(jq -cS "[.events[] | select(.contract == \"app\")] | length" "$tmp/pruned.json")" = \
    "$(jq -cS "[.events[] | select(.contract == \"app\")] | length" "$tmp/want.json")" ]
"$TLOG" kms-history --rpc "$P" --app 0x1234 >/dev/null 2>&1
check "a malformed --app is a usage error" [ $? = 2 ]
"$TLOG" kms-history --rpc "$P" --app "$APP" --max-block-range 0 >/dev/null 2>&1
check "--max-block-range 0 is a usage error" [ $? = 2 ]
"$TLOG" kms-history --rpc "$P" --app 0x00000000000000000000000000000000000000cc >/dev/null 2>"$tmp/err"
check "an address without code: exit 2 naming it" [ $? = 2 ] && grep -q "no contract code" "$tmp/err"
"$TLOG" kms-history --rpc "http://127.0.0.1:1" --app "$APP" >/dev/null 2>&1
check "an unreachable node is exit 2" [ $? = 2 ]
[ $fails -eq 0 ]
