/* EIP-1559 signing, addresses and key files. The fixed vectors were produced by
 * ethers 6.17 (tests/anchor/sign_crosscheck.js repeats the comparison live on many
 * random transactions). */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "anchor/abi.h"
#include "anchor/quantity.h"
#include "anchor/rlp.h"
#include "anchor/tx.h"
#include "tests/lib/check.h"

static const char *KEY1 = "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

static void key1(uint8_t k[32]) { CHECK(check_unhex(KEY1, k, 32, NULL) == 0); }

static void check_signed(const eth_tx *tx, const char *want_raw, const char *want_hash) {
  uint8_t k[32], hash[32];
  key1(k);
  uint8_t *raw = NULL;
  size_t len = 0;
  CHECK_FATAL(eth_tx_sign(tx, k, &raw, &len, hash) == 0);
  char *hex = malloc(2 * len + 1);
  CHECK_FATAL(hex);
  check_hex(raw, len, hex);
  if (strcmp(hex, want_raw) != 0) {
    printf("#   got  %s\n#   want %s\n", hex, want_raw);
    CHECK(!"raw transaction differs from ethers");
  }
  char hh[65];
  check_hex(hash, 32, hh);
  CHECK(strcmp(hh, want_hash) == 0);
  free(hex);
  free(raw);
}

static void test_sign_call(void) {
  eth_tx tx = {0};
  tx.chain_id = 84532;
  tx.nonce = 7;
  tx.max_priority_fee_per_gas = 1000000000;
  tx.max_fee_per_gas = 3000000000;
  tx.gas_limit = 60000;
  tx.has_to = 1;
  CHECK(eth_address_parse("0x5FbDB2315678afecb367f032d93F642f64180aa3", tx.to) == 0);
  static const uint8_t data[] = {0xde, 0xad, 0xbe, 0xef};
  tx.data = data;
  tx.data_len = 4;
  uint8_t sh[32];
  char shh[65];
  CHECK(eth_tx_signing_hash(&tx, sh) == 0);
  check_hex(sh, 32, shh);
  CHECK(strcmp(shh, "5b4b980ed4ba742454e7b44122d5d0128b127c9871be10ff92877e7852701d1f") == 0);
  check_signed(&tx,
               "02f87183014a3407843b9aca0084b2d05e0082ea60945fbdb2315678afecb367f032d93f642f64180aa3"
               "8084deadbeefc080a0ba80f415d37501a2eaca541ffad1a4e8c55b6bebac975106e74a237457cfac39a0"
               "6c3b8e4f947559b116f6d485da5c2bd8ca2784718a00b4558eefdf4aa6cfce28",
               "a13bed79d9692b6a47cccdddf48aaf57d4cd6e7e61a450b29e19bdae131cde45");
}

/* Zero fields encode as empty strings; no `to` is a contract creation. */
static void test_sign_create_zero_fields(void) {
  eth_tx tx = {0};
  tx.chain_id = 8453;
  tx.value[31] = 1;
  check_signed(&tx,
               "02f84e82210580808080800180c080a0f984e9401728c55ca433217de9091cff5b74b54f84a7112ccf917c"
               "8771fafc29a04245fd6df56067787d1f96814cec1c4b610f4b7ceede7b1346e4e32b9ba14846",
               "01bdb1a7613ffcd5fb5ae736f2b5422cb23a932a8aa51a4318cf78642a7ad149");
}

/* The signed form decodes back, strictly, to the fields and a low-s signature. */
static void test_signed_decodes(void) {
  eth_tx tx = {0};
  tx.chain_id = 84532;
  tx.nonce = 300;
  tx.max_fee_per_gas = 1;
  tx.gas_limit = 21000;
  uint8_t k[32], hash[32], *raw;
  size_t len;
  key1(k);
  CHECK_FATAL(eth_tx_sign(&tx, k, &raw, &len, hash) == 0);
  CHECK(raw[0] == 0x02);
  rlp_item list, it;
  CHECK_FATAL(rlp_decode_full(raw + 1, len - 1, &list) == 0 && list.is_list);
  size_t pos = 0, n = 0;
  uint64_t v[12] = {0};
  while (rlp_list_next(&list, &pos, &it) == 1) {
    if (n < 12 && !it.is_list && it.len <= 8) CHECK(rlp_item_uint(&it, &v[n]) == 0);
    if (n == 10 || n == 11) CHECK(it.len <= 32 && it.len > 0);
    n++;
  }
  CHECK(n == 12);
  CHECK(v[0] == 84532 && v[1] == 300 && v[3] == 1 && v[4] == 21000 && v[9] <= 1);
  free(raw);
}

static void test_addresses(void) {
  uint8_t k[32], a[20];
  char s[43];
  CHECK(check_unhex("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80", k, 32, NULL) == 0);
  CHECK(eth_address_from_key(k, a) == 0);
  eth_address_format(a, s);
  CHECK(strcmp(s, "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266") == 0);
  /* The first contract that account deploys (anvil's well-known address). */
  uint8_t c[20];
  eth_create_address(a, 0, c);
  eth_address_format(c, s);
  CHECK(strcmp(s, "0x5FbDB2315678afecb367f032d93F642f64180aa3") == 0);
  /* EIP-55's own examples round-trip; a flipped case is rejected. */
  static const char *eip55[] = {"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
                                "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
                                "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
                                "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb"};
  for (size_t i = 0; i < 4; i++) {
    CHECK(eth_address_parse(eip55[i], a) == 0);
    eth_address_format(a, s);
    CHECK(strcmp(s, eip55[i]) == 0);
  }
  CHECK(eth_address_parse("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", a) == 0);
  CHECK(eth_address_parse("0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED", a) == 0);
  CHECK(eth_address_parse("0x5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", a) == -1);
  CHECK(eth_address_parse("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe", a) == -1);
  CHECK(eth_address_parse("5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", a) == -1);
  CHECK(eth_address_parse("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAedd", a) == -1);
  CHECK(eth_address_parse("0xgaAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", a) == -1);
}

static void test_key_parsing(void) {
  uint8_t k[32], want[32];
  char err[200];
  key1(want);
  char buf[100];
  snprintf(buf, sizeof buf, "%s", KEY1);
  CHECK(eth_key_parse(buf, strlen(buf), k, err, sizeof err) == 0 && memcmp(k, want, 32) == 0);
  snprintf(buf, sizeof buf, "0x%s\n", KEY1);
  CHECK(eth_key_parse(buf, strlen(buf), k, err, sizeof err) == 0 && memcmp(k, want, 32) == 0);
  snprintf(buf, sizeof buf, "%s\r\n", KEY1);
  CHECK(eth_key_parse(buf, strlen(buf), k, err, sizeof err) == 0);
  snprintf(buf, sizeof buf, "%s\n\n", KEY1);
  CHECK(eth_key_parse(buf, strlen(buf), k, err, sizeof err) == -1);
  snprintf(buf, sizeof buf, " %s", KEY1);
  CHECK(eth_key_parse(buf, strlen(buf), k, err, sizeof err) == -1);
  snprintf(buf, sizeof buf, "%.63s", KEY1);
  CHECK(eth_key_parse(buf, strlen(buf), k, err, sizeof err) == -1);
  snprintf(buf, sizeof buf, "%.63sg", KEY1);
  CHECK(eth_key_parse(buf, strlen(buf), k, err, sizeof err) == -1);
  snprintf(buf, sizeof buf, "%064d", 0);
  CHECK(eth_key_parse(buf, strlen(buf), k, err, sizeof err) == -1);
  /* The group order n itself is not a key. */
  const char *n = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";
  CHECK(eth_key_parse(n, strlen(n), k, err, sizeof err) == -1);
  CHECK(strstr(err, "secp256k1") != NULL);
  /* Files. */
  char path[] = "/tmp/xt-key-XXXXXX";
  int fd = mkstemp(path);
  CHECK_FATAL(fd >= 0);
  snprintf(buf, sizeof buf, "0x%s\n", KEY1);
  CHECK(write(fd, buf, strlen(buf)) == (ssize_t)strlen(buf));
  close(fd);
  CHECK(eth_key_read_file(path, k, err, sizeof err) == 0 && memcmp(k, want, 32) == 0);
  fd = open(path, O_WRONLY | O_APPEND);
  CHECK(write(fd, "junkjunkjunkjunk", 16) == 16);
  close(fd);
  /* 83 bytes: over the 80-byte bound of a key file, refused with the length message. */
  CHECK(eth_key_read_file(path, k, err, sizeof err) == -1);
  CHECK(strstr(err, path) != NULL && strstr(err, "64 hex digits") != NULL);
  /* 69 bytes: read whole, then refused by the parser with the same message. */
  fd = open(path, O_WRONLY | O_TRUNC);
  snprintf(buf, sizeof buf, "0x%s\njj", KEY1);
  CHECK(write(fd, buf, strlen(buf)) == (ssize_t)strlen(buf));
  close(fd);
  CHECK(eth_key_read_file(path, k, err, sizeof err) == -1);
  CHECK(strstr(err, path) != NULL && strstr(err, "64 hex digits") != NULL);
  unlink(path);
  CHECK(eth_key_read_file(path, k, err, sizeof err) == -1 && strstr(err, path) != NULL);
}

static void test_abi_encoding(void) {
  uint8_t id[32], root[32], ck[32], proof[2 * 32];
  memset(id, 0x11, 32);
  memset(root, 0x22, 32);
  memset(ck, 0x33, 32);
  memset(proof, 0x44, 64);
  abi_arg args[] = {
      {ABI_BYTES32, 0, id, 0},      {ABI_UINT64, 1000, NULL, 0},     {ABI_BYTES32, 0, root, 0},
      {ABI_BYTES32, 0, ck, 0},      {ABI_BYTES32_ARRAY, 0, proof, 2},
  };
  uint8_t *out;
  size_t len;
  CHECK_FATAL(abi_encode_call("anchor(bytes32,uint64,bytes32,bytes32,bytes32[])", args, 5, &out, &len) == 0);
  CHECK(len == 4 + 32 * 5 + 32 + 64);
  uint64_t v;
  CHECK(abi_word_uint64(out + 4 + 32, &v) == 0 && v == 1000);
  CHECK(abi_word_uint64(out + 4 + 4 * 32, &v) == 0 && v == 160); /* offset of the array */
  CHECK(abi_word_uint64(out + 4 + 5 * 32, &v) == 0 && v == 2);
  CHECK(out[4 + 6 * 32] == 0x44 && out[len - 1] == 0x44);
  free(out);
  uint8_t sel[4];
  abi_selector("head(bytes32)", sel);
  uint8_t w[32] = {0};
  w[0] = 1;
  CHECK(abi_word_uint64(w, &v) == -1);
  uint8_t addr[20];
  CHECK(abi_word_address(w, addr) == -1);
  CHECK(abi_word(w, 31, 0) == NULL && abi_word(w, 63, 1) == NULL && abi_word(w, 32, 0) == w);
}

static void test_error_names(void) {
  CHECK(strcmp(eth_tx_err_str(ETH_TX_OK), "ok") == 0);
  CHECK(strcmp(eth_tx_err_str(ETH_TX_EINVAL), eth_tx_err_str(ETH_TX_ENOMEM)) != 0);
  CHECK(strcmp(eth_tx_err_str(ETH_TX_EINVAL), "unknown error") != 0 &&
        strcmp(eth_tx_err_str(ETH_TX_ENOMEM), "unknown error") != 0);
  CHECK(strcmp(eth_tx_err_str(1), "unknown error") == 0);
}

static void test_hex_quantities(void) {
  uint64_t v;
  CHECK(hex_parse_quantity("0x0", &v) == 0 && v == 0);
  CHECK(hex_parse_quantity("0x14a34", &v) == 0 && v == 84532);
  CHECK(hex_parse_quantity("0xffffffffffffffff", &v) == 0 && v == UINT64_MAX);
  CHECK(hex_parse_quantity("0x10000000000000000", &v) == -1);
  CHECK(hex_parse_quantity("0x", &v) == -1);
  CHECK(hex_parse_quantity("0x01", &v) == -1);
  CHECK(hex_parse_quantity("14a34", &v) == -1);
  CHECK(hex_parse_quantity("0x1g", &v) == -1);
  char q[19];
  hex_format_quantity(0, q);
  CHECK(strcmp(q, "0x0") == 0);
  hex_format_quantity(84532, q);
  CHECK(strcmp(q, "0x14a34") == 0);
  hex_format_quantity(UINT64_MAX, q);
  CHECK(strcmp(q, "0xffffffffffffffff") == 0);
}

int main(void) {
  CHECK_RUN(test_sign_call);
  CHECK_RUN(test_sign_create_zero_fields);
  CHECK_RUN(test_signed_decodes);
  CHECK_RUN(test_addresses);
  CHECK_RUN(test_key_parsing);
  CHECK_RUN(test_abi_encoding);
  CHECK_RUN(test_hex_quantities);
  CHECK_RUN(test_error_names);
  return check_finish();
}
