#!/usr/bin/env bash
# CI check of `make demo`: runs a shortened demo (10 users, fewer rounds) non-interactively
# and checks its verdict lines; then makes a step fail, and interrupts it in the middle
# (SIGTERM; Ctrl-C), and checks that nothing it started is left running each time.
set -u
root=${XT_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root" || exit 2
BIN=${BIN:-bin}
. "$root/tests/lib/harness.sh"
# The demo checks its own dependencies (anvil included) and builds what it runs.
harness_init --no-anvil demo-test
out=$tmp/out
pid=
# A demo still running when this test ends (a failed check, a signal) is stopped.
harness_at_exit() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; }
has() { # has NAME REGEX: a line of the demo's output matches
  if grep -qE -- "$2" "$out"; then ok "$1"; else nok "$1 (no line matching '$2')"; fi
}
# Nothing the demo started may outlive it: its private binaries live under its work
# directory and anvil listens on the chain port it printed.
left_behind() {
  local w port
  w=$(sed -n 's/.*work directory \(\/tmp\/xordi-demo\.[A-Za-z0-9]*\).*/\1/p' "$out" | head -n 1)
  port=$(sed -n 's/.*anvil answers chain id 84532 at http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$out" | head -n 1)
  [ -n "$w" ] && ps -eo args= | grep -F -- "$w/" | grep -v grep && return 0
  [ -n "$port" ] && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && echo "anvil still on port $port" && return 0
  return 1
}

start=$(date +%s)
# 240 s: on a fresh clone the demo first downloads the locked Debian packages of its images.
XT_DEMO_USERS=10 XT_DEMO_SHORT=1 timeout -k 5 240 bash tests/demo.sh >"$out" 2>&1
rc=$?
secs=$(($(date +%s) - start))
if [ "$rc" -eq 0 ]; then ok "short demo exits 0 in ${secs} s"; else nok "short demo exits 0 (exit $rc after ${secs} s)"; fi
has "demo ends with DEMO OK" '^DEMO OK: [0-9]+ of [0-9]+ steps had their expected outcome'
has "the compose is rendered on the images' real digests, not all-zero ones" 'EXPECTED  images built without a container runtime \((built|reused[^)]*)\): logd sha256:[0-9a-f]{64}, collector sha256:[0-9a-f]{64}$'
has "Phala's SDK agrees on the compose hash" "EXPECTED  Phala's SDK \(getComposeHash\) agrees on the compose hash"
grep -qE 'images built .*sha256:0{64}' "$out" && nok "an all-zero image digest in the demo" || ok "no all-zero image digest in the demo"
has "10 credentials submitted" 'EXPECTED  10 credentials submitted'
has "collector's user-count statement says 10, signature verified" "EXPECTED  collector's user-count statement: 10 users, Ed25519 signature ok"
has "path traversal towards direct messages refused with 400" 'EXPECTED  Archive asks the collector for a path-traversal username -> HTTP 400'
has "rogue submitter's entry accepted by logd" 'EXPECTED  rogue submitter logs an api_call intent to direct messages -> HTTP 200, index [0-9]+'
has "mock TikTok saw zero direct-message requests" 'EXPECTED  record: 0 requests to direct messages'
has "anchors on chain" 'EXPECTED  [0-9]+ anchors of the log on chain'
has "audit of the honest day passes" 'EXPECTED  audit of day 1 PASSED \(exit 0\)'
has "audit report shows 10 users" '^   \|     [0-9]{4}-[0-9]{2} +10 users'
has "audit including the rogue entry fails naming it" 'EXPECTED  audit of both days FAILED \(exit 1\), naming entry [0-9]+ as outside the policy'
has "audit report names direct messages" '^   \| FAIL  \(d\) entry [0-9]+ names direct messages'
has "the same log fails a production policy, naming the test build" "EXPECTED  the same log FAILS a production policy \\(exit 1\\)"
has "... the FAIL line names the collector's build and egress" "^   \\| FAIL  \\(collector\\) boot entry [0-9]+: build 'test' with egress 'GET 127.0.0.1:[0-9]+/api/watch_history'"
has "hostile scene: a compose hash added and removed fails, naming block and tx" "^   \\| FAIL  \\(kms\\) DstackApp allowed compose hash [0-9a-f]{64}, which the policy's releases do not list \\(block [0-9]+, tx 0x[0-9a-f]{64}\\)"
has "bundle verified offline" 'EXPECTED  verify-bundle offline \(exit 0\)'
has "bundle verified against the chain" 'EXPECTED  verify-bundle against the chain \(exit 0\)'
has "logd anchors by itself" '^   anchoring: +by logd \(--anchor-interval'
has "logd in enclave mode against the simulator" '^   logd mode: +enclave mode'
has "logd's boot quote binds its keys and the compose hash" "EXPECTED  logd's boot quote \(--allow-simulated\): compose hash is this repo's"
has "the collector's simulated quote is refused without --allow-simulated" "EXPECTED  tlog verify-quote refuses the collector's boot quote: status simulated"
has "an anchored checkpoint's quote binds the on-chain note" 'EXPECTED  anchored checkpoint [0-9]+: its quote'
has "audit (e): boot compose hashes allowed by the KMS contract" "EXPECTED  audit \(e\): every boot entry's compose hash \([0-9]+ entries\) is this repo's and allowed by the KMS contract"
has "audit from the bundle with no network at all" 'EXPECTED  audit from the bundle alone: day 1 INCOMPLETE'
has "the chain stopped at the end" 'EXPECTED  the local chain stopped too'
has "logd and the collector exit 0 on SIGTERM" 'EXPECTED  logd and the collector exit 0 on SIGTERM'
if grep -q -- '--allow-simulated' <<<"$(bin/tlog audit --help 2>&1)"; then
  has "audit refuses simulated quotes unless told" 'EXPECTED  audit without --allow-simulated FAILS on the code identity'
fi
has "audit --bundle after logd is gone" 'EXPECTED  audit --bundle: day 1 PASSED, days 1-2 FAILED'
has "audit --log MIRROR after logd is gone (issue 16)" 'EXPECTED  audit --log MIRROR after logd stopped: day 1 PASSED from the mirror alone'
has "audit --log MIRROR with no chain, only the object store running" 'EXPECTED  audit --log MIRROR with the bundle.s anchors, no chain: day 1 INCOMPLETE'
if grep -q UNEXPECTED "$out"; then nok "no UNEXPECTED outcome"; grep UNEXPECTED "$out" | sed 's/^/#   /'; else ok "no UNEXPECTED outcome"; fi
if left=$(left_behind); then nok "no process left behind"; printf '#   %s\n' "$left"; else ok "no process left behind"; fi
w=$(sed -n 's/.*work directory \(\/tmp\/xordi-demo\.[A-Za-z0-9]*\).*/\1/p' "$out" | head -n 1)
if [ "$rc" -eq 0 ] && [ -n "$w" ] && [ -e "$w" ]; then nok "work directory removed after a passing run"; else ok "work directory removed after a passing run"; fi
[ "$rc" -eq 0 ] || sed 's/^/#   /' "$out" | tail -n 40

# Interrupted in the middle (while the Archive runs): SIGTERM to the demo's shell alone
# (its trap must stop everything), then SIGINT to its whole process group, as Ctrl-C
# on a terminal does. Job control gives the demo its own group (and keeps SIGINT from
# being ignored, as it is for background jobs without it).
interrupt() { # interrupt NAME SIGNAL TARGET-PREFIX ("" for the shell, "-" for its group)
  set -m
  # If this script itself was started with SIGINT ignored (a background job of a
  # non-interactive shell, as CI may start it), the demo would inherit SIG_IGN and
  # bash cannot trap a signal ignored on entry: restore the default first.
  XT_DEMO_USERS=10 XT_DEMO_SHORT=1 env --default-signal=INT bash tests/demo.sh >"$out" 2>&1 &
  pid=$!
  set +m
  for _ in $(seq 600); do grep -q '^== 4\.' "$out" && break; sleep 0.05; done
  kill "-$2" -- "$3$pid" 2>/dev/null
  for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  if kill -0 "$pid" 2>/dev/null; then nok "$1: demo stops within 10 s"; kill -KILL "$pid"; else ok "$1: demo stops within 10 s"; fi
  wait "$pid" 2>/dev/null
  pid=
  if left=$(left_behind); then nok "$1: no process left behind"; printf '#   %s\n' "$left"; else ok "$1: no process left behind"; fi
  grep -q '^interrupted' "$out" && ok "$1: the demo says it was interrupted" || nok "$1: the demo says it was interrupted"
  local w
  w=$(sed -n 's/.*work directory \(\/tmp\/xordi-demo\.[A-Za-z0-9]*\).*/\1/p' "$out" | head -n 1)
  [ -n "$w" ] && [ -e "$w" ] && { nok "$1: work directory removed"; rm -rf "$w"; } || ok "$1: work directory removed"
}
# A failing step (dstack-sim's sample data missing, after the chain started): exit 1,
# DEMO FAILED naming the step, nothing left running, the work directory kept.
XT_TESTDATA=/nonexistent XT_DEMO_USERS=2 XT_DEMO_SHORT=1 timeout -k 5 60 bash tests/demo.sh >"$out" 2>&1
rc=$?
if [ "$rc" -eq 1 ] && grep -q '^DEMO FAILED at step 2: dstack-sim needs the TDX sample data' "$out"; then
  ok "a failing step: exit 1, DEMO FAILED names it"
else
  nok "a failing step: exit 1, DEMO FAILED names it (exit $rc)"; tail -n 5 "$out" | sed 's/^/#   /'
fi
if left=$(left_behind); then nok "a failing step: no process left behind"; printf '#   %s\n' "$left"; else ok "a failing step: no process left behind"; fi
w=$(sed -n 's/.*work directory \(\/tmp\/xordi-demo\.[A-Za-z0-9]*\).*/\1/p' "$out" | head -n 1)
if [ -n "$w" ] && [ -d "$w" ]; then ok "a failing step: work directory kept"; rm -rf "$w"; else nok "a failing step: work directory kept"; fi

interrupt "SIGTERM to the demo" TERM ""
interrupt "Ctrl-C (SIGINT to its process group)" INT "-"
harness_done
