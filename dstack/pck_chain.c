/* pck_chain.c: certificate chains to the compiled-in Intel SGX Root CA (PCK chains in
 * quotes, TCB Signing chains of collateral), raw P-256 ECDSA signatures, and the PCK
 * certificate's SGX extension (the platform's TCB, FMSPC and PCE-ID). */
#include "dstack/quote.h"

#include <openssl/bio.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "dstack/tdx_internal.h"

#include "dstack/intel_root_ca.inc"

const uint8_t *tdx_intel_root_ca_der(size_t *len) {
  *len = sizeof intel_sgx_root_ca_der;
  return intel_sgx_root_ca_der;
}

/* SubjectPublicKeyInfo prefix of an uncompressed P-256 key: lets d2i_PUBKEY build the
 * key from the quote's raw x || y without deprecated EC_KEY calls. */
static const uint8_t p256_spki_prefix[] = {0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48,
                                           0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
                                           0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04};

EVP_PKEY *tdx_p256_key_from_raw(const uint8_t xy[64]) {
  uint8_t spki[sizeof p256_spki_prefix + 64];
  memcpy(spki, p256_spki_prefix, sizeof p256_spki_prefix);
  memcpy(spki + sizeof p256_spki_prefix, xy, 64);
  const uint8_t *p = spki;
  return d2i_PUBKEY(NULL, &p, (long)sizeof spki);
}

int tdx_verify_p256_raw(EVP_PKEY *key, const uint8_t *msg, size_t len, const uint8_t sig[64]) {
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

STACK_OF(X509) *tdx_load_pem_chain(const char *pem, size_t len) {
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

int tdx_verify_to_root(X509 *leaf, STACK_OF(X509) *chain, chain_kind kind,
                          const tdx_collateral *c, time_t now, char *err, size_t errlen) {
  int ok = 0;
  X509 *root = embedded_root();
  X509_STORE *store = X509_STORE_new();
  X509_STORE_CTX *ctx = X509_STORE_CTX_new();
  if (!root || !store || !ctx || !X509_STORE_add_cert(store, root)) {
    xt_errf(err, errlen, "out of memory setting up the certificate store");
    goto out;
  }
  unsigned long flags = X509_V_FLAG_X509_STRICT;
  if (c) {
    if (!X509_STORE_add_crl(store, c->root_ca_crl) || !X509_STORE_add_crl(store, c->pck_crl)) {
      xt_errf(err, errlen, "cannot load CRLs");
      goto out;
    }
    flags |= X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL;
  }
  if (!X509_STORE_CTX_init(ctx, store, leaf, chain)) {
    xt_errf(err, errlen, "cannot start certificate verification");
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
    xt_errf(err, errlen, "%s (certificate \"%s\")", X509_verify_cert_error_string(e), subject);
    goto out;
  }
  if (!chain_has_shape(X509_STORE_CTX_get0_chain(ctx), kind)) {
    xt_errf(err, errlen, "chain verifies to the Intel root but is not a %s chain",
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

int tdx_parse_pck_extension(X509 *leaf, pck_tcb *t, char *err, size_t errlen) {
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
    xt_errf(err, errlen, "PCK certificate has no SGX extension");
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
    xt_errf(err, errlen, "PCK certificate SGX extension lacks TCB, PCE-ID or FMSPC");
    return -1;
  }
  return 0;
bad:
  xt_errf(err, errlen, "PCK certificate SGX extension is malformed");
  return -1;
}
