/* abi.h: the part of the Solidity contract ABI this client uses (private to anchor/
 * and its tests). Calls take static words (uint, bytes32, address) and at most dynamic
 * bytes32[] arrays; returns and event data are read back as 32-byte words with strict
 * range checks. */
#ifndef XT_ANCHOR_ABI_H
#define XT_ANCHOR_ABI_H

#include <stddef.h>
#include <stdint.h>

#define ABI_WORD 32

typedef enum abi_kind {
  ABI_UINT64,        /* u: a uint of any width whose value fits in 64 bits */
  ABI_BYTES32,       /* p: 32 bytes */
  ABI_ADDRESS,       /* p: 20 bytes */
  ABI_BYTES32_ARRAY, /* p: n * 32 bytes, n elements (dynamic, bytes32[]) */
} abi_kind;

typedef struct abi_arg {
  abi_kind kind;
  uint64_t u;
  const uint8_t *p;
  size_t n;
} abi_arg;

/* First 4 bytes of keccak256 of a canonical signature, e.g. "head(bytes32)". */
void abi_selector(const char *signature, uint8_t out[4]);
/* keccak256 of an event signature: its topic 0. */
void abi_event_topic(const char *signature, uint8_t out[32]);

/* Encodes selector(signature) followed by the arguments. *out is malloc'd.
 * Returns 0, or -1 (allocation failure or size overflow). */
int abi_encode_call(const char *signature, const abi_arg *args, size_t nargs, uint8_t **out,
                    size_t *out_len);

/* Word i of ABI data, or NULL when data is shorter than (i + 1) words. */
const uint8_t *abi_word(const uint8_t *data, size_t len, size_t i);
/* Strict word readers: -1 unless the unused high bytes are zero. */
int abi_word_uint64(const uint8_t w[ABI_WORD], uint64_t *out);
int abi_word_address(const uint8_t w[ABI_WORD], uint8_t out[20]);
void abi_word_put_uint64(uint8_t w[ABI_WORD], uint64_t v);
void abi_word_put_address(uint8_t w[ABI_WORD], const uint8_t addr[20]);

#endif
