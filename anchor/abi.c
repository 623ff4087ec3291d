#include "anchor/abi.h"

#include <stdlib.h>
#include <string.h>

#include "anchor/keccak.h"

void abi_selector(const char *signature, uint8_t out[4]) {
  uint8_t h[KECCAK256_SIZE];
  keccak256(signature, strlen(signature), h);
  memcpy(out, h, 4);
}

void abi_event_topic(const char *signature, uint8_t out[32]) {
  keccak256(signature, strlen(signature), out);
}

void abi_word_put_uint64(uint8_t w[ABI_WORD], uint64_t v) {
  memset(w, 0, ABI_WORD);
  for (int i = 31; i >= 24; i--, v >>= 8) w[i] = (uint8_t)v;
}

void abi_word_put_address(uint8_t w[ABI_WORD], const uint8_t addr[20]) {
  memset(w, 0, 12);
  memcpy(w + 12, addr, 20);
}

int abi_encode_call(const char *signature, const abi_arg *args, size_t nargs, uint8_t **out,
                    size_t *out_len) {
  /* Head: one word per argument; tail: each dynamic array as length + elements. */
  size_t total = 4;
  if (nargs > SIZE_MAX / ABI_WORD / 4) return -1;
  total += nargs * ABI_WORD;
  for (size_t i = 0; i < nargs; i++) {
    if (args[i].kind != ABI_BYTES32_ARRAY) continue;
    if (args[i].n > (SIZE_MAX - total) / ABI_WORD - 1) return -1;
    total += ABI_WORD * (1 + args[i].n);
  }
  uint8_t *buf = malloc(total);
  if (!buf) return -1;
  abi_selector(signature, buf);
  size_t tail = nargs * ABI_WORD; /* offsets count from the start of the arguments */
  for (size_t i = 0; i < nargs; i++) {
    uint8_t *w = buf + 4 + i * ABI_WORD;
    switch (args[i].kind) {
    case ABI_UINT64:
      abi_word_put_uint64(w, args[i].u);
      break;
    case ABI_BYTES32:
      memcpy(w, args[i].p, ABI_WORD);
      break;
    case ABI_ADDRESS:
      abi_word_put_address(w, args[i].p);
      break;
    case ABI_BYTES32_ARRAY:
      abi_word_put_uint64(w, tail);
      abi_word_put_uint64(buf + 4 + tail, args[i].n);
      if (args[i].n) memcpy(buf + 4 + tail + ABI_WORD, args[i].p, args[i].n * ABI_WORD);
      tail += ABI_WORD * (1 + args[i].n);
      break;
    default:
      free(buf);
      return -1;
    }
  }
  *out = buf;
  *out_len = total;
  return 0;
}

const uint8_t *abi_word(const uint8_t *data, size_t len, size_t i) {
  if (i >= len / ABI_WORD) return NULL;
  return data + i * ABI_WORD;
}

int abi_word_uint64(const uint8_t w[ABI_WORD], uint64_t *out) {
  for (int i = 0; i < 24; i++)
    if (w[i]) return -1;
  uint64_t v = 0;
  for (int i = 24; i < 32; i++) v = v << 8 | w[i];
  *out = v;
  return 0;
}

int abi_word_address(const uint8_t w[ABI_WORD], uint8_t out[20]) {
  for (int i = 0; i < 12; i++)
    if (w[i]) return -1;
  memcpy(out, w + 12, 20);
  return 0;
}
