/* enclave.h: logd's keys, submitter tokens, boot entry and quotes, in enclave mode
 * (dstack's guest agent over its unix socket) and in --dev mode (no quotes).
 *
 * Contract (SPEC.md section 6.5): in enclave mode every key comes from GetKey with its
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

/* Results of the functions below; each failure comes with a sentence in err (errcap). */
typedef enum {
  ENCLAVE_OK = 0,
  ENCLAVE_EAGENT, /* dstack's guest agent failed or is absent (--dev) */
  ENCLAVE_EINVAL, /* a malformed token, address or key */
  ENCLAVE_ENOMEM,
  ENCLAVE_ELOG,   /* the sequencer refused or failed the boot entry */
  ENCLAVE_ERAND   /* no randomness */
} enclave_err;

/* A fixed name for e; never NULL. */
const char *enclave_err_str(enclave_err e);

typedef struct logd_enclave logd_enclave;

/* socket_path NULL: --dev mode. In enclave mode this calls Info (so a missing agent
 * fails here, before anything else). Writes nothing: DATA/attestations (data_dir is
 * kept as a path) is created on the first quote kept. NULL with a message; else the
 * caller frees it with enclave_free. */
logd_enclave *enclave_open(const char *socket_path, const char *data_dir, char *err, size_t errcap);
void enclave_free(logd_enclave *e);
/* 1 in enclave mode (quotes are available), 0 in --dev mode or for NULL. */
int enclave_has_quotes(const logd_enclave *e);

/* GetKey: the checkpoint key's Ed25519 seed, and the anchor key (secp256k1), into the
 * caller's buffer, which the caller wipes. Enclave mode only (ENCLAVE_EAGENT in --dev). */
enclave_err enclave_checkpoint_seed(logd_enclave *e, uint8_t seed[32], char *err, size_t errcap)
    __attribute__((warn_unused_result));
enclave_err enclave_anchor_key(logd_enclave *e, uint8_t key[32], char *err, size_t errcap)
    __attribute__((warn_unused_result));

/* A --submitters token as the SHA-256 digest logd compares, into out: a literal token
 * (at least 16 characters), "sha256:HEX" (the digest itself, 64 hex digits), or
 * "getkey:PATH" (the token is the lowercase hex of GetKey(PATH, secp256k1); enclave
 * mode only). ENCLAVE_EINVAL for a malformed token, ENCLAVE_EAGENT when GetKey fails.
 * e may be NULL when no getkey: token is given. */
enclave_err enclave_token_hash(logd_enclave *e, const char *token, uint8_t out[32], char *err,
                               size_t errcap) __attribute__((warn_unused_result));

/* Appends the boot entry, waits until it is durable and sets *boot_index to its index;
 * in enclave mode gets its quote first and keeps it (see the contract above).
 * anchor_address ("0x...") may be NULL. */
enclave_err enclave_log_boot(logd_enclave *e, logd_seq *seq, const note_verifier *checkpoint_key,
                             const char *verifier_key, const char *anchor_address,
                             int64_t *boot_index, char *err, size_t errcap)
    __attribute__((warn_unused_result));

/* Called with every raw quote logd takes (boot, anchored checkpoints), e.g. to fetch
 * the platform's collateral (logd/collateral.h); set before enclave_log_boot. */
void enclave_set_quote_hook(logd_enclave *e, void (*fn)(void *ctx, const uint8_t *quote, size_t len),
                            void *ctx);

/* anchoring_hook: gets and keeps the quote of an anchored checkpoint. ctx: the enclave.
 * 0, or -1 (logged; the anchoring thread retries next round). */
int enclave_checkpoint_quote(void *ctx, uint64_t size, const char *note, size_t note_len);

/* ---------- other components' boot evidence (POST /v1/boot) ----------
 * A submitter in a TEE (the collector) logs its boot entry together with the quote the
 * entry's quote_sha256 names, so that logd keeps that quote beside its own and an
 * audit can require it over HTTP (issue 14). Body:
 *   {"event":{<boot event>},"quote":"<hex>","event_log":"<JSON text>","vm_config":"<text>"}
 * ("vm_config" optional, "" when absent; no other member). The event must be of type
 * "boot" with a "component" string and a "quote_sha256" equal to SHA-256 of the quote,
 * which must parse as a TDX quote. */
typedef struct boot_evidence boot_evidence;

/* Checks body (len bytes) as above. ENCLAVE_OK with *event_text (the event as canonical
 * JSON, malloc'd, NUL-terminated) and *out (the caller frees both: free and
 * enclave_boot_evidence_free); ENCLAVE_EINVAL with the reason in err for a request to
 * refuse (400), ENCLAVE_ENOMEM. */
enclave_err enclave_boot_evidence_parse(const char *body, size_t len, char **event_text,
                                        boot_evidence **out, char *err, size_t errcap)
    __attribute__((warn_unused_result));
/* Keeps b for the boot entry at index, logged by submitter, as DATA/attestations/
 * boot-<index>.json: {"kind":"boot","boot_index","component","submitter","quote",
 * "event_log","vm_config","report_data" (the quote's REPORTDATA, hex),"compose_hash",
 * "instance_id","signing_key" (the event's, "" when absent)}, served at
 * /v1/attestation?boot=<index> in both modes. e may be --dev. ENCLAVE_OK, or
 * ENCLAVE_ENOMEM / ENCLAVE_ELOG (not written) with err. */
enclave_err enclave_boot_evidence_keep(logd_enclave *e, const boot_evidence *b, uint64_t index,
                                       const char *submitter, char *err, size_t errcap)
    __attribute__((warn_unused_result));
void enclave_boot_evidence_free(boot_evidence *b);

/* GET /v1/attestation: this run's boot quote; ?size=N: the quote of anchored checkpoint
 * N; ?boot=I: the boot quote of the boot entry at index I (every run's is kept in
 * DATA/attestations/boot-<I>.json, and a submitter's from POST /v1/boot). In --dev mode
 * only ?boot=I of a submitter's boot evidence is served (404 otherwise). Every stored
 * quote carries "vm_config" (GetQuote's, "" when the agent gave none). HTTP status and
 * a malloc'd JSON body. */
unsigned enclave_attestation_json(logd_enclave *e, const char *size, const char *boot, char **body,
                                  size_t *len);

#endif
