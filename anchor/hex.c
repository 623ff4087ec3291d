#include "anchor/hex.h"

#include <stdlib.h>
#include <string.h>

static const char digits[] = "0123456789abcdef";

static int nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void hex_encode(const uint8_t *in, size_t len, char *out) {
  for (size_t i = 0; i < len; i++) {
    out[2 * i] = digits[in[i] >> 4];
    out[2 * i + 1] = digits[in[i] & 15];
  }
  out[2 * len] = 0;
}

void hex_encode0x(const uint8_t *in, size_t len, char *out) {
  out[0] = '0';
  out[1] = 'x';
  hex_encode(in, len, out + 2);
}

static const char *skip0x(const char *s) {
  return (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) ? s + 2 : s;
}

static int decode_digits(const char *h, size_t nbytes, uint8_t *out) {
  for (size_t i = 0; i < nbytes; i++) {
    int a = nibble(h[2 * i]), b = nibble(h[2 * i + 1]);
    if (a < 0 || b < 0) return -1;
    out[i] = (uint8_t)(a << 4 | b);
  }
  return 0;
}

int hex_decode_exact(const char *hex, uint8_t *out, size_t len) {
  if (!hex) return -1;
  const char *h = skip0x(hex);
  if (strlen(h) != 2 * len) return -1;
  return decode_digits(h, len, out);
}

int hex_decode_alloc(const char *hex, uint8_t **out, size_t *len) {
  if (!hex) return -1;
  const char *h = skip0x(hex);
  size_t n = strlen(h);
  if (n % 2) return -1;
  uint8_t *buf = malloc(n / 2 ? n / 2 : 1);
  if (!buf) return -1;
  if (decode_digits(h, n / 2, buf)) {
    free(buf);
    return -1;
  }
  *out = buf;
  *len = n / 2;
  return 0;
}

int hex_parse_quantity(const char *s, uint64_t *out) {
  if (!s || s[0] != '0' || (s[1] != 'x' && s[1] != 'X')) return -1;
  const char *h = s + 2;
  size_t n = strlen(h);
  if (n == 0 || n > 16 || (n > 1 && h[0] == '0')) return -1;
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    int d = nibble(h[i]);
    if (d < 0) return -1;
    v = v << 4 | (uint64_t)d;
  }
  *out = v;
  return 0;
}

void hex_format_quantity(uint64_t v, char out[19]) {
  char tmp[16];
  int n = 0;
  do {
    tmp[n++] = digits[v & 15];
    v >>= 4;
  } while (v);
  out[0] = '0';
  out[1] = 'x';
  for (int i = 0; i < n; i++) out[2 + i] = tmp[n - 1 - i];
  out[2 + n] = 0;
}
