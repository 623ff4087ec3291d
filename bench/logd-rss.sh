#!/usr/bin/env bash
# logd's resident memory as the log grows: add-batch load (1,000 per request, 4
# connections) until XT_BENCH_RSS_ENTRIES (default 10,000,000) or XT_BENCH_RSS_SECONDS
# (default 3600); one line per million entries: RSS, peak RSS, bytes on disk.
# Usage: BIN=bin bash bench/logd-rss.sh. Not part of `make bench` (it takes long).
set -u
BIN=${BIN:-bin}
want=${XT_BENCH_RSS_ENTRIES:-10000000}
maxs=${XT_BENCH_RSS_SECONDS:-3600}
tmp=$(mktemp -d /tmp/xt-logd-rss.XXXXXX)
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
"$BIN/logd" --data "$tmp/log" --listen 127.0.0.1:$port --origin bench.example/log --dev \
  --checkpoint-interval-ms 20 --queue-limit 1000000 >"$tmp/out" 2>"$tmp/err" &
lpid=$!
for _ in $(seq 200); do (echo >/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.05; done
url=http://127.0.0.1:$port
"$BIN/logd-bench" batch --url $url --token "$(cat "$tmp/log/dev-token")" --conns 4 --batch 1000 \
  --seconds "$maxs" >/dev/null 2>&1 &
bp=$!
size() { curl -s $url/v1/log | python3 -c 'import json,sys;print(json.load(sys.stdin)["tree_size"])' 2>/dev/null || echo 0; }
mem() { awk -v k="$1" '$1==k":"{printf "%.0f", $2/1024}' /proc/$lpid/status; }
next=1000000; t0=$(date +%s)
while kill -0 $bp 2>/dev/null; do
  s=$(size)
  if [ "$s" -ge $next ]; then
    echo "entries $s: RSS $(mem VmRSS) MB, peak $(mem VmHWM) MB, disk $(du -sm "$tmp/log/db" | cut -f1) MB, $(( $(date +%s) - t0 )) s"
    next=$((next + 1000000))
  fi
  [ "$s" -ge "$want" ] && kill $bp
  sleep 2
done
kill $lpid; wait $lpid 2>/dev/null
rm -rf "$tmp"
