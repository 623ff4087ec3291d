/* Keccak-f[1600] and the sponge with rate 136 bytes (capacity 512 bits), written from
 * the Keccak reference (FIPS 202 section 3 step mappings); lanes are little-endian. */
#include "anchor/keccak.h"

#include <string.h>

#define RATE 136

static const uint64_t round_constants[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
    0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
    0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};

/* rho offsets and pi destinations, following lane 1 around the pi permutation. */
static const unsigned rho[24] = {1,  3,  6,  10, 15, 21, 28, 36, 45, 55, 2,  14,
                                 27, 41, 56, 8,  25, 43, 62, 18, 39, 61, 20, 44};
static const unsigned pi[24] = {10, 7,  11, 17, 18, 3, 5,  16, 8,  21, 24, 4,
                                15, 23, 19, 13, 12, 2, 20, 14, 22, 9,  6,  1};

static uint64_t rotl(uint64_t x, unsigned n) { return (x << n) | (x >> (64 - n)); }

static void keccak_f1600(uint64_t a[25]) {
  for (int round = 0; round < 24; round++) {
    uint64_t c[5], d;
    for (int x = 0; x < 5; x++) c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
    for (int x = 0; x < 5; x++) {
      d = c[(x + 4) % 5] ^ rotl(c[(x + 1) % 5], 1);
      for (int y = 0; y < 25; y += 5) a[y + x] ^= d;
    }
    uint64_t t = a[1];
    for (int i = 0; i < 24; i++) {
      unsigned j = pi[i];
      uint64_t tmp = a[j];
      a[j] = rotl(t, rho[i]);
      t = tmp;
    }
    for (int y = 0; y < 25; y += 5) {
      uint64_t row[5];
      for (int x = 0; x < 5; x++) row[x] = a[y + x];
      for (int x = 0; x < 5; x++) a[y + x] = row[x] ^ (~row[(x + 1) % 5] & row[(x + 2) % 5]);
    }
    a[0] ^= round_constants[round];
  }
}

static void absorb_block(uint64_t state[25], const uint8_t *block) {
  for (int i = 0; i < RATE / 8; i++) {
    uint64_t lane = 0;
    for (int b = 7; b >= 0; b--) lane = (lane << 8) | block[8 * i + b];
    state[i] ^= lane;
  }
  keccak_f1600(state);
}

void keccak256_init(keccak256_ctx *c) { memset(c, 0, sizeof *c); }

void keccak256_update(keccak256_ctx *c, const void *data, size_t len) {
  const uint8_t *p = data;
  if (c->buflen) {
    size_t take = RATE - c->buflen;
    if (take > len) take = len;
    memcpy(c->buf + c->buflen, p, take);
    c->buflen += take;
    p += take;
    len -= take;
    if (c->buflen < RATE) return;
    absorb_block(c->state, c->buf);
    c->buflen = 0;
  }
  while (len >= RATE) {
    absorb_block(c->state, p);
    p += RATE;
    len -= RATE;
  }
  if (len) {
    memcpy(c->buf, p, len);
    c->buflen = len;
  }
}

void keccak256_final(keccak256_ctx *c, uint8_t out[KECCAK256_SIZE]) {
  memset(c->buf + c->buflen, 0, RATE - c->buflen);
  c->buf[c->buflen] ^= 0x01; /* Keccak's multi-rate padding: 1 0* 1 */
  c->buf[RATE - 1] ^= 0x80;
  absorb_block(c->state, c->buf);
  for (int i = 0; i < KECCAK256_SIZE; i++) out[i] = (uint8_t)(c->state[i / 8] >> (8 * (i % 8)));
  memset(c, 0, sizeof *c);
}

void keccak256(const void *data, size_t len, uint8_t out[KECCAK256_SIZE]) {
  keccak256_ctx c;
  keccak256_init(&c);
  keccak256_update(&c, data, len);
  keccak256_final(&c, out);
}
