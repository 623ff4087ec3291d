# harness.sh: shared prologue of the shell tests that run real daemons.
# Source it from a test after setting `root` and `BIN`, then call
#   harness_init NAME PROGRAM...
# which makes $tmp (removed at exit unless KEEP is set), copies the programs into
# $B (= $tmp/bin) so parallel relinks of bin/ cannot break a running test, checks
# that $ANVIL exists, and stops every PID in the `pids` array at exit. It defines
# ok / nok / check / expect (the "ok - " / "not ok - " lines tests/run.sh counts,
# failures counted in $fails), free_port, stop_pid and sha256hex.

ANVIL="$root/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"
pids=()
fails=0

harness_init() {
  local name=$1 f
  shift
  tmp=$(mktemp -d "/tmp/xt-$name.XXXXXX")
  mkdir -p "$tmp/bin"
  for f in "$@"; do
    cp "$BIN/$f" "$tmp/bin/" 2>/dev/null || { echo "not ok - $name: $BIN/$f missing (make all-tests)"; rm -rf "$tmp"; exit 1; }
  done
  [ -x "$ANVIL" ] || { echo "not ok - $name: anvil missing (make deps)"; rm -rf "$tmp"; exit 1; }
  B=$tmp/bin
  trap harness_cleanup EXIT
}

harness_cleanup() {
  local p
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
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
stop_pid() { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; }
sha256hex() { sha256sum | cut -d' ' -f1; }
