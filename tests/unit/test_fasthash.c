/* Tests for client/fasthash.c: bundle hashing (SHA-NI, two messages at a time) gives
 * exactly merkle.h's leaf hashes and subtree roots, for every entry length around the
 * block boundaries and for full and partial bundles. */
#include <stdlib.h>
#include <string.h>

#include "client/fasthash.h"
#include "tests/lib/check.h"

static uint8_t data[TILE_WIDTH * 3000];
static tile_bundle_entry e[TILE_WIDTH];
static uint8_t got[TILE_WIDTH][32], want[TILE_WIDTH][32];

static void reference(unsigned n, uint8_t root[32]) {
  for (unsigned i = 0; i < n; i++) merkle_leaf_hash(e[i].data, e[i].len, want[i]);
  if (n != TILE_WIDTH) return;
  uint8_t w[TILE_WIDTH][32];
  memcpy(w, want, sizeof w);
  for (unsigned k = TILE_WIDTH; k > 1; k /= 2)
    for (unsigned i = 0; i < k / 2; i++) merkle_node_hash(w[2 * i], w[2 * i + 1], w[i]);
  memcpy(root, w[0], 32);
}

static void test_lengths(void) {
  printf("# SHA-NI path: %s\n", fasthash_sha_ni() ? "yes" : "no (portable only)");
  for (size_t i = 0; i < sizeof data; i++) data[i] = (uint8_t)(i * 131 + 7);
  /* Every length 1..300 in pairs of different lengths, and some long ones. */
  for (unsigned start = 1; start <= 300; start += TILE_WIDTH / 2) {
    size_t off = 0;
    for (unsigned i = 0; i < TILE_WIDTH; i++) {
      size_t len = (start + i) % 2 ? start + i / 2 : 2999 - i * 7;
      e[i].data = data + off;
      e[i].len = len;
      off += len;
    }
    for (unsigned n = 1; n <= TILE_WIDTH; n++) {
      uint8_t r1[32], r2[32];
      reference(n, r1);
      fasthash_bundle(e, n, got, n == TILE_WIDTH ? r2 : NULL);
      CHECK(memcmp(got, want, (size_t)n * 32) == 0);
      if (n == TILE_WIDTH) CHECK(memcmp(r1, r2, 32) == 0);
    }
  }
}

static void test_block_edges(void) {
  /* 0x00 || entry is a multiple of 64 bytes, or leaves exactly 55/56 bytes in the
   * last block: the padding edge cases. */
  static const size_t lens[] = {54, 55, 56, 62, 63, 64, 118, 119, 120, 126, 127, 128, 191, 255, 65535};
  size_t n = sizeof lens / sizeof lens[0];
  static uint8_t big[65535 * 2];
  for (size_t i = 0; i < sizeof big; i++) big[i] = (uint8_t)(i ^ (i >> 8));
  for (size_t a = 0; a < n; a++)
    for (size_t b = 0; b < n; b++) {
      e[0].data = big;
      e[0].len = lens[a];
      e[1].data = big + 65535;
      e[1].len = lens[b];
      e[2] = e[0];
      reference(3, NULL);
      fasthash_bundle(e, 3, got, NULL);
      CHECK(memcmp(got, want, 3 * 32) == 0);
    }
}

static void test_portable(void) {
  fasthash_disable_sha_ni();
  for (unsigned i = 0; i < TILE_WIDTH; i++) {
    e[i].data = data + i * 100;
    e[i].len = 1 + i;
  }
  uint8_t r1[32], r2[32];
  reference(TILE_WIDTH, r1);
  fasthash_bundle(e, TILE_WIDTH, got, r2);
  CHECK(memcmp(got, want, sizeof got) == 0);
  CHECK(memcmp(r1, r2, 32) == 0);
}

int main(void) {
  CHECK_RUN(test_lengths);
  CHECK_RUN(test_block_edges);
  CHECK_RUN(test_portable);
  return check_finish();
}
