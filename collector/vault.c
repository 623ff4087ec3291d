#include "collector/vault.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <rocksdb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"

#include "collector/validate.h"

#define KEY_PREFIX "cred/"
#define NONCE_LEN 12
#define TAG_LEN 16

struct vault {
  rocksdb_t *db;
  rocksdb_options_t *opts;
  rocksdb_writeoptions_t *wopts;
  rocksdb_readoptions_t *ropts;
  uint8_t key[32];
};

vault *vault_open(const char *dir, const uint8_t key[32], char *err, size_t errcap) {
  char path[4096];
  if ((size_t)snprintf(path, sizeof path, "%s/db", dir) >= sizeof path) {
    xt_errf(err, errcap, "data directory path too long");
    return NULL;
  }
  vault *v = calloc(1, sizeof *v);
  if (!v) { xt_errf(err, errcap, "out of memory"); return NULL; }
  memcpy(v->key, key, 32);
  v->opts = rocksdb_options_create();
  rocksdb_options_set_create_if_missing(v->opts, 1);
  rocksdb_options_set_paranoid_checks(v->opts, 1);
  v->wopts = rocksdb_writeoptions_create();
  rocksdb_writeoptions_set_sync(v->wopts, 1);
  v->ropts = rocksdb_readoptions_create();
  char *rerr = NULL;
  v->db = rocksdb_open(v->opts, path, &rerr);
  if (!v->db) {
    xt_errf(err, errcap, "cannot open %s: %s", path, rerr ? rerr : "unknown error");
    free(rerr);
    vault_close(v);
    return NULL;
  }
  return v;
}

void vault_close(vault *v) {
  if (!v) return;
  if (v->db) rocksdb_close(v->db);
  if (v->wopts) rocksdb_writeoptions_destroy(v->wopts);
  if (v->ropts) rocksdb_readoptions_destroy(v->ropts);
  if (v->opts) rocksdb_options_destroy(v->opts);
  OPENSSL_cleanse(v->key, sizeof v->key);
  free(v);
}

static int db_key(const char *pseudonym, char *out, size_t cap) {
  return (size_t)snprintf(out, cap, KEY_PREFIX "%s", pseudonym) < cap ? 0 : -1;
}

int vault_put(vault *v, const char *pseudonym, const char *cookie, size_t len, char *err,
              size_t errcap) {
  char k[128];
  if (db_key(pseudonym, k, sizeof k) || len > COLLECTOR_COOKIE_MAX) {
    xt_errf(err, errcap, "bad credential");
    return -1;
  }
  size_t vlen = 1 + NONCE_LEN + len + TAG_LEN;
  uint8_t *val = malloc(vlen);
  if (!val) { xt_errf(err, errcap, "out of memory"); return -1; }
  val[0] = 1;
  uint8_t *nonce = val + 1, *ct = val + 1 + NONCE_LEN, *tag = ct + len;
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  int outl = 0, finl = 0;
  int ok = c && RAND_bytes(nonce, NONCE_LEN) == 1 &&
           EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
           EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) == 1 &&
           EVP_EncryptInit_ex(c, NULL, NULL, v->key, nonce) == 1 &&
           EVP_EncryptUpdate(c, NULL, &outl, (const uint8_t *)pseudonym, (int)strlen(pseudonym)) == 1 &&
           EVP_EncryptUpdate(c, ct, &outl, (const uint8_t *)cookie, (int)len) == 1 &&
           (size_t)outl == len && EVP_EncryptFinal_ex(c, ct + outl, &finl) == 1 && finl == 0 &&
           EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) == 1;
  EVP_CIPHER_CTX_free(c);
  if (!ok) {
    free(val);
    xt_errf(err, errcap, "encryption failed");
    return -1;
  }
  char *rerr = NULL;
  rocksdb_put(v->db, v->wopts, k, strlen(k), (const char *)val, vlen, &rerr);
  free(val);
  if (rerr) {
    xt_errf(err, errcap, "storage write failed: %s", rerr);
    free(rerr);
    return -1;
  }
  return 0;
}

int vault_get(vault *v, const char *pseudonym, char **cookie, size_t *len, char *err,
              size_t errcap) {
  char k[128];
  if (db_key(pseudonym, k, sizeof k)) { xt_errf(err, errcap, "bad pseudonym"); return -1; }
  char *rerr = NULL;
  size_t vlen = 0;
  char *val = rocksdb_get(v->db, v->ropts, k, strlen(k), &vlen, &rerr);
  if (rerr) {
    xt_errf(err, errcap, "storage read failed: %s", rerr);
    free(rerr);
    return -1;
  }
  if (!val) return 0;
  if (vlen < 1 + NONCE_LEN + TAG_LEN || (uint8_t)val[0] != 1) {
    free(val);
    xt_errf(err, errcap, "stored credential is malformed");
    return -1;
  }
  size_t ctlen = vlen - 1 - NONCE_LEN - TAG_LEN;
  const uint8_t *nonce = (const uint8_t *)val + 1, *ct = nonce + NONCE_LEN, *tag = ct + ctlen;
  char *pt = malloc(ctlen + 1);
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  int outl = 0, finl = 0;
  int ok = pt && c && EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
           EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) == 1 &&
           EVP_DecryptInit_ex(c, NULL, NULL, v->key, nonce) == 1 &&
           EVP_DecryptUpdate(c, NULL, &outl, (const uint8_t *)pseudonym, (int)strlen(pseudonym)) == 1 &&
           EVP_DecryptUpdate(c, (uint8_t *)pt, &outl, ct, (int)ctlen) == 1 &&
           EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG_LEN, (void *)tag) == 1 &&
           EVP_DecryptFinal_ex(c, (uint8_t *)pt + outl, &finl) == 1;
  EVP_CIPHER_CTX_free(c);
  free(val);
  if (!ok) {
    if (pt) vault_free_secret(pt, ctlen + 1);
    xt_errf(err, errcap, "stored credential does not decrypt (wrong key or tampered)");
    return -1;
  }
  pt[ctlen] = 0;
  *cookie = pt;
  *len = ctlen;
  return 1;
}

int vault_has(vault *v, const char *pseudonym, char *err, size_t errcap) {
  char k[128];
  if (db_key(pseudonym, k, sizeof k)) { xt_errf(err, errcap, "bad pseudonym"); return -1; }
  char *rerr = NULL;
  size_t vlen = 0;
  char *val = rocksdb_get(v->db, v->ropts, k, strlen(k), &vlen, &rerr);
  if (rerr) {
    xt_errf(err, errcap, "storage read failed: %s", rerr);
    free(rerr);
    return -1;
  }
  int found = val != NULL;
  free(val);
  return found;
}

int vault_delete(vault *v, const char *pseudonym, char *err, size_t errcap) {
  char k[128];
  if (db_key(pseudonym, k, sizeof k)) { xt_errf(err, errcap, "bad pseudonym"); return -1; }
  char *rerr = NULL;
  rocksdb_delete(v->db, v->wopts, k, strlen(k), &rerr);
  if (rerr) {
    xt_errf(err, errcap, "storage delete failed: %s", rerr);
    free(rerr);
    return -1;
  }
  return 0;
}

long vault_count(vault *v) {
  rocksdb_iterator_t *it = rocksdb_create_iterator(v->db, v->ropts);
  if (!it) return -1;
  long n = 0;
  size_t plen = strlen(KEY_PREFIX);
  for (rocksdb_iter_seek(it, KEY_PREFIX, plen); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
    size_t klen = 0;
    const char *k = rocksdb_iter_key(it, &klen);
    if (klen < plen || memcmp(k, KEY_PREFIX, plen) != 0) break;
    n++;
  }
  char *rerr = NULL;
  rocksdb_iter_get_error(it, &rerr);
  rocksdb_iter_destroy(it);
  if (rerr) { free(rerr); return -1; }
  return n;
}

void vault_free_secret(char *s, size_t len) {
  if (!s) return;
  OPENSSL_cleanse(s, len);
  free(s);
}
