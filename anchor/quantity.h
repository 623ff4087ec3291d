/* quantity.h: Ethereum JSON-RPC "quantities" (private to anchor/ and its tests).
 *
 * A quantity is "0x" followed by the shortest hex digits of a number ("0x0" for zero);
 * JSON-RPC uses it for every number (chain id, nonce, gas, block number). Byte strings
 * ("data") are plain hex with a 0x prefix: base/hex.h with XT_HEX_0X. */
#ifndef XT_ANCHOR_QUANTITY_H
#define XT_ANCHOR_QUANTITY_H

#include <stdint.h>

/* Parses the NUL-terminated s as a quantity into *out. Refused (returns -1, *out
 * untouched): NULL, no 0x/0X prefix, no digits, more than 16 digits, a leading zero
 * other than "0x0", a non-hex character. Returns 0 on success. */
int hex_parse_quantity(const char *s, uint64_t *out) __attribute__((warn_unused_result));

/* Writes "0x" + the shortest lowercase digits of v + NUL into out (at most 19 bytes). */
void hex_format_quantity(uint64_t v, char out[19]);

#endif
