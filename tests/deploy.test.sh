#!/usr/bin/env bash
# Static checks of deploy/: images pinned by digest, nothing security-relevant settable
# by environment, the dstack socket mounted, deterministic app-compose.json whose hash
# is `tlog compose-hash`'s; the OCI path (no Dockerfile or base image, a well-formed
# package lock, non-root image users, the collector's test build refused); the release
# workflow's commands and flags; no forbidden endpoint name. (tests/images.test.sh
# builds and runs the images, tests/release.test.sh runs deploy/release.sh.)
set -u
root=${XT_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
tlog=$root/${BIN:-bin}/tlog
D=$root/deploy
BIN=${BIN:-bin}
. "$root/tests/lib/harness.sh"
harness_init --no-anvil deploy
check() { # name cmd...: ok when cmd succeeds
  local name=$1; shift
  if "$@" >"$tmp/out" 2>&1; then ok "$name"; else nok "$name"; sed 's/^/#   /' "$tmp/out" | head -n 20; fi
}
refuses() { # name cmd...: ok when cmd fails
  local name=$1; shift
  if "$@" >"$tmp/out" 2>&1; then nok "$name (was accepted)"; else ok "$name"; fi
}
Z=$(printf '0%.0s' $(seq 64))
H1=$(printf 'a%.0s' $(seq 64))
H2=$(printf 'b%.0s' $(seq 64))
LOGD=registry.example/xordi/logd@sha256:$H1
COLL=registry.example/xordi/collector@sha256:$H2
render() { bash "$D/render-compose.sh" --logd-image "$LOGD" --collector-image "$COLL" "$@"; }
have_yaml=0
python3 -c 'import yaml' 2>/dev/null && have_yaml=1

# ---- the compose template and its rendering
check "compose renders with digest-pinned images" render --allow-placeholders --out "$tmp/dc.yml"
refuses "render refuses placeholder values unless told" render --out "$tmp/x.yml"
refuses "render refuses an image without a digest" \
  bash "$D/render-compose.sh" --logd-image registry.example/xordi/logd:latest --collector-image "$COLL" --allow-placeholders
refuses "render refuses a short digest" \
  bash "$D/render-compose.sh" --logd-image registry.example/xordi/logd@sha256:abc --collector-image "$COLL" --allow-placeholders
sed 's|^ANCHOR_RPC=.*|ANCHOR_RPC=https://${RPC_HOST}/|' "$D/deployment.conf" >"$tmp/conf-dollar"
refuses "render refuses an interpolated value" render --conf "$tmp/conf-dollar" --allow-placeholders
sed 's|^ANCHOR_RPC=.*|ANCHOR_RPC=http://rpc.example/|' "$D/deployment.conf" >"$tmp/conf-http"
refuses "render refuses a non-https RPC URL" render --conf "$tmp/conf-http" --allow-placeholders
{ cat "$D/deployment.conf"; echo "API_BASE=https://elsewhere.example/"; } >"$tmp/conf-extra"
refuses "render refuses names it does not know (no API base can be added)" \
  render --conf "$tmp/conf-extra" --allow-placeholders
{ cat "$D/deployment.conf"; echo "LOGD_IMAGE=registry.example/x@sha256:$Z"; } >"$tmp/conf-img"
refuses "render refuses image references from the config file" render --conf "$tmp/conf-img" --allow-placeholders
render --allow-placeholders --out "$tmp/dc2.yml" >/dev/null 2>&1
check "rendering is deterministic" cmp "$tmp/dc.yml" "$tmp/dc2.yml"

images=$(grep -E '^[[:space:]]+image:' "$tmp/dc.yml" | awk '{print $2}')
bad=0
[ "$(echo "$images" | wc -l)" -eq 2 ] || bad=1
for i in $images; do [[ $i =~ @sha256:[0-9a-f]{64}$ ]] || bad=1; done
[ $bad -eq 0 ] && ok "every service image is pinned by digest" || nok "every service image is pinned by digest ($images)"
grep -E '^[[:space:]]+image:' "$D/docker-compose.template.yml" | grep -vqE 'image: @[A-Z_]+_IMAGE@$' \
  && nok "template images are only digest placeholders" || ok "template images are only digest placeholders"

refuses "no environment: or env_file: in the compose file" grep -nE '^[[:space:]]*(environment|env_file):' "$tmp/dc.yml"
refuses "no run-time interpolation (\$) in the compose file" grep -n '\$' "$tmp/dc.yml"
# every value after a --*-token flag names where the secret is, never the secret itself
toks=$(awk 'prev { print $2; prev = 0 } $2 ~ /^--.*-token$/ { prev = 1 }' "$tmp/dc.yml")
bad=0
[ -n "$toks" ] || bad=1
for t in $toks; do [[ $t =~ ^getkey:[a-z0-9/_.-]+$|^sha256:[0-9a-f]{64}$ ]] || bad=1; done
[ $bad -eq 0 ] && ok "no literal token in the compose file (getkey:PATH or sha256:HEX only)" \
  || nok "no literal token in the compose file ($toks)"
grep -v '^[[:space:]]*#' "$tmp/dc.yml" >"$tmp/dc-nocomment.yml"
refuses "no key material in the compose file" grep -niE '(private|secret|BEGIN [A-Z ]*KEY|0x[0-9a-f]{64})' "$tmp/dc-nocomment.yml"
refuses "no --anchor-key file and no --dev in the compose file" grep -nE -- '--anchor-key|--dev\b|--api-base' "$tmp/dc.yml"
bad=0
while read -r name tok; do
  [[ $tok =~ ^getkey:[a-z0-9/_.-]+$|^sha256:[0-9a-f]{64}$ ]] || bad=1
done < <(grep -v '^#' "$D/logd-submitters" | grep .)
[ $bad -eq 0 ] && ok "logd-submitters holds no literal token (getkey: or sha256: only)" \
  || nok "logd-submitters holds no literal token"

if [ $have_yaml -eq 1 ]; then
  check "compose parses as YAML with the dstack socket mounted in both services" python3 - "$tmp/dc.yml" <<'PY'
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
svcs = d["services"]
assert sorted(svcs) == ["collector", "logd"], sorted(svcs)
for name, s in svcs.items():
    assert "/var/run/dstack.sock:/var/run/dstack.sock" in s["volumes"], name
    assert "environment" not in s and "env_file" not in s, name
    assert "build" not in s, name
    cmd = s["command"]
    assert cmd[cmd.index("--dstack-socket") + 1] == "/var/run/dstack.sock", name
    assert "--dev" not in cmd, name
    assert all(isinstance(a, str) for a in cmd), name
assert "logd-data:/data" in svcs["logd"]["volumes"]
assert "--api-base" not in svcs["collector"]["command"]
PY
else
  n=$(grep -c -- '- /var/run/dstack.sock:/var/run/dstack.sock' "$tmp/dc.yml")
  [ "$n" -eq 2 ] && ok "dstack socket mounted in both services (grep; no YAML parser)" \
    || nok "dstack socket mounted in both services ($n mounts)"
fi

# ---- networks and published ports (issue 14 item 6)
if [ $have_yaml -eq 1 ]; then
  check "collector and logd share only an internal network; each has its own egress network" python3 - "$tmp/dc.yml" <<'PY'
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
svcs, nets = d["services"], d["networks"]
def internal(n): return bool((nets.get(n) or {}).get("internal"))
lg, co = set(svcs["logd"]["networks"]), set(svcs["collector"]["networks"])
shared = lg & co
assert len(shared) == 1 and internal(shared.pop()), ("shared", lg & co)
for name, mine in (("logd", lg), ("collector", co)):
    own = [n for n in mine if not internal(n)]
    assert len(own) == 1, (name, "needs exactly one egress network", own)
    users = [s for s, v in svcs.items() if own[0] in v.get("networks", [])]
    assert users == [name], (own[0], users)
for name, s in svcs.items():
    assert "network_mode" not in s, name
    assert set(s["networks"]) <= set(nets), (name, "undeclared network")
PY
  check "published: logd's listen port (public read API) and the collector's (Archive API), nothing else" python3 - "$tmp/dc.yml" <<'PY'
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
svcs = d["services"]
def listen_port(s):
    c = s["command"]
    return c[c.index("--listen") + 1].rsplit(":", 1)[1]
for name in ("logd", "collector"):
    s = svcs[name]
    p = listen_port(s)
    assert s["ports"] == [p + ":" + p], (name, s["ports"], p)
    assert "expose" not in s, name
c = svcs["collector"]["command"]
assert c[c.index("--logd") + 1] == "http://logd:" + listen_port(svcs["logd"]), "collector reaches logd by service name"
PY
else
  grep -q '^    internal: true$' "$tmp/dc.yml" && ok "an internal network (grep; no YAML parser)" \
    || nok "an internal network (grep; no YAML parser)"
fi
# every "ports:" entry is preceded by the comment that says why it is public
bad=$(awk '/^    ports:$/ { p = 1; why = 0; next }
  p && /^ *# Public: / { why = 1; next } p && /^ *#/ { next }
  p && /^ *- / { if (!why) print NR; p = 0 }' "$tmp/dc.yml")
n=$(grep -c '^    ports:$' "$tmp/dc.yml")
[ -z "$bad" ] && [ "$n" -eq 2 ] && ok "each of the $n published ports says why it is public" \
  || nok "published ports without a '# Public:' reason (lines: $bad; $n ports: blocks)"

# ---- app-compose.json
if [ -x "$tlog" ]; then
  mkdir -p "$tmp/ac1" "$tmp/ac2"
  cp "$tmp/dc.yml" "$tmp/ac1/docker-compose.yml"
  cp "$tmp/dc.yml" "$tmp/ac2/docker-compose.yml"
  check "make-app-compose.sh runs" bash "$D/make-app-compose.sh" "$tmp/ac1/docker-compose.yml" --tlog "$tlog"
  h1=$(sed -n 's/^compose-hash //p' "$tmp/out")
  (cd "$tmp" && bash "$D/make-app-compose.sh" ac2/docker-compose.yml --tlog "$tlog") >"$tmp/out2" 2>&1
  h2=$(sed -n 's/^compose-hash //p' "$tmp/out2")
  check "app-compose.json is deterministic (two runs, same bytes)" cmp "$tmp/ac1/app-compose.json" "$tmp/ac2/app-compose.json"
  th=$("$tlog" compose-hash "$tmp/ac1/app-compose.json" 2>/dev/null)
  sh=$(sha256sum <"$tmp/ac1/app-compose.json" | cut -d' ' -f1)
  [ -n "$h1" ] && [ "$h1" = "$h2" ] && [ "$h1" = "$th" ] && [ "$h1" = "$sh" ] \
    && ok "printed hash = tlog compose-hash = sha256 of the file" \
    || nok "printed hash = tlog compose-hash = sha256 ($h1 / $h2 / $th / $sh)"
  "$tlog" compose-normalize "$tmp/ac1/app-compose.json" --out "$tmp/renorm.json" 2>/dev/null
  check "app-compose.json is already normalized (compose-normalize is a no-op)" cmp "$tmp/ac1/app-compose.json" "$tmp/renorm.json"
  check "app-compose.json fields: kms on, no allowed envs, no local key provider, compose text exact" \
    node -e '
      const fs = require("fs");
      const m = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
      const text = fs.readFileSync(process.argv[2], "utf8");
      const want = { manifest_version: 2, runner: "docker-compose", kms_enabled: true,
        local_key_provider_enabled: false, public_logs: false, public_sysinfo: true };
      for (const [k, v] of Object.entries(want)) if (m[k] !== v) throw new Error(k + " = " + m[k]);
      if (!Array.isArray(m.allowed_envs) || m.allowed_envs.length) throw new Error("allowed_envs not empty");
      if (m.docker_compose_file !== text) throw new Error("docker_compose_file differs");
      const keys = Object.keys(m);
      if (keys.join() !== [...keys].sort().join()) throw new Error("keys not sorted");
    ' "$tmp/ac1/app-compose.json" "$tmp/ac1/docker-compose.yml"
  printf 'services:\n  x:\n    image: a@sha256:%s\n    environment:\n      - API=1\n' "$Z" >"$tmp/env.yml"
  refuses "make-app-compose.sh refuses a compose file that sets environment" \
    bash "$D/make-app-compose.sh" "$tmp/env.yml" --tlog "$tlog" --out "$tmp/env.json"
else
  nok "bin/tlog missing: app-compose checks not run (make all first)"
fi

# ---- the OCI path: no Dockerfile, no base image; the package lock
for f in Dockerfile.logd Dockerfile.collector base-image.lock; do
  [ ! -e "$D/$f" ] && ok "deploy/$f is gone (images are built from the package lock, no base image)" || nok "deploy/$f still exists"
done
refuses "no Dockerfile, base image lock or docker build/pull command in deploy/, docs/, README.md or Makefile" \
  grep -rnE 'Dockerfile|base-image\.lock|DEBIAN_BASE|docker (build|buildx|pull|run|cp|create)' "$D" "$root/docs" "$root/README.md" "$root/Makefile"
L=$D/images/packages.lock
bad=$(grep -vE '^(#.*|archive [a-z-]+ [a-z-]+ [0-9]{8}T[0-9]{6}Z|tool [a-z0-9.+-]+ [A-Za-z0-9.+:~-]+|pkg [a-z0-9][a-z0-9.+-]* [A-Za-z0-9.+:~-]+ (amd64|all) [0-9a-f]{64} pool/[^ ]+\.deb (logd|collector|logd,collector))$' "$L")
[ -z "$bad" ] && ok "packages.lock: every line an archive, tool or pkg line (name, version, arch, SHA-256, file, images)" \
  || nok "packages.lock: malformed lines: $(head -n 3 <<<"$bad")"
[ "$(grep -c '^archive ' "$L")" -ge 1 ] && [ "$(grep -c '^tool ' "$L")" -ge 1 ] \
  && grep -qE '^pkg libc6 .* logd,collector$' "$L" && grep -qE '^pkg ca-certificates .* logd,collector$' "$L" \
  && ok "packages.lock: archive dates, toolchain, libc6 and ca-certificates in both images" || nok "packages.lock contents"
refuses "packages.lock: no shell or coreutils package" grep -nE '^pkg (bash|dash|busybox|coreutils|zsh|mksh) ' "$L"
[ "$(grep -cE '^build_image (logd|collector) [1-9][0-9]{3,} [0-9]+$' "$D/images/build-images.sh")" = 2 ] \
  && ok "build-images.sh: both images with a non-root numeric user" || nok "build-images.sh: image users"
refuses "build-images.sh pulls no base image and runs no container runtime" \
  grep -nE '(docker|podman|buildah|skopeo) |FROM ' "$D/images/build-images.sh"
grep -qF -- "knows --api-base: that is the collector's test build, never shipped" "$D/images/build-images.sh" \
  && ok "build-images.sh refuses the collector's test build (tests/images.test.sh runs it)" || nok "build-images.sh: test build check"
grep -qE '^release: ' "$root/Makefile" && grep -qF 'bash deploy/release.sh $(RELEASE_ARGS)' "$root/Makefile" \
  && grep -qE '^images: ' "$root/Makefile" && grep -qE '^lock: ' "$root/Makefile" \
  && ok "Makefile: make release [RELEASE_ARGS=...], make images, make lock" || nok "Makefile targets"

# ---- the release workflow template
wf=$D/ci/release.yml
if [ -f "$wf" ]; then
  if [ $have_yaml -eq 1 ]; then
    check "release.yml parses as YAML with jobs and steps" python3 - "$wf" <<'PY'
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
on = d.get("on", d.get(True))
assert on, "no trigger"
jobs = d["jobs"]
assert jobs, "no jobs"
for name, j in jobs.items():
    assert j.get("runs-on"), name
    for s in j["steps"]:
        assert ("run" in s) != ("uses" in s), (name, s.get("name"))
        if "uses" in s:
            ref = s["uses"].split("@", 1)[1]
            assert len(ref) == 40 and all(c in "0123456789abcdef" for c in ref), s["uses"]
PY
    # Each run block is valid bash, each deploy/ script it calls exists, and each flag it
    # passes is one that script documents; each make target it names exists.
    check "release.yml: every run block parses (bash -n); every script, flag and make target it uses exists" \
      python3 - "$wf" "$root" <<'PY'
import re, subprocess, sys, yaml
wf, root = sys.argv[1], sys.argv[2]
d = yaml.safe_load(open(wf))
n = 0
for j in d["jobs"].values():
    for s in j["steps"]:
        if "run" not in s:
            continue
        text = s["run"]
        assert "${{" not in text, ("expression inside a run block", s["name"])
        subprocess.run(["bash", "-n"], input=text.encode(), check=True)
        joined = re.sub(r"\\\n\s*", " ", text)
        for m in re.finditer(r"bash (deploy/[\w/.-]+\.sh)([^|;&\n]*)", joined):
            script, args = m.group(1), m.group(2)
            head = "".join(l for l in open(root + "/" + script) if l.startswith("#"))
            for flag in re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", args):
                assert flag in head, (script, flag, "not documented by the script")
            n += 1
        for m in re.finditer(r"(?m)^\s*make ([a-z-]+)", joined):
            mk = open(root + "/Makefile").read()
            assert re.search(r"^" + m.group(1) + r":", mk, re.M), ("make target", m.group(1))
            n += 1
        for m in re.finditer(r'RELEASE_ARGS="([^"]*)"', joined):
            head = "".join(l for l in open(root + "/deploy/release.sh") if l.startswith("#"))
            for flag in re.findall(r"--[a-z][a-z-]*", m.group(1)):
                assert flag in head, ("release.sh", flag)
assert n >= 4, n
PY
  else
    grep -qE '^on:' "$wf" && grep -qE '^jobs:' "$wf" && ! grep -qP '\t' "$wf" \
      && ok "release.yml has on: and jobs: and no tabs (no YAML parser)" || nok "release.yml structure"
  fi
  for s in 'make release RELEASE_ARGS="--image-repo $IMAGE_REPO"' 'bash deploy/push-images.sh --to "docker://$IMAGE_REPO"' \
           'prepare-add-compose-hash.sh' 'addComposeHash(bytes32)' 'deploy/images/packages.lock' \
           'release/manifest.json' 'release/policy-release.json' '.compose.deployable' 'upload-artifact@'; do
    grep -qF -- "$s" "$wf" && ok "release.yml: $s" || nok "release.yml: $s"
  done
  refuses "release.yml never signs or sends the transaction (prepares only)" \
    grep -nE 'eth_sendRawTransaction|cast send|--private-key|PRIVATE_KEY' "$wf"
  refuses "release.yml builds no image with a container runtime" grep -nE 'docker (build|buildx|pull|push|run|login)|buildx' "$wf"
else
  nok "deploy/ci/release.yml missing"
fi

# ---- the prepared (never sent) addComposeHash transaction
A=0x1111111111111111111111111111111111111111
check "prepare-add-compose-hash.sh prints the calldata" \
  bash "$D/prepare-add-compose-hash.sh" --app $A --hash "$H1"
grep -q "\"data\":\"0xdfc77223$H1\"" "$tmp/out" && grep -q '"chainId":8453' "$tmp/out" \
  && ok "calldata = selector || compose hash, chain id 8453" || nok "calldata ($(cat "$tmp/out"))"
if [ -d "$root/node_modules/ethers" ]; then
  sel=$(cd "$root" && node -e 'console.log(require("ethers").id("addComposeHash(bytes32)").slice(2, 10))')
  [ "$sel" = dfc77223 ] && ok "selector dfc77223 = keccak256(\"addComposeHash(bytes32)\")[0:4] (ethers)" \
    || nok "selector: ethers says $sel"
fi
refuses "prepare-add-compose-hash.sh refuses a malformed hash" \
  bash "$D/prepare-add-compose-hash.sh" --app $A --hash "${H1:1}"

# ---- the forbidden endpoint name appears nowhere in deploy/
refuses "grep -ri 'direct.\\?message' over deploy/ finds nothing" grep -rni 'direct.\?message' "$D"

[ $fails -eq 0 ]
