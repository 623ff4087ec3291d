/* Differential fuzz target: logd's one-pass canonicalizer (event_parse_one/_batch)
 * against the jansson reference (event_parse_one_ref/_batch_ref: json_loadb, the
 * checks, json_dumps with JSON_COMPACT | JSON_SORT_KEYS). Entries are stored forever,
 * so any difference aborts: accept or refuse, the refusal's words, the number of events,
 * or one byte of a canonical form. Each input runs as one event and as a batch, with a
 * generous and a tight event limit. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logd/event.h"

static void differ(const char *what, const uint8_t *data, size_t size, const event_list *a,
                   const event_list *b, const char *ea, const char *eb) {
  fprintf(stderr, "fuzz-event-diff: %s\ninput (%zu bytes): %.*s\n", what, size, (int)size, (const char *)data);
  fprintf(stderr, "one-pass: %s\njansson:  %s\n", a ? "accepted" : ea, b ? "accepted" : eb);
  for (size_t i = 0; a && b && i < a->count && i < b->count; i++)
    fprintf(stderr, "event %zu:\n  one-pass %s\n  jansson  %s\n", i, a->canon[i], b->canon[i]);
  abort();
}

static void compare(const uint8_t *data, size_t size, int batch, size_t max) {
  char ea[400] = "", eb[400] = "";
  event_list a, b;
  const char *s = (const char *)data;
  event_err ra = batch ? event_parse_batch(s, size, max, &a, ea, sizeof ea) : event_parse_one(s, size, &a, ea, sizeof ea);
  event_err rb = batch ? event_parse_batch_ref(s, size, max, &b, eb, sizeof eb) : event_parse_one_ref(s, size, &b, eb, sizeof eb);
  if (ra == EVENT_ENOMEM || rb == EVENT_ENOMEM) abort();
  if (ra != rb) differ("accept/refuse", data, size, ra ? NULL : &a, rb ? NULL : &b, ea, eb);
  if (ra) {
    if (!ea[0] || strcmp(ea, eb)) differ("refusal words", data, size, NULL, NULL, ea, eb);
    return;
  }
  if (a.count != b.count) differ("event count", data, size, &a, &b, ea, eb);
  for (size_t i = 0; i < a.count; i++)
    if (a.canon_len[i] != b.canon_len[i] || memcmp(a.canon[i], b.canon[i], a.canon_len[i]) ||
        a.canon[i][a.canon_len[i]] != 0 || strlen(a.canon[i]) != a.canon_len[i])
      differ("canonical bytes", data, size, &a, &b, ea, eb);
  event_list_free(&a);
  event_list_free(&b);
}

/* Random bytes are rarely an event, so each input also drives a generator of nearly
 * valid batches built from the pieces where canonical forms differ: escapes, code
 * points, keys equal once unescaped or sharing prefixes, integer bounds, -0, reals,
 * deep nesting, white space. */
typedef struct {
  const uint8_t *d;
  size_t n, i;
  char *o;
  size_t on, ocap;
} gen;

static unsigned take(gen *g) { return g->i < g->n ? g->d[g->i++] : 0; }

static void emit(gen *g, const char *s) {
  size_t k = strlen(s);
  if (g->on + k < g->ocap) memcpy(g->o + g->on, s, k), g->on += k;
}

static const char *const pieces[] = {
    "a", "b", "ab", "type", "x", "\\u0061", "\\\"", "\\\\", "\\/", "/", "\\n", "\\b", "\\u0001",
    "\\u001f", "\\u001F", "\\u007f", "\x7f", "\xc3\xa9", "\\u00e9", "\\u00E9", "\xe2\x82\xac", "\\u20ac",
    "\xf0\x9f\x98\x80", "\\ud83d\\ude00", "\\uD83D\\uDE00", "\\ud83d", "\\u0000", "\\t", "\\r",
    "\\f", "\\u0022", "\\u005c", "\xc0\xaf", "\xed\xa0\x80", "\x1f", " ", "\\uffff", "\xef\xbf\xbf"};
static const char *const numbers[] = {"0", "-0", "1", "-1", "12", "9223372036854775807", "-9223372036854775808",
                                      "9223372036854775808", "-9223372036854775809", "01", "1.0", "1e2", "-",
                                      "123456789012345678901234567890", "-0.0", "1E+2"};

static void gen_ws(gen *g) {
  unsigned b = take(g);
  if (b % 7 == 0) emit(g, (const char *[]){" ", "\n", "\t", "\r", "  ", "\f"}[(b / 7) % 6]);
}

static void gen_string(gen *g) {
  emit(g, "\"");
  unsigned k = take(g) % 4;
  for (unsigned i = 0; i < k; i++) emit(g, pieces[take(g) % (sizeof pieces / sizeof *pieces)]);
  emit(g, "\"");
}

static void gen_value(gen *g, int depth);

static void gen_object(gen *g, int depth, int event) {
  emit(g, "{");
  /* Now and then more members than the insertion sort takes (16). */
  unsigned k = take(g);
  k = k & 0x80 ? k % 24 : k % 6;
  if (event) {
    gen_ws(g);
    emit(g, take(g) % 16 ? "\"type\":\"ev\"" : "\"typ\\u0065\":\"e.v_1\"");
  }
  for (unsigned i = 0; i < k; i++) {
    if (i || event) emit(g, ",");
    gen_ws(g);
    gen_string(g);
    gen_ws(g);
    emit(g, ":");
    gen_value(g, depth + 1);
  }
  gen_ws(g);
  emit(g, "}");
}

static void gen_value(gen *g, int depth) {
  gen_ws(g);
  unsigned b = take(g);
  if (depth > 34 || g->i >= g->n) b = 0;
  switch (b % 9) {
  case 0: case 1: gen_string(g); break;
  case 2: case 3: emit(g, numbers[take(g) % (sizeof numbers / sizeof *numbers)]); break;
  case 4: emit(g, (const char *[]){"true", "false", "null"}[take(g) % 3]); break;
  case 5: case 6: gen_object(g, depth, 0); break;
  default: {
    emit(g, "[");
    unsigned k = take(g) % 4;
    for (unsigned i = 0; i < k; i++) {
      if (i) emit(g, ",");
      gen_value(g, depth + 1);
    }
    emit(g, "]");
  }
  }
  gen_ws(g);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  compare(data, size, 0, 1);
  compare(data, size, 1, 1000);
  compare(data, size, 1, 2);
  char buf[8192];
  gen g = {.d = data, .n = size, .o = buf, .ocap = sizeof buf};
  gen_object(&g, 1, 1);
  compare((const uint8_t *)buf, g.on, 0, 1);
  g.on = 0;
  emit(&g, "[");
  for (int e = 0; e < 3 && g.i < g.n; e++) {
    if (e) emit(&g, ",");
    gen_object(&g, 1, 1);
  }
  emit(&g, "]");
  compare((const uint8_t *)buf, g.on, 1, 1000);
  return 0;
}
