/* soulbox vm-agent: pid 1 of a microVM guest. Builds the sandbox inside the guest as the namespace backend does on a host, and relays frames between the host and the inner agent. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/random.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "sandbox/cgroup.h"
#include "sandbox/namespaces.h"
#include "sandbox/plan.h"
#include "sandbox/sandbox.h"
#include "vm/guest.h"
#include "vm/guest_net.h"
#include "vm/stream.h"

/*
 * The guest's /init (vm/init.c) mounted the host's runtimes read-only, a
 * tmpfs on /run and /tmp and a pure cgroup v2 hierarchy, then exec'd this.
 * One guest, one sandbox: the host sends H_VM_START with the plan it built
 * for the sandbox (the same as a namespace sandbox's), this spawns the
 * static agent in fresh namespaces and a cgroup of the guest, and from then
 * on passes frames through, making the pipes the agent's processes get (no
 * descriptor crosses the virtio-serial port) and reporting the cgroup's
 * figures. When the inner agent ends, the guest powers off.
 */

#define STATE_DIR "/run/soulbox-vm"
#define MAX_PROCS 512
#define TX_HIGH (4u << 20) /* stop reading output while this much waits for the host */

struct gproc {
    bool used, exited, pty;
    uint32_t id;
    int in;          /* stdin's write end (or the pty master), -1 */
    int out[3];      /* [1] stdout's read end (or the pty master), [2] stderr's */
    struct sb_buf inq;
    bool in_eof;     /* close stdin once inq is written */
};

struct guest {
    int port;
    struct vm_rx rx;
    struct sb_buf tx;
    int ctl;
    pid_t agent_pid;
    int agent_pidfd;
    struct cg_ctx cgx;
    struct cg cg;
    bool started;
    uint32_t uid;
    struct gproc procs[MAX_PROCS];
    uint8_t *frame;
};

static struct guest G;

static void __attribute__((noreturn)) power_off(void)
{
    sync();
    reboot(RB_POWER_OFF);
    _exit(1);
}

static void send_frame(uint16_t type, uint32_t id, int32_t err, uint32_t flags, const void *p,
                       uint32_t len)
{
    if (vm_tx_frame(&G.tx, type, id, err, flags, p, len) < 0)
        power_off(); /* out of memory: the host sees the guest end */
}

static void send_text(uint16_t type, uint32_t id, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void send_text(uint16_t type, uint32_t id, int err, const char *fmt, ...)
{
    char text[1024];
    uint8_t buf[1100];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    size_t n = proto_text_encode(text, buf, sizeof buf);
    send_frame(type, id, err, 0, buf, (uint32_t)n);
}

/* The virtio-serial port the host named "sbx". */
static int open_port(void)
{
    for (int tries = 0; tries < 500; tries++) {
        DIR *d = opendir("/sys/class/virtio-ports");
        struct dirent *de;
        while (d && (de = readdir(d))) {
            if (de->d_name[0] == '.')
                continue;
            char path[300], name[64] = "";
            snprintf(path, sizeof path, "/sys/class/virtio-ports/%s/name", de->d_name);
            FILE *f = fopen(path, "r");
            if (!f)
                continue;
            if (!fgets(name, sizeof name, f))
                name[0] = '\0';
            fclose(f);
            name[strcspn(name, "\n")] = '\0';
            if (strcmp(name, "sbx"))
                continue;
            snprintf(path, sizeof path, "/dev/%s", de->d_name);
            int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
            closedir(d);
            return fd;
        }
        if (d)
            closedir(d);
        usleep(10000); /* virtio probing is asynchronous */
    }
    errno = ENODEV;
    return -1;
}

static struct gproc *proc_get(uint32_t id)
{
    for (int i = 0; i < MAX_PROCS; i++)
        if (G.procs[i].used && G.procs[i].id == id)
            return &G.procs[i];
    return NULL;
}

static struct gproc *proc_new(uint32_t id)
{
    for (int i = 0; i < MAX_PROCS; i++)
        if (!G.procs[i].used) {
            struct gproc *p = &G.procs[i];
            memset(p, 0, sizeof *p);
            p->used = true;
            p->id = id;
            p->in = p->out[0] = p->out[1] = p->out[2] = -1;
            return p;
        }
    return NULL;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static void proc_maybe_free(struct gproc *p)
{
    if (!p->exited || p->out[1] >= 0 || p->out[2] >= 0)
        return;
    if (!p->pty)
        close_fd(&p->in);
    sb_buf_free(&p->inq);
    p->used = false;
}

static void send_stats(void)
{
    struct agent_vm_stats st = {0};
    struct cg_stats cs;
    if (G.started && cg_stats(&G.cg, &cs) == 0) {
        st.cpu_ns = cs.cpu_ns;
        st.memory_peak = cs.memory_peak;
        st.oom_kills = cs.oom_kills;
    }
    if (G.started)
        st.memory_current = cg_memory_usage(&G.cg);
    send_frame(A_STATS, 0, 0, 0, &st, sizeof st);
}

static struct cg_limits cg_limits_from(const struct agent_vm_limits *l)
{
    return (struct cg_limits){.memory_bytes = l->memory_bytes, .pids = l->pids,
                              .cpu_percent = l->cpu_percent};
}

static int mkdir_p(const char *path, mode_t mode)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *s = tmp + 1; (s = strchr(s, '/')); s++) {
        *s = '\0';
        if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
            return -1;
        *s = '/';
    }
    return mkdir(tmp, mode) < 0 && errno != EEXIST ? -1 : 0;
}

static void seed_entropy(const uint8_t seed[32])
{
    struct {
        struct rand_pool_info info;
        uint8_t bytes[32];
    } r;
    r.info.entropy_count = 256;
    r.info.buf_size = 32;
    memcpy(r.bytes, seed, 32);
    int fd = open("/dev/urandom", O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        ioctl(fd, RNDADDENTROPY, &r);
        /* now, not at the next scheduled reseed: guests restored from one
         * snapshot start with the same generator state */
        ioctl(fd, RNDRESEEDCRNG);
        close(fd);
    }
}

/* H_VM_START: the sandbox, as ns_backend.c makes one on a host. */
static int start_sandbox(const uint8_t *payload, uint32_t len, struct sb_error *err)
{
    struct agent_vm_start st;
    if (len <= sizeof st)
        return sb_fail(err, SB_E_SANDBOX_SETUP, "VM start frame too short");
    memcpy(&st, payload, sizeof st);
    const uint8_t *plan = payload + sizeof st;
    size_t plan_len = len - sizeof st;
    struct timespec ts = {.tv_sec = st.realtime_ns / 1000000000,
                          .tv_nsec = st.realtime_ns % 1000000000};
    clock_settime(CLOCK_REALTIME, &ts);
    seed_entropy(st.seed);
    struct plan p;
    const char *why;
    if (plan_decode(plan, plan_len, &p, &why) < 0)
        return sb_fail(err, SB_E_SANDBOX_SETUP, "VM start: bad plan: %s", why);
    int rc = mkdir_p(p.staging, 0700);
    plan_free(&p);
    if (rc < 0)
        return sb_fail_errno(err, SB_E_SANDBOX_SETUP, errno, "mkdir staging");
    G.uid = st.uid;
    bool net = st.flags & AGENT_VM_NET;
    if (net && (guest_net_up(err) < 0 || guest_dns_open(err) < 0))
        return -1;
    int plan_fd = memfd_create("soulbox-plan", MFD_CLOEXEC);
    if (plan_fd < 0 || write(plan_fd, plan, plan_len) != (ssize_t)plan_len)
        return sb_fail_errno(err, SB_E_SANDBOX_SETUP, errno, "plan memfd");
    int agent_fd = sbx_agent_binary(STATE_DIR, err);
    if (agent_fd < 0)
        return -1;
    int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    int chan[2];
    if (null_fd < 0 || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, chan) < 0)
        return sb_fail_errno(err, SB_E_SANDBOX_SETUP, errno, "socketpair");
    struct cg_limits cl = cg_limits_from(&st.limits);
    if (cg_create(&G.cgx, "sbx-1-1", &cl, &G.cg, err) < 0)
        return -1;
    struct ns_spawn_req req = {.agent_fd = agent_fd, .stdio = {null_fd, null_fd, null_fd},
                               .control_fd = chan[1], .plan_fd = plan_fd, .share_net = net};
    if (ns_spawn(&req, &G.agent_pid, &G.agent_pidfd, err) < 0)
        return -1;
    close(chan[1]);
    close(plan_fd);
    close(agent_fd);
    close(null_fd);
    if ((rc = cg_attach(&G.cg, G.agent_pid)) < 0)
        return sb_fail_errno(err, SB_E_SANDBOX_SETUP, -rc, "cgroup: attach agent");
    G.ctl = chan[0];
    int sndbuf = (int)AGENT_PAYLOAD_MAX * 2;
    setsockopt(G.ctl, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf);
    if ((rc = proto_send(G.ctl, H_ATTACHED, 0, 0, 0, NULL, 0, NULL, 0)) < 0)
        return sb_fail_errno(err, SB_E_SANDBOX_SETUP, -rc, "send to agent");
    G.started = true;
    return 0;
}

/* H_EXEC: pipes for the process (the sandbox's uid owns its ends). */
static void on_exec(const struct agent_hdr *h, const uint8_t *payload)
{
    struct gproc *p = proc_get(h->id) ? NULL : proc_new(h->id);
    if (!p) {
        send_text(A_EXEC_FAILED, h->id, EMFILE, "guest agent: too many processes");
        return;
    }
    int fds[3] = {-1, -1, -1}, n = 0;
    if (h->flags & AGENT_F_VM_NOSTDIO) {
        p->pty = true; /* its terminal comes with STARTED */
    } else {
        int pp[3][2];
        for (n = 0; n < 3; n++)
            if (pipe2(pp[n], O_CLOEXEC) < 0)
                break;
        if (n < 3) {
            int e = errno;
            for (int i = 0; i < n; i++)
                close(pp[i][0]), close(pp[i][1]);
            p->used = false;
            send_text(A_EXEC_FAILED, h->id, e, "guest agent: pipe2: %s", sb_errno_name(e));
            return;
        }
        fds[0] = pp[0][0], p->in = pp[0][1];
        fds[1] = pp[1][1], p->out[1] = pp[1][0];
        fds[2] = pp[2][1], p->out[2] = pp[2][0];
        for (int i = 0; i < 3; i++)
            if (fchown(fds[i], G.uid, G.uid) < 0) {
            }
        fcntl(p->in, F_SETFL, O_NONBLOCK);
        fcntl(p->out[1], F_SETFL, O_NONBLOCK);
        fcntl(p->out[2], F_SETFL, O_NONBLOCK);
    }
    int rc = proto_send(G.ctl, h->type, h->id, h->err, h->flags & ~AGENT_F_VM_NOSTDIO, payload,
                        h->len, fds, n == 3 ? 3 : 0);
    for (int i = 0; i < 3; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    if (rc < 0)
        power_off(); /* the inner agent is gone */
}

static void on_host_frame(const struct agent_hdr *h, const uint8_t *payload)
{
    struct gproc *p;
    struct agent_vm_limits l;
    struct sb_error err = {0};
    switch (h->type) {
    case H_VM_START:
        if (G.started)
            return;
        if (start_sandbox(payload, h->len, &err) < 0)
            send_text(A_FAILED, 0, EIO, "microVM guest: %s",
                      err.msg);
        return;
    case H_STDIN:
        if ((p = proc_get(h->id)) && p->in >= 0 && !p->in_eof)
            sb_buf_append(&p->inq, payload, h->len);
        return;
    case H_STDIN_EOF:
        if ((p = proc_get(h->id)))
            p->in_eof = true;
        return;
    case H_LIMITS:
        if (G.started && h->len == sizeof l) {
            memcpy(&l, payload, sizeof l);
            struct cg_limits cl = cg_limits_from(&l);
            cg_update(&G.cg, &cl);
        }
        return;
    case H_STATS:
        send_stats();
        return;
    case H_RESET_PEAK:
        if (G.started)
            cg_reset_peak(&G.cg);
        return;
    }
    if (!G.started)
        return;
    if (h->type == H_EXEC) {
        on_exec(h, payload);
        return;
    }
    if (proto_send(G.ctl, h->type, h->id, h->err, h->flags, payload, h->len, NULL, 0) < 0)
        power_off();
}

static void on_agent_frame(const struct agent_hdr *h, const uint8_t *payload, int *fds, int nfds)
{
    struct gproc *p = proc_get(h->id);
    if (h->type == A_STARTED && nfds == 1 && p && p->pty && p->out[1] < 0) {
        p->in = p->out[1] = fds[0];
        fcntl(fds[0], F_SETFL, O_NONBLOCK);
        nfds = 0;
    }
    for (int i = 0; i < nfds; i++)
        close(fds[i]);
    if (h->type == A_EXITED) {
        send_stats(); /* the figures the host's result is built from */
        if (p) {
            p->exited = true;
            if (!p->pty)
                close_fd(&p->in);
        }
    }
    if (h->type == A_EXEC_FAILED && p)
        p->exited = true; /* its pipes reach EOF: the agent closed its ends */
    send_frame(h->type, h->id, h->err, h->flags, payload, h->len);
    if (p)
        proc_maybe_free(p);
}

/* Test hooks (the host sets them only when its SOULBOX_TEST_VM_HOOKS is
 * set, for make check-microvm): a program that prints a marker makes the
 * guest kernel panic, as root in a privileged guest could, or the guest
 * stop answering. Never on otherwise. */
static void test_hooks(const uint8_t *data, size_t n)
{
    static int on = -1;
    if (on < 0)
        on = getenv("SOULBOX_VM_TEST_HOOKS") != NULL;
    if (!on)
        return;
    if (memmem(data, n, "SOULBOX-TEST-GUEST-PANIC", 24)) {
        int fd = open("/proc/sysrq-trigger", O_WRONLY | O_CLOEXEC);
        if (fd >= 0 && write(fd, "c", 1) < 0)
            close(fd);
    }
    if (memmem(data, n, "SOULBOX-TEST-GUEST-HANG", 23))
        for (;;)
            pause();
}

static void read_output(struct gproc *p, int stream)
{
    static uint8_t buf[AGENT_REPLY_MAX];
    ssize_t n = read(p->out[stream], buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n > 0) {
        test_hooks(buf, (size_t)n);
        send_frame(A_OUT, p->id, 0, (uint32_t)stream, buf, (uint32_t)n);
        return;
    }
    /* EOF, or EIO from a pty whose last holder is gone */
    send_frame(A_OUT_EOF, p->id, 0, (uint32_t)stream, NULL, 0);
    if (p->pty)
        p->in = -1;
    close_fd(&p->out[stream]);
    proc_maybe_free(p);
}

static void write_input(struct gproc *p)
{
    if (p->inq.len) {
        ssize_t n = write(p->in, p->inq.data, p->inq.len);
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            sb_buf_reset(&p->inq); /* EPIPE: nobody reads it any more */
            if (!p->pty)
                close_fd(&p->in);
            return;
        }
        if (n > 0)
            sb_buf_drop(&p->inq, (size_t)n);
    }
    if (!p->inq.len && p->in_eof && !p->pty)
        close_fd(&p->in);
}

static void on_port(void)
{
    for (;;) {
        ssize_t n = vm_rx_fill(&G.rx, G.port);
        if (n == 0 || (n < 0 && n != -EAGAIN && n != -ENOBUFS))
            power_off(); /* the host closed the port */
        struct agent_hdr h;
        const uint8_t *payload;
        int rc;
        while ((rc = vm_rx_next(&G.rx, &h, &payload)) == 1)
            on_host_frame(&h, payload);
        if (rc < 0)
            power_off(); /* a malformed frame: nothing after it can be trusted */
        if (n < 0)
            return;
    }
}

static void on_ctl(void)
{
    struct agent_hdr h;
    int fds[AGENT_MAX_FDS], nfds = 0;
    int rc = proto_recv(G.ctl, &h, G.frame, AGENT_PAYLOAD_MAX, fds, &nfds);
    if (rc == -EAGAIN || rc == -EINTR)
        return;
    if (rc <= 0) {
        close_fd(&G.ctl); /* its end: the agent's pidfd follows */
        return;
    }
    on_agent_frame(&h, G.frame, fds, nfds);
}

static void on_agent_gone(void)
{
    siginfo_t si = {0};
    waitid((idtype_t)P_PIDFD, (id_t)G.agent_pidfd, &si, WEXITED | WNOHANG);
    /* Output still in the pipes, then the last frames, then off. */
    for (int i = 0; i < MAX_PROCS; i++)
        for (int s = 1; s <= 2; s++)
            while (G.procs[i].used && G.procs[i].out[s] >= 0)
                read_output(&G.procs[i], s);
    fcntl(G.port, F_SETFL, 0);
    vm_tx_flush(&G.tx, G.port);
    power_off();
}

static void loop(void)
{
    enum { N = 3 + 3 * MAX_PROCS + 3 };
    struct pollfd pf[N];
    struct gproc *who[N];
    int what[N];
    for (;;) {
        int n = 0;
        pf[n++] = (struct pollfd){G.port, POLLIN | (G.tx.len ? POLLOUT : 0), 0};
        pf[n++] = (struct pollfd){G.ctl, POLLIN, 0};
        pf[n++] = (struct pollfd){G.started ? G.agent_pidfd : -1, POLLIN, 0};
        int dns[3], n_dns = guest_dns_fds(dns);
        for (int i = 0; i < n_dns; i++) {
            who[n] = NULL, what[n] = -1;
            pf[n++] = (struct pollfd){dns[i], POLLIN, 0};
        }
        for (int i = 0; i < MAX_PROCS; i++) {
            struct gproc *p = &G.procs[i];
            if (!p->used)
                continue;
            for (int s = 1; s <= 2; s++)
                if (p->out[s] >= 0 && G.tx.len < TX_HIGH) {
                    who[n] = p, what[n] = s;
                    pf[n++] = (struct pollfd){p->out[s], POLLIN, 0};
                }
            if (p->in >= 0 && (p->inq.len || (p->in_eof && !p->pty))) {
                who[n] = p, what[n] = 0;
                pf[n++] = (struct pollfd){p->in, POLLOUT, 0};
            }
        }
        if (poll(pf, (nfds_t)n, -1) < 0) {
            if (errno == EINTR)
                continue;
            power_off();
        }
        if (pf[0].revents & POLLOUT && vm_tx_flush(&G.tx, G.port) < 0)
            power_off();
        if (pf[0].revents & (POLLIN | POLLHUP | POLLERR))
            on_port();
        if (pf[1].revents)
            on_ctl();
        for (int i = 3; i < n; i++) {
            if (pf[i].revents && what[i] < 0) {
                guest_dns_ready(pf[i].fd);
                continue;
            }
            if (!pf[i].revents || !who[i]->used)
                continue;
            if (what[i] == 0) {
                if (who[i]->in == pf[i].fd)
                    write_input(who[i]);
            } else if (who[i]->out[what[i]] == pf[i].fd) {
                read_output(who[i], what[i]);
            }
        }
        if (pf[2].revents)
            on_agent_gone();
        if (G.tx.len && vm_tx_flush(&G.tx, G.port) < 0)
            power_off();
    }
}

int vm_guest_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    signal(SIGPIPE, SIG_IGN);
    struct sb_error err = {0};
    G.ctl = G.agent_pidfd = -1;
    if (ns_init(&err) < 0 || vm_rx_init(&G.rx) < 0 ||
        !(G.frame = malloc(AGENT_PAYLOAD_MAX))) {
        fprintf(stderr, "vm-agent: %s\n", err.msg[0] ? err.msg : "out of memory");
        power_off();
    }
    if ((G.port = open_port()) < 0) {
        fprintf(stderr, "vm-agent: no virtio-serial port named sbx: %s\n", strerror(errno));
        power_off();
    }
    mkdir_p(STATE_DIR, 0700);
    struct agent_vm_up up = {.version = AGENT_PROTO_VERSION};
    struct utsname u;
    if (uname(&u) == 0)
        snprintf(up.kernel, sizeof up.kernel, "%s", u.release);
    if (cg_init(&G.cgx, "soulbox", &err) < 0) {
        send_text(A_FAILED, 0, EIO, "microVM guest: %s",
                  err.msg);
    } else {
        send_frame(A_VM_UP, 0, 0, 0, &up, sizeof up);
    }
    loop();
    return 0;
}
