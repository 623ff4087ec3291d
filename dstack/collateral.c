/* collateral.c: Intel DCAP collateral for TDX (TCB info, QE identity, CRLs and their
 * issuer chains) parsed from JSON into the form tcb_eval.c judges. Signatures over the
 * JSON are checked later, by tdx_quote_verify, against the exact bytes kept here. */
#include "dstack/quote.h"

#include <jansson.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/hex.h"
#include "base/time.h"
#include "dstack/tdx_internal.h"

static const char *const status_names[] = {
    "UpToDate",  "SWHardeningNeeded",           "ConfigurationNeeded",
    "ConfigurationAndSWHardeningNeeded",        "OutOfDate",
    "OutOfDateConfigurationNeeded",             "Revoked",
    "TDRelaunchAdvised",                        "TDRelaunchAdvisedConfigurationNeeded",
};

const char *tdx_tcb_status_name(tcb_status s) {
  return (size_t)s < sizeof status_names / sizeof status_names[0] ? status_names[s] : "invalid";
}

static int status_from_name(const char *s, tcb_status *out) {
  for (size_t i = 0; i < sizeof status_names / sizeof status_names[0]; i++) {
    if (!strcmp(s, status_names[i])) {
      *out = (tcb_status)i;
      return 0;
    }
  }
  return -1;
}





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
    xt_errf(err, errlen, "collateral: missing string field \"%s\"", key);
    return NULL;
  }
  size_t n = json_string_length(v);
  char *s = malloc(n + 1);
  if (!s) {
    xt_errf(err, errlen, "out of memory");
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
    xt_errf(err, errlen, "missing hex field \"%s\"", key);
    return -1;
  }
  size_t n = 0;
  if (xt_hex_decode(json_string_value(v), json_string_length(v), XT_HEX_0X, out, cap, &n) ||
      (want && n != want)) {
    xt_errf(err, errlen, "field \"%s\" is not %zu bytes of hex", key, want);
    return -1;
  }
  return (long)n;
}

static int time_field(json_t *obj, const char *key, time_t *out, char *err, size_t errlen) {
  json_t *v = json_object_get(obj, key);
  if (!json_is_string(v) || xt_parse_rfc3339(json_string_value(v), out) != XT_OK) {
    xt_errf(err, errlen, "missing or malformed time \"%s\"", key);
    return -1;
  }
  return 0;
}

static int uint_field(json_t *obj, const char *key, long long max, long long *out, char *err,
                      size_t errlen) {
  json_t *v = json_object_get(obj, key);
  if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max) {
    xt_errf(err, errlen, "missing or out-of-range integer \"%s\"", key);
    return -1;
  }
  *out = json_integer_value(v);
  return 0;
}

static int status_field(json_t *obj, tcb_status *out, char *err, size_t errlen) {
  json_t *v = json_object_get(obj, "tcbStatus");
  if (!json_is_string(v) || status_from_name(json_string_value(v), out) != 0) {
    xt_errf(err, errlen, "missing or unknown tcbStatus");
    return -1;
  }
  return 0;
}

static int parse_isv_levels(json_t *arr, isv_level *levels, size_t *n, char *err,
                            size_t errlen) {
  if (!json_is_array(arr) || json_array_size(arr) == 0 ||
      json_array_size(arr) > MAX_TCB_LEVELS) {
    xt_errf(err, errlen, "tcbLevels missing, empty or too long");
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
    xt_errf(err, errlen, "%s: want 16 components", what);
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

/* Over 100 lines on purpose: TCB info is one document read top to bottom (header, TDX
 * module, module identities, levels); splitting it would spread its checks apart. */
static int parse_tcb_info(tdx_collateral *c, char *err, size_t errlen) {
  json_error_t jerr;
  json_t *root = json_loadb(c->tcb_info_json, c->tcb_info_len, JSON_REJECT_DUPLICATES, &jerr);
  int rc = -1;
  if (!json_is_object(root)) {
    xt_errf(err, errlen, "tcb_info is not a JSON object");
    goto out;
  }
  json_t *id = json_object_get(root, "id");
  long long version, tcb_type;
  if (!json_is_string(id) || strcmp(json_string_value(id), "TDX") != 0) {
    xt_errf(err, errlen, "tcb_info: id is not \"TDX\"");
    goto out;
  }
  if (uint_field(root, "version", 100, &version, err, errlen)) goto out;
  if (version != 3) {
    xt_errf(err, errlen, "tcb_info: version %lld (want 3)", version);
    goto out;
  }
  if (uint_field(root, "tcbType", 100, &tcb_type, err, errlen)) goto out;
  if (tcb_type != 0) {
    xt_errf(err, errlen, "tcb_info: unsupported tcbType %lld", tcb_type);
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
      xt_errf(err, errlen, "tcb_info: bad tdxModuleIdentities");
      goto out;
    }
    c->modules = calloc(json_array_size(ids) + 1, sizeof *c->modules);
    if (!c->modules) {
      xt_errf(err, errlen, "out of memory");
      goto out;
    }
    size_t i;
    json_t *m;
    json_array_foreach(ids, i, m) {
      module_identity *mi = &c->modules[i];
      json_t *mid = json_object_get(m, "id");
      if (!json_is_string(mid) || json_string_length(mid) >= sizeof mi->id) {
        xt_errf(err, errlen, "tcb_info: bad TDX module identity id");
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
    xt_errf(err, errlen, "tcb_info: tcbLevels missing, empty or too long");
    goto out;
  }
  c->levels = calloc(json_array_size(levels), sizeof *c->levels);
  if (!c->levels) {
    xt_errf(err, errlen, "out of memory");
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
    xt_errf(err, errlen, "qe_identity is not a JSON object");
    goto out;
  }
  json_t *id = json_object_get(root, "id");
  if (!json_is_string(id) || strcmp(json_string_value(id), "TD_QE") != 0) {
    xt_errf(err, errlen, "qe_identity: id is not \"TD_QE\"");
    goto out;
  }
  if (uint_field(root, "version", 100, &version, err, errlen)) goto out;
  if (version != 2) {
    xt_errf(err, errlen, "qe_identity: version %lld (want 2)", version);
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
    xt_errf(err, errlen, "collateral: missing or oversized \"%s\"", key);
    return NULL;
  }
  size_t n = json_string_length(v) / 2;
  uint8_t *der = malloc(n + 1);
  if (!der) {
    xt_errf(err, errlen, "out of memory");
    return NULL;
  }
  size_t got = 0;
  X509_CRL *crl = NULL;
  if (xt_hex_decode(json_string_value(v), json_string_length(v), XT_HEX_0X, der, n, &got) ==
          XT_OK &&
      got > 0) {
    const uint8_t *p = der;
    crl = d2i_X509_CRL(NULL, &p, (long)got);
    if (crl && p != der + got) {
      X509_CRL_free(crl);
      crl = NULL;
    }
  }
  free(der);
  if (!crl) xt_errf(err, errlen, "collateral: \"%s\" is not a hex DER CRL", key);
  return crl;
}

tdx_collateral *tdx_collateral_parse(const char *json, size_t len, char *err, size_t errlen) {
  json_error_t jerr;
  json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
  if (!json_is_object(root)) {
    xt_errf(err, errlen, "collateral is not a JSON object (%s)", root ? "" : jerr.text);
    json_decref(root);
    return NULL;
  }
  tdx_collateral *c = calloc(1, sizeof *c);
  if (!c) {
    xt_errf(err, errlen, "out of memory");
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

dstack_err tdx_collateral_window(const tdx_collateral *c, time_t *not_before, time_t *not_after) {
  time_t lo = c->tcb_issue > c->qe_issue ? c->tcb_issue : c->qe_issue;
  time_t hi = c->tcb_next < c->qe_next ? c->tcb_next : c->qe_next;
  X509_CRL *crls[2] = {c->root_ca_crl, c->pck_crl};
  for (int i = 0; i < 2; i++) {
    time_t last, next;
    if (asn1_to_time(X509_CRL_get0_lastUpdate(crls[i]), &last) ||
        asn1_to_time(X509_CRL_get0_nextUpdate(crls[i]), &next))
      return DSTACK_EMALFORMED;
    if (last > lo) lo = last;
    if (next < hi) hi = next;
  }
  *not_before = lo;
  *not_after = hi;
  return DSTACK_OK;
}
