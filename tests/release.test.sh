#!/usr/bin/env bash
# deploy/release.sh on two tiny fixture repositories (fast: no real build): one whose
# build is reproducible, and one whose binary embeds its build directory. The release
# must pass the first and, for the second, exit 1 naming the binary. (`make release`
# runs the real thing on the whole tree.)
set -u
root=${XT_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root" || exit 2
BIN=${BIN:-bin}
. "$root/tests/lib/harness.sh"
harness_init --no-anvil release-test tlog
tlog=$B/tlog
command -v cc >/dev/null && command -v git >/dev/null || { nok "cc and git needed"; exit 1; }

fixture() { # dir embed_path(0|1)
  local d=$1 embed=$2
  mkdir -p "$d/deploy" "$d/probe"
  cp "$root"/deploy/{release.sh,render-compose.sh,make-app-compose.sh,docker-compose.template.yml,deployment.conf} "$d/deploy/"
  echo 0.0.1 >"$d/VERSION"
  printf '#include <stdio.h>\n#include "probe/stamp.h"\nint main(void);\nint main(void) { puts(STAMP); return 0; }\n' >"$d/probe/probe.c"
  if [ "$embed" = 1 ]; then stamp='$(CURDIR)'; else stamp='fixed'; fi
  # bin/tlog is a copy of the real one (release.sh needs compose-normalize/compose-hash)
  cat >"$d/Makefile" <<EOF
all: bin/probe bin/tlog
probe/stamp.h:
	echo '#define STAMP "$stamp"' >\$@
bin/probe: probe/probe.c probe/stamp.h
	mkdir -p bin && cc -O2 -ffile-prefix-map=\$(CURDIR)=. -o \$@ probe/probe.c -I.
bin/tlog:
	mkdir -p bin && cp $tlog \$@
EOF
  (cd "$d" && git init -q && git add -A && git -c user.name=t -c user.email=t@example.invalid \
     commit -q -m fixture)
}

fixture "$tmp/good" 0
(cd "$tmp/good" && bash deploy/release.sh --out "$tmp/good-out") >"$tmp/good.log" 2>&1
rc=$?
[ $rc -eq 0 ] && ok "reproducible fixture: release exits 0" || { nok "reproducible fixture: exit $rc"; sed 's/^/#   /' "$tmp/good.log" | tail -n 20; }
grep -q 'bit-identical across two builds' "$tmp/good.log" && ok "says the builds are bit-identical" || nok "says bit-identical"
node -e '
  const m = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  if (m.reproducible !== true) throw new Error("reproducible " + m.reproducible);
  if (!/^[0-9a-f]{40}$/.test(m.commit)) throw new Error("commit");
  if (!/^[0-9a-f]{64}$/.test(m.binaries["bin/probe"].sha256)) throw new Error("probe sha");
  if (!/^[0-9a-f]{64}$/.test(m.compose.hash) || m.compose.deployable !== false) throw new Error("compose");
  if (!m.toolchain.cc) throw new Error("toolchain");
' "$tmp/good-out/manifest.json" 2>"$tmp/err" && ok "manifest: commit, binary hashes, toolchain, example compose hash" \
  || { nok "manifest fields"; sed 's/^/#   /' "$tmp/err" | head -n 5; }
want=$("$tlog" compose-hash "$tmp/good-out/app-compose.json" 2>/dev/null)
got=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).compose.hash)' "$tmp/good-out/manifest.json" 2>/dev/null)
[ -n "$want" ] && [ "$want" = "$got" ] && ok "manifest compose hash = tlog compose-hash of app-compose.json" \
  || nok "manifest compose hash ($got vs $want)"
node -e '
  const fs = require("fs");
  const e = JSON.parse(fs.readFileSync(process.argv[1], "utf8")), m = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
  const sha = require("crypto").createHash("sha256").update(fs.readFileSync(process.argv[2])).digest("hex");
  if (e.compose_hash !== m.compose.hash || e.commit !== m.commit || e.manifest_sha256 !== sha) throw new Error(JSON.stringify(e));
' "$tmp/good-out/policy-release.json" "$tmp/good-out/manifest.json" 2>"$tmp/err" && grep -q '"manifest_sha256"' "$tmp/good.log" &&
  ok "the policy entry (compose hash, manifest SHA-256, commit) printed and written" || { nok "policy entry"; sed 's/^/#   /' "$tmp/err" | head -n 3; }
grep -q 'images not built' "$tmp/good.log" && node -e '
  const m = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  if (JSON.stringify(m.images) !== "{}" || m.package_lock !== null) throw new Error("images");
  if (!/@sha256:0{64}$/.test(m.compose.logd_image)) throw new Error("placeholder ref");
' "$tmp/good-out/manifest.json" 2>/dev/null && ok "without logd and collector: images skipped (said), none in the manifest, all-zero references" \
  || nok "image skip"

fixture "$tmp/bad" 1
(cd "$tmp/bad" && bash deploy/release.sh --out "$tmp/bad-out") >"$tmp/bad.log" 2>&1
rc=$?
[ $rc -eq 1 ] && ok "fixture embedding its build path: release exits 1" || nok "embedding fixture: exit $rc (want 1)"
grep -q 'FAIL: bin/probe differs between the two builds' "$tmp/bad.log" && ok "names the differing binary" \
  || { nok "names the differing binary"; sed 's/^/#   /' "$tmp/bad.log" | tail -n 20; }
grep -q "FAIL: bin/probe embeds '/tmp/" "$tmp/bad.log" && ok "names the embedded path" || nok "names the embedded path"
node -e '
  const m = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  if (m.reproducible !== false || !m.failures.length) throw new Error("not marked failed");
' "$tmp/bad-out/manifest.json" 2>/dev/null && ok "manifest marked not reproducible, failures listed" \
  || nok "manifest marked failed"

(cd "$tmp/good" && bash deploy/release.sh --logd-image x@sha256:abc --out "$tmp/x") >/dev/null 2>&1
[ $? -eq 2 ] && ok "one image reference without the other is a usage error" || nok "usage error for a lone image ref"
(cd "$tmp/good" && bash deploy/release.sh --image-repo registry.example/xordi --out "$tmp/y") >"$tmp/y.log" 2>&1
[ $? -eq 1 ] && grep -q 'FAIL: --image-repo registry.example/xordi: no image was built' "$tmp/y.log" \
  && node -e 'if (JSON.parse(require("fs").readFileSync(process.argv[1])).compose.deployable !== false) throw 1' "$tmp/y/manifest.json" 2>/dev/null \
  && ok "--image-repo without images: exit 1, named, nothing deployable" || nok "--image-repo without images"

harness_done
