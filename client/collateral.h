/* collateral.h: Intel DCAP collateral archived over time by logd (--pccs), read back
 * for the audit: "the collateral valid at time T" (issues 13 and 19).
 *
 * Intel's TCB info, QE identity and CRLs expire about monthly, so one collateral file
 * cannot judge quotes across a long window. logd keeps every distinct collateral it
 * fetched; each document is the collateral JSON of SPEC.md section 6.5. Layout:
 *   over HTTP (a logd):  v1/collateral        the index
 *                        v1/collateral/NAME   one document
 *   in a directory (a `tlog export` bundle): collateral/index.json, collateral/NAME.json
 * The index is {"collateral":[{"name","fetched_at","not_before","not_after","sha256"}]}
 * (NAME: the fetch time in Unix seconds, decimal; times in Unix seconds; sha256: hex of
 * the document's bytes). Nothing in the index is trusted: it only says which documents
 * to read. A chosen document must hash to its sha256, parse, and its own validity
 * window (tdx_collateral_window) must contain T. A wrong index can only make the
 * answer "none" (fail closed), never hand over collateral that does not cover T. */
#ifndef XT_CLIENT_COLLATERAL_H
#define XT_CLIENT_COLLATERAL_H

#include <stddef.h>
#include <time.h>

#include "client/anchors.h"
#include "client/codeid.h"
#include "client/fetch.h"
#include "dstack/quote.h"

/* The most bytes read of the index and of one document. */
#define TLOG_COLLATERAL_MAX_INDEX ((size_t)4 << 20)
#define TLOG_COLLATERAL_MAX_DOC ((size_t)4 << 20)

typedef enum {
  TLOG_COLLATERAL_OK = 0,
  TLOG_COLLATERAL_NONE,   /* the archive holds no collateral valid at T */
  TLOG_COLLATERAL_NOARCHIVE, /* the source has no archive (no index) */
  TLOG_COLLATERAL_EIO,    /* the archive could not be read */
  TLOG_COLLATERAL_EFORMAT /* the index is malformed */
} tlog_collateral_err;

/* A fixed name for e; never NULL. */
const char *tlog_collateral_err_str(tlog_collateral_err e);

/* The archive path of the index (name NULL) or of document name, for src's kind
 * (HTTP or directory), into out (cap bytes). */
void tlog_collateral_path(const log_source *src, const char *name, char *out, size_t cap);

/* The collateral valid at t from src's archive: among the documents whose own window
 * contains t, the one issued last (latest not_before; ties: the later name). OK with
 * *out (the caller frees it with tdx_collateral_free) and its name in name (namecap
 * bytes, may be NULL); NONE (nothing covers t: err says which documents were
 * considered and why each was passed over, as far as it fits); NOARCHIVE (no index);
 * EIO / EFORMAT with err. */
tlog_collateral_err tlog_collateral_at(log_source *src, time_t t, tdx_collateral **out, char *name,
                                       size_t namecap, char *err, size_t errcap)
    __attribute__((warn_unused_result));

/* ---------- for the audit ---------- */

/* The archive's answers an audit reuses: the last collateral found and its window. A
 * zeroed cache is empty; free it with tlog_collateral_cache_free. */
typedef struct tlog_collateral_cache {
  tdx_collateral *c; /* owned; NULL before the first find */
  time_t lo, hi;     /* its window */
  bool no_archive;   /* the source has no archive: not asked again */
} tlog_collateral_cache;

void tlog_collateral_cache_free(tlog_collateral_cache *cache);

/* Sets an audit's options for one quote taken at time t (the block time of the anchor
 * it belongs to, tlog_anchor_time_covering): when the auditor gave no collateral
 * (o->collateral NULL) and src's archive holds collateral valid at t, o->collateral
 * becomes that one (owned by cache, valid until the next call) and o->now = t, so the
 * quote is judged with what Intel published for that time. Otherwise o is unchanged
 * (the quote then cannot be fully verified, as without --collateral). Returns whether
 * archived collateral was applied. */
bool tlog_collateral_apply(tlog_collateral_cache *cache, log_source *src, time_t t, codeid_opts *o);

/* The block time of the first anchor covering entry index (size > index) in an
 * (ordered by size), or 0 when none does. */
uint64_t tlog_anchor_time_covering(const tlog_anchors *an, uint64_t index);

#endif
