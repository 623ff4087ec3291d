/* fetch.h: where tlog reads a log from.
 *
 * Contract: a log source is either a base URL (http:// or https://, read with libcurl)
 * or a local directory holding the same paths (checkpoint, tile/..., v1/checkpoints/N),
 * e.g. a copy made by `tlog export`. Paths are given without a leading slash. Every
 * read has a size limit; HTTP reads have connect and total timeouts. Nothing read
 * here is trusted: callers authenticate it (tile.h's reader, note.h).
 *
 * Functions return FETCH_OK, FETCH_NOT_FOUND (HTTP 404 or no such file), or
 * FETCH_ERROR with a message in err. */
#ifndef XT_CLIENT_FETCH_H
#define XT_CLIENT_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "merkle/tile.h"

#define FETCH_OK 0
#define FETCH_NOT_FOUND 1
#define FETCH_ERROR (-1)

/* Limits: a full hash tile is 8 KiB, a full bundle at most 256 * 64 KiB. */
#define FETCH_MAX_TILE ((size_t)TILE_WIDTH * (2 + 65535))
#define FETCH_MAX_SMALL ((size_t)1 << 20)

/* Most tiles log_source_fetch_tiles reads at once. */
#define FETCH_MAX_CONCURRENT 16

typedef struct log_source log_source;

/* spec: "http://host[:port][/prefix]", "https://...", or a directory path. */
log_source *log_source_open(const char *spec, char *err, size_t errcap);
void log_source_free(log_source *s);
bool log_source_is_http(const log_source *s);

/* Reads `path` (at most max bytes) into a malloc'd buffer (NUL-terminated one past
 * *len for convenience). */
int log_source_get(log_source *s, const char *path, size_t max, uint8_t **data, size_t *len,
                   char *err, size_t errcap);

/* A tile_fetcher (pass the log_source as ctx). A partial tile ".p/W" that is not
 * found is read as the full tile and cut to its first W hashes or entries, as C2SP
 * tlog-tiles allows once the tile has filled. */
int log_source_tile_fetcher(void *ctx, const tile_id *t, uint8_t **data, size_t *len, char *err,
                            size_t errcap);

/* Reads n tiles (n <= FETCH_MAX_CONCURRENT) at once: over HTTP as concurrent requests
 * on parallel keep-alive connections (a remote log's round trips overlap), from a
 * directory one after another; with the same partial-tile fallback. Returns 0 with
 * every data[i]/len[i] set, or -1 with nothing allocated and the first failure in err. */
int log_source_fetch_tiles(log_source *s, const tile_id *t, size_t n, uint8_t **data, size_t *len, char *err,
                           size_t errcap);

/* A hint: reads these tiles ahead, concurrently (HTTP only), so that the next
 * log_source_tile_fetcher calls for them are served from memory. Failures are left
 * for those calls to meet again and report. */
void log_source_prefetch(log_source *s, const tile_id *t, size_t n);

/* Fetch failures counted since the source was opened: lets a caller tell an I/O
 * failure of the tile reader (exit 2) from an authentication failure (exit 1). */
uint64_t log_source_failures(const log_source *s);

#endif
