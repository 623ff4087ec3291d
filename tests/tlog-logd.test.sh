#!/usr/bin/env bash
# tlog against real logd instances over HTTP: checkpoint, inclusion (index, hash,
# entry), consistency, entries, and a fork (two logds sharing one checkpoint key but
# serving different trees) and a rollback detected. Kills every daemon it starts.
set -u
root=${XT_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
BIN=${BIN:-bin}
cd "$root" || exit 2
. tests/lib/harness.sh
harness_init tlog-logd tlog logd
T=$tmp
TLOG=$B/tlog
LOGD=$B/logd

# start_logd DIR -> sets URL; the daemon is killed on exit.
start_logd() {
  local dir=$1 port
  port=$(free_port)
  mkdir -p "$dir"
  "$LOGD" --dev --data "$dir" --listen "127.0.0.1:$port" --origin example.org/xordi/log \
    --checkpoint-interval-ms 50 >"$dir.out" 2>&1 &
  pids+=($!)
  URL=http://127.0.0.1:$port
  for _ in $(seq 1 100); do
    curl -sf "$URL/healthz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "# logd did not start:"; sed 's/^/#   /' "$dir.out"
  return 1
}

# add URL DIR FIRST COUNT TAG: add-batch of COUNT events, then one with
# wait=checkpoint (its response, with the checkpoint covering all, goes to $T/last.json).
add() {
  local url=$1 dir=$2 first=$3 count=$4 tag=$5 tok
  tok=$(cat "$dir/dev-token")
  python3 - "$first" "$count" "$tag" >"$T/batch.json" <<'EOF'
import json, sys
first, count, tag = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
print(json.dumps([{"type": "credential_intake", "user": "%s-%d" % (tag, i), "request_id": "r%d" % i}
                  for i in range(first, first + count)]))
EOF
  curl -sf -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
    --data-binary @"$T/batch.json" "$url/v1/add-batch" >/dev/null || return 1
  curl -sf -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
    --data-binary "{\"type\":\"marker\",\"n\":\"$tag-$first\"}" "$url/v1/add?wait=checkpoint" >"$T/last.json"
}
note_of() { python3 -c 'import json,sys; sys.stdout.write(json.load(open(sys.argv[1]))["checkpoint"])' "$1"; }

start_logd "$T/a" || { nok "start logd A"; exit 1; }
A=$URL
# Every logd start appends its own boot entry at index 0: sizes below count it.
KEY=$T/a/verifier-key
add "$A" "$T/a" 0 600 a || nok "add 600 to A"
note_of "$T/last.json" >"$T/old"
expect "checkpoint from logd" 0 "size +602" -- "$TLOG" checkpoint --log "$A" --key "$KEY"
add "$A" "$T/a" 600 700 a || nok "add 700 more to A"
expect "consistency from an older checkpoint" 0 "old +size 602" -- "$TLOG" consistency --log "$A" --key "$KEY" --old "$T/old"
expect "inclusion by index" 0 "inclusion verified" -- "$TLOG" inclusion --log "$A" --key "$KEY" --index 1000
LH=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["leaf_hash"])' "$T/last.json")
expect "inclusion by leaf hash (index learnt from the API, proof from tiles)" 0 "index +1302" -- "$TLOG" inclusion --log "$A" --key "$KEY" --hash "$LH"
"$TLOG" entries --log "$A" --key "$KEY" --start 77 --count 1 | cut -d' ' -f2- >"$T/e77"
expect "inclusion by entry file" 0 "index +77" -- "$TLOG" inclusion --log "$A" --key "$KEY" --entry "$T/e77"
expect "inclusion at the older size (v1/checkpoints not needed)" 0 '"size": 602' -- "$TLOG" inclusion --log "$A" --key "$KEY" --index 600 --size 602 --json
n=$("$TLOG" entries --log "$A" --key "$KEY" | wc -l)
[ "$n" -eq 1303 ] && ok "entries from logd: 1303" || nok "entries from logd (got $n)"
expect "entries carry the submitter wrapper" 0 '"submitter":"dev"' -- "$TLOG" entries --log "$A" --key "$KEY" --start 3 --count 1
expect "export from logd over HTTP" 0 "exported 1303 entries" -- "$TLOG" export --log "$A" --key "$KEY" --out "$T/bundle" --quiet
expect "verify-bundle of logd's export" 0 "bundle verified" -- "$TLOG" verify-bundle "$T/bundle" --key "$KEY"
expect "the bundle proves what logd serves" 0 "index +1000" -- "$TLOG" inclusion --log "$T/bundle" --key "$KEY" --index 1000

# B: same checkpoint key, different entries.
mkdir -p "$T/b" && cp "$T/a/checkpoint-key" "$T/b/checkpoint-key"
start_logd "$T/b" || { nok "start logd B"; exit 1; }
B=$URL
add "$B" "$T/b" 0 900 b || nok "add 900 to B"
expect "B's checkpoint verifies with A's key" 0 "size +902" -- "$TLOG" checkpoint --log "$B" --key "$KEY"
expect "fork: B does not extend A's old checkpoint" 1 "fork: the log's tree of size 902 does not contain the old tree of size 602" -- "$TLOG" consistency --log "$B" --key "$KEY" --old "$T/old"
"$TLOG" checkpoint --log "$A" --key "$KEY" --out "$T/a-new" >/dev/null
expect "rollback detected" 1 "rollback: the log's checkpoint has size 902, smaller than the old checkpoint's 1303" -- "$TLOG" consistency --log "$B" --key "$KEY" --old "$T/a-new"

# A receipt as logd issues it (POST /v1/add?format=tlog-proof), verified offline by
# tlog verify-receipt: with the leaf hash logd's JSON answer gives, with the entry
# read from the log, and refused for another entry.
tok=$(cat "$T/a/dev-token")
curl -sf -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
  --data-binary '{"type":"marker","n":"receipt"}' "$A/v1/add?format=tlog-proof" >"$T/receipt" || nok "a tlog-proof receipt from logd"
RI=$(sed -n 's/^index //p' "$T/receipt")
RH=$("$TLOG" inclusion --log "$A" --key "$KEY" --index "$RI" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["leaf_hash"])')
expect "verify-receipt of logd's receipt, offline with its leaf hash" 0 "^index       $RI$" -- "$TLOG" verify-receipt "$T/receipt" --key "$KEY" --hash "$RH"
expect "verify-receipt against logd: the entry read from the log" 0 "^leaf hash   $RH \\(from the log\\)$" -- "$TLOG" verify-receipt "$T/receipt" --key "$KEY" --log "$A"
expect "verify-receipt of logd's receipt for another entry fails" 1 "does not show this entry \\(leaf from --entry\\) at index $RI" -- "$TLOG" verify-receipt "$T/receipt" --key "$KEY" --entry "$T/e77"

[ "$fails" -eq 0 ]
