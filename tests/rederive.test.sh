#!/usr/bin/env bash
# deploy/rederive.sh on a small fixture repository whose "logd" and "collector" are tiny
# C programs (so the real release script builds real OCI images in seconds, from a
# package lock made fresh from the current archive): the commit's image digests and
# compose hash are printed and equal the release's files; given the right compose hash,
# a DstackApp stand-in on anvil that allowed it, and a dstack-sim quote whose RTMR3
# carries it, it prints three MATCH lines (exit 0); the next commit (another app name,
# so another compose hash, same images) against the same three: three MISMATCH lines
# (exit 1); usage errors and an unknown commit exit 2 without building.
set -u
root=${XT_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root" || exit 2
BIN=${BIN:-bin}
. "$root/tests/lib/harness.sh"
harness_init rederive tlog dstack-sim
command -v cc >/dev/null && command -v git >/dev/null || { nok "cc and git needed"; exit 1; }
TD=${XT_TESTDATA:-$root/tests/data}/tdx
export XT_DEB_CACHE=${XT_DEB_CACHE:-$root/build/debs}

section "a fixture repository with two commits"
fx=$tmp/fx
mkdir -p "$fx/deploy/images" "$fx/src"
cp deploy/{release.sh,render-compose.sh,make-app-compose.sh,docker-compose.template.yml,deployment.conf,logd-submitters} "$fx/deploy/"
cp deploy/images/build-images.sh "$fx/deploy/images/"
echo 0.0.1 >"$fx/VERSION"
for p in logd collector; do printf '#include <stdio.h>\nint main(void);\nint main(void) { puts("%s"); return 0; }\n' "$p" >"$fx/src/$p.c"; done
cat >"$fx/Makefile" <<EOF
all: bin/logd bin/collector bin/tlog
bin/%: src/%.c
	mkdir -p bin && cc -O2 -o \$@ \$<
bin/tlog:
	mkdir -p bin && cp $B/tlog \$@
EOF
(cd "$fx" && make -s all >/dev/null) || { nok "fixture builds"; harness_done; exit; }
bash deploy/images/make-lock.sh --bin "$fx/bin" --out "$fx/deploy/images/packages.lock" 2>"$tmp/lock.err" \
  || { nok "make-lock on the fixture"; sed 's/^/#   /' "$tmp/lock.err"; harness_done; exit; }
rm -rf "$fx/bin"
git_c() { git -C "$fx" -c user.name=t -c user.email=t@example.invalid "$@"; }
git_c init -q && git_c add -A && git_c commit -q -m one
C1=$(git_c rev-parse HEAD)
sed -i 's/^APP_NAME=.*/APP_NAME=xordi-tlog-two/' "$fx/deploy/deployment.conf"
git_c commit -q -am two
C2=$(git_c rev-parse HEAD)
ok "fixture: commits ${C1:0:12} and ${C2:0:12} ($(grep -c '^pkg ' "$fx/deploy/images/packages.lock") locked packages)"

section "re-derive the first commit"
bash deploy/rederive.sh "$C1" --repo "$fx" --out "$tmp/r1" >"$tmp/r1.out" 2>"$tmp/r1.err"
rc=$?
[ $rc = 0 ] && ok "rederive.sh ${C1:0:12}: exit 0" || { nok "rederive.sh: exit $rc"; tail -n 20 "$tmp/r1.err" | sed 's/^/#   /'; harness_done; exit; }
H1=$(sed -n 's/^compose-hash //p' "$tmp/r1.out")
LD=$(sed -n 's/^image logd //p' "$tmp/r1.out")
CD=$(sed -n 's/^image collector //p' "$tmp/r1.out")
[ "$(sed -n 's/^commit //p' "$tmp/r1.out")" = "$C1" ] && [[ $LD =~ ^sha256:[0-9a-f]{64}$ ]] && [[ $CD =~ ^sha256:[0-9a-f]{64}$ ]] \
  && [ "$LD" != "sha256:$(printf '0%.0s' $(seq 64))" ] && ok "prints the commit and both image digests ($LD, $CD)" || nok "printed lines: $(tr '\n' ' ' <"$tmp/r1.out")"
[ "$H1" = "$("$B/tlog" compose-hash "$tmp/r1/app-compose.json")" ] && [ "$H1" = "$(jq -r .compose.hash "$tmp/r1/manifest.json")" ] \
  && ok "compose hash $H1 = tlog compose-hash of the release's app-compose.json = the manifest's" || nok "compose hash $H1"
[ "$(jq -r '.manifests[0].digest' "$tmp/r1/images/logd/index.json")" = "$LD" ] \
  && [ "$(jq -r '.manifests[0].digest' "$tmp/r1/images/collector/index.json")" = "$CD" ] \
  && grep -qF "example.invalid/xordi-tlog/logd@$LD" "$tmp/r1/docker-compose.yml" \
  && grep -qF "example.invalid/xordi-tlog/collector@$CD" "$tmp/r1/docker-compose.yml" \
  && ok "the OCI layouts carry those digests, and the compose file names them" || nok "layouts / compose references"

section "what a deployment claims: a compose hash, the chain, a quote"
harness_anvil
node tests/kms/policy-kms.js deploy "$U" "$H1" "" >"$tmp/kms.json" 2>"$tmp/kms.err"
APP=$(jq -r '.app // empty' "$tmp/kms.json" 2>/dev/null)
[[ $APP =~ ^0x[0-9a-f]{40}$ ]] && ok "DstackApp stand-in $APP allowing $H1" || { nok "stand-in"; sed 's/^/#   /' "$tmp/kms.err" | tail -n 5; }
sock=$tmp/dstack.sock
"$B/dstack-sim" --socket "$sock" --app-compose "$tmp/r1/app-compose.json" --seed 5eed --testdata "$TD" 2>"$tmp/sim.log" &
pids+=($!)
for _ in $(seq 100); do [ -S "$sock" ] && curl -s --unix-socket "$sock" http://dstack/Info >/dev/null && break; sleep 0.05; done
curl -s -m 5 --unix-socket "$sock" -X POST http://dstack/GetQuote -H 'Content-Type: application/json' \
  -d '{"report_data":"00"}' >"$tmp/quote.json"
jq -e '.quote and .event_log' "$tmp/quote.json" >/dev/null 2>&1 && ok "a simulated quote of a CVM running that app-compose.json" || nok "GetQuote"
claims=(--compose-hash "$H1" --rpc "$U" --app "$APP" --report "$tmp/quote.json" --allow-simulated)

bash deploy/rederive.sh "$C1" --repo "$fx" "${claims[@]}" >"$tmp/r2.out" 2>"$tmp/r2.err"
rc=$?
[ $rc = 0 ] && [ "$(grep -c '^MATCH ' "$tmp/r2.out")" = 3 ] && ! grep -q MISMATCH "$tmp/r2.out" \
  && ok "the first commit against the three claims: 3 MATCH lines, exit 0" \
  || { nok "first commit vs claims: exit $rc"; sed 's/^/#   /' "$tmp/r2.out" "$tmp/r2.err" | tail -n 12; }
grep -q '^MATCH the quote.s RTMR3 replays to this compose hash (simulated)$' "$tmp/r2.out" \
  && grep -q "^MATCH allowed by DstackApp $APP at .* (ComposeHashAdded)$" "$tmp/r2.out" \
  && ok "the MATCH lines name the quote (simulated) and the DstackApp" || nok "MATCH lines: $(grep MATCH "$tmp/r2.out" | tr '\n' '|')"

bash deploy/rederive.sh "$C2" --repo "$fx" "${claims[@]}" >"$tmp/r3.out" 2>"$tmp/r3.err"
rc=$?
H2=$(sed -n 's/^compose-hash //p' "$tmp/r3.out")
[ $rc = 1 ] && [ "$(grep -c '^MISMATCH ' "$tmp/r3.out")" = 3 ] && ! grep -q '^MATCH' "$tmp/r3.out" \
  && ok "the second commit against the same claims: 3 MISMATCH lines, exit 1" \
  || { nok "second commit vs claims: exit $rc"; sed 's/^/#   /' "$tmp/r3.out" "$tmp/r3.err" | tail -n 12; }
[[ $H2 =~ ^[0-9a-f]{64}$ ]] && [ "$H2" != "$H1" ] && [ "$(sed -n 's/^image logd //p' "$tmp/r3.out")" = "$LD" ] \
  && [ "$(sed -n 's/^image collector //p' "$tmp/r3.out")" = "$CD" ] \
  && ok "the second commit: same images, another compose hash ($H2)" || nok "second commit's lines: $(tr '\n' ' ' <"$tmp/r3.out")"

section "usage"
for args in "" "$C1 --rpc $U" "$C1 --allow-simulated" "$C1 --compose-hash abc" "nonsense"; do
  # shellcheck disable=SC2086 # the words are the arguments
  bash deploy/rederive.sh $args --repo "$fx" >/dev/null 2>&1
  [ $? = 2 ] && ok "usage error, exit 2: rederive.sh ${args:-(no commit)}" || nok "rederive.sh $args: not a usage error"
done
bash deploy/rederive.sh 0123456789abcdef0123456789abcdef01234567 --repo "$fx" >/dev/null 2>"$tmp/r5.err"
[ $? = 2 ] && grep -q 'has no commit' "$tmp/r5.err" && ok "an unknown commit: exit 2, said" || nok "unknown commit"

harness_done
