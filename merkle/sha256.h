/* sha256.h: the one SHA-256 entry point of the merkle module, private to merkle/.
 * Hashes a || b without copying them together. (tests/tlog_mklog.c still includes it;
 * it should hash with OpenSSL's SHA256() instead.) */
#ifndef XT_MERKLE_SHA256_H
#define XT_MERKLE_SHA256_H

#include <stddef.h>
#include <stdint.h>

void sha256_two(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen, uint8_t out[32]);

#endif
