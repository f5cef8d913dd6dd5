/* Internals shared by job.c (runs, cases, results) and compile.c (compile stage, cache, flights). */
#ifndef SB_RUNNER_JOB_INTERNAL_H
#define SB_RUNNER_JOB_INTERNAL_H

#include "runner/job.h"
#include "runner/tar.h"

struct job {
    char **return_files;         /* NULL-terminated patterns, or NULL */
    size_t nreturn_files;
    bool network;                /* the run stage's egress: */
    struct net_policy net_policy;
    enum sbx_isolation isolation;
    struct sbx_net net;
    char net_tag[80];
    struct runner *rn;
    job_done_cb done;
    job_output_cb output;
    void *arg;
    const struct lang *lang;
    /* owned copies of the request */
    struct sbx_file_in *files;
    size_t nfiles;
    char *stdin_data;
    size_t stdin_len;
    bool has_stdin;
    char **args;
    size_t nargs;
    char **compile_args;       /* NULL-terminated */
    size_t ncompile_args;
    char **run_env;            /* base, language, request */
    size_t nrun_env;
    char **compile_env;        /* base, language */
    size_t ncompile_env;
    struct job_case *cases;
    size_t ncases, next_case;
    struct sbx_limits limits, compile_limits;
    /* compile output */
    uint8_t *artifact;
    size_t artifact_len;
    struct tar_list unpacked;  /* artifact_tar languages */
    struct flight *flight;     /* while waiting for a compile */
    struct sbx_run *cur;           /* the run sandbox in progress */
    bool cur_warm;             /* ... a pooled one */
    char **req_env;            /* the request's own variables (NULL-terminated) */
    size_t nreq_env;
    bool cancelled;
    bool finished;             /* job_finish ran */
    bool busy;                 /* counted in the pools' jobs in flight */
    uv_timer_t timer;          /* reports from the loop: the start, a cancel or kill */
    bool timer_closed, released;
    /* interact.c */
    bool interactive;          /* the run's stdin stays open */
    bool compile_only;         /* no run stage (job_request.compile_only) */
    struct sb_buf early_in;    /* stdin typed before the run started */
    bool stdin_closed, paused, kill_requested, run_started;
    struct job_result res;
    struct job *next_waiter;   /* in the flight's list */
};

/* warm.c: a pooled sandbox started with spec's program, or NULL (run cold). */
struct sbx_run *job_claim_pooled(struct job *j, const struct sbx_run_spec *spec, sbx_run_done_cb done,
                             sbx_run_output_cb output);

/* compile.c */
void compile_begin(struct job *j);
/* A job leaving before its compile finished (cancelled). */
void compile_leave(struct job *j);

/* interact.c */
void job_finish_killed(struct job *j);
void job_interactive_spec(struct job *j, struct sbx_run_spec *spec);
void job_interactive_started(struct job *j);

/* job.c */
void job_finish(struct job *j);
/* Runs cb from the loop (the job's own timer: nothing to allocate). */
void job_later(struct job *j, uv_timer_cb cb);
void job_engine_failed(struct job *j, const struct sb_error *err);
/* Called by compile.c once the artifact is in j (or the compile failed). */
void job_compiled(struct job *j);
/* Expands argv for this job; NULL on allocation failure. */
char **job_argv(const struct job *j, char *const *tmpl, size_t *argc);

#endif
