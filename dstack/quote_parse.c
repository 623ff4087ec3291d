/* quote_parse.c: reading TDX quotes (version 4, and version 5 with TD 1.0 or 1.5
 * bodies) and quote files (raw or hex text). Parsing checks structure only; trust comes
 * from tdx_quote_verify (quote_verify.c). */
#include "dstack/quote.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "dstack/tdx_internal.h"

/* Over 100 lines on purpose: one straight walk over the quote's layout (header, body,
 * signature data, certification data), each field bounds-checked where it is read, so
 * every offset can be checked against Intel's layout in one place. */
dstack_err tdx_quote_parse(tdx_quote *q, const uint8_t *buf, size_t len, char *err, size_t errlen) {
  memset(q, 0, sizeof *q);
  if (!buf || len < TDX_QUOTE_MIN_LEN) {
    xt_errf(err, errlen, "quote too short (%zu bytes, need at least %d)", len,
            TDX_QUOTE_MIN_LEN);
    return DSTACK_EMALFORMED;
  }
  q->version = le16(buf);
  q->att_key_type = le16(buf + 2);
  q->tee_type = le32(buf + 4);
  if (q->version != 4 && q->version != 5) {
    xt_errf(err, errlen, "unsupported quote version %u (want 4 or 5)", q->version);
    return DSTACK_EMALFORMED;
  }
  if (q->att_key_type != 2) {
    xt_errf(err, errlen, "unsupported attestation key type %u (want 2, ECDSA-P256)",
            q->att_key_type);
    return DSTACK_EMALFORMED;
  }
  if (q->tee_type != 0x81) {
    xt_errf(err, errlen, "not a TDX quote (TEE type 0x%x)", q->tee_type);
    return DSTACK_EMALFORMED;
  }
  memcpy(q->qe_vendor_id, buf + 12, 16);
  size_t body_off = TDX_QUOTE_HEADER_LEN, body_len = TDX_TD10_BODY_LEN;
  q->body_type = 2;
  if (q->version == 5) {
    /* v5 puts a u16 body type and u32 body size between header and body. */
    q->body_type = le16(buf + 48);
    uint32_t size = le32(buf + 50);
    if (!((q->body_type == 2 && size == TDX_TD10_BODY_LEN) ||
          (q->body_type == 3 && size == TDX_TD15_BODY_LEN))) {
      xt_errf(err, errlen, "unsupported v5 body type %u of %u bytes", q->body_type, size);
      return DSTACK_EMALFORMED;
    }
    body_off = 54;
    body_len = size;
  }
  if (len < body_off + body_len + 4) {
    xt_errf(err, errlen, "quote too short for its TD report body");
    return DSTACK_EMALFORMED;
  }
  const uint8_t *b = buf + body_off;
  memcpy(q->tee_tcb_svn, b + 0, 16);
  memcpy(q->mrseam, b + 16, 48);
  memcpy(q->mrsignerseam, b + 64, 48);
  memcpy(q->seam_attributes, b + 112, 8);
  memcpy(q->td_attributes, b + 120, 8);
  memcpy(q->xfam, b + 128, 8);
  memcpy(q->mrtd, b + 136, 48);
  memcpy(q->mrconfigid, b + 184, 48);
  memcpy(q->mrowner, b + 232, 48);
  memcpy(q->mrownerconfig, b + 280, 48);
  for (int i = 0; i < 4; i++) memcpy(q->rtmr[i], b + 328 + 48 * i, 48);
  memcpy(q->report_data, b + 520, 64);
  if (q->body_type == 3) {
    memcpy(q->tee_tcb_svn2, b + 584, 16);
    memcpy(q->mrservicetd, b + 600, 48);
  }
  q->signed_len = body_off + body_len;

  uint32_t sig_len = le32(buf + q->signed_len);
  if (sig_len > len - q->signed_len - 4) {
    xt_errf(err, errlen, "signature data length %u runs past the quote's %zu bytes", sig_len,
            len);
    return DSTACK_EMALFORMED;
  }
  const uint8_t *p = buf + q->signed_len + 4;
  const uint8_t *end = p + sig_len;
  /* signature(64) attestation key(64) cert type(2) cert size(4) */
  if ((size_t)(end - p) < 64 + 64 + 6) {
    xt_errf(err, errlen, "signature data too short (%u bytes)", sig_len);
    return DSTACK_EMALFORMED;
  }
  memcpy(q->signature, p, 64);
  memcpy(q->attestation_key, p + 64, 64);
  p += 128;
  uint16_t cert_type = le16(p);
  uint32_t cert_size = le32(p + 2);
  p += 6;
  if (cert_type != 6) {
    xt_errf(err, errlen, "certification data type %u (want 6, QE report)", cert_type);
    return DSTACK_EMALFORMED;
  }
  if (cert_size > (size_t)(end - p)) {
    xt_errf(err, errlen, "QE report certification data runs past the signature data");
    return DSTACK_EMALFORMED;
  }
  end = p + cert_size;
  if ((size_t)(end - p) < TDX_QE_REPORT_LEN + 64 + 2) {
    xt_errf(err, errlen, "QE report certification data too short");
    return DSTACK_EMALFORMED;
  }
  memcpy(q->qe_report, p, TDX_QE_REPORT_LEN);
  memcpy(q->qe_report_signature, p + TDX_QE_REPORT_LEN, 64);
  p += TDX_QE_REPORT_LEN + 64;
  uint16_t auth_len = le16(p);
  p += 2;
  if (auth_len > (size_t)(end - p)) {
    xt_errf(err, errlen, "QE authentication data runs past its container");
    return DSTACK_EMALFORMED;
  }
  q->qe_auth_data = p;
  q->qe_auth_data_len = auth_len;
  p += auth_len;
  if ((size_t)(end - p) < 6) {
    xt_errf(err, errlen, "missing PCK certification data");
    return DSTACK_EMALFORMED;
  }
  uint16_t inner_type = le16(p);
  uint32_t inner_size = le32(p + 2);
  p += 6;
  if (inner_type != 5) {
    xt_errf(err, errlen, "inner certification data type %u (want 5, PCK chain)", inner_type);
    return DSTACK_EMALFORMED;
  }
  if (inner_size > (size_t)(end - p) || inner_size == 0) {
    xt_errf(err, errlen, "PCK certificate chain runs past its container");
    return DSTACK_EMALFORMED;
  }
  q->pck_chain_pem = (const char *)p;
  q->pck_chain_pem_len = inner_size;
  q->raw = buf;
  q->raw_len = len;
  return DSTACK_OK;
}

uint8_t *tdx_quote_decode_file_bytes(const uint8_t *data, size_t len, size_t *out_len, char *err,
                                     size_t errlen) {
  size_t start = 0;
  while (start < len && isspace(data[start])) start++;
  if (len - start >= 2 && data[start] == '0' && (data[start + 1] == 'x' || data[start + 1] == 'X'))
    start += 2;
  bool is_hex = start < len;
  size_t digits = 0;
  for (size_t i = start; i < len && is_hex; i++) {
    if (isxdigit(data[i]))
      digits++;
    else if (!isspace(data[i]))
      is_hex = false;
  }
  uint8_t *out;
  if (!is_hex) {
    out = malloc(len ? len : 1);
    if (!out) {
      xt_errf(err, errlen, "out of memory");
      return NULL;
    }
    memcpy(out, data, len);
    *out_len = len;
    return out;
  }
  if (digits % 2) {
    xt_errf(err, errlen, "hex quote has an odd number of digits");
    return NULL;
  }
  out = malloc(digits / 2 + 1);
  if (!out) {
    xt_errf(err, errlen, "out of memory");
    return NULL;
  }
  size_t n = 0;
  int hi = -1;
  for (size_t i = start; i < len; i++) {
    if (isspace(data[i])) continue;
    int c = data[i];
    int v = c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
    if (hi < 0) {
      hi = v;
    } else {
      out[n++] = (uint8_t)(hi << 4 | v);
      hi = -1;
    }
  }
  *out_len = n;
  return out;
}
