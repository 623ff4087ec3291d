#include "logd/seq_integrate.h"

#include <stdlib.h>
#include <string.h>

#include "logd/event.h"

#define TILE_BYTES ((size_t)TILE_WIDTH * MERKLE_HASH_SIZE)
#define MAX_LEAVES (UINT64_C(1) << 63)

typedef struct integ_slot {
  uint8_t key[INTEG_KEY];
  uint64_t index;
  uint8_t leaf[MERKLE_HASH_SIZE];
  int used;
} integ_slot;

const char *integ_err_str(integ_err e) {
  switch (e) {
  case INTEG_OK: return "ok";
  case INTEG_ENOMEM: return "out of memory";
  case INTEG_EFULL: return "the log is full (2^63 entries)";
  }
  return "unknown integrate error";
}

void integ_tree_init(integ_tree *t) {
  memset(t, 0, sizeof *t);
  merkle_tree_init(&t->range);
}

void integ_tree_free(integ_tree *t) {
  if (!t) return;
  free(t->bundle);
  integ_tree_init(t);
}

static int grow(void **p, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return 0;
  if (need > SIZE_MAX / elem) return -1;
  void *n = realloc(*p, need * elem);
  if (!n) return -1;
  *p = n;
  *cap = need;
  return 0;
}

integ_err integ_tree_set_bundle(integ_tree *t, const uint8_t *b, size_t len) {
  if (grow((void **)&t->bundle, &t->bundle_cap, len, 1)) return INTEG_ENOMEM;
  if (len) memcpy(t->bundle, b, len);
  t->bundle_len = len;
  return INTEG_OK;
}

void integ_out_init(integ_out *o) { memset(o, 0, sizeof *o); }

void integ_out_free(integ_out *o) {
  if (!o) return;
  free(o->full), free(o->ops), free(o->bytes), free(o->map), free(o->entry);
  integ_out_init(o);
}

static integ_slot *slot_of(integ_slot *m, size_t cap, const uint8_t *key) {
  uint64_t h;
  memcpy(&h, key, sizeof h);
  size_t i = (size_t)h & (cap - 1);
  while (m[i].used && memcmp(m[i].key, key, INTEG_KEY)) i = (i + 1) & (cap - 1);
  return &m[i];
}

int integ_out_find(const integ_out *o, const uint8_t *key, uint64_t *index,
                   uint8_t leaf[MERKLE_HASH_SIZE]) {
  if (!o->map || !o->map_cap) return 0;
  const integ_slot *s = slot_of(o->map, o->map_cap, key);
  if (!s->used) return 0;
  *index = s->index;
  memcpy(leaf, s->leaf, MERKLE_HASH_SIZE);
  return 1;
}

void integ_out_forget(integ_out *o) {
  if (o->map) memset(o->map, 0, o->map_cap * sizeof *o->map);
}

/* Nodes of level 8L among the first n leaves. */
static uint64_t nodes_at(unsigned L, uint64_t n) { return 8 * L < 64 ? n >> (8 * L) : 0; }

/* Completed tiles of level L when n leaves become n + add. */
static uint64_t tiles_done(unsigned L, uint64_t n, uint64_t add) {
  return nodes_at(L, n + add) / TILE_WIDTH - nodes_at(L, n) / TILE_WIDTH;
}

typedef struct run_ctx {
  integ_tree *t;
  integ_out *o;
  size_t bytes_len;
} run_ctx;

static void add_full(run_ctx *c, int level, uint64_t index, const uint8_t *data, size_t len) {
  integ_out *o = c->o;
  uint8_t *dst = o->bytes + c->bytes_len;
  if (len) memcpy(dst, data, len);
  c->bytes_len += len;
  o->full[o->nfull++] = (integ_tile){level, index, dst, len};
}

/* merkle_tree_append's sink: the right-edge tiles take every node of a tile level. */
static void sink(void *ctx, unsigned level, uint64_t index, const uint8_t hash[MERKLE_HASH_SIZE]) {
  run_ctx *c = ctx;
  if (level % TILE_HEIGHT) return;
  unsigned L = level / TILE_HEIGHT;
  unsigned off = (unsigned)(index % TILE_WIDTH);
  memcpy(c->t->edge[L][off], hash, MERKLE_HASH_SIZE);
  if (off == TILE_WIDTH - 1) add_full(c, (int)L, index / TILE_WIDTH, &c->t->edge[L][0][0], TILE_BYTES);
}

/* Checks sizes (refusing groups), then reserves every buffer the run can need, so
 * that nothing fails once the tree is touched. */
static integ_err reserve(integ_tree *t, integ_group *g, size_t ng, uint64_t ts_ms, size_t max_entry,
                         integ_out *o) {
  size_t total = 0, nnew = 0, framed = 0, maxlen = 0;
  if (max_entry > EVENT_ENTRY_HARD_MAX) max_entry = EVENT_ENTRY_HARD_MAX;
  for (size_t k = 0; k < ng; k++) {
    size_t sum = 0;
    g[k].refused = 0;
    total += g[k].count;
    for (size_t i = 0; i < g[k].count; i++) {
      size_t len = event_entry_len(g[k].canon_len[i], g[k].submitter, ts_ms);
      if (len > max_entry) {
        g[k].refused = 1;
        g[k].refused_event = i;
        g[k].refused_len = len;
        break;
      }
      sum += len + 2;
      if (len > maxlen) maxlen = len;
    }
    if (g[k].refused) continue;
    nnew += g[k].count;
    framed += sum;
  }
  uint64_t size = t->range.size;
  if (nnew > MAX_LEAVES - size) return INTEG_EFULL;
  size_t ntiles = 0, hash_bytes = 0;
  for (unsigned L = 0; L < INTEG_LEVELS; L++) {
    size_t d = (size_t)tiles_done(L, size, nnew);
    ntiles += d;
    hash_bytes += d * TILE_BYTES;
  }
  ntiles += (size_t)tiles_done(0, size, nnew); /* the bundles */
  size_t map = 64;
  while (map < 2 * total) map *= 2;
  /* The bundle holds at most a tile's worth of entries: what it has plus the rest of
   * its tile, or after it completes, one tile of this batch's entries. */
  size_t room = (size_t)(TILE_WIDTH - size % TILE_WIDTH) * (maxlen + 2);
  size_t before = t->bundle_len + (framed < room ? framed : room);
  size_t after = (size_t)TILE_WIDTH * (maxlen + 2);
  if (after > framed) after = framed;
  size_t bundle = before > after ? before : after;
  if (grow((void **)&o->full, &o->full_cap, ntiles ? ntiles : 1, sizeof *o->full) ||
      grow((void **)&o->ops, &o->ops_cap, nnew ? 2 * nnew : 1, sizeof *o->ops) ||
      grow((void **)&o->bytes, &o->bytes_cap, hash_bytes + t->bundle_len + framed + 1, 1) ||
      grow((void **)&o->map, &o->map_alloc, map, sizeof *o->map) ||
      grow((void **)&t->bundle, &t->bundle_cap, bundle ? bundle : 1, 1))
    return INTEG_ENOMEM;
  if (!o->entry && !(o->entry = malloc(EVENT_ENTRY_HARD_MAX + 1))) return INTEG_ENOMEM;
  /* Sized for this batch, not the largest ever: a batch of 60 after one of 8,000
   * clears 4 KiB, not 700. */
  o->map_cap = map;
  memset(o->map, 0, map * sizeof *o->map);
  return INTEG_OK;
}

static void remember(integ_slot *s, const uint8_t *key, uint64_t index, const uint8_t *leaf) {
  memcpy(s->key, key, INTEG_KEY);
  memcpy(s->leaf, leaf, MERKLE_HASH_SIZE);
  s->index = index;
  s->used = 1;
}

/* Appends event i of g as a new entry. Cannot fail: reserve() made room. */
static void append(run_ctx *c, integ_group *g, size_t i, uint64_t ts_ms, uint64_t *tail_first,
                   size_t *tail_off) {
  integ_tree *t = c->t;
  integ_out *o = c->o;
  size_t len = event_entry_build(o->entry, EVENT_ENTRY_HARD_MAX + 1, g->canon[i], g->canon_len[i],
                                 g->submitter, ts_ms);
  uint64_t idx = t->range.size;
  merkle_leaf_hash((const uint8_t *)o->entry, len, g->leaf[i]);
  (void)merkle_tree_append(&t->range, g->leaf[i], sink, c);
  (void)tile_bundle_append(t->bundle, t->bundle_cap, &t->bundle_len, (const uint8_t *)o->entry, len);
  o->new_bytes += len;
  if (idx % TILE_WIDTH == TILE_WIDTH - 1) {
    add_full(c, TILE_LEVEL_ENTRIES, idx / TILE_WIDTH, t->bundle, t->bundle_len);
    t->bundle_len = 0;
    *tail_first = idx + 1;
    *tail_off = 0;
  }
  o->ops[o->nops++] = (integ_op){'D', {0}, idx};
  memcpy(o->ops[o->nops - 1].key, g->dedup[i], INTEG_KEY);
  o->ops[o->nops++] = (integ_op){'H', {0}, idx};
  memcpy(o->ops[o->nops - 1].key, g->leaf[i], INTEG_KEY);
  g->index[i] = idx;
  g->dup[i] = INTEG_NEW;
}

integ_err integ_run(integ_tree *t, integ_group *groups, size_t ngroups, uint64_t ts_ms,
                    size_t max_entry_bytes, integ_out *out) {
  out->nfull = out->nops = out->npartial = 0;
  out->new_bytes = 0;
  out->tail_hashes = out->tail_bundle = NULL;
  out->tail_hashes_len = out->tail_bundle_len = 0;
  integ_err e = reserve(t, groups, ngroups, ts_ms, max_entry_bytes, out);
  if (e) {
    integ_out_forget(out);
    return e;
  }
  run_ctx c = {t, out, 0};
  uint64_t start = t->range.size, tail_first = start;
  size_t tail_off = t->bundle_len;
  out->start_size = start;
  for (size_t k = 0; k < ngroups; k++) {
    integ_group *g = &groups[k];
    if (g->refused) continue;
    for (size_t i = 0; i < g->count; i++) {
      integ_slot *s = slot_of(out->map, out->map_cap, g->dedup[i]);
      if (s->used) {
        g->index[i] = s->index;
        memcpy(g->leaf[i], s->leaf, MERKLE_HASH_SIZE);
        g->dup[i] = INTEG_DUP;
      } else if (g->dup[i] == INTEG_PRIOR) {
        g->dup[i] = INTEG_DUP;
        remember(s, g->dedup[i], g->index[i], g->leaf[i]);
      } else {
        append(&c, g, i, ts_ms, &tail_first, &tail_off);
        remember(s, g->dedup[i], g->index[i], g->leaf[i]);
      }
    }
  }
  uint64_t size = t->range.size;
  out->size = size;
  merkle_tree_root(&t->range, out->root);
  for (unsigned L = 1; L < INTEG_LEVELS; L++) {
    uint64_t n = nodes_at(L, size);
    unsigned w = (unsigned)(n % TILE_WIDTH);
    if (w && n != nodes_at(L, start))
      out->partial[out->npartial++] = (integ_tile){(int)L, n / TILE_WIDTH, &t->edge[L][0][0],
                                                   (size_t)w * MERKLE_HASH_SIZE};
  }
  out->tail_first = tail_first;
  if (size > tail_first) {
    unsigned from = (unsigned)(tail_first % TILE_WIDTH), to = (unsigned)(size % TILE_WIDTH);
    out->tail_hashes = &t->edge[0][from][0];
    out->tail_hashes_len = (size_t)(to - from) * MERKLE_HASH_SIZE;
    out->tail_bundle = t->bundle + tail_off;
    out->tail_bundle_len = t->bundle_len - tail_off;
  }
  return INTEG_OK;
}
