/* Fuzz target: TDX quote parsing and verification without collateral (PEM chain, PCK
 * certificate SGX extension DER, signatures) from untrusted bytes.
 *
 * Inputs starting with 'P' are patches over the real sample quote (read once from
 * tests/data/tdx/tdx_quote, relative to the repository root where
 * tests/fuzz/run.sh runs): pairs of (u16le offset, byte), so mutations reach the
 * signature data and certificate chain deep inside a well-formed quote. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dstack/quote.h"
#include "base/file.h"

static uint8_t *sample;
static size_t sample_len;

static void check(const uint8_t *buf, size_t len) {
  tdx_quote q;
  tdx_verdict v;
  char err[256];
  if (tdx_quote_parse(&q, buf, len, err, sizeof err) == 0)
    tdx_quote_verify(&q, NULL, 1751328000 /* 2025-07-01 */, &v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!sample) {
    char err[256];
    const char *dir = getenv("XT_TESTDATA");
    char path[512];
    snprintf(path, sizeof path, "%s/tdx/tdx_quote", dir ? dir : "tests/data");
    if (xt_file_read(path, 1 << 20, &sample, &sample_len, err, sizeof err) != XT_OK) {
      sample = calloc(1, 1);
      sample_len = 0;
    }
  }
  if (size >= 1 && data[0] == 'P' && sample_len) {
    uint8_t *copy = malloc(sample_len);
    if (!copy) return 0;
    memcpy(copy, sample, sample_len);
    for (size_t i = 1; i + 3 <= size; i += 3) {
      size_t off = (size_t)(data[i] | data[i + 1] << 8);
      if (off < sample_len) copy[off] = data[i + 2];
    }
    check(copy, sample_len);
    free(copy);
    return 0;
  }
  /* Copy into an exact-size heap buffer so ASan sees any overread. */
  uint8_t *buf = malloc(size ? size : 1);
  if (!buf) return 0;
  memcpy(buf, data, size);
  check(buf, size);
  size_t n;
  char err[256];
  uint8_t *decoded = tdx_quote_decode_file_bytes(buf, size, &n, err, sizeof err);
  free(decoded);
  free(buf);
  return 0;
}
