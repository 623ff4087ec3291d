/* attest.c: report_data bindings and the combined attestation check. */
#include "dstack/attest.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static void bind(const char *domain, const char *component, const uint8_t *data, size_t len,
                 uint8_t out[64]) {
  memset(out, 0, 64);
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
      EVP_DigestUpdate(md, domain, strlen(domain)) != 1 ||
      (component && EVP_DigestUpdate(md, component, strlen(component)) != 1) ||
      EVP_DigestUpdate(md, data, len) != 1 || EVP_DigestFinal_ex(md, out, NULL) != 1)
    memset(out, 0xff, 64); /* never a valid binding: the check then fails */
  EVP_MD_CTX_free(md);
}

void dstack_boot_report_data(const char *component, const uint8_t *keys, size_t keys_len,
                             uint8_t out[64]) {
  bind(DSTACK_BOOT_DOMAIN, component, keys, keys_len, out);
}

void dstack_checkpoint_report_data(const uint8_t *signed_checkpoint, size_t len,
                                   uint8_t out[64]) {
  bind(DSTACK_CHECKPOINT_DOMAIN, NULL, signed_checkpoint, len, out);
}

dstack_err dstack_check_attestation(const uint8_t *quote, size_t quote_len, const char *event_log,
                             size_t event_log_len, const tdx_collateral *c, time_t now,
                             const uint8_t expect_report_data[64], const char *want_compose_hash,
                             bool allow_simulated, dstack_attestation *out) {
  memset(out, 0, sizeof *out);
  tdx_quote q;
  char err[256];
  if (tdx_quote_parse(&q, quote, quote_len, err, sizeof err)) {
    out->verdict.result = TDX_INVALID;
    snprintf(out->verdict.status, sizeof out->verdict.status, "invalid");
    snprintf(out->message, sizeof out->message, "quote: %s", err);
    return DSTACK_EREJECTED;
  }
  tdx_quote_verify(&q, c, now, &out->verdict);
  out->report_data_ok = expect_report_data && !memcmp(q.report_data, expect_report_data, 64);
  if (event_log) {
    dstack_event_log log;
    if (dstack_event_log_parse(&log, event_log, event_log_len, err, sizeof err) == 0) {
      out->event_log_ok = dstack_event_log_check_quote(&log, &q, err, sizeof err) == 0 &&
                          dstack_event_log_identity(&log, &out->app, err, sizeof err) == 0;
      dstack_event_log_free(&log);
    }
    if (!out->event_log_ok) memset(&out->app, 0, sizeof out->app);
  } else {
    snprintf(err, sizeof err, "no event log");
  }
  bool quote_ok = out->verdict.result == TDX_VERIFIED ||
                  (allow_simulated && out->verdict.result == TDX_SIMULATED);
  if (!quote_ok) {
    snprintf(out->message, sizeof out->message, "quote %s: %.300s", out->verdict.status,
             out->verdict.result == TDX_SIMULATED ? "simulated (not allowed)"
                                                  : out->verdict.message);
  } else if (!out->report_data_ok) {
    snprintf(out->message, sizeof out->message, "quote REPORTDATA is not the expected binding");
  } else if (!out->event_log_ok) {
    snprintf(out->message, sizeof out->message, "event log: %.300s", err);
  } else if (want_compose_hash && want_compose_hash[0] &&
             strcasecmp(want_compose_hash, out->app.compose_hash) != 0) {
    snprintf(out->message, sizeof out->message, "compose hash %.64s is not the expected %.64s",
             out->app.compose_hash, want_compose_hash);
  } else {
    out->accepted = true;
    return DSTACK_OK;
  }
  return DSTACK_EREJECTED;
}
