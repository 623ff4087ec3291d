/* kms.c: DstackApp and DstackKms event history: every log of both addresses, read in
 * bounded block ranges from each contract's creation, decoded strictly by signature. */
#include "client/kms.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "anchor/keccak.h"
#include "base/err.h"
#include "base/hex.h"

/* How an event's arguments sit in the log. Strict: a known signature whose log has
 * any other shape is malformed, never guessed at. */
typedef enum {
  L_NONE,      /* no arguments: no data, topic0 only */
  L_WORD,      /* bytes32 in data (or in topic 1 where a variant indexes it) */
  L_BOOL,      /* bool in data */
  L_U64,       /* uint64 / uint8 in data */
  L_ADDR_DATA, /* address in data */
  L_ADDR_T1,   /* address indexed */
  L_ADDR_T12,  /* two addresses indexed: address2 = topic 1, address = topic 2 */
  L_T12_APP,   /* two addresses indexed: address = topic 1, address2 = topic 2 */
  L_STRING,    /* string in data */
  L_BYTES,     /* bytes in data */
  L_POLICY     /* PolicyChanged: actor, policy, value indexed (address, word, word2); bool in data */
} layout;

typedef struct {
  kms_event_kind kind;
  const char *name, *sig;
  layout lay;
  const char *arg1, *arg2; /* ABI argument names, in the JSON form */
} desc;

static const desc descs[] = {
    {KMS_COMPOSE_HASH_ADDED, "ComposeHashAdded", "ComposeHashAdded(bytes32)", L_WORD, "composeHash", NULL},
    {KMS_COMPOSE_HASH_REMOVED, "ComposeHashRemoved", "ComposeHashRemoved(bytes32)", L_WORD, "composeHash", NULL},
    {KMS_DEVICE_ADDED, "DeviceAdded", "DeviceAdded(bytes32)", L_WORD, "deviceId", NULL},
    {KMS_DEVICE_REMOVED, "DeviceRemoved", "DeviceRemoved(bytes32)", L_WORD, "deviceId", NULL},
    {KMS_ALLOW_ANY_DEVICE_SET, "AllowAnyDeviceSet", "AllowAnyDeviceSet(bool)", L_BOOL, "allowAny", NULL},
    {KMS_REQUIRE_TCB_UP_TO_DATE_SET, "RequireTcbUpToDateSet", "RequireTcbUpToDateSet(bool)", L_BOOL,
     "requireUpToDate", NULL},
    {KMS_UPGRADES_DISABLED, "UpgradesDisabled", "UpgradesDisabled()", L_NONE, NULL, NULL},
    {KMS_TCB_POLICY_SET, "TcbPolicySet", "TcbPolicySet(string)", L_STRING, "policy", NULL},
    {KMS_APP_REGISTERED, "AppRegistered", "AppRegistered(address)", L_ADDR_DATA, "appId", NULL},
    {KMS_KMS_INFO_SET, "KmsInfoSet", "KmsInfoSet(bytes)", L_BYTES, "k256Pubkey", NULL},
    {KMS_AGGREGATED_MR_ADDED, "KmsAggregatedMrAdded", "KmsAggregatedMrAdded(bytes32)", L_WORD,
     "mrAggregated", NULL},
    {KMS_AGGREGATED_MR_REMOVED, "KmsAggregatedMrRemoved", "KmsAggregatedMrRemoved(bytes32)", L_WORD,
     "mrAggregated", NULL},
    {KMS_KMS_DEVICE_ADDED, "KmsDeviceAdded", "KmsDeviceAdded(bytes32)", L_WORD, "deviceId", NULL},
    {KMS_KMS_DEVICE_REMOVED, "KmsDeviceRemoved", "KmsDeviceRemoved(bytes32)", L_WORD, "deviceId", NULL},
    {KMS_OS_IMAGE_HASH_ADDED, "OsImageHashAdded", "OsImageHashAdded(bytes32)", L_WORD, "osImageHash", NULL},
    {KMS_OS_IMAGE_HASH_REMOVED, "OsImageHashRemoved", "OsImageHashRemoved(bytes32)", L_WORD,
     "osImageHash", NULL},
    {KMS_GATEWAY_APP_ID_SET, "GatewayAppIdSet", "GatewayAppIdSet(string)", L_STRING, "gatewayAppId", NULL},
    {KMS_APP_IMPLEMENTATION_SET, "AppImplementationSet", "AppImplementationSet(address)", L_ADDR_DATA,
     "implementation", NULL},
    {KMS_APP_DEPLOYED_VIA_FACTORY, "AppDeployedViaFactory", "AppDeployedViaFactory(address,address)",
     L_T12_APP, "appId", "deployer"},
    {KMS_UPGRADED, "Upgraded", "Upgraded(address)", L_ADDR_T1, "implementation", NULL},
    {KMS_OWNERSHIP_TRANSFER_STARTED, "OwnershipTransferStarted",
     "OwnershipTransferStarted(address,address)", L_ADDR_T12, "previousOwner", "newOwner"},
    {KMS_OWNERSHIP_TRANSFERRED, "OwnershipTransferred", "OwnershipTransferred(address,address)",
     L_ADDR_T12, "previousOwner", "newOwner"},
    /* OpenZeppelin 5 counts initialisations in a uint64, version 4 in a uint8. */
    /* dstack's additive audit event (kms/auth-eth, 2026): emitted beside each specific one */
    {KMS_POLICY_CHANGED, "PolicyChanged", "PolicyChanged(address,bytes32,bytes32,bool)", L_POLICY, "actor",
     "policy"},
    {KMS_INITIALIZED, "Initialized", "Initialized(uint64)", L_U64, "version", NULL},
    {KMS_INITIALIZED, "Initialized", "Initialized(uint8)", L_U64, "version", NULL},
};
#define NDESCS (sizeof descs / sizeof descs[0])

const char *kms_err_str(kms_err e) {
  switch (e) {
  case KMS_OK: return "ok";
  case KMS_ERR_RPC: return "chain read failed";
  case KMS_ERR_MALFORMED: return "malformed event";
  case KMS_ERR_TOO_MANY: return "too many events";
  case KMS_ERR_NOMEM: return "out of memory";
  case KMS_ERR_ARG: return "invalid argument";
  }
  return "unknown error";
}

static const desc *desc_of_kind(kms_event_kind k) {
  for (size_t i = 0; i < NDESCS; i++)
    if (descs[i].kind == k) return &descs[i];
  return NULL;
}

const char *kms_event_name(kms_event_kind kind) {
  const desc *d = desc_of_kind(kind);
  return d ? d->name : "Unknown";
}

const char *kms_contract_name(kms_contract c) { return c == KMS_CONTRACT_KMS ? "kms" : "app"; }

/* ---- decoding ---- */

static int zero(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i]) return 0;
  return 1;
}

/* An ABI word holding an address: 12 zero bytes, then 20. */
static int word_address(const uint8_t w[32], uint8_t out[20]) {
  if (!zero(w, 12)) return -1;
  memcpy(out, w + 12, 20);
  return 0;
}

static char *hex_text(const uint8_t *p, size_t n) {
  if (n > (SIZE_MAX - 3) / 2) return NULL;
  char *s = malloc(2 * n + 3);
  if (s) xt_hex_encode0x(p, n, s);
  return s;
}

/* ABI-encoded single dynamic argument (string or bytes): offset 32, length, padded data. */
static int dynamic_arg(const eth_log *lg, const uint8_t **p, size_t *n) {
  if (lg->data_len < 64 || !zero(lg->data, 31) || lg->data[31] != 32 || !zero(lg->data + 32, 24))
    return -1;
  uint64_t len = 0;
  for (int i = 56; i < 64; i++) len = len << 8 | lg->data[i];
  if (len > lg->data_len - 64) return -1;
  size_t padded = (size_t)((len + 31) / 32 * 32);
  if (lg->data_len != 64 + padded || !zero(lg->data + 64 + len, padded - (size_t)len)) return -1;
  *p = lg->data + 64;
  *n = (size_t)len;
  return 0;
}

static int decode_text(const eth_log *lg, layout lay, kms_event *ev) {
  const uint8_t *p;
  size_t n;
  if (lg->ntopics != 1 || dynamic_arg(lg, &p, &n)) return -1;
  /* A string that is not UTF-8 (JSON could not carry it) is kept as hex. */
  json_t *probe = lay == L_STRING ? json_stringn((const char *)p, n) : NULL;
  if (probe && !memchr(p, 0, n)) {
    ev->text = strndup((const char *)p, n);
  } else {
    ev->text = hex_text(p, n);
  }
  json_decref(probe);
  return ev->text ? 0 : -2;
}

/* Decodes lg's arguments by d's layout. Returns 0, -1 malformed, -2 out of memory. */
static int decode_args(const desc *d, const eth_log *lg, kms_event *ev) {
  switch (d->lay) {
  case L_NONE:
    return lg->ntopics == 1 && lg->data_len == 0 ? 0 : -1;
  case L_WORD:
    if (lg->ntopics == 2 && lg->data_len == 0) memcpy(ev->word, lg->topics[1], 32);
    else if (lg->ntopics == 1 && lg->data_len == 32) memcpy(ev->word, lg->data, 32);
    else return -1;
    return 0;
  case L_BOOL:
    if (lg->ntopics != 1 || lg->data_len != 32 || !zero(lg->data, 31) || lg->data[31] > 1) return -1;
    ev->flag = lg->data[31];
    return 0;
  case L_U64:
    if (lg->ntopics != 1 || lg->data_len != 32 || !zero(lg->data, 24)) return -1;
    for (int i = 24; i < 32; i++) ev->number = ev->number << 8 | lg->data[i];
    return 0;
  case L_ADDR_DATA:
    if (lg->ntopics != 1 || lg->data_len != 32) return -1;
    return word_address(lg->data, ev->address);
  case L_ADDR_T1:
    if (lg->ntopics != 2 || lg->data_len != 0) return -1;
    return word_address(lg->topics[1], ev->address);
  case L_ADDR_T12:
    if (lg->ntopics != 3 || lg->data_len != 0) return -1;
    return word_address(lg->topics[1], ev->address2) || word_address(lg->topics[2], ev->address) ? -1 : 0;
  case L_T12_APP:
    if (lg->ntopics != 3 || lg->data_len != 0) return -1;
    return word_address(lg->topics[1], ev->address) || word_address(lg->topics[2], ev->address2) ? -1 : 0;
  case L_STRING:
  case L_BYTES:
    return decode_text(lg, d->lay, ev);
  case L_POLICY:
    if (lg->ntopics != 4 || lg->data_len != 32 || !zero(lg->data, 31) || lg->data[31] > 1) return -1;
    memcpy(ev->word, lg->topics[2], 32);
    memcpy(ev->word2, lg->topics[3], 32);
    ev->flag = lg->data[31];
    return word_address(lg->topics[1], ev->address);
  }
  return -1;
}

/* ---- collecting ---- */

typedef struct {
  kms_history *h;
  size_t cap;
  kms_contract contract;
  uint8_t topic0s[NDESCS][32];
  kms_err failure;
  char *err;
  size_t errcap;
} collector;

static int push(collector *c, const kms_event *ev) {
  if (c->h->n == c->cap) {
    if (c->cap >= KMS_MAX_EVENTS) {
      c->failure = KMS_ERR_TOO_MANY;
      xt_errf(c->err, c->errcap, "more than %d events", KMS_MAX_EVENTS);
      return -1;
    }
    size_t ncap = c->cap ? 2 * c->cap : 32;
    kms_event *p = realloc(c->h->events, ncap * sizeof *p);
    if (!p) {
      c->failure = KMS_ERR_NOMEM;
      xt_errf(c->err, c->errcap, "out of memory");
      return -1;
    }
    c->h->events = p;
    c->cap = ncap;
  }
  c->h->events[c->h->n++] = *ev;
  return 0;
}

static int on_log(void *ctx, const eth_log *lg) {
  collector *c = ctx;
  if (lg->removed) return 0;
  kms_event ev;
  memset(&ev, 0, sizeof ev);
  ev.kind = KMS_UNKNOWN;
  ev.contract = c->contract;
  ev.block_number = lg->block_number;
  ev.log_index = lg->log_index;
  memcpy(ev.tx_hash, lg->tx_hash, 32);
  int rc = 0;
  if (lg->ntopics == 0) {
    /* anonymous event: no signature to match */
    ev.text = hex_text(lg->data, lg->data_len);
    rc = ev.text ? 0 : -2;
  } else {
    memcpy(ev.topic0, lg->topics[0], 32);
    const desc *d = NULL;
    for (size_t i = 0; i < NDESCS && !d; i++)
      if (!memcmp(c->topic0s[i], lg->topics[0], 32)) d = &descs[i];
    if (d) {
      ev.kind = d->kind;
      rc = decode_args(d, lg, &ev);
    } else {
      ev.text = hex_text(lg->data, lg->data_len);
      rc = ev.text ? 0 : -2;
    }
    if (rc == -1) {
      c->failure = KMS_ERR_MALFORMED;
      xt_errf(c->err, c->errcap, "malformed %s log of the %s contract in block %llu (log index %llu)",
              d ? d->name : "?", kms_contract_name(c->contract),
              (unsigned long long)lg->block_number, (unsigned long long)lg->log_index);
    }
  }
  if (rc == -2) {
    c->failure = KMS_ERR_NOMEM;
    xt_errf(c->err, c->errcap, "out of memory");
  }
  if (rc == 0 && push(c, &ev) == 0) return 0;
  free(ev.text);
  return 1;
}

static int by_chain_order(const void *a, const void *b) {
  const kms_event *x = a, *y = b;
  if (x->block_number != y->block_number) return x->block_number < y->block_number ? -1 : 1;
  if (x->log_index != y->log_index) return x->log_index < y->log_index ? -1 : 1;
  return 0;
}

void kms_history_free(kms_history *h) {
  if (!h) return;
  for (size_t i = 0; i < h->n; i++) free(h->events[i].text);
  free(h->events);
  memset(h, 0, sizeof *h);
}

static kms_err scan_contract(eth_rpc *rpc, const kms_scan *s, const uint8_t addr[20],
                             kms_contract which, uint64_t head, collector *c) {
  uint64_t from = s->from_block;
  if (from == KMS_FROM_CREATION) {
    int unknown = 0;
    if (logscan_start_block(rpc, &s->range, addr, head, &from, &unknown, c->err, c->errcap) != LOGSCAN_OK)
      return KMS_ERR_RPC;
    if (unknown) c->h->creation_unknown = 1;
  }
  if (from > head) return KMS_OK;
  c->contract = which;
  uint64_t requests = 0;
  logscan_err le = logscan_logs(rpc, &s->range, addr, NULL, from, head, on_log, c, &requests,
                                c->err, c->errcap);
  c->h->requests += requests;
  if (which == KMS_CONTRACT_APP || from < c->h->from_block) c->h->from_block = from;
  if (le == LOGSCAN_ERR_STOPPED) return c->failure;
  return le == LOGSCAN_OK ? KMS_OK : KMS_ERR_RPC;
}

static kms_err block_times(eth_rpc *rpc, kms_history *h, char *err, size_t errcap) {
  uint64_t last_block = UINT64_MAX, last_time = 0;
  for (size_t i = 0; i < h->n; i++) {
    if (h->events[i].block_number != last_block) {
      eth_block b;
      int found = 0, rc = -1;
      for (int attempt = 0; attempt < 4 && rc != 0; attempt++) {
        if (attempt) nanosleep(&(struct timespec){0, 200000000L * attempt}, NULL);
        rc = eth_get_block_by_number(rpc, h->events[i].block_number, &b, &found);
      }
      if (rc != 0 || !found) {
        xt_errf(err, errcap, "block %llu: %s", (unsigned long long)h->events[i].block_number,
                rc ? eth_rpc_error(rpc) : "not found");
        return KMS_ERR_RPC;
      }
      last_block = b.number;
      last_time = b.timestamp;
    }
    h->events[i].block_time = last_time;
  }
  return KMS_OK;
}

kms_err kms_history_load(eth_rpc *rpc, const kms_scan *s, kms_history *out, char *err,
                         size_t errcap) {
  memset(out, 0, sizeof *out);
  if (!s || !s->app) {
    xt_errf(err, errcap, "no app contract given");
    return KMS_ERR_ARG;
  }
  uint64_t head = s->to_block;
  if (head == ETH_BLOCK_LATEST && eth_block_number(rpc, &head) != ETH_RPC_OK) {
    xt_errf(err, errcap, "eth_blockNumber: %s", eth_rpc_error(rpc));
    return KMS_ERR_RPC;
  }
  collector c;
  memset(&c, 0, sizeof c);
  c.h = out;
  c.err = err;
  c.errcap = errcap;
  for (size_t i = 0; i < NDESCS; i++) keccak256(descs[i].sig, strlen(descs[i].sig), c.topic0s[i]);
  out->to_block = head;
  out->from_block = UINT64_MAX;
  kms_err e = scan_contract(rpc, s, s->app, KMS_CONTRACT_APP, head, &c);
  if (e == KMS_OK && s->kms) e = scan_contract(rpc, s, s->kms, KMS_CONTRACT_KMS, head, &c);
  if (e == KMS_OK && out->n) qsort(out->events, out->n, sizeof *out->events, by_chain_order);
  if (e == KMS_OK) e = block_times(rpc, out, err, errcap);
  if (out->from_block == UINT64_MAX) out->from_block = head;
  if (e != KMS_OK) kms_history_free(out);
  return e;
}

int kms_history_allowed_at(const kms_history *h, const uint8_t compose_hash[32], uint64_t t) {
  int allowed = 0;
  for (size_t i = 0; i < h->n; i++) {
    const kms_event *ev = &h->events[i];
    if (ev->block_time > t) break;
    if (ev->contract != KMS_CONTRACT_APP || memcmp(ev->word, compose_hash, 32) != 0) continue;
    if (ev->kind == KMS_COMPOSE_HASH_ADDED) allowed = 1;
    if (ev->kind == KMS_COMPOSE_HASH_REMOVED) allowed = 0;
  }
  return allowed;
}

kms_err kms_read_flag(eth_rpc *rpc, const uint8_t contract[20], const char *getter, uint64_t block, int *value,
                      char *err, size_t errcap) {
  uint8_t sel[32];
  char to[43], data[11], tag[24];
  keccak256(getter, strlen(getter), sel);
  xt_hex_encode0x(contract, 20, to);
  xt_hex_encode0x(sel, 4, data);
  if (block == ETH_BLOCK_LATEST) snprintf(tag, sizeof tag, "latest");
  else snprintf(tag, sizeof tag, "0x%llx", (unsigned long long)block);
  json_t *res = NULL;
  *value = -1;
  int rc = eth_rpc_call(rpc, "eth_call", json_pack("[{s:s,s:s},s]", "to", to, "data", data, tag), &res);
  if (rc == ETH_RPC_ERR_NODE && strstr(eth_rpc_error(rpc), "revert")) return KMS_OK; /* no such getter */
  if (rc) {
    xt_errf(err, errcap, "eth_call %s at block %s: %s", getter, tag, eth_rpc_error(rpc));
    return KMS_ERR_RPC;
  }
  const char *h = json_string_value(res);
  uint8_t w[32];
  if (h && xt_hex_decode_exact(h, XT_HEX_0X, w, 32) == XT_OK && zero(w, 31) && w[31] <= 1) *value = w[31];
  json_decref(res);
  return KMS_OK;
}

/* ---- JSON ---- */

static json_t *jaddr(const uint8_t a[20]) {
  char s[43];
  xt_hex_encode0x(a, 20, s);
  return json_string(s);
}

static json_t *jword(const uint8_t w[32]) {
  char s[65];
  xt_hex_encode(w, 32, s);
  return json_string(s);
}

json_t *kms_event_args_json(const kms_event *e) {
  json_t *o = json_object();
  const desc *d = desc_of_kind(e->kind);
  if (!o) return NULL;
  if (!d) { /* unknown: its signature hash and raw data */
    json_object_set_new(o, "topic0", jword(e->topic0));
    json_object_set_new(o, "data", json_string(e->text ? e->text : "0x"));
    return o;
  }
  switch (d->lay) {
  case L_NONE: break;
  case L_WORD: json_object_set_new(o, d->arg1, jword(e->word)); break;
  case L_BOOL: json_object_set_new(o, d->arg1, json_boolean(e->flag)); break;
  case L_U64: json_object_set_new(o, d->arg1, json_integer((json_int_t)e->number)); break;
  case L_ADDR_DATA:
  case L_ADDR_T1: json_object_set_new(o, d->arg1, jaddr(e->address)); break;
  case L_ADDR_T12:
    json_object_set_new(o, d->arg1, jaddr(e->address2));
    json_object_set_new(o, d->arg2, jaddr(e->address));
    break;
  case L_T12_APP:
    json_object_set_new(o, d->arg1, jaddr(e->address));
    json_object_set_new(o, d->arg2, jaddr(e->address2));
    break;
  case L_STRING:
  case L_BYTES: json_object_set_new(o, d->arg1, json_string(e->text ? e->text : "")); break;
  case L_POLICY:
    json_object_set_new(o, "actor", jaddr(e->address));
    json_object_set_new(o, "policy", jword(e->word));
    json_object_set_new(o, "value", jword(e->word2));
    json_object_set_new(o, "enabled", json_boolean(e->flag));
    break;
  }
  return o;
}
