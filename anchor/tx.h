/* tx.h: EIP-1559 (type 2) transactions, signed with libsecp256k1's recoverable ECDSA.
 *
 * Wire form: 0x02 || rlp([chainId, nonce, maxPriorityFeePerGas, maxFeePerGas, gas,
 * to, value, data, accessList, yParity, r, s]); the signature covers
 * keccak256(0x02 || rlp of the first nine fields) and the transaction hash is
 * keccak256 of the whole wire form. Signatures are RFC 6979 deterministic and low-s,
 * so the same fields and key always give the same bytes (tests compare with ethers).
 * Keys are secp256k1 private keys; addresses are the last 20 bytes of keccak256 of the
 * uncompressed public key. Public: logd and tlog parse keys and addresses with it.
 * All functions may be called from several threads at once. */
#ifndef XT_ANCHOR_TX_H
#define XT_ANCHOR_TX_H

#include <stddef.h>
#include <stdint.h>

#define ETH_ADDRESS_SIZE 20
#define ETH_KEY_SIZE 32

typedef struct eth_tx {
  uint64_t chain_id;
  uint64_t nonce;
  uint64_t max_priority_fee_per_gas; /* wei */
  uint64_t max_fee_per_gas;          /* wei */
  uint64_t gas_limit;
  int has_to; /* 0: contract creation */
  uint8_t to[ETH_ADDRESS_SIZE];
  uint8_t value[32]; /* big-endian wei */
  const uint8_t *data;
  size_t data_len;
} eth_tx;

#define ETH_TX_MUST_USE __attribute__((warn_unused_result))

/* The module's error type: 0 is success; the first failure is -1 as it always was. */
typedef enum eth_tx_err {
  ETH_TX_OK = 0,
  ETH_TX_EINVAL = -1, /* not a valid key, address, key text or key file */
  ETH_TX_ENOMEM = -2,
} eth_tx_err;

/* A static English name for each eth_tx_err (never NULL). */
const char *eth_tx_err_str(int e);

/* Writes keccak256(0x02 || rlp(the nine unsigned fields of tx)), the digest the key
 * signs, into out. Returns ETH_TX_OK, or ETH_TX_ENOMEM (out unspecified). */
eth_tx_err eth_tx_signing_hash(const eth_tx *tx, uint8_t out[32]) ETH_TX_MUST_USE;
/* Signs tx with key. Returns ETH_TX_OK with *raw a new malloc'd buffer holding the wire
 * form (the caller frees it), *raw_len its length and hash the transaction hash; or
 * ETH_TX_EINVAL (key not a valid scalar) or ETH_TX_ENOMEM with *raw untouched.
 * tx->data is borrowed. */
eth_tx_err eth_tx_sign(const eth_tx *tx, const uint8_t key[ETH_KEY_SIZE], uint8_t **raw,
                       size_t *raw_len, uint8_t hash[32]) ETH_TX_MUST_USE;

/* Writes the address of a private key into addr. Returns ETH_TX_OK, or ETH_TX_EINVAL if
 * the key is not a valid scalar (addr untouched), or ETH_TX_ENOMEM. Should be
 * ETH_TX_MUST_USE; logd/main.c still ignores it for a key it has already parsed. */
eth_tx_err eth_address_from_key(const uint8_t key[ETH_KEY_SIZE], uint8_t addr[ETH_ADDRESS_SIZE]);
/* Writes the address a contract created by sender at nonce gets,
 * keccak(rlp([sender, nonce]))[12:], into out. Cannot fail in practice; should its
 * 31-byte allocation fail, out is all zero (never a valid deployment address). */
void eth_create_address(const uint8_t sender[ETH_ADDRESS_SIZE], uint64_t nonce,
                        uint8_t out[ETH_ADDRESS_SIZE]);
/* Writes "0x" + EIP-55 mixed-case checksum hex + NUL into out (43 bytes). */
void eth_address_format(const uint8_t addr[ETH_ADDRESS_SIZE], char out[43]);
/* Parses the NUL-terminated s: "0x" + 40 hex digits. Mixed case must carry a correct
 * EIP-55 checksum; all lower or all upper case is accepted as is. Returns ETH_TX_OK
 * with addr set, or ETH_TX_EINVAL (addr unspecified). */
eth_tx_err eth_address_parse(const char *s, uint8_t addr[ETH_ADDRESS_SIZE]) ETH_TX_MUST_USE;

/* Parses a private key given as len bytes of text: 64 hex digits, optional 0x,
 * optional one trailing newline (LF or CRLF), nothing else; it must be a valid
 * secp256k1 scalar. Returns ETH_TX_OK with key set, or ETH_TX_EINVAL with key zeroed
 * and a message in err (caller's buffer of errcap bytes; may be NULL). The message
 * never contains the key. */
eth_tx_err eth_key_parse(const char *text, size_t len, uint8_t key[ETH_KEY_SIZE], char *err,
                         size_t errcap) ETH_TX_MUST_USE;
/* Reads the key file at path (at most 80 bytes; longer is not a key) and parses it as
 * eth_key_parse does. Returns ETH_TX_OK with key set, or ETH_TX_EINVAL (unreadable, or
 * not a key) or ETH_TX_ENOMEM, with a message naming path in err. The file's bytes are wiped from
 * memory after parsing. */
eth_tx_err eth_key_read_file(const char *path, uint8_t key[ETH_KEY_SIZE], char *err, size_t errcap)
    ETH_TX_MUST_USE;

#endif
