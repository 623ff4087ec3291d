/* cmd_kms_history.c: `tlog kms-history`: everything a dstack app's KMS contracts
 * allowed, changed or upgraded, and when.
 *
 *   tlog kms-history --rpc URL --app 0xAPP [--kms 0xKMS] [--from-block N] [--to-block N]
 *                    [--max-block-range N] [--json] [--allowed HASH --at RFC3339]
 *
 * Lists every event of the DstackApp (and DstackKms) contract, decoded, with block,
 * time and transaction, read from each contract's creation block in bounded ranges.
 * With --allowed and --at, also says whether that compose hash was allowed at that time
 * by the app's add/remove events (exit 1 if not). */
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anchor/logscan.h"
#include "anchor/rpc.h"
#include "base/hex.h"
#include "base/num.h"
#include "base/time.h"
#include "tlog/commands.h"
#include "client/kms.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: tlog kms-history --rpc URL --app 0xAPP [--kms 0xKMS] [--from-block N]\n"
          "                        [--to-block N] [--max-block-range N] [--json]\n"
          "                        [--allowed HASH --at RFC3339]\n"
          "\n"
          "Lists every event of a dstack app's KMS contracts - the DstackApp at --app and,\n"
          "with --kms, the DstackKms (compose hashes, devices, OS images, KMS measurements,\n"
          "upgrades, ownership, registrations, and any event of unknown signature) - with\n"
          "block, time and transaction. The chain is read from each contract's creation\n"
          "block (found by binary search over eth_getCode unless --from-block is given) in\n"
          "ranges of at most --max-block-range blocks (default 2000), retrying failures.\n"
          "Block numbers are decimal or 0x-prefixed hex.\n"
          "With --allowed and --at, says whether that compose hash was allowed at that time\n"
          "by the app's ComposeHashAdded/Removed events.\n"
          "Exit status: 0 ok (and allowed), 1 not allowed, 2 usage, I/O or RPC error.\n");
}

typedef struct {
  const char *url, *app_text, *kms_text, *allowed_text, *at_text;
  uint8_t app[20], kms[20], want[32];
  kms_scan scan;
  time_t at;
  bool json;
} args;

/* Returns 0, 1 after --help, or -1 after a usage error (reported). */
static int parse_args(int argc, char **argv, args *a) {
  static const struct option opts[] = {
      {"rpc", required_argument, NULL, 'r'},        {"app", required_argument, NULL, 'a'},
      {"kms", required_argument, NULL, 'k'},        {"from-block", required_argument, NULL, 'f'},
      {"to-block", required_argument, NULL, 't'},   {"max-block-range", required_argument, NULL, 'm'},
      {"json", no_argument, NULL, 'j'},             {"allowed", required_argument, NULL, 'A'},
      {"at", required_argument, NULL, 'T'},         {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  const char *cmd = "kms-history";
  memset(a, 0, sizeof *a);
  a->scan.from_block = KMS_FROM_CREATION;
  a->scan.to_block = ETH_BLOCK_LATEST;
  uint64_t range = 0;
  int c;
  optind = 1;
  while ((c = tlog_getopt(cmd, argc, argv, opts)) != -1) {
    switch (c) {
    case 'r': a->url = optarg; break;
    case 'a': a->app_text = optarg; break;
    case 'k': a->kms_text = optarg; break;
    case 'f':
      if (logscan_parse_block(optarg, &a->scan.from_block))
        return tlog_usage_error(cmd, "--from-block '%s' is not a block number", optarg), -1;
      break;
    case 't':
      if (logscan_parse_block(optarg, &a->scan.to_block))
        return tlog_usage_error(cmd, "--to-block '%s' is not a block number", optarg), -1;
      break;
    case 'm':
      if (xt_parse_u64(optarg, 0, 1, 1000000, &range) != XT_OK)
        return tlog_usage_error(cmd, "--max-block-range '%s' is not a number from 1 to 1000000", optarg), -1;
      break;
    case 'j': a->json = true; break;
    case 'A': a->allowed_text = optarg; break;
    case 'T': a->at_text = optarg; break;
    case 'h': return 1;
    default: return -1;
    }
  }
  a->scan.range.max_range = range;
  if (tlog_no_extra_args(cmd, argc, argv) || tlog_require(cmd, a->url, "--rpc") ||
      tlog_require(cmd, a->app_text, "--app"))
    return -1;
  if (xt_hex_decode_exact(a->app_text, XT_HEX_0X, a->app, 20) != XT_OK)
    return tlog_usage_error(cmd, "--app '%s' is not an address (0x + 40 hex digits)", a->app_text), -1;
  if (a->kms_text && xt_hex_decode_exact(a->kms_text, XT_HEX_0X, a->kms, 20) != XT_OK)
    return tlog_usage_error(cmd, "--kms '%s' is not an address (0x + 40 hex digits)", a->kms_text), -1;
  if (!a->allowed_text != !a->at_text)
    return tlog_usage_error(cmd, "missing %s (--allowed and --at go together)", a->at_text ? "--allowed" : "--at"), -1;
  if (a->scan.from_block != KMS_FROM_CREATION && a->scan.to_block != ETH_BLOCK_LATEST &&
      a->scan.from_block > a->scan.to_block)
    return tlog_usage_error(cmd, "--from-block is after --to-block"), -1;
  if (a->allowed_text && xt_hex_decode_exact(a->allowed_text, XT_HEX_0X, a->want, 32) != XT_OK)
    return tlog_usage_error(cmd, "--allowed '%s' is not a compose hash (64 hex digits)", a->allowed_text), -1;
  if (a->allowed_text && (xt_parse_rfc3339(a->at_text, &a->at) != XT_OK || a->at < 0))
    return tlog_usage_error(cmd, "--at '%s' is not an RFC 3339 time", a->at_text), -1;
  a->scan.app = a->app;
  a->scan.kms = a->kms_text ? a->kms : NULL;
  return 0;
}

static json_t *event_json(const kms_event *ev) {
  char when[32], tx[67];
  xt_format_rfc3339((time_t)ev->block_time, when, sizeof when);
  xt_hex_encode0x(ev->tx_hash, 32, tx);
  return json_pack("{s:s, s:s, s:I, s:I, s:s, s:s, s:o*}", "contract",
                   kms_contract_name(ev->contract), "event", kms_event_name(ev->kind), "block",
                   (json_int_t)ev->block_number, "log_index", (json_int_t)ev->log_index, "time",
                   when, "tx", tx, "args", kms_event_args_json(ev));
}

static int print_json(const args *a, const kms_history *h, int allowed) {
  json_t *arr = json_array();
  for (size_t i = 0; arr && i < h->n; i++)
    if (json_array_append_new(arr, event_json(&h->events[i]))) {
      json_decref(arr);
      arr = NULL;
    }
  json_t *o = arr ? json_pack("{s:s, s:s?, s:I, s:I, s:I, s:o}", "app", a->app_text, "kms",
                              a->kms_text, "from_block", (json_int_t)h->from_block, "to_block",
                              (json_int_t)h->to_block, "requests", (json_int_t)h->requests,
                              "events", arr)
                  : NULL;
  if (o && a->allowed_text) json_object_set_new(o, "allowed", json_boolean(allowed));
  int rc = tlog_json_print(o);
  json_decref(o);
  if (rc) fprintf(stderr, "tlog kms-history: out of memory\n");
  return rc;
}

/* One line per event: its arguments as name=value, compact. */
static void print_table(const args *a, const kms_history *h, int allowed) {
  printf("%-8s  %-20s  %-3s  %-24s  %s\n", "block", "time", "of", "event", "arguments");
  for (size_t i = 0; i < h->n; i++) {
    const kms_event *ev = &h->events[i];
    char when[32];
    xt_format_rfc3339((time_t)ev->block_time, when, sizeof when);
    json_t *args_json = kms_event_args_json(ev);
    printf("%-8llu  %-20s  %-3s  %-24s ", (unsigned long long)ev->block_number, when,
           kms_contract_name(ev->contract), kms_event_name(ev->kind));
    const char *k;
    json_t *v;
    json_object_foreach(args_json, k, v) {
      char *vt = json_dumps(v, JSON_ENCODE_ANY);
      printf(" %s=%s", k, vt && json_is_string(v) ? json_string_value(v) : vt ? vt : "?");
      free(vt);
    }
    printf("\n");
    json_decref(args_json);
  }
  if (a->allowed_text)
    printf("compose hash %s at %s: %s\n", a->allowed_text, a->at_text,
           allowed ? "allowed" : "NOT allowed");
}

int cmd_kms_history(int argc, char **argv) {
  args a;
  int pr = parse_args(argc, argv, &a);
  if (pr == 1) {
    usage(stdout);
    return TLOG_EXIT_OK;
  }
  if (pr) return TLOG_EXIT_USAGE;
  char err[512];
  eth_rpc *rpc = eth_rpc_new(a.url, err, sizeof err);
  if (!rpc) return tlog_fail("kms-history", a.json, TLOG_EXIT_USAGE, err);
  kms_history h;
  kms_err ke = kms_history_load(rpc, &a.scan, &h, err, sizeof err);
  eth_rpc_free(rpc);
  if (ke != KMS_OK) return tlog_fail("kms-history", a.json, TLOG_EXIT_USAGE, err);
  if (h.creation_unknown)
    fprintf(stderr, "tlog kms-history: the node keeps no state for old blocks, so the contracts' "
                    "creation blocks are unknown: read from block 0 (%llu requests); give "
                    "--from-block to start later\n", (unsigned long long)h.requests);
  int allowed = a.allowed_text ? kms_history_allowed_at(&h, a.want, (uint64_t)a.at) : 1;
  int rc = 0;
  if (a.json) rc = print_json(&a, &h, allowed);
  else print_table(&a, &h, allowed);
  kms_history_free(&h);
  if (rc) return TLOG_EXIT_USAGE;
  return allowed ? TLOG_EXIT_OK : TLOG_EXIT_FAILED;
}
