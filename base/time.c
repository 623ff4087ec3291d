/* time.c: RFC 3339 parsing and formatting. */
#include "base/time.h"

#include <ctype.h>
#include <string.h>

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

static int parse_rfc3339(const char *text, time_t *out) {
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

xt_err xt_parse_rfc3339(const char *text, time_t *out) {
  return parse_rfc3339(text, out) == 0 ? XT_OK : XT_EINVAL;
}

xt_err xt_format_rfc3339(time_t t, char *out, size_t cap) {
  struct tm tm;
  if (cap < 21 || !gmtime_r(&t, &tm) || !strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm)) {
    if (cap) out[0] = '\0';
    return XT_ETOOBIG;
  }
  return XT_OK;
}
