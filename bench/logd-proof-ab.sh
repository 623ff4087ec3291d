#!/usr/bin/env bash
# Side by side: logd CPU per inclusion and per consistency proof of two or more builds,
# interleaved in one run so the machine's load hits each alike (on a shared machine
# the rates do not compare; the CPU each logd spent per proof does, within noise).
# Usage: bash bench/logd-proof-ab.sh ROUNDS BINDIR...   (each BINDIR holds logd)
# One log of about XT_BENCH_PROOF_SIZE entries (default 965,984, the size `make bench`
# reached) is filled once with add-batch by the first build; each round and build
# then serves a copy of it: the proof tile cache warmed for 2 s as logd.bench.sh
# does, then XT_BENCH_LOGD_SECONDS (default 8) of proofs at random indexes into the
# whole tree and of consistency proofs from random sizes to it, 16 connections. The
# load generator is this tree's bin/logd-bench for every build. Not part of `make bench`.
set -euo pipefail
rounds=$1; shift
secs=${XT_BENCH_LOGD_SECONDS:-8}
want=${XT_BENCH_PROOF_SIZE:-965984}
LB=${LB:-$(dirname "$0")/../bin/logd-bench}
BENCH_NAME=logd-proof-ab
. "$(dirname "$0")/lib.sh"
ticks() { awk '{print $14+$15}' /proc/$1/stat; }
start() { # BINDIR DATA: starts logd, sets lpid and url
  local port
  port=$(free_port)
  "$1/logd" --data "$2" --listen 127.0.0.1:$port --origin bench.example/log --dev \
    --checkpoint-interval-ms 20 --queue-limit 1000000 >>"$tmp/logd.out" 2>>"$tmp/logd.err" &
  lpid=$!
  pids+=($lpid)
  wait_port $port
  url=http://127.0.0.1:$port
}
tree_size() { curl -s $url/v1/log | python3 -c 'import json,sys;print(json.load(sys.stdin)["tree_size"])'; }

start "$1" "$tmp/base"
tok=$(cat "$tmp/base/dev-token")
size=$(tree_size)
while [ "$size" -lt "$want" ]; do
  # Close to the size, one connection for a moment: a few batches past it at most.
  if [ $(( want - size )) -gt 200000 ]; then c=8 s=1; else c=1 s=0.05; fi
  n=$(( want - size < 1000 ? want - size : 1000 ))
  "$LB" batch --url $url --token "$tok" --conns $c --batch $n --seconds $s >/dev/null
  size=$(tree_size)
done
stop() { kill $lpid; wait $lpid 2>/dev/null || true; pids=(); } # a reaped PID is not ours to kill later
stop
echo "tree of $size entries"
for r in $(seq "$rounds"); do
  for B in "$@"; do
    rm -rf "$tmp/log"
    cp -r "$tmp/base" "$tmp/log"
    start "$B" "$tmp/log"
    "$LB" proof --url $url --conns 16 --size $size --seconds 2 >/dev/null
    line="round $r $B:"
    for mode in proof consistency; do
      t0=$(ticks $lpid)
      o=$("$LB" $mode --url $url --conns 16 --size $size --seconds "$secs")
      t1=$(ticks $lpid)
      line="$line $mode $(kv "$o" rate)/s p99 $(kv "$o" p99_ms) ms errors $(kv "$o" errors) CPU $(awk -v a=$t0 -v b=$t1 -v n="$(kv "$o" items)" -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.1f", (n>0)?(b-a)*1e6/hz/n:0}') us/proof;"
    done
    echo "$line load $(cut -d' ' -f1 /proc/loadavg)"
    stop
  done
done
