/* bench-event [ROUNDS]: CPU time of logd's event canonicalization on a 1,000-event
 * add-batch body like bench/logd_bench.c's, the one-pass parser (event_parse_batch)
 * beside the jansson reference (event_parse_batch_ref, what logd ran before). Prints
 * "name events_per_cpu_second" lines. Process CPU time, so a busy machine skews it less
 * than wall time would. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "logd/event.h"

typedef event_err (*parse_fn)(const char *, size_t, size_t, event_list *, char *, size_t);

static double cpu_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double rate(parse_fn f, const char *body, size_t n, int rounds) {
  char err[400];
  double t0 = cpu_s();
  for (int r = 0; r < rounds; r++) {
    event_list l;
    if (f(body, n, 1000, &l, err, sizeof err) || l.count != 1000) {
      fprintf(stderr, "bench-event: %s\n", err);
      exit(1);
    }
    event_list_free(&l);
  }
  return 1000.0 * rounds / (cpu_s() - t0);
}

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 300;
  if (rounds < 1) rounds = 1;
  size_t cap = 200 * 1000 + 2, n = 0;
  char *body = malloc(cap);
  if (!body) return 1;
  body[n++] = '[';
  for (int i = 0; i < 1000; i++)
    n += (size_t)snprintf(body + n, cap - n,
                          "%s{\"type\":\"bench\",\"run\":%llu,\"n\":%d,\"user\":\"5f2b9c0d7e1a4b3c8d9e0f1a2b3c4d5e\"}",
                          i ? "," : "", 1234567ULL << 32, i);
  body[n++] = ']';
  /* Interleaved, so a change in the machine's load hits both alike. */
  double one = 0, ref = 0;
  for (int k = 0; k < 3; k++) {
    one += rate(event_parse_batch, body, n, rounds);
    ref += rate(event_parse_batch_ref, body, n, rounds / 4 + 1);
  }
  printf("event_parse_batch %.0f\nevent_parse_batch_ref %.0f\n", one / 3, ref / 3);
  free(body);
  return 0;
}
