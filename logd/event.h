/* event.h: validation and canonical bytes of submitted events (SPEC.md section 5).
 *
 * Contract: an event is a JSON object with a "type" string of 1-64 chars of
 * [a-z0-9_.]; values are strings, integers, booleans, null, arrays and objects nested
 * at most EVENT_MAX_DEPTH deep; reals and duplicate keys are rejected. Its canonical
 * form is jansson's JSON_COMPACT | JSON_SORT_KEYS output. logd stores it wrapped as
 * {"event":<canonical>,"submitter":"<name>","ts_ms":<ms>,"v":1}, which is exactly what
 * jansson would print for that object with the same flags.
 *
 * event_parse_one and event_parse_batch canonicalize in one pass over the request
 * bytes (no JSON tree); event_parse_one_ref and event_parse_batch_ref do the same with
 * jansson (json_loadb, the checks, json_dumps). The two accept exactly the same texts
 * and write exactly the same bytes (tests/fuzz/fuzz_event_diff.c holds them to it); the
 * one-pass functions word their refusals by asking the jansson ones why.
 *
 * Parsers return an event_err: EVENT_OK, or another value with a sentence for the
 * client in err (errcap bytes). */
#ifndef XT_LOGD_EVENT_H
#define XT_LOGD_EVENT_H

#include <stddef.h>
#include <stdint.h>

#define EVENT_MAX_DEPTH 32
#define EVENT_TYPE_MAX 64
/* Submitter names: 1-64 chars of [A-Za-z0-9_.-], so they need no JSON escaping. */
#define EVENT_SUBMITTER_MAX 64
/* The bundle format stores a uint16 length: no entry can be longer. */
#define EVENT_ENTRY_HARD_MAX 65535

typedef enum {
  EVENT_OK = 0,
  EVENT_EINVAL, /* not an event (or batch) this log accepts: the client's error */
  EVENT_ENOMEM
} event_err;

/* A fixed name for e; never NULL. */
const char *event_err_str(event_err e);

/* All of a list lives in one allocation, mem: canon[i] (NUL-terminated) and canon_len
 * point into it, so no element is freed or kept on its own; move the whole struct. */
typedef struct event_list {
  size_t count;
  char **canon;       /* canonical event bytes, NUL-terminated, inside mem */
  size_t *canon_len;
  void *mem;          /* owns canon, canon_len and the bytes */
} event_list;

/* Frees the events of l (not l itself) and leaves it empty; NULL is ignored. */
void event_list_free(event_list *l);

/* One event object (body of POST /v1/add, len bytes) into *out, which the caller frees
 * with event_list_free on EVENT_OK (on failure nothing is left to free). */
event_err event_parse_one(const char *body, size_t len, event_list *out, char *err,
                          size_t errcap) __attribute__((warn_unused_result));
/* A JSON array of 1..max_events event objects (body of POST /v1/add-batch), all or
 * none, into *out as for event_parse_one. */
event_err event_parse_batch(const char *body, size_t len, size_t max_events, event_list *out,
                            char *err, size_t errcap) __attribute__((warn_unused_result));
/* The jansson reference of the two above, same contract, results and messages: the
 * oracle of the differential fuzz target, and what words a refusal. */
event_err event_parse_one_ref(const char *body, size_t len, event_list *out, char *err,
                              size_t errcap) __attribute__((warn_unused_result));
event_err event_parse_batch_ref(const char *body, size_t len, size_t max_events, event_list *out,
                                char *err, size_t errcap) __attribute__((warn_unused_result));

/* 1 when name is 1-EVENT_SUBMITTER_MAX chars of [A-Za-z0-9_.-], else 0. */
int event_submitter_valid(const char *name);

/* Length of the wrapped entry for this event, submitter and timestamp. */
size_t event_entry_len(size_t canon_len, const char *submitter, uint64_t ts_ms);
/* Writes the wrapped entry into buf (cap >= event_entry_len(...)). */
size_t event_entry_build(char *buf, size_t cap, const char *canon, size_t canon_len,
                         const char *submitter, uint64_t ts_ms);

/* The inverse of event_entry_build, for stored entries read back from elsewhere (logd
 * --restore-from reads them from a mirror): 0 with *canon and *canon_len (pointing into
 * entry), submitter (NUL-terminated; subcap > EVENT_SUBMITTER_MAX) and *ts_ms, when entry
 * is byte for byte what event_entry_build writes for them (checked by building it
 * again) with a valid submitter name; else -1. The event text itself is not validated. */
int event_entry_split(const char *entry, size_t len, const char **canon, size_t *canon_len,
                      char *submitter, size_t subcap, uint64_t *ts_ms);

#endif
