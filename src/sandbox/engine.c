/* Host side: process-wide sandbox engine setup (state dir, cgroups, uids, filter, agent binary). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sandbox/sandbox.h"

/* The static agent, linked in by agent_blob.S. */
extern const unsigned char sb_agent_blob[];
extern const unsigned char sb_agent_blob_end[];

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

/* The agent runs from a sealed memfd: no file on disk to swap or tamper with. */
static int load_agent(struct sb_error *err)
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

static int check_root(struct sb_error *err)
{
    if (geteuid() != 0)
        return sb_fail(err, SB_E_INTERNAL,
                       "SoulBox must run as root to create sandboxes (namespaces, cgroups, "
                       "mounts); sandboxed programs never run as root");
    return 0;
}

int sbx_engine_init(struct sbx_engine *e, uv_loop_t *loop, const struct sbx_engine_cfg *cfg,
                    struct sb_error *err)
{
    memset(e, 0, sizeof *e);
    e->loop = loop;
    e->cfg = *cfg;
    e->agent_fd = -1;
    e->uids.fd = -1;
    /* Writes to a pipe whose reader died must fail with EPIPE, not kill us. */
    signal(SIGPIPE, SIG_IGN);
    if (check_root(err) < 0 || make_dir(cfg->state_dir, 0700, err) < 0)
        return -1;
    if (snprintf(e->staging, sizeof e->staging, "%s/root", cfg->state_dir) >= (int)sizeof e->staging)
        return sb_fail(err, SB_E_CONFIG, "state_dir is too long");
    if (make_dir(e->staging, 0700, err) < 0)
        return -1;
    e->cfg.layout.staging = e->staging;
    if (cg_init(&e->cg, cfg->cgroup_root, err) < 0)
        return -1;
    if (cg_cleanup_stale(&e->cg, err) < 0)
        return -1;
    if (uidpool_open(&e->uids, cfg->state_dir, cfg->uid_base, cfg->uid_count, err) < 0)
        return -1;
    if (seccomp_compile(cfg->allowed_syscalls, cfg->n_allowed_syscalls, &e->seccomp, err) < 0)
        goto fail;
    if ((e->agent_fd = load_agent(err)) < 0)
        goto fail;
    return 0;
fail:
    sbx_engine_close(e);
    return -1;
}

void sbx_engine_close(struct sbx_engine *e)
{
    if (e->agent_fd >= 0)
        close(e->agent_fd);
    e->agent_fd = -1;
    seccomp_prog_free(&e->seccomp);
    if (e->uids.fd >= 0)
        uidpool_close(&e->uids);
}
