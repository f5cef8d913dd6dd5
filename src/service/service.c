/* The service core's life: open everything an execution needs, probe languages, drain, close. */
#include "service/service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster/cluster.h"
#include "common/log.h"
#include "common/util.h"
#include "runner/pool.h"
#include "service/execution.h"

/* ---- languages and pools ---- */

/* Cluster mode: the node claims queued work in the languages it can run. */
static void tell_cluster_languages(struct service *s)
{
    const char **names = calloc(s->probe.n + 1, sizeof *names);
    size_t n = 0;
    for (size_t i = 0; names && i < s->probe.n; i++)
        if (s->probe.langs[i].probed && s->probe.langs[i].available)
            names[n++] = s->probe.langs[i].lang->name;
    if (names)
        cluster_set_languages(s->cluster, names, n);
    free(names);
}

static void language_usable(const struct lang *l, void *arg)
{
    struct service *s = arg;
    struct sb_error err;
    if (s->cluster && s->state == SERVICE_RUNNING)
        tell_cluster_languages(s);
    if (s->state != SERVICE_RUNNING || !s->runner.pools)
        return;
    if (pools_enable(s->runner.pools, l, &err) < 0)
        log_event(LOG_ERROR, "warm pool", json_pack("{s:s,s:s}", "language", l->name,
                                                    "error", err.msg));
}

/* A refusal of the egress thread (net/egress.h): store_audit may be called
 * from any thread. Before the store is open nothing can have been refused. */
static void net_audit(void *arg, const char *tag, const char *event, const char *detail)
{
    struct service *s = arg;
    struct audit_record a = {
        .ts_ms = util_now_ms(), .event = event, .request_id = tag, .detail = detail,
    };
    if (s->store)
        store_audit(s->store, &a);
}

static void probes_done(void *arg)
{
    struct service *s = arg;
    if (s->cluster && s->state == SERVICE_RUNNING)
        tell_cluster_languages(s);
    service_check_drained(arg);
}

/* ---- cluster mode ---- */

static void on_claimed(void *arg, struct cluster_claim *c)
{
    struct service *s = arg;
    if (s->state == SERVICE_CLOSED)
        cluster_claim_free(c);  /* ended with the node's other work when it leaves */
    else
        execution_claimed(s, c);
}

static void on_remote_done(void *arg, const char *id)
{
    execution_remote_done(arg, id);
}

static void on_tick(void *arg)
{
    execution_remote_tick(arg);
}

static void on_function_changed(void *arg, const char *name)
{
    fn_registry_changed(arg, name);
}

static void on_lost(void *arg)
{
    execution_cancel_all(arg, "this node was out of touch with the cluster's database for "
                              "longer than cluster.node_timeout_ms: the cluster ended or "
                              "handed over its executions");
}

json_t *service_cluster_json(struct service *s)
{
    if (s->cluster) {
        json_t *c = cluster_status(s->cluster);
        json_object_set_new(c, "store", json_string("postgres"));
        return c;
    }
    /* One node on SQLite: a cluster of itself. */
    char host[64] = "soulbox";
    if (gethostname(host, sizeof host - 1) < 0)
        snprintf(host, sizeof host, "soulbox");
    const char *name = s->cfg->cluster.node_name[0] ? s->cfg->cluster.node_name : host;
    json_t *langs = json_array();
    for (size_t i = 0; i < s->probe.n; i++)
        if (s->probe.langs[i].probed && s->probe.langs[i].available)
            json_array_append_new(langs, json_string(s->probe.langs[i].lang->name));
    json_t *self = json_pack("{s:s,s:s,s:s,s:b,s:i,s:i,s:i,s:i,s:o,s:I,s:i}", "id", name,
                             "name", name, "state", "up", "self", 1,
                             "capacity", (int)s->sched.max_running,
                             "max_queue", (int)s->sched.max_queue,
                             "running", (int)s->sched.running, "queued", (int)s->sched.queued,
                             "languages", langs, "started_ms", (json_int_t)s->started_ms,
                             "heartbeat_age_ms", 0);
    return json_pack("{s:s,s:s,s:s,s:s,s:i,s:[o]}", "store", "sqlite", "node", name,
                     "name", name, "database", "up", "queued", (int)s->sched.queued,
                     "nodes", self);
}

static int open_store(struct service *s, struct sb_error *err)
{
    const struct sb_server_config *v = &s->cfg->server;
    if (strcmp(v->store, "sqlite")) {
        static const struct cluster_hooks hooks = {on_claimed, on_remote_done, on_tick, on_lost,
                                                   on_function_changed};
        if (cluster_start(&s->cluster, s->loop, s->cfg, &hooks, s, err) < 0)
            return -1;
        return store_open_pg(&s->store, s->loop, v->store, cluster_node_id(s->cluster),
                             v->audit_log, err);
    }
    int recovered = 0;
    if (store_open(&s->store, s->loop, v->data_dir, v->audit_log, &recovered, err) < 0)
        return -1;
    if (recovered)
        log_event(LOG_WARN, "marked interrupted executions internal_error",
                  json_pack("{s:i}", "count", recovered));
    return 0;
}

/* ---- opening ---- */

int service_open(struct service *s, uv_loop_t *loop, const struct sb_config *cfg,
                 struct sb_error *err)
{
    const struct sb_server_config *v = &cfg->server;
    memset(s, 0, sizeof *s);
    s->loop = loop;
    s->cfg = cfg;
    s->started_ms = util_now_ms();
    list_init(&s->inflight);
    list_init(&s->sessions.all);
    metrics_init(&s->metrics);
    auth_init(&s->auth, v);
    struct callback_cfg cb = {v->callbacks_allow_private, v->callback_timeout_ms,
                              (unsigned)v->callback_attempts};
    callbacks_init(&s->callbacks, loop, &cb);
    sched_init(&s->sched, (unsigned)v->max_concurrent, (unsigned)v->max_queue);
    struct sbx_engine_cfg ecfg;
    runner_engine_cfg(cfg, &ecfg);
    if (runner_net_start(cfg, net_audit, s, &s->net, err) < 0)
        return -1;
    ecfg.net = s->net;
    if (sbx_engine_init(&s->engine, loop, &ecfg, err) < 0)
        return -1;
    s->engine_open = true;
    s->runner.engine = &s->engine;
    s->runner.cfg = cfg;
    if (lang_registry_open(cfg->languages_dir, cfg->languages.v, cfg->languages.n,
                           &s->registry, err) < 0)
        return -1;
    s->registry_open = true;
    if (lang_probe_init(&s->probe, &s->engine, cfg, &s->registry, err) < 0)
        return -1;
    if (session_registry_open(s, err) < 0)
        return -1;
    s->sessions_open = true;
    s->probe.usable = language_usable;
    s->probe.done = probes_done;
    s->probe.arg = s;
    if (cfg->compile_cache_mb &&
        cache_open(&s->runner.cache, loop, cfg->compile_cache_dir, cfg->compile_cache_mb << 20,
                   err) < 0)
        return -1;
    if (cfg->n_pools && cfg->pool_memory_mb && pools_open(&s->runner.pools, &s->runner, err) < 0)
        return -1;
    if (open_store(s, err) < 0)
        return -1;
    session_load_saved(s);
    return fn_registry_open(s, err);
}

static void noop_done(void *arg)
{
    (void)arg;
}

void service_abort(struct service *s)
{
    if (!s->loop)
        return; /* never opened */
    s->state = SERVICE_CLOSED;
    net_engine_stop(s->net);
    s->net = NULL;
    if (s->store)
        store_close(s->store);
    s->store = NULL;
    cluster_stop(s->cluster);
    s->cluster = NULL;
    if (s->runner.pools)
        pools_close(s->runner.pools, noop_done, NULL);
    s->runner.pools = NULL;
    cache_close(s->runner.cache);
    s->runner.cache = NULL;
    if (s->engine_open)
        sbx_engine_close(&s->engine);
    s->engine_open = false;
    uv_run(s->loop, UV_RUN_DEFAULT);
}

void service_start(struct service *s)
{
    lang_probe_start(&s->probe);
    fn_registry_start(s);
}

bool service_accepting(const struct service *s)
{
    return s->state == SERVICE_RUNNING;
}

/* ---- draining ---- */

void service_check_drained(struct service *s)
{
    if (s->state != SERVICE_DRAINING || s->ninflight || s->probe.running || s->runner.pools ||
        s->sessions.n || fn_running(s))
        return;
    fn_registry_close(s, "the server is shutting down"); /* its idle instances */
    if (s->drained) {
        void (*cb)(void *) = s->drained;
        s->drained = NULL;
        cb(s->drained_arg);
    }
}

static void on_pools_closed(void *arg)
{
    struct service *s = arg;
    s->runner.pools = NULL;
    service_check_drained(s);
}

void service_drain(struct service *s, void (*drained)(void *), void *arg)
{
    if (s->state != SERVICE_RUNNING)
        return;
    s->state = SERVICE_DRAINING;
    s->drained = drained;
    s->drained_arg = arg;
    lang_probe_stop(&s->probe);
    if (s->cluster)   /* claims nothing more */
        cluster_set_load(s->cluster, s->sched.running, s->sched.queued, 0);
    session_end_all(s, "the server is shutting down");
    fn_registry_drain(s);
    if (s->runner.pools && !s->pools_closing) {
        s->pools_closing = true;
        pools_close(s->runner.pools, on_pools_closed, s);
    }
    service_check_drained(s);
}

void service_cancel_all(struct service *s, const char *why)
{
    execution_cancel_all(s, why);
    fn_cancel_all(s, why);
}

/* ---- closing ---- */

/* Sandboxes whose results went out may still be cleaning up: the store and
 * the engine close once every one is gone. */
static void after_engine_idle(void *arg)
{
    struct service *s = arg;
    net_engine_stop(s->net);     /* every sandbox, so every box, is gone; it audits */
    s->net = NULL;
    store_close(s->store);       /* every result written before the node leaves */
    s->store = NULL;
    cluster_stop(s->cluster);
    s->cluster = NULL;
    cache_close(s->runner.cache);
    s->runner.cache = NULL;
    sbx_engine_close(&s->engine);
    s->engine_open = false;
    s->state = SERVICE_CLOSED;
    if (s->closed)
        s->closed(s->closed_arg);
}

void service_close(struct service *s, void (*closed)(void *), void *arg)
{
    s->closed = closed;
    s->closed_arg = arg;
    callbacks_shutdown(&s->callbacks);
    sbx_engine_idle(&s->engine, after_engine_idle, s);
}

void service_free(struct service *s)
{
    if (!s->loop)
        return;
    metrics_free(&s->metrics);
    auth_free(&s->auth);
    lang_probe_free(&s->probe);
    fn_registry_free(s);
    if (s->sessions_open)
        session_registry_close(s);
    s->sessions_open = false;
    if (s->registry_open)
        lang_registry_free(&s->registry);
    s->registry_open = false;
}
