#!/usr/bin/env bash
# Generates dstack's app-compose.json from a rendered docker-compose.yml and prints the
# compose hash (the SHA-256 dstack measures into RTMR3 and the KMS must allow on-chain).
#
#   deploy/make-app-compose.sh COMPOSE_FILE [--conf FILE] [--out FILE] [--tlog PATH]
#
# The JSON is written the way dstack's tools write it (sorted keys, separators "," and
# ":", UTF-8 unescaped, no trailing newline) by `tlog compose-normalize`, and hashed by
# `tlog compose-hash`; the same inputs always give the same bytes. Output: the file
# (default: app-compose.json beside COMPOSE_FILE) and, on stdout, one line:
#   compose-hash <64 hex>
# Exit 0 on success, 1 on a rejected input, 2 on a usage error.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
conf=$here/deployment.conf
tlog=${TLOG:-$root/bin/tlog}
compose='' out=''
usage() { sed -n '5p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
  case $1 in
    --conf) conf=${2-}; shift 2 ;;
    --out) out=${2-}; shift 2 ;;
    --tlog) tlog=${2-}; shift 2 ;;
    -h|--help) usage ;;
    -*) echo "make-app-compose: unknown option '$1'" >&2; usage ;;
    *) [ -z "$compose" ] || usage; compose=$1; shift ;;
  esac
done
[ -n "$compose" ] || usage
[ -n "$out" ] || out=$(dirname "$compose")/app-compose.json
die() { echo "make-app-compose: $*" >&2; exit 1; }
[ -x "$tlog" ] || die "$tlog not found (run make first, or pass --tlog)"
command -v node >/dev/null || die "node not found"

# The app name comes from the committed deployment.conf, like every other value.
name=$(sed -n 's/^APP_NAME=\([a-z0-9][a-z0-9-]*\)$/\1/p' "$conf")
[ -n "$name" ] || die "$conf: APP_NAME missing or malformed"
# A compose file that could take values from the environment at run time defeats the
# compose hash; render-compose.sh never writes one, and this refuses one.
grep -q '\$' "$compose" && die "$compose contains '\$' (run-time interpolation)"
grep -Eq '^[[:space:]]*(environment|env_file):' "$compose" && die "$compose sets environment variables"

tmp=$(mktemp /tmp/xt-app-compose.XXXXXX)
trap 'rm -f "$tmp"' EXIT
# dstack app-compose manifest v2. Choices (docs/THREATS.md):
#   kms_enabled: keys from dstack's KMS, released only to compose hashes allowed on-chain
#   local_key_provider_enabled: false (no host-local key provider)
#   allowed_envs: [] (no encrypted environment: nothing the operator can inject)
#   public_logs: false (container logs are not published by the guest agent)
#   public_sysinfo / public_tcbinfo: true (anyone can read Info: app-compose, RTMRs)
#   gateway_enabled: true (published ports are reached as https://<app-id>-<port>.<gateway
#     domain>: TLS ends at dstack's gateway, then WireGuard to this CVM)
#   no_instance_id: false
#   secure_time: false. The release targets the dstack 0.6.0 OS image (docs/RELEASE.md,
#     "Platform"), whose chronyd is built without NTS (dstack issue #745: the Yocto
#     wrynose upgrade gated NTS behind PACKAGECONFIG, fixed by meta-dstack commit
#     00f36be on 2026-06-28, after the 0.6.0 image of 2026-06-22). With secure_time
#     true that image never synchronises its clock and fails to boot. Nothing here
#     trusts the enclave clock: the audit takes time only from block timestamps. Turn
#     it to true for an image whose chronyd has NTS (and retest a boot).
# The field set is dstack 0.6.0's AppCompose (dstack-types); deprecated `features` and
# the unused key_provider / storage_fs / swap_size / port_policy keep their defaults.
node -e '
const fs = require("fs");
const [composePath, name, outPath] = process.argv.slice(1);
const text = fs.readFileSync(composePath, "utf8");
const manifest = {
  manifest_version: 2,
  name,
  runner: "docker-compose",
  docker_compose_file: text,
  kms_enabled: true,
  gateway_enabled: true,
  local_key_provider_enabled: false,
  public_logs: false,
  public_sysinfo: true,
  public_tcbinfo: true,
  allowed_envs: [],
  no_instance_id: false,
  secure_time: false,
};
fs.writeFileSync(outPath, JSON.stringify(manifest));
' "$compose" "$name" "$tmp"
"$tlog" compose-normalize "$tmp" --out "$out" || die "tlog compose-normalize failed"
hash=$("$tlog" compose-hash "$out") || die "tlog compose-hash failed"
hash=${hash%% *}
[[ $hash =~ ^[0-9a-f]{64}$ ]] || die "unexpected compose-hash output '$hash'"
echo "compose-hash $hash"
