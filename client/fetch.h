/* fetch.h: where tlog reads a log from.
 *
 * Contract: a log source is either a base URL (http:// or https://, read with libcurl)
 * or a local directory holding the same paths (checkpoint, tile/..., v1/checkpoints/N),
 * e.g. a copy made by `tlog export`. Paths are given without a leading slash. Every
 * read has a size limit; HTTP reads have connect and total timeouts. Nothing read
 * here is trusted: callers authenticate it (tile.h's reader, note.h).
 *
 * Reads return a fetch_status and fill the caller's (err, errcap) on failure. */
#ifndef XT_CLIENT_FETCH_H
#define XT_CLIENT_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "merkle/tile.h"

/* The outcome of a read. */
typedef enum fetch_status {
  FETCH_ERROR = -1,    /* could not read (I/O, HTTP error, too large, out of memory) */
  FETCH_OK = 0,        /* read */
  FETCH_NOT_FOUND = 1  /* HTTP 404, or no such file */
} fetch_status;

/* Returns a static name for st ("ok", "not found", "error"); never NULL. */
const char *fetch_status_str(fetch_status st);

/* Limits: a full hash tile is 8 KiB, a full bundle at most 256 * 64 KiB. */
#define FETCH_MAX_TILE ((size_t)TILE_WIDTH * (2 + 65535))
#define FETCH_MAX_SMALL ((size_t)1 << 20)

/* Most tiles log_source_fetch_tiles reads at once. */
#define FETCH_MAX_CONCURRENT 16

typedef struct log_source log_source;

/* Opens spec: "http://host[:port][/prefix]", "https://...", or an existing directory.
 * Returns a source the caller frees with log_source_free, or NULL with err (another
 * URL scheme, not a directory, libcurl or memory failure). */
log_source *log_source_open(const char *spec, char *err, size_t errcap);
/* Frees s and what it holds; NULL is allowed. */
void log_source_free(log_source *s);
/* Returns whether s reads over HTTP(S) (else from a directory). */
bool log_source_is_http(const log_source *s);

/* Reads `path` (at most max bytes) into a new malloc'd buffer *data (the caller frees
 * it; a NUL follows the last byte, not counted in *len). Returns FETCH_OK,
 * FETCH_NOT_FOUND or FETCH_ERROR with err; *data is NULL on failure. */
fetch_status log_source_get(log_source *s, const char *path, size_t max, uint8_t **data, size_t *len,
                            char *err, size_t errcap) __attribute__((warn_unused_result));

/* A tile_fetcher (merkle/tile.h; pass the log_source as ctx): returns 0 with *data
 * (malloc'd, the reader frees it) and *len, or -1 with err, counting the failure. A
 * partial tile ".p/W" that is not found is read as the full tile (or, in a directory,
 * a wider partial) and cut to its first W hashes or entries, as C2SP tlog-tiles allows
 * once the tile has filled. */
int log_source_tile_fetcher(void *ctx, const tile_id *t, uint8_t **data, size_t *len, char *err,
                            size_t errcap);

/* Reads n tiles (n <= FETCH_MAX_CONCURRENT) at once: over HTTP as concurrent requests
 * on parallel keep-alive connections (a remote log's round trips overlap), from a
 * directory one after another; with the same partial-tile fallback. Returns 0 with
 * every data[i]/len[i] set (the caller frees each data[i]), or -1 with nothing
 * allocated and the first failure in err. */
int log_source_fetch_tiles(log_source *s, const tile_id *t, size_t n, uint8_t **data, size_t *len, char *err,
                           size_t errcap) __attribute__((warn_unused_result));

/* A hint: reads these tiles ahead, concurrently (HTTP only), so that the next
 * log_source_tile_fetcher calls for them are served from memory. Failures are left
 * for those calls to meet again and report. */
void log_source_prefetch(log_source *s, const tile_id *t, size_t n);

/* Fetch failures counted since the source was opened: lets a caller tell an I/O
 * failure of the tile reader (exit 2) from an authentication failure (exit 1). */
uint64_t log_source_failures(const log_source *s);

#endif
