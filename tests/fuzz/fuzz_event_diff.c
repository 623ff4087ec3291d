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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  compare(data, size, 0, 1);
  compare(data, size, 1, 1000);
  compare(data, size, 1, 2);
  return 0;
}
