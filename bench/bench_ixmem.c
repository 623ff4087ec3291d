/* bench-ixmem: CPU to sort one index merge's keys (2^18, as logd's index log merges
 * them), ixmem_sorted beside qsort of the same keys with the same order, interleaved,
 * best of ROUNDS each. Prints "ixmem_sorted MS" and "qsort MS". Not shipped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "logd/ixmem.h"

static double cpu_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int op_cmp(const void *a, const void *b) {
  const ixmem_op *x = a, *y = b;
  if (x->tag != y->tag) return x->tag < y->tag ? -1 : 1;
  return memcmp(x->key, y->key, IXMEM_KEY);
}

/* One round: ixmem_sorted, then qsort of the same keys shuffled; 0, or -1 when a sort
 * failed or the two orders differ. Adds each one's CPU ms to *ix and *q. */
static int round_once(const ixmem *m, ixmem_op *copy, size_t n, uint64_t *x, double *ix, double *q) {
  ixmem_op *o = NULL;
  size_t got = 0;
  double t0 = cpu_ms();
  if (ixmem_sorted(m, &o, &got) || got != n) {
    free(o);
    return -1;
  }
  double t1 = cpu_ms();
  memcpy(copy, o, n * sizeof *copy);
  for (size_t i = n - 1; i > 0; i--) { /* shuffled, as the table holds them */
    *x ^= *x << 13, *x ^= *x >> 7, *x ^= *x << 17;
    size_t j = (size_t)(*x % (i + 1));
    ixmem_op t = copy[i];
    copy[i] = copy[j], copy[j] = t;
  }
  double t2 = cpu_ms();
  qsort(copy, n, sizeof *copy, op_cmp);
  double t3 = cpu_ms();
  int same = !memcmp(copy, o, n * sizeof *copy);
  free(o);
  *ix = t1 - t0, *q = t3 - t2;
  return same ? 0 : -1;
}

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 7, rc = 1;
  size_t n = (size_t)1 << 18;
  ixmem *m = ixmem_new(n);
  ixmem_op *copy = malloc(n * sizeof *copy);
  uint64_t x = 88172645463325252ull;
  double best_ix = 1e30, best_q = 1e30;
  if (!m || !copy) goto done;
  for (size_t i = 0; i < n; i++) {
    uint8_t k[IXMEM_KEY];
    for (int b = 0; b < IXMEM_KEY; b++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      k[b] = (uint8_t)(x >> 24);
    }
    if (ixmem_put(m, i & 1 ? 'D' : 'H', k, i)) goto done;
  }
  for (int r = 0; r < rounds; r++) {
    double ix, q;
    if (round_once(m, copy, n, &x, &ix, &q)) {
      fprintf(stderr, "bench-ixmem: a sort failed or the two orders differ\n");
      goto done;
    }
    if (ix < best_ix) best_ix = ix;
    if (q < best_q) best_q = q;
  }
  printf("ixmem_sorted %.2f\nqsort %.2f\n", best_ix, best_q);
  rc = 0;
done:
  ixmem_free(m);
  free(copy);
  return rc;
}
