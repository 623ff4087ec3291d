/* util.c: DEPRECATED wrappers over base/, deleted once client/ uses base/ (see util.h). */
#include "dstack/util.h"

#include "base/file.h"
#include "base/hex.h"
#include "base/time.h"

/* deleted once client/ uses base/ */
long dstack_hex_decode(const char *hex, size_t hex_len, uint8_t *out, size_t cap) {
  size_t n = 0;
  if (xt_hex_decode(hex, hex_len, XT_HEX_0X, out, cap, &n) != XT_OK) return -1;
  return (long)n;
}

/* deleted once client/ uses base/ */
void dstack_hex_encode(const uint8_t *in, size_t len, char *out) { xt_hex_encode(in, len, out); }

/* deleted once client/ uses base/ */
int dstack_parse_rfc3339(const char *text, time_t *out) {
  return xt_parse_rfc3339(text, out) == XT_OK ? 0 : -1;
}

/* deleted once client/ uses base/ */
void dstack_format_rfc3339(time_t t, char *out, size_t cap) {
  (void)xt_format_rfc3339(t, out, cap); /* leaves "" when it cannot format */
}

/* deleted once client/ uses base/ */
uint8_t *dstack_read_file(const char *path, size_t max, size_t *len, char *err, size_t errlen) {
  uint8_t *buf = NULL;
  if (xt_file_read(path, max, &buf, len, err, errlen) != XT_OK) return NULL;
  return buf;
}
