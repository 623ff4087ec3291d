/* logd: the log server. See `logd --help` and SPEC.md. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
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

#include "anchor/tx.h"
#include "logd/anchoring.h"
#include "logd/enclave.h"
#include "logd/event.h"
#include "logd/ext.h"
#include "logd/http.h"
#include "logd/log.h"
#include "logd/sequencer.h"
#include "logd/store.h"
#include "merkle/note.h"

#define EXIT_USAGE 2

static void usage(FILE *f) {
  fprintf(f,
          "usage: logd --data DIR --listen HOST:PORT --origin ORIGIN\n"
          "            (--dev | --dstack-socket PATH)\n"
          "            [--submitters FILE] [--checkpoint-interval-ms 1000]\n"
          "            [--max-entry-bytes 16384] [--client-timeout 30]\n"
          "            [--max-connections 1024] [--queue-limit 100000] [--threads 2]\n"
          "            [--anchor-rpc URL --anchor-contract 0xADDR [--anchor-key FILE]\n"
          "             [--anchor-interval 600]]\n"
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
          "  --dstack-socket PATH       enclave mode: keys from dstack's GetKey, boot and\n"
          "                             anchored checkpoints attested by TDX quotes\n"
          "  --submitters FILE          lines 'name token': who may write; token is a literal,\n"
          "                             sha256:HEX (its SHA-256) or getkey:PATH (the hex of\n"
          "                             GetKey(PATH), enclave mode)\n"
          "  --anchor-rpc URL           anchor signed checkpoints on chain through this node\n"
          "  --anchor-contract 0xADDR   the TreeHeadAnchor contract\n"
          "  --anchor-key FILE          the anchoring key (hex secp256k1; --dev only: in\n"
          "                             enclave mode it comes from GetKey)\n"
          "  --anchor-interval S        anchor at most every S seconds (default 600)\n"
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

static int load_submitters(const char *path, logd_enclave *enc, logd_submitter **out,
                           size_t *count) {
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
    logd_submitter s;
    memset(&s, 0, sizeof s);
    memcpy(s.name, name, strlen(name) + 1); /* valid names are <= 64 chars */
    char terr[300];
    if (enclave_token_hash(enc, token, s.token_hash, terr, sizeof terr)) {
      fprintf(stderr, "logd: %s:%u: token of '%s': %s\n", path, lineno, name, terr);
      rc = -1;
      break;
    }
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

/* jansson 2.14 can return success with a digit or a key silently dropped when one of
 * its allocations fails (found by tests/torture). A log must never sign an event other
 * than the one submitted, so a failed JSON allocation ends the process instead: every
 * acknowledged entry is durable, and a restart loses nothing. */
static void *json_alloc_or_abort(size_t n) {
  void *p = malloc(n);
  if (!p) {
    static const char msg[] = "fatal: out of memory in the JSON parser\n";
    if (write(2, msg, sizeof msg - 1) < 0) { /* nothing more to do */ }
    abort();
  }
  return p;
}

int main(int argc, char **argv) {
  json_set_alloc_funcs(json_alloc_or_abort, free);
  const char *data = NULL, *listen = NULL, *origin = NULL, *subfile = NULL;
  const char *dstack_socket = NULL, *anchor_rpc = NULL, *anchor_contract = NULL,
             *anchor_keyfile = NULL;
  uint64_t anchor_interval = 600;
  int dev = 0, anchor_interval_set = 0;
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
    } else if (!strcmp(a, "--dstack-socket")) {
      NEED_VALUE();
      dstack_socket = v;
    } else if (!strcmp(a, "--anchor-rpc")) {
      NEED_VALUE();
      anchor_rpc = v;
    } else if (!strcmp(a, "--anchor-contract")) {
      NEED_VALUE();
      anchor_contract = v;
    } else if (!strcmp(a, "--anchor-key")) {
      NEED_VALUE();
      anchor_keyfile = v;
    } else if (!strcmp(a, "--anchor-interval")) {
      NEED_VALUE();
      if (parse_num(a, v, 1, 86400, &anchor_interval)) return EXIT_USAGE;
      anchor_interval_set = 1;
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
  if (dev == !!dstack_socket) {
    fprintf(stderr, "logd: exactly one of --dev and --dstack-socket is required\n");
    return EXIT_USAGE;
  }
  if (!anchor_rpc != !anchor_contract) {
    fprintf(stderr, "logd: --anchor-rpc and --anchor-contract go together\n");
    return EXIT_USAGE;
  }
  if (dstack_socket && anchor_keyfile) {
    fprintf(stderr, "logd: --anchor-key is refused with --dstack-socket: the anchor key comes "
                    "from GetKey in the enclave\n");
    return EXIT_USAGE;
  }
  if (dev && anchor_rpc && !anchor_keyfile) {
    fprintf(stderr, "logd: --dev with --anchor-rpc needs --anchor-key FILE\n");
    return EXIT_USAGE;
  }
  if ((anchor_keyfile || anchor_interval_set) && !anchor_rpc) {
    fprintf(stderr, "logd: --anchor-key and --anchor-interval need --anchor-rpc and --anchor-contract\n");
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
  uint8_t seed[32], token[32] = {0}, akey[32] = {0};
  int have_akey = 0;
  char aaddr[43] = "";
  note_signer signer;
  memset(&signer, 0, sizeof signer);
  logd_enclave *enc = enclave_open(dstack_socket, data, err, sizeof err);
  if (!enc) {
    fprintf(stderr, "logd: %s\n", err);
    return 1;
  }
  if (dstack_socket ? enclave_checkpoint_seed(enc, seed, err, sizeof err) != 0
                    : dev_secret(data, "checkpoint-key", seed) != 0) {
    if (dstack_socket) fprintf(stderr, "logd: %s\n", err);
    enclave_free(enc);
    return 1;
  }
  if (dstack_socket || anchor_keyfile) {
    if (dstack_socket ? enclave_anchor_key(enc, akey, err, sizeof err)
                      : eth_key_read_file(anchor_keyfile, akey, err, sizeof err)) {
      fprintf(stderr, "logd: anchor key: %s\n", err);
      enclave_free(enc);
      return 1;
    }
    uint8_t addr[20];
    eth_address_from_key(akey, addr);
    eth_address_format(addr, aaddr);
    have_akey = 1;
  }
  if (note_signer_from_seed(&signer, origin, seed, err, sizeof err)) {
    fprintf(stderr, "logd: --origin '%s' cannot name a key: %s\n", origin, err);
    enclave_free(enc);
    return EXIT_USAGE;
  }
  OPENSSL_cleanse(seed, sizeof seed);
  char vkey[512];
  size_t vlen;
  if (note_verifier_format(&signer.verifier, vkey, sizeof vkey - 1, &vlen, err, sizeof err)) {
    fprintf(stderr, "logd: %s\n", err);
    enclave_free(enc);
    return 1;
  }
  vkey[vlen] = 0;
  char vfile[600];
  snprintf(vfile, sizeof vfile, "%s\n", vkey);
  if (write_file(data, "verifier-key", vfile, vlen + 1, 0644)) {
    fprintf(stderr, "logd: cannot write %s/verifier-key: %s\n", data, strerror(errno));
    enclave_free(enc);
    return 1;
  }
  if (dev && dev_secret(data, "dev-token", token)) {
    enclave_free(enc);
    return 1;
  }

  logd_submitter *subs = NULL;
  size_t nsubs = 0;
  logd_anchor *anc = NULL;
  if (subfile && load_submitters(subfile, enc, &subs, &nsubs)) goto fail;
  for (size_t i = 0; i < nsubs; i++)
    if (!strcmp(subs[i].name, "dev") || !strcmp(subs[i].name, "logd")) {
      fprintf(stderr, "logd: --submitters names '%s', which logd reserves\n", subs[i].name);
      goto fail;
    }
  char token_hex[65];
  hex(token, 32, token_hex);
  if (dev) {
    logd_submitter *nv = realloc(subs, (nsubs + 1) * sizeof *nv);
    if (!nv) goto fail;
    subs = nv;
    memset(&subs[nsubs], 0, sizeof subs[nsubs]);
    snprintf(subs[nsubs].name, sizeof subs[nsubs].name, "dev");
    EVP_Digest(token_hex, 64, subs[nsubs].token_hash, NULL, EVP_sha256(), NULL);
    nsubs++;
  }
  if (anchor_rpc) {
    logd_anchor_config ac = {.rpc_url = anchor_rpc,
                             .contract = anchor_contract,
                             .key = akey,
                             .interval_s = anchor_interval,
                             .origin = origin,
                             .data_dir = data};
    anc = anchoring_new(&ac, err, sizeof err);
    if (!anc) {
      fprintf(stderr, "logd: %s\n", err);
      goto fail;
    }
  }
  OPENSSL_cleanse(akey, sizeof akey);

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
  /* The rollback defence: never serve a tree the chain has seen grow past it. */
  if (anc && anchoring_check_start(anc, store, err, sizeof err)) {
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
  int64_t boot_index = enclave_log_boot(enc, seq, &signer.verifier, vkey, have_akey ? aaddr : NULL,
                                        err, sizeof err);
  if (boot_index < 0) {
    fprintf(stderr, "logd: boot entry not logged: %s\n", err);
    seq_free(seq);
    store_close(store);
    goto fail;
  }
  if (anc) {
    if (enclave_has_quotes(enc)) anchoring_set_hook(anc, enclave_checkpoint_quote, enc);
    if (anchoring_start(anc, seq, err, sizeof err)) {
      fprintf(stderr, "logd: %s\n", err);
      seq_free(seq);
      store_close(store);
      goto fail;
    }
  }
  seq_view v;
  seq_view_get(seq, &v, 0);
  logd_ext ext = {.anchor = anc, .enclave = enc};
  http_ext hx;
  logd_ext_http(&ext, &hx);
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
                    .threads = (unsigned)threads,
                    .ext = &hx};
  logd_http *http = http_start(&hc, err, sizeof err);
  if (!http) {
    fprintf(stderr, "logd: %s\n", err);
    if (anc && anchoring_stop(anc, 5000)) _exit(1); /* still sending: nothing to clean up */
    seq_free(seq);
    store_close(store);
    goto fail;
  }
  printf("verifier-key: %s\n", vkey);
  if (dev) printf("dev-token: %s\n", token_hex);
  if (have_akey) printf("anchor-address: %s\n", aaddr);
  fflush(stdout);
  logd_log("serving %s on %s (port %u): %" PRIu64 " entries, checkpoint size %" PRIu64
           ", %zu submitters, boot entry %" PRId64 "%s",
           origin, listen, http_port(http), v.size, v.note_size, nsubs, boot_index,
           dstack_socket ? ", enclave mode" : "");

  int sig = 0;
  sigwait(&sigs, &sig);
  logd_log("signal %d: finishing queued writes", sig);
  http_quiesce(http);
  /* A transaction in flight may take long: wait a little, then leave it to exit. */
  int anchor_busy = anc && anchoring_stop(anc, 5000);
  seq_stop(seq);
  http_stop(http);
  seq_view_get(seq, &v, 0);
  logd_log("stopped at %" PRIu64 " entries, checkpoint size %" PRIu64, v.size, v.note_size);
  if (anchor_busy) {
    /* Everything is durable; the thread still sending would outlive what it reads. */
    logd_log("anchor: a transaction is still in flight; exiting without waiting for it");
    _exit(0);
  }
  seq_free(seq);
  store_close(store);
  anchoring_free(anc);
  enclave_free(enc);
  OPENSSL_cleanse(&signer, sizeof signer);
  free(subs);
  return 0;
fail:
  OPENSSL_cleanse(&signer, sizeof signer);
  OPENSSL_cleanse(akey, sizeof akey);
  anchoring_free(anc);
  enclave_free(enc);
  free(subs);
  return 1;
}
