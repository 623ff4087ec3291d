/* note.h: C2SP signed-note with Ed25519, tlog-checkpoint bodies, tlog-proof texts.
 *
 * Contract: a note is text ending in "\n", a blank line, then one or more lines
 * "\u2014 <name> <base64(key hash (4 bytes, big-endian) || signature)>\n". The key
 * hash is the first 4 bytes of SHA-256(name || "\n" || 0x01 || pubkey); the verifier
 * key string is "<name>+<8 hex key hash>+<base64(0x01 || pubkey)>". A checkpoint body
 * is "<origin>\n<decimal size>\n<base64 root>\n" plus optional extension lines.
 * Output is byte-for-byte what golang.org/x/mod/sumdb/note produces.
 *
 * All functions return a merkle_status (note_base64_*: a length or -1): MERKLE_OK, or
 * MERKLE_ERR_FORMAT (malformed input text), MERKLE_ERR_SIGNATURE (no valid signature by
 * the key), MERKLE_ERR_SPACE (the output buffer is too small), MERKLE_ERR_ARG (a bad
 * name or note text to sign), MERKLE_ERR_CRYPTO; on failure they write a message into
 * err (the caller's buffer of errcap bytes). Nothing allocates; out
 * arguments are the caller's and unspecified on failure. Public: logd and tlog. */
#ifndef XT_MERKLE_NOTE_H
#define XT_MERKLE_NOTE_H

#include <stddef.h>
#include <stdint.h>

#include "merkle/merkle.h"

#define NOTE_NAME_MAX 255
#define NOTE_MAX_SIGNATURES 16
/* Bodies and whole notes larger than this are rejected before parsing. */
#define NOTE_MAX_SIZE 16384

typedef struct note_verifier {
  char name[NOTE_NAME_MAX + 1];
  uint8_t key_hash[4];
  uint8_t public_key[32];
} note_verifier;

typedef struct note_signer {
  note_verifier verifier;
  uint8_t seed[32]; /* the Ed25519 private key (RFC 8032 seed) */
} note_signer;

/* Names are non-empty, at most 255 bytes, no white space, no '+'. */
merkle_status note_signer_from_seed(note_signer *s, const char *name, const uint8_t seed[32],
                          char *err, size_t errcap);
merkle_status note_verifier_format(const note_verifier *v, char *buf, size_t cap, size_t *len,
                         char *err, size_t errcap);
merkle_status note_verifier_parse(note_verifier *v, const char *text, size_t len, char *err, size_t errcap) MERKLE_MUST_USE;

/* Signs text (which must end in "\n" and contain no NUL) and writes the whole note.
 * Thread-safe. Keeps the last key it signed with (one, process-wide, in OpenSSL's
 * memory) for the next call, so a caller that wipes its seed leaves that copy. */
merkle_status note_sign(const note_signer *s, const char *text, size_t text_len, char *out, size_t cap,
              size_t *out_len, char *err, size_t errcap);
/* Verifies that the note carries a valid signature by v (other signers' lines are
 * ignored, a second line by the same key is an error) and sets *text_len to the
 * length of the signed text. */
merkle_status note_verify(const note_verifier *v, const char *note, size_t len, size_t *text_len,
                char *err, size_t errcap) MERKLE_MUST_USE;

typedef struct checkpoint {
  char origin[NOTE_NAME_MAX + 1];
  uint64_t size;
  uint8_t root[MERKLE_HASH_SIZE];
} checkpoint;

merkle_status checkpoint_format(const checkpoint *c, char *buf, size_t cap, size_t *len, char *err,
                      size_t errcap);
/* Parses a checkpoint body (the signed text); extension lines are allowed and ignored. */
merkle_status checkpoint_parse(checkpoint *c, const char *text, size_t len, char *err, size_t errcap) MERKLE_MUST_USE;
/* note_verify + checkpoint_parse + the origin must equal the key name. */
merkle_status checkpoint_open(const note_verifier *v, const char *note, size_t len, checkpoint *out,
                    char *err, size_t errcap) MERKLE_MUST_USE;

/* C2SP tlog-proof: "c2sp.org/tlog-proof@v1\n[extra <b64>\n]index <i>\n<b64 hash>\n...\n\n<note>". */
merkle_status tlog_proof_format(uint64_t index, const uint8_t (*proof)[MERKLE_HASH_SIZE], size_t proof_len,
                      const char *checkpoint_note, size_t note_len, char *out, size_t cap,
                      size_t *out_len, char *err, size_t errcap);
/* Parses a tlog-proof; *note points into text. */
merkle_status tlog_proof_parse(const char *text, size_t len, uint64_t *index,
                     uint8_t (*proof)[MERKLE_HASH_SIZE], size_t cap, size_t *proof_len,
                     const char **note, size_t *note_len, char *err, size_t errcap) MERKLE_MUST_USE;

/* Strict standard base64 with padding (what Go's StdEncoding accepts). Returns the
 * decoded length, or -1. */
int note_base64_decode(const char *in, size_t len, uint8_t *out, size_t cap);
/* Returns the encoded length (without NUL), or -1 if cap is too small. */
int note_base64_encode(const uint8_t *in, size_t len, char *out, size_t cap);

#endif
