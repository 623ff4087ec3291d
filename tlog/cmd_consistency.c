/* cmd_consistency.c: `tlog consistency`: proves that the log's latest checkpoint
 * extends an older one the caller kept. The RFC 9162 consistency proof is built from
 * tiles authenticated against the latest checkpoint, then verified against both
 * roots. A smaller latest tree is a rollback; equal sizes with different roots, or an
 * old root the new tree does not contain, is a fork. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/hex.h"
#include "client/common.h"
#include "tlog/commands.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: tlog consistency --log URL|DIR --key VKEY --old CHECKPOINT_FILE [--json] [--quiet]\n"
          "\n"
          "Verifies that the log's latest checkpoint is an append-only extension of an\n"
          "older checkpoint (a signed note, or a tlog-proof receipt holding one).\n"
          "  --old FILE  the older checkpoint; its signature is verified with --key too\n"
          "  --json      print {verified, old_size, new_size, old_root, new_root, proof}\n"
          "  --quiet     print nothing: the exit status says it (a failure is still named\n"
          "              on stderr)\n"
          "Failures (exit 1) name the cause: bad signature, rollback (the log is now\n"
          "smaller), or fork (the log's tree does not contain the old tree).\n"
          "Exit status: 0 verified, 1 verification failed, 2 usage or I/O error.\n");
}

/* Whether the log's checkpoint extends oc: a rollback (smaller), a fork (same size,
 * other root; or the proof from tiles fails), or verified with the proof in proof[0 ..
 * *plen). Returns 0, 1 (err names it) or 2 (I/O). */
static int check_extends(const tlog_log *l, const tlog_checkpoint *oc, uint8_t proof[][MERKLE_HASH_SIZE],
                         size_t *plen, char *err, size_t errcap) {
  uint64_t m = oc->c.size, n = l->cp.c.size;
  if (m > n) {
    xt_errf(err, errcap, "rollback: the log's checkpoint has size %llu, smaller than the old checkpoint's %llu",
            (unsigned long long)n, (unsigned long long)m);
    return TLOG_EXIT_FAILED;
  }
  if (m == n) {
    if (!memcmp(oc->c.root, l->cp.c.root, MERKLE_HASH_SIZE)) return 0;
    xt_errf(err, errcap, "fork: the log's checkpoint and the old checkpoint both have size %llu but different roots",
            (unsigned long long)n);
    return TLOG_EXIT_FAILED;
  }
  if (m == 0) {
    uint8_t empty[MERKLE_HASH_SIZE];
    merkle_empty_root(empty);
    if (!memcmp(empty, oc->c.root, MERKLE_HASH_SIZE)) return 0;
    xt_errf(err, errcap, "the old checkpoint has size 0 but not the empty tree's root");
    return TLOG_EXIT_FAILED;
  }
  tile_reader *r = tile_reader_new(n, l->cp.c.root, log_source_tile_fetcher, l->src);
  uint64_t fails = log_source_failures(l->src);
  int rc = 0;
  if (!r) {
    xt_errf(err, errcap, "out of memory");
    rc = TLOG_EXIT_USAGE;
  } else if (merkle_consistency_proof(m, n, tile_reader_nodes, r, proof, MERKLE_MAX_PROOF, plen) != MERKLE_OK) {
    xt_errf(err, errcap, "%s", tile_reader_error(r));
    rc = tlog_reader_failure(l->src, fails);
  } else if (merkle_verify_consistency(m, n, oc->c.root, l->cp.c.root, (const uint8_t(*)[MERKLE_HASH_SIZE])proof,
                                       *plen) != MERKLE_OK) {
    xt_errf(err, errcap,
            "fork: the log's tree of size %llu does not contain the old tree of size %llu (consistency proof fails)",
            (unsigned long long)n, (unsigned long long)m);
    rc = TLOG_EXIT_FAILED;
  }
  tile_reader_free(r);
  return rc;
}

int cmd_consistency(int argc, char **argv) {
  static const struct option opts[] = {{"log", required_argument, 0, 'l'},
                                       {"key", required_argument, 0, 'k'},
                                       {"old", required_argument, 0, 'o'},
                                       {"json", no_argument, 0, 'j'},
                                       {"quiet", no_argument, 0, 'q'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  const char *log = NULL, *key = NULL, *old = NULL;
  bool json = false, quiet = false;
  int c;
  optind = 1;
  while ((c = tlog_getopt("consistency", argc, argv, opts)) != -1) {
    switch (c) {
    case 'l': log = optarg; break;
    case 'k': key = optarg; break;
    case 'o': old = optarg; break;
    case 'j': json = true; break;
    case 'q': quiet = true; break;
    case 'h': usage(stdout); return TLOG_EXIT_OK;
    default: return TLOG_EXIT_USAGE;
    }
  }
  if (tlog_no_extra_args("consistency", argc, argv) || tlog_require("consistency", log, "--log") ||
      tlog_require("consistency", key, "--key") || tlog_require("consistency", old, "--old"))
    return TLOG_EXIT_USAGE;
  const char *cmd = "consistency";
  json = json && !quiet; /* --quiet: not even the JSON failure object */
  char err[600];
  note_verifier v;
  int rc = tlog_load_verifier(key, &v, err, sizeof err);
  if (rc) return tlog_fail(cmd, json, rc, err);
  tlog_checkpoint oc;
  rc = tlog_checkpoint_file(&v, old, &oc, err, sizeof err);
  if (rc) return tlog_fail(cmd, json, rc, err);
  tlog_log l;
  rc = tlog_log_open(&l, log, key, err, sizeof err);
  if (rc) {
    tlog_checkpoint_clear(&oc);
    return tlog_fail(cmd, json, rc, err);
  }
  uint8_t proof[MERKLE_MAX_PROOF][MERKLE_HASH_SIZE];
  size_t plen = 0;
  rc = check_extends(&l, &oc, proof, &plen, err, sizeof err);
  if (rc) {
    tlog_checkpoint_clear(&oc);
    tlog_log_close(&l);
    return tlog_fail(cmd, json, rc, err);
  }
  uint64_t m = oc.c.size, n = l.cp.c.size;
  char oh[65], nh[65];
  xt_hex_encode(oc.c.root, MERKLE_HASH_SIZE, oh);
  xt_hex_encode(l.cp.c.root, MERKLE_HASH_SIZE, nh);
  if (quiet) {
    /* the exit status is the answer */
  } else if (json) {
    json_t *o = json_pack("{s:b,s:I,s:I,s:s,s:s}", "verified", 1, "old_size", (json_int_t)m,
                          "new_size", (json_int_t)n, "old_root", oh, "new_root", nh);
    json_t *arr = json_array();
    for (size_t i = 0; i < plen; i++) {
      char h[65];
      xt_hex_encode(proof[i], MERKLE_HASH_SIZE, h);
      json_array_append_new(arr, json_string(h));
    }
    json_object_set_new(o, "proof", arr);
    (void)tlog_json_print(o);
    json_decref(o);
  } else {
    printf("consistency verified\n");
    printf("old  size %llu  root %s\n", (unsigned long long)m, oh);
    printf("new  size %llu  root %s\n", (unsigned long long)n, nh);
    printf("proof %zu hashes, built from authenticated tiles\n", plen);
  }
  tlog_checkpoint_clear(&oc);
  tlog_log_close(&l);
  return TLOG_EXIT_OK;
}
