/* Fuzz target: event_entry_split (logd/event.h), which logd --restore-from runs on
 * entries read from a mirror, must never crash, and what it accepts must be exactly the
 * entry event_entry_build makes of its parts, with a valid submitter name. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "logd/event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *canon;
  size_t clen;
  char name[EVENT_SUBMITTER_MAX + 1];
  uint64_t ts;
  if (event_entry_split((const char *)data, size, &canon, &clen, name, sizeof name, &ts)) return 0;
  if (canon < (const char *)data || canon + clen > (const char *)data + size) abort();
  if (!event_submitter_valid(name)) abort();
  size_t n = event_entry_len(clen, name, ts);
  char *again = malloc(n ? n : 1);
  if (!again) abort();
  if (n != size || event_entry_build(again, n, canon, clen, name, ts) != n || memcmp(again, data, n)) abort();
  free(again);
  return 0;
}
