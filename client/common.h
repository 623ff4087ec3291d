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

/* --key: the verifier key string itself, or a file holding it (surrounding white
 * space ignored). */
tlog_err tlog_load_verifier(const char *arg, note_verifier *v, char *err, size_t errcap);

/* A verified checkpoint with its note text (malloc'd, NUL-terminated). */
typedef struct tlog_checkpoint {
  checkpoint c;
  char *note;
  size_t note_len;
} tlog_checkpoint;
void tlog_checkpoint_clear(tlog_checkpoint *cp);

/* Verifies note text against v. Returns 0, or 1 (bad signature / body) with err. */
tlog_err tlog_checkpoint_from_text(const note_verifier *v, const char *text, size_t len,
                              tlog_checkpoint *out, char *err, size_t errcap);
/* Reads `path` from the source ("checkpoint" or "v1/checkpoints/N") and verifies it.
 * Returns 0, 1 (does not verify) or 2 (could not read; FETCH_NOT_FOUND is reported
 * through *not_found when non-NULL). */
tlog_err tlog_fetch_checkpoint(log_source *src, const note_verifier *v, const char *path,
                          tlog_checkpoint *out, bool *not_found, char *err, size_t errcap);
/* The signed checkpoint of an anchored size: v1/checkpoints/<size>, or the latest
 * checkpoint when it has that size and the log keeps no separate copy. Same returns
 * as tlog_fetch_checkpoint. */
tlog_err tlog_fetch_sized_checkpoint(log_source *src, const note_verifier *v, uint64_t size,
                                const tlog_checkpoint *latest, tlog_checkpoint *out, bool *not_found,
                                char *err, size_t errcap);
/* A checkpoint from a file holding a signed note (or a tlog-proof, whose note is used). */
tlog_err tlog_checkpoint_file(const note_verifier *v, const char *file, tlog_checkpoint *out,
                         char *err, size_t errcap);

/* An opened log: its source, the verifier, and the latest checkpoint, verified. */
typedef struct tlog_log {
  log_source *src;
  note_verifier v;
  tlog_checkpoint cp;
} tlog_log;
/* Opens --log, parses --key and fetches and verifies the latest checkpoint. */
tlog_err tlog_log_open(tlog_log *l, const char *log, const char *key, char *err, size_t errcap);
void tlog_log_close(tlog_log *l);

/* Classifies a tile reader failure: 2 if the source failed to deliver (I/O),
 * 1 if what it delivered did not authenticate. */
tlog_err tlog_reader_failure(const log_source *src, uint64_t failures_before);

/* mkdir -p for the directories of path, then xt_file_write_atomic (mode 0644): readers
 * never see half a file. Returns TLOG_OK or TLOG_EIO with err. */
tlog_err tlog_write_file(const char *path, const void *data, size_t len, char *err, size_t errcap)
    __attribute__((warn_unused_result));
/* mkdir -p for the directories of path (not path itself unless it ends in '/'). */
int tlog_mkdirs(const char *path, char *err, size_t errcap);

void tlog_sha256(const void *data, size_t len, uint8_t out[32]);

/* Progress on stderr, only when it is a terminal and not --quiet, at most 10 times
 * a second; tlog_progress_done clears the line. */
typedef struct tlog_progress {
  bool on;
  const char *what;
  uint64_t total;
  double start, last;
} tlog_progress;
void tlog_progress_init(tlog_progress *p, bool quiet, const char *what, uint64_t total);
void tlog_progress_update(tlog_progress *p, uint64_t done);
void tlog_progress_done(tlog_progress *p);
double tlog_now(void);

#endif
