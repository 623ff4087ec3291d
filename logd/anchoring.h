/* anchoring.h: logd's on-chain anchoring of its signed checkpoints (SPEC.md section 6.2).
 *
 * Contract: at start, anchoring_check_start reads the log's head from the contract and
 * refuses (non-zero) when the local tree is behind it or inconsistent with it (the
 * rollback defence). Then one background thread, every interval, takes the newest
 * signed checkpoint; if it is larger than the last anchored size it is anchored with
 * anchor_submit_tree, which builds the consistency proof from the chain's head with
 * the store's node reader and verifies it locally before sending, so a head not
 * consistent with the chain's is never sent. The thread only reads the published view
 * and the store: it never holds a lock the sequencer waits for. RPC failures are
 * logged and retried with backoff (interval x 2^k, at most 8x and one hour).
 *
 * Every anchored checkpoint is one logd published, so it stays at /v1/checkpoints/<size>
 * (the store keeps every published checkpoint by size). The last anchor is kept in
 * DATA/anchor-state.json so /v1/log can name its transaction after a restart. */
#ifndef XT_LOGD_ANCHORING_H
#define XT_LOGD_ANCHORING_H

#include <stddef.h>
#include <stdint.h>

#include "logd/sequencer.h"
#include "logd/store.h"

typedef enum {
  ANCHORING_OK = 0,
  ANCHORING_ERPC,      /* the node cannot be reached or the contract read failed */
  ANCHORING_EROLLBACK, /* the local tree is behind or inconsistent with the anchored head */
  ANCHORING_ESTORE,    /* the local store could not be read */
  ANCHORING_ETHREAD    /* the anchoring thread could not start */
} anchoring_err;

/* A fixed name for e; never NULL. */
const char *anchoring_err_str(anchoring_err e);

/* --anchor-max-age defaults to this many anchor intervals. */
#define ANCHORING_MAX_AGE_FACTOR 4

typedef struct logd_anchor_config {
  const char *rpc_url;
  const char *contract;      /* "0x" + 40 hex digits */
  const uint8_t *key;        /* 32-byte secp256k1 private key (copied) */
  uint64_t interval_s;
  const char *origin;        /* log id = SHA-256(origin) */
  const char *data_dir;      /* anchor-state.json lives here */
  uint64_t max_age_s;        /* writes refused once anchoring is this stale; 0: the default */
} logd_anchor_config;

/* Called from the anchoring thread after a checkpoint was anchored (and again in later
 * rounds while it returns non-zero): enclave mode gets its checkpoint quote here. */
typedef int (*anchoring_hook)(void *ctx, uint64_t size, const char *note, size_t note_len);

/* The mirror's promise (logd/mirror.h): 1 with the newest checkpoint the mirror holds in
 * full (*note malloc'd), else 0 (nothing may be anchored now). */
typedef int (*anchoring_gate)(void *ctx, uint64_t *size, uint8_t root[32], char **note,
                              size_t *note_len);

typedef struct logd_anchor logd_anchor;

/* Does not contact the node; cfg's strings are copied or used only here. NULL with a
 * message on a bad URL, address or key; else the caller frees it with anchoring_free. */
logd_anchor *anchoring_new(const logd_anchor_config *cfg, char *err, size_t errcap);
/* Frees a (NULL is ignored); the thread must have ended (anchoring_stop returned 0). */
void anchoring_free(logd_anchor *a);
/* The hook (and its ctx, which must outlive a) called after each anchored checkpoint;
 * set before anchoring_start. */
void anchoring_set_hook(logd_anchor *a, anchoring_hook fn, void *ctx);

/* With a gate, only the checkpoint it names is ever anchored (never a newer one), and
 * anchoring is not "caught up" while the gate is behind the published checkpoint. Set
 * before anchoring_start. */
void anchoring_set_gate(logd_anchor *a, anchoring_gate fn, void *ctx);

/* The start-up check against the store (before the sequencer runs; store may be
 * read-only, and is NULL for a log with no database yet, i.e. an empty tree; it is not
 * kept). ANCHORING_OK: go on (the log may not be registered yet: that is logged, and
 * anchoring retries every round); any other value with a message: do not start. */
anchoring_err anchoring_check_start(logd_anchor *a, logd_store *store, char *err, size_t errcap)
    __attribute__((warn_unused_result));
/* The same check of a tree of `size` entries whose nodes rd reads (logd --restore-from
 * checks a mirror's tree before anything is written). */
anchoring_err anchoring_check_tree(logd_anchor *a, uint64_t size, merkle_node_reader rd, void *rd_ctx,
                                   char *err, size_t errcap) __attribute__((warn_unused_result));

/* Starts the thread, which reads seq's published view and store (both must outlive it
 * until anchoring_stop returned 0). */
anchoring_err anchoring_start(logd_anchor *a, logd_seq *seq, char *err, size_t errcap)
    __attribute__((warn_unused_result));
/* Asks the thread to stop and waits for it up to wait_ms (a send in flight may take
 * longer: then it is left to die with the process and anchoring_free must not be
 * called). Returns 0 if the thread ended. */
int anchoring_stop(logd_anchor *a, unsigned wait_ms);

/* The "anchor" member of /v1/log as JSON text (malloc'd): an object
 * {"contract","chain_id","size","root","tx","block","time"} or "null" before the
 * first anchor is known. The caller frees it; NULL when out of memory. */
char *anchoring_state_json(logd_anchor *a);
/* Prometheus lines (malloc'd, the caller frees them; NULL when out of memory). */
char *anchoring_metrics(logd_anchor *a);

/* The backpressure that keeps an unanchored stretch short (issue 14): "caught up" is the
 * last moment (monotonic clock) at which every published checkpoint was covered by a
 * confirmed anchor, either because a round found nothing to anchor or because the
 * checkpoint it read was anchored. It starts at anchoring_start (the start-up check has
 * just confirmed the local tree against the chain's head). Returns 0 while that moment
 * is at most max_age_s old; else 1 with a sentence for the 503 in msg (msgcap) naming
 * the age, and counts a refused write. Safe from any thread. */
int anchoring_write_refused(logd_anchor *a, char *msg, size_t msgcap);

#endif
