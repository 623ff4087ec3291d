/* rpc.h: Ethereum JSON-RPC over HTTP(S) with libcurl and jansson. Public: logd and
 * tlog read chains through it (anchors, the KMS contract's history, block times).
 *
 * One eth_rpc is one connection (kept alive between calls) and is used by one thread
 * at a time. Every call has a timeout and a bound on the response size. Calls return
 * ETH_RPC_OK or a negative eth_rpc_status; the message of the last failure is at
 * eth_rpc_error(). A node-side error (a JSON-RPC error object, e.g. a revert) is
 * ETH_RPC_ERR_NODE, with the node's code and any revert data kept for the caller. */
#ifndef XT_ANCHOR_RPC_H
#define XT_ANCHOR_RPC_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef enum eth_rpc_status {
  ETH_RPC_OK = 0,
  ETH_RPC_ERR_TRANSPORT = -1, /* could not connect, timed out, HTTP error */
  ETH_RPC_ERR_NODE = -2,      /* the node answered with a JSON-RPC error */
  ETH_RPC_ERR_PROTOCOL = -3,  /* the answer is not valid JSON-RPC or has bad fields */
  ETH_RPC_ERR_NOMEM = -4,
  ETH_RPC_ERR_ARG = -5,
  ETH_RPC_ERR_TOO_LARGE = -6, /* the answer exceeded the response size bound */
} eth_rpc_status;

#define ETH_RPC_DEFAULT_TIMEOUT_MS 10000
#define ETH_RPC_DEFAULT_MAX_RESPONSE (8u << 20)
/* Block tag for "the newest block" in eth_get_block_by_number. */
#define ETH_BLOCK_LATEST UINT64_MAX

typedef struct eth_rpc eth_rpc;

/* A static English name for each eth_rpc_status (never NULL). */
const char *eth_rpc_status_str(int status);

/* Which functions return what: every eth_rpc_status function below returns ETH_RPC_OK
 * (0) or a negative error; on failure the message is at eth_rpc_error(r) and out
 * arguments are unspecified unless said otherwise. Pointer arguments are borrowed for
 * the call only; addresses are 20 bytes, hashes 32. */
#define ETH_RPC_MUST_USE __attribute__((warn_unused_result))

/* Creates a client for url (http:// or https:// only; copied). Does not connect.
 * Returns the client, which the caller frees with eth_rpc_free, or NULL with a
 * message in err (caller's buffer of errcap bytes) for a bad URL or no memory. */
eth_rpc *eth_rpc_new(const char *url, char *err, size_t errcap) ETH_RPC_MUST_USE;
/* Frees r and its connection; NULL is a no-op. */
void eth_rpc_free(eth_rpc *r);
/* Per-request timeout (ms > 0; otherwise the default). */
void eth_rpc_set_timeout_ms(eth_rpc *r, long ms);
/* Largest answer body accepted (bytes > 0; otherwise the default); a larger answer is
 * ETH_RPC_ERR_TOO_LARGE. */
void eth_rpc_set_max_response(eth_rpc *r, size_t bytes);
/* The URL given to eth_rpc_new; owned by r. */
const char *eth_rpc_url(const eth_rpc *r);

/* The message of the last failed call ("" after a success); owned by r, valid until
 * the next call on r. */
const char *eth_rpc_error(const eth_rpc *r);
/* After ETH_RPC_ERR_NODE: the JSON-RPC error code (0 otherwise). */
long eth_rpc_error_code(const eth_rpc *r);
/* After ETH_RPC_ERR_NODE: the error's data as bytes when it was hex (a revert's
 * ABI-encoded reason), with its length in *len; else NULL and *len 0. Owned by r,
 * valid until the next call on r. */
const uint8_t *eth_rpc_error_data(const eth_rpc *r, size_t *len);

/* Generic call. params (a JSON array, may be NULL meaning "could not be built":
 * ETH_RPC_ERR_NOMEM) is consumed, even on failure. On success *result is a new
 * reference the caller releases with json_decref (it may be JSON null); on failure
 * *result is NULL. */
eth_rpc_status eth_rpc_call(eth_rpc *r, const char *method, json_t *params, json_t **result) ETH_RPC_MUST_USE;

/* eth_chainId into *chain_id. */
eth_rpc_status eth_chain_id(eth_rpc *r, uint64_t *chain_id) ETH_RPC_MUST_USE;
/* eth_blockNumber into *number. */
eth_rpc_status eth_block_number(eth_rpc *r, uint64_t *number) ETH_RPC_MUST_USE;
/* eth_getTransactionCount of addr at tag ("latest" or "pending") into *nonce. */
eth_rpc_status eth_get_transaction_count(eth_rpc *r, const uint8_t addr[20], const char *tag,
                              uint64_t *nonce) ETH_RPC_MUST_USE;
/* The longest decimal text of a 256-bit quantity (78 digits) and its NUL. */
#define ETH_U256_DECIMAL_MAX 79
/* eth_getBalance of addr at the latest block, as exact decimal wei in wei_dec (a
 * balance may exceed 64 bits: 18.4 ETH does). */
eth_rpc_status eth_get_balance(eth_rpc *r, const uint8_t addr[20], char wei_dec[ETH_U256_DECIMAL_MAX])
    ETH_RPC_MUST_USE;
/* eth_maxPriorityFeePerGas into *wei. */
eth_rpc_status eth_max_priority_fee_per_gas(eth_rpc *r, uint64_t *wei) ETH_RPC_MUST_USE;
/* Base fee of the next block (the last entry of eth_feeHistory) into *wei. */
eth_rpc_status eth_next_base_fee(eth_rpc *r, uint64_t *wei) ETH_RPC_MUST_USE;
/* eth_estimateGas of a call from `from` to `to` (NULL: contract creation) with data
 * (len bytes) at the latest block, into *gas. A revert is ETH_RPC_ERR_NODE with its
 * data at eth_rpc_error_data. */
eth_rpc_status eth_estimate_gas(eth_rpc *r, const uint8_t from[20], const uint8_t *to, const uint8_t *data,
                     size_t len, uint64_t *gas) ETH_RPC_MUST_USE;
/* eth_call to `to` with data at the latest block. On success *out is a new malloc'd
 * buffer (non-NULL, even for zero bytes) the caller frees, *out_len its length. */
eth_rpc_status eth_call(eth_rpc *r, const uint8_t to[20], const uint8_t *data, size_t len, uint8_t **out,
             size_t *out_len) ETH_RPC_MUST_USE;
/* eth_sendRawTransaction of the signed wire form raw (len bytes); hash receives the
 * transaction hash the node returns. */
eth_rpc_status eth_send_raw_transaction(eth_rpc *r, const uint8_t *raw, size_t len, uint8_t hash[32])
    ETH_RPC_MUST_USE;

typedef struct eth_receipt {
  uint8_t tx_hash[32];
  uint8_t block_hash[32];
  uint64_t block_number;
  int status; /* 1 success, 0 reverted */
  uint64_t gas_used;
  uint64_t effective_gas_price;
  int has_contract_address;
  uint8_t contract_address[20];
} eth_receipt;

/* eth_getTransactionReceipt of hash. ETH_RPC_OK with *found = 1 and *rc filled, or
 * *found = 0 (rc untouched) while the node does not know a receipt. */
eth_rpc_status eth_get_transaction_receipt(eth_rpc *r, const uint8_t hash[32], eth_receipt *rc, int *found)
    ETH_RPC_MUST_USE;

typedef struct eth_block {
  uint64_t number;
  uint64_t timestamp;
  uint64_t base_fee; /* 0 when the block has none */
  uint8_t hash[32];
} eth_block;

/* eth_getBlockByNumber (number == ETH_BLOCK_LATEST for the newest). ETH_RPC_OK with
 * *found = 1 and *b filled, or *found = 0 if the node has no such block. */
eth_rpc_status eth_get_block_by_number(eth_rpc *r, uint64_t number, eth_block *b, int *found)
    ETH_RPC_MUST_USE;

typedef struct eth_log {
  uint64_t block_number;
  uint8_t block_hash[32];
  uint8_t tx_hash[32];
  uint64_t log_index;
  size_t ntopics;
  uint8_t topics[4][32];
  const uint8_t *data; /* owned by eth_get_logs; valid only during the callback */
  size_t data_len;
  int removed;
} eth_log;

/* Calls cb for each log of `address` matching topic0 (NULL: any event) and (if non-NULL) topic1 in
 * blocks [from, to] (to == ETH_BLOCK_LATEST for "latest"), in the node's order.
 * cb returns 0 to go on, non-zero to stop. Returns ETH_RPC_OK after the last log, cb's
 * non-zero value when it stopped, or a negative eth_rpc_status (a malformed log stops
 * the walk before cb sees it). */
typedef int (*eth_log_cb)(void *ctx, const eth_log *log);
int eth_get_logs(eth_rpc *r, const uint8_t address[20], const uint8_t topic0[32],
                 const uint8_t *topic1, uint64_t from, uint64_t to, eth_log_cb cb, void *ctx)
    ETH_RPC_MUST_USE;

#endif
