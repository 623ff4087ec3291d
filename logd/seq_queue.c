#include "logd/seq_queue.h"

#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "logd/seq_publish.h"

/* Fetched once: the implicit fetch behind EVP_sha256() costs a lookup per call. */
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256_md;
static void sha256_fetch(void) { sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL); }

seq_sub *seq_sub_new(const char *submitter, event_list *events) {
  size_t n = events->count;
  /* One block: the submission, then its arrays (each size a multiple of 8 but the last),
   * so a single add costs one allocation here, not five. */
  size_t per = 32 + MERKLE_HASH_SIZE + sizeof(uint64_t) + 1;
  seq_sub *s = n > (SIZE_MAX - sizeof *s) / per ? NULL : calloc(1, sizeof *s + n * per);
  if (!s) {
    event_list_free(events);
    return NULL;
  }
  uint8_t *p = (uint8_t *)(s + 1);
  s->dedup = (uint8_t (*)[32])p, p += n * sizeof *s->dedup;
  s->leaf = (uint8_t (*)[MERKLE_HASH_SIZE])p, p += n * sizeof *s->leaf;
  s->index = (uint64_t *)p, p += n * sizeof *s->index;
  s->dup = p;
  s->submitter = submitter;
  s->events = *events;
  memset(events, 0, sizeof *events);
  size_t sl = strlen(submitter);
  pthread_once(&sha256_once, sha256_fetch);
  EVP_MD_CTX *c = EVP_MD_CTX_new();
  for (size_t i = 0; i < n; i++) {
    if (!c || !sha256_md || !EVP_DigestInit_ex2(c, sha256_md, NULL) || !EVP_DigestUpdate(c, submitter, sl) ||
        !EVP_DigestUpdate(c, "", 1) ||
        !EVP_DigestUpdate(c, s->events.canon[i], s->events.canon_len[i]) ||
        !EVP_DigestFinal_ex(c, s->dedup[i], NULL)) {
      EVP_MD_CTX_free(c);
      seq_sub_free(s);
      return NULL;
    }
    s->bytes += s->events.canon_len[i] + 64;
  }
  EVP_MD_CTX_free(c);
  return s;
}

void seq_sub_free(seq_sub *s) {
  if (!s) return;
  event_list_free(&s->events);
  free(s->checkpoint);
  free(s); /* with its arrays (seq_sub_new) */
}

int squeue_init(seq_queue *qu, size_t max_entries, size_t max_bytes, seq_metrics *m) {
  memset(qu, 0, sizeof *qu);
  qu->max_entries = max_entries;
  qu->max_bytes = max_bytes;
  qu->metrics = m;
  pthread_condattr_t ca;
  if (pthread_condattr_init(&ca)) return -1;
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  int rc = pthread_cond_init(&qu->cv, &ca);
  pthread_condattr_destroy(&ca);
  if (rc) return -1;
  if (pthread_mutex_init(&qu->mu, NULL)) {
    pthread_cond_destroy(&qu->cv);
    return -1;
  }
  return 0;
}

void squeue_destroy(seq_queue *qu) {
  pthread_mutex_destroy(&qu->mu);
  pthread_cond_destroy(&qu->cv);
}

seq_err squeue_push(seq_queue *qu, seq_sub *sub) {
  pthread_mutex_lock(&qu->mu);
  if (qu->stopping) {
    pthread_mutex_unlock(&qu->mu);
    return SEQ_ESTOPPED;
  }
  unsigned long long ne = atomic_load(&qu->metrics->queue_entries);
  unsigned long long nb = atomic_load(&qu->metrics->queue_bytes);
  if (qu->head && (ne + sub->events.count > qu->max_entries || nb + sub->bytes > qu->max_bytes)) {
    pthread_mutex_unlock(&qu->mu);
    return SEQ_EBUSY;
  }
  sub->next = NULL;
  if (qu->tail) qu->tail->next = sub;
  else qu->head = sub;
  qu->tail = sub;
  atomic_store(&qu->metrics->queue_entries, ne + sub->events.count);
  atomic_store(&qu->metrics->queue_bytes, nb + sub->bytes);
  pthread_cond_signal(&qu->cv);
  pthread_mutex_unlock(&qu->mu);
  return SEQ_OK;
}

seq_sub *squeue_take(seq_queue *qu, const uint64_t *wait_until, int *stopping) {
  pthread_mutex_lock(&qu->mu);
  while (!qu->head && !qu->stopping) {
    if (!wait_until) {
      pthread_cond_wait(&qu->cv, &qu->mu);
      continue;
    }
    uint64_t now = publ_now_ms();
    if (now >= *wait_until) break;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t ns = (uint64_t)ts.tv_nsec + (*wait_until - now) * 1000000ull;
    ts.tv_sec += (time_t)(ns / 1000000000ull);
    ts.tv_nsec = (long)(ns % 1000000000ull);
    pthread_cond_timedwait(&qu->cv, &qu->mu, &ts);
  }
  seq_sub *list = qu->head;
  qu->head = qu->tail = NULL;
  atomic_store(&qu->metrics->queue_entries, 0);
  atomic_store(&qu->metrics->queue_bytes, 0);
  *stopping = qu->stopping;
  pthread_mutex_unlock(&qu->mu);
  return list;
}

int squeue_stop(seq_queue *qu) {
  pthread_mutex_lock(&qu->mu);
  int was = qu->stopping;
  qu->stopping = 1;
  pthread_cond_signal(&qu->cv);
  pthread_mutex_unlock(&qu->mu);
  return was;
}

int squeue_pending(seq_queue *qu) {
  pthread_mutex_lock(&qu->mu);
  int p = qu->head != NULL;
  pthread_mutex_unlock(&qu->mu);
  return p;
}
