/* test_base.c: base/ against hand-computed values and the edge cases each helper exists
 * for (signs and overflow in numbers, odd or foreign hex, bounds, atomic replacement). */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/file.h"
#include "base/hex.h"
#include "base/num.h"
#include "base/time.h"
#include "tests/lib/check.h"

static void hex_round_trip(void) {
  uint8_t in[4] = {0x00, 0xab, 0x7f, 0xff}, out[4];
  char text[11];
  xt_hex_encode(in, 4, text);
  CHECK(!strcmp(text, "00ab7fff"));
  xt_hex_encode0x(in, 4, text);
  CHECK(!strcmp(text, "0x00ab7fff"));
  size_t n = 0;
  CHECK(xt_hex_decode("00AB7fff", 8, 0, out, 4, &n) == XT_OK && n == 4);
  CHECK_EQ_MEM(in, out, 4);
  CHECK(xt_hex_decode("0x00ab7fff", 10, XT_HEX_0X, out, 4, &n) == XT_OK && n == 4);
  CHECK(xt_hex_decode("", 0, 0, out, 4, &n) == XT_OK && n == 0);
  /* Every byte value, against printf's digits. */
  uint8_t all[256];
  char all_text[513], want[3];
  for (int i = 0; i < 256; i++) all[i] = (uint8_t)i;
  xt_hex_encode(all, 256, all_text);
  CHECK(strlen(all_text) == 512);
  int same = 1;
  for (int i = 0; i < 256; i++) {
    snprintf(want, sizeof want, "%02x", i);
    same &= !memcmp(all_text + 2 * i, want, 2);
  }
  CHECK(same);
}

static void hex_rejects(void) {
  uint8_t out[4];
  size_t n = 99;
  CHECK(xt_hex_decode("0x00", 4, 0, out, 4, &n) == XT_EINVAL); /* prefix not allowed */
  CHECK(xt_hex_decode("abc", 3, 0, out, 4, &n) == XT_EINVAL);
  CHECK(xt_hex_decode("zz", 2, 0, out, 4, &n) == XT_EINVAL);
  CHECK(xt_hex_decode("AB", 2, XT_HEX_LOWER, out, 4, &n) == XT_EINVAL);
  CHECK(xt_hex_decode("0011223344", 10, 0, out, 4, &n) == XT_ETOOBIG);
  CHECK(n == 99);
  CHECK(xt_hex_decode_exact("001122", 0, out, 4) == XT_EINVAL);
  CHECK(xt_hex_decode_exact("0011223344", 0, out, 4) == XT_EINVAL);
  CHECK(xt_hex_decode_exact("0x00112233", 0, out, 4) == XT_EINVAL);
  CHECK(xt_hex_decode_exact("0x00112233", XT_HEX_0X, out, 4) == XT_OK && out[3] == 0x33);
  CHECK(xt_hex_decode_exact(NULL, 0, out, 4) == XT_EINVAL);
  CHECK(xt_hex_decode_exact("0g112233", 0, out, 4) == XT_EINVAL);
}

static void hex_alloc(void) {
  uint8_t *p = NULL;
  size_t n = 7;
  CHECK(xt_hex_decode_alloc("0x", XT_HEX_0X, &p, &n) == XT_OK && p && n == 0);
  free(p);
  p = NULL;
  CHECK(xt_hex_decode_alloc("0102", 0, &p, &n) == XT_OK && n == 2 && p[1] == 2);
  free(p);
  p = NULL;
  CHECK(xt_hex_decode_alloc("010", 0, &p, &n) == XT_EINVAL && p == NULL);
}

static void numbers(void) {
  uint64_t v = 5;
  CHECK(xt_parse_u64("0", 0, 0, UINT64_MAX, &v) == XT_OK && v == 0);
  CHECK(xt_parse_u64("18446744073709551615", 0, 0, UINT64_MAX, &v) == XT_OK && v == UINT64_MAX);
  v = 5;
  CHECK(xt_parse_u64("18446744073709551616", 0, 0, UINT64_MAX, &v) == XT_ERANGE && v == 5);
  CHECK(xt_parse_u64("99999999999999999999999", 0, 0, UINT64_MAX, &v) == XT_ERANGE);
  CHECK(xt_parse_u64("-1", 0, 0, UINT64_MAX, &v) == XT_EINVAL);
  CHECK(xt_parse_u64("+1", 0, 0, UINT64_MAX, &v) == XT_EINVAL);
  CHECK(xt_parse_u64(" 1", 0, 0, UINT64_MAX, &v) == XT_EINVAL);
  CHECK(xt_parse_u64("1 ", 0, 0, UINT64_MAX, &v) == XT_EINVAL);
  CHECK(xt_parse_u64("", 0, 0, UINT64_MAX, &v) == XT_EINVAL);
  CHECK(xt_parse_u64(NULL, 0, 0, UINT64_MAX, &v) == XT_EINVAL);
  CHECK(xt_parse_u64("0x10", 0, 0, UINT64_MAX, &v) == XT_EINVAL);
  CHECK(xt_parse_u64("007", 0, 0, 10, &v) == XT_OK && v == 7);
  CHECK(xt_parse_u64("007", XT_NUM_CANONICAL, 0, 10, &v) == XT_EINVAL);
  CHECK(xt_parse_u64("11", 0, 0, 10, &v) == XT_ERANGE);
  CHECK(xt_parse_u64("0", 0, 1, 10, &v) == XT_ERANGE);
  CHECK(xt_parse_u64n("123abc", 3, 0, 0, 1000, &v) == XT_OK && v == 123);
}

static void messages(void) {
  char err[8];
  xt_errf(err, sizeof err, "%s", "short");
  CHECK(!strcmp(err, "short"));
  xt_errf(err, sizeof err, "%s", "much longer than eight");
  CHECK(!strcmp(err, "much..."));
  xt_errf(NULL, 0, "ignored %d", 1);
  CHECK(!strcmp(xt_err_str(XT_OK), "ok"));
  CHECK(!strcmp(xt_err_str(XT_ETOOBIG), "too large"));
}

static char dir[] = "/tmp/xt-test-base-XXXXXX";

static void files(void) {
  CHECK_FATAL(mkdtemp(dir) != NULL);
  char path[256], err[256];
  snprintf(path, sizeof path, "%s/f", dir);
  CHECK(xt_file_write_atomic(path, "first", 5, 0600, err, sizeof err) == XT_OK);
  CHECK(xt_file_write_atomic(path, "second", 6, 0600, err, sizeof err) == XT_OK);
  uint8_t *d = NULL;
  size_t n = 0;
  CHECK_FATAL(xt_file_read(path, 6, &d, &n, err, sizeof err) == XT_OK);
  CHECK(n == 6 && !memcmp(d, "second", 7)); /* NUL included */
  free(d);
  d = NULL;
  CHECK(xt_file_read(path, 5, &d, &n, err, sizeof err) == XT_ETOOBIG && d == NULL);
  CHECK(strstr(err, "larger than 5") != NULL);
  struct stat st;
  CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
  snprintf(path, sizeof path, "%s/missing/f", dir);
  CHECK(xt_file_write_atomic(path, "x", 1, 0600, err, sizeof err) == XT_EIO);
  CHECK(strstr(err, "No such file") != NULL);
  CHECK(xt_file_read(path, 10, &d, &n, err, sizeof err) == XT_EIO);
  /* Nothing but f is left in the directory: no temporary file survives. */
  DIR *d2 = opendir(dir);
  CHECK_FATAL(d2 != NULL);
  int others = 0, seen_f = 0;
  for (struct dirent *de; (de = readdir(d2)) != NULL;) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
    if (!strcmp(de->d_name, "f")) seen_f = 1;
    else others++;
  }
  closedir(d2);
  CHECK(seen_f && others == 0);
  snprintf(path, sizeof path, "%s/f", dir);
  CHECK(unlink(path) == 0 && rmdir(dir) == 0);
}

static void large_file(void) {
  char path[] = "/tmp/xt-test-base-big-XXXXXX";
  int fd = mkstemp(path);
  CHECK_FATAL(fd >= 0);
  static uint8_t block[100000];
  memset(block, 'a', sizeof block);
  CHECK(write(fd, block, sizeof block) == (ssize_t)sizeof block);
  close(fd);
  uint8_t *d = NULL;
  size_t n = 0;
  char err[128];
  CHECK(xt_file_read(path, sizeof block, &d, &n, err, sizeof err) == XT_OK && n == sizeof block);
  CHECK(d && d[n] == 0);
  free(d);
  CHECK(xt_file_read(path, sizeof block - 1, &d, &n, err, sizeof err) == XT_ETOOBIG);
  unlink(path);
}

static void buffers(void) {
  xt_buf b = xt_buf_make(10);
  CHECK(xt_buf_append(&b, "hello", 5) == XT_OK);
  CHECK(xt_buf_curl_write("world", 1, 5, &b) == 5);
  CHECK(b.len == 10 && !memcmp(b.data, "helloworld", 11));
  CHECK(xt_buf_curl_write("!", 1, 1, &b) == 0 && b.overflow && b.len == 10);
  CHECK(xt_buf_curl_write("!", SIZE_MAX, 2, &b) == 0);
  xt_buf_free(&b);
  CHECK(b.data == NULL && b.len == 0 && b.max == 10);
}

static void times(void) {
  time_t t = 0;
  CHECK(xt_parse_rfc3339("2025-06-19T10:32:27Z", &t) == XT_OK && t == 1750329147);
  CHECK(xt_parse_rfc3339("2025-06-19T12:32:27.123+02:00", &t) == XT_OK && t == 1750329147);
  CHECK(xt_parse_rfc3339("2025-06-19T10:32:27", &t) == XT_EINVAL);
  CHECK(xt_parse_rfc3339("2025-13-19T10:32:27Z", &t) == XT_EINVAL);
  CHECK(xt_parse_rfc3339("2025-06-19T10:32:27Z ", &t) == XT_EINVAL);
  CHECK(xt_parse_rfc3339(NULL, &t) == XT_EINVAL);
  char out[21];
  CHECK(xt_format_rfc3339(1750329147, out, sizeof out) == XT_OK);
  CHECK(!strcmp(out, "2025-06-19T10:32:27Z"));
  CHECK(xt_format_rfc3339(1750329147, out, 20) == XT_ETOOBIG && out[0] == 0);
}

int main(void) {
  CHECK_RUN(times);
  CHECK_RUN(hex_round_trip);
  CHECK_RUN(hex_rejects);
  CHECK_RUN(hex_alloc);
  CHECK_RUN(numbers);
  CHECK_RUN(messages);
  CHECK_RUN(files);
  CHECK_RUN(large_file);
  CHECK_RUN(buffers);
  return check_finish();
}
