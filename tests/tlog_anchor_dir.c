/* tlog-anchor-dir: anchors checkpoints of a static log directory (tlog-mklog's) on a
 * TreeHeadAnchor contract, so tlog's chain tests audit a log whose heads are really on
 * chain. Proofs come from the directory's tiles through the authenticating reader.
 *
 * usage: tlog-anchor-dir --rpc URL --contract 0xC --key KEYFILE --log DIR --sizes S1,S2,...
 *   each S needs DIR/v1/checkpoints/S (or is the size of DIR/checkpoint); the verifier
 *   key is DIR/verifier-key unless --vkey VKEY. --log may also be a logd URL.
 *   Prints "anchored S 0xTX" per head. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anchor/anchor.h"
#include "base/file.h"
#include "base/hex.h"
#include "base/num.h"
#include "client/common.h"

int main(int argc, char **argv) {
  const char *rpc = NULL, *contract = NULL, *keyfile = NULL, *dir = NULL, *sizes = NULL, *vkey = NULL;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--rpc")) rpc = argv[i + 1];
    else if (!strcmp(argv[i], "--contract")) contract = argv[i + 1];
    else if (!strcmp(argv[i], "--key")) keyfile = argv[i + 1];
    else if (!strcmp(argv[i], "--log")) dir = argv[i + 1];
    else if (!strcmp(argv[i], "--sizes")) sizes = argv[i + 1];
    else if (!strcmp(argv[i], "--vkey")) vkey = argv[i + 1];
  }
  if (!rpc || !contract || !keyfile || !dir || !sizes) {
    fprintf(stderr, "usage: tlog-anchor-dir --rpc URL --contract 0xC --key KEYFILE --log DIR --sizes S1,S2,...\n");
    return 2;
  }
  char err[600], vpath[4096];
  snprintf(vpath, sizeof vpath, "%s/verifier-key", dir);
  tlog_log l;
  if (tlog_log_open(&l, dir, vkey ? vkey : vpath, err, sizeof err)) {
    fprintf(stderr, "tlog-anchor-dir: %s\n", err);
    return 2;
  }
  uint8_t *kd;
  size_t kl;
  uint8_t priv[32];
  if (xt_file_read(keyfile, 200, &kd, &kl, err, sizeof err)) {
    fprintf(stderr, "tlog-anchor-dir: %s\n", err);
    return 2;
  }
  while (kl && (kd[kl - 1] == '\n' || kd[kl - 1] == ' ')) kd[--kl] = 0;
  if (xt_hex_decode_exact((const char *)kd, XT_HEX_0X, priv, 32)) {
    fprintf(stderr, "tlog-anchor-dir: bad key file\n");
    return 2;
  }
  free(kd);
  anchor_client *c = anchor_client_new(rpc, contract, priv, NULL, err, sizeof err);
  if (!c) {
    fprintf(stderr, "tlog-anchor-dir: %s\n", err);
    return 2;
  }
  tile_reader *r = tile_reader_new(l.cp.c.size, l.cp.c.root, log_source_tile_fetcher, l.src);
  uint8_t log_id[32];
  anchor_log_id(l.cp.c.origin, log_id);
  int rc = 0;
  for (const char *p = sizes; *p && !rc;) {
    size_t len = strcspn(p, ",");
    uint64_t s;
    if (xt_parse_u64n(p, len, 0, 0, UINT64_MAX, &s) != XT_OK) {
      fprintf(stderr, "tlog-anchor-dir: --sizes: not a list of decimal sizes\n");
      rc = 2;
      break;
    }
    p += len;
    if (*p == ',') p++;
    tlog_checkpoint cp;
    char path[64];
    if (s == l.cp.c.size) snprintf(path, sizeof path, "checkpoint");
    else snprintf(path, sizeof path, "v1/checkpoints/%llu", (unsigned long long)s);
    if (tlog_fetch_checkpoint(l.src, &l.v, path, &cp, NULL, err, sizeof err)) {
      fprintf(stderr, "tlog-anchor-dir: %s\n", err);
      rc = 2;
      break;
    }
    uint8_t ch[32], tx[32];
    tlog_sha256(cp.note, cp.note_len, ch);
    int ar = anchor_submit_tree(c, log_id, cp.c.size, cp.c.root, ch, tile_reader_nodes, r, tx, err, sizeof err);
    if (ar < 0) {
      fprintf(stderr, "tlog-anchor-dir: anchoring %llu: %s\n", (unsigned long long)s, err);
      rc = 1;
    } else {
      char th[65];
      xt_hex_encode(tx, 32, th);
      printf("anchored %llu 0x%s\n", (unsigned long long)s, th);
    }
    tlog_checkpoint_clear(&cp);
  }
  tile_reader_free(r);
  anchor_client_free(c);
  tlog_log_close(&l);
  return rc;
}
