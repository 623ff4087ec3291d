/* kms.c: DstackApp event history from eth_getLogs. */
#include "client/kms.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anchor/keccak.h"
#include "base/err.h"

#define KMS_MAX_EVENTS 100000

static const char *const signatures[] = {
    "ComposeHashAdded(bytes32)",
    "ComposeHashRemoved(bytes32)",
    "Upgraded(address)",
    "OwnershipTransferred(address,address)",
};

const char *kms_event_name(kms_event_kind kind) {
  static const char *const names[] = {"ComposeHashAdded", "ComposeHashRemoved", "Upgraded",
                                      "OwnershipTransferred"};
  return (unsigned)kind < 4 ? names[kind] : "?";
}

typedef struct collect {
  kms_history *h;
  kms_event_kind kind;
  size_t cap;
  char *err;
  size_t errlen;
} collect;

static int on_log(void *ctx, const eth_log *lg) {
  collect *c = ctx;
  if (lg->removed) return 0;
  kms_event ev;
  memset(&ev, 0, sizeof ev);
  ev.kind = c->kind;
  ev.block_number = lg->block_number;
  ev.log_index = lg->log_index;
  memcpy(ev.tx_hash, lg->tx_hash, 32);
  switch (c->kind) {
    case KMS_COMPOSE_HASH_ADDED:
    case KMS_COMPOSE_HASH_REMOVED:
      if (lg->ntopics >= 2)
        memcpy(ev.compose_hash, lg->topics[1], 32);
      else if (lg->data_len >= 32)
        memcpy(ev.compose_hash, lg->data, 32);
      else
        goto malformed;
      break;
    case KMS_UPGRADED:
      if (lg->ntopics < 2) goto malformed;
      memcpy(ev.address, lg->topics[1] + 12, 20);
      break;
    case KMS_OWNERSHIP_TRANSFERRED:
      if (lg->ntopics < 3) goto malformed;
      memcpy(ev.previous_owner, lg->topics[1] + 12, 20);
      memcpy(ev.address, lg->topics[2] + 12, 20);
      break;
  }
  if (c->h->n == c->cap) {
    if (c->cap >= KMS_MAX_EVENTS) {
      snprintf(c->err, c->errlen, "more than %d events", KMS_MAX_EVENTS);
      return -1;
    }
    size_t ncap = c->cap ? 2 * c->cap : 16;
    kms_event *p = realloc(c->h->events, ncap * sizeof *p);
    if (!p) {
      snprintf(c->err, c->errlen, "out of memory");
      return -1;
    }
    c->h->events = p;
    c->cap = ncap;
  }
  c->h->events[c->h->n++] = ev;
  return 0;
malformed:
  snprintf(c->err, c->errlen, "malformed %s log in block %llu", kms_event_name(c->kind),
           (unsigned long long)lg->block_number);
  return -1;
}

static int by_chain_order(const void *a, const void *b) {
  const kms_event *x = a, *y = b;
  if (x->block_number != y->block_number) return x->block_number < y->block_number ? -1 : 1;
  if (x->log_index != y->log_index) return x->log_index < y->log_index ? -1 : 1;
  return 0;
}

void kms_history_free(kms_history *h) {
  if (!h) return;
  free(h->events);
  h->events = NULL;
  h->n = 0;
}

tlog_err kms_history_load(eth_rpc *rpc, const uint8_t app[20], uint64_t from, uint64_t to, kms_history *out,
                          char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  collect c = {out, KMS_COMPOSE_HASH_ADDED, 0, err, errlen};
  err[0] = '\0';
  for (int k = 0; k < 4; k++) {
    uint8_t topic0[32];
    keccak256(signatures[k], strlen(signatures[k]), topic0);
    c.kind = (kms_event_kind)k;
    int rc = eth_get_logs(rpc, app, topic0, NULL, from, to, on_log, &c);
    if (rc != 0) {
      if (!err[0])
        xt_errf(err, errlen, "eth_getLogs (%s): %s", kms_event_name(c.kind), eth_rpc_error(rpc));
      kms_history_free(out);
      return TLOG_EIO;
    }
  }
  if (out->n) qsort(out->events, out->n, sizeof *out->events, by_chain_order);
  /* one eth_getBlockByNumber per distinct block, in order */
  uint64_t last_block = UINT64_MAX, last_time = 0;
  for (size_t i = 0; i < out->n; i++) {
    if (out->events[i].block_number != last_block) {
      eth_block b;
      int found = 0;
      int rc = eth_get_block_by_number(rpc, out->events[i].block_number, &b, &found);
      if (rc != 0 || !found) {
        xt_errf(err, errlen, "block %llu: %s", (unsigned long long)out->events[i].block_number,
                rc != 0 ? eth_rpc_error(rpc) : "not found");
        kms_history_free(out);
        return TLOG_EIO;
      }
      last_block = b.number;
      last_time = b.timestamp;
    }
    out->events[i].block_time = last_time;
  }
  return TLOG_OK;
}

int kms_history_allowed_at(const kms_history *h, const uint8_t compose_hash[32], uint64_t t) {
  int allowed = 0;
  for (size_t i = 0; i < h->n; i++) {
    const kms_event *ev = &h->events[i];
    if (ev->block_time > t) break;
    if (memcmp(ev->compose_hash, compose_hash, 32) != 0) continue;
    if (ev->kind == KMS_COMPOSE_HASH_ADDED) allowed = 1;
    if (ev->kind == KMS_COMPOSE_HASH_REMOVED) allowed = 0;
  }
  return allowed;
}
