/* Tests for client/policy.c (the audit policy file) and codeid_check_platform (the
 * platform policy on one judged quote): the parts the end-to-end test
 * (tests/audit-policy.test.sh) cannot reach with the simulator, which always names a
 * "kms" key provider and whose quotes have no TCB status: a non-KMS key provider, TCB
 * statuses and advisories, MRCONFIGID forms. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/codeid.h"
#include "client/kms.h"
#include "client/policy.h"
#include "tests/lib/check.h"

#define H32(c) c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c /* 32 two-digit c */
#define H20(c) c c c c c c c c c c c c c c c c c c c c
#define H48(c) H32(c) c c c c c c c c c c c c c c c c

static const char honest[] =
    "{\"egress\":{\"allow\":[{\"endpoint\":\"watch_history\",\"method\":\"GET\",\"path\":\"/api/watch_history\","
    "\"host\":\"www.tiktok.com\"}]},"
    "\"releases\":[{\"compose_hash\":\"" H32("aa") "\",\"manifest_sha256\":\"" H32("bb") "\",\"commit\":\"" H32("cc")
    "\"}],"
    "\"platform\":{\"os_images\":[{\"os_image_hash\":\"" H32("11") "\",\"vm_shape\":\"2 vCPU\",\"mrtd\":\"" H48("21")
    "\",\"rtmr0\":\"" H48("30") "\",\"rtmr1\":\"" H48("31") "\",\"rtmr2\":\"" H48("32") "\"}],\"kms_id\":\"0abc\"},"
    "\"contracts\":{\"dstack_app\":{\"address\":\"0x" H20("0a") "\",\"implementations\":[]},"
    "\"dstack_kms\":{\"address\":\"0x" H20("0b") "\",\"implementations\":[],\"owners\":[]},\"anchor\":{}},"
    "\"max_anchor_gap\":3600}";

static audit_policy pol;
static char err[400];

static audit_policy_err parse(const char *text) {
  audit_policy_free(&pol);
  return audit_policy_parse(text, strlen(text), "test", &pol, err, sizeof err);
}

static void test_honest(void) {
  /* "commit" is 20 bytes: H32("cc") is 32, which must be refused; fix it up first. */
  char *t = strdup(honest);
  CHECK_FATAL(t);
  CHECK(parse(t) == AUDIT_POLICY_ERR_FORMAT);
  CHECK(strstr(err, "releases[].commit") != NULL);
  char *c = strstr(t, "\"commit\":\"") + 10;
  memmove(c + 40, c + 64, strlen(c + 64) + 1);
  audit_policy_err pe = parse(t);
  free(t);
  if (pe != AUDIT_POLICY_OK) printf("#   %s\n", err);
  CHECK_FATAL(pe == AUDIT_POLICY_OK);
  for (int s = 0; s < AUDIT_POLICY_SECTIONS; s++) CHECK(pol.has[s]);
  CHECK(pol.nrules == 1 && !strcmp(pol.rules[0].f[3], "www.tiktok.com"));
  uint8_t h[32], img[32], mrtd[48], rtmr[3][48];
  memset(h, 0xaa, 32);
  CHECK(audit_policy_release_of(&pol, h) != NULL);
  h[0] = 0;
  CHECK(audit_policy_release_of(&pol, h) == NULL);
  memset(img, 0x11, 32);
  memset(mrtd, 0x21, 48);
  for (int i = 0; i < 3; i++) memset(rtmr[i], 0x30 + i, 48);
  CHECK(audit_policy_image_match(&pol, img, mrtd, (const uint8_t(*)[48])rtmr) != NULL);
  rtmr[2][47] ^= 1;
  CHECK(audit_policy_image_match(&pol, img, mrtd, (const uint8_t(*)[48])rtmr) == NULL);
  CHECK(audit_policy_image_listed(&pol, img));
  CHECK(!strcmp(pol.kms_id, "0abc"));
  CHECK(pol.ntcb_statuses == 1 && !strcmp(pol.tcb_statuses[0], "UpToDate"));
}

static void test_refused(void) {
  static const char *const bad[] = {
      "[]",
      "{\"egres\":{}}",
      "{\"egress\":{\"allow\":[{\"endpoint\":\"x\"}]}}",        /* no host */
      "{\"egress\":{\"allow\":[]}}",
      "{\"releases\":[{\"compose_hash\":\"00\"}]}",
      "{\"platform\":{\"os_images\":[],\"kms_id\":\"00\"}}",
      "{\"contracts\":{\"dstack_app\":{\"address\":\"0x" H20("0a") "\",\"implementations\":[]}}}", /* no kms */
      "{\"contracts\":{\"dstack_app\":{\"address\":\"" H20("0a") "\",\"implementations\":[]},"
      "\"dstack_kms\":{\"address\":\"0x" H20("0b") "\",\"implementations\":[]}}}", /* no 0x */
      "{\"allow\":[{\"endpoint\":\"x\"}],\"releases\":[]}", /* the former format stands alone */
      "{\"egress\":{\"allow\":[{\"host\":\"a\"}]},\"egress\":{\"allow\":[{\"host\":\"b\"}]}}", /* duplicate */
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    audit_policy_err e = parse(bad[i]);
    if (e != AUDIT_POLICY_ERR_FORMAT) printf("#   accepted: %s\n", bad[i]);
    CHECK(e == AUDIT_POLICY_ERR_FORMAT);
  }
  /* The former format: egress alone, rules without host allowed. */
  CHECK(parse("{\"allow\":[{\"endpoint\":\"direct_messages\"}]}") == AUDIT_POLICY_OK);
  CHECK(pol.has[AUDIT_POLICY_EGRESS] && !pol.has[AUDIT_POLICY_RELEASES] && !pol.has[AUDIT_POLICY_PLATFORM]);
  /* No file: a built-in rule, but no section counts as published. */
  audit_policy_free(&pol);
  CHECK(audit_policy_load(NULL, &pol, err, sizeof err) == AUDIT_POLICY_OK);
  CHECK(pol.nrules == 1 && !pol.has[AUDIT_POLICY_EGRESS]);
  /* A policy file without egress: the same built-in rule, not an empty allowlist. */
  CHECK(parse("{\"ts_ms_tolerance_s\":60}") == AUDIT_POLICY_OK);
  CHECK(pol.nrules == 1 && !pol.has[AUDIT_POLICY_EGRESS] && !strcmp(pol.rules[0].f[0], "watch_history"));
}

static void test_tcb(void) {
  CHECK_FATAL(parse("{\"platform\":{\"os_images\":[{\"os_image_hash\":\"" H32("11") "\",\"vm_shape\":\"s\","
                    "\"mrtd\":\"" H48("21") "\",\"rtmr0\":\"" H48("30") "\",\"rtmr1\":\"" H48("31") "\",\"rtmr2\":\"" H48(
                        "32") "\"}],\"kms_id\":\"0abc\"}}") == AUDIT_POLICY_OK);
  char why[200];
  CHECK(audit_policy_tcb_allowed(&pol, "UpToDate", "", why, sizeof why));
  CHECK(!audit_policy_tcb_allowed(&pol, "OutOfDate", "", why, sizeof why));
  CHECK(strstr(why, "TCB status OutOfDate is not allowed") != NULL);
  CHECK(!audit_policy_tcb_allowed(&pol, "UpToDate", "INTEL-SA-00837", why, sizeof why));
  CHECK(strstr(why, "advisory INTEL-SA-00837") != NULL);
  CHECK_FATAL(parse("{\"platform\":{\"os_images\":[{\"os_image_hash\":\"" H32("11") "\",\"vm_shape\":\"s\","
                    "\"mrtd\":\"" H48("21") "\",\"rtmr0\":\"" H48("30") "\",\"rtmr1\":\"" H48("31") "\",\"rtmr2\":\"" H48(
                        "32") "\"}],\"kms_id\":\"0abc\",\"tcb\":{\"statuses\":[\"UpToDate\",\"SWHardeningNeeded\"],"
                              "\"advisories\":[\"INTEL-SA-00837\"]}}}") == AUDIT_POLICY_OK);
  CHECK(audit_policy_tcb_allowed(&pol, "SWHardeningNeeded", "INTEL-SA-00837", why, sizeof why));
  CHECK(!audit_policy_tcb_allowed(&pol, "SWHardeningNeeded", "INTEL-SA-00837,INTEL-SA-00615", why, sizeof why));
  CHECK(!audit_policy_tcb_allowed(&pol, "OutOfDate", "", why, sizeof why));
}

/* A judged quote that passes the platform of the policy parsed last. */
static void good_quote(codeid_result *r) {
  memset(r, 0, sizeof *r);
  r->status = CODEID_VERIFIED;
  snprintf(r->quote_status, sizeof r->quote_status, "UpToDate");
  snprintf(r->compose_hash, sizeof r->compose_hash, "%s", H32("aa"));
  snprintf(r->app_id, sizeof r->app_id, "%s", H32("0a") + 24);
  r->have_platform = true;
  memset(r->mrtd, 0x21, 48);
  for (int i = 0; i < 3; i++) memset(r->rtmr[i], 0x30 + i, 48);
  snprintf(r->os_image_hash, sizeof r->os_image_hash, "%s", H32("11"));
  snprintf(r->key_provider_name, sizeof r->key_provider_name, "kms");
  snprintf(r->key_provider_id, sizeof r->key_provider_id, "0ABC");
  r->mr_config_version = 1;
  snprintf(r->mr_config_hash, sizeof r->mr_config_hash, "%s", H32("aa"));
}

static void test_platform(void) {
  CHECK_FATAL(parse("{\"platform\":{\"os_images\":[{\"os_image_hash\":\"" H32("11") "\",\"vm_shape\":\"s\","
                    "\"mrtd\":\"" H48("21") "\",\"rtmr0\":\"" H48("30") "\",\"rtmr1\":\"" H48("31") "\",\"rtmr2\":\"" H48(
                        "32") "\"}],\"kms_id\":\"0abc\"}}") == AUDIT_POLICY_OK);
  uint8_t app[20];
  memset(app, 0x0a, 20);
  codeid_result r;
  char why[400];
  good_quote(&r);
  CHECK(codeid_check_platform(&r, &pol, app, why, sizeof why));
  r.status = CODEID_SIMULATED; /* simulated: judged by --allow-simulated, no TCB status */
  CHECK(codeid_check_platform(&r, &pol, app, why, sizeof why));
  good_quote(&r);
  snprintf(r.key_provider_name, sizeof r.key_provider_name, "local-sgx");
  CHECK(!codeid_check_platform(&r, &pol, app, why, sizeof why) && strstr(why, "key provider is \"local-sgx\", not kms"));
  good_quote(&r);
  snprintf(r.key_provider_name, sizeof r.key_provider_name, "none");
  CHECK(!codeid_check_platform(&r, &pol, app, why, sizeof why) && strstr(why, "not kms"));
  good_quote(&r);
  snprintf(r.quote_status, sizeof r.quote_status, "OutOfDate");
  CHECK(!codeid_check_platform(&r, &pol, app, why, sizeof why) && strstr(why, "TCB status OutOfDate"));
  good_quote(&r);
  snprintf(r.advisories, sizeof r.advisories, "INTEL-SA-00837");
  CHECK(!codeid_check_platform(&r, &pol, app, why, sizeof why) && strstr(why, "advisory INTEL-SA-00837"));
  good_quote(&r);
  r.status = CODEID_NOT_CHECKED; /* no collateral: the TCB status is unknown */
  CHECK(!codeid_check_platform(&r, &pol, app, why, sizeof why) && strstr(why, "TCB status is unknown"));
  good_quote(&r);
  r.mr_config_hash[0] = 'b';
  CHECK(!codeid_check_platform(&r, &pol, app, why, sizeof why) && strstr(why, "MRCONFIGID (form 1)"));
  good_quote(&r);
  r.mr_config_version = 0;
  CHECK(codeid_check_platform(&r, &pol, app, why, sizeof why));
  r.mr_config_version = 2;
  CHECK(!codeid_check_platform(&r, &pol, app, why, sizeof why) && strstr(why, "MRCONFIGID (form 2)"));
  good_quote(&r);
  app[19] ^= 1;
  CHECK(!codeid_check_platform(&r, &pol, app, why, sizeof why) && strstr(why, "is not the DstackApp address"));
  app[19] ^= 1;
  r.have_platform = false;
  CHECK(!codeid_check_platform(&r, &pol, app, why, sizeof why));
}

/* Each kind of KMS event against the honest policy of test_honest's shape. */
static void test_kms_events(void) {
  static const char text[] =
      "{\"releases\":[{\"compose_hash\":\"" H32("aa") "\",\"manifest_sha256\":\"" H32("bb") "\",\"commit\":\"" H20("cc")
      "\"}],"
      "\"platform\":{\"os_images\":[{\"os_image_hash\":\"" H32("11") "\",\"vm_shape\":\"s\",\"mrtd\":\"" H48("21")
      "\",\"rtmr0\":\"" H48("30") "\",\"rtmr1\":\"" H48("31") "\",\"rtmr2\":\"" H48("32") "\"}],\"kms_id\":\"0abc\"},"
      "\"contracts\":{\"dstack_app\":{\"address\":\"0x" H20("0a") "\",\"implementations\":[\"0x" H20("a1")
      "\"],\"owners\":[\"0x" H20("0e") "\"]},"
      "\"dstack_kms\":{\"address\":\"0x" H20("0b") "\",\"implementations\":[\"0x" H20("b1") "\"]}}}";
  CHECK_FATAL(parse(text) == AUDIT_POLICY_OK);
  kms_event e;
  char why[300];
  memset(&e, 0, sizeof e);
  e.kind = KMS_COMPOSE_HASH_ADDED;
  memset(e.word, 0xaa, 32);
  CHECK(!audit_policy_kms_event_bad(&pol, &e, why, sizeof why));
  e.word[31] = 0xab;
  CHECK(audit_policy_kms_event_bad(&pol, &e, why, sizeof why) && strstr(why, "releases do not list"));
  e.kind = KMS_COMPOSE_HASH_REMOVED; /* removing is never the danger */
  CHECK(!audit_policy_kms_event_bad(&pol, &e, why, sizeof why));
  e.kind = KMS_UPGRADED;
  memset(e.address, 0xa1, 20);
  CHECK(!audit_policy_kms_event_bad(&pol, &e, why, sizeof why));
  e.contract = KMS_CONTRACT_KMS; /* the app's implementation is not the KMS's */
  CHECK(audit_policy_kms_event_bad(&pol, &e, why, sizeof why) && strstr(why, "DstackKms upgraded"));
  memset(e.address, 0xb1, 20);
  CHECK(!audit_policy_kms_event_bad(&pol, &e, why, sizeof why));
  e.contract = KMS_CONTRACT_APP;
  e.kind = KMS_OWNERSHIP_TRANSFERRED; /* from no owner: the initialisation */
  memset(e.address, 0x77, 20);
  CHECK(!audit_policy_kms_event_bad(&pol, &e, why, sizeof why));
  memset(e.address2, 0x01, 20);
  CHECK(audit_policy_kms_event_bad(&pol, &e, why, sizeof why) && strstr(why, "ownership transferred"));
  e.kind = KMS_OWNERSHIP_TRANSFER_STARTED;
  CHECK(audit_policy_kms_event_bad(&pol, &e, why, sizeof why) && strstr(why, "transfer started"));
  memset(e.address, 0x0e, 20); /* a listed owner */
  CHECK(!audit_policy_kms_event_bad(&pol, &e, why, sizeof why));
  e.kind = KMS_ALLOW_ANY_DEVICE_SET;
  e.flag = 0;
  CHECK(!audit_policy_kms_event_bad(&pol, &e, why, sizeof why));
  e.flag = 1;
  CHECK(audit_policy_kms_event_bad(&pol, &e, why, sizeof why) && strstr(why, "AllowAnyDeviceSet(true)"));
  e.kind = KMS_OS_IMAGE_HASH_ADDED;
  e.contract = KMS_CONTRACT_KMS;
  memset(e.word, 0x11, 32);
  CHECK(!audit_policy_kms_event_bad(&pol, &e, why, sizeof why));
  e.word[0] = 0x12;
  CHECK(audit_policy_kms_event_bad(&pol, &e, why, sizeof why) && strstr(why, "allowed OS image"));
  e.kind = KMS_UNKNOWN;
  memset(e.topic0, 0x5e, 32);
  CHECK(audit_policy_kms_event_bad(&pol, &e, why, sizeof why) && strstr(why, "unknown signature (topic0 5e5e"));
  e.kind = KMS_DEVICE_ADDED;
  CHECK(!audit_policy_kms_event_bad(&pol, &e, why, sizeof why));
  /* The events dstack's contracts emit that the policy allows, each for its reason
   * (policy.c): none of them hands our keys to other code. */
  static const kms_event_kind allowed[] = {KMS_KMS_DEVICE_ADDED, KMS_KMS_DEVICE_REMOVED, KMS_APP_REGISTERED,
                                           KMS_APP_IMPLEMENTATION_SET, KMS_APP_DEPLOYED_VIA_FACTORY,
                                           KMS_KMS_INFO_SET, KMS_GATEWAY_APP_ID_SET, KMS_POLICY_CHANGED,
                                           KMS_UPGRADES_DISABLED, KMS_AGGREGATED_MR_REMOVED, KMS_DEVICE_REMOVED,
                                           KMS_OS_IMAGE_HASH_REMOVED, KMS_INITIALIZED};
  for (size_t i = 0; i < sizeof allowed / sizeof *allowed; i++) {
    e.kind = allowed[i];
    CHECK(!audit_policy_kms_event_bad(&pol, &e, why, sizeof why));
  }
  e.kind = KMS_REQUIRE_TCB_UP_TO_DATE_SET;
  e.flag = 1;
  CHECK(!audit_policy_kms_event_bad(&pol, &e, why, sizeof why));
  e.flag = 0; /* the policy admits UpToDate only (the default) */
  CHECK(audit_policy_kms_event_bad(&pol, &e, why, sizeof why) && strstr(why, "RequireTcbUpToDateSet(false)"));
  CHECK(audit_policy_tcb_up_to_date_only(&pol));
  memcpy(pol.tcb_statuses[pol.ntcb_statuses++], "OutOfDate", 10);
  CHECK(!audit_policy_tcb_up_to_date_only(&pol));
  CHECK(!audit_policy_kms_event_bad(&pol, &e, why, sizeof why));
  e.kind = KMS_AGGREGATED_MR_ADDED; /* no aggregated_mrs listed: every one fails */
  CHECK(audit_policy_kms_event_bad(&pol, &e, why, sizeof why) && strstr(why, "aggregated_mrs do not list"));
  e.kind = KMS_TCB_POLICY_SET;
  CHECK(audit_policy_kms_event_bad(&pol, &e, why, sizeof why) && strstr(why, "cannot evaluate"));
  /* No policy: only what no policy allows. */
  audit_policy_free(&pol);
  e.kind = KMS_COMPOSE_HASH_ADDED;
  CHECK(!audit_policy_kms_event_bad(&pol, &e, why, sizeof why));
  e.kind = KMS_UNKNOWN;
  CHECK(audit_policy_kms_event_bad(&pol, &e, why, sizeof why));
}

/* The collector builds: the release build alone without a "collector" member. */
static void test_collector_builds(void) {
  CHECK_FATAL(parse("{}") == AUDIT_POLICY_OK);
  CHECK(pol.collector_builtin);
  CHECK(audit_policy_collector_allowed(&pol, "release", "GET www.tiktok.com/api/watch_history"));
  CHECK(!audit_policy_collector_allowed(&pol, "test", "GET www.tiktok.com/api/watch_history"));
  CHECK(!audit_policy_collector_allowed(&pol, "release", "GET 127.0.0.1:9/api/watch_history"));
  CHECK(!audit_policy_collector_allowed(&pol, NULL, "GET www.tiktok.com/api/watch_history"));
  audit_policy_free(&pol);
  CHECK_FATAL(parse("{\"collector\":{\"builds\":[{\"build\":\"test\",\"egress\":\"GET 127.0.0.1:9/api/watch_history\"}]}}") ==
              AUDIT_POLICY_OK);
  CHECK(!pol.collector_builtin);
  CHECK(audit_policy_collector_allowed(&pol, "test", "GET 127.0.0.1:9/api/watch_history"));
  CHECK(!audit_policy_collector_allowed(&pol, "release", "GET www.tiktok.com/api/watch_history"));
  audit_policy_free(&pol);
  CHECK(parse("{\"collector\":{\"builds\":[]}}") == AUDIT_POLICY_ERR_FORMAT);
  audit_policy_free(&pol);
  CHECK(parse("{\"collector\":{\"builds\":[{\"build\":\"test\"}]}}") == AUDIT_POLICY_ERR_FORMAT);
  audit_policy_free(&pol);
  CHECK(parse("{\"collector\":{\"builds\":[{\"build\":\"test\",\"egress\":\"x\",\"host\":\"y\"}]}}") ==
        AUDIT_POLICY_ERR_FORMAT);
  audit_policy_free(&pol);
}

int main(void) {
  CHECK_RUN(test_honest);
  CHECK_RUN(test_refused);
  CHECK_RUN(test_tcb);
  CHECK_RUN(test_platform);
  CHECK_RUN(test_kms_events);
  CHECK_RUN(test_collector_builds);
  audit_policy_free(&pol);
  return check_finish();
}
