/* replay.c: recomputing a tree from entry bundles. */
#include "client/replay.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/common.h"
#include "merkle/tile.h"

#define REPLAY_LEVELS 8

typedef struct tile_check {
  log_source *src;
  uint64_t end;
  /* The hash tile of each level currently compared against (index, width, data). */
  uint64_t index[REPLAY_LEVELS];
  unsigned width[REPLAY_LEVELS];
  uint8_t *data[REPLAY_LEVELS];
  int failed; /* 1 mismatch, 2 I/O */
  char msg[300];
} tile_check;

static void check_sink(void *ctx, unsigned level, uint64_t index, const uint8_t hash[MERKLE_HASH_SIZE]) {
  tile_check *tc = ctx;
  if (tc->failed || level % TILE_HEIGHT) return;
  unsigned L = level / TILE_HEIGHT;
  if (L >= REPLAY_LEVELS) return;
  uint64_t ti = index / TILE_WIDTH;
  if (!tc->data[L] || tc->index[L] != ti) {
    free(tc->data[L]);
    tc->data[L] = NULL;
    tile_id t = {(int)L, ti, tile_width_at((int)L, ti, tc->end)};
    size_t len = 0;
    char ferr[256];
    if (log_source_tile_fetcher(tc->src, &t, &tc->data[L], &len, ferr, sizeof ferr) != 0) {
      snprintf(tc->msg, sizeof tc->msg, "%s", ferr);
      tc->failed = 2;
      return;
    }
    if (len != (size_t)t.width * MERKLE_HASH_SIZE) {
      char name[TILE_PATH_MAX];
      tile_path_encode(&t, name, sizeof name, NULL);
      snprintf(tc->msg, sizeof tc->msg, "%s has %zu bytes, want %u", name, len, t.width * MERKLE_HASH_SIZE);
      tc->failed = 1;
      return;
    }
    tc->index[L] = ti;
    tc->width[L] = t.width;
  }
  if (memcmp(tc->data[L] + (index % TILE_WIDTH) * MERKLE_HASH_SIZE, hash, MERKLE_HASH_SIZE)) {
    tile_id t = {(int)L, ti, tc->width[L]};
    char name[TILE_PATH_MAX];
    tile_path_encode(&t, name, sizeof name, NULL);
    if (L == 0)
      snprintf(tc->msg, sizeof tc->msg, "entry %llu does not match its leaf hash in %s (tampered entry or tile)",
               (unsigned long long)index, name);
    else
      snprintf(tc->msg, sizeof tc->msg, "%s: hash %llu does not match the node recomputed from the entries",
               name, (unsigned long long)(index % TILE_WIDTH));
    tc->failed = 1;
  }
}

/* The hashing stage: entries into the tree, roots compared at the check sizes. */
typedef struct hasher {
  const replay_opts *o;
  merkle_tree t;
  tile_check tc;
  size_t next; /* next check */
  uint64_t bytes;
  int rc;
  char msg[600];
} hasher;

static int hash_bundle(hasher *h, const tile_bundle_entry *e, unsigned n) {
  const replay_opts *o = h->o;
  for (unsigned i = 0; i < n; i++) {
    uint8_t lh[MERKLE_HASH_SIZE];
    merkle_leaf_hash(e[i].data, e[i].len, lh);
    merkle_tree_append(&h->t, lh, o->check_tiles ? check_sink : NULL, &h->tc);
    h->bytes += e[i].len;
    while (h->next < o->ncheck && o->check_sizes[h->next] == h->t.size) {
      uint8_t r[MERKLE_HASH_SIZE];
      merkle_tree_root(&h->t, r);
      if (memcmp(r, o->check_roots[h->next], MERKLE_HASH_SIZE)) {
        char got[65], want[65];
        tlog_hex(r, MERKLE_HASH_SIZE, got);
        tlog_hex(o->check_roots[h->next], MERKLE_HASH_SIZE, want);
        snprintf(h->msg, sizeof h->msg, "the entries recompute to root %s at size %llu, not to %s", got,
                 (unsigned long long)h->t.size, want);
        return h->rc = 1;
      }
      h->next++;
    }
  }
  if (h->tc.failed) {
    snprintf(h->msg, sizeof h->msg, "%s", h->tc.msg);
    return h->rc = h->tc.failed;
  }
  return 0;
}

/* Bundles in flight between the reading/callback thread and the hashing thread. */
#define RING 16

typedef struct slot {
  uint8_t *data;
  unsigned n;
  tile_bundle_entry e[TILE_WIDTH];
} slot;

typedef struct pipeline {
  hasher *h;
  slot *ring;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  uint64_t published, hashed; /* bundles */
  bool closed, stop;
  pthread_t tid;
} pipeline;

static void *hash_thread(void *arg) {
  pipeline *pl = arg;
  for (uint64_t b = 0;; b++) {
    pthread_mutex_lock(&pl->mu);
    while (pl->published <= b && !pl->closed && !pl->stop) pthread_cond_wait(&pl->cv, &pl->mu);
    bool have = pl->published > b && !pl->stop;
    pthread_mutex_unlock(&pl->mu);
    if (!have) break;
    slot *sl = &pl->ring[b % RING];
    int rc = hash_bundle(pl->h, sl->e, sl->n);
    pthread_mutex_lock(&pl->mu);
    pl->hashed = b + 1;
    if (rc) pl->stop = true;
    pthread_cond_broadcast(&pl->cv);
    pthread_mutex_unlock(&pl->mu);
    if (rc) break;
  }
  return NULL;
}

int replay_run(log_source *src, const replay_opts *o, replay_stats *st, char *err, size_t errcap) {
  memset(st, 0, sizeof *st);
  hasher *h = calloc(1, sizeof *h);
  pipeline pl;
  memset(&pl, 0, sizeof pl);
  pl.ring = calloc(RING, sizeof *pl.ring);
  if (!h || !pl.ring) {
    free(h);
    free(pl.ring);
    snprintf(err, errcap, "out of memory");
    return 2;
  }
  h->o = o;
  merkle_tree_init(&h->t);
  h->tc.src = src;
  h->tc.end = o->end;
  /* Hashing gets its own thread when entries also go to a callback, unless hash
   * tiles are checked too (they are read from the same source, which is not shared
   * across threads). */
  bool threaded = o->entry && !o->check_tiles;
  bool started = false;
  pl.h = h;
  int rc = 0;
  tlog_progress p;
  tlog_progress_init(&p, o->quiet, o->what ? o->what : "replaying entries", o->end);
  double start = tlog_now();
  /* A check at size 0 compares with the empty tree. */
  while (h->next < o->ncheck && o->check_sizes[h->next] == 0) {
    uint8_t r[MERKLE_HASH_SIZE];
    merkle_empty_root(r);
    if (memcmp(r, o->check_roots[h->next], MERKLE_HASH_SIZE)) {
      snprintf(err, errcap, "root at size 0 is not the empty tree's root");
      rc = 1;
      goto done;
    }
    h->next++;
  }
  if (threaded) {
    pthread_mutex_init(&pl.mu, NULL);
    pthread_cond_init(&pl.cv, NULL);
    if (pthread_create(&pl.tid, NULL, hash_thread, &pl) != 0) {
      threaded = false;
    } else {
      started = true;
    }
  }
  for (uint64_t b = 0; b * TILE_WIDTH < o->end; b++) {
    slot *sl = &pl.ring[b % RING];
    if (threaded) {
      /* Reuse the slot only once the hasher is done with its old bundle. */
      pthread_mutex_lock(&pl.mu);
      while (pl.hashed + RING <= b && !pl.stop) pthread_cond_wait(&pl.cv, &pl.mu);
      bool stop = pl.stop;
      pthread_mutex_unlock(&pl.mu);
      if (stop) break;
    }
    free(sl->data);
    sl->data = NULL;
    tile_id id = {TILE_LEVEL_ENTRIES, b, tile_width_at(TILE_LEVEL_ENTRIES, b, o->end)};
    size_t len = 0;
    char ferr[300];
    if (log_source_tile_fetcher(src, &id, &sl->data, &len, ferr, sizeof ferr) != 0) {
      snprintf(err, errcap, "%s", ferr);
      rc = 2;
      break;
    }
    if (tile_bundle_parse(sl->data, len, id.width, sl->e) != MERKLE_OK) {
      char name[TILE_PATH_MAX];
      tile_path_encode(&id, name, sizeof name, NULL);
      snprintf(err, errcap, "%s is not a well-formed bundle of %u entries", name, id.width);
      rc = 1;
      break;
    }
    sl->n = id.width;
    if (threaded) {
      pthread_mutex_lock(&pl.mu);
      pl.published = b + 1;
      pthread_cond_broadcast(&pl.cv);
      pthread_mutex_unlock(&pl.mu);
    } else if (hash_bundle(h, sl->e, sl->n)) {
      break;
    }
    if (o->entry) {
      for (unsigned i = 0; i < sl->n && !rc; i++) {
        uint64_t idx = b * TILE_WIDTH + i;
        int e = o->entry(o->ctx, idx, sl->e[i].data, sl->e[i].len);
        if (e) {
          rc = e;
          snprintf(err, errcap, "stopped at entry %llu", (unsigned long long)idx);
        }
      }
      if (rc) break;
    }
    st->entries = b * TILE_WIDTH + sl->n;
    tlog_progress_update(&p, st->entries);
  }
done:
  if (started) {
    /* The hasher drains what was published (or stops at once after a failure). */
    pthread_mutex_lock(&pl.mu);
    pl.closed = true;
    if (rc) pl.stop = true;
    pthread_cond_broadcast(&pl.cv);
    pthread_mutex_unlock(&pl.mu);
    pthread_join(pl.tid, NULL);
    pthread_mutex_destroy(&pl.mu);
    pthread_cond_destroy(&pl.cv);
  }
  tlog_progress_done(&p);
  if (!rc && h->rc) {
    snprintf(err, errcap, "%s", h->msg);
    rc = h->rc;
  }
  if (!rc && h->next < o->ncheck) {
    snprintf(err, errcap, "size %llu to check is beyond the replayed %llu entries",
             (unsigned long long)o->check_sizes[h->next], (unsigned long long)o->end);
    rc = 2;
  }
  merkle_tree_root(&h->t, st->root);
  st->entries = h->t.size;
  st->entry_bytes = h->bytes;
  st->seconds = tlog_now() - start;
  for (unsigned L = 0; L < REPLAY_LEVELS; L++) free(h->tc.data[L]);
  for (unsigned i = 0; i < RING; i++) free(pl.ring[i].data);
  free(pl.ring);
  free(h);
  return rc;
}
