/* logd: the log server. See `logd --help` and SPEC.md.
 *
 * Start-up runs in an order that makes a refused start leave the data directory as
 * it found it: arguments are checked first (exit 2 before anything exists), then the
 * directory's lock is taken, keys, origin and the stored log are checked (the store
 * opened read-only), the listening socket is bound, and only then is anything written
 * (new dev keys, DIR/verifier-key, the database, the boot entry). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "anchor/tx.h"
#include "base/err.h"
#include "base/file.h"
#include "base/hex.h"
#include "base/json.h"
#include "base/num.h"
#include "logd/anchoring.h"
#include "logd/collateral.h"
#include "logd/enclave.h"
#include "logd/event.h"
#include "logd/ext.h"
#include "logd/http.h"
#include "logd/mirror.h"
#include "logd/restore.h"
#include "logd/sequencer.h"
#include "logd/store.h"
#include "merkle/note.h"

#define EXIT_USAGE 2
/* Exit status of main while start-up goes on. */
#define GO_ON (-1)
/* The lock file in DIR that keeps a second logd off a data directory. */
#define LOCK_FILE "logd.lock"

static void usage(FILE *f) {
  fprintf(f,
          "usage: logd --data DIR --listen HOST:PORT --origin ORIGIN\n"
          "            (--dev | --dstack-socket PATH)\n"
          "            [--submitters FILE] [--checkpoint-interval-ms 1000]\n"
          "            [--max-entry-bytes 16384] [--client-timeout 30]\n"
          "            [--request-deadline 60] [--min-free-mb 256]\n"
          "            [--max-connections 1024] [--queue-limit 100000] [--threads 2]\n"
          "            [--index-merge-keys 262144]\n"
          "            [--anchor-rpc URL --anchor-contract 0xADDR [--anchor-key FILE]\n"
          "             [--anchor-interval 600] [--anchor-max-age 2400]]\n"
          "            [--pccs URL [--pccs-refresh 86400]]\n"
          "            [--mirror s3://BUCKET[/PREFIX] --mirror-endpoint URL\n"
          "             --mirror-credentials FILE [--mirror-region us-east-1]\n"
          "             [--mirror-max-backlog 268435456]] [--restore-from URL]\n"
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
          "  --anchor-max-age S         refuse writes (503) while no anchor has confirmed the\n"
          "                             newest checkpoint for S seconds (default 4 intervals)\n"
          "  --pccs URL                 enclave mode: fetch the platform's Intel DCAP collateral\n"
          "                             from this PCCS (or Intel's PCS) with each quote (at most\n"
          "                             hourly) and every --pccs-refresh seconds (default one\n"
          "                             day); keep each new one in DIR/collateral, served at\n"
          "                             /v1/collateral\n"
          "  --mirror s3://BUCKET[/PREFIX] copy the log to S3-compatible object storage under\n"
          "                             the paths logd serves (a tlog-tiles log of its own);\n"
          "                             anchoring then anchors only what the mirror holds\n"
          "  --mirror-endpoint URL      the object store (http(s)://HOST[:PORT], path-style)\n"
          "  --mirror-credentials FILE  aws_access_key_id = ... / aws_secret_access_key = ...\n"
          "  --mirror-region R          SigV4 region (default us-east-1)\n"
          "  --mirror-max-backlog B     refuse writes (503) while more than B entry bytes are\n"
          "                             not mirrored (default 268435456)\n"
          "  --restore-from URL         DIR has no log yet: rebuild it from this mirror (its\n"
          "                             public URL), checked against the signed checkpoint and\n"
          "                             the chain's anchored head, then continue the same log\n"
          "  --checkpoint-interval-ms N sign a checkpoint at most every N ms when the tree grew\n"
          "  --max-entry-bytes N        largest stored entry (default 16384, at most 65535)\n"
          "  --client-timeout S         close connections idle for S seconds (default 30)\n"
          "  --request-deadline S       cut a connection whose request is not complete (read,\n"
          "                             answered and sent) S seconds after the connection\n"
          "                             opened or its previous request ended, however slowly\n"
          "                             the client keeps sending (default 60)\n"
          "  --min-free-mb N            refuse writes (507) while the data directory's disk\n"
          "                             has less than N MiB free, resuming when space returns\n"
          "                             (default 256; 0: never)\n"
          "  --max-connections N        concurrent connections (default 1024)\n"
          "  --queue-limit N            events waiting for the sequencer before 503 (default 100000)\n"
          "  --threads N                HTTP worker threads (default 2)\n"
          "  --index-merge-keys N       merge the dedup/leaf-hash index log into the sorted\n"
          "                             index in the background every N keys (default 262144)\n"
          "  --help, --version\n"
          "\n"
          "Log lines go to stderr. SIGTERM/SIGINT: finish queued writes, sign a last\n"
          "checkpoint, exit 0. A failed storage write or fsync (or a full disk) stops all\n"
          "writes and checkpoints until logd is restarted (503, or 507 for a full disk);\n"
          "SIGTERM then exits 1. Exit status 1 on a startup failure, 2 on a usage error;\n"
          "a refused start leaves DIR unchanged (DIR/logd.lock keeps a second logd off it).\n");
}

/* The command line. */
typedef struct logd_opts {
  const char *data, *listen, *origin, *subfile;
  const char *dstack_socket, *anchor_rpc, *anchor_contract, *anchor_keyfile;
  const char *pccs;
  uint64_t pccs_refresh;
  const char *mirror, *mirror_endpoint, *mirror_creds, *mirror_region, *restore_from;
  uint64_t mirror_max_backlog;
  char host[256];
  unsigned port;
  int dev, anchor_interval_set;
  uint64_t anchor_max_age;
  uint64_t anchor_interval, interval, max_entry, timeout, max_conns, queue, threads;
  uint64_t merge_keys, deadline, min_free_mb;
} logd_opts;

/* What the checks gathered; written or started only once the start is certain. */
typedef struct logd_run {
  int lock_fd, listen_fd;
  unsigned port;
  logd_enclave *enc;
  note_signer signer;
  uint8_t seed[32];       /* --dev: the checkpoint key's seed, to be written when new */
  int seed_new;
  uint8_t token[32];      /* --dev: the dev token */
  int token_new;
  char token_hex[65];
  char vkey[512];
  int have_akey;
  char aaddr[43];
  logd_submitter *subs;
  size_t nsubs;
  logd_anchor *anc;
  logd_collateral *coll; /* --pccs */
  logd_mirror *mirror;   /* --mirror */
  logd_store *store;
  logd_seq *seq;
  logd_http *http;
  int64_t boot_index;
} logd_run;

static int parse_num(const char *flag, const char *v, uint64_t min, uint64_t max, uint64_t *out) {
  if (xt_parse_u64(v, 0, min, max, out) == XT_OK) return 0;
  fprintf(stderr, "logd: %s takes an integer from %" PRIu64 " to %" PRIu64 " (got '%s')\n", flag,
          min, max, v ? v : "");
  return -1;
}

/* One flag with its value (argv[*i + 1]). GO_ON, 0 (--help, --version) or EXIT_USAGE. */
static int parse_flag(logd_opts *o, int argc, char **argv, int *i) {
  const char *a = argv[*i];
  if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
    usage(stdout);
    return 0;
  }
  if (!strcmp(a, "--version")) {
    printf("logd %s\n", XT_VERSION);
    return 0;
  }
  if (!strcmp(a, "--dev")) {
    o->dev = 1;
    return GO_ON;
  }
  static const char *const strs[] = {"--data", "--listen", "--origin", "--submitters",
                                     "--dstack-socket", "--anchor-rpc", "--anchor-contract",
                                     "--anchor-key", "--pccs", "--mirror", "--mirror-endpoint",
                                     "--mirror-credentials", "--mirror-region", "--restore-from"};
  const char **sdst[] = {&o->data, &o->listen, &o->origin, &o->subfile,
                         &o->dstack_socket, &o->anchor_rpc, &o->anchor_contract,
                         &o->anchor_keyfile, &o->pccs, &o->mirror, &o->mirror_endpoint,
                         &o->mirror_creds, &o->mirror_region, &o->restore_from};
  static const struct {
    const char *flag;
    uint64_t min, max;
  } nums[] = {{"--checkpoint-interval-ms", 1, 3600000}, {"--max-entry-bytes", 256, EVENT_ENTRY_HARD_MAX},
              {"--client-timeout", 1, 3600}, {"--max-connections", 1, 65536},
              {"--queue-limit", 1000, 10000000}, {"--threads", 1, 64},
              {"--anchor-interval", 1, 86400}, {"--anchor-max-age", 2, 7 * 86400},
              {"--pccs-refresh", 1, 30 * 86400}, {"--index-merge-keys", 1, 1u << 24},
              {"--request-deadline", 1, 3600}, {"--min-free-mb", 0, 1u << 20},
              {"--mirror-max-backlog", 1024, UINT64_MAX / 2}};
  uint64_t *ndst[] = {&o->interval, &o->max_entry, &o->timeout, &o->max_conns,
                      &o->queue, &o->threads, &o->anchor_interval, &o->anchor_max_age,
                      &o->pccs_refresh, &o->merge_keys, &o->deadline, &o->min_free_mb,
                      &o->mirror_max_backlog};
  const char *v = *i + 1 < argc ? argv[*i + 1] : NULL;
  for (size_t k = 0; k < sizeof strs / sizeof *strs + sizeof nums / sizeof *nums; k++) {
    int is_str = k < sizeof strs / sizeof *strs;
    size_t n = is_str ? k : k - sizeof strs / sizeof *strs;
    if (strcmp(a, is_str ? strs[k] : nums[n].flag)) continue;
    if (!v) {
      fprintf(stderr, "logd: %s needs a value (see --help)\n", a);
      return EXIT_USAGE;
    }
    (*i)++;
    if (is_str) {
      *sdst[n] = v;
      return GO_ON;
    }
    if (parse_num(a, v, nums[n].min, nums[n].max, ndst[n])) return EXIT_USAGE;
    if (ndst[n] == &o->anchor_interval) o->anchor_interval_set = 1;
    return GO_ON;
  }
  fprintf(stderr, "logd: unknown option '%s' (see --help)\n", a);
  return EXIT_USAGE;
}

/* How the flags go together. GO_ON or EXIT_USAGE. */
static int check_opts(logd_opts *o) {
  const char *why = NULL;
  if (!o->data || !o->listen || !o->origin)
    why = "--data, --listen and --origin are required (see --help)";
  else if (o->dev == !!o->dstack_socket)
    why = "exactly one of --dev and --dstack-socket is required";
  else if (!o->anchor_rpc != !o->anchor_contract)
    why = "--anchor-rpc and --anchor-contract go together";
  else if (o->dstack_socket && o->anchor_keyfile)
    why = "--anchor-key is refused with --dstack-socket: the anchor key comes from GetKey in "
          "the enclave";
  else if (o->dev && o->anchor_rpc && !o->anchor_keyfile)
    why = "--dev with --anchor-rpc needs --anchor-key FILE";
  else if ((o->anchor_keyfile || o->anchor_interval_set) && !o->anchor_rpc)
    why = "--anchor-key and --anchor-interval need --anchor-rpc and --anchor-contract";
  else if (o->pccs && !o->dstack_socket)
    why = "--pccs needs --dstack-socket: the platform whose collateral is fetched is the one "
          "logd's quotes come from";
  else if (o->pccs_refresh && !o->pccs)
    why = "--pccs-refresh needs --pccs";
  else if (o->anchor_max_age && !o->anchor_rpc)
    why = "--anchor-max-age needs --anchor-rpc and --anchor-contract";
  else if (o->deadline * 1000 <= o->interval)
    why = "--request-deadline must be longer than --checkpoint-interval-ms (a ?wait=checkpoint "
          "request waits for a checkpoint within it)";
  else if (o->anchor_max_age && o->anchor_max_age <= o->anchor_interval)
    why = "--anchor-max-age must be longer than --anchor-interval (an anchor is tried only "
          "once per interval)";
  else if (!o->mirror != !o->mirror_endpoint || !o->mirror != !o->mirror_creds)
    why = "--mirror, --mirror-endpoint and --mirror-credentials go together";
  else if ((o->mirror_region || o->mirror_max_backlog) && !o->mirror)
    why = "--mirror-region and --mirror-max-backlog need --mirror";
  if (why) {
    fprintf(stderr, "logd: %s\n", why);
    return EXIT_USAGE;
  }
  /* The origin names the key: a name note.h refuses is a usage error, found before
   * anything exists (the seed here is a stand-in; the real one comes later). */
  static const uint8_t probe_seed[32];
  note_signer probe;
  char err[300];
  if (note_signer_from_seed(&probe, o->origin, probe_seed, err, sizeof err)) {
    fprintf(stderr, "logd: --origin '%s' cannot name a key: %s\n", o->origin, err);
    return EXIT_USAGE;
  }
  OPENSSL_cleanse(&probe, sizeof probe);
  if (http_parse_listen(o->listen, o->host, sizeof o->host, &o->port) != HTTP_OK) {
    fprintf(stderr, "logd: --listen takes HOST:PORT or [IPV6]:PORT with a port from 0 to 65535 "
                    "(got '%s')\n", o->listen);
    return EXIT_USAGE;
  }
  return GO_ON;
}

static int parse_args(int argc, char **argv, logd_opts *o) {
  memset(o, 0, sizeof *o);
  o->anchor_interval = 600;
  o->interval = 1000;
  o->max_entry = 16384;
  o->timeout = 30;
  o->deadline = 60;
  o->min_free_mb = 256;
  o->max_conns = 1024;
  o->queue = 100000;
  o->threads = 2;
  for (int i = 1; i < argc; i++) {
    int rc = parse_flag(o, argc, argv, &i);
    if (rc != GO_ON) return rc;
  }
  return check_opts(o);
}

/* ---------- start-up checks: nothing is written here ---------- */

/* Creates DIR when missing and takes its lock for the life of the process, so a
 * second logd on the same directory is refused before it reads or writes anything. */
static int take_lock(const char *dir, logd_run *run) {
  if (mkdir(dir, 0700) && errno != EEXIST) {
    fprintf(stderr, "logd: cannot create --data %s: %s\n", dir, strerror(errno));
    return -1;
  }
  char path[PATH_MAX];
  if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, LOCK_FILE) >= sizeof path) {
    fprintf(stderr, "logd: --data path too long\n");
    return -1;
  }
  run->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (run->lock_fd < 0) {
    fprintf(stderr, "logd: cannot open %s: %s\n", path, strerror(errno));
    return -1;
  }
  if (flock(run->lock_fd, LOCK_EX | LOCK_NB) == 0) return 0;
  if (errno == EWOULDBLOCK)
    fprintf(stderr, "logd: another logd is running on --data %s (it holds %s); refusing to "
                    "start\n", dir, path);
  else
    fprintf(stderr, "logd: cannot lock %s: %s\n", path, strerror(errno));
  return -1;
}

/* A --dev secret: read from DIR/name, or made up (*is_new set) for writing later. */
static int dev_secret(const char *dir, const char *name, uint8_t out[32], int *is_new) {
  char path[PATH_MAX], err[300];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  struct stat st;
  if (stat(path, &st) != 0 && errno == ENOENT) {
    *is_new = 1;
    if (RAND_bytes(out, 32) == 1) return 0;
    fprintf(stderr, "logd: no randomness for %s\n", name);
    return -1;
  }
  uint8_t *buf = NULL;
  size_t len = 0;
  if (xt_file_read(path, 200, &buf, &len, err, sizeof err) != XT_OK) {
    fprintf(stderr, "logd: cannot read %s\n", err);
    return -1;
  }
  while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r')) buf[--len] = 0;
  int bad = len != 64 || xt_hex_decode_exact((const char *)buf, XT_HEX_LOWER, out, 32) != XT_OK;
  OPENSSL_cleanse(buf, len);
  free(buf);
  if (bad) fprintf(stderr, "logd: %s is not 64 lowercase hex digits\n", path);
  return bad ? -1 : 0;
}

/* The checkpoint key, the anchor key and the origin. GO_ON, 1 or EXIT_USAGE. */
static int load_keys(const logd_opts *o, logd_run *run) {
  char err[400];
  uint8_t akey[32] = {0};
  run->enc = enclave_open(o->dstack_socket, o->data, err, sizeof err);
  if (!run->enc) {
    fprintf(stderr, "logd: %s\n", err);
    return 1;
  }
  if (o->dstack_socket ? enclave_checkpoint_seed(run->enc, run->seed, err, sizeof err) != ENCLAVE_OK
                       : dev_secret(o->data, "checkpoint-key", run->seed, &run->seed_new) != 0) {
    if (o->dstack_socket) fprintf(stderr, "logd: %s\n", err);
    return 1;
  }
  if (o->dstack_socket || o->anchor_keyfile) {
    int bad = o->dstack_socket
                  ? enclave_anchor_key(run->enc, akey, err, sizeof err) != ENCLAVE_OK
                  : eth_key_read_file(o->anchor_keyfile, akey, err, sizeof err) != 0;
    if (bad) {
      fprintf(stderr, "logd: anchor key: %s\n", err);
      return 1;
    }
    uint8_t addr[20];
    eth_address_from_key(akey, addr);
    eth_address_format(addr, run->aaddr);
    run->have_akey = 1;
  }
  int rc = GO_ON;
  if (note_signer_from_seed(&run->signer, o->origin, run->seed, err, sizeof err)) {
    fprintf(stderr, "logd: --origin '%s' cannot name a key: %s\n", o->origin, err);
    rc = EXIT_USAGE;
  } else if (o->anchor_rpc) {
    logd_anchor_config ac = {.rpc_url = o->anchor_rpc,
                             .contract = o->anchor_contract,
                             .key = akey,
                             .interval_s = o->anchor_interval,
                             .origin = o->origin,
                             .data_dir = o->data,
                             .max_age_s = o->anchor_max_age};
    run->anc = anchoring_new(&ac, err, sizeof err);
    if (!run->anc) {
      fprintf(stderr, "logd: %s\n", err);
      rc = 1;
    }
  }
  OPENSSL_cleanse(akey, sizeof akey);
  if (rc == GO_ON && o->pccs &&
      !(run->coll = lcoll_new(o->pccs, o->data, o->pccs_refresh ? o->pccs_refresh : 86400, err, sizeof err))) {
    fprintf(stderr, "logd: %s\n", err);
    rc = 1;
  }
  if (rc == GO_ON && o->mirror) {
    mirror_config mc = {.url = o->mirror,
                        .endpoint = o->mirror_endpoint,
                        .credentials = o->mirror_creds,
                        .region = o->mirror_region,
                        .data_dir = o->data,
                        .verifier = &run->signer.verifier,
                        .max_backlog = o->mirror_max_backlog};
    run->mirror = mirror_new(&mc, err, sizeof err);
    if (!run->mirror) {
      fprintf(stderr, "logd: %s\n", err);
      rc = 1;
    }
  }
  if (rc != GO_ON) return rc;
  size_t vlen;
  if (note_verifier_format(&run->signer.verifier, run->vkey, sizeof run->vkey - 1, &vlen, err,
                           sizeof err)) {
    fprintf(stderr, "logd: %s\n", err);
    return 1;
  }
  run->vkey[vlen] = 0;
  return GO_ON;
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
      fprintf(stderr, "logd: out of memory reading %s\n", path);
      rc = -1;
      break;
    }
    *out = nv;
    (*out)[(*count)++] = s;
  }
  fclose(f);
  return rc;
}

/* --submitters, and in --dev mode the submitter "dev" with the dev token. */
static int load_all_submitters(const logd_opts *o, logd_run *run) {
  if (o->subfile && load_submitters(o->subfile, run->enc, &run->subs, &run->nsubs)) return -1;
  for (size_t i = 0; i < run->nsubs; i++)
    if (!strcmp(run->subs[i].name, "dev") || !strcmp(run->subs[i].name, "logd")) {
      fprintf(stderr, "logd: --submitters names '%s', which logd reserves\n", run->subs[i].name);
      return -1;
    }
  if (!o->dev) return 0;
  if (dev_secret(o->data, "dev-token", run->token, &run->token_new)) return -1;
  xt_hex_encode(run->token, 32, run->token_hex);
  logd_submitter *nv = realloc(run->subs, (run->nsubs + 1) * sizeof *nv);
  if (!nv) {
    fprintf(stderr, "logd: out of memory\n");
    return -1;
  }
  run->subs = nv;
  logd_submitter *s = &run->subs[run->nsubs++];
  memset(s, 0, sizeof *s);
  snprintf(s->name, sizeof s->name, "dev");
  EVP_Digest(run->token_hex, 64, s->token_hash, NULL, EVP_sha256(), NULL);
  return 0;
}
static seq_config seq_config_of(const logd_opts *o) {
  seq_config sc = {.interval_ms = o->interval,
                   .max_entry_bytes = o->max_entry,
                   .queue_max_entries = o->queue,
                   .queue_max_bytes = (size_t)o->queue * 1024,
                   .min_free_bytes = o->min_free_mb << 20};
  return sc;
}

static void db_path(const logd_opts *o, char *out, size_t cap) {
  snprintf(out, cap, "%s/db", o->data);
}

/* The stored log, read-only: its origin, tree and latest checkpoint against this key,
 * and the chain's anchored head (the rollback defence). 0 or -1. */
static int check_store(const logd_opts *o, logd_run *run) {
  char err[400], dbpath[PATH_MAX];
  db_path(o, dbpath, sizeof dbpath);
  logd_store *ro = NULL;
  store_err rc = store_open_read_only(dbpath, &ro, err, sizeof err);
  if (rc != STORE_OK && rc != STORE_NOT_FOUND) {
    fprintf(stderr, "logd: %s\n", err);
    return -1;
  }
  int bad = 0;
  if (ro) {
    char *stored = NULL;
    rc = store_get_origin(ro, &stored, err, sizeof err);
    if (rc != STORE_OK && rc != STORE_NOT_FOUND) {
      fprintf(stderr, "logd: %s\n", err);
      bad = 1;
    } else if (rc == STORE_OK && strcmp(stored, o->origin)) {
      fprintf(stderr, "logd: %s holds the log '%s', not --origin '%s'; refusing to start\n",
              o->data, stored, o->origin);
      bad = 1;
    }
    free(stored);
    seq_config sc = seq_config_of(o);
    if (!bad && seq_check(ro, &run->signer, &sc, err, sizeof err)) {
      fprintf(stderr, "logd: %s\n", err);
      bad = 1;
    }
  }
  if (!bad && run->anc && anchoring_check_start(run->anc, ro, err, sizeof err) != ANCHORING_OK) {
    fprintf(stderr, "logd: %s\n", err);
    bad = 1;
  }
  store_close(ro);
  return bad ? -1 : 0;
}

/* Every check of a start, in order; nothing on disk changes but DIR and its lock file
 * on a first start. GO_ON or an exit status. */
static int start_checks(const logd_opts *o, logd_run *run) {
  if (take_lock(o->data, run)) return 1;
  int rc = load_keys(o, run);
  if (rc != GO_ON) return rc;
  if (load_all_submitters(o, run)) return 1;
  if (o->restore_from) {
    char dbpath[PATH_MAX], err[600];
    db_path(o, dbpath, sizeof dbpath);
    restore_config rc2 = {.url = o->restore_from, .db_path = dbpath, .data_dir = o->data,
                          .origin = o->origin, .verifier = &run->signer.verifier, .anchor = run->anc};
    if (restore_run(&rc2, err, sizeof err) != RESTORE_OK) {
      fprintf(stderr, "logd: --restore-from %s: %s\n", o->restore_from, err);
      return 1;
    }
  }
  if (check_store(o, run)) return 1;
  char err[400];
  if (http_bind(o->host, o->port, &run->listen_fd, &run->port, err, sizeof err) != HTTP_OK) {
    fprintf(stderr, "logd: %s\n", err);
    return 1;
  }
  return GO_ON;
}

/* ---------- the start: from here on, files are written ---------- */

static int write_secret(const char *dir, const char *name, const uint8_t key[32]) {
  char path[PATH_MAX], h[66], err[300];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  xt_hex_encode(key, 32, h);
  h[64] = '\n';
  xt_err e = xt_file_write_atomic(path, h, 65, 0600, err, sizeof err);
  OPENSSL_cleanse(h, sizeof h);
  if (e == XT_OK) return 0;
  fprintf(stderr, "logd: cannot write %s: %s\n", name, err);
  return -1;
}

/* DIR/verifier-key, rewritten only when it does not already hold this key. */
static int write_verifier_key(const logd_opts *o, const logd_run *run) {
  char path[PATH_MAX], text[600], err[300];
  snprintf(path, sizeof path, "%s/verifier-key", o->data);
  int n = snprintf(text, sizeof text, "%s\n", run->vkey);
  uint8_t *old = NULL;
  size_t oldlen = 0;
  if (xt_file_read(path, sizeof text, &old, &oldlen, err, sizeof err) == XT_OK) {
    int same = oldlen == (size_t)n && !memcmp(old, text, oldlen);
    free(old);
    if (same) return 0;
  }
  if (xt_file_write_atomic(path, text, (size_t)n, 0644, err, sizeof err) == XT_OK) return 0;
  fprintf(stderr, "logd: cannot write the verifier key: %s\n", err);
  return -1;
}

/* Opens the store for writing, records the origin of a new log, starts the sequencer. */
static int open_log(const logd_opts *o, logd_run *run) {
  char err[400], dbpath[PATH_MAX];
  db_path(o, dbpath, sizeof dbpath);
  if (store_open(dbpath, &run->store, err, sizeof err)) {
    fprintf(stderr, "logd: %s\n", err);
    return -1;
  }
  if (o->merge_keys) store_set_index_merge_keys(run->store, (size_t)o->merge_keys);
  char *stored = NULL;
  store_err rc = store_get_origin(run->store, &stored, err, sizeof err);
  free(stored);
  if (rc == STORE_NOT_FOUND) rc = store_put_origin(run->store, o->origin, err, sizeof err);
  if (rc) {
    fprintf(stderr, "logd: %s\n", err);
    return -1;
  }
  seq_config sc = seq_config_of(o);
  run->seq = seq_start(run->store, &run->signer, &sc, err, sizeof err);
  if (!run->seq) {
    fprintf(stderr, "logd: %s\n", err);
    return -1;
  }
  return 0;
}

static int start_http(const logd_opts *o, logd_run *run, logd_ext *ext, http_ext *hx) {
  logd_ext_http(ext, hx);
  http_config hc = {.listen = o->listen,
                    .listen_fd = run->listen_fd,
                    .port = run->port,
                    .seq = run->seq,
                    .store = run->store,
                    .origin = o->origin,
                    .verifier_key = run->vkey,
                    .submitters = run->subs,
                    .nsubmitters = run->nsubs,
                    .max_entry_bytes = o->max_entry,
                    .interval_ms = o->interval,
                    .timeout_s = (unsigned)o->timeout,
                    .deadline_s = (unsigned)o->deadline,
                    .max_connections = (unsigned)o->max_conns,
                    .threads = (unsigned)o->threads,
                    .ext = hx};
  char err[400];
  run->listen_fd = -1; /* http_start owns it now */
  run->http = http_start(&hc, err, sizeof err);
  if (run->http) return 0;
  fprintf(stderr, "logd: %s\n", err);
  return -1;
}

/* Writes what the checks made up, opens the log, appends the boot entry and serves. */
static int start(const logd_opts *o, logd_run *run, logd_ext *ext, http_ext *hx) {
  char err[400];
  /* The key files first and only then listen: whoever sees the port open (tests,
   * scripts) may read them at once. Requests wait in the backlog for the server. */
  if ((run->seed_new && write_secret(o->data, "checkpoint-key", run->seed)) ||
      (run->token_new && write_secret(o->data, "dev-token", run->token)) ||
      write_verifier_key(o, run))
    return -1;
  OPENSSL_cleanse(run->seed, sizeof run->seed);
  if (http_listen(run->listen_fd, o->listen, err, sizeof err) != HTTP_OK) {
    fprintf(stderr, "logd: %s\n", err);
    return -1;
  }
  if (open_log(o, run)) return -1;
  if (run->coll) {
    if (lcoll_start(run->coll, err, sizeof err) != LCOLL_OK) {
      fprintf(stderr, "logd: %s\n", err);
      return -1;
    }
    enclave_set_quote_hook(run->enc, lcoll_quote, run->coll);
  }
  if (enclave_log_boot(run->enc, run->seq, &run->signer.verifier, run->vkey,
                       run->have_akey ? run->aaddr : NULL, &run->boot_index, err,
                       sizeof err) != ENCLAVE_OK) {
    fprintf(stderr, "logd: boot entry not logged: %s\n", err);
    return -1;
  }
  if (run->mirror) {
    if (mirror_start(run->mirror, run->seq, err, sizeof err) != MIRROR_OK) {
      fprintf(stderr, "logd: %s\n", err);
      return -1;
    }
    if (run->anc) anchoring_set_gate(run->anc, mirror_anchorable, run->mirror);
  }
  if (run->anc) {
    if (enclave_has_quotes(run->enc)) anchoring_set_hook(run->anc, enclave_checkpoint_quote, run->enc);
    if (anchoring_start(run->anc, run->seq, err, sizeof err) != ANCHORING_OK) {
      fprintf(stderr, "logd: %s\n", err);
      return -1;
    }
  }
  ext->anchor = run->anc;
  ext->enclave = run->enc;
  ext->collateral = run->coll;
  ext->mirror = run->mirror;
  /* stdout's lines before the first request is answered: a script that sees /healthz
   * answer may read them at once. */
  printf("verifier-key: %s\n", run->vkey);
  if (o->dev) printf("dev-token: %s\n", run->token_hex);
  if (run->have_akey) printf("anchor-address: %s\n", run->aaddr);
  fflush(stdout);
  return start_http(o, run, ext, hx);
}

/* ---------- serving and shutdown ---------- */

static void announce(const logd_opts *o, const logd_run *run) {
  seq_view v;
  seq_view_get(run->seq, &v, 0);
  xt_log("logd", "serving %s on %s (port %u): %" PRIu64 " entries, checkpoint size %" PRIu64
         ", %zu submitters, boot entry %" PRId64 "%s",
         o->origin, o->listen, http_port(run->http), v.size, v.note_size, run->nsubs,
         run->boot_index, o->dstack_socket ? ", enclave mode" : "");
}

/* Stops everything that started, in order: HTTP quiesced, anchoring (waited for a
 * little), queued writes finished with a last checkpoint, then the rest. */
static int shutdown_run(logd_run *run, int code) {
  if (run->http) http_quiesce(run->http);
  /* A transaction in flight may take long: wait a little, then leave it to exit. */
  int anchor_busy = run->anc && anchoring_stop(run->anc, 5000);
  /* A collateral fetch in flight is only worth a moment: nothing depends on it. */
  int coll_busy = lcoll_stop(run->coll, 2000) != 0;
  if (run->seq) seq_stop(run->seq);
  /* The last checkpoint goes to the mirror too; a store that does not answer soon is
   * caught up by the next run (everything is durable here). */
  int mirror_busy = run->mirror && mirror_stop(run->mirror, 10000) != 0;
  http_stop(run->http);
  if (run->seq) {
    seq_view v;
    seq_view_get(run->seq, &v, 0);
    xt_log("logd", "stopped at %" PRIu64 " entries, checkpoint size %" PRIu64, v.size, v.note_size);
    /* Storage failed: no last checkpoint was signed; the exit status says so too. */
    char why[200];
    if (seq_refusal(run->seq, why, sizeof why) && code == 0) code = 1;
  }
  if (mirror_busy && !anchor_busy && !coll_busy) {
    xt_log("logd", "mirror: an upload is still in flight; exiting without waiting for it");
    _exit(code);
  }
  if (coll_busy && !anchor_busy) {
    xt_log("logd", "collateral: a fetch is still in flight; exiting without waiting for it");
    _exit(code);
  }
  if (anchor_busy) {
    /* Everything is durable; the thread still sending would outlive what it reads. */
    xt_log("logd", "anchor: a transaction is still in flight; exiting without waiting for it");
    _exit(code);
  }
  seq_free(run->seq);
  store_close(run->store);
  anchoring_free(run->anc);
  lcoll_free(run->coll);
  mirror_free(run->mirror);
  enclave_free(run->enc);
  if (run->listen_fd >= 0) close(run->listen_fd);
  OPENSSL_cleanse(&run->signer, sizeof run->signer);
  OPENSSL_cleanse(run->seed, sizeof run->seed);
  OPENSSL_cleanse(run->token, sizeof run->token);
  OPENSSL_cleanse(run->token_hex, sizeof run->token_hex);
  free(run->subs);
  /* The lock goes with the process; closing it last keeps the directory ours to the end. */
  if (run->lock_fd >= 0) close(run->lock_fd);
  return code;
}

int main(int argc, char **argv) {
  xt_json_abort_on_oom();
  logd_opts o;
  int rc = parse_args(argc, argv, &o);
  if (rc != GO_ON) return rc;
  /* Signals are taken by sigwait in main. Block them before any thread exists
   * (RocksDB starts its own): every thread inherits the mask, so none can take
   * SIGTERM's default action. */
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &sigs, NULL);
  signal(SIGPIPE, SIG_IGN);
  logd_run run;
  memset(&run, 0, sizeof run);
  run.lock_fd = run.listen_fd = -1;
  logd_ext ext = {0};
  http_ext hx;
  rc = start_checks(&o, &run);
  if (rc == GO_ON) rc = start(&o, &run, &ext, &hx) ? 1 : GO_ON;
  if (rc != GO_ON) return shutdown_run(&run, rc);
  announce(&o, &run);
  int sig = 0;
  sigwait(&sigs, &sig);
  xt_log("logd", "signal %d: finishing queued writes", sig);
  return shutdown_run(&run, 0);
}
