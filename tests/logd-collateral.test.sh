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
  pids+=($!)
  for _ in $(seq 100); do [ -s "$tmp/$name.port" ] && break; sleep 0.05; done
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
  cond '[ $rc = 0 ] && [ "$(cat "$tmp/c2.out")" = "{\"fmspc\":\"B0C06F000000\",\"ca\":\"platform\",\"not_before\":\"2025-06-19T10:32:27Z\",\"not_after\":\"2025-07-19T10:00:35Z\",\"out\":\"$tmp/c2.json\"}" ] && cmp -s "$tmp/want.req" "$tmp/p1.req"'
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
expect "usage: --pccs missing" 2 "^tlog collateral: --pccs URL is required; see 'tlog collateral --help'\$" -- "$B/tlog" collateral --quote "$TD/tdx_quote"
expect "usage: both --quote and --report" 2 "give exactly one of --quote or --report" -- "$B/tlog" collateral --pccs "$PCCS" --quote a --report b
harness_done
