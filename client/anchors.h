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

/* Frees l's array and zeroes l (a zeroed list may be freed). */
void tlog_anchors_free(tlog_anchors *l);

/* tlog_anchors_scan from the contract's deployment block (tlog_chain_scan_default),
 * for callers that take no --from-block. Returns TLOG_OK or TLOG_EIO with err (a
 * malformed event is TLOG_EIO here too, as before). */
tlog_err tlog_anchors_from_chain(const char *rpc, const char *contract, const char *origin, tlog_anchors *out,
                                 char *err, size_t errcap) __attribute__((warn_unused_result));

/* Where a chain scan starts, and what it did. Public Base endpoints refuse eth_getLogs
 * over long ranges, and a contract deployed at block 30,000,000 would cost 15,000 calls
 * from block 0: scans start at the contract's deployment block and read bounded ranges
 * (anchor/logscan.h). */
#define TLOG_FROM_CREATION UINT64_MAX
typedef struct tlog_chain_scan {
  uint64_t from_block;  /* in: the first block read; TLOG_FROM_CREATION: the contract's
                           deployment block, found by binary search over eth_getCode */
  uint64_t max_range;   /* in: most blocks per eth_getLogs (0: LOGSCAN_DEFAULT_MAX_RANGE) */
  uint64_t first_block; /* out: the block the scan started at */
  uint64_t head;        /* out: the newest block read (the head when the scan began) */
  uint64_t requests;    /* out: eth_getLogs calls made */
  int creation_unknown; /* out: the node could not say when the contract was deployed (it
                           keeps no state for old blocks), so the scan read from block 0 */
} tlog_chain_scan;

/* A scan from the contract's deployment block with the default range. */
tlog_chain_scan tlog_chain_scan_default(void);

/* Every Anchored event of the log `origin` on the TreeHeadAnchor at contract (0x + 40
 * hex digits), from scan->from_block to the head, read over JSON-RPC at rpc in bounded
 * ranges, oldest first, with each block's time, into *out (the caller frees it). Fills
 * scan's out fields. Returns TLOG_OK; TLOG_EVERIFY when the contract emitted a malformed
 * Anchored event; TLOG_EIO (bad arguments, no contract at the address, RPC failure
 * after retries) with err. *out is empty on failure. */
tlog_err tlog_anchors_scan(const char *rpc, const char *contract, const char *origin, tlog_chain_scan *scan,
                           tlog_anchors *out, char *err, size_t errcap) __attribute__((warn_unused_result));

/* The first block at which contract has code (its deployment block), by binary search
 * over eth_getCode. Returns TLOG_OK and sets *block; TLOG_EIO with err (no contract, or
 * a node that keeps no state for old blocks, or an RPC failure). */
tlog_err tlog_contract_creation(const char *rpc, const char *contract, uint64_t *block, char *err,
                                size_t errcap) __attribute__((warn_unused_result));

/* The anchors of a JSON file (a bundle's anchors.json, or `tlog anchor list --json`):
 * an array of {size, root, checkpoint_hash, block, time, tx}, every field required and
 * checked. Fills *out (the caller frees it). Returns TLOG_OK or TLOG_EIO with err. */
tlog_err tlog_anchors_load(const char *file, tlog_anchors *out, char *err, size_t errcap)
    __attribute__((warn_unused_result));

/* The anchor as a new JSON object with the fields above (hex; tx 0x-prefixed), or NULL
 * when out of memory. The caller owns the reference. */
json_t *tlog_anchor_json(const tlog_anchor *a);
/* The list as a new JSON array of such objects, or NULL when out of memory. */
json_t *tlog_anchors_json(const tlog_anchors *l);

/* YYYY-MM-DD of a Unix time (UTC) into out ("?" when it cannot be shown). */
void tlog_date(uint64_t t, char out[11]);
/* YYYY-MM-DDTHH:MM:SSZ of a Unix time into out ("?" when it cannot be shown). */
void tlog_datetime(uint64_t t, char out[21]);
/* Parses exactly YYYY-MM-DD (a real date, year 1970 or later) into the Unix time of
 * that day's start (UTC). Returns 0, or -1 for anything else (*t untouched). */
int tlog_parse_date(const char *s, uint64_t *t) __attribute__((warn_unused_result));

#endif
