#!/usr/bin/env bash
# tlog audit / export / verify-bundle / monitor against a local anvil chain holding a
# TreeHeadAnchor with real anchors of a static log (tlog-mklog + tlog-anchor-dir),
# block times set to Jan 5, Jan 20 and Feb 3 2026. Honest runs pass; a forked log, a
# rolled-back log, a window without anchors, a doctored bundle and stale anchors are
# each reported by name. Kills the anvil it starts.
set -u
root=${XT_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
BIN=${BIN:-bin}
cd "$root" || exit 2
. tests/lib/harness.sh
harness_init tlog-chain tlog tlog-mklog tlog-anchor-dir logd dstack-sim
T=$tmp
TLOG=$B/tlog
MKLOG=$B/tlog-mklog
ANCHOR=$B/tlog-anchor-dir
rpc() { curl -s -m 5 -H 'Content-Type: application/json' -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$1\",\"params\":${2:-[]}}" "$U"; }

harness_anvil --prune-history --timestamp 1767225600
echo ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80 >"$T/owner.key"
echo 59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d >"$T/anchorer.key"
O=example.org/xordi/log
C=$("$TLOG" anchor deploy --rpc "$U" --private-key "$T/owner.key" 2>/dev/null)
A1=$("$TLOG" anchor address --private-key "$T/anchorer.key")
"$TLOG" anchor register --rpc "$U" --private-key "$T/owner.key" --contract "$C" --origin "$O" --anchorer "$A1" >/dev/null ||
  { nok "deploy and register the anchor contract"; exit 1; }

$MKLOG --dir "$T/log" --count 1000 --checkpoints 300,700 >/dev/null
KEY=$T/log/verifier-key
# Two stand-in DstackApp contracts (tests/kms/standin.js: add H1, add H2, remove H1,
# upgrade, transfer, re-add H1, an hour apart, before the anchors): one allows the
# log's boot compose hash, the other never does.
BOOT_HASH=$("$TLOG" entries --log "$T/log" --key "$KEY" --start 0 --count 1 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["entry"]["event"]["compose_hash"])')
OTHER=$(printf 'other compose' | sha256sum | cut -d' ' -f1)
APP_OK=$(node tests/kms/standin.js "$U" "$BOOT_HASH" "$OTHER" 2>"$T/standin.err" | python3 -c 'import json,sys; print(json.load(sys.stdin)["address"])') || APP_OK=
APP_NO=$(node tests/kms/standin.js "$U" "$OTHER" "$OTHER" 2>>"$T/standin.err" | python3 -c 'import json,sys; print(json.load(sys.stdin)["address"])') || APP_NO=
anchor_at() { # anchor_at UNIX_TIME SIZE
  rpc evm_setNextBlockTimestamp "[$1]" >/dev/null
  "$ANCHOR" --rpc "$U" --contract "$C" --key "$T/anchorer.key" --log "$T/log" --sizes "$2" >/dev/null
}
anchor_at 1767571200 300 && anchor_at 1768867200 700 && anchor_at 1770076800 1000 ||
  { nok "anchor three heads of the log"; exit 1; }
ok "three heads of the log anchored on chain"
CH=(--rpc "$U" --contract "$C")

expect "audit January against the chain: every check passes, INCOMPLETE without a policy" 1 "^audit INCOMPLETE" -- "$TLOG" audit --allow-dev --allow-simulated --log "$T/log" --key "$KEY" "${CH[@]}" --from 2026-01-01 --to 2026-01-31
expect "audit: anchors from the chain, notes verified" 1 '"checkpoint_note": "verified"' -- "$TLOG" audit --allow-dev --allow-simulated --log "$T/log" --key "$KEY" "${CH[@]}" --from 2026-01-01 --to 2026-02-28 --json
expect "audit: users per month by block time" 1 '"2026-02": ' -- "$TLOG" audit --allow-dev --allow-simulated --log "$T/log" --key "$KEY" "${CH[@]}" --from 2026-01-01 --to 2026-02-28 --json
expect "audit: a window without anchors (missing anchor)" 1 "no anchor of this log has a block time in the window 2026-03-01 .. 2026-03-31" -- "$TLOG" audit --allow-dev --allow-simulated --log "$T/log" --key "$KEY" "${CH[@]}" --from 2026-03-01 --to 2026-03-31
$MKLOG --dir "$T/fork" --count 1000 --variant 5 >/dev/null
expect "audit: a forked log under the same key" 1 "anchored root at size 300 is not the root of the log's tree" -- "$TLOG" audit --allow-dev --allow-simulated --log "$T/fork" --key "$KEY" "${CH[@]}" --from 2026-01-01 --to 2026-01-31
$MKLOG --dir "$T/short" --count 500 >/dev/null
expect "audit: a rolled-back log" 1 "anchor at size 700 is beyond the log's checkpoint of size 500" -- "$TLOG" audit --allow-dev --allow-simulated --log "$T/short" --key "$KEY" "${CH[@]}" --from 2026-01-01 --to 2026-01-31
if [ -n "$APP_OK" ] && [ -n "$APP_NO" ]; then
  expect "audit --app: boot compose hash allowed by the KMS" 1 "compose_hash $BOOT_HASH  anchored by 2026-01-05T00:00:00Z  KMS: allowed" -- "$TLOG" audit --allow-dev --allow-simulated --log "$T/log" --key "$KEY" "${CH[@]}" --from 2026-01-01 --to 2026-01-31 --app "$APP_OK"
  expect "audit --app: boot compose hash never allowed" 1 "\(e\) boot entry 0: compose hash $BOOT_HASH was not allowed by the app's KMS contract" -- "$TLOG" audit --allow-dev --allow-simulated --log "$T/log" --key "$KEY" "${CH[@]}" --from 2026-01-01 --to 2026-01-31 --app "$APP_NO"
  expect "monitor --app: KMS events reported" 0 "kms-event: app ComposeHashRemoved {\"composeHash\":\"$BOOT_HASH\"}" -- "$TLOG" monitor --log "$T/log" --key "$KEY" --state "$T/mon-app" "${CH[@]}" --app "$APP_OK" --once
  expect "monitor --app: only new events the next round" 0 "^ok " -- bash -c "'$TLOG' monitor --log '$T/log' --key '$KEY' --state '$T/mon-app' --rpc '$U' --contract '$C' --app '$APP_OK' --once | grep -v kms-event"
else
  nok "stand-in DstackApp contracts deployed"; sed 's/^/#   /' "$T/standin.err"
fi

# Bundles with the chain.
expect "export with on-chain anchors" 0 "3 anchors, 3 anchored checkpoints" -- "$TLOG" export --log "$T/log" --key "$KEY" "${CH[@]}" --out "$T/bundle" --quiet
expect "verify-bundle against the chain" 0 "bundle verified" -- "$TLOG" verify-bundle "$T/bundle" --key "$KEY" "${CH[@]}"
expect "audit from the bundle and the chain (no policy: INCOMPLETE)" 1 "^audit INCOMPLETE" -- "$TLOG" audit --allow-dev --allow-simulated --bundle "$T/bundle" --key "$KEY" "${CH[@]}" --from 2026-01-01 --to 2026-02-28
cp -r "$T/bundle" "$T/doctored"
python3 - "$T/doctored/anchors.json" <<'EOF'
import json, sys
a = json.load(open(sys.argv[1])); a[0]["time"] += 86400 * 30; del a[1]
json.dump(a, open(sys.argv[1], "w"))
EOF
expect "verify-bundle: a doctored anchor is not on chain" 1 "anchor at size 300 is not on chain as recorded" -- "$TLOG" verify-bundle "$T/doctored" --key "$KEY" "${CH[@]}"
expect "verify-bundle: an anchor left out" 1 "the anchor at size 700 .* is missing from the bundle" -- "$TLOG" verify-bundle "$T/doctored" --key "$KEY" "${CH[@]}"

# Monitor.
expect "monitor: first round stores the state" 0 "size 1000 verified" -- "$TLOG" monitor --log "$T/log" --key "$KEY" --state "$T/mon" "${CH[@]}" --once
expect "monitor: second round consistent" 0 "consistent with the last verified" -- "$TLOG" monitor --log "$T/log" --key "$KEY" --state "$T/mon" "${CH[@]}" --once
expect "monitor: split view (fork served under the key)" 1 "ALERT split-view" -- "$TLOG" monitor --log "$T/fork" --key "$KEY" --state "$T/mon-fork" "${CH[@]}" --once
expect "monitor: served size below the anchored one" 1 "ALERT rollback: anchored size 700 .* is beyond the served checkpoint size 500" -- "$TLOG" monitor --log "$T/short" --key "$KEY" --state "$T/mon-short" "${CH[@]}" --once
$MKLOG --dir "$T/log" --count 1200 --checkpoints 300,700 >/dev/null
expect "monitor: unanchored growth reported" 0 "unanchored-growth: 200 entries past the newest anchor" -- "$TLOG" monitor --log "$T/log" --key "$KEY" --state "$T/mon" "${CH[@]}" --once
rpc evm_setNextBlockTimestamp '[1770163200]' >/dev/null && rpc evm_mine >/dev/null
expect "monitor: stale anchor by block time" 1 "ALERT stale-anchor: the newest anchor \(size 1000, block [0-9]+\) is 86400 s old \(limit 3600 s\)" -- "$TLOG" monitor --log "$T/log" --key "$KEY" --state "$T/mon" "${CH[@]}" --max-anchor-age 3600 --once
expect "monitor: unanchored growth past the limit is an alert" 1 '"kind":"unanchored-growth","level":"alert"' -- "$TLOG" monitor --log "$T/log" --key "$KEY" --state "$T/mon" "${CH[@]}" --max-anchor-age 3600 --once --json
expect "monitor --help" 0 "usage: tlog monitor" -- "$TLOG" monitor --help

# --- A real logd: a rogue submitter slips in a direct-message call; the audit of
# the anchored log names it. (logd does not anchor by itself yet: tlog-anchor-dir
# anchors its checkpoints over HTTP, proofs from its tiles.)
LOGD=$B/logd
if [ -x "$LOGD" ]; then
  lport=$(free_port)
  LU=http://127.0.0.1:$lport
  LO=example.org/xordi/e2e
  mkdir -p "$T/ld"
  # The honest events come from submitter collector (the audit counts only its users).
  CTOK=collector-token-$RANDOM$RANDOM$RANDOM
  echo "collector $CTOK" >"$T/ld-submitters"
  "$LOGD" --dev --data "$T/ld" --listen "127.0.0.1:$lport" --origin "$LO" --checkpoint-interval-ms 50 --submitters "$T/ld-submitters" >"$T/ld.out" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do curl -sf "$LU/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
  "$TLOG" anchor register --rpc "$U" --private-key "$T/owner.key" --contract "$C" --origin "$LO" --anchorer "$A1" >/dev/null
  TOK=$(cat "$T/ld/dev-token")
  post() { curl -sf -H "Authorization: Bearer $TOK" -H 'Content-Type: application/json' --data-binary "$2" "$LU$1"; }
  python3 - >"$T/honest.json" <<'EOF2'
import json, hashlib
h = lambda s: hashlib.sha256(s.encode()).hexdigest()
# a --dev collector (compose_hash dev, no quote: --allow-dev accepts it), release build
ev = [{"type": "boot", "component": "collector", "version": "0.1.0", "compose_hash": "dev", "instance_id": "i-1",
       "quote_sha256": "", "checkpoint_key": "", "anchor_address": "", "build": "release",
       "egress": "GET www.tiktok.com/api/watch_history"}]
for i in range(300):
    u = h("user%d" % (i % 17))
    ev.append({"type": "credential_intake", "user": u, "cookie_sha256": h("c%d" % i), "request_id": "r%d" % i})
    ev.append({"type": "api_call", "phase": "intent", "call_id": "k%d" % i, "user": u, "endpoint": "watch_history",
               "method": "GET", "path": "/api/watch_history"})
    ev.append({"type": "api_call", "phase": "result", "call_id": "k%d" % i, "status": 200, "bytes": 10, "body_sha256": h("b%d" % i)})
print(json.dumps(ev))
EOF2
  TOK=$CTOK post /v1/add-batch @"$T/honest.json" >/dev/null
  TOK=$CTOK post '/v1/add?wait=checkpoint' '{"type":"marker","n":"1"}' >/dev/null
  N1=$("$TLOG" checkpoint --log "$LU" --key "$T/ld/verifier-key" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["size"])')
  "$ANCHOR" --rpc "$U" --contract "$C" --key "$T/anchorer.key" --log "$LU" --vkey "$T/ld/verifier-key" --sizes "$N1" >/dev/null ||
    nok "anchor logd's first checkpoint"
  expect "logd: honest log audits clean (no policy: INCOMPLETE)" 1 "^audit INCOMPLETE" -- "$TLOG" audit --allow-dev --log "$LU" --key "$T/ld/verifier-key" "${CH[@]}" --from 2026-01-01 --to 2026-12-31
  expect "logd: 17 distinct users" 1 '"2026-[0-9]{2}": 17' -- "$TLOG" audit --allow-dev --log "$LU" --key "$T/ld/verifier-key" "${CH[@]}" --from 2026-01-01 --to 2026-12-31 --json
  post /v1/add '{"type":"api_call","phase":"intent","call_id":"dm1","user":"00","endpoint":"direct_messages","method":"GET","path":"/api/direct_messages"}' >/dev/null
  post '/v1/add?wait=checkpoint' '{"type":"api_call","phase":"result","call_id":"dm1","status":200,"bytes":5,"body_sha256":"00"}' >/dev/null
  N2=$("$TLOG" checkpoint --log "$LU" --key "$T/ld/verifier-key" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["size"])')
  "$ANCHOR" --rpc "$U" --contract "$C" --key "$T/anchorer.key" --log "$LU" --vkey "$T/ld/verifier-key" --sizes "$N2" >/dev/null ||
    nok "anchor logd's second checkpoint"
  expect "logd: the rogue DM call is outside the policy" 1 "entry $N1: api_call intent GET direct_messages /api/direct_messages is outside the policy" -- "$TLOG" audit --allow-dev --log "$LU" --key "$T/ld/verifier-key" "${CH[@]}" --from 2026-01-01 --to 2026-12-31
  expect "logd: the rogue DM call names direct messages" 1 "entry $N1 names direct messages" -- "$TLOG" audit --allow-dev --log "$LU" --key "$T/ld/verifier-key" "${CH[@]}" --from 2026-01-01 --to 2026-12-31
  expect "logd: monitor follows logd and the chain" 0 "size $N2 verified" -- "$TLOG" monitor --log "$LU" --key "$T/ld/verifier-key" --state "$T/mon-ld" "${CH[@]}" --once
else
  echo "# logd not built: skipping the logd end-to-end part"
fi

# --- Chain scans from the deployment block (issue 19 item 3), through an endpoint that
# refuses eth_getLogs over 2,000 blocks (tests/kms/rpc-limit-proxy.js), with thousands
# of blocks before the contract and between anchors. An archive node (state of every
# block kept), so the deployment block can be found by eth_getCode. ---
section "scans from the deployment block"
port2=$(free_port)
U2=http://127.0.0.1:$port2
"$ANVIL" --host 127.0.0.1 --port "$port2" --chain-id 84532 --silent --max-persisted-states 100000 --timestamp 1767225600 &
pids+=($!)
rpc2() { curl -s -m 300 -H 'Content-Type: application/json' -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$1\",\"params\":${2:-[]}}" "$U2"; }
for _ in $(seq 300); do case $(rpc2 eth_chainId 2>/dev/null) in *'"0x14a34"'*) break ;; esac; sleep 0.02; done
node tests/kms/rpc-limit-proxy.js --upstream "$U2" --max-range 2000 >"$T/proxy.port" 2>"$T/proxy.err" &
pids+=($!)
for _ in $(seq 200); do [ -s "$T/proxy.port" ] && break; sleep 0.02; done
P=http://127.0.0.1:$(head -n 1 "$T/proxy.port")
getlogs() { curl -s "$P/stats" | python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["methods"].get("eth_getLogs",0), s["refused"], s["max_range_served"])'; }
$MKLOG --dir "$T/log2" --count 1000 --checkpoints 300,700 >/dev/null
rpc2 anvil_mine '["0x9c4"]' >/dev/null # 2,500 blocks before the contract (anvil mines ~100/s here)
"$TLOG" anchor deploy --rpc "$P" --private-key "$T/owner.key" --json >"$T/deploy2.json" 2>"$T/deploy2.err"
C2=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["contract"])' "$T/deploy2.json" 2>/dev/null)
D2=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["block"])' "$T/deploy2.json" 2>/dev/null)
good=0; [ -n "$C2" ] && [ "${D2:-0}" -gt 2500 ] && [ ! -s "$T/deploy2.err" ] && good=1
check "anchor deploy --json: {contract, tx, block}, the block after 2,500 mined (--private-key; block ${D2:-?})" [ $good = 1 ]
"$TLOG" anchor register --rpc "$P" --key "$T/owner.key" --contract "$C2" --origin "$O" --anchorer "$A1" >/dev/null 2>"$T/reg2.err"
good=0; [ $? = 0 ] && [ "$(cat "$T/reg2.err")" = "tlog anchor register: warning: --key is deprecated here; use --private-key (in the next release --key will be refused by tlog anchor)" ] && good=1
check "anchor --key still works, with one deprecation line" [ $good = 1 ]
# anchors 300 and 1000, 2,100 blocks apart, then 1,000 more blocks
"$ANCHOR" --rpc "$U2" --contract "$C2" --key "$T/anchorer.key" --log "$T/log2" --sizes 300 >/dev/null &&
  rpc2 anvil_mine '["0x834"]' >/dev/null &&
  "$ANCHOR" --rpc "$U2" --contract "$C2" --key "$T/anchorer.key" --log "$T/log2" --sizes 1000 >/dev/null &&
  rpc2 anvil_mine '["0x3e8"]' >/dev/null || nok "anchors on the second chain"
HEAD2=$(( $(rpc2 eth_blockNumber | python3 -c 'import json,sys; print(int(json.load(sys.stdin)["result"],16))') ))
"$TLOG" anchor status --rpc "$P" --contract "$C2" --origin "$O" --json >"$T/st2.json"
check "anchor status shows the deployment block, found by eth_getCode search" \
  [ "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["deployment_block"])' "$T/st2.json")" = "$D2" ]
expect "anchor status (text): the deployment block" 0 "^deployed  block $D2 \(found by eth_getCode search\)$" -- "$TLOG" anchor status --rpc "$P" --contract "$C2" --origin "$O"
expect "anchor status (text): a recorded deployment block" 0 "^deployed  block $D2 \(--from-block\)$" -- "$TLOG" anchor status --rpc "$P" --contract "$C2" --origin "$O" --from-block "$D2"
read -r g0 _ _ <<<"$(getlogs)"
"$TLOG" anchor list --rpc "$P" --contract "$C2" --origin "$O" --json >"$T/list2.json" 2>"$T/list2.err"
read -r g1 refused maxr <<<"$(getlogs)"
want=$(( (HEAD2 - D2 + 1 + 1999) / 2000 )) from0=$(( (HEAD2 + 1 + 1999) / 2000 ))
check "anchor list through the 2,000-block endpoint: both anchors, oldest first" \
  [ "$(python3 -c 'import json,sys; print(",".join(str(a["size"]) for a in json.load(open(sys.argv[1]))))' "$T/list2.json")" = "300,1000" ]
good=0; [ $((g1 - g0)) = "$want" ] && [ "$want" -ge 2 ] && [ "$want" -lt "$from0" ] && [ "$refused" = 0 ] && [ "$maxr" -le 2000 ] && good=1
check "the scan starts at the deployment block $D2 (head $HEAD2): $want eth_getLogs calls (from block 0: $from0) of at most 2,000 blocks, none refused (got $((g1 - g0)), refused $refused, widest $maxr)" [ $good = 1 ]
expect "anchor list --from-block after the anchors: none" 0 "^\(no anchors\)$" -- "$TLOG" anchor list --rpc "$P" --contract "$C2" --origin "$O" --from-block "$((HEAD2 - 10))"
expect "anchor list: an address without a contract is named, not an empty list" 2 "no contract code at the address" -- "$TLOG" anchor list --rpc "$P" --contract 0x00000000000000000000000000000000000000aa --origin "$O"
expect "monitor through the 2,000-block endpoint, --from-block given" 0 "size 1000 verified" -- "$TLOG" monitor --log "$T/log2" --key "$T/log2/verifier-key" --state "$T/mon2" --rpc "$P" --contract "$C2" --from-block "$D2" --once
# monitor keeps the deployment block it found in its state (written after a verified
# round): a later run reads from there without searching again.
calls() { curl -s "$P/stats" | python3 -c 'import json,sys; m=json.load(sys.stdin)["methods"]; print(m.get("eth_getCode",0), m.get("eth_getLogs",0))'; }
MON3=(--log "$T/log2" --key "$T/log2/verifier-key" --state "$T/mon3" --rpc "$P" --contract "$C2" --once)
read -r c0 l0 <<<"$(calls)"
"$TLOG" monitor "${MON3[@]}" --from-block "$D2" --state "$T/mon3g" >/dev/null 2>&1
read -r c1 l1 <<<"$(calls)"
"$TLOG" monitor "${MON3[@]}" >"$T/mon3a.out" 2>&1; rc1=$?
read -r c2 l2 <<<"$(calls)"
saved=$(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["anchor_from_block"], j["anchor_contract"])' "$T/mon3/state.json" 2>/dev/null)
good=0; [ $rc1 = 0 ] && [ $((c2 - c1)) -gt $((c1 - c0)) ] && [ "$saved" = "$D2 $(tr A-F a-f <<<"$C2")" ] && good=1
check "monitor without --from-block: finds block $D2 by eth_getCode search ($((c2 - c1)) calls; with --from-block $((c1 - c0))) and keeps it in state.json ($saved)" [ $good = 1 ]
"$TLOG" monitor "${MON3[@]}" >"$T/mon3b.out" 2>&1; rc2=$?
read -r c3 l3 <<<"$(calls)"
good=0; [ $rc2 = 0 ] && [ $((c3 - c2)) = $((c1 - c0)) ] && [ $((l3 - l2)) = "$want" ] && grep -q "consistent with the last verified" "$T/mon3b.out" && good=1
check "the next monitor run starts at the kept block: eth_getCode calls as with --from-block ($((c3 - c2)) = $((c1 - c0))), $want eth_getLogs calls (got $((l3 - l2)))" [ $good = 1 ]
# export and verify-bundle take the recorded deployment block too (a public node keeps no
# old state, so without it they would read from block 0)
"$TLOG" export --log "$T/log2" --key "$T/log2/verifier-key" --rpc "$P" --contract "$C2" --from-block "$D2" --out "$T/b2" --quiet >"$T/b2.out" 2>&1; rc=$?
read -r c4 l4 <<<"$(calls)"
good=0; [ $rc = 0 ] && grep -q "2 anchors, 2 anchored checkpoints" "$T/b2.out" && [ $((c4 - c3)) = 0 ] && [ $((l4 - l3)) = "$want" ] && good=1
check "export --from-block $D2: both anchors, no eth_getCode search, $want eth_getLogs calls (got $((c4 - c3)), $((l4 - l3)))" [ $good = 1 ]
"$TLOG" verify-bundle "$T/b2" --key "$T/log2/verifier-key" --rpc "$P" --contract "$C2" --from-block "$D2" >"$T/vb2.out" 2>&1; rc=$?
read -r c5 l5 <<<"$(calls)"
good=0; [ $rc = 0 ] && grep -q "^bundle verified$" "$T/vb2.out" && [ $((c5 - c4)) = 0 ] && [ $((l5 - l4)) = "$want" ] && good=1
check "verify-bundle --from-block $D2 against the chain: verified, no eth_getCode search, $want eth_getLogs calls (got $((c5 - c4)), $((l5 - l4)))" [ $good = 1 ]
expect "verify-bundle --from-block after the anchors: the bundle's anchors are not found on chain" 1 "the anchor at size 300 is not on chain as recorded" \
  -- "$TLOG" verify-bundle "$T/b2" --key "$T/log2/verifier-key" --rpc "$P" --contract "$C2" --from-block "$((HEAD2 - 10))"
# verify-receipt against the chain
K2=$T/log2/verifier-key
"$TLOG" inclusion --log "$T/log2" --key "$K2" --index 5 --size 300 --proof-out "$T/r300" >/dev/null
"$TLOG" inclusion --log "$T/log2" --key "$K2" --index 5 --size 700 --proof-out "$T/r700" >/dev/null
"$TLOG" entries --log "$T/log2" --key "$K2" --start 5 --count 1 | cut -d' ' -f2- >"$T/e5"
expect "verify-receipt --rpc: anchored at its size" 0 "^chain       anchored at its size: anchor of size 300 at block [0-9]+$" \
  -- "$TLOG" verify-receipt "$T/r300" --key "$K2" --entry "$T/e5" --rpc "$P" --contract "$C2"
expect "verify-receipt --rpc: inside a later anchor needs the log" 1 "^tlog verify-receipt: verification failed: not anchored at size 700; the first anchor covering it is of size 1000 \(block [0-9]+\): give --log to prove that anchor contains the receipt's tree$" \
  -- "$TLOG" verify-receipt "$T/r700" --key "$K2" --entry "$T/e5" --rpc "$P" --contract "$C2"
expect "verify-receipt --rpc --log: inside a later anchor, proved from tiles" 0 "^chain       inside a later anchor \(consistency from the log's tiles\): anchor of size 1000" \
  -- "$TLOG" verify-receipt "$T/r700" --key "$K2" --log "$T/log2" --rpc "$P" --contract "$C2" --from-block "$D2"
"$MKLOG" --dir "$T/log1300" --count 1300 >/dev/null
"$TLOG" inclusion --log "$T/log1300" --key "$K2" --index 5 --size 1300 --proof-out "$T/r1300" >/dev/null
expect "verify-receipt --rpc: a tree no anchor covers fails" 1 "not anchored: no anchor on chain covers size 1300 \(2 anchors, the largest of size 1000\)" \
  -- "$TLOG" verify-receipt "$T/r1300" --key "$K2" --entry "$T/e5" --rpc "$P" --contract "$C2"
"$MKLOG" --dir "$T/fork2" --count 1000 --variant 5 >/dev/null
"$TLOG" inclusion --log "$T/fork2" --key "$K2" --index 5 --size 1000 --proof-out "$T/rfork" >/dev/null
"$TLOG" entries --log "$T/fork2" --key "$K2" --start 5 --count 1 | cut -d' ' -f2- >"$T/f5"
expect "verify-receipt --rpc: a receipt from a forked log under the same key" 1 "fork: the root anchored at size 1000 \(block [0-9]+\) is not the receipt's root" \
  -- "$TLOG" verify-receipt "$T/rfork" --key "$K2" --entry "$T/f5" --rpc "$P" --contract "$C2"

[ "$fails" -eq 0 ]
