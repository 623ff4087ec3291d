#include "logd/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

void logd_log(const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  /* One write per line so lines from threads do not interleave. */
  fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ logd: %s\n", tm.tm_year + 1900,
          tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, msg);
}
