#include "collector/logclient.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"

#define ANSWER_MAX (64 * 1024)

struct logclient {
  char url[1024];
  char boot_url[1024]; /* /v1/boot */
  char auth[512];
  long timeout_ms;
};

logclient *logclient_new(const char *base_url, const char *token, long timeout_ms, char *err,
                         size_t errcap) {
  size_t blen = strlen(base_url);
  while (blen && base_url[blen - 1] == '/') blen--;
  if (strncmp(base_url, "http://", 7) != 0 && strncmp(base_url, "https://", 8) != 0) {
    xt_errf(err, errcap, "--logd must be an http:// or https:// URL");
    return NULL;
  }
  if (!token[0] || strlen(token) > 256 || strpbrk(token, "\r\n ")) {
    xt_errf(err, errcap, "--logd-token is empty or malformed");
    return NULL;
  }
  logclient *lc = calloc(1, sizeof *lc);
  if (!lc) { xt_errf(err, errcap, "out of memory"); return NULL; }
  if ((size_t)snprintf(lc->url, sizeof lc->url, "%.*s/v1/add", (int)blen, base_url) >= sizeof lc->url) {
    free(lc);
    xt_errf(err, errcap, "--logd URL too long");
    return NULL;
  }
  snprintf(lc->boot_url, sizeof lc->boot_url, "%.*s/v1/boot", (int)blen, base_url);
  snprintf(lc->auth, sizeof lc->auth, "Authorization: Bearer %s", token);
  lc->timeout_ms = timeout_ms > 0 ? timeout_ms : 3000;
  return lc;
}

void logclient_free(logclient *lc) { free(lc); }

/* POSTs body (taken: freed here) to url; the answer's index. As logclient_append. */
static int post_entry(logclient *lc, const char *url, char *body, int64_t *index, char *err,
                      size_t errcap) {
  xt_buf a = xt_buf_make(ANSWER_MAX);
  CURL *c = curl_easy_init();
  struct curl_slist *h = NULL;
  struct curl_slist *h1 = curl_slist_append(NULL, lc->auth);
  if (h1) h = curl_slist_append(h1, "Content-Type: application/json");
  if (!c || !h) {
    xt_errf(err, errcap, "out of memory");
    curl_slist_free_all(h ? h : h1);
    curl_easy_cleanup(c);
    free(body);
    return -1;
  }
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, xt_buf_curl_write);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &a);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, lc->timeout_ms);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, lc->timeout_ms);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_PROXY, "");
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  CURLcode rc = curl_easy_perform(c);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(c);
  curl_slist_free_all(h);
  free(body);
  int ret = -1;
  if (rc != CURLE_OK) {
    xt_errf(err, errcap, "logd unreachable: %s", curl_easy_strerror(rc));
  } else if (status != 200) {
    xt_errf(err, errcap, "logd refused the entry (HTTP %ld)", status);
    ret = -2;
  } else {
    json_t *o = a.len ? json_loadb((const char *)a.data, a.len, 0, NULL) : NULL;
    json_t *ix = json_object_get(o, "index");
    if (!json_is_integer(ix) || json_integer_value(ix) < 0) {
      xt_errf(err, errcap, "logd answered without an index");
    } else {
      *index = (int64_t)json_integer_value(ix);
      ret = 0;
    }
    json_decref(o);
  }
  xt_buf_free(&a);
  return ret;
}

int logclient_append(logclient *lc, json_t *event, int64_t *index, char *err, size_t errcap) {
  char *body = json_dumps(event, JSON_COMPACT | JSON_SORT_KEYS);
  if (!body) { xt_errf(err, errcap, "cannot encode event"); return -1; }
  return post_entry(lc, lc->url, body, index, err, errcap);
}

int logclient_append_boot(logclient *lc, json_t *event, const char *quote_hex, const char *event_log,
                          const char *vm_config, int64_t *index, char *err, size_t errcap) {
  json_t *o = json_pack("{s:O,s:s,s:s,s:s}", "event", event, "quote", quote_hex, "event_log",
                        event_log ? event_log : "[]", "vm_config", vm_config ? vm_config : "");
  char *body = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  json_decref(o);
  if (!body) { xt_errf(err, errcap, "cannot encode the boot entry"); return -1; }
  return post_entry(lc, lc->boot_url, body, index, err, errcap);
}
