/* REST routing: the route table (nested paths with {params}), the gate in front of each route, and replies that are logged and counted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "common/util.h"
#include "frontend/e2b/e2b.h"
#include "frontend/judge0/judge0.h"
#include "frontend/piston/piston.h"
#include "frontend/rest/rest_internal.h"

/* Who may call a route. WEBSOCKET: like PROTECTED, but an upgrade without a
 * key may authenticate with its first message (each execute is rate limited). */
enum access { PUBLIC, METRICS, PROTECTED, WEBSOCKET };

struct route {
    const char *method;
    const char *path;          /* "{name}" matches one non-empty segment */
    rest_handler fn;
    enum access access;
    bool json_body;
    bool streams_body;         /* an upload: the handler spools it (http_body_spool) */
};

static const struct route routes[] = {
    {"GET", "/health", rest_health, PUBLIC, false},
    /* the web UI (server.ui): pages and assets are public, what they call is not */
    {"GET", "/", rest_ui, PUBLIC, false},
    {"GET", "/ui/sessions", rest_ui, PUBLIC, false},
    {"GET", "/ui/admin", rest_ui, PUBLIC, false},
    {"GET", "/ui/assets/app.js", rest_ui, PUBLIC, false},
    {"GET", "/ui/assets/app.css", rest_ui, PUBLIC, false},
    {"GET", "/metrics", rest_metrics, METRICS, false},
    {"GET", "/api/languages", rest_languages, PROTECTED, false},
    {"GET", "/api/cluster", rest_cluster, PROTECTED, false},
    {"POST", "/api/execute", rest_execute, PROTECTED, true},
    {"POST", "/api/executions", rest_submit, PROTECTED, true},
    {"GET", "/api/executions", rest_list, PROTECTED, false},
    {"GET", "/api/executions/{id}", rest_get, PROTECTED, false},
    {"GET", "/api/audit", rest_audit, PROTECTED, false},
    {"POST", "/api/shares", rest_share_create, PROTECTED, true},
    {"GET", "/api/shares/{id}", rest_share_get, PROTECTED, false},
    {"GET", "/api/ws", rest_ws, WEBSOCKET, false},
    {"GET", "/api/templates", rest_templates, PROTECTED, false},
    {"POST", "/api/functions", rest_fn_deploy, PROTECTED, true},
    {"GET", "/api/functions", rest_fn_list, PROTECTED, false},
    {"GET", "/api/functions/{name}", rest_fn_get, PROTECTED, false},
    {"DELETE", "/api/functions/{name}", rest_fn_delete, PROTECTED, false},
    {"GET", "/api/functions/{name}/versions", rest_fn_versions, PROTECTED, false},
    {"POST", "/api/functions/{name}/rollback", rest_fn_rollback, PROTECTED, false},
    {"PUT", "/api/functions/{name}/aliases/{alias}", rest_fn_alias_put, PROTECTED, true},
    {"DELETE", "/api/functions/{name}/aliases/{alias}", rest_fn_alias_delete, PROTECTED, false},
    {"GET", "/api/functions/{name}/logs", rest_fn_logs, PROTECTED, false},
    {"POST", "/api/functions/{name}/invocations", rest_fn_invoke_async, PROTECTED, false},
    {"GET", "/api/functions/{name}/invocations/{id}", rest_fn_invocation, PROTECTED, false},
    {"POST", "/api/sandboxes", rest_sandbox_create, PROTECTED, true},
    {"GET", "/api/sandboxes", rest_sandbox_list, PROTECTED, false},
    {"GET", "/api/sandboxes/{id}", rest_sandbox_get, PROTECTED, false},
    {"DELETE", "/api/sandboxes/{id}", rest_sandbox_delete, PROTECTED, false},
    {"POST", "/api/sandboxes/{id}/timeout", rest_sandbox_timeout, PROTECTED, true},
    {"POST", "/api/sandboxes/{id}/pause", rest_sandbox_pause, PROTECTED, false},
    {"POST", "/api/sandboxes/{id}/resume", rest_sandbox_resume, PROTECTED, false},
    {"POST", "/api/sandboxes/{id}/commands", rest_command_run, PROTECTED, true},
    {"GET", "/api/sandboxes/{id}/commands", rest_command_list, PROTECTED, false},
    {"GET", "/api/sandboxes/{id}/commands/{pid}", rest_command_get, PROTECTED, false},
    {"POST", "/api/sandboxes/{id}/commands/{pid}/stdin", rest_command_stdin, PROTECTED, true},
    {"POST", "/api/sandboxes/{id}/commands/{pid}/signal", rest_command_signal, PROTECTED, true},
    {"GET", "/api/sandboxes/{id}/files", rest_file_read, PROTECTED, false},
    {"PUT", "/api/sandboxes/{id}/files", rest_file_put, PROTECTED, false},
    {"POST", "/api/sandboxes/{id}/files", rest_file_upload, PROTECTED, false},
    {"DELETE", "/api/sandboxes/{id}/files", rest_file_remove, PROTECTED, false},
    {"GET", "/api/sandboxes/{id}/files/list", rest_file_list, PROTECTED, false},
    {"GET", "/api/sandboxes/{id}/files/stat", rest_file_stat, PROTECTED, false},
    {"GET", "/api/sandboxes/{id}/files/watch", rest_file_watch, PROTECTED, false},
    {"POST", "/api/sandboxes/{id}/files/mkdir", rest_file_mkdir, PROTECTED, true},
    {"POST", "/api/sandboxes/{id}/files/move", rest_file_move, PROTECTED, true},
    {"POST", "/api/sandboxes/{id}/contexts", rest_context_create, PROTECTED, true},
    {"GET", "/api/sandboxes/{id}/contexts", rest_context_list, PROTECTED, false},
    {"DELETE", "/api/sandboxes/{id}/contexts/{ctx}", rest_context_delete, PROTECTED, false},
    {"POST", "/api/sandboxes/{id}/contexts/{ctx}/restart", rest_context_restart, PROTECTED,
     false},
    {"POST", "/api/sandboxes/{id}/contexts/{ctx}/interrupt", rest_context_interrupt, PROTECTED,
     false},
    {"POST", "/api/sandboxes/{id}/execute", rest_cell_execute, PROTECTED, true},
    /* Piston v2 (compat.piston): bodies are JSON whatever their Content-Type */
    {"GET", "/api/v2/runtimes", piston_runtimes, PROTECTED, false},
    {"POST", "/api/v2/execute", piston_execute, PROTECTED, false},
    {"GET", "/api/v2/connect", piston_connect, WEBSOCKET, false},
    {"GET", "/api/v2/packages", piston_packages, PROTECTED, false},
    {"POST", "/api/v2/packages", piston_packages_change, PROTECTED, false},
    {"DELETE", "/api/v2/packages", piston_packages_change, PROTECTED, false},
    /* E2B's control plane (compat.e2b); its sandbox calls are routed by header */
    {"POST", "/v2/sandboxes", e2b_create, PROTECTED, false},
    {"GET", "/v2/sandboxes", e2b_list, PROTECTED, false},
    {"POST", "/v2/sandboxes/{id}/connect", e2b_connect, PROTECTED, false},
    {"POST", "/sandboxes/{id}/connect", e2b_connect, PROTECTED, false},
    {"GET", "/sandboxes", e2b_list, PROTECTED, false},
    {"GET", "/sandboxes/{id}", e2b_get, PROTECTED, false},
    {"DELETE", "/sandboxes/{id}", e2b_kill, PROTECTED, false},
    {"POST", "/sandboxes/{id}/timeout", e2b_timeout, PROTECTED, false},
    {"POST", "/sandboxes/{id}/pause", e2b_pause, PROTECTED, false},
    /* Judge0 CE 1.13.x (compat.judge0): its own gate (X-Auth-Token, empty 401/403) */
    {"POST", "/submissions", judge0_create, PUBLIC, false},
    {"GET", "/submissions", judge0_list, PUBLIC, false},
    {"POST", "/submissions/batch", judge0_batch_create, PUBLIC, false},
    {"GET", "/submissions/batch", judge0_batch_show, PUBLIC, false},
    {"GET", "/submissions/{token}", judge0_show, PUBLIC, false},
    {"DELETE", "/submissions/{token}", judge0_delete, PUBLIC, false},
    {"GET", "/languages", judge0_languages, PUBLIC, false},
    {"GET", "/languages/all", judge0_languages_all, PUBLIC, false},
    {"GET", "/languages/{id}", judge0_language, PUBLIC, false},
    {"GET", "/statuses", judge0_statuses, PUBLIC, false},
    {"GET", "/about", judge0_about, PUBLIC, false},
    {"GET", "/version", judge0_version, PUBLIC, false},
    {"GET", "/isolate", judge0_isolate, PUBLIC, false},
    {"GET", "/license", judge0_license, PUBLIC, false},
    {"GET", "/config_info", judge0_config_info, PUBLIC, false},
    {"GET", "/system_info", judge0_system_info, PUBLIC, false},
    {"GET", "/statistics", judge0_statistics, PUBLIC, false},
    {"GET", "/workers", judge0_workers, PUBLIC, false},
    {"POST", "/authenticate", judge0_authenticate, PUBLIC, false},
    {"POST", "/authorize", judge0_authorize, PUBLIC, false},
};

#define NROUTES (sizeof routes / sizeof *routes)

void rest_print_routes(void)
{
    for (size_t i = 0; i < NROUTES; i++)
        printf("%s %s\n", routes[i].method, routes[i].path);
    /* /fn/{name}[/...] takes every method (rest_fn_invoke); the spec lists these */
    static const char *const fn_methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};
    for (size_t i = 0; i < sizeof fn_methods / sizeof *fn_methods; i++)
        printf("%s /fn/{name}\n%s /fn/{name}/{path}\n", fn_methods[i], fn_methods[i]);
}

/* Matches path against pattern segment by segment; {name} segments are
 * captured (in order) into rc. */
static bool path_matches(const char *pattern, const char *path, struct rest_call *rc)
{
    size_t n = 0;
    while (*pattern && *path) {
        if (*pattern != '/' || *path != '/')
            return false;
        pattern++, path++;
        size_t plen = strcspn(pattern, "/"), slen = strcspn(path, "/");
        if (*pattern == '{') {
            if (slen == 0 || slen >= sizeof rc->param_buf[0] || n == REST_MAX_PARAMS)
                return false;
            memcpy(rc->param_buf[n], path, slen);
            rc->param_buf[n][slen] = '\0';
            rc->params[n] = rc->param_buf[n];
            n++;
        } else if (plen != slen || strncmp(pattern, path, plen)) {
            return false;
        }
        pattern += plen, path += slen;
    }
    if (*pattern || *path)
        return false;
    rc->nparams = n;
    return true;
}

/* ---- replies ---- */

void rest_log(struct rest_call *rc, int status)
{
    struct http_request *req = rc->req;
    metrics_http(&rc->rest->svc->metrics, rc->route, status);
    double ms = (double)(util_mono_ns() - req->t_start_ns) / 1e6;
    log_event(status >= 500 ? LOG_WARN : LOG_INFO, "request",
              json_pack("{s:s,s:s,s:s,s:i,s:f,s:s,s:s}", "request_id", req->request_id,
                        "method", req->method, "path", req->path ? req->path : "",
                        "status", status, "duration_ms", ms, "route", rc->route,
                        "client", req->peer));
}

void rest_reply_json(struct rest_call *rc, int status, json_t *body, const char *extra)
{
    rest_reply_json_as(rc, status, body, "application/json", extra);
}

void rest_reply_json_as(struct rest_call *rc, int status, json_t *body, const char *content_type,
                        const char *extra)
{
    char *text = body ? json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(body);
    if (!text) {
        rest_reply_error(rc, SB_E_INTERNAL, "out of memory", NULL);
        return;
    }
    rest_log(rc, status);
    http_respond(rc->c, status, content_type, text, strlen(text), extra);
    free(text);
}

void rest_reply_error(struct rest_call *rc, enum sb_code code, const char *message,
                      const char *extra)
{
    rest_log(rc, sb_code_http(code));
    http_respond_error(rc->c, code, message, extra);
}

void rest_reply_refusal(struct rest_call *rc, const struct refusal *r)
{
    char extra[96] = "";
    if (r->retry_after)
        snprintf(extra, sizeof extra, "Retry-After: %u\r\n", r->retry_after);
    if (r->err.code == SB_E_UNAUTHENTICATED)
        snprintf(extra, sizeof extra, "WWW-Authenticate: Bearer realm=\"soulbox\"\r\n");
    rest_reply_error(rc, r->err.code, r->err.msg, extra[0] ? extra : NULL);
}

ssize_t rest_sse_send(struct http_conn *c, const char *type, json_t *ev)
{
    char *data = ev ? json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    struct sb_buf b = {0};
    if (data) /* type may point into ev: it goes after */
        sb_buf_printf(&b, "event: %s\ndata: %s\n\n", type, data);
    json_decref(ev);
    if (!data)
        return -1;
    free(data);
    ssize_t queued = b.oom ? -1 : http_stream_write(c, b.data, b.len);
    sb_buf_free(&b);
    return queued;
}

struct rest_call *rest_call_keep(struct rest_call *rc)
{
    struct rest_call *k = malloc(sizeof *k);
    if (!k) {
        rest_reply_error(rc, SB_E_INTERNAL, "out of memory", NULL);
        return NULL;
    }
    *k = *rc;
    for (size_t i = 0; i < k->nparams; i++)
        k->params[i] = k->param_buf[i];
    return k;
}

/* ---- the gate in front of every protected route ---- */

/* The key a request presents: Authorization: Bearer KEY or X-API-Key.
 * Returns it ("" if none), or NULL with why if malformed. */
static const char *presented_key(const struct http_request *req, const char **why)
{
    const char *key = http_header(req, "x-api-key");
    const char *h = http_header(req, "authorization");
    if (!key && h) {
        if (strncasecmp(h, "Bearer ", 7)) {
            *why = "Authorization must be \"Bearer <key>\"";
            return NULL;
        }
        for (key = h + 7; *key == ' ';)
            key++;
    }
    return key ? key : "";
}

/* Returns 0 with rc->who filled, or -1 after replying. */
static int gate(struct rest_call *rc, const struct route *r)
{
    struct service *s = rc->rest->svc;
    struct refusal ref;
    bool presented = http_header(rc->req, "x-api-key") || http_header(rc->req, "authorization");
    bool needs_key = r->access == PROTECTED ||
                     (r->access == METRICS && !s->cfg->server.metrics_public) ||
                     (r->access == WEBSOCKET && presented);
    if (!needs_key)
        return 0;
    const char *why = NULL;
    const char *key = presented_key(rc->req, &why);
    if (!key) {
        struct sb_error e;
        sb_fail(&e, SB_E_UNAUTHENTICATED, "%s", why);
        gate_refuse(s, &rc->who, REFUSE_UNAUTHENTICATED, &e, &ref);
        rest_reply_refusal(rc, &ref);
        return -1;
    }
    int rc2 = r->access == WEBSOCKET ? gate_authenticate(s, &rc->who, key, &ref)
                                     : gate_enter(s, &rc->who, key, &ref);
    if (rc2 == 0 && rc->who.has_key && http_conn_set_owner(rc->c, rc->who.key_id) < 0)
        rc2 = gate_refuse_connections(s, &rc->who, &ref);
    if (rc2 < 0) {
        rest_reply_refusal(rc, &ref);
        return -1;
    }
    return 0;
}

int rest_gate_key(struct rest_call *rc)
{
    static const struct route protected_route = {"", "", NULL, PROTECTED, false, false};
    return gate(rc, &protected_route);
}

static bool is_json(const char *ct)
{
    if (!ct)
        return false;
    while (*ct == ' ')
        ct++;
    size_t n = strcspn(ct, "; ");
    return n == 16 && !strncasecmp(ct, "application/json", 16);
}

/* The route for req (filling rc's params), or NULL with allow[] listing the
 * methods the path has. */
static const struct route *find_route(struct rest_call *rc, char *allow, size_t len)
{
    allow[0] = '\0';
    for (size_t i = 0; i < NROUTES; i++) {
        if (!path_matches(routes[i].path, rc->req->path, rc))
            continue;
        if (!strcmp(routes[i].method, rc->req->method) ||
            (rc->req->head && !strcmp(routes[i].method, "GET")))
            return &routes[i];
        size_t n = strlen(allow);
        snprintf(allow + n, len - n, "%s%s", n ? ", " : "", routes[i].method);
    }
    return NULL;
}

bool rest_streams_body(const struct http_request *req, void *arg)
{
    (void)arg;
    struct rest_call scratch = {.req = (struct http_request *)req};
    char allow[64];
    const struct route *r = find_route(&scratch, allow, sizeof allow);
    return r && r->streams_body;
}

void rest_handle(struct http_conn *c, struct http_request *req, void *arg)
{
    struct rest_call rc = {.rest = arg, .c = c, .req = req, .route = "other"};
    snprintf(rc.who.request_id, sizeof rc.who.request_id, "%s", req->request_id);
    snprintf(rc.who.client, sizeof rc.who.client, "%s", req->peer);
    rc.who.frontend = "rest";
    if (e2b_envd_claims(&rc))
        return;
    if (!strcmp(req->method, "OPTIONS") && judge0_preflight(&rc))
        return;
    if (!strncmp(req->path, "/fn/", 4)) {
        rest_fn_invoke(&rc);
        return;
    }
    char allow[64];
    const struct route *found = find_route(&rc, allow, sizeof allow);
    if (!found && piston_claims_unknown(&rc))
        return;
    if (!found && allow[0]) {
        char extra[96];
        snprintf(extra, sizeof extra, "Allow: %s\r\n", allow);
        rest_reply_error(&rc, SB_E_METHOD_NOT_ALLOWED, "method not allowed here", extra);
        return;
    }
    if (!found) {
        rest_reply_error(&rc, SB_E_NOT_FOUND, "no such endpoint", NULL);
        return;
    }
    rc.route = found->path;
    if (http_header(req, "upgrade") && found->access != WEBSOCKET) {
        rest_reply_error(&rc, SB_E_INVALID_ARGUMENT,
                         "protocol upgrade is not offered on this endpoint", NULL);
        return;
    }
    if (gate(&rc, found) < 0)
        return;
    if (found->json_body && !is_json(http_header(req, "content-type"))) {
        struct refusal ref;
        struct sb_error e;
        sb_fail(&e, SB_E_UNSUPPORTED_MEDIA, "Content-Type must be application/json");
        gate_refuse(rc.rest->svc, &rc.who, REFUSE_UNSUPPORTED_MEDIA, &e, &ref);
        rest_reply_refusal(&rc, &ref);
        return;
    }
    if (rest_forward(&rc, found->fn))
        return;
    found->fn(&rc);
}
