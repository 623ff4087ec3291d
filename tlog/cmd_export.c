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
#include "client/anchors.h"
#include "client/codeid.h"
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

static void export_usage(FILE *f) {
  fprintf(f,
          "usage: tlog export --log URL|DIR --key VKEY --to DIR [--size N]\n"
          "                   [--rpc URL --contract 0xADDR | --anchors FILE]\n"
          "                   [--attestation FILE]... [--quiet]\n"
          "\n"
          "Writes an offline audit bundle: the signed checkpoint of size N (default: the\n"
          "latest; other sizes need the log's v1/checkpoints/N), every tile and entry\n"
          "bundle of that tree (each authenticated before it is written), the signed\n"
          "checkpoints of anchored sizes, with --rpc/--contract the log's on-chain\n"
          "anchors up to N (anchors.json, with block times and tx hashes), and\n"
          "manifest.json with the SHA-256 of every file. The bundle directory is itself\n"
          "usable as --log DIR; check it with `tlog verify-bundle`. --anchors FILE takes\n"
          "the anchors from a `tlog anchor list --json` file instead of the chain.\n"
          "Attestations: logd's boot quotes and anchored checkpoints' quotes, as the log\n"
          "serves them, go to attestation/boot-<I>.json and attestation/checkpoint-<N>.json.\n"
          "--attestation FILE adds another component's boot attestation (the collector's\n"
          "GET /v1/attestation answer: JSON with boot_index and quote) as\n"
          "attestation/boot-<boot_index>.json; `tlog audit --bundle` then checks it.\n"
          "Exit status: 0 exported, 1 verification failed, 2 usage or I/O error.\n");
}

int cmd_export(int argc, char **argv) {
  static const struct option opts[] = {{"log", required_argument, 0, 'l'},
                                       {"key", required_argument, 0, 'k'},
                                       {"to", required_argument, 0, 't'},
                                       {"size", required_argument, 0, 's'},
                                       {"rpc", required_argument, 0, 'r'},
                                       {"contract", required_argument, 0, 'c'},
                                       {"anchors", required_argument, 0, 'A'},
                                       {"quiet", no_argument, 0, 'q'},
                                       {"help", no_argument, 0, 'h'},
                                       {"attestation", required_argument, 0, 'T'},
                                       {0, 0, 0, 0}};
  const char *extra_att[16];
  size_t nextra = 0;
  const char *log = NULL, *key = NULL, *to = NULL, *size_arg = NULL, *rpc = NULL, *contract = NULL,
             *anchors_file = NULL;
  bool quiet = false;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (c) {
    case 'l': log = optarg; break;
    case 'k': key = optarg; break;
    case 't': to = optarg; break;
    case 's': size_arg = optarg; break;
    case 'r': rpc = optarg; break;
    case 'c': contract = optarg; break;
    case 'A': anchors_file = optarg; break;
    case 'q': quiet = true; break;
    case 'T':
      if (nextra == sizeof extra_att / sizeof extra_att[0]) {
        export_usage(stderr);
        return TLOG_EXIT_USAGE;
      }
      extra_att[nextra++] = optarg;
      break;
    case 'h': export_usage(stdout); return TLOG_EXIT_OK;
    default: export_usage(stderr); return TLOG_EXIT_USAGE;
    }
  }
  if (optind != argc || !log || !key || !to || (!rpc != !contract) || (rpc && anchors_file)) {
    export_usage(stderr);
    return TLOG_EXIT_USAGE;
  }
  const char *cmd = "export";
  char err[700];
  uint64_t size = 0;
  if (size_arg && xt_parse_u64(size_arg, 0, 0, UINT64_MAX, &size))
    return tlog_fail(cmd, false, TLOG_EXIT_USAGE, "--size must be a decimal integer");
  char mpath[4096];
  snprintf(mpath, sizeof mpath, "%s/manifest.json", to);
  if (access(mpath, F_OK) == 0) {
    xt_errf(err, sizeof err, "%s already holds a bundle (manifest.json); choose an empty directory", to);
    return tlog_fail(cmd, false, TLOG_EXIT_USAGE, err);
  }
  tlog_log l;
  int rc = tlog_log_open(&l, log, key, err, sizeof err);
  if (rc) return tlog_fail(cmd, false, rc, err);
  if (!size_arg) size = l.cp.c.size;
  tlog_checkpoint bcp = {0}; /* the bundle's checkpoint */
  tile_reader *r = NULL;
  json_t *files = json_object();
  tlog_anchors anchors = {0};
  uint64_t *boot_idx = NULL; /* logd boot entries (not --dev) */
  size_t nboot_idx = 0, boot_cap = 0;
  uint64_t fails = log_source_failures(l.src);
  if (size > l.cp.c.size) {
    xt_errf(err, sizeof err, "--size %llu is beyond the log's checkpoint size %llu",
             (unsigned long long)size, (unsigned long long)l.cp.c.size);
    rc = TLOG_EXIT_USAGE;
    goto out;
  }
  if (size == 0) {
    xt_errf(err, sizeof err, "the tree of size 0 has nothing to export");
    rc = TLOG_EXIT_USAGE;
    goto out;
  }
  r = tile_reader_new(l.cp.c.size, l.cp.c.root, log_source_tile_fetcher, l.src);
  if (!r || !files) {
    xt_errf(err, sizeof err, "out of memory");
    rc = TLOG_EXIT_USAGE;
    goto out;
  }
  if (size == l.cp.c.size) {
    rc = tlog_checkpoint_from_text(&l.v, l.cp.note, l.cp.note_len, &bcp, err, sizeof err);
    if (rc) goto out;
  } else {
    char path[64];
    snprintf(path, sizeof path, "v1/checkpoints/%llu", (unsigned long long)size);
    rc = tlog_fetch_checkpoint(l.src, &l.v, path, &bcp, NULL, err, sizeof err);
    if (rc) goto out;
    uint8_t root[MERKLE_HASH_SIZE];
    if (merkle_root_at(size, tile_reader_nodes, r, root) != MERKLE_OK) {
      xt_errf(err, sizeof err, "%s", tile_reader_error(r));
      rc = tlog_reader_failure(l.src, fails);
      goto out;
    }
    if (bcp.c.size != size || memcmp(root, bcp.c.root, MERKLE_HASH_SIZE)) {
      xt_errf(err, sizeof err, "the signed checkpoint of size %llu is not consistent with the latest checkpoint",
               (unsigned long long)size);
      rc = TLOG_EXIT_FAILED;
      goto out;
    }
    /* From here on, read the tree of the bundle's own size. */
    tile_reader_free(r);
    r = tile_reader_new(bcp.c.size, bcp.c.root, log_source_tile_fetcher, l.src);
    if (!r) {
      xt_errf(err, sizeof err, "out of memory");
      rc = TLOG_EXIT_USAGE;
      goto out;
    }
  }
  if (rpc || anchors_file) {
    tlog_anchors all;
    if (rpc)
      rc = tlog_anchors_from_chain(rpc, contract, l.cp.c.origin, &all, err, sizeof err);
    else
      rc = tlog_anchors_load(anchors_file, &all, err, sizeof err);
    if (rc) goto out;
    for (size_t i = 0; i < all.n; i++) {
      if (all.a[i].size > size) continue;
      if (anchors.n == anchors.cap) {
        size_t cap = anchors.cap ? anchors.cap * 2 : 16;
        tlog_anchor *na = realloc(anchors.a, cap * sizeof *na);
        if (!na) break;
        anchors.a = na;
        anchors.cap = cap;
      }
      anchors.a[anchors.n++] = all.a[i];
    }
    if (!quiet && all.n > anchors.n)
      fprintf(stderr, "tlog export: %zu later anchors (size > %llu) left out\n", all.n - anchors.n,
              (unsigned long long)size);
    tlog_anchors_free(&all);
  }
  /* Hash tiles of every level, then entry bundles; each authenticated on reading. The
   * entries' logd boot entries are noted: their quotes go into the bundle too. */

  tlog_progress p;
  tlog_progress_init(&p, quiet, "exporting tiles", size);
  uint8_t(*hashes)[MERKLE_HASH_SIZE] = malloc(TILE_WIDTH * MERKLE_HASH_SIZE);
  uint8_t *bundle = malloc(FETCH_MAX_TILE);
  if (!hashes || !bundle) {
    free(hashes);
    free(bundle);
    xt_errf(err, sizeof err, "out of memory");
    rc = TLOG_EXIT_USAGE;
    goto out;
  }
  for (unsigned L = 0; L < 8 && (size >> (L * TILE_HEIGHT)) > 0 && !rc; L++) {
    for (uint64_t k = 0;; k++) {
      unsigned w = tile_width_at((int)L, k, size);
      if (w == 0) break;
      if (k % FETCH_MAX_CONCURRENT == 0) {
        tile_id ids[FETCH_MAX_CONCURRENT];
        size_t m = 0;
        for (; m < FETCH_MAX_CONCURRENT && tile_width_at((int)L, k + m, size); m++)
          ids[m] = (tile_id){(int)L, k + m, tile_width_at((int)L, k + m, size)};
        log_source_prefetch(l.src, ids, m);
      }
      if (tile_reader_nodes(r, L * TILE_HEIGHT, k * TILE_WIDTH, w, hashes) != 0) {
        xt_errf(err, sizeof err, "%s", tile_reader_error(r));
        rc = tlog_reader_failure(l.src, fails);
        break;
      }
      tile_id t = {(int)L, k, w};
      char rel[TILE_PATH_MAX];
      tile_path_encode(&t, rel, sizeof rel, NULL);
      if (bundle_put(to, files, rel, hashes, (size_t)w * MERKLE_HASH_SIZE, err, sizeof err)) {
        rc = TLOG_EXIT_USAGE;
        break;
      }
      if (L == 0) tlog_progress_update(&p, k * TILE_WIDTH + w);
    }
  }
  tlog_progress_done(&p);
  tlog_progress_init(&p, quiet, "exporting entries", size);
  for (uint64_t k = 0; !rc && k * TILE_WIDTH < size; k++) {
    const tile_bundle_entry *e;
    size_t n, blen = 0;
    if (k % FETCH_MAX_CONCURRENT == 0) { /* over HTTP, read the next bundles at once */
      tile_id ids[FETCH_MAX_CONCURRENT];
      size_t m = 0;
      for (; m < FETCH_MAX_CONCURRENT && (k + m) * TILE_WIDTH < size; m++)
        ids[m] = (tile_id){TILE_LEVEL_ENTRIES, k + m, tile_width_at(TILE_LEVEL_ENTRIES, k + m, size)};
      log_source_prefetch(l.src, ids, m);
    }
    if (tile_reader_entries(r, k, &e, &n) != 0) {
      xt_errf(err, sizeof err, "%s", tile_reader_error(r));
      rc = tlog_reader_failure(l.src, fails);
      break;
    }
    for (size_t i = 0; i < n; i++) {
      tile_bundle_append(bundle, FETCH_MAX_TILE, &blen, e[i].data, e[i].len);
      codeid_boot cb;
      if (codeid_maybe_boot(e[i].data, e[i].len) &&
          !codeid_boot_parse(e[i].data, e[i].len, k * TILE_WIDTH + i, &cb) && !strcmp(cb.submitter, "logd") &&
          !codeid_boot_is_dev(&cb)) {
        if (nboot_idx == boot_cap) {
          size_t cap = boot_cap ? boot_cap * 2 : 16;
          uint64_t *nb = realloc(boot_idx, cap * sizeof *nb);
          if (!nb) {
            xt_errf(err, sizeof err, "out of memory");
            rc = TLOG_EXIT_USAGE;
            break;
          }
          boot_idx = nb;
          boot_cap = cap;
        }
        boot_idx[nboot_idx++] = cb.index;
      }
    }
    if (rc) break;
    tile_id t = {TILE_LEVEL_ENTRIES, k, (unsigned)n};
    char rel[TILE_PATH_MAX];
    tile_path_encode(&t, rel, sizeof rel, NULL);
    if (bundle_put(to, files, rel, bundle, blen, err, sizeof err)) rc = TLOG_EXIT_USAGE;
    tlog_progress_update(&p, k * TILE_WIDTH + n);
  }
  tlog_progress_done(&p);
  free(hashes);
  free(bundle);
  if (rc) goto out;
  /* Signed checkpoints of the anchored sizes, checked against the anchors. */
  size_t anchored_notes = 0;
  for (size_t i = 0; i < anchors.n; i++) {
    const tlog_anchor *a = &anchors.a[i];
    char path[64];
    snprintf(path, sizeof path, "v1/checkpoints/%llu", (unsigned long long)a->size);
    tlog_checkpoint acp;
    bool nf = false;
    char cerr[400];
    int crc = tlog_fetch_sized_checkpoint(l.src, &l.v, a->size, &l.cp, &acp, &nf, cerr, sizeof cerr);
    if (crc == TLOG_EXIT_USAGE && nf) continue; /* the log does not keep it: the chain has root and hash */
    if (crc) {
      xt_errf(err, sizeof err, "%s", cerr);
      rc = crc;
      goto out;
    }
    uint8_t h[32];
    unsigned int hl = 32;
    EVP_Digest(acp.note, acp.note_len, h, &hl, EVP_sha256(), NULL);
    if (acp.c.size != a->size || memcmp(acp.c.root, a->root, 32) || memcmp(h, a->checkpoint_hash, 32)) {
      xt_errf(err, sizeof err, "the log's checkpoint of size %llu differs from the one anchored on chain",
               (unsigned long long)a->size);
      tlog_checkpoint_clear(&acp);
      rc = TLOG_EXIT_FAILED;
      goto out;
    }
    rc = bundle_put(to, files, path, acp.note, acp.note_len, err, sizeof err) ? TLOG_EXIT_USAGE : 0;
    tlog_checkpoint_clear(&acp);
    if (rc) goto out;
    anchored_notes++;
  }
  /* Attestations (codeid.h): logd's boot quotes and the anchored checkpoints' quotes,
   * as served; `tlog audit --bundle` and `verify-bundle` check them. */
  size_t natt = 0;
  for (size_t i = 0; i < nboot_idx + anchors.n; i++) {
    bool boot = i < nboot_idx;
    uint64_t n = boot ? boot_idx[i] : anchors.a[i - nboot_idx].size;
    uint8_t *d = NULL;
    size_t dlen = 0;
    char ferr[300], rel[96];
    int fr = codeid_fetch(l.src, boot, n, &d, &dlen, ferr, sizeof ferr);
    if (fr == FETCH_OK) {
      codeid_path(false, boot, n, rel, sizeof rel);
      rc = bundle_put(to, files, rel, d, dlen, err, sizeof err) ? TLOG_EXIT_USAGE : 0;
      natt += rc == 0;
    } else if (!quiet) {
      fprintf(stderr, "tlog export: no attestation for %s %llu (%s)\n", boot ? "boot entry" : "anchored checkpoint",
              (unsigned long long)n, fr == FETCH_NOT_FOUND ? "not served" : ferr);
    }
    free(d);
    if (rc) goto out;
  }
  /* Other components' boot attestations, given as files; checked by the audit. */
  for (size_t i = 0; i < nextra; i++) {
    json_error_t je;
    json_t *j = json_load_file(extra_att[i], 0, &je);
    json_t *bi = json_object_get(j, "boot_index");
    char rel[96];
    if (!json_is_integer(bi) || json_integer_value(bi) < 0 || (uint64_t)json_integer_value(bi) >= size ||
        !json_is_string(json_object_get(j, "quote"))) {
      xt_errf(err, sizeof err, "--attestation %.300s: %s", extra_att[i],
               j ? "needs a boot_index inside the bundle and a quote" : je.text);
      json_decref(j);
      rc = TLOG_EXIT_USAGE;
      goto out;
    }
    codeid_path(false, true, (uint64_t)json_integer_value(bi), rel, sizeof rel);
    char *txt = json_object_get(files, rel) ? NULL : json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!txt) {
      xt_errf(err, sizeof err, "--attestation %.300s: the bundle already holds %s", extra_att[i], rel);
      rc = TLOG_EXIT_USAGE;
      goto out;
    }
    rc = bundle_put(to, files, rel, txt, strlen(txt), err, sizeof err) ? TLOG_EXIT_USAGE : 0;
    free(txt);
    if (rc) goto out;
    natt++;
  }
  if (bundle_put(to, files, "checkpoint", bcp.note, bcp.note_len, err, sizeof err)) {
    rc = TLOG_EXIT_USAGE;
    goto out;
  }
  if (rpc || anchors_file) {
    json_t *aj = tlog_anchors_json(&anchors);
    char *s = aj ? json_dumps(aj, JSON_INDENT(1)) : NULL;
    json_decref(aj);
    if (!s || bundle_put(to, files, "anchors.json", s, strlen(s), err, sizeof err)) {
      free(s);
      rc = TLOG_EXIT_USAGE;
      goto out;
    }
    free(s);
  }
  char vkey[512];
  size_t vlen;
  char verr[100];
  if (note_verifier_format(&l.v, vkey, sizeof vkey - 1, &vlen, verr, sizeof verr) == 0) {
    vkey[vlen++] = '\n';
    if (bundle_put(to, files, "verifier-key", vkey, vlen, err, sizeof err)) {
      rc = TLOG_EXIT_USAGE;
      goto out;
    }
  }
  {
    char rh[65];
    xt_hex_encode(bcp.c.root, 32, rh);
    json_t *m = json_pack("{s:s,s:s,s:I,s:s,s:s,s:O}", "format", BUNDLE_FORMAT, "origin", bcp.c.origin,
                          "size", (json_int_t)bcp.c.size, "root", rh, "created_by", "tlog " XT_VERSION,
                          "files", files);
    char *s = m ? json_dumps(m, JSON_INDENT(1) | JSON_SORT_KEYS) : NULL;
    json_decref(m);
    if (!s) {
      xt_errf(err, sizeof err, "out of memory");
      rc = TLOG_EXIT_USAGE;
      goto out;
    }
    sync(); /* tiles first, then the manifest that says they are complete */
    if (tlog_write_file(mpath, s, strlen(s), err, sizeof err)) rc = TLOG_EXIT_USAGE;
    free(s);
    if (rc) goto out;
  }
  printf("exported %llu entries (%zu files, %zu anchors, %zu anchored checkpoints, %zu attestations) to %s\n",
         (unsigned long long)size, json_object_size(files), anchors.n, anchored_notes, natt, to);
out:
  free(boot_idx);
  tile_reader_free(r);
  tlog_checkpoint_clear(&bcp);
  json_decref(files);
  tlog_anchors_free(&anchors);
  tlog_log_close(&l);
  if (rc) return tlog_fail(cmd, false, rc, err);
  return TLOG_EXIT_OK;
}

/* ---- verify-bundle ---- */

static void verify_usage(FILE *f) {
  fprintf(f,
          "usage: tlog verify-bundle DIR --key VKEY [--rpc URL --contract 0xADDR] [--json] [--quiet]\n"
          "\n"
          "Verifies a `tlog export` bundle offline: every file against manifest.json, the\n"
          "checkpoint's signature, every entry recomputed to the checkpoint's root and to\n"
          "the root of every anchor in anchors.json, every hash tile against the nodes\n"
          "recomputed from the entries, and the anchored checkpoints' signatures and\n"
          "hashes. With --rpc/--contract, also that the bundle's anchors are on chain as\n"
          "recorded (size, root, checkpoint hash, block, time, tx) and none is left out.\n"
          "Attestations (attestation/*.json): each bound to its boot entry (quote SHA-256,\n"
          "report_data over the keys the entry names, event log, compose hash) or to its\n"
          "anchored note; one missing for a logd boot entry or an enclave logd's anchor\n"
          "fails. Simulated quotes are counted here; `tlog audit` judges them.\n"
          "Exit status: 0 verified, 1 verification failed (each failure on its own line),\n"
          "2 usage or I/O error.\n");
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

int cmd_verify_bundle(int argc, char **argv) {
  static const struct option opts[] = {{"key", required_argument, 0, 'k'},
                                       {"rpc", required_argument, 0, 'r'},
                                       {"contract", required_argument, 0, 'c'},
                                       {"json", no_argument, 0, 'j'},
                                       {"quiet", no_argument, 0, 'q'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  const char *key = NULL, *rpc = NULL, *contract = NULL;
  bool json = false, quiet = false;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (c) {
    case 'k': key = optarg; break;
    case 'r': rpc = optarg; break;
    case 'c': contract = optarg; break;
    case 'j': json = true; break;
    case 'q': quiet = true; break;
    case 'h': verify_usage(stdout); return TLOG_EXIT_OK;
    default: verify_usage(stderr); return TLOG_EXIT_USAGE;
    }
  }
  if (optind != argc - 1 || !key || (!rpc != !contract)) {
    verify_usage(stderr);
    return TLOG_EXIT_USAGE;
  }
  const char *dir = argv[optind];
  const char *cmd = "verify-bundle";
  char err[700];
  note_verifier v;
  int rc = tlog_load_verifier(key, &v, err, sizeof err);
  if (rc) return tlog_fail(cmd, json, rc, err);
  char mpath[4096];
  snprintf(mpath, sizeof mpath, "%s/manifest.json", dir);
  json_error_t je;
  json_t *m = json_load_file(mpath, 0, &je);
  if (!m) {
    xt_errf(err, sizeof err, "%.400s: %.200s", mpath, je.text);
    return tlog_fail(cmd, json, TLOG_EXIT_USAGE, err);
  }
  tlog_failures f = {0};
  log_source *src = log_source_open(dir, err, sizeof err);
  tlog_checkpoint cp = {0};
  tlog_anchors anchors = {0}, chain = {0};
  replay_stats st = {0};
  boot_list boots = {0};
  size_t att_counts[3] = {0, 0, 0}; /* verified or bindings ok, simulated, dev anchors */
  uint64_t *sizes = NULL;
  uint8_t(*roots)[MERKLE_HASH_SIZE] = NULL;
  uint64_t nfiles = 0;
  if (!src) {
    rc = TLOG_EXIT_USAGE;
    goto out;
  }
  const char *fmt = json_string_value(json_object_get(m, "format"));
  json_t *files = json_object_get(m, "files");
  if (!fmt || strcmp(fmt, BUNDLE_FORMAT) || !json_is_object(files)) {
    xt_errf(err, sizeof err, "%.400s: not a %s manifest", mpath, BUNDLE_FORMAT);
    rc = TLOG_EXIT_USAGE;
    goto out;
  }
  /* 1. Every file as the manifest records it. */
  {
    tlog_progress p;
    tlog_progress_init(&p, quiet, "checking file hashes", json_object_size(files));
    const char *rel;
    json_t *hv;
    json_object_foreach(files, rel, hv) {
      const char *want = json_string_value(hv);
      if (!want || strstr(rel, "..") || rel[0] == '/') {
        tlog_failures_add(&f, "manifest: bad entry for %s", rel);
        continue;
      }
      uint8_t *data;
      size_t len;
      char ferr[400];
      int g = log_source_get(src, rel, FETCH_MAX_TILE + (1u << 20), &data, &len, ferr, sizeof ferr);
      if (g != FETCH_OK) {
        tlog_failures_add(&f, "manifest: %s is %s", rel, g == FETCH_NOT_FOUND ? "missing" : ferr);
        continue;
      }
      char got[65];
      sha256_hex(data, len, got);
      free(data);
      if (strcmp(got, want)) tlog_failures_add(&f, "manifest: %s has SHA-256 %s, the manifest says %s", rel, got, want);
      tlog_progress_update(&p, ++nfiles);
    }
    tlog_progress_done(&p);
  }
  /* 2. The signed checkpoint, matching the manifest's head. */
  int crc = tlog_fetch_checkpoint(src, &v, "checkpoint", &cp, NULL, err, sizeof err);
  if (crc == TLOG_EXIT_USAGE) {
    rc = crc;
    goto out;
  }
  if (crc) {
    tlog_failures_add(&f, "%s", err);
    goto report;
  }
  json_t *ms = json_object_get(m, "size");
  const char *mroot = json_string_value(json_object_get(m, "root"));
  uint8_t mr[32];
  if (!json_is_integer(ms) || (uint64_t)json_integer_value(ms) != cp.c.size || !mroot ||
      xt_hex_decode_exact(mroot, XT_HEX_0X, mr, 32) || memcmp(mr, cp.c.root, 32))
    tlog_failures_add(&f, "manifest: size/root differ from the signed checkpoint");
  /* 3. Anchors recorded in the bundle, and their signed checkpoints. */
  char apath[4096];
  snprintf(apath, sizeof apath, "%s/anchors.json", dir);
  if (access(apath, F_OK) == 0) {
    if (tlog_anchors_load(apath, &anchors, err, sizeof err)) {
      tlog_failures_add(&f, "%s", err);
    }
  }
  sizes = calloc(anchors.n + 1, sizeof *sizes);
  roots = calloc(anchors.n + 1, sizeof *roots);
  if (!sizes || !roots) {
    xt_errf(err, sizeof err, "out of memory");
    rc = TLOG_EXIT_USAGE;
    goto out;
  }
  size_t ncheck = 0;
  for (size_t i = 0; i < anchors.n; i++) {
    const tlog_anchor *a = &anchors.a[i];
    if (a->size > cp.c.size) {
      tlog_failures_add(&f, "anchors.json: anchor at size %llu is beyond the bundle's size %llu",
                        (unsigned long long)a->size, (unsigned long long)cp.c.size);
      continue;
    }
    if (ncheck && a->size < sizes[ncheck - 1]) {
      tlog_failures_add(&f, "anchors.json: anchor sizes go backwards (%llu after %llu)",
                        (unsigned long long)a->size, (unsigned long long)sizes[ncheck - 1]);
      continue;
    }
    sizes[ncheck] = a->size;
    memcpy(roots[ncheck++], a->root, 32);
    char path[64];
    snprintf(path, sizeof path, "v1/checkpoints/%llu", (unsigned long long)a->size);
    tlog_checkpoint acp;
    bool nf;
    char cerr[400];
    int arc = tlog_fetch_checkpoint(src, &v, path, &acp, &nf, cerr, sizeof cerr);
    if (arc == TLOG_EXIT_USAGE && nf) continue;
    if (arc) {
      tlog_failures_add(&f, "%s", cerr);
      continue;
    }
    uint8_t h[32];
    unsigned int hl = 32;
    EVP_Digest(acp.note, acp.note_len, h, &hl, EVP_sha256(), NULL);
    if (acp.c.size != a->size || memcmp(acp.c.root, a->root, 32) || memcmp(h, a->checkpoint_hash, 32))
      tlog_failures_add(&f, "%s does not match the anchor at size %llu (root or checkpoint hash)", path,
                        (unsigned long long)a->size);
    tlog_checkpoint_clear(&acp);
  }
  sizes[ncheck] = cp.c.size;
  memcpy(roots[ncheck++], cp.c.root, 32);
  /* 4. Every entry recomputed; every tile compared with the recomputed nodes. */
  {
    replay_opts o = {0};
    o.end = cp.c.size;
    o.check_sizes = sizes;
    o.check_roots = (const uint8_t(*)[MERKLE_HASH_SIZE])roots;
    o.ncheck = ncheck;
    o.check_tiles = true;
    o.quiet = quiet;
    o.what = "recomputing entries";
    o.entry = collect_boot;
    o.ctx = &boots;
    char rerr[600];
    int rr = replay_run(src, &o, &st, rerr, sizeof rerr);
    /* Data missing from a bundle is a defect of the bundle, not an I/O error. */
    if (rr) tlog_failures_add(&f, "replay: %s", rerr);
    else verify_attestations(src, &boots, &anchors, &f, att_counts);
  }
  /* 5. The chain, when given. */
  if (rpc) {
    if (tlog_anchors_from_chain(rpc, contract, cp.c.origin, &chain, err, sizeof err)) {
      rc = TLOG_EXIT_USAGE;
      goto out;
    }
    for (size_t i = 0; i < anchors.n; i++) {
      bool found = false;
      for (size_t j = 0; j < chain.n && !found; j++) found = anchor_equal(&anchors.a[i], &chain.a[j]);
      if (!found)
        tlog_failures_add(&f, "anchors.json: the anchor at size %llu is not on chain as recorded",
                          (unsigned long long)anchors.a[i].size);
    }
    for (size_t j = 0; j < chain.n; j++) {
      if (chain.a[j].size > cp.c.size) continue;
      bool found = false;
      for (size_t i = 0; i < anchors.n && !found; i++) found = anchor_equal(&anchors.a[i], &chain.a[j]);
      if (!found)
        tlog_failures_add(&f, "chain: the anchor at size %llu (block %llu) is missing from the bundle",
                          (unsigned long long)chain.a[j].size, (unsigned long long)chain.a[j].block);
    }
  }
report:
  rc = f.n ? TLOG_EXIT_FAILED : TLOG_EXIT_OK;
  if (json) {
    char rh[65];
    xt_hex_encode(cp.c.root, 32, rh);
    json_t *o = json_pack("{s:b,s:s,s:I,s:s,s:I,s:I,s:I,s:b}", "verified", f.n == 0, "origin", cp.c.origin,
                          "size", (json_int_t)cp.c.size, "root", rh, "files", (json_int_t)nfiles,
                          "entries_recomputed", (json_int_t)st.entries, "anchors", (json_int_t)anchors.n,
                          "chain_checked", rpc != NULL);
    json_object_set_new(o, "attestations",
                        json_pack("{s:I,s:I,s:I}", "checked", (json_int_t)(att_counts[0] + att_counts[1]),
                                  "simulated", (json_int_t)att_counts[1], "dev_anchors", (json_int_t)att_counts[2]));
    json_t *fa = json_array();
    for (size_t i = 0; i < f.n; i++) json_array_append_new(fa, json_string(f.msg[i]));
    json_object_set_new(o, "failures", fa);
    json_dumpf(o, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
    fputc('\n', stdout);
    json_decref(o);
  } else {
    printf("bundle   %s\n", dir);
    printf("origin   %s\n", cp.c.origin);
    printf("size     %llu\n", (unsigned long long)cp.c.size);
    printf("files    %llu checked against manifest.json\n", (unsigned long long)nfiles);
    printf("entries  %llu replayed (recomputed to the signed root%s)\n", (unsigned long long)st.entries,
           anchors.n ? " and the anchored roots" : "");
    printf("anchors  %zu%s\n", anchors.n, rpc ? " (checked against the chain)" : " (not checked against a chain)");
    printf("quotes   %zu attestations bound to their boot entries and anchored checkpoints (%zu simulated)%s\n",
           att_counts[0] + att_counts[1], att_counts[1],
           att_counts[2] ? "; anchors of a --dev logd have none" : "");
    for (size_t i = 0; i < f.n; i++) printf("FAIL  %s\n", f.msg[i]);
    printf("%s\n", f.n ? "bundle verification FAILED" : "bundle verified");
  }
  for (size_t i = 0; i < f.n; i++) fprintf(stderr, "tlog verify-bundle: verification failed: %s\n", f.msg[i]);
out:
  json_decref(m);
  log_source_free(src);
  tlog_checkpoint_clear(&cp);
  tlog_anchors_free(&anchors);
  tlog_anchors_free(&chain);
  free(sizes);
  free(roots);
  free(boots.b);
  tlog_failures_free(&f);
  if (rc == TLOG_EXIT_USAGE) return tlog_fail(cmd, json, rc, err);
  return rc;
}
