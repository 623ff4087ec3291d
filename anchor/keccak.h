/* keccak.h: Keccak-256 as Ethereum uses it (the original Keccak padding 0x01, not
 * FIPS 202 SHA3-256's 0x06). Addresses, transaction hashes, function selectors and
 * event topics are all this hash. Pure computation, no allocation, cannot fail.
 * Public: tlog hashes the KMS contract's event signatures with it. */
#ifndef XT_ANCHOR_KECCAK_H
#define XT_ANCHOR_KECCAK_H

#include <stddef.h>
#include <stdint.h>

#define KECCAK256_SIZE 32

typedef struct keccak256_ctx {
  uint64_t state[25];
  uint8_t buf[136]; /* one rate-sized block */
  size_t buflen;
} keccak256_ctx;

void keccak256_init(keccak256_ctx *c);
void keccak256_update(keccak256_ctx *c, const void *data, size_t len);
void keccak256_final(keccak256_ctx *c, uint8_t out[KECCAK256_SIZE]);
/* One-shot. */
void keccak256(const void *data, size_t len, uint8_t out[KECCAK256_SIZE]);

#endif
