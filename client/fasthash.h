/* fasthash.h: RFC 9162 hashing of whole entry bundles for the audit replay.
 *
 * Contract: the same hashes as merkle_leaf_hash / merkle_node_hash (merkle.h), for
 * a bundle at a time: the leaf hash of each entry and, for a full bundle (256
 * entries), the root of its perfect subtree. On x86-64 CPUs with the SHA extensions
 * it hashes two independent messages at once with the SHA-NI instructions (their
 * latency, not their throughput, bounds one message at a time) and builds the padded
 * messages itself, skipping the per-message overhead of a general SHA-256 API;
 * elsewhere it calls the merkle module. Pure computation, no allocation. */
#ifndef XT_CLIENT_FASTHASH_H
#define XT_CLIENT_FASTHASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "merkle/merkle.h"
#include "merkle/tile.h"

/* True when the SHA-NI path is used (for reports and tests). */
bool fasthash_sha_ni(void);
/* Forces the portable path (tests compare both). */
void fasthash_disable_sha_ni(void);

/* leaves[i] = leaf hash of e[i] for i < n (n <= 256); if n == 256 and root != NULL,
 * root = the subtree root over those leaves. */
void fasthash_bundle(const tile_bundle_entry *e, unsigned n, uint8_t (*leaves)[MERKLE_HASH_SIZE],
                     uint8_t *root);

#endif
