/* GET /api/v2/connect: Piston's interactive WebSocket (init, data, signal; runtime, stage, data, exit, error) over one interactive execution. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "frontend/piston/piston.h"
#include "frontend/request.h"
#include "frontend/ws/wsconn.h"
#include "runner/result.h"
#include "service/execution.h"
#include "service/result_json.h"

#define INIT_TIMEOUT_MS 1000

enum pws_state { PWS_WAIT_INIT, PWS_RUNNING, PWS_DONE };

struct pws {
    struct wsconn conn;            /* first: wsconn_accept allocates the whole */
    struct service *s;
    enum pws_state state;
    struct caller who;
    struct execution *ex;
    struct piston_rt *rts;
    const struct piston_rt *rt;
    bool compiled;                 /* a compile stage comes first */
    bool run_announced;            /* "stage": "run" sent */
};

static void send_json(struct pws *w, json_t *ev)
{
    wsconn_send_json(&w->conn, ev);
}

static void close_with(struct pws *w, uint16_t code, const char *reason)
{
    wsconn_close(&w->conn, code, reason);
}

static void fail(struct pws *w, const char *msg)
{
    send_json(w, json_pack("{s:s,s:s}", "type", "error", "message", msg));
    close_with(w, 4002, "Notified Error");
}

static void send_stage(struct pws *w, const char *stage)
{
    send_json(w, json_pack("{s:s,s:s}", "type", "stage", "stage", stage));
}

static void send_data(struct pws *w, int stream, const char *data, size_t len)
{
    if (!len)
        return;
    json_t *d = result_json_bytes(data, len, NULL);
    send_json(w, json_pack("{s:s,s:s,s:o*}", "type", "data", "stream",
                           stream == 2 ? "stderr" : "stdout", "data", d));
}

static void send_exit(struct pws *w, const char *stage, const struct stage_result *st)
{
    json_t *code, *sig;
    piston_stage_code(st, &code, &sig);
    send_json(w, json_pack("{s:s,s:s,s:o,s:o}", "type", "exit", "stage", stage, "code", code,
                           "signal", sig));
}

/* A compiled program's first output: its compile stage ended well. */
static void announce_run(struct pws *w)
{
    if (w->run_announced)
        return;
    w->run_announced = true;
    if (w->compiled)
        send_json(w, json_pack("{s:s,s:s,s:i,s:n}", "type", "exit", "stage", "compile", "code",
                               0, "signal"));
    send_stage(w, "run");
}

/* ---- the execution's hooks ---- */

static void on_output(struct execution *ex, int stream, const char *data, size_t len, void *arg)
{
    (void)ex;
    struct pws *w = arg;
    announce_run(w);
    send_data(w, stream, data, len);
    wsconn_flush(&w->conn);
}

static void on_finished(struct execution *ex, const struct job_result *res, void *arg)
{
    (void)ex;
    struct pws *w = arg;
    w->ex = NULL;
    w->state = PWS_DONE;
    if (res->failed) {
        fail(w, res->error.msg);
    } else if (res->has_compile && res->status == SB_ST_COMPILE_ERROR) {
        send_data(w, 1, res->compile.out.data, res->compile.out.len);
        send_data(w, 2, res->compile.err.data, res->compile.err.len);
        send_exit(w, "compile", &res->compile);
        close_with(w, 4999, "Job Completed");
    } else {
        announce_run(w);
        struct stage_result empty;
        if (!res->ran)
            result_empty_stage(res, &empty);
        send_exit(w, "run", res->ran ? &res->run : &empty);
        close_with(w, 4999, "Job Completed");
    }
    wsconn_flush(&w->conn);
}

static void on_refused(struct execution *ex, const struct refusal *r, void *arg)
{
    (void)ex;
    struct pws *w = arg;
    w->ex = NULL;
    w->state = PWS_DONE;
    fail(w, r->err.msg);
    wsconn_flush(&w->conn);
}

/* ---- client messages ---- */

static void do_init(struct pws *w, json_t *msg)
{
    static const struct exec_events events = {.output = on_output, .finished = on_finished,
                                              .refused = on_refused};
    struct refusal r;
    if (gate_rate(w->s, &w->who, &r) < 0)
        return fail(w, r.err.msg);
    struct piston_job job;
    char why[300];
    size_t n;
    w->rts = piston_runtimes_list(&w->s->probe, &n);
    if (piston_job_build(msg, w->rts, n, w->s->cfg, true, &job, why, sizeof why) < 0) {
        json_decref(job.native);
        return fail(w, why);
    }
    struct exec_req er;
    struct sb_error err;
    int rc = exec_req_from_json(job.native, w->s->cfg, &w->s->registry, REQ_INTERACTIVE, &er,
                                &err);
    json_decref(job.native);
    if (rc < 0) {
        gate_refuse(w->s, &w->who, gate_reason_of(&err), &err, &r);
        return fail(w, err.msg);
    }
    w->rt = job.rt;
    w->compiled = w->rt->lang->compile != NULL;
    uv_timer_stop(&w->conn.timer);
    w->state = PWS_RUNNING;
    send_json(w, json_pack("{s:s,s:s,s:s}", "type", "runtime", "language", w->rt->name,
                           "version", w->rt->version));
    send_stage(w, w->compiled ? "compile" : "run");
    w->run_announced = !w->compiled;
    w->ex = execution_submit(w->s, &w->who, &er, REQ_INTERACTIVE, &events, w, &r);
    if (!w->ex) {
        w->state = PWS_DONE;
        fail(w, r.err.msg);
    }
}

static void do_data(struct pws *w, json_t *msg)
{
    const char *stream = json_string_value(json_object_get(msg, "stream"));
    json_t *data = json_object_get(msg, "data");
    if (!stream || strcmp(stream, "stdin"))
        return close_with(w, 4004, "Can only write to stdin");
    if (w->ex && json_is_string(data))
        execution_stdin_write(w->ex, json_string_value(data), json_string_length(data));
}

static void do_signal(struct pws *w, json_t *msg)
{
    int sig = piston_signal_number(json_string_value(json_object_get(msg, "signal")));
    if (sig < 0)
        return close_with(w, 4005, "Invalid signal");
    if (w->ex)
        execution_signal(w->ex, sig);
}

static void on_message(struct pws *w, const char *text, size_t len)
{
    json_error_t je;
    json_t *msg = json_loadb(text, len, 0, &je);
    if (!json_is_object(msg)) {
        fail(w, msg ? "message must be a JSON object" : je.text);
        json_decref(msg);
        return;
    }
    const char *type = json_string_value(json_object_get(msg, "type"));
    type = type ? type : "";
    bool init = w->state == PWS_WAIT_INIT;
    if (!strcmp(type, "init"))
        init ? do_init(w, msg) : close_with(w, 4000, "Already Initialized");
    else if ((!strcmp(type, "data") || !strcmp(type, "signal")) && init)
        close_with(w, 4003, "Not yet initialized");
    else if (!strcmp(type, "data"))
        do_data(w, msg);
    else if (!strcmp(type, "signal"))
        do_signal(w, msg);
    json_decref(msg);
}

/* text and binary messages alike */
static void on_frame(void *arg, bool binary, const char *data, size_t len)
{
    (void)binary;
    on_message(arg, data, len);
}

/* ---- the connection ---- */

static void free_pws(void *arg)
{
    struct pws *w = arg;
    free(w->rts);
    free(w);
}

/* the client has a moment to answer the close */
static void on_close_sent(void *arg)
{
    struct pws *w = arg;
    wsconn_timer(&w->conn, 5000);
}

static void on_closed(void *arg)
{
    struct pws *w = arg;
    if (w->ex) { /* the client is gone: so is its sandbox */
        struct execution *ex = w->ex;
        w->ex = NULL;
        execution_detach(ex);
        execution_cancel(ex, "cancelled: the client disconnected");
    }
}

/* No init within a second: 4001; after the close: the client did not answer it. */
static void on_timeout(void *arg)
{
    struct pws *w = arg;
    if (w->conn.close_queued) {
        http_raw_close(w->conn.c);
        return;
    }
    if (w->state == PWS_WAIT_INIT)
        close_with(w, 4001, "Initialization Timeout");
    wsconn_flush(&w->conn);
}

static const struct wsconn_ops conn_ops = {.message = on_frame, .closed = on_closed,
                                           .close_sent = on_close_sent, .timeout = on_timeout,
                                           .freed = free_pws};

void piston_connect(struct rest_call *rc)
{
    struct service *s = rc->rest->svc;
    if (!rc->rest->svc->cfg->compat.piston || !http_header(rc->req, "upgrade")) {
        if (!piston_claims_unknown(rc))
            rest_reply_error(rc, SB_E_NOT_FOUND, "no such endpoint (the Piston API is off: "
                             "compat.piston)", NULL);
        return;
    }
    if (s->auth.enabled && !rc->who.has_key) {
        rest_reply_error(rc, SB_E_UNAUTHENTICATED, "an API key is required (Authorization: "
                         "Bearer or X-API-Key on the upgrade request)", NULL);
        return;
    }
    struct pws *w = wsconn_accept(rc, sizeof *w, 0, &conn_ops);
    if (!w)
        return;
    w->s = s;
    w->who = rc->who;
    w->who.frontend = "piston";
    wsconn_timer(&w->conn, INIT_TIMEOUT_MS);
    wsconn_upgrade(&w->conn, rc);
}
