/* seq_queue.h: the sequencer's submission queue (private to logd/).
 *
 * Contract: HTTP threads push submissions (seq_sub, sequencer.h); the sequencer
 * thread takes everything queued at once. The queue is bounded in entries and bytes:
 * a push that would pass either bound is refused (SEQ_EBUSY) unless the queue is
 * empty, so one large submission always fits. After squeue_stop every push is
 * refused (SEQ_ESTOPPED). The depth is mirrored in the metrics' queue counters. */
#ifndef XT_LOGD_SEQ_QUEUE_H
#define XT_LOGD_SEQ_QUEUE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "logd/sequencer.h"

typedef struct seq_queue {
  pthread_mutex_t mu;
  pthread_cond_t cv;   /* on CLOCK_MONOTONIC */
  seq_sub *head, *tail;
  size_t max_entries, max_bytes;
  int stopping;
  seq_metrics *metrics;
} seq_queue;

/* 0, or -1 when the lock could not be set up. */
int squeue_init(seq_queue *qu, size_t max_entries, size_t max_bytes, seq_metrics *m);
void squeue_destroy(seq_queue *qu);

/* Appends sub (then the queue owns it until the taker completes it): SEQ_OK, or
 * SEQ_EBUSY / SEQ_ESTOPPED with sub untouched. */
seq_err squeue_push(seq_queue *qu, seq_sub *sub);
/* Waits until something is queued, the queue is stopping, or (when wait_until is
 * not NULL) the monotonic clock reaches *wait_until ms (publ_now_ms); returns the
 * whole queue (NULL when nothing is queued) and *stopping. */
seq_sub *squeue_take(seq_queue *qu, const uint64_t *wait_until, int *stopping);
/* Refuses pushes from now on and wakes the taker. Returns 1 when already stopping. */
int squeue_stop(seq_queue *qu);
/* Whether anything is queued. */
int squeue_pending(seq_queue *qu);

#endif
