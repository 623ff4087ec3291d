/* report_summary.c: `tlog audit --summary FILE.md`, a short statement for posting,
 * written from the same JSON report as the HTML one. Strings from the log or chain are
 * escaped for Markdown (which passes HTML through), so a hostile origin cannot add
 * links, markup or lines. */
#include <string.h>

#include "tlog/report.h"

/* s with Markdown's emphasis, code, link and table punctuation backslash-escaped, < > & as entities, and control
 * characters (new lines included) as spaces. */
static void md(report_out *o, const char *s) {
  for (; s && *s; s++) {
    char c = *s;
    if (c == '<') rep_puts(o, "&lt;");
    else if (c == '>') rep_puts(o, "&gt;");
    else if (c == '&') rep_puts(o, "&amp;");
    else if ((unsigned char)c < 0x20) rep_puts(o, " ");
    else if (strchr("\\`*_[]|~", c)) {
      rep_puts(o, "\\");
      rep_put(o, s, 1);
    } else {
      rep_put(o, s, 1);
    }
  }
}

static uint64_t num(const json_t *o, const char *k) {
  json_t *v = json_object_get(o, k);
  return json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
}

/* The numbers behind the verdict, one sentence. */
static void numbers(report_out *o, const json_t *doc) {
  const json_t *ac = json_object_get(doc, "api_calls"), *en = json_object_get(doc, "entries");
  size_t nanch = 0, i;
  json_t *x;
  json_array_foreach(json_object_get(doc, "anchors"), i, x) nanch += json_is_true(json_object_get(x, "in_window"));
  char u[32], in[32], calls[32], out[32], e[32], a[32];
  rep_num(num(doc, "users_in_window"), u);
  rep_num(num(doc, "credential_intakes"), in);
  rep_num(num(ac, "intents"), calls);
  rep_num(num(ac, "outside_policy"), out);
  rep_num(num(en, "window_entries"), e);
  rep_num(nanch, a);
  rep_printf(o, "In the window: %s distinct users (%s credential intakes), %s API calls (%s outside the policy), "
                "%s log entries, %s anchors, %s entries naming direct messages.\n\n",
             u, in, calls, out, e, a, json_is_integer(json_object_get(doc, "direct_message_mentions"))
                                          ? (json_integer_value(json_object_get(doc, "direct_message_mentions")) ? "some"
                                                                                                                 : "no")
                                          : "unknown");
}

report_err report_summary_write(const char *path, const report_ctx *c, char *err, size_t errcap) {
  const json_t *doc = c->doc;
  if (!json_is_object(doc) || !json_is_boolean(json_object_get(doc, "verified"))) {
    xt_errf(err, errcap, "%s: the audit's report document lacks verified", path);
    return REPORT_EINVAL;
  }
  report_out o = {xt_buf_make(1 << 20), REPORT_OK};
  rep_printf(&o, "**Audit %s**: ", rep_verdict_word(doc));
  md(&o, json_string_value(json_object_get(doc, "origin")));
  rep_puts(&o, "\n\n");
  report_out v = {xt_buf_make(1 << 16), REPORT_OK};
  rep_verdict(&v, doc);
  if (v.err) o.err = v.err;
  else md(&o, (const char *)v.b.data);
  xt_buf_free(&v.b);
  rep_puts(&o, "\n\n");
  if (!json_object_get(doc, "error")) numbers(&o, doc);
  size_t i;
  json_t *x;
  json_array_foreach(json_object_get(doc, "incomplete"), i, x) {
    if (!i) rep_puts(&o, "Not checked:\n\n");
    rep_puts(&o, "- ");
    md(&o, json_string_value(x));
    rep_puts(&o, "\n");
  }
  if (json_array_size(json_object_get(doc, "incomplete"))) rep_puts(&o, "\n");
  if (c->contract) {
    rep_puts(&o, "The log's tree heads are anchored on the TreeHeadAnchor contract `");
    md(&o, c->contract);
    rep_puts(&o, "`");
    if (c->app) {
      rep_puts(&o, "; the code versions allowed are those of the DstackApp contract `");
      md(&o, c->app);
      rep_puts(&o, "`");
    }
    rep_puts(&o, ".\n\n");
  }
  rep_puts(&o, "How to check it yourself (the `tlog` auditor CLI of xordi-tlog):\n\n```\n");
  report_out cmd = {xt_buf_make(1 << 16), REPORT_OK};
  rep_command(&cmd, c, 0);
  /* A fenced block shows its text literally; only a fence inside it could break out. */
  if (cmd.err) o.err = cmd.err;
  else if (strstr((const char *)cmd.b.data, "```")) rep_puts(&o, "(the command holds a code fence: see the report)");
  else rep_puts(&o, (const char *)cmd.b.data);
  xt_buf_free(&cmd.b);
  rep_puts(&o, "\n```\n");
  report_err e = rep_write(&o, path, err, errcap);
  xt_buf_free(&o.b);
  return e;
}
