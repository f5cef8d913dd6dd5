/* REST executions: POST /api/execute (one response, or Server-Sent Events), POST /api/executions, GET /api/executions[/{id}]. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "frontend/events.h"
#include "frontend/request.h"
#include "frontend/rest/rest_internal.h"
#include "service/execution.h"
#include "service/result_json.h"

/* Output queued for a slow SSE client: the program's output is no longer
 * read above PAUSE, and read again only once it drained below RESUME. */
#define SSE_PAUSE_MARK (256u << 10)
#define SSE_RESUME_MARK (64u << 10)

/* A request waiting on its execution. */
struct pending {
    struct rest_call *rc;
    struct execution *ex;
    struct text_carry carry;   /* SSE */
    bool paused;
    bool streaming;
};

/* ---- decoding and submitting ---- */

/* Decodes the body; returns 0 or -1 after replying (the refusal counted). */
static int decode(struct rest_call *rc, enum req_kind kind, struct exec_req *out)
{
    struct service *s = rc->rest->svc;
    struct sb_error err;
    if (exec_req_parse(rc->req->body.data, rc->req->body.len, s->cfg, &s->registry, kind, out,
                       &err) == 0)
        return 0;
    struct refusal r;
    gate_refuse(s, &rc->who, gate_reason_of(&err), &err, &r);
    rest_reply_refusal(rc, &r);
    return -1;
}

static void on_abort(void *arg)
{
    struct pending *p = arg;
    if (p->ex)
        execution_cancel(p->ex, "cancelled: the client disconnected");
}

static void free_pending(struct pending *p)
{
    free(p->rc);
    free(p);
}

static void on_refused(struct execution *ex, const struct refusal *r, void *arg)
{
    (void)ex;
    struct pending *p = arg;
    rest_reply_refusal(p->rc, r);
    free_pending(p);
}

/* Decodes, then submits with events whose arg is the pending request.
 * Returns it, or NULL after replying. */
static struct pending *submit(struct rest_call *rc, enum req_kind kind,
                              const struct exec_events *ev)
{
    struct exec_req er;
    if (decode(rc, kind, &er) < 0)
        return NULL;
    struct pending *p = calloc(1, sizeof *p);
    if (!p || !(p->rc = rest_call_keep(rc))) {
        if (!p)
            rest_reply_error(rc, SB_E_INTERNAL, "out of memory", NULL);
        free(p);
        exec_req_free(&er);
        return NULL;
    }
    struct refusal r;
    p->ex = execution_submit(rc->rest->svc, &rc->who, &er, kind, ev, p, &r);
    if (!p->ex) {
        rest_reply_refusal(rc, &r);
        free_pending(p);
        return NULL;
    }
    return p;
}

/* ---- POST /api/execute: one response ---- */

static void sync_finished(struct execution *ex, const struct job_result *res, void *arg)
{
    struct pending *p = arg;
    if (res->failed) {
        /* a sandbox that ended under the program (its agent, a microVM's
         * guest) is internal_error; anything else is its setup */
        rest_reply_error(p->rc, res->error.code == SB_E_INTERNAL ? SB_E_INTERNAL
                                                                 : SB_E_SANDBOX_SETUP,
                         res->error.msg, NULL);
    } else {
        json_t *o = result_json(res);
        if (o)
            json_object_set_new(o, "id", json_string(execution_id(ex)));
        rest_reply_json(p->rc, 200, o, NULL);
    }
    free_pending(p);
}

/* ---- POST /api/execute with Accept: text/event-stream ---- */

static void sse_send(struct pending *p, json_t *ev)
{
    if (!ev)
        return;
    ssize_t queued = rest_sse_send(p->rc->c, json_string_value(json_object_get(ev, "type")), ev);
    if (queued > (ssize_t)SSE_PAUSE_MARK && !p->paused && p->ex) {
        p->paused = true;
        execution_output_pause(p->ex, true);
    }
}

static void sse_drain(void *arg)
{
    struct pending *p = arg;
    if (p->paused && p->ex && http_conn_queued(p->rc->c) < SSE_RESUME_MARK) {
        p->paused = false;
        execution_output_pause(p->ex, false);
    }
}

static void sse_accepted(struct execution *ex, void *arg)
{
    struct pending *p = arg;
    p->streaming = true;
    http_stream_start(p->rc->c, 200, "text/event-stream", "Cache-Control: no-store\r\n");
    http_conn_on_drain(p->rc->c, sse_drain, p);
    sse_send(p, event_started(execution_id(ex)));
}

static void sse_output(struct execution *ex, int stream, const char *data, size_t len, void *arg)
{
    (void)ex;
    struct pending *p = arg;
    sse_send(p, event_output(&p->carry, stream, data, len));
}

static void sse_finished(struct execution *ex, const struct job_result *res, void *arg)
{
    struct pending *p = arg;
    p->ex = NULL;
    sse_send(p, event_output_flush(&p->carry, 1));
    sse_send(p, event_output_flush(&p->carry, 2));
    sse_send(p, event_exit(res, execution_id(ex)));
    rest_log(p->rc, 200);
    http_stream_end(p->rc->c);
    free_pending(p);
}

static bool wants_events(const struct http_request *req)
{
    const char *accept = http_header(req, "accept");
    return accept && strstr(accept, "text/event-stream");
}

void rest_execute(struct rest_call *rc)
{
    static const struct exec_events sync = {.finished = sync_finished, .refused = on_refused};
    static const struct exec_events sse = {.accepted = sse_accepted, .output = sse_output,
                                           .finished = sse_finished, .refused = on_refused};
    bool events = wants_events(rc->req);
    struct pending *p = submit(rc, events ? REQ_STREAM : REQ_SYNC, events ? &sse : &sync);
    if (p)
        http_conn_on_abort(rc->c, on_abort, p);
}

/* ---- POST /api/executions ---- */

static void async_accepted(struct execution *ex, void *arg)
{
    struct pending *p = arg;
    char loc[96];
    snprintf(loc, sizeof loc, "Location: /api/executions/%s\r\n", execution_id(ex));
    rest_reply_json(p->rc, 202, json_pack("{s:s,s:s}", "id", execution_id(ex), "status",
                                          "queued"), loc);
    execution_detach(ex);
    free_pending(p);
}

void rest_submit(struct rest_call *rc)
{
    static const struct exec_events async = {.accepted = async_accepted, .refused = on_refused};
    submit(rc, REQ_ASYNC, &async);
}

/* ---- GET /api/executions[/{id}] ---- */

static void on_row(void *arg, int rc2, const struct sb_error *err, struct exec_row *row)
{
    struct rest_call *rc = arg;
    if (rc2 < 0)
        rest_reply_error(rc, SB_E_UNAVAILABLE, err->msg, "Retry-After: 5\r\n");
    else if (!row)
        rest_reply_error(rc, SB_E_NOT_FOUND, "no such execution", NULL);
    else
        rest_reply_json(rc, 200, result_json_execution(row), NULL);
    if (row) {
        exec_row_free(row);
        free(row);
    }
    free(rc);
}


void rest_get(struct rest_call *rc)
{
    if (!util_uuid_canonical(rc->param_buf[0], rc->param_buf[0])) {
        rest_reply_error(rc, SB_E_NOT_FOUND, "no such execution", NULL);
        return;
    }
    struct rest_call *k = rest_call_keep(rc);
    if (k)
        execution_lookup(rc->rest->svc, k->params[0], &k->who, on_row, k);
}

static void on_list(void *arg, int rc2, const struct sb_error *err, struct exec_row *rows,
                    size_t n, uint64_t next_cursor)
{
    struct rest_call *rc = arg;
    if (rc2 < 0)
        rest_reply_error(rc, SB_E_UNAVAILABLE, err->msg, "Retry-After: 5\r\n");
    else
        rest_reply_json(rc, 200, result_json_list(rows, n, next_cursor), NULL);
    for (size_t i = 0; i < n; i++)
        exec_row_free(&rows[i]);
    free(rows);
    free(rc);
}

void rest_list(struct rest_call *rc)
{
    char buf[64];
    uint64_t limit = 20, cursor = 0;
    int got = http_query_u64(rc->req, "limit", buf, sizeof buf, 100, &limit);
    if (got < 0 || (got > 0 && limit == 0)) {
        rest_reply_error(rc, SB_E_INVALID_ARGUMENT, "limit: an integer from 1 to 100", NULL);
        return;
    }
    got = http_query_u64(rc->req, "cursor", buf, sizeof buf, INT64_MAX, &cursor);
    if (got < 0 || (got > 0 && cursor == 0)) {
        rest_reply_error(rc, SB_E_INVALID_ARGUMENT,
                         "cursor: use next_cursor from the previous page", NULL);
        return;
    }
    struct rest_call *k = rest_call_keep(rc);
    if (k)
        execution_list(rc->rest->svc, (unsigned)limit, cursor, &k->who, on_list, k);
}
