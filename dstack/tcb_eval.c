/* tcb_eval.c: Intel's TCB evaluation rules for TDX (as its quote verification library
 * applies them): QE identity, TDX module identity, platform TCB level matching (SGX
 * components from the PCK certificate, TDX components from the quote's TEE TCB SVN),
 * TD 1.5 relaunch advice, and how the statuses converge. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "dstack/tdx_internal.h"

tcb_status tdx_converge(tcb_status platform, tcb_status other) {
  if (other == ST_REVOKED) return ST_REVOKED;
  if (other == ST_OUT_OF_DATE) {
    if (platform == ST_UP_TO_DATE || platform == ST_SW_HARDENING_NEEDED) return ST_OUT_OF_DATE;
    if (platform == ST_CONFIGURATION_NEEDED || platform == ST_CONFIGURATION_AND_SW_HARDENING_NEEDED)
      return ST_OUT_OF_DATE_CONFIGURATION_NEEDED;
  }
  return platform;
}

static const isv_level *match_isv_level(const isv_level *levels, size_t n, uint16_t svn) {
  for (size_t i = 0; i < n; i++)
    if (svn >= levels[i].isvsvn) return &levels[i];
  return NULL;
}


void tdx_read_qe_report(const uint8_t r[TDX_QE_REPORT_LEN], qe_report_fields *f) {
  f->miscselect = le32(r + 16);
  memcpy(f->attributes, r + 48, 16);
  memcpy(f->mrsigner, r + 128, 32);
  f->isvprodid = le16(r + 256);
  f->isvsvn = le16(r + 258);
  memcpy(f->report_data, r + 320, 64);
}

int tdx_check_qe_identity(const tdx_collateral *c, const qe_report_fields *f,
                             tcb_status *qe_status, char *err, size_t errlen) {
  if ((f->miscselect & c->qe_miscselect_mask) != c->qe_miscselect) {
    xt_errf(err, errlen, "QE identity mismatch: MISCSELECT");
    return -1;
  }
  for (int i = 0; i < 16; i++) {
    if ((f->attributes[i] & c->qe_attributes_mask[i]) != c->qe_attributes[i]) {
      xt_errf(err, errlen, "QE identity mismatch: attributes");
      return -1;
    }
  }
  if (memcmp(f->mrsigner, c->qe_mrsigner, 32) != 0) {
    xt_errf(err, errlen, "QE identity mismatch: MRSIGNER");
    return -1;
  }
  if (f->isvprodid != c->qe_isvprodid) {
    xt_errf(err, errlen, "QE identity mismatch: ISVPRODID %u (want %u)", f->isvprodid,
            c->qe_isvprodid);
    return -1;
  }
  const isv_level *lv = match_isv_level(c->qe_levels, c->n_qe_levels, f->isvsvn);
  if (!lv) {
    xt_errf(err, errlen, "QE ISVSVN %u is below every QE identity TCB level", f->isvsvn);
    return -1;
  }
  *qe_status = lv->status;
  return 0;
}

/* The TDX module: version 0 is checked against tdxModule, others against the identity
 * "TDX_<version as two hex digits>" whose TCB levels give the module's status. */
int tdx_check_tdx_module(const tdx_collateral *c, const tdx_quote *q, tcb_status *status,
                            char *err, size_t errlen) {
  uint8_t version = q->tee_tcb_svn[1], isvsvn = q->tee_tcb_svn[0];
  const uint8_t *mrsigner, *attributes, *mask;
  *status = ST_UP_TO_DATE;
  if (version == 0) {
    if (!c->has_tdx_module) {
      xt_errf(err, errlen, "tcb_info has no tdxModule");
      return -1;
    }
    mrsigner = c->tdx_module_mrsigner;
    attributes = c->tdx_module_attributes;
    mask = c->tdx_module_attributes_mask;
  } else {
    char want[16];
    snprintf(want, sizeof want, "TDX_%02X", version);
    const module_identity *mi = NULL;
    for (size_t i = 0; i < c->n_modules && !mi; i++)
      if (!strcasecmp(c->modules[i].id, want)) mi = &c->modules[i];
    if (!mi) {
      xt_errf(err, errlen, "no TDX module identity %s in tcb_info", want);
      return -1;
    }
    const isv_level *lv = match_isv_level(mi->levels, mi->n_levels, isvsvn);
    if (!lv) {
      xt_errf(err, errlen, "TDX module %s SVN %u is below every TCB level", want, isvsvn);
      return -1;
    }
    *status = lv->status;
    mrsigner = mi->mrsigner;
    attributes = mi->attributes;
    mask = mi->attributes_mask;
  }
  if (memcmp(q->mrsignerseam, mrsigner, 48) != 0) {
    xt_errf(err, errlen, "TDX module MRSIGNERSEAM does not match tcb_info");
    return -1;
  }
  for (int i = 0; i < 8; i++) {
    if ((q->seam_attributes[i] & mask[i]) != attributes[i]) {
      xt_errf(err, errlen, "TDX module SEAM attributes do not match tcb_info");
      return -1;
    }
  }
  return 0;
}

/* Picks the first (highest) level whose SGX components and PCESVN the PCK certificate
 * meets, then the first at or after it whose TDX components the TEE TCB SVN meets (its
 * first two bytes are the module's SVN and version when the version is non-zero, and
 * are judged by the module identity instead). */
const platform_level *tdx_match_platform_level(const tdx_collateral *c, const pck_tcb *t,
                                                  const uint8_t tee_tcb_svn[16],
                                                  const platform_level **sgx_level, char *err,
                                                  size_t errlen) {
  bool sgx_matched = false;
  for (size_t i = 0; i < c->n_levels; i++) {
    const platform_level *lv = &c->levels[i];
    bool ok = t->pcesvn >= lv->pcesvn;
    for (int k = 0; k < 16 && ok; k++) ok = t->sgx[k] >= lv->sgx[k];
    if (!ok) continue;
    if (!sgx_matched) *sgx_level = lv;
    sgx_matched = true;
    for (int k = tee_tcb_svn[1] > 0 ? 2 : 0; k < 16 && ok; k++) ok = tee_tcb_svn[k] >= lv->tdx[k];
    if (ok) return lv;
  }
  xt_errf(err, errlen, "%s TCB is below every TCB level of tcb_info (TCB not supported)",
          sgx_matched ? "TDX" : "SGX/PCE");
  return NULL;
}

static bool configuration_needed(tcb_status s) {
  return s == ST_CONFIGURATION_NEEDED || s == ST_OUT_OF_DATE_CONFIGURATION_NEEDED ||
         s == ST_CONFIGURATION_AND_SW_HARDENING_NEEDED ||
         s == ST_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED;
}

/* TD 1.5: an out-of-date TD on a platform whose SGX side and QE are current, running on
 * an out-of-date module while the platform has since been updated (TEE TCB SVN2 reaches
 * the latest level), only needs a relaunch. */
int tdx_check_relaunch(const tdx_collateral *c, const uint8_t svn2[16], tcb_status sgx,
                          tcb_status module, tcb_status qe, tcb_status *st, char *err,
                          size_t errlen) {
  if (qe == ST_OUT_OF_DATE || qe == ST_REVOKED) return 0;
  if (!(sgx == ST_UP_TO_DATE || sgx == ST_SW_HARDENING_NEEDED || sgx == ST_CONFIGURATION_NEEDED ||
        sgx == ST_CONFIGURATION_AND_SW_HARDENING_NEEDED))
    return 0;
  if (!(*st == ST_OUT_OF_DATE || *st == ST_OUT_OF_DATE_CONFIGURATION_NEEDED)) return 0;
  if (module != ST_OUT_OF_DATE) return 0;
  const platform_level *latest = &c->levels[0];
  bool updated;
  if (svn2[1] == 0) {
    updated = svn2[0] >= latest->tdx[0] && svn2[2] >= latest->tdx[2];
  } else {
    char want[16];
    snprintf(want, sizeof want, "TDX_%02X", svn2[1]);
    const module_identity *mi = NULL;
    for (size_t i = 0; i < c->n_modules && !mi; i++)
      if (!strcasecmp(c->modules[i].id, want)) mi = &c->modules[i];
    if (!mi) {
      xt_errf(err, errlen, "no TDX module identity %s (TEE TCB SVN2) in tcb_info", want);
      return -1;
    }
    updated = svn2[0] >= mi->levels[0].isvsvn && svn2[2] >= latest->tdx[2];
  }
  if (updated)
    *st = configuration_needed(sgx) || configuration_needed(*st)
              ? ST_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED
              : ST_TD_RELAUNCH_ADVISED;
  return 0;
}
