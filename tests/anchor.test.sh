#!/usr/bin/env bash
# The on-chain anchor end to end, on the pinned anvil binary (never the node wrapper):
#  - the contract artifacts rebuild bit for bit from the pinned solc;
#  - contract rules through ethers (tests/anchor/contract.js): every rejection by name;
#  - the C signer against ethers, byte for byte (tests/anchor/sign_crosscheck.js);
#  - the C client and `tlog anchor` on a live chain: deploy, register, a growing log,
#    local refusals that send nothing, list, rotation;
#  - the RPC node stopped and restarted (state kept with --state) while a transaction
#    is in flight; a stuck transaction resent with higher fees; a new process replacing
#    a pending transaction left by an earlier one.
set -u
root=${XT_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root"
BIN=${BIN:-bin}
. "$root/tests/lib/harness.sh"
# Private copies in $B: a parallel `make` may relink bin/ while this runs.
harness_init anchor tlog anchor-tool
TLOG=$B/tlog
TOOL=$B/anchor-tool

rpc() { curl -s -m 5 -H 'Content-Type: application/json' -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$2\",\"params\":${3:-[]}}" "$1"; }
# start_anvil PORT ARGS...: starts anvil, sets $anvil_pid, waits for chain id 84532.
start_anvil() {
  local port=$1; shift
  "$ANVIL" --host 127.0.0.1 --port "$port" --chain-id 84532 --prune-history --silent "$@" &
  anvil_pid=$!
  pids+=("$anvil_pid")
  for _ in $(seq 300); do
    case $(rpc "http://127.0.0.1:$port" eth_chainId 2>/dev/null) in *'"0x14a34"'*) return 0 ;; esac
    sleep 0.02
  done
  echo "# anvil did not start on port $port"
  return 1
}
stop_anvil() { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; }
nonce_of() { rpc "$1" eth_getTransactionCount "[\"$2\",\"latest\"]" | sed 's/.*"result":"\([^"]*\)".*/\1/'; }
json_get() { node -e 'let d="";process.stdin.on("data",c=>d+=c).on("end",()=>{const v=eval("JSON.parse(d)"+process.argv[1]);console.log(typeof v==="object"?JSON.stringify(v):v)})' "$1"; }

# Keys: anvil's dev accounts (owner, anchorer, second anchorer).
echo ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80 > "$tmp/owner.key"
echo 0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d > "$tmp/anchorer.key"
printf '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a' > "$tmp/anchorer2.key"

# --- artifacts ---
section 'artifacts'
if node anchor/contracts/build.js "$tmp/build" >/dev/null; then
  same=1
  for f in TreeHeadAnchor.abi.json TreeHeadAnchor.bin TreeHeadAnchor.input.json TreeHeadAnchor.code.c; do
    cmp -s "$tmp/build/$f" "anchor/contracts/build/$f" || { echo "# $f differs from the committed one"; same=0; }
  done
  check "contract artifacts rebuild bit-identically with the pinned solc" [ $same = 1 ]
else
  nok "contract artifacts rebuild (build.js failed)"
fi

# --- contract rules via ethers, and the signer cross-check ---
section 'ethers'
node tests/anchor/contract.js || fails=$((fails + 1))
node tests/anchor/sign_crosscheck.js || fails=$((fails + 1))

# --- the C client and tlog anchor on a live chain ---
section 'live chain'
port=$(free_port)
start_anvil "$port" || { nok "anvil starts"; exit 1; }
U=http://127.0.0.1:$port
A1=$("$TLOG" anchor address --private-key "$tmp/anchorer.key")
A2=$("$TLOG" anchor address --private-key "$tmp/anchorer2.key")
check "tlog anchor address derives the key's address" [ "$A1" = 0x70997970C51812dc3A010C7d01b50e0d17dc79C8 ]
C=$("$TLOG" anchor deploy --rpc "$U" --private-key "$tmp/owner.key" 2>"$tmp/deploy.err")
check "tlog anchor deploy prints the contract address" [ "$C" = 0x5FbDB2315678afecb367f032d93F642f64180aa3 ]
O=example.org/xordi/log
"$TLOG" anchor register --rpc "$U" --private-key "$tmp/owner.key" --contract "$C" --origin "$O" --anchorer "$A1" >/dev/null
check "tlog anchor register" [ $? = 0 ]
"$TLOG" anchor register --rpc "$U" --private-key "$tmp/owner.key" --contract "$C" --origin "$O" --anchorer "$A2" >/dev/null 2>"$tmp/reg2.err"
rc=$?
check "second register refused: exit 1, AlreadyRegistered" [ $rc = 1 ] && grep -q AlreadyRegistered "$tmp/reg2.err"
"$TLOG" anchor register --rpc "$U" --private-key "$tmp/anchorer.key" --contract "$C" --origin other --anchorer "$A2" >/dev/null 2>"$tmp/reg3.err"
rc=$?
check "register by a non-owner refused: NotOwner" [ $rc = 1 ] && grep -q NotOwner "$tmp/reg3.err"
st=$("$TLOG" anchor status --rpc "$U" --contract "$C" --origin "$O" --json)
check "status before the first anchor: registered, size 0" [ "$(echo "$st" | json_get '.size')" = 0 -a "$(echo "$st" | json_get '.anchorer')" = "$A1" ]

submit() { "$TOOL" submit --rpc "$U" --contract "$C" --origin "$O" --key "$tmp/anchorer.key" "$@" 2>>"$tmp/submit.err"; }
all=1
for n in 1 5 6 8 100 255 256 1000 1001; do
  # Odd sizes through anchor_submit with a proof built by the caller, the others
  # through anchor_submit_tree (proof built from the chain's head by the library).
  extra=()
  [ $((n % 2)) = 1 ] && extra=(--explicit-proof)
  out=$(submit --size "$n" "${extra[@]}") || { echo "# submit $n: $out"; all=0; }
  case $out in anchored*) ;; *) all=0 ;; esac
done
check "C client anchors a growing log (9 heads, real proofs verified locally and on-chain)" [ $all = 1 ]
js_root=$(node -e 'const r=require("./tests/anchor/rfc9162.js");console.log(r.indexed().root(1001).toString("hex"))')
st=$("$TLOG" anchor status --rpc "$U" --contract "$C" --origin "$O" --json)
check "status shows the last head, root equal to an independent RFC 9162 computation" \
  [ "$(echo "$st" | json_get '.size')" = 1001 -a "$(echo "$st" | json_get '.root')" = "$js_root" ]

check_local() { "$TOOL" check-local --rpc "$U" --contract "$C" "$@" >/dev/null 2>>"$tmp/check.err"; }
check_local --origin "$O" --size 1001
check "start-up check: a local log at the anchored size is consistent" [ $? = 0 ]
check_local --origin "$O" --size 5000
check "start-up check: a local log ahead of the anchor is consistent" [ $? = 0 ]
check_local --origin "$O" --size 1000
check "start-up check: a local log behind the anchor is refused (rollback)" [ $? = 15 ]
check_local --origin "$O" --size 2000 --fork
check "start-up check: another log's entries are refused" [ $? = 15 ]
check_local --origin unknown.example/log --size 10
check "start-up check: an unregistered log is reported" [ $? = 14 ]

n0=$(nonce_of "$U" "$A1")
out=$(submit --size 500); rc=$?
check "smaller head refused locally (behind the chain)" [ $rc = 15 ]
out=$(submit --size 1001 --fork); rc=$?
check "same size, other root refused locally (split view)" [ $rc = 15 ]
out=$(submit --size 2000 --fork); rc=$?
check "forked history refused locally (proof does not verify)" [ $rc = 15 ]
out=$(submit --size 2000 --proof-from 1000); rc=$?
check "proof from the wrong old size refused locally" [ $rc = 15 ]
out=$("$TOOL" submit --rpc "$U" --contract "$C" --origin "$O" --key "$tmp/anchorer2.key" --size 2000 2>>"$tmp/submit.err"); rc=$?
check "unregistered key refused (NotAnchorer)" [ $rc = 14 ]
check "no transaction was sent for any refused head" [ "$(nonce_of "$U" "$A1")" = "$n0" ]
out=$(submit --size 1001); rc=$?
check "re-submitting the anchored head is a no-op (unchanged)" [ $rc = 0 ] && [[ $out == unchanged* ]]

list=$("$TLOG" anchor list --rpc "$U" --contract "$C" --origin "$O" --json)
check "list --json: every Anchored event in order" [ "$(echo "$list" | json_get '.map(e=>e.size).join(",")')" = "1,5,6,8,100,255,256,1000,1001" ]
check "list --json: fields size, root, checkpoint_hash, block, time, tx" \
  [ "$(echo "$list" | json_get '.every(e=>Object.keys(e).sort().join()==="block,checkpoint_hash,root,size,time,tx" && /^[0-9a-f]{64}$/.test(e.root) && /^[0-9a-f]{64}$/.test(e.checkpoint_hash) && /^0x[0-9a-f]{64}$/.test(e.tx) && e.block>0 && e.time>1.7e9)')" = true ]
check "list --json: the last root is the status root" [ "$(echo "$list" | json_get '[8].root')" = "$js_root" ]
"$TLOG" anchor list --rpc "$U" --contract "$C" --origin "$O" >"$tmp/list.txt"
check "list (table) prints a line per anchor" [ "$(grep -c '^[0-9]' "$tmp/list.txt")" = 9 ]

"$TLOG" anchor rotate --rpc "$U" --private-key "$tmp/owner.key" --contract "$C" --origin "$O" --anchorer "$A2" >/dev/null
check "tlog anchor rotate" [ $? = 0 ]
out=$(submit --size 1500); rc=$?
check "old anchorer refused after rotation" [ $rc = 14 ]
out=$("$TOOL" submit --rpc "$U" --contract "$C" --origin "$O" --key "$tmp/anchorer2.key" --size 1500 2>>"$tmp/submit.err"); rc=$?
check "new anchorer continues from the kept head" [ $rc = 0 ] && [[ $out == anchored* ]]
"$TLOG" anchor status --rpc "$U" --contract "$C" --origin unknown.example/log >"$tmp/st.txt"
check "status of an unregistered log says so" grep -q 'not registered' "$tmp/st.txt"
"$TLOG" anchor status --rpc "$U" --contract 0x0000000000000000000000000000000000000001 --origin "$O" 2>"$tmp/st.err" >/dev/null
rc=$?
check "status against an address without the contract fails clearly" [ $rc = 1 ] && grep -q 'no contract' "$tmp/st.err"
"$TLOG" anchor status --rpc "http://127.0.0.1:1" --contract "$C" --origin "$O" --timeout 2 2>"$tmp/st.err" >/dev/null
check "unreachable node: exit 2 with the reason" [ $? = 2 ]
"$TLOG" anchor status --rpc "$U" --contract "$C" --origin "$O" --chain-id 8453 2>"$tmp/st.err" >/dev/null
rc=$?
check "--chain-id 8453 against a Base Sepolia node is refused" [ $rc = 1 ] && grep -q 'chain 84532, expected 8453' "$tmp/st.err"
printf '0x%064d\n' 0 >"$tmp/zero.key"
"$TLOG" anchor deploy --rpc "$U" --private-key "$tmp/zero.key" 2>"$tmp/key.err" >/dev/null
rc=$?
check "a key file holding zero is refused (exit 2, names the file)" [ $rc = 2 ] && grep -q "zero.key" "$tmp/key.err"
"$TLOG" anchor register --rpc "$U" --private-key "$tmp/owner.key" --contract "$C" --origin x --anchorer 0x1234 2>"$tmp/u.err" >/dev/null
check "a malformed --anchorer is a usage error" [ $? = 2 ]
"$TLOG" anchor status --rpc "$U" --contract "$C" 2>"$tmp/u.err" >/dev/null
check "a missing --origin is a usage error naming it" [ $? = 2 ] && grep -q -- '--origin' "$tmp/u.err"
stop_anvil "$anvil_pid"

# --- the node stopped and restarted while a transaction is in flight ---
section 'node restart'
port=$(free_port)
U=http://127.0.0.1:$port
state="$tmp/state.json"
start_anvil "$port" --state "$state" || nok "anvil with --state starts"
C=$("$TLOG" anchor deploy --rpc "$U" --private-key "$tmp/owner.key" 2>/dev/null)
"$TLOG" anchor register --rpc "$U" --private-key "$tmp/owner.key" --contract "$C" --origin "$O" --anchorer "$A1" >/dev/null
submit --size 10 >/dev/null
stop_anvil "$anvil_pid"
# Interval mining from here on, so the next transaction waits in the pool a while.
start_anvil "$port" --state "$state" --block-time 2 || nok "anvil restarts from its state"
"$TOOL" submit --rpc "$U" --contract "$C" --origin "$O" --key "$tmp/anchorer.key" --size 20 \
  --resend-ms 1500 --deadline-ms 40000 --confirmations 2 --verbose >"$tmp/restart.out" 2>"$tmp/restart.err" &
touch "$tmp/restart.err"
bg=$!
pids+=("$bg")
for _ in $(seq 200); do grep -q '^anchor: sent' "$tmp/restart.err" && break; sleep 0.02; done
stop_anvil "$anvil_pid"   # SIGTERM: anvil dumps its state; the pending transaction may be lost
sleep 1
start_anvil "$port" --state "$state" --block-time 1 || nok "anvil restarts from its state"
wait "$bg"
rc=$?
st=$("$TLOG" anchor status --rpc "$U" --contract "$C" --origin "$O" --json)
check "node restarted mid-anchoring: the submit completes (2 confirmations)" [ $rc = 0 ] && [ "$(echo "$st" | json_get '.size')" = 20 ]
sed 's/^/#   /' "$tmp/restart.err"
stop_anvil "$anvil_pid"

# --- stuck transactions: fee bumps, and a pending one replaced by a new process ---
section 'stuck transactions'
port=$(free_port)
U=http://127.0.0.1:$port
start_anvil "$port" || nok "anvil starts"
C=$("$TLOG" anchor deploy --rpc "$U" --private-key "$tmp/owner.key" 2>/dev/null)
"$TLOG" anchor register --rpc "$U" --private-key "$tmp/owner.key" --contract "$C" --origin "$O" --anchorer "$A1" >/dev/null
submit --size 10 >/dev/null
rpc "$U" evm_setAutomine '[false]' >/dev/null
"$TOOL" submit --rpc "$U" --contract "$C" --origin "$O" --key "$tmp/anchorer.key" --size 20 \
  --resend-ms 300 --deadline-ms 1500 --verbose >/dev/null 2>"$tmp/stuck.err"
rc=$?
sends=$(grep -c '^anchor: sent' "$tmp/stuck.err")
check "unmined transaction: resent with higher fees, then a clear timeout (exit $rc, $sends sends)" [ $rc = 16 ] && [ "$sends" -ge 2 ]
"$TOOL" submit --rpc "$U" --contract "$C" --origin "$O" --key "$tmp/anchorer.key" --size 30 \
  --resend-ms 60000 --deadline-ms 20000 --verbose >"$tmp/replace.out" 2>"$tmp/replace.err" &
touch "$tmp/replace.err"
bg=$!
pids+=("$bg")
for _ in $(seq 200); do grep -q '^anchor: sent' "$tmp/replace.err" && break; sleep 0.02; done
check "a new process replaces the pending transaction of an earlier one (same nonce)" grep -q 'replacing an earlier pending' "$tmp/replace.err"
rpc "$U" evm_mine >/dev/null
wait "$bg"
rc=$?
list=$("$TLOG" anchor list --rpc "$U" --contract "$C" --origin "$O" --json)
check "after mining: the replacement is anchored, the replaced head never is" [ $rc = 0 ] && [ "$(echo "$list" | json_get '.map(e=>e.size).join(",")')" = "10,30" ]
stop_anvil "$anvil_pid"

section done
harness_done
