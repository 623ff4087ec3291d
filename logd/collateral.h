/* collateral.h: logd's archive of Intel DCAP collateral (--pccs URL, enclave mode).
 *
 * Contract (issues 13 and 19): Intel's TCB info, QE identity and CRLs expire about
 * monthly, so an audit months later needs the collateral that was valid when each quote
 * was taken. logd fetches the collateral of its own platform (FMSPC and PCK CA from its
 * quote, dstack/pccs.h) when it takes a quote (boot, anchored checkpoints: at most once
 * per hour) and at least every refresh_s seconds (--pccs-refresh, default one day), in
 * a thread of its own that never blocks sequencing or anchoring. A fetched document
 * that differs from the last one archived is kept as DATA/collateral/<fetch time, Unix
 * seconds>.json, byte for byte, and listed in DATA/collateral/index.json:
 *   {"collateral":[{"name","fetched_at","not_before","not_after","sha256"}]}
 * (the layout client/collateral.h reads). Both are served: GET /v1/collateral (the
 * index) and GET /v1/collateral/<name>. A failed fetch is logged and retried after a
 * minute (at most every refresh_s); nothing is written on failure. */
#ifndef XT_LOGD_COLLATERAL_H
#define XT_LOGD_COLLATERAL_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
  LCOLL_OK = 0,
  LCOLL_EINVAL, /* a bad URL or path */
  LCOLL_ETHREAD,
  LCOLL_ENOMEM
} lcoll_err;

/* A fixed name for e; never NULL. */
const char *lcoll_err_str(lcoll_err e);

typedef struct logd_collateral logd_collateral;

/* Writes nothing (DATA/collateral is created with the first document). NULL with a
 * message; else the caller frees it with lcoll_free after lcoll_stop. */
logd_collateral *lcoll_new(const char *pccs_url, const char *data_dir, uint64_t refresh_s, char *err,
                           size_t errcap);
/* Starts the fetching thread (it waits for the first quote). */
lcoll_err lcoll_start(logd_collateral *c, char *err, size_t errcap) __attribute__((warn_unused_result));
/* The enclave's quote hook (ctx: the logd_collateral): copies the quote, whose platform
 * the next fetch is for, and asks for a fetch unless one succeeded within the hour. */
void lcoll_quote(void *ctx, const uint8_t *quote, size_t len);
/* Asks the thread to stop and waits up to wait_ms for it. 0 when it ended (or never
 * started); -1 when a fetch is still in flight: then it is left to die with the
 * process and lcoll_free must not be called. */
int lcoll_stop(logd_collateral *c, unsigned wait_ms);
void lcoll_free(logd_collateral *c);

/* GET /v1/collateral (name NULL) or /v1/collateral/<name>: an HTTP status and a
 * malloc'd body (JSON; an {"error"} object on failure). */
unsigned lcoll_http(logd_collateral *c, const char *name, char **body, size_t *len);
/* Prometheus lines (malloc'd; NULL when out of memory). */
char *lcoll_metrics(logd_collateral *c);

#endif
