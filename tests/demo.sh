#!/usr/bin/env bash
# shellcheck disable=SC2034 # many variables are read only by ok_if's eval
# make demo: the whole story on one machine, non-interactively, in under 3 minutes.
#
#   local chain (anvil) + TreeHeadAnchor   dstack simulator (this repo's compose hash)
#   logd (enclave mode, anchoring itself)  mock TikTok API (records every request)
#   collector (test build)                 a scripted Archive (curl) and a rogue submitter
#   then: tlog anchor list, tlog audit, tlog export, everything stopped,
#   tlog verify-bundle and tlog audit --bundle on what is left.
#
# Environment: XT_DEMO_USERS (default 50), XT_DEMO_SHORT=1 (fewer rounds and anchors,
# for CI), XT_DEMO_KEEP=1 (keep the work directory), XT_DEMO_DEV=1 (logd in --dev mode
# with an anchor key file instead of enclave mode), XT_TESTDATA (the directory holding
# dstack-sim's tdx/ samples), BIN (bin/san under make sanitize).
# Everything runs on 127.0.0.1 under one temporary work directory, which is printed.
# Every process the demo starts is stopped by its PID on exit, on failure and on Ctrl-C.
# Exit status 0 only if every step had its expected outcome; the work directory is
# removed after a passing run and kept after a failing one.
set -u
ROOT=${XT_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$ROOT" || exit 2
USERS=${XT_DEMO_USERS:-50}
SHORT=${XT_DEMO_SHORT:-0}
if [ "$SHORT" = 1 ]; then ROUNDS=2 ANCHOR_INTERVAL=1 MIN_ANCHORS=3; else ROUNDS=3 ANCHOR_INTERVAL=3 MIN_ANCHORS=4; fi
T0=$(date +%s)
W=$(mktemp -d /tmp/xordi-demo.XXXXXX) || exit 2
ANVIL_BIN=$ROOT/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil

# ---------------------------------------------------------------- output helpers
if [ -t 1 ]; then B=$'\e[1m' G=$'\e[32m' R=$'\e[31m' N=$'\e[0m'; else B='' G='' R='' N=''; fi
STEP=0
section() { STEP=$((STEP + 1)); printf '\n%s== %d. %s ==%s\n' "$B" "$STEP" "$1" "$N"; }
say() { printf '   %s\n' "$*"; }
show() { sed 's/^/   | /'; } # indented output of a tool
show_run() { # show_run NAME: NAME.txt (stdout), then NAME.err (stderr) but for the
  # "verification failed" lines the report repeats as FAIL lines
  show <"$1.txt"
  [ -s "$1.err" ] && grep -v 'verification failed' "$1.err" | show
  return 0
}
CHECKS=0 FAILED=0 FAILS=()
pass() { CHECKS=$((CHECKS + 1)); printf '   %sEXPECTED%s  %s\n' "$G" "$N" "$1"; }
fail() { CHECKS=$((CHECKS + 1)); FAILED=$((FAILED + 1)); FAILS+=("$1"); printf '   %sUNEXPECTED%s %s\n' "$R" "$N" "$1"; }
check() { local name=$1; shift; if "$@"; then pass "$name"; else fail "$name"; fi; }
ok_if() { if eval "$2"; then pass "$1"; else fail "$1"; fi; } # ok_if NAME 'SHELL CONDITION'

die() { fail "$1"; printf '\n%sDEMO FAILED%s at step %d: %s (work dir kept: %s)\n' "$R" "$N" "$STEP" "$1" "$W"; KEEP=1; exit 1; }
verdict() { case $1 in 0) echo PASSED ;; 1) echo FAILED ;; incomplete) echo INCOMPLETE ;; *) echo "could not run (exit $1)" ;; esac; }
elapsed() { echo $(($(date +%s) - T0)); }

# ---------------------------------------------------------------- processes
PIDS=() NAMES=()
KEEP=${XT_DEMO_KEEP:-0}
spawn() { # spawn NAME LOGFILE CMD...: start in the background, remember the PID
  local name=$1 log=$2
  shift 2
  "$@" >"$log" 2>&1 &
  PIDS+=($!) NAMES+=("$name")
}
stop_pid() { # stop_pid PID: TERM, wait up to 5 s, then KILL; returns its exit status
  local p=$1 i
  kill -0 "$p" 2>/dev/null || { wait "$p" 2>/dev/null; return; }
  kill -TERM "$p" 2>/dev/null
  for i in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
  wait "$p" 2>/dev/null
}
stop_named() { # stop_named NAME: stop that one process (by its PID), forget it, set STOPPED_RC
  local i
  STOPPED_RC=
  for i in "${!NAMES[@]}"; do
    if [ "${NAMES[$i]}" = "$1" ]; then
      stop_pid "${PIDS[$i]}"
      STOPPED_RC=$?
      unset 'PIDS[i]' 'NAMES[i]'
    fi
  done
}
cleanup() {
  local i
  trap - EXIT INT TERM
  for i in "${!PIDS[@]}"; do stop_pid "${PIDS[$i]}"; done
  if [ "$KEEP" = 1 ]; then echo "work directory kept: $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'echo; echo "interrupted"; KEEP=${XT_DEMO_KEEP:-0}; exit 130' INT TERM

# jv EXPR [FILE]: a value from JSON (stdin or FILE); EXPR is Python over `d`; prints
# nothing when the JSON or the value is missing (python3, which make deps ensures).
jv() {
  python3 -c 'import json,sys
try:
    import hashlib
    d=json.load(open(sys.argv[2]) if len(sys.argv)>2 else sys.stdin); r=eval(sys.argv[1])
except Exception: r=None
print("" if r is None else r)' "$@"
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { local i; for i in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }
wait_http() { local i; for i in $(seq 200); do curl -sf -m 2 "$1" >/dev/null 2>&1 && return 0; sleep 0.05; done; return 1; }
rpc() { curl -s -m 5 -H 'Content-Type: application/json' -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$1\",\"params\":${2:-[]}}" "$RPC"; }

printf '%sxordi-tlog demo%s: %s users, %s collection rounds; work directory %s\n' "$B" "$N" "$USERS" "$ROUNDS" "$W"

# Private copies of the binaries: a parallel `make` may relink bin/ while this runs.
mkdir -p "$W/bin"
# BIN (set by tests/run.sh, e.g. bin/san under make sanitize) picks the build, else bin/.
for f in tlog logd collector-test mock-tiktok dstack-sim; do
  src=$ROOT/${BIN:-bin}/$f
  [ -x "$src" ] || src=$ROOT/bin/$f
  cp "$src" "$W/bin/$f" 2>/dev/null || die "bin/$f is not built (run make)"
done
BIN=$W/bin
TLOG=$BIN/tlog
[ -x "$ANVIL_BIN" ] || die "anvil is missing: $ANVIL_BIN (run make deps)"
command -v python3 >/dev/null || die "python3 is missing (run make deps)"

# Does this logd anchor by itself, and run against a dstack guest agent? (Checked, not assumed.)
LOGD_HELP=$("$BIN/logd" --help 2>&1)
grep -q -- '--anchor-rpc' <<<"$LOGD_HELP" || die "this logd cannot anchor (no --anchor-rpc in logd --help)"
LOGD_ENCLAVE=1
[ "${XT_DEMO_DEV:-0}" = 1 ] && LOGD_ENCLAVE=0
[ "$LOGD_ENCLAVE" = 0 ] || grep -q -- '--dstack-socket' <<<"$LOGD_HELP" || die "this logd has no enclave mode (no --dstack-socket in logd --help)"

# ================================================================ 1. chain
section "Local chain: anvil (chain id 84532), TreeHeadAnchor deployed"
PORT_CHAIN=$(free_port)
RPC=http://127.0.0.1:$PORT_CHAIN
spawn anvil "$W/anvil.log" "$ANVIL_BIN" --host 127.0.0.1 --port "$PORT_CHAIN" --chain-id 84532 --prune-history --silent
for _ in $(seq 300); do case $(rpc eth_chainId 2>/dev/null) in *'"0x14a34"'*) break ;; esac; sleep 0.02; done
case $(rpc eth_chainId) in *'"0x14a34"'*) pass "anvil answers chain id 84532 at $RPC" ;; *) die "anvil did not start" ;; esac
# anvil's well-known dev keys: #0 deploys and owns the contract, #1 is the anchorer in dev mode.
echo ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80 >"$W/owner.key"
echo 59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d >"$W/anchorer.key"
chmod 600 "$W/owner.key" "$W/anchorer.key"
CONTRACT=$("$TLOG" anchor deploy --rpc "$RPC" --private-key "$W/owner.key" 2>"$W/deploy.err") || { show <"$W/deploy.err"; die "tlog anchor deploy"; }
pass "tlog anchor deploy: TreeHeadAnchor at $CONTRACT"
CONTRACT_BLOCK=$(rpc eth_blockNumber | jv 'int(d["result"], 16)')
ORIGIN=demo.xordi.example/tlog/v1
say "log origin: $ORIGIN (log id = SHA-256 of it)"

# ================================================================ 2. dstack simulator
section "Release: the compose hash of deploy/, allowed on the app's KMS contract; dstack simulator"
# The release's images (deploy/images/build-images.sh: OCI layouts from bin/logd,
# bin/collector and the committed package lock, SOURCE_DATE_EPOCH = HEAD's commit time,
# as `make release` builds them), kept in build/images and reused while their inputs are
# unchanged; then the compose file rendered on their digests exactly as deploy/release.sh
# does without --image-repo (example.invalid references: the hash is this commit's
# release's, not a deployable one's).
IMG=$ROOT/build/images
mkdir -p "$W/compose" "$W/img-bin"
for f in logd collector; do cp "$ROOT/bin/$f" "$W/img-bin/$f" 2>/dev/null || die "bin/$f is not built (run make)"; done
EPOCH=$(git log -1 --format=%ct HEAD 2>/dev/null) || EPOCH=${SOURCE_DATE_EPOCH:-}
LOCK=deploy/images/packages.lock
build_images() { bash deploy/images/build-images.sh --bin "$W/img-bin" --lock "$LOCK" --epoch "$EPOCH" --out "$IMG" --reuse >"$W/images.digests" 2>"$W/images.log"; }
if ! build_images; then
  grep -q 'cannot fetch' "$W/images.log" || { tail -n 5 "$W/images.log" | show; die "deploy/images/build-images.sh"; }
  # Debian's archive serves only the newest versions: with a lock it no longer serves,
  # the demo builds from a lock made now, and says its hash is not the committed release's.
  say "(Debian's archive no longer serves the committed lock's versions: images from a lock made now, \`make lock\`)"
  LOCK=$W/packages.lock
  bash deploy/images/make-lock.sh --bin "$W/img-bin" --out "$LOCK" 2>"$W/lock.log" || { show <"$W/lock.log"; die "deploy/images/make-lock.sh"; }
  build_images || { tail -n 5 "$W/images.log" | show; die "deploy/images/build-images.sh"; }
fi
LOGD_DIGEST=$(sed -n 's/^logd //p' "$W/images.digests")
COLLECTOR_DIGEST=$(sed -n 's/^collector //p' "$W/images.digests")
ok_if "images built without a container runtime ($(grep -q reusing "$W/images.log" && echo 'reused from build/images: same inputs' || echo built)): logd $LOGD_DIGEST, collector $COLLECTOR_DIGEST" \
  '[ -n "$LOGD_DIGEST" ] && [ -n "$COLLECTOR_DIGEST" ]'
bash deploy/render-compose.sh --logd-image "example.invalid/xordi-tlog/logd@$LOGD_DIGEST" \
  --collector-image "example.invalid/xordi-tlog/collector@$COLLECTOR_DIGEST" --allow-placeholders \
  --out "$W/compose/docker-compose.yml" >"$W/compose/render.log" 2>&1 || { show <"$W/compose/render.log"; die "deploy/render-compose.sh"; }
HASH_LINE=$(bash deploy/make-app-compose.sh "$W/compose/docker-compose.yml" --tlog "$TLOG" 2>"$W/compose/make.err") || { show <"$W/compose/make.err"; die "deploy/make-app-compose.sh"; }
COMPOSE_HASH=${HASH_LINE#compose-hash }
check "deploy/make-app-compose.sh: compose hash $COMPOSE_HASH" [ "$COMPOSE_HASH" = "$("$TLOG" compose-hash "$W/compose/app-compose.json")" ]
SDK_HASH=$(node -e 'const {getComposeHash}=require("@phala/dstack-sdk"); console.log(getComposeHash(JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"))))' "$W/compose/app-compose.json" 2>/dev/null)
check "Phala's SDK (getComposeHash) agrees on the compose hash" [ "$SDK_HASH" = "$COMPOSE_HASH" ]
# `make release` of this commit, when its output is here and bin/ is its build: the
# manifest names the same images and compose hash.
REL_SAME=$(jv 'd["commit"] == sys.argv[3] and all(d["binaries"]["bin/" + p]["sha256"] == hashlib.sha256(open(sys.argv[4] + "/" + p, "rb").read()).hexdigest() for p in ("logd", "collector")) and d["package_lock"]["file"] == "deploy/images/packages.lock"' \
  release/manifest.json "$(git rev-parse HEAD 2>/dev/null)" "$W/img-bin")
if [ "$REL_SAME" = True ] && [ "$LOCK" = deploy/images/packages.lock ]; then
  ok_if "= make release's image digests and compose hash (release/manifest.json)" \
    '[ "$(jv "\" \".join([d[\"images\"][\"logd\"][\"digest\"], d[\"images\"][\"collector\"][\"digest\"], d[\"compose\"][\"hash\"]])" release/manifest.json)" = "$LOGD_DIGEST $COLLECTOR_DIGEST $COMPOSE_HASH" ]'
else
  say "(not compared with make release: no release/manifest.json of this commit's binaries here)"
fi
# The release step that allows this compose hash: the app's DstackApp contract (dstack's
# KMS releases keys only to CVMs whose compose hash it allows). Here the stand-ins of
# dstack's KMS contracts (tests/kms/KmsStandins.sol), deployed as dstack deploys them:
# DstackKms behind its proxy, the DstackApp created by its factory (no compose hash
# yet); the transaction that allows the hash is the one
# deploy/prepare-add-compose-hash.sh prepares, sent from the app owner's account
# (anvil's dev account #0, unlocked on anvil).
APP_OWNER=0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266
send_tx() { # send_tx TX-JSON: eth_sendTransaction, wait for the receipt, print it
  local h i r
  h=$(rpc eth_sendTransaction "[$1]" | jv 'd["result"]')
  [ -n "$h" ] || return 1
  for i in $(seq 100); do
    r=$(rpc eth_getTransactionReceipt "[\"$h\"]")
    [ -n "$(jv 'd["result"]["status"]' <<<"$r")" ] && { echo "$r"; return 0; }
    sleep 0.02
  done
  return 1
}
node tests/kms/policy-kms.js deploy "$RPC" "$(printf '0%.0s' $(seq 64))" "" >"$W/kms.json" 2>"$W/standin.err" || true
APP=$(jv 'd["app"]' "$W/kms.json" 2>/dev/null)
KMS=$(jv 'd["kms"]' "$W/kms.json" 2>/dev/null)
[ -n "$APP" ] && [ -n "$KMS" ] || { show <"$W/standin.err"; die "deploy the stand-in DstackKms and DstackApp contracts"; }
say "DstackKms $KMS, DstackApp $APP (created by the KMS's factory)"
bash deploy/prepare-add-compose-hash.sh --app "$APP" --hash "$COMPOSE_HASH" --chain-id 84532 >"$W/add-compose-hash.json" ||
  die "deploy/prepare-add-compose-hash.sh"
say "deploy/prepare-add-compose-hash.sh: $(cat "$W/add-compose-hash.json")"
ST=$(send_tx "{\"from\":\"$APP_OWNER\",\"to\":\"$APP\",\"data\":\"$(jv 'd["data"]' "$W/add-compose-hash.json")\"}" | jv 'd["result"]["status"]')
check "the app owner sends it: the stand-in DstackApp at $APP allows the compose hash (ComposeHashAdded)" [ "$ST" = 0x1 ]

SOCK=$W/dstack.sock
SIM_ARGS=(--socket "$SOCK" --app-compose "$W/compose/app-compose.json" --app-id "$APP")
TD=${XT_TESTDATA:-$ROOT/tests/data}/tdx
[ -f "$TD/sim-quote.hex" ] || die "dstack-sim needs the TDX sample data: $TD (set XT_TESTDATA to the testdata directory)"
SIM_ARGS+=(--testdata "$TD")
spawn dstack-sim "$W/dstack-sim.log" "$BIN/dstack-sim" "${SIM_ARGS[@]}"
dstack() { curl -s -m 5 --unix-socket "$SOCK" -X POST "http://dstack/$1" -H 'Content-Type: application/json' -d "$2"; }
for _ in $(seq 100); do [ -S "$SOCK" ] && dstack Info '{}' >/dev/null 2>&1 && break; sleep 0.05; done
[ -S "$SOCK" ] || { tail -n 5 "$W/dstack-sim.log" | show; die "dstack-sim did not start"; }
SIM_HASH=$(dstack Info '{}' | jv 'd["compose_hash"]')
check "dstack-sim Info reports that compose hash (measured into RTMR3)" [ "$SIM_HASH" = "$COMPOSE_HASH" ]
say "(simulated quotes: well-formed, signatures that never verify; every verifier says 'simulated')"
# The KMS owner allows the simulator's OS image (its hash read from a quote).
dstack GetQuote '{"report_data":"00"}' >"$W/sim-quote.json"
"$TLOG" verify-quote --report "$W/sim-quote.json" --allow-simulated --json >"$W/sim-quote-check.json" 2>/dev/null
OS_IMAGE=$(jv 'd["os_image_hash"]["event"]' "$W/sim-quote-check.json")
KMS_ID=$(jv 'd["key_provider"]["id"]' "$W/sim-quote-check.json")
node tests/kms/policy-kms.js route "$RPC" "$KMS" "$APP" os "$OS_IMAGE" >"$W/kms-os.json" 2>>"$W/standin.err"
check "the KMS owner allows the OS image $OS_IMAGE (OsImageHashAdded)" [ -n "$(jv 'd["txs"][0]["tx"]' "$W/kms-os.json" 2>/dev/null)" ]

# ================================================================ 3. logd, mock TikTok, collector
section "logd, mock TikTok API and collector (test build)"
PORT_LOGD=$(free_port) PORT_MOCK=$(free_port) PORT_COL=$(free_port)
LOG_URL=http://127.0.0.1:$PORT_LOGD
COL_URL=http://127.0.0.1:$PORT_COL
# Submitters: the collector (its token is GetKey-derived inside the enclave: the compose
# file's getkey: form) and a rogue process with a token of its own.
COL_TOKEN_PATH=xordi-tlog/logd/submitter-token/collector/v1
ROGUE_TOKEN=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
if [ "$LOGD_ENCLAVE" = 1 ]; then
  grep -v '^#' deploy/logd-submitters >"$W/submitters" # the deployed file, as is
else # --dev logd cannot ask GetKey: the same token, computed here from the simulator
  COL_TOKEN=$(dstack GetKey "{\"path\":\"$COL_TOKEN_PATH\",\"purpose\":\"logd-submitter-token\",\"algorithm\":\"secp256k1\"}" | jv 'd["key"]')
  printf 'collector %s\n' "$COL_TOKEN" >"$W/submitters"
fi
printf 'rogue %s\n' "$ROGUE_TOKEN" >>"$W/submitters"
chmod 600 "$W/submitters"

# logd's anchor address, registered before logd starts (so its first round anchors). In
# enclave mode logd's anchor key is GetKey's for its path; only because this is a
# simulator can the demo compute its address beforehand (and it checks below that
# logd's boot entry names the same one).
if [ "$LOGD_ENCLAVE" = 1 ]; then
  dstack GetKey '{"path":"xordi-tlog/logd/anchor/v1","purpose":"anchor","algorithm":"secp256k1"}' | jv 'd["key"]' >"$W/enclave-anchor.key"
  ANCHORER=$("$TLOG" anchor address --private-key "$W/enclave-anchor.key")
  rm -f "$W/enclave-anchor.key"
  # Its address holds no ETH on a fresh chain: test ETH (anvil only; on Base the
  # operator funds it).
  rpc anvil_setBalance "[\"$ANCHORER\",\"0x56BC75E2D63100000\"]" >/dev/null
  say "logd's anchor address (GetKey in the enclave): $ANCHORER, funded with 100 test ETH"
else
  ANCHORER=$("$TLOG" anchor address --private-key "$W/anchorer.key")
fi
[ -n "$ANCHORER" ] || die "could not learn the anchor address"
"$TLOG" anchor register --rpc "$RPC" --private-key "$W/owner.key" --contract "$CONTRACT" --origin "$ORIGIN" --anchorer "$ANCHORER" >"$W/register.log" 2>&1 ||
  { show <"$W/register.log"; die "tlog anchor register"; }
pass "tlog anchor register: $ORIGIN may be anchored only by $ANCHORER"

LOGD_ARGS=(--data "$W/logd" --listen "127.0.0.1:$PORT_LOGD" --origin "$ORIGIN" --submitters "$W/submitters" --checkpoint-interval-ms 200)
if [ "$LOGD_ENCLAVE" = 1 ]; then LOGD_ARGS+=(--dstack-socket "$SOCK"); LOGD_MODE="enclave mode (keys and quotes from the simulator)"
else LOGD_ARGS+=(--dev); LOGD_MODE="--dev mode (XT_DEMO_DEV=1: keys generated on disk, no quotes)"; fi
LOGD_ARGS+=(--anchor-rpc "$RPC" --anchor-contract "$CONTRACT" --anchor-interval "$ANCHOR_INTERVAL")
[ "$LOGD_ENCLAVE" = 1 ] || LOGD_ARGS+=(--anchor-key "$W/anchorer.key")
# The public mirror (issue 16): logd copies its log to a local S3 server (s3rver, npm),
# and the offline audit at the end reads it after everything else has stopped.
PORT_S3=$(free_port)
MIRROR_URL=http://127.0.0.1:$PORT_S3/demo-mirror/log
mkdir -p "$W/s3"
spawn s3rver "$W/s3rver.log" "$ROOT/node_modules/.bin/s3rver" -d "$W/s3" -a 127.0.0.1 -p "$PORT_S3" --silent --configure-bucket demo-mirror
wait_http "http://127.0.0.1:$PORT_S3/" || die "s3rver did not start"
printf 'aws_access_key_id = S3RVER\naws_secret_access_key = S3RVER\n' >"$W/mirror-credentials"
LOGD_ARGS+=(--mirror s3://demo-mirror/log --mirror-endpoint "http://127.0.0.1:$PORT_S3" --mirror-credentials "$W/mirror-credentials")
spawn logd "$W/logd.log" "$BIN/logd" "${LOGD_ARGS[@]}"
wait_http "$LOG_URL/healthz" || { tail -n 20 "$W/logd.log" | show; die "logd did not start"; }
VKEY=$(curl -s "$LOG_URL/v1/log" | jv 'd["verifier_key"]')
echo "$VKEY" >"$W/verifier-key"
pass "logd up at $LOG_URL, $LOGD_MODE"
say "checkpoint verifier key: $VKEY"
# logd's own boot entry (when this logd writes one): its keys and code identity.
LOGD_BOOT=$(curl -s "$LOG_URL/v1/entries?start=0&count=1" | jv '(lambda e: json.dumps(e["event"]) if e["event"].get("type") == "boot" and e.get("submitter") == "logd" else None)(json.loads(d["entries"][0]["entry"]))')
if [ -n "$LOGD_BOOT" ]; then
  say "logd boot entry 0: $(jv '"component %s, version %s, compose_hash %s.., anchor_address %s, quote_sha256 %s.." % (d["component"], d["version"], d["compose_hash"][:16], d["anchor_address"], d["quote_sha256"][:16])' <<<"$LOGD_BOOT")"
  ok_if "logd's boot entry names the registered anchor address" \
    '[ "$(jv "d[\"anchor_address\"].lower()" <<<"$LOGD_BOOT")" = "$(echo "$ANCHORER" | tr A-F a-f)" ]'
fi
if [ "$LOGD_ENCLAVE" = 1 ]; then
  # Code identity of logd: its boot quote carries the compose hash and binds the
  # checkpoint key and the anchor address; the boot entry names the quote's SHA-256.
  curl -s "$LOG_URL/v1/attestation" >"$W/logd-attestation.json"
  "$TLOG" verify-quote --report "$W/logd-attestation.json" --allow-simulated --json >"$W/vq-logd.json" 2>"$W/vq-logd.err"
  rc=$?
  WANT_RD=$(python3 -c 'import base64,hashlib,sys
pub = base64.b64decode(sys.argv[1].split("+", 2)[2])[1:]  # base64 may hold "+"
addr = bytes.fromhex(sys.argv[2][2:])
print(hashlib.sha256(b"xordi-tlog-boot-v1logd" + pub + addr).hexdigest() + "00" * 32)' "$VKEY" "$ANCHORER")
  QUOTE_SHA=$(jv 'hashlib.sha256(bytes.fromhex(d["quote"])).hexdigest()' "$W/logd-attestation.json")
  ok_if "logd's boot quote (--allow-simulated): compose hash is this repo's, report_data binds its checkpoint key and anchor address" \
    '[ "$rc" = 0 ] && [ "$(jv "d[\"compose_hash\"]" "$W/vq-logd.json")" = "$COMPOSE_HASH" ] && [ "$(jv "d[\"report_data\"]" "$W/vq-logd.json")" = "$WANT_RD" ]'
  ok_if "logd's boot entry names that quote's SHA-256, the compose hash and the verifier key" \
    '[ "$(jv "d[\"quote_sha256\"]" <<<"$LOGD_BOOT")" = "$QUOTE_SHA" ] && [ "$(jv "d[\"compose_hash\"]" <<<"$LOGD_BOOT")" = "$COMPOSE_HASH" ] && [ "$(jv "d[\"checkpoint_key\"]" <<<"$LOGD_BOOT")" = "$VKEY" ]'
fi
say "logd anchors its newest checkpoint every $ANCHOR_INTERVAL s (--anchor-interval)"

wait_anchored() { # wait_anchored SIZE SECONDS: until an anchor covers SIZE entries
  local want=$1 t=$(($(date +%s) + $2)) s
  while [ "$(date +%s)" -le "$t" ]; do
    s=$("$TLOG" anchor status --rpc "$RPC" --contract "$CONTRACT" --origin "$ORIGIN" --json 2>/dev/null | jv 'd.get("size") or 0')
    [ "${s:-0}" -ge "$want" ] && return 0
    sleep 0.5
  done
  return 1
}
tree_size() { curl -s "$LOG_URL/v1/log" | jv 'd["tree_size"]'; }
anchored_now() { # anchored_now WHAT: wait for an anchor covering the whole log
  local n
  n=$(tree_size)
  if wait_anchored "$n" 30; then say "anchored: $1 (size $n)"; else fail "an anchor covering $1 (size $n) within 30 s"; fi
}

spawn mock-tiktok "$W/mock-tiktok.log" "$BIN/mock-tiktok" --listen "127.0.0.1:$PORT_MOCK" --record "$W/tiktok-record.jsonl"
wait_port "$PORT_MOCK" || die "mock-tiktok did not start"
ARCHIVE_TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
ARCHIVE_SHA=$(printf '%s' "$ARCHIVE_TOKEN" | sha256sum | cut -d' ' -f1)
spawn collector "$W/collector.log" "$BIN/collector-test" --listen "127.0.0.1:$PORT_COL" --data "$W/collector" \
  --logd "$LOG_URL" --logd-token "getkey:$COL_TOKEN_PATH" --archive-token "sha256:$ARCHIVE_SHA" \
  --dstack-socket "$SOCK" --api-base "http://127.0.0.1:$PORT_MOCK"
for _ in $(seq 200); do grep -q '^listening ' "$W/collector.log" && break; sleep 0.05; done
grep -q '^listening ' "$W/collector.log" || { tail -n 20 "$W/collector.log" | show; die "collector did not start"; }
pass "collector up at $COL_URL: $(grep -m1 '^listening ' "$W/collector.log")"
BOOT_INDEX=$(curl -s "$COL_URL/v1/attestation" | jv 'd["boot_index"]')
say "collector boot entry at log index $BOOT_INDEX"
# Code identity: the collector's boot quote (from the simulator) must carry this
# repository's compose hash and bind the collector's signing key; the boot entry in the
# log must name the same compose hash and the quote's SHA-256.
curl -s "$COL_URL/v1/attestation" >"$W/collector-attestation.json"
jv 'd["quote"]' "$W/collector-attestation.json" >"$W/collector-quote.hex"
jv 'd["event_log"]' "$W/collector-attestation.json" >"$W/collector-eventlog.json"
"$TLOG" verify-quote --quote "$W/collector-quote.hex" --event-log "$W/collector-eventlog.json" --json >"$W/vq.json" 2>"$W/vq.err"
rc=$?
ok_if "tlog verify-quote refuses the collector's boot quote: status $(jv 'd["status"]' "$W/vq.json") (exit $rc; a simulator is not a TDX machine)" \
  '[ "$rc" = 1 ] && [ "$(jv "d[\"status\"]" "$W/vq.json")" = simulated ]'
"$TLOG" verify-quote --quote "$W/collector-quote.hex" --event-log "$W/collector-eventlog.json" --allow-simulated --json >"$W/vq-sim.json" 2>"$W/vq-sim.err"
rc=$?
WANT_RD=$(python3 -c 'import hashlib,sys; print(hashlib.sha256(b"xordi-tlog-boot-v1collector" + bytes.fromhex(sys.argv[1])).hexdigest() + "00" * 32)' "$(jv 'd["signing_key"]' "$W/collector-attestation.json")")
QUOTE_SHA=$(python3 -c 'import hashlib,sys; print(hashlib.sha256(bytes.fromhex(open(sys.argv[1]).read().strip())).hexdigest())' "$W/collector-quote.hex")
BOOT_EVENT=$(curl -s "$LOG_URL/v1/entries?start=$BOOT_INDEX&count=1" | jv 'json.dumps(json.loads(d["entries"][0]["entry"])["event"])')
ok_if "with --allow-simulated: RTMR3 replays to compose hash $(jv 'd["compose_hash"]' "$W/vq-sim.json" | cut -c1-16).. (this repo's) and report_data binds the collector's key" \
  '[ "$rc" = 0 ] && [ "$(jv "d[\"compose_hash\"]" "$W/vq-sim.json")" = "$COMPOSE_HASH" ] && [ "$(jv "d[\"report_data\"]" "$W/vq-sim.json")" = "$WANT_RD" ]'
ok_if "boot entry $BOOT_INDEX names that compose hash and the quote's SHA-256" \
  '[ "$(jv "d[\"compose_hash\"]" <<<"$BOOT_EVENT")" = "$COMPOSE_HASH" ] && [ "$(jv "d[\"quote_sha256\"]" <<<"$BOOT_EVENT")" = "$QUOTE_SHA" ]'
say "mock TikTok API at 127.0.0.1:$PORT_MOCK records every request it receives"

# ================================================================ 4. Archive + rogue
section "A scripted Archive: $USERS users' credentials, watch history collected $ROUNDS times"
archive() { # archive METHOD PATH [BODY] -> prints the HTTP status; the answer goes to $W/last.json
  curl -s --path-as-is -o "$W/last.json" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $ARCHIVE_TOKEN" \
    -H 'Content-Type: application/json' ${3:+--data-binary "$3"} "$COL_URL$2"
}
uname_of() { printf 'demo_user_%03d' "$1"; } # mock-tiktok's user for cookie sessionid=<name>-secret
bad=0
for i in $(seq 1 "$USERS"); do
  u=$(uname_of "$i")
  [ "$(archive POST /v1/credentials "{\"username\":\"$u\",\"cookie\":\"sessionid=$u-secret\"}")" = 200 ] || bad=$((bad + 1))
done
check "$USERS credentials submitted (each logged as credential_intake before it was stored)" [ "$bad" = 0 ]
anchored_now "the credential intakes"
COLLECTS=0
for r in $(seq "$ROUNDS"); do
  bad=0
  for i in $(seq 1 "$USERS"); do
    if [ "$(archive POST /v1/collect "{\"username\":\"$(uname_of "$i")\",\"count\":20}")" = 200 ]; then COLLECTS=$((COLLECTS + 1)); else bad=$((bad + 1)); fi
  done
  check "round $r: $USERS watch-history collections (intent logged before each call, result after)" [ "$bad" = 0 ]
  anchored_now "round $r"
done
[ "$(archive GET /v1/user-count)" = 200 ] && UC=$(jv 'd["count"]' "$W/last.json") || UC='?'
cp "$W/last.json" "$W/user-count.json"
# The statement's Ed25519 signature, checked with openssl against the collector's key
# (the key its boot quote binds).
python3 -c 'import base64,json,sys
d = json.load(open(sys.argv[1])); w = sys.argv[2]
open(w + "/uc-statement", "wb").write(d["statement"].encode())
open(w + "/uc-signature", "wb").write(bytes.fromhex(d["signature"]))
der = bytes.fromhex("302a300506032b6570032100" + d["public_key"])
open(w + "/uc-key.pem", "w").write("-----BEGIN PUBLIC KEY-----\n" + base64.b64encode(der).decode() + "\n-----END PUBLIC KEY-----\n")' "$W/user-count.json" "$W" 2>/dev/null
UC_SIG=bad
openssl pkeyutl -verify -pubin -inkey "$W/uc-key.pem" -rawin -in "$W/uc-statement" -sigfile "$W/uc-signature" >/dev/null 2>&1 &&
  [ "$(jv 'd["public_key"]' "$W/user-count.json")" = "$(jv 'd["signing_key"]' "$W/collector-attestation.json")" ] && UC_SIG=ok
ok_if "collector's user-count statement: $UC users, Ed25519 signature $UC_SIG (the key its boot quote binds), logged at index $(jv 'd["index"]' "$W/user-count.json")" \
  '[ "$UC" = "$USERS" ] && [ "$UC_SIG" = ok ]'
say "statement: $(cat "$W/uc-statement")"

say ""
say "${B}Rogue attempts at direct messages${N}"
code=$(archive POST /v1/collect '{"username":"../../api/direct_messages"}')
msg=$(jv 'd["error"]' "$W/last.json")
check "Archive asks the collector for a path-traversal username -> HTTP $code ($msg)" [ "$code" = 400 ]
code=$(archive DELETE /v1/credentials/../../api/direct_messages)
ok_if "Archive sends a traversal path to the credentials endpoint -> HTTP $code" '[ "$code" = 400 ] || [ "$code" = 404 ]'
# Everything honest so far must be anchored before the rogue entry (the audit's windows
# are made of anchors), so an auditor can tell the honest period from the rogue one.
HONEST_SIZE=$(tree_size)
check "every honest entry (size $HONEST_SIZE) anchored on chain before the rogue step" wait_anchored "$HONEST_SIZE" 30
# The honest period is "day 1"; the local chain's clock is moved one day on, so the
# rogue entry's anchor falls on day 2 by block time (the only time the audit trusts).
DAY1=$(date -u -d "@$(rpc eth_getBlockByNumber '["latest",false]' | jv 'int(d["result"]["timestamp"], 16)')" +%F)
rpc evm_increaseTime '[86400]' >/dev/null
rpc evm_mine >/dev/null
DAY2=$(date -u -d "$DAY1 + 1 day" +%F)
say "local chain clock moved one day on: day 1 = $DAY1 (honest), day 2 = $DAY2 (rogue)."
say "(audit windows are days of block time, the only clock the audit trusts: moving the"
say " test chain's clock lets the demo show an honest day and a rogue day in seconds)"
SOME_USER=$(curl -s "$LOG_URL/v1/entries?start=$BOOT_INDEX&count=5" | jv '[e["event"]["user"] for e in (json.loads(x["entry"]) for x in d["entries"]) if e["event"]["type"] == "credential_intake"][0]')
ROGUE_EVENT="{\"type\":\"api_call\",\"phase\":\"intent\",\"call_id\":\"rogue-1\",\"user\":\"$SOME_USER\",\"endpoint\":\"direct_messages\",\"method\":\"GET\",\"host\":\"www.tiktok.com\",\"path\":\"/api/direct_messages\"}"
code=$(curl -s -o "$W/rogue.json" -w '%{http_code}' -H "Authorization: Bearer $ROGUE_TOKEN" -H 'Content-Type: application/json' \
  --data-binary "$ROGUE_EVENT" "$LOG_URL/v1/add")
ROGUE_INDEX=$(jv 'd["index"]' "$W/rogue.json")
check "rogue submitter logs an api_call intent to direct messages -> HTTP $code, index $ROGUE_INDEX (logd logs what it is told; the audit judges)" [ "$code" = 200 ]
curl -s -o /dev/null -H "Authorization: Bearer $ROGUE_TOKEN" -H 'Content-Type: application/json' \
  --data-binary '{"type":"api_call","phase":"result","call_id":"rogue-1","status":200,"bytes":0,"body_sha256":"00"}' "$LOG_URL/v1/add"
# A few more honest collections on day 2.
bad=0
for i in $(seq 1 3); do
  if [ "$(archive POST /v1/collect "{\"username\":\"$(uname_of "$i")\"}")" = 200 ]; then COLLECTS=$((COLLECTS + 1)); else bad=$((bad + 1)); fi
done
check "day 2: 3 more honest collections" [ "$bad" = 0 ]

say ""
say "${B}What the mock TikTok API actually received${N}"
record() { # record PYTHON-CONDITION-ON-r: how many recorded requests match
  python3 -c 'import json,re,sys
rs=[json.loads(l) for l in open(sys.argv[2]) if l.strip()]
print(sum(1 for r in rs if eval(sys.argv[1])))' "$1" "$W/tiktok-record.jsonl"
}
DM=$(record 'r["endpoint"] == "direct_messages" or re.search("direct.?message", r["path"] + r["query"], re.I)')
WH=$(record 'r["endpoint"] == "watch_history" and r["method"] == "GET" and r["path"] == "/api/watch_history"')
ALL=$(wc -l <"$W/tiktok-record.jsonl")
ok_if "record: $ALL requests, $WH of them GET /api/watch_history (one per collection: $COLLECTS)" '[ "$WH" = "$COLLECTS" ] && [ "$ALL" = "$WH" ]'
check "record: $DM requests to direct messages" [ "$DM" = 0 ]

# ================================================================ 5. anchors
section "Anchors on chain"
FINAL_SIZE=$(tree_size)
wait_anchored "$FINAL_SIZE" 30 || fail "the final size $FINAL_SIZE was anchored within 30 s"
"$TLOG" anchor list --rpc "$RPC" --contract "$CONTRACT" --origin "$ORIGIN" >"$W/anchors.txt" 2>&1
show <"$W/anchors.txt"
"$TLOG" anchor list --rpc "$RPC" --contract "$CONTRACT" --origin "$ORIGIN" --json >"$W/anchors.json" 2>/dev/null
ANCHORS=$(jv 'len(d)' "$W/anchors.json"); ANCHORS=${ANCHORS:-0}
LAST_ANCHORED=$(jv 'd[-1]["size"]' "$W/anchors.json")
# The rogue period ends with the last anchor's block day (day 2, or day 3 if the demo
# ran across midnight UTC).
LAST_DAY=$(date -u -d "@$(jv 'd[-1]["time"]' "$W/anchors.json")" +%F 2>/dev/null) || LAST_DAY=$DAY2
[ "$LAST_DAY" \> "$DAY2" ] && DAY2=$LAST_DAY
ok_if "$ANCHORS anchors of the log on chain (at least $MIN_ANCHORS), the last covering all $FINAL_SIZE entries" \
  '[ "$ANCHORS" -ge "$MIN_ANCHORS" ] && [ "$LAST_ANCHORED" = "$FINAL_SIZE" ]'

if [ "$LOGD_ENCLAVE" = 1 ]; then
  # Every anchored checkpoint is attested: a quote whose report_data binds the exact
  # signed note whose SHA-256 is on chain.
  for _ in $(seq 100); do
    [ "$(curl -s -o "$W/cp-attestation.json" -w '%{http_code}' "$LOG_URL/v1/attestation?size=$LAST_ANCHORED")" = 200 ] && break
    sleep 0.1
  done
  "$TLOG" verify-quote --report "$W/cp-attestation.json" --allow-simulated --json >"$W/vq-cp.json" 2>"$W/vq-cp.err"
  rc=$?
  NOTE_SHA=$(jv 'hashlib.sha256(d["checkpoint"].encode()).hexdigest()' "$W/cp-attestation.json")
  WANT_RD=$(jv 'hashlib.sha256(b"xordi-tlog-checkpoint-v1" + d["checkpoint"].encode()).hexdigest() + "00" * 32' "$W/cp-attestation.json")
  ok_if "anchored checkpoint $LAST_ANCHORED: its quote (/v1/attestation?size=$LAST_ANCHORED) binds the note whose SHA-256 is the on-chain checkpoint_hash" \
    '[ "$rc" = 0 ] && [ "$NOTE_SHA" = "$(jv "d[-1][\"checkpoint_hash\"]" "$W/anchors.json")" ] && [ "$(jv "d[\"report_data\"]" "$W/vq-cp.json")" = "$WANT_RD" ]'
fi

# ================================================================ 6. audit
section "tlog audit against the live log and the chain"
# The auditor's policy (SPEC.md 6.3): this demo's release, the simulator's OS image
# (MRTD and RTMR0-2 from its Info) and KMS id, the stand-in contracts, and an egress
# rule and a collector build that name the test build and its local mock explicitly (a
# production policy names www.tiktok.com and, having no "collector" member, allows the
# release build alone). The demo builds the release's images and compose but not its
# manifest.json (no second clean build, as `make release` does): the SHA-256 of its
# app-compose.json stands in as the manifest digest. The evidence keys: the anchor contract with the
# keccak-256 of its runtime code (EXTCODEHASH, from eth_getCode) and its deployment
# block; max_anchor_gap and ts_ms_tolerance_s of two days, only because the demo moves
# the chain's clock a day on (a production policy allows minutes to hours).
CODE_HASH=$(rpc eth_getCode "[\"$CONTRACT\",\"latest\"]" | jv 'd["result"]' |
  node -e "const {ethers}=require('ethers'); let s=''; process.stdin.on('data',d=>s+=d).on('end',()=>console.log(ethers.keccak256(s.trim())))")
dstack_info=$(curl -s -m 5 --unix-socket "$SOCK" -X POST http://dstack/Info -H 'Content-Type: application/json' -d '{}' 2>/dev/null)
node -e '
const [w, ch, os, kid, mock, commit, info, anchor, codehash, block] = process.argv.slice(1);
const fs = require("fs"), crypto = require("crypto");
const k = JSON.parse(fs.readFileSync(w + "/kms.json", "utf8")), t = JSON.parse(JSON.parse(info).tcb_info);
const sha = crypto.createHash("sha256").update(fs.readFileSync(w + "/compose/app-compose.json")).digest("hex");
fs.writeFileSync(w + "/policy.json", JSON.stringify({
  egress: { allow: [{ endpoint: "watch_history", method: "GET", path: "/api/watch_history", host: mock }] },
  collector: { builds: [{ build: "test", egress: "GET " + mock + "/api/watch_history" }] },
  releases: [{ compose_hash: ch, manifest_sha256: sha, commit }],
  platform: { os_images: [{ os_image_hash: os, vm_shape: "dstack-sim", mrtd: t.mrtd, rtmr0: t.rtmr0, rtmr1: t.rtmr1, rtmr2: t.rtmr2 }],
              kms_id: kid },
  contracts: { dstack_app: { address: k.app, implementations: [k.app_impl], created_block: k.app_created },
               dstack_kms: { address: k.kms, implementations: [k.kms_impl], created_block: k.kms_created },
               anchor: { address: anchor, bytecode_hash: codehash, deployment_block: Number(block) } },
  max_anchor_gap: 172800, ts_ms_tolerance_s: 172800 }, null, 2) + "\n");
' "$W" "$COMPOSE_HASH" "$OS_IMAGE" "$KMS_ID" "127.0.0.1:$PORT_MOCK" "$(git rev-parse HEAD 2>/dev/null || printf '0%.0s' $(seq 40))" "$dstack_info" \
  "$CONTRACT" "$CODE_HASH" "$CONTRACT_BLOCK" 2>"$W/policy.err" ||
  { show <"$W/policy.err"; die "write the audit policy"; }
AUD=(--key "$W/verifier-key" --rpc "$RPC" --contract "$CONTRACT" --policy "$W/policy.json")
say "(--policy $W/policy.json: releases, OS image, KMS and contracts, the anchor contract's code and the evidence limits; DstackApp $APP, each boot entry's compose hash checked against it)"
# When tlog audit checks the quotes behind the code identity (checked in its --help, not
# assumed), simulated quotes or a --dev log pass only when named: first without, then with.
SIMFLAG=()
if grep -q -- '--allow-simulated' <<<"$("$TLOG" audit --help 2>&1)"; then
  if [ "$LOGD_ENCLAVE" = 1 ]; then SIMFLAG=(--allow-simulated); else SIMFLAG=(--allow-dev --allow-simulated); fi
  "$TLOG" audit --log "$LOG_URL" "${AUD[@]}" --from "$DAY1" --to "$DAY1" --quiet >"$W/audit-nosim.txt" 2>"$W/audit-nosim.err"
  rc=$?
  say "${B}Day 1 without ${SIMFLAG[*]}${N}: the quotes come from a simulator, not a TDX machine"
  grep -E '^FAIL' "$W/audit-nosim.txt" | head -n 4 | show
  n=$(grep -c '^FAIL' "$W/audit-nosim.txt")
  [ "$n" -gt 4 ] && say "| ... ($n failures)"
  ok_if "audit without ${SIMFLAG[*]} FAILS on the code identity (exit $rc): a simulator is not a TDX machine" \
    '[ "$rc" = 1 ] && grep -qiE "^FAIL.*(simulat|dev)" "$W/audit-nosim.txt"'
  AUD+=("${SIMFLAG[@]}")
  say "from here on: ${SIMFLAG[*]} (a real deployment's auditor gives --collateral instead)"
fi
say "${B}Day 1 only ($DAY1): the honest period${N}"
"$TLOG" audit --log "$LOG_URL" "${AUD[@]}" --from "$DAY1" --to "$DAY1" --quiet \
  --report "$W/report-day1.html" --summary "$W/summary-day1.md" >"$W/audit-day1.txt" 2>"$W/audit-day1.err"
rc=$?
show_run "$W/audit-day1"
AUDIT1=$rc
ok_if "audit of day 1 PASSED (exit $rc)" '[ "$rc" = 0 ] && grep -q "audit PASSED" "$W/audit-day1.txt"'
BOOTS=$(grep -cE "^ +entry [0-9]+ +[a-z]+ +[^ ]+ +compose_hash " "$W/audit-day1.txt")
ALLOWED=$(grep -cE "^ +entry [0-9]+ +[a-z]+ +[^ ]+ +compose_hash $COMPOSE_HASH .*KMS: allowed" "$W/audit-day1.txt")
if [ "$LOGD_ENCLAVE" = 1 ]; then
  ok_if "audit (e): every boot entry's compose hash ($BOOTS entries) is this repo's and allowed by the KMS contract" \
    '[ "$BOOTS" -ge 2 ] && [ "$ALLOWED" = "$BOOTS" ]'
else # a --dev logd is not attested: its boot entry says compose_hash dev
  ok_if "audit (e): the collector's compose hash is allowed by the KMS contract; the --dev logd's boot says compose_hash dev" \
    '[ "$BOOTS" -ge 2 ] && [ "$ALLOWED" = $((BOOTS - 1)) ] && grep -qE "^ +entry [0-9]+ +logd +[^ ]+ +compose_hash dev " "$W/audit-day1.txt"'
fi
"$TLOG" audit --log "$LOG_URL" "${AUD[@]}" --from "$DAY1" --to "$DAY1" --quiet --json >"$W/audit-day1.json" 2>/dev/null
# The same log under a production policy: no "collector" member, so only the release
# build with its compiled egress (www.tiktok.com) passes; this demo ran collector-test.
node -e 'const fs=require("fs"); const p=JSON.parse(fs.readFileSync(process.argv[1])); delete p.collector; fs.writeFileSync(process.argv[2], JSON.stringify(p, null, 2) + "\n")' \
  "$W/policy.json" "$W/policy-production.json"
PROD=(--key "$W/verifier-key" --rpc "$RPC" --contract "$CONTRACT" --policy "$W/policy-production.json" "${SIMFLAG[@]}")
"$TLOG" audit --log "$LOG_URL" "${PROD[@]}" --from "$DAY1" --to "$DAY1" --quiet >"$W/audit-prod.txt" 2>/dev/null
rc=$?
say ""
say "${B}Day 1 under a production policy${N} ($W/policy-production.json: the same, without the test build)"
grep '^FAIL  (collector)' "$W/audit-prod.txt" | show
ok_if "the same log FAILS a production policy (exit $rc): its collector is the test build with a local egress, which only the demo's policy names" \
  '[ "$rc" = 1 ] && grep -q "^FAIL  (collector) boot entry [0-9]*: build '"'"'test'"'"' with egress '"'"'GET 127.0.0.1:$PORT_MOCK/api/watch_history'"'"'" "$W/audit-prod.txt"'
say ""
say "${B}Day 1 and day 2 ($DAY1 .. $DAY2): includes the rogue entry $ROGUE_INDEX${N}"
"$TLOG" audit --log "$LOG_URL" "${AUD[@]}" --from "$DAY1" --to "$DAY2" --quiet \
  --report "$W/report-all.html" --summary "$W/summary-all.md" >"$W/audit-all.txt" 2>"$W/audit-all.err"
rc=$?
show_run "$W/audit-all"
AUDIT2=$rc
ok_if "audit of both days FAILED (exit $rc), naming entry $ROGUE_INDEX as outside the policy" \
  '[ "$rc" = 1 ] && grep -q "entry $ROGUE_INDEX: api_call intent GET direct_messages /api/direct_messages is outside the policy" "$W/audit-all.txt"'
check "... and as naming direct messages" grep -q "entry $ROGUE_INDEX names direct messages" "$W/audit-all.txt"
ok_if "verification reports for people (tlog audit --report, --summary): passing day 1 and failing days 1-2" \
  'grep -q "PASSED\." "$W/report-day1.html" && grep -q "FAILED\." "$W/report-all.html" && [ -s "$W/summary-day1.md" ] && [ -s "$W/summary-all.md" ]'
say "passing window: $W/report-day1.html ($W/summary-day1.md)"
say "failing window: $W/report-all.html ($W/summary-all.md)"

# A hostile operator's move (docs/THREATS.md): the app owner allows a malicious compose
# hash and removes it again. It never writes a boot entry, but GetKey would have given
# it every key of the app, so the all-time KMS check fails naming block and tx.
say ""
say "${B}Hostile operator${N}: the app owner adds a malicious compose hash and removes it at once (never booted)"
EVIL=$(printf 'malicious compose' | sha256sum | cut -d' ' -f1)
# the owner's two transactions, as for the release above: addComposeHash (the data
# deploy/prepare-add-compose-hash.sh prepares), then removeComposeHash(bytes32)
bash deploy/prepare-add-compose-hash.sh --app "$APP" --hash "$EVIL" --chain-id 84532 >"$W/add-evil.json" ||
  die "deploy/prepare-add-compose-hash.sh (malicious hash)"
send_tx "{\"from\":\"$APP_OWNER\",\"to\":\"$APP\",\"data\":\"$(jv 'd["data"]' "$W/add-evil.json")\"}" >"$W/add-evil.receipt" ||
  die "send the malicious addComposeHash"
REMOVE_SEL=$(node -e 'console.log(require("ethers").id("removeComposeHash(bytes32)").slice(0, 10))')
send_tx "{\"from\":\"$APP_OWNER\",\"to\":\"$APP\",\"data\":\"$REMOVE_SEL$EVIL\"}" >/dev/null ||
  die "send removeComposeHash"
EVIL_TX=$(jv 'd["result"]["transactionHash"]' "$W/add-evil.receipt")
EVIL_BLOCK=$(jv 'int(d["result"]["blockNumber"], 16)' "$W/add-evil.receipt")
EVIL_DAY=$(date -u -d "@$(rpc eth_getBlockByNumber "[\"$(printf '0x%x' "$EVIL_BLOCK")\",false]" | jv 'int(d["result"]["timestamp"], 16)')" +%F)
"$TLOG" audit --log "$LOG_URL" "${AUD[@]}" --from "$DAY1" --to "$EVIL_DAY" --quiet >"$W/audit-hostile.txt" 2>/dev/null
rc=$?
grep '^FAIL  (kms)' "$W/audit-hostile.txt" | show
say "(the hash was allowed for one block: any VM running it could have asked the KMS for the cookie key)"
ok_if "the audit FAILS (exit $rc) naming the added hash with block $EVIL_BLOCK and tx ${EVIL_TX:0:18}.." \
  '[ "$rc" = 1 ] && grep -q "^FAIL  (kms) DstackApp allowed compose hash $EVIL, which the policy.s releases do not list (block $EVIL_BLOCK, tx $EVIL_TX)" "$W/audit-hostile.txt"'

# ================================================================ 7. offline
section "Export, stop everything, audit offline"
"$TLOG" export --log "$LOG_URL" --key "$W/verifier-key" --rpc "$RPC" --contract "$CONTRACT" --out "$W/bundle" --quiet >"$W/export.txt" 2>"$W/export.err"
rc=$?
show_run "$W/export"
ok_if "tlog export: bundle of the whole log with its anchors (exit $rc)" '[ "$rc" = 0 ] && [ -f "$W/bundle/manifest.json" ]'
stop_named collector
COL_RC=$STOPPED_RC
stop_named mock-tiktok
stop_named logd
LOGD_RC=$STOPPED_RC
stop_named dstack-sim
ok_if "logd and the collector exit 0 on SIGTERM (logd: $(tail -n 1 "$W/logd.log" | sed 's/^[^ ]* logd: //'))" '[ "$LOGD_RC" = 0 ] && [ "$COL_RC" = 0 ]'
check "collector, mock TikTok, logd and the simulator stopped (logd no longer answers)" \
  bash -c "! curl -s -m 1 '$LOG_URL/healthz' >/dev/null 2>&1"
say "the bundle: $(du -sh "$W/bundle" | cut -f1), $(find "$W/bundle" -type f | wc -l) files"
say ""
say "${B}verify-bundle with no network at all${N} (files, signatures, every entry recomputed to every recorded root)"
"$TLOG" verify-bundle "$W/bundle" --key "$W/verifier-key" --quiet >"$W/vb-offline.txt" 2>"$W/vb-offline.err"
rc=$?
show_run "$W/vb-offline"
VB_OFF=$rc
check "verify-bundle offline (exit $rc)" [ "$rc" = 0 ]
say "${B}verify-bundle against the chain${N} (each recorded anchor is on chain exactly, none left out)"
"$TLOG" verify-bundle "$W/bundle" --key "$W/verifier-key" --rpc "$RPC" --contract "$CONTRACT" --quiet >"$W/vb-chain.txt" 2>"$W/vb-chain.err"
rc=$?
show_run "$W/vb-chain"
VB_CHAIN=$rc
check "verify-bundle against the chain (exit $rc)" [ "$rc" = 0 ]
say "${B}audit --bundle, logd gone, anchors from the chain${N}"
"$TLOG" audit --bundle "$W/bundle" "${AUD[@]}" --from "$DAY1" --to "$DAY1" --quiet >"$W/audit-b1.txt" 2>"$W/audit-b1.err"
rc1=$?
tail -n 1 "$W/audit-b1.txt" | sed "s/^/day 1 ($DAY1): /" | show
grep -v 'verification failed' "$W/audit-b1.err" | show
"$TLOG" audit --bundle "$W/bundle" "${AUD[@]}" --from "$DAY1" --to "$DAY2" --quiet >"$W/audit-b2.txt" 2>"$W/audit-b2.err"
rc2=$?
grep -E '^FAIL|audit (PASSED|FAILED)' "$W/audit-b2.txt" | sed "s/^/days 1-2 ($DAY1 .. $DAY2): /" | show
grep -v 'verification failed' "$W/audit-b2.err" | show
ok_if "audit --bundle: day 1 PASSED, days 1-2 FAILED naming entry $ROGUE_INDEX (same verdicts as live)" \
  '[ "$rc1" = 0 ] && [ "$rc2" = 1 ] && grep -q "entry $ROGUE_INDEX names direct messages" "$W/audit-b2.txt"'
say "${B}audit --log MIRROR, logd gone${N}: the log's public mirror on object storage ($MIRROR_URL), anchors from the chain"
"$TLOG" audit --log "$MIRROR_URL" "${AUD[@]}" --from "$DAY1" --to "$DAY1" --quiet >"$W/audit-m1.txt" 2>"$W/audit-m1.err"
rcm=$?
tail -n 1 "$W/audit-m1.txt" | sed "s/^/day 1 ($DAY1): /" | show
ok_if "audit --log MIRROR after logd stopped: day 1 PASSED from the mirror alone (exit $rcm)" '[ "$rcm" = 0 ]'
stop_named anvil
check "the local chain stopped too (only the object store still runs)" bash -c "! curl -s -m 1 '$RPC' >/dev/null 2>&1"
"$TLOG" audit --log "$MIRROR_URL" --key "$W/verifier-key" --anchors "$W/bundle/anchors.json" --policy "$W/policy.json" "${SIMFLAG[@]}" --from "$DAY1" --to "$DAY1" --quiet >"$W/audit-m3.txt" 2>"$W/audit-m3.err"
rcm3=$?
ok_if "audit --log MIRROR with the bundle's anchors, no chain: day 1 INCOMPLETE as from the bundle (exit $rcm3)" \
  '[ "$rcm3" = 1 ] && grep -q "^audit INCOMPLETE" "$W/audit-m3.txt"'
stop_named s3rver
say "${B}audit --bundle --anchors bundle/anchors.json, no network at all${N} (the anchors as recorded in"
say "the bundle: this proves the log's own consistency with them, nothing about the chain)"
"$TLOG" audit --bundle "$W/bundle" --key "$W/verifier-key" --anchors "$W/bundle/anchors.json" --policy "$W/policy.json" "${SIMFLAG[@]}" --from "$DAY1" --to "$DAY1" --quiet >"$W/audit-b3.txt" 2>"$W/audit-b3.err"
rc3=$?
grep -E '^anchors from|^INCOMPLETE|^audit (PASSED|FAILED|INCOMPLETE)' "$W/audit-b3.txt" | sed "s/^/day 1 ($DAY1): /" | show
ok_if "audit from the bundle alone: day 1 INCOMPLETE, nothing failed (exit $rc3): without the chain it cannot pass" \
  '[ "$rc3" = 1 ] && grep -q "^audit INCOMPLETE" "$W/audit-b3.txt"'
[ "$rc3" = 1 ] && grep -q "^audit INCOMPLETE" "$W/audit-b3.txt" && rc3=incomplete

# ================================================================ 8. summary
section "Summary"
say "users (credentials taken in):     $USERS (collector statement: $UC)"
say "watch-history calls:              $COLLECTS made, $WH received by TikTok, $DM to direct messages"
say "log:                              $FINAL_SIZE entries, $ANCHORS anchors on chain"
say "anchoring:                        by logd (--anchor-interval $ANCHOR_INTERVAL)"
say "logd mode:                        $LOGD_MODE"
say "code identity:                    compose hash $COMPOSE_HASH in every boot entry, allowed by the KMS contract $APP (quotes simulated)"
say "audit day 1 (live):               $(verdict "$AUDIT1") (expected: PASSED)"
say "audit days 1-2 (live):            $(verdict "$AUDIT2") (expected: FAILED, naming the rogue entry $ROGUE_INDEX)"
say "mirror (logd gone):               audit day 1 $(verdict "$rcm") from $MIRROR_URL"
say "offline (logd gone):              verify-bundle $([ "$VB_OFF" = 0 ] && echo verified || echo FAILED) offline, $([ "$VB_CHAIN" = 0 ] && echo verified || echo FAILED) against the chain; audit --bundle day 1 $(verdict "$rc1"), days 1-2 $(verdict "$rc2"); without the chain day 1 $(verdict "$rc3")"
say "time:                             $(elapsed) s"
if [ "$FAILED" -eq 0 ]; then
  printf '\n%sDEMO OK%s: %d of %d steps had their expected outcome\n' "$G" "$N" "$CHECKS" "$CHECKS"
  exit 0
fi
printf '\n%sDEMO FAILED%s: %d of %d steps did not have their expected outcome:\n' "$R" "$N" "$FAILED" "$CHECKS"
printf '   - %s\n' "${FAILS[@]}"
KEEP=1
exit 1
