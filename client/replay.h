/* replay.h: recomputes a log's tree from its entry bundles.
 *
 * Contract: reads entry bundles 0 .. end-1 from a log source, one bundle at a time
 * (memory does not grow with the log), hashes every entry into a compact Merkle
 * tree, and at each given size compares the recomputed root with the expected one
 * (a signed checkpoint's, an on-chain anchor's). Nothing from hash tiles is used
 * for this: the roots come from the entries alone. Optionally, every hash tile of the
 * tree of size `end` is also compared with the recomputed nodes (for bundles, whose
 * tiles later readers use). Each entry is handed to a callback in index order.
 *
 * Returns 0, 1 (a root or tile does not match: err names it) or 2 (I/O, bad bundle
 * framing is 1). */
#ifndef XT_CLIENT_REPLAY_H
#define XT_CLIENT_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client/common.h"
#include "client/fetch.h"
#include "merkle/merkle.h"

/* Returns 0 to go on; non-zero stops the replay and is returned (use 1 or 2). */
typedef int (*replay_entry_fn)(void *ctx, uint64_t index, const uint8_t *data, size_t len);

typedef struct replay_opts {
  uint64_t end;                             /* replay entries [0, end) */
  const uint64_t *check_sizes;              /* ascending, each <= end */
  const uint8_t (*check_roots)[MERKLE_HASH_SIZE];
  size_t ncheck;
  bool check_tiles;                         /* compare hash tiles with recomputed nodes */
  replay_entry_fn entry;                    /* may be NULL */
  void *ctx;
  bool quiet;                               /* no progress display */
  const char *what;                         /* progress label */
} replay_opts;

typedef struct replay_stats {
  uint64_t entries;
  uint64_t entry_bytes;
  double seconds;
  uint8_t root[MERKLE_HASH_SIZE];           /* root of the tree of size end */
} replay_stats;

/* Replays as the header comment says, reading from src (borrowed), filling *st.
 * Returns TLOG_OK; TLOG_EVERIFY (a root or tile does not match, or a bundle is badly
 * framed: err names it); TLOG_EIO (a read failed, out of memory); or the non-zero value
 * o->entry returned, which stopped it. */
tlog_err replay_run(log_source *src, const replay_opts *o, replay_stats *st, char *err, size_t errcap)
    __attribute__((warn_unused_result));

#endif
