/* test_logd_crash: writers hammer logd over keep-alive connections while it is
 * killed with SIGKILL at random moments and restarted, XT_CRASH_CYCLES times
 * (default 20). Then: every acknowledged index holds exactly the acknowledged
 * event; every checkpoint ever served verifies and its root is the root of the
 * final tree at its size (recomputed here from the entries themselves); and the
 * tree never shrank across a restart; every acknowledged event sent again is a
 * duplicate at its acknowledged index (idempotence across restarts and index
 * merges). The last cycle stops logd with SIGTERM under
 * load instead: it must exit 0 with a checkpoint covering every entry. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "merkle/tile.h"
#include "tests/integration/logd_fixture.h"
#include "tests/lib/check.h"

static logd_fx fx;

typedef struct ack {
  uint64_t index;
  char *event; /* canonical event bytes */
} ack;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static ack *acks;
static size_t nacks, capacks;
static char **notes;
static size_t nnotes, capnotes;
static atomic_int stop_writers;
static atomic_uint seq_no;

static void record_ack(uint64_t index, const char *event) {
  pthread_mutex_lock(&mu);
  if (nacks == capacks) {
    capacks = capacks ? capacks * 2 : 4096;
    acks = realloc(acks, capacks * sizeof *acks);
  }
  acks[nacks].index = index;
  acks[nacks].event = strdup(event);
  nacks++;
  pthread_mutex_unlock(&mu);
}

static void record_note(const char *note) {
  pthread_mutex_lock(&mu);
  if (nnotes == 0 || strcmp(notes[nnotes - 1], note)) {
    if (nnotes == capnotes) {
      capnotes = capnotes ? capnotes * 2 : 256;
      notes = realloc(notes, capnotes * sizeof *notes);
    }
    notes[nnotes++] = strdup(note);
  }
  pthread_mutex_unlock(&mu);
}

static void *writer(void *arg) {
  unsigned seed = (unsigned)(uintptr_t)arg * 7919u + (unsigned)proc_now_ms();
  http_client *hc = http_client_new();
  char auth[200];
  snprintf(auth, sizeof auth, "Authorization: Bearer %s", fx.token);
  const char *hdrs[] = {auth, NULL};
  size_t cap = 64 * 1024;
  char *body = malloc(cap);
  char (*events)[96] = malloc(32 * sizeof *events);
  while (!atomic_load(&stop_writers)) {
    int op = (int)(rand_r(&seed) % 10);
    int n = op < 7 ? 1 : op < 9 ? 1 + (int)(rand_r(&seed) % 20) : 1;
    int wait = op == 9;
    for (int i = 0; i < n; i++) {
      unsigned id = atomic_fetch_add(&seq_no, 1);
      /* Canonical already: keys sorted, compact. */
      snprintf(events[i], sizeof events[i], "{\"id\":%u,\"pad\":\"%0*u\",\"type\":\"crash\"}", id,
               (int)(rand_r(&seed) % 40), 0u);
    }
    size_t len = 0;
    if (n == 1 && op < 9 + 1 && op != 7 && op != 8) {
      len = (size_t)snprintf(body, cap, "%s", events[0]);
    } else {
      body[len++] = '[';
      for (int i = 0; i < n; i++) len += (size_t)snprintf(body + len, cap - len, "%s%s", i ? "," : "", events[i]);
      body[len++] = ']';
      body[len] = 0;
    }
    int batch = body[0] == '[';
    char url[200];
    snprintf(url, sizeof url, "%s/v1/%s%s", fx.base, batch ? "add-batch" : "add", wait ? "?wait=checkpoint" : "");
    http_resp r;
    if (http_request(hc, "POST", url, hdrs, body, len, 5000, &r) || r.status != 200) {
      /* The daemon is gone (or refused): nothing was acknowledged. */
      http_resp_free(&r);
      if (atomic_load(&stop_writers)) break;
      proc_sleep_ms(5);
      continue;
    }
    json_t *j = fx_json(&r);
    http_resp_free(&r);
    if (!j) continue;
    if (batch) {
      json_t *res = json_object_get(j, "results");
      for (int i = 0; i < n && i < (int)json_array_size(res); i++)
        record_ack((uint64_t)json_integer_value(json_object_get(json_array_get(res, (size_t)i), "index")), events[i]);
    } else {
      record_ack((uint64_t)json_integer_value(json_object_get(j, "index")), events[0]);
    }
    const char *note = json_string_value(json_object_get(j, "checkpoint"));
    if (note) record_note(note);
    json_decref(j);
  }
  free(body);
  free(events);
  http_client_free(hc);
  return NULL;
}

static void *poller(void *arg) {
  (void)arg;
  http_client *hc = http_client_new();
  char url[200];
  snprintf(url, sizeof url, "%s/checkpoint", fx.base);
  while (!atomic_load(&stop_writers)) {
    http_resp r;
    if (http_request(hc, "GET", url, NULL, NULL, 0, 2000, &r) == 0 && r.status == 200) record_note(r.body);
    http_resp_free(&r);
    proc_sleep_ms(3);
  }
  http_client_free(hc);
  return NULL;
}

static uint64_t tree_size(void) {
  http_resp r;
  fx_get(&fx, "/v1/log", &r);
  json_t *j = fx_json(&r);
  http_resp_free(&r);
  uint64_t n = j ? (uint64_t)json_integer_value(json_object_get(j, "tree_size")) : 0;
  json_decref(j);
  return n;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* One test case (~120 lines) on purpose: each cycle's kill, restart and the final
 * verification of every acknowledged entry and checkpoint read as one scenario. */
static void test_crash_cycles(void) {
  int cycles = getenv("XT_CRASH_CYCLES") ? atoi(getenv("XT_CRASH_CYCLES")) : 20;
  if (cycles < 1) cycles = 1;
  unsigned seed = (unsigned)proc_now_ms();
  printf("# %d cycles, seed %u\n", cycles, seed);
  uint64_t prev_size = 0;
  for (int c = 0; c < cycles; c++) {
    atomic_store(&stop_writers, 0);
    pthread_t th[6];
    for (int i = 0; i < 5; i++) pthread_create(&th[i], NULL, writer, (void *)(uintptr_t)(c * 10 + i));
    pthread_create(&th[5], NULL, poller, NULL);
    proc_sleep_ms(30 + (long)(rand_r(&seed) % 400));
    int graceful = c == cycles - 1;
    if (graceful) {
      /* Last cycle: SIGTERM under load drains the queue, signs a last checkpoint
       * covering everything, and exits 0. */
      CHECK(proc_stop(&fx.p, 15000) == 0);
    } else {
      proc_kill9(&fx.p);
    }
    atomic_store(&stop_writers, 1);
    for (int i = 0; i < 6; i++) pthread_join(th[i], NULL);
    if (fx_restart(&fx)) {
      printf("# restart %d failed; see %s\n", c, fx.log);
      CHECK_FATAL(0);
    }
    if (graceful) {
      http_resp r;
      fx_get(&fx, "/v1/log", &r);
      json_t *j = fx_json(&r);
      http_resp_free(&r);
      /* Covers everything but, perhaps, the boot entry this start appended. */
      json_int_t cs = json_integer_value(json_object_get(j, "size"));
      json_int_t ts = json_integer_value(json_object_get(j, "tree_size"));
      CHECK(j && (cs == ts || cs + 1 == ts));
      json_decref(j);
    }
    uint64_t size = tree_size();
    CHECK(size >= prev_size);
    prev_size = size;
  }
  printf("# %zu acknowledged entries, %zu distinct checkpoints, final size %llu\n", nacks, nnotes,
         (unsigned long long)prev_size);
  CHECK(nacks > 0 && nnotes > 0);

  /* Every acknowledged index holds exactly its event. */
  uint64_t n = prev_size;
  char **entries = calloc(n, sizeof *entries);
  uint8_t (*leaf)[32] = calloc(n, 32);
  http_client *hc = http_client_new();
  for (uint64_t s = 0; s < n; s += 1000) {
    char url[200];
    snprintf(url, sizeof url, "%s/v1/entries?start=%llu&count=1000", fx.base, (unsigned long long)s);
    http_resp r;
    CHECK_FATAL(http_request(hc, "GET", url, NULL, NULL, 0, 0, &r) == 0 && r.status == 200);
    json_t *j = fx_json(&r);
    http_resp_free(&r);
    json_t *arr = json_object_get(j, "entries");
    for (size_t i = 0; i < json_array_size(arr); i++) {
      json_t *e = json_array_get(arr, i);
      uint64_t idx = (uint64_t)json_integer_value(json_object_get(e, "index"));
      const char *ent = json_string_value(json_object_get(e, "entry"));
      if (idx < n && ent) entries[idx] = strdup(ent);
    }
    json_decref(j);
  }
  http_client_free(hc);
  for (uint64_t i = 0; i < n; i++) {
    CHECK(entries[i]);
    if (entries[i]) merkle_leaf_hash((const uint8_t *)entries[i], strlen(entries[i]), leaf[i]);
  }
  size_t bad = 0;
  for (size_t i = 0; i < nacks; i++) {
    char want[200];
    snprintf(want, sizeof want, "{\"event\":%s,\"submitter\":\"dev\",\"ts_ms\":", acks[i].event);
    if (acks[i].index >= n || !entries[acks[i].index] ||
        strncmp(entries[acks[i].index], want, strlen(want))) {
      if (++bad < 5) printf("# acknowledged index %llu lost or changed\n", (unsigned long long)acks[i].index);
    }
  }
  CHECK(bad == 0);
  /* Each event id appears once: no acknowledged entry was logged twice. */
  uint64_t *ids = calloc(n, sizeof *ids);
  size_t nid = 0;
  for (uint64_t i = 0; i < n; i++) {
    const char *p = entries[i] ? strstr(entries[i], "{\"id\":") : NULL;
    if (p) ids[nid++] = strtoull(p + 6, NULL, 10);
  }
  qsort(ids, nid, sizeof *ids, cmp_u64);
  for (size_t i = 1; i < nid; i++) CHECK(ids[i] != ids[i - 1]);
  free(ids);

  /* Exact idempotence across the restarts and the index merges (logd merges every
   * 2,000 keys here): every acknowledged event sent again is a duplicate at its
   * acknowledged index, and nothing new is logged. */
  http_client *rc = http_client_new();
  char auth[200];
  snprintf(auth, sizeof auth, "Authorization: Bearer %s", fx.token);
  const char *hdrs[] = {auth, NULL};
  size_t not_dup = 0, bodycap = 1000 * 128 + 16;
  char *body = malloc(bodycap);
  CHECK_FATAL(body != NULL);
  for (size_t s0 = 0; s0 < nacks; s0 += 1000) {
    size_t cnt = nacks - s0 < 1000 ? nacks - s0 : 1000, len = 0;
    body[len++] = '[';
    for (size_t i = 0; i < cnt; i++)
      len += (size_t)snprintf(body + len, bodycap - len, "%s%s", i ? "," : "", acks[s0 + i].event);
    body[len++] = ']';
    body[len] = 0;
    char url[200];
    snprintf(url, sizeof url, "%s/v1/add-batch", fx.base);
    http_resp r;
    CHECK_FATAL(http_request(rc, "POST", url, hdrs, body, len, 0, &r) == 0 && r.status == 200);
    json_t *j = fx_json(&r);
    http_resp_free(&r);
    json_t *res = json_object_get(j, "results");
    CHECK(json_array_size(res) == cnt);
    for (size_t i = 0; i < cnt && i < json_array_size(res); i++) {
      json_t *e = json_array_get(res, i);
      if (!json_is_true(json_object_get(e, "dup")) ||
          (uint64_t)json_integer_value(json_object_get(e, "index")) != acks[s0 + i].index)
        if (++not_dup < 5) printf("# acknowledged event at %llu not a duplicate at its index\n",
                                  (unsigned long long)acks[s0 + i].index);
    }
    json_decref(j);
  }
  free(body);
  http_client_free(rc);
  CHECK(not_dup == 0);
  CHECK(tree_size() == n);

  /* Every checkpoint verifies and matches the final tree recomputed from entries. */
  checkpoint *cps = calloc(nnotes, sizeof *cps);
  uint64_t *order = calloc(nnotes, sizeof *order);
  for (size_t i = 0; i < nnotes; i++) {
    char err[200];
    CHECK(checkpoint_open(&fx.verifier, notes[i], strlen(notes[i]), &cps[i], err, sizeof err) == 0);
    CHECK(cps[i].size <= n);
    order[i] = cps[i].size << 20 | i; /* sizes stay far below 2^44 here */
  }
  qsort(order, nnotes, sizeof *order, cmp_u64);
  merkle_tree t;
  merkle_tree_init(&t);
  size_t bad_roots = 0;
  for (size_t k = 0; k < nnotes; k++) {
    size_t i = (size_t)(order[k] & 0xfffff);
    while (t.size < cps[i].size && t.size < n) merkle_tree_append(&t, leaf[t.size], NULL, NULL);
    uint8_t root[32];
    merkle_tree_root(&t, root);
    if (t.size != cps[i].size || memcmp(root, cps[i].root, 32)) bad_roots++;
  }
  CHECK(bad_roots == 0);
  checkpoint final;
  CHECK(fx_checkpoint(&fx, &final, NULL) == 0);
  for (uint64_t i = 0; i < n; i++) free(entries[i]);
  free(entries);
  free(leaf);
  free(cps);
  free(order);
}

int main(void) {
  if (getenv("XT_ROOT") && chdir(getenv("XT_ROOT"))) return 2;
  /* Small index merges, so kills also land during and between them. */
  const char *extra[] = {"--checkpoint-interval-ms", "20", "--index-merge-keys", "2000", NULL};
  if (fx_start(&fx, extra)) {
    printf("not ok - logd did not start (log: %s)\n", fx.log);
    fx_destroy(&fx);
    return 1;
  }
  CHECK_RUN(test_crash_cycles);
  fx_stop(&fx);
  fx_destroy(&fx);
  for (size_t i = 0; i < nacks; i++) free(acks[i].event);
  for (size_t i = 0; i < nnotes; i++) free(notes[i]);
  free(acks);
  free(notes);
  return check_finish();
}
