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

int cmd_inclusion(int argc, char **argv) {
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
  const char *log = NULL, *key = NULL, *index_arg = NULL, *hash_arg = NULL, *entry_arg = NULL,
             *size_arg = NULL, *proof_out = NULL;
  bool json = false, quiet = false;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (c) {
    case 'l': log = optarg; break;
    case 'k': key = optarg; break;
    case 'i': index_arg = optarg; break;
    case 'H': hash_arg = optarg; break;
    case 'e': entry_arg = optarg; break;
    case 's': size_arg = optarg; break;
    case 'p': proof_out = optarg; break;
    case 'j': json = true; break;
    case 'q': quiet = true; break;
    case 'h': usage(stdout); return TLOG_EXIT_OK;
    default: usage(stderr); return TLOG_EXIT_USAGE;
    }
  }
  int ways = !!index_arg + !!hash_arg + !!entry_arg;
  if (optind != argc || !log || !key || ways != 1) {
    usage(stderr);
    return TLOG_EXIT_USAGE;
  }
  const char *cmd = "inclusion";
  char err[600];
  uint64_t index = 0, size = 0;
  uint8_t want_leaf[MERKLE_HASH_SIZE];
  bool have_leaf = false;
  if (index_arg && xt_parse_u64(index_arg, 0, 0, UINT64_MAX, &index) != 0)
    return tlog_fail(cmd, json, TLOG_EXIT_USAGE, "--index must be a decimal integer");
  if (size_arg && xt_parse_u64(size_arg, 0, 0, UINT64_MAX, &size) != 0)
    return tlog_fail(cmd, json, TLOG_EXIT_USAGE, "--size must be a decimal integer");
  if (hash_arg) {
    if (xt_hex_decode_exact(hash_arg, XT_HEX_0X, want_leaf, MERKLE_HASH_SIZE) != 0)
      return tlog_fail(cmd, json, TLOG_EXIT_USAGE, "--hash must be 64 hex digits (a leaf hash)");
    have_leaf = true;
  }
  if (entry_arg) {
    uint8_t *data;
    size_t len;
    const char *path = strcmp(entry_arg, "-") ? entry_arg : "/dev/stdin"; /* "-": standard input */
    if (xt_file_read(path, 1 << 20, &data, &len, err, sizeof err) != XT_OK)
      return tlog_fail(cmd, json, TLOG_EXIT_USAGE, err);
    if (len && data[len - 1] == '\n') len--;
    if (len && data[len - 1] == '\r') len--;
    merkle_leaf_hash(data, len, want_leaf);
    free(data);
    have_leaf = true;
  }

  tlog_log l;
  int rc = tlog_log_open(&l, log, key, err, sizeof err);
  if (rc) return tlog_fail(cmd, json, rc, err);
  if (!size_arg) size = l.cp.c.size;
  if (size > l.cp.c.size) {
    xt_errf(err, sizeof err, "--size %llu is beyond the log's checkpoint size %llu",
             (unsigned long long)size, (unsigned long long)l.cp.c.size);
    tlog_log_close(&l);
    return tlog_fail(cmd, json, TLOG_EXIT_FAILED, err);
  }
  tile_reader *r = tile_reader_new(l.cp.c.size, l.cp.c.root, log_source_tile_fetcher, l.src);
  if (!r) {
    tlog_log_close(&l);
    return tlog_fail(cmd, json, TLOG_EXIT_USAGE, "out of memory");
  }
  uint64_t fails = log_source_failures(l.src);
  uint8_t root[MERKLE_HASH_SIZE], leaf[MERKLE_HASH_SIZE];
  uint8_t proof[MERKLE_MAX_PROOF][MERKLE_HASH_SIZE];
  size_t plen = 0;
  tlog_checkpoint at = {0};
  bool have_at = false;
  rc = TLOG_EXIT_OK;
  if (have_leaf) {
    uint64_t hint;
    if (index_hint(l.src, want_leaf, size, &hint) && hint < size &&
        tile_reader_nodes(r, 0, hint, 1, &leaf) == 0 && !memcmp(leaf, want_leaf, MERKLE_HASH_SIZE)) {
      index = hint;
    } else {
      int s = scan_for_leaf(r, size, want_leaf, quiet, &index);
      if (s == 1) {
        char hex[65];
        xt_hex_encode(want_leaf, MERKLE_HASH_SIZE, hex);
        xt_errf(err, sizeof err, "no entry with leaf hash %s in the tree of size %llu", hex,
                 (unsigned long long)size);
        rc = TLOG_EXIT_FAILED;
      } else if (s == 2) {
        xt_errf(err, sizeof err, "%s", tile_reader_error(r));
        rc = tlog_reader_failure(l.src, fails);
      }
    }
  }
  if (!rc && index >= size) {
    xt_errf(err, sizeof err, "index %llu is not in the tree of size %llu",
             (unsigned long long)index, (unsigned long long)size);
    rc = TLOG_EXIT_FAILED;
  }
  if (!rc) {
    if (size == l.cp.c.size) {
      memcpy(root, l.cp.c.root, MERKLE_HASH_SIZE);
    } else if (merkle_root_at(size, tile_reader_nodes, r, root) != MERKLE_OK) {
      xt_errf(err, sizeof err, "%s", tile_reader_error(r));
      rc = tlog_reader_failure(l.src, fails);
    }
  }
  if (!rc && (tile_reader_nodes(r, 0, index, 1, &leaf) != 0 ||
              merkle_inclusion_proof(index, size, tile_reader_nodes, r, proof, MERKLE_MAX_PROOF,
                                     &plen) != MERKLE_OK)) {
    xt_errf(err, sizeof err, "%s", tile_reader_error(r));
    rc = tlog_reader_failure(l.src, fails);
  }
  if (!rc && merkle_verify_inclusion(index, size, leaf, (const uint8_t(*)[MERKLE_HASH_SIZE])proof,
                                     plen, root) != MERKLE_OK) {
    xt_errf(err, sizeof err, "inclusion proof of index %llu does not verify against the root",
             (unsigned long long)index);
    rc = TLOG_EXIT_FAILED;
  }
  /* A signed checkpoint of the proven size, when the log keeps one, must agree. */
  if (!rc) {
    if (size == l.cp.c.size) {
      at = l.cp;
      at.note = NULL;
      have_at = true;
    } else {
      char path[64], cerr[400];
      bool nf = false;
      snprintf(path, sizeof path, "v1/checkpoints/%llu", (unsigned long long)size);
      int crc = tlog_fetch_checkpoint(l.src, &l.v, path, &at, &nf, cerr, sizeof cerr);
      if (crc == TLOG_EXIT_FAILED) {
        xt_errf(err, sizeof err, "%s", cerr);
        rc = TLOG_EXIT_FAILED;
      } else if (crc == TLOG_EXIT_OK) {
        have_at = true;
        if (at.c.size != size || memcmp(at.c.root, root, MERKLE_HASH_SIZE)) {
          xt_errf(err, sizeof err,
                   "the signed checkpoint at size %llu disagrees with the tree of the latest "
                   "checkpoint (split view)",
                   (unsigned long long)size);
          rc = TLOG_EXIT_FAILED;
        }
      }
    }
  }
  if (!rc && proof_out) {
    const char *note = size == l.cp.c.size ? l.cp.note : at.note;
    size_t note_len = size == l.cp.c.size ? l.cp.note_len : at.note_len;
    if (!have_at || !note) {
      xt_errf(err, sizeof err, "--proof-out: the log has no signed checkpoint of size %llu",
               (unsigned long long)size);
      rc = TLOG_EXIT_USAGE;
    } else {
      size_t cap = note_len + 128 + plen * 48, olen;
      char *buf = malloc(cap);
      char perr[200];
      if (!buf || tlog_proof_format(index, (const uint8_t(*)[MERKLE_HASH_SIZE])proof, plen, note,
                                    note_len, buf, cap, &olen, perr, sizeof perr) != 0 ||
          tlog_write_file(proof_out, buf, olen, err, sizeof err) != 0) {
        if (!buf) xt_errf(err, sizeof err, "out of memory");
        rc = TLOG_EXIT_USAGE;
      }
      free(buf);
    }
  }
  if (rc) {
    tlog_checkpoint_clear(&at);
    tile_reader_free(r);
    tlog_log_close(&l);
    return tlog_fail(cmd, json, rc, err);
  }
  char lh[65], rh[65];
  xt_hex_encode(leaf, MERKLE_HASH_SIZE, lh);
  xt_hex_encode(root, MERKLE_HASH_SIZE, rh);
  if (json) {
    json_t *o = json_pack("{s:b,s:I,s:I,s:s,s:s,s:I}", "verified", 1, "index", (json_int_t)index,
                          "size", (json_int_t)size, "leaf_hash", lh, "root", rh, "checkpoint_size",
                          (json_int_t)l.cp.c.size);
    json_t *arr = json_array();
    for (size_t i = 0; i < plen; i++) {
      char h[65];
      xt_hex_encode(proof[i], MERKLE_HASH_SIZE, h);
      json_array_append_new(arr, json_string(h));
    }
    json_object_set_new(o, "proof", arr);
    json_object_set_new(o, "signed_checkpoint_at_size", json_boolean(have_at));
    json_dumpf(o, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
    fputc('\n', stdout);
    json_decref(o);
  } else {
    printf("inclusion verified\n");
    printf("index      %llu\n", (unsigned long long)index);
    printf("tree size  %llu%s\n", (unsigned long long)size,
           size == l.cp.c.size ? " (latest checkpoint)" : "");
    printf("leaf hash  %s\n", lh);
    printf("root       %s\n", rh);
    printf("proof      %zu hashes, built from %llu authenticated tile reads\n", plen,
           (unsigned long long)tile_reader_fetches(r));
  }
  if (size != l.cp.c.size) tlog_checkpoint_clear(&at);
  tile_reader_free(r);
  tlog_log_close(&l);
  return TLOG_EXIT_OK;
}
