/* codeid.h: code identity of a log from its TDX quotes (SPEC.md section 6.5), for
 * `tlog audit`, `tlog export` and `tlog verify-bundle`.
 *
 * Two kinds of attestation, both logd's JSON (logd/README.md, "Enclave mode"):
 *   boot:       behind a `boot` entry: SHA-256(quote) is the entry's quote_sha256, the
 *               quote's REPORTDATA the boot binding over the component name and its
 *               public keys named in the entry (logd: checkpoint_key's Ed25519 key then
 *               anchor_address; collector: signing_key), the event log replays to the
 *               quote's RTMRs and RTMR3's compose hash is the entry's compose_hash;
 *   checkpoint: behind an anchor: the note it carries hashes to the on-chain
 *               checkpointHash and the quote's REPORTDATA is the checkpoint binding over
 *               that note; the event log replays to the RTMRs.
 * Where they come from: a log URL serves them at v1/attestation?boot=I / ?size=N; a
 * directory (a `tlog export` bundle) holds attestation/boot-<I>.json and
 * attestation/checkpoint-<N>.json. */
#ifndef XT_CLIENT_CODEID_H
#define XT_CLIENT_CODEID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "client/fetch.h"
#include "dstack/quote.h"

#define CODEID_MAX_ATTESTATION ((size_t)1 << 20)

typedef struct codeid_opts {
  const tdx_collateral *collateral; /* NULL: a real quote cannot be fully verified */
  time_t now;
  bool allow_simulated; /* a simulated quote passes (flagged "simulated") */
  bool allow_dev;       /* a --dev boot entry / unattested dev anchor passes */
  bool lenient;         /* verify-bundle: judge bindings only; quote status is reported,
                           failing only when the quote is invalid */
} codeid_opts;

/* The fields of a `boot` entry that name its code and keys. */
typedef struct codeid_boot {
  uint64_t index;
  char submitter[64], component[64], version[64], compose_hash[80], instance_id[80];
  char quote_sha256[80], anchor_address[64], signing_key[80];
  char checkpoint_key[400];
} codeid_boot;

/* Parses the len bytes of entry `index`. Returns 0 and fills *b when it is a JSON
 * object whose event has type "boot" (absent or non-string fields are "", longer ones
 * cut to their field's size: they are then simply not the key or hash the checks
 * want), or -1 otherwise (*b zeroed). */
int codeid_boot_parse(const uint8_t *data, size_t len, uint64_t index, codeid_boot *b)
    __attribute__((warn_unused_result));
/* Returns whether b is a --dev logd's boot entry: compose_hash "dev" and no quote. */
bool codeid_boot_is_dev(const codeid_boot *b);
/* Returns whether canonical entry bytes might be a boot entry (a cheap pre-filter:
 * false means certainly not). */
bool codeid_maybe_boot(const uint8_t *data, size_t len);

/* The verdict on one attestation. */
typedef enum codeid_status {
  CODEID_UNEXAMINED = 0, /* not looked at (a zeroed result) */
  CODEID_VERIFIED,       /* bindings hold and the quote verifies to Intel's root */
  CODEID_SIMULATED,      /* bindings hold; the quote's signature does not verify */
  CODEID_DEV,            /* a --dev logd: no quote exists to check */
  CODEID_NOT_CHECKED,    /* the quote could not be judged (no collateral, or not served) */
  CODEID_FAILED          /* see failed and message */
} codeid_status;

/* Returns the report text of s ("verified", "simulated", "not attested (dev mode)",
 * "not checked", "FAILED"; "not examined" for CODEID_UNEXAMINED); never NULL. */
const char *codeid_status_str(codeid_status s);

typedef struct codeid_result {
  codeid_status status;
  bool failed;
  char quote_status[40]; /* the quote's verdict ("UpToDate", "simulated", ...) or "" */
  char compose_hash[129];
  char app_id[129];
  char message[600]; /* why it failed, or what was not checked */
  /* The platform the quote names, for codeid_check_platform: set (have_platform) when
   * the quote parsed and its event log replayed. */
  bool have_platform;
  uint8_t mrtd[48], rtmr[3][48]; /* MRTD, RTMR0-2: the OS image as measured */
  char os_image_hash[129];       /* RTMR3's os-image-hash event, hex, or "" */
  char key_provider_name[64], key_provider_id[512];
  int mr_config_version; /* dstack_mr_config: 0 none, 1 compose hash, 2-3 other, -1 unreadable */
  char mr_config_hash[65];
  char advisories[200]; /* a verified quote's advisory ids, comma-separated, or "" */
} codeid_result;

/* Writes into out (cap bytes; 96 always suffice) the path of boot entry n's (boot) or
 * anchored size n's attestation: the served query for http, else the bundle's file. */
void codeid_path(bool http, bool boot, uint64_t n, char *out, size_t cap);
/* Reads that attestation (at most CODEID_MAX_ATTESTATION bytes) into *data (the caller
 * frees it), as log_source_get. Over HTTP, a query answered 404 is tried again at the
 * bundle's path: logd's object-storage mirror keeps the quotes there. */
fetch_status codeid_fetch(log_source *src, bool boot, uint64_t n, uint8_t **data, size_t *len, char *err,
                          size_t errcap) __attribute__((warn_unused_result));

/* Judges the attestation att (att_len bytes of JSON: quote, event_log) behind boot
 * entry b under o, into *r (overwritten): CODEID_VERIFIED, _SIMULATED, _NOT_CHECKED
 * (no collateral and o->lenient) or CODEID_FAILED with r->failed and r->message. */
void codeid_check_boot(const codeid_boot *b, const uint8_t *att, size_t att_len, const codeid_opts *o,
                       codeid_result *r);
/* The same for the attestation behind the anchor of size `size` whose on-chain
 * checkpointHash is checkpoint_hash: the note it carries must hash to it. */
void codeid_check_checkpoint(uint64_t size, const uint8_t checkpoint_hash[32], const uint8_t *att,
                             size_t att_len, const codeid_opts *o, codeid_result *r);

/* The platform policy on one judged quote r (an attestation codeid_check_boot or
 * codeid_check_checkpoint examined and did not fail): its MRTD and RTMR0-2 and
 * os-image-hash are one entry of p's platform.os_images, its key provider is "kms" with
 * p's kms_id, its app id is app (20 bytes), MRCONFIGID (when set) names r's compose hash,
 * and a verified quote's TCB status and advisories are allowed by p (a simulated quote
 * was judged by --allow-simulated already). Returns true, or false with the first
 * reason in why (cap bytes). */
struct audit_policy;
bool codeid_check_platform(const codeid_result *r, const struct audit_policy *p, const uint8_t app[20],
                           char *why, size_t cap);

#endif
