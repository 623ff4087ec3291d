#!/usr/bin/env bash
# tlog against static logs written by tlog-mklog (a local directory source): the
# verifying commands, and each kind of tampering detected with exit 1 and a message
# naming it. Prints "ok - ..." / "not ok - ..." lines.
set -u
root=${XT_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
BIN=${BIN:-bin}
cd "$root" || exit 2
. tests/lib/harness.sh
harness_init tlog-test tlog tlog-mklog dstack-sim
T=$tmp
TLOG=$B/tlog
MKLOG=$B/tlog-mklog

$MKLOG --dir "$T/a" --count 1000 --checkpoints 300,700 || { nok "mklog"; exit 1; }
KEY=$(cat "$T/a/verifier-key")
A=(--log "$T/a" --key "$KEY")

# --- happy paths ---
expect "checkpoint verifies (key string)" 0 "size +1000" -- "$TLOG" checkpoint "${A[@]}"
expect "checkpoint verifies (key file)" 0 '"size": 1000' -- "$TLOG" checkpoint --log "$T/a" --key "$T/a/verifier-key" --json
expect "checkpoint --out saves the note" 0 "" -- "$TLOG" checkpoint "${A[@]}" --out "$T/cp-a"
cmp -s "$T/cp-a" "$T/a/checkpoint" && ok "saved checkpoint is the note" || nok "saved checkpoint is the note"
expect "inclusion by index" 0 "inclusion verified" -- "$TLOG" inclusion "${A[@]}" --index 999
expect "inclusion by index, first" 0 "index +0" -- "$TLOG" inclusion "${A[@]}" --index 0
expect "inclusion in an older size" 0 '"size": 300' -- "$TLOG" inclusion "${A[@]}" --index 299 --size 300 --json
expect "inclusion beyond the older size fails" 1 "not in the tree of size 300" -- "$TLOG" inclusion "${A[@]}" --index 300 --size 300
"$TLOG" entries "${A[@]}" --start 517 --count 1 | cut -d' ' -f2- >"$T/e517"
expect "inclusion by entry file" 0 "index +517" -- "$TLOG" inclusion "${A[@]}" --entry "$T/e517"
H=$("$TLOG" inclusion "${A[@]}" --index 700 --json | sed -n 's/.*"leaf_hash": "\([0-9a-f]*\)".*/\1/p')
expect "inclusion by leaf hash" 0 "index +700" -- "$TLOG" inclusion "${A[@]}" --hash "$H"
expect "inclusion by unknown hash fails" 1 "no entry with leaf hash" -- "$TLOG" inclusion "${A[@]}" --hash "$(printf '%064d' 7)"
expect "inclusion writes a tlog-proof" 0 "" -- "$TLOG" inclusion "${A[@]}" --index 5 --proof-out "$T/receipt"
head -1 "$T/receipt" | grep -q 'c2sp.org/tlog-proof@v1' && ok "receipt is a tlog-proof" || nok "receipt is a tlog-proof"
expect "consistency from an old checkpoint" 0 "consistency verified" -- "$TLOG" consistency "${A[@]}" --old "$T/a/v1/checkpoints/300"
expect "consistency from a receipt's checkpoint" 0 "consistency verified" -- "$TLOG" consistency "${A[@]}" --old "$T/receipt"
expect "consistency, same size" 0 "consistency verified" -- "$TLOG" consistency "${A[@]}" --old "$T/a/checkpoint"
n=$("$TLOG" entries "${A[@]}" | wc -l)
[ "$n" -eq 1000 ] && ok "entries prints all 1000" || nok "entries prints all 1000 (got $n)"
expect "entries --json decodes" 0 '"type":"credential_intake"' -- "$TLOG" entries "${A[@]}" --start 1 --count 1 --json
n=$("$TLOG" entries "${A[@]}" --start 250 --count 20 --json | grep -c '"index"')
[ "$n" -eq 20 ] && ok "entries --start/--count across bundles" || nok "entries --start/--count (got $n)"

# --- usage and I/O: exit 2 ---
for c in checkpoint inclusion consistency entries; do
  expect "$c --help" 0 "usage: tlog $c" -- "$TLOG" $c --help
done
expect "missing --key is a usage error" 2 "^tlog checkpoint: missing --key; see 'tlog checkpoint --help'$" -- "$TLOG" checkpoint --log "$T/a"
expect "no such directory" 2 "not a directory" -- "$TLOG" checkpoint --log "$T/none" --key "$KEY"
expect "bad key string" 2 "verifier key" -- "$TLOG" checkpoint --log "$T/a" --key "a+b+c"
expect "unreachable URL" 2 "GET http://127.0.0.1:1/checkpoint" -- "$TLOG" checkpoint --log http://127.0.0.1:1 --key "$KEY"
cp -r "$T/a" "$T/missing" && rm "$T/missing/tile/0/001"
expect "missing tile is an I/O error" 2 "tile/0/001" -- "$TLOG" inclusion --log "$T/missing" --key "$KEY" --index 300

# --- tampering: exit 1 naming it ---
cp -r "$T/a" "$T/sig"
sed -i "s/^\(— [^ ]* \)A/\1B/; t; s/^\(— [^ ]* \)./\1A/" "$T/sig/checkpoint"
expect "bad signature" 1 "checkpoint does not verify" -- "$TLOG" checkpoint --log "$T/sig" --key "$KEY"
$MKLOG --dir "$T/other" --count 10 --seed "$(printf '%064d' 5)" >/dev/null
expect "checkpoint signed by another key" 1 "does not verify" -- "$TLOG" checkpoint --log "$T/other" --key "$KEY"
cp -r "$T/a" "$T/tamper"
printf 'X' | dd of="$T/tamper/tile/entries/001" bs=1 seek=40 conv=notrunc status=none
expect "tampered entry" 1 "entry 256 in tile/entries/001 does not match its signed leaf hash" -- "$TLOG" entries --log "$T/tamper" --key "$KEY"
cp -r "$T/a" "$T/forged"
printf 'X' | dd of="$T/forged/tile/0/001" bs=1 seek=100 conv=notrunc status=none
expect "forged level-0 tile" 1 "tile/0/001 does not match the signed tree" -- "$TLOG" inclusion --log "$T/forged" --key "$KEY" --index 300
cp -r "$T/a" "$T/edge"
printf 'X' | dd of="$T/edge/tile/0/003.p/232" bs=1 seek=0 conv=notrunc status=none
expect "forged right-edge tile" 1 "right-edge tiles .* do not hash to its signed root" -- "$TLOG" inclusion --log "$T/edge" --key "$KEY" --index 999
$MKLOG --dir "$T/small" --count 500 >/dev/null
expect "rollback (old checkpoint larger)" 1 "rollback: the log's checkpoint has size 500, smaller than the old checkpoint's 1000" -- "$TLOG" consistency --log "$T/small" --key "$KEY" --old "$T/a/checkpoint"
$MKLOG --dir "$T/fork" --count 1000 --variant 1 >/dev/null
expect "fork: one key, two trees" 1 "fork: the log's tree of size 1000 does not contain the old tree of size 300" -- "$TLOG" consistency --log "$T/fork" --key "$KEY" --old "$T/a/v1/checkpoints/300"
expect "fork at equal size" 1 "fork: .*both have size 1000" -- "$TLOG" consistency --log "$T/fork" --key "$KEY" --old "$T/a/checkpoint"
expect "fork: inclusion of the other tree's entry fails" 1 "no entry with leaf hash" -- "$TLOG" inclusion --log "$T/fork" --key "$KEY" --hash "$H"
expect "failure in --json" 1 '"verified": false' -- "$TLOG" consistency --log "$T/small" --key "$KEY" --old "$T/a/checkpoint" --json

# --- --quiet: nothing on stdout, the exit status answers; a failure is named on stderr ---
# quiet NAME STATUS STDERR-REGEX -- CMD...: exit status, empty stdout, stderr matching
# (an empty regex: stderr empty too).
quiet() {
  local name=$1 want=$2 re=$3; shift 4
  local out rc
  out=$("$@" 2>"$T/quiet.err"); rc=$?
  if [ "$rc" = "$want" ] && [ -z "$out" ] &&
    if [ -z "$re" ]; then [ ! -s "$T/quiet.err" ]; else grep -qE -- "$re" "$T/quiet.err"; fi; then ok "$name"; else
    nok "$name (exit $rc, want $want; stdout '$out'; stderr /$re/)"; sed 's/^/#   /' "$T/quiet.err" | head -n 8; fi
}
quiet "checkpoint --quiet: verified, silent" 0 '' -- "$TLOG" checkpoint "${A[@]}" --quiet
quiet "checkpoint --quiet --json: silent too" 0 '' -- "$TLOG" checkpoint "${A[@]}" --quiet --json
quiet "checkpoint --quiet: bad signature is exit 1, named on stderr" 1 "checkpoint does not verify" -- "$TLOG" checkpoint --log "$T/sig" --key "$KEY" --quiet --json
quiet "consistency --quiet: verified, silent" 0 '' -- "$TLOG" consistency "${A[@]}" --old "$T/a/v1/checkpoints/300" --quiet
quiet "consistency --quiet: rollback is exit 1, named on stderr" 1 "rollback" -- "$TLOG" consistency --log "$T/small" --key "$KEY" --old "$T/a/checkpoint" --quiet
quiet "consistency --quiet --json: fork is exit 1, no JSON" 1 "fork" -- "$TLOG" consistency --log "$T/fork" --key "$KEY" --old "$T/a/checkpoint" --quiet --json

# --- export / verify-bundle ---
expect "export a bundle" 0 "exported 1000 entries" -- "$TLOG" export "${A[@]}" --out "$T/bundle" --quiet
expect "verify-bundle" 0 "bundle verified" -- "$TLOG" verify-bundle "$T/bundle" --key "$KEY"
expect "bundle is a log source" 0 "inclusion verified" -- "$TLOG" inclusion --log "$T/bundle" --key "$KEY" --index 640
expect "export refuses an existing bundle" 2 "already holds a bundle" -- "$TLOG" export "${A[@]}" --out "$T/bundle"
expect "export an older size" 0 "exported 700 entries" -- "$TLOG" export "${A[@]}" --out "$T/b700" --size 700
expect "verify-bundle of size 700" 0 '"entries_recomputed": 700' -- "$TLOG" verify-bundle "$T/b700" --key "$KEY" --json
cp -r "$T/bundle" "$T/bt"
printf 'X' | dd of="$T/bt/tile/entries/002" bs=1 seek=50 conv=notrunc status=none
expect "bundle: tampered entry" 1 "entry 512 does not match its leaf hash in tile/0/002" -- "$TLOG" verify-bundle "$T/bt" --key "$KEY"
expect "bundle: manifest catches the change" 1 "manifest: tile/entries/002 has SHA-256" -- "$TLOG" verify-bundle "$T/bt" --key "$KEY"
cp -r "$T/bundle" "$T/bm" && rm "$T/bm/tile/0/001"
expect "bundle: missing file" 1 "manifest: tile/0/001 is missing" -- "$TLOG" verify-bundle "$T/bm" --key "$KEY"
expect "verify-bundle with another key" 1 "checkpoint does not verify" -- "$TLOG" verify-bundle "$T/bundle" --key "$T/other/verifier-key"
for c in export verify-bundle; do
  expect "$c --help" 0 "usage: tlog $c" -- "$TLOG" $c --help
done

# A partial tile that is gone (the tile has filled since): read the full tile's prefix.
cp -r "$T/a" "$T/nopartial"
rm -r "$T/nopartial/tile/0/001.p" "$T/nopartial/tile/entries/001.p"
expect "partial tiles served from the full tile's prefix" 0 "exported 300 entries" -- "$TLOG" export --log "$T/nopartial" --key "$KEY" --out "$T/b300" --size 300
expect "bundle cut from full tiles verifies" 0 "bundle verified" -- "$TLOG" verify-bundle "$T/b300" --key "$KEY"

# --- a copy taken at a larger size: only a wider partial tile is there ---
$MKLOG --dir "$T/w" --count 1000 --checkpoints 800 || nok "mklog (wider)"
rm -f "$T/w/tile/0/003.p/32" "$T/w/tile/entries/003.p/32"
W=(--log "$T/w" --key "$(cat "$T/w/verifier-key")")
expect "older size read from a wider partial tile" 0 '"size": 800' -- "$TLOG" inclusion "${W[@]}" --index 799 --size 800 --json
expect "entries of an older size from a wider bundle" 0 "inclusion verified" -- "$TLOG" inclusion "${W[@]}" --entry <("$TLOG" entries "${W[@]}" --start 790 --count 1 | cut -d' ' -f2-) --size 800

# --- audit (anchors from a file written by tlog-mklog: Jan 5, Jan 20, Feb 3 2026) ---
TIMES=1767571200,1768867200,1770076800
$MKLOG --dir "$T/au" --count 1000 --checkpoints 300,700,1000 --anchor-times $TIMES >/dev/null
AK=$T/au/verifier-key
AU=(--log "$T/au" --key "$AK" --anchors "$T/au/anchors.json")
expect "audit January: every check passes, INCOMPLETE without a chain and a policy" 1 "audit INCOMPLETE" -- "$TLOG" audit --allow-dev --allow-simulated "${AU[@]}" --from 2026-01-01 --to 2026-01-31
expect "audit January: users per month" 1 '"2026-01": 37' -- "$TLOG" audit --allow-dev --allow-simulated "${AU[@]}" --from 2026-01-01 --to 2026-01-31 --json
expect "audit February: window entries from the anchor before" 1 '"window_first": 700' -- "$TLOG" audit --allow-dev --allow-simulated "${AU[@]}" --from 2026-02-01 --to 2026-02-28 --json
expect "audit: the collector's boot quote (simulated, kept beside the log) binds its entry" 1 \
  "boot entry 0 +collector +simulated  compose_hash [0-9a-f]{64}$" -- \
  "$TLOG" audit --allow-dev --allow-simulated "${AU[@]}" --from 2026-01-01 --to 2026-01-31
$MKLOG --dir "$T/nq" --count 1000 --checkpoints 300,700,1000 --anchor-times $TIMES --no-collector-quote >/dev/null
expect "audit: a collector boot entry without a kept quote FAILS, named" 1 \
  "^FAIL  \(e\) boot entry 0 \(collector\) code identity: no attestation is kept for it .*nothing proves which code wrote it" -- \
  "$TLOG" audit --allow-dev --allow-simulated --log "$T/nq" --key "$T/nq/verifier-key" --anchors "$T/nq/anchors.json" --from 2026-01-01 --to 2026-01-31
# The collector's build and egress (policy "collector"; without it the release build alone)
sed 's/"build":"release"/"build":"test"/; s#"egress":"GET www.tiktok.com/api/watch_history"#"egress":"GET 127.0.0.1:9/api/watch_history"#' <("$TLOG" entries "${AU[@]:0:4}" --start 0 --count 1 | cut -d' ' -f2-) >"$T/tb.jsonl"
$MKLOG --dir "$T/tb" --count 1 --no-collector-quote --entries "$T/tb.jsonl" --checkpoints 2 --anchor-times 1767571200 >/dev/null
TB=(--log "$T/tb" --key "$T/tb/verifier-key" --anchors "$T/tb/anchors.json" --from 2026-01-01 --to 2026-01-31 --allow-dev --allow-simulated)
expect "audit: a test-build collector boot FAILS under the built-in (production) rule, named" 1 \
  "^FAIL  \(collector\) boot entry 1: build 'test' with egress 'GET 127.0.0.1:9/api/watch_history' is not a collector build the policy allows \(no collector member: the release build" -- \
  "$TLOG" audit "${TB[@]}"
echo '{"collector":{"builds":[{"build":"test","egress":"GET 127.0.0.1:9/api/watch_history"}]}}' >"$T/p-test.json"
out=$("$TLOG" audit "${TB[@]}" --policy "$T/p-test.json" 2>&1)
grep -q "^FAIL  (collector) boot entry 1" <<<"$out" && nok "audit: a policy naming the test build and its local mock allows it" || ok "audit: a policy naming the test build and its local mock allows it"
echo '{"collector":{"builds":[{"build":"test","egress":"GET 127.0.0.1:8/api/watch_history"}]}}' >"$T/p-test8.json"
expect "audit: ... but not the same build with another egress" 1 "^FAIL  \(collector\) boot entry 1: build 'test'" -- "$TLOG" audit "${TB[@]}" --policy "$T/p-test8.json"
echo '{"collector":{"builds":[{"build":"test"}]}}' >"$T/p-bad.json"
expect "audit: a collector.builds entry without egress is a policy error" 2 "collector.builds entry needs build .* and egress" -- "$TLOG" audit "${TB[@]}" --policy "$T/p-bad.json"
echo '{"collector":{"build":"test"}}' >"$T/p-bad2.json"
expect "audit: a misspelt collector member is a policy error" 2 'collector has an unknown member "build"' -- "$TLOG" audit "${TB[@]}" --policy "$T/p-bad2.json"
expect "audit: boot identity reported" 1 "entry 0 +collector +0.1.0 +compose_hash [0-9a-f]{64}" -- "$TLOG" audit --allow-dev --allow-simulated "${AU[@]}" --from 2026-01-01 --to 2026-02-28
expect "audit: no anchor in the window" 1 "no anchor of this log has a block time in the window" -- "$TLOG" audit --allow-dev --allow-simulated "${AU[@]}" --from 2025-06-01 --to 2025-06-30
expect "audit --help" 0 "usage: tlog audit" -- "$TLOG" audit --allow-dev --allow-simulated --help
expect "audit: bad date" 2 "YYYY-MM-DD" -- "$TLOG" audit --allow-dev --allow-simulated "${AU[@]}" --from 2026-02-30 --to 2026-03-01
expect "audit: white space inside a date field" 2 "YYYY-MM-DD" -- "$TLOG" audit --allow-dev --allow-simulated "${AU[@]}" --from $'2026-01-\f1' --to 2026-03-01
expect "audit: a signed date field" 2 "YYYY-MM-DD" -- "$TLOG" audit --allow-dev --allow-simulated "${AU[@]}" --from 2026-01-+1 --to 2026-03-01
# A rogue submitter's DM call, a result without intent, a malformed event.
cat >"$T/rogue.jsonl" <<'EOF2'
{"event":{"call_id":"x1","endpoint":"direct_messages","method":"GET","path":"/api/direct_messages","phase":"intent","type":"api_call","user":"00"},"submitter":"rogue","ts_ms":1,"v":1}
{"event":{"body_sha256":"00","bytes":1,"call_id":"nope","phase":"result","status":200,"type":"api_call"},"submitter":"rogue","ts_ms":2,"v":1}
{"event":{"call_id":"x2","endpoint":"watch_history","method":"POST","path":"/api/watch_history","phase":"intent","type":"api_call","user":"00"},"submitter":"rogue","ts_ms":3,"v":1}
{"event":{"note":"see Direct-Messages later","type":"memo"},"submitter":"rogue","ts_ms":4,"v":1}
{"event":{"type":7},"submitter":"rogue","ts_ms":5,"v":1}
EOF2
$MKLOG --dir "$T/rogue" --count 1000 --entries "$T/rogue.jsonl" --checkpoints 300,1005 --anchor-times 1767571200,1768867200 >/dev/null
RA=(--log "$T/rogue" --key "$T/rogue/verifier-key" --anchors "$T/rogue/anchors.json" --from 2026-01-01 --to 2026-01-31)
expect "audit: DM intent outside the policy" 1 "entry 1000: api_call intent GET direct_messages /api/direct_messages is outside the policy" -- "$TLOG" audit --allow-dev --allow-simulated "${RA[@]}"
expect "audit: DM named" 1 "entry 1000 names direct messages" -- "$TLOG" audit --allow-dev --allow-simulated "${RA[@]}"
expect "audit: result without intent" 1 "entry 1001: api_call result for call_id 'nope' has no earlier intent" -- "$TLOG" audit --allow-dev --allow-simulated "${RA[@]}"
expect "audit: wrong method" 1 "entry 1002: api_call intent POST watch_history" -- "$TLOG" audit --allow-dev --allow-simulated "${RA[@]}"
expect "audit: DM named in any spelling" 1 "entry 1003 names direct messages" -- "$TLOG" audit --allow-dev --allow-simulated "${RA[@]}"
expect "audit: malformed event" 1 "entry 1004 is not a JSON object with an event and its type" -- "$TLOG" audit --allow-dev --allow-simulated "${RA[@]}"
echo '{"allow":[{"endpoint":"direct_messages"},{"method":"POST"},{"endpoint":"watch_history","method":"GET","path":"/api/watch_history"}]}' >"$T/policy.json"
out=$("$TLOG" audit --allow-dev --allow-simulated "${RA[@]}" --policy "$T/policy.json" 2>&1)
grep -q "is outside the policy" <<<"$out" && nok "audit --policy widens the allowlist" || ok "audit --policy widens the allowlist"
# Tampering the log after anchoring: the recomputed root differs from the anchored one.
cp -r "$T/au" "$T/aut"
printf 'X' | dd of="$T/aut/tile/entries/000" bs=1 seek=300 conv=notrunc status=none
expect "audit: tampered entry" 1 "\(b\) the entries recompute to root [0-9a-f]+ at size 300, not to" -- "$TLOG" audit --allow-dev --allow-simulated --log "$T/aut" --key "$AK" --anchors "$T/au/anchors.json" --from 2026-01-01 --to 2026-01-31
# A fork served under the same key: the chain's roots are not the log's.
$MKLOG --dir "$T/auf" --count 1000 --variant 3 >/dev/null
expect "audit: forked log vs anchors" 1 "anchored root at size 300 is not the root of the log's tree" -- "$TLOG" audit --allow-dev --allow-simulated --log "$T/auf" --key "$AK" --anchors "$T/au/anchors.json" --from 2026-01-01 --to 2026-01-31
expect "audit: forked log, anchors inconsistent" 1 "anchors at sizes 300 and 700 are not consistent" -- "$TLOG" audit --allow-dev --allow-simulated --log "$T/auf" --key "$AK" --anchors "$T/au/anchors.json" --from 2026-01-01 --to 2026-01-31
# A rollback: the log now serves fewer entries than were anchored.
$MKLOG --dir "$T/aur" --count 500 >/dev/null
expect "audit: rolled-back log" 1 "anchor at size 700 is beyond the log's checkpoint of size 500" -- "$TLOG" audit --allow-dev --allow-simulated --log "$T/aur" --key "$AK" --anchors "$T/au/anchors.json" --from 2026-01-01 --to 2026-01-31
# Bundle with anchors: export, verify offline, audit from the bundle.
expect "export with anchors" 0 "2 anchors, 2 anchored checkpoints" -- "$TLOG" export --log "$T/au" --key "$AK" --anchors "$T/au/anchors.json" --out "$T/aub" --size 700
expect "verify-bundle with anchors" 0 "bundle verified" -- "$TLOG" verify-bundle "$T/aub" --key "$AK"
expect "audit from a bundle (no chain: INCOMPLETE)" 1 "audit INCOMPLETE" -- "$TLOG" audit --allow-dev --allow-simulated --bundle "$T/aub" --key "$AK" --anchors "$T/aub/anchors.json" --from 2026-01-01 --to 2026-01-31
python3 - "$T/aub/anchors.json" <<'EOF2'
import json, sys
a = json.load(open(sys.argv[1])); a[1]["root"] = "00" * 32
json.dump(a, open(sys.argv[1], "w"))
EOF2
expect "verify-bundle: anchored root not recomputed" 1 "at size 700, not to 0000" -- "$TLOG" verify-bundle "$T/aub" --key "$AK"

# --- monitor (no chain): state only after verification, rollback, fork, bad signature, webhook ---
$MKLOG --dir "$T/m" --count 300 >/dev/null
MK=$T/m/verifier-key
expect "monitor: first round" 0 "size 300 verified \(first checkpoint stored\)" -- "$TLOG" monitor --log "$T/m" --key "$MK" --state "$T/mst" --once
$MKLOG --dir "$T/m" --count 600 >/dev/null
expect "monitor: growth is consistent" 0 "size 600 verified and consistent" -- "$TLOG" monitor --log "$T/m" --key "$MK" --state "$T/mst" --once
$MKLOG --dir "$T/m2" --count 400 >/dev/null
expect "monitor: rollback" 1 "ALERT rollback: the log serves size 400, smaller than the verified 600" -- "$TLOG" monitor --log "$T/m2" --key "$MK" --state "$T/mst" --once
$MKLOG --dir "$T/m3" --count 700 --variant 9 >/dev/null
expect "monitor: fork" 1 "ALERT inconsistent: the checkpoint of size 700 does not extend the verified one of size 600" -- "$TLOG" monitor --log "$T/m3" --key "$MK" --state "$T/mst" --once
grep -q '^600$' <(sed -n 2p "$T/mst/checkpoint") && ok "monitor: state kept at the last verified checkpoint" || nok "monitor: state kept at the last verified checkpoint"
cp -r "$T/m" "$T/m4"
sed -i "s/^\(— [^ ]* \)A/\1B/; t; s/^\(— [^ ]* \)./\1A/" "$T/m4/checkpoint"
expect "monitor: bad signature" 1 "ALERT bad-signature" -- "$TLOG" monitor --log "$T/m4" --key "$MK" --state "$T/mst" --once
expect "monitor: unreachable log is an I/O error" 2 "" -- "$TLOG" monitor --log http://127.0.0.1:1 --key "$MK" --state "$T/mst" --once
HPORT=$(free_port)
python3 tests/lib/webhook.py "$HPORT" "$T/hook.jsonl" &
HOOK_PID=$!
pids+=("$HOOK_PID")
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$HPORT/" && break; sleep 0.1; done
"$TLOG" monitor --log "$T/m2" --key "$MK" --state "$T/mst" --once --webhook "http://127.0.0.1:$HPORT/hook" >/dev/null 2>&1
grep -q '"kind":"rollback"' "$T/hook.jsonl" 2>/dev/null && ok "monitor: webhook receives the alert as JSON" || nok "monitor: webhook receives the alert as JSON"
stop_pid "$HOOK_PID"
expect "monitor --help" 0 "usage: tlog monitor" -- "$TLOG" monitor --help
LONG=$(printf 'd%.0s' $(seq 3100))
expect "a directory path too long for verify-bundle is refused, not cut" 2 "too long" -- "$TLOG" verify-bundle "$T/$LONG" --key "$KEY"
expect "... and for export --out" 2 "too long" -- "$TLOG" export "${A[@]}" --out "$T/$LONG"
expect "... and for monitor --state" 2 "too long" -- "$TLOG" monitor "${A[@]}" --state "$T/$LONG" --once

# --- the same static logs over HTTP (python's file server): concurrent bundle reads,
# partial tiles missing on the server (404) read from the full tile ---
SPORT=$(free_port)
# python's file server, answering logd's attestation queries from the directory's files
# (v1/attestation?boot=I -> attestation/boot-I.json, ?size=N -> checkpoint-N.json)
python3 - "$SPORT" "$T" >/dev/null 2>&1 <<'PY' &
import http.server, os, re, sys
class H(http.server.SimpleHTTPRequestHandler):
    def translate_path(self, path):
        m = re.match(r"^(.*)/v1/attestation\?(boot|size)=(\d+)$", path)
        if m:
            path = "%s/attestation/%s-%s.json" % (m.group(1), "boot" if m.group(2) == "boot" else "checkpoint", m.group(3))
        return super().translate_path(path)
    def log_message(self, *a): pass
os.chdir(sys.argv[2])
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
SRV_PID=$!
pids+=("$SRV_PID")
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$SPORT/" && break; sleep 0.1; done
SU=http://127.0.0.1:$SPORT
expect "audit over HTTP (no chain: INCOMPLETE)" 1 "audit INCOMPLETE" -- "$TLOG" audit --allow-dev --allow-simulated --log "$SU/au" --key "$AK" --anchors "$T/au/anchors.json" --from 2026-01-01 --to 2026-02-28
d1=$("$TLOG" audit --allow-dev --allow-simulated --log "$SU/au" --key "$AK" --anchors "$T/au/anchors.json" --from 2026-01-01 --to 2026-02-28 --now 2026-03-01T00:00:00Z --json | grep -v '"seconds"')
d2=$("$TLOG" audit --allow-dev --allow-simulated --log "$T/au" --key "$AK" --anchors "$T/au/anchors.json" --from 2026-01-01 --to 2026-02-28 --now 2026-03-01T00:00:00Z --json | grep -v '"seconds"')
# (the replay time differs between any two runs; --now pins the audit's clock)
[ "$d1" = "$d2" ] && ok "audit over HTTP reports what the directory audit reports" || nok "audit over HTTP reports what the directory audit reports"
expect "audit over HTTP: tampered entry" 1 "recompute to root [0-9a-f]+ at size 300" -- "$TLOG" audit --allow-dev --allow-simulated --log "$SU/aut" --key "$AK" --anchors "$T/au/anchors.json" --from 2026-01-01 --to 2026-01-31
expect "export over HTTP with partial tiles gone (404)" 0 "exported 300 entries" -- "$TLOG" export --log "$SU/nopartial" --key "$KEY" --out "$T/h300" --size 300
expect "inclusion over HTTP" 0 "index +999" -- "$TLOG" inclusion --log "$SU/a" --key "$KEY" --index 999
expect "HTTP 404 for a missing log" 2 "404" -- "$TLOG" checkpoint --log "$SU/none" --key "$KEY"
stop_pid "$SRV_PID"

# SPEC.md section 3: a forged level-0 tile in a 70,000-entry log must be rejected
# (several subtree hashes of the tree fall in one tile at this size).
$MKLOG --dir "$T/big" --count 70000 >/dev/null
BK=$(cat "$T/big/verifier-key")
expect "70,000 entries: inclusion" 0 "inclusion verified" -- "$TLOG" inclusion --log "$T/big" --key "$BK" --index 65600
printf 'X' | dd of="$T/big/tile/0/256" bs=1 seek=3 conv=notrunc status=none
expect "70,000 entries: forged level-0 tile rejected" 1 "tile/0/256 does not match the signed tree" -- "$TLOG" inclusion --log "$T/big" --key "$BK" --index 65600

# --- the command-line convention (issue 19, CLI): one line naming the problem, exit 2 ---
section "CLI convention"
# exactly: exit status, the whole of stderr (one line), and nothing on stdout
usage_line() {
  local name=$1 want=$2; shift 3
  local out err rc
  out=$("$@" 2>"$T/usage.err"); rc=$?
  err=$(cat "$T/usage.err")
  if [ "$rc" = 2 ] && [ "$err" = "$want" ] && [ -z "$out" ]; then ok "$name"; else
    nok "$name (exit $rc; stderr: $err; stdout: $(head -c 200 <<<"$out"))"; fi
}
usage_line "checkpoint without --log names it" "tlog checkpoint: missing --log; see 'tlog checkpoint --help'" -- "$TLOG" checkpoint --key "$KEY"
usage_line "an extra argument is named" "tlog checkpoint: unexpected argument 'extra'; see 'tlog checkpoint --help'" -- "$TLOG" checkpoint "${A[@]}" extra
usage_line "an unknown option is named, with tlog's prefix" "tlog checkpoint: unknown option '--frob'; see 'tlog checkpoint --help'" -- "$TLOG" checkpoint "${A[@]}" --frob=1
usage_line "an unknown short option is named" "tlog entries: unknown option '-x'; see 'tlog entries --help'" -- "$TLOG" entries "${A[@]}" -x
usage_line "an option without its value is named" "tlog inclusion: option '--index' needs a value; see 'tlog inclusion --help'" -- "$TLOG" inclusion "${A[@]}" --index
usage_line "inclusion without a way to name the entry" "tlog inclusion: missing --index, --hash or --entry; see 'tlog inclusion --help'" -- "$TLOG" inclusion "${A[@]}"
usage_line "a bad number is a usage line" "tlog entries: --start 'x1' is not a decimal integer; see 'tlog entries --help'" -- "$TLOG" entries "${A[@]}" --start x1
usage_line "consistency without --old" "tlog consistency: missing --old; see 'tlog consistency --help'" -- "$TLOG" consistency "${A[@]}"
usage_line "monitor: --rpc without --contract" "tlog monitor: missing --contract (--rpc needs it); see 'tlog monitor --help'" -- "$TLOG" monitor "${A[@]}" --state "$T/ms" --rpc http://127.0.0.1:1
usage_line "monitor: --from-block without the chain" "tlog monitor: --from-block needs --rpc and --contract; see 'tlog monitor --help'" -- "$TLOG" monitor "${A[@]}" --state "$T/ms" --from-block 5
usage_line "verify-quote: neither --quote nor --report" "tlog verify-quote: missing --quote or --report; see 'tlog verify-quote --help'" -- "$TLOG" verify-quote
usage_line "compose-hash without FILE" "tlog compose-hash: missing FILE; see 'tlog compose-hash --help'" -- "$TLOG" compose-hash
usage_line "kms-history: -h is help, --allowed without --at is named" "tlog kms-history: missing --at (--allowed and --at go together); see 'tlog kms-history --help'" -- "$TLOG" kms-history --rpc http://127.0.0.1:1 --app 0x0000000000000000000000000000000000000001 --allowed 00
usage_line "anchor: an option the action ignores is refused" "tlog anchor deploy: option '--origin' does not apply to 'anchor deploy'; see 'tlog anchor --help'" -- "$TLOG" anchor deploy --rpc http://127.0.0.1:1 --private-key "$T/none" --origin o
usage_line "anchor: a missing action" "tlog anchor: missing action (deploy, register, rotate, status, list, address); see 'tlog anchor --help'" -- "$TLOG" anchor
usage_line "anchor list: a missing flag" "tlog anchor list: missing --contract; see 'tlog anchor --help'" -- "$TLOG" anchor list --rpc http://127.0.0.1:1 --origin o
usage_line "verify-receipt without the entry" "tlog verify-receipt: missing --entry FILE, --hash HEX or --log (the entry the receipt is for); see 'tlog verify-receipt --help'" -- "$TLOG" verify-receipt "$T/receipt" --key "$KEY"
usage_line "an unknown command" "tlog: unknown command 'frob'; see 'tlog --help'" -- "$TLOG" frob
usage_line "export without --out names it" "tlog export: missing --out; see 'tlog export --help'" -- "$TLOG" export "${A[@]}"
usage_line "export: an unknown option is named" "tlog export: unknown option '--frob'; see 'tlog export --help'" -- "$TLOG" export "${A[@]}" --out "$T/eu" --frob
usage_line "export: an extra argument is named" "tlog export: unexpected argument 'extra'; see 'tlog export --help'" -- "$TLOG" export "${A[@]}" --out "$T/eu" extra
usage_line "export: --rpc without --contract" "tlog export: missing --contract (--rpc needs it); see 'tlog export --help'" -- "$TLOG" export "${A[@]}" --out "$T/eu" --rpc http://127.0.0.1:1
usage_line "export: a bad --size" "tlog export: --size '7x' is not a decimal integer; see 'tlog export --help'" -- "$TLOG" export "${A[@]}" --out "$T/eu" --size 7x
usage_line "export: --out and its deprecated alias --to naming two directories" "tlog export: warning: --to is deprecated; use --out DIR (in the next release --to will be refused by tlog export)
tlog export: two bundle directories given ('$T/eu' and '$T/ev'); see 'tlog export --help'" -- "$TLOG" export "${A[@]}" --out "$T/eu" --to "$T/ev"
[ ! -e "$T/eu" ] && [ ! -e "$T/ev" ] && ok "export: a usage error writes nothing" || nok "export: a usage error writes nothing"
usage_line "export: --from-block without the chain" "tlog export: --from-block needs --rpc and --contract; see 'tlog export --help'" -- "$TLOG" export "${A[@]}" --out "$T/eu" --from-block 5
usage_line "verify-bundle: a bad --from-block" "tlog verify-bundle: --from-block 'x' is not a block number; see 'tlog verify-bundle --help'" -- "$TLOG" verify-bundle "$T/bundle" --key "$KEY" --rpc http://127.0.0.1:1 --contract 0x0000000000000000000000000000000000000001 --from-block x
usage_line "verify-bundle without DIR names it" "tlog verify-bundle: missing DIR (the bundle); see 'tlog verify-bundle --help'" -- "$TLOG" verify-bundle --key "$KEY"
usage_line "verify-bundle: an extra argument is named" "tlog verify-bundle: unexpected argument 'extra'; see 'tlog verify-bundle --help'" -- "$TLOG" verify-bundle "$T/bundle" extra --key "$KEY"
usage_line "verify-bundle without --key names it" "tlog verify-bundle: missing --key; see 'tlog verify-bundle --help'" -- "$TLOG" verify-bundle "$T/bundle"
usage_line "verify-bundle: an option without its value" "tlog verify-bundle: option '--key' needs a value; see 'tlog verify-bundle --help'" -- "$TLOG" verify-bundle "$T/bundle" --key
usage_line "collateral: a bad --timeout is one line" "tlog collateral: --timeout 'x' is not a number of seconds from 1 to 600; see 'tlog collateral --help'" -- "$TLOG" collateral --pccs http://127.0.0.1:1 --quote "$T/none" --timeout x
usage_line "collateral: --log without --at" "tlog collateral: missing --at (--log and --at go together); see 'tlog collateral --help'" -- "$TLOG" collateral --log "$T/a"
usage_line "audit without --to" "tlog audit: missing --to; see 'tlog audit --help'" -- "$TLOG" audit "${AU[@]}" --from 2026-01-01
usage_line "audit: an unknown option" "tlog audit: unknown option '--frob'; see 'tlog audit --help'" -- "$TLOG" audit "${AU[@]}" --from 2026-01-01 --to 2026-01-31 --frob
usage_line "audit: an extra argument" "tlog audit: unexpected argument 'x'; see 'tlog audit --help'" -- "$TLOG" audit "${AU[@]}" --from 2026-01-01 --to 2026-01-31 x
usage_line "audit: neither the chain nor --anchors" "tlog audit: missing --rpc and --contract, or --anchors; see 'tlog audit --help'" -- "$TLOG" audit --log "$T/au" --key "$AK" --from 2026-01-01 --to 2026-01-31
usage_line "audit: --rpc without --contract" "tlog audit: missing --contract (--rpc needs it); see 'tlog audit --help'" -- "$TLOG" audit --log "$T/au" --key "$AK" --rpc http://127.0.0.1:1 --from 2026-01-01 --to 2026-01-31
usage_line "audit: a bad date is a usage line" "tlog audit: --from/--to must be dates YYYY-MM-DD with from <= to; see 'tlog audit --help'" -- "$TLOG" audit "${AU[@]}" --from 2026-02-30 --to 2026-03-01
usage_line "audit: a bad date with --json is still only its line" "tlog audit: --from/--to must be dates YYYY-MM-DD with from <= to; see 'tlog audit --help'" -- "$TLOG" audit "${AU[@]}" --from 2026-02-30 --to 2026-03-01 --json
usage_line "audit: --app without the chain" "tlog audit: --app needs --rpc (the KMS history is read from the chain); see 'tlog audit --help'" -- "$TLOG" audit "${AU[@]}" --from 2026-01-01 --to 2026-01-31 --app 0x0000000000000000000000000000000000000001
# each failure printed once: in text mode the report (stdout) lists it, stderr says only
# that the audit failed; with --json the document holds it and stderr names it once
"$TLOG" audit "${RA[@]}" >"$T/a1.out" 2>"$T/a1.err"; rc=$?
n_out=$(grep -c "entry 1000 names direct messages" "$T/a1.out"); n_err=$(grep -c "entry 1000 names direct messages" "$T/a1.err")
[ "$rc" = 1 ] && [ "$n_out" = 1 ] && [ "$n_err" = 0 ] && [ "$(wc -l <"$T/a1.err")" = 1 ] && grep -qx "tlog audit: verification failed: [0-9]* failures, and some things not checked (listed above)" "$T/a1.err"   && ok "audit: each FAIL printed once (text: in the report; stderr one line)" || nok "audit: each FAIL printed once (exit $rc, stdout $n_out, stderr $n_err: $(head -c 300 "$T/a1.err"))"
"$TLOG" audit "${RA[@]}" --json >"$T/a2.out" 2>"$T/a2.err"; rc=$?
[ "$rc" = 1 ] && [ "$(grep -c "entry 1000 names direct messages" "$T/a2.err")" = 1 ] && python3 - "$T/a2.out" <<'PY' && ok "audit --json: failure shape {verified: false, exit: 1, error} with every check; each failure once on stderr" || nok "audit --json failure shape (exit $rc)"
import json, sys
o = json.load(open(sys.argv[1]))
assert o["verified"] is False and o["exit"] == 1 and o["error"].startswith("verification failed: "), o.get("error")
assert o["verdict"] == "FAILED" and any("entry 1000 names direct messages" in f for f in o["failures"])
PY
# -h and --help on every command, on stdout, exit 0
hall=1
for c in $("$TLOG" --help | awk '/^commands:/ {on=1; next} on && /^  [a-z]/ {print $1}'); do
  for h in -h --help; do
    out=$("$TLOG" "$c" "$h" 2>/dev/null) && grep -q "^usage: tlog $c" <<<"$out" || { hall=0; echo "# $c $h"; }
  done
done
[ "$hall" = 1 ] && ok "-h and --help print the usage of every command (exit 0)" || nok "-h and --help on every command"
expect "a key of the right name but other bytes: both key ids named" 1 \
  "^tlog checkpoint: verification failed: .*no signature by example.org/xordi/log\+[0-9a-f]{8} \(the key given\); it is signed by example.org/xordi/log\+[0-9a-f]{8} \(checkpoint\)$" \
  -- "$TLOG" checkpoint --log "$T/a" --key "$T/other/verifier-key"
expect "--key garbage says what --key takes" 2 \
  "^tlog checkpoint: --key 'garbage' is neither a verifier key \(name\+hash\+base64\) nor a key file \(garbage: No such file or directory\)$" \
  -- "$TLOG" checkpoint --log "$T/a" --key garbage
# one JSON style: indented by two, keys sorted, for every single document
"$TLOG" checkpoint "${A[@]}" --json >"$T/j1"
"$TLOG" compose-hash "$T/a/verifier-key" --json >"$T/j2"
"$TLOG" export "${A[@]}" --out "$T/bj" --size 300 --json --quiet >"$T/j3"
"$TLOG" verify-bundle "$T/bj" --key "$KEY" --json --quiet >"$T/j4"
python3 - "$T/j1" "$T/j2" "$T/j3" "$T/j4" <<'PY' && ok "one JSON style: 2-space indent, sorted keys (checkpoint, compose-hash, export, verify-bundle)" || nok "one JSON style"
import json, sys
for f in sys.argv[1:]:
    t = open(f).read()
    assert t == json.dumps(json.loads(t), indent=2, sort_keys=True, ensure_ascii=False) + "\n", f
PY
python3 - "$T/j3" "$T/bj" <<'PY' && ok "export --json: what was written (out, size, root, counts)" || nok "export --json ($(cat "$T/j3"))"
import json, sys
o = json.load(open(sys.argv[1])); m = json.load(open(sys.argv[2] + "/manifest.json"))
assert o["verified"] is True and o["out"] == sys.argv[2] and o["size"] == 300 == m["size"], o
assert o["root"] == m["root"] and o["origin"] == m["origin"] and o["files"] == len(m["files"]), (o, m)
# tlog-mklog writes one attestation: the collector boot's simulated quote
assert o["anchors"] == 0 and o["anchored_checkpoints"] == 0 and o["attestations"] == 1, o
PY
# a bundle checked with another log's key: one line naming both key ids, no summary of
# an unauthenticated bundle (it used to print origin '', size 0, root 000...)
out=$("$TLOG" verify-bundle "$T/bundle" --key "$T/other/verifier-key" 2>"$T/vbk.err"); rc=$?
kid() { cut -d+ -f2 "$1"; }
if [ $rc = 1 ] && [ -z "$out" ] && [ "$(wc -l <"$T/vbk.err")" = 1 ] && [ "$(cat "$T/vbk.err")" = \
  "tlog verify-bundle: verification failed: checkpoint does not verify: note has no signature by example.org/xordi/log+$(kid "$T/other/verifier-key") (the key given); it is signed by example.org/xordi/log+$(kid "$T/a/verifier-key") (checkpoint)" ]; then
  ok "verify-bundle with another key: one line naming the key given and the bundle's key, no empty summary"
else nok "verify-bundle with another key (exit $rc; stdout: $out; stderr: $(cat "$T/vbk.err"))"; fi
"$TLOG" verify-bundle "$T/bundle" --key "$T/other/verifier-key" --json >"$T/vbk.json" 2>/dev/null
python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); assert set(o)=={"verified","exit","error"} and o["exit"]==1 and "(the key given)" in o["error"], o' "$T/vbk.json" \
  && ok "verify-bundle --json with another key: the one error shape" || nok "verify-bundle --json with another key ($(cat "$T/vbk.json"))"
# each failure printed once: on stderr, not again on stdout
"$TLOG" verify-bundle "$T/bt" --key "$KEY" >"$T/vbt.out" 2>"$T/vbt.err"; rc=$?
n=$(cat "$T/vbt.out" "$T/vbt.err" | grep -c "manifest: tile/entries/002 has SHA-256")
[ $rc = 1 ] && [ "$n" = 1 ] && ! grep -q "^FAIL" "$T/vbt.out" && grep -q "^bundle verification FAILED (2 failures, each named on stderr)$" "$T/vbt.out" \
  && ok "verify-bundle prints each failure once (stderr), the summary counts them" \
  || { nok "verify-bundle prints each failure once (exit $rc, $n times)"; sed 's/^/#   /' "$T/vbt.out" "$T/vbt.err"; }
# export --to: the former name of --out, kept for this release with a warning
"$TLOG" export "${A[@]}" --to "$T/bto" --size 300 --quiet >"$T/bto.out" 2>"$T/bto.err"; rc=$?
[ $rc = 0 ] && [ -f "$T/bto/manifest.json" ] && grep -qx "tlog export: warning: --to is deprecated; use --out DIR (in the next release --to will be refused by tlog export)" "$T/bto.err" \
  && ok "export --to still works, with a deprecation warning" || nok "export --to (exit $rc: $(cat "$T/bto.err"))"
"$TLOG" export "${A[@]}" --out "$T/bto2" --size 300 --quiet >/dev/null 2>"$T/bto2.err"
[ ! -s "$T/bto2.err" ] && ok "export --out: no warning" || nok "export --out warns ($(cat "$T/bto2.err"))"
# one error shape, also for I/O failures
expect "error shape: {verified:false, exit, error}" 2 '^  "exit": 2,$' -- "$TLOG" checkpoint --log "$T/none" --key "$KEY" --json
# monitor --once --json answers also when all is well
rm -rf "$T/mj"
"$TLOG" monitor "${A[@]}" --state "$T/mj" --once --json >"$T/mj.out" 2>/dev/null; rc=$?
[ $rc = 0 ] && python3 -c 'import json,sys; o=json.loads(open(sys.argv[1]).read()); assert o["kind"]=="round" and o["level"]=="ok" and o["size"]==1000, o' "$T/mj.out" \
  && ok "monitor --once --json prints a round line on success" || nok "monitor --once --json on success (exit $rc: $(cat "$T/mj.out"))"

# --- verify-receipt: a c2sp.org/tlog-proof receipt offline, and against the log ---
section "verify-receipt"
"$TLOG" inclusion "${A[@]}" --index 5 --size 300 --proof-out "$T/r300" >/dev/null
"$TLOG" entries "${A[@]}" --start 5 --count 1 | cut -d' ' -f2- >"$T/e5"
"$TLOG" entries "${A[@]}" --start 6 --count 1 | cut -d' ' -f2- >"$T/e6"
H5=$("$TLOG" inclusion "${A[@]}" --index 5 --json | sed -n 's/.*"leaf_hash": "\([0-9a-f]*\)".*/\1/p')
expect "receipt verified offline with the entry" 0 "^receipt verified$" -- "$TLOG" verify-receipt "$T/r300" --key "$KEY" --entry "$T/e5"
expect "receipt verified offline with the leaf hash" 0 "^checkpoint  example.org/xordi/log size 300 " -- "$TLOG" verify-receipt "$T/r300" --key "$KEY" --hash "$H5"
expect "receipt from standard input" 0 "^receipt verified$" -- sh -c "\"$TLOG\" verify-receipt - --key \"$KEY\" --entry \"$T/e5\" <\"$T/r300\""
expect "receipt for another entry fails" 1 "^tlog verify-receipt: verification failed: the receipt's proof does not show this entry \(leaf from --entry\) at index 5 in the tree of size 300$" \
  -- "$TLOG" verify-receipt "$T/r300" --key "$KEY" --entry "$T/e6"
expect "receipt checked with another key names both key ids" 1 "no signature by example.org/xordi/log\+[0-9a-f]{8} \(the key given\); it is signed by example.org/xordi/log\+[0-9a-f]{8}$" \
  -- "$TLOG" verify-receipt "$T/r300" --key "$T/other/verifier-key" --entry "$T/e5"
# a proof hash changed: the base64 line after "index 5"
awk 'p==1 && !done {sub(/^./, ($0 ~ /^A/ ? "B" : "A")); done=1} /^index /{p=1} {print}' "$T/r300" >"$T/r300bad"
expect "receipt with a changed proof hash fails" 1 "does not show this entry" -- "$TLOG" verify-receipt "$T/r300bad" --key "$KEY" --entry "$T/e5"
sed 's/^index 5$/index 6/' "$T/r300" >"$T/r300i6"
expect "receipt with another index fails" 1 "does not show this entry" -- "$TLOG" verify-receipt "$T/r300i6" --key "$KEY" --entry "$T/e5"
expect "a file that is not a receipt" 1 "not a c2sp.org/tlog-proof receipt" -- "$TLOG" verify-receipt "$T/a/checkpoint" --key "$KEY" --entry "$T/e5"
"$TLOG" verify-receipt "$T/r300" --key "$KEY" --log "$T/a" --json >"$T/rj.out"
python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); assert o["verified"] and o["leaf_from"]=="the log" and o["log"]["size"]==1000 and o["chain"] is None and o["size"]==300, o' "$T/rj.out" \
  && ok "receipt against the log: entry read from it, its tree extends the receipt's" || nok "receipt against the log ($(cat "$T/rj.out"))"
$MKLOG --dir "$T/tiny" --count 10 >/dev/null
expect "receipt against a smaller log: rollback" 1 "^tlog verify-receipt: verification failed: rollback: the log's size 10 is smaller than the receipt's size 300$" \
  -- "$TLOG" verify-receipt "$T/r300" --key "$KEY" --log "$T/tiny" --entry "$T/e5"
expect "receipt against another log of the same key: fork" 1 "fork: the log's tree of size 1000 does not contain the receipt's tree of size 300" \
  -- "$TLOG" verify-receipt "$T/r300" --key "$KEY" --log "$T/fork" --entry "$T/e5"

[ "$fails" -eq 0 ]
