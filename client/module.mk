# tlogcore: the client library under the tlog commands (tlog/) and the test tools and
# fuzzers that read logs: log sources over HTTP or a directory (fetch), checkpoints and
# keys (common), anchors from the chain or anchors.json (anchors), replay of entries to
# roots (replay), the audit's entry scanner (entryscan), code identity from TDX quotes
# (codeid), a DstackApp's KMS history (kms), the collector's users and signed user
# counts (usercount) and the collateral archive (collateral). Programs linking it also
# link anchor, dstack and merkle, in that order.
LIBS += tlogcore
tlogcore_SRCS := client/fetch.c client/common.c client/anchors.c client/replay.c \
                 client/entryscan.c client/codeid.c client/kms.c client/usercount.c \
                 client/collateral.c client/policy.c
tlogcore_PKGS := libcurl jansson libcrypto libsecp256k1

# collateral over time (client/collateral.h) on the real test collateral
TESTS += test-collateral-archive
test-collateral-archive_SRCS := tests/unit/test_collateral_archive.c
test-collateral-archive_LIBS := tlogcore anchor dstack merkle check

TESTS += test-entryscan
test-entryscan_SRCS := tests/unit/test_entryscan.c
test-entryscan_LIBS := tlogcore check

TESTS += test-usercount
test-usercount_SRCS := tests/unit/test_usercount.c
test-usercount_LIBS := tlogcore anchor dstack merkle check
test-usercount_PKGS := jansson libcrypto

TESTS += test-policy
test-policy_SRCS := tests/unit/test_policy.c
test-policy_LIBS := tlogcore anchor dstack merkle check

# Test tool: writes a static tiled log (checkpoint, tiles, bundles) from the merkle
# module alone, for tests/tlog.test.sh and bench/audit.
TOOLS += tlog-mklog
tlog-mklog_SRCS := tests/tlog_mklog.c
tlog-mklog_LIBS := merkle

# Test tool: anchors a static log directory's checkpoints on chain (chain tests).
TOOLS += tlog-anchor-dir
tlog-anchor-dir_SRCS := tests/tlog_anchor_dir.c
tlog-anchor-dir_LIBS := tlogcore anchor dstack merkle

# The audit's evidence checks (issue 14 items 3 and 4).
tlogcore_SRCS += client/evidence.c
TESTS += test-evidence
test-evidence_SRCS := tests/unit/test_evidence.c
test-evidence_LIBS := tlogcore anchor dstack merkle check
