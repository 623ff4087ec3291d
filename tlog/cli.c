/* cli.c: how tlog's commands report: one failure line, or the list of failures a
 * multi-check command found. */
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "tlog/commands.h"

int tlog_fail(const char *cmd, bool json, int code, const char *msg) {
  fprintf(stderr, "tlog %s: %s%s\n", cmd, code == TLOG_EXIT_FAILED ? "verification failed: " : "",
          msg);
  if (json) {
    json_t *o = json_pack("{s:b,s:i,s:s}", "verified", 0, "exit", code, "error", msg);
    if (o) {
      (void)tlog_json_print(o);
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


int tlog_usage_error(const char *cmd, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  xt_verrf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  size_t word = strcspn(cmd, " "); /* "anchor deploy": the help is tlog anchor's */
  fprintf(stderr, "tlog %s: %s; see 'tlog %.*s --help'\n", cmd, msg, (int)word, cmd);
  return TLOG_EXIT_USAGE;
}

int tlog_getopt(const char *cmd, int argc, char **argv, const struct option *opts) {
  opterr = 0;
  int c = getopt_long(argc, argv, ":h", opts, NULL);
  if (c != '?' && c != ':') return c;
  /* getopt_long has stepped over the offending word: argv[optind - 1]. */
  const char *word = optind > 0 && optind <= argc ? argv[optind - 1] : "?";
  size_t len = strcspn(word, "=");
  if (c == ':') tlog_usage_error(cmd, "option '%.*s' needs a value", (int)len, word);
  else if (optopt && optopt != 'h') tlog_usage_error(cmd, "unknown option '-%c'", optopt);
  else tlog_usage_error(cmd, "unknown option '%.*s'", (int)len, word);
  return '?';
}

int tlog_no_extra_args(const char *cmd, int argc, char **argv) {
  if (optind >= argc) return 0;
  return tlog_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
}

int tlog_require(const char *cmd, const char *value, const char *flag) {
  return value ? 0 : tlog_usage_error(cmd, "missing %s", flag);
}

int tlog_json_print(const json_t *o) {
  if (!o || json_dumpf(o, stdout, JSON_INDENT(2) | JSON_SORT_KEYS) != 0) return -1;
  fputc('\n', stdout);
  return 0;
}
