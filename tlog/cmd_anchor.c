/* tlog anchor: deploy the TreeHeadAnchor contract, register a log's anchorer, and read
 * a log's anchored head and its history of Anchored events from the chain.
 *
 *   tlog anchor deploy   --rpc URL --key KEYFILE
 *   tlog anchor register --rpc URL --key KEYFILE --contract 0xC --origin ORIGIN --anchorer 0xA
 *   tlog anchor rotate   --rpc URL --key KEYFILE --contract 0xC --origin ORIGIN --anchorer 0xA
 *   tlog anchor status   --rpc URL --contract 0xC --origin ORIGIN [--json]
 *   tlog anchor list     --rpc URL --contract 0xC --origin ORIGIN [--from-block N] [--json]
 *   tlog anchor address  --key KEYFILE
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "anchor/anchor.h"
#include "anchor/tx.h"
#include "base/hex.h"
#include "base/num.h"
#include "tlog/commands.h"

typedef struct anchor_args {
  const char *rpc, *key, *contract, *origin, *anchorer;
  uint64_t chain_id, from_block;
  unsigned confirmations, timeout_s;
  int json;
} anchor_args;

static void usage(FILE *f) {
  fprintf(f,
          "usage: tlog anchor <action> [options]\n"
          "\n"
          "  deploy   --rpc URL --key KEYFILE\n"
          "           deploys TreeHeadAnchor (owner: the key) and prints its address\n"
          "  register --rpc URL --key KEYFILE --contract 0xC --origin ORIGIN --anchorer 0xA\n"
          "           owner only, once per log: who may anchor the log's heads\n"
          "  rotate   --rpc URL --key KEYFILE --contract 0xC --origin ORIGIN --anchorer 0xA\n"
          "           owner only: replaces the log's anchorer (evented)\n"
          "  status   --rpc URL --contract 0xC --origin ORIGIN [--json]\n"
          "           the anchored head: size, root, anchorer\n"
          "  list     --rpc URL --contract 0xC --origin ORIGIN [--from-block N] [--json]\n"
          "           every Anchored event: size, root, checkpoint hash, block, time, tx\n"
          "  address  --key KEYFILE\n"
          "           the address of a key (to register it as an anchorer)\n"
          "\n"
          "KEYFILE holds a secp256k1 private key: 64 hex digits, optional 0x and newline.\n"
          "The log id is SHA-256(ORIGIN). Other options: --chain-id N (refuse another\n"
          "chain; Base 8453, Base Sepolia 84532), --confirmations N (default 1),\n"
          "--timeout SECONDS (default 120).\n"
          "With --json, list prints [{\"size\",\"root\",\"checkpoint_hash\",\"block\",\"time\",\"tx\"}]:\n"
          "root and checkpoint_hash in hex, tx as 0x-hex, time in Unix seconds of the block.\n"
          "Exit status: 0 done, 1 refused by the contract or the chain, 2 usage or I/O error.\n");
}

static int parse_u64(const char *s, uint64_t *out) {
  return xt_parse_u64(s, 0, 0, UINT64_MAX, out) == XT_OK ? 0 : -1;
}

static int parse_args(int argc, char **argv, anchor_args *a) {
  static const struct option opts[] = {
      {"rpc", required_argument, NULL, 'r'},      {"key", required_argument, NULL, 'k'},
      {"contract", required_argument, NULL, 'c'}, {"origin", required_argument, NULL, 'o'},
      {"anchorer", required_argument, NULL, 'a'}, {"chain-id", required_argument, NULL, 'i'},
      {"from-block", required_argument, NULL, 'f'}, {"confirmations", required_argument, NULL, 'n'},
      {"timeout", required_argument, NULL, 't'},  {"json", no_argument, NULL, 'j'},
      {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
  };
  memset(a, 0, sizeof *a);
  a->confirmations = 1;
  a->timeout_s = 120;
  optind = 1;
  opterr = 0;
  int ch;
  uint64_t v;
  while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (ch) {
    case 'r': a->rpc = optarg; break;
    case 'k': a->key = optarg; break;
    case 'c': a->contract = optarg; break;
    case 'o': a->origin = optarg; break;
    case 'a': a->anchorer = optarg; break;
    case 'j': a->json = 1; break;
    case 'i':
      if (parse_u64(optarg, &a->chain_id) || !a->chain_id) goto bad_number;
      break;
    case 'f':
      if (parse_u64(optarg, &a->from_block)) goto bad_number;
      break;
    case 'n':
      if (parse_u64(optarg, &v) || v == 0 || v > 1000) goto bad_number;
      a->confirmations = (unsigned)v;
      break;
    case 't':
      if (parse_u64(optarg, &v) || v == 0 || v > 86400) goto bad_number;
      a->timeout_s = (unsigned)v;
      break;
    case 'h': usage(stdout); return 1;
    default:
      fprintf(stderr, "tlog anchor: unknown or incomplete option '%s'\n", argv[optind - 1]);
      return -1;
    }
  }
  if (optind != argc) {
    fprintf(stderr, "tlog anchor: unexpected argument '%s'\n", argv[optind]);
    return -1;
  }
  return 0;
bad_number:
  fprintf(stderr, "tlog anchor: '%s' is not a valid number for %s\n", optarg, argv[optind - 1]);
  return -1;
}

static int require(const char *value, const char *flag, const char *action) {
  if (value) return 0;
  fprintf(stderr, "tlog anchor %s: %s is required (see tlog anchor --help)\n", action, flag);
  return -1;
}

/* Status of a failed anchor call -> exit code: the chain or contract said no -> 1. */
static int exit_for(int rc) {
  switch (rc) {
  case ANCHOR_ERR_REJECTED:
  case ANCHOR_ERR_INCONSISTENT:
  case ANCHOR_ERR_REVERTED:
  case ANCHOR_ERR_CHAIN:
    return TLOG_EXIT_FAILED;
  default:
    return TLOG_EXIT_USAGE;
  }
}

/* Progress of a long event scan, on a terminal only, at most ten times a second. */
static void show_progress(void *ctx, uint64_t block, uint64_t latest) {
  struct timespec *last = ctx, now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  if (block < latest && (now.tv_sec - last->tv_sec) * 1000 + (now.tv_nsec - last->tv_nsec) / 1000000 < 100)
    return;
  *last = now;
  fprintf(stderr, "\rscanning blocks: %llu / %llu%s", (unsigned long long)block, (unsigned long long)latest,
          block >= latest ? "\r\033[K" : "");
}

static struct timespec progress_last;

static anchor_client *open_client(const anchor_args *a, int with_key, int with_contract,
                                  const char *action) {
  uint8_t key[32];
  char err[512];
  if (with_key && eth_key_read_file(a->key, key, err, sizeof err)) {
    fprintf(stderr, "tlog anchor %s: %s\n", action, err);
    return NULL;
  }
  anchor_options o;
  anchor_options_default(&o);
  o.chain_id = a->chain_id;
  o.confirmations = a->confirmations;
  o.deadline_ms = a->timeout_s * 1000u;
  if (o.resend_after_ms > o.deadline_ms / 2) o.resend_after_ms = o.deadline_ms / 2;
  if (isatty(STDERR_FILENO)) {
    o.progress = show_progress;
    o.progress_ctx = &progress_last;
  }
  anchor_client *c = anchor_client_new(a->rpc, with_contract ? a->contract : NULL,
                                       with_key ? key : NULL, &o, err, sizeof err);
  memset(key, 0, sizeof key);
  if (!c) fprintf(stderr, "tlog anchor %s: %s\n", action, err);
  return c;
}

static int do_deploy(const anchor_args *a) {
  if (require(a->rpc, "--rpc", "deploy") || require(a->key, "--key", "deploy")) return TLOG_EXIT_USAGE;
  anchor_client *c = open_client(a, 1, 0, "deploy");
  if (!c) return TLOG_EXIT_USAGE;
  uint8_t addr[20], tx[32];
  char err[512], s[43], th[67];
  int rc = anchor_deploy(c, addr, tx, err, sizeof err);
  anchor_client_free(c);
  if (rc) {
    fprintf(stderr, "tlog anchor deploy: %s\n", err);
    return exit_for(rc);
  }
  eth_address_format(addr, s);
  xt_hex_encode0x(tx, 32, th);
  printf("%s\n", s);
  fprintf(stderr, "deployed in transaction %s\n", th);
  return TLOG_EXIT_OK;
}

static int do_register(const anchor_args *a, int rotate) {
  const char *action = rotate ? "rotate" : "register";
  if (require(a->rpc, "--rpc", action) || require(a->key, "--key", action) ||
      require(a->contract, "--contract", action) || require(a->origin, "--origin", action) ||
      require(a->anchorer, "--anchorer", action))
    return TLOG_EXIT_USAGE;
  uint8_t who[20];
  if (eth_address_parse(a->anchorer, who)) {
    fprintf(stderr, "tlog anchor %s: --anchorer '%s' is not an address (0x + 40 hex digits)\n", action,
            a->anchorer);
    return TLOG_EXIT_USAGE;
  }
  anchor_client *c = open_client(a, 1, 1, action);
  if (!c) return TLOG_EXIT_USAGE;
  uint8_t log_id[32], tx[32];
  char err[512], th[67], s[43];
  anchor_log_id(a->origin, log_id);
  int rc = rotate ? anchor_rotate(c, log_id, who, tx, err, sizeof err)
                  : anchor_register(c, log_id, who, tx, err, sizeof err);
  anchor_client_free(c);
  if (rc) {
    fprintf(stderr, "tlog anchor %s: %s\n", action, err);
    return exit_for(rc);
  }
  xt_hex_encode0x(tx, 32, th);
  eth_address_format(who, s);
  printf("%s %s as anchorer of %s in transaction %s\n", rotate ? "rotated to" : "registered", s, a->origin, th);
  return TLOG_EXIT_OK;
}

static int do_status(const anchor_args *a) {
  if (require(a->rpc, "--rpc", "status") || require(a->contract, "--contract", "status") ||
      require(a->origin, "--origin", "status"))
    return TLOG_EXIT_USAGE;
  anchor_client *c = open_client(a, 0, 1, "status");
  if (!c) return TLOG_EXIT_USAGE;
  uint8_t log_id[32], root[32], who[20], caddr[20];
  uint64_t size;
  char err[512];
  anchor_log_id(a->origin, log_id);
  int rc = anchor_get_head(c, log_id, &size, root, who, err, sizeof err);
  anchor_client_contract(c, caddr);
  anchor_client_free(c);
  if (rc) {
    fprintf(stderr, "tlog anchor status: %s\n", err);
    return exit_for(rc);
  }
  static const uint8_t zero[20];
  int registered = memcmp(who, zero, 20) != 0;
  char rh[65], idh[65], ws[43], cs[43];
  xt_hex_encode(root, 32, rh);
  xt_hex_encode(log_id, 32, idh);
  eth_address_format(who, ws);
  eth_address_format(caddr, cs);
  if (a->json) {
    json_t *o = json_pack("{s:s, s:s, s:s, s:b, s:o, s:I, s:o}", "contract", cs, "origin", a->origin,
                          "log_id", idh, "registered", registered, "anchorer",
                          registered ? json_string(ws) : json_null(), "size", (json_int_t)size, "root",
                          size ? json_string(rh) : json_null());
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!s) {
      fprintf(stderr, "tlog anchor status: out of memory\n");
      return TLOG_EXIT_USAGE;
    }
    printf("%s\n", s);
    free(s);
  } else {
    printf("contract  %s\norigin    %s\nlog id    %s\n", cs, a->origin, idh);
    if (!registered) {
      printf("anchorer  (not registered)\n");
    } else {
      printf("anchorer  %s\n", ws);
      if (size)
        printf("size      %llu\nroot      %s\n", (unsigned long long)size, rh);
      else
        printf("size      0 (nothing anchored yet)\n");
    }
  }
  return TLOG_EXIT_OK;
}

typedef struct list_ctx {
  int json;
  json_t *arr;
  uint64_t count;
} list_ctx;

static int on_event(void *vctx, const anchor_event *e) {
  list_ctx *l = vctx;
  char rh[65], ch[65], th[67];
  xt_hex_encode(e->root, 32, rh);
  xt_hex_encode(e->checkpoint_hash, 32, ch);
  xt_hex_encode0x(e->tx_hash, 32, th);
  l->count++;
  if (l->json) {
    json_t *o = json_pack("{s:I, s:s, s:s, s:I, s:I, s:s}", "size", (json_int_t)e->size, "root", rh,
                          "checkpoint_hash", ch, "block", (json_int_t)e->block, "time",
                          (json_int_t)e->time, "tx", th);
    if (!o || json_array_append_new(l->arr, o)) return ANCHOR_ERR_NOMEM;
    return 0;
  }
  char when[32];
  time_t t = (time_t)e->time;
  struct tm tm;
  if (!gmtime_r(&t, &tm) || !strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm))
    snprintf(when, sizeof when, "%llu", (unsigned long long)e->time);
  printf("%-10llu %-20s %12llu  %s  %s  %s\n", (unsigned long long)e->block, when,
         (unsigned long long)e->size, rh, ch, th);
  return 0;
}

static int do_list(const anchor_args *a) {
  if (require(a->rpc, "--rpc", "list") || require(a->contract, "--contract", "list") ||
      require(a->origin, "--origin", "list"))
    return TLOG_EXIT_USAGE;
  anchor_client *c = open_client(a, 0, 1, "list");
  if (!c) return TLOG_EXIT_USAGE;
  list_ctx l = {a->json, a->json ? json_array() : NULL, 0};
  if (a->json && !l.arr) {
    anchor_client_free(c);
    fprintf(stderr, "tlog anchor list: out of memory\n");
    return TLOG_EXIT_USAGE;
  }
  if (!a->json)
    printf("%-10s %-20s %12s  %-64s  %-64s  %s\n", "block", "time (UTC)", "size", "root",
           "checkpoint_hash", "tx");
  uint8_t log_id[32];
  char err[512];
  anchor_log_id(a->origin, log_id);
  int rc = anchor_list(c, log_id, a->from_block, on_event, &l, err, sizeof err);
  anchor_client_free(c);
  if (rc) {
    json_decref(l.arr);
    fprintf(stderr, "tlog anchor list: %s\n", rc == ANCHOR_ERR_NOMEM ? "out of memory" : err);
    return exit_for(rc);
  }
  if (a->json) {
    char *s = json_dumps(l.arr, JSON_COMPACT);
    json_decref(l.arr);
    if (!s) {
      fprintf(stderr, "tlog anchor list: out of memory\n");
      return TLOG_EXIT_USAGE;
    }
    printf("%s\n", s);
    free(s);
  } else if (l.count == 0) {
    printf("(no anchors)\n");
  }
  return TLOG_EXIT_OK;
}

static int do_address(const anchor_args *a) {
  if (require(a->key, "--key", "address")) return TLOG_EXIT_USAGE;
  uint8_t key[32], addr[20];
  char err[512], s[43];
  if (eth_key_read_file(a->key, key, err, sizeof err)) {
    fprintf(stderr, "tlog anchor address: %s\n", err);
    return TLOG_EXIT_USAGE;
  }
  int rc = eth_address_from_key(key, addr);
  memset(key, 0, sizeof key);
  if (rc) {
    fprintf(stderr, "tlog anchor address: invalid key\n");
    return TLOG_EXIT_USAGE;
  }
  eth_address_format(addr, s);
  printf("%s\n", s);
  return TLOG_EXIT_OK;
}

int cmd_anchor(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return TLOG_EXIT_USAGE;
  }
  const char *action = argv[1];
  if (!strcmp(action, "--help") || !strcmp(action, "-h") || !strcmp(action, "help")) {
    usage(stdout);
    return TLOG_EXIT_OK;
  }
  anchor_args a;
  int p = parse_args(argc - 1, argv + 1, &a);
  if (p > 0) return TLOG_EXIT_OK;
  if (p < 0) return TLOG_EXIT_USAGE;
  if (!strcmp(action, "deploy")) return do_deploy(&a);
  if (!strcmp(action, "register")) return do_register(&a, 0);
  if (!strcmp(action, "rotate")) return do_register(&a, 1);
  if (!strcmp(action, "status")) return do_status(&a);
  if (!strcmp(action, "list")) return do_list(&a);
  if (!strcmp(action, "address")) return do_address(&a);
  fprintf(stderr, "tlog anchor: unknown action '%s' (deploy, register, rotate, status, list, address)\n",
          action);
  return TLOG_EXIT_USAGE;
}
