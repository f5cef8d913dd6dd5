/* soulbox-agent: pid 1 of every sandbox. Builds the sandbox, then starts and reaps its processes and does its file operations for the host. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "sandbox/agent/agent.h"
#include "sandbox/creds.h"
#include "sandbox/net.h"
#include "sandbox/rootfs.h"

/*
 * Runs as root in fresh pid/mount/ipc/uts/net namespaces; the host moves it
 * into the sandbox's cgroup while it builds the root. fd 0-2 are /dev/null,
 * fd 3 the control channel, fd 4 the plan. Everything the agent says goes
 * over the channel (proto.h), never to stdio. It lives until the host closes
 * the channel or kills it; each process it starts gets its stdio from the
 * host's EXEC frame.
 */

static const int ctl = AGENT_FD_CONTROL;

void agent_send(uint16_t type, uint32_t id, int32_t err, uint32_t flags, const void *payload,
                uint32_t len, const int *fds, int nfds)
{
    if (proto_send(ctl, type, id, err, flags, payload, len, fds, nfds) < 0)
        _exit(3);
}

/* A text payload (proto_text_encode) of the formatted message; its length. */
static size_t text_payload(uint8_t buf[1100], const char *fmt, va_list ap)
{
    char text[1024];
    vsnprintf(text, sizeof text, fmt, ap);
    return proto_text_encode(text, buf, 1100);
}

void agent_send_text(uint16_t type, uint32_t id, int err, const char *fmt, ...)
{
    uint8_t buf[1100];
    va_list ap;
    va_start(ap, fmt);
    size_t n = text_payload(buf, fmt, ap);
    va_end(ap);
    agent_send(type, id, err, 0, buf, (uint32_t)n, NULL, 0);
}

static void __attribute__((noreturn, format(printf, 2, 3))) setup_failed(int err, const char *fmt, ...)
{
    uint8_t buf[1100];
    va_list ap;
    va_start(ap, fmt);
    size_t n = text_payload(buf, fmt, ap);
    va_end(ap);
    proto_send(ctl, A_FAILED, 0, err, 0, buf, (uint32_t)n, NULL, 0);
    _exit(1);
}

static void read_plan(struct agent *a)
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
    if (plan_decode(p, (size_t)st.st_size, &a->plan, &why) < 0)
        setup_failed(EINVAL, "plan: %s", why);
}

/* The host creates the cgroup while we build the root; it tells us once we
 * are inside it. Anything else means the host gave up: end here. */
static void wait_attached(struct agent *a)
{
    struct agent_hdr h;
    int fds[AGENT_MAX_FDS], nfds;
    int rc = proto_recv(ctl, &h, a->rx, sizeof a->rx, fds, &nfds);
    if (rc <= 0 || h.type != H_ATTACHED || nfds)
        _exit(2);
}

/* Namespaces, root filesystem, hostname, loopback, then drop to the sandbox uid. */
static void setup_sandbox(struct agent *a)
{
    char why[512];
    int rc;
    if ((rc = rootfs_setup(&a->plan, a->plan.staging, why, sizeof why)) < 0)
        setup_failed(-rc, "%s", why);
    const char *host = a->plan.hostname ? a->plan.hostname : "soulbox";
    if (sethostname(host, strlen(host)) < 0 || setdomainname("soulbox", 7) < 0)
        setup_failed(errno, "sethostname: %s", sb_errno_name(errno));
    if ((a->plan.flags & PLAN_NET_LO_UP) && (rc = net_lo_up(why, sizeof why)) < 0)
        setup_failed(-rc, "%s", why);
    wait_attached(a);
    /* The cgroup namespace is rooted here, now that the host moved us into
     * the sandbox's cgroup, so /proc/self/cgroup shows "/" only. */
    if (unshare(CLONE_NEWCGROUP) < 0)
        setup_failed(errno, "unshare CLONE_NEWCGROUP: %s", sb_errno_name(errno));
    if ((rc = creds_drop(a->plan.uid, a->plan.agent_uid, a->plan.gid, why, sizeof why)) < 0)
        setup_failed(-rc, "%s", why);
    /* Changing credentials cleared the parent-death signal: re-arm it. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
        setup_failed(errno, "prctl: %s", sb_errno_name(errno));
}

static void setup_signals_and_filter(struct agent *a)
{
    char why[512];
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
        setup_failed(errno, "sigprocmask: %s", sb_errno_name(errno));
    a->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (a->sigfd < 0)
        setup_failed(errno, "signalfd: %s", sb_errno_name(errno));
    a->notifyfd = -1;
    if (a->plan.bpf_len) {
        int want = (a->plan.flags & PLAN_SECCOMP_NOTIFY) != 0;
        int rc = creds_load_seccomp(a->plan.bpf, a->plan.bpf_len, want, why, sizeof why);
        if (rc < 0)
            setup_failed(-rc, "%s", why);
        if (want)
            a->notifyfd = rc;
    }
}

/* ---- the control channel ---- */

static void close_fds(int *fds, int n)
{
    for (int i = 0; i < n; i++)
        close(fds[i]);
}

static void on_control(struct agent *a)
{
    struct agent_hdr h;
    int fds[AGENT_MAX_FDS], nfds = 0;
    int rc = proto_recv(ctl, &h, a->rx, sizeof a->rx, fds, &nfds);
    if (rc == -EAGAIN || rc == -EINTR)
        return;
    if (rc <= 0)
        _exit(0); /* the host closed (or broke) the channel: end of the sandbox */
    switch (h.type) {
    case H_EXEC:
        agent_exec(a, h.id, a->rx, h.len, fds, nfds);
        return; /* it owns the fds */
    case H_GO:
        agent_go(a, h.id, a->rx, h.len);
        break;
    case H_SIGNAL:
        if (h.len == sizeof(struct agent_signal)) {
            struct agent_signal sg;
            memcpy(&sg, a->rx, sizeof sg);
            agent_signal(a, h.id, sg.sig);
        }
        break;
    case H_RESIZE:
        if (h.len == sizeof(struct agent_resize)) {
            struct agent_resize rz;
            memcpy(&rz, a->rx, sizeof rz);
            agent_resize(a, h.id, rz.rows, rz.cols);
        }
        break;
    case H_FILE:
        agent_file(a, &h, a->rx);
        break;
    case H_KILL_ALL:
        agent_kill_all();
        break;
    default:
        break; /* unknown: ignored, the host may be newer */
    }
    close_fds(fds, nfds);
}

static void loop(struct agent *a)
{
    static struct pollfd p[3 + AGENT_MAX_PROCS];
    static struct aproc *warm[AGENT_MAX_PROCS];
    for (;;) {
        p[0] = (struct pollfd){ctl, POLLIN, 0};
        p[1] = (struct pollfd){a->sigfd, POLLIN, 0};
        p[2] = (struct pollfd){a->notifyfd, POLLIN, 0};
        nfds_t n = 3, nwarm = 0;
        for (int i = 0; i < AGENT_MAX_PROCS; i++) {
            struct aproc *pr = &a->procs[i];
            if (pr->id && pr->warm_waiting) {
                warm[nwarm++] = pr;
                p[n++] = (struct pollfd){pr->warm_fd, POLLIN, 0};
            }
        }
        if (poll(p, n, -1) < 0) {
            if (errno == EINTR)
                continue;
            _exit(4);
        }
        if (p[2].revents & POLLIN)
            agent_seccomp_notify(a);
        if (p[1].revents & POLLIN)
            agent_reap(a);
        for (nfds_t i = 0; i < nwarm; i++)
            if (p[3 + i].revents & (POLLIN | POLLHUP | POLLERR))
                agent_warm_ready(a, warm[i]);
        if (p[0].revents & (POLLIN | POLLHUP | POLLERR))
            on_control(a);
    }
}

/* The spawner blocked every signal and the host may ignore some (SIGPIPE):
 * start from defaults so the programs see a clean slate after exec. */
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
    static struct agent a;
    for (int i = 0; i < AGENT_MAX_PROCS; i++)
        a.procs[i].warm_fd = a.procs[i].pty = -1;
    umask(0);
    reset_signals();
    /* Run from a memfd, the agent would show as "memfd:soulbox-a". */
    prctl(PR_SET_NAME, "soulbox-agent", 0, 0, 0);
    read_plan(&a);
    setup_sandbox(&a);
    setup_signals_and_filter(&a);
    struct agent_ready r = {AGENT_PROTO_VERSION, (int32_t)getpid()};
    agent_send(A_READY, 0, 0, 0, &r, sizeof r, NULL, 0);
    loop(&a);
    return 0;
}
