/* The microVM backend: a sandbox is a QEMU microvm whose guest builds it; a relay thread carries the engine's frames and the processes' stdio over the virtio-serial port. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "sandbox/layout.h"
#include "sandbox/plan.h"
#include "sandbox/sandbox_internal.h"
#include "vm/snapshot.h"
#include "vm/vm_internal.h"

/*
 * The engine speaks to s->ctl exactly as to a namespace sandbox's agent;
 * the other end of that socketpair is the relay's. The relay thread (one
 * per VM, alive as long as its QEMU) forwards frames to the guest over the
 * port, replacing the descriptors EXEC carries with data frames: what the
 * engine writes to a process's stdin becomes H_STDIN, the guest's A_OUT is
 * written to the process's stdout or stderr socket. It answers the guest's
 * A_VM_UP with H_VM_START (the plan, built here as for a namespace
 * sandbox) and keeps the guest's A_STATS for the engine's limit checks.
 */

static struct vm_sbx *V(struct sbx *s)
{
    return s->vm;
}

/* ---- on the loop ---- */

static const char *console_reason(struct vm_sbx *v, char *buf, size_t len)
{
    pthread_mutex_lock(&v->mu);
    v->console[v->console_len < CONSOLE_KEEP ? v->console_len : CONSOLE_KEEP - 1] = '\0';
    const char *p = strstr(v->console, "Kernel panic - not syncing:");
    if (p) {
        size_t n = strcspn(p, "\r\n");
        snprintf(buf, len, "guest kernel panic (%.*s)", (int)n, p);
    } else if ((p = strstr(v->console, "soulbox-init: "))) {
        size_t n = strcspn(p, "\r\n");
        snprintf(buf, len, "guest init failed (%.*s)", (int)n, p);
    } else {
        buf[0] = '\0';
    }
    pthread_mutex_unlock(&v->mu);
    return buf;
}

static void on_qemu_exit(uv_poll_t *h, int status, int events)
{
    struct sbx *s = h->data;
    struct vm_sbx *v = V(s);
    (void)status;
    (void)events;
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (waitid((idtype_t)P_PIDFD, (id_t)v->p.qemu_pidfd, &si, WEXITED | WNOHANG) < 0 ||
        si.si_pid == 0)
        return;
    sbx_close_handle(&s->open_handles, (uv_handle_t *)&s->vm_poll, &s->vm_poll_on,
                     sbx_handle_closed);
    vmm_kill(&v->p); /* virtiofsd too */
    if (v->p.fsd_pidfd >= 0) {
        waitid((idtype_t)P_PIDFD, (id_t)v->p.fsd_pidfd, &(siginfo_t){0}, WEXITED);
        close(v->p.fsd_pidfd);
        v->p.fsd_pidfd = -1;
    }
    if (v->thread_on) {
        pthread_join(v->thread, NULL);
        v->thread_on = false;
    }
    v->gone = true;
    char how[400], why[300];
    console_reason(v, why, sizeof why);
    if (v->hung)
        snprintf(how, sizeof how, "the guest stopped responding for %u ms",
                 s->e->vm.cfg->hang_timeout_ms);
    else if (why[0])
        snprintf(how, sizeof how, "%s", why);
    else
        snprintf(how, sizeof how, "the VM's QEMU %s %d",
                 si.si_code == CLD_EXITED ? "exited with" : "was killed by signal",
                 si.si_status);
    sbx_agent_gone(s, how);
}

static uint32_t vcpus_for(const struct sbx_limits *l, unsigned ncpus)
{
    uint32_t n = l->cpu_percent ? (l->cpu_percent + 99) / 100 : 1;
    if (n < 1)
        n = 1;
    return ncpus && n > ncpus ? ncpus : n;
}

/* Egress: QEMU's namespace gets the routes, rules and SoulBox's sockets a
 * namespace sandbox's gets, before QEMU runs (vmm.h). */
static int plumb(void *arg, int qemu_pidfd, struct sb_error *err)
{
    struct sbx *s = arg;
    return net_engine_plumb(s->e->cfg.net, qemu_pidfd, &s->net_fds, err);
}

/* A restored guest speaks (its agent's first frame) within this, or it is
 * replaced by a booted one: a restore is ~0.5 s under TCG, seconds when
 * several contend for the CPU. */
#define RESTORE_UP_MS 15000

/* The VM restored from the snapshot of its shape, up to the moment its
 * guest speaks on the port (the relay reads that first frame later).
 * Returns 0, or -1 with nothing of it left: the caller boots instead. */
static int restore(struct vm_sbx *v, struct vm_snaps *snaps)
{
    struct sb_error err = {0};
    int ram = -1, snap = vm_snapshot_open(snaps, &v->req, &ram, &err);
    if (snap < 0)
        return -1; /* no snapshot could be made: logged there */
    v->req.mode = VMM_RESTORE;
    v->req.snap_fd = snap;
    v->req.ram_fd = ram;
    int rc = vmm_launch(&v->req, &v->p, &err);
    close(snap);
    close(ram);
    if (rc == 0 && vmm_restore_finish(&v->p, !v->req.test_no_hotplug, 30000, &err) < 0)
        rc = -1;
    int up_ms = v->req.test_no_hotplug ? 3000 : RESTORE_UP_MS;
    if (rc == 0) {
        struct pollfd pf = {v->p.port, POLLIN, 0};
        int n;
        while ((n = poll(&pf, 1, up_ms)) < 0 && errno == EINTR) {
        }
        if (n <= 0)
            rc = sb_fail(&err, SB_E_SANDBOX_SETUP, "the restored guest did not speak within "
                         "%d ms", up_ms);
    }
    if (v->p.qmp >= 0)
        close(v->p.qmp);
    v->p.qmp = -1;
    if (rc < 0) {
        vmm_reap(&v->p);
        vm_snapshot_restore_failed(snaps, err.msg);
    }
    return rc;
}

static void spawn_work(uv_work_t *w)
{
    struct sbx *s = w->data;
    struct vm_sbx *v = V(s);
    v->rc = -1;
    struct cg_limits cl = {.memory_bytes = ((uint64_t)v->req.memory_mb +
                                            s->e->vm.cfg->vmm_overhead_mb) << 20,
                           .pids = 256, .cpu_percent = v->req.vcpus * 100};
    if (cg_create(&s->e->cg, v->cg_name, &cl, &v->cg, &v->err) < 0)
        return;
    if (mkdir(v->export_dir, 0700) < 0 && errno != EEXIST) {
        sb_fail_errno(&v->err, SB_E_SANDBOX_SETUP, errno, "mkdir %s", v->export_dir);
        return;
    }
    v->req.cg = &v->cg;
    v->req.accel = vm_accel(&s->e->vm, s->e->cfg.state_dir);
    /* From a snapshot of a booted guest of this shape when there is one
     * (made now if not); else, or if that fails, a boot. */
    struct vm_snaps *snaps = s->e->vm.snaps;
    bool restored = snaps && restore(v, snaps) == 0;
    if (!restored) {
        v->req.mode = VMM_BOOT;
        if (vmm_launch(&v->req, &v->p, &v->err) < 0)
            return;
    }
    if (snaps)
        vm_snapshot_count(snaps, restored);
    s->t.spawned = util_mono_ns();
    v->rc = 0;
}

static void spawn_done(uv_work_t *w, int status)
{
    struct sbx *s = w->data;
    struct vm_sbx *v = V(s);
    v->spawning = false;
    if (status < 0)
        v->rc = -1, sb_fail(&v->err, SB_E_INTERNAL, "spawn not run");
    if (v->rc == 0 && sbx_net_start(s, &v->err) < 0) {
        vmm_kill(&v->p);
        v->rc = -1;
    }
    if (v->rc == 0 && pthread_create(&v->thread, NULL, vm_relay_main, v) != 0) {
        vmm_kill(&v->p);
        v->rc = -1, sb_fail(&v->err, SB_E_INTERNAL, "start the VM's relay thread");
    }
    if (v->rc < 0) {
        netns_fds_close(&s->net_fds);
        struct vmm_procs *p = &v->p;
        if (p->qemu_pidfd >= 0) {
            waitid((idtype_t)P_PIDFD, (id_t)p->qemu_pidfd, &(siginfo_t){0}, WEXITED);
            close(p->qemu_pidfd);
        }
        if (p->fsd_pidfd >= 0) {
            waitid((idtype_t)P_PIDFD, (id_t)p->fsd_pidfd, &(siginfo_t){0}, WEXITED);
            close(p->fsd_pidfd);
        }
        p->qemu_pidfd = p->fsd_pidfd = -1;
        v->gone = true;
        struct sb_error e = v->err;
        s->ops->release(s, &(struct sb_error){0});
        sbx_start_failed(s, &e);
        return;
    }
    v->thread_on = true;
    s->ctl = v->chan[0], v->chan[0] = -1;
    fcntl(s->ctl, F_SETFL, O_NONBLOCK);
    uv_poll_init(s->e->loop, &s->vm_poll, v->p.qemu_pidfd);
    s->vm_poll.data = s;
    s->vm_poll_on = true;
    uv_poll_start(&s->vm_poll, UV_READABLE, on_qemu_exit);
    s->t.attached = util_mono_ns();
    sbx_channel_open(s);
    if (v->killed) {
        v->killed = false;
        s->ops->kill(s);
    }
}

/* The export: the layout's system dirs, /etc names and binds, the run's. */
static int export_paths(struct vm_sbx *v, const struct layout_cfg *lc, const struct sbx_spec *spec)
{
    size_t n = lc->n_system + lc->n_etc + lc->n_binds + 1;
    for (size_t i = 0; spec->extra_etc && spec->extra_etc[i]; i++)
        n++;
    for (size_t i = 0; spec->extra_binds && spec->extra_binds[i]; i++)
        n++;
    char **p = calloc(n, sizeof *p);
    if (!p)
        return -1;
    size_t k = 0;
    for (size_t i = 0; i < lc->n_system; i++)
        p[k++] = strdup(lc->system[i]);
    for (size_t i = 0; i < lc->n_binds; i++)
        p[k++] = strdup(lc->binds[i]);
    for (size_t i = 0; spec->extra_binds && spec->extra_binds[i]; i++)
        p[k++] = strdup(spec->extra_binds[i]);
    for (size_t i = 0; i < lc->n_etc; i++)
        if (asprintf(&p[k], "/etc/%s", lc->etc[i]) > 0)
            k++;
    for (size_t i = 0; spec->extra_etc && spec->extra_etc[i]; i++)
        if (asprintf(&p[k], "/etc/%s", spec->extra_etc[i]) > 0)
            k++;
    v->paths = (const char **)p;
    v->req.export.paths = (const char *const *)p;
    v->req.export.n_paths = k;
    return 0;
}

/* H_VM_START's payload: the limits and the plan (as ns_backend.c makes it,
 * with the guest's own staging and data dirs). */
static int make_start(struct sbx *s, const struct sbx_spec *spec, struct sb_error *err)
{
    struct vm_sbx *v = V(s);
    struct sbx_engine *e = s->e;
    struct layout_cfg lc = e->cfg.layout;
    lc.staging = "/run/soulbox-vm/root";
    lc.data_dir = "/run/soulbox-vm/data";
    uint8_t *buf = NULL;
    size_t len = 0;
    /* with egress the sandbox shares the guest's namespace (its eth0) */
    if (sbx_plan_bytes(s, spec, &lc, v->uid, v->uid - 1, !s->network, &buf, &len, err) < 0)
        return -1;
    if (!(v->start = malloc(sizeof(struct agent_vm_start) + len))) {
        free(buf);
        return sb_fail(err, SB_E_INTERNAL, "out of memory");
    }
    struct agent_vm_start st = {
        .limits = {.memory_bytes = s->lim.memory_kb * 1024, .pids = s->lim.processes + 1,
                   .cpu_percent = s->lim.cpu_percent},
        .uid = v->uid, .flags = s->network ? AGENT_VM_NET : 0};
    memcpy(v->start, &st, sizeof st);
    memcpy(v->start + sizeof st, buf, len);
    v->start_len = sizeof st + len;
    free(buf);
    return 0;
}

static void vm_free(struct vm_sbx *v)
{
    if (!v)
        return;
    for (size_t i = 0; v->paths && i < v->req.export.n_paths; i++)
        free((char *)v->paths[i]);
    free(v->paths);
    free(v->start);
    free(v->frame);
    vm_rx_free(&v->rx);
    sb_buf_free(&v->tx);
    sb_buf_free(&v->fwd);
    for (int i = 0; i < 2; i++)
        if (v->chan[i] >= 0)
            close(v->chan[i]);
    pthread_mutex_destroy(&v->mu);
    free(v);
}

static int vm_start(struct sbx *s, const struct sbx_spec *spec, struct sb_error *err)
{
    struct sbx_engine *e = s->e;
    const struct vm_engine *ve = &e->vm;
    if (!ve->available)
        return sb_fail(err, SB_E_UNAVAILABLE, "microvm isolation is not available: %s",
                       ve->reason);
    struct vm_sbx *v = calloc(1, sizeof *v);
    if (!v)
        return sb_fail(err, SB_E_INTERNAL, "out of memory");
    pthread_mutex_init(&v->mu, NULL);
    v->s = s;
    v->chan[0] = v->chan[1] = -1;
    v->p.qemu_pidfd = v->p.fsd_pidfd = v->p.port = v->p.console = -1;
    s->vm = v;
    if (uidpool_acquire(&e->uids, &v->uid, err) < 0)
        goto fail;
    v->have_uid = true;
    if (vm_rx_init(&v->rx) < 0 || !(v->frame = malloc(AGENT_PAYLOAD_MAX)) ||
        export_paths(v, &e->cfg.layout, spec) < 0) {
        sb_fail(err, SB_E_INTERNAL, "out of memory");
        goto fail;
    }
    if (make_start(s, spec, err) < 0)
        goto fail;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, v->chan) < 0) {
        sb_fail_errno(err, SB_E_SANDBOX_SETUP, errno, "socketpair");
        goto fail;
    }
    int sndbuf = (int)AGENT_PAYLOAD_MAX * 4;
    for (int i = 0; i < 2; i++)
        setsockopt(v->chan[i], SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf);
    cg_make_name(v->cg_name, sizeof v->cg_name, ++e->seq);
    snprintf(v->export_dir, sizeof v->export_dir, "%s/vm-%s", e->cfg.state_dir, v->cg_name);
    const struct vm_cfg *c = ve->cfg;
    uint64_t mb = (s->lim.memory_kb + 1023) / 1024 + c->overhead_mb;
    v->req = (struct vmm_req){
        .qemu = ve->qemu, .virtiofsd = ve->virtiofsd, .accel = ve->accel,
        .memory_mb = (unsigned)((mb + 63) / 64 * 64), .vcpus = vcpus_for(&s->lim, e->cg.ncpus),
        .tb_mb = c->tb_mb, .kernel_fd = ve->kernel_fd, .initrd_fd = ve->initrd_fd,
        .tsc_khz = ve->tsc_khz, .export = v->req.export, .export_dir = v->export_dir,
        .uid = v->uid, .test_hooks = getenv("SOULBOX_TEST_VM_HOOKS") != NULL,
        .test_no_hotplug = getenv("SOULBOX_TEST_VM_NO_HOTPLUG") != NULL,
        .net = s->network, .plumb = plumb, .plumb_arg = s,
    };
    v->req.export.agent_path = ve->agent_path;
    v->spawning = true;
    v->work.data = s;
    int rc = uv_queue_work(e->loop, &v->work, spawn_work, spawn_done);
    if (rc < 0) {
        v->spawning = false;
        sb_fail(err, SB_E_INTERNAL, "queue the VM's start: %s", uv_strerror(rc));
        goto fail;
    }
    return 0;
fail:
    if (v->have_uid)
        uidpool_release(&e->uids, v->uid);
    vm_free(v);
    s->vm = NULL;
    return -1;
}

/* stdio: socketpairs whose far ends travel with EXEC to the relay. */
static int vm_stdio(struct sbx *s, int agent_fds[3], int host_fds[3], struct sb_error *err)
{
    (void)s;
    int p[3][2] = {{-1, -1}, {-1, -1}, {-1, -1}};
    for (int i = 0; i < 3; i++)
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p[i]) < 0) {
            int e = errno;
            for (int j = 0; j < i; j++)
                close(p[j][0]), close(p[j][1]);
            return sb_fail_errno(err, SB_E_SANDBOX_SETUP, e, "socketpair");
        }
    for (int i = 0; i < 3; i++) {
        host_fds[i] = p[i][0];
        agent_fds[i] = p[i][1];
        shutdown(p[i][0], i == 0 ? SHUT_RD : SHUT_WR);
    }
    return 0;
}

static void vm_kill(struct sbx *s)
{
    struct vm_sbx *v = V(s);
    if (!v)
        return;
    if (v->spawning) {
        v->killed = true;
        return;
    }
    if (!v->gone)
        vmm_kill(&v->p);
}

/* Asks the guest for fresh figures (at most one request in flight). */
static void ask_stats(struct sbx *s, struct vm_sbx *v)
{
    bool ask = false;
    pthread_mutex_lock(&v->mu);
    if (!v->stats_asked && !v->gone && s->ctl >= 0)
        ask = v->stats_asked = true;
    pthread_mutex_unlock(&v->mu);
    if (ask)
        sbx_send(s, H_STATS, 0, 0, NULL, 0, NULL, 0);
}

static int vm_stats(struct sbx *s, struct sbx_stats *st)
{
    struct vm_sbx *v = V(s);
    if (!v)
        return -ENOENT;
    ask_stats(s, v);
    pthread_mutex_lock(&v->mu);
    bool have = v->have_stats;
    st->cpu_ns = v->stats.cpu_ns;
    st->memory_peak = v->stats.memory_peak;
    st->oom_kills = v->stats.oom_kills;
    pthread_mutex_unlock(&v->mu);
    return have ? 0 : -ENOENT;
}

static int vm_cpu(struct sbx *s, uint64_t *ns)
{
    struct sbx_stats st;
    int rc = vm_stats(s, &st);
    *ns = st.cpu_ns;
    return rc;
}

/* What the VM costs the host (QEMU's cgroup: guest RAM touched, the VMM,
 * virtiofsd), not the sandbox's share of the guest: pools budget host
 * memory. */
static uint64_t vm_memory(const struct sbx *s)
{
    struct vm_sbx *v = s->vm;
    if (!v || v->spawning || !v->cg.made)
        return 0;
    return cg_memory_usage(&v->cg);
}

static void vm_reset_peak(struct sbx *s)
{
    struct vm_sbx *v = V(s);
    if (!v || v->gone || s->ctl < 0)
        return;
    pthread_mutex_lock(&v->mu);
    v->stats.memory_peak = v->stats.memory_current;
    pthread_mutex_unlock(&v->mu);
    sbx_send(s, H_RESET_PEAK, 0, 0, NULL, 0, NULL, 0);
}

static int vm_set_limits(struct sbx *s, const struct sbx_limits *l, struct sb_error *err)
{
    struct vm_sbx *v = V(s);
    uint64_t guest = (uint64_t)v->req.memory_mb << 20;
    if (l->memory_kb * 1024 + ((uint64_t)s->e->vm.cfg->overhead_mb << 20) / 2 > guest)
        return sb_fail(err, SB_E_SANDBOX_SETUP, "the VM has %u MiB: too small for a %llu KiB "
                       "memory limit", v->req.memory_mb, (unsigned long long)l->memory_kb);
    struct agent_vm_limits al = {.memory_bytes = l->memory_kb * 1024, .pids = l->processes + 1,
                                 .cpu_percent = l->cpu_percent};
    if (sbx_send(s, H_LIMITS, 0, 0, &al, sizeof al, NULL, 0) < 0)
        return sb_fail(err, SB_E_INTERNAL, "out of memory");
    return 0;
}

static int vm_release(struct sbx *s, struct sb_error *err)
{
    struct vm_sbx *v = V(s);
    if (!v)
        return 0;
    int rc = 0;
    if (v->thread_on) { /* never reached: QEMU's exit joins it first */
        vmm_kill(&v->p);
        pthread_join(v->thread, NULL);
    }
    int *fds[] = {&v->p.qemu_pidfd, &v->p.fsd_pidfd, &v->p.port};
    for (size_t i = 0; i < sizeof fds / sizeof *fds; i++)
        if (*fds[i] >= 0) {
            close(*fds[i]);
            *fds[i] = -1;
        }
    int con = v->p.console < -1 ? -v->p.console - 2 : v->p.console;
    if (con >= 0)
        close(con);
    rmdir(v->export_dir);
    rc = cg_destroy(&v->cg, err);
    if (v->have_uid)
        uidpool_release(&s->e->uids, v->uid);
    vm_free(v);
    s->vm = NULL;
    return rc;
}

const struct sbx_backend_ops sbx_vm_backend = {
    .name = "microvm", .start = vm_start, .stdio = vm_stdio, .kill = vm_kill,
    .stats = vm_stats, .cpu = vm_cpu, .memory = vm_memory, .reset_peak = vm_reset_peak,
    .set_limits = vm_set_limits, .release = vm_release,
};
