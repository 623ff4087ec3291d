#!/usr/bin/env bash
# logd anchoring its own checkpoints on a local chain (anvil), end to end with real
# processes: logd --dev --anchor-rpc/--anchor-contract/--anchor-key/--anchor-interval.
#  - logd anchors several times as the log grows; `tlog anchor list --json` shows each
#    anchor, and /v1/checkpoints/<size> serves the checkpoint whose SHA-256 is on chain;
#  - /v1/log names the anchor (contract, chain id, size, root, tx, block, time), /metrics
#    counts it;
#  - anvil stopped mid-run (state kept with --state) and restarted: logd keeps
#    sequencing meanwhile, logs the failures and anchoring resumes;
#  - rollback defence: logd refuses to start on an older copy of its data directory
#    once the chain holds a larger head, and when the RPC node is unreachable;
#  - an unregistered log starts (anchoring waits for registration) and says so;
#  - --anchor-max-age: with the node away, writes get 503 once nothing was anchored for
#    longer than the bound (exact message, metrics), and are accepted again once an
#    anchor confirms.
set -u
root=${XT_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root"
BIN=${BIN:-bin}
. "$root/tests/lib/harness.sh"
harness_init logd-anchor tlog logd
TLOG=$B/tlog
LOGD=$B/logd
cond() { eval "$1"; } # one check over a compound condition

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
rpc() { curl -s -m 5 -H 'Content-Type: application/json' -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$2\",\"params\":${3:-[]}}" "$1"; }
start_anvil() { # PORT ARGS...
  local port=$1; shift
  "$ANVIL" --host 127.0.0.1 --port "$port" --chain-id 84532 --prune-history --silent "$@" &
  anvil_pid=$!
  pids+=("$anvil_pid")
  for _ in $(seq 300); do
    case $(rpc "http://127.0.0.1:$port" eth_chainId 2>/dev/null) in *'"0x14a34"'*) return 0 ;; esac
    sleep 0.02
  done
  return 1
}
stop_pid() { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; }

# start_logd DIR ORIGIN [extra args]: sets logd_pid and URL; 0 when serving.
start_logd() {
  local dir=$1 origin=$2; shift 2
  local port; port=$(free_port)
  URL=http://127.0.0.1:$port
  "$LOGD" --dev --data "$dir" --listen "127.0.0.1:$port" --origin "$origin" --checkpoint-interval-ms 100 \
    --anchor-rpc "$U" --anchor-contract "$C" --anchor-key "$tmp/anchorer.key" --anchor-interval 1 "$@" \
    >"$dir.out" 2>>"$dir.log" &
  logd_pid=$!
  pids+=("$logd_pid")
  wait_healthy "$URL" "$logd_pid"
}
# add N TAG: N events, the last waiting for a checkpoint; prints the checkpoint size.
add() {
  local tok; tok=$(cat "$D/dev-token")
  python3 -c 'import json,sys; print(json.dumps([{"type":"t","tag":sys.argv[2],"i":i} for i in range(int(sys.argv[1]))]))' "$1" "$2" >"$tmp/batch.json"
  curl -sf -H "Authorization: Bearer $tok" --data-binary @"$tmp/batch.json" "$URL/v1/add-batch" >/dev/null || return 1
  curl -sf -H "Authorization: Bearer $tok" --data-binary "{\"type\":\"mark\",\"tag\":\"$2\"}" \
    "$URL/v1/add?wait=checkpoint" | jq -r '.checkpoint' | sed -n 2p
}
anchor_size() { curl -s "$URL/v1/log" | jq -r '.anchor.size // 0'; }
# wait_anchor SIZE [SECONDS]: until /v1/log's anchor reaches SIZE.
wait_anchor() {
  local want=$1 n=$(( ${2:-30} * 10 ))
  for _ in $(seq "$n"); do
    [ "$(anchor_size)" -ge "$want" ] 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

echo ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80 >"$tmp/owner.key"
echo 59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d >"$tmp/anchorer.key"
chmod 600 "$tmp"/*.key
port=$(free_port)
state=$tmp/anvil-state.json
start_anvil "$port" --state "$state" || { nok "anvil starts"; exit 1; }
U=http://127.0.0.1:$port
C=$("$TLOG" anchor deploy --rpc "$U" --private-key "$tmp/owner.key" 2>"$tmp/deploy.err") || { nok "deploy: $(cat "$tmp/deploy.err")"; exit 1; }
O=example.org/xordi/anchored
A=$("$TLOG" anchor address --private-key "$tmp/anchorer.key")
"$TLOG" anchor register --rpc "$U" --private-key "$tmp/owner.key" --contract "$C" --origin "$O" --anchorer "$A" >/dev/null ||
  { nok "register"; exit 1; }

# --- usage errors ---
"$LOGD" --dev --data "$tmp/u" --listen 127.0.0.1:0 --origin "$O" --anchor-rpc "$U" --anchor-contract "$C" 2>"$tmp/u.err"
check "--dev --anchor-rpc without --anchor-key: usage error (2)" [ $? = 2 ]
"$LOGD" --dev --data "$tmp/u" --listen 127.0.0.1:0 --origin "$O" --anchor-rpc "$U" --anchor-contract 0x12 --anchor-key "$tmp/anchorer.key" 2>"$tmp/u.err"
rc=$?
check "a malformed --anchor-contract is refused (1) with a message" cond '[ $rc = 1 ] && grep -q anchor-contract "$tmp/u.err"'

"$LOGD" --dev --data "$tmp/u" --listen 127.0.0.1:0 --origin "$O" --anchor-interval 5 2>"$tmp/u.err"
check "--anchor-interval without --anchor-rpc: usage error (2)" [ $? = 2 ]

# --- anchoring as the log grows ---
D=$tmp/d
start_logd "$D" "$O" || { nok "logd starts with --anchor-*"; sed 's/^/# /' "$D.log"; exit 1; }
ok "logd starts with --anchor-* (chain head checked)"
check "logd prints its anchor address" grep -q "^anchor-address: $A\$" "$D.out"
sizes=()
all=1
for r in 1 2 3; do
  s=$(add $((r * 40)) "r$r") || s=
  [ -n "$s" ] || { all=0; break; }
  wait_anchor "$s" 30 || { echo "# round $r: anchor stuck at $(anchor_size), want $s"; all=0; break; }
  sizes+=("$(anchor_size)")
done
check "logd anchors 3 times as the log grows (sizes ${sizes[*]})" [ $all = 1 ]
"$TLOG" anchor list --rpc "$U" --contract "$C" --origin "$O" --json >"$tmp/list.json"
n=$(jq length "$tmp/list.json")
check "tlog anchor list shows >= 3 anchors (got $n)" [ "${n:-0}" -ge 3 ]
good=1
for i in $(seq 0 $((n - 1))); do
  s=$(jq -r ".[$i].size" "$tmp/list.json")
  h=$(jq -r ".[$i].checkpoint_hash" "$tmp/list.json")
  curl -sf "$URL/v1/checkpoints/$s" >"$tmp/cp" || { echo "# /v1/checkpoints/$s missing"; good=0; continue; }
  [ "$(sha256sum <"$tmp/cp" | cut -d' ' -f1)" = "${h#0x}" ] || { echo "# checkpoint $s: hash differs from the chain's"; good=0; }
  [ "$(sed -n 2p "$tmp/cp")" = "$s" ] || good=0
done
check "every anchored size is served at /v1/checkpoints/<size> with the on-chain checkpoint hash" [ $good = 1 ]
last=$(jq -r '.[-1]' "$tmp/list.json")
curl -s "$URL/v1/log" >"$tmp/log.json"
check "/v1/log anchor: contract, chain id 84532, size, root, tx, block, time as on chain" \
  [ "$(jq -r '.anchor.contract' "$tmp/log.json")" = "$C" -a "$(jq -r '.anchor.chain_id' "$tmp/log.json")" = 84532 \
    -a "$(jq -r '.anchor.size' "$tmp/log.json")" = "$(jq -r .size <<<"$last")" \
    -a "$(jq -r '.anchor.root' "$tmp/log.json")" = "$(jq -r .root <<<"$last")" \
    -a "$(jq -r '.anchor.tx' "$tmp/log.json")" = "$(jq -r .tx <<<"$last")" \
    -a "$(jq -r '.anchor.block' "$tmp/log.json")" = "$(jq -r .block <<<"$last")" \
    -a "$(jq -r '.anchor.time' "$tmp/log.json")" = "$(jq -r .time <<<"$last")" ]
curl -s "$URL/metrics" >"$tmp/metrics"
check "/metrics: logd_anchor_size and logd_anchors_total" \
  grep -q "^logd_anchor_size $(jq -r .size <<<"$last")\$" "$tmp/metrics"
check "/metrics: anchors counted" grep -q '^logd_anchors_total [1-9]' "$tmp/metrics"
st=$("$TLOG" anchor status --rpc "$U" --contract "$C" --origin "$O" --json | jq -r .size)
check "tlog anchor status agrees ($st)" [ "$st" = "$(jq -r .size <<<"$last")" ]

# --- the anchorer's funds on /metrics (docs/OPERATE.md alerts on them) ---
# balance_is WEI: /metrics shows exactly WEI (decimal) within 10 s (read each round).
metric() { curl -s "$URL/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
balance_is() {
  for _ in $(seq 100); do [ "$(metric logd_anchor_balance_wei)" = "$1" ] && return 0; sleep 0.1; done
  return 1
}
chain_balance() { python3 -c 'import json,sys; print(int(json.load(sys.stdin)["result"], 16))' <<<"$(rpc "$U" eth_getBalance "[\"$A\",\"latest\"]")"; }
bal=$(chain_balance)
balance_is "$bal"
check "/metrics: logd_anchor_balance_wei is the anchorer's balance on chain, exact past 64 bits ($bal wei; shown $(metric logd_anchor_balance_wei))" \
  cond '[ "$(metric logd_anchor_balance_wei)" = "$bal" ] && [ ${#bal} -gt 20 ]'
rpc "$U" anvil_setBalance "[\"$A\",\"0x2386f26fc10000\"]" >/dev/null # 0.01 ETH
balance_is 10000000000000000
check "/metrics: a changed balance shows within a round (0.01 ETH = 10000000000000000 wei; shown $(metric logd_anchor_balance_wei))" \
  [ "$(metric logd_anchor_balance_wei)" = 10000000000000000 ]
check "/metrics: logd_anchor_balance_age_seconds of a fresh read" cond '[ "$(metric logd_anchor_balance_age_seconds)" -le 3 ]'
txh=$(curl -s "$URL/v1/log" | jq -r .anchor.tx)
fee=$(rpc "$U" eth_getTransactionReceipt "[\"$txh\"]" | python3 -c 'import json,sys; r=json.load(sys.stdin)["result"]; print(int(r["gasUsed"],16)*int(r["effectiveGasPrice"],16))')
check "/metrics: logd_anchor_last_fee_wei is the last anchor's gas used x effective price ($fee)" \
  cond '[ "$(metric logd_anchor_last_fee_wei)" = "$fee" ] && [ "$fee" -gt 0 ]'
age=$(metric logd_anchor_age_seconds)
check "/metrics: logd_anchor_age_seconds since the last anchor's block time ($age s)" cond '[ -n "$age" ] && [ "$age" -le 120 ]'

# --- restart: state kept, no re-anchoring of the same head ---
stop_pid "$logd_pid"
cp -a "$D" "$tmp/d-old" # an older copy of the data directory, taken while stopped
start_logd "$D" "$O" || nok "logd restarts on its own data"
check "after restart /v1/log still names the last anchor's transaction" \
  [ "$(curl -s "$URL/v1/log" | jq -r .anchor.tx)" = "$(jq -r .tx <<<"$last")" ]

# --- the RPC node goes away and comes back ---
stop_pid "$anvil_pid" # SIGTERM: anvil writes its state
s=$(add 30 down) || s=
check "logd keeps sequencing and signing while the chain is down" [ -n "$s" ]
logged=0
for _ in $(seq 300); do grep -q 'not anchored' "$D.log" && { logged=1; break; }; sleep 0.1; done
check "the failure is logged (the send gives up after its deadline, retried later)" [ $logged = 1 ]
check "logd is still healthy" curl -sf "$URL/healthz" -o /dev/null
start_anvil "$port" --state "$state" || nok "anvil restarts from its state"
check "anchoring resumes after the node is back (size $s)" wait_anchor "$s" 60
s2=$(add 10 after) && wait_anchor "$s2" 30
check "and goes on anchoring ($s2)" [ "$(anchor_size)" -ge "${s2:-999999}" ]

# --- no silent stretch: writes refused (503) while no anchor confirms (issue 14) ---
"$LOGD" --dev --data "$tmp/u" --listen 127.0.0.1:0 --origin "$O" --anchor-rpc "$U" --anchor-contract "$C" \
  --anchor-key "$tmp/anchorer.key" --anchor-interval 5 --anchor-max-age 5 2>"$tmp/u.err"
rc=$?
check "--anchor-max-age not longer than --anchor-interval: usage error (2)" cond '[ $rc = 2 ] && grep -q "longer than --anchor-interval" "$tmp/u.err"'
stop_pid "$logd_pid"
start_logd "$D" "$O" --anchor-max-age 3 || nok "logd starts with --anchor-max-age 3"
tok=$(cat "$D/dev-token")
s=$(add 5 stale-before) && wait_anchor "$s" 30
check "with --anchor-max-age 3 the log anchors ($s)" [ "$(anchor_size)" -ge "${s:-999999}" ]
anchored=$(anchor_size)
stop_pid "$anvil_pid"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $tok" --data-binary '{"type":"t","tag":"fresh"}' "$URL/v1/add")
check "the chain just went away: a write is still accepted (200, got $code)" [ "$code" = 200 ]
refused=0
for _ in $(seq 150); do
  code=$(curl -s -D "$tmp/stale.h" -o "$tmp/stale.body" -w '%{http_code}' -H "Authorization: Bearer $tok" \
    --data-binary '{"type":"t","tag":"stale"}' "$URL/v1/add")
  [ "$code" = 503 ] && { refused=1; break; }
  sleep 0.1
done
check "once nothing was anchored for over 3 s, writes get 503" [ $refused = 1 ]
check "... with the exact message naming the age, the bound and the last anchored size" \
  grep -Eqx "\{\"error\":\"writes are refused: no anchor has confirmed the log's newest checkpoint for [3-9] s, over the 3 s bound \(--anchor-max-age; the last confirmed anchor is of size $anchored\); writes resume once a checkpoint is anchored on chain\"\}" "$tmp/stale.body"
check "... and Retry-After: 1" grep -qi '^Retry-After: 1' "$tmp/stale.h"
curl -s "$URL/metrics" >"$tmp/metrics.stale"
check "/metrics: logd_anchor_stale 1, logd_anchor_max_age_seconds 3, refused writes counted" \
  cond 'grep -q "^logd_anchor_stale 1\$" "$tmp/metrics.stale" && grep -q "^logd_anchor_max_age_seconds 3\$" "$tmp/metrics.stale" &&
  grep -q "^logd_writes_refused_stale_anchor_total [1-9]" "$tmp/metrics.stale" &&
  grep -Eq "^logd_anchor_unanchored_seconds [3-9]\$" "$tmp/metrics.stale"'
before=$(curl -s "$URL/v1/log" | jq -r .tree_size)
curl -s -o /dev/null -H "Authorization: Bearer $tok" --data-binary '[{"type":"t","tag":"b1"},{"type":"t","tag":"b2"}]' "$URL/v1/add-batch"
check "a refused batch logs nothing (tree size stays $before)" [ "$(curl -s "$URL/v1/log" | jq -r .tree_size)" = "$before" ]
start_anvil "$port" --state "$state" || nok "anvil restarts from its state"
accepted=0
for _ in $(seq 300); do
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $tok" --data-binary '{"type":"t","tag":"resumed"}' "$URL/v1/add")
  [ "$code" = 200 ] && { accepted=1; break; }
  sleep 0.1
done
check "writes are accepted again once an anchor confirms (anchor size $(anchor_size) >= $before)" cond '[ $accepted = 1 ] && [ "$(anchor_size)" -ge "$before" ]'
curl -s "$URL/metrics" >"$tmp/metrics.fresh"
check "/metrics: logd_anchor_stale 0 again" grep -q '^logd_anchor_stale 0$' "$tmp/metrics.fresh"
check "the stale stretch and the resumption are logged" grep -q 'accepting writes again' "$D.log"

# --- rollback defence ---
stop_pid "$logd_pid"
start_logd "$tmp/d-old" "$O"
rc=$?
check "logd refuses to start on an older copy of its data directory (behind the chain)" [ $rc != 0 ]
check "... exiting 1 with a clear message" grep -q 'behind or inconsistent with the head anchored' "$tmp/d-old.log"
wait "$logd_pid" 2>/dev/null
kill -0 "$logd_pid" 2>/dev/null && nok "the refusing logd exited" || ok "the refusing logd exited"
start_logd "$D" "$O" || nok "logd still starts on its current data"
stop_pid "$logd_pid"
# A fork: another tree under the same origin and key, larger than the anchored head.
F=$tmp/fork
mkdir -p "$F" && cp "$D/checkpoint-key" "$F/"
fport=$(free_port)
"$LOGD" --dev --data "$F" --listen "127.0.0.1:$fport" --origin "$O" --checkpoint-interval-ms 100 >"$F.out" 2>"$F.log" &
logd_pid=$!
pids+=("$logd_pid")
for _ in $(seq 200); do curl -sf "http://127.0.0.1:$fport/healthz" >/dev/null 2>&1 && break; sleep 0.05; done
URL=http://127.0.0.1:$fport
Dsave=$D; D=$F
add 400 fork >/dev/null
D=$Dsave
stop_pid "$logd_pid"
start_logd "$F" "$O"
rc=$?
check "logd refuses to start on a forked tree larger than the anchored head" [ $rc != 0 ] && grep -q 'behind or inconsistent' "$F.log"
wait "$logd_pid" 2>/dev/null
# an unreachable RPC node: no rollback check, no start
dead=$(free_port)
"$LOGD" --dev --data "$D" --listen 127.0.0.1:0 --origin "$O" --anchor-rpc "http://127.0.0.1:$dead" --anchor-contract "$C" \
  --anchor-key "$tmp/anchorer.key" >/dev/null 2>"$tmp/dead.err"
rc=$?
check "logd refuses to start when the anchor RPC node is unreachable (exit $rc)" [ $rc = 1 ] && grep -q 'rollback check' "$tmp/dead.err"

# --- an unregistered log: starts, says so, anchors nothing ---
start_logd "$tmp/unreg" example.org/xordi/unregistered || nok "an unregistered log starts"
D=$tmp/unreg
add 5 u >/dev/null
sleep 2
check "... logs that it waits for registration" grep -q 'not registered' "$tmp/unreg.log"
check "... and /v1/log shows no anchor" [ "$(curl -s "$URL/v1/log" | jq -c .anchor)" = null ]
stop_pid "$logd_pid"
[ $fails = 0 ]
