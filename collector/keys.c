#include "collector/keys.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"
#include "base/file.h"
#include "base/hex.h"
#include "collector/validate.h"
#include "dstack/guest.h"

/* dev-keys: three lines of 64 hex digits (cookie key, pseudonym key, signing seed). */
#define DEV_KEYS_LINE 65
#define DEV_KEYS_MAX 4096

int keys_derive_public(collector_keys *k, char *err, size_t errcap) {
  EVP_PKEY *pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, k->signing_seed, 32);
  size_t len = 32;
  int ok = pk && EVP_PKEY_get_raw_public_key(pk, k->signing_pub, &len) == 1 && len == 32;
  EVP_PKEY_free(pk);
  if (!ok) { xt_errf(err, errcap, "cannot derive the Ed25519 public key"); return -1; }
  return 0;
}

/* Each of the three lines must start with 64 hex digits; what follows them up to the
 * newline is ignored, as it always was. */
static int parse_dev_keys(const char *text, size_t len, uint8_t *slots[3]) {
  size_t pos = 0;
  for (int i = 0; i < 3; i++) {
    const char *nl = pos < len ? memchr(text + pos, '\n', len - pos) : NULL;
    size_t end = nl ? (size_t)(nl - text) : len;
    if (end - pos < 64 || xt_hex_decode(text + pos, 64, 0, slots[i], 32, NULL) != XT_OK) return -1;
    pos = nl ? end + 1 : len;
  }
  return 0;
}

static int read_dev_keys(const char *path, uint8_t *slots[3], char *err, size_t errcap) {
  uint8_t *text = NULL;
  size_t len = 0;
  char msg[4200];
  if (xt_file_read(path, DEV_KEYS_MAX, &text, &len, msg, sizeof msg) != XT_OK) {
    xt_errf(err, errcap, "cannot read %s", msg);
    return -1;
  }
  int rc = parse_dev_keys((const char *)text, len, slots);
  OPENSSL_cleanse(text, len);
  free(text);
  if (rc) xt_errf(err, errcap, "%s is malformed", path);
  return rc;
}

static int create_dev_keys(const char *path, uint8_t *slots[3], char *err, size_t errcap) {
  for (int i = 0; i < 3; i++)
    if (RAND_bytes(slots[i], 32) != 1) { xt_errf(err, errcap, "no randomness"); return -1; }
  char text[3 * DEV_KEYS_LINE + 1];
  for (int i = 0; i < 3; i++) {
    xt_hex_encode(slots[i], 32, text + DEV_KEYS_LINE * i);
    text[DEV_KEYS_LINE * i + 64] = '\n';
  }
  char msg[4200];
  xt_err e = xt_file_write_atomic(path, text, 3 * DEV_KEYS_LINE, 0600, msg, sizeof msg);
  OPENSSL_cleanse(text, sizeof text);
  if (e != XT_OK) {
    xt_errf(err, errcap, "cannot write %s: %s", path, msg);
    return -1;
  }
  return 0;
}

int keys_load_dev(const char *dir, collector_keys *k, char *err, size_t errcap) {
  char path[4096];
  if ((size_t)snprintf(path, sizeof path, "%s/dev-keys", dir) >= sizeof path) {
    xt_errf(err, errcap, "data directory path too long");
    return -1;
  }
  uint8_t *slots[3] = {k->cookie_key, k->pseudonym_key, k->signing_seed};
  /* Created on first use: only a missing file is made anew, never an unreadable one. */
  if (access(path, F_OK) == 0 || errno != ENOENT) {
    if (read_dev_keys(path, slots, err, errcap)) return -1;
  } else if (create_dev_keys(path, slots, err, errcap)) {
    return -1;
  }
  return keys_derive_public(k, err, errcap);
}

int keys_load_dstack(struct dstack_client *dc, collector_keys *k, char *err, size_t errcap) {
  const struct { const char *path, *purpose, *algorithm; uint8_t *out; } spec[] = {
      {COLLECTOR_KEY_PATH_COOKIE, "cookie-encryption", "secp256k1", k->cookie_key},
      {COLLECTOR_KEY_PATH_PSEUDONYM, "pseudonym", "secp256k1", k->pseudonym_key},
      {COLLECTOR_KEY_PATH_SIGNING, "user-count-signing", "ed25519", k->signing_seed},
  };
  for (size_t i = 0; i < sizeof spec / sizeof spec[0]; i++) {
    dstack_key dk;
    memset(&dk, 0, sizeof dk);
    if (dstack_get_key(dc, spec[i].path, spec[i].purpose, spec[i].algorithm, &dk, err, errcap) != 0) {
      OPENSSL_cleanse(&dk, sizeof dk);
      return -1;
    }
    if (dk.key_len != 32) {
      OPENSSL_cleanse(&dk, sizeof dk);
      xt_errf(err, errcap, "GetKey %s returned %zu bytes, not 32", spec[i].path, dk.key_len);
      return -1;
    }
    memcpy(spec[i].out, dk.key, 32);
    OPENSSL_cleanse(&dk, sizeof dk);
  }
  if (!memcmp(k->cookie_key, k->pseudonym_key, 32) || !memcmp(k->cookie_key, k->signing_seed, 32)) {
    xt_errf(err, errcap, "GetKey returned the same key for different paths");
    return -1;
  }
  return keys_derive_public(k, err, errcap);
}

/* TikTok usernames are case-insensitive, so "Alice" and "alice" are one account and
 * must be one pseudonym: the name is folded to ASCII lower case first. Validated names
 * are only [A-Za-z0-9_.], for which ASCII folding is the whole case folding. */
int keys_normalize_username(const char *username, size_t len, char *out, size_t cap) {
  if (!username || !out || len >= cap) return -1;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)username[i];
    out[i] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
  }
  out[len] = 0;
  return 0;
}

int keys_pseudonym(const collector_keys *k, const char *username, size_t len, char out[65]) {
  char norm[COLLECTOR_USERNAME_MAX + 1];
  uint8_t mac[32];
  unsigned maclen = 0;
  if (keys_normalize_username(username, len, norm, sizeof norm) != 0 ||
      !HMAC(EVP_sha256(), k->pseudonym_key, 32, (const unsigned char *)norm, len, mac, &maclen) ||
      maclen != 32)
    return -1;
  xt_hex_encode(mac, 32, out);
  return 0;
}

int keys_sign(const collector_keys *k, const uint8_t *msg, size_t len, uint8_t sig[64]) {
  EVP_PKEY *pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, k->signing_seed, 32);
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  size_t siglen = 64;
  int ok = pk && ctx && EVP_DigestSignInit(ctx, NULL, NULL, NULL, pk) == 1 &&
           EVP_DigestSign(ctx, sig, &siglen, msg, len) == 1 && siglen == 64;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(pk);
  return ok ? 0 : -1;
}

void keys_wipe(collector_keys *k) { OPENSSL_cleanse(k, sizeof *k); }
