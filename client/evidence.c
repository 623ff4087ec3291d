/* evidence.c: the audit's evidence about who wrote and anchored a log (evidence.h). */
#include "client/evidence.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anchor/keccak.h"
#include "base/err.h"
#include "base/hex.h"
#include "base/num.h"
#include "client/common.h"

const char *evidence_err_str(evidence_err e) {
  switch (e) {
  case EVIDENCE_OK: return "ok";
  case EVIDENCE_ERR_POLICY: return "policy";
  case EVIDENCE_ERR_RPC: return "chain unreadable";
  case EVIDENCE_ERR_MISMATCH: return "mismatch";
  case EVIDENCE_ERR_MALFORMED: return "malformed";
  case EVIDENCE_ERR_NOMEM: return "out of memory";
  case EVIDENCE_ERR_TOO_MANY: return "too many events";
  }
  return "?";
}

/* ---- policy ---- */

/* A non-negative JSON integer, or a decimal string (block numbers exceed 2^53 in no
 * chain, but a string keeps a policy writer's exact digits). */
static int json_u64(json_t *x, uint64_t *out) {
  if (json_is_integer(x) && json_integer_value(x) >= 0) {
    *out = (uint64_t)json_integer_value(x);
    return 0;
  }
  if (json_is_string(x) && xt_parse_u64(json_string_value(x), XT_NUM_CANONICAL, 0, UINT64_MAX, out) == XT_OK)
    return 0;
  return -1;
}

static evidence_err policy_anchor(json_t *an, evidence_policy *p, char *err, size_t errcap) {
  if (!json_is_object(an) ||
      xt_hex_decode_exact(json_string_value(json_object_get(an, "address")), XT_HEX_0X, p->anchor_address, 20) !=
          XT_OK) {
    xt_errf(err, errcap, "policy: contracts.anchor needs \"address\": 0x + 40 hex digits");
    return EVIDENCE_ERR_POLICY;
  }
  p->has_anchor = true;
  json_t *bh = json_object_get(an, "bytecode_hash"), *db = json_object_get(an, "deployment_block");
  if (bh) {
    if (xt_hex_decode_exact(json_string_value(bh), XT_HEX_0X, p->bytecode_hash, 32) != XT_OK) {
      xt_errf(err, errcap, "policy: contracts.anchor.bytecode_hash must be 0x + 64 hex digits (keccak-256)");
      return EVIDENCE_ERR_POLICY;
    }
    p->has_bytecode_hash = true;
  }
  if (db) {
    if (json_u64(db, &p->deployment_block)) {
      xt_errf(err, errcap, "policy: contracts.anchor.deployment_block must be a block number");
      return EVIDENCE_ERR_POLICY;
    }
    p->has_deployment_block = true;
  }
  return EVIDENCE_OK;
}

static evidence_err policy_seconds(json_t *j, const char *key, bool *has, uint64_t *v, char *err, size_t errcap) {
  json_t *x = json_object_get(j, key);
  if (!x) return EVIDENCE_OK;
  if (json_u64(x, v) || *v == 0) {
    xt_errf(err, errcap, "policy: %s must be a positive number of seconds", key);
    return EVIDENCE_ERR_POLICY;
  }
  *has = true;
  return EVIDENCE_OK;
}

evidence_err evidence_policy_load(const char *file, evidence_policy *p, char *err, size_t errcap) {
  memset(p, 0, sizeof *p);
  if (!file) return EVIDENCE_OK;
  json_error_t je;
  json_t *j = json_load_file(file, JSON_REJECT_DUPLICATES, &je);
  if (!j) {
    xt_errf(err, errcap, "policy %.200s: %.200s (line %d)", file, je.text, je.line);
    return EVIDENCE_ERR_POLICY;
  }
  evidence_err rc = EVIDENCE_OK;
  json_t *an = json_object_get(json_object_get(j, "contracts"), "anchor");
  if (an) rc = policy_anchor(an, p, err, errcap);
  if (!rc) rc = policy_seconds(j, "max_anchor_gap", &p->has_max_anchor_gap, &p->max_anchor_gap, err, errcap);
  if (!rc) rc = policy_seconds(j, "ts_ms_tolerance_s", &p->has_ts_tolerance, &p->ts_ms_tolerance_s, err, errcap);
  json_decref(j);
  return rc;
}

/* ---- quoted notes ---- */

evidence_err evidence_check_quoted_note(const note_verifier *v, const char *origin, uint64_t size,
                                        const uint8_t root[32], const uint8_t checkpoint_hash[32],
                                        const uint8_t *att, size_t att_len, evidence_quoted_note *q,
                                        char *err, size_t errcap) {
  memset(q, 0, sizeof *q);
  json_error_t je;
  json_t *j = json_loadb((const char *)att, att_len, JSON_REJECT_DUPLICATES, &je);
  json_t *note = json_object_get(j, "checkpoint");
  if (!json_is_string(note)) {
    xt_errf(err, errcap, "the attestation carries no checkpoint note");
    json_decref(j);
    return EVIDENCE_ERR_MALFORMED;
  }
  json_t *bi = json_object_get(j, "boot_index");
  if (bi && !json_u64(bi, &q->boot_index)) q->has_boot_index = true;
  const char *text = json_string_value(note);
  size_t len = json_string_length(note);
  uint8_t h[32];
  tlog_sha256(text, len, h);
  tlog_checkpoint cp = {0};
  char verr[300];
  evidence_err rc = EVIDENCE_ERR_MISMATCH;
  if (tlog_checkpoint_from_text(v, text, len, &cp, verr, sizeof verr) != TLOG_OK)
    xt_errf(err, errcap, "the quoted note does not verify with --key: %s", verr);
  else if (strcmp(cp.c.origin, origin))
    xt_errf(err, errcap, "the quoted note's origin %.200s is not the log's %.200s", cp.c.origin, origin);
  else if (cp.c.size != size)
    xt_errf(err, errcap, "the quoted note is of size %llu, the anchor of size %llu", (unsigned long long)cp.c.size,
            (unsigned long long)size);
  else if (memcmp(cp.c.root, root, 32))
    xt_errf(err, errcap, "the quoted note's root is not the anchored root");
  else if (memcmp(h, checkpoint_hash, 32))
    xt_errf(err, errcap, "SHA-256 of the quoted note is not the on-chain checkpointHash");
  else
    rc = EVIDENCE_OK;
  tlog_checkpoint_clear(&cp);
  json_decref(j);
  return rc;
}

bool evidence_same_key(const note_verifier *v, const char *key) {
  note_verifier k;
  char perr[200];
  if (!key || note_verifier_parse(&k, key, strlen(key), perr, sizeof perr) != MERKLE_OK) return false;
  return !strcmp(k.name, v->name) && !memcmp(k.key_hash, v->key_hash, 4) &&
         !memcmp(k.public_key, v->public_key, 32);
}

/* ---- anchorers ---- */

typedef struct scan_ctx {
  evidence_anchorers *out;
  const uint8_t *log_id;
  uint8_t reg[32], rot[32];
  evidence_err rc;
  char *err;
  size_t errcap;
} scan_ctx;

/* An ABI address word: 12 zero bytes, then the address. */
static int abi_address(const uint8_t *w, uint8_t out[20]) {
  for (int i = 0; i < 12; i++)
    if (w[i]) return -1;
  memcpy(out, w + 12, 20);
  return 0;
}

static int on_anchorer_log(void *ctx, const eth_log *l) {
  scan_ctx *s = ctx;
  if (l->removed || l->ntopics < 2 || memcmp(l->topics[1], s->log_id, 32)) return 0;
  bool reg = !memcmp(l->topics[0], s->reg, 32), rot = !memcmp(l->topics[0], s->rot, 32);
  if (!reg && !rot) return 0;
  evidence_anchorer a = {0};
  size_t off = rot ? 32 : 0; /* Rotated(logId, oldAnchorer, newAnchorer): the new one */
  if (l->data_len != off + 32 || abi_address(l->data + off, a.address)) {
    xt_errf(s->err, s->errcap, "a %s event in block %llu does not decode", reg ? "Registered" : "Rotated",
            (unsigned long long)l->block_number);
    s->rc = EVIDENCE_ERR_MALFORMED;
    return 1;
  }
  if (s->out->n == EVIDENCE_MAX_ANCHORERS) {
    xt_errf(s->err, s->errcap, "more than %d anchorer events", EVIDENCE_MAX_ANCHORERS);
    s->rc = EVIDENCE_ERR_TOO_MANY;
    return 1;
  }
  evidence_anchorer *n = realloc(s->out->a, (s->out->n + 1) * sizeof *n);
  if (!n) {
    xt_errf(s->err, s->errcap, "out of memory");
    s->rc = EVIDENCE_ERR_NOMEM;
    return 1;
  }
  s->out->a = n;
  a.rotated = rot;
  a.block = l->block_number;
  memcpy(a.tx, l->tx_hash, 32);
  n[s->out->n++] = a;
  return 0;
}

evidence_err evidence_anchorers_load(eth_rpc *r, const logscan_opts *o, const uint8_t contract[20],
                                     const uint8_t log_id[32], uint64_t from, evidence_anchorers *out,
                                     char *err, size_t errcap) {
  memset(out, 0, sizeof *out);
  uint64_t head;
  if (eth_block_number(r, &head) != ETH_RPC_OK) {
    xt_errf(err, errcap, "eth_blockNumber: %s", eth_rpc_error(r));
    return EVIDENCE_ERR_RPC;
  }
  char lerr[400];
  int unknown = 0; /* a node without old state: read from block 0 (complete) */
  if (from == UINT64_MAX && logscan_start_block(r, o, contract, head, &from, &unknown, lerr, sizeof lerr) != LOGSCAN_OK) {
    xt_errf(err, errcap, "the anchor contract's creation block: %s", lerr);
    return EVIDENCE_ERR_RPC;
  }
  if (from > head) from = head;
  scan_ctx s = {out, log_id, {0}, {0}, EVIDENCE_OK, err, errcap};
  static const char reg[] = "Registered(bytes32,address)", rot[] = "Rotated(bytes32,address,address)";
  keccak256(reg, sizeof reg - 1, s.reg);
  keccak256(rot, sizeof rot - 1, s.rot);
  out->from = from;
  out->to = head;
  logscan_err lr = logscan_logs(r, o, contract, NULL, from, head, on_anchorer_log, &s, NULL, lerr, sizeof lerr);
  if (lr == LOGSCAN_OK) return EVIDENCE_OK;
  if (lr != LOGSCAN_ERR_STOPPED) {
    xt_errf(err, errcap, "the anchor contract's events: %s", lerr);
    s.rc = EVIDENCE_ERR_RPC;
  }
  evidence_anchorers_free(out);
  return s.rc;
}

void evidence_anchorers_free(evidence_anchorers *l) {
  free(l->a);
  memset(l, 0, sizeof *l);
}

/* ---- runtime code ---- */

evidence_err evidence_code_hash(eth_rpc *r, const uint8_t contract[20], uint8_t hash[32], char *err,
                                size_t errcap) {
  char addr[43];
  xt_hex_encode0x(contract, 20, addr);
  json_t *res = NULL;
  if (eth_rpc_call(r, "eth_getCode", json_pack("[s,s]", addr, "latest"), &res) != ETH_RPC_OK) {
    xt_errf(err, errcap, "eth_getCode: %s", eth_rpc_error(r));
    return EVIDENCE_ERR_RPC;
  }
  uint8_t *code = NULL;
  size_t n = 0;
  evidence_err rc = EVIDENCE_OK;
  if (!json_is_string(res) || xt_hex_decode_alloc(json_string_value(res), XT_HEX_0X, &code, &n) != XT_OK) {
    xt_errf(err, errcap, "eth_getCode: not hex");
    rc = EVIDENCE_ERR_RPC;
  } else if (n == 0) {
    xt_errf(err, errcap, "no code at %s", addr);
    rc = EVIDENCE_ERR_MISMATCH;
  } else {
    keccak256(code, n, hash);
  }
  free(code);
  json_decref(res);
  return rc;
}

/* ---- ts_ms ---- */

int evidence_entry_ts_ms(const uint8_t *data, size_t len, uint64_t *ts_ms) {
  static const char end[] = ",\"v\":1}", key[] = ",\"ts_ms\":";
  size_t el = sizeof end - 1, kl = sizeof key - 1;
  if (len < el + kl + 1 || memcmp(data + len - el, end, el)) return -1;
  size_t e = len - el, b = e;
  while (b > 0 && data[b - 1] >= '0' && data[b - 1] <= '9' && e - b < 20) b--;
  if (b == e || b < kl || memcmp(data + b - kl, key, kl)) return -1;
  return xt_parse_u64n((const char *)data + b, e - b, XT_NUM_CANONICAL, 0, UINT64_MAX, ts_ms) == XT_OK ? 0 : -1;
}
