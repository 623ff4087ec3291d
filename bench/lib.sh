# bench/lib.sh: what the logd benchmarks share. Source it after setting BENCH_NAME; it
# makes $tmp, runs cleanup on exit (every PID in pids, then the temp dir) and defines
# the small probes below.
tmp=$(mktemp -d "/tmp/xt-bench-$BENCH_NAME.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.3
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do (echo >/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.05; done; return 1; }
# kv LINE KEY: the value of KEY=VALUE in logd-bench's result line
kv() { sed -n "s/.*\b$2=\([^ ]*\).*/\1/p" <<<"$1"; }
# metric PORT NAME: one Prometheus value from logd's /metrics
metric() { curl -s "http://127.0.0.1:$1/metrics" | awk -v m="$2" '$1==m{print $2}'; }
