/* E2B's code interpreter (its port 49999): /execute as NDJSON over a session's code contexts, /contexts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "frontend/e2b/e2b.h"
#include "service/session_ctx.h"

/* ---- POST /execute ---- */

struct exec_stream {
    struct cell_watcher w;
    struct rest_call *rc;
    struct session *s;
    struct cell *cell;
};

static void line(struct exec_stream *x, json_t *ev)
{
    char *text = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
    json_decref(ev);
    if (!text)
        return;
    struct sb_buf b = {0};
    sb_buf_printf(&b, "%s\n", text);
    free(text);
    if (!b.oom)
        http_stream_write(x->rc->c, b.data, b.len);
    sb_buf_free(&b);
}

/* The driver's MIME bundle in E2B's field names. */
static json_t *result_of(json_t *ev)
{
    static const struct { const char *mime, *field; } map[] = {
        {"text/plain", "text"}, {"text/html", "html"}, {"text/markdown", "markdown"},
        {"image/svg+xml", "svg"}, {"image/png", "png"}, {"image/jpeg", "jpeg"},
        {"application/pdf", "pdf"}, {"text/latex", "latex"}, {"application/json", "json"},
        {"application/javascript", "javascript"},
    };
    json_t *data = json_object_get(ev, "data");
    json_t *r = json_pack("{s:s}", "type", "result");
    for (size_t i = 0; r && i < sizeof map / sizeof *map; i++) {
        json_t *v = json_object_get(data, map[i].mime);
        if (v)
            json_object_set(r, map[i].field, v);
    }
    json_object_set_new(r, "extra", json_object());
    json_object_set_new(r, "is_main_result", json_boolean(json_is_true(json_object_get(ev,
                                                                                       "main"))));
    return r;
}

static void on_event(struct cell_watcher *w, json_t *ev)
{
    struct exec_stream *x = w->arg;
    const char *type = json_string_value(json_object_get(ev, "type"));
    if (!type)
        return;
    if (!strcmp(type, "stdout") || !strcmp(type, "stderr")) {
        char ts[40];
        util_iso_time(util_now_ms(), ts, sizeof ts);
        line(x, json_pack("{s:s,s:O,s:s}", "type", type, "text", json_object_get(ev, "text"),
                          "timestamp", ts));
    } else if (!strcmp(type, "result")) {
        line(x, result_of(ev));
    } else if (!strcmp(type, "error")) {
        line(x, json_pack("{s:s,s:O,s:O,s:O}", "type", "error", "name",
                          json_object_get(ev, "name"), "value", json_object_get(ev, "value"),
                          "traceback", json_object_get(ev, "traceback")));
    }
}

static void stream_free(struct exec_stream *x)
{
    session_unref(x->s);
    free(x->rc);
    free(x);
}

static void on_end(struct cell_watcher *w, unsigned count)
{
    struct exec_stream *x = w->arg;
    line(x, json_pack("{s:s,s:i}", "type", "number_of_executions", "execution_count",
                      (int)count));
    line(x, json_pack("{s:s}", "type", "end_of_execution"));
    rest_log(x->rc, 200);
    http_stream_end(x->rc->c);
    stream_free(x);
}

static void on_abort(void *arg)
{
    struct exec_stream *x = arg;
    session_cell_detach(x->cell);
    rest_log(x->rc, 499);
    http_stream_end(x->rc->c);
    stream_free(x);
}

static json_t *body(struct rest_call *rc)
{
    json_t *j = rc->req->body.len ? json_loadb(rc->req->body.data, rc->req->body.len, 0, NULL)
                                  : json_object();
    if (!json_is_object(j)) {
        json_decref(j);
        e2b_reply_error(rc, 400, "the body must be a JSON object");
        return NULL;
    }
    return j;
}

static void execute(struct rest_call *rc, struct session *s)
{
    json_t *b = body(rc);
    if (!b)
        return;
    json_t *code = json_object_get(b, "code"), *cid = json_object_get(b, "context_id");
    json_t *lang = json_object_get(b, "language"), *env = json_object_get(b, "env_vars");
    struct session_ctx *c = NULL;
    struct sb_error err;
    if (!json_is_string(code)) {
        e2b_reply_error(rc, 400, "code must be a string");
    } else if (json_is_string(cid) && !(c = session_ctx_find(s, json_string_value(cid)))) {
        e2b_reply_error(rc, 404, "context %s not found", json_string_value(cid));
    } else if (!c && !(c = session_ctx_default(s, json_string_value(lang), &err))) {
        e2b_reply_error(rc, sb_code_http(err.code), "%s", err.msg);
    } else {
        struct exec_stream *x = calloc(1, sizeof *x);
        if (x && (x->rc = rest_call_keep(rc))) {
            x->s = s;
            session_ref(s);
            x->w = (struct cell_watcher){.event = on_event, .end = on_end, .arg = x};
            struct cell_req req = {.code = json_string_value(code),
                                   .env = json_is_object(env) ? env : NULL};
            if (!(x->cell = session_ctx_execute(c, &req, &x->w, &err))) {
                e2b_reply_error(rc, sb_code_http(err.code), "%s", err.msg);
                stream_free(x);
            } else {
                http_stream_start(rc->c, 200, "application/x-ndjson", NULL);
                http_conn_on_abort(rc->c, on_abort, x);
            }
        } else {
            free(x);
        }
    }
    json_decref(b);
}

/* ---- /contexts ---- */

static void contexts(struct rest_call *rc, struct session *s, const char *rest)
{
    const char *m = rc->req->method;
    struct sb_error err;
    if (!*rest && !strcmp(m, "POST")) {
        json_t *b = body(rc);
        if (!b)
            return;
        struct session_ctx *c = session_ctx_create(s, json_string_value(json_object_get(b,
                                                                                       "language")),
                                                   json_string_value(json_object_get(b, "cwd")),
                                                   &err);
        if (c)
            rest_reply_json(rc, 200, session_ctx_json(c), NULL);
        else
            e2b_reply_error(rc, sb_code_http(err.code), "%s", err.msg);
        json_decref(b);
        return;
    }
    if (!*rest && !strcmp(m, "GET")) {
        json_t *arr = json_array();
        for (struct list_node *l = s->ctxs.next; l != &s->ctxs; l = l->next)
            json_array_append_new(arr, session_ctx_json((struct session_ctx *)l));
        rest_reply_json(rc, 200, arr, NULL);
        return;
    }
    /* "/<id>" or "/<id>/restart" */
    char id[64];
    size_t n = strcspn(rest + 1, "/");
    if (*rest != '/' || n == 0 || n >= sizeof id) {
        e2b_reply_error(rc, 404, "no such endpoint");
        return;
    }
    memcpy(id, rest + 1, n);
    id[n] = '\0';
    const char *tail = rest + 1 + n;
    struct session_ctx *c = session_ctx_find(s, id);
    if (!c) {
        e2b_reply_error(rc, 404, "context %s not found", id);
    } else if (!*tail && !strcmp(m, "DELETE")) {
        session_ctx_delete(c);
        rest_log(rc, 204);
        http_respond(rc->c, 204, NULL, NULL, 0, NULL);
    } else if (!strcmp(tail, "/restart") && !strcmp(m, "POST")) {
        if (session_ctx_restart(c, &err) < 0) {
            e2b_reply_error(rc, sb_code_http(err.code), "%s", err.msg);
        } else {
            rest_log(rc, 204);
            http_respond(rc->c, 204, NULL, NULL, 0, NULL);
        }
    } else {
        e2b_reply_error(rc, 404, "no such endpoint");
    }
}

void e2b_jupyter(struct rest_call *rc, struct session *s)
{
    const char *path = rc->req->path;
    if (!strcmp(path, "/execute") && !strcmp(rc->req->method, "POST"))
        execute(rc, s);
    else if (!strncmp(path, "/contexts", 9))
        contexts(rc, s, path + 9);
    else if (!strcmp(path, "/health")) {
        rest_log(rc, 204);
        http_respond(rc->c, 204, NULL, NULL, 0, NULL);
    } else
        e2b_reply_error(rc, 404, "the code interpreter has no %s %s", rc->req->method, path);
}
