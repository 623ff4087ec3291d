/* entryscan.c: strict single-pass JSON scanning of log entries. */
#include "client/entryscan.h"

#include <string.h>
#include <strings.h>

typedef struct scanner {
  const uint8_t *p, *end;
  entry_scan *s;
} scanner;

/* Which field a key names, or -1: by length first, so most keys cost one compare. */
static int field_of(scan_str k) {
  switch (k.n) {
  case 4:
    if (!memcmp(k.p, "type", 4)) return SF_TYPE;
    if (!memcmp(k.p, "user", 4)) return SF_USER;
    if (!memcmp(k.p, "path", 4)) return SF_PATH;
    if (!memcmp(k.p, "host", 4)) return SF_HOST;
    return -1;
  case 5: return memcmp(k.p, "phase", 5) ? -1 : SF_PHASE;
  case 6: return memcmp(k.p, "method", 6) ? -1 : SF_METHOD;
  case 7:
    if (!memcmp(k.p, "call_id", 7)) return SF_CALL_ID;
    if (!memcmp(k.p, "version", 7)) return SF_VERSION;
    return -1;
  case 8: return memcmp(k.p, "endpoint", 8) ? -1 : SF_ENDPOINT;
  case 9: return memcmp(k.p, "component", 9) ? -1 : SF_COMPONENT;
  case 11: return memcmp(k.p, "instance_id", 11) ? -1 : SF_INSTANCE_ID;
  case 12: return memcmp(k.p, "compose_hash", 12) ? -1 : SF_COMPOSE_HASH;
  default: return -1;
  }
}

/* SWAR: a word's bytes that are '"', '\\' or below 0x20 (the bytes a string scan
 * must stop at) give a non-zero result. */
#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)
static inline uint64_t has_zero(uint64_t v) { return (v - ONES) & ~v & HIGHS; }
static inline uint64_t string_stop(uint64_t w) {
  return has_zero(w ^ (ONES * '"')) | has_zero(w ^ (ONES * '\\')) | ((w - ONES * 0x20) & ~w & HIGHS);
}


static void skip_ws(scanner *sc) {
  while (sc->p < sc->end && (*sc->p == ' ' || *sc->p == '\t' || *sc->p == '\n' || *sc->p == '\r')) sc->p++;
}

static int hexdig(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') return (c | 0x20) - 'a' + 10;
  return -1;
}

/* Appends a code point as UTF-8 to the decode buffer (0 on success). */
static int put_utf8(entry_scan *s, unsigned cp) {
  uint8_t b[4];
  size_t n;
  if (cp < 0x80) b[0] = (uint8_t)cp, n = 1;
  else if (cp < 0x800) b[0] = (uint8_t)(0xc0 | cp >> 6), b[1] = (uint8_t)(0x80 | (cp & 0x3f)), n = 2;
  else if (cp < 0x10000)
    b[0] = (uint8_t)(0xe0 | cp >> 12), b[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f)),
    b[2] = (uint8_t)(0x80 | (cp & 0x3f)), n = 3;
  else
    b[0] = (uint8_t)(0xf0 | cp >> 18), b[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f)),
    b[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f)), b[3] = (uint8_t)(0x80 | (cp & 0x3f)), n = 4;
  if (sizeof s->buf - s->buf_used < n) return -1;
  memcpy(s->buf + s->buf_used, b, n);
  s->buf_used += n;
  return 0;
}

/* The rest of a string that has escapes (or is malformed): p is at the first
 * backslash or control byte; decodes the whole string when out is wanted. Kept out
 * of line so the common case stays small. */
__attribute__((noinline)) static int scan_string_slow(scanner *sc, const uint8_t *start, const uint8_t *p,
                                                      scan_str *out) {
  const uint8_t *end = sc->end;
  entry_scan *s = sc->s;
  size_t begin = s->buf_used;
  bool fits = true;
  if (out && (size_t)(p - start) <= sizeof s->buf - s->buf_used) {
    memcpy(s->buf + s->buf_used, start, (size_t)(p - start));
    s->buf_used += (size_t)(p - start);
  } else {
    fits = false;
  }
  while (p < end && *p != '"') {
    if (*p < 0x20) return -1;
    if (*p != '\\') {
      if (out && fits) {
        if (s->buf_used == sizeof s->buf) fits = false;
        else s->buf[s->buf_used++] = (char)*p;
      }
      p++;
      continue;
    }
    if (end - p < 2) return -1;
    unsigned cp;
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
      if (end - p < 6) return -1;
      int a = hexdig(p[2]), b = hexdig(p[3]), c = hexdig(p[4]), d = hexdig(p[5]);
      if (a < 0 || b < 0 || c < 0 || d < 0) return -1;
      cp = (unsigned)(a << 12 | b << 8 | c << 4 | d);
      p += 4;
      if (cp >= 0xd800 && cp < 0xdc00) { /* a high surrogate needs its low half */
        if (end - p < 8 || p[2] != '\\' || p[3] != 'u') return -1;
        int e = hexdig(p[4]), f = hexdig(p[5]), g = hexdig(p[6]), h = hexdig(p[7]);
        if (e < 0 || f < 0 || g < 0 || h < 0) return -1;
        unsigned lo = (unsigned)(e << 12 | f << 8 | g << 4 | h);
        if (lo < 0xdc00 || lo >= 0xe000) return -1;
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        p += 6;
      } else if (cp >= 0xdc00 && cp < 0xe000) {
        return -1;
      }
      break;
    }
    default: return -1;
    }
    if (out && fits && put_utf8(s, cp)) fits = false;
    p += 2;
  }
  if (p >= end) return -1;
  sc->p = p + 1;
  if (out) {
    if (fits) out->p = s->buf + begin, out->n = s->buf_used - begin;
    else out->p = NULL, s->buf_used = begin; /* too long to keep: treated as absent */
  }
  return 0;
}


/* Scans a string (at the opening quote). out (may be NULL) receives its value: a slice
 * of the input when it has no escapes, else the decoded copy. */
static inline int scan_string(scanner *sc, scan_str *out) {
  const uint8_t *p = sc->p + 1, *end = sc->end;
  const uint8_t *start = p;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  /* Eight bytes at a time; the lowest flagged byte is always a real stop. */
  while (end - p >= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    uint64_t m = string_stop(w);
    if (m) {
      p += __builtin_ctzll(m) >> 3;
      goto found;
    }
    p += 8;
  }
#endif
  while (p < end && *p != '"' && *p != '\\' && *p >= 0x20) p++;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
found:
#endif
  if (p < end && *p == '"') {
    if (out) out->p = (const char *)start, out->n = (size_t)(p - start);
    sc->p = p + 1;
    return 0;
  }
  return scan_string_slow(sc, start, p, out);
}

static int scan_number(scanner *sc) {
  const uint8_t *p = sc->p, *end = sc->end;
  if (p < end && *p == '-') p++;
  if (p >= end) return -1;
  if (*p == '0') p++;
  else if (*p >= '1' && *p <= '9') while (p < end && *p >= '0' && *p <= '9') p++;
  else return -1;
  if (p < end && *p == '.') {
    p++;
    if (p >= end || *p < '0' || *p > '9') return -1;
    while (p < end && *p >= '0' && *p <= '9') p++;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    p++;
    if (p < end && (*p == '+' || *p == '-')) p++;
    if (p >= end || *p < '0' || *p > '9') return -1;
    while (p < end && *p >= '0' && *p <= '9') p++;
  }
  sc->p = p;
  return 0;
}

static int scan_literal(scanner *sc, const char *lit, size_t n) {
  if ((size_t)(sc->end - sc->p) < n || memcmp(sc->p, lit, n)) return -1;
  sc->p += n;
  return 0;
}

/* role: 0 anything, 1 the top-level object, 2 the event object. out: where a string
 * value goes (NULL: not kept). */
static int scan_value(scanner *sc, int depth, int role, scan_str *out);

static int scan_object(scanner *sc, int depth, int role) {
  sc->p++; /* '{' */
  skip_ws(sc);
  if (sc->p < sc->end && *sc->p == '}') {
    sc->p++;
    return 0;
  }
  /* Keys the audit reads may appear once: logd writes canonical JSON, which has no
   * duplicate keys, and two readers of a duplicate disagree on which one counts
   * (jansson keeps the last), so such an entry is malformed. */
  uint32_t seen = 0;
  for (;;) {
    skip_ws(sc);
    if (sc->p >= sc->end || *sc->p != '"') return -1;
    scan_str key = {0};
    size_t mark = sc->s->buf_used;
    if (scan_string(sc, &key)) return -1;
    skip_ws(sc);
    if (sc->p >= sc->end || *sc->p != ':') return -1;
    sc->p++;
    skip_ws(sc);
    int child_role = 0;
    scan_str *dst = NULL;
    uint32_t bit = 0;
    if (role == 1) {
      if (scan_eq(key, "event")) child_role = 2, bit = 1;
      else if (scan_eq(key, "submitter")) dst = &sc->s->submitter, bit = 2;
    } else if (role == 2) {
      int fi = field_of(key);
      if (fi >= 0) dst = &sc->s->f[fi], bit = UINT32_C(1) << fi;
    }
    sc->s->buf_used = mark; /* the key's decoded copy is no longer needed */
    if (seen & bit) return -1;
    seen |= bit;
    if (child_role == 2) {
      if (sc->p < sc->end && *sc->p == '{') {
        if (scan_object(sc, depth + 1, 2)) return -1;
        sc->s->has_event = true;
      } else if (scan_value(sc, depth + 1, 0, NULL)) {
        return -1;
      }
    } else if (scan_value(sc, depth + 1, 0, dst)) {
      return -1;
    }
    skip_ws(sc);
    if (sc->p >= sc->end) return -1;
    if (*sc->p == ',') {
      sc->p++;
      continue;
    }
    if (*sc->p == '}') {
      sc->p++;
      return 0;
    }
    return -1;
  }
}

static int scan_value(scanner *sc, int depth, int role, scan_str *out) {
  if (depth > 64) return -1;
  skip_ws(sc);
  if (sc->p >= sc->end) return -1;
  switch (*sc->p) {
  case '{': return scan_object(sc, depth, role);
  case '[':
    sc->p++;
    skip_ws(sc);
    if (sc->p < sc->end && *sc->p == ']') {
      sc->p++;
      return 0;
    }
    for (;;) {
      if (scan_value(sc, depth + 1, 0, NULL)) return -1;
      skip_ws(sc);
      if (sc->p >= sc->end) return -1;
      if (*sc->p == ',') {
        sc->p++;
        continue;
      }
      if (*sc->p == ']') {
        sc->p++;
        return 0;
      }
      return -1;
    }
  case '"': return scan_string(sc, out);
  case 't': return scan_literal(sc, "true", 4);
  case 'f': return scan_literal(sc, "false", 5);
  case 'n': return scan_literal(sc, "null", 4);
  default: return scan_number(sc);
  }
}

static inline bool dm_at(const uint8_t *d, size_t n, size_t i) {
  if (i < 6 || i + 7 > n || (d[i + 1] | 0x20) != 'e' || strncasecmp((const char *)d + i, "message", 7)) return false;
  if (!strncasecmp((const char *)d + i - 6, "direct", 6)) return true;
  return i >= 7 && !strncasecmp((const char *)d + i - 7, "direct", 6);
}

bool entry_names_dm(const uint8_t *d, size_t n) {
  /* Anchor on the 'g' of "message" (rare in entries: not a hex digit, in no field
   * name the collector writes), then check "message" around it and "direct" ending
   * 0 or 1 bytes before. */
  size_t i = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    memcpy(&w, d + i, 8);
    uint64_t m = has_zero((w | ONES * 0x20) ^ (ONES * 'g'));
    while (m) {
      size_t k = i + ((size_t)__builtin_ctzll(m) >> 3);
      if ((d[k] | 0x20) == 'g' && k >= 5 && dm_at(d, n, k - 5)) return true;
      m &= m - 1;
    }
  }
#endif
  for (; i < n; i++)
    if ((d[i] | 0x20) == 'g' && i >= 5 && dm_at(d, n, i - 5)) return true;
  return false;
}

void entry_scan_run(entry_scan *s, const uint8_t *data, size_t len) {
  s->json_ok = false;
  s->has_event = false;
  s->submitter = (scan_str){0};
  for (int i = 0; i < SF_COUNT; i++) s->f[i] = (scan_str){0};
  s->buf_used = 0;
  s->names_dm = entry_names_dm(data, len);
  scanner sc = {data, data + len, s};
  skip_ws(&sc);
  if (sc.p >= sc.end || *sc.p != '{') return;
  if (scan_object(&sc, 0, 1)) {
    s->has_event = false;
    return;
  }
  skip_ws(&sc);
  s->json_ok = sc.p == sc.end;
}
