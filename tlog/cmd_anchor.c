/* tlog anchor: deploy the TreeHeadAnchor contract, register a log's anchorer, and read
 * a log's anchored head and its history of Anchored events from the chain.
 *
 *   tlog anchor deploy   --rpc URL --private-key KEYFILE
 *   tlog anchor register --rpc URL --private-key KEYFILE --contract 0xC --origin ORIGIN --anchorer 0xA
 *   tlog anchor rotate   --rpc URL --private-key KEYFILE --contract 0xC --origin ORIGIN --anchorer 0xA
 *   tlog anchor status   --rpc URL --contract 0xC --origin ORIGIN [--from-block N] [--json]
 *   tlog anchor list     --rpc URL --contract 0xC --origin ORIGIN [--from-block N] [--json]
 *   tlog anchor address  --private-key KEYFILE
 *
 * --key is the old name of --private-key, kept for one release: everywhere else in tlog
 * --key is a verifier key, and one flag name must mean one thing.
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
#include "anchor/logscan.h"
#include "anchor/rpc.h"
#include "base/num.h"
#include "client/anchors.h"
#include "tlog/commands.h"

typedef struct anchor_args {
  const char *rpc, *key, *contract, *origin, *anchorer;
  uint64_t chain_id, from_block;
  unsigned confirmations, timeout_s;
  int json, have_from;
  char given[16];     /* the options given, by getopt value (to refuse those an action ignores) */
  char cmd[32];       /* "anchor ACTION", for messages */
} anchor_args;

static void usage(FILE *f) {
  fprintf(f,
          "usage: tlog anchor <action> [options]\n"
          "\n"
          "  deploy   --rpc URL --private-key KEYFILE [--json]\n"
          "           deploys TreeHeadAnchor (owner: the key) and prints its address; its\n"
          "           deployment block (give it to scans as --from-block) on stderr, or\n"
          "           {contract, tx, block} with --json\n"
          "  register --rpc URL --private-key KEYFILE --contract 0xC --origin ORIGIN --anchorer 0xA\n"
          "           owner only, once per log: who may anchor the log's heads\n"
          "  rotate   --rpc URL --private-key KEYFILE --contract 0xC --origin ORIGIN --anchorer 0xA\n"
          "           owner only: replaces the log's anchorer (evented)\n"
          "  status   --rpc URL --contract 0xC --origin ORIGIN [--from-block N] [--json]\n"
          "           the anchored head: size, root, anchorer, and the contract's\n"
          "           deployment block (--from-block N: the recorded one; otherwise found\n"
          "           by binary search over eth_getCode)\n"
          "  list     --rpc URL --contract 0xC --origin ORIGIN [--from-block N] [--json]\n"
          "           every Anchored event: size, root, checkpoint hash, block, time, tx,\n"
          "           read from block N (default: the deployment block) in ranges of\n"
          "           2,000 blocks\n"
          "  address  --private-key KEYFILE [--json]\n"
          "           the address of a key (to register it as an anchorer)\n"
          "\n"
          "KEYFILE holds a secp256k1 private key: 64 hex digits, optional 0x and newline.\n"
          "The log id is SHA-256(ORIGIN). Other options: --chain-id N (refuse another\n"
          "chain; Base 8453, Base Sepolia 84532), --confirmations N (default 1),\n"
          "--timeout SECONDS (default 120).\n"
          "Deprecated: `--key KEYFILE` is the former name of `--private-key`, kept for this\n"
          "release only (it prints a warning); everywhere else in tlog, --key is a verifier key.\n"
          "With --json, list prints [{\"size\",\"root\",\"checkpoint_hash\",\"block\",\"time\",\"tx\"}]:\n"
          "root and checkpoint_hash in hex, tx as 0x-hex, time in Unix seconds of the block.\n"
          "Exit status: 0 done, 1 refused by the contract or the chain, 2 usage or I/O error.\n");
}

static int parse_u64(const char *s, uint64_t *out) {
  return xt_parse_u64(s, 0, 0, UINT64_MAX, out) == XT_OK ? 0 : -1;
}

/* The options each action takes (getopt values): its own, and the node options
 * (--chain-id, --confirmations, --timeout) and --json, which the help gives every action. */
static const char *action_options(const char *action) {
  static const struct {
    const char *action, *opts;
  } t[] = {{"deploy", "rKintj"},       {"register", "rKcoaintj"}, {"rotate", "rKcoaintj"},
           {"status", "rcoifintj"},    {"list", "rcoifintj"},     {"address", "Kintj"}};
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
    if (!strcmp(t[i].action, action)) return t[i].opts;
  return NULL;
}

static const char *option_name(int ch) {
  switch (ch) {
  case 'r': return "--rpc";
  case 'K': return "--private-key";
  case 'c': return "--contract";
  case 'o': return "--origin";
  case 'a': return "--anchorer";
  case 'i': return "--chain-id";
  case 'f': return "--from-block";
  case 'n': return "--confirmations";
  case 't': return "--timeout";
  default: return "--json";
  }
}

static int parse_args(int argc, char **argv, anchor_args *a) {
  static const struct option opts[] = {
      {"rpc", required_argument, NULL, 'r'},      {"key", required_argument, NULL, 'k'},
      {"private-key", required_argument, NULL, 'K'},
      {"contract", required_argument, NULL, 'c'}, {"origin", required_argument, NULL, 'o'},
      {"anchorer", required_argument, NULL, 'a'}, {"chain-id", required_argument, NULL, 'i'},
      {"from-block", required_argument, NULL, 'f'}, {"confirmations", required_argument, NULL, 'n'},
      {"timeout", required_argument, NULL, 't'},  {"json", no_argument, NULL, 'j'},
      {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
  };
  char cmd[32];
  snprintf(cmd, sizeof cmd, "%s", a->cmd);
  memset(a, 0, sizeof *a);
  snprintf(a->cmd, sizeof a->cmd, "%s", cmd);
  a->confirmations = 1;
  a->timeout_s = 120;
  optind = 1;
  int ch;
  uint64_t v;
  while ((ch = tlog_getopt(a->cmd, argc, argv, opts)) != -1) {
    if (ch != '?' && ch != 'h' && !strchr(a->given, ch == 'k' ? 'K' : ch) && strlen(a->given) < sizeof a->given - 1)
      a->given[strlen(a->given)] = (char)(ch == 'k' ? 'K' : ch);
    switch (ch) {
    case 'r': a->rpc = optarg; break;
    case 'k':
      fprintf(stderr, "tlog %s: warning: --key is deprecated here; use --private-key (in the next "
                      "release --key will be refused by tlog anchor)\n", a->cmd);
      /* fall through */
    case 'K': a->key = optarg; break;
    case 'c': a->contract = optarg; break;
    case 'o': a->origin = optarg; break;
    case 'a': a->anchorer = optarg; break;
    case 'j': a->json = 1; break;
    case 'i':
      if (parse_u64(optarg, &a->chain_id) || !a->chain_id) goto bad_number;
      break;
    case 'f':
      if (logscan_parse_block(optarg, &a->from_block)) goto bad_number;
      a->have_from = 1;
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
    default: return -1;
    }
  }
  if (tlog_no_extra_args(a->cmd, argc, argv)) return -1;
  return 0;
bad_number:
  tlog_usage_error(a->cmd, "'%s' is not a valid number for %s", optarg, argv[optind - 1]);
  return -1;
}

/* Refuses an option the action does not take: silently ignoring it would let a user
 * believe it did something. */
static int check_applies(const anchor_args *a, const char *action) {
  const char *ok = action_options(action);
  for (const char *g = a->given; ok && *g; g++)
    if (!strchr(ok, *g))
      return tlog_usage_error(a->cmd, "option '%s' does not apply to 'anchor %s'", option_name(*g), action);
  return 0;
}

static int require(const char *value, const char *flag, const char *action) {
  if (value) return 0;
  char cmd[32];
  snprintf(cmd, sizeof cmd, "anchor %s", action);
  tlog_usage_error(cmd, "missing %s", flag);
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

/* The block of a mined transaction (the deployment's: where every scan of the contract's
 * events may start). Returns 0, or -1 with err. */
static int tx_block(const char *rpc, const uint8_t tx[32], uint64_t *block, char *err, size_t errcap) {
  eth_rpc *r = eth_rpc_new(rpc, err, errcap);
  if (!r) return -1;
  eth_receipt rc;
  int found = 0, st = eth_get_transaction_receipt(r, tx, &rc, &found);
  if (st != ETH_RPC_OK || !found) xt_errf(err, errcap, "receipt: %s", st ? eth_rpc_error(r) : "not found");
  eth_rpc_free(r);
  if (st != ETH_RPC_OK || !found) return -1;
  *block = rc.block_number;
  return 0;
}

/* Prints one JSON document, or says it could not. */
static int print_json(const char *cmd, json_t *o) {
  int rc = tlog_json_print(o);
  json_decref(o);
  return rc ? tlog_fail(cmd, false, TLOG_EXIT_USAGE, "out of memory") : TLOG_EXIT_OK;
}

static int do_deploy(const anchor_args *a) {
  if (require(a->rpc, "--rpc", "deploy") || require(a->key, "--private-key", "deploy")) return TLOG_EXIT_USAGE;
  anchor_client *c = open_client(a, 1, 0, "deploy");
  if (!c) return TLOG_EXIT_USAGE;
  uint8_t addr[20], tx[32];
  char err[512], s[43], th[67];
  int rc = anchor_deploy(c, addr, tx, err, sizeof err);
  anchor_client_free(c);
  if (rc) return tlog_fail("anchor deploy", a->json, exit_for(rc), err);
  eth_address_format(addr, s);
  xt_hex_encode0x(tx, 32, th);
  uint64_t block = 0;
  if (tx_block(a->rpc, tx, &block, err, sizeof err)) {
    /* Deployed all the same: say so, and what is missing. */
    fprintf(stderr, "tlog anchor deploy: deployed %s in transaction %s, but its block is unknown (%s)\n", s,
            th, err);
    printf("%s\n", s);
    return TLOG_EXIT_USAGE;
  }
  if (a->json)
    return print_json("anchor deploy",
                      json_pack("{s:s,s:s,s:I}", "contract", s, "tx", th, "block", (json_int_t)block));
  printf("%s\n", s);
  fprintf(stderr, "tlog anchor deploy: deployed in transaction %s at block %llu (record it: scans take --from-block %llu)\n", th,
          (unsigned long long)block, (unsigned long long)block);
  return TLOG_EXIT_OK;
}

static int do_register(const anchor_args *a, int rotate) {
  const char *action = rotate ? "rotate" : "register";
  if (require(a->rpc, "--rpc", action) || require(a->key, "--private-key", action) ||
      require(a->contract, "--contract", action) || require(a->origin, "--origin", action) ||
      require(a->anchorer, "--anchorer", action))
    return TLOG_EXIT_USAGE;
  uint8_t who[20];
  if (eth_address_parse(a->anchorer, who))
    return tlog_usage_error(a->cmd, "--anchorer '%s' is not an address (0x + 40 hex digits)", a->anchorer);
  anchor_client *c = open_client(a, 1, 1, action);
  if (!c) return TLOG_EXIT_USAGE;
  uint8_t log_id[32], tx[32];
  char err[512], th[67], s[43];
  anchor_log_id(a->origin, log_id);
  int rc = rotate ? anchor_rotate(c, log_id, who, tx, err, sizeof err)
                  : anchor_register(c, log_id, who, tx, err, sizeof err);
  anchor_client_free(c);
  if (rc) return tlog_fail(a->cmd, a->json, exit_for(rc), err);
  xt_hex_encode0x(tx, 32, th);
  eth_address_format(who, s);
  if (a->json)
    return print_json(rotate ? "anchor rotate" : "anchor register",
                      json_pack("{s:s,s:s,s:s,s:s}", "action", action, "anchorer", s, "origin", a->origin, "tx", th));
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
  if (anchor_client_contract(c, caddr) != ANCHOR_OK) memset(caddr, 0, sizeof caddr);
  anchor_client_free(c);
  if (rc) return tlog_fail("anchor status", a->json, exit_for(rc), err);
  /* The deployment block: the recorded one, else searched (a node without old state
   * cannot say: shown as unknown, which only makes scans slower). */
  uint64_t deployed = a->from_block;
  const char *how = "given";
  char derr[400] = "";
  if (!a->have_from) {
    how = "found";
    if (tlog_contract_creation(a->rpc, a->contract, &deployed, derr, sizeof derr) != TLOG_OK) how = NULL;
  }
  static const uint8_t zero[20];
  int registered = memcmp(who, zero, 20) != 0;
  char rh[65], idh[65], ws[43], cs[43];
  xt_hex_encode(root, 32, rh);
  xt_hex_encode(log_id, 32, idh);
  eth_address_format(who, ws);
  eth_address_format(caddr, cs);
  if (a->json) {
    json_t *o = json_pack("{s:s, s:s, s:s, s:b, s:o, s:I, s:o, s:o}", "contract", cs, "origin", a->origin,
                          "log_id", idh, "registered", registered, "anchorer",
                          registered ? json_string(ws) : json_null(), "size", (json_int_t)size, "root",
                          size ? json_string(rh) : json_null(), "deployment_block",
                          how ? json_integer((json_int_t)deployed) : json_null());
    return print_json("anchor status", o);
  } else {
    printf("contract  %s\n", cs);
    if (how)
      printf("deployed  block %llu (%s)\n", (unsigned long long)deployed,
             !strcmp(how, "given") ? "--from-block" : "found by eth_getCode search");
    else
      printf("deployed  unknown (%s; give --from-block)\n", derr);
    printf("origin    %s\nlog id    %s\n", a->origin, idh);
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

/* The node's chain id against --chain-id (the anchor client checks it for the other
 * actions). Returns 0, or the exit status after saying why. */
static int check_chain_id(const anchor_args *a) {
  if (!a->chain_id) return 0;
  char err[300];
  eth_rpc *r = eth_rpc_new(a->rpc, err, sizeof err);
  uint64_t id = 0;
  int rc = r ? eth_chain_id(r, &id) : ETH_RPC_ERR_ARG;
  if (r && rc) xt_errf(err, sizeof err, "eth_chainId: %s", eth_rpc_error(r));
  eth_rpc_free(r);
  if (rc) return tlog_fail("anchor list", a->json, TLOG_EXIT_USAGE, err);
  if (id == a->chain_id) return 0;
  xt_errf(err, sizeof err, "the node serves chain %llu, expected %llu", (unsigned long long)id,
          (unsigned long long)a->chain_id);
  return tlog_fail("anchor list", a->json, TLOG_EXIT_FAILED, err);
}

static void print_anchor_row(const tlog_anchor *e) {
  char rh[65], ch[65], th[67], when[21];
  xt_hex_encode(e->root, 32, rh);
  xt_hex_encode(e->checkpoint_hash, 32, ch);
  xt_hex_encode0x(e->tx, 32, th);
  tlog_datetime(e->time, when);
  printf("%-10llu %-20s %12llu  %s  %s  %s\n", (unsigned long long)e->block, when,
         (unsigned long long)e->size, rh, ch, th);
}

static int do_list(const anchor_args *a) {
  if (require(a->rpc, "--rpc", "list") || require(a->contract, "--contract", "list") ||
      require(a->origin, "--origin", "list"))
    return TLOG_EXIT_USAGE;
  uint8_t caddr[20];
  if (eth_address_parse(a->contract, caddr))
    return tlog_usage_error("anchor list", "--contract '%s' is not an address (0x + 40 hex digits)", a->contract);
  int rc = check_chain_id(a);
  if (rc) return rc;
  tlog_chain_scan sc = tlog_chain_scan_default();
  if (a->have_from) sc.from_block = a->from_block;
  tlog_anchors l;
  char err[600];
  rc = tlog_anchors_scan(a->rpc, a->contract, a->origin, &sc, &l, err, sizeof err);
  if (rc) return tlog_fail("anchor list", a->json, rc, err);
  if (sc.creation_unknown)
    fprintf(stderr, "tlog anchor list: the node cannot say when the contract was deployed; read from block 0 "
                    "(give --from-block)\n");
  if (a->json) {
    rc = print_json("anchor list", tlog_anchors_json(&l));
  } else {
    printf("%-10s %-20s %12s  %-64s  %-64s  %s\n", "block", "time (UTC)", "size", "root",
           "checkpoint_hash", "tx");
    for (size_t i = 0; i < l.n; i++) print_anchor_row(&l.a[i]);
    if (l.n == 0) printf("(no anchors)\n");
  }
  tlog_anchors_free(&l);
  return rc;
}

static int do_address(const anchor_args *a) {
  if (require(a->key, "--private-key", "address")) return TLOG_EXIT_USAGE;
  uint8_t key[32], addr[20];
  char err[512], s[43];
  if (eth_key_read_file(a->key, key, err, sizeof err))
    return tlog_fail("anchor address", a->json, TLOG_EXIT_USAGE, err);
  int rc = eth_address_from_key(key, addr);
  memset(key, 0, sizeof key);
  if (rc) return tlog_fail("anchor address", a->json, TLOG_EXIT_USAGE, "invalid key");
  eth_address_format(addr, s);
  if (a->json) return print_json("anchor address", json_pack("{s:s}", "address", s));
  printf("%s\n", s);
  return TLOG_EXIT_OK;
}

int cmd_anchor(int argc, char **argv) {
  if (argc < 2) return tlog_usage_error("anchor", "missing action (deploy, register, rotate, status, list, address)");
  const char *action = argv[1];
  if (!strcmp(action, "--help") || !strcmp(action, "-h") || !strcmp(action, "help")) {
    usage(stdout);
    return TLOG_EXIT_OK;
  }
  if (!action_options(action))
    return tlog_usage_error("anchor", "unknown action '%s' (deploy, register, rotate, status, list, address)", action);
  anchor_args a;
  snprintf(a.cmd, sizeof a.cmd, "anchor %s", action);
  int p = parse_args(argc - 1, argv + 1, &a);
  if (p > 0) return TLOG_EXIT_OK;
  if (p < 0 || check_applies(&a, action)) return TLOG_EXIT_USAGE;
  if (!strcmp(action, "deploy")) return do_deploy(&a);
  if (!strcmp(action, "register")) return do_register(&a, 0);
  if (!strcmp(action, "rotate")) return do_register(&a, 1);
  if (!strcmp(action, "status")) return do_status(&a);
  if (!strcmp(action, "list")) return do_list(&a);
  return do_address(&a);
}
