#!/usr/bin/env bash
# Nothing that goes into the enclave image may name the direct-message endpoint: the
# sources of logd, merkle, anchor, collector and dstack, the deploy files, and the built
# logd and collector binaries. (tests/, client/ and the docs may name it.)
set -u
root=${XT_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
bin=${BIN:-bin}
cd "$root" || exit 2
fail=0
pattern='direct.\?message'

for d in logd merkle anchor collector dstack deploy; do
  if [ ! -d "$d" ]; then
    echo "ok - $d/ absent (nothing to ship)"
    continue
  fi
  hits=$(grep -rIil -- "$pattern" "$d" 2>/dev/null)
  if [ -n "$hits" ]; then
    echo "not ok - $d/ names the forbidden endpoint:"; echo "$hits" | sed 's/^/#   /'
    fail=1
  else
    echo "ok - $d/ sources do not name the forbidden endpoint"
  fi
done

for b in logd collector; do
  f="$bin/$b"
  if [ ! -x "$f" ]; then
    echo "not ok - $f not built"
    fail=1
    continue
  fi
  # -a: binaries are searched as text, so strings in .rodata are found.
  if grep -aiq -- "$pattern" "$f"; then
    echo "not ok - $f contains the forbidden endpoint's name"
    fail=1
  else
    echo "ok - $f does not contain the forbidden endpoint's name"
  fi
done

# The check itself must work: the test build's mock, which does name it, is caught.
if [ -x "$bin/mock-tiktok" ] && grep -aiq -- "$pattern" "$bin/mock-tiktok"; then
  echo "ok - the check finds the name where it is expected (mock-tiktok)"
else
  echo "not ok - the check did not find the name in mock-tiktok (is the check broken?)"
  fail=1
fi

# The release collector has no option to change its destination.
if [ -x "$bin/collector" ]; then
  out=$("$bin/collector" --api-base http://127.0.0.1:1 --help 2>&1; "$bin/collector" --api-base http://127.0.0.1:1 2>&1)
  if "$bin/collector" --help 2>&1 | grep -q -- '--api-base' || ! echo "$out" | grep -q 'unknown option --api-base'; then
    echo "not ok - release collector accepts or mentions --api-base"
    fail=1
  else
    echo "ok - release collector rejects --api-base"
  fi
  if grep -aq 'api-base' "$bin/collector"; then
    echo "not ok - release collector binary contains 'api-base'"
    fail=1
  else
    echo "ok - release collector binary has no destination override"
  fi
fi
exit $fail
