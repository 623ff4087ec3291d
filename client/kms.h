/* kms.h: the history of a dstack app's KMS contract (DstackApp), read from chain logs.
 *
 * dstack's KMS releases an app's keys to any VM whose compose hash the app contract
 * allows at the time, and the contract's owner can change that set (and upgrade the
 * contract, or hand it to another owner) at will. So "this quote ran compose hash H" is
 * only half an audit: the other half is "H was allowed then", which this history answers.
 * Events read: ComposeHashAdded(bytes32), ComposeHashRemoved(bytes32) (the hash in the
 * data, or in topic 1 where a variant indexes it), Upgraded(address indexed) and
 * OwnershipTransferred(address indexed, address indexed). */
#ifndef XT_CLIENT_KMS_H
#define XT_CLIENT_KMS_H

#include <stddef.h>
#include <stdint.h>

#include "anchor/rpc.h"
#include "client/common.h"

typedef enum kms_event_kind {
  KMS_COMPOSE_HASH_ADDED,
  KMS_COMPOSE_HASH_REMOVED,
  KMS_UPGRADED,
  KMS_OWNERSHIP_TRANSFERRED,
} kms_event_kind;

typedef struct kms_event {
  kms_event_kind kind;
  uint64_t block_number;
  uint64_t log_index;
  uint64_t block_time; /* seconds since the epoch */
  uint8_t tx_hash[32];
  uint8_t compose_hash[32]; /* added / removed */
  uint8_t address[20];      /* upgraded: implementation; ownership: new owner */
  uint8_t previous_owner[20];
} kms_event;

typedef struct kms_history {
  kms_event *events; /* in chain order (block, log index) */
  size_t n;
} kms_history;

/* Reads every event of the app contract in blocks [from, to] (to == ETH_BLOCK_LATEST
 * for the newest) with their block times, over rpc (borrowed), into *out (the caller
 * frees it with kms_history_free). Returns TLOG_OK, or TLOG_EIO with err set (RPC
 * failure, a malformed log, out of memory); *out is empty on failure. */
tlog_err kms_history_load(eth_rpc *rpc, const uint8_t app[20], uint64_t from, uint64_t to, kms_history *out,
                          char *err, size_t errlen) __attribute__((warn_unused_result));
/* Frees h's events and zeroes h. */
void kms_history_free(kms_history *h);
/* Returns 1 if compose_hash was allowed at time t (the last add/remove event for it in a
 * block at or before t is an add), else 0. */
int kms_history_allowed_at(const kms_history *h, const uint8_t compose_hash[32], uint64_t t);
/* Returns the event's Solidity name ("ComposeHashAdded", ...); never NULL. */
const char *kms_event_name(kms_event_kind kind);

#endif
