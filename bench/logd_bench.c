/* logd-bench: a keep-alive HTTP/1.1 load generator for logd (and for any server of
 * the same tile paths, e.g. nginx).
 *
 *   logd-bench MODE --url http://127.0.0.1:PORT [--token T] [--conns 64]
 *              [--seconds 5] [--batch 1000] [--size N] [--tiles N] [--rate R] [--path P]
 *
 * MODE: add (one event per POST /v1/add), batch (--batch events per
 * /v1/add-batch), wait (POST /v1/add?wait=checkpoint paced at --rate entries/s
 * spread over the connections: sequencing-to-checkpoint latency), proof
 * (GET /v1/proof/inclusion at random index for --size), consistency (GET
 * /v1/proof/consistency from a random size to --size), tile (GET random full
 * level-0 tiles 0..--tiles-1), get (GET --path, the same path every time: the
 * HTTP floor of a server, logd's or nginx's, beside the appends).
 *
 * One thread, epoll, one request in flight per connection. Prints one line:
 *   mode=add requests=N items=N seconds=S rate=R/s p50_ms=.. p99_ms=.. max_ms=.. errors=N
 *   .. late=N
 * Paced, a connection sends every conns/rate seconds, so the rate holds only while
 * the latency stays under that: late counts the sends that went out more than 5 ms
 * after their slot because their connection was still waiting (give enough --conns:
 * 256 at 10,000/s caps the rate at 6,400/s once latency reaches 40 ms). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct conn {
  int fd;
  char *req;
  size_t req_len, req_off;
  char *resp;
  size_t resp_len, resp_cap;
  double t_sent;
  int busy;
  double next_at; /* paced mode */
} conn;


/* A load generator has nothing to fall back on: running out of memory or losing its
 * connection ends the run, with the reason. */
static void die(const char *what) {
  perror(what);
  exit(1);
}

static void *xcalloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size);
  if (!p) die("logd-bench: out of memory");
  return p;
}

static void *xrealloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q) die("logd-bench: out of memory");
  return q;
}

static const char *mode;
static char host[64] = "127.0.0.1";
static unsigned port;
static const char *token = "";
static int batch = 1000;
static uint64_t tree_size = 1, ntiles = 1;
static const char *get_path = "/checkpoint";
static double rate;
static uint64_t counter;
static unsigned seed = 12345;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rnd64(void) {
  return ((uint64_t)rand_r(&seed) << 33) ^ ((uint64_t)rand_r(&seed) << 11) ^ (uint64_t)rand_r(&seed);
}

/* Builds the next request for c. Returns items it carries. */
static int build(conn *c) {
  static char body[1 << 20];
  size_t blen = 0;
  char head[512];
  int items = 1;
  const char *path = NULL;
  char pbuf[200];
  int post = 0;
  uint64_t run = (uint64_t)getpid() << 32;
  if (!strcmp(mode, "add") || !strcmp(mode, "wait")) {
    blen = (size_t)snprintf(body, sizeof body,
                            "{\"type\":\"bench\",\"run\":%llu,\"n\":%llu,\"user\":\"5f2b9c0d7e1a4b3c8d9e0f1a2b3c4d5e\"}",
                            (unsigned long long)run, (unsigned long long)counter++);
    path = !strcmp(mode, "add") ? "/v1/add" : "/v1/add?wait=checkpoint";
    post = 1;
  } else if (!strcmp(mode, "batch")) {
    body[blen++] = '[';
    for (int i = 0; i < batch; i++)
      blen += (size_t)snprintf(body + blen, sizeof body - blen,
                               "%s{\"type\":\"bench\",\"run\":%llu,\"n\":%llu,\"user\":\"5f2b9c0d7e1a4b3c8d9e0f1a2b3c4d5e\"}",
                               i ? "," : "", (unsigned long long)run, (unsigned long long)counter++);
    body[blen++] = ']';
    items = batch;
    path = "/v1/add-batch";
    post = 1;
  } else if (!strcmp(mode, "proof")) {
    snprintf(pbuf, sizeof pbuf, "/v1/proof/inclusion?index=%llu&size=%llu",
             (unsigned long long)(rnd64() % tree_size), (unsigned long long)tree_size);
    path = pbuf;
  } else if (!strcmp(mode, "consistency")) {
    snprintf(pbuf, sizeof pbuf, "/v1/proof/consistency?from=%llu&to=%llu",
             (unsigned long long)(1 + rnd64() % tree_size), (unsigned long long)tree_size);
    path = pbuf;
  } else if (!strcmp(mode, "get")) {
    path = get_path;
  } else {
    uint64_t t = rnd64() % ntiles;
    unsigned groups[8];
    int n = 0;
    do {
      groups[n++] = (unsigned)(t % 1000);
      t /= 1000;
    } while (t);
    char num[64];
    size_t off = 0;
    for (int i = n - 1; i >= 0; i--)
      off += (size_t)snprintf(num + off, sizeof num - off, "%s%s%03u", i == n - 1 ? "" : "/", i ? "x" : "", groups[i]);
    snprintf(pbuf, sizeof pbuf, "/tile/0/%s", num);
    path = pbuf;
  }
  int hl;
  if (post)
    hl = snprintf(head, sizeof head,
                  "POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                  path, host, token, blen);
  else
    hl = snprintf(head, sizeof head, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, host), blen = 0;
  free(c->req);
  c->req = xrealloc(NULL, (size_t)hl + blen);
  memcpy(c->req, head, (size_t)hl);
  memcpy(c->req + hl, body, blen);
  c->req_len = (size_t)hl + blen;
  c->req_off = 0;
  return items;
}

static int connect_one(void) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, host, &sa.sin_addr);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) && errno != EINPROGRESS) {
    close(fd);
    return -1;
  }
  return fd;
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Complete response in c->resp? Returns its status, 0 if incomplete. */
static int complete(conn *c, size_t *used) {
  c->resp[c->resp_len] = 0;
  char *eoh = strstr(c->resp, "\r\n\r\n");
  if (!eoh) return 0;
  size_t hlen = (size_t)(eoh - c->resp) + 4;
  size_t clen = 0;
  char *cl = strcasestr(c->resp, "\r\nContent-Length:");
  if (cl && cl < eoh) clen = strtoull(cl + 17, NULL, 10);
  if (c->resp_len < hlen + clen) return 0;
  *used = hlen + clen;
  int st = 0;
  sscanf(c->resp, "HTTP/1.%*d %d", &st);
  return st ? st : 1;
}

/* One function (~145 lines): a load generator's event loop, kept readable top to bottom
 * (options, connections, the epoll loop, the figures) rather than split into helpers
 * that would share all of its state. Not shipped. */
int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: logd-bench add|batch|wait|proof|consistency|tile|get --url URL [options]\n");
    return 2;
  }
  mode = argv[1];
  int nconns = 64;
  double seconds = 5;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--url")) sscanf(argv[i + 1], "http://%63[^:]:%u", host, &port);
    else if (!strcmp(argv[i], "--token")) token = argv[i + 1];
    else if (!strcmp(argv[i], "--conns")) nconns = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--seconds")) seconds = atof(argv[i + 1]);
    else if (!strcmp(argv[i], "--batch")) batch = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--size")) tree_size = strtoull(argv[i + 1], NULL, 10);
    else if (!strcmp(argv[i], "--tiles")) ntiles = strtoull(argv[i + 1], NULL, 10);
    else if (!strcmp(argv[i], "--rate")) rate = atof(argv[i + 1]);
    else if (!strcmp(argv[i], "--path")) get_path = argv[i + 1];
    else {
      fprintf(stderr, "logd-bench: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  if (!port || nconns < 1) {
    fprintf(stderr, "logd-bench: --url http://HOST:PORT is required\n");
    return 2;
  }
  int ep = epoll_create1(0);
  conn *cs = xcalloc((size_t)nconns, sizeof *cs);
  for (int i = 0; i < nconns; i++) {
    cs[i].fd = connect_one();
    if (cs[i].fd < 0) die("connect");
    cs[i].resp_cap = 1 << 16;
    cs[i].resp = xrealloc(NULL, cs[i].resp_cap + 1);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u32 = (uint32_t)i};
    epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
  }
  size_t lat_cap = 1 << 20, nlat = 0;
  double *lat = xrealloc(NULL, lat_cap * sizeof *lat);
  uint64_t requests = 0, items = 0, errors = 0, reconnects = 0, late = 0;
  int *carried = xcalloc((size_t)nconns, sizeof *carried);
  double t0 = now_s(), end = t0 + seconds;
  double interval = rate > 0 ? (double)nconns / rate : 0;
  for (int i = 0; i < nconns; i++) cs[i].next_at = t0 + interval * i / nconns;
  struct epoll_event evs[256];
  while (now_s() < end) {
    double now = now_s();
    for (int i = 0; i < nconns; i++) {
      conn *c = &cs[i];
      if (!c->busy && now >= c->next_at) {
        if (interval > 0 && now > c->next_at + 0.005) late++;
        carried[i] = build(c);
        c->busy = 1;
        c->t_sent = now;
        c->next_at = interval > 0 ? c->next_at + interval : 0;
        ssize_t w = send(c->fd, c->req, c->req_len, MSG_NOSIGNAL);
        if (w > 0) c->req_off = (size_t)w;
      }
    }
    int n = epoll_wait(ep, evs, 256, interval > 0 ? 1 : 100);
    for (int k = 0; k < n; k++) {
      conn *c = &cs[evs[k].data.u32];
      int i = (int)evs[k].data.u32;
      if (!c->busy) {
        char tmp[256];
        if (evs[k].events & EPOLLIN) {
          ssize_t r = recv(c->fd, tmp, sizeof tmp, 0);
          if (r == 0) {
            epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
            close(c->fd);
            c->fd = connect_one();
            if (c->fd < 0) die("reconnect");
            struct epoll_event ev2 = {.events = EPOLLIN | EPOLLOUT, .data.u32 = (uint32_t)i};
            epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev2);
            reconnects++;
          }
        }
        continue;
      }
      if (c->req_off < c->req_len && (evs[k].events & EPOLLOUT)) {
        ssize_t w = send(c->fd, c->req + c->req_off, c->req_len - c->req_off, MSG_NOSIGNAL);
        if (w > 0) c->req_off += (size_t)w;
      }
      if (evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        for (;;) {
          if (c->resp_len + 65536 > c->resp_cap) {
            c->resp_cap *= 2;
            c->resp = xrealloc(c->resp, c->resp_cap + 1);
          }
          ssize_t r = recv(c->fd, c->resp + c->resp_len, c->resp_cap - c->resp_len, 0);
          if (r > 0) {
            c->resp_len += (size_t)r;
            continue;
          }
          if (r == 0) {
            /* Closed (nginx ends keep-alive after N requests): reconnect, resend. */
            epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
            close(c->fd);
            c->fd = connect_one();
            if (c->fd < 0) die("reconnect");
            struct epoll_event ev2 = {.events = EPOLLIN | EPOLLOUT, .data.u32 = (uint32_t)i};
            epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev2);
            c->resp_len = 0;
            c->req_off = 0;
            reconnects++;
            goto next_event;
          }
          break;
        }
        size_t used;
        int st = complete(c, &used);
        if (st) {
          double t = now_s();
          if (st != 200) {
            errors++;
            if (errors < 4) fprintf(stderr, "logd-bench: status %d: %.200s\n", st, c->resp);
          } else {
            requests++;
            items += (uint64_t)carried[i];
            if (nlat == lat_cap) lat = xrealloc(lat, (lat_cap *= 2) * sizeof *lat);
            lat[nlat++] = (t - c->t_sent) * 1000;
          }
          memmove(c->resp, c->resp + used, c->resp_len - used);
          c->resp_len -= used;
          c->busy = 0;
        }
      }
    next_event:;
    }
  }
  double took = now_s() - t0;
  qsort(lat, nlat, sizeof *lat, cmp_d);
  double p50 = nlat ? lat[nlat / 2] : 0, p99 = nlat ? lat[nlat * 99 / 100] : 0, mx = nlat ? lat[nlat - 1] : 0;
  printf("mode=%s conns=%d requests=%llu items=%llu seconds=%.2f rate=%.0f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f errors=%llu reconnects=%llu late=%llu\n",
         mode, nconns, (unsigned long long)requests, (unsigned long long)items, took, (double)items / took, p50, p99, mx,
         (unsigned long long)errors, (unsigned long long)reconnects, (unsigned long long)late);
  for (int i = 0; i < nconns; i++) {
    free(cs[i].req);
    free(cs[i].resp);
    if (cs[i].fd >= 0) close(cs[i].fd);
  }
  free(cs);
  free(lat);
  free(carried);
  close(ep);
  return 0;
}
