/* The sequencer thread: takes the queue (seq_queue.c), refuses what storage cannot
 * take (seq_writer.c), resolves copies logged by earlier batches (the store's index and
 * the batch still in flight), integrates the group (seq_integrate.c), turns the result
 * into one store batch and hands it to the writer; signs checkpoints when due
 * (seq_publish.c). Start-up (the tree rebuilt from the store) and the public API. */
#include "logd/sequencer.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "logd/seq_integrate.h"
#include "logd/seq_publish.h"
#include "logd/seq_queue.h"
#include "logd/seq_writer.h"
#include "merkle/tile.h"

_Static_assert(INTEG_KEY == STORE_KEY_PREFIX, "index ops and the store use the same key length");

/* One of the two groups the pipeline holds: prepared (maybe in flight), and the
 * integrate output that says which keys it met (for the next group's dedup). */
typedef struct prepared {
  seq_write w;
  integ_out out;
} prepared;

struct logd_seq {
  logd_store *store;
  seq_config cfg;
  seq_metrics metrics;
  seq_queue queue;
  seq_publisher pub;
  seq_writer writer;
  pthread_t thread;

  /* the sequencer thread's */
  integ_tree tree;            /* includes the group in flight */
  /* Chunks of the right-edge level-0 tile and bundle stored (or in flight), by first
   * index: the group that completes the tile deletes them. */
  uint64_t chunk_starts[TILE_WIDTH];
  size_t nchunks;
  prepared fl[2];
  int cur;                    /* fl[cur] is prepared next; fl[cur ^ 1] may be in flight */
  store_batch *sbatch;        /* standalone checkpoint writes (writer idle) */
  uint64_t last_ts;
  integ_group *groups;
  size_t groups_cap;
};

static uint64_t now_real_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- start-up: the tree's right edge from the store ---- */

static int load_edge(logd_seq *q, uint64_t size, char *err, size_t errcap) {
  for (unsigned L = 0; L < INTEG_LEVELS; L++) {
    uint64_t n = L * 8 < 64 ? size >> (8 * L) : 0;
    unsigned w = (unsigned)(n % TILE_WIDTH);
    if (!w) continue;
    uint8_t *data = NULL;
    size_t len = 0;
    store_err se = store_get_tile(q->store, L, n / TILE_WIDTH, &data, &len, err, errcap);
    if (se == STORE_OK && len >= (size_t)w * 32) {
      memcpy(q->tree.edge[L], data, (size_t)w * 32);
      free(data);
      continue;
    }
    if (se == STORE_OK) free(data);
    if (se == STORE_OK || se == STORE_NOT_FOUND)
      xt_errf(err, errcap, "storage: edge tile %u/%" PRIu64 " is missing or too short", L, n / TILE_WIDTH);
    return -1;
  }
  return 0;
}

static int load_bundle(logd_seq *q, uint64_t size, char *err, size_t errcap) {
  unsigned bw = (unsigned)(size % TILE_WIDTH);
  q->nchunks = 0;
  if (!bw) return 0;
  uint8_t *data = NULL;
  size_t len = 0;
  store_err se = store_get_tile(q->store, STORE_ENTRIES_LEVEL, size / TILE_WIDTH, &data, &len, err, errcap);
  if (se != STORE_OK) {
    if (se == STORE_NOT_FOUND) xt_errf(err, errcap, "storage: entry bundle %" PRIu64 " is missing", size / TILE_WIDTH);
    return -1;
  }
  tile_bundle_entry *ents = calloc(bw, sizeof *ents);
  /* The stored bundle holds exactly the entries up to the stored size. */
  if (!ents || tile_bundle_parse(data, len, bw, ents) != 0) {
    free(ents);
    free(data);
    xt_errf(err, errcap, "storage: entry bundle %" PRIu64 " does not hold %u entries", size / TILE_WIDTH, bw);
    return -1;
  }
  free(ents);
  integ_err ie = integ_tree_set_bundle(&q->tree, data, len);
  free(data);
  if (ie) {
    xt_errf(err, errcap, "out of memory");
    return -1;
  }
  if (store_list_chunks(q->store, size / TILE_WIDTH, q->chunk_starts, &q->nchunks, err, errcap)) return -1;
  if (q->nchunks == 0) {
    xt_errf(err, errcap, "storage: the right-edge bundle %" PRIu64 " has no chunks", size / TILE_WIDTH);
    return -1;
  }
  return 0;
}

static int load_state(logd_seq *q, char *err, size_t errcap) {
  uint64_t size = 0;
  store_err se = store_get_size(q->store, &size, err, errcap);
  if (se != STORE_OK && se != STORE_NOT_FOUND) return -1;
  store_reader rd;
  store_reader_init(&rd, q->store);
  int rc = merkle_tree_restore(&q->tree.range, size, store_read_nodes, &rd);
  if (rc) {
    xt_errf(err, errcap, "cannot rebuild the tree of %" PRIu64 " entries: %s%s%s", size,
            merkle_status_str(rc), rd.err[0] ? ": " : "", rd.err);
    store_reader_done(&rd);
    return -1;
  }
  store_reader_done(&rd);
  return load_edge(q, size, err, errcap) || load_bundle(q, size, err, errcap) ? -1 : 0;
}

/* ---- one group ---- */

/* Marks each event an earlier batch logged INTEG_PRIOR with its index and leaf hash:
 * the batch still in flight (its integrate output) or the store (whose index sees
 * every durable entry; the leaf hash is in a stored level-0 tile). */
static int resolve_prior(logd_seq *q, seq_sub *list, const integ_out *prev, char *err, size_t errcap) {
  store_reader rd;
  store_reader_init(&rd, q->store);
  int rc = 0;
  for (seq_sub *s = list; s && !rc; s = s->next) {
    if (store_get_dedup_many(q->store, s->events.count, (const uint8_t (*)[32])s->dedup, s->index,
                             s->dup, err, errcap)) {
      rc = -1;
      break;
    }
    for (size_t i = 0; i < s->events.count && !rc; i++) {
      if (integ_out_find(prev, s->dedup[i], &s->index[i], s->leaf[i])) {
        s->dup[i] = INTEG_PRIOR;
      } else if (s->dup[i] && s->index[i] < q->tree.range.size) {
        s->dup[i] = INTEG_PRIOR;
        if (store_read_nodes(&rd, 0, s->index[i], 1, &s->leaf[i])) {
          xt_errf(err, errcap, "%s", rd.err);
          rc = -1;
        }
      } else {
        s->dup[i] = INTEG_NEW;
      }
    }
  }
  store_reader_done(&rd);
  return rc;
}

/* Everything the integrate step produced, as one store batch. */
static void to_batch(logd_seq *q, const integ_out *o, store_batch *b) {
  for (size_t k = 0; k < o->nfull; k++) {
    const integ_tile *t = &o->full[k];
    if (t->level == 0 && q->nchunks) {
      /* The tile is stored whole now: drop the chunks it replaces, in this write. */
      for (size_t c = 0; c < q->nchunks; c++) {
        store_batch_delete_chunk(b, 0, q->chunk_starts[c]);
        store_batch_delete_chunk(b, STORE_ENTRIES_LEVEL, q->chunk_starts[c]);
      }
      q->nchunks = 0;
    }
    unsigned level = t->level == TILE_LEVEL_ENTRIES ? STORE_ENTRIES_LEVEL : (unsigned)t->level;
    store_batch_put_tile(b, level, t->index, t->data, t->len);
  }
  for (size_t k = 0; k < o->npartial; k++)
    store_batch_put_tile(b, (unsigned)o->partial[k].level, o->partial[k].index, o->partial[k].data,
                         o->partial[k].len);
  /* This batch's part of the right-edge level-0 tile and bundle: one chunk each. */
  if (o->tail_hashes_len) {
    store_batch_put_chunk(b, 0, o->tail_first, o->tail_hashes, o->tail_hashes_len);
    store_batch_put_chunk(b, STORE_ENTRIES_LEVEL, o->tail_first, o->tail_bundle, o->tail_bundle_len);
    q->chunk_starts[q->nchunks++] = o->tail_first;
  }
  /* The store logs index ops as one sequential record and sorts them when it merges
   * them in the background: no sorting here. */
  for (size_t k = 0; k < o->nops; k++) {
    if (o->ops[k].tag == 'D') store_batch_put_dedup(b, o->ops[k].key, o->ops[k].index);
    else store_batch_put_hash(b, o->ops[k].key, o->ops[k].index);
  }
  store_batch_put_size(b, o->size);
}

static int fill_groups(logd_seq *q, seq_sub *list, size_t *n) {
  size_t k = 0;
  for (seq_sub *s = list; s; s = s->next) k++;
  if (k > q->groups_cap) {
    integ_group *g = realloc(q->groups, k * sizeof *g);
    if (!g) return -1;
    q->groups = g;
    q->groups_cap = k;
  }
  k = 0;
  for (seq_sub *s = list; s; s = s->next, k++)
    q->groups[k] = (integ_group){.submitter = s->submitter, .count = s->events.count,
                                 .canon = s->events.canon, .canon_len = s->events.canon_len,
                                 .dedup = (const uint8_t (*)[32])s->dedup, .index = s->index,
                                 .leaf = s->leaf, .dup = s->dup};
  *n = k;
  return 0;
}

static void fail_prepare(logd_seq *q, prepared *f, const char *why, const char *msg) {
  atomic_fetch_add(&q->metrics.write_errors, 1);
  xt_log("logd", "sequencer: batch of %zu events failed, nothing acknowledged: %s", f->w.events, why);
  publ_fail_all(f->w.list, 503, msg);
  f->w.list = NULL;
  integ_out_forget(&f->out);
}

/* Sequences one group into f (the tree advances; nothing is written). Returns 0, or
 * -1 when it failed: then its submissions are failed and the tree is unchanged. */
static int prepare(logd_seq *q, seq_sub *list, prepared *f) {
  char err[300];
  seq_write *w = &f->w;
  w->list = list;
  w->events = 0;
  for (seq_sub *s = list; s; s = s->next) w->events += s->events.count;
  w->has_write = w->with_note = 0;
  w->new_bytes = 0;
  store_batch_clear(w->batch);
  uint64_t ts = now_real_ms();
  if (ts < q->last_ts) ts = q->last_ts;
  size_t n = 0;
  if (fill_groups(q, list, &n)) {
    fail_prepare(q, f, "out of memory", "out of memory, try again");
    return -1;
  }
  if (resolve_prior(q, list, &q->fl[q->cur ^ 1].out, err, sizeof err)) {
    fail_prepare(q, f, err, "storage read failed; nothing was logged, try again");
    return -1;
  }
  integ_err ie = integ_run(&q->tree, q->groups, n, ts, q->cfg.max_entry_bytes, &f->out);
  if (ie) {
    fail_prepare(q, f, integ_err_str(ie),
                 ie == INTEG_EFULL ? "the log is full" : "out of memory; nothing was logged, try again");
    return -1;
  }
  q->last_ts = ts;
  size_t k = 0;
  for (seq_sub *s = list; s; s = s->next, k++) {
    s->status = 0;
    if (q->groups[k].refused) {
      s->status = 413;
      snprintf(s->error, sizeof s->error, "event %zu: entry is %zu bytes, the limit is %zu",
               q->groups[k].refused_event, q->groups[k].refused_len, q->cfg.max_entry_bytes);
    }
  }
  const integ_out *o = &f->out;
  w->start_size = o->start_size;
  w->size = o->size;
  memcpy(w->root, o->root, MERKLE_HASH_SIZE);
  w->new_bytes = o->new_bytes;
  if (o->size == o->start_size) return 0;
  to_batch(q, o, w->batch);
  w->has_write = 1;
  return 0;
}

/* Prepares a group and hands it to the writer once the previous one is done. A
 * checkpoint that is due by then rides in the same synced write as the entries:
 * decided at the hand-over, not when the group was prepared, since it may fall due
 * while the write before is in flight (else it would wait for the next group's). */
static void run_batch(logd_seq *q, seq_sub *list) {
  prepared *f = &q->fl[q->cur];
  seq_write *w = &f->w;
  if (prepare(q, list, f)) return;
  int failed = writer_idle(&q->writer);
  uint64_t now = publ_now_ms();
  if (!failed && w->has_write && now >= publ_due_at(&q->pub) &&
      publ_sign(&q->pub, w->size, w->root, w->note, NOTE_MAX_SIZE, &w->note_len, &w->note_cp) == 0) {
    store_batch_put_checkpoint(w->batch, w->note_cp.size, w->note, w->note_len);
    w->with_note = 1;
    q->pub.last_sign_mono = now;
  }
  if (failed || writer_hand(&q->writer, w)) {
    /* The group before failed (storage failed for good), and this one was built on
     * top of it. */
    char msg[200];
    unsigned st = writer_refusal(&q->writer, msg, sizeof msg);
    publ_fail_all(f->w.list, (int)st, msg);
    f->w.list = NULL;
    return;
  }
  q->cur ^= 1;
}

/* A checkpoint of the whole tree in its own synced write (writer idle: the tree is
 * durable). */
static int sign_checkpoint(logd_seq *q) {
  char note[NOTE_MAX_SIZE], what[80];
  size_t note_len;
  checkpoint c;
  uint8_t root[MERKLE_HASH_SIZE];
  merkle_tree_root(&q->tree.range, root);
  if (publ_sign(&q->pub, q->tree.range.size, root, note, sizeof note, &note_len, &c)) return -1;
  store_batch_clear(q->sbatch);
  store_batch_put_checkpoint(q->sbatch, c.size, note, note_len);
  snprintf(what, sizeof what, "checkpoint %" PRIu64 ", not published", c.size);
  if (writer_write_now(&q->writer, q->sbatch, what)) return -1;
  return publ_note(&q->pub, note, note_len, &c);
}

/* Takes what is queued, or wakes when a checkpoint is due. Once storage failed no
 * checkpoint is due: the tree may hold what never became durable. */
static seq_sub *take(logd_seq *q, int *stopping) {
  uint64_t due = publ_due_at(&q->pub);
  int timed = !writer_broken(&q->writer) && publ_behind(&q->pub, q->tree.range.size);
  return squeue_take(&q->queue, timed ? &due : NULL, stopping);
}

/* A group of fewer entries than this waits for the write in flight and takes in what
 * arrived meanwhile; a larger one is prepared at once, overlapping that write. */
#define SEQ_GATHER_ENTRIES 256

/* With single adds from a closed loop of clients (64 in the benchmark), preparing
 * each group as soon as it is taken keeps three groups in flight (written, prepared,
 * filling) of a third of the clients each; gathering until the write is done keeps
 * two of half, so each synced write carries half again as many entries. Preparing a
 * small group costs far less than the write, so little is lost by not overlapping it;
 * an add-batch group (thousands of entries) is worth overlapping and is not held. */
static seq_sub *gather(logd_seq *q, seq_sub *list, int *stopping) {
  size_t n = 0;
  seq_sub *tail = list;
  for (seq_sub *s = list; s; s = s->next) n += s->events.count, tail = s;
  if (n >= SEQ_GATHER_ENTRIES || !writer_wait(&q->writer)) return list;
  uint64_t now = 0; /* do not wait: take what is queued */
  int st = 0;
  tail->next = squeue_take(&q->queue, &now, &st);
  *stopping |= st;
  return list;
}

/* Refuses a group storage cannot take before anything is prepared; returns whether. */
static int refuse(logd_seq *q, seq_sub *list) {
  char msg[200];
  unsigned st;
  if ((st = writer_refusal(&q->writer, msg, sizeof msg)) != 0) {
    writer_idle(&q->writer);
    publ_fail_all(list, (int)st, msg);
    return 1;
  }
  if (writer_disk_low(&q->writer, msg, sizeof msg)) {
    publ_fail_all(list, 507, msg);
    return 1;
  }
  return 0;
}

static void *seq_main(void *arg) {
  logd_seq *q = arg;
  seq_publisher *p = &q->pub;
  for (;;) {
    int stopping;
    seq_sub *list = take(q, &stopping);
    if (list) list = gather(q, list, &stopping);
    if (list && refuse(q, list)) list = NULL;
    if (list) run_batch(q, list);
    int broken = writer_broken(&q->writer);
    if (broken) {
      /* Waiters are the writer's while a batch is in flight. */
      writer_idle(&q->writer);
      if (p->waiters)
        publ_wake(p, "storage failed before a checkpoint covered these entries; they are "
                     "logged: retry after logd's restart for the receipt");
    }
    uint64_t now = publ_now_ms();
    int last = stopping && !list;
    int sign = !broken && publ_behind(p, q->tree.range.size) && (now >= publ_due_at(p) || last);
    if (sign || last) {
      /* Checkpoints and waiters are the writer's while a batch is in flight. */
      writer_idle(&q->writer);
      sign = sign && !writer_broken(&q->writer) && publ_behind(p, q->tree.range.size);
    }
    if (sign) {
      p->last_sign_mono = now;
      if (sign_checkpoint(q) == 0) {
        p->sign_failures = 0;
        publ_wake(p, NULL);
      } else if (++p->sign_failures >= 5) {
        /* Do not hold clients forever while checkpoints cannot be stored. */
        publ_wake(p, "no checkpoint could be signed and stored (the entries are logged; "
                     "retry for the receipt)");
      }
    }
    if (last) {
      publ_wake(p, "shutting down before a checkpoint covered the entries (they are logged; retry)");
      break;
    }
  }
  return NULL;
}

/* ---- life cycle ---- */

static void seq_release(logd_seq *q) {
  for (int i = 0; i < 2; i++) {
    store_batch_free(q->fl[i].w.batch);
    free(q->fl[i].w.note);
    integ_out_free(&q->fl[i].out);
  }
  store_batch_free(q->sbatch);
  integ_tree_free(&q->tree);
  free(q->groups);
  publ_destroy(&q->pub);
  squeue_destroy(&q->queue);
  free(q);
}

/* Everything seq_start does before its threads: allocations, the tree rebuilt from
 * the store and the latest checkpoint checked. NULL with a message. */
static logd_seq *seq_prepare(logd_store *store, const note_signer *signer, const seq_config *cfg,
                             char *err, size_t errcap) {
  logd_seq *q = calloc(1, sizeof *q);
  if (!q) {
    xt_errf(err, errcap, "out of memory");
    return NULL;
  }
  q->store = store;
  q->cfg = *cfg;
  integ_tree_init(&q->tree);
  if (publ_init(&q->pub, signer, cfg->interval_ms, &q->metrics)) {
    free(q);
    xt_errf(err, errcap, "cannot set up the publisher");
    return NULL;
  }
  if (squeue_init(&q->queue, cfg->queue_max_entries, cfg->queue_max_bytes, &q->metrics)) {
    publ_destroy(&q->pub);
    free(q);
    xt_errf(err, errcap, "cannot set up the queue");
    return NULL;
  }
  int ok = 1;
  for (int i = 0; i < 2; i++) {
    integ_out_init(&q->fl[i].out);
    q->fl[i].w.batch = store_batch_new(store);
    q->fl[i].w.note = malloc(NOTE_MAX_SIZE);
    ok = ok && q->fl[i].w.batch && q->fl[i].w.note;
  }
  q->sbatch = store_batch_new(store);
  if (!ok || !q->sbatch) {
    xt_errf(err, errcap, "out of memory");
    seq_release(q);
    return NULL;
  }
  if (load_state(q, err, errcap) || publ_load(&q->pub, store, q->tree.range.size, err, errcap)) {
    seq_release(q);
    return NULL;
  }
  return q;
}

const char *seq_err_str(seq_err e) {
  switch (e) {
  case SEQ_OK: return "ok";
  case SEQ_EBUSY: return "queue full";
  case SEQ_ESTOPPED: return "not accepting writes";
  case SEQ_ESTATE: return "stored log refused";
  case SEQ_EFAILED: return "storage failed";
  }
  return "unknown sequencer error";
}

seq_err seq_check(logd_store *store, const note_signer *signer, const seq_config *cfg, char *err,
                  size_t errcap) {
  logd_seq *q = seq_prepare(store, signer, cfg, err, errcap);
  if (!q) return SEQ_ESTATE;
  seq_release(q);
  return SEQ_OK;
}

logd_seq *seq_start(logd_store *store, const note_signer *signer, const seq_config *cfg,
                    char *err, size_t errcap) {
  logd_seq *q = seq_prepare(store, signer, cfg, err, errcap);
  if (!q) return NULL;
  uint8_t root[MERKLE_HASH_SIZE];
  merkle_tree_root(&q->tree.range, root);
  publ_tree(&q->pub, q->tree.range.size, root);
  uint64_t now = publ_now_ms();
  q->pub.last_sign_mono = q->pub.note_mono = now;
  /* A restart may find entries newer than the last checkpoint: sign one soon. */
  if (publ_behind(&q->pub, q->tree.range.size) && now >= cfg->interval_ms)
    q->pub.last_sign_mono -= cfg->interval_ms;
  if (writer_start(&q->writer, store, &q->pub, &q->metrics, cfg->min_free_bytes)) {
    xt_errf(err, errcap, "cannot start the writer thread");
    seq_release(q);
    return NULL;
  }
  if (pthread_create(&q->thread, NULL, seq_main, q)) {
    writer_stop(&q->writer);
    xt_errf(err, errcap, "cannot start the sequencer thread");
    seq_release(q);
    return NULL;
  }
  return q;
}

void seq_stop(logd_seq *q) {
  if (!q || squeue_stop(&q->queue)) return;
  pthread_join(q->thread, NULL);
  /* The sequencer left the writer idle; stop it. */
  writer_stop(&q->writer);
}

void seq_free(logd_seq *q) {
  if (!q) return;
  seq_stop(q);
  seq_release(q);
}

seq_err seq_submit(logd_seq *q, seq_sub *sub) {
  if (writer_broken(&q->writer)) return SEQ_EFAILED;
  return squeue_push(&q->queue, sub);
}

int seq_view_get(logd_seq *q, seq_view *v, int with_note) { return publ_view(&q->pub, v, with_note); }

void seq_view_free(seq_view *v) {
  free(v->note);
  v->note = NULL;
}

const char *seq_health(logd_seq *q) {
  const char *broken = writer_health(&q->writer);
  if (broken) return broken;
  char low_msg[200];
  /* Looked at again here, so health clears as soon as space is back, not only at the
   * next write. */
  if (atomic_load(&q->writer.disk_low) && writer_disk_low(&q->writer, low_msg, sizeof low_msg))
    return "disk nearly full (below logd --min-free-mb): writes are refused (507) until space is freed";
  if (publ_stalled(&q->pub, squeue_pending(&q->queue)))
    return "entries are waiting and no checkpoint was signed for 3 intervals";
  return NULL;
}

unsigned seq_refusal(logd_seq *q, char *msg, size_t msgcap) { return writer_refusal(&q->writer, msg, msgcap); }

void seq_set_publish_hook(logd_seq *q, seq_publish_fn fn, void *ctx) { publ_set_hook(&q->pub, fn, ctx); }
seq_metrics *seq_get_metrics(logd_seq *q) { return &q->metrics; }
logd_store *seq_store(logd_seq *q) { return q->store; }
