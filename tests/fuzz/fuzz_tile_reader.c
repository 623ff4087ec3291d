/* Fuzz target: the authenticating tile reader (merkle/tile.h) against a hostile tile
 * server. The tree (65797 leaves: full and partial tiles at levels 0, 1 and 2, and
 * entry bundles) is built once; the input chooses what to read (inclusion and
 * consistency proofs, roots of smaller trees, entry bundles) and how the server lies
 * (byte patches on chosen tiles, short or long answers, fetch failures).
 * Properties: whatever the reader returns as success equals the honest tree; with an
 * honest server every read succeeds. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "merkle/merkle.h"
#include "merkle/tile.h"

#define TREE_SIZE (256u * 257u + 5u)
#define MAX_LEVEL 17 /* 2^16 <= TREE_SIZE < 2^17 */

static uint8_t (*levels[MAX_LEVEL + 1])[MERKLE_HASH_SIZE];
static uint64_t level_len[MAX_LEVEL + 1];
static uint8_t root[MERKLE_HASH_SIZE];

static size_t entry_text(uint64_t i, char *buf, size_t cap) {
  /* Entries of varying lengths, as in a real log. */
  return (size_t)snprintf(buf, cap, "{\"i\":%llu,\"pad\":\"%.*s\"}", (unsigned long long)i,
                          (int)(i % 37), "....................................");
}

static void build(void) {
  level_len[0] = TREE_SIZE;
  for (unsigned l = 0; l <= MAX_LEVEL; l++) {
    if (l) level_len[l] = level_len[l - 1] / 2;
    levels[l] = calloc(level_len[l] ? level_len[l] : 1, MERKLE_HASH_SIZE);
    if (!levels[l]) abort();
  }
  char buf[128];
  for (uint64_t i = 0; i < TREE_SIZE; i++) {
    size_t n = entry_text(i, buf, sizeof buf);
    merkle_leaf_hash((const uint8_t *)buf, n, levels[0][i]);
  }
  for (unsigned l = 1; l <= MAX_LEVEL; l++)
    for (uint64_t i = 0; i < level_len[l]; i++)
      merkle_node_hash(levels[l - 1][2 * i], levels[l - 1][2 * i + 1], levels[l][i]);
}

static int honest_nodes(void *ctx, unsigned level, uint64_t index, uint64_t count,
                        uint8_t (*out)[MERKLE_HASH_SIZE]) {
  if (level > MAX_LEVEL || index > level_len[level] || count > level_len[level] - index) return -1;
  memcpy(out, levels[level][index], count * MERKLE_HASH_SIZE);
  return 0;
}

/* How the server lies in this run. */
typedef struct lies {
  const uint8_t *patch; /* triples: tile selector, offset, xor */
  size_t npatch;
  uint8_t len_mode;     /* 0 exact, 1 one byte short, 2 one byte long, 3 whole tile */
  uint8_t fail_on;      /* fail the k-th fetch (0: never) */
  unsigned fetches;
  int lied;             /* served bytes that differ from the honest tile */
} lies;

static uint8_t *honest_tile(const tile_id *t, size_t *len) {
  unsigned w = t->width ? t->width : TILE_WIDTH;
  if (t->level == TILE_LEVEL_ENTRIES) {
    if (t->index * TILE_WIDTH + w > TREE_SIZE) return NULL;
    uint8_t *b = malloc((size_t)w * 130);
    if (!b) abort();
    size_t n = 0;
    char buf[128];
    for (unsigned k = 0; k < w; k++) {
      size_t el = entry_text(t->index * TILE_WIDTH + k, buf, sizeof buf);
      if (tile_bundle_append(b, (size_t)w * 130, &n, (const uint8_t *)buf, el)) abort();
    }
    *len = n;
    return b;
  }
  unsigned hl = (unsigned)t->level * TILE_HEIGHT;
  if (t->level < 0 || hl > MAX_LEVEL || t->index * TILE_WIDTH + w > level_len[hl]) return NULL;
  uint8_t *b = malloc((size_t)w * MERKLE_HASH_SIZE);
  if (!b) abort();
  memcpy(b, levels[hl][t->index * TILE_WIDTH], (size_t)w * MERKLE_HASH_SIZE);
  *len = (size_t)w * MERKLE_HASH_SIZE;
  return b;
}

static int lying_fetch(void *ctx, const tile_id *t, uint8_t **data, size_t *len, char *err,
                       size_t errcap) {
  lies *L = ctx;
  L->fetches++;
  if (L->fail_on && L->fetches == L->fail_on) {
    snprintf(err, errcap, "injected fetch failure");
    return -1;
  }
  tile_id want = *t;
  if (L->len_mode == 3) want.width = 0; /* serve the full tile when one exists */
  size_t n;
  uint8_t *b = honest_tile(&want, &n);
  if (!b && L->len_mode == 3) b = honest_tile(t, &n);
  if (!b) {
    snprintf(err, errcap, "no such tile");
    return -1;
  }
  if (L->len_mode == 1 && n > 0) {
    n--;
  } else if (L->len_mode == 2) {
    uint8_t *nb = realloc(b, n + 1);
    if (!nb) abort();
    b = nb;
    b[n++] = 0x5a;
  }
  int sel = t->level == TILE_LEVEL_ENTRIES ? 3 : t->level;
  for (size_t i = 0; i < L->npatch; i++) {
    const uint8_t *p = L->patch + 3 * i;
    if (p[0] % 4 != sel || !n || !p[2]) continue;
    b[((size_t)p[1] * 37) % n] ^= p[2];
  }
  /* A lie is anything other than the exact tile asked for. */
  size_t hn;
  uint8_t *h = honest_tile(t, &hn);
  if (!h || hn != n || memcmp(h, b, n)) L->lied = 1;
  free(h);
  *data = b;
  *len = n;
  return 0;
}

static uint64_t take64(const uint8_t **d, size_t *n) {
  uint64_t v = 0;
  for (int i = 0; i < 4 && *n; i++, (*d)++, (*n)--) v = v << 8 | **d;
  return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!levels[0]) {
    build();
    if (merkle_root_at(TREE_SIZE, honest_nodes, NULL, root)) abort();
  }
  if (size < 2) return 0;
  lies L;
  memset(&L, 0, sizeof L);
  L.len_mode = data[0] & 3;
  L.fail_on = (uint8_t)(data[0] >> 4);
  uint8_t nops = (uint8_t)(1 + data[1] % 4);
  data += 2;
  size -= 2;
  /* Operations come first (nops x 9 bytes), then patches. */
  uint8_t ops[4][9];
  memset(ops, 0, sizeof ops);
  for (unsigned k = 0; k < nops; k++) {
    size_t c = size < 9 ? size : 9;
    memcpy(ops[k], data, c);
    data += c;
    size -= c;
  }
  L.patch = data;
  L.npatch = size / 3;

  tile_reader *r = tile_reader_new(TREE_SIZE, root, lying_fetch, &L);
  if (!r) return 0;
  int any_fail = 0;
  for (unsigned k = 0; k < nops; k++) {
    const uint8_t *d = ops[k] + 1;
    size_t dn = 8;
    uint64_t a = take64(&d, &dn) % (TREE_SIZE + 1), b = take64(&d, &dn) % (TREE_SIZE + 1);
    uint8_t got[MERKLE_MAX_PROOF][MERKLE_HASH_SIZE], want[MERKLE_MAX_PROOF][MERKLE_HASH_SIZE];
    size_t glen, wlen;
    int rc, wrc;
    switch (ops[k][0] % 4) {
    case 0:
      if (a == TREE_SIZE) a--;
      rc = merkle_inclusion_proof(a, TREE_SIZE, tile_reader_nodes, r, got, MERKLE_MAX_PROOF, &glen);
      wrc = merkle_inclusion_proof(a, TREE_SIZE, honest_nodes, NULL, want, MERKLE_MAX_PROOF, &wlen);
      if (wrc) abort();
      if (rc == 0 && (glen != wlen || memcmp(got, want, glen * MERKLE_HASH_SIZE))) abort();
      break;
    case 1:
      if (a > b) {
        uint64_t t = a;
        a = b;
        b = t;
      }
      rc = merkle_consistency_proof(a, b, tile_reader_nodes, r, got, MERKLE_MAX_PROOF, &glen);
      wrc = merkle_consistency_proof(a, b, honest_nodes, NULL, want, MERKLE_MAX_PROOF, &wlen);
      if (wrc) abort();
      if (rc == 0 && (glen != wlen || memcmp(got, want, glen * MERKLE_HASH_SIZE))) abort();
      break;
    case 2:
      rc = merkle_root_at(a, tile_reader_nodes, r, got[0]);
      if (merkle_root_at(a, honest_nodes, NULL, want[0])) abort();
      if (rc == 0 && memcmp(got[0], want[0], MERKLE_HASH_SIZE)) abort();
      break;
    default: {
      uint64_t bundle = a % (TREE_SIZE / TILE_WIDTH + 1);
      const tile_bundle_entry *ents;
      size_t count;
      rc = tile_reader_entries(r, bundle, &ents, &count);
      if (rc == 0) {
        uint64_t first = bundle * TILE_WIDTH;
        uint64_t expect = TREE_SIZE - first < TILE_WIDTH ? TREE_SIZE - first : TILE_WIDTH;
        if (count != expect) abort();
        char buf[128];
        for (size_t i = 0; i < count; i++) {
          size_t el = entry_text(first + i, buf, sizeof buf);
          if (ents[i].len != el || memcmp(ents[i].data, buf, el)) abort();
        }
      }
    }
    }
    if (rc) {
      any_fail = 1;
      if (!tile_reader_error(r) || !tile_reader_error(r)[0]) abort();
    }
  }
  /* An honest server that never fails must be believed. */
  if (any_fail && !L.lied && !L.fail_on) abort();
  tile_reader_free(r);
  return 0;
}
