#include "collector/keys.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dstack/guest.h"

void hex_encode(const uint8_t *in, size_t len, char *out) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < len; i++) {
    out[2 * i] = digits[in[i] >> 4];
    out[2 * i + 1] = digits[in[i] & 15];
  }
  out[2 * len] = 0;
}

static int hex_nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int hex_decode(const char *hex, size_t hexlen, uint8_t *out, size_t outlen) {
  if (hexlen != 2 * outlen) return -1;
  for (size_t i = 0; i < outlen; i++) {
    int hi = hex_nibble(hex[2 * i]), lo = hex_nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return -1;
    out[i] = (uint8_t)(hi << 4 | lo);
  }
  return 0;
}

int keys_derive_public(collector_keys *k, char *err, size_t errcap) {
  EVP_PKEY *pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, k->signing_seed, 32);
  size_t len = 32;
  int ok = pk && EVP_PKEY_get_raw_public_key(pk, k->signing_pub, &len) == 1 && len == 32;
  EVP_PKEY_free(pk);
  if (!ok) { snprintf(err, errcap, "cannot derive the Ed25519 public key"); return -1; }
  return 0;
}

/* The dev key file holds three hex lines: cookie key, pseudonym key, signing seed. */
int keys_load_dev(const char *dir, collector_keys *k, char *err, size_t errcap) {
  char path[4096];
  if ((size_t)snprintf(path, sizeof path, "%s/dev-keys", dir) >= sizeof path) {
    snprintf(err, errcap, "data directory path too long");
    return -1;
  }
  uint8_t *slots[3] = {k->cookie_key, k->pseudonym_key, k->signing_seed};
  FILE *f = fopen(path, "r");
  if (f) {
    char line[128];
    for (int i = 0; i < 3; i++) {
      if (!fgets(line, sizeof line, f) || strlen(line) < 64 || hex_decode(line, 64, slots[i], 32)) {
        fclose(f);
        OPENSSL_cleanse(line, sizeof line);
        snprintf(err, errcap, "%s is malformed", path);
        return -1;
      }
    }
    OPENSSL_cleanse(line, sizeof line);
    fclose(f);
    return keys_derive_public(k, err, errcap);
  }
  if (errno != ENOENT) {
    snprintf(err, errcap, "cannot read %s: %s", path, strerror(errno));
    return -1;
  }
  for (int i = 0; i < 3; i++)
    if (RAND_bytes(slots[i], 32) != 1) { snprintf(err, errcap, "no randomness"); return -1; }
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) { snprintf(err, errcap, "cannot create %s: %s", tmp, strerror(errno)); return -1; }
  char text[3 * 65 + 1];
  for (int i = 0; i < 3; i++) {
    hex_encode(slots[i], 32, text + 65 * i);
    text[65 * i + 64] = '\n';
  }
  ssize_t w = write(fd, text, 3 * 65);
  OPENSSL_cleanse(text, sizeof text);
  if (w != 3 * 65 || fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
    snprintf(err, errcap, "cannot write %s: %s", path, strerror(errno));
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
      snprintf(err, errcap, "GetKey %s returned %zu bytes, not 32", spec[i].path, dk.key_len);
      return -1;
    }
    memcpy(spec[i].out, dk.key, 32);
    OPENSSL_cleanse(&dk, sizeof dk);
  }
  if (!memcmp(k->cookie_key, k->pseudonym_key, 32) || !memcmp(k->cookie_key, k->signing_seed, 32)) {
    snprintf(err, errcap, "GetKey returned the same key for different paths");
    return -1;
  }
  return keys_derive_public(k, err, errcap);
}

void keys_pseudonym(const collector_keys *k, const char *username, size_t len, char out[65]) {
  uint8_t mac[32];
  unsigned maclen = 0;
  HMAC(EVP_sha256(), k->pseudonym_key, 32, (const unsigned char *)username, len, mac, &maclen);
  hex_encode(mac, 32, out);
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
