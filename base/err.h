/* err.h: the one error convention of this tree, and its message buffer.
 *
 * Every module returns its own named enum whose 0 value means success, with a
 * `<module>_err_str()` giving a fixed English name for each value, and fills a
 * caller-owned `(char *err, size_t errcap)` buffer with a sentence saying what went
 * wrong. Exit codes exist only in `main`. This header is base's own instance of the
 * convention (xt_err) and the helpers every module uses to fill its buffer. */
#ifndef XT_BASE_ERR_H
#define XT_BASE_ERR_H

#include <stdarg.h>
#include <stddef.h>

typedef enum {
  XT_OK = 0,
  XT_EINVAL,  /* malformed input: not hex, not a number, bad length */
  XT_ERANGE,  /* well formed but outside the allowed range */
  XT_ETOOBIG, /* larger than the caller's bound */
  XT_EIO,     /* the operating system refused (open, read, write, fsync, rename) */
  XT_ENOMEM   /* an allocation failed */
} xt_err;

/* Returns a static name for e ("ok", "invalid input", ...); never NULL. */
const char *xt_err_str(xt_err e);

/* Formats into err (when err != NULL and errcap > 0). A message longer than the buffer
 * is never cut silently: its end is replaced by "...", so a reader sees it was cut.
 * Returns nothing: filling a message buffer cannot fail in a way a caller could act on. */
void xt_errf(char *err, size_t errcap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The same with a va_list, for a module's own formatter that also returns its status
 * (ap is consumed as by vsnprintf). */
void xt_verrf(char *err, size_t errcap, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* One operational log line on stderr: "<UTC time> <prog>: <message>\n", written with a
 * single call so lines from several threads do not interleave. Never pass secrets. */
void xt_log(const char *prog, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
