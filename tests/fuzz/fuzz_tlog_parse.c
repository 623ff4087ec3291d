/* Fuzz target: the parsers tlog applies to outside bytes: decimal numbers and hex from
 * the command line and from JSON (base/num.h and base/hex.h, called as tlog calls them),
 * dates, a bundle's anchors.json (client/anchors.h), and checkpoint notes
 * (client/common.h). Byte 0 picks the parser.
 * Properties: numbers and dates that parse print back to the same text; anchors that
 * load print (tlog_anchors_json) to JSON that loads back to the same anchors. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/hex.h"
#include "base/num.h"
#include "client/anchors.h"
#include "client/common.h"

static int load_anchors_bytes(const char *p, size_t n, tlog_anchors *out) {
  /* anchors come from a file: hand over the bytes through a memory file. */
  int fd = memfd_create("anchors", 0);
  if (fd < 0) return -1;
  int rc = -1;
  if (write(fd, p, n) == (ssize_t)n) {
    char path[64], err[512];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    rc = tlog_anchors_load(path, out, err, sizeof err);
    if (rc && !err[0]) abort();
  }
  close(fd);
  return rc;
}

static int strict_date(const char *s) {
  static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  for (int i = 0; i < 10; i++)
    if (i == 4 || i == 7 ? s[i] != '-' : (s[i] < '0' || s[i] > '9')) return 0;
  if (s[10]) return 0;
  int y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
  int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m >= 1 && m <= 12 && d >= 1 && d <= mdays[m - 1] - (m == 2 && !leap);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  char *s = malloc(size);
  if (!s) return 0;
  memcpy(s, data + 1, size - 1);
  s[size - 1] = 0;
  size_t n = size - 1;
  switch (data[0] % 5) {
  case 0: {
    uint64_t v;
    if (xt_parse_u64(s, 0, 0, UINT64_MAX, &v) == 0) {
      char back[32];
      snprintf(back, sizeof back, "%llu", (unsigned long long)v);
      /* Leading zeros are the one non-canonical form a decimal reader may accept. */
      const char *t = s;
      while (t[0] == '0' && t[1]) t++;
      if (strcmp(back, t)) abort();
    }
    break;
  }
  case 1: {
    uint8_t out[32];
    char back[65];
    if (xt_hex_decode_exact(s, XT_HEX_0X, out, sizeof out) == 0) {
      xt_hex_encode(out, sizeof out, back);
      const char *t = (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) ? s + 2 : s;
      if (strcasecmp(back, t)) abort();
    }
    break;
  }
  case 2: {
    uint64_t t;
    /* Whatever the date parser accepts is a strictly written, real date, and it
     * writes back to the same bytes. */
    if (tlog_parse_date(s, &t) == 0) {
      if (!strict_date(s)) abort();
      char back[11];
      tlog_date(t, back);
      if (strcmp(back, s)) abort();
    }
    break;
  }
  case 3: {
    tlog_anchors a;
    if (load_anchors_bytes(s, n, &a) == 0) {
      json_t *j = tlog_anchors_json(&a);
      char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
      json_decref(j);
      if (!text) abort();
      tlog_anchors b;
      if (load_anchors_bytes(text, strlen(text), &b) || b.n != a.n ||
          (a.n && memcmp(a.a, b.a, a.n * sizeof *a.a)))
        abort();
      free(text);
      tlog_anchors_free(&b);
      tlog_anchors_free(&a);
    }
    break;
  }
  default: {
    static note_verifier v;
    static int have_v;
    char err[512];
    if (!have_v) {
      have_v = tlog_load_verifier("example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
                                  &v, err, sizeof err) == 0;
      if (!have_v) abort();
    }
    tlog_checkpoint cp;
    memset(&cp, 0, sizeof cp);
    if (tlog_checkpoint_from_text(&v, s, n, &cp, err, sizeof err) == 0) tlog_checkpoint_clear(&cp);
    else if (!err[0]) abort();
    note_verifier pv;
    err[0] = 0;
    if (tlog_load_verifier(s, &pv, err, sizeof err) != TLOG_OK && !err[0]) abort(); /* a refusal says why */
  }
  }
  free(s);
  return 0;
}
