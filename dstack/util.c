/* util.c: hex, RFC 3339 and file helpers for the dstack module. */
#include "dstack/util.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int hex_value(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

long dstack_hex_decode(const char *hex, size_t hex_len, uint8_t *out, size_t cap) {
  if (hex_len >= 2 && hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X')) {
    hex += 2;
    hex_len -= 2;
  }
  if (hex_len % 2 != 0 || hex_len / 2 > cap) return -1;
  for (size_t i = 0; i < hex_len / 2; i++) {
    int hi = hex_value((unsigned char)hex[2 * i]);
    int lo = hex_value((unsigned char)hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return -1;
    out[i] = (uint8_t)(hi << 4 | lo);
  }
  return (long)(hex_len / 2);
}

void dstack_hex_encode(const uint8_t *in, size_t len, char *out) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < len; i++) {
    out[2 * i] = digits[in[i] >> 4];
    out[2 * i + 1] = digits[in[i] & 15];
  }
  out[2 * len] = '\0';
}

static int read_digits(const char **p, int n, int *value) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (!isdigit((unsigned char)(*p)[i])) return -1;
    v = v * 10 + ((*p)[i] - '0');
  }
  *p += n;
  *value = v;
  return 0;
}

static int expect_char(const char **p, char c) {
  if (**p != c) return -1;
  (*p)++;
  return 0;
}

int dstack_parse_rfc3339(const char *text, time_t *out) {
  const char *p = text;
  int year, mon, day, hour, min, sec;
  if (!text) return -1;
  if (read_digits(&p, 4, &year) || expect_char(&p, '-') || read_digits(&p, 2, &mon) ||
      expect_char(&p, '-') || read_digits(&p, 2, &day))
    return -1;
  if (*p != 'T' && *p != 't' && *p != ' ') return -1;
  p++;
  if (read_digits(&p, 2, &hour) || expect_char(&p, ':') || read_digits(&p, 2, &min) ||
      expect_char(&p, ':') || read_digits(&p, 2, &sec))
    return -1;
  if (*p == '.') {
    p++;
    if (!isdigit((unsigned char)*p)) return -1;
    while (isdigit((unsigned char)*p)) p++;
  }
  long offset = 0;
  if (*p == 'Z' || *p == 'z') {
    p++;
  } else if (*p == '+' || *p == '-') {
    int sign = *p == '-' ? -1 : 1, oh, om;
    p++;
    if (read_digits(&p, 2, &oh) || expect_char(&p, ':') || read_digits(&p, 2, &om)) return -1;
    if (oh > 23 || om > 59) return -1;
    offset = sign * (oh * 3600L + om * 60L);
  } else {
    return -1;
  }
  if (*p != '\0') return -1;
  if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60)
    return -1;
  struct tm tm;
  memset(&tm, 0, sizeof tm);
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = min;
  tm.tm_sec = sec;
  time_t t = timegm(&tm);
  if (t == (time_t)-1 && !(year == 1969 && mon == 12 && day == 31)) return -1;
  *out = t - offset;
  return 0;
}

void dstack_format_rfc3339(time_t t, char *out, size_t cap) {
  struct tm tm;
  if (!gmtime_r(&t, &tm) || !strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm)) {
    if (cap) out[0] = '\0';
  }
}

uint8_t *dstack_read_file(const char *path, size_t max, size_t *len, char *err, size_t errlen) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return NULL;
  }
  size_t cap = 4096, n = 0;
  uint8_t *buf = malloc(cap + 1);
  if (!buf) {
    fclose(f);
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  for (;;) {
    if (n == cap) {
      /* one byte past max tells "exactly max" from "too large" */
      if (cap > max) {
        snprintf(err, errlen, "%s: larger than %zu bytes", path, max);
        free(buf);
        fclose(f);
        return NULL;
      }
      size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
      uint8_t *nb = realloc(buf, ncap + 1);
      if (!nb) {
        snprintf(err, errlen, "out of memory");
        free(buf);
        fclose(f);
        return NULL;
      }
      buf = nb;
      cap = ncap;
    }
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (got == 0) break;
  }
  if (ferror(f)) {
    snprintf(err, errlen, "%s: read error", path);
    free(buf);
    fclose(f);
    return NULL;
  }
  fclose(f);
  if (n > max) {
    snprintf(err, errlen, "%s: larger than %zu bytes", path, max);
    free(buf);
    return NULL;
  }
  buf[n] = '\0';
  *len = n;
  return buf;
}
