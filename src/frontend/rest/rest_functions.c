/* REST: serverless functions' management (/api/functions...) and their invocation endpoint (/fn/{name}[@version][/path]), the HTTP request made the function's event. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/base64.h"
#include "common/log.h"
#include "frontend/rest/rest_internal.h"
#include "service/function.h"
#include "service/service.h"

/* ---- management ---- */

static void on_reply(void *arg, int status, json_t *body, const struct sb_error *err)
{
    struct rest_call *rc = arg;
    if (err) {
        char extra[64] = "";
        if (err->code == SB_E_UNAVAILABLE || err->code == SB_E_RATE_LIMITED)
            snprintf(extra, sizeof extra, "Retry-After: 1\r\n");
        rest_reply_error(rc, err->code, err->msg, extra[0] ? extra : NULL);
    } else if (status == 204) {
        rest_log(rc, 204);
        http_respond(rc->c, 204, NULL, "", 0, NULL);
        json_decref(body);
    } else {
        char loc[300] = "";
        const char *name = json_string_value(json_object_get(body, "name"));
        const char *fn = json_string_value(json_object_get(body, "function"));
        const char *id = json_string_value(json_object_get(body, "id"));
        if (status == 201 && name)
            snprintf(loc, sizeof loc, "Location: /api/functions/%s\r\n", name);
        else if (status == 202 && fn && id)
            snprintf(loc, sizeof loc, "Location: /api/functions/%s/invocations/%s\r\n", fn, id);
        rest_reply_json(rc, status, body, loc[0] ? loc : NULL);
    }
    free(rc);
}

/* A body that may be empty ({}). */
static json_t *body_or_empty(struct rest_call *rc)
{
    if (!rc->req->body.len)
        return json_object();
    return rest_json_body(rc);
}

void rest_fn_deploy(struct rest_call *rc)
{
    json_t *b = rest_json_body(rc);
    struct rest_call *k = b ? rest_call_keep(rc) : NULL;
    if (k)
        fn_deploy(rc->rest->svc, &rc->who, b, on_reply, k);
    json_decref(b);
}

/* A read's answer (out is set by the call before this runs: a statement of its own). */
static void reply_read(struct rest_call *rc, int rc2, json_t *out, const struct sb_error *e)
{
    if (rc2 < 0)
        rest_reply_sb_error(rc, e);
    else
        rest_reply_json(rc, 200, out, NULL);
}

void rest_fn_list(struct rest_call *rc)
{
    json_t *out = NULL;
    struct sb_error e;
    int r = fn_list_json(rc->rest->svc, &rc->who, &out, &e);
    reply_read(rc, r, out, &e);
}

void rest_fn_get(struct rest_call *rc)
{
    json_t *out = NULL;
    struct sb_error e;
    int r = fn_get_json(rc->rest->svc, &rc->who, rc->params[0], &out, &e);
    reply_read(rc, r, out, &e);
}

void rest_fn_versions(struct rest_call *rc)
{
    json_t *out = NULL;
    struct sb_error e;
    int r = fn_versions_json(rc->rest->svc, &rc->who, rc->params[0], &out, &e);
    reply_read(rc, r, out, &e);
}

void rest_fn_logs(struct rest_call *rc)
{
    json_t *out = NULL;
    struct sb_error e;
    char buf[32];
    uint64_t limit = 20;
    if (http_query_u64(rc->req, "limit", buf, sizeof buf, 1000, &limit) < 0 || limit == 0) {
        rest_reply_error(rc, SB_E_INVALID_ARGUMENT, "limit: an integer from 1 to 1000", NULL);
        return;
    }
    int r = fn_logs_json(rc->rest->svc, &rc->who, rc->params[0], limit,
                                &out, &e);
    reply_read(rc, r, out, &e);
}

void rest_fn_invocation(struct rest_call *rc)
{
    json_t *out = NULL;
    struct sb_error e;
    int r = fn_invocation_json(rc->rest->svc, &rc->who, rc->params[0], rc->params[1],
                                      &out, &e);
    reply_read(rc, r, out, &e);
}

void rest_fn_delete(struct rest_call *rc)
{
    struct rest_call *k = rest_call_keep(rc);
    if (k)
        fn_delete(rc->rest->svc, &rc->who, rc->params[0], on_reply, k);
}

void rest_fn_rollback(struct rest_call *rc)
{
    json_t *b = body_or_empty(rc);
    struct rest_call *k = b ? rest_call_keep(rc) : NULL;
    if (k)
        fn_rollback(rc->rest->svc, &rc->who, rc->params[0], b, on_reply, k);
    json_decref(b);
}

void rest_fn_alias_put(struct rest_call *rc)
{
    json_t *b = rest_json_body(rc);
    struct rest_call *k = b ? rest_call_keep(rc) : NULL;
    if (k)
        fn_set_alias(rc->rest->svc, &rc->who, rc->params[0], rc->params[1], b, on_reply, k);
    json_decref(b);
}

void rest_fn_alias_delete(struct rest_call *rc)
{
    struct rest_call *k = rest_call_keep(rc);
    if (k)
        fn_delete_alias(rc->rest->svc, &rc->who, rc->params[0], rc->params[1], on_reply, k);
}

void rest_fn_invoke_async(struct rest_call *rc)
{
    json_t *b = body_or_empty(rc);
    struct rest_call *k = b ? rest_call_keep(rc) : NULL;
    if (k)
        fn_invoke_async(rc->rest->svc, &rc->who, rc->params[0], b, on_reply, k);
    json_decref(b);
}

/* ---- invocation: /fn/{name}[@ref][/path] ---- */

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Percent-decodes s[0..n) ('+' as a space when plus), or NULL when it is
 * malformed or not UTF-8. */
static json_t *decoded(const char *s, size_t n, bool plus)
{
    char *out = malloc(n + 1);
    size_t k = 0;
    for (size_t i = 0; out && i < n; i++) {
        if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            out[k++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else if (s[i] == '%') {
            free(out);
            return NULL;
        } else {
            out[k++] = plus && s[i] == '+' ? ' ' : s[i];
        }
    }
    json_t *j = out ? json_stringn(out, k) : NULL;
    free(out);
    return j;
}

/* The query as an object (a repeated name: its last value), or NULL when malformed. */
static json_t *query_json(const char *q)
{
    json_t *o = json_object();
    while (o && *q) {
        size_t n = strcspn(q, "&");
        const char *eq = memchr(q, '=', n);
        size_t kl = eq ? (size_t)(eq - q) : n;
        json_t *k = decoded(q, kl, true);
        json_t *v = eq ? decoded(eq + 1, n - kl - 1, true) : json_string("");
        if (!k || !v || strlen(json_string_value(k)) != json_string_length(k)) {
            json_decref(k);
            json_decref(v);
            json_decref(o);
            return NULL;
        }
        if (kl)
            json_object_set_new(o, json_string_value(k), v);
        else
            json_decref(v);
        json_decref(k);
        q += n + (q[n] == '&');
    }
    return o;
}

/* method, path, query, headers, body, is_base64 (+ raw_query). */
static json_t *event_of(const struct http_request *req, const char *sub)
{
    json_t *path = decoded(*sub ? sub : "/", *sub ? strlen(sub) : 1, false);
    json_t *query = query_json(req->query ? req->query : "");
    json_t *headers = json_object();
    for (size_t i = 0; headers && i < req->nheaders; i++) {
        const char *n = req->headers[i].name;
        if (!strcmp(n, "authorization") || !strcmp(n, "x-api-key"))
            continue;   /* SoulBox's credentials are not the function's to see */
        json_t *prev = json_object_get(headers, n);
        if (!json_is_string(prev)) {
            json_object_set_new(headers, n, json_string(req->headers[i].value));
            continue;
        }
        size_t len = json_string_length(prev) + strlen(req->headers[i].value) + 3;
        char *joined = malloc(len);
        if (joined) {
            snprintf(joined, len, "%s, %s", json_string_value(prev), req->headers[i].value);
            json_object_set_new(headers, n, json_string(joined));
        }
        free(joined);
    }
    const char *b = req->body.data ? req->body.data : "";
    json_t *text = json_stringn(b, req->body.len);
    char *b64 = text ? NULL : base64_encode(b, req->body.len);
    json_t *ev = NULL;
    if (path && query && headers && (text || b64))
        ev = json_pack("{s:s,s:O,s:O,s:s,s:O,s:o,s:b}", "method", req->method, "path", path,
                       "query", query, "raw_query", req->query ? req->query : "", "headers",
                       headers, "body", text ? text : json_string(b64), "is_base64", !text);
    else
        json_decref(text);
    free(b64);
    json_decref(path);
    json_decref(query);
    json_decref(headers);
    return ev;
}

struct invoke_call {
    struct rest_call *rc;
    struct fn_invocation *inv;
    bool calling, answered;      /* fn_invoke under way / it answered meanwhile */
};

static void on_invoked(void *arg, struct fn_response *resp, const struct sb_error *err,
                       unsigned retry)
{
    struct invoke_call *ic = arg;
    struct rest_call *rc = ic->rc;
    if (err) {
        char extra[64] = "";
        if (retry)
            snprintf(extra, sizeof extra, "Retry-After: %u\r\n", retry);
        rest_reply_error(rc, err->code, err->msg, extra[0] ? extra : NULL);
    } else {
        /* the function's own answer, told apart from SoulBox's errors */
        struct sb_buf h = {0};
        sb_buf_printf(&h, "X-SoulBox-Function-Status: %d\r\n", resp->status);
        sb_buf_puts(&h, resp->headers ? resp->headers : "");
        rest_log(rc, resp->status);
        const char *ct = resp->content_type ? resp->content_type
                         : resp->body_len ? "application/octet-stream" : NULL;
        http_respond(rc->c, resp->status, ct, resp->body ? resp->body : "", resp->body_len,
                     h.oom ? resp->headers : h.data);
        sb_buf_free(&h);
        fn_response_free(resp);
    }
    if (ic->calling) {          /* rest_fn_invoke frees them when fn_invoke returns */
        ic->answered = true;
        return;
    }
    free(rc);
    free(ic);
}

static void on_client_gone(void *arg)
{
    struct invoke_call *ic = arg;
    if (ic->inv)
        fn_invocation_detach(ic->inv);
}

/* /fn/NAME[@REF][/PATH]: target "NAME[@REF]" into out, *sub the path. */
static int split_fn_path(const char *path, char *out, size_t len, const char **sub)
{
    const char *t = path + 4;
    size_t n = strcspn(t, "/");
    if (n == 0 || n >= len)
        return -1;
    memcpy(out, t, n);
    out[n] = '\0';
    *sub = t + n;
    return 0;
}

/* The gate for an invocation: a public function needs no key (its caller
 * is still rate limited by address); a private one, its owner's. */
static int fn_gate(struct rest_call *rc, const char *target, bool *anonymous)
{
    struct service *s = rc->rest->svc;
    struct refusal ref;
    bool presented = http_header(rc->req, "x-api-key") || http_header(rc->req, "authorization");
    *anonymous = !presented && fn_is_public(s, target);
    if (!*anonymous)
        return rest_gate_key(rc);
    if (gate_rate(s, &rc->who, &ref) < 0) {
        rest_reply_refusal(rc, &ref);
        return -1;
    }
    return 0;
}

void rest_fn_invoke(struct rest_call *rc)
{
    char target[160];
    const char *sub;
    rc->route = "/fn/{name}";
    if (split_fn_path(rc->req->path, target, sizeof target, &sub) < 0) {
        rest_reply_error(rc, SB_E_NOT_FOUND, "no such function", NULL);
        return;
    }
    bool anonymous;
    if (fn_gate(rc, target, &anonymous) < 0)
        return;
    json_t *ev = event_of(rc->req, sub);
    if (!ev) {
        rest_reply_error(rc, SB_E_INVALID_ARGUMENT, "the path or query is not valid "
                         "percent-encoded UTF-8", NULL);
        return;
    }
    struct invoke_call *ic = calloc(1, sizeof *ic);
    struct rest_call *k = ic ? rest_call_keep(rc) : NULL;
    if (!k) {
        free(ic);
        json_decref(ev);
        if (!ic)
            rest_reply_error(rc, SB_E_INTERNAL, "out of memory", NULL);
        return;
    }
    ic->rc = k;
    struct sb_error err;
    unsigned retry = 0;
    ic->calling = true;
    ic->inv = fn_invoke(rc->rest->svc, &rc->who, anonymous, target, ev, on_invoked, ic, &err,
                        &retry);
    ic->calling = false;
    json_decref(ev);
    if (ic->answered) {         /* at once: nothing more will come */
        free(k);
        free(ic);
        return;
    }
    if (!ic->inv) {
        on_invoked(ic, NULL, &err, retry);
        return;
    }
    http_conn_on_abort(k->c, on_client_gone, ic);
}
