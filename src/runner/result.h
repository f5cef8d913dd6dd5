/* Verdicts of a run (what the program did) and the typed results every layer above passes on. */
#ifndef SB_RUNNER_RESULT_H
#define SB_RUNNER_RESULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sandbox/run.h"

/* Program verdicts. Engine faults are sb_error codes, never one of these,
 * except INTERNAL_ERROR for a result that must be stored (e.g. a job lost in a crash). */
#define SB_STATUS_MAP(X)                          \
    X(OK, "ok")                                   \
    X(RUNTIME_ERROR, "runtime_error")             \
    X(TIME_LIMIT, "time_limit_exceeded")          \
    X(MEMORY_LIMIT, "memory_limit_exceeded")      \
    X(OUTPUT_LIMIT, "output_limit_exceeded")      \
    X(COMPILE_ERROR, "compile_error")             \
    X(INTERNAL_ERROR, "internal_error")

enum sb_status {
#define SB_X(name, wire) SB_ST_##name,
    SB_STATUS_MAP(SB_X)
#undef SB_X
    SB_ST__COUNT
};

const char *sb_status_name(enum sb_status s);
/* The status named `name`, or -1. */
int sb_status_from_name(const char *name);

/* One sandboxed stage (compile or run) after classification. */
struct stage_result {
    enum sb_status status;
    enum sbx_cause cause;     /* why it ended when not on its own (seccomp, a limit, ...) */
    char message[256];        /* why, for anything but ok ("" otherwise) */
    char seccomp_call[32];    /* SBX_CAUSE_SECCOMP: the forbidden call */
    bool exited;
    int exit_code;
    int signal;               /* 0: none */
    uint64_t wall_ms, cpu_ms, memory_kb;
    struct sb_buf out, err;
    bool truncated;
    bool warm;                /* run stage: served by a pooled sandbox */
    bool net_enabled;         /* it had egress: its traffic */
    struct net_stats net;
    uint64_t t_start, t_spawned, t_attached, t_ready, t_started, t_exited, t_reaped, t_finished;
};

struct case_result {
    struct stage_result run;
    bool judged;
    bool accepted;
};

/* The typed result of a job (an execution's result, from the runner to the
 * store and every front end). `failed`: SoulBox could not run it (an engine
 * error: the APIs answer 5xx); otherwise a verdict, or `note` saying why
 * there is none (cancelled, interrupted by a crash). */
struct job_result {
    bool failed;
    struct sb_error error;
    enum sb_status status;     /* overall verdict */
    char note[256];            /* why it ended without running to a verdict */
    bool has_compile;
    bool compile_cached;       /* the compile stage was skipped */
    struct stage_result compile;
    bool ran;
    struct stage_result run;   /* without test cases */
    struct case_result *cases;
    size_t ncases;
    /* return_files: what the run left in its working dir that matched */
    struct sbx_collected *files;
    size_t nfiles;
    bool files_truncated;
};

/* Classifies a finished run; takes r's output buffers. Engine failures
 * (r->failed) must be handled by the caller before. */
void stage_classify(struct stage_result *st, struct sbx_result *r, const struct sbx_limits *lim);
void stage_free(struct stage_result *st);
/* A deep copy (buffers duplicated). Returns 0, or -1 without memory (dst
 * then holds nothing to free). */
int stage_copy(struct stage_result *dst, const struct stage_result *src);

/* Frees a result's buffers and cases (not r itself). */
void job_result_free(struct job_result *r);
int job_result_copy(struct job_result *dst, const struct job_result *src);
/* A result with no verdict: status internal_error and why (cancelled,
 * interrupted). */
void job_result_note(struct job_result *r, const char *why);
/* The verdict of a test case: "ok", "accepted", "wrong_answer" or the
 * failing status. */
const char *case_verdict(const struct case_result *c);

/* Test cases together: how many, how many accepted, and the overall verdict
 * (the first case's that is not accepted, else "accepted"). */
struct case_summary {
    size_t total, accepted;
    const char *verdict;
};
void case_summarize(const struct job_result *r, struct case_summary *out);

/* The stage a result shows at its top when it has no run of its own
 * (SoulBox failed, cancelled, compile error): empty output, zero figures,
 * the status and why. Holds no buffers. */
void result_empty_stage(const struct job_result *r, struct stage_result *out);

/* Output comparison for test cases: equal after removing trailing spaces,
 * tabs and carriage returns at line ends and trailing empty lines. */
bool output_matches(const char *got, size_t got_len, const char *want, size_t want_len);

#endif
