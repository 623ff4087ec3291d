#include "logd/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netdb.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <stdarg.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "base/hex.h"
#include "base/num.h"
#include "merkle/note.h"
#include "merkle/tile.h"
#include "logd/tilecache.h"
#include "logd/worker.h"

#define MAX_BATCH_EVENTS 1000
#define MAX_BATCH_BODY (1u << 20)
#define MAX_ENTRIES_PER_READ 1000
/* The timestamp the size pre-check wraps events with: an entry's length depends only
 * on its timestamp's digit count, and every millisecond time from 2001-09-09 to
 * 2286-11-20 has 13 digits, like this one, so the pre-check's length is exact. */
#define SIZE_CHECK_TS_MS 1000000000000ull
/* The most bytes of a refused request body read and dropped past its limit before
 * the connection is cut off without an answer (see the handler). */
#define DISCARD_MAX (16u << 20)
/* Set on the MHD thread that cuts a connection off, which then logs a generic
 * "internal error" line of its own: mhd_log drops that one (ours says why). */
static _Thread_local int mhd_cut_pending;
/* Bodies buffered across all connections; beyond it writers get 503. */
#define BODY_BUDGET (256u << 20)

enum route {
  R_NONE,
  R_ADD,
  R_ADD_BATCH,
  R_BOOT, /* one boot event with its quote: answered like R_ADD */
};

enum req_state { ST_READING, ST_WAITING, ST_DONE };

/* A connection's place in the deadline registry: its socket, and when the request
 * it is on (or waits for) began its clock. */
typedef struct conn_clock {
  int fd;
  int cut;
  uint64_t start_ms;
  struct conn_clock *prev, *next;
  /* The bearer token this connection last authenticated with, and its submitter (the
   * connection's MHD thread only): a keep-alive client sends the same token with
   * every request, and comparing it costs less than hashing it again. */
  const logd_submitter *tok_who;
  size_t tok_len;
  char tok[128];
} conn_clock;

struct logd_http {
  http_config cfg;
  struct MHD_Daemon *d;
  unsigned port;
  atomic_ullong status_count[600];
  atomic_ullong body_bytes;
  tilecache *tiles; /* full tiles and bundles, served without a copy */
  /* The whole-request deadline (cfg.deadline_s): every connection is registered from
   * accept to close; a reaper thread shuts down the socket of one whose request has
   * not completed in time. MHD reports a connection closed (and unregisters it here)
   * before it closes the socket, so a shutdown under reaper.mu never reaches a reused fd. */
  logd_worker reaper; /* its mu guards conns */
  conn_clock *conns;
  atomic_ullong deadline_cuts;
};

typedef struct req {
  logd_http *h;
  struct MHD_Connection *conn;
  enum route route;
  const logd_submitter *who;
  char *body;
  size_t len, cap, limit, reserved;
  size_t first_cap; /* the body's declared length (Content-Length, within limit), or 0 */
  size_t discarded;
  int too_large;
  int overloaded;   /* the global body budget was exhausted: answer 503 */
  int want_checkpoint, want_text;
  atomic_int state;
  seq_sub *sub;
  void *evidence; /* R_BOOT: from http_ext.boot_parse */
} req;

/* ---------- responses ---------- */

static enum MHD_Result respond(logd_http *h, struct MHD_Connection *c, unsigned status,
                               const char *ctype, char *body, size_t len, const char *cache,
                               const char *extra_name, const char *extra_value) {
  struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
  if (!r) {
    free(body);
    return MHD_NO;
  }
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
  if (cache) MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, cache);
  if (extra_name) MHD_add_response_header(r, extra_name, extra_value);
  enum MHD_Result ret = MHD_queue_response(c, status, r);
  MHD_destroy_response(r);
  if (status < 600) atomic_fetch_add(&h->status_count[status], 1);
  return ret;
}

static enum MHD_Result respond_json(logd_http *h, struct MHD_Connection *c, unsigned status,
                                    json_t *j, const char *cache) {
  char *s = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  if (!s) return MHD_NO;
  size_t n = strlen(s);
  char *b = realloc(s, n + 2);
  if (!b) {
    free(s);
    return MHD_NO;
  }
  b[n] = '\n';
  return respond(h, c, status, "application/json", b, n + 1, cache, NULL, NULL);
}

static enum MHD_Result respond_error(logd_http *h, struct MHD_Connection *c, unsigned status,
                                     const char *msg) {
  json_t *j = json_pack("{s:s}", "error", msg);
  if (!j) return MHD_NO;
  char *s = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  if (!s) return MHD_NO;
  size_t n = strlen(s);
  char *b = realloc(s, n + 2);
  if (!b) {
    free(s);
    return MHD_NO;
  }
  b[n] = '\n';
  if (status == 503 || status == 429)
    return respond(h, c, status, "application/json", b, n + 1, "no-store", "Retry-After", "1");
  if (status == 405)
    return respond(h, c, status, "application/json", b, n + 1, "no-store", "Allow",
                   strstr(msg, "POST") ? "POST" : "GET, HEAD");
  /* RFC 6750 section 3: a 401 names the scheme the client must use. */
  if (status == 401)
    return respond(h, c, status, "application/json", b, n + 1, "no-store",
                   MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
  /* A 413 may come before the body was read (Content-Length) or after the rest of it
   * was discarded: either way the connection is not reused. */
  if (status == 413)
    return respond(h, c, status, "application/json", b, n + 1, "no-store",
                   MHD_HTTP_HEADER_CONNECTION, "close");
  return respond(h, c, status, "application/json", b, n + 1, "no-store", NULL, NULL);
}

static enum MHD_Result respond_errorf(logd_http *h, struct MHD_Connection *c, unsigned status,
                                      const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static enum MHD_Result respond_errorf(logd_http *h, struct MHD_Connection *c, unsigned status,
                                      const char *fmt, ...) {
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return respond_error(h, c, status, msg);
}

static json_t *hex_json(const uint8_t *in, size_t n) {
  char buf[2 * 64 + 1];
  xt_hex_encode(in, n, buf);
  return json_string(buf);
}

static int unhex32(const char *s, uint8_t out[32]) {
  return xt_hex_decode_exact(s, 0, out, 32) == XT_OK ? 0 : -1;
}

/* Strict decimal: digits only, no sign, no leading zero (except "0"), <= max.
 * 0 ok, -1 malformed or out of range. */
static int parse_u64(const char *s, uint64_t max, uint64_t *out) {
  return xt_parse_u64(s, XT_NUM_CANONICAL, 0, max, out) == XT_OK ? 0 : -1;
}

static const char *arg(struct MHD_Connection *c, const char *name) {
  return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
}

/* A query number: NULL and status set when missing or bad. */
static int query_u64(logd_http *h, struct MHD_Connection *c, const char *name, uint64_t max,
                     uint64_t *out, enum MHD_Result *ret) {
  const char *v = arg(c, name);
  if (!v) {
    *ret = respond_errorf(h, c, 400, "missing query parameter '%s'", name);
    return -1;
  }
  if (parse_u64(v, max, out)) {
    *ret = respond_errorf(h, c, 400,
                          "query parameter '%s' must be a decimal integer from 0 to %" PRIu64
                          " (no sign, no leading zeros)",
                          name, max);
    return -1;
  }
  return 0;
}

/* Writes the decimal digits of v at b; returns their count (at most 20). */
static size_t put_u64(char *b, uint64_t v) {
  char t[20];
  size_t n = 0;
  do t[n++] = (char)('0' + v % 10);
  while ((v /= 10) != 0);
  for (size_t i = 0; i < n; i++) b[i] = t[n - 1 - i];
  return n;
}

/* Hot answers (proofs, receipts, add results) are formatted directly: no JSON tree and
 * no printf. Each put_ writes at b and returns the bytes written; callers size their
 * buffer from the bounds given. */
static size_t put_lit(char *b, const char *s) {
  size_t n = strlen(s);
  memcpy(b, s, n);
  return n;
}

/* A hash as a quoted hex string: 66 bytes (xt_hex_encode's NUL is overwritten). */
static size_t put_hash(char *b, const uint8_t *hash) {
  b[0] = '"';
  xt_hex_encode(hash, MERKLE_HASH_SIZE, b + 1);
  b[1 + 2 * MERKLE_HASH_SIZE] = '"';
  return 2 + 2 * MERKLE_HASH_SIZE;
}

/* A JSON array of n hashes: at most 2 + 67 n bytes. */
static size_t put_proof(char *b, const uint8_t (*p)[MERKLE_HASH_SIZE], size_t n) {
  size_t o = 0;
  b[o++] = '[';
  for (size_t i = 0; i < n; i++) {
    if (i) b[o++] = ',';
    o += put_hash(b + o, p[i]);
  }
  b[o++] = ']';
  return o;
}

/* s (n bytes of UTF-8, here always a note logd signed) as a JSON string escaped as
 * jansson escapes it, so the receipt's bytes are those json_dumps wrote before: '"',
 * '\\' and the short escapes, other control bytes as \u00XX, all else as is. At most
 * 2 + 6 n bytes. */
static size_t put_string(char *b, const char *s, size_t n) {
  static const char hexu[] = "0123456789ABCDEF";
  size_t o = 0;
  b[o++] = '"';
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)s[i];
    char e = ch == '"' ? '"' : ch == '\\' ? '\\' : ch == '\n' ? 'n' : ch == '\t' ? 't'
           : ch == '\r' ? 'r' : ch == '\b' ? 'b' : ch == '\f' ? 'f' : 0;
    if (e) {
      b[o++] = '\\', b[o++] = e;
    } else if (ch < 0x20) {
      memcpy(b + o, "\\u00", 4), o += 4;
      b[o++] = hexu[ch >> 4], b[o++] = hexu[ch & 15];
    } else {
      b[o++] = (char)ch;
    }
  }
  b[o++] = '"';
  return o;
}

/* {"<ka>":a,"<kb>":b,["leaf_hash":"<leaf>",]"proof":[...]} and a newline. */
static char *proof_text(const char *ka, uint64_t a, const char *kb, uint64_t b,
                        const uint8_t *leaf, const uint8_t (*p)[MERKLE_HASH_SIZE], size_t n,
                        size_t *len) {
  /* Keys and numbers, the leaf hash member, then 67 bytes a hash: within 200 + n * 67. */
  size_t la = strlen(ka), lb = strlen(kb);
  char *out = malloc(la + lb + 200 + n * 67);
  if (!out) return NULL;
  size_t o = 0;
  o += put_lit(out + o, "{\"");
  o += put_lit(out + o, ka);
  o += put_lit(out + o, "\":");
  o += put_u64(out + o, a);
  o += put_lit(out + o, ",\"");
  o += put_lit(out + o, kb);
  o += put_lit(out + o, "\":");
  o += put_u64(out + o, b);
  if (leaf) {
    o += put_lit(out + o, ",\"leaf_hash\":");
    o += put_hash(out + o, leaf);
  }
  o += put_lit(out + o, ",\"proof\":");
  o += put_proof(out + o, p, n);
  o += put_lit(out + o, "}\n");
  *len = o;
  return out;
}

/* ---------- read API ---------- */

static enum MHD_Result get_checkpoint(logd_http *h, struct MHD_Connection *c) {
  seq_view v;
  if (seq_view_get(h->cfg.seq, &v, 1)) return respond_error(h, c, 503, "out of memory");
  if (!v.note) return respond_error(h, c, 503, "no checkpoint has been signed yet");
  return respond(h, c, 200, "text/plain; charset=utf-8", v.note, v.note_len,
                 "public, max-age=1", NULL, NULL);
}

static void tile_free_cb(void *cls) { tilecache_release(cls); }

/* A cached (immutable) tile, sent from the cache's bytes; the response holds a
 * reference until MHD has sent it. */
static enum MHD_Result respond_cached(logd_http *h, struct MHD_Connection *c, const tc_item *it) {
  struct MHD_Response *r = MHD_create_response_from_buffer_with_free_callback_cls(
      it->len, (void *)(uintptr_t)it->data, tile_free_cb, (void *)(uintptr_t)it);
  if (!r) {
    tilecache_release(it);
    return MHD_NO;
  }
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/octet-stream");
  MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "public, max-age=31536000, immutable");
  enum MHD_Result ret = MHD_queue_response(c, 200, r);
  MHD_destroy_response(r);
  atomic_fetch_add(&h->status_count[200], 1);
  return ret;
}

static enum MHD_Result get_tile(logd_http *h, struct MHD_Connection *c, const char *path) {
  tile_id t;
  if (tile_path_decode(path, strlen(path), &t))
    return respond_error(h, c, 404, "not a tile path (tile/<L>/<N>[.p/<W>] or tile/entries/<N>[.p/<W>])");
  seq_view v;
  seq_view_get(h->cfg.seq, &v, 0);
  unsigned have = tile_width_at(t.level, t.index, v.size);
  if (have == 0 || t.width > have)
    return respond_error(h, c, 404, "no such tile in the log yet");
  unsigned level = t.level == TILE_LEVEL_ENTRIES ? STORE_ENTRIES_LEVEL : (unsigned)t.level;
  /* A full tile never changes: served from the cache when there. */
  int full = t.width == TILE_WIDTH;
  const tc_item *it = full && h->tiles ? tilecache_get(h->tiles, level, t.index) : NULL;
  if (it) return respond_cached(h, c, it);
  uint8_t *data = NULL;
  size_t len = 0;
  char err[200];
  store_err rc = store_get_tile(h->cfg.store, level, t.index, &data, &len, err, sizeof err);
  if (rc) {
    xt_log("logd", "read tile %s: %s", path, rc == STORE_NOT_FOUND ? "missing from storage" : err);
    return respond_error(h, c, 500, "storage error");
  }
  /* The stored tile may be wider than asked for: serve its prefix. */
  size_t want;
  if (tile_stored_prefix(&t, data, len, &want)) {
    free(data);
    xt_log("logd", "read tile %s: stored tile too short or malformed", path);
    return respond_error(h, c, 500, "storage error");
  }
  if (full && h->tiles && (it = tilecache_put(h->tiles, level, t.index, data, want)) != NULL) {
    free(data);
    return respond_cached(h, c, it);
  }
  return respond(h, c, 200, "application/octet-stream", (char *)data, want,
                 full ? "public, max-age=31536000, immutable" : "public, max-age=60", NULL, NULL);
}

static enum MHD_Result get_log(logd_http *h, struct MHD_Connection *c) {
  seq_view v;
  if (seq_view_get(h->cfg.seq, &v, 1)) return respond_error(h, c, 503, "out of memory");
  json_t *j = json_object();
  json_object_set_new(j, "origin", json_string(h->cfg.origin));
  json_object_set_new(j, "verifier_key", json_string(h->cfg.verifier_key));
  json_object_set_new(j, "size", json_integer((json_int_t)v.note_size));
  json_object_set_new(j, "root", hex_json(v.note_root, MERKLE_HASH_SIZE));
  json_object_set_new(j, "tree_size", json_integer((json_int_t)v.size));
  json_object_set_new(j, "checkpoint", v.note ? json_stringn(v.note, v.note_len) : json_null());
  json_t *anchor = NULL;
  if (h->cfg.ext && h->cfg.ext->anchor_json) {
    char *text = h->cfg.ext->anchor_json(h->cfg.ext->ctx);
    if (text) anchor = json_loads(text, JSON_DECODE_ANY, NULL);
    free(text);
  }
  json_object_set_new(j, "anchor", anchor ? anchor : json_null());
  seq_view_free(&v);
  return respond_json(h, c, 200, j, "no-cache");
}

/* A proof answer (proof_text). */
static enum MHD_Result respond_proof(logd_http *h, struct MHD_Connection *c, const char *ka,
                                     uint64_t a, const char *kb, uint64_t b, const uint8_t *leaf,
                                     const uint8_t (*proof)[MERKLE_HASH_SIZE], size_t n) {
  size_t len;
  char *body = proof_text(ka, a, kb, b, leaf, proof, n, &len);
  if (!body) return respond_error(h, c, 503, "out of memory");
  return respond(h, c, 200, "application/json", body, len, "public, max-age=60", NULL, NULL);
}

static enum MHD_Result get_inclusion(logd_http *h, struct MHD_Connection *c) {
  seq_view v;
  seq_view_get(h->cfg.seq, &v, 0);
  enum MHD_Result ret;
  uint64_t size, index;
  if (query_u64(h, c, "size", UINT64_MAX, &size, &ret)) return ret;
  if (size > v.size || size == 0)
    return respond_errorf(h, c, 400, "size must be from 1 to the tree size %" PRIu64, v.size);
  uint8_t leaf[MERKLE_HASH_SIZE];
  const char *hs = arg(c, "hash");
  if (hs) {
    if (arg(c, "index")) return respond_error(h, c, 400, "give either index or hash, not both");
    if (unhex32(hs, leaf)) return respond_error(h, c, 400, "hash must be 64 hex digits");
    char err[200];
    store_err rc = store_get_by_hash(h->cfg.store, leaf, &index, err, sizeof err);
    if (rc != STORE_OK && rc != STORE_NOT_FOUND) return respond_error(h, c, 500, "storage error");
    if (rc == STORE_NOT_FOUND || index >= v.size) return respond_error(h, c, 404, "no entry has this leaf hash");
    if (index >= size)
      return respond_errorf(h, c, 404, "the entry with this leaf hash has index %" PRIu64
                            ", not in the tree of size %" PRIu64, index, size);
  } else {
    if (query_u64(h, c, "index", UINT64_MAX, &index, &ret)) return ret;
    if (index >= size) return respond_error(h, c, 400, "index must be less than size");
  }
  store_reader rd;
  store_reader_init(&rd, h->cfg.store);
  uint8_t proof[MERKLE_MAX_PROOF][MERKLE_HASH_SIZE];
  size_t n = 0;
  rd.path = 1;
  merkle_edge edge;
  int rc = store_read_nodes(&rd, 0, index, 1, &leaf);
  if (rc == 0) rc = store_edge(&rd, size, &edge);
  if (rc == 0) rc = merkle_inclusion_proof_edge(&edge, index, store_read_nodes, &rd, proof, MERKLE_MAX_PROOF, &n);
  if (rc) {
    xt_log("logd", "inclusion proof %" PRIu64 "/%" PRIu64 ": %s", index, size, rd.err);
    store_reader_done(&rd);
    return respond_error(h, c, 500, "storage error");
  }
  store_reader_done(&rd);
  if (hs) {
    uint8_t want[MERKLE_HASH_SIZE];
    unhex32(hs, want);
    if (memcmp(want, leaf, MERKLE_HASH_SIZE)) return respond_error(h, c, 404, "no entry has this leaf hash");
  }
  return respond_proof(h, c, "index", index, "size", size, leaf,
                       (const uint8_t (*)[MERKLE_HASH_SIZE])proof, n);
}

static enum MHD_Result get_consistency(logd_http *h, struct MHD_Connection *c) {
  seq_view v;
  seq_view_get(h->cfg.seq, &v, 0);
  enum MHD_Result ret;
  uint64_t from, to;
  if (query_u64(h, c, "from", UINT64_MAX, &from, &ret)) return ret;
  if (query_u64(h, c, "to", UINT64_MAX, &to, &ret)) return ret;
  if (to > v.size) return respond_errorf(h, c, 400, "to must be at most the tree size %" PRIu64, v.size);
  if (from > to) return respond_error(h, c, 400, "from must be at most to");
  store_reader rd;
  store_reader_init(&rd, h->cfg.store);
  uint8_t proof[MERKLE_MAX_PROOF][MERKLE_HASH_SIZE];
  size_t n = 0;
  merkle_edge edge;
  int rc = store_edge(&rd, to, &edge);
  if (rc == 0) rc = merkle_consistency_proof_edge(&edge, from, store_read_nodes, &rd, proof, MERKLE_MAX_PROOF, &n);
  if (rc) {
    xt_log("logd", "consistency proof %" PRIu64 "->%" PRIu64 ": %s", from, to, rd.err);
    store_reader_done(&rd);
    return respond_error(h, c, 500, "storage error");
  }
  store_reader_done(&rd);
  return respond_proof(h, c, "from", from, "to", to, NULL, (const uint8_t (*)[MERKLE_HASH_SIZE])proof, n);
}

static enum MHD_Result get_entries(logd_http *h, struct MHD_Connection *c) {
  seq_view v;
  seq_view_get(h->cfg.seq, &v, 0);
  enum MHD_Result ret;
  uint64_t start, count;
  if (query_u64(h, c, "start", UINT64_MAX, &start, &ret)) return ret;
  if (query_u64(h, c, "count", MAX_ENTRIES_PER_READ, &count, &ret)) return ret;
  if (count == 0)
    return respond_errorf(h, c, 400, "count must be from 1 to %d", MAX_ENTRIES_PER_READ);
  if (start >= v.size)
    return respond_errorf(h, c, 404, "start must be less than the tree size %" PRIu64, v.size);
  uint64_t end = start + count > v.size ? v.size : start + count;
  json_t *arr = json_array();
  for (uint64_t b = start / TILE_WIDTH; b <= (end - 1) / TILE_WIDTH; b++) {
    uint8_t *data = NULL;
    size_t len = 0;
    char err[200];
    if (store_get_tile(h->cfg.store, STORE_ENTRIES_LEVEL, b, &data, &len, err, sizeof err)) {
      json_decref(arr);
      return respond_error(h, c, 500, "storage error");
    }
    /* The bundle as published (the stored one may already hold more). */
    tile_id t = {TILE_LEVEL_ENTRIES, b, tile_width_at(TILE_LEVEL_ENTRIES, b, v.size)};
    tile_bundle_entry ents[TILE_WIDTH];
    size_t plen = 0;
    if (tile_stored_prefix(&t, data, len, &plen) || tile_bundle_parse(data, plen, t.width, ents)) {
      free(data);
      json_decref(arr);
      xt_log("logd", "read bundle %" PRIu64 ": stored bundle too short or malformed", b);
      return respond_error(h, c, 500, "storage error");
    }
    for (uint64_t i = b * TILE_WIDTH > start ? b * TILE_WIDTH : start; i < end && i < b * TILE_WIDTH + t.width; i++) {
      json_t *e = json_object();
      json_object_set_new(e, "index", json_integer((json_int_t)i));
      json_object_set_new(e, "entry", json_stringn((const char *)ents[i - b * TILE_WIDTH].data,
                                                   ents[i - b * TILE_WIDTH].len));
      json_array_append_new(arr, e);
    }
    free(data);
  }
  if (json_array_size(arr) != end - start) {
    json_decref(arr);
    return respond_error(h, c, 500, "storage error");
  }
  json_t *j = json_object();
  json_object_set_new(j, "entries", arr);
  return respond_json(h, c, 200, j, "public, max-age=60");
}

static enum MHD_Result get_stored_checkpoint(logd_http *h, struct MHD_Connection *c, const char *num) {
  uint64_t size;
  if (parse_u64(num, UINT64_MAX, &size))
    return respond_error(h, c, 400, "checkpoint size must be a decimal integer");
  char *note = NULL;
  size_t len = 0;
  char err[200];
  store_err rc = store_get_checkpoint(h->cfg.store, size, &note, &len, err, sizeof err);
  if (rc == STORE_NOT_FOUND) return respond_error(h, c, 404, "no checkpoint of this size was published");
  if (rc) return respond_error(h, c, 500, "storage error");
  return respond(h, c, 200, "text/plain; charset=utf-8", note, len,
                 "public, max-age=31536000, immutable", NULL, NULL);
}

static enum MHD_Result get_health(logd_http *h, struct MHD_Connection *c) {
  const char *why = seq_health(h->cfg.seq);
  if (why) return respond_error(h, c, 503, why);
  seq_view v;
  seq_view_get(h->cfg.seq, &v, 0);
  json_t *j = json_pack("{s:s,s:I,s:I}", "status", "ok", "size", (json_int_t)v.size,
                        "checkpoint_size", (json_int_t)v.note_size);
  return respond_json(h, c, 200, j, "no-store");
}

static int buf_printf(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int buf_printf(char **buf, size_t *len, size_t *cap, const char *fmt, ...) {
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(*buf + *len, *cap - *len, fmt, ap);
    va_end(ap);
    if (n < 0) return -1;
    if ((size_t)n < *cap - *len) {
      *len += (size_t)n;
      return 0;
    }
    size_t nc = *cap * 2 + (size_t)n;
    char *nb = realloc(*buf, nc);
    if (!nb) return -1;
    *buf = nb;
    *cap = nc;
  }
}

static enum MHD_Result get_metrics(logd_http *h, struct MHD_Connection *c) {
  seq_metrics *m = seq_get_metrics(h->cfg.seq);
  seq_view v;
  seq_view_get(h->cfg.seq, &v, 0);
  size_t len = 0, cap = 8192;
  char *b = malloc(cap);
  if (!b) return respond_error(h, c, 503, "out of memory");
  int e = 0;
#define P(...) e |= buf_printf(&b, &len, &cap, __VA_ARGS__)
  P("# HELP logd_tree_size Entries in the log.\n# TYPE logd_tree_size gauge\nlogd_tree_size %" PRIu64 "\n", v.size);
  P("# HELP logd_checkpoint_size Size of the latest signed checkpoint.\n# TYPE logd_checkpoint_size gauge\nlogd_checkpoint_size %" PRIu64 "\n", v.note_size);
  P("# HELP logd_entries_total New entries sequenced by this process.\n# TYPE logd_entries_total counter\nlogd_entries_total %llu\n", atomic_load(&m->entries));
  P("# HELP logd_entry_bytes_total Bytes of the new entries sequenced by this process.\n# TYPE logd_entry_bytes_total counter\nlogd_entry_bytes_total %llu\n", atomic_load(&m->entry_bytes));
  P("# HELP logd_duplicates_total Submissions answered with the index of an earlier copy.\n# TYPE logd_duplicates_total counter\nlogd_duplicates_total %llu\n", atomic_load(&m->duplicates));
  P("# HELP logd_batches_total Synced batch writes.\n# TYPE logd_batches_total counter\nlogd_batches_total %llu\n", atomic_load(&m->batches));
  P("# HELP logd_checkpoints_total Checkpoints signed.\n# TYPE logd_checkpoints_total counter\nlogd_checkpoints_total %llu\n", atomic_load(&m->checkpoints));
  P("# HELP logd_write_errors_total Failed storage writes.\n# TYPE logd_write_errors_total counter\nlogd_write_errors_total %llu\n", atomic_load(&m->write_errors));
  P("# HELP logd_queue_entries Events waiting for the sequencer.\n# TYPE logd_queue_entries gauge\nlogd_queue_entries %llu\n", atomic_load(&m->queue_entries));
  P("# HELP logd_queue_bytes Bytes waiting for the sequencer.\n# TYPE logd_queue_bytes gauge\nlogd_queue_bytes %llu\n", atomic_load(&m->queue_bytes));
  P("# HELP logd_store_sst_bytes Bytes in RocksDB table files.\n# TYPE logd_store_sst_bytes gauge\nlogd_store_sst_bytes %" PRIu64 "\n", store_disk_bytes(h->cfg.store));
  P("# HELP logd_fsync_seconds Latency of the synced batch write.\n# TYPE logd_fsync_seconds histogram\n");
  unsigned long long cum = 0;
  for (int i = 0; i < SEQ_FSYNC_BUCKETS; i++) {
    cum += atomic_load(&m->fsync_bucket[i]);
    P("logd_fsync_seconds_bucket{le=\"%g\"} %llu\n", seq_fsync_bucket_ms[i] / 1000.0, cum);
  }
  P("logd_fsync_seconds_bucket{le=\"+Inf\"} %llu\n", atomic_load(&m->fsync_count));
  P("logd_fsync_seconds_sum %.6f\n", (double)atomic_load(&m->fsync_us_sum) / 1e6);
  P("logd_fsync_seconds_count %llu\n", atomic_load(&m->fsync_count));
  P("# HELP logd_http_responses_total HTTP responses by status code.\n# TYPE logd_http_responses_total counter\n");
  for (int s = 100; s < 600; s++) {
    unsigned long long n = atomic_load(&h->status_count[s]);
    if (n) P("logd_http_responses_total{code=\"%d\"} %llu\n", s, n);
  }
  P("# HELP logd_http_deadline_cuts_total Connections cut off because a request did not complete within --request-deadline.\n# TYPE logd_http_deadline_cuts_total counter\nlogd_http_deadline_cuts_total %llu\n", atomic_load(&h->deadline_cuts));
  if (h->cfg.ext && h->cfg.ext->metrics) {
    char *more = h->cfg.ext->metrics(h->cfg.ext->ctx);
    if (more) P("%s", more);
    else e = 1;
    free(more);
  }
#undef P
  if (e) {
    free(b);
    return respond_error(h, c, 503, "out of memory");
  }
  return respond(h, c, 200, "text/plain; version=0.0.4", b, len, "no-store", NULL, NULL);
}

/* ---------- write API ---------- */

/* Fetched once: EVP_sha256() looks the algorithm up (under a global lock) per call. */
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256_md;
static void sha256_fetch(void) { sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL); }

static const logd_submitter *authenticate(logd_http *h, struct MHD_Connection *c) {
  const char *a = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
  if (!a || strncasecmp(a, "Bearer ", 7)) return NULL;
  const char *tok = a + 7;
  while (*tok == ' ') tok++;
  size_t n = strlen(tok);
  while (n && (tok[n - 1] == ' ' || tok[n - 1] == '\t')) n--;
  if (!n) return NULL;
  const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  conn_clock *k = ci ? ci->socket_context : NULL;
  /* Only a token that was valid on this connection is kept, so the comparison (and
   * its length check) tells a client nothing it did not send itself. */
  if (k && k->tok_who && n == k->tok_len && CRYPTO_memcmp(tok, k->tok, n) == 0) return k->tok_who;
  uint8_t d[32];
  pthread_once(&sha256_once, sha256_fetch);
  if (!sha256_md || !EVP_Digest(tok, n, d, NULL, sha256_md, NULL)) return NULL;
  /* Compare against every submitter so timing says nothing about which matched. */
  const logd_submitter *who = NULL;
  for (size_t i = 0; i < h->cfg.nsubmitters; i++)
    if (CRYPTO_memcmp(d, h->cfg.submitters[i].token_hash, 32) == 0) who = &h->cfg.submitters[i];
  if (k) {
    int keep = who && n <= sizeof k->tok;
    k->tok_who = keep ? who : NULL;
    k->tok_len = keep ? n : 0;
    if (keep) memcpy(k->tok, tok, n);
  }
  return who;
}

static void on_done(seq_sub *s, void *ctx) {
  req *r = ctx;
  (void)s;
  atomic_store(&r->state, ST_DONE);
  MHD_resume_connection(r->conn);
}

/* Inclusion proofs of every entry of s in its covering checkpoint (n x MERKLE_MAX_PROOF
 * hashes and n lengths, malloc'd). 0, 503 when out of memory, 500 on a storage error. */
static int receipt_proofs(logd_http *h, const seq_sub *s, uint8_t (**proof)[MERKLE_HASH_SIZE],
                          size_t **plen) {
  size_t n = s->events.count;
  *proof = calloc(n * MERKLE_MAX_PROOF, MERKLE_HASH_SIZE);
  *plen = calloc(n, sizeof **plen);
  if (!*proof || !*plen) {
    free(*proof), free(*plen);
    return 503;
  }
  store_reader rd;
  store_reader_init(&rd, h->cfg.store);
  rd.path = 1; /* each proof's reads are one leaf's path */
  merkle_edge edge; /* the same for every receipt of this checkpoint: from store_edge's cache */
  int bad = store_edge(&rd, s->checkpoint_size, &edge);
  for (size_t i = 0; i < n; i++) {
    if (bad || merkle_inclusion_proof_edge(&edge, s->index[i], store_read_nodes, &rd,
                                           *proof + i * MERKLE_MAX_PROOF, MERKLE_MAX_PROOF, &(*plen)[i])) {
      xt_log("logd", "receipt proof for %" PRIu64 ": %s", s->index[i], rd.err);
      store_reader_done(&rd);
      free(*proof), free(*plen);
      return 500;
    }
  }
  store_reader_done(&rd);
  return 0;
}

/* One result of a write: {"index":i,"leaf_hash":"...","dup":b[,"proof":[...]]}, at
 * most 120 + 67 plen bytes (no proof member when p is NULL). */
static size_t put_result(char *b, const seq_sub *s, size_t i, const uint8_t (*p)[MERKLE_HASH_SIZE],
                         size_t plen) {
  size_t o = put_lit(b, "{\"index\":");
  o += put_u64(b + o, s->index[i]);
  o += put_lit(b + o, ",\"leaf_hash\":");
  o += put_hash(b + o, s->leaf[i]);
  o += put_lit(b + o, s->dup[i] ? ",\"dup\":true" : ",\"dup\":false");
  if (p) {
    o += put_lit(b + o, ",\"proof\":");
    o += put_proof(b + o, p, plen);
  }
  b[o++] = '}';
  return o;
}

/* The answer to a write: for one entry its result, with the covering checkpoint's
 * note between dup and proof when it waited (proof: n x MERKLE_MAX_PROOF hashes, plen:
 * n lengths, both NULL when it did not wait); for a batch
 * {"first_index":f|null,"results":[...][,"checkpoint":"..."]}. The member order is the
 * one these answers have always had. Returns the malloc'd text, NULL when out of memory. */
static char *write_answer(const req *r, const uint8_t (*proof)[MERKLE_HASH_SIZE],
                          const size_t *plen, size_t *len) {
  const seq_sub *s = r->sub;
  size_t n = s->events.count, cap = 64 + (proof ? 6 * s->checkpoint_len : 0);
  for (size_t i = 0; i < n; i++) cap += 124 + (proof ? 67 * plen[i] : 0);
  char *b = malloc(cap);
  if (!b) return NULL;
  size_t o = 0;
  if (r->route != R_ADD_BATCH) {
    o = put_result(b, s, 0, NULL, 0) - 1; /* reopened for the receipt's members */
    if (proof) {
      o += put_lit(b + o, ",\"checkpoint\":");
      o += put_string(b + o, s->checkpoint, s->checkpoint_len);
      o += put_lit(b + o, ",\"proof\":");
      o += put_proof(b + o, proof, plen[0]);
    }
    o += put_lit(b + o, "}\n");
    *len = o;
    return b;
  }
  uint64_t first = UINT64_MAX;
  for (size_t i = 0; i < n; i++)
    if (!s->dup[i] && s->index[i] < first) first = s->index[i];
  o += put_lit(b + o, "{\"first_index\":");
  o += first == UINT64_MAX ? put_lit(b + o, "null") : put_u64(b + o, first);
  o += put_lit(b + o, ",\"results\":[");
  for (size_t i = 0; i < n; i++) {
    if (i) b[o++] = ',';
    o += put_result(b + o, s, i, proof ? proof + i * MERKLE_MAX_PROOF : NULL, proof ? plen[i] : 0);
  }
  b[o++] = ']';
  if (proof) {
    o += put_lit(b + o, ",\"checkpoint\":");
    o += put_string(b + o, s->checkpoint, s->checkpoint_len);
  }
  o += put_lit(b + o, "}\n");
  *len = o;
  return b;
}

/* The answer to a write that waited for its checkpoint: receipts with proofs
 * (proof: n x MERKLE_MAX_PROOF hashes, plen: n lengths), as JSON or as a tlog-proof. */
static enum MHD_Result respond_receipt(logd_http *h, struct MHD_Connection *c, const req *r,
                                       const uint8_t (*proof)[MERKLE_HASH_SIZE],
                                       const size_t *plen) {
  const seq_sub *s = r->sub;
  if (r->want_text) {
    size_t cap = s->checkpoint_len + 256 + plen[0] * 48;
    char *out = malloc(cap);
    size_t outlen = 0;
    char err[200] = "out of memory";
    if (!out || tlog_proof_format(s->index[0], proof, plen[0], s->checkpoint, s->checkpoint_len,
                                  out, cap, &outlen, err, sizeof err)) {
      free(out);
      xt_log("logd", "tlog-proof: %s", err);
      return respond_error(h, c, 500, "cannot format the receipt");
    }
    return respond(h, c, 200, "text/x-tlog-proof", out, outlen, "no-store", NULL, NULL);
  }
  size_t len = 0;
  char *b = write_answer(r, proof, plen, &len);
  if (!b) return respond_error(h, c, 503, "out of memory; the entries are logged, retry for the receipt");
  return respond(h, c, 200, "application/json", b, len, "no-store", NULL, NULL);
}

static enum MHD_Result add_response(logd_http *h, struct MHD_Connection *c, req *r) {
  seq_sub *s = r->sub;
  if (s->status) return respond_error(h, c, (unsigned)s->status, s->error);
  if (r->route == R_BOOT && h->cfg.ext && h->cfg.ext->boot_keep) {
    char err[300];
    if (h->cfg.ext->boot_keep(h->cfg.ext->ctx, r->evidence, s->index[0], r->who->name, err, sizeof err))
      return respond_errorf(h, c, 500, "the boot entry is logged (index %" PRIu64 ") but its quote "
                            "was not kept: %s", s->index[0], err);
  }
  if (!r->want_checkpoint) {
    size_t len = 0;
    char *b = write_answer(r, NULL, NULL, &len);
    if (!b) return respond_error(h, c, 503, "out of memory; the entries are logged, retry");
    return respond(h, c, 200, "application/json", b, len, "no-store", NULL, NULL);
  }
  uint8_t (*proof)[MERKLE_HASH_SIZE] = NULL;
  size_t *plen = NULL;
  int st = receipt_proofs(h, s, &proof, &plen);
  if (st == 503)
    return respond_error(h, c, 503, "out of memory; the entries are logged, retry for the receipt");
  if (st || !proof || !plen) return respond_error(h, c, 500, "storage error");
  enum MHD_Result ret =
      respond_receipt(h, c, r, (const uint8_t (*)[MERKLE_HASH_SIZE])proof, plen);
  free(proof);
  free(plen);
  return ret;
}

static enum MHD_Result start_add(logd_http *h, struct MHD_Connection *c, req *r) {
  if (r->too_large)
    return respond_errorf(h, c, 413, "request body is larger than %zu bytes", r->limit);
  if (r->overloaded)
    return respond_error(h, c, 503, "too many request bodies in flight; retry shortly");
  char err[400];
  if (h->cfg.ext && h->cfg.ext->write_refused && h->cfg.ext->write_refused(h->cfg.ext->ctx, err, sizeof err))
    return respond_error(h, c, 503, err);
  event_list ev;
  const char *body = r->body ? r->body : "";
  event_err ee;
  if (r->route == R_BOOT) {
    char *text = NULL;
    /* begin_request routes here only with boot_parse set; said again for the reader. */
    if (!h->cfg.ext || !h->cfg.ext->boot_parse) return respond_error(h, c, 404, "no such path");
    int st = h->cfg.ext->boot_parse(body, r->len, &text, &r->evidence, err, sizeof err);
    if (st) {
      free(r->body);
      r->body = NULL;
      atomic_fetch_sub(&h->body_bytes, r->reserved);
      r->reserved = 0;
      return respond_error(h, c, (unsigned)st, err);
    }
    ee = event_parse_one(text, strlen(text), &ev, err, sizeof err);
    free(text);
  } else {
    ee = r->route == R_ADD ? event_parse_one(body, r->len, &ev, err, sizeof err)
                           : event_parse_batch(body, r->len, MAX_BATCH_EVENTS, &ev, err, sizeof err);
  }
  free(r->body);
  r->body = NULL;
  atomic_fetch_sub(&h->body_bytes, r->reserved);
  r->reserved = 0;
  if (ee == EVENT_ENOMEM) return respond_error(h, c, 503, "out of memory, try again");
  if (ee != EVENT_OK) return respond_error(h, c, 400, err);
  /* Reject oversize entries here so the client hears 413 at once; the sequencer
   * re-checks with its own timestamp. */
  for (size_t i = 0; i < ev.count; i++) {
    size_t len = event_entry_len(ev.canon_len[i], r->who->name, SIZE_CHECK_TS_MS);
    if (len > h->cfg.max_entry_bytes) {
      event_list_free(&ev);
      return respond_errorf(h, c, 413, "event %zu: entry would be %zu bytes, the limit is %zu", i,
                            len, h->cfg.max_entry_bytes);
    }
  }
  seq_sub *s = seq_sub_new(r->who->name, &ev);
  if (!s) return respond_error(h, c, 503, "out of memory, try again");
  s->want_checkpoint = r->want_checkpoint;
  s->done = on_done;
  s->done_ctx = r;
  r->sub = s;
  atomic_store(&r->state, ST_WAITING);
  MHD_suspend_connection(c);
  seq_err se = seq_submit(h->cfg.seq, s);
  if (se != SEQ_OK) {
    unsigned st = se == SEQ_EFAILED ? seq_refusal(h->cfg.seq, s->error, sizeof s->error) : 0;
    s->status = st ? (int)st : 503;
    if (!st)
      snprintf(s->error, sizeof s->error, "%s",
               se == SEQ_EBUSY ? "the log is busy (queue full); retry shortly"
                               : "the log is not accepting writes (shutting down)");
    atomic_store(&r->state, ST_DONE);
    MHD_resume_connection(c);
  }
  return MHD_YES;
}

/* ---------- dispatch ---------- */

static enum MHD_Result handle_get(logd_http *h, struct MHD_Connection *c, const char *url) {
  if (!strcmp(url, "/checkpoint")) return get_checkpoint(h, c);
  if (!strncmp(url, "/tile/", 6)) return get_tile(h, c, url + 1);
  if (!strcmp(url, "/v1/log")) return get_log(h, c);
  if (!strcmp(url, "/v1/proof/inclusion")) return get_inclusion(h, c);
  if (!strcmp(url, "/v1/proof/consistency")) return get_consistency(h, c);
  if (!strcmp(url, "/v1/entries")) return get_entries(h, c);
  if (!strncmp(url, "/v1/checkpoints/", 16)) return get_stored_checkpoint(h, c, url + 16);
  if (!strcmp(url, "/healthz")) return get_health(h, c);
  if (!strcmp(url, "/metrics")) return get_metrics(h, c);
  if (!strcmp(url, "/v1/attestation")) {
    if (!h->cfg.ext || !h->cfg.ext->attestation)
      return respond_error(h, c, 404, "no attestation: this logd runs in --dev mode, outside a TEE");
    char *body = NULL;
    size_t len = 0;
    unsigned st = h->cfg.ext->attestation(h->cfg.ext->ctx, arg(c, "size"), arg(c, "boot"), &body, &len);
    if (!body) return respond_error(h, c, 503, "out of memory");
    return respond(h, c, st, "application/json", body, len, st == 200 ? "no-cache" : "no-store",
                   NULL, NULL);
  }
  if (!strcmp(url, "/v1/collateral") || !strncmp(url, "/v1/collateral/", 15)) {
    if (!h->cfg.ext || !h->cfg.ext->collateral)
      return respond_error(h, c, 404, "no collateral archive: logd runs without --pccs");
    char *body = NULL;
    size_t len = 0;
    unsigned st = h->cfg.ext->collateral(h->cfg.ext->ctx, url[14] ? url + 15 : NULL, &body, &len);
    if (!body) return respond_error(h, c, 503, "out of memory");
    /* An archived document never changes; the index grows. */
    return respond(h, c, st, "application/json", body, len,
                   st != 200 ? "no-store" : url[14] ? "public, max-age=31536000, immutable" : "no-cache",
                   NULL, NULL);
  }
  return respond_error(h, c, 404, "no such path");
}

static int is_write_path(const char *url) {
  return !strcmp(url, "/v1/add") || !strcmp(url, "/v1/add-batch") || !strcmp(url, "/v1/boot");
}

static int is_read_path(const char *url) {
  static const char *exact[] = {"/checkpoint", "/v1/log", "/v1/proof/inclusion",
                                "/v1/proof/consistency", "/v1/entries", "/healthz",
                                "/metrics", "/v1/attestation", "/v1/collateral"};
  for (size_t i = 0; i < sizeof exact / sizeof *exact; i++)
    if (!strcmp(url, exact[i])) return 1;
  return !strncmp(url, "/tile/", 6) || !strncmp(url, "/v1/checkpoints/", 16) ||
         !strncmp(url, "/v1/collateral/", 15);
}

static char read_marker;

/* The first call of a request (headers only): routes, checks method, token, declared
 * size and query, and for a write allocates its req. */
static enum MHD_Result begin_request(logd_http *h, struct MHD_Connection *c, const char *url,
                                     const char *method, void **con_cls) {
  int get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
  int post = !strcmp(method, "POST");
  if (!is_write_path(url)) {
    if (!is_read_path(url)) return respond_error(h, c, 404, "no such path");
    if (!get) return respond_error(h, c, 405, "method not allowed (this path takes GET)");
    *con_cls = (void *)&read_marker;
    return MHD_YES;
  }
  if (!post) return respond_error(h, c, 405, "method not allowed (this path takes POST)");
  const logd_submitter *who = authenticate(h, c);
  if (!who) {
    const char *a = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    return respond_error(h, c, 401, a ? "invalid bearer token" : "missing bearer token (Authorization: Bearer <token>)");
  }
  enum route route = !strcmp(url, "/v1/add") ? R_ADD : !strcmp(url, "/v1/boot") ? R_BOOT : R_ADD_BATCH;
  if (route == R_BOOT && (!h->cfg.ext || !h->cfg.ext->boot_parse))
    return respond_error(h, c, 404, "no such path");
  /* A boot body carries a quote (~10 KB hex) and its event log (tens of KB). */
  size_t limit = route == R_ADD ? 4 * h->cfg.max_entry_bytes : MAX_BATCH_BODY;
  const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
  uint64_t clen = 0;
  int have_clen = cl && parse_u64(cl, UINT64_MAX, &clen) == 0;
  if (have_clen && clen > limit)
    return respond_errorf(h, c, 413, "request body is larger than %zu bytes", limit);
  const char *wait = arg(c, "wait");
  const char *format = arg(c, "format");
  const char *accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
  int want_text = (format && !strcmp(format, "tlog-proof")) ||
                  (accept && strstr(accept, "text/x-tlog-proof"));
  if (wait && strcmp(wait, "checkpoint"))
    return respond_error(h, c, 400, "wait takes only the value 'checkpoint'");
  if (format && strcmp(format, "tlog-proof") && strcmp(format, "json"))
    return respond_error(h, c, 400, "format takes 'json' or 'tlog-proof'");
  if (want_text && route != R_ADD)
    return respond_error(h, c, 400, "tlog-proof receipts are per entry: use POST /v1/add");
  req *r = calloc(1, sizeof *r);
  if (!r) return MHD_NO;
  r->h = h;
  r->conn = c;
  r->route = route;
  r->who = who;
  r->limit = limit;
  if (have_clen && clen > 0) r->first_cap = (size_t)clen;
  r->want_text = want_text;
  r->want_checkpoint = want_text || (wait != NULL);
  atomic_init(&r->state, ST_READING);
  *con_cls = r;
  return MHD_YES;
}

/* Frees what was kept of a refused body (n more bytes just came); the rest is only
 * counted from here on. */
static void drop_body(logd_http *h, req *r, size_t n) {
  free(r->body);
  r->body = NULL;
  atomic_fetch_sub(&h->body_bytes, r->reserved);
  r->reserved = 0;
  r->cap = 0;
  r->discarded = r->len + n;
  r->len = 0;
}

/* A piece of a write's body: kept within the request's limit and the global body
 * budget, or (once over either) read and dropped until the body ends. */
static enum MHD_Result take_body(logd_http *h, req *r, const char *upload, size_t n) {
  if (r->too_large || r->overloaded) {
    r->discarded += n;
    /* MHD cannot answer before the body ends, so the rest of a refused body is read
     * and dropped (no memory kept) to answer 413/503 cleanly; a client still
     * streaming DISCARD_MAX past the limit is cut off instead. */
    if (r->discarded <= r->limit + DISCARD_MAX) return MHD_YES;
    xt_log("logd", "http: cut off a request body still streaming %u MiB past its %zu-byte limit",
           DISCARD_MAX >> 20, r->limit);
    mhd_cut_pending = 1;
    return MHD_NO;
  }
  if (r->len + n > r->limit) {
    r->too_large = 1;
    drop_body(h, r, n);
    return MHD_YES;
  }
  if (r->len + n > r->cap) {
    /* Sized to the declared body when there is one: a single event is a few hundred
     * bytes, and a 4 KiB request falls outside glibc's small bins, where each one
     * first consolidates the fast bins (~2% of logd's CPU per single add). */
    size_t nc = r->cap ? r->cap : r->first_cap ? r->first_cap : 4096;
    while (nc < r->len + n) nc *= 2;
    if (nc > r->limit) nc = r->limit;
    if (atomic_fetch_add(&h->body_bytes, nc - r->cap) + (nc - r->cap) > BODY_BUDGET) {
      atomic_fetch_sub(&h->body_bytes, nc - r->cap);
      r->overloaded = 1;
      drop_body(h, r, n);
      return MHD_YES;
    }
    char *nb = realloc(r->body, nc);
    if (!nb) {
      atomic_fetch_sub(&h->body_bytes, nc - r->cap);
      return MHD_NO;
    }
    r->reserved += nc - r->cap;
    r->body = nb;
    r->cap = nc;
  }
  memcpy(r->body + r->len, upload, n);
  r->len += n;
  return MHD_YES;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **con_cls) {
  logd_http *h = cls;
  req *r = *con_cls;
  if (r == (req *)&read_marker) {
    /* Second call of a read: answering only now keeps the connection alive
     * (MHD closes connections answered before the request was complete). */
    if (*upload_size) {
      *upload_size = 0; /* a body sent with a read is ignored */
      return MHD_YES;
    }
    return handle_get(h, c, url);
  }
  if (!r) return begin_request(h, c, url, method, con_cls);
  int st = atomic_load(&r->state);
  if (st == ST_READING && *upload_size) {
    size_t n = *upload_size;
    *upload_size = 0;
    return take_body(h, r, upload, n);
  }
  if (st == ST_READING) return start_add(h, c, r);
  if (st == ST_DONE) return add_response(h, c, r);
  return MHD_YES;
}

static void restart_clock(logd_http *h, struct MHD_Connection *c);

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe) {
  logd_http *h = cls;
  req *r = *con_cls;
  *con_cls = NULL;
  restart_clock(h, c);
  if (!r || r == (req *)&read_marker) return;
  if (r->evidence && h->cfg.ext && h->cfg.ext->boot_free) h->cfg.ext->boot_free(r->evidence);
  free(r->body);
  atomic_fetch_sub(&h->body_bytes, r->reserved);
  seq_sub_free(r->sub);
  free(r);
  *con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void mhd_log(void *cls, const char *fmt, va_list ap) {
  char msg[512];
  vsnprintf(msg, sizeof msg, fmt, ap);
  size_t n = strlen(msg);
  while (n && msg[n - 1] == '\n') msg[--n] = 0;
  if (mhd_cut_pending && strstr(msg, "Application reported internal error")) {
    mhd_cut_pending = 0;
    return;
  }
  xt_log("logd", "http: %s", msg);
}

static uint64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void notify_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                              enum MHD_ConnectionNotificationCode code) {
  logd_http *h = cls;
  if (code == MHD_CONNECTION_NOTIFY_STARTED) {
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    conn_clock *k = ci ? calloc(1, sizeof *k) : NULL;
    /* Out of memory: this one connection goes without a deadline (the idle timeout
     * still holds). */
    if (!k) return;
    k->fd = ci->connect_fd;
    k->start_ms = mono_ms();
    pthread_mutex_lock(&h->reaper.mu);
    k->next = h->conns;
    if (h->conns) h->conns->prev = k;
    h->conns = k;
    pthread_mutex_unlock(&h->reaper.mu);
    *socket_context = k;
    return;
  }
  conn_clock *k = *socket_context;
  if (!k) return;
  pthread_mutex_lock(&h->reaper.mu);
  if (k->prev) k->prev->next = k->next;
  else h->conns = k->next;
  if (k->next) k->next->prev = k->prev;
  pthread_mutex_unlock(&h->reaper.mu);
  OPENSSL_cleanse(k->tok, sizeof k->tok);
  free(k);
  *socket_context = NULL;
}

/* A request ended (answered, or failed): the connection's next request gets a full
 * deadline of its own. */
static void restart_clock(logd_http *h, struct MHD_Connection *c) {
  const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  conn_clock *k = ci ? ci->socket_context : NULL;
  if (!k) return;
  pthread_mutex_lock(&h->reaper.mu);
  k->start_ms = mono_ms();
  pthread_mutex_unlock(&h->reaper.mu);
}

static void *reaper_main(void *arg) {
  logd_http *h = arg;
  uint64_t limit = (uint64_t)h->cfg.deadline_s * 1000;
  pthread_mutex_lock(&h->reaper.mu);
  while (!h->reaper.stopping) {
    uint64_t now = mono_ms();
    for (conn_clock *k = h->conns; k; k = k->next) {
      if (k->cut || now - k->start_ms <= limit) continue;
      /* shutdown, not close: MHD owns the descriptor; it sees the end of the
       * stream and closes the connection itself. */
      shutdown(k->fd, SHUT_RDWR);
      k->cut = 1;
      atomic_fetch_add(&h->deadline_cuts, 1);
      xt_log("logd", "http: cut off a connection whose request did not complete within %u s "
             "(--request-deadline)", h->cfg.deadline_s);
    }
    /* A quarter of a second of slack on a deadline of whole seconds. */
    struct timespec ts;
    worker_deadline(&ts, 250);
    pthread_cond_timedwait(&h->reaper.cv, &h->reaper.mu, &ts);
  }
  worker_finished(&h->reaper);
  pthread_mutex_unlock(&h->reaper.mu);
  return NULL;
}

const char *http_err_str(http_err e) {
  switch (e) {
  case HTTP_OK: return "ok";
  case HTTP_EINVAL: return "malformed listen address";
  case HTTP_ERESOLVE: return "cannot resolve the listen host";
  case HTTP_EBIND: return "cannot bind or listen";
  }
  return "unknown HTTP error";
}

http_err http_parse_listen(const char *listen, char *host, size_t hostcap, unsigned *port) {
  const char *colon = listen ? strrchr(listen, ':') : NULL;
  uint64_t p;
  if (!colon || colon == listen || parse_u64(colon + 1, 65535, &p)) return HTTP_EINVAL;
  size_t hl = (size_t)(colon - listen);
  if (listen[0] == '[') {
    if (hl < 3 || listen[hl - 1] != ']') return HTTP_EINVAL;
    listen++;
    hl -= 2;
  }
  if (hl >= hostcap) return HTTP_EINVAL;
  memcpy(host, listen, hl);
  host[hl] = 0;
  *port = (unsigned)p;
  return HTTP_OK;
}

http_err http_bind(const char *host, unsigned port, int *fd_out, unsigned *bound, char *err,
                   size_t errcap) {
  struct addrinfo hints, *ai = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  char ps[8];
  snprintf(ps, sizeof ps, "%u", port);
  int gai = getaddrinfo(host, ps, &hints, &ai);
  if (gai || !ai) {
    xt_errf(err, errcap, "--listen: cannot resolve '%s': %s", host, gai_strerror(gai));
    return HTTP_ERESOLVE;
  }
  int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  int one = 1;
  /* As MHD does for sockets it opens itself: a restart may bind while old
   * connections are in TIME_WAIT. */
  int ok = fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0 &&
           (ai->ai_family != AF_INET6 ||
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) == 0) &&
           bind(fd, ai->ai_addr, ai->ai_addrlen) == 0;
  int e = errno;
  freeaddrinfo(ai);
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  socklen_t sl = sizeof ss;
  if (ok && getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) ok = 0, e = errno;
  if (!ok) {
    xt_errf(err, errcap, "cannot listen on %s port %u: %s", host, port,
             e == EADDRINUSE ? "the address is already in use" : strerror(e));
    if (fd >= 0) close(fd);
    return HTTP_EBIND;
  }
  *bound = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                          : ((struct sockaddr_in *)&ss)->sin_port);
  *fd_out = fd;
  return HTTP_OK;
}

http_err http_listen(int fd, const char *listen_arg, char *err, size_t errcap) {
  if (listen(fd, 1024) == 0) return HTTP_OK;
  xt_errf(err, errcap, "cannot listen on %s: %s", listen_arg, strerror(errno));
  return HTTP_EBIND;
}

logd_http *http_start(const http_config *cfg, char *err, size_t errcap) {
  logd_http *h = calloc(1, sizeof *h);
  if (!h) {
    xt_errf(err, errcap, "out of memory");
    close(cfg->listen_fd);
    return NULL;
  }
  h->cfg = *cfg;
  h->port = cfg->port;
  /* 4,096 hash tiles' worth; a miss (or no cache) reads the store as before. */
  h->tiles = tilecache_new(32u << 20);
  worker_init(&h->reaper);
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_TURBO | MHD_ALLOW_SUSPEND_RESUME |
                   MHD_USE_ERROR_LOG;
  h->d = MHD_start_daemon(flags, 0, NULL, NULL, handler, h,
                          MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
                          MHD_OPTION_LISTEN_SOCKET, (MHD_socket)cfg->listen_fd,
                          MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(cfg->threads ? cfg->threads : 2),
                          MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->max_connections,
                          MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->timeout_s,
                          MHD_OPTION_NOTIFY_COMPLETED, completed, h,
                          MHD_OPTION_NOTIFY_CONNECTION, notify_connection, h,
                          /* Per-connection buffer: headers (well under 16 KiB) and body
                           * chunks; MHD clears it for every request. */
                          MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16384,
                          MHD_OPTION_END);
  if (!h->d) {
    xt_errf(err, errcap, "cannot start the HTTP server on %s", cfg->listen);
    close(cfg->listen_fd);
    tilecache_free(h->tiles);
    worker_destroy(&h->reaper);
    free(h);
    return NULL;
  }
  if (cfg->deadline_s) {
    if (worker_start(&h->reaper, reaper_main, h)) {
      xt_errf(err, errcap, "cannot start the request-deadline thread");
      http_stop(h);
      return NULL;
    }
  }
  return h;
}

unsigned http_port(const logd_http *h) { return h->port; }

void http_quiesce(logd_http *h) {
  if (h && h->d) {
    MHD_socket s = MHD_quiesce_daemon(h->d);
    if (s != MHD_INVALID_SOCKET) close(s);
  }
}

void http_stop(logd_http *h) {
  if (!h) return;
  /* The reaper never blocks on I/O: it leaves its loop within one 250 ms wait. */
  (void)worker_stop(&h->reaper, 5000);
  /* Stopping closes every connection, which unregisters each from the deadline list. */
  if (h->d) MHD_stop_daemon(h->d);
  tilecache_free(h->tiles);
  worker_destroy(&h->reaper);
  free(h);
}
