/* fetch.c: log sources over HTTP (libcurl) or a local directory. */
#include "client/fetch.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"

/* Total time per HTTP request; connecting has 10 s of it. */
#define FETCH_TIMEOUT_MS 30000L

struct log_source {
  char *base; /* URL without trailing slash, or directory path */
  bool http;
  CURL *curl; /* one handle: keeps the connection alive between reads */
  CURLM *multi; /* concurrent reads (log_source_fetch_tiles), created on first use */
  CURL *pool[FETCH_MAX_CONCURRENT];
  /* Tiles read ahead by log_source_prefetch, handed out by the tile fetcher. */
  struct {
    tile_id id;
    uint8_t *data;
    size_t len;
  } ahead[FETCH_MAX_CONCURRENT];
  uint64_t failures;
};

static int curl_ready = 0;

log_source *log_source_open(const char *spec, char *err, size_t errcap) {
  if (!spec || !spec[0]) {
    xt_errf(err, errcap, "empty --log");
    return NULL;
  }
  log_source *s = calloc(1, sizeof *s);
  if (!s) {
    xt_errf(err, errcap, "out of memory");
    return NULL;
  }
  s->http = !strncmp(spec, "http://", 7) || !strncmp(spec, "https://", 8);
  size_t n = strlen(spec);
  while (n > 1 && spec[n - 1] == '/') n--;
  s->base = strndup(spec, n);
  if (!s->base) {
    free(s);
    xt_errf(err, errcap, "out of memory");
    return NULL;
  }
  if (s->http) {
    if (!curl_ready) {
      if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        xt_errf(err, errcap, "libcurl initialisation failed");
        log_source_free(s);
        return NULL;
      }
      curl_ready = 1;
    }
    s->curl = curl_easy_init();
    if (!s->curl) {
      xt_errf(err, errcap, "libcurl initialisation failed");
      log_source_free(s);
      return NULL;
    }
  } else {
    struct stat st;
    if (strstr(spec, "://")) {
      xt_errf(err, errcap, "--log %s: only http:// and https:// URLs or directories", spec);
      log_source_free(s);
      return NULL;
    }
    if (stat(s->base, &st) != 0 || !S_ISDIR(st.st_mode)) {
      xt_errf(err, errcap, "--log %s: not a directory or an http(s):// URL", spec);
      log_source_free(s);
      return NULL;
    }
  }
  return s;
}

void log_source_free(log_source *s) {
  if (!s) return;
  if (s->curl) curl_easy_cleanup(s->curl);
  for (int i = 0; i < FETCH_MAX_CONCURRENT; i++)
    if (s->pool[i]) curl_easy_cleanup(s->pool[i]);
  if (s->multi) curl_multi_cleanup(s->multi);
  for (int i = 0; i < FETCH_MAX_CONCURRENT; i++) free(s->ahead[i].data);
  free(s->base);
  free(s);
}

bool log_source_is_http(const log_source *s) { return s->http; }
uint64_t log_source_failures(const log_source *s) { return s->failures; }

/* The server's own words for an error: its JSON "error" field, or the start of the
 * body with anything unprintable replaced. */
static void error_text(const xt_buf *b, char *out, size_t cap) {
  out[0] = 0;
  if (!b->data || !b->len || cap == 0) return;
  json_t *j = json_loadb((const char *)b->data, b->len, 0, NULL);
  const char *msg = j ? json_string_value(json_object_get(j, "error")) : NULL;
  if (msg) {
    snprintf(out, cap, "%.150s", msg);
  } else {
    size_t i, n = b->len < 120 ? b->len : 120;
    for (i = 0; i < n && i + 1 < cap; i++) {
      unsigned char c = b->data[i];
      out[i] = (c >= 0x20 && c < 0x7f) ? (char)c : ' ';
    }
    out[i] = 0;
    while (i > 0 && out[i - 1] == ' ') out[--i] = 0;
  }
  json_decref(j);
}

static void setup_get(log_source *s, CURL *c, const char *url, xt_buf *b) {
  curl_easy_reset(c);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, xt_buf_curl_write);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, FETCH_TIMEOUT_MS);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, ""); /* gzip is fine: we check the bytes */
  curl_easy_setopt(c, CURLOPT_USERAGENT, "tlog/" XT_VERSION);
}

static fetch_status finish_get(log_source *s, CURL *c, CURLcode rc, const char *url, xt_buf *bp, size_t max, uint8_t **data,
                      size_t *len, char *err, size_t errcap);

static fetch_status http_get(log_source *s, const char *path, size_t max, uint8_t **data, size_t *len,
                    char *err, size_t errcap) {
  size_t ulen = strlen(s->base) + 1 + strlen(path) + 1;
  char *url = malloc(ulen);
  if (!url) {
    xt_errf(err, errcap, "out of memory");
    return FETCH_ERROR;
  }
  snprintf(url, ulen, "%s/%s", s->base, path);
  xt_buf b = xt_buf_make(max);
  CURL *c = s->curl;
  setup_get(s, c, url, &b);
  CURLcode rc = curl_easy_perform(c);
  fetch_status ret = finish_get(s, c, rc, url, &b, max, data, len, err, errcap);
  free(url);
  return ret;
}

/* Turns a finished transfer into FETCH_* and the caller's buffer. Frees b's data on
 * failure. */
static fetch_status finish_get(log_source *s, CURL *c, CURLcode rc, const char *url, xt_buf *bp, size_t max, uint8_t **data,
                      size_t *len, char *err, size_t errcap) {
  xt_buf b = *bp;
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  fetch_status ret = FETCH_OK;
  if (b.overflow) {
    xt_errf(err, errcap, "GET %s: response larger than %zu bytes", url, max);
    ret = FETCH_ERROR;
  } else if (rc != CURLE_OK) {
    xt_errf(err, errcap, "GET %s: %s", url, curl_easy_strerror(rc));
    ret = FETCH_ERROR;
  } else if (status == 404) {
    char why[160];
    error_text(&b, why, sizeof why);
    xt_errf(err, errcap, "GET %s: 404 not found%s%s", url, why[0] ? ": " : "", why);
    ret = FETCH_NOT_FOUND;
  } else if (status != 200) {
    char why[160];
    error_text(&b, why, sizeof why);
    xt_errf(err, errcap, "GET %s: HTTP %ld%s%s", url, status, why[0] ? ": " : "", why);
    ret = FETCH_ERROR;
  }
  if (ret != FETCH_OK) {
    xt_buf_free(&b);
    return ret;
  }
  if (!b.data) {
    b.data = malloc(1);
    if (!b.data) {
      xt_errf(err, errcap, "out of memory");
      return FETCH_ERROR;
    }
  }
  b.data[b.len] = 0;
  *data = b.data;
  *len = b.len;
  return FETCH_OK;
}

static fetch_status file_get(log_source *s, const char *path, size_t max, uint8_t **data, size_t *len,
                    char *err, size_t errcap) {
  size_t plen = strlen(s->base) + 1 + strlen(path) + 1;
  char *full = malloc(plen);
  if (!full) {
    xt_errf(err, errcap, "out of memory");
    return FETCH_ERROR;
  }
  snprintf(full, plen, "%s/%s", s->base, path);
  int fd = open(full, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    xt_errf(err, errcap, "%s: %s", full, strerror(e));
    free(full);
    return (e == ENOENT || e == ENOTDIR) ? FETCH_NOT_FOUND : FETCH_ERROR;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    xt_errf(err, errcap, "%s: not a regular file", full);
    close(fd);
    free(full);
    return FETCH_ERROR;
  }
  if ((uint64_t)st.st_size > max) {
    xt_errf(err, errcap, "%s: larger than %zu bytes", full, max);
    close(fd);
    free(full);
    return FETCH_ERROR;
  }
  size_t n = (size_t)st.st_size;
  uint8_t *buf = malloc(n + 1);
  if (!buf) {
    xt_errf(err, errcap, "out of memory");
    close(fd);
    free(full);
    return FETCH_ERROR;
  }
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, buf + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      xt_errf(err, errcap, "%s: %s", full, r < 0 ? strerror(errno) : "file shrank while reading");
      free(buf);
      close(fd);
      free(full);
      return FETCH_ERROR;
    }
    got += (size_t)r;
  }
  close(fd);
  free(full);
  buf[n] = 0;
  *data = buf;
  *len = n;
  return FETCH_OK;
}

const char *fetch_status_str(fetch_status st) {
  switch (st) {
  case FETCH_OK: return "ok";
  case FETCH_NOT_FOUND: return "not found";
  case FETCH_ERROR: return "error";
  }
  return "unknown";
}

fetch_status log_source_get(log_source *s, const char *path, size_t max, uint8_t **data, size_t *len,
                            char *err, size_t errcap) {
  *data = NULL;
  *len = 0;
  return s->http ? http_get(s, path, max, data, len, err, errcap)
                 : file_get(s, path, max, data, len, err, errcap);
}

/* Whether the directory source holds `path` as a regular file. */
static int file_exists(const log_source *s, const char *path, struct stat *st) {
  char full[4096];
  int n = snprintf(full, sizeof full, "%s/%s", s->base, path);
  return n > 0 && (size_t)n < sizeof full && stat(full, st) == 0 && S_ISREG(st->st_mode);
}

/* Length of the first `count` entries of a bundle, or 0 if it holds fewer. */
static size_t bundle_prefix(const uint8_t *buf, size_t len, unsigned count) {
  size_t off = 0;
  for (unsigned i = 0; i < count; i++) {
    if (len - off < 2) return 0;
    size_t n = (size_t)buf[off] << 8 | buf[off + 1];
    if (len - off - 2 < n) return 0;
    off += 2 + n;
  }
  return off;
}

int log_source_tile_fetcher(void *ctx, const tile_id *t, uint8_t **data, size_t *len, char *err,
                            size_t errcap) {
  log_source *s = ctx;
  for (int i = 0; i < FETCH_MAX_CONCURRENT; i++) {
    if (!s->ahead[i].data || s->ahead[i].id.level != t->level || s->ahead[i].id.index != t->index ||
        s->ahead[i].id.width != t->width)
      continue;
    *data = s->ahead[i].data;
    *len = s->ahead[i].len;
    s->ahead[i].data = NULL;
    return 0;
  }
  char path[TILE_PATH_MAX];
  if (tile_path_encode(t, path, sizeof path, NULL) != MERKLE_OK) {
    xt_errf(err, errcap, "bad tile id");
    s->failures++;
    return -1;
  }
  size_t max = t->level == TILE_LEVEL_ENTRIES ? FETCH_MAX_TILE : (size_t)TILE_WIDTH * MERKLE_HASH_SIZE;
  int rc = log_source_get(s, path, max, data, len, err, errcap);
  if (rc == FETCH_NOT_FOUND && t->width < TILE_WIDTH) {
    /* A copy of a log taken at a larger size holds a wider partial tile or the full
     * one; either's prefix is this tile (C2SP tlog-tiles). A server answers any
     * width itself, so only a directory is searched for a wider partial. */
    tile_id full = *t;
    full.width = TILE_WIDTH;
    if (!s->http) {
      for (unsigned w = t->width + 1; w < TILE_WIDTH; w++) {
        tile_id wider = *t;
        wider.width = w;
        char wpath[TILE_PATH_MAX];
        struct stat st;
        if (tile_path_encode(&wider, wpath, sizeof wpath, NULL) == MERKLE_OK && file_exists(s, wpath, &st)) {
          full = wider;
          break;
        }
      }
    }
    char ferr[256];
    char fpath[TILE_PATH_MAX];
    tile_path_encode(&full, fpath, sizeof fpath, NULL);
    rc = log_source_get(s, fpath, max, data, len, ferr, sizeof ferr);
    if (rc == FETCH_OK) {
      size_t want = t->level == TILE_LEVEL_ENTRIES ? bundle_prefix(*data, *len, t->width)
                                                   : (size_t)t->width * MERKLE_HASH_SIZE;
      if (want == 0 || want > *len) {
        xt_errf(err, errcap, "%s is missing and %s is too short to hold it", path, fpath);
        free(*data);
        *data = NULL;
        s->failures++;
        return -1;
      }
      *len = want;
      return 0;
    }
    if (rc == FETCH_ERROR) xt_errf(err, errcap, "%s", ferr);
  }
  if (rc != FETCH_OK) {
    s->failures++;
    return -1;
  }
  return 0;
}

int log_source_fetch_tiles(log_source *s, const tile_id *t, size_t n, uint8_t **data, size_t *len, char *err,
                           size_t errcap) {
  for (size_t i = 0; i < n; i++) data[i] = NULL, len[i] = 0;
  if (n > FETCH_MAX_CONCURRENT) {
    xt_errf(err, errcap, "too many tiles at once");
    return -1;
  }
  /* Directories, and single reads, go one at a time. */
  if (!s->http || n == 1) {
    for (size_t i = 0; i < n; i++)
      if (log_source_tile_fetcher(s, &t[i], &data[i], &len[i], err, errcap) != 0) goto fail;
    return 0;
  }
  if (!s->multi) {
    s->multi = curl_multi_init();
    if (!s->multi) {
      xt_errf(err, errcap, "libcurl initialisation failed");
      return -1;
    }
  }
  xt_buf b[FETCH_MAX_CONCURRENT];
  char *url[FETCH_MAX_CONCURRENT];
  CURLcode done_rc[FETCH_MAX_CONCURRENT];
  int started = 0, ok = 1;
  for (size_t i = 0; i < n; i++) {
    size_t max = t[i].level == TILE_LEVEL_ENTRIES ? FETCH_MAX_TILE : (size_t)TILE_WIDTH * MERKLE_HASH_SIZE;
    b[i] = xt_buf_make(max);
    url[i] = NULL;
    done_rc[i] = CURLE_OK;
  }
  for (size_t i = 0; i < n; i++) {
    char path[TILE_PATH_MAX];
    if (!s->pool[i] && !(s->pool[i] = curl_easy_init())) ok = 0;
    size_t ul = strlen(s->base) + TILE_PATH_MAX + 2;
    url[i] = malloc(ul);
    if (!ok || !url[i] || tile_path_encode(&t[i], path, sizeof path, NULL) != MERKLE_OK) {
      ok = 0;
      break;
    }
    snprintf(url[i], ul, "%s/%s", s->base, path);
    setup_get(s, s->pool[i], url[i], &b[i]);
    curl_easy_setopt(s->pool[i], CURLOPT_PRIVATE, (void *)(uintptr_t)i);
    curl_multi_add_handle(s->multi, s->pool[i]);
    started++;
  }
  int running = ok;
  while (ok && running) {
    if (curl_multi_perform(s->multi, &running) != CURLM_OK) {
      ok = 0;
      break;
    }
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(s->multi, &left))) {
      if (msg->msg != CURLMSG_DONE) continue;
      void *priv = NULL;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
      done_rc[(uintptr_t)priv] = msg->data.result;
    }
    if (running && curl_multi_poll(s->multi, NULL, 0, 1000, NULL) != CURLM_OK) ok = 0;
  }
  for (int i = 0; i < started; i++) curl_multi_remove_handle(s->multi, s->pool[i]);
  int ret = ok ? 0 : -1;
  if (!ok) xt_errf(err, errcap, "libcurl: concurrent reads failed");
  for (size_t i = 0; i < n && ret == 0; i++) {
    int r = finish_get(s, s->pool[i], done_rc[i], url[i], &b[i], b[i].max, &data[i], &len[i], err, errcap);
    b[i].data = NULL; /* owned by data[i] now, or freed */
    if (r == FETCH_NOT_FOUND && t[i].width < TILE_WIDTH) {
      /* The partial tile is gone: the full tile's prefix, as the single reader does
       * (which counts its own failure). */
      if (log_source_tile_fetcher(s, &t[i], &data[i], &len[i], err, errcap) != 0) ret = -1;
    } else if (r != FETCH_OK) {
      s->failures++;
      ret = -1;
    }
  }
  for (size_t i = 0; i < n; i++) {
    xt_buf_free(&b[i]);
    free(url[i]);
  }
  if (ret == 0) return 0;
fail:
  for (size_t i = 0; i < n; i++) {
    free(data[i]);
    data[i] = NULL;
  }
  return -1;
}

void log_source_prefetch(log_source *s, const tile_id *t, size_t n) {
  if (!s->http || n < 2) return;
  if (n > FETCH_MAX_CONCURRENT) n = FETCH_MAX_CONCURRENT;
  for (int i = 0; i < FETCH_MAX_CONCURRENT; i++) {
    free(s->ahead[i].data);
    s->ahead[i].data = NULL;
  }
  uint8_t *data[FETCH_MAX_CONCURRENT];
  size_t len[FETCH_MAX_CONCURRENT];
  char err[256];
  uint64_t failures = s->failures;
  if (log_source_fetch_tiles(s, t, n, data, len, err, sizeof err) != 0) {
    s->failures = failures; /* only a hint: the reads are retried one by one */
    return;
  }
  for (size_t i = 0; i < n; i++) {
    s->ahead[i].id = t[i];
    s->ahead[i].data = data[i];
    s->ahead[i].len = len[i];
  }
}
