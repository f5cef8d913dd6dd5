/* REST code contexts: /api/sandboxes/{id}/contexts and /execute (cells streamed as NDJSON or Server-Sent Events). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/rest/rest_internal.h"
#include "service/session_ctx.h"

/* The context {ctx} of the session {id}, or NULL after replying. */
static struct session_ctx *find_ctx(struct rest_call *rc)
{
    struct session *s = rest_session(rc);
    if (!s)
        return NULL;
    struct session_ctx *c = session_ctx_find(s, rc->params[1]);
    if (!c)
        rest_reply_error(rc, SB_E_NOT_FOUND, "no such context", NULL);
    return c;
}

void rest_context_create(struct rest_call *rc)
{
    struct session *s = rest_session(rc);
    json_t *b = s ? rest_json_body(rc) : NULL;
    if (!b)
        return;
    json_t *lang = json_object_get(b, "language"), *cwd = json_object_get(b, "cwd");
    struct sb_error err;
    if ((lang && !json_is_string(lang) && !json_is_null(lang)) ||
        (cwd && !json_is_string(cwd) && !json_is_null(cwd))) {
        rest_reply_error(rc, SB_E_INVALID_ARGUMENT, "language and cwd must be strings", NULL);
    } else {
        struct session_ctx *c = session_ctx_create(s, json_string_value(lang),
                                                   json_string_value(cwd), &err);
        if (!c)
            rest_reply_sb_error(rc, &err);
        else
            rest_reply_json(rc, 201, session_ctx_json(c), NULL);
    }
    json_decref(b);
}

void rest_context_list(struct rest_call *rc)
{
    struct session *s = rest_session(rc);
    if (!s)
        return;
    json_t *arr = json_array();
    for (struct list_node *l = s->ctxs.next; l != &s->ctxs; l = l->next)
        json_array_append_new(arr, session_ctx_json((struct session_ctx *)l));
    rest_reply_json(rc, 200, json_pack("{s:o}", "contexts", arr), NULL);
}

void rest_context_delete(struct rest_call *rc)
{
    struct session_ctx *c = find_ctx(rc);
    if (!c)
        return;
    session_ctx_delete(c);
    rest_log(rc, 204);
    http_respond(rc->c, 204, NULL, NULL, 0, NULL);
}

void rest_context_restart(struct rest_call *rc)
{
    struct session_ctx *c = find_ctx(rc);
    struct sb_error err;
    if (!c)
        return;
    if (session_ctx_restart(c, &err) < 0)
        rest_reply_sb_error(rc, &err);
    else
        rest_reply_json(rc, 200, session_ctx_json(c), NULL);
}

void rest_context_interrupt(struct rest_call *rc)
{
    struct session_ctx *c = find_ctx(rc);
    if (!c)
        return;
    session_ctx_interrupt(c);
    rest_log(rc, 204);
    http_respond(rc->c, 204, NULL, NULL, 0, NULL);
}

/* ---- POST /api/sandboxes/{id}/execute ---- */

struct cellrun {
    struct cell_watcher w;
    struct rest_call *rc;
    struct session *s;
    struct cell *cell;
    bool sse;
};

/* ev is borrowed. */
static void send_event(struct cellrun *r, json_t *ev)
{
    if (r->sse) {
        rest_sse_send(r->rc->c, json_string_value(json_object_get(ev, "type")),
                      json_incref(ev));
        return;
    }
    char *text = json_dumps(ev, JSON_COMPACT);
    struct sb_buf b = {0};
    if (text && sb_buf_printf(&b, "%s\n", text) == 0)
        http_stream_write(r->rc->c, b.data, b.len);
    free(text);
    sb_buf_free(&b);
}

static void runner_free(struct cellrun *r)
{
    session_unref(r->s);
    free(r->rc);
    free(r);
}

static void on_event(struct cell_watcher *w, json_t *ev)
{
    send_event(w->arg, ev);
}

static void on_end(struct cell_watcher *w, unsigned count)
{
    struct cellrun *r = w->arg;
    json_t *ev = json_pack("{s:s,s:i}", "type", "end", "execution_count", (int)count);
    if (ev)
        send_event(r, ev);
    json_decref(ev);
    rest_log(r->rc, 200);
    http_stream_end(r->rc->c);
    runner_free(r);
}

static void on_abort(void *arg)
{
    struct cellrun *r = arg;
    session_cell_detach(r->cell);
    rest_log(r->rc, 499);
    http_stream_end(r->rc->c);
    runner_free(r);
}

void rest_cell_execute(struct rest_call *rc)
{
    struct session *s = rest_session(rc);
    json_t *b = s ? rest_json_body(rc) : NULL;
    if (!b)
        return;
    json_t *code = json_object_get(b, "code"), *cid = json_object_get(b, "context_id");
    json_t *lang = json_object_get(b, "language"), *to = json_object_get(b, "timeout_ms");
    struct sb_error err;
    struct session_ctx *c = NULL;
    if (!json_is_string(code) || (cid && !json_is_string(cid) && !json_is_null(cid)) ||
        (lang && !json_is_string(lang) && !json_is_null(lang)) ||
        (to && (!json_is_integer(to) || json_integer_value(to) < 0))) {
        rest_reply_error(rc, SB_E_INVALID_ARGUMENT, "code must be a string; context_id and "
                         "language strings; timeout_ms a non-negative integer", NULL);
        goto out;
    }
    if (json_is_string(cid)) {
        if (!(c = session_ctx_find(s, json_string_value(cid)))) {
            rest_reply_error(rc, SB_E_NOT_FOUND, "no such context", NULL);
            goto out;
        }
    } else if (!(c = session_ctx_default(s, json_string_value(lang), &err))) {
        rest_reply_sb_error(rc, &err);
        goto out;
    }
    struct cellrun *r = calloc(1, sizeof *r);
    if (!r || !(r->rc = rest_call_keep(rc))) {
        if (!r)
            rest_reply_error(rc, SB_E_INTERNAL, "out of memory", NULL);
        free(r);
        goto out;
    }
    const char *accept = http_header(rc->req, "accept");
    r->sse = accept && strstr(accept, "text/event-stream");
    r->s = s;
    session_ref(s);
    r->w = (struct cell_watcher){.event = on_event, .end = on_end, .arg = r};
    struct cell_req req = {
        .code = json_string_value(code), .env = json_object_get(b, "env"),
        .svg = json_is_true(json_object_get(b, "svg")),
        .timeout_ms = to ? (uint64_t)json_integer_value(to) : 0,
    };
    if (!(r->cell = session_ctx_execute(c, &req, &r->w, &err))) {
        rest_reply_sb_error(rc, &err);
        runner_free(r);
        goto out;
    }
    http_stream_start(rc->c, 200, r->sse ? "text/event-stream" : "application/x-ndjson",
                      "Cache-Control: no-store\r\n");
    http_conn_on_abort(rc->c, on_abort, r);
out:
    json_decref(b);
}
