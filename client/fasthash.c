/* fasthash.c: bundle hashing, two messages at a time with SHA-NI where available. */
#include "client/fasthash.h"

#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define FASTHASH_X86 1
#include <cpuid.h>
#include <immintrin.h>
#endif

static int ni_state = -1; /* -1 not probed, 0 no, 1 yes */

bool fasthash_sha_ni(void) {
#ifdef FASTHASH_X86
  if (ni_state < 0) {
    unsigned a, b, c, d;
    int ok = 0;
    /* SHA (leaf 7 EBX bit 29), SSSE3 (leaf 1 ECX bit 9), SSE4.1 (leaf 1 ECX bit 19). */
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 29)) && __get_cpuid(1, &a, &b, &c, &d) &&
        (c & (1u << 9)) && (c & (1u << 19)))
      ok = 1;
    ni_state = ok;
  }
  return ni_state == 1;
#else
  return false;
#endif
}

void fasthash_disable_sha_ni(void) { ni_state = 0; }

static void portable_bundle(const tile_bundle_entry *e, unsigned n, uint8_t (*leaves)[MERKLE_HASH_SIZE],
                            uint8_t *root) {
  for (unsigned i = 0; i < n; i++) merkle_leaf_hash(e[i].data, e[i].len, leaves[i]);
  if (n != TILE_WIDTH || !root) return;
  uint8_t work[TILE_WIDTH / 2][MERKLE_HASH_SIZE];
  for (unsigned i = 0; i < TILE_WIDTH / 2; i++) merkle_node_hash(leaves[2 * i], leaves[2 * i + 1], work[i]);
  for (unsigned w = TILE_WIDTH / 2; w > 1; w /= 2)
    for (unsigned i = 0; i < w / 2; i++) merkle_node_hash(work[2 * i], work[2 * i + 1], work[i]);
  memcpy(root, work[0], MERKLE_HASH_SIZE);
}

#ifdef FASTHASH_X86

static const uint32_t K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define NI __attribute__((target("sha,sse4.1,ssse3")))

/* The state as SHA-NI wants it: ABEF and CDGH. */
typedef struct ni_state_t {
  __m128i s0, s1;
} ni_st;

NI static inline ni_st ni_init(void) {
  /* H0..H7 = 6a09e667 bb67ae85 3c6ef372 a54ff53a 510e527f 9b05688c 1f83d9ab 5be0cd19,
   * packed as ABEF = (F, E, B, A) and CDGH = (H, G, D, C) from lane 0 up. */
  ni_st st;
  st.s0 = _mm_set_epi32(0x6a09e667, (int)0xbb67ae85, 0x510e527f, (int)0x9b05688c);
  st.s1 = _mm_set_epi32(0x3c6ef372, (int)0xa54ff53a, 0x1f83d9ab, 0x5be0cd19);
  return st;
}

NI static inline void ni_out(ni_st st, uint8_t out[32]) {
  __m128i tmp = _mm_shuffle_epi32(st.s0, 0x1B);  /* FEBA */
  __m128i s1 = _mm_shuffle_epi32(st.s1, 0xB1);   /* DCHG */
  __m128i a = _mm_blend_epi16(tmp, s1, 0xF0);    /* DCBA */
  __m128i b = _mm_alignr_epi8(s1, tmp, 8);       /* HGFE */
  const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
  _mm_storeu_si128((__m128i *)out, _mm_shuffle_epi8(a, bswap));
  _mm_storeu_si128((__m128i *)(out + 16), _mm_shuffle_epi8(b, bswap));
}

/* One 64-byte block into one state. */
NI static inline void ni_block(ni_st *st, const uint8_t *p) {
  const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
  __m128i s0 = st->s0, s1 = st->s1, w[4];
  for (int i = 0; i < 4; i++) w[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * i)), bswap);
#pragma GCC unroll 16
  for (int i = 0; i < 16; i++) {
    if (i >= 4) {
      __m128i x = _mm_sha256msg1_epu32(w[i & 3], w[(i + 1) & 3]);
      x = _mm_add_epi32(x, _mm_alignr_epi8(w[(i + 3) & 3], w[(i + 2) & 3], 4));
      w[i & 3] = _mm_sha256msg2_epu32(x, w[(i + 3) & 3]);
    }
    __m128i m = _mm_add_epi32(w[i & 3], _mm_loadu_si128((const __m128i *)&K256[4 * i]));
    s1 = _mm_sha256rnds2_epu32(s1, s0, m);
    s0 = _mm_sha256rnds2_epu32(s0, s1, _mm_shuffle_epi32(m, 0x0E));
  }
  st->s0 = _mm_add_epi32(s0, st->s0);
  st->s1 = _mm_add_epi32(s1, st->s1);
}

/* Two blocks into two states, interleaved: the rounds of one message wait on the
 * latency of sha256rnds2, which the other message's rounds fill. */
NI static inline void ni_block2(ni_st *sa, const uint8_t *pa, ni_st *sb, const uint8_t *pb) {
  const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
  __m128i a0 = sa->s0, a1 = sa->s1, b0 = sb->s0, b1 = sb->s1, wa[4], wb[4];
  for (int i = 0; i < 4; i++) {
    wa[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(pa + 16 * i)), bswap);
    wb[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(pb + 16 * i)), bswap);
  }
#pragma GCC unroll 16
  for (int i = 0; i < 16; i++) {
    if (i >= 4) {
      __m128i xa = _mm_sha256msg1_epu32(wa[i & 3], wa[(i + 1) & 3]);
      __m128i xb = _mm_sha256msg1_epu32(wb[i & 3], wb[(i + 1) & 3]);
      xa = _mm_add_epi32(xa, _mm_alignr_epi8(wa[(i + 3) & 3], wa[(i + 2) & 3], 4));
      xb = _mm_add_epi32(xb, _mm_alignr_epi8(wb[(i + 3) & 3], wb[(i + 2) & 3], 4));
      wa[i & 3] = _mm_sha256msg2_epu32(xa, wa[(i + 3) & 3]);
      wb[i & 3] = _mm_sha256msg2_epu32(xb, wb[(i + 3) & 3]);
    }
    __m128i k = _mm_loadu_si128((const __m128i *)&K256[4 * i]);
    __m128i ma = _mm_add_epi32(wa[i & 3], k), mb = _mm_add_epi32(wb[i & 3], k);
    a1 = _mm_sha256rnds2_epu32(a1, a0, ma);
    b1 = _mm_sha256rnds2_epu32(b1, b0, mb);
    a0 = _mm_sha256rnds2_epu32(a0, a1, _mm_shuffle_epi32(ma, 0x0E));
    b0 = _mm_sha256rnds2_epu32(b0, b1, _mm_shuffle_epi32(mb, 0x0E));
  }
  sa->s0 = _mm_add_epi32(a0, sa->s0);
  sa->s1 = _mm_add_epi32(a1, sa->s1);
  sb->s0 = _mm_add_epi32(b0, sb->s0);
  sb->s1 = _mm_add_epi32(b1, sb->s1);
}

/* A leaf message, 0x00 || entry || padding, seen as blocks without copying the
 * entry: block 0 (prefix + first 63 bytes) and the tail (last bytes + padding) are
 * built; the blocks between are read from the entry itself. */
typedef struct leaf_msg {
  const uint8_t *data;
  size_t full;      /* blocks made only of message bytes */
  size_t nblocks;
  uint8_t first[64];
  uint8_t tail[128];
} leaf_msg;

static void leaf_prep(leaf_msg *m, const uint8_t *data, size_t len) {
  size_t total = len + 1;
  m->data = data;
  m->full = total / 64;
  size_t rem = total % 64;
  m->nblocks = m->full + (rem + 9 > 64 ? 2 : 1);
  if (m->full) {
    m->first[0] = 0x00;
    memcpy(m->first + 1, data, 63);
  }
  size_t tail_len = (m->nblocks - m->full) * 64;
  memset(m->tail, 0, tail_len);
  if (m->full) {
    memcpy(m->tail, data + m->full * 64 - 1, rem);
  } else {
    m->tail[0] = 0x00;
    memcpy(m->tail + 1, data, len);
  }
  m->tail[rem] = 0x80;
  uint64_t bits = (uint64_t)total * 8;
  for (int i = 0; i < 8; i++) m->tail[tail_len - 1 - i] = (uint8_t)(bits >> (8 * i));
}

static inline const uint8_t *leaf_block(const leaf_msg *m, size_t k) {
  if (k < m->full) return k == 0 ? m->first : m->data + 64 * k - 1;
  return m->tail + 64 * (k - m->full);
}

NI static void leaf1(const uint8_t *d, size_t len, uint8_t out[32]) {
  leaf_msg m;
  leaf_prep(&m, d, len);
  ni_st st = ni_init();
  for (size_t k = 0; k < m.nblocks; k++) ni_block(&st, leaf_block(&m, k));
  ni_out(st, out);
}

NI static void leaf2(const tile_bundle_entry *ea, const tile_bundle_entry *eb, uint8_t oa[32], uint8_t ob[32]) {
  leaf_msg ma, mb;
  leaf_prep(&ma, ea->data, ea->len);
  leaf_prep(&mb, eb->data, eb->len);
  ni_st sa = ni_init(), sb = ni_init();
  size_t common = ma.nblocks < mb.nblocks ? ma.nblocks : mb.nblocks, k;
  for (k = 0; k < common; k++) ni_block2(&sa, leaf_block(&ma, k), &sb, leaf_block(&mb, k));
  for (size_t j = k; j < ma.nblocks; j++) ni_block(&sa, leaf_block(&ma, j));
  for (size_t j = k; j < mb.nblocks; j++) ni_block(&sb, leaf_block(&mb, j));
  ni_out(sa, oa);
  ni_out(sb, ob);
}

/* 0x01 || l || r, 65 bytes: two blocks. */
static inline void node_prep(uint8_t buf[128], const uint8_t l[32], const uint8_t r[32]) {
  buf[0] = 0x01;
  memcpy(buf + 1, l, 32);
  memcpy(buf + 33, r, 32);
  buf[65] = 0x80;
  memset(buf + 66, 0, 60);
  buf[126] = 0x02; /* 520 bits = 0x208 */
  buf[127] = 0x08;
}

NI static void node2(const uint8_t *la, const uint8_t *ra, const uint8_t *lb, const uint8_t *rb, uint8_t *oa,
                     uint8_t *ob) {
  uint8_t ba[128], bb[128];
  node_prep(ba, la, ra);
  node_prep(bb, lb, rb);
  ni_st sa = ni_init(), sb = ni_init();
  ni_block2(&sa, ba, &sb, bb);
  ni_block2(&sa, ba + 64, &sb, bb + 64);
  ni_out(sa, oa);
  ni_out(sb, ob);
}

NI static void ni_bundle(const tile_bundle_entry *e, unsigned n, uint8_t (*leaves)[MERKLE_HASH_SIZE],
                         uint8_t *root) {
  unsigned i = 0;
  for (; i + 1 < n; i += 2) leaf2(&e[i], &e[i + 1], leaves[i], leaves[i + 1]);
  if (i < n) leaf1(e[i].data, e[i].len, leaves[i]);
  if (n != TILE_WIDTH || !root) return;
  uint8_t work[TILE_WIDTH / 2][MERKLE_HASH_SIZE];
  for (i = 0; i < TILE_WIDTH / 2; i += 2)
    node2(leaves[2 * i], leaves[2 * i + 1], leaves[2 * i + 2], leaves[2 * i + 3], work[i], work[i + 1]);
  for (unsigned w = TILE_WIDTH / 2; w > 2; w /= 2)
    for (i = 0; i < w / 2; i += 2)
      node2(work[2 * i], work[2 * i + 1], work[2 * i + 2], work[2 * i + 3], work[i], work[i + 1]);
  merkle_node_hash(work[0], work[1], root);
}

#endif

void fasthash_bundle(const tile_bundle_entry *e, unsigned n, uint8_t (*leaves)[MERKLE_HASH_SIZE], uint8_t *root) {
#ifdef FASTHASH_X86
  if (fasthash_sha_ni()) {
    ni_bundle(e, n, leaves, root);
    return;
  }
#endif
  portable_bundle(e, n, leaves, root);
}
