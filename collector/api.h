/* api.h: the collector's Archive-facing HTTP API and its write-ahead logging.
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

/* Enclave mode: obtains a quote for 32 bytes of report data (hex quote, malloc'd). */
typedef int (*collector_quote_fn)(void *cls, const uint8_t report_data[32], char **quote_hex,
                                  char *err, size_t errcap);

typedef struct {
  const char *listen; /* 127.0.0.1:PORT (port 0 picks one) */
  const char *archive_token;
  logclient *log;
  vault *vault;
  const collector_keys *keys;
  collector_quote_fn quote; /* NULL in dev mode */
  void *quote_cls;
  const char *compose_hash; /* "dev" in dev mode */
  const char *instance_id;
} collector_config;

typedef struct collector_api collector_api;

/* Logs the boot entry (with a quote in enclave mode); the API refuses to start without
 * it. Returns the entry's index, -1 (logd unreachable, or local failure) or -2 (logd
 * refused it, e.g. a wrong token: retrying will not help). */
int64_t collector_log_boot(const collector_config *cfg, char *err, size_t errcap);
collector_api *api_start(const collector_config *cfg, int64_t boot_index, char *err,
                         size_t errcap);
unsigned api_port(const collector_api *api);
void api_stop(collector_api *api);

/* The user-count statement's signature is over its exact bytes; the quote's report data
 * in enclave mode is SHA-256(COLLECTOR_USER_COUNT_DOMAIN || statement). */
#define COLLECTOR_USER_COUNT_DOMAIN "xordi-tlog-user-count-v1"
#define COLLECTOR_BOOT_DOMAIN "xordi-tlog-boot-v1"

#endif
