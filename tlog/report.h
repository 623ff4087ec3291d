/* report.h: private to tlog/. The audit's reports for people (`tlog audit --report
 * FILE.html`, `--summary FILE.md`), rendered from the audit's JSON report document (the
 * one `--json` prints), and the per-day counts the charts need.
 *
 * The renderers read the document generically: every member they do not draw as a
 * chart or a headline is shown as a check's evidence, so a check added to the audit
 * appears in the report without a change here. Every string of the document may come
 * from a hostile log or chain and is escaped before it is written. */
#ifndef XT_TLOG_REPORT_H
#define XT_TLOG_REPORT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "client/entryscan.h"
#include "client/kms.h"

typedef enum report_err {
  REPORT_OK = 0,
  REPORT_EINVAL, /* the document is not an audit report (no "verified", no "window") */
  REPORT_ENOMEM, /* out of memory */
  REPORT_ETOOBIG, /* the rendered file would pass REPORT_MAX_BYTES */
  REPORT_EIO     /* the file could not be written */
} report_err;

/* Returns a static name for e; never NULL. */
const char *report_err_str(report_err e);

/* The most bytes a rendered report may have. A year of daily data stays far under 1 MB;
 * long evidence lists are cut at REPORT_MAX_ITEMS items, saying so in the report. */
#define REPORT_MAX_BYTES ((size_t)32 << 20)
#define REPORT_MAX_ITEMS 300
/* The longest window the charts draw day by day (ten years); longer windows are drawn
 * up to it and the report says so. */
#define REPORT_MAX_DAYS 3700

/* What the document does not hold: how the audit was run. All borrowed. */
typedef struct report_ctx {
  const json_t *doc; /* the audit's JSON report (see cmd_audit.c report_doc) */
  int argc;          /* the audit's arguments, argv[0] the subcommand "audit" */
  char **argv;
  const char *contract; /* the TreeHeadAnchor contract, or NULL (anchors from a file) */
  const char *rpc;      /* the JSON-RPC URL used, or NULL */
  const char *app;      /* the DstackApp contract (--app), or NULL */
} report_ctx;

/* Renders the HTML report of c->doc and writes it atomically to path (mode 0644).
 * Returns REPORT_OK, or an error with err filled; path is unchanged on failure. */
report_err report_html_write(const char *path, const report_ctx *c, char *err, size_t errcap)
    __attribute__((warn_unused_result));

/* Renders the short Markdown statement of c->doc and writes it atomically to path.
 * Returns as report_html_write. */
report_err report_summary_write(const char *path, const report_ctx *c, char *err, size_t errcap)
    __attribute__((warn_unused_result));

/* ---- per-day counts (by the block day of the anchor first covering an entry) ---- */

typedef struct report_day report_day; /* private to report_daily.c */

typedef struct report_daily {
  report_day *d; /* owned; sorted by day */
  size_t n, cap;
} report_daily;

/* Counts one window entry covered first by an anchor of block time t: a
 * credential_intake (and its user among the day's distinct users) or an api_call
 * intent. Returns 0, or -1 out of memory (counts then stay as they were). */
int report_daily_add(report_daily *d, uint64_t t, const entry_scan *s) __attribute__((warn_unused_result));

/* A new JSON array [{day, users, credential_intakes, api_calls}] in day order, or NULL
 * when out of memory. The caller owns the reference. */
json_t *report_daily_json(const report_daily *d);

/* Frees d's storage and leaves it empty. */
void report_daily_free(report_daily *d);

/* Every event of a KMS history as a new JSON array [{event, contract, block, time, tx,
 * args}], or NULL when out of memory. The caller owns the reference. */
json_t *report_kms_json(const kms_history *h);

/* ---- helpers shared by the renderers (report_html.c) ---- */

/* An output buffer whose first failure sticks, so rendering code need not check every
 * append; the writer checks err once at the end. */
typedef struct report_out {
  xt_buf b;
  report_err err;
} report_out;

void rep_put(report_out *o, const char *s, size_t n);
void rep_puts(report_out *o, const char *s);
void rep_printf(report_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s escaped for HTML text and attribute values (& < > " '); NULL writes nothing. */
void rep_html(report_out *o, const char *s);
/* n with thousands separators ("1,234") into out. */
void rep_num(uint64_t n, char out[32]);
/* The audit command line that produced the report (without --report/--summary), each
 * argument shell-quoted where needed, into o as plain text (callers escape it via
 * esc: 1 HTML, 0 none). */
void rep_command(report_out *o, const report_ctx *c, int esc);
/* The sentence on top: the verdict, or what failed. Plain text, unescaped: the caller
 * escapes it for its format. */
void rep_verdict(report_out *o, const json_t *doc);
/* PASSED, INCOMPLETE (no failure, something not checked) or FAILED. */
const char *rep_verdict_word(const json_t *doc);
bool rep_incomplete(const json_t *doc);
/* Writes o's bytes to path atomically (0644). Returns REPORT_OK or an error with err. */
report_err rep_write(report_out *o, const char *path, char *err, size_t errcap);

#endif
