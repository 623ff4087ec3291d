#include "logd/event.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "logd/event_int.h"

void event_list_free(event_list *l) {
  if (!l) return;
  free(l->mem);
  memset(l, 0, sizeof(*l));
}

char *event_list_block(event_list *l, size_t nmax, size_t bytes) {
  memset(l, 0, sizeof(*l));
  if (nmax == 0) nmax = 1;
  size_t per = sizeof(char *) + sizeof(size_t);
  if (nmax > (SIZE_MAX - bytes) / per) return NULL;
  l->mem = malloc(nmax * per + bytes);
  if (!l->mem) return NULL;
  l->canon = l->mem;
  l->canon_len = (size_t *)(l->canon + nmax);
  return (char *)(l->canon_len + nmax);
}

int event_submitter_valid(const char *name) {
  size_t n = strlen(name);
  if (n == 0 || n > EVENT_SUBMITTER_MAX) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '_' || c == '.' || c == '-'))
      return 0;
  }
  return 1;
}

const char *event_err_str(event_err e) {
  switch (e) {
  case EVENT_OK: return "ok";
  case EVENT_EINVAL: return "invalid event";
  case EVENT_ENOMEM: return "out of memory";
  }
  return "unknown event error";
}

/* A refusal in the reference's words (the same sentence logd gave before the one-pass
 * parser); should the reference accept what canon_run refused, the event is still
 * refused, as a bug of ours. */
static event_err refuse(const char *body, size_t len, int batch, size_t max_events, char *err,
                        size_t errcap) {
  event_list l;
  event_err rc = batch ? event_parse_batch_ref(body, len, max_events, &l, err, errcap)
                       : event_parse_one_ref(body, len, &l, err, errcap);
  if (rc == EVENT_OK) {
    event_list_free(&l);
    xt_errf(err, errcap, "logd's canonical JSON writer refused this %s though jansson reads it; "
                         "please report it", batch ? "batch" : "event");
    return EVENT_EINVAL;
  }
  return rc;
}

event_err event_parse_one(const char *body, size_t len, event_list *out, char *err, size_t errcap) {
  int r = event_canon_run(body, len, 0, 1, out);
  if (r == CANON_OK) return EVENT_OK;
  if (r == CANON_NOMEM) {
    xt_errf(err, errcap, "out of memory");
    return EVENT_ENOMEM;
  }
  return refuse(body, len, 0, 1, err, errcap);
}

event_err event_parse_batch(const char *body, size_t len, size_t max_events, event_list *out,
                            char *err, size_t errcap) {
  int r = event_canon_run(body, len, 1, max_events, out);
  if (r == CANON_OK) return EVENT_OK;
  if (r == CANON_NOMEM) {
    xt_errf(err, errcap, "out of memory");
    return EVENT_ENOMEM;
  }
  return refuse(body, len, 1, max_events, err, errcap);
}

static const char k_pre[] = "{\"event\":";
static const char k_mid[] = ",\"submitter\":\"";
static const char k_ts[] = "\",\"ts_ms\":";
static const char k_end[] = ",\"v\":1}";

size_t event_entry_len(size_t canon_len, const char *submitter, uint64_t ts_ms) {
  char num[24];
  int n = snprintf(num, sizeof num, "%" PRIu64, ts_ms);
  return sizeof k_pre - 1 + canon_len + sizeof k_mid - 1 + strlen(submitter) + sizeof k_ts - 1 +
         (size_t)n + sizeof k_end - 1;
}

size_t event_entry_build(char *buf, size_t cap, const char *canon, size_t canon_len,
                         const char *submitter, uint64_t ts_ms) {
  size_t need = event_entry_len(canon_len, submitter, ts_ms);
  if (cap < need) return 0;
  size_t off = 0, sl = strlen(submitter);
  memcpy(buf + off, k_pre, sizeof k_pre - 1), off += sizeof k_pre - 1;
  memcpy(buf + off, canon, canon_len), off += canon_len;
  memcpy(buf + off, k_mid, sizeof k_mid - 1), off += sizeof k_mid - 1;
  memcpy(buf + off, submitter, sl), off += sl;
  memcpy(buf + off, k_ts, sizeof k_ts - 1), off += sizeof k_ts - 1;
  char num[24];
  int n = snprintf(num, sizeof num, "%" PRIu64, ts_ms);
  memcpy(buf + off, num, (size_t)n), off += (size_t)n;
  memcpy(buf + off, k_end, sizeof k_end - 1), off += sizeof k_end - 1;
  return off;
}

int event_entry_split(const char *e, size_t n, const char **canon, size_t *canon_len, char *submitter,
                      size_t subcap, uint64_t *ts_ms) {
  if (subcap <= EVENT_SUBMITTER_MAX || n < sizeof k_pre - 1 + sizeof k_mid - 1 + sizeof k_ts - 1 + sizeof k_end - 1 ||
      memcmp(e, k_pre, sizeof k_pre - 1) || memcmp(e + n - (sizeof k_end - 1), k_end, sizeof k_end - 1))
    return -1;
  /* From the end: the digits of ts_ms, then the submitter's name (no quote in it). */
  size_t p = n - (sizeof k_end - 1), digits_end = p;
  while (p > 0 && e[p - 1] >= '0' && e[p - 1] <= '9') p--;
  size_t digits_at = p, dl = digits_end - digits_at;
  if (dl == 0 || dl > 20 || p < sizeof k_ts - 1 || memcmp(e + p - (sizeof k_ts - 1), k_ts, sizeof k_ts - 1)) return -1;
  p -= sizeof k_ts - 1;
  size_t name_end = p;
  while (p > 0 && e[p - 1] != '"') p--;
  if (p < sizeof k_pre - 1 + sizeof k_mid - 1 || memcmp(e + p - (sizeof k_mid - 1), k_mid, sizeof k_mid - 1)) return -1;
  size_t nl = name_end - p;
  if (nl == 0 || nl > EVENT_SUBMITTER_MAX) return -1;
  memcpy(submitter, e + p, nl);
  submitter[nl] = 0;
  if (!event_submitter_valid(submitter)) return -1;
  uint64_t ts = 0;
  for (size_t i = digits_at; i < digits_end; i++) {
    unsigned d = (unsigned)(e[i] - '0');
    if (ts > (UINT64_MAX - d) / 10) return -1;
    ts = ts * 10 + d;
  }
  const char *c = e + sizeof k_pre - 1;
  size_t cl = p - (sizeof k_mid - 1) - (sizeof k_pre - 1);
  /* Building it again rules out leading zeros and anything else not logd's own form. */
  char *again = malloc(n + 1);
  int same = again && event_entry_len(cl, submitter, ts) == n &&
             event_entry_build(again, n + 1, c, cl, submitter, ts) == n && !memcmp(again, e, n);
  free(again);
  if (!same) return -1;
  *canon = c;
  *canon_len = cl;
  *ts_ms = ts;
  return 0;
}
