/* Host side: sandbox cgroups on v1 (per-controller hierarchies) and v2 (unified). */
#include "sandbox/cgroup.h"
#include "sandbox/mountinfo.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#define CG_MOUNT "/sys/fs/cgroup"

static const char *const ctrl_names[CG__NCTRL] = {"memory", "pids", "cpu", "cpuacct"};

/* Writes value to dir/file. A leading '?' on file marks it optional: a
 * missing file is not an error (isolate's convention). Returns 0 or -errno. */
static int cg_write(const char *dir, const char *file, const char *value)
{
    bool optional = file[0] == '?';
    if (optional)
        file++;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return (optional && errno == ENOENT) ? 0 : -errno;
    size_t n = strlen(value);
    /* Lowering a v1 memory limit reclaims first, and a signal arriving
     * meanwhile (the server's timers, SIGCHLD) makes the write EINTR: again. */
    ssize_t w;
    int tries = 0;
    do
        w = write(fd, value, n);
    while (w < 0 && errno == EINTR && ++tries < 8);
    int err = w < 0 ? errno : 0;
    close(fd);
    if (w < 0)
        return -err;
    return (size_t)w == n ? 0 : -EIO;
}

static int cg_read(const char *dir, const char *file, char *buf, size_t len)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, buf, len - 1);
    int err = errno;
    close(fd);
    if (n < 0)
        return -err;
    buf[n] = '\0';
    return 0;
}

static int cg_read_u64(const char *dir, const char *file, uint64_t *v)
{
    char buf[64];
    int rc = cg_read(dir, file, buf, sizeof buf);
    if (rc < 0)
        return rc;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(buf, &end, 10);
    if (errno || end == buf)
        return -EINVAL;
    *v = x;
    return 0;
}

/* Finds "key <number>" in a flat-keyed file such as cpu.stat. */
static int cg_read_key(const char *dir, const char *file, const char *key, uint64_t *v)
{
    char buf[4096];
    int rc = cg_read(dir, file, buf, sizeof buf);
    if (rc < 0)
        return rc;
    size_t klen = strlen(key);
    for (char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (!strncmp(line, key, klen) && line[klen] == ' ') {
            *v = strtoull(line + klen + 1, NULL, 10);
            return 0;
        }
    }
    *v = 0;
    return -ENOENT;
}

static int mkdir_p(char *path, mode_t mode)
{
    if (mkdir(path, mode) == 0 || errno == EEXIST)
        return 0; /* the usual case: one call */
    for (char *s = path + 1; (s = strchr(s, '/')); s++) {
        *s = '\0';
        int rc = mkdir(path, mode);
        *s = '/';
        if (rc < 0 && errno != EEXIST)
            return -errno;
    }
    if (mkdir(path, mode) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

static int init_v1(struct cg_ctx *ctx, const char *root, struct sb_error *err)
{
    static char mountinfo[65536];
    ctx->version = CG_V1;
    ctx->ndirs = 0;
    int rc = mountinfo_read(mountinfo, sizeof mountinfo);
    if (rc < 0)
        return sb_fail_errno(err, SB_E_INTERNAL, -rc, "read /proc/self/mountinfo");
    for (int c = 0; c < CG__NCTRL; c++) {
        struct mount_entry m;
        char dir[PATH_MAX];
        if (mountinfo_find(mountinfo, "cgroup", ctrl_names[c], &m) < 0)
            return sb_fail(err, SB_E_INTERNAL,
                           "cgroup v1: controller '%s' is not mounted", ctrl_names[c]);
        snprintf(dir, sizeof dir, "%s/%s", m.point, root);
        int found = -1;
        for (int i = 0; i < ctx->ndirs; i++)
            if (!strcmp(ctx->dirs[i], dir))
                found = i;
        if (found < 0) {
            found = ctx->ndirs++;
            snprintf(ctx->dirs[found], PATH_MAX, "%s", dir);
            if ((rc = mkdir_p(ctx->dirs[found], 0755)) < 0)
                return sb_fail_errno(err, SB_E_INTERNAL, -rc, "mkdir %s", dir);
        }
        ctx->dir_of[c] = found;
    }
    return 0;
}

/* v2: enables the controllers in every ancestor's subtree_control, moving
 * ourselves out of the mount root if it holds processes (cgroup namespace
 * of a container), since v2 forbids processes in inner nodes. */
static int v2_enable(const char *dir, struct sb_error *err)
{
    int rc = cg_write(dir, "cgroup.subtree_control", "+memory +pids +cpu");
    if (rc == -EBUSY && !strcmp(dir, CG_MOUNT)) {
        char leaf[PATH_MAX], pid[32];
        snprintf(leaf, sizeof leaf, "%s/soulbox-host", CG_MOUNT);
        snprintf(pid, sizeof pid, "%d", (int)getpid());
        if ((rc = mkdir_p(leaf, 0755)) == 0 && (rc = cg_write(leaf, "cgroup.procs", pid)) == 0)
            rc = cg_write(dir, "cgroup.subtree_control", "+memory +pids +cpu");
    }
    if (rc < 0)
        return sb_fail_errno(err, SB_E_INTERNAL, -rc,
                             "cgroup v2: enable memory, pids, cpu in %s/cgroup.subtree_control "
                             "(delegate the cgroup or run SoulBox in its own)", dir);
    return 0;
}

static int init_v2(struct cg_ctx *ctx, const char *root, struct sb_error *err)
{
    char buf[512];
    ctx->version = CG_V2;
    if (cg_read(CG_MOUNT, "cgroup.controllers", buf, sizeof buf) < 0 ||
        !strstr(buf, "memory") || !strstr(buf, "pids") || !strstr(buf, "cpu"))
        return sb_fail(err, SB_E_INTERNAL,
                       "cgroup v2: memory, pids and cpu controllers must be available in "
                       CG_MOUNT "/cgroup.controllers");
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", CG_MOUNT, root);
    int rc = mkdir_p(path, 0755);
    if (rc < 0)
        return sb_fail_errno(err, SB_E_INTERNAL, -rc, "mkdir %s", path);
    /* Walk from the mount down to the root, enabling controllers at each level. */
    char walk[PATH_MAX];
    snprintf(walk, sizeof walk, "%s", CG_MOUNT);
    if (v2_enable(walk, err) < 0)
        return -1;
    for (char *s = path + strlen(CG_MOUNT) + 1; s;) {
        char *slash = strchr(s, '/');
        snprintf(walk, sizeof walk, "%.*s", (int)((slash ? slash : s + strlen(s)) - path), path);
        if (v2_enable(walk, err) < 0)
            return -1;
        s = slash ? slash + 1 : NULL;
    }
    snprintf(ctx->dirs[0], PATH_MAX, "%s", path);
    ctx->ndirs = 1;
    for (int c = 0; c < CG__NCTRL; c++)
        ctx->dir_of[c] = 0;
    struct stat st;
    snprintf(walk, sizeof walk, "%s/cgroup.kill", path);
    ctx->has_cgroup_kill = stat(walk, &st) == 0;
    snprintf(walk, sizeof walk, "%s/memory.peak", path);
    ctx->has_peak = stat(walk, &st) == 0;
    return 0;
}

int cg_init(struct cg_ctx *ctx, const char *root, struct sb_error *err)
{
    memset(ctx, 0, sizeof *ctx);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    ctx->ncpus = n > 0 ? (unsigned)n : 1;
    struct statfs sf;
    if (statfs(CG_MOUNT, &sf) < 0)
        return sb_fail_errno(err, SB_E_INTERNAL, errno, "statfs " CG_MOUNT);
    if (sf.f_type == CGROUP2_SUPER_MAGIC)
        return init_v2(ctx, root, err);
    return init_v1(ctx, root, err);
}

void cg_make_name(char *buf, size_t len, unsigned long seq)
{
    snprintf(buf, len, "sbx-%d-%lu", (int)getpid(), seq);
}

static void cg_path(const struct cg *cg, int i, char *out)
{
    snprintf(out, PATH_MAX, "%s/%s", cg->ctx->dirs[i], cg->name);
}

/* What a change of limits does to the CPU weight and quota (old NULL: a
 * new cgroup, which has full weight and no quota). */
static bool weight_changes(const struct cg_limits *lim, const struct cg_limits *old)
{
    return old ? lim->background != old->background : lim->background;
}

enum quota_op { QUOTA_KEEP, QUOTA_SET, QUOTA_REMOVE };

static enum quota_op quota_op(const struct cg *cg, const struct cg_limits *lim,
                              const struct cg_limits *old)
{
    unsigned all = 100 * cg->ctx->ncpus;
    bool quota = lim->cpu_percent && lim->cpu_percent < all;
    bool had = old && old->cpu_percent && old->cpu_percent < all;
    if (quota && (!had || lim->cpu_percent != old->cpu_percent))
        return QUOTA_SET;
    return !quota && had ? QUOTA_REMOVE : QUOTA_KEEP;
}

/* Writes the limits that differ from `old` (all of them when old is NULL). */
static int set_limits_v1(const struct cg *cg, const struct cg_limits *lim,
                         const struct cg_limits *old, const char **what)
{
    char mem[PATH_MAX], pids[PATH_MAX], cpu[PATH_MAX], v[64];
    int rc;
    cg_path(cg, cg->ctx->dir_of[CG_MEMORY], mem);
    cg_path(cg, cg->ctx->dir_of[CG_PIDS], pids);
    cg_path(cg, cg->ctx->dir_of[CG_CPU], cpu);
    snprintf(v, sizeof v, "%llu", (unsigned long long)lim->memory_bytes);
    if (!old) {
        if ((rc = cg_write(mem, *what = "memory.limit_in_bytes", v)) < 0)
            return rc;
        /* memsw = memory: no swap at all; without swap accounting, at least
         * no swapping by choice */
        rc = cg_write(mem, *what = "memory.memsw.limit_in_bytes", v);
        if (rc == -ENOENT)
            rc = cg_write(mem, *what = "?memory.swappiness", "0");
        if (rc < 0)
            return rc;
    } else if (lim->memory_bytes != old->memory_bytes) {
        /* memory.limit_in_bytes may not exceed memsw: raise memsw first, lower it last */
        bool up = lim->memory_bytes > old->memory_bytes;
        const char *first = up ? "?memory.memsw.limit_in_bytes" : "memory.limit_in_bytes";
        const char *second = up ? "memory.limit_in_bytes" : "?memory.memsw.limit_in_bytes";
        if ((rc = cg_write(mem, *what = first, v)) < 0 ||
            (rc = cg_write(mem, *what = second, v)) < 0)
            return rc;
    }
    snprintf(v, sizeof v, "%u", lim->pids);
    if ((!old || lim->pids != old->pids) && (rc = cg_write(pids, *what = "pids.max", v)) < 0)
        return rc;
    /* a new cgroup has cpu.shares 1024 and cpu.cfs_period_us 100000 */
    if (weight_changes(lim, old) &&
        (rc = cg_write(cpu, *what = "cpu.shares", lim->background ? "2" : "1024")) < 0)
        return rc;
    enum quota_op q = quota_op(cg, lim, old);
    snprintf(v, sizeof v, "%u", lim->cpu_percent * 1000);
    if (q != QUOTA_KEEP &&
        (rc = cg_write(cpu, *what = "cpu.cfs_quota_us", q == QUOTA_SET ? v : "-1")) < 0)
        return rc;
    return 0;
}

static int set_limits_v2(const struct cg *cg, const struct cg_limits *lim,
                         const struct cg_limits *old, const char **what)
{
    char dir[PATH_MAX], v[64];
    int rc;
    cg_path(cg, 0, dir);
    snprintf(v, sizeof v, "%llu", (unsigned long long)lim->memory_bytes);
    if ((!old || lim->memory_bytes != old->memory_bytes) &&
        (rc = cg_write(dir, *what = "memory.max", v)) < 0)
        return rc;
    if (!old && (rc = cg_write(dir, *what = "?memory.swap.max", "0")) < 0)
        return rc;
    snprintf(v, sizeof v, "%u", lim->pids);
    if ((!old || lim->pids != old->pids) && (rc = cg_write(dir, *what = "pids.max", v)) < 0)
        return rc;
    if (weight_changes(lim, old) &&
        (rc = cg_write(dir, *what = "?cpu.weight", lim->background ? "1" : "100")) < 0)
        return rc;
    enum quota_op q = quota_op(cg, lim, old);
    snprintf(v, sizeof v, "%u 100000", lim->cpu_percent * 1000);
    if (q != QUOTA_KEEP &&
        (rc = cg_write(dir, *what = "cpu.max", q == QUOTA_SET ? v : "max 100000")) < 0)
        return rc;
    return 0;
}

int cg_create(const struct cg_ctx *ctx, const char *name, const struct cg_limits *lim,
              struct cg *cg, struct sb_error *err)
{
    memset(cg, 0, sizeof *cg);
    cg->ctx = ctx;
    for (int i = 0; i < CG__NCTRL; i++)
        cg->procs_fd[i] = -1;
    snprintf(cg->name, sizeof cg->name, "%s", name);
    char dir[PATH_MAX];
    for (int i = 0; i < ctx->ndirs; i++) {
        cg_path(cg, i, dir);
        if (mkdir(dir, 0755) < 0) {
            int e = errno;
            cg_destroy(cg, NULL);
            return sb_fail_errno(err, SB_E_SANDBOX_SETUP, e, "mkdir %s", dir);
        }
        cg->made = i + 1;
    }
    cg->nprocs = ctx->ndirs;
    const char *what = "";
    int rc = ctx->version == CG_V1 ? set_limits_v1(cg, lim, NULL, &what)
                                   : set_limits_v2(cg, lim, NULL, &what);
    if (rc < 0) {
        cg_destroy(cg, NULL);
        return sb_fail_errno(err, SB_E_SANDBOX_SETUP, -rc, "cgroup %s: write %s", name,
                             what[0] == '?' ? what + 1 : what);
    }
    cg->cur = *lim;
    for (int i = 0; i < ctx->ndirs; i++) {
        char path[PATH_MAX];
        cg_path(cg, i, dir);
        snprintf(path, sizeof path, "%s/cgroup.procs", dir);
        cg->procs_fd[i] = open(path, O_WRONLY | O_CLOEXEC);
        if (cg->procs_fd[i] < 0) {
            int e = errno;
            cg_destroy(cg, NULL);
            return sb_fail_errno(err, SB_E_SANDBOX_SETUP, e, "open %s", path);
        }
    }
    return 0;
}

int cg_join(struct cg *cg, pid_t pid)
{
    char v[32];
    int n = snprintf(v, sizeof v, "%d", (int)pid);
    for (int i = 0; i < cg->nprocs; i++)
        if (cg->procs_fd[i] < 0 || write(cg->procs_fd[i], v, (size_t)n) != n)
            return cg->procs_fd[i] < 0 ? -EBADF : -errno;
    return 0;
}

int cg_attach(struct cg *cg, pid_t pid)
{
    int rc = cg_join(cg, pid);
    if (rc < 0)
        return rc;
    for (int i = 0; i < cg->nprocs; i++) {
        close(cg->procs_fd[i]);
        cg->procs_fd[i] = -1;
    }
    return 0;
}

int cg_update(struct cg *cg, const struct cg_limits *lim)
{
    if (lim->memory_bytes < cg->cur.memory_bytes) {
        uint64_t usage = cg_memory_usage(cg);
        if (usage && usage >= lim->memory_bytes)
            return -EBUSY; /* the sandbox already holds more than it may */
    }
    const char *what;
    int rc = cg->ctx->version == CG_V1 ? set_limits_v1(cg, lim, &cg->cur, &what)
                                       : set_limits_v2(cg, lim, &cg->cur, &what);
    if (rc < 0)
        return rc;
    cg->cur = *lim;
    return 0;
}

uint64_t cg_memory_usage(const struct cg *cg)
{
    char mem[PATH_MAX];
    uint64_t v = 0;
    cg_path(cg, cg->ctx->dir_of[CG_MEMORY], mem);
    cg_read_u64(mem, cg->ctx->version == CG_V1 ? "memory.usage_in_bytes" : "memory.current",
                &v);
    return v;
}

int cg_reset_peak(const struct cg *cg)
{
    char mem[PATH_MAX];
    cg_path(cg, cg->ctx->dir_of[CG_MEMORY], mem);
    /* v1 always; v2 since Linux 6.12 (older kernels refuse the write) */
    return cg_write(mem, cg->ctx->version == CG_V1 ? "memory.max_usage_in_bytes"
                                                   : "memory.peak", "0");
}

int cg_cpu_ns(const struct cg *cg, uint64_t *ns)
{
    char dir[PATH_MAX];
    cg_path(cg, cg->ctx->dir_of[CG_CPUACCT], dir);
    if (cg->ctx->version == CG_V1)
        return cg_read_u64(dir, "cpuacct.usage", ns);
    uint64_t us;
    int rc = cg_read_key(dir, "cpu.stat", "usage_usec", &us);
    *ns = us * 1000;
    return rc;
}

int cg_stats(const struct cg *cg, struct cg_stats *st)
{
    char mem[PATH_MAX];
    memset(st, 0, sizeof *st);
    int rc = cg_cpu_ns(cg, &st->cpu_ns);
    cg_path(cg, cg->ctx->dir_of[CG_MEMORY], mem);
    if (cg->ctx->version == CG_V1) {
        cg_read_u64(mem, "memory.max_usage_in_bytes", &st->memory_peak);
        cg_read_key(mem, "memory.oom_control", "oom_kill", &st->oom_kills);
    } else {
        if (cg->ctx->has_peak)
            cg_read_u64(mem, "memory.peak", &st->memory_peak);
        cg_read_key(mem, "memory.events", "oom_kill", &st->oom_kills);
    }
    return rc;
}

static int kill_procs_in(const char *dir)
{
    char buf[65536];
    int rc = cg_read(dir, "cgroup.procs", buf, sizeof buf);
    if (rc < 0)
        return rc;
    int n = 0;
    for (char *s = buf; *s;) {
        char *end;
        long pid = strtol(s, &end, 10);
        if (end == s)
            break;
        if (pid > 0 && kill((pid_t)pid, SIGKILL) == 0)
            n++;
        s = end;
        while (*s == '\n')
            s++;
    }
    return n;
}

static int kill_dir(const struct cg_ctx *ctx, const char *dir)
{
    if (ctx->version == CG_V2 && ctx->has_cgroup_kill)
        return cg_write(dir, "cgroup.kill", "1");
    /* Without cgroup.kill, repeat until no task is left (forks race us). */
    for (int i = 0; i < 100; i++) {
        int n = kill_procs_in(dir);
        if (n <= 0)
            return n < 0 ? n : 0;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return -EBUSY;
}

int cg_kill(const struct cg *cg)
{
    char dir[PATH_MAX];
    cg_path(cg, cg->ctx->dir_of[CG_PIDS], dir);
    return kill_dir(cg->ctx, dir);
}

static int rmdir_retry(const char *dir, int tries)
{
    for (int i = 0; i < tries; i++) {
        if (rmdir(dir) == 0 || errno == ENOENT)
            return 0;
        if (errno != EBUSY)
            return -errno;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return -EBUSY;
}

int cg_destroy(struct cg *cg, struct sb_error *err)
{
    int rc = 0;
    if (!cg->ctx)
        return 0;
    for (int i = 0; i < CG__NCTRL; i++) {
        if (cg->procs_fd[i] >= 0)
            close(cg->procs_fd[i]);
        cg->procs_fd[i] = -1;
    }
    for (int i = 0; i < cg->made; i++) {
        char dir[PATH_MAX];
        cg_path(cg, i, dir);
        int r = rmdir_retry(dir, 200);
        if (r < 0 && rc == 0)
            rc = sb_fail_errno(err, SB_E_INTERNAL, -r, "rmdir %s", dir);
    }
    cg->made = 0;
    return rc;
}

/* Is pid a live SoulBox process (the owner named in a cgroup)? */
static bool owner_alive(long pid)
{
    if (pid == getpid())
        return true;
    char path[64], exe[PATH_MAX];
    snprintf(path, sizeof path, "/proc/%ld/exe", pid);
    ssize_t n = readlink(path, exe, sizeof exe - 1);
    if (n < 0)
        return false;
    exe[n] = '\0';
    const char *base = strrchr(exe, '/');
    return strstr(base ? base + 1 : exe, "soulbox") != NULL;
}

int cg_cleanup_stale(const struct cg_ctx *ctx, bool wait, int *busy, struct sb_error *err)
{
    int removed = 0, left = 0;
    for (int i = 0; i < ctx->ndirs; i++) {
        DIR *d = opendir(ctx->dirs[i]);
        if (!d)
            return sb_fail_errno(err, SB_E_INTERNAL, errno, "opendir %s", ctx->dirs[i]);
        struct dirent *e;
        while ((e = readdir(d))) {
            long owner;
            unsigned long seq;
            if (sscanf(e->d_name, "sbx-%ld-%lu", &owner, &seq) != 2 || owner_alive(owner))
                continue;
            char dir[PATH_MAX];
            snprintf(dir, sizeof dir, "%s/%s", ctx->dirs[i], e->d_name);
            kill_dir(ctx, dir);
            if (rmdir_retry(dir, wait ? 200 : 1) == 0)
                removed++;
            else
                left++;
        }
        closedir(d);
    }
    if (busy)
        *busy = left;
    return removed;
}
