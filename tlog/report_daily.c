/* report_daily.c: the per-day counts the report's charts draw, gathered during the
 * audit's replay, and the KMS history as JSON for the report's code versions. */
#include <stdlib.h>
#include <string.h>

#include "base/hex.h"
#include "client/anchors.h"
#include "tlog/report.h"

/* A day's distinct users are kept as 64-bit hashes of the pseudonym: a collision could
 * only lower a chart's bar by one, while the verdict's user count comes from the
 * audit's exact 32-byte set (users_in_window). */
struct report_day {
  uint64_t day; /* days since the epoch */
  uint64_t intakes, api_calls;
  uint64_t *users; /* open addressing, 0 = empty (a hash of 0 is stored as 1) */
  size_t ucap, un;
};

static uint64_t hash64(const char *p, size_t n) {
  uint64_t h = UINT64_C(1469598103934665603);
  for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)p[i]) * UINT64_C(1099511628211);
  h ^= h >> 33;
  h *= UINT64_C(0xff51afd7ed558ccd);
  h ^= h >> 33;
  return h ? h : 1;
}

static int users_add(report_day *d, uint64_t h) {
  if (2 * (d->un + 1) > d->ucap) {
    size_t cap = d->ucap ? d->ucap * 2 : 64;
    uint64_t *u = calloc(cap, sizeof *u);
    if (!u) return -1;
    for (size_t i = 0; i < d->ucap; i++) {
      if (!d->users[i]) continue;
      size_t j = d->users[i] & (cap - 1);
      while (u[j]) j = (j + 1) & (cap - 1);
      u[j] = d->users[i];
    }
    free(d->users);
    d->users = u;
    d->ucap = cap;
  }
  size_t j = h & (d->ucap - 1);
  while (d->users[j]) {
    if (d->users[j] == h) return 0;
    j = (j + 1) & (d->ucap - 1);
  }
  d->users[j] = h;
  d->un++;
  return 0;
}

/* The record of day, inserted in order if new; NULL out of memory. Entries come in
 * index order, whose covering anchors go forward in time: the day is almost always the
 * last one. */
static report_day *day_for(report_daily *d, uint64_t day) {
  size_t i = d->n;
  while (i > 0 && d->d[i - 1].day > day) i--;
  if (i > 0 && d->d[i - 1].day == day) return &d->d[i - 1];
  if (d->n == d->cap) {
    size_t cap = d->cap ? d->cap * 2 : 64;
    report_day *nd = realloc(d->d, cap * sizeof *nd);
    if (!nd) return NULL;
    d->d = nd;
    d->cap = cap;
  }
  memmove(&d->d[i + 1], &d->d[i], (d->n - i) * sizeof *d->d);
  memset(&d->d[i], 0, sizeof *d->d);
  d->d[i].day = day;
  d->n++;
  return &d->d[i];
}

int report_daily_add(report_daily *d, uint64_t t, const entry_scan *s) {
  bool intake = scan_eq(s->f[SF_TYPE], "credential_intake");
  bool intent = scan_eq(s->f[SF_TYPE], "api_call") && scan_eq(s->f[SF_PHASE], "intent");
  if (!intake && !intent) return 0;
  report_day *r = day_for(d, t / 86400);
  if (!r) return -1;
  if (intent) {
    r->api_calls++;
    return 0;
  }
  scan_str u = s->f[SF_USER];
  if (u.p && u.n && users_add(r, hash64(u.p, u.n))) return -1;
  r->intakes++;
  return 0;
}

json_t *report_daily_json(const report_daily *d) {
  json_t *arr = json_array();
  for (size_t i = 0; arr && i < d->n; i++) {
    char day[11];
    tlog_date(d->d[i].day * 86400, day);
    json_t *x = json_pack("{s:s,s:I,s:I,s:I}", "day", day, "users", (json_int_t)d->d[i].un, "credential_intakes",
                          (json_int_t)d->d[i].intakes, "api_calls", (json_int_t)d->d[i].api_calls);
    if (json_array_append_new(arr, x)) {
      json_decref(arr); /* never a silently shorter list */
      return NULL;
    }
  }
  return arr;
}

void report_daily_free(report_daily *d) {
  for (size_t i = 0; i < d->n; i++) free(d->d[i].users);
  free(d->d);
  memset(d, 0, sizeof *d);
}

json_t *report_kms_json(const kms_history *h) {
  json_t *arr = json_array();
  for (size_t i = 0; arr && i < h->n; i++) {
    const kms_event *e = &h->events[i];
    char tx[67];
    xt_hex_encode0x(e->tx_hash, 32, tx);
    json_t *x = json_pack("{s:s,s:s,s:I,s:I,s:s,s:o}", "event", kms_event_name(e->kind), "contract",
                          kms_contract_name(e->contract), "block", (json_int_t)e->block_number, "time",
                          (json_int_t)e->block_time, "tx", tx, "args", kms_event_args_json(e));
    if (json_array_append_new(arr, x)) {
      json_decref(arr);
      return NULL;
    }
  }
  return arr;
}
