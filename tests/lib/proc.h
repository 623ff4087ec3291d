/* proc.h: test helpers for running real daemons: spawn with args and env, capture
 * output to files, wait for a TCP port, signal, reap; free ports; temp dirs.
 *
 * Children get PR_SET_PDEATHSIG(SIGKILL), and every live child is killed at exit,
 * so a failing or crashing test never leaves a daemon behind. Functions return 0
 * or -1 (errno set where it means something). */
#ifndef XT_TESTS_PROC_H
#define XT_TESTS_PROC_H

#include <stddef.h>
#include <sys/types.h>

typedef struct proc {
  pid_t pid;       /* 0 when not running */
  int status;      /* wait status once reaped */
} proc;

/* argv[0] is the program path; env is NULL or a NULL-terminated list of "NAME=value"
 * added to (overriding) the environment; stdout_path/stderr_path NULL for /dev/null.
 * stderr may be appended to (append != 0) so restarts keep one log. */
int proc_spawn(proc *p, const char *const argv[], const char *const env[],
               const char *stdout_path, const char *stderr_path, int append);
/* Polls until host:port accepts a TCP connection (0), the child died or timeout (-1). */
int proc_wait_port(proc *p, const char *host, unsigned port, int timeout_ms);
int proc_signal(proc *p, int sig);
/* Waits up to timeout_ms for the child to exit (0, status in p->status), or -1. */
int proc_wait(proc *p, int timeout_ms);
/* SIGTERM, wait up to timeout_ms, then SIGKILL. Returns the exit code, 128+signal
 * when killed by a signal, or -1. */
int proc_stop(proc *p, int timeout_ms);
/* SIGKILL and reap. */
void proc_kill9(proc *p);

/* A TCP port on 127.0.0.1 that was free a moment ago (0 on failure). */
unsigned proc_free_port(void);
/* mkdtemp under $TMPDIR or /tmp: out receives the path. */
int proc_tmpdir(const char *prefix, char *out, size_t cap);
/* rm -rf (does not follow symlinks). */
int proc_rmtree(const char *path);
/* Whole file into a malloc'd NUL-terminated buffer the caller frees (NULL when it
 * cannot be read or is over 1 GiB). */
char *proc_read_file(const char *path, size_t *len);
int proc_write_file(const char *path, const void *data, size_t len);
/* Milliseconds on the monotonic clock. */
long long proc_now_ms(void);
void proc_sleep_ms(long ms);

#endif
