/* test_collector_unit: the collector's input validation, encrypted vault, keys and the
 * release egress destination, without any daemon. */
#include <limits.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <rocksdb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/hex.h"
#include "collector/egress.h"
#include "collector/keys.h"
#include "collector/validate.h"
#include "collector/vault.h"
#include "tests/lib/check.h"
#include "tests/lib/proc.h"

static int uname_ok(const char *s) { return validate_username(s, strlen(s)); }
static int cursor_ok(const char *s) { return validate_cursor(s, strlen(s)); }
static int cookie_ok(const char *s) { return validate_cookie(s, strlen(s)); }

static void test_validate_username(void) {
  const char *good[] = {"alice", "a", "Alice_B.c", "user.name", "x_1", "0123456789", NULL};
  for (int i = 0; good[i]; i++) CHECK(uname_ok(good[i]));
  char max[65], over[66];
  memset(max, 'a', 64);
  max[64] = 0;
  memset(over, 'a', 65);
  over[65] = 0;
  CHECK(uname_ok(max));
  CHECK(!uname_ok(over));
  const char *bad[] = {"", ".", "..", "../x", "a/b", "a%2fb", "%2e%2e", "a?b", "a#b", "a\r\nb",
                       "a b", "a-b", "a;b", "a&b", ".a", "a.", "a..b", "\xd0\xb0", "a\xef\xbc\x8f",
                       "a\\b", "a\x7f", NULL};
  for (int i = 0; bad[i]; i++) CHECK(!uname_ok(bad[i]));
  CHECK(!validate_username("ab\0c", 4)); /* embedded NUL */
  CHECK(!validate_username(NULL, 0));
  /* Mixed case is valid (it folds to one pseudonym); non-ASCII letters, whose case
   * folding is locale-dependent, stay refused. */
  CHECK(uname_ok("ALICE") && uname_ok("aLiCe.X_9"));
  CHECK(!uname_ok("\xc4\xb0stanbul") && !uname_ok("\xc4\xb1") && !uname_ok("stra\xc3\x9f""e"));
}

static void test_validate_cursor_cookie(void) {
  CHECK(cursor_ok("0"));
  CHECK(cursor_ok("abc-DEF_123"));
  char c128[129], c129[130];
  memset(c128, '7', 128);
  c128[128] = 0;
  memset(c129, '7', 129);
  c129[129] = 0;
  CHECK(cursor_ok(c128));
  CHECK(!cursor_ok(c129));
  const char *bad[] = {"", "a&b", "a=b", "a b", "a/b", "a.b", "a%20", "a?b", "a#b", "a\n", "\xc3\xa9", NULL};
  for (int i = 0; bad[i]; i++) CHECK(!cursor_ok(bad[i]));
  CHECK(!validate_cursor("a\0b", 3));

  CHECK(cookie_ok("sessionid=abc; tt_csrf=x-y_z; a=\"q\""));
  const char *badc[] = {"", "a\rb", "a\nb", "a\tb", "a\x7f", "\xc3\xa9", NULL};
  for (int i = 0; badc[i]; i++) CHECK(!cookie_ok(badc[i]));
  CHECK(!validate_cookie("a\0b", 3));
  char big[4098];
  memset(big, 'c', 4097);
  big[4097] = 0;
  CHECK(!cookie_ok(big));
  big[4096] = 0;
  CHECK(cookie_ok(big));
}

static void test_egress_release_destination(void) {
  char host[128], query[256];
  CHECK(!strcmp(egress_build_flavour(), "release"));
  CHECK(egress_describe(NULL, 20, host, sizeof host, query, sizeof query) == 0);
  CHECK(!strcmp(host, "www.tiktok.com"));
  CHECK(!strcmp(query, "count=20"));
  CHECK(!strcmp(EGRESS_PATH, "/api/watch_history"));
  CHECK(egress_describe("abc_-9", 100, host, sizeof host, query, sizeof query) == 0);
  CHECK(!strcmp(query, "count=100&cursor=abc_-9"));
  CHECK(egress_describe(NULL, 0, host, sizeof host, query, sizeof query) != 0);
  CHECK(egress_describe(NULL, 101, host, sizeof host, query, sizeof query) != 0);
  CHECK(egress_describe("a&b", 5, host, sizeof host, query, sizeof query) != 0);
  CHECK(egress_describe("../x", 5, host, sizeof host, query, sizeof query) != 0);
  /* A bad cookie or parameter never gets as far as a request. */
  egress_result r;
  CHECK(egress_fetch("a\r\nX: y", NULL, 5, &r) == EGRESS_EINVAL && r.code == EGRESS_EINVAL &&
        r.status == 0 && r.bytes == 0);
  CHECK(egress_fetch("sessionid=x", "a/b", 5, &r) == EGRESS_EINVAL && r.status == 0);
  /* Every outcome has its own name; callers branch on the code, never on the text. */
  for (int e = EGRESS_OK; e <= EGRESS_EMALFORMED; e++) {
    CHECK(strcmp(egress_err_str((egress_err)e), "unknown error") != 0);
    for (int f = EGRESS_OK; f < e; f++)
      CHECK(strcmp(egress_err_str((egress_err)e), egress_err_str((egress_err)f)) != 0);
  }
}

static void test_keys_dev(void) {
  char dir[PATH_MAX];
  CHECK_FATAL(proc_tmpdir("xt-collector-unit", dir, sizeof dir) == 0);
  collector_keys a, b;
  char err[256];
  CHECK_FATAL(keys_load_dev(dir, &a, err, sizeof err) == 0);
  CHECK_FATAL(keys_load_dev(dir, &b, err, sizeof err) == 0);
  CHECK(!memcmp(&a, &b, sizeof a)); /* reused, not regenerated */
  CHECK(memcmp(a.cookie_key, a.pseudonym_key, 32) != 0);
  char p1[65], p2[65], p3[65];
  CHECK(keys_pseudonym(&a, "alice", 5, p1) == 0);
  CHECK(keys_pseudonym(&a, "alice", 5, p2) == 0);
  CHECK(keys_pseudonym(&a, "alicf", 5, p3) == 0);
  CHECK(!strcmp(p1, p2) && strcmp(p1, p3) && strlen(p1) == 64);
  /* TikTok names are case-insensitive: every spelling of one name is one pseudonym,
   * the HMAC of the lower-case name. */
  char p4[65], p5[65], wantp[65];
  CHECK(keys_pseudonym(&a, "Alice", 5, p4) == 0 && !strcmp(p4, p1));
  CHECK(keys_pseudonym(&a, "ALICE", 5, p5) == 0 && !strcmp(p5, p1));
  uint8_t mac[32];
  unsigned maclen = 0;
  CHECK(HMAC(EVP_sha256(), a.pseudonym_key, 32, (const unsigned char *)"alice", 5, mac, &maclen) && maclen == 32);
  xt_hex_encode(mac, 32, wantp);
  CHECK(!strcmp(p1, wantp));
  CHECK(keys_pseudonym(&a, "Mixed_Case.Name9", 16, p4) == 0 && keys_pseudonym(&a, "mixed_case.name9", 16, p5) == 0 &&
        !strcmp(p4, p5));
  char norm[COLLECTOR_USERNAME_MAX + 1], big[COLLECTOR_USERNAME_MAX + 2];
  CHECK(keys_normalize_username("A_b.Z9", 6, norm, sizeof norm) == 0 && !strcmp(norm, "a_b.z9"));
  CHECK(keys_normalize_username("abc", 3, norm, 3) == -1); /* no room for the NUL */
  memset(big, 'A', sizeof big - 1);
  big[sizeof big - 1] = 0;
  CHECK(keys_pseudonym(&a, big, sizeof big - 1, p4) == -1); /* longer than any valid name */
  uint8_t sig[64];
  CHECK(keys_sign(&a, (const uint8_t *)"statement", 9, sig) == 0);
  EVP_PKEY *pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, a.signing_pub, 32);
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  CHECK(EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pk) == 1 &&
        EVP_DigestVerify(ctx, sig, 64, (const uint8_t *)"statement", 9) == 1);
  EVP_MD_CTX_free(ctx);
  ctx = EVP_MD_CTX_new();
  CHECK(EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pk) == 1 &&
        EVP_DigestVerify(ctx, sig, 64, (const uint8_t *)"statemenT", 9) != 1);
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(pk);
  char path[PATH_MAX + 16];
  snprintf(path, sizeof path, "%s/dev-keys", dir);
  CHECK(access(path, R_OK) == 0);
  /* The file is 0600, three lines of 64 lowercase hex digits, and holds a's keys. */
  struct stat st;
  CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600 && st.st_size == 3 * 65);
  size_t flen = 0;
  char *text = proc_read_file(path, &flen);
  CHECK_FATAL(text != NULL);
  char want[65];
  static const char digits[] = "0123456789abcdef";
  for (int i = 0; i < 32; i++) {
    want[2 * i] = digits[a.signing_seed[i] >> 4];
    want[2 * i + 1] = digits[a.signing_seed[i] & 15];
  }
  want[64] = 0;
  CHECK(flen == 3 * 65 && !memcmp(text + 130, want, 64) && text[194] == '\n');
  /* A damaged file is refused, never silently replaced. */
  text[130] = 'g';
  CHECK_FATAL(proc_write_file(path, text, flen) == 0);
  CHECK(keys_load_dev(dir, &b, err, sizeof err) == -1 && strstr(err, "is malformed") != NULL);
  CHECK_FATAL(proc_write_file(path, text, 2 * 65) == 0); /* third line missing */
  CHECK(keys_load_dev(dir, &b, err, sizeof err) == -1 && strstr(err, "is malformed") != NULL);
  free(text);
  keys_wipe(&a);
  keys_wipe(&b);
  proc_rmtree(dir);
}

/* Raw access to the vault's RocksDB, to tamper with what it stored. */
static char *raw_get(const char *dir, const char *key, size_t *len) {
  char path[PATH_MAX + 8];
  snprintf(path, sizeof path, "%s/db", dir);
  rocksdb_options_t *o = rocksdb_options_create();
  char *err = NULL;
  rocksdb_t *db = rocksdb_open(o, path, &err);
  char *v = NULL;
  if (db) {
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    v = rocksdb_get(db, ro, key, strlen(key), len, &err);
    rocksdb_readoptions_destroy(ro);
    rocksdb_close(db);
  }
  free(err);
  rocksdb_options_destroy(o);
  return v;
}

static void raw_put(const char *dir, const char *key, const char *val, size_t len) {
  char path[PATH_MAX + 8];
  snprintf(path, sizeof path, "%s/db", dir);
  rocksdb_options_t *o = rocksdb_options_create();
  char *err = NULL;
  rocksdb_t *db = rocksdb_open(o, path, &err);
  if (db) {
    rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
    rocksdb_put(db, wo, key, strlen(key), val, len, &err);
    rocksdb_writeoptions_destroy(wo);
    rocksdb_close(db);
  }
  free(err);
  rocksdb_options_destroy(o);
}

static void test_vault(void) {
  char dir[PATH_MAX], err[256];
  CHECK_FATAL(proc_tmpdir("xt-collector-vault", dir, sizeof dir) == 0);
  uint8_t key[32], other[32];
  memset(key, 0x42, 32);
  memset(other, 0x43, 32);
  const char *pa = "aaaa", *pb = "bbbb", *cookie = "sessionid=secret-cookie-value";
  vault *v = vault_open(dir, key, err, sizeof err);
  CHECK_FATAL(v);
  CHECK(vault_count(v) == 0);
  CHECK(vault_put(v, pa, cookie, strlen(cookie), err, sizeof err) == 0);
  CHECK(vault_put(v, pb, "x", 1, err, sizeof err) == 0);
  CHECK(vault_put(v, pa, cookie, strlen(cookie), err, sizeof err) == 0); /* replace */
  CHECK(vault_count(v) == 2);
  char *out = NULL;
  size_t len = 0;
  CHECK(vault_get(v, pa, &out, &len, err, sizeof err) == 1 && len == strlen(cookie) &&
        !memcmp(out, cookie, len));
  vault_free_secret(out, len + 1);
  CHECK(vault_get(v, "cccc", &out, &len, err, sizeof err) == 0);
  CHECK(vault_has(v, pb, err, sizeof err) == 1);
  CHECK(vault_delete(v, pb, err, sizeof err) == 0);
  CHECK(vault_has(v, pb, err, sizeof err) == 0);
  CHECK(vault_count(v) == 1);
  vault_close(v);

  /* The cookie is not on disk in the clear. */
  size_t rl = 0;
  char *raw = raw_get(dir, "cred/aaaa", &rl);
  CHECK_FATAL(raw && rl == 1 + 12 + strlen(cookie) + 16);
  CHECK(memmem(raw, rl, "secret-cookie", 13) == NULL);
  /* Moved to another user: the pseudonym is the AAD, so it does not decrypt. */
  raw_put(dir, "cred/bbbb", raw, rl);
  v = vault_open(dir, key, err, sizeof err);
  CHECK_FATAL(v);
  CHECK(vault_get(v, pb, &out, &len, err, sizeof err) == -1);
  vault_close(v);
  /* A flipped ciphertext bit fails authentication. */
  raw[20] ^= 1;
  raw_put(dir, "cred/aaaa", raw, rl);
  v = vault_open(dir, key, err, sizeof err);
  CHECK_FATAL(v);
  CHECK(vault_get(v, pa, &out, &len, err, sizeof err) == -1);
  vault_close(v);
  raw[20] ^= 1;
  raw_put(dir, "cred/aaaa", raw, rl);
  /* The wrong key fails; the right one still works. */
  v = vault_open(dir, other, err, sizeof err);
  CHECK_FATAL(v);
  CHECK(vault_get(v, pa, &out, &len, err, sizeof err) == -1);
  vault_close(v);
  v = vault_open(dir, key, err, sizeof err);
  CHECK_FATAL(v);
  CHECK(vault_get(v, pa, &out, &len, err, sizeof err) == 1);
  vault_free_secret(out, len + 1);
  vault_close(v);
  free(raw);
  proc_rmtree(dir);
}

int main(void) {
  CHECK_RUN(test_validate_username);
  CHECK_RUN(test_validate_cursor_cookie);
  CHECK_RUN(test_egress_release_destination);
  CHECK_RUN(test_keys_dev);
  CHECK_RUN(test_vault);
  return check_finish();
}
