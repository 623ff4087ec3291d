/* Tests for client/entryscan.c, the audit's strict JSON scanner: field extraction,
 * escapes, malformed input, direct-message detection, and agreement with jansson on
 * many mutated entries. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "client/entryscan.h"
#include "tests/lib/check.h"

static entry_scan sc;

static void scan(const char *s) { entry_scan_run(&sc, (const uint8_t *)s, strlen(s)); }

static void test_fields(void) {
  scan("{\"event\":{\"call_id\":\"c1\",\"endpoint\":\"watch_history\",\"method\":\"GET\",\"path\":\"/api/"
       "watch_history\",\"phase\":\"intent\",\"type\":\"api_call\",\"user\":\"ab\"},\"submitter\":\"collector\","
       "\"ts_ms\":1767225600123,\"v\":1}");
  CHECK(sc.json_ok);
  CHECK(sc.has_event);
  CHECK(!sc.names_dm);
  CHECK(scan_eq(sc.f[SF_TYPE], "api_call"));
  CHECK(scan_eq(sc.f[SF_PHASE], "intent"));
  CHECK(scan_eq(sc.f[SF_CALL_ID], "c1"));
  CHECK(scan_eq(sc.f[SF_ENDPOINT], "watch_history"));
  CHECK(scan_eq(sc.f[SF_METHOD], "GET"));
  CHECK(scan_eq(sc.f[SF_PATH], "/api/watch_history"));
  CHECK(scan_eq(sc.f[SF_USER], "ab"));
  CHECK(scan_eq(sc.submitter, "collector"));
  CHECK(!sc.f[SF_HOST].p);
  /* Fields of nested objects or of the wrapper are not the event's. */
  scan("{\"type\":\"boot\",\"event\":{\"x\":{\"type\":\"boot\"},\"type\":\"memo\"}}");
  CHECK(sc.json_ok);
  CHECK(scan_eq(sc.f[SF_TYPE], "memo"));
  /* Non-string values are absent. */
  scan("{\"event\":{\"type\":7,\"user\":null}}");
  CHECK(sc.json_ok && sc.has_event && !sc.f[SF_TYPE].p && !sc.f[SF_USER].p);
  /* No event object. */
  scan("{\"event\":[1,2],\"v\":1}");
  CHECK(sc.json_ok && !sc.has_event);
  /* A duplicate of a key the audit reads makes the entry malformed. */
  scan("{\"event\":{\"type\":\"a\",\"type\":\"b\"}}");
  CHECK(!sc.json_ok);
  scan("{\"event\":{\"type\":\"a\"},\"event\":{\"type\":\"b\"}}");
  CHECK(!sc.json_ok);
  scan("{\"submitter\":\"a\",\"event\":{},\"submitter\":\"b\"}");
  CHECK(!sc.json_ok);
  /* Other keys may repeat (the scanner does not read them). */
  scan("{\"event\":{\"type\":\"a\",\"x\":1,\"x\":2}}");
  CHECK(sc.json_ok && scan_eq(sc.f[SF_TYPE], "a"));
}

static void test_escapes(void) {
  scan("{\"event\":{\"type\":\"a\\u0062c\",\"user\":\"x\\ny\\\"z\",\"path\":\"\\/p\\ud83d\\ude00\",\"method\":\"\\u00e9\"}}");
  CHECK(sc.json_ok);
  CHECK(scan_eq(sc.f[SF_TYPE], "abc"));
  CHECK(scan_eq(sc.f[SF_USER], "x\ny\"z"));
  CHECK(scan_eq(sc.f[SF_PATH], "/p\xf0\x9f\x98\x80"));
  CHECK(scan_eq(sc.f[SF_METHOD], "\xc3\xa9"));
  /* An escaped key still names its field. */
  scan("{\"event\":{\"t\\u0079pe\":\"api_call\"}}");
  CHECK(scan_eq(sc.f[SF_TYPE], "api_call"));
  /* Long strings at every offset mod 8, with and without a final escape. */
  for (int n = 0; n < 40; n++) {
    char buf[200], val[64];
    memset(val, 'q', (size_t)n);
    val[n] = 0;
    snprintf(buf, sizeof buf, "{\"event\":{\"type\":\"%s\"}}", val);
    scan(buf);
    CHECK(sc.json_ok && sc.f[SF_TYPE].p && sc.f[SF_TYPE].n == (size_t)n);
    snprintf(buf, sizeof buf, "{\"event\":{\"type\":\"%s\\t\"}}", val);
    scan(buf);
    CHECK(sc.json_ok && sc.f[SF_TYPE].p && sc.f[SF_TYPE].n == (size_t)n + 1);
  }
}

static void test_malformed(void) {
  const char *bad[] = {
      "", "[]", "\"x\"", "{", "{\"event\":{}", "{\"event\":{}}x", "{\"a\":1,}", "{\"a\" 1}", "{a:1}",
      "{\"a\":\"\\x\"}", "{\"a\":\"\\u12\"}", "{\"a\":\"\\ud800\"}", "{\"a\":\"\\udc00\"}", "{\"a\":\"x\ny\"}",
      "{\"a\":\"unterminated}", "{\"a\":01}", "{\"a\":-}", "{\"a\":1.}", "{\"a\":1e}", "{\"a\":tru}",
      "{\"a\":[1,]}", "{\"a\":[1 2]}", "{\"a\":nul}", "{\"a\":.5}", "{\"a\":+1}",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    scan(bad[i]);
    if (sc.json_ok) printf("#   accepted: %s\n", bad[i]);
    CHECK(!sc.json_ok);
  }
  const char *good[] = {"{}", " { \"a\" : [ 1 , -2.5e+3 , true , false , null , { } ] } ", "{\"a\":0}",
                        "{\"a\":-0.0E-0}", "{\"a\":\"\\\\\\/\\b\\f\\n\\r\\t\"}"};
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    scan(good[i]);
    if (!sc.json_ok) printf("#   rejected: %s\n", good[i]);
    CHECK(sc.json_ok);
  }
  /* Nesting deeper than 64 is refused, not a stack overflow. */
  char deep[400];
  size_t n = 0;
  n += (size_t)snprintf(deep, sizeof deep, "{\"a\":");
  for (int i = 0; i < 100; i++) deep[n++] = '[';
  for (int i = 0; i < 100; i++) deep[n++] = ']';
  deep[n++] = '}';
  deep[n] = 0;
  scan(deep);
  CHECK(!sc.json_ok);
}

static void test_dm(void) {
  const char *yes[] = {"direct_message", "Direct Messages", "DIRECTMESSAGE", "direct-message",
                       "/api/direct_messages?count=20", "xxdirect.messagexx", "DiReCt_MeSsAgE"};
  const char *no[] = {"message", "direct", "direct__message", "directmesage", "messages direct", ""};
  for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
    CHECK(entry_names_dm((const uint8_t *)yes[i], strlen(yes[i])));
    /* at every alignment */
    char buf[80];
    for (int k = 0; k < 9; k++) {
      int len = snprintf(buf, sizeof buf, "%.*s%s", k, "ABCDEFGHI", yes[i]);
      CHECK(entry_names_dm((const uint8_t *)buf, (size_t)len));
    }
  }
  for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) CHECK(!entry_names_dm((const uint8_t *)no[i], strlen(no[i])));
  scan("{\"event\":{\"type\":\"memo\",\"note\":\"see direct messages\"}}");
  CHECK(sc.json_ok && sc.names_dm);
}

/* Mutations of a real entry: the scanner and jansson must agree on well-formedness. */
static void test_agrees_with_jansson(void) {
  const char *base =
      "{\"event\":{\"body_sha256\":\"d0ade50d8bdfd405\",\"bytes\":1255,\"call_id\":\"c254\",\"list\":[1,-2.5e3,true,"
      "false,null,{\"k\":\"v\\u0041\\n\"}],\"phase\":\"result\",\"status\":200,\"type\":\"api_call\"},"
      "\"submitter\":\"collector\",\"ts_ms\":1767225855000,\"v\":1}";
  const char alphabet[] = "{}[]\":,\\-+.0123456789eEtrufalsn u";
  size_t blen = strlen(base);
  unsigned seed = 12345;
  int disagree = 0;
  for (int iter = 0; iter < 200000; iter++) {
    char buf[512];
    memcpy(buf, base, blen);
    size_t len = blen;
    int edits = 1 + (int)(rand_r(&seed) % 3);
    for (int e = 0; e < edits; e++) {
      size_t pos = (size_t)rand_r(&seed) % len;
      char c = alphabet[(size_t)rand_r(&seed) % (sizeof alphabet - 1)];
      switch (rand_r(&seed) % 3) {
      case 0: buf[pos] = c; break;
      case 1:
        memmove(buf + pos, buf + pos + 1, len - pos - 1);
        len--;
        break;
      default:
        if (len + 1 < sizeof buf) {
          memmove(buf + pos + 1, buf + pos, len - pos);
          buf[pos] = c;
          len++;
        }
      }
    }
    entry_scan_run(&sc, (const uint8_t *)buf, len);
    json_error_t je;
    json_t *j = json_loadb(buf, len, 0, &je);
    bool jok = j && json_is_object(j);
    /* Number range is not syntax (RFC 8259 section 6 leaves it to implementations):
     * jansson refuses reals that overflow a double; the scanner only checks syntax. */
    if (!j && strstr(je.text, "overflow")) continue;
    if (jok != sc.json_ok && disagree++ < 5) printf("#   disagree (jansson %d): %.*s\n", jok, (int)len, buf);
    if (jok && sc.json_ok) {
      json_t *ev = json_object_get(j, "event");
      const char *t = json_string_value(json_object_get(ev, "type"));
      bool same = json_is_object(ev) ? (t ? scan_eq(sc.f[SF_TYPE], t) : !sc.f[SF_TYPE].p) : !sc.has_event;
      if (!same && disagree++ < 5) printf("#   type differs: %.*s\n", (int)len, buf);
    }
    json_decref(j);
  }
  CHECK(disagree == 0);
}

int main(void) {
  CHECK_RUN(test_fields);
  CHECK_RUN(test_escapes);
  CHECK_RUN(test_malformed);
  CHECK_RUN(test_dm);
  CHECK_RUN(test_agrees_with_jansson);
  return check_finish();
}
