/* logd's pure integrate step (logd/seq_integrate.h) on its own, against merkle/: batch
 * after batch (sizes crossing 255/256/257 and 65,536, where a level-1 tile completes),
 * the root equals merkle_root_at over an independently built node table, and every
 * tile and entry bundle a store would hold after applying the outputs (full tiles,
 * rewritten partial tiles of levels >= 1, level-0 and bundle chunks deleted when their
 * tile completes) is byte-identical to the nodes and tile_bundle_append framing of the
 * same leaves, and authenticates through merkle/tile.c's tile reader. Also: a tree
 * reloaded from those stored tiles goes on identically; dedup within a batch and
 * against earlier batches (INTEG_PRIOR); a group with an oversized entry is refused
 * whole; a batch that cannot fit changes nothing. No RocksDB, no threads. */
#include <stdlib.h>

#include "logd/event.h"
#include "logd/seq_integrate.h"
#include "merkle/merkle.h"
#include "merkle/tile.h"
#include "tests/lib/check.h"

typedef uint8_t hash_t[MERKLE_HASH_SIZE];

#define MAXN 66000
#define TS 1700000000000ull

/* ---- the reference: every node of the tree, built with merkle_node_hash ---- */

static hash_t *ref[64];
static uint64_t nref; /* leaves */
static uint8_t **ref_entry;
static size_t *ref_len;

static void ref_add(const uint8_t *entry, size_t len) {
  ref_entry[nref] = malloc(len);
  memcpy(ref_entry[nref], entry, len);
  ref_len[nref] = len;
  merkle_leaf_hash(entry, len, ref[0][nref]);
  uint64_t i = nref++;
  for (unsigned l = 1; l < 64 && (i & 1); l++, i >>= 1)
    merkle_node_hash(ref[l - 1][i - 1], ref[l - 1][i], ref[l][i >> 1]);
}

static int ref_reader(void *ctx, unsigned level, uint64_t index, uint64_t count, hash_t *out) {
  (void)ctx;
  if (level >= 17 || ((index + count) << level) > nref) return -1;
  memcpy(out, ref[level][index], count * sizeof *out);
  return 0;
}

/* ---- a store that applies integ_out as logd/sequencer.c does ---- */

typedef struct stile {
  int used;
  uint8_t *data;
  size_t len;
} stile;

#define NTILES 300
static stile tiles[INTEG_LEVELS][NTILES]; /* hash tiles */
static stile bundles[NTILES];
/* The chunks of the right-edge level-0 tile and bundle, concatenated in order. */
static uint8_t chunk_h[TILE_WIDTH * 32];
static size_t chunk_hlen;
static uint8_t *chunk_b;
static size_t chunk_blen;
static uint64_t chunk_tile = UINT64_MAX;

static void put(stile *t, const uint8_t *d, size_t len) {
  free(t->data);
  t->data = malloc(len ? len : 1);
  memcpy(t->data, d, len);
  t->len = len;
  t->used = 1;
}

static void store_reset(void) {
  for (int l = 0; l < INTEG_LEVELS; l++)
    for (int i = 0; i < NTILES; i++) free(tiles[l][i].data), tiles[l][i] = (stile){0};
  for (int i = 0; i < NTILES; i++) free(bundles[i].data), bundles[i] = (stile){0};
  free(chunk_b);
  chunk_b = NULL;
  chunk_hlen = chunk_blen = 0;
  chunk_tile = UINT64_MAX;
}

static void apply(const integ_out *o) {
  for (size_t k = 0; k < o->nfull; k++) {
    const integ_tile *t = &o->full[k];
    CHECK_FATAL(t->index < NTILES);
    if (t->level == TILE_LEVEL_ENTRIES) {
      put(&bundles[t->index], t->data, t->len);
    } else {
      CHECK(t->len == TILE_WIDTH * 32);
      put(&tiles[t->level][t->index], t->data, t->len);
    }
    if (t->level == 0 && chunk_tile == t->index) chunk_hlen = chunk_blen = 0, chunk_tile = UINT64_MAX;
  }
  for (size_t k = 0; k < o->npartial; k++) {
    const integ_tile *t = &o->partial[k];
    CHECK(t->level >= 1 && t->len < TILE_WIDTH * 32 && t->len % 32 == 0);
    put(&tiles[t->level][t->index], t->data, t->len);
  }
  if (o->tail_first < o->size) {
    uint64_t tile = o->tail_first / TILE_WIDTH;
    CHECK(o->size / TILE_WIDTH == tile); /* the tail never spans tiles */
    if (chunk_tile != tile) {
      CHECK(o->tail_first % TILE_WIDTH == 0); /* a new tile starts with its first leaf */
      chunk_hlen = chunk_blen = 0;
      chunk_tile = tile;
    }
    CHECK(chunk_hlen == (o->tail_first % TILE_WIDTH) * 32); /* chunks are contiguous */
    CHECK(o->tail_hashes_len == (o->size - o->tail_first) * 32);
    memcpy(chunk_h + chunk_hlen, o->tail_hashes, o->tail_hashes_len);
    chunk_hlen += o->tail_hashes_len;
    uint8_t *nb = realloc(chunk_b, chunk_blen + o->tail_bundle_len);
    CHECK_FATAL(nb != NULL);
    chunk_b = nb;
    memcpy(chunk_b + chunk_blen, o->tail_bundle, o->tail_bundle_len);
    chunk_blen += o->tail_bundle_len;
  } else {
    CHECK(o->tail_hashes_len == 0 && o->tail_bundle_len == 0);
  }
}

/* The stored bytes of tile (level, index) or bundle (TILE_LEVEL_ENTRIES): whole,
 * partial, or assembled from chunks. */
static int stored(int level, uint64_t index, const uint8_t **d, size_t *len) {
  if (index >= NTILES) return -1;
  stile *t = level == TILE_LEVEL_ENTRIES ? &bundles[index] : &tiles[level][index];
  if (t->used) {
    *d = t->data, *len = t->len;
    return 0;
  }
  if ((level == 0 || level == TILE_LEVEL_ENTRIES) && chunk_tile == index) {
    *d = level == 0 ? chunk_h : chunk_b;
    *len = level == 0 ? chunk_hlen : chunk_blen;
    return 0;
  }
  return -1;
}

static int fetch(void *ctx, const tile_id *t, uint8_t **data, size_t *len, char *err, size_t errcap) {
  (void)ctx;
  const uint8_t *d;
  size_t n, want;
  if (stored(t->level, t->index, &d, &n) || tile_stored_prefix(t, d, n, &want)) {
    snprintf(err, errcap, "no tile %d/%llu", t->level, (unsigned long long)t->index);
    return -1;
  }
  *data = malloc(want ? want : 1);
  memcpy(*data, d, want);
  *len = want;
  return 0;
}

/* Every tile and bundle of the tree of nref leaves, against the reference. */
static void check_store(void) {
  for (int L = 0; L < INTEG_LEVELS; L++) {
    uint64_t nodes = 8 * L < 64 ? nref >> (8 * L) : 0;
    for (uint64_t N = 0; N * TILE_WIDTH < nodes; N++) {
      unsigned w = tile_width_at(L, N, nref);
      const uint8_t *d;
      size_t len;
      CHECK_FATAL(stored(L, N, &d, &len) == 0);
      CHECK_FATAL(len == (size_t)w * 32);
      CHECK_EQ_MEM(d, ref[8 * L][N * TILE_WIDTH], len);
    }
  }
  uint8_t *b = malloc(TILE_WIDTH * (EVENT_ENTRY_HARD_MAX + 2));
  for (uint64_t N = 0; N * TILE_WIDTH < nref; N++) {
    unsigned w = tile_width_at(TILE_LEVEL_ENTRIES, N, nref);
    size_t blen = 0;
    for (unsigned j = 0; j < w; j++)
      CHECK(tile_bundle_append(b, TILE_WIDTH * (EVENT_ENTRY_HARD_MAX + 2), &blen,
                               ref_entry[N * TILE_WIDTH + j], ref_len[N * TILE_WIDTH + j]) == MERKLE_OK);
    const uint8_t *d;
    size_t len;
    CHECK_FATAL(stored(TILE_LEVEL_ENTRIES, N, &d, &len) == 0);
    CHECK(len == blen);
    if (len == blen) CHECK_EQ_MEM(d, b, len);
  }
  free(b);
  /* merkle/tile.c's reader authenticates every tile against the reference root. */
  hash_t root;
  CHECK_FATAL(merkle_root_at(nref, ref_reader, NULL, root) == MERKLE_OK);
  tile_reader *r = tile_reader_new(nref, root, fetch, NULL);
  CHECK_FATAL(r != NULL);
  for (uint64_t N = 0; N * TILE_WIDTH < nref; N += (N < 4 ? 1 : 37)) {
    const tile_bundle_entry *ents;
    size_t count;
    CHECK(tile_reader_entries(r, N, &ents, &count) == MERKLE_OK);
    CHECK(count == tile_width_at(TILE_LEVEL_ENTRIES, N, nref));
  }
  uint64_t last = (nref - 1) / TILE_WIDTH;
  const tile_bundle_entry *ents;
  size_t count;
  CHECK(tile_reader_entries(r, last, &ents, &count) == MERKLE_OK);
  if (nref > 1) {
    hash_t proof[MERKLE_MAX_PROOF];
    size_t plen;
    CHECK(merkle_inclusion_proof(nref / 2, nref, tile_reader_nodes, r, proof, MERKLE_MAX_PROOF, &plen) == MERKLE_OK);
    CHECK(merkle_verify_inclusion(nref / 2, nref, ref[0][nref / 2], (const hash_t *)proof, plen, root) == MERKLE_OK);
  }
  tile_reader_free(r);
}

/* ---- batches of distinct events ---- */

typedef struct batch {
  size_t n;
  char **canon;
  size_t *canon_len;
  uint8_t (*dedup)[32];
  uint64_t *index;
  hash_t *leaf;
  uint8_t *dup;
} batch;

static uint64_t next_event;

static void batch_make(batch *b, size_t n, size_t pad) {
  b->n = n;
  b->canon = calloc(n, sizeof *b->canon);
  b->canon_len = calloc(n, sizeof *b->canon_len);
  b->dedup = calloc(n, 32);
  b->index = calloc(n, sizeof *b->index);
  b->leaf = calloc(n, sizeof *b->leaf);
  b->dup = calloc(n, 1);
  for (size_t i = 0; i < n; i++) {
    uint64_t e = next_event++;
    b->canon[i] = malloc(64 + pad);
    int len = snprintf(b->canon[i], 64, "{\"n\":%llu,\"pad\":\"", (unsigned long long)e);
    memset(b->canon[i] + len, 'x', pad);
    memcpy(b->canon[i] + len + pad, "\",\"type\":\"t\"}", 14);
    b->canon_len[i] = (size_t)len + pad + 13;
    /* A key per event: its number, spread. */
    uint64_t x = e * 0x9e3779b97f4a7c15ull + 1;
    for (int k = 0; k < 32; k++) {
      x ^= x >> 29;
      x *= 0xbf58476d1ce4e5b9ull;
      b->dedup[i][k] = (uint8_t)(x >> 56);
    }
  }
}

static void batch_free(batch *b) {
  for (size_t i = 0; i < b->n; i++) free(b->canon[i]);
  free(b->canon), free(b->canon_len), free(b->dedup), free(b->index), free(b->leaf), free(b->dup);
}

static integ_group group_of(batch *b, size_t from, size_t n) {
  return (integ_group){.submitter = "alice", .count = n, .canon = b->canon + from,
                       .canon_len = b->canon_len + from, .dedup = (const uint8_t (*)[32])(b->dedup + from),
                       .index = b->index + from, .leaf = b->leaf + from, .dup = b->dup + from};
}

/* Integrates n new events (as three groups when n allows) and checks the result. */
static void run_new(integ_tree *t, integ_out *o, size_t n, uint64_t ts) {
  batch b;
  batch_make(&b, n, nref % 7 * 40);
  integ_group g[3];
  size_t ng = 0, a = n / 3, c = n - 2 * a;
  if (a) {
    g[ng++] = group_of(&b, 0, a);
    g[ng++] = group_of(&b, a, a);
  }
  g[ng++] = group_of(&b, 2 * a, c);
  uint64_t start = nref;
  CHECK_FATAL(integ_run(t, g, ng, ts, 65535, o) == INTEG_OK);
  char entry[EVENT_ENTRY_HARD_MAX + 1];
  for (size_t i = 0; i < n; i++) {
    size_t len = event_entry_build(entry, sizeof entry, b.canon[i], b.canon_len[i], "alice", ts);
    ref_add((const uint8_t *)entry, len);
    CHECK(b.dup[i] == INTEG_NEW && b.index[i] == start + i);
    CHECK_EQ_MEM(b.leaf[i], ref[0][start + i], 32);
  }
  for (size_t k = 0; k < ng; k++) CHECK(!g[k].refused);
  CHECK(o->start_size == start && o->size == nref && t->range.size == nref);
  CHECK(o->nops == 2 * n);
  for (size_t i = 0; i < o->nops; i++) {
    const integ_op *op = &o->ops[i];
    CHECK(op->tag == (i % 2 ? 'H' : 'D') && op->index == start + i / 2);
    CHECK_EQ_MEM(op->key, i % 2 ? ref[0][start + i / 2] : b.dedup[i / 2], INTEG_KEY);
  }
  hash_t root;
  CHECK(merkle_root_at(nref, ref_reader, NULL, root) == MERKLE_OK);
  CHECK_EQ_MEM(o->root, root, 32);
  apply(o);
  batch_free(&b);
}

static void ref_init(void) {
  for (unsigned l = 0; l < 17; l++) ref[l] = calloc((MAXN >> l) + 1, 32);
  ref_entry = calloc(MAXN, sizeof *ref_entry);
  ref_len = calloc(MAXN, sizeof *ref_len);
  nref = 0;
  next_event = 0;
  store_reset();
}

static void ref_done(void) {
  for (uint64_t i = 0; i < nref; i++) free(ref_entry[i]);
  for (unsigned l = 0; l < 17; l++) free(ref[l]), ref[l] = NULL;
  free(ref_entry), free(ref_len);
  store_reset();
}

/* A tree rebuilt from the stored tiles, as logd's start-up does. */
static void reload(integ_tree *t) {
  integ_tree_free(t);
  CHECK_FATAL(merkle_tree_restore(&t->range, nref, ref_reader, NULL) == MERKLE_OK);
  for (int L = 0; L < INTEG_LEVELS; L++) {
    uint64_t n = 8 * L < 64 ? nref >> (8 * L) : 0;
    const uint8_t *d;
    size_t len;
    if (n % TILE_WIDTH && stored(L, n / TILE_WIDTH, &d, &len) == 0) memcpy(t->edge[L], d, len);
  }
  const uint8_t *d = NULL;
  size_t len = 0;
  if (nref % TILE_WIDTH) CHECK_FATAL(stored(TILE_LEVEL_ENTRIES, nref / TILE_WIDTH, &d, &len) == 0);
  CHECK_FATAL(integ_tree_set_bundle(t, d, len) == INTEG_OK);
}

static void test_boundaries(void) {
  ref_init();
  integ_tree t;
  integ_out o;
  integ_tree_init(&t);
  integ_out_init(&o);
  /* Sizes 1, 255, 256, 257, 511, 513, 768, 1000, then to 65,535, 65,536, 65,537, 66,000. */
  static const size_t steps[] = {1, 254, 1, 1, 254, 2, 255, 232};
  for (size_t k = 0; k < sizeof steps / sizeof *steps; k++) {
    run_new(&t, &o, steps[k], TS + k);
    check_store();
  }
  reload(&t);
  while (nref + 4000 < 65535) run_new(&t, &o, 4000, TS + nref);
  run_new(&t, &o, 65535 - nref, TS + 1);
  check_store();
  CHECK(o.npartial >= 1 && o.partial[0].level == 1 && o.partial[0].len == 255 * 32);
  run_new(&t, &o, 1, TS + 2); /* 65,536: level-0 tile 255, level-1 tile 0 complete */
  CHECK(o.npartial == 1 && o.partial[0].level == 2 && o.partial[0].len == 32);
  size_t done0 = 0, done1 = 0, doneb = 0;
  for (size_t k = 0; k < o.nfull; k++) {
    done0 += o.full[k].level == 0 && o.full[k].index == 255;
    done1 += o.full[k].level == 1 && o.full[k].index == 0;
    doneb += o.full[k].level == TILE_LEVEL_ENTRIES && o.full[k].index == 255;
  }
  CHECK(done0 == 1 && done1 == 1 && doneb == 1 && o.nfull == 3);
  CHECK(o.tail_first == 65536 && o.tail_hashes_len == 0);
  check_store();
  reload(&t);
  run_new(&t, &o, 1, TS + 3);
  run_new(&t, &o, MAXN - nref, TS + 4);
  check_store();
  integ_tree_free(&t);
  integ_out_free(&o);
  ref_done();
}

static void test_dedup(void) {
  ref_init();
  integ_tree t;
  integ_out o;
  integ_tree_init(&t);
  integ_out_init(&o);
  run_new(&t, &o, 10, TS); /* indices 0..9 */
  batch b;
  batch_make(&b, 6, 0);
  /* Events: 0 = new A, 1 = copy of A, 2 = prior (logged at 3), 3 = copy of 2,
   * 4 = new B, 5 = copy of B (in the second group). */
  memcpy(b.dedup[1], b.dedup[0], 32);
  b.dup[2] = INTEG_PRIOR;
  b.index[2] = 3;
  memcpy(b.leaf[2], ref[0][3], 32);
  memcpy(b.dedup[3], b.dedup[2], 32);
  memcpy(b.dedup[5], b.dedup[4], 32);
  integ_group g[2] = {group_of(&b, 0, 4), group_of(&b, 4, 2)};
  CHECK_FATAL(integ_run(&t, g, 2, TS, 65535, &o) == INTEG_OK);
  CHECK(b.dup[0] == INTEG_NEW && b.index[0] == 10);
  CHECK(b.dup[1] == INTEG_DUP && b.index[1] == 10 && memcmp(b.leaf[1], b.leaf[0], 32) == 0);
  CHECK(b.dup[2] == INTEG_DUP && b.index[2] == 3 && memcmp(b.leaf[2], ref[0][3], 32) == 0);
  CHECK(b.dup[3] == INTEG_DUP && b.index[3] == 3 && memcmp(b.leaf[3], ref[0][3], 32) == 0);
  CHECK(b.dup[4] == INTEG_NEW && b.index[4] == 11);
  CHECK(b.dup[5] == INTEG_DUP && b.index[5] == 11);
  CHECK(o.size == 12 && o.nops == 4 && t.range.size == 12);
  uint64_t idx;
  hash_t leaf;
  CHECK(integ_out_find(&o, b.dedup[2], &idx, leaf) && idx == 3 && memcmp(leaf, ref[0][3], 32) == 0);
  CHECK(integ_out_find(&o, b.dedup[4], &idx, leaf) && idx == 11);
  uint8_t other[32] = {1, 2, 3};
  CHECK(!integ_out_find(&o, other, &idx, leaf));
  integ_out_forget(&o);
  CHECK(!integ_out_find(&o, b.dedup[4], &idx, leaf));
  batch_free(&b);
  /* A batch of nothing but copies writes nothing. */
  batch_make(&b, 2, 0);
  b.dup[0] = b.dup[1] = INTEG_PRIOR;
  b.index[0] = 1, b.index[1] = 2;
  integ_group g1 = group_of(&b, 0, 2);
  CHECK_FATAL(integ_run(&t, &g1, 1, TS, 65535, &o) == INTEG_OK);
  CHECK(o.size == 12 && o.start_size == 12 && o.nops == 0 && o.nfull == 0 && o.npartial == 0);
  CHECK(o.tail_hashes_len == 0 && o.tail_bundle_len == 0 && o.new_bytes == 0);
  batch_free(&b);
  integ_tree_free(&t);
  integ_out_free(&o);
  ref_done();
}

static void test_all_or_none(void) {
  ref_init();
  integ_tree t;
  integ_out o;
  integ_tree_init(&t);
  integ_out_init(&o);
  run_new(&t, &o, 3, TS);
  batch big, ok;
  batch_make(&big, 3, 0);
  free(big.canon[1]);
  big.canon[1] = malloc(2000);
  memset(big.canon[1], 'x', 2000);
  big.canon_len[1] = 2000; /* over the limit of 1000 below */
  batch_make(&ok, 2, 0);
  memcpy(ok.dedup[1], big.dedup[0], 32); /* a copy of an event of the refused group */
  integ_group g[2] = {group_of(&big, 0, 3), group_of(&ok, 0, 2)};
  CHECK_FATAL(integ_run(&t, g, 2, TS, 1000, &o) == INTEG_OK);
  CHECK(g[0].refused && g[0].refused_event == 1 && g[0].refused_len > 2000);
  for (size_t i = 0; i < 3; i++) CHECK(big.dup[i] == 0 && big.index[i] == 0);
  CHECK(!g[1].refused && ok.dup[0] == INTEG_NEW && ok.index[0] == 3);
  CHECK(ok.dup[1] == INTEG_NEW && ok.index[1] == 4); /* not a copy: the first was refused */
  CHECK(o.size == 5 && o.nops == 4);
  uint64_t idx;
  hash_t leaf;
  CHECK(!integ_out_find(&o, big.dedup[2], &idx, leaf));
  batch_free(&big);
  batch_free(&ok);
  integ_tree_free(&t);
  integ_out_free(&o);
  ref_done();
}

static void test_full_changes_nothing(void) {
  integ_tree t;
  integ_out o;
  integ_tree_init(&t);
  integ_out_init(&o);
  /* A tree one leaf short of 2^63 (its hashes are irrelevant here). */
  t.range.size = (UINT64_C(1) << 63) - 1;
  t.range.npeaks = 63;
  for (unsigned i = 0; i < 63; i++) memset(t.range.peaks[i], (int)i, 32);
  for (int L = 0; L < INTEG_LEVELS; L++) memset(t.edge[L], L + 1, sizeof t.edge[L]);
  integ_tree before = t;
  batch b;
  next_event = 0;
  batch_make(&b, 2, 0);
  integ_group g = group_of(&b, 0, 2);
  CHECK(integ_run(&t, &g, 1, TS, 65535, &o) == INTEG_EFULL);
  CHECK(t.range.size == before.range.size && t.range.npeaks == before.range.npeaks);
  CHECK_EQ_MEM(t.range.peaks, before.range.peaks, sizeof t.range.peaks);
  CHECK_EQ_MEM(t.edge, before.edge, sizeof t.edge);
  CHECK(t.bundle_len == before.bundle_len);
  for (size_t i = 0; i < 2; i++) CHECK(b.dup[i] == 0 && b.index[i] == 0);
  uint64_t idx;
  hash_t leaf;
  CHECK(!integ_out_find(&o, b.dedup[0], &idx, leaf));
  g.count = 1;
  CHECK(integ_run(&t, &g, 1, TS, 65535, &o) == INTEG_OK);
  CHECK(t.range.size == UINT64_C(1) << 63 && b.index[0] == (UINT64_C(1) << 63) - 1);
  /* Tile levels 0..6 and the bundle complete at once; level 7 holds 128 nodes. */
  CHECK(o.tail_hashes_len == 0 && o.nfull == 8);
  CHECK(o.npartial == 1 && o.partial[0].level == 7 && o.partial[0].len == 128 * 32);
  batch_free(&b);
  integ_tree_free(&t);
  integ_out_free(&o);
}

int main(void) {
  CHECK_RUN(test_boundaries);
  CHECK_RUN(test_dedup);
  CHECK_RUN(test_all_or_none);
  CHECK_RUN(test_full_changes_nothing);
  return check_finish();
}
