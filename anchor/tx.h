/* tx.h: EIP-1559 (type 2) transactions, signed with libsecp256k1's recoverable ECDSA.
 *
 * Wire form: 0x02 || rlp([chainId, nonce, maxPriorityFeePerGas, maxFeePerGas, gas,
 * to, value, data, accessList, yParity, r, s]); the signature covers
 * keccak256(0x02 || rlp of the first nine fields) and the transaction hash is
 * keccak256 of the whole wire form. Signatures are RFC 6979 deterministic and low-s,
 * so the same fields and key always give the same bytes (tests compare with ethers).
 * Keys are secp256k1 private keys; addresses are the last 20 bytes of keccak256 of the
 * uncompressed public key. */
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

/* keccak256(0x02 || rlp(unsigned fields)): what the key signs. */
int eth_tx_signing_hash(const eth_tx *tx, uint8_t out[32]);
/* Signs tx: *raw (malloc'd) gets the wire form, hash the transaction hash.
 * Returns 0, or -1 (invalid key or allocation failure). */
int eth_tx_sign(const eth_tx *tx, const uint8_t key[ETH_KEY_SIZE], uint8_t **raw, size_t *raw_len,
                uint8_t hash[32]);

/* Address of a private key. Returns 0, or -1 if the key is not a valid scalar. */
int eth_address_from_key(const uint8_t key[ETH_KEY_SIZE], uint8_t addr[ETH_ADDRESS_SIZE]);
/* Address a contract created by sender at nonce gets: keccak(rlp([sender, nonce]))[12:]. */
void eth_create_address(const uint8_t sender[ETH_ADDRESS_SIZE], uint64_t nonce,
                        uint8_t out[ETH_ADDRESS_SIZE]);
/* "0x" + EIP-55 mixed-case checksum hex (capacity 43). */
void eth_address_format(const uint8_t addr[ETH_ADDRESS_SIZE], char out[43]);
/* Parses 0x + 40 hex digits. Mixed case must carry a correct EIP-55 checksum; all
 * lower or all upper case is accepted as is. Returns 0 or -1. */
int eth_address_parse(const char *s, uint8_t addr[ETH_ADDRESS_SIZE]);

/* A private key as text: 64 hex digits, optional 0x, optional one trailing newline
 * (LF or CRLF), nothing else; must be a valid secp256k1 scalar. Returns 0, or -1
 * with a message in err. */
int eth_key_parse(const char *text, size_t len, uint8_t key[ETH_KEY_SIZE], char *err, size_t errcap);
/* Reads and parses a key file (at most a few bytes larger than a key). */
int eth_key_read_file(const char *path, uint8_t key[ETH_KEY_SIZE], char *err, size_t errcap);

#endif
