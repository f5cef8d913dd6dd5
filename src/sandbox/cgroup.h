/* Host side: one cgroup per sandbox for memory, pids and CPU, on cgroup v1 or v2. */
#ifndef SB_SANDBOX_CGROUP_H
#define SB_SANDBOX_CGROUP_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"

enum cg_version { CG_V1 = 1, CG_V2 = 2 };

enum cg_ctrl { CG_MEMORY, CG_PIDS, CG_CPU, CG_CPUACCT, CG__NCTRL };

struct cg_ctx {
    enum cg_version version;
    /* v2: dirs[0] is <mount>/<root>; v1: one dir per controller (cpu and
     * cpuacct may share one when co-mounted). */
    char dirs[CG__NCTRL][PATH_MAX];
    int ndirs;                 /* distinct directories to create per sandbox */
    int dir_of[CG__NCTRL];     /* controller -> index in dirs */
    bool has_cgroup_kill;      /* v2 cgroup.kill (5.14+) */
    bool has_peak;             /* v2 memory.peak (5.19+) */
    unsigned ncpus;
};

struct cg_limits {
    uint64_t memory_bytes;     /* memory (+swap: none) */
    uint32_t pids;             /* tasks, the agent included */
    uint32_t cpu_percent;      /* 100 = one core; 0 = no quota */
    bool background;           /* lowest CPU weight: a pooled sandbox warming up
                                  never takes CPU from running programs */
};

struct cg {
    const struct cg_ctx *ctx;
    char name[64];
    int procs_fd[CG__NCTRL];   /* cgroup.procs per distinct dir, until attached */
    int nprocs;                /* = ctx->ndirs once created */
    int made;                  /* directories created so far */
    struct cg_limits cur;      /* what its files hold now */
};

struct cg_stats {
    uint64_t cpu_ns;
    uint64_t memory_peak;      /* bytes; 0 if the kernel cannot tell */
    uint64_t oom_kills;
};

/*
 * Detects v1 or v2, creates `root` (a path relative to each hierarchy's
 * mount, e.g. "soulbox") and, on v2, enables the memory, pids and cpu
 * controllers down to it. Returns 0 or -1 with err naming the cause.
 */
int cg_init(struct cg_ctx *ctx, const char *root, struct sb_error *err);

/* Creates the sandbox cgroup `name` with its limits and opens cgroup.procs
 * for the spawner. Returns 0 or -1 with err set (nothing left behind). */
int cg_create(const struct cg_ctx *ctx, const char *name, const struct cg_limits *lim,
              struct cg *cg, struct sb_error *err);

/* Moves process pid (and its threads) into the cgroup, then closes the
 * cgroup.procs fds (a sandbox is attached once). Returns 0 or -errno. */
int cg_attach(struct cg *cg, pid_t pid);
/* The same, keeping cgroup.procs open for further processes. */
int cg_join(struct cg *cg, pid_t pid);

/* CPU used by the cgroup so far, in nanoseconds. Returns 0 or -errno. */
int cg_cpu_ns(const struct cg *cg, uint64_t *ns);

/* New limits for a live cgroup (a pooled sandbox claimed by a request with
 * other limits): only the files whose value changes are written. Returns 0,
 * -EBUSY when the memory in use is already above the new limit, or -errno. */
int cg_update(struct cg *cg, const struct cg_limits *lim);
/* Memory in use now (bytes; 0 if unknown). */
uint64_t cg_memory_usage(const struct cg *cg);
/* Restarts the peak-memory counter (v1; v2 on Linux 6.12+). 0 or -errno. */
int cg_reset_peak(const struct cg *cg);

/* Reads final CPU, peak memory and OOM-kill count. Returns 0 or -errno. */
int cg_stats(const struct cg *cg, struct cg_stats *st);

/* Kills every task in the cgroup. Returns 0 or -errno. */
int cg_kill(const struct cg *cg);

/* Closes fds and removes the cgroup (retrying briefly while tasks exit).
 * Returns 0 or -1 with err set. Safe to call on a zeroed or failed cg. */
int cg_destroy(struct cg *cg, struct sb_error *err);

/* Removes sandbox cgroups whose owning process is gone (a crashed run),
 * killing what is left in them; with wait, retries a busy one for up to
 * 200 ms (its tasks still exiting). *busy (may be NULL) gets how many are
 * still there. Returns how many were removed, or -1 with err set. */
int cg_cleanup_stale(const struct cg_ctx *ctx, bool wait, int *busy, struct sb_error *err);

/* Turns on the cgroup2 mount option favordynmods (a machine-wide kernel
 * setting: see cgroup_favor.c), remounting the cgroup2 hierarchy with its
 * other options kept, or mounting it for a moment under state_dir when it
 * is not mounted. Returns 1 if turned on now, 0 if it was on, -1 with err
 * (old kernels: EINVAL; no CAP_SYS_ADMIN: EPERM). */
int cg_favor_dynmods(const char *state_dir, struct sb_error *err);

/* "sbx-<owner pid>-<seq>": names encode the owner for stale cleanup. */
void cg_make_name(char *buf, size_t len, unsigned long seq);

#endif
