/* rlp.h: Ethereum's Recursive Length Prefix encoding (Yellow Paper appendix B).
 * Private to anchor/ (and its tests): only tx.c builds RLP.
 *
 * Encoding appends to a growable buffer; a failed allocation is remembered in the
 * buffer (every later call is a no-op) so callers check once, at rlp_buf_error().
 * Decoding is strict: only the one canonical encoding of a value is accepted (no
 * long form where the short form fits, no leading zero bytes in lengths or integers,
 * no single byte below 0x80 wrapped as a string), and nothing may run past the input. */
#ifndef XT_ANCHOR_RLP_H
#define XT_ANCHOR_RLP_H

#include <stddef.h>
#include <stdint.h>

typedef struct rlp_buf {
  uint8_t *data;
  size_t len;
  size_t cap;
  int failed; /* an allocation failed; data is incomplete */
} rlp_buf;

void rlp_buf_init(rlp_buf *b);
void rlp_buf_free(rlp_buf *b);
int rlp_buf_error(const rlp_buf *b); /* 0 if every append so far succeeded */
/* Appends raw bytes (no header): for prefixes such as the transaction type byte. */
void rlp_put_raw(rlp_buf *b, const uint8_t *p, size_t n);

/* A byte string item. */
void rlp_put_bytes(rlp_buf *b, const uint8_t *p, size_t n);
/* An integer item: big-endian without leading zeros; 0 is the empty string. */
void rlp_put_uint(rlp_buf *b, uint64_t v);
/* An integer given as big-endian bytes of any width (e.g. 256-bit values). */
void rlp_put_uint_be(rlp_buf *b, const uint8_t *be, size_t n);
/* Lists: mark = rlp_list_begin(b); ...items...; rlp_list_end(b, mark). */
size_t rlp_list_begin(rlp_buf *b);
void rlp_list_end(rlp_buf *b, size_t mark);

/* A decoded item: a view into the input, nothing copied. */
typedef struct rlp_item {
  int is_list;
  const uint8_t *payload; /* string bytes, or the concatenated encodings of list items */
  size_t len;
} rlp_item;

/* Decodes the one item at the start of in[0..len); *used = its encoded length.
 * Returns 0, or -1 if malformed or non-canonical. */
int rlp_decode(const uint8_t *in, size_t len, rlp_item *item, size_t *used);
/* Decodes an input that must be exactly one item. */
int rlp_decode_full(const uint8_t *in, size_t len, rlp_item *item);
/* Iterates a list: *pos starts at 0; returns 1 with the next item, 0 at the end, -1
 * on a malformed element. */
int rlp_list_next(const rlp_item *list, size_t *pos, rlp_item *item);
/* Reads a string item as an integer of at most 8 bytes, canonically encoded. */
int rlp_item_uint(const rlp_item *item, uint64_t *out);

#endif
