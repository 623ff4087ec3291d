/* Tests for client/evidence.c: the policy keys it reads (absent, present, wrong shape)
 * and ts_ms taken from canonical entries only. The chain parts are tested end to end
 * in tests/audit-evidence.test.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/evidence.h"
#include "tests/lib/check.h"

static int ts(const char *s, uint64_t *v) { return evidence_entry_ts_ms((const uint8_t *)s, strlen(s), v); }

static void test_ts_ms(void) {
  uint64_t v = 0;
  CHECK(ts("{\"event\":{\"type\":\"x\"},\"submitter\":\"a\",\"ts_ms\":1767225600123,\"v\":1}", &v) == 0);
  CHECK(v == UINT64_C(1767225600123));
  CHECK(ts("{\"event\":{},\"ts_ms\":0,\"v\":1}", &v) == 0 && v == 0);
  CHECK(ts("{\"event\":{},\"ts_ms\":12,\"v\":2}", &v) < 0);         /* another version */
  CHECK(ts("{\"event\":{},\"ts_ms\":012,\"v\":1}", &v) < 0);        /* not canonical */
  CHECK(ts("{\"event\":{},\"xts_ms\":12,\"v\":1}", &v) < 0);        /* another key */
  CHECK(ts("{\"event\":{},\"ts_ms\":,\"v\":1}", &v) < 0);           /* no digits */
  CHECK(ts("{\"event\":{},\"ts_ms\":99999999999999999999,\"v\":1}", &v) < 0);    /* over 64 bits */
  CHECK(ts(",\"v\":1}", &v) < 0);
}

static char path[64];

static evidence_err load(const char *json, evidence_policy *p, char *err, size_t cap) {
  FILE *f = fopen(path, "w");
  if (!f) {
    CHECK(f != NULL);
    return EVIDENCE_ERR_NOMEM; /* never EVIDENCE_OK: the case fails */
  }
  fputs(json, f);
  fclose(f);
  return evidence_policy_load(path, p, err, cap);
}

static void test_policy(void) {
  evidence_policy p;
  char err[300];
  snprintf(path, sizeof path, "/tmp/test-evidence-%d.json", (int)getpid());
  CHECK(evidence_policy_load(NULL, &p, err, sizeof err) == EVIDENCE_OK && !p.has_anchor && !p.has_max_anchor_gap);
  CHECK(load("{\"allow\":[]}", &p, err, sizeof err) == EVIDENCE_OK && !p.has_anchor && !p.has_ts_tolerance);
  CHECK(load("{\"contracts\":{\"anchor\":{\"address\":\"0x5FbDB2315678afecb367f032d93F642f64180aa3\","
             "\"bytecode_hash\":\"0x00000000000000000000000000000000000000000000000000000000000000ff\","
             "\"deployment_block\":17}},\"max_anchor_gap\":600,\"ts_ms_tolerance_s\":\"120\"}",
             &p, err, sizeof err) == EVIDENCE_OK);
  CHECK(p.has_anchor && p.anchor_address[0] == 0x5f && p.anchor_address[19] == 0xa3);
  CHECK(p.has_bytecode_hash && p.bytecode_hash[31] == 0xff && p.bytecode_hash[0] == 0);
  CHECK(p.has_deployment_block && p.deployment_block == 17);
  CHECK(p.has_max_anchor_gap && p.max_anchor_gap == 600 && p.has_ts_tolerance && p.ts_ms_tolerance_s == 120);
  CHECK(load("{\"contracts\":{\"anchor\":{\"address\":\"0x12\"}}}", &p, err, sizeof err) == EVIDENCE_ERR_POLICY);
  CHECK(strstr(err, "contracts.anchor") != NULL);
  CHECK(load("{\"contracts\":{\"anchor\":{\"address\":\"0x5FbDB2315678afecb367f032d93F642f64180aa3\","
             "\"bytecode_hash\":\"0x12\"}}}", &p, err, sizeof err) == EVIDENCE_ERR_POLICY);
  CHECK(load("{\"max_anchor_gap\":0}", &p, err, sizeof err) == EVIDENCE_ERR_POLICY);
  CHECK(load("{\"max_anchor_gap\":-5}", &p, err, sizeof err) == EVIDENCE_ERR_POLICY);
  CHECK(load("{\"ts_ms_tolerance_s\":1.5}", &p, err, sizeof err) == EVIDENCE_ERR_POLICY);
  CHECK(load("{\"max_anchor_gap\":1,\"max_anchor_gap\":2}", &p, err, sizeof err) == EVIDENCE_ERR_POLICY);
  CHECK(load("not json", &p, err, sizeof err) == EVIDENCE_ERR_POLICY);
  unlink(path);
}

int main(void) {
  CHECK_RUN(test_ts_ms);
  CHECK_RUN(test_policy);
  return check_finish();
}
