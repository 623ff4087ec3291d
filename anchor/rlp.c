#include "anchor/rlp.h"

#include <stdlib.h>
#include <string.h>

void rlp_buf_init(rlp_buf *b) { memset(b, 0, sizeof *b); }

void rlp_buf_free(rlp_buf *b) {
  free(b->data);
  memset(b, 0, sizeof *b);
}

int rlp_buf_error(const rlp_buf *b) { return b->failed ? -1 : 0; }

static int reserve(rlp_buf *b, size_t extra) {
  if (b->failed) return -1;
  if (extra > SIZE_MAX / 2 - b->len) {
    b->failed = 1;
    return -1;
  }
  if (b->len + extra <= b->cap) return 0;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < b->len + extra) cap *= 2;
  uint8_t *p = realloc(b->data, cap);
  if (!p) {
    b->failed = 1;
    return -1;
  }
  b->data = p;
  b->cap = cap;
  return 0;
}

void rlp_put_raw(rlp_buf *b, const uint8_t *p, size_t n) {
  if (reserve(b, n)) return;
  if (n) memcpy(b->data + b->len, p, n);
  b->len += n;
}

/* Header for a payload of n bytes: short form below 56 bytes, else the length's
 * big-endian bytes after a length-of-length byte. */
static size_t header(uint8_t out[9], uint8_t base, size_t n) {
  if (n < 56) {
    out[0] = (uint8_t)(base + n);
    return 1;
  }
  uint8_t be[8];
  size_t k = 0;
  for (size_t v = n; v; v >>= 8) be[k++] = (uint8_t)v;
  out[0] = (uint8_t)(base + 55 + k);
  for (size_t i = 0; i < k; i++) out[1 + i] = be[k - 1 - i];
  return 1 + k;
}

void rlp_put_bytes(rlp_buf *b, const uint8_t *p, size_t n) {
  if (n == 1 && p[0] < 0x80) {
    rlp_put_raw(b, p, 1);
    return;
  }
  uint8_t h[9];
  size_t hl = header(h, 0x80, n);
  if (reserve(b, hl + n)) return;
  rlp_put_raw(b, h, hl);
  rlp_put_raw(b, p, n);
}

void rlp_put_uint_be(rlp_buf *b, const uint8_t *be, size_t n) {
  while (n && be[0] == 0) {
    be++;
    n--;
  }
  rlp_put_bytes(b, be, n);
}

void rlp_put_uint(rlp_buf *b, uint64_t v) {
  uint8_t be[8];
  for (int i = 7; i >= 0; i--, v >>= 8) be[i] = (uint8_t)v;
  rlp_put_uint_be(b, be, 8);
}

size_t rlp_list_begin(rlp_buf *b) { return b->len; }

void rlp_list_end(rlp_buf *b, size_t mark) {
  if (b->failed || mark > b->len) {
    b->failed = 1;
    return;
  }
  uint8_t h[9];
  size_t n = b->len - mark;
  size_t hl = header(h, 0xc0, n);
  if (reserve(b, hl)) return;
  memmove(b->data + mark + hl, b->data + mark, n);
  memcpy(b->data + mark, h, hl);
  b->len += hl;
}

/* Long-form length: k big-endian bytes, no leading zero, and >= 56 (else the short
 * form was required). */
static int long_length(const uint8_t *p, size_t k, size_t avail, size_t *out) {
  if (k > avail || k > sizeof(size_t) || p[0] == 0) return -1;
  size_t n = 0;
  for (size_t i = 0; i < k; i++) n = n << 8 | p[i];
  if (n < 56) return -1;
  *out = n;
  return 0;
}

int rlp_decode(const uint8_t *in, size_t len, rlp_item *item, size_t *used) {
  if (len == 0) return -1;
  uint8_t b0 = in[0];
  size_t hl, n;
  if (b0 < 0x80) {
    item->is_list = 0;
    item->payload = in;
    item->len = 1;
    *used = 1;
    return 0;
  }
  if (b0 <= 0xb7) {
    hl = 1;
    n = b0 - 0x80;
    item->is_list = 0;
  } else if (b0 <= 0xbf) {
    size_t k = b0 - 0xb7;
    if (long_length(in + 1, k, len - 1, &n)) return -1;
    hl = 1 + k;
    item->is_list = 0;
  } else if (b0 <= 0xf7) {
    hl = 1;
    n = b0 - 0xc0;
    item->is_list = 1;
  } else {
    size_t k = b0 - 0xf7;
    if (long_length(in + 1, k, len - 1, &n)) return -1;
    hl = 1 + k;
    item->is_list = 1;
  }
  if (n > len - hl) return -1;
  /* A single byte below 0x80 must be its own encoding. */
  if (!item->is_list && n == 1 && in[hl] < 0x80) return -1;
  item->payload = in + hl;
  item->len = n;
  *used = hl + n;
  return 0;
}

int rlp_decode_full(const uint8_t *in, size_t len, rlp_item *item) {
  size_t used;
  if (rlp_decode(in, len, item, &used) || used != len) return -1;
  return 0;
}

int rlp_list_next(const rlp_item *list, size_t *pos, rlp_item *item) {
  if (!list->is_list || *pos > list->len) return -1;
  if (*pos == list->len) return 0;
  size_t used;
  if (rlp_decode(list->payload + *pos, list->len - *pos, item, &used)) return -1;
  *pos += used;
  return 1;
}

int rlp_item_uint(const rlp_item *item, uint64_t *out) {
  if (item->is_list || item->len > 8 || (item->len && item->payload[0] == 0)) return -1;
  uint64_t v = 0;
  for (size_t i = 0; i < item->len; i++) v = v << 8 | item->payload[i];
  *out = v;
  return 0;
}
