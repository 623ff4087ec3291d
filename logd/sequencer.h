/* sequencer.h: logd's group-commit sequencer and published state.
 *
 * Contract: HTTP threads hand in submissions (one event, or an all-or-none batch);
 * one sequencer thread takes everything queued, deduplicates (against the store and
 * within the batch), assigns contiguous indices, extends the tree, and prepares all
 * of it as ONE store write; a writer thread performs that synced write (while the
 * sequencer prepares the next group: at most one write in flight, in order), and
 * only then publishes the new tree and completes the submissions through their
 * done() callback. A failed write (or fsync: RocksDB syncs its log) fails its group
 * and the one prepared after it, and is sticky: after it nothing written since the
 * last good write is trusted, so no write, checkpoint or acknowledgement follows
 * until a restart reopens the store through RocksDB's recovery (503, or 507 when the
 * disk is full). Below cfg.min_free_bytes free on the store's file system, groups are
 * refused (507) before anything is written, until space returns. A checkpoint is
 * signed at most
 * every interval_ms when the tree grew, stored (synced), and only then published;
 * submissions that asked for a checkpoint complete once one covers them.
 *
 * The queue is bounded (entries and bytes): seq_submit refuses instead of growing.
 * Memory does not grow with the log: the tree is its compact range plus the
 * right-edge tiles and entry bundle.
 *
 * The stages, private to logd/: seq_queue.h (the queue), seq_integrate.h (the pure
 * integrate step), seq_writer.h (the synced write, sticky failure, disk-low),
 * seq_publish.h (view, checkpoints, waiters, hook); sequencer.c runs them. */
#ifndef XT_LOGD_SEQUENCER_H
#define XT_LOGD_SEQUENCER_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "logd/event.h"
#include "logd/store.h"
#include "merkle/merkle.h"
#include "merkle/note.h"

typedef enum {
  SEQ_OK = 0,
  SEQ_EBUSY,    /* the queue is full: answer 503 and let the client retry */
  SEQ_ESTOPPED, /* shutting down: no more writes */
  SEQ_ESTATE,   /* the store does not hold a log this key may continue (or cannot be read) */
  SEQ_EFAILED   /* storage failed (seq_refusal says how): no more writes until a restart */
} seq_err;

/* A fixed name for e; never NULL. */
const char *seq_err_str(seq_err e);

typedef struct seq_sub seq_sub;
typedef void (*seq_done_fn)(seq_sub *sub, void *ctx);

struct seq_sub {
  /* in */
  const char *submitter;       /* outlives the submission */
  event_list events;
  uint8_t (*dedup)[32];        /* SHA-256(submitter || 0x00 || canonical event) */
  int want_checkpoint;
  seq_done_fn done;
  void *done_ctx;
  /* out: status 0, or an HTTP status with a message */
  int status;
  char error[200];
  uint64_t *index;
  uint8_t (*leaf)[MERKLE_HASH_SIZE];
  uint8_t *dup;
  char *checkpoint;            /* wait=checkpoint: the covering note (malloc'd) */
  size_t checkpoint_len;
  uint64_t checkpoint_size;
  /* internal */
  uint64_t need_size;
  size_t bytes;
  seq_sub *next;
};

/* Allocates the in/out arrays for events and takes ownership of *events (freed
 * here on failure too). NULL when out of memory; else the caller frees it with
 * seq_sub_free once done() was called (or seq_submit refused it). */
seq_sub *seq_sub_new(const char *submitter, event_list *events);
/* Frees s and everything it owns (NULL is ignored). */
void seq_sub_free(seq_sub *s);

typedef struct seq_config {
  uint64_t interval_ms;
  size_t max_entry_bytes;
  size_t queue_max_entries;
  size_t queue_max_bytes;
  uint64_t min_free_bytes; /* refuse writes (507) below this much free disk; 0: never */
} seq_config;

#define SEQ_FSYNC_BUCKETS 12
extern const double seq_fsync_bucket_ms[SEQ_FSYNC_BUCKETS];

typedef struct seq_metrics {
  atomic_ullong entries;       /* new entries sequenced */
  atomic_ullong entry_bytes;   /* their total size */
  atomic_ullong duplicates;
  atomic_ullong batches;
  atomic_ullong checkpoints;
  atomic_ullong write_errors;
  atomic_ullong fsync_count;
  atomic_ullong fsync_us_sum;
  atomic_ullong fsync_bucket[SEQ_FSYNC_BUCKETS]; /* cumulative counts are made when printed */
  atomic_ullong queue_entries;
  atomic_ullong queue_bytes;
} seq_metrics;

typedef struct logd_seq logd_seq;

/* Rebuilds the tree from the store and checks the latest stored checkpoint against
 * it (signed by this key, size <= tree size, equal root at its size); refuses (NULL)
 * with a message on any mismatch. Starts the sequencer and writer threads. store must
 * outlive the result; signer and cfg are copied. The caller frees it with seq_free. */
logd_seq *seq_start(logd_store *store, const note_signer *signer, const seq_config *cfg,
                    char *err, size_t errcap);
/* The checks of seq_start alone, on a store that may be read-only: no thread is
 * started and nothing is written. Returns SEQ_OK, or SEQ_ESTATE with seq_start's
 * message. */
seq_err seq_check(logd_store *store, const note_signer *signer, const seq_config *cfg, char *err,
                  size_t errcap) __attribute__((warn_unused_result));
/* Drains the queue, signs a last checkpoint if the tree grew, completes every
 * submission and stops the thread; the published view stays readable. */
void seq_stop(logd_seq *q);
/* seq_stop if not done yet, then frees q (NULL is ignored). */
void seq_free(logd_seq *q);

/* Queues sub; on SEQ_OK the sequencer owns it until its done() callback, which the
 * caller's side then frees. SEQ_EBUSY (queue full) or SEQ_ESTOPPED: sub is untouched
 * and still the caller's. */
seq_err seq_submit(logd_seq *q, seq_sub *sub) __attribute__((warn_unused_result));

/* What readers may see: the tree size and root after the last durable batch, and
 * the latest published checkpoint (note malloc'd, may be NULL before the first). */
typedef struct seq_view {
  uint64_t size;
  uint8_t root[MERKLE_HASH_SIZE];
  char *note;
  size_t note_len;
  uint64_t note_size;
  uint8_t note_root[MERKLE_HASH_SIZE];
} seq_view;

/* Fills *v from the published state, with a malloc'd copy of the note when with_note
 * (then free it with seq_view_free). 0, or -1 when that copy ran out of memory (v
 * holds everything else; v->note is NULL). */
int seq_view_get(logd_seq *q, seq_view *v, int with_note);
void seq_view_free(seq_view *v);
/* NULL when healthy, else a sentence saying why not (static, or q's and fixed once
 * storage failed: valid until seq_free). */
const char *seq_health(logd_seq *q);
/* 0 while storage takes writes; else the HTTP status to refuse one with (503 storage
 * failed, 507 disk full) and a sentence into msg (msgcap bytes). */
unsigned seq_refusal(logd_seq *q, char *msg, size_t msgcap);
/* The counters, owned by q (atomics: read them with atomic_load). */
seq_metrics *seq_get_metrics(logd_seq *q);
/* The store q was started on. */
logd_store *seq_store(logd_seq *q);

/* Called (by the thread that publishes) after each checkpoint is stored and published,
 * with the note (valid during the call only); it must not block (logd/mirror.h queues
 * it). fn NULL removes the hook. Checkpoints published before it was set are not
 * replayed: seq_view_get shows the latest. */
typedef void (*seq_publish_fn)(void *ctx, uint64_t size, const uint8_t root[MERKLE_HASH_SIZE],
                               const char *note, size_t note_len);
void seq_set_publish_hook(logd_seq *q, seq_publish_fn fn, void *ctx);

#endif
