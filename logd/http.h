/* http.h: logd's HTTP API (libmicrohttpd). See SPEC.md for every route.
 *
 * POST /v1/boot takes a submitter's boot event with its quote (see logd/enclave.h).
 *
 * Contract: reads are answered from the published view and the store; writes are
 * authenticated (bearer token, constant-time comparison of SHA-256 digests), size-
 * checked before the body is read, validated, and handed to the sequencer; the
 * connection is suspended until the sequencer completes the submission, so no thread
 * blocks on a waiting client. Every error is JSON {"error": "..."}. */
#ifndef XT_LOGD_HTTP_H
#define XT_LOGD_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "logd/sequencer.h"

typedef enum {
  HTTP_OK = 0,
  HTTP_EINVAL,   /* a malformed --listen */
  HTTP_ERESOLVE, /* the host does not resolve */
  HTTP_EBIND     /* the port is taken or not permitted */
} http_err;

/* A fixed name for e; never NULL. */
const char *http_err_str(http_err e);

typedef struct logd_submitter {
  char name[EVENT_SUBMITTER_MAX + 1];
  uint8_t token_hash[32];
} logd_submitter;

/* Optional extensions (anchoring, attestation); any member may be NULL. */
typedef struct http_ext {
  void *ctx;
  char *(*anchor_json)(void *ctx);  /* /v1/log "anchor" as JSON text, malloc'd */
  char *(*metrics)(void *ctx);      /* more Prometheus lines for /metrics, malloc'd */
  /* GET /v1/attestation (size, boot: the ?size= and ?boot= arguments or NULL): an HTTP
   * status and a malloc'd JSON body (an error object on failure). */
  unsigned (*attestation)(void *ctx, const char *size, const char *boot, char **body, size_t *len);
  /* Before a submitter's write is sequenced: non-zero refuses it with 503 and the
   * sentence in msg (anchoring too stale, anchoring_write_refused). */
  int (*write_refused)(void *ctx, char *msg, size_t msgcap);
  /* POST /v1/boot (404 while NULL): a submitter's boot event with its quote.
   * boot_parse checks the body: 0 with *event_text (malloc'd canonical event) and
   * *evidence, or 400 / 503 with err. After the entry is durable boot_keep keeps the
   * evidence for that index (0, or non-zero with err); boot_free frees it. */
  int (*boot_parse)(const char *body, size_t len, char **event_text, void **evidence, char *err,
                    size_t errcap);
  int (*boot_keep)(void *ctx, void *evidence, uint64_t index, const char *submitter, char *err,
                   size_t errcap);
  void (*boot_free)(void *evidence);
  /* GET /v1/collateral (name NULL: the index) and /v1/collateral/<name>: an HTTP status
   * and a malloc'd JSON body (logd/collateral.h). */
  unsigned (*collateral)(void *ctx, const char *name, char **body, size_t *len);
} http_ext;

typedef struct http_config {
  const char *listen;          /* host:port, for messages */
  int listen_fd;               /* from http_bind; http_start takes it (closes it on failure) */
  unsigned port;               /* the port listen_fd is bound to */
  logd_seq *seq;
  logd_store *store;
  const char *origin;
  const char *verifier_key;
  const logd_submitter *submitters;
  size_t nsubmitters;
  size_t max_entry_bytes;
  uint64_t interval_ms;
  unsigned timeout_s;           /* idle: close a connection silent this long */
  unsigned deadline_s;          /* whole request: cut a connection whose request (and the
                                 * wait before it) has not completed this long; 0: never */
  unsigned max_connections;
  unsigned threads;
  const http_ext *ext;         /* may be NULL */
} http_config;

typedef struct logd_http logd_http;

/* Splits --listen's "HOST:PORT" or "[IPV6]:PORT" into host (hostcap bytes) and port
 * (0-65535, strict decimal). HTTP_OK, or HTTP_EINVAL when malformed (nothing else is
 * checked: the host is resolved by http_bind). */
http_err http_parse_listen(const char *listen, char *host, size_t hostcap, unsigned *port)
    __attribute__((warn_unused_result));
/* Resolves host and binds a socket to its first address and port, without listening
 * yet: the port is claimed (a port another socket listens on is refused here) but no
 * client can connect before http_listen. Sets *fd (the caller owns it until it passes
 * it to http_start) and *bound (the port bound: the one chosen for port 0).
 * HTTP_ERESOLVE or HTTP_EBIND with a message. */
http_err http_bind(const char *host, unsigned port, int *fd, unsigned *bound, char *err,
                   size_t errcap) __attribute__((warn_unused_result));
/* Starts listening on a socket from http_bind (connections then wait in the backlog
 * until http_start). HTTP_OK, or HTTP_EBIND with a message naming listen_arg. */
http_err http_listen(int fd, const char *listen_arg, char *err, size_t errcap)
    __attribute__((warn_unused_result));
/* Starts serving on cfg->listen_fd; cfg and what it points to must outlive the server.
 * NULL with a message. */
logd_http *http_start(const http_config *cfg, char *err, size_t errcap);
/* Stops accepting connections (in-flight ones finish). */
void http_quiesce(logd_http *h);
/* Stops the server and frees h (NULL is ignored). */
void http_stop(logd_http *h);
/* The port actually bound (for --listen host:0). */
unsigned http_port(const logd_http *h);

#endif
