/* kms.h: the history of a dstack app's KMS contracts (DstackApp and DstackKms), read
 * from chain logs.
 *
 * dstack's KMS releases an app's keys to any VM that the app contract and the KMS
 * contract allow at the time: the app's compose hashes and devices, the KMS's OS images,
 * KMS measurements and devices. Their owners can change those sets, hand the contracts
 * to other owners and upgrade the code behind the proxies at will. So "this quote ran
 * compose hash H" is only half an audit: the other half is everything these contracts
 * ever allowed, which this history answers. Every log of both addresses is read; a log
 * whose signature is not one below is kept as KMS_UNKNOWN (an upgraded implementation
 * may emit events this code has never heard of, and an auditor must see them).
 *
 * Event signatures are those of dstack's kms/auth-eth contracts and their OpenZeppelin
 * bases (Initializable, OwnableUpgradeable / Ownable2Step, UUPSUpgradeable). */
#ifndef XT_CLIENT_KMS_H
#define XT_CLIENT_KMS_H

#include <stddef.h>
#include <stdint.h>

#include "anchor/logscan.h"
#include "anchor/rpc.h"

typedef enum {
  KMS_OK = 0,
  KMS_ERR_RPC,       /* the chain could not be read (err says which call) */
  KMS_ERR_MALFORMED, /* a log of a known signature does not decode (err names it) */
  KMS_ERR_TOO_MANY,  /* more than KMS_MAX_EVENTS events */
  KMS_ERR_NOMEM,
  KMS_ERR_ARG
} kms_err;

const char *kms_err_str(kms_err e);

#define KMS_MAX_EVENTS 100000

typedef enum kms_event_kind {
  /* DstackApp */
  KMS_COMPOSE_HASH_ADDED,
  KMS_COMPOSE_HASH_REMOVED,
  KMS_DEVICE_ADDED,
  KMS_DEVICE_REMOVED,
  KMS_ALLOW_ANY_DEVICE_SET,
  KMS_REQUIRE_TCB_UP_TO_DATE_SET,
  KMS_UPGRADES_DISABLED,
  KMS_TCB_POLICY_SET,
  /* DstackKms */
  KMS_APP_REGISTERED,
  KMS_KMS_INFO_SET,
  KMS_AGGREGATED_MR_ADDED,
  KMS_AGGREGATED_MR_REMOVED,
  KMS_KMS_DEVICE_ADDED,
  KMS_KMS_DEVICE_REMOVED,
  KMS_OS_IMAGE_HASH_ADDED,
  KMS_OS_IMAGE_HASH_REMOVED,
  KMS_GATEWAY_APP_ID_SET,
  KMS_APP_IMPLEMENTATION_SET,
  KMS_APP_DEPLOYED_VIA_FACTORY,
  /* both (proxy and OpenZeppelin bases) */
  KMS_UPGRADED,
  KMS_OWNERSHIP_TRANSFER_STARTED,
  KMS_OWNERSHIP_TRANSFERRED,
  KMS_INITIALIZED,
  KMS_POLICY_CHANGED, /* both, dstack 2026: PolicyChanged(actor, policy, value, enabled) */
  KMS_UNKNOWN, /* a signature not listed here: topic0 and raw data are kept */
  KMS_EVENT_KINDS
} kms_event_kind;

typedef enum { KMS_CONTRACT_APP = 0, KMS_CONTRACT_KMS = 1 } kms_contract;

typedef struct kms_event {
  kms_event_kind kind;
  kms_contract contract;
  uint64_t block_number;
  uint64_t log_index;
  uint64_t block_time; /* seconds since the epoch */
  uint8_t tx_hash[32];
  /* Decoded arguments; which are set depends on kind (kms_event_arg_names): */
  uint8_t word[32];     /* the bytes32 argument: compose hash, device id, image hash, MR;
                           PolicyChanged's policy (keccak-256 of its name) */
  uint8_t word2[32];    /* PolicyChanged's value */
  uint8_t address[20];  /* implementation, new owner, app id, PolicyChanged's actor */
  uint8_t address2[20]; /* previous owner (ownership events), deployer (factory) */
  int flag;             /* the bool argument */
  uint64_t number;      /* Initialized's version */
  char *text;           /* string argument as is, or "0x" + hex of a bytes argument or of an
                           unknown event's data; owned; NULL when the kind has none */
  uint8_t topic0[32];   /* the event's signature hash (always set) */
} kms_event;

typedef struct kms_history {
  kms_event *events; /* in chain order (block, log index) */
  size_t n;
  uint64_t from_block, to_block; /* the range read */
  uint64_t requests;             /* eth_getLogs calls made */
  int creation_unknown;          /* the node could not say when a contract was created
                                    (no state for old blocks): it was read from block 0 */
} kms_history;

typedef struct kms_scan {
  const uint8_t *app;        /* DstackApp address (20 bytes), required */
  const uint8_t *kms;        /* DstackKms address, or NULL to read the app alone */
  uint64_t from_block;       /* KMS_FROM_CREATION: each contract's creation block */
  uint64_t to_block;         /* ETH_BLOCK_LATEST: the head when the scan starts */
  logscan_opts range;        /* block range per request, retries */
} kms_scan;

#define KMS_FROM_CREATION UINT64_MAX

/* Reads every event of the app (and KMS) contract in the scan's range, with block times.
 * Returns KMS_OK and fills *out (the caller frees it with kms_history_free), or an error
 * with err set and *out empty. */
kms_err kms_history_load(eth_rpc *rpc, const kms_scan *scan, kms_history *out, char *err,
                         size_t errcap) __attribute__((warn_unused_result));
void kms_history_free(kms_history *h);

/* 1 if compose_hash was allowed at time t by the app's events (the last
 * ComposeHashAdded/Removed for it in a block at or before t is an add), else 0. This says
 * nothing about upgrades: see the audit's all-time checks. */
int kms_history_allowed_at(const kms_history *h, const uint8_t compose_hash[32], uint64_t t);

/* Reads a bool getter of a contract ("allowAnyDevice()", "requireTcbUpToDate()") by
 * eth_call at block (ETH_BLOCK_LATEST: the newest). dstack's DstackApp sets both in its
 * initializer without an event, so a history of events alone does not know them.
 * Returns KMS_OK with *value 1 or 0, or -1 when the call reverted or returned no word
 * (the implementation has no such getter); KMS_ERR_RPC with err when the node could not
 * answer (e.g. it keeps no state for that block). */
kms_err kms_read_flag(eth_rpc *rpc, const uint8_t contract[20], const char *getter, uint64_t block, int *value,
                      char *err, size_t errcap) __attribute__((warn_unused_result));

/* The event's Solidity name ("ComposeHashAdded", ..., "Unknown"); never NULL. */
const char *kms_event_name(kms_event_kind kind);
/* "app" or "kms". */
const char *kms_contract_name(kms_contract c);

/* Writes the event's arguments as JSON object members named as in the contracts' ABI
 * (e.g. {"composeHash": "<64 hex>"}, {"previousOwner": "0x...", "newOwner": "0x..."});
 * bytes32 as 64 lowercase hex digits, addresses as lowercase 0x + 40, bools, numbers,
 * strings. Returns a new reference, or NULL when out of memory. */
struct json_t;
struct json_t *kms_event_args_json(const kms_event *e);

#endif
