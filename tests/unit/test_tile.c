/* Tests of merkle/tile.h: C2SP tlog-tiles paths, widths, entry bundles, and the
 * authenticating tile reader (including a forged level-0 tile in a 70,000-entry
 * log, the case golang.org/x/mod's TileHashReader does not catch). Path vectors
 * also come from tests/data/merkle/vectors-1000.json (Go's tlog). */
#include <jansson.h>
#include <stdlib.h>

#include "merkle/tile.h"
#include "tests/lib/check.h"

static void test_path_vectors(void) {
  static const struct {
    int level;
    uint64_t index;
    unsigned width;
    const char *path;
  } v[] = {
      {0, 0, 256, "tile/0/000"},
      {0, 1234067, 256, "tile/0/x001/x234/067"},
      {1, 1234067, 5, "tile/1/x001/x234/067.p/5"},
      {TILE_LEVEL_ENTRIES, 1234067, 256, "tile/entries/x001/x234/067"},
      {TILE_LEVEL_ENTRIES, 0, 255, "tile/entries/000.p/255"},
      {63, 999, 1, "tile/63/999.p/1"},
      {2, 1000, 256, "tile/2/x001/000"},
      {0, UINT64_MAX, 256, "tile/0/x018/x446/x744/x073/x709/x551/615"},
  };
  for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
    tile_id t = {v[i].level, v[i].index, v[i].width}, back;
    char buf[TILE_PATH_MAX];
    size_t len;
    CHECK(tile_path_encode(&t, buf, sizeof buf, &len) == MERKLE_OK);
    CHECK(strcmp(buf, v[i].path) == 0 && len == strlen(v[i].path));
    CHECK(tile_path_decode(v[i].path, strlen(v[i].path), &back) == MERKLE_OK);
    CHECK(back.level == t.level && back.index == t.index && back.width == t.width);
  }
  const char *root_dir = getenv("XT_ROOT");
  char path[512];
  snprintf(path, sizeof path, "%s/tests/data/merkle/vectors-1000.json", root_dir ? root_dir : ".");
  json_t *doc = json_load_file(path, 0, NULL);
  CHECK_FATAL(doc);
  json_t *tp = json_object_get(doc, "tile_paths");
  CHECK(json_array_size(tp) > 0);
  for (size_t i = 0; i < json_array_size(tp); i++) {
    json_t *e = json_array_get(tp, i);
    tile_id t = {(int)json_integer_value(json_object_get(e, "level")),
                 (uint64_t)json_integer_value(json_object_get(e, "n")),
                 (unsigned)json_integer_value(json_object_get(e, "width"))};
    char buf[TILE_PATH_MAX];
    CHECK(tile_path_encode(&t, buf, sizeof buf, NULL) == MERKLE_OK);
    CHECK(strcmp(buf, json_string_value(json_object_get(e, "path"))) == 0);
  }
  json_decref(doc);
}

static void test_path_rejects_malformed(void) {
  const char *bad[] = {
      "tile/0/00",           "tile/0/0000",       "tile/00/000",        "tile/01/000",
      "tile/64/000",         "tile/0/001/002",    "tile/0/x1/002",      "tile/0/x001/02",
      "tile/0/x000/002",     "tile/0/0a1",        "tile/0/000.p/0",     "tile/0/000.p/256",
      "tile/0/000.p/05",     "tile/0/000.p/",     "tile/0/000.p/1/",    "tile/0/000/",
      "tile/0/000.x/5",      "/tile/0/000",       "tile/-1/000",        "tile/entries/000.p/1000",
      "tile/0/x018/x446/x744/x073/x709/x551/616", "tile/0/x001/x002/x003/x004/x005/x006/x007/008",
      "tile//000",           "tile/0/",           "tile/0",             "tile/entrie/000",
      "tile/0/000.p/1 ",     "tiles/0/000",       "tile/0/x001x002",    "",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    tile_id t;
    if (tile_path_decode(bad[i], strlen(bad[i]), &t) == MERKLE_OK) {
      char msg[128];
      snprintf(msg, sizeof msg, "accepted malformed path '%s'", bad[i]);
      check_fail(__FILE__, __LINE__, msg);
    }
  }
  /* Width 0 and 257 cannot be encoded either. */
  tile_id t = {0, 1, 0};
  char buf[TILE_PATH_MAX];
  CHECK(tile_path_encode(&t, buf, sizeof buf, NULL) != MERKLE_OK);
  t.width = 257;
  CHECK(tile_path_encode(&t, buf, sizeof buf, NULL) != MERKLE_OK);
  t.width = 5;
  CHECK(tile_path_encode(&t, buf, 8, NULL) == MERKLE_ERR_SPACE);
}

static void test_widths_and_node_placement(void) {
  CHECK(tile_width_at(0, 0, 0) == 0);
  CHECK(tile_width_at(0, 0, 1) == 1);
  CHECK(tile_width_at(0, 0, 256) == 256);
  CHECK(tile_width_at(0, 1, 256) == 0);
  CHECK(tile_width_at(0, 273, 70000) == 112);
  CHECK(tile_width_at(0, 272, 70000) == 256);
  CHECK(tile_width_at(1, 1, 70000) == 17);
  CHECK(tile_width_at(1, 0, 70000) == 256);
  CHECK(tile_width_at(2, 0, 70000) == 1);
  CHECK(tile_width_at(3, 0, 70000) == 0);
  CHECK(tile_width_at(TILE_LEVEL_ENTRIES, 273, 70000) == 112);
  CHECK(tile_width_at(7, 0, UINT64_MAX) == 255);
  tile_id t;
  unsigned first, count;
  tile_for_node(0, 70000, &t, &first, &count);
  CHECK(t.level == 0 && t.index == 273 && first == 112 && count == 1 && t.width == 113);
  tile_for_node(3, 5, &t, &first, &count);
  CHECK(t.level == 0 && t.index == 0 && first == 40 && count == 8);
  tile_for_node(8, 300, &t, &first, &count);
  CHECK(t.level == 1 && t.index == 1 && first == 44 && count == 1);
  tile_for_node(15, 1, &t, &first, &count);
  CHECK(t.level == 1 && t.index == 0 && first == 128 && count == 128);
}

static void test_bundles(void) {
  uint8_t buf[64];
  size_t len = 0;
  CHECK(tile_bundle_append(buf, sizeof buf, &len, (const uint8_t *)"abc", 3) == MERKLE_OK);
  CHECK(tile_bundle_append(buf, sizeof buf, &len, (const uint8_t *)"de", 2) == MERKLE_OK);
  CHECK(len == 9 && memcmp(buf, "\x00\x03" "abc\x00\x02" "de", 9) == 0);
  CHECK(tile_bundle_append(buf, sizeof buf, &len, (const uint8_t *)"", 0) == MERKLE_ERR_ARG);
  uint8_t big[70000] = {0};
  CHECK(tile_bundle_append(buf, sizeof buf, &len, big, 65536) == MERKLE_ERR_ARG);
  CHECK(tile_bundle_append(buf, sizeof buf, &len, big, 60) == MERKLE_ERR_SPACE);
  tile_bundle_entry e[3];
  CHECK(tile_bundle_parse(buf, 9, 2, e) == MERKLE_OK);
  CHECK(e[0].len == 3 && memcmp(e[0].data, "abc", 3) == 0 && e[1].len == 2);
  CHECK(tile_bundle_parse(buf, 9, 1, e) != MERKLE_OK); /* trailing bytes */
  CHECK(tile_bundle_parse(buf, 9, 3, e) != MERKLE_OK); /* too few */
  CHECK(tile_bundle_parse(buf, 8, 2, e) != MERKLE_OK); /* truncated */
  CHECK(tile_bundle_parse(buf, 1, 1, e) != MERKLE_OK);
  uint8_t zero[2] = {0, 0};
  CHECK(tile_bundle_parse(zero, 2, 1, e) != MERKLE_OK); /* empty entry */
}

/* ---- an in-memory tiled log ---- */

typedef struct mem_log {
  uint64_t size;
  uint8_t (*levels[8])[32]; /* level-8L hashes, L = 0..7 */
  uint64_t counts[8];
  uint8_t **entries;
  size_t *entry_lens;
  int forge_level;   /* tile to forge on fetch, -2 for none */
  uint64_t forge_index;
  int forge_entries; /* forge an entry in the bundle forge_index */
  uint64_t fetches;
} mem_log;

static void log_sink(void *ctx, unsigned level, uint64_t index, const uint8_t hash[32]) {
  mem_log *l = ctx;
  if (level % 8) return;
  memcpy(l->levels[level / 8][index], hash, 32);
  l->counts[level / 8] = index + 1;
}

static mem_log *mem_log_new(uint64_t n, merkle_tree *tree) {
  mem_log *l = calloc(1, sizeof *l);
  for (int L = 0; L < 8; L++) l->levels[L] = calloc((n >> (8 * L)) + 1, 32);
  l->entries = calloc(n, sizeof *l->entries);
  l->entry_lens = calloc(n, sizeof *l->entry_lens);
  l->forge_level = -2;
  merkle_tree_init(tree);
  for (uint64_t i = 0; i < n; i++) {
    char buf[64];
    int k = snprintf(buf, sizeof buf, "{\"entry\":%llu}", (unsigned long long)i);
    l->entries[i] = malloc((size_t)k);
    memcpy(l->entries[i], buf, (size_t)k);
    l->entry_lens[i] = (size_t)k;
    uint8_t h[32];
    merkle_leaf_hash((const uint8_t *)buf, (size_t)k, h);
    merkle_tree_append(tree, h, log_sink, l);
  }
  l->size = n;
  return l;
}

static void mem_log_free(mem_log *l) {
  for (int L = 0; L < 8; L++) free(l->levels[L]);
  for (uint64_t i = 0; i < l->size; i++) free(l->entries[i]);
  free(l->entries);
  free(l->entry_lens);
  free(l);
}

static int mem_fetch(void *ctx, const tile_id *t, uint8_t **data, size_t *len, char *err, size_t errcap) {
  mem_log *l = ctx;
  l->fetches++;
  if (t->level == TILE_LEVEL_ENTRIES) {
    size_t cap = (size_t)t->width * 65538, pos = 0;
    uint8_t *buf = malloc(cap);
    for (unsigned i = 0; i < t->width; i++) {
      uint64_t idx = t->index * 256 + i;
      if (idx >= l->size) {
        free(buf);
        snprintf(err, errcap, "no such entry");
        return -1;
      }
      tile_bundle_append(buf, cap, &pos, l->entries[idx], l->entry_lens[idx]);
    }
    if (l->forge_entries && t->index == l->forge_index) buf[pos - 2] ^= 1;
    *data = buf;
    *len = pos;
    return 0;
  }
  uint64_t first = t->index * 256;
  if (first + t->width > l->counts[t->level]) {
    snprintf(err, errcap, "404");
    return -1;
  }
  *data = malloc((size_t)t->width * 32);
  memcpy(*data, l->levels[t->level][first], (size_t)t->width * 32);
  if (t->level == l->forge_level && t->index == l->forge_index) (*data)[t->width * 32 - 1] ^= 0x80;
  *len = (size_t)t->width * 32;
  return 0;
}

static int direct_nodes(void *ctx, unsigned level, uint64_t index, uint64_t count, uint8_t (*out)[32]);

/* The reference node reader recomputes from the entries, independent of tiles. */
static mem_log *direct_log;
static void direct_node(unsigned level, uint64_t index, uint8_t out[32]) {
  if (level == 0) {
    merkle_leaf_hash(direct_log->entries[index], direct_log->entry_lens[index], out);
    return;
  }
  if (level % 8 == 0) { /* stored from the compact tree's sink, itself tested */
    memcpy(out, direct_log->levels[level / 8][index], 32);
    return;
  }
  uint8_t l[32], r[32];
  direct_node(level - 1, 2 * index, l);
  direct_node(level - 1, 2 * index + 1, r);
  merkle_node_hash(l, r, out);
}
static int direct_nodes(void *ctx, unsigned level, uint64_t index, uint64_t count, uint8_t (*out)[32]) {
  for (uint64_t i = 0; i < count; i++) direct_node(level, index + i, out[i]);
  return 0;
}

/* A narrower tile is the prefix of the stored (wider) one: its exact length. */
static void test_stored_prefix(void) {
  uint8_t b[64];
  size_t len = 0, out = 0;
  CHECK_FATAL(tile_bundle_append(b, sizeof b, &len, (const uint8_t *)"abc", 3) == MERKLE_OK);
  CHECK_FATAL(tile_bundle_append(b, sizeof b, &len, (const uint8_t *)"de", 2) == MERKLE_OK);
  tile_id t = {TILE_LEVEL_ENTRIES, 0, 1};
  CHECK(tile_stored_prefix(&t, b, len, &out) == MERKLE_OK && out == 5);
  t.width = 2;
  CHECK(tile_stored_prefix(&t, b, len, &out) == MERKLE_OK && out == 9);
  t.width = 3; /* more entries than stored */
  CHECK(tile_stored_prefix(&t, b, len, &out) == MERKLE_ERR_FORMAT);
  t.width = 2; /* the second entry cut short */
  CHECK(tile_stored_prefix(&t, b, len - 1, &out) == MERKLE_ERR_FORMAT);
  t.width = 0;
  CHECK(tile_stored_prefix(&t, b, len, &out) == MERKLE_ERR_ARG);
  uint8_t h[3 * 32] = {0};
  tile_id ht = {0, 7, 2};
  CHECK(tile_stored_prefix(&ht, h, sizeof h, &out) == MERKLE_OK && out == 64);
  ht.width = 3;
  CHECK(tile_stored_prefix(&ht, h, sizeof h, &out) == MERKLE_OK && out == 96);
  ht.width = 4;
  CHECK(tile_stored_prefix(&ht, h, sizeof h, &out) == MERKLE_ERR_FORMAT);
  CHECK(tile_stored_prefix(&ht, h, sizeof h - 1, &out) == MERKLE_ERR_FORMAT);
}

static void test_reader_honest_log(void) {
  static const uint64_t sizes[] = {1, 2, 255, 256, 257, 300, 511, 65536, 65537, 70000};
  for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
    merkle_tree tree;
    mem_log *l = mem_log_new(sizes[s], &tree);
    direct_log = l;
    uint8_t root[32];
    merkle_tree_root(&tree, root);
    tile_reader *r = tile_reader_new(l->size, root, mem_fetch, l);
    CHECK_FATAL(r);
    uint8_t got[32];
    CHECK(merkle_root_at(l->size, tile_reader_nodes, r, got) == MERKLE_OK);
    CHECK_EQ_MEM(got, root, 32);
    for (int k = 0; k < 40; k++) {
      uint64_t index = k == 0 ? 0 : k == 1 ? l->size - 1 : (uint64_t)rand() % l->size;
      uint8_t proof[MERKLE_MAX_PROOF][32], want[MERKLE_MAX_PROOF][32], leaf[32];
      size_t len, wlen;
      CHECK(merkle_inclusion_proof(index, l->size, tile_reader_nodes, r, proof, MERKLE_MAX_PROOF, &len) == MERKLE_OK);
      CHECK(merkle_inclusion_proof(index, l->size, direct_nodes, NULL, want, MERKLE_MAX_PROOF, &wlen) == MERKLE_OK);
      CHECK(len == wlen && memcmp(proof, want, len * 32) == 0);
      merkle_leaf_hash(l->entries[index], l->entry_lens[index], leaf);
      CHECK(merkle_verify_inclusion(index, l->size, leaf, (const uint8_t(*)[32])proof, len, root) == MERKLE_OK);
      uint64_t old = 1 + (uint64_t)rand() % l->size;
      CHECK(merkle_consistency_proof(old, l->size, tile_reader_nodes, r, proof, MERKLE_MAX_PROOF, &len) == MERKLE_OK);
      CHECK(merkle_consistency_proof(old, l->size, direct_nodes, NULL, want, MERKLE_MAX_PROOF, &wlen) == MERKLE_OK);
      CHECK(len == wlen && memcmp(proof, want, len * 32) == 0);
    }
    const tile_bundle_entry *entries;
    size_t count;
    uint64_t last = (l->size - 1) / 256;
    CHECK(tile_reader_entries(r, last, &entries, &count) == 0);
    CHECK(count == tile_width_at(TILE_LEVEL_ENTRIES, last, l->size));
    CHECK(count > 0 && entries[count - 1].len == l->entry_lens[l->size - 1]);
    CHECK(tile_reader_entries(r, 0, &entries, &count) == 0);
    CHECK(tile_reader_entries(r, last + 1, &entries, &count) != 0);
    /* Nodes beyond the tree are refused, not guessed. */
    uint8_t out[1][32];
    CHECK(tile_reader_nodes(r, 0, l->size, 1, out) != 0);
    tile_reader_free(r);
    mem_log_free(l);
  }
}

/* Each forged tile must be caught before any hash in it is used. */
static void forged_case(mem_log *l, const uint8_t root[32], int level, uint64_t index, uint64_t leaf_to_prove) {
  l->forge_level = level;
  l->forge_index = index;
  tile_reader *r = tile_reader_new(l->size, root, mem_fetch, l);
  uint8_t proof[MERKLE_MAX_PROOF][32];
  size_t len;
  int rc = merkle_inclusion_proof(leaf_to_prove, l->size, tile_reader_nodes, r, proof, MERKLE_MAX_PROOF, &len);
  if (rc == MERKLE_OK) {
    /* The proof was built without touching the forged tile; then it must verify. */
    uint8_t leaf[32];
    merkle_leaf_hash(l->entries[leaf_to_prove], l->entry_lens[leaf_to_prove], leaf);
    CHECK(merkle_verify_inclusion(leaf_to_prove, l->size, leaf, (const uint8_t(*)[32])proof, len, root) == MERKLE_OK);
  }
  /* Reading the forged tile's own nodes must fail. */
  uint8_t out[1][32];
  uint64_t node = index * 256 + (tile_width_at(level, index, l->size) - 1);
  CHECK(tile_reader_nodes(r, (unsigned)level * 8, node, 1, out) != 0);
  CHECK(strstr(tile_reader_error(r), "match") != NULL || strstr(tile_reader_error(r), "signed root") != NULL);
  tile_reader_free(r);
  l->forge_level = -2;
}

static void test_reader_rejects_forged_tiles_70000(void) {
  merkle_tree tree;
  mem_log *l = mem_log_new(70000, &tree);
  uint8_t root[32];
  merkle_tree_root(&tree, root);
  forged_case(l, root, 0, 5, 5 * 256 + 3);     /* a full level-0 tile */
  forged_case(l, root, 0, 272, 272 * 256);     /* the last full level-0 tile */
  forged_case(l, root, 0, 273, 69999);         /* the partial level-0 tile */
  forged_case(l, root, 1, 0, 12345);           /* the full level-1 tile */
  forged_case(l, root, 1, 1, 69000);           /* the partial level-1 tile */
  forged_case(l, root, 2, 0, 100);             /* the top tile */
  /* A forged entry in a bundle is caught by its leaf hash. */
  l->forge_entries = 1;
  l->forge_index = 7;
  tile_reader *r = tile_reader_new(l->size, root, mem_fetch, l);
  const tile_bundle_entry *entries;
  size_t count;
  CHECK(tile_reader_entries(r, 7, &entries, &count) == MERKLE_ERR_PROOF);
  CHECK(strstr(tile_reader_error(r), "entry 2047") != NULL);
  CHECK(tile_reader_entries(r, 70000 / 256 + 1, &entries, &count) == MERKLE_ERR_ARG);
  CHECK(tile_reader_entries(r, 8, &entries, &count) == 0);
  tile_reader_free(r);
  /* A wrong root: nothing at all can be read. */
  root[0] ^= 1;
  r = tile_reader_new(l->size, root, mem_fetch, l);
  uint8_t out[1][32];
  CHECK(tile_reader_nodes(r, 0, 0, 1, out) != 0);
  tile_reader_free(r);
  mem_log_free(l);
}

int main(void) {
  CHECK_RUN(test_path_vectors);
  CHECK_RUN(test_path_rejects_malformed);
  CHECK_RUN(test_widths_and_node_placement);
  CHECK_RUN(test_bundles);
  CHECK_RUN(test_stored_prefix);
  CHECK_RUN(test_reader_honest_log);
  CHECK_RUN(test_reader_rejects_forged_tiles_70000);
  return check_finish();
}
