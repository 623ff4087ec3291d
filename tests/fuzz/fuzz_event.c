/* Fuzz target: event validation and canonicalization (logd/event.h) must never crash;
 * what it accepts is a fixed point (canonicalizing the canonical form gives the same
 * bytes), and the wrapped entry logd stores by concatenation is exactly what jansson
 * prints for that object with JSON_COMPACT | JSON_SORT_KEYS. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "logd/event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char err[300];
  event_list l;
  int batch = size > 0 && data[0] == '[';
  int rc = batch ? event_parse_batch((const char *)data, size, 1000, &l, err, sizeof err)
                 : event_parse_one((const char *)data, size, &l, err, sizeof err);
  if (rc) {
    if (!err[0]) abort();
    return 0;
  }
  for (size_t i = 0; i < l.count; i++) {
    event_list again;
    if (event_parse_one(l.canon[i], l.canon_len[i], &again, err, sizeof err)) abort();
    if (again.canon_len[0] != l.canon_len[i] || memcmp(again.canon[0], l.canon[i], l.canon_len[i])) abort();
    event_list_free(&again);
    size_t n = event_entry_len(l.canon_len[i], "archive", 1767225600123ull);
    char *entry = malloc(n + 1);
    if (!entry) abort();
    if (event_entry_build(entry, n, l.canon[i], l.canon_len[i], "archive", 1767225600123ull) != n) abort();
    json_t *j = json_loadb(entry, n, JSON_REJECT_DUPLICATES, NULL);
    if (!j) abort();
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    if (!s || strlen(s) != n || memcmp(s, entry, n)) abort();
    free(s);
    json_decref(j);
    free(entry);
  }
  event_list_free(&l);
  return 0;
}
