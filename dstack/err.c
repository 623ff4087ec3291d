/* err.c: names of the dstack module's error codes. */
#include "dstack/err.h"

const char *dstack_err_str(dstack_err e) {
  switch (e) {
    case DSTACK_OK: return "ok";
    case DSTACK_EMALFORMED: return "malformed input";
    case DSTACK_EDIGEST: return "digest does not match the event";
    case DSTACK_EMISMATCH: return "event log does not match the quote";
    case DSTACK_EIDENTITY: return "bad boot identity event";
    case DSTACK_ENOMEM: return "out of memory";
    case DSTACK_ECRYPTO: return "cryptographic library failure";
    case DSTACK_EARG: return "argument out of range";
    case DSTACK_EAGENT: return "guest agent unreachable or refused the call";
    case DSTACK_EREJECTED: return "attestation not accepted";
  }
  return "unknown error";
}
