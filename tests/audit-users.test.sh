#!/usr/bin/env bash
# Who counts as a user (issue 14 item 5), end to end: a real logd (--dev, submitters
# collector and rogue), the real collector (test build, --dev) and a local anvil chain
# holding the anchors. "Alice" and "alice" are one user; the collector's signed
# user_count statement verifies in the audit and its count is reported beside the
# audit's own; a rogue submitter's intakes are not counted and fail the audit by name;
# forged statements (foreign writer, wrong signature, a genuine signature over an
# inflated count) each fail by name. The honest log is INCOMPLETE, not PASSED (a --dev
# log audited without a policy), with no failure. Kills what it starts.
set -u
root=${XT_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
BIN=${BIN:-bin}
cd "$root" || exit 2
. tests/lib/harness.sh
harness_init audit-users tlog tlog-anchor-dir logd collector-test
T=$tmp
TLOG=$B/tlog
rpc() { curl -s -m 5 -H 'Content-Type: application/json' -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$1\",\"params\":${2:-[]}}" "$U"; }
jget() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }

harness_anvil --timestamp 1767225600
echo ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80 >"$T/owner.key"
echo 59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d >"$T/anchorer.key"
LO=example.org/xordi/users
C=$("$TLOG" anchor deploy --rpc "$U" --private-key "$T/owner.key" 2>/dev/null)
A1=$("$TLOG" anchor address --private-key "$T/anchorer.key")
"$TLOG" anchor register --rpc "$U" --private-key "$T/owner.key" --contract "$C" --origin "$LO" --anchorer "$A1" >/dev/null ||
  { nok "deploy and register the anchor contract"; exit 1; }
CH=(--rpc "$U" --contract "$C")

# logd with two submitters: the collector and a rogue writer the operator added.
lport=$(free_port)
LU=http://127.0.0.1:$lport
CTOK=collector-token-$RANDOM$RANDOM$RANDOM
RTOK=rogue-token-$RANDOM$RANDOM$RANDOM
printf 'collector %s\nrogue %s\n' "$CTOK" "$RTOK" >"$T/submitters"
mkdir -p "$T/ld" "$T/col"
"$B/logd" --dev --data "$T/ld" --listen "127.0.0.1:$lport" --origin "$LO" --checkpoint-interval-ms 50 \
  --submitters "$T/submitters" >"$T/ld.out" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -sf "$LU/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
cport=$(free_port)
CU=http://127.0.0.1:$cport
ATOK=archive-token-$RANDOM$RANDOM
"$B/collector-test" --listen "127.0.0.1:$cport" --data "$T/col" --logd "$LU" --logd-token "$CTOK" \
  --archive-token "$ATOK" --dev --api-base http://127.0.0.1:1 >"$T/col.out" 2>"$T/col.err" &
pids+=($!)
for _ in $(seq 100); do curl -sf "$CU/healthz" >/dev/null 2>&1 && break; sleep 0.1; done

capi() { curl -s -H "Authorization: Bearer $ATOK" -H 'Content-Type: application/json' "$@"; }
as() { local tok=$1 path=$2 body=$3; curl -sf -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' --data-binary "$body" "$LU$path"; }
# anchor_now: waits for a checkpoint covering everything so far and anchors it.
anchor_now() {
  as "$(cat "$T/ld/dev-token")" '/v1/add?wait=checkpoint' "{\"type\":\"marker\",\"n\":\"$RANDOM$RANDOM\"}" >/dev/null
  local n
  n=$("$TLOG" checkpoint --log "$LU" --key "$T/ld/verifier-key" --json | jget 'd["size"]')
  "$B/tlog-anchor-dir" --rpc "$U" --contract "$C" --key "$T/anchorer.key" --log "$LU" \
    --vkey "$T/ld/verifier-key" --sizes "$n" >/dev/null 2>"$T/anchor.err" ||
    { nok "anchor size $n"; sed 's/^/#   /' "$T/anchor.err"; }
}
# the collector is the test build pointed at 127.0.0.1:1: a policy must name it
echo '{"collector":{"builds":[{"build":"test","egress":"GET 127.0.0.1:1/api/watch_history"}]}}' >"$T/policy.json"
AU=(--allow-dev --log "$LU" --key "$T/ld/verifier-key" "${CH[@]}" --from 2026-01-01 --to 2026-12-31 --policy "$T/policy.json")

section "one user under two spellings"
A=$(capi -d '{"username":"Alice","cookie":"sessionid=a1"}' "$CU/v1/credentials" | jget 'd["user"]')
a=$(capi -d '{"username":"alice","cookie":"sessionid=a2"}' "$CU/v1/credentials" | jget 'd["user"]')
capi -d '{"username":"bob.B","cookie":"sessionid=b1"}' "$CU/v1/credentials" >/dev/null
check "\"Alice\" and \"alice\" have one pseudonym" [ "${#A}" = 64 -a "$A" = "$a" ]
capi "$CU/v1/user-count" >"$T/uc.json"
check "the collector counts 2 users" [ "$(jget 'd["count"]' <"$T/uc.json")" = 2 ]
anchor_now
# A --dev log (no quotes, no KMS contracts, no policy) can never PASS: the honest log
# is INCOMPLETE, with no failure and the user-count checks passing.
out=$("$TLOG" audit "${AU[@]}" 2>&1)
check "honest log: no FAIL, audit INCOMPLETE (a --dev log without a policy proves no code identity)" \
  bash -c '! grep -q "^FAIL" <<<"$1" && grep -qx "audit INCOMPLETE" <<<"$1" && grep -q "^INCOMPLETE  the policy has no releases section" <<<"$1"' _ "$out"
expect "honest log: the statement verifies, attested count beside the log's" 1 \
  "entry +[0-9]+ +attests 2 users as of index [0-9]+; the log shows 2  verified" -- "$TLOG" audit "${AU[@]}"
expect "honest log: 2 users in the window" 1 '"users_in_window": 2' -- "$TLOG" audit "${AU[@]}" --json
out=$("$TLOG" audit "${AU[@]}" --json 2>/dev/null)
check "honest log: --json: the users and user_count checks passed, verdict INCOMPLETE, failure_count 0" \
  test "$(jq -r '[(.checks[] | select(.name == "users" or .name == "user_count") | .verdict), .verdict, (.failure_count | tostring)] | join(",")' <<<"$out")" = passed,passed,INCOMPLETE,0

section "a rogue submitter's intakes"
as "$RTOK" /v1/add-batch '[{"type":"credential_intake","user":"'"$(printf r1 | sha256hex)"'","request_id":"x1"},
  {"type":"credential_intake","user":"'"$(printf r2 | sha256hex)"'","request_id":"x2"}]' >"$T/rogue.json"
RI=$(jget 'd["first_index"]' <"$T/rogue.json")
anchor_now
expect "rogue intakes fail the audit, named" 1 "credential_intake written by submitter 'rogue', not the collector: not counted" -- "$TLOG" audit "${AU[@]}"
expect "rogue intakes are not counted" 1 '"users_in_window": 2' -- "$TLOG" audit "${AU[@]}" --json
expect "the failure names the rogue entry" 1 "entry $RI: credential_intake written by submitter 'rogue'" -- "$TLOG" audit "${AU[@]}"

section "forged user_count statements"
EV=$(python3 - "$T/uc.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
print(json.dumps({"type": "user_count", "count": 5, "as_of_index": d["as_of_index"],
                  "statement_sha256": d["statement_sha256"], "signature": d["signature"]}))
EOF
)
as "$RTOK" /v1/add "$EV" >/dev/null
anchor_now
expect "a user_count by another writer fails" 1 "user_count not written by the collector: not a statement of the collector" -- "$TLOG" audit "${AU[@]}"
# Through the collector's own token (an operator holding it): the numbers changed
# under a genuine signature.
as "$CTOK" /v1/add "$EV" >/dev/null
anchor_now
expect "a count changed under a genuine signature fails" 1 "user_count statement_sha256 is not the SHA-256 of the statement" -- "$TLOG" audit "${AU[@]}"
# A statement of 5 users rebuilt and hashed right, but its signature is another's.
PUB=$(jget 'd["public_key"]' <"$T/uc.json")
ASOF=$(jget 'd["as_of_index"]' <"$T/uc.json")
ST="{\"as_of_index\":$ASOF,\"collector_key\":\"$PUB\",\"count\":5,\"instance_id\":\"$(python3 -c 'import json,sys; print(json.loads(json.load(open(sys.argv[1]))["statement"])["instance_id"])' "$T/uc.json")\",\"type\":\"xordi-collector-user-count-v1\"}"
SH=$(printf '%s' "$ST" | sha256hex)
SIG=$(jget 'd["signature"]' <"$T/uc.json")
as "$CTOK" /v1/add "{\"type\":\"user_count\",\"count\":5,\"as_of_index\":$ASOF,\"statement_sha256\":\"$SH\",\"signature\":\"$SIG\",\"n\":1}" >/dev/null
anchor_now
expect "a statement whose signature is not its own fails" 1 "user_count signature does not verify under the signing_key of collector boot" -- "$TLOG" audit "${AU[@]}"
# Signed with the collector's real key (dev-keys line 3: an operator who stole it),
# the inflated count still fails: the log shows fewer stored credentials.
SEED=$(sed -n 3p "$T/col/dev-keys")
printf '302e020100300506032b657004220420%s' "$SEED" | xxd -r -p >"$T/k.der"
openssl pkey -inform DER -in "$T/k.der" -out "$T/k.pem" 2>/dev/null
printf '%s' "$ST" >"$T/st"
SIG5=$(openssl pkeyutl -sign -inkey "$T/k.pem" -rawin -in "$T/st" | xxd -p | tr -d '\n')
check "the stolen key signs the inflated statement" [ "${#SIG5}" = 128 ]
as "$CTOK" /v1/add "{\"type\":\"user_count\",\"count\":5,\"as_of_index\":$ASOF,\"statement_sha256\":\"$SH\",\"signature\":\"$SIG5\"}" >/dev/null
anchor_now
expect "an inflated count under the collector's own key fails" 1 "user_count attests 5 users, the collector's entries leave 2 stored" -- "$TLOG" audit "${AU[@]}"
expect "the JSON report shows each statement's attested and logged counts" 1 '"attested": 5' -- "$TLOG" audit "${AU[@]}" --json
# (issue 19) the start line names the address given: it said 127.0.0.1 when bound to 0.0.0.0
cport2=$(free_port)
mkdir -p "$T/col2"
"$B/collector-test" --listen "0.0.0.0:$cport2" --data "$T/col2" --logd "$LU" --logd-token "$CTOK" \
  --archive-token "$ATOK" --dev --api-base http://127.0.0.1:1 >"$T/col2.out" 2>"$T/col2.err" &
pids+=($!)
for _ in $(seq 100); do grep -q '^listening ' "$T/col2.out" 2>/dev/null && break; sleep 0.1; done
check "a collector on --listen 0.0.0.0:PORT says 'listening 0.0.0.0:PORT' ($(head -c 60 "$T/col2.out"))" grep -q "^listening 0.0.0.0:$cport2 boot-index [0-9]" "$T/col2.out"
harness_done
