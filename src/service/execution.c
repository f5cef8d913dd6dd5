/* Execution lifecycle: store first, then admission, the job, the record, the report. */
#include "service/execution.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"

enum ex_state { EX_PERSISTING, EX_QUEUED, EX_RUNNING, EX_DONE };

struct execution {
    struct sched_item item;      /* first: the scheduler hands it back */
    struct server *srv;
    char id[37];
    enum req_kind kind;
    struct exec_req req;
    struct exec_hooks hooks;
    bool detached;
    enum ex_state state;
    char request_id[129];
    char client[64];
    char key_id[65];
    bool has_key;
    uint64_t created_ms, started_ms;
    struct job *job;
    json_t *result;
    bool engine_failed;
    double queued_ms, setup_ms, teardown_ms;   /* for the log */
    char cancel_why[128];
    /* interactive controls that arrived before the job existed */
    struct sb_buf early_in;
    bool early_close, paused, kill_requested;
    uv_timer_t *stall;         /* while paused: a reader that never comes back */
    struct list_node node;     /* in the server's in-flight list */
};

static const char *state_name(enum ex_state s)
{
    switch (s) {
    case EX_PERSISTING:
    case EX_QUEUED:  return "queued";
    case EX_RUNNING: return "running";
    case EX_DONE:    return "done";
    }
    return "queued";
}

/* ---- in-flight list ---- */

static void link_ex(struct execution *ex)
{
    struct server *s = ex->srv;
    list_insert_head(&s->inflight, &ex->node);
    s->ninflight++;
}

static void unlink_ex(struct execution *ex)
{
    list_remove(&ex->node);
    ex->srv->ninflight--;
}

struct execution *execution_find(struct server *s, const char *id)
{
    struct list_node *pos;
    list_foreach(pos, &s->inflight) {
        struct execution *ex = list_entry(pos, struct execution, node);
        if (!strcmp(ex->id, id))
            return ex;
    }
    return NULL;
}

static void stop_stall(struct execution *ex)
{
    if (ex->stall) {
        uv_close((uv_handle_t *)ex->stall, (uv_close_cb)free);
        ex->stall = NULL;
    }
}

static void free_ex(struct execution *ex)
{
    stop_stall(ex);
    exec_req_free(&ex->req);
    sb_buf_free(&ex->early_in);
    json_decref(ex->result);
    free(ex);
}

/* ---- views ---- */

static void set_time(json_t *o, const char *key, uint64_t ms)
{
    char buf[40];
    util_iso_time(ms, buf, sizeof buf);
    json_object_set_new(o, key, json_string(buf));
}

json_t *execution_view(const struct execution *ex)
{
    json_t *o = ex->result ? json_deep_copy(ex->result) : json_object();
    json_object_set_new(o, "id", json_string(ex->id));
    if (!ex->result)
        json_object_set_new(o, "status", json_string(state_name(ex->state)));
    json_object_set_new(o, "language", json_string(ex->req.lang->name));
    json_object_set_new(o, "mode", json_string(req_kind_name(ex->kind)));
    set_time(o, "created_at", ex->created_ms);
    if (ex->started_ms)
        set_time(o, "started_at", ex->started_ms);
    return o;
}

const char *execution_id(const struct execution *ex)
{
    return ex->id;
}

json_t *execution_result(const struct execution *ex)
{
    return ex->result;
}

/* ---- finishing ---- */

static void on_callback_state(void *arg, const char *id, const char *state, int attempts)
{
    struct server *s = arg;
    store_callback_state(s->store, id, state, attempts);
}

static void audit_and_count(struct execution *ex, const char *status)
{
    struct server *s = ex->srv;
    const char *msg = json_string_value(json_object_get(ex->result, "message"));
    struct audit_record a = {
        .ts_ms = util_now_ms(), .event = "execution", .request_id = ex->request_id,
        .key_id = ex->has_key ? ex->key_id : NULL, .client = ex->client,
        .language = ex->req.lang->name, .code_sha256 = ex->req.code_sha256,
        .limits_json = ex->req.limits_json, .status = status, .detail = msg,
    };
    store_audit(s->store, &a);
    /* Security events get a record of their own, so they are easy to find. */
    if (msg && strstr(msg, "seccomp")) {
        a.event = "seccomp_kill";
        store_audit(s->store, &a);
    } else if (!strcmp(status, "time_limit_exceeded") || !strcmp(status, "memory_limit_exceeded") ||
               !strcmp(status, "output_limit_exceeded")) {
        a.event = "limit_exceeded";
        store_audit(s->store, &a);
    }
    double wall = (double)json_integer_value(json_object_get(ex->result, "wall_time_ms")) / 1000.0;
    metrics_execution(&s->metrics, ex->req.lang->name, status, wall);
    log_event(LOG_INFO, "execution",
              json_pack("{s:s,s:s,s:s,s:s,s:I,s:f,s:f,s:f}", "id", ex->id, "request_id",
                        ex->request_id, "language", ex->req.lang->name, "status", status,
                        "wall_time_ms",
                        json_integer_value(json_object_get(ex->result, "wall_time_ms")),
                        "queued_ms", ex->queued_ms, "setup_ms", ex->setup_ms,
                        "teardown_ms", ex->teardown_ms));
}

/* The end of every execution, whichever way it went. */
static void finish(struct execution *ex, bool was_running)
{
    struct server *s = ex->srv;
    ex->state = EX_DONE;
    json_object_set_new(ex->result, "id", json_string(ex->id));
    const char *status = json_string_value(json_object_get(ex->result, "status"));
    if (!status)
        status = "internal_error";
    store_exec_finished(s->store, ex->id, util_now_ms(), status, ex->result);
    audit_and_count(ex, status);
    if (ex->req.callback_url) {
        json_t *view = execution_view(ex);
        callback_deliver(s->loop, &s->cbcfg, ex->id, ex->req.callback_url, view,
                         on_callback_state, s);
        json_decref(view);
    }
    if (!ex->detached && ex->hooks.finished)
        ex->hooks.finished(ex, ex->hooks.arg);
    unlink_ex(ex);
    free_ex(ex);
    if (was_running)
        sched_done(&s->sched);
    server_execution_ended(s);
}

static json_t *cancelled_result(const char *why)
{
    return json_pack("{s:s,s:s,s:n,s:s,s:s,s:n,s:i,s:i,s:i,s:b,s:s}", "stdout", "", "stderr", "",
                     "exit_code", "execution_time", "0ms", "status", "internal_error",
                     "signal", "wall_time_ms", 0, "cpu_time_ms", 0, "memory_kb", 0,
                     "truncated", 0, "message", why);
}

static json_t *killed_result(void)
{
    return json_pack("{s:s,s:s,s:n,s:s,s:s,s:i,s:i,s:i,s:i,s:b,s:s}", "stdout", "", "stderr", "",
                     "exit_code", "execution_time", "0ms", "status", "runtime_error",
                     "signal", 9, "wall_time_ms", 0, "cpu_time_ms", 0, "memory_kb", 0,
                     "truncated", 0, "message", "killed on request");
}

static void on_job_output(struct job *j, int stream, const char *data, size_t len, void *arg)
{
    (void)j;
    struct execution *ex = arg;
    if (!ex->detached && !ex->cancel_why[0] && ex->hooks.output)
        ex->hooks.output(ex, stream, data, len, ex->hooks.arg);
}

static void on_job_done(struct job *j, void *arg)
{
    struct execution *ex = arg;
    const struct job_result *r = job_result(j);
    if (ex->cancel_why[0]) {
        ex->result = cancelled_result(ex->cancel_why);
    } else {
        ex->result = job_result_json(r);
        ex->engine_failed = r->failed;
        if (r->ran) {
            const struct stage_result *st = &r->run;
            if (st->t_started > st->t_start)
                ex->setup_ms = (double)(st->t_started - st->t_start) / 1e6;
            if (st->t_finished > st->t_exited && st->t_exited)
                ex->teardown_ms = (double)(st->t_finished - st->t_exited) / 1e6;
        }
        if (r->failed)
            log_event(LOG_ERROR, "execution failed",
                      json_pack("{s:s,s:s}", "id", ex->id, "error", r->error.msg));
    }
    job_free(j);
    ex->job = NULL;
    finish(ex, true);
}

static void start(struct sched_item *it)
{
    struct execution *ex = (struct execution *)it;
    struct server *s = ex->srv;
    ex->state = EX_RUNNING;
    ex->started_ms = util_now_ms();
    ex->queued_ms = (double)(ex->started_ms - ex->created_ms);
    store_exec_started(s->store, ex->id, ex->started_ms);
    struct job_request jr;
    exec_req_job(&ex->req, &jr);
    struct sb_error err;
    ex->job = job_start(&s->runner, &jr, on_job_done, on_job_output, ex, &err);
    if (!ex->job) {
        ex->result = cancelled_result(err.msg);
        ex->engine_failed = true;
        finish(ex, true);
        return;
    }
    /* What the client did while the execution was queued. */
    if (ex->early_in.len)
        job_stdin_write(ex->job, ex->early_in.data, ex->early_in.len);
    sb_buf_free(&ex->early_in);
    if (ex->early_close)
        job_stdin_close(ex->job);
    if (ex->paused)
        job_output_pause(ex->job, true);
    if (ex->kill_requested)
        job_kill(ex->job);
}

static void on_persisted(void *arg, int rc, const struct sb_error *err, json_t *data)
{
    struct execution *ex = arg;
    json_decref(data);
    struct server *s = ex->srv;
    if (rc < 0) {
        sched_release(&s->sched);
        if (!ex->detached && ex->hooks.persisted)
            ex->hooks.persisted(ex, -1, err, ex->hooks.arg);
        unlink_ex(ex);
        free_ex(ex);
        server_execution_ended(s);
        return;
    }
    if (!ex->detached && ex->hooks.persisted)
        ex->hooks.persisted(ex, 0, NULL, ex->hooks.arg);
    if (ex->cancel_why[0] || ex->kill_requested) {
        sched_release(&s->sched);
        ex->result = ex->cancel_why[0] ? cancelled_result(ex->cancel_why) : killed_result();
        finish(ex, false);
        return;
    }
    ex->state = EX_QUEUED;
    sched_submit_reserved(&s->sched, &ex->item);
}

struct execution *execution_create(struct server *s, struct exec_req *req, enum req_kind kind,
                                   const struct exec_meta *meta, const struct exec_hooks *hooks,
                                   struct sb_error *err)
{
    if (s->stopping) {
        exec_req_free(req);
        return sb_fail(err, SB_E_UNAVAILABLE, "the server is shutting down"), NULL;
    }
    if (sched_reserve(&s->sched) < 0) {
        exec_req_free(req);
        return sb_fail(err, SB_E_UNAVAILABLE, "all %u slots and %u queue places are taken",
                       s->sched.max_running, s->sched.max_queue), NULL;
    }
    struct execution *ex = calloc(1, sizeof *ex);
    if (!ex) {
        sched_release(&s->sched);
        exec_req_free(req);
        return sb_fail(err, SB_E_INTERNAL, "out of memory"), NULL;
    }
    ex->srv = s;
    ex->item.start = start;
    ex->kind = kind;
    ex->req = *req;
    memset(req, 0, sizeof *req);
    ex->hooks = *hooks;
    ex->created_ms = util_now_ms();
    util_uuid(ex->id);
    snprintf(ex->request_id, sizeof ex->request_id, "%s", meta->request_id ? meta->request_id : "");
    snprintf(ex->client, sizeof ex->client, "%s", meta->client ? meta->client : "");
    if (meta->key_id) {
        ex->has_key = true;
        snprintf(ex->key_id, sizeof ex->key_id, "%s", meta->key_id);
    }
    link_ex(ex);
    struct exec_record rec = {
        .id = ex->id, .created_ms = ex->created_ms, .mode = req_kind_name(kind),
        .language = ex->req.lang->name, .code_sha256 = ex->req.code_sha256,
        .request_id = ex->request_id, .key_id = meta->key_id, .client = ex->client,
        .limits_json = ex->req.limits_json, .callback_url = ex->req.callback_url,
    };
    store_exec_insert(s->store, &rec, on_persisted, ex);
    return ex;
}

void execution_cancel(struct execution *ex, const char *why)
{
    if (ex->state == EX_DONE || ex->cancel_why[0])
        return;
    snprintf(ex->cancel_why, sizeof ex->cancel_why, "%s", why);
    if (ex->state == EX_QUEUED && sched_cancel(&ex->srv->sched, &ex->item)) {
        ex->result = cancelled_result(why);
        finish(ex, false);
    } else if (ex->state == EX_RUNNING && ex->job) {
        job_cancel(ex->job);
    }
    /* EX_PERSISTING: on_persisted sees cancel_why and never runs it. */
}

/* ---- interactive controls ---- */

/* Stdin held for an execution that has not started, like the job's bound. */
#define EARLY_STDIN_MAX (1u << 20)

int execution_stdin_write(struct execution *ex, const void *data, size_t len)
{
    if (ex->state == EX_DONE || !ex->req.interactive || ex->early_close)
        return -1;
    if (ex->job)
        return job_stdin_write(ex->job, data, len);
    if (ex->state == EX_RUNNING)
        return -1;
    if (ex->early_in.len + len > EARLY_STDIN_MAX)
        return -2;
    sb_buf_append(&ex->early_in, data, len);
    return ex->early_in.oom ? -2 : 0;
}

void execution_stdin_close(struct execution *ex)
{
    if (ex->state == EX_DONE || !ex->req.interactive || ex->early_close)
        return;
    ex->early_close = true;
    if (ex->job)
        job_stdin_close(ex->job);
}

static void on_stall(uv_timer_t *t)
{
    struct execution *ex = t->data;
    log_event(LOG_WARN, "client stopped reading",
              json_pack("{s:s,s:s}", "id", ex->id, "request_id", ex->request_id));
    execution_cancel(ex, "cancelled: the client stopped reading the output");
}

void execution_output_pause(struct execution *ex, bool pause)
{
    if (ex->state == EX_DONE || ex->paused == pause)
        return;
    ex->paused = pause;
    if (ex->job)
        job_output_pause(ex->job, pause);
    /* A paused program holds a sandbox: a reader gone quiet for as long as an
     * idle connection may be loses it. */
    if (!pause) {
        stop_stall(ex);
    } else if ((ex->stall = malloc(sizeof *ex->stall))) {
        uv_timer_init(ex->srv->loop, ex->stall);
        ex->stall->data = ex;
        uv_timer_start(ex->stall, on_stall, ex->srv->cfg->server.idle_timeout_ms, 0);
    }
}

void execution_kill(struct execution *ex)
{
    if (ex->state == EX_DONE || ex->kill_requested || ex->cancel_why[0])
        return;
    ex->kill_requested = true;
    if (ex->job) {
        job_kill(ex->job);
    } else if (ex->state == EX_QUEUED && sched_cancel(&ex->srv->sched, &ex->item)) {
        ex->result = killed_result();
        finish(ex, false);
    }
    /* EX_PERSISTING: on_persisted sees kill_requested and never runs it. */
}

void execution_detach(struct execution *ex)
{
    ex->detached = true;
}

void execution_cancel_all(struct server *s, const char *why)
{
    struct list_node *pos, *tmp;
    list_foreach_safe(pos, tmp, &s->inflight)
        execution_cancel(list_entry(pos, struct execution, node), why); /* may free it */
}

bool execution_engine_failed(const struct execution *ex)
{
    return ex->engine_failed;
}
