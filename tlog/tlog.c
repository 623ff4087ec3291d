/* tlog: the auditor's and monitor's command line. This file only dispatches; each
 * subcommand lives in its own tlog/cmd_*.c file. */
#include <stdio.h>
#include <string.h>

#include "tlog/commands.h"

const tlog_command tlog_commands[] = {
    {"verify-quote", cmd_verify_quote, "verify a TDX quote offline to the Intel root (+ event log)"},
    {"compose-hash", cmd_compose_hash, "SHA-256 of an app-compose.json (dstack compose hash)"},
    {"compose-normalize", cmd_compose_normalize, "rewrite app-compose JSON the way dstack writes it"},
    {"collateral", cmd_collateral, "fetch the Intel DCAP collateral of a quote's platform from a PCCS"},
    {"kms-history", cmd_kms_history, "what a dstack app's KMS contract allowed, and when"},
    {"anchor", cmd_anchor, "deploy, register, status and list on-chain tree-head anchors"},
    {"checkpoint", cmd_checkpoint, "fetch and verify the log's latest signed checkpoint"},
    {"inclusion", cmd_inclusion, "prove an entry is in the log (proof built from tiles)"},
    {"consistency", cmd_consistency, "prove the log extends an older checkpoint"},
    {"entries", cmd_entries, "print entries, each checked against the signed tree"},
    {"export", cmd_export, "write an offline audit bundle (tiles, checkpoints, anchors, manifest)"},
    {"verify-bundle", cmd_verify_bundle, "verify an audit bundle offline (and against the chain)"},
    {"audit", cmd_audit, "audit a time window against the chain's anchors (see --help)"},
    {"monitor", cmd_monitor, "follow a log and its anchors; alert on forks, rollbacks, stale anchors"},
    {"verify-receipt", cmd_verify_receipt, "verify a tlog-proof receipt offline (and against the log or chain)"},
    {NULL, NULL, NULL},
};

static void usage(FILE *f) {
  fprintf(f,
          "usage: tlog <command> [options]\n"
          "\n"
          "Verifies a transparency log from its signed checkpoints, tiles and on-chain\n"
          "anchors, trusting nothing the log server computes.\n"
          "\n"
          "commands:\n");
  for (const tlog_command *c = tlog_commands; c->name; c++)
    fprintf(f, "  %-16s %s\n", c->name, c->summary);
  fprintf(f,
          "\n"
          "Run `tlog <command> --help` for a command's options.\n"
          "Exit status: 0 verified, 1 verification failed, 2 usage or I/O error.\n");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "tlog: missing command; see 'tlog --help'\n");
    return TLOG_EXIT_USAGE;
  }
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    usage(stdout);
    return TLOG_EXIT_OK;
  }
  if (!strcmp(argv[1], "--version")) {
    printf("tlog %s\n", XT_VERSION);
    return TLOG_EXIT_OK;
  }
  for (const tlog_command *c = tlog_commands; c->name; c++)
    if (!strcmp(argv[1], c->name)) return c->run(argc - 1, argv + 1);
  fprintf(stderr, "tlog: unknown command '%s'; see 'tlog --help'\n", argv[1]);
  return TLOG_EXIT_USAGE;
}
