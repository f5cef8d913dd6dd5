/* soulbox-agent: pid 1 of every sandbox. Executes the plan, starts the program, reaps, reports. */
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"
#include "sandbox/creds.h"
#include "sandbox/net.h"
#include "sandbox/plan.h"
#include "sandbox/proto.h"
#include "sandbox/rlimits.h"
#include "sandbox/rootfs.h"

/*
 * Runs as root in fresh pid/mount/ipc/uts/net namespaces; the host moves it
 * into the sandbox's cgroup while it builds the root. fd 0-2 are
 * the program's stdio, fd 3 the control socket, fd 4 the plan.
 * Everything the agent says goes over the control socket, never to stdio.
 */

static const int ctl = AGENT_FD_CONTROL;

struct state {
    struct plan plan;
    struct plan_exec go_exec;    /* exec received with GO (warm start) */
    const struct plan_exec *exec;
    int sigfd;
    int notifyfd;
    pid_t main_pid;
    uint64_t t_start;
    int seccomp_nr;
    uint32_t seccomp_arch;
    int exited_sent;
    int go_pipe;                 /* warm start: our end of the program's fd 3 */
    int warm_waiting;            /* ... whose ready byte has not come yet */
};

static void send_msg(struct agent_msg *m, int fd)
{
    /* A failed send means the host is gone: the sandbox must die with it. */
    if (proto_send(ctl, m, fd) < 0)
        _exit(3);
}

static void __attribute__((noreturn)) setup_failed(int err, const char *fmt, ...)
{
    struct agent_msg m;
    memset(&m, 0, sizeof m);
    m.type = AGENT_FAILED;
    m.err = err;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m.text, sizeof m.text, fmt, ap);
    va_end(ap);
    proto_send(ctl, &m, -1);
    _exit(1);
}

static void read_plan(struct state *s)
{
    struct stat st;
    if (fstat(AGENT_FD_PLAN, &st) < 0)
        setup_failed(errno, "fstat plan: %s", sb_errno_name(errno));
    if (st.st_size <= 0)
        setup_failed(EINVAL, "plan is empty");
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, AGENT_FD_PLAN, 0);
    if (p == MAP_FAILED)
        setup_failed(errno, "mmap plan: %s", sb_errno_name(errno));
    close(AGENT_FD_PLAN);
    const char *why = NULL;
    if (plan_decode(p, (size_t)st.st_size, &s->plan, &why) < 0)
        setup_failed(EINVAL, "plan: %s", why);
}

/* The host creates the cgroup while we build the root; it tells us once we
 * are inside it. Anything else means the host gave up: end here. */
static void wait_attached(void)
{
    struct agent_msg m;
    int rc = proto_recv(ctl, &m, NULL);
    if (rc <= 0 || m.type != HOST_ATTACHED)
        _exit(2);
}

/* Namespaces, root filesystem, hostname, loopback, then drop to the sandbox uid. */
static void setup_sandbox(struct state *s)
{
    char why[512];
    int rc;
    if ((rc = rootfs_setup(&s->plan, s->plan.staging, why, sizeof why)) < 0)
        setup_failed(-rc, "%s", why);
    const char *host = s->plan.hostname ? s->plan.hostname : "soulbox";
    if (sethostname(host, strlen(host)) < 0 || setdomainname("soulbox", 7) < 0)
        setup_failed(errno, "sethostname: %s", sb_errno_name(errno));
    if ((s->plan.flags & PLAN_NET_LO_UP) && (rc = net_lo_up(why, sizeof why)) < 0)
        setup_failed(-rc, "%s", why);
    wait_attached();
    /* The cgroup namespace is rooted here, now that the host moved us into
     * the sandbox's cgroup, so /proc/self/cgroup shows "/" only. */
    if (unshare(CLONE_NEWCGROUP) < 0)
        setup_failed(errno, "unshare CLONE_NEWCGROUP: %s", sb_errno_name(errno));
    /* The host made the stdio pipes as root: give them to the sandbox uid so
     * the program may reopen /dev/stdin (/proc/self/fd/0) like anywhere else. */
    for (int fd = 0; fd <= 2; fd++) {
        struct stat st;
        if (fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode) && fchown(fd, s->plan.uid, s->plan.gid) < 0)
            setup_failed(errno, "fchown stdio %d: %s", fd, sb_errno_name(errno));
    }
    if ((rc = creds_drop(s->plan.uid, s->plan.agent_uid, s->plan.gid, why, sizeof why)) < 0)
        setup_failed(-rc, "%s", why);
    /* Changing credentials cleared the parent-death signal: re-arm it. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
        setup_failed(errno, "prctl: %s", sb_errno_name(errno));
}

static void setup_signals_and_filter(struct state *s)
{
    char why[512];
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
        setup_failed(errno, "sigprocmask: %s", sb_errno_name(errno));
    s->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (s->sigfd < 0)
        setup_failed(errno, "signalfd: %s", sb_errno_name(errno));
    s->notifyfd = -1;
    if (s->plan.bpf_len) {
        int want = (s->plan.flags & PLAN_SECCOMP_NOTIFY) != 0;
        int rc = creds_load_seccomp(s->plan.bpf, s->plan.bpf_len, want, why, sizeof why);
        if (rc < 0)
            setup_failed(-rc, "%s", why);
        if (want)
            s->notifyfd = rc;
    }
}

/* ---- the program ---- */

enum exec_step { STEP_SETSID = 1, STEP_RLIMIT, STEP_CHDIR, STEP_EXEC, STEP_SETUID };

struct exec_report {
    int step;
    int err;
    char what[64];
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

struct child_arg {
    const struct plan_exec *e;
    int fd3;                     /* becomes the program's fd 3 (warm start), or -1 */
    uint32_t uid;                /* the program's uid (the agent's real one) */
    struct exec_report r;        /* written by the child, read after it execs or dies */
};

/* Runs in the agent's memory (vfork-style) until execve: plain syscalls only. */
static int child_exec(void *arg)
{
    struct child_arg *ca = arg;
    const struct plan_exec *e = ca->e;
    struct exec_report *rp = &ca->r;
    struct exec_report r;
    memset(&r, 0, sizeof r);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    /* Every fd but 0-2 is close-on-exec: the program inherits nothing else. */
    syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
    if (ca->fd3 >= 0 && dup2(ca->fd3, 3) < 0) /* dup2 leaves 3 open across exec */
        r.err = errno;
    const char *what = "";
    int rc;
    if (r.err || setsid() < 0) {
        r.step = STEP_SETSID, r.err = r.err ? r.err : errno;
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
    *rp = r;
    _exit(127);
}

/* Starts s->exec (with fd3 as its fd 3 unless -1); reports STARTED unless
 * it is a warm program, which starts for real at GO. */
static void start_program(struct state *s, int fd3)
{
    char why[512];
    int rc = rootfs_write_files(s->exec, why, sizeof why);
    if (rc < 0)
        setup_failed(-rc, "%s", why);
    /* vfork semantics: no page tables are copied (costly on virtual machines)
     * and this thread resumes once the child has exec'd or failed. */
    static char stack[64 * 1024] __attribute__((aligned(16)));
    static struct child_arg ca;
    memset(&ca, 0, sizeof ca);
    ca.e = s->exec;
    ca.fd3 = fd3;
    ca.uid = s->plan.uid;
    s->t_start = util_mono_ns();
    pid_t pid = clone(child_exec, stack + sizeof stack, CLONE_VM | CLONE_VFORK | SIGCHLD, &ca);
    if (pid < 0)
        setup_failed(errno, "clone: %s", sb_errno_name(errno));
    if (ca.r.step) {
        static const char *steps[] = {"", "setsid", "setrlimit", "chdir", "execve", "setresuid"};
        const struct exec_report *r = &ca.r;
        const char *obj = r->step == STEP_EXEC ? s->exec->args[0]
                        : r->step == STEP_CHDIR ? s->exec->cwd : r->what;
        int known = r->step >= 1 && r->step < (int)(sizeof steps / sizeof *steps);
        setup_failed(r->err, "%s %s: %s", steps[known ? r->step : 0], obj,
                     sb_errno_name(r->err));
    }
    s->main_pid = pid;
    if (fd3 >= 0)
        close(fd3);
    /* The agent keeps no copy of the program's stdio: EOF on the host's
     * pipes then means every process holding them is gone. */
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        dup2(null, 0), dup2(null, 1), dup2(null, 2);
        if (null > 2)
            close(null);
    }
    if (s->go_pipe >= 0)
        return;
    struct agent_msg m;
    memset(&m, 0, sizeof m);
    m.type = AGENT_STARTED;
    m.pid = pid;
    send_msg(&m, -1);
}

/* CPU seconds (rounded up) a process has used, from /proc/<pid>/stat. */
static uint64_t cpu_seconds_of(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    if (fd >= 0)
        close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    unsigned long long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
                     &st) != 2)
        return 0;
    long hz = sysconf(_SC_CLK_TCK);
    return hz > 0 ? (ut + st + (unsigned long long)hz - 1) / (unsigned long long)hz : 0;
}

/* GO for a warm program: its files, its limits, its input; then it runs. */
static void warm_go(struct state *s)
{
    char why[512];
    int rc = rootfs_write_files(&s->go_exec, why, sizeof why);
    if (rc < 0)
        setup_failed(-rc, "%s", why);
    uint64_t used = cpu_seconds_of(s->main_pid);
    for (uint32_t i = 0; i < s->go_exec.n_rlimits; i++) {
        const struct plan_rlimit *r = &s->go_exec.rlimits[i];
        struct rlimit rl = {r->cur, r->max};
        if (r->resource == RLIMIT_CPU) /* counts the start-up too */
            rl.rlim_cur += used, rl.rlim_max += used;
        if (prlimit(s->main_pid, (int)r->resource, &rl, NULL) < 0)
            setup_failed(errno, "prlimit %u: %s", r->resource, sb_errno_name(errno));
    }
    s->t_start = util_mono_ns();
    for (uint64_t off = 0; off < s->go_exec.input_len;) {
        ssize_t w = send(s->go_pipe, s->go_exec.input + off, s->go_exec.input_len - off,
                         MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break; /* the program is gone: its exit is reported as usual */
        off += (uint64_t)w;
    }
    close(s->go_pipe); /* EOF: the request is complete */
    s->go_pipe = -1;
    struct agent_msg m;
    memset(&m, 0, sizeof m);
    m.type = AGENT_STARTED;
    m.pid = s->main_pid;
    send_msg(&m, -1);
}

/* ---- event loop ---- */

static void kill_all(void)
{
    kill(-1, SIGKILL);
}

static void report_exit(struct state *s, int status, uint64_t t_end)
{
    /* Whatever the program left behind dies with it. */
    kill_all();
    while (waitpid(-1, NULL, __WALL) > 0 || errno == EINTR)
        ;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    struct agent_msg m;
    memset(&m, 0, sizeof m);
    m.type = AGENT_EXITED;
    m.status = status;
    m.pid = s->main_pid;
    m.wall_ns = t_end - s->t_start;
    m.agent_cpu_ns = ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000u +
                     ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000u;
    m.seccomp_nr = s->seccomp_nr;
    m.seccomp_arch = s->seccomp_arch;
    send_msg(&m, -1);
    s->exited_sent = 1;
    /* Nothing to hand back: end now rather than wait for the host to close. */
    if (!(s->plan.flags & PLAN_LINGER))
        _exit(0);
}

static void on_sigchld(struct state *s)
{
    struct signalfd_siginfo si;
    while (read(s->sigfd, &si, sizeof si) == (ssize_t)sizeof si)
        ;
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG | __WALL)) > 0) {
        if (pid == s->main_pid && !s->exited_sent) {
            report_exit(s, status, util_mono_ns());
            return;
        }
    }
}

static void on_notify(struct state *s)
{
    struct seccomp_notif req;
    struct seccomp_notif_resp resp;
    memset(&req, 0, sizeof req);
    if (ioctl(s->notifyfd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0)
        return; /* the caller died meanwhile */
    if (s->seccomp_nr < 0) {
        s->seccomp_nr = req.data.nr;
        s->seccomp_arch = req.data.arch;
    }
    /* A forbidden call is an attack or a bug: the whole program goes. Kill
     * first: the caller is blocked in the call, and SIGKILL ends it there. An
     * answer sent before the kill would let it run on ("after the call") for
     * as long as the signal takes to land. */
    kill_all();
    memset(&resp, 0, sizeof resp);
    resp.id = req.id;
    resp.error = -EPERM;
    ioctl(s->notifyfd, SECCOMP_IOCTL_NOTIF_SEND, &resp); /* ENOENT once it is gone */
}

static void on_fetch(const char *path)
{
    struct agent_msg m;
    memset(&m, 0, sizeof m);
    m.type = AGENT_FILE;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    struct stat st;
    if (fd < 0) {
        m.err = errno;
    } else if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        m.err = EINVAL; /* only regular files leave the sandbox */
        close(fd);
        fd = -1;
    }
    send_msg(&m, fd);
    if (fd >= 0)
        close(fd);
}

/* Returns 0 to keep going, 1 when GO arrived. Exits on EOF. */
static int on_control(struct state *s)
{
    struct agent_msg m;
    int fd = -1;
    int rc = proto_recv(ctl, &m, &fd);
    if (rc <= 0)
        _exit(0); /* the host closed: end of the sandbox */
    switch (m.type) {
    case HOST_KILL:
        kill_all();
        break;
    case HOST_FETCH:
        on_fetch(m.text);
        break;
    case HOST_GO: {
        if (fd < 0 || (s->exec && s->go_pipe < 0) || s->go_exec.cwd)
            setup_failed(EPROTO, "GO without an exec request");
        struct stat st;
        void *p;
        const char *why = NULL;
        if (fstat(fd, &st) < 0 || st.st_size <= 0 ||
            (p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0)) == MAP_FAILED)
            setup_failed(errno, "map exec request: %s", sb_errno_name(errno));
        if (plan_exec_decode(p, (size_t)st.st_size, &s->go_exec, &why) < 0)
            setup_failed(EINVAL, "exec request: %s", why);
        s->exec = &s->go_exec;
        close(fd);
        return 1;
    }
    default:
        break;
    }
    if (fd >= 0)
        close(fd);
    return 0;
}

/* A warm program says it is ready (one byte on fd 3) once it has started
 * and waits for its program: only then is the sandbox ready. */
static void on_warm_ready(struct state *s)
{
    char c;
    ssize_t n = read(s->go_pipe, &c, 1);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    s->warm_waiting = 0;
    if (n != 1)
        return; /* it ended before that: its exit is reported as usual */
    struct agent_msg m;
    memset(&m, 0, sizeof m);
    m.type = AGENT_READY;
    send_msg(&m, -1);
}

static void loop(struct state *s, int until_go)
{
    for (;;) {
        int warm = s->warm_waiting;
        struct pollfd p[4] = {
            {ctl, POLLIN, 0}, {s->sigfd, POLLIN, 0}, {s->notifyfd, POLLIN, 0},
            {warm ? s->go_pipe : -1, POLLIN, 0},
        };
        int n = poll(p, 4, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            _exit(4);
        }
        if (p[2].revents & POLLIN)
            on_notify(s);
        if (p[1].revents & POLLIN)
            on_sigchld(s);
        if (warm && (p[3].revents & (POLLIN | POLLHUP | POLLERR)))
            on_warm_ready(s);
        if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            if (on_control(s) && until_go)
                return;
        }
    }
}

/* The spawner blocked every signal and the host may ignore some (SIGPIPE):
 * start from defaults so the program sees a clean slate after exec. */
static void reset_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            sigaction(sig, &sa, NULL); /* glibc-reserved ones fail: fine */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

int main(void)
{
    static struct state s;
    s.seccomp_nr = -1;
    umask(0);
    reset_signals();
    /* Run from a memfd, the agent would show as "memfd:soulbox-a". */
    prctl(PR_SET_NAME, "soulbox-agent", 0, 0, 0);
    read_plan(&s);
    setup_sandbox(&s);
    setup_signals_and_filter(&s);
    s.go_pipe = -1;
    if (s.plan.has_exec && (s.plan.flags & PLAN_WARM_START)) {
        /* The interpreter starts now, says so on fd 3 (a stream socket) and
         * waits there for its program. */
        int p[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) < 0)
            setup_failed(errno, "socketpair: %s", sb_errno_name(errno));
        s.go_pipe = p[0];
        s.warm_waiting = 1;
        s.exec = &s.plan.exec;
        start_program(&s, p[1]);
    } else {
        struct agent_msg m;
        memset(&m, 0, sizeof m);
        m.type = AGENT_READY;
        send_msg(&m, -1);
    }
    if (s.go_pipe >= 0) {
        loop(&s, 1);
        warm_go(&s);
    } else {
        if (s.plan.has_exec)
            s.exec = &s.plan.exec;
        else
            loop(&s, 1);
        start_program(&s, -1);
    }
    loop(&s, 0);
    return 0;
}
