#!/usr/bin/env bash
# Nothing that goes into the enclave image may name the direct-message endpoint: the
# sources of logd, merkle, anchor, collector and dstack, the deploy files, and the built
# logd and collector binaries. (tests/, client/ and the docs may name it.) A folder that
# should be scanned but is missing is a failure: an empty scan proves nothing.
set -u
root=${XT_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root" || exit 2
BIN=${BIN:-bin}
. "$root/tests/lib/harness.sh"
harness_init --no-anvil no-forbidden-endpoint
bin=$BIN
pattern='direct.\?message'
shipped=(logd merkle anchor collector dstack deploy)

# scan_sources DIR: one ok / not ok line per shipped folder under DIR.
scan_sources() {
  local top=$1 d hits
  for d in "${shipped[@]}"; do
    if [ ! -d "$top/$d" ]; then
      nok "$d/ missing: the folder to scan is not there"
      continue
    fi
    hits=$(grep -rIil -- "$pattern" "$top/$d" 2>/dev/null)
    if [ -n "$hits" ]; then
      nok "$d/ names the forbidden endpoint:"; echo "$hits" | sed "s|^$top/|#   |"
    else
      ok "$d/ sources do not name the forbidden endpoint"
    fi
  done
}

scan_sources "$root"

# The scan itself must work: on a copy of the layout with one folder missing and one
# naming the endpoint, it fails for exactly those two. Run in a subshell so its lines
# and failure count stay out of this test's own.
fake=$tmp/fake
for d in "${shipped[@]}"; do mkdir -p "$fake/$d"; echo 'int x;' >"$fake/$d/a.c"; done
rm -r "$fake/anchor"
echo '/* GET /api/direct_messages */' >"$fake/collector/a.c"
self=$(fails=0; scan_sources "$fake"; echo "fails=$fails")
if grep -q '^not ok - anchor/ missing' <<<"$self" && grep -q '^not ok - collector/ names the forbidden' <<<"$self" &&
   grep -q '^fails=2$' <<<"$self" && [ "$(grep -c '^ok - ' <<<"$self")" = 4 ]; then
  ok "the source scan fails on a missing folder and on a folder naming the endpoint"
else
  nok "the source scan fails on a missing folder and on a folder naming the endpoint"
  sed 's/^/#   /' <<<"$self"
fi

for b in logd collector; do
  f="$bin/$b"
  if [ ! -x "$f" ]; then
    nok "$f not built"
    continue
  fi
  # -a: binaries are searched as text, so strings in .rodata are found.
  if grep -aiq -- "$pattern" "$f"; then
    nok "$f contains the forbidden endpoint's name"
  else
    ok "$f does not contain the forbidden endpoint's name"
  fi
done

# The check itself must work: the test build's mock, which does name it, is caught.
if [ -x "$bin/mock-tiktok" ] && grep -aiq -- "$pattern" "$bin/mock-tiktok"; then
  ok "the check finds the name where it is expected (mock-tiktok)"
else
  nok "the check did not find the name in mock-tiktok (is the check broken?)"
fi

# The release collector has no option to change its destination.
if [ -x "$bin/collector" ]; then
  out=$("$bin/collector" --api-base http://127.0.0.1:1 --help 2>&1; "$bin/collector" --api-base http://127.0.0.1:1 2>&1)
  if "$bin/collector" --help 2>&1 | grep -q -- '--api-base' || ! echo "$out" | grep -q 'unknown option --api-base'; then
    nok "release collector accepts or mentions --api-base"
  else
    ok "release collector rejects --api-base"
  fi
  if grep -aq 'api-base' "$bin/collector"; then
    nok "release collector binary contains 'api-base'"
  else
    ok "release collector binary has no destination override"
  fi
fi
harness_done
