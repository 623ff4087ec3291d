/* ixmem.h: an in-memory map of index keys (tag + 16-byte key -> entry index).
 *
 * Contract: holds the dedup ('D') and leaf-hash ('H') keys that are durable in the
 * store's append-only index log but not yet merged into its sorted index (see
 * store.h). A put of an existing (tag, key) replaces its index, as a RocksDB put
 * would. Not thread-safe: the store locks around it. Memory is bounded by the
 * store, which merges and drops a table once it holds enough keys. */
#ifndef XT_LOGD_IXMEM_H
#define XT_LOGD_IXMEM_H

#include <stddef.h>
#include <stdint.h>

#define IXMEM_KEY 16

typedef struct ixmem ixmem;

typedef struct ixmem_op {
  uint8_t key[IXMEM_KEY];
  uint64_t index;
  uint8_t tag; /* non-zero */
} ixmem_op;

/* An empty table with room for `expect` keys before it grows (0: a small one), or
 * NULL when out of memory. */
ixmem *ixmem_new(size_t expect);
/* Empties m, keeping its room (a table is reused rather than grown again). */
void ixmem_clear(ixmem *m);
/* Frees m (NULL is ignored). */
void ixmem_free(ixmem *m);
/* Makes room for n more keys so that the next n puts cannot fail: 0, or -1 when out
 * of memory (m unchanged). */
int ixmem_reserve(ixmem *m, size_t n);
/* Adds or replaces (tag, key) -> index; tag must be non-zero. 0, or -1 when out of
 * memory (m unchanged). */
int ixmem_put(ixmem *m, uint8_t tag, const uint8_t key[IXMEM_KEY], uint64_t index);
/* 1 and *index when (tag, key) is present, else 0. */
int ixmem_get(const ixmem *m, uint8_t tag, const uint8_t key[IXMEM_KEY], uint64_t *index);
/* Number of keys held. */
size_t ixmem_count(const ixmem *m);
/* Every key, sorted by (tag, key bytes), into *out (malloc'd, the caller frees it;
 * NULL when empty) and *n. 0, or -1 when out of memory. */
int ixmem_sorted(const ixmem *m, ixmem_op **out, size_t *n);

#endif
