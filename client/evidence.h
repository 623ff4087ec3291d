/* evidence.h: the audit's evidence about who wrote and anchored a log (issue 14 items
 * 3 and 4): the policy keys that bound it, the quoted checkpoint notes, the anchor
 * contract's code and every anchorer it ever accepted, and entries' ts_ms.
 *
 * Why each exists: a checkpoint quote binds SHA-256 of a note, so a log fabricated
 * under another key can carry genuine quotes of its own notes; only a quoted note that
 * verifies with the auditor's key and equals the on-chain event ties the quote to the
 * audited log. The anchor contract's owner can register or rotate any anchorer, and a
 * contract with other code may emit any event: the anchorer set and the runtime code
 * are part of the evidence. Gaps between anchors are where a disk rollback hides. */
#ifndef XT_CLIENT_EVIDENCE_H
#define XT_CLIENT_EVIDENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "anchor/logscan.h"
#include "anchor/rpc.h"
#include "merkle/note.h"

typedef enum {
  EVIDENCE_OK = 0,
  EVIDENCE_ERR_POLICY,   /* the policy file is unreadable or a key has the wrong shape */
  EVIDENCE_ERR_RPC,      /* the chain could not be read (err says which call) */
  EVIDENCE_ERR_MISMATCH, /* the evidence does not hold (err says how) */
  EVIDENCE_ERR_MALFORMED,/* an attestation or event does not decode */
  EVIDENCE_ERR_NOMEM,
  EVIDENCE_ERR_TOO_MANY  /* more than EVIDENCE_MAX_ANCHORERS anchorer events */
} evidence_err;

/* Returns a static name for e; never NULL. */
const char *evidence_err_str(evidence_err e);

/* The policy keys this module reads (other sections belong to client/policy). */
typedef struct evidence_policy {
  bool has_anchor;            /* contracts.anchor present */
  uint8_t anchor_address[20]; /* contracts.anchor.address */
  bool has_bytecode_hash;
  uint8_t bytecode_hash[32];  /* contracts.anchor.bytecode_hash: keccak-256 of the runtime code */
  bool has_deployment_block;
  uint64_t deployment_block;  /* contracts.anchor.deployment_block */
  bool has_max_anchor_gap;
  uint64_t max_anchor_gap;    /* max_anchor_gap, seconds of block time */
  bool has_ts_tolerance;
  uint64_t ts_ms_tolerance_s; /* ts_ms_tolerance_s, seconds */
} evidence_policy;

/* Reads those keys from the policy JSON file (NULL: none given, *p all absent).
 * Absent keys stay absent; a present key of the wrong shape is an error. Returns
 * EVIDENCE_OK or EVIDENCE_ERR_POLICY with err. */
evidence_err evidence_policy_load(const char *file, evidence_policy *p, char *err, size_t errcap)
    __attribute__((warn_unused_result));

/* What a checkpoint attestation says (logd's JSON: checkpoint, quote, boot_index). */
typedef struct evidence_quoted_note {
  bool has_boot_index;
  uint64_t boot_index; /* the logd boot entry whose run signed and quoted the note */
} evidence_quoted_note;

/* Checks the note quoted in the attestation att (att_len bytes of JSON) of the anchor
 * (origin, size, root, checkpoint_hash): it verifies with v (the auditor's --key), its
 * origin, size and root equal the anchor's and its SHA-256 is checkpoint_hash. Fills
 * *q (boot_index when the attestation names one). Returns EVIDENCE_OK,
 * EVIDENCE_ERR_MALFORMED (no note in it) or EVIDENCE_ERR_MISMATCH, err saying which. */
evidence_err evidence_check_quoted_note(const note_verifier *v, const char *origin, uint64_t size,
                                        const uint8_t root[32], const uint8_t checkpoint_hash[32],
                                        const uint8_t *att, size_t att_len, evidence_quoted_note *q,
                                        char *err, size_t errcap) __attribute__((warn_unused_result));

/* Returns whether the verifier key text key (name+hash+base64) is the same key as v. */
bool evidence_same_key(const note_verifier *v, const char *key);

/* One anchorer the contract accepted for a log: Registered or Rotated (new anchorer). */
typedef struct evidence_anchorer {
  uint8_t address[20];
  bool rotated; /* from Rotated, else Registered */
  uint64_t block;
  uint8_t tx[32];
} evidence_anchorer;

#define EVIDENCE_MAX_ANCHORERS 10000

typedef struct evidence_anchorers {
  evidence_anchorer *a; /* owned; evidence_anchorers_free frees it */
  size_t n;
  uint64_t from, to; /* the blocks scanned */
} evidence_anchorers;

/* Every anchorer TreeHeadAnchor at `contract` accepted for log_id (Registered and
 * Rotated events, topic1 = log_id) in blocks [from, head], read through logscan in
 * bounded ranges (o may be NULL). from == UINT64_MAX: from the contract's creation
 * block (binary search). Fills *out (the caller frees it). Returns EVIDENCE_OK,
 * EVIDENCE_ERR_RPC, _MALFORMED, _TOO_MANY or _NOMEM with err. */
evidence_err evidence_anchorers_load(eth_rpc *r, const logscan_opts *o, const uint8_t contract[20],
                                     const uint8_t log_id[32], uint64_t from, evidence_anchorers *out,
                                     char *err, size_t errcap) __attribute__((warn_unused_result));
void evidence_anchorers_free(evidence_anchorers *l);

/* Keccak-256 of the runtime code at `contract` at the newest block (eth_getCode), into
 * hash. Returns EVIDENCE_OK, EVIDENCE_ERR_RPC, or EVIDENCE_ERR_MISMATCH when there is
 * no code at all, with err. */
evidence_err evidence_code_hash(eth_rpc *r, const uint8_t contract[20], uint8_t hash[32], char *err,
                                size_t errcap) __attribute__((warn_unused_result));

/* The ts_ms of a canonical logd entry (it ends in ,"ts_ms":N,"v":1}). Returns 0 and
 * sets *ts_ms, or -1 when the entry does not end that way. */
int evidence_entry_ts_ms(const uint8_t *data, size_t len, uint64_t *ts_ms) __attribute__((warn_unused_result));

#endif
