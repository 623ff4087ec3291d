/* eventlog.c: dstack event log parsing, RTMR replay, app identity extraction. */
#include "dstack/eventlog.h"
#include "dstack/util.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PAYLOAD (1u << 20)

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...) {
  if (!err || !errlen) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
}

void dstack_event_log_free(dstack_event_log *log) {
  if (!log) return;
  for (size_t i = 0; i < log->n; i++) {
    free(log->events[i].event);
    free(log->events[i].payload);
  }
  free(log->events);
  log->events = NULL;
  log->n = 0;
}

/* imr and event_type are numbers in dstack's output; accept decimal strings too. */
static int get_u32(json_t *obj, const char *key, uint32_t max, uint32_t *out) {
  json_t *v = json_object_get(obj, key);
  long long x;
  if (json_is_integer(v)) {
    x = json_integer_value(v);
  } else if (json_is_string(v)) {
    const char *s = json_string_value(v);
    char *end;
    if (!*s || json_string_length(v) > 10) return -1;
    x = strtoll(s, &end, 10);
    if (*end) return -1;
  } else {
    return -1;
  }
  if (x < 0 || x > (long long)max) return -1;
  *out = (uint32_t)x;
  return 0;
}

static int parse_event(json_t *e, dstack_event *ev, size_t i, char *err, size_t errlen) {
  json_t *digest = json_object_get(e, "digest");
  json_t *name = json_object_get(e, "event");
  json_t *payload = json_object_get(e, "event_payload");
  if (!json_is_object(e) || get_u32(e, "imr", 3, &ev->imr) ||
      get_u32(e, "event_type", UINT32_MAX, &ev->event_type)) {
    set_err(err, errlen, "event %zu: missing or bad imr/event_type", i);
    return -1;
  }
  if (!json_is_string(digest) ||
      dstack_hex_decode(json_string_value(digest), json_string_length(digest), ev->digest, 48) !=
          48) {
    set_err(err, errlen, "event %zu: digest is not 48 bytes of hex", i);
    return -1;
  }
  if (name && !json_is_string(name)) {
    set_err(err, errlen, "event %zu: event name is not a string", i);
    return -1;
  }
  const char *nm = name ? json_string_value(name) : "";
  size_t nlen = name ? json_string_length(name) : 0;
  if (memchr(nm, '\0', nlen)) {
    set_err(err, errlen, "event %zu: NUL in event name", i);
    return -1;
  }
  ev->event = malloc(nlen + 1);
  if (!ev->event) {
    set_err(err, errlen, "out of memory");
    return -1;
  }
  memcpy(ev->event, nm, nlen + 1);
  size_t hex_len = 0;
  const char *hex = "";
  if (payload) {
    if (!json_is_string(payload)) {
      set_err(err, errlen, "event %zu: event_payload is not a string", i);
      return -1;
    }
    hex = json_string_value(payload);
    hex_len = json_string_length(payload);
  }
  if (hex_len / 2 > MAX_PAYLOAD) {
    set_err(err, errlen, "event %zu: payload too large", i);
    return -1;
  }
  ev->payload = malloc(hex_len / 2 + 1);
  if (!ev->payload) {
    set_err(err, errlen, "out of memory");
    return -1;
  }
  long n = dstack_hex_decode(hex, hex_len, ev->payload, hex_len / 2);
  if (n < 0) {
    set_err(err, errlen, "event %zu: event_payload is not hex", i);
    return -1;
  }
  ev->payload_len = (size_t)n;
  return 0;
}

int dstack_event_log_parse(dstack_event_log *log, const char *json, size_t len, char *err,
                           size_t errlen) {
  memset(log, 0, sizeof *log);
  json_error_t jerr;
  json_t *root = json_loadb(json, len, JSON_DECODE_ANY, &jerr);
  if (json_is_string(root)) {
    json_t *inner = json_loadb(json_string_value(root), json_string_length(root), 0, &jerr);
    json_decref(root);
    root = inner;
  }
  if (!json_is_array(root)) {
    set_err(err, errlen, "event log is not a JSON array%s%s", root ? "" : ": ",
            root ? "" : jerr.text);
    json_decref(root);
    return -1;
  }
  size_t n = json_array_size(root);
  if (n > DSTACK_EVENT_LOG_MAX_EVENTS) {
    set_err(err, errlen, "event log has %zu events (limit %d)", n, DSTACK_EVENT_LOG_MAX_EVENTS);
    json_decref(root);
    return -1;
  }
  log->events = calloc(n ? n : 1, sizeof *log->events);
  if (!log->events) {
    set_err(err, errlen, "out of memory");
    json_decref(root);
    return -1;
  }
  for (size_t i = 0; i < n; i++) {
    log->n = i + 1; /* so that free releases a half-built event */
    if (parse_event(json_array_get(root, i), &log->events[i], i, err, errlen)) {
      dstack_event_log_free(log);
      json_decref(root);
      return -1;
    }
  }
  log->n = n;
  json_decref(root);
  return 0;
}

void dstack_runtime_event_digest(const char *name, const uint8_t *payload, size_t payload_len,
                                 uint8_t out[48]) {
  uint8_t type[4] = {DSTACK_RUNTIME_EVENT_TYPE & 0xff, (DSTACK_RUNTIME_EVENT_TYPE >> 8) & 0xff,
                     (DSTACK_RUNTIME_EVENT_TYPE >> 16) & 0xff, DSTACK_RUNTIME_EVENT_TYPE >> 24};
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  if (!md || EVP_DigestInit_ex(md, EVP_sha384(), NULL) != 1 ||
      EVP_DigestUpdate(md, type, 4) != 1 || EVP_DigestUpdate(md, ":", 1) != 1 ||
      EVP_DigestUpdate(md, name, strlen(name)) != 1 || EVP_DigestUpdate(md, ":", 1) != 1 ||
      EVP_DigestUpdate(md, payload, payload_len) != 1 || EVP_DigestFinal_ex(md, out, NULL) != 1)
    memset(out, 0, 48); /* cannot match a real digest: replay then fails */
  EVP_MD_CTX_free(md);
}

int dstack_event_log_replay(const dstack_event_log *log, uint8_t rtmr[4][48], char *err,
                            size_t errlen) {
  memset(rtmr, 0, 4 * 48);
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  if (!md) {
    set_err(err, errlen, "out of memory");
    return -1;
  }
  for (size_t i = 0; i < log->n; i++) {
    const dstack_event *ev = &log->events[i];
    if (ev->event_type == DSTACK_RUNTIME_EVENT_TYPE) {
      uint8_t want[48];
      dstack_runtime_event_digest(ev->event, ev->payload, ev->payload_len, want);
      if (memcmp(want, ev->digest, 48) != 0) {
        set_err(err, errlen, "event %zu (\"%s\"): digest does not match its name and payload",
                i, ev->event);
        EVP_MD_CTX_free(md);
        return -1;
      }
    }
    uint8_t *r = rtmr[ev->imr];
    if (EVP_DigestInit_ex(md, EVP_sha384(), NULL) != 1 || EVP_DigestUpdate(md, r, 48) != 1 ||
        EVP_DigestUpdate(md, ev->digest, 48) != 1 || EVP_DigestFinal_ex(md, r, NULL) != 1) {
      set_err(err, errlen, "SHA-384 failed");
      EVP_MD_CTX_free(md);
      return -1;
    }
  }
  EVP_MD_CTX_free(md);
  return 0;
}

int dstack_event_log_check_quote(const dstack_event_log *log, const tdx_quote *q, char *err,
                                 size_t errlen) {
  uint8_t rtmr[4][48];
  if (dstack_event_log_replay(log, rtmr, err, errlen)) return -1;
  for (int i = 0; i < 4; i++) {
    if (memcmp(rtmr[i], q->rtmr[i], 48) != 0) {
      char got[97], want[97];
      dstack_hex_encode(rtmr[i], 48, got);
      dstack_hex_encode(q->rtmr[i], 48, want);
      set_err(err, errlen, "event log replays RTMR%d to %.16s..., the quote has %.16s...", i, got,
              want);
      return -1;
    }
  }
  return 0;
}

static int take_hex(char *out, size_t cap, const dstack_event *ev, const char *name, char *err,
                    size_t errlen) {
  if (out[0]) {
    set_err(err, errlen, "boot event \"%s\" appears twice", name);
    return -1;
  }
  if (2 * ev->payload_len + 1 > cap) {
    set_err(err, errlen, "boot event \"%s\" payload too long", name);
    return -1;
  }
  dstack_hex_encode(ev->payload, ev->payload_len, out);
  return 0;
}

int dstack_event_log_identity(const dstack_event_log *log, dstack_app_identity *id, char *err,
                              size_t errlen) {
  memset(id, 0, sizeof *id);
  bool seen_key_provider = false;
  for (size_t i = 0; i < log->n; i++) {
    const dstack_event *ev = &log->events[i];
    if (ev->imr != 3 || ev->event_type != DSTACK_RUNTIME_EVENT_TYPE) continue;
    if (!strcmp(ev->event, "system-ready")) break;
    int rc = 0;
    if (!strcmp(ev->event, "app-id"))
      rc = take_hex(id->app_id, sizeof id->app_id, ev, "app-id", err, errlen);
    else if (!strcmp(ev->event, "compose-hash"))
      rc = take_hex(id->compose_hash, sizeof id->compose_hash, ev, "compose-hash", err, errlen);
    else if (!strcmp(ev->event, "instance-id"))
      rc = take_hex(id->instance_id, sizeof id->instance_id, ev, "instance-id", err, errlen);
    else if (!strcmp(ev->event, "key-provider")) {
      if (seen_key_provider || ev->payload_len >= sizeof id->key_provider ||
          memchr(ev->payload, '\0', ev->payload_len)) {
        set_err(err, errlen, "boot event \"key-provider\" repeated or malformed");
        return -1;
      }
      memcpy(id->key_provider, ev->payload, ev->payload_len);
      id->key_provider[ev->payload_len] = '\0';
      seen_key_provider = true;
    }
    if (rc) return -1;
  }
  return 0;
}
