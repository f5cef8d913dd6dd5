/* Routing: the route table, auth and rate limits, and replies that are logged and counted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "common/util.h"
#include "service/service.h"

/* WEBSOCKET: like PROTECTED, but a request without any key may upgrade and
 * authenticate with its first message. */
enum access { PUBLIC, METRICS, PROTECTED, WEBSOCKET };

typedef void (*handler_fn)(struct server *, struct http_conn *, struct http_request *,
                           const char *key);

struct route {
    const char *method;
    const char *path;          /* "{id}" matches one non-empty segment */
    handler_fn fn;
    enum access access;
    bool json_body;
};

static const struct route routes[] = {
    {"GET", "/health", api_health, PUBLIC, false},
    {"GET", "/metrics", api_metrics, METRICS, false},
    {"GET", "/api/languages", api_languages, PROTECTED, false},
    {"POST", "/api/execute", api_execute, PROTECTED, true},
    {"POST", "/api/executions", api_submit, PROTECTED, true},
    {"GET", "/api/executions", api_list, PROTECTED, false},
    {"GET", "/api/executions/{id}", api_get, PROTECTED, false},
    {"GET", "/api/ws", api_ws, WEBSOCKET, false},
};

#define NROUTES (sizeof routes / sizeof *routes)

void router_print(void)
{
    for (size_t i = 0; i < NROUTES; i++)
        printf("%s %s\n", routes[i].method, routes[i].path);
}

static bool path_matches(const char *pattern, const char *path)
{
    const char *brace = strstr(pattern, "{");
    if (!brace)
        return !strcmp(pattern, path);
    size_t prefix = (size_t)(brace - pattern);
    if (strncmp(pattern, path, prefix))
        return false;
    const char *seg = path + prefix;
    return *seg && !strchr(seg, '/');
}

/* ---- replies ---- */

void router_log(struct server *s, struct http_request *req, const char *route, int status)
{
    metrics_http(&s->metrics, route, status);
    double ms = (double)(util_mono_ns() - req->t_start_ns) / 1e6;
    log_event(status >= 500 ? LOG_WARN : LOG_INFO, "request",
              json_pack("{s:s,s:s,s:s,s:i,s:f,s:s,s:s}", "request_id", req->request_id,
                        "method", req->method, "path", req->path ? req->path : "",
                        "status", status, "duration_ms", ms, "route", route,
                        "client", req->peer));
}

void reply_json(struct server *s, struct http_conn *c, struct http_request *req,
                const char *route, int status, json_t *body, const char *extra)
{
    char *text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(body);
    if (!text) {
        reply_error(s, c, req, route, SB_E_INTERNAL, "out of memory", NULL);
        return;
    }
    router_log(s, req, route, status);
    http_respond(c, status, "application/json", text, strlen(text), extra);
    free(text);
}

void reply_error(struct server *s, struct http_conn *c, struct http_request *req,
                 const char *route, enum sb_code code, const char *message, const char *extra)
{
    router_log(s, req, route, sb_code_http(code));
    http_respond_error(c, code, message, extra);
}

/* ---- the gate in front of every protected route ---- */

static void audit_event(struct server *s, struct http_request *req, const char *event,
                        const char *key_id, const char *detail)
{
    struct audit_record a = {
        .ts_ms = util_now_ms(), .event = event, .request_id = req->request_id,
        .key_id = key_id, .client = req->peer, .detail = detail,
    };
    store_audit(s->store, &a);
}

/* Returns 0 and the key id (NULL when auth is off), or -1 after replying. */
static int gate(struct server *s, struct http_conn *c, struct http_request *req,
                const struct route *r, const char **key)
{
    *key = NULL;
    bool needs_key = r->access == PROTECTED ||
                     (r->access == METRICS && !s->cfg->server.metrics_public) ||
                     (r->access == WEBSOCKET && auth_presented(req));
    if (!needs_key)
        return 0;
    const char *why;
    if (auth_check(&s->auth, req, key, &why) < 0) {
        metrics_rejected(&s->metrics, "unauthenticated");
        audit_event(s, req, "auth_failure", NULL, why);
        reply_error(s, c, req, r->path, SB_E_UNAUTHENTICATED, why,
                    "WWW-Authenticate: Bearer realm=\"soulbox\"\r\n");
        return -1;
    }
    unsigned retry;
    if (r->access == WEBSOCKET)
        return 0; /* each execute message is rate limited */
    if (auth_rate(&s->auth, *key ? *key : req->peer, util_now_ms(), &retry) < 0) {
        char extra[64], msg[96];
        snprintf(extra, sizeof extra, "Retry-After: %u\r\n", retry);
        snprintf(msg, sizeof msg, "rate limit exceeded; retry in %u s", retry);
        metrics_rejected(&s->metrics, "rate_limited");
        audit_event(s, req, "rate_limited", *key, msg);
        reply_error(s, c, req, r->path, SB_E_RATE_LIMITED, msg, extra);
        return -1;
    }
    return 0;
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

void router_handle(struct http_conn *c, struct http_request *req, void *arg)
{
    struct server *s = arg;
    const struct route *found = NULL;
    char allow[64] = "";
    bool method_ok;
    for (size_t i = 0; i < NROUTES; i++) {
        if (!path_matches(routes[i].path, req->path))
            continue;
        method_ok = !strcmp(routes[i].method, req->method) ||
                    (req->head && !strcmp(routes[i].method, "GET"));
        if (method_ok) {
            found = &routes[i];
            break;
        }
        size_t n = strlen(allow);
        snprintf(allow + n, sizeof allow - n, "%s%s", n ? ", " : "", routes[i].method);
    }
    if (!found && allow[0]) {
        char extra[96];
        snprintf(extra, sizeof extra, "Allow: %s\r\n", allow);
        reply_error(s, c, req, "other", SB_E_METHOD_NOT_ALLOWED, "method not allowed here", extra);
        return;
    }
    if (!found) {
        reply_error(s, c, req, "other", SB_E_NOT_FOUND, "no such endpoint", NULL);
        return;
    }
    if (http_header(req, "upgrade") && found->access != WEBSOCKET) {
        reply_error(s, c, req, found->path, SB_E_INVALID_ARGUMENT,
                    "protocol upgrade is not offered on this endpoint", NULL);
        return;
    }
    const char *key;
    if (gate(s, c, req, found, &key) < 0)
        return;
    if (found->json_body && !is_json(http_header(req, "content-type"))) {
        metrics_rejected(&s->metrics, "unsupported_media_type");
        reply_error(s, c, req, found->path, SB_E_UNSUPPORTED_MEDIA,
                    "Content-Type must be application/json", NULL);
        return;
    }
    found->fn(s, c, req, key);
}
