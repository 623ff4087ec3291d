#!/usr/bin/env bash
# logd --mirror: the log copied to S3-compatible object storage (issue 16), end to end
# with real processes: anvil, s3rver (npm) behind tests/lib/s3proxy.mjs (which checks
# every request's SigV4 signature with the AWS SDK's signer and plays faults), logd.
#  - uploads under load; the object store slow, cut off, refusing the credentials,
#    killed with kill -9, and losing its bucket mid-run: no anchor is ever ahead of the
#    mirror, and logd fills the mirror again when the store returns;
#  - backpressure: with the store away, writes get 503 once the backlog passes
#    --mirror-max-backlog, and are accepted again when it catches up;
#  - logd killed with kill -9 mid-upload and restarted: the mirror continues with no gap;
#  - read back with @aws-sdk/client-s3 (every object byte-equal to what logd serves,
#    Cache-Control immutable for full tiles) and with tlog over plain HTTP: checkpoint,
#    inclusion, consistency, monitor and audit on the mirror's URL alone;
#  - the data directory deleted and rebuilt with --restore-from: the same log goes on
#    (duplicates still found), anchors again, every checkpoint published before stays
#    consistent with it; a mirror behind the chain and a damaged one are refused.
set -u
root=${XT_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root"
BIN=${BIN:-bin}
. "$root/tests/lib/harness.sh"
harness_init mirror tlog logd
TLOG=$B/tlog
LOGD=$B/logd
S3RVER=$root/node_modules/.bin/s3rver
[ -x "$S3RVER" ] || { nok "s3rver missing (make deps)"; exit 1; }
cond() { eval "$1"; }
export AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE=1
s3tool() { node "$root/tests/lib/s3tool.mjs" "$S3" "$@" 2>>"$tmp/s3tool.err"; }

# --- the chain ---
echo ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80 >"$tmp/owner.key"
echo 59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d >"$tmp/anchorer.key"
chmod 600 "$tmp"/*.key
harness_anvil --prune-history || { nok "anvil starts"; exit 1; }
C=$("$TLOG" anchor deploy --rpc "$U" --key "$tmp/owner.key" 2>"$tmp/deploy.err") || { nok "deploy: $(cat "$tmp/deploy.err")"; exit 1; }
O=example.org/xordi/mirrored
A=$("$TLOG" anchor address --private-key "$tmp/anchorer.key")
"$TLOG" anchor register --rpc "$U" --private-key "$tmp/owner.key" --contract "$C" --origin "$O" --anchorer "$A" >/dev/null ||
  { nok "register"; exit 1; }

# --- the object store and the proxy logd talks to ---
s3port=$(free_port)
S3=http://127.0.0.1:$s3port
start_s3() {
  "$S3RVER" -d "$tmp/s3" -a 127.0.0.1 -p "$s3port" --silent --configure-bucket mirror >>"$tmp/s3.log" 2>&1 &
  s3_pid=$!
  pids+=("$s3_pid")
  for _ in $(seq 100); do
    curl -s -o /dev/null "$S3/" && return 0
    sleep 0.05
  done
  return 1
}
mkdir -p "$tmp/s3"
start_s3 || { nok "s3rver starts"; exit 1; }
pport=$(free_port)
MODE=$tmp/proxy-mode
node "$root/tests/lib/s3proxy.mjs" "$pport" "$s3port" "$MODE" S3RVER S3RVER >"$tmp/proxy.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$pport/" && break; sleep 0.05; done
M=$S3/mirror/logs/one # the mirror's public URL, read without the proxy
printf '# the mirror account\naws_access_key_id = S3RVER\naws_secret_access_key = S3RVER\n' >"$tmp/creds"

# --- usage ---
"$LOGD" --dev --data "$tmp/u" --listen 127.0.0.1:0 --origin "$O" --mirror s3://mirror/x 2>"$tmp/u.err"
check "--mirror without --mirror-endpoint and --mirror-credentials: usage error (2)" [ $? = 2 ]
"$LOGD" --dev --data "$tmp/u" --listen 127.0.0.1:0 --origin "$O" --mirror gs://mirror --mirror-endpoint "$S3" \
  --mirror-credentials "$tmp/creds" 2>"$tmp/u.err"
rc=$?
check "a --mirror that is not s3://BUCKET is refused with a message" cond '[ $rc = 1 ] && grep -q "s3://BUCKET" "$tmp/u.err"'

# start_logd DIR [extra args]: sets logd_pid and URL; 0 when serving.
start_logd() {
  local dir=$1; shift
  local port; port=$(free_port)
  URL=http://127.0.0.1:$port
  "$LOGD" --dev --data "$dir" --listen "127.0.0.1:$port" --origin "$O" --checkpoint-interval-ms 300 \
    --anchor-rpc "$U" --anchor-contract "$C" --anchor-key "$tmp/anchorer.key" --anchor-interval 1 \
    --mirror s3://mirror/logs/one --mirror-endpoint "http://127.0.0.1:$pport" --mirror-credentials "$tmp/creds" \
    --anchor-max-age 600 --mirror-max-backlog 400000 "$@" >"$dir.out" 2>>"$dir.log" &
  logd_pid=$!
  pids+=("$logd_pid")
  wait_healthy "$URL" "$logd_pid"
}
metric() { curl -s "$URL/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
anchor_size() { curl -s "$URL/v1/log" | jq -r '.anchor.size // 0'; }
# The mirror's checkpoint size, read from the store without the proxy ("" when away).
# s3rver overwrites an object in place: a read racing a PUT can see it empty, which is
# no answer either ("").
mirror_size() {
  local code
  code=$(curl -s -o "$tmp/ms.note" -w '%{http_code}' "$M/checkpoint")
  case $code in
  200) sed -n 2p "$tmp/ms.note" | grep -E '^[0-9]+$' ;;
  404) echo 0 ;;
  esac
}
log_size() { curl -s "$URL/v1/log" | jq -r '.size'; }
# until COND [SECONDS]
until_() {
  local n=$(( ${2:-20} * 10 ))
  for _ in $(seq "$n"); do eval "$1" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}
# The writer: batches of 100 events as fast as logd takes them; 503s are retried.
writer() {
  local tok i=0 tag=$1
  tok=$(cat "$D/dev-token")
  while [ ! -e "$tmp/stop-writer" ]; do
    python3 -c 'import json,sys; print(json.dumps([{"type":"load","tag":sys.argv[1],"i":int(sys.argv[2])*100+k,"pad":"x"*40} for k in range(100)]))' "$tag" "$i" >"$tmp/w.json"
    code=$(curl -s -o "$tmp/w.out" -w '%{http_code}' -H "Authorization: Bearer $tok" --data-binary @"$tmp/w.json" "$URL/v1/add-batch")
    [ "$code" = 200 ] && i=$((i + 1))
    [ "$code" = 503 ] && sleep 0.05
  done
  echo "$i" >"$tmp/writer.count"
}
start_writer() { rm -f "$tmp/stop-writer"; writer "$1" & writer_pid=$!; pids+=("$writer_pid"); }
stop_writer() { touch "$tmp/stop-writer"; wait "$writer_pid" 2>/dev/null; }
# The watcher: the promise, sampled every 100 ms while the store is up: the anchored
# size never exceeds the mirror's checkpoint (the anchor is read first).
watch_start() {
  rm -f "$tmp/watch-stop" "$tmp/watch.bad"
  (while [ ! -e "$tmp/watch-stop" ]; do
     a=$(anchor_size); m=$(mirror_size)
     [ -z "$m" ] || [ -z "$a" ] || [ "$a" -le "$m" ] || echo "anchor $a > mirror $m at $(date +%s.%N)" >>"$tmp/watch.bad"
     sleep 0.1
   done) &
  watch_pid=$!
  pids+=("$watch_pid")
}
watch_stop() { touch "$tmp/watch-stop"; wait "$watch_pid" 2>/dev/null; }

section "uploads under load"
D=$tmp/d
start_logd "$D" || { nok "logd starts with --mirror"; sed 's/^/# /' "$D.log"; exit 1; }
ok "logd starts with --mirror and anchoring"
VK=$(cat "$D/verifier-key")
start_writer a
watch_start
sleep 2
check "the mirror follows the log under load (mirror $(mirror_size), log $(log_size))" until_ '[ "$(mirror_size)" -gt 1000 ]' 10
check "anchors are made from the mirror (anchored $(anchor_size))" until_ '[ "$(anchor_size)" -gt 0 ]' 10
grep -q "signed" "$tmp/proxy.log" && ! grep -q "bad-signature" "$tmp/proxy.log"
check "every upload carries a SigV4 signature the AWS SDK's signer accepts ($(grep -c ' signed' "$tmp/proxy.log") requests)" [ $? = 0 ]

section "store slow"
echo "slow 400" >"$MODE"
sleep 2
echo pass >"$MODE"
s=$(log_size)
check "after a slow store the mirror catches up (to $s)" until_ '[ "$(mirror_size)" -ge "$s" ]' 15

section "store cut off, then refusing the credentials"
e0=$(metric logd_mirror_upload_errors_total)
echo down >"$MODE"
sleep 1.5
a_down=$(anchor_size)
sleep 1.5
check "no anchor while the store is away (anchored $a_down then $(anchor_size))" cond '[ "$(anchor_size)" = "$a_down" ] || [ "$(anchor_size)" -le "$(mirror_size)" ]'
printf 'aws_access_key_id = S3RVER\naws_secret_access_key = wrong-secret\n' >"$tmp/creds"
echo pass >"$MODE"
check "refused credentials are logged with the store's words" until_ 'grep -q "SignatureDoesNotMatch" "$D.log"' 15
check "upload errors are counted ($e0 -> $(metric logd_mirror_upload_errors_total))" \
  cond '[ "$(metric logd_mirror_upload_errors_total)" -gt "${e0:-0}" ]'
check "logd_mirror_lag_entries and _seconds show the lag" \
  cond '[ "$(metric logd_mirror_lag_entries)" -gt 0 ] && [ "$(metric logd_mirror_lag_seconds)" -ge 1 ]'
printf 'aws_access_key_id = S3RVER\naws_secret_access_key = S3RVER\n' >"$tmp/creds"
s=$(log_size)
check "fixed credentials are picked up and the mirror catches up (to $s)" until_ '[ "$(mirror_size)" -ge "$s" ]' 20

section "store killed"
kill -9 "$s3_pid"; wait "$s3_pid" 2>/dev/null
sleep 1.5
start_s3 || nok "s3rver restarts"
s=$(log_size)
check "after kill -9 of the store the mirror catches up (to $s)" until_ '[ "$(mirror_size)" -ge "$s" ]' 20
watch_stop
check "no anchor was ever ahead of the mirror ($(cat "$tmp/watch.bad" 2>/dev/null | wc -l) bad samples)" [ ! -s "$tmp/watch.bad" ]
[ -s "$tmp/watch.bad" ] && head -3 "$tmp/watch.bad" | sed 's/^/#   /'

section "bucket lost"
# The proxy holds logd off while the SDK deletes (s3rver's DeleteBucket races with
# PUTs; S3's does not).
echo down >"$MODE"
sleep 0.3
m_lost=$(mirror_size)
s3tool nuke mirror
echo pass >"$MODE"
check "the bucket is gone (the AWS SDK deleted it)" cond '[ "$(curl -s -o /dev/null -w "%{http_code}" "$M/checkpoint")" = 404 ]'
sleep 3
a_lost=$(anchor_size)
check "nothing the mirror did not hold is anchored while the bucket is gone (anchored $a_lost, the mirror held $m_lost)" \
  [ "$a_lost" -le "$m_lost" ]
s3tool create mirror
s=$(log_size)
check "the recreated bucket is filled again (to $s)" until_ '[ "$(mirror_size)" -ge "$s" ]' 20
check "logd logs the missing bucket, and that it fills it again" \
  cond 'grep -q "NoSuchBucket" "$D.log" && grep -q "filling it again" "$D.log"'
check "anchoring resumes after the mirror is back (anchored $(anchor_size) > $a_lost)" until_ '[ "$(anchor_size)" -gt "$a_lost" ]' 15

section "backpressure"
r0=$(metric logd_writes_refused_mirror_backlog_total)
echo down >"$MODE"
refused=0
for _ in $(seq 200); do
  [ "$(metric logd_writes_refused_mirror_backlog_total)" -gt "$r0" ] 2>/dev/null && { refused=1; break; }
  sleep 0.1
done
check "with the store away, writes are refused once the backlog passes --mirror-max-backlog" [ $refused = 1 ]
tok=$(cat "$D/dev-token")
expect "the 503 names the mirror's backlog" 0 'the mirror is [0-9]+ entries \([0-9]+ bytes\) behind, over the 400000 byte bound' -- \
  curl -s -H "Authorization: Bearer $tok" -d '{"type":"one"}' "$URL/v1/add"
check "logd_mirror_backlog_bytes is past the bound ($(metric logd_mirror_backlog_bytes))" \
  cond '[ "$(metric logd_mirror_backlog_bytes)" -gt 400000 ]'
echo pass >"$MODE"
check "writes are accepted again once the mirror catches up" \
  until_ '[ "$(curl -s -o /dev/null -w "%{http_code}" -H "Authorization: Bearer $tok" -d "{\"type\":\"again\"}" "$URL/v1/add")" = 200 ]' 20

section "logd killed mid-upload"
echo "slow 150" >"$MODE"
sleep 1
kill -9 "$logd_pid"; wait "$logd_pid" 2>/dev/null
stop_writer
echo pass >"$MODE"
start_logd "$D" || { nok "logd restarts after kill -9"; sed 's/^/# /' "$D.log" | tail -5; exit 1; }
s=$(log_size)
check "after kill -9 the mirror catches up with no gap (to $s)" until_ '[ "$(mirror_size)" -ge "$s" ]' 20
tok=$(cat "$D/dev-token")
cp1=$(curl -s -H "Authorization: Bearer $tok" -d '{"type":"last","n":1}' "$URL/v1/add?wait=checkpoint" | jq -r .checkpoint)
printf '%s\n' "$cp1" >"$tmp/cp1"
s=$(sed -n 2p "$tmp/cp1")
check "the mirror holds the last checkpoint ($s)" until_ '[ "$(mirror_size)" -ge "$s" ]' 10
check "logd anchors it" until_ '[ "$(anchor_size)" -ge "$s" ]' 15

section "read back with @aws-sdk/client-s3"
mkdir -p "$tmp/dump"
s3tool dump mirror logs/one "$tmp/dump" >"$tmp/dump.txt"
n=$(wc -l <"$tmp/dump.txt")
check "the SDK lists the mirror's objects ($n)" [ "$n" -gt 20 ]
# Each object against logd's answer for the same path, on one kept-alive connection.
read -r checked bad < <(python3 - "$URL" "$tmp/dump" "$tmp/dump.txt" <<'PY'
import http.client, sys, urllib.parse
u = urllib.parse.urlparse(sys.argv[1]); c = http.client.HTTPConnection(u.hostname, u.port)
n = bad = 0
for line in open(sys.argv[3]):
    key = line.split(' ')[0]
    if not (key.startswith('tile/') or key.startswith('v1/checkpoints/')): continue
    c.request('GET', '/' + key); r = c.getresponse(); body = r.read()
    n += 1
    if r.status != 200 or body != open(sys.argv[2] + '/' + key, 'rb').read():
        bad += 1; print('#   %s differs' % key, file=sys.stderr)
print(n, bad)
PY
)
check "every tile, bundle and checkpoint in the mirror equals logd's ($checked objects)" cond '[ "$checked" -gt 20 ] && [ "$bad" = 0 ]'
check "full tiles are stored with Cache-Control immutable" \
  cond '[ -z "$(grep "^tile/" "$tmp/dump.txt" | grep -v "\.p/" | grep -v " public, max-age=31536000, immutable$")" ] && grep -q "^tile/entries/000 " "$tmp/dump.txt"'
check "partial tiles are stored with a short max-age" grep -qE '^tile/0/[0-9x/]+\.p/[0-9]+ public, max-age=60$' "$tmp/dump.txt"
nck=$(grep -c '^v1/checkpoints/' "$tmp/dump.txt")
check "published checkpoints are in the mirror by size ($nck)" [ "$nck" -gt 5 ]

section "tlog on the mirror's URL alone"
expect "tlog checkpoint --log MIRROR" 0 "checkpoint verified" -- "$TLOG" checkpoint --log "$M" --key "$VK"
expect "tlog inclusion --log MIRROR" 0 "inclusion verified" -- "$TLOG" inclusion --log "$M" --key "$VK" --index 1234
expect "tlog entries --log MIRROR" 0 '"type":"last"' -- "$TLOG" entries --log "$M" --key "$VK" --start "$(( $(sed -n 2p "$tmp/cp1") - 1 ))" --count 1
curl -s -H "Authorization: Bearer $tok" -H 'Accept: text/x-tlog-proof' -d '{"type":"receipt"}' "$URL/v1/add" >"$tmp/receipt"
check "the receipt's checkpoint reaches the mirror" until_ '[ "$(mirror_size)" -ge "$(awk "f { if (++n == 2) { print; exit } } /^\$/ { f = 1 }" "$tmp/receipt")" ]' 10
expect "tlog verify-receipt --log MIRROR" 0 "verified" -- "$TLOG" verify-receipt "$tmp/receipt" --key "$VK" --log "$M"
old=v1/checkpoints/$(ls "$tmp/dump/v1/checkpoints" | sort -n | awk '$1 >= 600' | head -1)
cp "$tmp/dump/$old" "$tmp/old.note"
expect "tlog consistency --log MIRROR from its oldest checkpoint (${old#v1/checkpoints/})" 0 "verified" -- \
  "$TLOG" consistency --log "$M" --key "$VK" --old "$tmp/old.note"
expect "tlog monitor --log MIRROR (with the chain)" 0 "" -- \
  "$TLOG" monitor --log "$M" --key "$VK" --state "$tmp/mon" --once --rpc "$U" --contract "$C"
today=$(date -u +%F)
"$TLOG" audit --log "$URL" --key "$VK" --rpc "$U" --contract "$C" --from "$today" --to "$today" --allow-dev --json \
  >"$tmp/audit-logd.json" 2>"$tmp/audit-logd.err"
rl=$?
"$TLOG" audit --log "$M" --key "$VK" --rpc "$U" --contract "$C" --from "$today" --to "$today" --allow-dev --json \
  >"$tmp/audit-mirror.json" 2>"$tmp/audit-mirror.err"
rm_=$?
# A --dev log without a policy fails the audit (no quotes): the mirror must give the
# same report, check for check, as logd itself.
check "tlog audit --log MIRROR reports exactly what it reports on logd (exit $rm_ and $rl)" \
  cond '[ $rm_ = $rl ] && [ $rm_ != 2 ] && diff <(jq -S "del(.window) | del(.. | .seconds?, .now?)" "$tmp/audit-logd.json") <(jq -S "del(.window) | del(.. | .seconds?, .now?)" "$tmp/audit-mirror.json") >"$tmp/audit.diff"'
[ -s "$tmp/audit.diff" ] && head -20 "$tmp/audit.diff" | sed 's/^/#   /'

section "restore"
"$TLOG" export --log "$M" --key "$VK" --to "$tmp/old-bundle" --size "$(sed -n 2p "$tmp/old.note")" --quiet >/dev/null 2>"$tmp/export.err" ||
  nok "export of an old size from the mirror: $(cat "$tmp/export.err")"
pre=$(curl -s "$URL/v1/log" | jq .tree_size)
kill "$logd_pid"; wait "$logd_pid"
check "logd exits 0 on SIGTERM" [ $? = 0 ]
final=$(mirror_size)
check "the mirror holds the final checkpoint ($final of $pre entries)" [ "$final" = "$pre" ]
mkdir -p "$tmp/keys"
cp "$D/checkpoint-key" "$D/dev-token" "$tmp/keys/"
rm -rf "$D"
R=$tmp/r
mkdir -p "$R"; cp "$tmp/keys/"* "$R/"
expect "a restore into a data directory that holds a log is refused" 1 "already exists: restore only into a data directory without a log" -- \
  bash -c "mkdir -p '$tmp/full/db' && cp '$tmp/keys/'* '$tmp/full/' && '$LOGD' --dev --data '$tmp/full' --listen 127.0.0.1:0 --origin '$O' --restore-from '$M'"
mkdir -p "$tmp/behind"; cp "$tmp/keys/"* "$tmp/behind/"
expect "a mirror behind the chain's anchored head is refused" 1 "behind or inconsistent with the head anchored" -- \
  timeout 30 "$LOGD" --dev --data "$tmp/behind" --listen 127.0.0.1:0 --origin "$O" --restore-from "$tmp/old-bundle" \
  --anchor-rpc "$U" --anchor-contract "$C" --anchor-key "$tmp/anchorer.key"
check "... leaving no database behind" cond '[ ! -e "$tmp/behind/db" ] && [ ! -e "$tmp/behind/db.restore" ]'
cp -r "$tmp/old-bundle" "$tmp/bad-bundle"
b=$(find "$tmp/bad-bundle/tile/entries" -type f | head -1)
python3 -c 'import sys; p=sys.argv[1]; d=bytearray(open(p,"rb").read()); d[60]^=1; open(p,"wb").write(d)' "$b"
mkdir -p "$tmp/bad"; cp "$tmp/keys/"* "$tmp/bad/"
expect "a damaged mirror is refused" 1 "do not hash to its signed checkpoint|not an entry logd writes|malformed" -- \
  timeout 30 "$LOGD" --dev --data "$tmp/bad" --listen 127.0.0.1:0 --origin "$O" --restore-from "$tmp/bad-bundle"
start_logd "$R" --restore-from "$M" || { nok "logd --restore-from the mirror starts"; sed 's/^/# /' "$R.log" | tail -8; exit 1; }
ok "logd --restore-from the mirror starts on an empty data directory"
check "it says what it restored and checked" grep -q "entries restored from $M and checked against its signed checkpoint and the chain" "$R.log"
check "the restored log goes on from the mirror's size ($final, now $(curl -s "$URL/v1/log" | jq .tree_size))" \
  [ "$(curl -s "$URL/v1/log" | jq .tree_size)" = $((final + 1)) ]
D=$R
dup=$(curl -s -H "Authorization: Bearer $tok" -d '{"type":"last","n":1}' "$URL/v1/add")
check "an event logged before the restore is still found as a duplicate" cond '[ "$(jq -r .dup <<<"$dup")" = true ]'
start_writer b
sleep 2
stop_writer
s=$(log_size)
check "the restored log grows and is mirrored (to $s)" until_ '[ "$(mirror_size)" -ge "$s" ]' 15
check "the restored log anchors again" until_ '[ "$(anchor_size)" -ge "$s" ]' 15
bad=0 n=0
for f in "$tmp/dump/v1/checkpoints/"*; do
  "$TLOG" consistency --log "$URL" --key "$VK" --old "$f" --quiet 2>>"$tmp/cons.err" || bad=$((bad + 1))
  n=$((n + 1))
done
check "every checkpoint published before the restore is consistent with the restored log ($n, $bad failed)" [ $bad = 0 ]
expect "tlog consistency --log MIRROR from the receipt's checkpoint before the restore" 0 "verified" -- \
  "$TLOG" consistency --log "$M" --key "$VK" --old "$tmp/cp1"
expect "tlog monitor --log MIRROR again: no rollback or fork across the restore" 0 "" -- \
  "$TLOG" monitor --log "$M" --key "$VK" --state "$tmp/mon" --once --rpc "$U" --contract "$C"

harness_done
