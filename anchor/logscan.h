/* logscan.h: a contract's whole event history from a public JSON-RPC endpoint.
 *
 * Public Base endpoints refuse eth_getLogs over long block ranges (2,000 blocks is a
 * common limit) and rate-limit bursts, and an audit made months later must read
 * everything from the contract's creation. So every chain scan here starts at the
 * contract's creation block (given, or found by binary search over eth_getCode) and
 * reads in bounded ranges, retrying with back-off and halving the range when the node
 * refuses one. The anchor list, the KMS history, the audit and the monitor all scan
 * through this. */
#ifndef XT_ANCHOR_LOGSCAN_H
#define XT_ANCHOR_LOGSCAN_H

#include <stddef.h>
#include <stdint.h>

#include "anchor/rpc.h"

typedef enum {
  LOGSCAN_OK = 0,
  LOGSCAN_ERR_RPC,         /* the node kept failing after every retry (message says how) */
  LOGSCAN_ERR_NO_CONTRACT, /* no code at the address at the head block */
  LOGSCAN_ERR_STOPPED,     /* the callback returned non-zero */
  LOGSCAN_ERR_ARG          /* from > to, or a zero range */
} logscan_err;

/* Returns a static name for e; never NULL. */
const char *logscan_err_str(logscan_err e);

#define LOGSCAN_DEFAULT_MAX_RANGE 2000
#define LOGSCAN_DEFAULT_RETRIES 6

typedef struct {
  uint64_t max_range; /* most blocks per eth_getLogs (0: LOGSCAN_DEFAULT_MAX_RANGE) */
  int retries;        /* failures tolerated per range before giving up (0: default) */
  long backoff_ms;    /* first wait after a failure, doubled each time up to 2 s (0: 100) */
} logscan_opts;

/* Finds the first block at which `address` has code, by binary search over
 * eth_getCode in [0, head] (each call retried like a log read). Returns LOGSCAN_OK and
 * sets *block; LOGSCAN_ERR_NO_CONTRACT when there is no code at head; LOGSCAN_ERR_RPC
 * (err says why; a node that keeps no state for old blocks fails here: pass the
 * creation block explicitly then). o may be NULL for the defaults. */
logscan_err logscan_creation_block(eth_rpc *r, const logscan_opts *o, const uint8_t address[20],
                                   uint64_t head, uint64_t *block, char *err, size_t errcap)
    __attribute__((warn_unused_result));

/* Where a complete scan of `address`'s events starts: its creation block, or block 0
 * when the node keeps no state for old blocks and so cannot say (reading from 0 is
 * slower but complete; skipping history would not be). *unknown is set to 1 in that
 * case, else 0. Returns LOGSCAN_OK; LOGSCAN_ERR_NO_CONTRACT (no code at head, err says
 * so); LOGSCAN_ERR_RPC only when head itself cannot be read. */
logscan_err logscan_start_block(eth_rpc *r, const logscan_opts *o, const uint8_t address[20],
                                uint64_t head, uint64_t *block, int *unknown, char *err,
                                size_t errcap) __attribute__((warn_unused_result));

/* Calls cb for every log of `address` (with topic0 when non-NULL) in blocks
 * [from, to], in chain order, reading at most o->max_range blocks per request.
 * to must be a block number (not ETH_BLOCK_LATEST): read eth_blockNumber first, so a
 * scan covers a fixed range. Returns LOGSCAN_OK; LOGSCAN_ERR_STOPPED when cb returned
 * non-zero (cb fills its own error); LOGSCAN_ERR_RPC with err set; LOGSCAN_ERR_ARG.
 * *requests (when not NULL) receives the number of eth_getLogs calls made. */
logscan_err logscan_logs(eth_rpc *r, const logscan_opts *o, const uint8_t address[20],
                         const uint8_t *topic0, uint64_t from, uint64_t to, eth_log_cb cb,
                         void *ctx, uint64_t *requests, char *err, size_t errcap)
    __attribute__((warn_unused_result));

/* The same, with only the logs whose topic1 equals topic1 (when non-NULL): one log id
 * of a contract that serves many (TreeHeadAnchor's Anchored events). */
logscan_err logscan_logs_topic1(eth_rpc *r, const logscan_opts *o, const uint8_t address[20],
                                const uint8_t *topic0, const uint8_t *topic1, uint64_t from,
                                uint64_t to, eth_log_cb cb, void *ctx, uint64_t *requests,
                                char *err, size_t errcap) __attribute__((warn_unused_result));

/* Parses a block number as a user writes it: decimal digits, or an Ethereum quantity
 * ("0x" + hex digits without leading zeros). Returns 0 and sets *out, or -1. */
int logscan_parse_block(const char *s, uint64_t *out) __attribute__((warn_unused_result));

#endif
