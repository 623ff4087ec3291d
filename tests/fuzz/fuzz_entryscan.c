/* Fuzz target: the audit's strict entry scanner (client/entryscan.h), which reads
 * entries from an untrusted log server. Properties: its direct-message flag equals a
 * plain reference search; what it accepts, jansson accepts too (when the bytes are
 * valid UTF-8); what jansson accepts as an object nested at most 64 deep, it accepts;
 * and the event's "type" and the "submitter" it extracts equal jansson's. */
#include <ctype.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client/entryscan.h"

static int ref_names_dm(const uint8_t *p, size_t n) {
  static const char a[] = "direct", b[] = "message";
  for (size_t i = 0; i + 13 <= n; i++) {
    size_t k = 0;
    while (k < 6 && tolower(p[i + k]) == a[k]) k++;
    if (k < 6) continue;
    for (size_t gap = 0; gap <= 1; gap++) {
      size_t j = i + 6 + gap, m = 0;
      while (m < 7 && j + m < n && tolower(p[j + m]) == b[m]) m++;
      if (m == 7) return 1;
    }
  }
  return 0;
}

static int depth_of(json_t *j) {
  int d = 0;
  if (json_is_object(j)) {
    const char *k;
    json_t *v;
    json_object_foreach(j, k, v) {
      int c = depth_of(v);
      if (c > d) d = c;
    }
    return d + 1;
  }
  if (json_is_array(j)) {
    size_t i;
    json_t *v;
    json_array_foreach(j, i, v) {
      int c = depth_of(v);
      if (c > d) d = c;
    }
    return d + 1;
  }
  return 0;
}

static size_t input_size;

static int same_str(scan_str s, json_t *j) {
  if (!json_is_string(j)) return s.p == NULL;
  /* Decoded strings share a 4096-byte buffer; one that does not fit reads as absent. */
  if (!s.p) return input_size > 4000;
  return s.p && s.n == json_string_length(j) && memcmp(s.p, json_string_value(j), s.n) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t *in = malloc(size ? size : 1);
  if (!in) return 0;
  memcpy(in, data, size);
  static entry_scan sc;
  input_size = size;
  entry_scan_run(&sc, in, size);
  int dm = ref_names_dm(in, size);
  if (sc.names_dm != dm || entry_names_dm(in, size) != dm) abort();

  json_error_t je;
  json_t *j = json_loadb((const char *)in, size, JSON_ALLOW_NUL, &je);
  int jok = j && json_is_object(j);
  if (sc.json_ok && !j) {
    /* jansson also checks UTF-8 and number ranges, which the scanner leaves alone. */
    if (!strstr(je.text, "UTF-8") && !strstr(je.text, "unable to decode byte") && !strstr(je.text, "overflow") && !strstr(je.text, "too big") &&
        !strstr(je.text, "nicode") &&
        !strstr(je.text, "maximum parsing depth"))
      abort();
  }
  /* jansson 2.14 skips a raw NUL after a number ({"a":1<NUL>} parses); the scanner
   * rightly refuses it, so inputs with NUL only get the other checks. */
  /* The scanner refuses duplicates of the keys it reads (jansson keeps the last), so
   * an entry jansson accepts may be refused only when it has duplicate keys. */
  json_t *strict = jok ? json_loadb((const char *)in, size, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, NULL) : NULL;
  if (strict && !sc.json_ok && depth_of(j) <= 60 && !memchr(in, 0, size)) abort();
  if (!sc.json_ok) {
    json_decref(strict);
    strict = NULL;
  }
  if (strict) {
    json_decref(j);
    j = strict;
    if (!same_str(sc.submitter, json_object_get(j, "submitter"))) abort();
    json_t *ev = json_object_get(j, "event");
    if (json_is_object(ev) != sc.has_event) abort();
    if (sc.has_event && !same_str(sc.f[SF_TYPE], json_object_get(ev, "type"))) abort();
  }
  json_decref(j);
  free(in);
  return 0;
}
