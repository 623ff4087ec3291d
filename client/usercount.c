#include "client/usercount.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/hex.h"
#include "client/codeid.h"

#define STATEMENT_TYPE "xordi-collector-user-count-v1"

/* Pseudonyms ever seen (32-byte keys, open addressing); a slot stays once used and
 * its `stored` flag follows intakes and deletions, so no deletion bookkeeping. */
typedef struct slot {
  uint8_t key[32];
  uint8_t used, stored;
} slot;

struct usercount {
  slot *t;
  size_t cap, used;
  uint64_t stored, intakes, deletions, foreign, statements_failed;
  bool have_boot; /* a collector boot by the collector came before */
  codeid_boot boot;
  usercount_statement *st;
  size_t nst, capst;
};

const char *usercount_verdict_str(usercount_verdict v) {
  switch (v) {
    case USERCOUNT_OK: return "ok";
    case USERCOUNT_FAIL: return "failed";
    case USERCOUNT_ENOMEM: return "out of memory";
  }
  return "unknown";
}

usercount *usercount_new(void) { return calloc(1, sizeof(usercount)); }

void usercount_free(usercount *u) {
  if (!u) return;
  free(u->t);
  free(u->st);
  free(u);
}

static slot *slot_find(slot *t, size_t cap, const uint8_t key[32]) {
  uint64_t h;
  memcpy(&h, key, 8);
  size_t j = h & (cap - 1);
  while (t[j].used && memcmp(t[j].key, key, 32)) j = (j + 1) & (cap - 1);
  return &t[j];
}

/* The slot of key, created (not stored) if new; NULL when out of memory. */
static slot *slot_get(usercount *u, const uint8_t key[32]) {
  if (2 * (u->used + 1) > u->cap) {
    size_t cap = u->cap ? u->cap * 2 : 1024;
    slot *t = calloc(cap, sizeof *t);
    if (!t) return NULL;
    for (size_t i = 0; i < u->cap; i++)
      if (u->t[i].used) *slot_find(t, cap, u->t[i].key) = u->t[i];
    free(u->t);
    u->t = t;
    u->cap = cap;
  }
  slot *s = slot_find(u->t, u->cap, key);
  if (!s->used) {
    memcpy(s->key, key, 32);
    s->used = 1;
    u->used++;
  }
  return s;
}

/* A pseudonym in hex is its own key; anything else is hashed to one. */
static int user_key(scan_str v, uint8_t key[32]) {
  if (v.n == 64 && xt_hex_decode(v.p, v.n, 0, key, 32, NULL) == XT_OK) return 0;
  unsigned n = 0;
  return EVP_Digest(v.p, v.n, key, &n, EVP_sha256(), NULL) == 1 && n == 32 ? 0 : -1;
}

static usercount_verdict credential(usercount *u, uint64_t index, const entry_scan *s, bool intake,
                                    bool in_window, char *why, size_t whycap) {
  const char *what = intake ? "credential_intake" : "credential_deleted";
  if (!scan_eq(s->submitter, "collector")) {
    if (!in_window) return USERCOUNT_OK;
    u->foreign++;
    char sub[64] = "";
    if (s->submitter.p) snprintf(sub, sizeof sub, "%.*s", (int)(s->submitter.n < 40 ? s->submitter.n : 40), s->submitter.p);
    xt_errf(why, whycap, "entry %llu: %s written by submitter '%s', not the collector: not counted",
            (unsigned long long)index, what, sub);
    return USERCOUNT_FAIL;
  }
  if (!u->have_boot) {
    if (!in_window) return USERCOUNT_OK;
    u->foreign++;
    xt_errf(why, whycap, "entry %llu: %s by the collector with no collector boot entry before it: not counted",
            (unsigned long long)index, what);
    return USERCOUNT_FAIL;
  }
  uint8_t key[32];
  if (!s->f[SF_USER].p || !s->f[SF_USER].n) return USERCOUNT_OK; /* the users check names it */
  if (user_key(s->f[SF_USER], key) != 0) return USERCOUNT_ENOMEM;
  slot *sl = slot_get(u, key);
  if (!sl) return USERCOUNT_ENOMEM;
  if (intake) {
    u->intakes++;
    if (!sl->stored) u->stored++;
    sl->stored = 1;
  } else {
    u->deletions++;
    if (sl->stored) u->stored--;
    sl->stored = 0;
  }
  return USERCOUNT_OK;
}

/* The statement the collector signs, rebuilt as it builds it (canonical JSON). */
static char *statement_of(const codeid_boot *b, uint64_t count, uint64_t as_of) {
  json_t *st = json_pack("{s:s, s:I, s:I, s:s, s:s}", "type", STATEMENT_TYPE, "count", (json_int_t)count,
                         "as_of_index", (json_int_t)as_of, "collector_key", b->signing_key, "instance_id",
                         b->instance_id);
  char *s = st ? json_dumps(st, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  json_decref(st);
  return s;
}

/* 1 the signature verifies, 0 not, -1 out of memory or a malformed key. */
static int ed25519_ok(const char *pub_hex, const char *sig_hex, const char *msg) {
  uint8_t pub[32], sig[64];
  if (xt_hex_decode_exact(pub_hex, 0, pub, 32) != XT_OK) return 0;
  if (!sig_hex || xt_hex_decode_exact(sig_hex, 0, sig, 64) != XT_OK) return 0;
  EVP_PKEY *pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, 32);
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  int rc = -1;
  if (pk && ctx)
    rc = EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pk) == 1 &&
         EVP_DigestVerify(ctx, sig, 64, (const uint8_t *)msg, strlen(msg)) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(pk);
  return rc;
}

static bool get_u64(json_t *ev, const char *name, uint64_t *out) {
  json_t *v = json_object_get(ev, name);
  if (!json_is_integer(v) || json_integer_value(v) < 0) return false;
  *out = (uint64_t)json_integer_value(v);
  return true;
}

/* Judges one user_count event ev of entry index into *st; why names the first failure. */
static usercount_verdict judge_statement(const usercount *u, uint64_t index, json_t *ev,
                                         usercount_statement *st, char *why, size_t whycap) {
  const char *sha = json_string_value(json_object_get(ev, "statement_sha256"));
  const char *sig = json_string_value(json_object_get(ev, "signature"));
  if (!get_u64(ev, "count", &st->attested) || !get_u64(ev, "as_of_index", &st->as_of_index) || !sha) {
    xt_errf(why, whycap, "entry %llu: user_count without count, as_of_index or statement_sha256",
            (unsigned long long)index);
    return USERCOUNT_FAIL;
  }
  if (st->as_of_index < u->boot.index || st->as_of_index >= index) {
    xt_errf(why, whycap, "entry %llu: user_count names log head %llu, outside its collector boot's entries "
            "[%llu, %llu)", (unsigned long long)index, (unsigned long long)st->as_of_index,
            (unsigned long long)u->boot.index, (unsigned long long)index);
    return USERCOUNT_FAIL;
  }
  char *statement = statement_of(&u->boot, st->attested, st->as_of_index);
  if (!statement) return USERCOUNT_ENOMEM;
  uint8_t d[32];
  unsigned dn = 0;
  char dh[65];
  int hashed = EVP_Digest(statement, strlen(statement), d, &dn, EVP_sha256(), NULL) == 1 && dn == 32;
  if (hashed) xt_hex_encode(d, 32, dh);
  int sig_ok = hashed ? ed25519_ok(u->boot.signing_key, sig, statement) : -1;
  free(statement);
  if (!hashed || sig_ok < 0) return USERCOUNT_ENOMEM;
  if (strcmp(dh, sha)) {
    xt_errf(why, whycap, "entry %llu: user_count statement_sha256 is not the SHA-256 of the statement its "
            "numbers and collector boot %llu make", (unsigned long long)index, (unsigned long long)u->boot.index);
    return USERCOUNT_FAIL;
  }
  if (!sig_ok) {
    xt_errf(why, whycap, "entry %llu: user_count signature %s under the signing_key of collector boot %llu",
            (unsigned long long)index, sig ? "does not verify" : "is missing", (unsigned long long)u->boot.index);
    return USERCOUNT_FAIL;
  }
  if (st->attested != st->in_log) {
    xt_errf(why, whycap, "entry %llu: user_count attests %llu users, the collector's entries leave %llu stored",
            (unsigned long long)index, (unsigned long long)st->attested, (unsigned long long)st->in_log);
    return USERCOUNT_FAIL;
  }
  st->verified = true;
  return USERCOUNT_OK;
}

static usercount_verdict statement(usercount *u, uint64_t index, const uint8_t *data, size_t len,
                                   const entry_scan *s, char *why, size_t whycap) {
  if (!scan_eq(s->submitter, "collector") || !u->have_boot) {
    u->foreign++;
    u->statements_failed++;
    xt_errf(why, whycap, "entry %llu: user_count %s: not a statement of the collector", (unsigned long long)index,
            scan_eq(s->submitter, "collector") ? "with no collector boot entry before it" : "not written by the collector");
    return USERCOUNT_FAIL;
  }
  if (u->nst == u->capst) {
    size_t cap = u->capst ? u->capst * 2 : 16;
    usercount_statement *n = realloc(u->st, cap * sizeof *n);
    if (!n) return USERCOUNT_ENOMEM;
    u->st = n;
    u->capst = cap;
  }
  usercount_statement *st = &u->st[u->nst];
  memset(st, 0, sizeof *st);
  st->index = index;
  st->boot_index = u->boot.index;
  st->in_log = u->stored;
  json_t *o = json_loadb((const char *)data, len, 0, NULL);
  usercount_verdict v = USERCOUNT_ENOMEM;
  if (o) v = judge_statement(u, index, json_object_get(o, "event"), st, why, whycap);
  json_decref(o);
  if (v == USERCOUNT_ENOMEM) return v;
  u->nst++;
  if (v == USERCOUNT_FAIL) u->statements_failed++;
  return v;
}

usercount_verdict usercount_entry(usercount *u, uint64_t index, const uint8_t *data, size_t len,
                                  const entry_scan *s, bool in_window, char *why, size_t whycap) {
  scan_str t = s->f[SF_TYPE];
  if (scan_eq(t, "credential_intake") || scan_eq(t, "credential_deleted"))
    return credential(u, index, s, scan_eq(t, "credential_intake"), in_window, why, whycap);
  if (scan_eq(t, "user_count")) return in_window ? statement(u, index, data, len, s, why, whycap) : USERCOUNT_OK;
  if (scan_eq(t, "boot") && scan_eq(s->submitter, "collector") && scan_eq(s->f[SF_COMPONENT], "collector")) {
    codeid_boot b;
    if (codeid_boot_parse(data, len, index, &b) == 0) {
      u->boot = b;
      u->have_boot = true;
    }
  }
  return USERCOUNT_OK;
}

void usercount_get_totals(const usercount *u, usercount_totals *t) {
  t->stored = u->stored;
  t->intakes = u->intakes;
  t->deletions = u->deletions;
  t->foreign = u->foreign;
  t->statements = u->nst;
  t->statements_failed = u->statements_failed;
}

const usercount_statement *usercount_statements(const usercount *u, size_t *n) {
  *n = u->nst;
  return u->st;
}
