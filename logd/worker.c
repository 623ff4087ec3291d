/* worker.c: start, deadline and bounded stop of logd's background threads. */
#include "logd/worker.h"

#include <errno.h>

void worker_init(logd_worker *w) {
  pthread_mutex_init(&w->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&w->cv, &ca);
  pthread_condattr_destroy(&ca);
  w->started = w->stopping = w->finished = 0;
}

int worker_start(logd_worker *w, void *(*fn)(void *), void *arg) {
  if (pthread_create(&w->thread, NULL, fn, arg)) return -1;
  w->started = 1;
  return 0;
}

void worker_finished(logd_worker *w) {
  w->finished = 1;
  pthread_cond_broadcast(&w->cv);
}

void worker_deadline(struct timespec *until, uint64_t ms) {
  clock_gettime(CLOCK_MONOTONIC, until);
  until->tv_sec += (time_t)(ms / 1000);
  until->tv_nsec += (long)(ms % 1000) * 1000000L;
  if (until->tv_nsec >= 1000000000L) {
    until->tv_sec++;
    until->tv_nsec -= 1000000000L;
  }
}

int worker_stop(logd_worker *w, unsigned wait_ms) {
  if (!w->started) return 0;
  struct timespec until;
  worker_deadline(&until, wait_ms);
  pthread_mutex_lock(&w->mu);
  w->stopping = 1;
  pthread_cond_broadcast(&w->cv);
  while (!w->finished)
    if (pthread_cond_timedwait(&w->cv, &w->mu, &until) == ETIMEDOUT) break;
  int fin = w->finished;
  pthread_mutex_unlock(&w->mu);
  if (!fin) return -1;
  pthread_join(w->thread, NULL);
  w->started = 0;
  return 0;
}

void worker_destroy(logd_worker *w) {
  pthread_mutex_destroy(&w->mu);
  pthread_cond_destroy(&w->cv);
}
