/* file.c: bounded reads and atomic writes. */
#include "base/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static xt_err read_all(int fd, const char *path, size_t max, uint8_t **out, size_t *len,
                       char *err, size_t errcap) {
  size_t cap = 4096, n = 0;
  uint8_t *buf = malloc(cap);
  if (!buf) return XT_ENOMEM;
  for (;;) {
    if (n == cap) {
      /* Past max we stop: one byte more than max is enough to know it is too big. */
      if (n > max) break;
      uint8_t *nb = realloc(buf, cap * 2);
      if (!nb) {
        free(buf);
        return XT_ENOMEM;
      }
      buf = nb;
      cap *= 2;
    }
    ssize_t r = read(fd, buf + n, cap - n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      xt_errf(err, errcap, "%s: %s", path, strerror(errno));
      free(buf);
      return XT_EIO;
    }
    if (r == 0) break;
    n += (size_t)r;
  }
  if (n > max) {
    xt_errf(err, errcap, "%s: larger than %zu bytes", path, max);
    free(buf);
    return XT_ETOOBIG;
  }
  if (n == cap) {
    uint8_t *nb = realloc(buf, cap + 1);
    if (!nb) {
      free(buf);
      return XT_ENOMEM;
    }
    buf = nb;
  }
  buf[n] = 0;
  *out = buf;
  *len = n;
  return XT_OK;
}

xt_err xt_file_read(const char *path, size_t max, uint8_t **out, size_t *len, char *err,
                    size_t errcap) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    xt_errf(err, errcap, "%s: %s", path, strerror(errno));
    return XT_EIO;
  }
  xt_err e = read_all(fd, path, max, out, len, err, errcap);
  if (e == XT_ENOMEM) xt_errf(err, errcap, "%s: out of memory", path);
  close(fd);
  return e;
}

static xt_err write_all(int fd, const uint8_t *p, size_t len) {
  size_t done = 0;
  while (done < len) {
    ssize_t w = write(fd, p + done, len - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      if (w == 0) errno = ENOSPC;
      return XT_EIO;
    }
    done += (size_t)w;
  }
  return XT_OK;
}

/* Splits path into its directory ("." when none) for the temporary name and the fsync. */
static char *dir_of(const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash) return strdup(".");
  if (slash == path) return strdup("/");
  return strndup(path, (size_t)(slash - path));
}

xt_err xt_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
                            char *err, size_t errcap) {
  char *dir = dir_of(path);
  const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
  size_t tcap = strlen(dir) + strlen(base) + 32;
  char *tmp = dir ? malloc(tcap) : NULL;
  if (!tmp) {
    free(dir);
    xt_errf(err, errcap, "%s: out of memory", path);
    return XT_ENOMEM;
  }
  snprintf(tmp, tcap, "%s/.%s.tmp.%ld", dir, base, (long)getpid());
  xt_err e = XT_EIO;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) {
    xt_errf(err, errcap, "%s: %s", tmp, strerror(errno));
    goto out;
  }
  if (write_all(fd, data, len) != XT_OK || fsync(fd) != 0) {
    xt_errf(err, errcap, "%s: %s", tmp, strerror(errno));
    close(fd);
    unlink(tmp);
    goto out;
  }
  if (close(fd) != 0) {
    xt_errf(err, errcap, "%s: %s", tmp, strerror(errno));
    unlink(tmp);
    goto out;
  }
  if (rename(tmp, path) != 0) {
    xt_errf(err, errcap, "rename to %s: %s", path, strerror(errno));
    unlink(tmp);
    goto out;
  }
  /* The rename is durable only once the directory entry is. */
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0 || fsync(dfd) != 0) {
    xt_errf(err, errcap, "%s: fsync: %s", dir, strerror(errno));
    if (dfd >= 0) close(dfd);
    goto out;
  }
  close(dfd);
  e = XT_OK;
out:
  free(tmp);
  free(dir);
  return e;
}
