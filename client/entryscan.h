/* entryscan.h: a fast, strict reader of log entries for the audit.
 *
 * Contract: checks that an entry is one well-formed JSON value (RFC 8259 syntax; UTF-8
 * is not re-validated: logd's jansson rejects invalid UTF-8 before sequencing, and the
 * bytes are authenticated by the Merkle tree) whose top level is an object, and pulls
 * out the fields the audit needs without building a tree: the wrapper's "submitter"
 * and the string fields of the top-level "event" object listed below. Escaped strings
 * are decoded (into the scan's own buffer). It also says whether the raw entry names
 * direct messages in any spelling ("direct" + at most one character + "message",
 * case-insensitive, anywhere in the bytes). No allocation; nesting depth <= 64. */
#ifndef XT_CLIENT_ENTRYSCAN_H
#define XT_CLIENT_ENTRYSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct scan_str {
  const char *p; /* NULL when absent or not a string */
  size_t n;
} scan_str;

enum scan_field {
  SF_TYPE,
  SF_PHASE,
  SF_USER,
  SF_CALL_ID,
  SF_ENDPOINT,
  SF_METHOD,
  SF_PATH,
  SF_HOST,
  SF_COMPONENT,
  SF_VERSION,
  SF_COMPOSE_HASH,
  SF_INSTANCE_ID,
  SF_COUNT
};

typedef struct entry_scan {
  bool json_ok;     /* well-formed JSON, top level an object */
  bool has_event;   /* "event" is an object */
  bool names_dm;    /* the bytes name direct messages */
  scan_str submitter;
  scan_str f[SF_COUNT];
  char buf[4096];   /* decoded escaped strings */
  size_t buf_used;
} entry_scan;

/* Scans the len bytes at data into *s (overwritten). Strings in s point into data or
 * into s->buf, so they live as long as both. Never fails: what is not well formed is
 * flagged in s (json_ok, has_event, absent fields). */
void entry_scan_run(entry_scan *s, const uint8_t *data, size_t len);
/* Returns whether the bytes name direct messages (as names_dm above). */
bool entry_names_dm(const uint8_t *data, size_t len);
/* s equals the NUL-terminated lit (inline: strlen of a literal folds away). */
static inline bool scan_eq(scan_str s, const char *lit) {
  size_t n = __builtin_strlen(lit);
  return s.p && s.n == n && __builtin_memcmp(s.p, lit, n) == 0;
}

#endif
