/* cmd_inclusion.c: `tlog inclusion`: proves that an entry is in the log.
 *
 * The proof is built here from hash tiles that the tile reader authenticates against
 * the verified checkpoint, never taken from the server. With --hash or --entry the
 * index is found either from the server's JSON API (only to learn the index: the proof
 * is then rebuilt and checked from tiles) or, when the source has no such API (a
 * directory) or it does not know the hash, by scanning the authenticated level-0 tiles. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/file.h"
#include "base/hex.h"
#include "base/num.h"
#include "client/common.h"
#include "tlog/commands.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: tlog inclusion --log URL|DIR --key VKEY (--index I | --hash HEX | --entry FILE)\n"
          "                      [--size N] [--proof-out FILE] [--json] [--quiet]\n"
          "\n"
          "Proves from authenticated tiles that an entry is in the log's tree.\n"
          "  --index I        the entry's index\n"
          "  --hash HEX       its RFC 9162 leaf hash, SHA-256(0x00 || entry), 64 hex digits\n"
          "  --entry FILE     a file holding the entry's exact bytes (one trailing newline is\n"
          "                   ignored: canonical entries never end in one)\n"
          "  --size N         prove in the tree of size N (default: the latest checkpoint);\n"
          "                   N's root is computed from tiles authenticated by the latest\n"
          "                   checkpoint and, when the log serves v1/checkpoints/N, checked\n"
          "                   against that signed checkpoint too\n"
          "  --proof-out FILE write a c2sp.org/tlog-proof@v1 receipt (needs a signed\n"
          "                   checkpoint of the proven size)\n"
          "  --json           print {verified, index, size, leaf_hash, root, proof}\n"
          "Exit status: 0 verified, 1 verification failed (or the entry is not in the log),\n"
          "2 usage or I/O error.\n");
}

/* Scans authenticated level-0 tiles for a leaf hash. Returns 0 found, 1 absent,
 * 2 reader failure. */
static int scan_for_leaf(tile_reader *r, uint64_t size, const uint8_t leaf[MERKLE_HASH_SIZE],
                         bool quiet, uint64_t *index) {
  tlog_progress p;
  tlog_progress_init(&p, quiet, "scanning leaf hashes", size);
  uint8_t hashes[TILE_WIDTH][MERKLE_HASH_SIZE];
  for (uint64_t start = 0; start < size; start += TILE_WIDTH) {
    uint64_t n = size - start < TILE_WIDTH ? size - start : TILE_WIDTH;
    if (tile_reader_nodes(r, 0, start, n, hashes) != 0) {
      tlog_progress_done(&p);
      return 2;
    }
    for (uint64_t i = 0; i < n; i++) {
      if (!memcmp(hashes[i], leaf, MERKLE_HASH_SIZE)) {
        tlog_progress_done(&p);
        *index = start + i;
        return 0;
      }
    }
    tlog_progress_update(&p, start + n);
  }
  tlog_progress_done(&p);
  return 1;
}

/* Asks the server's JSON API for the index of a leaf hash. Only a hint. */
static bool index_hint(log_source *src, const uint8_t leaf[MERKLE_HASH_SIZE], uint64_t size,
                       uint64_t *index) {
  if (!log_source_is_http(src)) return false;
  char hex[2 * MERKLE_HASH_SIZE + 1], path[200];
  xt_hex_encode(leaf, MERKLE_HASH_SIZE, hex);
  snprintf(path, sizeof path, "v1/proof/inclusion?hash=%s&size=%llu", hex, (unsigned long long)size);
  uint8_t *data = NULL;
  size_t len = 0;
  char err[300];
  if (log_source_get(src, path, FETCH_MAX_SMALL, &data, &len, err, sizeof err) != FETCH_OK) return false;
  json_t *j = json_loadb((const char *)data, len, 0, NULL);
  free(data);
  json_t *iv = json_object_get(j, "index");
  bool ok = json_is_integer(iv) && json_integer_value(iv) >= 0;
  if (ok) *index = (uint64_t)json_integer_value(iv);
  json_decref(j);
  return ok;
}

/* The command line. */
typedef struct incl_args {
  const char *log, *key, *index_arg, *hash_arg, *entry_arg, *size_arg, *proof_out;
  bool json, quiet;
} incl_args;

/* One proof in progress. */
typedef struct incl {
  const incl_args *g;
  tlog_log l;
  tile_reader *r;  /* the tree of the latest checkpoint */
  uint64_t fails;  /* the source's failures before reading tiles */
  uint64_t index, size;
  uint8_t want_leaf[MERKLE_HASH_SIZE];
  bool have_leaf;  /* --hash or --entry: the index is to be found */
  uint8_t root[MERKLE_HASH_SIZE], leaf[MERKLE_HASH_SIZE];
  uint8_t proof[MERKLE_MAX_PROOF][MERKLE_HASH_SIZE];
  size_t plen;
  tlog_checkpoint at; /* the signed checkpoint of the proven size, when there is one */
  bool have_at;
} incl;

/* Returns 0 to go on, or the exit status (after --help, or a usage error). */
static int incl_parse_args(int argc, char **argv, incl_args *g, bool *done) {
  static const struct option opts[] = {{"log", required_argument, 0, 'l'},
                                       {"key", required_argument, 0, 'k'},
                                       {"index", required_argument, 0, 'i'},
                                       {"hash", required_argument, 0, 'H'},
                                       {"entry", required_argument, 0, 'e'},
                                       {"size", required_argument, 0, 's'},
                                       {"proof-out", required_argument, 0, 'p'},
                                       {"json", no_argument, 0, 'j'},
                                       {"quiet", no_argument, 0, 'q'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  memset(g, 0, sizeof *g);
  *done = true;
  int c;
  optind = 1;
  while ((c = tlog_getopt("inclusion", argc, argv, opts)) != -1) {
    switch (c) {
    case 'l': g->log = optarg; break;
    case 'k': g->key = optarg; break;
    case 'i': g->index_arg = optarg; break;
    case 'H': g->hash_arg = optarg; break;
    case 'e': g->entry_arg = optarg; break;
    case 's': g->size_arg = optarg; break;
    case 'p': g->proof_out = optarg; break;
    case 'j': g->json = true; break;
    case 'q': g->quiet = true; break;
    case 'h': usage(stdout); return TLOG_EXIT_OK;
    default: return TLOG_EXIT_USAGE;
    }
  }
  int ways = !!g->index_arg + !!g->hash_arg + !!g->entry_arg;
  if (tlog_no_extra_args("inclusion", argc, argv) || tlog_require("inclusion", g->log, "--log") ||
      tlog_require("inclusion", g->key, "--key"))
    return TLOG_EXIT_USAGE;
  if (ways == 0) return tlog_usage_error("inclusion", "missing --index, --hash or --entry");
  if (ways > 1) return tlog_usage_error("inclusion", "give only one of --index, --hash and --entry");
  *done = false;
  return 0;
}

/* --index, --size, and the leaf hash of --hash or --entry. Returns 0 or 2 with err. */
static int incl_options(incl *x, char *err, size_t errcap) {
  const incl_args *g = x->g;
  if (g->index_arg && xt_parse_u64(g->index_arg, 0, 0, UINT64_MAX, &x->index) != XT_OK) {
    xt_errf(err, errcap, "--index must be a decimal integer");
    return TLOG_EXIT_USAGE;
  }
  if (g->size_arg && xt_parse_u64(g->size_arg, 0, 0, UINT64_MAX, &x->size) != XT_OK) {
    xt_errf(err, errcap, "--size must be a decimal integer");
    return TLOG_EXIT_USAGE;
  }
  if (g->hash_arg) {
    if (xt_hex_decode_exact(g->hash_arg, XT_HEX_0X, x->want_leaf, MERKLE_HASH_SIZE) != XT_OK) {
      xt_errf(err, errcap, "--hash must be 64 hex digits (a leaf hash)");
      return TLOG_EXIT_USAGE;
    }
    x->have_leaf = true;
  }
  if (g->entry_arg) {
    uint8_t *data;
    size_t len;
    const char *path = strcmp(g->entry_arg, "-") ? g->entry_arg : "/dev/stdin"; /* "-": standard input */
    if (xt_file_read(path, 1 << 20, &data, &len, err, errcap) != XT_OK) return TLOG_EXIT_USAGE;
    if (len && data[len - 1] == '\n') len--;
    if (len && data[len - 1] == '\r') len--;
    merkle_leaf_hash(data, len, x->want_leaf);
    free(data);
    x->have_leaf = true;
  }
  return 0;
}

/* The log, the proven size and the reader. */
static int incl_open(incl *x, char *err, size_t errcap) {
  int rc = tlog_log_open(&x->l, x->g->log, x->g->key, err, errcap);
  if (rc) return rc;
  if (!x->g->size_arg) x->size = x->l.cp.c.size;
  if (x->size > x->l.cp.c.size) {
    xt_errf(err, errcap, "--size %llu is beyond the log's checkpoint size %llu", (unsigned long long)x->size,
            (unsigned long long)x->l.cp.c.size);
    return TLOG_EXIT_FAILED;
  }
  x->r = tile_reader_new(x->l.cp.c.size, x->l.cp.c.root, log_source_tile_fetcher, x->l.src);
  if (!x->r) {
    xt_errf(err, errcap, "out of memory");
    return TLOG_EXIT_USAGE;
  }
  x->fails = log_source_failures(x->l.src);
  return 0;
}

/* The index of the wanted leaf: the server's hint if the tree confirms it, else a
 * scan of the authenticated level-0 tiles. */
static int incl_find(incl *x, char *err, size_t errcap) {
  if (!x->have_leaf) return 0;
  uint64_t hint;
  if (index_hint(x->l.src, x->want_leaf, x->size, &hint) && hint < x->size &&
      tile_reader_nodes(x->r, 0, hint, 1, &x->leaf) == 0 && !memcmp(x->leaf, x->want_leaf, MERKLE_HASH_SIZE)) {
    x->index = hint;
    return 0;
  }
  int s = scan_for_leaf(x->r, x->size, x->want_leaf, x->g->quiet, &x->index);
  if (s == 1) {
    char hex[65];
    xt_hex_encode(x->want_leaf, MERKLE_HASH_SIZE, hex);
    xt_errf(err, errcap, "no entry with leaf hash %s in the tree of size %llu", hex, (unsigned long long)x->size);
    return TLOG_EXIT_FAILED;
  }
  if (s == 2) {
    xt_errf(err, errcap, "%s", tile_reader_error(x->r));
    return tlog_reader_failure(x->l.src, x->fails);
  }
  return 0;
}

/* The root of the proven size, the proof from tiles, and its verification. */
static int incl_prove(incl *x, char *err, size_t errcap) {
  if (x->index >= x->size) {
    xt_errf(err, errcap, "index %llu is not in the tree of size %llu", (unsigned long long)x->index,
            (unsigned long long)x->size);
    return TLOG_EXIT_FAILED;
  }
  if (x->size == x->l.cp.c.size) {
    memcpy(x->root, x->l.cp.c.root, MERKLE_HASH_SIZE);
  } else if (merkle_root_at(x->size, tile_reader_nodes, x->r, x->root) != MERKLE_OK) {
    xt_errf(err, errcap, "%s", tile_reader_error(x->r));
    return tlog_reader_failure(x->l.src, x->fails);
  }
  if (tile_reader_nodes(x->r, 0, x->index, 1, &x->leaf) != 0 ||
      merkle_inclusion_proof(x->index, x->size, tile_reader_nodes, x->r, x->proof, MERKLE_MAX_PROOF, &x->plen) !=
          MERKLE_OK) {
    xt_errf(err, errcap, "%s", tile_reader_error(x->r));
    return tlog_reader_failure(x->l.src, x->fails);
  }
  if (merkle_verify_inclusion(x->index, x->size, x->leaf, (const uint8_t(*)[MERKLE_HASH_SIZE])x->proof, x->plen,
                              x->root) != MERKLE_OK) {
    xt_errf(err, errcap, "inclusion proof of index %llu does not verify against the root",
            (unsigned long long)x->index);
    return TLOG_EXIT_FAILED;
  }
  return 0;
}

/* A signed checkpoint of the proven size, when the log keeps one, must agree. */
static int incl_signed_at(incl *x, char *err, size_t errcap) {
  if (x->size == x->l.cp.c.size) {
    x->at = x->l.cp;
    x->at.note = NULL; /* the note stays the log's (l.cp) */
    x->have_at = true;
    return 0;
  }
  char path[64], cerr[400];
  bool nf = false;
  snprintf(path, sizeof path, "v1/checkpoints/%llu", (unsigned long long)x->size);
  int crc = tlog_fetch_checkpoint(x->l.src, &x->l.v, path, &x->at, &nf, cerr, sizeof cerr);
  if (crc == TLOG_EVERIFY) {
    xt_errf(err, errcap, "%s", cerr);
    return TLOG_EXIT_FAILED;
  }
  if (crc != TLOG_OK) return 0; /* not kept, or not readable: the proof stands on the tiles */
  x->have_at = true;
  if (x->at.c.size != x->size || memcmp(x->at.c.root, x->root, MERKLE_HASH_SIZE)) {
    xt_errf(err, errcap,
            "the signed checkpoint at size %llu disagrees with the tree of the latest checkpoint (split view)",
            (unsigned long long)x->size);
    return TLOG_EXIT_FAILED;
  }
  return 0;
}

/* --proof-out: a c2sp.org/tlog-proof@v1 receipt. */
static int incl_receipt(incl *x, char *err, size_t errcap) {
  if (!x->g->proof_out) return 0;
  bool latest = x->size == x->l.cp.c.size;
  const char *note = latest ? x->l.cp.note : x->at.note;
  size_t note_len = latest ? x->l.cp.note_len : x->at.note_len;
  if (!x->have_at || !note) {
    xt_errf(err, errcap, "--proof-out: the log has no signed checkpoint of size %llu", (unsigned long long)x->size);
    return TLOG_EXIT_USAGE;
  }
  size_t cap = note_len + 128 + x->plen * 48, olen;
  char *buf = malloc(cap);
  char perr[200];
  int rc = 0;
  if (!buf) {
    xt_errf(err, errcap, "out of memory");
    rc = TLOG_EXIT_USAGE;
  } else if (tlog_proof_format(x->index, (const uint8_t(*)[MERKLE_HASH_SIZE])x->proof, x->plen, note, note_len, buf,
                               cap, &olen, perr, sizeof perr) != 0) {
    xt_errf(err, errcap, "--proof-out: %s", perr);
    rc = TLOG_EXIT_USAGE;
  } else if (tlog_write_file(x->g->proof_out, buf, olen, err, errcap) != TLOG_OK) {
    rc = TLOG_EXIT_USAGE;
  }
  free(buf);
  return rc;
}

static void incl_report(const incl *x) {
  char lh[65], rh[65];
  xt_hex_encode(x->leaf, MERKLE_HASH_SIZE, lh);
  xt_hex_encode(x->root, MERKLE_HASH_SIZE, rh);
  if (x->g->json) {
    json_t *o = json_pack("{s:b,s:I,s:I,s:s,s:s,s:I}", "verified", 1, "index", (json_int_t)x->index, "size",
                          (json_int_t)x->size, "leaf_hash", lh, "root", rh, "checkpoint_size",
                          (json_int_t)x->l.cp.c.size);
    json_t *arr = json_array();
    for (size_t i = 0; i < x->plen; i++) {
      char h[65];
      xt_hex_encode(x->proof[i], MERKLE_HASH_SIZE, h);
      json_array_append_new(arr, json_string(h));
    }
    json_object_set_new(o, "proof", arr);
    json_object_set_new(o, "signed_checkpoint_at_size", json_boolean(x->have_at));
    (void)tlog_json_print(o);
    json_decref(o);
    return;
  }
  printf("inclusion verified\n");
  printf("index      %llu\n", (unsigned long long)x->index);
  printf("tree size  %llu%s\n", (unsigned long long)x->size, x->size == x->l.cp.c.size ? " (latest checkpoint)" : "");
  printf("leaf hash  %s\n", lh);
  printf("root       %s\n", rh);
  printf("proof      %zu hashes, built from %llu authenticated tile reads\n", x->plen,
         (unsigned long long)tile_reader_fetches(x->r));
}

/* The steps, in order. */
static int (*const incl_steps[])(incl *, char *, size_t) = {
    incl_options, incl_open, incl_find, incl_prove, incl_signed_at, incl_receipt,
};

int cmd_inclusion(int argc, char **argv) {
  incl_args g;
  bool done;
  int rc = incl_parse_args(argc, argv, &g, &done);
  if (done) return rc;
  incl *x = calloc(1, sizeof *x);
  if (!x) return tlog_fail("inclusion", g.json, TLOG_EXIT_USAGE, "out of memory");
  x->g = &g;
  char err[600];
  if (incl_options(x, err, sizeof err) != 0) { /* a bad value is a usage error */
    free(x);
    return tlog_usage_error("inclusion", "%s", err);
  }
  for (size_t i = 1; !rc && i < sizeof incl_steps / sizeof incl_steps[0]; i++) rc = incl_steps[i](x, err, sizeof err);
  if (!rc) incl_report(x);
  tlog_checkpoint_clear(&x->at);
  tile_reader_free(x->r);
  if (x->l.src) tlog_log_close(&x->l);
  free(x);
  return rc ? tlog_fail("inclusion", g.json, rc, err) : TLOG_EXIT_OK;
}
