/* replay.c: recomputing a tree from entry bundles. */
#include "client/replay.h"

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

int replay_run(log_source *src, const replay_opts *o, replay_stats *st, char *err, size_t errcap) {
  memset(st, 0, sizeof *st);
  merkle_tree t;
  merkle_tree_init(&t);
  tile_check tc;
  memset(&tc, 0, sizeof tc);
  tc.src = src;
  tc.end = o->end;
  size_t next = 0;
  int rc = 0;
  tile_bundle_entry *entries = malloc(TILE_WIDTH * sizeof *entries);
  if (!entries) {
    snprintf(err, errcap, "out of memory");
    return 2;
  }
  tlog_progress p;
  tlog_progress_init(&p, o->quiet, o->what ? o->what : "replaying entries", o->end);
  double start = tlog_now();
  /* A check at size 0 compares with the empty tree. */
  while (next < o->ncheck && o->check_sizes[next] == 0) {
    uint8_t r[MERKLE_HASH_SIZE];
    merkle_empty_root(r);
    if (memcmp(r, o->check_roots[next], MERKLE_HASH_SIZE)) {
      snprintf(err, errcap, "root at size 0 is not the empty tree's root");
      rc = 1;
      goto done;
    }
    next++;
  }
  for (uint64_t b = 0; b * TILE_WIDTH < o->end; b++) {
    tile_id id = {TILE_LEVEL_ENTRIES, b, tile_width_at(TILE_LEVEL_ENTRIES, b, o->end)};
    uint8_t *data = NULL;
    size_t len = 0;
    char ferr[300];
    if (log_source_tile_fetcher(src, &id, &data, &len, ferr, sizeof ferr) != 0) {
      snprintf(err, errcap, "%s", ferr);
      rc = 2;
      goto done;
    }
    if (tile_bundle_parse(data, len, id.width, entries) != MERKLE_OK) {
      char name[TILE_PATH_MAX];
      tile_path_encode(&id, name, sizeof name, NULL);
      snprintf(err, errcap, "%s is not a well-formed bundle of %u entries", name, id.width);
      free(data);
      rc = 1;
      goto done;
    }
    for (unsigned i = 0; i < id.width; i++) {
      uint8_t h[MERKLE_HASH_SIZE];
      uint64_t idx = t.size;
      merkle_leaf_hash(entries[i].data, entries[i].len, h);
      merkle_tree_append(&t, h, o->check_tiles ? check_sink : NULL, &tc);
      st->entry_bytes += entries[i].len;
      if (o->entry) {
        int e = o->entry(o->ctx, idx, entries[i].data, entries[i].len);
        if (e) {
          free(data);
          rc = e;
          snprintf(err, errcap, "stopped at entry %llu", (unsigned long long)idx);
          goto done;
        }
      }
      while (next < o->ncheck && o->check_sizes[next] == t.size) {
        uint8_t r[MERKLE_HASH_SIZE];
        merkle_tree_root(&t, r);
        if (memcmp(r, o->check_roots[next], MERKLE_HASH_SIZE)) {
          char got[65], want[65];
          tlog_hex(r, MERKLE_HASH_SIZE, got);
          tlog_hex(o->check_roots[next], MERKLE_HASH_SIZE, want);
          snprintf(err, errcap, "the entries recompute to root %s at size %llu, not to %s",
                   got, (unsigned long long)t.size, want);
          free(data);
          rc = 1;
          goto done;
        }
        next++;
      }
    }
    free(data);
    if (tc.failed) {
      snprintf(err, errcap, "%s", tc.msg);
      rc = tc.failed;
      goto done;
    }
    tlog_progress_update(&p, t.size);
  }
  merkle_tree_root(&t, st->root);
  if (next < o->ncheck) {
    snprintf(err, errcap, "size %llu to check is beyond the replayed %llu entries",
             (unsigned long long)o->check_sizes[next], (unsigned long long)o->end);
    rc = 2;
  }
done:
  tlog_progress_done(&p);
  st->entries = t.size;
  st->seconds = tlog_now() - start;
  for (unsigned L = 0; L < REPLAY_LEVELS; L++) free(tc.data[L]);
  free(entries);
  return rc;
}
