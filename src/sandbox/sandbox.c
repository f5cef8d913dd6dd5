/* Host side: one sandboxed run on the event loop: spawn, watch limits, capture output, clean up. */
#include "sandbox/sandbox.h"
#include "sandbox/sandbox_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "sandbox/namespaces.h"
#include "sandbox/plan.h"
#include "sandbox/proto.h"
#include "sandbox/rlimits.h"

#define SETUP_TIMEOUT_MS 30000
#define CPU_POLL_MIN_MS 5



/* ---- killing ---- */

void sbx_kill_agent(struct sbx *s)
{
    if (s->killed || s->agent_done || s->pidfd < 0)
        return;
    s->killed = true;
    /* pid 1 of the namespace: its death takes every sandbox process along. */
    syscall(SYS_pidfd_send_signal, s->pidfd, SIGKILL, NULL, 0);
}

static void stop_timers(struct sbx *s)
{
    uv_timer_stop(&s->setup_timer);
    uv_timer_stop(&s->wall_timer);
    uv_timer_stop(&s->cpu_timer);
}

static void on_setup_timeout(uv_timer_t *t)
{
    struct sbx *s = t->data;
    if (!s->started && !s->r.failed) {
        s->r.failed = true;
        sb_fail(&s->r.error, SB_E_SANDBOX_SETUP, "sandbox setup timed out after %d ms",
                SETUP_TIMEOUT_MS);
    }
    sbx_kill_agent(s);
}

static void on_wall_timeout(uv_timer_t *t)
{
    struct sbx *s = t->data;
    if (s->r.exited)
        return;
    /* libuv times timers from the loop's cached clock, which a busy loop
     * iteration leaves behind: never end a program before its wall time. */
    uint64_t ran_ms = (util_mono_ns() - s->t_started) / 1000000u;
    if (ran_ms < s->lim.wall_ms) {
        uv_timer_start(&s->wall_timer, on_wall_timeout, s->lim.wall_ms - ran_ms, 0);
        return;
    }
    s->r.wall_exceeded = true;
    sbx_kill_agent(s);
}

static void on_cpu_poll(uv_timer_t *t)
{
    struct sbx *s = t->data;
    uint64_t used;
    if (s->r.exited || cg_cpu_ns(&s->cg, &used) < 0)
        return;
    used = used > s->cpu_base_ns ? used - s->cpu_base_ns : 0;
    uint64_t limit = s->lim.cpu_ms * 1000000u;
    if (used >= limit) {
        s->r.cpu_exceeded = true;
        sbx_kill_agent(s);
        return;
    }
    /* CPU time grows at most `cores` times faster than the clock, so the
     * limit cannot be reached before (limit - used) / cores: check then. The
     * intervals shrink as the limit nears; the overrun is at most
     * CPU_POLL_MIN_MS x cores, and idle or short programs are never polled. */
    unsigned cores = s->e->cg.ncpus;
    if (s->lim.cpu_percent && s->lim.cpu_percent < 100 * cores)
        cores = (s->lim.cpu_percent + 99) / 100;
    uint64_t next = (limit - used) / 1000000u / (cores ? cores : 1);
    if (next < CPU_POLL_MIN_MS)
        next = CPU_POLL_MIN_MS;
    uv_timer_start(&s->cpu_timer, on_cpu_poll, next, 0);
}

static void maybe_report_early(struct sbx *s);

static void free_now(struct sbx *s)
{
    sbx_result_free(&s->r);
    free(s->stdin_copy);
    free(s->fetch_path);
    free(s);
}

static void close_cb(uv_handle_t *h)
{
    struct sbx *s = h->data;
    if (--s->open_handles != 0 || !s->finishing)
        return;
    struct sbx_engine *e = s->e;
    s->cleaned = true;
    if (!s->reported) {
        s->reported = true;
        s->done(s, s->arg);
    } else if (s->released) {
        free_now(s);
    }
    sbx_engine_idle_check(e);
}

void sbx_close_handle(struct sbx *s, uv_handle_t *h, bool *on)
{
    if (!*on)
        return;
    *on = false;
    s->open_handles++;
    uv_close(h, close_cb);
}

/* ---- control messages ---- */

static void set_oom_adj(pid_t pid)
{
    /* The OOM killer must pick the program, never the agent that reports it. */
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/oom_score_adj", (int)pid);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (write(fd, "-1000", 5) < 0) {
            /* best effort: the agent is tiny and rarely chosen anyway */
        }
        close(fd);
    }
}

static void close_control(struct sbx *s)
{
    if (s->ctl_poll_on)
        sbx_close_handle(s, (uv_handle_t *)&s->ctl_poll, &s->ctl_poll_on);
    if (s->ctl >= 0) {
        close(s->ctl); /* the agent sees EOF and exits, ending the sandbox */
        s->ctl = -1;
    }
}

static void on_started(struct sbx *s)
{
    s->started = true;
    s->t_started = s->r.t.started = util_mono_ns();
    uv_timer_stop(&s->setup_timer);
    cg_cpu_ns(&s->cg, &s->cpu_base_ns);
    set_oom_adj(s->pid);
    uv_update_time(s->e->loop); /* the timer counts from now, not from the loop's last tick */
    uv_timer_start(&s->wall_timer, on_wall_timeout, s->lim.wall_ms, 0);
    on_cpu_poll(&s->cpu_timer);
}

static void on_exited(struct sbx *s, const struct agent_msg *m)
{
    s->r.exited = true;
    s->r.t.exited = util_mono_ns();
    stop_timers(s);
    if (WIFSIGNALED(m->status))
        s->r.term_signal = WTERMSIG(m->status);
    else
        s->r.exit_code = WEXITSTATUS(m->status);
    s->r.wall_ns = m->wall_ns;
    s->agent_cpu_ns = m->agent_cpu_ns;
    s->have_agent_cpu = true;
    if (m->seccomp_nr >= 0) {
        s->r.seccomp_nr = m->seccomp_nr;
        seccomp_syscall_name(m->seccomp_nr, m->seccomp_arch, s->r.seccomp_name,
                             sizeof s->r.seccomp_name);
    }
    if (s->fetch_path && !s->r.wall_exceeded && !s->r.cpu_exceeded) {
        struct agent_msg q;
        memset(&q, 0, sizeof q);
        q.type = HOST_FETCH;
        snprintf(q.text, sizeof q.text, "%s", s->fetch_path);
        if (proto_send(s->ctl, &q, -1) == 0)
            return; /* the reply closes the control channel */
    }
    close_control(s);
}

static void on_file(struct sbx *s, const struct agent_msg *m, int fd)
{
    struct stat st;
    if (fd < 0) {
        s->r.artifact_errno = m->err ? m->err : EIO;
    } else if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        s->r.artifact_errno = EINVAL;
    } else if ((uint64_t)st.st_size > s->fetch_max) {
        s->r.artifact_errno = EFBIG;
    } else if (!(s->r.artifact = malloc((size_t)st.st_size + 1))) {
        s->r.artifact_errno = ENOMEM;
    } else {
        size_t got = 0;
        ssize_t n;
        while (got < (size_t)st.st_size &&
               (n = pread(fd, s->r.artifact + got, (size_t)st.st_size - got, (off_t)got)) > 0)
            got += (size_t)n;
        s->r.artifact_len = got;
        if (got != (size_t)st.st_size)
            s->r.artifact_errno = EIO;
    }
    if (fd >= 0)
        close(fd);
    close_control(s);
}

static void on_control(uv_poll_t *p, int status, int events)
{
    struct sbx *s = p->data;
    (void)events;
    for (;;) {
        struct agent_msg m;
        int fd = -1;
        int rc = status < 0 ? -EIO : proto_recv(s->ctl, &m, &fd);
        if (rc == -EAGAIN)
            return;
        if (rc <= 0) {
            close_control(s); /* the agent is gone; its exit is seen on the pidfd */
            return;
        }
        switch (m.type) {
        case AGENT_READY:
            s->r.t.ready = util_mono_ns();
            if (s->pooled && s->waiting && !s->ready) {
                s->ready = true;
                uv_timer_stop(&s->setup_timer); /* it may wait as long as it likes */
                if (s->ready_cb)
                    s->ready_cb(s, s->arg);
            }
            break;
        case AGENT_STARTED:
            on_started(s);
            break;
        case AGENT_EXITED:
            on_exited(s, &m);
            maybe_report_early(s);
            break;
        case AGENT_FILE:
            on_file(s, &m, fd);
            fd = -1;
            break;
        case AGENT_FAILED:
            s->r.failed = true;
            sb_fail(&s->r.error, SB_E_SANDBOX_SETUP, "sandbox setup: %s", m.text);
            break;
        default:
            break;
        }
        if (fd >= 0)
            close(fd);
        if (s->ctl < 0)
            return;
    }
}

static void on_agent_exit(uv_poll_t *p, int status, int events)
{
    struct sbx *s = p->data;
    (void)status;
    (void)events;
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (waitid((idtype_t)P_PIDFD, (id_t)s->pidfd, &si, WEXITED | WNOHANG) < 0 || si.si_pid == 0)
        return;
    s->agent_done = true;
    s->r.t.reaped = util_mono_ns();
    stop_timers(s);
    sbx_close_handle(s, (uv_handle_t *)&s->pid_poll, &s->pid_poll_on);
    /* Read what the agent still had queued, then stop listening. */
    if (s->ctl >= 0)
        on_control(&s->ctl_poll, 0, UV_READABLE);
    close_control(s);
    if (!s->r.exited && !s->r.failed && !s->killed) {
        s->r.failed = true;
        sb_fail(&s->r.error, SB_E_INTERNAL, "sandbox agent ended unexpectedly (%s %d)",
                si.si_code == CLD_EXITED ? "exit" : "signal", si.si_status);
    }
    sbx_maybe_finish(s);
}

/* ---- finishing ---- */

static void collect_stats(struct sbx *s)
{
    struct cg_stats st;
    if (!s->cg.ctx || !s->cg.made)
        return;
    cg_stats(&s->cg, &st);
    /* Cold: the cgroup's CPU minus the agent's own. Warm: minus everything
     * before the program was handed its code (the interpreter's start). */
    uint64_t base = s->have_agent_cpu && !s->warm ? s->agent_cpu_ns : s->cpu_base_ns;
    s->r.cpu_ns = st.cpu_ns > base ? st.cpu_ns - base : 0;
    s->r.memory_peak = st.memory_peak;
    s->r.oom_killed = st.oom_kills > 0;
    if (!s->r.exited && s->started)
        s->r.wall_ns = util_mono_ns() - s->t_started;
    if (s->r.cpu_ns >= s->lim.cpu_ms * 1000000u && s->started)
        s->r.cpu_exceeded = true;
    if (!s->r.exited && s->killed)
        s->r.term_signal = SIGKILL;
}

static void finish(struct sbx *s)
{
    s->finishing = true;
    stop_timers(s);
    if (!s->reported)
        collect_stats(s);
    struct sb_error err;
    if (cg_destroy(&s->cg, &err) < 0) {
        if (!s->reported && !s->r.failed) {
            s->r.failed = true;
            s->r.error = err;
        } else {
            log_msg(LOG_ERROR, "sandbox clean-up: %s", err.msg);
        }
    }
    if (s->have_uid)
        uidpool_release(&s->e->uids, s->uid);
    s->have_uid = false;
    if (s->pidfd >= 0)
        close(s->pidfd);
    s->pidfd = -1;
    close_control(s);
    sbx_close_handle(s, (uv_handle_t *)&s->pid_poll, &s->pid_poll_on);
    sbx_close_handle(s, (uv_handle_t *)&s->out_pipe, &s->out_on);
    sbx_close_handle(s, (uv_handle_t *)&s->err_pipe, &s->err_on);
    sbx_close_handle(s, (uv_handle_t *)&s->in_pipe, &s->in_on);
    bool t = true, t2 = true, t3 = true;
    sbx_close_handle(s, (uv_handle_t *)&s->setup_timer, &t);
    sbx_close_handle(s, (uv_handle_t *)&s->wall_timer, &t2);
    sbx_close_handle(s, (uv_handle_t *)&s->cpu_timer, &t3);
    s->e->active--;
    if (!s->reported)
        s->r.t.finished = util_mono_ns();
}

/* The program has ended and said so, all its output is in, and nothing is
 * to be fetched: the result is final even though the agent, its namespaces
 * and the cgroup are still going away. Reporting now takes that teardown
 * (milliseconds) off every request's latency. */
static void maybe_report_early(struct sbx *s)
{
    if (s->reported || !s->r.exited || s->fetch_path || s->out_on || s->err_on ||
        s->r.failed || s->killed)
        return;
    collect_stats(s);
    s->r.t.finished = util_mono_ns();
    s->reported = true;
    s->done(s, s->arg);
}

void sbx_maybe_finish(struct sbx *s)
{
    if (s->finishing)
        return;
    maybe_report_early(s);
    if (s->pidfd >= 0 && !s->agent_done)
        return;
    if (s->out_on || s->err_on)
        return;
    finish(s);
}

/* ---- starting ---- */

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

static int encode_plan(struct sbx *s, const struct sbx_spec *spec, struct sb_error *err)
{
    struct sbx_engine *e = s->e;
    struct layout_mem *mem = calloc(1, sizeof *mem);
    struct plan_file *files = calloc(spec->nfiles ? spec->nfiles : 1, sizeof *files);
    struct plan_rlimit rl[PLAN_MAX_RLIMITS];
    struct plan p;
    int fd = -1;
    if (!mem || !files) {
        sb_fail(err, SB_E_INTERNAL, "out of memory");
        goto out;
    }
    struct layout_req req = {
        .uid = s->uid, .gid = s->uid,
        .agent_uid = e->uids.base - 1, /* outside the pool; config keeps uid_base >= 10000 */
        .disk_bytes = s->lim.disk_kb * 1024,
        .new_net = !e->cfg.share_net, .bpf = e->seccomp.bpf, .bpf_len = e->seccomp.len,
        .seccomp_notify = e->seccomp.notify, .extra_etc = spec->extra_etc,
        .extra_binds = spec->extra_binds,
    };
    while (req.extra_etc && req.extra_etc[req.n_extra_etc])
        req.n_extra_etc++;
    while (req.extra_binds && req.extra_binds[req.n_extra_binds])
        req.n_extra_binds++;
    if (layout_build(&e->cfg.layout, &req, &p, mem) < 0) {
        sb_fail(err, SB_E_CONFIG, "sandbox layout has too many entries");
        goto out;
    }
    if (s->fetch_path)
        p.flags |= PLAN_LINGER;
    for (size_t i = 0; i < spec->nfiles; i++) {
        files[i].path = spec->files[i].path;
        files[i].data = spec->files[i].data;
        files[i].len = spec->files[i].len;
        files[i].mode = spec->files[i].mode;
    }
    struct rlimits_spec rs = {
        .cpu_ms = s->lim.cpu_ms, .file_size_kb = s->lim.file_size_kb,
        .open_files = s->lim.open_files, .stack_kb = s->lim.stack_kb,
        .processes = s->lim.processes + 1, /* the agent runs as the same uid */
    };
    if (s->pooled && !s->warm) {
        p.has_exec = false; /* the program comes with GO */
        goto encode;
    }
    if (s->warm)
        p.flags |= PLAN_WARM_START;
    p.has_exec = true;
    p.exec.cwd = e->cfg.layout.workdir;
    p.exec.args = (const char **)spec->argv;
    p.exec.n_args = (uint32_t)spec->argc;
    p.exec.env = (const char **)spec->env;
    p.exec.n_env = (uint32_t)spec->envc;
    p.exec.files = files;
    p.exec.n_files = (uint32_t)spec->nfiles;
    p.exec.rlimits = rl;
    p.exec.n_rlimits = rlimits_build(&rs, rl);
encode:;
    uint8_t *buf;
    size_t len;
    if (plan_encode(&p, &buf, &len) < 0) {
        sb_fail(err, SB_E_INTERNAL, "out of memory encoding the plan");
        goto out;
    }
    fd = make_memfd("soulbox-plan", buf, len, err);
    free(buf);
out:
    free(mem);
    free(files);
    return fd;
}

static int join_cgroup(struct sbx *s, struct sb_error *err)
{
    char name[64];
    cg_make_name(name, sizeof name, ++s->e->seq);
    struct cg_limits cl = {
        .memory_bytes = s->lim.memory_kb * 1024,
        .pids = s->lim.processes + 1,
        .cpu_percent = s->lim.cpu_percent,
        .background = s->pooled,
    };
    if (cg_create(&s->e->cg, name, &cl, &s->cg, err) < 0)
        return -1;
    int rc = cg_attach(&s->cg, s->pid);
    if (rc < 0)
        return sb_fail_errno(err, SB_E_SANDBOX_SETUP, -rc, "cgroup %s: attach agent", name);
    struct agent_msg m;
    memset(&m, 0, sizeof m);
    m.type = HOST_ATTACHED;
    if ((rc = proto_send(s->ctl, &m, -1)) < 0)
        return sb_fail_errno(err, SB_E_SANDBOX_SETUP, -rc, "send to agent");
    return 0;
}

/* Everything up to the clone. Returns 0 or -1 with s->r.error set. */
static int launch(struct sbx *s, const struct sbx_spec *spec)
{
    struct sbx_engine *e = s->e;
    struct sb_error *err = &s->r.error;
    int plan_fd = -1, sp[2] = {-1, -1}, out[2] = {-1, -1}, er[2] = {-1, -1}, in[2] = {-1, -1};
    int rc = -1;
    if (uidpool_acquire(&e->uids, &s->uid, err) < 0)
        return -1;
    s->have_uid = true;
    if ((plan_fd = encode_plan(s, spec, err)) < 0)
        goto out;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0 ||
        pipe2(out, O_CLOEXEC) < 0 || pipe2(er, O_CLOEXEC) < 0) {
        sb_fail_errno(err, SB_E_SANDBOX_SETUP, errno, "socketpair/pipe2");
        goto out;
    }
    if (s->stdin_copy || s->interactive || s->pooled) {
        if (pipe2(in, O_CLOEXEC) < 0) {
            sb_fail_errno(err, SB_E_SANDBOX_SETUP, errno, "pipe2 stdin");
            goto out;
        }
    } else if ((in[0] = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
        sb_fail_errno(err, SB_E_SANDBOX_SETUP, errno, "open /dev/null");
        goto out;
    }
    struct ns_spawn_req req = {
        .agent_fd = e->agent_fd, .stdio = {in[0], out[1], er[1]}, .control_fd = sp[1],
        .plan_fd = plan_fd, .share_net = e->cfg.share_net,
    };
    if (ns_spawn(&req, &s->pid, &s->pidfd, err) < 0)
        goto out;
    s->r.t.spawned = util_mono_ns();
    s->ctl = sp[0], sp[0] = -1;
    /* The cgroup is made while the agent builds the root filesystem. */
    if (join_cgroup(s, err) < 0) {
        sbx_kill_agent(s);
        close(s->ctl);
        s->ctl = -1;
        waitid((idtype_t)P_PIDFD, (id_t)s->pidfd, &(siginfo_t){0}, WEXITED);
        close(s->pidfd);
        s->pidfd = -1;
        goto out;
    }
    s->r.t.attached = util_mono_ns();
    fcntl(s->ctl, F_SETFL, O_NONBLOCK);
    uv_pipe_init(e->loop, &s->out_pipe, 0);
    uv_pipe_init(e->loop, &s->err_pipe, 0);
    uv_pipe_open(&s->out_pipe, out[0]), out[0] = -1, s->out_on = true;
    uv_pipe_open(&s->err_pipe, er[0]), er[0] = -1, s->err_on = true;
    if (in[1] >= 0) {
        uv_pipe_init(e->loop, &s->in_pipe, 0);
        uv_pipe_open(&s->in_pipe, in[1]), in[1] = -1, s->in_on = true;
    }
    sbx_stdio_start(s);
    uv_poll_init(e->loop, &s->pid_poll, s->pidfd);
    uv_poll_init(e->loop, &s->ctl_poll, s->ctl);
    s->pid_poll.data = s->ctl_poll.data = s;
    s->pid_poll_on = s->ctl_poll_on = true;
    uv_poll_start(&s->pid_poll, UV_READABLE, on_agent_exit);
    uv_poll_start(&s->ctl_poll, UV_READABLE, on_control);
    uv_timer_start(&s->setup_timer, on_setup_timeout, SETUP_TIMEOUT_MS, 0);
    rc = 0;
out:
    int fds[] = {plan_fd, sp[0], sp[1], out[0], out[1], er[0], er[1], in[0], in[1]};
    for (size_t i = 0; i < sizeof fds / sizeof *fds; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    return rc;
}

static void on_failed_start(uv_timer_t *t)
{
    sbx_maybe_finish(t->data);
}

struct sbx *sbx_start(struct sbx_engine *e, const struct sbx_spec *spec, sbx_done_cb done,
                      sbx_output_cb output, void *arg, struct sb_error *err)
{
    struct sbx *s = calloc(1, sizeof *s);
    if (!s)
        return sb_fail(err, SB_E_INTERNAL, "out of memory"), NULL;
    s->e = e;
    s->done = done;
    s->output = output;
    s->arg = arg;
    s->lim = spec->limits;
    s->pidfd = s->ctl = -1;
    s->r.seccomp_nr = -1;
    s->interactive = spec->interactive;
    s->pooled = spec->pooled;
    s->warm = spec->pooled && spec->warm;
    s->waiting = spec->pooled;
    if (spec->stdin_data) {
        s->stdin_copy = malloc(spec->stdin_len ? spec->stdin_len : 1);
        if (s->stdin_copy)
            memcpy(s->stdin_copy, spec->stdin_data, spec->stdin_len);
        s->stdin_len = spec->stdin_len;
    }
    if (spec->fetch_path) {
        s->fetch_path = strdup(spec->fetch_path);
        s->fetch_max = spec->fetch_max;
    }
    if ((spec->stdin_data && !s->stdin_copy) || (spec->fetch_path && !s->fetch_path)) {
        free(s->stdin_copy);
        free(s->fetch_path);
        free(s);
        return sb_fail(err, SB_E_INTERNAL, "out of memory"), NULL;
    }
    uv_timer_init(e->loop, &s->setup_timer);
    uv_timer_init(e->loop, &s->wall_timer);
    uv_timer_init(e->loop, &s->cpu_timer);
    s->setup_timer.data = s->wall_timer.data = s->cpu_timer.data = s;
    e->active++;
    s->r.t.start = util_mono_ns();
    if (launch(s, spec) < 0) {
        s->r.failed = true;
        /* Report from the loop, never from inside sbx_start. */
        uv_timer_start(&s->setup_timer, on_failed_start, 0, 0);
    }
    return s;
}

void sbx_cancel(struct sbx *s)
{
    if (s->finishing)
        return;
    s->r.cancelled = true;
    sbx_kill_agent(s);
    sbx_output_resume(s); /* the pipes must drain for the sandbox to end */
}

/* ---- pooled sandboxes ---- */

void sbx_on_ready(struct sbx *s, sbx_ready_cb ready)
{
    s->ready_cb = ready;
}

bool sbx_is_ready(const struct sbx *s)
{
    return s->ready && s->waiting && !s->finishing && !s->r.failed && !s->r.exited;
}

uint64_t sbx_memory(const struct sbx *s)
{
    return s->cg.made ? cg_memory_usage(&s->cg) : 0;
}

/* The GO message: the program's files, limits and (warm) input. */
static int send_go(struct sbx *s, const struct sbx_go *go, struct sb_error *err)
{
    struct plan_file *files = calloc(go->nfiles ? go->nfiles : 1, sizeof *files);
    if (!files)
        return sb_fail(err, SB_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < go->nfiles; i++)
        files[i] = (struct plan_file){go->files[i].path, go->files[i].mode,
                                      go->files[i].data, go->files[i].len};
    struct plan_rlimit rl[PLAN_MAX_RLIMITS];
    struct rlimits_spec rs = {
        .cpu_ms = go->limits.cpu_ms, .file_size_kb = go->limits.file_size_kb,
        .open_files = go->limits.open_files, .stack_kb = go->limits.stack_kb,
        .processes = go->limits.processes + 1,
    };
    struct plan_exec pe = {
        .cwd = s->e->cfg.layout.workdir, .args = (const char **)go->argv,
        .n_args = (uint32_t)go->argc, .env = (const char **)go->env, .n_env = (uint32_t)go->envc,
        .files = files, .n_files = (uint32_t)go->nfiles, .rlimits = rl,
        .n_rlimits = rlimits_build(&rs, rl), .input = go->input, .input_len = go->input_len,
    };
    uint8_t *buf;
    size_t len;
    int rc = plan_exec_encode(&pe, &buf, &len);
    free(files);
    if (rc < 0)
        return sb_fail(err, SB_E_INTERNAL, "out of memory encoding the program");
    int fd = make_memfd("soulbox-go", buf, len, err);
    free(buf);
    if (fd < 0)
        return -1;
    struct agent_msg m;
    memset(&m, 0, sizeof m);
    m.type = HOST_GO;
    rc = proto_send(s->ctl, &m, fd);
    close(fd);
    return rc < 0 ? sb_fail_errno(err, SB_E_SANDBOX_SETUP, -rc, "send GO") : 0;
}

int sbx_go(struct sbx *s, const struct sbx_go *go, sbx_done_cb done, sbx_output_cb output,
           void *arg, struct sb_error *err)
{
    if (!sbx_is_ready(s) || s->ctl < 0)
        return sb_fail(err, SB_E_INTERNAL, "the pooled sandbox is not ready");
    if (go->limits.disk_kb != s->lim.disk_kb)
        return sb_fail(err, SB_E_INVALID_ARGUMENT, "its disk size is fixed");
    struct cg_limits cl = {go->limits.memory_kb * 1024, go->limits.processes + 1,
                           go->limits.cpu_percent};
    int rc = cg_update(&s->cg, &cl);
    if (rc < 0)
        return sb_fail_errno(err, SB_E_SANDBOX_SETUP, -rc, "adjusting its cgroup");
    if (send_go(s, go, err) < 0)
        return -1;
    cg_reset_peak(&s->cg);
    s->waiting = false;
    s->done = done;
    s->output = output;
    s->arg = arg;
    s->lim = go->limits;
    s->interactive = go->interactive;
    sb_buf_reset(&s->r.out); /* anything a warm interpreter said while waiting */
    sb_buf_reset(&s->r.err);
    s->r.t.start = util_mono_ns();
    uv_timer_start(&s->setup_timer, on_setup_timeout, SETUP_TIMEOUT_MS, 0);
    sbx_stdio_claimed(s, go->stdin_data, go->stdin_len);
    return 0;
}

void sbx_kill(struct sbx *s)
{
    if (s->finishing || s->r.exited)
        return;
    s->r.killed_on_request = true;
    sbx_kill_agent(s);
    sbx_output_resume(s);
}

const struct sbx_result *sbx_result(const struct sbx *s)
{
    return &s->r;
}

struct sbx_result *sbx_result_mut(struct sbx *s)
{
    return &s->r;
}

void sbx_result_free(struct sbx_result *r)
{
    sb_buf_free(&r->out);
    sb_buf_free(&r->err);
    free(r->artifact);
    r->artifact = NULL;
}

void sbx_free(struct sbx *s)
{
    if (!s)
        return;
    if (!s->cleaned) { /* reported early: the clean-up frees it */
        s->released = true;
        return;
    }
    free_now(s);
}
