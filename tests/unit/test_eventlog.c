/* test_eventlog.c: dstack event log replay and app identity, on a real dstack GetQuote
 * response and on dstack's simulator data (tests/data/tdx). */
#include "dstack/eventlog.h"
#include "dstack/util.h"
#include "tests/lib/check.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static char testdata[512];

static uint8_t *load(const char *name, size_t *len) {
  char path[768], err[256];
  snprintf(path, sizeof path, "%s/%s", testdata, name);
  uint8_t *buf = dstack_read_file(path, 1 << 22, len, err, sizeof err);
  if (!buf) fprintf(stdout, "# cannot load %s: %s\n", path, err);
  return buf;
}

/* The real GetQuote response: quote bytes and the event log text. */
typedef struct report {
  uint8_t *quote;
  size_t quote_len;
  char *event_log;
} report;

static int load_report(report *r) {
  size_t len;
  memset(r, 0, sizeof *r);
  uint8_t *text = load("dstack-quote-report.json", &len);
  if (!text) return -1;
  json_t *root = json_loadb((const char *)text, len, 0, NULL);
  free(text);
  json_t *q = json_object_get(root, "quote"), *el = json_object_get(root, "event_log");
  if (!json_is_string(q) || !json_is_string(el)) {
    json_decref(root);
    return -1;
  }
  r->quote = malloc(json_string_length(q) / 2 + 1);
  r->event_log = strdup(json_string_value(el));
  long n = r->quote ? dstack_hex_decode(json_string_value(q), json_string_length(q), r->quote,
                                        json_string_length(q) / 2)
                    : -1;
  json_decref(root);
  if (n < 0 || !r->event_log) return -1;
  r->quote_len = (size_t)n;
  return 0;
}

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
  dstack_hex_encode(payload, 32, p);
  dstack_runtime_event_digest("compose-hash", payload, 32, d1);
  dstack_runtime_event_digest("system-ready", NULL, 0, d2);
  dstack_runtime_event_digest("compose-hash", payload, 31, d3);
  dstack_runtime_event_digest("app-id", payload, 20, d4);
  dstack_hex_encode(d1, 48, h1);
  dstack_hex_encode(d2, 48, h2);
  dstack_hex_encode(d3, 48, h3);
  dstack_hex_encode(d4, 48, h4);
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
  return check_finish();
}
