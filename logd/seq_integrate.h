/* seq_integrate.h: the sequencer's pure integrate step (private to logd/).
 *
 * Contract: integ_run takes one group-commit batch (groups of events, each group all
 * or none, with their dedup keys) and the right edge of the tree (integ_tree: its
 * compact range, the partial right-edge hash tile of every tile level and the partial
 * entry bundle), deduplicates within the batch, gives the new entries contiguous
 * indices in submission order, extends the tree and says everything a store has to
 * write for the batch (integ_out): the hash tiles and entry bundles the batch
 * completed, the partial tiles of levels >= 1 it changed, its own part of the
 * right-edge level-0 tile and entry bundle, the index ops ('D' dedup key and 'H' leaf
 * hash, each to its index) and the new size and root. Tile and bundle bytes are those
 * of merkle/tile.h (C2SP tlog-tiles), built with its framing.
 *
 * Pure: no I/O, no clock (the caller passes the timestamp), no threads, no global
 * state. It allocates (out's buffers, the tree's bundle) and nothing else.
 * All or nothing: INTEG_OK, or an error with *t and every group's in/out fields
 * exactly as they were: everything that could fail is reserved before the tree is
 * touched. Not thread-safe on one integ_tree or integ_out; distinct ones are
 * independent. Pointer arguments are borrowed for the call.
 *
 * The tree's invariants (integ_tree_init makes them hold; a caller that loads a tree
 * from storage must make them hold): with n = range.size, edge[L][0..w) holds the
 * level-8L nodes of the right-edge tile of level L, w = (n >> 8L) mod 256, and bundle
 * holds exactly the entries n - n mod 256 .. n - 1 in tile_bundle_append framing. */
#ifndef XT_LOGD_SEQ_INTEGRATE_H
#define XT_LOGD_SEQ_INTEGRATE_H

#include <stddef.h>
#include <stdint.h>

#include "merkle/merkle.h"
#include "merkle/tile.h"

#define INTEG_LEVELS 8 /* tile levels 0..7 hold node levels 0..63 of a 2^63-leaf tree */
#define INTEG_KEY 16   /* bytes of a dedup key or leaf hash that index ops and dedup use */

typedef enum {
  INTEG_OK = 0,
  INTEG_ENOMEM, /* an allocation failed: nothing changed */
  INTEG_EFULL   /* the batch could take the tree past 2^63 leaves: nothing changed */
} integ_err;

/* A fixed name for e; never NULL. */
const char *integ_err_str(integ_err e);

typedef struct integ_tree {
  merkle_tree range;
  uint8_t edge[INTEG_LEVELS][TILE_WIDTH][MERKLE_HASH_SIZE];
  uint8_t *bundle; /* malloc'd, owned; bundle_len bytes used of bundle_cap */
  size_t bundle_len, bundle_cap;
} integ_tree;

/* Makes *t the empty tree (allocates nothing). */
void integ_tree_init(integ_tree *t);
/* Frees t's bundle and makes *t the empty tree (NULL is ignored). */
void integ_tree_free(integ_tree *t);
/* Replaces t's bundle with a copy of the len bytes at b (INTEG_ENOMEM: t unchanged).
 * The caller checks they are the framed entries the invariant above asks for. */
integ_err integ_tree_set_bundle(integ_tree *t, const uint8_t *b, size_t len)
    __attribute__((warn_unused_result));

/* dup values of an event. */
enum {
  INTEG_NEW = 0,  /* out: a new entry at index[i] */
  INTEG_DUP = 1,  /* out: a copy of an entry logged before (index[i], leaf[i] the first's) */
  INTEG_PRIOR = 2 /* in: an earlier batch logged it at index[i] with leaf hash leaf[i] */
};

typedef struct integ_group {
  /* in */
  const char *submitter; /* a valid submitter name (event.h) */
  size_t count;
  char *const *canon;    /* canonical event bytes (event.h), count of them */
  const size_t *canon_len;
  const uint8_t (*dedup)[32]; /* per event; its first INTEG_KEY bytes are the key */
  /* in/out, count of each: on input dup[i] is INTEG_PRIOR (index[i], leaf[i] set) or
   * INTEG_NEW; on INTEG_OK for a group not refused, dup[i] is INTEG_NEW or INTEG_DUP
   * and index[i], leaf[i] are the entry's. */
  uint64_t *index;
  uint8_t (*leaf)[MERKLE_HASH_SIZE];
  uint8_t *dup;
  /* out: 1 when event refused_event's entry (refused_len bytes) is over the limit:
   * then nothing of this group is logged and its in/out arrays are unchanged. */
  int refused;
  size_t refused_event, refused_len;
} integ_group;

/* A tile or bundle to store: level 0..7, or TILE_LEVEL_ENTRIES for an entry bundle;
 * len bytes at data (32 per hash). */
typedef struct integ_tile {
  int level;
  uint64_t index;
  const uint8_t *data;
  size_t len;
} integ_tile;

/* An index op: tag 'D' (dedup key) or 'H' (leaf hash), the key's first INTEG_KEY
 * bytes, and the entry's index. */
typedef struct integ_op {
  char tag;
  uint8_t key[INTEG_KEY];
  uint64_t index;
} integ_op;

/* What integ_run produced. The public fields are valid until the next integ_run with
 * this out or its tree, or integ_out_free / integ_tree_free. */
typedef struct integ_out {
  uint64_t start_size, size;       /* the tree before and after */
  uint8_t root[MERKLE_HASH_SIZE];  /* its root after */
  uint64_t new_bytes;              /* total bytes of the new entries */
  integ_tile *full;                /* tiles and bundles completed, full width (256) */
  size_t nfull;
  integ_tile partial[INTEG_LEVELS]; /* right-edge tiles of levels >= 1 that grew, */
  size_t npartial;                  /* at their new width */
  /* The batch's own part of the right-edge level-0 tile and bundle: leaves
   * [tail_first, size) when tail_first < size (none when the batch ended on a tile
   * boundary): their hashes and their framed entries. */
  uint64_t tail_first;
  const uint8_t *tail_hashes;
  size_t tail_hashes_len;
  const uint8_t *tail_bundle;
  size_t tail_bundle_len;
  integ_op *ops;                   /* 'D' then 'H' for each new entry, in index order */
  size_t nops;
  /* private */
  uint8_t *bytes;                  /* completed tiles' and bundles' bytes */
  size_t bytes_cap, full_cap, ops_cap;
  struct integ_slot *map;          /* every key of the batch (integ_out_find) */
  size_t map_cap, map_alloc;
  char *entry;                     /* scratch: one entry being built */
} integ_out;

/* Makes *o empty (allocates nothing). */
void integ_out_init(integ_out *o);
/* Frees o's buffers; *o is empty again (NULL is ignored). */
void integ_out_free(integ_out *o);

/* Sequences groups[0..ngroups) onto t: see the contract above. ts_ms is the entries'
 * timestamp (event_entry_build); a group with an entry over max_entry_bytes (or over
 * EVENT_ENTRY_HARD_MAX) is refused whole. Duplicates are found by key among the
 * group's events and the earlier groups of this batch (a copy of an INTEG_PRIOR
 * event gets its index). */
integ_err integ_run(integ_tree *t, integ_group *groups, size_t ngroups, uint64_t ts_ms,
                    size_t max_entry_bytes, integ_out *out) __attribute__((warn_unused_result));

/* Whether the last successful integ_run into o met the dedup key (first INTEG_KEY
 * bytes of key), logged or refound; then *index and leaf are its entry's. 0 after
 * integ_out_forget, and after a failed integ_run. */
int integ_out_find(const integ_out *o, const uint8_t *key, uint64_t *index,
                   uint8_t leaf[MERKLE_HASH_SIZE]);
/* Makes integ_out_find answer 0 for every key. */
void integ_out_forget(integ_out *o);

#endif
