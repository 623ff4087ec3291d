#!/usr/bin/env bash
# Runs each libFuzzer binary given for FUZZ_SECONDS on a scratch copy of its seed
# corpus (tests/fuzz/corpus/<name>/), so the committed seeds stay small and chosen.
# Ends with "N passed, N failed" (a fuzzer passes when it found no crash).
set -u
cd "$(dirname "$0")/../.."
secs=${FUZZ_SECONDS:-30}
passed=0
failed=0
mkdir -p tests/fuzz/artifacts
for f in "$@"; do
  name=$(basename "$f")
  work=$(mktemp -d /tmp/xt-fuzz-$name.XXXXXX)
  [ -d "tests/fuzz/corpus/$name" ] && cp -r "tests/fuzz/corpus/$name/." "$work/" 2>/dev/null
  if "$f" -max_total_time="$secs" -print_final_stats=1 -artifact_prefix="tests/fuzz/artifacts/$name-" \
       "$work" >"$work.log" 2>&1; then
    execs=$(grep -m1 'stat::number_of_executed_units' "$work.log" | awk '{print $2}')
    echo "ok - $name ($secs s, ${execs:-?} runs)"
    passed=$((passed + 1))
  else
    echo "not ok - $name: crash, see $work.log and tests/fuzz/artifacts/"
    tail -30 "$work.log" | sed 's/^/    /'
    failed=$((failed + 1))
  fi
  rm -rf "$work"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
