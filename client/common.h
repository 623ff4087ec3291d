/* common.h: the tlogcore helpers every log reader shares: verifier keys, signed
 * checkpoints (fetched, from files, of anchored sizes), opening a log, and progress.
 *
 * Functions that can fail return a tlog_err (0 ok, 1 verification failed, 2 usage or
 * I/O) and write a one-line message into the caller's (err, errcap) buffer. */
#ifndef XT_CLIENT_COMMON_H
#define XT_CLIENT_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "client/fetch.h"
#include "merkle/merkle.h"
#include "merkle/note.h"
#include "merkle/tile.h"

/* The outcome of a tlogcore call that reads or checks a log. The values equal tlog's
 * exit statuses (tlog/commands.h), so a command may return one unchanged. */
typedef enum tlog_err {
  TLOG_OK = 0,      /* verified / done */
  TLOG_EVERIFY = 1, /* something read does not verify (err names it) */
  TLOG_EIO = 2      /* bad arguments, or could not read: nothing was concluded */
} tlog_err;

/* Returns a static name for e ("ok", "verification failed", "usage or I/O"); never NULL. */
const char *tlog_err_str(tlog_err e);

/* Parses --key: the verifier key string itself ("name+hash+base64"), or else the path
 * of a file holding one (at most 4 KiB; surrounding white space ignored). Fills *v.
 * Returns TLOG_OK, or TLOG_EIO with err (neither a key nor a readable key file). */
tlog_err tlog_load_verifier(const char *arg, note_verifier *v, char *err, size_t errcap)
    __attribute__((warn_unused_result));

/* A verified checkpoint with its note text. Owns note (malloc'd, NUL-terminated);
 * tlog_checkpoint_clear frees it. A zeroed one is empty and may be cleared. */
typedef struct tlog_checkpoint {
  checkpoint c;
  char *note;
  size_t note_len;
} tlog_checkpoint;

/* Frees cp's note and zeroes cp. */
void tlog_checkpoint_clear(tlog_checkpoint *cp);

/* Verifies the len bytes of note text against v into *out (a copy of the text; the
 * caller clears it). Returns TLOG_OK; TLOG_EVERIFY (bad signature or body, too large;
 * err says which); TLOG_EIO (out of memory). *out is empty on failure. */
tlog_err tlog_checkpoint_from_text(const note_verifier *v, const char *text, size_t len, tlog_checkpoint *out,
                                   char *err, size_t errcap) __attribute__((warn_unused_result));

/* Reads `path` from src ("checkpoint" or "v1/checkpoints/N") and verifies it into *out
 * (the caller clears it). Returns TLOG_OK, TLOG_EVERIFY (does not verify) or TLOG_EIO
 * (could not read); *not_found (when not NULL) says whether the source has no such
 * path. */
tlog_err tlog_fetch_checkpoint(log_source *src, const note_verifier *v, const char *path, tlog_checkpoint *out,
                               bool *not_found, char *err, size_t errcap) __attribute__((warn_unused_result));

/* The signed checkpoint of an anchored size: v1/checkpoints/<size>, or a copy of
 * *latest (may be NULL) when it has that size and the log keeps no separate copy.
 * Same returns and ownership as tlog_fetch_checkpoint. */
tlog_err tlog_fetch_sized_checkpoint(log_source *src, const note_verifier *v, uint64_t size,
                                     const tlog_checkpoint *latest, tlog_checkpoint *out, bool *not_found,
                                     char *err, size_t errcap) __attribute__((warn_unused_result));

/* A checkpoint from a file holding a signed note, or a tlog-proof (whose note is
 * used); "-" is standard input. Same returns and ownership as
 * tlog_checkpoint_from_text, and TLOG_EIO when the file cannot be read or parsed. */
tlog_err tlog_checkpoint_file(const note_verifier *v, const char *file, tlog_checkpoint *out, char *err,
                              size_t errcap) __attribute__((warn_unused_result));

/* An opened log: its source, the verifier, and the latest checkpoint, verified. Owns
 * src and cp; tlog_log_close frees them. */
typedef struct tlog_log {
  log_source *src;
  note_verifier v;
  tlog_checkpoint cp;
} tlog_log;

/* Parses key (as tlog_load_verifier), opens the source log (as log_source_open) and
 * fetches and verifies its latest checkpoint into *l. Returns TLOG_OK, TLOG_EVERIFY
 * (the checkpoint does not verify) or TLOG_EIO; on failure *l holds nothing to close. */
tlog_err tlog_log_open(tlog_log *l, const char *log, const char *key, char *err, size_t errcap)
    __attribute__((warn_unused_result));

/* Frees what l holds and zeroes it. */
void tlog_log_close(tlog_log *l);

/* Classifies a tile reader failure from the source's failure count before the reads:
 * TLOG_EIO if the source failed to deliver, TLOG_EVERIFY if what it delivered did not
 * authenticate. */
tlog_err tlog_reader_failure(const log_source *src, uint64_t failures_before);

/* Creates the directories of path (mkdir -p, mode 0755), then writes it with
 * xt_file_write_atomic (mode 0644): readers never see half a file. Returns TLOG_OK or
 * TLOG_EIO with err. */
tlog_err tlog_write_file(const char *path, const void *data, size_t len, char *err, size_t errcap)
    __attribute__((warn_unused_result));

/* Creates the directories of path (not path itself unless it ends in '/'), as mkdir -p.
 * Returns TLOG_OK or TLOG_EIO with err. */
tlog_err tlog_mkdirs(const char *path, char *err, size_t errcap) __attribute__((warn_unused_result));

/* SHA-256 of len bytes at data into out (OpenSSL). */
void tlog_sha256(const void *data, size_t len, uint8_t out[32]);

/* Progress on stderr, only when it is a terminal and not quiet, at most 10 times a
 * second. what must outlive p; total 0 means unknown. tlog_progress_done clears the
 * line. */
typedef struct tlog_progress {
  bool on;
  const char *what;
  uint64_t total;
  double start, last;
} tlog_progress;
void tlog_progress_init(tlog_progress *p, bool quiet, const char *what, uint64_t total);
void tlog_progress_update(tlog_progress *p, uint64_t done);
void tlog_progress_done(tlog_progress *p);

/* Seconds on the monotonic clock (for durations only). */
double tlog_now(void);

#endif
