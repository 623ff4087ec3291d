# tlog: the auditor's and monitor's CLI. Command files add themselves to tlog_SRCS
# with +=, and the libraries they need to tlog_LIBS.
BINS += tlog
tlog_SRCS += client/tlog.c
tlog_LIBS += merkle
tlog_PKGS += libcrypto

# Log reading: sources (HTTP or directory), shared helpers, and the verifying commands.
tlog_SRCS += client/fetch.c client/common.c client/cmd_checkpoint.c client/cmd_inclusion.c \
             client/cmd_consistency.c client/cmd_entries.c
tlog_PKGS += libcurl jansson

# Test tool: writes a static tiled log (checkpoint, tiles, bundles) from the merkle
# module alone, for tests/tlog.test.sh and bench/audit.
TOOLS += tlog-mklog
tlog-mklog_SRCS := tests/tlog_mklog.c
tlog-mklog_LIBS := merkle

# Replay (entries recomputed to roots), anchors (chain or anchors.json), bundles.
tlog_SRCS += client/replay.c client/anchors.c client/cmd_export.c
tlog_LIBS += anchor

# tlog audit
tlog_SRCS += client/entryscan.c client/cmd_audit.c

# tlog monitor
tlog_SRCS += client/cmd_monitor.c

# Test tool: anchors a static log directory's checkpoints on chain (chain tests).
TOOLS += tlog-anchor-dir
tlog-anchor-dir_SRCS := tests/tlog_anchor_dir.c client/fetch.c client/common.c
tlog-anchor-dir_LIBS := anchor merkle
tlog-anchor-dir_PKGS := libcurl jansson libcrypto libsecp256k1

TESTS += test-entryscan
test-entryscan_SRCS := tests/unit/test_entryscan.c client/entryscan.c
test-entryscan_LIBS := check
test-entryscan_PKGS := jansson




# Code identity from TDX quotes (audit, export, verify-bundle)
tlog_SRCS += client/codeid.c
