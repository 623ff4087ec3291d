/* http.h: a small libcurl client for tests and benchmarks.
 *
 * One http_client is one keep-alive connection (not thread-safe; use one per
 * thread). Responses carry status, raw headers and body bytes. */
#ifndef XT_TESTS_HTTP_H
#define XT_TESTS_HTTP_H

#include <stddef.h>

typedef struct http_resp {
  long status;          /* 0 when the request failed at the transport level */
  char *body;           /* NUL-terminated (the NUL is not counted in len) */
  size_t len;
  char *headers;        /* raw header block, NUL-terminated */
  size_t headers_len;
  char error[256];      /* transport error, if status == 0 */
} http_resp;

typedef struct http_client http_client;

http_client *http_client_new(void);
void http_client_free(http_client *c);
/* headers: NULL or a NULL-terminated list of "Name: value". body may be NULL for
 * no body; method "GET", "POST", "HEAD", ... timeout_ms 0 means 30 s. */
int http_request(http_client *c, const char *method, const char *url, const char *const headers[],
                 const void *body, size_t body_len, long timeout_ms, http_resp *out);
/* One-shot helpers on a fresh connection. */
int http_get(const char *url, http_resp *out);
int http_post(const char *url, const char *bearer, const void *body, size_t len, http_resp *out);
/* Value of a response header (case-insensitive name) copied into buf, or NULL. */
const char *http_header(const http_resp *r, const char *name, char *buf, size_t cap);
void http_resp_free(http_resp *r);

#endif
