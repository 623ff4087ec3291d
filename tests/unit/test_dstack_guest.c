/* test_dstack_guest.c: the dstack guest client against dstack-sim (started here on a
 * temporary unix socket, stopped at the end): deterministic keys, quotes carrying the
 * caller's report_data whose event log replays to RTMR3 with the compose-hash event, and
 * verification saying "simulated". */
#include "dstack/attest.h"
#include "dstack/eventlog.h"
#include "dstack/guest.h"
#include "dstack/quote.h"
#include "base/hex.h"
#include "tests/lib/check.h"

#include <openssl/sha.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char dir[] = "/tmp/xt-dstack-guest.XXXXXX";
static char sock_path[256], compose_path[256];
static pid_t sim_pid = -1;
static dstack_client *client;
static const char compose[] =
    "{\"docker_compose_file\":\"services: {}\",\"name\":\"xordi-test\",\"runner\":\"docker-compose\"}";

static int start_sim(void) {
  char exe[512], sim[600];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return -1;
  exe[n] = '\0';
  char *slash = strrchr(exe, '/');
  if (!slash) return -1;
  *slash = '\0';
  snprintf(sim, sizeof sim, "%s/dstack-sim", exe);
  if (!mkdtemp(dir)) return -1;
  snprintf(sock_path, sizeof sock_path, "%s/dstack.sock", dir);
  snprintf(compose_path, sizeof compose_path, "%s/app-compose.json", dir);
  FILE *f = fopen(compose_path, "wb");
  if (!f) return -1;
  fwrite(compose, 1, sizeof compose - 1, f);
  fclose(f);
  sim_pid = fork();
  if (sim_pid < 0) return -1;
  if (sim_pid == 0) {
    execl(sim, sim, "--socket", sock_path, "--app-compose", compose_path, "--seed", "00112233",
          (char *)NULL);
    _exit(127);
  }
  /* ready once the socket accepts */
  for (int i = 0; i < 200; i++) {
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    memcpy(a.sun_path, sock_path, strlen(sock_path) + 1);
    int ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (fd >= 0) close(fd);
    if (ok) return 0;
    if (waitpid(sim_pid, NULL, WNOHANG) == sim_pid) {
      sim_pid = -1;
      return -1;
    }
    struct timespec ts = {0, 25 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  return -1;
}

static void stop_sim(void) {
  if (sim_pid > 0) {
    kill(sim_pid, SIGTERM);
    waitpid(sim_pid, NULL, 0);
    sim_pid = -1;
  }
  unlink(compose_path);
  unlink(sock_path);
  rmdir(dir);
}

static void test_keys_deterministic_per_path(void) {
  char err[256];
  dstack_key a, b, c, d, e;
  CHECK_FATAL(dstack_get_key(client, "xordi/logd/checkpoint", "signing", "ed25519", &a, err,
                             sizeof err) == 0);
  CHECK_FATAL(dstack_get_key(client, "xordi/logd/checkpoint", "signing", "ed25519", &b, err,
                             sizeof err) == 0);
  CHECK(a.key_len == 32 && b.key_len == 32 && !memcmp(a.key, b.key, 32));
  CHECK(a.n_signatures == 2 && a.signature_len[0] == 65 && a.signature_len[1] == 65);
  CHECK_FATAL(dstack_get_key(client, "xordi/logd/anchor", "signing", "secp256k1", &c, err,
                             sizeof err) == 0);
  CHECK(memcmp(a.key, c.key, 32) != 0);
  CHECK_FATAL(dstack_get_key(client, "xordi/logd/anchor", "other purpose", "secp256k1", &d, err,
                             sizeof err) == 0);
  CHECK(!memcmp(c.key, d.key, 32)); /* like dstack: the purpose only goes into signatures */
  CHECK_FATAL(dstack_get_key(client, "xordi/logd/anchor", "signing", NULL, &e, err,
                             sizeof err) == 0);
  CHECK(!memcmp(c.key, e.key, 32)); /* default algorithm is secp256k1 */
  CHECK(dstack_get_key(client, "x", "y", "rsa", &e, err, sizeof err) == DSTACK_EAGENT);
  CHECK(strstr(err, "HTTP 400") && strstr(err, "unsupported algorithm"));
}

static void test_quote_carries_report_data(void) {
  char err[256];
  uint8_t rd[64];
  for (int i = 0; i < 64; i++) rd[i] = (uint8_t)(i * 7 + 1);
  dstack_quote_reply r;
  CHECK_FATAL(dstack_get_quote(client, rd, 64, &r, err, sizeof err) == 0);
  tdx_quote q;
  CHECK_FATAL(tdx_quote_parse(&q, r.quote, r.quote_len, err, sizeof err) == 0);
  CHECK_EQ_MEM(q.report_data, rd, 64);
  dstack_quote_reply_free(&r);

  /* short report_data is zero-padded */
  CHECK_FATAL(dstack_get_quote(client, (const uint8_t *)"\xab\xcd", 2, &r, err, sizeof err) == 0);
  CHECK_FATAL(tdx_quote_parse(&q, r.quote, r.quote_len, err, sizeof err) == 0);
  uint8_t want[64] = {0xab, 0xcd};
  CHECK_EQ_MEM(q.report_data, want, 64);

  /* the event log replays to all four RTMRs, RTMR3 naming our compose file */
  dstack_event_log log;
  CHECK_FATAL(dstack_event_log_parse(&log, r.event_log, strlen(r.event_log), err, sizeof err) == 0);
  CHECK(dstack_event_log_check_quote(&log, &q, err, sizeof err) == 0);
  dstack_app_identity id;
  CHECK(dstack_event_log_identity(&log, &id, err, sizeof err) == 0);
  uint8_t h[32];
  char hex[65];
  SHA256((const uint8_t *)compose, sizeof compose - 1, h);
  xt_hex_encode(h, 32, hex);
  CHECK(!strcmp(id.compose_hash, hex));
  /* the app id stands for the DstackApp address (as in dstack 0.6), not the compose hash */
  CHECK(strlen(id.app_id) == 40 && strncmp(id.app_id, hex, 40) != 0);
  CHECK(!strcmp(id.key_provider_name, "kms") && strlen(id.key_provider_id) == 64);
  CHECK(strlen(id.os_image_hash) == 64 && !strcmp(id.storage_fs, "zfs"));
  for (size_t i = 0; i < log.n; i++)
    if (log.events[i].event_type == DSTACK_RUNTIME_EVENT_TYPE) CHECK(!log.events[i].digest_given);
  dstack_event_log_free(&log);

  /* and it never verifies as real */
  tdx_verdict v;
  CHECK(tdx_quote_verify(&q, NULL, time(NULL), &v) == TDX_SIMULATED);
  CHECK(!strcmp(v.status, "simulated"));
  dstack_quote_reply_free(&r);

  uint8_t big[65] = {0};
  CHECK(dstack_get_quote(client, big, 65, &r, err, sizeof err) == DSTACK_EARG);
}

static void test_info(void) {
  char err[256];
  dstack_info info;
  CHECK_FATAL(dstack_get_info(client, &info, err, sizeof err) == 0);
  uint8_t h[32];
  char hex[65];
  SHA256((const uint8_t *)compose, sizeof compose - 1, h);
  xt_hex_encode(h, 32, hex);
  CHECK(!strcmp(info.compose_hash, hex));
  CHECK(strncmp(info.app_id, hex, 40) != 0 && strlen(info.app_id) == 40);
  CHECK(strlen(info.instance_id) == 40);
  CHECK(!strcmp(info.app_name, "xordi-test"));
  CHECK(info.app_compose && !strcmp(info.app_compose, compose));
  CHECK(strstr(info.tcb_info, "\"rtmr3\"") != NULL);
  dstack_info_free(&info);
}

static void test_errors_are_clear(void) {
  char err[256], missing[300];
  snprintf(missing, sizeof missing, "%s/nope.sock", dir);
  dstack_client *c = dstack_client_new(missing, err, sizeof err);
  CHECK_FATAL(c);
  dstack_key k;
  CHECK(dstack_get_key(c, "a", "b", NULL, &k, err, sizeof err) == DSTACK_EAGENT);
  CHECK(strstr(err, "GetKey") && strstr(err, "nope.sock"));
  dstack_client_free(c);
}

static void test_binding_vectors(void) {
  uint8_t keys[52], out[64], want[32], zero[32] = {0};
  for (int i = 0; i < 52; i++) keys[i] = (uint8_t)i;
  dstack_boot_report_data("logd", keys, sizeof keys, out);
  CHECK(check_unhex("82fd1ea1e17d746fbbc43ad57f6ff89bfffa565eb191c45450f89c20aff19629", want, 32,
                    NULL) == 0);
  CHECK_EQ_MEM(out, want, 32);
  CHECK_EQ_MEM(out + 32, zero, 32);
  const char *cp = "example.com/log\n3\nabc=\n";
  dstack_checkpoint_report_data((const uint8_t *)cp, strlen(cp), out);
  CHECK(check_unhex("383fba91d2c95d3b8b4b272a4861fa8a0de3c8fb11e8d635bf8d46e2a7b06d53", want, 32,
                    NULL) == 0);
  CHECK_EQ_MEM(out, want, 32);
}

/* A boot quote from the simulator: accepted only as simulated, only with its binding,
 * its event log and the right compose hash. */
static void test_attestation_check(void) {
  char err[256], hex[65];
  uint8_t pub[32], rd[64], other[64];
  memset(pub, 0x5a, sizeof pub);
  dstack_boot_report_data("logd", pub, sizeof pub, rd);
  dstack_boot_report_data("collector", pub, sizeof pub, other);
  dstack_quote_reply r;
  CHECK_FATAL(dstack_get_quote(client, rd, 64, &r, err, sizeof err) == 0);
  uint8_t h[32];
  SHA256((const uint8_t *)compose, sizeof compose - 1, h);
  xt_hex_encode(h, 32, hex);
  dstack_attestation a;
  time_t now = time(NULL);
  size_t el = strlen(r.event_log);
  CHECK(dstack_check_attestation(r.quote, r.quote_len, r.event_log, el, NULL, now, rd, hex, true,
                                 &a) == 0);
  CHECK(a.accepted && a.report_data_ok && a.event_log_ok && !strcmp(a.app.compose_hash, hex));
  CHECK(!strcmp(a.verdict.status, "simulated"));
  CHECK(dstack_check_attestation(r.quote, r.quote_len, r.event_log, el, NULL, now, rd, hex, false,
                                 &a) == DSTACK_EREJECTED);
  CHECK(strstr(a.message, "simulated") != NULL);
  CHECK(dstack_check_attestation(r.quote, r.quote_len, r.event_log, el, NULL, now, other, hex,
                                 true, &a) != 0);
  CHECK(strstr(a.message, "REPORTDATA") != NULL);
  CHECK(dstack_check_attestation(r.quote, r.quote_len, NULL, 0, NULL, now, rd, hex, true, &a) !=
        0);
  CHECK(dstack_check_attestation(r.quote, r.quote_len, r.event_log, el, NULL, now, rd,
                                 "00000000000000000000000000000000000000000000000000000000000000"
                                 "00",
                                 true, &a) != 0);
  CHECK(strstr(a.message, "compose hash") != NULL);
  dstack_quote_reply_free(&r);
}

int main(void) {
  char err[256];
  if (start_sim() != 0) {
    fprintf(stdout, "not ok - dstack-sim did not start\n");
    stop_sim();
    return 1;
  }
  client = dstack_client_new(sock_path, err, sizeof err);
  if (!client) {
    fprintf(stdout, "not ok - client: %s\n", err);
    stop_sim();
    return 1;
  }
  CHECK_RUN(test_keys_deterministic_per_path);
  CHECK_RUN(test_quote_carries_report_data);
  CHECK_RUN(test_info);
  CHECK_RUN(test_errors_are_clear);
  CHECK_RUN(test_binding_vectors);
  CHECK_RUN(test_attestation_check);
  dstack_client_free(client);
  stop_sim();
  return check_finish();
}
