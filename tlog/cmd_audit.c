/* cmd_audit.c: `tlog audit`: what the log shows about a time window, checked from the
 * chain and the log's own data (SPEC.md section 6.3).
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
 *     anchor's block time.
 * Each of these is a named check, a row of the table `checks` below (see
 * audit_check): the table runs them and writes both report forms. */
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "anchor/rpc.h"
#include "base/err.h"
#include "base/file.h"
#include "base/hex.h"
#include "base/time.h"
#include "client/anchors.h"
#include "client/codeid.h"
#include "client/collateral.h"
#include "client/common.h"
#include "client/entryscan.h"
#include "client/evidence.h"
#include "client/kms.h"
#include "client/policy.h"
#include "client/replay.h"
#include "client/usercount.h"
#include "tlog/commands.h"
#include "tlog/report.h"

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
          "                  [--from-block N] [--json] [--quiet] [--report FILE.html]\n"
          "                  [--summary FILE.md]\n"
          "\n"
          "Audits the window [from 00:00:00, to 23:59:59] UTC, by block time:\n"
          "  (a) every Anchored event of the log in the window and the one before, each\n"
          "      consistent with the previous (proofs from authenticated tiles), the last\n"
          "      consistent with the log's checkpoint, anchored notes matching the chain;\n"
          "  (b) every entry up to the last anchor recomputed to each anchored root;\n"
          "  (c) distinct users with credential_intake in the window, per month;\n"
          "      only the collector's entries count; every user_count statement's hash,\n"
          "      signature, log head and count are checked against the log;\n"
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
          "      Every other component's boot quote as logd keeps it (POST /v1/boot; a\n"
          "      bundle's attestation/boot-I.json) the same: a missing one fails; one whose\n"
          "      TCB is unknown leaves the audit INCOMPLETE, naming the boot entry.\n"
          "  (collector) every collector boot names a build and egress the policy's\n"
          "      collector.builds allow; without them, the release build with the\n"
          "      compiled egress GET www.tiktok.com/api/watch_history alone.\n"
          "  --collateral FILE  Intel DCAP collateral: real quotes verified fully (without\n"
          "                   it a real quote's TCB status is unknown: a failure)\n"
          "                   Without it, the log's collateral archive (logd --pccs,\n"
          "                   a bundle's collateral/) gives each quote the collateral\n"
          "                   valid at its anchor's block time, judged as of that time\n"
          "  --now RFC3339    time for the collateral's validity (default: now)\n"
          "  --allow-simulated  accept simulated quotes (dstack simulator), flagged so\n"
          "  --allow-dev      accept a --dev log (boot compose_hash \"dev\", no quotes)\n"
          "  --bundle DIR     a `tlog export` bundle (same as --log DIR)\n"
          "  --anchors FILE   take anchors from a file (`tlog anchor list --json` output or\n"
          "                   a bundle's anchors.json) instead of the chain: the report says\n"
          "                   so, and it proves nothing about the chain\n"
          "  Evidence (policy keys contracts.anchor {address, bytecode_hash, deployment_block},\n"
          "      max_anchor_gap, ts_ms_tolerance_s): each window anchor's quoted note verifies\n"
          "      with --key and equals the Anchored event (or the log keeps it); every logd\n"
          "      boot entry's checkpoint_key is --key; each anchor credited to the boot its\n"
          "      quote names; every anchorer the contract ever accepted is a verified boot's\n"
          "      anchor_address; keccak-256 of the contract's code; anchor gaps; entries' ts_ms\n"
          "  --from-block N   scan the anchor contract's Registered/Rotated events from block N\n"
          "                   (default: the policy's deployment_block, else its creation)\n"
          "  --policy FILE    the auditor's policy (SPEC.md 6.3), sections egress (api_call\n"
          "                   rules {endpoint, method, path, host}: an intent passes if some\n"
          "                   rule's every given field equals the intent's, path without its\n"
          "                   query), releases (reviewed compose hashes), platform (OS images\n"
          "                   with MRTD/RTMR0-2, the KMS id, TCB statuses) and contracts\n"
          "                   (DstackApp, DstackKms: addresses, implementations, owners).\n"
          "                   With it: (kms) every event of both KMS contracts from their\n"
          "                   creation to the window's end against the policy (a compose\n"
          "                   hash not released, even removed later; an unlisted upgrade,\n"
          "                   owner, OS image or KMS measurement; AllowAnyDeviceSet(true);\n"
          "                   RequireTcbUpToDateSet(false); unknown events; the app's\n"
          "                   allowAnyDevice and requireTcbUpToDate read from its state),\n"
          "                   (platform) every judged quote's OS measurements, key provider,\n"
          "                   app id, MRCONFIGID, TCB status and compose hash. Without a\n"
          "                   policy the egress rule is GET watch_history /api/watch_history.\n"
          "  --app 0xADDR     the DstackApp (default: the policy's contracts.dstack_app)\n"
          "  --report FILE.html  also write the verification report for people: one\n"
          "                   self-contained HTML file (verdict, charts, code versions, every\n"
          "                   check with its evidence, trust boundaries), from the --json data\n"
          "  --summary FILE.md  also write a short Markdown statement for posting\n"
          "Verdict: PASSED only when every check passed and nothing was left unchecked; a\n"
          "missing policy section, no chain (--anchors) or no DstackApp/DstackKms makes it\n"
          "INCOMPLETE, naming each thing not checked. No flag turns INCOMPLETE into PASSED.\n"
          "Exit status: 0 PASSED, 1 FAILED or INCOMPLETE (each failure and each thing not\n"
          "checked named on its own line), 2 usage or I/O error.\n");
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
  call_node **b = calloc(nb, sizeof(call_node *));
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

/* ---- policy (client/policy.h): the egress rules ---- */

typedef audit_policy policy;

static const int rule_fields[4] = {SF_ENDPOINT, SF_METHOD, SF_PATH, SF_HOST};

static void policy_free(policy *p) { audit_policy_free(p); }

static int policy_load(policy *p, const char *file, char *err, size_t errcap) {
  return audit_policy_load(file, p, err, errcap) == AUDIT_POLICY_OK ? 0 : -1;
}

static bool policy_allows(const policy *p, const entry_scan *s) {
  for (size_t i = 0; i < p->nrules; i++) {
    bool ok = true;
    for (int k = 0; k < 4 && ok; k++) {
      const char *want = p->rules[i].f[k];
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

/* ---- the audit's state ---- */

typedef struct boot_rec {
  uint64_t index;
  char component[64], version[64], compose_hash[80], instance_id[80];
  size_t cover; /* index of the covering anchor */
  int kms;      /* 1 allowed, 0 not, -1 not checked */
  codeid_boot cb;
  codeid_result cid; /* CODEID_UNEXAMINED: not examined */
  /* A collector's "build" and "egress" (SPEC.md 6.4); has_* false when absent */
  bool has_build, has_egress;
  char build[32], egress[256];
} boot_rec;

typedef struct month_rec {
  char ym[8];
  keyset users;
  uint64_t intakes;
} month_rec;

/* What became of an anchored checkpoint note. */
typedef enum note_check {
  NOTE_UNCHECKED = 0, /* not looked at */
  NOTE_VERIFIED,      /* signed, and hashes to the on-chain checkpointHash */
  NOTE_NOT_KEPT,      /* the log keeps no note of that size */
  NOTE_UNREADABLE,    /* the log failed to deliver it */
  NOTE_MISMATCH       /* it does not verify, or is not the anchored one */
} note_check;

/* Its name in the JSON report (NULL: null) and in the text table. */
static const char *note_json(note_check n) {
  static const char *const s[] = {NULL, "verified", "not kept by the log", "unreadable", "MISMATCH"};
  return s[n];
}
static const char *note_text(note_check n) {
  static const char *const s[] = {"-", "verified", "not kept", "unreadable", "MISMATCH"};
  return s[n];
}

typedef struct anchor_status {
  bool in_window;
  int consistent;    /* 1 yes, 0 no, -1 first (nothing before it to check) */
  note_check note;   /* the anchored checkpoint note, where the log keeps it */
  codeid_result cid; /* the checkpoint's quote; CODEID_UNEXAMINED: not examined */
  int kms;           /* its compose hash allowed by the KMS: 1, 0, -1 not checked */
} anchor_status;

/* The command line. */
typedef struct audit_args {
  const char *log, *bundle, *key, *rpc, *contract, *anchors_file, *from, *to, *app, *policy_file,
      *collateral_file, *now_arg, *from_block;
  bool json, quiet, allow_simulated, allow_dev;
  const char *report_file, *summary_file; /* --report, --summary (tlog/report.h) */
} audit_args;

typedef struct audit_evidence audit_evidence; /* the evidence checks' state */

typedef struct audit {
  const audit_args *args;
  audit_evidence *ev;
  tlog_log l;
  codeid_opts co;
  tdx_collateral *coll;
  tlog_collateral_cache cc; /* without --collateral: the log's archive, by quote time */
  uint8_t app_addr[20];
  kms_history kh;
  bool have_kh;
  uint64_t t_from, t_end; /* the window, [t_from, t_end) in block time */
  uint64_t from_block;    /* --from-block, else UINT64_MAX */
  policy pol;
  tlog_anchors an;
  anchor_status *ast;      /* one per anchor */
  size_t first, last;      /* window anchors [first, last]; first == an.n: none */
  size_t begin;            /* first anchor reported: the one before the window's */
  uint64_t lo, hi;         /* window entries [lo, hi) */
  size_t cover;            /* current covering anchor */
  replay_stats st;
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
      malformed, intakes, boots_beyond;
  entry_scan scan;
  char stop[120]; /* why a check stopped the replay */
  report_daily daily; /* per-day counts for the report's charts */
  usercount *uc;  /* the collector's users and signed user counts (client/usercount.h) */
  /* The policy's checks: the contracts the KMS history is read from, what the audit
   * could not check (INCOMPLETE), and which check each failure line belongs to. */
  bool have_app, have_kms;
  uint8_t kms_addr[20];
  tlog_failures inc;
  size_t cur_check;
  uint64_t check_fails[32], check_inc[32];
  uint8_t fail_check[MAX_FAILURE_LINES], inc_check[MAX_FAILURE_LINES];
  uint64_t kms_judged, kms_bad, platform_checked, platform_bad, collector_boots, collector_bad;
} audit;

#define AUDIT_FAIL(a, ...)                                                                    \
  do {                                                                                        \
    (a)->failures++;                                                                          \
    (a)->check_fails[(a)->cur_check]++;                                                       \
    if ((a)->f.n < MAX_FAILURE_LINES) (a)->fail_check[(a)->f.n] = (uint8_t)(a)->cur_check;    \
    if ((a)->f.n < MAX_FAILURE_LINES) tlog_failures_add(&(a)->f, __VA_ARGS__);               \
  } while (0)

/* Something the audit could not check: the verdict is then INCOMPLETE (never PASSED). */
#define AUDIT_INCOMPLETE(a, ...)                                                              \
  do {                                                                                        \
    (a)->check_inc[(a)->cur_check]++;                                                         \
    if ((a)->inc.n < MAX_FAILURE_LINES) (a)->inc_check[(a)->inc.n] = (uint8_t)(a)->cur_check; \
    if ((a)->inc.n < MAX_FAILURE_LINES) tlog_failures_add(&(a)->inc, __VA_ARGS__);           \
  } while (0)

/* One replayed entry, as the checks see it. */
typedef struct audit_entry {
  uint64_t index;
  const uint8_t *data;
  size_t len;
  bool in_window;        /* covered first by a window anchor */
  bool well_formed;      /* a JSON object with an event object and its string type */
  const entry_scan *s;   /* the scanned fields */
} audit_entry;

/* A named check of the audit. The table below runs the checks in its order: first
 * each check's run (the anchors before the replay, the replay itself, then what needs
 * every entry seen); during the replay each check's entry sees every entry in index
 * order (only well-formed ones unless sees_malformed; those that do go first). Each
 * check's report writes its part of both report forms: with o NULL its text lines, in
 * table order, else its members of the JSON report object o. Adding a check: a
 * function for what it examines, its report, and one row. */
typedef struct audit_check {
  const char *name;
  /* Returns 0, or TLOG_EXIT_USAGE with err (I/O: the audit concludes nothing). */
  int (*run)(audit *a, char *err, size_t errcap);
  /* Returns 0, or non-zero to stop the replay (2, with a->stop saying why). */
  int (*entry)(audit *a, const audit_entry *e);
  bool sees_malformed;
  void (*report)(const audit *a, json_t *o);
} audit_check;

static void copy_field(char *dst, size_t cap, scan_str s) {
  size_t n = s.p ? (s.n < cap - 1 ? s.n : cap - 1) : 0;
  if (n) memcpy(dst, s.p, n);
  dst[n] = 0;
}

/* ---- (a) anchors: consistency from tiles, and the anchored notes ---- */

/* Selects the window's anchors (and flags anchors that go back). */
static void select_window(audit *a) {
  size_t n = a->an.n;
  a->first = a->last = n;
  for (size_t i = 0; i < n; i++) {
    if (i && (a->an.a[i].size < a->an.a[i - 1].size || a->an.a[i].time < a->an.a[i - 1].time))
      AUDIT_FAIL(a, "(a) anchor %zu (size %llu) goes back in size or time from the one before", i,
                 (unsigned long long)a->an.a[i].size);
    if (a->an.a[i].time >= a->t_from && a->an.a[i].time < a->t_end) {
      if (a->first == n) a->first = i;
      a->last = i;
    }
  }
  a->begin = a->first == n ? n : (a->first > 0 ? a->first - 1 : a->first);
  if (a->first == n) return;
  for (size_t i = a->first; i <= a->last; i++) a->ast[i].in_window = true;
  a->lo = a->first > 0 ? a->an.a[a->first - 1].size : 0;
  a->hi = a->an.a[a->last].size;
}

/* The first reported anchor's root against the tree authenticated by the checkpoint.
 * Returns 0, or TLOG_EXIT_USAGE (the log failed to deliver a tile; err set). */
static int check_first_root(audit *a, tile_reader *r, uint64_t fails, char *err, size_t errcap) {
  const tlog_anchor *cur = &a->an.a[a->begin];
  uint8_t root[32];
  a->ast[a->begin].consistent = -1;
  if (merkle_root_at(cur->size, tile_reader_nodes, r, root) != MERKLE_OK) {
    xt_errf(err, errcap, "%s", tile_reader_error(r));
    if (tlog_reader_failure(a->l.src, fails) == TLOG_EIO) return TLOG_EXIT_USAGE;
    AUDIT_FAIL(a, "(a) %s", err);
  } else if (memcmp(root, cur->root, 32)) {
    AUDIT_FAIL(a, "(a) the anchored root at size %llu is not the root of the log's tree at that size "
               "(split view or fork)",
               (unsigned long long)cur->size);
    a->ast[a->begin].consistent = 0;
  }
  return 0;
}

/* Anchor i (i == last + 1: the log's checkpoint) against anchor i - 1, by a proof
 * from tiles. Returns 0, or TLOG_EXIT_USAGE (I/O; err set). */
static int check_step(audit *a, tile_reader *r, uint64_t fails, size_t i, char *err, size_t errcap) {
  const tlog_anchor *cur = i <= a->last ? &a->an.a[i] : NULL;
  uint64_t m = a->an.a[i - 1].size;
  const uint8_t *mroot = a->an.a[i - 1].root;
  uint64_t nsz = cur ? cur->size : a->l.cp.c.size;
  const uint8_t *nroot = cur ? cur->root : a->l.cp.c.root;
  uint8_t proof[MERKLE_MAX_PROOF][MERKLE_HASH_SIZE];
  size_t plen = 0;
  bool ok;
  if (nsz < m) {
    ok = false;
  } else if (merkle_consistency_proof(m, nsz, tile_reader_nodes, r, proof, MERKLE_MAX_PROOF, &plen) !=
             MERKLE_OK) {
    xt_errf(err, errcap, "%s", tile_reader_error(r));
    if (tlog_reader_failure(a->l.src, fails) == TLOG_EIO) return TLOG_EXIT_USAGE;
    AUDIT_FAIL(a, "(a) %s", err);
    ok = false;
  } else {
    ok = merkle_verify_consistency(m, nsz, mroot, nroot, (const uint8_t(*)[MERKLE_HASH_SIZE])proof, plen) ==
         MERKLE_OK;
  }
  if (cur) a->ast[i].consistent = ok;
  if (!ok && cur)
    AUDIT_FAIL(a, "(a) the anchors at sizes %llu and %llu are not consistent", (unsigned long long)m,
               (unsigned long long)nsz);
  else if (!ok)
    AUDIT_FAIL(a, "(a) the log's checkpoint (size %llu) is not consistent with the anchor at size %llu",
               (unsigned long long)nsz, (unsigned long long)m);
  return 0;
}

/* Consecutive anchors, then the last one to the checkpoint. */
static int check_consistency(audit *a, char *err, size_t errcap) {
  if (a->hi > a->l.cp.c.size) {
    AUDIT_FAIL(a, "(a) the anchor at size %llu is beyond the log's checkpoint of size %llu: the log was "
               "rolled back or is missing data",
               (unsigned long long)a->hi, (unsigned long long)a->l.cp.c.size);
    return 0;
  }
  tile_reader *r = tile_reader_new(a->l.cp.c.size, a->l.cp.c.root, log_source_tile_fetcher, a->l.src);
  if (!r) {
    xt_errf(err, errcap, "out of memory");
    return TLOG_EXIT_USAGE;
  }
  uint64_t fails = log_source_failures(a->l.src);
  int rc = check_first_root(a, r, fails, err, errcap);
  for (size_t i = a->begin + 1; !rc && i <= a->last + 1; i++) rc = check_step(a, r, fails, i, err, errcap);
  tile_reader_free(r);
  return rc;
}

/* Anchored checkpoint notes, where the log keeps them. */
static void check_notes(audit *a) {
  for (size_t i = a->begin; i <= a->last; i++) {
    const tlog_anchor *an = &a->an.a[i];
    char cerr[400];
    tlog_checkpoint acp;
    bool nf = false;
    int crc = tlog_fetch_sized_checkpoint(a->l.src, &a->l.v, an->size, &a->l.cp, &acp, &nf, cerr, sizeof cerr);
    if (crc == TLOG_EIO) {
      a->ast[i].note = nf ? NOTE_NOT_KEPT : NOTE_UNREADABLE;
      continue;
    }
    if (crc) {
      a->ast[i].note = NOTE_MISMATCH;
      AUDIT_FAIL(a, "(a) anchored checkpoint of size %llu: %s", (unsigned long long)an->size, cerr);
      continue;
    }
    uint8_t h[32]; /* the contract's checkpointHash: SHA-256 of the note text */
    tlog_sha256(acp.note, acp.note_len, h);
    if (acp.c.size != an->size || memcmp(acp.c.root, an->root, 32) || memcmp(h, an->checkpoint_hash, 32)) {
      a->ast[i].note = NOTE_MISMATCH;
      AUDIT_FAIL(a, "(a) the log's checkpoint of size %llu is not the one anchored on chain (split view)",
                 (unsigned long long)an->size);
    } else {
      a->ast[i].note = NOTE_VERIFIED;
    }
    tlog_checkpoint_clear(&acp);
  }
}

static int run_anchors(audit *a, char *err, size_t errcap) {
  select_window(a);
  if (a->first == a->an.n) {
    AUDIT_FAIL(a, "(a) no anchor of this log has a block time in the window %s .. %s", a->args->from,
               a->args->to);
    return 0;
  }
  int rc = check_consistency(a, err, errcap);
  if (!rc) check_notes(a);
  return rc;
}


static json_t *cid_json(const codeid_result *r);

static void report_anchors(const audit *a, json_t *o) {
  if (!o) {
    printf("(a) anchors\n    %-3s %-20s %10s %12s  %-16s %-10s %-10s %s\n", "", "block time (UTC)", "block",
           "size", "root", "consistent", "note", "tx");
    for (size_t i = a->begin; i < a->an.n && i <= a->last; i++) {
      const tlog_anchor *x = &a->an.a[i];
      const anchor_status *s = &a->ast[i];
      char when[21], root[65], tx[65];
      tlog_datetime(x->time, when);
      xt_hex_encode(x->root, 32, root);
      xt_hex_encode(x->tx, 32, tx);
      root[16] = 0;
      tx[16] = 0;
      printf("    %-3s %-20s %10llu %12llu  %-16s %-10s %-10s 0x%s..\n", s->in_window ? "" : "pre", when,
             (unsigned long long)x->block, (unsigned long long)x->size, root,
             s->consistent < 0 ? "(start)" : s->consistent ? "yes" : "NO", note_text(s->note), tx);
    }
    return;
  }
  json_object_set_new(o, "anchor_source",
                      json_string(a->args->rpc ? "chain" : "file (not checked against a chain)"));
  json_t *aa = json_array();
  for (size_t i = a->begin; i < a->an.n && i <= a->last; i++) {
    const anchor_status *s = &a->ast[i];
    json_t *x = tlog_anchor_json(&a->an.a[i]);
    json_object_set_new(x, "in_window", json_boolean(s->in_window));
    json_object_set_new(x, "consistent_with_previous", s->consistent < 0 ? json_null() : json_boolean(s->consistent));
    json_object_set_new(x, "checkpoint_note", note_json(s->note) ? json_string(note_json(s->note)) : json_null());
    json_object_set_new(x, "code_identity", cid_json(&s->cid));
    if (s->cid.status != CODEID_UNEXAMINED && s->kms >= 0) json_object_set_new(x, "kms_allowed", json_boolean(s->kms));
    json_array_append_new(aa, x);
  }
  json_object_set_new(o, "anchors", aa);
}

/* ---- (b) replay: every entry up to the last window anchor, to every anchored root ---- */

static int audit_entry_cb(void *ctx, uint64_t idx, const uint8_t *data, size_t len);

static int run_replay(audit *a, char *err, size_t errcap) {
  size_t n = a->an.n, nc = 0;
  if (a->first == n || a->hi > a->l.cp.c.size) return 0;
  uint64_t *sizes = calloc(n + 1, sizeof *sizes);
  uint8_t(*roots)[MERKLE_HASH_SIZE] = calloc(n + 1, sizeof *roots);
  if (!sizes || !roots) {
    free(sizes);
    free(roots);
    xt_errf(err, errcap, "out of memory");
    return TLOG_EXIT_USAGE;
  }
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
  o.entry = audit_entry_cb;
  o.ctx = a;
  o.quiet = a->args->quiet;
  o.what = "replaying entries";
  char rerr[700];
  int rr = replay_run(a->l.src, &o, &a->st, rerr, sizeof rerr);
  free(sizes);
  free(roots);
  if (rr == TLOG_EIO) {
    xt_errf(err, errcap, "replay: %s%s%s", rerr, a->stop[0] ? ": " : "", a->stop);
    return TLOG_EXIT_USAGE;
  }
  if (rr) AUDIT_FAIL(a, "(b) %s", rerr);
  return 0;
}


static void report_replay(const audit *a, json_t *o) {
  if (!o) {
    const checkpoint *c = &a->l.cp.c;
    printf("\n(b) entries 0 .. %llu replayed: %llu entries, %.1f MB in %.2f s; window entries %llu .. %llu\n",
           (unsigned long long)(a->hi ? a->hi - 1 : 0), (unsigned long long)a->st.entries,
           (double)a->st.entry_bytes / 1e6, a->st.seconds, (unsigned long long)a->lo,
           (unsigned long long)(a->hi ? a->hi - 1 : 0));
    if (c->size > a->hi)
      printf("    %llu later entries (up to the checkpoint's size %llu) are not covered by this window's "
             "anchors\n",
             (unsigned long long)(c->size - a->hi), (unsigned long long)c->size);
    return;
  }
  const checkpoint *c = &a->l.cp.c;
  json_object_set_new(o, "entries",
                      json_pack("{s:I,s:I,s:I,s:I,s:I,s:f}", "replayed", (json_int_t)a->st.entries, "window_first",
                                (json_int_t)a->lo, "window_end", (json_int_t)a->hi, "window_entries",
                                (json_int_t)a->window_entries, "bytes", (json_int_t)a->st.entry_bytes, "seconds",
                                a->st.seconds));
  json_object_set_new(o, "entries_after_last_anchor",
                      json_integer((json_int_t)(c->size > a->hi ? c->size - a->hi : 0)));
}

/* ---- (d) entries naming direct messages (every window entry, even malformed) ---- */

static int entry_dm(audit *a, const audit_entry *e) {
  if (e->in_window && e->s->names_dm) {
    a->dm++;
    AUDIT_FAIL(a, "(d) entry %llu names direct messages", (unsigned long long)e->index);
  }
  return 0;
}

static void report_dm(const audit *a, json_t *o) {
  if (!o) return; /* nothing in the text form */
  json_object_set_new(o, "direct_message_mentions", json_integer((json_int_t)a->dm));
}

/* ---- entries that are not events (every window entry), and the count of each type ---- */

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

static int entry_form(audit *a, const audit_entry *e) {
  if (!e->in_window) return 0;
  if (!e->well_formed) {
    a->malformed++;
    AUDIT_FAIL(a, "entry %llu is not a JSON object with an event and its type", (unsigned long long)e->index);
  } else {
    count_type(a, e->s->f[SF_TYPE]);
  }
  return 0;
}

static void report_types(const audit *a, json_t *o) {
  if (!o) return; /* nothing in the text form */
  json_t *ty = json_object();
  for (size_t i = 0; i < a->ntypes; i++)
    json_object_set_new(ty, a->types[i].name, json_integer((json_int_t)a->types[i].n));
  json_object_set_new(o, "types", ty);
}

/* ---- (c) distinct users with credential_intake, per month of the covering anchor ---- */

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

/* A pseudonym in hex is its own 32-byte key; anything else is hashed to one. */
static void user_key(scan_str u, uint8_t key[32]) {
  if (u.n == 64 && xt_hex_decode(u.p, u.n, 0, key, 32, NULL) == XT_OK) return;
  merkle_leaf_hash((const uint8_t *)u.p, u.n, key);
}

static int entry_users(audit *a, const audit_entry *e) {
  const entry_scan *s = e->s;
  if (!e->in_window || !scan_eq(s->f[SF_TYPE], "credential_intake")) return 0;
  if (!scan_eq(s->submitter, "collector")) return 0; /* a foreign writer: user_count names it */
  a->intakes++;
  scan_str u = s->f[SF_USER];
  if (!u.p || u.n == 0) {
    AUDIT_FAIL(a, "(c) entry %llu: credential_intake without a user", (unsigned long long)e->index);
  } else if (a->cover < a->an.n) {
    month_rec *m = month_for(a, a->an.a[a->cover].time);
    uint8_t key[32];
    user_key(u, key);
    if (!m) {
      snprintf(a->stop, sizeof a->stop, "more than %d months", MAX_MONTHS);
      return 2;
    }
    if (keyset_add(&m->users, key) || keyset_add(&a->window_users, key)) {
      snprintf(a->stop, sizeof a->stop, "out of memory");
      return 2;
    }
    m->intakes++;
  }
  return 0;
}


static void report_users(const audit *a, json_t *o) {
  if (!o) {
    printf("\n(c) distinct users with credential_intake, by month of the covering anchor\n");
    if (!a->nmonths) printf("    (none)\n");
    for (size_t i = 0; i < a->nmonths; i++)
      printf("    %s  %8llu users  (%llu intakes)\n", a->months[i].ym, (unsigned long long)a->months[i].users.n,
             (unsigned long long)a->months[i].intakes);
    if (a->nmonths > 1) printf("    window   %8llu users\n", (unsigned long long)a->window_users.n);
    return;
  }
  json_t *um = json_object();
  for (size_t i = 0; i < a->nmonths; i++)
    json_object_set_new(um, a->months[i].ym, json_integer((json_int_t)a->months[i].users.n));
  json_object_set_new(o, "users_per_month", um);
  json_object_set_new(o, "users_in_window", json_integer((json_int_t)a->window_users.n));
  json_object_set_new(o, "credential_intakes", json_integer((json_int_t)a->intakes));
}

/* ---- (d) api calls: intents within the policy, results after their intent ---- */

static void api_intent(audit *a, const audit_entry *e, scan_str id) {
  const entry_scan *s = e->s;
  a->intents++;
  if (!id.p) AUDIT_FAIL(a, "(d) entry %llu: api_call intent without a call_id", (unsigned long long)e->index);
  if (policy_allows(&a->pol, s)) return;
  char m[16], ep[80], p[120];
  copy_field(m, sizeof m, s->f[SF_METHOD]);
  copy_field(ep, sizeof ep, s->f[SF_ENDPOINT]);
  copy_field(p, sizeof p, s->f[SF_PATH]);
  a->outside_policy++;
  AUDIT_FAIL(a, "(d) entry %llu: api_call intent %s %s %s is outside the policy", (unsigned long long)e->index,
             m[0] ? m : "(no method)", ep[0] ? ep : "(no endpoint)", p[0] ? p : "(no path)");
}

/* Intents are tracked from entry 0, so a window result may close an earlier intent. */
static int entry_api_calls(audit *a, const audit_entry *e) {
  const entry_scan *s = e->s;
  if (!scan_eq(s->f[SF_TYPE], "api_call")) return 0;
  scan_str phase = s->f[SF_PHASE], id = s->f[SF_CALL_ID];
  if (scan_eq(phase, "intent")) {
    if (id.p && call_open(&a->calls, id.p, id.n) < 0) {
      snprintf(a->stop, sizeof a->stop, "out of memory");
      return 2;
    }
    if (e->in_window) api_intent(a, e, id);
  } else if (scan_eq(phase, "result")) {
    int had = id.p ? call_close(&a->calls, id.p, id.n) : 0;
    if (e->in_window) {
      a->results++;
      if (!had) {
        char c[80];
        copy_field(c, sizeof c, id);
        a->orphan_results++;
        AUDIT_FAIL(a, "(d) entry %llu: api_call result for call_id '%s' has no earlier intent",
                   (unsigned long long)e->index, c);
      }
    }
  } else if (e->in_window) {
    AUDIT_FAIL(a, "(d) entry %llu: api_call with phase neither intent nor result", (unsigned long long)e->index);
  }
  return 0;
}


/* The (d) line also shows the direct_messages check's count. */
static void report_api_calls(const audit *a, json_t *o) {
  if (!o) {
    printf("\n(d) api calls: %llu intents (%llu outside the policy), %llu results (%llu without an earlier "
           "intent); %llu entries naming direct messages\n    policy: %s\n",
           (unsigned long long)a->intents, (unsigned long long)a->outside_policy, (unsigned long long)a->results,
           (unsigned long long)a->orphan_results, (unsigned long long)a->dm, a->pol.source);
    return;
  }
  json_object_set_new(o, "api_calls",
                      json_pack("{s:I,s:I,s:I,s:I,s:I,s:s}", "intents", (json_int_t)a->intents, "results",
                                (json_int_t)a->results, "outside_policy", (json_int_t)a->outside_policy,
                                "results_without_intent", (json_int_t)a->orphan_results, "open_intents",
                                (json_int_t)a->calls.n, "policy", a->pol.source));
}

/* ---- (e) boot entries, the anchors covering their code, and the KMS ---- */

/* The boot entry's "build" and "egress" strings, as they are (a longer one than the
 * buffer is not one a policy can name: it stays absent, and fails the check). */
static void boot_build(boot_rec *b, const audit_entry *e) {
  json_t *j = json_loadb((const char *)e->data, e->len, 0, NULL);
  json_t *ev = json_object_get(j, "event");
  const char *bu = json_string_value(json_object_get(ev, "build"));
  const char *eg = json_string_value(json_object_get(ev, "egress"));
  if (bu && strlen(bu) < sizeof b->build) {
    memcpy(b->build, bu, strlen(bu) + 1);
    b->has_build = true;
  }
  if (eg && strlen(eg) < sizeof b->egress) {
    memcpy(b->egress, eg, strlen(eg) + 1);
    b->has_egress = true;
  }
  json_decref(j);
}

static int entry_boots(audit *a, const audit_entry *e) {
  const entry_scan *s = e->s;
  if (!scan_eq(s->f[SF_TYPE], "boot")) return 0;
  if (a->nboots == MAX_BOOTS) {
    if (a->boots_beyond++ == 0)
      AUDIT_FAIL(a, "(e) more than %d boot entries (entry %llu is one too many): the rest are not checked",
                 MAX_BOOTS, (unsigned long long)e->index);
    return 0;
  }
  boot_rec *b = &a->boots[a->nboots++];
  b->index = e->index;
  copy_field(b->component, sizeof b->component, s->f[SF_COMPONENT]);
  copy_field(b->version, sizeof b->version, s->f[SF_VERSION]);
  copy_field(b->compose_hash, sizeof b->compose_hash, s->f[SF_COMPOSE_HASH]);
  copy_field(b->instance_id, sizeof b->instance_id, s->f[SF_INSTANCE_ID]);
  b->cover = a->cover;
  b->kms = -1;
  /* The scanner saw a boot entry; should jansson not, b->cb stays zeroed (no submitter,
   * no keys), and its code identity cannot pass. */
  if (codeid_boot_parse(e->data, e->len, e->index, &b->cb) != 0) memset(&b->cb, 0, sizeof b->cb);
  boot_build(b, e);
  if (e->in_window && !b->compose_hash[0])
    AUDIT_FAIL(a, "(e) boot entry %llu has no compose_hash", (unsigned long long)e->index);
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

/* With --app: was each boot's compose hash allowed at every anchor covering its code? */
static int run_boots_kms(audit *a, char *err, size_t errcap) {
  if (!a->have_kh) return 0;
  for (size_t i = 0; i < a->nboots; i++) {
    boot_rec *b = &a->boots[i];
    uint8_t ch[32];
    if (xt_hex_decode_exact(b->compose_hash, XT_HEX_0X, ch, 32) != XT_OK || b->cover >= a->an.n) continue;
    size_t k_end = boot_last_anchor(a, i), k = b->cover;
    b->kms = 1;
    for (; k <= k_end && b->kms; k++) b->kms = kms_history_allowed_at(&a->kh, ch, a->an.a[k].time);
    k--;
    if (!b->kms && (b->index >= a->lo || k >= a->first))
      AUDIT_FAIL(a, "(e) boot entry %llu: compose hash %s was not allowed by the app's KMS contract at block "
                 "time %llu",
                 (unsigned long long)b->index, b->compose_hash, (unsigned long long)a->an.a[k].time);
  }
  return 0;
}


static json_t *anchor_brief(const tlog_anchor *x) {
  return json_pack("{s:I,s:I,s:I}", "size", (json_int_t)x->size, "block", (json_int_t)x->block, "time",
                   (json_int_t)x->time);
}

static void report_boots(const audit *a, json_t *o) {
  if (!o) {
    printf("\n(e) boot entries (code identity)\n");
    if (!a->nboots) printf("    (none up to the last anchor)\n");
    for (size_t i = 0; i < a->nboots; i++) {
      const boot_rec *b = &a->boots[i];
      char when[21] = "-", until[21] = "-";
      if (b->cover < a->an.n) {
        tlog_datetime(a->an.a[b->cover].time, when);
        tlog_datetime(a->an.a[boot_last_anchor(a, i)].time, until);
      }
      printf("    entry %-8llu %-10s %-8s compose_hash %s  anchored by %s%s\n"
             "                   its code's entries covered by anchors up to %s\n",
             (unsigned long long)b->index, b->component, b->version, b->compose_hash[0] ? b->compose_hash : "(none)",
             when, b->kms < 0 ? "" : b->kms ? "  KMS: allowed" : "  KMS: NOT ALLOWED", until);
    }
    return;
  }
  json_t *bo = json_array();
  for (size_t i = 0; i < a->nboots; i++) {
    const boot_rec *b = &a->boots[i];
    json_t *x = json_pack("{s:I,s:s,s:s,s:s,s:s}", "index", (json_int_t)b->index, "component", b->component,
                          "version", b->version, "compose_hash", b->compose_hash, "instance_id", b->instance_id);
    if (b->cover < a->an.n) {
      json_object_set_new(x, "first_anchor", anchor_brief(&a->an.a[b->cover]));
      json_object_set_new(x, "last_anchor", anchor_brief(&a->an.a[boot_last_anchor(a, i)]));
    }
    json_object_set_new(x, "kms_allowed", b->kms < 0 ? json_null() : json_boolean(b->kms));
    json_object_set_new(x, "submitter", json_string(b->cb.submitter));
    json_object_set_new(x, "code_identity", cid_json(&b->cid));
    json_array_append_new(bo, x);
  }
  json_object_set_new(o, "boots", bo);
}

/* ---- code identity: the quotes behind boot entries and window anchors (codeid.h) ---- */

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

/* A component's boot entry without a kept quote (logd keeps those sent to /v1/boot, and
 * export carries them): nothing names the code that wrote it, which may be any version
 * the KMS ever allowed, so it fails (issue 14 item 5: "a collector boot without a
 * verified quote fails"). Same text over HTTP and from a directory. */
#define NOT_FROM_LOGD                                                                     \
  "no attestation is kept for it (logd keeps the quote of a boot sent to /v1/boot; a " \
  "bundle holds attestation/boot-<index>.json): nothing proves which code wrote it"

static void cid_set(codeid_result *r, codeid_status status, bool failed, const char *msg) {
  memset(r, 0, sizeof *r);
  r->status = status;
  r->failed = failed;
  snprintf(r->message, sizeof r->message, "%s", msg);
}

static void check_boot_identity(audit *a, boot_rec *b) {
  codeid_result *r = &b->cid;
  const codeid_opts *co = &a->co;
  bool from_logd = !strcmp(b->cb.submitter, "logd");
  if (!from_logd && !strcmp(b->cb.component, "logd")) {
    cid_set(r, CODEID_FAILED, true, "a boot entry of component logd not submitted by logd");
  } else if (codeid_boot_is_dev(&b->cb)) {
    cid_set(r, CODEID_DEV, !co->allow_dev,
            co->allow_dev ? "compose_hash dev, no quote (--allow-dev)"
                          : "compose_hash dev, no quote: a --dev log proves no code identity (--allow-dev "
                            "accepts it)");
  } else {
    uint8_t *d = NULL;
    size_t n = 0;
    char ferr[300];
    int fr = codeid_fetch(a->l.src, true, b->index, &d, &n, ferr, sizeof ferr);
    if (fr == FETCH_OK) {
      codeid_opts o = *co;
      uint64_t qt = tlog_anchor_time_covering(&a->an, b->index);
      if (qt) tlog_collateral_apply(&a->cc, a->l.src, (time_t)qt, &o);
      codeid_check_boot(&b->cb, d, n, &o, r);
    } else if (!from_logd && fr == FETCH_NOT_FOUND) {
      cid_set(r, CODEID_FAILED, true, NOT_FROM_LOGD);
    } else {
      char m[400];
      snprintf(m, sizeof m, "its attestation is %s", fr == FETCH_NOT_FOUND ? "missing" : ferr);
      cid_set(r, CODEID_FAILED, true, m);
    }
    free(d);
  }
  if (r->failed)
    AUDIT_FAIL(a, "(e) boot entry %llu (%s) code identity: %s", (unsigned long long)b->index,
               b->component[0] ? b->component : "?", r->message);
}

/* The quote of anchor i's checkpoint, and with --app its compose hash at block time. */
static void check_anchor_identity(audit *a, size_t i) {
  const tlog_anchor *an = &a->an.a[i];
  const codeid_opts *co = &a->co;
  codeid_result *r = &a->ast[i].cid;
  a->ast[i].kms = -1;
  uint8_t *d = NULL;
  size_t n = 0;
  char ferr[300];
  int fr = codeid_fetch(a->l.src, false, an->size, &d, &n, ferr, sizeof ferr);
  const boot_rec *lb = logd_boot_before(a, an->size);
  if (fr == FETCH_OK) {
    codeid_opts o = *co;
    tlog_collateral_apply(&a->cc, a->l.src, (time_t)an->time, &o);
    codeid_check_checkpoint(an->size, an->checkpoint_hash, d, n, &o, r);
    uint8_t ch[32];
    if (a->have_kh && !r->failed && xt_hex_decode_exact(r->compose_hash, XT_HEX_0X, ch, 32) == XT_OK) {
      a->ast[i].kms = kms_history_allowed_at(&a->kh, ch, an->time);
      if (!a->ast[i].kms) {
        r->failed = true;
        r->status = CODEID_FAILED;
        snprintf(r->message, sizeof r->message,
                 "its quote's compose hash %.64s was not allowed by the app's KMS contract at block time %llu",
                 r->compose_hash, (unsigned long long)an->time);
      }
    }
  } else if (fr == FETCH_NOT_FOUND && (!lb || codeid_boot_is_dev(&lb->cb))) {
    /* No enclave-mode logd boot entry before it: nothing claims a quote exists. */
    cid_set(r, CODEID_DEV, !co->allow_dev,
            co->allow_dev ? (lb ? "anchored by a --dev logd (--allow-dev)" : "no logd boot entry before it (--allow-dev)")
            : lb ? "anchored by a --dev logd: no quote (--allow-dev accepts it)"
                 : "no logd boot entry before it: no quote, no code identity (--allow-dev accepts it)");
  } else {
    char m[400];
    snprintf(m, sizeof m, "its attestation is %s", fr == FETCH_NOT_FOUND ? "missing" : ferr);
    cid_set(r, CODEID_FAILED, true, m);
  }
  free(d);
  if (r->failed)
    AUDIT_FAIL(a, "(e) anchored checkpoint %llu code identity: %s", (unsigned long long)an->size, r->message);
}

static int run_code_identity(audit *a, char *err, size_t errcap) {
  if (a->first == a->an.n) return 0;
  for (size_t i = 0; i < a->nboots; i++)
    if (boot_relevant(a, i)) check_boot_identity(a, &a->boots[i]);
  if (a->first > a->last || a->last >= a->an.n) return 0;
  for (size_t i = a->first; i <= a->last; i++) check_anchor_identity(a, i);
  return 0;
}

/* ---- the collector's build and egress against the policy (issue 14 item 5) ---- */

/* Whether boot b is a collector's (by component or by submitter: either claims it). */
static bool is_collector_boot(const boot_rec *b) {
  return !strcmp(b->component, "collector") || !strcmp(b->cb.submitter, "collector");
}

/* Every collector boot whose code ran in the window names a build and egress the policy
 * allows: without a "collector" member only the release build with the compiled TikTok
 * egress, so a test build (--api-base) in production fails by name. */
static int run_collector_build(audit *a, char *err, size_t errcap) {
  (void)err, (void)errcap;
  for (size_t i = 0; i < a->nboots; i++) {
    boot_rec *b = &a->boots[i];
    if (!is_collector_boot(b) || !boot_relevant(a, i)) continue;
    a->collector_boots++;
    if (audit_policy_collector_allowed(&a->pol, b->has_build ? b->build : NULL, b->has_egress ? b->egress : NULL))
      continue;
    a->collector_bad++;
    AUDIT_FAIL(a, "(collector) boot entry %llu: build %s%s%s with egress %s%s%s is not a collector build the policy "
               "allows (%s)",
               (unsigned long long)b->index, b->has_build ? "'" : "", b->has_build ? b->build : "(none)",
               b->has_build ? "'" : "", b->has_egress ? "'" : "", b->has_egress ? b->egress : "(none)",
               b->has_egress ? "'" : "",
               a->pol.collector_builtin ? "no collector member: the release build with egress '" AUDIT_POLICY_RELEASE_EGRESS
                                          "' alone"
                                        : "policy collector.builds");
  }
  return 0;
}

static void report_collector_build(const audit *a, json_t *o) {
  if (!o) {
    printf("\n(collector) builds: %llu collector boot%s judged, %llu not allowed (%s)\n",
           (unsigned long long)a->collector_boots, a->collector_boots == 1 ? "" : "s",
           (unsigned long long)a->collector_bad,
           a->pol.collector_builtin ? "built-in: release build, compiled TikTok egress" : "policy collector.builds");
    return;
  }
  json_t *allowed = json_array(), *boots = json_array();
  for (size_t i = 0; i < a->pol.ncollector; i++)
    json_array_append_new(allowed, json_pack("{s:s,s:s}", "build", a->pol.collector[i].build, "egress",
                                             a->pol.collector[i].egress));
  for (size_t i = 0; i < a->nboots; i++) {
    const boot_rec *b = &a->boots[i];
    if (!is_collector_boot(b) || !boot_relevant(a, i)) continue;
    json_t *x = json_pack("{s:I}", "index", (json_int_t)b->index);
    json_object_set_new(x, "build", b->has_build ? json_string(b->build) : json_null());
    json_object_set_new(x, "egress", b->has_egress ? json_string(b->egress) : json_null());
    json_object_set_new(x, "allowed", json_boolean(audit_policy_collector_allowed(
                                          &a->pol, b->has_build ? b->build : NULL, b->has_egress ? b->egress : NULL)));
    json_array_append_new(boots, x);
  }
  json_object_set_new(o, "collector_build",
                      json_pack("{s:s,s:o,s:o}", "rule", a->pol.collector_builtin ? "built-in" : "policy", "allowed",
                                allowed, "boots", boots));
}

/* A verified quote's TCB status ("UpToDate", "OutOfDate", ...) beside "verified". */
static const char *tcb_value(const codeid_result *r) {
  return r->status == CODEID_VERIFIED ? r->quote_status : "";
}
static const char *tcb_label(const codeid_result *r) { return tcb_value(r)[0] ? " TCB " : ""; }

static json_t *cid_json(const codeid_result *r) {
  if (r->status == CODEID_UNEXAMINED) return json_null();
  json_t *x = json_pack("{s:s,s:b}", "status", codeid_status_str(r->status), "failed", r->failed);
  if (r->quote_status[0]) json_object_set_new(x, "quote_status", json_string(r->quote_status));
  if (r->compose_hash[0]) json_object_set_new(x, "compose_hash", json_string(r->compose_hash));
  if (r->app_id[0]) json_object_set_new(x, "app_id", json_string(r->app_id));
  if (r->message[0]) json_object_set_new(x, "message", json_string(r->message));
  return x;
}


static void report_code_identity(const audit *a, json_t *o) {
  if (!o) {
    const codeid_opts *co = &a->co;
    printf("\nCode identity (TDX quotes: boot entries and window anchors; %s%s%s)\n",
           co->collateral ? "with collateral" : "no collateral", co->allow_simulated ? ", --allow-simulated" : "",
           co->allow_dev ? ", --allow-dev" : "");
    size_t shown = 0;
    for (size_t i = 0; i < a->nboots; i++) {
      const boot_rec *b = &a->boots[i];
      if (b->cid.status == CODEID_UNEXAMINED) continue;
      shown++;
      printf("    boot entry %-8llu %-10s %s%s%s%s%s%s%s\n", (unsigned long long)b->index,
             b->component[0] ? b->component : "?", codeid_status_str(b->cid.status), tcb_label(&b->cid),
             tcb_value(&b->cid), b->cid.compose_hash[0] ? "  compose_hash " : "", b->cid.compose_hash,
             b->cid.message[0] ? ": " : "", b->cid.message);
    }
    for (size_t i = a->first; a->first != a->an.n && i <= a->last; i++) {
      const codeid_result *x = &a->ast[i].cid;
      int kms = a->ast[i].kms;
      if (x->status == CODEID_UNEXAMINED) continue;
      shown++;
      printf("    checkpoint %-8llu %-10s %s%s%s%s%s%s%s%s\n", (unsigned long long)a->an.a[i].size, "(anchor)",
             codeid_status_str(x->status), tcb_label(x), tcb_value(x), x->compose_hash[0] ? "  compose_hash " : "",
             x->compose_hash, kms < 0 ? "" : kms ? "  KMS: allowed" : "  KMS: NOT ALLOWED", x->message[0] ? ": " : "",
             x->message);
    }
    if (!shown) printf("    (nothing to check)\n");
    return;
  }
  const codeid_opts *co = &a->co;
  json_object_set_new(o, "code_identity",
                      json_pack("{s:b,s:b,s:b,s:I}", "allow_simulated", co->allow_simulated, "allow_dev",
                                co->allow_dev, "collateral", co->collateral != NULL, "now", (json_int_t)co->now));
}

/* ---- evidence: quoted notes, boot keys, crediting, anchorers, bytecode, gaps, ts_ms
 * (issue 14 items 3 and 4; client/evidence.h) ---- */

/* Each evidence check's verdict and its items (block, tx, entry index, ...). */
typedef enum ev_verdict { EV_NOT_CHECKED = 0, EV_PASS, EV_FAIL } ev_verdict;

typedef struct ev_check {
  ev_verdict verdict;
  char why[300];   /* why not checked, or what was checked */
  json_t *items;   /* array of evidence objects, owned */
  uint64_t nfail;
} ev_check;

enum { EV_NOTES, EV_BOOT_KEYS, EV_CREDIT, EV_ANCHORERS, EV_BYTECODE, EV_GAP, EV_TS, EV_COUNT };
static const char *const ev_names[EV_COUNT] = {"quoted_notes", "boot_checkpoint_keys", "anchor_credit",
                                               "anchorers", "anchor_bytecode", "anchor_gaps", "entry_ts_ms"};

struct audit_evidence {
  evidence_policy pol;
  ev_check c[EV_COUNT];
  int64_t *credit; /* per anchor: the boot index its quote names, -1 none */
  uint64_t from_block; /* --from-block, else UINT64_MAX */
  uint64_t ts_checked;
};

static void ev_free(audit_evidence *ev) {
  if (!ev) return;
  for (int i = 0; i < EV_COUNT; i++) json_decref(ev->c[i].items);
  free(ev->credit);
  free(ev);
}

/* Starts check k: PASS until an item fails. */
static void ev_start(audit_evidence *ev, int k, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void ev_start(audit_evidence *ev, int k, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(ev->c[k].why, sizeof ev->c[k].why, fmt, ap);
  va_end(ap);
  ev->c[k].verdict = EV_PASS;
}

static void ev_skip(audit_evidence *ev, int k, const char *why) {
  ev->c[k].verdict = EV_NOT_CHECKED;
  snprintf(ev->c[k].why, sizeof ev->c[k].why, "%s", why);
}

/* Records item x (stolen) of check k; a failing one fails the audit with msg. */
static void ev_item(audit *a, int k, json_t *x, bool failed, const char *msg) {
  ev_check *c = &a->ev->c[k];
  if (!c->items) c->items = json_array();
  if (x && msg) json_object_set_new(x, failed ? "failure" : "note", json_string(msg));
  if (x) json_object_set_new(x, "ok", json_boolean(!failed));
  /* json_array_append_new frees x when it fails (also for a NULL array): never a
   * silently shorter list */
  if (!x || json_array_append_new(c->items, x)) {
    if (!failed) msg = "out of memory: an evidence item was lost";
    failed = true;
  }
  if (!failed) return;
  c->verdict = EV_FAIL;
  c->nfail++;
  AUDIT_FAIL(a, "(%s) %s", ev_names[k], msg);
}

static json_t *ev_anchor_json(const tlog_anchor *x) {
  char tx[67];
  xt_hex_encode0x(x->tx, 32, tx);
  return json_pack("{s:I,s:I,s:I,s:s}", "size", (json_int_t)x->size, "block", (json_int_t)x->block, "time",
                   (json_int_t)x->time, "tx", tx);
}

/* Before the anchors: the policy keys, and state that the replay's ts_ms check uses. */
static int ev_open(audit *a, char *err, size_t errcap) {
  a->ev = calloc(1, sizeof *a->ev);
  if (a->ev) a->ev->credit = malloc((a->an.n + 1) * sizeof *a->ev->credit);
  if (!a->ev || !a->ev->credit) {
    xt_errf(err, errcap, "out of memory");
    return TLOG_EXIT_USAGE;
  }
  for (size_t i = 0; i <= a->an.n; i++) a->ev->credit[i] = -1;
  a->ev->from_block = a->from_block;
  if (evidence_policy_load(a->args->policy_file, &a->ev->pol, err, errcap) != EVIDENCE_OK) return TLOG_EXIT_USAGE;
  return 0;
}

/* The note each window anchor's quote carries verifies with --key and equals the
 * Anchored event; without a quote, the log must keep the anchored note itself. */
static int run_quoted_notes(audit *a, char *err, size_t errcap) {
  (void)err, (void)errcap;
  if (a->first == a->an.n) return 0;
  audit_evidence *ev = a->ev;
  ev_start(ev, EV_NOTES, "each window anchor's quoted note verified with --key against the Anchored event");
  for (size_t i = a->first; i <= a->last; i++) {
    const tlog_anchor *an = &a->an.a[i];
    uint8_t *d = NULL;
    size_t n = 0;
    char ferr[300], m[700];
    int fr = codeid_fetch(a->l.src, false, an->size, &d, &n, ferr, sizeof ferr);
    json_t *x = ev_anchor_json(an);
    if (fr == FETCH_OK) {
      evidence_quoted_note q;
      char nerr[500];
      evidence_err er = evidence_check_quoted_note(&a->l.v, a->l.cp.c.origin, an->size, an->root,
                                                   an->checkpoint_hash, d, n, &q, nerr, sizeof nerr);
      if (q.has_boot_index) ev->credit[i] = (int64_t)q.boot_index;
      json_object_set_new(x, "source", json_string("quote"));
      snprintf(m, sizeof m, "anchored checkpoint %llu (block %llu): %s", (unsigned long long)an->size,
               (unsigned long long)an->block, nerr);
      ev_item(a, EV_NOTES, x, er != EVIDENCE_OK, er != EVIDENCE_OK ? m : NULL);
    } else if (a->ast[i].note == NOTE_VERIFIED) {
      json_object_set_new(x, "source", json_string("log (no quote)"));
      ev_item(a, EV_NOTES, x, false, NULL);
    } else {
      snprintf(m, sizeof m, "anchored checkpoint %llu (block %llu): no note: neither quoted (%s) nor kept by the log",
               (unsigned long long)an->size, (unsigned long long)an->block,
               fr == FETCH_NOT_FOUND ? "no attestation" : ferr);
      ev_item(a, EV_NOTES, x, true, m);
    }
    free(d);
  }
  return 0;
}

/* Every logd boot entry names the auditor's key as its checkpoint key. */
static int run_boot_keys(audit *a, char *err, size_t errcap) {
  (void)err, (void)errcap;
  ev_start(a->ev, EV_BOOT_KEYS, "every logd boot entry's checkpoint_key is --key");
  for (size_t i = 0; i < a->nboots; i++) {
    const boot_rec *b = &a->boots[i];
    if (strcmp(b->component, "logd")) continue;
    bool same = evidence_same_key(&a->l.v, b->cb.checkpoint_key);
    char m[600];
    snprintf(m, sizeof m, "boot entry %llu: checkpoint_key %.300s is not --key", (unsigned long long)b->index,
             b->cb.checkpoint_key[0] ? b->cb.checkpoint_key : "(none)");
    ev_item(a, EV_BOOT_KEYS, json_pack("{s:I,s:s}", "entry", (json_int_t)b->index, "checkpoint_key",
                                       b->cb.checkpoint_key),
            !same, same ? NULL : m);
  }
  return 0;
}

static boot_rec *boot_at(audit *a, uint64_t index) {
  for (size_t i = 0; i < a->nboots; i++)
    if (a->boots[i].index == index) return &a->boots[i];
  return NULL;
}

static const char *no0x(const char *s) { return (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) ? s + 2 : s; }

static bool boot_verified(audit *a, boot_rec *b);

/* Why the boot a quote names cannot have anchored anchor i, or NULL. */
static const char *credit_problem(audit *a, size_t i, boot_rec *b) {
  const codeid_result *r = &a->ast[i].cid;
  if (a->ev->credit[i] < 0) return "its quote names no boot";
  if (!b) return "its quote names a boot index that is no boot entry";
  if (strcmp(b->cb.submitter, "logd") || strcmp(b->component, "logd")) return "its quote names a boot that is not logd's";
  if (b->index >= a->an.a[i].size) return "its quote names a boot after the anchored size";
  if (r->compose_hash[0] && strcasecmp(no0x(r->compose_hash), no0x(b->compose_hash)))
    return "its quote's compose hash is not the named boot's";
  if (!boot_verified(a, b)) return "its quote names a boot whose own quote did not verify";
  return NULL;
}

/* Each window anchor's entries (from the previous anchor's size) are credited to the
 * boot its quote names, which must be a logd boot running the quoted code. */
static int run_anchor_credit(audit *a, char *err, size_t errcap) {
  (void)err, (void)errcap;
  if (a->first == a->an.n) return 0;
  ev_start(a->ev, EV_CREDIT, "each window anchor's entries credited to the boot its quote names");
  for (size_t i = a->first; i <= a->last; i++) {
    const tlog_anchor *an = &a->an.a[i];
    if (a->ast[i].cid.status == CODEID_DEV) {
      /* a --dev logd quotes nothing: the code identity check judges that */
      ev_item(a, EV_CREDIT, ev_anchor_json(an), false, "anchored by a --dev logd: no quote names a boot");
      continue;
    }
    boot_rec *b = a->ev->credit[i] >= 0 ? boot_at(a, (uint64_t)a->ev->credit[i]) : NULL;
    const char *p = credit_problem(a, i, b);
    uint64_t from = i ? a->an.a[i - 1].size : 0;
    json_t *x = ev_anchor_json(an);
    json_object_set_new(x, "entries_from", json_integer((json_int_t)from));
    json_object_set_new(x, "boot", a->ev->credit[i] < 0 ? json_null() : json_integer(a->ev->credit[i]));
    char m[400];
    snprintf(m, sizeof m, "anchored checkpoint %llu (block %llu, entries %llu..%llu): %s",
             (unsigned long long)an->size, (unsigned long long)an->block, (unsigned long long)from,
             (unsigned long long)(an->size ? an->size - 1 : 0), p ? p : "");
    ev_item(a, EV_CREDIT, x, p != NULL, p ? m : NULL);
  }
  return 0;
}

/* Whether boot b's code identity passed (examining it first when it was not). */
static bool boot_verified(audit *a, boot_rec *b) {
  if (b->cid.status == CODEID_UNEXAMINED) check_boot_identity(a, b);
  return !b->cid.failed && b->cid.status != CODEID_NOT_CHECKED && b->cid.status != CODEID_UNEXAMINED;
}

/* Whether some verified logd boot quoted addr as its anchor address. */
static bool anchorer_quoted(audit *a, const uint8_t addr[20]) {
  for (size_t i = 0; i < a->nboots; i++) {
    boot_rec *b = &a->boots[i];
    uint8_t x[20];
    if (strcmp(b->cb.submitter, "logd") ||
        xt_hex_decode_exact(b->cb.anchor_address, XT_HEX_0X, x, 20) != XT_OK || memcmp(x, addr, 20))
      continue;
    if (boot_verified(a, b)) return true;
  }
  return false;
}

static eth_rpc *ev_rpc(audit *a, char *err, size_t errcap) {
  eth_rpc *r = eth_rpc_new(a->args->rpc, err, errcap);
  if (!r) xt_errf(err, errcap, "--rpc: cannot open the node");
  return r;
}

/* The policy's anchor contract is --contract. Returns 0 when the chain checks apply. */
static int ev_contract_ok(audit *a, int k, uint8_t contract[20]) {
  if (!a->args->rpc) {
    ev_skip(a->ev, k, "anchors from a file: no chain to read");
    return -1;
  }
  if (!a->ev->pol.has_anchor) {
    ev_skip(a->ev, k, "the policy has no contracts.anchor");
    return -1;
  }
  if (xt_hex_decode_exact(a->args->contract, XT_HEX_0X, contract, 20) != XT_OK ||
      memcmp(contract, a->ev->pol.anchor_address, 20)) {
    ev_start(a->ev, k, "--contract against the policy");
    ev_item(a, k, json_pack("{s:s}", "contract", a->args->contract), true,
            "--contract is not the policy's contracts.anchor.address");
    return -1;
  }
  return 0;
}

/* Every anchorer the contract ever accepted for this log is the quoted anchor address
 * of a verified logd boot. */
static int run_anchorers(audit *a, char *err, size_t errcap) {
  uint8_t contract[20], log_id[32];
  if (ev_contract_ok(a, EV_ANCHORERS, contract)) return 0;
  const evidence_policy *p = &a->ev->pol;
  uint64_t from = a->ev->from_block != UINT64_MAX ? a->ev->from_block
                  : p->has_deployment_block    ? p->deployment_block
                                               : UINT64_MAX;
  eth_rpc *r = ev_rpc(a, err, errcap);
  if (!r) return TLOG_EXIT_USAGE;
  tlog_sha256(a->l.cp.c.origin, strlen(a->l.cp.c.origin), log_id); /* TreeHeadAnchor's log id */
  evidence_anchorers l;
  char lerr[500];
  evidence_err er = evidence_anchorers_load(r, NULL, contract, log_id, from, &l, lerr, sizeof lerr);
  eth_rpc_free(r);
  if (er != EVIDENCE_OK) {
    xt_errf(err, errcap, "anchorers: %s", lerr);
    return TLOG_EXIT_USAGE;
  }
  ev_start(a->ev, EV_ANCHORERS, "Registered/Rotated events of blocks %llu..%llu", (unsigned long long)l.from,
           (unsigned long long)l.to);
  if (l.n == 0) ev_item(a, EV_ANCHORERS, json_object(), true, "no anchorer was ever registered for this log in the scanned blocks");
  for (size_t i = 0; i < l.n; i++) {
    const evidence_anchorer *x = &l.a[i];
    char addr[43], tx[67], m[400];
    xt_hex_encode0x(x->address, 20, addr);
    xt_hex_encode0x(x->tx, 32, tx);
    bool ok = anchorer_quoted(a, x->address);
    snprintf(m, sizeof m, "anchorer %s (%s in block %llu, tx %s) is no verified boot's quoted anchor_address", addr,
             x->rotated ? "Rotated" : "Registered", (unsigned long long)x->block, tx);
    ev_item(a, EV_ANCHORERS,
            json_pack("{s:s,s:s,s:I,s:s}", "anchorer", addr, "event", x->rotated ? "Rotated" : "Registered", "block",
                      (json_int_t)x->block, "tx", tx),
            !ok, ok ? NULL : m);
  }
  evidence_anchorers_free(&l);
  return 0;
}

/* eth_getCode of the anchor contract hashes to the policy's bytecode hash. */
static int run_anchor_bytecode(audit *a, char *err, size_t errcap) {
  uint8_t contract[20], h[32];
  if (ev_contract_ok(a, EV_BYTECODE, contract)) return 0;
  if (!a->ev->pol.has_bytecode_hash) {
    ev_skip(a->ev, EV_BYTECODE, "the policy has no contracts.anchor.bytecode_hash");
    return 0;
  }
  eth_rpc *r = ev_rpc(a, err, errcap);
  if (!r) return TLOG_EXIT_USAGE;
  char cerr[300];
  evidence_err er = evidence_code_hash(r, contract, h, cerr, sizeof cerr);
  eth_rpc_free(r);
  if (er == EVIDENCE_ERR_RPC) {
    xt_errf(err, errcap, "anchor bytecode: %s", cerr);
    return TLOG_EXIT_USAGE;
  }
  char got[67], want[67], m[500];
  xt_hex_encode0x(h, 32, got);
  xt_hex_encode0x(a->ev->pol.bytecode_hash, 32, want);
  ev_start(a->ev, EV_BYTECODE, "keccak-256 of eth_getCode(%s) at the newest block", a->args->contract);
  bool ok = er == EVIDENCE_OK && !memcmp(h, a->ev->pol.bytecode_hash, 32);
  snprintf(m, sizeof m, "the anchor contract's runtime code hashes to %s, the policy says %s", er ? cerr : got, want);
  ev_item(a, EV_BYTECODE, json_pack("{s:s,s:s}", "code_hash", er ? "" : got, "policy", want), !ok, ok ? NULL : m);
  return 0;
}

/* The end of the window in block time: its last second, or the newest block's time
 * when the window reaches past it. Returns 0, or TLOG_EXIT_USAGE with err. */
static int ev_window_end(audit *a, uint64_t *end, char *err, size_t errcap) {
  *end = a->t_end;
  uint64_t now = (uint64_t)a->co.now;
  if (a->args->rpc) {
    eth_rpc *r = ev_rpc(a, err, errcap);
    eth_block b;
    int found = 0;
    if (!r || eth_get_block_by_number(r, ETH_BLOCK_LATEST, &b, &found) != ETH_RPC_OK || !found) {
      if (r) xt_errf(err, errcap, "anchor gaps: the newest block: %s", eth_rpc_error(r));
      eth_rpc_free(r);
      return TLOG_EXIT_USAGE;
    }
    eth_rpc_free(r);
    now = b.timestamp;
  }
  if (now < *end) *end = now;
  return 0;
}

static void ev_gap(audit *a, uint64_t t0, uint64_t t1, const char *what, json_t *x) {
  uint64_t max = a->ev->pol.max_anchor_gap, gap = t1 > t0 ? t1 - t0 : 0;
  char m[400];
  snprintf(m, sizeof m, "%s: %llu s of block time without an anchor, over max_anchor_gap %llu s", what,
           (unsigned long long)gap, (unsigned long long)max);
  json_object_set_new(x, "gap_s", json_integer((json_int_t)gap));
  ev_item(a, EV_GAP, x, gap > max, gap > max ? m : NULL);
}

/* Consecutive window anchors, and the window's edges and their nearest anchors, lie at
 * most max_anchor_gap apart in block time (a log that started in the window has no
 * start edge: nothing existed to anchor before its first anchor). */
static int run_anchor_gaps(audit *a, char *err, size_t errcap) {
  if (!a->ev->pol.has_max_anchor_gap) {
    ev_skip(a->ev, EV_GAP, "the policy has no max_anchor_gap");
    return 0;
  }
  if (a->first == a->an.n) return 0;
  uint64_t end;
  int rc = ev_window_end(a, &end, err, errcap);
  if (rc) return rc;
  ev_start(a->ev, EV_GAP, "max_anchor_gap %llu s", (unsigned long long)a->ev->pol.max_anchor_gap);
  char m[300];
  const tlog_anchor *f = &a->an.a[a->first], *l = &a->an.a[a->last];
  if (a->first > 0) {
    snprintf(m, sizeof m, "from the window's start to the anchor of block %llu", (unsigned long long)f->block);
    ev_gap(a, a->t_from, f->time, m, json_pack("{s:s,s:o}", "from", "window start", "to", ev_anchor_json(f)));
  }
  for (size_t i = a->first + 1; i <= a->last; i++) {
    const tlog_anchor *p = &a->an.a[i - 1], *c = &a->an.a[i];
    snprintf(m, sizeof m, "between the anchors of blocks %llu and %llu (sizes %llu, %llu)", (unsigned long long)p->block,
             (unsigned long long)c->block, (unsigned long long)p->size, (unsigned long long)c->size);
    ev_gap(a, p->time, c->time, m, json_pack("{s:o,s:o}", "from", ev_anchor_json(p), "to", ev_anchor_json(c)));
  }
  snprintf(m, sizeof m, "from the anchor of block %llu to the window's end (or the newest block)",
           (unsigned long long)l->block);
  ev_gap(a, l->time, end, m, json_pack("{s:o,s:s}", "from", ev_anchor_json(l), "to", "window end"));
  return 0;
}

/* Every window entry's ts_ms lies between the block times of the anchors around it
 * (the one before it, the one covering it), with the policy's tolerance. Items only
 * for entries that fail, so a million-entry window stays a small report. */
static int entry_ts_ms(audit *a, const audit_entry *e) {
  audit_evidence *ev = a->ev;
  if (!ev || !ev->pol.has_ts_tolerance || !e->in_window || a->cover >= a->an.n) return 0;
  if (ev->c[EV_TS].verdict == EV_NOT_CHECKED && !ev->c[EV_TS].nfail)
    ev_start(ev, EV_TS, "ts_ms_tolerance_s %llu", (unsigned long long)ev->pol.ts_ms_tolerance_s);
  ev->ts_checked++;
  uint64_t tol = ev->pol.ts_ms_tolerance_s, ts, hi = a->an.a[a->cover].time + tol;
  uint64_t lo = a->cover > 0 ? a->an.a[a->cover - 1].time : 0;
  lo = lo > tol ? lo - tol : 0;
  char m[400];
  if (evidence_entry_ts_ms(e->data, e->len, &ts)) {
    snprintf(m, sizeof m, "entry %llu has no ts_ms", (unsigned long long)e->index);
  } else if (ts / 1000 < lo || ts / 1000 > hi) {
    snprintf(m, sizeof m, "entry %llu: ts_ms %llu lies outside [%llu, %llu] s (the anchors around it, +- %llu s)",
             (unsigned long long)e->index, (unsigned long long)ts, (unsigned long long)lo, (unsigned long long)hi,
             (unsigned long long)tol);
  } else {
    return 0;
  }
  if (ev->c[EV_TS].nfail < 50)
    ev_item(a, EV_TS, json_pack("{s:I,s:o}", "entry", (json_int_t)e->index, "covering_anchor",
                                ev_anchor_json(&a->an.a[a->cover])), true, m);
  else {
    ev->c[EV_TS].nfail++;
    AUDIT_FAIL(a, "(%s) %s", ev_names[EV_TS], m);
  }
  return 0;
}

static int run_ts_ms(audit *a, char *err, size_t errcap) {
  (void)err, (void)errcap;
  if (!a->ev->pol.has_ts_tolerance) ev_skip(a->ev, EV_TS, "the policy has no ts_ms_tolerance_s");
  else if (a->ev->c[EV_TS].verdict == EV_PASS)
    snprintf(a->ev->c[EV_TS].why, sizeof a->ev->c[EV_TS].why, "%llu window entries within their anchors +- %llu s",
             (unsigned long long)a->ev->ts_checked, (unsigned long long)a->ev->pol.ts_ms_tolerance_s);
  return 0;
}

static const char *ev_verdict_str(ev_verdict v) {
  return v == EV_PASS ? "pass" : v == EV_FAIL ? "FAIL" : "not checked";
}

/* One report for every evidence check: the text section, or JSON "evidence". */
static void report_evidence(const audit *a, json_t *o) {
  const audit_evidence *ev = a->ev;
  if (!ev) return;
  if (!o) {
    printf("\nEvidence (quoted notes, boot keys, crediting, anchorers, contract code, gaps, ts_ms)\n");
    for (int k = 0; k < EV_COUNT; k++)
      printf("    %-22s %-11s %s\n", ev_names[k], ev_verdict_str(ev->c[k].verdict), ev->c[k].why);
    return;
  }
  json_t *x = json_object();
  for (int k = 0; k < EV_COUNT; k++) {
    const ev_check *c = &ev->c[k];
    json_t *items = c->items ? json_incref(c->items) : json_array();
    json_object_set_new(x, ev_names[k],
                        json_pack("{s:s,s:s,s:o}", "verdict", ev_verdict_str(c->verdict), "detail", c->why, "items",
                                  items));
  }
  json_object_set_new(o, "evidence", x);
}

/* The rows below share one report: report_evidence is on the last. */
static void report_none(const audit *a, json_t *o) { (void)a, (void)o; }

/* ---- the report for people's data: per-day counts and the KMS history (report.h) ---- */

static int entry_per_day(audit *a, const audit_entry *e) {
  if (!e->in_window || a->cover >= a->an.n) return 0;
  if (report_daily_add(&a->daily, a->an.a[a->cover].time, e->s)) {
    snprintf(a->stop, sizeof a->stop, "out of memory");
    return 2;
  }
  return 0;
}

static void report_per_day(const audit *a, json_t *o) {
  if (o) json_object_set_new(o, "per_day", report_daily_json(&a->daily));
}

static void report_kms_history(const audit *a, json_t *o) {
  if (o && a->have_kh) json_object_set_new(o, "kms_history", report_kms_json(&a->kh));
}

/* ---- (c) the collector's users and its signed user counts (client/usercount.h) ---- */

static int entry_user_count(audit *a, const audit_entry *e) {
  if (!a->uc && !(a->uc = usercount_new())) {
    snprintf(a->stop, sizeof a->stop, "out of memory");
    return 2;
  }
  char why[400];
  usercount_verdict v = usercount_entry(a->uc, e->index, e->data, e->len, e->s, e->in_window, why, sizeof why);
  if (v == USERCOUNT_FAIL) AUDIT_FAIL(a, "(c) %s", why);
  if (v != USERCOUNT_ENOMEM) return 0;
  snprintf(a->stop, sizeof a->stop, "out of memory");
  return 2;
}

/* After code identity: a statement is evidence only from a boot whose quote (binding
 * the signing key) did not fail. */
static int run_user_count(audit *a, char *err, size_t errcap) {
  (void)err;
  (void)errcap;
  size_t n = 0;
  const usercount_statement *st = a->uc ? usercount_statements(a->uc, &n) : NULL;
  for (size_t i = 0; i < n; i++) {
    const boot_rec *b = boot_at(a, st[i].boot_index);
    if (b && b->cid.failed)
      AUDIT_FAIL(a, "(c) entry %llu: user_count signed by collector boot %llu, whose code identity failed",
                 (unsigned long long)st[i].index, (unsigned long long)st[i].boot_index);
  }
  return 0;
}

static void report_user_count(const audit *a, json_t *o) {
  usercount_totals t = {0, 0, 0, 0, 0, 0};
  size_t n = 0;
  const usercount_statement *st = NULL;
  if (a->uc) {
    usercount_get_totals(a->uc, &t);
    st = usercount_statements(a->uc, &n);
  }
  if (!o) {
    printf("\n(c) users by the collector's signed counts (only the collector's own entries count)\n");
    printf("    credentials stored per the log: %llu; %llu credential or user_count entries in the window by "
           "another writer (not counted)\n",
           (unsigned long long)t.stored, (unsigned long long)t.foreign);
    if (!n) printf("    (no user_count statement in the window)\n");
    for (size_t i = 0; i < n; i++)
      printf("    entry %-8llu attests %llu users as of index %llu; the log shows %llu  %s\n",
             (unsigned long long)st[i].index, (unsigned long long)st[i].attested,
             (unsigned long long)st[i].as_of_index, (unsigned long long)st[i].in_log,
             st[i].verified ? "verified" : "FAILED");
    return;
  }
  json_t *arr = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(arr, json_pack("{s:I,s:I,s:I,s:I,s:I,s:b}", "index", (json_int_t)st[i].index,
                                         "as_of_index", (json_int_t)st[i].as_of_index, "boot_index",
                                         (json_int_t)st[i].boot_index, "attested", (json_int_t)st[i].attested,
                                         "in_log", (json_int_t)st[i].in_log, "verified", st[i].verified));
  json_object_set_new(o, "user_count",
                      json_pack("{s:o,s:I,s:I}", "statements", arr, "stored_in_log", (json_int_t)t.stored,
                                "foreign_entries", (json_int_t)t.foreign));
}

/* ---- the policy: everything the KMS contracts ever allowed, creation to the window's end ---- */

/* DstackApp's initializer sets allowAnyDevice and requireTcbUpToDate without an event
 * (dstack kms/auth-eth DstackApp._initializeCommon), so events alone cannot say how the
 * app started: its state is read from the chain. Without an event changing the flag its
 * value now is its value since initialisation; with one, the value at the block of the
 * Initialized event is read (a node without old state then leaves it unchecked). */
static void kms_app_flag(audit *a, eth_rpc *r, const kms_event *init, const char *getter, kms_event_kind setter,
                         int bad_value, const char *meaning) {
  bool changed = false;
  for (size_t i = 0; i < a->kh.n && !changed; i++)
    changed = a->kh.events[i].contract == KMS_CONTRACT_APP && a->kh.events[i].kind == setter;
  int v;
  char ferr[400], tx[67];
  xt_hex_encode0x(init->tx_hash, 32, tx);
  uint64_t at = changed ? init->block_number : ETH_BLOCK_LATEST;
  if (kms_read_flag(r, a->app_addr, getter, at, &v, ferr, sizeof ferr) != KMS_OK) {
    AUDIT_INCOMPLETE(a, "(kms) DstackApp %s at its initialisation (block %llu) could not be read: %s", getter,
                     (unsigned long long)init->block_number, ferr);
    return;
  }
  if (v < 0) v = 0; /* an implementation without the getter: the flag is off */
  if (v != bad_value) return;
  a->kms_bad++;
  AUDIT_FAIL(a, "(kms) DstackApp was initialised with %s = %s, set without an event (read from the contract's "
             "state%s): %s (block %llu, tx %s)",
             getter, v ? "true" : "false", changed ? " at that block" : "; no event changed it since", meaning,
             (unsigned long long)init->block_number, tx);
}

static void kms_app_state(audit *a) {
  const kms_event *init = NULL;
  for (size_t i = 0; i < a->kh.n && !init; i++)
    if (a->kh.events[i].contract == KMS_CONTRACT_APP && a->kh.events[i].kind == KMS_INITIALIZED) init = &a->kh.events[i];
  if (!init || !a->args->rpc) return; /* no Initialized: run_kms_all_time fails it */
  char rerr[300];
  eth_rpc *r = eth_rpc_new(a->args->rpc, rerr, sizeof rerr);
  if (!r) {
    AUDIT_INCOMPLETE(a, "(kms) DstackApp state not read: %s", rerr);
    return;
  }
  kms_app_flag(a, r, init, "allowAnyDevice()", KMS_ALLOW_ANY_DEVICE_SET, 1,
               "any machine could get the app's keys");
  if (a->pol.has[AUDIT_POLICY_PLATFORM] && audit_policy_tcb_up_to_date_only(&a->pol))
    kms_app_flag(a, r, init, "requireTcbUpToDate()", KMS_REQUIRE_TCB_UP_TO_DATE_SET, 0,
                 "machines whose TCB is not up to date could get the app's keys, and the policy's platform.tcb "
                 "admits UpToDate only");
  eth_rpc_free(r);
}

static int run_kms_all_time(audit *a, char *err, size_t errcap) {
  (void)err;
  (void)errcap;
  if (!a->have_kh) return 0; /* completeness names why */
  kms_app_state(a);
  bool initialized[2] = {false, false};
  for (size_t i = 0; i < a->kh.n; i++) {
    const kms_event *e = &a->kh.events[i];
    if (e->block_time >= a->t_end) break; /* chain order: later ones are after the window */
    a->kms_judged++;
    if (e->kind == KMS_INITIALIZED) initialized[e->contract == KMS_CONTRACT_KMS] = true;
    char why[300], tx[67];
    if (!audit_policy_kms_event_bad(&a->pol, e, why, sizeof why)) continue;
    a->kms_bad++;
    xt_hex_encode0x(e->tx_hash, 32, tx);
    AUDIT_FAIL(a, "(kms) %s (block %llu, tx %s)", why, (unsigned long long)e->block_number, tx);
  }
  /* dstack's contracts are initialised proxies: a history without the initialisation
   * does not start at the creation (a created_block too late), and hides what the
   * contract allowed first. */
  for (int k = 0; a->pol.has[AUDIT_POLICY_CONTRACTS] && k < 2; k++)
    if (!initialized[k])
      AUDIT_FAIL(a, "(kms) the %s history from block %llu holds no Initialized event: it does not reach the "
                 "contract's creation (the policy's created_block is too late?)",
                 k ? "DstackKms" : "DstackApp", (unsigned long long)a->kh.from_block);
  return 0;
}

static void report_kms_all_time(const audit *a, json_t *o) {
  char app[43] = "", kms[43] = "";
  if (a->have_app) xt_hex_encode0x(a->app_addr, 20, app);
  if (a->have_kms) xt_hex_encode0x(a->kms_addr, 20, kms);
  if (!o) {
    printf("\n(kms) all-time KMS history (DstackApp %s, DstackKms %s)\n", app[0] ? app : "-", kms[0] ? kms : "-");
    if (!a->have_kh)
      printf("    not read\n");
    else
      printf("    %llu events from block %llu to the window's end: %llu against the policy\n",
             (unsigned long long)a->kms_judged, (unsigned long long)a->kh.from_block,
             (unsigned long long)a->kms_bad);
    return;
  }
  json_t *x = json_pack("{s:b,s:I,s:I}", "read", a->have_kh, "events", (json_int_t)a->kms_judged, "against_policy",
                        (json_int_t)a->kms_bad);
  json_object_set_new(x, "dstack_app", app[0] ? json_string(app) : json_null());
  json_object_set_new(x, "dstack_kms", kms[0] ? json_string(kms) : json_null());
  if (a->have_kh) {
    json_object_set_new(x, "from_block", json_integer((json_int_t)a->kh.from_block));
    json_object_set_new(x, "to_block", json_integer((json_int_t)a->kh.to_block));
  }
  json_object_set_new(o, "kms_all_time", x);
}

/* ---- the policy's platform on every judged quote (codeid_check_platform) ---- */

static void platform_one(audit *a, const codeid_result *r, const char *what, uint64_t n) {
  if (r->status != CODEID_VERIFIED && r->status != CODEID_SIMULATED) return; /* judged by code_identity */
  a->platform_checked++;
  char why[400];
  bool ok = codeid_check_platform(r, &a->pol, a->app_addr, why, sizeof why);
  uint8_t ch[32];
  if (ok && a->pol.has[AUDIT_POLICY_RELEASES] &&
      (xt_hex_decode_exact(r->compose_hash, XT_HEX_0X, ch, 32) != XT_OK || !audit_policy_release_of(&a->pol, ch))) {
    snprintf(why, sizeof why, "its compose hash %.64s is not one of the policy's releases", r->compose_hash);
    ok = false;
  }
  if (ok) return;
  a->platform_bad++;
  AUDIT_FAIL(a, "(platform) %s %llu: %s", what, (unsigned long long)n, why);
}

static int run_platform(audit *a, char *err, size_t errcap) {
  (void)err;
  (void)errcap;
  if (!a->pol.has[AUDIT_POLICY_PLATFORM] || !a->have_app) return 0; /* completeness names why */
  for (size_t i = 0; i < a->nboots; i++) platform_one(a, &a->boots[i].cid, "boot entry", a->boots[i].index);
  for (size_t i = a->first; a->first != a->an.n && i <= a->last; i++)
    platform_one(a, &a->ast[i].cid, "anchored checkpoint", a->an.a[i].size);
  return 0;
}

/* The platform facts of one quote, as evidence in the JSON report. */
static json_t *platform_json(const codeid_result *r, const char *kind, uint64_t n) {
  char h[97];
  json_t *x = json_pack("{s:s,s:I,s:s,s:s}", "kind", kind, "n", (json_int_t)n, "status",
                        codeid_status_str(r->status), "os_image_hash", r->os_image_hash);
  xt_hex_encode(r->mrtd, 48, h);
  json_object_set_new(x, "mrtd", json_string(h));
  static const char *const rtmr_keys[3] = {"rtmr0", "rtmr1", "rtmr2"};
  for (int i = 0; i < 3; i++) {
    xt_hex_encode(r->rtmr[i], 48, h);
    json_object_set_new(x, rtmr_keys[i], json_string(h));
  }
  json_object_set_new(x, "key_provider",
                      json_pack("{s:s,s:s}", "name", r->key_provider_name, "id", r->key_provider_id));
  json_object_set_new(x, "app_id", json_string(r->app_id));
  json_object_set_new(x, "mr_config", json_pack("{s:i,s:s}", "form", r->mr_config_version, "hash", r->mr_config_hash));
  json_object_set_new(x, "tcb_status", json_string(r->quote_status));
  json_object_set_new(x, "advisories", json_string(r->advisories));
  return x;
}

static void report_platform(const audit *a, json_t *o) {
  if (!o) {
    printf("\n(platform) quotes against the policy's platform: ");
    if (!a->pol.has[AUDIT_POLICY_PLATFORM] || !a->have_app)
      printf("not checked\n");
    else
      printf("%llu checked, %llu failed\n", (unsigned long long)a->platform_checked,
             (unsigned long long)a->platform_bad);
    return;
  }
  json_t *q = json_array();
  for (size_t i = 0; i < a->nboots; i++)
    if (a->boots[i].cid.have_platform) json_array_append_new(q, platform_json(&a->boots[i].cid, "boot", a->boots[i].index));
  for (size_t i = a->first; a->first != a->an.n && i <= a->last; i++)
    if (a->ast[i].cid.have_platform) json_array_append_new(q, platform_json(&a->ast[i].cid, "checkpoint", a->an.a[i].size));
  json_object_set_new(o, "platform", json_pack("{s:b,s:I,s:I,s:o}", "checked", a->pol.has[AUDIT_POLICY_PLATFORM] && a->have_app,
                                               "quotes", (json_int_t)a->platform_checked, "failed",
                                               (json_int_t)a->platform_bad, "quote_facts", q));
}

/* ---- completeness: what the audit could not check makes it INCOMPLETE ---- */

static const char *const section_missing[AUDIT_POLICY_SECTIONS] = {
    "the policy has no egress section: api_call intents were judged by the built-in rule, not a published allowlist",
    "the policy has no releases section: compose hashes were not compared with reviewed releases",
    "the policy has no platform section: the quotes' OS image, KMS, app id and TCB status were not checked",
    "the policy has no contracts section: the KMS contracts' implementations and owners were not checked",
};

static int run_completeness(audit *a, char *err, size_t errcap) {
  (void)err;
  (void)errcap;
  for (int s = 0; s < AUDIT_POLICY_SECTIONS; s++)
    if (!a->pol.has[s]) AUDIT_INCOMPLETE(a, "%s", section_missing[s]);
  if (!a->args->rpc)
    AUDIT_INCOMPLETE(a, "anchors from a file (--anchors), not the chain: the anchors and the KMS history were not "
                        "read from the chain");
  else if (!a->have_app)
    AUDIT_INCOMPLETE(a, "no DstackApp address (--app or the policy's contracts): what the KMS allowed was not checked");
  if (a->args->rpc && a->have_app && !a->have_kms)
    AUDIT_INCOMPLETE(a, "no DstackKms address (the policy's contracts): the OS images and upgrades of the KMS were "
                        "not checked");
  /* A boot entry whose quote could not be judged proves nothing about its code. */
  for (size_t i = 0; i < a->nboots; i++) {
    const boot_rec *b = &a->boots[i];
    if (b->cid.status == CODEID_NOT_CHECKED && !b->cid.failed)
      AUDIT_INCOMPLETE(a, "boot entry %llu (%s) code identity not checked: %s", (unsigned long long)b->index,
                       b->component[0] ? b->component : "?", b->cid.message);
  }
  for (size_t i = a->first; a->ast && i <= a->last && i < a->an.n; i++)
    if (a->ast[i].cid.status == CODEID_NOT_CHECKED && !a->ast[i].cid.failed)
      AUDIT_INCOMPLETE(a, "anchored checkpoint %llu code identity not checked: %s",
                       (unsigned long long)a->an.a[i].size, a->ast[i].cid.message);
  /* An evidence check skipped for want of its policy key (contracts.anchor,
   * max_anchor_gap, ts_ms_tolerance_s) left something unproven. */
  for (int k = 0; a->ev && k < EV_COUNT; k++)
    if (a->ev->c[k].verdict == EV_NOT_CHECKED && a->ev->c[k].why[0])
      AUDIT_INCOMPLETE(a, "%s not checked: %s", ev_names[k], a->ev->c[k].why);
  return 0;
}

static void report_completeness(const audit *a, json_t *o) {
  if (!o) {
    printf("\npolicy: %s (sections:", a->pol.source);
    for (int s = 0; s < AUDIT_POLICY_SECTIONS; s++)
      printf(" %s%s", audit_policy_section_name(s), a->pol.has[s] ? "" : " MISSING");
    printf(")\n");
    return;
  }
  json_t *sec = json_object();
  for (int s = 0; s < AUDIT_POLICY_SECTIONS; s++)
    json_object_set_new(sec, audit_policy_section_name(s), json_boolean(a->pol.has[s]));
  json_object_set_new(o, "policy", json_pack("{s:s,s:o}", "source", a->pol.source, "sections", sec));
  json_t *inc = json_array();
  for (size_t i = 0; i < a->inc.n; i++) json_array_append_new(inc, json_string(a->inc.msg[i]));
  json_object_set_new(o, "incomplete", inc);
}

/* ---- the table ---- */

static const audit_check checks[] = {
    {"evidence_policy", ev_open, NULL, false, report_none},                /* policy keys */
    {"anchors", run_anchors, NULL, false, report_anchors},                 /* (a) */
    {"replay", run_replay, NULL, false, report_replay},                    /* (b) */
    {"direct_messages", NULL, entry_dm, true, report_dm},                  /* (d) */
    {"well_formed", NULL, entry_form, true, report_types},                 /* every entry an event */
    {"users", NULL, entry_users, false, report_users},                     /* (c) */
    {"api_calls", NULL, entry_api_calls, false, report_api_calls},         /* (d) */
    {"boots", run_boots_kms, entry_boots, false, report_boots},            /* (e) */
    {"code_identity", run_code_identity, NULL, false, report_code_identity},
    {"collector_build", run_collector_build, NULL, false, report_collector_build}, /* policy: collector */
    {"user_count", run_user_count, entry_user_count, false, report_user_count}, /* (c) */
    {"kms_all_time", run_kms_all_time, NULL, false, report_kms_all_time}, /* policy: releases, contracts */
    {"platform", run_platform, NULL, false, report_platform},             /* policy: platform */
    {"per_day", NULL, entry_per_day, false, report_per_day},               /* charts */
    {"kms_history", NULL, NULL, false, report_kms_history},                /* with --app */
    {"quoted_notes", run_quoted_notes, NULL, false, report_none},          /* issue 14 item 3 */
    {"boot_checkpoint_keys", run_boot_keys, NULL, false, report_none},
    {"anchor_credit", run_anchor_credit, NULL, false, report_none},        /* issue 14 item 4 */
    {"anchorers", run_anchorers, NULL, false, report_none},
    {"anchor_bytecode", run_anchor_bytecode, NULL, false, report_none},
    {"anchor_gaps", run_anchor_gaps, NULL, false, report_none},
    {"entry_ts_ms", run_ts_ms, entry_ts_ms, false, report_evidence},
    {"completeness", run_completeness, NULL, false, report_completeness}, /* what was not checked: last */
};
#define NCHECKS (sizeof checks / sizeof checks[0])
_Static_assert(NCHECKS <= 32, "check_fails and check_inc hold 32 checks; fail_check a uint8_t index");

/* The replay's callback: scans the entry once, then hands it to every check. */
static int audit_entry_cb(void *ctx, uint64_t idx, const uint8_t *data, size_t len) {
  audit *a = ctx;
  while (a->cover < a->an.n && a->an.a[a->cover].size <= idx) a->cover++;
  entry_scan_run(&a->scan, data, len);
  audit_entry e = {idx, data, len, idx >= a->lo, false, &a->scan};
  e.well_formed = a->scan.json_ok && a->scan.has_event && a->scan.f[SF_TYPE].p;
  if (e.in_window) a->window_entries++;
  for (size_t i = 0; i < NCHECKS; i++) {
    a->cur_check = i;
    int rc = checks[i].entry && checks[i].sees_malformed ? checks[i].entry(a, &e) : 0;
    if (rc) return rc;
  }
  for (size_t i = 0; e.well_formed && i < NCHECKS; i++) {
    a->cur_check = i;
    int rc = checks[i].entry && !checks[i].sees_malformed ? checks[i].entry(a, &e) : 0;
    if (rc) return rc;
  }
  return 0;
}

/* ---- the verdict and the list of checks ---- */

/* PASSED only when every check passed and nothing was left unchecked. */
static const char *audit_verdict(const audit *a) {
  return a->failures ? "FAILED" : a->inc.n ? "INCOMPLETE" : "PASSED";
}

/* One line for a verdict other than PASSED: "verification failed: N failures" or
 * "incomplete: N things not checked" (the error member of the --json document). */
static void audit_verdict_line(const audit *a, char *out, size_t cap) {
  if (a->failures)
    snprintf(out, cap, "verification failed: %llu failure%s%s", (unsigned long long)a->failures,
             a->failures == 1 ? "" : "s", a->inc.n ? ", and some things not checked" : "");
  else
    snprintf(out, cap, "incomplete: %zu thing%s not checked", a->inc.n, a->inc.n == 1 ? "" : "s");
}

/* Every check with its verdict and the failure lines it wrote (the evidence: entries,
 * blocks, transactions). */
static json_t *checks_json(const audit *a) {
  json_t *arr = json_array();
  for (size_t i = 0; i < NCHECKS; i++) {
    json_t *fl = json_array(), *nc = json_array();
    for (size_t k = 0; k < a->f.n; k++)
      if (a->fail_check[k] == i) json_array_append_new(fl, json_string(a->f.msg[k]));
    for (size_t k = 0; k < a->inc.n; k++)
      if (a->inc_check[k] == i) json_array_append_new(nc, json_string(a->inc.msg[k]));
    const char *v = a->check_fails[i] ? "failed" : a->check_inc[i] ? "incomplete" : "passed";
    json_array_append_new(arr, json_pack("{s:s,s:s,s:I,s:o,s:o}", "name", checks[i].name, "verdict", v,
                                         "failure_count", (json_int_t)a->check_fails[i], "failures", fl,
                                         "not_checked", nc));
  }
  return arr;
}

/* ---- the report forms ---- */

/* The JSON report document (--json prints it; --report and --summary render it). */
static json_t *report_doc(const audit *a) {
  const audit_args *g = a->args;
  const checkpoint *c = &a->l.cp.c;
  char rh[65];
  xt_hex_encode(c->root, 32, rh);
  json_t *o = json_object();
  json_object_set_new(o, "verified", json_boolean(a->failures == 0 && a->inc.n == 0));
  json_object_set_new(o, "verdict", json_string(audit_verdict(a)));
  json_object_set_new(o, "checks", checks_json(a));
  json_object_set_new(o, "origin", json_string(c->origin));
  json_object_set_new(o, "window", json_pack("{s:s,s:s,s:I,s:I}", "from", g->from, "to", g->to, "from_time",
                                             (json_int_t)a->t_from, "to_time_exclusive", (json_int_t)a->t_end));
  json_object_set_new(o, "checkpoint", json_pack("{s:I,s:s}", "size", (json_int_t)c->size, "root", rh));
  for (size_t i = 0; i < NCHECKS; i++) checks[i].report(a, o);
  json_t *fa = json_array();
  for (size_t i = 0; i < a->f.n; i++) json_array_append_new(fa, json_string(a->f.msg[i]));
  json_object_set_new(o, "failures", fa);
  json_object_set_new(o, "failure_count", json_integer((json_int_t)a->failures));
  return o;
}

/* --json: the report document in tlog's failure shape when it did not pass (SPEC.md
 * 6.3: verified false, exit and error). Not in report_doc: for the renderers an "error"
 * member means the audit concluded nothing. Returns 0, or -1 out of memory. */
static int report_json(const audit *a) {
  json_t *o = report_doc(a);
  if (o && (a->failures || a->inc.n)) {
    char v[160];
    audit_verdict_line(a, v, sizeof v);
    json_object_set_new(o, "exit", json_integer(TLOG_EXIT_FAILED));
    json_object_set_new(o, "error", json_string(v));
  }
  int rc = tlog_json_print(o);
  json_decref(o);
  return rc;
}

static void report_text(const audit *a) {
  const audit_args *g = a->args;
  const checkpoint *c = &a->l.cp.c;
  char rh[65];
  xt_hex_encode(c->root, 32, rh);
  printf("audit of %s, window %s .. %s (UTC, by block time)\n", c->origin, g->from, g->to);
  printf("log checkpoint: size %llu, root %s\n", (unsigned long long)c->size, rh);
  printf("anchors from %s\n\n", g->rpc ? "the chain" : "a file (NOT checked against a chain)");
  for (size_t i = 0; i < NCHECKS; i++) checks[i].report(a, NULL);
  printf("\n");
  for (size_t i = 0; i < a->f.n; i++) printf("FAIL  %s\n", a->f.msg[i]);
  if (a->failures > a->f.n) printf("FAIL  ... and %llu more\n", (unsigned long long)(a->failures - a->f.n));
  for (size_t i = 0; i < a->inc.n; i++) printf("INCOMPLETE  %s\n", a->inc.msg[i]);
  printf("audit %s\n", audit_verdict(a));
}

/* ---- arguments, set-up and the command ---- */

/* Returns 0, or an exit status (--help: 0 after printing; usage errors: 2). */
static int parse_args(int argc, char **argv, audit_args *g, bool *done) {
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
                                       {"report", required_argument, 0, 'R'},
                                       {"summary", required_argument, 0, 'M'},
                                       {"from-block", required_argument, 0, 'B'},
                                       {0, 0, 0, 0}};
  memset(g, 0, sizeof *g);
  *done = false;
  int c;
  optind = 1;
  while ((c = tlog_getopt("audit", argc, argv, opts)) != -1) {
    switch (c) {
    case 'l': g->log = optarg; break;
    case 'b': g->bundle = optarg; break;
    case 'k': g->key = optarg; break;
    case 'r': g->rpc = optarg; break;
    case 'c': g->contract = optarg; break;
    case 'A': g->anchors_file = optarg; break;
    case 'f': g->from = optarg; break;
    case 't': g->to = optarg; break;
    case 'a': g->app = optarg; break;
    case 'p': g->policy_file = optarg; break;
    case 'j': g->json = true; break;
    case 'q': g->quiet = true; break;
    case 'S': g->allow_simulated = true; break;
    case 'D': g->allow_dev = true; break;
    case 'C': g->collateral_file = optarg; break;
    case 'N': g->now_arg = optarg; break;
    case 'R': g->report_file = optarg; break;
    case 'M': g->summary_file = optarg; break;
    case 'B': g->from_block = optarg; break;
    case 'h': usage(stdout); *done = true; return TLOG_EXIT_OK;
    default: *done = true; return TLOG_EXIT_USAGE;
    }
  }
  *done = true; /* a usage error below is reported and ends the command */
  if (tlog_no_extra_args("audit", argc, argv)) return TLOG_EXIT_USAGE;
  if (g->log && g->bundle) return tlog_usage_error("audit", "--log and --bundle exclude each other");
  if (!g->log && !g->bundle) return tlog_usage_error("audit", "missing --log or --bundle");
  if (tlog_require("audit", g->key, "--key") || tlog_require("audit", g->from, "--from") ||
      tlog_require("audit", g->to, "--to"))
    return TLOG_EXIT_USAGE;
  if (g->rpc && !g->contract) return tlog_usage_error("audit", "missing --contract (--rpc needs it)");
  if (g->contract && !g->rpc) return tlog_usage_error("audit", "missing --rpc (--contract needs it)");
  if (g->rpc && g->anchors_file)
    return tlog_usage_error("audit", "--anchors and --rpc exclude each other (anchors come from one place)");
  if (!g->rpc && !g->anchors_file) return tlog_usage_error("audit", "missing --rpc and --contract, or --anchors");
  if (g->app && !g->rpc) return tlog_usage_error("audit", "--app needs --rpc (the KMS history is read from the chain)");
  if (g->from_block && !g->rpc) return tlog_usage_error("audit", "--from-block needs --rpc and --contract");
  *done = false;
  return 0;
}

/* The values of the options: dates, --app, --now, --from-block. Returns 0, or
 * TLOG_EXIT_USAGE after printing the usage line that names the bad one. */
static int audit_option_values(audit *a) {
  const audit_args *g = a->args;
  uint64_t t_to;
  if (tlog_parse_date(g->from, &a->t_from) || tlog_parse_date(g->to, &t_to) || t_to < a->t_from)
    return tlog_usage_error("audit", "--from/--to must be dates YYYY-MM-DD with from <= to");
  a->t_end = t_to + 86400; /* exclusive */
  if (g->app && xt_hex_decode_exact(g->app, XT_HEX_0X, a->app_addr, 20) != XT_OK)
    return tlog_usage_error("audit", "--app must be 0x + 40 hex digits");
  a->co.allow_simulated = g->allow_simulated;
  a->co.allow_dev = g->allow_dev;
  a->co.now = time(NULL);
  if (g->now_arg && xt_parse_rfc3339(g->now_arg, &a->co.now) != XT_OK)
    return tlog_usage_error("audit", "--now must be an RFC 3339 time");
  a->from_block = UINT64_MAX;
  if (g->from_block && logscan_parse_block(g->from_block, &a->from_block))
    return tlog_usage_error("audit", "--from-block must be a block number");
  return 0;
}

/* --collateral. Returns 0 or TLOG_EXIT_USAGE (I/O) with err. */
static int audit_options(audit *a, char *err, size_t errcap) {
  const audit_args *g = a->args;
  if (g->collateral_file) {
    size_t clen;
    uint8_t *cj = NULL;
    if (xt_file_read(g->collateral_file, (size_t)16 << 20, &cj, &clen, err, errcap) == XT_OK)
      a->coll = tdx_collateral_parse((const char *)cj, clen, err, errcap);
    free(cj);
    if (!a->coll) return TLOG_EXIT_USAGE;
    a->co.collateral = a->coll;
  }
  return 0;
}

/* The DstackApp address: --app, else the policy's contracts.dstack_app (both given:
 * they must agree); the DstackKms address from the policy. Returns 0, or -1 with err. */
static int audit_contracts(audit *a, char *err, size_t errcap) {
  const audit_policy *p = &a->pol;
  a->have_app = a->args->app != NULL;
  if (p->app.set && a->have_app && memcmp(p->app.address, a->app_addr, 20)) {
    xt_errf(err, errcap, "--app is not the policy's contracts.dstack_app.address");
    return -1;
  }
  if (p->app.set && !a->have_app) {
    memcpy(a->app_addr, p->app.address, 20);
    a->have_app = true;
  }
  if (p->kms.set) {
    memcpy(a->kms_addr, p->kms.address, 20);
    a->have_kms = true;
  }
  return 0;
}

/* Where the KMS history starts: the policy's creation blocks of both contracts (the
 * kms_all_time check then requires each history to reach its Initialized event), else
 * each contract's creation as the node finds it. */
static uint64_t kms_from_block(const audit_policy *p) {
  if (!p->app.has_created_block || !p->kms.has_created_block) return KMS_FROM_CREATION;
  return p->app.created_block < p->kms.created_block ? p->app.created_block : p->kms.created_block;
}

/* The log, its anchors, the policy and the KMS history. Returns 0, or 1/2 with err. */
static int audit_open(audit *a, char *err, size_t errcap) {
  const audit_args *g = a->args;
  a->months = calloc(MAX_MONTHS, sizeof *a->months);
  a->boots = calloc(MAX_BOOTS, sizeof *a->boots);
  a->calls.b = calloc(CALL_BUCKETS, sizeof(call_node *));
  a->calls.nb = CALL_BUCKETS;
  if (!a->months || !a->boots || !a->calls.b) {
    xt_errf(err, errcap, "out of memory");
    return TLOG_EXIT_USAGE;
  }
  if (policy_load(&a->pol, g->policy_file, err, errcap)) return TLOG_EXIT_USAGE;
  int rc = tlog_log_open(&a->l, g->log ? g->log : g->bundle, g->key, err, errcap);
  if (rc) return rc;
  rc = g->rpc ? tlog_anchors_from_chain(g->rpc, g->contract, a->l.cp.c.origin, &a->an, err, errcap)
              : tlog_anchors_load(g->anchors_file, &a->an, err, errcap);
  if (rc) return rc;
  if (audit_contracts(a, err, errcap)) return TLOG_EXIT_USAGE;
  if (a->have_app && g->rpc) {
    char kerr[400];
    eth_rpc *er = eth_rpc_new(g->rpc, kerr, sizeof kerr);
    kms_scan ks = {a->app_addr, a->have_kms ? a->kms_addr : NULL, kms_from_block(&a->pol), ETH_BLOCK_LATEST, {0, 0, 0}};
    if (!er || kms_history_load(er, &ks, &a->kh, kerr, sizeof kerr) != KMS_OK) {
      xt_errf(err, errcap, "--app: %s", kerr);
      eth_rpc_free(er);
      return TLOG_EXIT_USAGE;
    }
    eth_rpc_free(er);
    a->have_kh = true;
  }
  a->ast = calloc(a->an.n + 1, sizeof *a->ast);
  if (!a->ast) {
    xt_errf(err, errcap, "out of memory");
    return TLOG_EXIT_USAGE;
  }
  return 0;
}

static void ev_free(audit_evidence *ev);

static void audit_free(audit *a) {
  ev_free(a->ev);
  tdx_collateral_free(a->coll);
  tlog_collateral_cache_free(&a->cc);
  if (a->have_kh) kms_history_free(&a->kh);
  free(a->ast);
  if (a->l.src) tlog_log_close(&a->l);
  for (size_t i = 0; i < a->nmonths; i++) keyset_free(&a->months[i].users);
  free(a->months);
  free(a->boots);
  callset_free(&a->calls);
  keyset_free(&a->window_users);
  usercount_free(a->uc);
  tlog_anchors_free(&a->an);
  policy_free(&a->pol);
  tlog_failures_free(&a->f);
  tlog_failures_free(&a->inc);
  report_daily_free(&a->daily);
  free(a);
}

/* --report and --summary, from the document --json prints. An audit that stopped before
 * its report still writes them, saying it concluded nothing (err), so no older report
 * at that path can be mistaken for this run's. Returns 0, or TLOG_EXIT_USAGE after
 * naming the file it could not write on stderr. */
static int audit_write_reports(const audit *a, bool reported, int argc, char **argv, const char *err) {
  const audit_args *g = a->args;
  if (!g->report_file && !g->summary_file) return 0;
  json_t *doc = reported ? report_doc(a)
                         : json_pack("{s:b,s:s,s:s,s:{s:s,s:s}}", "verified", 0, "origin", "", "error", err, "window",
                                     "from", g->from ? g->from : "", "to", g->to ? g->to : "");
  report_ctx c = {doc, argc, argv, g->contract, g->rpc, g->app};
  char rerr[600];
  int rc = 0;
  if (g->report_file && report_html_write(g->report_file, &c, rerr, sizeof rerr) != REPORT_OK) {
    fprintf(stderr, "tlog audit: --report: %s\n", rerr);
    rc = TLOG_EXIT_USAGE;
  }
  if (g->summary_file && report_summary_write(g->summary_file, &c, rerr, sizeof rerr) != REPORT_OK) {
    fprintf(stderr, "tlog audit: --summary: %s\n", rerr);
    rc = TLOG_EXIT_USAGE;
  }
  json_decref(doc);
  return rc;
}

int cmd_audit(int argc, char **argv) {
  audit_args g;
  bool done;
  int rc = parse_args(argc, argv, &g, &done);
  if (done) return rc;
  char err[800];
  audit *a = calloc(1, sizeof *a);
  if (!a) return tlog_fail("audit", g.json, TLOG_EXIT_USAGE, "out of memory");
  a->args = &g;
  if (audit_option_values(a)) {
    audit_free(a);
    return TLOG_EXIT_USAGE;
  }
  rc = audit_options(a, err, sizeof err);
  if (!rc) rc = audit_open(a, err, sizeof err);
  for (size_t i = 0; !rc && i < NCHECKS; i++) {
    a->cur_check = i;
    if (checks[i].run) rc = checks[i].run(a, err, sizeof err);
  }
  bool reported = !rc;
  if (reported) {
    /* Each failure once: text mode lists them in the report (stdout) and says on stderr
     * only that it failed; --json puts them in the document and names each on stderr. */
    if (g.json) {
      if (report_json(a)) {
        audit_free(a);
        return tlog_fail("audit", false, TLOG_EXIT_USAGE, "out of memory: the report could not be printed");
      }
      fflush(stdout);
      for (size_t i = 0; i < a->f.n; i++) fprintf(stderr, "tlog audit: verification failed: %s\n", a->f.msg[i]);
      if (a->failures > a->f.n)
        fprintf(stderr, "tlog audit: verification failed: ... and %llu more\n",
                (unsigned long long)(a->failures - a->f.n));
      for (size_t i = 0; i < a->inc.n; i++) fprintf(stderr, "tlog audit: not checked: %s\n", a->inc.msg[i]);
    } else {
      report_text(a);
      fflush(stdout); /* the report first, then the one line on stderr, also in 2>&1 */
      if (a->failures || a->inc.n) {
        char v[160];
        audit_verdict_line(a, v, sizeof v);
        fprintf(stderr, "tlog audit: %s (listed above)\n", v);
      }
    }
    rc = a->failures || a->inc.n ? TLOG_EXIT_FAILED : TLOG_EXIT_OK;
  }
  int wrc = audit_write_reports(a, reported, argc, argv, err);
  audit_free(a);
  /* Before the report: usage, I/O, or a checkpoint that does not verify. */
  if (rc && !reported) return tlog_fail("audit", g.json, rc, err);
  if (wrc) return wrc;
  return rc;
}
