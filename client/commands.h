/* commands.h: the tlog subcommands. Each takes the arguments after its own name
 * (argv[0] is the subcommand name) and returns the process exit status:
 * 0 verified / success, 1 verification failed (a line names what), 2 usage or I/O. */
#ifndef XT_CLIENT_COMMANDS_H
#define XT_CLIENT_COMMANDS_H

#define TLOG_EXIT_OK 0
#define TLOG_EXIT_FAILED 1
#define TLOG_EXIT_USAGE 2

typedef struct tlog_command {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *summary;
} tlog_command;

/* Defined in client/tlog.c: the table of subcommands, NULL-terminated. Each command
 * file declares its entry point below and adds one row to that table. */
extern const tlog_command tlog_commands[];
int cmd_verify_quote(int argc, char **argv);      /* client/cmd_quote.c */
int cmd_compose_hash(int argc, char **argv);      /* client/cmd_quote.c */
int cmd_compose_normalize(int argc, char **argv); /* client/cmd_quote.c */
int cmd_kms_history(int argc, char **argv);       /* client/cmd_kms_history.c */

int cmd_anchor(int argc, char **argv);            /* client/cmd_anchor.c */

int cmd_checkpoint(int argc, char **argv);        /* client/cmd_checkpoint.c */
int cmd_inclusion(int argc, char **argv);         /* client/cmd_inclusion.c */
int cmd_consistency(int argc, char **argv);       /* client/cmd_consistency.c */
int cmd_entries(int argc, char **argv);           /* client/cmd_entries.c */
int cmd_export(int argc, char **argv);            /* client/cmd_export.c */
int cmd_verify_bundle(int argc, char **argv);     /* client/cmd_export.c */
int cmd_audit(int argc, char **argv);             /* client/cmd_audit.c */
int cmd_monitor(int argc, char **argv);           /* client/cmd_monitor.c */
#endif
