/* cmd_quote.c: `tlog verify-quote`, `tlog compose-hash`, `tlog compose-normalize`.
 *
 * verify-quote checks a TDX quote offline to the Intel SGX Root CA (dstack/quote.h) and,
 * given dstack's event log, that the log replays to the quote's RTMRs and which app
 * (app id, compose hash) RTMR3 names. A quote whose attestation-key signature does not
 * verify is reported as "simulated" (dstack's simulator makes such quotes) and fails
 * unless --allow-simulated. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/file.h"
#include "base/hex.h"
#include "base/time.h"
#include "dstack/eventlog.h"
#include "dstack/quote.h"
#include "tlog/commands.h"

#define TLOG_QUOTE_MAX_INPUT (16u << 20)

static void verify_quote_usage(FILE *f) {
  fprintf(f,
          "usage: tlog verify-quote (--quote FILE | --report FILE) [--collateral FILE]\n"
          "                         [--event-log FILE] [--now RFC3339] [--allow-simulated]\n"
          "                         [--require-up-to-date] [--json]\n"
          "\n"
          "Verifies a TDX quote offline up to the Intel SGX Root CA (compiled in).\n"
          "  --quote FILE       the quote, raw binary or hex text\n"
          "  --report FILE      a dstack GetQuote response (JSON: quote, event_log)\n"
          "  --collateral FILE  Intel DCAP collateral (JSON: tcb_info, qe_identity, CRLs,\n"
          "                     issuer chains); without it the TCB status is unknown and\n"
          "                     verification fails\n"
          "  --event-log FILE   dstack event log (JSON array); replayed to RTMR0-3\n"
          "  --now RFC3339      the time to check validity at (default: now)\n"
          "  --allow-simulated  accept quotes whose signature does not verify (dstack\n"
          "                     simulator), reporting status \"simulated\"\n"
          "  --require-up-to-date  fail unless the TCB status is UpToDate (by default any\n"
          "                     status but Revoked passes, with a warning)\n"
          "  --json             print a JSON report\n"
          "Exit status: 0 verified, 1 verification failed, 2 usage or I/O error.\n");
}

/* Everything verify-quote learned, for the human or JSON report. */
typedef struct quote_report {
  const tdx_quote *q;
  tdx_verdict verdict;
  bool have_log;
  bool log_ok;
  char log_message[256];
  dstack_app_identity id;
  json_t *vm_config; /* the report's vm_config (parsed), or NULL */
  bool verified;
} quote_report;

static void hex_field(json_t *obj, const char *key, const uint8_t *b, size_t n) {
  char buf[257];
  if (n > 128) return;
  xt_hex_encode(b, n, buf);
  json_object_set_new(obj, key, json_string(buf));
}

static void set_or_null(json_t *obj, const char *key, const char *value) {
  json_object_set_new(obj, key, value && value[0] ? json_string(value) : json_null());
}

/* The vm_config's os_image_hash string, or NULL. */
static const char *vm_os_image_hash(const quote_report *r) {
  return json_string_value(json_object_get(r->vm_config, "os_image_hash"));
}

/* What dstack 0.5.6+ measures besides app and compose: the OS image (as the KMS names it
 * in RTMR3, and as the host's vm_config names it: both shown, they need not be equal),
 * the key provider, the storage file system, MRCONFIGID decoded, and vm_config. */
static void add_dstack_fields(json_t *o, const quote_report *r) {
  json_t *img = json_object();
  set_or_null(img, "event", r->id.os_image_hash);
  set_or_null(img, "vm_config", vm_os_image_hash(r));
  json_object_set_new(o, "os_image_hash", img);
  if (r->id.key_provider_name[0])
    json_object_set_new(o, "key_provider", json_pack("{s:s,s:s}", "name", r->id.key_provider_name,
                                                     "id", r->id.key_provider_id));
  else
    set_or_null(o, "key_provider", r->id.key_provider);
  set_or_null(o, "storage_fs", r->id.storage_fs);
  set_or_null(o, "gpu_policy_hash", r->id.gpu_policy_hash);
  if (r->q) {
    dstack_mr_config mc;
    dstack_mr_config_decode(r->q->mrconfigid, &mc);
    json_t *m = json_object();
    json_object_set_new(m, "version", mc.version < 0 ? json_null() : json_integer(mc.version));
    if (mc.version > 0) json_object_set_new(m, mc.version == 1 ? "compose_hash" : "hash",
                                            json_string(mc.hash));
    json_object_set_new(o, "mr_config_id", m);
  }
  json_object_set(o, "vm_config", r->vm_config ? r->vm_config : json_null());
}

static void print_json(const quote_report *r) {
  json_t *o = json_object();
  if (!o) return;
  json_object_set_new(o, "verified", json_boolean(r->verified));
  json_object_set_new(o, "status", json_string(r->verdict.status));
  json_object_set_new(o, "simulated", json_boolean(r->verdict.result == TDX_SIMULATED));
  set_or_null(o, "message", r->verdict.message);
  set_or_null(o, "fmspc", r->verdict.fmspc);
  if (r->q) {
    const tdx_quote *q = r->q;
    json_object_set_new(o, "quote_version", json_integer(q->version));
    hex_field(o, "tee_tcb_svn", q->tee_tcb_svn, 16);
    hex_field(o, "mrseam", q->mrseam, 48);
    hex_field(o, "td_attributes", q->td_attributes, 8);
    hex_field(o, "xfam", q->xfam, 8);
    hex_field(o, "mrtd", q->mrtd, 48);
    hex_field(o, "mrconfigid", q->mrconfigid, 48);
    hex_field(o, "mrowner", q->mrowner, 48);
    hex_field(o, "mrownerconfig", q->mrownerconfig, 48);
    for (int i = 0; i < 4; i++) {
      char key[16];
      snprintf(key, sizeof key, "rtmr%d", i);
      hex_field(o, key, q->rtmr[i], 48);
    }
    hex_field(o, "report_data", q->report_data, 64);
  }
  if (r->have_log) {
    json_object_set_new(o, "event_log", json_string(r->log_ok ? "replayed" : "mismatch"));
    if (!r->log_ok) json_object_set_new(o, "event_log_message", json_string(r->log_message));
  } else {
    json_object_set_new(o, "event_log", json_null());
  }
  set_or_null(o, "compose_hash", r->id.compose_hash);
  set_or_null(o, "app_id", r->id.app_id);
  set_or_null(o, "instance_id", r->id.instance_id);
  add_dstack_fields(o, r);
  if (tlog_json_print(o)) fprintf(stderr, "tlog verify-quote: out of memory\n");
  json_decref(o);
}

static void print_human(const quote_report *r) {
  char hex[129];
  printf("status:       %s\n", r->verdict.status);
  if (r->verdict.fmspc[0]) printf("fmspc:        %s\n", r->verdict.fmspc);
  if (r->q) {
    xt_hex_encode(r->q->mrtd, 48, hex);
    printf("mrtd:         %s\n", hex);
    for (int i = 0; i < 4; i++) {
      xt_hex_encode(r->q->rtmr[i], 48, hex);
      printf("rtmr%d:        %s\n", i, hex);
    }
    xt_hex_encode(r->q->report_data, 64, hex);
    printf("report_data:  %s\n", hex);
  }
  if (r->have_log)
    printf("event log:    %s\n", r->log_ok ? "replays to RTMR0-3" : r->log_message);
  if (r->id.compose_hash[0]) printf("compose_hash: %s\n", r->id.compose_hash);
  if (r->id.app_id[0]) printf("app_id:       %s\n", r->id.app_id);
  if (r->id.instance_id[0]) printf("instance_id:  %s\n", r->id.instance_id);
  if (r->id.os_image_hash[0]) printf("os_image_hash (event):     %s\n", r->id.os_image_hash);
  if (vm_os_image_hash(r)) printf("os_image_hash (vm_config): %s\n", vm_os_image_hash(r));
  if (r->id.key_provider_name[0])
    printf("key_provider: %s %s\n", r->id.key_provider_name, r->id.key_provider_id);
  else if (r->id.key_provider[0])
    printf("key_provider: %s\n", r->id.key_provider);
  if (r->id.storage_fs[0]) printf("storage_fs:   %s\n", r->id.storage_fs);
  if (r->q) {
    dstack_mr_config mc;
    dstack_mr_config_decode(r->q->mrconfigid, &mc);
    if (mc.version < 0) printf("mr_config_id: unrecognised form\n");
    else if (mc.version > 0) printf("mr_config_id: version %d, %s\n", mc.version, mc.hash);
  }
  if (r->verdict.message[0]) printf("note:         %s\n", r->verdict.message);
  printf("%s\n", r->verified ? "verified" : "FAILED");
}

/* The whole file at path (at most max bytes, NUL-terminated, caller frees), or NULL with
 * err set. */
static uint8_t *read_input(const char *path, size_t max, size_t *len, char *err, size_t errcap) {
  uint8_t *data = NULL;
  return xt_file_read(path, max, &data, len, err, errcap) == XT_OK ? data : NULL;
}

/* Reads a GetQuote response: quote hex and the event log (a JSON string holding the
 * array, or the array itself). */
static int read_report(const char *path, uint8_t **quote, size_t *quote_len, char **event_log,
                       json_t **vm_config, char *err, size_t errlen) {
  size_t len;
  uint8_t *text = read_input(path, TLOG_QUOTE_MAX_INPUT, &len, err, errlen);
  if (!text) return -1;
  json_error_t jerr;
  json_t *root = json_loadb((const char *)text, len, 0, &jerr);
  free(text);
  json_t *q = json_object_get(root, "quote");
  if (!json_is_string(q)) {
    snprintf(err, errlen, "%s: not a GetQuote response (no \"quote\" string)", path);
    json_decref(root);
    return -1;
  }
  *quote = tdx_quote_decode_file_bytes((const uint8_t *)json_string_value(q),
                                       json_string_length(q), quote_len, err, errlen);
  /* vm_config is a JSON text inside a string (GetQuote); only reported, never trusted */
  json_t *vc = json_object_get(root, "vm_config");
  *vm_config = json_is_string(vc) ? json_loadb(json_string_value(vc), json_string_length(vc), 0, &jerr)
               : json_is_object(vc) ? json_incref(vc) : NULL;
  json_t *el = json_object_get(root, "event_log");
  int el_bad = el && !json_is_string(el) && !json_is_array(el);
  *event_log = NULL;
  if (json_is_string(el))
    *event_log = strdup(json_string_value(el));
  else if (json_is_array(el))
    *event_log = json_dumps(el, JSON_COMPACT);
  json_decref(root);
  if (!*quote) return -1;
  if (el && !*event_log) {
    if (el_bad) snprintf(err, errlen, "%s: \"event_log\" is neither a string nor an array", path);
    else snprintf(err, errlen, "out of memory");
    /* The caller frees *quote on every path: leave nothing dangling. */
    free(*quote);
    *quote = NULL;
    return -1;
  }
  return 0;
}

/* ~130 lines: argument parsing, the three input forms (--quote, --report, --collateral)
 * and the two report forms read in the order a user reads the help; the checks
 * themselves live in dstack/ and are short. */
int cmd_verify_quote(int argc, char **argv) {
  static const struct option opts[] = {
      {"quote", required_argument, NULL, 'q'},      {"report", required_argument, NULL, 'r'},
      {"collateral", required_argument, NULL, 'c'}, {"event-log", required_argument, NULL, 'e'},
      {"now", required_argument, NULL, 'n'},        {"allow-simulated", no_argument, NULL, 's'},
      {"json", no_argument, NULL, 'j'},             {"help", no_argument, NULL, 'h'},
      {"require-up-to-date", no_argument, NULL, 'u'},
      {NULL, 0, NULL, 0}};
  const char *quote_path = NULL, *report_path = NULL, *collateral_path = NULL,
             *log_path = NULL, *now_text = NULL;
  bool allow_simulated = false, as_json = false, require_up_to_date = false;
  int c;
  optind = 1;
  while ((c = tlog_getopt("verify-quote", argc, argv, opts)) != -1) {
    switch (c) {
      case 'q': quote_path = optarg; break;
      case 'r': report_path = optarg; break;
      case 'c': collateral_path = optarg; break;
      case 'e': log_path = optarg; break;
      case 'n': now_text = optarg; break;
      case 's': allow_simulated = true; break;
      case 'j': as_json = true; break;
      case 'u': require_up_to_date = true; break;
      case 'h': verify_quote_usage(stdout); return TLOG_EXIT_OK;
      default: return TLOG_EXIT_USAGE;
    }
  }
  if (tlog_no_extra_args("verify-quote", argc, argv)) return TLOG_EXIT_USAGE;
  if (!quote_path && !report_path) return tlog_usage_error("verify-quote", "missing --quote or --report");
  if (quote_path && report_path)
    return tlog_usage_error("verify-quote", "give only one of --quote and --report");
  time_t now = time(NULL);
  if (now_text && xt_parse_rfc3339(now_text, &now))
    return tlog_usage_error("verify-quote", "--now '%s' is not an RFC 3339 time", now_text);

  int rc = TLOG_EXIT_USAGE;
  char err[512];
  uint8_t *quote = NULL, *file = NULL, *cjson = NULL, *ljson = NULL;
  char *report_log = NULL;
  size_t quote_len = 0, len;
  tdx_collateral *coll = NULL;
  dstack_event_log log = {0};
  tdx_quote q;
  quote_report r;
  memset(&r, 0, sizeof r);

  if (report_path) {
    if (read_report(report_path, &quote, &quote_len, &report_log, &r.vm_config, err, sizeof err))
      goto io_fail;
  } else {
    if (!(file = read_input(quote_path, TLOG_QUOTE_MAX_INPUT, &len, err, sizeof err))) goto io_fail;
    if (!(quote = tdx_quote_decode_file_bytes(file, len, &quote_len, err, sizeof err)))
      goto io_fail;
  }
  if (collateral_path) {
    if (!(cjson = read_input(collateral_path, TLOG_QUOTE_MAX_INPUT, &len, err, sizeof err)))
      goto io_fail;
    if (!(coll = tdx_collateral_parse((const char *)cjson, len, err, sizeof err))) {
      char m[600];
      xt_errf(m, sizeof m, "%s: %s", collateral_path, err);
      tlog_fail("verify-quote", as_json, TLOG_EXIT_USAGE, m);
      goto done;
    }
  }
  const char *log_text = report_log;
  size_t log_len = report_log ? strlen(report_log) : 0;
  if (log_path) {
    if (!(ljson = read_input(log_path, TLOG_QUOTE_MAX_INPUT, &log_len, err, sizeof err))) goto io_fail;
    log_text = (const char *)ljson;
  }

  if (tdx_quote_parse(&q, quote, quote_len, err, sizeof err)) {
    r.verdict.result = TDX_INVALID;
    snprintf(r.verdict.status, sizeof r.verdict.status, "invalid");
    snprintf(r.verdict.message, sizeof r.verdict.message, "%.300s", err);
  } else {
    r.q = &q;
    tdx_quote_verify(&q, coll, now, &r.verdict);
  }
  if (log_text && r.q) {
    r.have_log = true;
    if (dstack_event_log_parse(&log, log_text, log_len, r.log_message, sizeof r.log_message) ==
            0 &&
        dstack_event_log_check_quote(&log, &q, r.log_message, sizeof r.log_message) == 0 &&
        dstack_event_log_identity(&log, &r.id, r.log_message, sizeof r.log_message) == 0)
      r.log_ok = true;
  }
  bool stale = r.verdict.result == TDX_VERIFIED && strcmp(r.verdict.status, "UpToDate") != 0;
  if (stale && require_up_to_date) {
    r.verdict.result = TDX_INVALID;
    snprintf(r.verdict.message, sizeof r.verdict.message,
             "TCB status %s is not UpToDate (--require-up-to-date)", r.verdict.status);
  }
  bool quote_ok = r.verdict.result == TDX_VERIFIED ||
                  (allow_simulated && r.verdict.result == TDX_SIMULATED);
  r.verified = quote_ok && (!r.have_log || r.log_ok);
  if (as_json)
    print_json(&r);
  else
    print_human(&r);
  if (!r.verified) {
    const char *why = !quote_ok ? r.verdict.message : r.log_message;
    if (r.verdict.result == TDX_SIMULATED && !allow_simulated)
      why = "simulated quote (signature does not verify); pass --allow-simulated to accept";
    fprintf(stderr, "tlog verify-quote: verification failed: %s\n", why);
  } else if (r.verdict.result == TDX_SIMULATED) {
    fprintf(stderr, "tlog verify-quote: warning: accepting a SIMULATED quote\n");
  } else if (stale) {
    fprintf(stderr, "tlog verify-quote: warning: TCB status %s: the platform lacks updates%s%s\n",
            r.verdict.status, r.verdict.message[0] ? "; " : "", r.verdict.message);
  }
  rc = r.verified ? TLOG_EXIT_OK : TLOG_EXIT_FAILED;
  goto done;

io_fail:
  rc = tlog_fail("verify-quote", as_json, TLOG_EXIT_USAGE, err);
done:
  dstack_event_log_free(&log);
  tdx_collateral_free(coll);
  free(quote);
  free(file);
  free(cjson);
  free(ljson);
  free(report_log);
  json_decref(r.vm_config);
  return rc;
}

/* The one positional FILE of compose-hash and compose-normalize, after the options.
 * Returns it, or NULL after a usage error. */
static const char *one_file(const char *cmd, int argc, char **argv) {
  if (optind >= argc) {
    tlog_usage_error(cmd, "missing FILE");
    return NULL;
  }
  optind++;
  if (tlog_no_extra_args(cmd, argc, argv)) return NULL;
  return argv[optind - 1];
}

int cmd_compose_hash(int argc, char **argv) {
  static const struct option opts[] = {{"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  bool as_json = false;
  int c;
  optind = 1;
  while ((c = tlog_getopt("compose-hash", argc, argv, opts)) != -1) {
    if (c == 'j') as_json = true;
    else if (c == 'h') {
      printf("usage: tlog compose-hash FILE [--json]\n"
             "Prints the SHA-256 (hex) of FILE's exact bytes: dstack's compose hash of an\n"
             "app-compose.json, as measured into RTMR3.\n"
             "  --json  print {\"compose_hash\": HEX, \"file\": FILE}\n");
      return TLOG_EXIT_OK;
    } else return TLOG_EXIT_USAGE;
  }
  const char *file = one_file("compose-hash", argc, argv);
  if (!file) return TLOG_EXIT_USAGE;
  char err[512];
  size_t len;
  uint8_t *data = read_input(file, TLOG_QUOTE_MAX_INPUT, &len, err, sizeof err);
  if (!data) return tlog_fail("compose-hash", as_json, TLOG_EXIT_USAGE, err);
  uint8_t digest[32];
  char hex[65];
  unsigned int dlen = 0;
  int ok = EVP_Digest(data, len, digest, &dlen, EVP_sha256(), NULL) == 1;
  free(data);
  if (!ok) {
    fprintf(stderr, "tlog compose-hash: SHA-256 failed\n");
    return TLOG_EXIT_USAGE;
  }
  xt_hex_encode(digest, 32, hex);
  if (as_json) {
    json_t *o = json_pack("{s:s,s:s}", "compose_hash", hex, "file", file);
    int jr = tlog_json_print(o);
    json_decref(o);
    return jr ? tlog_fail("compose-hash", false, TLOG_EXIT_USAGE, "out of memory") : TLOG_EXIT_OK;
  }
  printf("%s\n", hex);
  return TLOG_EXIT_OK;
}

/* ---- compose-normalize: JSON as Python's json.dumps(sort_keys=True,
 * separators=(",", ":"), ensure_ascii=False) writes it, which is how dstack's tools
 * write app-compose.json (so its hash is reproducible). */

typedef struct outbuf {
  char *p;
  size_t len, cap;
  bool oom;
} outbuf;

static void out_put(outbuf *o, const char *s, size_t n) {
  if (o->oom) return;
  if (o->len + n + 1 > o->cap) {
    size_t cap = o->cap ? o->cap : 256;
    while (o->len + n + 1 > cap) cap *= 2;
    char *p = realloc(o->p, cap);
    if (!p) {
      o->oom = true;
      return;
    }
    o->p = p;
    o->cap = cap;
  }
  memcpy(o->p + o->len, s, n);
  o->len += n;
  o->p[o->len] = '\0';
}

static void out_str(outbuf *o, const char *s) { out_put(o, s, strlen(s)); }

static void put_json_string(outbuf *o, const char *s, size_t n) {
  out_put(o, "\"", 1);
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)s[i];
    char esc[8];
    switch (ch) {
      case '"': out_put(o, "\\\"", 2); break;
      case '\\': out_put(o, "\\\\", 2); break;
      case '\b': out_put(o, "\\b", 2); break;
      case '\f': out_put(o, "\\f", 2); break;
      case '\n': out_put(o, "\\n", 2); break;
      case '\r': out_put(o, "\\r", 2); break;
      case '\t': out_put(o, "\\t", 2); break;
      default:
        if (ch < 0x20) {
          snprintf(esc, sizeof esc, "\\u%04x", ch);
          out_put(o, esc, 6);
        } else {
          out_put(o, (const char *)&s[i], 1);
        }
    }
  }
  out_put(o, "\"", 1);
}

/* Python's repr of a float: the shortest digits that round-trip, fixed notation for
 * decimal exponents -4..15 (with ".0" when integral), else d.ddde[+-]XX. */
static int put_python_float(outbuf *o, double x) {
  if (!isfinite(x)) return -1; /* Python would write NaN/Infinity: not JSON */
  char buf[64], digits[32];
  int prec;
  for (prec = 1; prec <= 17; prec++) {
    snprintf(buf, sizeof buf, "%.*e", prec - 1, x);
    if (strtod(buf, NULL) == x) break;
  }
  /* buf: [-]d[.ddd]e[+-]XX */
  const char *p = buf;
  bool neg = *p == '-';
  if (neg) p++;
  size_t nd = 0;
  for (; *p && *p != 'e'; p++)
    if (*p != '.') digits[nd++] = *p;
  digits[nd] = '\0';
  int exp = atoi(p + 1);
  while (nd > 1 && digits[nd - 1] == '0') digits[--nd] = '\0';
  char res[64];
  size_t rl = 0;
  if (neg) res[rl++] = '-';
  if (exp >= -4 && exp < 16) {
    if (exp < 0) {
      res[rl++] = '0';
      res[rl++] = '.';
      for (int i = -1; i > exp; i--) res[rl++] = '0';
      for (size_t i = 0; i < nd; i++) res[rl++] = digits[i];
    } else {
      for (int i = 0; i <= exp; i++) res[rl++] = (size_t)i < nd ? digits[i] : '0';
      res[rl++] = '.';
      if ((size_t)exp + 1 < nd)
        for (size_t i = (size_t)exp + 1; i < nd; i++) res[rl++] = digits[i];
      else
        res[rl++] = '0';
    }
    res[rl] = '\0';
  } else {
    res[rl++] = digits[0];
    if (nd > 1) {
      res[rl++] = '.';
      for (size_t i = 1; i < nd; i++) res[rl++] = digits[i];
    }
    snprintf(res + rl, sizeof res - rl, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
  }
  out_str(o, res);
  return 0;
}

static int cmp_keys(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int put_value(outbuf *o, json_t *v, int depth) {
  char num[32];
  if (depth > 256) return -1;
  switch (json_typeof(v)) {
    case JSON_OBJECT: {
      size_t n = json_object_size(v), i = 0;
      const char **keys = calloc(n ? n : 1, sizeof *keys);
      if (!keys) return -1;
      const char *k;
      json_t *child;
      json_object_foreach(v, k, child) keys[i++] = k;
      /* byte order of UTF-8 is code point order, which is how Python sorts str keys */
      qsort(keys, n, sizeof *keys, cmp_keys);
      out_put(o, "{", 1);
      for (i = 0; i < n; i++) {
        if (i) out_put(o, ",", 1);
        put_json_string(o, keys[i], strlen(keys[i]));
        out_put(o, ":", 1);
        if (put_value(o, json_object_get(v, keys[i]), depth + 1)) {
          free(keys);
          return -1;
        }
      }
      out_put(o, "}", 1);
      free(keys);
      return 0;
    }
    case JSON_ARRAY: {
      out_put(o, "[", 1);
      for (size_t i = 0; i < json_array_size(v); i++) {
        if (i) out_put(o, ",", 1);
        if (put_value(o, json_array_get(v, i), depth + 1)) return -1;
      }
      out_put(o, "]", 1);
      return 0;
    }
    case JSON_STRING:
      put_json_string(o, json_string_value(v), json_string_length(v));
      return 0;
    case JSON_INTEGER:
      snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
      out_str(o, num);
      return 0;
    case JSON_REAL: return put_python_float(o, json_real_value(v));
    case JSON_TRUE: out_str(o, "true"); return 0;
    case JSON_FALSE: out_str(o, "false"); return 0;
    case JSON_NULL: out_str(o, "null"); return 0;
  }
  return -1;
}

/* --json: the normalized text and its compose hash; frees o's text. */
static int normalize_json(outbuf *o) {
  uint8_t digest[32];
  char hex[65];
  unsigned int dlen = 0;
  int ok = EVP_Digest(o->p ? o->p : "", o->len, digest, &dlen, EVP_sha256(), NULL) == 1;
  xt_hex_encode(digest, 32, hex);
  json_t *j = ok ? json_pack("{s:s,s:s%}", "compose_hash", hex, "normalized", o->p ? o->p : "", o->len) : NULL;
  free(o->p);
  o->p = NULL;
  int rc = tlog_json_print(j);
  json_decref(j);
  return rc ? tlog_fail("compose-normalize", false, TLOG_EXIT_USAGE, "out of memory") : TLOG_EXIT_OK;
}

int cmd_compose_normalize(int argc, char **argv) {
  static const struct option opts[] = {{"out", required_argument, NULL, 'o'}, {"json", no_argument, NULL, 'j'},
                                       {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
  const char *out_path = NULL;
  bool as_json = false;
  int c;
  optind = 1;
  while ((c = tlog_getopt("compose-normalize", argc, argv, opts)) != -1) {
    if (c == 'o') out_path = optarg;
    else if (c == 'j') as_json = true;
    else if (c == 'h') {
      printf("usage: tlog compose-normalize FILE [--out OUT] [--json]\n"
             "Rewrites an app-compose JSON the way dstack's tools write it (sorted keys,\n"
             "separators ',' and ':', UTF-8 unescaped, no trailing newline), so that\n"
             "`tlog compose-hash` of the result is the compose hash dstack measures.\n"
             "  --out OUT  write it to OUT instead of stdout\n"
             "  --json     print {\"compose_hash\", \"normalized\"} (the text as a string)\n");
      return TLOG_EXIT_OK;
    } else return TLOG_EXIT_USAGE;
  }
  const char *in = one_file("compose-normalize", argc, argv);
  if (!in) return TLOG_EXIT_USAGE;
  char err[512];
  size_t len;
  uint8_t *data = read_input(in, TLOG_QUOTE_MAX_INPUT, &len, err, sizeof err);
  if (!data) return tlog_fail("compose-normalize", as_json, TLOG_EXIT_USAGE, err);
  json_error_t jerr;
  json_t *root = json_loadb((const char *)data, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
  free(data);
  if (!root) {
    xt_errf(err, sizeof err, "%s: line %d: %s", in, jerr.line, jerr.text);
    return tlog_fail("compose-normalize", as_json, TLOG_EXIT_USAGE, err);
  }
  outbuf o = {0};
  int bad = put_value(&o, root, 0);
  json_decref(root);
  if (bad || o.oom) {
    fprintf(stderr, "tlog compose-normalize: %s: cannot normalize (non-finite number, too "
                    "deep, or out of memory)\n", in);
    free(o.p);
    return TLOG_EXIT_USAGE;
  }
  if (as_json && !out_path) return normalize_json(&o);
  FILE *f = out_path ? fopen(out_path, "wb") : stdout;
  if (!f) {
    fprintf(stderr, "tlog compose-normalize: %s: %s\n", out_path, strerror(errno));
    free(o.p);
    return TLOG_EXIT_USAGE;
  }
  size_t wrote = fwrite(o.p ? o.p : "", 1, o.len, f);
  int close_rc;
  if (out_path) close_rc = fclose(f);
  else close_rc = fflush(f);
  if (wrote != o.len || close_rc != 0) {
    free(o.p);
    fprintf(stderr, "tlog compose-normalize: write failed\n");
    return TLOG_EXIT_USAGE;
  }
  if (as_json) return normalize_json(&o);
  free(o.p);
  return TLOG_EXIT_OK;
}
