#!/usr/bin/env bash
# Static analysis (issue 9): cppcheck (warning, portability, performance) and
# clang-tidy (checks in .clang-tidy) over every C source in the tree. Findings listed
# in tests/lint-baseline.txt (one line per individual finding, each with its reason)
# are tolerated; any other finding fails, also a new finding of a kind and file that
# already has a baselined one. Prints ok/not ok lines; takes ~3 min on 2 cores, so
# .ci/run calls it after the tests rather than tests/run.sh.
#
#   bash tests/lint.sh [FILE.c...]    only these files (default: every C source)
#   LINT_PRINT=1 bash tests/lint.sh   also prints every finding's baseline key
#
# A finding's key is "FILE CHECK FINGERPRINT". The fingerprint does not contain the
# line number: five branches edit these files in parallel, and line numbers drift with
# every merge, which would fail the lint on findings nobody touched. Instead it is the
# first 12 hex digits of SHA-256 over the analyzer's message and the flagged source
# line with its white space removed, then "-N" for the N-th finding with the same
# (file, check, fingerprint). Editing the flagged line itself, or adding a second
# identical finding in the same file, makes a new key: the finding is triaged again.
set -u
cd "$(dirname "$0")/.."
jobs=${LINT_JOBS:-2}
baseline_file=${LINT_BASELINE:-tests/lint-baseline.txt}
out=$(mktemp -d /tmp/xt-lint.XXXXXX)
trap '[ -n "${LINT_KEEP:-}" ] || rm -rf "$out"' EXIT
if [ $# -gt 0 ]; then
  files=$(printf '%s\n' "$@")
else
  files=$( { git ls-files '*.c'; git ls-files --others --exclude-standard '*.c'; } | grep -v '^anchor/contracts/build/' | sort -u)
fi
failed=0

# Baseline lines: "FILE CHECK FINGERPRINT REASON..."; '#' lines and blank lines skipped.
# A line without a reason is itself a failure: every tolerated finding says why.
grep -v '^#' "$baseline_file" | sed '/^[[:space:]]*$/d' >"$out/baseline.lines"
awk 'NF < 4' "$out/baseline.lines" >"$out/baseline.bad"
awk 'NF >= 3 { print $1, $2, $3 }' "$out/baseline.lines" | sort -u >"$out/baseline.keys"

# keys FINDINGS: one "FILE CHECK FINGERPRINT<TAB>FILE:LINE: MESSAGE" line per
# "file:line:col: sev: msg [check]" line of FINDINGS, in file and line order.
keys() {
  sed -nE 's/^([^:]+):([0-9]+):[0-9]+: [a-z]+: (.*) \[([A-Za-z0-9_.-]+)[],].*$/\1\t\2\t\4\t\3/p' "$1" |
    sort -t$'\t' -k1,1 -k2,2n -u |
    while IFS=$'\t' read -r f line check msg; do
      src=$(sed -n "${line}p" "$f" 2>/dev/null | tr -d '[:space:]')
      fp=$(printf '%s\n%s' "$msg" "$src" | sha256sum | cut -c1-12)
      printf '%s %s %s\t%s:%s: %s\n' "$f" "$check" "$fp" "$f" "$line" "$msg"
    done |
    awk -F'\t' '{ n[$1]++; print $1 "-" n[$1] "\t" $2 }'
}

report() { # tool, findings file ("file:line:col: severity: message [check]" lines)
  local tool=$1 full=$2 new n
  keys "$full" >"$out/$tool.found"
  cut -f1 "$out/$tool.found" | sort -u >"$out/$tool.keys"
  [ -n "${LINT_PRINT:-}" ] && sed "s/^/# $tool finding: /; s/\t/   /" "$out/$tool.found"
  new=$(comm -23 "$out/$tool.keys" "$out/baseline.keys")
  n=$(wc -l <"$out/$tool.keys")
  if [ -z "$new" ]; then
    echo "ok - $tool ($n findings, each in the baseline)"
  else
    echo "not ok - $tool: findings not in the baseline (fix them, or add the key with a reason):"
    while read -r k; do
      grep -F "$k"$'\t' "$out/$tool.found" | sed 's/^/    /; s/\t/   /'
    done <<<"$new"
    failed=$((failed + 1))
  fi
  cat "$out/$tool.keys" >>"$out/all.keys"
}

# cppcheck
cppcheck -q --enable=warning,portability,performance --inline-suppr --std=c11 -j"$jobs" \
  -D_GNU_SOURCE -DXT_VERSION='"0"' -I. \
  --template='{file}:{line}:{column}: {severity}: {message} [{id}]' $files 2>"$out/cppcheck.txt"
report cppcheck "$out/cppcheck.txt"

# clang-tidy
export XT_TIDY_FLAGS="-std=c11 -D_GNU_SOURCE -DXT_VERSION=\"0\" -I. $(pkg-config --cflags jansson libcurl libcrypto libmicrohttpd rocksdb libsecp256k1)"
printf '%s\n' $files | xargs -P"$jobs" -n6 sh -c 'clang-tidy -quiet "$@" -- $XT_TIDY_FLAGS 2>/dev/null' _ >"$out/tidy.txt"
grep -E '^[^ ]+:[0-9]+:[0-9]+: (warning|error): ' "$out/tidy.txt" | sed "s|^$PWD/||" | sort -u >"$out/tidy.findings"
report clang-tidy "$out/tidy.findings"

# The keying must tell apart two findings of one check in one file: a probe with two
# leaks, the first "baselined", must leave the second new.
probe=$out/probe.c
cat >"$probe" <<'PROBE'
#include <stdlib.h>
int leak_one(int n);
int leak_two(int n);
int leak_one(int n) { char *p = malloc(8); if (!p) return -1; p[0] = (char)n; return p[0]; }
int leak_two(int n) { char *q = malloc(16); if (!q) return -1; q[1] = (char)n; return q[1]; }
PROBE
clang-tidy -quiet --checks='-*,clang-analyzer-unix.Malloc' "$probe" -- -std=c11 2>/dev/null |
  grep -E '^[^ ]+:[0-9]+:[0-9]+: (warning|error): ' >"$out/probe.findings"
keys "$out/probe.findings" | cut -f1 | sort >"$out/probe.keys"
if [ "$(wc -l <"$out/probe.keys")" = 2 ] && [ "$(uniq "$out/probe.keys" | wc -l)" = 2 ] &&
   [ "$(head -n 1 "$out/probe.keys" | comm -23 "$out/probe.keys" - | wc -l)" = 1 ]; then
  echo "ok - keying: a second finding of a baselined check in the same file is new"
else
  echo "not ok - keying: two leaks in one file did not get two keys:"; sed 's/^/    /' "$out/probe.keys"
  failed=$((failed + 1))
fi

if [ -s "$out/baseline.bad" ]; then
  echo "not ok - baseline: lines without a reason (FILE CHECK FINGERPRINT REASON):"
  sed 's/^/    /' "$out/baseline.bad"
  failed=$((failed + 1))
else
  echo "ok - baseline: every tolerated finding has its reason"
fi
# Entries nothing matches any more (fixed, or their line was edited) are reported so
# they get removed; on a partial run most entries are simply out of scope.
if [ $# -eq 0 ]; then
  sort -u "$out/all.keys" | comm -13 - "$out/baseline.keys" | sed 's/^/# stale baseline entry (remove it): /'
fi

echo "$((4 - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
