/* hex.h: the former hex helpers of anchor/, kept only for logd/ and client/ callers.
 *
 * Deleted once logd/ and client/ use base/ (base/hex.h: xt_hex_encode, xt_hex_encode0x,
 * xt_hex_decode_exact and xt_hex_decode_alloc with XT_HEX_0X). Nothing in anchor/,
 * collector/ or merkle/ includes this header any more; JSON-RPC quantities moved to
 * anchor/quantity.h. Each function is a one-line wrapper over base/ with the old
 * contract: 0 or -1, and an optional 0x prefix accepted on decoding. */
#ifndef XT_ANCHOR_HEX_H
#define XT_ANCHOR_HEX_H

#include <stddef.h>
#include <stdint.h>

/* deleted once logd/ and client/ use base/ */
void hex_encode0x(const uint8_t *in, size_t len, char *out);
/* deleted once logd/ and client/ use base/ */
void hex_encode(const uint8_t *in, size_t len, char *out);
/* deleted once logd/ and client/ use base/ */
int hex_decode_exact(const char *hex, uint8_t *out, size_t len);
/* deleted once logd/ and client/ use base/ */
int hex_decode_alloc(const char *hex, uint8_t **out, size_t *len);

#endif
