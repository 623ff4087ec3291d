#!/usr/bin/env bash
# logd under I/O faults and slow clients. A real logd on 127.0.0.1 runs under libfiu's
# POSIX preload (fiu-run -x) while tests/lib/logd_load.py writes to it over HTTP; failures
# are switched on at run time (fiu-ctrl): fdatasync and write() failing with EIO, and
# write() failing with ENOSPC. Each time: logd refuses writes (503, 507 for a full
# disk) with a clear message, keeps refusing after the fault is gone (after a failed
# fsync nothing unsynced is trusted), keeps serving reads, signs nothing new, and
# after a restart (SIGTERM: exit 1, or kill -9) takes writes again. --min-free-mb: a
# nearly full disk (a file fills it) gives 507 and logd resumes by itself when the
# file goes. Then every acknowledged entry is checked for its exact bytes and every
# checkpoint ever served for consistency with the final tree (tlog entries and tlog
# consistency), and a client trickling a request is cut by --request-deadline.
# XT_FAULTS_LONG=1 (make faulttest): XT_FAULT_CYCLES (default 30) random faults,
# some at random probabilities, each followed by a restart.
set -u
root=${XT_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
BIN=${BIN:-bin}
cd "$root" || exit 2
. tests/lib/harness.sh
harness_init --no-anvil logd-faults logd tlog
T=$tmp
LOGD=$B/logd
TLOG=$B/tlog
D=$T/data
long=${XT_FAULTS_LONG:-0}

for p in fiu-run fiu-ctrl; do
  command -v $p >/dev/null || { nok "$p missing (make deps installs fiu-utils)"; exit 1; }
done

# libfiu's preload and AddressSanitizer both interpose malloc, and the process dies
# before main (libfiu calls a NULL real malloc during ASan's start): under `make
# sanitize` the injected faults are skipped, said so; the rest runs under ASan.
fiu_ok=1
if ldd "$LOGD" | grep -q libasan; then fiu_ok=0; fi

port=$(free_port)
URL=http://127.0.0.1:$port
echo "$URL" >"$T/url"
logd_pid=
# start_logd [--fiu] [LOGD ARGS...]: starts logd on $port (under fiu-run with --fiu)
# and waits until it answers; sets logd_pid.
start_logd() {
  local pre=()
  if [ "${1:-}" = --fiu ]; then
    [ $fiu_ok = 1 ] && pre=(fiu-run -x -f "$T/fiu")
    shift
  fi
  "${pre[@]}" "$LOGD" --dev --data "$D" --listen "127.0.0.1:$port" --origin example.org/xordi/faults \
    --checkpoint-interval-ms 50 --client-timeout 2 --request-deadline 3 "$@" >>"$T/logd.out" 2>&1 &
  logd_pid=$!
  pids+=($logd_pid)
  for _ in $(seq 1 100); do
    curl -sf "$URL/checkpoint" >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "# logd did not start:"; tail -n 20 "$T/logd.out" | sed 's/^/#   /'
  return 1
}
fiu() { timeout 10 fiu-ctrl -f "$T/fiu" -c "$1" "$logd_pid" >/dev/null 2>&1; }
# probe: one write; prints "STATUS ERROR-TEXT".
probe() {
  curl -s -m 10 -o "$T/probe" -w '%{http_code}' -H "Authorization: Bearer $(cat "$D/dev-token")" \
    --data-binary "{\"type\":\"probe\",\"n\":$RANDOM$RANDOM}" "$URL/v1/add" >"$T/probe.code"
  echo "$(cat "$T/probe.code") $(python3 -c 'import json,sys
try: print(json.load(open(sys.argv[1])).get("error", ""))
except Exception: print("")' "$T/probe")"
}
# wait_refused STATUS REGEX: until a write is refused so (10 s at most).
wait_refused() {
  local a
  for _ in $(seq 1 100); do
    a=$(probe)
    [[ $a =~ ^$1\ .*$2 ]] && return 0
    sleep 0.1
  done
  echo "# last answer: $a"
  return 1
}
logstate() { curl -s "$URL/v1/log" | python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["tree_size"], j["size"])'; }

# fault NAME FIU-COMMAND STATUS REGEX HOW: injects while the load runs, checks the
# refusal, lifts the fault, checks that it sticks, then restarts logd (HOW: term or kill).
fault() {
  local name=$1 cmd=$2 st=$3 re=$4 how=$5 s1 s2 rc
  if [ $fiu_ok = 0 ]; then ok "$name # SKIP libfiu cannot run under AddressSanitizer"; return; fi
  sleep 0.$((RANDOM % 8 + 2))
  fiu "$cmd" || { nok "$name: fiu-ctrl could not enable the fault"; return; }
  if wait_refused "$st" "$re"; then ok "$name: writes refused ($st, '$re')"; else nok "$name: writes refused ($st, '$re')"; fi
  fiu "disable name=$(sed 's/.*name=\([^,]*\).*/\1/' <<<"$cmd")" || nok "$name: fiu-ctrl could not lift the fault"
  sleep 0.3
  s1=$(logstate)
  [[ $(probe) =~ ^$st\ .*$re ]] && ok "$name: still refused once the fault is gone" || nok "$name: still refused once the fault is gone"
  expect "$name: /healthz says why" 0 "$re" -- curl -s "$URL/healthz"
  expect "$name: the published checkpoint is still served" 0 "^example.org/xordi/faults$" -- curl -sf "$URL/checkpoint"
  sleep 0.3
  s2=$(logstate)
  [ "$s1" = "$s2" ] && ok "$name: nothing new is published while refused ($s1)" || nok "$name: published while refused ($s1 -> $s2)"
  if [ "$how" = term ]; then
    kill "$logd_pid"; wait "$logd_pid"; rc=$?
    [ "$rc" = 1 ] && ok "$name: SIGTERM after the failure exits 1" || nok "$name: SIGTERM after the failure exits $rc, want 1"
  else
    kill -9 "$logd_pid"; wait "$logd_pid" 2>/dev/null
  fi
  start_logd --fiu || { nok "$name: restart"; return; }
  [[ $(probe) =~ ^200 ]] && ok "$name: writes taken again after the restart" || nok "$name: writes taken again after the restart"
}

start_logd --fiu || { nok "start logd under fiu-run"; exit 1; }
mkdir -p "$T/load"
python3 tests/lib/logd_load.py load "$T/url" "$D/dev-token" "$T/load" "$T/stop" 4 &
load_pid=$!
pids+=($load_pid)
sleep 1

section "faults under load"
fault "fdatasync EIO" "enable name=posix/io/sync/fdatasync,failinfo=5" 503 "storage failed" term
fault "write EIO" "enable name=posix/io/rw/write,failinfo=5" 503 "storage failed" kill
fault "write ENOSPC" "enable name=posix/io/rw/write,failinfo=28" 507 "disk full" kill

if [ "$long" = 1 ]; then
  cycles=${XT_FAULT_CYCLES:-30}
  section "long mode: $cycles random faults"
  for c in $(seq 1 "$cycles"); do
    case $((RANDOM % 6)) in
    0) fault "cycle $c fdatasync EIO" "enable name=posix/io/sync/fdatasync,failinfo=5" 503 "storage failed" term ;;
    1) fault "cycle $c fdatasync EIO 30%" "enable_random name=posix/io/sync/fdatasync,failinfo=5,probability=0.3" 503 "storage failed" kill ;;
    2) fault "cycle $c write EIO" "enable name=posix/io/rw/write,failinfo=5" 503 "storage failed" kill ;;
    3) fault "cycle $c write EIO 20%" "enable_random name=posix/io/rw/write,failinfo=5,probability=0.2" 503 "storage failed" term ;;
    4) fault "cycle $c write ENOSPC" "enable name=posix/io/rw/write,failinfo=28" 507 "disk full" term ;;
    5) fault "cycle $c write ENOSPC 20%" "enable_random name=posix/io/rw/write,failinfo=28,probability=0.2" 507 "disk full" kill ;;
    esac
  done
fi

section "a nearly full disk (--min-free-mb)"
# logd refuses below (free now - 1 GiB); a 4 GiB file then takes the disk well under
# that (other processes may move the free space a little meanwhile).
avail_mb=$(( $(df -Pk "$T" | awk 'NR==2 {print $4}') / 1024 ))
if [ "$avail_mb" -lt 6144 ]; then
  ok "nearly full disk # SKIP only $avail_mb MiB free here, 6 GiB needed"
else
  kill "$logd_pid"; wait "$logd_pid" # exits 1: storage failed before (ENOSPC)
  start_logd --min-free-mb $((avail_mb - 1024)) || nok "restart with --min-free-mb"
  [[ $(probe) =~ ^200 ]] && ok "writes taken with space above --min-free-mb" || nok "writes taken with space above --min-free-mb"
  fallocate -l 4G "$T/filler" 2>/dev/null || head -c $((4096 << 20)) /dev/zero >"$T/filler"
  if wait_refused 507 "disk nearly full"; then ok "nearly full: writes refused (507)"; else nok "nearly full: writes refused (507)"; fi
  expect "nearly full: /healthz says why" 0 "disk nearly full" -- curl -s "$URL/healthz"
  s1=$(logstate); sleep 0.3; s2=$(logstate)
  [ "$s1" = "$s2" ] && ok "nearly full: nothing new is logged ($s1)" || nok "nearly full: logged while refused ($s1 -> $s2)"
  rm -f "$T/filler"
  a=
  for _ in $(seq 1 50); do a=$(probe); [[ $a =~ ^200 ]] && break; sleep 0.1; done
  [[ $a =~ ^200 ]] && ok "space back: writes taken again without a restart" || nok "space back: writes taken again without a restart ($a)"
fi

section "verify"
touch "$T/stop"
wait "$load_pid"
kill "$logd_pid"; wait "$logd_pid"
start_logd || { nok "final start"; exit 1; }
# A checkpoint covering every entry (the restart's boot entry included).
for _ in $(seq 1 100); do
  read -r ts cs <<<"$(logstate)"
  [ "$ts" = "$cs" ] && break
  sleep 0.05
done
python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); [print("# %6d  %s" % (n, k[:150])) for k, n in sorted(a.items())]' "$T/load/answers.json"
for st in $([ $fiu_ok = 1 ] && echo 503) 507; do
  grep -q "\"$st " "$T/load/answers.json" && ok "the load saw $st answers" || nok "the load saw no $st answer"
done
"$TLOG" entries --log "$URL" --key "$D/verifier-key" --json >"$T/entries.json" 2>"$T/entries.err"
check "tlog entries verifies the whole log against its checkpoint" test $? = 0
check "every acknowledged entry holds its exact bytes, none logged twice" \
  python3 tests/lib/logd_load.py verify "$T/load" "$T/entries.json"
n=0 bad=0
for f in "$T"/load/notes/*; do
  n=$((n + 1))
  "$TLOG" consistency --log "$URL" --key "$D/verifier-key" --old "$f" --quiet 2>>"$T/consistency.err" || bad=$((bad + 1))
done
[ "$n" -gt 0 ] && [ "$bad" = 0 ] && ok "all $n checkpoints served are consistent with the final tree" ||
  { nok "checkpoints consistent with the final tree ($bad of $n not)"; head -n 5 "$T/consistency.err" | sed 's/^/#   /'; }

section "a client trickling a request is cut (--request-deadline 3, --client-timeout 2)"
# trickle WHAT: a request sent one byte every 0.4 s (under the idle timeout); prints
# the seconds until logd closed the connection, or "never" after 15 s.
trickle() {
  python3 - "$port" "$1" "$(cat "$D/dev-token")" <<'EOF'
import socket, sys, time
port, what, tok = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.create_connection(("127.0.0.1", port))
head = "POST /v1/add HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: 100\r\n\r\n" % tok
if what == "headers":
    slow = head.encode()
else:
    s.sendall(head.encode())
    slow = b"x" * 100
t0 = time.monotonic()
s.settimeout(0.4)
for i in range(len(slow)):
    if time.monotonic() - t0 > 15:
        print("never"); sys.exit(0)
    try:
        s.send(slow[i:i + 1])
        if s.recv(4096) == b"":
            break
    except socket.timeout:
        continue
    except OSError:
        break
print("%.1f" % (time.monotonic() - t0))
EOF
}
for what in headers body; do
  t=$(trickle $what)
  if [ "$t" != never ] && python3 -c "import sys; sys.exit(not 2.5 <= float(sys.argv[1]) <= 6)" "$t"; then
    ok "trickled $what cut after ${t}s"
  else
    nok "trickled $what cut after 2.5..6 s (got $t)"
  fi
done
expect "the cuts are counted in /metrics" 0 "logd_http_deadline_cuts_total [2-9]" -- curl -s "$URL/metrics"
[[ $(probe) =~ ^200 ]] && ok "logd still serves after the cuts" || nok "logd still serves after the cuts"
kill "$logd_pid"; wait "$logd_pid"; rc=$?
[ "$rc" = 0 ] && ok "logd stops cleanly (exit 0)" || { nok "logd stops cleanly (exit $rc)"; tail -n 20 "$T/logd.out" | sed 's/^/#   /'; }

harness_done
