/* torture.h: allocation-failure injection for test programs (curl's "torture" idea).
 *
 * A program linked with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup,
 * --wrap=strndup and alloc_fail.c routes every allocation made by our own objects (the
 * module libraries and the test itself) through a counter; torture_arm(n) makes the
 * n-th allocation from then on return NULL. Libraries we link dynamically (OpenSSL,
 * jansson, RocksDB, libcurl) allocate behind the wrap and are not failed: the point is
 * that our code checks every allocation it makes and unwinds cleanly.
 *
 * torture_loop() runs an operation with n = 1, 2, ... until a run injects no failure:
 * every run must return 0 (success, with the operation's own checks of the result) or
 * a clean error (non-zero); the sanitizer build adds "no crash, no leak". */
#ifndef XT_TESTS_TORTURE_H
#define XT_TESTS_TORTURE_H

#include <stddef.h>

void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

/* Fail the n-th allocation counted from now (n >= 1); 0 disarms. */
void torture_arm(unsigned long n);
/* Whether a failure was injected since the last torture_arm. */
int torture_injected(void);
/* Allocations counted since the last torture_arm. */
unsigned long torture_count(void);

typedef struct torture_stats {
  unsigned long runs;      /* operation runs, the last one without injection */
  unsigned long errors;    /* runs that returned a clean error */
  unsigned long survived;  /* runs that succeeded although an allocation failed */
  int bad;                 /* a run without injection failed, or the loop did not end */
} torture_stats;

/* op returns 0 on a correct result, non-zero on a clean error; it must abort (or fail
 * a CHECK and return non-zero) on a wrong result. */
torture_stats torture_loop(int (*op)(void *ctx), void *ctx, unsigned long max_runs);

#endif
