/* Fuzz target: RLP decoding (anchor/rlp.h) of untrusted bytes (transactions and
 * receipts a node sends back). Decoding is strict, so whatever decodes is the one
 * canonical encoding of its value: re-encoding the decoded tree must give back the
 * input byte for byte, and every integer that rlp_item_uint accepts re-encodes to
 * the same item. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "anchor/rlp.h"

static int reencode(const rlp_item *it, rlp_buf *b, int depth) {
  if (depth > 10000) abort(); /* the input bounds depth; this would be a loop */
  if (!it->is_list) {
    rlp_put_bytes(b, it->payload, it->len);
    uint64_t v;
    if (rlp_item_uint(it, &v) == 0) {
      rlp_buf u;
      rlp_buf_init(&u);
      rlp_put_uint(&u, v);
      rlp_item back;
      if (rlp_buf_error(&u) || rlp_decode_full(u.data, u.len, &back) || back.is_list ||
          back.len != it->len || (it->len && memcmp(back.payload, it->payload, it->len)))
        abort();
      rlp_buf_free(&u);
    }
    return 0;
  }
  size_t mark = rlp_list_begin(b);
  size_t pos = 0;
  rlp_item child;
  int r;
  while ((r = rlp_list_next(it, &pos, &child)) == 1)
    if (reencode(&child, b, depth + 1)) return -1;
  /* Lists are checked lazily: an element may still be malformed. */
  if (r != 0) return -1;
  rlp_list_end(b, mark);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t *in = malloc(size ? size : 1); /* exact size: ASan sees overreads */
  if (!in) return 0;
  memcpy(in, data, size);
  rlp_item item;
  size_t used;
  if (rlp_decode(in, size, &item, &used) == 0 && (used > size || used == 0)) abort();
  if (rlp_decode_full(in, size, &item) == 0) {
    /* Decoding checks one level; list elements are checked as they are walked. A
     * tree that walks cleanly must re-encode to exactly the input. */
    rlp_buf b;
    rlp_buf_init(&b);
    if (reencode(&item, &b, 0) == 0 && (rlp_buf_error(&b) || b.len != size || memcmp(b.data, in, size)))
      abort();
    rlp_buf_free(&b);
  }
  free(in);
  return 0;
}
