#include "logd/seq_publish.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"

uint64_t publ_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int publ_init(seq_publisher *p, const note_signer *signer, uint64_t interval_ms, seq_metrics *m) {
  memset(p, 0, sizeof *p);
  p->signer = *signer;
  p->interval_ms = interval_ms;
  p->metrics = m;
  return pthread_mutex_init(&p->mu, NULL) ? -1 : 0;
}

void publ_destroy(seq_publisher *p) {
  free(p->note);
  p->note = NULL;
  pthread_mutex_destroy(&p->mu);
}

int publ_load(seq_publisher *p, logd_store *store, uint64_t tree_size, char *err, size_t errcap) {
  char *note = NULL;
  size_t len = 0;
  store_err se = store_get_checkpoint(store, UINT64_MAX, &note, &len, err, errcap);
  if (se == STORE_NOT_FOUND) return 0;
  if (se != STORE_OK) return -1;
  checkpoint c;
  char cerr[200];
  if (checkpoint_open(&p->signer.verifier, note, len, &c, cerr, sizeof cerr)) {
    xt_errf(err, errcap,
            "the latest stored checkpoint does not verify with this log's key (%s); "
            "refusing to start (wrong key or origin for this data directory?)", cerr);
    free(note);
    return -1;
  }
  if (c.size > tree_size) {
    xt_errf(err, errcap,
            "the latest stored checkpoint has size %" PRIu64 " but storage holds only %" PRIu64
            " entries; refusing to start rather than publish an inconsistent tree",
            c.size, tree_size);
    free(note);
    return -1;
  }
  uint8_t root[MERKLE_HASH_SIZE];
  store_reader rd;
  store_reader_init(&rd, store);
  int rc = merkle_root_at(c.size, store_read_nodes, &rd, root);
  store_reader_done(&rd);
  if (rc || memcmp(root, c.root, MERKLE_HASH_SIZE)) {
    xt_errf(err, errcap,
            "the stored tree's root at size %" PRIu64 " differs from the latest signed "
            "checkpoint's; refusing to start",
            c.size);
    free(note);
    return -1;
  }
  free(p->note);
  p->note = note;
  p->note_len = len;
  p->note_size = c.size;
  memcpy(p->note_root, c.root, MERKLE_HASH_SIZE);
  return 0;
}

void publ_tree(seq_publisher *p, uint64_t size, const uint8_t root[MERKLE_HASH_SIZE]) {
  pthread_mutex_lock(&p->mu);
  p->size = size;
  memcpy(p->root, root, MERKLE_HASH_SIZE);
  pthread_mutex_unlock(&p->mu);
}

int publ_sign(seq_publisher *p, uint64_t size, const uint8_t root[MERKLE_HASH_SIZE], char *note,
              size_t cap, size_t *note_len, checkpoint *c) {
  char err[300], body[NOTE_NAME_MAX + 128];
  size_t body_len;
  memset(c, 0, sizeof *c);
  snprintf(c->origin, sizeof c->origin, "%s", p->signer.verifier.name);
  c->size = size;
  memcpy(c->root, root, MERKLE_HASH_SIZE);
  if (checkpoint_format(c, body, sizeof body, &body_len, err, sizeof err) ||
      note_sign(&p->signer, body, body_len, note, cap - 1, note_len, err, sizeof err)) {
    xt_log("logd", "sequencer: cannot sign a checkpoint: %s", err);
    return -1;
  }
  note[*note_len] = 0;
  return 0;
}

int publ_note(seq_publisher *p, const char *note, size_t note_len, const checkpoint *c) {
  char *copy = malloc(note_len + 1);
  if (!copy) return -1;
  memcpy(copy, note, note_len + 1);
  pthread_mutex_lock(&p->mu);
  free(p->note);
  p->note = copy;
  p->note_len = note_len;
  p->note_size = c->size;
  memcpy(p->note_root, c->root, MERKLE_HASH_SIZE);
  p->note_mono = publ_now_ms();
  seq_publish_fn hook = p->hook;
  void *hook_ctx = p->hook_ctx;
  pthread_mutex_unlock(&p->mu);
  atomic_fetch_add(&p->metrics->checkpoints, 1);
  if (hook) hook(hook_ctx, c->size, c->root, note, note_len);
  return 0;
}

int publ_covered(seq_publisher *p, uint64_t *size) {
  pthread_mutex_lock(&p->mu);
  int have = p->note != NULL;
  *size = p->note_size;
  pthread_mutex_unlock(&p->mu);
  return have;
}

int publ_behind(seq_publisher *p, uint64_t tree_size) {
  uint64_t covered;
  int have = publ_covered(p, &covered);
  return !have || tree_size > covered;
}

uint64_t publ_due_at(const seq_publisher *p) { return p->last_sign_mono + p->interval_ms; }

static void complete(seq_sub *s) { s->done(s, s->done_ctx); }

void publ_fail_all(seq_sub *list, int status, const char *msg) {
  while (list) {
    seq_sub *next = list->next;
    list->next = NULL;
    list->status = status;
    snprintf(list->error, sizeof list->error, "%s", msg);
    complete(list);
    list = next;
  }
}

void publ_settle(seq_publisher *p, seq_sub *list) {
  while (list) {
    seq_sub *s = list;
    list = s->next;
    s->next = NULL;
    if (s->status) {
      complete(s);
      continue;
    }
    uint64_t need = 0;
    for (size_t i = 0; i < s->events.count; i++) {
      if (s->dup[i]) atomic_fetch_add(&p->metrics->duplicates, 1);
      if (s->index[i] + 1 > need) need = s->index[i] + 1;
    }
    s->need_size = need;
    if (s->want_checkpoint) {
      s->next = p->waiters;
      p->waiters = s;
    } else {
      complete(s);
    }
  }
  /* Duplicates may already be covered by the published checkpoint. */
  if (p->waiters) publ_wake(p, NULL);
}

void publ_wake(seq_publisher *p, const char *fail_msg) {
  uint64_t covered;
  int have = publ_covered(p, &covered);
  seq_sub **pp = &p->waiters;
  while (*pp) {
    seq_sub *s = *pp;
    if (have && s->need_size <= covered) {
      *pp = s->next;
      s->next = NULL;
      pthread_mutex_lock(&p->mu);
      s->checkpoint = p->note ? malloc(p->note_len + 1) : NULL;
      if (s->checkpoint) {
        memcpy(s->checkpoint, p->note, p->note_len + 1);
        s->checkpoint_len = p->note_len;
        s->checkpoint_size = p->note_size;
      }
      pthread_mutex_unlock(&p->mu);
      if (!s->checkpoint) {
        s->status = 503;
        snprintf(s->error, sizeof s->error, "out of memory; the entries are logged, retry to get the checkpoint");
      }
      complete(s);
    } else if (fail_msg) {
      *pp = s->next;
      s->next = NULL;
      s->status = 503;
      snprintf(s->error, sizeof s->error, "%s", fail_msg);
      complete(s);
    } else {
      pp = &s->next;
    }
  }
}

void publ_set_hook(seq_publisher *p, seq_publish_fn fn, void *ctx) {
  pthread_mutex_lock(&p->mu);
  p->hook = fn;
  p->hook_ctx = ctx;
  pthread_mutex_unlock(&p->mu);
}

int publ_view(seq_publisher *p, seq_view *v, int with_note) {
  memset(v, 0, sizeof *v);
  pthread_mutex_lock(&p->mu);
  v->size = p->size;
  memcpy(v->root, p->root, MERKLE_HASH_SIZE);
  v->note_size = p->note_size;
  memcpy(v->note_root, p->note_root, MERKLE_HASH_SIZE);
  int rc = 0;
  if (with_note && p->note) {
    v->note = malloc(p->note_len + 1);
    if (v->note) {
      memcpy(v->note, p->note, p->note_len + 1);
      v->note_len = p->note_len;
    } else {
      rc = -1;
    }
  }
  pthread_mutex_unlock(&p->mu);
  return rc;
}

int publ_stalled(seq_publisher *p, int want) {
  pthread_mutex_lock(&p->mu);
  int behind = p->size > p->note_size;
  uint64_t last = p->note_mono;
  pthread_mutex_unlock(&p->mu);
  return (want || behind) && publ_now_ms() > last + 3 * p->interval_ms;
}
