#!/usr/bin/env bash
# tlog audit's code identity (client/codeid.h) against a real logd in enclave mode on
# tests/dstack-sim, anchoring on anvil; and a --dev logd:
#  - audit --allow-simulated passes and shows the compose hash; without it, fails naming
#    "simulated"; export carries the attestations; audit --bundle and verify-bundle use
#    them offline;
#  - a bundle with a quote byte flipped, a checkpoint attestation holding another
#    checkpoint's quote, or an attestation file removed fails naming it;
#  - a --dev log fails without --allow-dev ("not attested (dev mode)"), passes with it.
set -u
root=${XT_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root"
BIN=${BIN:-bin}
. "$root/tests/lib/harness.sh"
harness_init tlog-attest tlog logd dstack-sim collector-test mock-tiktok
rpc() { curl -s -m 5 -H 'Content-Type: application/json' -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$1\",\"params\":${2:-[]}}" "$U"; }

SOCK=$tmp/dstack.sock
printf '{"docker_compose_file":"services:\\n  logd: {}\\n","name":"xordi-attest-test","runner":"docker-compose"}' >"$tmp/app-compose.json"
dstack() { curl -s -m 5 --unix-socket "$SOCK" -X POST "http://dstack/$1" -H 'Content-Type: application/json' -d "$2"; }
"$B/dstack-sim" --socket "$SOCK" --app-compose "$tmp/app-compose.json" --seed 0b \
  --testdata "${XT_TESTDATA:-$root/tests/data}/tdx" 2>>"$tmp/sim.log" &
pids+=($!)
for _ in $(seq 100); do [ -S "$SOCK" ] && dstack Info '{}' >/dev/null 2>&1 && break; sleep 0.05; done
COMPOSE_HASH=$(dstack Info '{}' | jq -r .compose_hash)

harness_anvil --prune-history
echo ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80 >"$tmp/owner.key"
OWNER=$("$B/tlog" anchor address --private-key "$tmp/owner.key")
dstack GetKey '{"path":"xordi-tlog/logd/anchor/v1","purpose":"anchor-signing","algorithm":"secp256k1"}' | jq -r .key >"$tmp/ea.key"
ANCHORER=$("$B/tlog" anchor address --private-key "$tmp/ea.key")
rm -f "$tmp/ea.key"
rpc anvil_setBalance "[\"$ANCHORER\",\"0x56BC75E2D63100000\"]" >/dev/null
C=$("$B/tlog" anchor deploy --rpc "$U" --private-key "$tmp/owner.key" 2>"$tmp/deploy.err") || { nok "deploy"; exit 1; }
O=example.org/xordi/attest
OD=example.org/xordi/attest-dev
"$B/tlog" anchor register --rpc "$U" --private-key "$tmp/owner.key" --contract "$C" --origin "$O" --anchorer "$ANCHORER" >/dev/null &&
  "$B/tlog" anchor register --rpc "$U" --private-key "$tmp/owner.key" --contract "$C" --origin "$OD" --anchorer "$OWNER" >/dev/null ||
  { nok "register"; exit 1; }
# Stand-in DstackApp contracts (tests/kms): one that allows the simulator's compose hash
# (added, never removed), one that never does. They move chain time on by hours.
OTHER=$(printf 'other' | sha256sum | cut -d' ' -f1)
APP_OK=$(node tests/kms/standin.js "$U" "$OTHER" "$COMPOSE_HASH" 2>"$tmp/standin.err" | jq -r .address) || APP_OK=
APP_NO=$(node tests/kms/standin.js "$U" "$OTHER" "$OTHER" 2>>"$tmp/standin.err" | jq -r .address) || APP_NO=
TOK=literal-token-0123456789
TOKEN_PATH=xordi-tlog/logd/submitter-token/collector/v1
printf 'lit %s\ncollector getkey:%s\n' "$TOK" "$TOKEN_PATH" >"$tmp/submitters"

start_logd() { # DIR ORIGIN mode-args...; sets URL
  local dir=$1 origin=$2; shift 2
  local lport; lport=$(free_port)
  URL=http://127.0.0.1:$lport
  "$B/logd" "$@" --data "$dir" --listen "127.0.0.1:$lport" --origin "$origin" --checkpoint-interval-ms 100 \
    --anchor-rpc "$U" --anchor-contract "$C" --anchor-interval 1 >"$dir.out" 2>>"$dir.log" &
  pids+=($!)
  for _ in $(seq 200); do curl -sf "$URL/healthz" >/dev/null 2>&1 && return 0; sleep 0.05; done
  return 1
}
# grow TAG: one event, waits for its checkpoint, then for the anchor of that size
grow() {
  local s
  s=$(curl -s -H "Authorization: Bearer $1" --data-binary "{\"type\":\"mark\",\"tag\":\"$2\"}" \
    "$URL/v1/add?wait=checkpoint" | jq -r .checkpoint | sed -n 2p)
  for _ in $(seq 200); do [ "$(curl -s "$URL/v1/log" | jq -r '.anchor.size // 0')" -ge "${s:-999999}" ] && break; sleep 0.05; done
  echo "$s"
}

# ---- enclave mode ----
D=$tmp/logd
start_logd "$D" "$O" --dstack-socket "$SOCK" --submitters "$tmp/submitters" || { nok "logd starts (enclave)"; sed 's/^/# /' "$D.log"; exit 1; }
VK=$(sed -n 's/^verifier-key: //p' "$D.out")
# the collector (enclave mode on the same simulator) logs its boot entry through logd
PM=$(free_port) PC=$(free_port)
"$B/mock-tiktok" --listen "127.0.0.1:$PM" --record "$tmp/tiktok.jsonl" >"$tmp/mock.log" 2>&1 &
pids+=($!)
"$B/collector-test" --listen "127.0.0.1:$PC" --data "$tmp/collector" --logd "$URL" --logd-token "getkey:$TOKEN_PATH" \
  --archive-token "sha256:$(printf 'archive-token-abcdefghijklmnop' | sha256sum | cut -d' ' -f1)" \
  --dstack-socket "$SOCK" --api-base "http://127.0.0.1:$PM" >"$tmp/collector.log" 2>&1 &
pids+=($!)
for _ in $(seq 200); do grep -qs '^listening ' "$tmp/collector.log" && break; sleep 0.05; done
CB=$(sed -n 's/^listening .* boot-index \([0-9]*\).*/\1/p' "$tmp/collector.log")
curl -s "http://127.0.0.1:$PC/v1/attestation" >"$tmp/collector-att.json"
[ -n "$CB" ] && [ "$(jq -r .boot_index "$tmp/collector-att.json")" = "$CB" ] || { nok "collector starts and logs its boot entry"; sed 's/^/# /' "$tmp/collector.log"; }
S1=$(grow "$TOK" one)
S2=$(grow "$TOK" two)
# the checkpoint quotes come right after each anchor
for _ in $(seq 100); do curl -sf "$URL/v1/attestation?size=$S2" >/dev/null && break; sleep 0.05; done
# the window: the day of the anchors' block time (chain time, moved on by the stand-ins)
TODAY=$("$B/tlog" anchor list --rpc "$U" --contract "$C" --origin "$O" --json | jq -r '.[-1].time' | xargs -I{} date -u -d @{} +%F)
# the collector is the test build pointed at the mock: a policy must name it
printf '{"collector":{"builds":[{"build":"test","egress":"GET 127.0.0.1:%s/api/watch_history"}]}}\n' "$PM" >"$tmp/policy.json"
AU=(--key "$VK" --rpc "$U" --contract "$C" --from "$TODAY" --to "$TODAY" --quiet --policy "$tmp/policy.json")
expect "enclave log: audit --allow-simulated passes, Code identity shows the compose hash" 1 \
  "boot entry 0 +logd +simulated  compose_hash $COMPOSE_HASH" -- "$B/tlog" audit --log "$URL" "${AU[@]}" --allow-simulated
expect "... and the anchored checkpoint's quote" 1 "checkpoint $S2 .*simulated  compose_hash $COMPOSE_HASH" -- \
  "$B/tlog" audit --log "$URL" "${AU[@]}" --allow-simulated
expect "... no check fails: INCOMPLETE only for want of a policy" 1 "^audit INCOMPLETE" -- "$B/tlog" audit --log "$URL" "${AU[@]}" --allow-simulated
out=$("$B/tlog" audit --log "$URL" "${AU[@]}" --allow-simulated --json 2>/dev/null)
[ "$(jq -r '.boots[0].code_identity.compose_hash' <<<"$out")" = "$COMPOSE_HASH" ] &&
  [ "$(jq -r '[.anchors[] | select(.in_window) | .code_identity.status] | unique | join(",")' <<<"$out")" = simulated ] &&
  ok "--json: boots[].code_identity and anchors[].code_identity" || nok "--json: code_identity fields"
if [ -n "$APP_OK" ] && [ -n "$APP_NO" ]; then
  expect "--app: the boot entry's compose hash allowed by the KMS" 1 "compose_hash $COMPOSE_HASH  anchored by .*KMS: allowed" -- \
    "$B/tlog" audit --log "$URL" "${AU[@]}" --allow-simulated --app "$APP_OK"
  expect "--app: each anchored checkpoint's quote's compose hash allowed at its block time" 1 "checkpoint $S2 .*simulated  compose_hash $COMPOSE_HASH  KMS: allowed" -- \
    "$B/tlog" audit --log "$URL" "${AU[@]}" --allow-simulated --app "$APP_OK"
  expect "--app: a KMS that never allowed it fails naming the checkpoint" 1 "anchored checkpoint $S1 code identity: its quote's compose hash $COMPOSE_HASH was not allowed" -- \
    "$B/tlog" audit --log "$URL" "${AU[@]}" --allow-simulated --app "$APP_NO"
else
  nok "stand-in DstackApp contracts deployed (node tests/kms/standin.js)"; sed 's/^/# /' "$tmp/standin.err" | tail -5
fi
expect "the collector's boot entry over HTTP: its quote, kept by logd (POST /v1/boot), checked" 1 \
  "boot entry $CB +collector +simulated  compose_hash $COMPOSE_HASH" -- "$B/tlog" audit --log "$URL" "${AU[@]}" --allow-simulated
expect "enclave log: without --allow-simulated the audit fails naming simulated" 1 \
  "FAIL  \(e\) boot entry 0 \(logd\) code identity: the quote is simulated" -- "$B/tlog" audit --log "$URL" "${AU[@]}"
expect "... and each anchored checkpoint" 1 "FAIL  \(e\) anchored checkpoint $S1 code identity: the quote is simulated" -- \
  "$B/tlog" audit --log "$URL" "${AU[@]}"

"$B/tlog" export --log "$URL" --key "$VK" --rpc "$U" --contract "$C" --out "$tmp/b" --quiet \
  --attestation "$tmp/collector-att.json" >"$tmp/export.out" 2>&1
[ -f "$tmp/b/attestation/boot-0.json" ] && [ -f "$tmp/b/attestation/checkpoint-$S1.json" ] &&
  jq -e ".files[\"attestation/checkpoint-$S2.json\"]" "$tmp/b/manifest.json" >/dev/null &&
  ok "export: attestation/boot-0.json and attestation/checkpoint-N.json, listed in the manifest" ||
  { nok "export carries the attestations"; sed 's/^/# /' "$tmp/export.out"; }
# logd's boot quote, one quote per anchored checkpoint (how many anchors landed before
# the export depends on timing), and the collector's boot quote.
NQ=$(( $(jq 'if type == "array" then length else (.anchors | length) end' "$tmp/b/anchors.json" 2>/dev/null || echo 0) + 2 ))
expect "verify-bundle checks the attestations offline (logd's boot and anchors, the collector's boot: $NQ)" 0 "quotes +$NQ attestations .*\($NQ simulated\)" -- \
  "$B/tlog" verify-bundle "$tmp/b" --key "$VK" --quiet
expect "audit --bundle --anchors (no logd, no chain) --allow-simulated has no failure, INCOMPLETE (no chain, no policy)" 1 "^audit INCOMPLETE" -- \
  "$B/tlog" audit --bundle "$tmp/b" --key "$VK" --anchors "$tmp/b/anchors.json" --from "$TODAY" --to "$TODAY" --quiet --allow-simulated --policy "$tmp/policy.json"

expect "audit --bundle checks the collector's boot quote given to export --attestation" 1 \
  "boot entry $CB +collector +simulated  compose_hash $COMPOSE_HASH\$" -- \
  "$B/tlog" audit --bundle "$tmp/b" --key "$VK" --anchors "$tmp/b/anchors.json" --from "$TODAY" --to "$TODAY" --quiet --allow-simulated

# tampered copies
tamper() { rm -rf "$tmp/t"; cp -r "$tmp/b" "$tmp/t"; }
ABT=(--bundle "$tmp/t" --key "$VK" --anchors "$tmp/b/anchors.json" --from "$TODAY" --to "$TODAY" --quiet --allow-simulated --policy "$tmp/policy.json")
tamper
python3 - "$tmp/t/attestation/boot-0.json" <<'EOF'
import json, sys
p = sys.argv[1]; d = json.load(open(p)); q = d["quote"]
i = 2 * 200  # a byte of the TD report (MRTD)
d["quote"] = q[:i] + ("0" if q[i] != "0" else "1") + q[i + 1:]
json.dump(d, open(p, "w"))
EOF
expect "quote byte flipped in a boot attestation: audit fails naming quote_sha256" 1 \
  "boot entry 0 \(logd\) code identity: SHA-256 of the quote is not the entry's quote_sha256" -- "$B/tlog" audit "${ABT[@]}"
expect "... and verify-bundle names the file" 1 "attestation/boot-0.json" -- "$B/tlog" verify-bundle "$tmp/t" --key "$VK" --quiet
tamper
python3 - "$tmp/t/attestation/checkpoint-$S1.json" "$tmp/t/attestation/checkpoint-$S2.json" <<'EOF'
import json, sys
a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
a["quote"] = b["quote"]; a["event_log"] = b["event_log"]
json.dump(a, open(sys.argv[1], "w"))
EOF
expect "checkpoint attestation holding another checkpoint's quote: fails naming report_data" 1 \
  "anchored checkpoint $S1 code identity: the quote's report_data is not the expected binding" -- "$B/tlog" audit "${ABT[@]}"
tamper
python3 - "$tmp/t/attestation/boot-$CB.json" <<'EOF'
import json, sys
p = sys.argv[1]; d = json.load(open(p)); q = d["quote"]
i = 2 * 600  # a byte of REPORTDATA
d["quote"] = q[:i] + ("0" if q[i] != "0" else "1") + q[i + 1:]
json.dump(d, open(p, "w"))
EOF
expect "quote byte flipped in the collector's attestation: audit fails naming it" 1 \
  "boot entry $CB \(collector\) code identity: SHA-256 of the quote" -- "$B/tlog" audit "${ABT[@]}"
tamper
TD=${XT_TESTDATA:-$root/tests/data}/tdx
python3 - "$tmp/t/attestation/checkpoint-$S1.json" "$TD/tdx_quote" <<'EOF'
import json, sys
p = sys.argv[1]; d = json.load(open(p))
d["quote"] = open(sys.argv[2], "rb").read().hex()
json.dump(d, open(p, "w"))
EOF
expect "a real TDX quote (testdata) in a checkpoint attestation, --collateral: fails naming report_data" 1 \
  "anchored checkpoint $S1 code identity: the quote's report_data is not the expected binding" -- \
  "$B/tlog" audit "${ABT[@]}" --collateral "$TD/tdx_quote_collateral.json"
expect "--collateral that is not collateral: usage error (2)" 2 "collateral|JSON|json" -- \
  "$B/tlog" audit "${ABT[@]}" --collateral "$tmp/submitters"
tamper
rm "$tmp/t/attestation/checkpoint-$S2.json"
expect "attestation file missing from a bundle: audit fails naming it" 1 \
  "anchored checkpoint $S2 code identity: its attestation is missing" -- "$B/tlog" audit "${ABT[@]}"
expect "... verify-bundle too" 1 "attestation/checkpoint-$S2.json" -- "$B/tlog" verify-bundle "$tmp/t" --key "$VK" --quiet

# ---- --dev mode ----
DD=$tmp/dev
start_logd "$DD" "$OD" --dev --anchor-key "$tmp/owner.key" || { nok "logd starts (--dev)"; sed 's/^/# /' "$DD.log"; exit 1; }
DVK=$(cat "$DD/verifier-key")
grow "$(cat "$DD/dev-token")" dev >/dev/null
AD=(--log "$URL" --key "$DVK" --rpc "$U" --contract "$C" --from "$TODAY" --to "$TODAY" --quiet --policy "$tmp/policy.json")
expect "--dev log: audit fails without --allow-dev" 1 "boot entry 0 \(logd\) code identity: compose_hash dev, no quote" -- \
  "$B/tlog" audit "${AD[@]}" --allow-simulated
expect "... with a clear not attested (dev mode) line" 1 "boot entry 0 +logd +not attested \(dev mode\)" -- "$B/tlog" audit "${AD[@]}"
expect "--dev log: audit --allow-dev has no failure, INCOMPLETE (no policy)" 1 "^audit INCOMPLETE" -- "$B/tlog" audit "${AD[@]}" --allow-dev

[ "$fails" = 0 ]
