#include "logd/anchoring.h"
#include "logd/worker.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/file.h"
#include "base/hex.h"
#include "anchor/anchor.h"
#include "anchor/rpc.h"
#include "anchor/tx.h"

#define MAX_BACKOFF_S 3600

struct logd_anchor {
  anchor_client *client;
  eth_rpc *rpc; /* block number and time of our transactions, chain id */
  char contract[43];
  char address[43];
  uint8_t addr[20];
  uint8_t log_id[32];
  uint64_t interval_s;
  char state_path[PATH_MAX];
  logd_seq *seq;
  logd_store *store;
  anchoring_hook hook;
  void *hook_ctx;
  anchoring_gate gate;
  void *gate_ctx;
  int gate_waiting; /* anchoring thread only: "waiting for the mirror" was logged */

  logd_worker w; /* its mu also guards the fields marked (mu) */

  /* last anchor (mu) */
  int have_chain_id;
  uint64_t chain_id;
  int have;
  uint64_t size;
  uint8_t root[32];
  int have_tx;
  uint8_t tx[32];
  uint64_t block, time;

  /* anchoring thread only: an anchored checkpoint whose hook failed, retried each round */
  char *pending_note;
  size_t pending_len;
  uint64_t pending_size;
  unsigned failures;

  atomic_ullong attempts, anchors, errors, consecutive;
  /* the anchorer's balance (mu), read by the anchoring thread each round, and what the
   * last anchor transaction cost (gas used x effective price), for "anchors left" */
  char balance_wei[ETH_U256_DECIMAL_MAX];
  uint64_t balance_read_ms; /* monotonic; 0: never read */
  uint64_t last_fee_wei;
  atomic_ullong balance_errors;
  /* backpressure (anchoring_write_refused): monotonic ms, and refused writes */
  uint64_t max_age_s;
  atomic_ullong caught_up_ms, refused;
};

static uint64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Milliseconds since anchoring was last caught up. */
static uint64_t stale_ms(logd_anchor *a) {
  uint64_t now = mono_ms(), t = atomic_load(&a->caught_up_ms);
  return now > t ? now - t : 0;
}

static int is_stale(logd_anchor *a) { return stale_ms(a) > a->max_age_s * 1000u; }

static void log_line(void *ctx, const char *line) {
  (void)ctx;
  xt_log("logd", "anchor: %s", line);
}

const char *anchoring_err_str(anchoring_err e) {
  switch (e) {
  case ANCHORING_OK: return "ok";
  case ANCHORING_ERPC: return "anchor node or contract unreadable";
  case ANCHORING_EROLLBACK: return "local log behind or inconsistent with the chain";
  case ANCHORING_ESTORE: return "storage error";
  case ANCHORING_ETHREAD: return "cannot start the anchoring thread";
  }
  return "unknown anchoring error";
}

logd_anchor *anchoring_new(const logd_anchor_config *cfg, char *err, size_t errcap) {
  logd_anchor *a = calloc(1, sizeof *a);
  if (!a) {
    xt_errf(err, errcap, "out of memory");
    return NULL;
  }
  worker_init(&a->w);
  a->interval_s = cfg->interval_s;
  a->max_age_s = cfg->max_age_s ? cfg->max_age_s : ANCHORING_MAX_AGE_FACTOR * cfg->interval_s;
  uint8_t caddr[20];
  if (eth_address_parse(cfg->contract, caddr)) {
    xt_errf(err, errcap, "--anchor-contract must be 0x and 40 hex digits (got '%s')", cfg->contract);
    goto fail;
  }
  eth_address_format(caddr, a->contract);
  if (eth_address_from_key(cfg->key, a->addr)) {
    xt_errf(err, errcap, "the anchor key is not a valid secp256k1 private key");
    goto fail;
  }
  eth_address_format(a->addr, a->address);
  anchor_log_id(cfg->origin, a->log_id);
  if ((size_t)snprintf(a->state_path, sizeof a->state_path, "%s/anchor-state.json", cfg->data_dir) >=
      sizeof a->state_path) {
    xt_errf(err, errcap, "data directory path too long");
    goto fail;
  }
  anchor_options o;
  anchor_options_default(&o);
  o.log = log_line;
  /* A send (retries, fee bumps, confirmation) ends within a few intervals, so a node
   * that is away shows as a logged failure and the next rounds back off. */
  uint64_t deadline = cfg->interval_s * 5000;
  o.deadline_ms = (unsigned)(deadline < 10000 ? 10000 : deadline > 120000 ? 120000 : deadline);
  char cerr[300];
  a->client = anchor_client_new(cfg->rpc_url, cfg->contract, cfg->key, &o, cerr, sizeof cerr);
  if (!a->client) {
    xt_errf(err, errcap, "anchor client: %s", cerr);
    goto fail;
  }
  a->rpc = eth_rpc_new(cfg->rpc_url, cerr, sizeof cerr);
  if (!a->rpc) {
    xt_errf(err, errcap, "anchor RPC: %s", cerr);
    goto fail;
  }
  eth_rpc_set_timeout_ms(a->rpc, 10000);
  return a;
fail:
  anchoring_free(a);
  return NULL;
}

void anchoring_free(logd_anchor *a) {
  if (!a) return;
  anchor_client_free(a->client);
  eth_rpc_free(a->rpc);
  free(a->pending_note);
  worker_destroy(&a->w);
  OPENSSL_cleanse(a, sizeof *a);
  free(a);
}

void anchoring_set_hook(logd_anchor *a, anchoring_hook fn, void *ctx) {
  a->hook = fn;
  a->hook_ctx = ctx;
}

void anchoring_set_gate(logd_anchor *a, anchoring_gate fn, void *ctx) {
  a->gate = fn;
  a->gate_ctx = ctx;
}

/* ---------- the state file: the last anchor's transaction survives restarts ---------- */

/* Called by the anchoring thread, the only writer of the state, without the lock. */
static void save_state(logd_anchor *a) {
  char root[65], tx[67];
  xt_hex_encode(a->root, 32, root);
  xt_hex_encode0x(a->tx, 32, tx);
  json_t *j = json_pack("{s:I,s:s,s:s*,s:I,s:I}", "size", (json_int_t)a->size, "root", root, "tx",
                        a->have_tx ? tx : NULL, "block", (json_int_t)a->block, "time",
                        (json_int_t)a->time);
  char *text = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  json_decref(j);
  if (!text) return;
  char err[300];
  if (xt_file_write_atomic(a->state_path, text, strlen(text), 0644, err, sizeof err) != XT_OK)
    xt_log("logd", "anchor: cannot keep the last anchor: %s", err);
  free(text);
}

/* Takes the saved transaction if it anchored exactly the chain's head. */
static void load_state(logd_anchor *a) {
  json_t *j = json_load_file(a->state_path, 0, NULL);
  if (!j) return;
  json_int_t size = 0, block = 0, t = 0;
  const char *root = NULL, *tx = NULL;
  uint8_t r[32], h[32];
  if (!json_unpack(j, "{s:I,s:s,s?s,s:I,s:I}", "size", &size, "root", &root, "tx", &tx, "block",
                   &block, "time", &t) &&
      (uint64_t)size == a->size && strlen(root) == 64 && xt_hex_decode_exact(root, XT_HEX_0X, r, 32) == XT_OK &&
      !memcmp(r, a->root, 32)) {
    if (tx && xt_hex_decode_exact(tx, XT_HEX_0X, h, 32) == XT_OK) {
      memcpy(a->tx, h, 32);
      a->have_tx = 1;
    }
    a->block = (uint64_t)block;
    a->time = (uint64_t)t;
  }
  json_decref(j);
}

/* ---------- start-up: the rollback defence ---------- */

/* The node reader of a log with no store yet: it has no nodes. */
static int no_nodes(void *ctx, unsigned level, uint64_t index, uint64_t count, uint8_t (*out)[32]) {
  (void)ctx, (void)level, (void)index, (void)count, (void)out;
  return -1;
}

anchoring_err anchoring_check_start(logd_anchor *a, logd_store *store, char *err, size_t errcap) {
  char e[400];
  uint64_t local = 0;
  store_err se = store ? store_get_size(store, &local, e, sizeof e) : STORE_NOT_FOUND;
  if (se != STORE_OK && se != STORE_NOT_FOUND) {
    xt_errf(err, errcap, "%s", e);
    return ANCHORING_ESTORE;
  }
  if (!store) return anchoring_check_tree(a, 0, no_nodes, NULL, err, errcap);
  store_reader r;
  store_reader_init(&r, store);
  anchoring_err rc = anchoring_check_tree(a, local, store_read_nodes, &r, err, errcap);
  store_reader_done(&r);
  return rc;
}

anchoring_err anchoring_check_tree(logd_anchor *a, uint64_t local, merkle_node_reader rd, void *rd_ctx,
                                   char *err, size_t errcap) {
  char e[400];
  uint64_t chain_id = 0;
  int rc;
  if (eth_chain_id(a->rpc, &chain_id) != ETH_RPC_OK) {
    xt_errf(err, errcap,
             "cannot reach the anchor RPC node to read the anchored head (%s); refusing to start "
             "without the rollback check",
             eth_rpc_error(a->rpc));
    return ANCHORING_ERPC;
  }
  uint64_t size;
  uint8_t root[32], anchorer[20];
  rc = anchor_get_head(a->client, a->log_id, &size, root, anchorer, e, sizeof e);
  if (rc != ANCHOR_OK) {
    xt_errf(err, errcap, "cannot read this log's head from contract %s: %s; refusing to start",
             a->contract, e);
    return ANCHORING_ERPC;
  }
  static const uint8_t zero[20];
  if (!memcmp(anchorer, zero, 20)) {
    xt_log("logd", "anchor: this log is not registered in contract %s on chain %" PRIu64
             "; anchoring waits until the owner registers anchorer %s",
             a->contract, chain_id, a->address);
  } else if (memcmp(anchorer, a->addr, 20)) {
    char other[43];
    eth_address_format(anchorer, other);
    xt_log("logd", "anchor: contract %s names anchorer %s for this log, not this logd's key %s: "
             "anchoring fails until the owner rotates it",
             a->contract, other, a->address);
  }
  uint64_t chain_size = 0;
  rc = anchor_check_local(a->client, a->log_id, local, rd, rd_ctx, &chain_size, e, sizeof e);
  if (rc == ANCHOR_ERR_INCONSISTENT) {
    xt_errf(err, errcap,
             "the local tree (%" PRIu64 " entries) is behind or inconsistent with the head "
             "anchored in contract %s (size %" PRIu64 "): %s; refusing to start (was the data "
             "directory rolled back?)",
             local, a->contract, size, e);
    return ANCHORING_EROLLBACK;
  }
  if (rc != ANCHOR_OK && rc != ANCHOR_ERR_REJECTED) {
    xt_errf(err, errcap, "rollback check against contract %s failed: %s; refusing to start",
             a->contract, e);
    return ANCHORING_ERPC;
  }
  pthread_mutex_lock(&a->w.mu);
  a->have_chain_id = 1;
  a->chain_id = chain_id;
  if (size > 0) {
    a->have = 1;
    a->size = size;
    memcpy(a->root, root, 32);
    load_state(a);
  }
  pthread_mutex_unlock(&a->w.mu);
  xt_log("logd", "anchor: chain %" PRIu64 ", contract %s, anchorer %s: anchored size %" PRIu64
           ", local tree %" PRIu64 " entries: consistent",
           chain_id, a->contract, a->address, size, local);
  return ANCHORING_OK;
}

/* ---------- the anchoring thread ---------- */

static void round_once(logd_anchor *a) {
  /* Taken before the view: the view's checkpoint covers what was published by then. */
  uint64_t t0 = mono_ms();
  seq_view v;
  if (seq_view_get(a->seq, &v, 1)) return;
  pthread_mutex_lock(&a->w.mu);
  uint64_t anchored = a->have ? a->size : 0;
  pthread_mutex_unlock(&a->w.mu);
  if (a->pending_note &&
      a->hook(a->hook_ctx, a->pending_size, a->pending_note, a->pending_len) == 0) {
    free(a->pending_note);
    a->pending_note = NULL;
  }
  /* The mirror's promise: only a checkpoint the mirror holds in full is anchored. */
  int behind = 0;
  if (a->gate && v.note && v.note_size > anchored) {
    uint64_t msize = 0;
    uint8_t mroot[32] = {0};
    char *mnote = NULL;
    size_t mlen = 0;
    int ok = a->gate(a->gate_ctx, &msize, mroot, &mnote, &mlen);
    behind = !ok || msize < v.note_size;
    if (behind && !a->gate_waiting) {
      if (ok)
        xt_log("logd", "anchor: waiting for the mirror (it holds checkpoint %" PRIu64 "; the newest "
               "is %" PRIu64 ")", msize, v.note_size);
      else
        xt_log("logd", "anchor: waiting for the mirror (its last pass failed or a kept quote is "
               "not mirrored yet; the newest checkpoint is %" PRIu64 ")", v.note_size);
    }
    a->gate_waiting = behind;
    free(v.note);
    v.note = ok ? mnote : NULL;
    v.note_len = mlen;
    v.note_size = ok ? msize : 0;
    memcpy(v.note_root, mroot, 32);
  }
  if (!v.note || v.note_size == 0 || v.note_size <= anchored) {
    if (!behind) atomic_store(&a->caught_up_ms, t0);
    seq_view_free(&v);
    return;
  }
  atomic_fetch_add(&a->attempts, 1);
  uint8_t ch[32], tx[32] = {0};
  EVP_Digest(v.note, v.note_len, ch, NULL, EVP_sha256(), NULL);
  char e[400];
  store_reader r;
  store_reader_init(&r, a->store);
  int rc = anchor_submit_tree(a->client, a->log_id, v.note_size, v.note_root, ch, store_read_nodes,
                              &r, tx, e, sizeof e);
  store_reader_done(&r);
  if (rc != ANCHOR_OK && rc != ANCHOR_UNCHANGED) {
    atomic_fetch_add(&a->errors, 1);
    atomic_fetch_add(&a->consecutive, 1);
    a->failures++;
    xt_log("logd", "anchor: checkpoint %" PRIu64 " not anchored (%s): %s%s", v.note_size,
             anchor_status_str(rc), e,
             rc == ANCHOR_ERR_INCONSISTENT ? " -- ALERT: this tree is not consistent with the "
                                             "chain's head; nothing was sent" : "");
    seq_view_free(&v);
    return;
  }
  a->failures = 0;
  atomic_store(&a->consecutive, 0);
  atomic_fetch_add(&a->anchors, 1);
  if (is_stale(a))
    xt_log("logd", "anchor: checkpoint %" PRIu64 " anchored after %" PRIu64 " s without one; "
           "accepting writes again", v.note_size, stale_ms(a) / 1000);
  /* A send can take long (a node coming back): when nothing was published meanwhile
   * (writes were refused), the log is caught up now, not only as of the round's start. */
  seq_view now_v;
  int covered = seq_view_get(a->seq, &now_v, 0) == 0 && now_v.size <= v.note_size;
  seq_view_free(&now_v);
  atomic_store(&a->caught_up_ms, covered ? mono_ms() : t0);
  uint64_t block = 0, btime = 0, fee = 0;
  if (rc == ANCHOR_OK) {
    eth_receipt rec;
    eth_block b;
    int found = 0;
    if (eth_get_transaction_receipt(a->rpc, tx, &rec, &found) == ETH_RPC_OK && found) {
      block = rec.block_number;
      if (__builtin_mul_overflow(rec.gas_used, rec.effective_gas_price, &fee)) fee = 0;
      if (eth_get_block_by_number(a->rpc, block, &b, &found) == ETH_RPC_OK && found) btime = b.timestamp;
    }
  }
  pthread_mutex_lock(&a->w.mu);
  a->have = 1;
  a->size = v.note_size;
  memcpy(a->root, v.note_root, 32);
  a->have_tx = rc == ANCHOR_OK;
  memcpy(a->tx, tx, 32);
  a->block = block;
  a->time = btime;
  if (fee) a->last_fee_wei = fee;
  pthread_mutex_unlock(&a->w.mu);
  save_state(a);
  char txh[67];
  xt_hex_encode0x(tx, 32, txh);
  xt_log("logd", "anchor: anchored checkpoint %" PRIu64 " in block %" PRIu64 " (tx %s)", v.note_size,
           block, rc == ANCHOR_OK ? txh : "none: the chain already held this head");
  /* The anchored note is the one the sequencer stored before publishing it. */
  char *stored = NULL;
  size_t slen = 0;
  if (store_get_checkpoint(a->store, v.note_size, &stored, &slen, e, sizeof e) != 0 ||
      slen != v.note_len || memcmp(stored, v.note, slen))
    xt_log("logd", "anchor: checkpoint %" PRIu64 " is not stored by size as published", v.note_size);
  free(stored);
  if (a->hook && a->hook(a->hook_ctx, v.note_size, v.note, v.note_len)) {
    if (a->pending_note)
      xt_log("logd", "anchor: giving up the hook of checkpoint %" PRIu64 " for the newer %" PRIu64,
               a->pending_size, v.note_size);
    free(a->pending_note);
    a->pending_note = malloc(v.note_len);
    if (a->pending_note) {
      memcpy(a->pending_note, v.note, v.note_len);
      a->pending_len = v.note_len;
      a->pending_size = v.note_size;
    }
  }
  seq_view_free(&v);
}

/* The anchorer's balance for /metrics, so an operator is warned before anchoring
 * stops for want of gas money (docs/OPERATE.md). Anchoring thread only (a->rpc). */
static void read_balance(logd_anchor *a) {
  char wei[ETH_U256_DECIMAL_MAX];
  if (eth_get_balance(a->rpc, a->addr, wei) != ETH_RPC_OK) {
    if (atomic_fetch_add(&a->balance_errors, 1) == 0)
      xt_log("logd", "anchor: cannot read the balance of %s: %s", a->address, eth_rpc_error(a->rpc));
    return;
  }
  pthread_mutex_lock(&a->w.mu);
  memcpy(a->balance_wei, wei, sizeof wei);
  a->balance_read_ms = mono_ms();
  pthread_mutex_unlock(&a->w.mu);
}

static void *anchor_thread(void *arg) {
  logd_anchor *a = arg;
  read_balance(a);
  pthread_mutex_lock(&a->w.mu);
  while (!a->w.stopping) {
    uint64_t delay = a->interval_s;
    for (unsigned k = 0; k < a->failures && k < 3; k++) delay *= 2;
    if (delay > MAX_BACKOFF_S && a->interval_s < MAX_BACKOFF_S) delay = MAX_BACKOFF_S;
    /* While writes are refused, every interval counts: no backoff, so writes resume
     * one interval after the node is back. */
    if (is_stale(a)) delay = a->interval_s;
    struct timespec until;
    worker_deadline(&until, delay * 1000);
    while (!a->w.stopping) {
      if (pthread_cond_timedwait(&a->w.cv, &a->w.mu, &until) == ETIMEDOUT) break;
    }
    if (a->w.stopping) break;
    pthread_mutex_unlock(&a->w.mu);
    round_once(a);
    read_balance(a);
    pthread_mutex_lock(&a->w.mu);
  }
  worker_finished(&a->w);
  pthread_mutex_unlock(&a->w.mu);
  return NULL;
}

anchoring_err anchoring_start(logd_anchor *a, logd_seq *seq, char *err, size_t errcap) {
  a->seq = seq;
  atomic_store(&a->caught_up_ms, mono_ms());
  /* The start-up check may have read a read-only store since closed: take the live one. */
  a->store = seq_store(seq);
  if (worker_start(&a->w, anchor_thread, a)) {
    xt_errf(err, errcap, "cannot start the anchoring thread");
    return ANCHORING_ETHREAD;
  }
  return ANCHORING_OK;
}

int anchoring_stop(logd_anchor *a, unsigned wait_ms) {
  return worker_stop(&a->w, wait_ms);
}

/* ---------- what /v1/log and /metrics show ---------- */

char *anchoring_state_json(logd_anchor *a) {
  pthread_mutex_lock(&a->w.mu);
  json_t *j = NULL;
  if (a->have) {
    char root[65], tx[67];
    xt_hex_encode(a->root, 32, root);
    xt_hex_encode0x(a->tx, 32, tx);
    j = json_object();
    json_object_set_new(j, "contract", json_string(a->contract));
    json_object_set_new(j, "anchorer", json_string(a->address));
    json_object_set_new(j, "chain_id", a->have_chain_id ? json_integer((json_int_t)a->chain_id) : json_null());
    json_object_set_new(j, "size", json_integer((json_int_t)a->size));
    json_object_set_new(j, "root", json_string(root));
    json_object_set_new(j, "tx", a->have_tx ? json_string(tx) : json_null());
    json_object_set_new(j, "block", a->block ? json_integer((json_int_t)a->block) : json_null());
    json_object_set_new(j, "time", a->time ? json_integer((json_int_t)a->time) : json_null());
  }
  pthread_mutex_unlock(&a->w.mu);
  if (!j) return strdup("null");
  char *s = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  return s;
}

/* The balance, fee and age lines of anchoring_metrics (malloc'd, NULL: out of memory).
 * The balance is exact decimal wei (it may pass 64 bits); absent until first read. */
static char *funds_metrics(logd_anchor *a) {
  pthread_mutex_lock(&a->w.mu);
  char wei[ETH_U256_DECIMAL_MAX];
  memcpy(wei, a->balance_wei, sizeof wei);
  uint64_t read_ms = a->balance_read_ms, fee = a->last_fee_wei, t = a->time;
  pthread_mutex_unlock(&a->w.mu);
  time_t now = time(NULL);
  uint64_t age = t && (uint64_t)now > t ? (uint64_t)now - t : 0;
  char known[ETH_U256_DECIMAL_MAX + 100] = "";
  if (read_ms)
    snprintf(known, sizeof known, "logd_anchor_balance_wei %s\nlogd_anchor_balance_age_seconds %" PRIu64 "\n", wei,
             (mono_ms() - read_ms) / 1000);
  char *s = NULL;
  if (asprintf(&s,
               "# HELP logd_anchor_balance_wei Balance of the anchorer address (wei), read each anchoring round.\n"
               "# TYPE logd_anchor_balance_wei gauge\n"
               "# HELP logd_anchor_balance_age_seconds Seconds since the balance was last read.\n"
               "# TYPE logd_anchor_balance_age_seconds gauge\n%s"
               "# HELP logd_anchor_balance_errors_total Failed balance reads.\n"
               "# TYPE logd_anchor_balance_errors_total counter\nlogd_anchor_balance_errors_total %llu\n"
               "# HELP logd_anchor_last_fee_wei Gas used x effective gas price of this process's last anchor "
               "transaction (L2 execution fee; an L1 data fee comes on top).\n"
               "# TYPE logd_anchor_last_fee_wei gauge\nlogd_anchor_last_fee_wei %" PRIu64 "\n"
               "# HELP logd_anchor_age_seconds Seconds since the block time of the last anchor (wall clock).\n"
               "# TYPE logd_anchor_age_seconds gauge\nlogd_anchor_age_seconds %" PRIu64 "\n",
               known, atomic_load(&a->balance_errors), fee, age) < 0)
    return NULL;
  return s;
}

char *anchoring_metrics(logd_anchor *a) {
  pthread_mutex_lock(&a->w.mu);
  uint64_t size = a->have ? a->size : 0, block = a->block, t = a->time;
  pthread_mutex_unlock(&a->w.mu);
  char *s = NULL;
  if (asprintf(&s,
               "# HELP logd_anchor_size Size of the last checkpoint anchored on chain.\n"
               "# TYPE logd_anchor_size gauge\nlogd_anchor_size %" PRIu64 "\n"
               "# HELP logd_anchor_block Block of the last anchor transaction.\n"
               "# TYPE logd_anchor_block gauge\nlogd_anchor_block %" PRIu64 "\n"
               "# HELP logd_anchor_time_seconds Block time of the last anchor.\n"
               "# TYPE logd_anchor_time_seconds gauge\nlogd_anchor_time_seconds %" PRIu64 "\n"
               "# HELP logd_anchor_attempts_total Anchoring attempts by this process.\n"
               "# TYPE logd_anchor_attempts_total counter\nlogd_anchor_attempts_total %llu\n"
               "# HELP logd_anchors_total Checkpoints anchored by this process.\n"
               "# TYPE logd_anchors_total counter\nlogd_anchors_total %llu\n"
               "# HELP logd_anchor_failures_total Failed anchoring attempts.\n"
               "# TYPE logd_anchor_failures_total counter\nlogd_anchor_failures_total %llu\n"
               "# HELP logd_anchor_consecutive_failures Failed attempts since the last success.\n"
               "# TYPE logd_anchor_consecutive_failures gauge\nlogd_anchor_consecutive_failures %llu\n",
               size, block, t, atomic_load(&a->attempts), atomic_load(&a->anchors),
               atomic_load(&a->errors), atomic_load(&a->consecutive)) < 0)
    return NULL;
  char *more = NULL;
  if (asprintf(&more,
               "%s# HELP logd_anchor_unanchored_seconds Seconds since every published checkpoint "
               "was covered by a confirmed anchor.\n"
               "# TYPE logd_anchor_unanchored_seconds gauge\nlogd_anchor_unanchored_seconds %" PRIu64 "\n"
               "# HELP logd_anchor_max_age_seconds Writes are refused beyond this (--anchor-max-age).\n"
               "# TYPE logd_anchor_max_age_seconds gauge\nlogd_anchor_max_age_seconds %" PRIu64 "\n"
               "# HELP logd_anchor_stale 1 while writes are refused because anchoring is stale.\n"
               "# TYPE logd_anchor_stale gauge\nlogd_anchor_stale %d\n"
               "# HELP logd_writes_refused_stale_anchor_total Writes refused (503) while stale.\n"
               "# TYPE logd_writes_refused_stale_anchor_total counter\n"
               "logd_writes_refused_stale_anchor_total %llu\n",
               s, stale_ms(a) / 1000, a->max_age_s, is_stale(a), atomic_load(&a->refused)) < 0)
    more = NULL;
  free(s);
  char *funds = more ? funds_metrics(a) : NULL, *all = NULL;
  if (funds && asprintf(&all, "%s%s", more, funds) < 0) all = NULL;
  free(more);
  free(funds);
  return all;
}

int anchoring_write_refused(logd_anchor *a, char *msg, size_t msgcap) {
  /* Before anchoring_start (the boot entry) nothing is refused. */
  if (!a->w.started || !is_stale(a)) return 0;
  atomic_fetch_add(&a->refused, 1);
  pthread_mutex_lock(&a->w.mu);
  uint64_t size = a->have ? a->size : 0;
  pthread_mutex_unlock(&a->w.mu);
  xt_errf(msg, msgcap,
          "writes are refused: no anchor has confirmed the log's newest checkpoint for %" PRIu64
          " s, over the %" PRIu64 " s bound (--anchor-max-age; the last confirmed anchor is "
          "of size %" PRIu64 "); writes resume once a checkpoint is anchored on chain",
          stale_ms(a) / 1000, a->max_age_s, size);
  return 1;
}
