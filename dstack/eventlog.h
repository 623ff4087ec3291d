/* eventlog.h: dstack event logs: parsing, RTMR replay, and the app identity measured
 * into RTMR3.
 *
 * An event log is the JSON array dstack returns with a quote (GetQuote's "event_log",
 * Info's tcb_info.event_log): objects {imr, event_type, digest (hex, 48 bytes), event
 * (name), event_payload (hex), and optionally version (1 or 2) and preimage (hex)}.
 * Replay starts every RTMR at 48 zero bytes and extends it with
 * RTMR = SHA-384(RTMR || digest).
 *
 * dstack's own runtime events (event_type 0x08000001, all in RTMR3) are never trusted
 * for their digest: it is computed from the name and payload, so the names and payloads
 * read from the log are exactly what was measured. Two digest forms exist (dstack's
 * cc-eventlog crate, EventLogVersion; chosen by `event_log_version` in app-compose.json
 * and written per event as "version"):
 *   version 1 (default): SHA-384(u32le(0x08000001) || ":" || name || ":" || payload)
 *   version 2: SHA-384 of the RFC 8785 (JCS) text
 *              {"name":<name>,"payload":"<lowercase hex>","type":134217729}
 * Since dstack 0.5.6 the agent sends runtime events with an EMPTY digest (the verifier
 * computes it); older releases send it, and then it must equal the computed one. A
 * "preimage" field, when present, must be exactly the bytes that form hashes. */
#ifndef XT_DSTACK_EVENTLOG_H
#define XT_DSTACK_EVENTLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dstack/err.h"
#include "dstack/quote.h"

#define DSTACK_RUNTIME_EVENT_TYPE 0x08000001u
#define DSTACK_EVENT_LOG_MAX_EVENTS 4096

/* How a runtime event's digest is formed (see the top of this file). */
typedef enum dstack_event_version { DSTACK_EVENT_V1 = 1, DSTACK_EVENT_V2 = 2 } dstack_event_version;

typedef struct dstack_event {
  uint32_t imr; /* 0..3 */
  uint32_t event_type;
  dstack_event_version version; /* V1 unless the event says "version":2 */
  bool digest_given;  /* the log carried a digest (false: computed from the content) */
  uint8_t digest[48]; /* as given, or as computed for a runtime event without one */
  char *event;        /* name, NUL-terminated ("" for firmware events) */
  uint8_t *payload;
  size_t payload_len;
} dstack_event;

typedef struct dstack_event_log {
  dstack_event *events;
  size_t n;
} dstack_event_log;

/* What RTMR3 says about the app (lowercase hex or text; "" when the event is absent).
 * Only the events dstack measures at boot count: those before the first "system-ready"
 * event (anything later may come from the app itself), and each name at most once
 * there. */
typedef struct dstack_app_identity {
  char app_id[129];
  char compose_hash[129];
  char instance_id[129];
  char os_image_hash[129];   /* "os-image-hash" (dstack >= 0.5.x with a KMS) */
  char gpu_policy_hash[129]; /* "gpu-policy-hash" (GPU deployments) */
  char key_provider[1024];   /* the "key-provider" payload as text (a JSON object) */
  char key_provider_name[64]; /* its "name" ("kms", "local-sgx", "none", ...), or "" */
  char key_provider_id[512];  /* its "id" (hex text as dstack writes it), or "" */
  char storage_fs[64];        /* "storage-fs" payload as text ("zfs", "ext4", ...) */
} dstack_app_identity;

/* Parses the JSON array text (also accepts a JSON string holding the array, as in
 * GetQuote responses) into *log, which the caller releases with dstack_event_log_free
 * (also after a failure: it is then empty). A runtime event without a digest gets the
 * computed one; a runtime event's preimage, when given, is checked here.
 * Returns DSTACK_OK; DSTACK_EMALFORMED, DSTACK_EDIGEST (preimage), DSTACK_ENOMEM,
 * DSTACK_ECRYPTO, with a sentence in err. */
dstack_err dstack_event_log_parse(dstack_event_log *log, const char *json, size_t len,
                                  char *err, size_t errcap) __attribute__((warn_unused_result));
void dstack_event_log_free(dstack_event_log *log);

/* The version-1 digest of a runtime event (kept for the simulator and tests). On an
 * OpenSSL failure out is all zeros, which no replay can match. */
void dstack_runtime_event_digest(const char *name, const uint8_t *payload, size_t payload_len,
                                 uint8_t out[48]);

/* The bytes a runtime event's digest hashes, for version v: a new malloc'd buffer in
 * *out (caller frees) of *out_len bytes. Returns DSTACK_OK, DSTACK_EMALFORMED (unknown
 * version) or DSTACK_ENOMEM; *out is untouched on failure. */
dstack_err dstack_runtime_event_preimage(dstack_event_version v, const char *name,
                                         const uint8_t *payload, size_t payload_len,
                                         uint8_t **out, size_t *out_len)
    __attribute__((warn_unused_result));

/* The digest of a runtime event for version v into out. Returns DSTACK_OK,
 * DSTACK_EMALFORMED, DSTACK_ENOMEM or DSTACK_ECRYPTO (out then all zeros). */
dstack_err dstack_runtime_event_digest_v(dstack_event_version v, const char *name,
                                         const uint8_t *payload, size_t payload_len,
                                         uint8_t out[48]) __attribute__((warn_unused_result));

/* Replays the log into rtmr[0..3] (out), checking that every runtime event's given
 * digest equals the one computed from its content. Returns DSTACK_OK, DSTACK_EDIGEST
 * (err names the event), DSTACK_ENOMEM or DSTACK_ECRYPTO. */
dstack_err dstack_event_log_replay(const dstack_event_log *log, uint8_t rtmr[4][48], char *err,
                                   size_t errcap) __attribute__((warn_unused_result));

/* Replays and compares all four RTMRs with the quote's. Returns DSTACK_OK if they
 * match, DSTACK_EMISMATCH (err names the register) or a replay error. */
dstack_err dstack_event_log_check_quote(const dstack_event_log *log, const tdx_quote *q,
                                        char *err, size_t errcap)
    __attribute__((warn_unused_result));

/* Extracts the app identity into *id (out; zeroed first). Call after a successful
 * replay check. Returns DSTACK_OK, or DSTACK_EIDENTITY with err set when a boot event
 * repeats or does not fit. */
dstack_err dstack_event_log_identity(const dstack_event_log *log, dstack_app_identity *id,
                                     char *err, size_t errcap)
    __attribute__((warn_unused_result));

/* MRCONFIGID as dstack fills it (dstack-types mr_config.rs): byte 0 is the form, then
 *   0 (all 48 bytes zero): none;
 *   1: the compose hash (bytes 1..33), the rest zero;
 *   2: Keccak-256(compose hash || app id || key provider kind || key provider id);
 *   3: SHA-256("dstack-mr-config-v3:" || 0x00 || JCS config document).
 * Forms 2 and 3 commit to data outside the quote, so only the 32-byte hash is shown. */
typedef struct dstack_mr_config {
  int version;      /* 0..3, or -1 when the bytes fit none of the forms */
  char hash[65];    /* bytes 1..33 in hex (the compose hash for version 1); "" for 0 / -1 */
} dstack_mr_config;

/* Decodes mrconfigid into *out. Returns nothing: every input has a reading. */
void dstack_mr_config_decode(const uint8_t mrconfigid[48], dstack_mr_config *out);

#endif
