/* hex.h: the hex forms Ethereum JSON-RPC uses. "Data" is 0x + two digits per byte;
 * a "quantity" is 0x + the shortest hex digits of a number ("0x0" for zero). */
#ifndef XT_ANCHOR_HEX_H
#define XT_ANCHOR_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Writes "0x" + 2*len lowercase digits + NUL into out (capacity 2*len+3). */
void hex_encode0x(const uint8_t *in, size_t len, char *out);
/* Writes 2*len lowercase digits + NUL (capacity 2*len+1). */
void hex_encode(const uint8_t *in, size_t len, char *out);
/* Decodes exactly `len` bytes from hex text with an optional 0x prefix; the text must
 * hold exactly 2*len digits. Returns 0 or -1. */
int hex_decode_exact(const char *hex, uint8_t *out, size_t len);
/* Decodes hex data of any even length (optional 0x) into a new malloc'd buffer
 * (never NULL on success, even for zero bytes). Returns 0 or -1. */
int hex_decode_alloc(const char *hex, uint8_t **out, size_t *len);
/* Parses a JSON-RPC quantity ("0x1a") into a uint64; rejects overflow, missing
 * prefix, empty digits and leading zeros other than "0x0". Returns 0 or -1. */
int hex_parse_quantity(const char *s, uint64_t *out);
/* Formats a quantity: "0x" + shortest digits (capacity 19). */
void hex_format_quantity(uint64_t v, char out[19]);

#endif
