#!/usr/bin/env bash
# Phala's own dstack SDK (@phala/dstack-sdk, pinned in package.json) as the client of
# dstack-sim over its unix socket (issue 13 item 7): GetKey, GetQuote and the SDK's
# replayRtmrs, Info, Version; and the SDK's getComposeHash of the release's
# app-compose.json (deploy/make-app-compose.sh) equals `tlog compose-hash`, the hash
# make-app-compose prints, and the compose hash Info and the quote's RTMR3 carry.
#
# What the real platform does decides: on the real dstack 0.6.0 capture
# (tests/data/tdx/dstack-0.6.0-getquote.json) the SDK's replayRtmrs reproduces RTMR0-2
# but not RTMR3, because since dstack 0.5.6 runtime events come with an empty digest and
# this SDK replays the digests it is given. The simulator must behave the same by
# default (stripped events: RTMR0-2 equal, RTMR3 not, `tlog verify-quote` replays all
# four by computing the digests), and with --legacy-event-log (digests filled, as
# dstack <= 0.5.5) the SDK's replay equals all four RTMRs.
set -u
root=${XT_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
BIN=${BIN:-bin}
cd "$root" || exit 2
. tests/lib/harness.sh
harness_init --no-anvil dstack-sdk tlog dstack-sim
T=$tmp
TD=${XT_TESTDATA:-$root/tests/data}/tdx
SDKJS=$root/tests/dstack-sim/sdk-client.js
if ! node -e 'require("@phala/dstack-sdk")' 2>"$T/node.err"; then
  nok "@phala/dstack-sdk is not installed (npm ci in the checkout)"; sed 's/^/#   /' "$T/node.err" | head -5
  exit 1
fi
# j FILE EXPR: a value of the JSON in FILE (d), printed by Python.
j() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); v=eval(sys.argv[2]); print(json.dumps(v) if isinstance(v,(list,dict,bool)) or v is None else v)' "$1" "$2"; }

# ---- the release's app-compose.json, made as a release makes it
H=$(printf 'a%.0s' $(seq 64))
mkdir -p "$T/rel"
bash deploy/render-compose.sh --logd-image "registry.example/xordi/logd@sha256:$H" \
  --collector-image "registry.example/xordi/collector@sha256:$H" --allow-placeholders \
  --out "$T/rel/docker-compose.yml" >"$T/render.out" 2>&1 ||
  { nok "render the release compose"; sed 's/^/#   /' "$T/render.out"; exit 1; }
bash deploy/make-app-compose.sh "$T/rel/docker-compose.yml" --tlog "$B/tlog" >"$T/mac.out" 2>&1 ||
  { nok "make-app-compose.sh"; sed 's/^/#   /' "$T/mac.out"; exit 1; }
AC=$T/rel/app-compose.json
MADE=$(sed -n 's/^compose-hash //p' "$T/mac.out")
TLOGH=$("$B/tlog" compose-hash "$AC")
check "make-app-compose's hash is tlog compose-hash's" [ -n "$MADE" -a "$MADE" = "$TLOGH" ]
# The fields are dstack 0.6.0's AppCompose (the release's target, docs/RELEASE.md), and
# secure_time is off: that image's chronyd has no NTS and would never boot with it on.
check "app-compose: only dstack 0.6.0 AppCompose fields, manifest v2, docker-compose runner" \
  [ "$(j "$AC" 'sorted(set(d) - {"manifest_version","name","features","runner","docker_compose_file","public_logs","public_sysinfo","public_tcbinfo","kms_enabled","gateway_enabled","local_key_provider_enabled","key_provider","key_provider_id","allowed_envs","no_instance_id","secure_time","storage_fs","swap_size","port_policy"}) == [] and d["manifest_version"] == 2 and d["runner"] == "docker-compose"')" = true ]
check "app-compose: secure_time false, KMS keys, no local key provider, no env" \
  [ "$(j "$AC" '[d["secure_time"], d["kms_enabled"], d["local_key_provider_enabled"], d["allowed_envs"]]')" = "[false, true, false, []]" ]

sock=$T/dstack.sock
sim_pid=
start_sim() {
  [ -z "$sim_pid" ] || stop_pid "$sim_pid"
  rm -f "$sock"
  "$B/dstack-sim" --socket "$sock" --app-compose "$AC" --seed 5eed "$@" --testdata "$TD" 2>"$T/sim.log" &
  sim_pid=$!
  pids+=("$sim_pid")
  for _ in $(seq 100); do [ -S "$sock" ] && curl -s --unix-socket "$sock" http://dstack/Info >/dev/null && return 0; sleep 0.05; done
  return 1
}
rpc() { curl -s --unix-socket "$sock" -X POST "http://dstack/$1" -H 'Content-Type: application/json' -d "$2"; }

# ---- today's dstack (the simulator's default)
check "dstack-sim starts (dstack 0.6 event log)" start_sim
node "$SDKJS" sim "$sock" "$AC" >"$T/sdk.json" 2>"$T/sdk.err" || { nok "the SDK talks to dstack-sim"; sed 's/^/#   /' "$T/sdk.err" | head; exit 1; }
ok "the SDK talks to dstack-sim over its unix socket"
F=$T/sdk.json
CURLKEY=$(rpc GetKey '{"path":"xordi-tlog/test/sdk","purpose":"signing","algorithm":"ed25519"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
check "SDK getKey: 32 bytes, the key the agent's GetKey gives" [ "$(j "$F" 'len(d["getkey"]["ed25519"])')" = 64 -a "$(j "$F" 'd["getkey"]["ed25519"]')" = "$CURLKEY" ]
check "SDK getKey: the purpose does not change the key (as in dstack)" [ "$(j "$F" 'd["getkey"]["ed25519"] == d["getkey"]["ed25519_other_purpose"]')" = true ]
check "SDK getKey: another algorithm, another key; a signature chain of 2" \
  [ "$(j "$F" 'd["getkey"]["secp256k1"] != d["getkey"]["ed25519"] and len(d["getkey"]["secp256k1"]) == 64 and d["getkey"]["signature_chain_length"] == 2')" = true ]
check "SDK getQuote: the quote carries the report data (zero-padded)" \
  [ "$(j "$F" 'd["getquote"]["report_data_in_quote"] == d["getquote"]["report_data_sent"] + "0"*64 == d["getquote"]["report_data_returned"]')" = true ]
check "SDK getQuote: runtime events come with empty digests, as from real dstack 0.6.0" \
  [ "$(j "$F" '[d["getquote"]["rtmr3_events"], d["getquote"]["rtmr3_events_with_empty_digest"]]')" = "[9, 9]" ]
check "SDK replayRtmrs: RTMR0-2 equal the quote's, RTMR3 not (as on the real capture)" \
  [ "$(j "$F" 'd["getquote"]["sdk_replay_equal"]')" = "[true, true, true, false]" ]
node "$SDKJS" replay "$TD/dstack-0.6.0-getquote.json" >"$T/real.json" 2>"$T/real.err"
check "the same on the real dstack 0.6.0 capture: [true, true, true, false], 9 empty digests" \
  [ "$(j "$T/real.json" '[d["sdk_replay_equal"], d["rtmr3_events_with_empty_digest"]]')" = "[[true, true, true, false], 9]" ]
rpc GetQuote '{"report_data":"00"}' >"$T/gq.json"
"$B/tlog" verify-quote --report "$T/gq.json" --allow-simulated --json >"$T/vq.json" 2>/dev/null
check "tlog verify-quote replays all four RTMRs of the same log (digests computed)" \
  [ "$(j "$T/vq.json" 'd["event_log"]')" = replayed -a "$(j "$T/vq.json" 'd["compose_hash"]')" = "$TLOGH" ]
check "SDK info: tcb_info's MRTD and RTMR0-3 are the quote's" \
  [ "$(j "$F" 'd["info"]["tcb_rtmrs"] == d["getquote"]["quote_rtmrs"] and d["info"]["tcb_mrtd"] == d["info"]["quote_mrtd"]')" = true ]
check "SDK info: every member of the SDK's InfoResponse/TcbInfoV05x is there" \
  [ "$(j "$F" 'len(d["info"]["device_id"]) == 64 and d["info"]["tcb_device_id"] == d["info"]["device_id"] and d["info"]["vm_config"] is not None')" = true ]
check "SDK info: os_image_hash = tcb_info's = vm_config's = GetQuote's vm_config's" \
  [ "$(j "$F" 'len(d["info"]["os_image_hash"]) == 64 and d["info"]["os_image_hash"] == d["info"]["tcb_os_image_hash"] == d["info"]["vm_config"]["os_image_hash"] == d["getquote"]["vm_config"]["os_image_hash"]')" = true ]
check "SDK info: key provider kms" [ "$(j "$F" 'json.loads(d["info"]["key_provider_info"])["name"]')" = kms ]
check "SDK info: tcb_info.app_compose is the release's app-compose.json" [ "$(j "$F" 'd["info"]["tcb_app_compose_is_file"]')" = true ]
check "SDK version: 0.6.0" [ "$(j "$F" 'd["version"]["version"]')" = 0.6.0 ]
check "SDK getComposeHash = tlog compose-hash = make-app-compose's hash" [ "$(j "$F" 'd["sdk_compose_hash"]')" = "$TLOGH" ]
check "SDK getComposeHash (normalized) agrees too" [ "$(j "$F" 'd["sdk_compose_hash_normalized"]')" = "$TLOGH" ]
check "Info's and tcb_info's compose_hash are that hash" \
  [ "$(j "$F" 'd["info"]["compose_hash"] == d["info"]["tcb_compose_hash"]')" = true -a "$(j "$F" 'd["info"]["compose_hash"]')" = "$TLOGH" ]
# A copy with any field changed hashes differently in both (no field is left out).
python3 - "$AC" "$T/ac-x.json" <<'EOF'
import json, sys
d = json.loads(open(sys.argv[1]).read())
d["secure_time"] = not d["secure_time"]
open(sys.argv[2], "w").write(json.dumps(d, sort_keys=True, separators=(",", ":"), ensure_ascii=False))
EOF
XH=$(node -e 'const {getComposeHash}=require("@phala/dstack-sdk"); console.log(getComposeHash(JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"))))' "$T/ac-x.json")
check "a changed field changes both hashes alike" [ "$XH" != "$TLOGH" -a "$XH" = "$("$B/tlog" compose-hash "$T/ac-x.json")" ]

# ---- dstack <= 0.5.5 (digests filled in)
check "dstack-sim starts (--legacy-event-log)" start_sim --legacy-event-log
node "$SDKJS" sim "$sock" "$AC" >"$T/sdk-legacy.json" 2>"$T/sdk.err" || nok "the SDK talks to the legacy simulator"
check "legacy log: the SDK's replayRtmrs equals all four RTMRs" \
  [ "$(j "$T/sdk-legacy.json" '[d["getquote"]["sdk_replay_equal"], d["getquote"]["rtmr3_events_with_empty_digest"]]')" = "[[true, true, true, true], 0]" ]
stop_pid "$sim_pid"
harness_done
