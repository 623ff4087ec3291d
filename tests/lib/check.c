#include "tests/lib/check.h"

#include <stdlib.h>
#include <time.h>

int check_case_failed;
static int cases_passed;
static int cases_failed;
static unsigned failures_this_case;

void check_fail(const char *file, int line, const char *what) {
  check_case_failed = 1;
  /* Cap the noise from a loop that fails thousands of times. */
  if (++failures_this_case <= 20)
    fprintf(stdout, "#   %s:%d: check failed: %s\n", file, line, what);
  else if (failures_this_case == 21)
    fprintf(stdout, "#   (further failures of this case not shown)\n");
  fflush(stdout);
}

void check_run(const char *name, void (*fn)(void)) {
  struct timespec a, b;
  check_case_failed = 0;
  failures_this_case = 0;
  clock_gettime(CLOCK_MONOTONIC, &a);
  fn();
  clock_gettime(CLOCK_MONOTONIC, &b);
  double ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
  if (check_case_failed) {
    cases_failed++;
    fprintf(stdout, "not ok - %s (%.0f ms)\n", name, ms);
  } else {
    cases_passed++;
    fprintf(stdout, "ok - %s (%.0f ms)\n", name, ms);
  }
  fflush(stdout);
}

int check_finish(void) {
  fprintf(stdout, "# %d passed, %d failed\n", cases_passed, cases_failed);
  return cases_failed ? 1 : 0;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int check_unhex(const char *hex, uint8_t *out, size_t cap, size_t *out_len) {
  size_t n = strlen(hex);
  if (n % 2 || n / 2 > cap) return -1;
  for (size_t i = 0; i < n / 2; i++) {
    int h = hexval(hex[2 * i]), l = hexval(hex[2 * i + 1]);
    if (h < 0 || l < 0) return -1;
    out[i] = (uint8_t)(h << 4 | l);
  }
  if (out_len) *out_len = n / 2;
  return 0;
}

void check_hex(const uint8_t *in, size_t len, char *out) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < len; i++) {
    out[2 * i] = digits[in[i] >> 4];
    out[2 * i + 1] = digits[in[i] & 15];
  }
  out[2 * len] = 0;
}
