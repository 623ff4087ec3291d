/* event_ref.c: the reference parser: jansson with JSON_REJECT_DUPLICATES and logd's
 * event checks, dumped with JSON_COMPACT | JSON_SORT_KEYS. logd answers with the
 * one-pass canonicalizer (event_canon.c); this one words every refusal, and
 * fuzz-event-diff holds the two to the same bytes. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "logd/event.h"
#include "logd/event_int.h"

/* Integers only: a real has no canonical form both sides agree on. */
static int check_value(const json_t *v, int depth, char *err, size_t errcap) {
  if (depth > EVENT_MAX_DEPTH) {
    xt_errf(err, errcap, "event nests deeper than %d levels", EVENT_MAX_DEPTH);
    return -1;
  }
  switch (json_typeof(v)) {
  case JSON_REAL:
    xt_errf(err, errcap, "event contains a non-integer number (only integers are allowed)");
    return -1;
  case JSON_OBJECT: {
    const char *k;
    json_t *x;
    json_object_foreach((json_t *)v, k, x) {
      if (check_value(x, depth + 1, err, errcap)) return -1;
    }
    return 0;
  }
  case JSON_ARRAY: {
    size_t i;
    json_t *x;
    json_array_foreach(v, i, x) {
      if (check_value(x, depth + 1, err, errcap)) return -1;
    }
    return 0;
  }
  default:
    return 0;
  }
}

static int check_event(const json_t *ev, char *err, size_t errcap) {
  if (!json_is_object(ev)) {
    xt_errf(err, errcap, "an event must be a JSON object");
    return -1;
  }
  const json_t *type = json_object_get(ev, "type");
  if (!type) {
    xt_errf(err, errcap, "event has no \"type\"");
    return -1;
  }
  if (!json_is_string(type)) {
    xt_errf(err, errcap, "event \"type\" must be a string");
    return -1;
  }
  const char *t = json_string_value(type);
  size_t n = json_string_length(type);
  if (n < 1 || n > EVENT_TYPE_MAX) {
    xt_errf(err, errcap, "event \"type\" must be 1-%d characters", EVENT_TYPE_MAX);
    return -1;
  }
  for (size_t i = 0; i < n; i++) {
    char c = t[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.')) {
      xt_errf(err, errcap, "event \"type\" may only contain a-z, 0-9, '_' and '.'");
      return -1;
    }
  }
  return check_value(ev, 1, err, errcap);
}


/* Packs the n dumped events into one block (the layout the one-pass parser writes
 * directly) and frees them. */
static event_err ref_pack(event_list *l, char **dumps, size_t n, char *err, size_t errcap) {
  size_t bytes = 0;
  int missing = 0;
  for (size_t i = 0; i < n; i++) {
    if (dumps[i]) bytes += strlen(dumps[i]) + 1;
    else missing = 1; /* not by the callers; said for the analyzer */
  }
  char *at = missing ? (memset(l, 0, sizeof *l), NULL) : event_list_block(l, n, bytes);
  for (size_t i = 0; i < n && at; i++) {
    size_t k = strlen(dumps[i]);
    memcpy(at, dumps[i], k + 1);
    l->canon[i] = at;
    l->canon_len[i] = k;
    at += k + 1;
  }
  for (size_t i = 0; i < n; i++) free(dumps[i]);
  if (!l->mem) {
    xt_errf(err, errcap, "out of memory");
    return EVENT_ENOMEM;
  }
  l->count = n;
  return EVENT_OK;
}

/* jansson's own texts name its flags (JSON_ALLOW_NUL) and internals; clients get ours. */
static const char *json_error_words(const json_error_t *je) {
  switch (json_error_code(je)) {
  case json_error_null_character:
    return "a string holds the NUL character (\\u0000), which events may not contain";
  case json_error_invalid_utf8: return "the text is not valid UTF-8";
  case json_error_premature_end_of_input: return "the JSON text ends too early";
  case json_error_end_of_input_expected: return "more text follows the JSON value";
  case json_error_stack_overflow: return "the JSON nests too deeply";
  case json_error_duplicate_key: return "an object has the same key twice";
  case json_error_numeric_overflow: return "a number is too large";
  case json_error_out_of_memory: return "out of memory";
  default: return "invalid JSON syntax";
  }
}

static json_t *load(const char *body, size_t len, char *err, size_t errcap) {
  json_error_t je;
  if (len == 0) {
    xt_errf(err, errcap, "empty request body");
    return NULL;
  }
  /* A raw NUL is never JSON, but jansson 2.14 skips one that follows a number
   * ({"n":1\0,"m":2} parses), which would log bytes the submitter never sent as
   * JSON; refuse it before parsing. */
  if (memchr(body, 0, len)) {
    xt_errf(err, errcap, "malformed JSON: a NUL byte in the body");
    return NULL;
  }
  json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
  if (!root)
    xt_errf(err, errcap, "malformed JSON at line %d column %d: %s", je.line, je.column,
             json_error_words(&je));
  return root;
}

static char *dump(const json_t *ev) { return json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS); }

event_err event_parse_one_ref(const char *body, size_t len, event_list *out, char *err,
                              size_t errcap) {
  json_t *root = load(body, len, err, errcap);
  if (!root) return EVENT_EINVAL;
  event_err rc = EVENT_EINVAL;
  if (check_event(root, err, errcap) == 0) {
    char *s = dump(root);
    if (!s) {
      xt_errf(err, errcap, "out of memory");
      rc = EVENT_ENOMEM;
    } else {
      rc = ref_pack(out, &s, 1, err, errcap);
    }
  }
  json_decref(root);
  return rc;
}

event_err event_parse_batch_ref(const char *body, size_t len, size_t max_events, event_list *out,
                                char *err, size_t errcap) {
  json_t *root = load(body, len, err, errcap);
  if (!root) return EVENT_EINVAL;
  event_err rc = EVENT_EINVAL;
  size_t n = json_is_array(root) ? json_array_size(root) : 0;
  char **dumps = NULL;
  if (!json_is_array(root)) {
    xt_errf(err, errcap, "add-batch takes a JSON array of event objects");
  } else if (n == 0) {
    xt_errf(err, errcap, "add-batch needs at least one event");
  } else if (n > max_events) {
    xt_errf(err, errcap, "add-batch takes at most %zu events", max_events);
  } else if (!(dumps = calloc(n, sizeof *dumps))) {
    xt_errf(err, errcap, "out of memory");
    rc = EVENT_ENOMEM;
  } else {
    size_t i, done = 0;
    json_t *ev;
    rc = EVENT_OK;
    json_array_foreach(root, i, ev) {
      char sub[200];
      if (check_event(ev, sub, sizeof sub)) {
        xt_errf(err, errcap, "event %zu: %s", i, sub);
        rc = EVENT_EINVAL;
        break;
      }
      if (!(dumps[i] = dump(ev))) {
        xt_errf(err, errcap, "out of memory");
        rc = EVENT_ENOMEM;
        break;
      }
      done++;
    }
    if (rc == EVENT_OK) {
      rc = ref_pack(out, dumps, n, err, errcap);
    } else {
      for (i = 0; i < done; i++) free(dumps[i]);
    }
    free(dumps);
  }
  json_decref(root);
  return rc;
}
