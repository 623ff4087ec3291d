/* buf.c: capped growable buffer. */
#include "base/buf.h"

#include <stdlib.h>
#include <string.h>

xt_buf xt_buf_make(size_t max) {
  xt_buf b = {NULL, 0, 0, max, 0};
  return b;
}

xt_err xt_buf_append(xt_buf *b, const void *p, size_t n) {
  if (n > b->max || b->len > b->max - n) {
    b->overflow = 1;
    return XT_ETOOBIG;
  }
  if (b->len + n + 1 > b->cap) {
    size_t want = b->cap ? b->cap : 256;
    while (want < b->len + n + 1) want *= 2;
    uint8_t *nd = realloc(b->data, want);
    if (!nd) return XT_ENOMEM;
    b->data = nd;
    b->cap = want;
  }
  if (n) memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = 0;
  return XT_OK;
}

void xt_buf_free(xt_buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
  b->overflow = 0;
}

size_t xt_buf_curl_write(char *p, size_t size, size_t n, void *userdata) {
  if (n && size > SIZE_MAX / n) return 0;
  return xt_buf_append(userdata, p, size * n) == XT_OK ? size * n : 0;
}
