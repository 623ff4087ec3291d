/* Fuzz target: tile path decoding must never crash, and whatever it accepts must
 * encode back to exactly the same bytes (the encoding is canonical). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "merkle/tile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  tile_id t;
  if (tile_path_decode((const char *)data, size, &t) != MERKLE_OK) return 0;
  char buf[TILE_PATH_MAX];
  size_t len;
  if (tile_path_encode(&t, buf, sizeof buf, &len) != MERKLE_OK) abort();
  if (len != size || memcmp(buf, data, size) != 0) abort();
  return 0;
}
