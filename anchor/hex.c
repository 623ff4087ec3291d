/* hex.c: deleted once logd/ and client/ use base/ (see hex.h). */
#include "anchor/hex.h"

#include "base/hex.h"

void hex_encode(const uint8_t *in, size_t len, char *out) { xt_hex_encode(in, len, out); }

void hex_encode0x(const uint8_t *in, size_t len, char *out) { xt_hex_encode0x(in, len, out); }

int hex_decode_exact(const char *hex, uint8_t *out, size_t len) {
  return xt_hex_decode_exact(hex, XT_HEX_0X, out, len) == XT_OK ? 0 : -1;
}

int hex_decode_alloc(const char *hex, uint8_t **out, size_t *len) {
  return xt_hex_decode_alloc(hex, XT_HEX_0X, out, len) == XT_OK ? 0 : -1;
}
