#!/usr/bin/env bash
# Side by side: logd CPU per entry of two or more builds, interleaved in one run so
# that the machine's load hits each alike (the wall-clock rates on a shared machine
# do not compare; the CPU each logd spent per entry does, within noise).
# Usage: bash bench/logd-ab.sh ROUNDS BINDIR...   (each BINDIR holds logd and logd-bench)
# Per round and build: a fresh logd in a temp dir, single-entry appends over 64
# connections, then add-batch (1,000 per request, 8 connections); XT_BENCH_LOGD_SECONDS
# (default 8) each. XT_BENCH_AB_MODES="add batch wait" adds add?wait=checkpoint paced
# at XT_BENCH_WAIT_RATE (default 10,000/s) over XT_BENCH_WAIT_CONNS (default 768) connections (p50 and p99 are the
# figures there; late > 0 means the pacing did not hold). Not part of `make bench`.
set -u
rounds=$1; shift
secs=${XT_BENCH_LOGD_SECONDS:-8}
ticks() { awk '{print $14+$15}' /proc/$1/stat; }
kv() { sed -n "s/.*\b$2=\([^ ]*\).*/\1/p" <<<"$1"; }
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
for r in $(seq "$rounds"); do
  for B in "$@"; do
    tmp=$(mktemp -d /tmp/xt-logd-ab.XXXXXX)
    port=$(free_port)
    "$B/logd" --data "$tmp/log" --listen 127.0.0.1:$port --origin bench.example/log --dev \
      --checkpoint-interval-ms 20 --queue-limit 1000000 >"$tmp/out" 2>"$tmp/err" &
    lpid=$!
    for _ in $(seq 200); do (echo >/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.05; done
    tok=$(cat "$tmp/log/dev-token")
    line="round $r $B:"
    for mode in ${XT_BENCH_AB_MODES:-add batch}; do
      case $mode in
      batch) extra="--conns 8 --batch 1000" ;;
      wait) extra="--conns ${XT_BENCH_WAIT_CONNS:-768} --rate ${XT_BENCH_WAIT_RATE:-10000}" ;;
      *) extra="--conns 64" ;;
      esac
      t0=$(ticks $lpid)
      o=$("$B/logd-bench" $mode --url http://127.0.0.1:$port --token "$tok" $extra --seconds "$secs")
      t1=$(ticks $lpid)
      line="$line $mode $(kv "$o" rate)/s p50 $(kv "$o" p50_ms) p99 $(kv "$o" p99_ms) ms$([ $mode = wait ] && echo " late $(kv "$o" late)") CPU $(awk -v a=$t0 -v b=$t1 -v n="$(kv "$o" items)" -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.1f", (n>0)?(b-a)*1e6/hz/n:0}') us/entry;"
    done
    echo "$line load $(cut -d' ' -f1 /proc/loadavg)"
    kill $lpid; wait $lpid 2>/dev/null
    rm -rf "$tmp"
  done
done
