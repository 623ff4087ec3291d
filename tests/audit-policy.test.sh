#!/usr/bin/env bash
# tlog audit under a complete policy (client/policy.h; SPEC.md 6.3 "Audit policy"):
# a real logd in enclave mode on tests/dstack-sim (its app id the DstackApp address),
# anchoring on anvil, with the KMS stand-ins (tests/kms/policy-kms.js) deployed the way
# dstack deploys them.
#  - the honest deployment PASSES with a complete policy (values taken from the
#    simulator's Info and from `tlog verify-quote`, not from the audit; the anchor
#    contract's bytecode hash read from the chain), and its report renders PASSED;
#  - INCOMPLETE: a policy section missing, the evidence keys missing, no DstackKms,
#    --anchors without a chain;
#  - platform FAILs: unlisted OS measurements, an OS image not listed, a foreign KMS,
#    another app id, a compose hash that is not a release;
#  - all-time FAILs, each named with block and tx, played one after the other on the
#    honest contracts: a compose hash added then removed that never booted,
#    AllowAnyDeviceSet(true), an OS image the KMS allowed, an upgrade to
#    DstackAppAllowAll, an ownership transfer, RequireTcbUpToDateSet(false), a KMS
#    measurement not listed; the events the policy allows add no failure; an app
#    initialised with allowAnyDevice true or without requireTcbUpToDate (no event: read
#    from the contract's state).
set -u
root=${XT_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root"
BIN=${BIN:-bin}
. "$root/tests/lib/harness.sh"
harness_init audit-policy tlog logd dstack-sim
rpc() { curl -s -m 5 -H 'Content-Type: application/json' -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$1\",\"params\":${2:-[]}}" "$U"; }

harness_anvil --prune-history

# The app's compose file, its hash, and the OS image hash the simulator reports for
# --seed 0c (derived from the seed: known before the simulator runs, read back below).
printf '{"docker_compose_file":"services:\\n  logd: {}\\n","name":"xordi-policy-test","runner":"docker-compose"}' >"$tmp/app-compose.json"
H=$(sha256sum "$tmp/app-compose.json" | cut -d' ' -f1)
OS=$(printf 'os-image-hash' | openssl dgst -sha256 -mac HMAC -macopt hexkey:0c | sed 's/.*= //')
node tests/kms/policy-kms.js deploy "$U" "$H" "$OS" >"$tmp/kms.json" 2>"$tmp/kms.err" || {
  nok "KMS stand-ins deployed"; sed 's/^/# /' "$tmp/kms.err" | tail -5; exit 1; }
APP=$(jq -r .app "$tmp/kms.json")
KMS=$(jq -r .kms "$tmp/kms.json")

SOCK=$tmp/dstack.sock
dstack() { curl -s -m 5 --unix-socket "$SOCK" -X POST "http://dstack/$1" -H 'Content-Type: application/json' -d "$2"; }
"$B/dstack-sim" --socket "$SOCK" --app-compose "$tmp/app-compose.json" --seed 0c --app-id "$APP" \
  --testdata "${XT_TESTDATA:-$root/tests/data}/tdx" 2>>"$tmp/sim.log" &
pids+=($!)
for _ in $(seq 100); do [ -S "$SOCK" ] && dstack Info '{}' >/dev/null 2>&1 && break; sleep 0.05; done
[ "$(dstack Info '{}' | jq -r .compose_hash)" = "$H" ] && ok "the simulator serves the compose file" || nok "simulator compose hash"

# The platform values an auditor reads for this image and VM: MRTD and RTMR0-2 from
# the measured VM (here the simulator's Info), the os image hash and KMS id from a quote.
dstack Info '{}' | jq -r .tcb_info >"$tmp/tcb.json"
dstack GetQuote '{"report_data":"00"}' >"$tmp/quote.json"
"$B/tlog" verify-quote --report "$tmp/quote.json" --allow-simulated --json >"$tmp/vq.json" 2>/dev/null
KMS_ID=$(jq -r .key_provider.id "$tmp/vq.json")
[ "$(jq -r .os_image_hash.event "$tmp/vq.json")" = "$OS" ] && [ -n "$KMS_ID" ] && [ "$KMS_ID" != null ] &&
  ok "verify-quote names the os image hash and the KMS id" || nok "verify-quote platform fields"

echo ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80 >"$tmp/owner.key"
dstack GetKey '{"path":"xordi-tlog/logd/anchor/v1","purpose":"anchor-signing","algorithm":"secp256k1"}' | jq -r .key >"$tmp/ea.key"
ANCHORER=$("$B/tlog" anchor address --private-key "$tmp/ea.key")
rm -f "$tmp/ea.key"
rpc anvil_setBalance "[\"$ANCHORER\",\"0x56BC75E2D63100000\"]" >/dev/null
C=$("$B/tlog" anchor deploy --rpc "$U" --private-key "$tmp/owner.key" 2>"$tmp/deploy.err") || { nok "deploy"; exit 1; }
# The anchor contract's evidence keys: its deployment block and the keccak-256 of its
# runtime code (EXTCODEHASH), read from the chain as an auditor would.
DEPLOY_BLOCK=$(( $(rpc eth_blockNumber | jq -r .result) ))
CODE_HASH=$(rpc eth_getCode "[\"$C\",\"latest\"]" | jq -r .result |
  node -e "const {ethers}=require('ethers'); let s=''; process.stdin.on('data',d=>s+=d).on('end',()=>console.log(ethers.keccak256(s.trim())))")
O=example.org/xordi/policy
"$B/tlog" anchor register --rpc "$U" --private-key "$tmp/owner.key" --contract "$C" --origin "$O" --anchorer "$ANCHORER" >/dev/null ||
  { nok "register"; exit 1; }
TOK=literal-token-0123456789
printf 'lit %s\n' "$TOK" >"$tmp/submitters"
lport=$(free_port)
URL=http://127.0.0.1:$lport
"$B/logd" --dstack-socket "$SOCK" --submitters "$tmp/submitters" --data "$tmp/logd" --listen "127.0.0.1:$lport" \
  --origin "$O" --checkpoint-interval-ms 100 --anchor-rpc "$U" --anchor-contract "$C" --anchor-interval 1 \
  >"$tmp/logd.out" 2>>"$tmp/logd.log" &
pids+=($!)
for _ in $(seq 200); do curl -sf "$URL/healthz" >/dev/null 2>&1 && break; sleep 0.05; done
VK=$(sed -n 's/^verifier-key: //p' "$tmp/logd.out")
s=$(curl -s -H "Authorization: Bearer $TOK" --data-binary '{"type":"mark","tag":"one"}' "$URL/v1/add?wait=checkpoint" |
  jq -r .checkpoint | sed -n 2p)
for _ in $(seq 200); do [ "$(curl -s "$URL/v1/log" | jq -r '.anchor.size // 0')" -ge "${s:-999999}" ] && break; sleep 0.05; done
for _ in $(seq 100); do curl -sf "$URL/v1/attestation?size=$s" >/dev/null && break; sleep 0.05; done
TODAY=$("$B/tlog" anchor list --rpc "$U" --contract "$C" --origin "$O" --json | jq -r '.[-1].time' | xargs -I{} date -u -d @{} +%F)

# policy NAME [JQ-OPTIONS] FILTER: the complete honest policy, changed by the filter
jq -n --arg h "$H" --arg os "$OS" --arg kid "$KMS_ID" --slurpfile t "$tmp/tcb.json" --slurpfile k "$tmp/kms.json" \
  --arg c "$C" --arg ch "$CODE_HASH" --argjson db "$DEPLOY_BLOCK" '{
  egress: {allow: [{endpoint: "watch_history", method: "GET", path: "/api/watch_history", host: "www.tiktok.com"}]},
  releases: [{compose_hash: $h, manifest_sha256: ("ab" * 32), commit: ("12" * 20)}],
  platform: {os_images: [{os_image_hash: $os, vm_shape: "simulator, 2 vCPU", mrtd: $t[0].mrtd,
                          rtmr0: $t[0].rtmr0, rtmr1: $t[0].rtmr1, rtmr2: $t[0].rtmr2}],
             kms_id: $kid},
  contracts: {dstack_app: {address: $k[0].app, implementations: [$k[0].app_impl], owners: [], created_block: $k[0].app_created},
              dstack_kms: {address: $k[0].kms, implementations: [$k[0].kms_impl], owners: [], created_block: $k[0].kms_created},
              anchor: {address: $c, bytecode_hash: $ch, deployment_block: $db}},
  max_anchor_gap: 3600, ts_ms_tolerance_s: 120}' >"$tmp/policy.json"
policy() { local n=$1; shift; jq "$@" "$tmp/policy.json" >"$tmp/$n.json"; echo "$tmp/$n.json"; }
AU=(--log "$URL" --key "$VK" --rpc "$U" --contract "$C" --from "$TODAY" --to "$TODAY" --quiet --allow-simulated)

section "honest"
expect "honest deployment, complete policy: audit PASSED" 0 "^audit PASSED" -- "$B/tlog" audit "${AU[@]}" --policy "$tmp/policy.json"
out=$("$B/tlog" audit "${AU[@]}" --policy "$tmp/policy.json" --json 2>/dev/null)
[ "$(jq -r '.verdict' <<<"$out")" = PASSED ] &&
  [ "$(jq -r '[.checks[] | select(.name == "kms_all_time" or .name == "platform" or .name == "completeness") | .verdict] | join(",")' <<<"$out")" = passed,passed,passed ] &&
  [ "$(jq -r '.platform.quotes' <<<"$out")" -ge 2 ] && [ "$(jq -r '.kms_all_time.events' <<<"$out")" -ge 5 ] &&
  ok "--json: every check listed with its verdict; platform and KMS history judged" || nok "--json checks ($(jq -c '.checks' <<<"$out" | head -c 400))"
"$B/tlog" audit "${AU[@]}" --policy "$tmp/policy.json" --report "$tmp/pass.html" --summary "$tmp/pass.md" >/dev/null 2>&1
grep -qF '<span class="badge">PASSED.</span>' "$tmp/pass.html" && grep -qF '**Audit PASSED**' "$tmp/pass.md" &&
  ! grep -qF 'What was not checked' "$tmp/pass.html" &&
  ok "--report/--summary of the PASSED audit render PASSED" || nok "PASSED rendering ($(grep -o 'class="badge">[^<]*' "$tmp/pass.html"))"
expect "--app agreeing with the policy" 0 "^audit PASSED" -- "$B/tlog" audit "${AU[@]}" --policy "$tmp/policy.json" --app "$APP"
expect "--app contradicting the policy is a usage error" 2 "not the policy's contracts.dstack_app" -- \
  "$B/tlog" audit "${AU[@]}" --policy "$tmp/policy.json" --app 0x00000000000000000000000000000000000000bb
expect "a misspelt policy key is refused, not ignored" 2 'unknown member "implementaions"' -- \
  "$B/tlog" audit "${AU[@]}" --policy "$(policy typo '.contracts.dstack_app.implementaions = []')"
expect "an egress rule without host is refused" 2 "must name its host" -- \
  "$B/tlog" audit "${AU[@]}" --policy "$(policy nohost 'del(.egress.allow[0].host)')"

expect "without created_block the KMS history is read from the contracts' creation all the same" 0 "^audit PASSED" -- \
  "$B/tlog" audit "${AU[@]}" --policy "$(policy nocreated 'del(.contracts.dstack_app.created_block, .contracts.dstack_kms.created_block)')"
expect "a created_block after the creation hides history: FAIL, no Initialized event" 1 \
  "FAIL  \(kms\) the DstackApp history from block [0-9]+ holds no Initialized event: it does not reach the contract's creation" -- \
  "$B/tlog" audit "${AU[@]}" --policy "$(policy late '.contracts.dstack_app.created_block += 1 | .contracts.dstack_kms.created_block = .contracts.dstack_app.created_block')"

section "incomplete"
for sec in egress releases platform contracts; do
  expect "policy without $sec: INCOMPLETE naming it" 1 "^INCOMPLETE  the policy has no $sec section" -- \
    "$B/tlog" audit "${AU[@]}" --policy "$(policy "no-$sec" "del(.$sec)")"
done
expect "policy without the evidence keys: INCOMPLETE naming the unchecked anchor gaps" 1 \
  "^INCOMPLETE  anchor_gaps not checked: the policy has no max_anchor_gap" -- \
  "$B/tlog" audit "${AU[@]}" --policy "$(policy no-evidence 'del(.contracts.anchor, .max_anchor_gap, .ts_ms_tolerance_s)')"
expect "... and the unchecked entry ts_ms too" 1 \
  "^INCOMPLETE  entry_ts_ms not checked: the policy has no ts_ms_tolerance_s" -- \
  "$B/tlog" audit "${AU[@]}" --policy "$tmp/no-evidence.json"
expect "... and the verdict says INCOMPLETE, not PASSED" 1 "^audit INCOMPLETE" -- "$B/tlog" audit "${AU[@]}" --policy "$tmp/no-releases.json"
expect "no policy at all: INCOMPLETE" 1 "^audit INCOMPLETE" -- "$B/tlog" audit "${AU[@]}"
"$B/tlog" anchor list --rpc "$U" --contract "$C" --origin "$O" --json >"$tmp/anchors.json"
expect "--anchors FILE (no chain): INCOMPLETE, whatever the policy" 1 "^INCOMPLETE  anchors from a file \(--anchors\), not the chain" -- \
  "$B/tlog" audit --log "$URL" --key "$VK" --anchors "$tmp/anchors.json" --from "$TODAY" --to "$TODAY" --quiet --allow-simulated --policy "$tmp/policy.json"
expect "INCOMPLETE is exit 1 with --json too" 1 '"verdict": "INCOMPLETE"' -- \
  "$B/tlog" audit --log "$URL" --key "$VK" --anchors "$tmp/anchors.json" --from "$TODAY" --to "$TODAY" --quiet --allow-simulated --policy "$tmp/policy.json" --json

section "platform"
expect "quote with unlisted OS measurements (RTMR1 not the policy's)" 1 \
  "FAIL  \(platform\) boot entry 0: its OS measurements \(MRTD [0-9a-f]{16}\.\., RTMR0-2\) are not the policy's for OS image $OS" -- \
  "$B/tlog" audit "${AU[@]}" --policy "$(policy rtmr1 '.platform.os_images[0].rtmr1 = ("00" * 48)')"
expect "quote with an OS image the policy does not list" 1 "FAIL  \(platform\) anchored checkpoint $s: its OS image $OS is not in the policy's platform.os_images" -- \
  "$B/tlog" audit "${AU[@]}" --policy "$(policy os "(.platform.os_images[0].os_image_hash = (\"ee\" * 32))")"
expect "quote from a foreign KMS (key provider id not the policy's)" 1 "FAIL  \(platform\) boot entry 0: its key provider is a foreign KMS \(id $KMS_ID\)" -- \
  "$B/tlog" audit "${AU[@]}" --policy "$(policy kmsid '.platform.kms_id = ("77" * 33)')"
expect "quote whose compose hash is not a reviewed release" 1 "FAIL  \(platform\) boot entry 0: its compose hash $H is not one of the policy's releases" -- \
  "$B/tlog" audit "${AU[@]}" --policy "$(policy rel '.releases[0].compose_hash = ("dd" * 32)')"
# Another app id: the same quotes against a second, honest-looking DstackApp.
node tests/kms/policy-kms.js deploy "$U" "$H" "$OS" >"$tmp/kms2.json" 2>>"$tmp/kms.err"
expect "quote of another app id (not the DstackApp address)" 1 "FAIL  \(platform\) boot entry 0: its app id ${APP#0x} is not the DstackApp address" -- \
  "$B/tlog" audit "${AU[@]}" --policy "$(policy app2 --slurpfile k2 "$tmp/kms2.json" '.contracts.dstack_app.address = $k2[0].app | .contracts.dstack_app.implementations = [$k2[0].app_impl] | .contracts.dstack_kms.address = $k2[0].kms | .contracts.dstack_kms.implementations = [$k2[0].kms_impl]')"

section "all-time KMS history"
# route NAME [ARG]: the operator's move on the honest contracts; sets TX (its last tx)
route() {
  node tests/kms/policy-kms.js route "$U" "$KMS" "$APP" "$@" >"$tmp/route.json" 2>>"$tmp/kms.err" || { nok "route $1"; return 1; }
  TX=$(jq -r '.txs[-1].tx' "$tmp/route.json")
  BLK=$(jq -r '.txs[-1].block' "$tmp/route.json")
}
M=$(printf 'malicious' | sha256sum | cut -d' ' -f1)
route brief "$M"
ADD_TX=$(jq -r '.txs[0].tx' "$tmp/route.json")
ADD_BLK=$(jq -r '.txs[0].block' "$tmp/route.json")
expect "a compose hash added then removed, never booted: FAIL with block and tx" 1 \
  "FAIL  \(kms\) DstackApp allowed compose hash $M, which the policy's releases do not list \(block $ADD_BLK, tx $ADD_TX\)" -- \
  "$B/tlog" audit "${AU[@]}" --policy "$tmp/policy.json"
route any-device
ANY_TX=$TX ANY_BLK=$BLK
expect "AllowAnyDeviceSet(true)" 1 "FAIL  \(kms\) DstackApp AllowAnyDeviceSet\(true\): any machine could get the app's keys \(block $BLK, tx $TX\)" -- \
  "$B/tlog" audit "${AU[@]}" --policy "$tmp/policy.json"
DEVOS=$(printf 'dev os image' | sha256sum | cut -d' ' -f1)
route os "$DEVOS"
expect "an OS image the KMS allowed that the policy does not list" 1 \
  "FAIL  \(kms\) DstackKms allowed OS image $DEVOS, which the policy's platform does not list \(block $BLK, tx $TX\)" -- \
  "$B/tlog" audit "${AU[@]}" --policy "$tmp/policy.json"
route allow-all
AA=$(jq -r .allow_all_impl "$tmp/route.json")
expect "an upgrade to DstackAppAllowAll" 1 "FAIL  \(kms\) DstackApp upgraded to implementation $AA, which the policy does not list \(block $BLK, tx $TX\)" -- \
  "$B/tlog" audit "${AU[@]}" --policy "$tmp/policy.json"
route transfer
NEW=$(jq -r .new_owner "$tmp/route.json")
expect "an ownership transfer the policy does not list" 1 "FAIL  \(kms\) DstackApp ownership transferred to $NEW, which the policy does not list \(block $BLK, tx $TX\)" -- \
  "$B/tlog" audit "${AU[@]}" --policy "$tmp/policy.json"
expect "... and its first step, OwnershipTransferStarted" 1 "FAIL  \(kms\) DstackApp ownership transfer started to $NEW" -- \
  "$B/tlog" audit "${AU[@]}" --policy "$tmp/policy.json"
out=$("$B/tlog" audit "${AU[@]}" --policy "$tmp/policy.json" --json 2>/dev/null)
[ "$(jq -r '.checks[] | select(.name == "kms_all_time") | .verdict' <<<"$out")" = failed ] &&
  [ "$(jq -r '.checks[] | select(.name == "kms_all_time") | .failures | length' <<<"$out")" = 6 ] &&
  [ "$(jq -r '.checks[] | select(.name == "platform") | .verdict' <<<"$out")" = passed ] &&
  ok "--json: the six KMS failures under kms_all_time, the quotes still pass the platform" || nok "--json kms_all_time ($(jq -c '.checks' <<<"$out" | head -c 600))"
# The same moves listed by the auditor: only AllowAnyDeviceSet(true), which no policy
# can allow, still fails; the policy is what decides.
out=$("$B/tlog" audit "${AU[@]}" --policy "$(policy listed --arg m "$M" --arg os2 "$DEVOS" --arg aa "$AA" --arg new "$NEW" \
  '.releases += [{compose_hash: $m, manifest_sha256: ("cd" * 32), commit: ("34" * 20)}]
   | .platform.os_images += [.platform.os_images[0] | .os_image_hash = $os2]
   | .contracts.dstack_app.implementations += [$aa] | .contracts.dstack_app.owners = [$new]')" --json 2>/dev/null)
[ "$(jq -r '.failures | join("|")' <<<"$out")" = "(kms) DstackApp AllowAnyDeviceSet(true): any machine could get the app's keys (block $ANY_BLK, tx $ANY_TX)" ] &&
  ok "every other move listed in the policy: only AllowAnyDeviceSet(true) still fails" || nok "listed moves ($(jq -c .failures <<<"$out" | head -c 600))"

section "monitor"
HPORT=$(free_port)
python3 tests/lib/webhook.py "$HPORT" "$tmp/hook.jsonl" &
pids+=($!)
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$HPORT/" && break; sleep 0.1; done
MON=(--log "$URL" --key "$VK" --rpc "$U" --contract "$C" --once --policy "$tmp/policy.json")
expect "monitor --policy: the brief compose hash is an alert naming block and tx" 1 \
  "ALERT kms-policy: DstackApp allowed compose hash $M, which the policy's releases do not list \(block $ADD_BLK, tx $ADD_TX" -- \
  "$B/tlog" monitor "${MON[@]}" --state "$tmp/mon1"
expect "monitor --policy: the upgrade to DstackAppAllowAll too" 1 "ALERT kms-policy: DstackApp upgraded to implementation $AA" -- \
  "$B/tlog" monitor "${MON[@]}" --state "$tmp/mon2"
expect "monitor --policy: the OS image the KMS allowed (DstackKms read from the policy)" 1 "ALERT kms-policy: DstackKms allowed OS image $DEVOS" -- \
  "$B/tlog" monitor "${MON[@]}" --state "$tmp/mon3"
expect "monitor without a policy: AllowAnyDeviceSet(true) is still an alert" 1 "ALERT kms-policy: DstackApp AllowAnyDeviceSet\(true\)" -- \
  "$B/tlog" monitor --log "$URL" --key "$VK" --rpc "$U" --contract "$C" --once --app "$APP" --state "$tmp/mon4"
"$B/tlog" monitor "${MON[@]}" --state "$tmp/mon5" --webhook "http://127.0.0.1:$HPORT/hook" >/dev/null 2>&1
[ "$(grep -c '"kind":"kms-policy"' "$tmp/hook.jsonl" 2>/dev/null)" = 6 ] && grep -q "\"level\":\"alert\"" "$tmp/hook.jsonl" &&
  ok "monitor --webhook: each of the six moves POSTed as a kms-policy alert" || nok "monitor webhook ($(head -c 600 "$tmp/hook.jsonl" 2>/dev/null))"

section "KMS events and state not seen in events (dstack's real DstackApp, DstackKms)"
LISTED=$tmp/listed.json
nfail() { "$B/tlog" audit "${AU[@]}" --policy "$1" --json 2>/dev/null | jq '.failures | length'; }
before=$(nfail "$LISTED")
route benign
[ "$(nfail "$LISTED")" = "$before" ] &&
  ok "events the policy allows (devices, KmsInfoSet, GatewayAppIdSet, AppImplementationSet, AppRegistered, RequireTcbUpToDateSet(true)) add no failure" ||
  nok "benign KMS events ($("$B/tlog" audit "${AU[@]}" --policy "$LISTED" 2>&1 | grep '^FAIL' | head -c 600))"
route tcb-any
expect "RequireTcbUpToDateSet(false) while the policy admits UpToDate only" 1 \
  "FAIL  \(kms\) DstackApp RequireTcbUpToDateSet\(false\): machines whose TCB is not up to date could get the app's keys, and the policy's platform.tcb admits UpToDate only \(block $BLK, tx $TX\)" -- \
  "$B/tlog" audit "${AU[@]}" --policy "$LISTED"
out=$("$B/tlog" audit "${AU[@]}" --policy "$(policy tcb-ok '.platform.tcb = {statuses: ["UpToDate", "OutOfDate"]}')" 2>&1)
grep -q "RequireTcbUpToDateSet(false)" <<<"$out" && nok "a policy admitting OutOfDate allows RequireTcbUpToDateSet(false)" || ok "a policy admitting OutOfDate allows RequireTcbUpToDateSet(false)"
MR=$(printf 'kms mr' | sha256sum | cut -d' ' -f1)
route kms-mr "$MR"
expect "a KMS measurement (aggregated MR) the policy does not list" 1 \
  "FAIL  \(kms\) DstackKms allowed KMS measurement \(aggregated MR\) $MR, which the policy's contracts.dstack_kms.aggregated_mrs do not list \(block $BLK, tx $TX\)" -- \
  "$B/tlog" audit "${AU[@]}" --policy "$LISTED"
out=$("$B/tlog" audit "${AU[@]}" --policy "$(policy mr-ok --arg mr "$MR" '.contracts.dstack_kms.aggregated_mrs = [$mr]')" 2>&1)
grep -q "aggregated MR" <<<"$out" && nok "... listed in contracts.dstack_kms.aggregated_mrs it passes" || ok "... listed in contracts.dstack_kms.aggregated_mrs it passes"
expect "aggregated_mrs on the DstackApp is a policy error" 2 'dstack_app has an unknown member "aggregated_mrs"' -- \
  "$B/tlog" audit "${AU[@]}" --policy "$(policy mr-app '.contracts.dstack_app.aggregated_mrs = []')"
# dstack's initializer sets allowAnyDevice and requireTcbUpToDate without an event (as
# the stand-in does): the audit reads the contract's state.
for init in any-device tcb-any; do
  node tests/kms/policy-kms.js deploy "$U" "$H" "$OS" "$init" >"$tmp/kms-$init.json" 2>>"$tmp/kms.err"
done
INIT_POL='.contracts.dstack_app.address = $k2[0].app | .contracts.dstack_app.implementations = [$k2[0].app_impl] | .contracts.dstack_app.created_block = $k2[0].app_created | .contracts.dstack_kms.address = $k2[0].kms | .contracts.dstack_kms.implementations = [$k2[0].kms_impl] | .contracts.dstack_kms.created_block = $k2[0].kms_created'
expect "an app initialised with allowAnyDevice true (no event): FAIL read from its state" 1 \
  "FAIL  \(kms\) DstackApp was initialised with allowAnyDevice\(\) = true, set without an event \(read from the contract's state; no event changed it since\): any machine could get the app's keys \(block [0-9]+, tx 0x[0-9a-f]{64}\)" -- \
  "$B/tlog" audit "${AU[@]}" --policy "$(policy init-any --slurpfile k2 "$tmp/kms-any-device.json" "$INIT_POL")"
expect "an app initialised without requireTcbUpToDate (no event): FAIL read from its state" 1 \
  "FAIL  \(kms\) DstackApp was initialised with requireTcbUpToDate\(\) = false, set without an event" -- \
  "$B/tlog" audit "${AU[@]}" --policy "$(policy init-tcb --slurpfile k2 "$tmp/kms-tcb-any.json" "$INIT_POL")"
harness_done
