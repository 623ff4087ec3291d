/* merkle.c: RFC 9162 section 2.1, as pure functions over a node reader.
 *
 * Invariant of merkle_tree: peaks[i] is the root of the i-th perfect subtree of the
 * binary decomposition of size, largest first; npeaks == popcount(size). */
#include "merkle/merkle.h"

#include <string.h>

#include "merkle/sha256.h"

const char *merkle_status_str(int status) {
  switch (status) {
    case MERKLE_OK: return "ok";
    case MERKLE_ERR_ARG: return "argument out of range";
    case MERKLE_ERR_PROOF: return "proof does not verify";
    case MERKLE_ERR_READER: return "could not read tree nodes";
    case MERKLE_ERR_SPACE: return "output buffer too small";
    case MERKLE_ERR_FULL: return "tree is full";
    case MERKLE_ERR_FORMAT: return "malformed text";
    case MERKLE_ERR_SIGNATURE: return "no valid signature";
    case MERKLE_ERR_CRYPTO: return "cryptographic operation failed";
    default: return "unknown merkle status";
  }
}

void merkle_leaf_hash(const uint8_t *data, size_t len, uint8_t out[MERKLE_HASH_SIZE]) {
  static const uint8_t prefix = 0x00;
  sha256_two(&prefix, 1, data, len, out);
}

void merkle_node_hash(const uint8_t left[MERKLE_HASH_SIZE], const uint8_t right[MERKLE_HASH_SIZE],
                      uint8_t out[MERKLE_HASH_SIZE]) {
  uint8_t buf[1 + 2 * MERKLE_HASH_SIZE];
  buf[0] = 0x01;
  memcpy(buf + 1, left, MERKLE_HASH_SIZE);
  memcpy(buf + 1 + MERKLE_HASH_SIZE, right, MERKLE_HASH_SIZE);
  sha256_two(buf, sizeof buf, NULL, 0, out);
}

void merkle_empty_root(uint8_t out[MERKLE_HASH_SIZE]) { sha256_two(NULL, 0, NULL, 0, out); }

void merkle_tree_init(merkle_tree *t) { memset(t, 0, sizeof *t); }

merkle_status merkle_tree_append(merkle_tree *t, const uint8_t leaf_hash[MERKLE_HASH_SIZE],
                       merkle_node_sink sink, void *sink_ctx) {
  if (t->size >= (UINT64_C(1) << 63)) return MERKLE_ERR_FULL;
  uint8_t h[MERKLE_HASH_SIZE];
  memcpy(h, leaf_hash, MERKLE_HASH_SIZE);
  uint64_t index = t->size;
  unsigned level = 0;
  if (sink) sink(sink_ctx, 0, index, h);
  /* Each set low bit of size is a peak of that level waiting for its right sibling. */
  while ((t->size >> level) & 1) {
    merkle_node_hash(t->peaks[t->npeaks - 1], h, h);
    t->npeaks--;
    level++;
    index >>= 1;
    if (sink) sink(sink_ctx, level, index, h);
  }
  memcpy(t->peaks[t->npeaks++], h, MERKLE_HASH_SIZE);
  t->size++;
  return MERKLE_OK;
}

static void fold_peaks(uint8_t (*peaks)[MERKLE_HASH_SIZE], unsigned n, uint8_t out[MERKLE_HASH_SIZE]) {
  uint8_t r[MERKLE_HASH_SIZE];
  memcpy(r, peaks[n - 1], MERKLE_HASH_SIZE);
  for (unsigned i = n - 1; i-- > 0;) merkle_node_hash(peaks[i], r, r);
  memcpy(out, r, MERKLE_HASH_SIZE);
}

void merkle_tree_root(const merkle_tree *t, uint8_t out[MERKLE_HASH_SIZE]) {
  if (t->npeaks == 0) {
    merkle_empty_root(out);
    return;
  }
  fold_peaks((uint8_t(*)[MERKLE_HASH_SIZE])t->peaks, t->npeaks, out);
}

/* Reads the perfect-subtree roots of the binary decomposition of [lo, lo + n). */
static int read_decomposition(uint64_t lo, uint64_t n, merkle_node_reader rd, void *ctx,
                              uint8_t (*peaks)[MERKLE_HASH_SIZE], unsigned *npeaks) {
  unsigned k = 0;
  uint64_t start = lo;
  for (uint64_t rest = n; rest; rest &= ~(UINT64_C(1) << (63 - __builtin_clzll(rest)))) {
    unsigned b = 63 - (unsigned)__builtin_clzll(rest);
    if (rd(ctx, b, start >> b, 1, &peaks[k]) != 0) return MERKLE_ERR_READER;
    k++;
    start += UINT64_C(1) << b;
  }
  *npeaks = k;
  return MERKLE_OK;
}

merkle_status merkle_tree_restore(merkle_tree *t, uint64_t size, merkle_node_reader rd, void *ctx) {
  merkle_tree fresh;
  merkle_tree_init(&fresh);
  if (size >= (UINT64_C(1) << 63)) return MERKLE_ERR_ARG;
  int rc = read_decomposition(0, size, rd, ctx, fresh.peaks, &fresh.npeaks);
  if (rc != MERKLE_OK) return rc;
  fresh.size = size;
  *t = fresh;
  return MERKLE_OK;
}

/* The smallest power of two >= n, for n >= 1, as a shift; 64 if it does not fit. */
static unsigned ceil_log2(uint64_t n) {
  return n <= 1 ? 0 : 64 - (unsigned)__builtin_clzll(n - 1);
}

merkle_status merkle_range_hash(uint64_t lo, uint64_t hi, merkle_node_reader rd, void *ctx,
                      uint8_t out[MERKLE_HASH_SIZE]) {
  if (hi <= lo) return MERKLE_ERR_ARG;
  unsigned s = ceil_log2(hi - lo);
  if (s < 64 && (lo & ((UINT64_C(1) << s) - 1)) != 0) return MERKLE_ERR_ARG;
  /* A perfect subtree (every range of a proof but the edge's): its one node. */
  if (((hi - lo) & (hi - lo - 1)) == 0)
    return rd(ctx, s, lo >> s, 1, (uint8_t(*)[MERKLE_HASH_SIZE])out) != 0 ? MERKLE_ERR_READER : MERKLE_OK;
  uint8_t peaks[64][MERKLE_HASH_SIZE];
  unsigned n;
  int rc = read_decomposition(lo, hi - lo, rd, ctx, peaks, &n);
  if (rc != MERKLE_OK) return rc;
  fold_peaks(peaks, n, out);
  return MERKLE_OK;
}

merkle_status merkle_root_at(uint64_t size, merkle_node_reader rd, void *ctx, uint8_t out[MERKLE_HASH_SIZE]) {
  if (size == 0) {
    merkle_empty_root(out);
    return MERKLE_OK;
  }
  return merkle_range_hash(0, size, rd, ctx, out);
}

/* Largest power of two strictly below n (n >= 2). */
static uint64_t split_point(uint64_t n) {
  return UINT64_C(1) << (63 - __builtin_clzll(n - 1));
}

merkle_status merkle_edge_init(merkle_edge *e, uint64_t size, merkle_node_reader rd, void *ctx) {
  if (size >= (UINT64_C(1) << 63)) return MERKLE_ERR_ARG;
  int rc = read_decomposition(0, size, rd, ctx, e->peak, &e->npeaks);
  if (rc != MERKLE_OK) return rc;
  e->size = size;
  if (e->npeaks == 0) return MERKLE_OK;
  unsigned last = e->npeaks - 1;
  memcpy(e->fold[last], e->peak[last], MERKLE_HASH_SIZE);
  for (unsigned i = last; i-- > 0;) merkle_node_hash(e->peak[i], e->fold[i + 1], e->fold[i]);
  return MERKLE_OK;
}

/* MTH(D[lo:hi]) from the edge, when [lo, hi) ends at the edge and starts at a peak
 * (the fold) or is a peak: 1 then, 0 for every other range. */
static int edge_range(const merkle_edge *e, uint64_t lo, uint64_t hi, uint8_t out[MERKLE_HASH_SIZE]) {
  if (!e || lo >= hi || hi > e->size) return 0;
  uint64_t n = hi - lo;
  unsigned b = 63 - (unsigned)__builtin_clzll(n);
  if (b >= 63) return 0; /* e->size < 2^63 */
  uint64_t above = e->size >> (b + 1); /* the size's bits above n's top bit */
  unsigned i = (unsigned)__builtin_popcountll(above); /* peaks before the one at bit b */
  if (!((e->size >> b) & 1) || lo != above << (b + 1)) return 0;
  if (hi == e->size && n == (e->size & ((UINT64_C(2) << b) - 1))) {
    memcpy(out, e->fold[i], MERKLE_HASH_SIZE);
    return 1;
  }
  if (n == UINT64_C(1) << b) {
    memcpy(out, e->peak[i], MERKLE_HASH_SIZE);
    return 1;
  }
  return 0;
}

/* Proofs are produced top-down by the RFC's recursion and emitted bottom-up, so
 * they are collected in reverse and flipped at the end. */
typedef struct proof_out {
  uint8_t (*hashes)[MERKLE_HASH_SIZE];
  size_t cap, len;
  const merkle_edge *edge; /* may be NULL */
} proof_out;

static int proof_push_range(proof_out *p, uint64_t lo, uint64_t hi, merkle_node_reader rd, void *ctx) {
  if (p->len >= p->cap) return MERKLE_ERR_SPACE;
  if (edge_range(p->edge, lo, hi, p->hashes[p->len])) {
    p->len++;
    return MERKLE_OK;
  }
  int rc = merkle_range_hash(lo, hi, rd, ctx, p->hashes[p->len]);
  if (rc != MERKLE_OK) return rc;
  p->len++;
  return MERKLE_OK;
}

static void proof_reverse(proof_out *p) {
  for (size_t i = 0, j = p->len; i + 1 < j; i++, j--) {
    uint8_t tmp[MERKLE_HASH_SIZE];
    memcpy(tmp, p->hashes[i], MERKLE_HASH_SIZE);
    memcpy(p->hashes[i], p->hashes[j - 1], MERKLE_HASH_SIZE);
    memcpy(p->hashes[j - 1], tmp, MERKLE_HASH_SIZE);
  }
}

static merkle_status inclusion(const merkle_edge *e, uint64_t index, uint64_t size, merkle_node_reader rd,
                               void *ctx, uint8_t (*proof)[MERKLE_HASH_SIZE], size_t cap, size_t *len) {
  if (index >= size) return MERKLE_ERR_ARG;
  proof_out p = {proof, cap, 0, e};
  uint64_t lo = 0, hi = size, m = index;
  /* PATH(m, D[lo:hi]) = PATH(m, left) : MTH(right)  or  PATH(m - k, right) : MTH(left). */
  while (hi - lo > 1) {
    uint64_t k = split_point(hi - lo);
    int rc;
    if (m < k) {
      rc = proof_push_range(&p, lo + k, hi, rd, ctx);
      hi = lo + k;
    } else {
      rc = proof_push_range(&p, lo, lo + k, rd, ctx);
      lo += k;
      m -= k;
    }
    if (rc != MERKLE_OK) return rc;
  }
  proof_reverse(&p);
  *len = p.len;
  return MERKLE_OK;
}

merkle_status merkle_inclusion_proof(uint64_t index, uint64_t size, merkle_node_reader rd, void *ctx,
                           uint8_t (*proof)[MERKLE_HASH_SIZE], size_t cap, size_t *len) {
  return inclusion(NULL, index, size, rd, ctx, proof, cap, len);
}

merkle_status merkle_inclusion_proof_edge(const merkle_edge *e, uint64_t index, merkle_node_reader rd,
                                          void *ctx, uint8_t (*proof)[MERKLE_HASH_SIZE], size_t cap,
                                          size_t *len) {
  return inclusion(e, index, e->size, rd, ctx, proof, cap, len);
}

static merkle_status consistency(const merkle_edge *e, uint64_t old_size, uint64_t new_size,
                                 merkle_node_reader rd, void *ctx,
                                 uint8_t (*proof)[MERKLE_HASH_SIZE], size_t cap, size_t *len) {
  if (old_size > new_size) return MERKLE_ERR_ARG;
  proof_out p = {proof, cap, 0, e};
  if (old_size == 0 || old_size == new_size) {
    *len = 0;
    return MERKLE_OK;
  }
  uint64_t lo = 0, hi = new_size, m = old_size;
  int whole = 1; /* the RFC's flag b: is D[lo:lo+m] the whole old tree? */
  int rc;
  while (m != hi - lo) {
    uint64_t k = split_point(hi - lo);
    if (m <= k) {
      rc = proof_push_range(&p, lo + k, hi, rd, ctx);
      hi = lo + k;
    } else {
      rc = proof_push_range(&p, lo, lo + k, rd, ctx);
      lo += k;
      m -= k;
      whole = 0;
    }
    if (rc != MERKLE_OK) return rc;
  }
  if (!whole) {
    rc = proof_push_range(&p, lo, hi, rd, ctx);
    if (rc != MERKLE_OK) return rc;
  }
  proof_reverse(&p);
  *len = p.len;
  return MERKLE_OK;
}

merkle_status merkle_consistency_proof(uint64_t old_size, uint64_t new_size, merkle_node_reader rd,
                             void *ctx, uint8_t (*proof)[MERKLE_HASH_SIZE], size_t cap,
                             size_t *len) {
  return consistency(NULL, old_size, new_size, rd, ctx, proof, cap, len);
}

merkle_status merkle_consistency_proof_edge(const merkle_edge *e, uint64_t old_size,
                                            merkle_node_reader rd, void *ctx,
                                            uint8_t (*proof)[MERKLE_HASH_SIZE], size_t cap,
                                            size_t *len) {
  return consistency(e, old_size, e->size, rd, ctx, proof, cap, len);
}

merkle_status merkle_root_from_inclusion(uint64_t index, uint64_t size, const uint8_t leaf_hash[MERKLE_HASH_SIZE],
                               const uint8_t (*proof)[MERKLE_HASH_SIZE], size_t len,
                               uint8_t root_out[MERKLE_HASH_SIZE]) {
  if (index >= size) return MERKLE_ERR_ARG;
  uint64_t fn = index, sn = size - 1;
  uint8_t r[MERKLE_HASH_SIZE];
  memcpy(r, leaf_hash, MERKLE_HASH_SIZE);
  for (size_t i = 0; i < len; i++) {
    if (sn == 0) return MERKLE_ERR_PROOF;
    if ((fn & 1) || fn == sn) {
      merkle_node_hash(proof[i], r, r);
      if (!(fn & 1))
        while (!(fn & 1) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
    } else {
      merkle_node_hash(r, proof[i], r);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return MERKLE_ERR_PROOF;
  memcpy(root_out, r, MERKLE_HASH_SIZE);
  return MERKLE_OK;
}

merkle_status merkle_verify_inclusion(uint64_t index, uint64_t size, const uint8_t leaf_hash[MERKLE_HASH_SIZE],
                            const uint8_t (*proof)[MERKLE_HASH_SIZE], size_t len,
                            const uint8_t root[MERKLE_HASH_SIZE]) {
  uint8_t r[MERKLE_HASH_SIZE];
  int rc = merkle_root_from_inclusion(index, size, leaf_hash, proof, len, r);
  if (rc != MERKLE_OK) return rc;
  return memcmp(r, root, MERKLE_HASH_SIZE) == 0 ? MERKLE_OK : MERKLE_ERR_PROOF;
}

merkle_status merkle_verify_consistency(uint64_t old_size, uint64_t new_size,
                              const uint8_t old_root[MERKLE_HASH_SIZE],
                              const uint8_t new_root[MERKLE_HASH_SIZE],
                              const uint8_t (*proof)[MERKLE_HASH_SIZE], size_t len) {
  if (old_size > new_size) return MERKLE_ERR_ARG;
  if (old_size == new_size) {
    if (len != 0) return MERKLE_ERR_PROOF;
    return memcmp(old_root, new_root, MERKLE_HASH_SIZE) == 0 ? MERKLE_OK : MERKLE_ERR_PROOF;
  }
  if (old_size == 0) {
    uint8_t empty[MERKLE_HASH_SIZE];
    merkle_empty_root(empty);
    if (len != 0) return MERKLE_ERR_PROOF;
    return memcmp(old_root, empty, MERKLE_HASH_SIZE) == 0 ? MERKLE_OK : MERKLE_ERR_PROOF;
  }
  if (len == 0) return MERKLE_ERR_PROOF;
  /* When the old tree is a perfect subtree of the new one, its root is the implicit
   * first element of the path (RFC 9162 2.1.4.2 step 2). */
  const uint8_t *first;
  size_t i;
  if ((old_size & (old_size - 1)) == 0) {
    first = old_root;
    i = 0;
  } else {
    first = proof[0];
    i = 1;
  }
  uint64_t fn = old_size - 1, sn = new_size - 1;
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  uint8_t fr[MERKLE_HASH_SIZE], sr[MERKLE_HASH_SIZE];
  memcpy(fr, first, MERKLE_HASH_SIZE);
  memcpy(sr, first, MERKLE_HASH_SIZE);
  for (; i < len; i++) {
    if (sn == 0) return MERKLE_ERR_PROOF;
    if ((fn & 1) || fn == sn) {
      merkle_node_hash(proof[i], fr, fr);
      merkle_node_hash(proof[i], sr, sr);
      if (!(fn & 1))
        while (!(fn & 1) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
    } else {
      merkle_node_hash(sr, proof[i], sr);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return MERKLE_ERR_PROOF;
  if (memcmp(fr, old_root, MERKLE_HASH_SIZE) != 0) return MERKLE_ERR_PROOF;
  if (memcmp(sr, new_root, MERKLE_HASH_SIZE) != 0) return MERKLE_ERR_PROOF;
  return MERKLE_OK;
}
