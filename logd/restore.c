/* restore.c: logd --restore-from (restore.h). */
#include "logd/restore.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/file.h"
#include "client/fetch.h"
#include "logd/event.h"
#include "logd/store.h"
#include "merkle/merkle.h"
#include "merkle/tile.h"

/* Bundles read at once, and written in one synced batch. */
#define GROUP 16

const char *restore_err_str(restore_err e) {
  switch (e) {
  case RESTORE_OK: return "ok";
  case RESTORE_EEXIST: return "the data directory already holds a log";
  case RESTORE_EFETCH: return "the mirror could not be read";
  case RESTORE_EVERIFY: return "the mirror does not hold this log";
  case RESTORE_ECHAIN: return "the mirror is behind or inconsistent with the chain";
  case RESTORE_ESTORE: return "storage error";
  }
  return "unknown restore error";
}

/* The right edge of each tile level while the tree is rebuilt. */
typedef struct edge {
  uint8_t h[TILE_WIDTH][MERKLE_HASH_SIZE];
  unsigned n;
  uint64_t index;
} edge;

typedef struct rebuild {
  logd_store *st;
  store_batch *b;
  edge *edges; /* TILE_MAX_LEVEL + 1 */
  int bad;
} rebuild;

/* merkle_tree_append's sink: the nodes of tile levels fill the edge tiles; a full one is
 * written once, as the sequencer does. */
static void sink(void *ctx, unsigned level, uint64_t index, const uint8_t hash[MERKLE_HASH_SIZE]) {
  rebuild *r = ctx;
  if (level % TILE_HEIGHT) return;
  edge *e = &r->edges[level / TILE_HEIGHT];
  if (index % TILE_WIDTH != e->n || (e->n && index / TILE_WIDTH != e->index)) {
    r->bad = 1;
    return;
  }
  e->index = index / TILE_WIDTH;
  memcpy(e->h[e->n++], hash, MERKLE_HASH_SIZE);
  if (e->n == TILE_WIDTH) {
    store_batch_put_tile(r->b, level / TILE_HEIGHT, e->index, (const uint8_t *)e->h, sizeof e->h);
    e->n = 0;
  }
}

/* The dedup key of a stored entry: SHA-256(submitter || 0x00 || canonical event), with
 * the entry checked to be exactly what logd writes for them. */
static int entry_dedup(const uint8_t *e, size_t n, uint8_t key[32], int *is_boot) {
  const char *canon;
  size_t clen;
  char name[EVENT_SUBMITTER_MAX + 1];
  uint64_t ts_ms;
  if (event_entry_split((const char *)e, n, &canon, &clen, name, sizeof name, &ts_ms)) return -1;
  EVP_MD_CTX *c = EVP_MD_CTX_new();
  int ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) && EVP_DigestUpdate(c, name, strlen(name)) &&
           EVP_DigestUpdate(c, "", 1) && EVP_DigestUpdate(c, canon, clen) && EVP_DigestFinal_ex(c, key, NULL);
  EVP_MD_CTX_free(c);
  if (!ok) return -1;
  *is_boot = 0;
  json_t *j = json_loadb(canon, clen, 0, NULL);
  const char *type = json_string_value(json_object_get(j, "type"));
  if (type && !strcmp(type, "boot")) *is_boot = 1;
  json_decref(j);
  return 0;
}

/* Removes a database directory (flat: RocksDB keeps no subdirectories). */
static void remove_db(const char *path) {
  DIR *d = opendir(path);
  if (!d) return;
  struct dirent *de;
  char p[PATH_MAX + 300];
  while ((de = readdir(d)))
    if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
      snprintf(p, sizeof p, "%s/%s", path, de->d_name);
      unlink(p);
    }
  closedir(d);
  rmdir(path);
}

/* A file of the mirror copied to DIR/sub/name when the mirror has it (0), else 1;
 * -1 on a local write failure. */
static int copy_file(log_source *src, const char *path, const char *dir, const char *sub, const char *name) {
  uint8_t *data = NULL;
  size_t len = 0;
  char e[400], out[PATH_MAX + 200];
  if (log_source_get(src, path, (size_t)4 << 20, &data, &len, e, sizeof e) != FETCH_OK) return 1;
  snprintf(out, sizeof out, "%s/%s", dir, sub);
  if (mkdir(out, 0700) && errno != EEXIST) {
    free(data);
    return -1;
  }
  snprintf(out, sizeof out, "%s/%s/%s", dir, sub, name);
  xt_err rc = xt_file_write_atomic(out, data, len, 0644, e, sizeof e);
  free(data);
  if (rc != XT_OK) xt_log("logd", "restore: %s", e);
  return rc == XT_OK ? 0 : -1;
}

typedef struct job {
  const restore_config *cfg;
  log_source *src;
  char tmp[PATH_MAX];
  checkpoint cp;
  char *note;
  size_t note_len;
  rebuild r;
  merkle_tree tree;
  uint64_t *boots;
  size_t nboots;
} job;

/* Reads every bundle of the tree, rebuilds tiles and indexes into j->r.st. */
static restore_err rebuild_tree(job *j, char *err, size_t errcap) {
  uint64_t n = j->cp.size, nb = (n + TILE_WIDTH - 1) / TILE_WIDTH;
  char e[400];
  uint8_t *bundle = malloc(FETCH_MAX_TILE);
  if (!bundle) {
    xt_errf(err, errcap, "out of memory");
    return RESTORE_ESTORE;
  }
  restore_err rc = RESTORE_OK;
  for (uint64_t b0 = 0; b0 < nb && rc == RESTORE_OK; b0 += GROUP) {
    tile_id ids[GROUP];
    uint8_t *data[GROUP];
    size_t lens[GROUP];
    size_t k = nb - b0 < GROUP ? (size_t)(nb - b0) : GROUP;
    for (size_t i = 0; i < k; i++)
      ids[i] = (tile_id){.level = TILE_LEVEL_ENTRIES, .index = b0 + i,
                         .width = tile_width_at(TILE_LEVEL_ENTRIES, b0 + i, n)};
    if (log_source_fetch_tiles(j->src, ids, k, data, lens, e, sizeof e)) {
      xt_errf(err, errcap, "%s", e);
      free(bundle);
      return RESTORE_EFETCH;
    }
    store_batch_clear(j->r.b);
    for (size_t i = 0; i < k && rc == RESTORE_OK; i++) {
      tile_bundle_entry ents[TILE_WIDTH];
      if (tile_bundle_parse(data[i], lens[i], ids[i].width, ents)) {
        xt_errf(err, errcap, "entry bundle %" PRIu64 " of the mirror is malformed", ids[i].index);
        rc = RESTORE_EVERIFY;
        break;
      }
      size_t blen = 0;
      for (unsigned x = 0; x < ids[i].width; x++) {
        uint64_t index = ids[i].index * TILE_WIDTH + x;
        uint8_t leaf[MERKLE_HASH_SIZE], key[32];
        int boot = 0;
        merkle_leaf_hash(ents[x].data, ents[x].len, leaf);
        if (entry_dedup(ents[x].data, ents[x].len, key, &boot)) {
          xt_errf(err, errcap, "entry %" PRIu64 " of the mirror is not an entry logd writes", index);
          rc = RESTORE_EVERIFY;
          break;
        }
        if (boot) {
          uint64_t *nv = realloc(j->boots, (j->nboots + 1) * sizeof *nv);
          if (nv) (j->boots = nv)[j->nboots++] = index;
        }
        if (merkle_tree_append(&j->tree, leaf, sink, &j->r) || j->r.bad) {
          xt_errf(err, errcap, "cannot rebuild the tree at entry %" PRIu64, index);
          rc = RESTORE_EVERIFY;
          break;
        }
        store_batch_put_dedup(j->r.b, key, index);
        store_batch_put_hash(j->r.b, leaf, index);
        if (tile_bundle_append(bundle, FETCH_MAX_TILE, &blen, ents[x].data, ents[x].len)) {
          xt_errf(err, errcap, "entry bundle %" PRIu64 " too large", ids[i].index);
          rc = RESTORE_EVERIFY;
          break;
        }
      }
      if (rc) break;
      if (ids[i].width == TILE_WIDTH)
        store_batch_put_tile(j->r.b, STORE_ENTRIES_LEVEL, ids[i].index, bundle, blen);
      else
        store_batch_put_chunk(j->r.b, STORE_ENTRIES_LEVEL, ids[i].index * TILE_WIDTH, bundle, blen);
    }
    for (size_t i = 0; i < k; i++) free(data[i]);
    if (rc == RESTORE_OK && store_batch_write(j->r.st, j->r.b, e, sizeof e)) {
      xt_errf(err, errcap, "%s", e);
      rc = RESTORE_ESTORE;
    }
    if (rc == RESTORE_OK && (b0 / GROUP) % 256 == 255)
      xt_log("logd", "restore: %" PRIu64 " of %" PRIu64 " entries", (b0 + k) * TILE_WIDTH, n);
  }
  free(bundle);
  return rc;
}

/* The edge tiles, the size and the checkpoint; then the root must be the checkpoint's. */
static restore_err finish_tree(job *j, char *err, size_t errcap) {
  uint8_t root[MERKLE_HASH_SIZE];
  merkle_tree_root(&j->tree, root);
  if (j->tree.size != j->cp.size || memcmp(root, j->cp.root, MERKLE_HASH_SIZE)) {
    xt_errf(err, errcap, "the mirror's entries do not hash to its signed checkpoint's root (size %" PRIu64
            "): the mirror is damaged or not this log's; refusing to restore", j->cp.size);
    return RESTORE_EVERIFY;
  }
  store_batch_clear(j->r.b);
  for (unsigned l = 0; l <= TILE_MAX_LEVEL; l++) {
    edge *e = &j->r.edges[l];
    if (!e->n) continue;
    if (l == 0)
      store_batch_put_chunk(j->r.b, 0, e->index * TILE_WIDTH, (const uint8_t *)e->h, e->n * MERKLE_HASH_SIZE);
    else
      store_batch_put_tile(j->r.b, l, e->index, (const uint8_t *)e->h, e->n * MERKLE_HASH_SIZE);
  }
  store_batch_put_size(j->r.b, j->cp.size);
  store_batch_put_checkpoint(j->r.b, j->cp.size, j->note, j->note_len);
  char e[400];
  if (store_batch_write(j->r.st, j->r.b, e, sizeof e) ||
      store_put_origin(j->r.st, j->cfg->origin, e, sizeof e)) {
    xt_errf(err, errcap, "%s", e);
    return RESTORE_ESTORE;
  }
  return RESTORE_OK;
}

/* With anchoring: the rebuilt tree against the chain's head, and that head's signed
 * checkpoint and quote from the mirror. */
static restore_err check_chain(job *j, char *err, size_t errcap) {
  char e[600];
  if (anchoring_check_start(j->cfg->anchor, j->r.st, e, sizeof e) != ANCHORING_OK) {
    xt_errf(err, errcap, "the mirror's checkpoint (size %" PRIu64 ") was not accepted against the "
            "chain: %s", j->cp.size, e);
    return RESTORE_ECHAIN;
  }
  char *state = anchoring_state_json(j->cfg->anchor);
  json_t *s = state ? json_loads(state, JSON_DECODE_ANY, NULL) : NULL;
  free(state);
  json_int_t size = json_integer_value(json_object_get(s, "size"));
  json_decref(s);
  if (size <= 0 || (uint64_t)size == j->cp.size) return RESTORE_OK;
  char path[64], name[64];
  snprintf(path, sizeof path, "v1/checkpoints/%" PRIu64, (uint64_t)size);
  uint8_t *data = NULL;
  size_t len = 0;
  checkpoint c;
  if (log_source_get(j->src, path, 65536, &data, &len, e, sizeof e) != FETCH_OK) {
    xt_errf(err, errcap, "the mirror lacks the anchored checkpoint %s: %s", path, e);
    return RESTORE_ECHAIN;
  }
  char cerr[300];
  if (checkpoint_open(j->cfg->verifier, (const char *)data, len, &c, cerr, sizeof cerr) ||
      c.size != (uint64_t)size) {
    free(data);
    xt_errf(err, errcap, "the mirror's %s does not verify: %s", path, cerr);
    return RESTORE_EVERIFY;
  }
  /* Stored by size only: the latest ('L') must stay the mirror's checkpoint. */
  store_batch_clear(j->r.b);
  store_batch_put_checkpoint(j->r.b, c.size, (const char *)data, len);
  store_batch_put_checkpoint(j->r.b, j->cp.size, j->note, j->note_len);
  free(data);
  if (store_batch_write(j->r.st, j->r.b, e, sizeof e)) {
    xt_errf(err, errcap, "%s", e);
    return RESTORE_ESTORE;
  }
  snprintf(path, sizeof path, "attestation/checkpoint-%" PRIu64 ".json", (uint64_t)size);
  snprintf(name, sizeof name, "checkpoint-%" PRIu64 ".json", (uint64_t)size);
  copy_file(j->src, path, j->cfg->data_dir, "attestations", name);
  return RESTORE_OK;
}

/* Boot entries' quotes and the collateral archive, when the mirror has them. */
static void copy_evidence(job *j) {
  size_t boots = 0, colls = 0;
  for (size_t i = 0; i < j->nboots; i++) {
    char path[80], name[64];
    snprintf(name, sizeof name, "boot-%" PRIu64 ".json", j->boots[i]);
    snprintf(path, sizeof path, "attestation/%s", name);
    if (copy_file(j->src, path, j->cfg->data_dir, "attestations", name) == 0) boots++;
  }
  uint8_t *data = NULL;
  size_t len = 0;
  char e[300];
  if (log_source_get(j->src, "v1/collateral", (size_t)4 << 20, &data, &len, e, sizeof e) == FETCH_OK) {
    json_t *idx = json_loadb((const char *)data, len, 0, NULL);
    json_t *arr = json_object_get(idx, "collateral"), *it;
    size_t i;
    json_array_foreach(arr, i, it) {
      const char *name = json_string_value(json_object_get(it, "name"));
      char path[128], file[128];
      if (!name || strspn(name, "0123456789") != strlen(name) || !*name || strlen(name) > 20) continue;
      snprintf(path, sizeof path, "v1/collateral/%s", name);
      snprintf(file, sizeof file, "%s.json", name);
      if (copy_file(j->src, path, j->cfg->data_dir, "collateral", file) == 0) colls++;
    }
    json_decref(idx);
    char out[PATH_MAX + 40];
    snprintf(out, sizeof out, "%s/collateral/index.json", j->cfg->data_dir);
    if (colls && xt_file_write_atomic(out, data, len, 0644, e, sizeof e) != XT_OK)
      xt_log("logd", "restore: %s", e);
    free(data);
  }
  xt_log("logd", "restore: copied %zu of %zu boot quotes and %zu collateral documents", boots, j->nboots, colls);
}

static restore_err run(job *j, char *err, size_t errcap) {
  const restore_config *cfg = j->cfg;
  struct stat st;
  if (stat(cfg->db_path, &st) == 0) {
    xt_errf(err, errcap, "%s already exists: restore only into a data directory without a log", cfg->db_path);
    return RESTORE_EEXIST;
  }
  char e[600];
  if (!(j->src = log_source_open(cfg->url, e, sizeof e))) {
    xt_errf(err, errcap, "%s", e);
    return RESTORE_EFETCH;
  }
  uint8_t *data = NULL;
  if (log_source_get(j->src, "checkpoint", 65536, &data, &j->note_len, e, sizeof e) != FETCH_OK) {
    xt_errf(err, errcap, "%s", e);
    return RESTORE_EFETCH;
  }
  j->note = (char *)data;
  char cerr[300];
  if (checkpoint_open(cfg->verifier, j->note, j->note_len, &j->cp, cerr, sizeof cerr)) {
    xt_errf(err, errcap, "the mirror's checkpoint does not verify with this logd's key and --origin "
            "(%s): it is not this log's mirror, or this is not the log's key", cerr);
    return RESTORE_EVERIFY;
  }
  xt_log("logd", "restore: the mirror's checkpoint has size %" PRIu64 "; rebuilding %s", j->cp.size, cfg->db_path);
  if ((size_t)snprintf(j->tmp, sizeof j->tmp, "%s.restore", cfg->db_path) >= sizeof j->tmp) {
    xt_errf(err, errcap, "path too long");
    return RESTORE_ESTORE;
  }
  remove_db(j->tmp); /* what a restore that died left */
  if (store_open(j->tmp, &j->r.st, e, sizeof e) || !(j->r.b = store_batch_new(j->r.st)) ||
      !(j->r.edges = calloc(TILE_MAX_LEVEL + 1, sizeof *j->r.edges))) {
    xt_errf(err, errcap, "%s", j->r.st ? "out of memory" : e);
    return RESTORE_ESTORE;
  }
  merkle_tree_init(&j->tree);
  restore_err rc = rebuild_tree(j, err, errcap);
  if (!rc) rc = finish_tree(j, err, errcap);
  if (!rc && cfg->anchor) rc = check_chain(j, err, errcap);
  if (rc) return rc;
  copy_evidence(j);
  store_batch_free(j->r.b);
  j->r.b = NULL;
  store_close(j->r.st);
  j->r.st = NULL;
  if (rename(j->tmp, cfg->db_path)) {
    xt_errf(err, errcap, "cannot rename %s to %s: %s", j->tmp, cfg->db_path, strerror(errno));
    return RESTORE_ESTORE;
  }
  xt_log("logd", "restore: %" PRIu64 " entries restored from %s and checked against its signed "
         "checkpoint%s", j->cp.size, cfg->url, cfg->anchor ? " and the chain's anchored head" : "");
  return RESTORE_OK;
}

restore_err restore_run(const restore_config *cfg, char *err, size_t errcap) {
  job j;
  memset(&j, 0, sizeof j);
  j.cfg = cfg;
  restore_err rc = run(&j, err, errcap);
  store_batch_free(j.r.b);
  store_close(j.r.st);
  if (rc && j.tmp[0] && rc != RESTORE_EEXIST) remove_db(j.tmp);
  free(j.r.edges);
  free(j.note);
  free(j.boots);
  log_source_free(j.src);
  return rc;
}
