#!/usr/bin/env bash
# dstack-sim end to end with curl and tlog: simulated quotes carry the caller's
# report_data and the compose hash of the given app-compose file, replay, and are
# reported as "simulated" (exit 1 unless --allow-simulated). Keys are deterministic.
set -u
root=${XT_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
BIN=${BIN:-bin}
cd "$root"
. "$root/tests/lib/harness.sh"
harness_init --no-anvil dstack-sim tlog dstack-sim
bin=$B
sim_pid=
stop_sim() { if [ -n "$sim_pid" ]; then kill "$sim_pid" 2>/dev/null; wait "$sim_pid" 2>/dev/null; sim_pid=; fi; }
harness_at_exit() { stop_sim; }
# this test's check takes a shell condition as a string
check() { if eval "$2"; then ok "$1"; else nok "$1"; fi; }
sock=$tmp/dstack.sock
start_sim() { # seed [more dstack-sim options]
  local seed=$1; shift
  "$bin/dstack-sim" --socket "$sock" --app-compose "$tmp/app-compose.json" --seed "$seed" "$@" \
    --testdata "${XT_TESTDATA:-$root/tests/data}/tdx" 2>"$tmp/sim.log" &
  sim_pid=$!
  for _ in $(seq 100); do [ -S "$sock" ] && curl -s --unix-socket "$sock" http://dstack/Info >/dev/null && return 0; sleep 0.05; done
  return 1
}
rpc() { curl -s --unix-socket "$sock" -X POST "http://dstack/$1" -H 'Content-Type: application/json' -d "$2"; }
jq_() { jq -r "$1"; }

printf '{"docker_compose_file":"services:\\n  logd: {}\\n","name":"xordi","runner":"docker-compose"}' >"$tmp/app-compose.json"
check "simulator starts" "start_sim 01"
key1=$(rpc GetKey '{"path":"logd/checkpoint","purpose":"signing","algorithm":"ed25519"}' | jq_ .key)
key1b=$(rpc GetKey '{"path":"logd/checkpoint","purpose":"signing","algorithm":"ed25519"}' | jq_ .key)
key2=$(rpc GetKey '{"path":"logd/anchor","purpose":"signing","algorithm":"secp256k1"}' | jq_ .key)
check "GetKey returns 32 bytes" '[ ${#key1} -eq 64 ]'
check "GetKey is deterministic" '[ "$key1" = "$key1b" ]'
check "GetKey differs per path" '[ "$key1" != "$key2" ]'
rd=$(printf 'xordi-tlog-boot-v1' | sha256sum | cut -d' ' -f1)
rpc GetQuote "{\"report_data\":\"$rd\"}" >"$tmp/report.json"
check "GetQuote echoes report_data (padded)" '[ "$(jq_ .report_data <"$tmp/report.json")" = "${rd}$(printf "%064d" 0)" ]'
"$bin/tlog" verify-quote --report "$tmp/report.json" --json >"$tmp/v.json" 2>"$tmp/v.err"
rc=$?
check "verify-quote fails on a simulated quote (exit 1)" '[ $rc -eq 1 ]'
check "status is simulated" '[ "$(jq_ .status <"$tmp/v.json")" = simulated ]'
check "quote carries report_data" '[ "$(jq_ .report_data <"$tmp/v.json")" = "${rd}$(printf "%064d" 0)" ]'
check "event log replays to RTMR0-3" '[ "$(jq_ .event_log <"$tmp/v.json")" = replayed ]'
want=$("$bin/tlog" compose-hash "$tmp/app-compose.json")
check "compose hash in RTMR3 is the app-compose hash" '[ "$(jq_ .compose_hash <"$tmp/v.json")" = "$want" ]'
check "Info compose_hash matches" '[ "$(rpc Info "{}" | jq_ .compose_hash)" = "$want" ]'
check "Info tcb_info.app_compose is the file" \
  '[ "$(rpc Info "{}" | jq_ .tcb_info | jq_ .app_compose)" = "$(cat "$tmp/app-compose.json")" ]'
"$bin/tlog" verify-quote --report "$tmp/report.json" --allow-simulated >/dev/null 2>&1
check "--allow-simulated accepts it (exit 0)" '[ $? -eq 0 ]'
check "bad report_data is a 400 error" \
  '[ "$(curl -s -o /dev/null -w "%{http_code}" --unix-socket "$sock" -X POST http://dstack/GetQuote -d "{\"report_data\":\"$(printf "%0130d" 0)\"}")" = 400 ]'
check "unknown method is a 404 error with a JSON error" '[ -n "$(rpc Nope "{}" | jq_ .error)" ]'

# today's dstack (0.5.6+): runtime events without digests, the 0.6.0 RTMR3 events, an app
# id that is not the compose hash, vm_config, Version
check "runtime events are sent without digests" \
  '[ "$(jq_ .event_log <"$tmp/report.json" | jq -r "[.[] | select(.imr == 3) | .digest] | unique | join(\",\")")" = "" ]'
check "RTMR3 events are dstack 0.6.0's, in its order" \
  '[ "$(jq_ .event_log <"$tmp/report.json" | jq -r "[.[] | select(.imr == 3) | .event] | join(\",\")")" = "system-preparing,app-id,compose-hash,instance-id,boot-mr-done,os-image-hash,key-provider,storage-fs,system-ready" ]'
check "key provider is a KMS with a 32-byte id" \
  '[ "$(jq -r ".key_provider | \"\(.name) \(.id | length)\"" <"$tmp/v.json")" = "kms 64" ]'
check "os-image-hash event and vm_config agree" \
  '[ "$(jq -r ".os_image_hash.event" <"$tmp/v.json")" = "$(jq -r ".os_image_hash.vm_config" <"$tmp/v.json")" ] && [ "$(jq -r ".os_image_hash.event | length" <"$tmp/v.json")" = 64 ]'
check "storage-fs is zfs" '[ "$(jq_ .storage_fs <"$tmp/v.json")" = zfs ]'
check "app id is not the compose hash's prefix" '[ "$(jq_ .app_id <"$tmp/v.json")" != "${want:0:40}" ]'
check "Info app_id is the quoted one" '[ "$(rpc Info "{}" | jq_ .app_id)" = "$(jq_ .app_id <"$tmp/v.json")" ]'
check "Info key_provider_info is the measured one" \
  '[ "$(rpc Info "{}" | jq -r .key_provider_info | jq -cS .)" = "$(jq -cS .key_provider <"$tmp/v.json")" ]'
check "MRCONFIGID is not claimed (zero)" '[ "$(jq -c .mr_config_id <"$tmp/v.json")" = "{\"version\":0}" ]'
check "Version names dstack 0.6.0 and the simulator" \
  '[ "$(rpc Version "{}" | jq -r "\"\(.version) \(.rev)\"")" = "0.6.0 dstack-sim" ]'
stop_sim
app=1111111111111111111111111111111111111111
check "simulator starts with --app-id and --legacy-event-log" "start_sim 01 --app-id 0x$app --legacy-event-log"
rpc GetQuote "{\"report_data\":\"$rd\"}" >"$tmp/legacy.json"
"$bin/tlog" verify-quote --report "$tmp/legacy.json" --allow-simulated --json >"$tmp/lv.json" 2>/dev/null
check "legacy log: digests filled in, and it replays" \
  '[ "$(jq_ .event_log <"$tmp/legacy.json" | jq -r "[.[] | select(.imr == 3) | .digest | length] | unique | join(\",\")")" = 96 ] && [ "$(jq_ .event_log <"$tmp/lv.json")" = replayed ]'
check "--app-id is the measured app id" '[ "$(jq_ .app_id <"$tmp/lv.json")" = "$app" ]'
check "--app-id changes keys (they derive from the app)" \
  '[ "$(rpc GetKey "{\"path\":\"logd/checkpoint\",\"algorithm\":\"ed25519\"}" | jq_ .key)" != "$key1" ]'
stop_sim
check "a bad --app-id is refused" '! start_sim 01 --app-id 1234'
stop_sim
check "simulator removed its socket" '[ ! -e "$sock" ]'

check "simulator restarts with the same seed" "start_sim 01"
check "same seed, same key" '[ "$(rpc GetKey "{\"path\":\"logd/checkpoint\",\"algorithm\":\"ed25519\"}" | jq_ .key)" = "$key1" ]'
stop_sim
check "simulator starts with another seed" "start_sim 02"
check "other seed, other key" '[ "$(rpc GetKey "{\"path\":\"logd/checkpoint\",\"algorithm\":\"ed25519\"}" | jq_ .key)" != "$key1" ]'
stop_sim
[ $fails -eq 0 ]
