/* A single run: a fresh sandbox for one program, its result, its teardown; pooled sandboxes set up ahead of it. */
#ifndef SB_SANDBOX_RUN_H
#define SB_SANDBOX_RUN_H

#include "sandbox/sandbox.h"

struct sbx_file_in {
    const char *path;        /* relative to the working dir, validated */
    const void *data;
    size_t len;
    uint32_t mode;
};

/* Everything a run needs; copied by sbx_run_start, not retained. */
struct sbx_run_spec {
    const char *const *argv;
    size_t argc;
    const char *const *env;
    size_t envc;
    const struct sbx_file_in *files;
    size_t nfiles;
    const void *stdin_data;  /* NULL: stdin is at EOF (unless interactive) */
    size_t stdin_len;
    bool interactive;        /* stdin stays open: sbx_run_stdin_write, sbx_run_stdin_close */
    struct sbx_limits limits;
    const char *fetch_path;  /* regular file to hand back after exit (artifact), or NULL */
    uint64_t fetch_max;      /* bytes */
    const char *const *extra_etc;    /* NULL-terminated /etc names, or NULL */
    const char *const *extra_binds;  /* NULL-terminated host paths, or NULL */
    /* Pooled: set up now, run later (sbx_run_go). Without `warm` nothing runs
     * until then; with it, argv/env start at once as a warm program that
     * reads its real program from fd 3 at GO. files/stdin are not used. */
    bool pooled;
    bool warm;
    /* Egress (sbx_spec.network): net, when given, applies at once; a
     * pooled run gets its own at sbx_run_go. */
    bool network;
    const struct sbx_net *net;
    enum sbx_isolation isolation;
};

/* What a pooled run runs when it is claimed. */
struct sbx_run_go {
    const char *const *argv; /* the program (a warm sandbox: recorded, not executed) */
    size_t argc;
    const char *const *env;
    size_t envc;
    const struct sbx_file_in *files;
    size_t nfiles;
    const void *input;       /* warm: what the waiting program reads from fd 3 */
    size_t input_len;
    const void *stdin_data;  /* NULL: stdin at EOF (unless interactive) */
    size_t stdin_len;
    bool interactive;
    struct sbx_limits limits; /* disk_kb must be the pooled sandbox's */
    const struct sbx_net *net; /* egress (the pooled sandbox must be plumbed), or NULL */
    enum sbx_isolation isolation; /* the pool it may come from */
};

struct sbx_run;
typedef void (*sbx_run_ready_cb)(struct sbx_run *r, void *arg);
typedef void (*sbx_run_done_cb)(struct sbx_run *r, void *arg);
/* Optional: each chunk of output as it is captured (stream 1 or 2). */
typedef void (*sbx_run_output_cb)(struct sbx_run *r, int stream, const char *data, size_t len,
                                  void *arg);

/* Starts a run. `done` is called exactly once, from the loop, when the
 * result is final: after every process of the program is gone and its
 * output is in (the sandbox's own teardown may still be under way:
 * sbx_engine_idle says when all is done). Then call sbx_run_free. Returns
 * NULL only if memory is exhausted (err set). */
struct sbx_run *sbx_run_start(struct sbx_engine *e, const struct sbx_run_spec *spec,
                              sbx_run_done_cb done, sbx_run_output_cb output, void *arg,
                              struct sb_error *err);

/* Pooled runs. sbx_run_start with spec->pooled calls ready (once) when the
 * sandbox waits for its program; `done` follows if it ends before a claim. */
void sbx_run_on_ready(struct sbx_run *r, sbx_run_ready_cb ready);
bool sbx_run_is_ready(const struct sbx_run *r);
/* Memory the sandbox uses now (bytes). */
uint64_t sbx_run_memory(const struct sbx_run *r);
/* Claims a ready pooled run: its callbacks become done/output/arg, its
 * limits go->limits (the cgroup adjusted), and the program starts. Returns
 * 0, or -1 with err when it cannot serve these limits (the caller cancels
 * it and starts cold). */
int sbx_run_go(struct sbx_run *r, const struct sbx_run_go *go, sbx_run_done_cb done,
               sbx_run_output_cb output, void *arg, struct sb_error *err);

/* Files a run hands back: regular files under the working directory whose
 * path relative to it matches one of the patterns (glob_match), found
 * without following a symlink, at most max_files files and max_bytes bytes
 * in all (beyond: left out, `truncated`). Ask before the program can have
 * ended: right after sbx_run_start or sbx_run_go. 0, or -1 with err. */
struct sbx_collected {
    char *name;              /* relative to the working directory */
    uint8_t *data;
    size_t len;
};
int sbx_run_collect(struct sbx_run *r, const char *const *globs, size_t n, uint64_t max_bytes,
                    uint32_t max_files, struct sb_error *err);
/* The files collected (moved out to the caller), after `done`. */
struct sbx_collected *sbx_run_take_collected(struct sbx_run *r, size_t *n, bool *truncated);
void sbx_collected_free(struct sbx_collected *v, size_t n);

/* Kills the run now (client gone, shutdown); `done` still follows. */
void sbx_run_cancel(struct sbx_run *r);
/* Kills the program because its user asked (result: killed_on_request). */
void sbx_run_kill(struct sbx_run *r);
/* A signal to the program's process group while it runs (one it may catch;
 * SIGKILL is sbx_run_kill's). */
void sbx_run_signal(struct sbx_run *r, int sig);

/* Interactive runs (see sbx_proc_stdin_write). */
int sbx_run_stdin_write(struct sbx_run *r, const void *data, size_t len);
void sbx_run_stdin_close(struct sbx_run *r);
void sbx_run_output_pause(struct sbx_run *r);
void sbx_run_output_resume(struct sbx_run *r);

const struct sbx_result *sbx_run_result(const struct sbx_run *r);
/* The result's buffers go to the caller (they stay valid after the free). */
struct sbx_result *sbx_run_result_mut(struct sbx_run *r);
/* The fetched file (valid until sbx_run_free), or NULL with *errnum saying why. */
const uint8_t *sbx_run_artifact(const struct sbx_run *r, size_t *len, int *errnum);
void sbx_run_free(struct sbx_run *r);

#endif
