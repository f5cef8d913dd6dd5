/* A process in a sandbox: its EXEC, its limits (wall, CPU, output), its kill, and its result. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "sandbox/plan.h"
#include "sandbox/rlimits.h"
#include "sandbox/sandbox_internal.h"

#define CPU_POLL_MIN_MS 5
/* EXEC (or GO) to STARTED, or a warm program's ready byte: an agent that
 * takes longer is stuck, and so is its sandbox. */
#define START_TIMEOUT_MS 30000
/* After a process (not alone in its sandbox) exits, what it left holding
 * its output pipes gets this long before the pipes are closed on it. */
#define DRAIN_MS 500

static void on_drain_timeout(uv_timer_t *t);

struct sbx_proc *proc_find(struct sbx *s, uint32_t id)
{
    for (size_t i = 0; i < s->nprocs; i++)
        if (s->procs[i]->id == id)
            return s->procs[i];
    return NULL;
}

static void unlist(struct sbx_proc *p)
{
    struct sbx *s = p->s;
    for (size_t i = 0; i < s->nprocs; i++) {
        if (s->procs[i] == p) {
            memmove(&s->procs[i], &s->procs[i + 1], (s->nprocs - i - 1) * sizeof *s->procs);
            s->nprocs--;
            return;
        }
    }
}

/* ---- killing ---- */

/* Ends it now: a sole process takes its sandbox along (the fastest sure
 * kill: pid 1 goes and the kernel kills the rest); another gets SIGKILL to
 * its process group. */
static void kill_now(struct sbx_proc *p)
{
    if (p->state >= P_EXITED || p->kill_sent)
        return;
    p->kill_sent = true;
    if (p->state == P_QUEUED) { /* never sent: it ends here, from the loop */
        uv_timer_start(&p->drain_timer, on_drain_timeout, 0, 0);
        return;
    }
    if (p->flags & PEXEC_SOLE) {
        sbx_kill(p->s, NULL);
        return;
    }
    struct agent_signal sg = {SIGKILL};
    if (p->state != P_QUEUED)
        sbx_send(p->s, H_SIGNAL, p->id, 0, &sg, sizeof sg, NULL, 0);
}

void proc_limit_hit(struct sbx_proc *p)
{
    kill_now(p);
    sbx_proc_output_resume(p); /* the pipes must drain for it to end */
}

static void stop_timers(struct sbx_proc *p)
{
    uv_timer_stop(&p->wall_timer);
    uv_timer_stop(&p->cpu_timer);
}

static void on_wall_timeout(uv_timer_t *t)
{
    struct sbx_proc *p = t->data;
    if (p->state != P_RUNNING)
        return;
    /* libuv times timers from the loop's cached clock, which a busy loop
     * iteration leaves behind: never end a program before its wall time. */
    uint64_t ran_ms = (util_mono_ns() - p->t_started) / 1000000u;
    if (ran_ms < p->lim.wall_ms) {
        uv_timer_start(&p->wall_timer, on_wall_timeout, p->lim.wall_ms - ran_ms, 0);
        return;
    }
    p->r.wall_exceeded = true;
    proc_limit_hit(p);
}

static void on_start_timeout(uv_timer_t *t)
{
    struct sbx_proc *p = t->data;
    if (p->state != P_STARTING)
        return;
    char why[96];
    snprintf(why, sizeof why, "sandbox agent: the process did not start within %d ms",
             START_TIMEOUT_MS);
    if (!p->r.failed) {
        p->r.failed = true;
        sb_fail(&p->r.error, SB_E_SANDBOX_SETUP, "%s", why);
    }
    sbx_kill(p->s, why);
}

static void start_clock(struct sbx_proc *p)
{
    uv_timer_start(&p->wall_timer, on_start_timeout, START_TIMEOUT_MS, 0);
}

static uint64_t cgroup_cpu(struct sbx_proc *p)
{
    uint64_t ns;
    return p->s->ops->cpu(p->s, &ns) == 0 ? ns : 0;
}

/* A sole process's CPU limit covers its whole sandbox (the cgroup). */
static void poll_cpu_after(struct sbx_proc *p, uint64_t used);

static void on_cpu_poll(uv_timer_t *t)
{
    struct sbx_proc *p = t->data;
    if (p->state != P_RUNNING)
        return;
    uint64_t used = cgroup_cpu(p);
    poll_cpu_after(p, used > p->cpu_base_ns ? used - p->cpu_base_ns : 0);
}

/* Checks the limit against `used` and schedules the next look. */
static void poll_cpu_after(struct sbx_proc *p, uint64_t used)
{
    uint64_t limit = p->lim.cpu_ms * 1000000u;
    if (used >= limit) {
        p->r.cpu_exceeded = true;
        proc_limit_hit(p);
        return;
    }
    /* CPU time grows at most `cores` times faster than the clock, so the
     * limit cannot be reached before (limit - used) / cores: check then. The
     * intervals shrink as the limit nears; the overrun is at most
     * CPU_POLL_MIN_MS x cores, and idle or short programs are never polled. */
    unsigned cores = p->s->e->cg.ncpus;
    if (p->s->lim.cpu_percent && p->s->lim.cpu_percent < 100 * cores)
        cores = (p->s->lim.cpu_percent + 99) / 100;
    uint64_t next = (limit - used) / 1000000u / (cores ? cores : 1);
    if (next < CPU_POLL_MIN_MS)
        next = CPU_POLL_MIN_MS;
    uv_timer_start(&p->cpu_timer, on_cpu_poll, next, 0);
}

/* ---- the result ---- */

static void collect_sole(struct sbx_proc *p)
{
    struct sbx_stats st;
    if (p->s->ops->stats(p->s, &st) < 0)
        return;
    /* Cold: the cgroup's CPU minus the agent's own. Warm: minus everything
     * before the program was handed its code (the interpreter's start). */
    uint64_t base = p->agent_cpu_known && !(p->flags & PEXEC_WARM) ? p->agent_cpu_ns
                                                                     : p->cpu_base_ns;
    p->r.cpu_ns = st.cpu_ns > base ? st.cpu_ns - base : 0;
    p->r.memory_peak = st.memory_peak;
    p->r.oom_killed = st.oom_kills > p->oom_base;
}

static void collect_shared(struct sbx_proc *p)
{
    struct sbx_stats st;
    p->r.cpu_ns = p->exit_msg.cpu_ns;
    p->r.memory_peak = p->exit_msg.maxrss_kb * 1024;
    if (p->s->ops->stats(p->s, &st) == 0)
        p->r.oom_killed = st.oom_kills > p->oom_base && p->r.term_signal == SIGKILL;
}

/* What it used, once it is gone (or being torn down). */
static void collect(struct sbx_proc *p)
{
    const struct sbx_times *t = &p->s->t;
    p->r.t.spawned = t->spawned;
    p->r.t.attached = t->attached;
    if (!(p->flags & PEXEC_WARM))
        p->r.t.ready = t->ready;
    if (p->state == P_QUEUED || (p->r.failed && !p->t_started))
        return;
    if (p->flags & PEXEC_SOLE)
        collect_sole(p);
    else
        collect_shared(p);
    bool started = p->t_started != 0;
    if (!p->r.exited && started)
        p->r.wall_ns = util_mono_ns() - p->t_started;
    if (started && p->lim.cpu_ms && p->r.cpu_ns >= p->lim.cpu_ms * 1000000u)
        p->r.cpu_exceeded = true;
    if (!p->r.exited && (p->kill_sent || p->s->end.destroyed))
        p->r.term_signal = SIGKILL;
}

static void free_proc(struct sbx_proc *p)
{
    for (int i = 0; i < 3; i++)
        if (p->agent_fds[i] >= 0)
            close(p->agent_fds[i]);
    sbx_result_free(&p->r);
    free(p->stdin_copy);
    free(p->exec);
    free(p);
}

static void close_handles(struct sbx_proc *p)
{
    stop_timers(p);
    uv_timer_stop(&p->drain_timer);
    stdio_close(p);
    bool t1 = true, t2 = true, t3 = true;
    sbx_close_handle(&p->open_handles, (uv_handle_t *)&p->wall_timer, &t1, proc_handle_closed);
    sbx_close_handle(&p->open_handles, (uv_handle_t *)&p->cpu_timer, &t2, proc_handle_closed);
    sbx_close_handle(&p->open_handles, (uv_handle_t *)&p->drain_timer, &t3, proc_handle_closed);
}

/* Done once its end is known and its output is in: the result goes out
 * (before the sandbox's own teardown, which takes that off the latency),
 * its handles close, and the sandbox may end. */
void proc_maybe_done(struct sbx_proc *p)
{
    if (p->state != P_EXITED || p->out_on || p->err_on)
        return;
    p->state = P_DONE;
    p->r.t.finished = util_mono_ns();
    close_handles(p);
    if (!p->freed && p->cb.exited)
        p->cb.exited(p, p->arg);
}

/* Its last handle closed after it was done: it leaves its sandbox (which
 * may end now) and is freed if its owner is done with it. */
void proc_handle_closed(uv_handle_t *h)
{
    struct sbx_proc *p = h->data;
    if (--p->open_handles == 0 && p->state == P_DONE) {
        struct sbx *s = p->s;
        unlist(p);
        if (p->freed)
            free_proc(p);
        sbx_maybe_gone(s);
    }
}

static void finish(struct sbx_proc *p);

/* After its exit: what it left behind keeps the pipes, stop listening. Before
 * (a process killed before it was sent): it ends now. */
static void on_drain_timeout(uv_timer_t *t)
{
    struct sbx_proc *p = t->data;
    stdio_close(p);
    if (p->state == P_QUEUED) {
        if (!p->r.killed_on_request)
            p->r.cancelled = true;
        finish(p);
        return;
    }
    proc_maybe_done(p);
}

/* The process has ended (or cannot run): stop its clocks, take its figures. */
static void finish(struct sbx_proc *p)
{
    if (p->state >= P_EXITED)
        return;
    stop_timers(p);
    collect(p);
    p->state = P_EXITED;
    if (p->out_on || p->err_on)
        uv_timer_start(&p->drain_timer, on_drain_timeout, DRAIN_MS, 0);
    proc_maybe_done(p);
}

static void on_exited(struct sbx_proc *p, const uint8_t *payload, uint32_t len)
{
    if (len != sizeof p->exit_msg)
        return;
    memcpy(&p->exit_msg, payload, sizeof p->exit_msg);
    const struct agent_exited *m = &p->exit_msg;
    p->r.exited = true;
    p->r.t.exited = util_mono_ns();
    if (WIFSIGNALED(m->status))
        p->r.term_signal = WTERMSIG(m->status);
    else
        p->r.exit_code = WEXITSTATUS(m->status);
    p->r.wall_ns = m->wall_ns;
    p->agent_cpu_ns = m->agent_cpu_ns;
    p->agent_cpu_known = true;
    if (m->agent_cpu_ns > p->s->agent_cpu_ns)
        p->s->agent_cpu_ns = m->agent_cpu_ns;
    if (m->seccomp_nr >= 0) {
        p->s->e->seccomp_kills++;
        p->r.seccomp_nr = m->seccomp_nr;
        seccomp_syscall_name(m->seccomp_nr, m->seccomp_arch, p->r.seccomp_name,
                             sizeof p->r.seccomp_name);
    }
    finish(p);
}

static void on_exec_failed(struct sbx_proc *p, const struct agent_hdr *h, const uint8_t *payload)
{
    const char *text = NULL, *why;
    proto_reply_decode(payload, h->len, NULL, NULL, NULL, &text, &why);
    p->r.failed = true;
    p->r.exec_failed = true;
    p->r.exec_errno = h->err;
    sb_fail(&p->r.error, SB_E_SANDBOX_SETUP, "sandbox setup: %s",
            text ? text : "the process could not start");
    if (p->flags & PEXEC_SOLE)
        sbx_kill(p->s, NULL); /* nothing else runs there */
    stdio_close(p);
    finish(p);
}

static void on_started(struct sbx_proc *p, const uint8_t *payload, uint32_t len, const int *fds,
                       int nfds)
{
    struct agent_started st;
    if (len != sizeof st || p->state >= P_RUNNING)
        return;
    memcpy(&st, payload, sizeof st);
    if (st.has_pty && nfds == 1) {
        p->pty = fds[0];
        stdio_start(p);
    }
    p->state = P_RUNNING;
    p->t_started = p->r.t.started = util_mono_ns();
    p->cpu_base_ns = cgroup_cpu(p);
    uv_timer_stop(&p->wall_timer);
    uv_update_time(p->s->e->loop); /* the timer counts from now, not from the loop's last tick */
    if (p->lim.wall_ms)
        uv_timer_start(&p->wall_timer, on_wall_timeout, p->lim.wall_ms, 0);
    if ((p->flags & PEXEC_SOLE) && p->lim.cpu_ms)
        poll_cpu_after(p, 0); /* nothing used yet: the first look is due later */
    if (p->cb.started)
        p->cb.started(p, p->arg);
}

void proc_on_frame(struct sbx_proc *p, const struct agent_hdr *h, const uint8_t *payload,
                   const int *fds, int nfds)
{
    bool kept = false;
    switch (h->type) {
    case A_STARTED:
        on_started(p, payload, h->len, fds, nfds);
        kept = p->pty >= 0 && nfds == 1 && p->pty == fds[0];
        break;
    case A_EXEC_FAILED:
        on_exec_failed(p, h, payload);
        break;
    case A_EXITED:
        on_exited(p, payload, h->len);
        break;
    case A_WARM_READY:
        if (p->state == P_STARTING) {
            uv_timer_stop(&p->wall_timer);
            p->state = P_WARM;
            p->r.t.ready = util_mono_ns();
            if (p->cb.warm_ready)
                p->cb.warm_ready(p, p->arg);
        }
        break;
    }
    for (int i = 0; i < nfds; i++)
        if (!kept)
            close(fds[i]);
}

void proc_sandbox_gone(struct sbx_proc *p)
{
    p->r.t.reaped = util_mono_ns();
    if (p->state >= P_EXITED)
        return;
    struct sbx *s = p->s;
    if (!p->r.killed_on_request && !p->r.wall_exceeded && !p->r.cpu_exceeded &&
        !p->r.output_exceeded) {
        if (s->end.failed && !p->r.failed) {
            p->r.failed = true;
            p->r.error = s->end.error;
        } else if (s->end.destroyed) {
            p->r.cancelled = true;
        }
    }
    finish(p);
}

/* ---- starting ---- */

/* Sends its EXEC (with the stdio fds it holds) once the sandbox is ready. */
void proc_ready(struct sbx_proc *p)
{
    if (p->state != P_QUEUED)
        return;
    int fds[3], nfds = 0;
    if (!(p->flags & PEXEC_PTY)) {
        fds[0] = p->agent_fds[0], fds[1] = p->agent_fds[1], fds[2] = p->agent_fds[2];
        nfds = 3;
        p->agent_fds[0] = p->agent_fds[1] = p->agent_fds[2] = -1;
    }
    p->state = P_STARTING;
    int rc = sbx_send(p->s, H_EXEC, p->id, 0, p->exec, p->exec_len, fds, nfds);
    free(p->exec);
    p->exec = NULL;
    start_clock(p);
    for (int sig = 1; rc == 0 && sig < 64; sig++)
        if (p->pending_sigs & (1ull << sig))
            sbx_proc_signal(p, sig);
    p->pending_sigs = 0;
    if (rc == 0 && p->pending_rows)
        sbx_proc_resize(p, p->pending_rows, p->pending_cols);
    if (rc < 0) {
        p->r.failed = true;
        sb_fail(&p->r.error, SB_E_INTERNAL, "out of memory");
        stdio_close(p);
        finish(p);
    }
}

static int encode_exec(struct sbx_proc *p, const struct sbx_exec *x, struct sb_error *err)
{
    struct plan_rlimit rl[PLAN_MAX_RLIMITS];
    struct rlimits_spec rs = {
        .cpu_ms = x->limits.cpu_ms, .file_size_kb = x->limits.file_size_kb,
        .open_files = x->limits.open_files, .stack_kb = x->limits.stack_kb,
        .processes = x->limits.processes + 1, /* the agent runs as the same uid */
    };
    struct plan_exec pe = {
        .flags = p->flags, .cwd = x->cwd ? x->cwd : p->s->e->cfg.layout.workdir,
        .args = (const char **)x->argv, .n_args = (uint32_t)x->argc,
        .env = (const char **)x->env, .n_env = (uint32_t)x->envc, .rlimits = rl,
        .n_rlimits = rlimits_build(&rs, rl), .rows = x->rows, .cols = x->cols,
    };
    size_t len;
    if (plan_exec_encode(&pe, &p->exec, &len) < 0)
        return sb_fail(err, SB_E_INTERNAL, "out of memory encoding the program");
    if (len > AGENT_PAYLOAD_MAX)
        return sb_fail(err, SB_E_INVALID_ARGUMENT, "the program's arguments and environment "
                       "take %zu bytes; at most %u are allowed", len, AGENT_PAYLOAD_MAX);
    p->exec_len = (uint32_t)len;
    return 0;
}

static int check_exec(const struct sbx *s, const struct sbx_exec *x, struct sb_error *err)
{
    if (s->state >= SBX_ENDING)
        return sb_fail(err, SB_E_UNAVAILABLE, "the sandbox is ending");
    if (x->argc == 0 || !x->argv[0] || !x->argv[0][0])
        return sb_fail(err, SB_E_INVALID_ARGUMENT, "no program to run");
    if (x->cwd && !plan_path_ok(x->cwd))
        return sb_fail(err, SB_E_INVALID_ARGUMENT, "cwd must be a normalised absolute path");
    if (x->pty && (x->warm || !x->rows || !x->cols))
        return sb_fail(err, SB_E_INVALID_ARGUMENT, "a terminal needs rows and cols (and no "
                       "warm start)");
    if (x->sole && s->nprocs)
        return sb_fail(err, SB_E_INVALID_ARGUMENT, "a sole process must be the only one");
    return 0;
}

static struct sbx_proc *proc_new(struct sbx *s, const struct sbx_exec *x)
{
    struct sbx_proc *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    if (x->stdin_data && !(p->stdin_copy = malloc(x->stdin_len ? x->stdin_len : 1))) {
        free(p);
        return NULL;
    }
    if (s->nprocs == s->procs_cap) {
        size_t cap = s->procs_cap ? s->procs_cap * 2 : 4;
        struct sbx_proc **v = realloc(s->procs, cap * sizeof *v);
        if (!v) {
            free(p->stdin_copy);
            free(p);
            return NULL;
        }
        s->procs = v;
        s->procs_cap = cap;
    }
    if (x->stdin_data)
        memcpy(p->stdin_copy, x->stdin_data, x->stdin_len);
    p->stdin_len = x->stdin_len;
    p->s = s;
    p->id = s->next_id++;
    p->lim = x->limits;
    p->interactive = x->interactive;
    p->forward_only = x->forward_only;
    p->pty = p->agent_fds[0] = p->agent_fds[1] = p->agent_fds[2] = -1;
    p->r.seccomp_nr = -1;
    p->flags = (x->sole ? PEXEC_SOLE : 0) | (x->warm ? PEXEC_WARM : 0) | (x->pty ? PEXEC_PTY : 0);
    return p;
}

static void init_timers(struct sbx_proc *p)
{
    uv_loop_t *loop = p->s->e->loop;
    uv_timer_init(loop, &p->wall_timer);
    uv_timer_init(loop, &p->cpu_timer);
    uv_timer_init(loop, &p->drain_timer);
    p->wall_timer.data = p->cpu_timer.data = p->drain_timer.data = p;
}

struct sbx_proc *sbx_exec(struct sbx *s, const struct sbx_exec *x,
                          const struct sbx_proc_callbacks *cb, void *arg, struct sb_error *err)
{
    if (check_exec(s, x, err) < 0)
        return NULL;
    struct sbx_proc *p = proc_new(s, x);
    if (!p)
        return sb_fail(err, SB_E_INTERNAL, "out of memory"), NULL;
    p->cb = *cb;
    p->arg = arg;
    int host[3] = {-1, -1, -1};
    if (encode_exec(p, x, err) < 0 ||
        (!x->pty && s->ops->stdio(s, p->agent_fds, host, err) < 0)) {
        free_proc(p);
        return NULL;
    }
    s->procs[s->nprocs++] = p;
    init_timers(p);
    struct sbx_stats st;
    if (!x->sole && s->ops->stats(s, &st) == 0)
        p->oom_base = st.oom_kills;
    p->r.t.start = util_mono_ns();
    if (!x->pty)
        stdio_open(p, host);
    /* Sent at once, even before the sandbox is ready: the agent takes it
     * after its setup, in order, without a round trip. */
    proc_ready(p);
    return p;
}

/* ---- a warm program's run ---- */

int sbx_proc_go(struct sbx_proc *p, const struct sbx_go *go, const struct sbx_proc_callbacks *cb,
                void *arg, struct sb_error *err)
{
    if (p->state != P_WARM || p->s->state != SBX_READY)
        return sb_fail(err, SB_E_INTERNAL, "the warm program is not waiting");
    struct plan_rlimit rl[PLAN_MAX_RLIMITS];
    struct rlimits_spec rs = {
        .cpu_ms = go->limits.cpu_ms, .file_size_kb = go->limits.file_size_kb,
        .open_files = go->limits.open_files, .stack_kb = go->limits.stack_kb,
        .processes = go->limits.processes + 1,
    };
    struct plan_exec pe = {.rlimits = rl, .n_rlimits = rlimits_build(&rs, rl),
                           .input = go->input, .input_len = go->input_len};
    uint8_t *buf;
    size_t len;
    if (plan_exec_encode(&pe, &buf, &len) < 0)
        return sb_fail(err, SB_E_INTERNAL, "out of memory encoding the program");
    if (len > AGENT_PAYLOAD_MAX) {
        free(buf);
        return sb_fail(err, SB_E_INVALID_ARGUMENT, "the program's input takes %zu bytes; at "
                       "most %u are allowed", len, AGENT_PAYLOAD_MAX);
    }
    int rc = sbx_send(p->s, H_GO, p->id, 0, buf, (uint32_t)len, NULL, 0);
    free(buf);
    if (rc < 0)
        return sb_fail(err, SB_E_INTERNAL, "out of memory");
    p->s->ops->reset_peak(p->s);
    p->cb = *cb;
    p->arg = arg;
    p->lim = go->limits;
    p->interactive = go->interactive;
    p->state = P_STARTING; /* STARTED follows the GO */
    p->go_sent = true;
    start_clock(p);
    sb_buf_reset(&p->r.out); /* anything the interpreter said while waiting */
    sb_buf_reset(&p->r.err);
    p->r.t.start = util_mono_ns();
    stdio_claimed(p, go->stdin_data, go->stdin_len);
    return 0;
}

bool sbx_proc_warm_waiting(const struct sbx_proc *p)
{
    return p->state == P_WARM && p->s->state == SBX_READY;
}

/* ---- controls ---- */

void sbx_proc_signal(struct sbx_proc *p, int sig)
{
    if (sig == SIGKILL) {
        sbx_proc_kill(p);
        return;
    }
    if (sig <= 0 || sig >= 64 || p->state >= P_EXITED || p->state == P_WARM)
        return;
    if (p->state == P_QUEUED) { /* its EXEC is not sent yet: the signal follows it */
        p->pending_sigs |= 1ull << sig;
        return;
    }
    /* STARTING too: the agent handles the EXEC (or GO) sent before it first,
     * so the signal reaches the program however soon it is asked for. */
    struct agent_signal sg = {sig};
    sbx_send(p->s, H_SIGNAL, p->id, 0, &sg, sizeof sg, NULL, 0);
}

void sbx_proc_resize(struct sbx_proc *p, uint16_t rows, uint16_t cols)
{
    struct agent_resize rz = {rows, cols};
    if (p->state == P_QUEUED && (p->flags & PEXEC_PTY) && rows && cols) {
        p->pending_rows = rows, p->pending_cols = cols; /* sent after its EXEC */
        return;
    }
    if ((p->state == P_STARTING || p->state == P_RUNNING) && (p->flags & PEXEC_PTY) && rows &&
        cols)
        sbx_send(p->s, H_RESIZE, p->id, 0, &rz, sizeof rz, NULL, 0);
}

void sbx_proc_kill(struct sbx_proc *p)
{
    if (p->state >= P_EXITED)
        return;
    p->r.killed_on_request = true;
    proc_limit_hit(p);
}

const struct sbx_result *sbx_proc_result(const struct sbx_proc *p)
{
    return &p->r;
}

struct sbx_result *sbx_proc_result_mut(struct sbx_proc *p)
{
    return &p->r;
}

struct sbx *sbx_proc_sandbox(const struct sbx_proc *p)
{
    return p->s;
}

void sbx_proc_free(struct sbx_proc *p)
{
    if (!p)
        return;
    p->freed = true;
    if (p->state != P_DONE) {
        kill_now(p);
        return; /* freed once done */
    }
    if (p->open_handles == 0)
        free_proc(p);
}

void sbx_result_free(struct sbx_result *r)
{
    sb_buf_free(&r->out);
    sb_buf_free(&r->err);
}
