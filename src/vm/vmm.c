/* QEMU microvm + virtiofsd, launched confined: a cgroup, an unprivileged uid for QEMU, its seccomp sandbox, a read-only export of the runtimes. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vm/qmp.h"
#include "vm/vmm.h"

/* One path of the export, resolved in the parent (the child only makes
 * system calls: it is a fork of a threaded process). */
struct ex {
    char src[PATH_MAX];
    char dst[PATH_MAX];
    char link[PATH_MAX];   /* a symlink's text */
    mode_t type;           /* S_IFDIR, S_IFREG, S_IFLNK; 0: skip */
};

unsigned vmm_tsc_khz(void)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[256];
    unsigned khz = 0;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "cpu MHz", 7) && strchr(line, ':')) {
            khz = (unsigned)(strtod(strchr(line, ':') + 1, NULL) * 1000);
            break;
        }
    if (f)
        fclose(f);
    return khz;
}

static struct ex *plan_export(const struct vmm_req *r, size_t *n, struct sb_error *err)
{
    size_t cap = r->export.n_paths + 1;
    struct ex *v = calloc(cap, sizeof *v);
    if (!v) {
        sb_fail(err, SB_E_INTERNAL, "out of memory");
        return NULL;
    }
    size_t k = 0;
    for (size_t i = 0; i < cap; i++) {
        const char *src = i < r->export.n_paths ? r->export.paths[i] : r->export.agent_path;
        const char *at = i < r->export.n_paths ? src : "/.soulbox/soulbox";
        struct stat st;
        if (lstat(src, &st) < 0)
            continue; /* optional, as in a namespace sandbox's layout */
        struct ex *e = &v[k];
        snprintf(e->src, sizeof e->src, "%s", src);
        snprintf(e->dst, sizeof e->dst, "%s%s", r->export_dir, at);
        if (S_ISLNK(st.st_mode)) {
            ssize_t l = readlink(src, e->link, sizeof e->link - 1);
            if (l < 0)
                continue;
            e->link[l] = '\0';
            e->type = S_IFLNK;
        } else if (S_ISDIR(st.st_mode)) {
            e->type = S_IFDIR;
        } else if (S_ISREG(st.st_mode)) {
            e->type = S_IFREG;
        } else {
            continue;
        }
        k++;
    }
    *n = k;
    return v;
}

/* mkdir -p of the parents of path (the child: system calls only). */
static void parents(char *path)
{
    for (char *s = path + 1; (s = strchr(s, '/')); s++) {
        *s = '\0';
        mkdir(path, 0755);
        *s = '/';
    }
}

/* In virtiofsd's child: a private mount namespace, a tmpfs on export_dir
 * holding read-only binds (never recursive: what is mounted under a path is
 * not shared), the tmpfs itself then read-only. */
static int build_export(const char *dir, struct ex *v, size_t n)
{
    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
        mount("soulbox-vm", dir, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755,size=1m") < 0)
        return -1;
    static const char *const mountpoints[] = {"proc", "sys", "dev", "tmp", "run"};
    char p[PATH_MAX];
    for (size_t i = 0; i < sizeof mountpoints / sizeof *mountpoints; i++) {
        size_t l = strlen(dir);
        memcpy(p, dir, l);
        p[l] = '/';
        strcpy(p + l + 1, mountpoints[i]);
        mkdir(p, 0755);
    }
    for (size_t i = 0; i < n; i++) {
        struct ex *e = &v[i];
        parents(e->dst);
        if (e->type == S_IFLNK) {
            if (symlink(e->link, e->dst) < 0 && errno != EEXIST)
                return -1;
            continue;
        }
        if (e->type == S_IFDIR)
            mkdir(e->dst, 0755);
        else
            close(open(e->dst, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
        if (mount(e->src, e->dst, NULL, MS_BIND, NULL) < 0 ||
            mount(NULL, e->dst, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV,
                  NULL) < 0)
            return -1;
    }
    return mount(NULL, dir, NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL);
}

/* Moves fds[i] to i + 3 and closes every other descriptor above 2. */
static int place_fds(int *fds, int n)
{
    for (int i = 0; i < n; i++) { /* first out of the way of the targets */
        int d = fcntl(fds[i], F_DUPFD, 64);
        if (d < 0)
            return -1;
        fds[i] = d;
    }
    for (int i = 0; i < n; i++)
        if (dup2(fds[i], i + 3) < 0)
            return -1;
    return (int)syscall(SYS_close_range, (unsigned)(n + 3), ~0u, 0);
}

struct child {
    int go;                    /* read end: the parent writes once the cgroup holds us */
    int err;                   /* becomes stderr */
    int fds[8];
    int nfds;
    char *const *argv;
    /* virtiofsd */
    const char *export_dir;
    struct ex *ex;
    size_t n_ex;
    /* QEMU */
    uint32_t uid;
    bool newnet;               /* in a network namespace of its own */
};

static void __attribute__((noreturn)) child_main(struct child *c)
{
    char b;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (read(c->go, &b, 1) != 1)
        _exit(120);
    int null = open("/dev/null", O_RDWR);
    if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(c->err, 2) < 0)
        _exit(121);
    /* stderr: the console's socket, whose end SoulBox keeps for its errors */
    if (c->export_dir && build_export(c->export_dir, c->ex, c->n_ex) < 0)
        _exit(122);
    if (c->uid) {
        gid_t g = c->uid;
        if (setgroups(0, NULL) < 0 || setresgid(g, g, g) < 0 ||
            setresuid(c->uid, c->uid, c->uid) < 0)
            _exit(123);
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || place_fds(c->fds, c->nfds) < 0)
        _exit(124);
    execv(c->argv[0], c->argv);
    _exit(127);
}

/* Forks a child that waits for `go`; returns its pid (and pidfd) or -1. */
static pid_t start_child(struct child *c, int *go_w, int *pidfd)
{
    int go[2];
    if (pipe2(go, O_CLOEXEC) < 0)
        return -1;
    c->go = go[0];
    /* fork(), in a new network namespace if asked */
    pid_t pid = (pid_t)syscall(SYS_clone, SIGCHLD | (c->newnet ? CLONE_NEWNET : 0), NULL, NULL,
                               NULL, 0);
    if (pid == 0)
        child_main(c);
    close(go[0]);
    if (pid < 0) {
        close(go[1]);
        return -1;
    }
    *go_w = go[1];
    *pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    return pid;
}

static void reap(pid_t pid, int *pidfd)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    if (*pidfd >= 0)
        close(*pidfd);
    *pidfd = -1;
}

/* A connected pair for vhost-user: virtiofsd gets the listening socket
 * (its --fd) with QEMU's connection already queued on it. */
static int vhost_pair(const char *dir, int *listen_fd, int *conn_fd)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (snprintf(a.sun_path, sizeof a.sun_path, "%s.sock", dir) >= (int)sizeof a.sun_path)
        return -ENAMETOOLONG;
    unlink(a.sun_path);
    int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int rc = 0;
    if (l < 0 || c < 0 || bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 1) < 0 ||
        connect(c, (struct sockaddr *)&a, sizeof a) < 0)
        rc = -errno;
    unlink(a.sun_path);
    if (rc < 0) {
        if (l >= 0)
            close(l);
        if (c >= 0)
            close(c);
        return rc;
    }
    *listen_fd = l, *conn_fd = c;
    return 0;
}

/* QEMU's command line (its own storage: launches run on several threads).
 * Descriptors: 3 the port, 4 the console, 5 vhost-user, 6 the kernel, 7 the
 * initramfs, 8 the snapshot to restore, 9 QMP, 10 the guest's RAM (a slot a
 * mode does not use holds a spare descriptor). */
struct qemu_args {
    char buf[64][512];
    char *av[65];
};

#define ARG(...) snprintf(qa->buf[na], sizeof qa->buf[na], __VA_ARGS__), qa->av[na] = qa->buf[na], na++

static void qemu_argv(const struct vmm_req *r, struct qemu_args *qa)
{
    int na = 0;
    /* Snapshots: QEMU 7.2 cannot migrate a vhost-user-fs device, so a saved
     * guest has none; a restored one gets it hot-plugged into a PCIe root
     * port (native PCIe hotplug: the guest needs pcie_ports=native). */
    bool snap = r->mode != VMM_BOOT;
    ARG("%s", r->qemu);
    ARG("-M"), ARG("microvm,pit=on,pic=on,rtc=on,isa-serial=on%s", snap ? ",pcie=on" : "");
    ARG("-accel");
    if (r->accel == VMM_KVM)
        ARG("kvm"), ARG("-cpu"), ARG("host");
    else
        ARG("tcg,tb-size=%u", r->tb_mb), ARG("-cpu"), ARG("max");
    ARG("-m"), ARG("%uM", r->memory_mb), ARG("-smp"), ARG("%u", r->vcpus);
    ARG("-nodefaults"), ARG("-no-user-config"), ARG("-display"), ARG("none"), ARG("-no-reboot");
    ARG("-global"), ARG("virtio-mmio.force-legacy=false");
    if (snap) /* RAM in SoulBox's memfd, left out of the migration stream */
        ARG("-object"), ARG("memory-backend-file,id=mem,size=%uM,share=on,"
                            "mem-path=/proc/self/fd/10", r->memory_mb);
    else
        ARG("-object"), ARG("memory-backend-memfd,id=mem,size=%uM,share=on", r->memory_mb);
    ARG("-machine"), ARG("memory-backend=mem");
    if (r->mode != VMM_SNAPSHOT)
        ARG("-chardev"), ARG("socket,id=fs,fd=5");
    if (r->mode == VMM_BOOT)
        ARG("-device"), ARG("vhost-user-fs-device,chardev=fs,tag=runtimes,queue-size=1024");
    else
        ARG("-device"), ARG("pcie-root-port,id=rp1,slot=1,chassis=1");
    ARG("-device"), ARG("virtio-serial-device,max_ports=2");
    ARG("-chardev"), ARG("socket,id=sbx,fd=3");
    ARG("-device"), ARG("virtserialport,chardev=sbx,name=sbx");
    ARG("-chardev"), ARG("socket,id=con,fd=4"), ARG("-serial"), ARG("chardev:con");
    if (r->net) /* user-mode networking: QEMU's own sockets, in its filtered namespace */
        ARG("-netdev"), ARG("user,id=net,net=10.0.2.0/24,host=10.0.2.2,dns=10.0.2.3,"
                            "ipv6-net=fd00:50:b0::/64,ipv6-host=fd00:50:b0::2,"
                            "ipv6-dns=fd00:50:b0::3"),
            ARG("-device"), ARG("virtio-net-device,netdev=net,mac=52:54:00:12:34:56");
    ARG("-device"), ARG("pvpanic"), ARG("-action"), ARG("panic=exit-failure");
    ARG("-kernel"), ARG("/proc/self/fd/6"), ARG("-initrd"), ARG("/proc/self/fd/7");
    ARG("-append");
    ARG("console=ttyS0 quiet panic=-1 tsc_early_khz=%u tsc=reliable cryptomgr.notests "
        "systemd.unified_cgroup_hierarchy=1 cgroup_no_v1=all random.trust_cpu=on "
        "sbx_agent=/.soulbox/soulbox%s%s", r->tsc_khz, r->test_hooks ? " sbx_test_hooks=1" : "",
        snap ? " pcie_ports=native sbx_snap=1" : "");
    if (snap)
        ARG("-chardev"), ARG("socket,id=qmp,fd=9"), ARG("-mon"), ARG("chardev=qmp,mode=control");
    if (r->mode == VMM_RESTORE) /* fd:8, once x-ignore-shared is set (QMP) */
        ARG("-incoming"), ARG("defer");
    ARG("-sandbox"), ARG("on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");
    qa->av[na] = NULL;
}

int vmm_launch(const struct vmm_req *r, struct vmm_procs *out, struct sb_error *err)
{
    out->qemu_pid = out->fsd_pid = -1;
    out->qemu_pidfd = out->fsd_pidfd = out->port = out->console = out->qmp = -1;
    size_t n_ex = 0;
    struct ex *ex = plan_export(r, &n_ex, err);
    if (!ex)
        return -1;
    int port[2] = {-1, -1}, con[2] = {-1, -1}, qmp[2] = {-1, -1}, vl = -1, vc = -1;
    int go_fsd = -1, go_qemu = -1;
    int rc = -1, e;
    struct qemu_args *qa = NULL;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, port) < 0 ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, con) < 0 ||
        (r->mode != VMM_BOOT && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, qmp) < 0)) {
        sb_fail_errno(err, SB_E_SANDBOX_SETUP, errno, "socketpair");
        goto out;
    }
    if (r->mode == VMM_SNAPSHOT)
        goto qemu; /* no runtimes device: no virtiofsd */
    if ((e = vhost_pair(r->export_dir, &vl, &vc)) < 0) {
        sb_fail_errno(err, SB_E_SANDBOX_SETUP, -e, "vhost-user socket");
        goto out;
    }
    /* virtiofsd: root (it reads the host's files) in its own mount namespace */
    char fsd_src[PATH_MAX + 16];
    snprintf(fsd_src, sizeof fsd_src, "source=%s", r->export_dir);
    char *fsd_argv[] = {(char *)r->virtiofsd, "--fd=3", "-o", fsd_src, "-o", "sandbox=chroot",
                        "-o", "cache=always", "-o", "log_level=err", "-o", "no_xattr",
                        "--thread-pool-size=2", NULL};
    struct child fsd = {.fds = {vl}, .nfds = 1, .argv = fsd_argv, .export_dir = r->export_dir,
                        .err = con[1],
                        .ex = ex, .n_ex = n_ex};
    if ((out->fsd_pid = start_child(&fsd, &go_fsd, &out->fsd_pidfd)) < 0) {
        sb_fail_errno(err, SB_E_SANDBOX_SETUP, errno, "fork virtiofsd");
        goto out;
    }
qemu:
    /* QEMU: fds 3 port, 4 console, 5 vhost-user, 6 kernel, 7 initrd, 8 the
     * snapshot, 9 QMP, 10 RAM; con[1] fills the slots its mode does not use */
    if (!(qa = malloc(sizeof *qa))) {
        sb_fail(err, SB_E_INTERNAL, "out of memory");
        goto out;
    }
    qemu_argv(r, qa);
    struct child q = {.fds = {port[1], con[1], vc >= 0 ? vc : con[1], r->kernel_fd, r->initrd_fd,
                              r->mode == VMM_RESTORE ? r->snap_fd : con[1],
                              qmp[1] >= 0 ? qmp[1] : con[1],
                              r->mode != VMM_BOOT ? r->ram_fd : con[1]},
                      .nfds = 8, .argv = qa->av, .uid = r->uid, .err = con[1], .newnet = r->net};
    if ((out->qemu_pid = start_child(&q, &go_qemu, &out->qemu_pidfd)) < 0) {
        sb_fail_errno(err, SB_E_SANDBOX_SETUP, errno, "fork qemu");
        goto out;
    }
    if ((out->fsd_pid > 0 && (e = cg_join(r->cg, out->fsd_pid)) < 0) ||
        (e = cg_join(r->cg, out->qemu_pid)) < 0) {
        sb_fail_errno(err, SB_E_SANDBOX_SETUP, -e, "cgroup: attach the VMM");
        goto out;
    }
    if ((out->fsd_pid > 0 && out->fsd_pidfd < 0) || out->qemu_pidfd < 0) {
        sb_fail_errno(err, SB_E_SANDBOX_SETUP, errno, "pidfd_open");
        goto out;
    }
    if (r->net && r->plumb(r->plumb_arg, out->qemu_pidfd, err) < 0)
        goto out;
    if ((go_fsd >= 0 && write(go_fsd, "g", 1) != 1) || write(go_qemu, "g", 1) != 1) {
        sb_fail_errno(err, SB_E_SANDBOX_SETUP, errno, "start the VMM");
        goto out;
    }
    out->port = port[0], port[0] = -1;
    out->console = con[0], con[0] = -1;
    out->qmp = qmp[0], qmp[0] = -1;
    rc = 0;
out:
    if (rc < 0) {
        if (out->qemu_pid > 0)
            reap(out->qemu_pid, &out->qemu_pidfd);
        if (out->fsd_pid > 0)
            reap(out->fsd_pid, &out->fsd_pidfd);
        out->qemu_pid = out->fsd_pid = -1;
    }
    int fds[] = {port[0], port[1], con[0], con[1], qmp[0], qmp[1], vl, vc, go_fsd, go_qemu};
    for (size_t i = 0; i < sizeof fds / sizeof *fds; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    free(ex);
    free(qa);
    return rc;
}

void vmm_reap(struct vmm_procs *p)
{
    vmm_kill(p);
    if (p->qemu_pidfd >= 0)
        waitid((idtype_t)P_PIDFD, (id_t)p->qemu_pidfd, &(siginfo_t){0}, WEXITED);
    if (p->fsd_pidfd >= 0)
        waitid((idtype_t)P_PIDFD, (id_t)p->fsd_pidfd, &(siginfo_t){0}, WEXITED);
    int *fds[] = {&p->qemu_pidfd, &p->fsd_pidfd, &p->port, &p->console, &p->qmp};
    for (size_t i = 0; i < sizeof fds / sizeof *fds; i++)
        if (*fds[i] >= 0) {
            close(*fds[i]);
            *fds[i] = -1;
        }
    p->qemu_pid = p->fsd_pid = -1;
}

void vmm_kill(const struct vmm_procs *p)
{
    if (p->qemu_pidfd >= 0)
        syscall(SYS_pidfd_send_signal, p->qemu_pidfd, SIGKILL, NULL, 0);
    if (p->fsd_pidfd >= 0)
        syscall(SYS_pidfd_send_signal, p->fsd_pidfd, SIGKILL, NULL, 0);
}

/* The RAM is SoulBox's memfd, outside the stream: both sides leave shared
 * memory out. */
static int ignore_shared(struct qmp *q, struct sb_error *err)
{
    json_t *caps = json_pack("{s:[{s:s,s:b}]}", "capabilities", "capability", "x-ignore-shared",
                             "state", 1);
    return qmp_exec(q, "migrate-set-capabilities", caps, NULL, err);
}

/* QMP's answer's "status" field to `cmd`, in st[32]; 0 or -1 with err. */
static int qmp_status(struct qmp *q, const char *cmd, char st[32], struct sb_error *err)
{
    json_t *ret = NULL;
    if (qmp_exec(q, cmd, NULL, &ret, err) < 0)
        return -1;
    const char *v = json_string_value(json_object_get(ret, "status"));
    snprintf(st, 32, "%s", v ? v : "");
    json_decref(ret);
    return 0;
}

int vmm_restore_finish(const struct vmm_procs *p, bool plug, unsigned timeout_ms,
                       struct sb_error *err)
{
    struct qmp q;
    char st[32];
    int rc = -1;
    if (qmp_open(&q, p->qmp, timeout_ms, err) < 0 || ignore_shared(&q, err) < 0 ||
        qmp_exec(&q, "migrate-incoming", json_pack("{s:s}", "uri", "fd:8"), NULL, err) < 0)
        goto out;
    /* "inmigrate" while the image loads, then "paused" (it was saved so) */
    for (;;) {
        if (qmp_status(&q, "query-status", st, err) < 0)
            goto out;
        if (strcmp(st, "inmigrate"))
            break;
        usleep(2000);
    }
    if (strcmp(st, "paused") && strcmp(st, "running")) {
        sb_fail(err, SB_E_SANDBOX_SETUP, "restoring the VM: QEMU says %s", st);
        goto out;
    }
    json_t *dev = json_pack("{s:s,s:s,s:s,s:s,s:i,s:s}", "driver", "vhost-user-fs-pci", "id",
                            "fs0", "chardev", "fs", "tag", "runtimes", "queue-size", 1024,
                            "bus", "rp1");
    if (!plug)
        json_decref(dev), dev = NULL;
    if ((dev && qmp_exec(&q, "device_add", dev, NULL, err) < 0) ||
        qmp_exec(&q, "cont", NULL, NULL, err) < 0)
        goto out;
    rc = 0;
out:
    qmp_close(&q);
    return rc;
}

int vmm_snapshot_save(const struct vmm_procs *p, int snap_fd, unsigned timeout_ms,
                      struct sb_error *err)
{
    struct qmp q;
    char st[32];
    int rc = -1;
    if (qmp_open(&q, p->qmp, timeout_ms, err) < 0 ||
        qmp_exec(&q, "stop", NULL, NULL, err) < 0 || ignore_shared(&q, err) < 0 ||
        qmp_getfd(&q, "snap", snap_fd, err) < 0 ||
        qmp_exec(&q, "migrate", json_pack("{s:s}", "uri", "fd:snap"), NULL, err) < 0)
        goto out;
    for (;;) {
        if (qmp_status(&q, "query-migrate", st, err) < 0)
            goto out;
        if (strcmp(st, "active") && strcmp(st, "setup") && strcmp(st, "device") && st[0])
            break;
        usleep(5000);
    }
    if (strcmp(st, "completed")) {
        sb_fail(err, SB_E_SANDBOX_SETUP, "saving the VM: migration %s", st);
        goto out;
    }
    rc = 0;
out:
    qmp_close(&q);
    return rc;
}
