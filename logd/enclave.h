/* enclave.h: logd's keys, submitter tokens, boot entry and quotes, in enclave mode
 * (dstack's guest agent over its unix socket) and in --dev mode (no quotes).
 *
 * Contract (DESIGN.md section 7): in enclave mode every key comes from GetKey with its
 * own path (ENCLAVE_PATH_*), never from files; code identity comes from quotes:
 *   - at start logd appends a `boot` entry (submitter "logd") whose quote_sha256 names a
 *     quote with report_data = SHA-256("xordi-tlog-boot-v1" || "logd" || checkpoint
 *     public key (32 bytes) || anchor address (20 bytes, when there is one));
 *   - every anchored checkpoint gets a quote with report_data = SHA-256(
 *     "xordi-tlog-checkpoint-v1" || signed checkpoint note), kept in
 *     DATA/attestations/checkpoint-<size>.json and served at /v1/attestation?size=N.
 * In --dev mode the boot entry is logged too (compose_hash "dev", empty quote_sha256),
 * so an audit always finds one; /v1/attestation answers 404. */
#ifndef XT_LOGD_ENCLAVE_H
#define XT_LOGD_ENCLAVE_H

#include <stddef.h>
#include <stdint.h>

#include "logd/sequencer.h"
#include "merkle/note.h"

#define ENCLAVE_PATH_CHECKPOINT "xordi-tlog/logd/checkpoint/v1"
#define ENCLAVE_PATH_ANCHOR "xordi-tlog/logd/anchor/v1"
/* GetKey purpose for getkey: submitter tokens (the collector uses the same). */
#define ENCLAVE_TOKEN_PURPOSE "logd-submitter-token"

typedef struct logd_enclave logd_enclave;

/* socket_path NULL: --dev mode. In enclave mode this calls Info (so a missing agent
 * fails here, before anything else). */
logd_enclave *enclave_open(const char *socket_path, const char *data_dir, char *err, size_t errcap);
void enclave_free(logd_enclave *e);
int enclave_has_quotes(const logd_enclave *e);

/* GetKey: the checkpoint key's Ed25519 seed, and the anchor key (secp256k1). The
 * caller wipes them. Enclave mode only. */
int enclave_checkpoint_seed(logd_enclave *e, uint8_t seed[32], char *err, size_t errcap);
int enclave_anchor_key(logd_enclave *e, uint8_t key[32], char *err, size_t errcap);

/* A --submitters token as the SHA-256 digest logd compares: a literal token (at least
 * 16 characters), "sha256:HEX" (the digest itself, 64 hex digits), or "getkey:PATH"
 * (the token is the lowercase hex of GetKey(PATH, secp256k1); enclave mode only). */
int enclave_token_hash(logd_enclave *e, const char *token, uint8_t out[32], char *err, size_t errcap);

/* Appends the boot entry and waits until it is durable. anchor_address ("0x...") may
 * be NULL. Returns its index, or -1 with a message. */
int64_t enclave_log_boot(logd_enclave *e, logd_seq *seq, const note_verifier *checkpoint_key,
                         const char *verifier_key, const char *anchor_address, char *err,
                         size_t errcap);

/* anchoring_hook: gets and keeps the quote of an anchored checkpoint. ctx: the enclave. */
int enclave_checkpoint_quote(void *ctx, uint64_t size, const char *note, size_t note_len);

/* GET /v1/attestation: this run's boot quote; ?size=N: the quote of anchored checkpoint
 * N; ?boot=I: the boot quote of the boot entry at index I (every run's is kept in
 * DATA/attestations/boot-<I>.json). HTTP status and a malloc'd JSON body. */
unsigned enclave_attestation_json(logd_enclave *e, const char *size, const char *boot, char **body,
                                  size_t *len);

#endif
