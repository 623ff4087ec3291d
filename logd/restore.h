/* restore.h: logd --restore-from URL: a new instance rebuilds its store from a mirror
 * (logd/mirror.h) and continues the same log (issue 16).
 *
 * Contract: runs before anything else is written, on a data directory without a
 * database. Reads the mirror's public URL over plain HTTP (client/fetch.h): its
 * `checkpoint` must verify with this logd's key and origin; every entry bundle of that
 * tree is read, its leaf hashes recomputed, the tiles built from them, and the root
 * compared with the signed checkpoint's; with anchoring, the rebuilt tree must be at
 * least as large as the chain's anchored head and consistent with it
 * (anchoring_check_start: a mirror behind the chain is refused). The database is built
 * in DIR/db.restore and renamed to DIR/db only when every check passed, so a refused
 * restore leaves no database behind. Kept quotes (boot entries' and the anchored
 * checkpoint's) and the collateral archive are copied from the mirror when it has them.
 * The signed checkpoints of sizes other than the latest and the anchored head stay in
 * the mirror (v1/checkpoints/<size>), not in the new store. */
#ifndef XT_LOGD_RESTORE_H
#define XT_LOGD_RESTORE_H

#include <stddef.h>

#include "logd/anchoring.h"
#include "merkle/note.h"

typedef enum {
  RESTORE_OK = 0,
  RESTORE_EEXIST,  /* DIR/db already exists */
  RESTORE_EFETCH,  /* the mirror could not be read */
  RESTORE_EVERIFY, /* the mirror is not this log, or its tiles do not match its checkpoint */
  RESTORE_ECHAIN,  /* behind or inconsistent with the anchored head (or the node is away) */
  RESTORE_ESTORE   /* the local database could not be written */
} restore_err;

/* A fixed name for e; never NULL. */
const char *restore_err_str(restore_err e);

typedef struct restore_config {
  const char *url;                /* the mirror's public base URL (or a bundle directory) */
  const char *db_path;            /* DIR/db, which must not exist */
  const char *data_dir;           /* DIR: attestations/ and collateral/ go there */
  const char *origin;
  const note_verifier *verifier;  /* this logd's checkpoint key */
  logd_anchor *anchor;            /* NULL without anchoring */
} restore_config;

/* Rebuilds DIR/db from the mirror; logs its progress. RESTORE_OK or another value with
 * a message saying what was refused and why. */
restore_err restore_run(const restore_config *cfg, char *err, size_t errcap)
    __attribute__((warn_unused_result));

#endif
