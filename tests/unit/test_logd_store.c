/* logd's store: the dedup and leaf-hash index kept in an append-only log and merged
 * in the background. Every key written must be found, with its exact index, before
 * a merge, after it, and across a reopen (unmerged records reloaded; merged keys in
 * the column family); the in-memory table (ixmem) on its own. Real RocksDB in a
 * temp dir. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <time.h>
#include <unistd.h>

#include "logd/ixmem.h"
#include "logd/store.h"
#include "tests/lib/check.h"

static void key_of(uint32_t i, uint8_t tag, uint8_t out[32]) {
  /* Distinct, spread keys (a multiplicative hash of i), different per tag. */
  uint64_t x = (uint64_t)i * 0x9e3779b97f4a7c15ull ^ (uint64_t)tag << 56;
  for (int b = 0; b < 32; b++) {
    x ^= x >> 31;
    x *= 0xbf58476d1ce4e5b9ull;
    out[b] = (uint8_t)(x >> 56);
  }
}

static void test_ixmem(void) {
  ixmem *m = ixmem_new(0);
  CHECK_FATAL(m != NULL);
  uint8_t k[32];
  for (uint32_t i = 0; i < 5000; i++) {
    key_of(i, 'D', k);
    CHECK_FATAL(ixmem_put(m, 'D', k, i) == 0);
  }
  CHECK(ixmem_count(m) == 5000);
  uint64_t v = 0;
  key_of(77, 'D', k);
  CHECK(ixmem_get(m, 'D', k, &v) == 1 && v == 77);
  CHECK(ixmem_get(m, 'H', k, &v) == 0); /* same bytes, other tag */
  CHECK(ixmem_put(m, 'D', k, 9) == 0 && ixmem_get(m, 'D', k, &v) == 1 && v == 9);
  CHECK(ixmem_count(m) == 5000); /* replaced, not added */
  key_of(5000, 'D', k);
  CHECK(ixmem_get(m, 'D', k, &v) == 0);
  ixmem_op *ops = NULL;
  size_t n = 0;
  CHECK_FATAL(ixmem_sorted(m, &ops, &n) == 0 && n == 5000);
  for (size_t i = 1; i < n; i++) CHECK(memcmp(ops[i - 1].key, ops[i].key, IXMEM_KEY) < 0);
  free(ops);
  ixmem_clear(m);
  CHECK(ixmem_count(m) == 0);
  key_of(77, 'D', k);
  CHECK(ixmem_get(m, 'D', k, &v) == 0);
  CHECK(ixmem_put(m, 'D', k, 5) == 0 && ixmem_get(m, 'D', k, &v) == 1 && v == 5);
  ixmem_free(m);
}

static int ref_cmp(const void *a, const void *b) {
  const ixmem_op *x = a, *y = b;
  if (x->tag != y->tag) return x->tag < y->tag ? -1 : 1;
  return memcmp(x->key, y->key, IXMEM_KEY);
}

/* ixmem_sorted against qsort of the same keys: random keys under three tags, runs of
 * 2..40 keys sharing their first two bytes (both sides of the insertion-sort limit),
 * and 3,000 keys ground to one prefix. */
static void test_ixmem_sorted_vs_qsort(void) {
  ixmem *m = ixmem_new(0);
  size_t want_n = 0, cap = 200000, bad = 0;
  ixmem_op *want = calloc(cap, sizeof *want);
  CHECK(m && want);
  uint8_t k[32];
  uint32_t seq = 0;
  /* (count, tag, prefix): 0 prefix = the key as key_of gives it */
  struct { int count; uint8_t tag; unsigned prefix; } sets[] = {
      {60000, 0, 0}, {3000, 'H', 0x1234}};
  for (size_t s = 0; m && want && s < 2; s++)
    for (int i = 0; i < sets[s].count; i++, seq++) {
      uint8_t tag = sets[s].tag ? sets[s].tag : (uint8_t)"DHX"[i % 3];
      key_of(seq, tag, k);
      if (sets[s].prefix) k[0] = (uint8_t)(sets[s].prefix >> 8), k[1] = (uint8_t)sets[s].prefix;
      bad += ixmem_put(m, tag, k, seq) != 0;
      want[want_n].tag = tag, memcpy(want[want_n].key, k, IXMEM_KEY), want[want_n++].index = seq;
    }
  for (int run = 2; m && want && run <= 40; run++)
    for (int i = 0; i < run; i++, seq++) {
      key_of(seq, 'D', k);
      k[0] = 0xab, k[1] = (uint8_t)run;
      bad += ixmem_put(m, 'D', k, seq) != 0;
      want[want_n].tag = 'D', memcpy(want[want_n].key, k, IXMEM_KEY), want[want_n++].index = seq;
    }
  CHECK(bad == 0);
  ixmem_op *got = NULL;
  size_t n = 0;
  int ok = m && want && ixmem_sorted(m, &got, &n) == 0 && n == want_n;
  CHECK(ok);
  if (ok) {
    qsort(want, want_n, sizeof *want, ref_cmp);
    for (size_t i = 0; i < n; i++)
      bad += got[i].tag != want[i].tag || memcmp(got[i].key, want[i].key, IXMEM_KEY) || got[i].index != want[i].index;
    CHECK(bad == 0);
  }
  free(got);
  free(want);
  ixmem_free(m);
}

static char dir[64];

/* Writes batches of `per` entries (indices from *next), each with a 'D' and an 'H'
 * key, as logd's sequencer does. */
static int write_batches(logd_store *s, uint32_t *next, int batches, int per) {
  char err[300];
  store_batch *b = store_batch_new(s);
  if (!b) return -1;
  for (int j = 0; j < batches; j++) {
    store_batch_clear(b);
    for (int e = 0; e < per; e++, (*next)++) {
      uint8_t d[32], h[32];
      key_of(*next, 'D', d);
      key_of(*next, 'H', h);
      store_batch_put_dedup(b, d, *next);
      store_batch_put_hash(b, h, *next);
    }
    store_batch_put_size(b, *next);
    if (store_batch_write(s, b, err, sizeof err)) {
      fprintf(stderr, "write: %s\n", err);
      store_batch_free(b);
      return -1;
    }
  }
  store_batch_free(b);
  return 0;
}

/* Every key 0..n-1 found with its index, by both lookups; keys n.. not found. */
static int all_found(logd_store *s, uint32_t n) {
  char err[300];
  int bad = 0;
  uint8_t (*keys)[32] = malloc((size_t)(n + 10) * 32);
  uint64_t *idx = calloc(n + 10, sizeof *idx);
  uint8_t *found = calloc(n + 10, 1);
  if (!keys || !idx || !found) bad = 1;
  for (uint32_t i = 0; !bad && i < n + 10; i++) key_of(i, 'D', keys[i]);
  if (!bad && store_get_dedup_many(s, n + 10, (const uint8_t (*)[32])keys, idx, found, err, sizeof err)) bad = 1;
  for (uint32_t i = 0; !bad && i < n + 10; i++)
    if (found[i] != (i < n) || (i < n && idx[i] != i)) bad = 1;
  for (uint32_t i = 0; !bad && i < n + 10; i++) {
    uint8_t h[32];
    uint64_t v = UINT64_MAX;
    key_of(i, 'H', h);
    store_err rc = store_get_by_hash(s, h, &v, err, sizeof err);
    if (i < n ? (rc != STORE_OK || v != i) : rc != STORE_NOT_FOUND) bad = 1;
  }
  free(keys), free(idx), free(found);
  return bad ? -1 : 0;
}

static int wait_merged(logd_store *s, uint64_t below) {
  for (int i = 0; i < 1000; i++) {
    if (store_index_unmerged(s) < below) return 0;
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  return -1;
}

static void test_index_log_merge_and_reopen(void) {
  char err[300];
  logd_store *s = NULL;
  CHECK_FATAL(store_open(dir, &s, err, sizeof err) == STORE_OK);
  uint32_t next = 0;
  /* Unmerged: found from memory. */
  CHECK_FATAL(write_batches(s, &next, 3, 50) == 0);
  CHECK(store_index_unmerged(s) == 300);
  CHECK(all_found(s, next) == 0);
  /* Merged: the keys leave memory and are found in the column family. */
  store_set_index_merge_keys(s, 200);
  CHECK_FATAL(wait_merged(s, 200) == 0);
  CHECK(store_index_unmerged(s) == 0);
  CHECK(all_found(s, next) == 0);
  /* A few merges more while writing, and some unmerged at the end. */
  CHECK_FATAL(write_batches(s, &next, 20, 37) == 0);
  CHECK_FATAL(wait_merged(s, 200) == 0);
  CHECK(all_found(s, next) == 0);
  CHECK_FATAL(write_batches(s, &next, 1, 10) == 0); /* below the threshold: stays */
  uint64_t left = store_index_unmerged(s);
  CHECK(left >= 20);
  store_close(s);
  /* Reopen: the unmerged records are reloaded, the merged keys stay. */
  s = NULL;
  CHECK_FATAL(store_open(dir, &s, err, sizeof err) == STORE_OK);
  CHECK(store_index_unmerged(s) == left);
  CHECK(all_found(s, next) == 0);
  uint64_t size = 0;
  CHECK(store_get_size(s, &size, err, sizeof err) == STORE_OK && size == next);
  store_close(s);
  /* Read-only (start-up checks) sees the same. */
  s = NULL;
  CHECK_FATAL(store_open_read_only(dir, &s, err, sizeof err) == STORE_OK);
  CHECK(all_found(s, next) == 0);
  store_close(s);
}

int main(void) {
  snprintf(dir, sizeof dir, "/tmp/xt-store-test.XXXXXX");
  if (!mkdtemp(dir)) return 1;
  CHECK_RUN(test_ixmem);
  CHECK_RUN(test_ixmem_sorted_vs_qsort);
  CHECK_RUN(test_index_log_merge_and_reopen);
  /* RocksDB keeps only files in its directory. */
  DIR *d = opendir(dir);
  struct dirent *e;
  while (d && (e = readdir(d)) != NULL) {
    char p[PATH_MAX];
    if (e->d_name[0] != '.' && (size_t)snprintf(p, sizeof p, "%s/%s", dir, e->d_name) < sizeof p) unlink(p);
  }
  if (d) closedir(d);
  if (rmdir(dir)) fprintf(stderr, "cannot remove %s\n", dir);
  return check_finish();
}
