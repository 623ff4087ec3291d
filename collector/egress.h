/* egress.h: the collector's only outgoing request to the outside world.
 * Private to collector/ (and its tests): the collector is a program, not a library.
 *
 * One destination, fixed at compile time: GET https://www.tiktok.com/api/watch_history
 * with two query parameters (count, and an optional opaque cursor) and the user's
 * session cookie. No redirects are followed (a 3xx is an error), TLS is verified
 * against a fixed CA file, proxies from the environment are ignored, the response is
 * capped and the call has connect and total timeouts.
 *
 * The release build has no setting that changes scheme, host, port or path. Only the
 * test build (collector-test, compiled with COLLECTOR_TEST_BUILD) may point the same
 * request at http://127.0.0.1:PORT, for the mock API. */
#ifndef XT_COLLECTOR_EGRESS_H
#define XT_COLLECTOR_EGRESS_H

#include <stddef.h>
#include <stdint.h>

#define EGRESS_ENDPOINT_NAME "watch_history"
#define EGRESS_PATH "/api/watch_history"
#define EGRESS_MAX_BODY (1024 * 1024)

/* What became of a request. 0 is success; egress_err_str() names each value. */
typedef enum {
  EGRESS_OK = 0,
  EGRESS_EINVAL,    /* refused before sending: a bad cookie, cursor or count */
  EGRESS_ENOMEM,
  EGRESS_ETOOBIG,   /* the answer passed EGRESS_MAX_BODY */
  EGRESS_ETIMEOUT,  /* no complete answer within the timeouts */
  EGRESS_EFAILED,   /* the transfer failed (connection, TLS, ...) */
  EGRESS_EREDIRECT, /* a 3xx answer: never followed */
  EGRESS_EHTTP,     /* another status than 200 */
  EGRESS_EMALFORMED /* set by callers: a 200 answer that is not what they expect */
} egress_err;

/* A static name for e ("ok", "timed out", ...); never NULL. */
const char *egress_err_str(egress_err e);

typedef struct {
  egress_err code;    /* EGRESS_OK, or what went wrong (error has the details) */
  long status;        /* HTTP status, 0 if no answer */
  size_t bytes;       /* body bytes received (up to the cap) */
  uint8_t sha256[32]; /* of the received body */
  char *body;         /* NUL-terminated, malloc'd; NULL on error */
  char error[160];    /* empty on success */
} egress_result;

/* The destination as it will be logged: host (with port when not the default) and the
 * request target's path and query. cursor may be NULL. 0 or -1. */
int egress_describe(const char *cursor, int count, char *host, size_t hostcap, char *query,
                    size_t querycap);
/* Performs the request. Returns (and sets res->code to) EGRESS_OK when an HTTP 200
 * answer was received in full, with res->body (caller frees with egress_result_free);
 * otherwise the failure, with res->error saying why and res->status/bytes/sha256 still
 * describing what came. */
egress_err egress_fetch(const char *cookie, const char *cursor, int count, egress_result *res);
void egress_result_free(egress_result *res);
/* "release" or "test": logged in the boot entry. */
const char *egress_build_flavour(void);

#ifdef COLLECTOR_TEST_BUILD
/* Test build only: base must be exactly http://127.0.0.1:PORT. */
int egress_set_test_base(const char *base, char *err, size_t errcap);
#endif

#endif
