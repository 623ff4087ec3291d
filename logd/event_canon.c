/* event_canon.c: the one-pass canonicalizer.
 *
 * It reads the request bytes once and writes each event's canonical form straight into
 * the list's block: what jansson (2.14) accepts with JSON_REJECT_DUPLICATES, under the
 * checks of event_ref.c, written as json_dumps(JSON_COMPACT | JSON_SORT_KEYS) writes it:
 * - strict UTF-8 (no overlong forms, surrogates or code points past U+10FFFF), no raw
 *   control characters in strings, \u escapes paired into one code point, no NUL;
 * - out, only '"', '\\' and characters below U+0020 are escaped: \b \f \n \r \t, else
 *   \u00XX in upper case; '/' and everything else as UTF-8;
 * - integers within json_int_t (int64), no leading zeros, -0 written 0; any '.', 'e'
 *   or 'E' makes a real (or a syntax error): refused either way;
 * - members sorted by their unescaped key bytes (memcmp, then the shorter first),
 *   keys equal once unescaped are duplicates.
 * Canonical text is never longer than its source (whitespace goes, an escape never
 * grows), so the block gets len + 1 bytes of text; every write still checks it.
 * Members are written in source order and, when that is not sorted, rearranged once
 * the object closes; nested objects are finished (and sorted) before their parent. */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "logd/event.h"
#include "logd/event_int.h"

typedef struct {
  size_t at, len;   /* the member's "key":value in out */
  size_t kat, klen; /* its unescaped key: in out (kesc 0) or in keys (kesc 1) */
  int kesc;
  const char *k;    /* resolved from kat when its object closes */
} cmember;

typedef struct {
  const unsigned char *p, *end;
  char *out;
  size_t n, cap;
  cmember *m, inline_m[64];
  size_t mn, mcap;
  char *keys; /* unescaped keys that had escapes; offsets, so it may grow */
  size_t kn, kcap;
  char *scratch; /* a reordered object's members */
  size_t scap;
} canon_ctx;

static inline int put(canon_ctx *c, const void *s, size_t k) {
  if (k > c->cap - c->n) return CANON_BAD; /* cannot happen (see above); never overrun */
  memcpy(c->out + c->n, s, k);
  c->n += k;
  return CANON_OK;
}

static inline int put1(canon_ctx *c, char ch) {
  if (c->n >= c->cap) return CANON_BAD;
  c->out[c->n++] = ch;
  return CANON_OK;
}

static inline void skip_ws(canon_ctx *c) {
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

/* Length of the valid UTF-8 sequence at p (lead byte >= 0x80), or 0: utf.c's rules. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *e) {
  unsigned u = p[0];
  size_t n;
  uint32_t v;
  if (u >= 0xC2 && u <= 0xDF) n = 2, v = u & 0x1F;
  else if (u >= 0xE0 && u <= 0xEF) n = 3, v = u & 0x0F;
  else if (u >= 0xF0 && u <= 0xF4) n = 4, v = u & 0x07;
  else return 0;
  if ((size_t)(e - p) < n) return 0;
  for (size_t i = 1; i < n; i++) {
    if (p[i] < 0x80 || p[i] > 0xBF) return 0;
    v = (v << 6) | (p[i] & 0x3F);
  }
  if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF) || (n == 3 && v < 0x800) || (n == 4 && v < 0x10000))
    return 0;
  return n;
}

static int32_t hex4(const unsigned char *p, const unsigned char *e) {
  if (e - p < 4) return -1;
  int32_t v = 0;
  for (int i = 0; i < 4; i++) {
    unsigned ch = p[i], d;
    if (ch >= '0' && ch <= '9') d = ch - '0';
    else if (ch >= 'a' && ch <= 'f') d = ch - 'a' + 10;
    else if (ch >= 'A' && ch <= 'F') d = ch - 'A' + 10;
    else return -1;
    v = (v << 4) | (int32_t)d;
  }
  return v;
}

/* One code point from a \u escape, as json_dumps writes it. */
static int put_cp(canon_ctx *c, uint32_t cp) {
  static const char hex[] = "0123456789ABCDEF";
  char b[6];
  switch (cp) {
  case '"': return put(c, "\\\"", 2);
  case '\\': return put(c, "\\\\", 2);
  case '\b': return put(c, "\\b", 2);
  case '\f': return put(c, "\\f", 2);
  case '\n': return put(c, "\\n", 2);
  case '\r': return put(c, "\\r", 2);
  case '\t': return put(c, "\\t", 2);
  }
  if (cp < 0x20) {
    memcpy(b, "\\u00", 4);
    b[4] = hex[cp >> 4];
    b[5] = hex[cp & 15];
    return put(c, b, 6);
  }
  if (cp < 0x80) return put1(c, (char)cp);
  if (cp < 0x800) {
    b[0] = (char)(0xC0 | (cp >> 6));
    b[1] = (char)(0x80 | (cp & 0x3F));
    return put(c, b, 2);
  }
  if (cp < 0x10000) {
    b[0] = (char)(0xE0 | (cp >> 12));
    b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    b[2] = (char)(0x80 | (cp & 0x3F));
    return put(c, b, 3);
  }
  b[0] = (char)(0xF0 | (cp >> 18));
  b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  b[3] = (char)(0x80 | (cp & 0x3F));
  return put(c, b, 4);
}

/* The string at c->p (its opening quote), written with its quotes; *esc is set when
 * the written form holds a backslash (so it differs from the unescaped bytes). */
static int cstring(canon_ctx *c, int *esc) {
  const unsigned char *p = c->p + 1, *e = c->end;
  int r;
  *esc = 0;
  if ((r = put1(c, '"'))) return r;
  for (;;) {
    const unsigned char *run = p;
    while (p < e && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\') p++;
    if (p > run && (r = put(c, run, (size_t)(p - run)))) return r;
    if (p >= e) return CANON_BAD;
    unsigned ch = *p;
    if (ch == '"') break;
    if (ch < 0x20) return CANON_BAD;
    if (ch >= 0x80) {
      size_t k = utf8_seq(p, e);
      if (!k) return CANON_BAD;
      if ((r = put(c, p, k))) return r;
      p += k;
      continue;
    }
    if (e - p < 2) return CANON_BAD;
    uint32_t cp;
    switch (p[1]) {
    case '"': cp = '"'; break;
    case '\\': cp = '\\'; break;
    case '/': cp = '/'; break;
    case 'b': cp = '\b'; break;
    case 'f': cp = '\f'; break;
    case 'n': cp = '\n'; break;
    case 'r': cp = '\r'; break;
    case 't': cp = '\t'; break;
    case 'u': {
      int32_t v = hex4(p + 2, e);
      if (v < 0) return CANON_BAD;
      if (v >= 0xD800 && v <= 0xDBFF) {
        if (e - p < 12 || p[6] != '\\' || p[7] != 'u') return CANON_BAD;
        int32_t lo = hex4(p + 8, e);
        if (lo < 0xDC00 || lo > 0xDFFF) return CANON_BAD;
        v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00);
        p += 6;
      } else if (v >= 0xDC00 && v <= 0xDFFF) {
        return CANON_BAD;
      }
      if (v == 0) return CANON_BAD; /* NUL: jansson refuses it without JSON_ALLOW_NUL */
      cp = (uint32_t)v;
      p += 4; /* the 4 hex digits; the 2 of "\u" below */
      break;
    }
    default: return CANON_BAD;
    }
    p += 2;
    if (cp < 0x20 || cp == '"' || cp == '\\') *esc = 1;
    if ((r = put_cp(c, cp))) return r;
  }
  c->p = p + 1;
  return put1(c, '"');
}

static int is_digit(unsigned ch) { return ch >= '0' && ch <= '9'; }

static int cnumber(canon_ctx *c) {
  const unsigned char *s = c->p, *p = s, *e = c->end;
  int neg = *p == '-';
  if (neg) p++;
  const unsigned char *d = p;
  if (p >= e) return CANON_BAD;
  if (*p == '0') {
    p++;
    if (p < e && is_digit(*p)) return CANON_BAD;
  } else if (is_digit(*p)) {
    while (p < e && is_digit(*p)) p++;
  } else {
    return CANON_BAD;
  }
  if (p < e && (*p == '.' || *p == 'e' || *p == 'E')) return CANON_BAD; /* a real */
  size_t nd = (size_t)(p - d);
  if (nd > 19 || (nd == 19 && memcmp(d, neg ? "9223372036854775808" : "9223372036854775807", 19) > 0))
    return CANON_BAD; /* outside json_int_t: strtoll's ERANGE */
  c->p = p;
  if (neg && nd == 1 && *d == '0') return put1(c, '0');
  return put(c, s, (size_t)(p - s));
}

static int cvalue(canon_ctx *c, int depth);

static int member_push(canon_ctx *c, cmember *m) {
  if (c->mn == c->mcap) {
    size_t nc = c->mcap * 2;
    cmember *nm = c->m == c->inline_m ? malloc(nc * sizeof *nm) : realloc(c->m, nc * sizeof *nm);
    if (!nm) return CANON_NOMEM;
    if (c->m == c->inline_m) memcpy(nm, c->inline_m, sizeof c->inline_m);
    c->m = nm;
    c->mcap = nc;
  }
  c->m[c->mn++] = *m;
  return CANON_OK;
}

/* Unescapes the key written at out[at..at+len) (quotes excluded) into c->keys: the
 * inverse of put_cp's escapes, the only ones the written form holds. */
static int key_unescape(canon_ctx *c, cmember *m, size_t at, size_t len) {
  if (c->kcap - c->kn < len) {
    size_t nc = c->kcap ? c->kcap : 256;
    while (nc - c->kn < len) nc *= 2;
    char *nk = realloc(c->keys, nc);
    if (!nk) return CANON_NOMEM;
    c->keys = nk;
    c->kcap = nc;
  }
  const char *s = c->out + at, *e = s + len;
  char *o = c->keys + c->kn;
  m->kat = c->kn;
  while (s < e) {
    if (*s != '\\') {
      *o++ = *s++;
      continue;
    }
    switch (s[1]) {
    case 'b': *o++ = '\b'; break;
    case 'f': *o++ = '\f'; break;
    case 'n': *o++ = '\n'; break;
    case 'r': *o++ = '\r'; break;
    case 't': *o++ = '\t'; break;
    case 'u': *o++ = (char)(hex4((const unsigned char *)s + 2, (const unsigned char *)e)); s += 4; break;
    default: *o++ = s[1]; break; /* '"' or '\\' */
    }
    s += 2;
  }
  m->klen = (size_t)(o - (c->keys + c->kn));
  m->kesc = 1;
  c->kn += m->klen;
  return CANON_OK;
}

/* jansson's compare_keys: memcmp over the shorter, then the shorter first. */
static int key_cmp(const cmember *a, const cmember *b) {
  size_t n = a->klen < b->klen ? a->klen : b->klen;
  int r = memcmp(a->k, b->k, n);
  if (r) return r;
  return a->klen < b->klen ? -1 : a->klen > b->klen;
}

static int key_cmp_q(const void *a, const void *b) { return key_cmp(a, b); }

/* Sorts the members of the object whose '{' is at out[open], refusing duplicates, and
 * rewrites its members in that order when the source order differed. */
static int object_close(canon_ctx *c, size_t base, size_t open) {
  cmember *m = c->m + base;
  size_t n = c->mn - base;
  if (n < 2) return CANON_OK;
  for (size_t i = 0; i < n; i++) m[i].k = (m[i].kesc ? c->keys : c->out) + m[i].kat;
  int moved = 0;
  if (n <= 16) {
    /* Insertion sort: sorted input (the usual case) costs n-1 comparisons, and an equal
     * key is always met next to its twin. */
    for (size_t i = 1; i < n; i++) {
      cmember x = m[i];
      size_t j = i;
      for (; j > 0; j--) {
        int r = key_cmp(&m[j - 1], &x);
        if (r == 0) return CANON_BAD;
        if (r < 0) break;
        m[j] = m[j - 1];
      }
      if (j != i) m[j] = x, moved = 1;
    }
  } else {
    for (size_t i = 1; i < n && !moved; i++) moved = key_cmp(&m[i - 1], &m[i]) >= 0;
    if (moved) qsort(m, n, sizeof *m, key_cmp_q);
    for (size_t i = 1; i < n; i++)
      if (key_cmp(&m[i - 1], &m[i]) == 0) return CANON_BAD;
  }
  if (!moved) return CANON_OK;
  size_t span = c->n - (open + 1); /* the members and their commas */
  if (span > c->scap) {
    char *ns = realloc(c->scratch, span);
    if (!ns) return CANON_NOMEM;
    c->scratch = ns;
    c->scap = span;
  }
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    if (i) c->scratch[o++] = ',';
    memcpy(c->scratch + o, c->out + m[i].at, m[i].len);
    o += m[i].len;
  }
  if (o != span) return CANON_BAD;
  memcpy(c->out + open + 1, c->scratch, span);
  return CANON_OK;
}

static int type_ok(const char *v, size_t n) {
  if (n < 3 || n - 2 > EVENT_TYPE_MAX || v[0] != '"' || v[n - 1] != '"') return 0;
  for (size_t i = 1; i + 1 < n; i++) {
    char ch = v[i];
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '.')) return 0;
  }
  return 1;
}

/* The object at c->p; depth 1 is an event, which must hold a valid "type". A valid
 * type's written form is its bytes in quotes (nothing in [a-z0-9_.] is escaped) and
 * anything else written there fails the same test, so it is checked on the output. */
static int cobject(canon_ctx *c, int depth) {
  size_t open = c->n, base = c->mn, kbase = c->kn;
  int r, has_type = 0;
  if ((r = put1(c, '{'))) return r;
  c->p++;
  skip_ws(c);
  if (c->p < c->end && *c->p == '}') {
    c->p++;
  } else {
    for (;;) {
      if (c->p >= c->end || *c->p != '"') return CANON_BAD;
      cmember m = {.at = c->n};
      int esc;
      if ((r = cstring(c, &esc))) return r;
      m.kat = m.at + 1;
      m.klen = c->n - m.at - 2;
      if (esc && (r = key_unescape(c, &m, m.kat, m.klen))) return r;
      skip_ws(c);
      if (c->p >= c->end || *c->p != ':') return CANON_BAD;
      c->p++;
      if ((r = put1(c, ':'))) return r;
      size_t vat = c->n;
      if ((r = cvalue(c, depth + 1))) return r;
      if (depth == 1 && m.klen == 4 && !memcmp((m.kesc ? c->keys : c->out) + m.kat, "type", 4)) {
        if (!type_ok(c->out + vat, c->n - vat)) return CANON_BAD;
        has_type = 1;
      }
      m.len = c->n - m.at;
      if ((r = member_push(c, &m))) return r;
      skip_ws(c);
      if (c->p < c->end && *c->p == ',') {
        c->p++;
        skip_ws(c);
        if ((r = put1(c, ','))) return r;
        continue;
      }
      if (c->p < c->end && *c->p == '}') {
        c->p++;
        break;
      }
      return CANON_BAD;
    }
  }
  if (depth == 1 && !has_type) return CANON_BAD;
  if ((r = object_close(c, base, open))) return r;
  c->mn = base;
  c->kn = kbase;
  return put1(c, '}');
}

static int carray(canon_ctx *c, int depth) {
  int r;
  if ((r = put1(c, '['))) return r;
  c->p++;
  skip_ws(c);
  if (c->p < c->end && *c->p == ']') {
    c->p++;
    return put1(c, ']');
  }
  for (;;) {
    if ((r = cvalue(c, depth + 1))) return r;
    skip_ws(c);
    if (c->p < c->end && *c->p == ',') {
      c->p++;
      if ((r = put1(c, ','))) return r;
      continue;
    }
    if (c->p < c->end && *c->p == ']') {
      c->p++;
      return put1(c, ']');
    }
    return CANON_BAD;
  }
}

/* A value at depth (the event object is 1) after optional whitespace. */
static int cvalue(canon_ctx *c, int depth) {
  if (depth > EVENT_MAX_DEPTH) return CANON_BAD;
  skip_ws(c);
  if (c->p >= c->end) return CANON_BAD;
  size_t left = (size_t)(c->end - c->p);
  int esc;
  switch (*c->p) {
  case '{': return cobject(c, depth);
  case '[': return carray(c, depth);
  case '"': return cstring(c, &esc);
  case 't':
    if (left < 4 || memcmp(c->p, "true", 4)) return CANON_BAD;
    c->p += 4;
    return put(c, "true", 4);
  case 'f':
    if (left < 5 || memcmp(c->p, "false", 5)) return CANON_BAD;
    c->p += 5;
    return put(c, "false", 5);
  case 'n':
    if (left < 4 || memcmp(c->p, "null", 4)) return CANON_BAD;
    c->p += 4;
    return put(c, "null", 4);
  default: return cnumber(c);
  }
}

/* Canonicalizes body into a fresh block in *out (one event, or a batch of at most
 * max_events when batch): CANON_OK, CANON_BAD (refused: the caller asks the reference why) or
 * CANON_NOMEM. */
int event_canon_run(const char *body, size_t len, int batch, size_t max_events, event_list *out) {
  if (!body) body = "", len = 0;
  canon_ctx c = {.p = (const unsigned char *)body, .end = (const unsigned char *)body + len,
             .mcap = sizeof c.inline_m / sizeof c.inline_m[0]};
  c.m = c.inline_m;
  /* An event takes at least 12 bytes ({"type":"a"}), so no batch holds more. */
  size_t nmax = batch ? (len / 12 + 1 < max_events ? len / 12 + 1 : max_events) : 1;
  if (len == SIZE_MAX) return CANON_BAD;
  c.cap = len + 1;
  c.out = event_list_block(out, nmax, c.cap);
  if (!c.out) return CANON_NOMEM;
  int r = CANON_OK;
  skip_ws(&c);
  if (!batch) {
    if (c.p >= c.end || *c.p != '{') r = CANON_BAD;
    else if (!(r = cobject(&c, 1)) && !(r = put1(&c, 0))) {
      out->canon[0] = c.out;
      out->canon_len[0] = c.n - 1;
      out->count = 1;
    }
  } else if (c.p >= c.end || *c.p != '[') {
    r = CANON_BAD;
  } else {
    c.p++;
    for (;;) {
      skip_ws(&c);
      if (c.p >= c.end || *c.p != '{' || out->count == nmax) {
        r = CANON_BAD;
        break;
      }
      size_t at = c.n;
      if ((r = cobject(&c, 1)) || (r = put1(&c, 0))) break;
      out->canon[out->count] = c.out + at;
      out->canon_len[out->count] = c.n - at - 1;
      out->count++;
      skip_ws(&c);
      if (c.p < c.end && *c.p == ',') {
        c.p++;
        continue;
      }
      if (c.p < c.end && *c.p == ']') c.p++;
      else r = CANON_BAD;
      break;
    }
  }
  if (!r) {
    skip_ws(&c);
    if (c.p != c.end) r = CANON_BAD;
  }
  if (c.m != c.inline_m) free(c.m);
  free(c.keys);
  free(c.scratch);
  if (r) event_list_free(out);
  return r;
}
