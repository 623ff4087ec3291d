/* s3.h: the few S3 requests logd's mirror makes (PUT object, GET object), path-style,
 * signed with libcurl's AWS SigV4 (CURLOPT_AWS_SIGV4): logd never computes a signature
 * itself. Private to logd/.
 *
 * Contract: a client names an endpoint ("http(s)://HOST[:PORT]"), a bucket, a key
 * prefix and a region; credentials are set (and replaced) with s3_set_credentials.
 * Requests have connect and total timeouts. Used by one thread at a time. Functions
 * return an s3_err and fill the caller's (err, errcap) on failure with the store's own
 * words (its XML <Code> and <Message>) or libcurl's. */
#ifndef XT_LOGD_S3_H
#define XT_LOGD_S3_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
  S3_OK = 0,
  S3_NOT_FOUND, /* 404 (NoSuchKey; NoSuchBucket is S3_EHTTP: the bucket must exist) */
  S3_EHTTP,     /* another HTTP status (403 for refused credentials, 5xx, ...) */
  S3_ENET,      /* no answer: connection refused, reset, timeout */
  S3_EINVAL,
  S3_ENOMEM
} s3_err;

/* A fixed name for e; never NULL. */
const char *s3_err_str(s3_err e);

typedef struct s3_client s3_client;

/* One object to PUT; data stays the caller's until s3_put_many returns. */
typedef struct s3_object {
  char key[160];              /* below the prefix, no leading slash */
  const uint8_t *data;
  size_t len;
  const char *cache_control;  /* header value */
  const char *content_type;
} s3_object;

/* endpoint: http:// or https:// URL without a path; bucket: 3-63 chars of
 * [a-z0-9.-]; prefix: "" or a path without leading or trailing slash. NULL with a
 * message when malformed or out of memory. timeout_ms bounds each request. */
s3_client *s3_new(const char *endpoint, const char *bucket, const char *prefix, const char *region,
                  long timeout_ms, char *err, size_t errcap);
void s3_free(s3_client *c);
/* Copies the access key id and secret (the secret is wiped on replacement and free). */
s3_err s3_set_credentials(s3_client *c, const char *key_id, const char *secret);
/* The public base URL of the prefix: endpoint/bucket[/prefix] (static, lives with c). */
const char *s3_base_url(const s3_client *c);

/* PUTs n objects, up to `parallel` at once on kept-alive connections. S3_OK when every
 * one was stored (2xx); else the first failure with its message (the others may or
 * may not have been stored: PUT is idempotent, so the caller retries them all). */
s3_err s3_put_many(s3_client *c, const s3_object *objs, size_t n, unsigned parallel, char *err,
                   size_t errcap) __attribute__((warn_unused_result));
/* GETs key (at most max bytes) into *data (malloc'd, NUL after the last byte, the
 * caller frees it) and *len; S3_NOT_FOUND when the object does not exist. */
s3_err s3_get(s3_client *c, const char *key, size_t max, uint8_t **data, size_t *len, char *err,
              size_t errcap) __attribute__((warn_unused_result));

#endif
