/* logscan.c: bounded, retried eth_getLogs paging and the creation-block search. */
#include "anchor/logscan.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/hex.h"
#include "anchor/quantity.h"
#include "base/num.h"

const char *logscan_err_str(logscan_err e) {
  switch (e) {
  case LOGSCAN_OK: return "ok";
  case LOGSCAN_ERR_RPC: return "JSON-RPC failure";
  case LOGSCAN_ERR_NO_CONTRACT: return "no contract at the address";
  case LOGSCAN_ERR_STOPPED: return "stopped by the caller";
  case LOGSCAN_ERR_ARG: return "invalid argument";
  }
  return "unknown error";
}

typedef struct {
  uint64_t max_range;
  int retries;
  long backoff_ms;
} opts;

static opts resolve(const logscan_opts *o) {
  opts r = {LOGSCAN_DEFAULT_MAX_RANGE, LOGSCAN_DEFAULT_RETRIES, 100};
  if (o && o->max_range) r.max_range = o->max_range;
  if (o && o->retries > 0) r.retries = o->retries;
  if (o && o->backoff_ms > 0) r.backoff_ms = o->backoff_ms;
  return r;
}

static void pause_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

static long next_backoff(long ms) { return ms >= 1000 ? 2000 : ms * 2; }

/* 1 if the address has code at `block`, 0 if not, -1 on a transport failure (worth a
 * retry), -2 when the node answered with an error (it keeps no state for that block:
 * asking again changes nothing). */
static int has_code(eth_rpc *r, const uint8_t address[20], uint64_t block) {
  char addr[43], q[19];
  xt_hex_encode0x(address, 20, addr);
  hex_format_quantity(block, q);
  json_t *res = NULL;
  int rc = eth_rpc_call(r, "eth_getCode", json_pack("[s,s]", addr, q), &res);
  if (rc == ETH_RPC_ERR_NODE) return -2;
  if (rc != ETH_RPC_OK) return -1;
  int code = json_is_string(res) && strlen(json_string_value(res)) > 2;
  int valid = json_is_string(res) && !strncmp(json_string_value(res), "0x", 2);
  json_decref(res);
  return valid ? code : -1;
}

static int has_code_retried(eth_rpc *r, const opts *o, const uint8_t address[20], uint64_t block) {
  long wait = o->backoff_ms;
  for (int attempt = 0;; attempt++) {
    int c = has_code(r, address, block);
    if (c != -1 || attempt >= o->retries) return c;
    pause_ms(wait);
    wait = next_backoff(wait);
  }
}

logscan_err logscan_creation_block(eth_rpc *r, const logscan_opts *lo, const uint8_t address[20],
                                   uint64_t head, uint64_t *block, char *err, size_t errcap) {
  opts o = resolve(lo);
  int c = has_code_retried(r, &o, address, head);
  if (c < 0) goto rpc_failed;
  if (c == 0) {
    xt_errf(err, errcap, "no contract code at the address at block %llu", (unsigned long long)head);
    return LOGSCAN_ERR_NO_CONTRACT;
  }
  /* Invariant: code at hi; none below low. */
  uint64_t low = 0, hi = head;
  while (low < hi) {
    uint64_t mid = low + (hi - low) / 2;
    c = has_code_retried(r, &o, address, mid);
    if (c < 0) goto rpc_failed;
    if (c) hi = mid;
    else low = mid + 1;
  }
  *block = hi;
  return LOGSCAN_OK;
rpc_failed:
  xt_errf(err, errcap, "eth_getCode: %s (give the creation block explicitly if the node keeps "
          "no state for old blocks)", eth_rpc_error(r));
  return LOGSCAN_ERR_RPC;
}

logscan_err logscan_start_block(eth_rpc *r, const logscan_opts *o, const uint8_t address[20],
                                uint64_t head, uint64_t *block, int *unknown, char *err,
                                size_t errcap) {
  *unknown = 0;
  logscan_err le = logscan_creation_block(r, o, address, head, block, err, errcap);
  if (le != LOGSCAN_ERR_RPC) return le;
  /* Tell "no state for old blocks" from "cannot even read head": only the first may
   * fall back to block 0. */
  opts ro = resolve(o);
  if (has_code_retried(r, &ro, address, head) != 1) return LOGSCAN_ERR_RPC;
  *block = 0;
  *unknown = 1;
  if (err && errcap) err[0] = 0;
  return LOGSCAN_OK;
}

/* The logs of one range, held until the whole answer has parsed: eth_get_logs may fail
 * on entry k after delivering entries 0..k-1, and a retried range must not hand the
 * caller those again. */
typedef struct {
  eth_log *logs;
  size_t n, cap;
  int nomem;
} batch;

static void batch_clear(batch *b) {
  for (size_t i = 0; i < b->n; i++) free((void *)b->logs[i].data);
  b->n = 0;
  b->nomem = 0;
}

static int batch_add(void *ctx, const eth_log *lg) {
  batch *b = ctx;
  if (b->n == b->cap) {
    size_t ncap = b->cap ? 2 * b->cap : 64;
    eth_log *nl = realloc(b->logs, ncap * sizeof *nl);
    if (!nl) goto nomem;
    b->logs = nl;
    b->cap = ncap;
  }
  uint8_t *data = malloc(lg->data_len ? lg->data_len : 1);
  if (!data) goto nomem;
  if (lg->data_len) memcpy(data, lg->data, lg->data_len);
  b->logs[b->n] = *lg;
  b->logs[b->n].data = data;
  b->n++;
  return 0;
nomem:
  b->nomem = 1;
  return 1;
}

static int batch_deliver(batch *b, eth_log_cb cb, void *ctx) {
  for (size_t i = 0; i < b->n; i++) {
    int rc = cb(ctx, &b->logs[i]);
    if (rc) return rc;
  }
  return 0;
}

logscan_err logscan_logs(eth_rpc *r, const logscan_opts *lo, const uint8_t address[20],
                         const uint8_t *topic0, uint64_t from, uint64_t to, eth_log_cb cb,
                         void *ctx, uint64_t *requests, char *err, size_t errcap) {
  return logscan_logs_topic1(r, lo, address, topic0, NULL, from, to, cb, ctx, requests, err,
                             errcap);
}

logscan_err logscan_logs_topic1(eth_rpc *r, const logscan_opts *lo, const uint8_t address[20],
                                const uint8_t *topic0, const uint8_t *topic1, uint64_t from,
                                uint64_t to, eth_log_cb cb, void *ctx, uint64_t *requests,
                                char *err, size_t errcap) {
  opts o = resolve(lo);
  if (from > to || to == ETH_BLOCK_LATEST) {
    xt_errf(err, errcap, "invalid block range %llu..%llu", (unsigned long long)from,
            (unsigned long long)to);
    return LOGSCAN_ERR_ARG;
  }
  uint64_t range = o.max_range, count = 0;
  batch b = {NULL, 0, 0, 0};
  logscan_err result = LOGSCAN_OK;
  uint64_t at = from;
  for (;;) {
    uint64_t end = to - at < range - 1 ? to : at + range - 1;
    int failures = 0;
    long wait = o.backoff_ms;
    for (;;) {
      count++;
      batch_clear(&b);
      int rc = eth_get_logs(r, address, topic0, topic1, at, end, batch_add, &b);
      if (rc == ETH_RPC_OK) break;
      if (b.nomem) {
        xt_errf(err, errcap, "eth_getLogs blocks %llu..%llu: out of memory",
                (unsigned long long)at, (unsigned long long)end);
        result = LOGSCAN_ERR_RPC;
        goto done;
      }
      if (++failures > o.retries) {
        xt_errf(err, errcap, "eth_getLogs blocks %llu..%llu failed %d times: %s",
                (unsigned long long)at, (unsigned long long)end, failures, eth_rpc_error(r));
        result = LOGSCAN_ERR_RPC;
        goto done;
      }
      /* A node that answers with an error may be refusing the range: try half. */
      if ((rc == ETH_RPC_ERR_NODE || rc == ETH_RPC_ERR_TOO_LARGE) && end > at) {
        range = (end - at + 1) / 2;
        end = at + range - 1;
      }
      pause_ms(wait);
      wait = next_backoff(wait);
    }
    if (batch_deliver(&b, cb, ctx)) {
      result = LOGSCAN_ERR_STOPPED;
      goto done;
    }
    if (end == to) break;
    at = end + 1;
  }
done:
  batch_clear(&b);
  free(b.logs);
  if (requests) *requests = count;
  return result;
}

int logscan_parse_block(const char *s, uint64_t *out) {
  if (!s) return -1;
  if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) return hex_parse_quantity(s, out);
  return xt_parse_u64(s, 0, 0, UINT64_MAX - 1, out) == XT_OK ? 0 : -1;
}
