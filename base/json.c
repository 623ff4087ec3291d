/* json.c: jansson's allocator, aborting on failure (see json.h for why). */
#include "base/json.h"

#include <jansson.h>
#include <stdlib.h>
#include <unistd.h>

static void *alloc_or_abort(size_t n) {
  void *p = malloc(n);
  if (!p) {
    /* write(2), not stdio: stdio may itself need memory. */
    static const char msg[] = "fatal: out of memory in a JSON allocation\n";
    if (write(2, msg, sizeof msg - 1) < 0) { /* nothing more to do */ }
    abort();
  }
  return p;
}

void xt_json_abort_on_oom(void) { json_set_alloc_funcs(alloc_or_abort, free); }
