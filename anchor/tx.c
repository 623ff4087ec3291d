#include "anchor/tx.h"

#include <fcntl.h>
#include <pthread.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "anchor/keccak.h"
#include "anchor/rlp.h"
#include "base/err.h"
#include "base/file.h"
#include "base/hex.h"

/* One signing context for the process, created on first use. Signing never changes
 * it, so threads may share it. */
static secp256k1_context *ctx;
static pthread_once_t ctx_once = PTHREAD_ONCE_INIT;

static void ctx_create(void) {
  ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
  if (!ctx) return;
  /* Blinding against side channels; seed from the kernel, skip if unavailable. */
  uint8_t seed[32];
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    if (read(fd, seed, sizeof seed) == (ssize_t)sizeof seed &&
        !secp256k1_context_randomize(ctx, seed)) {
      /* Cannot fail with a valid seed; without blinding signing is still correct. */
    }
    close(fd);
  }
  memset(seed, 0, sizeof seed);
}

static secp256k1_context *get_ctx(void) {
  pthread_once(&ctx_once, ctx_create);
  return ctx;
}

const char *eth_tx_err_str(int e) {
  switch (e) {
  case ETH_TX_OK: return "ok";
  case ETH_TX_EINVAL: return "invalid key, address or key file";
  case ETH_TX_ENOMEM: return "out of memory";
  default: return "unknown error";
  }
}

static void put_unsigned_fields(rlp_buf *b, const eth_tx *tx) {
  rlp_put_uint(b, tx->chain_id);
  rlp_put_uint(b, tx->nonce);
  rlp_put_uint(b, tx->max_priority_fee_per_gas);
  rlp_put_uint(b, tx->max_fee_per_gas);
  rlp_put_uint(b, tx->gas_limit);
  if (tx->has_to)
    rlp_put_bytes(b, tx->to, ETH_ADDRESS_SIZE);
  else
    rlp_put_bytes(b, NULL, 0);
  rlp_put_uint_be(b, tx->value, 32);
  rlp_put_bytes(b, tx->data, tx->data_len);
  size_t al = rlp_list_begin(b); /* empty access list */
  rlp_list_end(b, al);
}

eth_tx_err eth_tx_signing_hash(const eth_tx *tx, uint8_t out[32]) {
  static const uint8_t type2 = 0x02;
  rlp_buf b;
  rlp_buf_init(&b);
  rlp_put_raw(&b, &type2, 1);
  size_t l = rlp_list_begin(&b);
  put_unsigned_fields(&b, tx);
  rlp_list_end(&b, l);
  if (rlp_buf_error(&b)) {
    rlp_buf_free(&b);
    return ETH_TX_ENOMEM;
  }
  keccak256(b.data, b.len, out);
  rlp_buf_free(&b);
  return ETH_TX_OK;
}

eth_tx_err eth_tx_sign(const eth_tx *tx, const uint8_t key[ETH_KEY_SIZE], uint8_t **raw, size_t *raw_len,
                uint8_t hash[32]) {
  secp256k1_context *c = get_ctx();
  if (!c) return ETH_TX_ENOMEM;
  uint8_t msg[32];
  eth_tx_err rc = eth_tx_signing_hash(tx, msg);
  if (rc != ETH_TX_OK) return rc;
  secp256k1_ecdsa_recoverable_signature sig;
  if (!secp256k1_ecdsa_sign_recoverable(c, &sig, msg, key, NULL, NULL)) return ETH_TX_EINVAL;
  uint8_t rs[64];
  int recid;
  secp256k1_ecdsa_recoverable_signature_serialize_compact(c, rs, &recid, &sig);

  static const uint8_t type2 = 0x02;
  rlp_buf b;
  rlp_buf_init(&b);
  rlp_put_raw(&b, &type2, 1);
  size_t l = rlp_list_begin(&b);
  put_unsigned_fields(&b, tx);
  rlp_put_uint(&b, (uint64_t)recid); /* y parity: 0 or 1 */
  rlp_put_uint_be(&b, rs, 32);
  rlp_put_uint_be(&b, rs + 32, 32);
  rlp_list_end(&b, l);
  if (rlp_buf_error(&b)) {
    rlp_buf_free(&b);
    return ETH_TX_ENOMEM;
  }
  keccak256(b.data, b.len, hash);
  *raw = b.data; /* ownership passes to the caller */
  *raw_len = b.len;
  return ETH_TX_OK;
}

eth_tx_err eth_address_from_key(const uint8_t key[ETH_KEY_SIZE], uint8_t addr[ETH_ADDRESS_SIZE]) {
  secp256k1_context *c = get_ctx();
  secp256k1_pubkey pub;
  if (!c) return ETH_TX_ENOMEM;
  if (!secp256k1_ec_pubkey_create(c, &pub, key)) return ETH_TX_EINVAL;
  uint8_t ser[65];
  size_t n = sizeof ser;
  secp256k1_ec_pubkey_serialize(c, ser, &n, &pub, SECP256K1_EC_UNCOMPRESSED);
  uint8_t h[32];
  keccak256(ser + 1, 64, h); /* without the 0x04 prefix */
  memcpy(addr, h + 12, ETH_ADDRESS_SIZE);
  return ETH_TX_OK;
}

void eth_create_address(const uint8_t sender[ETH_ADDRESS_SIZE], uint64_t nonce,
                        uint8_t out[ETH_ADDRESS_SIZE]) {
  /* At most 1 + 21 + 9 bytes: no allocation can fail in practice, but check anyway. */
  rlp_buf b;
  rlp_buf_init(&b);
  size_t l = rlp_list_begin(&b);
  rlp_put_bytes(&b, sender, ETH_ADDRESS_SIZE);
  rlp_put_uint(&b, nonce);
  rlp_list_end(&b, l);
  uint8_t h[32];
  if (rlp_buf_error(&b)) {
    memset(out, 0, ETH_ADDRESS_SIZE);
  } else {
    keccak256(b.data, b.len, h);
    memcpy(out, h + 12, ETH_ADDRESS_SIZE);
  }
  rlp_buf_free(&b);
}

void eth_address_format(const uint8_t addr[ETH_ADDRESS_SIZE], char out[43]) {
  char lower[41];
  xt_hex_encode(addr, ETH_ADDRESS_SIZE, lower);
  uint8_t h[32];
  keccak256(lower, 40, h);
  out[0] = '0';
  out[1] = 'x';
  for (int i = 0; i < 40; i++) {
    int nib = (h[i / 2] >> (i % 2 ? 0 : 4)) & 15;
    char ch = lower[i];
    out[2 + i] = (ch >= 'a' && nib >= 8) ? (char)(ch - 'a' + 'A') : ch;
  }
  out[42] = 0;
}

eth_tx_err eth_address_parse(const char *s, uint8_t addr[ETH_ADDRESS_SIZE]) {
  if (!s || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') || strlen(s) != 42) return ETH_TX_EINVAL;
  if (xt_hex_decode_exact(s + 2, 0, addr, ETH_ADDRESS_SIZE) != XT_OK) return ETH_TX_EINVAL;
  int upper = 0, lower = 0;
  for (int i = 2; i < 42; i++) {
    if (s[i] >= 'a' && s[i] <= 'f') lower = 1;
    if (s[i] >= 'A' && s[i] <= 'F') upper = 1;
  }
  if (upper && lower) {
    char want[43];
    eth_address_format(addr, want);
    if (memcmp(want + 2, s + 2, 40) != 0) return ETH_TX_EINVAL;
  }
  return ETH_TX_OK;
}

eth_tx_err eth_key_parse(const char *text, size_t len, uint8_t key[ETH_KEY_SIZE], char *err, size_t errcap) {
  if (len && text[len - 1] == '\n') len--;
  if (len && text[len - 1] == '\r') len--;
  if (len >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    text += 2;
    len -= 2;
  }
  if (len != 64) {
    memset(key, 0, ETH_KEY_SIZE);
    xt_errf(err, errcap, "%s", "key must be 64 hex digits (optional 0x, optional newline)");
    return ETH_TX_EINVAL;
  }
  if (xt_hex_decode(text, 64, 0, key, ETH_KEY_SIZE, NULL) != XT_OK) {
    memset(key, 0, ETH_KEY_SIZE);
    xt_errf(err, errcap, "%s", "key contains a character that is not a hex digit");
    return ETH_TX_EINVAL;
  }
  secp256k1_context *c = get_ctx();
  if (!c || !secp256k1_ec_seckey_verify(c, key)) {
    memset(key, 0, ETH_KEY_SIZE);
    xt_errf(err, errcap, "%s", "key is not a valid secp256k1 private key (zero or >= group order)");
    return ETH_TX_EINVAL;
  }
  return ETH_TX_OK;
}

/* A key file is at most 2 + 64 + 2 bytes; anything longer than 80 is not a key and gets
 * the length message eth_key_parse would give. */
#define KEY_FILE_MAX 80

eth_tx_err eth_key_read_file(const char *path, uint8_t key[ETH_KEY_SIZE], char *err, size_t errcap) {
  uint8_t *buf = NULL;
  size_t n = 0;
  xt_err e = xt_file_read(path, KEY_FILE_MAX, &buf, &n, err, errcap);
  if (e == XT_ETOOBIG)
    xt_errf(err, errcap, "%s: key must be 64 hex digits (optional 0x, optional newline)", path);
  if (e != XT_OK) return e == XT_ENOMEM ? ETH_TX_ENOMEM : ETH_TX_EINVAL;
  char msg[160];
  eth_tx_err rc = eth_key_parse((const char *)buf, n, key, msg, sizeof msg);
  explicit_bzero(buf, n);
  free(buf);
  if (rc) xt_errf(err, errcap, "%s: %s", path, msg);
  return rc;
}
