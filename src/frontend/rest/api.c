/* REST handlers: execute (sync and async), executions, health, languages, metrics. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "runner/cache.h"
#include "frontend/events.h"
#include "service/execution.h"
#include "service/service.h"

#define VERSION "0.1.0"

/* A request waiting on something asynchronous (an execution, the store). */
struct pending {
    struct server *s;
    struct http_conn *c;
    struct http_request *req;
    struct execution *ex;
    const char *route;
    /* Server-Sent Events */
    struct text_carry carry;
    bool paused;
};

static struct pending *pending_new(struct server *s, struct http_conn *c,
                                   struct http_request *req, const char *route)
{
    struct pending *p = calloc(1, sizeof *p);
    if (p) {
        p->s = s;
        p->c = c;
        p->req = req;
        p->route = route;
    }
    return p;
}

/* ---- shared request decoding ---- */

static int decode(struct server *s, struct http_conn *c, struct http_request *req,
                  const char *route, enum req_kind kind, struct exec_req *out)
{
    struct sb_error err;
    if (exec_req_parse(req->body.data, req->body.len, s->cfg, kind, out, &err) < 0) {
        metrics_rejected(&s->metrics, err.code == SB_E_LIMIT_EXCEEDS_MAX ? "limit_exceeds_max"
                                                                          : "invalid_request");
        reply_error(s, c, req, route, err.code, err.msg, NULL);
        return -1;
    }
    if (languages_check(s, out->lang, &err) < 0) {
        exec_req_free(out);
        reply_error(s, c, req, route, err.code, err.msg, NULL);
        return -1;
    }
    return 0;
}

static void refused(struct server *s, struct http_conn *c, struct http_request *req,
                    const char *route, const struct sb_error *err)
{
    metrics_rejected(&s->metrics, s->stopping ? "shutting_down" : "queue_full");
    reply_error(s, c, req, route, err->code, err->msg,
                err->code == SB_E_UNAVAILABLE ? "Retry-After: 1\r\n" : NULL);
}

/* ---- POST /api/execute ---- */

static void sync_abort(void *arg)
{
    struct pending *p = arg;
    if (p->ex)
        execution_cancel(p->ex, "cancelled: the client disconnected");
}

static void sync_persisted(struct execution *ex, int rc, const struct sb_error *err, void *arg)
{
    (void)ex;
    struct pending *p = arg;
    if (rc == 0)
        return;
    char msg[600];
    snprintf(msg, sizeof msg, "cannot record the execution: %s", err->msg);
    reply_error(p->s, p->c, p->req, p->route, SB_E_UNAVAILABLE, msg, "Retry-After: 5\r\n");
    free(p);
}

static void sync_finished(struct execution *ex, void *arg)
{
    struct pending *p = arg;
    json_t *res = execution_result(ex);
    if (execution_engine_failed(ex)) {
        const char *m = json_string_value(json_object_get(res, "message"));
        reply_error(p->s, p->c, p->req, p->route, SB_E_SANDBOX_SETUP, m ? m : "sandbox failed", NULL);
    } else {
        reply_json(p->s, p->c, p->req, p->route, 200, json_deep_copy(res), NULL);
    }
    free(p);
}

/* Decodes the body and creates the execution with hooks whose arg is the
 * pending request. Returns it, or NULL after replying. */
static struct pending *submit(struct server *s, struct http_conn *c, struct http_request *req,
                              const char *key, const char *route, enum req_kind kind,
                              struct exec_hooks hooks)
{
    struct exec_req er;
    if (decode(s, c, req, route, kind, &er) < 0)
        return NULL;
    struct pending *p = pending_new(s, c, req, route);
    if (!p) {
        exec_req_free(&er);
        reply_error(s, c, req, route, SB_E_INTERNAL, "out of memory", NULL);
        return NULL;
    }
    struct exec_meta meta = {req->request_id, req->peer, key};
    struct sb_error err;
    hooks.arg = p;
    p->ex = execution_create(s, &er, kind, &meta, &hooks, &err);
    if (!p->ex) {
        free(p);
        refused(s, c, req, route, &err);
        return NULL;
    }
    return p;
}

/* ---- POST /api/execute with Accept: text/event-stream ---- */

/* Output queued for a slow SSE client: pause the program above, resume below. */
#define SSE_PAUSE_MARK (256u << 10)
#define SSE_RESUME_MARK (64u << 10)

static void sse_send(struct pending *p, json_t *ev)
{
    if (!ev)
        return;
    const char *type = json_string_value(json_object_get(ev, "type"));
    char *data = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (data) {
        struct sb_buf b = {0};
        sb_buf_printf(&b, "event: %s\ndata: %s\n\n", type, data);
        ssize_t queued = b.oom ? -1 : http_stream_write(p->c, b.data, b.len);
        if (queued > (ssize_t)SSE_PAUSE_MARK && !p->paused && p->ex) {
            p->paused = true;
            execution_output_pause(p->ex, true);
        }
        sb_buf_free(&b);
    }
    free(data);
    json_decref(ev);
}

static void sse_drain(void *arg)
{
    struct pending *p = arg;
    if (p->paused && p->ex) {
        p->paused = false;
        execution_output_pause(p->ex, false);
    }
}

static void sse_persisted(struct execution *ex, int rc, const struct sb_error *err, void *arg)
{
    struct pending *p = arg;
    if (rc < 0)
        return sync_persisted(ex, rc, err, arg);
    http_stream_start(p->c, 200, "text/event-stream", "Cache-Control: no-store\r\n");
    http_conn_on_drain(p->c, sse_drain, p);
    sse_send(p, event_started(execution_id(ex)));
}

static void sse_output(struct execution *ex, int stream, const char *data, size_t len, void *arg)
{
    (void)ex;
    struct pending *p = arg;
    sse_send(p, event_output(&p->carry, stream, data, len));
}

static void sse_finished(struct execution *ex, void *arg)
{
    struct pending *p = arg;
    p->ex = NULL;
    sse_send(p, event_output_flush(&p->carry, 1));
    sse_send(p, event_output_flush(&p->carry, 2));
    sse_send(p, event_exit(execution_result(ex)));
    router_log(p->s, p->req, p->route, 200);
    http_stream_end(p->c);
    free(p);
}

static bool wants_events(const struct http_request *req)
{
    const char *accept = http_header(req, "accept");
    return accept && strstr(accept, "text/event-stream");
}

void api_execute(struct server *s, struct http_conn *c, struct http_request *req, const char *key)
{
    struct exec_hooks hooks = {.persisted = sync_persisted, .finished = sync_finished};
    enum req_kind kind = REQ_SYNC;
    if (wants_events(req)) {
        hooks = (struct exec_hooks){.persisted = sse_persisted, .finished = sse_finished,
                                    .output = sse_output};
        kind = REQ_STREAM;
    }
    struct pending *p = submit(s, c, req, key, "/api/execute", kind, hooks);
    if (p)
        http_conn_on_abort(c, sync_abort, p);
}

/* ---- POST /api/executions ---- */

static void async_persisted(struct execution *ex, int rc, const struct sb_error *err, void *arg)
{
    struct pending *p = arg;
    if (rc < 0) {
        char msg[600];
        snprintf(msg, sizeof msg, "cannot record the execution: %s", err->msg);
        reply_error(p->s, p->c, p->req, p->route, SB_E_UNAVAILABLE, msg, "Retry-After: 5\r\n");
    } else {
        char loc[96];
        snprintf(loc, sizeof loc, "Location: /api/executions/%s\r\n", execution_id(ex));
        reply_json(p->s, p->c, p->req, p->route, 202,
                   json_pack("{s:s,s:s}", "id", execution_id(ex), "status", "queued"), loc);
        execution_detach(ex);
    }
    free(p);
}

void api_submit(struct server *s, struct http_conn *c, struct http_request *req, const char *key)
{
    struct exec_hooks hooks = {.persisted = async_persisted};
    submit(s, c, req, key, "/api/executions", REQ_ASYNC, hooks);
}

/* ---- GET /api/executions[/{id}] ---- */

static void on_stored(void *arg, int rc, const struct sb_error *err, json_t *data)
{
    struct pending *p = arg;
    if (rc < 0)
        reply_error(p->s, p->c, p->req, p->route, SB_E_UNAVAILABLE, err->msg, "Retry-After: 5\r\n");
    else if (!data)
        reply_error(p->s, p->c, p->req, p->route, SB_E_NOT_FOUND, "no such execution", NULL);
    else
        reply_json(p->s, p->c, p->req, p->route, 200, data, NULL), data = NULL;
    json_decref(data);
    free(p);
}

static bool uuid_ok(const char *s)
{
    if (strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return false;
    }
    return true;
}

void api_get(struct server *s, struct http_conn *c, struct http_request *req, const char *key)
{
    (void)key;
    const char *route = "/api/executions/{id}";
    const char *id = req->path + strlen("/api/executions/");
    if (!uuid_ok(id)) {
        reply_error(s, c, req, route, SB_E_NOT_FOUND, "no such execution", NULL);
        return;
    }
    struct execution *ex = execution_find(s, id);
    if (ex) {
        reply_json(s, c, req, route, 200, execution_view(ex), NULL);
        return;
    }
    struct pending *p = pending_new(s, c, req, route);
    if (!p) {
        reply_error(s, c, req, route, SB_E_INTERNAL, "out of memory", NULL);
        return;
    }
    store_exec_get(s->store, id, on_stored, p);
}

/* Value of query parameter `name` (no percent-encoding is needed for ours). */
static const char *query_param(const char *query, const char *name, char *buf, size_t len)
{
    size_t n = strlen(name);
    for (const char *q = query; q && *q;) {
        const char *amp = strchr(q, '&');
        size_t seg = amp ? (size_t)(amp - q) : strlen(q);
        if (seg > n && !strncmp(q, name, n) && q[n] == '=') {
            snprintf(buf, len, "%.*s", (int)(seg - n - 1), q + n + 1);
            return buf;
        }
        q = amp ? amp + 1 : NULL;
    }
    return NULL;
}

static int parse_uint(const char *s, uint64_t max, uint64_t *out)
{
    if (!*s || strlen(s) > 19)
        return -1;
    uint64_t v = 0;
    for (; *s; s++) {
        if (!isdigit((unsigned char)*s))
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    if (v > max)
        return -1;
    *out = v;
    return 0;
}

void api_list(struct server *s, struct http_conn *c, struct http_request *req, const char *key)
{
    (void)key;
    const char *route = "/api/executions";
    char buf[64];
    uint64_t limit = 20, cursor = 0;
    const char *v = query_param(req->query, "limit", buf, sizeof buf);
    if (v && (parse_uint(v, 100, &limit) < 0 || limit == 0)) {
        reply_error(s, c, req, route, SB_E_INVALID_ARGUMENT, "limit: an integer from 1 to 100",
                    NULL);
        return;
    }
    v = query_param(req->query, "cursor", buf, sizeof buf);
    if (v && (parse_uint(v, INT64_MAX, &cursor) < 0 || cursor == 0)) {
        reply_error(s, c, req, route, SB_E_INVALID_ARGUMENT,
                    "cursor: use next_cursor from the previous page", NULL);
        return;
    }
    struct pending *p = pending_new(s, c, req, route);
    if (!p) {
        reply_error(s, c, req, route, SB_E_INTERNAL, "out of memory", NULL);
        return;
    }
    store_exec_list(s->store, (unsigned)limit, cursor, on_stored, p);
}

/* ---- info ---- */

void api_health(struct server *s, struct http_conn *c, struct http_request *req, const char *key)
{
    (void)key;
    json_t *o = json_pack("{s:s,s:s,s:I,s:i,s:i,s:i,s:s,s:b}", "status",
                          s->stopping ? "stopping" : "ok", "version", VERSION, "uptime_s",
                          (json_int_t)((util_now_ms() - s->started_ms) / 1000),
                          "active_sandboxes", (int)s->engine.active,
                          "running", (int)s->sched.running, "queued", (int)s->sched.queued,
                          "cgroup", s->engine.cg.version == CG_V2 ? "v2" : "v1",
                          "languages_ready", s->langs_ready);
    reply_json(s, c, req, "/health", s->stopping ? 503 : 200, o, NULL);
}

void api_languages(struct server *s, struct http_conn *c, struct http_request *req,
                   const char *key)
{
    (void)key;
    reply_json(s, c, req, "/api/languages", 200, languages_json(s), NULL);
}

void api_metrics(struct server *s, struct http_conn *c, struct http_request *req, const char *key)
{
    (void)key;
    struct sb_buf b = {0};
    struct metrics_gauges g = {
        .active_sandboxes = s->engine.active, .queue_depth = s->sched.queued,
        .connections = http_server_connections(s->http),
        .uptime_seconds = (double)(util_now_ms() - s->started_ms) / 1000.0,
    };
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
    if (metrics_render(&s->metrics, &g, &b) < 0) {
        sb_buf_free(&b);
        reply_error(s, c, req, "/metrics", SB_E_INTERNAL, "out of memory", NULL);
        return;
    }
    http_respond(c, 200, "text/plain; version=0.0.4; charset=utf-8", b.data, b.len, NULL);
    sb_buf_free(&b);
}
