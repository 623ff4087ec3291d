/* Fuzz target: the hex forms of JSON-RPC (quantities, anchor/quantity.h; data, base/hex.h
 * with the 0x prefix, as anchor/rpc.c reads it) and the strict ABI word
 * readers (anchor/abi.h), all fed by node answers. Properties: a quantity that parses
 * formats back to the same text (modulo hex case); data that decodes encodes back;
 * an ABI word that reads as a uint64 or an address writes back to the same word. */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "anchor/abi.h"
#include "anchor/quantity.h"
#include "base/hex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1);
  if (!s) return 0;
  memcpy(s, data, size);
  s[size] = 0;

  uint64_t q;
  if (hex_parse_quantity(s, &q) == 0) {
    char back[19];
    hex_format_quantity(q, back);
    if (strcasecmp(back, s) != 0) abort();
  }
  uint8_t *bytes;
  size_t n;
  if (xt_hex_decode_alloc(s, XT_HEX_0X, &bytes, &n) == XT_OK) {
    if (!bytes) abort();
    const char *digits = (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) ? s + 2 : s;
    if (strlen(digits) != 2 * n) abort();
    char *enc = malloc(2 * n + 1);
    if (!enc) abort();
    xt_hex_encode(bytes, n, enc);
    if (strcasecmp(enc, digits) != 0) abort();
    uint8_t fixed[64];
    if (n <= sizeof fixed && (xt_hex_decode_exact(s, XT_HEX_0X, fixed, n) != XT_OK || (n && memcmp(fixed, bytes, n))))
      abort();
    free(enc);
    free(bytes);
  }

  /* The raw bytes as ABI return data. */
  for (size_t i = 0; i < 4; i++) {
    const uint8_t *w = abi_word(data, size, i);
    if (!w) {
      if ((i + 1) * ABI_WORD <= size) abort();
      break;
    }
    if (w != data + i * ABI_WORD) abort();
    uint8_t again[ABI_WORD];
    uint64_t u;
    if (abi_word_uint64(w, &u) == 0) {
      abi_word_put_uint64(again, u);
      if (memcmp(again, w, ABI_WORD)) abort();
    }
    uint8_t addr[20];
    if (abi_word_address(w, addr) == 0) {
      abi_word_put_address(again, addr);
      if (memcmp(again, w, ABI_WORD)) abort();
    }
  }
  free(s);
  return 0;
}
