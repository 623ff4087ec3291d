/* store.h: logd's RocksDB storage.
 *
 * Contract: everything a sequenced batch changes (entry bundles, hash tiles, the
 * dedup and leaf-hash indexes, the tree size) goes into one store_batch and is
 * written with one synced write, so after a crash the store holds a prefix of the
 * batches that were acknowledged, never part of one. Keys:
 *   'M' "size" / "origin"          tree size (u64 big-endian) / the log's origin
 *   'T' level(u8) index(u64 BE)    hash tile, or entry bundle for level 0xff; full
 *                                  tiles are written once; right-edge tiles of levels
 *                                  >= 1 are rewritten as they grow
 *   'P' / 'B' first index (u64 BE) a chunk of the right-edge level-0 tile / entry
 *                                  bundle: what one batch added to it. Batches never
 *                                  rewrite what earlier ones stored; the batch that
 *                                  completes the tile writes it whole under 'T' and
 *                                  deletes its chunks.
 *   'D' dedup key (16 bytes)       index (u64 BE): first copy of (submitter, event)
 *   'H' leaf hash (first 16 bytes) index (u64 BE): lookup by leaf hash
 *                                  (both in the column family "index", merged)
 *   'X' record number (u64 BE)     the index log: one batch's 'D' and 'H' ops (25 B
 *                                  each: tag, 16-byte key, index u64 BE), written in
 *                                  that batch's synced write, kept in memory too, and
 *                                  merged in the background (one sorted SST ingested
 *                                  into "index" per 2^18 keys, then deleted): the synced
 *                                  hot path puts one sequential key per batch, never
 *                                  two random keys per entry. Lookups read the
 *                                  unmerged ops first, so they see every
 *                                  acknowledged entry, before and after a merge and
 *                                  across restarts (the records are reloaded).
 *   'C' size (u64 BE)              a published signed checkpoint note
 *   'L'                            the latest published checkpoint note
 * Reads are safe from any thread. Functions return a store_err: STORE_OK,
 * STORE_NOT_FOUND where noted, or another value with a message in err (errcap bytes). */
#ifndef XT_LOGD_STORE_H
#define XT_LOGD_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "merkle/merkle.h"

#define STORE_ENTRIES_LEVEL 0xff
#define STORE_KEY_PREFIX 16

typedef enum {
  STORE_OK = 0,
  STORE_NOT_FOUND, /* the key, tile, checkpoint or database is not there */
  STORE_EIO,       /* RocksDB refused, or a stored value is corrupt */
  STORE_ENOMEM,
  STORE_ENOSPC     /* a write failed because the disk is full (RocksDB's NoSpace) */
} store_err;

/* A fixed name for e; never NULL. */
const char *store_err_str(store_err e);

typedef struct logd_store logd_store;
typedef struct store_batch store_batch;

#define STORE_WUR __attribute__((warn_unused_result))

/* Opens (creating when missing) the database at path for reading and writing; *out is
 * the caller's until store_close. */
store_err store_open(const char *path, logd_store **out, char *err, size_t errcap) STORE_WUR;
/* Opens an existing database for reading only, writing nothing under path (start-up
 * checks run on it before logd commits to starting); STORE_NOT_FOUND when there is no
 * database at path yet. Write functions must not be called on it. */
store_err store_open_read_only(const char *path, logd_store **out, char *err, size_t errcap)
    STORE_WUR;
/* Closes and frees s (NULL is ignored). */
void store_close(logd_store *s);

/* The tree size and the origin (*origin malloc'd, the caller frees it); STORE_NOT_FOUND
 * when never written. store_put_origin writes the origin with a synced write. */
store_err store_get_size(logd_store *s, uint64_t *size, char *err, size_t errcap) STORE_WUR;
store_err store_get_origin(logd_store *s, char **origin, char *err, size_t errcap) STORE_WUR;
store_err store_put_origin(logd_store *s, const char *origin, char *err, size_t errcap) STORE_WUR;

/* A tile or bundle, full or as wide as stored, into *data (malloc'd, the caller frees
 * it) and *len; STORE_NOT_FOUND when absent. */
store_err store_get_tile(logd_store *s, unsigned level, uint64_t index, uint8_t **data,
                         size_t *len, char *err, size_t errcap) STORE_WUR;
/* Starts of the chunks of (partial) level-0 tile / bundle tile_index, in order, into
 * starts (at most 256) and *count. */
store_err store_list_chunks(logd_store *s, uint64_t tile_index, uint64_t starts[256],
                            size_t *count, char *err, size_t errcap) STORE_WUR;
/* Dedup lookups of n keys at once (the first STORE_KEY_PREFIX bytes of each digest
 * are used): found[i] says whether index[i] was set. */
store_err store_get_dedup_many(logd_store *s, size_t n, const uint8_t (*keys)[32],
                               uint64_t *index, uint8_t *found, char *err,
                               size_t errcap) STORE_WUR;
/* The index of the entry whose leaf hash starts with these STORE_KEY_PREFIX bytes;
 * STORE_NOT_FOUND when none. */
store_err store_get_by_hash(logd_store *s, const uint8_t leaf_hash[STORE_KEY_PREFIX],
                            uint64_t *index, char *err, size_t errcap) STORE_WUR;
/* A checkpoint note by size, or the latest (size == UINT64_MAX), into *note (malloc'd,
 * NUL-terminated, the caller frees it) and *len; STORE_NOT_FOUND when absent. */
store_err store_get_checkpoint(logd_store *s, uint64_t size, char **note, size_t *len,
                               char *err, size_t errcap) STORE_WUR;

/* The stored checkpoint of the smallest size in (after, to], as store_get_checkpoint
 * (logd/mirror.c walks every published checkpoint with it); STORE_NOT_FOUND when none. */
store_err store_next_checkpoint(logd_store *s, uint64_t after, uint64_t to, uint64_t *size, char **note,
                                size_t *len, char *err, size_t errcap) STORE_WUR;

/* A write batch (NULL when out of memory); the puts below only queue into it, and
 * store_batch_write performs them as one synced write. */
store_batch *store_batch_new(logd_store *s);
void store_batch_free(store_batch *b);
void store_batch_clear(store_batch *b);
void store_batch_put_tile(store_batch *b, unsigned level, uint64_t index, const uint8_t *data,
                          size_t len);
/* level 0 (hashes) or STORE_ENTRIES_LEVEL (bundle bytes). */
void store_batch_put_chunk(store_batch *b, unsigned level, uint64_t first, const uint8_t *data,
                           size_t len);
void store_batch_delete_chunk(store_batch *b, unsigned level, uint64_t first);
void store_batch_put_dedup(store_batch *b, const uint8_t key[STORE_KEY_PREFIX], uint64_t index);
void store_batch_put_hash(store_batch *b, const uint8_t leaf_hash[STORE_KEY_PREFIX],
                          uint64_t index);
void store_batch_put_size(store_batch *b, uint64_t size);
void store_batch_put_checkpoint(store_batch *b, uint64_t size, const char *note, size_t len);
/* One synced write of the whole batch (which stays queued: clear it to reuse it),
 * with its index ops as one 'X' record. STORE_ENOMEM when an index op could not be
 * queued or kept in memory (nothing is written then); STORE_ENOSPC when the disk is
 * full, STORE_EIO on any other failure (a failed write() or fsync of RocksDB's log).
 * After either of the last two, nothing written since the last good write may be
 * trusted and RocksDB refuses further writes (its background error; its own automatic
 * resume is turned off): only a new store_open, whose recovery keeps a prefix of the
 * synced writes, writes again. Not concurrent with itself. */
store_err store_batch_write(logd_store *s, store_batch *b, char *err, size_t errcap) STORE_WUR;

/* Bytes free to unprivileged writers on the file system holding the database
 * (statvfs f_bavail). STORE_EIO with a message when statvfs fails. */
store_err store_free_bytes(logd_store *s, uint64_t *bytes, char *err, size_t errcap) STORE_WUR;

/* A merkle_node_reader over the stored hash tiles: node (level, index) is folded
 * from the 2^(level mod 8) hashes of its tile (tile_for_node). Remembers the last
 * tile it read, so runs and neighbouring nodes cost one lookup. Only nodes of the
 * published tree may be asked for: the store holds them all. */
typedef struct store_reader {
  logd_store *store;
  int have;
  unsigned level;
  uint64_t index;
  uint8_t *data;
  size_t len;
  char err[200];
  /* Callers set path = 1 when the reads are an inclusion proof's (the siblings of one
   * leaf's path, bottom up, perhaps with the leaf first): a read from a cached full
   * tile then also copies the siblings of the path above it in that tile, which
   * answer the next reads without a lookup (and their cache misses overlap). */
  int path;
  unsigned memo_level;
  uint64_t memo_index;
  unsigned memo_mask;     /* bit k: memo[k] holds the node at sublevel k, memo_pos[k] */
  uint8_t memo_pos[8];
  uint8_t memo[8][32];
} store_reader;

void store_reader_init(store_reader *r, logd_store *s);
void store_reader_done(store_reader *r);
int store_read_nodes(void *reader, unsigned level, uint64_t index, uint64_t count,
                     uint8_t (*out)[32]);

/* The right edge of the tree of `size` leaves (merkle_edge, for proofs into that tree),
 * from a small cache of recent sizes or else read through r. Only sizes of the
 * published tree may be asked for. 0, or -1 with r->err set. Thread-safe. */
int store_edge(store_reader *r, uint64_t size, merkle_edge *out);

/* Merge the index log once this many keys are unmerged (default 2^18; tests use
 * small values to exercise merges). */
void store_set_index_merge_keys(logd_store *s, size_t n);
/* Index keys not merged yet (in memory and in 'X' records). */
uint64_t store_index_unmerged(logd_store *s);

/* Bytes in SST files (both column families; the WAL is not counted), for /metrics. */
uint64_t store_disk_bytes(logd_store *s);

#endif
