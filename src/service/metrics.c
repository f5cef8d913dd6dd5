/* Counters, a duration histogram and their Prometheus rendering. */
#include "service/metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double buckets[METRICS_BUCKETS] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                1, 2.5, 5, 10, 30, 60, 300};

void metrics_init(struct metrics *m)
{
    memset(m, 0, sizeof *m);
}

void metrics_free(struct metrics *m)
{
    free(m->executions.v);
    free(m->http.v);
    free(m->rejected.v);
    free(m->grpc.v);
    memset(m, 0, sizeof *m);
}

/* Label values are escaped per the exposition format: \\ \" \n. */
static void escape(char *out, size_t len, const char *in)
{
    size_t o = 0;
    for (; *in && o + 3 < len; in++) {
        if (*in == '\\' || *in == '"') {
            out[o++] = '\\';
            out[o++] = *in;
        } else if (*in == '\n') {
            out[o++] = '\\';
            out[o++] = 'n';
        } else {
            out[o++] = *in;
        }
    }
    out[o] = '\0';
}

static void bump(struct metric_family *f, const char *labels)
{
    for (size_t i = 0; i < f->n; i++)
        if (!strcmp(f->v[i].labels, labels)) {
            f->v[i].value++;
            return;
        }
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 16;
        struct metric_counter *v = realloc(f->v, cap * sizeof *v);
        if (!v)
            return;
        f->v = v;
        f->cap = cap;
    }
    snprintf(f->v[f->n].labels, sizeof f->v[f->n].labels, "%s", labels);
    f->v[f->n++].value = 1;
}

void metrics_execution(struct metrics *m, const char *language, const char *status, double s)
{
    char a[64], b[64], labels[160];
    escape(a, sizeof a, language);
    escape(b, sizeof b, status);
    snprintf(labels, sizeof labels, "language=\"%s\",status=\"%s\"", a, b);
    bump(&m->executions, labels);
    for (int i = 0; i < METRICS_BUCKETS; i++)
        if (s <= buckets[i])
            m->dur_buckets[i]++;
    m->dur_sum += s;
    m->dur_count++;
}

void metrics_http(struct metrics *m, const char *route, int code)
{
    char a[96], labels[160];
    escape(a, sizeof a, route);
    snprintf(labels, sizeof labels, "route=\"%s\",code=\"%d\"", a, code);
    bump(&m->http, labels);
}

void metrics_rejected(struct metrics *m, const char *reason)
{
    char a[96], labels[160];
    escape(a, sizeof a, reason);
    snprintf(labels, sizeof labels, "reason=\"%s\"", a);
    bump(&m->rejected, labels);
}

void metrics_grpc(struct metrics *m, const char *method, int code)
{
    char a[96], labels[160];
    escape(a, sizeof a, method);
    snprintf(labels, sizeof labels, "method=\"%s\",code=\"%d\"", a, code);
    bump(&m->grpc, labels);
}

static void family(struct sb_buf *o, const char *name, const char *help,
                   const struct metric_family *f)
{
    sb_buf_printf(o, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
    for (size_t i = 0; i < f->n; i++)
        sb_buf_printf(o, "%s{%s} %llu\n", name, f->v[i].labels,
                      (unsigned long long)f->v[i].value);
}

static void pools(struct sb_buf *o, const struct metrics_gauges *g)
{
    static const struct { const char *name, *type, *help; } f[] = {
        {"soulbox_pool_ready", "gauge", "Ready sandboxes in the warm pool."},
        {"soulbox_pool_target", "gauge", "Sandboxes the warm pool keeps ready."},
        {"soulbox_pool_hits_total", "counter", "Runs served by a pooled sandbox."},
        {"soulbox_pool_misses_total", "counter", "Runs that found no usable pooled sandbox."},
        {"soulbox_pool_refills_total", "counter", "Pooled sandboxes made ready."},
        {"soulbox_pool_refill_seconds_total", "counter",
         "Time from starting to ready, summed over refills."},
        {"soulbox_pool_memory_bytes", "gauge", "Memory the ready sandboxes use."},
        {"soulbox_pool_hit_ratio", "gauge",
         "Share of runs served by a pooled sandbox since start (hits / (hits + misses))."},
        {"soulbox_pool_refilling", "gauge", "Pooled sandboxes being made ready now."},
    };
    for (size_t k = 0; k < sizeof f / sizeof *f; k++) {
        sb_buf_printf(o, "# HELP %s %s\n# TYPE %s %s\n", f[k].name, f[k].help, f[k].name,
                      f[k].type);
        for (size_t i = 0; i < g->npools; i++) {
            const struct pool_stats *p = &g->pools[i];
            uint64_t asked = p->hits + p->misses;
            double v[] = {p->ready, p->target, (double)p->hits, (double)p->misses,
                          (double)p->refills, p->refill_seconds, (double)p->memory,
                          asked ? (double)p->hits / (double)asked : 0, p->starting};
            sb_buf_printf(o, "%s{language=\"%s\"%s%s} %.9g\n", f[k].name, p->language,
                          p->network ? ",network=\"true\"" : "",
                          p->microvm ? ",isolation=\"microvm\"" : "", v[k]);
        }
    }
}

static void sessions(struct sb_buf *o, const struct metrics_gauges *g)
{
    const struct { const char *name, *type, *help, *labels; unsigned long long v; } f[] = {
        {"soulbox_sessions_live", "gauge", "Sessions that exist right now.", "",
         g->sessions_live},
        {"soulbox_sessions_created_total", "counter", "Sessions created.", "",
         g->sessions_created},
        {"soulbox_sessions_ended_total", "counter", "Sessions ended (deleted, timed out, shut "
         "down, failed).", "", g->sessions_ended},
        {"soulbox_session_commands_total", "counter", "Commands started in sessions.", "",
         g->session_commands},
        {"soulbox_session_cells_total", "counter", "Code cells run in sessions' contexts.", "",
         g->session_cells},
        {"soulbox_session_file_bytes_total", "counter", "Bytes written into and read out of "
         "sessions through the files API, by direction.", "{direction=\"in\"}",
         g->session_file_bytes_in},
        {"soulbox_session_file_bytes_total", NULL, NULL, "{direction=\"out\"}",
         g->session_file_bytes_out},
    };
    for (size_t i = 0; i < sizeof f / sizeof *f; i++) {
        if (f[i].help)
            sb_buf_printf(o, "# HELP %s %s\n# TYPE %s %s\n", f[i].name, f[i].help, f[i].name,
                          f[i].type);
        sb_buf_printf(o, "%s%s %llu\n", f[i].name, f[i].labels, f[i].v);
    }
}

int metrics_render(const struct metrics *m, const struct metrics_gauges *g, struct sb_buf *o)
{
    family(o, "soulbox_executions_total", "Executions finished, by language and status.",
           &m->executions);
    const char *h = "soulbox_execution_duration_seconds";
    sb_buf_printf(o, "# HELP %s Wall time of the run stage of finished executions.\n"
                  "# TYPE %s histogram\n", h, h);
    for (int i = 0; i < METRICS_BUCKETS; i++)
        sb_buf_printf(o, "%s_bucket{le=\"%g\"} %llu\n", h, buckets[i],
                      (unsigned long long)m->dur_buckets[i]);
    sb_buf_printf(o, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n", h,
                  (unsigned long long)m->dur_count, h, m->dur_sum, h,
                  (unsigned long long)m->dur_count);
    sb_buf_printf(o, "# HELP soulbox_active_sandboxes Sandboxes that exist right now.\n"
                  "# TYPE soulbox_active_sandboxes gauge\nsoulbox_active_sandboxes %u\n",
                  g->active_sandboxes);
    sb_buf_printf(o, "# HELP soulbox_queue_depth Executions waiting for a free slot.\n"
                  "# TYPE soulbox_queue_depth gauge\nsoulbox_queue_depth %u\n", g->queue_depth);
    sb_buf_printf(o, "# HELP soulbox_http_connections Open HTTP connections.\n"
                  "# TYPE soulbox_http_connections gauge\nsoulbox_http_connections %u\n",
                  g->connections);
    sb_buf_printf(o, "# HELP soulbox_output_pauses_total Times a slow reader paused a program's "
                  "output (backpressure).\n# TYPE soulbox_output_pauses_total counter\n"
                  "soulbox_output_pauses_total %llu\n", (unsigned long long)m->output_pauses);
    sb_buf_printf(o, "# HELP soulbox_uptime_seconds Seconds since the server started.\n"
                  "# TYPE soulbox_uptime_seconds gauge\nsoulbox_uptime_seconds %.3f\n",
                  g->uptime_seconds);
    sb_buf_printf(o, "# HELP process_cpu_seconds_total CPU (user + system) the server process "
                  "used.\n# TYPE process_cpu_seconds_total counter\n"
                  "process_cpu_seconds_total %.6f\n", g->cpu_seconds);
    sb_buf_printf(o, "# HELP soulbox_agent_cpu_seconds_total CPU the sandbox agents used "
                  "themselves (programs excluded), over ended sandboxes.\n"
                  "# TYPE soulbox_agent_cpu_seconds_total counter\n"
                  "soulbox_agent_cpu_seconds_total %.6f\n", g->agent_cpu_seconds);
    const struct { const char *name, *help; unsigned long long v; } faults[] = {
        {"soulbox_sandbox_setup_failures_total", "Sandboxes that could not be set up.",
         g->setup_failures},
        {"soulbox_seccomp_kills_total", "Processes killed for a system call the sandbox's "
         "seccomp filter forbids.", g->seccomp_kills},
        {"soulbox_store_errors_total", "Store operations that failed (results, audit).",
         g->store_errors},
    };
    for (size_t i = 0; i < sizeof faults / sizeof *faults; i++)
        sb_buf_printf(o, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", faults[i].name,
                      faults[i].help, faults[i].name, faults[i].name, faults[i].v);
    const struct { const char *name, *type, *help; unsigned long long v; } cache[] = {
        {"entries", "gauge", "Artifacts in the compile cache.", g->cache_entries},
        {"bytes", "gauge", "Bytes the compile cache holds.", g->cache_bytes},
        {"hits_total", "counter", "Compile cache lookups that found a verified artifact.",
         g->cache_hits},
        {"misses_total", "counter", "Compile cache lookups that found nothing usable.",
         g->cache_misses},
        {"evictions_total", "counter", "Artifacts evicted to keep the cache in its bound.",
         g->cache_evictions},
    };
    for (size_t i = 0; i < sizeof cache / sizeof cache[0]; i++)
        sb_buf_printf(o, "# HELP soulbox_compile_cache_%s %s\n# TYPE soulbox_compile_cache_%s %s\n"
                      "soulbox_compile_cache_%s %llu\n", cache[i].name, cache[i].help,
                      cache[i].name, cache[i].type, cache[i].name, cache[i].v);
    pools(o, g);
    sessions(o, g);
    family(o, "soulbox_http_requests_total", "HTTP requests, by route and status code.",
           &m->http);
    family(o, "soulbox_rejected_requests_total", "Requests refused, by reason.", &m->rejected);
    family(o, "soulbox_grpc_requests_total", "gRPC calls, by method and status code.", &m->grpc);
    return o->oom ? -1 : 0;
}
