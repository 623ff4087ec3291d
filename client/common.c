/* common.c: key loading, checkpoint fetching, files, hex and progress for tlog. */
#include "client/common.h"

#include "base/err.h"
#include "base/file.h"

#include <errno.h>
#include <stdarg.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void trim(const char **s, size_t *len) {
  while (*len && (**s == ' ' || **s == '\t' || **s == '\n' || **s == '\r')) (*s)++, (*len)--;
  while (*len && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t' || (*s)[*len - 1] == '\n' ||
                  (*s)[*len - 1] == '\r'))
    (*len)--;
}

tlog_err tlog_load_verifier(const char *arg, note_verifier *v, char *err, size_t errcap) {
  char perr[200];
  const char *s = arg;
  size_t len = strlen(arg);
  trim(&s, &len);
  if (note_verifier_parse(v, s, len, perr, sizeof perr) == 0) return TLOG_OK;
  /* Not a key string: a file holding one. */
  uint8_t *data = NULL;
  size_t n = 0;
  char ferr[256];
  if (xt_file_read(arg, 4096, &data, &n, ferr, sizeof ferr) != XT_OK) {
    if (strchr(arg, '+'))
      xt_errf(err, errcap, "--key: not a valid verifier key (%s)", perr);
    else
      xt_errf(err, errcap, "--key '%s' is neither a verifier key (name+hash+base64) nor a key file (%s)", arg,
              ferr);
    return TLOG_EIO;
  }
  s = (const char *)data;
  len = n;
  trim(&s, &len);
  int rc = note_verifier_parse(v, s, len, perr, sizeof perr);
  free(data);
  if (rc != 0) {
    xt_errf(err, errcap, "--key %s: the file does not hold a verifier key (%s)", arg, perr);
    return TLOG_EIO;
  }
  return TLOG_OK;
}

void tlog_checkpoint_clear(tlog_checkpoint *cp) {
  free(cp->note);
  memset(cp, 0, sizeof *cp);
}

tlog_err tlog_checkpoint_from_text(const note_verifier *v, const char *text, size_t len,
                              tlog_checkpoint *out, char *err, size_t errcap) {
  char cerr[200];
  memset(out, 0, sizeof *out);
  if (len > NOTE_MAX_SIZE) {
    xt_errf(err, errcap, "checkpoint is larger than %d bytes", NOTE_MAX_SIZE);
    return TLOG_EVERIFY;
  }
  if (checkpoint_open(v, text, len, &out->c, cerr, sizeof cerr) != 0) {
    xt_errf(err, errcap, "checkpoint does not verify: %s", cerr);
    return TLOG_EVERIFY;
  }
  out->note = malloc(len + 1);
  if (!out->note) {
    xt_errf(err, errcap, "out of memory");
    return TLOG_EIO;
  }
  memcpy(out->note, text, len);
  out->note[len] = 0;
  out->note_len = len;
  return TLOG_OK;
}

tlog_err tlog_fetch_checkpoint(log_source *src, const note_verifier *v, const char *path,
                          tlog_checkpoint *out, bool *not_found, char *err, size_t errcap) {
  uint8_t *data = NULL;
  size_t len = 0;
  char ferr[300];
  if (not_found) *not_found = false;
  int rc = log_source_get(src, path, NOTE_MAX_SIZE, &data, &len, ferr, sizeof ferr);
  if (rc != FETCH_OK) {
    if (not_found) *not_found = rc == FETCH_NOT_FOUND;
    xt_errf(err, errcap, "%s", ferr);
    return TLOG_EIO;
  }
  char cerr[300];
  rc = tlog_checkpoint_from_text(v, (const char *)data, len, out, cerr, sizeof cerr);
  free(data);
  if (rc != 0) xt_errf(err, errcap, "%s (%s)", cerr, path);
  return rc;
}

tlog_err tlog_fetch_sized_checkpoint(log_source *src, const note_verifier *v, uint64_t size,
                                const tlog_checkpoint *latest, tlog_checkpoint *out, bool *not_found,
                                char *err, size_t errcap) {
  char path[64];
  snprintf(path, sizeof path, "v1/checkpoints/%llu", (unsigned long long)size);
  bool nf = false;
  int rc = tlog_fetch_checkpoint(src, v, path, out, &nf, err, errcap);
  if (rc == TLOG_EIO && nf && latest && latest->note && latest->c.size == size)
    return tlog_checkpoint_from_text(v, latest->note, latest->note_len, out, err, errcap);
  if (not_found) *not_found = nf;
  return rc;
}

tlog_err tlog_checkpoint_file(const note_verifier *v, const char *file, tlog_checkpoint *out,
                         char *err, size_t errcap) {
  uint8_t *data = NULL;
  size_t len = 0;
  /* "-" is standard input, as for inclusion --entry. */
  if (xt_file_read(strcmp(file, "-") ? file : "/dev/stdin", 1 << 20, &data, &len, err, errcap) != XT_OK)
    return TLOG_EIO;
  const char *text = (const char *)data;
  size_t tlen = len;
  static const char hdr[] = "c2sp.org/tlog-proof@v1\n";
  if (len >= sizeof hdr - 1 && !memcmp(data, hdr, sizeof hdr - 1)) {
    uint64_t idx;
    uint8_t proof[MERKLE_MAX_PROOF][MERKLE_HASH_SIZE];
    size_t plen;
    char perr[200];
    if (tlog_proof_parse(text, len, &idx, proof, MERKLE_MAX_PROOF, &plen, &text, &tlen, perr,
                         sizeof perr) != 0) {
      xt_errf(err, errcap, "%s: %s", file, perr);
      free(data);
      return TLOG_EIO;
    }
  }
  char cerr[300];
  int rc = tlog_checkpoint_from_text(v, text, tlen, out, cerr, sizeof cerr);
  free(data);
  if (rc != 0) xt_errf(err, errcap, "%s: %s", file, cerr);
  return rc;
}

tlog_err tlog_reader_failure(const log_source *src, uint64_t failures_before) {
  return log_source_failures(src) != failures_before ? TLOG_EIO : TLOG_EVERIFY;
}

tlog_err tlog_mkdirs(const char *path, char *err, size_t errcap) {
  char *p = strdup(path);
  if (!p) {
    xt_errf(err, errcap, "out of memory");
    return TLOG_EIO;
  }
  char *slash = strrchr(p, '/');
  if (!slash) {
    free(p);
    return TLOG_OK;
  }
  *slash = 0;
  for (char *q = p + 1; *q; q++) {
    if (*q != '/') continue;
    *q = 0;
    if (mkdir(p, 0755) != 0 && errno != EEXIST) {
      xt_errf(err, errcap, "mkdir %s: %s", p, strerror(errno));
      free(p);
      return TLOG_EIO;
    }
    *q = '/';
  }
  if (p[0] && mkdir(p, 0755) != 0 && errno != EEXIST) {
    xt_errf(err, errcap, "mkdir %s: %s", p, strerror(errno));
    free(p);
    return TLOG_EIO;
  }
  free(p);
  return TLOG_OK;
}

tlog_err tlog_write_file(const char *path, const void *data, size_t len, char *err, size_t errcap) {
  if (tlog_mkdirs(path, err, errcap) != TLOG_OK) return TLOG_EIO;
  return xt_file_write_atomic(path, data, len, 0644, err, errcap) == XT_OK ? TLOG_OK : TLOG_EIO;
}

double tlog_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void tlog_progress_init(tlog_progress *p, bool quiet, const char *what, uint64_t total) {
  p->on = !quiet && isatty(2);
  p->what = what;
  p->total = total;
  p->start = p->last = tlog_now();
}

void tlog_progress_update(tlog_progress *p, uint64_t done) {
  if (!p->on) return;
  double now = tlog_now();
  if (now - p->last < 0.1) return;
  p->last = now;
  double rate = done / (now - p->start > 1e-9 ? now - p->start : 1e-9);
  if (p->total)
    fprintf(stderr, "\r%s: %llu / %llu (%.1f%%), %.0f/s   ", p->what, (unsigned long long)done,
            (unsigned long long)p->total, 100.0 * (double)done / (double)p->total, rate);
  else
    fprintf(stderr, "\r%s: %llu, %.0f/s   ", p->what, (unsigned long long)done, rate);
  fflush(stderr);
}

void tlog_progress_done(tlog_progress *p) {
  if (!p->on) return;
  fprintf(stderr, "\r\033[K");
  fflush(stderr);
}

tlog_err tlog_log_open(tlog_log *l, const char *log, const char *key, char *err, size_t errcap) {
  memset(l, 0, sizeof *l);
  if (!log || !key) {
    xt_errf(err, errcap, "--log and --key are required");
    return TLOG_EIO;
  }
  int rc = tlog_load_verifier(key, &l->v, err, errcap);
  if (rc) return rc;
  l->src = log_source_open(log, err, errcap);
  if (!l->src) return TLOG_EIO;
  rc = tlog_fetch_checkpoint(l->src, &l->v, "checkpoint", &l->cp, NULL, err, errcap);
  if (rc) {
    log_source_free(l->src);
    l->src = NULL;
  }
  return rc;
}

void tlog_log_close(tlog_log *l) {
  log_source_free(l->src);
  tlog_checkpoint_clear(&l->cp);
  memset(l, 0, sizeof *l);
}

void tlog_sha256(const void *data, size_t len, uint8_t out[32]) {
  unsigned int n = 32;
  EVP_Digest(data, len, out, &n, EVP_sha256(), NULL);
}

const char *tlog_err_str(tlog_err e) {
  switch (e) {
  case TLOG_OK: return "ok";
  case TLOG_EVERIFY: return "verification failed";
  case TLOG_EIO: return "usage or I/O";
  }
  return "unknown";
}
