/* keys.h: the collector's secrets and what it does with them.
 * Private to collector/ (and its tests): the collector is a program, not a library.
 *
 * Three independent 32-byte keys: the cookie-encryption key (AES-256-GCM), the
 * pseudonym key (HMAC-SHA256 of usernames) and the Ed25519 seed that signs user-count
 * statements. With --dev they are generated once into DIR/dev-keys and reused; in
 * enclave mode they come from dstack's GetKey with distinct paths and never touch disk. */
#ifndef XT_COLLECTOR_KEYS_H
#define XT_COLLECTOR_KEYS_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint8_t cookie_key[32];
  uint8_t pseudonym_key[32];
  uint8_t signing_seed[32];
  uint8_t signing_pub[32];
} collector_keys;

/* GetKey paths used in enclave mode; distinct so no key can stand in for another. */
#define COLLECTOR_KEY_PATH_COOKIE "xordi-tlog/collector/cookie-aes256gcm/v1"
#define COLLECTOR_KEY_PATH_PSEUDONYM "xordi-tlog/collector/pseudonym-hmac/v1"
#define COLLECTOR_KEY_PATH_SIGNING "xordi-tlog/collector/user-count-ed25519/v1"

/* Loads DIR/dev-keys, creating it (mode 0600) on first use. 0 or -1 with err set. */
int keys_load_dev(const char *dir, collector_keys *k, char *err, size_t errcap);
struct dstack_client;
/* Enclave mode: the three keys from dstack's GetKey (distinct paths). 0 or -1. */
int keys_load_dstack(struct dstack_client *dc, collector_keys *k, char *err, size_t errcap);
/* Fills signing_pub from signing_seed. */
int keys_derive_public(collector_keys *k, char *err, size_t errcap);
/* The username as pseudonyms see it: ASCII upper case folded to lower case (TikTok
 * names are case-insensitive; validated names hold only [A-Za-z0-9_.]). Writes len
 * bytes and a NUL into out. Returns 0, or -1 when len + 1 > cap (nothing usable). */
int keys_normalize_username(const char *username, size_t len, char *out, size_t cap)
    __attribute__((warn_unused_result));
/* Pseudonym: lower-case hex HMAC-SHA256(pseudonym_key, normalized username), so every
 * spelling of one account is one user. username: len bytes, len <= COLLECTOR_USERNAME_MAX.
 * Returns 0 and fills out, or -1 (too long, or HMAC failed; out untouched). */
int keys_pseudonym(const collector_keys *k, const char *username, size_t len, char out[65])
    __attribute__((warn_unused_result));
/* Ed25519 signature over msg with the signing key. */
int keys_sign(const collector_keys *k, const uint8_t *msg, size_t len, uint8_t sig[64]);
/* Wipes the secrets. */
void keys_wipe(collector_keys *k);

#endif
