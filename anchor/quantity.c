/* quantity.c: JSON-RPC quantities, strict (see quantity.h). */
#include "anchor/quantity.h"

#include <string.h>

static const char digits[] = "0123456789abcdef";

static int nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
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
