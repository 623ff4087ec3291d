#include "logd/event.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"

void event_list_free(event_list *l) {
  if (!l) return;
  for (size_t i = 0; i < l->count; i++) free(l->canon[i]);
  free(l->canon);
  free(l->canon_len);
  memset(l, 0, sizeof(*l));
}

int event_submitter_valid(const char *name) {
  size_t n = strlen(name);
  if (n == 0 || n > EVENT_SUBMITTER_MAX) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '_' || c == '.' || c == '-'))
      return 0;
  }
  return 1;
}

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

const char *event_err_str(event_err e) {
  switch (e) {
  case EVENT_OK: return "ok";
  case EVENT_EINVAL: return "invalid event";
  case EVENT_ENOMEM: return "out of memory";
  }
  return "unknown event error";
}

static event_err list_alloc(event_list *l, size_t n, char *err, size_t errcap) {
  memset(l, 0, sizeof(*l));
  l->canon = calloc(n ? n : 1, sizeof(char *));
  l->canon_len = calloc(n ? n : 1, sizeof(size_t));
  if (!l->canon || !l->canon_len) {
    free(l->canon);
    free(l->canon_len);
    xt_errf(err, errcap, "out of memory");
    return EVENT_ENOMEM;
  }
  return EVENT_OK;
}

static event_err canon_into(event_list *l, const json_t *ev, char *err, size_t errcap) {
  char *s = json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS);
  if (!s) {
    xt_errf(err, errcap, "out of memory");
    return EVENT_ENOMEM;
  }
  l->canon[l->count] = s;
  l->canon_len[l->count] = strlen(s);
  l->count++;
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

event_err event_parse_one(const char *body, size_t len, event_list *out, char *err,
                          size_t errcap) {
  json_t *root = load(body, len, err, errcap);
  if (!root) return EVENT_EINVAL;
  event_err rc = EVENT_EINVAL;
  if (check_event(root, err, errcap) == 0 && (rc = list_alloc(out, 1, err, errcap)) == EVENT_OK) {
    rc = canon_into(out, root, err, errcap);
    if (rc) event_list_free(out);
  }
  json_decref(root);
  return rc;
}

event_err event_parse_batch(const char *body, size_t len, size_t max_events, event_list *out,
                            char *err, size_t errcap) {
  json_t *root = load(body, len, err, errcap);
  if (!root) return EVENT_EINVAL;
  event_err rc = EVENT_EINVAL;
  if (!json_is_array(root)) {
    xt_errf(err, errcap, "add-batch takes a JSON array of event objects");
  } else if (json_array_size(root) == 0) {
    xt_errf(err, errcap, "add-batch needs at least one event");
  } else if (json_array_size(root) > max_events) {
    xt_errf(err, errcap, "add-batch takes at most %zu events", max_events);
  } else if ((rc = list_alloc(out, json_array_size(root), err, errcap)) == EVENT_OK) {
    size_t i;
    json_t *ev;
    json_array_foreach(root, i, ev) {
      char sub[200];
      if (check_event(ev, sub, sizeof sub)) {
        xt_errf(err, errcap, "event %zu: %s", i, sub);
        rc = EVENT_EINVAL;
        break;
      }
      if ((rc = canon_into(out, ev, err, errcap)) != EVENT_OK) break;
    }
    if (rc) event_list_free(out);
  }
  json_decref(root);
  return rc;
}

static const char k_pre[] = "{\"event\":";
static const char k_mid[] = ",\"submitter\":\"";
static const char k_ts[] = "\",\"ts_ms\":";
static const char k_end[] = ",\"v\":1}";

size_t event_entry_len(size_t canon_len, const char *submitter, uint64_t ts_ms) {
  char num[24];
  int n = snprintf(num, sizeof num, "%" PRIu64, ts_ms);
  return sizeof k_pre - 1 + canon_len + sizeof k_mid - 1 + strlen(submitter) + sizeof k_ts - 1 +
         (size_t)n + sizeof k_end - 1;
}

size_t event_entry_build(char *buf, size_t cap, const char *canon, size_t canon_len,
                         const char *submitter, uint64_t ts_ms) {
  size_t need = event_entry_len(canon_len, submitter, ts_ms);
  if (cap < need) return 0;
  size_t off = 0, sl = strlen(submitter);
  memcpy(buf + off, k_pre, sizeof k_pre - 1), off += sizeof k_pre - 1;
  memcpy(buf + off, canon, canon_len), off += canon_len;
  memcpy(buf + off, k_mid, sizeof k_mid - 1), off += sizeof k_mid - 1;
  memcpy(buf + off, submitter, sl), off += sl;
  memcpy(buf + off, k_ts, sizeof k_ts - 1), off += sizeof k_ts - 1;
  char num[24];
  int n = snprintf(num, sizeof num, "%" PRIu64, ts_ms);
  memcpy(buf + off, num, (size_t)n), off += (size_t)n;
  memcpy(buf + off, k_end, sizeof k_end - 1), off += sizeof k_end - 1;
  return off;
}

int event_entry_split(const char *e, size_t n, const char **canon, size_t *canon_len, char *submitter,
                      size_t subcap, uint64_t *ts_ms) {
  if (subcap <= EVENT_SUBMITTER_MAX || n < sizeof k_pre - 1 + sizeof k_mid - 1 + sizeof k_ts - 1 + sizeof k_end - 1 ||
      memcmp(e, k_pre, sizeof k_pre - 1) || memcmp(e + n - (sizeof k_end - 1), k_end, sizeof k_end - 1))
    return -1;
  /* From the end: the digits of ts_ms, then the submitter's name (no quote in it). */
  size_t p = n - (sizeof k_end - 1), digits_end = p;
  while (p > 0 && e[p - 1] >= '0' && e[p - 1] <= '9') p--;
  size_t digits_at = p, dl = digits_end - digits_at;
  if (dl == 0 || dl > 20 || p < sizeof k_ts - 1 || memcmp(e + p - (sizeof k_ts - 1), k_ts, sizeof k_ts - 1)) return -1;
  p -= sizeof k_ts - 1;
  size_t name_end = p;
  while (p > 0 && e[p - 1] != '"') p--;
  if (p < sizeof k_pre - 1 + sizeof k_mid - 1 || memcmp(e + p - (sizeof k_mid - 1), k_mid, sizeof k_mid - 1)) return -1;
  size_t nl = name_end - p;
  if (nl == 0 || nl > EVENT_SUBMITTER_MAX) return -1;
  memcpy(submitter, e + p, nl);
  submitter[nl] = 0;
  if (!event_submitter_valid(submitter)) return -1;
  uint64_t ts = 0;
  for (size_t i = digits_at; i < digits_end; i++) {
    unsigned d = (unsigned)(e[i] - '0');
    if (ts > (UINT64_MAX - d) / 10) return -1;
    ts = ts * 10 + d;
  }
  const char *c = e + sizeof k_pre - 1;
  size_t cl = p - (sizeof k_mid - 1) - (sizeof k_pre - 1);
  /* Building it again rules out leading zeros and anything else not logd's own form. */
  char *again = malloc(n + 1);
  int same = again && event_entry_len(cl, submitter, ts) == n &&
             event_entry_build(again, n + 1, c, cl, submitter, ts) == n && !memcmp(again, e, n);
  free(again);
  if (!same) return -1;
  *canon = c;
  *canon_len = cl;
  *ts_ms = ts;
  return 0;
}
