/* bench-merkle: hashing and append rates of the merkle module.
 *
 * Prints one line per measurement, "name value unit", so bench/run.sh can put the
 * figures beside `openssl speed -evp sha256` taken in the same run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/num.h"
#include "merkle/merkle.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void sink_count(void *ctx, unsigned level, uint64_t index, const uint8_t hash[32]) {
  (void)level;
  (void)index;
  (void)hash;
  (*(uint64_t *)ctx)++;
}

int main(int argc, char **argv) {
  uint64_t n = 4000000;
  if (argc > 1 && xt_parse_u64(argv[1], 0, 1, UINT64_MAX, &n) != XT_OK) {
    fprintf(stderr, "usage: bench-merkle [N]   (N: a positive decimal count)\n");
    return 2;
  }
  uint8_t a[32] = {1}, b[32] = {2}, out[32];

  double t = now();
  for (uint64_t i = 0; i < n; i++) {
    merkle_node_hash(a, b, out);
    a[0] = out[0];
  }
  double node_rate = (double)n / (now() - t);
  printf("node_hash %.0f hashes/s\n", node_rate);

  uint8_t entry[100];
  memset(entry, 'x', sizeof entry);
  t = now();
  for (uint64_t i = 0; i < n; i++) {
    entry[0] = (uint8_t)i;
    merkle_leaf_hash(entry, sizeof entry, out);
  }
  printf("leaf_hash_100B %.0f hashes/s\n", (double)n / (now() - t));

  merkle_tree tree;
  merkle_tree_init(&tree);
  uint64_t nodes = 0;
  t = now();
  for (uint64_t i = 0; i < n; i++) {
    out[0] = (uint8_t)i;
    out[1] = (uint8_t)(i >> 8);
    merkle_tree_append(&tree, out, sink_count, &nodes);
  }
  double append_rate = (double)n / (now() - t);
  printf("append %.0f appends/s\n", append_rate);

  merkle_tree_init(&tree);
  t = now();
  for (uint64_t i = 0; i < n; i++) {
    entry[0] = (uint8_t)i;
    entry[1] = (uint8_t)(i >> 8);
    merkle_leaf_hash(entry, sizeof entry, out);
    merkle_tree_append(&tree, out, NULL, NULL);
  }
  printf("append_with_leaf_hash_100B %.0f appends/s\n", (double)n / (now() - t));
  merkle_tree_root(&tree, out);
  printf("append_vs_node_hash %.2f ratio\n", append_rate / node_rate);
  return 0;
}
