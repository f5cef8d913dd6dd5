/* Agent side: mount namespace setup from the plan's op list, pivot_root, read-only root. */
#include "sandbox/rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/error.h"

struct ctx {
    const struct plan *p;
    const char *staging;
    char *why;
    size_t whylen;
    bool have_empty;   /* OVL_EMPTY exists and the cwd is the staged root */
};

/* The second (empty) layer of every read-only overlay, in the new root.
 * Named relative to it, so the mount options show no host path. */
#define OVL_EMPTY ".soulbox-empty"

/* Records "<what>: <ERRNO>" and returns -errno. */
static int fail(struct ctx *c, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct ctx *c, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(c->why, c->whylen, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < c->whylen)
        snprintf(c->why + n, c->whylen - (size_t)n, ": %s", sb_errno_name(err));
    return -err;
}

/* staging + dst, where dst "/" maps to staging itself. */
static int full_path(struct ctx *c, const char *dst, char out[PATH_MAX])
{
    int n = snprintf(out, PATH_MAX, "%s%s", c->staging, strcmp(dst, "/") ? dst : "");
    if (n < 0 || n >= PATH_MAX)
        return fail(c, ENAMETOOLONG, "path %s", dst);
    return 0;
}

static int dst_path(struct ctx *c, const struct plan_op *op, char out[PATH_MAX])
{
    if (op->flags & PLAN_F_DST_HOST) {
        snprintf(out, PATH_MAX, "%s", op->dst);
        return 0;
    }
    return full_path(c, op->dst, out);
}

/* mkdir -p of every parent of path (under staging, or a host path), mode 0755. */
static int make_parents(struct ctx *c, char *path)
{
    size_t base = strlen(c->staging);
    if (strncmp(path, c->staging, base))
        base = 0;
    for (char *s = path + base + 1; (s = strchr(s, '/')); s++) {
        *s = '\0';
        int rc = mkdir(path, 0755);
        int err = errno;
        *s = '/';
        if (rc < 0 && err != EEXIST)
            return fail(c, err, "mkdir %.*s", (int)(s - path - base), path + base);
    }
    return 0;
}

static int make_mountpoint(struct ctx *c, char *path, int is_file)
{
    int rc = make_parents(c, path);
    if (rc < 0)
        return rc;
    if (is_file) {
        int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
            return fail(c, errno, "create mount point %s", path + strlen(c->staging));
        close(fd);
    } else if (mkdir(path, 0755) < 0 && errno != EEXIST) {
        return fail(c, errno, "mkdir %s", path + strlen(c->staging));
    }
    return 0;
}

static unsigned long bind_flags(uint32_t f)
{
    unsigned long fl = MS_BIND | MS_REMOUNT | MS_NOSUID;
    if (!(f & PLAN_F_RW))
        fl |= MS_RDONLY;
    if (!(f & PLAN_F_DEV))
        fl |= MS_NODEV;
    if (f & PLAN_F_EXEC_OFF)
        fl |= MS_NOEXEC;
    return fl;
}

/* A read-only directory from the host is not bound but overlaid: a
 * lower-only overlayfs of it and an empty directory. Its files are then the
 * overlay's inodes, private to this sandbox, so file locks (flock, fcntl)
 * and inotify watches on shared system files reach no other sandbox and no
 * host process (through a bind they would be the host's own inodes). */
static int do_overlay(struct ctx *c, const struct plan_op *op, const char *src, const char *dst)
{
    if (strpbrk(src, ":,\\"))
        return fail(c, EINVAL, "%s: ':', ',' and '\\' cannot be in a read-only directory's path",
                    op->src);
    if (!c->have_empty) {
        char empty[PATH_MAX];
        int rc = full_path(c, "/" OVL_EMPTY, empty);
        if (rc < 0)
            return rc;
        if (mkdir(empty, 0) < 0 && errno != EEXIST)
            return fail(c, errno, "mkdir /%s", OVL_EMPTY);
        if (chdir(c->staging) < 0)
            return fail(c, errno, "chdir %s", c->staging);
        c->have_empty = true;
    }
    char opts[PATH_MAX + 64];
    if (snprintf(opts, sizeof opts, "lowerdir=%s:%s", src, OVL_EMPTY) >= (int)sizeof opts)
        return fail(c, ENAMETOOLONG, "overlay %s", op->src);
    /* the flags a read-only bind would get (do_bind only overlays those) */
    unsigned long fl = bind_flags(op->flags) & ~(MS_BIND | MS_REMOUNT);
    if (mount("overlay", dst, "overlay", fl, opts) < 0) {
        int err = errno;
        return fail(c, err, "overlay %s%s", op->dst,
                    err == ENODEV ? " (the kernel has no overlayfs: modprobe overlay)" : "");
    }
    return 0;
}

static int do_bind(struct ctx *c, const struct plan_op *op, const char *src, int is_file)
{
    char dst[PATH_MAX];
    int rc = dst_path(c, op, dst);
    if (rc < 0 || (rc = make_mountpoint(c, dst, is_file)) < 0)
        return rc;
    if (!is_file && !(op->flags & (PLAN_F_RW | PLAN_F_DST_HOST | PLAN_F_SRC_IN_ROOT)))
        return do_overlay(c, op, src, dst);
    if (mount(src, dst, NULL, MS_BIND, NULL) < 0)
        return fail(c, errno, "mount %s -> %s", op->src, op->dst);
    if (mount(NULL, dst, NULL, bind_flags(op->flags), NULL) < 0)
        return fail(c, errno, "remount %s", op->dst);
    return 0;
}

static int op_bind(struct ctx *c, const struct plan_op *op)
{
    char src[PATH_MAX];
    if (op->flags & PLAN_F_SRC_IN_ROOT) {
        int rc = full_path(c, op->src, src);
        if (rc < 0)
            return rc;
    } else {
        snprintf(src, sizeof src, "%s", op->src);
    }
    struct stat st;
    if (stat(src, &st) < 0) {
        if (errno == ENOENT && (op->flags & PLAN_F_OPTIONAL))
            return 0;
        return fail(c, errno, "stat %s", op->src);
    }
    return do_bind(c, op, src, !S_ISDIR(st.st_mode));
}

/* Copies a small regular host file into the new root (cheaper than a mount). */
static int copy_file(struct ctx *c, const struct plan_op *op, const char *dst, mode_t mode)
{
    int in = open(op->src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return fail(c, errno, "open %s", op->src);
    int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode & 0755);
    if (out < 0) {
        int err = errno;
        close(in);
        return fail(c, err, "create %s", op->dst);
    }
    char buf[16384];
    ssize_t n;
    int rc = 0;
    while ((n = read(in, buf, sizeof buf)) > 0) {
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0) {
                rc = fail(c, errno, "write %s", op->dst);
                goto out;
            }
            off += w;
        }
    }
    if (n < 0)
        rc = fail(c, errno, "read %s", op->src);
out:
    close(in);
    close(out);
    return rc;
}

#define EXPOSE_COPY_MAX (1u << 20)

static int op_expose(struct ctx *c, const struct plan_op *op)
{
    struct stat st;
    char dst[PATH_MAX];
    int rc;
    if (lstat(op->src, &st) < 0) {
        if (errno == ENOENT && (op->flags & PLAN_F_OPTIONAL))
            return 0;
        return fail(c, errno, "lstat %s", op->src);
    }
    if ((rc = dst_path(c, op, dst)) < 0 || (rc = make_parents(c, dst)) < 0)
        return rc;
    if (S_ISLNK(st.st_mode)) {
        char target[PATH_MAX];
        ssize_t n = readlink(op->src, target, sizeof target - 1);
        if (n < 0)
            return fail(c, errno, "readlink %s", op->src);
        target[n] = '\0';
        if (symlink(target, dst) < 0)
            return fail(c, errno, "symlink %s", op->dst);
        return 0;
    }
    if (S_ISREG(st.st_mode) && st.st_size <= EXPOSE_COPY_MAX)
        return copy_file(c, op, dst, st.st_mode);
    if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))
        return do_bind(c, op, op->src, S_ISREG(st.st_mode));
    return fail(c, EINVAL, "expose %s: not a file, directory or symlink", op->src);
}

static int op_tmpfs(struct ctx *c, const struct plan_op *op)
{
    char dst[PATH_MAX], opts[160];
    int rc = dst_path(c, op, dst);
    if (rc < 0)
        return rc;
    if ((strcmp(op->dst, "/") || (op->flags & PLAN_F_DST_HOST)) &&
        (rc = make_mountpoint(c, dst, 0)) < 0)
        return rc;
    int n = snprintf(opts, sizeof opts, "size=%llu,mode=%o", (unsigned long long)op->size,
                     op->mode);
    if (op->inodes)
        n += snprintf(opts + n, sizeof opts - (size_t)n, ",nr_inodes=%llu",
                      (unsigned long long)op->inodes);
    if (op->flags & PLAN_F_OWNED)
        snprintf(opts + n, sizeof opts - (size_t)n, ",uid=%u,gid=%u", c->p->uid, c->p->gid);
    unsigned long fl = MS_NOSUID;
    if (!(op->flags & PLAN_F_DEV))
        fl |= MS_NODEV;
    if (op->flags & PLAN_F_EXEC_OFF)
        fl |= MS_NOEXEC;
    if (mount("tmpfs", dst, "tmpfs", fl, opts) < 0)
        return fail(c, errno, "mount tmpfs %s", op->dst);
    return 0;
}

static int set_owner_mode(struct ctx *c, const struct plan_op *op, const char *path)
{
    if ((op->flags & PLAN_F_OWNED) && chown(path, c->p->uid, c->p->gid) < 0)
        return fail(c, errno, "chown %s", op->dst);
    if (chmod(path, op->mode) < 0)
        return fail(c, errno, "chmod %s", op->dst);
    return 0;
}

static int op_dir(struct ctx *c, const struct plan_op *op)
{
    char dst[PATH_MAX];
    int rc = dst_path(c, op, dst);
    if (rc < 0 || (rc = make_parents(c, dst)) < 0)
        return rc;
    if (mkdir(dst, 0700) < 0 && errno != EEXIST)
        return fail(c, errno, "mkdir %s", op->dst);
    return set_owner_mode(c, op, dst);
}

static int op_write(struct ctx *c, const struct plan_op *op)
{
    char dst[PATH_MAX];
    int rc = dst_path(c, op, dst);
    if (rc < 0 || (rc = make_parents(c, dst)) < 0)
        return rc;
    int fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return fail(c, errno, "create %s", op->dst);
    for (uint64_t off = 0; off < op->data_len;) {
        ssize_t w = write(fd, op->data + off, op->data_len - off);
        if (w < 0) {
            rc = fail(c, errno, "write %s", op->dst);
            close(fd);
            return rc;
        }
        off += (uint64_t)w;
    }
    close(fd);
    return set_owner_mode(c, op, dst);
}

static int op_symlink(struct ctx *c, const struct plan_op *op)
{
    char dst[PATH_MAX];
    int rc = dst_path(c, op, dst);
    if (rc < 0 || (rc = make_parents(c, dst)) < 0)
        return rc;
    if (symlink(op->src, dst) < 0)
        return fail(c, errno, "symlink %s -> %s", op->dst, op->src);
    return 0;
}

/* proc files that are not namespaced and show other sandboxes: /proc/locks
 * lists every lock on the host (the server's locks on the uid pool reveal
 * which sandbox uids are live), sched_debug every task. The sandbox's own
 * /dev/null is bound over them (read-only): they read as empty. */
static int mask_proc(struct ctx *c, const char *proc)
{
    static const char *const masked[] = {"locks", "sched_debug"};
    char null[PATH_MAX], path[PATH_MAX];
    int rc = full_path(c, "/dev/null", null);
    for (size_t i = 0; rc == 0 && i < sizeof masked / sizeof *masked; i++) {
        if (snprintf(path, sizeof path, "%s/%s", proc, masked[i]) >= (int)sizeof path)
            return fail(c, ENAMETOOLONG, "path %s", masked[i]);
        if (access(path, F_OK) < 0)
            continue; /* not in this kernel */
        if (mount(null, path, NULL, MS_BIND, NULL) < 0 ||
            mount(NULL, path, NULL, bind_flags(PLAN_F_DEV | PLAN_F_EXEC_OFF), NULL) < 0)
            return fail(c, errno, "mask /proc/%s", masked[i]);
    }
    return rc;
}

static int op_proc(struct ctx *c, const struct plan_op *op)
{
    char dst[PATH_MAX];
    int rc = dst_path(c, op, dst);
    if (rc < 0 || (rc = make_mountpoint(c, dst, 0)) < 0)
        return rc;
    if (mount("proc", dst, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        return fail(c, errno, "mount proc %s", op->dst);
    return mask_proc(c, dst);
}

static int op_mknod(struct ctx *c, const struct plan_op *op)
{
    char dst[PATH_MAX];
    int rc = dst_path(c, op, dst);
    if (rc < 0 || (rc = make_parents(c, dst)) < 0)
        return rc;
    if (mknod(dst, S_IFCHR | (op->mode & 0777), (dev_t)op->size) < 0)
        return fail(c, errno, "mknod %s", op->dst);
    if (chmod(dst, op->mode & 0777) < 0)
        return fail(c, errno, "chmod %s", op->dst);
    return 0;
}

/* A private devpts instance: ptys opened here are this sandbox's alone,
 * owned by its group (gid in `size`), and /dev/ptmx points into it. */
static int op_devpts(struct ctx *c, const struct plan_op *op)
{
    char dst[PATH_MAX], opts[96];
    int rc = dst_path(c, op, dst);
    if (rc < 0 || (rc = make_mountpoint(c, dst, 0)) < 0)
        return rc;
    snprintf(opts, sizeof opts, "newinstance,ptmxmode=0666,mode=0620,gid=%llu",
             (unsigned long long)op->size);
    if (mount("devpts", dst, "devpts", MS_NOSUID | MS_NOEXEC, opts) < 0)
        return fail(c, errno, "mount devpts %s", op->dst);
    return 0;
}

static int op_umount(struct ctx *c, const struct plan_op *op)
{
    char dst[PATH_MAX];
    int rc = dst_path(c, op, dst);
    if (rc < 0)
        return rc;
    if (umount2(dst, MNT_DETACH) < 0)
        return fail(c, errno, "umount %s", op->dst);
    if (rmdir(dst) < 0)
        return fail(c, errno, "rmdir %s", op->dst);
    return 0;
}

static int run_op(struct ctx *c, const struct plan_op *op)
{
    switch (op->kind) {
    case PLAN_OP_DIR:     return op_dir(c, op);
    case PLAN_OP_TMPFS:   return op_tmpfs(c, op);
    case PLAN_OP_BIND:    return op_bind(c, op);
    case PLAN_OP_EXPOSE:  return op_expose(c, op);
    case PLAN_OP_SYMLINK: return op_symlink(c, op);
    case PLAN_OP_WRITE:   return op_write(c, op);
    case PLAN_OP_PROC:    return op_proc(c, op);
    case PLAN_OP_UMOUNT:  return op_umount(c, op);
    case PLAN_OP_MKNOD:   return op_mknod(c, op);
    case PLAN_OP_DEVPTS:  return op_devpts(c, op);
    }
    return fail(c, EINVAL, "op kind %u", op->kind);
}

static int enter_root(struct ctx *c)
{
    if (chdir(c->staging) < 0)
        return fail(c, errno, "chdir %s", c->staging);
    /* pivot_root(".", ".") stacks the old root under the new one; detaching
     * it leaves nothing of the host reachable. */
    if (syscall(SYS_pivot_root, ".", ".") < 0)
        return fail(c, errno, "pivot_root %s", c->staging);
    if (umount2(".", MNT_DETACH) < 0)
        return fail(c, errno, "umount old root");
    if (chdir("/") < 0)
        return fail(c, errno, "chdir /");
    if ((c->p->flags & PLAN_ROOT_RO) &&
        mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
        return fail(c, errno, "remount / read-only");
    return 0;
}

int rootfs_setup(const struct plan *p, const char *staging, char *why, size_t whylen)
{
    struct ctx c = {p, staging, why, whylen};
    if (p->n_ops == 0 || p->ops[0].kind != PLAN_OP_TMPFS || strcmp(p->ops[0].dst, "/"))
        return fail(&c, EINVAL, "plan: the first op must be the root tmpfs");
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return fail(&c, errno, "make / private");
    for (uint32_t i = 0; i < p->n_ops; i++) {
        int rc = run_op(&c, &p->ops[i]);
        if (rc < 0)
            return rc;
    }
    return enter_root(&c);
}
