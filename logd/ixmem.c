#include "logd/ixmem.h"

#include <stdlib.h>
#include <string.h>

/* Open addressing, linear probing, at most half full. Keys are SHA-256 prefixes, so
 * their first bytes already hash well. */
struct ixmem {
  ixmem_op *slot; /* tag 0 = empty */
  size_t cap;     /* a power of two */
  size_t count;
};

ixmem *ixmem_new(size_t expect) {
  ixmem *m = calloc(1, sizeof *m);
  if (!m) return NULL;
  m->cap = 1024;
  while (m->cap < 2 * expect && m->cap < ((size_t)1 << 40)) m->cap *= 2;
  m->slot = calloc(m->cap, sizeof *m->slot);
  if (!m->slot) {
    free(m);
    return NULL;
  }
  return m;
}

void ixmem_clear(ixmem *m) {
  memset(m->slot, 0, m->cap * sizeof *m->slot);
  m->count = 0;
}

void ixmem_free(ixmem *m) {
  if (!m) return;
  free(m->slot);
  free(m);
}

static size_t home(const ixmem *m, uint8_t tag, const uint8_t *key) {
  uint64_t h;
  memcpy(&h, key, sizeof h);
  h ^= (uint64_t)tag * 0x9e3779b97f4a7c15ull;
  return (size_t)(h ^ h >> 29) & (m->cap - 1);
}

static ixmem_op *find(const ixmem *m, uint8_t tag, const uint8_t *key) {
  size_t i = home(m, tag, key);
  while (m->slot[i].tag && (m->slot[i].tag != tag || memcmp(m->slot[i].key, key, IXMEM_KEY)))
    i = (i + 1) & (m->cap - 1);
  return &m->slot[i];
}

static int grow(ixmem *m, size_t cap) {
  ixmem_op *old = m->slot;
  size_t oldcap = m->cap;
  ixmem_op *n = calloc(cap, sizeof *n);
  if (!n) return -1;
  m->slot = n;
  m->cap = cap;
  for (size_t i = 0; i < oldcap; i++)
    if (old[i].tag) *find(m, old[i].tag, old[i].key) = old[i];
  free(old);
  return 0;
}

int ixmem_reserve(ixmem *m, size_t n) {
  if (n > SIZE_MAX / 4 - m->count) return -1;
  size_t cap = m->cap;
  while (cap < 2 * (m->count + n)) {
    if (cap > SIZE_MAX / 2 / sizeof *m->slot) return -1;
    cap *= 2;
  }
  return cap == m->cap ? 0 : grow(m, cap);
}

int ixmem_put(ixmem *m, uint8_t tag, const uint8_t key[IXMEM_KEY], uint64_t index) {
  if (ixmem_reserve(m, 1)) return -1;
  ixmem_op *s = find(m, tag, key);
  if (!s->tag) {
    s->tag = tag;
    memcpy(s->key, key, IXMEM_KEY);
    m->count++;
  }
  s->index = index;
  return 0;
}

int ixmem_get(const ixmem *m, uint8_t tag, const uint8_t key[IXMEM_KEY], uint64_t *index) {
  const ixmem_op *s = find(m, tag, key);
  if (!s->tag) return 0;
  *index = s->index;
  return 1;
}

size_t ixmem_count(const ixmem *m) { return m->count; }

static int op_cmp(const void *a, const void *b) {
  const ixmem_op *x = a, *y = b;
  if (x->tag != y->tag) return x->tag < y->tag ? -1 : 1;
  return memcmp(x->key, y->key, IXMEM_KEY);
}

/* The first two key bytes, big-endian: the bucket of a key within its tag. */
static unsigned prefix16(const ixmem_op *o) { return (unsigned)o->key[0] << 8 | o->key[1]; }

/* Sorts a run of keys that share tag and prefix: few of them, unless someone ground
 * SHA-256 prefixes to fill one bucket, which then costs a qsort, not a quadratic. */
static void sort_run(ixmem_op *v, size_t n) {
  if (n > 16) {
    qsort(v, n, sizeof *v, op_cmp);
    return;
  }
  for (size_t i = 1; i < n; i++) {
    ixmem_op x = v[i];
    size_t j = i;
    for (; j > 0 && op_cmp(&v[j - 1], &x) > 0; j--) v[j] = v[j - 1];
    v[j] = x;
  }
}

/* A merge sorts 2^18 keys; qsort's indirect compares were 12% of logd's CPU under
 * add-batch. Keys are SHA-256 prefixes, so two stable counting passes (the first two
 * key bytes, then the tag) leave runs of about two keys, each finished by sort_run. */
int ixmem_sorted(const ixmem *m, ixmem_op **out, size_t *n) {
  *out = NULL;
  *n = 0;
  if (!m->count) return 0;
  ixmem_op *v = malloc(m->count * sizeof *v), *w = malloc(m->count * sizeof *w);
  size_t *cnt = calloc(65536, sizeof *cnt), tc[256] = {0};
  if (!v || !w || !cnt) {
    free(v), free(w), free(cnt);
    return -1;
  }
  size_t k = 0;
  for (size_t i = 0; i < m->cap; i++)
    if (m->slot[i].tag) v[k++] = m->slot[i];
  for (size_t i = 0; i < k; i++) cnt[prefix16(&v[i])]++, tc[v[i].tag]++;
  for (size_t b = 0, at = 0; b < 65536; b++) {
    size_t c = cnt[b];
    cnt[b] = at, at += c;
  }
  for (size_t b = 0, at = 0; b < 256; b++) {
    size_t c = tc[b];
    tc[b] = at, at += c;
  }
  for (size_t i = 0; i < k; i++) w[cnt[prefix16(&v[i])]++] = v[i];
  for (size_t i = 0; i < k; i++) v[tc[w[i].tag]++] = w[i];
  free(w);
  free(cnt);
  for (size_t a = 0; a < k;) {
    size_t b = a + 1;
    while (b < k && v[b].tag == v[a].tag && prefix16(&v[b]) == prefix16(&v[a])) b++;
    sort_run(v + a, b - a);
    a = b;
  }
  *out = v;
  *n = k;
  return 0;
}
