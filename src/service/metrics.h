/* Service metrics in the Prometheus text exposition format. */
#ifndef SB_SERVICE_METRICS_H
#define SB_SERVICE_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "runner/pool.h"

#define METRICS_BUCKETS 14

struct metric_counter {
    char labels[160];           /* rendered label set, e.g. language="python",status="ok" */
    uint64_t value;
};

struct metric_family {
    struct metric_counter *v;
    size_t n, cap;
};

struct metrics {
    struct metric_family executions;     /* language, status */
    struct metric_family http;           /* route, code */
    struct metric_family rejected;       /* reason */
    struct metric_family grpc;           /* method, code */
    uint64_t dur_buckets[METRICS_BUCKETS];
    double dur_sum;
    uint64_t dur_count;
    uint64_t output_pauses;              /* a slow reader paused an execution's output */
};

void metrics_init(struct metrics *m);
void metrics_free(struct metrics *m);
void metrics_execution(struct metrics *m, const char *language, const char *status, double seconds);
void metrics_http(struct metrics *m, const char *route, int code);
void metrics_rejected(struct metrics *m, const char *reason);
/* A gRPC call ended with this status code. */
void metrics_grpc(struct metrics *m, const char *method, int code);

/* Gauges are sampled by the caller at render time. */
struct metrics_gauges {
    unsigned active_sandboxes;
    unsigned queue_depth;
    unsigned connections;
    double uptime_seconds;
    double cpu_seconds;              /* the server process's own (all threads) */
    double agent_cpu_seconds;        /* the sandbox agents' own, programs excluded */
    unsigned long long setup_failures, seccomp_kills, store_errors;
    /* Warm pools, one entry per language that has one. */
    const struct pool_stats *pools;
    size_t npools;
    /* Sessions: live now, and counters since start. */
    unsigned sessions_live;
    unsigned long long sessions_created, sessions_ended, session_commands, session_cells,
        session_file_bytes_in, session_file_bytes_out;
    /* The compile cache (all zero when it is off). */
    unsigned long long cache_entries, cache_bytes, cache_hits, cache_misses, cache_evictions;
};

int metrics_render(const struct metrics *m, const struct metrics_gauges *g, struct sb_buf *out);

#endif
