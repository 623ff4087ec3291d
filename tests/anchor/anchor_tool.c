/* anchor-tool: test driver for the anchor client (never shipped).
 *
 *   anchor-tool sign KEYHEX CHAIN NONCE TIP MAXFEE GAS TO|- VALUEHEX DATAHEX
 *       prints "RAWHEX TXHASH" (cross-checked against ethers)
 *   anchor-tool submit --rpc URL --contract 0xC --key FILE --origin O --size N
 *       [--fork] [--proof-from M] [--deadline-ms MS] [--resend-ms MS] [--poll-ms MS]
 *       [--confirmations N] [--verbose]
 *       builds the log whose leaf i is i as 8 big-endian bytes (--fork: "fork i"),
 *       reads the chain's head, and anchors size N with the proof from it (or from M)
 *       through anchor_submit. Prints "<status> <root hex> <tx hash>" and exits 0 on
 *       ANCHOR_OK / ANCHOR_UNCHANGED, else 10 + (-status).
 *       (default: anchor_submit_tree; --explicit-proof: the proof built here and
 *       anchor_submit, as --proof-from M does with the wrong old size)
 *   anchor-tool check-local --rpc URL --contract 0xC --origin O --size N [--fork]
 *       anchor_check_local: is a local log of N entries consistent with the chain?
 *   anchor-tool root N [--fork]      prints the root of that log at size N (hex)
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anchor/anchor.h"
#include "anchor/tx.h"
#include "base/hex.h"
#include "base/num.h"
#include "merkle/merkle.h"

/* Every level of the tree, in memory: fine for the test sizes (up to ~10^6). */
typedef struct mem_tree {
  uint64_t size;
  unsigned levels;
  uint8_t (*level[64])[32];
  uint64_t count[64];
} mem_tree;

static void leaf_data(uint64_t i, int fork, uint8_t *buf, size_t *len) {
  if (fork) {
    *len = (size_t)snprintf((char *)buf, 32, "fork %llu", (unsigned long long)i);
    return;
  }
  for (int b = 7; b >= 0; b--, i >>= 8) buf[b] = (uint8_t)i;
  *len = 8;
}

static int mem_tree_build(mem_tree *t, uint64_t size, int fork) {
  memset(t, 0, sizeof *t);
  t->size = size;
  t->level[0] = malloc((size ? size : 1) * 32);
  if (!t->level[0]) return -1;
  t->count[0] = size;
  for (uint64_t i = 0; i < size; i++) {
    uint8_t d[32];
    size_t n;
    leaf_data(i, fork, d, &n);
    merkle_leaf_hash(d, n, t->level[0][i]);
  }
  t->levels = 1;
  while (t->count[t->levels - 1] > 1) {
    unsigned l = t->levels;
    uint64_t n = t->count[l - 1] / 2;
    t->level[l] = malloc((n ? n : 1) * 32);
    if (!t->level[l]) return -1;
    for (uint64_t i = 0; i < n; i++) merkle_node_hash(t->level[l - 1][2 * i], t->level[l - 1][2 * i + 1], t->level[l][i]);
    t->count[l] = n;
    t->levels++;
  }
  return 0;
}

static void mem_tree_free(mem_tree *t) {
  for (unsigned l = 0; l < t->levels; l++) free(t->level[l]);
}

static int mem_reader(void *ctx, unsigned level, uint64_t index, uint64_t count, uint8_t (*out)[32]) {
  mem_tree *t = ctx;
  if (level >= t->levels || index > t->count[level] || count > t->count[level] - index) return -1;
  memcpy(out, t->level[level][index], count * 32);
  return 0;
}

/* Decimal arguments: digits only (base/num.h), so a typo is an error, not a zero. */
static int u64_arg(const char *s, uint64_t *out) {
  return xt_parse_u64(s, 0, 0, UINT64_MAX, out) == XT_OK ? 0 : -1;
}

static int uint_arg(const char *s, unsigned *out) {
  uint64_t v;
  if (xt_parse_u64(s, 0, 0, UINT_MAX, &v) != XT_OK) return -1;
  *out = (unsigned)v;
  return 0;
}

static int cmd_sign(int argc, char **argv) {
  if (argc != 10) return 2;
  uint8_t key[32];
  eth_tx tx;
  memset(&tx, 0, sizeof tx);
  if (xt_hex_decode_exact(argv[1], XT_HEX_0X, key, 32) != XT_OK || u64_arg(argv[2], &tx.chain_id) ||
      u64_arg(argv[3], &tx.nonce) || u64_arg(argv[4], &tx.max_priority_fee_per_gas) ||
      u64_arg(argv[5], &tx.max_fee_per_gas) || u64_arg(argv[6], &tx.gas_limit))
    return 2;
  if (strcmp(argv[7], "-")) {
    if (eth_address_parse(argv[7], tx.to)) return 2;
    tx.has_to = 1;
  }
  uint8_t *v;
  size_t vn;
  if (xt_hex_decode_alloc(argv[8], XT_HEX_0X, &v, &vn) != XT_OK) return 2;
  if (vn > 32) {
    free(v);
    return 2;
  }
  memcpy(tx.value + 32 - vn, v, vn);
  free(v);
  uint8_t *data;
  size_t dn;
  if (xt_hex_decode_alloc(argv[9], XT_HEX_0X, &data, &dn) != XT_OK) return 2;
  tx.data = data;
  tx.data_len = dn;
  uint8_t *raw, hash[32];
  size_t rn;
  if (eth_tx_sign(&tx, key, &raw, &rn, hash)) return 1;
  char *rh = malloc(2 * rn + 3), th[67];
  if (!rh) return 1;
  xt_hex_encode0x(raw, rn, rh);
  xt_hex_encode0x(hash, 32, th);
  printf("%s %s\n", rh, th);
  free(rh);
  free(raw);
  free(data);
  return 0;
}

static void log_line(void *ctx, const char *line) {
  (void)ctx;
  fprintf(stderr, "anchor: %s\n", line);
}

static int cmd_submit(int argc, char **argv) {
  const char *rpc = NULL, *contract = NULL, *keyfile = NULL, *origin = NULL;
  uint64_t size = 0, proof_from = UINT64_MAX;
  int fork = 0, verbose = 0, explicit_proof = 0;
  anchor_options o;
  anchor_options_default(&o);
  o.poll_ms = 50;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--fork")) fork = 1;
    else if (!strcmp(a, "--verbose")) verbose = 1;
    else if (!strcmp(a, "--explicit-proof")) explicit_proof = 1;
    else if (!v) return 2;
    else if (!strcmp(a, "--rpc")) rpc = v, i++;
    else if (!strcmp(a, "--contract")) contract = v, i++;
    else if (!strcmp(a, "--key")) keyfile = v, i++;
    else if (!strcmp(a, "--origin")) origin = v, i++;
    else if (!strcmp(a, "--size")) {
      if (u64_arg(v, &size)) return 2;
      i++;
    }
    else if (!strcmp(a, "--proof-from")) {
      if (u64_arg(v, &proof_from)) return 2;
      i++;
    }
    else if (!strcmp(a, "--deadline-ms")) {
      if (uint_arg(v, &o.deadline_ms)) return 2;
      i++;
    }
    else if (!strcmp(a, "--resend-ms")) {
      if (uint_arg(v, &o.resend_after_ms)) return 2;
      i++;
    }
    else if (!strcmp(a, "--poll-ms")) {
      if (uint_arg(v, &o.poll_ms)) return 2;
      i++;
    }
    else if (!strcmp(a, "--confirmations")) {
      if (uint_arg(v, &o.confirmations)) return 2;
      i++;
    }
    else return 2;
  }
  if (!rpc || !contract || !keyfile || !origin || !size) return 2;
  if (verbose) o.log = log_line;
  uint8_t key[32];
  char err[512];
  if (eth_key_read_file(keyfile, key, err, sizeof err)) {
    fprintf(stderr, "%s\n", err);
    return 2;
  }
  anchor_client *c = anchor_client_new(rpc, contract, key, &o, err, sizeof err);
  if (!c) {
    fprintf(stderr, "%s\n", err);
    return 2;
  }
  uint8_t log_id[32], root[32], old_root[32], anchorer[20];
  anchor_log_id(origin, log_id);
  mem_tree t;
  if (mem_tree_build(&t, size, fork)) return 2;
  merkle_root_at(size, mem_reader, &t, root);
  uint64_t old = 0;
  if (proof_from != UINT64_MAX) {
    old = proof_from;
  } else if (explicit_proof) {
    int rc = anchor_get_head(c, log_id, &old, old_root, anchorer, err, sizeof err);
    if (rc) {
      fprintf(stderr, "head: %s\n", err);
      printf("%s\n", anchor_status_str(rc));
      return 10 - rc;
    }
  }
  uint8_t ck[32], tx[32];
  char note_text[64];
  snprintf(note_text, sizeof note_text, "checkpoint %llu", (unsigned long long)size);
  anchor_log_id(note_text, ck); /* any SHA-256 stands in for a checkpoint hash here */
  int rc;
  if (proof_from == UINT64_MAX && !explicit_proof) {
    rc = anchor_submit_tree(c, log_id, size, root, ck, mem_reader, &t, tx, err, sizeof err);
  } else {
    uint8_t proof[MERKLE_MAX_PROOF][32];
    size_t plen = 0;
    if (old <= size && merkle_consistency_proof(old, size, mem_reader, &t, proof, MERKLE_MAX_PROOF, &plen)) {
      fprintf(stderr, "cannot build the proof %llu -> %llu\n", (unsigned long long)old, (unsigned long long)size);
      return 2;
    }
    rc = anchor_submit(c, log_id, size, root, ck, (const uint8_t(*)[32])proof, plen, tx, err, sizeof err);
  }
  char rh[65], th[67];
  xt_hex_encode(root, 32, rh);
  xt_hex_encode0x(tx, 32, th);
  if (rc < 0) fprintf(stderr, "submit: %s\n", err);
  printf("%s %s %s\n", rc == ANCHOR_OK ? "anchored" : rc == ANCHOR_UNCHANGED ? "unchanged" : anchor_status_str(rc),
         rh, th);
  mem_tree_free(&t);
  anchor_client_free(c);
  return rc >= 0 ? 0 : 10 - rc;
}

/* check-local --rpc URL --contract 0xC --origin O --size N [--fork]: the rollback
 * check logd runs at start. Exits 0 if consistent, else 10 + (-status). */
static int cmd_check_local(int argc, char **argv) {
  const char *rpc = NULL, *contract = NULL, *origin = NULL;
  uint64_t size = 0;
  int fork = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--fork")) fork = 1;
    else if (!v) return 2;
    else if (!strcmp(a, "--rpc")) rpc = v, i++;
    else if (!strcmp(a, "--contract")) contract = v, i++;
    else if (!strcmp(a, "--origin")) origin = v, i++;
    else if (!strcmp(a, "--size")) {
      if (u64_arg(v, &size)) return 2;
      i++;
    }
    else return 2;
  }
  if (!rpc || !contract || !origin) return 2;
  char err[512];
  anchor_client *c = anchor_client_new(rpc, contract, NULL, NULL, err, sizeof err);
  if (!c) return 2;
  mem_tree t;
  if (mem_tree_build(&t, size, fork)) return 2;
  uint8_t log_id[32];
  uint64_t chain = 0;
  anchor_log_id(origin, log_id);
  int rc = anchor_check_local(c, log_id, size, mem_reader, &t, &chain, err, sizeof err);
  if (rc) fprintf(stderr, "check: %s\n", err);
  printf("%s %llu\n", rc ? anchor_status_str(rc) : "consistent", (unsigned long long)chain);
  mem_tree_free(&t);
  anchor_client_free(c);
  return rc >= 0 ? 0 : 10 - rc;
}

static int cmd_root(int argc, char **argv) {
  if (argc < 2) return 2;
  mem_tree t;
  uint64_t n;
  if (u64_arg(argv[1], &n)) return 2;
  if (mem_tree_build(&t, n, argc > 2 && !strcmp(argv[2], "--fork"))) return 2;
  uint8_t root[32];
  char rh[65];
  merkle_root_at(n, mem_reader, &t, root);
  xt_hex_encode(root, 32, rh);
  printf("%s\n", rh);
  mem_tree_free(&t);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: anchor-tool sign|submit|root ...\n");
    return 2;
  }
  if (!strcmp(argv[1], "sign")) return cmd_sign(argc - 1, argv + 1);
  if (!strcmp(argv[1], "submit")) return cmd_submit(argc - 1, argv + 1);
  if (!strcmp(argv[1], "root")) return cmd_root(argc - 1, argv + 1);
  if (!strcmp(argv[1], "check-local")) return cmd_check_local(argc - 1, argv + 1);
  fprintf(stderr, "anchor-tool: unknown command %s\n", argv[1]);
  return 2;
}
