/* err.h: the dstack module's error codes, shared by every public function of the
 * folder (quote parsing, event logs, the guest-agent client, attestation checks).
 * 0 is success; each function's contract says which codes it returns, and its
 * (err, errcap) buffer says why in words. */
#ifndef XT_DSTACK_ERR_H
#define XT_DSTACK_ERR_H

typedef enum dstack_err {
  DSTACK_OK = 0,
  DSTACK_EMALFORMED, /* not what dstack or Intel writes: bad JSON, field, type, hex, length */
  DSTACK_EDIGEST,    /* a runtime event's digest or preimage disagrees with its content */
  DSTACK_EMISMATCH,  /* the replayed RTMRs are not the quote's */
  DSTACK_EIDENTITY,  /* a boot identity event repeats or cannot be read */
  DSTACK_ENOMEM,
  DSTACK_ECRYPTO,   /* OpenSSL failed */
  DSTACK_EARG,      /* the caller's argument is out of range (e.g. report data > 64 bytes) */
  DSTACK_EAGENT,    /* the guest agent could not be reached, or answered an error */
  DSTACK_EREJECTED  /* an attestation was checked and is not accepted */
} dstack_err;

/* Returns a static English name for e; never NULL. */
const char *dstack_err_str(dstack_err e);

#endif
