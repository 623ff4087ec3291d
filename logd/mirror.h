/* mirror.h: logd's public mirror on S3-compatible object storage (SPEC.md 6.1, issue 16).
 *
 * Contract: one background thread copies the log to a bucket under the paths logd
 * serves, so that the bucket's public URL is itself a C2SP tlog-tiles log that every
 * `tlog --log` reads: for each published checkpoint of size N, in order (read from
 * the store, so a restart or a refill leaves none out; the sequencer's publish hook
 * only wakes the thread), every hash tile and entry bundle that changed since the
 * last mirrored checkpoint, at its width in tree N (full tiles with
 * `Cache-Control: public, max-age=31536000, immutable`, partial ones `.p/W` with
 * `max-age=60`), then `v1/checkpoints/<N>` (immutable), and for the newest, then
 * `checkpoint` (which therefore never goes back). Quotes kept
 * in DIR/attestations go to `attestation/<name>.json` (the `tlog export` bundle paths:
 * a query string cannot name an object) and the collateral archive to
 * `v1/collateral[/<name>]`. Tiles are read from the store, never kept in memory: the
 * backlog is on disk, and is bounded by refusing writes (mirror_write_refused).
 *
 * The promise anchoring relies on (mirror_anchorable): a checkpoint is reported only
 * once its tiles, entries, `v1/checkpoints/<N>` and `checkpoint` are stored, and while
 * every kept quote is mirrored too. After a failure, and every 10 s, the thread reads
 * the bucket's `checkpoint` back; a bucket that lost it (or everything) is filled again
 * from the store. A bucket whose checkpoint is not this log's, or is not consistent
 * with the local tree, is never written over (logged as an ALERT). */
#ifndef XT_LOGD_MIRROR_H
#define XT_LOGD_MIRROR_H

#include <stddef.h>
#include <stdint.h>

#include "logd/sequencer.h"
#include "merkle/note.h"

typedef enum {
  MIRROR_OK = 0,
  MIRROR_EINVAL,  /* a malformed --mirror URL, endpoint or credentials file */
  MIRROR_ETHREAD, /* the thread could not start */
  MIRROR_ENOMEM
} mirror_err;

/* A fixed name for e; never NULL. */
const char *mirror_err_str(mirror_err e);

/* Default of --mirror-max-backlog: entry bytes appended but not mirrored. */
#define MIRROR_DEFAULT_MAX_BACKLOG ((uint64_t)256 << 20)

typedef struct mirror_config {
  const char *url;          /* s3://BUCKET[/PREFIX] */
  const char *endpoint;     /* http(s)://HOST[:PORT]: path-style requests */
  const char *credentials;  /* file: aws_access_key_id = .. / aws_secret_access_key = .. */
  const char *region;       /* NULL: us-east-1 */
  const char *data_dir;     /* DIR/attestations and DIR/collateral are mirrored */
  const note_verifier *verifier; /* this log's key: reads the bucket's checkpoint (copied) */
  uint64_t max_backlog;     /* bytes; 0: MIRROR_DEFAULT_MAX_BACKLOG */
} mirror_config;

typedef struct logd_mirror logd_mirror;

/* Checks the URL, endpoint and credentials file (read now, and again after each
 * failure, so that fixed credentials are picked up); contacts nothing. NULL with a
 * message; else the caller frees it with mirror_free. */
logd_mirror *mirror_new(const mirror_config *cfg, char *err, size_t errcap);
/* The public base URL readers use (endpoint/BUCKET[/PREFIX]); lives with m. */
const char *mirror_public_url(const logd_mirror *m);
/* Starts the thread on seq's published view and store (both outlive it until
 * mirror_stop returned 0) and sets seq's publish hook. */
mirror_err mirror_start(logd_mirror *m, logd_seq *seq, char *err, size_t errcap)
    __attribute__((warn_unused_result));
/* Asks the thread to stop after one last pass (the checkpoint SIGTERM signs) and waits
 * up to wait_ms. 0 if it ended; else it is left to die with the process. */
int mirror_stop(logd_mirror *m, unsigned wait_ms);
/* Frees m (NULL is ignored); mirror_stop must have returned 0. */
void mirror_free(logd_mirror *m);

/* The anchoring gate (logd/anchoring.h): 1 with the newest checkpoint the mirror holds
 * in full (*note malloc'd, the caller frees it) while no kept quote is unmirrored; else
 * 0. Safe from any thread. */
int mirror_anchorable(void *m, uint64_t *size, uint8_t root[MERKLE_HASH_SIZE], char **note,
                      size_t *note_len);
/* Backpressure: 1 with a sentence for the 503 when the backlog is past the bound. */
int mirror_write_refused(logd_mirror *m, char *msg, size_t msgcap);
/* Prometheus lines (malloc'd; NULL when out of memory). */
char *mirror_metrics(logd_mirror *m);

#endif
