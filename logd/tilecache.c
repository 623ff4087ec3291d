#include "logd/tilecache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define SETS 1024
#define WAYS 4
#define LOCKS 64

typedef struct item {
  tc_item pub; /* first: a tc_item pointer is the item's */
  atomic_uint refs;
  unsigned level;
  uint64_t index;
  uint64_t stamp;
  uint8_t bytes[];
} item;

struct tilecache {
  size_t max_bytes;
  atomic_size_t bytes;
  atomic_ullong clock;
  pthread_mutex_t mu[LOCKS];
  item *slot[SETS * WAYS];
};

tilecache *tilecache_new(size_t max_bytes) {
  tilecache *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->max_bytes = max_bytes;
  for (int i = 0; i < LOCKS; i++) pthread_mutex_init(&c->mu[i], NULL);
  return c;
}

void tilecache_release(const tc_item *it) {
  if (!it) return;
  item *x = (item *)(uintptr_t)it;
  if (atomic_fetch_sub(&x->refs, 1) == 1) free(x);
}

void tilecache_free(tilecache *c) {
  if (!c) return;
  for (size_t i = 0; i < SETS * WAYS; i++) tilecache_release(c->slot[i] ? &c->slot[i]->pub : NULL);
  for (int i = 0; i < LOCKS; i++) pthread_mutex_destroy(&c->mu[i]);
  free(c);
}

static size_t set_of(unsigned level, uint64_t index) {
  uint64_t h = index * 0x9e3779b97f4a7c15ull ^ (uint64_t)level * 0xbf58476d1ce4e5b9ull;
  return (size_t)(h >> 40) % SETS;
}

const tc_item *tilecache_get(tilecache *c, unsigned level, uint64_t index) {
  size_t set = set_of(level, index);
  item *hit = NULL;
  pthread_mutex_lock(&c->mu[set % LOCKS]);
  for (size_t w = 0; w < WAYS; w++) {
    item *x = c->slot[set * WAYS + w];
    if (x && x->level == level && x->index == index) {
      atomic_fetch_add(&x->refs, 1);
      x->stamp = atomic_fetch_add_explicit(&c->clock, 1, memory_order_relaxed);
      hit = x;
      break;
    }
  }
  pthread_mutex_unlock(&c->mu[set % LOCKS]);
  return hit ? &hit->pub : NULL;
}

const tc_item *tilecache_put(tilecache *c, unsigned level, uint64_t index, const uint8_t *data,
                             size_t len) {
  if (len > SIZE_MAX - sizeof(item)) return NULL;
  item *x = malloc(sizeof *x + len);
  if (!x) return NULL;
  memcpy(x->bytes, data, len);
  x->pub.len = len;
  x->pub.data = x->bytes;
  x->level = level;
  x->index = index;
  atomic_init(&x->refs, 1);
  if (atomic_load(&c->bytes) + len > c->max_bytes) return &x->pub; /* over bounds: not kept */
  size_t set = set_of(level, index);
  item *old = NULL;
  pthread_mutex_lock(&c->mu[set % LOCKS]);
  size_t victim = 0;
  for (size_t w = 0; w < WAYS; w++) {
    item *y = c->slot[set * WAYS + w];
    if (!y || (y->level == level && y->index == index)) {
      victim = w;
      break;
    }
    if (y->stamp < c->slot[set * WAYS + victim]->stamp) victim = w;
  }
  old = c->slot[set * WAYS + victim];
  x->stamp = atomic_fetch_add_explicit(&c->clock, 1, memory_order_relaxed);
  atomic_fetch_add(&x->refs, 1); /* the cache's */
  c->slot[set * WAYS + victim] = x;
  atomic_fetch_add(&c->bytes, len);
  if (old) atomic_fetch_sub(&c->bytes, old->pub.len);
  pthread_mutex_unlock(&c->mu[set % LOCKS]);
  tilecache_release(old ? &old->pub : NULL);
  return &x->pub;
}
