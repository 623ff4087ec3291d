/* anchors.c: reading a log's anchors from the chain or from anchors.json. */
#include "client/anchors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "anchor/anchor.h"
#include "base/err.h"
#include "base/hex.h"
#include "base/time.h"
#include "client/common.h"

void tlog_anchors_free(tlog_anchors *l) {
  free(l->a);
  memset(l, 0, sizeof *l);
}

static int push(tlog_anchors *l, const tlog_anchor *a) {
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 64;
    tlog_anchor *n = realloc(l->a, cap * sizeof *n);
    if (!n) return -1;
    l->a = n;
    l->cap = cap;
  }
  l->a[l->n++] = *a;
  return 0;
}

static int on_event(void *ctx, const anchor_event *e) {
  tlog_anchor a;
  a.size = e->size;
  memcpy(a.root, e->root, 32);
  memcpy(a.checkpoint_hash, e->checkpoint_hash, 32);
  a.block = e->block;
  a.time = e->time;
  memcpy(a.tx, e->tx_hash, 32);
  return push(ctx, &a) ? ANCHOR_ERR_NOMEM : 0;
}

tlog_err tlog_anchors_from_chain(const char *rpc, const char *contract, const char *origin,
                            tlog_anchors *out, char *err, size_t errcap) {
  memset(out, 0, sizeof *out);
  char aerr[400];
  anchor_client *c = anchor_client_new(rpc, contract, NULL, NULL, aerr, sizeof aerr);
  if (!c) {
    xt_errf(err, errcap, "chain: %s", aerr);
    return TLOG_EIO;
  }
  uint8_t log_id[32];
  anchor_log_id(origin, log_id);
  int rc = anchor_list(c, log_id, 0, on_event, out, aerr, sizeof aerr);
  anchor_client_free(c);
  if (rc) {
    xt_errf(err, errcap, "chain: listing anchors: %s", rc == ANCHOR_ERR_NOMEM ? "out of memory" : aerr);
    tlog_anchors_free(out);
    return TLOG_EIO;
  }
  return 0;
}

json_t *tlog_anchor_json(const tlog_anchor *a) {
  char rh[65], ch[65], th[67];
  xt_hex_encode(a->root, 32, rh);
  xt_hex_encode(a->checkpoint_hash, 32, ch);
  xt_hex_encode0x(a->tx, 32, th);
  return json_pack("{s:I,s:s,s:s,s:I,s:I,s:s}", "size", (json_int_t)a->size, "root", rh,
                   "checkpoint_hash", ch, "block", (json_int_t)a->block, "time", (json_int_t)a->time,
                   "tx", th);
}

json_t *tlog_anchors_json(const tlog_anchors *l) {
  json_t *arr = json_array();
  for (size_t i = 0; arr && i < l->n; i++)
    if (json_array_append_new(arr, tlog_anchor_json(&l->a[i])) != 0) {
      json_decref(arr); /* never a silently shorter list */
      return NULL;
    }
  return arr;
}

static int get_u64(json_t *o, const char *k, uint64_t *v) {
  json_t *x = json_object_get(o, k);
  if (!json_is_integer(x) || json_integer_value(x) < 0) return -1;
  *v = (uint64_t)json_integer_value(x);
  return 0;
}

static int get_hex(json_t *o, const char *k, uint8_t *out) {
  const char *s = json_string_value(json_object_get(o, k));
  return s && xt_hex_decode_exact(s, XT_HEX_0X, out, 32) == XT_OK ? 0 : -1;
}

tlog_err tlog_anchors_load(const char *file, tlog_anchors *out, char *err, size_t errcap) {
  memset(out, 0, sizeof *out);
  json_error_t je;
  json_t *j = json_load_file(file, 0, &je);
  if (!j) {
    xt_errf(err, errcap, "%s: %s (line %d)", file, je.text, je.line);
    return TLOG_EIO;
  }
  if (!json_is_array(j)) {
    xt_errf(err, errcap, "%s: not a JSON array of anchors", file);
    json_decref(j);
    return TLOG_EIO;
  }
  size_t i;
  json_t *o;
  json_array_foreach(j, i, o) {
    tlog_anchor a;
    if (get_u64(o, "size", &a.size) || get_hex(o, "root", a.root) ||
        get_hex(o, "checkpoint_hash", a.checkpoint_hash) || get_u64(o, "block", &a.block) ||
        get_u64(o, "time", &a.time) || get_hex(o, "tx", a.tx)) {
      xt_errf(err, errcap, "%s: anchor %zu lacks one of size, root, checkpoint_hash, block, time, tx", file, i);
      json_decref(j);
      tlog_anchors_free(out);
      return TLOG_EIO;
    }
    if (push(out, &a)) {
      xt_errf(err, errcap, "out of memory");
      json_decref(j);
      tlog_anchors_free(out);
      return TLOG_EIO;
    }
  }
  json_decref(j);
  return 0;
}

void tlog_date(uint64_t t, char out[11]) {
  time_t tt = (time_t)t;
  struct tm tm;
  if (!gmtime_r(&tt, &tm) || !strftime(out, 11, "%Y-%m-%d", &tm)) snprintf(out, 11, "?");
}

void tlog_datetime(uint64_t t, char out[21]) {
  if (t > INT64_MAX || xt_format_rfc3339((time_t)t, out, 21) != XT_OK) snprintf(out, 21, "?");
}

int tlog_parse_date(const char *s, uint64_t *t) {
  /* Exactly YYYY-MM-DD: sscanf's %d would also take signs and white space. */
  if (strlen(s) != 10 || s[4] != '-' || s[7] != '-') return -1;
  for (int i = 0; i < 10; i++)
    if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9')) return -1;
  int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
  int m = (s[5] - '0') * 10 + (s[6] - '0');
  int d = (s[8] - '0') * 10 + (s[9] - '0');
  if (y < 1970 || m < 1 || m > 12 || d < 1 || d > 31) return -1;
  struct tm tm;
  memset(&tm, 0, sizeof tm);
  tm.tm_year = y - 1900;
  tm.tm_mon = m - 1;
  tm.tm_mday = d;
  time_t v = timegm(&tm);
  if (v < 0) return -1;
  struct tm back;
  if (!gmtime_r(&v, &back) || back.tm_mday != d) return -1; /* 2026-02-30 */
  *t = (uint64_t)v;
  return 0;
}
