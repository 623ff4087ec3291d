/* anchors.h: a log's on-chain anchors (TreeHeadAnchor's Anchored events) as tlog's
 * audit, export, verify-bundle and monitor use them: read from the chain through
 * anchor/anchor.h, or from a bundle's anchors.json (the same fields `tlog anchor list
 * --json` prints: size, root, checkpoint_hash, block, time, tx). */
#ifndef XT_CLIENT_ANCHORS_H
#define XT_CLIENT_ANCHORS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "client/common.h"

typedef struct tlog_anchor {
  uint64_t size;
  uint8_t root[32];
  uint8_t checkpoint_hash[32];
  uint64_t block;
  uint64_t time; /* block timestamp, Unix seconds */
  uint8_t tx[32];
} tlog_anchor;

typedef struct tlog_anchors {
  tlog_anchor *a;
  size_t n, cap;
} tlog_anchors;

void tlog_anchors_free(tlog_anchors *l);
/* Every Anchored event of the log `origin` (log id SHA-256(origin)), oldest first.
 * Returns 0 or 2 (RPC / arguments) with err. */
tlog_err tlog_anchors_from_chain(const char *rpc, const char *contract, const char *origin,
                            tlog_anchors *out, char *err, size_t errcap);
/* anchors.json of a bundle. Returns 0 or 2. */
tlog_err tlog_anchors_load(const char *file, tlog_anchors *out, char *err, size_t errcap);
json_t *tlog_anchor_json(const tlog_anchor *a);
json_t *tlog_anchors_json(const tlog_anchors *l);
/* YYYY-MM-DD of a Unix time (UTC), and the inverse (start of that day). */
void tlog_date(uint64_t t, char out[11]);
void tlog_datetime(uint64_t t, char out[21]); /* YYYY-MM-DDTHH:MM:SSZ */
int tlog_parse_date(const char *s, uint64_t *t);

#endif
