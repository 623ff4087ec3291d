/* anchor_client's sending and listing logic against a scripted JSON-RPC node, for the
 * answers a real chain rarely gives on demand: a replacement that stays underpriced,
 * "already known", a nonce taken by someone else, a node that refuses whole-range
 * eth_getLogs, receipts that arrive late. (The happy paths and a real node restart
 * are in tests/anchor.test.sh, on anvil.) */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "anchor/abi.h"
#include "anchor/anchor.h"
#include "anchor/tx.h"
#include "base/hex.h"
#include "tests/lib/check.h"

/* The script: given the method and how many times it was called, the JSON text of
 * "result":... or "error":{...} to answer with. */
typedef const char *(*script_fn)(const char *method, unsigned nth, const char *req);
static script_fn script;
static unsigned calls[32];
static const char *methods[32];
static int listen_fd, port;
static volatile int stop_server;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static unsigned count_call(const char *m) {
  for (int i = 0; i < 32; i++) {
    if (!methods[i]) methods[i] = strdup(m);
    if (!strcmp(methods[i], m)) return calls[i]++;
  }
  return 0;
}

static unsigned called(const char *m) {
  for (int i = 0; i < 32 && methods[i]; i++)
    if (!strcmp(methods[i], m)) return calls[i];
  return 0;
}

static void reset_calls(void) {
  for (int i = 0; i < 32; i++) {
    free((void *)methods[i]);
    methods[i] = NULL;
    calls[i] = 0;
  }
}

static void *server(void *arg) {
  (void)arg;
  while (!stop_server) {
    int fd = accept(listen_fd, NULL, NULL);
    if (fd < 0) continue;
    for (;;) { /* keep-alive: several requests per connection */
      static char req[65536];
      size_t n = 0;
      int done = 0;
      for (;;) {
        ssize_t r = read(fd, req + n, sizeof req - 1 - n);
        if (r <= 0) break;
        n += (size_t)r;
        req[n] = 0;
        char *end = strstr(req, "\r\n\r\n");
        char *cl = strcasestr(req, "Content-Length:");
        if (end && cl && (size_t)(end + 4 - req) + strtoul(cl + 15, NULL, 10) <= n) {
          done = 1;
          break;
        }
      }
      if (!done) break;
      char method[64] = "";
      char *mp = strstr(req, "\"method\":\"");
      if (mp) sscanf(mp + 10, "%63[^\"]", method);
      unsigned long long id = 0;
      char *idp = strstr(req, "\"id\":");
      if (idp) id = strtoull(idp + 5, NULL, 10);
      pthread_mutex_lock(&mu);
      unsigned nth = count_call(method);
      const char *ans = script(method, nth, req);
      pthread_mutex_unlock(&mu);
      static char body[16384];
      snprintf(body, sizeof body, "{\"jsonrpc\":\"2.0\",\"id\":%llu,%s}", id, ans);
      /* One write: a separate small body write would wait for a delayed ACK. */
      static char resp[16384 + 256];
      int rl = snprintf(resp, sizeof resp,
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                        strlen(body), body);
      if (rl < 0 || write(fd, resp, (size_t)rl) < 0) break;
    }
    close(fd);
  }
  return NULL;
}

static const uint8_t KEY[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
static char anchorer_word[67]; /* head() answer naming KEY's address */

static anchor_client *client(unsigned deadline_ms) {
  char url[64], err[256];
  snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
  anchor_options o;
  anchor_options_default(&o);
  o.poll_ms = 5;
  o.deadline_ms = deadline_ms;
  o.resend_after_ms = 60000;
  anchor_client *c = anchor_client_new(url, "0x5fbdb2315678afecb367f032d93f642f64180aa3", KEY, &o, err, sizeof err);
  if (!c) printf("# %s\n", err);
  return c;
}

static const char *common(const char *m, unsigned nth) {
  (void)nth;
  static char buf[512];
  if (!strcmp(m, "eth_chainId")) return "\"result\":\"0x14a34\"";
  if (!strcmp(m, "eth_estimateGas")) return "\"result\":\"0xea60\"";
  if (!strcmp(m, "eth_getTransactionCount")) return "\"result\":\"0x5\"";
  if (!strcmp(m, "eth_maxPriorityFeePerGas")) return "\"result\":\"0xf4240\"";
  if (!strcmp(m, "eth_feeHistory")) return "\"result\":{\"baseFeePerGas\":[\"0x1000\",\"0x1000\"]}";
  if (!strcmp(m, "eth_blockNumber")) return "\"result\":\"0x20\"";
  if (!strcmp(m, "eth_call")) {
    /* head(): size 0, root 0, anchorer = KEY's address */
    snprintf(buf, sizeof buf, "\"result\":\"0x%064x%064x%s\"", 0, 0, anchorer_word + 2);
    return buf;
  }
  return NULL;
}

static const char *RECEIPT_OK =
    "\"result\":{\"transactionHash\":\"0x1111111111111111111111111111111111111111111111111111111111111111\","
    "\"blockHash\":\"0x2222222222222222222222222222222222222222222222222222222222222222\","
    "\"blockNumber\":\"0x20\",\"status\":\"0x1\",\"gasUsed\":\"0xb000\",\"contractAddress\":null}";

static const char *script_underpriced(const char *m, unsigned nth, const char *req) {
  (void)req;
  const char *a = common(m, nth);
  if (a) return a;
  if (!strcmp(m, "eth_sendRawTransaction"))
    return "\"error\":{\"code\":-32000,\"message\":\"replacement transaction underpriced\"}";
  return "\"result\":null";
}

static void test_underpriced_is_bounded(void) {
  reset_calls();
  script = script_underpriced;
  anchor_client *c = client(20000);
  CHECK_FATAL(c);
  uint8_t id[32] = {9}, root[32] = {7}, ck[32] = {5}, tx[32];
  char err[512];
  int rc = anchor_submit(c, id, 10, root, ck, NULL, 0, tx, err, sizeof err);
  CHECK(rc == ANCHOR_ERR_TIMEOUT);
  CHECK(strstr(err, "could not outbid") != NULL);
  CHECK(called("eth_sendRawTransaction") == 9); /* the first try and 8 bumps, no more */
  anchor_client_free(c);
}

static const char *script_already_known(const char *m, unsigned nth, const char *req) {
  (void)req;
  const char *a = common(m, nth);
  if (a) return a;
  if (!strcmp(m, "eth_sendRawTransaction"))
    return "\"error\":{\"code\":-32000,\"message\":\"already known\"}";
  if (!strcmp(m, "eth_getTransactionReceipt")) return nth < 3 ? "\"result\":null" : RECEIPT_OK;
  return "\"result\":null";
}

static void test_already_known_then_mined(void) {
  reset_calls();
  script = script_already_known;
  anchor_client *c = client(20000);
  CHECK_FATAL(c);
  uint8_t id[32] = {9}, root[32] = {7}, ck[32] = {5}, tx[32];
  char err[512];
  int rc = anchor_submit(c, id, 10, root, ck, NULL, 0, tx, err, sizeof err);
  if (rc) printf("# %s\n", err);
  CHECK(rc == ANCHOR_OK);
  CHECK(tx[0] == 0x11 && tx[31] == 0x11);
  CHECK(called("eth_sendRawTransaction") == 1 && called("eth_getTransactionReceipt") == 4);
  anchor_client_free(c);
}

static const char *script_nonce_taken(const char *m, unsigned nth, const char *req) {
  (void)req;
  const char *a = common(m, nth);
  if (a) return a;
  if (!strcmp(m, "eth_sendRawTransaction"))
    return "\"error\":{\"code\":-32000,\"message\":\"nonce too low\"}";
  return "\"result\":null";
}

static void test_nonce_taken_elsewhere(void) {
  reset_calls();
  script = script_nonce_taken;
  anchor_client *c = client(20000);
  CHECK_FATAL(c);
  uint8_t id[32] = {9}, root[32] = {7}, ck[32] = {5}, tx[32];
  char err[512];
  int rc = anchor_submit(c, id, 10, root, ck, NULL, 0, tx, err, sizeof err);
  CHECK(rc == ANCHOR_ERR_RETRY);
  CHECK(called("eth_sendRawTransaction") == 3); /* three fresh starts, then give up */
  anchor_client_free(c);
}

static const char *script_stuck(const char *m, unsigned nth, const char *req) {
  (void)req;
  const char *a = common(m, nth);
  if (a) return a;
  if (!strcmp(m, "eth_sendRawTransaction"))
    return "\"result\":\"0x3333333333333333333333333333333333333333333333333333333333333333\"";
  return "\"result\":null";
}

static void test_deadline(void) {
  reset_calls();
  script = script_stuck;
  anchor_client *c = client(300);
  CHECK_FATAL(c);
  uint8_t id[32] = {9}, root[32] = {7}, ck[32] = {5}, tx[32];
  char err[512];
  int rc = anchor_submit(c, id, 10, root, ck, NULL, 0, tx, err, sizeof err);
  CHECK(rc == ANCHOR_ERR_TIMEOUT && strstr(err, "not mined") != NULL);
  anchor_client_free(c);
}

/* A node that refuses whole-range log queries: the client walks 10,000-block ranges
 * and still finds every event, with its block's time. */
static const char *script_logs(const char *m, unsigned nth, const char *req) {
  static char buf[4096];
  if (!strcmp(m, "eth_chainId")) return "\"result\":\"0x14a34\"";
  if (!strcmp(m, "eth_blockNumber")) return "\"result\":\"0x4e2a\""; /* 20010 */
  if (!strcmp(m, "eth_getBlockByNumber"))
    return "\"result\":{\"number\":\"0x2711\",\"timestamp\":\"0x6553f100\",\"hash\":"
           "\"0x4444444444444444444444444444444444444444444444444444444444444444\"}";
  if (!strcmp(m, "eth_getLogs")) {
    if (strstr(req, "\"toBlock\":\"latest\"")) return "\"error\":{\"code\":-32005,\"message\":\"range too large\"}";
    /* This node allows at most 5,000 blocks per query. */
    unsigned long long f = 0, t = 0;
    char *fp = strstr(req, "\"fromBlock\":\"0x"), *tp = strstr(req, "\"toBlock\":\"0x");
    if (fp) f = strtoull(fp + 15, NULL, 16);
    if (tp) t = strtoull(tp + 13, NULL, 16);
    if (t - f + 1 > 5000) return "\"error\":{\"code\":-32005,\"message\":\"range too large\"}";
    if (!(f <= 10001 && 10001 <= t)) return "\"result\":[]"; /* the one event is in block 10001 */
    snprintf(buf, sizeof buf,
             "\"result\":[{\"blockNumber\":\"0x2711\",\"blockHash\":\"0x%064d\",\"transactionHash\":\"0x%064d\","
             "\"logIndex\":\"0x0\",\"removed\":false,\"topics\":[],\"data\":\"0x%064x%s%s\"}]",
             4, 5, 42, "6666666666666666666666666666666666666666666666666666666666666666",
             "7777777777777777777777777777777777777777777777777777777777777777");
    return buf;
  }
  (void)nth;
  return "\"result\":null";
}

typedef struct seen {
  int n;
  anchor_event last;
} seen;

static int on_event(void *ctx, const anchor_event *e) {
  seen *s = ctx;
  s->n++;
  s->last = *e;
  return 0;
}

static void test_list_in_ranges(void) {
  reset_calls();
  script = script_logs;
  anchor_client *c = client(5000);
  CHECK_FATAL(c);
  uint8_t id[32] = {9};
  char err[512];
  seen s = {0};
  int rc = anchor_list(c, id, 0, on_event, &s, err, sizeof err);
  if (rc) printf("# %s\n", err);
  CHECK(rc == ANCHOR_OK);
  CHECK(s.n == 1 && s.last.size == 42 && s.last.block == 10001 && s.last.time == 0x6553f100);
  CHECK(s.last.root[0] == 0x66 && s.last.checkpoint_hash[31] == 0x77);
  /* The refused whole range, a refused 10,000-block step, then 0..20010 in 5,000s. */
  CHECK(called("eth_getLogs") == 1 + 1 + 5);
  anchor_client_free(c);
}

int main(void) {
  uint8_t addr[20];
  if (eth_address_from_key(KEY, addr)) return 1;
  memcpy(anchorer_word, "0x000000000000000000000000", 26);
  xt_hex_encode(addr, 20, anchorer_word + 26);
  listen_fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t sl = sizeof sa;
  if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&sa, sizeof sa) || listen(listen_fd, 16) ||
      getsockname(listen_fd, (struct sockaddr *)&sa, &sl)) {
    printf("not ok - test server could not listen\n");
    return 1;
  }
  port = ntohs(sa.sin_port);
  pthread_t th;
  pthread_create(&th, NULL, server, NULL);
  CHECK_RUN(test_underpriced_is_bounded);
  CHECK_RUN(test_already_known_then_mined);
  CHECK_RUN(test_nonce_taken_elsewhere);
  CHECK_RUN(test_deadline);
  CHECK_RUN(test_list_in_ranges);
  stop_server = 1;
  shutdown(listen_fd, SHUT_RDWR);
  close(listen_fd);
  pthread_join(th, NULL);
  reset_calls();
  return check_finish();
}
