/* Answers of functions: a handler's value or a stdio run's stdout made the HTTP response (status, headers, body), the function's errors as 502/504 bodies, a finished job or a runtime's line read, and the functions' metrics. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/base64.h"
#include "common/util.h"
#include "service/function_internal.h"
#include "service/service.h"

/* ---- responses ---- */

void fn_response_free(struct fn_response *r)
{
    free(r->headers);
    free(r->content_type);
    free(r->body);
    memset(r, 0, sizeof *r);
}

bool fn_utf8_ok(const char *s, size_t n)
{
    json_t *j = json_stringn(s, n);
    json_decref(j);
    return j != NULL;
}

/* A header name: token characters; a value: no CR, LF or NUL. */
static bool header_ok(const char *name, const char *value)
{
    if (!*name || strlen(name) > 256 || strlen(value) > 8192)
        return false;
    for (const char *c = name; *c; c++)
        if (*c <= ' ' || *c >= 127 || strchr("()<>@,;:\\\"/[]?={}", *c))
            return false;
    return !strpbrk(value, "\r\n");
}

/* Hop-by-hop and framing headers are the server's own. */
static bool header_reserved(const char *name)
{
    static const char *const r[] = {"content-length", "transfer-encoding", "connection",
                                    "keep-alive", "upgrade", "te", "trailer",
                                    "proxy-connection", "date", "server",
                                    "x-soulbox-function-status", NULL};
    for (size_t i = 0; r[i]; i++)
        if (!strcasecmp(name, r[i]))
            return true;
    return false;
}

static int set_body(struct fn_response *out, const char *data, size_t len)
{
    out->body = malloc(len + 1);
    if (!out->body)
        return -1;
    memcpy(out->body, data, len);
    out->body[len] = '\0';
    out->body_len = len;
    return 0;
}

static int bad_value(struct sb_error *err, const char *why)
{
    return sb_fail(err, SB_E_FUNCTION_ERROR, "the handler's response is invalid: %s", why);
}

/* {"status", "headers", "body", "is_base64"} -> the response. */
static int response_object(json_t *value, struct fn_response *out, struct sb_error *err)
{
    json_t *st = json_object_get(value, "status"), *h = json_object_get(value, "headers");
    json_t *body = json_object_get(value, "body"), *b64 = json_object_get(value, "is_base64");
    out->status = 200;
    if (st && (!json_is_integer(st) || json_integer_value(st) < 200 ||
               json_integer_value(st) > 599))
        return bad_value(err, "status must be an integer from 200 to 599");
    if (st)
        out->status = (int)json_integer_value(st);
    if (h && !json_is_null(h) && !json_is_object(h))
        return bad_value(err, "headers must be an object of strings");
    struct sb_buf hb = {0};
    const char *k;
    json_t *v;
    json_object_foreach(h, k, v) {
        if (!json_is_string(v) || !header_ok(k, json_string_value(v))) {
            sb_buf_free(&hb);
            return bad_value(err, "a header must be a token name with a string value "
                             "without CR or LF");
        }
        if (!strcasecmp(k, "content-type"))
            out->content_type = strdup(json_string_value(v));
        else if (!header_reserved(k))
            sb_buf_printf(&hb, "%s: %s\r\n", k, json_string_value(v));
    }
    out->headers = hb.len ? sb_buf_steal(&hb, NULL) : NULL;
    sb_buf_free(&hb);
    if (!body || json_is_null(body))
        return set_body(out, "", 0);    /* no Content-Type unless the handler gave one */
    if (json_is_string(body) && json_is_true(b64)) {
        size_t n;
        char *d = base64_decode(json_string_value(body), json_string_length(body), &n);
        if (!d)
            return bad_value(err, "body is not valid base64 (is_base64: true)");
        out->body = d;
        out->body_len = n;
        if (!out->content_type)
            out->content_type = strdup("application/octet-stream");
        return 0;
    }
    if (json_is_string(body)) {
        if (!out->content_type)
            out->content_type = strdup("text/plain; charset=utf-8");
        return set_body(out, json_string_value(body), json_string_length(body));
    }
    char *text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!text)
        return sb_fail(err, SB_E_INTERNAL, "out of memory");
    if (!out->content_type)
        out->content_type = strdup("application/json");
    out->body = text;
    out->body_len = strlen(text);
    return 0;
}

int fn_response_from_value(json_t *value, bool bytes, struct fn_response *out,
                           struct sb_error *err)
{
    memset(out, 0, sizeof *out);
    int rc;
    if (bytes && json_is_string(value)) {
        size_t n;
        out->status = 200;
        out->body = base64_decode(json_string_value(value), json_string_length(value), &n);
        out->body_len = n;
        out->content_type = strdup("application/octet-stream");
        rc = out->body ? 0 : bad_value(err, "bytes are not valid base64");
    } else if (json_is_object(value) && (json_is_integer(json_object_get(value, "status")) ||
                                         json_object_get(value, "body"))) {
        rc = response_object(value, out, err);
    } else if (json_is_string(value)) {
        out->status = 200;
        out->content_type = strdup("text/plain; charset=utf-8");
        rc = set_body(out, json_string_value(value), json_string_length(value));
    } else {
        out->status = 200;
        out->content_type = strdup("application/json");
        out->body = json_dumps(value ? value : json_null(), JSON_COMPACT | JSON_ENCODE_ANY);
        out->body_len = out->body ? strlen(out->body) : 0;
        rc = out->body ? 0 : sb_fail(err, SB_E_INTERNAL, "out of memory");
    }
    if (rc < 0)
        fn_response_free(out);
    return rc;
}

/* An error of the function as the HTTP answer: 502 (504 for its timeout)
 * with {"error": {code, message, status, type?, stack?}, "request_id"}. */
void fn_error_response(struct fn_invocation *inv, const char *status, const char *message,
                           json_t *detail, struct fn_response *out)
{
    bool timeout = !strcmp(status, "time_limit_exceeded");
    json_t *e = json_pack("{s:s,s:s,s:s}", "code", timeout ? "function_timeout"
                                                            : "function_error",
                          "message", message, "status", status);
    if (e && json_is_object(detail)) {
        json_object_set(e, "type", json_object_get(detail, "type"));
        json_object_set(e, "stack", json_object_get(detail, "stack"));
    }
    json_t *o = json_pack("{s:o,s:s}", "error", e, "request_id", inv->request_id);
    if (!inv->answered) {       /* its log entry's error */
        free(inv->error);
        inv->error = strdup(message);
    }
    memset(out, 0, sizeof *out);
    out->status = timeout ? 504 : 502;
    out->content_type = strdup("application/json");
    out->body = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    out->body_len = out->body ? strlen(out->body) : 0;
    json_decref(o);
}

/* ---- what a run or an instance answered ---- */


/* The runtime's protocol line in out, or NULL. */
static json_t *protocol_line(const struct sb_buf *out)
{
    if (!out->len)
        return NULL;
    size_t end = out->len;
    while (end && out->data[end - 1] == '\n')
        end--;
    size_t start = end;
    while (start && out->data[start - 1] != '\n')
        start--;
    return json_loadb(out->data + start, end - start, 0, NULL);
}

static void stderr_tail(const struct sb_buf *err, char *out, size_t len)
{
    size_t n = err->len < len - 1 ? err->len : len - 1;
    if (n)
        memcpy(out, err->data + err->len - n, n);
    out[n] = '\0';
}

/* A handler's result line -> the response (ok) or the function's error. */
const char *fn_answer_line(struct fn_invocation *inv, json_t *line, struct fn_response *resp)
{
    struct sb_error e;
    const char *type = json_string_value(json_object_get(line, "type"));
    json_t *err = json_object_get(line, "error");
    char msg[600];
    if (type && !strcmp(type, "response") && json_is_true(json_object_get(line, "ok"))) {
        if (fn_response_from_value(json_object_get(line, "value"),
                                   json_is_true(json_object_get(line, "bytes")), resp, &e) == 0)
            return "ok";
        fn_error_response(inv, "runtime_error", e.msg, NULL, resp);
        return "runtime_error";
    }
    snprintf(msg, sizeof msg, "%s%s: %s",
             type && !strcmp(type, "init_error") ? "the function could not load: " : "",
             json_string_value(json_object_get(err, "type")) ?: "Error",
             json_string_value(json_object_get(err, "message")) ?: "");
    fn_error_response(inv, "runtime_error", msg, err, resp);
    return "runtime_error";
}

/* A finished job -> status and response. */
const char *fn_job_answer(struct fn_invocation *inv, const struct job_result *r,
                              struct fn_response *resp, const char **logs)
{
    const struct stage_result *run = &r->run;
    char msg[700], tail[400];
    *logs = NULL;
    if (r->status == SB_ST_COMPILE_ERROR) {
        stderr_tail(&r->compile.err, tail, sizeof tail);
        snprintf(msg, sizeof msg, "the function did not compile: %s", tail);
        fn_error_response(inv, "compile_error", msg, NULL, resp);
        return "compile_error";
    }
    json_t *line = inv->v->mode == FN_HANDLER ? protocol_line(&run->out) : NULL;
    if (line)
        *logs = json_string_value(json_object_get(line, "logs"));
    const char *status = sb_status_name(run->status);
    if (run->status == SB_ST_OK || (line && run->status == SB_ST_RUNTIME_ERROR)) {
        if (inv->v->mode == FN_STDIO) {
            memset(resp, 0, sizeof *resp);
            resp->status = 200;
            resp->content_type = strdup(fn_utf8_ok(run->out.data ? run->out.data : "",
                                                run->out.len)
                                        ? "text/plain; charset=utf-8" : "application/octet-stream");
            set_body(resp, run->out.data ? run->out.data : "", run->out.len);
            status = "ok";
        } else if (line) {
            status = fn_answer_line(inv, line, resp);
        } else {
            fn_error_response(inv, "runtime_error", "the function's runtime gave no answer",
                           NULL, resp);
            status = "runtime_error";
        }
    } else {
        stderr_tail(&run->err, tail, sizeof tail);
        snprintf(msg, sizeof msg, "%s%s%s", run->message[0] ? run->message : status,
                 tail[0] ? ": " : "", tail);
        if (run->status == SB_ST_TIME_LIMIT && run->cause == SBX_CAUSE_CPU)
            snprintf(msg, sizeof msg, "the function used up its CPU time (limits.cpu_time_ms: "
                     "%llu ms)", (unsigned long long)inv->v->req.limits.cpu_ms);
        else if (run->status == SB_ST_TIME_LIMIT)
            snprintf(msg, sizeof msg, "the function did not answer within %llu ms (timeout_ms)",
                     (unsigned long long)inv->v->timeout_ms);
        fn_error_response(inv, status, msg, NULL, resp);
    }
    /* what it printed, then what reached its stderr directly (or all of its
     * stderr in stdio mode); copied: the line goes */
    struct sb_buf all = {0};
    sb_buf_puts(&all, *logs ? *logs : "");
    size_t room = FN_LOGS_MAX_BYTES > all.len ? FN_LOGS_MAX_BYTES - all.len : 0;
    if (run->err.len && room)
        sb_buf_append(&all, run->err.data, run->err.len < room ? run->err.len : room);
    json_decref(line);
    *logs = all.len ? sb_buf_steal(&all, NULL) : NULL;
    sb_buf_free(&all);
    return status;
}

/* ---- metrics ---- */

static void metric_head(struct sb_buf *o, const char *name, const char *type, const char *help)
{
    sb_buf_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void render_counts(struct sb_buf *o, struct function *f, struct fn_version *v)
{
    for (int warm = 0; warm < 2; warm++)
        for (int k = 0; k <= FN_REFUSED; k++)
            if (v->stats.invocations[warm][k])
                sb_buf_printf(o, "soulbox_function_invocations_total{function=\"%s\","
                              "version=\"%u\",status=\"%s\",start=\"%s\"} %llu\n", f->name,
                              v->number, k == FN_REFUSED ? "refused" : sb_status_name(k),
                              warm ? "warm" : "cold",
                              (unsigned long long)v->stats.invocations[warm][k]);
}

static void render_durations(struct sb_buf *o, struct function *f, struct fn_version *v)
{
    static const char *const le[FN_BUCKETS] = {"0.001", "0.0025", "0.005", "0.01", "0.025",
                                               "0.05", "0.1", "0.25", "0.5", "1", "2.5", "10"};
    if (!v->stats.count)
        return;
    for (size_t i = 0; i < FN_BUCKETS; i++)
        sb_buf_printf(o, "soulbox_function_duration_seconds_bucket{function=\"%s\",version="
                      "\"%u\",le=\"%s\"} %llu\n", f->name, v->number, le[i],
                      (unsigned long long)v->stats.buckets[i]);
    sb_buf_printf(o, "soulbox_function_duration_seconds_bucket{function=\"%s\",version=\"%u\","
                  "le=\"+Inf\"} %llu\n", f->name, v->number,
                  (unsigned long long)v->stats.count);
    sb_buf_printf(o, "soulbox_function_duration_seconds_sum{function=\"%s\",version=\"%u\"} "
                  "%.6f\n", f->name, v->number, v->stats.sum_s);
    sb_buf_printf(o, "soulbox_function_duration_seconds_count{function=\"%s\",version=\"%u\"} "
                  "%llu\n", f->name, v->number, (unsigned long long)v->stats.count);
}

void fn_metrics_render(struct service *svc, struct sb_buf *o)
{
    struct fn_registry *r = svc->functions;
    if (!r)
        return;
    metric_head(o, "soulbox_functions", "gauge", "Functions deployed.");
    sb_buf_printf(o, "soulbox_functions %u\n", r->n);
    metric_head(o, "soulbox_function_invocations_total", "counter",
                "Invocations by function, version, status and start (cold: a new sandbox or "
                "instance; warm: an instance that served before, or a pooled sandbox).");
    FN_EACH(&r->all, pos) {
        struct function *f = list_entry(pos, struct function, node);
        for (size_t i = 0; i < f->nversions; i++)
            render_counts(o, f, f->versions[i]);
    }
    metric_head(o, "soulbox_function_duration_seconds", "histogram",
                "Invocation durations, from arrival to answer.");
    FN_EACH(&r->all, pos) {
        struct function *f = list_entry(pos, struct function, node);
        for (size_t i = 0; i < f->nversions; i++)
            render_durations(o, f, f->versions[i]);
    }
    metric_head(o, "soulbox_function_instances", "gauge",
                "Warm instances (reuse) of each version on this node.");
    FN_EACH(&r->all, pos) {
        struct function *f = list_entry(pos, struct function, node);
        for (size_t i = 0; i < f->nversions; i++)
            if (f->versions[i]->reuse)
                sb_buf_printf(o, "soulbox_function_instances{function=\"%s\",version=\"%u\"} "
                              "%u\n", f->name, f->versions[i]->number,
                              f->versions[i]->ninstances);
    }
    metric_head(o, "soulbox_function_invocations_queued", "gauge",
                "Invocations waiting for an instance or a run slot.");
    FN_EACH(&r->all, pos) {
        struct function *f = list_entry(pos, struct function, node);
        for (size_t i = 0; i < f->nversions; i++)
            if (f->versions[i]->nqueued)
                sb_buf_printf(o, "soulbox_function_invocations_queued{function=\"%s\","
                              "version=\"%u\"} %u\n", f->name, f->versions[i]->number,
                              f->versions[i]->nqueued);
    }
}
