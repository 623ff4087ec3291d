/* seq_writer.h: the sequencer's writer (private to logd/): the one synced store write
 * in flight, and the sticky storage failure.
 *
 * Contract: the sequencer prepares a group (seq_write) while the writer thread does
 * the synced write of the one before: at most one write in flight, in order
 * (writer_hand waits for the previous one). After a good write the writer publishes
 * the new tree (and the checkpoint that rode in the write), then settles the group's
 * submissions (seq_publish.h). A failed write fails its group and is sticky: from then
 * on writer_broken is true, nothing is written, and every refusal is 503 (507 when the
 * disk is full) with a fixed message, until a restart reopens the store through
 * RocksDB's recovery. writer_disk_low refuses (507) before anything is written while
 * the store's disk has less than min_free_bytes free. */
#ifndef XT_LOGD_SEQ_WRITER_H
#define XT_LOGD_SEQ_WRITER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "logd/seq_publish.h"
#include "logd/sequencer.h"
#include "logd/store.h"

/* A prepared group: everything the writer needs, nothing it must read from the
 * sequencer's (moving) state. */
typedef struct seq_write {
  seq_sub *list;
  store_batch *batch;
  size_t events;
  int has_write;                 /* else nothing to write: only settle list */
  uint64_t start_size, size;
  uint8_t root[MERKLE_HASH_SIZE];
  uint64_t new_bytes;
  int with_note;                 /* a checkpoint of (size, root) is in batch */
  char *note;                    /* NOTE_MAX_SIZE bytes, owned by the caller */
  size_t note_len;
  checkpoint note_cp;
} seq_write;

typedef struct seq_writer {
  logd_store *store;
  seq_publisher *pub;
  seq_metrics *metrics;
  uint64_t min_free_bytes;
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  seq_write *job;               /* handed over, not yet done (mu) */
  int job_failed;               /* the last job's write failed (mu) */
  int stop;                     /* (mu) */
  pthread_mutex_t fmu;
  int broken;                   /* (fmu) */
  unsigned fail_status;         /* then 503, or 507: fixed once set */
  char fail_msg[200];           /* what a refused write is told */
  char fail_health[200];        /* what /healthz says */
  atomic_int disk_low;          /* the last look found the disk below min_free_bytes */
} seq_writer;

/* Sets w up and starts its thread (store, pub, metrics borrowed). 0, or -1. */
int writer_start(seq_writer *w, logd_store *store, seq_publisher *pub, seq_metrics *m,
                 uint64_t min_free_bytes);
/* Stops the (idle) thread and frees w's locks. */
void writer_stop(seq_writer *w);

/* Waits until no write is in flight; returns whether the last one failed (and
 * clears that). While idle, the caller owns the publisher's waiters. */
int writer_idle(seq_writer *w);
/* Waits until no write is in flight, leaving a failure for writer_idle to report.
 * Returns 1 when a write was in flight, 0 when the writer was idle already. */
int writer_wait(seq_writer *w);
/* Hands job to the thread once the previous job is done. Returns 0, or -1 when that
 * previous write failed: then job was not taken (its list is the caller's). */
int writer_hand(seq_writer *w, seq_write *job);
/* A synced write from the calling thread (writer idle): 0, or -1 after the failure
 * was made sticky (what says what was being written, for the log). */
int writer_write_now(seq_writer *w, store_batch *b, const char *what);

/* Makes storage failed (sticky) for error e: the first call names the state. */
void writer_fail(seq_writer *w, store_err e, const char *why);
int writer_broken(seq_writer *w);
/* 0 while storage takes writes; else the status (503/507) and its message. */
unsigned writer_refusal(seq_writer *w, char *msg, size_t msgcap);
/* NULL, or the fixed /healthz sentence once storage failed (valid while w is). */
const char *writer_health(seq_writer *w);
/* Whether the disk is below min_free_bytes now (then msg says so; logged when it
 * changes). 0 when statvfs fails: RocksDB will say if the disk is full. */
int writer_disk_low(seq_writer *w, char *msg, size_t cap);

#endif
