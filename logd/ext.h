/* ext.h: the optional parts of logd (anchoring, attestation, collateral, mirror) as seen by the HTTP API.
 * Either part may be absent (NULL). */
#ifndef XT_LOGD_EXT_H
#define XT_LOGD_EXT_H

#include "logd/http.h"

struct logd_anchor;
struct logd_enclave;
struct logd_collateral;
struct logd_mirror;

typedef struct logd_ext {
  struct logd_anchor *anchor;
  struct logd_enclave *enclave;
  struct logd_collateral *collateral; /* --pccs */
  struct logd_mirror *mirror;         /* --mirror */
} logd_ext;

/* Fills out to serve /v1/log's "anchor", the anchoring metrics and /v1/attestation
 * from x (which must outlive the HTTP server). */
void logd_ext_http(logd_ext *x, http_ext *out);

#endif
