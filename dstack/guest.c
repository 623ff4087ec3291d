/* guest.c: dstack guest-agent client over a unix socket with libcurl. */
#include "dstack/guest.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/hex.h"

struct dstack_client {
  char *socket_path;
  long timeout_ms;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;
static void init_curl(void) { curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT); }

dstack_client *dstack_client_new(const char *socket_path, char *err, size_t errlen) {
  pthread_once(&curl_once, init_curl);
  if (curl_init_rc != CURLE_OK) {
    xt_errf(err, errlen, "libcurl initialisation failed");
    return NULL;
  }
  dstack_client *c = calloc(1, sizeof *c);
  if (!c || !(c->socket_path = strdup(socket_path ? socket_path : DSTACK_DEFAULT_SOCKET))) {
    free(c);
    xt_errf(err, errlen, "out of memory");
    return NULL;
  }
  c->timeout_ms = 30000;
  return c;
}

void dstack_client_free(dstack_client *c) {
  if (!c) return;
  free(c->socket_path);
  free(c);
}

void dstack_client_set_timeout(dstack_client *c, long timeout_ms) { c->timeout_ms = timeout_ms; }

/* POSTs body to method; on DSTACK_OK *out (owned by the caller) is the JSON object of a
 * 200 reply. DSTACK_EAGENT: no reply, an HTTP error or an "error" member;
 * DSTACK_EMALFORMED: a reply that is not a JSON object. */
static dstack_err call(dstack_client *c, const char *method, json_t *body, json_t **out,
                       char *err, size_t errlen) {
  char url[128];
  snprintf(url, sizeof url, "http://dstack/%s", method);
  char *text = json_dumps(body, JSON_COMPACT);
  CURL *h = curl_easy_init();
  struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
  xt_buf b = xt_buf_make(DSTACK_MAX_REPLY);
  dstack_err rc = DSTACK_ENOMEM;
  *out = NULL;
  if (!text || !h || !headers) {
    xt_errf(err, errlen, "out of memory");
    goto out;
  }
  curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, c->socket_path);
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_POST, 1L);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, text);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, xt_buf_curl_write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
  rc = DSTACK_EAGENT;
  CURLcode crc = curl_easy_perform(h);
  if (crc != CURLE_OK) {
    if (b.overflow)
      xt_errf(err, errlen, "dstack %s: reply larger than %u bytes", method, DSTACK_MAX_REPLY);
    else
      xt_errf(err, errlen, "dstack %s via %s: %s", method, c->socket_path,
              curl_easy_strerror(crc));
    goto out;
  }
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  json_error_t jerr;
  json_t *reply = b.data ? json_loadb((const char *)b.data, b.len, 0, &jerr) : NULL;
  json_t *e = json_object_get(reply, "error");
  if (status != 200 || e) {
    if (json_is_string(e))
      xt_errf(err, errlen, "dstack %s: HTTP %ld: %.300s", method, status, json_string_value(e));
    else
      xt_errf(err, errlen, "dstack %s: HTTP %ld: %.200s", method, status,
              b.data ? (const char *)b.data : "(empty reply)");
    json_decref(reply);
    goto out;
  }
  if (!json_is_object(reply)) {
    xt_errf(err, errlen, "dstack %s: reply is not a JSON object", method);
    json_decref(reply);
    rc = DSTACK_EMALFORMED;
    goto out;
  }
  *out = reply;
  rc = DSTACK_OK;
out:
  curl_slist_free_all(headers);
  if (h) curl_easy_cleanup(h);
  free(text);
  xt_buf_free(&b);
  return rc;
}

static int get_hex(json_t *obj, const char *key, uint8_t *out, size_t cap, size_t *len,
                   const char *method, char *err, size_t errlen) {
  json_t *v = json_object_get(obj, key);
  if (!json_is_string(v) ||
      xt_hex_decode(json_string_value(v), json_string_length(v), XT_HEX_0X, out, cap, len)) {
    xt_errf(err, errlen, "dstack %s: \"%s\" missing, not hex, or longer than %zu bytes", method,
            key, cap);
    return -1;
  }
  return 0;
}

dstack_err dstack_get_key(dstack_client *c, const char *path, const char *purpose,
                          const char *algorithm, dstack_key *out, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  json_t *body = json_pack("{s:s, s:s}", "path", path ? path : "", "purpose",
                           purpose ? purpose : "");
  if (body && algorithm) json_object_set_new(body, "algorithm", json_string(algorithm));
  if (!body) {
    xt_errf(err, errlen, "out of memory");
    return DSTACK_ENOMEM;
  }
  json_t *r;
  dstack_err rc = call(c, "GetKey", body, &r, err, errlen);
  json_decref(body);
  if (rc) return rc;
  rc = DSTACK_EMALFORMED;
  if (get_hex(r, "key", out->key, sizeof out->key, &out->key_len, "GetKey", err, errlen))
    goto out;
  if (out->key_len != 32) {
    xt_errf(err, errlen, "dstack GetKey: key is %zu bytes (want 32)", out->key_len);
    goto out;
  }
  json_t *chain = json_object_get(r, "signature_chain");
  if (chain && (!json_is_array(chain) || json_array_size(chain) > DSTACK_MAX_SIGNATURES)) {
    xt_errf(err, errlen, "dstack GetKey: bad signature_chain");
    goto out;
  }
  for (size_t i = 0; i < json_array_size(chain); i++) {
    json_t *s = json_array_get(chain, i);
    if (!json_is_string(s) || xt_hex_decode(json_string_value(s), json_string_length(s),
                                            XT_HEX_0X, out->signatures[i], 128,
                                            &out->signature_len[i])) {
      xt_errf(err, errlen, "dstack GetKey: signature %zu is not hex", i);
      goto out;
    }
    out->n_signatures++;
  }
  rc = DSTACK_OK;
out:
  if (rc) memset(out, 0, sizeof *out);
  json_decref(r);
  return rc;
}

void dstack_quote_reply_free(dstack_quote_reply *r) {
  if (!r) return;
  free(r->quote);
  free(r->event_log);
  free(r->vm_config);
  memset(r, 0, sizeof *r);
}

dstack_err dstack_get_quote(dstack_client *c, const uint8_t *report_data, size_t len,
                            dstack_quote_reply *out, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  if (len > 64) {
    xt_errf(err, errlen, "report_data is %zu bytes (at most 64)", len);
    return DSTACK_EARG;
  }
  char hex[129];
  xt_hex_encode(report_data, len, hex);
  json_t *body = json_pack("{s:s}", "report_data", hex);
  if (!body) {
    xt_errf(err, errlen, "out of memory");
    return DSTACK_ENOMEM;
  }
  json_t *r;
  dstack_err rc = call(c, "GetQuote", body, &r, err, errlen);
  json_decref(body);
  if (rc) return rc;
  rc = DSTACK_EMALFORMED;
  json_t *q = json_object_get(r, "quote");
  json_t *el = json_object_get(r, "event_log");
  json_t *vm = json_object_get(r, "vm_config");
  if (!json_is_string(q) || json_string_length(q) % 2) {
    xt_errf(err, errlen, "dstack GetQuote: \"quote\" missing or not hex");
    goto out;
  }
  out->quote = malloc(json_string_length(q) / 2 + 1);
  if (!out->quote) {
    xt_errf(err, errlen, "out of memory");
    rc = DSTACK_ENOMEM;
    goto out;
  }
  if (xt_hex_decode(json_string_value(q), json_string_length(q), XT_HEX_0X, out->quote,
                    json_string_length(q) / 2, &out->quote_len)) {
    xt_errf(err, errlen, "dstack GetQuote: \"quote\" is not hex");
    goto out;
  }
  if (json_is_string(el))
    out->event_log = strdup(json_string_value(el));
  else if (json_is_array(el))
    out->event_log = json_dumps(el, JSON_COMPACT);
  else
    out->event_log = strdup("[]");
  if (json_is_string(vm))
    out->vm_config = strdup(json_string_value(vm));
  else if (vm)
    out->vm_config = json_dumps(vm, JSON_COMPACT | JSON_ENCODE_ANY);
  else
    out->vm_config = strdup("");
  if (!out->event_log || !out->vm_config) {
    xt_errf(err, errlen, "out of memory");
    rc = DSTACK_ENOMEM;
    goto out;
  }
  memcpy(out->report_data, report_data, len);
  rc = DSTACK_OK;
out:
  if (rc) dstack_quote_reply_free(out);
  json_decref(r);
  return rc;
}

void dstack_info_free(dstack_info *info) {
  if (!info) return;
  free(info->tcb_info);
  free(info->app_compose);
  memset(info, 0, sizeof *info);
}

static int copy_str(json_t *obj, const char *key, char *out, size_t cap) {
  json_t *v = json_object_get(obj, key);
  out[0] = '\0';
  if (!v || json_is_null(v)) return 0;
  if (!json_is_string(v) || json_string_length(v) >= cap) return -1;
  memcpy(out, json_string_value(v), json_string_length(v) + 1);
  return 0;
}

dstack_err dstack_get_info(dstack_client *c, dstack_info *out, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  json_t *body = json_object();
  if (!body) {
    xt_errf(err, errlen, "out of memory");
    return DSTACK_ENOMEM;
  }
  json_t *r;
  dstack_err rc = call(c, "Info", body, &r, err, errlen);
  json_decref(body);
  if (rc) return rc;
  rc = DSTACK_EMALFORMED;
  if (copy_str(r, "app_id", out->app_id, sizeof out->app_id) ||
      copy_str(r, "instance_id", out->instance_id, sizeof out->instance_id) ||
      copy_str(r, "compose_hash", out->compose_hash, sizeof out->compose_hash) ||
      copy_str(r, "app_name", out->app_name, sizeof out->app_name)) {
    xt_errf(err, errlen, "dstack Info: malformed or oversized field");
    goto out;
  }
  json_t *tcb = json_object_get(r, "tcb_info");
  out->tcb_info = strdup(json_is_string(tcb) ? json_string_value(tcb) : "");
  if (!out->tcb_info) {
    xt_errf(err, errlen, "out of memory");
    rc = DSTACK_ENOMEM;
    goto out;
  }
  if (json_is_string(tcb)) {
    json_t *t = json_loadb(json_string_value(tcb), json_string_length(tcb), 0, NULL);
    json_t *ac = json_object_get(t, "app_compose");
    if (json_is_string(ac)) {
      out->app_compose = malloc(json_string_length(ac) + 1);
      if (out->app_compose)
        memcpy(out->app_compose, json_string_value(ac), json_string_length(ac) + 1);
    }
    json_decref(t);
  }
  rc = DSTACK_OK;
out:
  if (rc) dstack_info_free(out);
  json_decref(r);
  return rc;
}
