/* Fuzz target: the collector's Archive input validation (collector/validate.h).
 * Each validator is checked against the charset rule its header states, written
 * out independently here, so a validator that lets one byte too many through fails. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collector/validate.h"

static int in_set(unsigned char c, const char *extra) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         (c && strchr(extra, c));
}

static int ref_username(const uint8_t *p, size_t n) {
  if (n < 1 || n > COLLECTOR_USERNAME_MAX || p[0] == '.' || p[n - 1] == '.') return 0;
  for (size_t i = 0; i < n; i++) {
    if (!in_set(p[i], "_.")) return 0;
    if (i && p[i] == '.' && p[i - 1] == '.') return 0;
  }
  return 1;
}

static int ref_cookie(const uint8_t *p, size_t n) {
  if (n < 1 || n > COLLECTOR_COOKIE_MAX) return 0;
  for (size_t i = 0; i < n; i++)
    if (p[i] < 0x20 || p[i] > 0x7e) return 0;
  return 1;
}

static int ref_cursor(const uint8_t *p, size_t n) {
  if (n < 1 || n > COLLECTOR_CURSOR_MAX) return 0;
  for (size_t i = 0; i < n; i++)
    if (!in_set(p[i], "_-")) return 0;
  return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *s = malloc(size ? size : 1);
  if (!s) return 0;
  memcpy(s, data, size);
  /* Validators return non-zero when valid; compare truth values only. */
  if (!validate_username(s, size) != !ref_username(data, size)) abort();
  if (!validate_cookie(s, size) != !ref_cookie(data, size)) abort();
  if (!validate_cursor(s, size) != !ref_cursor(data, size)) abort();
  free(s);
  return 0;
}
