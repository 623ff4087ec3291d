/* Fuzz target: JSON-RPC response handling (anchor/rpc.h). rpc.h exposes only
 * networked calls, so the smallest entry point is a real eth_rpc talking HTTP to a
 * server thread on 127.0.0.1 that answers every request with bytes from the input.
 * Input: byte 0 picks the call, byte 1 the framing (the input as "result" of a
 * response with the right id, as "error", or the raw body), the rest is the JSON.
 * Properties: no crash or leak; a failed call leaves a message; success values are
 * in range where the API promises it (status 0/1, ntopics <= 4). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "anchor/rpc.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static uint8_t *answer;
static size_t answer_len;
static int framing;
static int listen_fd = -1;
static eth_rpc *rpc;

/* Reads one request (headers then Content-Length bytes); returns its JSON-RPC id, or
 * -1 when the connection ended. */
static long long read_request(int fd) {
  static char buf[1 << 16];
  size_t n = 0;
  char *end = NULL;
  while (!end) {
    if (n == sizeof buf - 1) return -1;
    ssize_t r = read(fd, buf + n, sizeof buf - 1 - n);
    if (r <= 0) return -1;
    n += (size_t)r;
    buf[n] = 0;
    end = strstr(buf, "\r\n\r\n");
  }
  size_t clen = 0;
  for (char *h = buf; h < end; h = strstr(h, "\r\n") + 2)
    if (strncasecmp(h, "Content-Length:", 15) == 0) clen = strtoul(h + 15, NULL, 10);
  size_t have = n - (size_t)(end + 4 - buf);
  while (have < clen) {
    if (n == sizeof buf - 1) return -1;
    ssize_t r = read(fd, buf + n, sizeof buf - 1 - n);
    if (r <= 0) return -1;
    n += (size_t)r;
    have += (size_t)r;
  }
  buf[n] = 0;
  char *id = strstr(end, "\"id\":");
  return id ? strtoll(id + 5, NULL, 10) : 0;
}

static int write_all(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n) {
    ssize_t w = write(fd, c, n);
    if (w <= 0) return -1;
    c += w;
    n -= (size_t)w;
  }
  return 0;
}

static void *serve(void *arg) {
  for (;;) {
    int fd = accept(listen_fd, NULL, NULL);
    if (fd < 0) continue;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    for (;;) {
      long long id = read_request(fd);
      if (id < 0) break;
      pthread_mutex_lock(&mu);
      char pre[128], post[8] = "}";
      int pn;
      if (framing == 0)
        pn = snprintf(pre, sizeof pre, "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":", id);
      else if (framing == 1)
        pn = snprintf(pre, sizeof pre, "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"error\":", id);
      else
        pn = 0, post[0] = 0;
      size_t body = (size_t)pn + answer_len + strlen(post);
      char head[128];
      int hn = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                           "Content-Length: %zu\r\n\r\n", body);
      /* One write: separate small writes meet delayed ACKs and cost 40 ms each. */
      char *out = malloc((size_t)hn + body);
      if (!out) abort();
      memcpy(out, head, (size_t)hn);
      memcpy(out + hn, pre, (size_t)pn);
      memcpy(out + hn + pn, answer, answer_len);
      memcpy(out + hn + pn + answer_len, post, strlen(post));
      int bad = write_all(fd, out, (size_t)hn + body);
      free(out);
      pthread_mutex_unlock(&mu);
      if (bad) break;
    }
    close(fd);
  }
  return arg;
}

static int on_log(void *ctx, const eth_log *log) {
  if (log->ntopics > 4) abort();
  if (log->data_len && !log->data) abort();
  ++*(int *)ctx;
  return *(int *)ctx > 100000;
}

static void setup(void) {
  listen_fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t al = sizeof a;
  if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&a, sizeof a) ||
      listen(listen_fd, 16) || getsockname(listen_fd, (struct sockaddr *)&a, &al))
    abort();
  pthread_t t;
  if (pthread_create(&t, NULL, serve, NULL)) abort();
  pthread_detach(t);
  char url[64], err[256];
  snprintf(url, sizeof url, "http://127.0.0.1:%u/", (unsigned)ntohs(a.sin_port));
  rpc = eth_rpc_new(url, err, sizeof err);
  if (!rpc) abort();
  eth_rpc_set_timeout_ms(rpc, 5000);
  eth_rpc_set_max_response(rpc, 1 << 20);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!rpc) setup();
  if (size < 2) return 0;
  pthread_mutex_lock(&mu);
  framing = data[1] % 4 == 3 ? 2 : data[1] % 4 == 2 ? 1 : 0;
  answer = malloc(size - 2 ? size - 2 : 1);
  if (!answer) abort();
  memcpy(answer, data + 2, size - 2);
  answer_len = size - 2;
  pthread_mutex_unlock(&mu);

  static const uint8_t addr[20] = {1, 2, 3}, hash[32] = {4, 5, 6}, topic[32] = {7};
  uint64_t u = 0;
  int rc;
  switch (data[0] % 10) {
  case 0: rc = eth_chain_id(rpc, &u); break;
  case 1: rc = eth_block_number(rpc, &u); break;
  case 2: rc = eth_get_transaction_count(rpc, addr, "pending", &u); break;
  case 3: rc = eth_next_base_fee(rpc, &u); break;
  case 4: {
    uint8_t *out = NULL;
    size_t n = 0;
    rc = eth_call(rpc, addr, hash, sizeof hash, &out, &n);
    if (rc == ETH_RPC_OK && !out) abort();
    free(out);
    break;
  }
  case 5: {
    uint8_t h[32];
    rc = eth_send_raw_transaction(rpc, hash, sizeof hash, h);
    break;
  }
  case 6: {
    eth_receipt r;
    int found = -1;
    rc = eth_get_transaction_receipt(rpc, hash, &r, &found);
    if (rc == ETH_RPC_OK && found && r.status != 0 && r.status != 1) abort();
    break;
  }
  case 7: {
    eth_block b;
    int found = -1;
    rc = eth_get_block_by_number(rpc, data[0] & 0x80 ? ETH_BLOCK_LATEST : 12, &b, &found);
    break;
  }
  case 8: {
    int seen = 0;
    rc = eth_get_logs(rpc, addr, topic, data[0] & 0x80 ? topic : NULL, 1, 2000, on_log, &seen);
    break;
  }
  default: rc = eth_estimate_gas(rpc, addr, NULL, hash, sizeof hash, &u); break;
  }
  if (rc != ETH_RPC_OK) {
    const char *e = eth_rpc_error(rpc);
    if (!e || !*e) abort();
    size_t n;
    const uint8_t *ed = eth_rpc_error_data(rpc, &n);
    if (ed && n > size) abort();
  }
  pthread_mutex_lock(&mu);
  free(answer);
  answer = NULL;
  pthread_mutex_unlock(&mu);
  return 0;
}
