/* Tests of merkle/merkle.h: RFC 9162 hashing, proofs and their verification.
 *
 * Independent references:
 * - RFC 6962 test data, as published in the reference implementations'
 *   test suites (certificate-transparency / trillian, merkle tree tests): the eight
 *   leaves "", 00, 10, 2021, 3031, 40414243, 5051525354555657,
 *   606162636465666768696a6b6c6d6e6f, their roots for sizes 1..8, and the
 *   inclusion / consistency paths used by trillian's log verifier tests.
 * - tests/data/merkle/vectors-1000.json, computed with Go's
 *   golang.org/x/mod/sumdb/tlog for leaves "leaf-0" .. "leaf-999". */
#include <jansson.h>
#include <stdlib.h>

#include "merkle/merkle.h"
#include "tests/lib/check.h"

typedef uint8_t hash_t[MERKLE_HASH_SIZE];

static void unhex32(const char *hex, uint8_t out[32]) {
  size_t n = 0;
  if (check_unhex(hex, out, 32, &n) != 0 || n != 32) {
    check_fail(__FILE__, __LINE__, "bad hex in test vector");
    memset(out, 0, 32);
  }
}

/* ---- an in-memory node store: every level of a tree of up to `cap` leaves ---- */

typedef struct mem_tree {
  uint64_t size;
  unsigned levels;
  hash_t *level[64];
  uint64_t count[64];
  int fail_reads; /* when set, the reader reports failure */
} mem_tree;

static void mem_sink(void *ctx, unsigned level, uint64_t index, const uint8_t hash[32]) {
  mem_tree *t = ctx;
  if (level >= 64 || !t->level[level]) return;
  memcpy(t->level[level][index], hash, 32);
  if (index + 1 > t->count[level]) t->count[level] = index + 1;
}

static int mem_reader(void *ctx, unsigned level, uint64_t index, uint64_t count, hash_t *out) {
  mem_tree *t = ctx;
  if (t->fail_reads) return -1;
  if (level >= 64 || !t->level[level] || index + count > t->count[level]) return -1;
  memcpy(out, t->level[level][index], count * 32);
  return 0;
}

static mem_tree *mem_tree_new(uint64_t cap) {
  mem_tree *t = calloc(1, sizeof *t);
  for (unsigned l = 0; l < 64 && (cap >> l) > 0; l++) t->level[l] = calloc(cap >> l, 32);
  return t;
}

static void mem_tree_free(mem_tree *t) {
  for (unsigned l = 0; l < 64; l++) free(t->level[l]);
  free(t);
}

/* ---- RFC 6962 reference data ---- */

static const char *ct_leaves_hex[8] = {
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f"};
static const char *ct_roots_hex[9] = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};

static mem_tree *ct_tree(merkle_tree *compact) {
  mem_tree *t = mem_tree_new(8);
  merkle_tree_init(compact);
  for (int i = 0; i < 8; i++) {
    uint8_t data[16];
    size_t n = 0;
    check_unhex(ct_leaves_hex[i], data, sizeof data, &n);
    hash_t h;
    merkle_leaf_hash(data, n, h);
    CHECK(merkle_tree_append(compact, h, mem_sink, t) == MERKLE_OK);
  }
  t->size = 8;
  return t;
}

static void test_rfc6962_roots(void) {
  merkle_tree compact;
  mem_tree *t = ct_tree(&compact);
  for (uint64_t n = 0; n <= 8; n++) {
    hash_t want, got;
    unhex32(ct_roots_hex[n], want);
    CHECK(merkle_root_at(n, mem_reader, t, got) == MERKLE_OK);
    CHECK_EQ_MEM(got, want, 32);
  }
  hash_t root, want;
  merkle_tree_root(&compact, root);
  unhex32(ct_roots_hex[8], want);
  CHECK_EQ_MEM(root, want, 32);
  merkle_tree empty;
  merkle_tree_init(&empty);
  merkle_tree_root(&empty, root);
  unhex32(ct_roots_hex[0], want);
  CHECK_EQ_MEM(root, want, 32);
  mem_tree_free(t);
}

typedef struct proof_vector {
  uint64_t a, b; /* inclusion: index, size; consistency: old, new */
  int n;
  const char *hex[4];
} proof_vector;

static void test_rfc6962_proofs(void) {
  merkle_tree compact;
  mem_tree *t = ct_tree(&compact);
  static const proof_vector inclusion[] = {
      {0, 8, 3, {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                 "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                 "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
      {5, 8, 3, {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                 "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                 "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
      {2, 3, 1, {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}},
      {1, 5, 3, {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                 "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                 "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
  };
  for (size_t v = 0; v < sizeof inclusion / sizeof *inclusion; v++) {
    hash_t proof[MERKLE_MAX_PROOF], want[4], root, leaf;
    size_t len = 0;
    CHECK(merkle_inclusion_proof(inclusion[v].a, inclusion[v].b, mem_reader, t, proof, MERKLE_MAX_PROOF, &len) == MERKLE_OK);
    CHECK(len == (size_t)inclusion[v].n);
    for (int i = 0; i < inclusion[v].n; i++) {
      unhex32(inclusion[v].hex[i], want[i]);
      CHECK_EQ_MEM(proof[i], want[i], 32);
    }
    unhex32(ct_roots_hex[inclusion[v].b], root);
    memcpy(leaf, t->level[0][inclusion[v].a], 32);
    CHECK(merkle_verify_inclusion(inclusion[v].a, inclusion[v].b, leaf, (const hash_t *)want, len, root) == MERKLE_OK);
  }
  static const proof_vector consistency[] = {
      {1, 1, 0, {0}},
      {1, 8, 3, {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                 "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                 "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
      {6, 8, 3, {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                 "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                 "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
      {2, 5, 2, {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                 "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
  };
  for (size_t v = 0; v < sizeof consistency / sizeof *consistency; v++) {
    hash_t proof[MERKLE_MAX_PROOF], want[4], r1, r2;
    size_t len = 99;
    CHECK(merkle_consistency_proof(consistency[v].a, consistency[v].b, mem_reader, t, proof, MERKLE_MAX_PROOF, &len) == MERKLE_OK);
    CHECK(len == (size_t)consistency[v].n);
    for (int i = 0; i < consistency[v].n; i++) {
      unhex32(consistency[v].hex[i], want[i]);
      CHECK_EQ_MEM(proof[i], want[i], 32);
    }
    unhex32(ct_roots_hex[consistency[v].a], r1);
    unhex32(ct_roots_hex[consistency[v].b], r2);
    CHECK(merkle_verify_consistency(consistency[v].a, consistency[v].b, r1, r2, (const hash_t *)want, len) == MERKLE_OK);
  }
  mem_tree_free(t);
}

/* ---- the Go reference vectors ---- */

static void load_proof(json_t *arr, hash_t *out, size_t *len) {
  *len = json_array_size(arr);
  for (size_t i = 0; i < *len && i < MERKLE_MAX_PROOF; i++) unhex32(json_string_value(json_array_get(arr, i)), out[i]);
}

static void test_go_reference_vectors(void) {
  const char *root_dir = getenv("XT_ROOT");
  char path[512];
  snprintf(path, sizeof path, "%s/tests/data/merkle/vectors-1000.json", root_dir ? root_dir : ".");
  json_error_t jerr;
  json_t *doc = json_load_file(path, 0, &jerr);
  CHECK_FATAL(doc != NULL);
  json_t *leaves = json_object_get(doc, "leaves");
  size_t n = json_array_size(leaves);
  CHECK_FATAL(n == 1000);
  mem_tree *t = mem_tree_new(n);
  merkle_tree compact;
  merkle_tree_init(&compact);
  hash_t *compact_roots = calloc(n + 1, 32);
  merkle_tree_root(&compact, compact_roots[0]);
  for (size_t i = 0; i < n; i++) {
    json_t *leaf = json_array_get(leaves, i);
    char data[32];
    int len = snprintf(data, sizeof data, "leaf-%zu", i);
    CHECK(strcmp(json_string_value(json_object_get(leaf, "data")), data) == 0);
    hash_t h, want;
    merkle_leaf_hash((const uint8_t *)data, (size_t)len, h);
    unhex32(json_string_value(json_object_get(leaf, "leaf_hash")), want);
    CHECK_EQ_MEM(h, want, 32);
    merkle_tree_append(&compact, h, mem_sink, t);
    merkle_tree_root(&compact, compact_roots[i + 1]);
  }
  t->size = n;
  hash_t empty, want;
  merkle_empty_root(empty);
  unhex32(json_string_value(json_object_get(doc, "empty_root")), want);
  CHECK_EQ_MEM(empty, want, 32);

  json_t *roots = json_object_get(doc, "roots");
  CHECK(json_array_size(roots) == n);
  for (size_t i = 0; i < json_array_size(roots); i++) {
    json_t *r = json_array_get(roots, i);
    uint64_t size = (uint64_t)json_integer_value(json_object_get(r, "size"));
    hash_t got;
    unhex32(json_string_value(json_object_get(r, "root")), want);
    CHECK(merkle_root_at(size, mem_reader, t, got) == MERKLE_OK);
    CHECK_EQ_MEM(got, want, 32);
    CHECK_EQ_MEM(compact_roots[size], want, 32);
  }

  json_t *incl = json_object_get(doc, "inclusion");
  CHECK(json_array_size(incl) > 100);
  for (size_t i = 0; i < json_array_size(incl); i++) {
    json_t *v = json_array_get(incl, i);
    uint64_t index = (uint64_t)json_integer_value(json_object_get(v, "index"));
    uint64_t size = (uint64_t)json_integer_value(json_object_get(v, "size"));
    hash_t leaf, root, proof[MERKLE_MAX_PROOF], got[MERKLE_MAX_PROOF];
    size_t len, glen;
    unhex32(json_string_value(json_object_get(v, "leaf_hash")), leaf);
    unhex32(json_string_value(json_object_get(v, "root")), root);
    load_proof(json_object_get(v, "proof"), proof, &len);
    CHECK(merkle_verify_inclusion(index, size, leaf, (const hash_t *)proof, len, root) == MERKLE_OK);
    CHECK(merkle_inclusion_proof(index, size, mem_reader, t, got, MERKLE_MAX_PROOF, &glen) == MERKLE_OK);
    CHECK(glen == len);
    CHECK(memcmp(got, proof, len * 32) == 0);
  }
  json_t *cons = json_object_get(doc, "consistency");
  CHECK(json_array_size(cons) > 100);
  for (size_t i = 0; i < json_array_size(cons); i++) {
    json_t *v = json_array_get(cons, i);
    uint64_t s1 = (uint64_t)json_integer_value(json_object_get(v, "size1"));
    uint64_t s2 = (uint64_t)json_integer_value(json_object_get(v, "size2"));
    hash_t r1, r2, proof[MERKLE_MAX_PROOF], got[MERKLE_MAX_PROOF];
    size_t len, glen;
    unhex32(json_string_value(json_object_get(v, "root1")), r1);
    unhex32(json_string_value(json_object_get(v, "root2")), r2);
    load_proof(json_object_get(v, "proof"), proof, &len);
    CHECK(merkle_verify_consistency(s1, s2, r1, r2, (const hash_t *)proof, len) == MERKLE_OK);
    CHECK(merkle_consistency_proof(s1, s2, mem_reader, t, got, MERKLE_MAX_PROOF, &glen) == MERKLE_OK);
    CHECK(glen == len);
    CHECK(memcmp(got, proof, len * 32) == 0);
  }
  free(compact_roots);
  mem_tree_free(t);
  json_decref(doc);
}

/* ---- exhaustive properties on small trees ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t rng(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

static void leaf_for(uint64_t i, hash_t out) {
  uint8_t buf[8];
  for (int k = 0; k < 8; k++) buf[k] = (uint8_t)(i >> (8 * k));
  merkle_leaf_hash(buf, sizeof buf, out);
}

#define SMALL 512

static mem_tree *small_tree(hash_t *roots /* SMALL + 1 */) {
  mem_tree *t = mem_tree_new(SMALL);
  merkle_tree c;
  merkle_tree_init(&c);
  merkle_tree_root(&c, roots[0]);
  for (uint64_t i = 0; i < SMALL; i++) {
    hash_t h;
    leaf_for(i, h);
    merkle_tree_append(&c, h, mem_sink, t);
    merkle_tree_root(&c, roots[i + 1]);
  }
  t->size = SMALL;
  return t;
}

/* Every single-bit change of any proof hash must make verification fail. */
static int inclusion_rejects_bit_flips(uint64_t index, uint64_t size, const hash_t leaf, hash_t *proof,
                                       size_t len, const hash_t root) {
  for (size_t i = 0; i < len; i++)
    for (unsigned bit = 0; bit < 256; bit++) {
      proof[i][bit / 8] ^= (uint8_t)(1u << (bit % 8));
      int rc = merkle_verify_inclusion(index, size, leaf, (const hash_t *)proof, len, root);
      proof[i][bit / 8] ^= (uint8_t)(1u << (bit % 8));
      if (rc == MERKLE_OK) return 0;
    }
  return 1;
}

static void test_inclusion_every_size_to_512(void) {
  hash_t *roots = calloc(SMALL + 1, 32);
  mem_tree *t = small_tree(roots);
  for (uint64_t size = 1; size <= SMALL; size++) {
    for (uint64_t index = 0; index < size; index++) {
      hash_t proof[MERKLE_MAX_PROOF];
      size_t len;
      CHECK(merkle_inclusion_proof(index, size, mem_reader, t, proof, MERKLE_MAX_PROOF, &len) == MERKLE_OK);
      const uint8_t *leaf = t->level[0][index];
      CHECK(merkle_verify_inclusion(index, size, leaf, (const hash_t *)proof, len, roots[size]) == MERKLE_OK);
      /* Wrong index, wrong size, wrong root, a dropped or an extra hash: all fail. */
      if (size > 1) CHECK(merkle_verify_inclusion((index + 1) % size, size, leaf, (const hash_t *)proof, len, roots[size]) != MERKLE_OK);
      /* A signed checkpoint binds size and root together, so a changed size is
       * checked with the root of that size. (RFC 9162 verification does not bind
       * the size to a root by itself: only the signature does.) */
      if (size < SMALL) CHECK(merkle_verify_inclusion(index, size + 1, leaf, (const hash_t *)proof, len, roots[size + 1]) != MERKLE_OK);
      CHECK(merkle_verify_inclusion(index, size, leaf, (const hash_t *)proof, len, roots[size - 1]) != MERKLE_OK);
      if (len > 0) CHECK(merkle_verify_inclusion(index, size, leaf, (const hash_t *)proof, len - 1, roots[size]) != MERKLE_OK);
      memcpy(proof[len], proof[0], 32);
      CHECK(merkle_verify_inclusion(index, size, leaf, (const hash_t *)proof, len + 1, roots[size]) != MERKLE_OK);
      /* Bit flips: every bit for the small trees, a sample beyond. */
      if (size <= 40 || rng() % 64 == 0)
        CHECK(inclusion_rejects_bit_flips(index, size, leaf, proof, len, roots[size]));
      if (size <= 40 || rng() % 64 == 0) {
        hash_t bad_leaf, bad_root;
        int ok = 1;
        for (unsigned bit = 0; bit < 256; bit++) {
          memcpy(bad_leaf, leaf, 32);
          bad_leaf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
          memcpy(bad_root, roots[size], 32);
          bad_root[bit / 8] ^= (uint8_t)(1u << (bit % 8));
          if (merkle_verify_inclusion(index, size, bad_leaf, (const hash_t *)proof, len, roots[size]) == MERKLE_OK) ok = 0;
          if (merkle_verify_inclusion(index, size, leaf, (const hash_t *)proof, len, bad_root) == MERKLE_OK) ok = 0;
        }
        /* Index and size bits: flipping any of the low 16 must fail (or be out of range). */
        for (unsigned bit = 0; bit < 16; bit++) {
          if (merkle_verify_inclusion(index ^ (1u << bit), size, leaf, (const hash_t *)proof, len, roots[size]) == MERKLE_OK) ok = 0;
          uint64_t other = size ^ (1u << bit);
          if (other <= SMALL && merkle_verify_inclusion(index, other, leaf, (const hash_t *)proof, len, roots[other]) == MERKLE_OK) ok = 0;
        }
        CHECK(ok);
      }
    }
  }
  hash_t proof[MERKLE_MAX_PROOF];
  size_t len;
  CHECK(merkle_inclusion_proof(5, 5, mem_reader, t, proof, MERKLE_MAX_PROOF, &len) == MERKLE_ERR_ARG);
  CHECK(merkle_inclusion_proof(3, 300, mem_reader, t, proof, 2, &len) == MERKLE_ERR_SPACE);
  t->fail_reads = 1;
  CHECK(merkle_inclusion_proof(3, 300, mem_reader, t, proof, MERKLE_MAX_PROOF, &len) == MERKLE_ERR_READER);
  t->fail_reads = 0;
  CHECK(merkle_verify_inclusion(0, 0, roots[0], (const hash_t *)proof, 0, roots[0]) != MERKLE_OK);
  mem_tree_free(t);
  free(roots);
}

static void test_consistency_every_pair_to_512(void) {
  hash_t *roots = calloc(SMALL + 1, 32);
  mem_tree *t = small_tree(roots);
  for (uint64_t n = 0; n <= SMALL; n++) {
    for (uint64_t m = 0; m <= n; m++) {
      hash_t proof[MERKLE_MAX_PROOF];
      size_t len;
      CHECK(merkle_consistency_proof(m, n, mem_reader, t, proof, MERKLE_MAX_PROOF, &len) == MERKLE_OK);
      CHECK(merkle_verify_consistency(m, n, roots[m], roots[n], (const hash_t *)proof, len) == MERKLE_OK);
      if (m == n || m == 0) {
        CHECK(len == 0);
      }
      /* Wrong roots fail. */
      if (m > 0 && m < n) {
        CHECK(merkle_verify_consistency(m, n, roots[m - 1], roots[n], (const hash_t *)proof, len) != MERKLE_OK);
        CHECK(merkle_verify_consistency(m, n, roots[m], roots[n - 1], (const hash_t *)proof, len) != MERKLE_OK);
        CHECK(merkle_verify_consistency(m, n - 1, roots[m], roots[n - 1], (const hash_t *)proof, len) != MERKLE_OK);
        CHECK(merkle_verify_consistency(m + 1, n, roots[m + 1], roots[n], (const hash_t *)proof, len) != MERKLE_OK);
        CHECK(merkle_verify_consistency(m, n, roots[m], roots[n], (const hash_t *)proof, len - 1) != MERKLE_OK);
      }
      if (m < n && m > 0 && (n <= 48 || rng() % 128 == 0)) {
        int ok = 1;
        for (size_t i = 0; i < len; i++)
          for (unsigned bit = 0; bit < 256; bit++) {
            proof[i][bit / 8] ^= (uint8_t)(1u << (bit % 8));
            if (merkle_verify_consistency(m, n, roots[m], roots[n], (const hash_t *)proof, len) == MERKLE_OK) ok = 0;
            proof[i][bit / 8] ^= (uint8_t)(1u << (bit % 8));
          }
        for (unsigned bit = 0; bit < 256; bit++) {
          hash_t a, b;
          memcpy(a, roots[m], 32);
          memcpy(b, roots[n], 32);
          a[bit / 8] ^= (uint8_t)(1u << (bit % 8));
          b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
          if (merkle_verify_consistency(m, n, a, roots[n], (const hash_t *)proof, len) == MERKLE_OK) ok = 0;
          if (merkle_verify_consistency(m, n, roots[m], b, (const hash_t *)proof, len) == MERKLE_OK) ok = 0;
        }
        for (unsigned bit = 0; bit < 16; bit++) {
          uint64_t om = m ^ (1u << bit), on = n ^ (1u << bit);
          if (om <= SMALL && merkle_verify_consistency(om, n, roots[om], roots[n], (const hash_t *)proof, len) == MERKLE_OK) ok = 0;
          if (on <= SMALL && merkle_verify_consistency(m, on, roots[m], roots[on], (const hash_t *)proof, len) == MERKLE_OK) ok = 0;
        }
        CHECK(ok);
      }
    }
  }
  hash_t proof[MERKLE_MAX_PROOF];
  size_t len;
  CHECK(merkle_consistency_proof(6, 5, mem_reader, t, proof, MERKLE_MAX_PROOF, &len) == MERKLE_ERR_ARG);
  /* Equal sizes: only an empty proof and equal roots. */
  CHECK(merkle_verify_consistency(7, 7, roots[7], roots[7], (const hash_t *)proof, 0) == MERKLE_OK);
  CHECK(merkle_verify_consistency(7, 7, roots[7], roots[6], (const hash_t *)proof, 0) != MERKLE_OK);
  memcpy(proof[0], roots[7], 32);
  CHECK(merkle_verify_consistency(7, 7, roots[7], roots[7], (const hash_t *)proof, 1) != MERKLE_OK);
  /* From the empty tree: only its own root, with an empty proof. */
  CHECK(merkle_verify_consistency(0, 7, roots[0], roots[7], (const hash_t *)proof, 0) == MERKLE_OK);
  CHECK(merkle_verify_consistency(0, 7, roots[3], roots[7], (const hash_t *)proof, 0) != MERKLE_OK);
  CHECK(merkle_verify_consistency(0, 7, roots[0], roots[7], (const hash_t *)proof, 1) != MERKLE_OK);
  mem_tree_free(t);
  free(roots);
}

/* ---- sampled large sizes: levels >= 8 stored, lower levels recomputed ---- */

typedef struct big_tree {
  uint64_t size;
  hash_t *upper[64]; /* level >= 8 */
  uint64_t count[64];
} big_tree;

static void big_sink(void *ctx, unsigned level, uint64_t index, const uint8_t hash[32]) {
  big_tree *t = ctx;
  if (level < 8 || level >= 64) return;
  memcpy(t->upper[level][index], hash, 32);
  t->count[level] = index + 1;
}

static void big_node(big_tree *t, unsigned level, uint64_t index, hash_t out) {
  if (level >= 8) {
    memcpy(out, t->upper[level][index], 32);
    return;
  }
  if (level == 0) {
    leaf_for(index, out);
    return;
  }
  hash_t l, r;
  big_node(t, level - 1, 2 * index, l);
  big_node(t, level - 1, 2 * index + 1, r);
  merkle_node_hash(l, r, out);
}

static int big_reader(void *ctx, unsigned level, uint64_t index, uint64_t count, hash_t *out) {
  big_tree *t = ctx;
  for (uint64_t i = 0; i < count; i++) {
    if (((index + i + 1) << level) > t->size) return -1;
    big_node(t, level, index + i, out[i]);
  }
  return 0;
}

static void test_sampled_sizes_to_2_24(void) {
  const char *env = getenv("XT_MERKLE_BIG_LOG2");
  unsigned log2 = env ? (unsigned)atoi(env) : 24;
  if (log2 < 10 || log2 > 30) log2 = 24;
  uint64_t total = UINT64_C(1) << log2;
  big_tree *t = calloc(1, sizeof *t);
  for (unsigned l = 8; l <= log2; l++) t->upper[l] = calloc(total >> l, 32);
  /* Sizes to sample: powers of two, their neighbours, and random sizes; the compact
   * tree's root is recorded at each, and later compared with the stored nodes. */
  enum { NSAMPLES = 96 };
  uint64_t samples[NSAMPLES];
  int ns = 0;
  for (unsigned b = 10; b <= log2 && ns < NSAMPLES - 3; b += 2) {
    samples[ns++] = (UINT64_C(1) << b) - 1;
    samples[ns++] = UINT64_C(1) << b;
    if ((UINT64_C(1) << b) + 1 <= total) samples[ns++] = (UINT64_C(1) << b) + 1;
  }
  while (ns < NSAMPLES) samples[ns++] = 1 + rng() % total;
  for (int i = 0; i < ns; i++)
    for (int j = i + 1; j < ns; j++)
      if (samples[j] < samples[i]) {
        uint64_t x = samples[i];
        samples[i] = samples[j];
        samples[j] = x;
      }
  hash_t *roots = calloc(NSAMPLES, 32);
  merkle_tree c;
  merkle_tree_init(&c);
  int next = 0;
  for (uint64_t i = 0; i < total; i++) {
    hash_t h;
    leaf_for(i, h);
    merkle_tree_append(&c, h, big_sink, t);
    while (next < ns && samples[next] == c.size) merkle_tree_root(&c, roots[next++]);
  }
  t->size = total;
  CHECK(next == ns);
  for (int s = 0; s < ns; s++) {
    uint64_t size = samples[s];
    hash_t got;
    CHECK(merkle_root_at(size, big_reader, t, got) == MERKLE_OK);
    CHECK_EQ_MEM(got, roots[s], 32);
    /* Restoring a compact tree from stored nodes gives the same root. */
    merkle_tree restored;
    CHECK(merkle_tree_restore(&restored, size, big_reader, t) == MERKLE_OK);
    merkle_tree_root(&restored, got);
    CHECK_EQ_MEM(got, roots[s], 32);
    for (int k = 0; k < 8; k++) {
      uint64_t index = k == 0 ? 0 : k == 1 ? size - 1 : rng() % size;
      hash_t proof[MERKLE_MAX_PROOF], leaf;
      size_t len;
      leaf_for(index, leaf);
      CHECK(merkle_inclusion_proof(index, size, big_reader, t, proof, MERKLE_MAX_PROOF, &len) == MERKLE_OK);
      CHECK(merkle_verify_inclusion(index, size, leaf, (const hash_t *)proof, len, roots[s]) == MERKLE_OK);
      CHECK(inclusion_rejects_bit_flips(index, size, leaf, proof, len, roots[s]));
    }
    for (int o = 0; o < s; o += 1 + s / 8) {
      hash_t proof[MERKLE_MAX_PROOF];
      size_t len;
      CHECK(merkle_consistency_proof(samples[o], size, big_reader, t, proof, MERKLE_MAX_PROOF, &len) == MERKLE_OK);
      CHECK(merkle_verify_consistency(samples[o], size, roots[o], roots[s], (const hash_t *)proof, len) == MERKLE_OK);
      if (samples[o] < size && len > 0) {
        proof[len / 2][7] ^= 0x10;
        CHECK(merkle_verify_consistency(samples[o], size, roots[o], roots[s], (const hash_t *)proof, len) != MERKLE_OK);
      }
    }
  }
  for (unsigned l = 8; l <= log2; l++) free(t->upper[l]);
  free(t);
  free(roots);
}

/* ---- proofs through a merkle_edge: the same bytes as without ---- */

/* Counts reads, to show the edge's hashes are not read again. */
typedef struct counting {
  merkle_node_reader rd;
  void *ctx;
  unsigned long reads;
} counting;

static int counting_reader(void *ctx, unsigned level, uint64_t index, uint64_t count, hash_t *out) {
  counting *c = ctx;
  c->reads++;
  return c->rd(c->ctx, level, index, count, out);
}

/* Every inclusion proof into `size` and every consistency proof from old sizes
 * `olds` (n_olds of them) to it, with and without the edge, byte for byte. */
static void edge_matches(merkle_node_reader rd, void *ctx, uint64_t size, const uint64_t *indexes,
                         size_t nindexes, const uint64_t *olds, size_t nolds) {
  merkle_edge e;
  CHECK_FATAL(merkle_edge_init(&e, size, rd, ctx) == MERKLE_OK);
  CHECK(e.size == size && e.npeaks == (unsigned)__builtin_popcountll(size));
  hash_t root;
  CHECK(merkle_root_at(size, rd, ctx, root) == MERKLE_OK);
  if (size) CHECK_EQ_MEM(e.fold[0], root, 32);
  for (size_t i = 0; i < nindexes; i++) {
    hash_t want[MERKLE_MAX_PROOF], got[MERKLE_MAX_PROOF];
    size_t wlen = 0, glen = 0;
    counting plain = {rd, ctx, 0}, edged = {rd, ctx, 0};
    CHECK(merkle_inclusion_proof(indexes[i], size, counting_reader, &plain, want, MERKLE_MAX_PROOF, &wlen) == MERKLE_OK);
    CHECK(merkle_inclusion_proof_edge(&e, indexes[i], counting_reader, &edged, got, MERKLE_MAX_PROOF, &glen) == MERKLE_OK);
    CHECK(glen == wlen);
    CHECK(memcmp(got, want, wlen * 32) == 0);
    CHECK(edged.reads <= plain.reads);
    if (wlen) CHECK(merkle_inclusion_proof_edge(&e, indexes[i], rd, ctx, got, wlen - 1, &glen) == MERKLE_ERR_SPACE);
  }
  for (size_t i = 0; i < nolds; i++) {
    hash_t want[MERKLE_MAX_PROOF], got[MERKLE_MAX_PROOF];
    size_t wlen = 0, glen = 0;
    CHECK(merkle_consistency_proof(olds[i], size, rd, ctx, want, MERKLE_MAX_PROOF, &wlen) == MERKLE_OK);
    CHECK(merkle_consistency_proof_edge(&e, olds[i], rd, ctx, got, MERKLE_MAX_PROOF, &glen) == MERKLE_OK);
    CHECK(glen == wlen);
    CHECK(memcmp(got, want, wlen * 32) == 0);
  }
  hash_t proof[MERKLE_MAX_PROOF];
  size_t len;
  CHECK(merkle_inclusion_proof_edge(&e, size, rd, ctx, proof, MERKLE_MAX_PROOF, &len) == MERKLE_ERR_ARG);
  CHECK(merkle_consistency_proof_edge(&e, size + 1, rd, ctx, proof, MERKLE_MAX_PROOF, &len) == MERKLE_ERR_ARG);
}

static void test_edge_proofs_every_size_to_512(void) {
  hash_t *roots = calloc(SMALL + 1, 32);
  mem_tree *t = small_tree(roots);
  uint64_t *all = calloc(SMALL + 1, sizeof *all);
  for (uint64_t i = 0; i <= SMALL; i++) all[i] = i;
  for (uint64_t size = 0; size <= SMALL; size++) edge_matches(mem_reader, t, size, all, size, all, size + 1);
  /* The proofs a 300-leaf tree gives do not hold for an edge of 299. */
  merkle_edge e;
  hash_t want[MERKLE_MAX_PROOF], got[MERKLE_MAX_PROOF];
  size_t wlen, glen;
  CHECK(merkle_edge_init(&e, 299, mem_reader, t) == MERKLE_OK);
  CHECK(merkle_inclusion_proof(7, 300, mem_reader, t, want, MERKLE_MAX_PROOF, &wlen) == MERKLE_OK);
  CHECK(merkle_inclusion_proof_edge(&e, 7, mem_reader, t, got, MERKLE_MAX_PROOF, &glen) == MERKLE_OK);
  CHECK(glen != wlen || memcmp(got, want, wlen * 32) != 0);
  t->fail_reads = 1;
  CHECK(merkle_edge_init(&e, 300, mem_reader, t) == MERKLE_ERR_READER);
  t->fail_reads = 0;
  CHECK(merkle_edge_init(&e, UINT64_C(1) << 63, mem_reader, t) == MERKLE_ERR_ARG);
  free(all);
  mem_tree_free(t);
  free(roots);
}

static void test_edge_proofs_sampled_to_2_20(void) {
  unsigned log2 = 20;
  uint64_t total = UINT64_C(1) << log2;
  big_tree *t = calloc(1, sizeof *t);
  for (unsigned l = 8; l <= log2; l++) t->upper[l] = calloc(total >> l, 32);
  merkle_tree c;
  merkle_tree_init(&c);
  for (uint64_t i = 0; i < total; i++) {
    hash_t h;
    leaf_for(i, h);
    merkle_tree_append(&c, h, big_sink, t);
  }
  t->size = total;
  /* Sizes around tile (256) and power-of-two boundaries, the benchmark's size, and
   * random ones; indexes at both ends of each peak and of each tile, and random. */
  uint64_t sizes[64];
  size_t ns = 0;
  uint64_t fixed[] = {255, 256, 257, 511, 512, 513, 65535, 65536, 65537, 65792, 965984, total - 1, total};
  for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++) sizes[ns++] = fixed[i];
  while (ns < 24) sizes[ns++] = 1 + rng() % total;
  for (size_t s = 0; s < ns; s++) {
    uint64_t size = sizes[s], idx[96], olds[32];
    size_t ni = 0, no = 0;
    uint64_t start = 0;
    for (unsigned b = 64; b-- > 0;)
      if ((size >> b) & 1) {
        uint64_t end = start + (UINT64_C(1) << b);
        idx[ni++] = start, idx[ni++] = end - 1;
        if (b >= 9) idx[ni++] = start + 255, idx[ni++] = start + 256;
        if (no < 16) olds[no++] = start ? start : 1, olds[no++] = end;
        start = end;
      }
    while (ni < 96) idx[ni++] = rng() % size;
    while (no < 32) olds[no++] = rng() % (size + 1);
    edge_matches(big_reader, t, size, idx, ni, olds, no);
  }
  for (unsigned l = 8; l <= log2; l++) free(t->upper[l]);
  free(t);
}

static void test_range_hash_rejects_unaligned(void) {
  hash_t *roots = calloc(SMALL + 1, 32);
  mem_tree *t = small_tree(roots);
  hash_t out;
  CHECK(merkle_range_hash(4, 8, mem_reader, t, out) == MERKLE_OK);
  CHECK(merkle_range_hash(4, 9, mem_reader, t, out) == MERKLE_ERR_ARG); /* 5 leaves need alignment 8 */
  CHECK(merkle_range_hash(3, 3, mem_reader, t, out) == MERKLE_ERR_ARG);
  CHECK(merkle_range_hash(0, 300, mem_reader, t, out) == MERKLE_OK);
  CHECK_EQ_MEM(out, roots[300], 32);
  mem_tree_free(t);
  free(roots);
}

int main(void) {
  CHECK_RUN(test_rfc6962_roots);
  CHECK_RUN(test_rfc6962_proofs);
  CHECK_RUN(test_go_reference_vectors);
  CHECK_RUN(test_range_hash_rejects_unaligned);
  CHECK_RUN(test_inclusion_every_size_to_512);
  CHECK_RUN(test_consistency_every_pair_to_512);
  CHECK_RUN(test_sampled_sizes_to_2_24);
  CHECK_RUN(test_edge_proofs_every_size_to_512);
  CHECK_RUN(test_edge_proofs_sampled_to_2_20);
  return check_finish();
}
