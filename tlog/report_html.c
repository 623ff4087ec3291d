/* report_html.c: `tlog audit --report FILE.html`, one self-contained HTML file (inline
 * CSS, inline SVG charts drawn here, nothing fetched) rendered from the audit's JSON
 * report, and the output helpers the Markdown summary shares.
 *
 * Every string of the document can come from a hostile log (entry fields, type names,
 * call ids) or chain: all of it goes through rep_html. Nothing in the file loads
 * anything (no src=, no href to another resource, no url()): it must read the same
 * offline in ten years. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "client/anchors.h"
#include "tlog/report.h"

const char *report_err_str(report_err e) {
  switch (e) {
  case REPORT_OK: return "ok";
  case REPORT_EINVAL: return "not an audit report";
  case REPORT_ENOMEM: return "out of memory";
  case REPORT_ETOOBIG: return "report too large";
  case REPORT_EIO: return "cannot write the file";
  }
  return "unknown error";
}

/* ---- output ---- */

void rep_put(report_out *o, const char *s, size_t n) {
  if (o->err || !n) return;
  xt_err e = xt_buf_append(&o->b, s, n);
  if (e == XT_ETOOBIG) o->err = REPORT_ETOOBIG;
  else if (e) o->err = REPORT_ENOMEM;
}

void rep_puts(report_out *o, const char *s) { rep_put(o, s, strlen(s)); }

void rep_printf(report_out *o, const char *fmt, ...) {
  char small[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) {
    o->err = REPORT_EINVAL;
    return;
  }
  if ((size_t)n < sizeof small) {
    rep_put(o, small, (size_t)n);
    return;
  }
  char *big = malloc((size_t)n + 1);
  if (!big) {
    o->err = REPORT_ENOMEM;
    return;
  }
  va_start(ap, fmt);
  vsnprintf(big, (size_t)n + 1, fmt, ap);
  va_end(ap);
  rep_put(o, big, (size_t)n);
  free(big);
}

void rep_html(report_out *o, const char *s) {
  if (!s) return;
  const char *run = s;
  for (; *s; s++) {
    const char *rep = NULL;
    switch (*s) {
    case '&': rep = "&amp;"; break;
    case '<': rep = "&lt;"; break;
    case '>': rep = "&gt;"; break;
    case '"': rep = "&quot;"; break;
    case '\'': rep = "&#39;"; break;
    default:
      /* Control characters other than tab/newline are not valid HTML text. */
      if ((unsigned char)*s < 0x20 && *s != '\t' && *s != '\n') rep = "\xef\xbf\xbd";
    }
    if (!rep) continue;
    rep_put(o, run, (size_t)(s - run));
    rep_puts(o, rep);
    run = s + 1;
  }
  rep_put(o, run, (size_t)(s - run));
}

void rep_num(uint64_t n, char out[32]) {
  char d[24];
  int len = snprintf(d, sizeof d, "%llu", (unsigned long long)n);
  size_t j = 0;
  for (int i = 0; i < len; i++) {
    if (i && (len - i) % 3 == 0) out[j++] = ',';
    out[j++] = d[i];
  }
  out[j] = 0;
}

/* An argument as a shell word: bare when it holds only safe characters. */
static void shell_word(report_out *o, const char *a, int esc) {
  bool bare = *a != 0;
  for (const char *p = a; *p; p++)
    if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=+,@%", *p)) bare = false;
  report_out tmp = {xt_buf_make(4096), REPORT_OK};
  if (!bare) rep_puts(&tmp, "'");
  for (const char *p = a; *p; p++)
    if (*p == '\'') rep_puts(&tmp, "'\\''");
    else rep_put(&tmp, p, 1);
  if (!bare) rep_puts(&tmp, "'");
  if (tmp.err) o->err = tmp.err;
  else if (tmp.b.data && esc) rep_html(o, (const char *)tmp.b.data);
  else if (tmp.b.data) rep_puts(o, (const char *)tmp.b.data);
  xt_buf_free(&tmp.b);
}

void rep_command(report_out *o, const report_ctx *c, int esc) {
  rep_puts(o, "tlog");
  for (int i = 0; i < c->argc; i++) {
    const char *a = c->argv[i];
    if (!strcmp(a, "--report") || !strcmp(a, "--summary")) {
      i++;
      continue;
    }
    if (!strncmp(a, "--report=", 9) || !strncmp(a, "--summary=", 10)) continue;
    rep_puts(o, " ");
    shell_word(o, a, esc);
  }
}

report_err rep_write(report_out *o, const char *path, char *err, size_t errcap) {
  if (o->err) {
    xt_errf(err, errcap, "%s: %s", path, report_err_str(o->err));
    return o->err;
  }
  char ferr[400];
  if (xt_file_write_atomic(path, o->b.data ? o->b.data : (const uint8_t *)"", o->b.len, 0644, ferr, sizeof ferr) !=
      XT_OK) {
    xt_errf(err, errcap, "%s", ferr);
    return REPORT_EIO;
  }
  return REPORT_OK;
}

/* ---- reading the document ---- */

static uint64_t jnum(const json_t *o, const char *k) {
  json_t *v = json_object_get(o, k);
  return json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
}

static const char *jstr(const json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  return s ? s : "";
}

/* What a failure line means, by the check letter it starts with. New rows for new
 * checks; a line without a known prefix points to the check's evidence. */
static const struct {
  const char *prefix, *meaning;
} meanings[] = {
    {"(a)", "The log's history published on the chain does not match what the log shows: the operator may have "
            "shown different histories to different people, or rewritten the log."},
    {"(b)", "The log's entries do not add up to the roots published on the chain: entries were changed, removed "
            "or added after they were anchored."},
    {"(c)", "The count of users cannot be trusted: a credential intake entry is incomplete."},
    {"(d)", "A logged API call was outside the allowed set, named direct messages, or had no logged intent: the "
            "code may have read, or tried to read, data it must not."},
    {"(e)", "Code that is not proven to be an allowed release ran: its attestation is missing or wrong, or the "
            "app's KMS contract did not allow it."},
    {"(collector)", "A collector ran that the policy does not allow (a test build, or another destination than the "
                    "compiled TikTok one): it could send users' cookies elsewhere."},
    {"(kms)", "The app's KMS contracts allowed something the policy does not list, at some time: every version they "
              "ever allowed could get the app's keys."},
    {"entry ", "The log holds an entry that is not a valid event: the audit cannot say what happened there."},
};

static const char *meaning_of(const char *line) {
  for (size_t i = 0; i < sizeof meanings / sizeof meanings[0]; i++)
    if (!strncmp(line, meanings[i].prefix, strlen(meanings[i].prefix))) return meanings[i].meaning;
  return "See this check's evidence below.";
}

/* The policy is the built-in one (watch history only). */
static bool default_policy(const json_t *doc) {
  const char *p = jstr(json_object_get(doc, "api_calls"), "policy");
  return !strncmp(p, "built-in: GET watch_history", 27);
}

/* A PASS must say what it rests on when the audit was run with a weaker option. */
static void verdict_reservations(report_out *o, const json_t *doc) {
  const json_t *ci = json_object_get(doc, "code_identity");
  if (!strncmp(jstr(doc, "anchor_source"), "file", 4))
    rep_puts(o, " But the anchors were read from a file, not from the chain: nothing about what was published on "
                "the chain is proven.");
  if (json_is_true(json_object_get(ci, "allow_simulated")))
    rep_puts(o, " But quotes from a simulator were accepted (--allow-simulated): this is a test run, not evidence "
                "from real TDX hardware.");
  if (json_is_true(json_object_get(ci, "allow_dev")))
    rep_puts(o, " But a development log without attestation was accepted (--allow-dev): no code identity is "
                "proven.");
  /* Quotes the audit could not examine do not fail it, but the sentence above must not
   * read as if they had been checked. */
  size_t i, unchecked = 0;
  json_t *b;
  json_array_foreach(json_object_get(doc, "boots"), i, b) {
    unchecked += !strcmp(jstr(json_object_get(b, "code_identity"), "status"), "not checked");
  }
  if (unchecked)
    rep_printf(o, " But the quotes of %zu boot entr%s were not checked (a component that serves its own quote, "
                  "such as the collector, audited over HTTP rather than from a bundle that holds them): for that "
                  "code, only the compose hash its entries name is known.",
               unchecked, unchecked == 1 ? "y" : "ies");
}

/* The audit found no failure but left something unchecked (its "verdict" INCOMPLETE):
 * never shown as PASSED, nor as FAILED. */
bool rep_incomplete(const json_t *doc) {
  return !json_is_true(json_object_get(doc, "verified")) && !json_object_get(doc, "error") &&
         (!strcmp(jstr(doc, "verdict"), "INCOMPLETE") || (!jnum(doc, "failure_count") &&
                                                           json_array_size(json_object_get(doc, "incomplete"))));
}

const char *rep_verdict_word(const json_t *doc) {
  return json_is_true(json_object_get(doc, "verified")) ? "PASSED" : rep_incomplete(doc) ? "INCOMPLETE" : "FAILED";
}

void rep_verdict(report_out *o, const json_t *doc) {
  const json_t *w = json_object_get(doc, "window");
  const char *from = jstr(w, "from"), *to = jstr(w, "to");
  if (json_is_true(json_object_get(doc, "verified"))) {
    char n[32];
    rep_num(jnum(doc, "users_in_window"), n);
    rep_printf(o, "From %s to %s, %s users' credentials were processed by code that could only call ", from, to, n);
    if (default_policy(doc)) rep_puts(o, "TikTok's watch-history API.");
    else rep_printf(o, "the APIs its policy allows (%s).", jstr(json_object_get(doc, "api_calls"), "policy"));
    verdict_reservations(o, doc);
    return;
  }
  const char *error = json_string_value(json_object_get(doc, "error"));
  if (error) {
    rep_printf(o, "The audit of %s to %s could not conclude, so it proves nothing: %s", from, to, error);
    return;
  }
  const json_t *f = json_object_get(doc, "failures");
  const char *first = json_string_value(json_array_get(f, 0));
  char n[32];
  if (rep_incomplete(doc)) {
    const json_t *inc = json_object_get(doc, "incomplete");
    size_t k = json_array_size(inc);
    char u[32];
    rep_num(jnum(doc, "users_in_window"), u);
    rep_printf(o, "From %s to %s, %s users' credentials were processed and no check failed, but %zu thing%s could not "
                  "be checked, so the audit does not prove that the code could only call ", from, to, u, k,
               k == 1 ? "" : "s");
    if (default_policy(doc)) rep_puts(o, "TikTok's watch-history API.");
    else rep_printf(o, "the APIs its policy allows (%s).", jstr(json_object_get(doc, "api_calls"), "policy"));
    const char *why = json_string_value(json_array_get(inc, 0));
    if (why) rep_printf(o, " First not checked: %s.", why);
    verdict_reservations(o, doc);
    return;
  }
  rep_num(jnum(doc, "failure_count"), n);
  rep_printf(o, "The audit of %s to %s FAILED (%s problem%s). ", from, to, n, jnum(doc, "failure_count") == 1 ? "" : "s");
  if (first) rep_printf(o, "First: %s. %s", first, meaning_of(first));
}

/* ---- generic evidence: any JSON value, as text that wraps ---- */

static bool looks_hex(const char *s) {
  size_t n = strlen(s);
  if (n >= 2 && s[0] == '0' && s[1] == 'x') s += 2, n -= 2;
  if (n < 16) return false;
  for (; *s; s++)
    if (!strchr("0123456789abcdefABCDEF", *s)) return false;
  return true;
}

static bool is_time_key(const char *k) {
  size_t n = strlen(k);
  return !strcmp(k, "time") || (n > 5 && !strcmp(k + n - 5, "_time"));
}

static void html_value(report_out *o, const char *key, const json_t *v, int depth);

static void html_object(report_out *o, const json_t *v, int depth) {
  const char *k;
  json_t *x;
  rep_puts(o, "<dl>");
  json_object_foreach((json_t *)v, k, x) {
    rep_puts(o, "<dt>");
    rep_html(o, k);
    rep_puts(o, "</dt><dd>");
    html_value(o, k, x, depth + 1);
    rep_puts(o, "</dd>");
  }
  rep_puts(o, "</dl>");
}

static void html_array(report_out *o, const char *key, const json_t *v, int depth) {
  size_t n = json_array_size(v), i;
  json_t *x;
  if (!n) {
    rep_puts(o, "<span class=\"none\">(none)</span>");
    return;
  }
  rep_puts(o, "<ol class=\"items\" start=\"0\">");
  json_array_foreach((json_t *)v, i, x) {
    if (i == REPORT_MAX_ITEMS) break;
    rep_puts(o, "<li>");
    html_value(o, key, x, depth + 1);
    rep_puts(o, "</li>");
  }
  rep_puts(o, "</ol>");
  if (n > REPORT_MAX_ITEMS) {
    char a[32], b[32];
    rep_num(REPORT_MAX_ITEMS, a);
    rep_num(n - REPORT_MAX_ITEMS, b);
    rep_printf(o, "<p class=\"cut\">The first %s shown; %s more are in the audit's <code>--json</code> output.</p>", a,
               b);
  }
}

static void html_value(report_out *o, const char *key, const json_t *v, int depth) {
  if (depth > 8) {
    rep_puts(o, "<span class=\"none\">(nested too deep: see <code>--json</code>)</span>");
    return;
  }
  switch (json_typeof(v)) {
  case JSON_OBJECT: html_object(o, v, depth); break;
  case JSON_ARRAY: html_array(o, key, v, depth); break;
  case JSON_STRING: {
    const char *s = json_string_value(v);
    bool code = looks_hex(s);
    rep_puts(o, code ? "<code>" : "");
    rep_html(o, s);
    rep_puts(o, code ? "</code>" : "");
    break;
  }
  case JSON_INTEGER: {
    json_int_t n = json_integer_value(v);
    if (key && is_time_key(key) && n > 0) {
      char t[21];
      tlog_datetime((uint64_t)n, t);
      rep_printf(o, "%s (%lld)", t, (long long)n);
    } else {
      rep_printf(o, "%lld", (long long)n);
    }
    break;
  }
  case JSON_REAL: rep_printf(o, "%.3f", json_real_value(v)); break;
  case JSON_TRUE: rep_puts(o, "yes"); break;
  case JSON_FALSE: rep_puts(o, "<strong>no</strong>"); break;
  case JSON_NULL: rep_puts(o, "<span class=\"none\">not examined</span>"); break;
  }
}

/* ---- charts: inline SVG bars, readable without colour (black bars, hatched gaps,
 * text labels) and with a one-line text reading under each ---- */

typedef struct bar {
  char label[12];
  uint64_t v;
  bool gap; /* drawn hatched across the full height */
} bar;

#define SVG_W 800
#define SVG_H 230
#define SVG_L 56
#define SVG_B 44
#define SVG_T 14

/* sum: the caption gives the total (not for distinct users: one user on two days is
 * one user). */
static void svg_bars(report_out *o, const char *id, const char *title, const bar *b, size_t n, bool gaps,
                     bool sum) {
  uint64_t max = 0, total = 0;
  size_t at = 0;
  for (size_t i = 0; i < n; i++) {
    total += b[i].v;
    if (b[i].v > max) max = b[i].v, at = i;
  }
  double pw = (double)(SVG_W - SVG_L - 8) / (double)(n ? n : 1), ph = SVG_H - SVG_B - SVG_T;
  if (pw > 60) pw = 60; /* a few bars stay bars, not a filled box */
  rep_printf(o, "<figure><svg viewBox=\"0 0 %d %d\" role=\"img\" aria-labelledby=\"%s-t\">", SVG_W, SVG_H, id);
  rep_printf(o, "<title id=\"%s-t\">", id);
  rep_html(o, title);
  rep_puts(o, "</title>");
  if (gaps)
    rep_printf(o, "<defs><pattern id=\"%s-h\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" "
                  "patternTransform=\"rotate(45)\"><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#555\" "
                  "stroke-width=\"2\"/></pattern></defs>",
               id);
  /* Axes and the y scale: 0, half, max. */
  rep_printf(o, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#000\"/>", SVG_L, SVG_T, SVG_L, SVG_H - SVG_B);
  rep_printf(o, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#000\"/>", SVG_L, SVG_H - SVG_B, SVG_W - 8,
             SVG_H - SVG_B);
  for (int k = 0; k <= 2; k++) {
    uint64_t v = max * (uint64_t)k / 2;
    double y = SVG_H - SVG_B - (max ? ph * (double)v / (double)max : 0);
    rep_printf(o, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" font-size=\"12\">%llu</text>", SVG_L - 6, y + 4,
               (unsigned long long)v);
    if (!max) break;
  }
  for (size_t i = 0; i < n; i++) {
    double x = SVG_L + pw * (double)i, w = pw > 2 ? pw - 1 : pw;
    if (b[i].gap) {
      rep_printf(o, "<rect x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%.1f\" fill=\"url(#%s-h)\"><title>%s: no anchor"
                    "</title></rect>",
                 x, SVG_T, w, ph, id, b[i].label);
      continue;
    }
    if (!b[i].v) continue;
    double h = ph * (double)b[i].v / (double)max;
    rep_printf(o, "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" fill=\"#222\"><title>%s: %llu</title>"
                  "</rect>",
               x, SVG_H - SVG_B - h, w, h, b[i].label, (unsigned long long)b[i].v);
  }
  /* X labels: first, last and up to four between. */
  size_t step = n > 6 ? (n + 4) / 5 : 1, shown = 0;
  for (size_t i = 0; i < n; i += step) {
    if (i + step / 2 >= n && i != 0 && n > 6) break; /* too close to the last label */
    rep_printf(o, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" font-size=\"12\">%s</text>",
               SVG_L + pw * ((double)i + 0.5), SVG_H - SVG_B + 18, b[i].label);
    shown = i + 1;
  }
  if (shown < n)
    rep_printf(o, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"end\" font-size=\"12\">%s</text>", SVG_L + pw * (double)n,
               SVG_H - SVG_B + 36, b[n - 1].label);
  rep_puts(o, "</svg><figcaption>");
  rep_html(o, title);
  char tn[32], mn[32];
  rep_num(total, tn);
  rep_num(max, mn);
  if (n && max && sum) rep_printf(o, ": %s in all; highest %s (%s).", tn, mn, b[at].label);
  else if (n && max) rep_printf(o, ": highest %s (%s).", mn, b[at].label);
  else rep_puts(o, ": none.");
  rep_puts(o, "</figcaption></figure>");
}

/* The window as days: first day and count (capped at REPORT_MAX_DAYS). */
static size_t window_days(const json_t *doc, uint64_t *day0, bool *capped) {
  const json_t *w = json_object_get(doc, "window");
  uint64_t a = jnum(w, "from_time"), b = jnum(w, "to_time_exclusive");
  *day0 = a / 86400;
  size_t n = b > a ? (size_t)((b - a + 86399) / 86400) : 0;
  *capped = n > REPORT_MAX_DAYS;
  return *capped ? REPORT_MAX_DAYS : n;
}

static bar *day_bars(uint64_t day0, size_t n) {
  bar *b = calloc(n ? n : 1, sizeof *b);
  for (size_t i = 0; b && i < n; i++) tlog_date((day0 + i) * 86400, b[i].label);
  return b;
}

/* The longest time between consecutive anchors, and the days without one, in words. */
static void anchor_gaps_text(report_out *o, const json_t *anchors, const bar *b, size_t n) {
  uint64_t prev = 0, longest = 0, lt = 0;
  size_t i;
  json_t *x;
  json_array_foreach((json_t *)anchors, i, x) {
    uint64_t t = jnum(x, "time");
    if (prev && t > prev && t - prev > longest) longest = t - prev, lt = prev;
    prev = t;
  }
  rep_puts(o, "<p>");
  if (longest) {
    char from[21];
    tlog_datetime(lt, from);
    if (longest < 7200)
      rep_printf(o, "Longest time between two anchors: %llu minutes (from %s). ", (unsigned long long)(longest + 59) / 60,
                 from);
    else
      rep_printf(o, "Longest time between two anchors: %.1f hours (from %s). ", (double)longest / 3600.0, from);
  }
  size_t gapdays = 0;
  for (size_t k = 0; k < n; k++) gapdays += b[k].gap;
  if (!gapdays) {
    rep_puts(o, "Every day of the window has an anchor.</p>");
    return;
  }
  rep_printf(o, "Days without an anchor (hatched): %zu:", gapdays);
  size_t shown = 0;
  for (size_t k = 0; k < n && shown < 60; k++) {
    if (!b[k].gap || (k && b[k - 1].gap)) continue;
    size_t e = k;
    while (e + 1 < n && b[e + 1].gap) e++;
    rep_printf(o, "%s %s", shown ? "," : "", b[k].label);
    if (e > k) rep_printf(o, " to %s", b[e].label);
    shown++;
  }
  rep_puts(o, shown == 60 ? ", and more.</p>" : ".</p>");
}

static void charts(report_out *o, const json_t *doc) {
  uint64_t day0;
  bool capped;
  size_t n = window_days(doc, &day0, &capped);
  bar *users = day_bars(day0, n), *calls = day_bars(day0, n), *anch = day_bars(day0, n);
  if (!users || !calls || !anch) {
    o->err = REPORT_ENOMEM;
    goto out;
  }
  rep_puts(o, "<section id=\"charts\"><h2>Over time</h2><p class=\"note\">Days are the block days of the anchor "
              "that first covers each entry (the enclave's own clock is set by the host and is not used).</p>");
  if (capped) rep_printf(o, "<p class=\"cut\">The window is longer than %d days: the charts show its first %d.</p>",
                         REPORT_MAX_DAYS, REPORT_MAX_DAYS);
  size_t i;
  json_t *x;
  json_array_foreach(json_object_get(doc, "per_day"), i, x) {
    uint64_t t;
    if (tlog_parse_date(jstr(x, "day"), &t) || t / 86400 < day0 || t / 86400 - day0 >= n) continue;
    users[t / 86400 - day0].v = jnum(x, "users");
    calls[t / 86400 - day0].v = jnum(x, "api_calls");
  }
  const json_t *an = json_object_get(doc, "anchors");
  json_array_foreach((json_t *)an, i, x) {
    uint64_t d = jnum(x, "time") / 86400;
    if (json_is_true(json_object_get(x, "in_window")) && d >= day0 && d - day0 < n) anch[d - day0].v++;
  }
  for (size_t k = 0; k < n; k++) anch[k].gap = anch[k].v == 0;
  svg_bars(o, "users-day", "Users whose credentials were taken in, per day", users, n, false, false);
  const json_t *um = json_object_get(doc, "users_per_month");
  size_t nm = json_object_size(um);
  bar *mb = calloc(nm ? nm : 1, sizeof *mb);
  if (!mb) {
    o->err = REPORT_ENOMEM;
    goto out;
  }
  const char *k;
  size_t m = 0;
  json_object_foreach((json_t *)um, k, x) {
    snprintf(mb[m].label, sizeof mb[m].label, "%.7s", k);
    mb[m++].v = json_is_integer(x) && json_integer_value(x) > 0 ? (uint64_t)json_integer_value(x) : 0;
  }
  svg_bars(o, "users-month", "Distinct users per month", mb, nm, false, false);
  free(mb);
  svg_bars(o, "calls-day", "API calls (intents) per day", calls, n, false, true);
  svg_bars(o, "anchors-day", "Anchors on the chain per day", anch, n, true, true);
  anchor_gaps_text(o, an, anch, n);
  rep_puts(o, "</section>");
out:
  free(users);
  free(calls);
  free(anch);
}

/* ---- sections ---- */

static const char css[] =
    "body{font:16px/1.5 Georgia,'Times New Roman',serif;color:#111;background:#fff;margin:0}"
    "main{max-width:60rem;margin:0 auto;padding:1rem}"
    "h1{font-size:1.5rem}h2{font-size:1.25rem;border-bottom:1px solid #000;margin-top:2rem}"
    "h3{font-size:1.05rem;margin-bottom:.25rem}"
    ".verdict{font-size:1.2rem;padding:1rem;border:4px solid #000}"
    ".pass{border-style:solid}.fail{border-style:double;border-width:8px}.incomplete{border-style:dashed}"
    ".badge{font-weight:bold;letter-spacing:.1em}"
    "code,pre{font-family:'DejaVu Sans Mono',monospace;font-size:.85em;word-break:break-all;"
    "overflow-wrap:anywhere;white-space:pre-wrap}"
    "dl{margin:.2rem 0 .2rem .5rem}dt{font-weight:bold;float:left;clear:left;margin-right:.5rem}"
    "dt::after{content:':'}dd{margin:0 0 .1rem 0;overflow-wrap:anywhere}dd dl{clear:both}"
    "ol.items{padding-left:1.5rem}ol.items>li{border-bottom:1px dotted #999}"
    "figure{margin:1rem 0}svg{width:100%;height:auto;display:block}"
    "figcaption{font-style:italic}.note,.cut{font-size:.9rem}.none{color:#555;font-style:italic}"
    ".check{border-left:4px solid #000;padding-left:.75rem;margin:1rem 0}"
    "*{overflow-wrap:anywhere}"
    "@media print{body{font-size:11pt}main{max-width:none}.check,figure{break-inside:avoid}}";

static void html_head(report_out *o, const json_t *doc) {
  const json_t *w = json_object_get(doc, "window");
  rep_puts(o, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
              "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
              "<title>Audit report: ");
  rep_html(o, jstr(doc, "origin"));
  rep_puts(o, ", ");
  rep_html(o, jstr(w, "from"));
  rep_puts(o, " to ");
  rep_html(o, jstr(w, "to"));
  rep_printf(o, "</title><style>%s</style></head><body><main>\n", css);
}

static void html_verdict(report_out *o, const json_t *doc) {
  bool pass = json_is_true(json_object_get(doc, "verified"));
  const json_t *w = json_object_get(doc, "window");
  rep_puts(o, "<h1>Verification report: ");
  rep_html(o, jstr(doc, "origin"));
  rep_puts(o, "</h1><p>Audit window ");
  rep_html(o, jstr(w, "from"));
  rep_puts(o, " to ");
  rep_html(o, jstr(w, "to"));
  rep_puts(o, " (UTC, by block time).</p>");
  bool inc = rep_incomplete(doc);
  rep_printf(o, "<p id=\"verdict\" class=\"verdict %s\"><span class=\"badge\">%s.</span> ",
             pass ? "pass" : inc ? "incomplete" : "fail", rep_verdict_word(doc));
  report_out s = {xt_buf_make(1 << 16), REPORT_OK};
  rep_verdict(&s, doc);
  if (s.err) o->err = s.err;
  else rep_html(o, (const char *)s.b.data);
  xt_buf_free(&s.b);
  rep_puts(o, "</p>");
  const json_t *nc = json_object_get(doc, "incomplete");
  if (json_array_size(nc)) {
    rep_puts(o, "<section id=\"not-checked\"><h2>What was not checked</h2><ol>");
    size_t i;
    json_t *x;
    json_array_foreach((json_t *)nc, i, x) {
      if (i == REPORT_MAX_ITEMS) break;
      rep_puts(o, "<li>");
      rep_html(o, json_string_value(x) ? json_string_value(x) : "");
      rep_puts(o, "</li>");
    }
    rep_puts(o, "</ol></section>");
  }
  const json_t *f = json_object_get(doc, "failures");
  if (!json_array_size(f)) return;
  rep_puts(o, "<section id=\"failures\"><h2>What failed</h2><ol>");
  size_t i;
  json_t *x;
  json_array_foreach((json_t *)f, i, x) {
    if (i == REPORT_MAX_ITEMS) break;
    rep_puts(o, "<li><code>");
    rep_html(o, json_string_value(x));
    rep_puts(o, "</code><br>");
    rep_html(o, meaning_of(json_string_value(x) ? json_string_value(x) : ""));
    rep_puts(o, "</li>");
  }
  rep_puts(o, "</ol>");
  if (json_array_size(f) > REPORT_MAX_ITEMS || jnum(doc, "failure_count") > json_array_size(f))
    rep_printf(o, "<p class=\"cut\">%llu failures in all; the rest are in the audit's <code>--json</code> output.</p>",
               (unsigned long long)jnum(doc, "failure_count"));
  rep_puts(o, "</section>");
}

/* Each compose hash the KMS history names: when added and removed (block time, tx). */
static void kms_versions(report_out *o, const json_t *kh) {
  size_t i;
  json_t *x;
  rep_puts(o, "<h3>Every code version the app's KMS contract ever allowed</h3><ol class=\"items\">");
  size_t shown = 0;
  json_array_foreach((json_t *)kh, i, x) {
    const char *ev = jstr(x, "event");
    bool add = !strcmp(ev, "ComposeHashAdded"), rem = !strcmp(ev, "ComposeHashRemoved");
    if (!add && !rem) continue;
    char t[21];
    tlog_datetime(jnum(x, "time"), t);
    rep_printf(o, "<li>%s <code>", add ? "allowed" : "<strong>removed</strong>");
    rep_html(o, jstr(json_object_get(x, "args"), "composeHash"));
    rep_printf(o, "</code> at %s, block %llu, transaction <code>", t, (unsigned long long)jnum(x, "block"));
    rep_html(o, jstr(x, "tx"));
    rep_puts(o, "</code></li>");
    shown++;
  }
  rep_puts(o, "</ol>");
  if (!shown) rep_puts(o, "<p>The contract's history names no compose hash.</p>");
}

static void code_versions(report_out *o, const report_ctx *c) {
  const json_t *doc = c->doc;
  rep_puts(o, "<section id=\"code\"><h2>Code and platform</h2>");
  rep_puts(o, "<p>Anchors: ");
  if (c->contract) {
    rep_puts(o, "TreeHeadAnchor contract <code>");
    rep_html(o, c->contract);
    rep_puts(o, "</code>, read over JSON-RPC.");
  } else {
    rep_puts(o, "a file of anchors (not checked against a chain).");
  }
  if (c->app) {
    rep_puts(o, " App's KMS contract (DstackApp): <code>");
    rep_html(o, c->app);
    rep_puts(o, "</code>.");
  } else {
    rep_puts(o, " No DstackApp contract was given (<code>--app</code>): which code versions the KMS allowed was "
                "not checked.");
  }
  rep_puts(o, "</p>");
  const json_t *kh = json_object_get(doc, "kms_history");
  if (json_is_array(kh)) kms_versions(o, kh);
  rep_puts(o, "<h3>Code that ran (boot entries, with their TDX quotes)</h3>");
  html_value(o, "boots", json_object_get(doc, "boots"), 0);
  rep_puts(o, "</section>");
}

/* Members drawn elsewhere; every other member is a check's evidence. */
static const char *const headline[] = {"verified", "origin", "window", "failures", "failure_count",
                                       "per_day", "error", "checks", "incomplete", NULL};

static bool is_headline(const char *k) {
  for (size_t i = 0; headline[i]; i++)
    if (!strcmp(k, headline[i])) return true;
  return false;
}

/* in_checks: a member of the "checks" array (re-run selects it there), else a member of
 * the document (re-run prints that member). */
static void check_block(report_out *o, const report_ctx *c, const char *name, const json_t *v, const char *verdict,
                        bool in_checks) {
  rep_puts(o, "<div class=\"check\"><h3>");
  rep_html(o, name);
  if (verdict) {
    rep_puts(o, ": ");
    rep_html(o, verdict);
  }
  rep_puts(o, "</h3>");
  html_value(o, name, v, 0);
  rep_puts(o, "<p class=\"note\">Re-run: <code>");
  rep_command(o, c, 1);
  bool has_json = false;
  for (int i = 0; i < c->argc; i++) has_json |= !strcmp(c->argv[i], "--json");
  rep_puts(o, has_json ? " | jq " : " --json | jq ");
  char filter[300];
  if (in_checks)
    snprintf(filter, sizeof filter, ".checks[] | select(.name == \"%.200s\")", name);
  else
    snprintf(filter, sizeof filter, ".[\"%.200s\"]", name);
  shell_word(o, filter, 1);
  rep_puts(o, "</code></p></div>");
}

/* A "checks" array (each with a name and a verdict) when the audit gives one; every
 * other member as evidence in either case. */
static void checks_section(report_out *o, const report_ctx *c) {
  const json_t *doc = c->doc;
  rep_puts(o, "<section id=\"checks\"><h2>Every check and its evidence</h2>"
              "<p class=\"note\">Each part below is a member of the audit's JSON report; the command under it "
              "prints that member again.</p>");
  size_t i;
  json_t *x;
  json_array_foreach(json_object_get(doc, "checks"), i, x) {
    const char *name = json_is_object(x) ? jstr(x, "name") : "";
    json_t *vd = json_object_get(x, "verdict");
    const char *verdict = json_is_string(vd) ? json_string_value(vd) : json_is_true(vd) ? "pass"
                                                                      : json_is_false(vd) ? "FAIL" : NULL;
    check_block(o, c, name[0] ? name : "check", x, verdict, true);
  }
  const char *k;
  json_object_foreach((json_t *)doc, k, x) {
    if (!is_headline(k)) check_block(o, c, k, x, NULL, false);
  }
  rep_puts(o, "</section>");
}

static void trust_section(report_out *o) {
  rep_puts(
      o,
      "<section id=\"trust\"><h2>What is proven, and what rests on trust</h2>"
      "<h3>Checked by cryptography here</h3><ul>"
      "<li>The log is append-only and the same for everyone: each anchor published on the chain is consistent "
      "with the one before (Merkle consistency proofs), and every entry was recomputed into the anchored roots.</li>"
      "<li>The times are block times of the chain, not the clock of the machine, which the host controls.</li>"
      "<li>Every API call the app logged in the window is within the allowed set, and no entry names direct "
      "messages.</li>"
      "<li>The code that signed the log and its anchors ran in an Intel TDX confidential VM: its quotes are "
      "checked, their event logs replayed, and their compose hash is the one the entries name (and, with the "
      "app's KMS contract, one the contract allowed at that time).</li></ul>"
      "<h3>Resting on a code review</h3><ul>"
      "<li>That the app logs every call before it makes it, and that it can reach only TikTok's watch-history "
      "API: the egress allowlist is in the reviewed source of the release whose compose hash the quotes show. "
      "The log cannot show a call the code never logged; the review of that code is what says it cannot make "
      "one.</li>"
      "<li>That the reviewed source is what was built into the images the compose hash names (reproducible "
      "builds, release manifest).</li></ul>"
      "<h3>Resting on others</h3><ul>"
      "<li>Intel's TDX hardware and its attestation keys; the chain's consensus; whoever holds the app's KMS "
      "contract owner key decides which code versions are allowed, and every change they make is on the chain "
      "(listed above when the audit had the contract).</li></ul></section>");
}

/* The sections in reading order: the verdict first (what most readers need), the
 * evidence after, the trust boundaries last. */
report_err report_html_write(const char *path, const report_ctx *c, char *err, size_t errcap) {
  if (!json_is_object(c->doc) || !json_is_boolean(json_object_get(c->doc, "verified")) ||
      !json_is_object(json_object_get(c->doc, "window"))) {
    xt_errf(err, errcap, "%s: the audit's report document lacks verified/window", path);
    return REPORT_EINVAL;
  }
  report_out o = {xt_buf_make(REPORT_MAX_BYTES), REPORT_OK};
  html_head(&o, c->doc);
  html_verdict(&o, c->doc);
  if (!json_object_get(c->doc, "error")) {
    charts(&o, c->doc);
    code_versions(&o, c);
    checks_section(&o, c);
  }
  trust_section(&o);
  rep_puts(&o, "<footer><p class=\"note\">Written by <code>");
  rep_command(&o, c, 1);
  rep_puts(&o, "</code> from the same results as its <code>--json</code> output. This file loads nothing from "
               "the network.</p></footer></main></body></html>\n");
  report_err e = rep_write(&o, path, err, errcap);
  xt_buf_free(&o.b);
  return e;
}
