/* cmd_audit.c: `tlog audit`: what the log shows about a time window, checked from the
 * chain and the log's own data (DESIGN.md section 1, issue 5 item 3).
 *
 * Time comes only from block timestamps, never from entries' ts_ms (the host sets
 * the enclave's clock). The window [from 00:00:00, to 23:59:59] UTC selects the
 * Anchored events whose block time falls in it, plus the anchor just before (the
 * window's starting point). An entry belongs to the window when the first anchor that
 * covers it (the earliest anchor with size > index) is in the window; its month is
 * that anchor's block month.
 *
 * (a) consecutive anchors, and the last anchor and the log's checkpoint, are
 *     consistent: RFC 9162 proofs built from tiles authenticated against the
 *     checkpoint; anchored checkpoint notes (v1/checkpoints/N), where the log keeps
 *     them, hash to the on-chain checkpoint hash and carry a valid signature;
 * (b) every entry from 0 up to the last window anchor is recomputed into the tree,
 *     whose root must equal every anchored root on the way;
 * (c) distinct `user` pseudonyms of credential_intake entries in the window, per month;
 * (d) every api_call intent in the window matches the policy's allowlist; every
 *     result has an earlier intent with its call_id (intents are tracked from entry
 *     0); no entry in the window names direct messages;
 * (e) every boot entry up to the last anchor, with the anchor that first covers it
 *     and, with --app, whether the app's KMS contract allowed its compose hash at that
 *     anchor's block time. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "anchor/rpc.h"
#include "client/anchors.h"
#include "client/codeid.h"
#include "client/common.h"
#include "client/entryscan.h"
#include "client/kms.h"
#include "client/replay.h"
#include "dstack/util.h"

#define MAX_FAILURE_LINES 200
#define MAX_BOOTS 10000
#define MAX_MONTHS 2400
#define MAX_TYPES 64

static void usage(FILE *f) {
  fprintf(f,
          "usage: tlog audit (--log URL|DIR | --bundle DIR) --key VKEY\n"
          "                  (--rpc URL --contract 0xADDR | --anchors FILE)\n"
          "                  --from YYYY-MM-DD --to YYYY-MM-DD [--app 0xADDR] [--policy FILE]\n"
          "                  [--allow-simulated] [--allow-dev] [--collateral FILE] [--now RFC3339]\n"
          "                  [--json] [--quiet]\n"
          "\n"
          "Audits the window [from 00:00:00, to 23:59:59] UTC, by block time:\n"
          "  (a) every Anchored event of the log in the window and the one before, each\n"
          "      consistent with the previous (proofs from authenticated tiles), the last\n"
          "      consistent with the log's checkpoint, anchored notes matching the chain;\n"
          "  (b) every entry up to the last anchor recomputed to each anchored root;\n"
          "  (c) distinct users with credential_intake in the window, per month;\n"
          "  (d) every api_call intent within the policy, every result after its intent,\n"
          "      no entry naming direct messages;\n"
          "  (e) every boot entry's code identity (compose hash) and the anchor covering it;\n"
          "      with --app (the DstackApp contract), whether the KMS allowed that hash.\n"
          "  Code identity: every logd boot entry's quote (v1/attestation?boot=I, or a\n"
          "      bundle's attestation/boot-I.json): SHA-256 = quote_sha256, report_data =\n"
          "      boot binding over checkpoint_key and anchor_address, event log replayed to\n"
          "      the RTMRs, RTMR3 compose hash = the entry's; every window anchor's quote\n"
          "      (v1/attestation?size=N, or attestation/checkpoint-N.json) binding the note\n"
          "      whose SHA-256 is the on-chain checkpointHash. A missing attestation fails.\n"
          "      Collector boot quotes are checked only when a bundle holds them.\n"
          "  --collateral FILE  Intel DCAP collateral: real quotes verified fully (without\n"
          "                   it a real quote's TCB status is unknown: a failure)\n"
          "  --now RFC3339    time for the collateral's validity (default: now)\n"
          "  --allow-simulated  accept simulated quotes (dstack simulator), flagged so\n"
          "  --allow-dev      accept a --dev log (boot compose_hash \"dev\", no quotes)\n"
          "  --bundle DIR     a `tlog export` bundle (same as --log DIR)\n"
          "  --anchors FILE   take anchors from a file (`tlog anchor list --json` output or\n"
          "                   a bundle's anchors.json) instead of the chain: the report says\n"
          "                   so, and it proves nothing about the chain\n"
          "  --policy FILE    JSON {\"allow\":[{\"endpoint\":..,\"method\":..,\"path\":..,\"host\":..},...]}:\n"
          "                   an intent passes if some rule's every given field equals the\n"
          "                   intent's (path compared without its query string). Default:\n"
          "                   {\"allow\":[{\"endpoint\":\"watch_history\",\"method\":\"GET\",\n"
          "                   \"path\":\"/api/watch_history\"}]}\n"
          "Exit status: 0 every check passed, 1 some check failed (each failure named on\n"
          "its own line), 2 usage or I/O error.\n");
}

/* ---- sets ---- */

/* 32-byte keys, open addressing. */
typedef struct keyset {
  uint8_t (*k)[32];
  uint8_t *used;
  size_t cap, n;
} keyset;

static int keyset_add(keyset *s, const uint8_t key[32]) {
  if (2 * (s->n + 1) > s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 1024;
    uint8_t(*k)[32] = calloc(cap, 32);
    uint8_t *u = calloc(cap, 1);
    if (!k || !u) {
      free(k);
      free(u);
      return -1;
    }
    for (size_t i = 0; i < s->cap; i++) {
      if (!s->used[i]) continue;
      uint64_t h;
      memcpy(&h, s->k[i], 8);
      size_t j = h & (cap - 1);
      while (u[j]) j = (j + 1) & (cap - 1);
      memcpy(k[j], s->k[i], 32);
      u[j] = 1;
    }
    free(s->k);
    free(s->used);
    s->k = k;
    s->used = u;
    s->cap = cap;
  }
  uint64_t h;
  memcpy(&h, key, 8);
  size_t j = h & (s->cap - 1);
  while (s->used[j]) {
    if (!memcmp(s->k[j], key, 32)) return 0;
    j = (j + 1) & (s->cap - 1);
  }
  memcpy(s->k[j], key, 32);
  s->used[j] = 1;
  s->n++;
  return 0;
}

static void keyset_free(keyset *s) {
  free(s->k);
  free(s->used);
  memset(s, 0, sizeof *s);
}

/* Open intents by call_id: chained buckets; entries removed when their result comes. */
typedef struct call_node {
  struct call_node *next;
  uint64_t h;
  size_t n;
  char id[];
} call_node;

#define CALL_BUCKETS 4096 /* initial; doubles to keep chains short */

typedef struct callset {
  call_node **b;
  size_t nb;
  uint64_t n;
} callset;

static uint64_t fnv(const char *p, size_t n) {
  uint64_t h = UINT64_C(1469598103934665603);
  for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)p[i]) * UINT64_C(1099511628211);
  h ^= h >> 32; /* FNV's low bits are weak: mix before masking */
  h *= UINT64_C(0x9E3779B97F4A7C15);
  return h ^ (h >> 29);
}

static void callset_grow(callset *s) {
  size_t nb = s->nb * 2;
  call_node **b = calloc(nb, sizeof *b);
  if (!b) return; /* keep the old table: slower, still correct */
  for (size_t i = 0; i < s->nb; i++)
    for (call_node *c = s->b[i], *nx; c; c = nx) {
      nx = c->next;
      c->next = b[c->h & (nb - 1)];
      b[c->h & (nb - 1)] = c;
    }
  free(s->b);
  s->b = b;
  s->nb = nb;
}

static call_node **call_find(callset *s, const char *id, size_t n, uint64_t h) {
  call_node **pp = &s->b[h & (s->nb - 1)];
  while (*pp && !((*pp)->h == h && (*pp)->n == n && !memcmp((*pp)->id, id, n))) pp = &(*pp)->next;
  return pp;
}

/* Returns 1 if added, 0 if already open, -1 out of memory. */
static int call_open(callset *s, const char *id, size_t n) {
  uint64_t h = fnv(id, n);
  if (s->n >= s->nb) callset_grow(s);
  call_node **pp = call_find(s, id, n, h);
  if (*pp) return 0;
  call_node *c = malloc(sizeof *c + n);
  if (!c) return -1;
  c->next = NULL;
  c->h = h;
  c->n = n;
  memcpy(c->id, id, n);
  *pp = c;
  s->n++;
  return 1;
}

/* Returns 1 if it was open (and closes it), else 0. */
static int call_close(callset *s, const char *id, size_t n) {
  call_node **pp = call_find(s, id, n, fnv(id, n));
  if (!*pp) return 0;
  call_node *c = *pp;
  *pp = c->next;
  free(c);
  s->n--;
  return 1;
}

static void callset_free(callset *s) {
  if (!s->b) return;
  for (size_t i = 0; i < s->nb; i++)
    for (call_node *c = s->b[i], *nx; c; c = nx) nx = c->next, free(c);
  free(s->b);
  s->b = NULL;
}

/* ---- policy ---- */

typedef struct rule {
  char *f[4]; /* endpoint, method, path, host; NULL = any */
} rule;

typedef struct policy {
  rule *r;
  size_t n;
  char source[300];
} policy;

static const char *const rule_keys[4] = {"endpoint", "method", "path", "host"};
static const int rule_fields[4] = {SF_ENDPOINT, SF_METHOD, SF_PATH, SF_HOST};

static void policy_free(policy *p) {
  for (size_t i = 0; i < p->n; i++)
    for (int k = 0; k < 4; k++) free(p->r[i].f[k]);
  free(p->r);
  memset(p, 0, sizeof *p);
}

static int policy_load(policy *p, const char *file, char *err, size_t errcap) {
  memset(p, 0, sizeof *p);
  json_t *j;
  json_error_t je;
  if (file) {
    j = json_load_file(file, 0, &je);
    if (!j) {
      snprintf(err, errcap, "--policy %.200s: %.200s (line %d)", file, je.text, je.line);
      return -1;
    }
    snprintf(p->source, sizeof p->source, "%s", file);
  } else {
    j = json_pack("{s:[{s:s,s:s,s:s}]}", "allow", "endpoint", "watch_history", "method", "GET", "path",
                  "/api/watch_history");
    snprintf(p->source, sizeof p->source, "built-in: GET watch_history /api/watch_history");
  }
  json_t *allow = json_object_get(j, "allow");
  if (!json_is_array(allow) || json_array_size(allow) == 0) {
    snprintf(err, errcap, "--policy: needs a non-empty \"allow\" array");
    json_decref(j);
    return -1;
  }
  p->r = calloc(json_array_size(allow), sizeof *p->r);
  if (!p->r) {
    json_decref(j);
    snprintf(err, errcap, "out of memory");
    return -1;
  }
  size_t i;
  json_t *o;
  json_array_foreach(allow, i, o) {
    const char *key;
    json_t *v;
    if (!json_is_object(o) || json_object_size(o) == 0) goto bad;
    json_object_foreach(o, key, v) {
      int k;
      for (k = 0; k < 4 && strcmp(key, rule_keys[k]); k++) {
      }
      if (k == 4 || !json_is_string(v)) goto bad;
      p->r[p->n].f[k] = strdup(json_string_value(v));
    }
    p->n++;
  }
  json_decref(j);
  return 0;
bad:
  snprintf(err, errcap, "--policy: rule %zu must be an object of string fields endpoint, method, path, host", i);
  json_decref(j);
  policy_free(p);
  return -1;
}

static bool policy_allows(const policy *p, const entry_scan *s) {
  for (size_t i = 0; i < p->n; i++) {
    bool ok = true;
    for (int k = 0; k < 4 && ok; k++) {
      const char *want = p->r[i].f[k];
      if (!want) continue;
      scan_str v = s->f[rule_fields[k]];
      if (!v.p) {
        ok = false;
        continue;
      }
      if (rule_fields[k] == SF_PATH) {
        const char *q = memchr(v.p, '?', v.n);
        if (q) v.n = (size_t)(q - v.p);
      }
      ok = scan_eq(v, want);
    }
    if (ok) return true;
  }
  return false;
}

/* ---- the audit ---- */

typedef struct boot_rec {
  uint64_t index;
  char component[64], version[64], compose_hash[80], instance_id[80];
  size_t cover; /* index of the covering anchor */
  int kms;      /* 1 allowed, 0 not, -1 not checked */
  codeid_boot cb;
  codeid_result cid; /* cid.status NULL: not examined */
} boot_rec;

typedef struct month_rec {
  char ym[8];
  keyset users;
  uint64_t intakes;
} month_rec;

typedef struct audit {
  policy pol;
  tlog_anchors an;
  uint64_t lo, hi;  /* window entries [lo, hi) */
  size_t cover;     /* current covering anchor */
  tlog_failures f;
  uint64_t failures; /* including those not kept as lines */
  month_rec *months;
  size_t nmonths;
  month_rec *last_month;
  uint64_t last_month_time;
  keyset window_users; /* distinct users over the whole window */
  callset calls;
  boot_rec *boots;
  size_t nboots;
  struct {
    char name[40];
    uint64_t n;
  } types[MAX_TYPES];
  size_t ntypes;
  uint64_t other_types, window_entries, intents, results, outside_policy, orphan_results, dm,
      malformed, intakes;
  entry_scan scan;
} audit;

#define AUDIT_FAIL(a, ...)                                                      \
  do {                                                                          \
    (a)->failures++;                                                            \
    if ((a)->f.n < MAX_FAILURE_LINES) tlog_failures_add(&(a)->f, __VA_ARGS__); \
  } while (0)

static void copy_field(char *dst, size_t cap, scan_str s) {
  size_t n = s.p ? (s.n < cap - 1 ? s.n : cap - 1) : 0;
  if (n) memcpy(dst, s.p, n);
  dst[n] = 0;
}

static month_rec *month_for(audit *a, uint64_t t) {
  /* Entries come in order: consecutive ones mostly share their covering anchor. */
  if (a->last_month && a->last_month_time == t) return a->last_month;
  a->last_month_time = t;
  a->last_month = NULL;
  char d[11];
  tlog_date(t, d);
  d[7] = 0;
  for (size_t i = a->nmonths; i-- > 0;)
    if (!strcmp(a->months[i].ym, d)) return a->last_month = &a->months[i];
  if (a->nmonths == MAX_MONTHS) return NULL;
  month_rec *m = &a->months[a->nmonths++];
  memset(m, 0, sizeof *m);
  memcpy(m->ym, d, 8);
  return a->last_month = m;
}

static void count_type(audit *a, scan_str t) {
  for (size_t i = 0; i < a->ntypes; i++)
    if (scan_eq(t, a->types[i].name)) {
      a->types[i].n++;
      return;
    }
  if (a->ntypes < MAX_TYPES && t.n < sizeof a->types[0].name) {
    copy_field(a->types[a->ntypes].name, sizeof a->types[0].name, t);
    a->types[a->ntypes++].n = 1;
    return;
  }
  a->other_types++;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static void user_key(scan_str u, uint8_t key[32]) {
  if (u.n == 64) {
    bool ok = true;
    for (size_t i = 0; i < 32 && ok; i++) {
      int h = hexval(u.p[2 * i]), l = hexval(u.p[2 * i + 1]);
      if (h < 0 || l < 0) ok = false;
      else key[i] = (uint8_t)(h << 4 | l);
    }
    if (ok) return;
  }
  merkle_leaf_hash((const uint8_t *)u.p, u.n, key);
}

static int audit_entry(void *ctx, uint64_t idx, const uint8_t *data, size_t len) {
  audit *a = ctx;
  while (a->cover < a->an.n && a->an.a[a->cover].size <= idx) a->cover++;
  bool in = idx >= a->lo;
  entry_scan *s = &a->scan;
  entry_scan_run(s, data, len);
  scan_str type = s->f[SF_TYPE];
  if (in) {
    a->window_entries++;
    if (s->names_dm) {
      a->dm++;
      AUDIT_FAIL(a, "(d) entry %llu names direct messages", (unsigned long long)idx);
    }
  }
  if (!s->json_ok || !s->has_event || !type.p) {
    if (in) {
      a->malformed++;
      AUDIT_FAIL(a, "entry %llu is not a JSON object with an event and its type", (unsigned long long)idx);
    }
    return 0;
  }
  if (in) count_type(a, type);
  if (scan_eq(type, "api_call")) {
    scan_str phase = s->f[SF_PHASE], id = s->f[SF_CALL_ID];
    if (scan_eq(phase, "intent")) {
      if (id.p && call_open(&a->calls, id.p, id.n) < 0) return 2;
      if (in) {
        a->intents++;
        if (!id.p) AUDIT_FAIL(a, "(d) entry %llu: api_call intent without a call_id", (unsigned long long)idx);
        if (!policy_allows(&a->pol, s)) {
          char m[16], e[80], p[120];
          copy_field(m, sizeof m, s->f[SF_METHOD]);
          copy_field(e, sizeof e, s->f[SF_ENDPOINT]);
          copy_field(p, sizeof p, s->f[SF_PATH]);
          a->outside_policy++;
          AUDIT_FAIL(a, "(d) entry %llu: api_call intent %s %s %s is outside the policy",
                     (unsigned long long)idx, m[0] ? m : "(no method)", e[0] ? e : "(no endpoint)",
                     p[0] ? p : "(no path)");
        }
      }
    } else if (scan_eq(phase, "result")) {
      int had = id.p ? call_close(&a->calls, id.p, id.n) : 0;
      if (in) {
        a->results++;
        if (!had) {
          char c[80];
          copy_field(c, sizeof c, id);
          a->orphan_results++;
          AUDIT_FAIL(a, "(d) entry %llu: api_call result for call_id '%s' has no earlier intent",
                     (unsigned long long)idx, c);
        }
      }
    } else if (in) {
      AUDIT_FAIL(a, "(d) entry %llu: api_call with phase neither intent nor result", (unsigned long long)idx);
    }
  } else if (scan_eq(type, "credential_intake")) {
    if (in) {
      a->intakes++;
      scan_str u = s->f[SF_USER];
      if (!u.p || u.n == 0) {
        AUDIT_FAIL(a, "(c) entry %llu: credential_intake without a user", (unsigned long long)idx);
      } else if (a->cover < a->an.n) {
        month_rec *m = month_for(a, a->an.a[a->cover].time);
        uint8_t key[32];
        user_key(u, key);
        if (!m || keyset_add(&m->users, key) || keyset_add(&a->window_users, key)) return 2;
        m->intakes++;
      }
    }
  } else if (scan_eq(type, "boot")) {
    if (a->nboots < MAX_BOOTS) {
      boot_rec *b = &a->boots[a->nboots++];
      b->index = idx;
      copy_field(b->component, sizeof b->component, s->f[SF_COMPONENT]);
      copy_field(b->version, sizeof b->version, s->f[SF_VERSION]);
      copy_field(b->compose_hash, sizeof b->compose_hash, s->f[SF_COMPOSE_HASH]);
      copy_field(b->instance_id, sizeof b->instance_id, s->f[SF_INSTANCE_ID]);
      b->cover = a->cover;
      b->kms = -1;
      codeid_boot_parse(data, len, idx, &b->cb);
      if (in && !b->compose_hash[0])
        AUDIT_FAIL(a, "(e) boot entry %llu has no compose_hash", (unsigned long long)idx);
    }
  }
  return 0;
}

/* The last anchor covering the code a boot entry started: up to the next boot of
 * the same component, or to the end of the replay. */
static size_t boot_last_anchor(const audit *a, size_t i) {
  const boot_rec *b = &a->boots[i];
  uint64_t end = a->hi;
  for (size_t j = i + 1; j < a->nboots; j++)
    if (!strcmp(a->boots[j].component, b->component)) {
      end = a->boots[j].index;
      break;
    }
  size_t k = b->cover;
  while (k + 1 < a->an.n && a->an.a[k].size < end && a->an.a[k + 1].size <= a->hi) k++;
  return k;
}

typedef struct anchor_status {
  bool in_window;
  int consistent;   /* 1 yes, 0 no, -1 first (nothing before it to check) */
  const char *note; /* checkpoint note: "verified", "not kept by the log", "MISMATCH" */
  codeid_result cid; /* the checkpoint's quote; cid.status NULL: not examined */
  int kms;           /* its compose hash allowed by the KMS: 1, 0, -1 not checked */
} anchor_status;

/* The latest boot entry of submitter logd before index idx (the run that signed and
 * anchored a checkpoint of size idx), or NULL. */
static const boot_rec *logd_boot_before(const audit *a, uint64_t idx) {
  const boot_rec *found = NULL;
  for (size_t i = 0; i < a->nboots && a->boots[i].index < idx; i++)
    if (!strcmp(a->boots[i].cb.submitter, "logd")) found = &a->boots[i];
  return found;
}

/* Whether boot i's code ran during the window: it is in it, or it is the last boot of
 * its component before it. */
static bool boot_relevant(const audit *a, size_t i) {
  const boot_rec *b = &a->boots[i];
  if (b->index >= a->lo) return true;
  for (size_t j = i + 1; j < a->nboots; j++)
    if (!strcmp(a->boots[j].component, b->component)) return a->boots[j].index > a->lo;
  return true;
}

/* Same text over HTTP and from a directory, so both audits report alike. */
#define NOT_FROM_LOGD                                                                      \
  "its quote is served by the component itself, not by logd: only the entry's fields are " \
  "checked (in full when a bundle holds attestation/boot-<index>.json)"

static void cid_set(codeid_result *r, const char *status, bool failed, const char *msg) {
  memset(r, 0, sizeof *r);
  r->status = status;
  r->failed = failed;
  snprintf(r->message, sizeof r->message, "%s", msg);
}

/* Code identity: the quotes behind boot entries and window anchors (codeid.h). */
static void check_code_identity(audit *a, log_source *src, anchor_status *ast, size_t first, size_t last,
                                const codeid_opts *co, const kms_history *kh) {
  bool http = log_source_is_http(src);
  for (size_t i = 0; i < a->nboots; i++) {
    boot_rec *b = &a->boots[i];
    codeid_result *r = &b->cid;
    if (!boot_relevant(a, i)) continue;
    bool from_logd = !strcmp(b->cb.submitter, "logd");
    if (!from_logd && !strcmp(b->cb.component, "logd")) {
      cid_set(r, "FAILED", true, "a boot entry of component logd not submitted by logd");
    } else if (codeid_boot_is_dev(&b->cb)) {
      cid_set(r, "not attested (dev mode)", !co->allow_dev,
              co->allow_dev ? "compose_hash dev, no quote (--allow-dev)"
                            : "compose_hash dev, no quote: a --dev log proves no code identity (--allow-dev "
                              "accepts it)");
    } else if (!from_logd && http) {
      cid_set(r, "not checked", false, NOT_FROM_LOGD);
    } else {
      uint8_t *d = NULL;
      size_t n = 0;
      char ferr[300];
      int fr = codeid_fetch(src, true, b->index, &d, &n, ferr, sizeof ferr);
      if (fr == FETCH_OK) {
        codeid_check_boot(&b->cb, d, n, co, r);
      } else if (!from_logd && fr == FETCH_NOT_FOUND) {
        cid_set(r, "not checked", false, NOT_FROM_LOGD);
      } else {
        char m[400];
        snprintf(m, sizeof m, "its attestation is %s",
                 fr == FETCH_NOT_FOUND ? "missing" : ferr);
        cid_set(r, "FAILED", true, m);
      }
      free(d);
    }
    if (r->failed)
      AUDIT_FAIL(a, "(e) boot entry %llu (%s) code identity: %s", (unsigned long long)b->index,
                 b->component[0] ? b->component : "?", r->message);
  }
  if (first > last || last >= a->an.n) return;
  for (size_t i = first; i <= last; i++) {
    const tlog_anchor *an = &a->an.a[i];
    codeid_result *r = &ast[i].cid;
    ast[i].kms = -1;
    uint8_t *d = NULL;
    size_t n = 0;
    char ferr[300];
    int fr = codeid_fetch(src, false, an->size, &d, &n, ferr, sizeof ferr);
    const boot_rec *lb = logd_boot_before(a, an->size);
    if (fr == FETCH_OK) {
      codeid_check_checkpoint(an->size, an->checkpoint_hash, d, n, co, r);
      uint8_t ch[32];
      if (kh && !r->failed && !tlog_unhex(r->compose_hash, ch, 32)) {
        ast[i].kms = kms_history_allowed_at(kh, ch, an->time);
        if (!ast[i].kms) {
          r->failed = true;
          r->status = "FAILED";
          snprintf(r->message, sizeof r->message,
                   "its quote's compose hash %.64s was not allowed by the app's KMS contract at block time %llu",
                   r->compose_hash, (unsigned long long)an->time);
        }
      }
    } else if (fr == FETCH_NOT_FOUND && (!lb || codeid_boot_is_dev(&lb->cb))) {
      /* No enclave-mode logd boot entry before it: nothing claims a quote exists. */
      cid_set(r, "not attested (dev mode)", !co->allow_dev,
              co->allow_dev ? (lb ? "anchored by a --dev logd (--allow-dev)"
                                  : "no logd boot entry before it (--allow-dev)")
                            : lb ? "anchored by a --dev logd: no quote (--allow-dev accepts it)"
                                 : "no logd boot entry before it: no quote, no code identity (--allow-dev "
                                   "accepts it)");
    } else {
      char m[400];
      snprintf(m, sizeof m, "its attestation is %s", fr == FETCH_NOT_FOUND ? "missing" : ferr);
      cid_set(r, "FAILED", true, m);
    }
    free(d);
    if (r->failed)
      AUDIT_FAIL(a, "(e) anchored checkpoint %llu code identity: %s", (unsigned long long)an->size, r->message);
  }
}

/* A verified quote's TCB status ("UpToDate", "OutOfDate", ...) beside "verified". */
static const char *tcb_value(const codeid_result *r) {
  return r->status && !strcmp(r->status, "verified") ? r->quote_status : "";
}
static const char *tcb_label(const codeid_result *r) { return tcb_value(r)[0] ? " TCB " : ""; }

static json_t *cid_json(const codeid_result *r) {
  if (!r->status) return json_null();
  json_t *x = json_pack("{s:s,s:b}", "status", r->status, "failed", r->failed);
  if (r->quote_status[0]) json_object_set_new(x, "quote_status", json_string(r->quote_status));
  if (r->compose_hash[0]) json_object_set_new(x, "compose_hash", json_string(r->compose_hash));
  if (r->app_id[0]) json_object_set_new(x, "app_id", json_string(r->app_id));
  if (r->message[0]) json_object_set_new(x, "message", json_string(r->message));
  return x;
}

int cmd_audit(int argc, char **argv) {
  static const struct option opts[] = {{"log", required_argument, 0, 'l'},
                                       {"bundle", required_argument, 0, 'b'},
                                       {"key", required_argument, 0, 'k'},
                                       {"rpc", required_argument, 0, 'r'},
                                       {"contract", required_argument, 0, 'c'},
                                       {"anchors", required_argument, 0, 'A'},
                                       {"from", required_argument, 0, 'f'},
                                       {"to", required_argument, 0, 't'},
                                       {"app", required_argument, 0, 'a'},
                                       {"policy", required_argument, 0, 'p'},
                                       {"json", no_argument, 0, 'j'},
                                       {"quiet", no_argument, 0, 'q'},
                                       {"help", no_argument, 0, 'h'},
                                       {"allow-simulated", no_argument, 0, 'S'},
                                       {"allow-dev", no_argument, 0, 'D'},
                                       {"collateral", required_argument, 0, 'C'},
                                       {"now", required_argument, 0, 'N'},
                                       {0, 0, 0, 0}};
  const char *collateral_file = NULL, *now_arg = NULL;
  codeid_opts co = {0};
  const char *log = NULL, *bundle = NULL, *key = NULL, *rpc = NULL, *contract = NULL, *anchors_file = NULL,
             *from = NULL, *to = NULL, *app = NULL, *policy_file = NULL;
  bool json = false, quiet = false;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (c) {
    case 'l': log = optarg; break;
    case 'b': bundle = optarg; break;
    case 'k': key = optarg; break;
    case 'r': rpc = optarg; break;
    case 'c': contract = optarg; break;
    case 'A': anchors_file = optarg; break;
    case 'f': from = optarg; break;
    case 't': to = optarg; break;
    case 'a': app = optarg; break;
    case 'p': policy_file = optarg; break;
    case 'j': json = true; break;
    case 'q': quiet = true; break;
    case 'S': co.allow_simulated = true; break;
    case 'D': co.allow_dev = true; break;
    case 'C': collateral_file = optarg; break;
    case 'N': now_arg = optarg; break;
    case 'h': usage(stdout); return TLOG_EXIT_OK;
    default: usage(stderr); return TLOG_EXIT_USAGE;
    }
  }
  if (optind != argc || !log == !bundle || !key || !from || !to || (!rpc != !contract) ||
      !rpc == !anchors_file || (app && !rpc)) {
    usage(stderr);
    return TLOG_EXIT_USAGE;
  }
  const char *cmd = "audit";
  char err[800];
  uint64_t t_from, t_to;
  if (tlog_parse_date(from, &t_from) || tlog_parse_date(to, &t_to) || t_to < t_from)
    return tlog_fail(cmd, json, TLOG_EXIT_USAGE, "--from/--to must be dates YYYY-MM-DD with from <= to");
  uint64_t t_end = t_to + 86400; /* exclusive */
  uint8_t app_addr[20];
  if (app && tlog_unhex(app, app_addr, 20))
    return tlog_fail(cmd, json, TLOG_EXIT_USAGE, "--app must be 0x + 40 hex digits");
  co.now = time(NULL);
  if (now_arg && dstack_parse_rfc3339(now_arg, &co.now))
    return tlog_fail(cmd, json, TLOG_EXIT_USAGE, "--now must be an RFC 3339 time");
  tdx_collateral *coll = NULL;
  if (collateral_file) {
    size_t clen;
    uint8_t *cj = dstack_read_file(collateral_file, (size_t)16 << 20, &clen, err, sizeof err);
    if (cj) coll = tdx_collateral_parse((const char *)cj, clen, err, sizeof err);
    free(cj);
    if (!coll) return tlog_fail(cmd, json, TLOG_EXIT_USAGE, err);
    co.collateral = coll;
  }

  audit *a = calloc(1, sizeof *a);
  if (!a) {
    tdx_collateral_free(coll);
    return tlog_fail(cmd, json, TLOG_EXIT_USAGE, "out of memory");
  }
  a->months = calloc(MAX_MONTHS, sizeof *a->months);
  a->boots = calloc(MAX_BOOTS, sizeof *a->boots);
  a->calls.b = calloc(CALL_BUCKETS, sizeof *a->calls.b);
  a->calls.nb = CALL_BUCKETS;
  anchor_status *ast = NULL;
  uint64_t *sizes = NULL;
  uint8_t(*roots)[MERKLE_HASH_SIZE] = NULL;
  tile_reader *r = NULL;
  kms_history kh = {0};
  bool have_kh = false;
  replay_stats st = {0};
  tlog_log l;
  memset(&l, 0, sizeof l);
  int rc = 0;
  if (!a->months || !a->boots || !a->calls.b) {
    snprintf(err, sizeof err, "out of memory");
    rc = TLOG_EXIT_USAGE;
    goto out;
  }
  if (policy_load(&a->pol, policy_file, err, sizeof err)) {
    rc = TLOG_EXIT_USAGE;
    goto out;
  }
  rc = tlog_log_open(&l, log ? log : bundle, key, err, sizeof err);
  if (rc) goto out;
  if (rpc)
    rc = tlog_anchors_from_chain(rpc, contract, l.cp.c.origin, &a->an, err, sizeof err);
  else
    rc = tlog_anchors_load(anchors_file, &a->an, err, sizeof err);
  if (rc) goto out;
  if (app) {
    char kerr[400];
    eth_rpc *er = eth_rpc_new(rpc, kerr, sizeof kerr);
    kms_scan ks = {app_addr, NULL, KMS_FROM_CREATION, ETH_BLOCK_LATEST, {0, 0, 0}};
    if (!er || kms_history_load(er, &ks, &kh, kerr, sizeof kerr) != KMS_OK) {
      snprintf(err, sizeof err, "--app: %s", kerr);
      eth_rpc_free(er);
      rc = TLOG_EXIT_USAGE;
      goto out;
    }
    eth_rpc_free(er);
    have_kh = true;
  }

  /* (a) Which anchors: the window's, and the one before. */
  size_t n = a->an.n, first = n, last = n;
  for (size_t i = 0; i < n; i++) {
    if (i && (a->an.a[i].size < a->an.a[i - 1].size || a->an.a[i].time < a->an.a[i - 1].time))
      AUDIT_FAIL(a, "(a) anchor %zu (size %llu) goes back in size or time from the one before", i,
                 (unsigned long long)a->an.a[i].size);
    if (a->an.a[i].time >= t_from && a->an.a[i].time < t_end) {
      if (first == n) first = i;
      last = i;
    }
  }
  ast = calloc(n + 1, sizeof *ast);
  sizes = calloc(n + 1, sizeof *sizes);
  roots = calloc(n + 1, sizeof *roots);
  if (!ast || !sizes || !roots) {
    snprintf(err, sizeof err, "out of memory");
    rc = TLOG_EXIT_USAGE;
    goto out;
  }
  size_t begin = first == n ? n : (first > 0 ? first - 1 : first);
  if (first == n) {
    AUDIT_FAIL(a, "(a) no anchor of this log has a block time in the window %s .. %s", from, to);
  } else {
    for (size_t i = first; i <= last; i++) ast[i].in_window = true;
    a->lo = first > 0 ? a->an.a[first - 1].size : 0;
    a->hi = a->an.a[last].size;
    if (a->hi > l.cp.c.size) {
      AUDIT_FAIL(a, "(a) the anchor at size %llu is beyond the log's checkpoint of size %llu: the log was "
                 "rolled back or is missing data",
                 (unsigned long long)a->hi, (unsigned long long)l.cp.c.size);
    } else {
      r = tile_reader_new(l.cp.c.size, l.cp.c.root, log_source_tile_fetcher, l.src);
      if (!r) {
        snprintf(err, sizeof err, "out of memory");
        rc = TLOG_EXIT_USAGE;
        goto out;
      }
      uint64_t fails = log_source_failures(l.src);
      /* Consecutive anchors, then the last one to the checkpoint. */
      for (size_t i = begin; i <= last + 1; i++) {
        const tlog_anchor *cur = i <= last ? &a->an.a[i] : NULL;
        uint64_t m = i == begin ? 0 : a->an.a[i - 1].size;
        const uint8_t *mroot = i == begin ? NULL : a->an.a[i - 1].root;
        uint64_t nsz = cur ? cur->size : l.cp.c.size;
        const uint8_t *nroot = cur ? cur->root : l.cp.c.root;
        if (i == begin) {
          ast[i].consistent = -1;
          /* The first anchor's root, from the authenticated tree. */
          uint8_t root[32];
          if (merkle_root_at(nsz, tile_reader_nodes, r, root) != MERKLE_OK) {
            snprintf(err, sizeof err, "%s", tile_reader_error(r));
            rc = tlog_reader_failure(l.src, fails);
            if (rc == TLOG_EXIT_USAGE) goto out;
            AUDIT_FAIL(a, "(a) %s", err);
            rc = 0;
          } else if (memcmp(root, nroot, 32)) {
            AUDIT_FAIL(a, "(a) the anchored root at size %llu is not the root of the log's tree at that size "
                       "(split view or fork)",
                       (unsigned long long)nsz);
            ast[i].consistent = 0;
          }
          continue;
        }
        uint8_t proof[MERKLE_MAX_PROOF][MERKLE_HASH_SIZE];
        size_t plen = 0;
        bool ok;
        if (nsz < m) {
          ok = false;
        } else if (merkle_consistency_proof(m, nsz, tile_reader_nodes, r, proof, MERKLE_MAX_PROOF, &plen) !=
                   MERKLE_OK) {
          snprintf(err, sizeof err, "%s", tile_reader_error(r));
          rc = tlog_reader_failure(l.src, fails);
          if (rc == TLOG_EXIT_USAGE) goto out;
          AUDIT_FAIL(a, "(a) %s", err);
          rc = 0;
          ok = false;
        } else {
          ok = merkle_verify_consistency(m, nsz, mroot, nroot, (const uint8_t(*)[MERKLE_HASH_SIZE])proof, plen) ==
               MERKLE_OK;
        }
        if (cur) ast[i].consistent = ok;
        if (!ok) {
          if (cur)
            AUDIT_FAIL(a, "(a) the anchors at sizes %llu and %llu are not consistent", (unsigned long long)m,
                       (unsigned long long)nsz);
          else
            AUDIT_FAIL(a, "(a) the log's checkpoint (size %llu) is not consistent with the anchor at size %llu",
                       (unsigned long long)nsz, (unsigned long long)m);
        }
      }
    }
    /* Anchored checkpoint notes, where the log keeps them. */
    for (size_t i = begin; i <= last; i++) {
      const tlog_anchor *an = &a->an.a[i];
      char path[64], cerr[400];
      snprintf(path, sizeof path, "v1/checkpoints/%llu", (unsigned long long)an->size);
      tlog_checkpoint acp;
      bool nf = false;
      int crc = tlog_fetch_sized_checkpoint(l.src, &l.v, an->size, &l.cp, &acp, &nf, cerr, sizeof cerr);
      if (crc == TLOG_EXIT_USAGE) {
        ast[i].note = nf ? "not kept by the log" : "unreadable";
        continue;
      }
      if (crc) {
        ast[i].note = "MISMATCH";
        AUDIT_FAIL(a, "(a) anchored checkpoint of size %llu: %s", (unsigned long long)an->size, cerr);
        continue;
      }
      uint8_t h[32]; /* the contract's checkpointHash: SHA-256 of the note text */
      tlog_sha256(acp.note, acp.note_len, h);
      if (acp.c.size != an->size || memcmp(acp.c.root, an->root, 32) || memcmp(h, an->checkpoint_hash, 32)) {
        ast[i].note = "MISMATCH";
        AUDIT_FAIL(a, "(a) the log's checkpoint of size %llu is not the one anchored on chain (split view)",
                   (unsigned long long)an->size);
      } else {
        ast[i].note = "verified";
      }
      tlog_checkpoint_clear(&acp);
    }
  }

  /* (b)-(e): replay every entry up to the last window anchor. */
  if (first != n && a->hi <= l.cp.c.size) {
    size_t nc = 0;
    for (size_t i = 0; i < n && a->an.a[i].size <= a->hi; i++) {
      if (nc && a->an.a[i].size < sizes[nc - 1]) continue;
      sizes[nc] = a->an.a[i].size;
      memcpy(roots[nc++], a->an.a[i].root, 32);
    }
    replay_opts o = {0};
    o.end = a->hi;
    o.check_sizes = sizes;
    o.check_roots = (const uint8_t(*)[MERKLE_HASH_SIZE])roots;
    o.ncheck = nc;
    o.entry = audit_entry;
    o.ctx = a;
    o.quiet = quiet;
    o.what = "replaying entries";
    char rerr[700];
    int rr = replay_run(l.src, &o, &st, rerr, sizeof rerr);
    if (rr == 2) {
      snprintf(err, sizeof err, "replay: %s", rerr);
      rc = TLOG_EXIT_USAGE;
      goto out;
    }
    if (rr) AUDIT_FAIL(a, "(b) %s", rerr);
  }
  if (have_kh) {
    for (size_t i = 0; i < a->nboots; i++) {
      boot_rec *b = &a->boots[i];
      uint8_t ch[32];
      if (tlog_unhex(b->compose_hash, ch, 32) || b->cover >= n) continue;
      /* At every anchor covering this code's entries, not only the first. */
      size_t k_end = boot_last_anchor(a, i), k = b->cover;
      b->kms = 1;
      for (; k <= k_end && b->kms; k++) b->kms = kms_history_allowed_at(&kh, ch, a->an.a[k].time);
      k--;
      if (!b->kms && (b->index >= a->lo || k >= first))
        AUDIT_FAIL(a, "(e) boot entry %llu: compose hash %s was not allowed by the app's KMS contract at block "
                   "time %llu",
                   (unsigned long long)b->index, b->compose_hash, (unsigned long long)a->an.a[k].time);
    }
  }

  if (first != n) check_code_identity(a, l.src, ast, first, last, &co, have_kh ? &kh : NULL);

  /* ---- report ---- */
  {
    bool passed = a->failures == 0;
    char rh[65];
    tlog_hex(l.cp.c.root, 32, rh);
    if (json) {
      json_t *o = json_object();
      json_object_set_new(o, "verified", json_boolean(passed));
      json_object_set_new(o, "origin", json_string(l.cp.c.origin));
      json_object_set_new(o, "window", json_pack("{s:s,s:s,s:I,s:I}", "from", from, "to", to, "from_time",
                                                 (json_int_t)t_from, "to_time_exclusive", (json_int_t)t_end));
      json_object_set_new(o, "checkpoint", json_pack("{s:I,s:s}", "size", (json_int_t)l.cp.c.size, "root", rh));
      json_object_set_new(o, "anchor_source", json_string(rpc ? "chain" : "file (not checked against a chain)"));
      json_t *aa = json_array();
      for (size_t i = begin; i < n && i <= last; i++) {
        json_t *x = tlog_anchor_json(&a->an.a[i]);
        json_object_set_new(x, "in_window", json_boolean(ast[i].in_window));
        json_object_set_new(x, "consistent_with_previous",
                            ast[i].consistent < 0 ? json_null() : json_boolean(ast[i].consistent));
        json_object_set_new(x, "checkpoint_note", ast[i].note ? json_string(ast[i].note) : json_null());
        json_object_set_new(x, "code_identity", cid_json(&ast[i].cid));
        if (ast[i].cid.status && ast[i].kms >= 0) json_object_set_new(x, "kms_allowed", json_boolean(ast[i].kms));
        json_array_append_new(aa, x);
      }
      json_object_set_new(o, "anchors", aa);
      json_object_set_new(o, "entries",
                          json_pack("{s:I,s:I,s:I,s:I,s:I,s:f}", "replayed", (json_int_t)st.entries, "window_first",
                                    (json_int_t)a->lo, "window_end", (json_int_t)a->hi, "window_entries",
                                    (json_int_t)a->window_entries, "bytes", (json_int_t)st.entry_bytes,
                                    "seconds", st.seconds));
      json_t *um = json_object();
      for (size_t i = 0; i < a->nmonths; i++)
        json_object_set_new(um, a->months[i].ym, json_integer((json_int_t)a->months[i].users.n));
      json_object_set_new(o, "users_per_month", um);
      json_object_set_new(o, "users_in_window", json_integer((json_int_t)a->window_users.n));
      json_object_set_new(o, "entries_after_last_anchor",
                          json_integer((json_int_t)(l.cp.c.size > a->hi ? l.cp.c.size - a->hi : 0)));
      json_object_set_new(o, "credential_intakes", json_integer((json_int_t)a->intakes));
      json_object_set_new(o, "api_calls",
                          json_pack("{s:I,s:I,s:I,s:I,s:I,s:s}", "intents", (json_int_t)a->intents, "results",
                                    (json_int_t)a->results, "outside_policy", (json_int_t)a->outside_policy,
                                    "results_without_intent", (json_int_t)a->orphan_results, "open_intents",
                                    (json_int_t)a->calls.n, "policy", a->pol.source));
      json_object_set_new(o, "direct_message_mentions", json_integer((json_int_t)a->dm));
      json_t *ty = json_object();
      for (size_t i = 0; i < a->ntypes; i++)
        json_object_set_new(ty, a->types[i].name, json_integer((json_int_t)a->types[i].n));
      json_object_set_new(o, "types", ty);
      json_t *bo = json_array();
      for (size_t i = 0; i < a->nboots; i++) {
        boot_rec *b = &a->boots[i];
        json_t *x = json_pack("{s:I,s:s,s:s,s:s,s:s}", "index", (json_int_t)b->index, "component", b->component,
                              "version", b->version, "compose_hash", b->compose_hash, "instance_id",
                              b->instance_id);
        if (b->cover < n) {
          size_t k = boot_last_anchor(a, i);
          json_object_set_new(x, "first_anchor",
                              json_pack("{s:I,s:I,s:I}", "size", (json_int_t)a->an.a[b->cover].size, "block",
                                        (json_int_t)a->an.a[b->cover].block, "time",
                                        (json_int_t)a->an.a[b->cover].time));
          json_object_set_new(x, "last_anchor",
                              json_pack("{s:I,s:I,s:I}", "size", (json_int_t)a->an.a[k].size, "block",
                                        (json_int_t)a->an.a[k].block, "time", (json_int_t)a->an.a[k].time));
        }
        json_object_set_new(x, "kms_allowed", b->kms < 0 ? json_null() : json_boolean(b->kms));
        json_object_set_new(x, "submitter", json_string(b->cb.submitter));
        json_object_set_new(x, "code_identity", cid_json(&b->cid));
        json_array_append_new(bo, x);
      }
      json_object_set_new(o, "boots", bo);
      json_object_set_new(o, "code_identity",
                          json_pack("{s:b,s:b,s:b,s:I}", "allow_simulated", co.allow_simulated, "allow_dev",
                                    co.allow_dev, "collateral", co.collateral != NULL, "now", (json_int_t)co.now));
      json_t *fa = json_array();
      for (size_t i = 0; i < a->f.n; i++) json_array_append_new(fa, json_string(a->f.msg[i]));
      json_object_set_new(o, "failures", fa);
      json_object_set_new(o, "failure_count", json_integer((json_int_t)a->failures));
      json_dumpf(o, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
      fputc('\n', stdout);
      json_decref(o);
    } else {
      printf("audit of %s, window %s .. %s (UTC, by block time)\n", l.cp.c.origin, from, to);
      printf("log checkpoint: size %llu, root %s\n", (unsigned long long)l.cp.c.size, rh);
      printf("anchors from %s\n\n", rpc ? "the chain" : "a file (NOT checked against a chain)");
      printf("(a) anchors\n    %-3s %-20s %10s %12s  %-16s %-10s %-10s %s\n", "", "block time (UTC)", "block",
             "size", "root", "consistent", "note", "tx");
      for (size_t i = begin; i < n && i <= last; i++) {
        const tlog_anchor *x = &a->an.a[i];
        char when[21], root[65], tx[65];
        tlog_datetime(x->time, when);
        tlog_hex(x->root, 32, root);
        tlog_hex(x->tx, 32, tx);
        root[16] = 0;
        tx[16] = 0;
        printf("    %-3s %-20s %10llu %12llu  %-16s %-10s %-10s 0x%s..\n", ast[i].in_window ? "" : "pre", when,
               (unsigned long long)x->block, (unsigned long long)x->size, root,
               ast[i].consistent < 0 ? "(start)" : ast[i].consistent ? "yes" : "NO",
               ast[i].note ? (strcmp(ast[i].note, "not kept by the log") ? ast[i].note : "not kept") : "-", tx);
      }
      printf("\n(b) entries 0 .. %llu replayed: %llu entries, %.1f MB in %.2f s; window entries %llu .. %llu\n",
             (unsigned long long)(a->hi ? a->hi - 1 : 0), (unsigned long long)st.entries,
             (double)st.entry_bytes / 1e6, st.seconds, (unsigned long long)a->lo,
             (unsigned long long)(a->hi ? a->hi - 1 : 0));
      if (l.cp.c.size > a->hi)
        printf("    %llu later entries (up to the checkpoint's size %llu) are not covered by this window's "
               "anchors\n",
               (unsigned long long)(l.cp.c.size - a->hi), (unsigned long long)l.cp.c.size);
      printf("\n(c) distinct users with credential_intake, by month of the covering anchor\n");
      if (!a->nmonths) printf("    (none)\n");
      for (size_t i = 0; i < a->nmonths; i++)
        printf("    %s  %8llu users  (%llu intakes)\n", a->months[i].ym, (unsigned long long)a->months[i].users.n,
               (unsigned long long)a->months[i].intakes);
      if (a->nmonths > 1) printf("    window   %8llu users\n", (unsigned long long)a->window_users.n);
      printf("\n(d) api calls: %llu intents (%llu outside the policy), %llu results (%llu without an earlier "
             "intent); %llu entries naming direct messages\n    policy: %s\n",
             (unsigned long long)a->intents, (unsigned long long)a->outside_policy, (unsigned long long)a->results,
             (unsigned long long)a->orphan_results, (unsigned long long)a->dm, a->pol.source);
      printf("\n(e) boot entries (code identity)\n");
      if (!a->nboots) printf("    (none up to the last anchor)\n");
      for (size_t i = 0; i < a->nboots; i++) {
        boot_rec *b = &a->boots[i];
        char when[21] = "-", until[21] = "-";
        if (b->cover < n) {
          tlog_datetime(a->an.a[b->cover].time, when);
          tlog_datetime(a->an.a[boot_last_anchor(a, i)].time, until);
        }
        printf("    entry %-8llu %-10s %-8s compose_hash %s  anchored by %s%s\n"
               "                   its code's entries covered by anchors up to %s\n",
               (unsigned long long)b->index, b->component, b->version,
               b->compose_hash[0] ? b->compose_hash : "(none)", when,
               b->kms < 0 ? "" : b->kms ? "  KMS: allowed" : "  KMS: NOT ALLOWED", until);
      }
      printf("\nCode identity (TDX quotes: boot entries and window anchors; %s%s%s)\n",
             co.collateral ? "with collateral" : "no collateral", co.allow_simulated ? ", --allow-simulated" : "",
             co.allow_dev ? ", --allow-dev" : "");
      size_t shown = 0;
      for (size_t i = 0; i < a->nboots; i++) {
        const boot_rec *b = &a->boots[i];
        if (!b->cid.status) continue;
        shown++;
        printf("    boot entry %-8llu %-10s %s%s%s%s%s%s%s\n", (unsigned long long)b->index,
               b->component[0] ? b->component : "?", b->cid.status, tcb_label(&b->cid), tcb_value(&b->cid),
               b->cid.compose_hash[0] ? "  compose_hash " : "", b->cid.compose_hash,
               b->cid.message[0] ? ": " : "", b->cid.message);
      }
      for (size_t i = first; first != n && i <= last; i++) {
        const codeid_result *x = &ast[i].cid;
        if (!x->status) continue;
        shown++;
        printf("    checkpoint %-8llu %-10s %s%s%s%s%s%s%s%s\n", (unsigned long long)a->an.a[i].size, "(anchor)",
               x->status, tcb_label(x), tcb_value(x), x->compose_hash[0] ? "  compose_hash " : "", x->compose_hash,
               ast[i].kms < 0 ? "" : ast[i].kms ? "  KMS: allowed" : "  KMS: NOT ALLOWED",
               x->message[0] ? ": " : "", x->message);
      }
      if (!shown) printf("    (nothing to check)\n");
      printf("\n");
      for (size_t i = 0; i < a->f.n; i++) printf("FAIL  %s\n", a->f.msg[i]);
      if (a->failures > a->f.n)
        printf("FAIL  ... and %llu more\n", (unsigned long long)(a->failures - a->f.n));
      printf("%s\n", passed ? "audit PASSED" : "audit FAILED");
    }
    if (!passed) {
      for (size_t i = 0; i < a->f.n; i++) fprintf(stderr, "tlog audit: verification failed: %s\n", a->f.msg[i]);
      rc = TLOG_EXIT_FAILED;
    }
  }
out:
  tile_reader_free(r);
  tdx_collateral_free(coll);
  if (have_kh) kms_history_free(&kh);
  free(ast);
  free(sizes);
  free(roots);
  if (l.src) tlog_log_close(&l);
  for (size_t i = 0; a && i < a->nmonths; i++) keyset_free(&a->months[i].users);
  if (a) {
    free(a->months);
    free(a->boots);
    callset_free(&a->calls);
    keyset_free(&a->window_users);
    tlog_anchors_free(&a->an);
    policy_free(&a->pol);
    tlog_failures_free(&a->f);
    free(a);
  }
  if (rc == TLOG_EXIT_USAGE) return tlog_fail(cmd, json, rc, err);
  return rc;
}
