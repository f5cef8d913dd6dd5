/* soulbox-agent: the sandbox's processes: start (with pipes or a pty), warm start, signals, reaping, seccomp kills. */
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"
#include "sandbox/agent/agent.h"
#include "sandbox/creds.h"
#include "sandbox/rlimits.h"

/* ---- the table ---- */

static struct aproc *find(struct agent *a, uint32_t id)
{
    for (int i = 0; id && i < AGENT_MAX_PROCS; i++)
        if (a->procs[i].id == id)
            return &a->procs[i];
    return NULL;
}

static struct aproc *find_pid(struct agent *a, pid_t pid)
{
    for (int i = 0; i < AGENT_MAX_PROCS; i++)
        if (a->procs[i].id && a->procs[i].pid == pid)
            return &a->procs[i];
    return NULL;
}

static void release(struct aproc *p)
{
    if (p->warm_fd >= 0)
        close(p->warm_fd);
    if (p->pty >= 0)
        close(p->pty);
    memset(p, 0, sizeof *p);
    p->warm_fd = p->pty = -1;
}

void agent_kill_all(void)
{
    kill(-1, SIGKILL); /* from pid 1: every process of the namespace but us */
}

/* ---- starting ---- */

enum exec_step { STEP_SETSID = 1, STEP_RLIMIT, STEP_CHDIR, STEP_EXEC, STEP_SETUID, STEP_TTY };

struct exec_report {
    int step;
    int err;
    char what[64];
};

struct child_arg {
    const struct plan_exec *e;
    int stdio[4];            /* become fds 0-3 (-1: none) */
    bool ctty;               /* stdio is a pty slave: make it the controlling tty */
    uint32_t uid;            /* the program's uid (the agent's real one) */
    struct exec_report r;    /* written by the child, read after it execs or dies */
};

static void try_exec(const struct plan_exec *e, int *err)
{
    const char *prog = e->args[0];
    if (strchr(prog, '/')) {
        execve(prog, (char *const *)e->args, (char *const *)e->env);
        *err = errno;
        return;
    }
    const char *path = "/usr/local/bin:/usr/bin:/bin";
    for (uint32_t i = 0; i < e->n_env; i++)
        if (!strncmp(e->env[i], "PATH=", 5))
            path = e->env[i] + 5;
    *err = ENOENT;
    char buf[4096];
    for (const char *p = path; *p;) {
        const char *colon = strchr(p, ':');
        size_t n = colon ? (size_t)(colon - p) : strlen(p);
        if (n > 0 && n + strlen(prog) + 2 < sizeof buf) {
            memcpy(buf, p, n);
            buf[n] = '/';
            strcpy(buf + n + 1, prog);
            execve(buf, (char *const *)e->args, (char *const *)e->env);
            if (errno != ENOENT && errno != ENOTDIR)
                *err = errno;
        }
        if (!colon)
            break;
        p = colon + 1;
    }
}

/* The process's standard fds, then close-on-exec for everything else. */
static int child_fds(const struct child_arg *ca)
{
    for (int fd = 0; fd < 4; fd++)
        if (ca->stdio[fd] >= 0 && dup2(ca->stdio[fd], fd) < 0) /* dup2 clears CLOEXEC */
            return -errno;
    unsigned first = ca->stdio[3] >= 0 ? 4 : 3;
    syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC);
    return 0;
}

/* Runs in the agent's memory (vfork-style) until execve: plain syscalls only. */
static int child_exec(void *arg)
{
    struct child_arg *ca = arg;
    const struct plan_exec *e = ca->e;
    struct exec_report r;
    memset(&r, 0, sizeof r);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    const char *what = "";
    int rc;
    if ((rc = child_fds(ca)) < 0 || setsid() < 0) {
        r.step = STEP_SETSID, r.err = rc < 0 ? -rc : errno;
    } else if (ca->ctty && ioctl(0, TIOCSCTTY, 0) < 0) {
        r.step = STEP_TTY, r.err = errno;
    } else if ((rc = creds_become_program(ca->uid)) < 0) {
        r.step = STEP_SETUID, r.err = -rc;
    } else if ((rc = rlimits_apply(e, &what)) < 0) {
        r.step = STEP_RLIMIT, r.err = -rc;
        snprintf(r.what, sizeof r.what, "%s", what);
    } else if (chdir(e->cwd) < 0) {
        r.step = STEP_CHDIR, r.err = errno;
    } else {
        umask(022);
        try_exec(e, &r.err);
        r.step = STEP_EXEC;
    }
    ca->r = r;
    _exit(127);
}

static void exec_failed(uint32_t id, const struct plan_exec *e, const struct exec_report *r)
{
    static const char *steps[] = {"", "setsid", "setrlimit", "chdir", "execve", "setresuid",
                                  "TIOCSCTTY"};
    const char *obj = r->step == STEP_EXEC ? e->args[0] : r->step == STEP_CHDIR ? e->cwd : r->what;
    int known = r->step >= 1 && r->step < (int)(sizeof steps / sizeof *steps);
    agent_send_text(A_EXEC_FAILED, id, r->err, "%s %s: %s", steps[known ? r->step : 0], obj,
                    sb_errno_name(r->err));
}

/* A new pty: the master (ours) and its slave. Returns 0 or -errno. */
static int open_pty(const struct plan_exec *e, int *master, int *slave)
{
    int m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (m < 0)
        return -errno;
    int unlock = 0;
    struct winsize ws = {.ws_row = e->rows, .ws_col = e->cols};
    int s;
    if (ioctl(m, TIOCSPTLCK, &unlock) < 0 || ioctl(m, TIOCSWINSZ, &ws) < 0 ||
        (s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
        int err = errno;
        close(m);
        return -err;
    }
    *master = m;
    *slave = s;
    return 0;
}

/* clone(CLONE_VM | CLONE_VFORK): no page tables are copied (costly on
 * virtual machines) and this thread resumes once the child has exec'd or
 * failed. Returns the pid, or -1 after reporting the failure. */
static pid_t spawn(uint32_t id, struct child_arg *ca)
{
    static char stack[64 * 1024] __attribute__((aligned(16)));
    pid_t pid = clone(child_exec, stack + sizeof stack, CLONE_VM | CLONE_VFORK | SIGCHLD, ca);
    if (pid < 0) {
        agent_send_text(A_EXEC_FAILED, id, errno, "clone: %s", sb_errno_name(errno));
        return -1;
    }
    if (ca->r.step) {
        exec_failed(id, ca->e, &ca->r);
        return -1; /* it exited with 127: reaped as an unknown child */
    }
    return pid;
}

/* Stdio for the new process: the host's three fds, or a pty (the master
 * goes to the host with STARTED). Returns 0, or -1 after reporting. */
static int setup_stdio(uint32_t id, const struct plan_exec *e, int *fds, int nfds,
                       struct child_arg *ca, int *master)
{
    *master = -1;
    if (e->flags & PEXEC_PTY) {
        int slave = -1, rc = nfds ? -EINVAL : open_pty(e, master, &slave);
        if (rc < 0) {
            agent_send_text(A_EXEC_FAILED, id, -rc, "open pty: %s", sb_errno_name(-rc));
            return -1;
        }
        ca->stdio[0] = ca->stdio[1] = ca->stdio[2] = slave;
        ca->ctty = true;
        return 0;
    }
    if (nfds != 3) {
        agent_send_text(A_EXEC_FAILED, id, EINVAL, "exec needs 3 stdio descriptors, got %d",
                        nfds);
        return -1;
    }
    for (int i = 0; i < 3; i++)
        ca->stdio[i] = fds[i];
    return 0;
}

static void started(struct aproc *p, int master)
{
    struct agent_started st = {p->pid, master >= 0};
    agent_send(A_STARTED, p->id, 0, 0, &st, sizeof st, &master, master >= 0);
}

static struct aproc *slot(struct agent *a, uint32_t id, const struct plan_exec *e)
{
    if (!id || find(a, id)) {
        agent_send_text(A_EXEC_FAILED, id, EEXIST, "process id %u is in use", id);
        return NULL;
    }
    if ((e->flags & PEXEC_WARM) && (e->flags & PEXEC_PTY)) {
        agent_send_text(A_EXEC_FAILED, id, EINVAL, "a warm program has no pty");
        return NULL;
    }
    for (int i = 0; i < AGENT_MAX_PROCS; i++)
        if (!a->procs[i].id)
            return &a->procs[i];
    agent_send_text(A_EXEC_FAILED, id, EAGAIN, "%d processes are running already",
                    AGENT_MAX_PROCS);
    return NULL;
}

void agent_exec(struct agent *a, uint32_t id, const uint8_t *payload, uint32_t len, int *fds,
                int nfds)
{
    static struct plan_exec e;
    static struct child_arg ca;
    const char *why = NULL;
    int master = -1, warm[2] = {-1, -1};
    struct aproc *p = NULL;
    memset(&ca, 0, sizeof ca);
    ca.stdio[3] = -1;
    if (plan_exec_decode(payload, len, false, &e, &why) < 0) {
        agent_send_text(A_EXEC_FAILED, id, EINVAL, "exec request: %s", why);
        goto out;
    }
    p = slot(a, id, &e);
    if (!p || setup_stdio(id, &e, fds, nfds, &ca, &master) < 0)
        goto out;
    if ((e.flags & PEXEC_WARM) && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, warm) < 0) {
        agent_send_text(A_EXEC_FAILED, id, errno, "socketpair: %s", sb_errno_name(errno));
        goto out;
    }
    ca.stdio[3] = warm[1];
    ca.e = &e;
    ca.uid = a->plan.uid;
    uint64_t t0 = util_mono_ns();
    pid_t pid = spawn(id, &ca);
    if (pid < 0) {
        p = NULL;
        goto out;
    }
    *p = (struct aproc){.id = id, .pid = pid, .flags = e.flags, .t_start = t0,
                        .warm_fd = warm[0], .warm_waiting = warm[0] >= 0, .pty = master,
                        .seccomp_nr = -1};
    warm[0] = -1;
    if (!(e.flags & PEXEC_WARM))
        started(p, master);
out:
    if (ca.ctty)
        close(ca.stdio[0]);
    for (int i = 0; i < nfds; i++)
        close(fds[i]);
    if (warm[1] >= 0)
        close(warm[1]);
    if (warm[0] >= 0)
        close(warm[0]);
    if (master >= 0 && (!p || p->pty != master))
        close(master);
    plan_exec_free(&e);
}

/* ---- warm programs ---- */

/* A warm program says it is ready (one byte on fd 3) once it has started
 * and waits for its program: only then is its sandbox ready. */
void agent_warm_ready(struct agent *a, struct aproc *p)
{
    (void)a;
    char c;
    ssize_t n = read(p->warm_fd, &c, 1);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    p->warm_waiting = false;
    if (n == 1)
        agent_send(A_WARM_READY, p->id, 0, 0, NULL, 0, NULL, 0);
    /* else it ended before that: its exit is reported as usual */
}

/* The fields of /proc/<pid>/stat after the command name (which may hold
 * spaces and parentheses), read into buf; NULL if pid is gone. */
static const char *proc_stat_fields(pid_t pid, char *buf, size_t len)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, buf, len - 1) : -1;
    if (fd >= 0)
        close(fd);
    if (n <= 0)
        return NULL;
    buf[n] = '\0';
    const char *s = strrchr(buf, ')');
    return s && s[1] ? s + 2 : NULL;
}

/* CPU seconds (rounded up) a process has used. */
static uint64_t cpu_seconds_of(pid_t pid)
{
    char buf[1024];
    const char *s = proc_stat_fields(pid, buf, sizeof buf);
    unsigned long long ut = 0, st = 0;
    if (!s || sscanf(s, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
                     &st) != 2)
        return 0;
    long hz = sysconf(_SC_CLK_TCK);
    return hz > 0 ? (ut + st + (unsigned long long)hz - 1) / (unsigned long long)hz : 0;
}

static int apply_go_limits(const struct aproc *p, const struct plan_exec *go)
{
    uint64_t used = cpu_seconds_of(p->pid);
    for (uint32_t i = 0; i < go->n_rlimits; i++) {
        const struct plan_rlimit *r = &go->rlimits[i];
        struct rlimit rl = {r->cur, r->max};
        if (r->resource == RLIMIT_CPU) /* counts the start-up too */
            rl.rlim_cur += used, rl.rlim_max += used;
        if (prlimit(p->pid, (int)r->resource, &rl, NULL) < 0) {
            agent_send_text(A_EXEC_FAILED, p->id, errno, "prlimit %u: %s", r->resource,
                            sb_errno_name(errno));
            return -1;
        }
    }
    return 0;
}

/* GO for a warm program: its limits, its input; then it runs. */
void agent_go(struct agent *a, uint32_t id, const uint8_t *payload, uint32_t len)
{
    struct aproc *p = find(a, id);
    struct plan_exec go;
    const char *why = NULL;
    if (!p || !(p->flags & PEXEC_WARM) || p->go || p->warm_fd < 0) {
        agent_send_text(A_EXEC_FAILED, id, EPROTO, "GO for a process that is not a waiting "
                        "warm program");
        return;
    }
    if (plan_exec_decode(payload, len, true, &go, &why) < 0) {
        agent_send_text(A_EXEC_FAILED, id, EINVAL, "GO request: %s", why);
        return;
    }
    if (apply_go_limits(p, &go) < 0) {
        plan_exec_free(&go);
        return;
    }
    p->go = true;
    p->t_start = util_mono_ns();
    for (uint64_t off = 0; off < go.input_len;) {
        ssize_t w = send(p->warm_fd, go.input + off, go.input_len - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break; /* the program is gone: its exit is reported as usual */
        off += (uint64_t)w;
    }
    close(p->warm_fd); /* EOF: the request is complete */
    p->warm_fd = -1;
    p->warm_waiting = false;
    plan_exec_free(&go);
    started(p, -1);
}

/* ---- signals ---- */

void agent_signal(struct agent *a, uint32_t id, int sig)
{
    struct aproc *p = find(a, id);
    if (p && sig > 0 && sig < NSIG)
        kill(-p->pid, sig); /* its process group, as a terminal's ^C would */
}

void agent_resize(struct agent *a, uint32_t id, uint16_t rows, uint16_t cols)
{
    struct aproc *p = find(a, id);
    struct winsize ws = {.ws_row = rows, .ws_col = cols};
    if (p && p->pty >= 0 && rows && cols)
        ioctl(p->pty, TIOCSWINSZ, &ws);
}

/* ---- reaping ---- */

static uint64_t tv_ns(const struct timeval *tv)
{
    return (uint64_t)tv->tv_sec * 1000000000u + (uint64_t)tv->tv_usec * 1000u;
}

static void report_exit(struct aproc *p, int status, const struct rusage *ru, uint64_t t_end)
{
    struct rusage self;
    getrusage(RUSAGE_SELF, &self);
    struct agent_exited m = {
        .status = status, .seccomp_nr = p->seccomp_nr, .seccomp_arch = p->seccomp_arch,
        .wall_ns = p->go || !(p->flags & PEXEC_WARM) ? t_end - p->t_start : 0,
        .cpu_ns = tv_ns(&ru->ru_utime) + tv_ns(&ru->ru_stime),
        .maxrss_kb = (uint64_t)ru->ru_maxrss,
        .agent_cpu_ns = tv_ns(&self.ru_utime) + tv_ns(&self.ru_stime),
    };
    agent_send(A_EXITED, p->id, 0, 0, &m, sizeof m, NULL, 0);
}

/* A process ended: what it left behind dies with it (all of the sandbox for
 * a sole process, its process group otherwise), then the host hears. */
static void ended(struct aproc *p, int status, const struct rusage *ru)
{
    uint64_t t_end = util_mono_ns();
    if (p->flags & PEXEC_SOLE) {
        agent_kill_all();
        while (waitpid(-1, NULL, __WALL) > 0 || errno == EINTR)
            ;
    } else {
        kill(-p->pid, SIGKILL);
    }
    report_exit(p, status, ru, t_end);
    release(p);
}

void agent_reap(struct agent *a)
{
    struct signalfd_siginfo si;
    while (read(a->sigfd, &si, sizeof si) == (ssize_t)sizeof si)
        ;
    int status;
    struct rusage ru;
    pid_t pid;
    while ((pid = wait4(-1, &status, WNOHANG | __WALL, &ru)) > 0) {
        struct aproc *p = find_pid(a, pid);
        if (p)
            ended(p, status, &ru);
    }
}

/* ---- seccomp ---- */

/* Session id of pid (its process's leader), or -1. */
static pid_t session_of(pid_t pid)
{
    char buf[1024];
    const char *s = proc_stat_fields(pid, buf, sizeof buf);
    int sid;
    if (!s || sscanf(s, "%*c %*d %*d %d", &sid) != 1)
        return -1;
    return sid;
}

/* A forbidden call is an attack or a bug: the process it came from goes
 * (with the whole sandbox, for a sole process). Kill first: the caller is
 * blocked in the call, and SIGKILL ends it there; an answer sent before the
 * kill would let it run on for as long as the signal takes to land. */
void agent_seccomp_notify(struct agent *a)
{
    struct seccomp_notif req;
    struct seccomp_notif_resp resp;
    memset(&req, 0, sizeof req);
    if (ioctl(a->notifyfd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0)
        return; /* the caller died meanwhile */
    pid_t sid = session_of((pid_t)req.pid);
    struct aproc *p = sid > 0 ? find_pid(a, sid) : NULL;
    for (int i = 0; !p && i < AGENT_MAX_PROCS; i++) /* it left its session */
        if (a->procs[i].id && (a->procs[i].flags & PEXEC_SOLE))
            p = &a->procs[i];
    if (p && p->seccomp_nr < 0) {
        p->seccomp_nr = req.data.nr;
        p->seccomp_arch = req.data.arch;
    }
    if (p && (p->flags & PEXEC_SOLE))
        agent_kill_all();
    else if (p)
        kill(-p->pid, SIGKILL);
    kill((pid_t)req.pid, SIGKILL);
    memset(&resp, 0, sizeof resp);
    resp.id = req.id;
    resp.error = -EPERM;
    ioctl(a->notifyfd, SECCOMP_IOCTL_NOTIF_SEND, &resp); /* ENOENT once it is gone */
}
