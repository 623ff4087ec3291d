/* note.c: C2SP signed-note (Ed25519), tlog-checkpoint and tlog-proof.
 *
 * The verification rules follow golang.org/x/mod/sumdb/note's Open: valid UTF-8 with
 * no control characters but newline; the signature block follows the last blank
 * line; each line is "\u2014 name base64"; lines by unknown keys are skipped. */
#include "merkle/note.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/hex.h"
#include "base/num.h"
#include "merkle/sha256.h"

static const char em_dash[] = "\xe2\x80\x94 "; /* "\u2014 " */
#define EM_DASH_LEN 4

/* Fills err (xt_errf: a cut message ends in "...") and returns status. */
static merkle_status fail(char *err, size_t errcap, merkle_status status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static merkle_status fail(char *err, size_t errcap, merkle_status status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  xt_verrf(err, errcap, fmt, ap);
  va_end(ap);
  return status;
}

/* ---- base64 ---- */

static int b64_value(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

int note_base64_decode(const char *in, size_t len, uint8_t *out, size_t cap) {
  /* OpenSSL's decoder skips white space and ignores padding rules, so the alphabet
   * and padding are checked here first; the decoding itself is OpenSSL's. */
  if (len % 4 != 0 || len > (size_t)INT32_MAX) return -1;
  size_t pad = 0;
  if (len >= 1 && in[len - 1] == '=') pad++;
  if (len >= 2 && in[len - 2] == '=') pad++;
  for (size_t i = 0; i < len - pad; i++)
    if (b64_value((unsigned char)in[i]) < 0) return -1;
  size_t n = len / 4 * 3 - pad;
  if (n > cap) return -1;
  if (len == 0) return 0;
  uint8_t *tmp = malloc(len / 4 * 3);
  if (!tmp) return -1;
  int got = EVP_DecodeBlock(tmp, (const unsigned char *)in, (int)len);
  if (got < 0 || (size_t)got != len / 4 * 3) {
    free(tmp);
    return -1;
  }
  memcpy(out, tmp, n);
  free(tmp);
  return (int)n;
}

int note_base64_encode(const uint8_t *in, size_t len, char *out, size_t cap) {
  size_t need = (len + 2) / 3 * 4;
  if (need + 1 > cap || len > (size_t)INT32_MAX / 2) return -1;
  int n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);
  return n;
}

/* ---- keys ---- */

static int valid_name(const char *name, size_t len) {
  if (len == 0 || len > NOTE_NAME_MAX) return 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)name[i];
    /* Go's isValidName: no Unicode space and no '+'; we also refuse control bytes
     * and non-ASCII, which keeps names unambiguous in every tool. */
    if (c <= 0x20 || c == '+' || c >= 0x7f) return 0;
  }
  return 1;
}

static void key_hash(const char *name, size_t name_len, const uint8_t pub[32], uint8_t out[4]) {
  uint8_t buf[NOTE_NAME_MAX + 2 + 32];
  memcpy(buf, name, name_len);
  buf[name_len] = '\n';
  buf[name_len + 1] = 0x01; /* algorithm: Ed25519 */
  memcpy(buf + name_len + 2, pub, 32);
  uint8_t h[32];
  sha256_two(buf, name_len + 2 + 32, NULL, 0, h);
  memcpy(out, h, 4);
}

merkle_status note_signer_from_seed(note_signer *s, const char *name, const uint8_t seed[32], char *err,
                          size_t errcap) {
  size_t name_len = strlen(name);
  if (!valid_name(name, name_len)) return fail(err, errcap, MERKLE_ERR_ARG, "invalid key name '%.64s'", name);
  EVP_PKEY *pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
  if (!pkey) return fail(err, errcap, MERKLE_ERR_CRYPTO, "cannot load the Ed25519 key");
  size_t publen = 32;
  int ok = EVP_PKEY_get_raw_public_key(pkey, s->verifier.public_key, &publen) == 1 && publen == 32;
  EVP_PKEY_free(pkey);
  if (!ok) return fail(err, errcap, MERKLE_ERR_CRYPTO, "cannot derive the Ed25519 public key");
  memcpy(s->verifier.name, name, name_len + 1);
  key_hash(name, name_len, s->verifier.public_key, s->verifier.key_hash);
  memcpy(s->seed, seed, 32);
  return MERKLE_OK;
}

merkle_status note_verifier_format(const note_verifier *v, char *buf, size_t cap, size_t *len, char *err,
                         size_t errcap) {
  uint8_t key[33];
  key[0] = 0x01;
  memcpy(key + 1, v->public_key, 32);
  char b64[64];
  if (note_base64_encode(key, sizeof key, b64, sizeof b64) < 0) return fail(err, errcap, MERKLE_ERR_CRYPTO, "encoding failed");
  int n = snprintf(buf, cap, "%s+%02x%02x%02x%02x+%s", v->name, v->key_hash[0], v->key_hash[1],
                   v->key_hash[2], v->key_hash[3], b64);
  if (n < 0 || (size_t)n >= cap) return fail(err, errcap, MERKLE_ERR_SPACE, "verifier key does not fit the buffer");
  if (len) *len = (size_t)n;
  return MERKLE_OK;
}


merkle_status note_verifier_parse(note_verifier *v, const char *text, size_t len, char *err, size_t errcap) {
  /* Tolerate one trailing newline: verifier keys usually come from files. */
  if (len > 0 && text[len - 1] == '\n') len--;
  const char *plus1 = memchr(text, '+', len);
  if (!plus1) return fail(err, errcap, MERKLE_ERR_FORMAT, "verifier key: want <name>+<hash>+<key>");
  size_t name_len = (size_t)(plus1 - text);
  if (!valid_name(text, name_len)) return fail(err, errcap, MERKLE_ERR_FORMAT, "verifier key: invalid name");
  const char *rest = plus1 + 1;
  size_t rest_len = len - name_len - 1;
  if (rest_len < 9 || rest[8] != '+') return fail(err, errcap, MERKLE_ERR_FORMAT, "verifier key: want 8 hex digits of key hash");
  uint8_t hash[4];
  if (xt_hex_decode(rest, 8, XT_HEX_LOWER, hash, 4, NULL) != XT_OK) return fail(err, errcap, MERKLE_ERR_FORMAT, "verifier key: key hash is not lowercase hex");
  uint8_t key[33];
  int n = note_base64_decode(rest + 9, rest_len - 9, key, sizeof key);
  if (n != 33) return fail(err, errcap, MERKLE_ERR_FORMAT, "verifier key: key is not base64 of 33 bytes");
  if (key[0] != 0x01) return fail(err, errcap, MERKLE_ERR_FORMAT, "verifier key: algorithm %u is not Ed25519 (1)", key[0]);
  uint8_t want[4];
  key_hash(text, name_len, key + 1, want);
  if (memcmp(want, hash, 4) != 0) return fail(err, errcap, MERKLE_ERR_FORMAT, "verifier key: key hash does not match name and key");
  memcpy(v->name, text, name_len);
  v->name[name_len] = 0;
  memcpy(v->key_hash, hash, 4);
  memcpy(v->public_key, key + 1, 32);
  return MERKLE_OK;
}

/* ---- notes ---- */

/* Valid UTF-8, no control characters but '\n'. */
static int text_is_clean(const char *s, size_t len) {
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  while (i < len) {
    unsigned char c = p[i];
    if (c < 0x80) {
      if (c < 0x20 && c != '\n') return 0;
      if (c == 0x7f) return 0;
      i++;
      continue;
    }
    size_t n;
    uint32_t cp;
    if ((c & 0xe0) == 0xc0) { n = 2; cp = c & 0x1f; }
    else if ((c & 0xf0) == 0xe0) { n = 3; cp = c & 0x0f; }
    else if ((c & 0xf8) == 0xf0) { n = 4; cp = c & 0x07; }
    else return 0;
    if (len - i < n) return 0;
    for (size_t k = 1; k < n; k++) {
      if ((p[i + k] & 0xc0) != 0x80) return 0;
      cp = cp << 6 | (p[i + k] & 0x3f);
    }
    /* Overlong forms, surrogates and values past U+10FFFF are not UTF-8. */
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
      return 0;
    i += n;
  }
  return 1;
}

/* The last signing key, kept for the next signature: building an EVP_PKEY from the
 * seed derives the public key and goes through the provider's key import, as much CPU
 * as the signature itself, and logd signs with one key every checkpoint interval.
 * Returns a new reference (the caller frees it) or NULL. */
static pthread_mutex_t key_mu = PTHREAD_MUTEX_INITIALIZER;
static EVP_PKEY *key_cached;
static uint8_t key_seed[32];

static EVP_PKEY *signing_key(const uint8_t seed[32]) {
  pthread_mutex_lock(&key_mu);
  if (!key_cached || CRYPTO_memcmp(key_seed, seed, 32)) {
    EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
    if (!k) {
      pthread_mutex_unlock(&key_mu);
      return NULL;
    }
    EVP_PKEY_free(key_cached);
    key_cached = k;
    memcpy(key_seed, seed, 32);
  }
  EVP_PKEY *k = EVP_PKEY_up_ref(key_cached) == 1 ? key_cached : NULL;
  pthread_mutex_unlock(&key_mu);
  return k;
}

merkle_status note_sign(const note_signer *s, const char *text, size_t text_len, char *out, size_t cap,
              size_t *out_len, char *err, size_t errcap) {
  if (text_len == 0 || text[text_len - 1] != '\n') return fail(err, errcap, MERKLE_ERR_ARG, "note text must end in a newline");
  if (text_len > NOTE_MAX_SIZE) return fail(err, errcap, MERKLE_ERR_ARG, "note text too large");
  if (!text_is_clean(text, text_len)) return fail(err, errcap, MERKLE_ERR_ARG, "note text must be UTF-8 without control characters");
  /* A blank line inside the text would make the signature block ambiguous. */
  for (size_t i = 0; i + 1 < text_len; i++)
    if (text[i] == '\n' && text[i + 1] == '\n') return fail(err, errcap, MERKLE_ERR_ARG, "note text must not contain a blank line");
  uint8_t sig[4 + 64];
  memcpy(sig, s->verifier.key_hash, 4);
  EVP_PKEY *pkey = signing_key(s->seed);
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  size_t siglen = 64;
  int ok = pkey && ctx && EVP_DigestSignInit(ctx, NULL, NULL, NULL, pkey) == 1 &&
           EVP_DigestSign(ctx, sig + 4, &siglen, (const unsigned char *)text, text_len) == 1 &&
           siglen == 64;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(pkey);
  if (!ok) return fail(err, errcap, MERKLE_ERR_CRYPTO, "Ed25519 signing failed");
  char b64[128];
  if (note_base64_encode(sig, sizeof sig, b64, sizeof b64) < 0) return fail(err, errcap, MERKLE_ERR_CRYPTO, "encoding failed");
  int n = snprintf(out, cap, "%.*s\n%s%s %s\n", (int)text_len, text, em_dash, s->verifier.name, b64);
  if (n < 0 || (size_t)n >= cap) return fail(err, errcap, MERKLE_ERR_SPACE, "signed note does not fit the buffer");
  if (out_len) *out_len = (size_t)n;
  return MERKLE_OK;
}

static int ed25519_verify(const uint8_t pub[32], const char *msg, size_t len, const uint8_t sig[64]) {
  EVP_PKEY *pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, 32);
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  int ok = pkey && ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) == 1 &&
           EVP_DigestVerify(ctx, sig, 64, (const unsigned char *)msg, len) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(pkey);
  return ok;
}

merkle_status note_verify(const note_verifier *v, const char *note, size_t len, size_t *text_len, char *err,
                size_t errcap) {
  if (len > NOTE_MAX_SIZE) return fail(err, errcap, MERKLE_ERR_FORMAT, "note too large");
  if (!text_is_clean(note, len)) return fail(err, errcap, MERKLE_ERR_FORMAT, "malformed note: not UTF-8 text");
  size_t split = 0;
  int found = 0;
  for (size_t i = len; i-- > 1;)
    if (note[i] == '\n' && note[i - 1] == '\n') {
      split = i - 1;
      found = 1;
      break;
    }
  if (!found) return fail(err, errcap, MERKLE_ERR_FORMAT, "malformed note: no signature block");
  size_t tlen = split + 1;
  const char *sigs = note + split + 2;
  size_t sigs_len = len - split - 2;
  if (sigs_len == 0 || sigs[sigs_len - 1] != '\n') return fail(err, errcap, MERKLE_ERR_FORMAT, "malformed note: signature block must end in a newline");
  size_t name_len = strlen(v->name);
  int verified = 0, lines = 0;
  char others[160] = ""; /* key ids of the signatures by other keys, for the message */
  size_t olen = 0;
  while (sigs_len > 0) {
    const char *nl = memchr(sigs, '\n', sigs_len);
    size_t line_len = (size_t)(nl - sigs);
    const char *line = sigs;
    sigs = nl + 1;
    sigs_len -= line_len + 1;
    if (++lines > 100) return fail(err, errcap, MERKLE_ERR_FORMAT, "malformed note: too many signatures");
    if (line_len < EM_DASH_LEN || memcmp(line, em_dash, EM_DASH_LEN) != 0)
      return fail(err, errcap, MERKLE_ERR_FORMAT, "malformed note: signature line does not start with an em dash");
    line += EM_DASH_LEN;
    line_len -= EM_DASH_LEN;
    const char *sp = memchr(line, ' ', line_len);
    if (!sp) return fail(err, errcap, MERKLE_ERR_FORMAT, "malformed note: signature line without a name");
    size_t nlen = (size_t)(sp - line);
    uint8_t sig[128];
    int slen = note_base64_decode(sp + 1, line_len - nlen - 1, sig, sizeof sig);
    if (!valid_name(line, nlen) || slen < 5) return fail(err, errcap, MERKLE_ERR_FORMAT, "malformed note: bad signature line");
    if (nlen != name_len || memcmp(line, v->name, nlen) != 0 || memcmp(sig, v->key_hash, 4) != 0) {
      /* someone else's signature, e.g. a witness's; kept to name it if ours is missing */
      int w = snprintf(others + olen, sizeof others - olen, "%s%.*s+%02x%02x%02x%02x", olen ? ", " : "",
                       (int)nlen, line, sig[0], sig[1], sig[2], sig[3]);
      if (w > 0 && (size_t)w < sizeof others - olen) olen += (size_t)w;
      else others[olen] = 0; /* what did not fit is left out of the message only */
      continue;
    }
    if (verified) return fail(err, errcap, MERKLE_ERR_SIGNATURE, "note carries two signatures by %s", v->name);
    if (slen != 4 + 64 || !ed25519_verify(v->public_key, note, tlen, sig + 4))
      return fail(err, errcap, MERKLE_ERR_SIGNATURE, "invalid signature by %s", v->name);
    verified = 1;
  }
  if (!verified)
    return fail(err, errcap, MERKLE_ERR_SIGNATURE, "note has no signature by %s+%02x%02x%02x%02x (the key given); %s%s",
                v->name, v->key_hash[0], v->key_hash[1], v->key_hash[2], v->key_hash[3],
                olen ? "it is signed by " : "it carries no other signature", others);
  if (text_len) *text_len = tlen;
  return MERKLE_OK;
}

/* ---- checkpoints ---- */

merkle_status checkpoint_format(const checkpoint *c, char *buf, size_t cap, size_t *len, char *err, size_t errcap) {
  if (!valid_name(c->origin, strlen(c->origin))) return fail(err, errcap, MERKLE_ERR_ARG, "invalid origin");
  char b64[64];
  if (note_base64_encode(c->root, MERKLE_HASH_SIZE, b64, sizeof b64) < 0) return fail(err, errcap, MERKLE_ERR_CRYPTO, "encoding failed");
  int n = snprintf(buf, cap, "%s\n%llu\n%s\n", c->origin, (unsigned long long)c->size, b64);
  if (n < 0 || (size_t)n >= cap) return fail(err, errcap, MERKLE_ERR_SPACE, "checkpoint does not fit the buffer");
  if (len) *len = (size_t)n;
  return MERKLE_OK;
}

/* Sizes and indexes: canonical decimal, no sign, no leading zero (base/num.h). */
static int parse_u64_strict(const char *s, size_t len, uint64_t *out) {
  return xt_parse_u64n(s, len, XT_NUM_CANONICAL, 0, UINT64_MAX, out) == XT_OK ? 0 : -1;
}

merkle_status checkpoint_parse(checkpoint *c, const char *text, size_t len, char *err, size_t errcap) {
  if (len == 0 || text[len - 1] != '\n') return fail(err, errcap, MERKLE_ERR_FORMAT, "checkpoint must end in a newline");
  const char *lines[3];
  size_t lens[3];
  const char *p = text, *end = text + len;
  for (int i = 0; i < 3; i++) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl) return fail(err, errcap, MERKLE_ERR_FORMAT, "checkpoint has fewer than 3 lines");
    lines[i] = p;
    lens[i] = (size_t)(nl - p);
    p = nl + 1;
  }
  /* Extension lines may follow; each must be non-empty. */
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (nl == p) return fail(err, errcap, MERKLE_ERR_FORMAT, "checkpoint has an empty extension line");
    p = nl + 1;
  }
  checkpoint out;
  if (!valid_name(lines[0], lens[0])) return fail(err, errcap, MERKLE_ERR_FORMAT, "checkpoint origin is not a valid name");
  memcpy(out.origin, lines[0], lens[0]);
  out.origin[lens[0]] = 0;
  if (parse_u64_strict(lines[1], lens[1], &out.size) != 0) return fail(err, errcap, MERKLE_ERR_FORMAT, "checkpoint size is not a decimal number");
  if (note_base64_decode(lines[2], lens[2], out.root, sizeof out.root) != MERKLE_HASH_SIZE)
    return fail(err, errcap, MERKLE_ERR_FORMAT, "checkpoint root is not base64 of 32 bytes");
  *c = out;
  return MERKLE_OK;
}

merkle_status checkpoint_open(const note_verifier *v, const char *note, size_t len, checkpoint *out, char *err,
                    size_t errcap) {
  size_t tlen = 0; /* set by note_verify on success; 0 keeps the analyzer certain of it */
  merkle_status rc = note_verify(v, note, len, &tlen, err, errcap);
  if (rc != MERKLE_OK) return rc;
  checkpoint c;
  if ((rc = checkpoint_parse(&c, note, tlen, err, errcap)) != MERKLE_OK) return rc;
  if (strcmp(c.origin, v->name) != 0) return fail(err, errcap, MERKLE_ERR_SIGNATURE, "checkpoint origin '%s' is not the key's name '%s'", c.origin, v->name);
  *out = c;
  return MERKLE_OK;
}

/* ---- tlog-proof ---- */

static const char proof_header[] = "c2sp.org/tlog-proof@v1\n";

merkle_status tlog_proof_format(uint64_t index, const uint8_t (*proof)[MERKLE_HASH_SIZE], size_t proof_len,
                      const char *checkpoint_note, size_t note_len, char *out, size_t cap,
                      size_t *out_len, char *err, size_t errcap) {
  size_t pos = 0;
  int n = snprintf(out, cap, "%sindex %llu\n", proof_header, (unsigned long long)index);
  if (n < 0 || (size_t)n >= cap) return fail(err, errcap, MERKLE_ERR_SPACE, "proof does not fit the buffer");
  pos = (size_t)n;
  for (size_t i = 0; i < proof_len; i++) {
    char b64[64];
    int k = note_base64_encode(proof[i], MERKLE_HASH_SIZE, b64, sizeof b64);
    if (k < 0 || cap - pos < (size_t)k + 2) return fail(err, errcap, MERKLE_ERR_SPACE, "proof does not fit the buffer");
    memcpy(out + pos, b64, (size_t)k);
    pos += (size_t)k;
    out[pos++] = '\n';
  }
  if (cap - pos < note_len + 2) return fail(err, errcap, MERKLE_ERR_SPACE, "proof does not fit the buffer");
  out[pos++] = '\n';
  memcpy(out + pos, checkpoint_note, note_len);
  pos += note_len;
  out[pos] = 0;
  if (out_len) *out_len = pos;
  return MERKLE_OK;
}

merkle_status tlog_proof_parse(const char *text, size_t len, uint64_t *index, uint8_t (*proof)[MERKLE_HASH_SIZE],
                     size_t cap, size_t *proof_len, const char **note, size_t *note_len, char *err,
                     size_t errcap) {
  const size_t hlen = sizeof proof_header - 1;
  if (len < hlen || memcmp(text, proof_header, hlen) != 0) return fail(err, errcap, MERKLE_ERR_FORMAT, "not a c2sp.org/tlog-proof@v1 text");
  const char *p = text + hlen, *end = text + len;
  const char *nl = memchr(p, '\n', (size_t)(end - p));
  if (nl && (size_t)(nl - p) > 6 && memcmp(p, "extra ", 6) == 0) p = nl + 1; /* opaque; not used here */
  nl = memchr(p, '\n', (size_t)(end - p));
  if (!nl || (size_t)(nl - p) < 7 || memcmp(p, "index ", 6) != 0 ||
      parse_u64_strict(p + 6, (size_t)(nl - p - 6), index) != 0)
    return fail(err, errcap, MERKLE_ERR_FORMAT, "tlog-proof: bad index line");
  p = nl + 1;
  size_t n = 0;
  for (;;) {
    nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl) return fail(err, errcap, MERKLE_ERR_FORMAT, "tlog-proof: missing blank line before the checkpoint");
    if (nl == p) {
      p++;
      break;
    }
    if (n >= cap) return fail(err, errcap, MERKLE_ERR_SPACE, "tlog-proof: too many proof hashes");
    if (note_base64_decode(p, (size_t)(nl - p), proof[n], MERKLE_HASH_SIZE) != MERKLE_HASH_SIZE)
      return fail(err, errcap, MERKLE_ERR_FORMAT, "tlog-proof: proof line %zu is not base64 of 32 bytes", n + 1);
    n++;
    p = nl + 1;
  }
  *proof_len = n;
  *note = p;
  *note_len = (size_t)(end - p);
  return MERKLE_OK;
}
