/* test_eventlog.c: dstack event log replay and app identity, on a real dstack GetQuote
 * response and on dstack's simulator data (tests/data/tdx). */
#include "dstack/eventlog.h"
#include "base/file.h"
#include "base/hex.h"
#include "tests/lib/check.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

static char testdata[512];

static uint8_t *load(const char *name, size_t *len) {
  char path[768], err[256];
  snprintf(path, sizeof path, "%s/%s", testdata, name);
  uint8_t *buf = NULL;
  if (xt_file_read(path, 1 << 22, &buf, len, err, sizeof err) != XT_OK)
    fprintf(stdout, "# cannot load %s: %s\n", path, err);
  return buf;
}

/* The real GetQuote response: quote bytes and the event log text. */
typedef struct report {
  uint8_t *quote;
  size_t quote_len;
  char *event_log;
} report;

static int load_report_file(report *r, const char *name) {
  size_t len;
  memset(r, 0, sizeof *r);
  uint8_t *text = load(name, &len);
  if (!text) return -1;
  json_t *root = json_loadb((const char *)text, len, 0, NULL);
  free(text);
  json_t *q = json_object_get(root, "quote"), *el = json_object_get(root, "event_log");
  if (!json_is_string(q) || !json_is_string(el)) {
    json_decref(root);
    return -1;
  }
  r->event_log = strdup(json_string_value(el));
  xt_err e = xt_hex_decode_alloc(json_string_value(q), XT_HEX_0X, &r->quote, &r->quote_len);
  json_decref(root);
  if (e != XT_OK || !r->event_log) return -1;
  return 0;
}

static int load_report(report *r) { return load_report_file(r, "dstack-quote-report.json"); }

static void free_report(report *r) {
  free(r->quote);
  free(r->event_log);
}

static void test_real_report_replays(void) {
  report r;
  char err[256];
  CHECK_FATAL(load_report(&r) == 0);
  tdx_quote q;
  CHECK_FATAL(tdx_quote_parse(&q, r.quote, r.quote_len, err, sizeof err) == 0);
  dstack_event_log log;
  CHECK_FATAL(dstack_event_log_parse(&log, r.event_log, strlen(r.event_log), err, sizeof err) == 0);
  CHECK(log.n == 28);
  CHECK(dstack_event_log_check_quote(&log, &q, err, sizeof err) == 0);
  dstack_app_identity id;
  CHECK(dstack_event_log_identity(&log, &id, err, sizeof err) == 0);
  CHECK(!strcmp(id.app_id, "3763bc34552cf3a27ff71ad5f7a90471562a1a2d"));
  CHECK(!strcmp(id.compose_hash,
                "3763bc34552cf3a27ff71ad5f7a90471562a1a2df552dfc1998cba2d60da27e7"));
  CHECK(!strcmp(id.instance_id, "c3714eb66990eace777b4e664c16e09375dec4c9"));
  CHECK(!strncmp(id.key_provider, "{\"name\":\"local-sgx\"", 19));
  /* report_data goes into the quote raw */
  CHECK(q.report_data[0] == 0x12 && q.report_data[1] == 0x34 && q.report_data[2] == 0);
  dstack_event_log_free(&log);
  free_report(&r);
}

static void test_tampered_log_rejected(void) {
  report r;
  char err[256];
  CHECK_FATAL(load_report(&r) == 0);
  tdx_quote q;
  CHECK_FATAL(tdx_quote_parse(&q, r.quote, r.quote_len, err, sizeof err) == 0);
  dstack_event_log log;

  /* A different compose hash in the payload: its digest no longer matches. */
  char *copy = strdup(r.event_log);
  CHECK_FATAL(copy);
  char *hit = strstr(copy, "\"event_payload\":\"3763bc34552cf3a27ff71ad5f7a90471562a1a2df552");
  CHECK_FATAL(hit);
  hit[strlen("\"event_payload\":\"")] = '4';
  CHECK_FATAL(dstack_event_log_parse(&log, copy, strlen(copy), err, sizeof err) == 0);
  CHECK(dstack_event_log_check_quote(&log, &q, err, sizeof err) != 0);
  CHECK(strstr(err, "compose-hash") != NULL);
  dstack_event_log_free(&log);
  free(copy);

  /* A changed firmware digest: RTMR0 no longer matches. */
  copy = strdup(r.event_log);
  CHECK_FATAL(copy);
  hit = strstr(copy, "8ae1e425351df799");
  CHECK_FATAL(hit);
  hit[0] = '9';
  CHECK_FATAL(dstack_event_log_parse(&log, copy, strlen(copy), err, sizeof err) == 0);
  CHECK(dstack_event_log_check_quote(&log, &q, err, sizeof err) != 0);
  CHECK(strstr(err, "RTMR0") != NULL);
  dstack_event_log_free(&log);
  free(copy);

  /* A dropped event: RTMR3 no longer matches. */
  CHECK_FATAL(dstack_event_log_parse(&log, r.event_log, strlen(r.event_log), err, sizeof err) == 0);
  log.n--;
  CHECK(dstack_event_log_check_quote(&log, &q, err, sizeof err) != 0);
  CHECK(strstr(err, "RTMR3") != NULL);
  log.n++;
  dstack_event_log_free(&log);
  free_report(&r);
}

static void test_sim_log_replays(void) {
  size_t hex_len, len, el_len;
  char err[256];
  uint8_t *hex = load("sim-quote.hex", &hex_len);
  uint8_t *el = load("sim-eventlog.json", &el_len);
  CHECK_FATAL(hex && el);
  uint8_t *buf = tdx_quote_decode_file_bytes(hex, hex_len, &len, err, sizeof err);
  CHECK_FATAL(buf);
  tdx_quote q;
  CHECK_FATAL(tdx_quote_parse(&q, buf, len, err, sizeof err) == 0);
  dstack_event_log log;
  CHECK_FATAL(dstack_event_log_parse(&log, (const char *)el, el_len, err, sizeof err) == 0);
  CHECK(dstack_event_log_check_quote(&log, &q, err, sizeof err) == 0);
  dstack_app_identity id;
  CHECK(dstack_event_log_identity(&log, &id, err, sizeof err) == 0);
  CHECK(!strcmp(id.app_id, "ea549f02e1a25fabd1cb788380e033ec5461b2ff"));
  CHECK(!strcmp(id.compose_hash,
                "ea549f02e1a25fabd1cb788380e033ec5461b2ffe4328d753642cf035452e48b"));
  CHECK(!strncmp(id.key_provider, "{\"name\":\"kms\"", 13));
  dstack_event_log_free(&log);
  free(buf);
  free(el);
  free(hex);
}

/* Only boot events count: a compose-hash emitted after system-ready is ignored, and a
 * repeated one before it is an error. */
static void test_identity_rules(void) {
  uint8_t payload[32], d1[48], d2[48], d3[48], d4[48];
  char err[256], h1[97], h2[97], h3[97], h4[97], p[65], json[2048];
  memset(payload, 0xab, sizeof payload);
  xt_hex_encode(payload, 32, p);
  dstack_runtime_event_digest("compose-hash", payload, 32, d1);
  dstack_runtime_event_digest("system-ready", NULL, 0, d2);
  dstack_runtime_event_digest("compose-hash", payload, 31, d3);
  dstack_runtime_event_digest("app-id", payload, 20, d4);
  xt_hex_encode(d1, 48, h1);
  xt_hex_encode(d2, 48, h2);
  xt_hex_encode(d3, 48, h3);
  xt_hex_encode(d4, 48, h4);
#define EV(d, name, pl) \
  "{\"imr\":3,\"event_type\":134217729,\"digest\":\"" d "\",\"event\":\"" name "\",\"event_payload\":\"" pl "\"}"
  snprintf(json, sizeof json, "[" EV("%s", "compose-hash", "%s") "," EV("%s", "system-ready", "")
           "," EV("%s", "compose-hash", "%.62s") "]", h1, p, h2, h3, p);
  dstack_event_log log;
  dstack_app_identity id;
  CHECK_FATAL(dstack_event_log_parse(&log, json, strlen(json), err, sizeof err) == 0);
  uint8_t rtmr[4][48];
  CHECK(dstack_event_log_replay(&log, rtmr, err, sizeof err) == 0);
  CHECK(dstack_event_log_identity(&log, &id, err, sizeof err) == 0);
  CHECK(!strcmp(id.compose_hash, p));
  CHECK(id.app_id[0] == '\0');
  dstack_event_log_free(&log);

  snprintf(json, sizeof json, "[" EV("%s", "compose-hash", "%s") "," EV("%s", "compose-hash", "%.62s")
           "]", h1, p, h3, p);
  CHECK_FATAL(dstack_event_log_parse(&log, json, strlen(json), err, sizeof err) == 0);
  CHECK(dstack_event_log_identity(&log, &id, err, sizeof err) != 0);
  dstack_event_log_free(&log);

  /* event_log given as a JSON string holding the array, as GetQuote returns it */
  json_t *s = json_string("[" EV("00", "x", "") "]");
  char *wrapped = json_dumps(s, JSON_ENCODE_ANY);
  CHECK(dstack_event_log_parse(&log, wrapped, strlen(wrapped), err, sizeof err) != 0); /* bad digest */
  free(wrapped);
  json_decref(s);
  snprintf(json, sizeof json, "[" EV("%s", "app-id", "%.40s") "]", h4, p);
  s = json_string(json);
  wrapped = json_dumps(s, JSON_ENCODE_ANY);
  CHECK_FATAL(dstack_event_log_parse(&log, wrapped, strlen(wrapped), err, sizeof err) == 0);
  CHECK(dstack_event_log_identity(&log, &id, err, sizeof err) == 0);
  CHECK(strlen(id.app_id) == 40);
  dstack_event_log_free(&log);
  free(wrapped);
  json_decref(s);
#undef EV

  const char *bad[] = {"", "{}", "[1]", "[{\"imr\":4,\"event_type\":1,\"digest\":\"00\"}]",
                       "[{\"imr\":0,\"event_type\":1,\"digest\":\"zz\"}]", "[{\"imr\":-1}]"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    CHECK(dstack_event_log_parse(&log, bad[i], strlen(bad[i]), err, sizeof err) != 0);
}

/* dstack 0.6.0 on TDX hardware: runtime events without digests, the newer RTMR3 events.
 * Expected values: tests/data/tdx/README.md. */
static void test_dstack_060_replays(void) {
  report r;
  char err[256];
  CHECK_FATAL(load_report_file(&r, "dstack-0.6.0-getquote.json") == 0);
  tdx_quote q;
  CHECK_FATAL(tdx_quote_parse(&q, r.quote, r.quote_len, err, sizeof err) == 0);
  dstack_event_log log;
  CHECK_FATAL(dstack_event_log_parse(&log, r.event_log, strlen(r.event_log), err, sizeof err) ==
              DSTACK_OK);
  CHECK(log.n == 29);
  size_t runtime = 0;
  for (size_t i = 0; i < log.n; i++) {
    if (log.events[i].event_type != DSTACK_RUNTIME_EVENT_TYPE) continue;
    runtime++;
    CHECK(!log.events[i].digest_given && log.events[i].version == DSTACK_EVENT_V1);
  }
  CHECK(runtime == 9);
  CHECK(dstack_event_log_check_quote(&log, &q, err, sizeof err) == DSTACK_OK);
  dstack_app_identity id;
  CHECK(dstack_event_log_identity(&log, &id, err, sizeof err) == DSTACK_OK);
  CHECK(!strcmp(id.compose_hash, "86b0e55f2fa8e4fb69d890f14f54d5612707646e2573d54e0d2ddaaade77caa9"));
  CHECK(!strcmp(id.app_id, "86b0e55f2fa8e4fb69d890f14f54d5612707646e"));
  CHECK(!strcmp(id.instance_id, "050bf89570575fe8fab4cb8f0a62a9e64efe8ead"));
  CHECK(!strcmp(id.os_image_hash, "07a2388c7a6a1b6a646d443f1517990a4ec294471d63146cda9d56972765051d"));
  CHECK(!strcmp(id.key_provider_name, "kms"));
  CHECK(!strcmp(id.key_provider_id,
                "3059301306072a8648ce3d020106082a8648ce3d030107034200042f71e234d7339a1ceaca09c3c3"
                "91eb816c533f980adaab34f16ead093ff0ac100d9c03253a3056f6d27735125433180b3e61c54a78"
                "f3fd13337869e0051dee06"));
  CHECK(!strcmp(id.storage_fs, "zfs"));
  CHECK(id.gpu_policy_hash[0] == '\0');
  dstack_event_log_free(&log);

  /* every RTMR3 event with its payload altered (a byte appended) no longer replays */
  json_t *arr = json_loads(r.event_log, 0, NULL);
  CHECK_FATAL(json_is_array(arr));
  size_t altered = 0;
  for (size_t i = 0; i < json_array_size(arr); i++) {
    json_t *ev = json_array_get(arr, i);
    if (json_integer_value(json_object_get(ev, "imr")) != 3) continue;
    json_t *copy = json_deep_copy(arr);
    json_t *cev = json_array_get(copy, i);
    char *pl = NULL;
    CHECK_FATAL(asprintf(&pl, "%s00", json_string_value(json_object_get(cev, "event_payload"))) > 0);
    json_object_set_new(cev, "event_payload", json_string(pl));
    char *text = json_dumps(copy, JSON_COMPACT);
    CHECK_FATAL(text);
    CHECK(dstack_event_log_parse(&log, text, strlen(text), err, sizeof err) == DSTACK_OK);
    CHECK(dstack_event_log_check_quote(&log, &q, err, sizeof err) == DSTACK_EMISMATCH);
    CHECK(strstr(err, "RTMR3") != NULL);
    dstack_event_log_free(&log);
    altered++;
    free(text);
    free(pl);
    json_decref(copy);
  }
  CHECK(altered == 9);
  json_decref(arr);
  free_report(&r);
}

/* The version-2 (JCS) preimages, with the exact strings of dstack's own tests
 * (cc-eventlog/src/runtime_events.rs), and the version-1 form. */
static void test_runtime_preimages(void) {
  static const struct {
    const char *name;
    const char *payload_hex;
    const char *want;
  } v2[] = {
      {"compose-hash", "abcd", "{\"name\":\"compose-hash\",\"payload\":\"abcd\",\"type\":134217729}"},
      {"event\"with\\special\nchars", "ff",
       "{\"name\":\"event\\\"with\\\\special\\nchars\",\"payload\":\"ff\",\"type\":134217729}"},
      {"", "", "{\"name\":\"\",\"payload\":\"\",\"type\":134217729}"},
      {"\x08\x0c\n\r\t\x01\x1f", "",
       "{\"name\":\"\\b\\f\\n\\r\\t\\u0001\\u001f\",\"payload\":\"\",\"type\":134217729}"},
      {"\xe6\xb5\x8b\xe8\xaf\x95-emoji-\xf0\x9f\xa6\x80/\x7f", "abcdef",
       "{\"name\":\"\xe6\xb5\x8b\xe8\xaf\x95-emoji-\xf0\x9f\xa6\x80/\x7f\",\"payload\":\"abcdef\","
       "\"type\":134217729}"},
  };
  for (size_t i = 0; i < sizeof v2 / sizeof v2[0]; i++) {
    uint8_t payload[8], *pre = NULL, d[48], want[48];
    size_t plen = 0, pre_len = 0;
    CHECK_FATAL(xt_hex_decode(v2[i].payload_hex, strlen(v2[i].payload_hex), 0, payload,
                              sizeof payload, &plen) == XT_OK);
    CHECK_FATAL(dstack_runtime_event_preimage(DSTACK_EVENT_V2, v2[i].name, payload, plen, &pre,
                                              &pre_len) == DSTACK_OK);
    CHECK(pre_len == strlen(v2[i].want) && memcmp(pre, v2[i].want, pre_len) == 0);
    free(pre);
    CHECK(dstack_runtime_event_digest_v(DSTACK_EVENT_V2, v2[i].name, payload, plen, d) ==
          DSTACK_OK);
    unsigned int n = 0;
    CHECK(EVP_Digest(v2[i].want, strlen(v2[i].want), want, &n, EVP_sha384(), NULL) == 1);
    CHECK_EQ_MEM(d, want, 48);
  }
  /* version 1: u32le(type) ":" name ":" payload, as dstack's v1_digest_unchanged */
  static const uint8_t v1_want[] = {0x01, 0x00, 0x00, 0x08, ':', 'a', 'p', 'p', '-', 'i', 'd',
                                    ':', 0xde, 0xad, 0xbe, 0xef};
  uint8_t *pre = NULL, d1[48], d2[48];
  size_t pre_len = 0;
  CHECK_FATAL(dstack_runtime_event_preimage(DSTACK_EVENT_V1, "app-id", v1_want + 12, 4, &pre,
                                            &pre_len) == DSTACK_OK);
  CHECK(pre_len == sizeof v1_want && memcmp(pre, v1_want, sizeof v1_want) == 0);
  free(pre);
  dstack_runtime_event_digest("app-id", v1_want + 12, 4, d1);
  CHECK(dstack_runtime_event_digest_v(DSTACK_EVENT_V2, "app-id", v1_want + 12, 4, d2) == 0);
  CHECK(memcmp(d1, d2, 48) != 0);
  CHECK(dstack_runtime_event_preimage((dstack_event_version)3, "x", NULL, 0, &pre, &pre_len) ==
        DSTACK_EMALFORMED);
}

/* RTMR3 over events, computed here from the published digest definitions. */
static void expect_rtmr3(const char *const *preimages, size_t n, uint8_t out[48]) {
  memset(out, 0, 48);
  for (size_t i = 0; i < n; i++) {
    uint8_t d[48], buf[96];
    unsigned int len = 0;
    EVP_Digest(preimages[i], strlen(preimages[i]), d, &len, EVP_sha384(), NULL);
    memcpy(buf, out, 48);
    memcpy(buf + 48, d, 48);
    EVP_Digest(buf, 96, out, &len, EVP_sha384(), NULL);
  }
}

static dstack_err parse_text(dstack_event_log *log, const char *text, char *err, size_t cap) {
  return dstack_event_log_parse(log, text, strlen(text), err, cap);
}

/* Event log version 2 (app-compose "event_log_version": 2): "version":2 per event. */
static void test_v2_event_log(void) {
#define RT(ver, name, pl, extra)                                                            \
  "{\"imr\":3,\"event_type\":134217729,\"digest\":\"\",\"event\":\"" name "\","            \
  "\"event_payload\":\"" pl "\"" ver extra "}"
  static const char log_text[] = "[" RT(",\"version\":2", "app-id", "1122", "") ","
      RT(",\"version\":2", "compose-hash", "abcd", "") "," RT("", "instance-id", "33", "") ","
      RT(",\"version\":2", "system-ready", "", "") "]";
  static const char *const pre[] = {
      "{\"name\":\"app-id\",\"payload\":\"1122\",\"type\":134217729}",
      "{\"name\":\"compose-hash\",\"payload\":\"abcd\",\"type\":134217729}",
      "\x01\x00\x00\x08:instance-id:\x33", /* a version-1 event among them */
      "{\"name\":\"system-ready\",\"payload\":\"\",\"type\":134217729}"};
  char err[256];
  dstack_event_log log;
  uint8_t rtmr[4][48], want[48];
  CHECK_FATAL(parse_text(&log, log_text, err, sizeof err) == DSTACK_OK);
  CHECK(log.events[0].version == DSTACK_EVENT_V2 && log.events[2].version == DSTACK_EVENT_V1);
  CHECK(dstack_event_log_replay(&log, rtmr, err, sizeof err) == DSTACK_OK);
  /* the V1 preimage holds a NUL: hash it with its length */
  memset(want, 0, 48);
  {
    uint8_t d[48], buf[96];
    unsigned int len = 0;
    for (size_t i = 0; i < 4; i++) {
      size_t plen = i == 2 ? 4 + 1 + 11 + 1 + 1 : strlen(pre[i]);
      EVP_Digest(pre[i], plen, d, &len, EVP_sha384(), NULL);
      memcpy(buf, want, 48);
      memcpy(buf + 48, d, 48);
      EVP_Digest(buf, 96, want, &len, EVP_sha384(), NULL);
    }
  }
  CHECK_EQ_MEM(rtmr[3], want, 48);
  dstack_app_identity id;
  CHECK(dstack_event_log_identity(&log, &id, err, sizeof err) == DSTACK_OK);
  CHECK(!strcmp(id.app_id, "1122") && !strcmp(id.compose_hash, "abcd") &&
        !strcmp(id.instance_id, "33"));
  dstack_event_log_free(&log);

  /* the same events read as version 1 replay elsewhere */
  expect_rtmr3(pre, 2, want);
  static const char as_v1[] = "[" RT("", "app-id", "1122", "") "," RT("", "compose-hash", "abcd", "") "]";
  CHECK_FATAL(parse_text(&log, as_v1, err, sizeof err) == DSTACK_OK);
  CHECK(dstack_event_log_replay(&log, rtmr, err, sizeof err) == DSTACK_OK);
  CHECK(memcmp(rtmr[3], want, 48) != 0);
  dstack_event_log_free(&log);

  /* a correct preimage is accepted; a wrong one (the version-1 bytes, or another payload)
   * is refused; unknown versions are refused */
  static const char good_pre[] = "[" RT(",\"version\":2", "app-id", "1122",
      ",\"preimage\":\"7b226e616d65223a226170702d6964222c227061796c6f6164223a2231313232222c2274"
      "797065223a3133343231373732397d\"") "]";
  CHECK(parse_text(&log, good_pre, err, sizeof err) == DSTACK_OK);
  dstack_event_log_free(&log);
  static const char v1_pre[] = "[" RT(",\"version\":2", "app-id", "1122",
                                      ",\"preimage\":\"010000083a6170702d69643a1122\"") "]";
  CHECK(parse_text(&log, v1_pre, err, sizeof err) == DSTACK_EDIGEST);
  CHECK(strstr(err, "preimage") != NULL);
  static const char v1_ok[] = "[" RT("", "app-id", "1122",
                                     ",\"preimage\":\"010000083a6170702d69643a1122\"") "]";
  CHECK(parse_text(&log, v1_ok, err, sizeof err) == DSTACK_OK);
  dstack_event_log_free(&log);
  static const char bad_version[] = "[" RT(",\"version\":3", "app-id", "1122", "") "]";
  CHECK(parse_text(&log, bad_version, err, sizeof err) == DSTACK_EMALFORMED);
  static const char zero_version[] = "[" RT(",\"version\":0", "app-id", "1122", "") "]";
  CHECK(parse_text(&log, zero_version, err, sizeof err) == DSTACK_EMALFORMED);
  /* a given digest must equal the computed one; a firmware event needs its digest */
  static const char wrong_digest[] =
      "[{\"imr\":3,\"event_type\":134217729,\"version\":2,\"event\":\"app-id\","
      "\"event_payload\":\"1122\",\"digest\":\"" "000000000000000000000000000000000000000000000000"
      "000000000000000000000000000000000000000000000000\"}]";
  CHECK_FATAL(parse_text(&log, wrong_digest, err, sizeof err) == DSTACK_OK);
  CHECK(dstack_event_log_replay(&log, rtmr, err, sizeof err) == DSTACK_EDIGEST);
  CHECK(strstr(err, "app-id") != NULL);
  dstack_event_log_free(&log);
  static const char no_digest_fw[] = "[{\"imr\":0,\"event_type\":1,\"event\":\"\",\"event_payload\":\"\"}]";
  CHECK(parse_text(&log, no_digest_fw, err, sizeof err) == DSTACK_EMALFORMED);
  static const char absent_digest[] = "[{\"imr\":3,\"event_type\":134217729,\"event\":\"x\"}]";
  CHECK(parse_text(&log, absent_digest, err, sizeof err) == DSTACK_OK);
  dstack_event_log_free(&log);
#undef RT
}

int main(void) {
  const char *env = getenv("XT_TESTDATA");
  const char *root = getenv("XT_ROOT");
  if (env)
    snprintf(testdata, sizeof testdata, "%s/tdx", env);
  else if (root)
    snprintf(testdata, sizeof testdata, "%s/tests/data/tdx", root);
  else
    snprintf(testdata, sizeof testdata, "tests/data/tdx");
  CHECK_RUN(test_real_report_replays);
  CHECK_RUN(test_tampered_log_rejected);
  CHECK_RUN(test_sim_log_replays);
  CHECK_RUN(test_identity_rules);
  CHECK_RUN(test_dstack_060_replays);
  CHECK_RUN(test_runtime_preimages);
  CHECK_RUN(test_v2_event_log);
  return check_finish();
}
