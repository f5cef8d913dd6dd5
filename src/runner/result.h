/* Verdicts of a run (what the program did) and the result JSON shared by every API. */
#ifndef SB_RUNNER_RESULT_H
#define SB_RUNNER_RESULT_H

#include <jansson.h>
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

/* One sandboxed stage (compile or run) after classification. */
struct stage_result {
    enum sb_status status;
    char message[256];        /* why, for anything but ok ("" otherwise) */
    bool exited;
    int exit_code;
    int signal;               /* 0: none */
    uint64_t wall_ms, cpu_ms, memory_kb;
    struct sb_buf out, err;
    bool truncated;
    bool warm;                /* run stage: served by a pooled sandbox */
    uint64_t t_start, t_spawned, t_attached, t_ready, t_started, t_exited, t_reaped, t_finished;
};

/* Classifies a finished run; takes r's output buffers. Engine failures
 * (r->failed) must be handled by the caller before. */
void stage_classify(struct stage_result *st, struct sbx_result *r, const struct sbx_limits *lim);
void stage_free(struct stage_result *st);

/* Adds a stage's fields (stdout, stderr, exit_code, signal, status, ...) to obj. */
void stage_to_json(const struct stage_result *st, json_t *obj);

/* A JSON string for arbitrary bytes: valid UTF-8 is kept, invalid bytes become
 * U+FFFD and *lossy is set. Never returns NULL unless memory is exhausted. */
json_t *json_bytes(const char *data, size_t len, bool *lossy);

#endif
