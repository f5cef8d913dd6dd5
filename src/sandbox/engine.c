/* Host side: process-wide sandbox engine setup (state dir, cgroups, uids, filter, agent binary). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "sandbox/namespaces.h"
#include "sandbox/sandbox.h"

/* The static agent, linked in by agent_blob.S, and its content hash. */
extern const unsigned char sb_agent_blob[];
extern const unsigned char sb_agent_blob_end[];
extern const char sb_agent_id[];
/* The default seccomp programs, compiled at build time (seccomp_blob.S). */
extern const unsigned char sb_bpf_notify[], sb_bpf_notify_end[];
extern const unsigned char sb_bpf_kill[], sb_bpf_kill_end[];

/* The default (deny-list) filter comes prebuilt; an allowlist is compiled. */
static int load_filter(const struct sbx_engine_cfg *cfg, struct seccomp_prog *p,
                       struct sb_error *err)
{
    if (cfg->n_allowed_syscalls)
        return seccomp_compile(cfg->allowed_syscalls, cfg->n_allowed_syscalls, p, err);
    memset(p, 0, sizeof *p);
    p->notify = seccomp_notify_supported();
    const unsigned char *b = p->notify ? sb_bpf_notify : sb_bpf_kill;
    const unsigned char *end = p->notify ? sb_bpf_notify_end : sb_bpf_kill_end;
    p->len = (uint32_t)(end - b);
    if (!(p->bpf = malloc(p->len)))
        return sb_fail(err, SB_E_INTERNAL, "out of memory");
    memcpy(p->bpf, b, p->len);
    return 0;
}

static int make_dir(const char *path, mode_t mode, struct sb_error *err)
{
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *s = tmp + 1; (s = strchr(s, '/')); s++) {
        *s = '\0';
        if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
            return sb_fail_errno(err, SB_E_INTERNAL, errno, "mkdir %s", tmp);
        *s = '/';
    }
    if (mkdir(tmp, mode) < 0 && errno != EEXIST)
        return sb_fail_errno(err, SB_E_INTERNAL, errno, "mkdir %s", tmp);
    struct stat st;
    if (lstat(tmp, &st) < 0 || !S_ISDIR(st.st_mode))
        return sb_fail(err, SB_E_INTERNAL, "%s is not a directory", tmp);
    if (st.st_uid != 0 || (st.st_mode & 022))
        return sb_fail(err, SB_E_INTERNAL, "%s must be owned by root and not group/world "
                       "writable", tmp);
    return 0;
}

/* Fallback: the agent from a sealed memfd (costs a copy of the binary per process). */
static int agent_memfd(struct sb_error *err)
{
    size_t len = (size_t)(sb_agent_blob_end - sb_agent_blob);
    int fd = memfd_create("soulbox-agent", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return sb_fail_errno(err, SB_E_INTERNAL, errno, "memfd_create agent");
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd, sb_agent_blob + off, len - off);
        if (w < 0) {
            int e = errno;
            close(fd);
            return sb_fail_errno(err, SB_E_INTERNAL, e, "write agent memfd");
        }
        off += (size_t)w;
    }
    if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0) {
        int e = errno;
        close(fd);
        return sb_fail_errno(err, SB_E_INTERNAL, e, "seal agent memfd");
    }
    return fd;
}

/* An existing agent file is used only if it is exactly ours: a regular,
 * root-owned, unwritable file of the right size in the root-only state dir,
 * whose name carries the build's content hash. */
static int open_cached_agent(const char *path, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == 0 &&
        !(st.st_mode & 0222) && (size_t)st.st_size == len)
        return fd;
    close(fd);
    unlink(path);
    return -1;
}

static void remove_other_agents(const char *state_dir, const char *keep)
{
    DIR *d = opendir(state_dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)))
        if (!strncmp(e->d_name, "agent-", 6) && strcmp(e->d_name, keep))
            unlinkat(dirfd(d), e->d_name, 0);
    closedir(d);
}

/* The agent is written once per build to <state_dir>/agent-<hash> and
 * exec'd from there; every later process just opens it. */
int sbx_agent_binary(const char *state_dir, struct sb_error *err)
{
    size_t len = (size_t)(sb_agent_blob_end - sb_agent_blob);
    char name[64], path[512], tmp[560];
    snprintf(name, sizeof name, "agent-%s", sb_agent_id);
    snprintf(path, sizeof path, "%s/%s", state_dir, name);
    int fd = open_cached_agent(path, len);
    if (fd >= 0)
        return fd;
    snprintf(tmp, sizeof tmp, "%s.%d.tmp", path, (int)getpid());
    int w = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0500);
    if (w < 0)
        return agent_memfd(err);
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(w, sb_agent_blob + off, len - off);
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    close(w);
    if (off != len || rename(tmp, path) < 0) {
        unlink(tmp);
        return agent_memfd(err);
    }
    remove_other_agents(state_dir, name);
    fd = open_cached_agent(path, len);
    return fd >= 0 ? fd : agent_memfd(err);
}

static int check_root(struct sb_error *err)
{
    if (geteuid() != 0)
        return sb_fail(err, SB_E_INTERNAL,
                       "SoulBox must run as root to create sandboxes (namespaces, cgroups, "
                       "mounts); sandboxed programs never run as root");
    return 0;
}

static void pool_start_noop(uv_work_t *w)
{
    (void)w;
}

/* A crashed run's cgroup can stay busy for a while after its processes are
 * killed (their exit, or their reaping by init, is not done yet): it is
 * removed from the loop as soon as it is empty, for up to a minute. */
#define STALE_RETRY_MS 200
#define STALE_RETRIES 300

static void on_stale_retry(uv_timer_t *t)
{
    struct sbx_engine *e = t->data;
    struct sb_error err;
    int busy = 0;
    if (cg_cleanup_stale(&e->cg, false, &busy, &err) < 0 || busy == 0 ||
        ++e->stale_tries >= STALE_RETRIES) {
        if (busy)
            log_event(LOG_WARN, "stale sandbox cgroups stay busy",
                      json_pack("{s:i}", "count", busy));
        uv_timer_stop(t);
    }
}

static void stale_retry_start(struct sbx_engine *e)
{
    uv_timer_init(e->loop, &e->stale_timer);
    e->stale_timer.data = e;
    e->stale_timer_open = true;
    uv_timer_start(&e->stale_timer, on_stale_retry, STALE_RETRY_MS, STALE_RETRY_MS);
}

int sbx_engine_init(struct sbx_engine *e, uv_loop_t *loop, const struct sbx_engine_cfg *cfg,
                    struct sb_error *err)
{
    memset(e, 0, sizeof *e);
    e->loop = loop;
    e->cfg = *cfg;
    e->agent_fd = e->null_fd = -1;
    e->vm.kernel_fd = e->vm.initrd_fd = -1;
    e->uids.fd = -1;
    /* Writes to a pipe whose reader died must fail with EPIPE, not kill us. */
    signal(SIGPIPE, SIG_IGN);
    if (check_root(err) < 0 || ns_init(err) < 0 || make_dir(cfg->state_dir, 0700, err) < 0)
        return -1;
    if (snprintf(e->staging, sizeof e->staging, "%s/root", cfg->state_dir) >= (int)sizeof e->staging)
        return sb_fail(err, SB_E_CONFIG, "state_dir is too long");
    if (make_dir(e->staging, 0700, err) < 0)
        return -1;
    e->cfg.layout.staging = e->staging;
    snprintf(e->data_dir, sizeof e->data_dir, "%s/data", cfg->state_dir);
    if (make_dir(e->data_dir, 0700, err) < 0)
        return -1;
    e->cfg.layout.data_dir = e->data_dir;
    if (cg_init(&e->cg, cfg->cgroup_root, err) < 0)
        return -1;
    if (cfg->cgroup_favordynmods) {
        struct sb_error fe;
        int rc = cg_favor_dynmods(cfg->state_dir, &fe);
        if (rc < 0)
            log_event(LOG_WARN, "cgroup attaches stay slow",
                      json_pack("{s:s}", "error", fe.msg));
        else if (rc > 0)
            log_event(LOG_INFO, "cgroup2 remounted with favordynmods (fast cgroup attaches)",
                      NULL);
    }
    int busy = 0;
    if (!cfg->defer_stale_cleanup && cg_cleanup_stale(&e->cg, true, &busy, err) < 0)
        return -1;
    if (busy)
        stale_retry_start(e);
    if (uidpool_open(&e->uids, cfg->state_dir, cfg->uid_base, cfg->uid_count, err) < 0)
        return -1;
    if (load_filter(cfg, &e->seccomp, err) < 0)
        goto fail;
    if ((e->agent_fd = sbx_agent_binary(cfg->state_dir, err)) < 0)
        goto fail;
    if ((e->null_fd = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0) {
        sb_fail_errno(err, SB_E_INTERNAL, errno, "open /dev/null");
        goto fail;
    }
    /* Agents are spawned on libuv's thread pool, whose threads start with
     * its first job: start them now, while nothing limits our threads (libuv
     * aborts the process when it cannot create one). */
    if (!cfg->spawn_on_loop && uv_queue_work(loop, &e->pool_start, pool_start_noop, NULL) < 0) {
        sb_fail(err, SB_E_INTERNAL, "start the spawn threads");
        goto fail;
    }
    vm_engine_init(&e->vm, &e->cfg.vm);
    return 0;
fail:
    sbx_engine_close(e);
    return -1;
}

int sbx_engine_cleanup_stale(struct sbx_engine *e, struct sb_error *err)
{
    return cg_cleanup_stale(&e->cg, true, NULL, err);
}

void sbx_engine_idle_check(struct sbx_engine *e)
{
    if (e->active == 0 && e->idle_cb) {
        void (*cb)(void *) = e->idle_cb;
        e->idle_cb = NULL;
        cb(e->idle_arg);
    }
}

void sbx_engine_idle(struct sbx_engine *e, void (*cb)(void *), void *arg)
{
    e->idle_cb = cb;
    e->idle_arg = arg;
    sbx_engine_idle_check(e);
}

void sbx_engine_close(struct sbx_engine *e)
{
    if (e->stale_timer_open)
        uv_close((uv_handle_t *)&e->stale_timer, NULL);
    e->stale_timer_open = false;
    if (e->agent_fd >= 0)
        close(e->agent_fd);
    if (e->null_fd >= 0)
        close(e->null_fd);
    e->agent_fd = e->null_fd = -1;
    seccomp_prog_free(&e->seccomp);
    vm_engine_close(&e->vm);
    if (e->uids.fd >= 0)
        uidpool_close(&e->uids);
}
