/* test_collector: the collector against a real logd and mock-tiktok, on 127.0.0.1.
 *
 * The collector under test is collector-test (the release sources with the egress
 * pointed at the mock). Every case ends by checking the mock's record of requests: no
 * request ever reached /api/direct_messages, and every request that did arrive has an
 * api_call intent in the log that was sequenced before the request was received. */
#include <arpa/inet.h>
#include <jansson.h>
#include <limits.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <dirent.h>
#include <unistd.h>

#include "collector/keys.h"
#include "dstack/attest.h"
#include "dstack/guest.h"
#include "tests/integration/logd_fixture.h"
#include "tests/lib/check.h"
#include "tests/lib/http.h"
#include "tests/lib/proc.h"

#define ARCHIVE_TOKEN "archive-test-token-0123456789"
#define LOGD_TIMEOUT_MS "1000"

static logd_fx L;
static proc mock, col;
static char dir[PATH_MAX], record_path[PATH_MAX + 32], coldir[PATH_MAX + 32];
static char mock_log[PATH_MAX + 32], col_log[PATH_MAX + 32], col_out[PATH_MAX + 32];
static unsigned mock_port, col_port;
static uint8_t pseudonym_key[32];
static proc sim;
static char sim_sock[PATH_MAX + 32], submitters_path[PATH_MAX + 32];
static const char app_compose[] = "{\"name\":\"xordi-collector-test\",\"runner\":\"docker-compose\"}";
#define LOGD_TOKEN_PATH "xordi-tlog/logd/submitter-token/collector/v1"
/* The collector's --logd-token for GetKey(LOGD_TOKEN_PATH), outside any argv list. */
static const char logd_token_getkey[] = "getkey:" LOGD_TOKEN_PATH;
/* Every collector started here has its own pseudonym key; requests are matched to
 * intents under any of them. */
static uint8_t known_keys[8][32];
static size_t n_known_keys;

static void add_known_key(const uint8_t k[32]) {
  if (n_known_keys < 8) memcpy(known_keys[n_known_keys++], k, 32);
}

static const char *bin(const char *name, char *buf, size_t cap) {
  const char *b = getenv("BIN");
  snprintf(buf, cap, "%s/%s", b && *b ? b : "bin", name);
  return buf;
}

static int start_mock(const char *mode) {
  if (mock.pid) proc_stop(&mock, 5000);
  char b[PATH_MAX], listen[64];
  snprintf(listen, sizeof listen, "127.0.0.1:%u", mock_port);
  const char *argv[] = {bin("mock-tiktok", b, sizeof b), "--listen", listen, "--record",
                        record_path, "--mode", mode, NULL};
  if (proc_spawn(&mock, argv, NULL, NULL, mock_log, 1)) return -1;
  return proc_wait_port(&mock, "127.0.0.1", mock_port, 10000);
}

static int spawn_collector(proc *p, const char *data, unsigned port, const char *logd_token,
                           const char *out_path) {
  char b[PATH_MAX], listen[64], api[64], logd_base[64];
  snprintf(listen, sizeof listen, "127.0.0.1:%u", port);
  snprintf(api, sizeof api, "http://127.0.0.1:%u", mock_port);
  snprintf(logd_base, sizeof logd_base, "%s", L.base);
  const char *argv[] = {bin("collector-test", b, sizeof b), "--listen", listen, "--data", data,
                        "--logd", logd_base, "--logd-token", logd_token, "--archive-token",
                        ARCHIVE_TOKEN, "--dev", "--api-base", api, "--logd-timeout-ms",
                        LOGD_TIMEOUT_MS, NULL};
  return proc_spawn(p, argv, NULL, out_path, col_log, 1);
}

/* --- helpers ------------------------------------------------------------------------ */

static long api(const char *method, const char *path, const char *body, json_t **out) {
  char url[8192], auth[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%u%s", col_port, path);
  snprintf(auth, sizeof auth, "Authorization: Bearer %s", ARCHIVE_TOKEN);
  const char *h[] = {auth, "Content-Type: application/json", NULL};
  http_client *c = http_client_new();
  http_resp r;
  memset(&r, 0, sizeof r);
  http_request(c, method, url, h, body, body ? strlen(body) : 0, 30000, &r);
  http_client_free(c);
  if (out) *out = r.body ? json_loadb(r.body, r.len, 0, NULL) : NULL;
  long st = r.status;
  http_resp_free(&r);
  return st;
}

/* Sends bytes as they are (no client-side normalisation) and returns the status. */
static long raw_request(const char *req, size_t len) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) return -1;
  struct sockaddr_in sa = {0};
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)col_port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  struct timeval tv = {10, 0};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (connect(s, (struct sockaddr *)&sa, sizeof sa) != 0 || write(s, req, len) != (ssize_t)len) {
    close(s);
    return -1;
  }
  char buf[256];
  ssize_t n = read(s, buf, sizeof buf - 1);
  close(s);
  if (n < 12) return 0;
  buf[n] = 0;
  return strtol(buf + 9, NULL, 10);
}

static long raw_delete(const char *target) {
  char req[16384];
  int n = snprintf(req, sizeof req,
                   "DELETE %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " ARCHIVE_TOKEN
                   "\r\nConnection: close\r\n\r\n", target);
  return raw_request(req, (size_t)n);
}

static json_t *record_lines(void) {
  json_t *arr = json_array();
  char *text = proc_read_file(record_path, NULL);
  if (!text) return arr;
  char *save = NULL;
  for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    json_t *o = json_loads(line, 0, NULL);
    if (o) json_array_append_new(arr, o);
    else json_array_append_new(arr, json_string(line)); /* keeps the count honest */
  }
  free(text);
  return arr;
}

static size_t record_count(void) {
  json_t *a = record_lines();
  size_t n = json_array_size(a);
  json_decref(a);
  return n;
}

/* All entries of the log: an array of {"index":I,"event":{...},"ts_ms":T}. */
static json_t *log_entries(void) {
  json_t *out = json_array();
  for (int start = 0;; start += 1000) {
    char path[128];
    snprintf(path, sizeof path, "/v1/entries?start=%d&count=1000", start);
    http_resp r;
    if (fx_get(&L, path, &r) != 200) { http_resp_free(&r); break; }
    json_t *o = fx_json(&r);
    http_resp_free(&r);
    json_t *es = json_object_get(o, "entries");
    size_t i;
    json_t *e;
    json_array_foreach(es, i, e) {
      json_t *entry = json_loads(json_string_value(json_object_get(e, "entry")), 0, NULL);
      json_array_append_new(out, json_pack("{s:O, s:O, s:O, s:O}", "index",
                                           json_object_get(e, "index"), "event",
                                           json_object_get(entry, "event"), "ts_ms",
                                           json_object_get(entry, "ts_ms"), "submitter",
                                           json_object_get(entry, "submitter")));
      json_decref(entry);
    }
    size_t got = json_array_size(es);
    json_decref(o);
    if (got < 1000) break;
  }
  return out;
}

/* Entries sequenced so far (the checkpoint in /v1/log may lag behind). */
static long log_size(void) {
  json_t *es = log_entries();
  long n = (long)json_array_size(es);
  json_decref(es);
  return n;
}

static json_t *entry_at(json_t *entries, json_int_t index) {
  size_t i;
  json_t *e;
  json_array_foreach(entries, i, e)
    if (json_integer_value(json_object_get(e, "index")) == index) return json_object_get(e, "event");
  return NULL;
}

static void pseudonym(const char *username, char out[65]) {
  uint8_t mac[32];
  unsigned n = 0;
  HMAC(EVP_sha256(), pseudonym_key, 32, (const uint8_t *)username, strlen(username), mac, &n);
  check_hex(mac, 32, out);
}

static void sha256_hex(const char *s, size_t len, char out[65]) {
  uint8_t d[32];
  unsigned n = 0;
  EVP_Digest(s, len, d, &n, EVP_sha256(), NULL);
  check_hex(d, 32, out);
}

static long add_credential(const char *username, const char *cookie, json_t **out) {
  json_t *b = json_pack("{s:s, s:s}", "username", username, "cookie", cookie);
  char *s = json_dumps(b, JSON_COMPACT);
  json_decref(b);
  long st = api("POST", "/v1/credentials", s, out);
  free(s);
  return st;
}

/* Finds an unclaimed intent for this request (same user pseudonym under key, same query,
 * sequenced no later than the mock received the request) and claims it. */
static int claim_intent(json_t *entries, char *used, const uint8_t key[32], const char *user,
                        const char *query, json_int_t request_ts) {
  char pu[65] = "";
  if (user) {
    uint8_t mac[32];
    unsigned n = 0;
    HMAC(EVP_sha256(), key, 32, (const uint8_t *)user, strlen(user), mac, &n);
    check_hex(mac, 32, pu);
  }
  size_t j;
  json_t *e;
  json_array_foreach(entries, j, e) {
    json_t *ev = json_object_get(e, "event");
    if (used[j] || strcmp(json_string_value(json_object_get(ev, "type")) ?: "", "api_call") ||
        strcmp(json_string_value(json_object_get(ev, "phase")) ?: "", "intent"))
      continue;
    if (strcmp(json_string_value(json_object_get(ev, "user")) ?: "", pu) ||
        strcmp(json_string_value(json_object_get(ev, "query")) ?: "", query ? query : "") ||
        strcmp(json_string_value(json_object_get(ev, "path")) ?: "", "/api/watch_history") ||
        json_integer_value(json_object_get(e, "ts_ms")) > request_ts)
      continue;
    used[j] = 1;
    return 1;
  }
  return 0;
}

/* Asserts the two invariants every case must leave behind. */
static void check_record_invariants(void) {
  json_t *rec = record_lines();
  json_t *entries = log_entries();
  char *used = calloc(json_array_size(entries) + 1, 1);
  size_t i;
  json_t *r;
  json_array_foreach(rec, i, r) {
    CHECK(json_is_object(r));
    const char *path = json_string_value(json_object_get(r, "path"));
    const char *endpoint = json_string_value(json_object_get(r, "endpoint"));
    CHECK(path && !strcasestr(path, "direct") && !strcasestr(path, "message"));
    CHECK(endpoint && !strcmp(endpoint, "watch_history"));
    CHECK(path && !strcmp(path, "/api/watch_history"));
    CHECK(!strcmp(json_string_value(json_object_get(r, "method")), "GET"));
    /* A matching intent: same user (pseudonym), same query, sequenced before the mock
     * received the request, not already claimed by another request. */
    const char *user = json_string_value(json_object_get(r, "user"));
    const char *query = json_string_value(json_object_get(r, "query"));
    json_int_t rts = json_integer_value(json_object_get(r, "ts_ms"));
    int matched = 0;
    for (size_t k = 0; k < n_known_keys && !matched; k++)
      matched = claim_intent(entries, used, known_keys[k], user, query, rts);
    if (!matched) {
      char *line = json_dumps(r, JSON_COMPACT);
      printf("#   request without a prior intent: %s\n", line ? line : "?");
      free(line);
    }
    CHECK(matched);
  }
  /* And every result comes after its intent. */
  json_array_foreach(entries, i, r) {
    json_t *ev = json_object_get(r, "event");
    if (strcmp(json_string_value(json_object_get(ev, "phase")) ?: "", "result")) continue;
    const char *cid = json_string_value(json_object_get(ev, "call_id"));
    json_int_t ri = json_integer_value(json_object_get(r, "index"));
    int found = 0;
    size_t j;
    json_t *e;
    json_array_foreach(entries, j, e) {
      json_t *iv = json_object_get(e, "event");
      if (!strcmp(json_string_value(json_object_get(iv, "phase")) ?: "", "intent") &&
          !strcmp(json_string_value(json_object_get(iv, "call_id")) ?: "", cid ? cid : "-"))
        found = json_integer_value(json_object_get(e, "index")) < ri;
    }
    CHECK(found);
  }
  free(used);
  json_decref(rec);
  json_decref(entries);
}

/* --- cases -------------------------------------------------------------------------- */

static void test_happy_path(void) {
  json_t *o = NULL;
  long before = log_size();
  CHECK_FATAL(add_credential("alice", "sessionid=alice-secret", &o) == 200);
  char pu[65], csha[65];
  pseudonym("alice", pu);
  sha256_hex("sessionid=alice-secret", strlen("sessionid=alice-secret"), csha);
  CHECK(!strcmp(json_string_value(json_object_get(o, "user")) ?: "", pu));
  json_int_t intake_index = json_integer_value(json_object_get(o, "index"));
  json_decref(o);
  /* Durable before the answer: the entry is readable as soon as we have the answer. */
  json_t *entries = log_entries();
  json_t *ev = entry_at(entries, intake_index);
  CHECK_FATAL(ev != NULL);
  CHECK(intake_index >= before);
  CHECK(!strcmp(json_string_value(json_object_get(ev, "type")), "credential_intake"));
  CHECK(!strcmp(json_string_value(json_object_get(ev, "user")), pu));
  CHECK(!strcmp(json_string_value(json_object_get(ev, "cookie_sha256")), csha));
  CHECK(json_string_length(json_object_get(ev, "request_id")) == 32);
  json_decref(entries);

  size_t rec_before = record_count();
  CHECK_FATAL(api("POST", "/v1/collect", "{\"username\":\"alice\",\"count\":3,\"cursor\":\"5\"}", &o) == 200);
  json_t *videos = json_object_get(json_object_get(json_object_get(o, "data"), "data"), "videos");
  CHECK(json_array_size(videos) == 3);
  json_int_t ii = json_integer_value(json_object_get(o, "intent_index"));
  json_int_t ri = json_integer_value(json_object_get(o, "result_index"));
  CHECK(ii > intake_index && ri > ii);
  json_decref(o);
  json_t *rec = record_lines();
  CHECK(json_array_size(rec) == rec_before + 1);
  json_t *last = json_array_get(rec, json_array_size(rec) - 1);
  CHECK(!strcmp(json_string_value(json_object_get(last, "user")) ?: "", "alice"));
  CHECK(!strcmp(json_string_value(json_object_get(last, "query")) ?: "", "count=3&cursor=5"));
  entries = log_entries();
  json_t *intent = entry_at(entries, ii), *result = entry_at(entries, ri);
  CHECK_FATAL(intent && result);
  CHECK(!strcmp(json_string_value(json_object_get(intent, "phase")), "intent"));
  CHECK(!strcmp(json_string_value(json_object_get(intent, "endpoint")), "watch_history"));
  CHECK(!strcmp(json_string_value(json_object_get(intent, "method")), "GET"));
  CHECK(!strcmp(json_string_value(json_object_get(intent, "path")), "/api/watch_history"));
  CHECK(!strcmp(json_string_value(json_object_get(intent, "user")), pu));
  CHECK(!strcmp(json_string_value(json_object_get(result, "phase")), "result"));
  CHECK(json_integer_value(json_object_get(result, "status")) == 200);
  CHECK(json_integer_value(json_object_get(result, "bytes")) > 0);
  CHECK(json_equal(json_object_get(intent, "call_id"), json_object_get(result, "call_id")));
  json_decref(entries);
  json_decref(rec);

  /* Default count, no cursor. */
  CHECK(api("POST", "/v1/collect", "{\"username\":\"alice\"}", NULL) == 200);
  /* A user without a credential: 404 and no request. */
  size_t n = record_count();
  CHECK(api("POST", "/v1/collect", "{\"username\":\"nobody\"}", NULL) == 404);
  CHECK(record_count() == n);
  check_record_invariants();
}

static int file_contains(const char *path, const char *needle) {
  size_t len = 0;
  char *d = proc_read_file(path, &len);
  if (!d) return 0;
  size_t nl = strlen(needle);
  int found = 0;
  for (size_t i = 0; !found && len >= nl && i <= len - nl; i++) found = !memcmp(d + i, needle, nl);
  free(d);
  return found;
}

static int tree_contains(const char *root, const char *needle) {
  DIR *d = opendir(root);
  if (!d) return file_contains(root, needle);
  int found = 0;
  struct dirent *e;
  while (!found && (e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", root, e->d_name);
    struct stat st;
    if (lstat(p, &st) != 0) continue;
    found = S_ISDIR(st.st_mode) ? tree_contains(p, needle) : file_contains(p, needle);
  }
  closedir(d);
  return found;
}

static void test_no_plaintext_anywhere(void) {
  const char *user = "zq_canary.user", *cookie = "sessionid=zq_canary.user-secret; tt=QmCanary77";
  CHECK_FATAL(add_credential(user, cookie, NULL) == 200);
  CHECK(api("POST", "/v1/collect", "{\"username\":\"zq_canary.user\",\"count\":1}", NULL) == 200);
  CHECK(api("DELETE", "/v1/credentials/zq_canary.user", NULL, NULL) == 200);
  CHECK_FATAL(add_credential(user, cookie, NULL) == 200);
  /* The collector's disk, its log lines, and logd's disk and log lines. */
  CHECK(!tree_contains(coldir, "zq_canary"));
  CHECK(!tree_contains(coldir, "QmCanary77"));
  CHECK(!file_contains(col_log, "zq_canary"));
  CHECK(!file_contains(col_log, "QmCanary77"));
  CHECK(!tree_contains(L.dir, "zq_canary"));
  CHECK(!tree_contains(L.dir, "QmCanary77"));
  CHECK(!file_contains(L.log, "zq_canary"));
  json_t *entries = log_entries();
  char *all = json_dumps(entries, JSON_COMPACT);
  CHECK(all && !strstr(all, "zq_canary") && !strstr(all, "QmCanary77"));
  free(all);
  json_decref(entries);
  check_record_invariants();
}

static void test_auth(void) {
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%u/v1/user-count", col_port);
  http_resp r;
  http_get(url, &r);
  CHECK(r.status == 401);
  http_resp_free(&r);
  snprintf(url, sizeof url, "http://127.0.0.1:%u/v1/collect", col_port);
  const char *body = "{\"username\":\"alice\"}";
  size_t n = record_count();
  http_post(url, "archive-test-token-012345678X", body, strlen(body), &r);
  CHECK(r.status == 401);
  http_resp_free(&r);
  http_post(url, "archive-test-token-0123456789-and-more", body, strlen(body), &r);
  CHECK(r.status == 401);
  http_resp_free(&r);
  CHECK(record_count() == n);
}

/* Every input channel tries to reach another endpoint or to smuggle something. */
static void test_red_team_inputs(void) {
  CHECK_FATAL(add_credential("alice", "sessionid=alice-secret", NULL) == 200);
  size_t rec0 = record_count();
  long log0 = log_size();
  static char longname[10001];
  memset(longname, 'a', sizeof longname - 1);
  const char *usernames[] = {
      "../direct_messages", "..%2fdirect_messages", "%2e%2e/api/direct_messages",
      "alice%2f..%2fdirect_messages", "alice/../direct_messages", "alice?x=direct_messages",
      "alice#direct_messages", "alice\r\nX-Injected: 1", "alice\n", "alice\r",
      "\xd0\xb0lice" /* Cyrillic a */, "alice\xef\xbc\x8f" /* fullwidth solidus */,
      "\xef\xbd\x81lice" /* fullwidth a */, "alic\xc3\xa9", "alice\xe2\x80\x8b" /* ZWSP */,
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" /* 65 */, longname,
      "", ".", "..", ".alice", "alice.", "al..ice", " alice", "alice ", "alice/", "alice\\x",
      "alice;direct_messages", "alice&count=100", "alice%00", "/api/direct_messages", NULL};
  for (int i = 0; usernames[i]; i++) {
    json_t *b = json_pack("{s:s, s:s}", "username", usernames[i], "cookie", "sessionid=alice-secret");
    char *s = json_dumps(b, JSON_COMPACT);
    json_t *o = NULL;
    long st = api("POST", "/v1/credentials", s, &o);
    if (st != 400) printf("#   credentials username #%d -> %ld\n", i, st);
    CHECK(st == 400 && json_is_string(json_object_get(o, "error")));
    json_decref(o);
    free(s);
    json_decref(b);
    b = json_pack("{s:s}", "username", usernames[i]);
    s = json_dumps(b, JSON_COMPACT);
    st = api("POST", "/v1/collect", s, &o);
    if (st != 400) printf("#   collect username #%d -> %ld\n", i, st);
    CHECK(st == 400 && json_is_string(json_object_get(o, "error")));
    json_decref(o);
    free(s);
    json_decref(b);
  }
  /* NUL inside JSON strings (\u0000) and raw NUL bytes. */
  CHECK(api("POST", "/v1/collect", "{\"username\":\"alice\\u0000x\"}", NULL) == 400);
  CHECK(api("POST", "/v1/credentials", "{\"username\":\"bob\",\"cookie\":\"a\\u0000b\"}", NULL) == 400);
  {
    const char raw[] = "POST /v1/collect HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " ARCHIVE_TOKEN
                       "\r\nContent-Length: 23\r\nConnection: close\r\n\r\n{\"username\":\"alice\0x\"} ";
    CHECK(raw_request(raw, sizeof raw - 1) == 400);
  }
  /* Cursors and counts. */
  const char *bodies[] = {
      "{\"username\":\"alice\",\"cursor\":\"../direct_messages\"}",
      "{\"username\":\"alice\",\"cursor\":\"%2e%2e%2fdirect_messages\"}",
      "{\"username\":\"alice\",\"cursor\":\"5&path=/api/direct_messages\"}",
      "{\"username\":\"alice\",\"cursor\":\"5?x\"}",
      "{\"username\":\"alice\",\"cursor\":\"5#x\"}",
      "{\"username\":\"alice\",\"cursor\":\"5\\r\\nX-Injected: 1\"}",
      "{\"username\":\"alice\",\"cursor\":\"5 6\"}",
      "{\"username\":\"alice\",\"cursor\":\"\"}",
      "{\"username\":\"alice\",\"cursor\":\"\xd0\xb0\"}",
      "{\"username\":\"alice\",\"cursor\":5}",
      "{\"username\":\"alice\",\"cursor\":[\"5\"]}",
      "{\"username\":\"alice\",\"count\":0}",
      "{\"username\":\"alice\",\"count\":101}",
      "{\"username\":\"alice\",\"count\":-1}",
      "{\"username\":\"alice\",\"count\":1.5}",
      "{\"username\":\"alice\",\"count\":\"20\"}",
      "{\"username\":\"alice\",\"count\":1e3}",
      "{\"username\":\"alice\",\"count\":99999999999999999999}",
      "{\"username\":\"alice\",\"count\":true}",
      "{\"username\":\"alice\",\"path\":\"/api/direct_messages\"}",
      "{\"username\":\"alice\",\"endpoint\":\"direct_messages\"}",
      "{\"username\":\"alice\",\"url\":\"http://127.0.0.1/api/direct_messages\"}",
      "{\"username\":\"alice\",\"username\":\"bob\"}",
      "{\"username\":[\"alice\"]}",
      "[\"alice\"]",
      "{\"username\":\"alice\"",
      "",
      NULL};
  for (int i = 0; bodies[i]; i++) {
    long st = api("POST", "/v1/collect", bodies[i], NULL);
    if (st != 400) printf("#   collect body #%d -> %ld\n", i, st);
    CHECK(st == 400);
  }
  {
    static char cursor_body[512];
    char c129[130];
    memset(c129, '7', 129);
    c129[129] = 0;
    snprintf(cursor_body, sizeof cursor_body, "{\"username\":\"alice\",\"cursor\":\"%s\"}", c129);
    CHECK(api("POST", "/v1/collect", cursor_body, NULL) == 400);
  }
  /* Cookies that would break or add headers. */
  const char *cookies[] = {"sessionid=alice-secret\r\nX-Injected: 1", "a\nb", "a\rb", "",
                           "sessi\xd0\xbenid=x", "tab\there", "del\x7f", NULL};
  for (int i = 0; cookies[i]; i++) {
    long st = add_credential("mallory", cookies[i], NULL);
    if (st != 400) printf("#   cookie #%d -> %ld\n", i, st);
    CHECK(st == 400);
  }
  {
    char *big = malloc(5001);
    memset(big, 'c', 5000);
    big[5000] = 0;
    CHECK(add_credential("mallory", big, NULL) == 400);
    free(big);
    char *huge = malloc(40000);
    memset(huge, ' ', 39999);
    huge[0] = '{';
    huge[39998] = '}';
    huge[39999] = 0;
    CHECK(api("POST", "/v1/collect", huge, NULL) == 413);
    free(huge);
  }
  /* Paths, sent raw so no client normalises them. */
  const char *targets[] = {"/v1/credentials/../direct_messages", "/v1/credentials/..%2fdirect_messages",
                           "/v1/credentials/%2e%2e", "/v1/credentials/alice%2f..%2f..%2fapi",
                           "/v1/credentials/alice/../../api/direct_messages",
                           "/v1/credentials/alice%00", "/v1/credentials/alice%0d%0aX-Injected:%201",
                           "/v1/credentials/alice?x=1", "/v1/credentials/alice%23x",
                           "/v1/credentials/%d0%b0lice", "/v1/credentials/",
                           "/v1/credentials/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                           NULL};
  for (int i = 0; targets[i]; i++) {
    long st = raw_delete(targets[i]);
    if (st != 400) printf("#   DELETE %s -> %ld\n", targets[i], st);
    CHECK(st == 400);
  }
  CHECK(raw_delete("/v1/credentials/alice#x") / 100 == 4);
  {
    const char raw[] = "DELETE /v1/credentials/ali\0ce HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                       ARCHIVE_TOKEN "\r\nConnection: close\r\n\r\n";
    long st = raw_request(raw, sizeof raw - 1);
    /* libmicrohttpd reads the path up to the NUL ("ali", no such user): 4xx either way,
     * and a path can never cause a request anyway. */
    printf("#   DELETE with a raw NUL in the path -> %ld\n", st);
    CHECK(st / 100 == 4);
    const char raw2[] = "DELETE /v1/credentials/alice\r\nX-Injected: 1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                        ARCHIVE_TOKEN "\r\nConnection: close\r\n\r\n";
    st = raw_request(raw2, sizeof raw2 - 1);
    printf("#   DELETE with a raw CRLF in the path -> %ld\n", st);
    CHECK(st / 100 == 4);
  }
  CHECK(api("POST", "/v1/collect?endpoint=direct_messages", "{\"username\":\"alice\"}", NULL) == 400);
  CHECK(api("GET", "/api/direct_messages", NULL, NULL) == 404);
  CHECK(api("GET", "/v1/collect", NULL, NULL) == 405);
  /* Nothing reached the mock, nothing was logged, alice is still there. */
  CHECK(record_count() == rec0);
  long log1 = log_size();
  if (log1 != log0) {
    json_t *es = log_entries();
    for (long k = log0; k < log1; k++)
      printf("#   unexpected entry %ld: %s\n", k,
             json_dumps(json_object_get(json_array_get(es, (size_t)k), "event"), JSON_COMPACT));
    json_decref(es);
  }
  CHECK(log1 == log0);
  CHECK(api("POST", "/v1/collect", "{\"username\":\"alice\",\"count\":1}", NULL) == 200);
  CHECK(record_count() == rec0 + 1);
  check_record_invariants();
}

struct mode_case { const char *mode; long want_status; const char *want_error; };

static void test_adversarial_modes(void) {
  static const struct mode_case cases[] = {
      {"redirect-301", 502, "redirect"},     {"redirect-302", 502, "redirect"},
      {"redirect-307", 502, "redirect"},     {"redirect-308", 502, "redirect"},
      {"redirect-301-abs", 502, "redirect"}, {"redirect-302-abs", 502, "redirect"},
      {"redirect-307-abs", 502, "redirect"}, {"redirect-308-abs", 502, "redirect"},
      {"oversize", 502, "larger"},           {"oversize-chunked", 502, "larger"},
      {"malformed", 502, "malformed"},       {"slow", 504, "timed out"},
      {"hang", 504, "timed out"},            {"echo-headers", 200, NULL},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    const struct mode_case *mc = &cases[k];
    CHECK_FATAL(start_mock(mc->mode) == 0);
    size_t n = record_count();
    json_t *o = NULL;
    long t0 = (long)proc_now_ms();
    long st = api("POST", "/v1/collect", "{\"username\":\"alice\",\"count\":2}", &o);
    long took = (long)proc_now_ms() - t0;
    printf("#   mode %-18s -> HTTP %ld in %ld ms: %s\n", mc->mode, st, took,
           json_string_value(json_object_get(o, "error")) ?: "ok");
    CHECK(st == mc->want_status);
    if (mc->want_error) {
      const char *e = json_string_value(json_object_get(o, "error"));
      CHECK(e && strstr(e, mc->want_error));
      CHECK(json_object_get(o, "data") == NULL);
    } else {
      /* Only the headers the collector means to send reached the server. */
      json_t *hs = json_object_get(json_object_get(o, "data"), "headers");
      size_t i;
      json_t *h;
      CHECK(json_array_size(hs) == 4);
      json_array_foreach(hs, i, h) {
        const char *name = json_string_value(json_array_get(h, 0));
        CHECK(name && (!strcasecmp(name, "Host") || !strcasecmp(name, "User-Agent") ||
                       !strcasecmp(name, "Cookie") || !strcasecmp(name, "Accept")));
      }
    }
    CHECK(took < 20000);
    /* Exactly one request, to watch history; the redirect target was never fetched. */
    CHECK(record_count() == n + 1);
    json_t *entries = log_entries();
    json_int_t ri = json_integer_value(json_object_get(o, "result_index"));
    json_t *res = entry_at(entries, ri);
    CHECK(res && !strcmp(json_string_value(json_object_get(res, "phase")) ?: "", "result"));
    if (mc->want_error)
      CHECK(res && strstr(json_string_value(json_object_get(res, "error")) ?: "", mc->want_error));
    json_decref(entries);
    json_decref(o);
  }
  CHECK(start_mock("normal") == 0);
  check_record_invariants();
}

static void test_logd_down(void) {
  size_t n = record_count();
  CHECK_FATAL(fx_stop(&L) == 0);
  json_t *o = NULL;
  long t0 = (long)proc_now_ms();
  CHECK(api("POST", "/v1/collect", "{\"username\":\"alice\"}", &o) == 503);
  CHECK(json_is_string(json_object_get(o, "error")));
  json_decref(o);
  CHECK((long)proc_now_ms() - t0 < 5000);
  CHECK(add_credential("dave", "sessionid=dave-secret", NULL) == 503);
  CHECK(api("DELETE", "/v1/credentials/alice", NULL, NULL) == 503);
  CHECK(api("GET", "/v1/user-count", NULL, NULL) == 503);
  CHECK(record_count() == n);
  /* bin/ is shared with parallel builds: a relink can briefly make the binary unusable. */
  int restarted = -1;
  for (int attempt = 0; attempt < 5 && restarted != 0; attempt++) {
    if (attempt) proc_sleep_ms(500);
    restarted = fx_restart(&L);
  }
  CHECK_FATAL(restarted == 0);
  /* Nothing half-done: dave was not stored, alice was not deleted. */
  CHECK(api("POST", "/v1/collect", "{\"username\":\"dave\"}", NULL) == 404);
  CHECK(api("POST", "/v1/collect", "{\"username\":\"alice\",\"count\":1}", NULL) == 200);
  CHECK(record_count() == n + 1);
  check_record_invariants();
}

/* Something answers on logd's address but refuses every entry (here: mock-tiktok, which
 * answers POST /v1/add with 405): no request is made, Archive gets 503. */
static void test_logd_refuses_midway(void) {
  size_t n = record_count();
  CHECK_FATAL(fx_stop(&L) == 0);
  char b[PATH_MAX], listen[64], rec[PATH_MAX + 32];
  snprintf(listen, sizeof listen, "127.0.0.1:%u", L.port);
  snprintf(rec, sizeof rec, "%s/record-fake-logd.jsonl", dir);
  proc fake = {0};
  const char *argv[] = {bin("mock-tiktok", b, sizeof b), "--listen", listen, "--record", rec, NULL};
  int up = proc_spawn(&fake, argv, NULL, NULL, mock_log, 1) == 0 &&
           proc_wait_port(&fake, "127.0.0.1", L.port, 10000) == 0;
  CHECK(up);
  if (up) {
    json_t *o = NULL;
    CHECK(api("POST", "/v1/collect", "{\"username\":\"alice\"}", &o) == 503);
    CHECK(json_is_string(json_object_get(o, "error")));
    json_decref(o);
    CHECK(add_credential("frank", "sessionid=frank-secret", NULL) == 503);
    CHECK(api("DELETE", "/v1/credentials/alice", NULL, NULL) == 503);
    char *text = proc_read_file(rec, NULL);
    CHECK(text && strstr(text, "\"path\":\"/v1/add\"") && strstr(text, "\"method\":\"POST\""));
    free(text);
  }
  proc_stop(&fake, 5000);
  CHECK(record_count() == n);
  int restarted = -1;
  for (int attempt = 0; attempt < 5 && restarted != 0; attempt++) {
    if (attempt) proc_sleep_ms(500);
    restarted = fx_restart(&L);
  }
  CHECK_FATAL(restarted == 0);
  CHECK(api("POST", "/v1/collect", "{\"username\":\"frank\"}", NULL) == 404);
  CHECK(api("POST", "/v1/collect", "{\"username\":\"alice\",\"count\":1}", NULL) == 200);
  check_record_invariants();
}

static void test_logd_slow(void) {
  size_t n = record_count();
  CHECK_FATAL(proc_signal(&L.p, SIGSTOP) == 0);
  long t0 = (long)proc_now_ms();
  long st = api("POST", "/v1/collect", "{\"username\":\"alice\"}", NULL);
  long took = (long)proc_now_ms() - t0;
  CHECK(add_credential("erin", "sessionid=erin-secret", NULL) == 503);
  proc_signal(&L.p, SIGCONT);
  printf("#   logd stopped: collect -> HTTP %ld after %ld ms\n", st, took);
  CHECK(st == 503);
  CHECK(took >= 900 && took < 5000);
  proc_sleep_ms(300);
  CHECK(record_count() == n);
  check_record_invariants();
}

static void test_logd_refuses(void) {
  /* A collector whose token logd rejects never starts serving. */
  proc p = {0};
  char d2[PATH_MAX + 32];
  snprintf(d2, sizeof d2, "%s/col-refused", dir);
  unsigned port = proc_free_port();
  CHECK_FATAL(spawn_collector(&p, d2, port, "not-the-token", NULL) == 0);
  CHECK(proc_wait(&p, 10000) == 0);
  CHECK(WIFEXITED(p.status) && WEXITSTATUS(p.status) != 0);
  proc_kill9(&p);
}

/* Tokens from @FILE: trailing white space dropped; a token too long for the collector's
 * buffer is refused (exit 2), never cut to a prefix; numbers are strict. */
static void test_token_files(void) {
  char d2[PATH_MAX + 32], tok[PATH_MAX + 32], text[700];
  snprintf(d2, sizeof d2, "%s/col-tokfile", dir);
  snprintf(tok, sizeof tok, "%s/logd-token.txt", dir);
  snprintf(text, sizeof text, "%s\n", L.token);
  CHECK_FATAL(proc_write_file(tok, text, strlen(text)) == 0);
  char arg[PATH_MAX + 40];
  snprintf(arg, sizeof arg, "@%s", tok);
  proc p = {0};
  unsigned port = proc_free_port();
  CHECK_FATAL(spawn_collector(&p, d2, port, arg, NULL) == 0);
  CHECK(proc_wait_port(&p, "127.0.0.1", port, 20000) == 0); /* logd took the boot entry */
  CHECK(proc_stop(&p, 5000) == 0);
  /* A 600-character archive token (its buffer holds 511): once its first 511 characters
   * were hashed and the collector served; now it is refused. */
  memset(text, 'a', 600);
  text[600] = '\n';
  CHECK_FATAL(proc_write_file(tok, text, 601) == 0);
  char b[PATH_MAX], listen[64];
  snprintf(listen, sizeof listen, "127.0.0.1:%u", proc_free_port());
  const char *argv[] = {bin("collector-test", b, sizeof b), "--listen", listen, "--data", d2,
                        "--logd", L.base, "--logd-token", L.token, "--archive-token", arg,
                        "--dev", "--api-base", "http://127.0.0.1:1", NULL};
  proc q = {0};
  CHECK_FATAL(proc_spawn(&q, argv, NULL, NULL, col_log, 1) == 0);
  CHECK(proc_wait(&q, 10000) == 0 && WIFEXITED(q.status) && WEXITSTATUS(q.status) == 2);
  proc_kill9(&q);
  /* --logd-timeout-ms takes digits only ("+500" was once 500). */
  argv[10] = ARCHIVE_TOKEN;
  const char *argv2[17];
  memcpy(argv2, argv, 14 * sizeof *argv);
  argv2[14] = "--logd-timeout-ms";
  argv2[15] = "+500";
  argv2[16] = NULL;
  proc r = {0};
  CHECK_FATAL(proc_spawn(&r, argv2, NULL, NULL, col_log, 1) == 0);
  CHECK(proc_wait(&r, 10000) == 0 && WIFEXITED(r.status) && WEXITSTATUS(r.status) == 2);
  proc_kill9(&r);
}

static int verify_sig(const char *pub_hex, const char *msg, size_t len, const char *sig_hex) {
  uint8_t pub[32], sig[64];
  if (fx_unhex(pub_hex, pub, 32) || fx_unhex(sig_hex, sig, 64)) return 0;
  EVP_PKEY *pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, 32);
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  int ok = pk && ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pk) == 1 &&
           EVP_DigestVerify(ctx, sig, 64, (const uint8_t *)msg, len) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(pk);
  return ok;
}

static long user_count(json_t **out) {
  json_t *o = NULL;
  if (api("GET", "/v1/user-count", NULL, &o) != 200) { json_decref(o); return -1; }
  long c = (long)json_integer_value(json_object_get(o, "count"));
  if (out) *out = o;
  else json_decref(o);
  return c;
}

static void test_user_count(void) {
  long c0 = user_count(NULL);
  CHECK_FATAL(c0 >= 0);
  CHECK(add_credential("uc_one", "sessionid=uc_one-secret", NULL) == 200);
  CHECK(add_credential("uc_two", "sessionid=uc_two-secret", NULL) == 200);
  CHECK(user_count(NULL) == c0 + 2);
  CHECK(add_credential("uc_two", "sessionid=uc_two-secret2", NULL) == 200); /* replace */
  CHECK(user_count(NULL) == c0 + 2);
  CHECK(api("DELETE", "/v1/credentials/uc_one", NULL, NULL) == 200);
  CHECK(api("DELETE", "/v1/credentials/uc_one", NULL, NULL) == 404);
  json_t *o = NULL;
  CHECK_FATAL(user_count(&o) == c0 + 1);
  const char *statement = json_string_value(json_object_get(o, "statement"));
  const char *sig = json_string_value(json_object_get(o, "signature"));
  const char *pub = json_string_value(json_object_get(o, "public_key"));
  CHECK_FATAL(statement && sig && pub);
  CHECK(verify_sig(pub, statement, strlen(statement), sig));
  /* The statement says what the answer says. */
  json_t *st = json_loads(statement, 0, NULL);
  CHECK(json_integer_value(json_object_get(st, "count")) == c0 + 1);
  CHECK(json_equal(json_object_get(st, "as_of_index"), json_object_get(o, "as_of_index")));
  CHECK(!strcmp(json_string_value(json_object_get(st, "collector_key")) ?: "", pub));
  /* Tampering: count, signature, key. */
  char *forged = strdup(statement);
  char *p = forged ? strstr(forged, "\"count\":") : NULL;
  CHECK(p != NULL);
  if (p) {
    p += 8;
    *p = *p == '9' ? '8' : (char)(*p + 1);
    CHECK(!verify_sig(pub, forged, strlen(forged), sig));
  }
  free(forged);
  char badsig[129];
  snprintf(badsig, sizeof badsig, "%s", sig);
  badsig[10] = badsig[10] == '0' ? '1' : '0';
  CHECK(!verify_sig(pub, statement, strlen(statement), badsig));
  char badpub[65];
  snprintf(badpub, sizeof badpub, "%s", pub);
  badpub[0] = badpub[0] == 'a' ? 'b' : 'a';
  CHECK(!verify_sig(badpub, statement, strlen(statement), sig));
  /* The log holds the user_count entry with the statement's hash, after as_of_index, and
   * the boot entry names the same signing key. */
  json_t *entries = log_entries();
  json_int_t idx = json_integer_value(json_object_get(o, "index"));
  json_t *ev = entry_at(entries, idx);
  char sh[65];
  sha256_hex(statement, strlen(statement), sh);
  CHECK(ev && !strcmp(json_string_value(json_object_get(ev, "type")), "user_count"));
  CHECK(ev && !strcmp(json_string_value(json_object_get(ev, "statement_sha256")) ?: "", sh));
  CHECK(ev && json_integer_value(json_object_get(ev, "count")) == c0 + 1);
  /* The entry carries the signature, so the statement is checkable from the log. */
  CHECK(ev && !strcmp(json_string_value(json_object_get(ev, "signature")) ?: "", sig));
  /* With a quote, the entry names it by the SHA-256 of its raw bytes; without, not at all. */
  const char *qhex = json_string_value(json_object_get(o, "quote"));
  if (qhex) {
    size_t ql = strlen(qhex);
    uint8_t *raw = malloc(ql / 2 + 1);
    char qsh[65];
    CHECK_FATAL(raw && fx_unhex(qhex, raw, ql / 2) == 0);
    sha256_hex((const char *)raw, ql / 2, qsh);
    free(raw);
    CHECK(ev && !strcmp(json_string_value(json_object_get(ev, "quote_sha256")) ?: "", qsh));
  } else {
    CHECK(ev && !json_object_get(ev, "quote_sha256"));
  }
  CHECK(json_integer_value(json_object_get(o, "as_of_index")) < idx);
  /* as_of_index is the collector's latest entry before the statement: the deletion. */
  json_t *asof = entry_at(entries, json_integer_value(json_object_get(o, "as_of_index")));
  CHECK(asof && !strcmp(json_string_value(json_object_get(asof, "type")), "credential_deleted"));
  int boot_ok = 0;
  size_t i;
  json_t *e;
  json_array_foreach(entries, i, e) {
    json_t *b = json_object_get(e, "event");
    if (!strcmp(json_string_value(json_object_get(b, "type")), "boot") &&
        !strcmp(json_string_value(json_object_get(b, "signing_key")) ?: "", pub))
      boot_ok = 1;
  }
  CHECK(boot_ok);
  json_decref(entries);
  json_decref(st);
  json_decref(o);
  check_record_invariants();
}

/* TikTok names are case-insensitive: "Alice", "alice" and "ALICE" are one user (one
 * pseudonym, one stored credential), and a collect or delete under any spelling
 * reaches it. */
static void test_user_case(void) {
  long c0 = user_count(NULL);
  CHECK_FATAL(c0 >= 0);
  json_t *a = NULL, *b = NULL;
  CHECK_FATAL(add_credential("Case_Alice", "sessionid=case-1", &a) == 200);
  CHECK_FATAL(add_credential("case_alice", "sessionid=case-2", &b) == 200);
  const char *ua = json_string_value(json_object_get(a, "user"));
  const char *ub = json_string_value(json_object_get(b, "user"));
  CHECK(ua && ub && strlen(ua) == 64 && !strcmp(ua, ub));
  CHECK(user_count(NULL) == c0 + 1);
  CHECK(add_credential("CASE_ALICE", "sessionid=case-3", NULL) == 200);
  CHECK(user_count(NULL) == c0 + 1);
  /* The pseudonym is the HMAC of the lower-case name under the dev pseudonym key. */
  char want[65];
  pseudonym("case_alice", want);
  CHECK(ua && !strcmp(ua, want));
  CHECK(api("DELETE", "/v1/credentials/cAsE_aLiCe", NULL, NULL) == 200);
  CHECK(api("DELETE", "/v1/credentials/case_alice", NULL, NULL) == 404);
  CHECK(user_count(NULL) == c0);
  json_decref(a);
  json_decref(b);
  check_record_invariants();
}

static void test_boot_entry(void) {
  json_t *entries = log_entries();
  /* Entry 0 is logd's own boot entry; the collector's is the next. */
  json_t *b = json_object_get(json_array_get(entries, 1), "event");
  CHECK_FATAL(b);
  CHECK(!strcmp(json_string_value(json_object_get(b, "type")), "boot"));
  CHECK(!strcmp(json_string_value(json_object_get(b, "component")), "collector"));
  CHECK(!strcmp(json_string_value(json_object_get(b, "compose_hash")), "dev"));
  CHECK(!strcmp(json_string_value(json_object_get(b, "quote_sha256")), ""));
  CHECK(!strcmp(json_string_value(json_object_get(b, "checkpoint_key")), ""));
  CHECK(!strcmp(json_string_value(json_object_get(b, "anchor_address")), ""));
  CHECK(!strcmp(json_string_value(json_object_get(b, "build")), "test"));
  CHECK(json_string_length(json_object_get(b, "instance_id")) == 32);
  CHECK(json_string_length(json_object_get(b, "boot_id")) == 32);
  CHECK(!strncmp(json_string_value(json_object_get(b, "egress")) ?: "", "GET 127.0.0.1:", 14));
  CHECK(json_is_string(json_object_get(b, "version")));
  json_decref(entries);
}

#define CHURN_THREADS 4
#define CHURN_ROUNDS 8
static int churn_failures;
static pthread_mutex_t churn_lock = PTHREAD_MUTEX_INITIALIZER;
static json_t *statements; /* user-count answers collected while churning */

static void churn_fail(const char *what, int t, int r, long st) {
  pthread_mutex_lock(&churn_lock);
  if (++churn_failures <= 10) printf("#   churn %d/%d: %s -> %ld\n", t, r, what, st);
  pthread_mutex_unlock(&churn_lock);
}

static void *churn(void *arg) {
  int t = (int)(intptr_t)arg;
  char name[32], cookie[64], body[96];
  snprintf(name, sizeof name, "churn_%d", t);
  snprintf(cookie, sizeof cookie, "sessionid=%s-secret", name);
  snprintf(body, sizeof body, "{\"username\":\"%s\",\"count\":%d}", name, t + 1);
  for (int r = 0; r < CHURN_ROUNDS; r++) {
    long st = add_credential(name, cookie, NULL);
    if (st != 200) churn_fail("add", t, r, st);
    st = api("POST", "/v1/collect", body, NULL);
    if (st != 200) churn_fail("collect", t, r, st);
    if (r % 2 == 0) {
      char path[64];
      snprintf(path, sizeof path, "/v1/credentials/%s", name);
      st = api("DELETE", path, NULL, NULL);
      if (st != 200) churn_fail("delete", t, r, st);
    }
  }
  return NULL;
}

static void *count_watcher(void *arg) {
  (void)arg;
  for (int i = 0; i < 2 * CHURN_ROUNDS; i++) {
    json_t *o = NULL;
    if (api("GET", "/v1/user-count", NULL, &o) == 200) {
      pthread_mutex_lock(&churn_lock);
      json_array_append(statements, o);
      pthread_mutex_unlock(&churn_lock);
    } else {
      churn_fail("user-count", -1, i, 0);
    }
    json_decref(o);
  }
  return NULL;
}

/* Concurrent intakes, collects, deletions and user counts: every answer is right, every
 * statement's count matches the log replayed up to its as_of_index, every request still
 * has its intent. */
static void test_concurrent_churn(void) {
  long base = user_count(NULL);
  CHECK_FATAL(base >= 0);
  size_t rec0 = record_count();
  statements = json_array();
  churn_failures = 0;
  pthread_t th[CHURN_THREADS + 1];
  for (int t = 0; t < CHURN_THREADS; t++) pthread_create(&th[t], NULL, churn, (void *)(intptr_t)t);
  pthread_create(&th[CHURN_THREADS], NULL, count_watcher, NULL);
  for (int t = 0; t <= CHURN_THREADS; t++) pthread_join(th[t], NULL);
  CHECK(churn_failures == 0);
  CHECK(record_count() == rec0 + CHURN_THREADS * CHURN_ROUNDS);
  /* Each churn user ends stored (the last round, odd, keeps it). */
  CHECK(user_count(NULL) == base + CHURN_THREADS);
  char pu[CHURN_THREADS][65];
  for (int t = 0; t < CHURN_THREADS; t++) {
    char name[32];
    snprintf(name, sizeof name, "churn_%d", t);
    pseudonym(name, pu[t]);
  }
  json_t *entries = log_entries();
  size_t i;
  json_t *st;
  CHECK(json_array_size(statements) == 2 * CHURN_ROUNDS);
  json_array_foreach(statements, i, st) {
    json_int_t as_of = json_integer_value(json_object_get(st, "as_of_index"));
    int stored[CHURN_THREADS] = {0};
    size_t j;
    json_t *e;
    json_array_foreach(entries, j, e) {
      if (json_integer_value(json_object_get(e, "index")) > as_of) break;
      json_t *ev = json_object_get(e, "event");
      const char *type = json_string_value(json_object_get(ev, "type")) ?: "";
      const char *user = json_string_value(json_object_get(ev, "user")) ?: "";
      for (int t = 0; t < CHURN_THREADS; t++) {
        if (strcmp(user, pu[t])) continue;
        if (!strcmp(type, "credential_intake")) stored[t] = 1;
        if (!strcmp(type, "credential_deleted")) stored[t] = 0;
      }
    }
    long want = base;
    for (int t = 0; t < CHURN_THREADS; t++) want += stored[t];
    long got = (long)json_integer_value(json_object_get(st, "count"));
    if (got != want)
      printf("#   statement as of %lld: count %ld, log says %ld\n", (long long)as_of, got, want);
    CHECK(got == want);
    const char *stmt = json_string_value(json_object_get(st, "statement")) ?: "";
    CHECK(verify_sig(json_string_value(json_object_get(st, "public_key")) ?: "", stmt, strlen(stmt),
                     json_string_value(json_object_get(st, "signature")) ?: ""));
  }
  json_decref(entries);
  json_decref(statements);
  statements = NULL;
  check_record_invariants();
}

/* mock-tiktok itself: --users cookies, the record of unknown users and other paths. */
static void test_mock_users_file(void) {
  char b[PATH_MAX], users[PATH_MAX + 32], rec[PATH_MAX + 32], listen[64], url[128];
  snprintf(users, sizeof users, "%s/users", dir);
  snprintf(rec, sizeof rec, "%s/record-users.jsonl", dir);
  const char *u = "carol sid_tt=c4r0l; sessionid=abc\n# comment\ndan sessionid=d4n\n";
  CHECK_FATAL(proc_write_file(users, u, strlen(u)) == 0);
  unsigned port = proc_free_port();
  snprintf(listen, sizeof listen, "127.0.0.1:%u", port);
  proc m = {0};
  const char *argv[] = {bin("mock-tiktok", b, sizeof b), "--listen", listen, "--record", rec,
                        "--users", users, NULL};
  CHECK_FATAL(proc_spawn(&m, argv, NULL, NULL, mock_log, 1) == 0);
  CHECK_FATAL(proc_wait_port(&m, "127.0.0.1", port, 10000) == 0);
  struct { const char *cookie, *path; long want; } reqs[] = {
      {"Cookie: sessionid=d4n", "/api/watch_history?count=2", 200},
      {"Cookie: sid_tt=c4r0l; sessionid=abc", "/api/watch_history", 200},
      {"Cookie: sessionid=alice-secret", "/api/watch_history", 401}, /* not in --users */
      {"Cookie: sessionid=d4n", "/api/direct_messages", 200},
      {"Cookie: sessionid=d4n", "/api/other", 404},
  };
  for (size_t i = 0; i < sizeof reqs / sizeof reqs[0]; i++) {
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", port, reqs[i].path);
    const char *h[] = {reqs[i].cookie, NULL};
    http_client *c = http_client_new();
    http_resp r;
    memset(&r, 0, sizeof r);
    http_request(c, "GET", url, h, NULL, 0, 10000, &r);
    CHECK(r.status == reqs[i].want);
    http_resp_free(&r);
    http_client_free(c);
  }
  proc_stop(&m, 5000);
  char *text = proc_read_file(rec, NULL);
  CHECK_FATAL(text);
  CHECK(strstr(text, "\"user\":\"dan\"") && strstr(text, "\"user\":\"carol\"") &&
        strstr(text, "\"user\":null") && strstr(text, "\"endpoint\":\"direct_messages\"") &&
        strstr(text, "\"endpoint\":\"other\"") && strstr(text, "\"query\":\"count=2\""));
  int lines = 0;
  for (char *p = text; *p; p++) lines += *p == '\n';
  CHECK(lines == 5);
  free(text);
}

static int hex_to_bytes(const char *hex, uint8_t **out, size_t *len) {
  size_t n = hex ? strlen(hex) : 0;
  if (!n || n % 2) return -1;
  *out = malloc(n / 2);
  *len = n / 2;
  return *out && fx_unhex(hex, *out, n / 2) == 0 ? 0 : -1;
}

/* Enclave mode against dstack-sim: keys from GetKey (none on disk), boot and user-count
 * quotes bound as SPEC.md section 6.5 says, keys stable across a restart. */
static void test_dstack_mode(void) {
  char d2[PATH_MAX + 32], want_compose[65], archive_sha[80];
  const char *sock = sim_sock;
  snprintf(d2, sizeof d2, "%s/col-dstack", dir);
  sha256_hex(app_compose, strlen(app_compose), want_compose);
  memcpy(archive_sha, "sha256:", 7);
  sha256_hex(ARCHIVE_TOKEN, strlen(ARCHIVE_TOKEN), archive_sha + 7);
  proc c2 = {0};
  CHECK_FATAL(sim.pid != 0);
  unsigned saved_port = col_port;
  col_port = proc_free_port();
  char bb[PATH_MAX], listen[64], apibase[64];
  snprintf(listen, sizeof listen, "127.0.0.1:%u", col_port);
  snprintf(apibase, sizeof apibase, "http://127.0.0.1:%u", mock_port);
  const char *cargv[] = {bin("collector-test", bb, sizeof bb), "--listen", listen, "--data", d2,
                         "--logd", L.base, "--logd-token", logd_token_getkey,
                         "--archive-token", archive_sha, "--dstack-socket", sock, "--api-base",
                         apibase, NULL};
  int up = proc_spawn(&c2, cargv, NULL, NULL, col_log, 1) == 0 &&
           proc_wait_port(&c2, "127.0.0.1", col_port, 20000) == 0;
  CHECK(up);
  {
    /* The pseudonym key is GetKey's for its path: ask the agent ourselves. */
    char e[256];
    dstack_client *dc = dstack_client_new(sock, e, sizeof e);
    dstack_key dk;
    memset(&dk, 0, sizeof dk);
    CHECK(dc && dstack_get_key(dc, COLLECTOR_KEY_PATH_PSEUDONYM, "pseudonym", "secp256k1", &dk, e,
                               sizeof e) == 0 && dk.key_len == 32);
    add_known_key(dk.key);
    dstack_client_free(dc);
  }
  json_t *att = NULL, *uc = NULL, *entries = NULL;
  uint8_t *q = NULL;
  size_t qlen = 0;
  if (!up) goto done;
  {
    char kp[PATH_MAX + 64];
    snprintf(kp, sizeof kp, "%s/dev-keys", d2);
    CHECK(access(kp, F_OK) != 0);
    CHECK(api("GET", "/v1/attestation", NULL, &att) == 200);
    const char *pub = json_string_value(json_object_get(att, "signing_key"));
    const char *el = json_string_value(json_object_get(att, "event_log"));
    CHECK_FATAL(pub && el && hex_to_bytes(json_string_value(json_object_get(att, "quote")), &q, &qlen) == 0);
    uint8_t pubraw[32], rd[64];
    CHECK_FATAL(fx_unhex(pub, pubraw, 32) == 0);
    dstack_boot_report_data("collector", pubraw, 32, rd);
    dstack_attestation a;
    int rc = dstack_check_attestation(q, qlen, el, strlen(el), NULL, time(NULL), rd, want_compose,
                                      true, &a);
    if (rc) printf("#   boot attestation: %s\n", a.message);
    CHECK(rc == 0 && a.report_data_ok);
    /* Not accepted as real hardware. */
    CHECK(dstack_check_attestation(q, qlen, el, strlen(el), NULL, time(NULL), rd, want_compose,
                                   false, &a) != 0);
    /* The boot entry names the compose hash and the quote's hash. */
    entries = log_entries();
    json_t *boot = entry_at(entries, json_integer_value(json_object_get(att, "boot_index")));
    char qsha[65];
    uint8_t dq[32];
    unsigned dn = 0;
    EVP_Digest(q, qlen, dq, &dn, EVP_sha256(), NULL);
    check_hex(dq, 32, qsha);
    CHECK(boot && !strcmp(json_string_value(json_object_get(boot, "compose_hash")) ?: "", want_compose));
    CHECK(boot && !strcmp(json_string_value(json_object_get(boot, "quote_sha256")) ?: "", qsha));
    CHECK(boot && !strcmp(json_string_value(json_object_get(boot, "signing_key")) ?: "", pub));
    /* Written with the GetKey-derived submitter token, so logd names it "collector". */
    json_t *be = json_array_get(entries, (size_t)json_integer_value(json_object_get(att, "boot_index")));
    CHECK(!strcmp(json_string_value(json_object_get(be, "submitter")) ?: "", "collector"));
    free(q);
    q = NULL;

    /* User count: signed, and quoted with the statement bound. */
    CHECK(add_credential("dstack_user", "sessionid=dstack_user-secret", NULL) == 200);
    CHECK(api("GET", "/v1/user-count", NULL, &uc) == 200);
    const char *statement = json_string_value(json_object_get(uc, "statement"));
    const char *uel = json_string_value(json_object_get(uc, "event_log"));
    CHECK_FATAL(statement && uel && hex_to_bytes(json_string_value(json_object_get(uc, "quote")), &q, &qlen) == 0);
    CHECK(verify_sig(pub, statement, strlen(statement),
                     json_string_value(json_object_get(uc, "signature")) ?: ""));
    size_t dl = strlen("xordi-tlog-user-count-v1"), sl = strlen(statement);
    uint8_t *m = malloc(dl + sl);
    memcpy(m, "xordi-tlog-user-count-v1", dl);
    memcpy(m + dl, statement, sl);
    memset(rd, 0, sizeof rd);
    EVP_Digest(m, dl + sl, rd, &dn, EVP_sha256(), NULL);
    free(m);
    rc = dstack_check_attestation(q, qlen, uel, strlen(uel), NULL, time(NULL), rd, want_compose, true, &a);
    if (rc) printf("#   user-count attestation: %s\n", a.message);
    CHECK(rc == 0);
    rd[0] ^= 1;
    CHECK(dstack_check_attestation(q, qlen, uel, strlen(uel), NULL, time(NULL), rd, want_compose,
                                   true, &a) != 0);

    /* Same keys after a restart: the stored credential still decrypts and is used. */
    size_t n = record_count();
    CHECK(proc_stop(&c2, 10000) == 0);
    CHECK_FATAL(proc_spawn(&c2, cargv, NULL, NULL, col_log, 1) == 0);
    CHECK_FATAL(proc_wait_port(&c2, "127.0.0.1", col_port, 20000) == 0);
    CHECK(api("POST", "/v1/collect", "{\"username\":\"dstack_user\",\"count\":2}", NULL) == 200);
    CHECK(record_count() == n + 1);
  }
done:
  free(q);
  json_decref(att);
  json_decref(uc);
  json_decref(entries);
  proc_stop(&c2, 10000);
  col_port = saved_port;
  check_record_invariants();
}

static void test_env_cannot_redirect(void) {
  /* Proxy variables would let libcurl send the request elsewhere; the collector
   * ignores its environment. The proxy here is a port nobody listens on. */
  proc c3 = {0};
  char bb[PATH_MAX], listen[64], apibase[64], d3[PATH_MAX + 32];
  snprintf(d3, sizeof d3, "%s/col-env", dir);
  unsigned saved_port = col_port;
  col_port = proc_free_port();
  unsigned dead = proc_free_port();
  char proxy[5][96];
  const char *names[] = {"http_proxy", "HTTP_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"};
  const char *env[6];
  for (int i = 0; i < 5; i++) {
    snprintf(proxy[i], sizeof proxy[i], "%s=http://127.0.0.1:%u", names[i], dead);
    env[i] = proxy[i];
  }
  env[5] = NULL;
  snprintf(listen, sizeof listen, "127.0.0.1:%u", col_port);
  snprintf(apibase, sizeof apibase, "http://127.0.0.1:%u", mock_port);
  const char *cargv[] = {bin("collector-test", bb, sizeof bb), "--listen", listen, "--data", d3,
                         "--logd", L.base, "--logd-token", L.token, "--archive-token", ARCHIVE_TOKEN,
                         "--dev", "--api-base", apibase, NULL};
  CHECK(proc_spawn(&c3, cargv, env, NULL, col_log, 1) == 0);
  if (proc_wait_port(&c3, "127.0.0.1", col_port, 20000) == 0) {
    char kp[PATH_MAX + 64];
    snprintf(kp, sizeof kp, "%s/dev-keys", d3);
    char *keys = proc_read_file(kp, NULL);
    uint8_t k[32];
    if (keys && strlen(keys) >= 130) {
      keys[129] = 0;
      if (fx_unhex(keys + 65, k, 32) == 0) add_known_key(k);
    }
    free(keys);
    size_t n = record_count();
    CHECK(add_credential("env_user", "sessionid=env_user-secret", NULL) == 200);
    CHECK(api("POST", "/v1/collect", "{\"username\":\"env_user\",\"count\":1}", NULL) == 200);
    CHECK(record_count() == n + 1);
  } else {
    CHECK(!"collector with proxy variables did not start");
  }
  proc_stop(&c3, 10000);
  col_port = saved_port;
  check_record_invariants();
}

static void test_final_no_direct_messages(void) {
  json_t *rec = record_lines();
  size_t i, dm = 0;
  json_t *r;
  json_array_foreach(rec, i, r) {
    const char *path = json_string_value(json_object_get(r, "path"));
    const char *endpoint = json_string_value(json_object_get(r, "endpoint"));
    if (!path || strcasestr(path, "direct") || !endpoint || strcmp(endpoint, "watch_history")) dm++;
  }
  printf("#   mock-tiktok received %zu requests, %zu not to watch history\n", json_array_size(rec), dm);
  CHECK(json_array_size(rec) >= 4);
  CHECK(dm == 0);
  json_decref(rec);
  check_record_invariants();
}

/* dstack-sim runs for the whole test; logd knows the submitter "collector" by the token
 * that GetKey gives for LOGD_TOKEN_PATH (the contract of the getkey: token form). */
static int start_sim_and_submitters(void) {
  char b[PATH_MAX], compose[PATH_MAX + 32], simlog[PATH_MAX + 32], e[256];
  snprintf(sim_sock, sizeof sim_sock, "%s/dstack.sock", dir);
  snprintf(compose, sizeof compose, "%s/app-compose.json", dir);
  snprintf(simlog, sizeof simlog, "%s/dstack-sim.log", dir);
  snprintf(submitters_path, sizeof submitters_path, "%s/submitters", dir);
  if (proc_write_file(compose, app_compose, strlen(app_compose))) return -1;
  const char *sargv[] = {bin("dstack-sim", b, sizeof b), "--socket", sim_sock, "--app-compose",
                         compose, "--seed", "c011ec70", NULL};
  if (proc_spawn(&sim, sargv, NULL, simlog, simlog, 1)) return -1;
  for (int i = 0; i < 200 && access(sim_sock, F_OK) != 0; i++) proc_sleep_ms(50);
  dstack_client *dc = dstack_client_new(sim_sock, e, sizeof e);
  dstack_key dk;
  memset(&dk, 0, sizeof dk);
  int rc = dc && dstack_get_key(dc, LOGD_TOKEN_PATH, "logd-submitter-token", "secp256k1", &dk, e,
                                sizeof e) == 0 && dk.key_len == 32 ? 0 : -1;
  dstack_client_free(dc);
  if (rc) return -1;
  char line[128];
  memcpy(line, "collector ", 10);
  check_hex(dk.key, 32, line + 10);
  line[74] = '\n';
  return proc_write_file(submitters_path, line, 75);
}

int main(void) {
  if (proc_tmpdir("xt-collector", dir, sizeof dir)) return 1;
  const char *extra[] = {"--submitters", submitters_path, NULL};
  if (start_sim_and_submitters() != 0 || fx_start(&L, extra) != 0) {
    printf("not ok - dstack-sim or the logd fixture did not start\n");
    proc_kill9(&sim);
    fx_destroy(&L);
    if (!getenv("XT_KEEP")) proc_rmtree(dir);
    return 1;
  }
  snprintf(record_path, sizeof record_path, "%s/record.jsonl", dir);
  snprintf(coldir, sizeof coldir, "%s/col", dir);
  snprintf(mock_log, sizeof mock_log, "%s/mock.log", dir);
  snprintf(col_log, sizeof col_log, "%s/collector.log", dir);
  snprintf(col_out, sizeof col_out, "%s/collector.out", dir);
  mock_port = proc_free_port();
  col_port = proc_free_port();
  int ok = start_mock("normal") == 0 && spawn_collector(&col, coldir, col_port, L.token, col_out) == 0 &&
           proc_wait_port(&col, "127.0.0.1", col_port, 30000) == 0;
  char kp[PATH_MAX + 64];
  snprintf(kp, sizeof kp, "%s/dev-keys", coldir);
  /* dev-keys: three hex lines (cookie key, pseudonym key, signing seed). */
  char *keys = ok ? proc_read_file(kp, NULL) : NULL;
  if (keys && strlen(keys) >= 130) keys[129] = 0;
  if (!keys || strlen(keys) != 129 || fx_unhex(keys + 65, pseudonym_key, 32)) {
    printf("not ok - collector did not start\n");
    free(keys);
    proc_kill9(&col);
    proc_kill9(&mock);
    proc_kill9(&sim);
    fx_destroy(&L);
    if (!getenv("XT_KEEP")) proc_rmtree(dir);
    return 1;
  }
  free(keys);
  add_known_key(pseudonym_key);

  CHECK_RUN(test_boot_entry);
  CHECK_RUN(test_mock_users_file);
  CHECK_RUN(test_happy_path);
  CHECK_RUN(test_auth);
  CHECK_RUN(test_no_plaintext_anywhere);
  CHECK_RUN(test_red_team_inputs);
  if (!getenv("XT_QUICK")) CHECK_RUN(test_adversarial_modes);
  CHECK_RUN(test_logd_down);
  CHECK_RUN(test_logd_refuses_midway);
  CHECK_RUN(test_logd_slow);
  CHECK_RUN(test_logd_refuses);
  CHECK_RUN(test_token_files);
  CHECK_RUN(test_user_count);
  CHECK_RUN(test_user_case);
  CHECK_RUN(test_concurrent_churn);
  CHECK_RUN(test_env_cannot_redirect);
  CHECK_RUN(test_dstack_mode);
  CHECK_RUN(test_final_no_direct_messages);

  proc_stop(&col, 10000);
  proc_stop(&mock, 10000);
  proc_stop(&sim, 10000);
  fx_destroy(&L);
  if (!getenv("XT_KEEP")) proc_rmtree(dir);
  return check_finish();
}
