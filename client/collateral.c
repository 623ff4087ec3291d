/* collateral.c: the collateral valid at a time, from logd's archive (collateral.h). */
#include "client/collateral.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/hex.h"

const char *tlog_collateral_err_str(tlog_collateral_err e) {
  switch (e) {
  case TLOG_COLLATERAL_OK: return "ok";
  case TLOG_COLLATERAL_NONE: return "no archived collateral valid at that time";
  case TLOG_COLLATERAL_NOARCHIVE: return "no collateral archive";
  case TLOG_COLLATERAL_EIO: return "collateral archive unreadable";
  case TLOG_COLLATERAL_EFORMAT: return "collateral archive index malformed";
  }
  return "unknown collateral archive error";
}

void tlog_collateral_path(const log_source *src, const char *name, char *out, size_t cap) {
  bool http = log_source_is_http(src);
  if (!name) snprintf(out, cap, "%s", http ? "v1/collateral" : "collateral/index.json");
  else snprintf(out, cap, http ? "v1/collateral/%s" : "collateral/%s.json", name);
}

/* A name is the decimal fetch time: digits only, so it is safe in a path. */
static int name_ok(const char *s) {
  size_t n = s ? strlen(s) : 0;
  if (!n || n > 20) return 0;
  for (size_t i = 0; i < n; i++)
    if (s[i] < '0' || s[i] > '9') return 0;
  return 1;
}

/* Appends a reason to the running explanation in err. */
static void note(char *err, size_t errcap, const char *name, const char *why) {
  size_t n = strlen(err);
  if (n + 1 < errcap) snprintf(err + n, errcap - n, "%s%s: %s", n ? "; " : "", name, why);
}

/* Reads and checks document name: hash, parse, window containing t. The parsed
 * collateral and its window, or NULL after noting why not. */
static tdx_collateral *load_doc(log_source *src, const char *name, const char *sha_hex, time_t t,
                                time_t *nb, char *why, size_t whycap) {
  char path[128], e[300];
  tlog_collateral_path(src, name, path, sizeof path);
  uint8_t *d = NULL, h[32];
  size_t len = 0;
  fetch_status st = log_source_get(src, path, TLOG_COLLATERAL_MAX_DOC, &d, &len, e, sizeof e);
  if (st != FETCH_OK) {
    note(why, whycap, name, st == FETCH_NOT_FOUND ? "missing" : e);
    return NULL;
  }
  char hex[65];
  EVP_Digest(d, len, h, NULL, EVP_sha256(), NULL);
  xt_hex_encode(h, 32, hex);
  tdx_collateral *c = NULL;
  time_t lo = 0, hi = 0;
  if (strcmp(hex, sha_hex)) note(why, whycap, name, "its SHA-256 is not the index's");
  else if (!(c = tdx_collateral_parse((const char *)d, len, e, sizeof e))) note(why, whycap, name, e);
  else if (tdx_collateral_window(c, &lo, &hi) || t < lo || t > hi) {
    note(why, whycap, name, "not valid at that time");
    tdx_collateral_free(c);
    c = NULL;
  }
  free(d);
  *nb = lo;
  return c;
}

/* The index from src: its "collateral" array (a reference the caller drops with the
 * root in *root). */
static tlog_collateral_err read_index(log_source *src, json_t **root, json_t **arr, char *err, size_t errcap) {
  char path[64], e[300];
  tlog_collateral_path(src, NULL, path, sizeof path);
  uint8_t *d = NULL;
  size_t len = 0;
  fetch_status st = log_source_get(src, path, TLOG_COLLATERAL_MAX_INDEX, &d, &len, e, sizeof e);
  if (st == FETCH_NOT_FOUND) {
    xt_errf(err, errcap, "no collateral archive (%s not found)", path);
    return TLOG_COLLATERAL_NOARCHIVE;
  }
  if (st != FETCH_OK) {
    xt_errf(err, errcap, "%s", e);
    return TLOG_COLLATERAL_EIO;
  }
  json_error_t je;
  *root = json_loadb((const char *)d, len, JSON_REJECT_DUPLICATES, &je);
  free(d);
  *arr = json_object_get(*root, "collateral");
  if (!json_is_array(*arr)) {
    xt_errf(err, errcap, "%s: not {\"collateral\":[...]}", path);
    return TLOG_COLLATERAL_EFORMAT;
  }
  return TLOG_COLLATERAL_OK;
}

tlog_collateral_err tlog_collateral_at(log_source *src, time_t t, tdx_collateral **out, char *name,
                                       size_t namecap, char *err, size_t errcap) {
  *out = NULL;
  json_t *root = NULL, *arr = NULL, *item;
  tlog_collateral_err rc = read_index(src, &root, &arr, err, errcap);
  if (rc) {
    json_decref(root);
    return rc;
  }
  char why[600] = "", best_name[24] = "";
  time_t best_nb = 0;
  size_t i;
  json_array_foreach(arr, i, item) {
    const char *nm = json_string_value(json_object_get(item, "name"));
    const char *sha = json_string_value(json_object_get(item, "sha256"));
    json_t *nb = json_object_get(item, "not_before"), *na = json_object_get(item, "not_after");
    if (!name_ok(nm) || !sha || !json_is_integer(nb) || !json_is_integer(na)) {
      xt_errf(err, errcap, "collateral index entry %zu is malformed", i);
      tdx_collateral_free(*out);
      *out = NULL;
      json_decref(root);
      return TLOG_COLLATERAL_EFORMAT;
    }
    /* The index's window only selects what to read; the document's own decides. */
    if ((json_int_t)t < json_integer_value(nb) || (json_int_t)t > json_integer_value(na)) continue;
    time_t lo;
    tdx_collateral *c = load_doc(src, nm, sha, t, &lo, why, sizeof why);
    if (!c) continue;
    if (*out && (lo < best_nb || (lo == best_nb && strtoull(nm, NULL, 10) < strtoull(best_name, NULL, 10)))) {
      tdx_collateral_free(c);
      continue;
    }
    tdx_collateral_free(*out);
    *out = c;
    best_nb = lo;
    snprintf(best_name, sizeof best_name, "%s", nm);
  }
  json_decref(root);
  if (!*out) {
    xt_errf(err, errcap, "no archived collateral is valid at %lld%s%s%s", (long long)t, why[0] ? " (" : "",
            why, why[0] ? ")" : "");
    return TLOG_COLLATERAL_NONE;
  }
  if (name) snprintf(name, namecap, "%s", best_name);
  return TLOG_COLLATERAL_OK;
}

/* ---------- for the audit ---------- */

void tlog_collateral_cache_free(tlog_collateral_cache *cache) {
  tdx_collateral_free(cache->c);
  memset(cache, 0, sizeof *cache);
}

bool tlog_collateral_apply(tlog_collateral_cache *cache, log_source *src, time_t t, codeid_opts *o) {
  if (o->collateral || cache->no_archive) return false;
  if (!cache->c || t < cache->lo || t > cache->hi) {
    char err[300];
    tdx_collateral *c = NULL;
    tlog_collateral_err e = tlog_collateral_at(src, t, &c, NULL, 0, err, sizeof err);
    if (e != TLOG_COLLATERAL_OK) {
      /* Only a source without any archive stops the asking; a gap in one does not. */
      if (e == TLOG_COLLATERAL_NOARCHIVE) cache->no_archive = true;
      return false;
    }
    tdx_collateral_free(cache->c);
    cache->c = c;
    if (tdx_collateral_window(c, &cache->lo, &cache->hi)) cache->lo = cache->hi = t;
  }
  o->collateral = cache->c;
  o->now = t;
  return true;
}

uint64_t tlog_anchor_time_covering(const tlog_anchors *an, uint64_t index) {
  for (size_t i = 0; i < an->n; i++)
    if (an->a[i].size > index) return an->a[i].time;
  return 0;
}
