#include "tests/lib/http.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct http_client {
  CURL *curl;
};

typedef struct rbuf {
  char *p;
  size_t n, cap;
} rbuf;

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static void global_init(void) { curl_global_init(CURL_GLOBAL_ALL); }

static size_t append(char *data, size_t size, size_t nmemb, void *ud) {
  rbuf *b = ud;
  size_t n = size * nmemb;
  if (b->n + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->n + n + 1) cap *= 2;
    char *np = realloc(b->p, cap);
    if (!np) return 0;
    b->p = np;
    b->cap = cap;
  }
  memcpy(b->p + b->n, data, n);
  b->n += n;
  b->p[b->n] = 0;
  return n;
}

http_client *http_client_new(void) {
  pthread_once(&init_once, global_init);
  http_client *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->curl = curl_easy_init();
  if (!c->curl) {
    free(c);
    return NULL;
  }
  return c;
}

void http_client_free(http_client *c) {
  if (!c) return;
  curl_easy_cleanup(c->curl);
  free(c);
}

int http_request(http_client *c, const char *method, const char *url, const char *const headers[],
                 const void *body, size_t body_len, long timeout_ms, http_resp *out) {
  memset(out, 0, sizeof *out);
  CURL *h = c->curl;
  rbuf b = {0}, hb = {0};
  struct curl_slist *hl = NULL;
  for (size_t i = 0; headers && headers[i]; i++) hl = curl_slist_append(hl, headers[i]);
  /* Tests send exact bodies: no "Expect: 100-continue" round trip. */
  hl = curl_slist_append(hl, "Expect:");
  curl_easy_reset(h);
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, append);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, append);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &hb);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms ? timeout_ms : 30000L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  if (!strcmp(method, "HEAD")) {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (body || strcmp(method, "GET")) {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (body || !strcmp(method, "POST")) {
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
  }
  CURLcode rc = curl_easy_perform(h);
  curl_slist_free_all(hl);
  if (rc != CURLE_OK) {
    snprintf(out->error, sizeof out->error, "%s", curl_easy_strerror(rc));
    free(b.p);
    free(hb.p);
    out->body = calloc(1, 1);
    out->headers = calloc(1, 1);
    return -1;
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
  out->body = b.p ? b.p : calloc(1, 1);
  out->len = b.n;
  out->headers = hb.p ? hb.p : calloc(1, 1);
  out->headers_len = hb.n;
  return 0;
}

int http_get(const char *url, http_resp *out) {
  http_client *c = http_client_new();
  if (!c) return -1;
  int rc = http_request(c, "GET", url, NULL, NULL, 0, 0, out);
  http_client_free(c);
  return rc;
}

int http_post(const char *url, const char *bearer, const void *body, size_t len, http_resp *out) {
  http_client *c = http_client_new();
  if (!c) return -1;
  char auth[600];
  const char *hdrs[2] = {NULL, NULL};
  if (bearer) {
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", bearer);
    hdrs[0] = auth;
  }
  int rc = http_request(c, "POST", url, hdrs, body, len, 0, out);
  http_client_free(c);
  return rc;
}

const char *http_header(const http_resp *r, const char *name, char *buf, size_t cap) {
  size_t nl = strlen(name);
  const char *p = r->headers;
  while (p && *p) {
    const char *eol = strstr(p, "\r\n");
    size_t ll = eol ? (size_t)(eol - p) : strlen(p);
    if (ll > nl && p[nl] == ':' && !strncasecmp(p, name, nl)) {
      const char *v = p + nl + 1;
      while (*v == ' ') v++;
      size_t vl = (size_t)(p + ll - v);
      if (vl >= cap) vl = cap - 1;
      memcpy(buf, v, vl);
      buf[vl] = 0;
      return buf;
    }
    if (!eol) break;
    p = eol + 2;
  }
  return NULL;
}

void http_resp_free(http_resp *r) {
  free(r->body);
  free(r->headers);
  r->body = r->headers = NULL;
}
