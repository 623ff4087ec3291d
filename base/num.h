/* num.h: strict decimal numbers from untrusted text (flags, URLs, JSON strings, files).
 * strtoull alone accepts white space, signs ("-1" becomes 2^64-1) and trailing garbage;
 * these accept only ASCII digits. */
#ifndef XT_BASE_NUM_H
#define XT_BASE_NUM_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* Parses the len characters at s as a decimal number in [min, max]. Only '0'-'9' are
 * accepted: no sign, no white space, no empty text; leading zeros are accepted only when
 * XT_NUM_CANONICAL is not set (then "0" is the only number that starts with 0).
 * Returns XT_OK and sets *out; XT_EINVAL for a non-digit or empty text; XT_ERANGE for a
 * number that overflows 64 bits or lies outside [min, max]. *out is untouched on error. */
enum { XT_NUM_CANONICAL = 1 };
xt_err xt_parse_u64n(const char *s, size_t len, int flags, uint64_t min, uint64_t max,
                     uint64_t *out) __attribute__((warn_unused_result));

/* The same for a NUL-terminated s (NULL is XT_EINVAL). */
xt_err xt_parse_u64(const char *s, int flags, uint64_t min, uint64_t max, uint64_t *out)
    __attribute__((warn_unused_result));

#endif
