#include "tests/integration/logd_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int launch(logd_fx *fx) {
  char port[16], listen[64];
  snprintf(port, sizeof port, "%u", fx->port);
  snprintf(listen, sizeof listen, "127.0.0.1:%u", fx->port);
  const char *argv[40] = {"bin/logd", "--data", fx->dir, "--listen", listen, "--origin", FX_ORIGIN,
                          "--dev"};
  int n = 8;
  int has_interval = 0;
  for (int i = 0; fx->extra[i] && n < 36; i++) {
    if (!strcmp(fx->extra[i], "--checkpoint-interval-ms")) has_interval = 1;
    argv[n++] = fx->extra[i];
  }
  if (!has_interval) {
    argv[n++] = "--checkpoint-interval-ms";
    argv[n++] = "50";
  }
  argv[n] = NULL;
  char bin[PATH_MAX];
  const char *b = getenv("BIN");
  snprintf(bin, sizeof bin, "%s/logd", b && *b ? b : "bin");
  argv[0] = bin;
  if (proc_spawn(&fx->p, argv, NULL, NULL, fx->log, 1)) return -1;
  if (proc_wait_port(&fx->p, "127.0.0.1", fx->port, 15000)) return -1;
  return 0;
}

int fx_start(logd_fx *fx, const char *const extra[]) {
  memset(fx, 0, sizeof *fx);
  for (int i = 0; extra && extra[i] && i < 15; i++) fx->extra[i] = extra[i];
  if (proc_tmpdir("xt-logd", fx->dir, sizeof fx->dir)) return -1;
  snprintf(fx->log, sizeof fx->log, "%s.log", fx->dir);
  for (int attempt = 0; attempt < 5; attempt++) {
    fx->port = proc_free_port();
    snprintf(fx->base, sizeof fx->base, "http://127.0.0.1:%u", fx->port);
    if (launch(fx) == 0) break;
    proc_kill9(&fx->p);
    if (attempt == 4) return -1;
  }
  char path[PATH_MAX + 32];
  snprintf(path, sizeof path, "%s/dev-token", fx->dir);
  char *t = proc_read_file(path, NULL);
  snprintf(path, sizeof path, "%s/verifier-key", fx->dir);
  char *v = proc_read_file(path, NULL);
  if (!t || !v) {
    free(t), free(v);
    return -1;
  }
  t[strcspn(t, "\n")] = 0;
  v[strcspn(v, "\n")] = 0;
  snprintf(fx->token, sizeof fx->token, "%s", t);
  snprintf(fx->vkey, sizeof fx->vkey, "%s", v);
  free(t), free(v);
  char err[200];
  return note_verifier_parse(&fx->verifier, fx->vkey, strlen(fx->vkey), err, sizeof err);
}

int fx_restart(logd_fx *fx) {
  if (fx->p.pid) proc_stop(&fx->p, 10000);
  return launch(fx);
}

int fx_stop(logd_fx *fx) { return proc_stop(&fx->p, 10000); }

void fx_destroy(logd_fx *fx) {
  proc_kill9(&fx->p);
  if (!getenv("XT_KEEP")) {
    proc_rmtree(fx->dir);
    remove(fx->log);
  }
}

long fx_get(logd_fx *fx, const char *path, http_resp *r) {
  char url[4096];
  snprintf(url, sizeof url, "%s%s", fx->base, path);
  http_get(url, r);
  return r->status;
}

long fx_post(logd_fx *fx, const char *path, const char *body, http_resp *r) {
  char url[4096];
  snprintf(url, sizeof url, "%s%s", fx->base, path);
  http_post(url, fx->token, body, strlen(body), r);
  return r->status;
}

json_t *fx_json(const http_resp *r) {
  return json_loadb(r->body, r->len, 0, NULL);
}

int fx_checkpoint(logd_fx *fx, checkpoint *c, char **note) {
  http_resp r;
  if (fx_get(fx, "/checkpoint", &r) != 200) {
    http_resp_free(&r);
    return -1;
  }
  char err[200];
  int rc = checkpoint_open(&fx->verifier, r.body, r.len, c, err, sizeof err);
  if (rc == 0 && note) {
    *note = r.body;
    r.body = NULL;
  }
  http_resp_free(&r);
  return rc;
}

int fx_unhex(const char *hex, uint8_t *out, size_t n) {
  if (strlen(hex) != 2 * n) return -1;
  for (size_t i = 0; i < 2 * n; i++) {
    char ch = hex[i];
    int v = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
    if (v < 0) return -1;
    out[i / 2] = (uint8_t)(i % 2 ? out[i / 2] << 4 | v : v);
  }
  return 0;
}
