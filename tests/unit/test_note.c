/* Tests of merkle/note.h against golang.org/x/mod/sumdb/note's published example
 * (note_test.go and the package documentation: the PeterNeumann key and note) and
 * the C2SP signed-note example key. Ed25519 is deterministic, so our signature must
 * equal Go's byte for byte. */
#include "merkle/note.h"
#include "tests/lib/check.h"

static const char go_vkey[] = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
static const char go_skey_b64[] = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"; /* 0x01 || seed */
static const char go_text[] =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n";
static const char go_note[] =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
    "\n"
    "\xe2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

static void go_signer(note_signer *s) {
  uint8_t key[33];
  CHECK(note_base64_decode(go_skey_b64, strlen(go_skey_b64), key, sizeof key) == 33);
  CHECK(key[0] == 1);
  char err[128];
  CHECK(note_signer_from_seed(s, "PeterNeumann", key + 1, err, sizeof err) == 0);
}

static void test_go_signature_byte_for_byte(void) {
  note_signer s;
  go_signer(&s);
  char out[1024], err[128];
  size_t len;
  CHECK_FATAL(note_sign(&s, go_text, strlen(go_text), out, sizeof out, &len, err, sizeof err) == 0);
  CHECK(len == strlen(go_note));
  CHECK(memcmp(out, go_note, strlen(go_note)) == 0);
  char vkey[256];
  CHECK(note_verifier_format(&s.verifier, vkey, sizeof vkey, &len, err, sizeof err) == 0);
  CHECK(strcmp(vkey, go_vkey) == 0);
}

static void test_verify_go_note(void) {
  note_verifier v;
  char err[128];
  CHECK_FATAL(note_verifier_parse(&v, go_vkey, strlen(go_vkey), err, sizeof err) == 0);
  size_t tlen = 0;
  CHECK(note_verify(&v, go_note, strlen(go_note), &tlen, err, sizeof err) == 0);
  CHECK(tlen == strlen(go_text));
  /* Any change of the text or the signature breaks it. */
  char bad[512];
  size_t n = strlen(go_note);
  for (size_t i = 0; i < n; i++) {
    memcpy(bad, go_note, n);
    bad[i] ^= 0x01;
    if (note_verify(&v, bad, n, &tlen, err, sizeof err) == 0) {
      check_fail(__FILE__, __LINE__, "a note with one changed byte verified");
      break;
    }
  }
  /* A second signature line by another key is ignored; by the same key, refused. */
  char two[1024];
  int k = snprintf(two, sizeof two, "%s\xe2\x80\x94 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n", go_note);
  CHECK(note_verify(&v, two, (size_t)k, &tlen, err, sizeof err) == 0);
  k = snprintf(two, sizeof two, "%s\xe2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n", go_note);
  CHECK(note_verify(&v, two, (size_t)k, &tlen, err, sizeof err) != 0);
  /* No signature by our key at all. */
  const char *other = "hello\n\n\xe2\x80\x94 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";
  CHECK(note_verify(&v, other, strlen(other), &tlen, err, sizeof err) != 0);
  /* Malformed: no blank line, missing final newline, control characters, bad UTF-8. */
  const char *malformed[] = {
      "text\n\xe2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
      "text\n\n\xe2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=",
      "te\x01xt\n\n\xe2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
      "te\xffxt\n\n\xe2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
      "text\n\n- PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
      "",
  };
  for (size_t i = 0; i < sizeof malformed / sizeof *malformed; i++)
    CHECK(note_verify(&v, malformed[i], strlen(malformed[i]), &tlen, err, sizeof err) != 0);
}

static void test_verifier_key_parsing(void) {
  note_verifier v;
  char err[128];
  const char *spec_key = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
  CHECK(note_verifier_parse(&v, spec_key, strlen(spec_key), err, sizeof err) == 0);
  CHECK(strcmp(v.name, "example.com/foo") == 0);
  char back[256];
  size_t len;
  CHECK(note_verifier_format(&v, back, sizeof back, &len, err, sizeof err) == 0);
  CHECK(strcmp(back, spec_key) == 0);
  /* Every truncation and every single-byte change of a key is refused. */
  size_t n = strlen(go_vkey);
  char buf[128];
  for (size_t i = 0; i < n; i++) {
    CHECK(note_verifier_parse(&v, go_vkey, i, err, sizeof err) != 0);
    memcpy(buf, go_vkey, n);
    buf[i] = (char)(buf[i] + 1);
    if (note_verifier_parse(&v, buf, n, err, sizeof err) == 0) check_fail(__FILE__, __LINE__, "mangled key accepted");
  }
}

static void test_checkpoint_roundtrip(void) {
  note_signer s;
  go_signer(&s);
  uint8_t seed[32] = {7};
  char err[128];
  CHECK_FATAL(note_signer_from_seed(&s, "example.org/xordi/log", seed, err, sizeof err) == 0);
  checkpoint c = {"example.org/xordi/log", 1234, {1, 2, 3}};
  char body[512], note[1024];
  size_t blen, nlen;
  CHECK_FATAL(checkpoint_format(&c, body, sizeof body, &blen, err, sizeof err) == 0);
  CHECK(strcmp(body, "example.org/xordi/log\n1234\nAQIDAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n") == 0);
  CHECK_FATAL(note_sign(&s, body, blen, note, sizeof note, &nlen, err, sizeof err) == 0);
  checkpoint got;
  CHECK(checkpoint_open(&s.verifier, note, nlen, &got, err, sizeof err) == 0);
  CHECK(got.size == 1234 && memcmp(got.root, c.root, 32) == 0 && strcmp(got.origin, c.origin) == 0);
  /* Bodies that are not checkpoints. */
  const char *bad[] = {
      "example.org/xordi/log\n01234\nAQIDAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
      "example.org/xordi/log\n-1\nAQIDAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
      "example.org/xordi/log\n18446744073709551616\nAQIDAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
      "example.org/xordi/log\n12\nAQIDAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n",
      "example.org/xordi/log\n12\nAQIDAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
      "example.org/xordi/log\n12\n",
      "\n12\nAQIDAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
      "example.org/xordi/log\n12\nAQIDAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    CHECK(checkpoint_parse(&got, bad[i], strlen(bad[i]), err, sizeof err) != 0);
  const char *ext = "example.org/xordi/log\n12\nAQIDAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\nextension line\n";
  CHECK(checkpoint_parse(&got, ext, strlen(ext), err, sizeof err) == 0 && got.size == 12);
  /* A checkpoint signed by the right key but for another origin is refused. */
  note_signer other;
  CHECK(note_signer_from_seed(&other, "example.org/other", seed, err, sizeof err) == 0);
  CHECK(note_sign(&other, body, blen, note, sizeof note, &nlen, err, sizeof err) == 0);
  CHECK(checkpoint_open(&other.verifier, note, nlen, &got, err, sizeof err) != 0);
}

static void test_tlog_proof_roundtrip(void) {
  uint8_t proof[3][32];
  for (int i = 0; i < 3; i++) memset(proof[i], i + 1, 32);
  const char *note = "log\n5\nAQIDAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n\xe2\x80\x94 log AAAA\n";
  char out[2048], err[128];
  size_t len;
  CHECK_FATAL(tlog_proof_format(3, (const uint8_t(*)[32])proof, 3, note, strlen(note), out, sizeof out, &len, err, sizeof err) == 0);
  CHECK(strncmp(out, "c2sp.org/tlog-proof@v1\nindex 3\nAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\n", 75) == 0);
  uint64_t index;
  uint8_t got[8][32];
  size_t plen, nlen;
  const char *gnote;
  CHECK(tlog_proof_parse(out, len, &index, got, 8, &plen, &gnote, &nlen, err, sizeof err) == 0);
  CHECK(index == 3 && plen == 3 && memcmp(got, proof, sizeof proof) == 0);
  CHECK(nlen == strlen(note) && memcmp(gnote, note, nlen) == 0);
  CHECK(tlog_proof_parse(out, len, &index, got, 2, &plen, &gnote, &nlen, err, sizeof err) != 0);
  CHECK(tlog_proof_parse("c2sp.org/tlog-proof@v1\nindex x\n\n", 32, &index, got, 8, &plen, &gnote, &nlen, err, sizeof err) != 0);
}

/* Failures say what kind they are (merkle_status), not only that they failed. */
static void test_status_values(void) {
  note_verifier v;
  char err[128];
  size_t tlen = 0;
  CHECK_FATAL(note_verifier_parse(&v, go_vkey, strlen(go_vkey), err, sizeof err) == MERKLE_OK);
  CHECK(note_verifier_parse(&v, "bad", 3, err, sizeof err) == MERKLE_ERR_FORMAT);
  CHECK_FATAL(note_verifier_parse(&v, go_vkey, strlen(go_vkey), err, sizeof err) == MERKLE_OK);
  const char *other = "hello\n\n\xe2\x80\x94 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";
  CHECK(note_verify(&v, other, strlen(other), &tlen, err, sizeof err) == MERKLE_ERR_SIGNATURE);
  CHECK(strstr(err, "no signature by") != NULL);
  CHECK(note_verify(&v, "text\n", 5, &tlen, err, sizeof err) == MERKLE_ERR_FORMAT);
  char bad[512];
  size_t n = strlen(go_note);
  memcpy(bad, go_note, n);
  bad[n - 10] ^= 0x01; /* inside the base64 signature */
  CHECK(note_verify(&v, bad, n, &tlen, err, sizeof err) == MERKLE_ERR_SIGNATURE);
  checkpoint c;
  CHECK(checkpoint_parse(&c, "log\n01\nAAAA\n", 13, err, sizeof err) == MERKLE_ERR_FORMAT);
  memset(&c, 0, sizeof c);
  snprintf(c.origin, sizeof c.origin, "example.com/log");
  char small[8];
  size_t len;
  CHECK(checkpoint_format(&c, small, sizeof small, &len, err, sizeof err) == MERKLE_ERR_SPACE);
  c.origin[0] = 0;
  CHECK(checkpoint_format(&c, bad, sizeof bad, &len, err, sizeof err) == MERKLE_ERR_ARG);
  for (int a = MERKLE_ERR_CRYPTO; a <= MERKLE_OK; a++)
    for (int b = MERKLE_ERR_CRYPTO; b < a; b++)
      CHECK(strcmp(merkle_status_str(a), merkle_status_str(b)) != 0);
}

static void test_base64_strict(void) {
  uint8_t out[16];
  CHECK(note_base64_decode("AQID", 4, out, sizeof out) == 3);
  CHECK(note_base64_decode("AQI=", 4, out, sizeof out) == 2);
  CHECK(note_base64_decode("AQ==", 4, out, sizeof out) == 1);
  CHECK(note_base64_decode("", 0, out, sizeof out) == 0);
  CHECK(note_base64_decode("AQI", 3, out, sizeof out) < 0);
  CHECK(note_base64_decode("A QI", 4, out, sizeof out) < 0);
  CHECK(note_base64_decode("A=QI", 4, out, sizeof out) < 0);
  CHECK(note_base64_decode("AQ\nI", 4, out, sizeof out) < 0);
  CHECK(note_base64_decode("AQIDBA==", 8, out, 3) < 0);
}

int main(void) {
  CHECK_RUN(test_go_signature_byte_for_byte);
  CHECK_RUN(test_verify_go_note);
  CHECK_RUN(test_verifier_key_parsing);
  CHECK_RUN(test_checkpoint_roundtrip);
  CHECK_RUN(test_tlog_proof_roundtrip);
  CHECK_RUN(test_base64_strict);
  CHECK_RUN(test_status_values);
  return check_finish();
}
