/* util.h: small helpers shared inside the dstack module (hex, RFC 3339 times, files).
 * Byte fields in dstack's API and in Intel's collateral are hex strings, and collateral
 * validity is given as RFC 3339 UTC times, so every part of the module needs these. */
#ifndef XT_DSTACK_UTIL_H
#define XT_DSTACK_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Decodes hex (either case, optional "0x" prefix) into out. Returns the number of
 * bytes written, or -1 if the text is not even-length hex or does not fit in cap. */
long dstack_hex_decode(const char *hex, size_t hex_len, uint8_t *out, size_t cap);
/* Writes 2*len lowercase hex digits and a NUL into out (cap >= 2*len+1). */
void dstack_hex_encode(const uint8_t *in, size_t len, char *out);
/* Parses "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)" into seconds since the epoch.
 * Returns 0 on success, -1 on malformed input. */
int dstack_parse_rfc3339(const char *text, time_t *out);
/* Formats t as "YYYY-MM-DDTHH:MM:SSZ" into out (cap >= 21). */
void dstack_format_rfc3339(time_t t, char *out, size_t cap);
/* Reads a whole file (at most max bytes) into a NUL-terminated malloc'd buffer.
 * Returns NULL and sets err on failure. */
uint8_t *dstack_read_file(const char *path, size_t max, size_t *len, char *err, size_t errlen);

#endif
