/* api.h: the collector's Archive-facing HTTP API and its write-ahead logging.
 * Private to collector/ (and its tests): the collector is a program, not a library.
 *
 *   POST   /v1/credentials            {"username","cookie"}
 *   POST   /v1/collect                {"username","cursor"?,"count"?}
 *   DELETE /v1/credentials/<username>
 *   GET    /v1/user-count
 *   GET    /healthz                   (no token)
 *
 * All but /healthz need "Authorization: Bearer <archive token>". Every state change and
 * every outgoing call is appended to logd first; when logd does not confirm in time,
 * nothing happens and the answer is 503. */
#ifndef XT_COLLECTOR_API_H
#define XT_COLLECTOR_API_H

#include <stddef.h>
#include <stdint.h>

#include "collector/keys.h"
#include "collector/logclient.h"
#include "collector/vault.h"

/* Enclave mode: a TDX quote whose REPORTDATA is report_data, as lower-case hex, the
 * event log that goes with it and, when vm_config is not NULL, GetQuote's vm_config
 * ("" when none; all malloc'd). */
typedef int (*collector_quote_fn)(void *cls, const uint8_t report_data[64], char **quote_hex,
                                  char **event_log, char **vm_config, char *err, size_t errcap);

/* What the boot entry says, kept to be served at GET /v1/attestation. */
typedef struct {
  int64_t index;
  char *quote_hex; /* NULL in dev mode */
  char *event_log;
  char *vm_config; /* NULL in dev mode */
} collector_boot;

typedef struct {
  const char *listen; /* 127.0.0.1:PORT (port 0 picks one) */
  uint8_t archive_token_sha256[32]; /* Archive's bearer token is compared by digest */
  logclient *log;
  vault *vault;
  const collector_keys *keys;
  collector_quote_fn quote; /* NULL in dev mode */
  void *quote_cls;
  const char *compose_hash; /* "dev" in dev mode */
  const char *instance_id;
} collector_config;

typedef struct collector_api collector_api;

/* Logs the boot entry (with a quote in enclave mode, sent with the entry to logd's
 * POST /v1/boot so that logd keeps it beside its own); the API refuses to start without
 * it. Returns the entry's index, -1 (logd unreachable, or local failure) or -2 (logd
 * refused it, e.g. a wrong token: retrying will not help). */
int64_t collector_log_boot(const collector_config *cfg, collector_boot *boot, char *err,
                           size_t errcap);
/* Takes ownership of boot's strings. */
collector_api *api_start(const collector_config *cfg, collector_boot *boot, char *err,
                         size_t errcap);
unsigned api_port(const collector_api *api);
void api_stop(collector_api *api);

/* The user-count statement's signature is over its exact bytes; the quote's report data
 * in enclave mode is SHA-256(COLLECTOR_USER_COUNT_DOMAIN || statement), zero-padded.
 * The boot quote's is dstack_boot_report_data("collector", Ed25519 public key). */
#define COLLECTOR_USER_COUNT_DOMAIN "xordi-tlog-user-count-v1"

#endif
