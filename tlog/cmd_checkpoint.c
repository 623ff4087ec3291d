/* cmd_checkpoint.c: `tlog checkpoint`: fetch the log's latest checkpoint and verify
 * its signature with the given key. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hex.h"
#include "client/common.h"
#include "tlog/commands.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: tlog checkpoint --log URL|DIR --key VKEY [--out FILE] [--json] [--quiet]\n"
          "\n"
          "Fetches the log's latest checkpoint and verifies its Ed25519 signature.\n"
          "  --log URL|DIR  the log's base URL (http[s]://...) or a directory with the\n"
          "                 same paths (e.g. a `tlog export` bundle)\n"
          "  --key VKEY     the note verifier key (name+hash+base64), or a file holding it\n"
          "  --out FILE     also save the verified checkpoint note (for `consistency --old`)\n"
          "  --json         print {verified, origin, size, root, root_base64, checkpoint}\n"
          "  --quiet        print nothing: the exit status says it (a failure is still\n"
          "                 named on stderr)\n"
          "Exit status: 0 verified, 1 verification failed, 2 usage or I/O error.\n");
}

int cmd_checkpoint(int argc, char **argv) {
  static const struct option opts[] = {{"log", required_argument, 0, 'l'},
                                       {"key", required_argument, 0, 'k'},
                                       {"out", required_argument, 0, 'o'},
                                       {"json", no_argument, 0, 'j'},
                                       {"quiet", no_argument, 0, 'q'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  const char *log = NULL, *key = NULL, *out = NULL;
  bool json = false, quiet = false;
  int c;
  optind = 1;
  while ((c = tlog_getopt("checkpoint", argc, argv, opts)) != -1) {
    switch (c) {
    case 'l': log = optarg; break;
    case 'k': key = optarg; break;
    case 'o': out = optarg; break;
    case 'j': json = true; break;
    case 'q': quiet = true; break;
    case 'h': usage(stdout); return TLOG_EXIT_OK;
    default: return TLOG_EXIT_USAGE;
    }
  }
  if (tlog_no_extra_args("checkpoint", argc, argv) || tlog_require("checkpoint", log, "--log") ||
      tlog_require("checkpoint", key, "--key"))
    return TLOG_EXIT_USAGE;
  tlog_log l;
  char err[512];
  int rc = tlog_log_open(&l, log, key, err, sizeof err);
  if (rc) return tlog_fail("checkpoint", json && !quiet, rc, err);
  if (out && tlog_write_file(out, l.cp.note, l.cp.note_len, err, sizeof err) != 0) {
    tlog_log_close(&l);
    return tlog_fail("checkpoint", json && !quiet, TLOG_EXIT_USAGE, err);
  }
  char hex[2 * MERKLE_HASH_SIZE + 1], b64[64];
  xt_hex_encode(l.cp.c.root, MERKLE_HASH_SIZE, hex);
  note_base64_encode(l.cp.c.root, MERKLE_HASH_SIZE, b64, sizeof b64);
  if (quiet) {
    /* the exit status is the answer */
  } else if (json) {
    json_t *o = json_pack("{s:b,s:s,s:I,s:s,s:s,s:s%}", "verified", 1, "origin", l.cp.c.origin,
                          "size", (json_int_t)l.cp.c.size, "root", hex, "root_base64", b64,
                          "checkpoint", l.cp.note, l.cp.note_len);
    int jr = tlog_json_print(o);
    json_decref(o);
    if (jr) {
      tlog_log_close(&l);
      return tlog_fail("checkpoint", false, TLOG_EXIT_USAGE, "out of memory");
    }
  } else {
    printf("checkpoint verified\n");
    printf("origin  %s\n", l.cp.c.origin);
    printf("size    %llu\n", (unsigned long long)l.cp.c.size);
    printf("root    %s\n", hex);
    printf("        (base64 %s)\n", b64);
  }
  tlog_log_close(&l);
  return TLOG_EXIT_OK;
}
