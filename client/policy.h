/* policy.h: the audit policy an auditor publishes (SPEC.md section 6.3, "Audit
 * policy"): one JSON file saying what they trust, in sections
 *   egress     the api_call intents allowed (rules of endpoint, method, path, host);
 *   releases   every reviewed compose hash, with its release manifest digest and commit;
 *   platform   the OS images (os_image_hash with the MRTD and RTMR0-2 it gives), the KMS
 *              the key provider must name, the TCB statuses and advisories allowed;
 *   contracts  the DstackApp and DstackKms addresses, the implementations and owners
 *              allowed behind them.
 * A section that is absent is recorded as absent (the audit then ends INCOMPLETE, naming
 * what it could not check), never replaced by a default: only egress has a built-in
 * default, for the intents check alone. */
#ifndef XT_CLIENT_POLICY_H
#define XT_CLIENT_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum audit_policy_err {
  AUDIT_POLICY_OK = 0,
  AUDIT_POLICY_ERR_IO,     /* the file could not be read */
  AUDIT_POLICY_ERR_FORMAT, /* not the format of SPEC.md (err names the member) */
  AUDIT_POLICY_ERR_NOMEM
} audit_policy_err;

/* Returns a static name for e; never NULL. */
const char *audit_policy_err_str(audit_policy_err e);

typedef enum audit_policy_section {
  AUDIT_POLICY_EGRESS = 0,
  AUDIT_POLICY_RELEASES,
  AUDIT_POLICY_PLATFORM,
  AUDIT_POLICY_CONTRACTS,
  AUDIT_POLICY_SECTIONS
} audit_policy_section;

/* Returns the section's JSON key ("egress", ...); never NULL. */
const char *audit_policy_section_name(audit_policy_section s);

/* Rule fields, in this order: endpoint, method, path, host. */
#define AUDIT_POLICY_RULE_FIELDS 4
extern const char *const audit_policy_rule_keys[AUDIT_POLICY_RULE_FIELDS];

typedef struct audit_policy_rule {
  char *f[AUDIT_POLICY_RULE_FIELDS]; /* owned; NULL = any value */
} audit_policy_rule;

typedef struct audit_policy_release {
  uint8_t compose_hash[32];
  char manifest_sha256[65]; /* lowercase hex */
  char commit[41];          /* lowercase hex */
} audit_policy_release;

typedef struct audit_policy_image {
  uint8_t os_image_hash[32];
  char vm_shape[64]; /* free text naming the VM shape the values are for */
  uint8_t mrtd[48];
  uint8_t rtmr[3][48]; /* RTMR0, RTMR1, RTMR2 */
} audit_policy_image;

typedef struct audit_policy_contract {
  bool set;
  uint8_t address[20];
  uint8_t (*impls)[20]; /* allowed implementation addresses (owned) */
  size_t nimpls;
  uint8_t (*owners)[20]; /* owners it may be handed to after initialisation (owned) */
  size_t nowners;
  bool has_created_block; /* "created_block": the block the contract was created in, so */
  uint64_t created_block; /* a node without old state need not search for it */
  uint8_t (*mrs)[32];     /* dstack_kms "aggregated_mrs": the KMS measurements it may allow */
  size_t nmrs;
} audit_policy_contract;

#define AUDIT_POLICY_MAX_NAMES 32

/* One collector build the policy allows: the boot entry's "build" ("release" or "test")
 * and "egress" ("GET <host><path>", the destination compiled into that build). */
typedef struct audit_policy_collector_build {
  char build[32];
  char egress[256];
} audit_policy_collector_build;

/* Without a "collector" member the policy allows the production collector alone (SPEC.md
 * 6.4: the release build, whose only egress is compiled in). */
#define AUDIT_POLICY_RELEASE_BUILD "release"
#define AUDIT_POLICY_RELEASE_EGRESS "GET www.tiktok.com/api/watch_history"

typedef struct audit_policy {
  bool has[AUDIT_POLICY_SECTIONS]; /* which sections the file holds */
  audit_policy_rule *rules;        /* egress (the built-in default when no file) */
  size_t nrules;
  audit_policy_release *releases;
  size_t nreleases;
  audit_policy_image *images;
  size_t nimages;
  char kms_id[520]; /* the key provider id the quotes must name, lowercase hex */
  char tcb_statuses[AUDIT_POLICY_MAX_NAMES][48]; /* default: "UpToDate" only */
  size_t ntcb_statuses;
  char advisories[AUDIT_POLICY_MAX_NAMES][48]; /* advisory ids allowed (default none) */
  size_t nadvisories;
  audit_policy_contract app, kms; /* DstackApp, DstackKms */
  /* "collector": {"builds": [{build, egress}]}: the collector builds whose boot entries
   * pass; collector_builtin when the file has no such member (the release build alone) */
  audit_policy_collector_build collector[AUDIT_POLICY_MAX_NAMES];
  size_t ncollector;
  bool collector_builtin;
  char source[300];               /* the file, or "built-in ..." */
} audit_policy;

/* Loads the policy file at path into *p (out; the caller frees it with
 * audit_policy_free, also after a failure). path NULL: the built-in egress rule (GET of
 * the watch-history path) and no other section. A file whose top level has "allow"
 * instead of "egress" is read as an egress section of the former format (rules without
 * host allowed) and nothing else. Returns AUDIT_POLICY_OK, or an error with err set. */
audit_policy_err audit_policy_load(const char *path, audit_policy *p, char *err, size_t errcap)
    __attribute__((warn_unused_result));
/* Parses the len bytes of policy JSON text the same way; source names it in reports. */
audit_policy_err audit_policy_parse(const char *text, size_t len, const char *source, audit_policy *p,
                                    char *err, size_t errcap) __attribute__((warn_unused_result));
void audit_policy_free(audit_policy *p);

/* Returns the release entry of compose_hash, or NULL when the policy does not list it. */
const audit_policy_release *audit_policy_release_of(const audit_policy *p, const uint8_t compose_hash[32]);
/* Returns whether addr is one of the n addresses in list. */
bool audit_policy_addr_in(const uint8_t (*list)[20], size_t n, const uint8_t addr[20]);
/* Returns whether os_image_hash is named by some platform entry. */
bool audit_policy_image_listed(const audit_policy *p, const uint8_t os_image_hash[32]);
/* Returns the platform entry whose image hash and MRTD, RTMR0-2 all equal the given
 * ones, or NULL. */
const audit_policy_image *audit_policy_image_match(const audit_policy *p, const uint8_t os_image_hash[32],
                                                   const uint8_t mrtd[48], const uint8_t rtmr[3][48]);
/* Returns whether a verified quote's TCB status is allowed and every advisory id in
 * advisories (comma-separated, may be "") is listed; on false, why (into why, cap bytes). */
bool audit_policy_tcb_allowed(const audit_policy *p, const char *status, const char *advisories, char *why,
                              size_t cap);

/* Returns whether a collector boot entry naming build and egress (either may be NULL:
 * the entry has no such field, which no policy allows) is one of p's collector builds. */
bool audit_policy_collector_allowed(const audit_policy *p, const char *build, const char *egress);

/* Returns whether p's TCB rule admits only UpToDate quotes (then the app must require
 * UpToDate of every machine the KMS gives its keys to). */
bool audit_policy_tcb_up_to_date_only(const audit_policy *p);

/* Judges one event of the KMS contracts' history (client/kms.h) against p. Keys never
 * change across versions, so anything allowed once counts, even if removed before it
 * booted: an event breaks the policy when it is a ComposeHashAdded of a hash the releases
 * do not list, an Upgraded to an implementation the contract's entry does not list, an
 * OwnershipTransferStarted/Transferred after initialisation (from a non-zero owner) to an
 * owner it does not list, AllowAnyDeviceSet(true), an OsImageHashAdded of an image the
 * platform does not list, a KmsAggregatedMrAdded of a measurement contracts.dstack_kms
 * .aggregated_mrs does not list, RequireTcbUpToDateSet(false) while the platform admits
 * UpToDate alone, a TcbPolicySet (a rule this audit cannot read), or of an unknown
 * signature; every other event is allowed, each for the reason policy.c gives. A section p lacks judges nothing
 * (the audit says INCOMPLETE instead). Returns true with the reason in why (cap bytes:
 * contract, event and argument, without block or transaction), else false. */
struct kms_event;
bool audit_policy_kms_event_bad(const audit_policy *p, const struct kms_event *e, char *why, size_t cap);

#endif
