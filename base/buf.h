/* buf.h: a growable byte buffer with a hard cap, and the libcurl write callback that fills
 * one. Every HTTP answer we read (logd, JSON-RPC nodes, dstack's agent, TikTok) is read
 * into one of these, so an endless or oversized answer stops at the cap instead of
 * exhausting memory. */
#ifndef XT_BASE_BUF_H
#define XT_BASE_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

typedef struct {
  uint8_t *data; /* NUL after the last byte once anything was appended; owned */
  size_t len;
  size_t cap;      /* allocated bytes */
  size_t max;      /* most bytes it will hold; set before use */
  int overflow;    /* set when an append would have passed max */
} xt_buf;

/* Returns a buffer with no storage that will hold at most max bytes. */
xt_buf xt_buf_make(size_t max);

/* Appends n bytes. Returns XT_OK; XT_ETOOBIG (and sets overflow; nothing appended) past
 * max; XT_ENOMEM. */
xt_err xt_buf_append(xt_buf *b, const void *p, size_t n) __attribute__((warn_unused_result));

/* Frees the storage and leaves an empty buffer with the same max. */
void xt_buf_free(xt_buf *b);

/* A CURLOPT_WRITEFUNCTION for a CURLOPT_WRITEDATA of type xt_buf*: returns size*n, or 0
 * (libcurl then fails the transfer with CURLE_WRITE_ERROR) when the buffer would pass its
 * max (overflow set) or memory runs out. */
size_t xt_buf_curl_write(char *p, size_t size, size_t n, void *userdata);

#endif
