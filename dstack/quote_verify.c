/* quote_verify.c: tdx_quote_verify, offline, with OpenSSL.
 *
 * The checks follow Intel's quote verification library (QVL) for TDX: signatures and
 * chains first (pck_chain.c), then collateral windows, FMSPC/PCE-ID, QE identity, TCB
 * level matching, TDX module identity, and the same status convergence rules
 * (tcb_eval.c). */
#include "dstack/quote.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/time.h"
#include "dstack/tdx_internal.h"

/* Intel's QE vendor ID; quotes from another QE are not Intel DCAP quotes. */
static const uint8_t intel_qe_vendor_id[16] = {0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
                                               0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07};

static void fail(tdx_verdict *v, tdx_result r, const char *status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void fail(tdx_verdict *v, tdx_result r, const char *status, const char *fmt, ...) {
  v->result = r;
  snprintf(v->status, sizeof v->status, "%s", status);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(v->message, sizeof v->message, fmt, ap);
  va_end(ap);
}

static int check_window(const char *what, time_t issue, time_t next, time_t now, char *err,
                        size_t errlen) {
  char a[32], b[32];
  if (now < issue || now > next) {
    /* a time that cannot be shown leaves "" (the message still names the window) */
    (void)xt_format_rfc3339(issue, a, sizeof a);
    (void)xt_format_rfc3339(next, b, sizeof b);
    xt_errf(err, errlen, "collateral %s: %s is valid only from %s to %s",
            now > next ? "expired" : "not yet valid", what, a, b);
    return -1;
  }
  return 0;
}

static int verify_signed_json(const char *what, const char *issuer_chain, const char *json,
                              size_t json_len, const uint8_t sig[64], const tdx_collateral *c,
                              time_t now, char *err, size_t errlen) {
  char why[256];
  int ok = 0;
  STACK_OF(X509) *chain = tdx_load_pem_chain(issuer_chain, strlen(issuer_chain));
  if (!chain) {
    xt_errf(err, errlen, "%s issuer chain is not PEM certificates", what);
    return -1;
  }
  X509 *signer = sk_X509_value(chain, 0);
  if (!tdx_verify_to_root(signer, chain, CHAIN_TCB_SIGNING, c, now, why, sizeof why)) {
    xt_errf(err, errlen, "%s signing certificate: %s", what, why);
    goto out;
  }
  EVP_PKEY *key = X509_get0_pubkey(signer);
  if (!key || !tdx_verify_p256_raw(key, (const uint8_t *)json, json_len, sig)) {
    xt_errf(err, errlen, "%s signature does not verify", what);
    goto out;
  }
  ok = 1;
out:
  sk_X509_pop_free(chain, X509_free);
  return ok ? 0 : -1;
}

/* Over 100 lines on purpose: the verification order is itself the specification (QVL's
 * order, each failure named before the next check), so it reads as one sequence; each
 * step is a helper of pck_chain.c or tcb_eval.c. */
tdx_result tdx_quote_verify(const tdx_quote *q, const tdx_collateral *c, time_t now,
                            tdx_verdict *v) {
  char why[256];
  memset(v, 0, sizeof *v);
  STACK_OF(X509) *chain = NULL;
  EVP_PKEY *ak = NULL;

  if (!q->raw || q->raw_len < TDX_QUOTE_MIN_LEN) {
    fail(v, TDX_INVALID, "invalid", "quote not parsed");
    return v->result;
  }
  if (memcmp(q->qe_vendor_id, intel_qe_vendor_id, 16) != 0) {
    fail(v, TDX_INVALID, "invalid", "QE vendor is not Intel");
    return v->result;
  }
  if (q->td_attributes[0] & 1) {
    fail(v, TDX_INVALID, "invalid", "debug TD (TD attributes bit 0 set): not confidential");
    return v->result;
  }
  chain = tdx_load_pem_chain(q->pck_chain_pem, q->pck_chain_pem_len);
  if (!chain) {
    fail(v, TDX_INVALID, "invalid", "PCK certificate chain is not PEM certificates");
    goto out;
  }
  X509 *pck = sk_X509_value(chain, 0);
  pck_tcb tcb;
  if (tdx_parse_pck_extension(pck, &tcb, why, sizeof why)) {
    fail(v, TDX_INVALID, "invalid", "%s", why);
    goto out;
  }
  /* reported even when verification fails below, to say which platform it claims */
  for (int i = 0; i < 6; i++)
    snprintf(v->fmspc + 2 * i, sizeof v->fmspc - 2 * i, "%02X", tcb.fmspc[i]);
  /* Expired collateral is the common failure: name it before the chain check (whose
   * CRL errors say the same less plainly). */
  if (c && (check_window("TCB info", c->tcb_issue, c->tcb_next, now, why, sizeof why) ||
            check_window("QE identity", c->qe_issue, c->qe_next, now, why, sizeof why))) {
    fail(v, TDX_INVALID, "invalid", "%s", why);
    goto out;
  }
  if (!tdx_verify_to_root(pck, chain, CHAIN_PCK, c, now, why, sizeof why)) {
    fail(v, TDX_INVALID, "invalid", "PCK certificate chain: %s", why);
    goto out;
  }

  EVP_PKEY *pck_key = X509_get0_pubkey(pck);
  if (!pck_key || !tdx_verify_p256_raw(pck_key, q->qe_report, TDX_QE_REPORT_LEN,
                                   q->qe_report_signature)) {
    fail(v, TDX_INVALID, "invalid", "QE report signature does not verify with the PCK key");
    goto out;
  }
  qe_report_fields qe;
  tdx_read_qe_report(q->qe_report, &qe);
  {
    uint8_t expect[64] = {0};
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int hashed = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
                 EVP_DigestUpdate(md, q->attestation_key, 64) == 1 &&
                 EVP_DigestUpdate(md, q->qe_auth_data, q->qe_auth_data_len) == 1 &&
                 EVP_DigestFinal_ex(md, expect, NULL) == 1;
    EVP_MD_CTX_free(md);
    if (!hashed || memcmp(expect, qe.report_data, 64) != 0) {
      fail(v, TDX_INVALID, "invalid",
           "QE report data does not commit to the attestation key and QE auth data");
      goto out;
    }
  }
  ak = tdx_p256_key_from_raw(q->attestation_key);
  if (!ak) {
    fail(v, TDX_INVALID, "invalid", "attestation key is not a P-256 point");
    goto out;
  }
  if (!tdx_verify_p256_raw(ak, q->raw, q->signed_len, q->signature)) {
    fail(v, TDX_SIMULATED, "simulated",
         "attestation key signature over the TD report does not verify "
         "(a simulated or altered quote)");
    goto out;
  }
  if (!c) {
    fail(v, TDX_NO_COLLATERAL, "NoCollateral",
         "signatures and PCK chain verify to the Intel root, but without collateral the "
         "TCB status and revocation are unknown");
    goto out;
  }

  /* Collateral: signed by Intel, current, and about this platform. */
  if (verify_signed_json("TCB info", c->tcb_info_issuer_chain, c->tcb_info_json, c->tcb_info_len,
                         c->tcb_info_sig, c, now, why, sizeof why) ||
      verify_signed_json("QE identity", c->qe_identity_issuer_chain, c->qe_identity_json,
                         c->qe_identity_len, c->qe_identity_sig, c, now, why, sizeof why)) {
    fail(v, TDX_INVALID, "invalid", "%s", why);
    goto out;
  }
  if (memcmp(tcb.fmspc, c->fmspc, 6) != 0 || memcmp(tcb.pce_id, c->pce_id, 2) != 0) {
    fail(v, TDX_INVALID, "invalid", "collateral is for another platform (FMSPC/PCE-ID differ)");
    goto out;
  }
  tcb_status qe_status, module_status;
  if (tdx_check_qe_identity(c, &qe, &qe_status, why, sizeof why)) {
    fail(v, TDX_INVALID, "invalid", "%s", why);
    goto out;
  }
  const platform_level *sgx_lv = NULL;
  const platform_level *lv =
      tdx_match_platform_level(c, &tcb, q->tee_tcb_svn, &sgx_lv, why, sizeof why);
  if (!lv) {
    fail(v, TDX_INVALID, "invalid", "%s", why);
    goto out;
  }
  if (tdx_check_tdx_module(c, q, &module_status, why, sizeof why)) {
    fail(v, TDX_INVALID, "invalid", "%s", why);
    goto out;
  }
  tcb_status st = tdx_converge(lv->status, module_status);
  if (st != ST_REVOKED && q->body_type == 3 &&
      tdx_check_relaunch(c, q->tee_tcb_svn2, sgx_lv->status, module_status, qe_status, &st, why,
                     sizeof why)) {
    fail(v, TDX_INVALID, "invalid", "%s", why);
    goto out;
  }
  st = tdx_converge(st, qe_status);
  if (st == ST_REVOKED) {
    fail(v, TDX_INVALID, "Revoked", "the platform's TCB is revoked");
    goto out;
  }
  v->result = TDX_VERIFIED;
  snprintf(v->status, sizeof v->status, "%s", tdx_tcb_status_name(st));
  if (lv->advisories[0])
    snprintf(v->message, sizeof v->message, "advisories: %s", lv->advisories);
out:
  EVP_PKEY_free(ak);
  sk_X509_pop_free(chain, X509_free);
  ERR_clear_error();
  return v->result;
}
