/* A job: an optional compile stage (cached, single-flight), then one run or one run per test case. */
#ifndef SB_RUNNER_JOB_H
#define SB_RUNNER_JOB_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "runner/cache.h"
#include "runner/lang.h"
#include "runner/result.h"
#include "runner/runner.h"
#include "sandbox/run.h"

struct job_file {
    const char *name;      /* validated relative path; files[0] is the entry point */
    const char *data;
    size_t len;
};

/* One test case: stdin, and the output it must produce (if judged). */
struct job_case {
    const char *stdin_data;
    size_t stdin_len;
    const char *expected;  /* NULL: run only, no verdict */
    size_t expected_len;
};

/* A validated request; job_start copies what it needs. */
/* A request's own, lower limits for its compile stage (0: the stage's). */
struct job_compile_limits {
    uint64_t wall_ms, cpu_ms, memory_kb;
};

struct job_request {
    const struct lang *lang;
    const struct job_file *files;
    size_t nfiles;
    const char *stdin_data;    /* NULL: no stdin */
    size_t stdin_len;
    const char *const *args;
    size_t nargs;
    /* More of the compiler's arguments, before its source files (a language
     * with a compile step); part of the compile cache's key. */
    const char *const *compile_args;
    size_t ncompile_args;
    struct job_compile_limits compile_limits;
    const char *const *env;    /* "KEY=VALUE", for the run stage only */
    size_t nenv;
    struct sbx_limits limits;  /* the run stage's exact limits */
    const struct job_case *cases;  /* test cases: compile once, one fresh sandbox each */
    size_t ncases;
    bool interactive;          /* stdin stays open for job_stdin_write (not with cases) */
    bool compile_only;         /* the compile stage (cached) and no run: status ok or
                                  compile_error (a language without one: ok at once) */
    const char *const *return_files;   /* patterns (sbx_run_collect), not with cases */
    size_t nreturn_files;
    /* Egress of the run stage (narrowed against the config), or NULL: none.
     * net_tag names the sandbox in the audit. */
    const struct net_policy *net_policy;
    const char *net_tag;
    enum sbx_isolation isolation;  /* every stage's sandboxes */
};

/* What return_files may bring back at most. */
#define JOB_RETURN_MAX_BYTES (16u << 20)
#define JOB_RETURN_MAX_FILES 256

struct job;
typedef void (*job_done_cb)(struct job *j, void *arg);
/* Run-stage output as it is produced (stream 1 = stdout, 2 = stderr). */
typedef void (*job_output_cb)(struct job *j, int stream, const char *data, size_t len, void *arg);

/* Starts the job; `done` follows exactly once from the loop. NULL only when
 * memory is exhausted (err set). */
struct job *job_start(struct runner *rn, const struct job_request *req, job_done_cb done,
                      job_output_cb output, void *arg, struct sb_error *err);
void job_cancel(struct job *j);

/* Interactive jobs (interact.c). Stdin: 0, -1 when closed or over, -2 when
 * 1 MiB already waits for the program (try later). */
int job_stdin_write(struct job *j, const void *data, size_t len);
void job_stdin_close(struct job *j);
/* Kills the program at the user's request: runtime_error, signal 9,
 * "killed on request" (also before it started). */
void job_kill(struct job *j);
/* A signal to the running program (the run stage), one it may catch;
 * SIGKILL is job_kill. Nothing happens before the run or after it. */
void job_signal(struct job *j, int sig);
/* Backpressure: pause = stop reading the program's output. */
void job_output_pause(struct job *j, bool pause);
const struct job_result *job_result(const struct job *j);
/* Moves the result out (the job keeps nothing of it). */
void job_take_result(struct job *j, struct job_result *out);
void job_free(struct job *j);

#endif
