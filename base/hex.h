/* hex.h: hexadecimal text for bytes, as every format here uses it (dstack's API, Intel's
 * collateral, Ethereum's JSON-RPC data, our own JSON). Encoding is always lowercase. */
#ifndef XT_BASE_HEX_H
#define XT_BASE_HEX_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* Decoding flags. */
enum {
  XT_HEX_0X = 1,   /* accept an optional "0x"/"0X" prefix */
  XT_HEX_LOWER = 2 /* accept lowercase digits only (canonical forms) */
};

/* Writes 2*len lowercase digits and a NUL into out, which must hold 2*len+1 bytes. */
void xt_hex_encode(const uint8_t *in, size_t len, char *out);
/* Writes "0x", 2*len lowercase digits and a NUL into out (2*len+3 bytes). */
void xt_hex_encode0x(const uint8_t *in, size_t len, char *out);

/* Decodes the first hexlen characters of hex into out (cap bytes).
 * Returns XT_OK and sets *outlen (when not NULL) to the byte count; XT_EINVAL for an odd
 * number of digits or a non-digit (an empty text is zero bytes, not an error);
 * XT_ETOOBIG when the bytes do not fit in cap. out is unspecified on failure. */
xt_err xt_hex_decode(const char *hex, size_t hexlen, int flags, uint8_t *out, size_t cap,
                     size_t *outlen) __attribute__((warn_unused_result));

/* Decodes the NUL-terminated hex, which must hold exactly 2*len digits (after the prefix
 * XT_HEX_0X allows), into out. Returns XT_OK, or XT_EINVAL for anything else
 * (including hex == NULL). */
xt_err xt_hex_decode_exact(const char *hex, int flags, uint8_t *out, size_t len)
    __attribute__((warn_unused_result));

/* Decodes the NUL-terminated hex (any even length) into a new malloc'd buffer that the
 * caller frees; *out is non-NULL on success even for zero bytes. Returns XT_OK,
 * XT_EINVAL or XT_ENOMEM; *out and *len are untouched on failure. */
xt_err xt_hex_decode_alloc(const char *hex, int flags, uint8_t **out, size_t *len)
    __attribute__((warn_unused_result));

#endif
