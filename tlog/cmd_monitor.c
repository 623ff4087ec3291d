/* cmd_monitor.c: `tlog monitor`: follows a log (and its anchors on chain) and raises
 * an alert for anything a log must never do.
 *
 * Each round: fetch and verify the checkpoint; prove from authenticated tiles that it
 * extends the last checkpoint this monitor verified (kept in --state DIR); compare
 * every anchored head not yet checked with the log's tree at that size (split view);
 * check the age of the newest anchor by the chain's own clock (the newest block's
 * timestamp) and whether the log has grown past it. The state is written only after
 * a round verified everything, so a bad checkpoint never becomes the reference. */
#include <curl/curl.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "anchor/logscan.h"
#include "anchor/rpc.h"
#include "base/err.h"
#include "base/hex.h"
#include "base/num.h"
#include "client/anchors.h"
#include "client/common.h"
#include "client/kms.h"
#include "client/policy.h"
#include "tlog/commands.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: tlog monitor --log URL|DIR --key VKEY --state DIR [--once] [--interval S]\n"
          "                    [--rpc URL --contract 0xADDR] [--max-anchor-age S] [--app 0xAPP]\n"
          "                    [--policy FILE] [--from-block N] [--webhook URL] [--json]\n"
          "                    [--quiet]\n"
          "\n"
          "Each round (every --interval seconds, default 60; one round with --once):\n"
          "  - the checkpoint's signature (alert: bad-signature)\n"
          "  - consistency with the last verified checkpoint in --state DIR, from\n"
          "    authenticated tiles (alerts: rollback, inconsistent)\n"
          "  - with --rpc/--contract: every new on-chain anchor against the log's tree at\n"
          "    that size and the log's signed checkpoint of that size (alert: split-view),\n"
          "    anchors beyond the served size (rollback), the newest anchor's age by block\n"
          "    time (stale-anchor, with --max-anchor-age) and entries past it\n"
          "    (unanchored-growth, with --max-anchor-age)\n"
          "  - with --app (the DstackApp contract): every ComposeHashAdded/Removed,\n"
          "    Upgraded, OwnershipTransferred event since the last round (kms-event)\n"
          "  - with --policy FILE (the audit's policy; its contracts give --app and the\n"
          "    DstackKms): every event of both KMS contracts the policy does not allow (a\n"
          "    compose hash not released, an unlisted upgrade, owner or OS image,\n"
          "    AllowAnyDeviceSet(true), an unknown event) is an alert (kms-policy) naming\n"
          "    its block and transaction; without a policy, AllowAnyDeviceSet(true) and\n"
          "    unknown events are alerts all the same\n"
          "  --from-block N: read anchors from block N (default: the anchor contract's\n"
          "    deployment block, found by binary search over eth_getCode once and kept in\n"
          "    DIR/state.json with the contract's address)\n"
          "Alerts go to stdout (one line each; JSON lines with --json) and, with --webhook,\n"
          "as a JSON POST {origin, kind, message, size, time} per alert. The state (DIR/\n"
          "checkpoint, DIR/state.json) is updated only after a round verified everything.\n"
          "With --json a round without alerts prints {kind:\"round\", level:\"ok\", ...}, and\n"
          "a round that could not be read {verified:false, exit:2, error}.\n"
          "Exit status (--once): 0 no alert, 1 alerts (named), 2 usage or I/O error.\n");
}

typedef struct monitor {
  const char *log, *rpc, *contract, *webhook, *state;
  uint64_t max_age;
  bool json, quiet, have_app;
  uint8_t app[20];
  audit_policy pol; /* --policy, or no section (then only what no policy allows alerts) */
  bool have_kms;
  uint8_t kms[20];
  note_verifier v;
  int alerts, kms_events;
  char origin[NOTE_NAME_MAX + 1];
  uint64_t size;
  tlog_chain_scan scan; /* where anchor scans start: --from-block, else found once */
} monitor;

static volatile sig_atomic_t stop_requested = 0;
static void on_signal(int sig) {
  (void)sig;
  stop_requested = 1;
}

static size_t discard(char *p, size_t s, size_t n, void *u) {
  (void)p;
  (void)u;
  return s * n;
}

static void post_webhook(monitor *m, const char *body) {
  CURL *c = curl_easy_init();
  if (!c) return;
  struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
  curl_easy_setopt(c, CURLOPT_URL, m->webhook);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
  CURLcode rc = curl_easy_perform(c);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (rc != CURLE_OK || status / 100 != 2)
    fprintf(stderr, "tlog monitor: webhook %s: %s\n", m->webhook,
            rc != CURLE_OK ? curl_easy_strerror(rc) : "non-2xx answer");
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
}

static void alert(monitor *m, bool is_alert, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void alert(monitor *m, bool is_alert, const char *kind, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (is_alert) m->alerts++;
  json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:I,s:I}", "origin", m->origin, "kind", kind, "level",
                        is_alert ? "alert" : "info", "message", msg, "size", (json_int_t)m->size, "time",
                        (json_int_t)time(NULL));
  char *s = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  if (m->json && s) printf("%s\n", s);
  else if (!m->json) printf("%s %s: %s\n", is_alert ? "ALERT" : "info ", kind, msg);
  fflush(stdout);
  if (m->webhook && s) post_webhook(m, s);
  free(s);
  json_decref(o);
}

/* A round that concluded nothing (I/O): "tlog monitor: MSG" on stderr, and with --json
 * the error object every tlog command prints ({"error","exit","verified"}), as one line
 * of the stream. */
static void io_error(monitor *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void io_error(monitor *m, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  xt_verrf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fprintf(stderr, "tlog monitor: %s\n", msg);
  if (!m->json || m->quiet) return;
  json_t *o = json_pack("{s:b,s:i,s:s}", "verified", 0, "exit", TLOG_EXIT_USAGE, "error", msg);
  char *t = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  if (t) printf("%s\n", t);
  free(t);
  json_decref(o);
}

/* With --json, a round without alerts ends in one line of level "ok", so a caller of
 * --once --json always reads an answer. */
static void round_ok_json(monitor *m, const char *msg) {
  json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:I,s:I}", "origin", m->origin, "kind", "round", "level", "ok",
                        "message", msg, "size", (json_int_t)m->size, "time", (json_int_t)time(NULL));
  char *t = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  if (t) printf("%s\n", t);
  free(t);
  json_decref(o);
}

typedef struct mstate {
  uint64_t anchors_checked; /* anchors already compared with the log */
  uint64_t kms_next_block;  /* KMS events from this block on are new */
  /* The block anchor scans start at (the anchor contract's deployment block, found
   * once by an eth_getCode binary search), for the contract anchor_contract. */
  bool have_anchor_from;
  uint64_t anchor_from_block;
  char anchor_contract[43]; /* 0x + 40 hex, lower case */
} mstate;

/* An address in the one spelling the state file keeps: 0x + 40 lower-case hex digits.
 * Returns 0, or -1 when text is not an address. */
static int address_key(const char *text, char out[43]) {
  uint8_t a[20];
  if (!text || xt_hex_decode_exact(text, XT_HEX_0X, a, 20) != XT_OK) return -1;
  xt_hex_encode0x(a, 20, out);
  return 0;
}

static void state_load(monitor *m, mstate *st) {
  memset(st, 0, sizeof *st);
  char path[4096];
  snprintf(path, sizeof path, "%s/state.json", m->state);
  json_t *j = json_load_file(path, 0, NULL);
  if (!j) return;
  json_t *a = json_object_get(j, "anchors_checked"), *k = json_object_get(j, "kms_next_block");
  if (json_is_integer(a)) st->anchors_checked = (uint64_t)json_integer_value(a);
  if (json_is_integer(k)) st->kms_next_block = (uint64_t)json_integer_value(k);
  json_t *fb = json_object_get(j, "anchor_from_block");
  const char *fc = json_string_value(json_object_get(j, "anchor_contract"));
  if (json_is_integer(fb) && json_integer_value(fb) >= 0 && address_key(fc, st->anchor_contract) == 0) {
    st->have_anchor_from = true;
    st->anchor_from_block = (uint64_t)json_integer_value(fb);
  }
  json_decref(j);
}

static int state_save(monitor *m, const mstate *st, const tlog_checkpoint *cp, char *err, size_t errcap) {
  char path[4096];
  snprintf(path, sizeof path, "%s/checkpoint", m->state);
  if (tlog_write_file(path, cp->note, cp->note_len, err, errcap)) return -1;
  json_t *j = json_pack("{s:I,s:I,s:I}", "anchors_checked", (json_int_t)st->anchors_checked, "kms_next_block",
                        (json_int_t)st->kms_next_block, "size", (json_int_t)cp->c.size);
  if (j && st->have_anchor_from &&
      (json_object_set_new(j, "anchor_from_block", json_integer((json_int_t)st->anchor_from_block)) ||
       json_object_set_new(j, "anchor_contract", json_string(st->anchor_contract)))) {
    json_decref(j);
    j = NULL;
  }
  char *s = j ? json_dumps(j, JSON_INDENT(1)) : NULL;
  json_decref(j);
  if (!s) {
    xt_errf(err, errcap, "out of memory");
    return -1;
  }
  snprintf(path, sizeof path, "%s/state.json", m->state);
  int rc = tlog_write_file(path, s, strlen(s), err, errcap);
  free(s);
  return rc;
}

/* One round in progress. Each step returns 0 (alerts counted in m) or 2 (I/O: the
 * round concludes nothing; the step printed why). */
typedef struct mround {
  monitor *m;
  log_source *src;
  tile_reader *r;   /* the tree of the served checkpoint */
  uint64_t fails;   /* the source's failures before reading tiles */
  tlog_checkpoint cp, old; /* served, and last verified (old.note NULL: none) */
  tlog_anchors an;
  mstate st;
} mround;

/* Classifies a tile reader failure: I/O (2, printed) or an alert of this kind. */
static int reader_failed(mround *x, const char *kind) {
  if (tlog_reader_failure(x->src, x->fails) == TLOG_EIO) {
    io_error(x->m, "%s", tile_reader_error(x->r));
    return 2;
  }
  alert(x->m, true, kind, "%s", tile_reader_error(x->r));
  return 0;
}

/* The served checkpoint against the last verified one in the state directory. */
static int round_consistency(mround *x) {
  char opath[4096], err[800];
  snprintf(opath, sizeof opath, "%s/checkpoint", x->m->state);
  if (access(opath, F_OK) != 0) return 0;
  if (tlog_checkpoint_file(&x->m->v, opath, &x->old, err, sizeof err)) {
    io_error(x->m, "the saved state does not verify: %s", err);
    return 2;
  }
  const checkpoint *cp = &x->cp.c, *old = &x->old.c;
  if (cp->size < old->size) {
    alert(x->m, true, "rollback", "the log serves size %llu, smaller than the verified %llu",
          (unsigned long long)cp->size, (unsigned long long)old->size);
  } else if (cp->size == old->size) {
    if (memcmp(cp->root, old->root, 32))
      alert(x->m, true, "inconsistent", "two checkpoints of size %llu with different roots (fork)",
            (unsigned long long)cp->size);
  } else if (old->size > 0) {
    uint8_t proof[MERKLE_MAX_PROOF][MERKLE_HASH_SIZE];
    size_t plen;
    if (merkle_consistency_proof(old->size, cp->size, tile_reader_nodes, x->r, proof, MERKLE_MAX_PROOF, &plen))
      return reader_failed(x, "inconsistent");
    if (merkle_verify_consistency(old->size, cp->size, old->root, cp->root, (const uint8_t(*)[MERKLE_HASH_SIZE])proof,
                                  plen))
      alert(x->m, true, "inconsistent", "the checkpoint of size %llu does not extend the verified one of size %llu",
            (unsigned long long)cp->size, (unsigned long long)old->size);
  }
  return 0;
}

/* One new anchor against the log's tree and signed note of its size. */
static int round_anchor(mround *x, const tlog_anchor *a) {
  monitor *m = x->m;
  uint8_t root[32];
  char err[800];
  if (merkle_root_at(a->size, tile_reader_nodes, x->r, root)) {
    if (reader_failed(x, "split-view")) return 2;
  } else if (memcmp(root, a->root, 32)) {
    alert(m, true, "split-view", "the log's tree at anchored size %llu has another root than the chain's (block %llu)",
          (unsigned long long)a->size, (unsigned long long)a->block);
  }
  tlog_checkpoint acp;
  bool nf = false;
  int arc = tlog_fetch_sized_checkpoint(x->src, &m->v, a->size, &x->cp, &acp, &nf, err, sizeof err);
  if (arc == TLOG_EVERIFY) {
    alert(m, true, "bad-signature", "anchored checkpoint %llu: %s", (unsigned long long)a->size, err);
  } else if (arc == TLOG_OK) {
    uint8_t h[32];
    tlog_sha256(acp.note, acp.note_len, h);
    if (memcmp(h, a->checkpoint_hash, 32) || memcmp(acp.c.root, a->root, 32))
      alert(m, true, "split-view", "the log's checkpoint of size %llu is not the one anchored on chain",
            (unsigned long long)a->size);
    tlog_checkpoint_clear(&acp);
  }
  return 0;
}

/* Every anchor not checked in an earlier round. */
static int round_anchors(mround *x) {
  char err[800], contract[43];
  tlog_chain_scan *sc = &x->m->scan;
  if (address_key(x->m->contract, contract)) {
    io_error(x->m, "--contract '%s' is not an address (0x + 40 hex digits)", x->m->contract);
    return 2;
  }
  /* A run without --from-block starts where an earlier run found the deployment block:
   * the eth_getCode search (dozens of calls) is made once per state directory. */
  if (sc->from_block == TLOG_FROM_CREATION && x->st.have_anchor_from && !strcmp(x->st.anchor_contract, contract))
    sc->from_block = x->st.anchor_from_block;
  if (tlog_anchors_scan(x->m->rpc, x->m->contract, x->cp.c.origin, sc, &x->an, err, sizeof err)) {
    io_error(x->m, "%s", err);
    return 2;
  }
  if (sc->creation_unknown && !x->m->quiet)
    fprintf(stderr, "tlog monitor: the node cannot say when the contract was deployed; anchors "
                    "read from block 0 (give --from-block)\n");
  sc->from_block = sc->first_block; /* later rounds start there without searching again */
  x->st.have_anchor_from = true; /* and later runs, once this round has verified */
  x->st.anchor_from_block = sc->first_block;
  memcpy(x->st.anchor_contract, contract, sizeof contract);
  if (x->st.anchors_checked > x->an.n) {
    alert(x->m, true, "chain-rollback", "the chain now lists %zu anchors, fewer than the %llu seen before", x->an.n,
          (unsigned long long)x->st.anchors_checked);
    x->st.anchors_checked = 0;
  }
  uint64_t checked = x->st.anchors_checked;
  for (size_t i = x->st.anchors_checked; i < x->an.n; i++) {
    const tlog_anchor *a = &x->an.a[i];
    if (a->size > x->cp.c.size) {
      alert(x->m, true, "rollback", "anchored size %llu (block %llu) is beyond the served checkpoint size %llu",
            (unsigned long long)a->size, (unsigned long long)a->block, (unsigned long long)x->cp.c.size);
      break; /* check it again next round */
    }
    if (round_anchor(x, a)) return 2;
    checked = i + 1;
  }
  x->st.anchors_checked = checked;
  return 0;
}

/* The newest anchor's age and the entries past it, by the chain's clock. */
static void round_anchor_age(mround *x, const eth_block *blk) {
  monitor *m = x->m;
  uint64_t size = x->cp.c.size;
  const tlog_anchor *last = x->an.n ? &x->an.a[x->an.n - 1] : NULL;
  if (!last) {
    alert(m, m->max_age > 0 && size > 0, "unanchored-growth", "no anchor on chain yet; the log has %llu entries",
          (unsigned long long)size);
    return;
  }
  uint64_t age = blk->timestamp > last->time ? blk->timestamp - last->time : 0;
  if (m->max_age && age > m->max_age)
    alert(m, true, "stale-anchor", "the newest anchor (size %llu, block %llu) is %llu s old (limit %llu s)",
          (unsigned long long)last->size, (unsigned long long)last->block, (unsigned long long)age,
          (unsigned long long)m->max_age);
  if (size > last->size)
    alert(m, m->max_age && age > m->max_age, "unanchored-growth", "%llu entries past the newest anchor (size %llu, %llu s old)",
          (unsigned long long)(size - last->size), (unsigned long long)last->size, (unsigned long long)age);
}

/* --policy: loaded, its DstackApp (agreeing with --app) and DstackKms taken. Without it
 * an empty policy, under which only what no policy allows is an alert. Returns 0, or -1
 * with err. */
static int monitor_policy(monitor *m, const char *file, char *err, size_t errcap) {
  memset(&m->pol, 0, sizeof m->pol);
  if (!file) return 0;
  if (audit_policy_load(file, &m->pol, err, errcap) != AUDIT_POLICY_OK) return -1;
  if (m->pol.app.set) {
    if (m->have_app && memcmp(m->app, m->pol.app.address, 20)) {
      xt_errf(err, errcap, "--app is not the policy's contracts.dstack_app.address");
      return -1;
    }
    memcpy(m->app, m->pol.app.address, 20);
    m->have_app = true;
  }
  if (m->pol.kms.set) {
    memcpy(m->kms, m->pol.kms.address, 20);
    m->have_kms = true;
  }
  return 0;
}

/* With --app: every DstackApp (and with a policy DstackKms) event since the last round. */
static int round_kms(mround *x, eth_rpc *er, const eth_block *blk) {
  monitor *m = x->m;
  if (!m->have_app || x->st.kms_next_block > blk->number) return 0;
  kms_history kh;
  char kerr[400];
  /* First round: from the contract's creation; later: from where the last one ended. */
  const audit_policy *p = &m->pol;
  uint64_t created = p->app.has_created_block && p->kms.has_created_block
                         ? (p->app.created_block < p->kms.created_block ? p->app.created_block : p->kms.created_block)
                         : KMS_FROM_CREATION;
  kms_scan ks = {m->app, m->have_kms ? m->kms : NULL, x->st.kms_next_block ? x->st.kms_next_block : created,
                 blk->number, {0, 0, 0}};
  if (kms_history_load(er, &ks, &kh, kerr, sizeof kerr) != KMS_OK) {
    io_error(m, "--app: %s", kerr);
    return 2;
  }
  for (size_t i = 0; i < kh.n; i++) {
    const kms_event *e = &kh.events[i];
    char when[21];
    json_t *args = kms_event_args_json(e);
    char *at = args ? json_dumps(args, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    tlog_datetime(e->block_time, when);
    char why[300], tx[67];
    xt_hex_encode0x(e->tx_hash, 32, tx);
    if (audit_policy_kms_event_bad(&m->pol, e, why, sizeof why))
      alert(m, true, "kms-policy", "%s (block %llu, tx %s, %s)", why, (unsigned long long)e->block_number, tx, when);
    else
      alert(m, false, "kms-event", "%s %s %s at block %llu (%s)", kms_contract_name(e->contract),
            kms_event_name(e->kind), at ? at : "{}", (unsigned long long)e->block_number, when);
    free(at);
    json_decref(args);
    m->kms_events++;
  }
  kms_history_free(&kh);
  x->st.kms_next_block = blk->number + 1;
  return 0;
}

/* The chain's side: anchors, their age, the KMS. */
static int round_chain(mround *x) {
  if (round_anchors(x)) return 2;
  char kerr[400];
  eth_rpc *er = eth_rpc_new(x->m->rpc, kerr, sizeof kerr);
  eth_block blk;
  int found = 0;
  if (!er || eth_get_block_by_number(er, ETH_BLOCK_LATEST, &blk, &found) || !found) {
    io_error(x->m, "chain: %s", er ? eth_rpc_error(er) : kerr);
    eth_rpc_free(er);
    return 2;
  }
  round_anchor_age(x, &blk);
  int rc = round_kms(x, er, &blk);
  eth_rpc_free(er);
  return rc;
}

/* One round. Returns 0 (done, alerts counted in m) or 2 (I/O: nothing concluded). */
static int round_once(monitor *m) {
  char err[800];
  m->alerts = 0;
  mround x;
  memset(&x, 0, sizeof x);
  x.m = m;
  x.src = log_source_open(m->log, err, sizeof err);
  if (!x.src) {
    io_error(m, "%s", err);
    return 2;
  }
  state_load(m, &x.st);
  int rc = tlog_fetch_checkpoint(x.src, &m->v, "checkpoint", &x.cp, NULL, err, sizeof err);
  snprintf(m->origin, sizeof m->origin, "%s", m->v.name);
  if (rc == TLOG_EIO) {
    io_error(m, "%s", err);
  } else if (rc) {
    alert(m, true, "bad-signature", "%s", err);
  } else {
    m->size = x.cp.c.size;
    x.r = tile_reader_new(x.cp.c.size, x.cp.c.root, log_source_tile_fetcher, x.src);
    x.fails = log_source_failures(x.src);
    rc = !x.r ? 2 : round_consistency(&x);
    if (!rc && m->rpc) rc = round_chain(&x);
    if (!rc && m->alerts == 0 && state_save(m, &x.st, &x.cp, err, sizeof err)) {
      io_error(m, "%s", err);
      rc = 2;
    } else if (!rc && m->alerts == 0 && !m->quiet) {
      char msg[200];
      snprintf(msg, sizeof msg, "size %llu verified%s", (unsigned long long)x.cp.c.size,
               x.old.note ? " and consistent with the last verified checkpoint" : " (first checkpoint stored)");
      if (m->json) round_ok_json(m, msg);
      else printf("ok    %s\n", msg);
    }
  }
  tile_reader_free(x.r);
  tlog_anchors_free(&x.an);
  tlog_checkpoint_clear(&x.cp);
  tlog_checkpoint_clear(&x.old);
  log_source_free(x.src);
  fflush(stdout);
  return rc == TLOG_EIO ? 2 : rc;
}

/* The required options and the ones that need the chain. Returns 0 or TLOG_EXIT_USAGE
 * (reported). */
static int monitor_check_args(monitor *m, const char *key, const char *app, const char *age_arg,
                              const char *from_arg) {
  const char *cmd = "monitor";
  if (tlog_require(cmd, m->log, "--log") || tlog_require(cmd, key, "--key") ||
      tlog_require(cmd, m->state, "--state"))
    return TLOG_EXIT_USAGE;
  if (m->rpc && !m->contract) return tlog_usage_error(cmd, "missing --contract (--rpc needs it)");
  if (m->contract && !m->rpc) return tlog_usage_error(cmd, "missing --rpc (--contract needs it)");
  if (!m->rpc && (app || age_arg || from_arg))
    return tlog_usage_error(cmd, "%s needs --rpc and --contract",
                            app ? "--app" : age_arg ? "--max-anchor-age" : "--from-block");
  if (from_arg && logscan_parse_block(from_arg, &m->scan.from_block))
    return tlog_usage_error(cmd, "--from-block '%s' is not a block number", from_arg);
  return 0;
}

int cmd_monitor(int argc, char **argv) {
  static const struct option opts[] = {{"log", required_argument, 0, 'l'},
                                       {"key", required_argument, 0, 'k'},
                                       {"state", required_argument, 0, 's'},
                                       {"once", no_argument, 0, 'o'},
                                       {"interval", required_argument, 0, 'i'},
                                       {"rpc", required_argument, 0, 'r'},
                                       {"contract", required_argument, 0, 'c'},
                                       {"max-anchor-age", required_argument, 0, 'm'},
                                       {"app", required_argument, 0, 'a'},
                                       {"webhook", required_argument, 0, 'w'},
                                       {"policy", required_argument, 0, 'P'},
                                       {"from-block", required_argument, 0, 'f'},
                                       {"json", no_argument, 0, 'j'},
                                       {"quiet", no_argument, 0, 'q'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  monitor m;
  memset(&m, 0, sizeof m);
  m.scan = tlog_chain_scan_default();
  const char *key = NULL, *interval_arg = NULL, *age_arg = NULL, *app = NULL, *from_arg = NULL,
             *policy_file = NULL;
  bool once = false;
  int c;
  optind = 1;
  while ((c = tlog_getopt("monitor", argc, argv, opts)) != -1) {
    switch (c) {
    case 'l': m.log = optarg; break;
    case 'k': key = optarg; break;
    case 's': m.state = optarg; break;
    case 'o': once = true; break;
    case 'i': interval_arg = optarg; break;
    case 'r': m.rpc = optarg; break;
    case 'c': m.contract = optarg; break;
    case 'm': age_arg = optarg; break;
    case 'a': app = optarg; break;
    case 'w': m.webhook = optarg; break;
    case 'P': policy_file = optarg; break;
    case 'f': from_arg = optarg; break;
    case 'j': m.json = true; break;
    case 'q': m.quiet = true; break;
    case 'h': usage(stdout); return TLOG_EXIT_OK;
    default: return TLOG_EXIT_USAGE;
    }
  }
  int u = monitor_check_args(&m, key, app, age_arg, from_arg);
  if (u || !m.state || !key) return TLOG_EXIT_USAGE; /* (NULLs reported by the check) */
  if (policy_file && !m.rpc) return tlog_usage_error("monitor", "--policy needs --rpc and --contract");
  if (strlen(m.state) > TLOG_MAX_DIR)
    return tlog_usage_error("monitor", "--state: the path is too long (over %d bytes)", TLOG_MAX_DIR);
  uint64_t interval = 60;
  if (interval_arg && (xt_parse_u64(interval_arg, 0, 0, UINT64_MAX, &interval) || interval == 0))
    return tlog_usage_error("monitor", "--interval '%s' is not a number of seconds", interval_arg);
  if (age_arg && xt_parse_u64(age_arg, 0, 0, UINT64_MAX, &m.max_age))
    return tlog_usage_error("monitor", "--max-anchor-age '%s' is not a number of seconds", age_arg);
  if (app) {
    if (xt_hex_decode_exact(app, XT_HEX_0X, m.app, 20))
      return tlog_usage_error("monitor", "--app '%s' is not an address (0x + 40 hex digits)", app);
    m.have_app = true;
  }
  if (tlog_no_extra_args("monitor", argc, argv)) return TLOG_EXIT_USAGE;
  char err[600];
  if (monitor_policy(&m, policy_file, err, sizeof err)) {
    audit_policy_free(&m.pol);
    return tlog_fail("monitor", m.json, TLOG_EXIT_USAGE, err);
  }
  int rc = tlog_load_verifier(key, &m.v, err, sizeof err);
  if (rc) {
    audit_policy_free(&m.pol);
    return tlog_fail("monitor", m.json, rc, err);
  }
  char probe[4096];
  snprintf(probe, sizeof probe, "%s/", m.state);
  if (tlog_mkdirs(probe, err, sizeof err)) {
    audit_policy_free(&m.pol);
    return tlog_fail("monitor", m.json, TLOG_EXIT_USAGE, err);
  }
  if (once) {
    rc = round_once(&m);
    audit_policy_free(&m.pol);
    if (rc) return rc;
    return m.alerts ? TLOG_EXIT_FAILED : TLOG_EXIT_OK;
  }
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  while (!stop_requested) {
    if (round_once(&m) == 2 && !m.quiet) fprintf(stderr, "tlog monitor: round failed (I/O); retrying\n");
    for (uint64_t s = 0; s < interval && !stop_requested; s++) sleep(1);
  }
  audit_policy_free(&m.pol);
  return TLOG_EXIT_OK;
}
