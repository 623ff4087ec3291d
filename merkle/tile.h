/* tile.h: C2SP tlog-tiles layout, entry bundles, and an authenticating tile reader.
 *
 * Contract: tiles have height 8. The hash tile (L, N) holds the level-8L nodes
 * 256N .. 256N + W - 1 (W = 256 for a full tile, 1..255 for the partial tile at the
 * right edge of a tree). Its path is "tile/<L>/<N>[.p/<W>]", N in 3-digit elements
 * with an "x" on all but the last ("x001/x234/067"). Entry bundles "tile/entries/<N>"
 * hold the entries of leaves 256N.., each a big-endian uint16 length then the bytes.
 *
 * The tile reader trusts nothing it fetches: every tile is checked against a
 * (size, root) the caller already verified before any hash in it is used.
 * Public: logd serves tiles, tlog reads them. Status values are merkle_status. */
#ifndef XT_MERKLE_TILE_H
#define XT_MERKLE_TILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "merkle/merkle.h"

#define TILE_HEIGHT 8
#define TILE_WIDTH 256
#define TILE_MAX_LEVEL 63
#define TILE_LEVEL_ENTRIES (-1)
/* "tile/entries/" + 7 elements "x000/" + ".p/255" + NUL fits easily. */
#define TILE_PATH_MAX 64

typedef struct tile_id {
  int level;        /* 0..TILE_MAX_LEVEL, or TILE_LEVEL_ENTRIES for an entry bundle */
  uint64_t index;   /* N */
  unsigned width;   /* 1..256; 256 = full */
} tile_id;

/* "tile/0/x001/x234/067.p/5" (no leading slash). Returns 0 or MERKLE_ERR_ARG/SPACE. */
merkle_status tile_path_encode(const tile_id *t, char *buf, size_t cap, size_t *len);
/* Strict inverse of tile_path_encode: rejects leading zeros in L and W, missing or
 * stray "x", elements of other than 3 digits, non-digits, W of 0 or >= 256, a level
 * above 63, an index that does not fit 64 bits, and trailing bytes. path has no
 * leading slash. Returns 0 or MERKLE_ERR_ARG. */
merkle_status tile_path_decode(const char *path, size_t len, tile_id *out) MERKLE_MUST_USE;

/* Width of tile (level, index) in the tree of `size` leaves: 256 when full, 1..255
 * for the right-edge partial tile, 0 when the tile has no hash yet. For entry
 * bundles pass level TILE_LEVEL_ENTRIES (same widths as level 0). */
unsigned tile_width_at(int level, uint64_t index, uint64_t size);

/* Where node (level, index) lives: in hash tile *tile, spanning `*count` level-8L
 * hashes starting at offset *first (count = 2^(level mod 8)). tile->width is set
 * to the width needed, first + count. */
void tile_for_node(unsigned level, uint64_t index, tile_id *tile, unsigned *first, unsigned *count);

/* Entry bundles. */
typedef struct tile_bundle_entry {
  const uint8_t *data;
  size_t len;
} tile_bundle_entry;
/* Splits a bundle into exactly `expect` entries (each 1..65535 bytes would be
 * allowed by the format; empty entries are rejected since logd never makes one).
 * Fails on truncation or trailing bytes. */
merkle_status tile_bundle_parse(const uint8_t *buf, size_t len, size_t expect, tile_bundle_entry *out) MERKLE_MUST_USE;
/* The bytes of tile t (t->width hashes, or t->width bundle entries) at the start of
 * a stored tile buf of len bytes that may be wider (a server keeps the widest and
 * serves every narrower width as its prefix): *out receives their length.
 * MERKLE_ERR_FORMAT when buf holds fewer (or a malformed bundle, or a hash tile
 * that is not whole hashes), MERKLE_ERR_ARG for a width outside 1..256. */
merkle_status tile_stored_prefix(const tile_id *t, const uint8_t *buf, size_t len, size_t *out) MERKLE_MUST_USE;
/* Appends one entry; MERKLE_ERR_SPACE if it does not fit, MERKLE_ERR_ARG if the
 * entry is empty or over 65535 bytes. */
merkle_status tile_bundle_append(uint8_t *buf, size_t cap, size_t *len, const uint8_t *entry, size_t entry_len);

/* Fetches the tile t (exactly t->width hashes, or t->width entries for a bundle) into
 * a buffer the fetcher allocates with malloc; the reader frees it. Returns 0, or
 * non-zero with a message in err. A fetcher may serve a partial tile by truncating a
 * wider one; the reader checks the length. */
typedef int (*tile_fetcher)(void *ctx, const tile_id *t, uint8_t **data, size_t *len,
                            char *err, size_t errcap);

typedef struct tile_reader tile_reader;

/* A reader for the tree (size, root). The caller must already trust (size, root),
 * typically from a verified checkpoint. Returns NULL only when out of memory. */
tile_reader *tile_reader_new(uint64_t size, const uint8_t root[MERKLE_HASH_SIZE],
                             tile_fetcher fetch, void *fetch_ctx);
void tile_reader_free(tile_reader *r);
/* The last error (a tile that failed authentication names itself here). */
const char *tile_reader_error(const tile_reader *r);
/* A merkle_node_reader over authenticated tiles: pass the tile_reader as ctx. */
int tile_reader_nodes(void *reader, unsigned level, uint64_t index, uint64_t count,
                      uint8_t (*out)[MERKLE_HASH_SIZE]);
/* Reads the entry bundle N, checks every entry's leaf hash against the
 * authenticated level-0 tile, and hands the entries to the caller (valid until the
 * next call on this reader). *count receives the number of entries. Failures, with
 * the message at tile_reader_error: MERKLE_ERR_ARG (N beyond the tree),
 * MERKLE_ERR_READER (a tile could not be fetched or authenticated; no memory),
 * MERKLE_ERR_FORMAT (a malformed bundle), MERKLE_ERR_PROOF (an entry that does not
 * match its signed leaf hash). */
merkle_status tile_reader_entries(tile_reader *r, uint64_t index, const tile_bundle_entry **entries,
                        size_t *count) MERKLE_MUST_USE;
/* Counters for tests and progress displays. */
uint64_t tile_reader_fetches(const tile_reader *r);

#endif
