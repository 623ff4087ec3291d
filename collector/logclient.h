/* logclient.h: appending the collector's events to logd, with a deadline.
 * Private to collector/ (and its tests): the collector is a program, not a library.
 *
 * An append succeeds only when logd answered 200 with the entry's index, which logd
 * gives once the entry is durable. Anything else (no connection, a timeout, a refusal,
 * a malformed answer) is a failure, and callers treat failure as "do not proceed":
 * this is what makes the collector fail closed. */
#ifndef XT_COLLECTOR_LOGCLIENT_H
#define XT_COLLECTOR_LOGCLIENT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct logclient logclient;

/* base_url like "http://127.0.0.1:8080"; timeout_ms bounds connect + answer. */
logclient *logclient_new(const char *base_url, const char *token, long timeout_ms, char *err,
                         size_t errcap);
void logclient_free(logclient *lc);
/* POSTs the event (canonical JSON) to /v1/add. 0 with *index set; -1 (no answer in time,
 * or a malformed one) or -2 (logd answered with a refusal) with err set. */
int logclient_append(logclient *lc, json_t *event, int64_t *index, char *err, size_t errcap);
/* The boot entry in enclave mode: POSTs {"event","quote","event_log","vm_config"} to
 * /v1/boot, so logd checks the event's quote_sha256 against the quote and keeps the
 * quote (served at logd's /v1/attestation?boot=INDEX). vm_config may be NULL (sent as
 * ""). Returns as logclient_append. */
int logclient_append_boot(logclient *lc, json_t *event, const char *quote_hex, const char *event_log,
                          const char *vm_config, int64_t *index, char *err, size_t errcap);

#endif
