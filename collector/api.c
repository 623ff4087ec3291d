#include "collector/api.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/hex.h"
#include "base/num.h"
#include "collector/egress.h"
#include "dstack/attest.h"
#include "collector/validate.h"

#define BODY_MAX (16 * 1024)
#define CREDENTIALS_PREFIX "/v1/credentials/"

struct collector_api {
  collector_config cfg;
  struct MHD_Daemon *d;
  unsigned port;
  uint8_t token_digest[32];
  /* Serialises credential changes and user-count statements, so that a count is
   * exactly the stored credentials as of the last index this collector logged. */
  pthread_mutex_t lock;
  int64_t last_index;
  collector_boot boot;
};

struct conn {
  char body[BODY_MAX];
  size_t len;
  int too_big;
  size_t discarded; /* body bytes dropped after too_big */
};

/* Operational lines on stderr, one per call (base/err.h). */
#define logline(...) xt_log("collector", __VA_ARGS__)

static void sha256(const void *data, size_t len, uint8_t out[32]) {
  unsigned n = 0;
  EVP_Digest(data, len, out, &n, EVP_sha256(), NULL);
}

static void sha256_hex(const void *data, size_t len, char out[65]) {
  uint8_t d[32];
  sha256(data, len, d);
  xt_hex_encode(d, 32, out);
}

static int random_id(char out[33]) {
  uint8_t r[16];
  if (RAND_bytes(r, sizeof r) != 1) return -1;
  xt_hex_encode(r, sizeof r, out);
  return 0;
}

static void note_index(collector_api *api, int64_t index) {
  pthread_mutex_lock(&api->lock);
  if (index > api->last_index) api->last_index = index;
  pthread_mutex_unlock(&api->lock);
}

/* Called with api->lock held when the caller already holds it. */
static void note_index_locked(collector_api *api, int64_t index) {
  if (index > api->last_index) api->last_index = index;
}

/* --- responses ---------------------------------------------------------------- */

static enum MHD_Result reply_json(struct MHD_Connection *c, unsigned status, json_t *o,
                                  int retry_after) {
  char *s = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  json_decref(o);
  if (!s) return MHD_NO;
  size_t n = strlen(s);
  char *body = malloc(n + 2);
  if (!body) { free(s); return MHD_NO; }
  memcpy(body, s, n);
  body[n] = '\n';
  free(s);
  struct MHD_Response *r = MHD_create_response_from_buffer(n + 1, body, MHD_RESPMEM_MUST_FREE);
  if (!r) { free(body); return MHD_NO; }
  MHD_add_response_header(r, "Content-Type", "application/json");
  MHD_add_response_header(r, "Cache-Control", "no-store");
  if (retry_after) MHD_add_response_header(r, "Retry-After", "1");
  enum MHD_Result ret = MHD_queue_response(c, status, r);
  MHD_destroy_response(r);
  return ret;
}

static enum MHD_Result reply_error(struct MHD_Connection *c, unsigned status, const char *msg) {
  return reply_json(c, status, json_pack("{s:s}", "error", msg), status == 503);
}

/* --- request parsing --------------------------------------------------------------- */

static int authorized(collector_api *api, struct MHD_Connection *c) {
  const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
  if (!h || strncmp(h, "Bearer ", 7) != 0) return 0;
  /* Comparing digests keeps the time independent of the token's length and content. */
  uint8_t d[32];
  sha256(h + 7, strlen(h + 7), d);
  return CRYPTO_memcmp(d, api->token_digest, 32) == 0;
}

/* Parses a JSON object body whose members are all in `allowed`. */
static json_t *parse_body(struct conn *cs, const char *const *allowed, char *err, size_t errcap) {
  json_error_t jerr;
  /* A raw NUL is never JSON, but jansson 2.14 skips one that follows a number
   * ({"count":1\0,...} parses), so refuse it before parsing. */
  if (memchr(cs->body, 0, cs->len)) {
    xt_errf(err, errcap, "malformed JSON: a NUL byte in the body");
    return NULL;
  }
  json_t *o = json_loadb(cs->body, cs->len, JSON_REJECT_DUPLICATES, &jerr);
  if (!o) { xt_errf(err, errcap, "malformed JSON: %s", jerr.text); return NULL; }
  if (!json_is_object(o)) {
    json_decref(o);
    xt_errf(err, errcap, "body must be a JSON object");
    return NULL;
  }
  const char *k;
  json_t *v;
  json_object_foreach(o, k, v) {
    int ok = 0;
    for (size_t i = 0; allowed[i]; i++) ok |= !strcmp(k, allowed[i]);
    if (!ok) {
      json_decref(o);
      xt_errf(err, errcap, "unknown field in body");
      return NULL;
    }
  }
  return o;
}

/* A username member that passes validate_username, or NULL. */
static const char *get_username(json_t *o, size_t *len) {
  json_t *u = json_object_get(o, "username");
  if (!json_is_string(u)) return NULL;
  *len = json_string_length(u);
  const char *s = json_string_value(u);
  return validate_username(s, *len) && strlen(s) == *len ? s : NULL;
}

static int64_t append_event(collector_api *api, json_t *event, char *err, size_t errcap) {
  int64_t index = -1;
  int rc = logclient_append(api->cfg.log, event, &index, err, errcap);
  json_decref(event);
  return rc == 0 ? index : -1;
}

/* --- handlers ---------------------------------------------------------------------- */

static enum MHD_Result post_credentials(collector_api *api, struct MHD_Connection *c,
                                        struct conn *cs) {
  static const char *const allowed[] = {"username", "cookie", NULL};
  char err[256];
  json_t *o = parse_body(cs, allowed, err, sizeof err);
  if (!o) return reply_error(c, 400, err);
  size_t ulen = 0;
  const char *username = get_username(o, &ulen);
  json_t *ck = json_object_get(o, "cookie");
  if (!username) {
    json_decref(o);
    return reply_error(c, 400, "username must be 1-64 characters of [A-Za-z0-9_.]");
  }
  if (!json_is_string(ck) || !validate_cookie(json_string_value(ck), json_string_length(ck)) ||
      strlen(json_string_value(ck)) != json_string_length(ck)) {
    json_decref(o);
    return reply_error(c, 400, "cookie must be 1-4096 printable ASCII characters");
  }
  const char *cookie = json_string_value(ck);
  size_t clen = json_string_length(ck);
  char user[65], cookie_sha[65], request_id[33];
  sha256_hex(cookie, clen, cookie_sha);
  if (keys_pseudonym(api->cfg.keys, username, ulen, user) != 0 || random_id(request_id) != 0) {
    json_decref(o);
    return reply_error(c, 500, "no pseudonym or no randomness");
  }

  pthread_mutex_lock(&api->lock);
  /* The intake is logged before the credential is stored: the log may over-state
   * intakes (if storing fails next) but can never miss one. */
  int64_t index = append_event(api, json_pack("{s:s, s:s, s:s, s:s}", "type", "credential_intake",
                                              "user", user, "cookie_sha256", cookie_sha,
                                              "request_id", request_id), err, sizeof err);
  if (index < 0) {
    pthread_mutex_unlock(&api->lock);
    json_decref(o);
    logline("credential intake for %.12s refused: %s", user, err);
    return reply_error(c, 503, "the log did not confirm the intake; credential not accepted");
  }
  note_index_locked(api, index);
  int rc = vault_put(api->cfg.vault, user, cookie, clen, err, sizeof err);
  pthread_mutex_unlock(&api->lock);
  json_decref(o);
  if (rc != 0) {
    logline("credential for %.12s logged at %lld but not stored: %s", user, (long long)index, err);
    return reply_error(c, 500, "credential could not be stored");
  }
  logline("credential intake %.12s at index %lld", user, (long long)index);
  return reply_json(c, 200, json_pack("{s:s, s:I, s:s}", "user", user, "index", (json_int_t)index,
                                      "request_id", request_id), 0);
}

static enum MHD_Result delete_credentials(collector_api *api, struct MHD_Connection *c,
                                          const char *username) {
  size_t ulen = strlen(username);
  if (!validate_username(username, ulen))
    return reply_error(c, 400, "username must be 1-64 characters of [A-Za-z0-9_.]");
  char user[65], err[256], request_id[33];
  if (keys_pseudonym(api->cfg.keys, username, ulen, user) != 0)
    return reply_error(c, 500, "pseudonym failed");
  /* logd folds identical events into one entry; each deletion is its own event. */
  if (random_id(request_id) != 0) return reply_error(c, 500, "no randomness");
  pthread_mutex_lock(&api->lock);
  int has = vault_has(api->cfg.vault, user, err, sizeof err);
  if (has <= 0) {
    pthread_mutex_unlock(&api->lock);
    return has == 0 ? reply_error(c, 404, "no credential stored for this user")
                    : reply_error(c, 500, "storage error");
  }
  int64_t index = append_event(api, json_pack("{s:s, s:s, s:s}", "type", "credential_deleted",
                                              "user", user, "request_id", request_id),
                               err, sizeof err);
  if (index < 0) {
    pthread_mutex_unlock(&api->lock);
    logline("deletion for %.12s refused: %s", user, err);
    return reply_error(c, 503, "the log did not confirm the deletion; nothing deleted");
  }
  note_index_locked(api, index);
  int rc = vault_delete(api->cfg.vault, user, err, sizeof err);
  pthread_mutex_unlock(&api->lock);
  if (rc != 0) return reply_error(c, 500, "credential could not be deleted");
  logline("credential deleted %.12s at index %lld", user, (long long)index);
  return reply_json(c, 200, json_pack("{s:s, s:I, s:s}", "user", user, "index", (json_int_t)index,
                                      "request_id", request_id), 0);
}

/* The optional cursor and count of a collect request (borrowed from o). Returns NULL,
 * or the message of a 400 answer. */
static const char *collect_params(json_t *o, const char **cursor, int *count) {
  *cursor = NULL;
  json_t *cj = json_object_get(o, "cursor");
  if (cj && !json_is_null(cj)) {
    if (!json_is_string(cj) || !validate_cursor(json_string_value(cj), json_string_length(cj)) ||
        strlen(json_string_value(cj)) != json_string_length(cj))
      return "cursor must be 1-128 characters of [A-Za-z0-9_-]";
    *cursor = json_string_value(cj);
  }
  *count = COLLECTOR_COUNT_DEFAULT;
  json_t *nj = json_object_get(o, "count");
  if (nj && !json_is_null(nj)) {
    if (!json_is_integer(nj) || json_integer_value(nj) < COLLECTOR_COUNT_MIN ||
        json_integer_value(nj) > COLLECTOR_COUNT_MAX)
      return "count must be an integer from 1 to 100";
    *count = (int)json_integer_value(nj);
  }
  return NULL;
}

/* Logs the result of a made call, then answers Archive: the data (parsed JSON, owned
 * here) only once the result entry is durable. */
static enum MHD_Result finish_collect(collector_api *api, struct MHD_Connection *c,
                                      const char *call_id, const char *user, int64_t intent,
                                      const egress_result *res, json_t *data) {
  char body_sha[65], err[256];
  xt_hex_encode(res->sha256, 32, body_sha);
  json_t *result = json_pack("{s:s, s:s, s:s, s:i, s:I, s:s}", "type", "api_call", "phase", "result",
                             "call_id", call_id, "status", (int)res->status, "bytes",
                             (json_int_t)res->bytes, "body_sha256", body_sha);
  if (result && res->error[0]) json_object_set_new(result, "error", json_string(res->error));
  int64_t result_index = append_event(api, result, err, sizeof err);
  if (result_index < 0) {
    json_decref(data);
    logline("collect %s for %.12s: result not logged: %s", call_id, user, err);
    return reply_error(c, 503, "the log did not confirm the call's result; data withheld");
  }
  note_index(api, result_index);
  logline("collect %s for %.12s: status %ld, %zu bytes%s%s (intent %lld, result %lld)", call_id,
          user, res->status, res->bytes, res->error[0] ? ", " : "", res->error, (long long)intent,
          (long long)result_index);
  if (res->code != EGRESS_OK) {
    unsigned status = res->code == EGRESS_ETIMEOUT ? 504 : 502;
    return reply_json(c, status, json_pack("{s:s, s:s, s:i, s:I, s:I}", "error", res->error,
                                           "call_id", call_id, "upstream_status", (int)res->status,
                                           "intent_index", (json_int_t)intent, "result_index",
                                           (json_int_t)result_index), 0);
  }
  return reply_json(c, 200, json_pack("{s:s, s:I, s:I, s:i, s:o}", "call_id", call_id,
                                      "intent_index", (json_int_t)intent, "result_index",
                                      (json_int_t)result_index, "status", 200, "data", data), 0);
}

static enum MHD_Result post_collect(collector_api *api, struct MHD_Connection *c, struct conn *cs) {
  static const char *const allowed[] = {"username", "cursor", "count", NULL};
  char err[256];
  json_t *o = parse_body(cs, allowed, err, sizeof err);
  if (!o) return reply_error(c, 400, err);
  size_t ulen = 0;
  const char *username = get_username(o, &ulen);
  if (!username) {
    json_decref(o);
    return reply_error(c, 400, "username must be 1-64 characters of [A-Za-z0-9_.]");
  }
  const char *cursor;
  int count;
  const char *bad = collect_params(o, &cursor, &count);
  if (bad) {
    json_decref(o);
    return reply_error(c, 400, bad);
  }
  char user[65], host[128], query[256], call_id[33];
  if (keys_pseudonym(api->cfg.keys, username, ulen, user) != 0) {
    json_decref(o);
    return reply_error(c, 500, "pseudonym failed");
  }
  if (egress_describe(cursor, count, host, sizeof host, query, sizeof query) != 0 ||
      random_id(call_id) != 0) {
    json_decref(o);
    return reply_error(c, 400, "invalid collection parameters");
  }
  char *cookie = NULL;
  size_t clen = 0;
  int found = vault_get(api->cfg.vault, user, &cookie, &clen, err, sizeof err);
  if (found <= 0) {
    json_decref(o);
    if (found < 0) logline("collect for %.12s: %s", user, err);
    return found == 0 ? reply_error(c, 404, "no credential stored for this user")
                      : reply_error(c, 500, "stored credential unusable");
  }

  /* Write-ahead: the request may leave only once logd has made its intent durable. */
  int64_t intent = append_event(api, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
                                               "type", "api_call", "phase", "intent", "call_id",
                                               call_id, "user", user, "endpoint",
                                               EGRESS_ENDPOINT_NAME, "method", "GET", "host", host,
                                               "path", EGRESS_PATH, "query", query),
                                err, sizeof err);
  if (intent < 0) {
    vault_free_secret(cookie, clen + 1);
    json_decref(o);
    logline("collect %s for %.12s not made: %s", call_id, user, err);
    return reply_error(c, 503, "the log did not confirm the call's intent; no request was made");
  }
  note_index(api, intent);
  egress_result res;
  egress_fetch(cookie, cursor, count, &res); /* the outcome is in res.code */
  vault_free_secret(cookie, clen + 1);
  json_decref(o);
  /* The body goes back to Archive only as parsed JSON; anything else is an error, and
   * the logged result says so. */
  json_t *data = NULL;
  if (res.code == EGRESS_OK) {
    json_error_t jerr;
    data = json_loadb(res.body, res.bytes, JSON_REJECT_DUPLICATES, &jerr);
    if (!data) {
      res.code = EGRESS_EMALFORMED;
      xt_errf(res.error, sizeof res.error, "upstream answered with malformed JSON");
    }
  }
  egress_result_free(&res);
  return finish_collect(api, c, call_id, user, intent, &res, data);
}

/* SHA-256 (hex) of the raw quote whose hex is quote_hex: what entries name a quote by.
 * Returns 0, or -1 when quote_hex is not hex or memory runs out. */
static int quote_digest(const char *quote_hex, char out[65]) {
  size_t qlen = strlen(quote_hex);
  uint8_t *raw = malloc(qlen / 2 + 1);
  int ok = raw && qlen % 2 == 0 && xt_hex_decode(quote_hex, qlen, 0, raw, qlen / 2, NULL) == XT_OK;
  if (ok) sha256_hex(raw, qlen / 2, out);
  free(raw);
  return ok ? 0 : -1;
}

/* The user_count entry: the statement's numbers and hash, its signature (so an auditor
 * checks it from the log alone, with the boot entry's signing_key and instance_id) and,
 * in enclave mode, the SHA-256 of the quote served with it. */
static json_t *user_count_event(long count, int64_t as_of, const char *statement_sha, const char *sighex,
                                const char *quote_hex) {
  char qsha[65];
  if (quote_hex && quote_digest(quote_hex, qsha) != 0) return NULL;
  json_t *ev = json_pack("{s:s, s:I, s:I, s:s, s:s}", "type", "user_count", "count", (json_int_t)count,
                         "as_of_index", (json_int_t)as_of, "statement_sha256", statement_sha, "signature",
                         sighex);
  if (ev && quote_hex && json_object_set_new(ev, "quote_sha256", json_string(qsha)) != 0) {
    json_decref(ev);
    return NULL;
  }
  return ev;
}

static enum MHD_Result get_user_count(collector_api *api, struct MHD_Connection *c) {
  char err[256], pub[65], statement_sha[65], sighex[129];
  xt_hex_encode(api->cfg.keys->signing_pub, 32, pub);
  pthread_mutex_lock(&api->lock);
  long count = vault_count(api->cfg.vault);
  int64_t as_of = api->last_index;
  if (count < 0) {
    pthread_mutex_unlock(&api->lock);
    return reply_error(c, 500, "storage error");
  }
  json_t *st = json_pack("{s:s, s:I, s:I, s:s, s:s}", "type", "xordi-collector-user-count-v1",
                         "count", (json_int_t)count, "as_of_index", (json_int_t)as_of,
                         "collector_key", pub, "instance_id", api->cfg.instance_id);
  char *statement = st ? json_dumps(st, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  json_decref(st);
  if (!statement) {
    pthread_mutex_unlock(&api->lock);
    return reply_error(c, 500, "out of memory");
  }
  size_t slen = strlen(statement);
  sha256_hex(statement, slen, statement_sha);
  uint8_t sig[64];
  if (keys_sign(api->cfg.keys, (const uint8_t *)statement, slen, sig) != 0) {
    pthread_mutex_unlock(&api->lock);
    free(statement);
    return reply_error(c, 500, "signing failed");
  }
  xt_hex_encode(sig, 64, sighex);
  char *quote = NULL, *event_log = NULL;
  if (api->cfg.quote) {
    size_t dlen = strlen(COLLECTOR_USER_COUNT_DOMAIN);
    uint8_t *m = malloc(dlen + slen);
    uint8_t rd[64] = {0};
    int qrc = -1;
    snprintf(err, sizeof err, "out of memory");
    if (m) {
      memcpy(m, COLLECTOR_USER_COUNT_DOMAIN, dlen);
      memcpy(m + dlen, statement, slen);
      sha256(m, dlen + slen, rd);
      free(m);
      qrc = api->cfg.quote(api->cfg.quote_cls, rd, &quote, &event_log, NULL, err, sizeof err);
    }
    if (qrc != 0) {
      pthread_mutex_unlock(&api->lock);
      free(statement);
      logline("user-count quote failed: %s", err);
      return reply_error(c, 503, "attestation unavailable");
    }
  }
  json_t *uc = user_count_event(count, as_of, statement_sha, sighex, quote);
  snprintf(err, sizeof err, "malformed quote or out of memory");
  int64_t index = uc ? append_event(api, uc, err, sizeof err) : -1;
  if (index >= 0) note_index_locked(api, index);
  pthread_mutex_unlock(&api->lock);
  if (index < 0) {
    free(statement);
    free(quote);
    free(event_log);
    logline("user-count not logged: %s", err);
    return reply_error(c, 503, "the log did not confirm the statement");
  }
  json_t *out = json_pack("{s:s, s:I, s:I, s:s, s:s, s:s, s:I, s:s?, s:s?}", "statement",
                          statement, "count", (json_int_t)count, "as_of_index", (json_int_t)as_of,
                          "signature", sighex, "public_key", pub, "statement_sha256",
                          statement_sha, "index", (json_int_t)index, "quote", quote, "event_log",
                          event_log);
  free(statement);
  free(quote);
  free(event_log);
  return reply_json(c, 200, out, 0);
}

/* --- dispatch ---------------------------------------------------------------------- */

static size_t keep_escaped(void *cls, struct MHD_Connection *c, char *uri) {
  /* Paths are matched and validated exactly as sent: "%2f" stays three characters and
   * fails the username charset instead of turning into a separator. */
  (void)cls; (void)c;
  return strlen(uri);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **state) {
  collector_api *api = cls;
  struct conn *cs = *state;
  if (!cs) {
    cs = calloc(1, sizeof *cs);
    if (!cs) return MHD_NO;
    *state = cs;
    return MHD_YES;
  }
  if (*upload_size) {
    if (cs->too_big || cs->len + *upload_size > BODY_MAX) {
      cs->too_big = 1;
      /* Stop listening to a client that keeps streaming (an endless chunked body):
       * past 1 MiB over the limit the connection is closed instead of answered 413. */
      cs->discarded += *upload_size;
      if (cs->discarded > (1u << 20)) return MHD_NO;
    } else {
      memcpy(cs->body + cs->len, upload, *upload_size);
      cs->len += *upload_size;
    }
    *upload_size = 0;
    return MHD_YES;
  }
  /* Only HTTP/1.x request lines are served. */
  if (!version || (strcmp(version, MHD_HTTP_VERSION_1_1) && strcmp(version, MHD_HTTP_VERSION_1_0)))
    return reply_error(c, 400, "malformed request line");
  if (!strcmp(url, "/healthz") && !strcmp(method, "GET"))
    return reply_json(c, 200, json_pack("{s:b}", "ok", 1), 0);
  if (!strcmp(url, "/v1/attestation") && !strcmp(method, "GET")) {
    /* Public: the boot entry's quote, so anyone can check quote_sha256 and the binding. */
    char pub[65];
    xt_hex_encode(api->cfg.keys->signing_pub, 32, pub);
    return reply_json(c, 200, json_pack("{s:s, s:I, s:s, s:s, s:s?, s:s?, s:s?}", "component", "collector",
                                        "boot_index", (json_int_t)api->boot.index, "signing_key",
                                        pub, "instance_id", api->cfg.instance_id, "quote",
                                        api->boot.quote_hex, "event_log", api->boot.event_log,
                                        "vm_config", api->boot.vm_config), 0);
  }
  if (!authorized(api, c)) return reply_error(c, 401, "missing or wrong bearer token");
  if (cs->too_big) return reply_error(c, 413, "request body too large");
  if (MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, NULL, NULL) > 0 || strchr(url, '?'))
    return reply_error(c, 400, "query parameters are not accepted");
  if (!strcmp(url, "/v1/credentials")) {
    if (strcmp(method, "POST")) return reply_error(c, 405, "use POST");
    return post_credentials(api, c, cs);
  }
  if (!strcmp(url, "/v1/collect")) {
    if (strcmp(method, "POST")) return reply_error(c, 405, "use POST");
    return post_collect(api, c, cs);
  }
  if (!strncmp(url, CREDENTIALS_PREFIX, strlen(CREDENTIALS_PREFIX))) {
    if (strcmp(method, "DELETE")) return reply_error(c, 405, "use DELETE");
    return delete_credentials(api, c, url + strlen(CREDENTIALS_PREFIX));
  }
  if (!strcmp(url, "/v1/user-count")) {
    if (strcmp(method, "GET")) return reply_error(c, 405, "use GET");
    return get_user_count(api, c);
  }
  return reply_error(c, 404, "no such endpoint");
}

static void completed(void *cls, struct MHD_Connection *c, void **state,
                      enum MHD_RequestTerminationCode toe) {
  (void)cls; (void)c; (void)toe;
  free(*state);
  *state = NULL;
}

/* The format comes from libmicrohttpd. */
__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap) {
  (void)cls;
  char msg[512];
  xt_verrf(msg, sizeof msg, fmt, ap);
  size_t n = strlen(msg);
  while (n && msg[n - 1] == '\n') msg[--n] = 0;
  logline("http: %s", msg);
}

int64_t collector_log_boot(const collector_config *cfg, collector_boot *boot, char *err,
                           size_t errcap) {
  char pub[65], quote_sha[65] = "";
  xt_hex_encode(cfg->keys->signing_pub, 32, pub);
  memset(boot, 0, sizeof *boot);
  boot->index = -1;
  if (cfg->quote) {
    uint8_t rd[64];
    dstack_boot_report_data("collector", cfg->keys->signing_pub, 32, rd);
    if (cfg->quote(cfg->quote_cls, rd, &boot->quote_hex, &boot->event_log, &boot->vm_config, err,
                   errcap) != 0)
      return -1;
    if (quote_digest(boot->quote_hex, quote_sha) != 0) {
      xt_errf(err, errcap, "malformed quote");
      return -1;
    }
  }
  char host[128], query[64], egress[256];
  if (egress_describe(NULL, COLLECTOR_COUNT_DEFAULT, host, sizeof host, query, sizeof query) != 0) {
    xt_errf(err, errcap, "egress destination unusable");
    return -1;
  }
  snprintf(egress, sizeof egress, "GET %s%s", host, EGRESS_PATH);
  /* A restart inside the same instance would otherwise log an identical event, which logd
   * folds into the first one; every boot is its own entry. */
  char boot_id[33];
  if (random_id(boot_id) != 0) {
    xt_errf(err, errcap, "no randomness");
    return -1;
  }
  json_t *ev = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "type", "boot",
                         "component", "collector", "version", XT_VERSION, "compose_hash",
                         cfg->compose_hash, "instance_id", cfg->instance_id, "quote_sha256",
                         quote_sha, "checkpoint_key", "", "anchor_address", "", "signing_key", pub,
                         "build", egress_build_flavour(), "egress", egress, "boot_id", boot_id);
  if (!ev) { xt_errf(err, errcap, "out of memory"); return -1; }
  int64_t index = -1;
  int rc = cfg->quote ? logclient_append_boot(cfg->log, ev, boot->quote_hex, boot->event_log,
                                               boot->vm_config, &index, err, errcap)
                      : logclient_append(cfg->log, ev, &index, err, errcap);
  json_decref(ev);
  boot->index = rc == 0 ? index : -1;
  return rc == 0 ? index : rc;
}

collector_api *api_start(const collector_config *cfg, collector_boot *boot, char *err,
                         size_t errcap) {
  const char *colon = strrchr(cfg->listen, ':');
  char host[64];
  struct sockaddr_in sa = {0};
  sa.sin_family = AF_INET;
  long port = -1;
  if (colon && (size_t)(colon - cfg->listen) < sizeof host) {
    memcpy(host, cfg->listen, (size_t)(colon - cfg->listen));
    host[colon - cfg->listen] = 0;
    uint64_t p;
    if (xt_parse_u64(colon + 1, 0, 0, 65535, &p) == XT_OK && inet_pton(AF_INET, host, &sa.sin_addr) == 1)
      port = (long)p;
  }
  if (port < 0 || port > 65535) {
    xt_errf(err, errcap, "--listen must be IPv4-ADDRESS:PORT");
    return NULL;
  }
  sa.sin_port = htons((uint16_t)port);
  collector_api *api = calloc(1, sizeof *api);
  if (!api) { xt_errf(err, errcap, "out of memory"); return NULL; }
  api->cfg = *cfg;
  api->last_index = boot->index;
  api->boot = *boot;
  memset(boot, 0, sizeof *boot);
  pthread_mutex_init(&api->lock, NULL);
  memcpy(api->token_digest, cfg->archive_token_sha256, 32);
  api->d = MHD_start_daemon(
      MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG,
      (uint16_t)port, NULL, NULL, handler, api, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
      MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_UNESCAPE_CALLBACK, keep_escaped,
      NULL, MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_CONNECTION_LIMIT, 64u,
      MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_STRICT_FOR_CLIENT, (int)1, MHD_OPTION_END);
  if (!api->d) {
    pthread_mutex_destroy(&api->lock);
    *boot = api->boot;
    free(api);
    xt_errf(err, errcap, "cannot listen on %s", cfg->listen);
    return NULL;
  }
  const union MHD_DaemonInfo *di = MHD_get_daemon_info(api->d, MHD_DAEMON_INFO_BIND_PORT);
  api->port = di ? di->port : (unsigned)port;
  return api;
}

unsigned api_port(const collector_api *api) { return api->port; }

void api_stop(collector_api *api) {
  if (!api) return;
  MHD_stop_daemon(api->d);
  pthread_mutex_destroy(&api->lock);
  free(api->boot.quote_hex);
  free(api->boot.event_log);
  free(api->boot.vm_config);
  OPENSSL_cleanse(api->token_digest, sizeof api->token_digest);
  free(api);
}
