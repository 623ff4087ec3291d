/* logd_fixture.h: starts a real logd on 127.0.0.1 in a temp dir for tests. */
#ifndef XT_TESTS_LOGD_FIXTURE_H
#define XT_TESTS_LOGD_FIXTURE_H

#include <jansson.h>
#include <limits.h>
#include <stdint.h>

#include "merkle/merkle.h"
#include "merkle/note.h"
#include "tests/lib/http.h"
#include "tests/lib/proc.h"

typedef struct logd_fx {
  proc p;
  char dir[PATH_MAX];
  char log[PATH_MAX + 32];
  unsigned port;
  char base[64];
  char token[128];
  char vkey[512];
  note_verifier verifier;
  const char *extra[16];
} logd_fx;

#define FX_ORIGIN "example.org/xordi/test"

/* Makes a temp dir and starts logd (--dev, interval 50 ms unless extra says). */
int fx_start(logd_fx *fx, const char *const extra[]);
/* Restarts in the same dir and port with the same extra args. */
int fx_restart(logd_fx *fx);
int fx_stop(logd_fx *fx);
void fx_destroy(logd_fx *fx);

/* GET base+path into r; returns status. */
long fx_get(logd_fx *fx, const char *path, http_resp *r);
/* POST with the dev token; returns status. */
long fx_post(logd_fx *fx, const char *path, const char *body, http_resp *r);
/* Parsed JSON body, or NULL. */
json_t *fx_json(const http_resp *r);
/* Fetches and verifies /checkpoint; 0 on success. note (optional) malloc'd. */
int fx_checkpoint(logd_fx *fx, checkpoint *c, char **note);
int fx_unhex(const char *hex, uint8_t *out, size_t n);

#endif
