/* REST information routes: /health, /api/languages, /metrics. */
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cluster/cluster.h"
#include "common/util.h"
#include "frontend/rest/rest_internal.h"
#include "runner/cache.h"
#include "runner/pool.h"
#include "vm/snapshot.h"

#define VERSION "0.1.0"

void rest_health(struct rest_call *rc)
{
    struct service *s = rc->rest->svc;
    bool stopping = !service_accepting(s);
    json_t *o = json_pack("{s:s,s:s,s:I,s:i,s:i,s:i,s:s,s:b}", "status",
                          stopping ? "stopping" : "ok", "version", VERSION, "uptime_s",
                          (json_int_t)((util_now_ms() - s->started_ms) / 1000),
                          "active_sandboxes", (int)s->engine.active,
                          "running", (int)s->sched.running, "queued", (int)s->sched.queued,
                          "cgroup", s->engine.cg.version == CG_V2 ? "v2" : "v1",
                          "languages_ready", s->probe.ready);
    if (o)
        json_object_set_new(o, "sessions", json_integer(s->sessions.n));
    if (o && s->cluster) {
        /* Degraded, not down: it answers reads it holds and tries again. */
        json_t *c = service_cluster_json(s);
        if (!stopping && strcmp(json_string_value(json_object_get(c, "database")), "up"))
            json_object_set_new(o, "status", json_string("degraded"));
        json_object_set_new(o, "store", json_string("postgres"));
        json_object_set_new(o, "cluster", c);
    } else if (o) {
        json_object_set_new(o, "store", json_string("sqlite"));
    }
    struct vm_engine *vm = &s->engine.vm;
    json_t *m = json_pack("{s:b}", "available", vm->available);
    if (m && vm->available) {
        json_object_set_new(m, "accel", json_string(vm_accel_name(vm)));
        json_object_set_new(m, "kernel", json_string(vm->kernel_release));
        json_t *sn = json_pack("{s:b}", "enabled", vm->snaps != NULL);
        if (sn && vm->snaps) {
            struct vm_snap_stats st;
            vm_snapshot_stats(vm->snaps, &st);
            json_object_set_new(sn, "held", json_integer(st.held));
            json_object_set_new(sn, "saved", json_integer((json_int_t)st.saved));
            json_object_set_new(sn, "restores", json_integer((json_int_t)st.restores));
            json_object_set_new(sn, "boots", json_integer((json_int_t)st.boots));
            json_object_set_new(sn, "restore_failures",
                                json_integer((json_int_t)st.restore_failures));
            if (st.error[0])
                json_object_set_new(sn, "error", json_string(st.error));
        }
        json_object_set_new(m, "snapshots", sn);
    } else if (m) {
        json_object_set_new(m, "reason", json_string(vm->reason));
    }
    if (o && m)
        json_object_set_new(o, "microvm", m);
    else
        json_decref(m);
    rest_reply_json(rc, stopping ? 503 : 200, o, NULL);
}

void rest_cluster(struct rest_call *rc)
{
    rest_reply_json(rc, 200, service_cluster_json(rc->rest->svc), NULL);
}

void rest_languages(struct rest_call *rc)
{
    rest_reply_json(rc, 200, lang_probe_json(&rc->rest->svc->probe), NULL);
}

void rest_metrics(struct rest_call *rc)
{
    struct service *s = rc->rest->svc;
    struct sb_buf b = {0};
    struct metrics_gauges g = {
        .active_sandboxes = s->engine.active, .queue_depth = s->sched.queued,
        .connections = http_server_connections(rc->rest->http),
        .uptime_seconds = (double)(util_now_ms() - s->started_ms) / 1000.0,
        .agent_cpu_seconds = (double)s->engine.agent_cpu_ns / 1e9,
        .setup_failures = s->engine.setup_failures, .seccomp_kills = s->engine.seccomp_kills,
        .store_errors = store_errors(s->store),
    };
    const struct session_registry *sr = &s->sessions;
    g.sessions_live = sr->n, g.sessions_created = sr->created, g.sessions_ended = sr->ended;
    g.session_commands = sr->commands, g.session_cells = sr->cells;
    g.session_file_bytes_in = sr->file_bytes_in, g.session_file_bytes_out = sr->file_bytes_out;
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        g.cpu_seconds = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                        (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    struct pool_stats ps[64];
    g.pools = ps;
    g.npools = pools_stats(s->runner.pools, ps, 64);
    if (s->runner.cache) {
        struct cache_stats st;
        cache_stats(s->runner.cache, &st);
        g.cache_entries = st.entries, g.cache_bytes = st.bytes, g.cache_hits = st.hits;
        g.cache_misses = st.misses, g.cache_evictions = st.evictions;
    }
    metrics_http(&s->metrics, "/metrics", 200); /* count this scrape before rendering */
    if (metrics_render(&s->metrics, &g, &b) < 0 || (fn_metrics_render(s, &b), b.oom)) {
        sb_buf_free(&b);
        rest_reply_error(rc, SB_E_INTERNAL, "out of memory", NULL);
        return;
    }
    http_respond(rc->c, 200, "text/plain; version=0.0.4; charset=utf-8", b.data, b.len, NULL);
    sb_buf_free(&b);
}
