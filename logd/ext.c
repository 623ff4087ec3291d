#include "logd/ext.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logd/anchoring.h"
#include "logd/collateral.h"
#include "logd/enclave.h"
#include "logd/mirror.h"

static char *ext_anchor_json(void *ctx) {
  logd_ext *x = ctx;
  return x->anchor ? anchoring_state_json(x->anchor) : strdup("null");
}

static char *ext_metrics(void *ctx) {
  logd_ext *x = ctx;
  char *a = x->anchor ? anchoring_metrics(x->anchor) : strdup("");
  char *parts[2] = {x->collateral ? lcoll_metrics(x->collateral) : strdup(""),
                    x->mirror ? mirror_metrics(x->mirror) : strdup("")};
  for (int i = 0; i < 2; i++) {
    char *both = NULL;
    if (a && parts[i] && asprintf(&both, "%s%s", a, parts[i]) < 0) both = NULL;
    free(a);
    free(parts[i]);
    a = both;
  }
  return a;
}

static unsigned ext_collateral(void *ctx, const char *name, char **body, size_t *len) {
  logd_ext *x = ctx;
  return lcoll_http(x->collateral, name, body, len);
}

static unsigned ext_attestation(void *ctx, const char *size, const char *boot, char **body,
                                size_t *len) {
  logd_ext *x = ctx;
  return enclave_attestation_json(x->enclave, size, boot, body, len);
}

static int ext_write_refused(void *ctx, char *msg, size_t msgcap) {
  logd_ext *x = ctx;
  if (x->anchor && anchoring_write_refused(x->anchor, msg, msgcap)) return 1;
  return x->mirror ? mirror_write_refused(x->mirror, msg, msgcap) : 0;
}

static int ext_boot_parse(const char *body, size_t len, char **event_text, void **evidence, char *err,
                          size_t errcap) {
  boot_evidence *b = NULL;
  enclave_err rc = enclave_boot_evidence_parse(body, len, event_text, &b, err, errcap);
  *evidence = b;
  return rc == ENCLAVE_OK ? 0 : rc == ENCLAVE_ENOMEM ? 503 : 400;
}

static int ext_boot_keep(void *ctx, void *evidence, uint64_t index, const char *submitter, char *err,
                         size_t errcap) {
  logd_ext *x = ctx;
  return enclave_boot_evidence_keep(x->enclave, evidence, index, submitter, err, errcap) != ENCLAVE_OK;
}

static void ext_boot_free(void *evidence) { enclave_boot_evidence_free(evidence); }

void logd_ext_http(logd_ext *x, http_ext *out) {
  memset(out, 0, sizeof *out);
  out->ctx = x;
  out->anchor_json = ext_anchor_json;
  out->metrics = ext_metrics;
  out->write_refused = ext_write_refused;
  out->collateral = ext_collateral;
  /* Without an enclave, http.c answers 404 ("--dev mode") itself; in --dev mode the
   * enclave still keeps and serves its submitters' boot quotes. */
  if (x->enclave) {
    out->attestation = ext_attestation;
    out->boot_parse = ext_boot_parse;
    out->boot_keep = ext_boot_keep;
    out->boot_free = ext_boot_free;
  }
}
