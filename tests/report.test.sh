#!/usr/bin/env bash
# tlog audit --report FILE.html / --summary FILE.md (tlog/report.h) on logs written by
# tlog-mklog, rendered by a real browser (headless Chromium, Debian's `chromium`):
#  - a window without failures, audited from a file of anchors (so INCOMPLETE: no chain,
#    no policy): the INCOMPLETE verdict sentence with the exact user count, never
#    PASSED, and the list of what was not checked; the charts' captions, the trust
#    boundaries, in the DOM Chromium renders; the file requests nothing (no http:,
#    https:, src=, url() other than its own #fragments), stays under 1 MB, and has no
#    horizontal scrolling at 390 px and 1280 px; a screenshot is taken (the PASSED
#    rendering needs a chain and a complete policy: tests/audit-policy.test.sh);
#  - a hostile log (a type name `<script>...`, a call_id that closes an attribute and
#    opens an <img onerror>): the report FAILS naming the check, the payloads appear as
#    text, never as elements, in the file, the DOM and the Markdown;
#  - an audit that cannot conclude (no log there) still overwrites an older report with
#    one saying so.
set -u
root=${XT_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
BIN=${BIN:-bin}
cd "$root" || exit 2
. tests/lib/harness.sh
harness_init --no-anvil report tlog tlog-mklog dstack-sim
T=$tmp
TLOG=$B/tlog
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then nok "chromium missing (deploy/install-deps.sh installs it)"; exit 1; fi

# The flags keep Chromium from reaching anything on its own; the report must not either.
browse() { # URL extra-flags...: the rendered DOM on stdout
  local url=$1; shift
  timeout 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$(mktemp -d "$T/chr.XXXXXX")" "$@" "$url" 2>>"$T/chromium.log"
}

section "a window without failures (INCOMPLETE: anchors from a file)"
"$B/tlog-mklog" --dir "$T/au" --count 1000 --checkpoints 300,700,1000 \
  --anchor-times 1767571200,1768867200,1770076800 >/dev/null || { nok "mklog"; exit 1; }
AU=(--allow-dev --allow-simulated --log "$T/au" --key "$T/au/verifier-key" --anchors "$T/au/anchors.json" --from 2026-01-01 --to 2026-01-31)
expect "audit --report --summary: INCOMPLETE (anchors from a file)" 1 "^audit INCOMPLETE" -- "$TLOG" audit "${AU[@]}" --report "$T/pass.html" --summary "$T/pass.md"
R=$T/pass.html
check "report written" test -s "$R"
check "report under 1 MB" test "$(stat -c %s "$R")" -lt 1000000
check "report requests nothing (no http:, https:, src=)" bash -c "! grep -qiE 'https?:|src=|<link|@import' '$R'"
check "every url() is a fragment of the file itself" bash -c "! grep -oE 'url\([^)]*\)' '$R' | grep -qv '^url(#'"
check "no script in the report" bash -c "! grep -qi '<script' '$R'"

browse "file://$R" --dump-dom >"$T/pass.dom"
dom=$(sed -e 's/<[^>]*>//g' "$T/pass.dom")
check "rendered: INCOMPLETE verdict with the user count" grep -qF "INCOMPLETE. From 2026-01-01 to 2026-01-31, 37 users' credentials were processed and no check failed, but 9 things could not be checked, so the audit does not prove that the code could only call TikTok's watch-history API." <<<"$dom"
check "rendered: never PASSED, nor FAILED" bash -c '! grep -qE "PASSED|FAILED" <<<"$1"' _ "$dom"
check "rendered: the verdict styled incomplete" grep -qF '<p id="verdict" class="verdict incomplete">' "$T/pass.dom"
check "rendered: what was not checked, listed" bash -c 'grep -qF "What was not checked" <<<"$1" && grep -qF "anchors from a file (--anchors), not the chain: the anchors and the KMS history were not read from the chain" <<<"$1" && grep -qF "anchor_gaps not checked: the policy has no max_anchor_gap" <<<"$1"' _ "$dom"
check "rendered: the reservation of a file of anchors" grep -qF "But the anchors were read from a file, not from the chain" <<<"$dom"
check "rendered: the reservation of --allow-dev" grep -qF "no code identity is proven" <<<"$dom"
check "rendered: the reservation of simulated quotes (the collector's boot quote)" grep -qF "But quotes from a simulator were accepted (--allow-simulated)" <<<"$dom"
check "rendered: users per day chart" grep -qF "Users whose credentials were taken in, per day: highest 37 (2026-01-20)." <<<"$dom"
check "rendered: API calls chart" grep -qF "API calls (intents) per day: 280 in all; highest 160 (2026-01-20)." <<<"$dom"
check "rendered: anchor gaps in words" grep -qF "Days without an anchor (hatched): 29: 2026-01-01 to 2026-01-04, 2026-01-06 to 2026-01-19, 2026-01-21 to 2026-01-31." <<<"$dom"
check "rendered: four charts" test "$(grep -o '<svg' "$T/pass.dom" | wc -l)" = 4
check "rendered: a check with its verdict and re-run command" grep -qF "Re-run: tlog audit --allow-dev --allow-simulated --log $T/au --key $T/au/verifier-key --anchors $T/au/anchors.json --from 2026-01-01 --to 2026-01-31 --json | jq '.checks[] | select(.name == \"api_calls\")'" <<<"$dom"
check "rendered: the check's evidence and its re-run command" grep -qF "Re-run: tlog audit --allow-dev --allow-simulated --log $T/au --key $T/au/verifier-key --anchors $T/au/anchors.json --from 2026-01-01 --to 2026-01-31 --json | jq '.[\"api_calls\"]'" <<<"$dom"
check "rendered: the completeness check incomplete" grep -qF "completeness: incomplete" <<<"$dom"
check "rendered: the boot entry's compose hash" grep -qE "compose_hash[0-9a-f]{64}" <<<"$dom"
check "rendered: trust boundaries" grep -qF "Resting on a code review" <<<"$dom"
check "summary: verdict, what was not checked, and the command" bash -c "grep -qF '**Audit INCOMPLETE**: example.org/xordi/log' '$T/pass.md' && grep -qxF -- '- anchors from a file (--anchors), not the chain: the anchors and the KMS history were not read from the chain' '$T/pass.md' && ! grep -q PASSED '$T/pass.md' && grep -qF '37 distinct users (70 credential intakes), 280 API calls (0 outside the policy)' '$T/pass.md' && grep -qxF 'tlog audit ${AU[*]}' '$T/pass.md'"

# Widths: the report inside a 390 px and a 1280 px frame must not scroll sideways.
for w in 390 1280; do
  printf '<!DOCTYPE html><html><body style="margin:0"><iframe id="f" src="pass.html" style="width:%spx;height:900px;border:0"></iframe><script>window.onload=function(){var d=document.getElementById("f").contentDocument.documentElement;document.body.setAttribute("data-fit",d.scrollWidth<=d.clientWidth?"yes":"no "+d.scrollWidth+">"+d.clientWidth);};</script></body></html>' "$w" >"$T/frame$w.html"
  fit=$(browse "file://$T/frame$w.html" --allow-file-access-from-files --dump-dom | grep -o 'data-fit="[^"]*"')
  check "no horizontal scrolling at $w px ($fit)" test "$fit" = 'data-fit="yes"'
done
browse "file://$R" --screenshot="$T/pass.png" --window-size=1280,2000 >/dev/null
check "screenshot taken" test -s "$T/pass.png"
[ -z "${XT_REPORT_SHOT:-}" ] || cp "$T/pass.png" "$XT_REPORT_SHOT"

section "a year of daily data"
# 64 anchors (tlog-mklog's most), one every 5 days of 2026, 3,650 entries.
YT=$(seq 0 63 | awk '{printf "%s%d", (NR > 1 ? "," : ""), 1767229200 + $1 * 5 * 86400}')
YC=$(seq 1 64 | awk '{printf "%s%d", (NR > 1 ? "," : ""), $1 * 57}')
"$B/tlog-mklog" --dir "$T/yr" --count 3650 --checkpoints "$YC" --anchor-times "$YT" >/dev/null || nok "mklog (year)"
expect "a year's audit writes its report (INCOMPLETE: anchors from a file)" 1 "^audit INCOMPLETE" -- "$TLOG" audit --allow-dev --allow-simulated --log "$T/yr" --key "$T/yr/verifier-key" --anchors "$T/yr/anchors.json" --from 2026-01-01 --to 2026-12-31 --report "$T/yr.html"
check "a year's report is under 1 MB ($(stat -c %s "$T/yr.html") bytes)" test "$(stat -c %s "$T/yr.html")" -lt 1000000
# Each day of the year is a bar or a hatched gap in the anchors chart: 64 bars, 301 gaps.
check "a year's anchors chart has a mark for each of its 365 days" \
  test "$(grep -oE '<title>2026-[0-9-]+: (1|no anchor)</title>' "$T/yr.html" | wc -l)" = 365

section "a hostile log"
cat >"$T/hostile.jsonl" <<'EOF'
{"event":{"type":"<script>document.title='PWNED'</script>"},"submitter":"rogue","ts_ms":1,"v":1}
{"event":{"body_sha256":"00","bytes":1,"call_id":"x\"><img src=x onerror=alert(1)>","phase":"result","status":200,"type":"api_call"},"submitter":"rogue","ts_ms":2,"v":1}
EOF
"$B/tlog-mklog" --dir "$T/h" --count 1000 --entries "$T/hostile.jsonl" --checkpoints 300,1002 \
  --anchor-times 1767571200,1768867200 >/dev/null || nok "mklog (hostile)"
H=(--allow-dev --allow-simulated --log "$T/h" --key "$T/h/verifier-key" --anchors "$T/h/anchors.json" --from 2026-01-01 --to 2026-01-31)
expect "hostile audit fails and still writes the report" 1 "audit FAILED" -- "$TLOG" audit "${H[@]}" --report "$T/h.html" --summary "$T/h.md"
check "hostile: no script or img element in the file" bash -c "! grep -qiE '<script|<img' '$T/h.html'"
check "hostile: payloads escaped in the file" bash -c "grep -qF '&lt;script&gt;document.title=&#39;PWNED&#39;&lt;/script&gt;' '$T/h.html' && grep -qF 'x&quot;&gt;&lt;img src=x onerror=alert(1)&gt;' '$T/h.html'"
browse "file://$T/h.html" --dump-dom >"$T/h.dom"
check "hostile: no script or img element in the rendered DOM" bash -c "! grep -qiE '<script|<img' '$T/h.dom'"
check "hostile: the title is the report's, not the payload's" grep -qF "<title>Audit report: example.org/xordi/log, 2026-01-01 to 2026-01-31</title>" "$T/h.dom"
hdom=$(sed -e 's/<[^>]*>//g' "$T/h.dom")
check "hostile: FAILED verdict names the first failure and its meaning" grep -qF "FAILED. The audit of 2026-01-01 to 2026-01-31 FAILED (1 problem). First: (d) entry 1001: api_call result for call_id 'x\"&gt;&lt;img src=x onerror=alert(1)&gt;' has no earlier intent." <<<"$hdom"
check "hostile: the failure's meaning" grep -qF "the code may have read, or tried to read, data it must not." <<<"$hdom"
check "hostile: the type name shown as text" grep -qF "&lt;script&gt;document.title='PWNED'&lt;/script&gt;" <<<"$hdom"
check "hostile: summary escapes the payload" bash -c "grep -qF '**Audit FAILED**' '$T/h.md' && ! grep -qiE '<script|<img' '$T/h.md' && grep -qF '&lt;img src=x onerror=alert(1)&gt;' '$T/h.md'"

section "an audit that cannot conclude"
cp "$R" "$T/stale.html"
expect "missing log: exit 2" 2 "" -- "$TLOG" audit --allow-dev --allow-simulated --log "$T/nolog" --key "$T/au/verifier-key" --anchors "$T/au/anchors.json" --from 2026-01-01 --to 2026-01-31 --report "$T/stale.html"
check "the older report is replaced by one that concluded nothing" bash -c "! grep -qE 'PASSED|INCOMPLETE|What was not checked' '$T/stale.html' && grep -qF 'could not conclude, so it proves nothing' '$T/stale.html'"
expect "unwritable --report: exit 2 naming it" 2 "--report: .*nodir" -- "$TLOG" audit "${AU[@]}" --report "$T/nodir/r.html"
harness_done
