/* cmd_export.c: `tlog export` and `tlog verify-bundle`: the offline audit bundle.
 *
 * A bundle is a directory laid out like the log's read paths, so it is itself a log
 * source (`--log DIR`, `--bundle DIR`):
 *   checkpoint                the signed checkpoint of the bundle's tree (size N)
 *   tile/<L>/..., tile/entries/...   every hash tile and entry bundle of tree N
 *   v1/checkpoints/<S>        signed checkpoints of anchored sizes S <= N (when the
 *                             log keeps them)
 *   anchors.json              on-chain anchors of the log up to N (when exported
 *                             with --rpc/--contract): size, root, checkpoint_hash,
 *                             block, time, tx, as `tlog anchor list --json`
 *   verifier-key              convenience copy; auditors bring their own key
 *   manifest.json             {format, origin, size, root, files: {path: sha256}}
 * Export writes only tiles the tile reader authenticated against the checkpoint, and
 * manifest.json last: a bundle without one is incomplete. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/hex.h"
#include "base/num.h"
#include "anchor/logscan.h"
#include "client/anchors.h"
#include "client/codeid.h"
#include "client/collateral.h"
#include "client/common.h"
#include "client/replay.h"
#include "tlog/commands.h"

#define BUNDLE_FORMAT "xordi-tlog-bundle/v1"

static void sha256_hex(const void *data, size_t len, char out[65]) {
  uint8_t h[32];
  unsigned int n = 32;
  EVP_Digest(data, len, h, &n, EVP_sha256(), NULL);
  xt_hex_encode(h, 32, out);
}

/* Writes DIR/rel and records its hash in files. */
static int bundle_put(const char *dir, json_t *files, const char *rel, const void *data, size_t len,
                      char *err, size_t errcap) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, rel);
  if (tlog_mkdirs(path, err, errcap)) return -1;
  FILE *f = fopen(path, "wb");
  if (!f) {
    xt_errf(err, errcap, "%.400s: %s", path, strerror(errno));
    return -1;
  }
  int ok = fwrite(data, 1, len, f) == len;
  if (fclose(f) != 0) ok = 0;
  if (!ok) {
    xt_errf(err, errcap, "%.400s: write failed", path);
    return -1;
  }
  char hex[65];
  sha256_hex(data, len, hex);
  json_object_set_new(files, rel, json_string(hex));
  return 0;
}

/* The log's anchors on chain, read from from_block (TLOG_FROM_CREATION: the contract's
 * deployment block, found by eth_getCode search). Returns 0 or an exit status with err;
 * a contract's malformed event is an I/O error here (nothing concluded). */
static int chain_anchors(const char *cmd, const char *rpc, const char *contract, const char *origin, uint64_t from_block,
                         bool quiet, tlog_anchors *out, char *err, size_t errcap) {
  tlog_chain_scan scan = tlog_chain_scan_default();
  scan.from_block = from_block;
  if (tlog_anchors_scan(rpc, contract, origin, &scan, out, err, errcap)) return TLOG_EXIT_USAGE;
  if (scan.creation_unknown && !quiet)
    fprintf(stderr, "tlog %s: the node cannot say when the contract was deployed; anchors read from block 0 "
                    "(give --from-block)\n", cmd);
  return 0;
}

/* --from-block N (decimal or 0x quantity) into *block; TLOG_FROM_CREATION without it.
 * 0 or TLOG_EXIT_USAGE (reported). */
static int parse_from_block(const char *cmd, const char *arg, bool have_rpc, uint64_t *block) {
  *block = TLOG_FROM_CREATION;
  if (!arg) return 0;
  if (!have_rpc) return tlog_usage_error(cmd, "--from-block needs --rpc and --contract");
  if (logscan_parse_block(arg, block)) return tlog_usage_error(cmd, "--from-block '%s' is not a block number", arg);
  return 0;
}

static void export_usage(FILE *f) {
  fprintf(f,
          "usage: tlog export --log URL|DIR --key VKEY --out DIR [--size N]\n"
          "                   [--rpc URL --contract 0xADDR [--from-block N] | --anchors FILE]\n"
          "                   [--attestation FILE]... [--json] [--quiet]\n"
          "\n"
          "Writes an offline audit bundle to the directory --out DIR: the signed checkpoint\n"
          "of size N (default: the latest; other sizes need the log's v1/checkpoints/N),\n"
          "every tile and entry bundle of that tree (each authenticated before it is\n"
          "written), the signed checkpoints of anchored sizes, with --rpc/--contract the\n"
          "log's on-chain anchors up to N (anchors.json, with block times and tx hashes),\n"
          "and manifest.json with the SHA-256 of every file. The bundle directory is itself\n"
          "usable as --log DIR; check it with `tlog verify-bundle`. --anchors FILE takes\n"
          "the anchors from a `tlog anchor list --json` file instead of the chain. The chain\n"
          "is read from the anchor contract's deployment block (found by eth_getCode search;\n"
          "a node without old state cannot say, and then it is read from block 0) or from\n"
          "--from-block N (`tlog anchor deploy` printed it; `tlog anchor status` shows it).\n"
          "Attestations: logd's boot quotes and anchored checkpoints' quotes, as the log\n"
          "serves them, go to attestation/boot-<I>.json and attestation/checkpoint-<N>.json.\n"
          "Other components' boot quotes that logd keeps (the collector's, sent with its boot\n"
          "entry) are exported the same way. --attestation FILE adds another component's\n"
          "boot attestation (the collector's GET /v1/attestation answer: JSON with\n"
          "boot_index and quote) as attestation/boot-<boot_index>.json (skipped when the log\n"
          "served the same quote); `tlog audit --bundle` then checks it.\n"
          "The log's Intel collateral archive (logd --pccs: /v1/collateral), index and\n"
          "documents, goes to collateral/ (`tlog collateral --log BUNDLE --at T` reads it).\n"
          "--quiet: no progress and no notes on stderr. With --json: {verified, out, origin,\n"
          "size, root, files, anchors, anchored_checkpoints, attestations}.\n"
          "Deprecated: `--to DIR` is the former name of `--out DIR`, kept for this release\n"
          "only (it prints a warning); `--to` is a date in `tlog audit`.\n"
          "Exit status: 0 exported, 1 verification failed, 2 usage or I/O error.\n");
}

/* The command line of `tlog export`. */
typedef struct export_args {
  const char *log, *key, *out, *size_arg, *rpc, *contract, *anchors_file;
  uint64_t size; /* --size, when size_arg */
  uint64_t from_block; /* --from-block, or TLOG_FROM_CREATION */
  const char *extra_att[16]; /* --attestation FILEs */
  size_t nextra;
  bool json, quiet;
} export_args;

/* One export in progress. Each step below returns 0, or an exit status with err. */
typedef struct export_job {
  const export_args *g;
  char mpath[4096];        /* OUT/manifest.json */
  tlog_log l;
  uint64_t size;           /* the bundle's tree size */
  uint64_t fails;          /* the source's failures before we read tiles */
  tlog_checkpoint bcp;     /* the bundle's checkpoint */
  tile_reader *r;          /* the tree of size `size` */
  json_t *files;           /* manifest: path -> sha256 */
  tlog_anchors anchors;    /* anchors up to size */
  uint64_t *boot_idx;      /* logd boot entries (not --dev): their quotes are exported */
  size_t nboot_idx, boot_cap;
  size_t anchored_notes, natt;
} export_job;

/* Returns 0 to go on, or the exit status (after --help, or a usage error). */
static int export_parse_args(int argc, char **argv, export_args *g, bool *done) {
  static const struct option opts[] = {{"log", required_argument, 0, 'l'},
                                       {"key", required_argument, 0, 'k'},
                                       {"out", required_argument, 0, 'o'},
                                       {"to", required_argument, 0, 't'},
                                       {"size", required_argument, 0, 's'},
                                       {"rpc", required_argument, 0, 'r'},
                                       {"contract", required_argument, 0, 'c'},
                                       {"anchors", required_argument, 0, 'A'},
                                       {"json", no_argument, 0, 'j'},
                                       {"quiet", no_argument, 0, 'q'},
                                       {"help", no_argument, 0, 'h'},
                                       {"attestation", required_argument, 0, 'T'},
                                       {"from-block", required_argument, 0, 'f'},
                                       {0, 0, 0, 0}};
  const char *cmd = "export", *from_arg = NULL;
  memset(g, 0, sizeof *g);
  *done = true;
  int c;
  optind = 1;
  while ((c = tlog_getopt(cmd, argc, argv, opts)) != -1) {
    switch (c) {
    case 'l': g->log = optarg; break;
    case 'k': g->key = optarg; break;
    case 't':
      /* --to is a date in `tlog audit`; here it was the bundle directory. */
      fprintf(stderr, "tlog export: warning: --to is deprecated; use --out DIR (in the next release "
                      "--to will be refused by tlog export)\n");
      /* fall through */
    case 'o':
      if (g->out && strcmp(g->out, optarg))
        return tlog_usage_error(cmd, "two bundle directories given ('%s' and '%s')", g->out, optarg);
      g->out = optarg;
      break;
    case 's': g->size_arg = optarg; break;
    case 'r': g->rpc = optarg; break;
    case 'c': g->contract = optarg; break;
    case 'A': g->anchors_file = optarg; break;
    case 'f': from_arg = optarg; break;
    case 'j': g->json = true; break;
    case 'q': g->quiet = true; break;
    case 'T':
      if (g->nextra == sizeof g->extra_att / sizeof g->extra_att[0])
        return tlog_usage_error(cmd, "more than %zu --attestation files",
                                sizeof g->extra_att / sizeof g->extra_att[0]);
      g->extra_att[g->nextra++] = optarg;
      break;
    case 'h': export_usage(stdout); return TLOG_EXIT_OK;
    default: return TLOG_EXIT_USAGE;
    }
  }
  if (tlog_no_extra_args(cmd, argc, argv) || tlog_require(cmd, g->log, "--log") || tlog_require(cmd, g->key, "--key"))
    return TLOG_EXIT_USAGE;
  if (!g->out) return tlog_usage_error(cmd, "missing --out");
  if (g->rpc && !g->contract) return tlog_usage_error(cmd, "missing --contract (--rpc needs it)");
  if (g->contract && !g->rpc) return tlog_usage_error(cmd, "missing --rpc (--contract needs it)");
  if (g->rpc && g->anchors_file) return tlog_usage_error(cmd, "give only one of --rpc and --anchors");
  if (parse_from_block(cmd, from_arg, g->rpc != NULL, &g->from_block)) return TLOG_EXIT_USAGE;
  if (g->size_arg && xt_parse_u64(g->size_arg, 0, 0, UINT64_MAX, &g->size) != XT_OK)
    return tlog_usage_error(cmd, "--size '%s' is not a decimal integer", g->size_arg);
  if (strlen(g->out) > TLOG_MAX_DIR)
    return tlog_usage_error(cmd, "--out: the path is too long (over %d bytes)", TLOG_MAX_DIR);
  *done = false;
  return 0;
}

/* The log, the size and the reader; refuses a directory that holds a bundle. */
static int export_open(export_job *x, char *err, size_t errcap) {
  const export_args *g = x->g;
  x->size = g->size;
  snprintf(x->mpath, sizeof x->mpath, "%s/manifest.json", g->out);
  if (access(x->mpath, F_OK) == 0) {
    xt_errf(err, errcap, "%s already holds a bundle (manifest.json); choose an empty directory", g->out);
    return TLOG_EXIT_USAGE;
  }
  int rc = tlog_log_open(&x->l, g->log, g->key, err, errcap);
  if (rc) return rc;
  if (!g->size_arg) x->size = x->l.cp.c.size;
  x->fails = log_source_failures(x->l.src);
  if (x->size > x->l.cp.c.size) {
    xt_errf(err, errcap, "--size %llu is beyond the log's checkpoint size %llu", (unsigned long long)x->size,
            (unsigned long long)x->l.cp.c.size);
    return TLOG_EXIT_USAGE;
  }
  if (x->size == 0) {
    xt_errf(err, errcap, "the tree of size 0 has nothing to export");
    return TLOG_EXIT_USAGE;
  }
  x->r = tile_reader_new(x->l.cp.c.size, x->l.cp.c.root, log_source_tile_fetcher, x->l.src);
  x->files = json_object();
  if (!x->r || !x->files) {
    xt_errf(err, errcap, "out of memory");
    return TLOG_EXIT_USAGE;
  }
  return 0;
}

/* The bundle's signed checkpoint: the latest, or the log's v1/checkpoints/N checked
 * against the tree the latest one authenticates; then the reader of that size. */
static int export_checkpoint(export_job *x, char *err, size_t errcap) {
  tlog_log *l = &x->l;
  if (x->size == l->cp.c.size) return tlog_checkpoint_from_text(&l->v, l->cp.note, l->cp.note_len, &x->bcp, err, errcap);
  char path[64];
  snprintf(path, sizeof path, "v1/checkpoints/%llu", (unsigned long long)x->size);
  int rc = tlog_fetch_checkpoint(l->src, &l->v, path, &x->bcp, NULL, err, errcap);
  if (rc) return rc;
  uint8_t root[MERKLE_HASH_SIZE];
  if (merkle_root_at(x->size, tile_reader_nodes, x->r, root) != MERKLE_OK) {
    xt_errf(err, errcap, "%s", tile_reader_error(x->r));
    return tlog_reader_failure(l->src, x->fails);
  }
  if (x->bcp.c.size != x->size || memcmp(root, x->bcp.c.root, MERKLE_HASH_SIZE)) {
    xt_errf(err, errcap, "the signed checkpoint of size %llu is not consistent with the latest checkpoint",
            (unsigned long long)x->size);
    return TLOG_EXIT_FAILED;
  }
  /* From here on, read the tree of the bundle's own size. */
  tile_reader_free(x->r);
  x->r = tile_reader_new(x->bcp.c.size, x->bcp.c.root, log_source_tile_fetcher, l->src);
  if (!x->r) {
    xt_errf(err, errcap, "out of memory");
    return TLOG_EXIT_USAGE;
  }
  return 0;
}

/* The anchors up to the bundle's size, from the chain or --anchors. */
static int export_select_anchors(export_job *x, char *err, size_t errcap) {
  const export_args *g = x->g;
  if (!g->rpc && !g->anchors_file) return 0;
  tlog_anchors all;
  int rc = g->rpc ? chain_anchors("export", g->rpc, g->contract, x->l.cp.c.origin, g->from_block, g->quiet, &all, err,
                                  errcap)
                  : (int)tlog_anchors_load(g->anchors_file, &all, err, errcap);
  if (rc) return rc;
  for (size_t i = 0; i < all.n && !rc; i++) {
    if (all.a[i].size > x->size) continue;
    if (x->anchors.n == x->anchors.cap) {
      size_t cap = x->anchors.cap ? x->anchors.cap * 2 : 16;
      tlog_anchor *na = realloc(x->anchors.a, cap * sizeof *na);
      if (!na) {
        xt_errf(err, errcap, "out of memory");
        rc = TLOG_EXIT_USAGE;
        break;
      }
      x->anchors.a = na;
      x->anchors.cap = cap;
    }
    x->anchors.a[x->anchors.n++] = all.a[i];
  }
  if (!rc && !g->quiet && all.n > x->anchors.n)
    fprintf(stderr, "tlog export: %zu later anchors (size > %llu) left out\n", all.n - x->anchors.n,
            (unsigned long long)x->size);
  tlog_anchors_free(&all);
  return rc;
}

/* Over HTTP, reads the next tiles of level L (from index k) at once. */
static void prefetch_level(log_source *src, int L, uint64_t k, uint64_t size) {
  tile_id ids[FETCH_MAX_CONCURRENT];
  size_t m = 0;
  for (; m < FETCH_MAX_CONCURRENT && tile_width_at(L, k + m, size); m++)
    ids[m] = (tile_id){L, k + m, tile_width_at(L, k + m, size)};
  log_source_prefetch(src, ids, m);
}

/* Every hash tile of every level, each authenticated on reading. */
static int export_hash_tiles(export_job *x, char *err, size_t errcap) {
  uint8_t(*hashes)[MERKLE_HASH_SIZE] = malloc(TILE_WIDTH * MERKLE_HASH_SIZE);
  if (!hashes) {
    xt_errf(err, errcap, "out of memory");
    return TLOG_EXIT_USAGE;
  }
  tlog_progress p;
  tlog_progress_init(&p, x->g->quiet, "exporting tiles", x->size);
  int rc = 0;
  for (unsigned L = 0; L < 8 && (x->size >> (L * TILE_HEIGHT)) > 0 && !rc; L++) {
    for (uint64_t k = 0; !rc; k++) {
      unsigned w = tile_width_at((int)L, k, x->size);
      if (w == 0) break;
      if (k % FETCH_MAX_CONCURRENT == 0) prefetch_level(x->l.src, (int)L, k, x->size);
      if (tile_reader_nodes(x->r, L * TILE_HEIGHT, k * TILE_WIDTH, w, hashes) != 0) {
        xt_errf(err, errcap, "%s", tile_reader_error(x->r));
        rc = tlog_reader_failure(x->l.src, x->fails);
        break;
      }
      tile_id t = {(int)L, k, w};
      char rel[TILE_PATH_MAX];
      tile_path_encode(&t, rel, sizeof rel, NULL);
      if (bundle_put(x->g->out, x->files, rel, hashes, (size_t)w * MERKLE_HASH_SIZE, err, errcap))
        rc = TLOG_EXIT_USAGE;
      else if (L == 0)
        tlog_progress_update(&p, k * TILE_WIDTH + w);
    }
  }
  tlog_progress_done(&p);
  free(hashes);
  return rc;
}

/* Notes a boot entry whose quote the log may serve: logd's (not --dev), and any other
 * component's that names a quote (logd keeps those sent to POST /v1/boot). */
static int note_boot(export_job *x, uint64_t index, const tile_bundle_entry *e, char *err, size_t errcap) {
  codeid_boot cb;
  if (!codeid_maybe_boot(e->data, e->len) || codeid_boot_parse(e->data, e->len, index, &cb) ||
      codeid_boot_is_dev(&cb) || (strcmp(cb.submitter, "logd") && !cb.quote_sha256[0]))
    return 0;
  if (x->nboot_idx == x->boot_cap) {
    size_t cap = x->boot_cap ? x->boot_cap * 2 : 16;
    uint64_t *nb = realloc(x->boot_idx, cap * sizeof *nb);
    if (!nb) {
      xt_errf(err, errcap, "out of memory");
      return TLOG_EXIT_USAGE;
    }
    x->boot_idx = nb;
    x->boot_cap = cap;
  }
  x->boot_idx[x->nboot_idx++] = cb.index;
  return 0;
}

/* Every entry bundle, each authenticated on reading. */
static int export_entry_bundles(export_job *x, char *err, size_t errcap) {
  uint8_t *bundle = malloc(FETCH_MAX_TILE);
  if (!bundle) {
    xt_errf(err, errcap, "out of memory");
    return TLOG_EXIT_USAGE;
  }
  tlog_progress p;
  tlog_progress_init(&p, x->g->quiet, "exporting entries", x->size);
  int rc = 0;
  for (uint64_t k = 0; !rc && k * TILE_WIDTH < x->size; k++) {
    const tile_bundle_entry *e;
    size_t n, blen = 0;
    if (k % FETCH_MAX_CONCURRENT == 0) prefetch_level(x->l.src, TILE_LEVEL_ENTRIES, k, x->size);
    if (tile_reader_entries(x->r, k, &e, &n) != 0) {
      xt_errf(err, errcap, "%s", tile_reader_error(x->r));
      rc = tlog_reader_failure(x->l.src, x->fails);
      break;
    }
    for (size_t i = 0; i < n && !rc; i++) {
      tile_bundle_append(bundle, FETCH_MAX_TILE, &blen, e[i].data, e[i].len);
      rc = note_boot(x, k * TILE_WIDTH + i, &e[i], err, errcap);
    }
    if (rc) break;
    tile_id t = {TILE_LEVEL_ENTRIES, k, (unsigned)n};
    char rel[TILE_PATH_MAX];
    tile_path_encode(&t, rel, sizeof rel, NULL);
    if (bundle_put(x->g->out, x->files, rel, bundle, blen, err, errcap)) rc = TLOG_EXIT_USAGE;
    tlog_progress_update(&p, k * TILE_WIDTH + n);
  }
  tlog_progress_done(&p);
  free(bundle);
  return rc;
}

/* Signed checkpoints of the anchored sizes, checked against the anchors. */
static int export_anchored_notes(export_job *x, char *err, size_t errcap) {
  for (size_t i = 0; i < x->anchors.n; i++) {
    const tlog_anchor *a = &x->anchors.a[i];
    char path[64];
    snprintf(path, sizeof path, "v1/checkpoints/%llu", (unsigned long long)a->size);
    tlog_checkpoint acp;
    bool nf = false;
    char cerr[400];
    int crc = tlog_fetch_sized_checkpoint(x->l.src, &x->l.v, a->size, &x->l.cp, &acp, &nf, cerr, sizeof cerr);
    if (crc == TLOG_EIO && nf) continue; /* the log does not keep it: the chain has root and hash */
    if (crc) {
      xt_errf(err, errcap, "%s", cerr);
      return crc;
    }
    uint8_t h[32];
    tlog_sha256(acp.note, acp.note_len, h);
    if (acp.c.size != a->size || memcmp(acp.c.root, a->root, 32) || memcmp(h, a->checkpoint_hash, 32)) {
      xt_errf(err, errcap, "the log's checkpoint of size %llu differs from the one anchored on chain",
              (unsigned long long)a->size);
      tlog_checkpoint_clear(&acp);
      return TLOG_EXIT_FAILED;
    }
    int rc = bundle_put(x->g->out, x->files, path, acp.note, acp.note_len, err, errcap) ? TLOG_EXIT_USAGE : 0;
    tlog_checkpoint_clear(&acp);
    if (rc) return rc;
    x->anchored_notes++;
  }
  return 0;
}

/* Attestations (codeid.h): logd's boot quotes and the anchored checkpoints' quotes,
 * as served; `tlog audit --bundle` and `verify-bundle` check them. */
static int export_attestations(export_job *x, char *err, size_t errcap) {
  for (size_t i = 0; i < x->nboot_idx + x->anchors.n; i++) {
    bool boot = i < x->nboot_idx;
    uint64_t n = boot ? x->boot_idx[i] : x->anchors.a[i - x->nboot_idx].size;
    uint8_t *d = NULL;
    size_t dlen = 0;
    char ferr[300], rel[96];
    int rc = 0, fr = codeid_fetch(x->l.src, boot, n, &d, &dlen, ferr, sizeof ferr);
    if (fr == FETCH_OK) {
      codeid_path(false, boot, n, rel, sizeof rel);
      rc = bundle_put(x->g->out, x->files, rel, d, dlen, err, errcap) ? TLOG_EXIT_USAGE : 0;
      x->natt += rc == 0;
    } else if (!x->g->quiet) {
      fprintf(stderr, "tlog export: no attestation for %s %llu (%s)\n", boot ? "boot entry" : "anchored checkpoint",
              (unsigned long long)n, fr == FETCH_NOT_FOUND ? "not served" : ferr);
    }
    free(d);
    if (rc) return rc;
  }
  return 0;
}

/* Whether the bundle's file rel holds the same quote as j. */
static int same_quote_in_bundle(const char *dir, const char *rel, json_t *j) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, rel);
  json_t *b = json_load_file(path, 0, NULL);
  const char *q1 = json_string_value(json_object_get(b, "quote")), *q2 = json_string_value(json_object_get(j, "quote"));
  int same = q1 && q2 && !strcmp(q1, q2);
  json_decref(b);
  return same;
}

/* Other components' boot attestations, given as files; checked by the audit. */
static int export_extra_attestations(export_job *x, char *err, size_t errcap) {
  for (size_t i = 0; i < x->g->nextra; i++) {
    const char *file = x->g->extra_att[i];
    json_error_t je;
    json_t *j = json_load_file(file, 0, &je);
    json_t *bi = json_object_get(j, "boot_index");
    char rel[96];
    if (!json_is_integer(bi) || json_integer_value(bi) < 0 || (uint64_t)json_integer_value(bi) >= x->size ||
        !json_is_string(json_object_get(j, "quote"))) {
      xt_errf(err, errcap, "--attestation %.300s: %s", file, j ? "needs a boot_index inside the bundle and a quote" : je.text);
      json_decref(j);
      return TLOG_EXIT_USAGE;
    }
    codeid_path(false, true, (uint64_t)json_integer_value(bi), rel, sizeof rel);
    int same = json_object_get(x->files, rel) ? same_quote_in_bundle(x->g->out, rel, j) : 0;
    char *txt = json_object_get(x->files, rel) ? NULL : json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (same) continue; /* the log served this quote already (logd keeps collectors' quotes) */
    if (!txt) {
      xt_errf(err, errcap, "--attestation %.300s: the bundle already holds %s", file, rel);
      return TLOG_EXIT_USAGE;
    }
    int rc = bundle_put(x->g->out, x->files, rel, txt, strlen(txt), err, errcap) ? TLOG_EXIT_USAGE : 0;
    free(txt);
    if (rc) return rc;
    x->natt++;
  }
  return 0;
}

/* One archived collateral document (client/collateral.h) into the bundle: it must
 * hash to the index's sha256 (the audit checks it again). 0 or an exit status. */
static int export_collateral_doc(export_job *x, const char *name, const char *sha, char *err, size_t errcap) {
  char src_path[128], dst_path[128], hex[65], ferr[300];
  tlog_collateral_path(x->l.src, name, src_path, sizeof src_path);
  snprintf(dst_path, sizeof dst_path, "collateral/%s.json", name);
  uint8_t *d = NULL;
  size_t len = 0;
  fetch_status st = log_source_get(x->l.src, src_path, TLOG_COLLATERAL_MAX_DOC, &d, &len, ferr, sizeof ferr);
  if (st != FETCH_OK) {
    xt_errf(err, errcap, "collateral %s: %s", name, st == FETCH_NOT_FOUND ? "listed but not served" : ferr);
    return TLOG_EXIT_USAGE;
  }
  sha256_hex(d, len, hex);
  int rc = strcmp(hex, sha) ? TLOG_EXIT_FAILED : 0;
  if (rc) xt_errf(err, errcap, "collateral %s: its SHA-256 is not the one the log's index names", name);
  else if (bundle_put(x->g->out, x->files, dst_path, d, len, err, errcap)) rc = TLOG_EXIT_USAGE;
  free(d);
  return rc;
}

/* The log's collateral archive (logd --pccs), index and documents, as
 * collateral/index.json and collateral/<name>.json; a log without one has none. */
static int export_collateral(export_job *x, char *err, size_t errcap) {
  char path[64], ferr[300];
  tlog_collateral_path(x->l.src, NULL, path, sizeof path);
  uint8_t *d = NULL;
  size_t len = 0;
  fetch_status st = log_source_get(x->l.src, path, TLOG_COLLATERAL_MAX_INDEX, &d, &len, ferr, sizeof ferr);
  if (st == FETCH_NOT_FOUND) return 0;
  if (st != FETCH_OK) {
    xt_errf(err, errcap, "collateral index: %s", ferr);
    return TLOG_EXIT_USAGE;
  }
  json_t *idx = json_loadb((const char *)d, len, JSON_REJECT_DUPLICATES, NULL), *e;
  json_t *arr = json_object_get(idx, "collateral");
  int rc = json_is_array(arr) ? 0 : TLOG_EXIT_FAILED;
  if (rc) xt_errf(err, errcap, "the log's collateral index is malformed");
  size_t i;
  json_array_foreach(arr, i, e) {
    const char *name = json_string_value(json_object_get(e, "name"));
    const char *sha = json_string_value(json_object_get(e, "sha256"));
    size_t n = name ? strspn(name, "0123456789") : 0;
    if (!name || !n || n > 20 || name[n] || !sha) {
      xt_errf(err, errcap, "the log's collateral index entry %zu is malformed", i);
      rc = TLOG_EXIT_FAILED;
    }
    if (!rc) rc = export_collateral_doc(x, name, sha, err, errcap);
    if (rc) break;
  }
  if (!rc && bundle_put(x->g->out, x->files, "collateral/index.json", d, len, err, errcap)) rc = TLOG_EXIT_USAGE;
  json_decref(idx);
  free(d);
  return rc;
}

/* A JSON document into the bundle (refcount of j taken). */
static int put_json(export_job *x, const char *rel, json_t *j, size_t flags, char *err, size_t errcap) {
  char *s = j ? json_dumps(j, flags) : NULL;
  json_decref(j);
  int rc = !s || bundle_put(x->g->out, x->files, rel, s, strlen(s), err, errcap);
  if (!s) xt_errf(err, errcap, "out of memory");
  free(s);
  return rc ? TLOG_EXIT_USAGE : 0;
}

/* The checkpoint, anchors.json, verifier-key and, last, manifest.json. */
static int export_finish(export_job *x, char *err, size_t errcap) {
  const export_args *g = x->g;
  if (bundle_put(g->out, x->files, "checkpoint", x->bcp.note, x->bcp.note_len, err, errcap)) return TLOG_EXIT_USAGE;
  if ((g->rpc || g->anchors_file) &&
      put_json(x, "anchors.json", tlog_anchors_json(&x->anchors), JSON_INDENT(1), err, errcap))
    return TLOG_EXIT_USAGE;
  char vkey[512], verr[100];
  size_t vlen;
  if (note_verifier_format(&x->l.v, vkey, sizeof vkey - 1, &vlen, verr, sizeof verr) == 0) {
    vkey[vlen++] = '\n';
    if (bundle_put(g->out, x->files, "verifier-key", vkey, vlen, err, errcap)) return TLOG_EXIT_USAGE;
  }
  char rh[65];
  xt_hex_encode(x->bcp.c.root, 32, rh);
  json_t *m = json_pack("{s:s,s:s,s:I,s:s,s:s,s:O}", "format", BUNDLE_FORMAT, "origin", x->bcp.c.origin, "size",
                        (json_int_t)x->bcp.c.size, "root", rh, "created_by", "tlog " XT_VERSION, "files", x->files);
  char *s = m ? json_dumps(m, JSON_INDENT(1) | JSON_SORT_KEYS) : NULL;
  json_decref(m);
  if (!s) {
    xt_errf(err, errcap, "out of memory");
    return TLOG_EXIT_USAGE;
  }
  sync(); /* tiles first, then the manifest that says they are complete */
  int rc = tlog_write_file(x->mpath, s, strlen(s), err, errcap) ? TLOG_EXIT_USAGE : 0;
  free(s);
  return rc;
}

/* The steps of an export, in order; each writes its part of the bundle. */
static int (*const export_steps[])(export_job *, char *, size_t) = {
    export_open,           export_checkpoint,     export_select_anchors,     export_hash_tiles,
    export_entry_bundles,  export_anchored_notes, export_attestations,       export_extra_attestations,
    export_collateral,     export_finish,
};

/* What was written: one line, or with --json one document. 0 or TLOG_EXIT_USAGE. */
static int export_report(const export_job *x, char *err, size_t errcap) {
  const export_args *g = x->g;
  if (!g->json) {
    printf("exported %llu entries (%zu files, %zu anchors, %zu anchored checkpoints, %zu attestations) to %s\n",
           (unsigned long long)x->size, json_object_size(x->files), x->anchors.n, x->anchored_notes, x->natt, g->out);
    return 0;
  }
  char rh[65];
  xt_hex_encode(x->bcp.c.root, 32, rh);
  json_t *o = json_pack("{s:b,s:s,s:s,s:I,s:s,s:I,s:I,s:I,s:I}", "verified", 1, "out", g->out, "origin",
                        x->bcp.c.origin, "size", (json_int_t)x->size, "root", rh, "files",
                        (json_int_t)json_object_size(x->files), "anchors", (json_int_t)x->anchors.n,
                        "anchored_checkpoints", (json_int_t)x->anchored_notes, "attestations", (json_int_t)x->natt);
  int rc = tlog_json_print(o);
  json_decref(o);
  if (rc) xt_errf(err, errcap, "out of memory");
  return rc ? TLOG_EXIT_USAGE : 0;
}

int cmd_export(int argc, char **argv) {
  export_args g;
  bool done;
  int rc = export_parse_args(argc, argv, &g, &done);
  if (done) return rc;
  export_job x;
  memset(&x, 0, sizeof x);
  x.g = &g;
  char err[700];
  for (size_t i = 0; !rc && i < sizeof export_steps / sizeof export_steps[0]; i++) rc = export_steps[i](&x, err, sizeof err);
  if (!rc) rc = export_report(&x, err, sizeof err);
  free(x.boot_idx);
  tile_reader_free(x.r);
  tlog_checkpoint_clear(&x.bcp);
  json_decref(x.files);
  tlog_anchors_free(&x.anchors);
  if (x.l.src) tlog_log_close(&x.l);
  if (rc) return tlog_fail("export", g.json, rc, err);
  return TLOG_EXIT_OK;
}

/* ---- verify-bundle ---- */

static void verify_usage(FILE *f) {
  fprintf(f,
          "usage: tlog verify-bundle DIR --key VKEY [--rpc URL --contract 0xADDR [--from-block N]]\n"
          "                          [--json] [--quiet]\n"
          "\n"
          "Verifies a `tlog export` bundle offline: every file against manifest.json, the\n"
          "checkpoint's signature, every entry recomputed to the checkpoint's root and to\n"
          "the root of every anchor in anchors.json, every hash tile against the nodes\n"
          "recomputed from the entries, and the anchored checkpoints' signatures and\n"
          "hashes. With --rpc/--contract, also that the bundle's anchors are on chain as\n"
          "recorded (size, root, checkpoint hash, block, time, tx) and none is left out,\n"
          "reading the chain from the contract's deployment block or --from-block N (as in\n"
          "`tlog export`; a recorded anchor before that block is reported not on chain).\n"
          "Attestations (attestation/*.json): each bound to its boot entry (quote SHA-256,\n"
          "report_data over the keys the entry names, event log, compose hash) or to its\n"
          "anchored note; one missing for a logd boot entry or an enclave logd's anchor\n"
          "fails. Simulated quotes are counted here; `tlog audit` judges them.\n"
          "A checkpoint that does not verify under --key (another log's key) stops the check:\n"
          "the error names the key id given and the key ids the checkpoint is signed by.\n"
          "Each failure is one line on stderr; with --json also in \"failures\".\n"
          "Exit status: 0 verified, 1 verification failed, 2 usage or I/O error.\n");
}

/* verify-bundle's replay callback: collects the boot entries. */
typedef struct boot_list {
  codeid_boot *b;
  size_t n, cap;
} boot_list;

static int collect_boot(void *ctx, uint64_t idx, const uint8_t *data, size_t len) {
  boot_list *l = ctx;
  codeid_boot cb;
  if (!codeid_maybe_boot(data, len) || codeid_boot_parse(data, len, idx, &cb)) return 0;
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 16;
    codeid_boot *nb = realloc(l->b, cap * sizeof *nb);
    if (!nb) return 2;
    l->b = nb;
    l->cap = cap;
  }
  l->b[l->n++] = cb;
  return 0;
}

/* The bundle's attestations (codeid.h), judged on their bindings: every logd boot entry
 * (not --dev) and every anchor of an enclave-mode logd needs one; a simulated quote is
 * counted, not failed (trusting simulation is `tlog audit`'s --allow-simulated). */
static void verify_attestations(log_source *src, const boot_list *bl, const tlog_anchors *anchors,
                                tlog_failures *f, size_t counts[3]) {
  codeid_opts o = {.now = time(NULL), .lenient = true, .allow_dev = true};
  for (size_t i = 0; i < bl->n + anchors->n; i++) {
    bool boot = i < bl->n;
    const codeid_boot *b = boot ? &bl->b[i] : NULL;
    const tlog_anchor *an = boot ? NULL : &anchors->a[i - bl->n];
    const codeid_boot *lb = NULL; /* the logd run before an anchor */
    if (boot && (codeid_boot_is_dev(b) || strcmp(b->submitter, "logd"))) {
      if (strcmp(b->submitter, "logd") && !codeid_boot_is_dev(b)) {
        /* Another component's quote: checked when the bundle holds it. */
        uint8_t *d = NULL;
        size_t n = 0;
        char ferr[200];
        if (codeid_fetch(src, true, b->index, &d, &n, ferr, sizeof ferr) == FETCH_OK) {
          codeid_result r;
          codeid_check_boot(b, d, n, &o, &r);
          if (r.failed)
            tlog_failures_add(f, "attestation/boot-%llu.json: %s", (unsigned long long)b->index, r.message);
          else
            counts[r.status == CODEID_SIMULATED ? 1 : 0]++;
        }
        free(d);
      }
      continue;
    }
    if (!boot) {
      for (size_t j = 0; j < bl->n && bl->b[j].index < an->size; j++)
        if (!strcmp(bl->b[j].submitter, "logd")) lb = &bl->b[j];
    }
    uint64_t n = boot ? b->index : an->size;
    uint8_t *d = NULL;
    size_t dlen = 0;
    char ferr[200], rel[96];
    codeid_path(false, boot, n, rel, sizeof rel);
    int fr = codeid_fetch(src, boot, n, &d, &dlen, ferr, sizeof ferr);
    if (fr == FETCH_OK) {
      codeid_result r;
      if (boot) codeid_check_boot(b, d, dlen, &o, &r);
      else codeid_check_checkpoint(n, an->checkpoint_hash, d, dlen, &o, &r);
      if (r.failed) tlog_failures_add(f, "%s: %s", rel, r.message);
      else counts[r.status == CODEID_SIMULATED ? 1 : 0]++;
    } else if (boot || (lb && !codeid_boot_is_dev(lb))) {
      tlog_failures_add(f, "%s: %s", rel, fr == FETCH_NOT_FOUND ? "missing" : ferr);
    } else {
      counts[2]++; /* an anchor of a --dev logd (or of no logd): nothing to check */
    }
    free(d);
  }
}

static bool anchor_equal(const tlog_anchor *a, const tlog_anchor *b) {
  return a->size == b->size && !memcmp(a->root, b->root, 32) &&
         !memcmp(a->checkpoint_hash, b->checkpoint_hash, 32) && a->block == b->block &&
         a->time == b->time && !memcmp(a->tx, b->tx, 32);
}

/* The command line of `tlog verify-bundle`. */
typedef struct verify_args {
  const char *dir, *key, *rpc, *contract;
  uint64_t from_block; /* --from-block, or TLOG_FROM_CREATION */
  bool json, quiet;
} verify_args;

/* One bundle being verified. Each step returns 0 to go on (its failures added to f),
 * TLOG_EXIT_USAGE (I/O: err set, nothing concluded) or TLOG_EXIT_FAILED (err set: the
 * check cannot go on, as when the checkpoint does not verify). */
typedef struct bundle_check {
  const verify_args *g;
  note_verifier v;
  char mpath[4096];
  json_t *m; /* manifest.json */
  log_source *src;
  tlog_checkpoint cp;
  tlog_anchors anchors, chain;
  uint64_t *sizes; /* anchored sizes and the checkpoint's, ascending, with their roots */
  uint8_t (*roots)[MERKLE_HASH_SIZE];
  size_t ncheck;
  replay_stats st;
  boot_list boots;
  size_t att_counts[3]; /* verified or bindings ok, simulated, dev anchors */
  uint64_t nfiles;
  tlog_failures f;
} bundle_check;

/* Returns 0 to go on, or the exit status (after --help, or a usage error). */
static int verify_parse_args(int argc, char **argv, verify_args *g, bool *done) {
  static const struct option opts[] = {{"key", required_argument, 0, 'k'},
                                       {"rpc", required_argument, 0, 'r'},
                                       {"contract", required_argument, 0, 'c'},
                                       {"json", no_argument, 0, 'j'},
                                       {"quiet", no_argument, 0, 'q'},
                                       {"help", no_argument, 0, 'h'},
                                       {"from-block", required_argument, 0, 'f'},
                                       {0, 0, 0, 0}};
  const char *cmd = "verify-bundle", *from_arg = NULL;
  memset(g, 0, sizeof *g);
  *done = true;
  int c;
  optind = 1;
  /* DIR may come anywhere: getopt_long permutes it to the end. */
  while ((c = tlog_getopt(cmd, argc, argv, opts)) != -1) {
    switch (c) {
    case 'k': g->key = optarg; break;
    case 'r': g->rpc = optarg; break;
    case 'c': g->contract = optarg; break;
    case 'f': from_arg = optarg; break;
    case 'j': g->json = true; break;
    case 'q': g->quiet = true; break;
    case 'h': verify_usage(stdout); return TLOG_EXIT_OK;
    default: return TLOG_EXIT_USAGE;
    }
  }
  if (optind >= argc) return tlog_usage_error(cmd, "missing DIR (the bundle)");
  g->dir = argv[optind++];
  if (tlog_no_extra_args(cmd, argc, argv) || tlog_require(cmd, g->key, "--key")) return TLOG_EXIT_USAGE;
  if (g->rpc && !g->contract) return tlog_usage_error(cmd, "missing --contract (--rpc needs it)");
  if (g->contract && !g->rpc) return tlog_usage_error(cmd, "missing --rpc (--contract needs it)");
  if (parse_from_block(cmd, from_arg, g->rpc != NULL, &g->from_block)) return TLOG_EXIT_USAGE;
  if (strlen(g->dir) > TLOG_MAX_DIR)
    return tlog_usage_error(cmd, "DIR: the path is too long (over %d bytes)", TLOG_MAX_DIR);
  *done = false;
  return 0;
}

/* The key, the manifest and the bundle as a log source. */
static int verify_open(bundle_check *b, char *err, size_t errcap) {
  int rc = tlog_load_verifier(b->g->key, &b->v, err, errcap);
  if (rc) return rc;
  snprintf(b->mpath, sizeof b->mpath, "%s/manifest.json", b->g->dir);
  json_error_t je;
  b->m = json_load_file(b->mpath, 0, &je);
  if (!b->m) {
    xt_errf(err, errcap, "%.400s: %.200s", b->mpath, je.text);
    return TLOG_EXIT_USAGE;
  }
  b->src = log_source_open(b->g->dir, err, errcap);
  if (!b->src) return TLOG_EXIT_USAGE;
  const char *fmt = json_string_value(json_object_get(b->m, "format"));
  if (!fmt || strcmp(fmt, BUNDLE_FORMAT) || !json_is_object(json_object_get(b->m, "files"))) {
    xt_errf(err, errcap, "%.400s: not a %s manifest", b->mpath, BUNDLE_FORMAT);
    return TLOG_EXIT_USAGE;
  }
  return 0;
}

/* 1. Every file as the manifest records it. */
static int verify_files(bundle_check *b, char *err, size_t errcap) {
  json_t *files = json_object_get(b->m, "files");
  tlog_progress p;
  tlog_progress_init(&p, b->g->quiet, "checking file hashes", json_object_size(files));
  const char *rel;
  json_t *hv;
  json_object_foreach(files, rel, hv) {
    const char *want = json_string_value(hv);
    if (!want || strstr(rel, "..") || rel[0] == '/') {
      tlog_failures_add(&b->f, "manifest: bad entry for %s", rel);
      continue;
    }
    uint8_t *data;
    size_t len;
    char ferr[400];
    int g = log_source_get(b->src, rel, FETCH_MAX_TILE + (1u << 20), &data, &len, ferr, sizeof ferr);
    if (g != FETCH_OK) {
      tlog_failures_add(&b->f, "manifest: %s is %s", rel, g == FETCH_NOT_FOUND ? "missing" : ferr);
      continue;
    }
    char got[65];
    sha256_hex(data, len, got);
    free(data);
    if (strcmp(got, want)) tlog_failures_add(&b->f, "manifest: %s has SHA-256 %s, the manifest says %s", rel, got, want);
    tlog_progress_update(&p, ++b->nfiles);
  }
  tlog_progress_done(&p);
  return 0;
}

/* 2. The signed checkpoint, matching the manifest's head. */
static int verify_checkpoint(bundle_check *b, char *err, size_t errcap) {
  /* Without a checkpoint that verifies under --key (another log's key, or a changed
   * note) nothing in the bundle is authenticated: no summary of it is printed. */
  int crc = tlog_fetch_checkpoint(b->src, &b->v, "checkpoint", &b->cp, NULL, err, errcap);
  if (crc == TLOG_EIO) return TLOG_EXIT_USAGE;
  if (crc) return TLOG_EXIT_FAILED;
  json_t *ms = json_object_get(b->m, "size");
  const char *mroot = json_string_value(json_object_get(b->m, "root"));
  uint8_t mr[32];
  if (!json_is_integer(ms) || (uint64_t)json_integer_value(ms) != b->cp.c.size || !mroot ||
      xt_hex_decode_exact(mroot, XT_HEX_0X, mr, 32) != XT_OK || memcmp(mr, b->cp.c.root, 32))
    tlog_failures_add(&b->f, "manifest: size/root differ from the signed checkpoint");
  return 0;
}

/* An anchor's signed checkpoint, where the bundle holds it. */
static void verify_anchored_note(bundle_check *b, const tlog_anchor *a) {
  char path[64];
  snprintf(path, sizeof path, "v1/checkpoints/%llu", (unsigned long long)a->size);
  tlog_checkpoint acp;
  bool nf;
  char cerr[400];
  int arc = tlog_fetch_checkpoint(b->src, &b->v, path, &acp, &nf, cerr, sizeof cerr);
  if (arc == TLOG_EIO && nf) return;
  if (arc) {
    tlog_failures_add(&b->f, "%s", cerr);
    return;
  }
  uint8_t h[32];
  tlog_sha256(acp.note, acp.note_len, h);
  if (acp.c.size != a->size || memcmp(acp.c.root, a->root, 32) || memcmp(h, a->checkpoint_hash, 32))
    tlog_failures_add(&b->f, "%s does not match the anchor at size %llu (root or checkpoint hash)", path,
                      (unsigned long long)a->size);
  tlog_checkpoint_clear(&acp);
}

/* 3. Anchors recorded in the bundle, and their signed checkpoints; the sizes and roots
 * the replay must meet. */
static int verify_anchors(bundle_check *b, char *err, size_t errcap) {
  char apath[4096];
  snprintf(apath, sizeof apath, "%s/anchors.json", b->g->dir);
  if (access(apath, F_OK) == 0 && tlog_anchors_load(apath, &b->anchors, err, errcap))
    tlog_failures_add(&b->f, "%s", err);
  b->sizes = calloc(b->anchors.n + 1, sizeof *b->sizes);
  b->roots = calloc(b->anchors.n + 1, sizeof *b->roots);
  if (!b->sizes || !b->roots) {
    xt_errf(err, errcap, "out of memory");
    return TLOG_EXIT_USAGE;
  }
  for (size_t i = 0; i < b->anchors.n; i++) {
    const tlog_anchor *a = &b->anchors.a[i];
    if (a->size > b->cp.c.size) {
      tlog_failures_add(&b->f, "anchors.json: anchor at size %llu is beyond the bundle's size %llu",
                        (unsigned long long)a->size, (unsigned long long)b->cp.c.size);
      continue;
    }
    if (b->ncheck && a->size < b->sizes[b->ncheck - 1]) {
      tlog_failures_add(&b->f, "anchors.json: anchor sizes go backwards (%llu after %llu)",
                        (unsigned long long)a->size, (unsigned long long)b->sizes[b->ncheck - 1]);
      continue;
    }
    b->sizes[b->ncheck] = a->size;
    memcpy(b->roots[b->ncheck++], a->root, 32);
    verify_anchored_note(b, a);
  }
  b->sizes[b->ncheck] = b->cp.c.size;
  memcpy(b->roots[b->ncheck++], b->cp.c.root, 32);
  return 0;
}

/* 4. Every entry recomputed; every tile compared with the recomputed nodes; then the
 * attestations of the boot entries met on the way. */
static int verify_replay(bundle_check *b, char *err, size_t errcap) {
  replay_opts o = {0};
  o.end = b->cp.c.size;
  o.check_sizes = b->sizes;
  o.check_roots = (const uint8_t(*)[MERKLE_HASH_SIZE])b->roots;
  o.ncheck = b->ncheck;
  o.check_tiles = true;
  o.quiet = b->g->quiet;
  o.what = "recomputing entries";
  o.entry = collect_boot;
  o.ctx = &b->boots;
  char rerr[600];
  int rr = replay_run(b->src, &o, &b->st, rerr, sizeof rerr);
  /* Data missing from a bundle is a defect of the bundle, not an I/O error. */
  if (rr)
    tlog_failures_add(&b->f, "replay: %s", rerr);
  else
    verify_attestations(b->src, &b->boots, &b->anchors, &b->f, b->att_counts);
  return 0;
}

/* 5. With --rpc: the bundle's anchors exactly as on chain, and none left out. */
static int verify_chain(bundle_check *b, char *err, size_t errcap) {
  const tlog_anchors *an = &b->anchors, *ch = &b->chain;
  if (!b->g->rpc) return 0;
  int rc = chain_anchors("verify-bundle", b->g->rpc, b->g->contract, b->cp.c.origin, b->g->from_block, b->g->quiet,
                         &b->chain, err, errcap);
  if (rc) return rc;
  for (size_t i = 0; i < an->n; i++) {
    bool found = false;
    for (size_t j = 0; j < ch->n && !found; j++) found = anchor_equal(&an->a[i], &ch->a[j]);
    if (!found)
      tlog_failures_add(&b->f, "anchors.json: the anchor at size %llu is not on chain as recorded",
                        (unsigned long long)an->a[i].size);
  }
  for (size_t j = 0; j < ch->n; j++) {
    if (ch->a[j].size > b->cp.c.size) continue;
    bool found = false;
    for (size_t i = 0; i < an->n && !found; i++) found = anchor_equal(&an->a[i], &ch->a[j]);
    if (!found)
      tlog_failures_add(&b->f, "chain: the anchor at size %llu (block %llu) is missing from the bundle",
                        (unsigned long long)ch->a[j].size, (unsigned long long)ch->a[j].block);
  }
  return 0;
}

static void verify_report_json(const bundle_check *b) {
  const size_t *ac = b->att_counts;
  char rh[65];
  xt_hex_encode(b->cp.c.root, 32, rh);
  json_t *o = json_pack("{s:b,s:s,s:I,s:s,s:I,s:I,s:I,s:b}", "verified", !tlog_failures_any(&b->f), "origin",
                        b->cp.c.origin, "size", (json_int_t)b->cp.c.size, "root", rh, "files", (json_int_t)b->nfiles,
                        "entries_recomputed", (json_int_t)b->st.entries, "anchors", (json_int_t)b->anchors.n,
                        "chain_checked", b->g->rpc != NULL);
  json_object_set_new(o, "attestations",
                      json_pack("{s:I,s:I,s:I}", "checked", (json_int_t)(ac[0] + ac[1]), "simulated",
                                (json_int_t)ac[1], "dev_anchors", (json_int_t)ac[2]));
  json_t *fa = json_array();
  for (size_t i = 0; i < b->f.n; i++) json_array_append_new(fa, json_string(b->f.msg[i]));
  json_object_set_new(o, "failures", fa);
  json_dumpf(o, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
  fputc('\n', stdout);
  json_decref(o);
}

static void verify_report_text(const bundle_check *b) {
  const size_t *ac = b->att_counts;
  printf("bundle   %s\n", b->g->dir);
  printf("origin   %s\n", b->cp.c.origin);
  printf("size     %llu\n", (unsigned long long)b->cp.c.size);
  printf("files    %llu checked against manifest.json\n", (unsigned long long)b->nfiles);
  printf("entries  %llu replayed (recomputed to the signed root%s)\n", (unsigned long long)b->st.entries,
         b->anchors.n ? " and the anchored roots" : "");
  printf("anchors  %zu%s\n", b->anchors.n, b->g->rpc ? " (checked against the chain)" : " (not checked against a chain)");
  printf("quotes   %zu attestations bound to their boot entries and anchored checkpoints (%zu simulated)%s\n",
         ac[0] + ac[1], ac[1], ac[2] ? "; anchors of a --dev logd have none" : "");
  if (tlog_failures_any(&b->f))
    printf("bundle verification FAILED (%zu failures, each named on stderr)\n", b->f.n + b->f.dropped);
  else
    printf("bundle verified\n");
}

/* Each failure once, on stderr (the summary on stdout only counts them). */
static void report_failures(const tlog_failures *f) {
  for (size_t i = 0; i < f->n; i++) fprintf(stderr, "tlog verify-bundle: verification failed: %s\n", f->msg[i]);
  if (f->dropped) fprintf(stderr, "tlog verify-bundle: verification failed: ... and %zu more (out of memory)\n", f->dropped);
}

/* The steps of verify-bundle, in order. */
static int (*const verify_steps[])(bundle_check *, char *, size_t) = {
    verify_open, verify_files, verify_checkpoint, verify_anchors, verify_replay, verify_chain,
};

int cmd_verify_bundle(int argc, char **argv) {
  verify_args g;
  bool done;
  int rc = verify_parse_args(argc, argv, &g, &done);
  if (done) return rc;
  bundle_check *b = calloc(1, sizeof *b);
  if (!b) return tlog_fail("verify-bundle", g.json, TLOG_EXIT_USAGE, "out of memory");
  b->g = &g;
  char err[700];
  for (size_t i = 0; !rc && i < sizeof verify_steps / sizeof verify_steps[0]; i++) rc = verify_steps[i](b, err, sizeof err);
  if (rc == 0) {
    rc = tlog_failures_any(&b->f) ? TLOG_EXIT_FAILED : TLOG_EXIT_OK;
    if (g.json)
      verify_report_json(b);
    else
      verify_report_text(b);
    report_failures(&b->f);
  } else {
    report_failures(&b->f); /* found before the step that stopped the check */
    rc = tlog_fail("verify-bundle", g.json, rc, err);
  }
  json_decref(b->m);
  log_source_free(b->src);
  tlog_checkpoint_clear(&b->cp);
  tlog_anchors_free(&b->anchors);
  tlog_anchors_free(&b->chain);
  free(b->sizes);
  free(b->roots);
  free(b->boots.b);
  tlog_failures_free(&b->f);
  free(b);
  return rc;
}
