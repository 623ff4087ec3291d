/* merkle.h: RFC 9162 section 2.1 Merkle trees over SHA-256.
 *
 * Contract: leaf hash = SHA-256(0x00 || data), node hash = SHA-256(0x01 || l || r),
 * empty root = SHA-256(""). Trees are built left to right; a tree of n leaves splits
 * at the largest power of two smaller than n. Everything here is pure computation:
 * no I/O, no allocation, no global state; callers supply hashes through a reader.
 *
 * Node naming, shared with tile.h: node (level L, index N) is the root of the perfect
 * subtree over leaves [N * 2^L, (N + 1) * 2^L). Level 0 nodes are leaf hashes.
 *
 * Every function returns MERKLE_OK (0) or a negative merkle_status; none aborts. Out
 * arguments are unspecified on failure; pointer arguments are borrowed for the call.
 * Public: logd, anchor and tlog build and check proofs with it. */
#ifndef XT_MERKLE_H
#define XT_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#define MERKLE_HASH_SIZE 32
/* Inclusion proofs of a 2^64-leaf tree have at most 64 hashes; consistency proofs
 * at most 64 + 1. Callers size proof arrays with this. */
#define MERKLE_MAX_PROOF 66

typedef enum merkle_status {
  MERKLE_OK = 0,
  MERKLE_ERR_ARG = -1,      /* an argument is out of range (index >= size, m > n, ...) */
  MERKLE_ERR_PROOF = -2,    /* a proof does not verify */
  MERKLE_ERR_READER = -3,   /* the hash reader failed; its message is in the reader */
  MERKLE_ERR_SPACE = -4,    /* the caller's output array is too small */
  MERKLE_ERR_FULL = -5,     /* the tree has 2^63 leaves; appending would overflow */
  /* note.h: */
  MERKLE_ERR_FORMAT = -6,    /* malformed note, checkpoint, tlog-proof or verifier key */
  MERKLE_ERR_SIGNATURE = -7, /* no valid signature by the expected key (or another origin) */
  MERKLE_ERR_CRYPTO = -8,    /* OpenSSL refused a key or a signature operation */
} merkle_status;

/* A static English name for each merkle_status (never NULL). */
const char *merkle_status_str(int status);

/* On functions whose result decides whether data can be trusted. */
#define MERKLE_MUST_USE __attribute__((warn_unused_result))

void merkle_leaf_hash(const uint8_t *data, size_t len, uint8_t out[MERKLE_HASH_SIZE]);
void merkle_node_hash(const uint8_t left[MERKLE_HASH_SIZE], const uint8_t right[MERKLE_HASH_SIZE],
                      uint8_t out[MERKLE_HASH_SIZE]);
void merkle_empty_root(uint8_t out[MERKLE_HASH_SIZE]);

/* Reads the hashes of `count` consecutive nodes at one level: (level, index),
 * (level, index + 1), ... into out[0..count). Only nodes of complete perfect subtrees
 * are ever asked for. Returns 0, or non-zero on failure (the reader keeps its own
 * error message). Asking for runs lets a tile-backed reader answer in one lookup. */
typedef int (*merkle_node_reader)(void *ctx, unsigned level, uint64_t index, uint64_t count,
                                  uint8_t (*out)[MERKLE_HASH_SIZE]);

/* The compact range [0, size): one perfect-subtree root ("peak") per set bit of size,
 * largest first. O(log n) memory; this is all the state a log needs to keep appending
 * and to compute its root. */
typedef struct merkle_tree {
  uint64_t size;
  unsigned npeaks;
  uint8_t peaks[64][MERKLE_HASH_SIZE];
} merkle_tree;

/* Called for the leaf and for every node that an append completes, lowest level
 * first: exactly once per node over the life of a tree. logd stores tiles from it. */
typedef void (*merkle_node_sink)(void *ctx, unsigned level, uint64_t index,
                                 const uint8_t hash[MERKLE_HASH_SIZE]);

/* Makes t the empty tree. */
void merkle_tree_init(merkle_tree *t);
/* Appends one leaf (its hash) and calls sink (may be NULL) for each completed node.
 * MERKLE_ERR_FULL (t unchanged) at 2^63 leaves. */
merkle_status merkle_tree_append(merkle_tree *t, const uint8_t leaf_hash[MERKLE_HASH_SIZE],
                       merkle_node_sink sink, void *sink_ctx);
/* Writes the root of t (the empty root for size 0) into out. */
void merkle_tree_root(const merkle_tree *t, uint8_t out[MERKLE_HASH_SIZE]);
/* Rebuilds the compact range of a tree of `size` leaves from stored nodes. */
merkle_status merkle_tree_restore(merkle_tree *t, uint64_t size, merkle_node_reader rd, void *ctx);

/* MTH(D[lo:hi]) in the RFC's notation: the hash of the subtree over leaves [lo, hi),
 * for the ranges RFC 9162's recursion produces (lo a multiple of a power of two
 * that is >= hi - lo); other ranges get MERKLE_ERR_ARG. */
merkle_status merkle_range_hash(uint64_t lo, uint64_t hi, merkle_node_reader rd, void *ctx,
                      uint8_t out[MERKLE_HASH_SIZE]);
/* Root of the tree of `size` leaves (the empty root for size 0). */
merkle_status merkle_root_at(uint64_t size, merkle_node_reader rd, void *ctx, uint8_t out[MERKLE_HASH_SIZE]);

/* RFC 9162 2.1.3.1: inclusion proof of leaf `index` in the tree of `size` leaves.
 * Writes *len hashes into proof (capacity cap). */
merkle_status merkle_inclusion_proof(uint64_t index, uint64_t size, merkle_node_reader rd, void *ctx,
                           uint8_t (*proof)[MERKLE_HASH_SIZE], size_t cap, size_t *len);
/* RFC 9162 2.1.4.1: consistency proof between sizes old_size <= new_size. Empty for
 * old_size == 0 or old_size == new_size. */
merkle_status merkle_consistency_proof(uint64_t old_size, uint64_t new_size, merkle_node_reader rd,
                             void *ctx, uint8_t (*proof)[MERKLE_HASH_SIZE], size_t cap,
                             size_t *len);

/* The right edge of the tree of `size` leaves: its peaks (as merkle_tree) and, for each,
 * fold[i] = MTH over the leaves from peak i's first to the end (peak i hashed with the
 * fold of the smaller peaks; fold[0] is the root). Every proof into the tree whose path
 * crosses the edge needs one of these folds, each a hash of up to 63 peaks: computing
 * them once per size leaves a proof only the nodes of perfect subtrees to read. */
typedef struct merkle_edge {
  uint64_t size;
  unsigned npeaks;
  uint8_t peak[64][MERKLE_HASH_SIZE];
  uint8_t fold[64][MERKLE_HASH_SIZE];
} merkle_edge;

/* Reads the peaks of the tree of `size` leaves (size < 2^63) and computes e. */
merkle_status merkle_edge_init(merkle_edge *e, uint64_t size, merkle_node_reader rd, void *ctx);
/* merkle_inclusion_proof(index, e->size, ...) and merkle_consistency_proof(old_size,
 * e->size, ...), byte for byte the same proofs, taking the edge's hashes from e instead
 * of reading and hashing them again. e must come from merkle_edge_init with a reader
 * over the same tree. */
merkle_status merkle_inclusion_proof_edge(const merkle_edge *e, uint64_t index, merkle_node_reader rd,
                                          void *ctx, uint8_t (*proof)[MERKLE_HASH_SIZE], size_t cap,
                                          size_t *len);
merkle_status merkle_consistency_proof_edge(const merkle_edge *e, uint64_t old_size,
                                            merkle_node_reader rd, void *ctx,
                                            uint8_t (*proof)[MERKLE_HASH_SIZE], size_t cap,
                                            size_t *len);

/* RFC 9162 2.1.3.2: returns MERKLE_OK only if the proof shows leaf_hash at index in
 * the tree of `size` leaves with the given root. */
merkle_status merkle_verify_inclusion(uint64_t index, uint64_t size, const uint8_t leaf_hash[MERKLE_HASH_SIZE],
                            const uint8_t (*proof)[MERKLE_HASH_SIZE], size_t len,
                            const uint8_t root[MERKLE_HASH_SIZE]) MERKLE_MUST_USE;
/* Computes the root that an inclusion proof implies (RFC 9162 2.1.3.2 without the
 * final comparison); used to authenticate a subtree against a trusted root. */
merkle_status merkle_root_from_inclusion(uint64_t index, uint64_t size, const uint8_t leaf_hash[MERKLE_HASH_SIZE],
                               const uint8_t (*proof)[MERKLE_HASH_SIZE], size_t len,
                               uint8_t root_out[MERKLE_HASH_SIZE]) MERKLE_MUST_USE;
/* RFC 9162 2.1.4.2. old_size == new_size needs an empty proof and equal roots;
 * old_size == 0 needs an empty proof (and old_root must be the empty root). */
merkle_status merkle_verify_consistency(uint64_t old_size, uint64_t new_size,
                              const uint8_t old_root[MERKLE_HASH_SIZE],
                              const uint8_t new_root[MERKLE_HASH_SIZE],
                              const uint8_t (*proof)[MERKLE_HASH_SIZE], size_t len) MERKLE_MUST_USE;

#endif
