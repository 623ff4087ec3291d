/* seq_publish.h: the sequencer's publisher (private to logd/): what readers see, the
 * checkpoints, and the submissions waiting for one.
 *
 * Contract: the published view (tree size and root after the last durable write, the
 * latest stored checkpoint note) changes only through publ_tree and publ_note, which
 * the caller calls once what they publish is durable; readers copy it under the
 * publisher's lock (publ_view). publ_sign signs a checkpoint of a given tree; the
 * caller stores it (synced) before publ_note serves it and calls the publish hook.
 * Submissions whose entries are durable go to publ_settle: completed at once, or
 * parked until a published checkpoint covers them (wait=checkpoint); publ_wake
 * completes the covered ones (and with a message fails the others).
 * Threads: the view and the hook are locked; the waiters list belongs to one thread
 * at a time (the writer while a write is in flight, else the sequencer), which the
 * caller arranges; the signing schedule (last_sign_mono, sign_failures) is the
 * sequencer thread's. */
#ifndef XT_LOGD_SEQ_PUBLISH_H
#define XT_LOGD_SEQ_PUBLISH_H

#include <pthread.h>
#include <stdint.h>

#include "logd/sequencer.h"
#include "logd/store.h"
#include "merkle/note.h"

typedef struct seq_publisher {
  note_signer signer;
  uint64_t interval_ms;
  seq_metrics *metrics;
  pthread_mutex_t mu;
  /* the view (mu) */
  uint64_t size;
  uint8_t root[MERKLE_HASH_SIZE];
  char *note;                     /* NULL until the first checkpoint */
  size_t note_len;
  uint64_t note_size;
  uint8_t note_root[MERKLE_HASH_SIZE];
  uint64_t note_mono;             /* when it was published (or start) */
  seq_publish_fn hook;
  void *hook_ctx;
  /* not locked (see above) */
  seq_sub *waiters;
  uint64_t last_sign_mono;
  unsigned sign_failures;         /* consecutive */
} seq_publisher;

uint64_t publ_now_ms(void); /* CLOCK_MONOTONIC, ms */

/* Sets up p (nothing published); signer is copied, metrics borrowed. 0 or -1. */
int publ_init(seq_publisher *p, const note_signer *signer, uint64_t interval_ms, seq_metrics *m);
/* Frees p's note and lock; waiters must have been completed. */
void publ_destroy(seq_publisher *p);

/* Start-up: takes the latest stored checkpoint when there is one, after checking it is
 * signed by this key, no larger than tree_size and has the stored tree's root at its
 * size. 0, or -1 with a message. */
int publ_load(seq_publisher *p, logd_store *store, uint64_t tree_size, char *err, size_t errcap);
/* Publishes a durable tree (size, root). */
void publ_tree(seq_publisher *p, uint64_t size, const uint8_t root[MERKLE_HASH_SIZE]);
/* Signs a checkpoint of (size, root) into note (cap bytes, NUL-terminated) and *c.
 * 0, or -1 (logged). */
int publ_sign(seq_publisher *p, uint64_t size, const uint8_t root[MERKLE_HASH_SIZE], char *note,
              size_t cap, size_t *note_len, checkpoint *c);
/* Serves a stored checkpoint and calls the hook. 0, or -1 when out of memory (the
 * previous note stays). */
int publ_note(seq_publisher *p, const char *note, size_t note_len, const checkpoint *c);
/* The size of the latest published checkpoint into *size; 0 when there is none. */
int publ_covered(seq_publisher *p, uint64_t *size);
/* Whether a checkpoint of a tree of tree_size leaves is wanted: the tree grew past
 * (or there is no) checkpoint. */
int publ_behind(seq_publisher *p, uint64_t tree_size);
/* When the next checkpoint is due (monotonic ms). */
uint64_t publ_due_at(const seq_publisher *p);

/* Completes, or parks as waiters, a list of submissions (linked by next) whose
 * entries are durable (or that failed: status set). */
void publ_settle(seq_publisher *p, seq_sub *list);
/* Completes the waiters the latest checkpoint covers; with fail_msg, fails the others
 * with 503 (their entries are logged; only the receipt is missing). */
void publ_wake(seq_publisher *p, const char *fail_msg);
/* Sets each submission's status and message and completes it. */
void publ_fail_all(seq_sub *list, int status, const char *msg);

void publ_set_hook(seq_publisher *p, seq_publish_fn fn, void *ctx);
/* seq_view_get. */
int publ_view(seq_publisher *p, seq_view *v, int with_note);
/* Whether the tree is ahead of the checkpoint (or want is set) and no checkpoint was
 * published for 3 intervals. */
int publ_stalled(seq_publisher *p, int want);

#endif
