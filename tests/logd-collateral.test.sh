#!/usr/bin/env bash
# Intel DCAP collateral over time (issues 13 and 19), end to end with real processes:
#  - tests/pccs/pccs_standin.py serves the real collateral of tests/data/tdx/ through
#    the PCCS v4 API (byte-exact bodies, percent-encoded issuer-chain headers);
#  - `tlog collateral --pccs URL --quote FILE --out FILE` requests exactly the four
#    PCCS paths and writes the collateral JSON `tlog verify-quote --collateral` reads,
#    every field equal to the test data's; the quote verifies with it (UpToDate) inside
#    its window; errors (unknown platform, unreachable PCCS, malformed body) exit 2
#    naming the request.
set -u
root=${XT_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root"
BIN=${BIN:-bin}
. "$root/tests/lib/harness.sh"
harness_init --no-anvil logd-collateral tlog logd dstack-sim
TD=${XT_TESTDATA:-$root/tests/data}/tdx
cond() { eval "$1"; } # one check over a compound condition

# start_pccs NAME COLLATERAL...: sets PCCS (URL) and the request log $tmp/NAME.req
start_pccs() {
  local name=$1 args=() f; shift
  for f in "$@"; do args+=(--collateral "$f"); done
  rm -f "$tmp/$name.port"
  python3 "$root/tests/pccs/pccs_standin.py" "${args[@]}" --log "$tmp/$name.req" --port-file "$tmp/$name.port" \
    2>"$tmp/$name.err" &
  PCCS_PID=$!
  pids+=($!)
  wait_file "$tmp/$name.port" $PCCS_PID
  PCCS=http://127.0.0.1:$(cat "$tmp/$name.port" 2>/dev/null)
  [ -s "$tmp/$name.port" ]
}

section "tlog collateral"
start_pccs p1 "$TD/tdx_quote_collateral.json" || { nok "the PCCS stand-in starts"; exit 1; }
"$B/tlog" collateral --pccs "$PCCS" --quote "$TD/tdx_quote" --out "$tmp/c1.json" >"$tmp/c1.out" 2>"$tmp/c1.err"
rc=$?
check "tlog collateral --pccs --quote --out: exit 0 ($rc), one line naming FMSPC, CA and window" \
  cond '[ $rc = 0 ] && [ "$(cat "$tmp/c1.out")" = "collateral for FMSPC B0C06F000000 (platform CA), valid 2025-06-19T10:32:27Z to 2025-07-19T10:00:35Z, written to $tmp/c1.json" ]'
printf '%s\n' '/sgx/certification/v4/pckcrl?ca=platform&encoding=der' '/tdx/certification/v4/tcb?fmspc=B0C06F000000' \
  '/tdx/certification/v4/qe/identity?update=standard' '/sgx/certification/v4/rootcacrl' >"$tmp/want.req"
check "... requesting exactly the PCCS v4 paths (pckcrl, tcb, qe/identity, rootcacrl)" cmp -s "$tmp/want.req" "$tmp/p1.req"
check "... every field byte for byte the test data's collateral" \
  cond 'cmp -s <(jq -S . "$tmp/c1.json") <(jq -S . "$TD/tdx_quote_collateral.json") && [ "$(jq -r "keys|length" "$tmp/c1.json")" = 9 ]'
"$B/tlog" verify-quote --quote "$TD/tdx_quote" --collateral "$tmp/c1.json" --now 2025-07-01T00:00:00Z --json >"$tmp/vq.json" 2>/dev/null
check "the quote verifies with the fetched collateral inside its window: UpToDate" \
  [ "$(jq -r .status "$tmp/vq.json")" = UpToDate ]
"$B/tlog" verify-quote --quote "$TD/tdx_quote" --collateral "$tmp/c1.json" --now 2025-08-01T00:00:00Z >/dev/null 2>&1
check "... and not outside it (2025-08-01)" [ $? = 1 ]
: >"$tmp/p1.req"
jq -n --arg q "$(xxd -p "$TD/tdx_quote" | tr -d '\n')" '{quote:$q,event_log:"[]"}' >"$tmp/report.json"
"$B/tlog" collateral --pccs "$PCCS/tdx/certification/v4/" --report "$tmp/report.json" --json --out "$tmp/c2.json" >"$tmp/c2.out" 2>&1
rc=$?
check "--report (a GetQuote-like answer) and a URL with the API suffix; --json summary ($rc)" \
  cond '[ $rc = 0 ] && [ "$(jq -c . "$tmp/c2.out")" = "{\"ca\":\"platform\",\"fmspc\":\"B0C06F000000\",\"not_after\":\"2025-07-19T10:00:35Z\",\"not_before\":\"2025-06-19T10:32:27Z\",\"out\":\"$tmp/c2.json\"}" ] && cmp -s "$tmp/want.req" "$tmp/p1.req"'
"$B/tlog" collateral --pccs "$PCCS" --quote "$TD/tdx_quote_outdated" --out "$tmp/c3.json" >"$tmp/c3.out" 2>&1
rc=$?
check "a platform the PCCS does not know (FMSPC 90C06F000000): exit 2 naming the request ($rc)" \
  cond '[ $rc = 2 ] && grep -qF "tlog collateral: GET $PCCS/tdx/certification/v4/tcb?fmspc=90C06F000000: HTTP 404" "$tmp/c3.out" && [ ! -e "$tmp/c3.json" ]'
start_pccs p2 "$TD/tdx_quote_outdated_collateral.json" || nok "a second stand-in starts"
"$B/tlog" collateral --pccs "$PCCS" --quote "$TD/tdx_quote_outdated" --out "$tmp/c3.json" >/dev/null 2>&1
check "the outdated platform's collateral from its PCCS: the test data's, field for field" \
  cmp -s <(jq -S . "$tmp/c3.json") <(jq -S . "$TD/tdx_quote_outdated_collateral.json")
dead=$(free_port)
"$B/tlog" collateral --pccs "http://127.0.0.1:$dead" --quote "$TD/tdx_quote" >"$tmp/c4.out" 2>&1
check "an unreachable PCCS: exit 2" [ $? = 2 ]
expect "usage: --pccs missing" 2 "^tlog collateral: missing --pccs \(or --log and --at\); see 'tlog collateral --help'\$" -- "$B/tlog" collateral --quote "$TD/tdx_quote"
expect "usage: both --quote and --report" 2 "^tlog collateral: give only one of --quote and --report; see 'tlog collateral --help'\$" -- "$B/tlog" collateral --pccs "$PCCS" --quote a --report b

section "the collateral valid at a time, from an archive (client/collateral.h)"
A=$tmp/archive
mkdir -p "$A/collateral"
cp "$TD/tdx_quote_collateral.json" "$A/collateral/1750400000.json"
cp "$TD/tdx_quote_outdated_collateral.json" "$A/collateral/1771500000.json"
s1=$(jq -r .not_before "$tmp/c2.out" | xargs -I{} date -u -d {} +%s); e1=$(jq -r .not_after "$tmp/c2.out" | xargs -I{} date -u -d {} +%s)
s2=$(date -u -d 2026-02-18T10:58:51Z +%s); e2=$(date -u -d 2026-03-20T10:41:15Z +%s)
index() { # NB1 NA1 NB2 NA2 [SHA1]
  jq -n --argjson nb1 "$1" --argjson na1 "$2" --argjson nb2 "$3" --argjson na2 "$4" \
    --arg h1 "${5:-$(sha256hex <"$A/collateral/1750400000.json")}" --arg h2 "$(sha256hex <"$A/collateral/1771500000.json")" \
    '{collateral:[{name:"1750400000",fetched_at:1750400000,not_before:$nb1,not_after:$na1,sha256:$h1},
                  {name:"1771500000",fetched_at:1771500000,not_before:$nb2,not_after:$na2,sha256:$h2}]}' >"$A/collateral/index.json"
}
index "$s1" "$e1" "$s2" "$e2"
"$B/tlog" collateral --log "$A" --at 2025-07-01T00:00:00Z --out "$tmp/at1.json" >"$tmp/at1.out" 2>&1
rc=$?
check "--log DIR --at 2025-07-01: the June 2025 collateral, byte for byte ($rc)" \
  cond '[ $rc = 0 ] && cmp -s "$tmp/at1.json" "$TD/tdx_quote_collateral.json" && [ "$(cat "$tmp/at1.out")" = "collateral 1750400000 of the archive, valid 2025-06-19T10:32:27Z to 2025-07-19T10:00:35Z, written to $tmp/at1.json" ]'
"$B/tlog" collateral --log "$A" --at 2026-03-01T00:00:00Z --json >"$tmp/at2.out" 2>&1
check "--at 2026-03-01: the February 2026 collateral" [ "$(jq -r .name "$tmp/at2.out")" = 1771500000 ]
"$B/tlog" collateral --log "$A" --at 2025-12-01T00:00:00Z >"$tmp/at3.out" 2>&1
rc=$?
check "--at 2025-12-01 (no collateral covers it): exit 1, named ($rc)" \
  cond '[ $rc = 1 ] && grep -qx "tlog collateral: verification failed: no archived collateral is valid at $(date -u -d 2025-12-01 +%s)" "$tmp/at3.out"'
index 1700000000 1800000000 1700000000 1800000000
"$B/tlog" collateral --log "$A" --at 2025-12-01T00:00:00Z >"$tmp/at4.out" 2>&1
rc=$?
check "an index claiming wider windows changes nothing: each document's own window decides ($rc)" \
  cond '[ $rc = 1 ] && grep -qF "1750400000: not valid at that time; 1771500000: not valid at that time" "$tmp/at4.out"'
index "$s1" "$e1" "$s2" "$e2" "$(printf %064d 0)"
"$B/tlog" collateral --log "$A" --at 2025-07-01T00:00:00Z >"$tmp/at5.out" 2>&1
rc=$?
check "a document whose SHA-256 is not the index's is not used ($rc)" \
  cond '[ $rc = 1 ] && grep -qF "1750400000: its SHA-256 is not the index" "$tmp/at5.out"'
"$B/tlog" collateral --log "$tmp" --at 2025-07-01T00:00:00Z >"$tmp/at6.out" 2>&1
rc=$?
check "a directory without an archive: exit 1, says so ($rc)" cond '[ $rc = 1 ] && grep -qF "no collateral archive (collateral/index.json not found)" "$tmp/at6.out"'

section "logd --pccs: collateral archived, served, deduplicated"
"$B/logd" --dev --data "$tmp/x" --listen 127.0.0.1:0 --origin example.org/c --pccs "$PCCS" 2>"$tmp/x.err"
rc=$?
check "--pccs without --dstack-socket: usage error (2), nothing created ($rc)" \
  cond '[ $rc = 2 ] && grep -q "pccs needs --dstack-socket" "$tmp/x.err" && [ ! -e "$tmp/x" ]'
start_pccs p3 "$TD/tdx_quote_collateral.json" || nok "the stand-in for logd starts"
SOCK=$tmp/dstack.sock
printf '{"docker_compose_file":"services: {}\\n","name":"xordi-collateral-test","runner":"docker-compose"}' >"$tmp/app-compose.json"
"$B/dstack-sim" --socket "$SOCK" --app-compose "$tmp/app-compose.json" --seed 0a --testdata "$TD" 2>"$tmp/sim.log" &
pids+=($!)
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
D=$tmp/logd
start_logd() {
  local lport; lport=$(free_port)
  URL=http://127.0.0.1:$lport
  "$B/logd" --dstack-socket "$SOCK" --data "$D" --listen "127.0.0.1:$lport" --origin example.org/xordi/collateral \
    --checkpoint-interval-ms 100 --pccs "$PCCS" "$@" >"$D.out" 2>>"$D.log" &
  logd_pid=$!
  pids+=("$logd_pid")
  for _ in $(seq 200); do curl -sf "$URL/healthz" >/dev/null 2>&1 && return 0; sleep 0.05; done
  return 1
}
wait_index() { # N: until the index lists N documents
  for _ in $(seq 200); do [ "$(curl -s "$URL/v1/collateral" | jq -r '.collateral | length' 2>/dev/null)" = "$1" ] && return 0; sleep 0.05; done
  return 1
}
start_logd --pccs-refresh 1 || { nok "logd starts with --pccs"; sed 's/^/# /' "$D.log"; exit 1; }
check "logd fetches its platform's collateral with its boot quote: /v1/collateral lists one document" wait_index 1
curl -s "$URL/v1/collateral" >"$tmp/index.json"
N=$(jq -r '.collateral[0].name' "$tmp/index.json")
curl -s -D "$tmp/doc.h" "$URL/v1/collateral/$N" -o "$tmp/doc.json"
check "the archived document is the PCCS's collateral for the quote's platform, field for field" \
  cmp -s <(jq -S . "$tmp/doc.json") <(jq -S . "$TD/tdx_quote_collateral.json")
curl -s "$URL/v1/attestation" >"$tmp/att.json"
"$B/tlog" collateral --pccs "$PCCS" --report "$tmp/att.json" --out "$tmp/by-tlog.json" >/dev/null 2>&1
check "... byte for byte what tlog collateral writes for logd's own quote (less its final newline)" \
  cmp -s <(cat "$tmp/doc.json"; echo) "$tmp/by-tlog.json"
check "... kept on disk as DIR/collateral/$N.json, immutable over HTTP" \
  cond 'cmp -s "$D/collateral/$N.json" "$tmp/doc.json" && grep -qi "^Cache-Control: public, max-age=31536000, immutable" "$tmp/doc.h"'
want=$(jq -c -n --arg n "$N" --argjson nb "$s1" --argjson na "$e1" --arg h "$(sha256hex <"$tmp/doc.json")" \
  '{collateral:[{name:$n,fetched_at:($n|tonumber),not_before:$nb,not_after:$na,sha256:$h}]}')
check "the index names it with fetch time, its validity window and SHA-256, exactly" [ "$(cat "$tmp/index.json")" = "$want" ]
check "... and is DIR/collateral/index.json" cmp -s "$D/collateral/index.json" "$tmp/index.json"
grep -q "/tdx/certification/v4/tcb?fmspc=B0C06F000000" "$tmp/p3.req"
check "the PCCS was asked for the simulator quote's FMSPC" [ $? = 0 ]
sleep 3
curl -s "$URL/metrics" >"$tmp/m1"
f=$(sed -n 's/^logd_collateral_fetches_total //p' "$tmp/m1")
check "--pccs-refresh 1: fetched again and again ($f), archived once (unchanged documents are not kept twice)" \
  cond '[ "${f:-0}" -ge 3 ] && grep -q "^logd_collateral_archived_total 1$" "$tmp/m1" && [ "$(curl -s "$URL/v1/collateral" | jq ".collateral|length")" = 1 ] && [ "$(ls "$D/collateral" | wc -l)" = 2 ]'
check "/metrics: logd_collateral_not_after_seconds is the document's window end" grep -q "^logd_collateral_not_after_seconds $e1\$" "$tmp/m1"
"$B/tlog" collateral --log "$URL" --at 2025-07-01T00:00:00Z --out "$tmp/at-logd.json" >/dev/null 2>&1
check "tlog collateral --log URL --at: the archived document, byte for byte" cmp -s "$tmp/at-logd.json" "$tmp/doc.json"
check "/v1/collateral/0123: 400; /v1/collateral/1: 404" \
  cond '[ "$(curl -s -o /dev/null -w "%{http_code}" "$URL/v1/collateral/0123")" = 400 ] && [ "$(curl -s -o /dev/null -w "%{http_code}" "$URL/v1/collateral/1")" = 404 ]'
VK=$(sed -n 's/^verifier-key: //p' "$D.out")
"$B/tlog" export --log "$URL" --key "$VK" --out "$tmp/bundle" --quiet >"$tmp/export.out" 2>&1
rc=$?
check "tlog export copies the archive: collateral/index.json and collateral/$N.json, byte for byte, in the manifest ($rc)" \
  cond '[ $rc = 0 ] && cmp -s "$tmp/bundle/collateral/index.json" "$tmp/index.json" && cmp -s "$tmp/bundle/collateral/$N.json" "$tmp/doc.json" && [ "$(jq -r ".files[\"collateral/$N.json\"]" "$tmp/bundle/manifest.json")" = "$(sha256hex <"$tmp/doc.json")" ]'
"$B/tlog" collateral --log "$tmp/bundle" --at 2025-07-01T00:00:00Z --out "$tmp/at-bundle.json" >/dev/null 2>&1
check "... and the bundle answers tlog collateral --at like the log" cmp -s "$tmp/at-bundle.json" "$tmp/doc.json"
"$B/tlog" verify-bundle "$tmp/bundle" --key "$VK" --quiet >"$tmp/vb.out" 2>&1
rc=$?
check "verify-bundle passes on the bundle, the collateral files checked against the manifest ($rc)" \
  cond '[ $rc = 0 ] && grep -qx "bundle verified" "$tmp/vb.out" && grep -q "^files    7 checked" "$tmp/vb.out"'

stop_pid "$logd_pid"
start_logd || nok "logd restarts with --pccs"
sleep 1
check "after a restart the same collateral is not archived again" \
  cond '[ "$(curl -s "$URL/v1/collateral" | jq ".collateral|length")" = 1 ] && grep -q "^logd_collateral_fetches_total [1-9]" <(curl -s "$URL/metrics")'
stop_pid "$logd_pid"
stop_pid "$PCCS_PID"
start_logd || nok "logd starts while its PCCS is away"
for _ in $(seq 100); do grep -q "collateral: fetch from $PCCS failed" "$D.log" && break; sleep 0.05; done
check "the PCCS away: logd serves, logs the failed fetch and counts it; the archive stays" \
  cond 'grep -q "collateral: fetch from $PCCS failed (retried in 60 s)" "$D.log" && grep -q "^logd_collateral_fetch_failures_total [1-9]" <(curl -s "$URL/metrics") && [ "$(curl -s "$URL/v1/collateral" | jq ".collateral|length")" = 1 ]'
stop_pid "$logd_pid"
harness_done
