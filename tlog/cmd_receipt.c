/* cmd_receipt.c: `tlog verify-receipt`: a C2SP tlog-proof receipt (what logd answers to
 * `POST /v1/add?format=tlog-proof`) checked offline: the checkpoint's signature by the
 * auditor's key and the inclusion proof of the entry the holder brings. With --log, the
 * log's current tree must extend the receipt's (a log that dropped the entry later is
 * caught); with --rpc/--contract, the receipt's tree must be on chain: anchored at its
 * size, or contained in a later anchor (proved from the log's tiles, so that needs --log).
 * Missing evidence is a failure: a receipt that the chain cannot vouch for does not pass
 * a chain check. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anchor/logscan.h"
#include "base/file.h"
#include "base/hex.h"
#include "client/anchors.h"
#include "client/common.h"
#include "merkle/merkle.h"
#include "merkle/note.h"
#include "merkle/tile.h"
#include "tlog/commands.h"

#define CMD "verify-receipt"

static void usage(FILE *f) {
  fprintf(f,
          "usage: tlog verify-receipt FILE --key VKEY (--entry FILE | --hash HEX | --log URL|DIR)\n"
          "                           [--log URL|DIR] [--rpc URL --contract 0xADDR] [--from-block N]\n"
          "                           [--json] [--quiet]\n"
          "\n"
          "Verifies a c2sp.org/tlog-proof receipt FILE (\"-\": standard input) offline: the\n"
          "checkpoint's signature by VKEY and the inclusion proof of the entry.\n"
          "  --key VKEY        the log's verifier key (name+hash+base64), or a file holding it\n"
          "  --entry FILE      the entry's exact bytes (one trailing newline ignored)\n"
          "  --hash HEX        the entry's leaf hash (64 hex digits)\n"
          "  --log URL|DIR     also prove that the log's latest checkpoint extends the\n"
          "                    receipt's tree (from tiles); without --entry/--hash the entry\n"
          "                    is read from the log\n"
          "  --rpc URL         with --contract: the receipt's tree must be on chain, anchored\n"
          "                    at its size or inside a later anchor (that needs --log)\n"
          "  --contract 0xADDR the TreeHeadAnchor contract\n"
          "  --from-block N    read anchors from block N (default: the contract's deployment\n"
          "                    block, found by binary search over eth_getCode)\n"
          "  --json            print {verified, index, leaf_hash, origin, size, root, log, chain}\n"
          "  --quiet           print nothing on success\n"
          "Exit status: 0 verified, 1 verification failed, 2 usage or I/O error.\n");
}

typedef struct rargs {
  const char *file, *key, *entry, *hash, *log, *rpc, *contract, *from;
  bool json, quiet;
} rargs;

typedef struct receipt {
  const rargs *g;
  note_verifier v;
  uint64_t index;
  uint8_t proof[MERKLE_MAX_PROOF][MERKLE_HASH_SIZE];
  size_t plen;
  tlog_checkpoint cp;       /* the receipt's checkpoint, verified */
  uint8_t leaf[MERKLE_HASH_SIZE];
  bool have_leaf;
  const char *leaf_from;    /* "--entry", "--hash", "the log" */
  tlog_log l;               /* with --log */
  tile_reader *r;           /* the log's tree, authenticated by its latest checkpoint */
  uint64_t fails;
  json_t *log_report, *chain_report; /* owned; NULL when not checked */
} receipt;

/* Returns 0, or the exit status after --help or a usage error. */
static int parse(int argc, char **argv, rargs *g, bool *done) {
  static const struct option opts[] = {
      {"key", required_argument, 0, 'k'},      {"entry", required_argument, 0, 'e'},
      {"hash", required_argument, 0, 'H'},     {"log", required_argument, 0, 'l'},
      {"rpc", required_argument, 0, 'r'},      {"contract", required_argument, 0, 'c'},
      {"from-block", required_argument, 0, 'f'}, {"json", no_argument, 0, 'j'},
      {"quiet", no_argument, 0, 'q'},          {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0}};
  memset(g, 0, sizeof *g);
  *done = true;
  int c;
  optind = 1;
  /* FILE may come anywhere: getopt_long permutes it to the end. */
  while ((c = tlog_getopt(CMD, argc, argv, opts)) != -1) {
    switch (c) {
    case 'k': g->key = optarg; break;
    case 'e': g->entry = optarg; break;
    case 'H': g->hash = optarg; break;
    case 'l': g->log = optarg; break;
    case 'r': g->rpc = optarg; break;
    case 'c': g->contract = optarg; break;
    case 'f': g->from = optarg; break;
    case 'j': g->json = true; break;
    case 'q': g->quiet = true; break;
    case 'h': usage(stdout); return TLOG_EXIT_OK;
    default: return TLOG_EXIT_USAGE;
    }
  }
  if (optind >= argc) return tlog_usage_error(CMD, "missing FILE (the receipt)");
  g->file = argv[optind++];
  if (tlog_no_extra_args(CMD, argc, argv) || tlog_require(CMD, g->key, "--key")) return TLOG_EXIT_USAGE;
  if (!g->entry && !g->hash && !g->log)
    return tlog_usage_error(CMD, "missing --entry FILE, --hash HEX or --log (the entry the receipt is for)");
  if (g->entry && g->hash) return tlog_usage_error(CMD, "give only one of --entry and --hash");
  uint8_t h[MERKLE_HASH_SIZE];
  if (g->hash && xt_hex_decode_exact(g->hash, XT_HEX_0X, h, sizeof h) != XT_OK)
    return tlog_usage_error(CMD, "--hash '%s' is not a leaf hash (64 hex digits)", g->hash);
  if (!g->rpc != !g->contract)
    return tlog_usage_error(CMD, "missing %s (--rpc and --contract go together)", g->rpc ? "--contract" : "--rpc");
  if (g->from && !g->rpc) return tlog_usage_error(CMD, "--from-block needs --rpc and --contract");
  *done = false;
  return 0;
}

/* The receipt's parts, its checkpoint verified with --key. */
static int read_receipt(receipt *x, char *err, size_t errcap) {
  int rc = tlog_load_verifier(x->g->key, &x->v, err, errcap);
  if (rc) return rc;
  uint8_t *data = NULL;
  size_t len = 0;
  const char *path = strcmp(x->g->file, "-") ? x->g->file : "/dev/stdin";
  if (xt_file_read(path, NOTE_MAX_SIZE + MERKLE_MAX_PROOF * 48 + 4096, &data, &len, err, errcap) != XT_OK)
    return TLOG_EXIT_USAGE;
  const char *note = NULL;
  size_t note_len = 0;
  char perr[300];
  if (tlog_proof_parse((const char *)data, len, &x->index, x->proof, MERKLE_MAX_PROOF, &x->plen, &note, &note_len,
                       perr, sizeof perr) != MERKLE_OK) {
    xt_errf(err, errcap, "%s: not a c2sp.org/tlog-proof receipt: %s", x->g->file, perr);
    free(data);
    return TLOG_EXIT_FAILED;
  }
  rc = tlog_checkpoint_from_text(&x->v, note, note_len, &x->cp, perr, sizeof perr);
  free(data);
  if (rc) xt_errf(err, errcap, "%s: the receipt's checkpoint: %s", x->g->file, perr);
  return rc;
}

/* --entry or --hash. */
static int given_leaf(receipt *x, char *err, size_t errcap) {
  if (x->g->hash) {
    if (xt_hex_decode_exact(x->g->hash, XT_HEX_0X, x->leaf, MERKLE_HASH_SIZE) != XT_OK) {
      xt_errf(err, errcap, "--hash '%s' is not a leaf hash (64 hex digits)", x->g->hash);
      return TLOG_EXIT_USAGE;
    }
    x->leaf_from = "--hash";
  } else if (x->g->entry) {
    uint8_t *data;
    size_t len;
    const char *path = strcmp(x->g->entry, "-") ? x->g->entry : "/dev/stdin";
    if (xt_file_read(path, 1 << 20, &data, &len, err, errcap) != XT_OK) return TLOG_EXIT_USAGE;
    if (len && data[len - 1] == '\n') len--;
    if (len && data[len - 1] == '\r') len--;
    merkle_leaf_hash(data, len, x->leaf);
    free(data);
    x->leaf_from = "--entry";
  } else {
    return 0;
  }
  x->have_leaf = true;
  return 0;
}

/* Proves from the log's tiles that its tree of size n (root known to the caller)
 * extends the tree (m, old_root). Returns 0, 1 (fork) or 2 (the log did not deliver). */
static int prove_prefix(receipt *x, uint64_t m, const uint8_t old_root[MERKLE_HASH_SIZE], const char *what, char *err,
                        size_t errcap) {
  uint64_t n = x->l.cp.c.size;
  if (m > n) {
    xt_errf(err, errcap, "rollback: the log's size %llu is smaller than %s's size %llu", (unsigned long long)n, what,
            (unsigned long long)m);
    return TLOG_EXIT_FAILED;
  }
  uint8_t proof[MERKLE_MAX_PROOF][MERKLE_HASH_SIZE];
  size_t plen = 0;
  if (merkle_consistency_proof(m, n, tile_reader_nodes, x->r, proof, MERKLE_MAX_PROOF, &plen) != MERKLE_OK) {
    xt_errf(err, errcap, "%s", tile_reader_error(x->r));
    return tlog_reader_failure(x->l.src, x->fails);
  }
  if (merkle_verify_consistency(m, n, old_root, x->l.cp.c.root, (const uint8_t(*)[MERKLE_HASH_SIZE])proof, plen) !=
      MERKLE_OK) {
    xt_errf(err, errcap, "fork: the log's tree of size %llu does not contain %s's tree of size %llu",
            (unsigned long long)n, what, (unsigned long long)m);
    return TLOG_EXIT_FAILED;
  }
  return 0;
}

/* --log: open it, read the entry when none was given, prove it extends the receipt. */
static int check_log(receipt *x, char *err, size_t errcap) {
  if (!x->g->log) return 0;
  int rc = tlog_log_open(&x->l, x->g->log, x->g->key, err, errcap);
  if (rc) return rc;
  x->r = tile_reader_new(x->l.cp.c.size, x->l.cp.c.root, log_source_tile_fetcher, x->l.src);
  if (!x->r) {
    xt_errf(err, errcap, "out of memory");
    return TLOG_EXIT_USAGE;
  }
  x->fails = log_source_failures(x->l.src);
  rc = prove_prefix(x, x->cp.c.size, x->cp.c.root, "the receipt", err, errcap);
  if (rc) return rc;
  if (!x->have_leaf && x->index < x->l.cp.c.size) {
    const tile_bundle_entry *e;
    size_t n;
    if (tile_reader_entries(x->r, x->index / TILE_WIDTH, &e, &n) != MERKLE_OK || x->index % TILE_WIDTH >= n) {
      xt_errf(err, errcap, "entry %llu: %s", (unsigned long long)x->index, tile_reader_error(x->r));
      return tlog_reader_failure(x->l.src, x->fails);
    }
    const tile_bundle_entry *me = &e[x->index % TILE_WIDTH];
    merkle_leaf_hash(me->data, me->len, x->leaf);
    x->have_leaf = true;
    x->leaf_from = "the log";
  }
  char root[65];
  xt_hex_encode(x->l.cp.c.root, MERKLE_HASH_SIZE, root);
  x->log_report = json_pack("{s:s,s:I,s:s}", "result", "consistent", "size", (json_int_t)x->l.cp.c.size, "root", root);
  return x->log_report ? 0 : TLOG_EXIT_USAGE;
}

static int check_inclusion(receipt *x, char *err, size_t errcap) {
  if (!x->have_leaf) { /* --log only, and the index lies beyond it: the proof below fails anyway */
    xt_errf(err, errcap, "index %llu is beyond the log's size %llu: no entry to check", (unsigned long long)x->index,
            (unsigned long long)x->l.cp.c.size);
    return TLOG_EXIT_FAILED;
  }
  if (x->index >= x->cp.c.size) {
    xt_errf(err, errcap, "index %llu is not in the receipt's tree of size %llu", (unsigned long long)x->index,
            (unsigned long long)x->cp.c.size);
    return TLOG_EXIT_FAILED;
  }
  if (merkle_verify_inclusion(x->index, x->cp.c.size, x->leaf, (const uint8_t(*)[MERKLE_HASH_SIZE])x->proof, x->plen,
                              x->cp.c.root) != MERKLE_OK) {
    xt_errf(err, errcap, "the receipt's proof does not show this entry (leaf from %s) at index %llu in the tree of "
            "size %llu", x->leaf_from, (unsigned long long)x->index, (unsigned long long)x->cp.c.size);
    return TLOG_EXIT_FAILED;
  }
  return 0;
}

/* The receipt's tree against the anchors: the one of its size, or the first larger one
 * (proved to contain it through the log's tiles). */
static int check_anchor(receipt *x, const tlog_anchors *an, char *err, size_t errcap) {
  uint64_t m = x->cp.c.size;
  const tlog_anchor *cover = NULL;
  for (size_t i = 0; i < an->n && !cover; i++)
    if (an->a[i].size >= m) cover = &an->a[i];
  if (!cover) {
    xt_errf(err, errcap, "not anchored: no anchor on chain covers size %llu (%zu anchors, the largest of size %llu)",
            (unsigned long long)m, an->n, an->n ? (unsigned long long)an->a[an->n - 1].size : 0ULL);
    return TLOG_EXIT_FAILED;
  }
  const char *how;
  if (cover->size == m) {
    if (memcmp(cover->root, x->cp.c.root, MERKLE_HASH_SIZE) != 0) {
      xt_errf(err, errcap, "fork: the root anchored at size %llu (block %llu) is not the receipt's root",
              (unsigned long long)m, (unsigned long long)cover->block);
      return TLOG_EXIT_FAILED;
    }
    how = "anchored at its size";
  } else {
    if (!x->g->log) {
      xt_errf(err, errcap, "not anchored at size %llu; the first anchor covering it is of size %llu (block %llu): "
              "give --log to prove that anchor contains the receipt's tree", (unsigned long long)m,
              (unsigned long long)cover->size, (unsigned long long)cover->block);
      return TLOG_EXIT_FAILED;
    }
    /* receipt ⊑ log (check_log) and anchor ⊑ log with the anchored root: receipt ⊑ anchor. */
    int rc = prove_prefix(x, cover->size, cover->root, "the anchor", err, errcap);
    if (rc) return rc;
    how = "inside a later anchor (consistency from the log's tiles)";
  }
  char th[67];
  xt_hex_encode0x(cover->tx, 32, th);
  x->chain_report = json_pack("{s:s,s:I,s:I,s:I,s:s}", "result", how, "anchor_size", (json_int_t)cover->size, "block",
                              (json_int_t)cover->block, "time", (json_int_t)cover->time, "tx", th);
  return x->chain_report ? 0 : TLOG_EXIT_USAGE;
}

static int check_chain(receipt *x, char *err, size_t errcap) {
  if (!x->g->rpc) return 0;
  tlog_chain_scan sc = tlog_chain_scan_default();
  if (x->g->from && logscan_parse_block(x->g->from, &sc.from_block)) {
    xt_errf(err, errcap, "--from-block '%s' is not a block number", x->g->from);
    return TLOG_EXIT_USAGE;
  }
  tlog_anchors an;
  int rc = tlog_anchors_scan(x->g->rpc, x->g->contract, x->cp.c.origin, &sc, &an, err, errcap);
  if (rc) return rc;
  rc = check_anchor(x, &an, err, errcap);
  tlog_anchors_free(&an);
  return rc;
}

static void report(const receipt *x) {
  if (x->g->quiet) return;
  char lh[65], rh[65];
  xt_hex_encode(x->leaf, MERKLE_HASH_SIZE, lh);
  xt_hex_encode(x->cp.c.root, MERKLE_HASH_SIZE, rh);
  if (x->g->json) {
    json_t *o = json_pack("{s:b,s:I,s:s,s:s,s:s,s:I,s:s,s:O?,s:O?}", "verified", 1, "index", (json_int_t)x->index,
                          "leaf_hash", lh, "leaf_from", x->leaf_from, "origin", x->cp.c.origin, "size",
                          (json_int_t)x->cp.c.size, "root", rh, "log", x->log_report, "chain", x->chain_report);
    if (tlog_json_print(o)) fprintf(stderr, "tlog " CMD ": out of memory\n");
    json_decref(o);
    return;
  }
  printf("receipt verified\n");
  printf("index       %llu\n", (unsigned long long)x->index);
  printf("leaf hash   %s (from %s)\n", lh, x->leaf_from);
  printf("checkpoint  %s size %llu root %s (signature verified)\n", x->cp.c.origin, (unsigned long long)x->cp.c.size,
         rh);
  if (x->log_report)
    printf("log         size %llu extends the receipt's tree\n", (unsigned long long)x->l.cp.c.size);
  if (x->chain_report)
    printf("chain       %s: anchor of size %lld at block %lld\n",
           json_string_value(json_object_get(x->chain_report, "result")),
           (long long)json_integer_value(json_object_get(x->chain_report, "anchor_size")),
           (long long)json_integer_value(json_object_get(x->chain_report, "block")));
}

int cmd_verify_receipt(int argc, char **argv) {
  rargs g;
  bool done;
  int rc = parse(argc, argv, &g, &done);
  if (done) return rc;
  receipt *x = calloc(1, sizeof *x);
  if (!x) return tlog_fail(CMD, g.json, TLOG_EXIT_USAGE, "out of memory");
  x->g = &g;
  char err[700];
  static int (*const steps[])(receipt *, char *, size_t) = {given_leaf, read_receipt, check_log, check_inclusion,
                                                             check_chain};
  for (size_t i = 0; !rc && i < sizeof steps / sizeof steps[0]; i++) rc = steps[i](x, err, sizeof err);
  if (!rc) report(x);
  json_decref(x->log_report);
  json_decref(x->chain_report);
  tile_reader_free(x->r);
  if (x->l.src) tlog_log_close(&x->l);
  tlog_checkpoint_clear(&x->cp);
  free(x);
  return rc ? tlog_fail(CMD, g.json && !g.quiet, rc, err) : TLOG_EXIT_OK;
}
