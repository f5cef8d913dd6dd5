/* The sandbox plan: what the agent (pid 1 of a sandbox) sets up and runs, and its codec. */
#ifndef SB_SANDBOX_PLAN_H
#define SB_SANDBOX_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The host builds a plan from the validated request and config; the agent
 * executes it in order, with a switch, and never interprets anything else.
 * Paths in ops are absolute paths inside the new root, except `src` of binds
 * and exposes, which are host paths (or new-root paths with PLAN_F_SRC_IN_ROOT).
 * This file is shared by the host and the static agent: libc only.
 */

#define PLAN_MAX_OPS      512
#define PLAN_MAX_ARGS     4096
#define PLAN_MAX_ENV      4096
#define PLAN_MAX_RLIMITS  16
#define PLAN_MAX_PATH     4096

enum plan_op_kind {
    PLAN_OP_DIR = 1,   /* mkdir dst (mode; PLAN_F_OWNED: chown to the sandbox uid) */
    PLAN_OP_TMPFS,     /* mount a tmpfs at dst (size bytes, inodes, mode) */
    PLAN_OP_BIND,      /* bind-mount src at dst (PLAN_F_RW, PLAN_F_DEV, ...) */
    PLAN_OP_EXPOSE,    /* host path src at dst: a symlink is copied as a symlink,
                          a file or directory is bind-mounted read-only */
    PLAN_OP_SYMLINK,   /* create symlink dst -> src (src is the link text) */
    PLAN_OP_WRITE,     /* create file dst holding data (mode) */
    PLAN_OP_PROC,      /* mount a fresh proc at dst */
    PLAN_OP_UMOUNT,    /* detach the mount at dst and remove the directory */
    PLAN_OP_MKNOD,     /* character device dst (mode), device number in `size` */
    PLAN_OP_DEVPTS,    /* a private devpts instance at dst (ptys owned by gid `size`) */
    PLAN_OP__MAX
};

enum plan_op_flags {
    PLAN_F_RW          = 1u << 0, /* bind: writable (default read-only) */
    PLAN_F_DEV         = 1u << 1, /* bind/tmpfs: device nodes work (no MS_NODEV) */
    PLAN_F_EXEC_OFF    = 1u << 2, /* bind/tmpfs: MS_NOEXEC */
    PLAN_F_OPTIONAL    = 1u << 3, /* src may be missing: skip silently */
    PLAN_F_SRC_IN_ROOT = 1u << 4, /* bind: src is a path inside the new root */
    PLAN_F_OWNED       = 1u << 5, /* dir/tmpfs/write: owned by the sandbox uid */
    PLAN_F_FILE        = 1u << 6, /* bind: src is a file (create a file mount point) */
    PLAN_F_DST_HOST    = 1u << 7, /* tmpfs/dir: dst is a host path outside the new root,
                                     gone with the old root after the pivot */
};

enum plan_flags {
    PLAN_NET_LO_UP   = 1u << 0, /* bring the loopback interface up */
    PLAN_ROOT_RO     = 1u << 1, /* remount the new root read-only after pivot */
    PLAN_SECCOMP_NOTIFY = 1u << 3, /* filter returns USER_NOTIF for kill-listed calls */
};

/* How a process of the sandbox runs (plan_exec.flags). */
enum plan_exec_flags {
    /* The sandbox exists for this process: when it ends, everything in the
     * sandbox is killed before its exit is reported (a single run). */
    PEXEC_SOLE = 1u << 0,
    /* A warm program: it starts now with fd 3 = a socket on which it says
     * it is ready (one byte) and then reads its real program; GO brings
     * its rlimits and that input, and only then does it count as started. */
    PEXEC_WARM = 1u << 1,
    /* stdio is a new pseudo-terminal (rows, cols) instead of attached fds. */
    PEXEC_PTY = 1u << 2,
};

struct plan_op {
    uint32_t kind;
    uint32_t flags;
    uint64_t size;      /* tmpfs bytes; mknod device number */
    uint64_t inodes;    /* tmpfs inode limit (0: kernel default) */
    uint32_t mode;
    const char *src;
    const char *dst;
    const uint8_t *data; /* write */
    uint64_t data_len;
};


struct plan_rlimit {
    uint32_t resource;
    uint64_t cur;
    uint64_t max;
};

/* A process to start (EXEC), or a warm process's real request (GO: only
 * rlimits and input). */
struct plan_exec {
    uint32_t flags;          /* enum plan_exec_flags */
    const char *cwd;
    uint32_t n_args;
    const char **args;       /* args[0] is the executable (absolute or PATH-searched) */
    uint32_t n_env;
    const char **env;
    uint32_t n_rlimits;
    struct plan_rlimit *rlimits;
    uint16_t rows, cols;     /* PEXEC_PTY: the terminal's size */
    /* GO of a warm process: bytes for its fd 3 (then EOF). */
    const uint8_t *input;
    uint64_t input_len;
};

struct plan {
    uint32_t uid;
    uint32_t gid;
    /* The agent's effective and saved uid (its real uid is `uid`): not the
     * program's, so the program cannot prlimit(), ptrace() or renice it. */
    uint32_t agent_uid;
    uint32_t flags;
    const char *hostname;
    const char *staging;     /* host directory the new root is built on */
    uint32_t n_ops;
    struct plan_op *ops;
    const uint8_t *bpf;      /* struct sock_filter[], seccomp program */
    uint32_t bpf_len;        /* bytes */
};

/* Serialise a plan or an exec into a malloc'd buffer. Return 0 and set
 * *out and *len, or -1 on allocation failure. */
int plan_encode(const struct plan *p, uint8_t **out, size_t *len);
int plan_exec_encode(const struct plan_exec *e, uint8_t **out, size_t *len);

/* Parses and validates buf. Strings and data point into buf, which must stay
 * alive as long as the plan; arrays are malloc'd (free with plan_free).
 * Returns 0, or -1 with a static reason in *why. An exec for GO
 * (go = true) may lack cwd and program. */
int plan_decode(const uint8_t *buf, size_t len, struct plan *p, const char **why);
int plan_exec_decode(const uint8_t *buf, size_t len, bool go, struct plan_exec *e,
                     const char **why);
void plan_free(struct plan *p);
void plan_exec_free(struct plan_exec *e);

/* True if path is absolute, normalised (no "//", ".", ".." components, no
 * trailing "/" except the root itself) and shorter than PLAN_MAX_PATH. */
bool plan_path_ok(const char *path);

/* True if name is a safe relative file name: non-empty, no leading "/",
 * no "." or ".." components, no empty components, no NUL, bounded length. */
bool plan_relpath_ok(const char *name);

#endif
