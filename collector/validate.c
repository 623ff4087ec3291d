#include "collector/validate.h"

static int is_alnum_ascii(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

int validate_username(const char *s, size_t len) {
  if (!s || len < 1 || len > COLLECTOR_USERNAME_MAX) return 0;
  if (s[0] == '.' || s[len - 1] == '.') return 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (!(is_alnum_ascii(c) || c == '_' || c == '.')) return 0;
    if (c == '.' && i + 1 < len && s[i + 1] == '.') return 0;
  }
  return 1;
}

int validate_cookie(const char *s, size_t len) {
  if (!s || len < 1 || len > COLLECTOR_COOKIE_MAX) return 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x20 || c > 0x7e) return 0;
  }
  return 1;
}

int validate_cursor(const char *s, size_t len) {
  if (!s || len < 1 || len > COLLECTOR_CURSOR_MAX) return 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (!(is_alnum_ascii(c) || c == '_' || c == '-')) return 0;
  }
  return 1;
}
