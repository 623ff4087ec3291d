/* eventlog.c: dstack event log parsing, RTMR replay, app identity extraction. */
#include "dstack/eventlog.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/hex.h"

#define MAX_PAYLOAD (1u << 20)
#define MAX_NAME 4096

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

/* ---- runtime event digests ---- */

/* Appends s to the JCS (RFC 8785) form of a JSON string: only '"', '\\' and control
 * characters are escaped, controls as \b \f \n \r \t or \u00xx with LOWERCASE hex.
 * jansson's encoder writes uppercase \u escapes, so it cannot produce these bytes.
 * p must hold 6 * strlen(s) bytes; returns the end. */
static char *jcs_string(char *p, const char *s) {
  static const char digits[] = "0123456789abcdef";
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    const char *esc = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\b' ? "\\b"
                    : c == '\f' ? "\\f" : c == '\n' ? "\\n" : c == '\r' ? "\\r"
                    : c == '\t' ? "\\t" : NULL;
    if (esc) {
      memcpy(p, esc, 2);
      p += 2;
    } else if (c < 0x20) {
      memcpy(p, "\\u00", 4);
      p[4] = digits[c >> 4];
      p[5] = digits[c & 15];
      p += 6;
    } else {
      *p++ = (char)c;
    }
  }
  return p;
}

dstack_err dstack_runtime_event_preimage(dstack_event_version v, const char *name,
                                         const uint8_t *payload, size_t payload_len,
                                         uint8_t **out, size_t *out_len) {
  size_t nlen = strlen(name);
  if (nlen > MAX_NAME || payload_len > MAX_PAYLOAD) return DSTACK_EMALFORMED;
  if (v == DSTACK_EVENT_V1) {
    uint8_t *b = malloc(4 + 1 + nlen + 1 + payload_len + 1);
    if (!b) return DSTACK_ENOMEM;
    for (int i = 0; i < 4; i++) b[i] = (uint8_t)(DSTACK_RUNTIME_EVENT_TYPE >> (8 * i));
    b[4] = ':';
    memcpy(b + 5, name, nlen);
    b[5 + nlen] = ':';
    if (payload_len) memcpy(b + 6 + nlen, payload, payload_len);
    *out = b;
    *out_len = 6 + nlen + payload_len;
    return DSTACK_OK;
  }
  if (v != DSTACK_EVENT_V2) return DSTACK_EMALFORMED;
  /* JCS sorts the keys: name, payload, type. */
  static const char k1[] = "{\"name\":\"", k2[] = "\",\"payload\":\"",
                    k3[] = "\",\"type\":134217729}";
  char *b = malloc(sizeof k1 + 6 * nlen + sizeof k2 + 2 * payload_len + sizeof k3 + 1);
  if (!b) return DSTACK_ENOMEM;
  char *p = b;
  memcpy(p, k1, sizeof k1 - 1);
  p = jcs_string(p + sizeof k1 - 1, name);
  memcpy(p, k2, sizeof k2 - 1);
  p += sizeof k2 - 1;
  xt_hex_encode(payload, payload_len, p);
  p += 2 * payload_len;
  memcpy(p, k3, sizeof k3); /* with its NUL, not counted */
  *out = (uint8_t *)b;
  *out_len = (size_t)(p - b) + sizeof k3 - 1;
  return DSTACK_OK;
}

dstack_err dstack_runtime_event_digest_v(dstack_event_version v, const char *name,
                                         const uint8_t *payload, size_t payload_len,
                                         uint8_t out[48]) {
  memset(out, 0, 48);
  uint8_t *pre;
  size_t pre_len;
  dstack_err e = dstack_runtime_event_preimage(v, name, payload, payload_len, &pre, &pre_len);
  if (e) return e;
  unsigned int dlen = 0;
  if (EVP_Digest(pre, pre_len, out, &dlen, EVP_sha384(), NULL) != 1 || dlen != 48) {
    memset(out, 0, 48);
    e = DSTACK_ECRYPTO;
  }
  free(pre);
  return e;
}

void dstack_runtime_event_digest(const char *name, const uint8_t *payload, size_t payload_len,
                                 uint8_t out[48]) {
  /* a failure leaves out all zeros, which cannot match a real digest */
  if (dstack_runtime_event_digest_v(DSTACK_EVENT_V1, name, payload, payload_len, out))
    memset(out, 0, 48);
}

/* ---- parsing ---- */

/* imr, event_type and version are numbers in dstack's output; accept decimal strings. */
static int get_u32(json_t *obj, const char *key, uint32_t max, uint32_t *out) {
  json_t *v = json_object_get(obj, key);
  long long x;
  if (json_is_integer(v)) {
    x = json_integer_value(v);
  } else if (json_is_string(v)) {
    const char *s = json_string_value(v);
    char *end;
    if (!*s || json_string_length(v) > 10 || *s < '0' || *s > '9') return -1;
    x = strtoll(s, &end, 10);
    if (*end) return -1;
  } else {
    return -1;
  }
  if (x < 0 || x > (long long)max) return -1;
  *out = (uint32_t)x;
  return 0;
}

/* An optional string member: "" when absent. Returns -1 when present but not a string. */
static int get_str(json_t *e, const char *key, const char **s, size_t *len) {
  json_t *v = json_object_get(e, key);
  *s = "";
  *len = 0;
  if (!v) return 0;
  if (!json_is_string(v)) return -1;
  *s = json_string_value(v);
  *len = json_string_length(v);
  return 0;
}

static dstack_err parse_header(json_t *e, dstack_event *ev, size_t i, char *err, size_t errcap) {
  uint32_t version = 1;
  if (!json_is_object(e) || get_u32(e, "imr", 3, &ev->imr) ||
      get_u32(e, "event_type", UINT32_MAX, &ev->event_type)) {
    xt_errf(err, errcap, "event %zu: missing or bad imr/event_type", i);
    return DSTACK_EMALFORMED;
  }
  if (json_object_get(e, "version") && (get_u32(e, "version", 2, &version) || version < 1)) {
    xt_errf(err, errcap, "event %zu: unknown event log version", i);
    return DSTACK_EMALFORMED;
  }
  ev->version = version == 2 ? DSTACK_EVENT_V2 : DSTACK_EVENT_V1;
  const char *nm;
  size_t nlen;
  if (get_str(e, "event", &nm, &nlen) || memchr(nm, '\0', nlen) || nlen > MAX_NAME) {
    xt_errf(err, errcap, "event %zu: event name is not a string without NUL (at most %d bytes)",
            i, MAX_NAME);
    return DSTACK_EMALFORMED;
  }
  ev->event = malloc(nlen + 1);
  if (!ev->event) {
    xt_errf(err, errcap, "out of memory");
    return DSTACK_ENOMEM;
  }
  memcpy(ev->event, nm, nlen + 1);
  return DSTACK_OK;
}

static dstack_err parse_payload(json_t *e, dstack_event *ev, size_t i, char *err, size_t errcap) {
  const char *hex;
  size_t hex_len;
  if (get_str(e, "event_payload", &hex, &hex_len)) {
    xt_errf(err, errcap, "event %zu: event_payload is not a string", i);
    return DSTACK_EMALFORMED;
  }
  if (hex_len / 2 > MAX_PAYLOAD) {
    xt_errf(err, errcap, "event %zu: payload too large", i);
    return DSTACK_EMALFORMED;
  }
  ev->payload = malloc(hex_len / 2 + 1);
  if (!ev->payload) {
    xt_errf(err, errcap, "out of memory");
    return DSTACK_ENOMEM;
  }
  if (xt_hex_decode(hex, hex_len, XT_HEX_0X, ev->payload, hex_len / 2, &ev->payload_len)) {
    xt_errf(err, errcap, "event %zu: event_payload is not hex", i);
    return DSTACK_EMALFORMED;
  }
  return DSTACK_OK;
}

/* A given preimage must be exactly what the digest hashes. */
static dstack_err check_preimage(json_t *e, const dstack_event *ev, size_t i, char *err,
                                 size_t errcap) {
  const char *hex;
  size_t hex_len;
  if (get_str(e, "preimage", &hex, &hex_len)) {
    xt_errf(err, errcap, "event %zu: preimage is not a string", i);
    return DSTACK_EMALFORMED;
  }
  if (!json_object_get(e, "preimage")) return DSTACK_OK;
  uint8_t *want, *got = malloc(hex_len / 2 + 1);
  size_t want_len, got_len;
  if (!got) return DSTACK_ENOMEM;
  dstack_err rc = dstack_runtime_event_preimage(ev->version, ev->event, ev->payload,
                                                ev->payload_len, &want, &want_len);
  if (rc) {
    free(got);
    xt_errf(err, errcap, "event %zu: %s", i, dstack_err_str(rc));
    return rc;
  }
  if (xt_hex_decode(hex, hex_len, XT_HEX_0X, got, hex_len / 2, &got_len) ||
      got_len != want_len || memcmp(got, want, want_len) != 0) {
    xt_errf(err, errcap, "event %zu (\"%s\"): preimage is not the event's name and payload", i,
            ev->event);
    rc = DSTACK_EDIGEST;
  }
  free(got);
  free(want);
  return rc;
}

static dstack_err parse_event(json_t *e, dstack_event *ev, size_t i, char *err, size_t errcap) {
  dstack_err rc = parse_header(e, ev, i, err, errcap);
  if (!rc) rc = parse_payload(e, ev, i, err, errcap);
  if (rc) return rc;
  const char *hex;
  size_t hex_len;
  bool runtime = ev->event_type == DSTACK_RUNTIME_EVENT_TYPE;
  size_t dlen = 0;
  if (get_str(e, "digest", &hex, &hex_len) || (hex_len == 0 && !runtime) ||
      (hex_len && (xt_hex_decode(hex, hex_len, XT_HEX_0X, ev->digest, 48, &dlen) || dlen != 48))) {
    xt_errf(err, errcap, "event %zu: digest is not 48 bytes of hex", i);
    return DSTACK_EMALFORMED;
  }
  /* Since dstack 0.5.6 runtime events come without a digest: it is computed below. */
  ev->digest_given = hex_len != 0;
  if (!runtime) return DSTACK_OK;
  if (!ev->digest_given) {
    rc = dstack_runtime_event_digest_v(ev->version, ev->event, ev->payload, ev->payload_len,
                                       ev->digest);
    if (rc) {
      xt_errf(err, errcap, "event %zu: %s", i, dstack_err_str(rc));
      return rc;
    }
  }
  return check_preimage(e, ev, i, err, errcap);
}

dstack_err dstack_event_log_parse(dstack_event_log *log, const char *json, size_t len,
                                  char *err, size_t errcap) {
  memset(log, 0, sizeof *log);
  json_error_t jerr;
  json_t *root = json_loadb(json, len, JSON_DECODE_ANY, &jerr);
  if (json_is_string(root)) {
    json_t *inner = json_loadb(json_string_value(root), json_string_length(root), 0, &jerr);
    json_decref(root);
    root = inner;
  }
  if (!json_is_array(root)) {
    xt_errf(err, errcap, "event log is not a JSON array%s%s", root ? "" : ": ",
            root ? "" : jerr.text);
    json_decref(root);
    return DSTACK_EMALFORMED;
  }
  size_t n = json_array_size(root);
  if (n > DSTACK_EVENT_LOG_MAX_EVENTS) {
    xt_errf(err, errcap, "event log has %zu events (limit %d)", n, DSTACK_EVENT_LOG_MAX_EVENTS);
    json_decref(root);
    return DSTACK_EMALFORMED;
  }
  log->events = calloc(n ? n : 1, sizeof *log->events);
  if (!log->events) {
    xt_errf(err, errcap, "out of memory");
    json_decref(root);
    return DSTACK_ENOMEM;
  }
  for (size_t i = 0; i < n; i++) {
    log->n = i + 1; /* so that free releases a half-built event */
    dstack_err rc = parse_event(json_array_get(root, i), &log->events[i], i, err, errcap);
    if (rc) {
      dstack_event_log_free(log);
      json_decref(root);
      return rc;
    }
  }
  log->n = n;
  json_decref(root);
  return DSTACK_OK;
}

/* ---- replay ---- */

dstack_err dstack_event_log_replay(const dstack_event_log *log, uint8_t rtmr[4][48], char *err,
                                   size_t errcap) {
  memset(rtmr, 0, 4 * 48);
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  if (!md) {
    xt_errf(err, errcap, "out of memory");
    return DSTACK_ENOMEM;
  }
  dstack_err rc = DSTACK_OK;
  for (size_t i = 0; i < log->n && !rc; i++) {
    const dstack_event *ev = &log->events[i];
    if (ev->event_type == DSTACK_RUNTIME_EVENT_TYPE) {
      uint8_t want[48];
      rc = dstack_runtime_event_digest_v(ev->version, ev->event, ev->payload, ev->payload_len,
                                         want);
      if (rc) {
        xt_errf(err, errcap, "event %zu: %s", i, dstack_err_str(rc));
        break;
      }
      if (memcmp(want, ev->digest, 48) != 0) {
        xt_errf(err, errcap, "event %zu (\"%s\"): digest does not match its name and payload",
                i, ev->event);
        rc = DSTACK_EDIGEST;
        break;
      }
    }
    uint8_t *r = rtmr[ev->imr];
    if (EVP_DigestInit_ex(md, EVP_sha384(), NULL) != 1 || EVP_DigestUpdate(md, r, 48) != 1 ||
        EVP_DigestUpdate(md, ev->digest, 48) != 1 || EVP_DigestFinal_ex(md, r, NULL) != 1) {
      xt_errf(err, errcap, "SHA-384 failed");
      rc = DSTACK_ECRYPTO;
    }
  }
  EVP_MD_CTX_free(md);
  return rc;
}

dstack_err dstack_event_log_check_quote(const dstack_event_log *log, const tdx_quote *q,
                                        char *err, size_t errcap) {
  uint8_t rtmr[4][48];
  dstack_err rc = dstack_event_log_replay(log, rtmr, err, errcap);
  if (rc) return rc;
  for (int i = 0; i < 4; i++) {
    if (memcmp(rtmr[i], q->rtmr[i], 48) != 0) {
      char got[97], want[97];
      xt_hex_encode(rtmr[i], 48, got);
      xt_hex_encode(q->rtmr[i], 48, want);
      xt_errf(err, errcap, "event log replays RTMR%d to %.16s..., the quote has %.16s...", i, got,
              want);
      return DSTACK_EMISMATCH;
    }
  }
  return DSTACK_OK;
}

/* ---- identity ---- */

static dstack_err take_hex(char *out, size_t cap, const dstack_event *ev, char *err,
                           size_t errcap) {
  if (out[0]) {
    xt_errf(err, errcap, "boot event \"%s\" appears twice", ev->event);
    return DSTACK_EIDENTITY;
  }
  if (2 * ev->payload_len + 1 > cap) {
    xt_errf(err, errcap, "boot event \"%s\" payload too long", ev->event);
    return DSTACK_EIDENTITY;
  }
  xt_hex_encode(ev->payload, ev->payload_len, out);
  return DSTACK_OK;
}

/* Payloads that are text: printable ASCII only, so a report can show them as they are. */
static dstack_err take_text(char *out, size_t cap, bool *seen, const dstack_event *ev,
                            char *err, size_t errcap) {
  if (*seen || ev->payload_len >= cap) {
    xt_errf(err, errcap, "boot event \"%s\" repeated or too long", ev->event);
    return DSTACK_EIDENTITY;
  }
  for (size_t i = 0; i < ev->payload_len; i++) {
    if (ev->payload[i] < 0x20 || ev->payload[i] > 0x7e) {
      xt_errf(err, errcap, "boot event \"%s\" is not printable text", ev->event);
      return DSTACK_EIDENTITY;
    }
  }
  memcpy(out, ev->payload, ev->payload_len);
  out[ev->payload_len] = '\0';
  *seen = true;
  return DSTACK_OK;
}

/* dstack writes {"name":...,"id":...} (KeyProviderInfo). Anything else leaves name and
 * id empty: the raw text is still reported. */
static void split_key_provider(dstack_app_identity *id) {
  json_t *o = json_loads(id->key_provider, 0, NULL);
  json_t *name = json_object_get(o, "name"), *kid = json_object_get(o, "id");
  if (json_is_string(name) && json_is_string(kid) &&
      json_string_length(name) < sizeof id->key_provider_name &&
      json_string_length(kid) < sizeof id->key_provider_id &&
      strlen(json_string_value(name)) == json_string_length(name) &&
      strlen(json_string_value(kid)) == json_string_length(kid)) {
    memcpy(id->key_provider_name, json_string_value(name), json_string_length(name) + 1);
    memcpy(id->key_provider_id, json_string_value(kid), json_string_length(kid) + 1);
  }
  json_decref(o);
}

dstack_err dstack_event_log_identity(const dstack_event_log *log, dstack_app_identity *id,
                                     char *err, size_t errcap) {
  memset(id, 0, sizeof *id);
  bool seen_kp = false, seen_fs = false;
  for (size_t i = 0; i < log->n; i++) {
    const dstack_event *ev = &log->events[i];
    if (ev->imr != 3 || ev->event_type != DSTACK_RUNTIME_EVENT_TYPE) continue;
    const char *nm = ev->event;
    if (!strcmp(nm, "system-ready")) break;
    dstack_err rc = DSTACK_OK;
    if (!strcmp(nm, "app-id"))
      rc = take_hex(id->app_id, sizeof id->app_id, ev, err, errcap);
    else if (!strcmp(nm, "compose-hash"))
      rc = take_hex(id->compose_hash, sizeof id->compose_hash, ev, err, errcap);
    else if (!strcmp(nm, "instance-id"))
      rc = take_hex(id->instance_id, sizeof id->instance_id, ev, err, errcap);
    else if (!strcmp(nm, "os-image-hash"))
      rc = take_hex(id->os_image_hash, sizeof id->os_image_hash, ev, err, errcap);
    else if (!strcmp(nm, "gpu-policy-hash"))
      rc = take_hex(id->gpu_policy_hash, sizeof id->gpu_policy_hash, ev, err, errcap);
    else if (!strcmp(nm, "storage-fs"))
      rc = take_text(id->storage_fs, sizeof id->storage_fs, &seen_fs, ev, err, errcap);
    else if (!strcmp(nm, "key-provider")) {
      rc = take_text(id->key_provider, sizeof id->key_provider, &seen_kp, ev, err, errcap);
      if (!rc) split_key_provider(id);
    }
    if (rc) return rc;
  }
  return DSTACK_OK;
}

void dstack_mr_config_decode(const uint8_t m[48], dstack_mr_config *out) {
  memset(out, 0, sizeof *out);
  bool tail_zero = true, all_zero = m[0] == 0;
  for (int i = 33; i < 48; i++) tail_zero = tail_zero && m[i] == 0;
  for (int i = 1; i < 33; i++) all_zero = all_zero && m[i] == 0;
  if (all_zero && tail_zero) return; /* version 0: no config id */
  if (m[0] < 1 || m[0] > 3 || !tail_zero) {
    out->version = -1;
    return;
  }
  out->version = m[0];
  xt_hex_encode(m + 1, 32, out->hash);
}
