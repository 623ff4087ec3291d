/* anchors.c: reading a log's anchors from the chain or from anchors.json. */
#include "client/anchors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "anchor/anchor.h"
#include "anchor/logscan.h"
#include "anchor/rpc.h"
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

tlog_chain_scan tlog_chain_scan_default(void) {
  tlog_chain_scan s;
  memset(&s, 0, sizeof s);
  s.from_block = TLOG_FROM_CREATION;
  return s;
}

typedef struct scan_ctx {
  tlog_anchors *out;
  int malformed, nomem;
  char *err;
  size_t errcap;
} scan_ctx;

static int on_log(void *vctx, const eth_log *lg) {
  scan_ctx *x = vctx;
  if (lg->removed) return 0;
  anchor_event e;
  if (anchor_event_from_log(lg, &e) != ANCHOR_OK) {
    x->malformed = 1;
    xt_errf(x->err, x->errcap, "chain: a malformed Anchored event at block %llu (log %llu)",
            (unsigned long long)lg->block_number, (unsigned long long)lg->log_index);
    return 1;
  }
  tlog_anchor a;
  a.size = e.size;
  memcpy(a.root, e.root, 32);
  memcpy(a.checkpoint_hash, e.checkpoint_hash, 32);
  a.block = e.block;
  a.time = 0;
  memcpy(a.tx, e.tx_hash, 32);
  if (push(x->out, &a)) {
    x->nomem = 1;
    xt_errf(x->err, x->errcap, "out of memory");
    return 1;
  }
  return 0;
}

/* A call retried a few times with a growing pause, as logscan retries its reads. */
static int block_retried(eth_rpc *r, uint64_t number, eth_block *b, int *found) {
  int rc = -1;
  for (int attempt = 0; attempt < 5 && rc != ETH_RPC_OK; attempt++) {
    if (attempt) nanosleep(&(struct timespec){0, 100000000L * attempt}, NULL);
    rc = eth_get_block_by_number(r, number, b, found);
  }
  return rc;
}

static tlog_err block_times(eth_rpc *r, tlog_anchors *l, char *err, size_t errcap) {
  uint64_t cached = UINT64_MAX, t = 0;
  for (size_t i = 0; i < l->n; i++) {
    if (l->a[i].block != cached) {
      eth_block b;
      int found = 0;
      if (block_retried(r, l->a[i].block, &b, &found) != ETH_RPC_OK || !found) {
        xt_errf(err, errcap, "chain: block %llu: %s", (unsigned long long)l->a[i].block,
                found ? eth_rpc_error(r) : "the node does not have it");
        return TLOG_EIO;
      }
      cached = l->a[i].block;
      t = b.timestamp;
    }
    l->a[i].time = t;
  }
  return TLOG_OK;
}

static tlog_err open_rpc(const char *rpc, const char *contract, uint8_t addr[20], eth_rpc **r, char *err,
                         size_t errcap) {
  if (!contract || xt_hex_decode_exact(contract, XT_HEX_0X, addr, 20) != XT_OK) {
    xt_errf(err, errcap, "--contract '%s' is not an address (0x + 40 hex digits)", contract ? contract : "");
    return TLOG_EIO;
  }
  char rerr[300];
  *r = eth_rpc_new(rpc, rerr, sizeof rerr);
  if (!*r) {
    xt_errf(err, errcap, "chain: %s", rerr);
    return TLOG_EIO;
  }
  /* Years of anchors in one range are a few MB of JSON. */
  eth_rpc_set_max_response(*r, 64u << 20);
  return TLOG_OK;
}

/* The creation search retries little: a node without old state refuses every old block
 * (a JSON-RPC error, not a passing fault), and six retries with back-off would add
 * seconds to every scan there before the fallback to block 0, which is complete anyway. */
static logscan_opts creation_opts(uint64_t max_range) {
  logscan_opts o = {max_range, 1, 50};
  return o;
}

/* The first block to read: the given one, or the deployment block (block 0 when the node
 * cannot say, which is slower but complete). */
static tlog_err scan_start(eth_rpc *r, const uint8_t addr[20], tlog_chain_scan *s, char *err,
                           size_t errcap) {
  s->first_block = s->from_block;
  if (s->from_block != TLOG_FROM_CREATION) return TLOG_OK;
  logscan_opts o = creation_opts(s->max_range);
  int unknown = 0;
  char m[300];
  if (logscan_start_block(r, &o, addr, s->head, &s->first_block, &unknown, m, sizeof m) != LOGSCAN_OK) {
    xt_errf(err, errcap, "chain: %s", m);
    return TLOG_EIO;
  }
  s->creation_unknown = unknown;
  return TLOG_OK;
}

static tlog_err head_block(eth_rpc *r, uint64_t *head, char *err, size_t errcap) {
  int rc = -1;
  for (int attempt = 0; attempt < 5 && rc != ETH_RPC_OK; attempt++) {
    if (attempt) nanosleep(&(struct timespec){0, 100000000L * attempt}, NULL);
    rc = eth_block_number(r, head);
  }
  if (rc != ETH_RPC_OK) {
    xt_errf(err, errcap, "chain: eth_blockNumber: %s", eth_rpc_error(r));
    return TLOG_EIO;
  }
  return TLOG_OK;
}

tlog_err tlog_anchors_scan(const char *rpc, const char *contract, const char *origin, tlog_chain_scan *s,
                           tlog_anchors *out, char *err, size_t errcap) {
  memset(out, 0, sizeof *out);
  s->requests = 0;
  s->creation_unknown = 0;
  uint8_t addr[20], log_id[32], topic[32];
  eth_rpc *r = NULL;
  tlog_err rc = open_rpc(rpc, contract, addr, &r, err, errcap);
  if (!rc) rc = head_block(r, &s->head, err, errcap);
  if (!rc) rc = scan_start(r, addr, s, err, errcap);
  if (!rc && s->first_block <= s->head) {
    anchor_log_id(origin, log_id);
    anchor_anchored_topic(topic);
    logscan_opts o = {s->max_range, 0, 0};
    scan_ctx x = {out, 0, 0, err, errcap};
    char lerr[400];
    logscan_err le = logscan_logs_topic1(r, &o, addr, topic, log_id, s->first_block, s->head, on_log, &x,
                                         &s->requests, lerr, sizeof lerr);
    if (le == LOGSCAN_ERR_STOPPED) rc = x.malformed ? TLOG_EVERIFY : TLOG_EIO;
    else if (le != LOGSCAN_OK) {
      xt_errf(err, errcap, "chain: listing anchors: %s", lerr);
      rc = TLOG_EIO;
    }
  }
  if (!rc) rc = block_times(r, out, err, errcap);
  eth_rpc_free(r);
  if (rc) tlog_anchors_free(out);
  return rc;
}

tlog_err tlog_contract_creation(const char *rpc, const char *contract, uint64_t *block, char *err,
                                size_t errcap) {
  uint8_t addr[20];
  eth_rpc *r = NULL;
  uint64_t head = 0;
  tlog_err rc = open_rpc(rpc, contract, addr, &r, err, errcap);
  if (!rc) rc = head_block(r, &head, err, errcap);
  if (!rc) {
    char lerr[400];
    logscan_opts o = creation_opts(0);
    if (logscan_creation_block(r, &o, addr, head, block, lerr, sizeof lerr) != LOGSCAN_OK) {
      xt_errf(err, errcap, "chain: %s", lerr);
      rc = TLOG_EIO;
    }
  }
  eth_rpc_free(r);
  return rc;
}

tlog_err tlog_anchors_from_chain(const char *rpc, const char *contract, const char *origin,
                            tlog_anchors *out, char *err, size_t errcap) {
  tlog_chain_scan s = tlog_chain_scan_default();
  tlog_err rc = tlog_anchors_scan(rpc, contract, origin, &s, out, err, errcap);
  return rc == TLOG_EVERIFY ? TLOG_EIO : rc;
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
