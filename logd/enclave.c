#include "logd/enclave.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/file.h"
#include "base/hex.h"
#include "base/num.h"
#include "anchor/tx.h"
#include "dstack/attest.h"
#include "dstack/guest.h"
#include "dstack/quote.h"
#include "logd/event.h"

struct logd_enclave {
  dstack_client *dc; /* NULL in --dev mode */
  char compose_hash[129];
  char instance_id[129];
  char dir[PATH_MAX]; /* DATA/attestations */
  char *boot_json;    /* GET /v1/attestation, set once before serving */
  size_t boot_json_len;
  int64_t boot_index; /* this run's boot entry, named in each checkpoint attestation (-1: none yet) */
  void (*quote_hook)(void *ctx, const uint8_t *quote, size_t len);
  void *quote_ctx;
};

void enclave_set_quote_hook(logd_enclave *e, void (*fn)(void *ctx, const uint8_t *quote, size_t len),
                            void *ctx) {
  e->quote_hook = fn;
  e->quote_ctx = ctx;
}

static char *hex_alloc(const uint8_t *in, size_t n) {
  char *s = malloc(2 * n + 1);
  if (s) xt_hex_encode(in, n, s);
  return s;
}

const char *enclave_err_str(enclave_err e) {
  switch (e) {
  case ENCLAVE_OK: return "ok";
  case ENCLAVE_EAGENT: return "dstack guest agent failed";
  case ENCLAVE_EINVAL: return "invalid argument";
  case ENCLAVE_ENOMEM: return "out of memory";
  case ENCLAVE_ELOG: return "boot entry not logged";
  case ENCLAVE_ERAND: return "no randomness";
  }
  return "unknown enclave error";
}

logd_enclave *enclave_open(const char *socket_path, const char *data_dir, char *err, size_t errcap) {
  logd_enclave *e = calloc(1, sizeof *e);
  if (!e) {
    xt_errf(err, errcap, "out of memory");
    return NULL;
  }
  e->boot_index = -1;
  if ((size_t)snprintf(e->dir, sizeof e->dir, "%s/attestations", data_dir) >= sizeof e->dir) {
    xt_errf(err, errcap, "data directory path too long");
    free(e);
    return NULL;
  }
  if (!socket_path) {
    /* Like the collector's dev mode: no measured compose, a fresh instance id. */
    uint8_t rid[16];
    if (RAND_bytes(rid, sizeof rid) != 1) {
      xt_errf(err, errcap, "no randomness");
      free(e);
      return NULL;
    }
    snprintf(e->compose_hash, sizeof e->compose_hash, "dev");
    xt_hex_encode(rid, sizeof rid, e->instance_id);
    return e;
  }
  char derr[300];
  e->dc = dstack_client_new(socket_path, derr, sizeof derr);
  dstack_info info;
  memset(&info, 0, sizeof info);
  if (!e->dc || dstack_get_info(e->dc, &info, derr, sizeof derr)) {
    xt_errf(err, errcap, "dstack guest agent at %s: %s", socket_path, derr);
    enclave_free(e);
    return NULL;
  }
  snprintf(e->compose_hash, sizeof e->compose_hash, "%s", info.compose_hash);
  snprintf(e->instance_id, sizeof e->instance_id, "%s", info.instance_id);
  dstack_info_free(&info);
  return e;
}

void enclave_free(logd_enclave *e) {
  if (!e) return;
  dstack_client_free(e->dc);
  free(e->boot_json);
  free(e);
}

int enclave_has_quotes(const logd_enclave *e) { return e && e->dc; }

static enclave_err get_key(logd_enclave *e, const char *path, const char *purpose, const char *alg,
                   uint8_t out[32], char *err, size_t errcap) {
  if (!e->dc) {
    xt_errf(err, errcap, "GetKey needs --dstack-socket");
    return ENCLAVE_EAGENT;
  }
  dstack_key k;
  memset(&k, 0, sizeof k);
  char derr[300];
  int rc = dstack_get_key(e->dc, path, purpose, alg, &k, derr, sizeof derr);
  if (rc == 0 && k.key_len != 32) {
    snprintf(derr, sizeof derr, "%zu-byte key, not 32", k.key_len);
    rc = -1;
  }
  if (rc == 0) memcpy(out, k.key, 32);
  else xt_errf(err, errcap, "GetKey %s (%s): %s", path, alg, derr);
  OPENSSL_cleanse(&k, sizeof k);
  return rc == 0 ? ENCLAVE_OK : ENCLAVE_EAGENT;
}

enclave_err enclave_checkpoint_seed(logd_enclave *e, uint8_t seed[32], char *err, size_t errcap) {
  return get_key(e, ENCLAVE_PATH_CHECKPOINT, "checkpoint-signing", "ed25519", seed, err, errcap);
}

enclave_err enclave_anchor_key(logd_enclave *e, uint8_t key[32], char *err, size_t errcap) {
  uint8_t addr[20];
  enclave_err rc = get_key(e, ENCLAVE_PATH_ANCHOR, "anchor-signing", "secp256k1", key, err, errcap);
  if (rc != ENCLAVE_OK) return rc;
  if (eth_address_from_key(key, addr)) {
    xt_errf(err, errcap, "GetKey %s returned an invalid secp256k1 key", ENCLAVE_PATH_ANCHOR);
    return ENCLAVE_EAGENT;
  }
  return ENCLAVE_OK;
}

enclave_err enclave_token_hash(logd_enclave *e, const char *token, uint8_t out[32], char *err, size_t errcap) {
  if (!strncmp(token, "sha256:", 7)) {
    if (xt_hex_decode_exact(token + 7, 0, out, 32) != XT_OK) {
      xt_errf(err, errcap, "sha256: takes 64 hex digits");
      return ENCLAVE_EINVAL;
    }
    return ENCLAVE_OK;
  }
  if (!strncmp(token, "getkey:", 7)) {
    if (!token[7]) {
      xt_errf(err, errcap, "getkey: needs a path");
      return ENCLAVE_EINVAL;
    }
    if (!e || !e->dc) {
      xt_errf(err, errcap, "getkey: tokens need --dstack-socket");
      return ENCLAVE_EINVAL;
    }
    /* The collector's side of this contract: its token is the lowercase hex of the
     * same GetKey (collector/main.c). */
    uint8_t k[32];
    char h[65];
    enclave_err rc = get_key(e, token + 7, ENCLAVE_TOKEN_PURPOSE, "secp256k1", k, err, errcap);
    if (rc != ENCLAVE_OK) return rc;
    xt_hex_encode(k, 32, h);
    EVP_Digest(h, 64, out, NULL, EVP_sha256(), NULL);
    OPENSSL_cleanse(k, sizeof k);
    OPENSSL_cleanse(h, sizeof h);
    return ENCLAVE_OK;
  }
  if (strlen(token) < 16) {
    xt_errf(err, errcap, "tokens are at least 16 characters");
    return ENCLAVE_EINVAL;
  }
  EVP_Digest(token, strlen(token), out, NULL, EVP_sha256(), NULL);
  return ENCLAVE_OK;
}

/* Keeps a quote file in DATA/attestations, which is created on the first write, not
 * at open: a start that is refused later must leave the data directory as it found it.
 * 0, or -1 after logging why. */
static int keep_file(const logd_enclave *e, const char *path, const char *data, size_t len) {
  char err[300];
  if (mkdir(e->dir, 0700) && errno != EEXIST) {
    xt_log("logd", "attestation: cannot create %s: %s", e->dir, strerror(errno));
    return -1;
  }
  if (xt_file_write_atomic(path, data, len, 0644, err, sizeof err) == XT_OK) return 0;
  xt_log("logd", "attestation: %s", err);
  return -1;
}

/* ---------- the boot entry ---------- */

typedef struct boot_wait {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int done;
} boot_wait;

static void boot_done(seq_sub *s, void *ctx) {
  (void)s;
  boot_wait *w = ctx;
  pthread_mutex_lock(&w->mu);
  w->done = 1;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
}

/* Keeps this run's boot quote for GET /v1/attestation and DATA/attestations/boot-<I>.json.
 * Returns index, or -1 when out of memory (message in err). */
static int64_t keep_boot_quote(logd_enclave *e, int64_t index, const dstack_quote_reply *q,
                               const uint8_t rd[64], const char *verifier_key,
                               const char *anchor_address, char *err, size_t errcap) {
  char *qh = hex_alloc(q->quote, q->quote_len), *rdh = hex_alloc(rd, 64);
  json_t *j = json_pack("{s:s,s:I,s:s,s:s,s:s,s:s,s:s,s:s*,s:s,s:s,s:s}", "kind", "boot", "boot_index",
                        (json_int_t)index, "component", "logd", "quote", qh ? qh : "", "event_log",
                        q->event_log ? q->event_log : "[]", "report_data", rdh ? rdh : "",
                        "checkpoint_key", verifier_key, "anchor_address", anchor_address,
                        "compose_hash", e->compose_hash, "instance_id", e->instance_id,
                        "vm_config", q->vm_config ? q->vm_config : "");
  free(qh);
  free(rdh);
  e->boot_json = j ? json_dumps(j, JSON_COMPACT) : NULL;
  json_decref(j);
  if (!e->boot_json) {
    xt_errf(err, errcap, "out of memory");
    return -1;
  }
  e->boot_json_len = strlen(e->boot_json);
  /* Kept for audits of earlier runs' boot entries (?boot=INDEX). */
  char path[PATH_MAX + 64];
  snprintf(path, sizeof path, "%s/boot-%" PRId64 ".json", e->dir, index);
  if (keep_file(e, path, e->boot_json, e->boot_json_len))
    xt_log("logd", "attestation: cannot keep the boot quote in %s", path);
  return index;
}

enclave_err enclave_log_boot(logd_enclave *e, logd_seq *seq, const note_verifier *checkpoint_key,
                             const char *verifier_key, const char *anchor_address,
                             int64_t *boot_index, char *err, size_t errcap) {
  uint8_t keys[52];
  size_t nkeys = 32;
  memcpy(keys, checkpoint_key->public_key, 32);
  if (anchor_address) {
    if (eth_address_parse(anchor_address, keys + 32)) {
      xt_errf(err, errcap, "bad anchor address");
      return ENCLAVE_EINVAL;
    }
    nkeys = 52;
  }
  uint8_t rd[64], qsha[32], bid[16];
  char quote_sha[65] = "", boot_id[33];
  dstack_quote_reply q;
  memset(&q, 0, sizeof q);
  dstack_boot_report_data("logd", keys, nkeys, rd);
  if (e->dc) {
    char derr[300];
    if (dstack_get_quote(e->dc, rd, sizeof rd, &q, derr, sizeof derr)) {
      xt_errf(err, errcap, "GetQuote for the boot entry: %s", derr);
      return ENCLAVE_EAGENT;
    }
    EVP_Digest(q.quote, q.quote_len, qsha, NULL, EVP_sha256(), NULL);
    xt_hex_encode(qsha, 32, quote_sha);
    if (e->quote_hook) e->quote_hook(e->quote_ctx, q.quote, q.quote_len);
  }
  /* Every boot is its own entry: without it a restart would be folded into the first. */
  if (RAND_bytes(bid, sizeof bid) != 1) {
    xt_errf(err, errcap, "no randomness");
    dstack_quote_reply_free(&q);
    return ENCLAVE_ERAND;
  }
  xt_hex_encode(bid, sizeof bid, boot_id);
  json_t *ev = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "type", "boot", "component", "logd",
                         "version", XT_VERSION, "compose_hash", e->compose_hash, "instance_id",
                         e->instance_id, "quote_sha256", quote_sha, "checkpoint_key", verifier_key,
                         "anchor_address", anchor_address ? anchor_address : "", "boot_id", boot_id);
  char *text = ev ? json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  json_decref(ev);
  event_list events;
  memset(&events, 0, sizeof events);
  event_err ee = text ? event_parse_one(text, strlen(text), &events, err, errcap) : EVENT_ENOMEM;
  if (ee != EVENT_OK) {
    if (!text) xt_errf(err, errcap, "out of memory");
    free(text);
    dstack_quote_reply_free(&q);
    return ee == EVENT_ENOMEM ? ENCLAVE_ENOMEM : ENCLAVE_EINVAL;
  }
  free(text);
  seq_sub *sub = seq_sub_new("logd", &events);
  if (!sub) {
    xt_errf(err, errcap, "out of memory");
    dstack_quote_reply_free(&q);
    return ENCLAVE_ENOMEM;
  }
  boot_wait w = {.done = 0};
  pthread_mutex_init(&w.mu, NULL);
  pthread_cond_init(&w.cv, NULL);
  sub->done = boot_done;
  sub->done_ctx = &w;
  int64_t index = -1;
  if (seq_submit(seq, sub)) {
    xt_errf(err, errcap, "the sequencer refused the boot entry");
    seq_sub_free(sub);
  } else {
    pthread_mutex_lock(&w.mu);
    while (!w.done) pthread_cond_wait(&w.cv, &w.mu);
    pthread_mutex_unlock(&w.mu);
    if (sub->status) xt_errf(err, errcap, "boot entry: %s", sub->error);
    else index = (int64_t)sub->index[0];
    seq_sub_free(sub);
  }
  pthread_mutex_destroy(&w.mu);
  pthread_cond_destroy(&w.cv);
  enclave_err rc = index < 0 ? ENCLAVE_ELOG : ENCLAVE_OK;
  if (rc == ENCLAVE_OK && e->dc && keep_boot_quote(e, index, &q, rd, verifier_key, anchor_address,
                                                   err, errcap) < 0)
    rc = ENCLAVE_ENOMEM;
  dstack_quote_reply_free(&q);
  if (rc == ENCLAVE_OK) *boot_index = e->boot_index = index;
  return rc;
}

/* ---------- checkpoint quotes ---------- */


int enclave_checkpoint_quote(void *ctx, uint64_t size, const char *note, size_t note_len) {
  logd_enclave *e = ctx;
  if (!e->dc) return 0;
  uint8_t rd[64];
  dstack_checkpoint_report_data((const uint8_t *)note, note_len, rd);
  dstack_quote_reply q;
  char derr[300];
  if (dstack_get_quote(e->dc, rd, sizeof rd, &q, derr, sizeof derr)) {
    xt_log("logd", "attestation: no quote for anchored checkpoint %" PRIu64 " (retried next round): %s",
             size, derr);
    return -1;
  }
  if (e->quote_hook) e->quote_hook(e->quote_ctx, q.quote, q.quote_len);
  char *qh = hex_alloc(q.quote, q.quote_len), *rdh = hex_alloc(rd, 64);
  json_t *j = (qh && rdh) ? json_pack("{s:s,s:I,s:s%,s:s,s:s,s:s,s:s}", "kind", "checkpoint", "size",
                                      (json_int_t)size, "checkpoint", note, note_len, "quote", qh,
                                      "event_log", q.event_log ? q.event_log : "[]", "report_data", rdh,
                                      "vm_config", q.vm_config ? q.vm_config : "")
                          : NULL;
  /* The boot that signed and quoted this note: the audit credits the entries this
   * anchor covers to it, not to whichever boot entry came last. */
  if (j && e->boot_index >= 0 && json_object_set_new(j, "boot_index", json_integer((json_int_t)e->boot_index))) {
    json_decref(j);
    j = NULL;
  }
  free(qh);
  free(rdh);
  dstack_quote_reply_free(&q);
  char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
  json_decref(j);
  char path[PATH_MAX + 64];
  snprintf(path, sizeof path, "%s/checkpoint-%" PRIu64 ".json", e->dir, size);
  int rc = text ? keep_file(e, path, text, strlen(text)) : -1;
  free(text);
  if (rc) xt_log("logd", "attestation: cannot keep the quote of checkpoint %" PRIu64 " in %s", size, path);
  else xt_log("logd", "attestation: quote for anchored checkpoint %" PRIu64 " kept", size);
  return rc;
}

/* ---------- other components' boot evidence (POST /v1/boot) ---------- */

struct boot_evidence {
  json_t *event; /* the boot event as sent */
  char *quote_hex, *event_log, *vm_config;
  uint8_t report_data[64];
};

void enclave_boot_evidence_free(boot_evidence *b) {
  if (!b) return;
  json_decref(b->event);
  free(b->quote_hex);
  free(b->event_log);
  free(b->vm_config);
  free(b);
}

/* The quote (hex) decoded and parsed: its REPORTDATA into rd, its SHA-256 (hex) into
 * sha. 0, or -1 with err. */
static int evidence_quote(const char *hex, size_t hexlen, uint8_t rd[64], char sha[65], char *err,
                          size_t errcap) {
  if (!hexlen || hexlen % 2) {
    xt_errf(err, errcap, "quote must be non-empty hex");
    return -1;
  }
  uint8_t *raw = malloc(hexlen / 2), d[32];
  if (!raw) {
    xt_errf(err, errcap, "out of memory");
    return -1;
  }
  int rc = -1;
  tdx_quote q;
  char qerr[200];
  if (xt_hex_decode_exact(hex, 0, raw, hexlen / 2) != XT_OK)
    xt_errf(err, errcap, "quote must be non-empty hex");
  else if (tdx_quote_parse(&q, raw, hexlen / 2, qerr, sizeof qerr))
    xt_errf(err, errcap, "quote is not a TDX quote: %s", qerr);
  else {
    memcpy(rd, q.report_data, 64);
    EVP_Digest(raw, hexlen / 2, d, NULL, EVP_sha256(), NULL);
    xt_hex_encode(d, 32, sha);
    rc = 0;
  }
  free(raw);
  return rc;
}

/* The members of the body, checked for shape; EVENT_OK-like 0 or -1 with err. */
static int evidence_members(json_t *root, json_t **event, const char **quote, size_t *qlen,
                            const char **event_log, const char **vm_config, char *err, size_t errcap) {
  if (!json_is_object(root)) {
    xt_errf(err, errcap, "the body must be a JSON object {\"event\",\"quote\",\"event_log\",\"vm_config\"}");
    return -1;
  }
  const char *k;
  json_t *v;
  json_object_foreach(root, k, v) {
    if (strcmp(k, "event") && strcmp(k, "quote") && strcmp(k, "event_log") && strcmp(k, "vm_config")) {
      xt_errf(err, errcap, "unknown member '%s' (takes event, quote, event_log, vm_config)", k);
      return -1;
    }
  }
  *event = json_object_get(root, "event");
  json_t *q = json_object_get(root, "quote"), *el = json_object_get(root, "event_log"),
         *vc = json_object_get(root, "vm_config");
  if (!json_is_object(*event) || !json_is_string(q) || !json_is_string(el) || (vc && !json_is_string(vc))) {
    xt_errf(err, errcap, "event must be an object; quote, event_log and vm_config strings");
    return -1;
  }
  *quote = json_string_value(q);
  *qlen = json_string_length(q);
  *event_log = json_string_value(el);
  *vm_config = vc ? json_string_value(vc) : "";
  const char *type = json_string_value(json_object_get(*event, "type"));
  const char *comp = json_string_value(json_object_get(*event, "component"));
  if (!type || strcmp(type, "boot") || !comp || !*comp) {
    xt_errf(err, errcap, "the event must be a boot event (type \"boot\") naming its component");
    return -1;
  }
  return 0;
}

enclave_err enclave_boot_evidence_parse(const char *body, size_t len, char **event_text,
                                        boot_evidence **out, char *err, size_t errcap) {
  *event_text = NULL;
  *out = NULL;
  json_error_t je;
  json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
  if (!root) {
    xt_errf(err, errcap, "malformed JSON at line %d column %d", je.line, je.column);
    return ENCLAVE_EINVAL;
  }
  json_t *event = NULL;
  const char *quote = NULL, *event_log = NULL, *vm_config = NULL;
  size_t qlen = 0;
  uint8_t rd[64];
  char sha[65];
  enclave_err rc = ENCLAVE_EINVAL;
  if (evidence_members(root, &event, &quote, &qlen, &event_log, &vm_config, err, errcap) ||
      evidence_quote(quote, qlen, rd, sha, err, errcap))
    goto done;
  const char *named = json_string_value(json_object_get(event, "quote_sha256"));
  if (!named || strcmp(named, sha)) {
    xt_errf(err, errcap, "the event's quote_sha256 is not the SHA-256 of the quote (%s)", sha);
    goto done;
  }
  rc = ENCLAVE_ENOMEM;
  boot_evidence *b = calloc(1, sizeof *b);
  if (!b) goto done;
  b->event = json_incref(event);
  b->quote_hex = strdup(quote);
  b->event_log = strdup(event_log);
  b->vm_config = strdup(vm_config);
  memcpy(b->report_data, rd, 64);
  *event_text = json_dumps(event, JSON_COMPACT | JSON_SORT_KEYS);
  if (!b->quote_hex || !b->event_log || !b->vm_config || !*event_text) {
    enclave_boot_evidence_free(b);
    free(*event_text);
    *event_text = NULL;
    goto done;
  }
  *out = b;
  rc = ENCLAVE_OK;
done:
  if (rc == ENCLAVE_ENOMEM) xt_errf(err, errcap, "out of memory");
  json_decref(root);
  return rc;
}

static const char *ev_str(const boot_evidence *b, const char *key) {
  const char *s = json_string_value(json_object_get(b->event, key));
  return s ? s : "";
}

enclave_err enclave_boot_evidence_keep(logd_enclave *e, const boot_evidence *b, uint64_t index,
                                       const char *submitter, char *err, size_t errcap) {
  char rdh[129];
  xt_hex_encode(b->report_data, 64, rdh);
  json_t *j = json_pack("{s:s,s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "kind", "boot", "boot_index",
                        (json_int_t)index, "component", ev_str(b, "component"), "submitter", submitter,
                        "quote", b->quote_hex, "event_log", b->event_log, "vm_config", b->vm_config,
                        "report_data", rdh, "compose_hash", ev_str(b, "compose_hash"), "instance_id",
                        ev_str(b, "instance_id"), "signing_key", ev_str(b, "signing_key"));
  char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
  json_decref(j);
  if (!text) {
    xt_errf(err, errcap, "out of memory");
    return ENCLAVE_ENOMEM;
  }
  char path[PATH_MAX + 64];
  snprintf(path, sizeof path, "%s/boot-%" PRIu64 ".json", e->dir, index);
  int rc = keep_file(e, path, text, strlen(text));
  free(text);
  if (rc) {
    xt_errf(err, errcap, "cannot keep the boot quote of entry %" PRIu64, index);
    return ENCLAVE_ELOG;
  }
  xt_log("logd", "attestation: boot quote of %s (entry %" PRIu64 ") kept", submitter, index);
  return ENCLAVE_OK;
}

/* --dev: whether ?boot=num names kept submitter evidence (a malformed number: no). */
static int evidence_exists(const logd_enclave *e, const char *num) {
  uint64_t v;
  if (xt_parse_u64(num, XT_NUM_CANONICAL, 0, UINT64_MAX, &v) != XT_OK) return 0;
  char path[PATH_MAX + 64];
  snprintf(path, sizeof path, "%s/boot-%" PRIu64 ".json", e->dir, v);
  return access(path, F_OK) == 0;
}

static unsigned error_body(unsigned status, const char *msg, char **body, size_t *len) {
  json_t *j = json_pack("{s:s}", "error", msg);
  *body = j ? json_dumps(j, JSON_COMPACT) : NULL;
  json_decref(j);
  *len = *body ? strlen(*body) : 0;
  return status;
}

unsigned enclave_attestation_json(logd_enclave *e, const char *size, const char *boot, char **body,
                                  size_t *len) {
  static const char dev_msg[] = "no attestation: this logd runs in --dev mode, outside a TEE";
  if (!e) return error_body(404, dev_msg, body, len);
  /* --dev: logd has no quote of its own, but keeps the ones its submitters brought. */
  if (!e->dc && (size || !boot || !evidence_exists(e, boot))) return error_body(404, dev_msg, body, len);
  if (size && boot) return error_body(400, "give size or boot, not both", body, len);
  const char *num = size ? size : boot;
  if (!num) {
    if (!e->boot_json) return error_body(503, "no boot quote yet", body, len);
    *body = malloc(e->boot_json_len + 1);
    if (!*body) return 500;
    memcpy(*body, e->boot_json, e->boot_json_len + 1);
    *len = e->boot_json_len;
    return 200;
  }
  /* Strict decimal, like every other query number. */
  uint64_t v;
  xt_err ne = xt_parse_u64(num, XT_NUM_CANONICAL, 0, UINT64_MAX, &v);
  if (ne == XT_ERANGE) return error_body(400, "the number is out of range", body, len);
  if (ne != XT_OK)
    return error_body(400, size ? "size must be a decimal integer" : "boot must be a decimal integer",
                      body, len);
  char path[PATH_MAX + 64];
  snprintf(path, sizeof path, "%s/%s-%" PRIu64 ".json", e->dir, size ? "checkpoint" : "boot", v);
  /* Whether the file exists decides 404 or 500: a quote that cannot be read is ours. */
  if (access(path, F_OK) != 0)
    return error_body(404,
                      size ? "no quote for a checkpoint of this size (only anchored checkpoints have one)"
                           : "no boot quote for this index (not a boot entry of logd in enclave mode)",
                      body, len);
  uint8_t *buf = NULL;
  size_t got = 0;
  char err[300];
  if (xt_file_read(path, 64u << 20, &buf, &got, err, sizeof err) != XT_OK) {
    xt_log("logd", "attestation: %s", err);
    return error_body(500, "cannot read the stored quote", body, len);
  }
  *body = (char *)buf;
  *len = got;
  return 200;
}
