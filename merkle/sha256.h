/* sha256.h: the one SHA-256 entry point of the merkle module (internal, not part of
 * its public contract). Hashes a || b without copying them together. */
#ifndef XT_MERKLE_SHA256_H
#define XT_MERKLE_SHA256_H

#include <stddef.h>
#include <stdint.h>

void sha256_two(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen, uint8_t out[32]);

#endif
