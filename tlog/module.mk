# tlog: the auditor's and monitor's CLI, one file per command family on top of the
# tlogcore library (client/). tlog.c dispatches; cli.c holds the reporting helpers.
BINS += tlog
tlog_SRCS := tlog/tlog.c tlog/cli.c tlog/cmd_checkpoint.c tlog/cmd_inclusion.c \
             tlog/cmd_consistency.c tlog/cmd_entries.c tlog/cmd_export.c tlog/cmd_audit.c \
             tlog/cmd_monitor.c tlog/cmd_anchor.c tlog/cmd_quote.c tlog/cmd_kms_history.c \
             tlog/cmd_collateral.c tlog/cmd_receipt.c
tlog_SRCS += tlog/report_html.c tlog/report_summary.c tlog/report_daily.c
tlog_LIBS := tlogcore anchor dstack merkle
