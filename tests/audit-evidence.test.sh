#!/usr/bin/env bash
# tlog audit's evidence checks (issue 14 items 3 and 4; client/evidence.h), each hostile
# route ending in its named FAIL:
#  - static logs (tlog-mklog, anchors from a file): the honest one INCOMPLETE (no chain)
#    with its evidence checks passing; a logd boot entry whose checkpoint_key is not
#    --key; an entry whose ts_ms lies outside its anchors;
#  - logd in enclave mode on tests/dstack-sim (its app id the DstackApp of the KMS
#    stand-ins, tests/kms/policy-kms.js) anchoring on anvil: the honest log PASSES with
#    a complete policy naming also the anchor contract, its bytecode hash, deployment
#    block, max_anchor_gap and ts_ms_tolerance_s (every evidence verdict "pass", with
#    block, tx and boot in the JSON items); then a wrong bytecode hash, a checkpoint quote moved to
#    another anchor, an anchored note neither quoted nor kept, a genuine quote of a
#    second logd with another key, an anchor gap (anvil's clock moved on an hour), an
#    entry older than the anchor before it, and a foreign anchorer rotated in (and out).
set -u
root=${XT_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root"
BIN=${BIN:-bin}
. "$root/tests/lib/harness.sh"
harness_init audit-evidence tlog logd dstack-sim tlog-mklog
rpc() { curl -s -m 5 -H 'Content-Type: application/json' -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$1\",\"params\":${2:-[]}}" "$U"; }

# ---- static logs: boot checkpoint_key and ts_ms, no chain ----
section "static logs"
T0=1767225600 # 2026-01-01T00:00:00Z; tlog-mklog's entry i has ts_ms (T0 + i) * 1000
"$B/tlog-mklog" --dir "$tmp/other" --count 2 --origin other.example/log --seed "$(printf '%064d' 7)" >/dev/null 2>&1
OTHER_KEY=$(cat "$tmp/other/verifier-key")
"$B/tlog-mklog" --dir "$tmp/probe" --count 2 >/dev/null 2>&1
OWN_KEY=$(cat "$tmp/probe/verifier-key")
mkstatic() { # DIR CHECKPOINT_KEY TS_MS_OF_ENTRY_11
  printf '{"event":{"anchor_address":"0x%040d","checkpoint_key":"%s","component":"logd","compose_hash":"dev","instance_id":"i-2","quote_sha256":"","type":"boot","version":"0.1.0"},"submitter":"logd","ts_ms":%s,"v":1}\n{"event":{"tag":"x","type":"mark"},"submitter":"collector","ts_ms":%s,"v":1}\n' \
    0 "$2" $(( (T0 + 10) * 1000 )) "$3" >"$1.entries"
  "$B/tlog-mklog" --dir "$1" --count 10 --entries "$1.entries" --checkpoints 12 --anchor-times $((T0 + 100)) >/dev/null 2>&1
}
# No egress section: tlog-mklog's intents name no host, so the built-in rule judges them.
printf '{"ts_ms_tolerance_s":60}\n' >"$tmp/p-static.json"
ST=(--from 2026-01-01 --to 2026-01-01 --allow-dev --allow-simulated --quiet --policy "$tmp/p-static.json")
mkstatic "$tmp/s-ok" "$OWN_KEY" $(( (T0 + 11) * 1000 ))
# Anchors from a file never PASS (no chain, no KMS history): the honest static log is
# INCOMPLETE, its evidence checks passing.
expect "static: honest log (boot key = --key, ts_ms within its anchors): entry_ts_ms pass" 1 "entry_ts_ms +pass +12 window entries" -- \
  "$B/tlog" audit --log "$tmp/s-ok" --key "$tmp/s-ok/verifier-key" --anchors "$tmp/s-ok/anchors.json" "${ST[@]}"
expect "static: ... boot_checkpoint_keys pass" 1 "boot_checkpoint_keys +pass" -- \
  "$B/tlog" audit --log "$tmp/s-ok" --key "$tmp/s-ok/verifier-key" --anchors "$tmp/s-ok/anchors.json" "${ST[@]}"
out=$("$B/tlog" audit --log "$tmp/s-ok" --key "$tmp/s-ok/verifier-key" --anchors "$tmp/s-ok/anchors.json" "${ST[@]}" 2>&1)
check "static: ... and the audit is INCOMPLETE (anchors from a file), not FAILED" \
  bash -c 'grep -q "^INCOMPLETE  anchors from a file (--anchors), not the chain" <<<"$1" && grep -qx "audit INCOMPLETE" <<<"$1" && ! grep -q "^FAIL" <<<"$1"' _ "$out"
mkstatic "$tmp/s-key" "$OTHER_KEY" $(( (T0 + 11) * 1000 ))
expect "static: a logd boot entry whose checkpoint_key is not --key fails naming it" 1 \
  "FAIL  \(boot_checkpoint_keys\) boot entry 10: checkpoint_key other.example/log\+[0-9a-f]{8}\+.* is not --key" -- \
  "$B/tlog" audit --log "$tmp/s-key" --key "$tmp/s-key/verifier-key" --anchors "$tmp/s-key/anchors.json" "${ST[@]}"
mkstatic "$tmp/s-ts" "$OWN_KEY" $(( (T0 + 1000) * 1000 ))
expect "static: an entry whose ts_ms lies after the anchor covering it fails naming the entry" 1 \
  "FAIL  \(entry_ts_ms\) entry 11: ts_ms $(( (T0 + 1000) * 1000 )) lies outside \[0, $((T0 + 160))\] s" -- \
  "$B/tlog" audit --log "$tmp/s-ts" --key "$tmp/s-ts/verifier-key" --anchors "$tmp/s-ts/anchors.json" "${ST[@]}"
out=$("$B/tlog" audit --log "$tmp/s-ts" --key "$tmp/s-ts/verifier-key" --anchors "$tmp/s-ts/anchors.json" "${ST[@]}" --json 2>/dev/null)
check "static: --json names the entry and its covering anchor" \
  test "$(jq -c '.evidence.entry_ts_ms | [.verdict, .items[0].entry, .items[0].covering_anchor.size]' <<<"$out")" = '["FAIL",11,12]'
check "static: --json says the chain checks were not made (anchors from a file)" \
  test "$(jq -r '.evidence.anchorers.verdict + "|" + .evidence.anchorers.detail' <<<"$out")" = "not checked|anchors from a file: no chain to read"

# ---- logd on the simulator, anchoring on anvil ----
section "chain set-up"
harness_anvil --prune-history
# The KMS stand-ins deployed as dstack does (tests/kms/policy-kms.js), the first
# simulator's app id the DstackApp, so a complete policy can PASS (as in
# tests/audit-policy.test.sh).
printf '{"docker_compose_file":"services:\\n  logd: {}\\n","name":"xordi-evidence-test","runner":"docker-compose"}' >"$tmp/app-compose.json"
H=$(sha256sum "$tmp/app-compose.json" | cut -d' ' -f1)
OS=$(printf 'os-image-hash' | openssl dgst -sha256 -mac HMAC -macopt hexkey:0b | sed 's/.*= //')
node tests/kms/policy-kms.js deploy "$U" "$H" "$OS" >"$tmp/kms.json" 2>"$tmp/kms.err" || {
  nok "KMS stand-ins deployed"; sed 's/^/# /' "$tmp/kms.err" | tail -5; exit 1; }
APP=$(jq -r .app "$tmp/kms.json")
start_sim() { # SOCKET SEED [--app-id APP]
  "$B/dstack-sim" --socket "$1" --app-compose "$tmp/app-compose.json" --seed "$2" "${@:3}" \
    --testdata "${XT_TESTDATA:-$root/tests/data}/tdx" 2>>"$tmp/sim.log" &
  pids+=($!)
  for _ in $(seq 100); do [ -S "$1" ] && dstack "$1" Info '{}' >/dev/null 2>&1 && return 0; sleep 0.05; done
  return 1
}
dstack() { curl -s -m 5 --unix-socket "$1" -X POST "http://dstack/$2" -H 'Content-Type: application/json' -d "$3"; }
start_sim "$tmp/sim1.sock" 0b --app-id "$APP" && start_sim "$tmp/sim2.sock" 0c || { nok "dstack-sim starts"; exit 1; }
dstack "$tmp/sim1.sock" Info '{}' | jq -r .tcb_info >"$tmp/tcb.json"
dstack "$tmp/sim1.sock" GetQuote '{"report_data":"00"}' >"$tmp/quote.json"
KMS_ID=$("$B/tlog" verify-quote --report "$tmp/quote.json" --allow-simulated --json 2>/dev/null | jq -r .key_provider.id)
echo ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80 >"$tmp/owner.key"
anchorer_of() { # SOCKET -> the address of the simulator's GetKey anchor key
  dstack "$1" GetKey '{"path":"xordi-tlog/logd/anchor/v1","purpose":"anchor-signing","algorithm":"secp256k1"}' | jq -r .key >"$tmp/ea.key"
  "$B/tlog" anchor address --private-key "$tmp/ea.key"
  rm -f "$tmp/ea.key"
}
A1=$(anchorer_of "$tmp/sim1.sock")
A2=$(anchorer_of "$tmp/sim2.sock")
for a in "$A1" "$A2"; do rpc anvil_setBalance "[\"$a\",\"0x56BC75E2D63100000\"]" >/dev/null; done
C=$("$B/tlog" anchor deploy --rpc "$U" --private-key "$tmp/owner.key" 2>"$tmp/deploy.err") || { nok "deploy"; exit 1; }
DEPLOY_BLOCK=$(( $(rpc eth_blockNumber | jq -r .result) ))
O=example.org/xordi/evidence
O2=example.org/xordi/evidence-fake
reg() { "$B/tlog" anchor "$1" --rpc "$U" --private-key "$tmp/owner.key" --contract "$C" --origin "$2" --anchorer "$3" >/dev/null; }
reg register "$O" "$A1" && reg register "$O2" "$A2" || { nok "register"; exit 1; }

start_logd() { # DIR ORIGIN SOCKET; sets URL
  local lport; lport=$(free_port)
  URL=http://127.0.0.1:$lport
  "$B/logd" --dstack-socket "$3" --submitters "$tmp/submitters" --data "$1" --listen "127.0.0.1:$lport" --origin "$2" \
    --checkpoint-interval-ms 100 --anchor-rpc "$U" --anchor-contract "$C" --anchor-interval 1 >"$1.out" 2>>"$1.log" &
  pids+=($!)
  for _ in $(seq 200); do curl -sf "$URL/healthz" >/dev/null 2>&1 && return 0; sleep 0.05; done
  return 1
}
TOK=literal-token-0123456789
printf 'lit %s\n' "$TOK" >"$tmp/submitters"
grow() { # TAG: one event, its checkpoint, the anchor of that size and its quote; prints the size
  local s
  s=$(curl -s -H "Authorization: Bearer $TOK" --data-binary "{\"type\":\"mark\",\"tag\":\"$1\"}" \
    "$URL/v1/add?wait=checkpoint" | jq -r .checkpoint | sed -n 2p)
  for _ in $(seq 200); do [ "$(curl -s "$URL/v1/log" | jq -r '.anchor.size // 0')" -ge "${s:-999999}" ] && break; sleep 0.05; done
  for _ in $(seq 100); do curl -sf "$URL/v1/attestation?size=$s" >/dev/null && break; sleep 0.05; done
  echo "$s"
}
start_logd "$tmp/logd2" "$O2" "$tmp/sim2.sock" || { nok "the second logd starts"; sed 's/^/# /' "$tmp/logd2.log"; exit 1; }
F1=$(grow fake)
curl -s "$URL/v1/attestation?size=$F1" >"$tmp/fake-att.json"
start_logd "$tmp/logd" "$O" "$tmp/sim1.sock" || { nok "logd starts"; sed 's/^/# /' "$tmp/logd.log"; exit 1; }
VK=$(sed -n 's/^verifier-key: //p' "$tmp/logd.out")
S1=$(grow one)
S2=$(grow two)
check "logd: each checkpoint attestation names its boot (boot_index 0)" \
  test "$(curl -s "$URL/v1/attestation?size=$S2" | jq -r .boot_index)" = 0

CODE_HASH=$(rpc eth_getCode "[\"$C\",\"latest\"]" | jq -r .result |
  node -e "const {ethers}=require('ethers'); let s=''; process.stdin.on('data',d=>s+=d).on('end',()=>console.log(ethers.keccak256(s.trim())))")
policy() { # FILE BYTECODE_HASH [JQ filter adding the other evidence keys]: a policy complete but for them
  jq -n --arg h "$H" --arg os "$OS" --arg kid "$KMS_ID" --slurpfile t "$tmp/tcb.json" --slurpfile k "$tmp/kms.json" \
    --arg c "$C" --arg ch "$2" --argjson db "$DEPLOY_BLOCK" '{
  egress: {allow: [{endpoint: "watch_history", method: "GET", path: "/api/watch_history", host: "www.tiktok.com"}]},
  releases: [{compose_hash: $h, manifest_sha256: ("ab" * 32), commit: ("12" * 20)}],
  platform: {os_images: [{os_image_hash: $os, vm_shape: "simulator, 2 vCPU", mrtd: $t[0].mrtd,
                          rtmr0: $t[0].rtmr0, rtmr1: $t[0].rtmr1, rtmr2: $t[0].rtmr2}],
             kms_id: $kid},
  contracts: {dstack_app: {address: $k[0].app, implementations: [$k[0].app_impl], owners: [], created_block: $k[0].app_created},
              dstack_kms: {address: $k[0].kms, implementations: [$k[0].kms_impl], owners: [], created_block: $k[0].kms_created},
              anchor: {address: $c, bytecode_hash: $ch, deployment_block: $db}}}'" | ${3:-.}" >"$1"
}
policy "$tmp/p-ok.json" "$CODE_HASH" '.max_anchor_gap = 600 | .ts_ms_tolerance_s = 120'
policy "$tmp/p-code.json" "0x$(printf '%064d' 0)"
NOW=$(rpc eth_getBlockByNumber '["latest",false]' | jq -r .result.timestamp)
DAY1=$(date -u -d @$(( NOW - 86400 )) +%F)
DAY3=$(date -u -d @$(( NOW + 86400 )) +%F)
AU=(--key "$VK" --rpc "$U" --contract "$C" --from "$DAY1" --to "$DAY3" --quiet --allow-simulated)

section "honest log"
expect "honest log with a complete evidence policy: audit PASSED" 0 "audit PASSED" -- \
  "$B/tlog" audit --log "$URL" "${AU[@]}" --policy "$tmp/p-ok.json"
expect "... each evidence check reported pass (text)" 0 "anchorers +pass +Registered/Rotated events of blocks $DEPLOY_BLOCK\.\." -- \
  "$B/tlog" audit --log "$URL" "${AU[@]}" --policy "$tmp/p-ok.json"
out=$("$B/tlog" audit --log "$URL" "${AU[@]}" --policy "$tmp/p-ok.json" --json 2>/dev/null)
check "--json: all seven evidence verdicts pass" \
  test "$(jq -c '[.evidence[] | .verdict] | unique' <<<"$out")" = '["pass"]'
TX2=$("$B/tlog" anchor list --rpc "$U" --contract "$C" --origin "$O" --json | jq -r ".[] | select(.size == $S2) | .tx")
check "--json: the quoted note of anchor $S2 with its block and tx, from the quote" \
  test "$(jq -r ".evidence.quoted_notes.items[] | select(.size == $S2) | .tx + \" \" + .source" <<<"$out")" = "$TX2 quote"
check "--json: anchor $S2's entries credited to boot 0, the anchorer registered for it named with block and tx" \
  test "$(jq -r "(.evidence.anchor_credit.items[] | select(.size == $S2) | .boot), (.evidence.anchorers.items[0] | .anchorer + \" \" + .event + \" \" + (.tx | length | tostring))" <<<"$out" | paste -sd' ')" = "0 $(tr 'A-F' 'a-f' <<<"$A1") Registered 66"

section "hostile routes"
expect "wrong bytecode hash in the policy: FAIL naming both hashes" 1 \
  "FAIL  \(anchor_bytecode\) the anchor contract's runtime code hashes to $CODE_HASH, the policy says 0x0{64}" -- \
  "$B/tlog" audit --log "$URL" "${AU[@]}" --policy "$tmp/p-code.json"

"$B/tlog" export --log "$URL" --key "$VK" --rpc "$U" --contract "$C" --out "$tmp/b" --quiet >"$tmp/export.out" 2>&1 ||
  { nok "export"; sed 's/^/# /' "$tmp/export.out"; }
tamper() { rm -rf "$tmp/t"; cp -r "$tmp/b" "$tmp/t"; }
BT=(--bundle "$tmp/t" --key "$VK" --rpc "$U" --contract "$C" --from "$DAY1" --to "$DAY3" --quiet --allow-simulated --policy "$tmp/p-ok.json")
tamper
expect "the exported bundle audits clean against the chain" 0 "audit PASSED" -- "$B/tlog" audit "${BT[@]}"
cp "$tmp/t/attestation/checkpoint-$S2.json" "$tmp/t/attestation/checkpoint-$S1.json"
expect "a genuine checkpoint quote moved to another anchor: FAIL, the quoted note is not the anchored one" 1 \
  "FAIL  \(quoted_notes\) anchored checkpoint $S1 \(block [0-9]+\): the quoted note is of size $S2, the anchor of size $S1" -- \
  "$B/tlog" audit "${BT[@]}"
tamper
cp "$tmp/fake-att.json" "$tmp/t/attestation/checkpoint-$S1.json"
expect "a genuine quote of a second logd with another key: FAIL, the note does not verify with --key" 1 \
  "FAIL  \(quoted_notes\) anchored checkpoint $S1 \(block [0-9]+\): the quoted note does not verify with --key" -- \
  "$B/tlog" audit "${BT[@]}"
tamper
rm -f "$tmp/t/attestation/checkpoint-$S1.json" "$tmp/t/v1/checkpoints/$S1"
expect "an anchored note neither quoted nor kept by the log: FAIL" 1 \
  "FAIL  \(quoted_notes\) anchored checkpoint $S1 \(block [0-9]+\): no note: neither quoted \(no attestation\) nor kept by the log" -- \
  "$B/tlog" audit "${BT[@]}"

# A blackout: an hour of chain time without an anchor, then entries written under the
# old clock (the host's) after an anchor of the new one.
rpc evm_increaseTime '[3600]' >/dev/null
rpc evm_mine >/dev/null
S3=$(grow three)
S4=$(grow four)
B2=$("$B/tlog" anchor list --rpc "$U" --contract "$C" --origin "$O" --json | jq -r ".[] | select(.size == $S2) | .block")
B3=$("$B/tlog" anchor list --rpc "$U" --contract "$C" --origin "$O" --json | jq -r ".[] | select(.size == $S3) | .block")
policy "$tmp/p-gap.json" "$CODE_HASH" '.max_anchor_gap = 600'
policy "$tmp/p-ts.json" "$CODE_HASH" '.ts_ms_tolerance_s = 120'
expect "an anchor gap over max_anchor_gap: FAIL naming both anchors' blocks" 1 \
  "FAIL  \(anchor_gaps\) between the anchors of blocks $B2 and $B3 \(sizes $S2, $S3\): 36[0-9]{2} s of block time without an anchor, over max_anchor_gap 600 s" -- \
  "$B/tlog" audit --log "$URL" "${AU[@]}" --policy "$tmp/p-gap.json"
expect "an entry whose ts_ms lies before the anchor preceding it: FAIL naming the entry" 1 \
  "FAIL  \(entry_ts_ms\) entry $((S4 - 1)): ts_ms [0-9]+ lies outside" -- \
  "$B/tlog" audit --log "$URL" "${AU[@]}" --policy "$tmp/p-ts.json"
out=$("$B/tlog" audit --log "$URL" "${AU[@]}" --policy "$tmp/p-ts.json" 2>&1)
check "... while the entry anchored across the gap (ts_ms between its anchors) is not named" \
  test -z "$(grep "entry $((S3 - 1)): ts_ms" <<<"$out")"

FOREIGN=0x00000000000000000000000000000000000f0e19
reg rotate "$O" "$FOREIGN" && reg rotate "$O" "$A1" || nok "rotate"
expect "a foreign anchorer rotated in (and out again): FAIL naming it with its block and tx" 1 \
  "FAIL  \(anchorers\) anchorer $FOREIGN \(Rotated in block [0-9]+, tx 0x[0-9a-f]{64}\) is no verified boot's quoted anchor_address" -- \
  "$B/tlog" audit --log "$URL" "${AU[@]}" --policy "$tmp/p-code.json"
out=$("$B/tlog" audit --log "$URL" "${AU[@]}" --policy "$tmp/p-code.json" 2>&1)
check "... while the anchorer rotated back, logd's own (a verified boot's), is not named" \
  test -z "$(grep -i "anchorer $A1 " <<<"$out")"
HEAD=$(( $(rpc eth_blockNumber | jq -r .result) ))
expect "--from-block (the block of the last rotation, back to logd's anchorer): only that event is scanned" 1 \
  "anchorers +pass +Registered/Rotated events of blocks $HEAD\.\.$HEAD" -- \
  "$B/tlog" audit --log "$URL" "${AU[@]}" --policy "$tmp/p-code.json" --from-block "$HEAD"

harness_done
