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
harness_init tlog-chain tlog tlog-mklog tlog-anchor-dir logd
T=$tmp
TLOG=$B/tlog
MKLOG=$B/tlog-mklog
ANCHOR=$B/tlog-anchor-dir
rpc() { curl -s -m 5 -H 'Content-Type: application/json' -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$1\",\"params\":${2:-[]}}" "$U"; }

port=$(free_port)
U=http://127.0.0.1:$port
"$ANVIL" --host 127.0.0.1 --port "$port" --chain-id 84532 --prune-history --silent --timestamp 1767225600 &
pids+=($!)
for _ in $(seq 300); do
  case $(rpc eth_chainId 2>/dev/null) in *'"0x14a34"'*) break ;; esac
  sleep 0.02
done
echo ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80 >"$T/owner.key"
echo 59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d >"$T/anchorer.key"
O=example.org/xordi/log
C=$("$TLOG" anchor deploy --rpc "$U" --key "$T/owner.key" 2>/dev/null)
A1=$("$TLOG" anchor address --key "$T/anchorer.key")
"$TLOG" anchor register --rpc "$U" --key "$T/owner.key" --contract "$C" --origin "$O" --anchorer "$A1" >/dev/null ||
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

expect "audit January against the chain: every check passes, INCOMPLETE without a policy" 1 "^audit INCOMPLETE" -- "$TLOG" audit --allow-dev --log "$T/log" --key "$KEY" "${CH[@]}" --from 2026-01-01 --to 2026-01-31
expect "audit: anchors from the chain, notes verified" 1 '"checkpoint_note": "verified"' -- "$TLOG" audit --allow-dev --log "$T/log" --key "$KEY" "${CH[@]}" --from 2026-01-01 --to 2026-02-28 --json
expect "audit: users per month by block time" 1 '"2026-02": ' -- "$TLOG" audit --allow-dev --log "$T/log" --key "$KEY" "${CH[@]}" --from 2026-01-01 --to 2026-02-28 --json
expect "audit: a window without anchors (missing anchor)" 1 "no anchor of this log has a block time in the window 2026-03-01 .. 2026-03-31" -- "$TLOG" audit --allow-dev --log "$T/log" --key "$KEY" "${CH[@]}" --from 2026-03-01 --to 2026-03-31
$MKLOG --dir "$T/fork" --count 1000 --variant 5 >/dev/null
expect "audit: a forked log under the same key" 1 "anchored root at size 300 is not the root of the log's tree" -- "$TLOG" audit --allow-dev --log "$T/fork" --key "$KEY" "${CH[@]}" --from 2026-01-01 --to 2026-01-31
$MKLOG --dir "$T/short" --count 500 >/dev/null
expect "audit: a rolled-back log" 1 "anchor at size 700 is beyond the log's checkpoint of size 500" -- "$TLOG" audit --allow-dev --log "$T/short" --key "$KEY" "${CH[@]}" --from 2026-01-01 --to 2026-01-31
if [ -n "$APP_OK" ] && [ -n "$APP_NO" ]; then
  expect "audit --app: boot compose hash allowed by the KMS" 1 "compose_hash $BOOT_HASH  anchored by 2026-01-05T00:00:00Z  KMS: allowed" -- "$TLOG" audit --allow-dev --log "$T/log" --key "$KEY" "${CH[@]}" --from 2026-01-01 --to 2026-01-31 --app "$APP_OK"
  expect "audit --app: boot compose hash never allowed" 1 "\(e\) boot entry 0: compose hash $BOOT_HASH was not allowed by the app's KMS contract" -- "$TLOG" audit --allow-dev --log "$T/log" --key "$KEY" "${CH[@]}" --from 2026-01-01 --to 2026-01-31 --app "$APP_NO"
  expect "monitor --app: KMS events reported" 0 "kms-event: app ComposeHashRemoved {\"composeHash\":\"$BOOT_HASH\"}" -- "$TLOG" monitor --log "$T/log" --key "$KEY" --state "$T/mon-app" "${CH[@]}" --app "$APP_OK" --once
  expect "monitor --app: only new events the next round" 0 "^ok " -- bash -c "'$TLOG' monitor --log '$T/log' --key '$KEY' --state '$T/mon-app' --rpc '$U' --contract '$C' --app '$APP_OK' --once | grep -v kms-event"
else
  nok "stand-in DstackApp contracts deployed"; sed 's/^/#   /' "$T/standin.err"
fi

# Bundles with the chain.
expect "export with on-chain anchors" 0 "3 anchors, 3 anchored checkpoints" -- "$TLOG" export --log "$T/log" --key "$KEY" "${CH[@]}" --to "$T/bundle" --quiet
expect "verify-bundle against the chain" 0 "bundle verified" -- "$TLOG" verify-bundle "$T/bundle" --key "$KEY" "${CH[@]}"
expect "audit from the bundle and the chain (no policy: INCOMPLETE)" 1 "^audit INCOMPLETE" -- "$TLOG" audit --allow-dev --bundle "$T/bundle" --key "$KEY" "${CH[@]}" --from 2026-01-01 --to 2026-02-28
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
  "$TLOG" anchor register --rpc "$U" --key "$T/owner.key" --contract "$C" --origin "$LO" --anchorer "$A1" >/dev/null
  TOK=$(cat "$T/ld/dev-token")
  post() { curl -sf -H "Authorization: Bearer $TOK" -H 'Content-Type: application/json' --data-binary "$2" "$LU$1"; }
  python3 - >"$T/honest.json" <<'EOF2'
import json, hashlib
h = lambda s: hashlib.sha256(s.encode()).hexdigest()
ev = [{"type": "boot", "component": "collector", "version": "0.1.0", "compose_hash": h("compose"),
       "instance_id": "i-1", "quote_sha256": h("q"), "checkpoint_key": "k", "anchor_address": "0x" + "00" * 20}]
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

[ "$fails" -eq 0 ]
