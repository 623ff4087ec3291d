/* tilecache.h: the bytes of full tiles and entry bundles, kept for serving.
 *
 * Contract: only immutable content may be put (a full hash tile, a full bundle), so a
 * cached item never goes stale. Items are reference-counted and read-only: a served
 * response holds a reference until it is sent (zero-copy), eviction only drops the
 * cache's own. Memory is bounded by max_bytes (items are not cached past it, but
 * still handed out). Thread-safe. */
#ifndef XT_LOGD_TILECACHE_H
#define XT_LOGD_TILECACHE_H

#include <stddef.h>
#include <stdint.h>

typedef struct tilecache tilecache;
typedef struct tc_item {
  size_t len;
  const uint8_t *data;
} tc_item;

/* NULL when out of memory. */
tilecache *tilecache_new(size_t max_bytes);
/* Frees c and the cache's references (items still held stay valid). NULL is ignored. */
void tilecache_free(tilecache *c);
/* The item for (level, index) with a reference for the caller, or NULL when absent. */
const tc_item *tilecache_get(tilecache *c, unsigned level, uint64_t index);
/* Copies data into a new item for (level, index), caches it when within bounds, and
 * returns it with a reference for the caller; NULL when out of memory. */
const tc_item *tilecache_put(tilecache *c, unsigned level, uint64_t index, const uint8_t *data,
                             size_t len);
/* Drops the caller's reference (NULL is ignored). */
void tilecache_release(const tc_item *it);

#endif
