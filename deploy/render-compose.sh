#!/usr/bin/env bash
# Renders deploy/docker-compose.template.yml into a docker-compose.yml for dstack.
#
#   deploy/render-compose.sh --logd-image REPO@sha256:HEX --collector-image REPO@sha256:HEX
#                            [--conf FILE] [--template FILE] [--out FILE]
#                            [--allow-placeholders]
#
# Every @NAME@ of the template is replaced by a validated value: the two image
# references (pinned by digest, from the release pipeline's image build) and the values
# of deploy/deployment.conf (committed, parsed here, never sourced). The output is a
# pure function of its inputs, so anyone can re-render it from the commit and the image
# digests and get the same bytes, hence the same compose hash. Placeholder values (all
# zeros) are refused unless --allow-placeholders is given (tests and examples only).
# Exit 0 on success, 1 on a rejected value, 2 on a usage error.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
template=$here/docker-compose.template.yml
conf=$here/deployment.conf
out=-
logd_image='' collector_image='' allow_placeholders=0

usage() { sed -n '4,7p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
  case $1 in
    --logd-image) logd_image=${2-}; shift 2 ;;
    --collector-image) collector_image=${2-}; shift 2 ;;
    --conf) conf=${2-}; shift 2 ;;
    --template) template=${2-}; shift 2 ;;
    --out) out=${2-}; shift 2 ;;
    --allow-placeholders) allow_placeholders=1; shift ;;
    -h|--help) usage ;;
    *) echo "render-compose: unknown argument '$1'" >&2; usage ;;
  esac
done
[ -n "$logd_image" ] && [ -n "$collector_image" ] || usage

die() { echo "render-compose: $*" >&2; exit 1; }

# name=regex of every value the template may receive; nothing else is accepted.
declare -A pattern=(
  [ORIGIN]='^[A-Za-z0-9][A-Za-z0-9.-]*(/[A-Za-z0-9._-]+)*$'
  [ANCHOR_RPC]='^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*)?$'
  [ANCHOR_CONTRACT]='^0x[0-9a-fA-F]{40}$'
  [ARCHIVE_TOKEN_SHA256]='^[0-9a-f]{64}$'
  [APP_NAME]='^[a-z0-9][a-z0-9-]{0,62}$'
  [LOGD_IMAGE]='^[a-z0-9][a-z0-9._/:-]*@sha256:[0-9a-f]{64}$'
  [COLLECTOR_IMAGE]='^[a-z0-9][a-z0-9._/:-]*@sha256:[0-9a-f]{64}$'
)
declare -A value=()
lineno=0
while IFS= read -r line || [ -n "$line" ]; do
  lineno=$((lineno + 1))
  case $line in ''|'#'*) continue ;; esac
  [[ $line =~ ^([A-Z][A-Z0-9_]*)=(.*)$ ]] || die "$conf:$lineno: not NAME=VALUE"
  name=${BASH_REMATCH[1]} v=${BASH_REMATCH[2]}
  case $name in LOGD_IMAGE|COLLECTOR_IMAGE) die "$conf:$lineno: $name comes from the image build, not from $conf" ;; esac
  [ -n "${pattern[$name]+x}" ] || die "$conf:$lineno: unknown name $name"
  [ -z "${value[$name]+x}" ] || die "$conf:$lineno: $name given twice"
  value[$name]=$v
done <"$conf"
value[LOGD_IMAGE]=$logd_image
value[COLLECTOR_IMAGE]=$collector_image

for name in "${!pattern[@]}"; do
  [ -n "${value[$name]+x}" ] || die "$conf: $name missing"
  [[ ${value[$name]} =~ ${pattern[$name]} ]] || die "$name: '${value[$name]}' is not an accepted value"
  if [[ ${value[$name]} =~ (^0x|^|sha256:)0{40,64}$ ]] && [ $allow_placeholders -eq 0 ]; then
    die "$name is still a placeholder (all zeros); set it in a reviewed commit"
  fi
done

# Lines starting with "##" are notes for template readers only.
text=$(grep -v '^##' "$template"; echo x)
text=${text%x}
for name in "${!pattern[@]}"; do
  text=${text//@$name@/${value[$name]}}
done
[[ $text =~ @[A-Z][A-Z0-9_]*@ ]] && die "template placeholder ${BASH_REMATCH[0]} has no value"
case $text in *'$'*) die "rendered compose contains '\$' (docker compose would interpolate it)" ;; esac

if [ "$out" = - ]; then
  printf '%s' "$text"
else
  tmp=$out.tmp.$$
  printf '%s' "$text" >"$tmp" && mv "$tmp" "$out"
fi
