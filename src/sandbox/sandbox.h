/* The sandbox engine's interface: sandboxes that live over time, their processes, their files. */
#ifndef SB_SANDBOX_SANDBOX_H
#define SB_SANDBOX_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common/buf.h"
#include "common/error.h"
#include "net/egress.h"
#include "sandbox/cgroup.h"
#include "sandbox/layout.h"
#include "sandbox/seccomp.h"
#include "sandbox/uidpool.h"
#include "vm/vm.h"

/*
 * A sandbox (struct sbx) is created, becomes ready, runs any number of
 * processes (struct sbx_proc) over its life, one after another or at once,
 * has files put in and taken out at any time, and lives until it is
 * destroyed (or its agent dies). Everything is driven from one libuv loop;
 * every callback comes from the loop, never from inside the call that
 * caused it. A single run is "create, start one process, collect, destroy"
 * (run.h). The work behind these calls is done by a backend (backend.h):
 * today Linux namespaces; the agent protocol (proto.h) is the same for any.
 */

/* Exact limits; the caller has validated them against the config. A
 * sandbox uses memory_kb, processes, cpu_percent and disk_kb for all its
 * processes together; a process uses the rest (and, run alone in its
 * sandbox, cpu_ms over everything in it). */
struct sbx_limits {
    uint64_t wall_ms;
    uint64_t cpu_ms;
    uint64_t memory_kb;
    uint64_t disk_kb;        /* /tmp + working dir */
    uint64_t output_bytes;   /* stdout + stderr kept; more kills the process */
    uint64_t file_size_kb;
    uint64_t stack_kb;       /* 0: unlimited */
    uint32_t processes;      /* tasks (processes and threads) */
    uint32_t open_files;
    uint32_t cpu_percent;    /* 100 = one core */
};

/* ---- the engine (process-wide) ---- */

struct sbx_engine_cfg {
    const char *state_dir;       /* e.g. /run/soulbox */
    const char *cgroup_root;     /* e.g. "soulbox" */
    bool cgroup_favordynmods;    /* see cg_favor_dynmods() */
    uint32_t uid_base, uid_count;
    const char *const *allowed_syscalls;
    size_t n_allowed_syscalls;
    bool share_net;              /* never true by default */
    /* Egress for sandboxes that ask for it (sbx_spec.network); NULL: none. */
    struct net_engine *net;
    /* Spawn agents on the loop's thread (one-shot CLI runs: no thread hop)
     * instead of a thread of libuv's pool (a server: the loop never waits). */
    bool spawn_on_loop;
    /* Leave the removal of crashed runs' cgroups to sbx_engine_cleanup_stale()
     * (the CLI calls it while its sandbox is torn down, off its start-up). */
    bool defer_stale_cleanup;
    struct layout_cfg layout;    /* staging is derived from state_dir */
    /* microVM isolation (sandbox.microvm; enabled false: namespaces only). */
    struct vm_cfg vm;
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
    int null_fd;                 /* /dev/null: the agent's own stdio */
    unsigned long seq;
    unsigned active;             /* sandboxes not yet torn down */
    uint64_t agent_cpu_ns;       /* CPU the agents of ended sandboxes used themselves */
    uint64_t setup_failures;     /* sandboxes that could not be set up */
    uint64_t seccomp_kills;      /* processes killed for a system call the filter forbids */
    uv_work_t pool_start;        /* starts libuv's thread pool at init */
    uv_timer_t stale_timer;      /* removes crashed runs' cgroups still busy at init */
    bool stale_timer_open;
    unsigned stale_tries;
    void (*idle_cb)(void *);
    void *idle_arg;
    struct vm_engine vm;         /* what microVMs need, and whether the host can run them */
};

/* The static agent as a read-only fd (cached under state_dir, else a
 * memfd): what ns_spawn execs. Returns the fd or -1 with err. */
int sbx_agent_binary(const char *state_dir, struct sb_error *err);

/* Sets up the engine: state dir, cgroups (removing stale ones), uid pool,
 * seccomp filter, agent binary. Returns 0 or -1 with err naming the cause. */
int sbx_engine_init(struct sbx_engine *e, uv_loop_t *loop, const struct sbx_engine_cfg *cfg,
                    struct sb_error *err);
void sbx_engine_close(struct sbx_engine *e);
/* Removes sandbox cgroups left by crashed runs (init does it unless
 * defer_stale_cleanup). Returns how many, or -1 with err. */
int sbx_engine_cleanup_stale(struct sbx_engine *e, struct sb_error *err);
/* Calls cb once no sandbox of the engine exists any more (at once if none). */
void sbx_engine_idle(struct sbx_engine *e, void (*cb)(void *arg), void *arg);
void sbx_engine_idle_check(struct sbx_engine *e);

/* ---- sandboxes ---- */

struct sbx;
struct sbx_proc;

enum sbx_isolation { SBX_ISO_NAMESPACES, SBX_ISO_MICROVM };

struct sbx_spec {
    enum sbx_isolation isolation; /* which backend makes it */
    struct sbx_limits limits;    /* memory_kb, processes, cpu_percent, disk_kb */
    const char *const *extra_etc;    /* NULL-terminated /etc names, or NULL */
    const char *const *extra_binds;  /* NULL-terminated host paths, or NULL */
    bool pty;                    /* its processes may ask for a terminal */
    const char *home;            /* a session's home (layout_req.home), or NULL */
    bool background;             /* lowest CPU weight until sbx_set_limits (pooled) */
    /* Egress: its namespace is plumbed (net/egress.h) while it is set up;
     * with net_policy the policy applies before anything runs, else
     * sbx_net_open gives it one later (a pooled sandbox). */
    bool network;
    const struct sbx_net *net_policy;
};

/* A sandbox's egress: what it may reach (narrowed already), its limits, and
 * the name it has in the audit. */
struct sbx_net {
    const struct net_policy *policy;
    struct net_limits limits;
    const char *tag;
};

struct sbx_callbacks {
    /* Set up: processes and files may be asked for before, they wait. */
    void (*ready)(struct sbx *s, void *arg);
    /* Gone (destroyed, setup failed, or the agent died): every process has
     * reported its exit and no file request is left. sbx_end() says why. */
    void (*ended)(struct sbx *s, void *arg);
};

/* Why a sandbox ended. */
struct sbx_end {
    bool failed;             /* SoulBox could not keep it (error says why) */
    struct sb_error error;
    bool destroyed;          /* sbx_destroy */
};

/* Starts a sandbox. Returns NULL only if memory is exhausted (err set); a
 * sandbox that cannot be set up ends (ended, sbx_end()->failed). */
struct sbx *sbx_create(struct sbx_engine *e, const struct sbx_spec *spec,
                       const struct sbx_callbacks *cb, void *arg, struct sb_error *err);
bool sbx_is_ready(const struct sbx *s);
/* Kills every process and ends the sandbox; `ended` follows. */
void sbx_destroy(struct sbx *s);
/* Frees it: after `ended`, or before (then it is destroyed and freed once gone). */
void sbx_free(struct sbx *s);
const struct sbx_end *sbx_end(const struct sbx *s);
/* Changes the limits of the whole sandbox (memory, processes, cpu). */
int sbx_set_limits(struct sbx *s, const struct sbx_limits *l, struct sb_error *err);
/* Memory it uses now (bytes). */
uint64_t sbx_memory(const struct sbx *s);
/* Gives a plumbed sandbox (spec.network) its egress policy now: 0, or -1
 * with err (no plumbing, or the rules could not be installed). */
int sbx_net_open(struct sbx *s, const struct sbx_net *n, struct sb_error *err);
/* Its traffic so far; false if it has no egress. */
bool sbx_net_stats(const struct sbx *s, struct net_stats *st);
/* Monotonic timestamps (ns) of its setup, for tracing and benchmarks. */
struct sbx_times {
    uint64_t start, spawned, attached, ready, gone;
};
const struct sbx_times *sbx_times(const struct sbx *s);

/* ---- processes ---- */

struct sbx_exec {
    const char *const *argv;
    size_t argc;
    const char *const *env;
    size_t envc;
    const char *cwd;         /* absolute; NULL: the working directory */
    struct sbx_limits limits; /* wall, cpu, output, file size, stack, open files, processes */
    const void *stdin_data;  /* written first; NULL and not interactive: EOF at once */
    size_t stdin_len;
    bool interactive;        /* stdin stays open: sbx_proc_stdin_write / _close */
    bool pty;                /* a terminal instead of pipes (the sandbox needs spec.pty) */
    uint16_t rows, cols;
    /* The sandbox exists for this process (a single run): when it ends,
     * everything else in the sandbox is killed, and its CPU limit and
     * accounting cover the whole sandbox. */
    bool sole;
    /* A warm program: it starts now and waits (fd 3) for its real program,
     * which sbx_proc_go hands it; until then it is not counted as running. */
    bool warm;
    /* Output goes to the output callback only: nothing is kept in the
     * result and output_bytes does not apply (a long-lived process whose
     * caller bounds what it takes, e.g. a function's warm instance). */
    bool forward_only;
};

struct sbx_proc_callbacks {
    void (*started)(struct sbx_proc *p, void *arg);                      /* optional */
    /* A chunk of output (stream 1 = stdout, 2 = stderr) as it is captured. */
    void (*output)(struct sbx_proc *p, int stream, const char *data, size_t len, void *arg);
    /* A warm program is waiting for sbx_proc_go. */
    void (*warm_ready)(struct sbx_proc *p, void *arg);
    /* The result is final (sbx_proc_result): the process and everything it
     * left in its group are gone and its output is in. */
    void (*exited)(struct sbx_proc *p, void *arg);
};

/* Why a process ended when it did not end on its own, most specific first:
 * X(name, wire name). */
#define SBX_CAUSE_MAP(X)                                              \
    X(NONE, "none")                /* it ended on its own */          \
    X(SECCOMP, "seccomp")          /* a forbidden system call */      \
    X(OUTPUT, "output_limit")      /* its output limit */             \
    X(MEMORY, "memory_limit")      /* out of memory in its cgroup */  \
    X(CPU, "cpu_time_limit")       /* its CPU-time limit */           \
    X(WALL, "wall_time_limit")     /* its wall-time limit */          \
    X(KILLED, "killed")            /* its user asked */               \
    X(FILE_SIZE, "file_size_limit") /* SIGXFSZ */                     \
    X(CANCELLED, "cancelled")      /* its sandbox was destroyed */

enum sbx_cause {
#define SBX_X(name, wire) SBX_CAUSE_##name,
    SBX_CAUSE_MAP(SBX_X)
#undef SBX_X
    SBX_CAUSE__COUNT
};

const char *sbx_cause_name(enum sbx_cause c);
/* The cause named `name`, or -1. */
int sbx_cause_from_name(const char *name);

/* Outcome of a process. `failed` means SoulBox could not run it (an engine
 * error in `error`); otherwise the rest describes what it did. */
struct sbx_result {
    bool failed;
    struct sb_error error;
    bool exited;             /* it ended by itself (exit_code) or by a signal */
    int exit_code;           /* valid when exited and !term_signal */
    int term_signal;         /* signal that ended it, 0 if none */
    bool wall_exceeded, cpu_exceeded, output_exceeded, oom_killed, cancelled;
    bool killed_on_request;
    /* The agent could not start it (failed is set too): exec_errno says why
     * (ENOENT: no such program or working directory, EACCES, ...). */
    bool exec_failed;
    int exec_errno;
    int seccomp_nr;          /* -1 unless killed for a forbidden syscall */
    char seccomp_name[32];
    uint64_t wall_ns, cpu_ns, memory_peak;
    struct sb_buf out, err;
    bool truncated;
    bool net_enabled;        /* a single run with egress: its traffic */
    struct net_stats net;
    /* Monotonic timestamps (ns) of the process's phases (the sandbox's
     * setup first, for a single run). */
    struct {
        uint64_t start, spawned, attached, ready, started, exited, reaped, finished;
    } t;
};

/* The most specific reason it ended (seccomp before limits before kills). */
enum sbx_cause sbx_result_cause(const struct sbx_result *r);

/* Starts a process (queued until the sandbox is ready). Returns NULL with
 * err on bad arguments or exhausted memory; a process that cannot start
 * reports exited with `failed`. */
struct sbx_proc *sbx_exec(struct sbx *s, const struct sbx_exec *x,
                          const struct sbx_proc_callbacks *cb, void *arg, struct sb_error *err);

/* What a warm program runs: its real program's input (on its fd 3), the
 * limits of the run and its stdin. */
struct sbx_go {
    const void *input;
    size_t input_len;
    struct sbx_limits limits;
    const void *stdin_data;
    size_t stdin_len;
    bool interactive;
};
/* Starts a waiting warm program; its callbacks become cb/arg. Returns 0 or
 * -1 with err (it is not waiting). */
int sbx_proc_go(struct sbx_proc *p, const struct sbx_go *go, const struct sbx_proc_callbacks *cb,
                void *arg, struct sb_error *err);
bool sbx_proc_warm_waiting(const struct sbx_proc *p);

/* Interactive stdin: 0; -1 when stdin is closed (by _close, or the process
 * closed it) or the process is not interactive; -2 when 1 MiB is already
 * waiting (it is not reading: try again later). */
int sbx_proc_stdin_write(struct sbx_proc *p, const void *data, size_t len);
/* End of input, once the queued bytes are written. */
void sbx_proc_stdin_close(struct sbx_proc *p);
/* A signal to its process group (SIGKILL included: see sbx_proc_kill). */
void sbx_proc_signal(struct sbx_proc *p, int sig);
/* Its terminal's size (a pty process). */
void sbx_proc_resize(struct sbx_proc *p, uint16_t rows, uint16_t cols);
/* Kills it because its user asked (result: killed_on_request). */
void sbx_proc_kill(struct sbx_proc *p);
/* Stops / restarts reading its output (backpressure: while paused, the
 * pipes fill and it blocks on write; its limits keep running). */
void sbx_proc_output_pause(struct sbx_proc *p);
void sbx_proc_output_resume(struct sbx_proc *p);

const struct sbx_result *sbx_proc_result(const struct sbx_proc *p);
/* The result's buffers go to the caller (they stay valid after the free). */
struct sbx_result *sbx_proc_result_mut(struct sbx_proc *p);
struct sbx *sbx_proc_sandbox(const struct sbx_proc *p);
/* Frees it after `exited`; before, it is killed and freed once it is gone
 * (no callback follows). */
void sbx_proc_free(struct sbx_proc *p);
void sbx_result_free(struct sbx_result *r);

/* ---- files ---- */

/* Paths are absolute inside the sandbox, or relative to its working
 * directory; normalised (no "." or ".." components). The agent does the
 * work inside the sandbox with the programs' rights: no host path is ever
 * followed. */

enum sbx_entry_type { SBX_FILE = 1, SBX_DIR, SBX_SYMLINK, SBX_OTHER };

struct sbx_entry {
    char *name;              /* LIST: the name in the directory; else the path */
    enum sbx_entry_type type;
    uint32_t mode;
    uint64_t size;
    int64_t mtime_ms;
    char *target;            /* symlink text, or NULL */
};

struct sbx_file_result {
    int err;                 /* 0, or the errno of the failure */
    char message[512];       /* the failure, naming the operation and path */
    struct sbx_entry *entries;   /* LIST; STAT and WRITE: one */
    size_t n;
    uint8_t *data;           /* READ: the content (malloc'd, NUL after len) */
    size_t len;
};

typedef void (*sbx_file_cb)(struct sbx *s, struct sbx_file_result *r, void *arg);

/* Write flags. */
enum { SBX_WRITE_EXCL = 1, SBX_WRITE_APPEND = 2 };

/* Each request is queued after those before it; cb (may be NULL) follows
 * once with the outcome (the result and what it holds are freed after cb
 * returns, unless cb takes them: set the pointers to NULL). Return 0, or -1
 * with err (bad path, no memory, the sandbox is ending). */
int sbx_file_write(struct sbx *s, const char *path, const void *data, size_t len, uint32_t mode,
                   unsigned flags, sbx_file_cb cb, void *arg, struct sb_error *err);
int sbx_file_read(struct sbx *s, const char *path, uint64_t max, sbx_file_cb cb, void *arg,
                  struct sb_error *err);
int sbx_file_list(struct sbx *s, const char *path, uint64_t max_entries, sbx_file_cb cb,
                  void *arg, struct sb_error *err);
int sbx_file_stat(struct sbx *s, const char *path, sbx_file_cb cb, void *arg,
                  struct sb_error *err);
int sbx_file_move(struct sbx *s, const char *from, const char *to, bool replace, sbx_file_cb cb,
                  void *arg, struct sb_error *err);
int sbx_file_remove(struct sbx *s, const char *path, bool recursive, sbx_file_cb cb, void *arg,
                    struct sb_error *err);
int sbx_file_mkdir(struct sbx *s, const char *path, bool parents, sbx_file_cb cb, void *arg,
                   struct sb_error *err);
void sbx_file_result_free(struct sbx_file_result *r);

#endif
