/* eventlog.h: dstack event logs: parsing, RTMR replay, and the app identity measured
 * into RTMR3.
 *
 * An event log is the JSON array dstack returns with a quote (GetQuote's "event_log",
 * Info's tcb_info.event_log): objects {imr, event_type, digest (hex, 48 bytes), event
 * (name), event_payload (hex)}. Replay starts every RTMR at 48 zero bytes and extends it
 * with RTMR = SHA-384(RTMR || digest). For dstack's own runtime events (event_type
 * 0x08000001, all in RTMR3) the digest is not trusted: it must equal
 * SHA-384(u32le(0x08000001) || ":" || event || ":" || payload), so the names and
 * payloads read from the log are exactly what was measured. */
#ifndef XT_DSTACK_EVENTLOG_H
#define XT_DSTACK_EVENTLOG_H

#include <stddef.h>
#include <stdint.h>

#include "dstack/quote.h"

#define DSTACK_RUNTIME_EVENT_TYPE 0x08000001u
#define DSTACK_EVENT_LOG_MAX_EVENTS 4096

typedef struct dstack_event {
  uint32_t imr; /* 0..3 */
  uint32_t event_type;
  uint8_t digest[48];
  char *event; /* name, NUL-terminated ("" for firmware events) */
  uint8_t *payload;
  size_t payload_len;
} dstack_event;

typedef struct dstack_event_log {
  dstack_event *events;
  size_t n;
} dstack_event_log;

/* What RTMR3 says about the app (lowercase hex; "" when the event is absent). Only the
 * events dstack measures at boot count: those before the first "system-ready" event
 * (anything later may come from the app itself), and each name at most once there. */
typedef struct dstack_app_identity {
  char app_id[129];
  char compose_hash[129];
  char instance_id[129];
  char key_provider[1024]; /* the payload as text (a JSON object in dstack 0.5) */
} dstack_app_identity;

/* Parses the JSON array text (also accepts a JSON string holding the array, as in
 * GetQuote responses). Returns 0, or -1 with err set. */
int dstack_event_log_parse(dstack_event_log *log, const char *json, size_t len, char *err,
                           size_t errlen);
void dstack_event_log_free(dstack_event_log *log);

/* The digest of a runtime event. */
void dstack_runtime_event_digest(const char *name, const uint8_t *payload, size_t payload_len,
                                 uint8_t out[48]);

/* Replays the log into rtmr[0..3], checking every runtime event's digest. */
int dstack_event_log_replay(const dstack_event_log *log, uint8_t rtmr[4][48], char *err,
                            size_t errlen);

/* Replays and compares all four RTMRs with the quote's. Returns 0 if they match. */
int dstack_event_log_check_quote(const dstack_event_log *log, const tdx_quote *q, char *err,
                                 size_t errlen);

/* Extracts the app identity (see dstack_app_identity). Returns 0, or -1 with err set when
 * a boot event repeats. Call after a successful replay check. */
int dstack_event_log_identity(const dstack_event_log *log, dstack_app_identity *id, char *err,
                              size_t errlen);

#endif
