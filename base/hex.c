/* hex.c: hex encoding and strict decoding. */
#include "base/hex.h"

#include <stdlib.h>
#include <string.h>

static int nibble(unsigned char c, int flags) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F' && !(flags & XT_HEX_LOWER)) return c - 'A' + 10;
  return -1;
}

/* Both digits of every byte: one load and one 2-byte store a byte instead of two of
 * each (hex is the bulk of a proof answer: 20-odd hashes). */
#define HEX_D(n) ((n) < 10 ? '0' + (n) : 'a' - 10 + (n))
#define HEX_P(x) {HEX_D((x) >> 4), HEX_D((x) & 15)}
#define HEX_P4(x) HEX_P(x), HEX_P((x) + 1), HEX_P((x) + 2), HEX_P((x) + 3)
#define HEX_P16(x) HEX_P4(x), HEX_P4((x) + 4), HEX_P4((x) + 8), HEX_P4((x) + 12)
#define HEX_P64(x) HEX_P16(x), HEX_P16((x) + 16), HEX_P16((x) + 32), HEX_P16((x) + 48)
static const char pairs[256][2] = {HEX_P64(0), HEX_P64(64), HEX_P64(128), HEX_P64(192)};

void xt_hex_encode(const uint8_t *in, size_t len, char *out) {
  for (size_t i = 0; i < len; i++) memcpy(out + 2 * i, pairs[in[i]], 2);
  out[2 * len] = 0;
}

void xt_hex_encode0x(const uint8_t *in, size_t len, char *out) {
  out[0] = '0';
  out[1] = 'x';
  xt_hex_encode(in, len, out + 2);
}

static void skip_prefix(const char **hex, size_t *len, int flags) {
  if ((flags & XT_HEX_0X) && *len >= 2 && (*hex)[0] == '0' && ((*hex)[1] == 'x' || (*hex)[1] == 'X')) {
    *hex += 2;
    *len -= 2;
  }
}

/* Precondition: h holds 2*n characters. */
static xt_err decode_pairs(const char *h, size_t n, int flags, uint8_t *out) {
  for (size_t i = 0; i < n; i++) {
    int a = nibble((unsigned char)h[2 * i], flags), b = nibble((unsigned char)h[2 * i + 1], flags);
    if (a < 0 || b < 0) return XT_EINVAL;
    out[i] = (uint8_t)(a << 4 | b);
  }
  return XT_OK;
}

xt_err xt_hex_decode(const char *hex, size_t hexlen, int flags, uint8_t *out, size_t cap,
                     size_t *outlen) {
  if (!hex && hexlen) return XT_EINVAL;
  skip_prefix(&hex, &hexlen, flags);
  if (hexlen % 2) return XT_EINVAL;
  if (hexlen / 2 > cap) return XT_ETOOBIG;
  xt_err e = decode_pairs(hex, hexlen / 2, flags, out);
  if (e == XT_OK && outlen) *outlen = hexlen / 2;
  return e;
}

xt_err xt_hex_decode_exact(const char *hex, int flags, uint8_t *out, size_t len) {
  if (!hex) return XT_EINVAL;
  size_t n = strlen(hex);
  skip_prefix(&hex, &n, flags);
  if (n != 2 * len) return XT_EINVAL;
  return decode_pairs(hex, len, flags, out);
}

xt_err xt_hex_decode_alloc(const char *hex, int flags, uint8_t **out, size_t *len) {
  if (!hex) return XT_EINVAL;
  size_t n = strlen(hex);
  skip_prefix(&hex, &n, flags);
  if (n % 2) return XT_EINVAL;
  uint8_t *buf = malloc(n / 2 ? n / 2 : 1);
  if (!buf) return XT_ENOMEM;
  xt_err e = decode_pairs(hex, n / 2, flags, buf);
  if (e != XT_OK) {
    free(buf);
    return e;
  }
  *out = buf;
  *len = n / 2;
  return XT_OK;
}
