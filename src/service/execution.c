/* Execution lifecycle: store first, then admission, the job, the record, the report. */
#include "service/execution.h"
#include "service/execution_internal.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/cluster.h"
#include "common/log.h"
#include "common/util.h"
#include "service/result_json.h"
#include "service/service.h"

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

const char *execution_id(const struct execution *ex)
{
    return ex->id;
}

/* ---- scope ---- */

static struct store_scope scope_of(const struct service *s, const struct caller *who)
{
    struct store_scope sc = {!s->auth.enabled || who->admin, who->key_id};
    return sc;
}

static bool visible(const struct execution *ex, const struct service *s, const struct caller *who)
{
    struct store_scope sc = scope_of(s, who);
    return sc.all || (ex->who.has_key && who->has_key && !strcmp(ex->who.key_id, who->key_id));
}

/* ---- freeing ---- */

static void handle_closed(uv_handle_t *h)
{
    struct execution *ex = h->data;
    if (--ex->handles == 0 && ex->finished) {
        exec_req_free(&ex->req);
        sb_buf_free(&ex->early_in);
        job_result_free(&ex->res);
        free(ex);
    }
}

static void release(struct execution *ex)
{
    ex->finished = true;
    uv_close((uv_handle_t *)&ex->stall, handle_closed);
    uv_close((uv_handle_t *)&ex->later, handle_closed);
}

/* ---- views ---- */

/* The execution as a store row (its result borrowed, not copied). */
static void as_row(const struct execution *ex, struct exec_row *row)
{
    memset(row, 0, sizeof *row);
    snprintf(row->id, sizeof row->id, "%s", ex->id);
    row->created_ms = ex->created_ms;
    row->started_ms = ex->started_ms;
    snprintf(row->state, sizeof row->state, "%s", state_name(ex->state));
    snprintf(row->mode, sizeof row->mode, "%s", exec_req_kind_name(ex->kind));
    snprintf(row->language, sizeof row->language, "%s", ex->req.lang->name);
    snprintf(row->key_id, sizeof row->key_id, "%s", ex->who.key_id);
    row->callback_url = ex->req.callback_url;
    snprintf(row->callback_state, sizeof row->callback_state, "pending");
    if (ex->state == EX_DONE) {
        row->has_result = true;
        row->result = ex->res;
        row->finished_ms = util_now_ms();
    }
}

/* ---- finishing ---- */

static void on_callback_state(void *arg, const char *id, const char *state, int attempts)
{
    struct service *s = arg;
    store_callback_state(s->store, id, state, attempts);
}

/* The stage that makes this execution a security event, if any: a seccomp
 * kill first, then a limit. */
static const struct stage_result *security_stage(const struct job_result *r, const char **event)
{
    const struct stage_result *stages[2 + 64];
    size_t n = 0;
    if (r->has_compile)
        stages[n++] = &r->compile;
    if (r->ran && !r->ncases)
        stages[n++] = &r->run;
    for (size_t i = 0; i < r->ncases && n < sizeof stages / sizeof *stages; i++)
        stages[n++] = &r->cases[i].run;
    for (size_t i = 0; i < n; i++)
        if (stages[i]->cause == SBX_CAUSE_SECCOMP)
            return *event = "seccomp_kill", stages[i];
    for (size_t i = 0; i < n; i++) {
        enum sbx_cause c = stages[i]->cause;
        if (c == SBX_CAUSE_OUTPUT || c == SBX_CAUSE_MEMORY || c == SBX_CAUSE_CPU ||
            c == SBX_CAUSE_WALL)
            return *event = "limit_exceeded", stages[i];
    }
    return NULL;
}

static const char *status_of(const struct job_result *r)
{
    return r->failed ? "internal_error" : sb_status_name(r->status);
}

static const char *detail_of(const struct job_result *r)
{
    if (r->failed)
        return r->error.msg;
    if (r->note[0])
        return r->note;
    if (r->ran && !r->ncases && r->run.message[0])
        return r->run.message;
    if (r->has_compile && r->compile.message[0])
        return r->compile.message;
    return NULL;
}

static void audit_and_count(struct execution *ex)
{
    struct service *s = ex->svc;
    const char *status = status_of(&ex->res);
    struct audit_record a = {
        .ts_ms = util_now_ms(), .event = "execution", .request_id = ex->who.request_id,
        .key_id = ex->who.has_key ? ex->who.key_id : NULL, .client = ex->who.client,
        .language = ex->req.lang->name, .code_sha256 = ex->req.code_sha256,
        .limits_json = ex->req.limits_json, .status = status, .detail = detail_of(&ex->res),
    };
    store_audit(s->store, &a);
    /* Security events get a record of their own, so they are easy to find. */
    const char *event;
    const struct stage_result *st = security_stage(&ex->res, &event);
    if (st) {
        a.event = event;
        a.detail = st->message;
        store_audit(s->store, &a);
    }
    uint64_t wall = ex->res.ran && !ex->res.ncases ? ex->res.run.wall_ms : 0;
    metrics_execution(&s->metrics, ex->req.lang->name, status, (double)wall / 1000.0);
    log_event(LOG_INFO, "execution",
              json_pack("{s:s,s:s,s:s,s:s,s:I,s:f,s:f,s:f}", "id", ex->id, "request_id",
                        ex->who.request_id, "language", ex->req.lang->name, "status", status,
                        "wall_time_ms", (json_int_t)wall, "queued_ms", ex->queued_ms,
                        "setup_ms", ex->setup_ms, "teardown_ms", ex->teardown_ms));
}

static void deliver_callback(struct execution *ex)
{
    struct exec_row row;
    as_row(ex, &row);
    json_t *view = result_json_execution(&row);
    if (view)
        callback_deliver(&ex->svc->callbacks, ex->id, ex->req.callback_url, view,
                         on_callback_state, ex->svc);
    json_decref(view);
}

void ex_report_load(struct service *s)
{
    if (!s->cluster)
        return;
    unsigned busy = s->sched.running + s->sched.reserved + s->sched.queued;
    unsigned room = service_accepting(s) && busy < s->sched.max_running
                        ? s->sched.max_running - busy : 0;
    cluster_set_load(s->cluster, s->sched.running, s->sched.queued, room);
}

/* A remote one ends here with the result another node recorded (or
 * without one: its client went away). */
void ex_finish_remote(struct execution *ex)
{
    struct service *s = ex->svc;
    ex->state = EX_DONE;
    if (!ex->detached && ex->ev.finished)
        ex->ev.finished(ex, &ex->res, ex->arg);
    list_remove(&ex->node);
    s->ninflight--;
    release(ex);
    service_check_drained(s);
}

/* The end of every execution that was recorded, whichever way it went. */
static void finish(struct execution *ex, bool was_running)
{
    struct service *s = ex->svc;
    if (ex->remote) {
        ex_finish_remote(ex);
        return;
    }
    ex->state = EX_DONE;
    store_exec_finished(s->store, ex->id, util_now_ms(), &ex->res);
    audit_and_count(ex);
    if (ex->req.callback_url)
        deliver_callback(ex);
    if (!ex->detached && ex->ev.finished)
        ex->ev.finished(ex, &ex->res, ex->arg);
    list_remove(&ex->node);
    s->ninflight--;
    release(ex);
    if (was_running)
        sched_done(&s->sched);
    ex_report_load(s);
    service_check_drained(s);
}

void ex_finish_noted(struct execution *ex, const char *why, bool was_running)
{
    job_result_free(&ex->res);
    memset(&ex->res, 0, sizeof ex->res);
    job_result_note(&ex->res, why);
    finish(ex, was_running);
}

/* Killed before it ran: the same result as a program killed at once. */
static void finish_killed(struct execution *ex, bool was_running)
{
    job_result_free(&ex->res);
    memset(&ex->res, 0, sizeof ex->res);
    ex->res.ran = true;
    ex->res.status = ex->res.run.status = SB_ST_RUNTIME_ERROR;
    ex->res.run.cause = SBX_CAUSE_KILLED;
    ex->res.run.signal = 9;
    snprintf(ex->res.run.message, sizeof ex->res.run.message, "killed on request");
    finish(ex, was_running);
}

static void on_job_output(struct job *j, int stream, const char *data, size_t len, void *arg)
{
    (void)j;
    struct execution *ex = arg;
    if (!ex->detached && !ex->cancel_why[0] && ex->ev.output)
        ex->ev.output(ex, stream, data, len, ex->arg);
}

static void note_times(struct execution *ex)
{
    const struct stage_result *st = &ex->res.run;
    if (!ex->res.ran || ex->res.ncases)
        return;
    if (st->t_started > st->t_start)
        ex->setup_ms = (double)(st->t_started - st->t_start) / 1e6;
    if (st->t_finished > st->t_exited && st->t_exited)
        ex->teardown_ms = (double)(st->t_finished - st->t_exited) / 1e6;
}

static void on_job_done(struct job *j, void *arg)
{
    struct execution *ex = arg;
    job_take_result(j, &ex->res);
    job_free(j);
    ex->job = NULL;
    if (ex->cancel_why[0]) {
        ex_finish_noted(ex, ex->cancel_why, true);
        return;
    }
    note_times(ex);
    if (ex->res.failed)
        log_event(LOG_ERROR, "execution failed",
                  json_pack("{s:s,s:s}", "id", ex->id, "error", ex->res.error.msg));
    finish(ex, true);
}

/* ---- starting ---- */

static void apply_early_controls(struct execution *ex)
{
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

static void run_job(struct execution *ex)
{
    struct service *s = ex->svc;
    struct job_request jr;
    exec_req_job(&ex->req, &jr);
    jr.net_tag = ex->id;
    if (!ex->detached && ex->ev.started)
        ex->ev.started(ex, ex->arg);
    struct sb_error err;
    ex->job = job_start(&s->runner, &jr, on_job_done, on_job_output, ex, &err);
    if (!ex->job) {
        ex->res.failed = true;
        ex->res.error = err;
        ex->res.status = SB_ST_INTERNAL_ERROR;
        finish(ex, true);
        return;
    }
    apply_early_controls(ex);
}

/* Cluster mode, queued here: runs only once the store says it is still this
 * node's (a node out of touch for too long has had its work handed over). */
static void on_start_owned(void *arg, int rc, const struct sb_error *err)
{
    struct execution *ex = arg;
    if (rc < 0) {
        ex->res.failed = true;
        ex->res.error = *err;
        ex->res.status = SB_ST_INTERNAL_ERROR;
        finish(ex, true);
    } else if (ex->cancel_why[0]) {
        ex_finish_noted(ex, ex->cancel_why, true);
    } else if (ex->kill_requested) {
        finish_killed(ex, true);
    } else {
        run_job(ex);
    }
}

static void start(struct sched_item *it)
{
    struct execution *ex = list_entry(it, struct execution, item);
    struct service *s = ex->svc;
    ex->state = EX_RUNNING;
    ex->started_ms = util_now_ms();
    ex->queued_ms = (double)(ex->started_ms - ex->created_ms);
    ex_report_load(s);
    if (ex->start_recorded) {
        run_job(ex);
    } else if (s->cluster) {
        store_exec_start_owned(s->store, ex->id, ex->started_ms, on_start_owned, ex);
    } else {
        store_exec_started(s->store, ex->id, ex->started_ms);
        run_job(ex);
    }
}

/* It could not be recorded: it never runs, and the front end answers 503. */
static void refuse(struct execution *ex, const struct sb_error *err)
{
    struct service *s = ex->svc;
    struct refusal r;
    struct sb_error e;
    sb_fail(&e, SB_E_UNAVAILABLE, "cannot record the execution: %s", err->msg);
    gate_refuse(s, &ex->who, REFUSE_STORE_FAILED, &e, &r);
    if (!ex->remote)
        sched_release(&s->sched);
    if (!ex->detached && ex->ev.refused)
        ex->ev.refused(ex, &r, ex->arg);
    list_remove(&ex->node);
    s->ninflight--;
    ex->state = EX_DONE;
    release(ex);
    service_check_drained(s);
}

static void on_persisted(void *arg, int rc, const struct sb_error *err)
{
    struct execution *ex = arg;
    struct service *s = ex->svc;
    if (rc < 0) {
        refuse(ex, err);
        return;
    }
    if (!ex->detached && ex->ev.accepted)
        ex->ev.accepted(ex, ex->arg);
    if (ex->remote) {
        /* Another node runs it: a sync client waits for the result, an
         * async one has its id and nothing waits here. */
        if (ex->cancel_why[0])
            job_result_note(&ex->res, ex->cancel_why);
        if (ex->kind != REQ_SYNC || ex->detached || ex->cancel_why[0] || ex->kill_requested)
            ex_finish_remote(ex);
        else
            ex->state = EX_QUEUED;   /* somewhere in the cluster */
        return;
    }
    if (ex->cancel_why[0] || ex->kill_requested) {
        sched_release(&s->sched);
        if (ex->cancel_why[0])
            ex_finish_noted(ex, ex->cancel_why, false);
        else
            finish_killed(ex, false);
        return;
    }
    ex->state = EX_QUEUED;
    sched_submit_reserved(&s->sched, &ex->item);
    ex_report_load(s);
}

/* Cluster mode: whether to hand this request to the shared queue instead of
 * queueing it here (no slot is free here; sync and async requests only). */
static bool hand_off(struct service *s, const struct exec_req *req, enum req_kind kind)
{
    const struct sched *q = &s->sched;
    if (!s->cluster || (kind != REQ_SYNC && kind != REQ_ASYNC) || !req->source)
        return false;
    return q->running + q->reserved + q->queued >= q->max_running;
}

static int admit(struct service *s, const struct caller *who, const struct exec_req *req,
                 bool remote, struct refusal *r)
{
    struct sb_error err;
    if (lang_probe_check(&s->probe, req->lang, &err) < 0 && !remote)
        return gate_refuse(s, who, REFUSE_UNKNOWN_LANGUAGE, &err, r);
    if (!service_accepting(s)) {
        sb_fail(&err, SB_E_UNAVAILABLE, "the server is shutting down");
        return gate_refuse(s, who, REFUSE_SHUTTING_DOWN, &err, r);
    }
    if (remote) {
        int rc = cluster_queue_take(s->cluster, &err);
        if (rc == -2)
            return gate_refuse(s, who, REFUSE_STORE_FAILED, &err, r);
        if (rc < 0) {
            sb_fail(&err, SB_E_UNAVAILABLE, "every slot and the cluster's queue (%u places) "
                    "are taken", cluster_queue_capacity(s->cluster));
            return gate_refuse(s, who, REFUSE_QUEUE_FULL, &err, r);
        }
        return 0;
    }
    if (sched_reserve(&s->sched) < 0) {
        sb_fail(&err, SB_E_UNAVAILABLE, "all %u slots and %u queue places are taken",
                s->sched.max_running, s->sched.max_queue);
        return gate_refuse(s, who, REFUSE_QUEUE_FULL, &err, r);
    }
    return 0;
}

struct execution *ex_new(struct service *s, const struct caller *who,
                                       struct exec_req *req, enum req_kind kind,
                                       const struct exec_events *ev, void *arg)
{
    struct execution *ex = calloc(1, sizeof *ex);
    if (!ex)
        return NULL;
    ex->svc = s;
    ex->item.start = start;
    ex->kind = kind;
    ex->req = *req;
    memset(req, 0, sizeof *req);
    ex->ev = *ev;
    ex->arg = arg;
    ex->who = *who;
    ex->created_ms = util_now_ms();
    util_uuid(ex->id);
    uv_timer_init(s->loop, &ex->stall);
    uv_timer_init(s->loop, &ex->later);
    ex->stall.data = ex->later.data = ex;
    ex->handles = 2;
    list_insert_head(&s->inflight, &ex->node);
    s->ninflight++;
    return ex;
}

struct execution *execution_submit(struct service *s, const struct caller *who,
                                   struct exec_req *req, enum req_kind kind,
                                   const struct exec_events *ev, void *arg, struct refusal *r)
{
    bool remote = hand_off(s, req, kind);
    if (!s->cluster) {
        json_decref(req->source);  /* only a cluster's queue needs it */
        req->source = NULL;
    }
    if (admit(s, who, req, remote, r) < 0) {
        exec_req_free(req);
        return NULL;
    }
    struct execution *ex = ex_new(s, who, req, kind, ev, arg);
    if (!ex) {
        if (!remote)
            sched_release(&s->sched);
        exec_req_free(req);
        struct sb_error e;
        sb_fail(&e, SB_E_UNAVAILABLE, "out of memory");
        gate_refuse(s, who, REFUSE_QUEUE_FULL, &e, r);
        return NULL;
    }
    ex->remote = remote;
    char *request_json = remote ? json_dumps(ex->req.source, JSON_COMPACT) : NULL;
    /* Cluster mode: one that starts at once is recorded running and this
     * node's; one that waits here is this node's, queued. */
    const struct sched *q = &s->sched;
    ex->start_recorded = s->cluster && !remote && q->running + q->reserved + q->queued <= q->max_running;
    struct exec_record rec = {
        .id = ex->id, .created_ms = ex->created_ms, .mode = exec_req_kind_name(kind),
        .language = ex->req.lang->name, .code_sha256 = ex->req.code_sha256,
        .request_id = who->request_id, .key_id = who->has_key ? who->key_id : NULL,
        .client = who->client, .limits_json = ex->req.limits_json,
        .callback_url = ex->req.callback_url,
        .node = s->cluster && !remote ? cluster_node_id(s->cluster) : NULL,
        .request_json = request_json, .started_ms = ex->start_recorded ? ex->created_ms : 0,
    };
    store_exec_insert(s->store, &rec, on_persisted, ex);
    free(request_json);
    ex_report_load(s);
    return ex;
}

/* ---- controls ---- */

static void on_later(uv_timer_t *t)
{
    struct execution *ex = t->data;
    if (ex->state != EX_QUEUED)
        return;
    sched_cancel(&ex->svc->sched, &ex->item);
    if (ex->cancel_why[0])
        ex_finish_noted(ex, ex->cancel_why, false);
    else
        finish_killed(ex, false);
}

void execution_cancel(struct execution *ex, const char *why)
{
    if (ex->state == EX_DONE || ex->cancel_why[0])
        return;
    snprintf(ex->cancel_why, sizeof ex->cancel_why, "%s", why);
    if (ex->state == EX_QUEUED)
        uv_timer_start(&ex->later, on_later, 0, 0); /* ends from the loop, not inside this call */
    else if (ex->state == EX_RUNNING && ex->job)
        job_cancel(ex->job);
    /* EX_PERSISTING: on_persisted sees cancel_why and never runs it. */
}

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
              json_pack("{s:s,s:s}", "id", ex->id, "request_id", ex->who.request_id));
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
    if (pause) {
        ex->svc->metrics.output_pauses++;
        uv_timer_start(&ex->stall, on_stall, ex->svc->cfg->server.idle_timeout_ms, 0);
    }
    else
        uv_timer_stop(&ex->stall);
}

void execution_kill(struct execution *ex)
{
    if (ex->state == EX_DONE || ex->kill_requested || ex->cancel_why[0])
        return;
    ex->kill_requested = true;
    if (ex->job)
        job_kill(ex->job);
    else if (ex->state == EX_QUEUED)
        uv_timer_start(&ex->later, on_later, 0, 0);
    /* EX_PERSISTING: on_persisted sees kill_requested and never runs it. */
}

void execution_signal(struct execution *ex, int sig)
{
    if (sig == SIGKILL)
        execution_kill(ex);
    else if (ex->state == EX_RUNNING && ex->job && !ex->kill_requested && !ex->cancel_why[0])
        job_signal(ex->job, sig);
}

void execution_detach(struct execution *ex)
{
    ex->detached = true;
}

void execution_cancel_all(struct service *s, const char *why)
{
    struct list_node *pos, *tmp;
    list_foreach_safe(pos, tmp, &s->inflight)
        execution_cancel(list_entry(pos, struct execution, node), why);
}

/* ---- lookups ---- */

static struct execution *find(struct service *s, const char *id, const struct caller *who)
{
    struct list_node *pos;
    list_foreach(pos, &s->inflight) {
        struct execution *ex = list_entry(pos, struct execution, node);
        if (!strcmp(ex->id, id) && ex->state != EX_DONE && !ex->remote)
            return visible(ex, s, who) ? ex : NULL;
    }
    return NULL;
}

void execution_lookup(struct service *s, const char *id, const struct caller *who,
                      store_row_cb cb, void *arg)
{
    struct execution *ex = find(s, id, who);
    if (!ex) {
        struct store_scope sc = scope_of(s, who);
        store_exec_get(s->store, id, &sc, cb, arg);
        return;
    }
    struct exec_row *row = malloc(sizeof *row);
    struct sb_error err;
    if (!row) {
        sb_fail(&err, SB_E_INTERNAL, "out of memory");
        cb(arg, -1, &err, NULL);
        return;
    }
    as_row(ex, row);
    row->callback_url = ex->req.callback_url ? strdup(ex->req.callback_url) : NULL;
    cb(arg, 0, NULL, row);
}

void execution_list(struct service *s, unsigned limit, uint64_t before_seq,
                    const struct caller *who, store_list_cb cb, void *arg)
{
    struct store_scope sc = scope_of(s, who);
    store_exec_list(s->store, limit, before_seq, &sc, cb, arg);
}
