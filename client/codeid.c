/* codeid.c: checks of boot and checkpoint attestations (see codeid.h). */
#include "client/codeid.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "anchor/tx.h"
#include "base/err.h"
#include "base/hex.h"
#include "client/common.h"
#include "dstack/attest.h"
#include "client/policy.h"
#include "merkle/note.h"

const char *codeid_status_str(codeid_status s) {
  switch (s) {
  case CODEID_UNEXAMINED: return "not examined";
  case CODEID_VERIFIED: return "verified";
  case CODEID_SIMULATED: return "simulated";
  case CODEID_DEV: return "not attested (dev mode)";
  case CODEID_NOT_CHECKED: return "not checked";
  case CODEID_FAILED: return "FAILED";
  }
  return "unknown";
}

static void copy_str(json_t *o, const char *key, char *dst, size_t cap) {
  const char *s = json_string_value(json_object_get(o, key));
  snprintf(dst, cap, "%s", s ? s : "");
}

bool codeid_maybe_boot(const uint8_t *data, size_t len) {
  static const char pat[] = "\"type\":\"boot\"";
  return memmem(data, len, pat, sizeof pat - 1) != NULL;
}

int codeid_boot_parse(const uint8_t *data, size_t len, uint64_t index, codeid_boot *b) {
  memset(b, 0, sizeof *b);
  json_t *j = json_loadb((const char *)data, len, 0, NULL);
  json_t *ev = json_object_get(j, "event");
  const char *type = json_string_value(json_object_get(ev, "type"));
  if (!type || strcmp(type, "boot")) {
    json_decref(j);
    return -1;
  }
  b->index = index;
  copy_str(j, "submitter", b->submitter, sizeof b->submitter);
  copy_str(ev, "component", b->component, sizeof b->component);
  copy_str(ev, "version", b->version, sizeof b->version);
  copy_str(ev, "compose_hash", b->compose_hash, sizeof b->compose_hash);
  copy_str(ev, "instance_id", b->instance_id, sizeof b->instance_id);
  copy_str(ev, "quote_sha256", b->quote_sha256, sizeof b->quote_sha256);
  copy_str(ev, "anchor_address", b->anchor_address, sizeof b->anchor_address);
  copy_str(ev, "signing_key", b->signing_key, sizeof b->signing_key);
  copy_str(ev, "checkpoint_key", b->checkpoint_key, sizeof b->checkpoint_key);
  json_decref(j);
  return 0;
}

bool codeid_boot_is_dev(const codeid_boot *b) {
  return !strcmp(b->compose_hash, "dev") && !b->quote_sha256[0];
}

void codeid_path(bool http, bool boot, uint64_t n, char *out, size_t cap) {
  if (http)
    snprintf(out, cap, "v1/attestation?%s=%llu", boot ? "boot" : "size", (unsigned long long)n);
  else
    snprintf(out, cap, "attestation/%s-%llu.json", boot ? "boot" : "checkpoint", (unsigned long long)n);
}

fetch_status codeid_fetch(log_source *src, bool boot, uint64_t n, uint8_t **data, size_t *len, char *err,
                          size_t errcap) {
  char path[96];
  codeid_path(log_source_is_http(src), boot, n, path, sizeof path);
  fetch_status st = log_source_get(src, path, CODEID_MAX_ATTESTATION, data, len, err, errcap);
  if (st != FETCH_NOT_FOUND || !log_source_is_http(src)) return st;
  /* A static copy of the log (logd's object-storage mirror) cannot answer a query
   * string: it keeps the quotes under the bundle's paths. */
  char e2[300];
  codeid_path(false, boot, n, path, sizeof path);
  st = log_source_get(src, path, CODEID_MAX_ATTESTATION, data, len, e2, sizeof e2);
  return st == FETCH_NOT_FOUND ? FETCH_NOT_FOUND : (st == FETCH_OK ? FETCH_OK : (xt_errf(err, errcap, "%s", e2), st));
}

static void fail(codeid_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(codeid_result *r, const char *fmt, ...) {
  r->failed = true;
  r->status = CODEID_FAILED;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->message, sizeof r->message, fmt, ap);
  va_end(ap);
}

/* The quote and event log of an attestation JSON; NULL quote on error (message set). */
typedef struct att_doc {
  json_t *j;
  uint8_t *quote;
  size_t quote_len;
  const char *event_log;
} att_doc;

static int att_load(att_doc *d, const uint8_t *att, size_t att_len, codeid_result *r) {
  memset(d, 0, sizeof *d);
  json_error_t je;
  d->j = json_loadb((const char *)att, att_len, 0, &je);
  const char *qh = json_string_value(json_object_get(d->j, "quote"));
  if (!d->j || !json_is_object(d->j)) {
    fail(r, "attestation is not a JSON object%s%.200s", d->j ? "" : ": ", d->j ? "" : je.text);
    return -1;
  }
  if (!qh || !qh[0]) {
    fail(r, "attestation has no quote");
    return -1;
  }
  xt_err he = xt_hex_decode_alloc(qh, XT_HEX_0X, &d->quote, &d->quote_len);
  if (he == XT_ENOMEM) {
    fail(r, "out of memory");
    return -1;
  }
  if (he != XT_OK || d->quote_len == 0) {
    fail(r, "attestation quote is not hex");
    return -1;
  }
  d->event_log = json_string_value(json_object_get(d->j, "event_log"));
  return 0;
}

static void att_free(att_doc *d) {
  json_decref(d->j);
  free(d->quote);
}

/* What the platform check needs of the quote, kept in r. */
static void platform_facts(const att_doc *d, const dstack_attestation *a, codeid_result *r) {
  tdx_quote q;
  char qerr[200];
  if (!a->event_log_ok || tdx_quote_parse(&q, d->quote, d->quote_len, qerr, sizeof qerr)) return;
  memcpy(r->mrtd, q.mrtd, 48);
  memcpy(r->rtmr, q.rtmr, sizeof r->rtmr);
  snprintf(r->os_image_hash, sizeof r->os_image_hash, "%s", a->app.os_image_hash);
  snprintf(r->key_provider_name, sizeof r->key_provider_name, "%s", a->app.key_provider_name);
  snprintf(r->key_provider_id, sizeof r->key_provider_id, "%s", a->app.key_provider_id);
  dstack_mr_config mc;
  dstack_mr_config_decode(q.mrconfigid, &mc);
  r->mr_config_version = mc.version;
  snprintf(r->mr_config_hash, sizeof r->mr_config_hash, "%s", mc.hash);
  /* tdx_quote_verify notes a verified level's advisories as "advisories: A,B". */
  const char *adv = a->verdict.result == TDX_VERIFIED ? strstr(a->verdict.message, "advisories: ") : NULL;
  if (adv) snprintf(r->advisories, sizeof r->advisories, "%s", adv + strlen("advisories: "));
  r->have_platform = true;
}

/* The quote check proper, shared by both kinds. */
static void judge(const att_doc *d, const uint8_t rd[64], const char *want_compose, const codeid_opts *o,
                  codeid_result *r) {
  dstack_attestation a;
  dstack_check_attestation(d->quote, d->quote_len, d->event_log, d->event_log ? strlen(d->event_log) : 0,
                           o->collateral, o->now, rd, want_compose, o->allow_simulated || o->lenient, &a);
  snprintf(r->quote_status, sizeof r->quote_status, "%s", a.verdict.status);
  if (a.event_log_ok) {
    snprintf(r->compose_hash, sizeof r->compose_hash, "%s", a.app.compose_hash);
    snprintf(r->app_id, sizeof r->app_id, "%s", a.app.app_id);
  }
  platform_facts(d, &a, r);
  bool simulated = a.verdict.result == TDX_SIMULATED;
  if (!a.report_data_ok) {
    fail(r, "the quote's report_data is not the expected binding");
  } else if (!a.event_log_ok) {
    fail(r, "the event log does not replay to the quote's RTMRs (or is absent)");
  } else if (want_compose && want_compose[0] && strcasecmp(want_compose, a.app.compose_hash)) {
    fail(r, "RTMR3's compose hash %.64s is not the entry's %.64s", a.app.compose_hash, want_compose);
  } else if (simulated && !o->allow_simulated && !o->lenient) {
    fail(r, "the quote is simulated (its signature does not verify: not a TDX machine; --allow-simulated "
            "accepts it)");
  } else if (o->lenient ? a.verdict.result == TDX_INVALID
                        : (a.verdict.result != TDX_VERIFIED && !simulated)) {
    fail(r, "the quote does not verify: %.40s: %.300s", a.verdict.status,
         a.verdict.result == TDX_NO_COLLATERAL ? "no --collateral given" : a.verdict.message);
  } else {
    r->status = simulated ? CODEID_SIMULATED : a.verdict.result == TDX_VERIFIED ? CODEID_VERIFIED : CODEID_NOT_CHECKED;
    if (a.verdict.result == TDX_NO_COLLATERAL)
      snprintf(r->message, sizeof r->message, "quote signatures and PCK chain fine; TCB status not checked");
  }
}

void codeid_check_boot(const codeid_boot *b, const uint8_t *att, size_t att_len, const codeid_opts *o,
                       codeid_result *r) {
  memset(r, 0, sizeof *r);
  r->status = CODEID_FAILED;
  att_doc d;
  if (att_load(&d, att, att_len, r)) {
    att_free(&d);
    return;
  }
  uint8_t qsha[32], want[32];
  tlog_sha256(d.quote, d.quote_len, qsha);
  if (xt_hex_decode_exact(b->quote_sha256, XT_HEX_0X, want, 32) || memcmp(qsha, want, 32)) {
    fail(r, "SHA-256 of the quote is not the entry's quote_sha256 %.64s", b->quote_sha256);
    att_free(&d);
    return;
  }
  uint8_t keys[64];
  size_t nkeys = 0;
  if (!strcmp(b->component, "logd")) {
    note_verifier v;
    char verr[200];
    if (note_verifier_parse(&v, b->checkpoint_key, strlen(b->checkpoint_key), verr, sizeof verr)) {
      fail(r, "the entry's checkpoint_key is not a verifier key: %.200s", verr);
      att_free(&d);
      return;
    }
    memcpy(keys, v.public_key, 32);
    nkeys = 32;
    if (b->anchor_address[0]) {
      if (eth_address_parse(b->anchor_address, keys + 32)) {
        fail(r, "the entry's anchor_address %.60s is not an address", b->anchor_address);
        att_free(&d);
        return;
      }
      nkeys = 52;
    }
  } else {
    /* The collector (and any other component) binds its signing key. */
    if (xt_hex_decode_exact(b->signing_key, XT_HEX_0X, keys, 32)) {
      fail(r, "the entry has no 32-byte signing_key to check the binding against");
      att_free(&d);
      return;
    }
    nkeys = 32;
  }
  uint8_t rd[64];
  dstack_boot_report_data(b->component, keys, nkeys, rd);
  judge(&d, rd, b->compose_hash, o, r);
  att_free(&d);
}

void codeid_check_checkpoint(uint64_t size, const uint8_t checkpoint_hash[32], const uint8_t *att,
                             size_t att_len, const codeid_opts *o, codeid_result *r) {
  memset(r, 0, sizeof *r);
  r->status = CODEID_FAILED;
  att_doc d;
  if (att_load(&d, att, att_len, r)) {
    att_free(&d);
    return;
  }
  const char *note = json_string_value(json_object_get(d.j, "checkpoint"));
  json_t *js = json_object_get(d.j, "size");
  uint8_t h[32];
  if (!note) {
    fail(r, "attestation has no checkpoint note");
  } else if (!json_is_integer(js) || (uint64_t)json_integer_value(js) != size) {
    fail(r, "attestation is for another size");
  } else {
    tlog_sha256(note, strlen(note), h);
    if (memcmp(h, checkpoint_hash, 32)) {
      fail(r, "its checkpoint note does not hash to the on-chain checkpointHash");
    } else {
      uint8_t rd[64];
      dstack_checkpoint_report_data((const uint8_t *)note, strlen(note), rd);
      judge(&d, rd, NULL, o, r);
    }
  }
  att_free(&d);
}

/* ---- the platform policy ---- */

static bool os_image_ok(const codeid_result *r, const audit_policy *p, char *why, size_t cap) {
  uint8_t img[32];
  if (xt_hex_decode_exact(r->os_image_hash, XT_HEX_0X, img, 32) != XT_OK) {
    xt_errf(why, cap, "the quote names no os-image-hash: its OS image cannot be matched with the policy");
    return false;
  }
  if (!audit_policy_image_listed(p, img)) {
    xt_errf(why, cap, "its OS image %.64s is not in the policy's platform.os_images", r->os_image_hash);
    return false;
  }
  if (!audit_policy_image_match(p, img, r->mrtd, r->rtmr)) {
    char mrtd[97];
    xt_hex_encode(r->mrtd, 48, mrtd);
    xt_errf(why, cap, "its OS measurements (MRTD %.16s.., RTMR0-2) are not the policy's for OS image %.64s",
            mrtd, r->os_image_hash);
    return false;
  }
  return true;
}

static bool identity_ok(const codeid_result *r, const audit_policy *p, const uint8_t app[20], char *why,
                        size_t cap) {
  if (strcmp(r->key_provider_name, "kms")) {
    xt_errf(why, cap, "its key provider is \"%.60s\", not kms", r->key_provider_name);
    return false;
  }
  if (strcasecmp(r->key_provider_id, p->kms_id)) {
    xt_errf(why, cap, "its key provider is a foreign KMS (id %.80s), not the policy's platform.kms_id",
            r->key_provider_id);
    return false;
  }
  uint8_t qa[20];
  if (xt_hex_decode_exact(r->app_id, XT_HEX_0X, qa, 20) != XT_OK || memcmp(qa, app, 20)) {
    xt_errf(why, cap, "its app id %.80s is not the DstackApp address", r->app_id[0] ? r->app_id : "(none)");
    return false;
  }
  if (r->mr_config_version == 1 ? strcasecmp(r->mr_config_hash, r->compose_hash) != 0
                                : r->mr_config_version != 0) {
    xt_errf(why, cap, "its MRCONFIGID (form %d) does not name its compose hash %.64s", r->mr_config_version,
            r->compose_hash);
    return false;
  }
  return true;
}

bool codeid_check_platform(const codeid_result *r, const audit_policy *p, const uint8_t app[20], char *why,
                           size_t cap) {
  if (!r->have_platform) {
    xt_errf(why, cap, "the quote's platform could not be read (quote or event log)");
    return false;
  }
  if (!os_image_ok(r, p, why, cap) || !identity_ok(r, p, app, why, cap)) return false;
  if (r->status == CODEID_SIMULATED) return true;
  if (r->status != CODEID_VERIFIED) {
    xt_errf(why, cap, "its TCB status is unknown (the quote was not verified with collateral)");
    return false;
  }
  return audit_policy_tcb_allowed(p, r->quote_status, r->advisories, why, cap);
}
