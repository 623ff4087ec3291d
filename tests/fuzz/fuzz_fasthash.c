/* Fuzz target: the audit's bundle hashing (client/fasthash.c, SHA-NI two messages at a
 * time) must give exactly merkle.h's leaf hashes and subtree root for any entries:
 * the input is cut into up to 256 entries whose lengths come from the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client/fasthash.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static tile_bundle_entry e[TILE_WIDTH];
  static uint8_t got[TILE_WIDTH][32], want[TILE_WIDTH][32];
  unsigned n = 0;
  size_t off = 0;
  while (n < TILE_WIDTH && off < size) {
    size_t len = 1 + (size_t)data[off] * 3; /* 1..766: crosses 1-13 block boundaries */
    if (len > size - off) len = size - off;
    e[n].data = data + off;
    e[n].len = len;
    off += len;
    n++;
  }
  /* Reuse entries to fill a whole bundle when the input is short, so the subtree
   * root is exercised too. */
  unsigned used = n;
  while (used && n < TILE_WIDTH) {
    e[n] = e[n % used];
    n++;
  }
  if (!n) return 0;
  uint8_t root[32], wroot[32];
  fasthash_bundle(e, n, got, n == TILE_WIDTH ? root : NULL);
  for (unsigned i = 0; i < n; i++) merkle_leaf_hash(e[i].data, e[i].len, want[i]);
  if (memcmp(got, want, (size_t)n * 32)) abort();
  if (n == TILE_WIDTH) {
    for (unsigned k = TILE_WIDTH; k > 1; k /= 2)
      for (unsigned i = 0; i < k / 2; i++) merkle_node_hash(want[2 * i], want[2 * i + 1], want[i]);
    memcpy(wroot, want[0], 32);
    if (memcmp(root, wroot, 32)) abort();
  }
  return 0;
}
