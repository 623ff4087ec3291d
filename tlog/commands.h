/* commands.h: private to tlog/. The tlog subcommands, each built on the tlogcore
 * library (client/), and the reporting helpers they share. Each command takes the
 * arguments after its own name (argv[0] is the subcommand name) and returns the process
 * exit status: 0 verified / success, 1 verification failed (a line names what), 2 usage
 * or I/O. */
#ifndef XT_TLOG_COMMANDS_H
#define XT_TLOG_COMMANDS_H

#include <stdbool.h>
#include <jansson.h>
#include <stddef.h>

/* The longest directory argument (--to, --state, a bundle) taken: paths inside it are
 * built in 4096-byte buffers, and this leaves room for the longest name put there. */
#define TLOG_MAX_DIR 3000

#define TLOG_EXIT_OK 0
#define TLOG_EXIT_FAILED 1
#define TLOG_EXIT_USAGE 2

typedef struct tlog_command {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *summary;
} tlog_command;

/* Defined in tlog/tlog.c: the table of subcommands, NULL-terminated. Each command
 * file declares its entry point below and adds one row to that table. */
extern const tlog_command tlog_commands[];
int cmd_verify_quote(int argc, char **argv);      /* tlog/cmd_quote.c */
int cmd_compose_hash(int argc, char **argv);      /* tlog/cmd_quote.c */
int cmd_compose_normalize(int argc, char **argv); /* tlog/cmd_quote.c */
int cmd_kms_history(int argc, char **argv);       /* tlog/cmd_kms_history.c */
int cmd_collateral(int argc, char **argv);        /* tlog/cmd_collateral.c */

int cmd_anchor(int argc, char **argv);            /* tlog/cmd_anchor.c */

int cmd_checkpoint(int argc, char **argv);        /* tlog/cmd_checkpoint.c */
int cmd_inclusion(int argc, char **argv);         /* tlog/cmd_inclusion.c */
int cmd_consistency(int argc, char **argv);       /* tlog/cmd_consistency.c */
int cmd_entries(int argc, char **argv);           /* tlog/cmd_entries.c */
int cmd_export(int argc, char **argv);            /* tlog/cmd_export.c */
int cmd_verify_bundle(int argc, char **argv);     /* tlog/cmd_export.c */
int cmd_audit(int argc, char **argv);             /* tlog/cmd_audit.c */
int cmd_monitor(int argc, char **argv);           /* tlog/cmd_monitor.c */
int cmd_verify_receipt(int argc, char **argv);    /* tlog/cmd_receipt.c */

/* Reports a failure: "tlog CMD: MSG" on stderr, and with json a
 * {"verified":false,"exit":code,"error":MSG} object on stdout. Returns code. */
int tlog_fail(const char *cmd, bool json, int code, const char *msg);

/* tlog's command-line convention (SPEC.md 6.3):
 * a usage error is one line on stderr,
 *   "tlog CMD: <what is missing, unknown or extra>; see 'tlog CMD --help'"
 * and exit status 2; -h and --help both print the help on stdout. */

/* Prints that line (fmt names the problem; CMD's first word names the help). Returns
 * TLOG_EXIT_USAGE. */
int tlog_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

struct option;
/* getopt_long with the convention: "-h" is --help (give it the value 'h'), getopt's own
 * messages are off, and an unknown option or one without its value is reported with
 * tlog_usage_error. Returns getopt_long's value, -1 at the end, or '?' after such a
 * report (the caller then returns TLOG_EXIT_USAGE). Set optind = 1 before the loop. */
int tlog_getopt(const char *cmd, int argc, char **argv, const struct option *opts);

/* After the option loop: reports the first argument left over (TLOG_EXIT_USAGE), or
 * returns 0 when there is none. */
int tlog_no_extra_args(const char *cmd, int argc, char **argv);

/* Reports "missing FLAG" (TLOG_EXIT_USAGE) when value is NULL; returns 0 otherwise. */
int tlog_require(const char *cmd, const char *value, const char *flag);

/* Prints one JSON document on stdout the one way tlog prints JSON: keys sorted,
 * indented by two spaces, then a newline. Returns 0, or -1 when it could not be
 * written (out of memory). Does not take o's reference. Streams (monitor's alerts,
 * entries' array items) are one compact sorted object per line instead. */
int tlog_json_print(const json_t *o);

/* The failures a multi-check command (audit, verify-bundle) found, each a line naming
 * what failed. A failure whose line cannot be stored (out of memory) is still counted in
 * dropped, so no failure is ever lost from the verdict. */
typedef struct tlog_failures {
  char **msg; /* owned, msg[0 .. n) */
  size_t n, cap;
  size_t dropped;
} tlog_failures;
/* Adds the formatted line (any length). */
void tlog_failures_add(tlog_failures *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Returns whether anything failed: stored lines or dropped ones. */
bool tlog_failures_any(const tlog_failures *f);
/* Frees the lines and leaves f empty. */
void tlog_failures_free(tlog_failures *f);

#endif
