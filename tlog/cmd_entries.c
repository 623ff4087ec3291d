/* cmd_entries.c: `tlog entries`: prints entries read from entry bundles whose every
 * entry was checked against the authenticated level-0 tile (tile_reader_entries). */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "base/err.h"
#include "base/hex.h"
#include "base/num.h"
#include "client/common.h"
#include "tlog/commands.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: tlog entries --log URL|DIR --key VKEY [--start S] [--count C] [--json] [--quiet]\n"
          "\n"
          "Prints entries S .. S+C-1 (default: all of the latest checkpoint's tree), each\n"
          "checked against the signed tree before it is printed.\n"
          "  text output: one line per entry, \"<index> <entry JSON>\" (entries that are\n"
          "               not printable single-line text are shown as a JSON string)\n"
          "  --json:      a JSON array of {index, leaf_hash, entry}, entry being the\n"
          "               decoded JSON object (or the raw bytes as a string)\n"
          "Exit status: 0 verified, 1 verification failed, 2 usage or I/O error.\n");
}

static bool plain_text(const uint8_t *d, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (d[i] < 0x20 || d[i] == 0x7f) return false;
  return true;
}

/* One entry: a JSON array element (first: no comma before it), or "<index> <entry>"
 * (entries that are not printable text as a JSON string). */
static void print_entry(uint64_t idx, const tile_bundle_entry *e, bool json, bool first) {
  if (json) {
    uint8_t h[MERKLE_HASH_SIZE];
    char hex[65];
    merkle_leaf_hash(e->data, e->len, h);
    xt_hex_encode(h, MERKLE_HASH_SIZE, hex);
    json_t *ej = json_loadb((const char *)e->data, e->len, JSON_DECODE_ANY, NULL);
    if (!ej) ej = json_stringn_nocheck((const char *)e->data, e->len);
    json_t *o = json_pack("{s:I,s:s,s:o}", "index", (json_int_t)idx, "leaf_hash", hex, "entry", ej);
    fputs(first ? "\n  " : ",\n  ", stdout);
    json_dumpf(o, stdout, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
  } else if (plain_text(e->data, e->len)) {
    printf("%llu ", (unsigned long long)idx);
    fwrite(e->data, 1, e->len, stdout);
    fputc('\n', stdout);
  } else {
    json_t *s = json_stringn_nocheck((const char *)e->data, e->len);
    printf("%llu ", (unsigned long long)idx);
    json_dumpf(s, stdout, JSON_ENCODE_ANY);
    fputc('\n', stdout);
    json_decref(s);
  }
}

int cmd_entries(int argc, char **argv) {
  static const struct option opts[] = {{"log", required_argument, 0, 'l'},
                                       {"key", required_argument, 0, 'k'},
                                       {"start", required_argument, 0, 's'},
                                       {"count", required_argument, 0, 'c'},
                                       {"json", no_argument, 0, 'j'},
                                       {"quiet", no_argument, 0, 'q'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  const char *log = NULL, *key = NULL, *start_arg = NULL, *count_arg = NULL;
  bool json = false, quiet = false;
  int c;
  optind = 1;
  while ((c = tlog_getopt("entries", argc, argv, opts)) != -1) {
    switch (c) {
    case 'l': log = optarg; break;
    case 'k': key = optarg; break;
    case 's': start_arg = optarg; break;
    case 'c': count_arg = optarg; break;
    case 'j': json = true; break;
    case 'q': quiet = true; break;
    case 'h': usage(stdout); return TLOG_EXIT_OK;
    default: return TLOG_EXIT_USAGE;
    }
  }
  if (tlog_no_extra_args("entries", argc, argv) || tlog_require("entries", log, "--log") ||
      tlog_require("entries", key, "--key"))
    return TLOG_EXIT_USAGE;
  const char *cmd = "entries";
  char err[600];
  uint64_t start = 0, count = UINT64_MAX;
  if (start_arg && xt_parse_u64(start_arg, 0, 0, UINT64_MAX, &start) != 0)
    return tlog_usage_error(cmd, "--start '%s' is not a decimal integer", start_arg);
  if (count_arg && xt_parse_u64(count_arg, 0, 0, UINT64_MAX, &count) != 0)
    return tlog_usage_error(cmd, "--count '%s' is not a decimal integer", count_arg);
  tlog_log l;
  int rc = tlog_log_open(&l, log, key, err, sizeof err);
  if (rc) return tlog_fail(cmd, json, rc, err);
  uint64_t size = l.cp.c.size;
  if (start > size || (start == size && count_arg && count > 0)) {
    xt_errf(err, sizeof err, "--start %llu is beyond the log's size %llu",
             (unsigned long long)start, (unsigned long long)size);
    tlog_log_close(&l);
    return tlog_fail(cmd, json, TLOG_EXIT_USAGE, err);
  }
  if (count > size - start) count = size - start;
  uint64_t end = start + count;
  tile_reader *r = tile_reader_new(size, l.cp.c.root, log_source_tile_fetcher, l.src);
  if (!r) {
    tlog_log_close(&l);
    return tlog_fail(cmd, json, TLOG_EXIT_USAGE, "out of memory");
  }
  uint64_t fails = log_source_failures(l.src);
  tlog_progress p;
  tlog_progress_init(&p, quiet || isatty(1), "entries", count);
  if (json) fputs("[", stdout);
  bool first = true;
  for (uint64_t b = start / TILE_WIDTH; start < end && b <= (end - 1) / TILE_WIDTH; b++) {
    const tile_bundle_entry *e;
    size_t n;
    if (tile_reader_entries(r, b, &e, &n) != 0) {
      if (json) fputs("]\n", stdout);
      tlog_progress_done(&p);
      xt_errf(err, sizeof err, "%s", tile_reader_error(r));
      rc = tlog_reader_failure(l.src, fails);
      fflush(stdout);
      tile_reader_free(r);
      tlog_log_close(&l);
      return tlog_fail(cmd, false, rc, err);
    }
    for (size_t i = 0; i < n; i++) {
      uint64_t idx = b * TILE_WIDTH + i;
      if (idx < start || idx >= end) continue;
      print_entry(idx, &e[i], json, first);
      first = false;
    }
    tlog_progress_update(&p, (b + 1) * TILE_WIDTH - start);
  }
  tlog_progress_done(&p);
  if (json) fputs(first ? "]\n" : "\n]\n", stdout);
  tile_reader_free(r);
  tlog_log_close(&l);
  return TLOG_EXIT_OK;
}
