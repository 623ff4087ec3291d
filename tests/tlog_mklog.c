/* tlog-mklog: writes a static C2SP tiled log (checkpoint, tiles, entry bundles) into a
 * directory, for tlog's tests and bench/audit. Built with the merkle module only, so
 * it is an independent producer of what logd serves.
 *
 * usage: tlog-mklog --dir DIR --count N [--origin NAME] [--seed HEX64] [--variant V]
 *                   [--entries FILE] [--checkpoints S1,S2,...] [--pad BYTES]
 *   Entries 0..N-1 are generated collector-like events (boot, credential_intake,
 *   api_call intent + result pairs), canonical JSON wrapped as logd does; --variant
 *   changes their contents (same key: a forked log). --entries appends the exact lines
 *   of FILE (one entry per line) after them. --checkpoints also signs checkpoints of
 *   those sizes into v1/checkpoints/S with the partial tiles they need, and with
 *   --anchor-times T1,T2,... (Unix seconds, one per checkpoint) writes DIR/anchors.json
 *   as if each had been anchored on chain at that block time. --pad adds a
 *   filler field so entries have about that many bytes (bench). Writes DIR/verifier-key.
 *   Entry 0 is the collector's boot entry (release build, the compiled TikTok egress)
 *   with its simulated boot attestation in DIR/attestation/boot-0.json, as logd keeps it
 *   and export writes it: a quote from `dstack-sim --attest` (the dstack-sim beside this
 *   program) binding the collector's signing key, RTMR3 naming the compose hash of a
 *   small app-compose file. --no-collector-quote leaves the attestation out (a
 *   collector boot whose quote is missing). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "merkle/merkle.h"
#include "merkle/note.h"
#include "merkle/sha256.h"
#include "merkle/tile.h"

static const char *g_dir;

static int mkdirs_for(const char *path) {
  char buf[4096];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
    *p = '/';
  }
  return 0;
}

static int write_file(const char *rel, const void *data, size_t len) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", g_dir, rel);
  if (mkdirs_for(path) != 0) return -1;
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  int ok = fwrite(data, 1, len, f) == len;
  if (fclose(f) != 0) ok = 0;
  return ok ? 0 : -1;
}

/* One pending tile per hash-tile level, plus the pending entry bundle. */
typedef struct pending {
  uint8_t hashes[TILE_WIDTH][MERKLE_HASH_SIZE];
} pending;
static pending g_tiles[8];
static uint8_t *g_bundle;
static size_t g_bundle_len;
static const size_t g_bundle_cap = (size_t)TILE_WIDTH * (2 + 65535);

static int write_tile(int level, uint64_t index, unsigned width, const void *data, size_t len) {
  tile_id t = {level, index, width};
  char path[TILE_PATH_MAX];
  if (tile_path_encode(&t, path, sizeof path, NULL) != MERKLE_OK) return -1;
  return write_file(path, data, len);
}

static void sink(void *ctx, unsigned level, uint64_t index, const uint8_t hash[MERKLE_HASH_SIZE]) {
  (void)ctx;
  if (level % TILE_HEIGHT) return;
  unsigned L = level / TILE_HEIGHT;
  memcpy(g_tiles[L].hashes[index % TILE_WIDTH], hash, MERKLE_HASH_SIZE);
  if (index % TILE_WIDTH == TILE_WIDTH - 1 &&
      write_tile((int)L, index / TILE_WIDTH, TILE_WIDTH, g_tiles[L].hashes, sizeof g_tiles[L].hashes)) {
    fprintf(stderr, "tlog-mklog: writing a tile failed\n");
    exit(2);
  }
}

/* The partial tiles of a tree of `size` leaves. */
static int write_partials(uint64_t size) {
  for (unsigned L = 0; L < 8; L++) {
    unsigned shift = L * TILE_HEIGHT;
    uint64_t hashes = size >> shift;
    unsigned w = (unsigned)(hashes % TILE_WIDTH);
    if (hashes == 0) break;
    if (w && write_tile((int)L, hashes / TILE_WIDTH, w, g_tiles[L].hashes, (size_t)w * MERKLE_HASH_SIZE))
      return -1;
  }
  unsigned w = (unsigned)(size % TILE_WIDTH);
  if (w && write_tile(TILE_LEVEL_ENTRIES, size / TILE_WIDTH, w, g_bundle, g_bundle_len)) return -1;
  return 0;
}

static FILE *g_anchors;
static uint64_t g_times[64];
static size_t g_ntimes, g_nanchors;

static void hexs(const uint8_t *in, size_t n, char *out);

static int sign_checkpoint(const note_signer *s, const merkle_tree *t, const char *rel) {
  checkpoint c;
  snprintf(c.origin, sizeof c.origin, "%s", s->verifier.name);
  c.size = t->size;
  merkle_tree_root(t, c.root);
  char body[1024], note[2048], err[200];
  size_t blen, nlen;
  if (checkpoint_format(&c, body, sizeof body, &blen, err, sizeof err) ||
      note_sign(s, body, blen, note, sizeof note, &nlen, err, sizeof err)) {
    fprintf(stderr, "tlog-mklog: %s\n", err);
    return -1;
  }
  if (g_anchors && g_nanchors < g_ntimes && strcmp(rel, "checkpoint")) {
    uint8_t h[32], tx[32];
    char rh[65], ch[65], th[65], txs[32];
    /* SHA-256(note): merkle_leaf_hash adds a 0x00 prefix, so hash via the node API. */
    sha256_two((const uint8_t *)note, nlen, NULL, 0, h);
    int tl = snprintf(txs, sizeof txs, "tx%zu", g_nanchors);
    sha256_two((const uint8_t *)txs, (size_t)tl, NULL, 0, tx);
    hexs(c.root, 32, rh);
    hexs(h, 32, ch);
    hexs(tx, 32, th);
    fprintf(g_anchors, "%s{\"size\":%llu,\"root\":\"%s\",\"checkpoint_hash\":\"%s\",\"block\":%zu,\"time\":%llu,\"tx\":\"0x%s\"}",
            g_nanchors ? ",\n " : "[", (unsigned long long)c.size, rh, ch, g_nanchors + 1,
            (unsigned long long)g_times[g_nanchors], th);
    g_nanchors++;
  }
  return write_file(rel, note, nlen);
}

static void hexs(const uint8_t *in, size_t n, char *out) {
  static const char d[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = d[in[i] >> 4];
    out[2 * i + 1] = d[in[i] & 15];
  }
  out[2 * n] = 0;
}

/* A pseudonym-like hex string derived from a small number. */
static void fake_hex(const char *tag, uint64_t n, uint64_t variant, char out[65]) {
  char buf[96];
  uint8_t h[32];
  int len = snprintf(buf, sizeof buf, "%s-%llu-%llu", tag, (unsigned long long)n, (unsigned long long)variant);
  merkle_leaf_hash((const uint8_t *)buf, (size_t)len, h);
  hexs(h, 32, out);
}

/* The collector's user-count statements, signed as collector/api.c signs them so the
 * audit's user_count check (client/usercount.h) holds: the boot entry names the signing
 * key, each statement counts the distinct users of the intakes before it. */
static uint8_t g_uc_seed[32], g_uc_pub[32];
static unsigned char g_uc_seen[37];
static uint64_t g_uc_users;

static int uc_key(uint64_t variant) {
  char tag[64];
  int n = snprintf(tag, sizeof tag, "mklog-collector-%llu", (unsigned long long)variant);
  sha256_two((const uint8_t *)tag, (size_t)n, NULL, 0, g_uc_seed);
  EVP_PKEY *pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, g_uc_seed, 32);
  size_t publen = 32;
  int ok = pk && EVP_PKEY_get_raw_public_key(pk, g_uc_pub, &publen) == 1 && publen == 32;
  EVP_PKEY_free(pk);
  return ok ? 0 : -1;
}

/* The user_count event of entry i (the log head it names: i - 1). */
static int uc_event(uint64_t i, char *event, size_t cap) {
  char pub[65], st[512], sh[65], sig[129];
  uint8_t h[32], s[64];
  hexs(g_uc_pub, 32, pub);
  int n = snprintf(st, sizeof st,
                   "{\"as_of_index\":%llu,\"collector_key\":\"%s\",\"count\":%llu,\"instance_id\":\"i-1\","
                   "\"type\":\"xordi-collector-user-count-v1\"}",
                   (unsigned long long)(i - 1), pub, (unsigned long long)g_uc_users);
  sha256_two((const uint8_t *)st, (size_t)n, NULL, 0, h);
  hexs(h, 32, sh);
  EVP_PKEY *pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, g_uc_seed, 32);
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  size_t slen = 64;
  int ok = pk && ctx && EVP_DigestSignInit(ctx, NULL, NULL, NULL, pk) == 1 &&
           EVP_DigestSign(ctx, s, &slen, (const uint8_t *)st, (size_t)n) == 1 && slen == 64;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(pk);
  if (!ok) return -1;
  hexs(s, 64, sig);
  snprintf(event, cap,
           "{\"as_of_index\":%llu,\"count\":%llu,\"signature\":\"%s\",\"statement_sha256\":\"%s\","
           "\"type\":\"user_count\"}",
           (unsigned long long)(i - 1), (unsigned long long)g_uc_users, sig, sh);
  return 0;
}

/* The collector's boot attestation (see the top): compose hash and quote SHA-256 named by
 * the boot entry, in hex. */
static int g_collector_quote = 1;
static char g_compose_hash[65], g_quote_sha256[65];

/* Runs dstack-sim --attest for the collector's boot binding and writes its answer to
 * DIR/attestation/boot-0.json. Returns 0, or -1 after a message. */
static int collector_attestation(uint64_t variant) {
  char exe[2048], sim[2100], compose[] = "/tmp/mklog-compose-XXXXXX", body[128];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return -1;
  exe[n] = 0;
  char *slash = strrchr(exe, '/');
  if (slash) *slash = 0;
  snprintf(sim, sizeof sim, "%s/dstack-sim", exe);
  int bl = snprintf(body, sizeof body, "{\"name\":\"tlog-mklog\",\"variant\":%llu}", (unsigned long long)variant);
  int fd = mkstemp(compose);
  if (fd < 0 || write(fd, body, (size_t)bl) != bl) {
    if (fd >= 0) close(fd);
    fprintf(stderr, "tlog-mklog: cannot write the app-compose file\n");
    return -1;
  }
  close(fd);
  uint8_t h[32];
  sha256_two((const uint8_t *)body, (size_t)bl, NULL, 0, h);
  hexs(h, 32, g_compose_hash);
  /* report_data: SHA-256("xordi-tlog-boot-v1" "collector" || signing key), then zeros
   * (dstack/attest.h, dstack_boot_report_data) */
  uint8_t pre[18 + 9 + 32];
  memcpy(pre, "xordi-tlog-boot-v1collector", 27);
  memcpy(pre + 27, g_uc_pub, 32);
  sha256_two(pre, sizeof pre, NULL, 0, h);
  char rd[129], seed[8];
  hexs(h, 32, rd);
  memset(rd + 64, '0', 64);
  rd[128] = 0;
  snprintf(seed, sizeof seed, "%02llx", (unsigned long long)(variant & 0xff));
  /* run it directly (no shell), reading its standard output */
  static char out[1 << 20];
  size_t len = 0;
  int rc = -1, pfd[2];
  if (pipe(pfd) == 0) {
    pid_t pid = fork();
    if (pid == 0) {
      dup2(pfd[1], 1);
      close(pfd[0]);
      close(pfd[1]);
      char *args[] = {sim, "--attest", rd, "--app-compose", compose, "--seed", seed, NULL};
      execv(sim, args);
      _exit(127);
    }
    close(pfd[1]);
    ssize_t got;
    while (pid > 0 && len < sizeof out - 1 && (got = read(pfd[0], out + len, sizeof out - 1 - len)) > 0)
      len += (size_t)got;
    close(pfd[0]);
    int st;
    if (pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st)) rc = WEXITSTATUS(st);
  }
  unlink(compose);
  out[len] = 0;
  const char *q = strstr(out, "\"quote\":\"");
  if (rc != 0 || !q) {
    fprintf(stderr, "tlog-mklog: %s --attest failed (build it, or use --no-collector-quote)\n", sim);
    return -1;
  }
  q += 9;
  size_t qn = strcspn(q, "\"");
  uint8_t *quote = malloc(qn / 2 + 1);
  if (!quote) return -1;
  for (size_t i = 0; i + 1 < qn; i += 2) {
    unsigned b;
    if (sscanf(q + i, "%2x", &b) != 1) {
      free(quote);
      return -1;
    }
    quote[i / 2] = (uint8_t)b;
  }
  sha256_two(quote, qn / 2, NULL, 0, h);
  free(quote);
  hexs(h, 32, g_quote_sha256);
  while (len && out[len - 1] == '\n') out[--len] = 0;
  return write_file("attestation/boot-0.json", out, len);
}

/* Entry i of the generated log: canonical JSON (keys sorted, compact). */
static size_t make_entry(uint64_t i, uint64_t variant, size_t pad, char *out, size_t cap) {
  char event[1024];
  char user[65], h1[65];
  uint64_t ts = UINT64_C(1767225600000) + i * 1000 + variant * 7;
  uint64_t k = i % 10;
  if (i == 0) {
    char pub[65];
    fake_hex("compose", 1, variant, h1);
    if (uc_key(variant) != 0) return 0;
    if (g_collector_quote && collector_attestation(variant) != 0) return 0;
    hexs(g_uc_pub, 32, pub);
    /* as collector/api.c writes it (checkpoint_key and anchor_address are logd's) */
    snprintf(event, sizeof event,
             "{\"anchor_address\":\"\",\"boot_id\":\"mklog%llu\",\"build\":\"release\",\"checkpoint_key\":\"\","
             "\"component\":\"collector\",\"compose_hash\":\"%s\",\"egress\":\"GET www.tiktok.com/api/watch_history\","
             "\"instance_id\":\"i-1\",\"quote_sha256\":\"%s\",\"signing_key\":\"%s\",\"type\":\"boot\","
             "\"version\":\"0.1.0\"}",
             (unsigned long long)variant, g_collector_quote ? g_compose_hash : h1,
             g_collector_quote ? g_quote_sha256 : h1, pub);
  } else if (k == 1) {
    if (!g_uc_seen[i % 37]) g_uc_users++;
    g_uc_seen[i % 37] = 1;
    fake_hex("user", i % 37, variant, user);
    fake_hex("cookie", i, variant, h1);
    snprintf(event, sizeof event,
             "{\"cookie_sha256\":\"%s\",\"request_id\":\"r%llu\",\"type\":\"credential_intake\",\"user\":\"%s\"}",
             h1, (unsigned long long)i, user);
  } else if (k == 0) {
    if (uc_event(i, event, sizeof event) != 0) return 0;
  } else if (k % 2 == 0) {
    fake_hex("user", i % 37, variant, user);
    snprintf(event, sizeof event,
             "{\"call_id\":\"c%llu\",\"endpoint\":\"watch_history\",\"method\":\"GET\","
             "\"path\":\"/api/watch_history\",\"phase\":\"intent\",\"type\":\"api_call\",\"user\":\"%s\"}",
             (unsigned long long)i, user);
  } else {
    fake_hex("body", i, variant, h1);
    snprintf(event, sizeof event,
             "{\"body_sha256\":\"%s\",\"bytes\":%llu,\"call_id\":\"c%llu\",\"phase\":\"result\",\"status\":200,"
             "\"type\":\"api_call\"}",
             h1, (unsigned long long)(1000 + i % 5000), (unsigned long long)(i - 1));
  }
  int n;
  if (pad > 0) {
    static char filler[65536];
    size_t fl = pad > 400 ? pad - 400 : 1;
    if (fl >= sizeof filler) fl = sizeof filler - 1;
    memset(filler, 'a', fl);
    filler[fl] = 0;
    n = snprintf(out, cap, "{\"event\":%s,\"pad\":\"%s\",\"submitter\":\"collector\",\"ts_ms\":%llu,\"v\":1}",
                 event, filler, (unsigned long long)ts);
  } else {
    n = snprintf(out, cap, "{\"event\":%s,\"submitter\":\"collector\",\"ts_ms\":%llu,\"v\":1}", event,
                 (unsigned long long)ts);
  }
  return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

static int add_entry(merkle_tree *t, const note_signer *s, const uint64_t *cps, size_t ncps,
                     const uint8_t *data, size_t len) {
  uint8_t h[MERKLE_HASH_SIZE];
  if (tile_bundle_append(g_bundle, g_bundle_cap, &g_bundle_len, data, len) != MERKLE_OK) return -1;
  merkle_leaf_hash(data, len, h);
  uint64_t idx = t->size;
  if (merkle_tree_append(t, h, sink, NULL) != MERKLE_OK) return -1;
  if (idx % TILE_WIDTH == TILE_WIDTH - 1) {
    if (write_tile(TILE_LEVEL_ENTRIES, idx / TILE_WIDTH, TILE_WIDTH, g_bundle, g_bundle_len)) return -1;
    g_bundle_len = 0;
  }
  for (size_t i = 0; i < ncps; i++) {
    if (cps[i] != t->size) continue;
    char rel[64];
    snprintf(rel, sizeof rel, "v1/checkpoints/%llu", (unsigned long long)t->size);
    if (write_partials(t->size) || sign_checkpoint(s, t, rel)) return -1;
  }
  return 0;
}

/* ~110 lines: a test tool's options and the fixed sequence that writes a log directory
 * (entries, tiles, bundles, checkpoints, anchors); splitting it would only pass its
 * state around. Not shipped. */
int main(int argc, char **argv) {
  const char *origin = "example.org/xordi/log", *seed_hex = NULL, *entries_file = NULL, *cps_arg = NULL;
  uint64_t count = 0, variant = 0;
  size_t pad = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--no-collector-quote")) {
      g_collector_quote = 0;
      continue;
    }
    if (!v) {
      fprintf(stderr, "tlog-mklog: %s needs a value\n", a);
      return 2;
    }
    if (!strcmp(a, "--dir")) g_dir = v;
    else if (!strcmp(a, "--count")) count = strtoull(v, NULL, 10);
    else if (!strcmp(a, "--origin")) origin = v;
    else if (!strcmp(a, "--seed")) seed_hex = v;
    else if (!strcmp(a, "--variant")) variant = strtoull(v, NULL, 10);
    else if (!strcmp(a, "--entries")) entries_file = v;
    else if (!strcmp(a, "--checkpoints")) cps_arg = v;
    else if (!strcmp(a, "--pad")) pad = strtoull(v, NULL, 10);
    else if (!strcmp(a, "--anchor-times")) {
      for (const char *p = v; *p && g_ntimes < 64;) {
        char *end;
        g_times[g_ntimes++] = strtoull(p, &end, 10);
        if (*end != ',') break;
        p = end + 1;
      }
    }
    else {
      fprintf(stderr, "tlog-mklog: unknown option %s\n", a);
      return 2;
    }
    i++;
  }
  if (!g_dir) {
    fprintf(stderr, "usage: tlog-mklog --dir DIR --count N [--origin NAME] [--seed HEX64] [--variant V]\n"
                    "                  [--entries FILE] [--checkpoints S1,S2,...] [--pad BYTES]\n"
                    "                  [--no-collector-quote]\n");
    return 2;
  }
  uint8_t seed[32];
  for (int i = 0; i < 32; i++) seed[i] = (uint8_t)(i * 7 + 1);
  if (seed_hex) {
    if (strlen(seed_hex) != 64) return 2;
    for (int i = 0; i < 32; i++) {
      unsigned b;
      if (sscanf(seed_hex + 2 * i, "%2x", &b) != 1) return 2;
      seed[i] = (uint8_t)b;
    }
  }
  note_signer s;
  char err[200];
  if (note_signer_from_seed(&s, origin, seed, err, sizeof err)) {
    fprintf(stderr, "tlog-mklog: %s\n", err);
    return 2;
  }
  uint64_t cps[64];
  size_t ncps = 0;
  for (const char *p = cps_arg; p && *p && ncps < 64;) {
    char *end;
    cps[ncps++] = strtoull(p, &end, 10);
    p = *end == ',' ? end + 1 : end;
    if (*end && *end != ',') break;
  }
  if (g_ntimes) {
    char path[4096];
    snprintf(path, sizeof path, "%s/anchors.json", g_dir);
    if (mkdirs_for(path) || !(g_anchors = fopen(path, "w"))) return 2;
  }
  g_bundle = malloc(g_bundle_cap);
  if (!g_bundle) return 2;
  merkle_tree t;
  merkle_tree_init(&t);
  char entry[70000];
  for (uint64_t i = 0; i < count; i++) {
    size_t n = make_entry(i, variant, pad, entry, sizeof entry);
    if (!n || add_entry(&t, &s, cps, ncps, (const uint8_t *)entry, n)) {
      fprintf(stderr, "tlog-mklog: failed at entry %llu\n", (unsigned long long)i);
      return 2;
    }
  }
  if (entries_file) {
    FILE *f = fopen(entries_file, "r");
    if (!f) {
      fprintf(stderr, "tlog-mklog: %s: %s\n", entries_file, strerror(errno));
      return 2;
    }
    while (fgets(entry, sizeof entry, f)) {
      size_t n = strlen(entry);
      while (n && (entry[n - 1] == '\n' || entry[n - 1] == '\r')) n--;
      if (!n) continue;
      if (add_entry(&t, &s, cps, ncps, (const uint8_t *)entry, n)) {
        fprintf(stderr, "tlog-mklog: failed adding a line of %s\n", entries_file);
        return 2;
      }
    }
    fclose(f);
  }
  if (write_partials(t.size) || sign_checkpoint(&s, &t, "checkpoint")) {
    fprintf(stderr, "tlog-mklog: writing failed\n");
    return 2;
  }
  char vkey[512];
  size_t vlen;
  if (note_verifier_format(&s.verifier, vkey, sizeof vkey - 1, &vlen, err, sizeof err)) return 2;
  vkey[vlen++] = '\n';
  if (write_file("verifier-key", vkey, vlen)) return 2;
  if (g_anchors) {
    fputs(g_nanchors ? "]\n" : "[]\n", g_anchors);
    if (fclose(g_anchors)) return 2;
  }
  free(g_bundle);
  return 0;
}
