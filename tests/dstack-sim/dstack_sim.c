/* dstack-sim: a stand-in for dstack's guest agent, for tests and the demo (never shipped).
 *
 *   dstack-sim --socket PATH --app-compose FILE [--seed HEX] [--app-id HEX]
 *              [--legacy-event-log] [--testdata DIR]
 *
 * Serves GetKey, GetQuote, Info and Version over HTTP on a unix socket, like dstack 0.6
 * (tests/dstack-sdk.test.sh drives it with Phala's own dstack SDK as the client):
 * - keys are deterministic: HMAC-SHA256(seed, "dstack-sim-key-v1" 0 app_id 0 algorithm 0
 *   path), so they depend on the app and the path but (as in dstack) not on the purpose
 *   or the compose hash; the signature chain holds two deterministic 65-byte stand-ins;
 * - quotes are dstack's own simulator quote (testdata/tdx/sim-quote.hex) with REPORTDATA
 *   set to the caller's report_data and RTMR3 set to the replay of this simulator's
 *   RTMR3 events, which include the compose-hash event of the given app-compose file
 *   (SHA-256 of its exact bytes). RTMR0-2 and their events stay those of the original.
 *   The attestation-key signature then no longer verifies, so verifiers say "simulated".
 * - RTMR3 holds the events dstack 0.6.0 measures, in its order: system-preparing, app-id,
 *   compose-hash, instance-id, boot-mr-done, os-image-hash, key-provider
 *   ({"name":"kms","id":...}), storage-fs ("zfs"), system-ready. As every dstack since
 *   0.5.6, their digests are sent EMPTY (the verifier computes them);
 *   --legacy-event-log sends them filled in, as dstack 0.5.5 and older did.
 * - app_id stands for the DstackApp contract address (--app-id, default derived from the
 *   seed), not the compose hash; instance_id, the os image hash and the KMS key id are
 *   derived from the seed. vm_config names the same os image hash.
 * The template data is read from --testdata DIR (default: $XT_TESTDATA/tdx, else
 * tests/data/tdx of the checkout the binary was built in). */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <microhttpd.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "dstack/eventlog.h"
#include "dstack/quote.h"
#include "base/file.h"
#include "base/hex.h"

#define MAX_BODY (64 * 1024)

typedef struct sim_state {
  uint8_t seed[64];
  size_t seed_len;
  uint8_t compose_hash[32];
  uint8_t app_id[20];
  uint8_t instance_id[20];
  uint8_t os_image_hash[32];
  uint8_t device_id[32];  /* stands for the platform's device id (derived from the seed) */
  char key_provider[128]; /* the key-provider payload: {"name":"kms","id":"<hex>"} */
  char vm_config[256];
  bool legacy_log;        /* runtime event digests filled in (dstack <= 0.5.5) */
  char *app_compose; /* exact file bytes, NUL-terminated */
  size_t app_compose_len;
  uint8_t *template_quote;
  size_t template_len;
  uint8_t rtmr3[48];
  json_t *event_log; /* full log: template IMR0-2 events + our IMR3 events */
  char *event_log_text;
} sim_state;

static sim_state sim;

static void hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *msg, size_t len,
                        uint8_t out[32]) {
  unsigned int n = 32;
  if (!HMAC(EVP_sha256(), key, (int)key_len, msg, len, out, &n)) memset(out, 0, 32);
}

/* ---- event log ---------------------------------------------------------------------- */

static int add_runtime_event(json_t *log, const char *name, const uint8_t *payload, size_t len) {
  uint8_t digest[48];
  char dhex[97] = "";
  char *phex = malloc(2 * len + 1);
  if (!phex) return -1;
  if (sim.legacy_log) {
    dstack_runtime_event_digest(name, payload, len, digest);
    xt_hex_encode(digest, 48, dhex);
  }
  xt_hex_encode(payload, len, phex);
  json_t *ev = json_pack("{s:i, s:I, s:s, s:s, s:s}", "imr", 3, "event_type",
                         (json_int_t)DSTACK_RUNTIME_EVENT_TYPE, "digest", dhex, "event", name,
                         "event_payload", phex);
  free(phex);
  if (!ev || json_array_append_new(log, ev)) return -1;
  return 0;
}

static int build_event_log(const char *testdata, char *err, size_t errlen) {
  char path[1024];
  snprintf(path, sizeof path, "%s/sim-eventlog.json", testdata);
  json_error_t jerr;
  json_t *orig = json_load_file(path, 0, &jerr);
  if (!json_is_array(orig)) {
    snprintf(err, errlen, "%.300s: %.150s", path, jerr.text);
    json_decref(orig);
    return -1;
  }
  json_t *log = json_array();
  size_t i;
  json_t *ev;
  json_array_foreach(orig, i, ev) {
    json_t *imr = json_object_get(ev, "imr");
    if (json_is_integer(imr) && json_integer_value(imr) != 3) json_array_append(log, ev);
  }
  json_decref(orig);
  if (add_runtime_event(log, "system-preparing", NULL, 0) ||
      add_runtime_event(log, "app-id", sim.app_id, 20) ||
      add_runtime_event(log, "compose-hash", sim.compose_hash, 32) ||
      add_runtime_event(log, "instance-id", sim.instance_id, 20) ||
      add_runtime_event(log, "boot-mr-done", NULL, 0) ||
      add_runtime_event(log, "os-image-hash", sim.os_image_hash, 32) ||
      add_runtime_event(log, "key-provider", (const uint8_t *)sim.key_provider,
                        strlen(sim.key_provider)) ||
      add_runtime_event(log, "storage-fs", (const uint8_t *)"zfs", 3) ||
      add_runtime_event(log, "system-ready", NULL, 0)) {
    snprintf(err, errlen, "out of memory");
    json_decref(log);
    return -1;
  }
  sim.event_log = log;
  sim.event_log_text = json_dumps(log, JSON_COMPACT);
  dstack_event_log parsed;
  uint8_t rtmr[4][48];
  if (!sim.event_log_text ||
      dstack_event_log_parse(&parsed, sim.event_log_text, strlen(sim.event_log_text), err,
                             errlen))
    return -1;
  int rc = dstack_event_log_replay(&parsed, rtmr, err, errlen);
  dstack_event_log_free(&parsed);
  if (rc) return -1;
  /* RTMR0-2 must still be the template's, or the template log was not the quote's */
  for (int r = 0; r < 3; r++) {
    if (memcmp(rtmr[r], sim.template_quote + TDX_OFF_RTMR0 + 48 * r, 48) != 0) {
      snprintf(err, errlen, "template event log does not replay to the template RTMR%d", r);
      return -1;
    }
  }
  memcpy(sim.rtmr3, rtmr[3], 48);
  return 0;
}

/* ---- HTTP --------------------------------------------------------------------------- */

typedef struct request {
  char *body;
  size_t len;
  bool too_big;
} request;

static enum MHD_Result send_json(struct MHD_Connection *conn, unsigned status, json_t *obj) {
  char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
  json_decref(obj);
  if (!text) {
    text = strdup("{\"error\":\"out of memory\"}");
    status = 500;
    if (!text) return MHD_NO;
  }
  struct MHD_Response *resp =
      MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
  if (!resp) {
    free(text);
    return MHD_NO;
  }
  MHD_add_response_header(resp, "Content-Type", "application/json");
  enum MHD_Result r = MHD_queue_response(conn, status, resp);
  MHD_destroy_response(resp);
  return r;
}

static enum MHD_Result send_error(struct MHD_Connection *conn, unsigned status, const char *msg) {
  return send_json(conn, status, json_pack("{s:s}", "error", msg));
}

static const char *str_field(json_t *body, const char *key) {
  json_t *v = json_object_get(body, key);
  return json_is_string(v) ? json_string_value(v) : NULL;
}

static enum MHD_Result handle_get_key(struct MHD_Connection *conn, json_t *body) {
  const char *path = str_field(body, "path");
  const char *algorithm = str_field(body, "algorithm");
  if (!path) return send_error(conn, 400, "missing path");
  if (!algorithm || !*algorithm) algorithm = "secp256k1";
  if (strcmp(algorithm, "secp256k1") != 0 && strcmp(algorithm, "ed25519") != 0)
    return send_error(conn, 400, "unsupported algorithm");
  size_t plen = strlen(path), alen = strlen(algorithm);
  size_t mlen = 18 + 20 + 1 + alen + 1 + plen;
  uint8_t *msg = malloc(mlen);
  if (!msg) return send_error(conn, 500, "out of memory");
  memcpy(msg, "dstack-sim-key-v1", 18); /* includes the NUL separator */
  memcpy(msg + 18, sim.app_id, 20);
  msg[38] = 0;
  memcpy(msg + 39, algorithm, alen);
  msg[39 + alen] = 0;
  memcpy(msg + 40 + alen, path, plen);
  uint8_t key[32], sig_seed[32], sig[2][65];
  hmac_sha256(sim.seed, sim.seed_len, msg, mlen, key);
  free(msg);
  /* stand-in signatures: deterministic, obviously not verifiable */
  for (int i = 0; i < 2; i++) {
    uint8_t in[33];
    memcpy(in, key, 32);
    in[32] = (uint8_t)i;
    hmac_sha256(sim.seed, sim.seed_len, in, 33, sig_seed);
    memcpy(sig[i], sig_seed, 32);
    hmac_sha256(sig_seed, 32, in, 33, sig[i] + 32);
    sig[i][64] = 27;
  }
  char khex[65], s0[131], s1[131];
  xt_hex_encode(key, 32, khex);
  xt_hex_encode(sig[0], 65, s0);
  xt_hex_encode(sig[1], 65, s1);
  return send_json(conn, 200,
                   json_pack("{s:s, s:[s,s]}", "key", khex, "signature_chain", s0, s1));
}

/* GetQuote's answer for report_data hex (at most 64 bytes; NULL: zeros): {quote,
 * event_log, report_data, vm_config}. Returns NULL with *status 400 (bad hex) or 500. */
static json_t *make_quote(const char *hex, unsigned *status) {
  uint8_t rd[64] = {0};
  if (!hex) hex = "";
  *status = 400;
  if (xt_hex_decode(hex, strlen(hex), XT_HEX_0X, rd, sizeof rd, NULL) != XT_OK) return NULL;
  *status = 500;
  uint8_t *q = malloc(sim.template_len);
  char *qhex = malloc(2 * sim.template_len + 1);
  if (!q || !qhex) {
    free(q);
    free(qhex);
    return NULL;
  }
  memcpy(q, sim.template_quote, sim.template_len);
  memcpy(q + TDX_OFF_REPORT_DATA, rd, 64);
  memcpy(q + TDX_OFF_RTMR0 + 3 * 48, sim.rtmr3, 48);
  xt_hex_encode(q, sim.template_len, qhex);
  free(q);
  char rdhex[129];
  xt_hex_encode(rd, 64, rdhex);
  json_t *reply = json_pack("{s:s, s:s, s:s, s:s}", "quote", qhex, "event_log",
                            sim.event_log_text, "report_data", rdhex, "vm_config",
                            sim.vm_config);
  free(qhex);
  return reply;
}

static enum MHD_Result handle_get_quote(struct MHD_Connection *conn, json_t *body) {
  unsigned status;
  json_t *reply = make_quote(str_field(body, "report_data"), &status);
  if (!reply)
    return send_error(conn, status, status == 400 ? "report_data must be hex of at most 64 bytes" : "out of memory");
  return send_json(conn, 200, reply);
}

/* Info as dstack 0.6's guest agent answers it, with every member the dstack SDK's
 * InfoResponse and TcbInfoV05x name (device_id, os_image_hash, vm_config; in tcb_info
 * also compose_hash, os_image_hash, device_id and mr_aggregated). mr_aggregated is sent
 * empty: the simulator does not compute it (dstack's own lite-attestation fixtures send
 * it empty too), and nothing in this project reads it. */
static enum MHD_Result handle_info(struct MHD_Connection *conn) {
  char app_id[41], instance_id[41], compose_hash[65], hex[97], os_image[65], device_id[65];
  xt_hex_encode(sim.app_id, 20, app_id);
  xt_hex_encode(sim.instance_id, 20, instance_id);
  xt_hex_encode(sim.compose_hash, 32, compose_hash);
  xt_hex_encode(sim.os_image_hash, 32, os_image);
  xt_hex_encode(sim.device_id, 32, device_id);
  json_t *tcb = json_pack("{s:s, s:s, s:s, s:s}", "compose_hash", compose_hash, "os_image_hash", os_image,
                          "device_id", device_id, "mr_aggregated", "");
  if (!tcb) return send_error(conn, 500, "out of memory");
  xt_hex_encode(sim.template_quote + TDX_OFF_MRTD, 48, hex);
  json_object_set_new(tcb, "mrtd", json_string(hex));
  for (int i = 0; i < 4; i++) {
    char key[16];
    snprintf(key, sizeof key, "rtmr%d", i);
    xt_hex_encode(i == 3 ? sim.rtmr3 : sim.template_quote + TDX_OFF_RTMR0 + 48 * i, 48, hex);
    json_object_set_new(tcb, key, json_string(hex));
  }
  json_object_set(tcb, "event_log", sim.event_log);
  json_object_set_new(tcb, "app_compose", json_stringn(sim.app_compose, sim.app_compose_len));
  char *tcb_text = json_dumps(tcb, JSON_COMPACT);
  json_decref(tcb);
  if (!tcb_text) return send_error(conn, 500, "out of memory");
  const char *app_name = "";
  json_t *compose = json_loadb(sim.app_compose, sim.app_compose_len, 0, NULL);
  if (json_is_string(json_object_get(compose, "name")))
    app_name = json_string_value(json_object_get(compose, "name"));
  json_t *reply = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "app_id", app_id,
                            "instance_id", instance_id, "compose_hash", compose_hash, "tcb_info",
                            tcb_text, "app_name", app_name, "app_cert", "", "key_provider_info",
                            sim.key_provider, "device_id", device_id, "mr_aggregated", "",
                            "os_image_hash", os_image, "vm_config", sim.vm_config);
  json_decref(compose);
  free(tcb_text);
  return send_json(conn, 200, reply);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_size, void **con_cls) {
  request *req = *con_cls;
  if (!req) {
    req = calloc(1, sizeof *req);
    if (!req) return MHD_NO;
    *con_cls = req;
    return MHD_YES;
  }
  if (*upload_size) {
    if (req->len + *upload_size > MAX_BODY) {
      req->too_big = true;
    } else {
      char *p = realloc(req->body, req->len + *upload_size + 1);
      if (!p) return MHD_NO;
      memcpy(p + req->len, upload_data, *upload_size);
      req->body = p;
      req->len += *upload_size;
      req->body[req->len] = '\0';
    }
    *upload_size = 0;
    return MHD_YES;
  }
  if (req->too_big) return send_error(conn, 413, "request body too large");
  if (strcmp(method, "POST") != 0 && strcmp(method, "GET") != 0)
    return send_error(conn, 405, "use POST");
  json_t *body = NULL;
  if (req->len) {
    json_error_t jerr;
    body = json_loadb(req->body, req->len, 0, &jerr);
    if (!json_is_object(body)) {
      json_decref(body);
      return send_error(conn, 400, "request body is not a JSON object");
    }
  } else {
    body = json_object();
  }
  enum MHD_Result r;
  if (!strcmp(url, "/GetKey"))
    r = handle_get_key(conn, body);
  else if (!strcmp(url, "/GetQuote"))
    r = handle_get_quote(conn, body);
  else if (!strcmp(url, "/Info"))
    r = handle_info(conn);
  else if (!strcmp(url, "/Version")) /* dstack's WorkerVersion: version and git rev */
    r = send_json(conn, 200, json_pack("{s:s, s:s}", "version", "0.6.0", "rev", "dstack-sim"));
  else
    r = send_error(conn, 404, "unknown method");
  json_decref(body);
  return r;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
  request *req = *con_cls;
  if (req) {
    free(req->body);
    free(req);
    *con_cls = NULL;
  }
}

/* ---- main --------------------------------------------------------------------------- */

static void usage(FILE *f) {
  fprintf(f, "usage: dstack-sim --socket PATH --app-compose FILE [--seed HEX] [--app-id HEX]\n"
             "                  [--legacy-event-log] [--testdata DIR]\n"
             "       dstack-sim --attest REPORT_DATA_HEX --app-compose FILE [--seed HEX] ...\n"
             "  --attest: print GetQuote's answer for that report_data on stdout and exit\n"
             "            (tlog-mklog's simulated boot attestations)\n");
}

static void default_testdata(char *out, size_t cap) {
  const char *env = getenv("XT_TESTDATA");
  if (env) {
    snprintf(out, cap, "%s/tdx", env);
    return;
  }
  char exe[900];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    exe[n] = '\0';
    /* bin/dstack-sim or bin/san/dstack-sim inside the checkout */
    for (int up = 2; up <= 3; up++) {
      char dir[900];
      snprintf(dir, sizeof dir, "%s", exe);
      for (int i = 0; i < up; i++) {
        char *slash = strrchr(dir, '/');
        if (slash) *slash = '\0';
      }
      snprintf(out, cap, "%.800s/tests/data/tdx", dir);
      char probe[1024];
      snprintf(probe, sizeof probe, "%s/sim-quote.hex", out);
      if (access(probe, R_OK) == 0) return;
    }
  }
  snprintf(out, cap, "tests/data/tdx");
}

/* What the seed (and --app-id) decide besides keys: app id, instance id, os image hash,
 * the KMS key id, vm_config. Returns 0, or -1 after a message for a bad --app-id. */
static int derive_identity(const char *app_id_hex) {
  uint8_t h[32];
  if (app_id_hex) {
    if (xt_hex_decode_exact(app_id_hex, XT_HEX_0X, sim.app_id, 20) != XT_OK) {
      fprintf(stderr, "dstack-sim: --app-id must be 20 bytes of hex (a contract address)\n");
      return -1;
    }
  } else {
    hmac_sha256(sim.seed, sim.seed_len, (const uint8_t *)"app-id", 6, h);
    memcpy(sim.app_id, h, 20);
  }
  hmac_sha256(sim.seed, sim.seed_len, (const uint8_t *)"instance-id", 11, h);
  memcpy(sim.instance_id, h, 20);
  hmac_sha256(sim.seed, sim.seed_len, (const uint8_t *)"os-image-hash", 13, sim.os_image_hash);
  hmac_sha256(sim.seed, sim.seed_len, (const uint8_t *)"device-id", 9, sim.device_id);
  char img[65], kid[65];
  xt_hex_encode(sim.os_image_hash, 32, img);
  hmac_sha256(sim.seed, sim.seed_len, (const uint8_t *)"kms-key-id", 10, h);
  xt_hex_encode(h, 32, kid);
  snprintf(sim.key_provider, sizeof sim.key_provider, "{\"name\":\"kms\",\"id\":\"%s\"}", kid);
  snprintf(sim.vm_config, sizeof sim.vm_config,
           "{\"spec_version\":1,\"os_image_hash\":\"%s\",\"cpu_count\":2,"
           "\"memory_size\":2147483648,\"image\":\"dstack-sim-0.6.0\",\"simulated\":true}",
           img);
  return 0;
}

/* Over 100 lines: option parsing, state set-up and the server's lifetime, in the order a
 * reader follows when starting the simulator by hand. */
int main(int argc, char **argv) {
  static const struct option opts[] = {{"socket", required_argument, NULL, 's'},
                                       {"app-compose", required_argument, NULL, 'a'},
                                       {"seed", required_argument, NULL, 'k'},
                                       {"testdata", required_argument, NULL, 't'},
                                       {"app-id", required_argument, NULL, 'i'},
                                       {"legacy-event-log", no_argument, NULL, 'l'},
                                       {"attest", required_argument, NULL, 'A'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  const char *socket_path = NULL, *compose_path = NULL, *seed_hex = NULL, *app_id_hex = NULL,
             *attest = NULL;
  char testdata[900] = "";
  int c;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (c) {
      case 's': socket_path = optarg; break;
      case 'a': compose_path = optarg; break;
      case 'k': seed_hex = optarg; break;
      case 't': snprintf(testdata, sizeof testdata, "%s", optarg); break;
      case 'i': app_id_hex = optarg; break;
      case 'l': sim.legacy_log = true; break;
      case 'A': attest = optarg; break;
      case 'h': usage(stdout); return 0;
      default: usage(stderr); return 2;
    }
  }
  if (!socket_path == !attest || !compose_path || optind != argc) {
    usage(stderr);
    return 2;
  }
  if (!testdata[0]) default_testdata(testdata, sizeof testdata);

  char err[512];
  if (seed_hex) {
    size_t n = 0;
    if (xt_hex_decode(seed_hex, strlen(seed_hex), XT_HEX_0X, sim.seed, sizeof sim.seed, &n) !=
            XT_OK ||
        n == 0) {
      fprintf(stderr, "dstack-sim: --seed must be 1..64 bytes of hex\n");
      return 2;
    }
    sim.seed_len = n;
  } else {
    memcpy(sim.seed, "dstack-sim-default-seed", 23);
    sim.seed_len = 23;
  }
  uint8_t *compose = NULL;
  if (xt_file_read(compose_path, 1 << 20, &compose, &sim.app_compose_len, err, sizeof err) !=
      XT_OK) {
    fprintf(stderr, "dstack-sim: %s\n", err);
    return 2;
  }
  sim.app_compose = (char *)compose;
  unsigned int hlen = 32;
  EVP_Digest(sim.app_compose, sim.app_compose_len, sim.compose_hash, &hlen, EVP_sha256(), NULL);
  if (derive_identity(app_id_hex)) return 2;

  char path[1024];
  size_t hex_len;
  snprintf(path, sizeof path, "%s/sim-quote.hex", testdata);
  uint8_t *hex = NULL;
  if (xt_file_read(path, 1 << 20, &hex, &hex_len, err, sizeof err) != XT_OK ||
      !(sim.template_quote = tdx_quote_decode_file_bytes(hex, hex_len, &sim.template_len,
                                                                 err, sizeof err))) {
    fprintf(stderr, "dstack-sim: template quote: %s\n", err);
    return 2;
  }
  free(hex);
  tdx_quote check;
  if (tdx_quote_parse(&check, sim.template_quote, sim.template_len, err, sizeof err) ||
      check.version != 4) {
    fprintf(stderr, "dstack-sim: template quote is not a v4 TDX quote: %s\n", err);
    return 2;
  }
  if (build_event_log(testdata, err, sizeof err)) {
    fprintf(stderr, "dstack-sim: event log: %s\n", err);
    return 2;
  }

  if (attest) {
    unsigned status;
    json_t *q = make_quote(attest, &status);
    int rc = q && json_dumpf(q, stdout, JSON_COMPACT) == 0 && fputc('\n', stdout) != EOF ? 0 : 2;
    if (!q) fprintf(stderr, "dstack-sim: %s\n", status == 400 ? "--attest: report_data must be hex of at most 64 bytes" : "out of memory");
    json_decref(q);
    return rc;
  }

  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  if (strlen(socket_path) >= sizeof addr.sun_path) {
    fprintf(stderr, "dstack-sim: socket path too long\n");
    return 2;
  }
  memcpy(addr.sun_path, socket_path, strlen(socket_path) + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    perror("dstack-sim: socket");
    return 2;
  }
  unlink(socket_path); /* a stale socket from an earlier run */
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(fd, 64) != 0) {
    fprintf(stderr, "dstack-sim: %s: %s\n", socket_path, strerror(errno));
    return 2;
  }

  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, NULL); /* MHD's threads inherit the mask */
  signal(SIGPIPE, SIG_IGN);

  struct MHD_Daemon *d = MHD_start_daemon(
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, NULL,
      MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
      MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30, MHD_OPTION_END);
  if (!d) {
    fprintf(stderr, "dstack-sim: cannot start the HTTP server\n");
    unlink(socket_path);
    return 2;
  }
  char ch[65];
  xt_hex_encode(sim.compose_hash, 32, ch);
  fprintf(stderr, "dstack-sim: listening on %s (compose hash %s; SIMULATED quotes)\n",
          socket_path, ch);
  int sig = 0;
  sigwait(&sigs, &sig);
  MHD_stop_daemon(d);
  close(fd);
  unlink(socket_path);
  json_decref(sim.event_log);
  free(sim.event_log_text);
  free(sim.template_quote);
  free(sim.app_compose);
  return 0;
}
