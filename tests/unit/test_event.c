/* Tests of logd/event.h's canonical form: exact bytes for the edge cases of jansson's
 * JSON_COMPACT | JSON_SORT_KEYS output (escapes, code points, integers, key order by
 * unescaped bytes), what is refused and in which words, and that the one-pass parser
 * and the jansson reference agree on each case. Entries are stored forever: one byte
 * different is a different log. */
#include <stdlib.h>

#include "logd/event.h"
#include "tests/lib/check.h"

/* body (len bytes) as one event must canonicalize to want, by both parsers. */
static void one_is(const char *body, size_t len, const char *want) {
  char err[400] = "";
  event_list l, r;
  event_err rc = event_parse_one(body, len, &l, err, sizeof err);
  if (rc) printf("# %s: %s\n", body, err);
  CHECK_FATAL(rc == EVENT_OK);
  CHECK_FATAL(event_parse_one_ref(body, len, &r, err, sizeof err) == EVENT_OK);
  CHECK(l.count == 1 && r.count == 1);
  if (l.canon_len[0] != strlen(want) || memcmp(l.canon[0], want, strlen(want)))
    printf("# got  %s\n# want %s\n", l.canon[0], want);
  CHECK(l.canon_len[0] == strlen(want) && !memcmp(l.canon[0], want, strlen(want)));
  CHECK(l.canon[0][l.canon_len[0]] == 0);
  CHECK(r.canon_len[0] == l.canon_len[0] && !memcmp(r.canon[0], l.canon[0], l.canon_len[0]));
  event_list_free(&l);
  event_list_free(&r);
}
#define ONE_IS(body, want) one_is(body, sizeof(body) - 1, want)

/* body is refused, by both, with the same words, which contain want. */
static void refused(const char *body, size_t len, int batch, size_t max, const char *want) {
  char err[400] = "", eref[400] = "";
  event_list l, r;
  event_err a = batch ? event_parse_batch(body, len, max, &l, err, sizeof err) : event_parse_one(body, len, &l, err, sizeof err);
  event_err b = batch ? event_parse_batch_ref(body, len, max, &r, eref, sizeof eref)
                      : event_parse_one_ref(body, len, &r, eref, sizeof eref);
  if (a != EVENT_EINVAL || !strstr(err, want)) printf("# %.60s: %d %s\n", body, a, err);
  CHECK(a == EVENT_EINVAL && b == EVENT_EINVAL);
  CHECK(strstr(err, want) != NULL);
  CHECK(!strcmp(err, eref));
}
#define REFUSED(body, want) refused(body, sizeof(body) - 1, 0, 1, want)
#define REFUSED_BATCH(body, max, want) refused(body, sizeof(body) - 1, 1, max, want)

static void test_sorted_compact(void) {
  ONE_IS("{\"type\":\"boot\",\"b\":1,\"a\":\"x\"}", "{\"a\":\"x\",\"b\":1,\"type\":\"boot\"}");
  ONE_IS(" \t\r\n{ \"type\" : \"x\" , \"a\" : [ 1 , { } , [ ] , true , false , null ] }\n ",
         "{\"a\":[1,{},[],true,false,null],\"type\":\"x\"}");
  /* Nested objects are sorted too, arrays keep their order. */
  ONE_IS("{\"type\":\"x\",\"o\":{\"z\":[{\"b\":1,\"a\":2}],\"y\":{}}}",
         "{\"o\":{\"y\":{},\"z\":[{\"a\":2,\"b\":1}]},\"type\":\"x\"}");
  /* Escaped "type" key and value are the same event as the plain one. */
  ONE_IS("{\"typ\\u0065\":\"\\u0061b\"}", "{\"type\":\"ab\"}");
}

static void test_string_escapes(void) {
  /* Only '"', '\\' and controls are escaped; \b \f \n \r \t short, other controls as
   * \u00XX upper case; '/' (even escaped), DEL and all non-ASCII are written raw. */
  ONE_IS("{\"type\":\"x\",\"s\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0001\\u001f\\u001F\\u007f\\u0080\\u00e9\\u20AC\\uFFFF/\x7f\"}",
         "{\"s\":\"\\\"\\\\/\\b\\f\\n\\r\\t\\u0001\\u001F\\u001F\x7f\xc2\x80\xc3\xa9\xe2\x82\xac\xef\xbf\xbf/\x7f\",\"type\":\"x\"}");
  /* \u escapes of characters that need none: \u0022 and \u005c keep a short escape. */
  ONE_IS("{\"type\":\"x\",\"s\":\"\\u0022\\u005C\\u002f\\u0041\\u0008\\u000a\"}",
         "{\"s\":\"\\\"\\\\/A\\b\\n\",\"type\":\"x\"}");
  /* Surrogate pairs join into one UTF-8 code point; raw UTF-8 stays as sent. */
  ONE_IS("{\"type\":\"x\",\"s\":\"\\ud83d\\ude00\\uD800\\uDC00\\udbff\\udfff\"}",
         "{\"s\":\"\xf0\x9f\x98\x80\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\",\"type\":\"x\"}");
  ONE_IS("{\"type\":\"x\",\"s\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\"}",
         "{\"s\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\",\"type\":\"x\"}");
  ONE_IS("{\"type\":\"x\",\"\":\"\"}", "{\"\":\"\",\"type\":\"x\"}");
}

static void test_integers(void) {
  ONE_IS("{\"type\":\"x\",\"a\":-0,\"b\":0,\"c\":9223372036854775807,\"d\":-9223372036854775808,\"e\":-1,\"f\":120}",
         "{\"a\":0,\"b\":0,\"c\":9223372036854775807,\"d\":-9223372036854775808,\"e\":-1,\"f\":120,\"type\":\"x\"}");
}

static void test_key_order(void) {
  /* Shared prefixes: the shorter first; the empty key before all. */
  ONE_IS("{\"type\":\"x\",\"ab\":1,\"a\":2,\"abc\":3,\"\":4,\"b\":5,\"aa\":6}",
         "{\"\":4,\"a\":2,\"aa\":6,\"ab\":1,\"abc\":3,\"b\":5,\"type\":\"x\"}");
  /* By the unescaped bytes (01 < 0a < 22 < 2f < 5c), not by the written escapes. */
  ONE_IS("{\"type\":\"x\",\"a\\\"b\":1,\"a\\\\b\":2,\"a\\nb\":3,\"a\\u0001\":4,\"a\\/\":5}",
         "{\"a\\u0001\":4,\"a\\nb\":3,\"a\\\"b\":1,\"a/\":5,\"a\\\\b\":2,\"type\":\"x\"}");
  /* UTF-8 bytes, unsigned: "z" (7a) < "é" (c3 a9) < "éa" < "€" (e2 82 ac). */
  ONE_IS("{\"type\":\"x\",\"\xc3\xa9\":1,\"z\":2,\"\\u00e9a\":3,\"\xe2\x82\xac\":4}",
         "{\"type\":\"x\",\"z\":2,\"\xc3\xa9\":1,\"\xc3\xa9" "a\":3,\"\xe2\x82\xac\":4}");
  /* More members than the insertion sort takes (17+) and than the member stack holds
   * at first (64), in reverse order, with a nested object of its own. */
  char body[8192], want[8192];
  size_t b = 0, w = 0;
  b += (size_t)snprintf(body + b, sizeof body - b, "{\"type\":\"t\",\"k000\":{\"y\":1,\"x\":2}");
  w += (size_t)snprintf(want + w, sizeof want - w, "{\"k000\":{\"x\":2,\"y\":1}");
  for (int i = 300; i >= 1; i--) b += (size_t)snprintf(body + b, sizeof body - b, ",\"k%03d\":%d", i, i);
  for (int i = 1; i <= 300; i++) w += (size_t)snprintf(want + w, sizeof want - w, ",\"k%03d\":%d", i, i);
  b += (size_t)snprintf(body + b, sizeof body - b, "}");
  w += (size_t)snprintf(want + w, sizeof want - w, ",\"type\":\"t\"}");
  CHECK_FATAL(b < sizeof body && w < sizeof want);
  one_is(body, b, want);
  /* Escaped keys past the first unescaping buffer (256 bytes), sent as \u000a. */
  b = w = 0;
  b += (size_t)snprintf(body + b, sizeof body - b, "{\"type\":\"t\"");
  w += (size_t)snprintf(want + w, sizeof want - w, "{");
  for (int i = 200; i >= 1; i--) b += (size_t)snprintf(body + b, sizeof body - b, ",\"\\u000a%03d\":%d", i, i);
  for (int i = 1; i <= 200; i++) w += (size_t)snprintf(want + w, sizeof want - w, "%s\"\\n%03d\":%d", i > 1 ? "," : "", i, i);
  b += (size_t)snprintf(body + b, sizeof body - b, "}");
  w += (size_t)snprintf(want + w, sizeof want - w, ",\"type\":\"t\"}");
  CHECK_FATAL(b < sizeof body && w < sizeof want);
  one_is(body, b, want);
}

static void test_depth(void) {
  char body[256];
  for (int n = 31; n <= 32; n++) {
    /* The event is depth 1, so n nested arrays put the innermost at depth n + 1. */
    size_t k = (size_t)snprintf(body, sizeof body, "{\"type\":\"x\",\"a\":");
    for (int i = 0; i < n; i++) body[k++] = '[';
    for (int i = 0; i < n; i++) body[k++] = ']';
    body[k++] = '}';
    char err[400];
    event_list l;
    event_err rc = event_parse_one(body, k, &l, err, sizeof err);
    if (n == 31) {
      CHECK(rc == EVENT_OK);
      if (!rc) event_list_free(&l);
    } else {
      CHECK(rc == EVENT_EINVAL && strstr(err, "deeper than 32"));
    }
  }
}

static void test_refusals(void) {
  REFUSED("{\"type\":\"x\",\"a\":1.5}", "non-integer");
  REFUSED("{\"type\":\"x\",\"a\":1e5}", "non-integer");
  REFUSED("{\"type\":\"x\",\"a\":-0.0}", "non-integer");
  REFUSED("{\"type\":\"x\",\"a\":1.}", "malformed JSON");
  REFUSED("{\"type\":\"x\",\"a\":01}", "malformed JSON");
  REFUSED("{\"type\":\"x\",\"a\":9223372036854775808}", "a number is too large");
  REFUSED("{\"type\":\"x\",\"a\":-9223372036854775809}", "a number is too large");
  REFUSED("{\"type\":\"x\",\"a\":1,\"a\":2}", "same key twice");
  REFUSED("{\"type\":\"x\",\"a\":1,\"\\u0061\":2}", "same key twice");
  REFUSED("{\"type\":\"x\",\"typ\\u0065\":\"y\"}", "same key twice");
  REFUSED("{\"type\":\"x\",\"s\":\"\\ud83d\"}", "malformed JSON");
  REFUSED("{\"type\":\"x\",\"s\":\"\\ude00\"}", "malformed JSON");
  REFUSED("{\"type\":\"x\",\"s\":\"\\ud83d\\u0041\"}", "malformed JSON");
  REFUSED("{\"type\":\"x\",\"s\":\"\\u12\"}", "malformed JSON");
  REFUSED("{\"type\":\"x\",\"s\":\"\\x\"}", "malformed JSON");
  REFUSED("{\"type\":\"x\",\"s\":\"a\\u0000b\"}", "NUL character");
  REFUSED("{\"type\":\"x\",\"\\u0000\":1}", "malformed JSON");
  REFUSED("{\"type\":\"x\",\"n\":1\0}", "a NUL byte in the body");
  REFUSED("{\"type\":\"x\",\"s\":\"a\x01" "b\"}", "malformed JSON");
  REFUSED("{\"type\":\"x\",\"s\":\"\xc0\xaf\"}", "not valid UTF-8");
  REFUSED("{\"type\":\"x\",\"s\":\"\xed\xa0\x80\"}", "not valid UTF-8");
  REFUSED("{\"type\":\"x\",\"s\":\"\xf4\x90\x80\x80\"}", "not valid UTF-8");
  REFUSED("{\"type\":\"x\",\"s\":\"\xe2\x82\"}", "not valid UTF-8");
  REFUSED("\xef\xbb\xbf{\"type\":\"x\"}", "malformed JSON");
  REFUSED("{\"type\":\"x\"} x", "more text follows");
  REFUSED("{\"type\":\"x\",}", "malformed JSON");
  REFUSED("{\"type\":\"x\",\"a\":truex}", "malformed JSON");
  REFUSED("{\x0c\"type\":\"x\"}", "malformed JSON");
  REFUSED("{'type':'x'}", "malformed JSON");
  REFUSED("", "empty request body");
  REFUSED("[{\"type\":\"x\"}]", "must be a JSON object");
  REFUSED("{\"a\":1}", "no \"type\"");
  REFUSED("{\"type\":1}", "must be a string");
  REFUSED("{\"type\":\"\"}", "1-64 characters");
  REFUSED("{\"type\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}", "1-64 characters");
  REFUSED("{\"type\":\"A\"}", "may only contain");
  REFUSED("{\"type\":\"a/b\"}", "may only contain");
  REFUSED_BATCH("[]", 10, "at least one event");
  REFUSED_BATCH("{\"type\":\"x\"}", 10, "a JSON array");
  REFUSED_BATCH("[{\"type\":\"a\"},{\"type\":\"b\"},{\"type\":\"c\"}]", 2, "at most 2 events");
  REFUSED_BATCH("[{\"type\":\"a\"},1]", 10, "event 1: an event must be a JSON object");
  REFUSED_BATCH("[{\"type\":\"a\"},{\"type\":\"B\"}]", 10, "event 1: event \"type\" may only");
  REFUSED_BATCH("[{\"type\":\"a\"},]", 10, "malformed JSON");
  /* The exact sentence, line and column logd has always given (test_logd checks it
   * over HTTP too). */
  char err[400];
  event_list l;
  static const char dup[] = "{\"type\":\"x\",\"type\":\"y\"}";
  CHECK(event_parse_one(dup, sizeof dup - 1, &l, err, sizeof err) == EVENT_EINVAL);
  CHECK(!strcmp(err, "malformed JSON at line 1 column 18: an object has the same key twice"));
}

static void test_batch(void) {
  static const char body[] = "[ {\"type\":\"b\",\"z\":1,\"a\":[{\"y\":1,\"x\":2}]} ,\n{\"type\":\"a\"},{\"v\":-0,\"type\":\"c\"} ]";
  static const char *want[] = {"{\"a\":[{\"x\":2,\"y\":1}],\"type\":\"b\",\"z\":1}", "{\"type\":\"a\"}",
                               "{\"type\":\"c\",\"v\":0}"};
  char err[400];
  event_list l;
  CHECK_FATAL(event_parse_batch(body, sizeof body - 1, 3, &l, err, sizeof err) == EVENT_OK);
  CHECK_FATAL(l.count == 3);
  for (size_t i = 0; i < 3; i++) {
    CHECK(l.canon_len[i] == strlen(want[i]) && !strcmp(l.canon[i], want[i]));
  }
  /* One block owns everything; freeing leaves the list empty and may be repeated. */
  CHECK(l.mem != NULL);
  event_list_free(&l);
  CHECK(l.count == 0 && !l.canon && !l.canon_len && !l.mem);
  event_list_free(&l);
  event_list_free(NULL);
}

/* A body like bench/logd_bench.c's: 1,000 events, each the reference's bytes. */
static void test_bench_batch(void) {
  size_t cap = 200 * 1000 + 2, n = 0;
  char *body = malloc(cap);
  CHECK_FATAL(body != NULL);
  body[n++] = '[';
  for (int i = 0; i < 1000; i++)
    n += (size_t)snprintf(body + n, cap - n, "%s{\"type\":\"bench\",\"run\":%llu,\"n\":%d,\"user\":\"5f2b9c0d7e1a4b3c8d9e0f1a2b3c4d5e\"}",
                          i ? "," : "", 1234567ULL << 32, i);
  body[n++] = ']';
  char err[400];
  event_list a, b;
  CHECK_FATAL(event_parse_batch(body, n, 1000, &a, err, sizeof err) == EVENT_OK);
  CHECK_FATAL(event_parse_batch_ref(body, n, 1000, &b, err, sizeof err) == EVENT_OK);
  CHECK(a.count == 1000 && b.count == 1000);
  for (size_t i = 0; i < a.count && i < b.count; i++)
    CHECK(a.canon_len[i] == b.canon_len[i] && !memcmp(a.canon[i], b.canon[i], a.canon_len[i]));
  CHECK(!strcmp(a.canon[7], "{\"n\":7,\"run\":5302424889720832,\"type\":\"bench\",\"user\":\"5f2b9c0d7e1a4b3c8d9e0f1a2b3c4d5e\"}"));
  event_list_free(&a);
  event_list_free(&b);
  CHECK(event_parse_batch(body, n, 999, &a, err, sizeof err) == EVENT_EINVAL);
  CHECK(!strcmp(err, "add-batch takes at most 999 events"));
  free(body);
}

int main(void) {
  CHECK_RUN(test_sorted_compact);
  CHECK_RUN(test_string_escapes);
  CHECK_RUN(test_integers);
  CHECK_RUN(test_key_order);
  CHECK_RUN(test_depth);
  CHECK_RUN(test_refusals);
  CHECK_RUN(test_batch);
  CHECK_RUN(test_bench_batch);
  return check_finish();
}
