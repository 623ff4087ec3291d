/* test_logd: the real logd on 127.0.0.1: every endpoint's success and error paths,
 * dedup, proofs checked with the merkle verifier, restart, concurrent writers, and
 * each bad-input class of SPEC.md section 1 (promise 3) (4xx, checkpoint unchanged). */
#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <openssl/evp.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "merkle/tile.h"
#include "tests/integration/logd_fixture.h"
#include "tests/lib/check.h"

static logd_fx fx;

/* Where the programs under test are: $BIN, or bin. */
static const char *bin_dir(void) {
  const char *b = getenv("BIN");
  return b && *b ? b : "bin";
}

/* ---- helpers ---- */

/* A write's answer, parsed; its bytes must be exactly jansson's compact form of it and a
 * newline (logd formats these answers by hand; this holds it to the JSON it replaced). */
static json_t *answer_json(const http_resp *r) {
  json_t *j = fx_json(r);
  char *d = j ? json_dumps(j, JSON_COMPACT) : NULL;
  CHECK(d && r->len == strlen(d) + 1 && !memcmp(r->body, d, r->len - 1) && r->body[r->len - 1] == '\n');
  free(d);
  return j;
}

static int add(const char *body, uint64_t *index, uint8_t leaf[32], int *dup) {
  http_resp r;
  long st = fx_post(&fx, "/v1/add", body, &r);
  json_t *j = st == 200 ? answer_json(&r) : NULL;
  http_resp_free(&r);
  if (!j) return -1;
  *index = (uint64_t)json_integer_value(json_object_get(j, "index"));
  if (leaf) fx_unhex(json_string_value(json_object_get(j, "leaf_hash")), leaf, 32);
  if (dup) *dup = json_is_true(json_object_get(j, "dup"));
  json_decref(j);
  return 0;
}

static uint64_t tree_size(void) {
  http_resp r;
  fx_get(&fx, "/v1/log", &r);
  json_t *j = fx_json(&r);
  http_resp_free(&r);
  uint64_t n = j ? (uint64_t)json_integer_value(json_object_get(j, "tree_size")) : UINT64_MAX;
  json_decref(j);
  return n;
}

/* Waits until the published checkpoint reaches the tree size. */
static int settle(checkpoint *c, char **note) {
  uint64_t want = tree_size();
  for (int i = 0; i < 400; i++) {
    if (note) {
      free(*note);
      *note = NULL;
    }
    if (fx_checkpoint(&fx, c, note) == 0 && c->size >= want) return 0;
    proc_sleep_ms(10);
  }
  return -1;
}

/* Leaf hashes of the first n entries, from the level-0 tiles. */
static uint8_t (*leaves(uint64_t n))[32] {
  uint8_t (*out)[32] = calloc(n ? n : 1, 32);
  for (uint64_t t = 0; t * 256 < n; t++) {
    tile_id id = {0, t, (unsigned)(n - t * 256 >= 256 ? 256 : n - t * 256)};
    char path[TILE_PATH_MAX + 1] = "/";
    size_t len;
    tile_path_encode(&id, path + 1, sizeof path - 1, &len);
    http_resp r;
    if (fx_get(&fx, path, &r) != 200 || r.len != (size_t)id.width * 32) {
      http_resp_free(&r);
      free(out);
      return NULL;
    }
    memcpy(out[t * 256], r.body, r.len);
    http_resp_free(&r);
  }
  return out;
}

typedef struct mem_tree {
  uint8_t (*leaf)[32];
  uint64_t n;
} mem_tree;

/* An independent reader over leaf hashes held in memory: computes any node. */
static int mem_nodes(void *ctx, unsigned level, uint64_t index, uint64_t count, uint8_t (*out)[32]) {
  mem_tree *m = ctx;
  for (uint64_t i = 0; i < count; i++) {
    uint64_t lo = (index + i) << level, hi = lo + (1ull << level);
    if (hi > m->n) return -1;
    if (level == 0) {
      memcpy(out[i], m->leaf[lo], 32);
      continue;
    }
    uint8_t l[1][32], r[1][32];
    if (mem_nodes(ctx, level - 1, 2 * (index + i), 1, l) ||
        mem_nodes(ctx, level - 1, 2 * (index + i) + 1, 1, r))
      return -1;
    merkle_node_hash(l[0], r[0], out[i]);
  }
  return 0;
}

static int proof_from_json(json_t *arr, uint8_t (*p)[32], size_t cap, size_t *n) {
  if (!json_is_array(arr) || json_array_size(arr) > cap) return -1;
  *n = json_array_size(arr);
  for (size_t i = 0; i < *n; i++)
    if (!json_is_string(json_array_get(arr, i)) ||
        fx_unhex(json_string_value(json_array_get(arr, i)), p[i], 32))
      return -1;
  return 0;
}

static int status_of(const char *method, const char *path, const char *const hdrs[],
                     const char *body, size_t len, char **err_msg) {
  http_client *c = http_client_new();
  char url[8192];
  snprintf(url, sizeof url, "%s%s", fx.base, path);
  http_resp r;
  http_request(c, method, url, hdrs, body, len, 0, &r);
  http_client_free(c);
  int st = (int)r.status;
  if (err_msg) {
    json_t *j = fx_json(&r);
    const char *e = j ? json_string_value(json_object_get(j, "error")) : NULL;
    *err_msg = e ? strdup(e) : NULL;
    json_decref(j);
  }
  http_resp_free(&r);
  return st;
}

/* ---- cases ---- */

static void test_cli(void) {
  const char *bin = "bin/logd";
  char *env = getenv("BIN");
  char path[512];
  if (env && *env) snprintf(path, sizeof path, "%s/logd", env), bin = path;
  struct {
    const char *args[16];
    int code;
  } cases[] = {
      {{"--help"}, 0},
      {{"--version"}, 0},
      {{"--bogus"}, 2},
      {{"--data"}, 2},
      {{"--data", "/tmp/x", "--listen", "127.0.0.1:1"}, 2},
      {{"--data", "/tmp/x", "--listen", "127.0.0.1:1", "--origin", "o", "--dev", "--max-entry-bytes"}, 2},
      {{"--data", "/tmp/x", "--listen", "127.0.0.1:1", "--origin", "o", "--dev", "--max-entry-bytes", "65536"}, 2},
      {{"--data", "/tmp/x", "--listen", "127.0.0.1:1", "--origin", "o", "--checkpoint-interval-ms", "-5"}, 2},
      /* No guest agent at /x: a startup failure. */
      {{"--data", "/tmp/x", "--listen", "127.0.0.1:1", "--origin", "o", "--dstack-socket", "/x"}, 1},
      {{"--data", "/tmp/x", "--listen", "127.0.0.1:1", "--origin", "o", "--dev", "--dstack-socket", "/x"}, 2},
      {{"--data", "/tmp/x", "--listen", "127.0.0.1:1", "--origin", "o", "--dstack-socket", "/x", "--anchor-rpc", "http://127.0.0.1:1", "--anchor-contract", "0x5FbDB2315678afecb367f032d93F642f64180aa3", "--anchor-key", "/k"}, 2},
      {{"--data", "/tmp/x", "--listen", "127.0.0.1:1", "--origin", "o", "--dev", "--anchor-rpc", "http://127.0.0.1:1"}, 2},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    const char *argv[18] = {bin};
    int n = 1;
    for (int k = 0; cases[i].args[k]; k++) argv[n++] = cases[i].args[k];
    argv[n] = NULL;
    proc p;
    CHECK_FATAL(proc_spawn(&p, argv, NULL, NULL, NULL, 0) == 0);
    CHECK(proc_wait(&p, 5000) == 0);
    CHECK(WIFEXITED(p.status) && WEXITSTATUS(p.status) == cases[i].code);
  }
}

static void test_first_checkpoint_and_dev_files(void) {
  checkpoint c;
  char *note = NULL;
  CHECK_FATAL(settle(&c, &note) == 0);
  /* The first entry is logd's own boot entry (in --dev mode without a quote). */
  CHECK(c.size == 1);
  http_resp b;
  CHECK(fx_get(&fx, "/v1/entries?start=0&count=1", &b) == 200);
  CHECK(b.body && strstr(b.body, "\\\"submitter\\\":\\\"logd\\\"") &&
        strstr(b.body, "\\\"component\\\":\\\"logd\\\"") && strstr(b.body, "\\\"quote_sha256\\\":\\\"\\\""));
  http_resp_free(&b);
  CHECK(!strcmp(c.origin, FX_ORIGIN));
  CHECK(strlen(fx.token) == 64);
  CHECK(!strncmp(fx.vkey, FX_ORIGIN "+", strlen(FX_ORIGIN) + 1));
  http_resp r;
  fx_get(&fx, "/checkpoint", &r);
  char h[200];
  CHECK(http_header(&r, "Cache-Control", h, sizeof h) && !strcmp(h, "public, max-age=1"));
  CHECK(http_header(&r, "Content-Type", h, sizeof h) && !strncmp(h, "text/plain", 10));
  http_resp_free(&r);
  /* The dev token is printed on stdout; never in the log on stderr. */
  char *log = proc_read_file(fx.log, NULL);
  CHECK(log && !strstr(log, fx.token));
  free(log);
  free(note);
}

static void test_add_dedup_entries(void) {
  uint64_t i0, i1, i2;
  uint8_t l0[32], l1[32];
  int dup;
  CHECK_FATAL(add("{\"type\":\"boot\", \"b\":1, \"a\":\"x\"}", &i0, l0, &dup) == 0);
  CHECK(!dup);
  /* Same canonical event, different spelling: the first copy's index. */
  CHECK_FATAL(add("{\"a\":\"x\",\"b\":1,\"type\":\"boot\"}", &i1, l1, &dup) == 0);
  CHECK(dup && i1 == i0);
  CHECK_EQ_MEM(l0, l1, 32);
  CHECK_FATAL(add("{\"type\":\"boot\",\"b\":2}", &i2, NULL, &dup) == 0);
  CHECK(!dup && i2 == i0 + 1);
  char path[100];
  snprintf(path, sizeof path, "/v1/entries?start=%llu&count=1", (unsigned long long)i0);
  http_resp r;
  CHECK_FATAL(fx_get(&fx, path, &r) == 200);
  json_t *j = fx_json(&r);
  http_resp_free(&r);
  json_t *e = json_array_get(json_object_get(j, "entries"), 0);
  const char *entry = json_string_value(json_object_get(e, "entry"));
  CHECK_FATAL(entry);
  CHECK((uint64_t)json_integer_value(json_object_get(e, "index")) == i0);
  const char *want = "{\"event\":{\"a\":\"x\",\"b\":1,\"type\":\"boot\"},\"submitter\":\"dev\",\"ts_ms\":";
  CHECK(!strncmp(entry, want, strlen(want)));
  CHECK(strlen(entry) > 8 && !strcmp(entry + strlen(entry) - 7, ",\"v\":1}"));
  uint8_t lh[32];
  merkle_leaf_hash((const uint8_t *)entry, strlen(entry), lh);
  CHECK_EQ_MEM(lh, l0, 32);
  json_decref(j);
}

static void test_wait_checkpoint_and_receipt(void) {
  http_resp r;
  CHECK_FATAL(fx_post(&fx, "/v1/add?wait=checkpoint", "{\"type\":\"w\",\"n\":1}", &r) == 200);
  json_t *j = answer_json(&r);
  http_resp_free(&r);
  CHECK_FATAL(j);
  const char *note = json_string_value(json_object_get(j, "checkpoint"));
  CHECK_FATAL(note);
  checkpoint c;
  char err[200];
  CHECK_FATAL(checkpoint_open(&fx.verifier, note, strlen(note), &c, err, sizeof err) == 0);
  uint64_t idx = (uint64_t)json_integer_value(json_object_get(j, "index"));
  uint8_t leaf[32], proof[70][32];
  size_t n;
  fx_unhex(json_string_value(json_object_get(j, "leaf_hash")), leaf, 32);
  CHECK_FATAL(proof_from_json(json_object_get(j, "proof"), proof, 70, &n) == 0);
  CHECK(idx < c.size);
  CHECK(merkle_verify_inclusion(idx, c.size, leaf, (const uint8_t (*)[32])proof, n, c.root) == 0);
  json_decref(j);

  /* The same receipt as a C2SP tlog-proof text, both ways of asking. */
  for (int way = 0; way < 2; way++) {
    http_client *hc = http_client_new();
    char url[200];
    snprintf(url, sizeof url, "%s/v1/add%s", fx.base, way ? "?format=tlog-proof" : "");
    char auth[200];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", fx.token);
    const char *hdrs[] = {auth, way ? NULL : "Accept: text/x-tlog-proof", NULL};
    const char *body = way ? "{\"type\":\"w\",\"n\":3}" : "{\"type\":\"w\",\"n\":2}";
    CHECK(http_request(hc, "POST", url, hdrs, body, strlen(body), 0, &r) == 0);
    http_client_free(hc);
    CHECK(r.status == 200);
    char ct[100];
    CHECK(http_header(&r, "Content-Type", ct, sizeof ct) && !strcmp(ct, "text/x-tlog-proof"));
    uint64_t pi;
    const char *pn;
    size_t pnl;
    CHECK(tlog_proof_parse(r.body, r.len, &pi, proof, 70, &n, &pn, &pnl, err, sizeof err) == 0);
    CHECK(checkpoint_open(&fx.verifier, pn, pnl, &c, err, sizeof err) == 0);
    http_resp e;
    char path[100];
    snprintf(path, sizeof path, "/v1/entries?start=%llu&count=1", (unsigned long long)pi);
    fx_get(&fx, path, &e);
    json_t *ej = fx_json(&e);
    const char *entry = json_string_value(json_object_get(json_array_get(json_object_get(ej, "entries"), 0), "entry"));
    CHECK(entry && strstr(entry, way ? "\"n\":3" : "\"n\":2"));
    if (entry) merkle_leaf_hash((const uint8_t *)entry, strlen(entry), leaf);
    CHECK(merkle_verify_inclusion(pi, c.size, leaf, (const uint8_t (*)[32])proof, n, c.root) == 0);
    json_decref(ej);
    http_resp_free(&e);
    http_resp_free(&r);
  }
}

static void test_add_batch(void) {
  uint64_t before = tree_size();
  http_resp r;
  /* Two copies of one event in a batch: the second is a duplicate of the first. */
  CHECK_FATAL(fx_post(&fx, "/v1/add-batch", "[{\"type\":\"b\",\"k\":1},{\"type\":\"b\",\"k\":2},{\"type\":\"b\",\"k\":1}]", &r) == 200);
  json_t *j = answer_json(&r);
  http_resp_free(&r);
  json_t *res = json_object_get(j, "results");
  CHECK((uint64_t)json_integer_value(json_object_get(j, "first_index")) == before);
  CHECK(json_array_size(res) == 3);
  CHECK((uint64_t)json_integer_value(json_object_get(json_array_get(res, 0), "index")) == before);
  CHECK((uint64_t)json_integer_value(json_object_get(json_array_get(res, 1), "index")) == before + 1);
  CHECK((uint64_t)json_integer_value(json_object_get(json_array_get(res, 2), "index")) == before);
  CHECK(json_is_true(json_object_get(json_array_get(res, 2), "dup")));
  json_decref(j);
  CHECK(tree_size() == before + 2);
  /* All or none: one bad event rejects the whole batch. */
  CHECK(fx_post(&fx, "/v1/add-batch", "[{\"type\":\"b\",\"k\":3},{\"type\":\"B\"}]", &r) == 400);
  http_resp_free(&r);
  CHECK(tree_size() == before + 2);
  /* 1,000 is the limit. */
  size_t cap = 1001 * 40 + 10, len = 0;
  char *big = malloc(cap);
  big[len++] = '[';
  for (int i = 0; i < 1001; i++) len += (size_t)snprintf(big + len, cap - len, "%s{\"type\":\"m\",\"i\":%d}", i ? "," : "", i);
  big[len++] = ']';
  big[len] = 0;
  CHECK(fx_post(&fx, "/v1/add-batch", big, &r) == 400);
  http_resp_free(&r);
  char *last = strstr(big, ",{\"type\":\"m\",\"i\":1000}");
  CHECK_FATAL(last);
  last[0] = ']';
  last[1] = 0;
  CHECK(fx_post(&fx, "/v1/add-batch?wait=checkpoint", big, &r) == 200);
  j = answer_json(&r);
  http_resp_free(&r);
  CHECK(json_array_size(json_object_get(j, "results")) == 1000);
  const char *note = json_string_value(json_object_get(j, "checkpoint"));
  checkpoint c;
  char err[200];
  CHECK_FATAL(note && checkpoint_open(&fx.verifier, note, strlen(note), &c, err, sizeof err) == 0);
  json_t *e = json_array_get(json_object_get(j, "results"), 999);
  uint8_t leaf[32], proof[70][32];
  size_t n;
  fx_unhex(json_string_value(json_object_get(e, "leaf_hash")), leaf, 32);
  CHECK(proof_from_json(json_object_get(e, "proof"), proof, 70, &n) == 0);
  CHECK(merkle_verify_inclusion((uint64_t)json_integer_value(json_object_get(e, "index")), c.size, leaf,
                                (const uint8_t (*)[32])proof, n, c.root) == 0);
  json_decref(j);
  free(big);
}

static void test_tiles(void) {
  uint64_t n = tree_size();
  CHECK_FATAL(n > 256);
  uint8_t (*lv)[32] = leaves(n);
  CHECK_FATAL(lv);
  http_resp r;
  char h[200];
  CHECK(fx_get(&fx, "/tile/0/000", &r) == 200 && r.len == 256 * 32);
  CHECK(http_header(&r, "Cache-Control", h, sizeof h) && !strcmp(h, "public, max-age=31536000, immutable"));
  http_resp_free(&r);
  /* A partial tile is the prefix of what exists; wider than the tree: 404. */
  CHECK(fx_get(&fx, "/tile/0/000.p/7", &r) == 200 && r.len == 7 * 32 && !memcmp(r.body, lv[0], 7 * 32));
  http_resp_free(&r);
  char path[100];
  unsigned w = (unsigned)(n % 256);
  if (w) {
    snprintf(path, sizeof path, "/tile/0/%03llu.p/%u", (unsigned long long)(n / 256), w + 1 <= 255 ? w + 1 : 255);
    if (w < 255) {
      CHECK(fx_get(&fx, path, &r) == 404);
      http_resp_free(&r);
    }
    snprintf(path, sizeof path, "/tile/0/%03llu", (unsigned long long)(n / 256));
    CHECK(fx_get(&fx, path, &r) == 404);
    http_resp_free(&r);
  }
  /* Level-1 tile: node (8, 0) = root of the first 256 leaves. */
  CHECK(fx_get(&fx, "/tile/1/000.p/1", &r) == 200 && r.len == 32);
  mem_tree m = {lv, n};
  uint8_t node[1][32];
  CHECK(mem_nodes(&m, 8, 0, 1, node) == 0);
  CHECK(r.len == 32 && !memcmp(r.body, node[0], 32));
  http_resp_free(&r);
  /* Entry bundle: each entry's leaf hash is in the level-0 tile. */
  CHECK_FATAL(fx_get(&fx, "/tile/entries/000", &r) == 200);
  tile_bundle_entry ents[256];
  CHECK(tile_bundle_parse((const uint8_t *)r.body, r.len, 256, ents) == 0);
  for (int i = 0; i < 256; i++) {
    uint8_t lh[32];
    merkle_leaf_hash(ents[i].data, ents[i].len, lh);
    CHECK_EQ_MEM(lh, lv[i], 32);
  }
  CHECK(http_header(&r, "Cache-Control", h, sizeof h) && !strcmp(h, "public, max-age=31536000, immutable"));
  http_resp_free(&r);
  CHECK(fx_get(&fx, "/tile/entries/000.p/3", &r) == 200);
  CHECK(tile_bundle_parse((const uint8_t *)r.body, r.len, 3, ents) == 0);
  http_resp_free(&r);
  const char *bad[] = {"/tile/0/0", "/tile/0/00", "/tile/0/0000", "/tile/00/000", "/tile/0/x000",
                       "/tile/0/000.p/0", "/tile/0/000.p/256", "/tile/0/000.p/01", "/tile/64/000",
                       "/tile/0/000/", "/tile/entries/000.p", "/tile/-1/000", "/tile/0/999",
                       "/tile/1/000", "/tile/3/000.p/1", "/tile/entries/x001/000"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char *msg = NULL;
    int st = status_of("GET", bad[i], NULL, NULL, 0, &msg);
    if (st != 404) printf("# %s -> %d\n", bad[i], st);
    CHECK(st == 404 && msg);
    free(msg);
  }
  free(lv);
}

/* Adds n new events {"type":"p","b":b,"i":i} (i from 0) in one add-batch: 0 when
 * answered 200. */
static int add_numbered(int n, int b) {
  size_t cap = (size_t)n * 48 + 10, len = 0;
  char *big = malloc(cap);
  if (!big) return -1;
  big[len++] = '[';
  for (int i = 0; i < n; i++)
    len += (size_t)snprintf(big + len, cap - len, "%s{\"type\":\"p\",\"b\":%d,\"i\":%d}", i ? "," : "", b, i);
  big[len++] = ']';
  big[len] = 0;
  http_resp r;
  long st = fx_post(&fx, "/v1/add-batch", big, &r);
  http_resp_free(&r);
  free(big);
  return st == 200 ? 0 : -1;
}

static void test_proofs_random(void) {
  /* Grow past two tile levels' worth of interesting shapes. */
  for (int b = 0; b < 3; b++) CHECK(add_numbered(1000, b) == 0);
  checkpoint c;
  CHECK_FATAL(settle(&c, NULL) == 0);
  uint64_t n = c.size;
  uint8_t (*lv)[32] = leaves(n);
  CHECK_FATAL(lv);
  mem_tree m = {lv, n};
  uint8_t root[32];
  CHECK(merkle_root_at(n, mem_nodes, &m, root) == 0);
  CHECK_EQ_MEM(root, c.root, 32);
  srand(12345);
  http_client *hc = http_client_new();
  for (int k = 0; k < 300; k++) {
    uint64_t size = 1 + (uint64_t)rand() % n, index = (uint64_t)rand() % size;
    if (k < 4) size = k == 0 ? n : k == 1 ? 1 : k == 2 ? 256 : 257, index = size - 1;
    char url[300];
    snprintf(url, sizeof url, "%s/v1/proof/inclusion?index=%llu&size=%llu", fx.base,
             (unsigned long long)index, (unsigned long long)size);
    http_resp r;
    http_request(hc, "GET", url, NULL, NULL, 0, 0, &r);
    CHECK(r.status == 200);
    json_t *j = fx_json(&r);
    http_resp_free(&r);
    uint8_t proof[70][32], sroot[32];
    size_t pn;
    CHECK(proof_from_json(json_object_get(j, "proof"), proof, 70, &pn) == 0);
    CHECK(merkle_root_at(size, mem_nodes, &m, sroot) == 0);
    CHECK(merkle_verify_inclusion(index, size, lv[index], (const uint8_t (*)[32])proof, pn, sroot) == 0);
    json_decref(j);
    /* By leaf hash: same index and proof. */
    char hexh[65];
    check_hex(lv[index], 32, hexh);
    snprintf(url, sizeof url, "%s/v1/proof/inclusion?hash=%s&size=%llu", fx.base, hexh, (unsigned long long)size);
    http_request(hc, "GET", url, NULL, NULL, 0, 0, &r);
    CHECK(r.status == 200);
    j = fx_json(&r);
    http_resp_free(&r);
    CHECK((uint64_t)json_integer_value(json_object_get(j, "index")) == index);
    json_decref(j);

    uint64_t to = 1 + (uint64_t)rand() % n, from = (uint64_t)rand() % (to + 1);
    snprintf(url, sizeof url, "%s/v1/proof/consistency?from=%llu&to=%llu", fx.base,
             (unsigned long long)from, (unsigned long long)to);
    http_request(hc, "GET", url, NULL, NULL, 0, 0, &r);
    CHECK(r.status == 200);
    j = fx_json(&r);
    http_resp_free(&r);
    uint8_t r1[32], r2[32];
    CHECK(proof_from_json(json_object_get(j, "proof"), proof, 70, &pn) == 0);
    CHECK(merkle_root_at(from, mem_nodes, &m, r1) == 0 && merkle_root_at(to, mem_nodes, &m, r2) == 0);
    CHECK(merkle_verify_consistency(from, to, r1, r2, (const uint8_t (*)[32])proof, pn) == 0);
    json_decref(j);
  }
  http_client_free(hc);
  free(lv);
}

/* The exact answer logd must give for an inclusion (from == UINT64_MAX) or consistency
 * proof, built from merkle's reference proof over the leaves in memory. */
static char *want_proof_body(mem_tree *m, uint64_t a, uint64_t b, int inclusion) {
  uint8_t proof[MERKLE_MAX_PROOF][32];
  size_t n = 0;
  int rc = inclusion ? merkle_inclusion_proof(a, b, mem_nodes, m, proof, MERKLE_MAX_PROOF, &n)
                     : merkle_consistency_proof(a, b, mem_nodes, m, proof, MERKLE_MAX_PROOF, &n);
  if (rc) return NULL;
  size_t cap = 200 + n * 67, o = 0;
  char *out = malloc(cap), hex[65];
  if (!out) return NULL;
  if (inclusion) {
    check_hex(m->leaf[a], 32, hex);
    o += (size_t)snprintf(out, cap, "{\"index\":%llu,\"size\":%llu,\"leaf_hash\":\"%s\",\"proof\":[",
                          (unsigned long long)a, (unsigned long long)b, hex);
  } else {
    o += (size_t)snprintf(out, cap, "{\"from\":%llu,\"to\":%llu,\"proof\":[", (unsigned long long)a,
                          (unsigned long long)b);
  }
  for (size_t i = 0; i < n; i++) {
    check_hex(proof[i], 32, hex);
    o += (size_t)snprintf(out + o, cap - o, "%s\"%s\"", i ? "," : "", hex);
  }
  snprintf(out + o, cap - o, "]}\n");
  return out;
}

/* One proof request, answered with exactly `want`: twice, since the second answer
 * comes from the caches the first one filled. */
static int proof_exact(http_client *hc, mem_tree *m, uint64_t a, uint64_t b, int inclusion) {
  char *want = want_proof_body(m, a, b, inclusion), url[300];
  if (!want) return -1;
  snprintf(url, sizeof url, inclusion ? "%s/v1/proof/inclusion?index=%llu&size=%llu"
                                      : "%s/v1/proof/consistency?from=%llu&to=%llu",
           fx.base, (unsigned long long)a, (unsigned long long)b);
  int ok = 1;
  for (int k = 0; k < 2; k++) {
    http_resp r;
    http_request(hc, "GET", url, NULL, NULL, 0, 0, &r);
    if (r.status != 200 || r.len != strlen(want) || memcmp(r.body, want, r.len)) {
      printf("# %s: %ld %.*s, want %s", url, r.status, (int)r.len, r.body ? r.body : "", want);
      ok = 0;
    }
    http_resp_free(&r);
  }
  free(want);
  return ok ? 0 : -1;
}

/* Proofs byte for byte as merkle's reference gives them, where logd's tile caches and
 * right-edge folds have their boundaries: both ends of tiles, partial and full tiles,
 * the edge of the latest size and of older ones, before and after the log grows past
 * a tile boundary. */
static void test_proofs_exact_at_boundaries(void) {
  checkpoint c;
  CHECK_FATAL(settle(&c, NULL) == 0);
  http_client *hc = http_client_new();
  for (int round = 0; round < 2; round++) {
    uint64_t n = c.size;
    uint8_t (*lv)[32] = leaves(n);
    CHECK_FATAL(lv);
    mem_tree m = {lv, n};
    uint64_t sizes[] = {1, 2, 3, 255, 256, 257, 511, 512, 513, 767, 768, 1024, 1025, n - 300, n - 257, n - 256, n - 1, n};
    uint64_t offs[] = {0, 1, 2, 127, 128, 254, 255, 256, 257, 511, 512, 513, 1023, 1024};
    int bad = 0, count = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
      uint64_t size = sizes[i];
      if (size == 0 || size > n) continue;
      for (size_t j = 0; j < 2 * sizeof offs / sizeof *offs; j++) {
        uint64_t o = offs[j / 2], index = j % 2 ? size - 1 - o : o;
        if (o >= size) continue;
        bad += proof_exact(hc, &m, index, size, 1) != 0, count++;
      }
      for (size_t j = 0; j <= i; j++)
        if (sizes[j] <= size) bad += proof_exact(hc, &m, sizes[j], size, 0) != 0, count++;
      bad += proof_exact(hc, &m, 0, size, 0) != 0, count++;
    }
    printf("# round %d: tree of %llu, %d proofs, %d wrong\n", round, (unsigned long long)n, count, bad);
    CHECK(bad == 0);
    free(lv);
    if (round) break;
    /* Grow by 300 (past the next tile boundary): the old edge stays cached, the
     * partial tiles it came from have grown or filled. */
    CHECK(add_numbered(300, 1000) == 0);
    CHECK_FATAL(settle(&c, NULL) == 0);
    CHECK(c.size == n + 300);
  }
  http_client_free(hc);
}

static void test_read_errors(void) {
  struct {
    const char *path;
    int status;
  } cases[] = {
      {"/v1/proof/inclusion?index=0", 400},
      {"/v1/proof/inclusion?index=01&size=2", 400},
      {"/v1/proof/inclusion?index=-1&size=2", 400},
      {"/v1/proof/inclusion?index=%2B1&size=2", 400},
      {"/v1/proof/inclusion?index=1x&size=2", 400},
      {"/v1/proof/inclusion?index=&size=2", 400},
      {"/v1/proof/inclusion?index=%201&size=2", 400},
      {"/v1/proof/inclusion?index=2&size=2", 400},
      {"/v1/proof/inclusion?index=0&size=0", 400},
      {"/v1/proof/inclusion?index=0&size=99999999999999999999", 400},
      {"/v1/proof/inclusion?index=0&size=18446744073709551615", 400},
      {"/v1/proof/inclusion?hash=zz&size=2", 400},
      {"/v1/proof/inclusion?hash=0000000000000000000000000000000000000000000000000000000000000000&size=2", 404},
      {"/v1/proof/consistency?from=3&to=2", 400},
      {"/v1/proof/consistency?from=1", 400},
      {"/v1/proof/consistency?from=0&to=1e3", 400},
      {"/v1/proof/consistency?from=0&to=999999999", 400},
      {"/v1/entries?start=0&count=0", 400},
      {"/v1/entries?start=0&count=1001", 400},
      {"/v1/entries?start=0", 400},
      {"/v1/entries?start=999999999&count=1", 404},
      {"/v1/checkpoints/abc", 400},
      {"/v1/checkpoints/007", 400},
      {"/v1/checkpoints/999999", 404},
      {"/nope", 404},
      {"/v1/add/x", 404},
      {"/", 404},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char *msg = NULL;
    int st = status_of("GET", cases[i].path, NULL, NULL, 0, &msg);
    if (st != cases[i].status) printf("# %s -> %d\n", cases[i].path, st);
    CHECK(st == cases[i].status);
    CHECK(msg && *msg);
    free(msg);
  }
  CHECK(status_of("POST", "/checkpoint", NULL, "x", 1, NULL) == 405);
  CHECK(status_of("DELETE", "/v1/log", NULL, NULL, 0, NULL) == 405);
  CHECK(status_of("GET", "/v1/add", NULL, NULL, 0, NULL) == 405);
  CHECK(status_of("PUT", "/v1/add-batch", NULL, "[]", 2, NULL) == 405);
  CHECK(status_of("HEAD", "/checkpoint", NULL, NULL, 0, NULL) == 200);
}

static void test_stored_checkpoints_log_health_metrics(void) {
  checkpoint c;
  char *note = NULL;
  CHECK_FATAL(settle(&c, &note) == 0);
  char path[100];
  snprintf(path, sizeof path, "/v1/checkpoints/%llu", (unsigned long long)c.size);
  http_resp r;
  CHECK(fx_get(&fx, path, &r) == 200 && r.len == strlen(note) && !memcmp(r.body, note, r.len));
  http_resp_free(&r);
  CHECK(fx_get(&fx, "/v1/log", &r) == 200);
  json_t *j = fx_json(&r);
  http_resp_free(&r);
  CHECK(!strcmp(json_string_value(json_object_get(j, "origin")), FX_ORIGIN));
  CHECK(!strcmp(json_string_value(json_object_get(j, "verifier_key")), fx.vkey));
  CHECK((uint64_t)json_integer_value(json_object_get(j, "size")) == c.size);
  char hexr[65];
  check_hex(c.root, 32, hexr);
  CHECK(!strcmp(json_string_value(json_object_get(j, "root")), hexr));
  CHECK(json_is_null(json_object_get(j, "anchor")));
  json_decref(j);
  CHECK(fx_get(&fx, "/healthz", &r) == 200);
  http_resp_free(&r);
  CHECK(fx_get(&fx, "/metrics", &r) == 200);
  CHECK(strstr(r.body, "logd_entries_total ") && strstr(r.body, "logd_fsync_seconds_bucket{le=\"+Inf\"}") &&
        strstr(r.body, "logd_http_responses_total{code=\"200\"}") && strstr(r.body, "logd_queue_entries "));
  http_resp_free(&r);
  CHECK(fx_get(&fx, "/v1/attestation", &r) == 404);
  http_resp_free(&r);
  free(note);
}

static char *checkpoint_text(void) {
  checkpoint c;
  char *note = NULL;
  if (settle(&c, &note)) return NULL;
  return note;
}

/* Raw socket: write bytes, read the status line. */
static int raw_status(const char *req, size_t len) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)fx.port)};
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa)) {
    close(fd);
    return -1;
  }
  size_t off = 0;
  while (off < len) {
    ssize_t w = send(fd, req + off, len - off, MSG_NOSIGNAL);
    if (w <= 0) break;
    off += (size_t)w;
  }
  char buf[256] = {0};
  ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
  close(fd);
  int st = -1;
  if (n > 12) sscanf(buf, "HTTP/1.%*d %d", &st);
  return st;
}

static void test_bad_input_changes_nothing(void) {
  char *before = checkpoint_text();
  uint64_t size_before = tree_size();
  CHECK_FATAL(before);
  char auth[200], badauth[] = "Authorization: Bearer 0000000000000000000000000000000000000000000000000000000000000000";
  snprintf(auth, sizeof auth, "Authorization: Bearer %s", fx.token);
  const char *ok[] = {auth, NULL};
  const char *wrong[] = {badauth, NULL};
  const char *basic[] = {"Authorization: Basic Zm9vOmJhcg==", NULL};
  static char deep[200];
  size_t dl = 0;
  dl += (size_t)snprintf(deep, sizeof deep, "{\"type\":\"d\",\"x\":");
  for (int i = 0; i < 40; i++) deep[dl++] = '[';
  for (int i = 0; i < 40; i++) deep[dl++] = ']';
  deep[dl++] = '}';
  deep[dl] = 0;
  char *huge = malloc(20000);
  memset(huge, 'a', 20000);
  memcpy(huge, "{\"type\":\"h\",\"s\":\"", 17);
  memcpy(huge + 19997, "\"}", 3);
  struct {
    const char *path;
    const char *const *hdrs;
    const char *body;
    int status;
  } cases[] = {
      {"/v1/add", NULL, "{\"type\":\"x\"}", 401},
      {"/v1/add", wrong, "{\"type\":\"x\"}", 401},
      {"/v1/add", basic, "{\"type\":\"x\"}", 401},
      {"/v1/add-batch", wrong, "[{\"type\":\"x\"}]", 401},
      {"/v1/add", ok, "", 400},
      {"/v1/add", ok, "{", 400},
      {"/v1/add", ok, "{\"type\":\"x\"} x", 400},
      {"/v1/add", ok, "{\"type\":\"x\",}", 400},
      {"/v1/add", ok, "[{\"type\":\"x\"}]", 400},
      {"/v1/add", ok, "\"type\"", 400},
      {"/v1/add", ok, "{\"typ\":\"x\"}", 400},
      {"/v1/add", ok, "{\"type\":1}", 400},
      {"/v1/add", ok, "{\"type\":\"\"}", 400},
      {"/v1/add", ok, "{\"type\":\"Boot\"}", 400},
      {"/v1/add", ok, "{\"type\":\"a b\"}", 400},
      {"/v1/add", ok, "{\"type\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}", 400},
      {"/v1/add", ok, "{\"type\":\"x\",\"f\":1.5}", 400},
      {"/v1/add", ok, "{\"type\":\"x\",\"f\":1e3}", 400},
      {"/v1/add", ok, "{\"type\":\"x\",\"f\":[1,2.0]}", 400},
      {"/v1/add", ok, "{\"type\":\"x\",\"f\":99999999999999999999999}", 400},
      {"/v1/add", ok, "{\"type\":\"x\",\"f\":NaN}", 400},
      {"/v1/add", ok, "{\"type\":\"x\",\"type\":\"y\"}", 400},
      {"/v1/add", ok, "{\"type\":\"x\",\"s\":\"\\u0000\"}", 400},
      {"/v1/add", ok, "{\"type\":\"x\",\"s\":\"\xff\"}", 400},
      {"/v1/add", ok, deep, 400},
      {"/v1/add", ok, huge, 413},
      {"/v1/add?wait=soon", ok, "{\"type\":\"x\"}", 400},
      {"/v1/add?format=xml", ok, "{\"type\":\"x\"}", 400},
      {"/v1/add-batch", ok, "[]", 400},
      {"/v1/add-batch", ok, "{\"type\":\"x\"}", 400},
      {"/v1/add-batch", ok, "[{\"type\":\"x\"},1]", 400},
      {"/v1/add-batch?format=tlog-proof", ok, "[{\"type\":\"x\"}]", 400},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char *msg = NULL;
    int st = status_of("POST", cases[i].path, cases[i].hdrs, cases[i].body, strlen(cases[i].body), &msg);
    if (st != cases[i].status) printf("# case %zu (%.40s) -> %d (%s)\n", i, cases[i].body, st, msg ? msg : "");
    CHECK(st == cases[i].status);
    CHECK(msg && *msg);
    free(msg);
  }
  free(huge);
  /* Oversize by Content-Length: refused before the body is read. */
  char req[600];
  int n = snprintf(req, sizeof req,
                   "POST /v1/add-batch HTTP/1.1\r\nHost: x\r\n%s\r\nContent-Length: 2000000\r\n\r\n[", auth);
  CHECK(raw_status(req, (size_t)n) == 413);
  /* Oversize while streaming (chunked, no Content-Length). */
  size_t cap = (2u << 20) + 4096;
  char *chunked = malloc(cap);
  size_t cl = (size_t)snprintf(chunked, cap,
                               "POST /v1/add-batch HTTP/1.1\r\nHost: x\r\n%s\r\nTransfer-Encoding: chunked\r\n\r\n", auth);
  for (int k = 0; k < 40; k++) {
    cl += (size_t)snprintf(chunked + cl, cap - cl, "8000\r\n");
    memset(chunked + cl, ' ', 0x8000);
    cl += 0x8000;
    cl += (size_t)snprintf(chunked + cl, cap - cl, "\r\n");
  }
  cl += (size_t)snprintf(chunked + cl, cap - cl, "0\r\n\r\n");
  int st = raw_status(chunked, cl);
  CHECK(st == 413);
  free(chunked);
  /* Malformed HTTP. */
  st = raw_status("GARBAGE\r\n\r\n", 11);
  CHECK(st == 400 || st == -1);
  char *after = checkpoint_text();
  CHECK(after && !strcmp(before, after));
  CHECK(tree_size() == size_before);
  free(before);
  free(after);
}

/* Raw socket: writes the request, then reads the whole answer until the server closes
 * (10 s at most) into a malloc'd NUL-terminated text. NULL when nothing came back. */
static char *raw_exchange(const char *req, size_t len) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)fx.port)};
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  struct timeval tv = {.tv_sec = 10};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa)) {
    close(fd);
    return NULL;
  }
  for (size_t off = 0; off < len;) {
    ssize_t w = send(fd, req + off, len - off, MSG_NOSIGNAL);
    if (w <= 0) break;
    off += (size_t)w;
  }
  size_t cap = 8192, n = 0;
  char *out = malloc(cap);
  for (;;) {
    ssize_t r = recv(fd, out + n, cap - n - 1, 0);
    if (r <= 0) break;
    n += (size_t)r;
    if (n + 1 == cap) break;
  }
  close(fd);
  out[n] = 0;
  if (!n) {
    free(out);
    return NULL;
  }
  return out;
}

/* The final answer of a raw exchange (after any "100 Continue"), from its status line. */
static const char *final_answer(const char *resp) {
  const char *p = resp;
  while (p && !strncmp(p, "HTTP/1.1 100", 12)) {
    p = strstr(p, "\r\n\r\n");
    if (p) p += 4;
  }
  return p;
}

/* Issue 19 item 7: a chunked body over the limit gets 413 and a clean close (not a
 * reset), with the whole body read and dropped; 401 names the Bearer scheme; NUL
 * bytes and jansson's errors are explained in logd's words. */
static void test_http_errors_exact(void) {
  char *before = checkpoint_text();
  CHECK_FATAL(before);
  char auth[200];
  snprintf(auth, sizeof auth, "Authorization: Bearer %s", fx.token);
  /* 3 MiB chunked to /v1/add, whose limit is 4 x --max-entry-bytes = 65536 bytes. */
  size_t cap = (3u << 20) + 8192, cl;
  char *req = malloc(cap);
  cl = (size_t)snprintf(req, cap, "POST /v1/add HTTP/1.1\r\nHost: x\r\n%s\r\n"
                                  "Transfer-Encoding: chunked\r\n\r\n", auth);
  for (int k = 0; k < 96; k++) {
    cl += (size_t)snprintf(req + cl, cap - cl, "8000\r\n");
    memset(req + cl, ' ', 0x8000);
    cl += 0x8000;
    cl += (size_t)snprintf(req + cl, cap - cl, "\r\n");
  }
  cl += (size_t)snprintf(req + cl, cap - cl, "0\r\n\r\n");
  char *resp = raw_exchange(req, cl);
  free(req);
  const char *a = resp ? final_answer(resp) : NULL;
  if (!a) printf("# chunked 3 MiB: %s\n", resp ? resp : "(no answer: reset?)");
  CHECK(a && !strncmp(a, "HTTP/1.1 413 ", 13));
  CHECK(a && strstr(a, "\r\nConnection: close\r\n"));
  CHECK(a && strstr(a, "\r\nContent-Type: application/json\r\n"));
  static const char body413[] = "\r\n\r\n{\"error\":\"request body is larger than 65536 bytes\"}\n";
  CHECK(a && strlen(a) > strlen(body413) && !strcmp(a + strlen(a) - strlen(body413), body413));
  free(resp);
  /* 401: missing, wrong and non-Bearer credentials. */
  const char *cases[][2] = {
      {"", "{\"error\":\"missing bearer token (Authorization: Bearer <token>)\"}\n"},
      {"Authorization: Bearer 00000000000000000000000000000000\r\n", "{\"error\":\"invalid bearer token\"}\n"},
      {"Authorization: Basic Zm9vOmJhcg==\r\n", "{\"error\":\"invalid bearer token\"}\n"}};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char r401[600];
    int n = snprintf(r401, sizeof r401, "POST /v1/add HTTP/1.1\r\nHost: x\r\n%sContent-Length: 12\r\n"
                                        "Connection: close\r\n\r\n{\"type\":\"x\"}", cases[i][0]);
    resp = raw_exchange(r401, (size_t)n);
    CHECK(resp && !strncmp(resp, "HTTP/1.1 401 ", 13));
    CHECK(resp && strstr(resp, "\r\nWWW-Authenticate: Bearer\r\n"));
    const char *b = resp ? strstr(resp, "\r\n\r\n") : NULL;
    CHECK(b && !strcmp(b + 4, cases[i][1]));
    free(resp);
  }
  /* NUL, escaped and raw, and jansson's errors: our words, never its flag names. */
  const char *const hdrs[] = {auth, NULL};
  struct {
    const char *body;
    size_t len;
    const char *msg;
  } bad[] = {
      {"{\"type\":\"x\",\"s\":\"\\u0000\"}", 0,
       "malformed JSON at line 1 column 24: a string holds the NUL character (\\u0000), which events may not contain"},
      {"{\"type\":\"x\",\"n\":1\0}", 20, "malformed JSON: a NUL byte in the body"},
      {"{\"type\":\"x\",\"type\":\"y\"}", 0,
       "malformed JSON at line 1 column 18: an object has the same key twice"},
      {"{\"type\":\"x\"", 0, "malformed JSON at line 1 column 11: the JSON text ends too early"},
      {"{\"type\":\"x\"} x", 0, "malformed JSON at line 1 column 14: more text follows the JSON value"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char *msg = NULL;
    size_t len = bad[i].len ? bad[i].len : strlen(bad[i].body);
    int st = status_of("POST", "/v1/add", hdrs, bad[i].body, len, &msg);
    if (!msg || strcmp(msg, bad[i].msg)) printf("# case %zu: %d %s\n", i, st, msg ? msg : "(none)");
    CHECK(st == 400 && msg && !strcmp(msg, bad[i].msg));
    CHECK(!msg || !strstr(msg, "JSON_"));
    free(msg);
  }
  char *after = checkpoint_text();
  CHECK(after && !strcmp(before, after));
  free(before);
  free(after);
  char *log = proc_read_file(fx.log, NULL);
  CHECK(log && !strstr(log, "Application reported internal error"));
  free(log);
}

/* logd keeps the token a keep-alive connection authenticated with: the next request on
 * that connection with a different token, of the same length or not, is still 401. */
static void test_token_kept_per_connection(void) {
  size_t tl = strlen(fx.token);
  CHECK_FATAL(tl > 1 && tl < 200);
  char flipped[200], longer[210];
  memcpy(flipped, fx.token, tl + 1);
  flipped[tl - 1] = flipped[tl - 1] == '0' ? '1' : '0';
  snprintf(longer, sizeof longer, "%s0", fx.token);
  const char *bad[] = {flipped, longer, ""};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char req[1200], body[64];
    int bl = snprintf(body, sizeof body, "{\"type\":\"kept\",\"i\":%zu}", i);
    int n = snprintf(req, sizeof req,
                     "POST /v1/add HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                     "Content-Length: %d\r\n\r\n%s"
                     "POST /v1/add HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                     "Content-Length: 12\r\nConnection: close\r\n\r\n{\"type\":\"x\"}",
                     fx.token, bl, body, bad[i]);
    char *resp = raw_exchange(req, (size_t)n);
    const char *second = resp ? strstr(resp + 1, "HTTP/1.1 ") : NULL;
    if (!second) printf("# case %zu: %s\n", i, resp ? resp : "(no answer)");
    CHECK(resp && !strncmp(resp, "HTTP/1.1 200 ", 13));
    CHECK(second && !strncmp(second, "HTTP/1.1 401 ", 13));
    free(resp);
  }
}

static void test_slowloris(void) {
  /* fx runs with --client-timeout 2: clients that send part of a request and
   * stall are cut off, and others are served meanwhile. */
  enum { K = 20 };
  int fds[K];
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)fx.port)};
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  char auth[400];
  snprintf(auth, sizeof auth, "POST /v1/add HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: 100\r\n\r\n{\"type\"", fx.token);
  for (int i = 0; i < K; i++) {
    fds[i] = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(connect(fds[i], (struct sockaddr *)&sa, sizeof sa) == 0);
    /* Half the clients stall in the headers, half in the body. */
    if (i % 2) send(fds[i], "POST /v1/add HTTP/1.1\r\nHost: x\r\n", 32, MSG_NOSIGNAL);
    else send(fds[i], auth, strlen(auth), MSG_NOSIGNAL);
  }
  long long t0 = proc_now_ms();
  http_resp r;
  CHECK(fx_get(&fx, "/checkpoint", &r) == 200);
  http_resp_free(&r);
  CHECK(proc_now_ms() - t0 < 1000);
  int closed = 0;
  for (int i = 0; i < K; i++) {
    struct timeval tv = {8, 0};
    setsockopt(fds[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char b[512];
    ssize_t n;
    while ((n = recv(fds[i], b, sizeof b, 0)) > 0) {
    }
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) closed++;
    close(fds[i]);
  }
  long long took = proc_now_ms() - t0;
  CHECK(closed == K);
  CHECK(took >= 1500 && took < 8000);
}

typedef struct worker {
  int id, count;
  uint64_t *index;
  int failures;
  int wait; /* ?wait=checkpoint: each receipt's proof is verified against its checkpoint */
} worker;

/* 0 when the receipt j proves its leaf hash into its signed checkpoint. */
static int receipt_ok(json_t *j) {
  const char *note = json_string_value(json_object_get(j, "checkpoint"));
  checkpoint c;
  char err[200];
  uint8_t leaf[32], proof[70][32];
  size_t n;
  if (!note || checkpoint_open(&fx.verifier, note, strlen(note), &c, err, sizeof err) ||
      fx_unhex(json_string_value(json_object_get(j, "leaf_hash")), leaf, 32) ||
      proof_from_json(json_object_get(j, "proof"), proof, 70, &n))
    return -1;
  uint64_t idx = (uint64_t)json_integer_value(json_object_get(j, "index"));
  return merkle_verify_inclusion(idx, c.size, leaf, (const uint8_t (*)[32])proof, n, c.root) ? -1 : 0;
}

static void *writer(void *arg) {
  worker *w = arg;
  http_client *hc = http_client_new();
  char url[200], auth[200], body[200];
  snprintf(url, sizeof url, "%s/v1/add%s", fx.base, w->wait ? "?wait=checkpoint" : "");
  snprintf(auth, sizeof auth, "Authorization: Bearer %s", fx.token);
  const char *hdrs[] = {auth, NULL};
  for (int i = 0; i < w->count; i++) {
    snprintf(body, sizeof body, "{\"type\":\"c\",\"w\":%d,\"i\":%d}", w->id, i);
    http_resp r;
    http_request(hc, "POST", url, hdrs, body, strlen(body), 0, &r);
    json_t *j = r.status == 200 ? fx_json(&r) : NULL;
    if (!j || json_is_true(json_object_get(j, "dup")) || (w->wait && receipt_ok(j))) {
      w->failures++;
      printf("# writer %d request %d: %ld %.*s\n", w->id, i, r.status, (int)(r.len > 300 ? 300 : r.len), r.body ? r.body : "");
    }
    else w->index[i] = (uint64_t)json_integer_value(json_object_get(j, "index"));
    json_decref(j);
    http_resp_free(&r);
  }
  http_client_free(hc);
  return NULL;
}

/* Eight writers at once, half of them waiting for receipts: every receipt's proof comes
 * from the right edge while other writers grow it (the partial tiles' shared copies). */
static void test_concurrent_writers(void) {
  enum { W = 8, N = 150 };
  uint64_t before = tree_size();
  worker ws[W];
  pthread_t th[W];
  for (int i = 0; i < W; i++) {
    ws[i] = (worker){i, N, calloc(N, sizeof(uint64_t)), 0, i % 2};
    pthread_create(&th[i], NULL, writer, &ws[i]);
  }
  for (int i = 0; i < W; i++) pthread_join(th[i], NULL);
  CHECK(tree_size() == before + W * N);
  uint8_t *seen = calloc(W * N, 1);
  for (int i = 0; i < W; i++) {
    CHECK(ws[i].failures == 0);
    for (int k = 0; k < N; k++) {
      uint64_t x = ws[i].index[k] - before;
      CHECK(x < W * N && !seen[x]);
      if (x < W * N) seen[x] = 1;
    }
  }
  /* Each index holds what its writer sent. */
  for (int i = 0; i < W; i++) {
    char path[100], want[100];
    snprintf(path, sizeof path, "/v1/entries?start=%llu&count=1", (unsigned long long)ws[i].index[N - 1]);
    snprintf(want, sizeof want, "{\"event\":{\"i\":%d,\"type\":\"c\",\"w\":%d}", N - 1, i);
    http_resp r;
    fx_get(&fx, path, &r);
    json_t *j = fx_json(&r);
    const char *e = json_string_value(json_object_get(json_array_get(json_object_get(j, "entries"), 0), "entry"));
    CHECK(e && !strncmp(e, want, strlen(want)));
    json_decref(j);
    http_resp_free(&r);
    free(ws[i].index);
  }
  free(seen);
}

static void test_restart_keeps_everything(void) {
  checkpoint c1, c2;
  char *n1 = NULL, *n2 = NULL;
  CHECK_FATAL(settle(&c1, &n1) == 0);
  uint64_t size = tree_size();
  http_resp r;
  fx_get(&fx, "/v1/entries?start=0&count=1000", &r);
  char *entries_before = r.body;
  r.body = NULL;
  http_resp_free(&r);
  CHECK(fx_stop(&fx) == 0);
  CHECK_FATAL(fx_restart(&fx) == 0);
  CHECK(tree_size() == size + 1); /* every start logs a boot entry */
  CHECK(settle(&c2, &n2) == 0);
  CHECK(c2.size == c1.size + 1);
  fx_get(&fx, "/v1/entries?start=0&count=1000", &r);
  /* The same entries, then the new boot entry. */
  CHECK(r.body && !strncmp(r.body, entries_before, strlen(entries_before) - 2));
  http_resp_free(&r);
  free(entries_before);
  /* Dedup survives the restart. */
  uint64_t idx;
  int dup;
  CHECK(add("{\"type\":\"boot\",\"b\":2}", &idx, NULL, &dup) == 0 && dup);
  /* kill -9 right after an acknowledged write: it is there after restart. */
  CHECK(add("{\"type\":\"k9\"}", &idx, NULL, &dup) == 0 && !dup);
  proc_kill9(&fx.p);
  CHECK_FATAL(fx_restart(&fx) == 0);
  CHECK(tree_size() == idx + 2);
  uint64_t again;
  CHECK(add("{\"type\":\"k9\"}", &again, NULL, &dup) == 0 && dup && again == idx);
  checkpoint c3;
  CHECK(settle(&c3, NULL) == 0 && c3.size == idx + 2);
  free(n1);
  free(n2);
}

static void test_refuses_mismatch(void) {
  /* A different key for the same data: the stored checkpoint does not verify. */
  CHECK(fx_stop(&fx) == 0);
  char path[PATH_MAX + 40], saved[PATH_MAX + 40];
  snprintf(path, sizeof path, "%s/checkpoint-key", fx.dir);
  snprintf(saved, sizeof saved, "%s/checkpoint-key.saved", fx.dir);
  CHECK_FATAL(rename(path, saved) == 0);
  CHECK(fx_restart(&fx) != 0);
  char *log = proc_read_file(fx.log, NULL);
  CHECK(log && strstr(log, "does not verify with this log's key"));
  free(log);
  proc_kill9(&fx.p);
  CHECK_FATAL(rename(saved, path) == 0);
  /* Another origin for the same data. */
  const char *saved_extra[16];
  memcpy(saved_extra, fx.extra, sizeof saved_extra);
  char listen[64], port[16];
  snprintf(listen, sizeof listen, "127.0.0.1:%u", fx.port);
  snprintf(port, sizeof port, "%u", fx.port);
  char bin[PATH_MAX];
  snprintf(bin, sizeof bin, "%s/logd", bin_dir());
  const char *argv[] = {bin, "--data", fx.dir, "--listen", listen, "--origin", "other.example/log", "--dev", NULL};
  proc p;
  CHECK_FATAL(proc_spawn(&p, argv, NULL, NULL, fx.log, 1) == 0);
  CHECK(proc_wait(&p, 10000) == 0 && WIFEXITED(p.status) && WEXITSTATUS(p.status) == 1);
  CHECK_FATAL(fx_restart(&fx) == 0);
  checkpoint c;
  CHECK(fx_checkpoint(&fx, &c, NULL) == 0);
}

typedef struct flood {
  const char *base, *token;
  int ok, busy, other, retry_after;
  uint64_t accepted;
} flood;

static void *flooder(void *arg) {
  flood *f = arg;
  size_t cap = 1000 * 48 + 10, len = 0;
  char *big = malloc(cap);
  static atomic_int salt;
  int me = atomic_fetch_add(&salt, 1);
  big[len++] = '[';
  for (int i = 0; i < 1000; i++)
    len += (size_t)snprintf(big + len, cap - len, "%s{\"type\":\"q\",\"t\":%d,\"i\":%d}", i ? "," : "", me, i);
  big[len++] = ']';
  big[len] = 0;
  char url[200], auth[200];
  snprintf(url, sizeof url, "%s/v1/add-batch", f->base);
  snprintf(auth, sizeof auth, "Authorization: Bearer %s", f->token);
  const char *hdrs[] = {auth, NULL};
  http_client *hc = http_client_new();
  http_resp r;
  http_request(hc, "POST", url, hdrs, big, len, 0, &r);
  char h[50];
  if (r.status == 200) f->ok = 1, f->accepted = 1000;
  else if (r.status == 503) f->busy = 1, f->retry_after = http_header(&r, "Retry-After", h, sizeof h) != NULL;
  else f->other = 1;
  http_resp_free(&r);
  http_client_free(hc);
  free(big);
  return NULL;
}

/* The queue is bounded: with --queue-limit 1000, concurrent 1,000-event batches are
 * either sequenced whole or refused with 503 + Retry-After, never queued unboundedly. */
static void test_queue_bounded(void) {
  logd_fx q;
  const char *extra[] = {"--queue-limit", "1000", "--checkpoint-interval-ms", "1000", NULL};
  CHECK_FATAL(fx_start(&q, extra) == 0);
  enum { T = 12 };
  flood f[T];
  pthread_t th[T];
  uint64_t accepted = 0;
  int busy = 0;
  for (int round = 0; round < 5 && !busy; round++) {
    for (int i = 0; i < T; i++) {
      f[i] = (flood){q.base, q.token, 0, 0, 0, 0, 0};
      pthread_create(&th[i], NULL, flooder, &f[i]);
    }
    for (int i = 0; i < T; i++) {
      pthread_join(th[i], NULL);
      CHECK(!f[i].other);
      if (f[i].busy) CHECK(f[i].retry_after);
      busy += f[i].busy;
      accepted += f[i].accepted;
    }
  }
  printf("# %d refusals with 503\n", busy);
  http_resp r;
  fx_get(&q, "/v1/log", &r);
  json_t *j = fx_json(&r);
  http_resp_free(&r);
  CHECK(j && (uint64_t)json_integer_value(json_object_get(j, "tree_size")) == accepted + 1); /* + boot */
  json_decref(j);
  CHECK(fx_stop(&q) == 0);
  fx_destroy(&q);
}

/* --submitters: each named submitter writes with its own token; dedup is per
 * submitter (the same event from two submitters is two entries); bad files refuse. */
static void test_submitters_file(void) {
  char dir[PATH_MAX], file[PATH_MAX + 32];
  CHECK_FATAL(proc_tmpdir("xt-subs", dir, sizeof dir) == 0);
  snprintf(file, sizeof file, "%s/submitters", dir);
  const char *good = "# who may write\narchive 0123456789abcdef0123456789abcdef\n\ncollector fedcba9876543210fedcba9876543210\n";
  CHECK_FATAL(proc_write_file(file, good, strlen(good)) == 0);
  logd_fx q;
  const char *extra[] = {"--submitters", file, NULL};
  CHECK_FATAL(fx_start(&q, extra) == 0);
  const char *ev = "{\"type\":\"credential_intake\",\"user\":\"ab12\"}";
  char url[200];
  snprintf(url, sizeof url, "%s/v1/add", q.base);
  uint64_t idx[3];
  const char *toks[3] = {q.token, "0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"};
  for (int i = 0; i < 3; i++) {
    http_resp r;
    http_post(url, toks[i], ev, strlen(ev), &r);
    CHECK(r.status == 200);
    json_t *j = fx_json(&r);
    http_resp_free(&r);
    idx[i] = j ? (uint64_t)json_integer_value(json_object_get(j, "index")) : 999;
    CHECK(j && !json_is_true(json_object_get(j, "dup")));
    json_decref(j);
  }
  CHECK(idx[0] != idx[1] && idx[1] != idx[2] && idx[0] != idx[2]);
  http_resp r;
  fx_get(&q, "/v1/entries?start=1&count=3", &r); /* 0 is logd's boot entry */
  CHECK(strstr(r.body, "\\\"submitter\\\":\\\"archive\\\"") && strstr(r.body, "\\\"submitter\\\":\\\"collector\\\"") &&
        strstr(r.body, "\\\"submitter\\\":\\\"dev\\\""));
  http_resp_free(&r);
  /* A token that differs in one character is refused. */
  http_post(url, "0123456789abcdef0123456789abcdeF", ev, strlen(ev), &r);
  CHECK(r.status == 401);
  http_resp_free(&r);
  CHECK(fx_stop(&q) == 0);
  fx_destroy(&q);

  const char *bad[] = {"archive\n", "archive short\n", "arch ive 0123456789abcdef0123456789abcdef\n",
                       "dev 0123456789abcdef0123456789abcdef\n",
                       "a 0123456789abcdef0123456789abcdef\nb 0123456789abcdef0123456789abcdef\n",
                       "a/b 0123456789abcdef0123456789abcdef\n"};
  char bin[PATH_MAX];
  snprintf(bin, sizeof bin, "%s/logd", bin_dir());
  char data[PATH_MAX + 16];
  snprintf(data, sizeof data, "%s/data", dir);
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    CHECK_FATAL(proc_write_file(file, bad[i], strlen(bad[i])) == 0);
    const char *argv[] = {bin, "--data", data, "--listen", "127.0.0.1:1", "--origin", "x.example/log",
                          "--dev", "--submitters", file, NULL};
    proc p;
    CHECK_FATAL(proc_spawn(&p, argv, NULL, NULL, NULL, 0) == 0);
    CHECK(proc_wait(&p, 10000) == 0 && WIFEXITED(p.status) && WEXITSTATUS(p.status) == 1);
  }
  proc_rmtree(dir);
}

/* ---- refused starts ---- */

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *listing_buf;
static size_t listing_len;

static int list_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
  (void)ftw;
  if (type != FTW_F) return 0;
  size_t n = 0;
  char *data = proc_read_file(path, &n);
  uint8_t d[32];
  char h[65];
  EVP_Digest(data ? data : "", data ? n : 0, d, NULL, EVP_sha256(), NULL);
  for (int i = 0; i < 32; i++) snprintf(h + 2 * i, 3, "%02x", d[i]);
  free(data);
  char line[PATH_MAX + 120];
  int k = snprintf(line, sizeof line, "%s %lld %s%s\n", path, (long long)st->st_size, h,
                   data ? "" : " unreadable");
  char *nb = realloc(listing_buf, listing_len + (size_t)k + 1);
  if (!nb) return -1;
  listing_buf = nb;
  memcpy(listing_buf + listing_len, line, (size_t)k + 1);
  listing_len += (size_t)k;
  return 0;
}

/* Every file under dir with its size and SHA-256, one a line, in a fixed order. */
static char *listing(const char *dir) {
  listing_buf = NULL;
  listing_len = 0;
  if (nftw(dir, list_one, 16, FTW_PHYS) != 0) {
    free(listing_buf);
    return NULL;
  }
  if (!listing_buf) return strdup("");
  /* Sort the lines: nftw's order is the directory's, which a rewrite may change. */
  size_t n = 0;
  for (size_t i = 0; i < listing_len; i++) n += listing_buf[i] == '\n';
  char **lines = calloc(n, sizeof *lines);
  char *save = NULL, *p = strtok_r(listing_buf, "\n", &save);
  for (size_t i = 0; p && i < n; i++, p = strtok_r(NULL, "\n", &save)) lines[i] = p;
  qsort(lines, n, sizeof *lines, cmp_str);
  char *out = calloc(1, listing_len + 1);
  for (size_t i = 0, o = 0; out && i < n; i++) {
    size_t k = strlen(lines[i]);
    memcpy(out + o, lines[i], k);
    out[o + k] = '\n';
    o += k + 1;
  }
  free(lines);
  free(listing_buf);
  return out;
}

/* Runs logd with args (after the program name) and returns its exit code; its stderr
 * goes to errfile. */
static int run_logd(const char *const args[], const char *errfile) {
  char bin[PATH_MAX];
  snprintf(bin, sizeof bin, "%s/logd", bin_dir());
  const char *argv[24] = {bin};
  int n = 1;
  for (int i = 0; args[i] && n < 23; i++) argv[n++] = args[i];
  argv[n] = NULL;
  remove(errfile);
  proc p;
  if (proc_spawn(&p, argv, NULL, NULL, errfile, 0) || proc_wait(&p, 20000)) {
    proc_kill9(&p);
    return -1;
  }
  return WIFEXITED(p.status) ? WEXITSTATUS(p.status) : -1;
}

static int file_has(const char *path, const char *text) {
  char *s = proc_read_file(path, NULL);
  int ok = s && strstr(s, text);
  if (!ok) printf("# %s: expected '%s' in: %s\n", path, text, s ? s : "(nothing)");
  free(s);
  return ok;
}

static int count_boot_entries(logd_fx *q) {
  http_resp r;
  fx_get(q, "/v1/entries?start=0&count=1000", &r);
  int n = 0;
  for (const char *p = r.body; p && (p = strstr(p, "\\\"submitter\\\":\\\"logd\\\"")); p++) n++;
  http_resp_free(&r);
  return n;
}

/* Issue 19: a start that is refused (another logd on the directory, another origin,
 * the port taken, a malformed --listen or flag) changes no file of the data directory,
 * and the next good start shows no boot entry or checkpoint of the refused ones. */
static void test_refused_starts_change_nothing(void) {
  logd_fx q;
  CHECK_FATAL(fx_start(&q, NULL) == 0);
  http_resp r;
  CHECK(fx_post(&q, "/v1/add", "{\"type\":\"before\"}", &r) == 200);
  http_resp_free(&r);
  checkpoint c;
  for (int i = 0; i < 400 && (fx_checkpoint(&q, &c, NULL) || c.size < 2); i++) proc_sleep_ms(10);
  CHECK_FATAL(c.size == 2);
  char errfile[PATH_MAX + 16], own[64];
  snprintf(errfile, sizeof errfile, "%s.refused", q.dir);
  snprintf(own, sizeof own, "127.0.0.1:%u", q.port);
  char *before = listing(q.dir);
  CHECK(before && strstr(before, "/verifier-key ") && strstr(before, "/db/CURRENT "));
  if (!before) return;

  /* A second logd on the same directory, even with another origin and port. */
  const char *second[] = {"--data", q.dir, "--listen", "127.0.0.1:0", "--origin",
                          "other.example/log", "--dev", NULL};
  CHECK(run_logd(second, errfile) == 1);
  CHECK(file_has(errfile, "another logd is running on --data"));
  char *after = listing(q.dir);
  CHECK(after && !strcmp(before, after));
  free(after);
  CHECK(fx_stop(&q) == 0);
  free(before);
  before = listing(q.dir);
  CHECK(before);
  if (!before) return;

  /* Another origin. */
  CHECK(run_logd(second, errfile) == 1);
  CHECK(file_has(errfile, "holds the log 'example.org/xordi/test', not --origin 'other.example/log'"));
  after = listing(q.dir);
  CHECK(after && !strcmp(before, after));
  free(after);

  /* The port in use. */
  int busy = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET};
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  socklen_t sl = sizeof sa;
  CHECK(bind(busy, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(busy, 1) == 0 &&
        getsockname(busy, (struct sockaddr *)&sa, &sl) == 0);
  char taken[64];
  snprintf(taken, sizeof taken, "127.0.0.1:%u", ntohs(sa.sin_port));
  const char *clash[] = {"--data", q.dir, "--listen", taken, "--origin", FX_ORIGIN, "--dev", NULL};
  CHECK(run_logd(clash, errfile) == 1);
  CHECK(file_has(errfile, "the address is already in use"));
  close(busy);
  after = listing(q.dir);
  CHECK(after && !strcmp(before, after));
  free(after);

  /* Usage errors: exit 2 before anything is touched. */
  const char *nolisten[] = {"--data", q.dir, "--listen", "localhost", "--origin", FX_ORIGIN, "--dev", NULL};
  CHECK(run_logd(nolisten, errfile) == 2);
  CHECK(file_has(errfile, "--listen takes HOST:PORT"));
  const char *badflag[] = {"--data", q.dir, "--listen", own, "--origin", FX_ORIGIN, "--dev",
                           "--max-entry-bytes", "12x", NULL};
  CHECK(run_logd(badflag, errfile) == 2);
  CHECK(file_has(errfile, "--max-entry-bytes takes an integer from 256 to 65535 (got '12x')"));
  after = listing(q.dir);
  CHECK(after && !strcmp(before, after));
  free(after);
  /* ... and a directory that did not exist is not created. */
  char fresh[PATH_MAX + 16];
  snprintf(fresh, sizeof fresh, "%s/fresh", q.dir);
  const char *nolisten2[] = {"--data", fresh, "--listen", "localhost", "--origin", FX_ORIGIN, "--dev", NULL};
  CHECK(run_logd(nolisten2, errfile) == 2);
  CHECK(access(fresh, F_OK) != 0 && errno == ENOENT);
  const char *badorigin[] = {"--data", fresh, "--listen", "127.0.0.1:0", "--origin", "bad origin",
                             "--dev", NULL};
  CHECK(run_logd(badorigin, errfile) == 2);
  CHECK(file_has(errfile, "--origin 'bad origin' cannot name a key"));
  CHECK(access(fresh, F_OK) != 0 && errno == ENOENT);
  remove(errfile);
  free(before);

  /* The next good start: its own boot entry only, and the checkpoints are its own. */
  CHECK_FATAL(fx_restart(&q) == 0);
  http_resp l;
  fx_get(&q, "/v1/log", &l);
  json_t *j = fx_json(&l);
  http_resp_free(&l);
  CHECK(j && json_integer_value(json_object_get(j, "tree_size")) == 3);
  json_decref(j);
  CHECK(count_boot_entries(&q) == 2);
  for (int i = 0; i < 400 && (fx_checkpoint(&q, &c, NULL) || c.size < 3); i++) proc_sleep_ms(10);
  CHECK(c.size == 3);
  CHECK(fx_get(&q, "/v1/checkpoints/2", &l) == 200);
  http_resp_free(&l);
  CHECK(fx_get(&q, "/v1/checkpoints/4", &l) == 404);
  http_resp_free(&l);
  CHECK(fx_stop(&q) == 0);
  fx_destroy(&q);
}

int main(void) {
  const char *root = getenv("XT_ROOT");
  if (root && chdir(root)) return 2;
  CHECK_RUN(test_cli);
  const char *extra[] = {"--client-timeout", "2", NULL};
  if (fx_start(&fx, extra)) {
    printf("not ok - logd did not start (log: %s)\n", fx.log);
    fx_destroy(&fx);
    return 1;
  }
  CHECK_RUN(test_first_checkpoint_and_dev_files);
  CHECK_RUN(test_add_dedup_entries);
  CHECK_RUN(test_wait_checkpoint_and_receipt);
  CHECK_RUN(test_add_batch);
  CHECK_RUN(test_tiles);
  CHECK_RUN(test_proofs_random);
  CHECK_RUN(test_proofs_exact_at_boundaries);
  CHECK_RUN(test_read_errors);
  CHECK_RUN(test_stored_checkpoints_log_health_metrics);
  CHECK_RUN(test_bad_input_changes_nothing);
  CHECK_RUN(test_http_errors_exact);
  CHECK_RUN(test_token_kept_per_connection);
  CHECK_RUN(test_slowloris);
  CHECK_RUN(test_concurrent_writers);
  CHECK_RUN(test_restart_keeps_everything);
  CHECK_RUN(test_refuses_mismatch);
  CHECK_RUN(test_queue_bounded);
  CHECK_RUN(test_submitters_file);
  CHECK_RUN(test_refused_starts_change_nothing);
  int st = fx_stop(&fx);
  if (st != 0) printf("not ok - logd exited with %d on SIGTERM\n", st);
  fx_destroy(&fx);
  return check_finish() || st != 0;
}
