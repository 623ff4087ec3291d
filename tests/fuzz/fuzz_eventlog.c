/* Fuzz target: dstack event logs (parse, replay with runtime-digest checks, app
 * identity) from untrusted bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dstack/eventlog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size ? size : 1);
  if (!text) return 0;
  memcpy(text, data, size);
  char err[256];
  dstack_event_log log;
  if (dstack_event_log_parse(&log, text, size, err, sizeof err) == 0) {
    uint8_t rtmr[4][48];
    dstack_app_identity id;
    dstack_event_log_replay(&log, rtmr, err, sizeof err);
    dstack_event_log_identity(&log, &id, err, sizeof err);
    dstack_event_log_free(&log);
  }
  free(text);
  return 0;
}
