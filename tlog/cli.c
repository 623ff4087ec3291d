/* cli.c: how tlog's commands report: one failure line, or the list of failures a
 * multi-check command found. */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlog/commands.h"

int tlog_fail(const char *cmd, bool json, int code, const char *msg) {
  fprintf(stderr, "tlog %s: %s%s\n", cmd, code == TLOG_EXIT_FAILED ? "verification failed: " : "",
          msg);
  if (json) {
    json_t *o = json_pack("{s:b,s:i,s:s}", "verified", 0, "exit", code, "error", msg);
    if (o) {
      json_dumpf(o, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
      fputc('\n', stdout);
      json_decref(o);
    }
  }
  return code;
}

void tlog_failures_add(tlog_failures *f, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *s = NULL;
  int len = vasprintf(&s, fmt, ap); /* the whole message: never cut */
  va_end(ap);
  if (len < 0) s = NULL;
  if (s && f->n == f->cap) {
    size_t cap = f->cap ? f->cap * 2 : 16;
    char **m = realloc(f->msg, cap * sizeof *m);
    if (m) {
      f->msg = m;
      f->cap = cap;
    }
  }
  if (!s || f->n == f->cap) {
    free(s);
    f->dropped++; /* still a failure, though its line could not be kept */
    return;
  }
  f->msg[f->n++] = s;
}

bool tlog_failures_any(const tlog_failures *f) { return f->n > 0 || f->dropped > 0; }

void tlog_failures_free(tlog_failures *f) {
  for (size_t i = 0; i < f->n; i++) free(f->msg[i]);
  free(f->msg);
  memset(f, 0, sizeof *f);
}

