/* anchor.h: anchoring a log's tree heads in the TreeHeadAnchor contract, and reading
 * them back. This is the API logd and tlog use; everything below it (keccak.h, rlp.h,
 * abi.h, tx.h, rpc.h) is plumbing.
 *
 * A client talks to one JSON-RPC node about one contract. With a private key it can
 * send transactions (deploy, register, rotate, anchor); without one it only reads.
 * anchor_submit never sends a head it has not itself checked, with
 * merkle_verify_consistency, against the head the contract holds now.
 *
 * Sending is robust to the things a chain does: the node may be down for a while
 * (requests are retried until the deadline; a signed transaction is resent as is), a
 * transaction may sit unmined (it is re-signed with the same nonce and higher fees),
 * and a process may restart with a transaction still pending (the nonce comes from the
 * node, the new transaction replaces the old one). Calls block until done or until
 * their deadline; a client is used by one thread at a time.
 *
 * Every function returns an anchor_status: ANCHOR_OK (0), the informational
 * ANCHOR_UNCHANGED, or a negative error, and on error writes a message for people into
 * err (the caller's
 * buffer of errcap bytes; NULL is allowed). Pointer arguments are borrowed for the
 * call; hashes and log ids are 32 bytes, addresses 20. Public: logd and tlog. */
#ifndef XT_ANCHOR_ANCHOR_H
#define XT_ANCHOR_ANCHOR_H

#include <stddef.h>
#include <stdint.h>

#include "merkle/merkle.h"

/* The module's error type: 0 is success, anchor_status_str() names every value. */
typedef enum anchor_status {
  ANCHOR_OK = 0,
  ANCHOR_UNCHANGED = 1,         /* anchor_submit: the contract already holds exactly this
                                   head; nothing was sent */
  ANCHOR_ERR_ARG = -1,          /* bad argument (message says which) */
  ANCHOR_ERR_RPC = -2,          /* the node failed or stayed unreachable until the deadline */
  ANCHOR_ERR_CHAIN = -3,        /* wrong chain id, no contract there, or nonsense from it */
  ANCHOR_ERR_REJECTED = -4,     /* the contract refuses (message names its error) */
  ANCHOR_ERR_INCONSISTENT = -5, /* the head is not consistent with the chain's: not sent */
  ANCHOR_ERR_TIMEOUT = -6,      /* sent but not mined/confirmed before the deadline */
  ANCHOR_ERR_REVERTED = -7,     /* mined, but reverted */
  ANCHOR_ERR_READONLY = -8,     /* the client has no key */
  ANCHOR_ERR_NOMEM = -9,
  ANCHOR_ERR_RETRY = -10,       /* the head or our nonce moved meanwhile: re-read the head, retry */
} anchor_status;

/* A static English name for any anchor_status (never NULL; "unknown status" for other
 * values). Takes an int so a callback's own stop value can be passed as well. */
const char *anchor_status_str(int status);

#define ANCHOR_MUST_USE __attribute__((warn_unused_result))

typedef struct anchor_options {
  uint64_t chain_id;          /* required chain id; 0 accepts any (default 0) */
  unsigned confirmations;     /* blocks including the tx's own (default 1) */
  unsigned rpc_timeout_ms;    /* one request (default 10000) */
  unsigned deadline_ms;       /* a whole send, from first try to confirmation (120000) */
  unsigned resend_after_ms;   /* unmined this long: bump fees and resend (30000) */
  unsigned poll_ms;           /* receipt polling interval (250) */
  uint64_t max_fee_cap_wei;   /* never offer more per gas than this; 0: no cap */
  /* Optional: told about every transaction sent, fee bump and retry, one line each
   * (logd logs them). */
  void (*log)(void *ctx, const char *line);
  void *log_ctx;
  /* Optional: progress of a long anchor_list that walks the chain in block ranges. */
  void (*progress)(void *ctx, uint64_t block, uint64_t latest);
  void *progress_ctx;
} anchor_options;

void anchor_options_default(anchor_options *o);

typedef struct anchor_client anchor_client;

/* contract_hex: "0x" + 40 hex digits, or NULL for a client that will only deploy.
 * privkey: a secp256k1 key, or NULL for a read-only client. Does not contact the
 * node (so logd can start while the node is away). opts may be NULL (defaults).
 * Everything is copied (opts' callbacks and their contexts are kept as pointers and
 * must outlive the client). Returns a client the caller frees with anchor_client_free,
 * or NULL with a message in err (bad URL, address or key; no memory). */
anchor_client *anchor_client_new(const char *rpc_url, const char *contract_hex,
                                 const uint8_t privkey[32], const anchor_options *opts, char *err,
                                 size_t errcap) ANCHOR_MUST_USE;
/* Frees c and wipes its key; NULL is a no-op. */
void anchor_client_free(anchor_client *c);
/* Copies the contract address (after anchor_deploy, the new one) into addr and returns
 * ANCHOR_OK, or ANCHOR_ERR_ARG (-1; addr untouched) when the client has none. Should be
 * ANCHOR_MUST_USE; client/cmd_anchor.c still ignores it. */
anchor_status anchor_client_contract(const anchor_client *c, uint8_t addr[20]);

/* logId = SHA-256(origin). */
void anchor_log_id(const char *origin, uint8_t out[32]);

/* The contract's head for a log: size 0 and a zero root before the first anchor;
 * anchorer all zero when the log is not registered. */
anchor_status anchor_get_head(anchor_client *c, const uint8_t log_id[32], uint64_t *size, uint8_t root[32],
                    uint8_t anchorer[20], char *err, size_t errcap) ANCHOR_MUST_USE;

/* Anchors (size, root). proof is the RFC 9162 consistency proof from the contract's
 * current head to this one (empty for the first anchor); it is verified here first,
 * and a head that is smaller than the chain's, or of the same size with another root,
 * or whose proof does not verify, is ANCHOR_ERR_INCONSISTENT and is never sent.
 * checkpoint_hash is SHA-256 of the signed checkpoint note. tx_hash (may be NULL)
 * receives the mined transaction's hash. */
anchor_status anchor_submit(anchor_client *c, const uint8_t log_id[32], uint64_t size, const uint8_t root[32],
                  const uint8_t checkpoint_hash[32], const uint8_t (*proof)[32], size_t proof_len,
                  uint8_t tx_hash[32], char *err, size_t errcap) ANCHOR_MUST_USE;

/* The same, for a caller holding the tree: reads the chain's head, builds the
 * consistency proof from it with rd (see merkle.h), verifies and sends it. If the head
 * moves while sending (ANCHOR_ERR_RETRY), it starts over once with a fresh proof. */
anchor_status anchor_submit_tree(anchor_client *c, const uint8_t log_id[32], uint64_t size,
                       const uint8_t root[32], const uint8_t checkpoint_hash[32],
                       merkle_node_reader rd, void *rd_ctx, uint8_t tx_hash[32], char *err,
                       size_t errcap) ANCHOR_MUST_USE;

/* Rollback defence for a log at start: checks that the local tree of local_size
 * leaves (nodes read with rd) contains the head the chain holds, i.e. is not behind
 * it and has the anchored root at the anchored size. ANCHOR_OK (then *chain_size is
 * the anchored size, 0 if none yet), ANCHOR_ERR_INCONSISTENT with the reason,
 * ANCHOR_ERR_REJECTED if the log is not registered, or a read error. */
anchor_status anchor_check_local(anchor_client *c, const uint8_t log_id[32], uint64_t local_size,
                       merkle_node_reader rd, void *rd_ctx, uint64_t *chain_size, char *err,
                       size_t errcap) ANCHOR_MUST_USE;

/* One Anchored event. */
typedef struct anchor_event {
  uint64_t size;
  uint8_t root[32];
  uint8_t checkpoint_hash[32];
  uint64_t block;
  uint64_t time; /* the block's timestamp, Unix seconds */
  uint8_t tx_hash[32];
  uint64_t log_index;
} anchor_event;

/* Return 0 to go on, non-zero to stop (anchor_list then returns that value). */
typedef int (*anchor_event_cb)(void *ctx, const anchor_event *ev);

/* Calls cb for every Anchored event of a log from block from_block on, oldest first
 * (ev is valid during the call only). Returns ANCHOR_OK after the last one, cb's
 * non-zero value if it stopped, or a negative anchor_status with err set. */
int anchor_list(anchor_client *c, const uint8_t log_id[32], uint64_t from_block, anchor_event_cb cb,
                void *ctx, char *err, size_t errcap) ANCHOR_MUST_USE;

struct eth_log;
/* The topic0 of TreeHeadAnchor's Anchored(bytes32 logId, uint64, bytes32, bytes32) event
 * into out (topic1 is the log id), for callers that read the logs themselves (through
 * anchor/logscan.h). */
void anchor_anchored_topic(uint8_t out[32]);
/* Decodes one Anchored log (data: size, root, checkpointHash) into *ev; ev->time is left
 * 0 (the caller reads the block). Returns ANCHOR_OK, or ANCHOR_ERR_CHAIN for a log that
 * is not a well-formed Anchored event. */
anchor_status anchor_event_from_log(const struct eth_log *lg, anchor_event *ev) ANCHOR_MUST_USE;

/* Deploys a TreeHeadAnchor (owner: this key) and makes it the client's contract;
 * address (may be NULL) receives its address, tx_hash (may be NULL) the transaction's
 * hash (also when the deployment failed after sending, else zero). */
anchor_status anchor_deploy(anchor_client *c, uint8_t address[20], uint8_t tx_hash[32], char *err, size_t errcap) ANCHOR_MUST_USE;
/* Owner only: registers a log's anchorer (once: anchor_register), or replaces it
 * (anchor_rotate). tx_hash (may be NULL) receives the transaction's hash. */
anchor_status anchor_register(anchor_client *c, const uint8_t log_id[32], const uint8_t anchorer[20],
                    uint8_t tx_hash[32], char *err, size_t errcap) ANCHOR_MUST_USE;
anchor_status anchor_rotate(anchor_client *c, const uint8_t log_id[32], const uint8_t anchorer[20],
                  uint8_t tx_hash[32], char *err, size_t errcap) ANCHOR_MUST_USE;

/* The contract's creation code (hex), generated by anchor/contracts/build.js. */
extern const char anchor_contract_init_code_hex[];

/* Names a revert's custom error ("BadConsistencyProof", "Error: <reason>", ...) from
 * its ABI data, into out. Returns 0 if known, -1 if not (out gets the selector). */
int anchor_revert_name(const uint8_t *data, size_t len, char *out, size_t cap);

#endif
