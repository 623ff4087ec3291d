#include "logd/store.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <rocksdb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "base/num.h"
#include "merkle/merkle.h"
#include "merkle/tile.h"
#include "logd/ixmem.h"

/* Full hash tiles never change, so proofs read them through a cache that keeps
 * every node inside the tile (levels 0..8 of it: 511 hashes), computed once:
 * a proof then costs lookups instead of up to 255 hashes per tile level. Fixed
 * size: memory does not grow with the log. */
#define TCACHE_SLOTS 4096
#define TCACHE_WAYS 4
#define TCACHE_LOCKS 64
#define TILE_NODES 511

typedef struct tcache_slot {
  uint8_t node[TILE_NODES][32]; /* sublevel k at offset 512 - (512 >> k) */
} tcache_slot;

/* A way's key beside the others of its set (two cache lines a set), not at the head
 * of its 16 KiB tile: a lookup then touches the tile only on a hit. */
typedef struct tcache_way {
  uint64_t index;
  uint64_t stamp; /* last use, for eviction within the set (under the set's lock) */
  unsigned level;
  tcache_slot *tile; /* NULL: empty */
} tcache_way;

/* The right edges of the most recent tree sizes asked for (merkle_edge): proofs are
 * mostly into the latest checkpoint's tree, which changes a few times a second. */
#define ECACHE 4

/* Hash tile levels whose newest partial tile is kept as a copy (ptile below). */
#define PTILE_LEVELS 8

#define NCACHE_SLOTS 65536

typedef struct ncache_slot {
  uint64_t index;
  uint8_t level, valid;
  uint8_t hash[32];
} ncache_slot;

/* The dedup and leaf-hash index, kept out of the synced hot path: each batch writes
 * its index ops as ONE sequential 'X' record (no random keys in the memtable), the
 * ops are also kept in memory (active), and a background thread merges a full table
 * (frozen) into the sorted index column family as one ingested SST, then deletes its
 * 'X' records. Lookups read active, frozen, then the column family (mu guards all). */
#define IXLOG_OP (1 + STORE_KEY_PREFIX + 8)
#define IXLOG_MERGE_KEYS (1u << 18)

typedef struct ixlog {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  ixmem *active, *frozen;
  ixmem *spare;         /* a merged table, emptied, for the next swap */
  uint64_t seq;         /* the next 'X' record's number */
  uint64_t frozen_upto; /* 'X' records below this number are all in frozen */
  int inited, thread_on, stop;
  int writing;          /* a batch's ops are between reserve and put: no swap now */
  size_t merge_keys;    /* merge once active holds this many keys */
  pthread_t thread;
  char *dir;            /* the database directory, for the merge's SST */
} ixlog;

struct logd_store {
  ncache_slot *ncache;
  tcache_way tcache[TCACHE_SLOTS];
  pthread_mutex_t tcache_mu[TCACHE_LOCKS];
  pthread_mutex_t edge_mu;
  unsigned edge_next; /* the slot the next new edge goes to (round robin) */
  int edge_valid[ECACHE];
  merkle_edge edge[ECACHE];
  /* The newest partial (right-edge) hash tile of each level, as last read. A partial
   * tile only grows and its first w hashes never change, so a copy of width w answers
   * any read within w: receipts would otherwise read the same right-edge tile once per
   * waiting request, each a RocksDB get and a scan of its chunks. */
  pthread_mutex_t ptile_mu;
  struct {
    uint64_t index;
    uint8_t *data; /* NULL: none yet */
    size_t len;
  } ptile[PTILE_LEVELS];
  rocksdb_t *db;
  rocksdb_column_family_handle_t *cf_default, *cf_index;
  rocksdb_options_t *opts, *idx_opts;
  rocksdb_block_based_table_options_t *table;
  rocksdb_cache_t *cache;
  rocksdb_readoptions_t *ropts;
  rocksdb_readoptions_t *iter_opts;
  rocksdb_writeoptions_t *wopts;
  ixlog ix;
  char path[PATH_MAX];
};

struct store_batch {
  rocksdb_writebatch_t *wb;
  rocksdb_column_family_handle_t *cf_index;
  uint8_t *ops; /* index-log ops of this batch, IXLOG_OP bytes each */
  size_t nops, ops_cap;
  int oom;
};

static void be64(uint8_t *p, uint64_t v) {
  for (int i = 7; i >= 0; i--, v >>= 8) p[i] = (uint8_t)v;
}

static uint64_t rd64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = v << 8 | p[i];
  return v;
}

static store_err fail(char *err, size_t errcap, const char *what, char *rerr) {
  xt_errf(err, errcap, "storage: %s: %s", what, rerr ? rerr : "unknown error");
  rocksdb_free(rerr);
  return STORE_EIO;
}

const char *store_err_str(store_err e) {
  switch (e) {
  case STORE_OK: return "ok";
  case STORE_NOT_FOUND: return "not found";
  case STORE_EIO: return "storage error";
  case STORE_ENOMEM: return "out of memory";
  case STORE_ENOSPC: return "disk full";
  }
  return "unknown storage error";
}

static store_err ixlog_open(logd_store *s, const char *path, int read_only, char *err,
                            size_t errcap);
static void ixlog_close(logd_store *s);

/* Opens read-write (creating the database when missing) or read-only. */
static store_err open_mode(const char *path, int read_only, logd_store **out, char *err, size_t errcap) {
  logd_store *s = calloc(1, sizeof *s);
  if (s) s->ncache = calloc(NCACHE_SLOTS, sizeof *s->ncache);
  if (!s || !s->ncache) {
    free(s);
    xt_errf(err, errcap, "out of memory");
    return STORE_ENOMEM;
  }
  if ((size_t)snprintf(s->path, sizeof s->path, "%s", path) >= sizeof s->path) {
    free(s->ncache);
    free(s);
    xt_errf(err, errcap, "storage: path too long: %s", path);
    return STORE_EIO;
  }
  /* RocksDB resumes by itself after a retryable error (ENOSPC) by reusing the WAL
   * writer that failed; Debian's build then aborts on an assertion (seen with libfiu)
   * and a write that failed half-way is not something to write after. logd stops
   * writing instead and a restart reopens the store through RocksDB's recovery. */
  rocksdb_options_t *base = rocksdb_options_create();
  s->opts = rocksdb_options_create();
  char *oerr = NULL;
  rocksdb_get_options_from_string(base, "max_bgerror_resume_count=0", s->opts, &oerr);
  rocksdb_options_destroy(base);
  if (oerr) {
    fail(err, errcap, "cannot set options", oerr);
    rocksdb_options_destroy(s->opts);
    free(s->ncache);
    free(s);
    return STORE_EIO;
  }
  rocksdb_options_set_create_if_missing(s->opts, !read_only);
  /* RocksDB's own LOG file keeps only its start-up header: Debian's librocksdb is built
   * with assertions, and its file logger aborts the process on the line after a write
   * to that file failed, which is what a failing or full disk gives (seen with libfiu:
   * the background-error report itself aborted logd). logd logs every storage error
   * RocksDB returns, with RocksDB's message. 5 = InfoLogLevel::HEADER_LEVEL. */
  rocksdb_options_set_info_log_level(s->opts, 5);
  rocksdb_options_increase_parallelism(s->opts, 2);
  rocksdb_options_set_compression(s->opts, rocksdb_lz4_compression);
  rocksdb_options_set_max_open_files(s->opts, 512);
  rocksdb_options_set_create_missing_column_families(s->opts, !read_only);
  rocksdb_options_set_write_buffer_size(s->opts, 16u << 20);
  rocksdb_options_set_max_write_buffer_number(s->opts, 4);
  /* One writer thread (the sequencer): no concurrent memtable inserts. */
  rocksdb_options_set_allow_concurrent_memtable_write(s->opts, 0);
  /* Point lookups (dedup, leaf hash) mostly miss: bloom filters keep them cheap. */
  s->table = rocksdb_block_based_options_create();
  s->cache = rocksdb_cache_create_lru(128u << 20);
  rocksdb_block_based_options_set_block_cache(s->table, s->cache);
  rocksdb_block_based_options_set_filter_policy(s->table, rocksdb_filterpolicy_create_bloom(10));
  /* Filters and indexes live in the bounded block cache (memory stays flat as the
   * log grows), ahead of data blocks, and are pinned for the newest files. */
  rocksdb_block_based_options_set_cache_index_and_filter_blocks(s->table, 1);
  rocksdb_block_based_options_set_cache_index_and_filter_blocks_with_high_priority(s->table, 1);
  rocksdb_block_based_options_set_pin_l0_filter_and_index_blocks_in_cache(s->table, 1);
  rocksdb_block_based_options_set_format_version(s->table, 5);
  /* Partitioned filters and indexes: a whole-file filter of a large SST is bigger
   * than a cache shard, would never stay cached, and would be re-read from the
   * file by every lookup. Partitions are 4 KiB and cache like data blocks. */
  rocksdb_block_based_options_set_index_type(s->table, rocksdb_block_based_table_index_type_two_level_index_search);
  rocksdb_block_based_options_set_partition_filters(s->table, 1);
  rocksdb_block_based_options_set_metadata_block_size(s->table, 4096);
  rocksdb_block_based_options_set_pin_top_level_index_and_filter(s->table, 1);
  rocksdb_options_set_block_based_table_factory(s->opts, s->table);
  /* The dedup and leaf-hash keys (two random 17-byte keys per entry) live in their
   * own column family: their compactions then never rewrite the sequential tiles
   * and bundles, which move down the levels untouched. Hashes do not compress. A
   * prefix bloom over exactly those keys lets the dedup lookup (which almost always
   * misses) skip the memtable search. */
  s->idx_opts = rocksdb_options_create_copy(s->opts);
  rocksdb_options_set_compression(s->idx_opts, rocksdb_no_compression);
  rocksdb_options_set_prefix_extractor(s->idx_opts, rocksdb_slicetransform_create_fixed_prefix(1 + STORE_KEY_PREFIX));
  rocksdb_options_set_memtable_prefix_bloom_size_ratio(s->idx_opts, 0.1);
  const char *names[2] = {"default", "index"};
  const rocksdb_options_t *cfo[2] = {s->opts, s->idx_opts};
  rocksdb_column_family_handle_t *cfh[2] = {NULL, NULL};
  char *rerr = NULL;
  s->db = read_only ? rocksdb_open_for_read_only_column_families(s->opts, path, 2, names, cfo, cfh,
                                                                  0, &rerr)
                    : rocksdb_open_column_families(s->opts, path, 2, names, cfo, cfh, &rerr);
  if (!s->db) {
    fail(err, errcap, "cannot open the database", rerr);
    rocksdb_block_based_options_destroy(s->table);
    rocksdb_cache_destroy(s->cache);
    rocksdb_options_destroy(s->idx_opts);
    rocksdb_options_destroy(s->opts);
    free(s->ncache);
    free(s);
    return STORE_EIO;
  }
  s->cf_default = cfh[0];
  s->cf_index = cfh[1];
  for (int i = 0; i < TCACHE_LOCKS; i++) pthread_mutex_init(&s->tcache_mu[i], NULL);
  pthread_mutex_init(&s->edge_mu, NULL);
  pthread_mutex_init(&s->ptile_mu, NULL);

  s->ropts = rocksdb_readoptions_create();
  s->iter_opts = rocksdb_readoptions_create();
  s->wopts = rocksdb_writeoptions_create();
  rocksdb_writeoptions_set_sync(s->wopts, 1);
  store_err ie = ixlog_open(s, path, read_only, err, errcap);
  if (ie) {
    store_close(s);
    return ie;
  }
  *out = s;
  return STORE_OK;
}

store_err store_open(const char *path, logd_store **out, char *err, size_t errcap) {
  return open_mode(path, 0, out, err, errcap);
}

store_err store_open_read_only(const char *path, logd_store **out, char *err, size_t errcap) {
  char current[PATH_MAX];
  if ((size_t)snprintf(current, sizeof current, "%s/CURRENT", path) >= sizeof current) {
    xt_errf(err, errcap, "storage: path too long: %s", path);
    return STORE_EIO;
  }
  struct stat st;
  if (stat(current, &st) != 0) {
    if (errno == ENOENT) return STORE_NOT_FOUND;
    xt_errf(err, errcap, "storage: %s: %s", current, strerror(errno));
    return STORE_EIO;
  }
  return open_mode(path, 1, out, err, errcap);
}

void store_close(logd_store *s) {
  if (!s) return;
  ixlog_close(s);
  rocksdb_column_family_handle_destroy(s->cf_default);
  rocksdb_column_family_handle_destroy(s->cf_index);
  rocksdb_close(s->db);
  rocksdb_readoptions_destroy(s->ropts);
  rocksdb_readoptions_destroy(s->iter_opts);
  rocksdb_writeoptions_destroy(s->wopts);
  rocksdb_block_based_options_destroy(s->table);
  rocksdb_cache_destroy(s->cache);
  rocksdb_options_destroy(s->idx_opts);
  rocksdb_options_destroy(s->opts);
  for (int i = 0; i < TCACHE_SLOTS; i++) free(s->tcache[i].tile);
  free(s->ncache);
  for (int i = 0; i < TCACHE_LOCKS; i++) pthread_mutex_destroy(&s->tcache_mu[i]);
  pthread_mutex_destroy(&s->edge_mu);
  for (int i = 0; i < PTILE_LEVELS; i++) free(s->ptile[i].data);
  pthread_mutex_destroy(&s->ptile_mu);
  free(s);
}

/* 1 when absent; *val malloc'd (NUL-terminated for convenience). */
static store_err get(logd_store *s, const uint8_t *key, size_t klen, char **val, size_t *vlen,
               char *err, size_t errcap) {
  char *rerr = NULL;
  size_t n = 0;
  /* Index keys ('D', 'H') are the only 17-byte keys; they live in their own family. */
  rocksdb_column_family_handle_t *cf = klen == 1 + STORE_KEY_PREFIX ? s->cf_index : s->cf_default;
  char *v = rocksdb_get_cf(s->db, s->ropts, cf, (const char *)key, klen, &n, &rerr);
  if (rerr) return fail(err, errcap, "read failed", rerr);
  if (!v) return STORE_NOT_FOUND;
  char *copy = malloc(n + 1);
  if (!copy) {
    rocksdb_free(v);
    xt_errf(err, errcap, "out of memory");
    return STORE_ENOMEM;
  }
  memcpy(copy, v, n);
  copy[n] = 0;
  rocksdb_free(v);
  *val = copy;
  *vlen = n;
  return STORE_OK;
}

static store_err get_u64(logd_store *s, const uint8_t *key, size_t klen, uint64_t *out, char *err,
                   size_t errcap) {
  char *v = NULL;
  size_t n = 0;
  store_err rc = get(s, key, klen, &v, &n, err, errcap);
  if (rc) return rc;
  if (n != 8) {
    free(v);
    xt_errf(err, errcap, "storage: corrupt value (%zu bytes where 8 belong)", n);
    return STORE_EIO;
  }
  *out = rd64((const uint8_t *)v);
  free(v);
  return STORE_OK;
}

store_err store_get_size(logd_store *s, uint64_t *size, char *err, size_t errcap) {
  return get_u64(s, (const uint8_t *)"Msize", 5, size, err, errcap);
}

store_err store_get_origin(logd_store *s, char **origin, char *err, size_t errcap) {
  size_t n;
  return get(s, (const uint8_t *)"Morigin", 7, origin, &n, err, errcap);
}

store_err store_put_origin(logd_store *s, const char *origin, char *err, size_t errcap) {
  char *rerr = NULL;
  rocksdb_put(s->db, s->wopts, "Morigin", 7, origin, strlen(origin), &rerr);
  if (rerr) return fail(err, errcap, "write failed", rerr);
  return STORE_OK;
}

static void tile_key(uint8_t k[10], unsigned level, uint64_t index) {
  k[0] = 'T';
  k[1] = (uint8_t)level;
  be64(k + 2, index);
}

static char chunk_tag(unsigned level) { return level == 0 ? 'P' : 'B'; }

static void chunk_key(uint8_t k[9], unsigned level, uint64_t first) {
  k[0] = (uint8_t)chunk_tag(level);
  be64(k + 1, first);
}

/* A full tile is one key. The right-edge level-0 tile and entry bundle are the
 * concatenation of their chunks (one per batch that added to them), read through
 * one iterator so the view is consistent with a concurrent batch that completes
 * the tile (writes the full key, deletes the chunks). */
store_err store_get_tile(logd_store *s, unsigned level, uint64_t index, uint8_t **data, size_t *len,
                   char *err, size_t errcap) {
  uint8_t k[10];
  tile_key(k, level, index);
  store_err rc = get(s, k, sizeof k, (char **)data, len, err, errcap);
  if (rc != STORE_NOT_FOUND || (level != 0 && level != STORE_ENTRIES_LEVEL)) return rc;
  if (index > UINT64_MAX / 256 - 1) return STORE_NOT_FOUND;
  rocksdb_iterator_t *it = rocksdb_create_iterator(s->db, s->iter_opts);
  if (!it) {
    xt_errf(err, errcap, "out of memory");
    return STORE_ENOMEM;
  }
  rocksdb_iter_seek(it, (const char *)k, sizeof k);
  size_t kl;
  if (rocksdb_iter_valid(it)) {
    const char *key = rocksdb_iter_key(it, &kl);
    if (kl == sizeof k && !memcmp(key, k, sizeof k)) {
      size_t vl;
      const char *v = rocksdb_iter_value(it, &vl);
      *data = malloc(vl + 1);
      if (!*data) {
        rocksdb_iter_destroy(it);
        xt_errf(err, errcap, "out of memory");
        return STORE_ENOMEM;
      }
      if (vl) memcpy(*data, v, vl); /* an empty value may come as NULL */
      *len = vl;
      rocksdb_iter_destroy(it);
      return STORE_OK;
    }
  }
  uint8_t lo[9], hi[9];
  chunk_key(lo, level, index * 256);
  chunk_key(hi, level, index * 256 + 256);
  uint8_t *buf = NULL;
  size_t n = 0, cap = 0;
  rc = STORE_NOT_FOUND;
  for (rocksdb_iter_seek(it, (const char *)lo, sizeof lo); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
    const char *key = rocksdb_iter_key(it, &kl);
    if (kl != 9 || memcmp(key, hi, 9) >= 0 || (uint8_t)key[0] != lo[0]) break;
    size_t vl;
    const char *v = rocksdb_iter_value(it, &vl);
    if (!buf || n + vl + 1 > cap) {
      size_t nc = cap ? cap : 8192;
      while (nc < n + vl + 1) nc *= 2;
      uint8_t *nb = realloc(buf, nc);
      if (!nb) {
        free(buf);
        rocksdb_iter_destroy(it);
        xt_errf(err, errcap, "out of memory");
        return STORE_ENOMEM;
      }
      buf = nb;
      cap = nc;
    }
    if (vl) memcpy(buf + n, v, vl); /* an empty chunk may come as NULL */
    n += vl;
    rc = STORE_OK;
  }
  char *ierr = NULL;
  rocksdb_iter_get_error(it, &ierr);
  rocksdb_iter_destroy(it);
  if (ierr) {
    free(buf);
    return fail(err, errcap, "read failed", ierr);
  }
  if (rc == 0) {
    *data = buf;
    *len = n;
  }
  return rc;
}

store_err store_list_chunks(logd_store *s, uint64_t tile_index, uint64_t starts[256], size_t *count,
                      char *err, size_t errcap) {
  *count = 0;
  rocksdb_iterator_t *it = rocksdb_create_iterator(s->db, s->iter_opts);
  if (!it) {
    xt_errf(err, errcap, "out of memory");
    return STORE_ENOMEM;
  }
  uint8_t lo[9], hi[9];
  chunk_key(lo, STORE_ENTRIES_LEVEL, tile_index * 256);
  chunk_key(hi, STORE_ENTRIES_LEVEL, tile_index * 256 + 256);
  size_t kl;
  for (rocksdb_iter_seek(it, (const char *)lo, sizeof lo); rocksdb_iter_valid(it) && *count < 256;
       rocksdb_iter_next(it)) {
    const char *key = rocksdb_iter_key(it, &kl);
    if (kl != 9 || memcmp(key, hi, 9) >= 0 || (uint8_t)key[0] != lo[0]) break;
    starts[(*count)++] = rd64((const uint8_t *)key + 1);
  }
  char *ierr = NULL;
  rocksdb_iter_get_error(it, &ierr);
  rocksdb_iter_destroy(it);
  if (ierr) return fail(err, errcap, "read failed", ierr);
  return STORE_OK;
}

/* Looks (tag, key) up in the unmerged index ops; 1 and *index when there. */
static int ixlog_find(logd_store *s, uint8_t tag, const uint8_t *key, uint64_t *index) {
  pthread_mutex_lock(&s->ix.mu);
  int hit = ixmem_get(s->ix.active, tag, key, index) ||
            (s->ix.frozen && ixmem_get(s->ix.frozen, tag, key, index));
  pthread_mutex_unlock(&s->ix.mu);
  return hit;
}

store_err store_get_dedup_many(logd_store *s, size_t n, const uint8_t (*keys)[32], uint64_t *index,
                         uint8_t *found, char *err, size_t errcap) {
  if (n == 0) return STORE_OK;
  /* The unmerged ops first (recent entries, and retries of them); only the keys not
   * there go to the column family. */
  size_t miss = 0;
  pthread_mutex_lock(&s->ix.mu);
  for (size_t i = 0; i < n; i++) {
    found[i] = (uint8_t)(ixmem_get(s->ix.active, 'D', keys[i], &index[i]) ||
                         (s->ix.frozen && ixmem_get(s->ix.frozen, 'D', keys[i], &index[i])));
    miss += !found[i];
  }
  pthread_mutex_unlock(&s->ix.mu);
  if (miss == 0) return STORE_OK;
  uint8_t *kb = malloc(miss * (1 + STORE_KEY_PREFIX));
  const char **kp = malloc(miss * sizeof *kp);
  size_t *ks = malloc(miss * sizeof *ks);
  size_t *at = malloc(miss * sizeof *at);
  /* An array of slice pointers. NOLINTNEXTLINE(bugprone-sizeof-expression) */
  rocksdb_pinnableslice_t **vals = calloc(miss, sizeof vals[0]);
  char **errs = calloc(miss, sizeof *errs);
  store_err rc = STORE_OK;
  if (!kb || !kp || !ks || !at || !vals || !errs) {
    xt_errf(err, errcap, "out of memory");
    rc = STORE_ENOMEM;
    goto out;
  }
  for (size_t i = 0, m = 0; i < n; i++) {
    if (found[i]) continue;
    uint8_t *k = kb + m * (1 + STORE_KEY_PREFIX);
    k[0] = 'D';
    memcpy(k + 1, keys[i], STORE_KEY_PREFIX);
    kp[m] = (const char *)k;
    ks[m] = 1 + STORE_KEY_PREFIX;
    at[m++] = i;
  }
  rocksdb_batched_multi_get_cf(s->db, s->ropts, s->cf_index, miss, kp, ks, vals, errs, 0);
  for (size_t m = 0; m < miss; m++) {
    size_t i = at[m];
    if (errs[m]) {
      if (rc == 0) fail(err, errcap, "read failed", errs[m]);
      else rocksdb_free(errs[m]);
      errs[m] = NULL;
      rc = STORE_EIO;
      continue;
    }
    if (!vals[m]) continue;
    size_t vl;
    const char *v = rocksdb_pinnableslice_value(vals[m], &vl);
    if (vl != 8) {
      if (rc == 0) xt_errf(err, errcap, "storage: corrupt dedup value");
      rc = STORE_EIO;
      continue;
    }
    index[i] = rd64((const uint8_t *)v);
    found[i] = 1;
  }
out:
  for (size_t m = 0; vals && m < miss; m++)
    if (vals[m]) rocksdb_pinnableslice_destroy(vals[m]);
  free(kb), free(kp), free(ks), free(at), free(vals), free(errs);
  return rc;
}

store_err store_get_by_hash(logd_store *s, const uint8_t leaf_hash[STORE_KEY_PREFIX], uint64_t *index,
                      char *err, size_t errcap) {
  if (ixlog_find(s, 'H', leaf_hash, index)) return STORE_OK;
  uint8_t k[1 + STORE_KEY_PREFIX] = {'H'};
  memcpy(k + 1, leaf_hash, STORE_KEY_PREFIX);
  return get_u64(s, k, sizeof k, index, err, errcap);
}

store_err store_get_checkpoint(logd_store *s, uint64_t size, char **note, size_t *len, char *err,
                         size_t errcap) {
  if (size == UINT64_MAX) return get(s, (const uint8_t *)"L", 1, note, len, err, errcap);
  uint8_t k[9] = {'C'};
  be64(k + 1, size);
  return get(s, k, sizeof k, note, len, err, errcap);
}

store_batch *store_batch_new(logd_store *s) {
  store_batch *b = calloc(1, sizeof *b);
  if (!b) return NULL;
  b->cf_index = s->cf_index;
  b->wb = rocksdb_writebatch_create();
  if (!b->wb) {
    free(b);
    return NULL;
  }
  return b;
}

void store_batch_free(store_batch *b) {
  if (!b) return;
  rocksdb_writebatch_destroy(b->wb);
  free(b->ops);
  free(b);
}

void store_batch_clear(store_batch *b) {
  rocksdb_writebatch_clear(b->wb);
  b->nops = 0;
  b->oom = 0;
}

void store_batch_put_tile(store_batch *b, unsigned level, uint64_t index, const uint8_t *data,
                          size_t len) {
  uint8_t k[10];
  tile_key(k, level, index);
  rocksdb_writebatch_put(b->wb, (const char *)k, sizeof k, (const char *)data, len);
}

void store_batch_put_chunk(store_batch *b, unsigned level, uint64_t first, const uint8_t *data,
                           size_t len) {
  uint8_t k[9];
  chunk_key(k, level, first);
  rocksdb_writebatch_put(b->wb, (const char *)k, sizeof k, (const char *)data, len);
}

void store_batch_delete_chunk(store_batch *b, unsigned level, uint64_t first) {
  uint8_t k[9];
  chunk_key(k, level, first);
  rocksdb_writebatch_delete(b->wb, (const char *)k, sizeof k);
}

static void put_index(store_batch *b, char tag, const uint8_t *key, uint64_t index) {
  if (b->oom) return;
  if ((b->nops + 1) * IXLOG_OP > b->ops_cap) {
    size_t cap = b->ops_cap ? 2 * b->ops_cap : 4096 * IXLOG_OP;
    uint8_t *n = realloc(b->ops, cap);
    if (!n) {
      b->oom = 1; /* store_batch_write refuses the batch */
      return;
    }
    b->ops = n;
    b->ops_cap = cap;
  }
  uint8_t *o = b->ops + b->nops++ * IXLOG_OP;
  o[0] = (uint8_t)tag;
  memcpy(o + 1, key, STORE_KEY_PREFIX);
  be64(o + 1 + STORE_KEY_PREFIX, index);
}

void store_batch_put_dedup(store_batch *b, const uint8_t key[STORE_KEY_PREFIX], uint64_t index) {
  put_index(b, 'D', key, index);
}

void store_batch_put_hash(store_batch *b, const uint8_t leaf_hash[STORE_KEY_PREFIX],
                          uint64_t index) {
  put_index(b, 'H', leaf_hash, index);
}

void store_batch_put_size(store_batch *b, uint64_t size) {
  uint8_t v[8];
  be64(v, size);
  rocksdb_writebatch_put(b->wb, "Msize", 5, (const char *)v, sizeof v);
}

void store_batch_put_checkpoint(store_batch *b, uint64_t size, const char *note, size_t len) {
  uint8_t k[9] = {'C'};
  be64(k + 1, size);
  rocksdb_writebatch_put(b->wb, (const char *)k, sizeof k, note, len);
  rocksdb_writebatch_put(b->wb, "L", 1, note, len);
}

/* A failed synced write's error. The C API has only the message: RocksDB's
 * Status::NoSpace reads "IO error: No space left on device: ...", and a later write
 * refused by the same background error repeats it. Frees rerr. */
static store_err write_failed(char *rerr, char *err, size_t errcap) {
  int nospace = strstr(rerr, "No space left on device") != NULL;
  store_err rc = fail(err, errcap, "synced write failed", rerr);
  return nospace ? STORE_ENOSPC : rc;
}

store_err store_batch_write(logd_store *s, store_batch *b, char *err, size_t errcap) {
  if (b->oom) {
    xt_errf(err, errcap, "out of memory");
    return STORE_ENOMEM;
  }
  char *rerr = NULL;
  if (!b->nops) {
    rocksdb_write(s->db, s->wopts, b->wb, &rerr);
    return rerr ? write_failed(rerr, err, errcap) : STORE_OK;
  }
  /* Room in memory first, so that ops made durable are always findable. Only this
   * thread adds to active (writes are not concurrent), so the room stays. */
  pthread_mutex_lock(&s->ix.mu);
  int room = ixmem_reserve(s->ix.active, b->nops);
  uint64_t seq = s->ix.seq;
  s->ix.writing = room == 0;
  pthread_mutex_unlock(&s->ix.mu);
  if (room) {
    xt_errf(err, errcap, "out of memory");
    return STORE_ENOMEM;
  }
  uint8_t k[9] = {'X'};
  be64(k + 1, seq);
  /* The record rides in this write only: the batch stays as the caller queued it. */
  rocksdb_writebatch_set_save_point(b->wb);
  rocksdb_writebatch_put(b->wb, (const char *)k, sizeof k, (const char *)b->ops, b->nops * IXLOG_OP);
  rocksdb_write(s->db, s->wopts, b->wb, &rerr);
  char *rb = NULL;
  rocksdb_writebatch_rollback_to_save_point(b->wb, &rb);
  rocksdb_free(rb);
  pthread_mutex_lock(&s->ix.mu);
  s->ix.writing = 0;
  if (rerr) {
    pthread_cond_broadcast(&s->ix.cv);
    pthread_mutex_unlock(&s->ix.mu);
    return write_failed(rerr, err, errcap);
  }
  for (size_t i = 0; i < b->nops; i++) {
    const uint8_t *o = b->ops + i * IXLOG_OP;
    (void)ixmem_put(s->ix.active, o[0], o + 1, rd64(o + 1 + STORE_KEY_PREFIX)); /* reserved */
  }
  s->ix.seq = seq + 1;
  if (ixmem_count(s->ix.active) >= s->ix.merge_keys) pthread_cond_broadcast(&s->ix.cv);
  pthread_mutex_unlock(&s->ix.mu);
  return STORE_OK;
}

store_err store_free_bytes(logd_store *s, uint64_t *bytes, char *err, size_t errcap) {
  struct statvfs v;
  if (statvfs(s->path, &v) != 0) {
    xt_errf(err, errcap, "storage: statvfs %s: %s", s->path, strerror(errno));
    return STORE_EIO;
  }
  *bytes = (uint64_t)v.f_bavail * (uint64_t)v.f_frsize;
  return STORE_OK;
}

uint64_t store_disk_bytes(logd_store *s) {
  uint64_t n = 0;
  rocksdb_column_family_handle_t *cfs[2] = {s->cf_default, s->cf_index};
  for (int i = 0; i < 2; i++) {
    /* The C API returns a malloc'd string. */
    char *v = rocksdb_property_value_cf(s->db, cfs[i], "rocksdb.total-sst-files-size");
    uint64_t x;
    if (v && xt_parse_u64(v, 0, 0, UINT64_MAX, &x) == XT_OK) n += x;
    free(v);
  }
  return n;
}

void store_reader_init(store_reader *r, logd_store *s) {
  memset(r, 0, sizeof *r);
  r->store = s;
}

void store_reader_done(store_reader *r) {
  free(r->data);
  r->data = NULL;
  r->have = 0;
}

static int reader_tile(store_reader *r, unsigned level, uint64_t index) {
  if (r->have && r->level == level && r->index == index) return 0;
  free(r->data);
  r->data = NULL;
  r->have = 0;
  store_err rc = store_get_tile(r->store, level, index, &r->data, &r->len, r->err, sizeof r->err);
  if (rc == STORE_NOT_FOUND) {
    xt_errf(r->err, sizeof r->err, "storage: hash tile %u/%llu is missing", level,
             (unsigned long long)index);
    return -1;
  }
  if (rc) return -1;
  r->have = 1;
  r->level = level;
  r->index = index;
  return 0;
}

/* reader_tile, for a read of the first `need` hashes of the tile: from the copy of the
 * newest partial tile of its level when that holds them, else from RocksDB (and a
 * partial tile read there becomes that copy when it is newer or wider). Same result. */
static int reader_tile_holding(store_reader *r, unsigned level, uint64_t index, unsigned need) {
  logd_store *s = r->store;
  if (r->have && r->level == level && r->index == index) {
    if (r->len / 32 >= need) return 0;
    r->have = 0; /* a copy narrower than this tree's tile: read it again */
  }
  if (level < PTILE_LEVELS) {
    pthread_mutex_lock(&s->ptile_mu);
    int hit = s->ptile[level].data && s->ptile[level].index == index && s->ptile[level].len / 32 >= need;
    uint8_t *copy = hit ? malloc(s->ptile[level].len) : NULL;
    if (copy) {
      memcpy(copy, s->ptile[level].data, s->ptile[level].len);
      free(r->data);
      r->data = copy, r->len = s->ptile[level].len;
      r->have = 1, r->level = level, r->index = index;
    }
    pthread_mutex_unlock(&s->ptile_mu);
    if (copy) return 0;
  }
  if (reader_tile(r, level, index)) return -1;
  if (level >= PTILE_LEVELS || r->len >= 256 * 32 || r->len % 32 || !r->len) return 0;
  pthread_mutex_lock(&s->ptile_mu);
  if (!s->ptile[level].data || s->ptile[level].index < index ||
      (s->ptile[level].index == index && s->ptile[level].len < r->len)) {
    uint8_t *copy = malloc(r->len);
    if (copy) { /* without memory the copy is skipped; the read is good */
      memcpy(copy, r->data, r->len);
      free(s->ptile[level].data);
      s->ptile[level].data = copy, s->ptile[level].len = r->len, s->ptile[level].index = index;
    }
  }
  pthread_mutex_unlock(&s->ptile_mu);
  return 0;
}

/* 4-way set associative: direct mapping would lose about a third of the hits to
 * collisions once the log has a few thousand tiles. Consecutive tiles of a level go to
 * consecutive sets (each level from its own start), not to hashed ones: a log of up
 * to TCACHE_SLOTS tiles then fills every set evenly instead of overflowing a tenth of
 * them (with hashing, a 1M-entry log missed about one tile lookup in eight). */
static size_t tcache_set_of(unsigned level, uint64_t index) {
  return (size_t)((index + (uint64_t)level * 0x9e3779b97f4a7c15ull) % (TCACHE_SLOTS / TCACHE_WAYS));
}

static uint64_t tcache_newest(const tcache_way *set) {
  uint64_t m = 0;
  for (size_t w = 0; w < TCACHE_WAYS; w++)
    if (set[w].tile && set[w].stamp > m) m = set[w].stamp;
  return m;
}

static size_t sub_off(unsigned k) { return 512 - (512u >> k); }

/* Copies node (sublevel k, position pos) of full tile (level, index) if cached, and
 * with r->path set the siblings of the path from it up to the tile's top into r. */
static int tcache_get(logd_store *s, store_reader *r, unsigned level, uint64_t index, unsigned k,
                      unsigned pos, uint8_t out[32]) {
  size_t set = tcache_set_of(level, index);
  pthread_mutex_t *mu = &s->tcache_mu[set % TCACHE_LOCKS];
  tcache_way *ways = &s->tcache[set * TCACHE_WAYS];
  int hit = 0;
  pthread_mutex_lock(mu);
  for (size_t w = 0; w < TCACHE_WAYS; w++) {
    tcache_way *t = &ways[w];
    if (t->tile && t->level == level && t->index == index) {
      memcpy(out, t->tile->node[sub_off(k) + pos], 32);
      if (r->path) {
        r->memo_level = level;
        r->memo_index = index;
        r->memo_mask = 0;
        for (unsigned j = k; j < 8; j++) {
          unsigned p = (pos >> (j - k)) ^ 1;
          memcpy(r->memo[j], t->tile->node[sub_off(j) + p], 32);
          r->memo_pos[j] = (uint8_t)p;
          r->memo_mask |= 1u << j;
        }
      }
      /* Recency per set, not from a clock all threads share: no cache line that
       * every lookup of every thread writes. */
      uint64_t newest = tcache_newest(ways);
      if (t->stamp != newest) t->stamp = newest + 1;
      hit = 1;
      break;
    }
  }
  pthread_mutex_unlock(mu);
  return hit;
}

/* Expands full tile (level, index) into all its inner nodes, caches it (evicting the
 * least recently used way), and answers the node. -1 when out of memory. */
static int tcache_put(logd_store *s, unsigned level, uint64_t index, const uint8_t *hashes,
                      unsigned k, unsigned pos, uint8_t out[32]) {
  tcache_slot *n = malloc(sizeof *n);
  if (!n) return -1;
  memcpy(n->node[0], hashes, 256 * 32);
  for (unsigned sub = 1; sub <= 8; sub++) {
    size_t lo = sub_off(sub - 1), hi = sub_off(sub);
    for (unsigned j = 0; j < (256u >> sub); j++)
      merkle_node_hash(n->node[lo + 2 * j], n->node[lo + 2 * j + 1], n->node[hi + j]);
  }
  memcpy(out, n->node[sub_off(k) + pos], 32);
  size_t set = tcache_set_of(level, index);
  pthread_mutex_t *mu = &s->tcache_mu[set % TCACHE_LOCKS];
  tcache_way *ways = &s->tcache[set * TCACHE_WAYS];
  tcache_slot *old = NULL;
  pthread_mutex_lock(mu);
  size_t victim = 0;
  int dup = 0;
  for (size_t w = 0; w < TCACHE_WAYS; w++) {
    tcache_way *t = &ways[w];
    if (t->tile && t->level == level && t->index == index) {
      dup = 1; /* another thread cached it meanwhile */
      break;
    }
    if (!t->tile) {
      victim = w;
      break;
    }
    if (t->stamp < ways[victim].stamp) victim = w;
  }
  if (dup) {
    old = n;
  } else {
    uint64_t stamp = tcache_newest(ways) + 1;
    old = ways[victim].tile;
    ways[victim] = (tcache_way){.index = index, .stamp = stamp, .level = level, .tile = n};
  }
  pthread_mutex_unlock(mu);
  free(old);
  return 0;
}

/* Nodes read or folded from the right-edge (partial) tiles: the tile still grows, but
 * a node of a complete subtree never changes, so it can be remembered by (level, index). */
static size_t ncache_slot_of(unsigned level, uint64_t index) {
  uint64_t h = (index * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)level * 0xbf58476d1ce4e5b9ull);
  return (size_t)(h >> 40) % NCACHE_SLOTS;
}

static int ncache_get(logd_store *s, unsigned level, uint64_t index, uint8_t out[32]) {
  size_t slot = ncache_slot_of(level, index);
  pthread_mutex_t *mu = &s->tcache_mu[slot % TCACHE_LOCKS];
  int hit = 0;
  pthread_mutex_lock(mu);
  ncache_slot *c = &s->ncache[slot];
  if (c->valid && c->level == level && c->index == index) {
    memcpy(out, c->hash, 32);
    hit = 1;
  }
  pthread_mutex_unlock(mu);
  return hit;
}

static void ncache_put(logd_store *s, unsigned level, uint64_t index, const uint8_t hash[32]) {
  size_t slot = ncache_slot_of(level, index);
  pthread_mutex_t *mu = &s->tcache_mu[slot % TCACHE_LOCKS];
  pthread_mutex_lock(mu);
  ncache_slot *c = &s->ncache[slot];
  c->valid = 1;
  c->level = (uint8_t)level;
  c->index = index;
  memcpy(c->hash, hash, 32);
  pthread_mutex_unlock(mu);
}

int store_read_nodes(void *reader, unsigned level, uint64_t index, uint64_t count,
                     uint8_t (*out)[32]) {
  store_reader *r = reader;
  uint8_t scratch[128][32];
  for (uint64_t i = 0; i < count; i++) {
    tile_id t;
    unsigned first, n;
    tile_for_node(level, index + i, &t, &first, &n);
    unsigned k = level % 8;
    if ((r->memo_mask >> k & 1) && r->memo_pos[k] == first >> k && r->memo_index == t.index &&
        r->memo_level == (unsigned)t.level) {
      memcpy(out[i], r->memo[k], 32);
      continue;
    }
    if (tcache_get(r->store, r, (unsigned)t.level, t.index, k, first >> k, out[i])) continue;
    if (ncache_get(r->store, level, index + i, out[i])) continue;
    if (reader_tile_holding(r, (unsigned)t.level, t.index, first + n)) return -1;
    if (r->len % 32 || r->len / 32 < (size_t)first + n) {
      snprintf(r->err, sizeof r->err, "storage: hash tile %d/%llu holds %zu hashes, %u needed",
               t.level, (unsigned long long)t.index, r->len / 32, first + n);
      return -1;
    }
    const uint8_t *h = r->data + (size_t)first * 32;
    if (r->len == 256 * 32 && tcache_put(r->store, (unsigned)t.level, t.index, r->data, k, first >> k, out[i]) == 0)
      continue;
    if (n == 1) {
      /* Remembered too: otherwise every proof whose path crosses the right edge
       * costs a RocksDB read of the partial tile for a hash that never changes. */
      memcpy(out[i], h, 32);
      ncache_put(r->store, level, index + i, out[i]);
      continue;
    }
    /* Fold the 2^k level-8L hashes up to the one node they span. */
    for (unsigned j = 0; j < n / 2; j++) merkle_node_hash(h + 64 * j, h + 64 * j + 32, scratch[j]);
    for (unsigned w = n / 2; w > 1; w /= 2)
      for (unsigned j = 0; j < w / 2; j++) merkle_node_hash(scratch[2 * j], scratch[2 * j + 1], scratch[j]);
    memcpy(out[i], scratch[0], 32);
    ncache_put(r->store, level, index + i, out[i]);
  }
  return 0;
}

/* Copies what a merkle_edge holds of its tree: npeaks of its 64 hashes each. */
static void edge_copy(merkle_edge *dst, const merkle_edge *src) {
  dst->size = src->size;
  dst->npeaks = src->npeaks;
  memcpy(dst->peak, src->peak, (size_t)src->npeaks * 32);
  memcpy(dst->fold, src->fold, (size_t)src->npeaks * 32);
}

int store_edge(store_reader *r, uint64_t size, merkle_edge *out) {
  logd_store *s = r->store;
  pthread_mutex_lock(&s->edge_mu);
  for (unsigned i = 0; i < ECACHE; i++)
    if (s->edge_valid[i] && s->edge[i].size == size) {
      edge_copy(out, &s->edge[i]);
      pthread_mutex_unlock(&s->edge_mu);
      return 0;
    }
  pthread_mutex_unlock(&s->edge_mu);
  int rc = merkle_edge_init(out, size, store_read_nodes, r);
  if (rc == MERKLE_ERR_ARG) xt_errf(r->err, sizeof r->err, "tree size %llu out of range", (unsigned long long)size);
  if (rc) return -1;
  pthread_mutex_lock(&s->edge_mu);
  int dup = 0; /* another thread computed it meanwhile */
  for (unsigned i = 0; i < ECACHE; i++) dup |= s->edge_valid[i] && s->edge[i].size == size;
  if (!dup) {
    unsigned slot = s->edge_next++ % ECACHE;
    edge_copy(&s->edge[slot], out);
    s->edge_valid[slot] = 1;
  }
  pthread_mutex_unlock(&s->edge_mu);
  return 0;
}

/* ---- the index log ---- */

/* Merges frozen into the index column family: its keys sorted into one SST,
 * ingested (RocksDB syncs the file and its manifest), then the 'X' records it came
 * from deleted. A crash between the two leaves the records, merged again on the
 * next start: the same keys with the same values, so harmless. */
static store_err ixlog_merge(logd_store *s, char *err, size_t errcap) {
  ixmem_op *ops = NULL;
  size_t n = 0;
  /* frozen changes only here, so it is read without the lock. */
  if (ixmem_sorted(s->ix.frozen, &ops, &n)) {
    xt_errf(err, errcap, "out of memory");
    return STORE_ENOMEM;
  }
  char path[PATH_MAX];
  if ((size_t)snprintf(path, sizeof path, "%s/ixmerge-%llu.sst", s->ix.dir,
                       (unsigned long long)s->ix.frozen_upto) >= sizeof path) {
    free(ops);
    xt_errf(err, errcap, "storage: path too long");
    return STORE_EIO;
  }
  rocksdb_envoptions_t *eo = rocksdb_envoptions_create();
  rocksdb_sstfilewriter_t *w = rocksdb_sstfilewriter_create(eo, s->idx_opts);
  char *rerr = NULL;
  rocksdb_sstfilewriter_open(w, path, &rerr);
  for (size_t i = 0; i < n && !rerr; i++) {
    uint8_t k[1 + STORE_KEY_PREFIX], v[8];
    k[0] = ops[i].tag;
    memcpy(k + 1, ops[i].key, STORE_KEY_PREFIX);
    be64(v, ops[i].index);
    rocksdb_sstfilewriter_put(w, (const char *)k, sizeof k, (const char *)v, sizeof v, &rerr);
  }
  free(ops);
  if (!rerr && n) rocksdb_sstfilewriter_finish(w, &rerr);
  rocksdb_sstfilewriter_destroy(w);
  rocksdb_envoptions_destroy(eo);
  if (!rerr && n) {
    rocksdb_ingestexternalfileoptions_t *io = rocksdb_ingestexternalfileoptions_create();
    rocksdb_ingestexternalfileoptions_set_move_files(io, 1);
    const char *files[1] = {path};
    rocksdb_ingest_external_file_cf(s->db, s->cf_index, files, 1, io, &rerr);
    rocksdb_ingestexternalfileoptions_destroy(io);
  }
  unlink(path); /* moved files are hard links; a failed attempt leaves no litter */
  if (rerr) return fail(err, errcap, "index merge failed", rerr);
  uint8_t lo[9] = {'X'}, hi[9] = {'X'};
  be64(hi + 1, s->ix.frozen_upto);
  rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
  rocksdb_writebatch_delete_range(wb, (const char *)lo, sizeof lo, (const char *)hi, sizeof hi);
  /* Not synced: if lost, the records are merged again (see above). */
  rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
  rocksdb_write(s->db, wo, wb, &rerr);
  rocksdb_writeoptions_destroy(wo);
  rocksdb_writebatch_destroy(wb);
  if (rerr) return fail(err, errcap, "deleting merged index records failed", rerr);
  return STORE_OK;
}

static void *ixlog_main(void *arg) {
  logd_store *s = arg;
  pthread_mutex_lock(&s->ix.mu);
  while (!s->ix.stop) {
    if (!s->ix.frozen && (ixmem_count(s->ix.active) < s->ix.merge_keys || s->ix.writing)) {
      pthread_cond_wait(&s->ix.cv, &s->ix.mu);
      continue;
    }
    if (!s->ix.frozen) {
      /* Sized for a whole merge up front: growing by doubling rehashed every key
       * in the writer thread (7% of add-batch CPU). */
      ixmem *fresh = s->ix.spare ? s->ix.spare : ixmem_new(s->ix.merge_keys);
      s->ix.spare = NULL;
      if (fresh) {
        s->ix.frozen = s->ix.active;
        s->ix.frozen_upto = s->ix.seq;
        s->ix.active = fresh;
      }
    }
    pthread_mutex_unlock(&s->ix.mu);
    char err[300] = "out of memory";
    store_err rc = s->ix.frozen ? ixlog_merge(s, err, sizeof err) : STORE_ENOMEM;
    pthread_mutex_lock(&s->ix.mu);
    if (rc == STORE_OK) {
      ixmem *done = s->ix.frozen;
      s->ix.frozen = NULL;
      pthread_mutex_unlock(&s->ix.mu);
      ixmem_clear(done);
      pthread_mutex_lock(&s->ix.mu);
      if (!s->ix.spare) s->ix.spare = done;
      else ixmem_free(done);
      continue;
    }
    /* Lookups keep working from memory meanwhile; retry in a while. */
    xt_log("logd", "storage: index merge: %s; retrying", err);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 5;
    pthread_cond_timedwait(&s->ix.cv, &s->ix.mu, &ts);
  }
  pthread_mutex_unlock(&s->ix.mu);
  return NULL;
}

/* Loads the unmerged 'X' records into memory and starts the merger (read-write). */
static store_err ixlog_open(logd_store *s, const char *path, int read_only, char *err,
                            size_t errcap) {
  pthread_mutex_init(&s->ix.mu, NULL);
  pthread_cond_init(&s->ix.cv, NULL);
  s->ix.inited = 1;
  s->ix.merge_keys = IXLOG_MERGE_KEYS;
  s->ix.active = ixmem_new(IXLOG_MERGE_KEYS);
  s->ix.dir = strdup(path);
  if (!s->ix.active || !s->ix.dir) {
    xt_errf(err, errcap, "out of memory");
    return STORE_ENOMEM;
  }
  rocksdb_iterator_t *it = rocksdb_create_iterator(s->db, s->iter_opts);
  if (!it) {
    xt_errf(err, errcap, "out of memory");
    return STORE_ENOMEM;
  }
  store_err rc = STORE_OK;
  for (rocksdb_iter_seek(it, "X", 1); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
    size_t kl, vl;
    const uint8_t *k = (const uint8_t *)rocksdb_iter_key(it, &kl);
    if (kl < 1 || k[0] != 'X') break;
    const uint8_t *v = (const uint8_t *)rocksdb_iter_value(it, &vl);
    if (kl != 9 || vl % IXLOG_OP) {
      xt_errf(err, errcap, "storage: corrupt index record (%zu-byte key, %zu-byte value)", kl, vl);
      rc = STORE_EIO;
      break;
    }
    if (ixmem_reserve(s->ix.active, vl / IXLOG_OP)) {
      xt_errf(err, errcap, "out of memory");
      rc = STORE_ENOMEM;
      break;
    }
    for (size_t i = 0; i < vl / IXLOG_OP; i++) {
      const uint8_t *o = v + i * IXLOG_OP;
      (void)ixmem_put(s->ix.active, o[0], o + 1, rd64(o + 1 + STORE_KEY_PREFIX)); /* reserved */
    }
    s->ix.seq = rd64(k + 1) + 1;
  }
  char *ierr = NULL;
  if (rc == STORE_OK) rocksdb_iter_get_error(it, &ierr);
  rocksdb_iter_destroy(it);
  if (ierr) return fail(err, errcap, "read failed", ierr);
  if (rc || read_only) return rc;
  if (pthread_create(&s->ix.thread, NULL, ixlog_main, s)) {
    xt_errf(err, errcap, "cannot start the index merge thread");
    return STORE_ENOMEM;
  }
  s->ix.thread_on = 1;
  return STORE_OK;
}

static void ixlog_close(logd_store *s) {
  if (!s->ix.inited) return;
  if (s->ix.thread_on) {
    pthread_mutex_lock(&s->ix.mu);
    s->ix.stop = 1;
    pthread_cond_broadcast(&s->ix.cv);
    pthread_mutex_unlock(&s->ix.mu);
    pthread_join(s->ix.thread, NULL);
  }
  ixmem_free(s->ix.active);
  ixmem_free(s->ix.frozen);
  ixmem_free(s->ix.spare);
  free(s->ix.dir);
  pthread_mutex_destroy(&s->ix.mu);
  pthread_cond_destroy(&s->ix.cv);
  s->ix.inited = 0;
}

void store_set_index_merge_keys(logd_store *s, size_t n) {
  pthread_mutex_lock(&s->ix.mu);
  s->ix.merge_keys = n ? n : 1;
  pthread_cond_broadcast(&s->ix.cv);
  pthread_mutex_unlock(&s->ix.mu);
}

uint64_t store_index_unmerged(logd_store *s) {
  pthread_mutex_lock(&s->ix.mu);
  uint64_t n = ixmem_count(s->ix.active) + (s->ix.frozen ? ixmem_count(s->ix.frozen) : 0);
  pthread_mutex_unlock(&s->ix.mu);
  return n;
}

store_err store_next_checkpoint(logd_store *s, uint64_t after, uint64_t to, uint64_t *size, char **note,
                                size_t *len, char *err, size_t errcap) {
  if (after >= to) return STORE_NOT_FOUND;
  rocksdb_iterator_t *it = rocksdb_create_iterator(s->db, s->iter_opts);
  if (!it) {
    xt_errf(err, errcap, "out of memory");
    return STORE_ENOMEM;
  }
  uint8_t lo[9] = {'C'};
  be64(lo + 1, after + 1);
  rocksdb_iter_seek(it, (const char *)lo, sizeof lo);
  store_err rc = STORE_NOT_FOUND;
  size_t kl, vl;
  if (rocksdb_iter_valid(it)) {
    const char *key = rocksdb_iter_key(it, &kl);
    uint64_t at = kl == 9 && key[0] == 'C' ? rd64((const uint8_t *)key + 1) : UINT64_MAX;
    if (at <= to) {
      const char *v = rocksdb_iter_value(it, &vl);
      *note = malloc(vl + 1);
      if (!*note) {
        rc = STORE_ENOMEM;
        xt_errf(err, errcap, "out of memory");
      } else {
        memcpy(*note, v, vl);
        (*note)[vl] = 0;
        *len = vl;
        *size = at;
        rc = STORE_OK;
      }
    }
  }
  char *ierr = NULL;
  rocksdb_iter_get_error(it, &ierr);
  rocksdb_iter_destroy(it);
  if (ierr) {
    if (rc == STORE_OK) free(*note);
    return fail(err, errcap, "read failed", ierr);
  }
  return rc;
}
