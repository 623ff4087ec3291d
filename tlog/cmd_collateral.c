/* tlog collateral: fetches the Intel DCAP collateral of a TDX quote's platform from a
 * PCCS (or Intel's PCS) and writes the collateral JSON that `tlog verify-quote
 * --collateral` and `tlog audit --collateral` read (format: SPEC.md section 6.5). */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/file.h"
#include "base/num.h"
#include "base/time.h"
#include "client/collateral.h"
#include "client/fetch.h"
#include "dstack/pccs.h"
#include "dstack/quote.h"
#include "tlog/commands.h"

/* A quote file (hex or raw) or a GetQuote-like report is small; 1 MiB is plenty. */
#define COLLATERAL_MAX_INPUT (1u << 20)

static void collateral_usage(FILE *f) {
  fprintf(f,
          "usage: tlog collateral --pccs URL (--quote FILE | --report FILE) [--out FILE]\n"
          "                       [--timeout S] [--json]\n"
          "       tlog collateral --log URL|DIR --at RFC3339 [--out FILE] [--json]\n"
          "\n"
          "Fetches the Intel DCAP collateral (TCB info, QE identity, PCK and root CA CRLs\n"
          "with their issuer chains) for the platform of a TDX quote from a PCCS or from\n"
          "Intel's PCS (the v4 API: https://pccs.phala.network, https://api.trustedservices.\n"
          "intel.com), and writes it as the collateral JSON `tlog verify-quote --collateral`\n"
          "and `tlog audit --collateral` read. The platform (FMSPC, PCK CA) comes from the\n"
          "quote's PCK certificate. Nothing fetched is trusted: the collateral's signatures\n"
          "are checked when a quote is verified with it, up to the compiled-in Intel root.\n"
          "\n"
          "  --pccs URL     the PCCS or PCS base URL (an /sgx|tdx/certification/v4 suffix is\n"
          "                 accepted)\n"
          "  --quote FILE   the quote, raw binary or hex text\n"
          "  --report FILE  a JSON document with a \"quote\" (hex): a dstack GetQuote answer,\n"
          "                 logd's or the collector's /v1/attestation\n"
          "  --out FILE     write the collateral there (atomically) instead of stdout\n"
          "  --timeout S    per request (default 30)\n"
          "  --json         print {\"fmspc\",\"ca\",\"not_before\",\"not_after\",\"out\"}\n"
          "\n"
          "With --log (a logd run with --pccs, or a `tlog export` bundle) and --at, takes\n"
          "from the log's collateral archive the collateral valid at that time (the one\n"
          "issued last among those whose own validity window contains it) and writes it\n"
          "the same way ({\"name\",\"not_before\",\"not_after\",\"out\"} with --json);\n"
          "exit 1 when the archive holds none valid then.\n"
          "Exit status: 0 written, 1 none valid at --at, 2 usage, I/O or fetch error.\n");
}

/* The raw quote from --quote or --report (malloc'd). 0 or -1 with err. */
static int read_quote(const char *quote_path, const char *report_path, uint8_t **q, size_t *qlen, char *err,
                      size_t errcap) {
  uint8_t *data = NULL;
  size_t len = 0;
  if (xt_file_read(quote_path ? quote_path : report_path, COLLATERAL_MAX_INPUT, &data, &len, err, errcap) !=
      XT_OK)
    return -1;
  if (quote_path) {
    *q = tdx_quote_decode_file_bytes(data, len, qlen, err, errcap);
    free(data);
    return *q ? 0 : -1;
  }
  json_error_t je;
  json_t *j = json_loadb((const char *)data, len, 0, &je);
  free(data);
  const char *hex = json_string_value(json_object_get(j, "quote"));
  *q = hex ? tdx_quote_decode_file_bytes((const uint8_t *)hex, strlen(hex), qlen, err, errcap) : NULL;
  if (!hex) xt_errf(err, errcap, "%s: %s", report_path, j ? "no \"quote\" string" : je.text);
  json_decref(j);
  return *q ? 0 : -1;
}

/* Prints what was fetched (text or JSON) after it was written. */
static int report(const char *json, size_t len, const char *fmspc, const char *ca, const char *out,
                  bool as_json) {
  char err[300], nb[32] = "", na[32] = "";
  tdx_collateral *c = tdx_collateral_parse(json, len, err, sizeof err);
  time_t lo = 0, hi = 0;
  if (c && tdx_collateral_window(c, &lo, &hi) == 0) {
    (void)xt_format_rfc3339(lo, nb, sizeof nb);
    (void)xt_format_rfc3339(hi, na, sizeof na);
  }
  tdx_collateral_free(c);
  if (as_json) {
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s?}", "fmspc", fmspc, "ca", ca, "not_before", nb, "not_after",
                          na, "out", out);
    int jr = tlog_json_print(o);
    json_decref(o);
    if (jr) return tlog_fail("collateral", true, TLOG_EXIT_USAGE, "out of memory");
  } else if (out) {
    printf("collateral for FMSPC %s (%s CA), valid %s to %s, written to %s\n", fmspc, ca, nb, na, out);
  }
  return TLOG_EXIT_OK;
}

/* Writes document bytes to out (atomically) or stdout, with a trailing newline added
 * when nl and missing (an archived document is written exactly as archived). */
static int put_doc(const char *data, size_t len, const char *out, bool as_json, bool nl, char *err,
                   size_t errcap) {
  if (!out) {
    if (!as_json) printf("%.*s%s", (int)len, data, !nl || (len && data[len - 1] == '\n') ? "" : "\n");
    return 0;
  }
  char *withnl = malloc(len + 1);
  if (!withnl) {
    xt_errf(err, errcap, "out of memory");
    return -1;
  }
  memcpy(withnl, data, len);
  size_t n = len;
  if (nl && (!n || data[n - 1] != '\n')) withnl[n++] = '\n';
  int rc = xt_file_write_atomic(out, withnl, n, 0644, err, errcap) == XT_OK ? 0 : -1;
  free(withnl);
  return rc;
}

/* --log SRC --at T: the archived collateral valid at T (client/collateral.h). */
static int from_archive(const char *spec, const char *at, const char *out, bool as_json) {
  char err[800], name[24], path[128], nb[32] = "", na[32] = "";
  time_t t;
  if (xt_parse_rfc3339(at, &t) != XT_OK)
    return tlog_usage_error("collateral", "--at '%s' is not an RFC 3339 time", at);
  log_source *src = log_source_open(spec, err, sizeof err);
  if (!src) return tlog_fail("collateral", as_json, TLOG_EXIT_USAGE, err);
  tdx_collateral *c = NULL;
  tlog_collateral_err ce = tlog_collateral_at(src, t, &c, name, sizeof name, err, sizeof err);
  if (ce != TLOG_COLLATERAL_OK) {
    log_source_free(src);
    return tlog_fail("collateral", as_json, ce == TLOG_COLLATERAL_NONE || ce == TLOG_COLLATERAL_NOARCHIVE ? TLOG_EXIT_FAILED : TLOG_EXIT_USAGE, err);
  }
  time_t lo = 0, hi = 0;
  if (tdx_collateral_window(c, &lo, &hi) == 0) {
    (void)xt_format_rfc3339(lo, nb, sizeof nb);
    (void)xt_format_rfc3339(hi, na, sizeof na);
  }
  tdx_collateral_free(c);
  uint8_t *d = NULL;
  size_t len = 0;
  tlog_collateral_path(src, name, path, sizeof path);
  int rc = log_source_get(src, path, TLOG_COLLATERAL_MAX_DOC, &d, &len, err, sizeof err) == FETCH_OK &&
                   put_doc((const char *)d, len, out, as_json, false, err, sizeof err) == 0
               ? TLOG_EXIT_OK
               : tlog_fail("collateral", as_json, TLOG_EXIT_USAGE, err);
  free(d);
  log_source_free(src);
  if (rc != TLOG_EXIT_OK) return rc;
  if (as_json) {
    json_t *o = json_pack("{s:s,s:s,s:s,s:s?}", "name", name, "not_before", nb, "not_after", na, "out", out);
    int jr = tlog_json_print(o);
    json_decref(o);
    if (jr) return tlog_fail("collateral", true, TLOG_EXIT_USAGE, "out of memory");
  } else if (out) {
    printf("collateral %s of the archive, valid %s to %s, written to %s\n", name, nb, na, out);
  }
  return TLOG_EXIT_OK;
}

int cmd_collateral(int argc, char **argv) {
  static const struct option opts[] = {
      {"pccs", required_argument, NULL, 'p'},   {"quote", required_argument, NULL, 'q'},
      {"report", required_argument, NULL, 'r'}, {"out", required_argument, NULL, 'o'},
      {"timeout", required_argument, NULL, 't'}, {"json", no_argument, NULL, 'j'},
      {"help", no_argument, NULL, 'h'},         {"log", required_argument, NULL, 'l'},
      {"at", required_argument, NULL, 'a'},     {NULL, 0, NULL, 0}};
  const char *pccs = NULL, *quote_path = NULL, *report_path = NULL, *out = NULL, *log = NULL, *at = NULL;
  long timeout_s = 30;
  bool as_json = false;
  const char *cmd = "collateral";
  int c;
  optind = 1;
  while ((c = tlog_getopt(cmd, argc, argv, opts)) != -1) {
    switch (c) {
      case 'p': pccs = optarg; break;
      case 'q': quote_path = optarg; break;
      case 'r': report_path = optarg; break;
      case 'o': out = optarg; break;
      case 'l': log = optarg; break;
      case 'a': at = optarg; break;
      case 'j': as_json = true; break;
      case 't': {
        uint64_t v = 0;
        if (xt_parse_u64(optarg, 0, 1, 600, &v) != XT_OK)
          return tlog_usage_error(cmd, "--timeout '%s' is not a number of seconds from 1 to 600", optarg);
        timeout_s = (long)v;
        break;
      }
      case 'h': collateral_usage(stdout); return TLOG_EXIT_OK;
      default: return TLOG_EXIT_USAGE;
    }
  }
  if (tlog_no_extra_args(cmd, argc, argv)) return TLOG_EXIT_USAGE;
  if ((log || at) && !pccs && !quote_path && !report_path) {
    if (!log || !at) return tlog_usage_error(cmd, "missing %s (--log and --at go together)", log ? "--at" : "--log");
    return from_archive(log, at, out, as_json);
  }
  if (log || at) return tlog_usage_error(cmd, "give --log/--at or --pccs with --quote/--report, not both");
  if (!pccs) return tlog_usage_error(cmd, "missing --pccs (or --log and --at)");
  if (!quote_path && !report_path) return tlog_usage_error(cmd, "missing --quote or --report");
  if (quote_path && report_path) return tlog_usage_error(cmd, "give only one of --quote and --report");
  char err[600], fmspc[13] = "", ca[10] = "";
  uint8_t *q = NULL;
  size_t qlen = 0, jlen = 0;
  char *json = NULL;
  if (read_quote(quote_path, report_path, &q, &qlen, err, sizeof err))
    return tlog_fail("collateral", as_json, TLOG_EXIT_USAGE, err);
  pccs_err pe = pccs_quote_platform(q, qlen, fmspc, ca, err, sizeof err);
  if (pe == PCCS_OK) pe = pccs_fetch_collateral(pccs, q, qlen, timeout_s * 1000, &json, &jlen, err, sizeof err);
  free(q);
  if (pe != PCCS_OK) return tlog_fail("collateral", as_json, TLOG_EXIT_USAGE, err);
  int rc = TLOG_EXIT_OK;
  if (put_doc(json, jlen, out, as_json, true, err, sizeof err)) rc = tlog_fail("collateral", as_json, TLOG_EXIT_USAGE, err);
  if (rc == TLOG_EXIT_OK) rc = report(json, jlen, fmspc, ca, out, as_json);
  free(json);
  return rc;
}
