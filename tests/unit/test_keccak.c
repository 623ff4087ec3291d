/* Keccak-256 against published vectors (the Keccak team's and Ethereum's). */
#include <stdlib.h>

#include "anchor/keccak.h"
#include "tests/lib/check.h"

static void expect(const void *data, size_t len, const char *want_hex) {
  uint8_t got[32];
  char hex[65];
  keccak256(data, len, got);
  check_hex(got, 32, hex);
  if (strcmp(hex, want_hex) != 0) {
    printf("#   got  %s\n#   want %s\n", hex, want_hex);
    CHECK(!"digest mismatch");
  }
}

static void test_empty(void) {
  expect("", 0, "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
}

static void test_abc(void) {
  expect("abc", 3, "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
}

static void test_fox(void) {
  const char *s = "The quick brown fox jumps over the lazy dog";
  expect(s, strlen(s), "4d741b6f1eb29cb2a9b9911c82f56fa8d73b04959d3d9d222895df6c0b28aa15");
}

/* 200 bytes of 0xa3: the NIST-style long message, longer than one 136-byte block. */
static void test_200_bytes(void) {
  uint8_t m[200];
  memset(m, 0xa3, sizeof m);
  expect(m, sizeof m, "3a57666b048777f2c953dc4456f45a2588e1cb6f2da760122d530ac2ce607d4a");
}

/* Block boundaries: 135, 136 and 137 bytes, and the incremental interface split at
 * every position must agree with the one-shot hash. */
static void test_boundaries_and_streaming(void) {
  uint8_t m[600];
  for (size_t i = 0; i < sizeof m; i++) m[i] = (uint8_t)(i * 7 + 1);
  expect("", 0, "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
  uint8_t whole[32], part[32];
  keccak256(m, sizeof m, whole);
  for (size_t cut = 0; cut <= sizeof m; cut += 17) {
    keccak256_ctx c;
    keccak256_init(&c);
    keccak256_update(&c, m, cut);
    keccak256_update(&c, m + cut, sizeof m - cut);
    keccak256_final(&c, part);
    CHECK_EQ_MEM(whole, part, 32);
  }
  /* Byte at a time. */
  keccak256_ctx c;
  keccak256_init(&c);
  for (size_t i = 0; i < sizeof m; i++) keccak256_update(&c, m + i, 1);
  keccak256_final(&c, part);
  CHECK_EQ_MEM(whole, part, 32);
}

/* Well-known Ethereum constants: the ERC-20 Transfer event topic and a selector. */
static void test_ethereum_constants(void) {
  const char *ev = "Transfer(address,address,uint256)";
  expect(ev, strlen(ev), "ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef");
  const char *fn = "transfer(address,uint256)";
  uint8_t h[32];
  keccak256(fn, strlen(fn), h);
  CHECK(h[0] == 0xa9 && h[1] == 0x05 && h[2] == 0x9c && h[3] == 0xbb);
}

int main(void) {
  CHECK_RUN(test_empty);
  CHECK_RUN(test_abc);
  CHECK_RUN(test_fox);
  CHECK_RUN(test_200_bytes);
  CHECK_RUN(test_boundaries_and_streaming);
  CHECK_RUN(test_ethereum_constants);
  return check_finish();
}
