/* tile.c: C2SP tlog-tiles paths, entry bundles, and the authenticating reader.
 *
 * How the reader authenticates (no tile is trusted because of where it came from):
 * - The right-edge tiles (the partial tile of each level, if any) are fetched
 *   together; together they hold exactly the peaks of the tree's binary
 *   decomposition, and every hash in them belongs to one peak, so folding the peaks
 *   and comparing with the trusted root authenticates every hash they contain.
 * - A full tile (L, N) is the perfect subtree (8L + 8, N): its folded hash must equal
 *   the hash at position N mod 256 of tile (L + 1, N / 256), itself authenticated
 *   the same way first. No shortcut is taken when several needed hashes share a tile. */
#include "merkle/tile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/num.h"

/* ---- paths ---- */

merkle_status tile_path_encode(const tile_id *t, char *buf, size_t cap, size_t *len) {
  if (t->level < TILE_LEVEL_ENTRIES || t->level > TILE_MAX_LEVEL) return MERKLE_ERR_ARG;
  if (t->width < 1 || t->width > TILE_WIDTH) return MERKLE_ERR_ARG;
  unsigned groups[7];
  unsigned ngroups = 0;
  uint64_t n = t->index;
  do {
    groups[ngroups++] = (unsigned)(n % 1000);
    n /= 1000;
  } while (n > 0);
  size_t pos = 0;
  int w;
  if (t->level == TILE_LEVEL_ENTRIES)
    w = snprintf(buf, cap, "tile/entries/");
  else
    w = snprintf(buf, cap, "tile/%d/", t->level);
  if (w < 0 || (size_t)w >= cap) return MERKLE_ERR_SPACE;
  pos = (size_t)w;
  for (unsigned i = ngroups; i-- > 0;) {
    w = snprintf(buf + pos, cap - pos, i ? "x%03u/" : "%03u", groups[i]);
    if (w < 0 || (size_t)w >= cap - pos) return MERKLE_ERR_SPACE;
    pos += (size_t)w;
  }
  if (t->width < TILE_WIDTH) {
    w = snprintf(buf + pos, cap - pos, ".p/%u", t->width);
    if (w < 0 || (size_t)w >= cap - pos) return MERKLE_ERR_SPACE;
    pos += (size_t)w;
  }
  if (len) *len = pos;
  return MERKLE_OK;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* A decimal without sign or leading zeros, at most max (base/num.h). */
static int parse_small_decimal(const char *s, size_t len, unsigned max, unsigned *out) {
  uint64_t v;
  if (len > 3 || xt_parse_u64n(s, len, XT_NUM_CANONICAL, 0, max, &v) != XT_OK) return -1;
  *out = (unsigned)v;
  return 0;
}

merkle_status tile_path_decode(const char *path, size_t len, tile_id *out) {
  static const char prefix[] = "tile/";
  const size_t plen = sizeof prefix - 1;
  if (len < plen || memcmp(path, prefix, plen) != 0) return MERKLE_ERR_ARG;
  const char *p = path + plen, *end = path + len;
  const char *slash = memchr(p, '/', (size_t)(end - p));
  if (!slash) return MERKLE_ERR_ARG;
  tile_id t = {0, 0, TILE_WIDTH};
  if ((size_t)(slash - p) == 7 && memcmp(p, "entries", 7) == 0) {
    t.level = TILE_LEVEL_ENTRIES;
  } else {
    unsigned level;
    if (parse_small_decimal(p, (size_t)(slash - p), TILE_MAX_LEVEL, &level) != 0) return MERKLE_ERR_ARG;
    t.level = (int)level;
  }
  p = slash + 1;
  /* Index elements: "xDDD/" repeated, then "DDD". */
  uint64_t index = 0;
  unsigned elements = 0;
  for (;;) {
    if (end - p >= 5 && p[0] == 'x') {
      if (!is_digit(p[1]) || !is_digit(p[2]) || !is_digit(p[3]) || p[4] != '/') return MERKLE_ERR_ARG;
      unsigned g = (unsigned)((p[1] - '0') * 100 + (p[2] - '0') * 10 + (p[3] - '0'));
      if (elements == 0 && g == 0) return MERKLE_ERR_ARG; /* a leading x000 is never written */
      if (index > (UINT64_MAX - g) / 1000) return MERKLE_ERR_ARG;
      index = index * 1000 + g;
      elements++;
      p += 5;
      continue;
    }
    if (end - p < 3 || !is_digit(p[0]) || !is_digit(p[1]) || !is_digit(p[2])) return MERKLE_ERR_ARG;
    unsigned g = (unsigned)((p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0'));
    if (index > (UINT64_MAX - g) / 1000) return MERKLE_ERR_ARG;
    index = index * 1000 + g;
    p += 3;
    break;
  }
  t.index = index;
  if (p != end) {
    if (end - p < 4 || memcmp(p, ".p/", 3) != 0) return MERKLE_ERR_ARG;
    unsigned width;
    if (parse_small_decimal(p + 3, (size_t)(end - p - 3), TILE_WIDTH - 1, &width) != 0 || width == 0)
      return MERKLE_ERR_ARG;
    t.width = width;
  }
  *out = t;
  return MERKLE_OK;
}

unsigned tile_width_at(int level, uint64_t index, uint64_t size) {
  if (level == TILE_LEVEL_ENTRIES) level = 0;
  if (level < 0 || level > TILE_MAX_LEVEL) return 0;
  unsigned shift = (unsigned)level * TILE_HEIGHT;
  uint64_t hashes = shift >= 64 ? 0 : size >> shift; /* level-8L nodes in the tree */
  uint64_t full = hashes >> TILE_HEIGHT;
  if (index < full) return TILE_WIDTH;
  if (index == full) return (unsigned)(hashes & (TILE_WIDTH - 1));
  return 0;
}

void tile_for_node(unsigned level, uint64_t index, tile_id *tile, unsigned *first, unsigned *count) {
  unsigned k = level % TILE_HEIGHT;
  uint64_t start = index << k;
  tile->level = (int)(level / TILE_HEIGHT);
  tile->index = start >> TILE_HEIGHT;
  *first = (unsigned)(start & (TILE_WIDTH - 1));
  *count = 1u << k;
  tile->width = *first + *count;
}

/* ---- entry bundles ---- */

merkle_status tile_bundle_parse(const uint8_t *buf, size_t len, size_t expect, tile_bundle_entry *out) {
  size_t pos = 0;
  for (size_t i = 0; i < expect; i++) {
    if (len - pos < 2) return MERKLE_ERR_ARG;
    size_t n = (size_t)buf[pos] << 8 | buf[pos + 1];
    pos += 2;
    if (n == 0 || len - pos < n) return MERKLE_ERR_ARG;
    out[i].data = buf + pos;
    out[i].len = n;
    pos += n;
  }
  return pos == len ? MERKLE_OK : MERKLE_ERR_ARG;
}

merkle_status tile_stored_prefix(const tile_id *t, const uint8_t *buf, size_t len, size_t *out) {
  if (t->width < 1 || t->width > TILE_WIDTH) return MERKLE_ERR_ARG;
  if (t->level != TILE_LEVEL_ENTRIES) {
    size_t want = (size_t)t->width * MERKLE_HASH_SIZE;
    if (len < want || len % MERKLE_HASH_SIZE) return MERKLE_ERR_FORMAT;
    *out = want;
    return MERKLE_OK;
  }
  size_t pos = 0;
  for (unsigned i = 0; i < t->width; i++) {
    if (len - pos < 2) return MERKLE_ERR_FORMAT;
    size_t n = (size_t)buf[pos] << 8 | buf[pos + 1];
    if (n == 0 || len - pos - 2 < n) return MERKLE_ERR_FORMAT;
    pos += 2 + n;
  }
  *out = pos;
  return MERKLE_OK;
}

merkle_status tile_bundle_append(uint8_t *buf, size_t cap, size_t *len, const uint8_t *entry, size_t entry_len) {
  if (entry_len == 0 || entry_len > 0xffff) return MERKLE_ERR_ARG;
  if (*len > cap || cap - *len < 2 + entry_len) return MERKLE_ERR_SPACE;
  buf[*len] = (uint8_t)(entry_len >> 8);
  buf[*len + 1] = (uint8_t)entry_len;
  memcpy(buf + *len + 2, entry, entry_len);
  *len += 2 + entry_len;
  return MERKLE_OK;
}

/* ---- the authenticating reader ---- */

#define CACHE_SLOTS 1024 /* full tiles kept, direct-mapped: 8 MiB at most */
#define EDGE_LEVELS 8    /* 8 levels of 8 cover 64-bit sizes */

typedef struct cached_tile {
  int valid;
  int level;
  uint64_t index;
  uint8_t hashes[TILE_WIDTH][MERKLE_HASH_SIZE];
} cached_tile;

struct tile_reader {
  uint64_t size;
  uint8_t root[MERKLE_HASH_SIZE];
  tile_fetcher fetch;
  void *fetch_ctx;
  char err[256];
  uint64_t fetches;
  int edge_ready;
  /* The right-edge partial tile of each level (width 0: none at that level). */
  unsigned edge_width[EDGE_LEVELS];
  uint8_t (*edge[EDGE_LEVELS])[MERKLE_HASH_SIZE];
  cached_tile *cache[CACHE_SLOTS];
  uint8_t *bundle;
  tile_bundle_entry *entries;
};

tile_reader *tile_reader_new(uint64_t size, const uint8_t root[MERKLE_HASH_SIZE],
                             tile_fetcher fetch, void *fetch_ctx) {
  tile_reader *r = calloc(1, sizeof *r);
  if (!r) return NULL;
  r->size = size;
  memcpy(r->root, root, MERKLE_HASH_SIZE);
  r->fetch = fetch;
  r->fetch_ctx = fetch_ctx;
  return r;
}

void tile_reader_free(tile_reader *r) {
  if (!r) return;
  for (unsigned i = 0; i < EDGE_LEVELS; i++) free(r->edge[i]);
  for (unsigned i = 0; i < CACHE_SLOTS; i++) free(r->cache[i]);
  free(r->bundle);
  free(r->entries);
  free(r);
}

const char *tile_reader_error(const tile_reader *r) { return r->err[0] ? r->err : "no error"; }
uint64_t tile_reader_fetches(const tile_reader *r) { return r->fetches; }

static void tile_name(const tile_id *t, char *buf, size_t cap) {
  if (tile_path_encode(t, buf, cap, NULL) != MERKLE_OK) snprintf(buf, cap, "tile(?)");
}

/* Fetches t and checks its length; returns a malloc'd buffer of t->width items. */
static uint8_t *fetch_hash_tile(tile_reader *r, const tile_id *t) {
  uint8_t *data = NULL;
  size_t len = 0;
  char ferr[200] = "";
  char name[TILE_PATH_MAX];
  tile_name(t, name, sizeof name);
  r->fetches++;
  if (r->fetch(r->fetch_ctx, t, &data, &len, ferr, sizeof ferr) != 0) {
    free(data);
    snprintf(r->err, sizeof r->err, "fetching %s: %.150s", name, ferr[0] ? ferr : "failed");
    return NULL;
  }
  if (len != (size_t)t->width * MERKLE_HASH_SIZE) {
    free(data);
    snprintf(r->err, sizeof r->err, "%s has %zu bytes, want %u", name, len,
             t->width * MERKLE_HASH_SIZE);
    return NULL;
  }
  return data;
}

/* Folds 2^k consecutive hashes into the root of their perfect subtree. */
static void fold_perfect(const uint8_t (*hashes)[MERKLE_HASH_SIZE], unsigned count,
                         uint8_t out[MERKLE_HASH_SIZE]) {
  uint8_t work[TILE_WIDTH][MERKLE_HASH_SIZE];
  memcpy(work, hashes, (size_t)count * MERKLE_HASH_SIZE);
  for (unsigned n = count; n > 1; n /= 2)
    for (unsigned i = 0; i < n / 2; i++) merkle_node_hash(work[2 * i], work[2 * i + 1], work[i]);
  memcpy(out, work[0], MERKLE_HASH_SIZE);
}

static int load_edge(tile_reader *r) {
  if (r->edge_ready) return 0;
  if (r->size == 0) {
    snprintf(r->err, sizeof r->err, "the empty tree has no tiles");
    return -1;
  }
  uint8_t peaks[64][MERKLE_HASH_SIZE];
  unsigned npeaks = 0;
  /* Peaks from the highest level down, as the tree's decomposition orders them. */
  for (unsigned L = EDGE_LEVELS; L-- > 0;) {
    unsigned shift = L * TILE_HEIGHT;
    uint64_t hashes = r->size >> shift;
    unsigned w = (unsigned)(hashes & (TILE_WIDTH - 1));
    r->edge_width[L] = w;
    if (w == 0) continue;
    tile_id t = {(int)L, hashes >> TILE_HEIGHT, w};
    free(r->edge[L]);
    r->edge[L] = (uint8_t(*)[MERKLE_HASH_SIZE])fetch_hash_tile(r, &t);
    if (!r->edge[L]) return -1;
    unsigned pos = 0;
    for (unsigned b = TILE_HEIGHT; b-- > 0;) {
      if (!((w >> b) & 1)) continue;
      fold_perfect((const uint8_t(*)[MERKLE_HASH_SIZE])r->edge[L] + pos, 1u << b, peaks[npeaks++]);
      pos += 1u << b;
    }
  }
  uint8_t root[MERKLE_HASH_SIZE];
  memcpy(root, peaks[npeaks - 1], MERKLE_HASH_SIZE);
  for (unsigned i = npeaks - 1; i-- > 0;) merkle_node_hash(peaks[i], root, root);
  if (memcmp(root, r->root, MERKLE_HASH_SIZE) != 0) {
    snprintf(r->err, sizeof r->err,
             "the right-edge tiles of the tree of size %llu do not hash to its signed root",
             (unsigned long long)r->size);
    for (unsigned L = 0; L < EDGE_LEVELS; L++) {
      free(r->edge[L]);
      r->edge[L] = NULL;
    }
    return -1;
  }
  r->edge_ready = 1;
  return 0;
}

static unsigned cache_slot(int level, uint64_t index) {
  uint64_t h = (index * UINT64_C(0x9E3779B97F4A7C15)) ^ (uint64_t)level;
  return (unsigned)(h >> 54) % CACHE_SLOTS;
}

/* Returns the authenticated hashes of tile (level, index) with the width the trusted
 * tree gives it, or NULL with r->err set. */
static const uint8_t (*authenticated_tile(tile_reader *r, int level, uint64_t index))[MERKLE_HASH_SIZE] {
  unsigned w = tile_width_at(level, index, r->size);
  if (w == 0) {
    snprintf(r->err, sizeof r->err, "tile %d/%llu is beyond the tree of size %llu", level,
             (unsigned long long)index, (unsigned long long)r->size);
    return NULL;
  }
  if (w < TILE_WIDTH) {
    if (load_edge(r) != 0) return NULL;
    return (const uint8_t(*)[MERKLE_HASH_SIZE])r->edge[level];
  }
  unsigned slot = cache_slot(level, index);
  cached_tile *c = r->cache[slot];
  if (c && c->valid && c->level == level && c->index == index)
    return (const uint8_t(*)[MERKLE_HASH_SIZE])c->hashes;
  /* The parent's hash for this tile, authenticated first. */
  const uint8_t (*parent)[MERKLE_HASH_SIZE] = authenticated_tile(r, level + 1, index >> TILE_HEIGHT);
  if (!parent) return NULL;
  uint8_t expect[MERKLE_HASH_SIZE];
  memcpy(expect, parent[index & (TILE_WIDTH - 1)], MERKLE_HASH_SIZE);
  tile_id t = {level, index, TILE_WIDTH};
  uint8_t *data = fetch_hash_tile(r, &t);
  if (!data) return NULL;
  uint8_t got[MERKLE_HASH_SIZE];
  fold_perfect((const uint8_t(*)[MERKLE_HASH_SIZE])data, TILE_WIDTH, got);
  if (memcmp(got, expect, MERKLE_HASH_SIZE) != 0) {
    char name[TILE_PATH_MAX];
    tile_name(&t, name, sizeof name);
    snprintf(r->err, sizeof r->err, "%s does not match the signed tree (forged or corrupt tile)", name);
    free(data);
    return NULL;
  }
  c = r->cache[slot]; /* the parent's authentication may have filled this slot */
  if (!c) {
    c = malloc(sizeof *c);
    if (!c) {
      free(data);
      snprintf(r->err, sizeof r->err, "out of memory");
      return NULL;
    }
    r->cache[slot] = c;
  }
  c->valid = 1;
  c->level = level;
  c->index = index;
  memcpy(c->hashes, data, sizeof c->hashes);
  free(data);
  return (const uint8_t(*)[MERKLE_HASH_SIZE])c->hashes;
}

int tile_reader_nodes(void *reader, unsigned level, uint64_t index, uint64_t count,
                      uint8_t (*out)[MERKLE_HASH_SIZE]) {
  tile_reader *r = reader;
  for (uint64_t i = 0; i < count; i++) {
    if (level > 63 || (level > 0 && index + i >= (UINT64_C(1) << (64 - level)))) {
      snprintf(r->err, sizeof r->err, "node %u/%llu is out of range", level,
               (unsigned long long)(index + i));
      return -1;
    }
    uint64_t end_leaf = ((index + i) + 1) << level; /* may be 0 on overflow for the top node */
    if (end_leaf == 0 || end_leaf > r->size) {
      snprintf(r->err, sizeof r->err, "node %u/%llu is not complete in the tree of size %llu",
               level, (unsigned long long)(index + i), (unsigned long long)r->size);
      return -1;
    }
    tile_id t;
    unsigned first, n;
    tile_for_node(level, index + i, &t, &first, &n);
    const uint8_t (*hashes)[MERKLE_HASH_SIZE] = authenticated_tile(r, t.level, t.index);
    if (!hashes) return -1;
    fold_perfect(hashes + first, n, out[i]);
  }
  return 0;
}

merkle_status tile_reader_entries(tile_reader *r, uint64_t index, const tile_bundle_entry **entries,
                        size_t *count) {
  unsigned w = tile_width_at(TILE_LEVEL_ENTRIES, index, r->size);
  if (w == 0) {
    snprintf(r->err, sizeof r->err, "entry bundle %llu is beyond the tree of size %llu",
             (unsigned long long)index, (unsigned long long)r->size);
    return MERKLE_ERR_ARG;
  }
  const uint8_t (*leaves)[MERKLE_HASH_SIZE] = authenticated_tile(r, 0, index);
  if (!leaves) return MERKLE_ERR_READER;
  tile_id t = {TILE_LEVEL_ENTRIES, index, w};
  char name[TILE_PATH_MAX];
  tile_name(&t, name, sizeof name);
  free(r->bundle);
  r->bundle = NULL;
  size_t len = 0;
  char ferr[200] = "";
  r->fetches++;
  if (r->fetch(r->fetch_ctx, &t, &r->bundle, &len, ferr, sizeof ferr) != 0) {
    snprintf(r->err, sizeof r->err, "fetching %s: %.150s", name, ferr[0] ? ferr : "failed");
    return MERKLE_ERR_READER;
  }
  if (!r->entries) {
    r->entries = malloc(TILE_WIDTH * sizeof *r->entries);
    if (!r->entries) {
      snprintf(r->err, sizeof r->err, "out of memory");
      return MERKLE_ERR_READER;
    }
  }
  if (tile_bundle_parse(r->bundle, len, w, r->entries) != MERKLE_OK) {
    snprintf(r->err, sizeof r->err, "%s is not a well-formed bundle of %u entries", name, w);
    return MERKLE_ERR_FORMAT;
  }
  for (unsigned i = 0; i < w; i++) {
    uint8_t h[MERKLE_HASH_SIZE];
    merkle_leaf_hash(r->entries[i].data, r->entries[i].len, h);
    if (memcmp(h, leaves[i], MERKLE_HASH_SIZE) != 0) {
      snprintf(r->err, sizeof r->err, "entry %llu in %s does not match its signed leaf hash",
               (unsigned long long)(index * TILE_WIDTH + i), name);
      return MERKLE_ERR_PROOF;
    }
  }
  *entries = r->entries;
  *count = w;
  return MERKLE_OK;
}
