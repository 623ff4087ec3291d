/* vault.h: encrypted credential storage in the collector's own RocksDB.
 * Private to collector/ (and its tests): the collector is a program, not a library.
 *
 * Keyed by pseudonym ("cred/<hex>"), so usernames are never on disk. A value is
 * 0x01 || 12-byte random nonce || AES-256-GCM ciphertext || 16-byte tag, with the
 * pseudonym as additional data so a ciphertext cannot be moved to another user.
 * Every write is synced before it returns. */
#ifndef XT_COLLECTOR_VAULT_H
#define XT_COLLECTOR_VAULT_H

#include <stddef.h>
#include <stdint.h>

typedef struct vault vault;

vault *vault_open(const char *dir, const uint8_t key[32], char *err, size_t errcap);
void vault_close(vault *v);
int vault_put(vault *v, const char *pseudonym, const char *cookie, size_t len, char *err,
              size_t errcap);
/* 1 found (*cookie malloc'd, NUL-terminated; free with vault_free_secret), 0 none, -1 error. */
int vault_get(vault *v, const char *pseudonym, char **cookie, size_t *len, char *err,
              size_t errcap);
/* 1 found, 0 none, -1 error. */
int vault_has(vault *v, const char *pseudonym, char *err, size_t errcap);
int vault_delete(vault *v, const char *pseudonym, char *err, size_t errcap);
/* Number of stored credentials, or -1. */
long vault_count(vault *v);
void vault_free_secret(char *s, size_t len);

#endif
