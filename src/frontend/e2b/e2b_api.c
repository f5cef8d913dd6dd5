/* E2B control plane: /v2/sandboxes (create, list, connect), /sandboxes/{id} (info, kill, timeout). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "frontend/request.h"
#include "frontend/e2b/e2b.h"

void e2b_reply_error(struct rest_call *rc, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *j = json_pack("{s:i,s:s}", "code", status, "message", msg);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    rest_log(rc, status);
    http_respond(rc->c, status, "application/json", text ? text : "{}", text ? strlen(text) : 2,
                 status == 429 ? "Retry-After: 5\r\n" : NULL);
    free(text);
}

static int status_of(enum sb_code code)
{
    return sb_code_http(code);
}

/* The control plane answers only when compat.e2b is on. */
static bool enabled(struct rest_call *rc)
{
    if (rc->rest->svc->cfg->compat.e2b)
        return true;
    rest_reply_error(rc, SB_E_NOT_FOUND, "no such endpoint (the E2B API is off: compat.e2b)",
                     NULL);
    return false;
}

static json_t *body_object(struct rest_call *rc)
{
    if (!rc->req->body.len)
        return json_object();
    json_error_t je;
    json_t *j = json_loadb(rc->req->body.data, rc->req->body.len, 0, &je);
    if (!json_is_object(j)) {
        json_decref(j);
        e2b_reply_error(rc, 400, "the body must be a JSON object");
        return NULL;
    }
    return j;
}

static json_t *sandbox_json(const struct session *s, bool with_token)
{
    json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s}", "sandboxID", s->id, "templateID",
                          s->tpl->name, "alias", s->tpl->name, "clientID", "soulbox",
                          "envdVersion", E2B_ENVD_VERSION);
    if (j && with_token)
        json_object_set_new(j, "envdAccessToken", json_string(s->access_token));
    return j;
}

static json_t *info_json(const struct session *s)
{
    char started[40], ends[40];
    util_iso_time(s->created_ms, started, sizeof started);
    util_iso_time(s->ends_ms, ends, sizeof ends);
    json_t *j = sandbox_json(s, false);
    unsigned cpus = s->lim.cpu_percent / 100 ? s->lim.cpu_percent / 100 : 1;
    json_object_set(j, "metadata", s->metadata);
    json_object_set_new(j, "startedAt", json_string(started));
    json_object_set_new(j, "endAt", json_string(ends));
    json_object_set_new(j, "state", json_string(s->state == SESSION_PAUSED ? "paused"
                                                                            : "running"));
    json_object_set_new(j, "cpuCount", json_integer(cpus));
    json_object_set_new(j, "memoryMB", json_integer((json_int_t)(s->lim.memory_kb / 1024)));
    json_object_set_new(j, "diskSizeMB", json_integer((json_int_t)(s->lim.disk_kb / 1024)));
    json_object_set_new(j, "allowInternetAccess", json_boolean(s->network));
    return j;
}

/* ---- POST /v2/sandboxes ---- */

struct e2b_creating {
    struct rest_call *rc;
    bool aborted;
};

static void on_abort(void *arg)
{
    ((struct e2b_creating *)arg)->aborted = true;
}

static void created(struct session *s, const struct sb_error *err, void *arg)
{
    struct e2b_creating *c = arg;
    if (err) {
        e2b_reply_error(c->rc, 500, "the sandbox could not start: %s", err->msg);
    } else if (c->aborted) {
        session_kill(s, "the client went away while it was created");
        e2b_reply_error(c->rc, 499, "client gone");
    } else {
        rest_reply_json(c->rc, 201, sandbox_json(s, true), NULL);
    }
    free(c->rc);
    free(c);
}

void e2b_create(struct rest_call *rc)
{
    if (!enabled(rc))
        return;
    json_t *b = body_object(rc);
    if (!b)
        return;
    json_t *tpl = json_object_get(b, "templateID"), *meta = json_object_get(b, "metadata");
    json_t *env = json_object_get(b, "envVars"), *to = json_object_get(b, "timeout");
    struct session_req req = {
        .template = json_is_string(tpl) ? json_string_value(tpl) : "base",
        .metadata = json_is_object(meta) ? meta : NULL,
        .env = json_is_object(env) ? env : NULL,
    };
    if ((tpl && !json_is_string(tpl) && !json_is_null(tpl)) ||
        (to && !json_is_null(to) && (!json_is_integer(to) || json_integer_value(to) <= 0))) {
        e2b_reply_error(rc, 400, "templateID must be a string and timeout a positive number of "
                        "seconds");
        json_decref(b);
        return;
    }
    if (json_is_integer(to))
        req.ttl_ms = (uint64_t)json_integer_value(to) * 1000;
    if (!template_find(&rc->rest->svc->sessions.templates, req.template)) {
        e2b_reply_error(rc, 404, "template '%s' not found (this server has: base, python, node, "
                        "code-interpreter-v1)", req.template);
        json_decref(b);
        return;
    }
    /* E2B's default is internet access on: here that is everything the
     * config allows, when the server enables network at all. */
    json_t *inet = json_object_get(b, "allow_internet_access");
    if (!inet)
        inet = json_object_get(b, "allowInternetAccess");
    struct net_policy net = {0};
    struct sb_error nerr;
    bool want_net = !json_is_false(inet) && rc->rest->svc->cfg->security.enable_network;
    if (want_net && runner_net_narrow(rc->rest->svc->cfg, NULL, 0, &net, &nerr) < 0) {
        e2b_reply_error(rc, 400, "%s", nerr.msg);
        json_decref(b);
        return;
    }
    if (want_net)
        req.net_policy = &net;
    /* E2B's protocol has no isolation: the server's sandbox.isolation (a
     * microvm server gives E2B sandboxes loopback only: no network there yet) */
    request_isolation(NULL, rc->rest->svc->cfg, &req.isolation, &nerr);
    if (req.isolation == SBX_ISO_MICROVM && want_net) {
        net_policy_free(&net);
        req.net_policy = NULL;
    }
    struct e2b_creating *c = calloc(1, sizeof *c);
    if (!c || !(c->rc = rest_call_keep(rc))) {
        free(c);
        net_policy_free(&net);
        json_decref(b);
        return;
    }
    struct sb_error err;
    struct session *s = session_create(rc->rest->svc, &rc->who, &req, created, c, &err);
    net_policy_free(&net);
    json_decref(b);
    if (!s) {
        e2b_reply_error(rc, status_of(err.code), "%s", err.msg);
        free(c->rc);
        free(c);
        return;
    }
    http_conn_on_abort(rc->c, on_abort, c);
}

/* ---- the others ---- */

static struct session *find(struct rest_call *rc)
{
    if (!enabled(rc))
        return NULL;
    struct session *s = session_find(rc->rest->svc, &rc->who, rc->params[0]);
    if (!s)
        e2b_reply_error(rc, 404, "sandbox %s not found", rc->params[0]);
    return s;
}

/* A timeout in seconds from the body (absent: keep). 0 and set, or -1 after replying. */
static int timeout_of(struct rest_call *rc, json_t *b, uint64_t *secs)
{
    json_t *to = json_object_get(b, "timeout");
    *secs = 0;
    if (!to || json_is_null(to))
        return 0;
    if (!json_is_integer(to) || json_integer_value(to) <= 0) {
        e2b_reply_error(rc, 400, "timeout must be a positive number of seconds");
        return -1;
    }
    *secs = (uint64_t)json_integer_value(to);
    return 0;
}

struct reconnect {
    struct rest_call *rc;
    uint64_t secs;
};

/* Connecting to a paused sandbox resumes it first (201, as E2B answers then). */
static void resumed(struct session *s, const struct sb_error *err, void *arg)
{
    struct reconnect *c = arg;
    struct sb_error e2;
    if (err)
        e2b_reply_error(c->rc, sb_code_http(err->code), "%s", err->msg);
    else if (c->secs && session_set_timeout(s, c->secs * 1000, &e2) < 0)
        e2b_reply_error(c->rc, status_of(e2.code), "%s", e2.msg);
    else
        rest_reply_json(c->rc, 201, sandbox_json(s, true), NULL);
    free(c->rc);
    free(c);
}

void e2b_connect(struct rest_call *rc)
{
    struct session *s = find(rc);
    json_t *b = s ? body_object(rc) : NULL;
    if (!b)
        return;
    uint64_t secs;
    struct sb_error err;
    if (timeout_of(rc, b, &secs) == 0) {
        struct reconnect *c = NULL;
        if (s->state == SESSION_PAUSED) {
            if ((c = calloc(1, sizeof *c)) && (c->rc = rest_call_keep(rc))) {
                c->secs = secs;
                if (session_resume(s, resumed, c, &err) < 0) {
                    e2b_reply_error(rc, status_of(err.code), "%s", err.msg);
                    free(c->rc);
                    free(c);
                }
            } else {
                free(c);
            }
        } else if (secs && session_set_timeout(s, secs * 1000, &err) < 0) {
            e2b_reply_error(rc, status_of(err.code), "%s", err.msg);
        } else {
            rest_reply_json(rc, 200, sandbox_json(s, true), NULL);
        }
    }
    json_decref(b);
}

void e2b_timeout(struct rest_call *rc)
{
    struct session *s = find(rc);
    json_t *b = s ? body_object(rc) : NULL;
    if (!b)
        return;
    uint64_t secs;
    struct sb_error err;
    if (timeout_of(rc, b, &secs) == 0) {
        if (!secs)
            e2b_reply_error(rc, 400, "timeout is required");
        else if (session_set_timeout(s, secs * 1000, &err) < 0)
            e2b_reply_error(rc, status_of(err.code), "%s", err.msg);
        else {
            rest_log(rc, 204);
            http_respond(rc->c, 204, NULL, NULL, 0, NULL);
        }
    }
    json_decref(b);
}

void e2b_get(struct rest_call *rc)
{
    struct session *s = find(rc);
    if (s)
        rest_reply_json(rc, 200, info_json(s), NULL);
}

void e2b_kill(struct rest_call *rc)
{
    struct session *s = find(rc);
    if (!s)
        return;
    session_kill(s, "killed through the E2B API");
    rest_log(rc, 204);
    http_respond(rc->c, 204, NULL, NULL, 0, NULL);
}

static void paused(struct session *s, const struct sb_error *err, void *arg)
{
    (void)s;
    struct rest_call *rc = arg;
    if (err) {
        e2b_reply_error(rc, sb_code_http(err->code), "%s", err->msg);
    } else {
        rest_log(rc, 204);
        http_respond(rc->c, 204, NULL, NULL, 0, NULL);
    }
    free(rc);
}

void e2b_pause(struct rest_call *rc)
{
    struct session *s = find(rc);
    struct rest_call *k = s ? rest_call_keep(rc) : NULL;
    struct sb_error err;
    if (!k)
        return;
    if (session_pause(s, paused, k, &err) < 0) {
        /* E2B answers 409 for a sandbox already paused */
        e2b_reply_error(rc, s->state == SESSION_PAUSED ? 409 : sb_code_http(err.code), "%s",
                        err.msg);
        free(k);
    }
}

void e2b_list(struct rest_call *rc)
{
    if (!enabled(rc))
        return;
    char meta[1024] = "", state[64] = "", tok[32] = "", num[32];
    uint64_t limit = 100, start = 0;
    if (http_query_get(rc->req, "metadata", meta, sizeof meta) < 0 ||
        http_query_get(rc->req, "state", state, sizeof state) < 0 ||
        http_query_get(rc->req, "nextToken", tok, sizeof tok) < 0 ||
        http_query_u64(rc->req, "limit", num, sizeof num, 10000, &limit) < 0 ||
        (tok[0] && util_parse_u64(tok, &start) < 0)) {
        e2b_reply_error(rc, 400, "bad query (metadata, state, limit, nextToken)");
        return;
    }
    if (limit == 0)
        limit = 100;
    struct session *v[4096];
    size_t n = session_list(rc->rest->svc, &rc->who, v, sizeof v / sizeof *v);
    json_t *arr = json_array();
    size_t matched = 0, shown = 0;
    bool more = false;
    for (size_t i = 0; i < n; i++) {
        const char *st = v[i]->state == SESSION_PAUSED ? "paused" : "running";
        if ((meta[0] && !session_metadata_matches(v[i], meta)) || (state[0] && !strstr(state, st)))
            continue;
        if (matched++ < start)
            continue;
        if (shown == limit) {
            more = true;
            break;
        }
        shown++;
        json_array_append_new(arr, info_json(v[i]));
    }
    char extra[64] = "";
    if (more)
        snprintf(extra, sizeof extra, "X-Next-Token: %llu\r\n",
                 (unsigned long long)(start + shown));
    rest_reply_json(rc, 200, arr, extra[0] ? extra : NULL);
}
