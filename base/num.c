/* num.c: strict decimal parsing. */
#include "base/num.h"

#include <string.h>

xt_err xt_parse_u64n(const char *s, size_t len, int flags, uint64_t min, uint64_t max,
                     uint64_t *out) {
  if (!s || len == 0) return XT_EINVAL;
  if ((flags & XT_NUM_CANONICAL) && len > 1 && s[0] == '0') return XT_EINVAL;
  uint64_t v = 0;
  int overflow = 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9') return XT_EINVAL;
    unsigned d = (unsigned)(s[i] - '0');
    if (v > (UINT64_MAX - d) / 10) overflow = 1;
    else v = v * 10 + d;
  }
  if (overflow || v < min || v > max) return XT_ERANGE;
  *out = v;
  return XT_OK;
}

xt_err xt_parse_u64(const char *s, int flags, uint64_t min, uint64_t max, uint64_t *out) {
  if (!s) return XT_EINVAL;
  return xt_parse_u64n(s, strlen(s), flags, min, max, out);
}
