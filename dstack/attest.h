/* attest.h: this project's attestation bindings (SPEC.md section 6.5) and the one check
 * every verifier of them runs.
 *
 * Keys from dstack's GetKey do not name the code version, so code identity comes from
 * quotes whose REPORTDATA binds what was signed:
 *   boot entry:  SHA-256("xordi-tlog-boot-v1" || component name || its public keys)
 *                (for logd: the checkpoint public key then the anchor address)
 *   checkpoint:  SHA-256("xordi-tlog-checkpoint-v1" || signed checkpoint bytes)
 * The 32-byte hash goes into REPORTDATA raw, zero-padded to 64 bytes. */
#ifndef XT_DSTACK_ATTEST_H
#define XT_DSTACK_ATTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "dstack/eventlog.h"
#include "dstack/quote.h"

#define DSTACK_BOOT_DOMAIN "xordi-tlog-boot-v1"
#define DSTACK_CHECKPOINT_DOMAIN "xordi-tlog-checkpoint-v1"

/* out[0..32) = SHA-256(domain || component || keys), out[32..64) = 0. */
void dstack_boot_report_data(const char *component, const uint8_t *keys, size_t keys_len,
                             uint8_t out[64]);
void dstack_checkpoint_report_data(const uint8_t *signed_checkpoint, size_t len,
                                   uint8_t out[64]);

typedef struct dstack_attestation {
  tdx_verdict verdict;     /* the quote's own verdict */
  bool report_data_ok;     /* REPORTDATA equals the expected binding */
  bool event_log_ok;       /* the log replays to RTMR0-3 (false if no log given) */
  dstack_app_identity app; /* from RTMR3 when event_log_ok */
  bool accepted;           /* all of the above, and the quote verified (or simulated and
                              simulation allowed) */
  char message[384];       /* first reason for rejection, or "" */
} dstack_attestation;

/* Verifies a quote (raw bytes), its event log (JSON text, may be NULL) and its binding
 * to expect_report_data, with collateral c (may be NULL: then only a simulated quote
 * with allow_simulated can be accepted). A non-empty want_compose_hash (hex) must match
 * the compose hash in RTMR3. Returns DSTACK_OK if accepted, DSTACK_EREJECTED otherwise
 * (out->message says why; out is filled as far as the checks got). */
dstack_err dstack_check_attestation(const uint8_t *quote, size_t quote_len, const char *event_log,
                                    size_t event_log_len, const tdx_collateral *c, time_t now,
                                    const uint8_t expect_report_data[64],
                                    const char *want_compose_hash, bool allow_simulated,
                                    dstack_attestation *out);

#endif
