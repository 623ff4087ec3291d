/* Collateral over time for the audit (client/collateral.h): an archive holding the two
 * real collaterals of tests/data/tdx (June 2025, February 2026) answers by time, the
 * audit's options take the one valid at a quote's time, and the real quote verifies
 * with it as of that time (UpToDate), not with today's clock. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/file.h"
#include "base/hex.h"
#include "base/time.h"
#include "client/collateral.h"
#include "tests/lib/check.h"
#include "dstack/quote.h"

#include <openssl/evp.h>

static char dir[256];
static const char *td;

static int copy_doc(const char *src, const char *name, char sha[65], time_t *lo, time_t *hi) {
  char in[512], out[512], err[200];
  snprintf(in, sizeof in, "%s/tdx/%s", td, src);
  snprintf(out, sizeof out, "%s/collateral/%s.json", dir, name);
  uint8_t *d = NULL, h[32];
  size_t n = 0;
  if (xt_file_read(in, 1 << 22, &d, &n, err, sizeof err) != XT_OK) return -1;
  tdx_collateral *c = tdx_collateral_parse((const char *)d, n, err, sizeof err);
  int rc = c && tdx_collateral_window(c, lo, hi) == 0 &&
                   xt_file_write_atomic(out, d, n, 0644, err, sizeof err) == XT_OK
               ? 0
               : -1;
  EVP_Digest(d, n, h, NULL, EVP_sha256(), NULL);
  xt_hex_encode(h, 32, sha);
  tdx_collateral_free(c);
  free(d);
  return rc;
}

static void make_archive(void) {
  char sha1[65], sha2[65], path[512], idx[1024], err[200];
  time_t lo1, hi1, lo2, hi2;
  snprintf(path, sizeof path, "%s/collateral", dir);
  CHECK_FATAL(mkdir(path, 0700) == 0);
  CHECK_FATAL(copy_doc("tdx_quote_collateral.json", "1750400000", sha1, &lo1, &hi1) == 0);
  CHECK_FATAL(copy_doc("tdx_quote_outdated_collateral.json", "1771500000", sha2, &lo2, &hi2) == 0);
  int n = snprintf(idx, sizeof idx,
                   "{\"collateral\":[{\"name\":\"1750400000\",\"fetched_at\":1750400000,\"not_before\":%lld,"
                   "\"not_after\":%lld,\"sha256\":\"%s\"},{\"name\":\"1771500000\",\"fetched_at\":1771500000,"
                   "\"not_before\":%lld,\"not_after\":%lld,\"sha256\":\"%s\"}]}",
                   (long long)lo1, (long long)hi1, sha1, (long long)lo2, (long long)hi2, sha2);
  snprintf(path, sizeof path, "%s/collateral/index.json", dir);
  CHECK_FATAL(xt_file_write_atomic(path, idx, (size_t)n, 0644, err, sizeof err) == XT_OK);
}

static time_t at(const char *s) {
  time_t t = 0;
  if (xt_parse_rfc3339(s, &t) != XT_OK) return 0;
  return t;
}

static void test_apply_by_time(void) {
  char err[300];
  log_source *src = log_source_open(dir, err, sizeof err);
  CHECK_FATAL(src);
  tlog_collateral_cache cache = {0};
  codeid_opts o = {.now = at("2026-12-01T00:00:00Z")};
  CHECK(tlog_collateral_apply(&cache, src, at("2025-07-01T00:00:00Z"), &o));
  CHECK(o.collateral && o.now == at("2025-07-01T00:00:00Z"));
  /* The real quote of that platform verifies with it, as of the quote's time. */
  uint8_t *raw = NULL;
  size_t rlen = 0, qlen = 0;
  char path[512];
  snprintf(path, sizeof path, "%s/tdx/tdx_quote", td);
  CHECK_FATAL(xt_file_read(path, 1 << 20, &raw, &rlen, err, sizeof err) == XT_OK);
  uint8_t *q = tdx_quote_decode_file_bytes(raw, rlen, &qlen, err, sizeof err);
  tdx_quote tq;
  tdx_verdict v;
  CHECK_FATAL(q && tdx_quote_parse(&tq, q, qlen, err, sizeof err) == 0);
  CHECK(tdx_quote_verify(&tq, o.collateral, o.now, &v) == TDX_VERIFIED && !strcmp(v.status, "UpToDate"));
  /* The same collateral with today's clock would be expired. */
  CHECK(tdx_quote_verify(&tq, o.collateral, at("2026-12-01T00:00:00Z"), &v) != TDX_VERIFIED);
  /* Within the window the cache answers without reading the archive again. */
  const tdx_collateral *first = o.collateral;
  snprintf(path, sizeof path, "%s/collateral/1750400000.json", dir);
  char keep[600];
  snprintf(keep, sizeof keep, "%s.kept", path);
  CHECK_FATAL(rename(path, keep) == 0);
  codeid_opts o2 = {0};
  CHECK(tlog_collateral_apply(&cache, src, at("2025-07-10T00:00:00Z"), &o2) && o2.collateral == first);
  CHECK_FATAL(rename(keep, path) == 0);
  /* Another time, another document. */
  codeid_opts o3 = {0};
  CHECK(tlog_collateral_apply(&cache, src, at("2026-03-01T00:00:00Z"), &o3) && o3.collateral &&
        o3.now == at("2026-03-01T00:00:00Z"));
  /* No document covers December 2025: the options stay as they were. */
  codeid_opts o4 = {.now = 42};
  CHECK(!tlog_collateral_apply(&cache, src, at("2025-12-01T00:00:00Z"), &o4) && !o4.collateral && o4.now == 42);
  /* The auditor's own --collateral wins. */
  codeid_opts o5 = {.collateral = first, .now = 7};
  CHECK(!tlog_collateral_apply(&cache, src, at("2026-03-01T00:00:00Z"), &o5) && o5.collateral == first &&
        o5.now == 7);
  tlog_collateral_cache_free(&cache);
  free(q);
  free(raw);
  log_source_free(src);
}

static void test_no_archive(void) {
  char err[300];
  log_source *src = log_source_open(td, err, sizeof err);
  CHECK_FATAL(src);
  tdx_collateral *c = NULL;
  CHECK(tlog_collateral_at(src, at("2025-07-01T00:00:00Z"), &c, NULL, 0, err, sizeof err) ==
        TLOG_COLLATERAL_NOARCHIVE);
  tlog_collateral_cache cache = {0};
  codeid_opts o = {0};
  CHECK(!tlog_collateral_apply(&cache, src, at("2025-07-01T00:00:00Z"), &o) && cache.no_archive);
  tlog_collateral_cache_free(&cache);
  log_source_free(src);
}

static void test_anchor_time_covering(void) {
  tlog_anchor a[3] = {{.size = 5, .time = 100}, {.size = 9, .time = 200}, {.size = 20, .time = 300}};
  tlog_anchors an = {.a = a, .n = 3, .cap = 3};
  CHECK(tlog_anchor_time_covering(&an, 0) == 100);
  CHECK(tlog_anchor_time_covering(&an, 4) == 100);
  CHECK(tlog_anchor_time_covering(&an, 5) == 200);
  CHECK(tlog_anchor_time_covering(&an, 19) == 300);
  CHECK(tlog_anchor_time_covering(&an, 20) == 0);
}

int main(void) {
  td = getenv("XT_TESTDATA") ? getenv("XT_TESTDATA") : "tests/data";
  snprintf(dir, sizeof dir, "/tmp/xt-collateral-archive.XXXXXX");
  if (!mkdtemp(dir)) return 2;
  CHECK_RUN(make_archive);
  CHECK_RUN(test_apply_by_time);
  CHECK_RUN(test_no_archive);
  CHECK_RUN(test_anchor_time_covering);
  static const char *const files[] = {"collateral/1750400000.json", "collateral/1771500000.json",
                                      "collateral/index.json", "collateral", NULL};
  for (const char *const *f = files; *f; f++) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, *f);
    if (remove(p) != 0) return 2;
  }
  if (rmdir(dir) != 0) return 2;
  return check_finish();
}
