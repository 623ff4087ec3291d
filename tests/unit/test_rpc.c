/* The JSON-RPC client against a scripted HTTP server in this process: well-formed
 * answers, node errors with revert data, and every way a node can misbehave (too
 * large, too slow, not JSON, wrong id, non-canonical quantities, HTTP errors, closed
 * port). Also revert-name decoding. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "anchor/abi.h"
#include "anchor/anchor.h"
#include "anchor/rpc.h"
#include "tests/lib/check.h"

/* What the server answers next: a JSON body with "%llu" for the request id, or one of
 * the special modes. */
typedef enum { SERVE_JSON, SERVE_HANG, SERVE_HTTP500, SERVE_HUGE } serve_mode;
static serve_mode mode;
static const char *body_fmt;
static int saw_content_type;
static int listen_fd;
static int port;
static volatile int stop_server;

static void *server(void *arg) {
  (void)arg;
  while (!stop_server) {
    int fd = accept(listen_fd, NULL, NULL);
    if (fd < 0) continue;
    char req[65536];
    size_t n = 0;
    /* Read headers and the body (Content-Length). */
    for (;;) {
      ssize_t r = read(fd, req + n, sizeof req - 1 - n);
      if (r <= 0) break;
      n += (size_t)r;
      req[n] = 0;
      char *end = strstr(req, "\r\n\r\n");
      char *cl = strcasestr(req, "Content-Length:");
      if (end && cl && (size_t)(end + 4 - req) + strtoul(cl + 15, NULL, 10) <= n) break;
    }
    req[n] = 0;
    saw_content_type = strcasestr(req, "Content-Type: application/json") != NULL;
    unsigned long long id = 0;
    char *idp = strstr(req, "\"id\":");
    if (idp) id = strtoull(idp + 5, NULL, 10);
    char body[8192];
    const char *status = "200 OK";
    if (mode == SERVE_HANG) {
      struct timespec ts = {1, 200000000};
      nanosleep(&ts, NULL);
      close(fd);
      continue;
    } else if (mode == SERVE_HTTP500) {
      status = "500 Internal Server Error";
      snprintf(body, sizeof body, "upstream exploded");
    } else if (mode == SERVE_HUGE) {
      int k = snprintf(body, sizeof body, "{\"jsonrpc\":\"2.0\",\"id\":%llu,\"result\":\"0x", id);
      while (k < 6000) body[k++] = 'a';
      body[k] = 0;
      snprintf(body + k, sizeof body - (size_t)k, "\"}");
    } else {
      /* The template's "%llu" stands for the request id. */
      const char *at = strstr(body_fmt, "%llu");
      if (at)
        snprintf(body, sizeof body, "%.*s%llu%s", (int)(at - body_fmt), body_fmt, id, at + 4);
      else
        snprintf(body, sizeof body, "%s", body_fmt);
    }
    char head[256];
    int hl = snprintf(head, sizeof head,
                      "HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                      "Connection: close\r\n\r\n",
                      status, strlen(body));
    if (write(fd, head, (size_t)hl) < 0 || write(fd, body, strlen(body)) < 0) {
      /* the client may have given up already */
    }
    close(fd);
  }
  return NULL;
}

static eth_rpc *client(void) {
  char url[64], err[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
  eth_rpc *r = eth_rpc_new(url, err, sizeof err);
  if (r) eth_rpc_set_timeout_ms(r, 400);
  return r;
}

static void serve(const char *fmt) {
  mode = SERVE_JSON;
  body_fmt = fmt;
}

static void test_well_formed(void) {
  eth_rpc *r = client();
  CHECK_FATAL(r);
  uint64_t v = 0;
  serve("{\"jsonrpc\":\"2.0\",\"id\":%llu,\"result\":\"0x14a34\"}");
  CHECK(eth_chain_id(r, &v) == ETH_RPC_OK && v == 84532);
  CHECK(saw_content_type);
  serve("{\"jsonrpc\":\"2.0\",\"id\":%llu,\"result\":null}");
  uint8_t h[32] = {1};
  eth_receipt rc;
  int found = 7;
  CHECK(eth_get_transaction_receipt(r, h, &rc, &found) == ETH_RPC_OK && found == 0);
  serve("{\"jsonrpc\":\"2.0\",\"id\":%llu,\"result\":{\"transactionHash\":\"0x"
        "0101010101010101010101010101010101010101010101010101010101010101\",\"blockHash\":\"0x"
        "0202020202020202020202020202020202020202020202020202020202020202\",\"blockNumber\":\"0x10\","
        "\"status\":\"0x1\",\"gasUsed\":\"0xb71b\",\"contractAddress\":null}}");
  CHECK(eth_get_transaction_receipt(r, h, &rc, &found) == ETH_RPC_OK && found == 1);
  CHECK(rc.block_number == 16 && rc.status == 1 && rc.gas_used == 46875 && !rc.has_contract_address);
  serve("{\"jsonrpc\":\"2.0\",\"id\":%llu,\"result\":{\"baseFeePerGas\":[\"0x3b9aca00\",\"0x3b9aca07\"]}}");
  CHECK(eth_next_base_fee(r, &v) == ETH_RPC_OK && v == 1000000007);
  eth_rpc_free(r);
}

/* eth_getBalance: 256-bit quantities to exact decimal (anvil's 10,000 ETH is 1e22 wei,
 * beyond 64 bits); anything but a canonical quantity is refused. */
static void test_balance(void) {
  eth_rpc *r = client();
  CHECK_FATAL(r);
  uint8_t addr[20] = {0};
  char wei[ETH_U256_DECIMAL_MAX];
  static const struct {
    const char *q, *dec;
  } ok[] = {{"0x0", "0"},
            {"0x1", "1"},
            {"0xffffffffffffffff", "18446744073709551615"},
            {"0x10000000000000000", "18446744073709551616"},
            {"0x21e19e0c9bab2400000", "10000000000000000000000"},
            {"0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
             "115792089237316195423570985008687907853269984665640564039457584007913129639935"}};
  char body[300];
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    snprintf(body, sizeof body, "{\"jsonrpc\":\"2.0\",\"id\":%%llu,\"result\":\"%s\"}", ok[i].q);
    serve(body);
    CHECK(eth_get_balance(r, addr, wei) == ETH_RPC_OK && !strcmp(wei, ok[i].dec));
  }
  static const char *bad[] = {"\"0x\"", "\"0x01\"", "\"12\"", "\"0xg1\"", "12",
                              "\"0x1ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\""};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    snprintf(body, sizeof body, "{\"jsonrpc\":\"2.0\",\"id\":%%llu,\"result\":%s}", bad[i]);
    serve(body);
    CHECK(eth_get_balance(r, addr, wei) == ETH_RPC_ERR_PROTOCOL);
  }
  eth_rpc_free(r);
}

static void test_node_error_with_revert_data(void) {
  eth_rpc *r = client();
  CHECK_FATAL(r);
  uint64_t gas;
  uint8_t from[20] = {0}, to[20] = {0}, data[4] = {1, 2, 3, 4};
  serve("{\"jsonrpc\":\"2.0\",\"id\":%llu,\"error\":{\"code\":3,\"message\":\"execution reverted\","
        "\"data\":\"0x9b3dc0d2\"}}");
  CHECK(eth_estimate_gas(r, from, to, data, 4, &gas) == ETH_RPC_ERR_NODE);
  CHECK(eth_rpc_error_code(r) == 3);
  CHECK(strstr(eth_rpc_error(r), "execution reverted") != NULL);
  size_t n;
  const uint8_t *d = eth_rpc_error_data(r, &n);
  CHECK(d && n == 4 && d[0] == 0x9b && d[3] == 0xd2);
  /* Error data nested one level deeper, as some nodes send it. */
  serve("{\"jsonrpc\":\"2.0\",\"id\":%llu,\"error\":{\"code\":-32000,\"message\":\"reverted\","
        "\"data\":{\"data\":\"0xabcdef01\"}}}");
  CHECK(eth_estimate_gas(r, from, to, data, 4, &gas) == ETH_RPC_ERR_NODE);
  d = eth_rpc_error_data(r, &n);
  CHECK(d && n == 4 && d[0] == 0xab);
  eth_rpc_free(r);
}

static void test_misbehaving_nodes(void) {
  eth_rpc *r = client();
  CHECK_FATAL(r);
  uint64_t v;
  serve("{\"jsonrpc\":\"2.0\",\"id\":%llu,\"result\":\"0x014a34\"}");
  CHECK(eth_chain_id(r, &v) == ETH_RPC_ERR_PROTOCOL); /* leading zero: not a quantity */
  serve("{\"jsonrpc\":\"2.0\",\"id\":%llu,\"result\":84532}");
  CHECK(eth_chain_id(r, &v) == ETH_RPC_ERR_PROTOCOL);
  serve("{\"jsonrpc\":\"2.0\",\"id\":%llu9,\"result\":\"0x1\"}");
  CHECK(eth_chain_id(r, &v) == ETH_RPC_ERR_PROTOCOL && strstr(eth_rpc_error(r), "id") != NULL);
  serve("{\"jsonrpc\":\"2.0\",\"id\":%llu}");
  CHECK(eth_chain_id(r, &v) == ETH_RPC_ERR_PROTOCOL);
  serve("not json at all %llu");
  CHECK(eth_chain_id(r, &v) == ETH_RPC_ERR_PROTOCOL);
  serve("{\"jsonrpc\":\"2.0\",\"id\":%llu,\"result\":\"0x1\",\"result\":\"0x2\"}");
  CHECK(eth_chain_id(r, &v) == ETH_RPC_ERR_PROTOCOL); /* duplicate keys rejected */
  mode = SERVE_HTTP500;
  CHECK(eth_chain_id(r, &v) == ETH_RPC_ERR_TRANSPORT && strstr(eth_rpc_error(r), "HTTP 500") != NULL);
  mode = SERVE_HUGE;
  eth_rpc_set_max_response(r, 1000);
  CHECK(eth_chain_id(r, &v) == ETH_RPC_ERR_TOO_LARGE && strstr(eth_rpc_error(r), "larger than 1000") != NULL);
  mode = SERVE_HANG;
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  CHECK(eth_chain_id(r, &v) == ETH_RPC_ERR_TRANSPORT);
  clock_gettime(CLOCK_MONOTONIC, &b);
  double ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
  CHECK(ms >= 350 && ms < 1100); /* the 400 ms timeout, not the server's 1.2 s */
  struct timespec rest = {0, 900000000}; /* let the one-connection server finish */
  nanosleep(&rest, NULL);
  serve("{\"jsonrpc\":\"2.0\",\"id\":%llu,\"result\":\"0x1\"}");
  eth_rpc_free(r);
  char err[128];
  CHECK(eth_rpc_new("ftp://127.0.0.1/", err, sizeof err) == NULL && strstr(err, "http") != NULL);
  /* A port nobody listens on. */
  eth_rpc *closed = eth_rpc_new("http://127.0.0.1:1", err, sizeof err);
  CHECK_FATAL(closed);
  CHECK(eth_chain_id(closed, &v) == ETH_RPC_ERR_TRANSPORT && strstr(eth_rpc_error(closed), "127.0.0.1:1") != NULL);
  eth_rpc_free(closed);
}

static void test_malformed_logs_rejected(void) {
  eth_rpc *r = client();
  CHECK_FATAL(r);
  uint8_t addr[20] = {0}, topic[32] = {0};
  serve("{\"jsonrpc\":\"2.0\",\"id\":%llu,\"result\":[{\"blockNumber\":\"0x1\"}]}");
  CHECK(eth_get_logs(r, addr, topic, NULL, 0, ETH_BLOCK_LATEST, NULL, NULL) == ETH_RPC_ERR_PROTOCOL);
  serve("{\"jsonrpc\":\"2.0\",\"id\":%llu,\"result\":{}}");
  CHECK(eth_get_logs(r, addr, topic, NULL, 0, ETH_BLOCK_LATEST, NULL, NULL) == ETH_RPC_ERR_PROTOCOL);
  eth_rpc_free(r);
}

static void test_revert_names(void) {
  char name[128];
  uint8_t d[4 + 64 + 32];
  abi_selector("BadConsistencyProof()", d);
  CHECK(anchor_revert_name(d, 4, name, sizeof name) == 0 && !strcmp(name, "BadConsistencyProof"));
  abi_selector("SizeDecreased(uint64,uint64)", d);
  CHECK(anchor_revert_name(d, 68, name, sizeof name) == 0 && !strcmp(name, "SizeDecreased"));
  abi_selector("NotAnchorer(address)", d);
  CHECK(anchor_revert_name(d, 36, name, sizeof name) == 0 && !strcmp(name, "NotAnchorer"));
  /* Error(string) "nope" */
  memset(d, 0, sizeof d);
  abi_selector("Error(string)", d);
  abi_word_put_uint64(d + 4, 32);
  abi_word_put_uint64(d + 36, 4);
  memcpy(d + 68, "nope", 4);
  CHECK(anchor_revert_name(d, sizeof d, name, sizeof name) == 0 && !strcmp(name, "Error: nope"));
  /* A length past the data is not trusted. */
  abi_word_put_uint64(d + 36, 1000);
  CHECK(anchor_revert_name(d, sizeof d, name, sizeof name) == -1);
  d[0] = 0xff;
  CHECK(anchor_revert_name(d, 4, name, sizeof name) == -1 && strstr(name, "0xff") != NULL);
  CHECK(anchor_revert_name(d, 3, name, sizeof name) == -1);
}

static void test_log_id(void) {
  uint8_t id[32];
  char hex[65];
  anchor_log_id("example.org/xordi/log", id);
  check_hex(id, 32, hex);
  /* echo -n example.org/xordi/log | sha256sum */
  CHECK(strcmp(hex, "3232de9e7e5a0f8b4371003259781cae9f004915289301dd82dc25421477ae01") == 0);
  anchor_log_id("", id);
  check_hex(id, 32, hex);
  CHECK(strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0);
}

/* Every status of rpc.h and anchor.h has its own name: callers print them, and a
 * missing case would print "unknown status" for a real outcome. */
static void test_status_names(void) {
  for (int a = ETH_RPC_ERR_TOO_LARGE; a <= ETH_RPC_OK; a++) {
    CHECK(strcmp(eth_rpc_status_str(a), "unknown status") != 0);
    for (int b = ETH_RPC_ERR_TOO_LARGE; b < a; b++)
      CHECK(strcmp(eth_rpc_status_str(a), eth_rpc_status_str(b)) != 0);
  }
  CHECK(strcmp(eth_rpc_status_str(1), "unknown status") == 0);
  for (int a = ANCHOR_ERR_RETRY; a <= ANCHOR_UNCHANGED; a++) {
    CHECK(strcmp(anchor_status_str(a), "unknown status") != 0);
    for (int b = ANCHOR_ERR_RETRY; b < a; b++)
      CHECK(strcmp(anchor_status_str(a), anchor_status_str(b)) != 0);
  }
  CHECK(strcmp(anchor_status_str(2), "unknown status") == 0);
}

int main(void) {
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
  CHECK_RUN(test_well_formed);
  CHECK_RUN(test_balance);
  CHECK_RUN(test_node_error_with_revert_data);
  CHECK_RUN(test_misbehaving_nodes);
  CHECK_RUN(test_malformed_logs_rejected);
  CHECK_RUN(test_revert_names);
  CHECK_RUN(test_log_id);
  CHECK_RUN(test_status_names);
  stop_server = 1;
  shutdown(listen_fd, SHUT_RDWR);
  close(listen_fd);
  pthread_join(th, NULL);
  return check_finish();
}
