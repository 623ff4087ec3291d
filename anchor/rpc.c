#include "anchor/rpc.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anchor/quantity.h"
#include "base/buf.h"
#include "base/hex.h"

struct eth_rpc {
  CURL *curl;
  struct curl_slist *headers;
  char *url;
  long timeout_ms;
  size_t max_response;
  uint64_t next_id;
  /* response being read; its max is max_response */
  xt_buf body;
  /* last failure */
  char err[512];
  long err_code;
  uint8_t *err_data;
  size_t err_data_len;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result = CURLE_FAILED_INIT;
static void curl_init(void) { curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT); }

const char *eth_rpc_status_str(int status) {
  switch (status) {
  case ETH_RPC_OK: return "ok";
  case ETH_RPC_ERR_TRANSPORT: return "transport error";
  case ETH_RPC_ERR_NODE: return "node error";
  case ETH_RPC_ERR_PROTOCOL: return "protocol error";
  case ETH_RPC_ERR_NOMEM: return "out of memory";
  case ETH_RPC_ERR_ARG: return "bad argument";
  case ETH_RPC_ERR_TOO_LARGE: return "answer too large";
  default: return "unknown status";
  }
}

static void clear_error(eth_rpc *r) {
  r->err[0] = 0;
  r->err_code = 0;
  free(r->err_data);
  r->err_data = NULL;
  r->err_data_len = 0;
}

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int fail(eth_rpc *r, int status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  xt_verrf(r->err, sizeof r->err, fmt, ap);
  va_end(ap);
  return status;
}

eth_rpc *eth_rpc_new(const char *url, char *err, size_t errcap) {
  if (!url || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)) {
    xt_errf(err, errcap, "RPC URL must start with http:// or https://");
    return NULL;
  }
  pthread_once(&curl_once, curl_init);
  if (curl_init_result != CURLE_OK) {
    xt_errf(err, errcap, "libcurl initialisation failed");
    return NULL;
  }
  eth_rpc *r = calloc(1, sizeof *r);
  if (!r) goto nomem;
  r->url = strdup(url);
  r->curl = curl_easy_init();
  r->headers = curl_slist_append(NULL, "Content-Type: application/json");
  /* No "Expect: 100-continue" round trip (and its 1 s wait) for larger bodies. */
  struct curl_slist *h2 = r->headers ? curl_slist_append(r->headers, "Expect:") : NULL;
  if (h2) r->headers = h2;
  if (!r->url || !r->curl || !r->headers || !h2) goto nomem;
  r->timeout_ms = ETH_RPC_DEFAULT_TIMEOUT_MS;
  r->max_response = ETH_RPC_DEFAULT_MAX_RESPONSE;
  r->next_id = 1;
  return r;
nomem:
  xt_errf(err, errcap, "out of memory");
  eth_rpc_free(r);
  return NULL;
}

void eth_rpc_free(eth_rpc *r) {
  if (!r) return;
  if (r->curl) curl_easy_cleanup(r->curl);
  curl_slist_free_all(r->headers);
  free(r->url);
  xt_buf_free(&r->body);
  free(r->err_data);
  free(r);
}

void eth_rpc_set_timeout_ms(eth_rpc *r, long ms) { r->timeout_ms = ms > 0 ? ms : ETH_RPC_DEFAULT_TIMEOUT_MS; }
void eth_rpc_set_max_response(eth_rpc *r, size_t bytes) { r->max_response = bytes ? bytes : ETH_RPC_DEFAULT_MAX_RESPONSE; }
const char *eth_rpc_url(const eth_rpc *r) { return r->url; }
const char *eth_rpc_error(const eth_rpc *r) { return r->err; }
long eth_rpc_error_code(const eth_rpc *r) { return r->err_code; }

const uint8_t *eth_rpc_error_data(const eth_rpc *r, size_t *len) {
  *len = r->err_data_len;
  return r->err_data;
}

/* Keeps the node's error message, code and (hex) data. */
static int node_error(eth_rpc *r, const char *method, json_t *error) {
  json_t *msg = json_object_get(error, "message");
  json_t *code = json_object_get(error, "code");
  json_t *data = json_object_get(error, "data");
  r->err_code = json_is_integer(code) ? (long)json_integer_value(code) : 0;
  /* Nodes put revert data either directly in "data" or in data.data. */
  if (json_is_object(data)) data = json_object_get(data, "data");
  if (json_is_string(data)) {
    uint8_t *bytes;
    size_t n;
    if (xt_hex_decode_alloc(json_string_value(data), XT_HEX_0X, &bytes, &n) == XT_OK) {
      r->err_data = bytes;
      r->err_data_len = n;
    }
  }
  return fail(r, ETH_RPC_ERR_NODE, "%s: node error %ld: %s", method, r->err_code,
              json_is_string(msg) ? json_string_value(msg) : "(no message)");
}

eth_rpc_status eth_rpc_call(eth_rpc *r, const char *method, json_t *params, json_t **result) {
  clear_error(r);
  *result = NULL;
  if (!params) return fail(r, ETH_RPC_ERR_NOMEM, "%s: out of memory", method);
  uint64_t id = r->next_id++;
  json_t *req = json_pack("{s:s, s:I, s:s, s:o}", "jsonrpc", "2.0", "id", (json_int_t)id, "method",
                          method, "params", params);
  if (!req) return fail(r, ETH_RPC_ERR_NOMEM, "%s: out of memory", method);
  char *body = json_dumps(req, JSON_COMPACT);
  json_decref(req);
  if (!body) return fail(r, ETH_RPC_ERR_NOMEM, "%s: out of memory", method);

  /* Kept between calls so a connection reuses its storage; emptied, new cap. */
  r->body.len = 0;
  r->body.overflow = 0;
  r->body.max = r->max_response;
  CURL *c = r->curl;
  curl_easy_reset(c);
  curl_easy_setopt(c, CURLOPT_URL, r->url);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, r->timeout_ms);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, r->timeout_ms < 3000 ? r->timeout_ms : 3000L);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, r->headers);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, xt_buf_curl_write);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
  CURLcode cc = curl_easy_perform(c);
  free(body);
  if (cc != CURLE_OK) {
    if (r->body.overflow)
      return fail(r, ETH_RPC_ERR_TOO_LARGE, "%s: response from %s larger than %zu bytes", method,
                  r->url, r->max_response);
    return fail(r, ETH_RPC_ERR_TRANSPORT, "%s: %s: %s", method, r->url, curl_easy_strerror(cc));
  }
  long http = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &http);

  json_error_t jerr;
  json_t *resp = r->body.len ? json_loadb((const char *)r->body.data, r->body.len, JSON_REJECT_DUPLICATES, &jerr)
                             : NULL;
  /* Rate limiting (429) and server failures (5xx) are the transport's, even when the
   * body is a JSON-RPC error: the same request may succeed later, and callers retry
   * transport errors, not node errors. */
  if (http == 429 || http >= 500) {
    json_decref(resp);
    return fail(r, ETH_RPC_ERR_TRANSPORT, "%s: %s answered HTTP %ld", method, r->url, http);
  }
  if (!json_is_object(resp)) {
    json_decref(resp);
    if (http != 200)
      return fail(r, ETH_RPC_ERR_TRANSPORT, "%s: %s answered HTTP %ld", method, r->url, http);
    return fail(r, ETH_RPC_ERR_PROTOCOL, "%s: %s sent a response that is not a JSON object", method,
                r->url);
  }
  json_t *rid = json_object_get(resp, "id");
  json_t *error = json_object_get(resp, "error");
  int status = ETH_RPC_OK;
  if (error && !json_is_null(error)) {
    status = json_is_object(error) ? node_error(r, method, error)
                                   : fail(r, ETH_RPC_ERR_PROTOCOL, "%s: malformed error", method);
  } else if (!json_is_integer(rid) || (uint64_t)json_integer_value(rid) != id) {
    status = fail(r, ETH_RPC_ERR_PROTOCOL, "%s: response id does not match the request", method);
  } else if (!json_object_get(resp, "result")) {
    status = fail(r, ETH_RPC_ERR_PROTOCOL, "%s: response has neither result nor error", method);
  } else {
    *result = json_incref(json_object_get(resp, "result"));
  }
  json_decref(resp);
  return status;
}

/* ---- typed helpers ---- */

static json_t *jhex(const uint8_t *p, size_t n) {
  if (n > (SIZE_MAX - 3) / 2) return NULL;
  char *s = malloc(2 * n + 3);
  if (!s) return NULL;
  xt_hex_encode0x(p, n, s);
  json_t *j = json_string(s);
  free(s);
  return j;
}

static json_t *jquantity(uint64_t v) {
  char q[19];
  hex_format_quantity(v, q);
  return json_string(q);
}

static int get_quantity(eth_rpc *r, const char *what, json_t *j, uint64_t *out) {
  if (!json_is_string(j) || hex_parse_quantity(json_string_value(j), out))
    return fail(r, ETH_RPC_ERR_PROTOCOL, "%s: not a valid quantity", what);
  return ETH_RPC_OK;
}

static int get_bytes(eth_rpc *r, const char *what, json_t *j, uint8_t *out, size_t n) {
  if (!json_is_string(j) || xt_hex_decode_exact(json_string_value(j), XT_HEX_0X, out, n) != XT_OK)
    return fail(r, ETH_RPC_ERR_PROTOCOL, "%s: not %zu bytes of hex", what, n);
  return ETH_RPC_OK;
}

static int call_quantity(eth_rpc *r, const char *method, json_t *params, uint64_t *out) {
  json_t *res;
  int rc = eth_rpc_call(r, method, params, &res);
  if (rc) return rc;
  rc = get_quantity(r, method, res, out);
  json_decref(res);
  return rc;
}

eth_rpc_status eth_chain_id(eth_rpc *r, uint64_t *chain_id) {
  return call_quantity(r, "eth_chainId", json_array(), chain_id);
}

eth_rpc_status eth_block_number(eth_rpc *r, uint64_t *number) {
  return call_quantity(r, "eth_blockNumber", json_array(), number);
}

eth_rpc_status eth_get_transaction_count(eth_rpc *r, const uint8_t addr[20], const char *tag, uint64_t *nonce) {
  return call_quantity(r, "eth_getTransactionCount", json_pack("[o,s]", jhex(addr, 20), tag), nonce);
}

/* A quantity of up to 256 bits (0x + 1 to 64 hex digits, no leading zero but "0x0")
 * as decimal: repeated division of its big-endian bytes by 10. 0 or -1. */
static int u256_quantity_decimal(const char *q, char out[ETH_U256_DECIMAL_MAX]) {
  if (!q || q[0] != '0' || (q[1] != 'x' && q[1] != 'X')) return -1;
  const char *h = q + 2;
  size_t n = strlen(h);
  if (n == 0 || n > 64 || (n > 1 && h[0] == '0')) return -1;
  char padded[65];
  memset(padded, '0', 64);
  memcpy(padded + 64 - n, h, n);
  padded[64] = 0;
  uint8_t v[32];
  if (xt_hex_decode_exact(padded, 0, v, 32) != XT_OK) return -1;
  char rev[ETH_U256_DECIMAL_MAX];
  size_t len = 0;
  bool zero;
  do {
    unsigned rem = 0;
    zero = true;
    for (size_t i = 0; i < 32; i++) {
      unsigned cur = rem * 256u + v[i];
      v[i] = (uint8_t)(cur / 10u);
      rem = cur % 10u;
      if (v[i]) zero = false;
    }
    rev[len++] = (char)('0' + rem);
  } while (!zero && len < ETH_U256_DECIMAL_MAX - 1);
  for (size_t i = 0; i < len; i++) out[i] = rev[len - 1 - i];
  out[len] = 0;
  return 0;
}

eth_rpc_status eth_get_balance(eth_rpc *r, const uint8_t addr[20], char wei_dec[ETH_U256_DECIMAL_MAX]) {
  json_t *res;
  int rc = eth_rpc_call(r, "eth_getBalance", json_pack("[o,s]", jhex(addr, 20), "latest"), &res);
  if (rc) return rc;
  if (u256_quantity_decimal(json_string_value(res), wei_dec))
    rc = fail(r, ETH_RPC_ERR_PROTOCOL, "eth_getBalance: not a valid quantity");
  json_decref(res);
  return rc;
}

eth_rpc_status eth_max_priority_fee_per_gas(eth_rpc *r, uint64_t *wei) {
  return call_quantity(r, "eth_maxPriorityFeePerGas", json_array(), wei);
}

eth_rpc_status eth_next_base_fee(eth_rpc *r, uint64_t *wei) {
  json_t *res;
  int rc = eth_rpc_call(r, "eth_feeHistory", json_pack("[s,s,[]]", "0x1", "latest"), &res);
  if (rc) return rc;
  json_t *fees = json_object_get(res, "baseFeePerGas");
  if (!json_is_array(fees) || json_array_size(fees) == 0)
    rc = fail(r, ETH_RPC_ERR_PROTOCOL, "eth_feeHistory: no baseFeePerGas");
  else /* the last entry is the block after the newest one */
    rc = get_quantity(r, "eth_feeHistory baseFeePerGas", json_array_get(fees, json_array_size(fees) - 1), wei);
  json_decref(res);
  return rc;
}

static json_t *call_object(const uint8_t *from, const uint8_t *to, const uint8_t *data, size_t len) {
  json_t *o = json_object();
  if (!o) return NULL;
  int bad = 0;
  if (from) bad |= json_object_set_new(o, "from", jhex(from, 20));
  if (to) bad |= json_object_set_new(o, "to", jhex(to, 20));
  bad |= json_object_set_new(o, "data", jhex(data, len));
  if (bad) {
    json_decref(o);
    return NULL;
  }
  return o;
}

eth_rpc_status eth_estimate_gas(eth_rpc *r, const uint8_t from[20], const uint8_t *to, const uint8_t *data,
                     size_t len, uint64_t *gas) {
  /* Against the latest block, not the pending one: our own pending transaction,
   * which this one may be about to replace, must not change the outcome. */
  return call_quantity(r, "eth_estimateGas", json_pack("[o,s]", call_object(from, to, data, len), "latest"), gas);
}

eth_rpc_status eth_call(eth_rpc *r, const uint8_t to[20], const uint8_t *data, size_t len, uint8_t **out,
             size_t *out_len) {
  json_t *res;
  int rc = eth_rpc_call(r, "eth_call", json_pack("[o,s]", call_object(NULL, to, data, len), "latest"), &res);
  if (rc) return rc;
  if (!json_is_string(res) || xt_hex_decode_alloc(json_string_value(res), XT_HEX_0X, out, out_len) != XT_OK)
    rc = fail(r, ETH_RPC_ERR_PROTOCOL, "eth_call: result is not hex data");
  json_decref(res);
  return rc;
}

eth_rpc_status eth_send_raw_transaction(eth_rpc *r, const uint8_t *raw, size_t len, uint8_t hash[32]) {
  json_t *res;
  int rc = eth_rpc_call(r, "eth_sendRawTransaction", json_pack("[o]", jhex(raw, len)), &res);
  if (rc) return rc;
  rc = get_bytes(r, "eth_sendRawTransaction", res, hash, 32);
  json_decref(res);
  return rc;
}

eth_rpc_status eth_get_transaction_receipt(eth_rpc *r, const uint8_t hash[32], eth_receipt *rc_out, int *found) {
  json_t *res;
  *found = 0;
  int rc = eth_rpc_call(r, "eth_getTransactionReceipt", json_pack("[o]", jhex(hash, 32)), &res);
  if (rc) return rc;
  if (json_is_null(res)) {
    json_decref(res);
    return ETH_RPC_OK;
  }
  memset(rc_out, 0, sizeof *rc_out);
  uint64_t status = 0;
  json_t *ca = json_object_get(res, "contractAddress");
  if (!json_is_object(res) ||
      get_bytes(r, "receipt transactionHash", json_object_get(res, "transactionHash"), rc_out->tx_hash, 32) ||
      get_bytes(r, "receipt blockHash", json_object_get(res, "blockHash"), rc_out->block_hash, 32) ||
      get_quantity(r, "receipt blockNumber", json_object_get(res, "blockNumber"), &rc_out->block_number) ||
      get_quantity(r, "receipt status", json_object_get(res, "status"), &status) ||
      get_quantity(r, "receipt gasUsed", json_object_get(res, "gasUsed"), &rc_out->gas_used)) {
    json_decref(res);
    if (!r->err[0]) return fail(r, ETH_RPC_ERR_PROTOCOL, "eth_getTransactionReceipt: not an object");
    return ETH_RPC_ERR_PROTOCOL;
  }
  (void)get_quantity(r, "receipt effectiveGasPrice", json_object_get(res, "effectiveGasPrice"),
                     &rc_out->effective_gas_price);
  r->err[0] = 0;
  if (json_is_string(ca)) {
    if (get_bytes(r, "receipt contractAddress", ca, rc_out->contract_address, 20)) {
      json_decref(res);
      return ETH_RPC_ERR_PROTOCOL;
    }
    rc_out->has_contract_address = 1;
  }
  rc_out->status = status == 1;
  json_decref(res);
  *found = 1;
  return ETH_RPC_OK;
}

eth_rpc_status eth_get_block_by_number(eth_rpc *r, uint64_t number, eth_block *b, int *found) {
  json_t *res;
  *found = 0;
  json_t *tag = number == ETH_BLOCK_LATEST ? json_string("latest") : jquantity(number);
  int rc = eth_rpc_call(r, "eth_getBlockByNumber", json_pack("[o,b]", tag, 0), &res);
  if (rc) return rc;
  if (json_is_null(res)) {
    json_decref(res);
    return ETH_RPC_OK;
  }
  memset(b, 0, sizeof *b);
  json_t *bf = json_object_get(res, "baseFeePerGas");
  if (!json_is_object(res) ||
      get_quantity(r, "block number", json_object_get(res, "number"), &b->number) ||
      get_quantity(r, "block timestamp", json_object_get(res, "timestamp"), &b->timestamp) ||
      get_bytes(r, "block hash", json_object_get(res, "hash"), b->hash, 32) ||
      (bf && get_quantity(r, "block baseFeePerGas", bf, &b->base_fee))) {
    json_decref(res);
    if (!r->err[0]) return fail(r, ETH_RPC_ERR_PROTOCOL, "eth_getBlockByNumber: not an object");
    return ETH_RPC_ERR_PROTOCOL;
  }
  json_decref(res);
  *found = 1;
  return ETH_RPC_OK;
}

int eth_get_logs(eth_rpc *r, const uint8_t address[20], const uint8_t topic0[32],
                 const uint8_t *topic1, uint64_t from, uint64_t to, eth_log_cb cb, void *ctx) {
  /* topic0 == NULL: every event of the address (no topics filter). */
  json_t *topics = !topic0 ? json_array()
                   : topic1 ? json_pack("[o,o]", jhex(topic0, 32), jhex(topic1, 32))
                            : json_pack("[o]", jhex(topic0, 32));
  json_t *filter = json_pack("{s:o, s:o, s:o, s:o}", "address", jhex(address, 20), "topics", topics,
                             "fromBlock", jquantity(from), "toBlock",
                             to == ETH_BLOCK_LATEST ? json_string("latest") : jquantity(to));
  json_t *res;
  int rc = eth_rpc_call(r, "eth_getLogs", filter ? json_pack("[o]", filter) : NULL, &res);
  if (rc) return rc;
  if (!json_is_array(res)) {
    json_decref(res);
    return fail(r, ETH_RPC_ERR_PROTOCOL, "eth_getLogs: result is not an array");
  }
  size_t i;
  json_t *jl;
  json_array_foreach(res, i, jl) {
    eth_log lg;
    memset(&lg, 0, sizeof lg);
    json_t *jt = json_object_get(jl, "topics");
    json_t *rem = json_object_get(jl, "removed");
    uint8_t *data = NULL;
    if (!json_is_object(jl) || !json_is_array(jt) || json_array_size(jt) > 4 ||
        get_quantity(r, "log blockNumber", json_object_get(jl, "blockNumber"), &lg.block_number) ||
        get_bytes(r, "log blockHash", json_object_get(jl, "blockHash"), lg.block_hash, 32) ||
        get_bytes(r, "log transactionHash", json_object_get(jl, "transactionHash"), lg.tx_hash, 32) ||
        get_quantity(r, "log logIndex", json_object_get(jl, "logIndex"), &lg.log_index) ||
        !json_is_string(json_object_get(jl, "data")) ||
        xt_hex_decode_alloc(json_string_value(json_object_get(jl, "data")), XT_HEX_0X, &data,
                            &lg.data_len) != XT_OK) {
      json_decref(res);
      if (!r->err[0]) return fail(r, ETH_RPC_ERR_PROTOCOL, "eth_getLogs: malformed log entry %zu", i);
      return ETH_RPC_ERR_PROTOCOL;
    }
    lg.ntopics = json_array_size(jt);
    for (size_t t = 0; t < lg.ntopics; t++) {
      if (get_bytes(r, "log topic", json_array_get(jt, t), lg.topics[t], 32)) {
        free(data);
        json_decref(res);
        return ETH_RPC_ERR_PROTOCOL;
      }
    }
    lg.removed = json_is_true(rem);
    lg.data = data;
    int stop = cb(ctx, &lg);
    free(data);
    if (stop) {
      json_decref(res);
      return stop;
    }
  }
  json_decref(res);
  return ETH_RPC_OK;
}
