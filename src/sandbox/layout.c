/* Host side: builds the op list for a sandbox root (read-only system, minimal /etc and /dev, tmpfs data). */
#include "sandbox/layout.h"

#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>

#define ROOT_BYTES (4u << 20)
#define DEV_BYTES (64u << 10)

struct builder {
    struct layout_mem *mem;
    uint32_t n;
    int overflow;
};

static struct plan_op *add(struct builder *b, uint32_t kind, const char *dst, uint32_t flags)
{
    if (b->n >= sizeof b->mem->ops / sizeof b->mem->ops[0]) {
        b->overflow = 1;
        static struct plan_op scratch;
        memset(&scratch, 0, sizeof scratch);
        return &scratch;
    }
    struct plan_op *op = &b->mem->ops[b->n++];
    memset(op, 0, sizeof *op);
    op->kind = kind;
    op->dst = dst;
    op->flags = flags;
    return op;
}

static void add_tmpfs(struct builder *b, const char *dst, uint64_t size, uint64_t inodes,
                      uint32_t mode, uint32_t flags)
{
    struct plan_op *op = add(b, PLAN_OP_TMPFS, dst, flags);
    op->size = size;
    op->inodes = inodes;
    op->mode = mode;
}

static void add_src(struct builder *b, uint32_t kind, const char *src, const char *dst,
                    uint32_t flags)
{
    add(b, kind, dst, flags)->src = src;
}

static void add_write(struct builder *b, const char *dst, const char *text, uint32_t mode)
{
    struct plan_op *op = add(b, PLAN_OP_WRITE, dst, 0);
    op->data = (const uint8_t *)text;
    op->data_len = strlen(text);
    op->mode = mode;
}

static void add_dir(struct builder *b, const char *dst, uint32_t mode, uint32_t flags)
{
    add(b, PLAN_OP_DIR, dst, flags)->mode = mode;
}

static void build_etc(struct builder *b, const struct layout_cfg *cfg,
                      const struct layout_req *req)
{
    struct layout_mem *m = b->mem;
    add_dir(b, "/etc", 0755, 0);
    size_t cap = sizeof m->etc_paths / sizeof m->etc_paths[0];
    if (cfg->n_etc + req->n_extra_etc > cap)
        b->overflow = 1;
    for (size_t i = 0; i < cfg->n_etc + req->n_extra_etc && i < cap; i++) {
        const char *name = i < cfg->n_etc ? cfg->etc[i] : req->extra_etc[i - cfg->n_etc];
        /* A truncated name would expose a different file: refuse instead. */
        if (snprintf(m->etc_paths[i], sizeof m->etc_paths[i], "/etc/%s", name) >=
            (int)sizeof m->etc_paths[i])
            b->overflow = 1;
        add_src(b, PLAN_OP_EXPOSE, m->etc_paths[i], m->etc_paths[i], PLAN_F_OPTIONAL);
    }
    snprintf(m->passwd, sizeof m->passwd,
             "root:x:0:0:root:/root:/usr/sbin/nologin\n"
             "%s:x:%u:%u:SoulBox sandbox:%s:/bin/sh\n"
             "soulbox-agent:x:%u:%u:SoulBox supervisor:/:/usr/sbin/nologin\n"
             "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
             req->home ? "user" : "sandbox", req->uid, req->gid,
             req->home ? req->home : cfg->workdir, req->agent_uid, req->gid);
    snprintf(m->group, sizeof m->group, "root:x:0:\n%s:x:%u:\nnogroup:x:65534:\n",
             req->home ? "user" : "sandbox", req->gid);
    snprintf(m->hostname, sizeof m->hostname, "%s\n", cfg->hostname);
    snprintf(m->hosts, sizeof m->hosts,
             "127.0.0.1\tlocalhost %s\n::1\tlocalhost ip6-localhost ip6-loopback\n",
             cfg->hostname);
    add_write(b, "/etc/passwd", m->passwd, 0644);
    add_write(b, "/etc/group", m->group, 0644);
    add_write(b, "/etc/hostname", m->hostname, 0644);
    add_write(b, "/etc/hosts", m->hosts, 0644);
}

/* /dev is a root-owned tmpfs holding five character devices made with mknod
 * (the memory devices have fixed numbers on Linux); the program cannot add
 * any: it has no CAP_MKNOD and the directory is not writable to it. */
static void build_dev(struct builder *b, const struct layout_req *req)
{
    static const struct { const char *path; unsigned minor; } nodes[] = {
        {"/dev/null", 3}, {"/dev/zero", 5}, {"/dev/full", 7}, {"/dev/random", 8},
        {"/dev/urandom", 9},
    };
    add_tmpfs(b, "/dev", DEV_BYTES, 64, 0755, PLAN_F_EXEC_OFF | PLAN_F_DEV);
    for (size_t i = 0; i < sizeof nodes / sizeof *nodes; i++) {
        struct plan_op *op = add(b, PLAN_OP_MKNOD, nodes[i].path, 0);
        op->mode = 0666;
        op->size = makedev(1, nodes[i].minor);
    }
    add_src(b, PLAN_OP_SYMLINK, "/proc/self/fd", "/dev/fd", 0);
    add_src(b, PLAN_OP_SYMLINK, "/proc/self/fd/0", "/dev/stdin", 0);
    add_src(b, PLAN_OP_SYMLINK, "/proc/self/fd/1", "/dev/stdout", 0);
    add_src(b, PLAN_OP_SYMLINK, "/proc/self/fd/2", "/dev/stderr", 0);
    add_tmpfs(b, "/dev/shm", req->disk_bytes, 1024, 01777, PLAN_F_EXEC_OFF);
    if (req->pty) {
        add(b, PLAN_OP_DEVPTS, "/dev/pts", 0)->size = req->gid;
        add_src(b, PLAN_OP_SYMLINK, "pts/ptmx", "/dev/ptmx", 0);
    }
}

/* /tmp and the working dir share one tmpfs, so the disk limit is their sum.
 * It is mounted on a host dir of the agent's private mount namespace and its
 * two halves are bound into place; the original mount leaves with the old
 * root at the pivot, so nothing of it is reachable but the two binds. */
static void build_data(struct builder *b, const struct layout_cfg *cfg,
                       const struct layout_req *req)
{
    struct layout_mem *m = b->mem;
    snprintf(m->data_tmp, sizeof m->data_tmp, "%s/tmp", cfg->data_dir);
    snprintf(m->data_work, sizeof m->data_work, "%s/work", cfg->data_dir);
    add_tmpfs(b, cfg->data_dir, req->disk_bytes, cfg->inodes, 0755, PLAN_F_DST_HOST);
    add_dir(b, m->data_tmp, 01777, PLAN_F_DST_HOST);
    add_dir(b, m->data_work, 0755, PLAN_F_OWNED | PLAN_F_DST_HOST);
    add_src(b, PLAN_OP_BIND, m->data_tmp, "/tmp", PLAN_F_RW);
    add_src(b, PLAN_OP_BIND, m->data_work, cfg->workdir, PLAN_F_RW);
    if (req->home) {
        /* the parent is root's: the program cannot replace the home itself */
        char *slash = strrchr(req->home, '/');
        if (slash && slash != req->home) {
            snprintf(m->home_parent, sizeof m->home_parent, "%.*s", (int)(slash - req->home),
                     req->home);
            add_dir(b, m->home_parent, 0755, 0);
        }
        add_src(b, PLAN_OP_BIND, m->data_work, req->home, PLAN_F_RW);
    }
}

int layout_build(const struct layout_cfg *cfg, const struct layout_req *req,
                 struct plan *p, struct layout_mem *mem)
{
    struct builder b = {mem, 0, 0};
    memset(p, 0, sizeof *p);
    add_tmpfs(&b, "/", ROOT_BYTES, 4096, 0755, 0);
    for (size_t i = 0; i < cfg->n_system; i++)
        add_src(&b, PLAN_OP_EXPOSE, cfg->system[i], cfg->system[i], PLAN_F_OPTIONAL);
    for (size_t i = 0; i < cfg->n_binds; i++)
        add_src(&b, PLAN_OP_BIND, cfg->binds[i], cfg->binds[i], PLAN_F_OPTIONAL);
    for (size_t i = 0; i < req->n_extra_binds; i++)
        add_src(&b, PLAN_OP_BIND, req->extra_binds[i], req->extra_binds[i], PLAN_F_OPTIONAL);
    build_etc(&b, cfg, req);
    build_dev(&b, req);
    add(&b, PLAN_OP_PROC, "/proc", 0); /* after /dev: it masks files with /dev/null */
    build_data(&b, cfg, req);
    if (b.overflow)
        return -1;
    p->uid = req->uid;
    p->gid = req->gid;
    p->agent_uid = req->agent_uid;
    p->hostname = cfg->hostname;
    p->staging = cfg->staging;
    p->flags = PLAN_ROOT_RO | (req->new_net ? PLAN_NET_LO_UP : 0) |
               (req->seccomp_notify ? PLAN_SECCOMP_NOTIFY : 0);
    p->ops = mem->ops;
    p->n_ops = b.n;
    p->bpf = req->bpf;
    p->bpf_len = req->bpf_len;
    return 0;
}
