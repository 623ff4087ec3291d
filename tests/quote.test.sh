#!/usr/bin/env bash
# tlog verify-quote / compose-hash / compose-normalize on the real TDX data in
# tests/data/tdx (expected verdicts: its README).
set -u
root=${XT_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root"
BIN=${BIN:-bin}
T=${XT_TESTDATA:-$root/tests/data}/tdx
. "$root/tests/lib/harness.sh"
harness_init --no-anvil quote tlog
tlog=$B/tlog
expect_rc() { # name want_rc cmd...
  local name=$1 want=$2; shift 2
  "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  if [ "$rc" -eq "$want" ]; then ok "$name"; else nok "$name (exit $rc, want $want)"; sed 's/^/#   /' "$tmp/err"; fi
}
jget() { python3 -c 'import json,sys; v=json.load(open(sys.argv[1])).get(sys.argv[2]); print("" if v is None else v)' "$tmp/out" "$1"; }

IN=2025-07-01T00:00:00Z
expect_rc "real quote verifies inside its window" 0 \
  "$tlog" verify-quote --quote "$T/tdx_quote" --collateral "$T/tdx_quote_collateral.json" --now $IN --json
[ "$(jget status)" = UpToDate ] && ok "status UpToDate" || nok "status UpToDate (got $(jget status))"
[ "$(jget fmspc)" = B0C06F000000 ] && ok "fmspc B0C06F000000" || nok "fmspc (got $(jget fmspc))"
[ "$(jget mrtd)" = 91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7 ] \
  && ok "mrtd reported" || nok "mrtd reported"
for now in 2025-06-19T10:32:26Z 2025-07-19T10:00:36Z 2026-01-01T00:00:00Z; do
  expect_rc "real quote rejected at $now (collateral expired)" 1 \
    "$tlog" verify-quote --quote "$T/tdx_quote" --collateral "$T/tdx_quote_collateral.json" --now $now
  grep -q "expired\|not yet valid" "$tmp/err" && ok "names expiry at $now" || nok "names expiry at $now"
done

# hex form of the quote, and flipped bytes of the signed region [0, 632)
python3 -c 'import sys; print(open(sys.argv[1],"rb").read().hex())' "$T/tdx_quote" >"$tmp/q.hex"
expect_rc "hex quote file verifies" 0 \
  "$tlog" verify-quote --quote "$tmp/q.hex" --collateral "$T/tdx_quote_collateral.json" --now $IN
bad=0
for off in 0 8 47 100 184 300 376 520 568 600 631; do
  python3 -c 'import sys; b=bytearray(open(sys.argv[1],"rb").read()); b[int(sys.argv[3])]^=1; open(sys.argv[2],"wb").write(b)' \
    "$T/tdx_quote" "$tmp/flip" $off
  "$tlog" verify-quote --quote "$tmp/flip" --collateral "$T/tdx_quote_collateral.json" --now $IN >/dev/null 2>&1
  [ $? -eq 1 ] || { bad=1; echo "#   flip at $off not rejected"; }
done
[ $bad -eq 0 ] && ok "flipped signed bytes rejected (exit 1)" || nok "flipped signed bytes rejected"
expect_rc "altered quote fails without --allow-simulated" 1 "$tlog" verify-quote --quote "$tmp/flip" --json
[ "$(jget status)" = simulated ] && ok "altered quote reports simulated" || nok "altered quote status $(jget status)"
expect_rc "--allow-simulated accepts it, flagged" 0 "$tlog" verify-quote --quote "$tmp/flip" --allow-simulated --json
[ "$(jget simulated)" = True ] && ok "accepted quote is flagged simulated" || nok "simulated flag"

# the second sample: a v5 quote whose TCB is below every level of its collateral
expect_rc "outdated sample fails inside its window" 1 \
  "$tlog" verify-quote --quote "$T/tdx_quote_outdated" --collateral "$T/tdx_quote_outdated_collateral.json" \
  --now 2026-03-01T00:00:00Z --json
[ "$(jget fmspc)" = 90C06F000000 ] && ok "outdated sample fmspc 90C06F000000" || nok "outdated fmspc"

# the real dstack GetQuote response: the event log replays and names the app
expect_rc "dstack report without collateral fails (TCB unknown)" 1 \
  "$tlog" verify-quote --report "$T/dstack-quote-report.json" --json
[ "$(jget event_log)" = replayed ] && ok "report event log replays" || nok "report event log ($(jget event_log))"
[ "$(jget compose_hash)" = 3763bc34552cf3a27ff71ad5f7a90471562a1a2df552dfc1998cba2d60da27e7 ] \
  && ok "report compose hash" || nok "report compose hash"
[ "$(jget app_id)" = 3763bc34552cf3a27ff71ad5f7a90471562a1a2d ] && ok "report app id" || nok "report app id"
python3 - "$T/dstack-quote-report.json" "$tmp/el.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); el = json.loads(r["event_log"])
el[-1]["event_payload"] = "00" + el[-1]["event_payload"]
json.dump(el, open(sys.argv[2], "w"))
PY
expect_rc "tampered event log fails" 1 \
  "$tlog" verify-quote --report "$T/dstack-quote-report.json" --event-log "$tmp/el.json" --json
[ "$(jget event_log)" = mismatch ] && ok "tampered event log reported" || nok "tampered event log reported"

# dstack 0.6.0 (every release since 0.5.6): runtime events without a digest, newer
# RTMR3 events, vm_config. Expected values: tests/data/tdx/README.md.
R6=$T/dstack-0.6.0-getquote.json
expect_rc "0.6.0 report without collateral fails (TCB unknown)" 1 "$tlog" verify-quote --report "$R6" --json
python3 - "$tmp/out" <<'PY' >"$tmp/check6" 2>&1
import json, sys
d = json.load(open(sys.argv[1]))
want = {
  "event_log": "replayed",
  "compose_hash": "86b0e55f2fa8e4fb69d890f14f54d5612707646e2573d54e0d2ddaaade77caa9",
  "app_id": "86b0e55f2fa8e4fb69d890f14f54d5612707646e",
  "instance_id": "050bf89570575fe8fab4cb8f0a62a9e64efe8ead",
  "os_image_hash": {"event": "07a2388c7a6a1b6a646d443f1517990a4ec294471d63146cda9d56972765051d",
                    "vm_config": "e6f5cfec20c02e7b97baa213d0f718020b55e040172d90ccbcb946d56c8b09db"},
  "key_provider": {"name": "kms", "id": "3059301306072a8648ce3d020106082a8648ce3d030107034200042f71e234d7339a1ceaca09c3c391eb816c533f980adaab34f16ead093ff0ac100d9c03253a3056f6d27735125433180b3e61c54a78f3fd13337869e0051dee06"},
  "storage_fs": "zfs",
  "mr_config_id": {"version": 1, "compose_hash": "86b0e55f2fa8e4fb69d890f14f54d5612707646e2573d54e0d2ddaaade77caa9"},
  "mrconfigid": "0186b0e55f2fa8e4fb69d890f14f54d5612707646e2573d54e0d2ddaaade77caa9000000000000000000000000000000",
  "rtmr3": "6f24c170d0fd63fc2b1b53202eea47b013978437fa6982cf5e0438ff95c208994aaa0f4ebab2e3a66824b5b56869137e",
}
bad = [k for k in want if d.get(k) != want[k]]
vc = d.get("vm_config") or {}
if vc.get("image") != "dstack-0.6.0" or "tdx_measurement" not in vc: bad.append("vm_config")
print("mismatch: " + " ".join(bad) if bad else "all match")
PY
[ "$(cat "$tmp/check6")" = "all match" ] && ok "0.6.0 report: identity, os-image-hash, key provider, MRCONFIGID, vm_config exact" \
  || nok "0.6.0 report values ($(cat "$tmp/check6"))"
"$tlog" verify-quote --report "$R6" >"$tmp/out" 2>&1
grep -qx "os_image_hash (vm_config): e6f5cfec20c02e7b97baa213d0f718020b55e040172d90ccbcb946d56c8b09db" "$tmp/out" \
  && grep -qx "key_provider: kms 3059301306072a8648ce3d020106082a8648ce3d030107034200042f71e234d7339a1ceaca09c3c391eb816c533f980adaab34f16ead093ff0ac100d9c03253a3056f6d27735125433180b3e61c54a78f3fd13337869e0051dee06" "$tmp/out" \
  && ok "0.6.0 human report names os image and key provider" || nok "0.6.0 human report"
# every RTMR3 event with its payload altered (one byte appended) is refused
python3 - "$R6" "$tmp" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); el = json.loads(r["event_log"])
for i, e in enumerate(el):
    if e["imr"] != 3: continue
    c = json.loads(r["event_log"]); c[i]["event_payload"] += "00"
    json.dump(c, open("%s/alt-%02d-%s.json" % (sys.argv[2], i, e["event"]), "w"))
PY
n=0; bad=0
for f in "$tmp"/alt-*.json; do
  n=$((n + 1))
  "$tlog" verify-quote --report "$R6" --event-log "$f" --json >"$tmp/out" 2>/dev/null
  [ $? -eq 1 ] && [ "$(jget event_log)" = mismatch ] && grep -q RTMR3 "$tmp/out" || { bad=1; echo "#   $(basename "$f") not refused"; }
done
[ $n -eq 9 ] && [ $bad -eq 0 ] && ok "each of the 9 RTMR3 events altered is refused" || nok "altered RTMR3 events refused ($n files)"
# the same log with digests written in (the pre-0.5.6 form) replays; a wrong one is refused
python3 - "$R6" "$tmp" <<'PY'
import hashlib, json, struct, sys
r = json.load(open(sys.argv[1])); el = json.loads(r["event_log"])
for e in el:
    if e["event_type"] == 0x08000001:
        pre = struct.pack("<I", 0x08000001) + b":" + e["event"].encode() + b":" + bytes.fromhex(e["event_payload"])
        e["digest"] = hashlib.sha384(pre).hexdigest()
json.dump(el, open(sys.argv[2] + "/full.json", "w"))
el[25]["digest"] = el[24]["digest"]
json.dump(el, open(sys.argv[2] + "/wrongdigest.json", "w"))
PY
expect_rc "0.6.0 log with digests filled in replays (exit 1 only for TCB)" 1 \
  "$tlog" verify-quote --report "$R6" --event-log "$tmp/full.json" --json
[ "$(jget event_log)" = replayed ] && ok "digests filled in: replayed" || nok "digests filled in ($(jget event_log_message))"
"$tlog" verify-quote --report "$R6" --event-log "$tmp/wrongdigest.json" --json >"$tmp/out" 2>/dev/null
[ "$(jget event_log)" = mismatch ] && grep -q 'os-image-hash.*digest does not match' "$tmp/out" \
  && ok "a digest that disagrees with its payload is refused" || nok "wrong digest refused"

# the simulator's stored quote never passes as real
expect_rc "sim quote fails without collateral" 1 "$tlog" verify-quote --quote "$T/sim-quote.hex"
expect_rc "sim quote fails with collateral" 1 \
  "$tlog" verify-quote --quote "$T/sim-quote.hex" --collateral "$T/tdx_quote_collateral.json" --now $IN
expect_rc "sim quote fails even with --allow-simulated (its chain is real, TCB unknown)" 1 \
  "$tlog" verify-quote --quote "$T/sim-quote.hex" --allow-simulated

# usage and I/O errors
expect_rc "no quote is a usage error" 2 "$tlog" verify-quote
expect_rc "both --quote and --report is a usage error" 2 "$tlog" verify-quote --quote a --report b
expect_rc "missing file is an I/O error" 2 "$tlog" verify-quote --quote "$tmp/nope"
expect_rc "bad --now is a usage error" 2 "$tlog" verify-quote --quote "$T/tdx_quote" --now yesterday
printf 'not a quote' >"$tmp/junk"
expect_rc "junk quote fails" 1 "$tlog" verify-quote --quote "$tmp/junk" --json
[ "$(jget status)" = invalid ] && ok "junk quote status invalid" || nok "junk quote status"
# A report whose event_log is neither a string nor an array: an error, not a double
# free (found by clang-analyzer in tests/lint.sh; `make sanitize` runs this under ASan).
python3 - "$T/dstack-quote-report.json" "$tmp/bad-report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
r["event_log"] = 5
json.dump(r, open(sys.argv[2], "w"))
PY
expect_rc "report with a numeric event_log is an I/O error" 2 "$tlog" verify-quote --report "$tmp/bad-report.json"
grep -q 'neither a string nor an array' "$tmp/err" && ok "numeric event_log named" || nok "numeric event_log named"

# compose-hash: SHA-256 of the exact bytes
printf '{"b":1,"a":"x"}\n' >"$tmp/compose.json"
want=$(sha256sum "$tmp/compose.json" | cut -d' ' -f1)
[ "$("$tlog" compose-hash "$tmp/compose.json")" = "$want" ] && ok "compose-hash is sha256 of the bytes" || nok "compose-hash"
expect_rc "compose-hash missing file" 2 "$tlog" compose-hash "$tmp/nope"

# compose-normalize matches Python's json.dumps(sort_keys, compact, ensure_ascii=False)
cat >"$tmp/app.json" <<'JSON'
{ "name": "xordi", "runner": "docker-compose", "z": [1, 2.5, -0.0, 1e16, 1.5e-05, 100.0, 0.1, 123456789.125],
  "docker_compose_file": "services:\n  logd:\n    image: \"x/y\"\t# tab\u0001 \\ done",
  "unicode": "héllo ✓ 🚀 \u2028", "nested": {"b": null, "a": [true, false, {}], "A": []},
  "features": ["kms", "tproxy-net"], "kms_enabled": true, "": "empty key", "é": 1, "e": 2 }
JSON
expect_rc "compose-normalize runs" 0 "$tlog" compose-normalize "$tmp/app.json" --out "$tmp/norm.json"
python3 -c 'import json,sys; sys.stdout.write(json.dumps(json.load(open(sys.argv[1])), sort_keys=True, separators=(",",":"), ensure_ascii=False))' \
  "$tmp/app.json" >"$tmp/py.json"
cmp -s "$tmp/norm.json" "$tmp/py.json" && ok "compose-normalize equals Python json.dumps" \
  || { nok "compose-normalize equals Python json.dumps"; diff <(cat "$tmp/norm.json"; echo) <(cat "$tmp/py.json"; echo) | head -5 | sed 's/^/#   /'; }
"$tlog" compose-normalize "$tmp/norm.json" >"$tmp/norm2.json"
cmp -s "$tmp/norm.json" "$tmp/norm2.json" && ok "compose-normalize is idempotent" || nok "compose-normalize is idempotent"
printf '{"a":' >"$tmp/broken.json"
expect_rc "compose-normalize rejects broken JSON" 2 "$tlog" compose-normalize "$tmp/broken.json"

[ $fails -eq 0 ]
