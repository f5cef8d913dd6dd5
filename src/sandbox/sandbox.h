/* Host side: run one program in a fresh single-use sandbox on a libuv loop (process supervision). */
#ifndef SB_SANDBOX_SANDBOX_H
#define SB_SANDBOX_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common/buf.h"
#include "common/error.h"
#include "sandbox/cgroup.h"
#include "sandbox/layout.h"
#include "sandbox/seccomp.h"
#include "sandbox/uidpool.h"

/* Exact limits of one run; the caller has validated them against the config. */
struct sbx_limits {
    uint64_t wall_ms;
    uint64_t cpu_ms;
    uint64_t memory_kb;
    uint64_t disk_kb;        /* /tmp + working dir */
    uint64_t output_bytes;   /* stdout + stderr kept; more kills the run */
    uint64_t file_size_kb;
    uint64_t stack_kb;       /* 0: unlimited */
    uint32_t processes;      /* tasks (processes and threads) */
    uint32_t open_files;
    uint32_t cpu_percent;    /* 100 = one core */
};

struct sbx_file {
    const char *path;        /* relative to the working dir, validated */
    const void *data;
    size_t len;
    uint32_t mode;
};

/* Everything a run needs; copied by sbx_start, not retained. */
struct sbx_spec {
    const char *const *argv;
    size_t argc;
    const char *const *env;
    size_t envc;
    const struct sbx_file *files;
    size_t nfiles;
    const void *stdin_data;  /* NULL: stdin is /dev/null (unless interactive) */
    size_t stdin_len;
    bool interactive;        /* stdin stays open: sbx_stdin_write, sbx_stdin_close */
    struct sbx_limits limits;
    const char *fetch_path;  /* regular file to hand back after exit (artifact), or NULL */
    uint64_t fetch_max;      /* bytes */
    const char *const *extra_etc;    /* NULL-terminated /etc names, or NULL */
    const char *const *extra_binds;  /* NULL-terminated host paths, or NULL */
    /* Pooled: set up now, run later (sbx_go). Without `warm` nothing runs
     * until then; with it, argv/env start at once as a warm program that
     * reads its real program from fd 3 at GO. files/stdin are not used. */
    bool pooled;
    bool warm;
};

struct sbx;
typedef void (*sbx_ready_cb)(struct sbx *s, void *arg);

/* What a pooled sandbox runs when it is claimed. */
struct sbx_go {
    const char *const *argv; /* the program (a warm sandbox: recorded, not executed) */
    size_t argc;
    const char *const *env;
    size_t envc;
    const struct sbx_file *files;
    size_t nfiles;
    const void *input;       /* warm: what the waiting program reads from fd 3 */
    size_t input_len;
    const void *stdin_data;  /* NULL: stdin at EOF (unless interactive) */
    size_t stdin_len;
    bool interactive;
    struct sbx_limits limits; /* disk_kb must be the pooled sandbox's */
};

/* Process-wide engine: config, cgroup hierarchy, uid pool, agent binary, filter. */
struct sbx_engine_cfg {
    const char *state_dir;       /* e.g. /run/soulbox */
    const char *cgroup_root;     /* e.g. "soulbox" */
    uint32_t uid_base, uid_count;
    const char *const *allowed_syscalls;
    size_t n_allowed_syscalls;
    bool share_net;              /* never true by default */
    struct layout_cfg layout;    /* staging is derived from state_dir */
};

struct sbx_engine {
    uv_loop_t *loop;
    struct sbx_engine_cfg cfg;
    char staging[256];
    char data_dir[256];
    struct cg_ctx cg;
    struct uidpool uids;
    struct seccomp_prog seccomp;
    int agent_fd;
    unsigned long seq;
    unsigned active;
    void (*idle_cb)(void *);
    void *idle_arg;
};

/* Outcome of a run. `failed` means SoulBox could not run the program (an
 * engine error in `error`); otherwise the rest describes what the program did. */
struct sbx_result {
    bool failed;
    struct sb_error error;
    bool exited;             /* the agent saw the program end */
    int exit_code;           /* valid when exited and !term_signal */
    int term_signal;         /* signal that ended the program, 0 if none */
    bool wall_exceeded, cpu_exceeded, output_exceeded, oom_killed, cancelled;
    bool killed_on_request;  /* sbx_kill */
    int seccomp_nr;          /* -1 unless killed for a forbidden syscall */
    char seccomp_name[32];
    uint64_t wall_ns, cpu_ns, memory_peak;
    struct sb_buf out, err;
    bool truncated;
    /* Monotonic timestamps (ns) of the run's phases, for tracing and benchmarks. */
    struct {
        uint64_t start, spawned, attached, ready, started, exited, reaped, finished;
    } t;
    uint8_t *artifact;       /* fetched file, malloc'd */
    size_t artifact_len;
    int artifact_errno;
};

typedef void (*sbx_done_cb)(struct sbx *s, void *arg);
/* Optional: called with each chunk of output as it is captured (stream 1 or 2). */
typedef void (*sbx_output_cb)(struct sbx *s, int stream, const char *data, size_t len, void *arg);

/* Sets up the engine: state dir, cgroups (removing stale ones), uid pool,
 * seccomp filter, agent binary. Returns 0 or -1 with err naming the cause. */
int sbx_engine_init(struct sbx_engine *e, uv_loop_t *loop, const struct sbx_engine_cfg *cfg,
                    struct sb_error *err);
void sbx_engine_close(struct sbx_engine *e);
/* Calls cb once no sandbox of the engine exists any more (at once if none). */
void sbx_engine_idle(struct sbx_engine *e, void (*cb)(void *arg), void *arg);
void sbx_engine_idle_check(struct sbx_engine *e);

/* Starts a run. `done` is called exactly once, from the loop, when the result
 * is final: after every process of the program is gone and its output is in
 * (the agent's own exit and the cgroup's removal may still be under way: the
 * engine finishes them, and sbx_engine_idle says when all are done). Then
 * call sbx_free. Returns NULL only if memory is exhausted (err set). */
struct sbx *sbx_start(struct sbx_engine *e, const struct sbx_spec *spec, sbx_done_cb done,
                      sbx_output_cb output, void *arg, struct sb_error *err);

/* Pooled sandboxes. sbx_start with spec->pooled calls ready (once) when the
 * sandbox waits for its program; `done` follows if it ends before a claim. */
void sbx_on_ready(struct sbx *s, sbx_ready_cb ready);
bool sbx_is_ready(const struct sbx *s);
/* Memory the sandbox uses now (bytes). */
uint64_t sbx_memory(const struct sbx *s);
/* Claims a ready pooled sandbox: its callbacks become done/output/arg, its
 * limits go->limits (the cgroup adjusted), and the program starts. Returns 0,
 * or -1 with err when it cannot serve these limits (the caller cancels it
 * and starts cold). */
int sbx_go(struct sbx *s, const struct sbx_go *go, sbx_done_cb done, sbx_output_cb output,
           void *arg, struct sb_error *err);

/* Kills the run now (client gone, shutdown); `done` still follows. */
void sbx_cancel(struct sbx *s);
/* Kills the program because its user asked (result: killed_on_request). */
void sbx_kill(struct sbx *s);

/* Interactive runs: queues bytes for the program's stdin. Returns 0; -1 when
 * stdin is closed (by sbx_stdin_close, or the program closed it) or the run
 * is not interactive; -2 when 1 MiB is already waiting (the program is not
 * reading: try again later). */
int sbx_stdin_write(struct sbx *s, const void *data, size_t len);
/* End of input, once the queued bytes are written. */
void sbx_stdin_close(struct sbx *s);

/* Stops / restarts reading the program's output (backpressure: while paused,
 * the pipes fill and the program blocks on write; its limits keep running). */
void sbx_output_pause(struct sbx *s);
void sbx_output_resume(struct sbx *s);

const struct sbx_result *sbx_result(const struct sbx *s);
/* Gives the result buffers to the caller (they stay valid after sbx_free). */
struct sbx_result *sbx_result_mut(struct sbx *s);
void sbx_free(struct sbx *s);
void sbx_result_free(struct sbx_result *r);

#endif
