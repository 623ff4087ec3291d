#include "logd/ext.h"

#include <stdlib.h>
#include <string.h>

#include "logd/anchoring.h"
#include "logd/enclave.h"

static char *ext_anchor_json(void *ctx) {
  logd_ext *x = ctx;
  return x->anchor ? anchoring_state_json(x->anchor) : strdup("null");
}

static char *ext_metrics(void *ctx) {
  logd_ext *x = ctx;
  return x->anchor ? anchoring_metrics(x->anchor) : strdup("");
}

static unsigned ext_attestation(void *ctx, const char *size, const char *boot, char **body,
                                size_t *len) {
  logd_ext *x = ctx;
  return enclave_attestation_json(x->enclave, size, boot, body, len);
}

static int ext_write_refused(void *ctx, char *msg, size_t msgcap) {
  logd_ext *x = ctx;
  return x->anchor ? anchoring_write_refused(x->anchor, msg, msgcap) : 0;
}

void logd_ext_http(logd_ext *x, http_ext *out) {
  memset(out, 0, sizeof *out);
  out->ctx = x;
  out->anchor_json = ext_anchor_json;
  out->metrics = ext_metrics;
  out->write_refused = ext_write_refused;
  /* Without an enclave, http.c answers 404 ("--dev mode") itself. */
  if (x->enclave && enclave_has_quotes(x->enclave)) out->attestation = ext_attestation;
}
