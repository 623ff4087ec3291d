/* time.h: RFC 3339 UTC times, the form Intel's collateral and our reports use. */
#ifndef XT_BASE_TIME_H
#define XT_BASE_TIME_H

#include <stddef.h>
#include <time.h>

#include "base/err.h"

/* Parses "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)" (the T may be 't' or ' ', the Z
 * 'z') into seconds since the epoch; fractions are dropped. The whole text must match.
 * Returns XT_OK and sets *out, or XT_EINVAL (NULL, malformed or out-of-range fields). */
xt_err xt_parse_rfc3339(const char *text, time_t *out) __attribute__((warn_unused_result));

/* Formats t as "YYYY-MM-DDTHH:MM:SSZ" into out. Returns XT_OK, or XT_ETOOBIG when cap
 * is under 21 bytes or t cannot be shown (out is then ""). */
xt_err xt_format_rfc3339(time_t t, char *out, size_t cap);

#endif
