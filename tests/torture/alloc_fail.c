/* alloc_fail.c: the allocation-failure shim behind torture.h. */
#include "tests/torture/torture.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);

/* Test programs are single-threaded while armed; threads they start would need atomics. */
static unsigned long fail_at, counted;
static int injected;

void torture_arm(unsigned long n) {
  fail_at = n;
  counted = 0;
  injected = 0;
}

int torture_injected(void) { return injected; }
unsigned long torture_count(void) { return counted; }

static int should_fail(void) {
  if (!fail_at) return 0;
  if (++counted != fail_at) return 0;
  injected = 1;
  errno = ENOMEM;
  return 1;
}

void *__wrap_malloc(size_t n) { return should_fail() ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t size) { return should_fail() ? NULL : __real_calloc(n, size); }
void *__wrap_realloc(void *p, size_t n) { return should_fail() ? NULL : __real_realloc(p, n); }
char *__wrap_strdup(const char *s) { return should_fail() ? NULL : __real_strdup(s); }
char *__wrap_strndup(const char *s, size_t n) { return should_fail() ? NULL : __real_strndup(s, n); }

torture_stats torture_loop(int (*op)(void *ctx), void *ctx, unsigned long max_runs) {
  torture_stats st;
  memset(&st, 0, sizeof st);
  for (unsigned long n = 1;; n++) {
    if (n > max_runs) {
      printf("#   no end after %lu runs\n", max_runs);
      st.bad = 1;
      break;
    }
    torture_arm(n);
    int rc = op(ctx);
    int hit = injected;
    torture_arm(0);
    st.runs++;
    if (!hit) {
      if (rc) {
        printf("#   failed without an injected failure (%lu allocations)\n", n - 1);
        st.bad = 1;
      }
      break;
    }
    if (rc) st.errors++;
    else st.survived++;
  }
  return st;
}
