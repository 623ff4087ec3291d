/* util.h: DEPRECATED wrappers over base/, deleted once client/ uses base/ (the lead
 * deletes this file and util.c at merge). No file of dstack/ but util.c includes it;
 * new code calls base/hex.h, base/time.h and base/file.h directly. */
#ifndef XT_DSTACK_UTIL_H
#define XT_DSTACK_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Deleted once client/ uses base/: xt_hex_decode(..., XT_HEX_0X, ...).
 * Returns the number of bytes written, or -1 if the text is not even-length hex (either
 * case, optional "0x") or does not fit in cap. */
long dstack_hex_decode(const char *hex, size_t hex_len, uint8_t *out, size_t cap);
/* Deleted once client/ uses base/: xt_hex_encode. */
void dstack_hex_encode(const uint8_t *in, size_t len, char *out);
/* Deleted once client/ uses base/: xt_parse_rfc3339. Returns 0, or -1. */
int dstack_parse_rfc3339(const char *text, time_t *out);
/* Deleted once client/ uses base/: xt_format_rfc3339 (out is "" when it cannot). */
void dstack_format_rfc3339(time_t t, char *out, size_t cap);
/* Deleted once client/ uses base/: xt_file_read. Returns the NUL-terminated buffer (the
 * caller frees it), or NULL with err set. */
uint8_t *dstack_read_file(const char *path, size_t max, size_t *len, char *err, size_t errlen);

#endif
