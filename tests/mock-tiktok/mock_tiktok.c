/* mock-tiktok: a stand-in for the TikTok web API, for tests only (never shipped).
 *
 *   mock-tiktok --listen 127.0.0.1:PORT --record FILE.jsonl [--users FILE] [--mode MODE]
 *
 * It serves GET /api/watch_history and GET /api/direct_messages, both requiring the
 * session cookie of a known user, and appends every request it receives (whatever the
 * path, method or cookie) to the record file as one JSON line, flushed before it
 * answers. Tests read that file to prove the collector never reached direct messages
 * and that every request it did make had its intent logged first.
 *
 * Modes make the watch-history endpoint adversarial:
 *   normal                 plausible JSON
 *   redirect-301 .. -308   redirect to direct messages with a relative Location
 *   redirect-301-abs ..    the same with an absolute Location
 *   oversize               an 8 MiB body with Content-Length
 *   oversize-chunked       an 8 MiB body without Content-Length
 *   malformed              a truncated JSON body
 *   slow                   one byte every 300 ms for up to a minute
 *   hang                   never answers (up to a minute)
 *   echo-headers           answers with the request's headers as JSON
 * With port 0 it picks a free port; the line "listening 127.0.0.1:PORT" on stdout says
 * which. */
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "base/file.h"
#include "base/num.h"

#define MAX_USERS 1024
#define USERS_FILE_MAX (1u << 20)
/* Cursors are video offsets; this keeps the ids it makes from them within 17 digits. */
#define MAX_CURSOR 1000000000000000ull
#define OVERSIZE_BYTES (8u * 1024u * 1024u)

struct user { char name[128]; char cookie[512]; };

static struct user users[MAX_USERS];
static size_t n_users;
static int have_users_file;
static FILE *record_file;
static pthread_mutex_t record_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *mode = "normal";
static volatile sig_atomic_t stopping;

static void on_signal(int sig) { (void)sig; stopping = 1; }

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One "NAME COOKIE" per line; '#' lines and blank lines are skipped. */
static int load_users(const char *path) {
  uint8_t *text = NULL;
  size_t len = 0;
  char err[512];
  if (xt_file_read(path, USERS_FILE_MAX, &text, &len, err, sizeof err) != XT_OK) {
    fprintf(stderr, "mock-tiktok: cannot open %s\n", err);
    return -1;
  }
  char *save = NULL;
  for (char *line = strtok_r((char *)text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    char name[128], cookie[512];
    if (line[0] == '#') continue;
    if (sscanf(line, "%127s %511[^\n]", name, cookie) != 2) continue;
    if (n_users == MAX_USERS) break;
    memcpy(users[n_users].name, name, sizeof name);
    memcpy(users[n_users].cookie, cookie, sizeof cookie);
    n_users++;
  }
  free(text);
  have_users_file = 1;
  return 0;
}

/* Finds the user a Cookie header belongs to: with --users the whole header or one of
 * its "name=value" parts must equal a listed cookie; without it, "sessionid=<u>-secret". */
static int user_from_cookie(const char *cookie, char *out, size_t cap) {
  if (!cookie) return 0;
  char buf[4096];
  size_t n = strlen(cookie);
  if (n >= sizeof buf) return 0;
  memcpy(buf, cookie, n + 1);
  char *save = NULL;
  for (char *part = strtok_r(buf, ";", &save); part; part = strtok_r(NULL, ";", &save)) {
    while (*part == ' ') part++;
    if (have_users_file) {
      for (size_t i = 0; i < n_users; i++)
        if (!strcmp(users[i].cookie, part) || !strcmp(users[i].cookie, cookie)) {
          snprintf(out, cap, "%s", users[i].name);
          return 1;
        }
    } else if (!strncmp(part, "sessionid=", 10)) {
      const char *v = part + 10;
      size_t vl = strlen(v);
      if (vl > 7 && !strcmp(v + vl - 7, "-secret") && vl - 7 < cap) {
        memcpy(out, v, vl - 7);
        out[vl - 7] = 0;
        return 1;
      }
    }
  }
  return 0;
}

static enum MHD_Result collect_kv(void *cls, enum MHD_ValueKind kind, const char *k, const char *v) {
  (void)kind;
  json_t *arr = cls;
  json_t *pair = json_pack("[ss?]", k, v);
  if (pair) json_array_append_new(arr, pair);
  return MHD_YES;
}

static char *query_string(struct MHD_Connection *c) {
  json_t *arr = json_array();
  MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_kv, arr);
  size_t cap = 1, i;
  json_t *p;
  json_array_foreach(arr, i, p) {
    const char *v = json_string_value(json_array_get(p, 1));
    cap += strlen(json_string_value(json_array_get(p, 0))) + (v ? strlen(v) + 1 : 0) + 1;
  }
  char *q = malloc(cap);
  if (!q) { json_decref(arr); return NULL; }
  size_t off = 0;
  q[0] = 0;
  json_array_foreach(arr, i, p) {
    const char *k = json_string_value(json_array_get(p, 0));
    const char *v = json_string_value(json_array_get(p, 1));
    off += (size_t)snprintf(q + off, cap - off, "%s%s%s%s", i ? "&" : "", k, v ? "=" : "", v ? v : "");
  }
  json_decref(arr);
  return q;
}

static void record(const char *method, const char *url, const char *query, const char *user,
                   const char *endpoint, json_t *headers) {
  json_t *o = json_pack("{s:s, s:s, s:s, s:s?, s:s, s:s, s:I, s:O}", "method", method,
                        "path", url, "query", query ? query : "", "user", user,
                        "endpoint", endpoint, "mode", mode, "ts_ms", (json_int_t)now_ms(),
                        "headers", headers);
  if (!o) return;
  char *line = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref(o);
  if (!line) return;
  pthread_mutex_lock(&record_lock);
  fprintf(record_file, "%s\n", line);
  fflush(record_file);
  pthread_mutex_unlock(&record_lock);
  free(line);
}

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status, const char *body,
                                 const char *ctype) {
  struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body,
                                                           MHD_RESPMEM_MUST_COPY);
  if (!r) return MHD_NO;
  MHD_add_response_header(r, "Content-Type", ctype);
  enum MHD_Result ret = MHD_queue_response(c, status, r);
  MHD_destroy_response(r);
  return ret;
}

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, json_t *o) {
  char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref(o);
  if (!s) return MHD_NO;
  enum MHD_Result r = send_text(c, status, s, "application/json");
  free(s);
  return r;
}

struct drip { int64_t started; size_t sent; };

static ssize_t slow_reader(void *cls, uint64_t pos, char *buf, size_t max) {
  struct drip *d = cls;
  if (stopping || now_ms() - d->started > 60000) return MHD_CONTENT_READER_END_OF_STREAM;
  usleep(300000);
  if (max < 1) return 0;
  buf[0] = (pos == 0) ? '{' : ' ';
  d->sent++;
  return 1;
}

static ssize_t big_reader(void *cls, uint64_t pos, char *buf, size_t max) {
  (void)cls;
  if (pos >= OVERSIZE_BYTES) return MHD_CONTENT_READER_END_OF_STREAM;
  size_t n = OVERSIZE_BYTES - (size_t)pos;
  if (n > max) n = max;
  memset(buf, 'A', n);
  return (ssize_t)n;
}

static enum MHD_Result watch_history(struct MHD_Connection *c, const char *user, json_t *headers) {
  if (!strncmp(mode, "redirect-", 9)) {
    uint64_t code = 0;
    if (xt_parse_u64n(mode + 9, strnlen(mode + 9, 3), 0, 0, 999, &code) != XT_OK) code = 302;
    if (code != 301 && code != 302 && code != 307 && code != 308) code = 302;
    int absolute = strstr(mode, "-abs") != NULL;
    const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
    char loc[512];
    if (absolute)
      snprintf(loc, sizeof loc, "http://%s/api/direct_messages?count=20", host ? host : "127.0.0.1");
    else
      snprintf(loc, sizeof loc, "/api/direct_messages?count=20");
    struct MHD_Response *r = MHD_create_response_from_buffer(2, (void *)"{}", MHD_RESPMEM_PERSISTENT);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "Location", loc);
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)code, r);
    MHD_destroy_response(r);
    return ret;
  }
  if (!strcmp(mode, "oversize") || !strcmp(mode, "oversize-chunked")) {
    int chunked = !strcmp(mode, "oversize-chunked");
    struct MHD_Response *r = MHD_create_response_from_callback(
        chunked ? MHD_SIZE_UNKNOWN : OVERSIZE_BYTES, 64 * 1024, big_reader, NULL, NULL);
    if (!r) return MHD_NO;
    enum MHD_Result ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ret;
  }
  if (!strcmp(mode, "malformed"))
    return send_text(c, 200, "{\"data\":{\"videos\":[{\"id\":\"7\",", "application/json");
  if (!strcmp(mode, "slow")) {
    struct drip *d = calloc(1, sizeof *d);
    if (!d) return MHD_NO;
    d->started = now_ms();
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16, slow_reader,
                                                               d, free);
    if (!r) { free(d); return MHD_NO; }
    enum MHD_Result ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ret;
  }
  if (!strcmp(mode, "hang")) {
    int64_t start = now_ms();
    while (!stopping && now_ms() - start < 60000) usleep(50000);
    return send_text(c, 200, "{}", "application/json");
  }
  if (!strcmp(mode, "echo-headers"))
    return send_json(c, 200, json_pack("{s:O}", "headers", headers));

  const char *cursor = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "cursor");
  const char *count_s = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "count");
  /* Query parameters are untrusted text: anything but a plain number gets the default. */
  uint64_t count_u = 10, start_u = 0;
  if (count_s && xt_parse_u64(count_s, 0, 1, 100, &count_u) != XT_OK) count_u = 10;
  if (cursor && xt_parse_u64(cursor, 0, 0, MAX_CURSOR, &start_u) != XT_OK) start_u = 0;
  long count = (long)count_u, start = (long)start_u;
  json_t *items = json_array();
  for (long i = 0; i < count && i < 5; i++) {
    char id[64], title[256];
    snprintf(id, sizeof id, "73%017ld", 1000 + start + i);
    snprintf(title, sizeof title, "video %ld watched by %s", start + i, user);
    json_array_append_new(items, json_pack("{s:s, s:s, s:I}", "id", id, "desc", title,
                                           "watched_at", (json_int_t)(1767225600 + start + i)));
  }
  char next[32];
  snprintf(next, sizeof next, "%ld", start + (count < 5 ? count : 5));
  return send_json(c, 200, json_pack("{s:i, s:{s:o, s:s, s:b}}", "status_code", 0, "data",
                                     "videos", items, "cursor", next, "has_more", 1));
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **state) {
  (void)cls; (void)version; (void)upload;
  if (!*state) { *state = (void *)1; return MHD_YES; }
  if (*upload_size) { *upload_size = 0; return MHD_YES; }

  json_t *headers = json_array();
  MHD_get_connection_values(c, MHD_HEADER_KIND, collect_kv, headers);
  const char *cookie = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Cookie");
  char user[128];
  int known = user_from_cookie(cookie, user, sizeof user);
  char *query = query_string(c);

  /* Classify on the decoded path, case-insensitively, so that any spelling that a
   * server might route to direct messages counts as such in the record. */
  const char *endpoint = "other";
  if (strcasestr(url, "direct_messages")) endpoint = "direct_messages";
  else if (!strcmp(url, "/api/watch_history")) endpoint = "watch_history";
  record(method, url, query, known ? user : NULL, endpoint, headers);
  free(query);

  enum MHD_Result ret;
  if (strcmp(method, "GET") != 0)
    ret = send_json(c, 405, json_pack("{s:s}", "error", "method not allowed"));
  else if (!strcmp(endpoint, "other"))
    ret = send_json(c, 404, json_pack("{s:s}", "error", "not found"));
  else if (!known)
    ret = send_json(c, 401, json_pack("{s:i, s:s}", "status_code", 8, "status_msg", "login required"));
  else if (!strcmp(endpoint, "watch_history"))
    ret = watch_history(c, user, headers);
  else
    ret = send_json(c, 200, json_pack("{s:i, s:{s:[{s:s, s:s}]}}", "status_code", 0, "data",
                                      "messages", "from", "friend", "text", "private message"));
  json_decref(headers);
  return ret;
}

static void usage(FILE *f) {
  fprintf(f, "usage: mock-tiktok --listen 127.0.0.1:PORT --record FILE.jsonl [--users FILE] "
             "[--mode MODE]\n");
}

int main(int argc, char **argv) {
  const char *listen = NULL, *record_path = NULL, *users_path = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help")) { usage(stdout); return 0; }
    if (!strcmp(a, "--version")) { printf("mock-tiktok %s\n", XT_VERSION); return 0; }
    if (i + 1 >= argc) { usage(stderr); return 2; }
    if (!strcmp(a, "--listen")) listen = argv[++i];
    else if (!strcmp(a, "--record")) record_path = argv[++i];
    else if (!strcmp(a, "--users")) users_path = argv[++i];
    else if (!strcmp(a, "--mode")) mode = argv[++i];
    else { usage(stderr); return 2; }
  }
  if (!listen || !record_path) { usage(stderr); return 2; }
  static const char *modes[] = {"normal", "redirect-301", "redirect-302", "redirect-307",
      "redirect-308", "redirect-301-abs", "redirect-302-abs", "redirect-307-abs",
      "redirect-308-abs", "oversize", "oversize-chunked", "malformed", "slow", "hang",
      "echo-headers"};
  int mode_ok = 0;
  for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) mode_ok |= !strcmp(mode, modes[i]);
  if (!mode_ok) { fprintf(stderr, "mock-tiktok: unknown mode %s\n", mode); return 2; }
  if (users_path && load_users(users_path) != 0) return 2;

  const char *colon = strrchr(listen, ':');
  struct sockaddr_in sa = {0};
  sa.sin_family = AF_INET;
  char host[64];
  if (!colon || (size_t)(colon - listen) >= sizeof host) { usage(stderr); return 2; }
  memcpy(host, listen, (size_t)(colon - listen));
  host[colon - listen] = 0;
  uint64_t port = 0;
  if (inet_pton(AF_INET, host, &sa.sin_addr) != 1 || xt_parse_u64(colon + 1, 0, 0, 65535, &port) != XT_OK) {
    usage(stderr);
    return 2;
  }
  sa.sin_port = htons((uint16_t)port);
  record_file = fopen(record_path, "a");
  if (!record_file) {
    fprintf(stderr, "mock-tiktok: cannot open %s: %s\n", record_path, strerror(errno));
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  struct MHD_Daemon *d = MHD_start_daemon(
      MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, (uint16_t)port, NULL, NULL,
      handler, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_CONNECTION_TIMEOUT,
      120u, MHD_OPTION_END);
  if (!d) { fprintf(stderr, "mock-tiktok: cannot listen on %s\n", listen); return 1; }
  const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
  printf("listening %s:%u\n", host, di ? di->port : (unsigned)port);
  fflush(stdout);
  while (!stopping) pause();
  MHD_stop_daemon(d);
  fclose(record_file);
  return 0;
}
