/* policy.c: the audit policy file (see policy.h; format in SPEC.md 6.3).
 *
 * Strict: every member of a section this module reads must be one it knows, because a
 * misspelt key ("implementaions") would otherwise drop an allowlist silently. Keys that
 * other checks read are listed in `others` and skipped here. */
#include "client/policy.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/err.h"
#include "base/file.h"
#include "base/hex.h"
#include "client/kms.h"

#define MAX_POLICY_BYTES ((size_t)4 << 20)

const char *const audit_policy_rule_keys[AUDIT_POLICY_RULE_FIELDS] = {"endpoint", "method", "path", "host"};

const char *audit_policy_err_str(audit_policy_err e) {
  switch (e) {
  case AUDIT_POLICY_OK: return "ok";
  case AUDIT_POLICY_ERR_IO: return "cannot read the policy";
  case AUDIT_POLICY_ERR_FORMAT: return "malformed policy";
  case AUDIT_POLICY_ERR_NOMEM: return "out of memory";
  }
  return "unknown error";
}

static const char *const section_names[AUDIT_POLICY_SECTIONS] = {"egress", "releases", "platform", "contracts"};

const char *audit_policy_section_name(audit_policy_section s) {
  return s < AUDIT_POLICY_SECTIONS ? section_names[s] : "?";
}

/* Top-level and "contracts" keys read by other checks (SPEC.md 6.3): skipped here. */
static const char *const others_top[] = {"version", "max_anchor_gap", "ts_ms_tolerance_s"};
static const char *const others_contracts[] = {"anchor"};

static bool in_list(const char *const *l, size_t n, const char *k) {
  for (size_t i = 0; i < n; i++)
    if (!strcmp(l[i], k)) return true;
  return false;
}

/* ---- members ---- */

typedef struct ctx {
  audit_policy *p;
  char *err;
  size_t errcap;
  audit_policy_err e;
} ctx;

static int bad(ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(ctx *c, const char *fmt, ...) {
  c->e = AUDIT_POLICY_ERR_FORMAT;
  va_list ap;
  va_start(ap, fmt);
  xt_verrf(c->err, c->errcap, fmt, ap);
  va_end(ap);
  return -1;
}

static int nomem(ctx *c) {
  c->e = AUDIT_POLICY_ERR_NOMEM;
  xt_errf(c->err, c->errcap, "out of memory");
  return -1;
}

/* Fixed-length hex (optional 0x) member `key` of o into out. */
static int get_hex(ctx *c, json_t *o, const char *key, const char *where, uint8_t *out, size_t n) {
  const char *s = json_string_value(json_object_get(o, key));
  if (!s || xt_hex_decode_exact(s, XT_HEX_0X, out, n) != XT_OK) {
    char w[160];
    snprintf(w, sizeof w, "%s.%s", where, key);
    c->e = AUDIT_POLICY_ERR_FORMAT;
    xt_errf(c->err, c->errcap, "policy: %s must be %zu bytes of hex", w, n);
    return -1;
  }
  return 0;
}

/* Every key of o is in keys[0..n). */
static int only_keys(ctx *c, json_t *o, const char *const *keys, size_t n, const char *where) {
  const char *k;
  json_t *v;
  json_object_foreach(o, k, v) {
    if (!in_list(keys, n, k)) {
      char w[200];
      snprintf(w, sizeof w, "%.80s has an unknown member \"%.80s\"", where, k);
      return bad(c, "policy: %s", w);
    }
  }
  return 0;
}

/* An array of width-byte hex strings (0x required when need_0x) into *out, a calloc'd
 * array of m * width bytes (the caller's typed pointer); what says what the items are. */
static int get_hexes(ctx *c, json_t *a, const char *where, size_t width, bool need_0x, const char *what,
                     uint8_t **out, size_t *n) {
  if (!json_is_array(a)) return bad(c, "policy: %s must be an array of %s", where, what);
  size_t m = json_array_size(a);
  *out = calloc(m ? m : 1, width);
  if (!*out) return nomem(c);
  size_t i;
  json_t *v;
  json_array_foreach(a, i, v) {
    const char *s = json_string_value(v);
    if (!s || (need_0x && strncmp(s, "0x", 2)) ||
        xt_hex_decode_exact(s, XT_HEX_0X, *out + i * width, width) != XT_OK)
      return bad(c, "policy: %s must be an array of %s", where, what);
  }
  *n = m;
  return 0;
}

/* An array of addresses (0x + 40 hex) into *out; absent: none. */
static int get_addrs(ctx *c, json_t *a, const char *where, uint8_t (**out)[20], size_t *n) {
  uint8_t *flat = NULL;
  if (!a) return 0;
  int rc = get_hexes(c, a, where, 20, true, "addresses (0x + 40 hex digits)", &flat, n);
  *out = (uint8_t(*)[20])flat;
  return rc;
}

/* An array of short strings into names[][48]. */
static int get_names(ctx *c, json_t *a, const char *where, char (*names)[48], size_t *n) {
  if (!json_is_array(a) || json_array_size(a) > AUDIT_POLICY_MAX_NAMES)
    return bad(c, "policy: %s must be an array of at most 32 strings", where);
  size_t i;
  json_t *v;
  *n = 0;
  json_array_foreach(a, i, v) {
    const char *s = json_string_value(v);
    if (!s || !s[0] || strlen(s) >= 48) return bad(c, "policy: %s must hold strings of 1-47 bytes", where);
    memcpy(names[(*n)++], s, strlen(s) + 1);
  }
  return 0;
}

/* ---- sections ---- */

static int load_egress_rules(ctx *c, json_t *allow, bool need_host) {
  audit_policy *p = c->p;
  if (!json_is_array(allow) || json_array_size(allow) == 0)
    return bad(c, "policy: %s needs a non-empty \"allow\" array", need_host ? "egress" : "the policy");
  p->rules = calloc(json_array_size(allow), sizeof *p->rules);
  if (!p->rules) return nomem(c);
  size_t i;
  json_t *o;
  json_array_foreach(allow, i, o) {
    const char *key;
    json_t *v;
    if (!json_is_object(o) || json_object_size(o) == 0)
      return bad(c, "policy: rule %s must be an object of string fields endpoint, method, path, host", "");
    audit_policy_rule *r = &p->rules[p->nrules++]; /* counted first, so free frees what it holds */
    json_object_foreach(o, key, v) {
      int k;
      for (k = 0; k < AUDIT_POLICY_RULE_FIELDS && strcmp(key, audit_policy_rule_keys[k]); k++) {
      }
      if (k == AUDIT_POLICY_RULE_FIELDS || !json_is_string(v))
        return bad(c, "policy: rule %s must be an object of string fields endpoint, method, path, host", "");
      free(r->f[k]);
      if (!(r->f[k] = strdup(json_string_value(v)))) return nomem(c);
    }
    /* An allowlist without a host would let the same path on any server pass. */
    if (need_host && !r->f[3]) return bad(c, "policy: every egress rule must name its host%s", "");
  }
  return 0;
}

static int load_egress(ctx *c, json_t *eg) {
  static const char *const keys[] = {"allow"};
  if (!json_is_object(eg)) return bad(c, "policy: %s must be an object", "egress");
  if (only_keys(c, eg, keys, 1, "egress")) return -1;
  return load_egress_rules(c, json_object_get(eg, "allow"), true);
}

static int load_releases(ctx *c, json_t *a) {
  static const char *const keys[] = {"compose_hash", "manifest_sha256", "commit", "version"};
  audit_policy *p = c->p;
  if (!json_is_array(a)) return bad(c, "policy: %s must be an array", "releases");
  p->releases = calloc(json_array_size(a) + 1, sizeof *p->releases);
  if (!p->releases) return nomem(c);
  size_t i;
  json_t *o;
  json_array_foreach(a, i, o) {
    audit_policy_release *r = &p->releases[i];
    uint8_t m[32], cm[20];
    if (!json_is_object(o) || only_keys(c, o, keys, 4, "a releases entry") ||
        get_hex(c, o, "compose_hash", "releases[]", r->compose_hash, 32) ||
        get_hex(c, o, "manifest_sha256", "releases[]", m, 32) || get_hex(c, o, "commit", "releases[]", cm, 20))
      return c->e ? -1 : bad(c, "policy: %s entries must be objects", "releases");
    xt_hex_encode(m, 32, r->manifest_sha256);
    xt_hex_encode(cm, 20, r->commit);
    p->nreleases++;
  }
  return 0;
}

static int load_image(ctx *c, json_t *o, audit_policy_image *im) {
  static const char *const keys[] = {"os_image_hash", "vm_shape", "mrtd", "rtmr0", "rtmr1", "rtmr2", "dstack"};
  if (!json_is_object(o)) return bad(c, "policy: %s entries must be objects", "platform.os_images");
  if (only_keys(c, o, keys, 7, "a platform.os_images entry")) return -1;
  const char *shape = json_string_value(json_object_get(o, "vm_shape"));
  if (!shape || strlen(shape) >= sizeof im->vm_shape)
    return bad(c, "policy: %s.vm_shape must be a string of at most 63 bytes", "platform.os_images[]");
  memcpy(im->vm_shape, shape, strlen(shape) + 1);
  return get_hex(c, o, "os_image_hash", "platform.os_images[]", im->os_image_hash, 32) ||
                 get_hex(c, o, "mrtd", "platform.os_images[]", im->mrtd, 48) ||
                 get_hex(c, o, "rtmr0", "platform.os_images[]", im->rtmr[0], 48) ||
                 get_hex(c, o, "rtmr1", "platform.os_images[]", im->rtmr[1], 48) ||
                 get_hex(c, o, "rtmr2", "platform.os_images[]", im->rtmr[2], 48)
             ? -1
             : 0;
}

static int load_platform(ctx *c, json_t *pl) {
  static const char *const keys[] = {"os_images", "kms_id", "tcb"};
  static const char *const tcb_keys[] = {"statuses", "advisories"};
  audit_policy *p = c->p;
  if (!json_is_object(pl) || only_keys(c, pl, keys, 3, "platform"))
    return c->e ? -1 : bad(c, "policy: %s must be an object", "platform");
  json_t *im = json_object_get(pl, "os_images");
  if (!json_is_array(im) || json_array_size(im) == 0)
    return bad(c, "policy: %s must be a non-empty array", "platform.os_images");
  p->images = calloc(json_array_size(im), sizeof *p->images);
  if (!p->images) return nomem(c);
  size_t i;
  json_t *o;
  json_array_foreach(im, i, o) {
    if (load_image(c, o, &p->images[i])) return -1;
    p->nimages++;
  }
  const char *kid = json_string_value(json_object_get(pl, "kms_id"));
  uint8_t *kb = NULL;
  size_t kn = 0;
  if (!kid || xt_hex_decode_alloc(kid, XT_HEX_0X, &kb, &kn) != XT_OK || kn == 0 || 2 * kn >= sizeof p->kms_id) {
    free(kb);
    return bad(c, "policy: %s must be the KMS key provider id in hex", "platform.kms_id");
  }
  xt_hex_encode(kb, kn, p->kms_id);
  free(kb);
  memcpy(p->tcb_statuses[0], "UpToDate", 9); /* the default: UpToDate alone */
  p->ntcb_statuses = 1;
  json_t *tcb = json_object_get(pl, "tcb");
  if (!tcb) return 0;
  if (!json_is_object(tcb) || only_keys(c, tcb, tcb_keys, 2, "platform.tcb"))
    return c->e ? -1 : bad(c, "policy: %s must be an object", "platform.tcb");
  if (json_object_get(tcb, "statuses") &&
      get_names(c, json_object_get(tcb, "statuses"), "platform.tcb.statuses", p->tcb_statuses, &p->ntcb_statuses))
    return -1;
  if (json_object_get(tcb, "advisories") &&
      get_names(c, json_object_get(tcb, "advisories"), "platform.tcb.advisories", p->advisories, &p->nadvisories))
    return -1;
  return 0;
}

/* An array of 32-byte hex words into *out. */
static int get_words(ctx *c, json_t *a, const char *where, uint8_t (**out)[32], size_t *n) {
  uint8_t *flat = NULL;
  int rc = get_hexes(c, a, where, 32, false, "64-hex-digit words", &flat, n);
  *out = (uint8_t(*)[32])flat;
  return rc;
}

static int load_contract(ctx *c, json_t *o, const char *name, audit_policy_contract *k) {
  static const char *const keys[] = {"address", "implementations", "owners", "created_block", "aggregated_mrs"};
  bool is_kms = !strcmp(name, "dstack_kms"); /* aggregated_mrs: the KMS's own measurements */
  char w[80];
  if (!json_is_object(o) || only_keys(c, o, keys, is_kms ? 5 : 4, name))
    return c->e ? -1 : bad(c, "policy: contracts.%s must be an object", name);
  const char *s = json_string_value(json_object_get(o, "address"));
  if (!s || strncmp(s, "0x", 2) || xt_hex_decode_exact(s, XT_HEX_0X, k->address, 20) != XT_OK)
    return bad(c, "policy: contracts.%s.address must be 0x + 40 hex digits", name);
  snprintf(w, sizeof w, "contracts.%s.implementations", name);
  if (!json_object_get(o, "implementations")) return bad(c, "policy: %s is required", w);
  if (get_addrs(c, json_object_get(o, "implementations"), w, &k->impls, &k->nimpls)) return -1;
  snprintf(w, sizeof w, "contracts.%s.owners", name);
  if (get_addrs(c, json_object_get(o, "owners"), w, &k->owners, &k->nowners)) return -1;
  json_t *mr = json_object_get(o, "aggregated_mrs");
  if (mr && get_words(c, mr, "contracts.dstack_kms.aggregated_mrs", &k->mrs, &k->nmrs)) return -1;
  json_t *cb = json_object_get(o, "created_block");
  if (cb) {
    if (!json_is_integer(cb) || json_integer_value(cb) < 0)
      return bad(c, "policy: contracts.%s.created_block must be a block number", name);
    k->has_created_block = true;
    k->created_block = (uint64_t)json_integer_value(cb);
  }
  k->set = true;
  return 0;
}

/* "collector": {"builds": [{"build": "release", "egress": "GET host/path"}, ...]}. */
static int load_collector(ctx *c, json_t *o) {
  static const char *const keys[] = {"builds"}, *const bkeys[] = {"build", "egress"};
  audit_policy *p = c->p;
  if (!json_is_object(o) || only_keys(c, o, keys, 1, "collector"))
    return c->e ? -1 : bad(c, "policy: %s must be an object", "collector");
  json_t *a = json_object_get(o, "builds");
  if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > AUDIT_POLICY_MAX_NAMES)
    return bad(c, "policy: %s must be an array of 1-32 {build, egress} objects", "collector.builds");
  size_t i;
  json_t *v;
  json_array_foreach(a, i, v) {
    audit_policy_collector_build *cb = &p->collector[i];
    if (!json_is_object(v) || only_keys(c, v, bkeys, 2, "a collector.builds entry"))
      return c->e ? -1 : bad(c, "policy: %s entries must be objects", "collector.builds");
    const char *b = json_string_value(json_object_get(v, "build"));
    const char *e = json_string_value(json_object_get(v, "egress"));
    if (!b || !b[0] || strlen(b) >= sizeof cb->build || !e || !e[0] || strlen(e) >= sizeof cb->egress)
      return bad(c, "policy: %s", "a collector.builds entry needs build (1-31 bytes) and egress (1-255 bytes)");
    memcpy(cb->build, b, strlen(b) + 1);
    memcpy(cb->egress, e, strlen(e) + 1);
  }
  p->ncollector = json_array_size(a);
  p->collector_builtin = false;
  return 0;
}

static int load_contracts(ctx *c, json_t *o) {
  const char *k;
  json_t *v;
  if (!json_is_object(o)) return bad(c, "policy: %s must be an object", "contracts");
  json_object_foreach(o, k, v) {
    if (!strcmp(k, "dstack_app")) {
      if (load_contract(c, v, "dstack_app", &c->p->app)) return -1;
    } else if (!strcmp(k, "dstack_kms")) {
      if (load_contract(c, v, "dstack_kms", &c->p->kms)) return -1;
    } else if (!in_list(others_contracts, sizeof others_contracts / sizeof *others_contracts, k)) {
      return bad(c, "policy: contracts has an unknown member \"%.80s\"", k);
    }
  }
  /* Both contracts are the section's point: without them nothing of the KMS is checked. */
  if (!c->p->app.set || !c->p->kms.set) return bad(c, "policy: contracts needs %s", "dstack_app and dstack_kms");
  return 0;
}

/* ---- the file ---- */

static int load_root(ctx *c, json_t *j) {
  audit_policy *p = c->p;
  if (!json_is_object(j)) return bad(c, "policy: %s must be a JSON object", "the file");
  if (json_object_get(j, "allow")) { /* the former format: an egress allowlist alone */
    if (json_object_size(j) != 1) return bad(c, "policy: %s", "\"allow\" (the former format) must stand alone");
    p->has[AUDIT_POLICY_EGRESS] = true;
    return load_egress_rules(c, json_object_get(j, "allow"), false);
  }
  const char *k;
  json_t *v;
  json_object_foreach(j, k, v) {
    int s;
    for (s = 0; s < AUDIT_POLICY_SECTIONS && strcmp(k, section_names[s]); s++) {
    }
    if (s == AUDIT_POLICY_SECTIONS) {
      if (!strcmp(k, "collector")) {
        if (load_collector(c, v)) return -1;
        continue;
      }
      if (in_list(others_top, sizeof others_top / sizeof *others_top, k)) continue;
      return bad(c, "policy: unknown top-level member \"%.80s\"", k);
    }
    int rc = s == AUDIT_POLICY_EGRESS     ? load_egress(c, v)
             : s == AUDIT_POLICY_RELEASES ? load_releases(c, v)
             : s == AUDIT_POLICY_PLATFORM ? load_platform(c, v)
                                          : load_contracts(c, v);
    if (rc) return -1;
    p->has[s] = true;
  }
  return 0;
}

/* The rule used when no policy publishes an egress allowlist. */
static const char builtin[] =
    "{\"allow\":[{\"endpoint\":\"watch_history\",\"method\":\"GET\",\"path\":\"/api/watch_history\"}]}";

audit_policy_err audit_policy_parse(const char *text, size_t len, const char *source, audit_policy *p,
                                    char *err, size_t errcap) {
  memset(p, 0, sizeof *p);
  snprintf(p->source, sizeof p->source, "%s", source);
  /* The production collector unless the file names others (load_collector). */
  memcpy(p->collector[0].build, AUDIT_POLICY_RELEASE_BUILD, sizeof AUDIT_POLICY_RELEASE_BUILD);
  memcpy(p->collector[0].egress, AUDIT_POLICY_RELEASE_EGRESS, sizeof AUDIT_POLICY_RELEASE_EGRESS);
  p->ncollector = 1;
  p->collector_builtin = true;
  json_error_t je;
  json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
  if (!j) {
    xt_errf(err, errcap, "policy %.200s: %.200s (line %d)", source, je.text, je.line);
    return AUDIT_POLICY_ERR_FORMAT;
  }
  ctx c = {p, err, errcap, AUDIT_POLICY_OK};
  if (load_root(&c, j) && c.e == AUDIT_POLICY_OK) c.e = AUDIT_POLICY_ERR_FORMAT;
  json_decref(j);
  /* No egress section: intents are judged by the built-in rule (as with no policy at
   * all; the audit says so and is INCOMPLETE), not by an empty allowlist. */
  if (c.e == AUDIT_POLICY_OK && !p->has[AUDIT_POLICY_EGRESS] && !p->nrules) {
    json_t *b = json_loadb(builtin, sizeof builtin - 1, 0, NULL);
    if (!b || load_egress_rules(&c, json_object_get(b, "allow"), false)) c.e = c.e ? c.e : AUDIT_POLICY_ERR_FORMAT;
    json_decref(b);
  }
  return c.e;
}

audit_policy_err audit_policy_load(const char *path, audit_policy *p, char *err, size_t errcap) {
  if (!path) {
    audit_policy_err e = audit_policy_parse(builtin, sizeof builtin - 1, "", p, err, errcap);
    snprintf(p->source, sizeof p->source, "built-in: GET watch_history /api/watch_history");
    p->has[AUDIT_POLICY_EGRESS] = false; /* a default is not a published policy */
    return e;
  }
  uint8_t *d = NULL;
  size_t n = 0;
  memset(p, 0, sizeof *p);
  if (xt_file_read(path, MAX_POLICY_BYTES, &d, &n, err, errcap) != XT_OK) return AUDIT_POLICY_ERR_IO;
  audit_policy_err e = audit_policy_parse((const char *)d, n, path, p, err, errcap);
  free(d);
  return e;
}

void audit_policy_free(audit_policy *p) {
  for (size_t i = 0; i < p->nrules; i++)
    for (int k = 0; k < AUDIT_POLICY_RULE_FIELDS; k++) free(p->rules[i].f[k]);
  free(p->rules);
  free(p->releases);
  free(p->images);
  free(p->app.impls);
  free(p->app.owners);
  free(p->kms.impls);
  free(p->kms.owners);
  free(p->app.mrs);
  free(p->kms.mrs);
  memset(p, 0, sizeof *p);
}

/* ---- questions ---- */

const audit_policy_release *audit_policy_release_of(const audit_policy *p, const uint8_t compose_hash[32]) {
  for (size_t i = 0; i < p->nreleases; i++)
    if (!memcmp(p->releases[i].compose_hash, compose_hash, 32)) return &p->releases[i];
  return NULL;
}

bool audit_policy_collector_allowed(const audit_policy *p, const char *build, const char *egress) {
  if (!build || !egress) return false;
  for (size_t i = 0; i < p->ncollector; i++)
    if (!strcmp(p->collector[i].build, build) && !strcmp(p->collector[i].egress, egress)) return true;
  return false;
}

bool audit_policy_addr_in(const uint8_t (*list)[20], size_t n, const uint8_t addr[20]) {
  for (size_t i = 0; i < n; i++)
    if (!memcmp(list[i], addr, 20)) return true;
  return false;
}

bool audit_policy_image_listed(const audit_policy *p, const uint8_t os_image_hash[32]) {
  for (size_t i = 0; i < p->nimages; i++)
    if (!memcmp(p->images[i].os_image_hash, os_image_hash, 32)) return true;
  return false;
}

const audit_policy_image *audit_policy_image_match(const audit_policy *p, const uint8_t os_image_hash[32],
                                                   const uint8_t mrtd[48], const uint8_t rtmr[3][48]) {
  for (size_t i = 0; i < p->nimages; i++) {
    const audit_policy_image *im = &p->images[i];
    if (!memcmp(im->os_image_hash, os_image_hash, 32) && !memcmp(im->mrtd, mrtd, 48) &&
        !memcmp(im->rtmr, rtmr, sizeof im->rtmr))
      return im;
  }
  return NULL;
}

bool audit_policy_tcb_allowed(const audit_policy *p, const char *status, const char *advisories, char *why,
                              size_t cap) {
  bool ok = false;
  for (size_t i = 0; i < p->ntcb_statuses && !ok; i++) ok = !strcmp(p->tcb_statuses[i], status);
  if (!ok) {
    xt_errf(why, cap, "TCB status %.40s is not allowed by the policy", status);
    return false;
  }
  const char *s = advisories ? advisories : "";
  while (*s) {
    size_t n = strcspn(s, ",");
    bool listed = false;
    for (size_t i = 0; i < p->nadvisories && !listed; i++)
      listed = strlen(p->advisories[i]) == n && !strncmp(p->advisories[i], s, n);
    if (!listed && n) {
      xt_errf(why, cap, "advisory %.*s is not allowed by the policy", (int)(n < 60 ? n : 60), s);
      return false;
    }
    s += n + (s[n] == ',');
  }
  return true;
}

bool audit_policy_tcb_up_to_date_only(const audit_policy *p) {
  for (size_t i = 0; i < p->ntcb_statuses; i++)
    if (strcmp(p->tcb_statuses[i], "UpToDate")) return false;
  return true;
}

static bool word_in(const uint8_t (*list)[32], size_t n, const uint8_t w[32]) {
  for (size_t i = 0; i < n; i++)
    if (!memcmp(list[i], w, 32)) return true;
  return false;
}

/* ---- the KMS contracts' history ---- */

static const audit_policy_contract *kms_policy_of(const audit_policy *p, const kms_event *e) {
  return e->contract == KMS_CONTRACT_KMS ? &p->kms : &p->app;
}

static const char *kms_label(const kms_event *e) { return e->contract == KMS_CONTRACT_KMS ? "DstackKms" : "DstackApp"; }

bool audit_policy_kms_event_bad(const audit_policy *p, const kms_event *e, char *why, size_t cap) {
  static const uint8_t no_owner[20];
  const audit_policy_contract *k = kms_policy_of(p, e);
  char w[65], ad[43];
  xt_hex_encode(e->word, 32, w);
  xt_hex_encode0x(e->address, 20, ad);
  switch (e->kind) {
  case KMS_COMPOSE_HASH_ADDED:
    if (!p->has[AUDIT_POLICY_RELEASES] || audit_policy_release_of(p, e->word)) return false;
    xt_errf(why, cap, "DstackApp allowed compose hash %s, which the policy's releases do not list", w);
    return true;
  case KMS_UPGRADED:
    if (!p->has[AUDIT_POLICY_CONTRACTS] || audit_policy_addr_in((const uint8_t(*)[20])k->impls, k->nimpls, e->address))
      return false;
    xt_errf(why, cap, "%s upgraded to implementation %s, which the policy does not list", kms_label(e), ad);
    return true;
  case KMS_OWNERSHIP_TRANSFER_STARTED:
  case KMS_OWNERSHIP_TRANSFERRED:
    if (!memcmp(e->address2, no_owner, 20)) return false; /* initialisation: from no owner */
    if (!p->has[AUDIT_POLICY_CONTRACTS] || audit_policy_addr_in((const uint8_t(*)[20])k->owners, k->nowners, e->address))
      return false;
    xt_errf(why, cap, "%s ownership %s to %s, which the policy does not list", kms_label(e),
             e->kind == KMS_OWNERSHIP_TRANSFERRED ? "transferred" : "transfer started", ad);
    return true;
  case KMS_ALLOW_ANY_DEVICE_SET:
    if (!e->flag) return false;
    xt_errf(why, cap, "DstackApp AllowAnyDeviceSet(true): any machine could get the app's keys");
    return true;
  case KMS_OS_IMAGE_HASH_ADDED:
    if (!p->has[AUDIT_POLICY_PLATFORM] || audit_policy_image_listed(p, e->word)) return false;
    xt_errf(why, cap, "DstackKms allowed OS image %s, which the policy's platform does not list", w);
    return true;
  case KMS_AGGREGATED_MR_ADDED:
    /* The KMS's own measurement decides which KMS code holds every app's root keys: one
     * that is not reviewed could hand ours to anybody. */
    if (!p->has[AUDIT_POLICY_CONTRACTS] || word_in((const uint8_t(*)[32])p->kms.mrs, p->kms.nmrs, e->word))
      return false;
    xt_errf(why, cap, "DstackKms allowed KMS measurement (aggregated MR) %s, which the policy's "
            "contracts.dstack_kms.aggregated_mrs do not list", w);
    return true;
  case KMS_REQUIRE_TCB_UP_TO_DATE_SET:
    /* Without it the KMS gives the app's keys to machines whose TCB is out of date (known
     * vulnerable); acceptable only when the auditor admits such TCB statuses too. */
    if (e->flag || !p->has[AUDIT_POLICY_PLATFORM] || !audit_policy_tcb_up_to_date_only(p)) return false;
    xt_errf(why, cap, "DstackApp RequireTcbUpToDateSet(false): machines whose TCB is not up to date could get the "
            "app's keys, and the policy's platform.tcb admits UpToDate only");
    return true;
  case KMS_TCB_POLICY_SET:
    if (!p->has[AUDIT_POLICY_PLATFORM]) return false;
    xt_errf(why, cap, "DstackApp TcbPolicySet(%.120s): a TCB rule this audit cannot evaluate", e->text ? e->text : "");
    return true;
  /* Allowed, each for its reason:
   * - removals (compose hash, device, OS image, KMS measurement, KMS device) and
   *   UpgradesDisabled narrow what is allowed;
   * - DeviceAdded / KmsDeviceAdded name a machine an allowed image may run on; what runs
   *   there is bound by the compose hash, OS image and KMS measurement, judged above;
   * - AppRegistered / AppDeployedViaFactory: another app gets keys of its own app id,
   *   never ours (GetKey derives from the app id);
   * - AppImplementationSet: the factory's template for apps deployed later; ours runs
   *   the implementation its own proxy's Upgraded events name, judged above;
   * - KmsInfoSet: published data for clients to check the KMS (its public key), not an
   *   authorisation;
   * - GatewayAppIdSet: the gateway already sees the Archive's TLS traffic whichever app it
   *   is (docs/THREATS.md row 20, a stated limit); it gets no key of ours;
   * - PolicyChanged: dstack's additive audit record beside each specific event, which is
   *   the one judged; Initialized: the proxy's initialisation. */
  case KMS_UNKNOWN: {
    char t0[65];
    xt_hex_encode(e->topic0, 32, t0);
    xt_errf(why, cap, "%s emitted an event of unknown signature (topic0 %s)", kms_label(e), t0);
    return true;
  }
  default: return false;
  }
}
