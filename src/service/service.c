/* Service lifecycle: start everything in order, serve, and shut down gracefully on a signal. */
#include "service/service.h"

#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "common/log.h"
#include "common/util.h"
#include "service/execution.h"
#include "frontend/grpc/grpc.h"
#include "transport/h2.h"
#include "runner/pool.h"

/* Thousands of clients and sandboxes need thousands of descriptors. */
static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static bool is_loopback(const char *addr)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, addr, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, addr, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6);
    return false;
}

/* ---- shutdown ---- */

static void on_handle_closed(uv_handle_t *h)
{
    (void)h;
}

static void after_engine_idle(void *arg);

static void after_http_closed(void *arg)
{
    /* Sandboxes whose results went out may still be cleaning up. */
    struct server *s = arg;
    sbx_engine_idle(&s->engine, after_engine_idle, s);
}

static void after_engine_idle(void *arg)
{
    struct server *s = arg;
    store_close(s->store);
    s->store = NULL;
    cache_close(s->runner.cache);
    s->runner.cache = NULL;
    sbx_engine_close(&s->engine);
    uv_close((uv_handle_t *)&s->sigint, on_handle_closed);
    uv_close((uv_handle_t *)&s->sigterm, on_handle_closed);
    uv_close((uv_handle_t *)&s->grace, on_handle_closed);
    log_msg(LOG_INFO, "stopped");
}

static void after_grpc_closed(void *arg)
{
    struct server *s = arg;
    s->grpc = NULL;
    if (s->http)
        http_server_close(s->http, after_http_closed, s);
    else
        after_http_closed(s);
}

static void close_all(struct server *s)
{
    if (s->closed)
        return;
    s->closed = true;
    uv_timer_stop(&s->grace);
    callback_shutdown();
    if (s->grpc)
        h2_server_close(s->grpc, after_grpc_closed, s);
    else
        after_grpc_closed(s);
}

void server_execution_ended(struct server *s)
{
    if (s->stopping && s->ninflight == 0 && s->probes_running == 0 && !s->runner.pools)
        close_all(s);
}

static void on_pools_closed(void *arg)
{
    struct server *s = arg;
    s->runner.pools = NULL;
    server_execution_ended(s);
}

void server_language_usable(struct server *s, const struct lang *l)
{
    if (s->stopping || !s->runner.pools)
        return;
    struct sb_error err;
    if (pools_enable(s->runner.pools, l, &err) < 0)
        log_event(LOG_ERROR, "warm pool", json_pack("{s:s,s:s}", "language", l->name,
                                                    "error", err.msg));
}

static void on_grace_over(uv_timer_t *t)
{
    struct server *s = t->data;
    log_event(LOG_WARN, "shutdown grace period over",
              json_pack("{s:i}", "cancelling", (int)s->ninflight));
    execution_cancel_all(s, "cancelled: the server shut down before it finished");
    server_execution_ended(s);
}

static void on_signal(uv_signal_t *h, int sig)
{
    struct server *s = h->data;
    if (s->stopping) {
        /* A second signal: do not wait for the grace period. */
        on_grace_over(&s->grace);
        return;
    }
    s->stopping = true;
    log_event(LOG_INFO, "shutting down",
              json_pack("{s:s,s:i}", "signal", sig == SIGTERM ? "SIGTERM" : "SIGINT",
                        "in_flight", (int)s->ninflight));
    if (s->http)
        http_server_stop_accepting(s->http);
    if (s->grpc)
        h2_server_stop_accepting(s->grpc);
    if (s->runner.pools && !s->pools_closing) {
        s->pools_closing = true;
        pools_close(s->runner.pools, on_pools_closed, s);
    }
    uv_timer_start(&s->grace, on_grace_over, s->cfg->server.shutdown_grace_ms, 0);
    server_execution_ended(s);
}

/* ---- startup ---- */

static void noop_done(void *arg)
{
    (void)arg;
}

/* Start-up failed part way: close what was opened, in reverse, and let the
 * loop finish the closes, so the process exits with only its message. */
static void abort_start(struct server *s)
{
    s->stopping = true;
    if (s->grpc)
        h2_server_close(s->grpc, noop_done, NULL);
    s->grpc = NULL;
    if (s->http)
        http_server_close(s->http, noop_done, NULL);
    s->http = NULL;
    if (s->store)
        store_close(s->store);
    s->store = NULL;
    if (s->runner.pools)
        pools_close(s->runner.pools, noop_done, NULL);
    s->runner.pools = NULL;
    cache_close(s->runner.cache);
    s->runner.cache = NULL;
    if (s->registry_open) {
        lang_registry_set_global(NULL);
        lang_registry_free(&s->registry);
    }
    if (s->engine_open)
        sbx_engine_close(&s->engine);
    uv_run(s->loop, UV_RUN_DEFAULT);
    metrics_free(&s->metrics);
    auth_free(&s->auth);
    uv_loop_close(s->loop);
}

/* Both ports first: a port in use ends the start before anything else is set up. */
static int start_listening(struct server *s, struct sb_error *err)
{
    const struct sb_server_config *v = &s->cfg->server;
    struct http_server_cfg hc = {
        .max_header_bytes = v->max_header_kb * 1024, .max_body_bytes = v->max_body_kb * 1024,
        .header_timeout_ms = v->header_timeout_ms, .body_timeout_ms = v->body_timeout_ms,
        .idle_timeout_ms = v->idle_timeout_ms, .max_connections = (unsigned)v->max_connections,
        .max_connections_per_client = (unsigned)v->max_connections_per_client,
    };
    if (http_server_start(&s->http, s->loop, v->listen, (int)v->port, &hc, router_handle, s,
                          err) < 0)
        return -1;
    struct h2_server_cfg gc = {
        .max_header_bytes = v->max_header_kb * 1024, .idle_timeout_ms = v->idle_timeout_ms,
        .max_connections = (unsigned)v->max_connections,
        .max_connections_per_client = (unsigned)v->max_connections_per_client,
    };
    if (h2_server_start(&s->grpc, s->loop, v->listen, (int)v->grpc_port, &gc, &grpc_stream_ops,
                        s, err) < 0) {
        char why[sizeof err->msg];
        snprintf(why, sizeof why, "%s", err->msg);
        return sb_fail(err, err->code, "gRPC: %s", why);
    }
    return 0;
}

static int init(struct server *s, const struct sb_config *cfg, struct sb_error *err)
{
    const struct sb_server_config *v = &cfg->server;
    if (!is_loopback(v->listen) && !v->auth_enabled && !v->allow_unauthenticated_remote)
        return sb_fail(err, SB_E_CONFIG,
                       "refusing to serve %s without authentication: anyone who can reach it "
                       "could run code here. Enable server.auth (or SOULBOX_API_KEYS), or set "
                       "server.allow_unauthenticated_remote: true", v->listen);
    s->started_ms = util_now_ms();
    list_init(&s->inflight);
    metrics_init(&s->metrics);
    auth_init(&s->auth, v);
    if (start_listening(s, err) < 0)
        return -1;
    struct sbx_engine_cfg ecfg;
    runner_engine_cfg(cfg, &ecfg);
    if (sbx_engine_init(&s->engine, s->loop, &ecfg, err) < 0)
        return -1;
    s->engine_open = true;
    s->runner.engine = &s->engine;
    s->runner.cfg = cfg;
    if (lang_registry_open(cfg->languages_dir, cfg->languages.v, cfg->languages.n,
                           &s->registry, err) < 0)
        return -1;
    s->registry_open = true;
    lang_registry_set_global(&s->registry);
    if (cfg->compile_cache_mb &&
        cache_open(&s->runner.cache, s->loop, cfg->compile_cache_dir,
                   cfg->compile_cache_mb << 20, err) < 0)
        return -1;
    if (cfg->n_pools && cfg->pool_memory_mb &&
        pools_open(&s->runner.pools, &s->runner, err) < 0)
        return -1;
    int recovered = 0;
    if (store_open(&s->store, s->loop, v->data_dir, v->audit_log, &recovered, err) < 0)
        return -1;
    if (recovered)
        log_event(LOG_WARN, "marked interrupted executions internal_error",
                  json_pack("{s:i}", "count", recovered));
    sched_init(&s->sched, (unsigned)v->max_concurrent, (unsigned)v->max_queue);
    s->cbcfg.allow_private = v->callbacks_allow_private;
    s->cbcfg.timeout_ms = v->callback_timeout_ms;
    s->cbcfg.attempts = (unsigned)v->callback_attempts;
    uv_signal_init(s->loop, &s->sigint);
    uv_signal_init(s->loop, &s->sigterm);
    uv_timer_init(s->loop, &s->grace);
    s->sigint.data = s->sigterm.data = s->grace.data = s;
    uv_signal_start(&s->sigint, on_signal, SIGINT);
    uv_signal_start(&s->sigterm, on_signal, SIGTERM);
    return 0;
}

int server_run(const struct sb_config *cfg)
{
    static struct server s;
    struct sb_error err;
    log_set_level((enum log_level)log_parse_level(cfg->server.log_level));
    raise_nofile();
    s.cfg = cfg;
    s.loop = uv_default_loop();
    if (init(&s, cfg, &err) < 0) {
        abort_start(&s);
        fprintf(stderr, "soulbox: %s\n", err.msg);
        return 1;
    }
    const struct sb_server_config *v = &cfg->server;
    log_event(LOG_INFO, "listening",
              json_pack("{s:s,s:i,s:i,s:s,s:i,s:b}", "address", v->listen,
                        "port", http_server_port(s.http), "grpc_port",
                        h2_server_port(s.grpc), "data_dir", v->data_dir,
                        "languages", (int)lang_registry_global()->n, "auth", v->auth_enabled));
    languages_probe(&s);
    uv_run(s.loop, UV_RUN_DEFAULT);
    metrics_free(&s.metrics);
    auth_free(&s.auth);
    free(s.langs);
    lang_registry_set_global(NULL);
    lang_registry_free(&s.registry);
    uv_loop_close(s.loop);
    return s.exit_code;
}
