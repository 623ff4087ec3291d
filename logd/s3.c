/* s3.c: PUT and GET of S3 objects with libcurl's SigV4 signing. */
#include "logd/s3.h"

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/hex.h"

#define S3_MAX_PARALLEL 16
/* An error answer is a small XML document; more is cut. */
#define S3_MAX_ERROR_BODY 4096

struct s3_client {
  char *base;    /* endpoint/bucket[/prefix] */
  char sigv4[96];
  char *key_id, *secret;
  long timeout_ms;
  CURL *easy[S3_MAX_PARALLEL];
  CURLM *multi;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static int curl_ok;
static void curl_init_once(void) { curl_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }

const char *s3_err_str(s3_err e) {
  switch (e) {
  case S3_OK: return "ok";
  case S3_NOT_FOUND: return "not found";
  case S3_EHTTP: return "refused by the object store";
  case S3_ENET: return "object store unreachable";
  case S3_EINVAL: return "invalid argument";
  case S3_ENOMEM: return "out of memory";
  }
  return "unknown S3 error";
}

static int bucket_ok(const char *b) {
  size_t n = strlen(b);
  if (n < 3 || n > 63) return 0;
  for (size_t i = 0; i < n; i++)
    if (!((b[i] >= 'a' && b[i] <= 'z') || (b[i] >= '0' && b[i] <= '9') || b[i] == '.' || b[i] == '-'))
      return 0;
  return 1;
}

/* Keys and prefixes logd writes need no URL escaping; anything else is refused. */
static int path_ok(const char *p, int allow_empty) {
  size_t n = strlen(p);
  if (!n) return allow_empty;
  if (p[0] == '/' || p[n - 1] == '/' || strstr(p, "//") || strstr(p, "..")) return 0;
  for (size_t i = 0; i < n; i++)
    if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= '0' && p[i] <= '9') ||
          p[i] == '/' || p[i] == '.' || p[i] == '-' || p[i] == '_'))
      return 0;
  return 1;
}

s3_client *s3_new(const char *endpoint, const char *bucket, const char *prefix, const char *region,
                  long timeout_ms, char *err, size_t errcap) {
  pthread_once(&curl_once, curl_init_once);
  if (!curl_ok) {
    xt_errf(err, errcap, "libcurl initialisation failed");
    return NULL;
  }
  if (strncmp(endpoint, "http://", 7) && strncmp(endpoint, "https://", 8)) {
    xt_errf(err, errcap, "the object store endpoint must be an http:// or https:// URL (got '%s')", endpoint);
    return NULL;
  }
  const char *host = strstr(endpoint, "://") + 3;
  if (!*host || strchr(host, '/') || strchr(host, '?') || strchr(host, '@')) {
    xt_errf(err, errcap, "the object store endpoint is scheme://HOST[:PORT] without a path (got '%s')", endpoint);
    return NULL;
  }
  if (!bucket_ok(bucket)) {
    xt_errf(err, errcap, "bucket names are 3-63 characters of a-z 0-9 . - (got '%s')", bucket);
    return NULL;
  }
  if (!path_ok(prefix, 1)) {
    xt_errf(err, errcap, "the key prefix must be letters, digits and . - _ / without empty or .. "
                         "elements (got '%s')", prefix);
    return NULL;
  }
  if (!region || !*region || strlen(region) > 40 || strchr(region, ':')) {
    xt_errf(err, errcap, "bad region '%s'", region ? region : "");
    return NULL;
  }
  s3_client *c = calloc(1, sizeof *c);
  if (!c || asprintf(&c->base, "%s/%s%s%s", endpoint, bucket, *prefix ? "/" : "", prefix) < 0) {
    free(c);
    xt_errf(err, errcap, "out of memory");
    return NULL;
  }
  snprintf(c->sigv4, sizeof c->sigv4, "aws:amz:%s:s3", region);
  c->timeout_ms = timeout_ms;
  c->multi = curl_multi_init();
  for (int i = 0; i < S3_MAX_PARALLEL && c->multi; i++)
    if (!(c->easy[i] = curl_easy_init())) break;
  if (!c->multi || !c->easy[S3_MAX_PARALLEL - 1]) {
    s3_free(c);
    xt_errf(err, errcap, "libcurl initialisation failed");
    return NULL;
  }
  return c;
}

static void wipe_free(char *s) {
  if (!s) return;
  OPENSSL_cleanse(s, strlen(s));
  free(s);
}

void s3_free(s3_client *c) {
  if (!c) return;
  for (int i = 0; i < S3_MAX_PARALLEL; i++)
    if (c->easy[i]) curl_easy_cleanup(c->easy[i]);
  if (c->multi) curl_multi_cleanup(c->multi);
  wipe_free(c->key_id);
  wipe_free(c->secret);
  free(c->base);
  free(c);
}

s3_err s3_set_credentials(s3_client *c, const char *key_id, const char *secret) {
  char *k = strdup(key_id), *s = strdup(secret);
  if (!k || !s) {
    free(k);
    wipe_free(s);
    return S3_ENOMEM;
  }
  wipe_free(c->key_id);
  wipe_free(c->secret);
  c->key_id = k;
  c->secret = s;
  return S3_OK;
}

const char *s3_base_url(const s3_client *c) { return c->base; }

/* One request's state. */
typedef struct req {
  CURL *h;
  struct curl_slist *hdrs;
  xt_buf body;
  char url[512];
  char sha_hdr[96];
  char cc_hdr[160];
  char ct_hdr[160];
} req;

static s3_err setup(s3_client *c, req *r, CURL *h, const char *key, const s3_object *o, size_t max,
                    char *err, size_t errcap) {
  memset(r, 0, sizeof *r);
  r->h = h;
  if (!path_ok(key, 0) || (size_t)snprintf(r->url, sizeof r->url, "%s/%s", c->base, key) >= sizeof r->url) {
    xt_errf(err, errcap, "bad object key '%s'", key);
    return S3_EINVAL;
  }
  if (!c->key_id) {
    xt_errf(err, errcap, "no credentials");
    return S3_EINVAL;
  }
  r->body = xt_buf_make(o ? S3_MAX_ERROR_BODY : max);
  uint8_t d[32];
  char hex[65];
  /* S3 wants the payload's SHA-256 as a header; libcurl signs the headers it is given. */
  EVP_Digest(o ? o->data : (const uint8_t *)"", o ? o->len : 0, d, NULL, EVP_sha256(), NULL);
  xt_hex_encode(d, 32, hex);
  snprintf(r->sha_hdr, sizeof r->sha_hdr, "x-amz-content-sha256: %s", hex);
  struct curl_slist *l = curl_slist_append(NULL, r->sha_hdr);
  if (l && o) {
    snprintf(r->cc_hdr, sizeof r->cc_hdr, "Cache-Control: %s", o->cache_control);
    snprintf(r->ct_hdr, sizeof r->ct_hdr, "Content-Type: %s", o->content_type);
    /* No "Expect:" override: libcurl 7.88 would sign the header it then leaves out. */
    if (!curl_slist_append(l, r->cc_hdr) || !curl_slist_append(l, r->ct_hdr)) {
      curl_slist_free_all(l);
      l = NULL;
    }
  }
  if (!l) {
    xt_errf(err, errcap, "out of memory");
    return S3_ENOMEM;
  }
  r->hdrs = l;
  curl_easy_reset(h);
  curl_easy_setopt(h, CURLOPT_URL, r->url);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->timeout_ms < 10000 ? c->timeout_ms : 10000L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "logd/" XT_VERSION);
  curl_easy_setopt(h, CURLOPT_AWS_SIGV4, c->sigv4);
  curl_easy_setopt(h, CURLOPT_USERNAME, c->key_id);
  curl_easy_setopt(h, CURLOPT_PASSWORD, c->secret);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, r->hdrs);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, xt_buf_curl_write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &r->body);
  if (o) {
    /* POSTFIELDS (not a read callback) so that libcurl has the payload when it signs. */
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT");
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)o->len);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, o->len ? (const char *)o->data : "");
  }
  return S3_OK;
}

static void req_done(req *r) {
  curl_slist_free_all(r->hdrs);
  r->hdrs = NULL;
  xt_buf_free(&r->body);
}

/* The text between <tag> and </tag> in an XML error body, or "". */
static void xml_field(const xt_buf *b, const char *tag, char *out, size_t cap) {
  out[0] = 0;
  if (!b->data || !b->len) return;
  char open[40], close[40];
  snprintf(open, sizeof open, "<%s>", tag);
  snprintf(close, sizeof close, "</%s>", tag);
  const char *s = strstr((const char *)b->data, open), *e = s ? strstr(s, close) : NULL;
  if (!s || !e) return;
  s += strlen(open);
  size_t n = (size_t)(e - s), k = 0;
  for (size_t i = 0; i < n && k + 1 < cap; i++) out[k++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : ' ';
  out[k] = 0;
}

static s3_err outcome(req *r, CURLcode rc, const char *method, const char *key, char *err, size_t errcap) {
  long status = 0;
  curl_easy_getinfo(r->h, CURLINFO_RESPONSE_CODE, &status);
  if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && status >= 300)) {
    xt_errf(err, errcap, "%s %s: %s", method, key, curl_easy_strerror(rc));
    return status ? S3_EHTTP : S3_ENET;
  }
  if (status >= 200 && status < 300) return S3_OK;
  char code[64], msg[200];
  xml_field(&r->body, "Code", code, sizeof code);
  xml_field(&r->body, "Message", msg, sizeof msg);
  xt_errf(err, errcap, "%s %s: HTTP %ld%s%s%s%s", method, key, status, code[0] ? " " : "", code,
          msg[0] ? ": " : "", msg);
  return status == 404 && strcmp(code, "NoSuchBucket") ? S3_NOT_FOUND : S3_EHTTP;
}

s3_err s3_put_many(s3_client *c, const s3_object *objs, size_t n, unsigned parallel, char *err,
                   size_t errcap) {
  if (parallel < 1) parallel = 1;
  if (parallel > S3_MAX_PARALLEL) parallel = S3_MAX_PARALLEL;
  req rs[S3_MAX_PARALLEL];
  int busy[S3_MAX_PARALLEL] = {0};
  size_t slot_obj[S3_MAX_PARALLEL];
  size_t next = 0, running = 0;
  s3_err first = S3_OK;
  while ((next < n && first == S3_OK) || running) {
    for (unsigned i = 0; i < parallel && next < n && first == S3_OK; i++) {
      if (busy[i]) continue;
      s3_err e = setup(c, &rs[i], c->easy[i], objs[next].key, &objs[next], 0, err, errcap);
      if (e) {
        req_done(&rs[i]);
        first = e;
        break;
      }
      curl_multi_add_handle(c->multi, c->easy[i]);
      busy[i] = 1;
      slot_obj[i] = next++;
      running++;
    }
    int still = 0;
    curl_multi_perform(c->multi, &still);
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(c->multi, &left))) {
      if (m->msg != CURLMSG_DONE) continue;
      for (unsigned i = 0; i < parallel; i++) {
        if (!busy[i] || c->easy[i] != m->easy_handle) continue;
        char e2[300];
        s3_err e = outcome(&rs[i], m->data.result, "PUT", objs[slot_obj[i]].key, e2, sizeof e2);
        if (e && first == S3_OK) {
          first = e;
          xt_errf(err, errcap, "%s", e2);
        }
        curl_multi_remove_handle(c->multi, c->easy[i]);
        req_done(&rs[i]);
        busy[i] = 0;
        running--;
        break;
      }
    }
    if (running) curl_multi_poll(c->multi, NULL, 0, 100, NULL);
  }
  return first;
}

s3_err s3_get(s3_client *c, const char *key, size_t max, uint8_t **data, size_t *len, char *err,
              size_t errcap) {
  req r;
  s3_err e = setup(c, &r, c->easy[0], key, NULL, max, err, errcap);
  if (e) {
    req_done(&r);
    return e;
  }
  CURLcode rc = curl_easy_perform(c->easy[0]);
  if (r.body.overflow) {
    xt_errf(err, errcap, "GET %s: larger than %zu bytes", key, max);
    req_done(&r);
    return S3_EHTTP;
  }
  e = outcome(&r, rc, "GET", key, err, errcap);
  if (e) {
    req_done(&r);
    return e;
  }
  if (!r.body.data && !(r.body.data = calloc(1, 1))) {
    xt_errf(err, errcap, "out of memory");
    return S3_ENOMEM;
  }
  *data = r.body.data;
  *len = r.body.len;
  r.body.data = NULL;
  curl_slist_free_all(r.hdrs);
  return S3_OK;
}
