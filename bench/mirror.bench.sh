#!/usr/bin/env bash
# logd --mirror (issue 16): append throughput with the mirror off and on in the same
# run (add-batch, and single-entry appends), and the mirror's lag while appends are
# paced at 10,000 entries/s (add-batch; logd_mirror_lag_entries / _seconds sampled every 100 ms,
# then how long the mirror takes to catch up once the load stops). The object store is
# s3rver (npm; a single Node.js process writing files), so the lag measured is an upper
# bound set by this local store as much as by logd.
# Knobs: XT_BENCH_MIRROR_SECONDS (default 8 per measurement).
set -euo pipefail
secs=${XT_BENCH_MIRROR_SECONDS:-8}
BIN=${BIN:-bin}
root=$(cd "$(dirname "$0")/.." && pwd)
BENCH_NAME=mirror
. "$(dirname "$0")/lib.sh"
fail() { echo "mirror bench failed: $1" >&2; tail -5 "$tmp"/*.err >&2 || true; exit 1; }

s3port=$(free_port)
mkdir -p "$tmp/s3"
"$root/node_modules/.bin/s3rver" -d "$tmp/s3" -a 127.0.0.1 -p "$s3port" --silent --configure-bucket bench \
  >"$tmp/s3.err" 2>&1 &
pids+=($!)
wait_port "$s3port" || fail "s3rver did not start"
printf 'aws_access_key_id = S3RVER\naws_secret_access_key = S3RVER\n' >"$tmp/creds"

# start NAME [mirror args]: a fresh logd (checkpoint interval 1 s, the default); sets port.
start() {
  local name=$1; shift
  port=$(free_port)
  "$BIN/logd" --data "$tmp/$name" --listen 127.0.0.1:$port --origin bench.example/mirror --dev \
    --queue-limit 1000000 "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
  lpid=$!
  pids+=($lpid)
  wait_port $port || fail "logd did not start"
  tok=$(cat "$tmp/$name/dev-token")
}
MIRROR=(--mirror s3://bench/log --mirror-endpoint "http://127.0.0.1:$s3port" --mirror-credentials "$tmp/creds"
        --mirror-max-backlog 4294967296)

# Both logds run side by side and the runs alternate (off, on, off, on): on a shared
# machine the better of two runs of each is the fairer comparison.
start off
poff=$port tokoff=$tok
start on "${MIRROR[@]}"
pon=$port tokon=$tok
best() { # best RESULT1 RESULT2: the one with the higher rate
  if [ "$(kv "$1" rate)" -ge "$(kv "$2" rate)" ]; then echo "$1"; else echo "$2"; fi
}
run() { "$BIN/logd-bench" "$1" --url "http://127.0.0.1:$2" --token "$3" "${@:4}" --seconds $secs; }
b1=$(run batch $poff $tokoff --conns 8 --batch 1000); b2=$(run batch $pon $tokon --conns 8 --batch 1000)
b3=$(run batch $poff $tokoff --conns 8 --batch 1000); b4=$(run batch $pon $tokon --conns 8 --batch 1000)
a1=$(run add $poff $tokoff --conns 64); a2=$(run add $pon $tokon --conns 64)
a3=$(run add $poff $tokoff --conns 64); a4=$(run add $pon $tokon --conns 64)
boff=$(best "$b1" "$b3") bon=$(best "$b2" "$b4") aoff=$(best "$a1" "$a3") aon=$(best "$a2" "$a4")
port=$pon
# The backlog of the unpaced runs drains (not counted as lag at 10,000/s).
t=$(date +%s%N)
while :; do
  l=$(metric $port logd_mirror_lag_entries)
  [ "${l:-1}" = 0 ] && break
  [ $(( ($(date +%s%N) - t) / 1000000000 )) -gt 600 ] && fail "the mirror did not catch up in 600 s"
  sleep 0.2
done
drain_s=$(awk -v a="$t" -v b="$(date +%s%N)" 'BEGIN{printf "%.1f", (b-a)/1e9}')
backlog=$(metric $port logd_tree_size)
kill "${pids[@]:1}" 2>/dev/null || true
wait "${pids[@]:1}" 2>/dev/null || true
# --restore-from that mirror into a new data directory (the keys copied, as a --dev
# operator would): until the restored logd answers /healthz.
mkdir -p "$tmp/restored"
cp "$tmp/on/checkpoint-key" "$tmp/on/dev-token" "$tmp/restored/"
rsize=$(curl -s "http://127.0.0.1:$s3port/bench/log/checkpoint" | sed -n 2p)
t=$(date +%s%N)
port=$(free_port)
"$BIN/logd" --data "$tmp/restored" --listen 127.0.0.1:$port --origin bench.example/mirror --dev \
  --restore-from "http://127.0.0.1:$s3port/bench/log" >"$tmp/restored.out" 2>"$tmp/restored.err" &
lpid=$!
pids+=($lpid)
for _ in $(seq 6000); do
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break
  kill -0 $lpid 2>/dev/null || fail "the restore failed"
  sleep 0.1
done
restore_s=$(awk -v a="$t" -v b="$(date +%s%N)" 'BEGIN{printf "%.1f", (b-a)/1e9}')
kill $lpid; wait $lpid 2>/dev/null || true

# Lag at 10,000 entries/s on a fresh log and bucket prefix.
MIRROR[1]=s3://bench/paced
start paced "${MIRROR[@]}"
( while :; do
    echo "$(date +%s%N) $(metric $port logd_mirror_lag_entries) $(metric $port logd_mirror_lag_seconds) $(metric $port logd_tree_size)"
    sleep 0.1
  done ) >"$tmp/lag.txt" &
spid=$!
pids+=($spid)
# 100 requests/s of 100 events each, paced over 8 connections.
wait=$("$BIN/logd-bench" batch --url http://127.0.0.1:$port --token $tok --conns 8 --batch 100 --rate 100 --seconds $secs)
t=$(date +%s%N)
while [ "$(metric $port logd_mirror_lag_entries)" != 0 ]; do sleep 0.05; done
catch_ms=$(( ($(date +%s%N) - t) / 1000000 ))
kill $spid 2>/dev/null || true
uploads=$(metric $port logd_mirror_uploads_total)
ubytes=$(metric $port logd_mirror_upload_bytes_total)
errors=$(metric $port logd_mirror_upload_errors_total)
size=$(metric $port logd_tree_size)
kill $lpid; wait $lpid 2>/dev/null || true
lag=$(awk 'NF==4 {print $2}' "$tmp/lag.txt" | sort -n | awk '{a[NR]=$1}
  END {
    if (!NR) { print "none"; exit }
    i = int(NR * 0.5) + 1; if (i > NR) i = NR
    j = int(NR * 0.99) + 1; if (j > NR) j = NR
    printf "p50 %d, p99 %d, max %d (%d samples)", a[i], a[j], a[NR], NR
  }')
lags=$(awk 'NF==4 {print $3}' "$tmp/lag.txt" | sort -n | tail -1)

echo "### logd mirror (\`make bench\`, $secs s per measurement, checkpoint interval 1 s, s3rver on the same machine)"
echo
echo "| measure | mirror off | mirror on | note |"
echo "|---|---|---|---|"
printf '| add-batch (1,000 per request, 8 conns) | %s entries/s | %s entries/s | |\n' "$(kv "$boff" rate)" "$(kv "$bon" rate)"
printf '| single-entry appends, 64 conns | %s entries/s (p99 %s ms) | %s entries/s (p99 %s ms) | |\n' \
  "$(kv "$aoff" rate)" "$(kv "$aoff" p99_ms)" "$(kv "$aon" rate)" "$(kv "$aon" p99_ms)"
printf '| mirror caught up after those runs | | %s s later (log of %s entries) | |\n' "$drain_s" "$backlog"
printf '| logd --restore-from that mirror | | %s s for %s entries (%s entries/s), until /healthz answers | |\n' \
  "$restore_s" "$rsize" "$(awk -v n="$rsize" -v s="$restore_s" 'BEGIN{printf "%.0f", (s>0)?n/s:0}')"
echo
echo "| at 10,000 entries/s (add-batch of 100, paced at 100 requests/s) | result |"
echo "|---|---|"
printf '| appends | %s entries/s, p50 %s ms, p99 %s ms per request |\n' "$(kv "$wait" rate)" "$(kv "$wait" p50_ms)" "$(kv "$wait" p99_ms)"
printf '| mirror lag, entries (sampled every 100 ms) | %s |\n' "$lag"
printf '| mirror lag, seconds (max of logd_mirror_lag_seconds) | %s |\n' "${lags:-0}"
printf '| mirror caught up after the load stopped | %s ms |\n' "$catch_ms"
printf '| objects uploaded | %s (%s bytes, %s failed passes) for %s entries |\n' "$uploads" "$ubytes" "$errors" "$size"
