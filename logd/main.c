/* logd: the log server. See `logd --help` and SPEC.md. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "logd/event.h"
#include "logd/http.h"
#include "logd/log.h"
#include "logd/sequencer.h"
#include "logd/store.h"
#include "merkle/note.h"

#define EXIT_USAGE 2

static void usage(FILE *f) {
  fprintf(f,
          "usage: logd --data DIR --listen HOST:PORT --origin ORIGIN --dev\n"
          "            [--submitters FILE] [--checkpoint-interval-ms 1000]\n"
          "            [--max-entry-bytes 16384] [--client-timeout 30]\n"
          "            [--max-connections 1024] [--queue-limit 100000] [--threads 2]\n"
          "\n"
          "The append-only Merkle log server: accepts events over HTTP, sequences them\n"
          "into a RocksDB store under DIR (one synced write per group of requests), and\n"
          "publishes C2SP tiles and Ed25519-signed checkpoints.\n"
          "\n"
          "  --data DIR                 data directory (created if missing)\n"
          "  --listen HOST:PORT         address to serve HTTP on\n"
          "  --origin ORIGIN            the log's origin (checkpoint first line, key name)\n"
          "  --dev                      keys are generated into DIR on first start and reused;\n"
          "                             writes DIR/verifier-key and DIR/dev-token (a bearer\n"
          "                             token for submitter 'dev') and prints both\n"
          "  --submitters FILE          lines 'name token': who may write\n"
          "  --checkpoint-interval-ms N sign a checkpoint at most every N ms when the tree grew\n"
          "  --max-entry-bytes N        largest stored entry (default 16384, at most 65535)\n"
          "  --client-timeout S         close connections idle for S seconds (default 30)\n"
          "  --max-connections N        concurrent connections (default 1024)\n"
          "  --queue-limit N            events waiting for the sequencer before 503 (default 100000)\n"
          "  --threads N                HTTP worker threads (default 2)\n"
          "  --help, --version\n"
          "\n"
          "Log lines go to stderr. SIGTERM/SIGINT: finish queued writes, sign a last\n"
          "checkpoint, exit 0. Exit status 1 on a startup failure, 2 on a usage error.\n");
}

static int parse_num(const char *flag, const char *v, uint64_t min, uint64_t max, uint64_t *out) {
  char *end;
  errno = 0;
  if (!v || !*v || *v == '-' || *v == '+') goto bad;
  unsigned long long x = strtoull(v, &end, 10);
  if (errno || *end || x < min || x > max) goto bad;
  *out = x;
  return 0;
bad:
  fprintf(stderr, "logd: %s takes an integer from %" PRIu64 " to %" PRIu64 " (got '%s')\n", flag,
          min, max, v ? v : "");
  return -1;
}

static void hex(const uint8_t *in, size_t n, char *out) {
  static const char d[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = d[in[i] >> 4];
    out[2 * i + 1] = d[in[i] & 15];
  }
  out[2 * n] = 0;
}

static int unhex(const char *s, size_t n, uint8_t *out) {
  for (size_t i = 0; i < 2 * n; i++) {
    char c = s[i];
    int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (v < 0) return -1;
    out[i / 2] = (uint8_t)(i % 2 ? out[i / 2] << 4 | v : v);
  }
  return 0;
}

/* Reads a small file; 1 when absent. */
static int read_file(const char *path, char *buf, size_t cap, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return errno == ENOENT ? 1 : -1;
  size_t n = fread(buf, 1, cap - 1, f);
  int bad = ferror(f) || !feof(f);
  fclose(f);
  if (bad) return -1;
  buf[n] = 0;
  *len = n;
  return 0;
}

/* Written to a temporary name, synced, then renamed: never a half-written key. */
static int write_file(const char *dir, const char *name, const char *data, size_t len, mode_t mode) {
  char path[PATH_MAX], tmp[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return -1;
  ssize_t w = write(fd, data, len);
  if (w != (ssize_t)len || fsync(fd)) {
    close(fd);
    unlink(tmp);
    return -1;
  }
  close(fd);
  if (rename(tmp, path)) {
    unlink(tmp);
    return -1;
  }
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  return 0;
}

/* A dev-mode secret: read it, or create it once. */
static int dev_secret(const char *dir, const char *name, uint8_t out[32]) {
  char path[PATH_MAX], buf[200];
  size_t len;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  int rc = read_file(path, buf, sizeof buf, &len);
  if (rc == 0) {
    while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r')) len--;
    if (len != 64 || unhex(buf, 32, out)) {
      fprintf(stderr, "logd: %s is not 64 lowercase hex digits\n", path);
      return -1;
    }
    return 0;
  }
  if (rc < 0) {
    fprintf(stderr, "logd: cannot read %s: %s\n", path, strerror(errno));
    return -1;
  }
  if (RAND_bytes(out, 32) != 1) {
    fprintf(stderr, "logd: no randomness for %s\n", name);
    return -1;
  }
  char h[65];
  hex(out, 32, h);
  h[64] = '\n';
  if (write_file(dir, name, h, 65, 0600)) {
    fprintf(stderr, "logd: cannot write %s: %s\n", path, strerror(errno));
    return -1;
  }
  return 0;
}

static int load_submitters(const char *path, logd_submitter **out, size_t *count) {
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "logd: cannot open --submitters %s: %s\n", path, strerror(errno));
    return -1;
  }
  char line[1024];
  unsigned lineno = 0;
  int rc = 0;
  while (fgets(line, sizeof line, f)) {
    lineno++;
    size_t n = strlen(line);
    if (n == sizeof line - 1 && line[n - 1] != '\n') {
      fprintf(stderr, "logd: %s:%u: line too long\n", path, lineno);
      rc = -1;
      break;
    }
    char name[128], token[600], extra[8];
    int k = sscanf(line, "%127s %599s %7s", name, token, extra);
    if (k <= 0 || name[0] == '#') continue;
    if (k != 2) {
      fprintf(stderr, "logd: %s:%u: expected 'name token'\n", path, lineno);
      rc = -1;
      break;
    }
    if (!event_submitter_valid(name)) {
      fprintf(stderr, "logd: %s:%u: submitter names are 1-64 chars of A-Z a-z 0-9 _ . -\n", path, lineno);
      rc = -1;
      break;
    }
    if (strlen(token) < 16) {
      fprintf(stderr, "logd: %s:%u: token of '%s' is shorter than 16 characters\n", path, lineno, name);
      rc = -1;
      break;
    }
    logd_submitter s;
    memset(&s, 0, sizeof s);
    memcpy(s.name, name, strlen(name) + 1); /* valid names are <= 64 chars */
    EVP_Digest(token, strlen(token), s.token_hash, NULL, EVP_sha256(), NULL);
    for (size_t i = 0; i < *count; i++) {
      if (!strcmp((*out)[i].name, s.name) || !memcmp((*out)[i].token_hash, s.token_hash, 32)) {
        fprintf(stderr, "logd: %s:%u: duplicate submitter name or token\n", path, lineno);
        rc = -1;
      }
    }
    if (rc) break;
    logd_submitter *nv = realloc(*out, (*count + 1) * sizeof *nv);
    if (!nv) {
      rc = -1;
      break;
    }
    *out = nv;
    (*out)[(*count)++] = s;
  }
  fclose(f);
  return rc;
}

int main(int argc, char **argv) {
  const char *data = NULL, *listen = NULL, *origin = NULL, *subfile = NULL;
  int dev = 0;
  uint64_t interval = 1000, max_entry = 16384, timeout = 30, max_conns = 1024, queue = 100000,
           threads = 2;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_VALUE()                                                  \
  do {                                                                \
    if (!v) {                                                         \
      fprintf(stderr, "logd: %s needs a value (see --help)\n", a);    \
      return EXIT_USAGE;                                              \
    }                                                                 \
    i++;                                                              \
  } while (0)
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      return 0;
    } else if (!strcmp(a, "--version")) {
      printf("logd %s\n", XT_VERSION);
      return 0;
    } else if (!strcmp(a, "--dev")) {
      dev = 1;
    } else if (!strcmp(a, "--data")) {
      NEED_VALUE();
      data = v;
    } else if (!strcmp(a, "--listen")) {
      NEED_VALUE();
      listen = v;
    } else if (!strcmp(a, "--origin")) {
      NEED_VALUE();
      origin = v;
    } else if (!strcmp(a, "--submitters")) {
      NEED_VALUE();
      subfile = v;
    } else if (!strcmp(a, "--checkpoint-interval-ms")) {
      NEED_VALUE();
      if (parse_num(a, v, 1, 3600000, &interval)) return EXIT_USAGE;
    } else if (!strcmp(a, "--max-entry-bytes")) {
      NEED_VALUE();
      if (parse_num(a, v, 256, EVENT_ENTRY_HARD_MAX, &max_entry)) return EXIT_USAGE;
    } else if (!strcmp(a, "--client-timeout")) {
      NEED_VALUE();
      if (parse_num(a, v, 1, 3600, &timeout)) return EXIT_USAGE;
    } else if (!strcmp(a, "--max-connections")) {
      NEED_VALUE();
      if (parse_num(a, v, 1, 65536, &max_conns)) return EXIT_USAGE;
    } else if (!strcmp(a, "--queue-limit")) {
      NEED_VALUE();
      if (parse_num(a, v, 1000, 10000000, &queue)) return EXIT_USAGE;
    } else if (!strcmp(a, "--threads")) {
      NEED_VALUE();
      if (parse_num(a, v, 1, 64, &threads)) return EXIT_USAGE;
    } else if (!strcmp(a, "--dstack-socket") || !strncmp(a, "--anchor-", 9)) {
      fprintf(stderr, "logd: %s is not supported in this build yet\n", a);
      return EXIT_USAGE;
    } else {
      fprintf(stderr, "logd: unknown option '%s' (see --help)\n", a);
      return EXIT_USAGE;
    }
#undef NEED_VALUE
  }
  if (!data || !listen || !origin) {
    fprintf(stderr, "logd: --data, --listen and --origin are required (see --help)\n");
    return EXIT_USAGE;
  }
  if (!dev) {
    fprintf(stderr, "logd: --dev is required: this build has no enclave key source yet\n");
    return EXIT_USAGE;
  }
  /* Signals are taken by sigwait in main. Block them before any thread exists
   * (RocksDB starts its own in store_open): every thread inherits the mask, so
   * none can take SIGTERM's default action. */
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &sigs, NULL);
  signal(SIGPIPE, SIG_IGN);
  char err[400];
  if (mkdir(data, 0700) && errno != EEXIST) {
    fprintf(stderr, "logd: cannot create --data %s: %s\n", data, strerror(errno));
    return 1;
  }

  /* Keys first: a bad origin fails before any storage is touched. */
  uint8_t seed[32], token[32];
  note_signer signer;
  if (dev_secret(data, "checkpoint-key", seed)) return 1;
  if (note_signer_from_seed(&signer, origin, seed, err, sizeof err)) {
    fprintf(stderr, "logd: --origin '%s' cannot name a key: %s\n", origin, err);
    return EXIT_USAGE;
  }
  OPENSSL_cleanse(seed, sizeof seed);
  char vkey[512];
  size_t vlen;
  if (note_verifier_format(&signer.verifier, vkey, sizeof vkey - 1, &vlen, err, sizeof err)) {
    fprintf(stderr, "logd: %s\n", err);
    return 1;
  }
  vkey[vlen] = 0;
  char vfile[600];
  snprintf(vfile, sizeof vfile, "%s\n", vkey);
  if (write_file(data, "verifier-key", vfile, vlen + 1, 0644)) {
    fprintf(stderr, "logd: cannot write %s/verifier-key: %s\n", data, strerror(errno));
    return 1;
  }
  if (dev_secret(data, "dev-token", token)) return 1;

  logd_submitter *subs = NULL;
  size_t nsubs = 0;
  if (subfile && load_submitters(subfile, &subs, &nsubs)) goto fail;
  for (size_t i = 0; i < nsubs; i++)
    if (!strcmp(subs[i].name, "dev")) {
      fprintf(stderr, "logd: --submitters names 'dev', which --dev reserves\n");
      goto fail;
    }
  char token_hex[65];
  hex(token, 32, token_hex);
  logd_submitter *nv = realloc(subs, (nsubs + 1) * sizeof *nv);
  if (!nv) goto fail;
  subs = nv;
  memset(&subs[nsubs], 0, sizeof subs[nsubs]);
  snprintf(subs[nsubs].name, sizeof subs[nsubs].name, "dev");
  EVP_Digest(token_hex, 64, subs[nsubs].token_hash, NULL, EVP_sha256(), NULL);
  nsubs++;

  char dbpath[PATH_MAX];
  snprintf(dbpath, sizeof dbpath, "%s/db", data);
  logd_store *store;
  if (store_open(dbpath, &store, err, sizeof err)) {
    fprintf(stderr, "logd: %s\n", err);
    goto fail;
  }
  char *stored_origin = NULL;
  int rc = store_get_origin(store, &stored_origin, err, sizeof err);
  if (rc < 0 || (rc == 0 && strcmp(stored_origin, origin))) {
    if (rc < 0) fprintf(stderr, "logd: %s\n", err);
    else fprintf(stderr, "logd: %s holds the log '%s', not --origin '%s'; refusing to start\n",
                 data, stored_origin, origin);
    free(stored_origin);
    store_close(store);
    goto fail;
  }
  free(stored_origin);
  if (rc == 1 && store_put_origin(store, origin, err, sizeof err)) {
    fprintf(stderr, "logd: %s\n", err);
    store_close(store);
    goto fail;
  }


  seq_config sc = {.interval_ms = interval,
                   .max_entry_bytes = max_entry,
                   .queue_max_entries = queue,
                   .queue_max_bytes = (size_t)queue * 1024};
  logd_seq *seq = seq_start(store, &signer, &sc, err, sizeof err);
  if (!seq) {
    fprintf(stderr, "logd: %s\n", err);
    store_close(store);
    goto fail;
  }
  seq_view v;
  seq_view_get(seq, &v, 0);
  http_config hc = {.listen = listen,
                    .seq = seq,
                    .store = store,
                    .origin = origin,
                    .verifier_key = vkey,
                    .submitters = subs,
                    .nsubmitters = nsubs,
                    .max_entry_bytes = max_entry,
                    .interval_ms = interval,
                    .timeout_s = (unsigned)timeout,
                    .max_connections = (unsigned)max_conns,
                    .threads = (unsigned)threads};
  logd_http *http = http_start(&hc, err, sizeof err);
  if (!http) {
    fprintf(stderr, "logd: %s\n", err);
    seq_free(seq);
    store_close(store);
    goto fail;
  }
  printf("verifier-key: %s\ndev-token: %s\n", vkey, token_hex);
  fflush(stdout);
  logd_log("serving %s on %s (port %u): %" PRIu64 " entries, checkpoint size %" PRIu64
           ", %zu submitters",
           origin, listen, http_port(http), v.size, v.note_size, nsubs);

  int sig = 0;
  sigwait(&sigs, &sig);
  logd_log("signal %d: finishing queued writes", sig);
  http_quiesce(http);
  seq_stop(seq);
  http_stop(http);
  seq_view_get(seq, &v, 0);
  logd_log("stopped at %" PRIu64 " entries, checkpoint size %" PRIu64, v.size, v.note_size);
  seq_free(seq);
  store_close(store);
  OPENSSL_cleanse(&signer, sizeof signer);
  free(subs);
  return 0;
fail:
  OPENSSL_cleanse(&signer, sizeof signer);
  free(subs);
  return 1;
}
