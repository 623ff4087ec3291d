/* guest.h: client for dstack's guest agent (dstack 0.5.x), the in-VM service that
 * derives app keys and produces TDX quotes.
 *
 * It speaks HTTP/1.1 over the unix socket (default /var/run/dstack.sock) with libcurl:
 * `POST http://dstack/<Method>` with a JSON body; byte fields are hex strings; errors come
 * back as {"error": "..."} with status 400/500 and are returned as messages. Replies are
 * size-bounded. The agent is trusted only as far as the quotes it returns verify:
 * callers check quotes with dstack/quote.h and event logs with dstack/eventlog.h.
 *
 * Keys from GetKey depend on the app id and the path, not on the compose hash: every
 * version of the app that the KMS owner allows gets the same keys. */
#ifndef XT_DSTACK_GUEST_H
#define XT_DSTACK_GUEST_H

#include <stddef.h>
#include <stdint.h>

#include "dstack/err.h"

#define DSTACK_DEFAULT_SOCKET "/var/run/dstack.sock"
#define DSTACK_MAX_REPLY (8u << 20) /* quotes are ~5 KB, event logs tens of KB */
#define DSTACK_MAX_SIGNATURES 8

typedef struct dstack_client dstack_client;

/* socket_path NULL means DSTACK_DEFAULT_SOCKET. Nothing is connected until a call. */
dstack_client *dstack_client_new(const char *socket_path, char *err, size_t errlen);
void dstack_client_free(dstack_client *c);
/* Whole-request timeout in milliseconds (default 30000). */
void dstack_client_set_timeout(dstack_client *c, long timeout_ms);

typedef struct dstack_key {
  uint8_t key[64]; /* 32 bytes for secp256k1 (private scalar) and ed25519 (seed) */
  size_t key_len;
  uint8_t signatures[DSTACK_MAX_SIGNATURES][128];
  size_t signature_len[DSTACK_MAX_SIGNATURES];
  size_t n_signatures;
} dstack_key;

/* GetKey {path, purpose, algorithm}; algorithm "secp256k1" or "ed25519" (NULL: the
 * agent's default, secp256k1). Returns DSTACK_OK; or, with err set and *out zeroed,
 * DSTACK_EAGENT (agent unreachable or refused), DSTACK_EMALFORMED (reply not GetKey's
 * shape, or a key that is not 32 bytes), DSTACK_ENOMEM. out->key is secret: the caller
 * wipes it after use. */
dstack_err dstack_get_key(dstack_client *c, const char *path, const char *purpose,
                          const char *algorithm, dstack_key *out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

typedef struct dstack_quote_reply {
  uint8_t *quote; /* malloc'd */
  size_t quote_len;
  char *event_log; /* JSON array text, malloc'd */
  char *vm_config; /* malloc'd, may be "" */
  uint8_t report_data[64];
} dstack_quote_reply;

/* GetQuote {report_data}: len <= 64 bytes, written raw (zero-padded) into the quote's
 * REPORTDATA by the agent. Returns DSTACK_OK with *out filled (the caller frees it with
 * dstack_quote_reply_free); or, with err set and *out empty, DSTACK_EARG (len > 64),
 * DSTACK_EAGENT, DSTACK_EMALFORMED, DSTACK_ENOMEM. */
dstack_err dstack_get_quote(dstack_client *c, const uint8_t *report_data, size_t len,
                            dstack_quote_reply *out, char *err, size_t errlen)
    __attribute__((warn_unused_result));
void dstack_quote_reply_free(dstack_quote_reply *r);

typedef struct dstack_info {
  char app_id[129];      /* hex */
  char instance_id[129]; /* hex */
  char compose_hash[129];
  char app_name[256];
  char *tcb_info;    /* the raw tcb_info JSON string, malloc'd ("" if absent) */
  char *app_compose; /* tcb_info.app_compose: the raw app-compose.json, malloc'd or NULL */
} dstack_info;

/* Info {}: returns DSTACK_OK with *out filled (freed with dstack_info_free); or, with
 * err set and *out empty, DSTACK_EAGENT, DSTACK_EMALFORMED (a field of the wrong type or
 * too long for out), DSTACK_ENOMEM. */
dstack_err dstack_get_info(dstack_client *c, dstack_info *out, char *err, size_t errlen)
    __attribute__((warn_unused_result));
void dstack_info_free(dstack_info *info);

#endif
