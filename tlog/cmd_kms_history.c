/* cmd_kms_history.c: `tlog kms-history`: what a dstack app's KMS contract allowed, when.
 *
 *   tlog kms-history --rpc URL --app 0xAPP [--from-block N] [--to-block N] [--json]
 *                    [--allowed HASH --at RFC3339]
 *
 * Lists every ComposeHashAdded / ComposeHashRemoved / Upgraded / OwnershipTransferred
 * event with its block time. With --allowed and --at, also says whether that compose
 * hash was allowed at that time (exit 1 if not). */
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anchor/rpc.h"
#include "base/hex.h"
#include "base/num.h"
#include "base/time.h"
#include "client/kms.h"
#include "tlog/commands.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: tlog kms-history --rpc URL --app 0xAPP [--from-block N] [--to-block N]\n"
          "                        [--json] [--allowed HASH --at RFC3339]\n"
          "\n"
          "Lists the events of a dstack app's KMS contract (compose hashes added and\n"
          "removed, upgrades, ownership transfers) with block times. With --allowed and\n"
          "--at, says whether that compose hash was allowed at that time.\n"
          "Block numbers are decimal (no leading zero) or 0x and 1-16 hex digits.\n"
          "Exit status: 0 ok (and allowed), 1 not allowed, 2 usage, I/O or RPC error.\n");
}

/* A block number: decimal, or "0x" and 1-16 hex digits (JSON-RPC's form; leading zeros
 * allowed). A decimal with a leading zero other than "0" itself is refused: strtoull's
 * base 0, which this replaced, read "010" as octal 8, and refusing it beats reading it
 * differently now. */
static int parse_block(const char *s, uint64_t *out) {
  if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    size_t n = strlen(s + 2);
    if (n == 0 || n > 16 || strspn(s + 2, "0123456789abcdefABCDEF") != n) return -1;
    *out = strtoull(s + 2, NULL, 16); /* at most 16 digits: cannot overflow */
    return 0;
  }
  return xt_parse_u64(s, XT_NUM_CANONICAL, 0, UINT64_MAX, out) == XT_OK ? 0 : -1;
}

/* An event as a JSON object, or NULL when out of memory. */
static json_t *event_json(const kms_event *ev) {
  char hex[67], addr[43], prev[43], when[32];
  json_t *e = json_object();
  if (!e) return NULL;
  (void)xt_format_rfc3339((time_t)ev->block_time, when, sizeof when);
  json_object_set_new(e, "event", json_string(kms_event_name(ev->kind)));
  json_object_set_new(e, "block", json_integer((json_int_t)ev->block_number));
  json_object_set_new(e, "log_index", json_integer((json_int_t)ev->log_index));
  json_object_set_new(e, "time", json_string(when));
  xt_hex_encode0x(ev->tx_hash, 32, hex);
  json_object_set_new(e, "tx", json_string(hex));
  if (ev->kind == KMS_COMPOSE_HASH_ADDED || ev->kind == KMS_COMPOSE_HASH_REMOVED) {
    xt_hex_encode(ev->compose_hash, 32, hex);
    json_object_set_new(e, "compose_hash", json_string(hex));
    return e;
  }
  xt_hex_encode0x(ev->address, 20, addr);
  json_object_set_new(e, ev->kind == KMS_UPGRADED ? "implementation" : "new_owner", json_string(addr));
  if (ev->kind == KMS_OWNERSHIP_TRANSFERRED) {
    xt_hex_encode0x(ev->previous_owner, 20, prev);
    json_object_set_new(e, "previous_owner", json_string(prev));
  }
  return e;
}

/* An event as a table row: block, time, event, compose hash or address. */
static void print_event(const kms_event *ev) {
  char value[67], when[32];
  (void)xt_format_rfc3339((time_t)ev->block_time, when, sizeof when);
  if (ev->kind == KMS_COMPOSE_HASH_ADDED || ev->kind == KMS_COMPOSE_HASH_REMOVED)
    xt_hex_encode(ev->compose_hash, 32, value);
  else
    xt_hex_encode0x(ev->address, 20, value);
  printf("%-8llu  %-20s  %-20s  %s\n", (unsigned long long)ev->block_number, when, kms_event_name(ev->kind), value);
}

int cmd_kms_history(int argc, char **argv) {
  static const struct option opts[] = {
      {"rpc", required_argument, NULL, 'r'},     {"app", required_argument, NULL, 'a'},
      {"from-block", required_argument, NULL, 'f'}, {"to-block", required_argument, NULL, 't'},
      {"json", no_argument, NULL, 'j'},           {"allowed", required_argument, NULL, 'h'},
      {"at", required_argument, NULL, 'T'},       {"help", no_argument, NULL, 'H'},
      {NULL, 0, NULL, 0}};
  const char *url = NULL, *app_text = NULL, *allowed_text = NULL, *at_text = NULL;
  uint64_t from = 0, to = ETH_BLOCK_LATEST;
  bool as_json = false;
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (c) {
      case 'r': url = optarg; break;
      case 'a': app_text = optarg; break;
      case 'f':
        if (parse_block(optarg, &from)) goto bad_usage;
        break;
      case 't':
        if (parse_block(optarg, &to)) goto bad_usage;
        break;
      case 'j': as_json = true; break;
      case 'h': allowed_text = optarg; break;
      case 'T': at_text = optarg; break;
      case 'H': usage(stdout); return TLOG_EXIT_OK;
      default: goto bad_usage;
    }
  }
  uint8_t app[20], want[32];
  time_t at = 0;
  if (optind != argc || !url || !app_text || xt_hex_decode_exact(app_text, XT_HEX_0X, app, 20) != 0 ||
      !allowed_text != !at_text || from > to)
    goto bad_usage;
  if (allowed_text && (xt_hex_decode_exact(allowed_text, XT_HEX_0X, want, 32) != 0 ||
                       xt_parse_rfc3339(at_text, &at) != 0 || at < 0))
    goto bad_usage;

  char err[512];
  eth_rpc *rpc = eth_rpc_new(url, err, sizeof err);
  if (!rpc) {
    fprintf(stderr, "tlog kms-history: %s\n", err);
    return TLOG_EXIT_USAGE;
  }
  kms_history h;
  if (kms_history_load(rpc, app, from, to, &h, err, sizeof err) != 0) {
    fprintf(stderr, "tlog kms-history: %s\n", err);
    eth_rpc_free(rpc);
    return TLOG_EXIT_USAGE;
  }
  eth_rpc_free(rpc);

  int allowed = allowed_text ? kms_history_allowed_at(&h, want, (uint64_t)at) : 1;
  if (as_json) {
    json_t *o = json_object(), *arr = json_array();
    bool short_of_memory = !o || !arr;
    for (size_t i = 0; !short_of_memory && i < h.n; i++)
      short_of_memory = json_array_append_new(arr, event_json(&h.events[i])) != 0;
    json_object_set_new(o, "app", json_string(app_text));
    json_object_set_new(o, "events", arr);
    if (allowed_text) json_object_set_new(o, "allowed", json_boolean(allowed));
    char *text = short_of_memory ? NULL : json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    bool printed = text != NULL;
    if (text) puts(text);
    free(text);
    json_decref(o);
    if (!printed) {
      fprintf(stderr, "tlog kms-history: out of memory\n");
      kms_history_free(&h);
      return TLOG_EXIT_USAGE;
    }
  } else {
    printf("%-8s  %-20s  %-20s  %s\n", "block", "time", "event", "value");
    for (size_t i = 0; i < h.n; i++) print_event(&h.events[i]);
    if (allowed_text)
      printf("compose hash %s at %s: %s\n", allowed_text, at_text,
             allowed ? "allowed" : "NOT allowed");
  }
  kms_history_free(&h);
  return allowed ? TLOG_EXIT_OK : TLOG_EXIT_FAILED;

bad_usage:
  usage(stderr);
  return TLOG_EXIT_USAGE;
}
