#!/usr/bin/env bash
# logd in enclave mode (--dstack-socket) against tests/dstack-sim, with anchoring on a
# local anvil chain, end to end with real processes:
#  - keys from GetKey: the checkpoint key and anchor address stable across restarts;
#  - the boot entry (submitter logd): compose hash and instance id from Info,
#    checkpoint_key, anchor_address, quote_sha256 = SHA-256 of /v1/attestation's quote,
#    whose report_data is the boot binding of dstack/attest.h; `tlog verify-quote`
#    says "simulated";
#  - every anchored checkpoint has a quote at /v1/attestation?size=N whose report_data
#    binds that checkpoint (SHA-256("xordi-tlog-checkpoint-v1" || note));
#  - submitter tokens: literal, sha256:HEX and getkey:PATH (the collector, started with
#    --dstack-socket on the same simulator, logs its boot entry through logd);
#  - the collector's boot quote (with vm_config) sent with its boot entry to POST
#    /v1/boot, kept and served by logd at /v1/attestation?boot=I byte for byte; bad
#    evidence refused; every quote logd keeps carries vm_config; a --dev logd keeps
#    and serves its submitters' boot quotes too;
#  - refusals: --anchor-key with --dstack-socket, getkey: tokens in --dev mode.
set -u
root=${XT_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root"
BIN=${BIN:-bin}
. "$root/tests/lib/harness.sh"
harness_init logd-enclave tlog logd dstack-sim collector-test mock-tiktok
cond() { eval "$1"; } # one check over a compound condition
rpc() { curl -s -m 5 -H 'Content-Type: application/json' -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$1\",\"params\":${2:-[]}}" "$U"; }

# --- the simulator ---
SOCK=$tmp/dstack.sock
printf '{"docker_compose_file":"services:\\n  logd: {}\\n","name":"xordi-logd-test","runner":"docker-compose"}' >"$tmp/app-compose.json"
dstack() { curl -s -m 5 --unix-socket "$SOCK" -X POST "http://dstack/$1" -H 'Content-Type: application/json' -d "$2"; }
start_sim() {
  "$B/dstack-sim" --socket "$SOCK" --app-compose "$tmp/app-compose.json" --seed 0a \
    --testdata "${XT_TESTDATA:-$root/tests/data}/tdx" 2>>"$tmp/sim.log" &
  sim_pid=$!
  pids+=("$sim_pid")
  for _ in $(seq 100); do [ -S "$SOCK" ] && dstack Info '{}' >/dev/null 2>&1 && return 0; sleep 0.05; done
  return 1
}
start_sim
dstack Info '{}' >"$tmp/info.json" || { nok "dstack-sim starts"; exit 1; }
COMPOSE_HASH=$(jq -r .compose_hash "$tmp/info.json")
INSTANCE_ID=$(jq -r .instance_id "$tmp/info.json")

# --- the chain; logd's anchor address is GetKey's, computed here only because this is
# a simulator (in production the operator reads it from logd's boot entry) ---
harness_anvil --prune-history
echo ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80 >"$tmp/owner.key"
dstack GetKey '{"path":"xordi-tlog/logd/anchor/v1","purpose":"anchor-signing","algorithm":"secp256k1"}' | jq -r .key >"$tmp/enclave-anchor.key"
ANCHORER=$("$B/tlog" anchor address --private-key "$tmp/enclave-anchor.key")
rm -f "$tmp/enclave-anchor.key"
rpc anvil_setBalance "[\"$ANCHORER\",\"0x56BC75E2D63100000\"]" >/dev/null
C=$("$B/tlog" anchor deploy --rpc "$U" --private-key "$tmp/owner.key" 2>"$tmp/deploy.err") || { nok "deploy"; exit 1; }
O=example.org/xordi/enclave
"$B/tlog" anchor register --rpc "$U" --private-key "$tmp/owner.key" --contract "$C" --origin "$O" --anchorer "$ANCHORER" >/dev/null ||
  { nok "register"; exit 1; }

# --- submitters: a literal, a sha256: digest, a getkey: path ---
LIT=literal-token-0123456789
ARCH=archive-token-abcdefghijklmnop
TOKEN_PATH=xordi-tlog/logd/submitter-token/collector/v1
cat >"$tmp/submitters" <<EOF
# name token
lit $LIT
archive sha256:$(printf '%s' "$ARCH" | sha256hex)
collector getkey:$TOKEN_PATH
EOF

D=$tmp/logd
start_logd() { # extra args; sets URL, logd_pid
  local lport; lport=$(free_port)
  URL=http://127.0.0.1:$lport
  "$B/logd" --dstack-socket "$SOCK" --data "$D" --listen "127.0.0.1:$lport" --origin "$O" \
    --submitters "$tmp/submitters" --checkpoint-interval-ms 100 \
    --anchor-rpc "$U" --anchor-contract "$C" --anchor-interval 1 "$@" >"$D.out" 2>>"$D.log" &
  logd_pid=$!
  pids+=("$logd_pid")
  wait_healthy "$URL" "$logd_pid"
}

# --- refusals ---
"$B/logd" --dstack-socket "$SOCK" --data "$tmp/x" --listen 127.0.0.1:0 --origin "$O" --anchor-rpc "$U" \
  --anchor-contract "$C" --anchor-key "$tmp/owner.key" 2>"$tmp/x.err"
rc=$?
check "--anchor-key with --dstack-socket is refused (2)" cond '[ $rc = 2 ] && grep -q GetKey "$tmp/x.err"'
"$B/logd" --dev --data "$tmp/y" --listen 127.0.0.1:0 --origin "$O" --submitters "$tmp/submitters" 2>"$tmp/y.err"
rc=$?
check "getkey: tokens in --dev mode are refused (1) naming the line" cond '[ $rc = 1 ] && grep -q submitters:4 "$tmp/y.err"'

start_logd || { nok "logd starts in enclave mode"; sed 's/^/# /' "$D.log"; exit 1; }
ok "logd starts in enclave mode with anchoring"
VKEY=$(sed -n 's/^verifier-key: //p' "$D.out")
ADDR=$(sed -n 's/^anchor-address: //p' "$D.out")
check "keys from GetKey: the anchor address is GetKey's ($ADDR)" [ "$ADDR" = "$ANCHORER" ]
check "no dev token, no key files on disk" [ ! -e "$D/dev-token" -a ! -e "$D/checkpoint-key" ] && ! grep -q dev-token "$D.out"

# --- the boot entry and its quote ---
curl -s "$URL/v1/entries?start=0&count=1" | jq -r '.entries[0].entry' >"$tmp/boot.json"
jq -r .event "$tmp/boot.json" >"$tmp/boot-event.json"
ev() { jq -r ".$1" "$tmp/boot-event.json"; }
check "entry 0 is logd's boot entry (submitter logd, component logd, version)" \
  [ "$(jq -r .submitter "$tmp/boot.json")" = logd -a "$(ev type)" = boot -a "$(ev component)" = logd -a -n "$(ev version)" ]
check "boot entry: compose_hash and instance_id from Info" [ "$(ev compose_hash)" = "$COMPOSE_HASH" -a "$(ev instance_id)" = "$INSTANCE_ID" ]
check "boot entry: checkpoint_key and anchor_address" [ "$(ev checkpoint_key)" = "$VKEY" -a "$(ev anchor_address)" = "$ADDR" ]
curl -s "$URL/v1/attestation" >"$tmp/att-boot.json"
QSHA=$(jq -r .quote "$tmp/att-boot.json" | xxd -r -p | sha256hex)
check "boot entry: quote_sha256 is the SHA-256 of /v1/attestation's quote" [ "$(ev quote_sha256)" = "$QSHA" -a ${#QSHA} = 64 ]
# the boot binding: SHA-256("xordi-tlog-boot-v1" || "logd" || Ed25519 public key || address)
WANT_BOOT=$(python3 - "$VKEY" "$ADDR" <<'EOF'
import base64, hashlib, sys
vkey, addr = sys.argv[1], sys.argv[2]
pub = base64.b64decode(vkey.split("+", 2)[2])[1:]
assert len(pub) == 32
print(hashlib.sha256(b"xordi-tlog-boot-v1" + b"logd" + pub + bytes.fromhex(addr[2:])).hexdigest() + "00" * 32)
EOF
)
check "the boot quote's report_data is the boot binding" [ "$(jq -r .report_data "$tmp/att-boot.json")" = "$WANT_BOOT" ]
"$B/tlog" verify-quote --report "$tmp/att-boot.json" --json >"$tmp/vq.json" 2>"$tmp/vq.err"
rc=$?
check "tlog verify-quote --report on the boot attestation: simulated (exit 1)" [ $rc = 1 -a "$(jq -r .status "$tmp/vq.json")" = simulated ]
check "... its quote carries the boot binding and replays the compose hash" \
  [ "$(jq -r .report_data "$tmp/vq.json")" = "$WANT_BOOT" -a "$(jq -r .compose_hash "$tmp/vq.json")" = "$COMPOSE_HASH" ]

# --- submitters ---
post() { curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $1" --data-binary "$2" "$URL/v1/add"; }
check "literal token accepted" [ "$(post "$LIT" '{"type":"x","who":"lit"}')" = 200 ]
check "sha256: token accepted (the token whose digest is configured)" [ "$(post "$ARCH" '{"type":"x","who":"archive"}')" = 200 ]
check "the sha256: digest itself is not a token" [ "$(post "$(printf '%s' "$ARCH" | sha256hex)" '{"type":"x"}')" = 401 ]
PM=$(free_port) PC=$(free_port)
: >"$tmp/collector.log"
"$B/mock-tiktok" --listen "127.0.0.1:$PM" --record "$tmp/tiktok.jsonl" >"$tmp/mock.log" 2>&1 &
pids+=($!)
"$B/collector-test" --listen "127.0.0.1:$PC" --data "$tmp/collector" --logd "$URL" --logd-token "getkey:$TOKEN_PATH" \
  --archive-token "sha256:$(printf '%s' "$ARCH" | sha256hex)" --dstack-socket "$SOCK" --api-base "http://127.0.0.1:$PM" \
  >"$tmp/collector.log" 2>&1 &
pids+=($!)
for _ in $(seq 200); do grep -q '^listening ' "$tmp/collector.log" && break; sleep 0.05; done
check "collector (--dstack-socket, --logd-token getkey:PATH) logs its boot entry through logd" grep -q '^listening ' "$tmp/collector.log"
n=$(curl -s "$URL/v1/entries?start=0&count=100" | jq -r '.entries[].entry' | jq -r 'select(.submitter=="collector" and .event.type=="boot") | .event.component' | grep -c collector)
check "logd holds the collector's boot entry under submitter collector" [ "${n:-0}" -ge 1 ]

# --- the collector's boot evidence, kept by logd (POST /v1/boot, issue 14) ---
curl -s "http://127.0.0.1:$PC/v1/attestation" >"$tmp/col-att.json"
CBI=$(jq -r .boot_index "$tmp/col-att.json")
curl -s "$URL/v1/attestation?boot=$CBI" >"$tmp/logd-col-att.json"
CPUB=$(jq -r .signing_key "$tmp/col-att.json")
CRD=$( (printf 'xordi-tlog-boot-v1collector'; printf '%s' "$CPUB" | xxd -r -p) | sha256hex)$(printf '0%.0s' $(seq 64))
jq -j --argjson i "$CBI" --arg rd "$CRD" --arg ch "$COMPOSE_HASH" --arg ii "$INSTANCE_ID" -c \
  '{kind:"boot",boot_index:$i,component:"collector",submitter:"collector",quote:.quote,event_log:.event_log,vm_config:.vm_config,report_data:$rd,compose_hash:$ch,instance_id:$ii,signing_key:.signing_key}' \
  "$tmp/col-att.json" >"$tmp/want-col-att.json"
check "logd serves the collector's boot quote at /v1/attestation?boot=$CBI, byte for byte the collector's quote, event log and vm_config with the boot binding" \
  cmp -s "$tmp/want-col-att.json" "$tmp/logd-col-att.json"
check "... its vm_config is the guest agent's (non-empty)" \
  cond '[ "$(jq -r .vm_config "$tmp/logd-col-att.json")" = "$(dstack GetQuote "{\"report_data\":\"00\"}" | jq -r .vm_config)" ] && [ -n "$(jq -r .vm_config "$tmp/logd-col-att.json")" ]'
check "... and the collector's boot entry names that quote's SHA-256" \
  [ "$(curl -s "$URL/v1/entries?start=$CBI&count=1" | jq -r '.entries[0].entry' | jq -r .event.quote_sha256)" = "$(jq -r .quote "$tmp/logd-col-att.json" | xxd -r -p | sha256hex)" ]
"$B/tlog" verify-quote --report "$tmp/logd-col-att.json" --json >"$tmp/vq-col.json" 2>/dev/null
check "tlog verify-quote --report on it: simulated, the collector's boot binding" \
  [ "$(jq -r .status "$tmp/vq-col.json")" = simulated -a "$(jq -r .report_data "$tmp/vq-col.json")" = "$CRD" ]
size_before=$(curl -s "$URL/v1/log" | jq -r .tree_size)
bootpost() { curl -s -o "$tmp/bp.body" -w '%{http_code}' -H "Authorization: Bearer $LIT" --data-binary "$1" "$URL/v1/boot"; }
Q=$(jq -r .quote "$tmp/col-att.json")
QS=$(printf '%s' "$Q" | xxd -r -p | sha256hex)
# bad_boot NAME BODY WANT_ERROR: 400 with exactly {"error":WANT_ERROR}
bad_boot() {
  local code want
  code=$(bootpost "$2")
  want=$(jq -cn --arg e "$3" '{error:$e}')
  if [ "$code" = 400 ] && [ "$(cat "$tmp/bp.body")" = "$want" ]; then ok "$1"; else nok "$1 ($code: $(cat "$tmp/bp.body"))"; fi
}
ZERO=$(printf '%064d' 0)
bad_boot "/v1/boot: a quote_sha256 that is not the quote's: 400 naming it" \
  "{\"event\":{\"type\":\"boot\",\"component\":\"x\",\"quote_sha256\":\"$ZERO\"},\"quote\":\"$Q\",\"event_log\":\"[]\"}" \
  "the event's quote_sha256 is not the SHA-256 of the quote ($QS)"
bad_boot "/v1/boot: not a boot event: 400" \
  "{\"event\":{\"type\":\"x\",\"component\":\"x\",\"quote_sha256\":\"$QS\"},\"quote\":\"$Q\",\"event_log\":\"[]\"}" \
  'the event must be a boot event (type "boot") naming its component'
bad_boot "/v1/boot: an unknown member: 400" \
  "{\"event\":{\"type\":\"boot\",\"component\":\"x\",\"quote_sha256\":\"$QS\"},\"quote\":\"$Q\",\"event_log\":\"[]\",\"extra\":1}" \
  "unknown member 'extra' (takes event, quote, event_log, vm_config)"
code=$(bootpost "{\"event\":{\"type\":\"boot\",\"component\":\"x\",\"quote_sha256\":\"$(printf '\001\002' | sha256hex)\"},\"quote\":\"0102\",\"event_log\":\"[]\"}")
check "/v1/boot: a quote that is not a TDX quote: 400 ($code)" cond '[ "$code" = 400 ] && grep -q "quote is not a TDX quote" "$tmp/bp.body"'
check "/v1/boot without a token: 401" [ "$(curl -s -o /dev/null -w '%{http_code}' --data-binary '{}' "$URL/v1/boot")" = 401 ]
check "refused boot posts log nothing (tree size $size_before)" [ "$(curl -s "$URL/v1/log" | jq -r .tree_size)" = "$size_before" ]
"$B/tlog" export --log "$URL" --key "$VKEY" --out "$tmp/bundle" --quiet >"$tmp/export.out" 2>&1
check "tlog export takes the collector's boot quote from logd: attestation/boot-$CBI.json, byte for byte, in the manifest" \
  cond 'cmp -s "$tmp/bundle/attestation/boot-$CBI.json" "$tmp/logd-col-att.json" && [ "$(jq -r ".files[\"attestation/boot-$CBI.json\"]" "$tmp/bundle/manifest.json")" = "$(sha256hex <"$tmp/logd-col-att.json")" ]'
"$B/tlog" export --log "$URL" --key "$VKEY" --out "$tmp/bundle2" --quiet --attestation "$tmp/col-att.json" >"$tmp/export2.out" 2>&1
rc=$?
check "... and --attestation with the same quote is not an error (exit $rc), logd's copy kept" \
  cond '[ $rc = 0 ] && cmp -s "$tmp/bundle2/attestation/boot-$CBI.json" "$tmp/logd-col-att.json"'
check "logd's own boot quote carries vm_config too (the guest agent's)" \
  [ "$(jq -r .vm_config "$tmp/att-boot.json")" = "$(jq -r .vm_config "$tmp/logd-col-att.json")" ]

# --- anchored checkpoints and their quotes ---
size=0
for _ in $(seq 300); do
  size=$(curl -s "$URL/v1/log" | jq -r '.anchor.size // 0')
  [ "$size" -gt 1 ] && break
  sleep 0.1
done
check "logd anchors in enclave mode (size $size)" [ "$size" -gt 0 ]
code=0
for _ in $(seq 50); do
  code=$(curl -s -o "$tmp/att-cp.json" -w '%{http_code}' "$URL/v1/attestation?size=$size")
  [ "$code" = 200 ] && break
  sleep 0.1
done
check "/v1/attestation?size=$size answers 200" [ "$code" = 200 ]
curl -s "$URL/v1/checkpoints/$size" >"$tmp/cp"
check "... with the checkpoint served at /v1/checkpoints/$size" [ "$(jq -j .checkpoint "$tmp/att-cp.json" | sha256hex)" = "$(sha256hex <"$tmp/cp")" ]
WANT_CP=$( (printf 'xordi-tlog-checkpoint-v1'; cat "$tmp/cp") | sha256hex)00000000000000000000000000000000000000000000000000000000000000000
WANT_CP=${WANT_CP:0:128}
check "... whose quote's report_data binds it: SHA-256(\"xordi-tlog-checkpoint-v1\" || note)" \
  [ "$(jq -r .report_data "$tmp/att-cp.json")" = "$WANT_CP" ]
"$B/tlog" verify-quote --report "$tmp/att-cp.json" --json >"$tmp/vq2.json" 2>/dev/null
check "the checkpoint quote carries the guest agent's vm_config" \
  [ "$(jq -r .vm_config "$tmp/att-cp.json")" = "$(jq -r .vm_config "$tmp/att-boot.json")" -a -n "$(jq -r .vm_config "$tmp/att-cp.json")" ]
check "tlog verify-quote on the checkpoint quote: simulated, same report_data" \
  [ "$(jq -r .status "$tmp/vq2.json")" = simulated -a "$(jq -r .report_data "$tmp/vq2.json")" = "$WANT_CP" ]
check "the on-chain checkpoint hash is that note's" \
  [ "$("$B/tlog" anchor list --rpc "$U" --contract "$C" --origin "$O" --json | jq -r ".[] | select(.size==$size) | .checkpoint_hash" | tail -1 | sed 's/^0x//')" = "$(sha256hex <"$tmp/cp")" ]
# A size the chain never saw (whichever sizes the anchoring thread happened to pick).
anchored_sizes=" $("$B/tlog" anchor list --rpc "$U" --contract "$C" --origin "$O" --json | jq -r '.[].size' | tr '\n' ' ')"
never=1
while [[ "$anchored_sizes" == *" $never "* ]]; do never=$((never + 1)); done
check "/v1/attestation?size=$never (never anchored): 404" [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/attestation?size=$never")" = 404 ]
check "/v1/attestation?size=01: 400" [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/attestation?size=01")" = 400 ]

# --- the guest agent away while a checkpoint is anchored: its quote comes later ---
stop_pid "$sim_pid"
s2=$(curl -s -H "Authorization: Bearer $LIT" --data-binary '{"type":"x","who":"while-away"}' "$URL/v1/add?wait=checkpoint" | jq -r .checkpoint | sed -n 2p)
for _ in $(seq 100); do [ "$(curl -s "$URL/v1/log" | jq -r '.anchor.size // 0')" -ge "${s2:-999999}" ] && break; sleep 0.1; done
a2=$(curl -s "$URL/v1/log" | jq -r '.anchor.size')
check "anchoring goes on without the guest agent (size $a2)" [ "$a2" -ge "${s2:-999999}" ]
check "... the quote of checkpoint $a2 is missing meanwhile (404)" [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/attestation?size=$a2")" = 404 ]
for _ in $(seq 100); do grep -q "no quote for anchored checkpoint $a2" "$D.log" && break; sleep 0.1; done
check "... and the failure is logged" grep -q "no quote for anchored checkpoint $a2" "$D.log"
start_sim || nok "the simulator restarts"
code=0
for _ in $(seq 100); do
  code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/attestation?size=$a2")
  [ "$code" = 200 ] && break
  sleep 0.1
done
check "once the agent is back, the quote of checkpoint $a2 is obtained (retried each round)" [ "$code" = 200 ]

# --- restart: the same keys ---
stop_pid "$logd_pid"
start_logd || nok "logd restarts in enclave mode"
check "after restart: the same verifier key and anchor address (GetKey is stable)" \
  [ "$(sed -n 's/^verifier-key: //p' "$D.out")" = "$VKEY" -a "$(sed -n 's/^anchor-address: //p' "$D.out")" = "$ADDR" ]
nb=$(curl -s "$URL/v1/entries?start=0&count=1000" | jq -r '.entries[].entry' | jq -r 'select(.submitter=="logd") | .event.type' | grep -c boot)
check "a second boot entry was logged ($nb)" [ "$nb" = 2 ]
check "the anchored checkpoint's quote survives the restart" [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/attestation?size=$size")" = 200 ]
curl -s "$URL/v1/attestation?boot=0" >"$tmp/att-boot0.json"
check "the first run's boot quote stays at /v1/attestation?boot=0 (same quote)" \
  [ "$(jq -r .quote "$tmp/att-boot0.json")" = "$(jq -r .quote "$tmp/att-boot.json")" -a "$(jq -r .boot_index "$tmp/att-boot0.json")" = 0 ]
BI=$(curl -s "$URL/v1/attestation" | jq -r .boot_index)
QSHA2=$(curl -s "$URL/v1/attestation?boot=$BI" | jq -r .quote | xxd -r -p | sha256hex)
check "this run's boot entry ($BI) matches its quote at ?boot=$BI" \
  [ "$(curl -s "$URL/v1/entries?start=$BI&count=1" | jq -r '.entries[0].entry' | jq -r .event.quote_sha256)" = "$QSHA2" ]
check "?boot=1 (not a logd boot entry): 404" [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/attestation?boot=1")" = 404 ]
stop_pid "$logd_pid"

# --- a --dev logd keeps its submitters' boot quotes too (it has none of its own) ---
DV=$tmp/devd
dport=$(free_port)
"$B/logd" --dev --data "$DV" --listen "127.0.0.1:$dport" --origin example.org/xordi/dev >"$DV.out" 2>"$DV.log" &
pids+=($!)
DURL=http://127.0.0.1:$dport
for _ in $(seq 200); do curl -sf "$DURL/healthz" >/dev/null 2>&1 && break; sleep 0.05; done
dstack GetQuote '{"report_data":"0102"}' >"$tmp/gq.json"
GQ=$(jq -r .quote "$tmp/gq.json")
jq -c --arg s "$(printf '%s' "$GQ" | xxd -r -p | sha256hex)" \
  '{event:{type:"boot",component:"collector",quote_sha256:$s,compose_hash:"c0",instance_id:"i0",signing_key:"k0"},quote:.quote,event_log:.event_log,vm_config:.vm_config}' \
  "$tmp/gq.json" >"$tmp/bootpost.json"
code=$(curl -s -o "$tmp/bp-dev.json" -w '%{http_code}' -H "Authorization: Bearer $(cat "$DV/dev-token")" --data-binary @"$tmp/bootpost.json" "$DURL/v1/boot")
DI=$(jq -r .index "$tmp/bp-dev.json")
check "--dev logd: POST /v1/boot logs the entry ($code, index $DI)" [ "$code" = 200 ]
jq -cj --argjson i "$DI" '{kind:"boot",boot_index:$i,component:"collector",submitter:"dev",quote:.quote,event_log:.event_log,vm_config:.vm_config,report_data:(.report_data),compose_hash:"c0",instance_id:"i0",signing_key:"k0"}' \
  "$tmp/gq.json" >"$tmp/want-dev.json"
curl -s "$DURL/v1/attestation?boot=$DI" >"$tmp/got-dev.json"
check "... and serves the quote at /v1/attestation?boot=$DI, byte for byte" cmp -s "$tmp/want-dev.json" "$tmp/got-dev.json"
DEVMSG='{"error":"no attestation: this logd runs in --dev mode, outside a TEE"}'
check "... while its own /v1/attestation and ?boot=0 stay 404 (--dev)" \
  cond '[ "$(curl -s "$DURL/v1/attestation")" = "$DEVMSG" ] && [ "$(curl -s -w "%{http_code}" -o /dev/null "$DURL/v1/attestation?boot=0")" = 404 ]'
[ $fails = 0 ]
