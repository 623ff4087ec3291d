/* test_quote.c: TDX quote parsing and DCAP verification on the real Intel data in
 * tests/data/tdx (see its README for the expected verdicts), and on tampered
 * copies of it. */
#include "dstack/quote.h"
#include "base/file.h"
#include "base/hex.h"
#include "base/time.h"
#include "dstack/eventlog.h"
#include "tests/lib/check.h"

#include <jansson.h>
#include <openssl/sha.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static char testdata[512];

static uint8_t *load(const char *name, size_t *len) {
  char path[768], err[256];
  snprintf(path, sizeof path, "%s/%s", testdata, name);
  uint8_t *buf = NULL;
  if (xt_file_read(path, 1 << 22, &buf, len, err, sizeof err) != XT_OK)
    fprintf(stdout, "# cannot load %s: %s\n", path, err);
  return buf;
}

static tdx_collateral *load_collateral(const char *name) {
  size_t len;
  char err[256];
  uint8_t *json = load(name, &len);
  if (!json) return NULL;
  tdx_collateral *c = tdx_collateral_parse((const char *)json, len, err, sizeof err);
  if (!c) fprintf(stdout, "# collateral %s: %s\n", name, err);
  free(json);
  return c;
}

static time_t at(const char *rfc3339) {
  time_t t = 0;
  if (xt_parse_rfc3339(rfc3339, &t) != XT_OK) fprintf(stdout, "# bad time %s\n", rfc3339);
  return t;
}

/* Parses and verifies buf; a quote that does not even parse counts as TDX_INVALID. */
static tdx_result verify_bytes(const uint8_t *buf, size_t len, const tdx_collateral *c,
                               time_t now, tdx_verdict *v) {
  tdx_quote q;
  char err[256];
  if (tdx_quote_parse(&q, buf, len, err, sizeof err)) {
    memset(v, 0, sizeof *v);
    v->result = TDX_INVALID;
    snprintf(v->status, sizeof v->status, "invalid");
    snprintf(v->message, sizeof v->message, "%s", err);
    return TDX_INVALID;
  }
  return tdx_quote_verify(&q, c, now, v);
}

static void test_root_ca_is_intel(void) {
  size_t n, file_len;
  const uint8_t *der = tdx_intel_root_ca_der(&n);
  uint8_t digest[32], want[32];
  SHA256(der, n, digest);
  CHECK(check_unhex("44A0196B2B99F889B8E149E95B807A350E7424964399E885A7CBB8CCFAB674D3", want,
                    sizeof want, NULL) == 0);
  CHECK_EQ_MEM(digest, want, 32);
  uint8_t *file = load("intel-sgx-root-ca.der", &file_len);
  CHECK_FATAL(file);
  CHECK(file_len == n && memcmp(file, der, n) == 0);
  free(file);
}

/* The collateral's times, read with base/time.h. */
static void test_rfc3339(void) {
  time_t t;
  CHECK(xt_parse_rfc3339("1970-01-01T00:00:00Z", &t) == XT_OK && t == 0);
  CHECK(xt_parse_rfc3339("2025-06-19T10:32:27Z", &t) == XT_OK && t == 1750329147);
  CHECK(xt_parse_rfc3339("2025-06-19T12:32:27.5+02:00", &t) == XT_OK && t == 1750329147);
  CHECK(xt_parse_rfc3339("2025-06-19T10:32:27", &t) != XT_OK);
  CHECK(xt_parse_rfc3339("2025-13-19T10:32:27Z", &t) != XT_OK);
  CHECK(xt_parse_rfc3339("2025-06-19T10:32:27Zx", &t) != XT_OK);
  CHECK(xt_parse_rfc3339("", &t) != XT_OK);
  char out[32];
  CHECK(xt_format_rfc3339(1750329147, out, sizeof out) == XT_OK);
  CHECK(!strcmp(out, "2025-06-19T10:32:27Z"));
}

static void test_parse_real_quote(void) {
  size_t len;
  uint8_t *buf = load("tdx_quote", &len);
  CHECK_FATAL(buf);
  tdx_quote q;
  char err[256];
  CHECK_FATAL(tdx_quote_parse(&q, buf, len, err, sizeof err) == 0);
  CHECK(q.version == 4 && q.signed_len == 632 && q.body_type == 2);
  CHECK_EQ_MEM(q.mrtd, buf + TDX_OFF_MRTD, 48);
  for (int i = 0; i < 4; i++) CHECK_EQ_MEM(q.rtmr[i], buf + TDX_OFF_RTMR0 + 48 * i, 48);
  CHECK_EQ_MEM(q.report_data, buf + TDX_OFF_REPORT_DATA, 64);
  CHECK(q.pck_chain_pem_len > 1000 && !memcmp(q.pck_chain_pem, "-----BEGIN CERTIFICATE-----", 27));
  /* 636 + the signature-data length at 632 is the meaningful length */
  uint32_t sig_len = (uint32_t)buf[632] | (uint32_t)buf[633] << 8 | (uint32_t)buf[634] << 16 |
                     (uint32_t)buf[635] << 24;
  CHECK((const uint8_t *)q.pck_chain_pem + q.pck_chain_pem_len <= buf + 636 + sig_len);
  free(buf);
}

static void test_real_quote_up_to_date(void) {
  size_t len;
  uint8_t *buf = load("tdx_quote", &len);
  tdx_collateral *c = load_collateral("tdx_quote_collateral.json");
  CHECK_FATAL(buf && c);
  time_t lo, hi;
  CHECK(tdx_collateral_window(c, &lo, &hi) == 0);
  CHECK(lo == at("2025-06-19T10:32:27Z") && hi == at("2025-07-19T10:00:35Z"));
  const char *inside[] = {"2025-06-19T10:32:27Z", "2025-07-01T00:00:00Z", "2025-07-19T10:00:34Z"};
  for (size_t i = 0; i < 3; i++) {
    tdx_verdict v;
    CHECK(verify_bytes(buf, len, c, at(inside[i]), &v) == TDX_VERIFIED);
    CHECK(!strcmp(v.status, "UpToDate"));
    CHECK(!strcmp(v.fmspc, "B0C06F000000"));
    if (v.result != TDX_VERIFIED) fprintf(stdout, "# %s: %s\n", inside[i], v.message);
  }
  tdx_collateral_free(c);
  free(buf);
}

static void test_real_quote_expired_outside_window(void) {
  size_t len;
  uint8_t *buf = load("tdx_quote", &len);
  tdx_collateral *c = load_collateral("tdx_quote_collateral.json");
  CHECK_FATAL(buf && c);
  const char *outside[] = {"2025-06-19T10:32:26Z", "2025-07-19T10:00:36Z", "2025-08-01T00:00:00Z",
                           "2026-03-01T00:00:00Z", "2020-01-01T00:00:00Z"};
  for (size_t i = 0; i < 5; i++) {
    tdx_verdict v;
    CHECK(verify_bytes(buf, len, c, at(outside[i]), &v) == TDX_INVALID);
    CHECK(!strcmp(v.status, "invalid"));
    CHECK(strstr(v.message, "expired") || strstr(v.message, "not yet valid"));
  }
  tdx_collateral_free(c);
  free(buf);
}

/* Every 7th byte of the signed region, and every byte of the header, REPORTDATA, MRTD
 * and RTMRs: flipping any must stop the quote from verifying. */
static void test_flipped_signed_bytes_rejected(void) {
  size_t len;
  uint8_t *buf = load("tdx_quote", &len);
  tdx_collateral *c = load_collateral("tdx_quote_collateral.json");
  CHECK_FATAL(buf && c);
  time_t now = at("2025-07-01T00:00:00Z");
  int tried = 0;
  for (size_t i = 0; i < TDX_QUOTE_SIGNED_LEN; i++) {
    bool pick = i % 7 == 0 || i < TDX_QUOTE_HEADER_LEN || i >= TDX_OFF_REPORT_DATA ||
                (i >= TDX_OFF_MRTD && i < TDX_OFF_MRTD + 48) ||
                (i >= TDX_OFF_RTMR0 && i < TDX_OFF_RTMR0 + 4 * 48 && i % 3 == 0);
    if (!pick) continue;
    for (int bit = 0; bit < 8; bit += 7) {
      tdx_verdict v;
      buf[i] ^= (uint8_t)(1 << bit);
      tdx_result r = verify_bytes(buf, len, c, now, &v);
      buf[i] ^= (uint8_t)(1 << bit);
      CHECK(r != TDX_VERIFIED);
      if (r == TDX_VERIFIED) fprintf(stdout, "# flip at %zu bit %d verified\n", i, bit);
      tried++;
    }
  }
  fprintf(stdout, "# %d flipped copies rejected\n", tried);
  CHECK(tried > 400);
  tdx_verdict v;
  CHECK(verify_bytes(buf, len, c, now, &v) == TDX_VERIFIED);
  tdx_collateral_free(c);
  free(buf);
}

/* Flips in the signature data (signature, attestation key, QE report and its signature,
 * QE auth data) must be rejected too. */
static void test_flipped_signature_data_rejected(void) {
  size_t len;
  uint8_t *buf = load("tdx_quote", &len);
  tdx_collateral *c = load_collateral("tdx_quote_collateral.json");
  CHECK_FATAL(buf && c);
  time_t now = at("2025-07-01T00:00:00Z");
  /* 636..700 signature, 700..764 key, 770..1154 QE report, ..1218 QE sig, auth data */
  for (size_t i = 636; i < 1260; i += 5) {
    tdx_verdict v;
    buf[i] ^= 0x10;
    tdx_result r = verify_bytes(buf, len, c, now, &v);
    buf[i] ^= 0x10;
    CHECK(r != TDX_VERIFIED);
    if (r == TDX_VERIFIED) fprintf(stdout, "# flip at %zu verified\n", i);
  }
  tdx_collateral_free(c);
  free(buf);
}

static void test_truncated_quotes_rejected(void) {
  size_t len;
  uint8_t *buf = load("tdx_quote", &len);
  CHECK_FATAL(buf);
  uint32_t sig_len = (uint32_t)buf[632] | (uint32_t)buf[633] << 8 | (uint32_t)buf[634] << 16 |
                     (uint32_t)buf[635] << 24;
  for (size_t n = 0; n < 636 + sig_len; n += (n < 700 ? 1 : 37)) {
    uint8_t *copy = malloc(n + 1);
    CHECK_FATAL(copy);
    memcpy(copy, buf, n);
    tdx_verdict v;
    CHECK(verify_bytes(copy, n, NULL, at("2025-07-01T00:00:00Z"), &v) == TDX_INVALID);
    free(copy);
  }
  free(buf);
}

static void test_tampered_collateral_rejected(void) {
  size_t len, clen;
  char err[256];
  uint8_t *buf = load("tdx_quote", &len);
  uint8_t *json = load("tdx_quote_collateral.json", &clen);
  CHECK_FATAL(buf && json);
  time_t now = at("2025-07-01T00:00:00Z");
  /* A different status in the signed TCB info JSON: the signature must catch it. */
  char *hit = strstr((char *)json, "\\\"tcbStatus\\\":\\\"UpToDate\\\"");
  CHECK_FATAL(hit);
  memcpy(hit + 16, "Revoked\\\" ", 10);
  tdx_collateral *c = tdx_collateral_parse((const char *)json, clen, err, sizeof err);
  if (c) {
    tdx_verdict v;
    CHECK(verify_bytes(buf, len, c, now, &v) == TDX_INVALID);
    CHECK(strstr(v.message, "TCB info signature") != NULL);
    tdx_collateral_free(c);
  }
  free(json);
  /* A TCB info "signer" that chains to the Intel root but is not the TCB Signing
   * certificate (here the PCK Platform CA): refused for its role. */
  json = load("tdx_quote_collateral.json", &clen);
  CHECK_FATAL(json);
  {
    json_t *root = json_loadb((const char *)json, clen, 0, NULL);
    json_object_set(root, "tcb_info_issuer_chain", json_object_get(root, "pck_crl_issuer_chain"));
    char *text = json_dumps(root, 0);
    json_decref(root);
    CHECK_FATAL(text);
    c = tdx_collateral_parse(text, strlen(text), err, sizeof err);
    free(text);
    CHECK_FATAL(c);
    tdx_verdict v;
    CHECK(verify_bytes(buf, len, c, now, &v) == TDX_INVALID);
    CHECK(strstr(v.message, "not a TCB Signing chain") != NULL);
    tdx_collateral_free(c);
  }
  free(json);
  /* The other platform's collateral: FMSPC differs. */
  tdx_collateral *other = load_collateral("tdx_quote_outdated_collateral.json");
  CHECK_FATAL(other);
  tdx_verdict v;
  CHECK(verify_bytes(buf, len, other, at("2026-03-01T00:00:00Z"), &v) == TDX_INVALID);
  CHECK(strstr(v.message, "another platform") != NULL);
  tdx_collateral_free(other);
  CHECK(tdx_collateral_parse("{}", 2, err, sizeof err) == NULL);
  CHECK(tdx_collateral_parse("[", 1, err, sizeof err) == NULL);
  free(buf);
}

/* The second sample is a version-5 quote (TD 1.5 body) from a platform whose SGX TCB
 * (SEAMLDR ACM SVN 3) is below every level of its TCB info (which all want 5): Intel's
 * rules give "TCB not supported", a failure, though every signature verifies. */
static void test_outdated_quote(void) {
  size_t len;
  uint8_t *buf = load("tdx_quote_outdated", &len);
  tdx_collateral *c = load_collateral("tdx_quote_outdated_collateral.json");
  CHECK_FATAL(buf && c);
  tdx_quote q;
  char err[256];
  CHECK_FATAL(tdx_quote_parse(&q, buf, len, err, sizeof err) == 0);
  CHECK(q.version == 5 && q.body_type == 3 && q.signed_len == 54 + 648);
  time_t lo, hi;
  CHECK(tdx_collateral_window(c, &lo, &hi) == 0);
  CHECK(lo == at("2026-02-18T10:58:51Z") && hi == at("2026-03-20T10:41:15Z"));
  tdx_verdict v;
  CHECK(tdx_quote_verify(&q, c, at("2026-03-01T00:00:00Z"), &v) == TDX_INVALID);
  CHECK(!strcmp(v.fmspc, "90C06F000000"));
  CHECK(strstr(v.message, "below every TCB level") != NULL);
  fprintf(stdout, "# outdated sample: %s: %s\n", v.status, v.message);
  /* its signatures are genuine: without collateral it gets as far as NoCollateral */
  CHECK(tdx_quote_verify(&q, NULL, at("2026-03-01T00:00:00Z"), &v) == TDX_NO_COLLATERAL);
  CHECK(tdx_quote_verify(&q, c, at("2026-03-21T00:00:00Z"), &v) == TDX_INVALID);
  CHECK(strstr(v.message, "expired") != NULL);
  buf[54 + 520] ^= 1; /* REPORTDATA of the TD 1.5 body */
  CHECK_FATAL(tdx_quote_parse(&q, buf, len, err, sizeof err) == 0);
  CHECK(tdx_quote_verify(&q, c, at("2026-03-01T00:00:00Z"), &v) == TDX_SIMULATED);
  tdx_collateral_free(c);
  free(buf);
}

/* dstack's simulator quote: a once-real quote. As stored its REPORTDATA is zero and its
 * signature still verifies, but it has no collateral under which it passes; once the
 * simulator writes a caller's report_data into it, it reports "simulated". */
static void test_sim_quote_never_real(void) {
  size_t hex_len, len;
  char err[256];
  uint8_t *hex = load("sim-quote.hex", &hex_len);
  CHECK_FATAL(hex);
  uint8_t *buf = tdx_quote_decode_file_bytes(hex, hex_len, &len, err, sizeof err);
  CHECK_FATAL(buf);
  tdx_collateral *c = load_collateral("tdx_quote_collateral.json");
  CHECK_FATAL(c);
  tdx_verdict v;
  CHECK(verify_bytes(buf, len, NULL, at("2025-07-01T00:00:00Z"), &v) != TDX_VERIFIED);
  CHECK(verify_bytes(buf, len, c, at("2025-07-01T00:00:00Z"), &v) != TDX_VERIFIED);
  CHECK(v.result == TDX_INVALID);
  buf[TDX_OFF_REPORT_DATA] = 0x42;
  CHECK(verify_bytes(buf, len, NULL, at("2025-07-01T00:00:00Z"), &v) == TDX_SIMULATED);
  CHECK(!strcmp(v.status, "simulated"));
  CHECK(verify_bytes(buf, len, c, at("2025-07-01T00:00:00Z"), &v) == TDX_SIMULATED);
  tdx_collateral_free(c);
  free(buf);
  free(hex);
}

static void test_debug_td_rejected(void) {
  size_t len;
  uint8_t *buf = load("tdx_quote", &len);
  tdx_collateral *c = load_collateral("tdx_quote_collateral.json");
  CHECK_FATAL(buf && c);
  buf[TDX_OFF_TD_ATTRIBUTES] |= 1;
  tdx_verdict v;
  CHECK(verify_bytes(buf, len, c, at("2025-07-01T00:00:00Z"), &v) == TDX_INVALID);
  CHECK(strstr(v.message, "debug") != NULL);
  tdx_collateral_free(c);
  free(buf);
}

static void test_hex_quote_file(void) {
  size_t len, out_len;
  char err[256];
  uint8_t *buf = load("tdx_quote", &len);
  CHECK_FATAL(buf);
  char *hex = malloc(2 * len + 8);
  CHECK_FATAL(hex);
  memcpy(hex, "0x", 2);
  xt_hex_encode(buf, len, hex + 2);
  size_t hl = strlen(hex);
  hex[hl++] = '\n';
  uint8_t *back = tdx_quote_decode_file_bytes((uint8_t *)hex, hl, &out_len, err, sizeof err);
  CHECK(back && out_len == len && !memcmp(back, buf, len));
  free(back);
  back = tdx_quote_decode_file_bytes(buf, len, &out_len, err, sizeof err);
  CHECK(back && out_len == len && !memcmp(back, buf, len));
  free(back);
  free(hex);
  free(buf);
}

/* MRCONFIGID of the dstack 0.6.0 capture: form 1, the compose hash (README); and the
 * other forms dstack writes. */
static void test_mr_config_id(void) {
  size_t len;
  uint8_t *text = load("dstack-0.6.0-getquote.json", &len);
  CHECK_FATAL(text);
  json_t *root = json_loadb((const char *)text, len, 0, NULL);
  free(text);
  uint8_t *raw = NULL;
  size_t raw_len = 0;
  char err[256];
  CHECK_FATAL(xt_hex_decode_alloc(json_string_value(json_object_get(root, "quote")), 0, &raw,
                                  &raw_len) == XT_OK);
  json_decref(root);
  tdx_quote q;
  CHECK_FATAL(tdx_quote_parse(&q, raw, raw_len, err, sizeof err) == 0);
  dstack_mr_config mc;
  dstack_mr_config_decode(q.mrconfigid, &mc);
  CHECK(mc.version == 1);
  CHECK(!strcmp(mc.hash, "86b0e55f2fa8e4fb69d890f14f54d5612707646e2573d54e0d2ddaaade77caa9"));
  free(raw);

  uint8_t m[48];
  memset(m, 0, sizeof m);
  dstack_mr_config_decode(m, &mc);
  CHECK(mc.version == 0 && mc.hash[0] == '\0');
  m[0] = 2;
  m[32] = 0xee;
  dstack_mr_config_decode(m, &mc);
  CHECK(mc.version == 2 && !strcmp(mc.hash + 62, "ee"));
  m[0] = 3;
  dstack_mr_config_decode(m, &mc);
  CHECK(mc.version == 3);
  m[33] = 1; /* bytes past the hash must be zero */
  dstack_mr_config_decode(m, &mc);
  CHECK(mc.version == -1);
  m[33] = 0;
  m[0] = 4;
  dstack_mr_config_decode(m, &mc);
  CHECK(mc.version == -1);
  m[0] = 0; /* form 0 with bytes set is no form */
  dstack_mr_config_decode(m, &mc);
  CHECK(mc.version == -1);
}

int main(void) {
  const char *env = getenv("XT_TESTDATA");
  const char *root = getenv("XT_ROOT");
  if (env)
    snprintf(testdata, sizeof testdata, "%s/tdx", env);
  else if (root)
    snprintf(testdata, sizeof testdata, "%s/tests/data/tdx", root);
  else
    snprintf(testdata, sizeof testdata, "tests/data/tdx");
  CHECK_RUN(test_root_ca_is_intel);
  CHECK_RUN(test_rfc3339);
  CHECK_RUN(test_parse_real_quote);
  CHECK_RUN(test_real_quote_up_to_date);
  CHECK_RUN(test_real_quote_expired_outside_window);
  CHECK_RUN(test_flipped_signed_bytes_rejected);
  CHECK_RUN(test_flipped_signature_data_rejected);
  CHECK_RUN(test_truncated_quotes_rejected);
  CHECK_RUN(test_tampered_collateral_rejected);
  CHECK_RUN(test_outdated_quote);
  CHECK_RUN(test_sim_quote_never_real);
  CHECK_RUN(test_debug_td_rejected);
  CHECK_RUN(test_hex_quote_file);
  CHECK_RUN(test_mr_config_id);
  return check_finish();
}
