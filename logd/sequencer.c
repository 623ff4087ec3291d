#include "logd/sequencer.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "merkle/tile.h"

const double seq_fsync_bucket_ms[SEQ_FSYNC_BUCKETS] = {0.25, 0.5, 1, 2, 5, 10, 20, 50, 100, 250, 500, 1000};

#define TILE_LEVELS 8 /* levels 0..63 of a 2^64 tree */

typedef struct edge_tile {
  int dirty;
  uint8_t h[TILE_WIDTH][MERKLE_HASH_SIZE];
} edge_tile;

/* Marks, before sequencing, an event that an earlier batch already logged. */
#define PRIOR_COPY 2

/* An index key to write ('D' dedup or 'H' leaf hash). */
typedef struct ix_op {
  char tag;
  uint8_t key[STORE_KEY_PREFIX];
  uint64_t index;
} ix_op;

/* A prepared batch: everything the writer needs, nothing it must read from the
 * sequencer's (moving) state. */
typedef struct inflight {
  seq_sub *list;
  store_batch *batch;
  size_t total;
  int has_write;
  uint64_t start_size, size;
  uint8_t root[MERKLE_HASH_SIZE];
  uint64_t new_bytes;
  int with_note;
  char *note;
  size_t note_len;
  checkpoint note_cp;
} inflight;

/* In-batch dedup: open addressing over the batch's dedup keys. */
typedef struct dmap_slot {
  uint8_t key[STORE_KEY_PREFIX];
  uint64_t index;
  uint8_t leaf[MERKLE_HASH_SIZE];
  int used;
} dmap_slot;

struct logd_seq {
  logd_store *store;
  note_signer signer;
  seq_config cfg;
  seq_metrics metrics;

  pthread_mutex_t mu;
  pthread_cond_t cv;
  seq_sub *head, *tail;
  int stopping;
  int broken;                 /* the store refused a write: no more writes (mu) */
  unsigned fail_status;       /* then: 503, or 507 for a full disk (fixed once set) */
  char fail_msg[200];         /* then: what a refused write is told */
  char fail_health[200];      /* then: what /healthz says */
  atomic_int disk_low;        /* the last group was refused for want of free disk */
  pthread_t thread;

  /* sequencer-thread state */
  merkle_tree tree;
  edge_tile edge[TILE_LEVELS];
  uint8_t *bundle;
  size_t bundle_len, bundle_cap;
  int bundle_dirty;
  /* Chunks of the right-edge level-0 tile and bundle already stored (their first
   * indices), and where this batch's chunk starts. */
  uint64_t chunk_starts[TILE_WIDTH];
  size_t nchunks;
  uint64_t chunk_first;
  size_t chunk_off;
  store_batch *batch;         /* the batch being prepared (points into fl[]) */
  store_batch *sbatch;        /* standalone checkpoint writes (writer idle) */
  uint64_t last_ts;
  unsigned sign_failures;     /* consecutive */
  uint64_t last_ckpt_mono;
  dmap_slot *dmap;            /* in-batch dedup of the batch being prepared */
  size_t dmap_cap;             /* slots in use (a power of two) */
  size_t dmap_alloc;           /* slots allocated */
  dmap_slot *prev_dmap;       /* ... and of the batch before it, maybe still in flight */
  size_t prev_dmap_cap, prev_dmap_alloc;

  /* Pipelining: the sequencer prepares batch k+1 while the writer thread does the
   * synced write of batch k, then publishes it and completes its submissions. One
   * batch in flight at most; batches are written in order. */
  inflight fl[2];
  int cur;
  pthread_t writer;
  pthread_mutex_t wmu;
  pthread_cond_t wcv;
  inflight *wjob;             /* handed to the writer, not yet done */
  int wfailed;                /* the writer's last write failed: reload before going on */
  int wstop;

  /* checkpoint state (pub_mu): written by whichever thread publishes */
  uint64_t ckpt_size;
  int have_ckpt;              /* a checkpoint was ever published */
  seq_sub *waiters;           /* want_checkpoint, not yet covered (writer thread, or
                               * the sequencer while the writer is idle) */
  ix_op *ix;
  size_t nix, ix_cap;
  char *entry_buf;

  /* published state (pub_mu) */
  pthread_mutex_t pub_mu;
  uint64_t pub_size;
  uint8_t pub_root[MERKLE_HASH_SIZE];
  char *pub_note;
  size_t pub_note_len;
  uint64_t pub_note_size;
  uint8_t pub_note_root[MERKLE_HASH_SIZE];
  uint64_t pub_note_mono;     /* when the last checkpoint was signed (or start) */
  seq_publish_fn pub_hook;    /* (pub_mu) seq_set_publish_hook */
  void *pub_hook_ctx;
};

static uint64_t now_mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t now_real_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Fetched once: the implicit fetch behind EVP_sha256() costs a lookup per call. */
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256_md;
static void sha256_fetch(void) { sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL); }

seq_sub *seq_sub_new(const char *submitter, event_list *events) {
  size_t n = events->count;
  /* One block: the submission, then its arrays (each size a multiple of 8 but the last),
   * so a single add costs one allocation here, not five. */
  size_t per = 32 + MERKLE_HASH_SIZE + sizeof(uint64_t) + 1;
  seq_sub *s = n > (SIZE_MAX - sizeof *s) / per ? NULL : calloc(1, sizeof *s + n * per);
  if (!s) {
    event_list_free(events);
    return NULL;
  }
  uint8_t *p = (uint8_t *)(s + 1);
  s->dedup = (uint8_t (*)[32])p, p += n * sizeof *s->dedup;
  s->leaf = (uint8_t (*)[MERKLE_HASH_SIZE])p, p += n * sizeof *s->leaf;
  s->index = (uint64_t *)p, p += n * sizeof *s->index;
  s->dup = p;
  s->submitter = submitter;
  s->events = *events;
  memset(events, 0, sizeof *events);
  size_t sl = strlen(submitter);
  pthread_once(&sha256_once, sha256_fetch);
  EVP_MD_CTX *c = EVP_MD_CTX_new();
  for (size_t i = 0; i < n; i++) {
    if (!c || !sha256_md || !EVP_DigestInit_ex2(c, sha256_md, NULL) || !EVP_DigestUpdate(c, submitter, sl) ||
        !EVP_DigestUpdate(c, "", 1) ||
        !EVP_DigestUpdate(c, s->events.canon[i], s->events.canon_len[i]) ||
        !EVP_DigestFinal_ex(c, s->dedup[i], NULL)) {
      EVP_MD_CTX_free(c);
      seq_sub_free(s);
      return NULL;
    }
    s->bytes += s->events.canon_len[i] + 64;
  }
  EVP_MD_CTX_free(c);
  return s;
}

void seq_sub_free(seq_sub *s) {
  if (!s) return;
  event_list_free(&s->events);
  free(s->checkpoint);
  free(s); /* with its arrays (seq_sub_new) */
}

/* ---- state load (start, and after a failed write) ---- */

static int load_state(logd_seq *q, char *err, size_t errcap) {
  uint64_t size = 0;
  store_err se = store_get_size(q->store, &size, err, errcap);
  if (se != STORE_OK && se != STORE_NOT_FOUND) return -1;
  store_reader rd;
  store_reader_init(&rd, q->store);
  int rc = merkle_tree_restore(&q->tree, size, store_read_nodes, &rd);
  if (rc) {
    xt_errf(err, errcap, "cannot rebuild the tree of %" PRIu64 " entries: %s%s%s", size,
             merkle_status_str(rc), rd.err[0] ? ": " : "", rd.err);
    store_reader_done(&rd);
    return -1;
  }
  store_reader_done(&rd);
  for (unsigned L = 0; L < TILE_LEVELS; L++) {
    q->edge[L].dirty = 0;
    uint64_t n = L * 8 < 64 ? size >> (8 * L) : 0;
    unsigned w = (unsigned)(n % TILE_WIDTH);
    if (!w) continue;
    uint8_t *data = NULL;
    size_t len = 0;
    se = store_get_tile(q->store, L, n / TILE_WIDTH, &data, &len, err, errcap);
    if (se == STORE_OK && len >= (size_t)w * 32) {
      memcpy(q->edge[L].h, data, (size_t)w * 32);
      free(data);
      continue;
    }
    if (se == STORE_OK) free(data);
    if (se == STORE_OK || se == STORE_NOT_FOUND)
      xt_errf(err, errcap, "storage: edge tile %u/%" PRIu64 " is missing or too short", L,
               n / TILE_WIDTH);
    return -1;
  }
  q->bundle_len = 0;
  q->bundle_dirty = 0;
  unsigned bw = (unsigned)(size % TILE_WIDTH);
  if (bw) {
    uint8_t *data = NULL;
    size_t len = 0;
    se = store_get_tile(q->store, STORE_ENTRIES_LEVEL, size / TILE_WIDTH, &data, &len, err, errcap);
    if (se != STORE_OK) {
      if (se == STORE_NOT_FOUND) xt_errf(err, errcap, "storage: entry bundle %" PRIu64 " is missing", size / TILE_WIDTH);
      return -1;
    }
    tile_bundle_entry *ents = calloc(bw, sizeof *ents);
    size_t off = 0;
    /* The stored bundle holds exactly the entries up to the stored size. */
    if (!ents || tile_bundle_parse(data, len, bw, ents) != 0) {
      free(ents);
      free(data);
      xt_errf(err, errcap, "storage: entry bundle %" PRIu64 " does not hold %u entries",
               size / TILE_WIDTH, bw);
      return -1;
    }
    free(ents);
    off = len;
    if (off > q->bundle_cap) {
      uint8_t *nb = realloc(q->bundle, off);
      if (!nb) {
        free(data);
        xt_errf(err, errcap, "out of memory");
        return -1;
      }
      q->bundle = nb;
      q->bundle_cap = off;
    }
    memcpy(q->bundle, data, off);
    q->bundle_len = off;
    free(data);
  }
  q->nchunks = 0;
  if (bw) {
    if (store_list_chunks(q->store, size / TILE_WIDTH, q->chunk_starts, &q->nchunks, err, errcap))
      return -1;
    if (q->nchunks == 0) {
      xt_errf(err, errcap, "storage: the right-edge bundle %" PRIu64 " has no chunks", size / TILE_WIDTH);
      return -1;
    }
  }
  return 0;
}

static void publish_size(logd_seq *q, uint64_t size, const uint8_t root[MERKLE_HASH_SIZE]) {
  pthread_mutex_lock(&q->pub_mu);
  q->pub_size = size;
  memcpy(q->pub_root, root, MERKLE_HASH_SIZE);
  pthread_mutex_unlock(&q->pub_mu);
}

static void publish_tree(logd_seq *q) {
  uint8_t root[MERKLE_HASH_SIZE];
  merkle_tree_root(&q->tree, root);
  publish_size(q, q->tree.size, root);
}

static void ckpt_state(logd_seq *q, uint64_t *size, int *have) {
  pthread_mutex_lock(&q->pub_mu);
  *size = q->ckpt_size;
  *have = q->have_ckpt;
  pthread_mutex_unlock(&q->pub_mu);
}

/* ---- the batch ---- */

static void sink(void *ctx, unsigned level, uint64_t index, const uint8_t hash[MERKLE_HASH_SIZE]) {
  logd_seq *q = ctx;
  if (level % TILE_HEIGHT) return;
  unsigned L = level / TILE_HEIGHT;
  unsigned off = (unsigned)(index % TILE_WIDTH);
  memcpy(q->edge[L].h[off], hash, MERKLE_HASH_SIZE);
  q->edge[L].dirty = 1;
  if (off == TILE_WIDTH - 1) {
    store_batch_put_tile(q->batch, L, index / TILE_WIDTH, &q->edge[L].h[0][0],
                         TILE_WIDTH * MERKLE_HASH_SIZE);
    q->edge[L].dirty = 0;
  }
}

/* The current map becomes the previous batch's; the new current one is emptied. */
static int dmap_prepare(logd_seq *q, size_t n) {
  dmap_slot *t = q->prev_dmap;
  size_t tc = q->prev_dmap_cap, ta = q->prev_dmap_alloc;
  q->prev_dmap = q->dmap;
  q->prev_dmap_cap = q->dmap_cap;
  q->prev_dmap_alloc = q->dmap_alloc;
  q->dmap = t;
  q->dmap_cap = tc;
  q->dmap_alloc = ta;
  size_t cap = 64;
  while (cap < 2 * n) cap *= 2;
  if (cap > q->dmap_alloc) {
    dmap_slot *m = realloc(q->dmap, cap * sizeof *m);
    if (!m) return -1;
    q->dmap = m;
    q->dmap_alloc = cap;
  }
  /* Sized for this group, not the largest ever: a group of 60 after a batch of 8,000
   * clears 8 KiB, not 1.3 MiB. */
  q->dmap_cap = cap;
  memset(q->dmap, 0, q->dmap_cap * sizeof *q->dmap);
  return 0;
}

/* After a failed write nothing of the last batches is real: forget both maps. */
static void dmap_reset(logd_seq *q) {
  if (q->dmap) memset(q->dmap, 0, q->dmap_cap * sizeof *q->dmap);
  if (q->prev_dmap) memset(q->prev_dmap, 0, q->prev_dmap_cap * sizeof *q->prev_dmap);
}

static dmap_slot *dmap_find_in(dmap_slot *m, size_t cap, const uint8_t *key) {
  uint64_t h;
  memcpy(&h, key, sizeof h);
  size_t i = (size_t)h & (cap - 1);
  while (m[i].used && memcmp(m[i].key, key, STORE_KEY_PREFIX)) i = (i + 1) & (cap - 1);
  return &m[i];
}

static dmap_slot *dmap_find(logd_seq *q, const uint8_t *key) {
  return dmap_find_in(q->dmap, q->dmap_cap, key);
}

static const dmap_slot *prev_find(logd_seq *q, const uint8_t *key) {
  if (!q->prev_dmap) return NULL;
  const dmap_slot *d = dmap_find_in(q->prev_dmap, q->prev_dmap_cap, key);
  return d->used ? d : NULL;
}

static int ix_push(logd_seq *q, char tag, const uint8_t *key, uint64_t index) {
  if (q->nix == q->ix_cap) {
    size_t cap = q->ix_cap ? 2 * q->ix_cap : 4096;
    ix_op *n = realloc(q->ix, cap * sizeof *n);
    if (!n) return -1;
    q->ix = n;
    q->ix_cap = cap;
  }
  ix_op *o = &q->ix[q->nix++];
  o->tag = tag;
  memcpy(o->key, key, STORE_KEY_PREFIX);
  o->index = index;
  return 0;
}

static int bundle_add(logd_seq *q, const char *entry, size_t len) {
  if (q->bundle_len + 2 + len > q->bundle_cap) {
    size_t cap = q->bundle_cap ? q->bundle_cap : 65536;
    while (cap < q->bundle_len + 2 + len) cap *= 2;
    uint8_t *nb = realloc(q->bundle, cap);
    if (!nb) return -1;
    q->bundle = nb;
    q->bundle_cap = cap;
  }
  size_t l = q->bundle_len;
  if (tile_bundle_append(q->bundle, q->bundle_cap, &l, (const uint8_t *)entry, len)) return -1;
  q->bundle_len = l;
  q->bundle_dirty = 1;
  return 0;
}

static void complete(seq_sub *s) { s->done(s, s->done_ctx); }
static void wake_waiters(logd_seq *q, const char *fail_msg);
static int make_note(logd_seq *q, char *note, size_t cap, size_t *note_len, checkpoint *c);
static int publish_note(logd_seq *q, const char *note, size_t note_len, const checkpoint *c);

static void fail_all(seq_sub *list, int status, const char *msg) {
  while (list) {
    seq_sub *next = list->next;
    list->status = status;
    snprintf(list->error, sizeof list->error, "%s", msg);
    complete(list);
    list = next;
  }
}

/* A write or fsync of the store failed: from now on nothing is written, signed or
 * acknowledged (see sequencer.h). The first failure names the state; later calls
 * keep it. */
static void storage_failed(logd_seq *q, store_err e, const char *why) {
  pthread_mutex_lock(&q->mu);
  if (!q->broken) {
    int full = e == STORE_ENOSPC;
    q->fail_status = full ? 507 : 503;
    snprintf(q->fail_msg, sizeof q->fail_msg,
             "%s; logd refuses writes until it is restarted. Not acknowledged: retry after the "
             "restart (a copy already logged is answered as a duplicate)",
             full ? "disk full (a storage write failed)" : "storage failed (a database write, fsync or read failed)");
    snprintf(q->fail_health, sizeof q->fail_health, "%s; writes are refused until logd is restarted",
             full ? "disk full (a storage write failed)" : "storage failed (a database write, fsync or read failed)");
    q->broken = 1;
    xt_log("logd", "sequencer: %s: %s; refusing writes and checkpoints until restarted (RocksDB's "
           "recovery then keeps what was synced)", full ? "disk full" : "storage failed", why);
  }
  pthread_mutex_unlock(&q->mu);
}

static int is_broken(logd_seq *q) {
  pthread_mutex_lock(&q->mu);
  int b = q->broken;
  pthread_mutex_unlock(&q->mu);
  return b;
}

/* Whether the store's disk has less than cfg.min_free_bytes free; then msg says so.
 * When statvfs itself fails, writes go on (RocksDB will say if the disk is full). */
static int disk_low(logd_seq *q, char *msg, size_t cap) {
  if (!q->cfg.min_free_bytes) return 0;
  uint64_t avail = 0;
  char err[300];
  if (store_free_bytes(q->store, &avail, err, sizeof err)) return 0;
  int low = avail < q->cfg.min_free_bytes;
  int was = atomic_exchange(&q->disk_low, low);
  unsigned long long mib = (unsigned long long)(avail >> 20),
                     need = (unsigned long long)(q->cfg.min_free_bytes >> 20);
  if (low && !was)
    xt_log("logd", "sequencer: disk nearly full (%llu MiB free, --min-free-mb %llu): refusing "
           "writes (507) until space is freed", mib, need);
  if (!low && was) xt_log("logd", "sequencer: %llu MiB free again: accepting writes", mib);
  if (low)
    snprintf(msg, cap, "disk nearly full: %llu MiB free, writes need %llu MiB (logd --min-free-mb); "
             "nothing was logged, retry once space is freed", mib, need);
  return low;
}

/* Sequences one group into f (the tree, edge tiles and bundle advance; nothing is
 * written). Returns 0, or -1 when preparing failed: then the submissions are failed
 * and the caller must reload the state once the writer is idle.
 * Longer than our ~100-line rule on purpose: its phases (dedup against the store,
 * all-or-none size checks, in-group dedup and append, index ops, chunking) share the
 * group's failure state and the batch being built, and reading them in one place is
 * how the all-or-none promise is checked; split, each piece would need all of it. */
static int prepare_batch(logd_seq *q, seq_sub *list, int ckpt_due, inflight *f) {
  char err[300];
  size_t total = 0;
  for (seq_sub *s = list; s; s = s->next) total += s->events.count;
  f->list = list;
  f->total = total;
  f->has_write = 0;
  f->with_note = 0;
  f->new_bytes = 0;
  q->batch = f->batch;
  store_batch_clear(q->batch);
  if (dmap_prepare(q, total)) {
    fail_all(list, 503, "out of memory, try again");
    return -1;
  }
  uint64_t ts = now_real_ms();
  if (ts < q->last_ts) ts = q->last_ts;
  uint64_t start_size = q->tree.size;
  int failed = 0;
  q->chunk_first = start_size;
  q->chunk_off = q->bundle_len;
  q->nix = 0;

  /* One batched lookup for every dedup key of the group: whether an earlier batch
   * already logged the event, and where. The batch before this one may still be in
   * flight: its keys are in prev_dmap. */
  for (seq_sub *s = list; s && !failed; s = s->next) {
    if (store_get_dedup_many(q->store, s->events.count, (const uint8_t (*)[32])s->dedup, s->index,
                             s->dup, err, sizeof err))
      failed = 1;
    for (size_t i = 0; i < s->events.count; i++) s->dup[i] = s->dup[i] ? PRIOR_COPY : 0;
  }
  for (seq_sub *s = list; s && !failed; s = s->next) {
    s->status = 0;
    /* All or none: check every event's size before appending any. */
    for (size_t i = 0; i < s->events.count; i++) {
      size_t len = event_entry_len(s->events.canon_len[i], s->submitter, ts);
      if (len > q->cfg.max_entry_bytes || len > EVENT_ENTRY_HARD_MAX) {
        s->status = 413;
        snprintf(s->error, sizeof s->error, "event %zu: entry is %zu bytes, the limit is %zu", i,
                 len, q->cfg.max_entry_bytes);
        break;
      }
    }
    if (s->status) continue;
    for (size_t i = 0; i < s->events.count && !failed; i++) {
      const uint8_t *key = s->dedup[i];
      dmap_slot *slot = dmap_find(q, key);
      const dmap_slot *prev;
      if (slot->used) {
        s->index[i] = slot->index;
        memcpy(s->leaf[i], slot->leaf, MERKLE_HASH_SIZE);
        s->dup[i] = 1;
        continue;
      }
      if ((prev = prev_find(q, key)) != NULL) {
        s->index[i] = prev->index;
        memcpy(s->leaf[i], prev->leaf, MERKLE_HASH_SIZE);
        s->dup[i] = 1;
        *slot = *prev;
        continue;
      }
      uint64_t idx = s->index[i];
      if (s->dup[i] == PRIOR_COPY && idx < start_size) {
        s->dup[i] = 1;
        /* The first copy is durable, so its leaf hash is in a stored level-0 tile. */
        store_reader rd;
        store_reader_init(&rd, q->store);
        if (store_read_nodes(&rd, 0, idx, 1, &s->leaf[i])) {
          snprintf(err, sizeof err, "%s", rd.err);
          failed = 1;
        }
        store_reader_done(&rd);
        memcpy(slot->key, key, STORE_KEY_PREFIX);
        memcpy(slot->leaf, s->leaf[i], MERKLE_HASH_SIZE);
        slot->index = idx;
        slot->used = 1;
        continue;
      }
      size_t len = event_entry_build(q->entry_buf, EVENT_ENTRY_HARD_MAX + 1, s->events.canon[i],
                                     s->events.canon_len[i], s->submitter, ts);
      idx = q->tree.size;
      f->new_bytes += len;
      merkle_leaf_hash((const uint8_t *)q->entry_buf, len, s->leaf[i]);
      int mrc = merkle_tree_append(&q->tree, s->leaf[i], sink, q);
      if (mrc || bundle_add(q, q->entry_buf, len)) {
        snprintf(err, sizeof err, "cannot append: %s", mrc ? merkle_status_str(mrc) : "out of memory");
        failed = 1;
        break;
      }
      if (idx % TILE_WIDTH == TILE_WIDTH - 1) {
        /* The tile is complete (the sink stored its hashes): store the bundle
         * whole and drop the chunks it replaces, in this same write. */
        store_batch_put_tile(q->batch, STORE_ENTRIES_LEVEL, idx / TILE_WIDTH, q->bundle, q->bundle_len);
        for (size_t c = 0; c < q->nchunks; c++) {
          store_batch_delete_chunk(q->batch, 0, q->chunk_starts[c]);
          store_batch_delete_chunk(q->batch, STORE_ENTRIES_LEVEL, q->chunk_starts[c]);
        }
        q->nchunks = 0;
        q->bundle_len = 0;
        q->bundle_dirty = 0;
        q->chunk_first = idx + 1;
        q->chunk_off = 0;
      }
      if (ix_push(q, 'D', key, idx) || ix_push(q, 'H', s->leaf[i], idx)) {
        snprintf(err, sizeof err, "out of memory");
        failed = 1;
        break;
      }
      memcpy(slot->key, key, STORE_KEY_PREFIX);
      memcpy(slot->leaf, s->leaf[i], MERKLE_HASH_SIZE);
      slot->index = idx;
      slot->used = 1;
      s->index[i] = idx;
      s->dup[i] = 0;
    }
  }
  if (failed) {
    atomic_fetch_add(&q->metrics.write_errors, 1);
    xt_log("logd", "sequencer: batch of %zu events failed, nothing acknowledged: %s", total, err);
    fail_all(list, 503, "storage read failed; nothing was logged, try again");
    return -1;
  }

  q->last_ts = ts;
  f->start_size = start_size;
  f->size = q->tree.size;
  merkle_tree_root(&q->tree, f->root);
  if (q->tree.size > start_size) {
    uint64_t size = q->tree.size;
    for (unsigned L = 1; L < TILE_LEVELS; L++) {
      uint64_t n = size >> (8 * L);
      unsigned w = (unsigned)(n % TILE_WIDTH);
      if (w && q->edge[L].dirty) {
        store_batch_put_tile(q->batch, L, n / TILE_WIDTH, &q->edge[L].h[0][0], (size_t)w * 32);
        q->edge[L].dirty = 0;
      }
    }
    /* This batch's part of the right-edge level-0 tile and bundle: one chunk each. */
    if (size > q->chunk_first) {
      unsigned from = (unsigned)(q->chunk_first % TILE_WIDTH), to = (unsigned)(size % TILE_WIDTH);
      store_batch_put_chunk(q->batch, 0, q->chunk_first, &q->edge[0].h[from][0], (size_t)(to - from) * 32);
      store_batch_put_chunk(q->batch, STORE_ENTRIES_LEVEL, q->chunk_first, q->bundle + q->chunk_off,
                            q->bundle_len - q->chunk_off);
      q->chunk_starts[q->nchunks++] = q->chunk_first;
      q->edge[0].dirty = 0;
      q->bundle_dirty = 0;
    }
    /* The store logs index ops as one sequential record and sorts them when it
     * merges them in the background: no sorting here. */
    for (size_t k = 0; k < q->nix; k++) {
      if (q->ix[k].tag == 'D') store_batch_put_dedup(q->batch, q->ix[k].key, q->ix[k].index);
      else store_batch_put_hash(q->batch, q->ix[k].key, q->ix[k].index);
    }
    store_batch_put_size(q->batch, size);
    /* A checkpoint that is due rides in the same synced write as the entries. */
    if (ckpt_due && make_note(q, f->note, NOTE_MAX_SIZE, &f->note_len, &f->note_cp) == 0) {
      store_batch_put_checkpoint(q->batch, f->note_cp.size, f->note, f->note_len);
      f->with_note = 1;
      q->last_ckpt_mono = now_mono_ms();
    }
    f->has_write = 1;
  }
  return 0;
}

/* The writer's half: one synced write, then publish and complete. */
static int commit_batch(logd_seq *q, inflight *f) {
  char err[300];
  if (f->has_write) {
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    store_err rc = store_batch_write(q->store, f->batch, err, sizeof err);
    clock_gettime(CLOCK_MONOTONIC, &b);
    if (rc) {
      atomic_fetch_add(&q->metrics.write_errors, 1);
      xt_log("logd", "sequencer: batch of %zu events failed, nothing acknowledged: %s", f->total, err);
      storage_failed(q, rc, err);
      fail_all(f->list, (int)q->fail_status, q->fail_msg);
      f->list = NULL;
      return -1;
    }
    uint64_t us = (uint64_t)(b.tv_sec - a.tv_sec) * 1000000 + (uint64_t)((b.tv_nsec - a.tv_nsec) / 1000);
    atomic_fetch_add(&q->metrics.fsync_count, 1);
    atomic_fetch_add(&q->metrics.fsync_us_sum, us);
    for (int i = 0; i < SEQ_FSYNC_BUCKETS; i++)
      if ((double)us / 1000.0 <= seq_fsync_bucket_ms[i]) {
        atomic_fetch_add(&q->metrics.fsync_bucket[i], 1);
        break;
      }
    atomic_fetch_add(&q->metrics.batches, 1);
    atomic_fetch_add(&q->metrics.entries, f->size - f->start_size);
    atomic_fetch_add(&q->metrics.entry_bytes, f->new_bytes);
    /* The tree first: whoever sees the checkpoint can read proofs up to its size. */
    publish_size(q, f->size, f->root);
    if (f->with_note) publish_note(q, f->note, f->note_len, &f->note_cp);
  }

  /* Complete: either now, or when a checkpoint covers the submission. */
  seq_sub *list = f->list;
  f->list = NULL;
  while (list) {
    seq_sub *s = list;
    list = s->next;
    s->next = NULL;
    if (s->status) {
      complete(s);
      continue;
    }
    uint64_t need = 0;
    for (size_t i = 0; i < s->events.count; i++) {
      if (s->dup[i]) atomic_fetch_add(&q->metrics.duplicates, 1);
      if (s->index[i] + 1 > need) need = s->index[i] + 1;
    }
    s->need_size = need;
    if (s->want_checkpoint) {
      s->next = q->waiters;
      q->waiters = s;
    } else {
      complete(s);
    }
  }
  /* Duplicates may already be covered by the published checkpoint. */
  if (q->waiters) wake_waiters(q, NULL);
  return 0;
}

static void *writer_main(void *arg) {
  logd_seq *q = arg;
  pthread_mutex_lock(&q->wmu);
  for (;;) {
    while (!q->wjob && !q->wstop) pthread_cond_wait(&q->wcv, &q->wmu);
    if (!q->wjob) break;
    inflight *f = q->wjob;
    pthread_mutex_unlock(&q->wmu);
    int rc = commit_batch(q, f);
    pthread_mutex_lock(&q->wmu);
    if (rc) q->wfailed = 1;
    q->wjob = NULL;
    pthread_cond_broadcast(&q->wcv);
  }
  pthread_mutex_unlock(&q->wmu);
  return NULL;
}

/* Waits until no batch is in flight; returns whether the last one failed (and
 * clears that). */
static int writer_idle(logd_seq *q) {
  pthread_mutex_lock(&q->wmu);
  while (q->wjob) pthread_cond_wait(&q->wcv, &q->wmu);
  int failed = q->wfailed;
  q->wfailed = 0;
  pthread_mutex_unlock(&q->wmu);
  return failed;
}

/* After a failure: rebuild everything from what is durable. Writer idle. */
static void reload(logd_seq *q) {
  char lerr[300];
  dmap_reset(q);
  if (load_state(q, lerr, sizeof lerr)) storage_failed(q, STORE_EIO, lerr);
}

/* Prepares a group and hands it to the writer once the previous one is done. */
static void run_batch(logd_seq *q, seq_sub *list, int ckpt_due) {
  inflight *f = &q->fl[q->cur];
  if (prepare_batch(q, list, ckpt_due, f)) {
    writer_idle(q);
    reload(q);
    return;
  }
  if (writer_idle(q)) {
    /* The batch before failed (storage failed for good), and this one was built on
     * top of it. */
    fail_all(f->list, (int)q->fail_status, q->fail_msg);
    f->list = NULL;
    return;
  }
  pthread_mutex_lock(&q->wmu);
  q->wjob = f;
  pthread_cond_signal(&q->wcv);
  pthread_mutex_unlock(&q->wmu);
  q->cur ^= 1;
}

/* Completes the waiters a published checkpoint covers; with fail_msg, fails the
 * others with 503 (their entries are logged; only the receipt is missing). */
static void wake_waiters(logd_seq *q, const char *fail_msg) {
  uint64_t covered;
  int have;
  ckpt_state(q, &covered, &have);
  seq_sub **pp = &q->waiters;
  while (*pp) {
    seq_sub *s = *pp;
    if (have && s->need_size <= covered) {
      *pp = s->next;
      s->next = NULL;
      pthread_mutex_lock(&q->pub_mu);
      s->checkpoint = q->pub_note ? malloc(q->pub_note_len + 1) : NULL;
      if (s->checkpoint) {
        memcpy(s->checkpoint, q->pub_note, q->pub_note_len + 1);
        s->checkpoint_len = q->pub_note_len;
        s->checkpoint_size = q->pub_note_size;
      }
      pthread_mutex_unlock(&q->pub_mu);
      if (!s->checkpoint) {
        s->status = 503;
        snprintf(s->error, sizeof s->error, "out of memory; the entries are logged, retry to get the checkpoint");
      }
      complete(s);
    } else if (fail_msg) {
      *pp = s->next;
      s->next = NULL;
      s->status = 503;
      snprintf(s->error, sizeof s->error, "%s", fail_msg);
      complete(s);
    } else {
      pp = &s->next;
    }
  }
}

/* Signs a checkpoint of the current tree into note (NUL-terminated). */
static int make_note(logd_seq *q, char *note, size_t cap, size_t *note_len, checkpoint *c) {
  char err[300], body[NOTE_NAME_MAX + 128];
  size_t body_len;
  memset(c, 0, sizeof *c);
  snprintf(c->origin, sizeof c->origin, "%s", q->signer.verifier.name);
  c->size = q->tree.size;
  merkle_tree_root(&q->tree, c->root);
  if (checkpoint_format(c, body, sizeof body, &body_len, err, sizeof err) ||
      note_sign(&q->signer, body, body_len, note, cap - 1, note_len, err, sizeof err)) {
    xt_log("logd", "sequencer: cannot sign a checkpoint: %s", err);
    return -1;
  }
  note[*note_len] = 0;
  return 0;
}

/* After the note is durable: serve it. */
static int publish_note(logd_seq *q, const char *note, size_t note_len, const checkpoint *c) {
  char *copy = malloc(note_len + 1);
  if (!copy) return -1;
  memcpy(copy, note, note_len + 1);
  pthread_mutex_lock(&q->pub_mu);
  free(q->pub_note);
  q->pub_note = copy;
  q->pub_note_len = note_len;
  q->pub_note_size = c->size;
  memcpy(q->pub_note_root, c->root, MERKLE_HASH_SIZE);
  q->pub_note_mono = now_mono_ms();
  q->ckpt_size = c->size;
  q->have_ckpt = 1;
  seq_publish_fn hook = q->pub_hook;
  void *hook_ctx = q->pub_hook_ctx;
  pthread_mutex_unlock(&q->pub_mu);
  atomic_fetch_add(&q->metrics.checkpoints, 1);
  if (hook) hook(hook_ctx, c->size, c->root, note, note_len);
  return 0;
}

void seq_set_publish_hook(logd_seq *q, seq_publish_fn fn, void *ctx) {
  pthread_mutex_lock(&q->pub_mu);
  q->pub_hook = fn;
  q->pub_hook_ctx = ctx;
  pthread_mutex_unlock(&q->pub_mu);
}

static int sign_checkpoint(logd_seq *q) {
  char err[300], note[NOTE_MAX_SIZE];
  size_t note_len;
  checkpoint c;
  if (make_note(q, note, sizeof note, &note_len, &c)) return -1;
  store_batch_clear(q->sbatch);
  store_batch_put_checkpoint(q->sbatch, c.size, note, note_len);
  store_err se = store_batch_write(q->store, q->sbatch, err, sizeof err);
  if (se) {
    atomic_fetch_add(&q->metrics.write_errors, 1);
    xt_log("logd", "sequencer: cannot store checkpoint %" PRIu64 ", not published: %s", c.size, err);
    storage_failed(q, se, err);
    return -1;
  }
  return publish_note(q, note, note_len, &c);
}

static void *seq_main(void *arg) {
  logd_seq *q = arg;
  for (;;) {
    uint64_t ckpt_size;
    int have_ckpt;
    pthread_mutex_lock(&q->mu);
    for (;;) {
      if (q->head || q->stopping) break;
      ckpt_state(q, &ckpt_size, &have_ckpt);
      /* Once storage failed no checkpoint is due: the tree may hold what never
       * became durable. */
      if (!q->broken && (q->tree.size > ckpt_size || !have_ckpt)) {
        uint64_t due = q->last_ckpt_mono + q->cfg.interval_ms;
        uint64_t now = now_mono_ms();
        if (now >= due) break;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t ns = (uint64_t)ts.tv_nsec + (due - now) * 1000000ull;
        ts.tv_sec += (time_t)(ns / 1000000000ull);
        ts.tv_nsec = (long)(ns % 1000000000ull);
        pthread_cond_timedwait(&q->cv, &q->mu, &ts);
      } else {
        pthread_cond_wait(&q->cv, &q->mu);
      }
    }
    seq_sub *list = q->head;
    q->head = q->tail = NULL;
    atomic_store(&q->metrics.queue_entries, 0);
    atomic_store(&q->metrics.queue_bytes, 0);
    int stopping = q->stopping;
    pthread_mutex_unlock(&q->mu);

    char low_msg[200];
    if (list && is_broken(q)) {
      writer_idle(q);
      fail_all(list, (int)q->fail_status, q->fail_msg);
      list = NULL;
    } else if (list && disk_low(q, low_msg, sizeof low_msg)) {
      /* Refused before anything is prepared: the sequencer's state is untouched. */
      fail_all(list, 507, low_msg);
      list = NULL;
    }
    if (list) run_batch(q, list, now_mono_ms() >= q->last_ckpt_mono + q->cfg.interval_ms);
    int broken = is_broken(q);
    if (broken) {
      /* Waiters are the writer's while a batch is in flight. */
      writer_idle(q);
      if (q->waiters)
        wake_waiters(q, "storage failed before a checkpoint covered these entries; they are "
                        "logged: retry after logd's restart for the receipt");
    }
    uint64_t now = now_mono_ms();
    ckpt_state(q, &ckpt_size, &have_ckpt);
    int sign = !broken && (q->tree.size > ckpt_size || !have_ckpt) &&
               (now >= q->last_ckpt_mono + q->cfg.interval_ms || (stopping && !list));
    if (sign || (stopping && !list)) {
      /* Checkpoints and waiters are the writer's while a batch is in flight. */
      writer_idle(q);
      ckpt_state(q, &ckpt_size, &have_ckpt);
      sign = sign && !is_broken(q) && (q->tree.size > ckpt_size || !have_ckpt);
    }
    if (sign) {
      q->last_ckpt_mono = now;
      if (sign_checkpoint(q) == 0) {
        q->sign_failures = 0;
        wake_waiters(q, NULL);
      } else if (++q->sign_failures >= 5) {
        /* Do not hold clients forever while checkpoints cannot be stored. */
        wake_waiters(q, "no checkpoint could be signed and stored (the entries are logged; "
                        "retry for the receipt)");
      }
    }
    if (stopping && !list) {
      wake_waiters(q, "shutting down before a checkpoint covered the entries (they are logged; retry)");
      break;
    }
  }
  return NULL;
}

static int check_checkpoint(logd_seq *q, char *err, size_t errcap) {
  char *note = NULL;
  size_t len = 0;
  store_err se = store_get_checkpoint(q->store, UINT64_MAX, &note, &len, err, errcap);
  if (se == STORE_NOT_FOUND) return 0;
  if (se != STORE_OK) return -1;
  checkpoint c;
  char cerr[200];
  if (checkpoint_open(&q->signer.verifier, note, len, &c, cerr, sizeof cerr)) {
    xt_errf(err, errcap,
             "the latest stored checkpoint does not verify with this log's key (%s); "
             "refusing to start (wrong key or origin for this data directory?)", cerr);
    free(note);
    return -1;
  }
  if (c.size > q->tree.size) {
    xt_errf(err, errcap,
             "the latest stored checkpoint has size %" PRIu64 " but storage holds only %" PRIu64
             " entries; refusing to start rather than publish an inconsistent tree",
             c.size, q->tree.size);
    free(note);
    return -1;
  }
  uint8_t root[MERKLE_HASH_SIZE];
  store_reader rd;
  store_reader_init(&rd, q->store);
  int rc = merkle_root_at(c.size, store_read_nodes, &rd, root);
  store_reader_done(&rd);
  if (rc || memcmp(root, c.root, MERKLE_HASH_SIZE)) {
    xt_errf(err, errcap,
             "the stored tree's root at size %" PRIu64 " differs from the latest signed "
             "checkpoint's; refusing to start",
             c.size);
    free(note);
    return -1;
  }
  q->pub_note = note;
  q->pub_note_len = len;
  q->pub_note_size = c.size;
  memcpy(q->pub_note_root, c.root, MERKLE_HASH_SIZE);
  q->ckpt_size = c.size;
  q->have_ckpt = 1;
  return 0;
}

static void seq_release(logd_seq *q) {
  for (int i = 0; i < 2; i++) {
    store_batch_free(q->fl[i].batch);
    free(q->fl[i].note);
  }
  store_batch_free(q->sbatch);
  free(q->entry_buf);
  free(q->bundle);
  free(q->dmap);
  free(q->prev_dmap);
  free(q->ix);
  free(q->pub_note);
  pthread_mutex_destroy(&q->mu);
  pthread_mutex_destroy(&q->pub_mu);
  pthread_mutex_destroy(&q->wmu);
  pthread_cond_destroy(&q->cv);
  pthread_cond_destroy(&q->wcv);
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
  q->signer = *signer;
  q->cfg = *cfg;
  pthread_mutex_init(&q->mu, NULL);
  pthread_mutex_init(&q->pub_mu, NULL);
  pthread_mutex_init(&q->wmu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&q->cv, &ca);
  pthread_condattr_destroy(&ca);
  pthread_cond_init(&q->wcv, NULL);
  int ok = 1;
  for (int i = 0; i < 2; i++) {
    q->fl[i].batch = store_batch_new(store);
    q->fl[i].note = malloc(NOTE_MAX_SIZE);
    ok = ok && q->fl[i].batch && q->fl[i].note;
  }
  q->sbatch = store_batch_new(store);
  q->entry_buf = malloc(EVENT_ENTRY_HARD_MAX + 1);
  if (!ok || !q->sbatch || !q->entry_buf) {
    xt_errf(err, errcap, "out of memory");
    seq_release(q);
    return NULL;
  }
  q->batch = q->fl[0].batch;
  if (load_state(q, err, errcap) || check_checkpoint(q, err, errcap)) {
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
  publish_tree(q);
  q->last_ckpt_mono = now_mono_ms();
  q->pub_note_mono = q->last_ckpt_mono;
  /* A restart may find entries newer than the last checkpoint: sign one soon. */
  if ((q->tree.size > q->ckpt_size || !q->have_ckpt) && q->last_ckpt_mono >= q->cfg.interval_ms)
    q->last_ckpt_mono -= q->cfg.interval_ms;
  if (pthread_create(&q->writer, NULL, writer_main, q)) {
    xt_errf(err, errcap, "cannot start the writer thread");
    seq_release(q);
    return NULL;
  }
  if (pthread_create(&q->thread, NULL, seq_main, q)) {
    pthread_mutex_lock(&q->wmu);
    q->wstop = 1;
    pthread_cond_signal(&q->wcv);
    pthread_mutex_unlock(&q->wmu);
    pthread_join(q->writer, NULL);
    xt_errf(err, errcap, "cannot start the sequencer thread");
    seq_release(q);
    return NULL;
  }
  return q;
}

void seq_stop(logd_seq *q) {
  if (!q) return;
  pthread_mutex_lock(&q->mu);
  if (q->stopping) {
    pthread_mutex_unlock(&q->mu);
    return;
  }
  q->stopping = 1;
  pthread_cond_signal(&q->cv);
  pthread_mutex_unlock(&q->mu);
  pthread_join(q->thread, NULL);
  /* The sequencer left the writer idle; stop it. */
  pthread_mutex_lock(&q->wmu);
  q->wstop = 1;
  pthread_cond_signal(&q->wcv);
  pthread_mutex_unlock(&q->wmu);
  pthread_join(q->writer, NULL);
}

void seq_free(logd_seq *q) {
  if (!q) return;
  seq_stop(q);
  seq_release(q);
}

seq_err seq_submit(logd_seq *q, seq_sub *sub) {
  pthread_mutex_lock(&q->mu);
  if (q->stopping || q->broken) {
    seq_err e = q->broken ? SEQ_EFAILED : SEQ_ESTOPPED;
    pthread_mutex_unlock(&q->mu);
    return e;
  }
  unsigned long long ne = atomic_load(&q->metrics.queue_entries);
  unsigned long long nb = atomic_load(&q->metrics.queue_bytes);
  if (q->head && (ne + sub->events.count > q->cfg.queue_max_entries ||
                  nb + sub->bytes > q->cfg.queue_max_bytes)) {
    pthread_mutex_unlock(&q->mu);
    return SEQ_EBUSY;
  }
  sub->next = NULL;
  if (q->tail) q->tail->next = sub;
  else q->head = sub;
  q->tail = sub;
  atomic_store(&q->metrics.queue_entries, ne + sub->events.count);
  atomic_store(&q->metrics.queue_bytes, nb + sub->bytes);
  pthread_cond_signal(&q->cv);
  pthread_mutex_unlock(&q->mu);
  return SEQ_OK;
}

int seq_view_get(logd_seq *q, seq_view *v, int with_note) {
  memset(v, 0, sizeof *v);
  pthread_mutex_lock(&q->pub_mu);
  v->size = q->pub_size;
  memcpy(v->root, q->pub_root, MERKLE_HASH_SIZE);
  v->note_size = q->pub_note_size;
  memcpy(v->note_root, q->pub_note_root, MERKLE_HASH_SIZE);
  int rc = 0;
  if (with_note && q->pub_note) {
    v->note = malloc(q->pub_note_len + 1);
    if (v->note) {
      memcpy(v->note, q->pub_note, q->pub_note_len + 1);
      v->note_len = q->pub_note_len;
    } else {
      rc = -1;
    }
  }
  pthread_mutex_unlock(&q->pub_mu);
  return rc;
}

void seq_view_free(seq_view *v) {
  free(v->note);
  v->note = NULL;
}

const char *seq_health(logd_seq *q) {
  pthread_mutex_lock(&q->mu);
  int broken = q->broken, queued = q->head != NULL;
  pthread_mutex_unlock(&q->mu);
  if (broken) return q->fail_health;
  char low_msg[200];
  /* Looked at again here, so health clears as soon as space is back, not only at the
   * next write. */
  if (atomic_load(&q->disk_low) && disk_low(q, low_msg, sizeof low_msg))
    return "disk nearly full (below logd --min-free-mb): writes are refused (507) until space is freed";
  pthread_mutex_lock(&q->pub_mu);
  int behind = q->pub_size > q->pub_note_size;
  uint64_t last = q->pub_note_mono;
  pthread_mutex_unlock(&q->pub_mu);
  if ((queued || behind) && now_mono_ms() > last + 3 * q->cfg.interval_ms)
    return "entries are waiting and no checkpoint was signed for 3 intervals";
  return NULL;
}

unsigned seq_refusal(logd_seq *q, char *msg, size_t msgcap) {
  pthread_mutex_lock(&q->mu);
  unsigned st = q->broken ? q->fail_status : 0;
  if (st) snprintf(msg, msgcap, "%s", q->fail_msg);
  pthread_mutex_unlock(&q->mu);
  return st;
}

seq_metrics *seq_get_metrics(logd_seq *q) { return &q->metrics; }
logd_store *seq_store(logd_seq *q) { return q->store; }
