/* replay.c: recomputing a tree from entry bundles. */
#include "client/replay.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/hex.h"
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
        xt_hex_encode(r, MERKLE_HASH_SIZE, got);
        xt_hex_encode(o->check_roots[h->next], MERKLE_HASH_SIZE, want);
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

/* ---- the parallel path (entries to a callback, no tile comparison) ----
 *
 * Bundles are hashed independently: 256 leaf hashes folded into the bundle's subtree
 * root (the level-8 node), by whichever thread is free: a hashing thread, or the main
 * thread between its callbacks. The main thread merges the bundle roots in order into
 * a compact tree of level-8 nodes, which is the compact range of the whole tree at
 * every multiple of 256 (merkle.h: one peak per set bit, largest first); a check size
 * inside a bundle is the merged peaks plus that bundle's first leaves. */

#define RING 16

enum { SLOT_FREE, SLOT_READY, SLOT_CLAIMED, SLOT_HASHED };

typedef struct slot {
  uint8_t *data;
  unsigned n;
  int state;
  tile_bundle_entry e[TILE_WIDTH];
  uint8_t leaves[TILE_WIDTH][MERKLE_HASH_SIZE];
  uint8_t root[MERKLE_HASH_SIZE];
} slot;

typedef struct pipeline {
  slot *ring;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  uint64_t published, claimed; /* bundles read; bundles taken for hashing */
  bool closed;
  int waiting; /* threads blocked in pthread_cond_wait: wake only them */
  pthread_t tid;
} pipeline;

/* Leaf hashes of a bundle and, for a full one, the root of its 256-leaf subtree.
 * All hashing goes through the merkle module (OpenSSL's SHA-256); the replay's speed
 * comes from spreading bundles over threads, not from a SHA-256 of our own. */
static void hash_slot(slot *sl) {
  for (unsigned i = 0; i < sl->n; i++) merkle_leaf_hash(sl->e[i].data, sl->e[i].len, sl->leaves[i]);
  if (sl->n != TILE_WIDTH) return;
  uint8_t level[TILE_WIDTH / 2][MERKLE_HASH_SIZE];
  for (unsigned i = 0; i < TILE_WIDTH / 2; i++) merkle_node_hash(sl->leaves[2 * i], sl->leaves[2 * i + 1], level[i]);
  for (unsigned n = TILE_WIDTH / 2; n > 1; n /= 2)
    for (unsigned i = 0; i < n / 2; i++) merkle_node_hash(level[2 * i], level[2 * i + 1], level[i]);
  memcpy(sl->root, level[0], MERKLE_HASH_SIZE);
}

/* Claims the oldest unhashed bundle, hashes it and marks it; false if none. Called
 * with the mutex held; returns with it held. */
static bool hash_one(pipeline *pl) {
  if (pl->claimed >= pl->published) return false;
  slot *sl = &pl->ring[pl->claimed++ % RING];
  sl->state = SLOT_CLAIMED;
  pthread_mutex_unlock(&pl->mu);
  hash_slot(sl);
  pthread_mutex_lock(&pl->mu);
  sl->state = SLOT_HASHED;
  if (pl->waiting) pthread_cond_broadcast(&pl->cv);
  return true;
}

static void *hash_thread(void *arg) {
  pipeline *pl = arg;
  pthread_mutex_lock(&pl->mu);
  for (;;) {
    if (hash_one(pl)) continue;
    if (pl->closed) break;
    pl->waiting++;
    pthread_cond_wait(&pl->cv, &pl->mu);
    pl->waiting--;
  }
  pthread_mutex_unlock(&pl->mu);
  return NULL;
}

/* The tree of `bundles` full bundles (their roots merged into bt) plus `extra`
 * leaves. */
static void tree_at(const merkle_tree *bt, const uint8_t (*leaves)[MERKLE_HASH_SIZE], unsigned extra,
                    merkle_tree *t) {
  merkle_tree_init(t);
  t->size = bt->size * TILE_WIDTH;
  t->npeaks = bt->npeaks;
  memcpy(t->peaks, bt->peaks, sizeof t->peaks[0] * bt->npeaks);
  for (unsigned i = 0; i < extra; i++) merkle_tree_append(t, leaves[i], NULL, NULL);
}

/* Kept as one function (~150 lines) on purpose: the reader threads, the in-order
 * hand-off of bundles and the stop conditions share one set of locals whose invariants
 * (every bundle below `next` delivered once, in order) are easier to check in one place
 * than across helpers passing the same state around. */
static int replay_parallel(log_source *src, const replay_opts *o, replay_stats *st, size_t next, char *err,
                           size_t errcap) {
  pipeline pl;
  memset(&pl, 0, sizeof pl);
  pl.ring = calloc(RING, sizeof *pl.ring);
  if (!pl.ring) {
    xt_errf(err, errcap, "out of memory");
    return 2;
  }
  pthread_mutex_init(&pl.mu, NULL);
  pthread_cond_init(&pl.cv, NULL);
  bool started = pthread_create(&pl.tid, NULL, hash_thread, &pl) == 0;
  merkle_tree bt; /* level-8 nodes: one per merged full bundle */
  merkle_tree_init(&bt);
  uint64_t merged = 0, nb = (o->end + TILE_WIDTH - 1) / TILE_WIDTH, bytes = 0;
  int rc = 0;
  tlog_progress p;
  tlog_progress_init(&p, o->quiet, o->what ? o->what : "replaying entries", o->end);
  double start = tlog_now();
  uint8_t final_root[MERKLE_HASH_SIZE];
  merkle_empty_root(final_root);
  bool http = log_source_is_http(src);
  uint8_t *pre_data[FETCH_MAX_CONCURRENT] = {0};
  size_t pre_len[FETCH_MAX_CONCURRENT], pre_n = 0;
  uint64_t pre_first = 0;
  for (uint64_t b = 0; b <= nb && !rc; b++) {
    /* Merge every hashed bundle in order; before reusing a slot, or at the end, wait
     * for (or do) the hashing of the bundles in the way. */
    for (;;) {
      pthread_mutex_lock(&pl.mu);
      bool must = merged < pl.published && (merged + RING <= b || b == nb);
      slot *sl = merged < pl.published ? &pl.ring[merged % RING] : NULL;
      while (must && sl->state != SLOT_HASHED) {
        if (!hash_one(&pl)) {
          pl.waiting++;
          pthread_cond_wait(&pl.cv, &pl.mu);
          pl.waiting--;
        }
      }
      bool ready = sl && sl->state == SLOT_HASHED;
      pthread_mutex_unlock(&pl.mu);
      if (!ready) break;
      uint64_t base = merged * TILE_WIDTH;
      while (next < o->ncheck && o->check_sizes[next] <= base + sl->n) {
        merkle_tree t;
        uint8_t r[MERKLE_HASH_SIZE];
        tree_at(&bt, (const uint8_t(*)[MERKLE_HASH_SIZE])sl->leaves, (unsigned)(o->check_sizes[next] - base), &t);
        merkle_tree_root(&t, r);
        if (memcmp(r, o->check_roots[next], MERKLE_HASH_SIZE)) {
          char got[65], want[65];
          xt_hex_encode(r, MERKLE_HASH_SIZE, got);
          xt_hex_encode(o->check_roots[next], MERKLE_HASH_SIZE, want);
          xt_errf(err, errcap, "the entries recompute to root %s at size %llu, not to %s", got,
                   (unsigned long long)o->check_sizes[next], want);
          rc = 1;
          break;
        }
        next++;
      }
      if (rc) break;
      if (sl->n == TILE_WIDTH) {
        merkle_tree_append(&bt, sl->root, NULL, NULL);
      } else {
        merkle_tree t;
        tree_at(&bt, (const uint8_t(*)[MERKLE_HASH_SIZE])sl->leaves, sl->n, &t);
        merkle_tree_root(&t, final_root);
      }
      st->entries = base + sl->n;
      sl->state = SLOT_FREE;
      merged++;
    }
    if (rc || b == nb) break;
    slot *sl = &pl.ring[b % RING];
    free(sl->data);
    sl->data = NULL;
    tile_id id = {TILE_LEVEL_ENTRIES, b, tile_width_at(TILE_LEVEL_ENTRIES, b, o->end)};
    size_t len = 0;
    char ferr[300];
    if (http) {
      /* Over HTTP, read ahead a batch of bundles at once: their round trips overlap. */
      if (b >= pre_first + pre_n) {
        pre_first = b;
        pre_n = nb - b < FETCH_MAX_CONCURRENT ? (size_t)(nb - b) : FETCH_MAX_CONCURRENT;
        tile_id ids[FETCH_MAX_CONCURRENT];
        for (size_t j = 0; j < pre_n; j++)
          ids[j] = (tile_id){TILE_LEVEL_ENTRIES, b + j, tile_width_at(TILE_LEVEL_ENTRIES, b + j, o->end)};
        if (log_source_fetch_tiles(src, ids, pre_n, pre_data, pre_len, ferr, sizeof ferr) != 0) {
          xt_errf(err, errcap, "%s", ferr);
          rc = 2;
          break;
        }
      }
      sl->data = pre_data[b - pre_first];
      len = pre_len[b - pre_first];
      pre_data[b - pre_first] = NULL;
    } else if (log_source_tile_fetcher(src, &id, &sl->data, &len, ferr, sizeof ferr) != 0) {
      xt_errf(err, errcap, "%s", ferr);
      rc = 2;
      break;
    }
    if (tile_bundle_parse(sl->data, len, id.width, sl->e) != MERKLE_OK) {
      char name[TILE_PATH_MAX];
      tile_path_encode(&id, name, sizeof name, NULL);
      xt_errf(err, errcap, "%s is not a well-formed bundle of %u entries", name, id.width);
      rc = 1;
      break;
    }
    sl->n = id.width;
    for (unsigned i = 0; i < sl->n; i++) bytes += sl->e[i].len;
    pthread_mutex_lock(&pl.mu);
    sl->state = SLOT_READY;
    pl.published = b + 1;
    /* Wake the hashing thread for a few bundles at a time, not for each: a wakeup
     * costs about as much as hashing a few thousand entries' worth of kernel time.
     * Nothing waits on an unclaimed bundle (the main thread hashes those itself). */
    if (pl.waiting && pl.published - pl.claimed >= 4) pthread_cond_broadcast(&pl.cv);
    pthread_mutex_unlock(&pl.mu);
    for (unsigned i = 0; i < sl->n && !rc; i++) {
      uint64_t idx = b * TILE_WIDTH + i;
      int e = o->entry(o->ctx, idx, sl->e[i].data, sl->e[i].len);
      if (e) {
        rc = e;
        xt_errf(err, errcap, "stopped at entry %llu", (unsigned long long)idx);
      }
    }
    /* Help with the hashing when it lags behind the reading (or runs alone). */
    pthread_mutex_lock(&pl.mu);
    if (!rc && (!started || pl.claimed + 1 < pl.published)) hash_one(&pl);
    pthread_mutex_unlock(&pl.mu);
    tlog_progress_update(&p, (b + 1) * TILE_WIDTH < o->end ? (b + 1) * TILE_WIDTH : o->end);
  }
  pthread_mutex_lock(&pl.mu);
  pl.closed = true;
  pthread_cond_broadcast(&pl.cv);
  pthread_mutex_unlock(&pl.mu);
  if (started) pthread_join(pl.tid, NULL);
  pthread_mutex_destroy(&pl.mu);
  pthread_cond_destroy(&pl.cv);
  tlog_progress_done(&p);
  if (!rc && next < o->ncheck) {
    xt_errf(err, errcap, "size %llu to check is beyond the replayed %llu entries",
             (unsigned long long)o->check_sizes[next], (unsigned long long)o->end);
    rc = 2;
  }
  if (o->end % TILE_WIDTH == 0) merkle_tree_root(&bt, final_root);
  memcpy(st->root, final_root, MERKLE_HASH_SIZE);
  st->entry_bytes = bytes;
  st->seconds = tlog_now() - start;
  for (unsigned i = 0; i < RING; i++) free(pl.ring[i].data);
  for (size_t j = 0; j < FETCH_MAX_CONCURRENT; j++) free(pre_data[j]);
  free(pl.ring);
  return rc;
}

/* ---- the serial path (with tile comparison, or without a callback) ---- */

tlog_err replay_run(log_source *src, const replay_opts *o, replay_stats *st, char *err, size_t errcap) {
  memset(st, 0, sizeof *st);
  size_t next = 0;
  /* A check at size 0 compares with the empty tree. */
  while (next < o->ncheck && o->check_sizes[next] == 0) {
    uint8_t r[MERKLE_HASH_SIZE];
    merkle_empty_root(r);
    if (memcmp(r, o->check_roots[next], MERKLE_HASH_SIZE)) {
      xt_errf(err, errcap, "root at size 0 is not the empty tree's root");
      return 1;
    }
    next++;
  }
  if (o->entry && !o->check_tiles) return replay_parallel(src, o, st, next, err, errcap);
  hasher *h = calloc(1, sizeof *h);
  tile_bundle_entry *e = malloc(TILE_WIDTH * sizeof *e);
  if (!h || !e) {
    free(h);
    free(e);
    xt_errf(err, errcap, "out of memory");
    return 2;
  }
  h->o = o;
  h->next = next;
  merkle_tree_init(&h->t);
  h->tc.src = src;
  h->tc.end = o->end;
  int rc = 0;
  tlog_progress p;
  tlog_progress_init(&p, o->quiet, o->what ? o->what : "replaying entries", o->end);
  double start = tlog_now();
  for (uint64_t b = 0; b * TILE_WIDTH < o->end && !rc; b++) {
    tile_id id = {TILE_LEVEL_ENTRIES, b, tile_width_at(TILE_LEVEL_ENTRIES, b, o->end)};
    uint8_t *data = NULL;
    size_t len = 0;
    char ferr[300];
    if (log_source_tile_fetcher(src, &id, &data, &len, ferr, sizeof ferr) != 0) {
      xt_errf(err, errcap, "%s", ferr);
      rc = 2;
      break;
    }
    if (tile_bundle_parse(data, len, id.width, e) != MERKLE_OK) {
      char name[TILE_PATH_MAX];
      tile_path_encode(&id, name, sizeof name, NULL);
      xt_errf(err, errcap, "%s is not a well-formed bundle of %u entries", name, id.width);
      free(data);
      rc = 1;
      break;
    }
    if (hash_bundle(h, e, id.width)) {
      xt_errf(err, errcap, "%s", h->msg);
      rc = h->rc;
    }
    for (unsigned i = 0; o->entry && i < id.width && !rc; i++) {
      uint64_t idx = b * TILE_WIDTH + i;
      int r = o->entry(o->ctx, idx, e[i].data, e[i].len);
      if (r) {
        rc = r;
        xt_errf(err, errcap, "stopped at entry %llu", (unsigned long long)idx);
      }
    }
    free(data);
    tlog_progress_update(&p, h->t.size);
  }
  tlog_progress_done(&p);
  if (!rc && h->next < o->ncheck) {
    xt_errf(err, errcap, "size %llu to check is beyond the replayed %llu entries",
             (unsigned long long)o->check_sizes[h->next], (unsigned long long)o->end);
    rc = 2;
  }
  merkle_tree_root(&h->t, st->root);
  st->entries = h->t.size;
  st->entry_bytes = h->bytes;
  st->seconds = tlog_now() - start;
  for (unsigned L = 0; L < REPLAY_LEVELS; L++) free(h->tc.data[L]);
  free(h);
  free(e);
  return rc;
}
