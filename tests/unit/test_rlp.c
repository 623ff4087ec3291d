/* RLP: the examples from the Ethereum wiki / Yellow Paper, and strict decoding. */
#include <stdlib.h>

#include "anchor/rlp.h"
#include "tests/lib/check.h"

static int same_hex(const rlp_buf *b, const char *want) {
  char got[512];
  if (b->failed || b->len * 2 + 1 > sizeof got) return 0;
  check_hex(b->data, b->len, got);
  if (strcmp(got, want) != 0) {
    printf("#   got  %s\n#   want %s\n", got, want);
    return 0;
  }
  return 1;
}

static void test_strings(void) {
  rlp_buf b;
  rlp_buf_init(&b);
  rlp_put_bytes(&b, (const uint8_t *)"dog", 3);
  CHECK(same_hex(&b, "83646f67"));
  b.len = 0;
  rlp_put_bytes(&b, NULL, 0);
  CHECK(same_hex(&b, "80"));
  b.len = 0;
  rlp_put_bytes(&b, (const uint8_t *)"\x00", 1);
  CHECK(same_hex(&b, "00"));
  b.len = 0;
  rlp_put_bytes(&b, (const uint8_t *)"\x7f", 1);
  CHECK(same_hex(&b, "7f"));
  b.len = 0;
  rlp_put_bytes(&b, (const uint8_t *)"\x80", 1);
  CHECK(same_hex(&b, "8180"));
  b.len = 0;
  const char *lorem = "Lorem ipsum dolor sit amet, consectetur adipisicing elit";
  rlp_put_bytes(&b, (const uint8_t *)lorem, strlen(lorem));
  CHECK(same_hex(&b, "b8384c6f72656d20697073756d20646f6c6f722073697420616d65742c20636f6e7365637465747572"
                     "206164697069736963696e6720656c6974"));
  rlp_buf_free(&b);
}

static void test_integers(void) {
  static const struct { uint64_t v; const char *hex; } cases[] = {
      {0, "80"}, {1, "01"}, {15, "0f"}, {127, "7f"}, {128, "8180"}, {1024, "820400"},
      {0xffffffffffffffffULL, "88ffffffffffffffff"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    rlp_buf b;
    rlp_buf_init(&b);
    rlp_put_uint(&b, cases[i].v);
    CHECK(same_hex(&b, cases[i].hex));
    rlp_item it;
    uint64_t back = 12345;
    CHECK(rlp_decode_full(b.data, b.len, &it) == 0);
    CHECK(rlp_item_uint(&it, &back) == 0 && back == cases[i].v);
    rlp_buf_free(&b);
  }
  /* 256-bit big-endian input with leading zeros. */
  uint8_t be[32] = {0};
  be[30] = 0x04;
  rlp_buf b;
  rlp_buf_init(&b);
  rlp_put_uint_be(&b, be, 32);
  CHECK(same_hex(&b, "820400"));
  rlp_buf_free(&b);
}

static void test_lists(void) {
  rlp_buf b;
  rlp_buf_init(&b);
  size_t l = rlp_list_begin(&b);
  rlp_put_bytes(&b, (const uint8_t *)"cat", 3);
  rlp_put_bytes(&b, (const uint8_t *)"dog", 3);
  rlp_list_end(&b, l);
  CHECK(same_hex(&b, "c88363617483646f67"));
  b.len = 0;
  l = rlp_list_begin(&b);
  rlp_list_end(&b, l);
  CHECK(same_hex(&b, "c0"));
  /* The set-theoretical representation of three: [ [], [[]], [ [], [[]] ] ]. */
  b.len = 0;
  size_t l0 = rlp_list_begin(&b);
  size_t a = rlp_list_begin(&b);
  rlp_list_end(&b, a);
  size_t bb = rlp_list_begin(&b);
  size_t bc = rlp_list_begin(&b);
  rlp_list_end(&b, bc);
  rlp_list_end(&b, bb);
  size_t c = rlp_list_begin(&b);
  size_t c1 = rlp_list_begin(&b);
  rlp_list_end(&b, c1);
  size_t c2 = rlp_list_begin(&b);
  size_t c3 = rlp_list_begin(&b);
  rlp_list_end(&b, c3);
  rlp_list_end(&b, c2);
  rlp_list_end(&b, c);
  rlp_list_end(&b, l0);
  CHECK(same_hex(&b, "c7c0c1c0c3c0c1c0"));
  /* A list longer than 55 bytes takes the long form. */
  b.len = 0;
  l = rlp_list_begin(&b);
  for (int i = 0; i < 20; i++) rlp_put_bytes(&b, (const uint8_t *)"dog", 3);
  rlp_list_end(&b, l);
  CHECK(b.len == 82 && b.data[0] == 0xf8 && b.data[1] == 80);
  rlp_item it, e;
  CHECK(rlp_decode_full(b.data, b.len, &it) == 0 && it.is_list);
  size_t pos = 0;
  int n = 0, r;
  while ((r = rlp_list_next(&it, &pos, &e)) == 1) {
    CHECK(!e.is_list && e.len == 3 && memcmp(e.payload, "dog", 3) == 0);
    n++;
  }
  CHECK(r == 0 && n == 20);
  rlp_buf_free(&b);
}

static int decodes(const char *hex) {
  uint8_t in[128];
  size_t n;
  if (check_unhex(hex, in, sizeof in, &n)) return -2;
  rlp_item it;
  return rlp_decode_full(n ? in : (uint8_t *)"", n, &it);
}

static void test_strict_decoding(void) {
  CHECK(decodes("83646f67") == 0);
  CHECK(decodes("c88363617483646f67") == 0);
  CHECK(decodes("") == -1);            /* nothing */
  CHECK(decodes("83646f") == -1);      /* truncated string */
  CHECK(decodes("83646f6767") == -1);  /* trailing byte */
  CHECK(decodes("8100") == -1);        /* single byte < 0x80 wrapped */
  CHECK(decodes("817f") == -1);
  CHECK(decodes("b80100") == -1);      /* long form for a short string */
  CHECK(decodes("b90038") == -1);      /* length with a leading zero */
  CHECK(decodes("f800") == -1);        /* long-form empty list */
  CHECK(decodes("c983636174") == -1);  /* list longer than the input */
  CHECK(decodes("bf") == -1);          /* length of length past the end */
  CHECK(decodes("c2c1") == -1);        /* inner item past the outer end */
  /* Integers must have no leading zero bytes and at most 8 bytes. */
  uint8_t in[16];
  size_t n;
  rlp_item it;
  uint64_t v;
  check_unhex("820004", in, sizeof in, &n);
  CHECK(rlp_decode_full(in, n, &it) == 0 && rlp_item_uint(&it, &v) == -1);
  check_unhex("89010000000000000000", in, sizeof in, &n);
  CHECK(rlp_decode_full(in, n, &it) == 0 && rlp_item_uint(&it, &v) == -1);
  check_unhex("c0", in, sizeof in, &n);
  CHECK(rlp_decode_full(in, n, &it) == 0 && rlp_item_uint(&it, &v) == -1);
}

static void test_nested_list_iteration_rejects_bad_inner(void) {
  uint8_t in[4];
  size_t n;
  check_unhex("c1c1", in, sizeof in, &n); /* a list holding a truncated list */
  rlp_item it, e;
  size_t pos = 0;
  CHECK_FATAL(rlp_decode_full(in, n, &it) == 0);
  CHECK(rlp_list_next(&it, &pos, &e) == -1);
}

/* Re-encodes a decoded item; -1 if a nested element fails to decode. */
static int reencode(const rlp_item *it, rlp_buf *out, int depth) {
  if (!it->is_list) {
    rlp_put_bytes(out, it->payload, it->len);
    return 0;
  }
  if (depth > 64) return -1;
  size_t mark = rlp_list_begin(out), pos = 0;
  rlp_item child;
  int r;
  while ((r = rlp_list_next(it, &pos, &child)) == 1)
    if (reencode(&child, out, depth + 1)) return -1;
  if (r < 0) return -1;
  rlp_list_end(out, mark);
  return 0;
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint32_t next_rand(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t)(rng >> 11);
}

static void random_item(rlp_buf *b, int depth) {
  uint32_t k = next_rand() % 10;
  if (depth < 4 && k < 3) {
    size_t mark = rlp_list_begin(b);
    unsigned n = next_rand() % 5;
    for (unsigned i = 0; i < n; i++) random_item(b, depth + 1);
    rlp_list_end(b, mark);
    return;
  }
  uint8_t data[80];
  size_t n = k < 6 ? next_rand() % 3 : next_rand() % sizeof data;
  for (size_t i = 0; i < n; i++) data[i] = (uint8_t)(k < 5 ? next_rand() % 0x90 : next_rand());
  rlp_put_bytes(b, data, n);
}

/* Property: whatever decodes in full is the one canonical encoding of its value, so
 * re-encoding it gives back exactly the input. Checked on random structures and on
 * single-byte mutations of them (most of which must be rejected, never crash). */
static void test_canonical_property(void) {
  unsigned decoded_mutants = 0, rejected_mutants = 0;
  for (int round = 0; round < 20000; round++) {
    rlp_buf b, again;
    rlp_buf_init(&b);
    random_item(&b, 0);
    CHECK_FATAL(!rlp_buf_error(&b));
    rlp_item it;
    CHECK_FATAL(rlp_decode_full(b.data, b.len, &it) == 0);
    rlp_buf_init(&again);
    CHECK(reencode(&it, &again, 0) == 0 && again.len == b.len && !memcmp(again.data, b.data, b.len));
    rlp_buf_free(&again);
    /* Mutate one byte, or cut the input short. */
    size_t len = b.len;
    if (next_rand() % 4 == 0 && len > 1)
      len = next_rand() % len;
    else if (b.len > 0) /* always: an encoded item has at least one byte */
      b.data[next_rand() % b.len] ^= (uint8_t)(1u << (next_rand() % 8));
    if (rlp_decode_full(b.data, len, &it) == 0) {
      rlp_buf_init(&again);
      if (reencode(&it, &again, 0) == 0) {
        decoded_mutants++;
        CHECK(again.len == len && !memcmp(again.data, b.data, len));
      } else {
        rejected_mutants++;
      }
      rlp_buf_free(&again);
    } else {
      rejected_mutants++;
    }
    rlp_buf_free(&b);
  }
  printf("# mutants: %u decoded (each canonical), %u rejected\n", decoded_mutants, rejected_mutants);
  CHECK(rejected_mutants > 1000 && decoded_mutants > 100);
}

int main(void) {
  CHECK_RUN(test_strings);
  CHECK_RUN(test_integers);
  CHECK_RUN(test_lists);
  CHECK_RUN(test_strict_decoding);
  CHECK_RUN(test_nested_list_iteration_rejects_bad_inner);
  CHECK_RUN(test_canonical_property);
  return check_finish();
}
