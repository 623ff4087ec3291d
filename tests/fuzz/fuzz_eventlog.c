/* Fuzz target: dstack event logs (parse, replay with runtime-digest checks, app
 * identity) from untrusted bytes, in every form dstack has sent (digests given, runtime
 * digests stripped, event log version 2 with preimages). Oracle: every version-2
 * preimage we form must read back, as JSON, to the event's own name and payload, and
 * MRCONFIGID decoding must accept any 48 bytes. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/hex.h"
#include "dstack/eventlog.h"

static void check_v2_preimage(const dstack_event *ev) {
  uint8_t *pre = NULL;
  size_t len = 0;
  if (dstack_runtime_event_preimage(DSTACK_EVENT_V2, ev->event, ev->payload, ev->payload_len,
                                    &pre, &len) != DSTACK_OK)
    return;
  json_t *o = json_loadb((const char *)pre, len, 0, NULL);
  const char *name = json_string_value(json_object_get(o, "name"));
  const char *hex = json_string_value(json_object_get(o, "payload"));
  char *want = malloc(2 * ev->payload_len + 1);
  if (want) xt_hex_encode(ev->payload, ev->payload_len, want);
  if (!name || strcmp(name, ev->event) != 0 || !hex || (want && strcmp(hex, want) != 0) ||
      json_integer_value(json_object_get(o, "type")) != DSTACK_RUNTIME_EVENT_TYPE)
    abort();
  free(want);
  json_decref(o);
  free(pre);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size >= 48) {
    dstack_mr_config mc;
    dstack_mr_config_decode(data, &mc);
    if (mc.version < -1 || mc.version > 3) abort();
  }
  char *text = malloc(size ? size : 1);
  if (!text) return 0;
  memcpy(text, data, size);
  char err[256];
  dstack_event_log log;
  if (dstack_event_log_parse(&log, text, size, err, sizeof err) == DSTACK_OK) {
    uint8_t rtmr[4][48];
    dstack_app_identity id;
    for (size_t i = 0; i < log.n; i++)
      if (log.events[i].event_type == DSTACK_RUNTIME_EVENT_TYPE) check_v2_preimage(&log.events[i]);
    if (dstack_event_log_replay(&log, rtmr, err, sizeof err) == DSTACK_OK &&
        dstack_event_log_identity(&log, &id, err, sizeof err) == DSTACK_OK &&
        (strlen(id.key_provider_name) >= sizeof id.key_provider_name || !memchr(id.storage_fs, 0, sizeof id.storage_fs)))
      abort();
  }
  dstack_event_log_free(&log);
  free(text);
  return 0;
}
