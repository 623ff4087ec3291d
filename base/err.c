/* err.c: xt_err names, the message-buffer formatter and the stderr logger. */
#include "base/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

const char *xt_err_str(xt_err e) {
  switch (e) {
  case XT_OK: return "ok";
  case XT_EINVAL: return "invalid input";
  case XT_ERANGE: return "out of range";
  case XT_ETOOBIG: return "too large";
  case XT_EIO: return "I/O error";
  case XT_ENOMEM: return "out of memory";
  }
  return "unknown error";
}

static void mark_cut(char *buf, size_t cap) {
  static const char dots[] = "...";
  if (cap > sizeof dots) memcpy(buf + cap - sizeof dots, dots, sizeof dots);
}

void xt_verrf(char *err, size_t errcap, const char *fmt, va_list ap) {
  if (!err || errcap == 0) return;
  int n = vsnprintf(err, errcap, fmt, ap);
  if (n < 0) {
    err[0] = 0;
  } else if ((size_t)n >= errcap) {
    mark_cut(err, errcap);
  }
}

void xt_errf(char *err, size_t errcap, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  xt_verrf(err, errcap, fmt, ap);
  va_end(ap);
}

void xt_log(const char *prog, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (n < 0) msg[0] = 0;
  else if ((size_t)n >= sizeof msg) mark_cut(msg, sizeof msg);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s: %s\n", tm.tm_year + 1900,
          tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, prog,
          msg);
}
