/* collateral.c: logd's archive of Intel DCAP collateral, see collateral.h. */
#include "logd/collateral.h"
#include "logd/worker.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/err.h"
#include "base/file.h"
#include "base/hex.h"
#include "base/num.h"
#include "dstack/pccs.h"
#include "dstack/quote.h"

#define LCOLL_RETRY_S 60        /* after a failed fetch */
#define LCOLL_QUOTE_GAP_S 3600  /* a new quote asks for a fetch at most this often */
#define LCOLL_TIMEOUT_MS 30000  /* per request */
#define LCOLL_MAX_DOC (4u << 20)

struct logd_collateral {
  char url[1024];
  char dir[PATH_MAX];   /* DATA/collateral */
  char index_path[PATH_MAX + 16];
  uint64_t refresh_s;

  logd_worker w; /* its mu also guards the fields marked (mu) */
  uint8_t *quote; /* the latest quote (mu) */
  size_t quote_len;
  int asked;            /* a quote asked for a fetch (mu) */
  uint64_t next_due;    /* monotonic s of the next timed fetch; 0: none yet (mu) */
  uint64_t last_ok;     /* monotonic s of the last successful fetch; 0: none (mu) */

  json_t *index;        /* the index (mu) */
  char *last_doc;       /* the last archived document, to archive only changes (thread) */
  size_t last_len;

  atomic_ullong fetches, failures, archived;
  atomic_llong last_fetch_wall, not_after;
};

const char *lcoll_err_str(lcoll_err e) {
  switch (e) {
  case LCOLL_OK: return "ok";
  case LCOLL_EINVAL: return "invalid argument";
  case LCOLL_ETHREAD: return "cannot start the collateral thread";
  case LCOLL_ENOMEM: return "out of memory";
  }
  return "unknown collateral error";
}

static uint64_t mono_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec;
}

/* The index and the last document archived by an earlier run, so a restart archives
 * only what changed. A missing index is an empty archive; an unreadable one is logged
 * and a new index starts (earlier documents stay on disk). */
static void load_archive(logd_collateral *c) {
  json_error_t je;
  json_t *idx = json_load_file(c->index_path, JSON_REJECT_DUPLICATES, &je);
  json_t *arr = json_object_get(idx, "collateral");
  if (!json_is_array(arr)) {
    if (idx) xt_log("logd", "collateral: %s is malformed; starting a new index", c->index_path);
    json_decref(idx);
    idx = json_pack("{s:[]}", "collateral");
    arr = json_object_get(idx, "collateral");
  }
  c->index = idx;
  json_t *newest = json_array_get(arr, json_array_size(arr) - 1);
  const char *last = json_string_value(json_object_get(newest, "name"));
  if (!last) return;
  atomic_store(&c->not_after, (long long)json_integer_value(json_object_get(newest, "not_after")));
  char path[PATH_MAX + 64], err[300];
  snprintf(path, sizeof path, "%s/%s.json", c->dir, last);
  uint8_t *d = NULL;
  size_t n = 0;
  if (xt_file_read(path, LCOLL_MAX_DOC, &d, &n, err, sizeof err) == XT_OK) {
    c->last_doc = (char *)d;
    c->last_len = n;
  }
}

logd_collateral *lcoll_new(const char *pccs_url, const char *data_dir, uint64_t refresh_s, char *err,
                           size_t errcap) {
  logd_collateral *c = calloc(1, sizeof *c);
  if (!c) {
    xt_errf(err, errcap, "out of memory");
    return NULL;
  }
  if ((strncmp(pccs_url, "http://", 7) && strncmp(pccs_url, "https://", 8)) ||
      (size_t)snprintf(c->url, sizeof c->url, "%s", pccs_url) >= sizeof c->url) {
    xt_errf(err, errcap, "--pccs takes an http:// or https:// URL (got '%.200s')", pccs_url);
    free(c);
    return NULL;
  }
  if ((size_t)snprintf(c->dir, sizeof c->dir, "%s/collateral", data_dir) >= sizeof c->dir) {
    xt_errf(err, errcap, "data directory path too long");
    free(c);
    return NULL;
  }
  snprintf(c->index_path, sizeof c->index_path, "%s/index.json", c->dir);
  c->refresh_s = refresh_s;
  worker_init(&c->w);
  load_archive(c);
  if (!c->index) {
    xt_errf(err, errcap, "out of memory");
    lcoll_free(c);
    return NULL;
  }
  return c;
}

void lcoll_quote(void *ctx, const uint8_t *quote, size_t len) {
  logd_collateral *c = ctx;
  uint8_t *q = malloc(len);
  if (!q) return;
  memcpy(q, quote, len);
  pthread_mutex_lock(&c->w.mu);
  free(c->quote);
  c->quote = q;
  c->quote_len = len;
  if (!c->last_ok || mono_s() - c->last_ok >= LCOLL_QUOTE_GAP_S) c->asked = 1;
  pthread_cond_broadcast(&c->w.cv);
  pthread_mutex_unlock(&c->w.mu);
}

/* ---------- archiving one fetched document (the thread) ---------- */

/* The index entry for doc; NULL when it does not parse (cannot happen for a document
 * pccs_fetch_collateral returned) or out of memory. */
static json_t *index_entry(const char *name, time_t fetched, const char *doc, size_t len) {
  char err[300], hex[65];
  uint8_t h[32];
  time_t lo = 0, hi = 0;
  tdx_collateral *tc = tdx_collateral_parse(doc, len, err, sizeof err);
  int ok = tc && tdx_collateral_window(tc, &lo, &hi) == 0;
  tdx_collateral_free(tc);
  if (!ok) return NULL;
  EVP_Digest(doc, len, h, NULL, EVP_sha256(), NULL);
  xt_hex_encode(h, 32, hex);
  return json_pack("{s:s,s:I,s:I,s:I,s:s}", "name", name, "fetched_at", (json_int_t)fetched, "not_before",
                   (json_int_t)lo, "not_after", (json_int_t)hi, "sha256", hex);
}

/* Keeps doc as DATA/collateral/<now>.json and lists it in the index. 0 or -1 (logged). */
static int archive(logd_collateral *c, const char *doc, size_t len) {
  char err[300] = "", name[24], path[PATH_MAX + 64];
  time_t now = time(NULL);
  snprintf(name, sizeof name, "%lld", (long long)now);
  json_t *e = index_entry(name, now, doc, len);
  if (!e) {
    xt_log("logd", "collateral: the fetched document has no validity window; not archived");
    return -1;
  }
  atomic_store(&c->not_after, (long long)json_integer_value(json_object_get(e, "not_after")));
  snprintf(path, sizeof path, "%s/%s.json", c->dir, name);
  if (mkdir(c->dir, 0700) && errno != EEXIST) xt_errf(err, sizeof err, "%s", strerror(errno));
  else if (xt_file_write_atomic(path, doc, len, 0644, err, sizeof err) == XT_OK) err[0] = 0;
  if (err[0]) {
    xt_log("logd", "collateral: cannot keep %s: %s", path, err);
    json_decref(e);
    return -1;
  }
  pthread_mutex_lock(&c->w.mu);
  json_array_append_new(json_object_get(c->index, "collateral"), e);
  char *text = json_dumps(c->index, JSON_COMPACT);
  pthread_mutex_unlock(&c->w.mu);
  int rc = text && xt_file_write_atomic(c->index_path, text, strlen(text), 0644, err, sizeof err) == XT_OK ? 0 : -1;
  if (rc) xt_log("logd", "collateral: cannot write %s: %s", c->index_path, text ? err : "out of memory");
  free(text);
  return rc;
}

/* One fetch for quote q; archives the document when it changed. 0 or -1 (logged). */
static int fetch_once(logd_collateral *c, const uint8_t *q, size_t qlen) {
  char err[600];
  char *doc = NULL;
  size_t len = 0;
  atomic_fetch_add(&c->fetches, 1);
  atomic_store(&c->last_fetch_wall, (long long)time(NULL));
  if (pccs_fetch_collateral(c->url, q, qlen, LCOLL_TIMEOUT_MS, &doc, &len, err, sizeof err) != PCCS_OK) {
    atomic_fetch_add(&c->failures, 1);
    xt_log("logd", "collateral: fetch from %s failed (retried in %d s): %s", c->url, LCOLL_RETRY_S, err);
    return -1;
  }
  if (c->last_doc && c->last_len == len && !memcmp(c->last_doc, doc, len)) {
    free(doc);
    return 0;
  }
  if (archive(c, doc, len)) {
    free(doc);
    return -1;
  }
  free(c->last_doc);
  c->last_doc = doc;
  c->last_len = len;
  atomic_fetch_add(&c->archived, 1);
  xt_log("logd", "collateral: archived a new document (%zu bytes) from %s", len, c->url);
  return 0;
}

/* Waits (mu held) until a fetch is due or stopping; returns whether one is due. */
static int wait_due(logd_collateral *c) {
  while (!c->w.stopping) {
    uint64_t now = mono_s();
    if (c->quote && (c->asked || (c->next_due && now >= c->next_due))) return 1;
    struct timespec until;
    worker_deadline(&until, 1000 * (c->next_due && c->next_due > now ? c->next_due - now : 3600));
    pthread_cond_timedwait(&c->w.cv, &c->w.mu, &until);
  }
  return 0;
}

static void *lcoll_thread(void *arg) {
  logd_collateral *c = arg;
  pthread_mutex_lock(&c->w.mu);
  while (wait_due(c)) {
    size_t qlen = c->quote_len;
    uint8_t *q = malloc(qlen);
    if (q) memcpy(q, c->quote, qlen);
    c->asked = 0;
    pthread_mutex_unlock(&c->w.mu);
    int rc = q ? fetch_once(c, q, qlen) : -1;
    free(q);
    pthread_mutex_lock(&c->w.mu);
    uint64_t now = mono_s(), retry = c->refresh_s < LCOLL_RETRY_S ? c->refresh_s : LCOLL_RETRY_S;
    if (rc == 0) c->last_ok = now;
    c->next_due = now + (rc == 0 ? c->refresh_s : retry);
  }
  worker_finished(&c->w);
  pthread_mutex_unlock(&c->w.mu);
  return NULL;
}

lcoll_err lcoll_start(logd_collateral *c, char *err, size_t errcap) {
  if (worker_start(&c->w, lcoll_thread, c)) {
    xt_errf(err, errcap, "cannot start the collateral thread");
    return LCOLL_ETHREAD;
  }
  return LCOLL_OK;
}

int lcoll_stop(logd_collateral *c, unsigned wait_ms) {
  if (!c) return 0;
  return worker_stop(&c->w, wait_ms);
}

void lcoll_free(logd_collateral *c) {
  if (!c) return;
  json_decref(c->index);
  free(c->quote);
  free(c->last_doc);
  worker_destroy(&c->w);
  free(c);
}

/* ---------- HTTP and metrics ---------- */

static unsigned error_body(unsigned status, const char *msg, char **body, size_t *len) {
  json_t *j = json_pack("{s:s}", "error", msg);
  *body = j ? json_dumps(j, JSON_COMPACT) : NULL;
  json_decref(j);
  *len = *body ? strlen(*body) : 0;
  return status;
}

unsigned lcoll_http(logd_collateral *c, const char *name, char **body, size_t *len) {
  if (!c) return error_body(404, "no collateral archive: logd runs without --pccs", body, len);
  if (!name) {
    pthread_mutex_lock(&c->w.mu);
    size_t n = json_array_size(json_object_get(c->index, "collateral"));
    *body = n ? json_dumps(c->index, JSON_COMPACT) : NULL;
    pthread_mutex_unlock(&c->w.mu);
    if (!n) return error_body(404, "no collateral archived yet", body, len);
    *len = *body ? strlen(*body) : 0;
    return *body ? 200 : 500;
  }
  uint64_t v;
  if (xt_parse_u64(name, XT_NUM_CANONICAL, 0, UINT64_MAX, &v) != XT_OK)
    return error_body(400, "a collateral name is the decimal fetch time", body, len);
  char path[PATH_MAX + 64], err[300];
  snprintf(path, sizeof path, "%s/%" PRIu64 ".json", c->dir, v);
  uint8_t *d = NULL;
  size_t n = 0;
  xt_err e = xt_file_read(path, LCOLL_MAX_DOC, &d, &n, err, sizeof err);
  if (e != XT_OK) return error_body(404, "no archived collateral of this name", body, len);
  *body = (char *)d;
  *len = n;
  return 200;
}

char *lcoll_metrics(logd_collateral *c) {
  char *s = NULL;
  if (asprintf(&s,
               "# HELP logd_collateral_fetches_total Collateral fetches from the PCCS.\n"
               "# TYPE logd_collateral_fetches_total counter\nlogd_collateral_fetches_total %llu\n"
               "# HELP logd_collateral_fetch_failures_total Failed collateral fetches.\n"
               "# TYPE logd_collateral_fetch_failures_total counter\nlogd_collateral_fetch_failures_total %llu\n"
               "# HELP logd_collateral_archived_total Distinct documents archived by this process.\n"
               "# TYPE logd_collateral_archived_total counter\nlogd_collateral_archived_total %llu\n"
               "# HELP logd_collateral_last_fetch_time_seconds Unix time of the last fetch attempt.\n"
               "# TYPE logd_collateral_last_fetch_time_seconds gauge\nlogd_collateral_last_fetch_time_seconds %lld\n"
               "# HELP logd_collateral_not_after_seconds End of the newest archived document's window.\n"
               "# TYPE logd_collateral_not_after_seconds gauge\nlogd_collateral_not_after_seconds %lld\n",
               atomic_load(&c->fetches), atomic_load(&c->failures), atomic_load(&c->archived),
               atomic_load(&c->last_fetch_wall), atomic_load(&c->not_after)) < 0)
    return NULL;
  return s;
}
