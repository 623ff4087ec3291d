/* usercount.h: who counts as a user, and the collector's signed user counts, for
 * `tlog audit` (issue 14 item 5).
 *
 * Users are counted only from the collector's own entries: a `credential_intake` or
 * `credential_deleted` counts when logd wrapped it as submitter "collector" and a boot
 * entry of component collector, submitted by "collector", came before it (the boot
 * whose quote binds the collector's signing key). Anything else writing those events
 * is a foreign writer: never counted, and named.
 *
 * Every `user_count` entry is checked against the log alone (collector/README.md,
 * "User count"): the statement
 *   {"as_of_index":I,"collector_key":K,"count":N,"instance_id":ID,"type":"xordi-collector-user-count-v1"}
 * is rebuilt from the entry's count and as_of_index and from K = signing_key and
 * ID = instance_id of the collector boot before it; its SHA-256 must be the entry's
 * statement_sha256, the entry's Ed25519 signature must verify under K, the log head
 * it names must lie in that boot's run (boot index <= I < the entry's index), and N
 * must equal the number of credentials the collector's intakes and deletions leave
 * stored at that point (pseudonyms: a credential stored twice is one user). The
 * per-statement quote adds nothing here: K is bound by the boot's quote, which the
 * audit's code identity check judges (the caller fails statements of a boot whose
 * identity failed).
 *
 * Feed every entry from index 0 in order (the stored set is history, not window). */
#ifndef XT_CLIENT_USERCOUNT_H
#define XT_CLIENT_USERCOUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client/entryscan.h"

typedef enum usercount_verdict {
  USERCOUNT_OK = 0,  /* nothing wrong with this entry (or not one of ours) */
  USERCOUNT_FAIL,    /* a named failure: the message says which */
  USERCOUNT_ENOMEM   /* out of memory: stop */
} usercount_verdict;

/* Returns "ok", "failed" or "out of memory"; never NULL. */
const char *usercount_verdict_str(usercount_verdict v);

/* One checked user_count entry. */
typedef struct usercount_statement {
  uint64_t index, as_of_index, boot_index;
  uint64_t attested; /* the count the collector signed */
  uint64_t in_log;   /* credentials the log shows stored at that entry */
  bool verified;     /* every check above held */
} usercount_statement;

typedef struct usercount usercount; /* opaque */

/* Returns a new, empty tracker (the caller frees it with usercount_free), or NULL. */
usercount *usercount_new(void);
void usercount_free(usercount *u);

/* Looks at entry `index` (len bytes at data, already scanned into *s). in_window: the
 * audit's window holds it (foreign writers and statements are judged only there; the
 * stored set is kept from entry 0). Returns USERCOUNT_OK, or USERCOUNT_FAIL with a
 * sentence in why (naming the entry), or USERCOUNT_ENOMEM. */
usercount_verdict usercount_entry(usercount *u, uint64_t index, const uint8_t *data, size_t len,
                                  const entry_scan *s, bool in_window, char *why, size_t whycap)
    __attribute__((warn_unused_result));

/* What was seen: credentials stored now (as of the last entry fed), intakes and
 * deletions counted, foreign intake/deletion/user_count entries in the window. */
typedef struct usercount_totals {
  uint64_t stored, intakes, deletions, foreign, statements, statements_failed;
} usercount_totals;
void usercount_get_totals(const usercount *u, usercount_totals *t);

/* The window's checked statements, in index order (*n of them; owned by u). */
const usercount_statement *usercount_statements(const usercount *u, size_t *n);

#endif
