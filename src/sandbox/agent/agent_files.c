/* soulbox-agent: file operations inside the sandbox for the host (write, read, list, stat, move, remove, mkdir). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/error.h"
#include "sandbox/agent/agent.h"

/*
 * Every operation runs as the agent: no capabilities, file access as the
 * program's uid (fsuid), inside the sandbox's mount namespace. So it can
 * reach exactly what the program can, and no host path is ever looked at.
 * Two guards on top: magic links (/proc/<pid>/fd/...) are never followed,
 * and nothing on proc or sysfs is opened (the agent's own /proc/self would
 * show its memory). A write never follows a symlink in its last component.
 */

#define MAX_DEPTH 64

struct fctx {
    struct agent *a;
    uint32_t id;
    const char *path;
};

static int fail(const struct fctx *c, int err, const char *what)
{
    agent_send_text(A_FILE, c->id, err, "%s %s: %s", what, c->path, sb_errno_name(err));
    return -1;
}

static int open2(int dirfd, const char *path, int flags, mode_t mode)
{
    struct open_how how = {.flags = (uint64_t)flags | O_CLOEXEC, .mode = mode,
                           .resolve = RESOLVE_NO_MAGICLINKS};
    int fd;
    do
        fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    while (fd < 0 && errno == EINTR);
    return fd;
}

/* Refuses proc and sysfs: 0, or -EACCES. */
static int fs_allowed(int fd)
{
    struct statfs sf;
    if (fstatfs(fd, &sf) < 0)
        return -errno;
    if (sf.f_type == PROC_SUPER_MAGIC || sf.f_type == SYSFS_MAGIC)
        return -EACCES;
    return 0;
}

/* Opens path's parent directory (creating missing ones when `parents`) and
 * points *base at the last component. Returns the fd or -errno. */
static int open_parent(const char *path, bool parents, mode_t mode, const char **base)
{
    const char *slash = strrchr(path, '/');
    *base = slash + 1;
    if (!**base) { /* the root itself: its "parent" is itself (list and stat only) */
        *base = ".";
        int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
    }
    int dir = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        return -errno;
    char comp[256];
    for (const char *p = path + 1; p < slash;) {
        const char *next = strchr(p, '/');
        size_t n = (size_t)(next - p);
        memcpy(comp, p, n);
        comp[n] = '\0';
        if (parents && mkdirat(dir, comp, mode) < 0 && errno != EEXIST) {
            int e = errno;
            close(dir);
            return -e;
        }
        int sub = open2(dir, comp, O_PATH | O_DIRECTORY, 0);
        int e = errno;
        close(dir);
        if (sub < 0)
            return -e;
        dir = sub;
        p = next + 1;
    }
    int rc = fs_allowed(dir);
    if (rc < 0) {
        close(dir);
        return rc;
    }
    return dir;
}

static void stat_entry(const struct stat *st, const char *name, const char *target,
                       struct agent_entry *e)
{
    *e = (struct agent_entry){
        .name = name, .mode = st->st_mode & 07777, .size = (uint64_t)st->st_size,
        .mtime_ms = (int64_t)st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec / 1000000,
        .target = target,
        .type = S_ISREG(st->st_mode) ? FENT_FILE : S_ISDIR(st->st_mode) ? FENT_DIR
              : S_ISLNK(st->st_mode) ? FENT_SYMLINK : FENT_OTHER,
    };
}

static void reply_entry(const struct fctx *c, const struct stat *st, const char *name,
                        const char *target, uint32_t flags)
{
    struct agent_entry e;
    stat_entry(st, name, target, &e);
    size_t n = proto_entry_encode(&e, c->a->tx, AGENT_REPLY_MAX);
    agent_send(A_FILE, c->id, 0, flags, c->a->tx, (uint32_t)n, NULL, 0);
}

/* ---- write ---- */

static struct awrite *write_slot(struct agent *a, uint32_t id, bool create)
{
    for (int i = 0; i < AGENT_MAX_WRITES; i++)
        if (a->writes[i].id == id)
            return &a->writes[i];
    for (int i = 0; create && i < AGENT_MAX_WRITES; i++)
        if (!a->writes[i].id) {
            a->writes[i] = (struct awrite){.id = id, .fd = -1};
            return &a->writes[i];
        }
    return NULL;
}

static int write_open(const struct fctx *c, const struct agent_file_req *r)
{
    const char *base;
    int dir = open_parent(r->path, true, 0755, &base);
    if (dir < 0)
        return fail(c, -dir, "open parent of");
    int flags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
                ((r->flags & FOPF_APPEND) ? O_APPEND : O_TRUNC) |
                ((r->flags & FOPF_EXCL) ? O_EXCL : 0);
    int fd = openat(dir, base, flags | O_CLOEXEC, r->mode ? r->mode : 0644);
    int e = errno;
    close(dir);
    if (fd < 0)
        return fail(c, e, "create");
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return fail(c, EINVAL, "write (not a regular file)");
    }
    return fd;
}

static void op_write(const struct fctx *c, uint32_t flags, const struct agent_file_req *r)
{
    struct awrite *w = write_slot(c->a, c->id, flags & AGENT_F_FIRST);
    if (!w) {
        if (flags & AGENT_F_FIRST)
            fail(c, EAGAIN, "write (too many writes in progress)");
        return; /* a chunk of a write that failed and was forgotten */
    }
    if (flags & AGENT_F_FIRST) {
        w->fd = write_open(c, r);
        w->err = w->fd < 0 ? EIO : 0; /* already reported */
    }
    for (uint64_t off = 0; !w->err && off < r->data_len;) {
        ssize_t n = write(w->fd, r->data + off, r->data_len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            w->err = n < 0 ? errno : EIO;
            fail(c, w->err, "write");
            break;
        }
        off += (uint64_t)n;
    }
    if (!(flags & AGENT_F_LAST))
        return;
    struct stat st;
    if (!w->err && fstat(w->fd, &st) == 0)
        reply_entry(c, &st, r->path, NULL, 0);
    else if (!w->err)
        fail(c, errno, "stat");
    if (w->fd >= 0)
        close(w->fd);
    *w = (struct awrite){.fd = -1};
}

/* ---- read ---- */

static void op_read(const struct fctx *c, const struct agent_file_req *r)
{
    int fd = open2(AT_FDCWD, r->path, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0);
    if (fd < 0) {
        fail(c, errno, "open");
        return;
    }
    struct stat st;
    int rc = fs_allowed(fd);
    if (rc < 0 || fstat(fd, &st) < 0) {
        fail(c, rc < 0 ? -rc : errno, "open");
    } else if (!S_ISREG(st.st_mode)) {
        fail(c, S_ISDIR(st.st_mode) ? EISDIR : EINVAL, "read (not a regular file)");
    } else if (r->max && (uint64_t)st.st_size > r->max) {
        fail(c, EFBIG, "read (larger than allowed)");
    } else {
        /* First frame: its stat; then data records up to a frame each. */
        reply_entry(c, &st, r->path, NULL, AGENT_F_MORE);
        uint8_t *buf = c->a->tx;
        size_t room = AGENT_REPLY_MAX - 6, sent = 0;
        static uint8_t chunk[AGENT_REPLY_MAX];
        for (;;) {
            ssize_t n = read(fd, chunk, room);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                fail(c, errno, "read");
                break;
            }
            if (r->max && sent + (size_t)n > r->max) {
                fail(c, EFBIG, "read (it grew past the limit)");
                break;
            }
            size_t len = proto_data_encode(chunk, (size_t)n, buf, AGENT_REPLY_MAX);
            agent_send(A_FILE, c->id, 0, n ? AGENT_F_MORE : 0, buf, (uint32_t)len, NULL, 0);
            sent += (size_t)n;
            if (n == 0)
                break;
        }
    }
    close(fd);
}

/* ---- list and stat ---- */

static void op_list(const struct fctx *c, const struct agent_file_req *r)
{
    int fd = open2(AT_FDCWD, r->path, O_RDONLY | O_DIRECTORY, 0);
    int rc = fd < 0 ? -errno : fs_allowed(fd);
    DIR *d = rc == 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        fail(c, rc < 0 ? -rc : errno, "list");
        return;
    }
    uint8_t *buf = c->a->tx;
    size_t used = 0;
    uint64_t count = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        struct stat st;
        char target[4096];
        const char *t = NULL;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue; /* gone meanwhile */
        ssize_t tn;
        if (S_ISLNK(st.st_mode) &&
            (tn = readlinkat(dirfd(d), de->d_name, target, sizeof target - 1)) >= 0) {
            target[tn] = '\0';
            t = target;
        }
        struct agent_entry e;
        stat_entry(&st, de->d_name, t, &e);
        size_t n = proto_entry_encode(&e, buf + used, AGENT_REPLY_MAX - used);
        if (!n) { /* the frame is full: send it, start another */
            agent_send(A_FILE, c->id, 0, AGENT_F_MORE, buf, (uint32_t)used, NULL, 0);
            used = 0;
            n = proto_entry_encode(&e, buf, AGENT_REPLY_MAX);
        }
        used += n;
        if (r->max && ++count >= r->max)
            break;
    }
    closedir(d);
    agent_send(A_FILE, c->id, 0, 0, buf, (uint32_t)used, NULL, 0);
}

static void op_stat(const struct fctx *c, const struct agent_file_req *r)
{
    const char *base;
    int dir = open_parent(r->path, false, 0, &base);
    struct stat st;
    char target[4096];
    const char *t = NULL;
    if (dir < 0) {
        fail(c, -dir, "stat");
        return;
    }
    if (fstatat(dir, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        fail(c, errno, "stat");
    } else {
        ssize_t tn;
        if (S_ISLNK(st.st_mode) && (tn = readlinkat(dir, base, target, sizeof target - 1)) >= 0) {
            target[tn] = '\0';
            t = target;
        }
        reply_entry(c, &st, r->path, t, 0);
    }
    close(dir);
}

/* ---- move, remove, mkdir ---- */

static void reply_ok(const struct fctx *c)
{
    agent_send(A_FILE, c->id, 0, 0, NULL, 0, NULL, 0);
}

static int remove_tree(int dir, int depth);

static int copy_data(int from, int to)
{
    static char buf[64 * 1024];
    for (;;) {
        ssize_t n = read(from, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : 0;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(to, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                return w < 0 ? -errno : -EIO;
            off += w;
        }
    }
}

static int copy_tree(int sdir, const char *sname, int ddir, const char *dname, int depth);

static int copy_dir(int sdir, const char *sname, int ddir, const char *dname, mode_t mode,
                    int depth)
{
    if (mkdirat(ddir, dname, mode) < 0)
        return -errno;
    int from = openat(sdir, sname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int to = openat(ddir, dname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *d = from >= 0 ? fdopendir(from) : NULL;
    int rc = !d || to < 0 ? -errno : 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            rc = copy_tree(dirfd(d), de->d_name, to, de->d_name, depth + 1);
    if (d)
        closedir(d);
    else if (from >= 0)
        close(from);
    if (to >= 0)
        close(to);
    return rc;
}

/* Copies sname (a file, symlink or directory tree) to dname. */
static int copy_tree(int sdir, const char *sname, int ddir, const char *dname, int depth)
{
    struct stat st;
    if (depth > MAX_DEPTH)
        return -ELOOP;
    if (fstatat(sdir, sname, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return -errno;
    if (S_ISDIR(st.st_mode))
        return copy_dir(sdir, sname, ddir, dname, st.st_mode & 07777, depth);
    if (S_ISLNK(st.st_mode)) {
        char target[4096];
        ssize_t n = readlinkat(sdir, sname, target, sizeof target - 1);
        if (n < 0)
            return -errno;
        target[n] = '\0';
        return symlinkat(target, ddir, dname) < 0 ? -errno : 0;
    }
    if (!S_ISREG(st.st_mode))
        return -EINVAL; /* a device, FIFO or socket stays where it is */
    int from = openat(sdir, sname, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (from < 0)
        return -errno;
    int to = openat(ddir, dname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                    st.st_mode & 07777);
    int rc = to < 0 ? -errno : copy_data(from, to);
    close(from);
    if (to >= 0)
        close(to);
    return rc;
}

/* /tmp and the working directory are two mounts of one filesystem: a rename
 * between them is EXDEV, so the move is a copy, then the source goes. */
static int move_across(int d1, const char *b1, int d2, const char *b2, bool replace)
{
    struct stat st;
    if (fstatat(d2, b2, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        if (!replace)
            return -EEXIST;
        if (unlinkat(d2, b2, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) < 0)
            return -errno;
    }
    /* the source must be able to go, or the move would leave a copy */
    struct statvfs vfs;
    if (fstatvfs(d1, &vfs) == 0 && (vfs.f_flag & ST_RDONLY))
        return -EROFS;
    int rc = copy_tree(d1, b1, d2, b2, 0);
    if (rc < 0)
        return rc;
    if (unlinkat(d1, b1, 0) == 0)
        return 0;
    if (errno != EISDIR) {
        int e = errno;
        unlinkat(d2, b2, 0); /* a file: undo the copy */
        return -e;
    }
    int sub = openat(d1, b1, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    rc = sub < 0 ? -errno : remove_tree(sub, 0);
    if (rc == 0 && unlinkat(d1, b1, AT_REMOVEDIR) < 0)
        rc = -errno;
    return rc;
}

static void op_move(const struct fctx *c, const struct agent_file_req *r)
{
    const char *b1, *b2;
    bool replace = !(r->flags & FOPF_EXCL);
    int d1 = open_parent(r->path, false, 0, &b1);
    int d2 = d1 >= 0 ? open_parent(r->path2, (r->flags & FOPF_PARENTS) != 0, 0755, &b2) : -1;
    int rc = d1 < 0 ? d1 : d2 < 0 ? d2 : 0;
    if (rc == 0 && syscall(SYS_renameat2, d1, b1, d2, b2, replace ? 0 : RENAME_NOREPLACE) < 0)
        rc = errno == EXDEV ? move_across(d1, b1, d2, b2, replace) : -errno;
    if (rc < 0)
        fail(c, -rc, "move");
    else
        reply_ok(c);
    if (d1 >= 0)
        close(d1);
    if (d2 >= 0)
        close(d2);
}

/* Removes everything below dir (an open directory fd, consumed). */
static int remove_tree(int dir, int depth)
{
    if (depth > MAX_DEPTH) {
        close(dir);
        return -ELOOP;
    }
    DIR *d = fdopendir(dir);
    if (!d) {
        close(dir);
        return -errno;
    }
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (unlinkat(dirfd(d), de->d_name, 0) == 0)
            continue;
        if (errno != EISDIR) {
            rc = -errno;
            break;
        }
        int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        rc = sub < 0 ? -errno : remove_tree(sub, depth + 1);
        if (rc == 0 && unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) < 0)
            rc = -errno;
    }
    closedir(d);
    return rc;
}

static void op_remove(const struct fctx *c, const struct agent_file_req *r)
{
    const char *base;
    int dir = open_parent(r->path, false, 0, &base);
    int rc = dir < 0 ? dir : 0;
    if (rc == 0 && unlinkat(dir, base, 0) < 0) {
        rc = -errno;
        if (rc == -EISDIR && (r->flags & FOPF_RECURSIVE)) {
            int sub = openat(dir, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            rc = sub < 0 ? -errno : remove_tree(sub, 0);
        }
        if (rc == -EISDIR || rc == 0)
            rc = unlinkat(dir, base, AT_REMOVEDIR) < 0 ? -errno : 0;
    }
    if (dir >= 0)
        close(dir);
    if (rc < 0)
        fail(c, -rc, "remove");
    else
        reply_ok(c);
}

static void op_mkdir(const struct fctx *c, const struct agent_file_req *r)
{
    const char *base;
    bool parents = (r->flags & FOPF_PARENTS) != 0;
    mode_t mode = r->mode ? r->mode : 0755;
    int dir = open_parent(r->path, parents, mode, &base);
    int rc = dir < 0 ? dir : 0;
    if (rc == 0 && mkdirat(dir, base, mode) < 0) {
        struct stat st;
        rc = -errno;
        if (rc == -EEXIST && parents && fstatat(dir, base, &st, 0) == 0 && S_ISDIR(st.st_mode))
            rc = 0;
    }
    if (dir >= 0)
        close(dir);
    if (rc < 0)
        fail(c, -rc, "mkdir");
    else
        reply_ok(c);
}

void agent_file(struct agent *a, const struct agent_hdr *h, const uint8_t *payload)
{
    struct agent_file_req r;
    const char *why;
    struct fctx c = {a, h->id, ""};
    if (proto_file_req_decode(payload, h->len, &r, &why) < 0) {
        agent_send_text(A_FILE, h->id, EINVAL, "file request: %s", why);
        return;
    }
    c.path = r.path;
    switch (r.op) {
    case FOP_WRITE:  op_write(&c, h->flags, &r); break;
    case FOP_READ:   op_read(&c, &r); break;
    case FOP_LIST:   op_list(&c, &r); break;
    case FOP_STAT:   op_stat(&c, &r); break;
    case FOP_MOVE:   op_move(&c, &r); break;
    case FOP_REMOVE: op_remove(&c, &r); break;
    case FOP_MKDIR:  op_mkdir(&c, &r); break;
    }
}
