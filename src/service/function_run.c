/* Invocations: admission (per-version instances and queue, the server's run slots), a fresh sandbox per invocation or a warm instance, the handler's value or stdout made the HTTP response, and each end logged, counted and called back. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base64.h"
#include "common/log.h"
#include "common/util.h"
#include "service/callback_policy.h"
#include "service/function_internal.h"
#include "service/service.h"

static void inv_start_job(struct fn_invocation *inv);
static void job_gone(struct fn_invocation *inv);
/* ---- the end of an invocation ---- */

static void count(struct fn_version *v, bool warm, const char *status, double seconds)
{
    int k = sb_status_from_name(status);
    v->stats.invocations[warm][k < 0 ? FN_REFUSED : k]++;
    if (k < 0)
        return;     /* refused: it never ran */
    static const double bounds[FN_BUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                              0.25, 0.5, 1, 2.5, 10};
    for (size_t i = 0; i < FN_BUCKETS; i++)
        if (seconds <= bounds[i])
            v->stats.buckets[i]++;
    v->stats.sum_s += seconds;
    v->stats.count++;
}

static void deliver_callback(struct fn_invocation *inv, json_t *log)
{
    json_t *payload = json_pack("{s:s,s:s,s:O}", "function", inv->v->fn->name, "invocation_id",
                                inv->id, "invocation", log);
    if (payload)
        callback_deliver(&inv->svc->callbacks, inv->id, inv->callback_url, payload, NULL, NULL);
    json_decref(payload);
}

/* "Name: value\r\n" lines -> {"name": "value"}. */
static json_t *headers_json(const char *lines)
{
    json_t *o = json_object();
    while (o && lines && *lines) {
        const char *end = strstr(lines, "\r\n"), *colon = strchr(lines, ':');
        if (!end || !colon || colon > end)
            break;
        char name[257];
        snprintf(name, sizeof name, "%.*s", (int)(colon - lines), lines);
        for (char *c = name; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        colon += colon[1] == ' ' ? 2 : 1;
        json_object_set_new(o, name, json_stringn(colon, (size_t)(end - colon)));
        lines = end + 2;
    }
    return o;
}

static json_t *response_json(const struct fn_response *r)
{
    bool text = fn_utf8_ok(r->body, r->body_len);
    char *b64 = text ? NULL : base64_encode(r->body, r->body_len);
    json_t *o = json_pack("{s:i,s:s?,s:o,s:s%,s:b}", "status", r->status, "content_type",
                          r->content_type, "headers", headers_json(r->headers),
                          "body", text ? r->body : (b64 ? b64 : ""),
                          text ? r->body_len : (b64 ? strlen(b64) : 0), "is_base64", !text);
    free(b64);
    return o;
}

static void inv_free(struct fn_invocation *inv)
{
    free(inv->error);
    json_decref(inv->response);
    sb_buf_free(&inv->out);
    free(inv->line);
    free(inv->event_json);
    free(inv->callback_url);
    sb_buf_free(&inv->logs);
    fn_version_unref(inv->v);
    free(inv);
}

static void on_timer_closed(uv_handle_t *h)
{
    inv_free(h->data);
}

/* Its entry in the function's logs, as far as it is known (replaced at its end). */
static json_t *record(struct fn_invocation *inv, const char *logs)
{
    struct fn_version *v = inv->v;
    struct fn_log l = {.version = v->number, .started_ms = inv->started_ms,
                       .duration_ms = inv->answer_s * 1000, .cold = inv->cold,
                       .async = inv->async, .done = true, .http_status = inv->http_status,
                       .error = inv->error ? strdup(inv->error) : NULL,
                       .response = inv->response ? json_deep_copy(inv->response) : NULL,
                       .logs = logs && *logs ? strdup(logs) : NULL};
    snprintf(l.id, sizeof l.id, "%s", inv->id);
    snprintf(l.request_id, sizeof l.request_id, "%s", inv->request_id);
    snprintf(l.status, sizeof l.status, "%s", inv->status);
    json_t *payload = inv->callback_url && inv->finished
        ? json_pack("{s:s,s:I,s:s,s:i,s:f,s:s?,s:O?}", "id", l.id, "version",
                    (json_int_t)l.version, "status", l.status, "http_status", l.http_status,
                    "duration_ms", l.duration_ms, "error", l.error, "response", inv->response)
        : NULL;
    if (!v->fn->deleted)
        fn_log_add(v->fn, &l);
    else
        fn_log_entry_free(inv->svc->functions, &l);
    return payload;
}

void fn_invocation_answer(struct fn_invocation *inv, const char *status,
                          struct fn_response *resp, const struct sb_error *err,
                          const char *logs)
{
    if (inv->answered) {
        if (resp)
            fn_response_free(resp);
        return;
    }
    inv->answered = true;
    inv->answer_s = (double)(util_mono_ns() - inv->t0_ns) / 1e9;
    inv->http_status = resp ? resp->status : sb_code_http(err->code);
    snprintf(inv->status, sizeof inv->status, "%s", status);
    if (err) {                  /* (a function's own error was kept by fn_error_response) */
        free(inv->error);
        inv->error = strdup(err->msg);
    }
    if (inv->async && resp)
        inv->response = response_json(resp);
    json_decref(record(inv, logs));
    if (inv->done)
        inv->done(inv->arg, resp, resp ? NULL : err, 0);
    else if (resp)
        fn_response_free(resp);
    inv->done = NULL;
}

void fn_invocation_end(struct fn_invocation *inv, const char *status, struct fn_response *resp,
                       const struct sb_error *err, const char *logs)
{
    if (inv->finished)
        return;
    struct fn_version *v = inv->v;
    struct service *svc = inv->svc;
    fn_invocation_answer(inv, status, resp, err, logs);
    inv->finished = true;
    svc->functions->ninvocations--;
    count(v, !inv->cold, inv->status, inv->answer_s);
    json_t *payload = record(inv, logs);     /* complete: the cold flag, all its logs */
    if (payload)
        deliver_callback(inv, payload);
    json_decref(payload);
    uv_close((uv_handle_t *)&inv->timer, on_timer_closed);  /* stops it; frees inv */
    service_check_drained(svc);
}

/* ---- without reuse: a job per invocation ---- */

static void on_job_done(struct job *j, void *arg)
{
    struct fn_invocation *inv = arg;
    struct fn_version *v = inv->v;
    struct service *svc = inv->svc;
    const struct job_result *r = job_result(j);
    struct fn_response resp;
    inv->job = NULL;
    job_gone(inv);
    sched_done(&svc->sched);
    inv->cold = !r->run.warm;
    struct sb_error cancelled;
    if (inv->cancelled[0]) {
        sb_fail(&cancelled, SB_E_UNAVAILABLE, "%s", inv->cancelled);
        fn_invocation_end(inv, "internal_error", NULL, &cancelled, NULL);
    } else if (r->failed) {
        fn_invocation_end(inv, "internal_error", NULL, &r->error, NULL);
    } else {
        const char *logs;
        const char *status = fn_job_answer(inv, r, &resp, &logs);
        fn_invocation_end(inv, status, &resp, NULL, logs);
        free((char *)logs);
    }
    job_free(j);
    fn_run_next(v);
}

/* A handler's response line is the answer as soon as it is written: the
 * sandbox's exit and teardown come after, off the caller's time. */
static void on_job_output(struct job *j, int stream, const char *data, size_t len, void *arg)
{
    struct fn_invocation *inv = arg;
    (void)j;
    if (stream != 1 || inv->answered || inv->v->mode != FN_HANDLER ||
        inv->out.len + len > (1u << 20) + inv->v->req.limits.output_bytes * 2)
        return;
    sb_buf_append(&inv->out, data, len);
    const char *nl = memchr(inv->out.data, '\n', inv->out.len);
    if (!nl)
        return;
    json_t *line = json_loadb(inv->out.data, (size_t)(nl - inv->out.data), 0, NULL);
    const char *type = json_string_value(json_object_get(line, "type"));
    if (type && !strcmp(type, "response")) {
        struct fn_response resp;
        const char *status = fn_answer_line(inv, line, &resp);
        fn_invocation_answer(inv, status, &resp, NULL,
                             json_string_value(json_object_get(line, "logs")));
    }
    json_decref(line);
    sb_buf_free(&inv->out);
}

/* "KEY=VALUE" for this invocation's context (stdio mode reads it). */
static char *ctx_env(const char *k, const char *v)
{
    size_t n = strlen(k) + strlen(v) + 2;
    char *kv = malloc(n);
    if (kv)
        snprintf(kv, n, "%s=%s", k, v);
    return kv;
}

static void inv_start_job(struct fn_invocation *inv)
{
    struct fn_version *v = inv->v;
    struct job_request jr;
    exec_req_job(&v->req, &jr);
    char num[16];
    snprintf(num, sizeof num, "%u", v->number);
    const char *args[] = {"once", v->module, v->func};
    size_t nenv = v->req.nenv;
    const char **env = calloc(nenv + 4, sizeof *env);
    char *extra[3] = {ctx_env("SOULBOX_FUNCTION", v->fn->name),
                      ctx_env("SOULBOX_FUNCTION_VERSION", num),
                      ctx_env("SOULBOX_REQUEST_ID", inv->request_id)};
    struct sb_error err;
    if (!env || !extra[0] || !extra[1] || !extra[2]) {
        sb_fail(&err, SB_E_INTERNAL, "out of memory");
    } else {
        memcpy(env, v->req.env, nenv * sizeof *env);
        for (int i = 0; i < 3; i++)
            env[nenv++] = extra[i];
        jr.env = env;
        jr.nenv = nenv;
        if (v->mode == FN_HANDLER) {
            jr.args = args;
            jr.nargs = 3;
            jr.stdin_data = inv->line;
            jr.stdin_len = inv->line_len;
        } else {
            jr.stdin_data = inv->event_json;
            jr.stdin_len = inv->event_len;
        }
        inv->job = job_start(&inv->svc->runner, &jr, on_job_done, on_job_output, inv, &err);
    }
    free(env);
    for (int i = 0; i < 3; i++)
        free(extra[i]);
    if (!inv->job) {
        job_gone(inv);
        sched_done(&inv->svc->sched);
        fn_invocation_end(inv, "internal_error", NULL, &err, NULL);
    }
}

struct sched_wait {
    struct sched_item item;
    struct fn_invocation *inv;
};

static void on_slot(struct sched_item *it)
{
    struct sched_wait *w = (struct sched_wait *)it;
    struct fn_invocation *inv = w->inv;
    inv->wait = NULL;
    free(w);
    inv_start_job(inv);
}

/* Counts inv against max_instances and asks the server for a run slot (it
 * may start at once): 0, or -1 when the server's queue is full. */
static int submit_job(struct fn_invocation *inv)
{
    struct fn_version *v = inv->v;
    struct sched_wait *w = calloc(1, sizeof *w);
    if (!w)
        return -1;
    w->inv = inv;
    w->item.start = on_slot;
    inv->wait = w;
    v->nrunning++;
    list_insert_tail(&v->jobs, &inv->node);
    if (sched_submit(&inv->svc->sched, &w->item) < 0) {
        list_remove(&inv->node);
        v->nrunning--;
        inv->wait = NULL;
        free(w);
        return -1;
    }
    return 0;
}

/* It no longer counts against max_instances. */
static void job_gone(struct fn_invocation *inv)
{
    list_remove(&inv->node);
    inv->v->nrunning--;
}

/* ---- admission ---- */

static bool may_grow(struct fn_version *v)
{
    struct fn_registry *r = v->fn->svc->functions;
    return v->ninstances < v->max_instances &&
           r->ninstances < v->fn->svc->cfg->functions.max_instances_total;
}

void fn_dequeue(struct fn_invocation *inv)
{
    list_remove(&inv->node);
    inv->v->nqueued--;
    inv->queued = false;
}

void fn_invocation_fail(struct fn_invocation *inv, const char *status, const char *why)
{
    struct fn_response resp;
    fn_error_response(inv, status, why, NULL, &resp);
    char *logs = inv->logs.len ? sb_buf_steal(&inv->logs, NULL) : NULL;
    fn_invocation_end(inv, status, &resp, NULL, logs);
    free(logs);
}

void fn_run_next(struct fn_version *v)
{
    while (!list_empty(&v->queue)) {
        struct fn_invocation *inv = list_entry(v->queue.next, struct fn_invocation, node);
        if (v->reuse) {
            struct fn_instance *in = fn_instance_free_slot(v);
            if (!in)
                break;
            fn_dequeue(inv);
            fn_instance_send(in, inv);
            continue;
        }
        if (v->nrunning >= v->max_instances)
            break;
        fn_dequeue(inv);
        if (submit_job(inv) < 0) {
            struct sb_error e;
            sb_fail(&e, SB_E_UNAVAILABLE, "the server's queue is full");
            fn_invocation_end(inv, "refused", NULL, &e, NULL);
        }
    }
    struct sb_error e;
    /* waiting invocations beyond what starting instances will take: one more */
    if (v->reuse && v->nqueued > v->nstarting * v->concurrency && may_grow(v) &&
        fn_instance_start(v, &e) < 0)
        log_msg(LOG_WARN, "function %s version %u: %s", v->fn->name, v->number, e.msg);
}

void fn_fail_queue(struct fn_version *v, const char *why)
{
    struct sb_error e;
    sb_fail(&e, SB_E_UNAVAILABLE, "%s", why);
    while (!list_empty(&v->queue)) {
        struct fn_invocation *inv = list_entry(v->queue.next, struct fn_invocation, node);
        fn_dequeue(inv);
        fn_invocation_end(inv, "refused", NULL, &e, NULL);
    }
}

/* The envelope the runtime reads, and the event alone for stdio mode. */
static int build_input(struct fn_invocation *inv, json_t *event, struct sb_error *err)
{
    struct fn_version *v = inv->v;
    char *ev = json_dumps(event, JSON_COMPACT);
    if (!ev)
        return sb_fail(err, SB_E_INTERNAL, "out of memory");
    inv->event_json = ev;
    inv->event_len = strlen(ev);
    if (inv->event_len > FN_EVENT_MAX_BYTES)
        return sb_fail(err, SB_E_PAYLOAD_TOO_LARGE, "the event is %zu bytes as JSON, at most "
                       "%u", inv->event_len, FN_EVENT_MAX_BYTES);
    if (v->mode != FN_HANDLER)
        return 0;
    uint64_t mem = v->req.limits.memory_kb / 1024;
    json_t *env = json_pack("{s:s,s:O,s:{s:s,s:I,s:s,s:I,s:I}}", "id", inv->id, "event", event,
                            "context", "function_name", v->fn->name, "function_version",
                            (json_int_t)v->number, "request_id", inv->request_id,
                            "deadline_ms", (json_int_t)inv->deadline_ms, "memory_limit_mb",
                            (json_int_t)mem);
    char *line = env ? json_dumps(env, JSON_COMPACT) : NULL;
    json_decref(env);
    if (!line)
        return sb_fail(err, SB_E_INTERNAL, "out of memory");
    inv->line_len = strlen(line) + 1;
    inv->line = realloc(line, inv->line_len + 1);
    if (!inv->line) {
        free(line);
        return sb_fail(err, SB_E_INTERNAL, "out of memory");
    }
    inv->line[inv->line_len - 1] = '\n';
    inv->line[inv->line_len] = '\0';
    return 0;
}

static struct fn_invocation *inv_new(struct service *svc, struct fn_version *v,
                                     const struct caller *who, json_t *event,
                                     struct sb_error *err)
{
    struct fn_invocation *inv = calloc(1, sizeof *inv);
    if (!inv)
        return sb_fail(err, SB_E_INTERNAL, "out of memory"), NULL;
    inv->svc = svc;
    inv->v = v;
    v->refs++;
    util_uuid(inv->id);
    snprintf(inv->request_id, sizeof inv->request_id, "%s",
             who->request_id[0] ? who->request_id : inv->id);
    inv->t0_ns = util_mono_ns();
    inv->started_ms = util_now_ms();
    inv->deadline_ms = inv->started_ms + v->timeout_ms;
    inv->cold = true;
    uv_timer_init(svc->loop, &inv->timer);
    inv->timer.data = inv;
    if (build_input(inv, event, err) < 0) {
        uv_close((uv_handle_t *)&inv->timer, on_timer_closed);
        return NULL;
    }
    return inv;
}

static void inv_discard(struct fn_invocation *inv)
{
    uv_close((uv_handle_t *)&inv->timer, on_timer_closed);
}

/* inv is refused at admission: not counted as under way, counted as refused. */
static void refused(struct fn_invocation *inv, unsigned *retry)
{
    inv->svc->functions->ninvocations--;
    count(inv->v, false, "refused", 0);
    *retry = 1;
}

/* Starts inv now or queues it: 0, or -1 with err (429 / 503) and retry. */
static int admit(struct fn_invocation *inv, struct sb_error *err, unsigned *retry)
{
    struct fn_version *v = inv->v;
    struct service *svc = inv->svc;
    struct fn_instance *in = v->reuse && list_empty(&v->queue) ? fn_instance_free_slot(v)
                                                                : NULL;
    svc->functions->ninvocations++;
    log_msg(LOG_DEBUG, "function %s: invocation %s", v->fn->name, inv->id);
    if (in) {
        fn_instance_send(in, inv);
        return 0;
    }
    if (v->reuse && !v->ninstances && v->init_error) {
        /* its last instance could not load, a moment ago: that is the answer */
        fn_invocation_fail(inv, "runtime_error", v->init_error);
        return 0;
    }
    if (!v->reuse && list_empty(&v->queue) && v->nrunning < v->max_instances) {
        if (submit_job(inv) == 0)
            return 0;
        refused(inv, retry);
        return sb_fail(err, SB_E_UNAVAILABLE, "the server is at capacity and its queue is "
                       "full");
    }
    if (v->nqueued >= svc->cfg->functions.max_queue) {
        refused(inv, retry);
        return sb_fail(err, SB_E_RATE_LIMITED, "function %s version %u has %u invocations "
                       "waiting, its maximum (functions.max_queue)", v->fn->name, v->number,
                       v->nqueued);
    }
    list_insert_tail(&v->queue, &inv->node);
    v->nqueued++;
    inv->queued = true;
    fn_run_next(v);
    if (v->reuse && !v->ninstances && !v->nstarting && inv->queued) {
        /* nothing will serve it: no instance could start */
        fn_dequeue(inv);
        refused(inv, retry);
        return sb_fail(err, SB_E_UNAVAILABLE, "no instance of function %s could start now "
                       "(functions.max_instances_total warm instances run on this node)",
                       v->fn->name);
    }
    return 0;
}

/* "name@ref" -> the version, checking who may call it. */
static struct fn_version *target_version(struct service *svc, const struct caller *who,
                                         bool anonymous, const char *target,
                                         struct sb_error *err)
{
    char name[FN_NAME_MAX + 1];
    const char *at = strchr(target, '@');
    size_t n = at ? (size_t)(at - target) : strlen(target);
    if (n == 0 || n > FN_NAME_MAX)
        return sb_fail(err, SB_E_NOT_FOUND, "no such function: %.64s", target), NULL;
    memcpy(name, target, n);
    name[n] = '\0';
    struct function *f = fn_find(svc, name);
    if (!f || !f->doc)
        return sb_fail(err, SB_E_NOT_FOUND, "no such function: %s", name), NULL;
    struct fn_version *v = fn_resolve(f, at ? at + 1 : "", err);
    if (!v)
        return NULL;
    if (!v->public_ && anonymous)
        return sb_fail(err, SB_E_UNAUTHENTICATED, "function %s is not public: an API key is "
                       "needed (Authorization: Bearer KEY or X-API-Key)", name), NULL;
    if (!v->public_ && !fn_visible(f, who))
        return sb_fail(err, SB_E_NOT_FOUND, "no such function: %s", name), NULL;
    return v;
}

bool fn_is_public(struct service *svc, const char *target)
{
    struct sb_error e;
    if (!svc->functions || !svc->functions->loaded)
        return false;
    struct caller none = {0};
    struct fn_version *v = target_version(svc, &none, true, target, &e);
    return v && v->public_;
}

static int usable(struct service *svc, struct sb_error *err, unsigned *retry)
{
    struct fn_registry *r = svc->functions;
    *retry = 0;
    if (!svc->cfg->functions.enabled)
        return sb_fail(err, SB_E_UNAVAILABLE, "functions are off on this server "
                       "(functions.enabled)");
    if (!r->loaded || r->closing || !service_accepting(svc)) {
        *retry = 1;
        return sb_fail(err, SB_E_UNAVAILABLE, "%s", r->loaded ? "the server is shutting down"
                                                              : "functions are loading");
    }
    return 0;
}

struct fn_invocation *fn_invoke(struct service *svc, const struct caller *who, bool anonymous,
                                const char *target, json_t *event, fn_done_cb done, void *arg,
                                struct sb_error *err, unsigned *retry_after)
{
    if (usable(svc, err, retry_after) < 0)
        return NULL;
    struct fn_version *v = target_version(svc, who, anonymous, target, err);
    if (!v)
        return NULL;
    struct fn_invocation *inv = inv_new(svc, v, who, event, err);
    if (!inv)
        return NULL;
    inv->done = done;
    inv->arg = arg;
    if (admit(inv, err, retry_after) < 0) {
        inv_discard(inv);
        return NULL;
    }
    return inv;
}

/* Out of the version's queue or the server's: ended, refused with why. */
static bool unqueue(struct fn_invocation *inv, const char *why)
{
    struct sb_error e;
    if (inv->queued) {
        fn_dequeue(inv);
    } else if (inv->wait && sched_cancel(&inv->svc->sched, &inv->wait->item)) {
        free(inv->wait);
        inv->wait = NULL;
        job_gone(inv);
    } else {
        return false;
    }
    sb_fail(&e, SB_E_UNAVAILABLE, "%s", why);
    fn_invocation_end(inv, "refused", NULL, &e, NULL);
    return true;
}

void fn_invocation_detach(struct fn_invocation *inv)
{
    /* nobody waits for it: one that waits never runs (a running one finishes) */
    unqueue(inv, "the client went away while it waited");
}

void fn_cancel_version(struct fn_version *v, const char *why)
{
    fn_fail_queue(v, why);
    FN_EACH_SAFE(&v->jobs, pos, nx) {
        struct fn_invocation *inv = list_entry(pos, struct fn_invocation, node);
        if (!unqueue(inv, why) && inv->job) {
            snprintf(inv->cancelled, sizeof inv->cancelled, "%s", why);
            job_cancel(inv->job);   /* its end follows (on_job_done says why) */
        }
    }
    fn_instances_stop(v, why);
}

/* ---- asynchronous invocations ---- */

static int async_event(json_t *body, json_t **event, const char **callback,
                       struct sb_error *err)
{
    static const char *const keys[] = {"event", "callback_url", "version", NULL};
    const char *k;
    json_t *val;
    if (!json_is_object(body))
        return sb_fail(err, SB_E_INVALID_ARGUMENT, "body: must be a JSON object");
    json_object_foreach(body, k, val) {
        size_t i = 0;
        while (keys[i] && strcmp(keys[i], k))
            i++;
        if (!keys[i])
            return sb_fail(err, SB_E_INVALID_ARGUMENT, "%.64s: unknown field", k);
    }
    json_t *ev = json_object_get(body, "event"), *cb = json_object_get(body, "callback_url");
    if (ev && !json_is_object(ev))
        return sb_fail(err, SB_E_INVALID_ARGUMENT, "event: must be an object");
    if (cb && !json_is_string(cb))
        return sb_fail(err, SB_E_INVALID_ARGUMENT, "callback_url: must be a string");
    /* an HTTP-shaped event: what it leaves out is a POST of "" to / */
    *event = json_pack("{s:s,s:s,s:{},s:{},s:s,s:b}", "method", "POST", "path", "/", "query",
                       "headers", "body", "", "is_base64", 0);
    if (*event && ev)
        json_object_update(*event, ev);
    *callback = cb ? json_string_value(cb) : NULL;
    return 0;
}

static int check_callback(struct service *svc, const char *url, struct sb_error *err)
{
    struct http_url u;
    const char *why;
    if (strlen(url) > 2048 || callback_url_parse(url, &u, &why) < 0)
        return sb_fail(err, SB_E_INVALID_ARGUMENT, "callback_url: %s",
                       strlen(url) > 2048 ? "at most 2048 bytes" : why);
    if (callback_literal_host_allowed(u.host, svc->cfg->server.callbacks_allow_private,
                                      &why) == 0 ||
        (!svc->cfg->server.callbacks_allow_private && !strcmp(u.host, "localhost")))
        return sb_fail(err, SB_E_INVALID_ARGUMENT, "callback_url: %s is refused by "
                       "server.callbacks", u.host);
    return 0;
}

/* The async log entry of inv, whatever became of it at admission. */
static void async_entry(struct fn_invocation *inv, const struct sb_error *refused)
{
    struct fn_log l = {.version = inv->v->number, .started_ms = inv->started_ms, .async = true,
                       .done = refused != NULL,
                       .http_status = refused ? sb_code_http(refused->code) : 0};
    snprintf(l.id, sizeof l.id, "%s", inv->id);
    snprintf(l.request_id, sizeof l.request_id, "%s", inv->request_id);
    snprintf(l.status, sizeof l.status, "%s", refused ? "refused" : "running");
    l.error = refused ? strdup(refused->msg) : NULL;
    fn_log_add(inv->v->fn, &l);
}

void fn_invoke_async(struct service *svc, const struct caller *who, const char *name,
                     json_t *body, fn_reply_cb cb, void *arg)
{
    struct sb_error e;
    unsigned retry;
    json_t *event = NULL;
    const char *callback = NULL;
    char target[160];
    json_t *ver = json_object_get(body, "version");
    struct function *f = usable(svc, &e, &retry) == 0 ? fn_find(svc, name) : NULL;
    if (!f || !fn_visible(f, who)) {
        if (f || e.code != SB_E_UNAVAILABLE)
            sb_fail(&e, SB_E_NOT_FOUND, "no such function: %.64s", name);
        return cb(arg, 0, NULL, &e);
    }
    if (async_event(body, &event, &callback, &e) < 0 ||
        (callback && check_callback(svc, callback, &e) < 0) ||
        (ver && !json_is_string(ver) && !json_is_integer(ver) &&
         sb_fail(&e, SB_E_INVALID_ARGUMENT, "version: a version number or an alias") < 0)) {
        json_decref(event);
        return cb(arg, 0, NULL, &e);
    }
    if (json_is_integer(ver))
        snprintf(target, sizeof target, "%s@%lld", name, (long long)json_integer_value(ver));
    else
        snprintf(target, sizeof target, "%s%s%.64s", name, ver ? "@" : "",
                 ver ? json_string_value(ver) : "");
    struct fn_version *v = target_version(svc, who, false, target, &e);
    struct fn_invocation *inv = v ? inv_new(svc, v, who, event, &e) : NULL;
    json_decref(event);
    if (!inv)
        return cb(arg, 0, NULL, &e);
    inv->async = true;
    inv->callback_url = callback ? strdup(callback) : NULL;
    async_entry(inv, NULL);
    json_t *reply = json_pack("{s:s,s:s,s:I,s:s}", "id", inv->id, "function", v->fn->name,
                              "version", (json_int_t)v->number, "state", "running");
    if (admit(inv, &e, &retry) < 0) {
        async_entry(inv, &e);
        json_decref(reply);
        inv_discard(inv);
        return cb(arg, 0, NULL, &e);
    }
    cb(arg, 202, reply, NULL);
}
