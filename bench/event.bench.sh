#!/usr/bin/env bash
# Event canonicalization (logd/event_canon.c), CPU per event on a 1,000-event add-batch body
# like logd-bench's: the one-pass writer beside the jansson reference it replaced on
# the hot path (json_loadb, checks, json_dumps), in one process, interleaved.
set -euo pipefail
declare -A r
while read -r name value; do r[$name]=$value; done < <("$BIN/bench-event" "${XT_BENCH_EVENT_ROUNDS:-300}")
echo "### logd event canonicalization (\`bench-event\`)"
echo
echo "| parser | events per CPU second | CPU per event | vs jansson |"
echo "|---|---|---|---|"
for k in event_parse_batch event_parse_batch_ref; do
  awk -v k="$k" -v v="${r[$k]}" -v j="${r[event_parse_batch_ref]}" \
    'BEGIN{printf "| %s | %.2f M/s | %.2f us | %.1fx |\n", k, v/1e6, 1e6/v, v/j}'
done
