/* pccs.c: Intel DCAP collateral from a PCCS / Intel PCS (v4 API), see pccs.h. */
#include "dstack/pccs.h"

#include <ctype.h>
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/hex.h"
#include "dstack/quote.h"
#include "dstack/tdx_internal.h"

/* The largest answer taken: Intel's processor-CA CRL is the largest, tens of KB. */
#define PCCS_BODY_MAX (4u << 20)
#define PCCS_HEADER_MAX (64u << 10)

const char *pccs_err_str(pccs_err e) {
  switch (e) {
  case PCCS_OK: return "ok";
  case PCCS_EQUOTE: return "quote unusable";
  case PCCS_EHTTP: return "PCCS request failed";
  case PCCS_EFORMAT: return "malformed collateral";
  case PCCS_ENOMEM: return "out of memory";
  }
  return "unknown PCCS error";
}

/* ---------- the platform of a quote ---------- */

pccs_err pccs_quote_platform(const uint8_t *quote, size_t len, char fmspc[13], char ca[10], char *err,
                             size_t errcap) {
  tdx_quote q;
  char qerr[200];
  if (tdx_quote_parse(&q, quote, len, qerr, sizeof qerr)) {
    xt_errf(err, errcap, "the quote does not parse: %s", qerr);
    return PCCS_EQUOTE;
  }
  STACK_OF(X509) *chain = tdx_load_pem_chain(q.pck_chain_pem, q.pck_chain_pem_len);
  if (!chain) {
    xt_errf(err, errcap, "the quote carries no PCK certificate chain");
    return PCCS_EQUOTE;
  }
  X509 *leaf = sk_X509_value(chain, 0);
  pck_tcb t;
  char cn[128] = "";
  pccs_err rc = PCCS_OK;
  if (tdx_parse_pck_extension(leaf, &t, qerr, sizeof qerr)) {
    xt_errf(err, errcap, "PCK certificate: %s", qerr);
    rc = PCCS_EQUOTE;
  } else if (X509_NAME_get_text_by_NID(X509_get_issuer_name(leaf), NID_commonName, cn, sizeof cn) < 0) {
    xt_errf(err, errcap, "PCK certificate: no issuer common name");
    rc = PCCS_EQUOTE;
  } else if (!strcmp(cn, "Intel SGX PCK Platform CA")) {
    snprintf(ca, 10, "platform");
  } else if (!strcmp(cn, "Intel SGX PCK Processor CA")) {
    snprintf(ca, 10, "processor");
  } else {
    xt_errf(err, errcap, "PCK certificate issued by '%s', not an Intel SGX PCK CA", cn);
    rc = PCCS_EQUOTE;
  }
  if (rc == PCCS_OK)
    for (int i = 0; i < 6; i++) snprintf(fmspc + 2 * i, 3, "%02X", t.fmspc[i]);
  sk_X509_pop_free(chain, X509_free);
  return rc;
}

/* ---------- HTTP ---------- */

typedef struct get_answer {
  xt_buf body;
  const char *const *names; /* headers wanted, first found wins (NULL-terminated) */
  char *header;             /* its value, malloc'd (raw, still percent-encoded) */
  int header_too_big;
} get_answer;

static size_t on_header(char *p, size_t size, size_t n, void *ud) {
  get_answer *a = ud;
  size_t len = size * n;
  for (const char *const *nm = a->names; nm && *nm && !a->header; nm++) {
    size_t k = strlen(*nm);
    if (len <= k || p[k] != ':' || strncasecmp(p, *nm, k)) continue;
    const char *v = p + k + 1, *end = p + len;
    while (v < end && (*v == ' ' || *v == '\t')) v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ')) end--;
    if ((size_t)(end - v) > PCCS_HEADER_MAX) {
      a->header_too_big = 1;
      return len;
    }
    a->header = strndup(v, (size_t)(end - v));
  }
  return len;
}

/* GET url into a (body capped; the first of a->names found kept). Returns the HTTP
 * status, or -1 with err when there was no complete answer. */
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void init_curl(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

static long http_get(const char *url, long timeout_ms, get_answer *a, char *err, size_t errcap) {
  pthread_once(&curl_once, init_curl);
  CURL *c = curl_easy_init();
  if (!c) {
    xt_errf(err, errcap, "out of memory");
    return -1;
  }
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, xt_buf_curl_write);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &a->body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, a);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_PROXY, "");
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  CURLcode rc = curl_easy_perform(c);
  long status = -1;
  if (rc == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  else if (a->body.overflow) xt_errf(err, errcap, "GET %.300s: answer larger than %u bytes", url, PCCS_BODY_MAX);
  else xt_errf(err, errcap, "GET %.300s: %s", url, curl_easy_strerror(rc));
  curl_easy_cleanup(c);
  return status;
}

/* GET url, requiring 200 and (when names) one of the headers, percent-decoded into
 * *header. PCCS_OK or PCCS_EHTTP / PCCS_EFORMAT with err. */
static pccs_err get_ok(const char *url, long timeout_ms, const char *const *names, get_answer *a,
                       char **header, char *err, size_t errcap) {
  memset(a, 0, sizeof *a);
  a->body = xt_buf_make(PCCS_BODY_MAX);
  a->names = names;
  long st = http_get(url, timeout_ms, a, err, errcap);
  if (st < 0) return PCCS_EHTTP;
  if (st != 200) {
    xt_errf(err, errcap, "GET %.300s: HTTP %ld", url, st);
    return PCCS_EHTTP;
  }
  if (!names) return PCCS_OK;
  if (!a->header) {
    xt_errf(err, errcap, "GET %.300s: no %s header%s", url, names[0],
            a->header_too_big ? " (too large)" : "");
    return PCCS_EFORMAT;
  }
  int n = 0;
  char *d = curl_easy_unescape(NULL, a->header, (int)strlen(a->header), &n);
  if (!d) {
    xt_errf(err, errcap, "out of memory");
    return PCCS_ENOMEM;
  }
  *header = strndup(d, (size_t)n);
  curl_free(d);
  if (!*header || strlen(*header) != (size_t)n || !strstr(*header, "-----BEGIN CERTIFICATE-----")) {
    xt_errf(err, errcap, "GET %.300s: the %s header is not a PEM certificate chain", url, names[0]);
    return PCCS_EFORMAT;
  }
  return PCCS_OK;
}

static void answer_free(get_answer *a) {
  xt_buf_free(&a->body);
  free(a->header);
}

/* ---------- bodies ---------- */

/* body = {"<member>":<object>,"signature":"<hex>"} exactly (Intel's format; trailing
 * whitespace allowed): the object's bytes (malloc'd) and the signature's hex. */
static pccs_err split_signed(const uint8_t *body, size_t len, const char *member, char **raw,
                             char **sig, const char *url, char *err, size_t errcap) {
  char prefix[64];
  snprintf(prefix, sizeof prefix, "{\"%s\":", member);
  static const char mid[] = ",\"signature\":\"";
  const char *b = (const char *)body;
  while (len && isspace((unsigned char)b[len - 1])) len--;
  size_t pl = strlen(prefix), ml = sizeof mid - 1;
  const char *m = NULL;
  for (size_t i = len; i-- > pl;)
    if (i + ml <= len && !memcmp(b + i, mid, ml)) {
      m = b + i;
      break;
    }
  if (len < pl + ml + 2 || memcmp(b, prefix, pl) || !m || b[len - 1] != '}' || b[len - 2] != '"') {
    xt_errf(err, errcap, "GET %.300s: the body is not {\"%s\":{...},\"signature\":\"...\"}", url, member);
    return PCCS_EFORMAT;
  }
  const char *s = m + ml, *se = b + len - 2;
  for (const char *p = s; p < se; p++)
    if (!isxdigit((unsigned char)*p)) {
      xt_errf(err, errcap, "GET %.300s: the signature is not hex", url);
      return PCCS_EFORMAT;
    }
  json_t *j = json_loadb(b + pl, (size_t)(m - b) - pl, JSON_REJECT_DUPLICATES, NULL);
  int obj = json_is_object(j);
  json_decref(j);
  if (!obj) {
    xt_errf(err, errcap, "GET %.300s: \"%s\" is not a JSON object", url, member);
    return PCCS_EFORMAT;
  }
  *raw = strndup(b + pl, (size_t)(m - b) - pl);
  *sig = strndup(s, (size_t)(se - s));
  if (!*raw || !*sig) return PCCS_ENOMEM;
  for (char *p = *sig; *p; p++) *p = (char)tolower((unsigned char)*p);
  return PCCS_OK;
}

static char *hex_of(const uint8_t *d, size_t n) {
  char *h = malloc(2 * n + 1);
  if (h) xt_hex_encode(d, n, h);
  return h;
}

/* The CRL distribution point of the compiled-in Intel root (Intel's PCS serves no
 * rootcacrl). */
static char *root_crl_url(void) {
  size_t n;
  const uint8_t *der = tdx_intel_root_ca_der(&n);
  X509 *root = d2i_X509(NULL, &der, (long)n);
  CRL_DIST_POINTS *dps = root ? X509_get_ext_d2i(root, NID_crl_distribution_points, NULL, NULL) : NULL;
  char *url = NULL;
  for (int i = 0; dps && !url && i < sk_DIST_POINT_num(dps); i++) {
    DIST_POINT *dp = sk_DIST_POINT_value(dps, i);
    if (!dp->distpoint || dp->distpoint->type != 0) continue;
    GENERAL_NAMES *gns = dp->distpoint->name.fullname;
    for (int k = 0; !url && k < sk_GENERAL_NAME_num(gns); k++) {
      GENERAL_NAME *gn = sk_GENERAL_NAME_value(gns, k);
      if (gn->type == GEN_URI)
        url = strndup((const char *)ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier),
                      (size_t)ASN1_STRING_length(gn->d.uniformResourceIdentifier));
    }
  }
  CRL_DIST_POINTS_free(dps);
  X509_free(root);
  return url;
}

/* The root CA CRL as lowercase hex (malloc'd into *hex). */
static pccs_err fetch_root_crl(const char *base, long timeout_ms, char **hex, char *err, size_t errcap) {
  char url[2048];
  snprintf(url, sizeof url, "%s/sgx/certification/v4/rootcacrl", base);
  get_answer a;
  memset(&a, 0, sizeof a);
  a.body = xt_buf_make(PCCS_BODY_MAX);
  long st = http_get(url, timeout_ms, &a, err, errcap);
  pccs_err rc = PCCS_OK;
  if (st == 200) {
    /* A PCCS answers the hex of the DER CRL. */
    size_t n = a.body.len;
    while (n && isspace(a.body.data[n - 1])) n--;
    uint8_t *der = malloc(n / 2 + 1);
    if (!der) rc = PCCS_ENOMEM;
    else if (!n || n % 2 || xt_hex_decode_exact((const char *)a.body.data, 0, der, n / 2) != XT_OK) {
      /* Some serve the DER itself. */
      rc = (*hex = hex_of(a.body.data, a.body.len)) ? PCCS_OK : PCCS_ENOMEM;
    } else {
      rc = (*hex = hex_of(der, n / 2)) ? PCCS_OK : PCCS_ENOMEM;
    }
    free(der);
  } else if (st == 404) {
    char *crl_url = root_crl_url();
    answer_free(&a);
    if (!crl_url) {
      xt_errf(err, errcap, "GET %.300s: 404, and the Intel root names no CRL distribution point", url);
      return PCCS_EHTTP;
    }
    rc = get_ok(crl_url, timeout_ms, NULL, &a, NULL, err, errcap);
    free(crl_url);
    if (rc == PCCS_OK) rc = (*hex = hex_of(a.body.data, a.body.len)) ? PCCS_OK : PCCS_ENOMEM;
  } else {
    if (st > 0) xt_errf(err, errcap, "GET %.300s: HTTP %ld", url, st);
    rc = PCCS_EHTTP;
  }
  answer_free(&a);
  return rc;
}

/* ---------- the whole collateral ---------- */

typedef struct parts {
  char *pck_chain, *pck_crl, *root_crl, *tcb_chain, *tcb, *tcb_sig, *qe_chain, *qe, *qe_sig;
} parts;

static void parts_free(parts *p) {
  free(p->pck_chain), free(p->pck_crl), free(p->root_crl), free(p->tcb_chain), free(p->tcb);
  free(p->tcb_sig), free(p->qe_chain), free(p->qe), free(p->qe_sig);
}

/* The signed JSON at url (member and its issuer chain from one of names). */
static pccs_err fetch_signed(const char *url, long timeout_ms, const char *const *names, const char *member,
                             char **chain, char **raw, char **sig, char *err, size_t errcap) {
  get_answer a;
  pccs_err rc = get_ok(url, timeout_ms, names, &a, chain, err, errcap);
  if (rc == PCCS_OK) rc = split_signed(a.body.data, a.body.len, member, raw, sig, url, err, errcap);
  answer_free(&a);
  return rc;
}

static pccs_err fetch_parts(const char *base, const char *fmspc, const char *ca, long timeout_ms, parts *p,
                            char *err, size_t errcap) {
  static const char *const pck_names[] = {"SGX-PCK-CRL-Issuer-Chain", NULL};
  static const char *const tcb_names[] = {"TCB-Info-Issuer-Chain", "SGX-TCB-Info-Issuer-Chain", NULL};
  static const char *const qe_names[] = {"SGX-Enclave-Identity-Issuer-Chain", NULL};
  char url[2048];
  get_answer a;
  snprintf(url, sizeof url, "%s/sgx/certification/v4/pckcrl?ca=%s&encoding=der", base, ca);
  pccs_err rc = get_ok(url, timeout_ms, pck_names, &a, &p->pck_chain, err, errcap);
  if (rc == PCCS_OK && !(p->pck_crl = hex_of(a.body.data, a.body.len))) rc = PCCS_ENOMEM;
  answer_free(&a);
  if (rc) return rc;
  snprintf(url, sizeof url, "%s/tdx/certification/v4/tcb?fmspc=%s", base, fmspc);
  rc = fetch_signed(url, timeout_ms, tcb_names, "tcbInfo", &p->tcb_chain, &p->tcb, &p->tcb_sig, err, errcap);
  if (rc) return rc;
  snprintf(url, sizeof url, "%s/tdx/certification/v4/qe/identity?update=standard", base);
  rc = fetch_signed(url, timeout_ms, qe_names, "enclaveIdentity", &p->qe_chain, &p->qe, &p->qe_sig, err, errcap);
  if (rc) return rc;
  return fetch_root_crl(base, timeout_ms, &p->root_crl, err, errcap);
}

/* The base URL without a trailing "/" or API prefix, into out. 0, or -1 when unusable. */
static int base_url(const char *in, char *out, size_t cap) {
  if (strncmp(in, "http://", 7) && strncmp(in, "https://", 8)) return -1;
  if ((size_t)snprintf(out, cap, "%s", in) >= cap) return -1;
  size_t n = strlen(out);
  while (n && out[n - 1] == '/') out[--n] = 0;
  static const char *const tails[] = {"/sgx/certification/v4", "/tdx/certification/v4"};
  for (int i = 0; i < 2; i++) {
    size_t k = strlen(tails[i]);
    if (n >= k && !strcmp(out + n - k, tails[i])) out[n -= k] = 0;
  }
  while (n && out[n - 1] == '/') out[--n] = 0;
  return 0;
}

pccs_err pccs_fetch_collateral(const char *url, const uint8_t *quote, size_t len, long timeout_ms,
                               char **json, size_t *json_len, char *err, size_t errcap) {
  *json = NULL;
  *json_len = 0;
  char fmspc[13], ca[10], base[1024];
  pccs_err rc = pccs_quote_platform(quote, len, fmspc, ca, err, errcap);
  if (rc) return rc;
  if (base_url(url, base, sizeof base)) {
    xt_errf(err, errcap, "the PCCS URL must be http:// or https:// (got '%.200s')", url);
    return PCCS_EHTTP;
  }
  parts p;
  memset(&p, 0, sizeof p);
  rc = fetch_parts(base, fmspc, ca, timeout_ms > 0 ? timeout_ms : 30000, &p, err, errcap);
  json_t *j = rc ? NULL
                 : json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "pck_crl_issuer_chain", p.pck_chain,
                             "root_ca_crl", p.root_crl, "pck_crl", p.pck_crl, "tcb_info_issuer_chain",
                             p.tcb_chain, "tcb_info", p.tcb, "tcb_info_signature", p.tcb_sig,
                             "qe_identity_issuer_chain", p.qe_chain, "qe_identity", p.qe,
                             "qe_identity_signature", p.qe_sig);
  parts_free(&p);
  if (rc) {
    if (rc == PCCS_ENOMEM) xt_errf(err, errcap, "out of memory");
    return rc;
  }
  *json = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
  json_decref(j);
  if (!*json) {
    xt_errf(err, errcap, "out of memory");
    return PCCS_ENOMEM;
  }
  *json_len = strlen(*json);
  char cerr[300];
  tdx_collateral *c = tdx_collateral_parse(*json, *json_len, cerr, sizeof cerr);
  if (!c) {
    xt_errf(err, errcap, "the PCCS's collateral does not parse: %s", cerr);
    rc = PCCS_EFORMAT;
  } else {
    char got[13];
    for (int i = 0; i < 6; i++) snprintf(got + 2 * i, 3, "%02X", c->fmspc[i]);
    if (strcmp(got, fmspc)) {
      xt_errf(err, errcap, "the PCCS's TCB info is for FMSPC %s, the quote's platform is %s", got, fmspc);
      rc = PCCS_EFORMAT;
    }
  }
  tdx_collateral_free(c);
  if (rc) {
    free(*json);
    *json = NULL;
    *json_len = 0;
  }
  return rc;
}
