/* The namespace backend: a sandbox is an agent in fresh Linux namespaces, a cgroup and a unique uid. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "sandbox/namespaces.h"
#include "sandbox/plan.h"
#include "sandbox/sandbox_internal.h"

static int make_memfd(const char *name, const void *data, size_t len, struct sb_error *err)
{
    int fd = memfd_create(name, MFD_CLOEXEC);
    if (fd < 0)
        return sb_fail_errno(err, SB_E_SANDBOX_SETUP, errno, "memfd_create %s", name);
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd, (const char *)data + off, len - off);
        if (w < 0) {
            int e = errno;
            close(fd);
            return sb_fail_errno(err, SB_E_SANDBOX_SETUP, e, "write %s", name);
        }
        off += (size_t)w;
    }
    return fd;
}

int sbx_plan_bytes(struct sbx *s, const struct sbx_spec *spec, const struct layout_cfg *lc,
                   uint32_t uid, uint32_t agent_uid, bool new_net, uint8_t **buf, size_t *len,
                   struct sb_error *err)
{
    struct sbx_engine *e = s->e;
    struct layout_mem *mem = calloc(1, sizeof *mem);
    if (!mem)
        return sb_fail(err, SB_E_INTERNAL, "out of memory");
    struct layout_req req = {
        .uid = uid, .gid = uid, .agent_uid = agent_uid, .disk_bytes = s->lim.disk_kb * 1024,
        .new_net = new_net, .bpf = e->seccomp.bpf, .bpf_len = e->seccomp.len,
        .seccomp_notify = e->seccomp.notify, .extra_etc = spec->extra_etc,
        .extra_binds = spec->extra_binds, .pty = spec->pty, .home = spec->home,
    };
    while (req.extra_etc && req.extra_etc[req.n_extra_etc])
        req.n_extra_etc++;
    while (req.extra_binds && req.extra_binds[req.n_extra_binds])
        req.n_extra_binds++;
    struct plan p;
    int rc = -1;
    if (layout_build(lc, &req, &p, mem) < 0)
        sb_fail(err, SB_E_CONFIG, "sandbox layout has too many entries");
    else if (plan_encode(&p, buf, len) < 0)
        sb_fail(err, SB_E_INTERNAL, "out of memory encoding the plan");
    else
        rc = 0;
    free(mem);
    return rc;
}

/* The plan (root filesystem, uid, filter) as a memfd for the agent's fd 4. */
static int encode_plan(struct sbx *s, const struct sbx_spec *spec, struct sb_error *err)
{
    struct sbx_engine *e = s->e;
    uint8_t *buf = NULL;
    size_t len = 0;
    /* the agent's uid is outside the pool; config keeps uid_base >= 10000 */
    if (sbx_plan_bytes(s, spec, &e->cfg.layout, s->be.uid, e->uids.base - 1, !e->cfg.share_net,
                       &buf, &len, err) < 0)
        return -1;
    int fd = make_memfd("soulbox-plan", buf, len, err);
    free(buf);
    return fd;
}

static void on_agent_exit(uv_poll_t *p, int status, int events)
{
    struct sbx *s = p->data;
    (void)status;
    (void)events;
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (waitid((idtype_t)P_PIDFD, (id_t)s->be.pidfd, &si, WEXITED | WNOHANG) < 0 ||
        si.si_pid == 0)
        return;
    sbx_close_handle(&s->open_handles, (uv_handle_t *)&s->be.pid_poll, &s->be.pid_poll_on,
                     sbx_handle_closed);
    char how[64];
    snprintf(how, sizeof how, "%s %d", si.si_code == CLD_EXITED ? "exit" : "signal",
             si.si_status);
    sbx_agent_gone(s, how);
}

/* A clone that got as far as the agent but no further: undo it. */
static void abandon(struct sbx *s)
{
    syscall(SYS_pidfd_send_signal, s->be.pidfd, SIGKILL, NULL, 0);
    waitid((idtype_t)P_PIDFD, (id_t)s->be.pidfd, &(siginfo_t){0}, WEXITED);
    close(s->be.pidfd);
    s->be.pidfd = -1;
}

static void release_uid(struct sbx *s)
{
    if (s->be.have_uid)
        uidpool_release(&s->e->uids, s->be.uid);
    s->be.have_uid = false;
}

/* The sandbox's cgroup limits: its tasks count the agent too. */
static struct cg_limits cg_limits_of(const struct sbx_limits *l, bool background)
{
    return (struct cg_limits){.memory_bytes = l->memory_kb * 1024, .pids = l->processes + 1,
                              .cpu_percent = l->cpu_percent, .background = background};
}

/* On a thread of libuv's pool: the clone (the calling thread waits until
 * the agent's exec) and the cgroup. Touches only s->be and s->t, and reads the
 * engine's fixed settings. The agent's parent-death signal is tied to this
 * thread, which lives as long as the process. */
static void spawn_work(uv_work_t *w)
{
    struct sbx *s = w->data;
    struct sbx_engine *e = s->e;
    struct sbx_backend_state *b = &s->be;
    struct sb_error *err = &b->spawn_err;
    b->spawn_rc = -1;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, b->chan) < 0) {
        b->chan[0] = b->chan[1] = -1;
        sb_fail_errno(err, SB_E_SANDBOX_SETUP, errno, "socketpair");
        return;
    }
    struct ns_spawn_req req = {
        .agent_fd = e->agent_fd, .stdio = {e->null_fd, e->null_fd, e->null_fd},
        .control_fd = b->chan[1], .plan_fd = b->plan_fd, .share_net = e->cfg.share_net,
    };
    if (ns_spawn(&req, &b->pid, &b->pidfd, err) < 0)
        return;
    s->t.spawned = util_mono_ns();
    /* The cgroup is made while the agent builds the root filesystem. */
    if (cg_create(&e->cg, b->cg_name, &b->cl, &b->cg, err) < 0)
        return;
    int rc = cg_attach(&b->cg, b->pid);
    if (rc < 0) {
        sb_fail_errno(err, SB_E_SANDBOX_SETUP, -rc, "cgroup %s: attach agent", b->cg_name);
        return;
    }
    /* Egress: the namespace gets its routes, rules and SoulBox's sockets
     * before the agent can start anything in it. */
    if (s->network && net_engine_plumb(e->cfg.net, b->pidfd, &s->net_fds, err) < 0)
        return;
    /* The first frame on an empty channel: it always fits. */
    if ((rc = proto_send(b->chan[0], H_ATTACHED, 0, 0, 0, NULL, 0, NULL, 0)) < 0) {
        sb_fail_errno(err, SB_E_SANDBOX_SETUP, -rc, "send to agent");
        return;
    }
    s->t.attached = util_mono_ns();
    b->spawn_rc = 0;
}

static void close_spawn_fds(struct sbx_backend_state *b)
{
    int *fds[] = {&b->plan_fd, &b->chan[0], &b->chan[1]};
    for (size_t i = 0; i < sizeof fds / sizeof *fds; i++)
        if (*fds[i] >= 0) {
            close(*fds[i]);
            *fds[i] = -1;
        }
}

static void channel_up(struct sbx *s);

/* After the spawn, on the loop: its network, or on failure everything it
 * took given back (b->spawn_err says why). 0 or -1. */
static int spawn_finish(struct sbx *s)
{
    struct sbx_backend_state *b = &s->be;
    b->spawning = false;
    if (b->spawn_rc == 0 && sbx_net_start(s, &b->spawn_err) < 0)
        b->spawn_rc = -1;
    if (b->spawn_rc == 0)
        return 0;
    netns_fds_close(&s->net_fds);
    if (b->pidfd >= 0)
        abandon(s);
    struct sb_error ignored;
    cg_destroy(&b->cg, &ignored);
    release_uid(s);
    close_spawn_fds(b);
    return -1;
}

static void spawn_done(uv_work_t *w, int status)
{
    struct sbx *s = w->data;
    struct sbx_backend_state *b = &s->be;
    if (status < 0) /* it never ran (it is never cancelled) */
        b->spawn_rc = -1, sb_fail(&b->spawn_err, SB_E_INTERNAL, "spawn not run");
    if (spawn_finish(s) < 0) {
        sbx_start_failed(s, &b->spawn_err);
        return;
    }
    channel_up(s);
}

/* The agent runs: its control channel and exit watch. */
static void channel_up(struct sbx *s)
{
    struct sbx_backend_state *b = &s->be;
    s->ctl = b->chan[0], b->chan[0] = -1;
    close_spawn_fds(b);
    fcntl(s->ctl, F_SETFL, O_NONBLOCK);
    /* Room for the largest frame (an EXEC with a big environment). */
    int sndbuf = (int)AGENT_PAYLOAD_MAX * 2;
    setsockopt(s->ctl, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf);
    uv_poll_init(s->e->loop, &b->pid_poll, b->pidfd);
    b->pid_poll.data = s;
    b->pid_poll_on = true;
    uv_poll_start(&b->pid_poll, UV_READABLE, on_agent_exit);
    sbx_channel_open(s);
    if (b->killed) { /* killed while it was being spawned */
        b->killed = false;
        s->ops->kill(s);
    }
}

static int ns_start(struct sbx *s, const struct sbx_spec *spec, struct sb_error *err)
{
    struct sbx_engine *e = s->e;
    struct sbx_backend_state *b = &s->be;
    b->pidfd = b->plan_fd = b->chan[0] = b->chan[1] = -1;
    if (uidpool_acquire(&e->uids, &b->uid, err) < 0)
        return -1;
    b->have_uid = true;
    if ((b->plan_fd = encode_plan(s, spec, err)) < 0) {
        release_uid(s);
        return -1;
    }
    cg_make_name(b->cg_name, sizeof b->cg_name, ++e->seq);
    b->cl = cg_limits_of(&s->lim, spec->background);
    b->work.data = s;
    b->spawning = true;
    if (e->cfg.spawn_on_loop) {
        /* A failure is returned, not reported: sbx_create reports it from the
         * loop (its callbacks may free what called it). */
        spawn_work(&b->work);
        if (spawn_finish(s) < 0) {
            *err = b->spawn_err;
            return -1;
        }
        channel_up(s);
        return 0;
    }
    int rc = uv_queue_work(e->loop, &b->work, spawn_work, spawn_done);
    if (rc < 0) {
        b->spawning = false;
        close_spawn_fds(b);
        release_uid(s);
        return sb_fail(err, SB_E_INTERNAL, "queue the spawn: %s", uv_strerror(rc));
    }
    return 0;
}

/* Pipes for a process: stdin, stdout, stderr. The sandbox side belongs to
 * the program's uid, so it may reopen /dev/stdin (/proc/self/fd/0). */
static int ns_stdio(struct sbx *s, int agent_fds[3], int host_fds[3], struct sb_error *err)
{
    int p[3][2] = {{-1, -1}, {-1, -1}, {-1, -1}};
    for (int i = 0; i < 3; i++) {
        if (pipe2(p[i], O_CLOEXEC) < 0) {
            sb_fail_errno(err, SB_E_SANDBOX_SETUP, errno, "pipe2");
            goto fail;
        }
        int theirs = i == 0 ? p[i][0] : p[i][1];
        if (fchown(theirs, s->be.uid, s->be.uid) < 0) {
            sb_fail_errno(err, SB_E_SANDBOX_SETUP, errno, "fchown stdio pipe");
            goto fail;
        }
    }
    agent_fds[0] = p[0][0], host_fds[0] = p[0][1];
    agent_fds[1] = p[1][1], host_fds[1] = p[1][0];
    agent_fds[2] = p[2][1], host_fds[2] = p[2][0];
    return 0;
fail:
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 2; j++)
            if (p[i][j] >= 0)
                close(p[i][j]);
    return -1;
}

static void ns_kill(struct sbx *s)
{
    if (s->be.spawning) { /* done once the spawn is (spawn_done) */
        s->be.killed = true;
        return;
    }
    if (s->be.killed || s->be.pidfd < 0 || s->agent_gone)
        return;
    s->be.killed = true;
    /* pid 1 of the namespace: its death takes every sandbox process along. */
    syscall(SYS_pidfd_send_signal, s->be.pidfd, SIGKILL, NULL, 0);
}

static int ns_stats(struct sbx *s, struct sbx_stats *st)
{
    struct cg_stats cs;
    if (s->be.spawning || !s->be.cg.made)
        return -ENOENT;
    int rc = cg_stats(&s->be.cg, &cs);
    st->cpu_ns = cs.cpu_ns;
    st->memory_peak = cs.memory_peak;
    st->oom_kills = cs.oom_kills;
    return rc;
}

static int ns_cpu(struct sbx *s, uint64_t *ns)
{
    if (s->be.spawning || !s->be.cg.made)
        return -ENOENT;
    return cg_cpu_ns(&s->be.cg, ns);
}

static uint64_t ns_memory(const struct sbx *s)
{
    return !s->be.spawning && s->be.cg.made ? cg_memory_usage(&s->be.cg) : 0;
}

static void ns_reset_peak(struct sbx *s)
{
    if (!s->be.spawning && s->be.cg.made)
        cg_reset_peak(&s->be.cg);
}

static int ns_set_limits(struct sbx *s, const struct sbx_limits *l, struct sb_error *err)
{
    struct cg_limits cl = cg_limits_of(l, false);
    int rc = cg_update(&s->be.cg, &cl);
    if (rc < 0)
        return sb_fail_errno(err, SB_E_SANDBOX_SETUP, -rc, "adjusting its cgroup");
    return 0;
}

static int ns_release(struct sbx *s, struct sb_error *err)
{
    int rc = cg_destroy(&s->be.cg, err);
    release_uid(s);
    if (s->be.pidfd >= 0)
        close(s->be.pidfd);
    s->be.pidfd = -1;
    return rc;
}

const struct sbx_backend_ops sbx_ns_backend = {
    .name = "namespaces", .start = ns_start, .stdio = ns_stdio, .kill = ns_kill,
    .stats = ns_stats, .cpu = ns_cpu, .memory = ns_memory, .reset_peak = ns_reset_peak,
    .set_limits = ns_set_limits, .release = ns_release,
};
