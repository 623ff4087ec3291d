/* mirror.c: the uploader thread behind mirror.h. */
#include "logd/mirror.h"
#include "logd/s3.h"
#include "logd/worker.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/err.h"
#include "base/file.h"
#include "merkle/tile.h"

#define IMMUTABLE "public, max-age=31536000, immutable"
#define PARTIAL "public, max-age=60"
#define LATEST "public, max-age=1"
#define OCTETS "application/octet-stream"
/* Objects per round of parallel PUTs (their tiles are in memory meanwhile). */
#define CHUNK 64
#define PARALLEL 8
#define PASS_MS 200
#define MAX_BACKOFF_MS 5000
/* The bucket's checkpoint is read back this often, so that a bucket emptied without
 * a failed request is noticed. */
#define RECHECK_MS 10000
#define MAX_FILE ((size_t)4 << 20)
/* A full bundle of the largest entries. */
#define FETCH_BUNDLE_MAX ((size_t)TILE_WIDTH * (2 + 65535))

typedef struct ckpt {
  uint64_t size;
  uint8_t root[MERKLE_HASH_SIZE];
  char *note;
  size_t note_len;
} ckpt;

/* A file already mirrored: name, size and mtime. */
typedef struct sent_file {
  char name[128];
  off_t size;
  struct timespec mtime;
} sent_file;

struct logd_mirror {
  s3_client *s3;
  char cred_path[PATH_MAX];
  char att_dir[PATH_MAX], coll_dir[PATH_MAX];
  char url[300];
  note_verifier verifier;
  uint64_t max_backlog;
  logd_seq *seq;
  logd_store *store;
  logd_worker w; /* mu guards the fields marked (mu) */

  int kicked; /* (mu) a checkpoint was published since the thread last looked */
  /* (mu) the newest checkpoint mirrored in full */
  int have;
  ckpt done;
  int files_pending;
  uint64_t behind_since_ms; /* 0: caught up */

  /* thread only */
  sent_file *sent;
  size_t nsent, sent_cap;
  int resync;
  unsigned failures;
  uint64_t last_check_ms;
  char last_why[120]; /* the last failure logged */

  atomic_ullong uploads, upload_bytes, errors, consecutive, refused;
};

static uint64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

const char *mirror_err_str(mirror_err e) {
  switch (e) {
  case MIRROR_OK: return "ok";
  case MIRROR_EINVAL: return "invalid mirror configuration";
  case MIRROR_ETHREAD: return "cannot start the mirror thread";
  case MIRROR_ENOMEM: return "out of memory";
  }
  return "unknown mirror error";
}

static void ckpt_free(ckpt *c) {
  free(c->note);
  c->note = NULL;
}

/* ---------- configuration ---------- */

/* The credentials file: "aws_access_key_id = ID" and "aws_secret_access_key = SECRET"
 * lines ('#' comments, [section] lines and other keys ignored), as AWS tools write it. */
static int load_credentials(logd_mirror *m, char *err, size_t errcap) {
  uint8_t *buf = NULL;
  size_t len = 0;
  char e[300];
  if (xt_file_read(m->cred_path, 65536, &buf, &len, e, sizeof e) != XT_OK) {
    xt_errf(err, errcap, "mirror credentials: %s", e);
    return -1;
  }
  char id[256] = "", secret[256] = "";
  char *save = NULL;
  for (char *line = strtok_r((char *)buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    char k[64], v[256];
    if (line[0] == '#' || line[0] == '[') continue;
    if (sscanf(line, " %63[A-Za-z_] = %255s", k, v) != 2) continue;
    if (!strcmp(k, "aws_access_key_id")) snprintf(id, sizeof id, "%s", v);
    else if (!strcmp(k, "aws_secret_access_key")) snprintf(secret, sizeof secret, "%s", v);
  }
  OPENSSL_cleanse(buf, len);
  free(buf);
  int rc = 0;
  if (!id[0] || !secret[0]) {
    xt_errf(err, errcap, "mirror credentials %s: needs aws_access_key_id = ... and "
                         "aws_secret_access_key = ... lines", m->cred_path);
    rc = -1;
  } else if (s3_set_credentials(m->s3, id, secret) != S3_OK) {
    xt_errf(err, errcap, "out of memory");
    rc = -1;
  }
  OPENSSL_cleanse(secret, sizeof secret);
  return rc;
}

logd_mirror *mirror_new(const mirror_config *cfg, char *err, size_t errcap) {
  if (strncmp(cfg->url, "s3://", 5) || !cfg->url[5]) {
    xt_errf(err, errcap, "--mirror takes s3://BUCKET[/PREFIX] (got '%s')", cfg->url);
    return NULL;
  }
  char bucket[64], prefix[200] = "";
  const char *b = cfg->url + 5, *slash = strchr(b, '/');
  size_t bl = slash ? (size_t)(slash - b) : strlen(b);
  if (bl >= sizeof bucket || (slash && strlen(slash + 1) >= sizeof prefix)) {
    xt_errf(err, errcap, "--mirror %s: bucket or prefix too long", cfg->url);
    return NULL;
  }
  memcpy(bucket, b, bl);
  bucket[bl] = 0;
  if (slash) snprintf(prefix, sizeof prefix, "%s", slash + 1);
  logd_mirror *m = calloc(1, sizeof *m);
  if (!m) {
    xt_errf(err, errcap, "out of memory");
    return NULL;
  }
  worker_init(&m->w);
  m->max_backlog = cfg->max_backlog ? cfg->max_backlog : MIRROR_DEFAULT_MAX_BACKLOG;
  m->verifier = *cfg->verifier;
  m->resync = 1;
  char e[300];
  m->s3 = s3_new(cfg->endpoint, bucket, prefix, cfg->region ? cfg->region : "us-east-1", 30000, e, sizeof e);
  if (!m->s3) {
    xt_errf(err, errcap, "--mirror: %s", e);
    goto fail;
  }
  snprintf(m->url, sizeof m->url, "%s", s3_base_url(m->s3));
  if ((size_t)snprintf(m->cred_path, sizeof m->cred_path, "%s", cfg->credentials) >= sizeof m->cred_path ||
      (size_t)snprintf(m->att_dir, sizeof m->att_dir, "%s/attestations", cfg->data_dir) >= sizeof m->att_dir ||
      (size_t)snprintf(m->coll_dir, sizeof m->coll_dir, "%s/collateral", cfg->data_dir) >= sizeof m->coll_dir) {
    xt_errf(err, errcap, "path too long");
    goto fail;
  }
  if (load_credentials(m, err, errcap)) goto fail;
  return m;
fail:
  mirror_free(m);
  return NULL;
}

const char *mirror_public_url(const logd_mirror *m) { return m->url; }

void mirror_free(logd_mirror *m) {
  if (!m) return;
  s3_free(m->s3);
  free(m->sent);
  ckpt_free(&m->done);
  worker_destroy(&m->w);
  free(m);
}

/* ---------- the publish hook (sequencer's thread: wake the thread and go) ---------- */

static void on_publish(void *ctx, uint64_t size, const uint8_t root[MERKLE_HASH_SIZE], const char *note,
                       size_t note_len) {
  (void)size, (void)root, (void)note, (void)note_len;
  logd_mirror *m = ctx;
  pthread_mutex_lock(&m->w.mu);
  m->kicked = 1;
  if (!m->behind_since_ms) m->behind_since_ms = mono_ms();
  pthread_cond_broadcast(&m->w.cv);
  pthread_mutex_unlock(&m->w.mu);
}

/* ---------- uploads ---------- */

/* Tile t (width t->width) of the store, cut to that width, into *data / *len. */
static int read_tile(logd_mirror *m, const tile_id *t, uint8_t **data, size_t *len, char *err, size_t errcap) {
  unsigned level = t->level == TILE_LEVEL_ENTRIES ? STORE_ENTRIES_LEVEL : (unsigned)t->level;
  char e[200];
  store_err rc = store_get_tile(m->store, level, t->index, data, len, e, sizeof e);
  if (rc) {
    xt_errf(err, errcap, "reading tile %u/%" PRIu64 " from storage: %s", level, t->index,
            rc == STORE_NOT_FOUND ? "missing" : e);
    return -1;
  }
  size_t want = 0;
  if (t->level == TILE_LEVEL_ENTRIES) {
    unsigned n = 0;
    while (n < t->width && want + 2 <= *len) {
      size_t el = (size_t)(*data)[want] << 8 | (*data)[want + 1];
      if (want + 2 + el > *len) break;
      want += 2 + el;
      n++;
    }
    if (n < t->width) want = SIZE_MAX;
  } else {
    want = (size_t)t->width * MERKLE_HASH_SIZE;
  }
  if (want == SIZE_MAX || want > *len) {
    free(*data);
    *data = NULL;
    xt_errf(err, errcap, "stored tile %u/%" PRIu64 " is shorter than width %u", level, t->index, t->width);
    return -1;
  }
  *len = want;
  return 0;
}

static int put(logd_mirror *m, s3_object *objs, uint8_t **bufs, size_t n, char *err, size_t errcap) {
  s3_err e = n ? s3_put_many(m->s3, objs, n, PARALLEL, err, errcap) : S3_OK;
  for (size_t i = 0; i < n; i++) {
    if (!e) atomic_fetch_add(&m->upload_bytes, objs[i].len);
    if (bufs) free(bufs[i]);
  }
  if (!e) atomic_fetch_add(&m->uploads, n);
  return e ? -1 : 0;
}

/* Every tile and bundle that differs between the trees of sizes from and c->size, at
 * its width in tree c->size, then v1/checkpoints/<size>, and checkpoint when latest (the
 * bucket's checkpoint never goes back, even while a refill uploads older ones). */
static int upload_checkpoint(logd_mirror *m, uint64_t from, const ckpt *c, int latest, char *err,
                             size_t errcap) {
  s3_object objs[CHUNK];
  uint8_t *bufs[CHUNK];
  size_t n = 0;
  for (int lv = -1; lv <= TILE_MAX_LEVEL; lv++) {
    int level = lv < 0 ? TILE_LEVEL_ENTRIES : lv;
    unsigned shift = lv < 0 ? 0 : 8u * (unsigned)lv;
    if (shift >= 64) break;
    uint64_t hi = c->size >> shift, lo = from >> shift;
    if (hi == lo) {
      if (lv < 0) continue;
      break;
    }
    for (uint64_t i = lo / TILE_WIDTH; i <= (hi - 1) / TILE_WIDTH; i++) {
      tile_id t = {.level = level, .index = i, .width = tile_width_at(level, i, c->size)};
      s3_object *o = &objs[n];
      size_t kl;
      if (tile_path_encode(&t, o->key, sizeof o->key, &kl)) {
        xt_errf(err, errcap, "tile path");
        goto fail;
      }
      if (read_tile(m, &t, &bufs[n], &o->len, err, errcap)) goto fail;
      o->data = bufs[n];
      o->cache_control = t.width == TILE_WIDTH ? IMMUTABLE : PARTIAL;
      o->content_type = OCTETS;
      if (++n == CHUNK) {
        int rc = put(m, objs, bufs, n, err, errcap);
        n = 0;
        if (rc) return -1;
      }
    }
  }
  if (put(m, objs, bufs, n, err, errcap)) return -1;
  s3_object cp = {.data = (const uint8_t *)c->note, .len = c->note_len, .cache_control = IMMUTABLE,
                  .content_type = "text/plain; charset=utf-8"};
  snprintf(cp.key, sizeof cp.key, "v1/checkpoints/%" PRIu64, c->size);
  if (put(m, &cp, NULL, 1, err, errcap)) return -1;
  if (!latest) return 0;
  snprintf(cp.key, sizeof cp.key, "checkpoint");
  cp.cache_control = LATEST;
  return put(m, &cp, NULL, 1, err, errcap);
fail:
  for (size_t i = 0; i < n; i++) free(bufs[i]);
  return -1;
}

/* ---------- kept quotes and collateral ---------- */

static sent_file *find_sent(logd_mirror *m, const char *name) {
  for (size_t i = 0; i < m->nsent; i++)
    if (!strcmp(m->sent[i].name, name)) return &m->sent[i];
  return NULL;
}

static int is_digits(const char *s, size_t n) {
  if (!n) return 0;
  for (size_t i = 0; i < n; i++)
    if (s[i] < '0' || s[i] > '9') return 0;
  return 1;
}

/* The object key of a file of dir (kind 0: attestations, 1: collateral), or 0 when the
 * file is not one logd serves. */
static int file_key(int kind, const char *name, char *key, size_t cap) {
  size_t n = strlen(name);
  if (n < 6 || strcmp(name + n - 5, ".json")) return 0;
  if (kind == 0) {
    const char *p = !strncmp(name, "boot-", 5) ? name + 5 : !strncmp(name, "checkpoint-", 11) ? name + 11 : NULL;
    if (!p || !is_digits(p, (size_t)(name + n - 5 - p))) return 0;
    snprintf(key, cap, "attestation/%.127s", name);
    return 1;
  }
  if (!strcmp(name, "index.json")) {
    snprintf(key, cap, "v1/collateral");
    return 1;
  }
  if (!is_digits(name, n - 5)) return 0;
  snprintf(key, cap, "v1/collateral/%.*s", (int)(n - 5), name);
  return 1;
}

/* Uploads the new or changed files of one directory (the collateral index last, after
 * the documents it names). Returns how many are still not mirrored. */
static int upload_dir(logd_mirror *m, int kind, char *err, size_t errcap) {
  const char *dir = kind ? m->coll_dir : m->att_dir;
  DIR *d = opendir(dir);
  if (!d) return 0;
  int pending = 0, failed = 0;
  for (int pass = 0; pass < 2; pass++) {
    rewinddir(d);
    struct dirent *de;
    while ((de = readdir(d))) {
      char key[160], path[PATH_MAX + 130];
      if (strlen(de->d_name) >= sizeof ((sent_file *)0)->name) continue;
      if (!file_key(kind, de->d_name, key, sizeof key)) continue;
      /* Documents first, the index in the second pass. */
      if ((kind == 1 && !strcmp(de->d_name, "index.json")) != (pass == 1)) continue;
      snprintf(path, sizeof path, "%s/%.127s", dir, de->d_name);
      struct stat st;
      if (stat(path, &st) || !S_ISREG(st.st_mode)) continue;
      sent_file *s = find_sent(m, de->d_name);
      if (s && s->size == st.st_size && s->mtime.tv_sec == st.st_mtim.tv_sec &&
          s->mtime.tv_nsec == st.st_mtim.tv_nsec)
        continue;
      if (failed) {
        pending++;
        continue;
      }
      uint8_t *data = NULL;
      size_t len = 0;
      char e[300];
      if (xt_file_read(path, MAX_FILE, &data, &len, e, sizeof e) != XT_OK) {
        xt_log("logd", "mirror: cannot read %s: %s", path, e);
        pending++;
        continue;
      }
      int index = kind == 1 && pass == 1;
      s3_object o = {.data = data, .len = len, .cache_control = index ? "no-cache" : IMMUTABLE,
                     .content_type = "application/json"};
      snprintf(o.key, sizeof o.key, "%s", key);
      if (put(m, &o, NULL, 1, err, errcap)) {
        free(data);
        failed = 1;
        pending++;
        continue;
      }
      free(data);
      if (!s) {
        if (m->nsent == m->sent_cap) {
          size_t cap = m->sent_cap ? 2 * m->sent_cap : 64;
          sent_file *nv = realloc(m->sent, cap * sizeof *nv);
          if (!nv) {
            pending++;
            continue;
          }
          m->sent = nv;
          m->sent_cap = cap;
        }
        s = &m->sent[m->nsent++];
        snprintf(s->name, sizeof s->name, "%.127s", de->d_name);
      }
      s->size = st.st_size;
      s->mtime = st.st_mtim;
    }
  }
  closedir(d);
  return failed ? -1 - pending : pending;
}

/* ---------- reading the bucket back ---------- */

/* What the bucket holds: its checkpoint, checked against this log. 0 (and the mirror
 * state set from it), or -1 with a message (the thread retries; nothing is written). */
static int resync(logd_mirror *m, char *err, size_t errcap) {
  uint8_t *data = NULL;
  size_t len = 0;
  char e[400];
  s3_err se = s3_get(m->s3, "checkpoint", 65536, &data, &len, e, sizeof e);
  if (se != S3_OK && se != S3_NOT_FOUND) {
    xt_errf(err, errcap, "%s", e);
    return -1;
  }
  ckpt c = {0};
  int have = 0;
  if (se == S3_OK) {
    checkpoint cp;
    seq_view v;
    seq_view_get(m->seq, &v, 0);
    uint8_t root[MERKLE_HASH_SIZE];
    int bad = 0;
    if (checkpoint_open(&m->verifier, (const char *)data, len, &cp, e, sizeof e)) {
      xt_errf(err, errcap, "ALERT: the bucket's checkpoint is not this log's (%s); not writing over it", e);
      bad = 1;
    } else if (cp.size > v.size) {
      xt_errf(err, errcap, "ALERT: the bucket's checkpoint (size %" PRIu64 ") is ahead of this log (%" PRIu64
              " entries): another copy of this log writes there, or this data directory was rolled "
              "back; not writing over it", cp.size, v.size);
      bad = 1;
    } else {
      store_reader r;
      store_reader_init(&r, m->store);
      merkle_status ms = merkle_root_at(cp.size, store_read_nodes, &r, root);
      store_reader_done(&r);
      if (ms || memcmp(root, cp.root, MERKLE_HASH_SIZE)) {
        xt_errf(err, errcap, "ALERT: the bucket's checkpoint (size %" PRIu64 ") is not consistent with "
                "this log's tree; not writing over it", cp.size);
        bad = 1;
      }
    }
    if (bad) {
      free(data);
      return -1;
    }
    /* A checkpoint alone proves little: a bucket emptied while logd wrote may hold the
     * newest objects only. Its first bundle must be there too. */
    tile_id first = {.level = TILE_LEVEL_ENTRIES, .index = 0,
                     .width = tile_width_at(TILE_LEVEL_ENTRIES, 0, cp.size)};
    char key[TILE_PATH_MAX];
    size_t kl;
    uint8_t *b0 = NULL;
    size_t b0len = 0;
    if (first.width && !tile_path_encode(&first, key, sizeof key, &kl)) {
      se = s3_get(m->s3, key, FETCH_BUNDLE_MAX, &b0, &b0len, e, sizeof e);
      free(b0);
      if (se != S3_OK && se != S3_NOT_FOUND) {
        free(data);
        xt_errf(err, errcap, "%s", e);
        return -1;
      }
      if (se == S3_NOT_FOUND) {
        xt_log("logd", "mirror: the bucket holds checkpoint %" PRIu64 " but not %s: filling it again", cp.size, key);
        free(data);
        data = NULL;
        goto empty;
      }
    }
    c.size = cp.size;
    memcpy(c.root, cp.root, MERKLE_HASH_SIZE);
    c.note = (char *)data;
    c.note_len = len;
    have = 1;
  }
empty:
  /* Quotes and collateral may be gone with the rest: send them again. */
  m->nsent = 0;
  pthread_mutex_lock(&m->w.mu);
  int lost = m->have && (!have || c.size < m->done.size);
  uint64_t was = m->have ? m->done.size : 0;
  ckpt_free(&m->done);
  m->have = have;
  m->done = c;
  pthread_mutex_unlock(&m->w.mu);
  if (lost)
    xt_log("logd", "mirror: the bucket holds %s (it held checkpoint %" PRIu64 "): filling it again",
           have ? "an older checkpoint" : "no checkpoint", was);
  m->last_check_ms = mono_ms();
  return 0;
}

/* ---------- the thread ---------- */

static void fail(logd_mirror *m, const char *what, const char *err) {
  atomic_fetch_add(&m->errors, 1);
  atomic_fetch_add(&m->consecutive, 1);
  /* One line per outage and per new kind of failure in it (the text after the object's
   * name), then one per minute of it. */
  const char *why = strstr(err, ": ");
  why = why ? why + 2 : err;
  if (m->failures == 0 || m->failures % 60 == 0 || strncmp(why, m->last_why, sizeof m->last_why - 1))
    xt_log("logd", "mirror: %s: %s", what, err);
  snprintf(m->last_why, sizeof m->last_why, "%s", why);
  m->failures++;
  m->resync = 1;
}

/* One pass: 0 when the bucket is up to date with what was published. */
static int pass(logd_mirror *m) {
  char err[600];
  if (m->resync || mono_ms() - m->last_check_ms > RECHECK_MS) {
    if (m->failures && load_credentials(m, err, sizeof err)) {
      fail(m, "credentials", err);
      return -1;
    }
    if (resync(m, err, sizeof err)) {
      fail(m, "reading the bucket's checkpoint", err);
      return -1;
    }
    m->resync = 0;
  }
  /* Every checkpoint published since the mirrored one, in order, from the store: a
   * restart, a refill or a long outage leaves none out. */
  seq_view v;
  seq_view_get(m->seq, &v, 0);
  pthread_mutex_lock(&m->w.mu);
  m->kicked = 0;
  pthread_mutex_unlock(&m->w.mu);
  int rc = 0;
  for (;;) {
    pthread_mutex_lock(&m->w.mu);
    uint64_t from = m->have ? m->done.size : 0;
    pthread_mutex_unlock(&m->w.mu);
    ckpt c = {0};
    char e[300];
    store_err se = store_next_checkpoint(m->store, from, v.note_size, &c.size, &c.note, &c.note_len, e, sizeof e);
    if (se == STORE_NOT_FOUND) break;
    checkpoint cp;
    if (se == STORE_OK && checkpoint_open(&m->verifier, c.note, c.note_len, &cp, e, sizeof e)) se = STORE_EIO;
    if (se != STORE_OK) {
      ckpt_free(&c);
      fail(m, "reading a published checkpoint", e);
      rc = -1;
      break;
    }
    memcpy(c.root, cp.root, MERKLE_HASH_SIZE);
    if (upload_checkpoint(m, from, &c, c.size == v.note_size, err, sizeof err)) {
      char what[80];
      snprintf(what, sizeof what, "checkpoint %" PRIu64 " not mirrored", c.size);
      fail(m, what, err);
      ckpt_free(&c);
      rc = -1;
      break;
    }
    pthread_mutex_lock(&m->w.mu);
    ckpt_free(&m->done);
    m->done = c;
    m->have = 1;
    pthread_mutex_unlock(&m->w.mu);
  }
  int pending = 0;
  for (int kind = 0; kind < 2 && rc == 0; kind++) {
    int p = upload_dir(m, kind, err, sizeof err);
    if (p < 0) {
      fail(m, kind ? "collateral not mirrored" : "quotes not mirrored", err);
      rc = -1;
      p = -1 - p;
    }
    pending += p;
  }
  pthread_mutex_lock(&m->w.mu);
  m->files_pending = pending || rc;
  if (m->have && m->done.size >= v.note_size && !m->kicked) m->behind_since_ms = 0;
  else if (!m->behind_since_ms) m->behind_since_ms = mono_ms();
  pthread_mutex_unlock(&m->w.mu);
  if (rc == 0) {
    if (m->failures) xt_log("logd", "mirror: uploading again after %u failed attempts", m->failures);
    m->failures = 0;
    atomic_store(&m->consecutive, 0);
  }
  return rc;
}

static void *mirror_thread(void *arg) {
  logd_mirror *m = arg;
  pthread_mutex_lock(&m->w.mu);
  for (;;) {
    int stopping = m->w.stopping;
    pthread_mutex_unlock(&m->w.mu);
    int rc = pass(m);
    pthread_mutex_lock(&m->w.mu);
    if (stopping) break;
    uint64_t delay = PASS_MS;
    for (unsigned k = 0; rc && k < m->failures && delay < MAX_BACKOFF_MS; k++) delay *= 2;
    if (delay > MAX_BACKOFF_MS) delay = MAX_BACKOFF_MS;
    struct timespec until;
    worker_deadline(&until, delay);
    /* A publication wakes the thread only when the last pass succeeded. */
    while (!m->w.stopping && (rc || !m->kicked))
      if (pthread_cond_timedwait(&m->w.cv, &m->w.mu, &until) == ETIMEDOUT) break;
  }
  worker_finished(&m->w);
  pthread_mutex_unlock(&m->w.mu);
  return NULL;
}

mirror_err mirror_start(logd_mirror *m, logd_seq *seq, char *err, size_t errcap) {
  m->seq = seq;
  m->store = seq_store(seq);
  seq_set_publish_hook(seq, on_publish, m);
  if (worker_start(&m->w, mirror_thread, m)) {
    seq_set_publish_hook(seq, NULL, NULL);
    xt_errf(err, errcap, "cannot start the mirror thread");
    return MIRROR_ETHREAD;
  }
  xt_log("logd", "mirror: copying the log to %s", m->url);
  return MIRROR_OK;
}

int mirror_stop(logd_mirror *m, unsigned wait_ms) {
  if (m->seq) seq_set_publish_hook(m->seq, NULL, NULL);
  return worker_stop(&m->w, wait_ms);
}

/* ---------- what anchoring, the HTTP API and /metrics see ---------- */

int mirror_anchorable(void *ctx, uint64_t *size, uint8_t root[MERKLE_HASH_SIZE], char **note,
                      size_t *note_len) {
  logd_mirror *m = ctx;
  int ok = 0;
  pthread_mutex_lock(&m->w.mu);
  if (m->have && !m->files_pending && (*note = malloc(m->done.note_len + 1))) {
    memcpy(*note, m->done.note, m->done.note_len + 1);
    *note_len = m->done.note_len;
    *size = m->done.size;
    memcpy(root, m->done.root, MERKLE_HASH_SIZE);
    ok = 1;
  }
  pthread_mutex_unlock(&m->w.mu);
  return ok;
}

static void lag(logd_mirror *m, uint64_t *entries, uint64_t *bytes, uint64_t *secs, uint64_t *size) {
  seq_view v;
  seq_view_get(m->seq, &v, 0);
  seq_metrics *sm = seq_get_metrics(m->seq);
  uint64_t nbytes = atomic_load(&sm->entry_bytes), nentries = atomic_load(&sm->entries), now = mono_ms();
  pthread_mutex_lock(&m->w.mu);
  *size = m->have ? m->done.size : 0;
  *secs = m->behind_since_ms && now > m->behind_since_ms ? (now - m->behind_since_ms) / 1000 : 0;
  pthread_mutex_unlock(&m->w.mu);
  *entries = v.size > *size ? v.size - *size : 0;
  /* The backlog's bytes, at this run's mean entry size (the store is not read for it). */
  uint64_t mean = nentries ? nbytes / nentries : 256;
  *bytes = *entries * (mean ? mean : 1);
}

int mirror_write_refused(logd_mirror *m, char *msg, size_t msgcap) {
  if (!m->w.started) return 0;
  uint64_t entries, bytes, secs, size;
  lag(m, &entries, &bytes, &secs, &size);
  if (bytes <= m->max_backlog) return 0;
  atomic_fetch_add(&m->refused, 1);
  xt_errf(msg, msgcap,
          "writes are refused: the mirror is %" PRIu64 " entries (%" PRIu64 " bytes) behind, over the "
          "%" PRIu64 " byte bound (--mirror-max-backlog; it holds checkpoint %" PRIu64 "); writes "
          "resume once the object store catches up", entries, bytes, m->max_backlog, size);
  return 1;
}

char *mirror_metrics(logd_mirror *m) {
  uint64_t entries, bytes, secs, size;
  lag(m, &entries, &bytes, &secs, &size);
  pthread_mutex_lock(&m->w.mu);
  int pending = m->files_pending;
  pthread_mutex_unlock(&m->w.mu);
  char *s = NULL;
  if (asprintf(&s,
               "# HELP logd_mirror_size Size of the newest checkpoint the mirror holds in full.\n"
               "# TYPE logd_mirror_size gauge\nlogd_mirror_size %" PRIu64 "\n"
               "# HELP logd_mirror_lag_entries Entries durable here but not in the mirror.\n"
               "# TYPE logd_mirror_lag_entries gauge\nlogd_mirror_lag_entries %" PRIu64 "\n"
               "# HELP logd_mirror_lag_seconds Seconds since the mirror last held the newest checkpoint.\n"
               "# TYPE logd_mirror_lag_seconds gauge\nlogd_mirror_lag_seconds %" PRIu64 "\n"
               "# HELP logd_mirror_backlog_bytes Entries not mirrored times this run's mean entry size.\n"
               "# TYPE logd_mirror_backlog_bytes gauge\nlogd_mirror_backlog_bytes %" PRIu64 "\n"
               "# HELP logd_mirror_max_backlog_bytes Writes are refused past this (--mirror-max-backlog).\n"
               "# TYPE logd_mirror_max_backlog_bytes gauge\nlogd_mirror_max_backlog_bytes %" PRIu64 "\n"
               "# HELP logd_mirror_files_pending 1 while a kept quote or collateral file is not mirrored.\n"
               "# TYPE logd_mirror_files_pending gauge\nlogd_mirror_files_pending %d\n"
               "# HELP logd_mirror_uploads_total Objects stored in the bucket.\n"
               "# TYPE logd_mirror_uploads_total counter\nlogd_mirror_uploads_total %llu\n"
               "# HELP logd_mirror_upload_bytes_total Bytes of the objects stored.\n"
               "# TYPE logd_mirror_upload_bytes_total counter\nlogd_mirror_upload_bytes_total %llu\n"
               "# HELP logd_mirror_upload_errors_total Failed mirror passes.\n"
               "# TYPE logd_mirror_upload_errors_total counter\nlogd_mirror_upload_errors_total %llu\n"
               "# HELP logd_mirror_consecutive_failures Failed passes since the last success.\n"
               "# TYPE logd_mirror_consecutive_failures gauge\nlogd_mirror_consecutive_failures %llu\n"
               "# HELP logd_writes_refused_mirror_backlog_total Writes refused (503) for the mirror's backlog.\n"
               "# TYPE logd_writes_refused_mirror_backlog_total counter\nlogd_writes_refused_mirror_backlog_total %llu\n",
               size, entries, secs, bytes, m->max_backlog, pending, atomic_load(&m->uploads),
               atomic_load(&m->upload_bytes), atomic_load(&m->errors), atomic_load(&m->consecutive),
               atomic_load(&m->refused)) < 0)
    return NULL;
  return s;
}
