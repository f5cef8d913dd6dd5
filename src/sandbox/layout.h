/* Host side: the sandbox's filesystem layout, expressed as a plan op list. */
#ifndef SB_SANDBOX_LAYOUT_H
#define SB_SANDBOX_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sandbox/plan.h"

struct layout_cfg {
    const char *const *system;   /* host system dirs exposed read-only: /usr, /bin, ... */
    size_t n_system;
    const char *const *etc;      /* names under /etc exposed read-only */
    size_t n_etc;
    const char *const *binds;    /* extra host paths bound read-only at the same place */
    size_t n_binds;
    const char *staging;         /* host dir the new root is assembled on */
    const char *data_dir;        /* host dir the data tmpfs is mounted on first */
    const char *hostname;
    const char *workdir;         /* "/workspace" */
    uint64_t inodes;             /* inode limit of /tmp + workdir */
};

struct layout_req {
    uint32_t uid, gid;
    uint32_t agent_uid;          /* the agent's effective uid (plan.agent_uid) */
    uint64_t disk_bytes;         /* combined size of /tmp and the working dir */
    bool new_net;                /* own network namespace: bring lo up */
    const uint8_t *bpf;
    uint32_t bpf_len;
    bool seccomp_notify;
    bool pty;                    /* a private devpts: processes may get a terminal */
    /* A session's home ("/home/user"): the working dir bound there too (the
     * same directory under both names), and the sandbox user's home and
     * name ("user"); NULL: none. */
    const char *home;
    /* Per-run additions (the language's): /etc names and host paths. */
    const char *const *extra_etc;
    size_t n_extra_etc;
    const char *const *extra_binds;
    size_t n_extra_binds;
};

/* Storage for ops and generated files; lives until the plan is encoded. */
struct layout_mem {
    /* The config allows 64 entries in each of system, binds and etc, plus
     * ~24 fixed ops: 160 made the largest valid config fail every run. */
    struct plan_op ops[320];
    char passwd[512];
    char group[256];
    char hosts[256];
    char hostname[128];
    char etc_paths[96][96];      /* 64 from the config + 32 from the language */
    char data_tmp[300], data_work[300];
    char home_parent[200];
};

/* Fills p (uid, flags, ops, seccomp) from the config and request; the exec
 * part is left for the caller. Returns 0, or -1 if the layout is too big. */
int layout_build(const struct layout_cfg *cfg, const struct layout_req *req,
                 struct plan *p, struct layout_mem *mem);

#endif
