/* Fuzz target: DCAP collateral JSON (TCB info, QE identity, hex CRLs) from untrusted
 * bytes. No crash, no read past the input, no leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dstack/quote.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size ? size : 1);
  if (!text) return 0;
  memcpy(text, data, size);
  char err[256];
  tdx_collateral *c = tdx_collateral_parse(text, size, err, sizeof err);
  if (c) {
    time_t lo, hi;
    tdx_collateral_window(c, &lo, &hi);
    tdx_collateral_free(c);
  }
  free(text);
  return 0;
}
