/* file.h: whole-file reads with a bound, and writes that never leave a half file.
 * Keys, state and receipts are written this way so a crash or a full disk leaves either
 * the old file or the new one. */
#ifndef XT_BASE_FILE_H
#define XT_BASE_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"

/* Reads the whole file at path into a new malloc'd buffer with a NUL after the last byte
 * (not counted in *len); the caller frees *out. A file of more than max bytes is refused.
 * Returns XT_OK; XT_EIO (cannot open or read: the message names path and errno's text);
 * XT_ETOOBIG; XT_ENOMEM. *out and *len are untouched on failure. */
xt_err xt_file_read(const char *path, size_t max, uint8_t **out, size_t *len, char *err,
                    size_t errcap) __attribute__((warn_unused_result));

/* Writes data to "<dir of path>/.<name>.tmp.<pid>" with the given mode, fsyncs it,
 * renames it over path and fsyncs the directory. On failure the temporary file is removed
 * and path is unchanged. Returns XT_OK, XT_EIO (message names the step) or XT_ENOMEM. */
xt_err xt_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
                            char *err, size_t errcap) __attribute__((warn_unused_result));

#endif
