/* worker.h: logd's background threads (anchoring, collateral fetching), private to
 * logd/. Each sleeps on a condition variable on the monotonic clock (so a host clock
 * change neither wakes nor starves it), and is stopped within a deadline so that a
 * thread stuck in a slow request cannot hold up logd's shutdown. */
#ifndef XT_LOGD_WORKER_H
#define XT_LOGD_WORKER_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

typedef struct logd_worker {
  pthread_t thread;
  pthread_mutex_t mu; /* also guards the owner's shared state */
  pthread_cond_t cv;  /* CLOCK_MONOTONIC */
  int started;        /* the thread runs (owner's thread only) */
  int stopping;       /* stop asked (mu) */
  int finished;       /* the thread left its loop (mu) */
} logd_worker;

/* Initialises mu and cv (cv on CLOCK_MONOTONIC); the worker is not started. */
void worker_init(logd_worker *w);
/* Starts fn(arg). Returns 0, or -1 when the thread cannot be created. */
int worker_start(logd_worker *w, void *(*fn)(void *), void *arg) __attribute__((warn_unused_result));
/* Called by the thread, mu held, when it leaves its loop: wakes worker_stop. */
void worker_finished(logd_worker *w);
/* Asks the thread to stop and waits at most wait_ms for it to leave its loop, then joins
 * it. Returns 0 (stopped, or never started), or -1 if it did not stop in time (it is
 * left running; the process is about to exit). */
int worker_stop(logd_worker *w, unsigned wait_ms);
/* Destroys mu and cv (the worker must be stopped). */
void worker_destroy(logd_worker *w);
/* *until = the monotonic clock now + ms, for pthread_cond_timedwait on cv. */
void worker_deadline(struct timespec *until, uint64_t ms);

#endif
