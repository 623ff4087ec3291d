/* quote.c: TDX quote v4 parsing and DCAP verification with OpenSSL, offline.
 *
 * The checks follow Intel's quote verification library (QVL) for TDX: signatures and
 * chains first, then collateral windows, FMSPC/PCE-ID, QE identity, TCB level matching
 * (SGX components from the PCK certificate, TDX components from the quote's TEE TCB SVN),
 * TDX module identity, and the same status convergence rules. */
#include "dstack/quote.h"
#include "dstack/util.h"

#include <ctype.h>
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dstack/intel_root_ca.inc"

#define MAX_TCB_LEVELS 128
#define MAX_MODULE_IDS 16
#define MAX_CHAIN_CERTS 8

/* Intel's QE vendor ID; quotes from another QE are not Intel DCAP quotes. */
static const uint8_t intel_qe_vendor_id[16] = {0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
                                               0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07};

const uint8_t *tdx_intel_root_ca_der(size_t *len) {
  *len = sizeof intel_sgx_root_ca_der;
  return intel_sgx_root_ca_der;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...) {
  if (!err || !errlen) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
}

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ---- quote parsing ---------------------------------------------------------------- */

int tdx_quote_parse(tdx_quote *q, const uint8_t *buf, size_t len, char *err, size_t errlen) {
  memset(q, 0, sizeof *q);
  if (!buf || len < TDX_QUOTE_MIN_LEN) {
    set_err(err, errlen, "quote too short (%zu bytes, need at least %d)", len,
            TDX_QUOTE_MIN_LEN);
    return -1;
  }
  q->version = le16(buf);
  q->att_key_type = le16(buf + 2);
  q->tee_type = le32(buf + 4);
  if (q->version != 4 && q->version != 5) {
    set_err(err, errlen, "unsupported quote version %u (want 4 or 5)", q->version);
    return -1;
  }
  if (q->att_key_type != 2) {
    set_err(err, errlen, "unsupported attestation key type %u (want 2, ECDSA-P256)",
            q->att_key_type);
    return -1;
  }
  if (q->tee_type != 0x81) {
    set_err(err, errlen, "not a TDX quote (TEE type 0x%x)", q->tee_type);
    return -1;
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
      set_err(err, errlen, "unsupported v5 body type %u of %u bytes", q->body_type, size);
      return -1;
    }
    body_off = 54;
    body_len = size;
  }
  if (len < body_off + body_len + 4) {
    set_err(err, errlen, "quote too short for its TD report body");
    return -1;
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
    set_err(err, errlen, "signature data length %u runs past the quote's %zu bytes", sig_len,
            len);
    return -1;
  }
  const uint8_t *p = buf + q->signed_len + 4;
  const uint8_t *end = p + sig_len;
  /* signature(64) attestation key(64) cert type(2) cert size(4) */
  if ((size_t)(end - p) < 64 + 64 + 6) {
    set_err(err, errlen, "signature data too short (%u bytes)", sig_len);
    return -1;
  }
  memcpy(q->signature, p, 64);
  memcpy(q->attestation_key, p + 64, 64);
  p += 128;
  uint16_t cert_type = le16(p);
  uint32_t cert_size = le32(p + 2);
  p += 6;
  if (cert_type != 6) {
    set_err(err, errlen, "certification data type %u (want 6, QE report)", cert_type);
    return -1;
  }
  if (cert_size > (size_t)(end - p)) {
    set_err(err, errlen, "QE report certification data runs past the signature data");
    return -1;
  }
  end = p + cert_size;
  if ((size_t)(end - p) < TDX_QE_REPORT_LEN + 64 + 2) {
    set_err(err, errlen, "QE report certification data too short");
    return -1;
  }
  memcpy(q->qe_report, p, TDX_QE_REPORT_LEN);
  memcpy(q->qe_report_signature, p + TDX_QE_REPORT_LEN, 64);
  p += TDX_QE_REPORT_LEN + 64;
  uint16_t auth_len = le16(p);
  p += 2;
  if (auth_len > (size_t)(end - p)) {
    set_err(err, errlen, "QE authentication data runs past its container");
    return -1;
  }
  q->qe_auth_data = p;
  q->qe_auth_data_len = auth_len;
  p += auth_len;
  if ((size_t)(end - p) < 6) {
    set_err(err, errlen, "missing PCK certification data");
    return -1;
  }
  uint16_t inner_type = le16(p);
  uint32_t inner_size = le32(p + 2);
  p += 6;
  if (inner_type != 5) {
    set_err(err, errlen, "inner certification data type %u (want 5, PCK chain)", inner_type);
    return -1;
  }
  if (inner_size > (size_t)(end - p) || inner_size == 0) {
    set_err(err, errlen, "PCK certificate chain runs past its container");
    return -1;
  }
  q->pck_chain_pem = (const char *)p;
  q->pck_chain_pem_len = inner_size;
  q->raw = buf;
  q->raw_len = len;
  return 0;
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
      set_err(err, errlen, "out of memory");
      return NULL;
    }
    memcpy(out, data, len);
    *out_len = len;
    return out;
  }
  if (digits % 2) {
    set_err(err, errlen, "hex quote has an odd number of digits");
    return NULL;
  }
  out = malloc(digits / 2 + 1);
  if (!out) {
    set_err(err, errlen, "out of memory");
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

/* ---- collateral ------------------------------------------------------------------- */

typedef enum tcb_status {
  ST_UP_TO_DATE,
  ST_SW_HARDENING_NEEDED,
  ST_CONFIGURATION_NEEDED,
  ST_CONFIGURATION_AND_SW_HARDENING_NEEDED,
  ST_OUT_OF_DATE,
  ST_OUT_OF_DATE_CONFIGURATION_NEEDED,
  ST_REVOKED,
  ST_TD_RELAUNCH_ADVISED,
  ST_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED,
} tcb_status;

static const char *const status_names[] = {
    "UpToDate",  "SWHardeningNeeded",           "ConfigurationNeeded",
    "ConfigurationAndSWHardeningNeeded",        "OutOfDate",
    "OutOfDateConfigurationNeeded",             "Revoked",
    "TDRelaunchAdvised",                        "TDRelaunchAdvisedConfigurationNeeded",
};

static int status_from_name(const char *s, tcb_status *out) {
  for (size_t i = 0; i < sizeof status_names / sizeof status_names[0]; i++) {
    if (!strcmp(s, status_names[i])) {
      *out = (tcb_status)i;
      return 0;
    }
  }
  return -1;
}

typedef struct platform_level {
  uint8_t sgx[16];
  uint8_t tdx[16];
  uint16_t pcesvn;
  tcb_status status;
  char advisories[160];
} platform_level;

typedef struct isv_level {
  uint16_t isvsvn;
  tcb_status status;
} isv_level;

typedef struct module_identity {
  char id[16];
  uint8_t mrsigner[48];
  uint8_t attributes[8];
  uint8_t attributes_mask[8];
  isv_level levels[MAX_TCB_LEVELS];
  size_t n_levels;
} module_identity;

struct tdx_collateral {
  char *pck_crl_issuer_chain;
  char *tcb_info_issuer_chain;
  char *qe_identity_issuer_chain;
  X509_CRL *root_ca_crl;
  X509_CRL *pck_crl;
  char *tcb_info_json; /* the exact signed bytes */
  size_t tcb_info_len;
  uint8_t tcb_info_sig[64];
  char *qe_identity_json;
  size_t qe_identity_len;
  uint8_t qe_identity_sig[64];

  /* TCB info */
  time_t tcb_issue, tcb_next;
  uint8_t fmspc[6];
  uint8_t pce_id[2];
  bool has_tdx_module;
  uint8_t tdx_module_mrsigner[48];
  uint8_t tdx_module_attributes[8];
  uint8_t tdx_module_attributes_mask[8];
  module_identity *modules;
  size_t n_modules;
  platform_level *levels;
  size_t n_levels;

  /* QE identity */
  time_t qe_issue, qe_next;
  uint32_t qe_miscselect, qe_miscselect_mask;
  uint8_t qe_attributes[16], qe_attributes_mask[16];
  uint8_t qe_mrsigner[32];
  uint16_t qe_isvprodid;
  isv_level qe_levels[MAX_TCB_LEVELS];
  size_t n_qe_levels;
};

void tdx_collateral_free(tdx_collateral *c) {
  if (!c) return;
  free(c->pck_crl_issuer_chain);
  free(c->tcb_info_issuer_chain);
  free(c->qe_identity_issuer_chain);
  X509_CRL_free(c->root_ca_crl);
  X509_CRL_free(c->pck_crl);
  free(c->tcb_info_json);
  free(c->qe_identity_json);
  free(c->modules);
  free(c->levels);
  free(c);
}

static char *dup_string_field(json_t *obj, const char *key, size_t *len_out, char *err,
                              size_t errlen) {
  json_t *v = json_object_get(obj, key);
  if (!json_is_string(v)) {
    set_err(err, errlen, "collateral: missing string field \"%s\"", key);
    return NULL;
  }
  size_t n = json_string_length(v);
  char *s = malloc(n + 1);
  if (!s) {
    set_err(err, errlen, "out of memory");
    return NULL;
  }
  memcpy(s, json_string_value(v), n);
  s[n] = '\0';
  if (len_out) *len_out = n;
  return s;
}

/* Decodes a hex string field of exactly want bytes (want 0: any length up to cap). */
static long hex_field(json_t *obj, const char *key, uint8_t *out, size_t cap, size_t want,
                      char *err, size_t errlen) {
  json_t *v = json_object_get(obj, key);
  if (!json_is_string(v)) {
    set_err(err, errlen, "missing hex field \"%s\"", key);
    return -1;
  }
  long n = dstack_hex_decode(json_string_value(v), json_string_length(v), out, cap);
  if (n < 0 || (want && (size_t)n != want)) {
    set_err(err, errlen, "field \"%s\" is not %zu bytes of hex", key, want);
    return -1;
  }
  return n;
}

static int time_field(json_t *obj, const char *key, time_t *out, char *err, size_t errlen) {
  json_t *v = json_object_get(obj, key);
  if (!json_is_string(v) || dstack_parse_rfc3339(json_string_value(v), out) != 0) {
    set_err(err, errlen, "missing or malformed time \"%s\"", key);
    return -1;
  }
  return 0;
}

static int uint_field(json_t *obj, const char *key, long long max, long long *out, char *err,
                      size_t errlen) {
  json_t *v = json_object_get(obj, key);
  if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max) {
    set_err(err, errlen, "missing or out-of-range integer \"%s\"", key);
    return -1;
  }
  *out = json_integer_value(v);
  return 0;
}

static int status_field(json_t *obj, tcb_status *out, char *err, size_t errlen) {
  json_t *v = json_object_get(obj, "tcbStatus");
  if (!json_is_string(v) || status_from_name(json_string_value(v), out) != 0) {
    set_err(err, errlen, "missing or unknown tcbStatus");
    return -1;
  }
  return 0;
}

static int parse_isv_levels(json_t *arr, isv_level *levels, size_t *n, char *err,
                            size_t errlen) {
  if (!json_is_array(arr) || json_array_size(arr) == 0 ||
      json_array_size(arr) > MAX_TCB_LEVELS) {
    set_err(err, errlen, "tcbLevels missing, empty or too long");
    return -1;
  }
  size_t i;
  json_t *lv;
  *n = 0;
  json_array_foreach(arr, i, lv) {
    long long svn;
    if (uint_field(json_object_get(lv, "tcb"), "isvsvn", 65535, &svn, err, errlen) ||
        status_field(lv, &levels[i].status, err, errlen))
      return -1;
    levels[i].isvsvn = (uint16_t)svn;
    (*n)++;
  }
  return 0;
}

static int parse_components(json_t *arr, uint8_t out[16], const char *what, char *err,
                            size_t errlen) {
  if (!json_is_array(arr) || json_array_size(arr) != 16) {
    set_err(err, errlen, "%s: want 16 components", what);
    return -1;
  }
  size_t i;
  json_t *comp;
  json_array_foreach(arr, i, comp) {
    long long svn;
    if (uint_field(comp, "svn", 255, &svn, err, errlen)) return -1;
    out[i] = (uint8_t)svn;
  }
  return 0;
}

static int parse_tcb_info(tdx_collateral *c, char *err, size_t errlen) {
  json_error_t jerr;
  json_t *root = json_loadb(c->tcb_info_json, c->tcb_info_len, JSON_REJECT_DUPLICATES, &jerr);
  int rc = -1;
  if (!json_is_object(root)) {
    set_err(err, errlen, "tcb_info is not a JSON object");
    goto out;
  }
  json_t *id = json_object_get(root, "id");
  long long version, tcb_type;
  if (!json_is_string(id) || strcmp(json_string_value(id), "TDX") != 0) {
    set_err(err, errlen, "tcb_info: id is not \"TDX\"");
    goto out;
  }
  if (uint_field(root, "version", 100, &version, err, errlen)) goto out;
  if (version != 3) {
    set_err(err, errlen, "tcb_info: version %lld (want 3)", version);
    goto out;
  }
  if (uint_field(root, "tcbType", 100, &tcb_type, err, errlen)) goto out;
  if (tcb_type != 0) {
    set_err(err, errlen, "tcb_info: unsupported tcbType %lld", tcb_type);
    goto out;
  }
  if (time_field(root, "issueDate", &c->tcb_issue, err, errlen) ||
      time_field(root, "nextUpdate", &c->tcb_next, err, errlen) ||
      hex_field(root, "fmspc", c->fmspc, 6, 6, err, errlen) < 0 ||
      hex_field(root, "pceId", c->pce_id, 2, 2, err, errlen) < 0)
    goto out;

  json_t *mod = json_object_get(root, "tdxModule");
  if (mod) {
    if (hex_field(mod, "mrsigner", c->tdx_module_mrsigner, 48, 48, err, errlen) < 0 ||
        hex_field(mod, "attributes", c->tdx_module_attributes, 8, 8, err, errlen) < 0 ||
        hex_field(mod, "attributesMask", c->tdx_module_attributes_mask, 8, 8, err, errlen) < 0)
      goto out;
    c->has_tdx_module = true;
  }
  json_t *ids = json_object_get(root, "tdxModuleIdentities");
  if (ids) {
    if (!json_is_array(ids) || json_array_size(ids) > MAX_MODULE_IDS) {
      set_err(err, errlen, "tcb_info: bad tdxModuleIdentities");
      goto out;
    }
    c->modules = calloc(json_array_size(ids) + 1, sizeof *c->modules);
    if (!c->modules) {
      set_err(err, errlen, "out of memory");
      goto out;
    }
    size_t i;
    json_t *m;
    json_array_foreach(ids, i, m) {
      module_identity *mi = &c->modules[i];
      json_t *mid = json_object_get(m, "id");
      if (!json_is_string(mid) || json_string_length(mid) >= sizeof mi->id) {
        set_err(err, errlen, "tcb_info: bad TDX module identity id");
        goto out;
      }
      memcpy(mi->id, json_string_value(mid), json_string_length(mid) + 1);
      if (hex_field(m, "mrsigner", mi->mrsigner, 48, 48, err, errlen) < 0 ||
          hex_field(m, "attributes", mi->attributes, 8, 8, err, errlen) < 0 ||
          hex_field(m, "attributesMask", mi->attributes_mask, 8, 8, err, errlen) < 0 ||
          parse_isv_levels(json_object_get(m, "tcbLevels"), mi->levels, &mi->n_levels, err,
                           errlen))
        goto out;
      c->n_modules++;
    }
  }
  json_t *levels = json_object_get(root, "tcbLevels");
  if (!json_is_array(levels) || json_array_size(levels) == 0 ||
      json_array_size(levels) > MAX_TCB_LEVELS) {
    set_err(err, errlen, "tcb_info: tcbLevels missing, empty or too long");
    goto out;
  }
  c->levels = calloc(json_array_size(levels), sizeof *c->levels);
  if (!c->levels) {
    set_err(err, errlen, "out of memory");
    goto out;
  }
  size_t i;
  json_t *lv;
  json_array_foreach(levels, i, lv) {
    platform_level *pl = &c->levels[i];
    json_t *tcb = json_object_get(lv, "tcb");
    long long pcesvn;
    if (parse_components(json_object_get(tcb, "sgxtcbcomponents"), pl->sgx, "sgxtcbcomponents",
                         err, errlen) ||
        parse_components(json_object_get(tcb, "tdxtcbcomponents"), pl->tdx, "tdxtcbcomponents",
                         err, errlen) ||
        uint_field(tcb, "pcesvn", 65535, &pcesvn, err, errlen) ||
        status_field(lv, &pl->status, err, errlen))
      goto out;
    pl->pcesvn = (uint16_t)pcesvn;
    json_t *adv = json_object_get(lv, "advisoryIDs");
    size_t j;
    json_t *a;
    size_t used = 0;
    json_array_foreach(adv, j, a) {
      if (!json_is_string(a) || used >= sizeof pl->advisories - 1) continue;
      int w = snprintf(pl->advisories + used, sizeof pl->advisories - used, "%s%s",
                       used ? "," : "", json_string_value(a));
      if (w < 0) break;
      used += (size_t)w;
    }
    c->n_levels++;
  }
  rc = 0;
out:
  json_decref(root);
  return rc;
}

static int parse_qe_identity(tdx_collateral *c, char *err, size_t errlen) {
  json_error_t jerr;
  json_t *root =
      json_loadb(c->qe_identity_json, c->qe_identity_len, JSON_REJECT_DUPLICATES, &jerr);
  int rc = -1;
  uint8_t b4[4];
  long long version, prodid;
  if (!json_is_object(root)) {
    set_err(err, errlen, "qe_identity is not a JSON object");
    goto out;
  }
  json_t *id = json_object_get(root, "id");
  if (!json_is_string(id) || strcmp(json_string_value(id), "TD_QE") != 0) {
    set_err(err, errlen, "qe_identity: id is not \"TD_QE\"");
    goto out;
  }
  if (uint_field(root, "version", 100, &version, err, errlen)) goto out;
  if (version != 2) {
    set_err(err, errlen, "qe_identity: version %lld (want 2)", version);
    goto out;
  }
  if (time_field(root, "issueDate", &c->qe_issue, err, errlen) ||
      time_field(root, "nextUpdate", &c->qe_next, err, errlen))
    goto out;
  /* miscselect is printed big-endian in the JSON, like a number. */
  if (hex_field(root, "miscselect", b4, 4, 4, err, errlen) < 0) goto out;
  c->qe_miscselect = (uint32_t)b4[0] << 24 | (uint32_t)b4[1] << 16 | (uint32_t)b4[2] << 8 | b4[3];
  if (hex_field(root, "miscselectMask", b4, 4, 4, err, errlen) < 0) goto out;
  c->qe_miscselect_mask =
      (uint32_t)b4[0] << 24 | (uint32_t)b4[1] << 16 | (uint32_t)b4[2] << 8 | b4[3];
  if (hex_field(root, "attributes", c->qe_attributes, 16, 16, err, errlen) < 0 ||
      hex_field(root, "attributesMask", c->qe_attributes_mask, 16, 16, err, errlen) < 0 ||
      hex_field(root, "mrsigner", c->qe_mrsigner, 32, 32, err, errlen) < 0 ||
      uint_field(root, "isvprodid", 65535, &prodid, err, errlen) ||
      parse_isv_levels(json_object_get(root, "tcbLevels"), c->qe_levels, &c->n_qe_levels, err,
                       errlen))
    goto out;
  c->qe_isvprodid = (uint16_t)prodid;
  rc = 0;
out:
  json_decref(root);
  return rc;
}

static X509_CRL *crl_from_hex(json_t *obj, const char *key, char *err, size_t errlen) {
  json_t *v = json_object_get(obj, key);
  if (!json_is_string(v) || json_string_length(v) > 4 * 1024 * 1024) {
    set_err(err, errlen, "collateral: missing or oversized \"%s\"", key);
    return NULL;
  }
  size_t n = json_string_length(v) / 2;
  uint8_t *der = malloc(n + 1);
  if (!der) {
    set_err(err, errlen, "out of memory");
    return NULL;
  }
  long got = dstack_hex_decode(json_string_value(v), json_string_length(v), der, n);
  X509_CRL *crl = NULL;
  if (got > 0) {
    const uint8_t *p = der;
    crl = d2i_X509_CRL(NULL, &p, got);
    if (crl && p != der + got) {
      X509_CRL_free(crl);
      crl = NULL;
    }
  }
  free(der);
  if (!crl) set_err(err, errlen, "collateral: \"%s\" is not a hex DER CRL", key);
  return crl;
}

tdx_collateral *tdx_collateral_parse(const char *json, size_t len, char *err, size_t errlen) {
  json_error_t jerr;
  json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
  if (!json_is_object(root)) {
    set_err(err, errlen, "collateral is not a JSON object (%s)", root ? "" : jerr.text);
    json_decref(root);
    return NULL;
  }
  tdx_collateral *c = calloc(1, sizeof *c);
  if (!c) {
    set_err(err, errlen, "out of memory");
    json_decref(root);
    return NULL;
  }
  if (!(c->pck_crl_issuer_chain =
            dup_string_field(root, "pck_crl_issuer_chain", NULL, err, errlen)) ||
      !(c->tcb_info_issuer_chain =
            dup_string_field(root, "tcb_info_issuer_chain", NULL, err, errlen)) ||
      !(c->qe_identity_issuer_chain =
            dup_string_field(root, "qe_identity_issuer_chain", NULL, err, errlen)) ||
      !(c->tcb_info_json = dup_string_field(root, "tcb_info", &c->tcb_info_len, err, errlen)) ||
      !(c->qe_identity_json =
            dup_string_field(root, "qe_identity", &c->qe_identity_len, err, errlen)) ||
      hex_field(root, "tcb_info_signature", c->tcb_info_sig, 64, 64, err, errlen) < 0 ||
      hex_field(root, "qe_identity_signature", c->qe_identity_sig, 64, 64, err, errlen) < 0 ||
      !(c->root_ca_crl = crl_from_hex(root, "root_ca_crl", err, errlen)) ||
      !(c->pck_crl = crl_from_hex(root, "pck_crl", err, errlen)) ||
      parse_tcb_info(c, err, errlen) || parse_qe_identity(c, err, errlen)) {
    tdx_collateral_free(c);
    json_decref(root);
    return NULL;
  }
  json_decref(root);
  return c;
}

static int asn1_to_time(const ASN1_TIME *t, time_t *out) {
  struct tm tm;
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return -1;
  *out = timegm(&tm);
  return 0;
}

int tdx_collateral_window(const tdx_collateral *c, time_t *not_before, time_t *not_after) {
  time_t lo = c->tcb_issue > c->qe_issue ? c->tcb_issue : c->qe_issue;
  time_t hi = c->tcb_next < c->qe_next ? c->tcb_next : c->qe_next;
  X509_CRL *crls[2] = {c->root_ca_crl, c->pck_crl};
  for (int i = 0; i < 2; i++) {
    time_t last, next;
    if (asn1_to_time(X509_CRL_get0_lastUpdate(crls[i]), &last) ||
        asn1_to_time(X509_CRL_get0_nextUpdate(crls[i]), &next))
      return -1;
    if (last > lo) lo = last;
    if (next < hi) hi = next;
  }
  *not_before = lo;
  *not_after = hi;
  return 0;
}

/* ---- crypto helpers --------------------------------------------------------------- */

/* SubjectPublicKeyInfo prefix of an uncompressed P-256 key: lets d2i_PUBKEY build the
 * key from the quote's raw x || y without deprecated EC_KEY calls. */
static const uint8_t p256_spki_prefix[] = {0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48,
                                           0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
                                           0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04};

static EVP_PKEY *p256_key_from_raw(const uint8_t xy[64]) {
  uint8_t spki[sizeof p256_spki_prefix + 64];
  memcpy(spki, p256_spki_prefix, sizeof p256_spki_prefix);
  memcpy(spki + sizeof p256_spki_prefix, xy, 64);
  const uint8_t *p = spki;
  return d2i_PUBKEY(NULL, &p, (long)sizeof spki);
}

/* Verifies a raw r || s P-256 ECDSA signature over SHA-256(msg). Returns 1 if valid. */
static int verify_p256_raw(EVP_PKEY *key, const uint8_t *msg, size_t len, const uint8_t sig[64]) {
  int ok = 0;
  ECDSA_SIG *es = ECDSA_SIG_new();
  BIGNUM *r = BN_bin2bn(sig, 32, NULL), *s = BN_bin2bn(sig + 32, 32, NULL);
  uint8_t *der = NULL;
  EVP_MD_CTX *ctx = NULL;
  if (!es || !r || !s || !ECDSA_SIG_set0(es, r, s)) {
    BN_free(r);
    BN_free(s);
    goto out;
  }
  int der_len = i2d_ECDSA_SIG(es, &der);
  if (der_len <= 0) goto out;
  ctx = EVP_MD_CTX_new();
  if (!ctx || EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key) != 1) goto out;
  ok = EVP_DigestVerify(ctx, der, (size_t)der_len, msg, len) == 1;
out:
  EVP_MD_CTX_free(ctx);
  OPENSSL_free(der);
  ECDSA_SIG_free(es);
  return ok;
}

static STACK_OF(X509) *load_pem_chain(const char *pem, size_t len) {
  if (len > INT32_MAX) return NULL;
  BIO *bio = BIO_new_mem_buf(pem, (int)len);
  STACK_OF(X509) *chain = sk_X509_new_null();
  if (!bio || !chain) goto fail;
  X509 *x;
  while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
    if (sk_X509_num(chain) >= MAX_CHAIN_CERTS || !sk_X509_push(chain, x)) {
      X509_free(x);
      goto fail;
    }
  }
  ERR_clear_error();
  BIO_free(bio);
  if (sk_X509_num(chain) == 0) {
    sk_X509_free(chain);
    return NULL;
  }
  return chain;
fail:
  BIO_free(bio);
  sk_X509_pop_free(chain, X509_free);
  return NULL;
}

static X509 *embedded_root(void) {
  const uint8_t *p = intel_sgx_root_ca_der;
  return d2i_X509(NULL, &p, (long)sizeof intel_sgx_root_ca_der);
}

/* Verifies leaf up to the embedded Intel root at time now, with the certificates of
 * chain as untrusted intermediates and, if given, both CRLs for every certificate. */
typedef enum chain_kind { CHAIN_PCK, CHAIN_TCB_SIGNING } chain_kind;

static bool has_common_name(X509 *x, const char *want) {
  char cn[128] = "";
  int n = X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof cn);
  return n > 0 && (size_t)n < sizeof cn && !strcmp(cn, want);
}

/* Any key certified by the Intel root could sign something, including a platform's PCK
 * key: so each verified chain must also have Intel's shape for its role. A PCK chain is
 * PCK certificate <- PCK Platform or Processor CA <- root; collateral JSON is signed by
 * the TCB Signing certificate, issued by the root directly. */
static bool chain_has_shape(STACK_OF(X509) *verified, chain_kind kind) {
  int n = sk_X509_num(verified);
  if (kind == CHAIN_TCB_SIGNING)
    return n == 2 && has_common_name(sk_X509_value(verified, 0), "Intel SGX TCB Signing");
  return n == 3 && has_common_name(sk_X509_value(verified, 0), "Intel SGX PCK Certificate") &&
         (has_common_name(sk_X509_value(verified, 1), "Intel SGX PCK Platform CA") ||
          has_common_name(sk_X509_value(verified, 1), "Intel SGX PCK Processor CA"));
}

static int verify_to_root(X509 *leaf, STACK_OF(X509) *chain, chain_kind kind,
                          const tdx_collateral *c, time_t now, char *err, size_t errlen) {
  int ok = 0;
  X509 *root = embedded_root();
  X509_STORE *store = X509_STORE_new();
  X509_STORE_CTX *ctx = X509_STORE_CTX_new();
  if (!root || !store || !ctx || !X509_STORE_add_cert(store, root)) {
    set_err(err, errlen, "out of memory setting up the certificate store");
    goto out;
  }
  unsigned long flags = X509_V_FLAG_X509_STRICT;
  if (c) {
    if (!X509_STORE_add_crl(store, c->root_ca_crl) || !X509_STORE_add_crl(store, c->pck_crl)) {
      set_err(err, errlen, "cannot load CRLs");
      goto out;
    }
    flags |= X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL;
  }
  if (!X509_STORE_CTX_init(ctx, store, leaf, chain)) {
    set_err(err, errlen, "cannot start certificate verification");
    goto out;
  }
  X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
  X509_VERIFY_PARAM_set_flags(param, flags);
  X509_VERIFY_PARAM_set_time(param, now);
  if (X509_verify_cert(ctx) != 1) {
    int e = X509_STORE_CTX_get_error(ctx);
    char subject[128] = "";
    X509 *bad = X509_STORE_CTX_get_current_cert(ctx);
    if (bad) X509_NAME_get_text_by_NID(X509_get_subject_name(bad), NID_commonName, subject,
                                       sizeof subject);
    set_err(err, errlen, "%s (certificate \"%s\")", X509_verify_cert_error_string(e), subject);
    goto out;
  }
  if (!chain_has_shape(X509_STORE_CTX_get0_chain(ctx), kind)) {
    set_err(err, errlen, "chain verifies to the Intel root but is not a %s chain",
            kind == CHAIN_PCK ? "PCK certificate" : "TCB Signing");
    goto out;
  }
  ok = 1;
out:
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  X509_free(root);
  ERR_clear_error();
  return ok;
}

/* ---- PCK certificate SGX extension (OID 1.2.840.113741.1.13.1) -------------------- */

static const uint8_t sgx_ext_oid[] = {0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01};

typedef struct pck_tcb {
  uint8_t sgx[16];
  uint16_t pcesvn;
  uint8_t cpusvn[16];
  uint8_t fmspc[6];
  uint8_t pce_id[2];
} pck_tcb;

/* Reads one DER TLV from [*p, end): low tag numbers and definite lengths only. */
static int der_next(const uint8_t **p, const uint8_t *end, uint8_t *tag, const uint8_t **val,
                    size_t *val_len) {
  const uint8_t *q = *p;
  if (end - q < 2) return -1;
  *tag = *q++;
  if ((*tag & 0x1f) == 0x1f) return -1;
  size_t len = *q++;
  if (len & 0x80) {
    size_t n = len & 0x7f;
    if (n == 0 || n > 3 || (size_t)(end - q) < n) return -1;
    len = 0;
    for (size_t i = 0; i < n; i++) len = len << 8 | *q++;
  }
  if (len > (size_t)(end - q)) return -1;
  *val = q;
  *val_len = len;
  *p = q + len;
  return 0;
}

static int der_uint(const uint8_t *v, size_t n, unsigned max, unsigned *out) {
  if (n == 0 || n > 3 || (v[0] & 0x80)) return -1;
  unsigned x = 0;
  for (size_t i = 0; i < n; i++) x = x << 8 | v[i];
  if (x > max) return -1;
  *out = x;
  return 0;
}

/* Is oid (DER content) the SGX extension OID followed by exactly the arcs in sub? */
static bool sgx_oid_is(const uint8_t *oid, size_t n, const uint8_t *sub, size_t sub_n) {
  return n == sizeof sgx_ext_oid + sub_n && !memcmp(oid, sgx_ext_oid, sizeof sgx_ext_oid) &&
         !memcmp(oid + sizeof sgx_ext_oid, sub, sub_n);
}

static int parse_tcb_seq(const uint8_t *p, const uint8_t *end, pck_tcb *t, uint32_t *found) {
  while (p < end) {
    uint8_t tag;
    const uint8_t *v, *q;
    size_t n;
    if (der_next(&p, end, &tag, &v, &n) || tag != 0x30) return -1;
    q = v;
    const uint8_t *qend = v + n, *oid, *val;
    size_t oid_n, val_n;
    if (der_next(&q, qend, &tag, &oid, &oid_n) || tag != 0x06) return -1;
    if (der_next(&q, qend, &tag, &val, &val_n)) return -1;
    for (uint8_t k = 1; k <= 18; k++) {
      uint8_t sub[2] = {0x02, k};
      if (!sgx_oid_is(oid, oid_n, sub, 2)) continue;
      unsigned x;
      if (k <= 16) {
        if (tag != 0x02 || der_uint(val, val_n, 255, &x)) return -1;
        t->sgx[k - 1] = (uint8_t)x;
      } else if (k == 17) {
        if (tag != 0x02 || der_uint(val, val_n, 65535, &x)) return -1;
        t->pcesvn = (uint16_t)x;
      } else {
        if (tag != 0x04 || val_n != 16) return -1;
        memcpy(t->cpusvn, val, 16);
      }
      *found |= 1u << k;
    }
  }
  return 0;
}

static int parse_pck_extension(X509 *leaf, pck_tcb *t, char *err, size_t errlen) {
  memset(t, 0, sizeof *t);
  const ASN1_OCTET_STRING *data = NULL;
  int n = X509_get_ext_count(leaf);
  for (int i = 0; i < n; i++) {
    X509_EXTENSION *ext = X509_get_ext(leaf, i);
    const ASN1_OBJECT *obj = X509_EXTENSION_get_object(ext);
    char text[64];
    int len = OBJ_obj2txt(text, sizeof text, obj, 1);
    if (len > 0 && len < (int)sizeof text && !strcmp(text, "1.2.840.113741.1.13.1")) {
      data = X509_EXTENSION_get_data(ext);
      break;
    }
  }
  if (!data) {
    set_err(err, errlen, "PCK certificate has no SGX extension");
    return -1;
  }
  const uint8_t *p = ASN1_STRING_get0_data(data);
  const uint8_t *end = p + ASN1_STRING_length(data);
  uint8_t tag;
  const uint8_t *v;
  size_t vn;
  uint32_t found = 0;
  if (der_next(&p, end, &tag, &v, &vn) || tag != 0x30) goto bad;
  p = v;
  end = v + vn;
  while (p < end) {
    const uint8_t *e, *q, *oid, *val;
    size_t en, oid_n, val_n;
    if (der_next(&p, end, &tag, &e, &en) || tag != 0x30) goto bad;
    q = e;
    if (der_next(&q, e + en, &tag, &oid, &oid_n) || tag != 0x06) goto bad;
    if (der_next(&q, e + en, &tag, &val, &val_n)) goto bad;
    static const uint8_t tcb_arc[] = {0x02}, pceid_arc[] = {0x03}, fmspc_arc[] = {0x04};
    if (sgx_oid_is(oid, oid_n, tcb_arc, 1)) {
      if (tag != 0x30 || parse_tcb_seq(val, val + val_n, t, &found)) goto bad;
    } else if (sgx_oid_is(oid, oid_n, pceid_arc, 1)) {
      if (tag != 0x04 || val_n != 2) goto bad;
      memcpy(t->pce_id, val, 2);
      found |= 1u << 20;
    } else if (sgx_oid_is(oid, oid_n, fmspc_arc, 1)) {
      if (tag != 0x04 || val_n != 6) goto bad;
      memcpy(t->fmspc, val, 6);
      found |= 1u << 21;
    }
  }
  /* bits 1..18: TCB components, PCESVN, CPUSVN; 20: PCE-ID; 21: FMSPC */
  if (found != (((1u << 19) - 2) | 1u << 20 | 1u << 21)) {
    set_err(err, errlen, "PCK certificate SGX extension lacks TCB, PCE-ID or FMSPC");
    return -1;
  }
  return 0;
bad:
  set_err(err, errlen, "PCK certificate SGX extension is malformed");
  return -1;
}

/* ---- TCB evaluation (Intel QVL rules for TDX) ------------------------------------- */

/* A QE or module TCB of OutOfDate turns a platform status into OutOfDate or
 * OutOfDateConfigurationNeeded; Revoked wins everything. */
static tcb_status converge(tcb_status platform, tcb_status other) {
  if (other == ST_REVOKED) return ST_REVOKED;
  if (other == ST_OUT_OF_DATE) {
    if (platform == ST_UP_TO_DATE || platform == ST_SW_HARDENING_NEEDED) return ST_OUT_OF_DATE;
    if (platform == ST_CONFIGURATION_NEEDED || platform == ST_CONFIGURATION_AND_SW_HARDENING_NEEDED)
      return ST_OUT_OF_DATE_CONFIGURATION_NEEDED;
  }
  return platform;
}

static const isv_level *match_isv_level(const isv_level *levels, size_t n, uint16_t svn) {
  for (size_t i = 0; i < n; i++)
    if (svn >= levels[i].isvsvn) return &levels[i];
  return NULL;
}

typedef struct qe_report_fields {
  uint32_t miscselect;
  uint8_t attributes[16];
  uint8_t mrsigner[32];
  uint16_t isvprodid;
  uint16_t isvsvn;
  uint8_t report_data[64];
} qe_report_fields;

static void read_qe_report(const uint8_t r[TDX_QE_REPORT_LEN], qe_report_fields *f) {
  f->miscselect = le32(r + 16);
  memcpy(f->attributes, r + 48, 16);
  memcpy(f->mrsigner, r + 128, 32);
  f->isvprodid = le16(r + 256);
  f->isvsvn = le16(r + 258);
  memcpy(f->report_data, r + 320, 64);
}

static int check_qe_identity(const tdx_collateral *c, const qe_report_fields *f,
                             tcb_status *qe_status, char *err, size_t errlen) {
  if ((f->miscselect & c->qe_miscselect_mask) != c->qe_miscselect) {
    set_err(err, errlen, "QE identity mismatch: MISCSELECT");
    return -1;
  }
  for (int i = 0; i < 16; i++) {
    if ((f->attributes[i] & c->qe_attributes_mask[i]) != c->qe_attributes[i]) {
      set_err(err, errlen, "QE identity mismatch: attributes");
      return -1;
    }
  }
  if (memcmp(f->mrsigner, c->qe_mrsigner, 32) != 0) {
    set_err(err, errlen, "QE identity mismatch: MRSIGNER");
    return -1;
  }
  if (f->isvprodid != c->qe_isvprodid) {
    set_err(err, errlen, "QE identity mismatch: ISVPRODID %u (want %u)", f->isvprodid,
            c->qe_isvprodid);
    return -1;
  }
  const isv_level *lv = match_isv_level(c->qe_levels, c->n_qe_levels, f->isvsvn);
  if (!lv) {
    set_err(err, errlen, "QE ISVSVN %u is below every QE identity TCB level", f->isvsvn);
    return -1;
  }
  *qe_status = lv->status;
  return 0;
}

/* The TDX module: version 0 is checked against tdxModule, others against the identity
 * "TDX_<version as two hex digits>" whose TCB levels give the module's status. */
static int check_tdx_module(const tdx_collateral *c, const tdx_quote *q, tcb_status *status,
                            char *err, size_t errlen) {
  uint8_t version = q->tee_tcb_svn[1], isvsvn = q->tee_tcb_svn[0];
  const uint8_t *mrsigner, *attributes, *mask;
  *status = ST_UP_TO_DATE;
  if (version == 0) {
    if (!c->has_tdx_module) {
      set_err(err, errlen, "tcb_info has no tdxModule");
      return -1;
    }
    mrsigner = c->tdx_module_mrsigner;
    attributes = c->tdx_module_attributes;
    mask = c->tdx_module_attributes_mask;
  } else {
    char want[16];
    snprintf(want, sizeof want, "TDX_%02X", version);
    const module_identity *mi = NULL;
    for (size_t i = 0; i < c->n_modules && !mi; i++)
      if (!strcasecmp(c->modules[i].id, want)) mi = &c->modules[i];
    if (!mi) {
      set_err(err, errlen, "no TDX module identity %s in tcb_info", want);
      return -1;
    }
    const isv_level *lv = match_isv_level(mi->levels, mi->n_levels, isvsvn);
    if (!lv) {
      set_err(err, errlen, "TDX module %s SVN %u is below every TCB level", want, isvsvn);
      return -1;
    }
    *status = lv->status;
    mrsigner = mi->mrsigner;
    attributes = mi->attributes;
    mask = mi->attributes_mask;
  }
  if (memcmp(q->mrsignerseam, mrsigner, 48) != 0) {
    set_err(err, errlen, "TDX module MRSIGNERSEAM does not match tcb_info");
    return -1;
  }
  for (int i = 0; i < 8; i++) {
    if ((q->seam_attributes[i] & mask[i]) != attributes[i]) {
      set_err(err, errlen, "TDX module SEAM attributes do not match tcb_info");
      return -1;
    }
  }
  return 0;
}

/* Picks the first (highest) level whose SGX components and PCESVN the PCK certificate
 * meets, then the first at or after it whose TDX components the TEE TCB SVN meets (its
 * first two bytes are the module's SVN and version when the version is non-zero, and
 * are judged by the module identity instead). */
static const platform_level *match_platform_level(const tdx_collateral *c, const pck_tcb *t,
                                                  const uint8_t tee_tcb_svn[16],
                                                  const platform_level **sgx_level, char *err,
                                                  size_t errlen) {
  bool sgx_matched = false;
  for (size_t i = 0; i < c->n_levels; i++) {
    const platform_level *lv = &c->levels[i];
    bool ok = t->pcesvn >= lv->pcesvn;
    for (int k = 0; k < 16 && ok; k++) ok = t->sgx[k] >= lv->sgx[k];
    if (!ok) continue;
    if (!sgx_matched) *sgx_level = lv;
    sgx_matched = true;
    for (int k = tee_tcb_svn[1] > 0 ? 2 : 0; k < 16 && ok; k++) ok = tee_tcb_svn[k] >= lv->tdx[k];
    if (ok) return lv;
  }
  set_err(err, errlen, "%s TCB is below every TCB level of tcb_info (TCB not supported)",
          sgx_matched ? "TDX" : "SGX/PCE");
  return NULL;
}

static bool configuration_needed(tcb_status s) {
  return s == ST_CONFIGURATION_NEEDED || s == ST_OUT_OF_DATE_CONFIGURATION_NEEDED ||
         s == ST_CONFIGURATION_AND_SW_HARDENING_NEEDED ||
         s == ST_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED;
}

/* TD 1.5: an out-of-date TD on a platform whose SGX side and QE are current, running on
 * an out-of-date module while the platform has since been updated (TEE TCB SVN2 reaches
 * the latest level), only needs a relaunch. */
static int check_relaunch(const tdx_collateral *c, const uint8_t svn2[16], tcb_status sgx,
                          tcb_status module, tcb_status qe, tcb_status *st, char *err,
                          size_t errlen) {
  if (qe == ST_OUT_OF_DATE || qe == ST_REVOKED) return 0;
  if (!(sgx == ST_UP_TO_DATE || sgx == ST_SW_HARDENING_NEEDED || sgx == ST_CONFIGURATION_NEEDED ||
        sgx == ST_CONFIGURATION_AND_SW_HARDENING_NEEDED))
    return 0;
  if (!(*st == ST_OUT_OF_DATE || *st == ST_OUT_OF_DATE_CONFIGURATION_NEEDED)) return 0;
  if (module != ST_OUT_OF_DATE) return 0;
  const platform_level *latest = &c->levels[0];
  bool updated;
  if (svn2[1] == 0) {
    updated = svn2[0] >= latest->tdx[0] && svn2[2] >= latest->tdx[2];
  } else {
    char want[16];
    snprintf(want, sizeof want, "TDX_%02X", svn2[1]);
    const module_identity *mi = NULL;
    for (size_t i = 0; i < c->n_modules && !mi; i++)
      if (!strcasecmp(c->modules[i].id, want)) mi = &c->modules[i];
    if (!mi) {
      set_err(err, errlen, "no TDX module identity %s (TEE TCB SVN2) in tcb_info", want);
      return -1;
    }
    updated = svn2[0] >= mi->levels[0].isvsvn && svn2[2] >= latest->tdx[2];
  }
  if (updated)
    *st = configuration_needed(sgx) || configuration_needed(*st)
              ? ST_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED
              : ST_TD_RELAUNCH_ADVISED;
  return 0;
}

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
    dstack_format_rfc3339(issue, a, sizeof a);
    dstack_format_rfc3339(next, b, sizeof b);
    set_err(err, errlen, "collateral %s: %s is valid only from %s to %s",
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
  STACK_OF(X509) *chain = load_pem_chain(issuer_chain, strlen(issuer_chain));
  if (!chain) {
    set_err(err, errlen, "%s issuer chain is not PEM certificates", what);
    return -1;
  }
  X509 *signer = sk_X509_value(chain, 0);
  if (!verify_to_root(signer, chain, CHAIN_TCB_SIGNING, c, now, why, sizeof why)) {
    set_err(err, errlen, "%s signing certificate: %s", what, why);
    goto out;
  }
  EVP_PKEY *key = X509_get0_pubkey(signer);
  if (!key || !verify_p256_raw(key, (const uint8_t *)json, json_len, sig)) {
    set_err(err, errlen, "%s signature does not verify", what);
    goto out;
  }
  ok = 1;
out:
  sk_X509_pop_free(chain, X509_free);
  return ok ? 0 : -1;
}

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
  chain = load_pem_chain(q->pck_chain_pem, q->pck_chain_pem_len);
  if (!chain) {
    fail(v, TDX_INVALID, "invalid", "PCK certificate chain is not PEM certificates");
    goto out;
  }
  X509 *pck = sk_X509_value(chain, 0);
  pck_tcb tcb;
  if (parse_pck_extension(pck, &tcb, why, sizeof why)) {
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
  if (!verify_to_root(pck, chain, CHAIN_PCK, c, now, why, sizeof why)) {
    fail(v, TDX_INVALID, "invalid", "PCK certificate chain: %s", why);
    goto out;
  }

  EVP_PKEY *pck_key = X509_get0_pubkey(pck);
  if (!pck_key || !verify_p256_raw(pck_key, q->qe_report, TDX_QE_REPORT_LEN,
                                   q->qe_report_signature)) {
    fail(v, TDX_INVALID, "invalid", "QE report signature does not verify with the PCK key");
    goto out;
  }
  qe_report_fields qe;
  read_qe_report(q->qe_report, &qe);
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
  ak = p256_key_from_raw(q->attestation_key);
  if (!ak) {
    fail(v, TDX_INVALID, "invalid", "attestation key is not a P-256 point");
    goto out;
  }
  if (!verify_p256_raw(ak, q->raw, q->signed_len, q->signature)) {
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
  if (check_qe_identity(c, &qe, &qe_status, why, sizeof why)) {
    fail(v, TDX_INVALID, "invalid", "%s", why);
    goto out;
  }
  const platform_level *sgx_lv = NULL;
  const platform_level *lv =
      match_platform_level(c, &tcb, q->tee_tcb_svn, &sgx_lv, why, sizeof why);
  if (!lv) {
    fail(v, TDX_INVALID, "invalid", "%s", why);
    goto out;
  }
  if (check_tdx_module(c, q, &module_status, why, sizeof why)) {
    fail(v, TDX_INVALID, "invalid", "%s", why);
    goto out;
  }
  tcb_status st = converge(lv->status, module_status);
  if (st != ST_REVOKED && q->body_type == 3 &&
      check_relaunch(c, q->tee_tcb_svn2, sgx_lv->status, module_status, qe_status, &st, why,
                     sizeof why)) {
    fail(v, TDX_INVALID, "invalid", "%s", why);
    goto out;
  }
  st = converge(st, qe_status);
  if (st == ST_REVOKED) {
    fail(v, TDX_INVALID, "Revoked", "the platform's TCB is revoked");
    goto out;
  }
  v->result = TDX_VERIFIED;
  snprintf(v->status, sizeof v->status, "%s", status_names[st]);
  if (lv->advisories[0])
    snprintf(v->message, sizeof v->message, "advisories: %s", lv->advisories);
out:
  EVP_PKEY_free(ak);
  sk_X509_pop_free(chain, X509_free);
  ERR_clear_error();
  return v->result;
}
