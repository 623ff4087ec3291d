/* quote.h: Intel TDX quote (version 4) parsing and offline verification to the Intel
 * SGX Root CA.
 *
 * A quote binds a TD report (MRTD, RTMR0-3, REPORTDATA, ...) to Intel's root through:
 * the attestation key's ECDSA-P256 signature over bytes [0, 632); the Quoting Enclave's
 * report, signed by the platform's PCK certificate, whose report_data commits to that
 * attestation key; and the PCK certificate chain to the Intel SGX Root CA. Intel's
 * collateral (TCB info, QE identity, CRLs; see tdx_collateral_parse) then says whether
 * the platform is revoked or up to date. Verification needs no network: the root
 * certificate is compiled in and the caller supplies the time. Version 5 quotes (TD 1.5
 * report bodies) are read too; the TDX_OFF_* offsets below are version 4's.
 *
 * Parsed quotes point into the caller's buffer, which must outlive them. */
#ifndef XT_DSTACK_QUOTE_H
#define XT_DSTACK_QUOTE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "dstack/err.h"

#define TDX_QUOTE_HEADER_LEN 48
#define TDX_QUOTE_SIGNED_LEN 632 /* header + TD report body: what the AK signs */
#define TDX_QUOTE_MIN_LEN 636    /* signed part + u32 signature-data length */
#define TDX_OFF_TEE_TCB_SVN 48
#define TDX_OFF_MRSEAM 64
#define TDX_OFF_MRSIGNERSEAM 112
#define TDX_OFF_SEAM_ATTRIBUTES 160
#define TDX_OFF_TD_ATTRIBUTES 168
#define TDX_OFF_XFAM 176
#define TDX_OFF_MRTD 184
#define TDX_OFF_MRCONFIGID 232
#define TDX_OFF_MROWNER 280
#define TDX_OFF_MROWNERCONFIG 328
#define TDX_OFF_RTMR0 376 /* RTMR i at 376 + 48*i */
#define TDX_OFF_REPORT_DATA 568
#define TDX_OFF_SIG_DATA_LEN 632
#define TDX_QE_REPORT_LEN 384
#define TDX_TD10_BODY_LEN 584
#define TDX_TD15_BODY_LEN 648

typedef struct tdx_quote {
  uint16_t version;
  uint16_t att_key_type;
  uint32_t tee_type;
  uint8_t qe_vendor_id[16];
  uint16_t body_type; /* 2: TD 1.0 report; 3: TD 1.5 (version 5 only) */
  size_t signed_len;  /* bytes [0, signed_len) are signed by the attestation key: 632 in v4 */
  /* TD report body */
  uint8_t tee_tcb_svn[16];
  uint8_t mrseam[48];
  uint8_t mrsignerseam[48];
  uint8_t seam_attributes[8];
  uint8_t td_attributes[8];
  uint8_t xfam[8];
  uint8_t mrtd[48];
  uint8_t mrconfigid[48];
  uint8_t mrowner[48];
  uint8_t mrownerconfig[48];
  uint8_t rtmr[4][48];
  uint8_t report_data[64];
  uint8_t tee_tcb_svn2[16]; /* TD 1.5 only */
  uint8_t mrservicetd[48];  /* TD 1.5 only */
  /* ECDSA signature data */
  uint8_t signature[64];       /* r || s over bytes [0, 632) */
  uint8_t attestation_key[64]; /* x || y, P-256 */
  uint8_t qe_report[TDX_QE_REPORT_LEN];
  uint8_t qe_report_signature[64];
  const uint8_t *qe_auth_data; /* into the caller's buffer */
  size_t qe_auth_data_len;
  const char *pck_chain_pem; /* into the caller's buffer, not NUL-terminated */
  size_t pck_chain_pem_len;
  const uint8_t *raw; /* the whole quote: raw[0..raw_len) */
  size_t raw_len;
} tdx_quote;

/* Parses a version-4 TDX quote (or version 5 with a TD 1.0 or 1.5 body) with an ECDSA-P256 attestation key and a type-6 (QE
 * report) certification data holding a type-5 PCK chain. Trailing bytes after the
 * signature data are ignored. Returns DSTACK_OK, or DSTACK_EMALFORMED with a message in err.
 * *q points into buf (see the pointer members), so buf must outlive q. */
dstack_err tdx_quote_parse(tdx_quote *q, const uint8_t *buf, size_t len, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Decodes a quote file: raw binary, or hex text (whitespace and a 0x prefix allowed).
 * Returns a malloc'd buffer of *out_len bytes, or NULL with err set. */
uint8_t *tdx_quote_decode_file_bytes(const uint8_t *data, size_t len, size_t *out_len, char *err,
                                     size_t errlen);

/* DCAP collateral for one platform, parsed from the JSON object form of the testdata
 * (pck_crl_issuer_chain, root_ca_crl, pck_crl, tcb_info_issuer_chain, tcb_info,
 * tcb_info_signature, qe_identity_issuer_chain, qe_identity, qe_identity_signature). */
typedef struct tdx_collateral tdx_collateral;

tdx_collateral *tdx_collateral_parse(const char *json, size_t len, char *err, size_t errlen);
void tdx_collateral_free(tdx_collateral *c);
/* Latest issue date and earliest next-update date over TCB info, QE identity and both
 * CRLs: the window in which the collateral can be used. Returns DSTACK_OK, or
 * DSTACK_EMALFORMED when a CRL's dates cannot be read (outputs then untouched). */
dstack_err tdx_collateral_window(const tdx_collateral *c, time_t *not_before, time_t *not_after);

typedef enum tdx_result {
  TDX_VERIFIED = 0,      /* chain to Intel root, collateral valid; see status */
  TDX_NO_COLLATERAL = 1, /* signatures and PCK chain fine, but TCB status unknown */
  TDX_SIMULATED = 2,     /* well-formed, attestation-key signature does not verify */
  TDX_INVALID = 3        /* anything else: bad chain, expired, revoked, debug TD, ... */
} tdx_result;

typedef struct tdx_verdict {
  tdx_result result;
  /* "UpToDate", "SWHardeningNeeded", "ConfigurationNeeded",
   * "ConfigurationAndSWHardeningNeeded", "OutOfDate", "OutOfDateConfigurationNeeded",
   * "TDRelaunchAdvised", "TDRelaunchAdvisedConfigurationNeeded" (TD 1.5),
   * "Revoked" (result TDX_INVALID), or "NoCollateral", "simulated", "invalid". */
  char status[40];
  char fmspc[13];   /* uppercase hex from the PCK certificate, "" if not reached */
  char message[320]; /* why it failed, or notes (e.g. advisories) when verified */
} tdx_verdict;

/* Verifies q at time now. c may be NULL: then the quote's own signatures and the PCK
 * chain (without revocation) are checked and the result is at best TDX_NO_COLLATERAL.
 * Returns the result (also in v->result). */
tdx_result tdx_quote_verify(const tdx_quote *q, const tdx_collateral *c, time_t now,
                            tdx_verdict *v);

/* The compiled-in Intel SGX Root CA certificate (DER). */
const uint8_t *tdx_intel_root_ca_der(size_t *len);

#endif
