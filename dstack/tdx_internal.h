/* tdx_internal.h: PRIVATE to dstack/ (included only by the .c files of dstack/).
 * What the parts of TDX quote verification share: the parsed collateral
 * (collateral.c), the PCK chain and signature helpers (pck_chain.c), Intel's TCB
 * evaluation rules (tcb_eval.c), all used by tdx_quote_verify (quote_verify.c);
 * quote_parse.c reads quotes. The public interface is dstack/quote.h. Every helper
 * with (err, errlen) fills it on failure. */
#ifndef XT_DSTACK_TDX_INTERNAL_H
#define XT_DSTACK_TDX_INTERNAL_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "dstack/quote.h"

#define MAX_TCB_LEVELS 128
#define MAX_MODULE_IDS 16
#define MAX_CHAIN_CERTS 8

static inline uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ---- collateral (collateral.c) ---- */

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

/* Intel's name of a status ("UpToDate", ...); never NULL. */
const char *tdx_tcb_status_name(tcb_status s);

/* ---- PCK chain and signatures (pck_chain.c) ---- */

typedef struct pck_tcb {
  uint8_t sgx[16];
  uint16_t pcesvn;
  uint8_t cpusvn[16];
  uint8_t fmspc[6];
  uint8_t pce_id[2];
} pck_tcb;

/* The role a chain must have (its shape is checked besides its signatures). */
typedef enum chain_kind { CHAIN_PCK, CHAIN_TCB_SIGNING } chain_kind;

/* The P-256 public key x || y as an EVP_PKEY the caller frees, or NULL. */
EVP_PKEY *tdx_p256_key_from_raw(const uint8_t xy[64]);
/* Verifies a raw r || s P-256 ECDSA signature over SHA-256(msg). Returns 1 if valid. */
int tdx_verify_p256_raw(EVP_PKEY *key, const uint8_t *msg, size_t len, const uint8_t sig[64]);
/* The PEM certificates in pem[0..len) (at most MAX_CHAIN_CERTS) as a stack the caller
 * frees with sk_X509_pop_free, or NULL when there are none or too many. */
STACK_OF(X509) *tdx_load_pem_chain(const char *pem, size_t len);
/* Verifies leaf up to the embedded Intel root at time now, with the certificates of
 * chain as untrusted intermediates and, if c is given, both its CRLs for every
 * certificate; the verified chain must have kind's shape. Returns 1 if so, else 0. */
int tdx_verify_to_root(X509 *leaf, STACK_OF(X509) *chain, chain_kind kind,
                       const tdx_collateral *c, time_t now, char *err, size_t errlen);
/* Reads the PCK certificate's SGX extension (TCB components, PCESVN, CPUSVN, PCE-ID,
 * FMSPC) into *t. Returns 0, or -1 when it is missing, incomplete or malformed. */
int tdx_parse_pck_extension(X509 *leaf, pck_tcb *t, char *err, size_t errlen);

/* ---- TCB evaluation (tcb_eval.c) ---- */

typedef struct qe_report_fields {
  uint32_t miscselect;
  uint8_t attributes[16];
  uint8_t mrsigner[32];
  uint16_t isvprodid;
  uint16_t isvsvn;
  uint8_t report_data[64];
} qe_report_fields;

/* A QE or module TCB of OutOfDate turns a platform status into OutOfDate or
 * OutOfDateConfigurationNeeded; Revoked wins everything. */
tcb_status tdx_converge(tcb_status platform, tcb_status other);
/* The fields of a QE report that QE identity judges. */
void tdx_read_qe_report(const uint8_t r[TDX_QE_REPORT_LEN], qe_report_fields *f);
/* Checks the QE report against QE identity; *qe_status from its TCB levels. Returns 0
 * or -1. */
int tdx_check_qe_identity(const tdx_collateral *c, const qe_report_fields *f,
                          tcb_status *qe_status, char *err, size_t errlen);
/* Checks the TDX module (MRSIGNERSEAM, SEAM attributes, module TCB); *status from its
 * levels. Returns 0 or -1. */
int tdx_check_tdx_module(const tdx_collateral *c, const tdx_quote *q, tcb_status *status,
                         char *err, size_t errlen);
/* The platform TCB level the PCK certificate and TEE TCB SVN meet (into c's storage),
 * with *sgx_level the first level the SGX side alone meets; NULL when none. */
const platform_level *tdx_match_platform_level(const tdx_collateral *c, const pck_tcb *t,
                                               const uint8_t tee_tcb_svn[16],
                                               const platform_level **sgx_level, char *err,
                                               size_t errlen);
/* TD 1.5 relaunch advice: may turn *st into TDRelaunchAdvised[ConfigurationNeeded].
 * Returns 0 or -1. */
int tdx_check_relaunch(const tdx_collateral *c, const uint8_t svn2[16], tcb_status sgx,
                       tcb_status module, tcb_status qe, tcb_status *st, char *err,
                       size_t errlen);

#endif
