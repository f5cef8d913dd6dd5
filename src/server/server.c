/* The composition of `soulbox serve`: listeners and front ends over the service core, signals, an orderly start and stop. */
#include "server/server.h"

#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "common/log.h"
#include "frontend/grpc/grpc.h"
#include "frontend/rest/rest.h"
#include "service/service.h"
#include "transport/h2.h"
#include "transport/http.h"

struct server {
    uv_loop_t *loop;
    const struct sb_config *cfg;
    struct service svc;
    struct rest rest;
    struct http_server *http;
    struct h2_server *grpc;
    uv_signal_t sigint, sigterm;
    uv_timer_t grace;
    bool stopping, closing;
};

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

static void noop_done(void *arg)
{
    (void)arg;
}

static void on_handle_closed(uv_handle_t *h)
{
    (void)h;
}

/* ---- stopping: listeners stop, executions drain (or are cancelled after
 * the grace period), the front ends close, then the core ---- */

static void after_service_closed(void *arg)
{
    struct server *s = arg;
    uv_close((uv_handle_t *)&s->sigint, on_handle_closed);
    uv_close((uv_handle_t *)&s->sigterm, on_handle_closed);
    uv_close((uv_handle_t *)&s->grace, on_handle_closed);
    log_msg(LOG_INFO, "stopped");
}

static void after_http_closed(void *arg)
{
    struct server *s = arg;
    s->http = NULL;
    service_close(&s->svc, after_service_closed, s);
}

static void after_grpc_closed(void *arg)
{
    struct server *s = arg;
    s->grpc = NULL;
    http_server_close(s->http, after_http_closed, s);
}

static void on_drained(void *arg)
{
    struct server *s = arg;
    if (s->closing)
        return;
    s->closing = true;
    uv_timer_stop(&s->grace);
    h2_server_close(s->grpc, after_grpc_closed, s);
}

static void on_grace_over(uv_timer_t *t)
{
    struct server *s = t->data;
    log_event(LOG_WARN, "shutdown grace period over",
              json_pack("{s:i}", "cancelling", (int)s->svc.ninflight));
    service_cancel_all(&s->svc, "cancelled: the server shut down before it finished");
}

static void on_signal(uv_signal_t *h, int sig)
{
    struct server *s = h->data;
    if (s->stopping) { /* a second signal: do not wait for the grace period */
        on_grace_over(&s->grace);
        return;
    }
    s->stopping = true;
    log_event(LOG_INFO, "shutting down",
              json_pack("{s:s,s:i}", "signal", sig == SIGTERM ? "SIGTERM" : "SIGINT",
                        "in_flight", (int)s->svc.ninflight));
    http_server_stop_accepting(s->http);
    h2_server_stop_accepting(s->grpc);
    uv_timer_start(&s->grace, on_grace_over, s->cfg->server.shutdown_grace_ms, 0);
    service_drain(&s->svc, on_drained, s);
}

/* ---- starting ---- */

/* Both ports first: a port in use ends the start before anything else is set up. */
static int start_listening(struct server *s, struct sb_error *err)
{
    const struct sb_server_config *v = &s->cfg->server;
    struct http_server_cfg hc = {
        .max_header_bytes = v->max_header_kb * 1024, .max_body_bytes = v->max_body_kb * 1024,
        .header_timeout_ms = v->header_timeout_ms, .body_timeout_ms = v->body_timeout_ms,
        .idle_timeout_ms = v->idle_timeout_ms, .max_connections = (unsigned)v->max_connections,
        .max_connections_per_client = (unsigned)v->max_connections_per_client,
        .streams_body = rest_streams_body, .spool_dir = v->data_dir,
    };
    if (http_server_start(&s->http, s->loop, v->listen, (int)v->port, &hc, rest_handle,
                          &s->rest, err) < 0)
        return -1;
    s->rest.http = s->http;
    struct h2_server_cfg gc = {
        .max_header_bytes = v->max_header_kb * 1024, .idle_timeout_ms = v->idle_timeout_ms,
        .max_connections = (unsigned)v->max_connections,
        .max_connections_per_client = (unsigned)v->max_connections_per_client,
    };
    if (h2_server_start(&s->grpc, s->loop, v->listen, (int)v->grpc_port, &gc, &grpc_stream_ops,
                        &s->svc, err) < 0) {
        char why[sizeof err->msg];
        snprintf(why, sizeof why, "%s", err->msg);
        return sb_fail(err, err->code, "gRPC: %s", why);
    }
    return 0;
}

static int start(struct server *s, struct sb_error *err)
{
    const struct sb_server_config *v = &s->cfg->server;
    if (!is_loopback(v->listen) && !v->auth_enabled && !v->allow_unauthenticated_remote)
        return sb_fail(err, SB_E_CONFIG,
                       "refusing to serve %s without authentication: anyone who can reach it "
                       "could run code here. Enable server.auth (or SOULBOX_API_KEYS), or set "
                       "server.allow_unauthenticated_remote: true (or "
                       "SOULBOX_ALLOW_UNAUTHENTICATED_REMOTE=true)", v->listen);
    s->rest.svc = &s->svc;
    if (start_listening(s, err) < 0 || service_open(&s->svc, s->loop, s->cfg, err) < 0)
        return -1;
    uv_signal_init(s->loop, &s->sigint);
    uv_signal_init(s->loop, &s->sigterm);
    uv_timer_init(s->loop, &s->grace);
    s->sigint.data = s->sigterm.data = s->grace.data = s;
    uv_signal_start(&s->sigint, on_signal, SIGINT);
    uv_signal_start(&s->sigterm, on_signal, SIGTERM);
    return 0;
}

/* Start-up failed part way: close what was opened, and let the loop finish
 * the closes, so the process exits with only its message. */
static void abort_start(struct server *s)
{
    if (s->grpc)
        h2_server_close(s->grpc, noop_done, NULL);
    if (s->http)
        http_server_close(s->http, noop_done, NULL);
    service_abort(&s->svc);
    uv_run(s->loop, UV_RUN_DEFAULT); /* the listeners' closes */
    service_free(&s->svc);
    uv_loop_close(s->loop);
}

int server_run(const struct sb_config *cfg)
{
    static struct server s;
    struct sb_error err;
    log_set_level((enum log_level)log_parse_level(cfg->server.log_level));
    raise_nofile();
    s.cfg = cfg;
    s.loop = uv_default_loop();
    if (start(&s, &err) < 0) {
        abort_start(&s);
        fprintf(stderr, "soulbox: %s\n", err.msg);
        return 1;
    }
    const struct sb_server_config *v = &cfg->server;
    char url[160], grpc[160];
    const char *fmt = strchr(v->listen, ':') ? "%s[%s]:%d" : "%s%s:%d";
    snprintf(url, sizeof url, fmt, "http://", v->listen, http_server_port(s.http));
    snprintf(grpc, sizeof grpc, fmt, "", v->listen, h2_server_port(s.grpc));
    log_event(LOG_INFO, "listening",
              json_pack("{s:s,s:s,s:s,s:i,s:i,s:s,s:i,s:b}", "url", url, "grpc", grpc,
                        "address", v->listen,
                        "port", http_server_port(s.http), "grpc_port", h2_server_port(s.grpc),
                        "data_dir", v->data_dir, "languages", (int)s.svc.registry.n,
                        "auth", v->auth_enabled));
    service_start(&s.svc);
    uv_run(s.loop, UV_RUN_DEFAULT);
    service_free(&s.svc);
    uv_loop_close(s.loop);
    return 0;
}

void server_print_routes(void)
{
    rest_print_routes();
}
