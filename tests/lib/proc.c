#include "tests/lib/proc.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/file.h"

#define MAX_LIVE 64
static pid_t live[MAX_LIVE];
static int atexit_set;

static void kill_live(void) {
  for (int i = 0; i < MAX_LIVE; i++)
    if (live[i] > 0) {
      kill(live[i], SIGKILL);
      waitpid(live[i], NULL, 0);
      live[i] = 0;
    }
}

static void track(pid_t pid, int add) {
  for (int i = 0; i < MAX_LIVE; i++) {
    if (add && live[i] == 0) {
      live[i] = pid;
      return;
    }
    if (!add && live[i] == pid) {
      live[i] = 0;
      return;
    }
  }
}

long long proc_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void proc_sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) && errno == EINTR) {
  }
}

static int open_out(const char *path, int append) {
  if (!path) return open("/dev/null", O_WRONLY | O_CLOEXEC);
  return open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0644);
}

int proc_spawn(proc *p, const char *const argv[], const char *const env[],
               const char *stdout_path, const char *stderr_path, int append) {
  if (!atexit_set) {
    atexit(kill_live);
    atexit_set = 1;
  }
  memset(p, 0, sizeof *p);
  int out = open_out(stdout_path, append), err = open_out(stderr_path, append);
  if (out < 0 || err < 0) {
    if (out >= 0) close(out);
    if (err >= 0) close(err);
    return -1;
  }
  pid_t parent = getpid();
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) {
    close(out), close(err);
    return -1;
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    int in = open("/dev/null", O_RDONLY);
    if (in >= 0) dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (size_t i = 0; env && env[i]; i++) putenv((char *)env[i]);
    execv(argv[0], (char *const *)argv);
    fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  close(out);
  close(err);
  p->pid = pid;
  track(pid, 1);
  return 0;
}

static int reap(proc *p, int flags) {
  if (!p->pid) return 0;
  int st;
  pid_t r = waitpid(p->pid, &st, flags);
  if (r == p->pid) {
    track(p->pid, 0);
    p->pid = 0;
    p->status = st;
    return 0;
  }
  return -1;
}

int proc_wait_port(proc *p, const char *host, unsigned port, int timeout_ms) {
  long long end = proc_now_ms() + timeout_ms;
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) return -1;
  while (proc_now_ms() < end) {
    if (p && reap(p, WNOHANG) == 0 && !p->pid) return -1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    close(fd);
    if (ok) return 0;
    proc_sleep_ms(10);
  }
  return -1;
}

int proc_signal(proc *p, int sig) { return p->pid ? kill(p->pid, sig) : -1; }

int proc_wait(proc *p, int timeout_ms) {
  long long end = proc_now_ms() + timeout_ms;
  for (;;) {
    if (reap(p, WNOHANG) == 0 && !p->pid) return 0;
    if (proc_now_ms() >= end) return -1;
    proc_sleep_ms(5);
  }
}

static int exit_code(int st) {
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return -1;
}

int proc_stop(proc *p, int timeout_ms) {
  if (!p->pid) return exit_code(p->status);
  kill(p->pid, SIGTERM);
  if (proc_wait(p, timeout_ms)) {
    kill(p->pid, SIGKILL);
    reap(p, 0);
  }
  return exit_code(p->status);
}

void proc_kill9(proc *p) {
  if (!p->pid) return;
  kill(p->pid, SIGKILL);
  reap(p, 0);
}

unsigned proc_free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t sl = sizeof sa;
  unsigned port = 0;
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
      getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
    port = ntohs(sa.sin_port);
  close(fd);
  return port;
}

int proc_tmpdir(const char *prefix, char *out, size_t cap) {
  const char *base = getenv("TMPDIR");
  if (!base || !*base) base = "/tmp";
  int n = snprintf(out, cap, "%s/%s.XXXXXX", base, prefix);
  if (n < 0 || (size_t)n >= cap) return -1;
  return mkdtemp(out) ? 0 : -1;
}

static int rm_one(const char *path, const struct stat *sb, int type, struct FTW *ftw) {
  (void)sb, (void)ftw;
  return type == FTW_DP ? rmdir(path) : unlink(path);
}

int proc_rmtree(const char *path) {
  return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Test files (daemon logs, records, bundles) are small; 1 GiB only stops a runaway. */
#define PROC_READ_MAX ((size_t)1 << 30)

char *proc_read_file(const char *path, size_t *len) {
  uint8_t *b = NULL;
  size_t n = 0;
  if (xt_file_read(path, PROC_READ_MAX, &b, &n, NULL, 0) != XT_OK) return NULL;
  if (len) *len = n;
  return (char *)b;
}

int proc_write_file(const char *path, const void *data, size_t len) {
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  size_t w = fwrite(data, 1, len, f);
  int rc = fclose(f);
  return w == len && rc == 0 ? 0 : -1;
}
