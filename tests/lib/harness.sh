# harness.sh: shared prologue of the shell tests.
# Source it from a test after setting `root` and `BIN`, then call
#   harness_init [--no-anvil] NAME PROGRAM...
# which makes $tmp (removed at exit unless KEEP is set), copies the programs into
# $B (= $tmp/bin) so parallel relinks of bin/ cannot break a running test, checks
# that $ANVIL exists (unless --no-anvil: tests without a chain; $ANVIL then keeps its
# on-disk state cache in $tmp), and stops every PID
# in the `pids` array at exit, after calling the test's harness_at_exit function if it
# defines one. It defines ok / nok / check / expect (the "ok - " / "not ok - " lines
# tests/run.sh counts, failures counted in $fails), section (a "# NAME (at N ms)"
# progress line), harness_done (the test's exit status: 0 only without failures),
# free_port, stop_pid, sha256hex, and harness_anvil (a local chain, chain id 84532).

ANVIL="$root/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"
pids=()
fails=0

harness_init() {
  local anvil=1 name f
  if [ "${1:-}" = --no-anvil ]; then anvil=0; shift; fi
  name=$1
  shift
  harness_t0=$(date +%s%N)
  tmp=$(mktemp -d "/tmp/xt-$name.XXXXXX")
  mkdir -p "$tmp/bin"
  for f in "$@"; do
    cp "$BIN/$f" "$tmp/bin/" 2>/dev/null || { echo "not ok - $name: $BIN/$f missing (make all-tests)"; rm -rf "$tmp"; exit 1; }
  done
  if [ $anvil = 1 ] && [ ! -x "$ANVIL" ]; then
    echo "not ok - $name: anvil missing (make deps)"; rm -rf "$tmp"; exit 1
  fi
  B=$tmp/bin
  # anvil keeps old blocks' states on disk (~/.foundry/anvil/tmp by default, never
  # removed): gigabytes after a few thousand mined blocks. The tests' anvil keeps them
  # in $tmp, which goes at exit.
  if [ $anvil = 1 ]; then
    printf '#!/bin/sh\nexec "%s" --cache-path "%s/anvil-cache" "$@"\n' "$ANVIL" "$tmp" >"$tmp/bin/anvil"
    chmod +x "$tmp/bin/anvil"
    ANVIL=$tmp/bin/anvil
  fi
  trap harness_cleanup EXIT
}

harness_cleanup() {
  local p
  if declare -F harness_at_exit >/dev/null; then harness_at_exit; fi
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}

ok() { echo "ok - $1"; }
nok() { echo "not ok - $1"; fails=$((fails + 1)); }
check() { local name=$1; shift; if "$@"; then ok "$name"; else nok "$name"; fi; }
# expect NAME STATUS REGEX -- CMD...: exit status and a line of stdout+stderr
expect() {
  local name=$1 want=$2 re=$3; shift 4
  local out rc
  out=$("$@" 2>&1); rc=$?
  if [ "$rc" = "$want" ] && grep -qE -- "$re" <<<"$out"; then ok "$name"; else
    nok "$name (exit $rc, want $want, /$re/)"; sed 's/^/#   /' <<<"$out" | tail -n 15; fi
}
section() { echo "# $1 (at $(( ($(date +%s%N) - ${harness_t0:-$(date +%s%N)}) / 1000000 )) ms)"; }
harness_done() { [ "$fails" = 0 ]; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
stop_pid() { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; }
# wait_healthy URL PID: true once URL/healthz answers 200 (within 10 s); false at once
# if PID has exited (a refused start), or after the 10 s.
wait_healthy() {
  for _ in $(seq 200); do
    curl -sf "$1/healthz" >/dev/null 2>&1 && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}
# wait_file FILE PID: true once FILE is not empty (a stand-in's port file; within 20 s,
# a node or python start on a loaded 2-core machine can take seconds); false at once if
# PID has exited, or after the 20 s.
wait_file() {
  for _ in $(seq 400); do
    [ -s "$1" ] && return 0
    kill -0 "$2" 2>/dev/null || { [ -s "$1" ]; return; }
    sleep 0.05
  done
  return 1
}
sha256hex() { sha256sum | cut -d' ' -f1; }
# harness_anvil [ANVIL ARGS...]: starts anvil (chain id 84532, Base Sepolia's) on a free
# port with the given extra arguments, adds it to `pids`, sets U to its URL and waits
# until it answers eth_chainId. Returns 1 if it never does.
harness_anvil() {
  local port
  port=$(free_port)
  U=http://127.0.0.1:$port
  "$ANVIL" --host 127.0.0.1 --port "$port" --chain-id 84532 --silent "$@" &
  pids+=($!)
  for _ in $(seq 300); do
    case $(curl -s -m 2 -H 'Content-Type: application/json' \
      -d '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' "$U" 2>/dev/null) in
    *'"0x14a34"'*) return 0 ;;
    esac
    sleep 0.02
  done
  return 1
}
