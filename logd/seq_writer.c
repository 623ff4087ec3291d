#include "logd/seq_writer.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/err.h"

const double seq_fsync_bucket_ms[SEQ_FSYNC_BUCKETS] = {0.25, 0.5, 1, 2, 5, 10, 20, 50, 100, 250, 500, 1000};

void writer_fail(seq_writer *w, store_err e, const char *why) {
  pthread_mutex_lock(&w->fmu);
  if (!w->broken) {
    int full = e == STORE_ENOSPC;
    const char *what = full ? "disk full (a storage write failed)"
                            : "storage failed (a database write, fsync or read failed)";
    w->fail_status = full ? 507 : 503;
    snprintf(w->fail_msg, sizeof w->fail_msg,
             "%s; logd refuses writes until it is restarted. Not acknowledged: retry after the "
             "restart (a copy already logged is answered as a duplicate)", what);
    snprintf(w->fail_health, sizeof w->fail_health, "%s; writes are refused until logd is restarted", what);
    w->broken = 1;
    xt_log("logd", "sequencer: %s: %s; refusing writes and checkpoints until restarted (RocksDB's "
           "recovery then keeps what was synced)", full ? "disk full" : "storage failed", why);
  }
  pthread_mutex_unlock(&w->fmu);
}

int writer_broken(seq_writer *w) {
  pthread_mutex_lock(&w->fmu);
  int b = w->broken;
  pthread_mutex_unlock(&w->fmu);
  return b;
}

unsigned writer_refusal(seq_writer *w, char *msg, size_t msgcap) {
  pthread_mutex_lock(&w->fmu);
  unsigned st = w->broken ? w->fail_status : 0;
  if (st) snprintf(msg, msgcap, "%s", w->fail_msg);
  pthread_mutex_unlock(&w->fmu);
  return st;
}

const char *writer_health(seq_writer *w) { return writer_broken(w) ? w->fail_health : NULL; }

int writer_disk_low(seq_writer *w, char *msg, size_t cap) {
  if (!w->min_free_bytes) return 0;
  uint64_t avail = 0;
  char err[300];
  if (store_free_bytes(w->store, &avail, err, sizeof err)) return 0;
  int low = avail < w->min_free_bytes;
  int was = atomic_exchange(&w->disk_low, low);
  unsigned long long mib = (unsigned long long)(avail >> 20),
                     need = (unsigned long long)(w->min_free_bytes >> 20);
  if (low && !was)
    xt_log("logd", "sequencer: disk nearly full (%llu MiB free, --min-free-mb %llu): refusing "
           "writes (507) until space is freed", mib, need);
  if (!low && was) xt_log("logd", "sequencer: %llu MiB free again: accepting writes", mib);
  if (low)
    snprintf(msg, cap, "disk nearly full: %llu MiB free, writes need %llu MiB (logd --min-free-mb); "
             "nothing was logged, retry once space is freed", mib, need);
  return low;
}

static void time_write(seq_writer *w, const struct timespec *a, const struct timespec *b) {
  uint64_t us = (uint64_t)(b->tv_sec - a->tv_sec) * 1000000 + (uint64_t)((b->tv_nsec - a->tv_nsec) / 1000);
  atomic_fetch_add(&w->metrics->fsync_count, 1);
  atomic_fetch_add(&w->metrics->fsync_us_sum, us);
  for (int i = 0; i < SEQ_FSYNC_BUCKETS; i++)
    if ((double)us / 1000.0 <= seq_fsync_bucket_ms[i]) {
      atomic_fetch_add(&w->metrics->fsync_bucket[i], 1);
      break;
    }
}

/* The thread's half of a group: one synced write, then publish and settle. */
static int commit(seq_writer *w, seq_write *f) {
  char err[300];
  if (f->has_write) {
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    store_err rc = store_batch_write(w->store, f->batch, err, sizeof err);
    clock_gettime(CLOCK_MONOTONIC, &b);
    if (rc) {
      atomic_fetch_add(&w->metrics->write_errors, 1);
      xt_log("logd", "sequencer: batch of %zu events failed, nothing acknowledged: %s", f->events, err);
      writer_fail(w, rc, err);
      publ_fail_all(f->list, (int)w->fail_status, w->fail_msg);
      f->list = NULL;
      return -1;
    }
    time_write(w, &a, &b);
    atomic_fetch_add(&w->metrics->batches, 1);
    atomic_fetch_add(&w->metrics->entries, f->size - f->start_size);
    atomic_fetch_add(&w->metrics->entry_bytes, f->new_bytes);
    /* The tree first: whoever sees the checkpoint can read proofs up to its size. */
    publ_tree(w->pub, f->size, f->root);
    if (f->with_note) publ_note(w->pub, f->note, f->note_len, &f->note_cp);
  }
  seq_sub *list = f->list;
  f->list = NULL;
  publ_settle(w->pub, list);
  return 0;
}

static void *writer_main(void *arg) {
  seq_writer *w = arg;
  pthread_mutex_lock(&w->mu);
  for (;;) {
    while (!w->job && !w->stop) pthread_cond_wait(&w->cv, &w->mu);
    if (!w->job) break;
    seq_write *f = w->job;
    pthread_mutex_unlock(&w->mu);
    int rc = commit(w, f);
    pthread_mutex_lock(&w->mu);
    if (rc) w->job_failed = 1;
    w->job = NULL;
    pthread_cond_broadcast(&w->cv);
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

int writer_start(seq_writer *w, logd_store *store, seq_publisher *pub, seq_metrics *m,
                 uint64_t min_free_bytes) {
  memset(w, 0, sizeof *w);
  w->store = store;
  w->pub = pub;
  w->metrics = m;
  w->min_free_bytes = min_free_bytes;
  pthread_mutex_init(&w->mu, NULL);
  pthread_mutex_init(&w->fmu, NULL);
  pthread_cond_init(&w->cv, NULL);
  if (pthread_create(&w->thread, NULL, writer_main, w)) {
    pthread_mutex_destroy(&w->mu);
    pthread_mutex_destroy(&w->fmu);
    pthread_cond_destroy(&w->cv);
    return -1;
  }
  return 0;
}

void writer_stop(seq_writer *w) {
  pthread_mutex_lock(&w->mu);
  w->stop = 1;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
  pthread_join(w->thread, NULL);
  pthread_mutex_destroy(&w->mu);
  pthread_mutex_destroy(&w->fmu);
  pthread_cond_destroy(&w->cv);
}

int writer_idle(seq_writer *w) {
  pthread_mutex_lock(&w->mu);
  while (w->job) pthread_cond_wait(&w->cv, &w->mu);
  int failed = w->job_failed;
  w->job_failed = 0;
  pthread_mutex_unlock(&w->mu);
  return failed;
}

int writer_wait(seq_writer *w) {
  pthread_mutex_lock(&w->mu);
  int busy = w->job != NULL;
  while (w->job) pthread_cond_wait(&w->cv, &w->mu);
  pthread_mutex_unlock(&w->mu);
  return busy;
}

int writer_hand(seq_writer *w, seq_write *job) {
  if (writer_idle(w)) return -1;
  pthread_mutex_lock(&w->mu);
  w->job = job;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
  return 0;
}

int writer_write_now(seq_writer *w, store_batch *b, const char *what) {
  char err[300];
  store_err se = store_batch_write(w->store, b, err, sizeof err);
  if (!se) return 0;
  atomic_fetch_add(&w->metrics->write_errors, 1);
  xt_log("logd", "sequencer: cannot store %s: %s", what, err);
  writer_fail(w, se, err);
  return -1;
}
