#!/usr/bin/env bash
# Runs every test program given as an argument, then every tests/*.test.sh, and
# counts their "ok - ..." / "not ok - ..." lines. A program that exits non-zero
# without reporting a failure, or that times out, counts as one failure.
# Ends with the line CI reads: "N passed, N failed".
set -u
here=$(cd "$(dirname "$0")" && pwd)
export XT_ROOT=$(cd "$here/.." && pwd)
export BIN=${BIN:-bin}
timeout_s=${XT_TEST_TIMEOUT:-600}
passed=0
failed=0
failures=()
logdir=$(mktemp -d /tmp/xt-test-logs.XXXXXX)

run_one() {
  local name=$1; shift
  local log="$logdir/$(basename "$name").log"
  local start=$(date +%s%N)
  timeout -k 10 "$timeout_s" "$@" >"$log" 2>&1
  local rc=$?
  local ok nok
  ok=$(grep -c '^ok - ' "$log")
  nok=$(grep -c '^not ok - ' "$log")
  if [ "$rc" -ne 0 ] && [ "$nok" -eq 0 ]; then
    nok=1
    echo "not ok - $name exited with status $rc" >>"$log"
  fi
  passed=$((passed + ok))
  failed=$((failed + nok))
  local ms=$(( ($(date +%s%N) - start) / 1000000 ))
  printf '%-34s %4d passed %3d failed  %5d.%01ds\n' "$(basename "$name")" "$ok" "$nok" $((ms / 1000)) $((ms % 1000 / 100))
  if [ "$nok" -ne 0 ]; then
    failures+=("$name")
    grep -v '^ok - ' "$log" | tail -n 40 | sed 's/^/    /'
  fi
}

for t in "$@"; do
  run_one "$t" "$t"
done
for s in "$here"/*.test.sh; do
  [ -e "$s" ] || continue
  [ "${XT_TEST_SCRIPTS:-1}" = 0 ] && break
  run_one "$s" bash "$s"
done

echo "logs: $logdir"
if [ ${#failures[@]} -gt 0 ]; then
  echo "failed programs: ${failures[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
