#include "collector/egress.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/num.h"
#include "collector/validate.h"

#define EGRESS_CONNECT_TIMEOUT_MS 5000L
#define EGRESS_TOTAL_TIMEOUT_MS 10000L
#define EGRESS_CA_FILE "/etc/ssl/certs/ca-certificates.crt"
#define EGRESS_USER_AGENT "xordi-collector/" XT_VERSION

#ifndef COLLECTOR_TEST_BUILD
/* The release destination. These are the only definitions; nothing reads them from
 * flags, files or the environment. */
#define EGRESS_SCHEME "https"
#define EGRESS_HOST "www.tiktok.com"
#define EGRESS_PROTOCOLS "https"

static const char *dest_scheme(void) { return EGRESS_SCHEME; }
static const char *dest_host(void) { return EGRESS_HOST; }
const char *egress_build_flavour(void) { return "release"; }
#else
#define EGRESS_PROTOCOLS "http"
static char test_host[64];

int egress_set_test_base(const char *base, char *err, size_t errcap) {
  const char *prefix = "http://127.0.0.1:";
  size_t plen = strlen(prefix), blen = strlen(base);
  if (strncmp(base, prefix, plen) != 0 || blen == plen || blen - plen > 5) {
    xt_errf(err, errcap, "--api-base must be http://127.0.0.1:PORT");
    return -1;
  }
  uint64_t port;
  xt_err e = xt_parse_u64(base + plen, 0, 1, 65535, &port);
  if (e != XT_OK) {
    xt_errf(err, errcap, e == XT_ERANGE ? "--api-base port out of range" : "--api-base must be http://127.0.0.1:PORT");
    return -1;
  }
  snprintf(test_host, sizeof test_host, "127.0.0.1:%u", (unsigned)port);
  return 0;
}

static const char *dest_scheme(void) { return "http"; }
static const char *dest_host(void) { return test_host[0] ? test_host : "127.0.0.1:9"; }
const char *egress_build_flavour(void) { return "test"; }
#endif

int egress_describe(const char *cursor, int count, char *host, size_t hostcap, char *query,
                    size_t querycap) {
  if (count < COLLECTOR_COUNT_MIN || count > COLLECTOR_COUNT_MAX) return -1;
  if (cursor && !validate_cursor(cursor, strlen(cursor))) return -1;
  if ((size_t)snprintf(host, hostcap, "%s", dest_host()) >= hostcap) return -1;
  int n = cursor ? snprintf(query, querycap, "count=%d&cursor=%s", count, cursor)
                 : snprintf(query, querycap, "count=%d", count);
  return n > 0 && (size_t)n < querycap ? 0 : -1;
}

/* The body and its running SHA-256: the digest covers exactly the bytes kept. */
struct sink { xt_buf buf; EVP_MD_CTX *md; };

static size_t on_body(char *p, size_t size, size_t n, void *cls) {
  struct sink *s = cls;
  size_t got = xt_buf_curl_write(p, size, n, &s->buf);
  if (got) EVP_DigestUpdate(s->md, p, got);
  return got;
}

const char *egress_err_str(egress_err e) {
  switch (e) {
  case EGRESS_OK: return "ok";
  case EGRESS_EINVAL: return "invalid request parameters";
  case EGRESS_ENOMEM: return "out of memory";
  case EGRESS_ETOOBIG: return "response too large";
  case EGRESS_ETIMEOUT: return "timed out";
  case EGRESS_EFAILED: return "request failed";
  case EGRESS_EREDIRECT: return "redirect refused";
  case EGRESS_EHTTP: return "upstream HTTP error";
  case EGRESS_EMALFORMED: return "malformed answer";
  }
  return "unknown error";
}

static egress_err classify(CURLcode rc, int overflow, long status) {
  if (overflow || rc == CURLE_FILESIZE_EXCEEDED) return EGRESS_ETOOBIG;
  if (rc == CURLE_OPERATION_TIMEDOUT) return EGRESS_ETIMEOUT;
  if (rc != CURLE_OK) return EGRESS_EFAILED;
  if (status >= 300 && status < 400) return EGRESS_EREDIRECT;
  if (status != 200) return EGRESS_EHTTP;
  return EGRESS_OK;
}

/* The sentence logged in the result entry and returned to Archive. */
static void describe(egress_result *res, CURLcode rc) {
  switch (res->code) {
  case EGRESS_ETOOBIG:
    xt_errf(res->error, sizeof res->error, "response larger than %d bytes", EGRESS_MAX_BODY);
    break;
  case EGRESS_ETIMEOUT: xt_errf(res->error, sizeof res->error, "timed out"); break;
  case EGRESS_EFAILED:
    xt_errf(res->error, sizeof res->error, "request failed: %s", curl_easy_strerror(rc));
    break;
  case EGRESS_EREDIRECT:
    xt_errf(res->error, sizeof res->error, "redirect (HTTP %ld) refused", res->status);
    break;
  case EGRESS_EHTTP:
    xt_errf(res->error, sizeof res->error, "upstream answered HTTP %ld", res->status);
    break;
  default: break;
  }
}

egress_err egress_fetch(const char *cookie, const char *cursor, int count, egress_result *res) {
  memset(res, 0, sizeof *res);
  char host[128], query[256], url[512];
  if (!validate_cookie(cookie, strlen(cookie)) ||
      egress_describe(cursor, count, host, sizeof host, query, sizeof query) != 0) {
    xt_errf(res->error, sizeof res->error, "invalid request parameters");
    return res->code = EGRESS_EINVAL;
  }
  snprintf(url, sizeof url, "%s://%s" EGRESS_PATH "?%s", dest_scheme(), host, query);

  struct sink s = {xt_buf_make(EGRESS_MAX_BODY), EVP_MD_CTX_new()};
  CURL *c = curl_easy_init();
  struct curl_slist *h = curl_slist_append(NULL, "Accept: application/json");
  if (!s.md || !c || !h || EVP_DigestInit_ex(s.md, EVP_sha256(), NULL) != 1) {
    xt_errf(res->error, sizeof res->error, "out of memory");
    EVP_MD_CTX_free(s.md);
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
    return res->code = EGRESS_ENOMEM;
  }
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, EGRESS_PROTOCOLS);
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, EGRESS_PROTOCOLS);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 0L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(c, CURLOPT_CAINFO, EGRESS_CA_FILE);
  /* libcurl would otherwise honour http_proxy/https_proxy/ALL_PROXY from the
   * environment, which is a run-time way to send the request elsewhere. */
  curl_easy_setopt(c, CURLOPT_PROXY, "");
  curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(c, CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
  curl_easy_setopt(c, CURLOPT_COOKIE, cookie);
  curl_easy_setopt(c, CURLOPT_USERAGENT, EGRESS_USER_AGENT);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, NULL);
  curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)EGRESS_MAX_BODY);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, EGRESS_CONNECT_TIMEOUT_MS);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, EGRESS_TOTAL_TIMEOUT_MS);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
  CURLcode rc = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &res->status);
  curl_easy_cleanup(c);
  curl_slist_free_all(h);
  unsigned mdlen = 0;
  EVP_DigestFinal_ex(s.md, res->sha256, &mdlen);
  EVP_MD_CTX_free(s.md);
  res->bytes = s.buf.len;

  res->code = classify(rc, s.buf.overflow, res->status);
  describe(res, rc);
  /* An empty 200 answer is still a (empty) string for the caller. */
  if (res->code == EGRESS_OK && xt_buf_append(&s.buf, "", 0) != XT_OK) {
    res->code = EGRESS_ENOMEM;
    xt_errf(res->error, sizeof res->error, "out of memory");
  }
  if (res->code != EGRESS_OK) {
    xt_buf_free(&s.buf);
    return res->code;
  }
  res->body = (char *)s.buf.data;
  return EGRESS_OK;
}

void egress_result_free(egress_result *res) {
  free(res->body);
  res->body = NULL;
}
