# tlog: the auditor's and monitor's CLI. Command files add themselves to tlog_SRCS
# with +=, and the libraries they need to tlog_LIBS.
BINS += tlog
tlog_SRCS += client/tlog.c
tlog_LIBS += merkle
tlog_PKGS += libcrypto
