/* Tests for client/usercount.c: who counts as a user and the checks of the collector's
 * signed user_count statements, on entries built here and signed with a key made here
 * (as collector/api.c signs them). */
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/entryscan.h"
#include "client/usercount.h"
#include "tests/lib/check.h"

static uint8_t seed[32], pub[32];
static char pubhex[65];
static entry_scan sc;
static char why[400];

static void make_key(void) {
  for (int i = 0; i < 32; i++) seed[i] = (uint8_t)(i * 3 + 5);
  EVP_PKEY *pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
  size_t n = 32;
  CHECK_FATAL(pk && EVP_PKEY_get_raw_public_key(pk, pub, &n) == 1 && n == 32);
  EVP_PKEY_free(pk);
  check_hex(pub, 32, pubhex);
}

/* Feeds one entry {"event":EVENT,"submitter":SUB,...}; returns the verdict. */
static usercount_verdict feed(usercount *u, uint64_t index, const char *sub, const char *event) {
  char e[4096];
  snprintf(e, sizeof e, "{\"event\":%s,\"submitter\":\"%s\",\"ts_ms\":1,\"v\":1}", event, sub);
  entry_scan_run(&sc, (const uint8_t *)e, strlen(e));
  why[0] = 0;
  return usercount_entry(u, index, (const uint8_t *)e, strlen(e), &sc, true, why, sizeof why);
}

static void boot(usercount *u, uint64_t index, const char *sub) {
  char ev[512];
  snprintf(ev, sizeof ev,
           "{\"component\":\"collector\",\"compose_hash\":\"dev\",\"instance_id\":\"inst-1\",\"signing_key\":\"%s\","
           "\"type\":\"boot\"}",
           pubhex);
  CHECK(feed(u, index, sub, ev) == USERCOUNT_OK);
}

static usercount_verdict intake(usercount *u, uint64_t index, const char *sub, const char *user) {
  char ev[256];
  snprintf(ev, sizeof ev, "{\"type\":\"credential_intake\",\"user\":\"%s\",\"request_id\":\"r%llu\"}", user,
           (unsigned long long)index);
  return feed(u, index, sub, ev);
}

/* A user_count event for (count, as_of), signed with seed_used; fields can be spoiled. */
static void statement_event(uint64_t count, uint64_t as_of, const uint8_t *seed_used, uint64_t logged_count,
                            char *out, size_t cap) {
  char st[512], sh[65], sig[129];
  snprintf(st, sizeof st,
           "{\"as_of_index\":%llu,\"collector_key\":\"%s\",\"count\":%llu,\"instance_id\":\"inst-1\","
           "\"type\":\"xordi-collector-user-count-v1\"}",
           (unsigned long long)as_of, pubhex, (unsigned long long)count);
  uint8_t h[32], s[64];
  unsigned hn = 0;
  EVP_Digest(st, strlen(st), h, &hn, EVP_sha256(), NULL);
  check_hex(h, 32, sh);
  EVP_PKEY *pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed_used, 32);
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  size_t sl = 64;
  CHECK_FATAL(pk && ctx && EVP_DigestSignInit(ctx, NULL, NULL, NULL, pk) == 1 &&
              EVP_DigestSign(ctx, s, &sl, (const uint8_t *)st, strlen(st)) == 1);
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(pk);
  check_hex(s, 64, sig);
  snprintf(out, cap,
           "{\"as_of_index\":%llu,\"count\":%llu,\"signature\":\"%s\",\"statement_sha256\":\"%s\","
           "\"type\":\"user_count\"}",
           (unsigned long long)as_of, (unsigned long long)logged_count, sig, sh);
}

#define U1 "1111111111111111111111111111111111111111111111111111111111111111"
#define U2 "2222222222222222222222222222222222222222222222222222222222222222"

static void test_who_counts(void) {
  usercount *u = usercount_new();
  CHECK_FATAL(u);
  usercount_totals t;
  /* Before any collector boot, even the collector's intake is not counted. */
  CHECK(intake(u, 0, "collector", U1) == USERCOUNT_FAIL && strstr(why, "no collector boot entry before it"));
  /* A boot by another submitter does not make one. */
  boot(u, 1, "dev");
  CHECK(intake(u, 2, "collector", U1) == USERCOUNT_FAIL);
  boot(u, 3, "collector");
  CHECK(intake(u, 4, "collector", U1) == USERCOUNT_OK);
  CHECK(intake(u, 5, "collector", U1) == USERCOUNT_OK); /* the same user again */
  CHECK(intake(u, 6, "rogue", U2) == USERCOUNT_FAIL && strstr(why, "entry 6: credential_intake written by submitter 'rogue'"));
  usercount_get_totals(u, &t);
  CHECK(t.stored == 1 && t.intakes == 2 && t.foreign == 3);
  CHECK(feed(u, 7, "collector", "{\"type\":\"credential_deleted\",\"user\":\"" U1 "\"}") == USERCOUNT_OK);
  CHECK(feed(u, 8, "rogue", "{\"type\":\"credential_deleted\",\"user\":\"" U2 "\"}") == USERCOUNT_FAIL);
  usercount_get_totals(u, &t);
  CHECK(t.stored == 0 && t.deletions == 1);
  CHECK(intake(u, 9, "collector", U1) == USERCOUNT_OK);
  usercount_get_totals(u, &t);
  CHECK(t.stored == 1);
  usercount_free(u);
}

static void test_statements(void) {
  usercount *u = usercount_new();
  CHECK_FATAL(u);
  char ev[1024];
  boot(u, 0, "collector");
  CHECK(intake(u, 1, "collector", U1) == USERCOUNT_OK);
  CHECK(intake(u, 2, "collector", U2) == USERCOUNT_OK);
  statement_event(2, 2, seed, 2, ev, sizeof ev);
  CHECK(feed(u, 3, "collector", ev) == USERCOUNT_OK);
  /* The same statement by another writer. */
  CHECK(feed(u, 4, "rogue", ev) == USERCOUNT_FAIL && strstr(why, "not written by the collector"));
  /* An inflated count, validly signed: the log leaves 2 stored. */
  statement_event(5, 4, seed, 5, ev, sizeof ev);
  CHECK(feed(u, 5, "collector", ev) == USERCOUNT_FAIL && strstr(why, "attests 5 users, the collector's entries leave 2 stored"));
  /* Signed by another key. */
  uint8_t other[32];
  memcpy(other, seed, 32);
  other[0] ^= 1;
  statement_event(2, 5, other, 2, ev, sizeof ev);
  CHECK(feed(u, 6, "collector", ev) == USERCOUNT_FAIL && strstr(why, "signature does not verify"));
  /* The entry's count differs from the signed statement's. */
  statement_event(2, 6, seed, 3, ev, sizeof ev);
  CHECK(feed(u, 7, "collector", ev) == USERCOUNT_FAIL && strstr(why, "statement_sha256 is not the SHA-256"));
  /* A log head at or after the statement itself. */
  statement_event(2, 8, seed, 2, ev, sizeof ev);
  CHECK(feed(u, 8, "collector", ev) == USERCOUNT_FAIL && strstr(why, "names log head 8"));
  /* Missing members. */
  CHECK(feed(u, 9, "collector", "{\"type\":\"user_count\",\"count\":2}") == USERCOUNT_FAIL);
  size_t n = 0;
  const usercount_statement *st = usercount_statements(u, &n);
  CHECK_FATAL(n == 6);
  CHECK(st[0].index == 3 && st[0].verified && st[0].attested == 2 && st[0].in_log == 2 && st[0].boot_index == 0);
  CHECK(!st[1].verified && st[1].attested == 5 && st[1].in_log == 2);
  usercount_totals t;
  usercount_get_totals(u, &t);
  CHECK(t.statements == 6 && t.statements_failed == 6);
  usercount_free(u);
}

int main(void) {
  make_key();
  CHECK_RUN(test_who_counts);
  CHECK_RUN(test_statements);
  return check_finish();
}
