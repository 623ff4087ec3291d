#include "anchor/anchor.h"

#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "anchor/abi.h"
#include "base/err.h"
#include "base/hex.h"
#include "anchor/rpc.h"
#include "anchor/tx.h"
#include "merkle/merkle.h"

#define SIG_HEAD "head(bytes32)"
#define SIG_ANCHOR "anchor(bytes32,uint64,bytes32,bytes32,bytes32[])"
#define SIG_REGISTER "register(bytes32,address)"
#define SIG_ROTATE "rotate(bytes32,address)"
#define SIG_ANCHORED "Anchored(bytes32,uint64,bytes32,bytes32)"

/* Transactions kept per nonce while bumping fees: any of them may be the one mined. */
#define MAX_SENT 16
/* Public nodes cap eth_getLogs ranges; when a whole-range query fails, go in steps. */
#define LOG_CHUNK_BLOCKS 10000

struct anchor_client {
  eth_rpc *rpc;
  anchor_options o;
  int has_key;
  uint8_t key[ETH_KEY_SIZE];
  uint8_t addr[ETH_ADDRESS_SIZE];
  int has_contract;
  uint8_t contract[ETH_ADDRESS_SIZE];
  int chain_known;
  uint64_t chain_id;
};

const char *anchor_status_str(int s) {
  switch (s) {
  case ANCHOR_OK: return "ok";
  case ANCHOR_UNCHANGED: return "already anchored";
  case ANCHOR_ERR_ARG: return "bad argument";
  case ANCHOR_ERR_RPC: return "RPC node error";
  case ANCHOR_ERR_CHAIN: return "unexpected chain or contract";
  case ANCHOR_ERR_REJECTED: return "rejected by the contract";
  case ANCHOR_ERR_INCONSISTENT: return "not consistent with the anchored head";
  case ANCHOR_ERR_TIMEOUT: return "timed out";
  case ANCHOR_ERR_REVERTED: return "transaction reverted";
  case ANCHOR_ERR_READONLY: return "no key";
  case ANCHOR_ERR_NOMEM: return "out of memory";
  case ANCHOR_ERR_RETRY: return "chain moved, retry";
  default: return "unknown status";
  }
}

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static int seterr(char *err, size_t cap, int status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  xt_verrf(err, cap, fmt, ap);
  va_end(ap);
  return status;
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void note(const anchor_client *c, const char *fmt, ...) {
  if (!c->o.log) return;
  char line[400];
  va_list ap;
  va_start(ap, fmt);
  xt_verrf(line, sizeof line, fmt, ap); /* a cut line ends in "..." */
  va_end(ap);
  c->o.log(c->o.log_ctx, line);
}

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

/* For retry loops: a transport failure before the deadline is worth another try
 * after a pause (the node may be restarting); anything else is final. */
static int transient(const anchor_client *c, int rc, uint64_t deadline) {
  if (rc != ETH_RPC_ERR_TRANSPORT || now_ms() + c->o.poll_ms >= deadline) return 0;
  sleep_ms(c->o.poll_ms);
  return 1;
}

/* How long a read keeps retrying an unreachable node: one request's timeout, but
 * never longer than a whole send may take. */
static uint64_t read_window(const anchor_client *c) {
  return c->o.rpc_timeout_ms < c->o.deadline_ms ? c->o.rpc_timeout_ms : c->o.deadline_ms;
}

void anchor_options_default(anchor_options *o) {
  memset(o, 0, sizeof *o);
  o->confirmations = 1;
  o->rpc_timeout_ms = 10000;
  o->deadline_ms = 120000;
  o->resend_after_ms = 30000;
  o->poll_ms = 250;
}

void anchor_log_id(const char *origin, uint8_t out[32]) {
  SHA256((const unsigned char *)origin, strlen(origin), out);
}

anchor_client *anchor_client_new(const char *rpc_url, const char *contract_hex,
                                 const uint8_t privkey[32], const anchor_options *opts, char *err,
                                 size_t errcap) {
  anchor_client *c = calloc(1, sizeof *c);
  if (!c) {
    seterr(err, errcap, 0, "out of memory");
    return NULL;
  }
  if (opts)
    c->o = *opts;
  else
    anchor_options_default(&c->o);
  if (!c->o.confirmations) c->o.confirmations = 1;
  if (!c->o.poll_ms) c->o.poll_ms = 250;
  if (!c->o.rpc_timeout_ms) c->o.rpc_timeout_ms = 10000;
  if (!c->o.deadline_ms) c->o.deadline_ms = 120000;
  if (!c->o.resend_after_ms) c->o.resend_after_ms = 30000;
  if (contract_hex) {
    if (eth_address_parse(contract_hex, c->contract)) {
      seterr(err, errcap, 0, "contract address '%s' is not 0x + 40 hex digits (with a valid checksum if mixed case)",
             contract_hex);
      free(c);
      return NULL;
    }
    c->has_contract = 1;
  }
  if (privkey) {
    if (eth_address_from_key(privkey, c->addr)) {
      seterr(err, errcap, 0, "the private key is not a valid secp256k1 key");
      free(c);
      return NULL;
    }
    memcpy(c->key, privkey, ETH_KEY_SIZE);
    c->has_key = 1;
  }
  c->rpc = eth_rpc_new(rpc_url, err, errcap);
  if (!c->rpc) {
    anchor_client_free(c);
    return NULL;
  }
  eth_rpc_set_timeout_ms(c->rpc, (long)c->o.rpc_timeout_ms);
  return c;
}

void anchor_client_free(anchor_client *c) {
  if (!c) return;
  eth_rpc_free(c->rpc);
  memset(c->key, 0, sizeof c->key);
  free(c);
}

anchor_status anchor_client_contract(const anchor_client *c, uint8_t addr[20]) {
  if (!c->has_contract) return ANCHOR_ERR_ARG;
  memcpy(addr, c->contract, 20);
  return ANCHOR_OK;
}

/* ---- revert names ---- */

static const char *const known_errors[] = {
    "NotOwner()",         "NotAnchorer(address)",         "UnknownLog(bytes32)",
    "AlreadyRegistered(bytes32)", "ZeroAddress()",        "EmptyTree()",
    "SizeDecreased(uint64,uint64)", "RootMismatch(bytes32,bytes32)", "BadConsistencyProof()",
    "Panic(uint256)",
};

int anchor_revert_name(const uint8_t *data, size_t len, char *out, size_t cap) {
  if (!data || len < 4) {
    snprintf(out, cap, "revert without data");
    return -1;
  }
  uint8_t sel[4];
  abi_selector("Error(string)", sel);
  if (memcmp(data, sel, 4) == 0) {
    /* Error(string): offset word, length word, bytes. Show it only if well formed. */
    uint64_t off, n;
    const uint8_t *w0 = abi_word(data + 4, len - 4, 0);
    if (w0 && !abi_word_uint64(w0, &off) && off == 32) {
      const uint8_t *w1 = abi_word(data + 4, len - 4, 1);
      if (w1 && !abi_word_uint64(w1, &n) && n <= len - 4 - 64) {
        int shown = n > 200 ? 200 : (int)n;
        snprintf(out, cap, "Error: %.*s", shown, (const char *)data + 4 + 64);
        for (char *p = out; *p; p++)
          if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e) *p = '?';
        return 0;
      }
    }
  }
  for (size_t i = 0; i < sizeof known_errors / sizeof known_errors[0]; i++) {
    abi_selector(known_errors[i], sel);
    if (memcmp(data, sel, 4) == 0) {
      snprintf(out, cap, "%.*s", (int)strcspn(known_errors[i], "("), known_errors[i]);
      return 0;
    }
  }
  char h[11];
  xt_hex_encode0x(data, 4, h);
  snprintf(out, cap, "unknown error %s", h);
  return -1;
}

/* ---- chain and calls ---- */

static int ensure_chain(anchor_client *c, uint64_t deadline, char *err, size_t errcap) {
  if (c->chain_known) return ANCHOR_OK;
  uint64_t id = 0;
  int rc;
  do rc = eth_chain_id(c->rpc, &id);
  while (transient(c, rc, deadline));
  if (rc) return seterr(err, errcap, ANCHOR_ERR_RPC, "%s", eth_rpc_error(c->rpc));
  if (c->o.chain_id && id != c->o.chain_id)
    return seterr(err, errcap, ANCHOR_ERR_CHAIN, "node %s is on chain %llu, expected %llu",
                  eth_rpc_url(c->rpc), (unsigned long long)id, (unsigned long long)c->o.chain_id);
  c->chain_id = id;
  c->chain_known = 1;
  return ANCHOR_OK;
}

static int need_contract(const anchor_client *c, char *err, size_t errcap) {
  if (!c->has_contract) return seterr(err, errcap, ANCHOR_ERR_ARG, "no contract address given");
  return ANCHOR_OK;
}

anchor_status anchor_get_head(anchor_client *c, const uint8_t log_id[32], uint64_t *size, uint8_t root[32],
                    uint8_t anchorer[20], char *err, size_t errcap) {
  int rc = need_contract(c, err, errcap);
  if (rc) return rc;
  uint64_t deadline = now_ms() + read_window(c);
  rc = ensure_chain(c, deadline, err, errcap);
  if (rc) return rc;
  abi_arg a = {ABI_BYTES32, 0, log_id, 0};
  uint8_t *data, *out = NULL;
  size_t len, out_len = 0;
  if (abi_encode_call(SIG_HEAD, &a, 1, &data, &len)) return seterr(err, errcap, ANCHOR_ERR_NOMEM, "out of memory");
  do rc = eth_call(c->rpc, c->contract, data, len, &out, &out_len);
  while (transient(c, rc, deadline));
  free(data);
  if (rc) return seterr(err, errcap, ANCHOR_ERR_RPC, "reading the head: %s", eth_rpc_error(c->rpc));
  char ca[43];
  eth_address_format(c->contract, ca);
  const uint8_t *w0 = abi_word(out, out_len, 0), *w1 = abi_word(out, out_len, 1),
                *w2 = abi_word(out, out_len, 2);
  uint8_t who[20];
  if (out_len == 0) {
    free(out);
    return seterr(err, errcap, ANCHOR_ERR_CHAIN, "no contract at %s on %s", ca, eth_rpc_url(c->rpc));
  }
  if (!w2 || out_len != 96 || abi_word_uint64(w0, size) || abi_word_address(w2, who)) {
    free(out);
    return seterr(err, errcap, ANCHOR_ERR_CHAIN, "%s is not a TreeHeadAnchor (head() returned %zu bytes)", ca, out_len);
  }
  memcpy(root, w1, 32);
  if (anchorer) memcpy(anchorer, who, 20);
  free(out);
  return ANCHOR_OK;
}

/* ---- sending ---- */

static int contains(const char *hay, const char *needle) { return strcasestr(hay, needle) != NULL; }

static uint64_t bump(uint64_t v) {
  uint64_t b = v / 4 + 1; /* +25%: above every node's replacement threshold (10-12.5%) */
  return v > UINT64_MAX - b ? UINT64_MAX : v + b;
}

typedef struct sent_set {
  uint8_t hash[MAX_SENT][32];
  size_t n;
} sent_set;

static void sent_add(sent_set *s, const uint8_t h[32]) {
  for (size_t i = 0; i < s->n; i++)
    if (!memcmp(s->hash[i], h, 32)) return;
  if (s->n == MAX_SENT) { /* forget the oldest (cheapest) one */
    memmove(s->hash[0], s->hash[1], (MAX_SENT - 1) * 32);
    s->n--;
  }
  memcpy(s->hash[s->n++], h, 32);
}

/* Looks for a receipt of any transaction sent for this nonce. 1 found, 0 not yet,
 * <0 transport trouble (keep waiting). */
static int find_receipt(anchor_client *c, const sent_set *s, eth_receipt *rcpt) {
  for (size_t i = s->n; i-- > 0;) {
    int found = 0;
    int rc = eth_get_transaction_receipt(c->rpc, s->hash[i], rcpt, &found);
    if (rc) return -1;
    if (found) return 1;
  }
  return 0;
}

static int fees(anchor_client *c, uint64_t deadline, uint64_t *tip, uint64_t *max_fee, char *err,
                size_t errcap) {
  int rc;
  do rc = eth_max_priority_fee_per_gas(c->rpc, tip);
  while (transient(c, rc, deadline));
  if (rc == ETH_RPC_ERR_NODE) {
    *tip = 1000000; /* 0.001 gwei, Base's usual tip, if the node lacks the method */
  } else if (rc) {
    return seterr(err, errcap, ANCHOR_ERR_RPC, "%s", eth_rpc_error(c->rpc));
  }
  uint64_t base = 0;
  do rc = eth_next_base_fee(c->rpc, &base);
  while (transient(c, rc, deadline));
  if (rc) {
    eth_block b;
    int found = 0;
    do rc = eth_get_block_by_number(c->rpc, ETH_BLOCK_LATEST, &b, &found);
    while (transient(c, rc, deadline));
    if (rc || !found) return seterr(err, errcap, ANCHOR_ERR_RPC, "no base fee: %s", eth_rpc_error(c->rpc));
    base = b.base_fee;
  }
  /* Twice the base fee rides out several full blocks of base-fee growth. */
  *max_fee = base > (UINT64_MAX - *tip) / 2 ? UINT64_MAX : 2 * base + *tip;
  return ANCHOR_OK;
}

/* One transaction being sent: what the steps of send_tx share. */
typedef struct send_ctx {
  anchor_client *c;
  const uint8_t *to; /* NULL: contract creation */
  const uint8_t *data;
  size_t len;
  uint64_t deadline;
  char who[43];
  uint64_t gas_limit, nonce, pending, tip, max_fee;
  sent_set sent;        /* every hash sent for this nonce */
  unsigned underpriced; /* "underpriced" answers so far */
  eth_receipt *rcpt;
  uint8_t *tx_hash;
  char *err;
  size_t errcap;
} send_ctx;

/* Outcomes of send_once besides a negative anchor_status. */
enum { SEND_SENT = 1, SEND_NONCE_TAKEN, SEND_BUMPED };
/* await_receipt: unmined for resend_after_ms. */
enum { AWAIT_RESEND = 1 };

/* Gas, nonce and fees for a new attempt. Estimating first also runs the call: a revert
 * shows here, by name, unsent. */
static int prepare(send_ctx *s) {
  anchor_client *c = s->c;
  uint64_t gas = 0;
  int rc;
  do rc = eth_estimate_gas(c->rpc, c->addr, s->to, s->data, s->len, &gas);
  while (transient(c, rc, s->deadline));
  if (rc == ETH_RPC_ERR_NODE) {
    size_t dlen;
    const uint8_t *d = eth_rpc_error_data(c->rpc, &dlen);
    if (d && dlen >= 4) {
      char name[256];
      anchor_revert_name(d, dlen, name, sizeof name);
      return seterr(s->err, s->errcap, ANCHOR_ERR_REJECTED, "the contract rejects it: %s", name);
    }
    return seterr(s->err, s->errcap, ANCHOR_ERR_RPC, "%s", eth_rpc_error(c->rpc));
  }
  if (rc) return seterr(s->err, s->errcap, ANCHOR_ERR_RPC, "%s", eth_rpc_error(c->rpc));
  s->gas_limit = gas + gas / 4 + 10000;

  /* The node's count of our mined transactions is the nonce: after a restart a
   * transaction of ours may still be pending, and this one then replaces it. */
  s->nonce = s->pending = 0;
  do rc = eth_get_transaction_count(c->rpc, c->addr, "latest", &s->nonce);
  while (transient(c, rc, s->deadline));
  if (!rc) do rc = eth_get_transaction_count(c->rpc, c->addr, "pending", &s->pending);
    while (transient(c, rc, s->deadline));
  if (rc) return seterr(s->err, s->errcap, ANCHOR_ERR_RPC, "%s", eth_rpc_error(c->rpc));

  s->tip = s->max_fee = 0;
  rc = fees(c, s->deadline, &s->tip, &s->max_fee, s->err, s->errcap);
  if (rc) return rc;
  if (s->pending > s->nonce) { /* outbid the pending one, whose fees we do not know */
    s->tip = bump(bump(bump(s->tip)));
    s->max_fee = bump(bump(bump(s->max_fee)));
  }
  s->sent.n = 0;
  s->underpriced = 0;
  return ANCHOR_OK;
}

/* Signs the transaction at the current fees and sends it. Returns SEND_SENT (or our
 * earlier one was mined: wait for its receipt), SEND_NONCE_TAKEN (start over),
 * SEND_BUMPED (underpriced: fees raised, send again), or a negative anchor_status. */
static int send_once(send_ctx *s) {
  anchor_client *c = s->c;
  if (s->tip > s->max_fee) s->max_fee = s->tip;
  if (c->o.max_fee_cap_wei && s->max_fee > c->o.max_fee_cap_wei) {
    if (c->o.max_fee_cap_wei < s->tip || s->sent.n)
      return seterr(s->err, s->errcap, ANCHOR_ERR_TIMEOUT,
                    "fees would exceed the cap of %llu wei/gas; transaction not mined",
                    (unsigned long long)c->o.max_fee_cap_wei);
    s->max_fee = c->o.max_fee_cap_wei;
  }
  eth_tx tx;
  memset(&tx, 0, sizeof tx);
  tx.chain_id = c->chain_id;
  tx.nonce = s->nonce;
  tx.max_priority_fee_per_gas = s->tip;
  tx.max_fee_per_gas = s->max_fee;
  tx.gas_limit = s->gas_limit;
  tx.has_to = s->to != NULL;
  if (s->to) memcpy(tx.to, s->to, 20);
  tx.data = s->data;
  tx.data_len = s->len;
  uint8_t *raw = NULL, hash[32], echoed[32];
  size_t raw_len;
  if (eth_tx_sign(&tx, c->key, &raw, &raw_len, hash))
    return seterr(s->err, s->errcap, ANCHOR_ERR_NOMEM, "signing failed (out of memory)");
  int rc;
  do rc = eth_send_raw_transaction(c->rpc, raw, raw_len, echoed);
  while (transient(c, rc, s->deadline));
  free(raw);
  const char *why = eth_rpc_error(c->rpc);
  if (rc == ETH_RPC_OK ||
      (rc == ETH_RPC_ERR_NODE && (contains(why, "already known") || contains(why, "known transaction")))) {
    sent_add(&s->sent, hash);
    memcpy(s->tx_hash, hash, 32);
    char th[67];
    xt_hex_encode0x(hash, 32, th);
    note(c, "sent %s nonce %llu max fee %llu tip %llu gas %llu%s", th, (unsigned long long)s->nonce,
         (unsigned long long)s->max_fee, (unsigned long long)s->tip,
         (unsigned long long)s->gas_limit,
         s->sent.n > 1 ? " (replacement)" : s->pending > s->nonce ? " (replacing an earlier pending one)" : "");
    return SEND_SENT;
  }
  if (rc == ETH_RPC_ERR_NODE && contains(why, "nonce too low")) {
    /* Some transaction took this nonce: ours (then a receipt says so) or another. */
    if (find_receipt(c, &s->sent, s->rcpt) == 1) return SEND_SENT;
    note(c, "nonce %llu was taken by another transaction; starting over", (unsigned long long)s->nonce);
    return SEND_NONCE_TAKEN;
  }
  if (rc == ETH_RPC_ERR_NODE && (contains(why, "underpriced") || contains(why, "replacement"))) {
    /* Bounded: a pending transaction with absurd fees is not worth outbidding without
     * limit. Eight bumps are 6x the fees. */
    if (++s->underpriced > 8 || now_ms() >= s->deadline)
      return seterr(s->err, s->errcap, ANCHOR_ERR_TIMEOUT,
                    "could not outbid a pending transaction of %s with nonce %llu (%s)", s->who,
                    (unsigned long long)s->nonce, why);
    note(c, "node says underpriced: %s; bumping fees", why);
    s->tip = bump(s->tip);
    s->max_fee = bump(s->max_fee);
    sleep_ms(c->o.poll_ms);
    return SEND_BUMPED;
  }
  if (rc == ETH_RPC_ERR_TRANSPORT) return seterr(s->err, s->errcap, ANCHOR_ERR_RPC, "%s", why);
  return seterr(s->err, s->errcap, ANCHOR_ERR_RPC, "sending from %s: %s", s->who, why);
}

/* With a receipt: ANCHOR_OK once it has its confirmations (and is still in the same
 * block), ANCHOR_ERR_REVERTED, or 0 < result to keep polling. */
static int check_receipt(send_ctx *s) {
  anchor_client *c = s->c;
  memcpy(s->tx_hash, s->rcpt->tx_hash, 32);
  char th[67];
  xt_hex_encode0x(s->rcpt->tx_hash, 32, th);
  if (!s->rcpt->status)
    return seterr(s->err, s->errcap, ANCHOR_ERR_REVERTED, "transaction %s reverted in block %llu", th,
                  (unsigned long long)s->rcpt->block_number);
  if (c->o.confirmations <= 1) return ANCHOR_OK;
  uint64_t head = 0;
  if (eth_block_number(c->rpc, &head) == ETH_RPC_OK &&
      head + 1 >= s->rcpt->block_number + c->o.confirmations) {
    /* Still there, in the same block, after the confirmations (no reorg)? */
    eth_receipt again;
    int found = 0;
    if (eth_get_transaction_receipt(c->rpc, s->rcpt->tx_hash, &again, &found) == ETH_RPC_OK && found &&
        !memcmp(again.block_hash, s->rcpt->block_hash, 32)) {
      *s->rcpt = again;
      return ANCHOR_OK;
    }
  }
  return 1;
}

/* Waits for a receipt of any of our transactions for this nonce. Returns ANCHOR_OK,
 * AWAIT_RESEND (unmined for resend_after_ms), or a negative anchor_status. */
static int await_receipt(send_ctx *s) {
  anchor_client *c = s->c;
  uint64_t sent_at = now_ms();
  unsigned pause = 10; /* short first polls: local chains mine in milliseconds */
  for (;;) {
    int f = s->sent.n ? find_receipt(c, &s->sent, s->rcpt) : 1;
    if (f == 1) {
      int rc = check_receipt(s);
      if (rc <= 0) return rc;
    }
    if (now_ms() >= s->deadline) {
      char th[67];
      xt_hex_encode0x(s->tx_hash, 32, th);
      return seterr(s->err, s->errcap, ANCHOR_ERR_TIMEOUT, "transaction %s not %s within %u ms", th,
                    f == 1 ? "confirmed" : "mined", c->o.deadline_ms);
    }
    if (f != 1 && now_ms() - sent_at >= c->o.resend_after_ms) return AWAIT_RESEND;
    sleep_ms(pause);
    pause = pause * 2 < c->o.poll_ms ? pause * 2 : c->o.poll_ms;
  }
}

/* Sends a transaction calling `to` (NULL: create) with data and waits until it is
 * mined and confirmed, bumping fees when it sits unmined; starts over (at most three
 * times) when another transaction takes the nonce. */
static int send_tx(anchor_client *c, const uint8_t *to, const uint8_t *data, size_t len,
                   eth_receipt *rcpt, uint8_t tx_hash[32], char *err, size_t errcap) {
  if (!c->has_key) return seterr(err, errcap, ANCHOR_ERR_READONLY, "this needs a private key (--key)");
  send_ctx s = {.c = c, .to = to, .data = data, .len = len, .rcpt = rcpt, .tx_hash = tx_hash,
                .err = err, .errcap = errcap};
  s.deadline = now_ms() + c->o.deadline_ms;
  int rc = ensure_chain(c, s.deadline, err, errcap);
  if (rc) return rc;
  eth_address_format(c->addr, s.who);
  for (int attempt = 0; attempt < 3; attempt++) {
    if ((rc = prepare(&s)) != ANCHOR_OK) return rc;
    for (;;) {
      rc = send_once(&s);
      if (rc < 0) return rc;
      if (rc == SEND_NONCE_TAKEN) break;
      if (rc == SEND_BUMPED) continue;
      rc = await_receipt(&s);
      if (rc != AWAIT_RESEND) return rc;
      note(c, "not mined after %u ms; bumping fees and resending", c->o.resend_after_ms);
      s.tip = bump(s.tip);
      s.max_fee = bump(s.max_fee);
      uint64_t t2 = 0, m2 = 0;
      if (fees(c, s.deadline, &t2, &m2, err, errcap) == ANCHOR_OK && m2 > s.max_fee) s.max_fee = m2;
    }
  }
  return seterr(err, errcap, ANCHOR_ERR_RETRY, "the nonce of %s was taken by another transaction; retry", s.who);
}

anchor_status anchor_submit(anchor_client *c, const uint8_t log_id[32], uint64_t size, const uint8_t root[32],
                  const uint8_t checkpoint_hash[32], const uint8_t (*proof)[32], size_t proof_len,
                  uint8_t tx_hash[32], char *err, size_t errcap) {
  if (tx_hash) memset(tx_hash, 0, 32);
  if (!c->has_key) return seterr(err, errcap, ANCHOR_ERR_READONLY, "anchoring needs a private key");
  if (size == 0) return seterr(err, errcap, ANCHOR_ERR_ARG, "an empty tree cannot be anchored");
  if (proof_len > MERKLE_MAX_PROOF) return seterr(err, errcap, ANCHOR_ERR_ARG, "proof too long");
  uint64_t old_size;
  uint8_t old_root[32], anchorer[20];
  int rc = anchor_get_head(c, log_id, &old_size, old_root, anchorer, err, errcap);
  if (rc) return rc;
  static const uint8_t zero[20];
  char me[43], them[43];
  eth_address_format(c->addr, me);
  eth_address_format(anchorer, them);
  if (!memcmp(anchorer, zero, 20))
    return seterr(err, errcap, ANCHOR_ERR_REJECTED, "the log is not registered in the contract (UnknownLog)");
  if (memcmp(anchorer, c->addr, 20))
    return seterr(err, errcap, ANCHOR_ERR_REJECTED, "the log's anchorer is %s, this key is %s (NotAnchorer)",
                  them, me);
  /* The local check: nothing inconsistent with the chain's head ever leaves here. */
  if (size < old_size)
    return seterr(err, errcap, ANCHOR_ERR_INCONSISTENT,
                  "the chain holds size %llu, larger than this head's %llu: this log is behind its anchor",
                  (unsigned long long)old_size, (unsigned long long)size);
  if (size == old_size) {
    if (memcmp(root, old_root, 32))
      return seterr(err, errcap, ANCHOR_ERR_INCONSISTENT,
                    "the chain holds another root for size %llu: split view", (unsigned long long)size);
    if (tx_hash) memset(tx_hash, 0, 32);
    return ANCHOR_UNCHANGED;
  }
  if (old_size == 0) {
    if (proof_len)
      return seterr(err, errcap, ANCHOR_ERR_INCONSISTENT,
                    "the chain has no head yet, but a proof from an earlier head was given");
  } else {
    int mv = merkle_verify_consistency(old_size, size, old_root, root, proof, proof_len);
    if (mv != MERKLE_OK)
      return seterr(err, errcap, ANCHOR_ERR_INCONSISTENT,
                    "the proof does not show size %llu consistent with the anchored size %llu (%s)",
                    (unsigned long long)size, (unsigned long long)old_size, merkle_status_str(mv));
  }
  abi_arg args[5] = {
      {ABI_BYTES32, 0, log_id, 0},
      {ABI_UINT64, size, NULL, 0},
      {ABI_BYTES32, 0, root, 0},
      {ABI_BYTES32, 0, checkpoint_hash, 0},
      {ABI_BYTES32_ARRAY, 0, old_size ? (const uint8_t *)proof : NULL, old_size ? proof_len : 0},
  };
  uint8_t *data;
  size_t len;
  if (abi_encode_call(SIG_ANCHOR, args, 5, &data, &len)) return seterr(err, errcap, ANCHOR_ERR_NOMEM, "out of memory");
  eth_receipt rcpt;
  uint8_t h[32] = {0};
  rc = send_tx(c, c->contract, data, len, &rcpt, h, err, errcap);
  free(data);
  if (tx_hash) memcpy(tx_hash, h, 32);
  if (rc == ANCHOR_ERR_REJECTED || rc == ANCHOR_ERR_REVERTED || rc == ANCHOR_ERR_RETRY) {
    /* A transaction of ours from before (e.g. left pending by a previous run) may have
     * moved the head meanwhile: then the caller only needs a fresh proof. */
    uint64_t now_size;
    uint8_t now_root[32], who[20];
    char e2[64];
    if (anchor_get_head(c, log_id, &now_size, now_root, who, e2, sizeof e2) == ANCHOR_OK &&
        (now_size != old_size || memcmp(now_root, old_root, 32)))
      return seterr(err, errcap, ANCHOR_ERR_RETRY,
                    "the anchored head moved from size %llu to %llu while sending; recompute the proof and retry",
                    (unsigned long long)old_size, (unsigned long long)now_size);
  }
  return rc;
}

anchor_status anchor_submit_tree(anchor_client *c, const uint8_t log_id[32], uint64_t size,
                       const uint8_t root[32], const uint8_t checkpoint_hash[32],
                       merkle_node_reader rd, void *rd_ctx, uint8_t tx_hash[32], char *err,
                       size_t errcap) {
  int rc = ANCHOR_ERR_RETRY;
  for (int round = 0; round < 2 && rc == ANCHOR_ERR_RETRY; round++) {
    uint64_t old_size;
    uint8_t old_root[32], who[20];
    rc = anchor_get_head(c, log_id, &old_size, old_root, who, err, errcap);
    if (rc) return rc;
    uint8_t proof[MERKLE_MAX_PROOF][32];
    size_t plen = 0;
    if (old_size < size) {
      int mr = merkle_consistency_proof(old_size, size, rd, rd_ctx, proof, MERKLE_MAX_PROOF, &plen);
      if (mr != MERKLE_OK)
        return seterr(err, errcap, ANCHOR_ERR_ARG, "building the proof %llu -> %llu: %s",
                      (unsigned long long)old_size, (unsigned long long)size, merkle_status_str(mr));
    }
    /* anchor_submit reads the head again and judges it; a head that moved between
     * the two reads is a stale proof, reported as ANCHOR_ERR_INCONSISTENT there,
     * so only ANCHOR_ERR_RETRY (moved while sending) loops. */
    rc = anchor_submit(c, log_id, size, root, checkpoint_hash, (const uint8_t(*)[32])proof, plen,
                       tx_hash, err, errcap);
  }
  return rc;
}

anchor_status anchor_check_local(anchor_client *c, const uint8_t log_id[32], uint64_t local_size,
                       merkle_node_reader rd, void *rd_ctx, uint64_t *chain_size, char *err,
                       size_t errcap) {
  uint64_t size = 0;
  uint8_t root[32], who[20], mine[32];
  static const uint8_t zero[20];
  int rc = anchor_get_head(c, log_id, &size, root, who, err, errcap);
  if (rc) return rc;
  if (!memcmp(who, zero, 20))
    return seterr(err, errcap, ANCHOR_ERR_REJECTED, "the log is not registered in the contract");
  *chain_size = size;
  if (size == 0) return ANCHOR_OK;
  if (size > local_size)
    return seterr(err, errcap, ANCHOR_ERR_INCONSISTENT,
                  "the chain has anchored size %llu but the local log has only %llu entries: "
                  "the local log was rolled back or is not this log",
                  (unsigned long long)size, (unsigned long long)local_size);
  int mr = merkle_root_at(size, rd, rd_ctx, mine);
  if (mr != MERKLE_OK)
    return seterr(err, errcap, ANCHOR_ERR_ARG, "computing the local root at size %llu: %s",
                  (unsigned long long)size, merkle_status_str(mr));
  if (memcmp(mine, root, 32))
    return seterr(err, errcap, ANCHOR_ERR_INCONSISTENT,
                  "the local log's root at the anchored size %llu differs from the anchored root: "
                  "the local log is not the one anchored", (unsigned long long)size);
  return ANCHOR_OK;
}

static int owner_call(anchor_client *c, const char *sig, const uint8_t log_id[32],
                      const uint8_t anchorer[20], uint8_t tx_hash[32], char *err, size_t errcap) {
  int rc = need_contract(c, err, errcap);
  if (rc) return rc;
  abi_arg args[2] = {{ABI_BYTES32, 0, log_id, 0}, {ABI_ADDRESS, 0, anchorer, 0}};
  uint8_t *data;
  size_t len;
  if (abi_encode_call(sig, args, 2, &data, &len)) return seterr(err, errcap, ANCHOR_ERR_NOMEM, "out of memory");
  eth_receipt rcpt;
  uint8_t h[32] = {0};
  rc = send_tx(c, c->contract, data, len, &rcpt, h, err, errcap);
  free(data);
  if (tx_hash) memcpy(tx_hash, h, 32);
  return rc;
}

anchor_status anchor_register(anchor_client *c, const uint8_t log_id[32], const uint8_t anchorer[20],
                    uint8_t tx_hash[32], char *err, size_t errcap) {
  return owner_call(c, SIG_REGISTER, log_id, anchorer, tx_hash, err, errcap);
}

anchor_status anchor_rotate(anchor_client *c, const uint8_t log_id[32], const uint8_t anchorer[20],
                  uint8_t tx_hash[32], char *err, size_t errcap) {
  return owner_call(c, SIG_ROTATE, log_id, anchorer, tx_hash, err, errcap);
}

anchor_status anchor_deploy(anchor_client *c, uint8_t address[20], uint8_t tx_hash[32], char *err, size_t errcap) {
  uint8_t *code;
  size_t len;
  if (xt_hex_decode_alloc(anchor_contract_init_code_hex, XT_HEX_0X, &code, &len) != XT_OK || len == 0)
    return seterr(err, errcap, ANCHOR_ERR_NOMEM, "the embedded contract code is unusable");
  eth_receipt rcpt;
  memset(&rcpt, 0, sizeof rcpt);
  uint8_t h[32] = {0};
  int rc = send_tx(c, NULL, code, len, &rcpt, h, err, errcap);
  free(code);
  if (tx_hash) memcpy(tx_hash, h, 32);
  if (rc) return rc;
  if (!rcpt.has_contract_address)
    return seterr(err, errcap, ANCHOR_ERR_CHAIN, "the deploy receipt names no contract address");
  memcpy(c->contract, rcpt.contract_address, 20);
  c->has_contract = 1;
  if (address) memcpy(address, rcpt.contract_address, 20);
  return ANCHOR_OK;
}

/* ---- listing ---- */

typedef struct event_list {
  anchor_event *ev;
  size_t n, cap;
  int bad; /* a malformed event from the contract address */
  int nomem;
} event_list;

static int collect(void *ctx, const eth_log *lg) {
  event_list *l = ctx;
  if (lg->removed) return 0;
  anchor_event e;
  memset(&e, 0, sizeof e);
  if (lg->data_len != 96 || abi_word_uint64(lg->data, &e.size)) {
    l->bad = 1;
    return 1;
  }
  memcpy(e.root, lg->data + 32, 32);
  memcpy(e.checkpoint_hash, lg->data + 64, 32);
  e.block = lg->block_number;
  memcpy(e.tx_hash, lg->tx_hash, 32);
  e.log_index = lg->log_index;
  if (l->n == l->cap) {
    size_t cap = l->cap ? 2 * l->cap : 64;
    anchor_event *p = realloc(l->ev, cap * sizeof *p);
    if (!p) {
      l->nomem = 1;
      return 1;
    }
    l->ev = p;
    l->cap = cap;
  }
  l->ev[l->n++] = e;
  return 0;
}

void anchor_anchored_topic(uint8_t out[32]) { abi_event_topic(SIG_ANCHORED, out); }

anchor_status anchor_event_from_log(const eth_log *lg, anchor_event *ev) {
  memset(ev, 0, sizeof *ev);
  uint8_t topic[32];
  abi_event_topic(SIG_ANCHORED, topic);
  if (lg->ntopics < 2 || memcmp(lg->topics[0], topic, 32) != 0 || lg->data_len != 96 ||
      abi_word_uint64(lg->data, &ev->size))
    return ANCHOR_ERR_CHAIN;
  memcpy(ev->root, lg->data + 32, 32);
  memcpy(ev->checkpoint_hash, lg->data + 64, 32);
  ev->block = lg->block_number;
  memcpy(ev->tx_hash, lg->tx_hash, 32);
  ev->log_index = lg->log_index;
  return ANCHOR_OK;
}

int anchor_list(anchor_client *c, const uint8_t log_id[32], uint64_t from_block, anchor_event_cb cb,
                void *ctx, char *err, size_t errcap) {
  int rc = need_contract(c, err, errcap);
  if (rc) return rc;
  uint64_t deadline = now_ms() + c->o.deadline_ms;
  rc = ensure_chain(c, deadline, err, errcap);
  if (rc) return rc;
  uint8_t topic[32];
  abi_event_topic(SIG_ANCHORED, topic);
  event_list l = {0};
  /* Years of anchors are a few MB of JSON; allow that much for one answer. */
  eth_rpc_set_max_response(c->rpc, 64u << 20);
  do rc = eth_get_logs(c->rpc, c->contract, topic, log_id, from_block, ETH_BLOCK_LATEST, collect, &l);
  while (transient(c, rc, deadline));
  if (rc == ETH_RPC_ERR_NODE || rc == ETH_RPC_ERR_TOO_LARGE) {
    /* A block-range or size limit: walk the range in steps, halving a step the node
     * still refuses (public nodes allow anywhere from a few hundred blocks up). */
    uint64_t latest = 0, step = LOG_CHUNK_BLOCKS;
    do rc = eth_block_number(c->rpc, &latest);
    while (transient(c, rc, deadline));
    l.n = 0;
    for (uint64_t b = from_block; !rc && b <= latest;) {
      uint64_t e = latest - b < step ? latest : b + step - 1;
      do rc = eth_get_logs(c->rpc, c->contract, topic, log_id, b, e, collect, &l);
      while (transient(c, rc, deadline));
      if ((rc == ETH_RPC_ERR_NODE || rc == ETH_RPC_ERR_TOO_LARGE) && step > 16) {
        step /= 2;
        rc = ETH_RPC_OK;
        continue;
      }
      if (!rc && c->o.progress) c->o.progress(c->o.progress_ctx, e, latest);
      b = e + 1;
      if (e == latest) break;
    }
  }
  eth_rpc_set_max_response(c->rpc, 0);
  if (l.nomem) rc = seterr(err, errcap, ANCHOR_ERR_NOMEM, "out of memory");
  else if (l.bad) rc = seterr(err, errcap, ANCHOR_ERR_CHAIN, "the contract emitted a malformed Anchored event");
  else if (rc) rc = seterr(err, errcap, ANCHOR_ERR_RPC, "listing events: %s", eth_rpc_error(c->rpc));
  /* Block times, one lookup per distinct block. */
  uint64_t cached_block = UINT64_MAX, cached_time = 0;
  for (size_t i = 0; !rc && i < l.n; i++) {
    if (l.ev[i].block != cached_block) {
      eth_block b;
      int found = 0;
      do rc = eth_get_block_by_number(c->rpc, l.ev[i].block, &b, &found);
      while (transient(c, rc, deadline));
      if (rc || !found) {
        rc = seterr(err, errcap, ANCHOR_ERR_RPC, "block %llu: %s", (unsigned long long)l.ev[i].block,
                    rc ? eth_rpc_error(c->rpc) : "the node does not have it");
        break;
      }
      cached_block = l.ev[i].block;
      cached_time = b.timestamp;
    }
    l.ev[i].time = cached_time;
    int stop = cb(ctx, &l.ev[i]);
    if (stop) {
      rc = stop;
      break;
    }
  }
  free(l.ev);
  return rc;
}
