/* collector: takes in users' TikTok credentials and fetches their watch history, and
 * nothing else, logging every step to logd before it happens.
 *
 *   collector --listen 127.0.0.1:PORT --data DIR --logd URL --logd-token TOKEN
 *             --archive-token TOKEN [--dev | --dstack-socket PATH] [--logd-timeout-ms MS]
 *
 * collector-test is this file compiled with COLLECTOR_TEST_BUILD; it also accepts
 * --api-base http://127.0.0.1:PORT. The release build has no such option. */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "base/file.h"
#include "base/hex.h"
#include "base/json.h"
#include "base/num.h"
#include "collector/api.h"
#include "collector/egress.h"
#include "collector/keys.h"
#include "collector/logclient.h"
#include "collector/vault.h"
#include "dstack/guest.h"

#ifdef COLLECTOR_TEST_BUILD
#define PROG "collector-test"
#else
#define PROG "collector"
#endif

/* SIGTERM and SIGINT are blocked in every thread (libmicrohttpd's and RocksDB's inherit
 * the mask from main, which blocks them first) and taken by main with sigwait. A
 * handler could run on any thread and leave main asleep in pause(). */
static sigset_t stop_signals;

static void block_stop_signals(void) {
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
}

/* Waits up to ms for SIGTERM or SIGINT (ms < 0: for ever). Returns 1 if one came. */
static int wait_stop_signal(long ms) {
  if (ms < 0) {
    int sig;
    return sigwait(&stop_signals, &sig) == 0;
  }
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  return sigtimedwait(&stop_signals, NULL, &ts) > 0;
}

static int dstack_quote(void *cls, const uint8_t report_data[64], char **quote_hex,
                        char **event_log, char **vm_config, char *err, size_t errcap) {
  dstack_quote_reply r;
  memset(&r, 0, sizeof r);
  if (dstack_get_quote(cls, report_data, 64, &r, err, errcap) != 0) return -1;
  *quote_hex = malloc(2 * r.quote_len + 1);
  if (!*quote_hex) {
    dstack_quote_reply_free(&r);
    xt_errf(err, errcap, "out of memory");
    return -1;
  }
  xt_hex_encode(r.quote, r.quote_len, *quote_hex);
  *event_log = r.event_log;
  r.event_log = NULL;
  if (vm_config) {
    *vm_config = r.vm_config;
    r.vm_config = NULL;
  }
  dstack_quote_reply_free(&r);
  return 0;
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: " PROG " --listen 127.0.0.1:PORT --data DIR --logd URL --logd-token TOKEN\n"
          "       --archive-token TOKEN [--dev | --dstack-socket PATH] [--logd-timeout-ms MS]\n"
#ifdef COLLECTOR_TEST_BUILD
          "       --api-base http://127.0.0.1:PORT   (test build only)\n"
#endif
          "Tokens may be given as @FILE to read them from a file. --archive-token also takes\n"
          "sha256:HEX (the token's SHA-256; the collector then never holds the token), and with\n"
          "--dstack-socket --logd-token takes getkey:PATH (the token is the hex of GetKey(PATH)).\n");
}

/* "@FILE" reads a token from a file so it need not appear in the process list. A file
 * whose token (after trailing white space) does not fit in cap is refused, not cut. */
static int read_token(const char *arg, char *out, size_t cap) {
  if (arg[0] != '@') {
    if (strlen(arg) >= cap) return -1;
    memcpy(out, arg, strlen(arg) + 1);
    return 0;
  }
  uint8_t *text = NULL;
  size_t n = 0;
  /* Room for the token plus a few bytes of trailing white space. */
  if (xt_file_read(arg + 1, cap + 16, &text, &n, NULL, 0) != XT_OK) return -1;
  while (n && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' ')) n--;
  int ok = n > 0 && n < cap && !memchr(text, 0, n);
  if (ok) {
    memcpy(out, text, n);
    out[n] = 0;
  }
  OPENSSL_cleanse(text, n);
  free(text);
  return ok ? 0 : -1;
}

/* What the command line asked for. */
typedef struct {
  const char *listen, *data, *logd, *logd_token, *archive_token, *dstack_socket;
  int dev;
  long logd_timeout_ms;
#ifdef COLLECTOR_TEST_BUILD
  const char *api_base;
#endif
} options;

/* Parses argv into o. Returns -1 to go on, or the exit code main returns (0 after
 * --help or --version, 2 for a usage error, already reported). */
static int parse_options(int argc, char **argv, options *o) {
  memset(o, 0, sizeof *o);
  o->logd_timeout_ms = 3000;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) { usage(stdout); return 0; }
    if (!strcmp(a, "--version")) { printf(PROG " %s\n", XT_VERSION); return 0; }
    if (!strcmp(a, "--dev")) { o->dev = 1; continue; }
    if (i + 1 >= argc) { fprintf(stderr, PROG ": %s needs a value\n", a); usage(stderr); return 2; }
    const char *v = argv[++i];
    if (!strcmp(a, "--listen")) o->listen = v;
    else if (!strcmp(a, "--data")) o->data = v;
    else if (!strcmp(a, "--logd")) o->logd = v;
    else if (!strcmp(a, "--logd-token")) o->logd_token = v;
    else if (!strcmp(a, "--archive-token")) o->archive_token = v;
    else if (!strcmp(a, "--dstack-socket")) o->dstack_socket = v;
    else if (!strcmp(a, "--logd-timeout-ms")) {
      uint64_t ms;
      if (xt_parse_u64(v, 0, 100, 60000, &ms) != XT_OK) {
        fprintf(stderr, PROG ": --logd-timeout-ms must be 100..60000\n");
        return 2;
      }
      o->logd_timeout_ms = (long)ms;
    }
#ifdef COLLECTOR_TEST_BUILD
    else if (!strcmp(a, "--api-base")) o->api_base = v;
#endif
    else { fprintf(stderr, PROG ": unknown option %s\n", a); usage(stderr); return 2; }
  }
  if (!o->listen || !o->data || !o->logd || !o->logd_token || !o->archive_token ||
      o->dev == !!o->dstack_socket) {
    fprintf(stderr, PROG ": --listen, --data, --logd, --logd-token, --archive-token and exactly "
                    "one of --dev / --dstack-socket are required\n");
    usage(stderr);
    return 2;
  }
  return -1;
}

/* The SHA-256 of the archive token (given, or read and hashed here: the collector
 * keeps only the digest). Returns 0, or 2 after reporting a usage error. */
static int archive_digest_of(const char *arg, uint8_t digest[32]) {
  if (!strncmp(arg, "sha256:", 7)) {
    if (xt_hex_decode_exact(arg + 7, 0, digest, 32) != XT_OK) {
      fprintf(stderr, PROG ": --archive-token sha256: needs 64 hex digits\n");
      return 2;
    }
    return 0;
  }
  static char atok[512];
  if (read_token(arg, atok, sizeof atok) || strlen(atok) < 16) {
    fprintf(stderr, PROG ": the archive token must be readable and at least 16 characters\n");
    return 2;
  }
  unsigned n = 0;
  EVP_Digest(atok, strlen(atok), digest, &n, EVP_sha256(), NULL);
  OPENSSL_cleanse(atok, sizeof atok);
  return 0;
}

/* Who this collector is: its keys, the logd token when it comes from GetKey, the
 * instance id and compose hash it logs. */
typedef struct {
  collector_keys keys;
  char ltok[512];
  char instance_id[129], compose_hash[129];
  dstack_client *dc; /* enclave mode only */
} identity;

/* Contract with logd's submitters file: a getkey:PATH token is the lower-case hex of
 * the 32-byte GetKey(PATH, algorithm secp256k1) key. Returns 0, or 1 after reporting. */
static int logd_token_from_getkey(dstack_client *dc, const char *path, char *ltok, char *err,
                                  size_t errcap) {
  dstack_key tk;
  memset(&tk, 0, sizeof tk);
  if (dstack_get_key(dc, path, "logd-submitter-token", "secp256k1", &tk, err, errcap) != 0 ||
      tk.key_len != 32) {
    fprintf(stderr, PROG ": dstack: logd token: %s\n", tk.key_len == 32 ? err : "bad key");
    OPENSSL_cleanse(&tk, sizeof tk);
    return 1;
  }
  xt_hex_encode(tk.key, 32, ltok);
  OPENSSL_cleanse(&tk, sizeof tk);
  return 0;
}

/* Enclave mode: keys, identity and (for getkey:) the logd token from dstack. Returns 0
 * with id->dc set, or 1 after reporting (nothing left open). */
static int load_dstack_identity(const options *o, identity *id, char *err, size_t errcap) {
  dstack_info info;
  memset(&info, 0, sizeof info);
  id->dc = dstack_client_new(o->dstack_socket, err, errcap);
  if (!id->dc || dstack_get_info(id->dc, &info, err, errcap) != 0 ||
      keys_load_dstack(id->dc, &id->keys, err, errcap) != 0) {
    fprintf(stderr, PROG ": dstack: %s\n", err);
    dstack_client_free(id->dc);
    id->dc = NULL;
    return 1;
  }
  if (!strncmp(o->logd_token, "getkey:", 7) &&
      logd_token_from_getkey(id->dc, o->logd_token + 7, id->ltok, err, errcap) != 0) {
    dstack_info_free(&info);
    dstack_client_free(id->dc);
    id->dc = NULL;
    return 1;
  }
  snprintf(id->instance_id, sizeof id->instance_id, "%s", info.instance_id);
  snprintf(id->compose_hash, sizeof id->compose_hash, "%s", info.compose_hash);
  dstack_info_free(&info);
  return 0;
}

/* Dev mode: keys from DATA/dev-keys, a random instance id. Returns 0, or 1. */
static int load_dev_identity(const options *o, identity *id, char *err, size_t errcap) {
  if (keys_load_dev(o->data, &id->keys, err, errcap) != 0) {
    fprintf(stderr, PROG ": keys: %s\n", err);
    return 1;
  }
  uint8_t rid[16];
  if (RAND_bytes(rid, sizeof rid) != 1) return 1;
  xt_hex_encode(rid, sizeof rid, id->instance_id);
  snprintf(id->compose_hash, sizeof id->compose_hash, "dev");
  return 0;
}

/* Nothing is served before the boot entry is durable; logd may still be starting, so
 * a failure to reach it is retried for about 20 s (a refusal is final). Returns the
 * entry's index, or -1 with boot freed. */
static int64_t log_boot_entry(const collector_config *cfg, collector_boot *boot, char *err,
                              size_t errcap) {
  int64_t boot_index = -1;
  memset(boot, 0, sizeof *boot);
  for (int attempt = 0; attempt < 20; attempt++) {
    free(boot->quote_hex);
    free(boot->event_log);
    free(boot->vm_config);
    boot_index = collector_log_boot(cfg, boot, err, errcap);
    if (boot_index >= 0) return boot_index;
    fprintf(stderr, PROG ": boot entry not logged: %s\n", err);
    if (boot_index == -2) break;
    if (wait_stop_signal(1000)) break; /* stopped while logd was away */
  }
  fprintf(stderr, PROG ": cannot log the boot entry; refusing to serve\n");
  free(boot->quote_hex);
  free(boot->event_log);
  free(boot->vm_config);
  memset(boot, 0, sizeof *boot);
  return -1;
}

/* Logs the boot entry, serves until SIGTERM or SIGINT, stops. Returns the exit code. */
static int serve(collector_config *cfg) {
  char err[512];
  collector_boot boot;
  int64_t boot_index = log_boot_entry(cfg, &boot, err, sizeof err);
  if (boot_index < 0) return 1;
  collector_api *api = api_start(cfg, &boot, err, sizeof err);
  if (!api) {
    fprintf(stderr, PROG ": %s\n", err);
    free(boot.quote_hex);
    free(boot.event_log);
    free(boot.vm_config);
    return 1;
  }
  /* The address as given (api_start accepted IPv4:PORT), the port as bound (0 picks one):
   * a collector bound to 0.0.0.0 must not say 127.0.0.1. */
  const char *colon = strrchr(cfg->listen, ':');
  int hostlen = colon ? (int)(colon - cfg->listen) : 0;
  printf("listening %.*s:%u boot-index %lld build %s\n", hostlen, cfg->listen, api_port(api),
         (long long)boot_index, egress_build_flavour());
  fflush(stdout);
  wait_stop_signal(-1); /* until SIGTERM or SIGINT */
  api_stop(api);
  return 0;
}

int main(int argc, char **argv) {
  /* The collector's events are evidence: see base/json.h for why jansson must abort
   * rather than drop a member when memory runs out. */
  xt_json_abort_on_oom();
  /* Nothing from the environment may steer the collector: libcurl would take proxies
   * (http_proxy, ALL_PROXY, ...) and a TLS key log file from it, OpenSSL CA paths. */
  clearenv();
  options o;
  int rc = parse_options(argc, argv, &o);
  if (rc >= 0) return rc;
  block_stop_signals(); /* before any thread exists */
  char err[512];
#ifdef COLLECTOR_TEST_BUILD
  if (!o.api_base || egress_set_test_base(o.api_base, err, sizeof err) != 0) {
    fprintf(stderr, PROG ": %s\n", o.api_base ? err : "--api-base is required");
    return 2;
  }
#endif
  /* Static: the keys stay out of the stack of every function called later. */
  static identity id;
  uint8_t archive_digest[32];
  if ((rc = archive_digest_of(o.archive_token, archive_digest)) != 0) return rc;
  int logd_token_getkey = !strncmp(o.logd_token, "getkey:", 7);
  if (logd_token_getkey && !o.dstack_socket) {
    fprintf(stderr, PROG ": --logd-token getkey:PATH needs --dstack-socket\n");
    return 2;
  }
  if (!logd_token_getkey && read_token(o.logd_token, id.ltok, sizeof id.ltok)) {
    fprintf(stderr, PROG ": the logd token must be readable\n");
    return 2;
  }
  if (mkdir(o.data, 0700) != 0 && errno != EEXIST) {
    fprintf(stderr, PROG ": cannot create %s: %s\n", o.data, strerror(errno));
    return 1;
  }
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    fprintf(stderr, PROG ": libcurl initialisation failed\n");
    return 1;
  }
  signal(SIGPIPE, SIG_IGN);
  if ((o.dstack_socket ? load_dstack_identity(&o, &id, err, sizeof err)
                       : load_dev_identity(&o, &id, err, sizeof err)) != 0)
    return 1;

  logclient *lc = logclient_new(o.logd, id.ltok, o.logd_timeout_ms, err, sizeof err);
  if (!lc) { fprintf(stderr, PROG ": %s\n", err); dstack_client_free(id.dc); return 2; }
  vault *v = vault_open(o.data, id.keys.cookie_key, err, sizeof err);
  if (!v) { fprintf(stderr, PROG ": %s\n", err); logclient_free(lc); dstack_client_free(id.dc); return 1; }
  collector_config cfg = {
      .listen = o.listen, .log = lc, .vault = v, .keys = &id.keys,
      .quote = id.dc ? dstack_quote : NULL, .quote_cls = id.dc, .compose_hash = id.compose_hash,
      .instance_id = id.instance_id,
  };
  memcpy(cfg.archive_token_sha256, archive_digest, 32);
  rc = serve(&cfg);
  vault_close(v);
  logclient_free(lc);
  keys_wipe(&id.keys);
  OPENSSL_cleanse(id.ltok, sizeof id.ltok);
  dstack_client_free(id.dc);
  if (rc == 0) curl_global_cleanup();
  return rc;
}
