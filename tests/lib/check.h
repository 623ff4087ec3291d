/* check.h: the test harness every C test program uses.
 *
 * A test program is a main() that calls CHECK_RUN(fn) for each case and returns
 * check_finish(). Each case prints one line, "ok - name" or "not ok - name", which
 * tests/run.sh counts. CHECK() records a failure and goes on, so one run shows every
 * broken assertion of a case; CHECK_FATAL() returns from the case at once. */
#ifndef XT_TESTS_CHECK_H
#define XT_TESTS_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

extern int check_case_failed;

void check_fail(const char *file, int line, const char *what);
void check_run(const char *name, void (*fn)(void));
int check_finish(void);
/* Hex helpers for comparing digests with published vectors. */
int check_unhex(const char *hex, uint8_t *out, size_t cap, size_t *out_len);
void check_hex(const uint8_t *in, size_t len, char *out /* 2*len+1 */);

#define CHECK(cond) \
  do { if (!(cond)) check_fail(__FILE__, __LINE__, #cond); } while (0)
#define CHECK_FATAL(cond) \
  do { if (!(cond)) { check_fail(__FILE__, __LINE__, #cond); return; } } while (0)
#define CHECK_EQ_MEM(a, b, n) \
  do { if (memcmp((a), (b), (n)) != 0) check_fail(__FILE__, __LINE__, "memcmp(" #a ", " #b ")"); } while (0)
#define CHECK_RUN(fn) check_run(#fn, fn)

#endif
