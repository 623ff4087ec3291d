/* pccs.h: fetching Intel DCAP collateral for a TDX quote from a PCCS or Intel's PCS
 * (the "v4" API both serve), into the collateral JSON that tdx_collateral_parse and
 * `tlog verify-quote --collateral` read.
 *
 * The platform comes from the quote: its PCK certificate's SGX extension gives the
 * FMSPC, its issuer the CA ("platform" or "processor"). The requests, with BASE the URL
 * given (a trailing "/", "/sgx/certification/v4" or "/tdx/certification/v4" is cut):
 *   BASE/sgx/certification/v4/pckcrl?ca=CA&encoding=der   DER body, header
 *       SGX-PCK-CRL-Issuer-Chain
 *   BASE/tdx/certification/v4/tcb?fmspc=FMSPC             {"tcbInfo":{...},"signature":"hex"},
 *       header TCB-Info-Issuer-Chain (or SGX-TCB-Info-Issuer-Chain)
 *   BASE/tdx/certification/v4/qe/identity?update=standard {"enclaveIdentity":{...},"signature":"hex"},
 *       header SGX-Enclave-Identity-Issuer-Chain
 *   BASE/sgx/certification/v4/rootcacrl                   hex of the DER CRL (a PCCS); where
 *       it is not served (404, Intel's PCS) the CRL comes from the Intel root CA
 *       certificate's CRL distribution point.
 * Issuer-chain headers are percent-encoded PEM. The signed JSON (tcbInfo,
 * enclaveIdentity) is kept byte for byte: the body must be exactly
 * {"tcbInfo":<object>,"signature":"<hex>"} (resp. enclaveIdentity), as Intel serves it.
 * The result is checked with tdx_collateral_parse and must be for the quote's FMSPC.
 * Every answer is size-capped; TLS peers are verified. */
#ifndef XT_DSTACK_PCCS_H
#define XT_DSTACK_PCCS_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
  PCCS_OK = 0,
  PCCS_EQUOTE,  /* the quote or its PCK certificate is unusable */
  PCCS_EHTTP,   /* a request failed (no answer, not 200, too large) */
  PCCS_EFORMAT, /* an answer is malformed, or the collateral does not parse or fit */
  PCCS_ENOMEM
} pccs_err;

/* A fixed name for e; never NULL. */
const char *pccs_err_str(pccs_err e);

/* The platform of a raw quote: FMSPC (12 uppercase hex digits) and the PCK CA
 * ("platform" or "processor"). PCCS_OK or PCCS_EQUOTE with err. */
pccs_err pccs_quote_platform(const uint8_t *quote, size_t len, char fmspc[13], char ca[10], char *err,
                             size_t errcap) __attribute__((warn_unused_result));

/* Fetches the collateral for quote from base_url (see above) with timeout_ms per
 * request. PCCS_OK with *json (malloc'd, NUL-terminated, *json_len bytes; the caller
 * frees it): {"pck_crl_issuer_chain","root_ca_crl","pck_crl","tcb_info_issuer_chain",
 * "tcb_info","tcb_info_signature","qe_identity_issuer_chain","qe_identity",
 * "qe_identity_signature"} with CRLs and signatures in lowercase hex, chains PEM, and
 * tcb_info / qe_identity the exact signed JSON text. Else an error with err naming the
 * request. */
pccs_err pccs_fetch_collateral(const char *base_url, const uint8_t *quote, size_t len, long timeout_ms,
                               char **json, size_t *json_len, char *err, size_t errcap)
    __attribute__((warn_unused_result));

#endif
