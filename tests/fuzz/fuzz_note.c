/* Fuzz target: signed notes, checkpoints, tlog-proof texts, verifier keys and
 * entry bundles from untrusted bytes. No crash, no read past the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "merkle/note.h"
#include "merkle/tile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* Copy into an exact-size heap buffer so ASan sees any overread. */
  char *text = malloc(size ? size : 1);
  if (!text) return 0;
  memcpy(text, data, size);
  char err[256];
  static note_verifier v;
  static int have_v;
  if (!have_v) {
    const char *k = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
    have_v = note_verifier_parse(&v, k, strlen(k), err, sizeof err) == 0;
  }
  size_t tlen;
  checkpoint c;
  if (note_verify(&v, text, size, &tlen, err, sizeof err) == 0 && tlen >= size) abort();
  /* An opened checkpoint's origin is the verifier's name (note.h's contract). */
  if (checkpoint_open(&v, text, size, &c, err, sizeof err) == 0 && strcmp(c.origin, v.name) != 0)
    abort();
  if (checkpoint_parse(&c, text, size, err, sizeof err) == 0) {
    char back[1024];
    size_t blen;
    if (checkpoint_format(&c, back, sizeof back, &blen, err, sizeof err) != 0) abort();
  }
  note_verifier pv;
  if (note_verifier_parse(&pv, text, size, err, sizeof err) == 0 && pv.name[0] == 0) abort();
  uint64_t index;
  uint8_t proof[MERKLE_MAX_PROOF][32];
  size_t plen, nlen;
  const char *note;
  if (tlog_proof_parse(text, size, &index, proof, MERKLE_MAX_PROOF, &plen, &note, &nlen, err, sizeof err) == 0)
    if (note < text || note + nlen > text + size) abort();
  tile_bundle_entry entries[256];
  for (size_t expect = 0; expect <= 3; expect++) {
    if (tile_bundle_parse(data, size, expect, entries) != 0) continue;
    /* Accepted: exactly expect non-empty entries, each inside the input. */
    for (size_t i = 0; i < expect; i++)
      if (entries[i].len == 0 || entries[i].data < data || entries[i].data + entries[i].len > data + size)
        abort();
  }
  uint8_t out[1024];
  note_base64_decode(text, size, out, sizeof out);
  free(text);
  return 0;
}
