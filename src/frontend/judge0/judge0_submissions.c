/* Judge0 submissions: create (optionally wait), show, batch create and show, list and delete (authz), each a SoulBox execution through the service core. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "frontend/judge0/judge0_internal.h"
#include "service/callback.h"
#include "service/execution.h"
#include "service/service.h"

/* A submission on its way: answered at `accepted` (no wait) or `finished`. */
struct j0_job {
    struct service *svc;
    struct rest_call *rc;      /* NULL once answered */
    struct execution *ex;
    json_t *doc;
    struct caller who;         /* who submitted it (its later runs are theirs too) */
    bool wait, b64;
    uint64_t mask;
    /* number_of_runs: the runs done and their sums (time and memory are means) */
    unsigned runs;
    double cpu_s;
    long long memory_kb;
    /* batch: the slot in the shared answer */
    struct j0_batch *batch;
    size_t slot;
};

/* A batch create: answered when every valid element is accepted (or refused). */
struct j0_batch {
    struct rest_call *rc;
    json_t *answer;
    size_t waiting;
    bool any_valid;
};

static void batch_done(struct j0_batch *b)
{
    if (--b->waiting)
        return;
    j0_reply_json(b->rc, b->any_valid ? 201 : 422, b->answer);
    free(b->rc);
    free(b);
}

static void j0_job_free(struct j0_job *j)
{
    free(j->rc);
    json_decref(j->doc);
    free(j);
}

static void save(struct j0_job *j)
{
    char *text = json_dumps(j->doc, JSON_COMPACT);
    if (text)
        store_judge0_put(j->svc->store, json_string_value(json_object_get(j->doc, "token")),
                         j->who.key_id, text, util_now_ms(), NULL, NULL);
    free(text);
}

static void on_accepted(struct execution *ex, void *arg)
{
    struct j0_job *j = arg;
    if (j->runs)           /* a later run of number_of_runs: the token is the first's */
        return;
    json_object_set_new(j->doc, "token", json_string(execution_id(ex)));
    if (!j->wait)          /* a waiting client learns the token only with the result */
        save(j);
    if (j->batch) {
        json_array_set_new(j->batch->answer, j->slot, json_pack("{s:s}", "token",
                                                                execution_id(ex)));
        batch_done(j->batch);
        j->batch = NULL;
    } else if (!j->wait) {
        j0_reply_json(j->rc, 201, json_pack("{s:s}", "token", execution_id(ex)));
        free(j->rc);
        j->rc = NULL;
    }
}

/* Judge0's worker has it: "Processing" for whoever polls the token. */
static void on_started(struct execution *ex, void *arg)
{
    (void)ex;
    struct j0_job *j = arg;
    if (j->wait)           /* nobody else knows the token yet */
        return;
    json_object_set_new(j->doc, "status_id", json_integer(J0_PROCESSING));
    save(j);
}

static void complete(struct j0_job *j);

static void on_refused(struct execution *ex, const struct refusal *r, void *arg)
{
    (void)ex;
    struct j0_job *j = arg;
    if (j->runs) {         /* a later run could not be queued: the runs done stand */
        complete(j);
        return;
    }
    if (j->batch) {
        json_array_set_new(j->batch->answer, j->slot, json_pack("{s:s}", "error", r->err.msg));
        batch_done(j->batch);
    } else if (j->rc) {
        rest_reply_refusal(j->rc, r);
    }
    j0_job_free(j);
}

static void deliver(struct j0_job *j)
{
    const char *url = json_string_value(json_object_get(j->doc, "callback_url"));
    bool bad;
    json_t *body = url ? j0_render(j->svc, j->doc, j0_default_fields(), true, &bad) : NULL;
    if (body)
        callback_deliver_method(&j->svc->callbacks, json_string_value(json_object_get(j->doc,
                                "token")), url, "PUT", body, NULL, NULL);
    json_decref(body);
}

static bool submit(struct j0_job *j);

/* The runs' means of time and memory (Judge0 truncates memory to an integer). */
static void set_means(struct j0_job *j)
{
    if (j->runs < 2)
        return;
    char t[32];
    j0_seconds(j->cpu_s / j->runs, t, sizeof t);
    json_object_set_new(j->doc, "time", json_string(t));
    json_object_set_new(j->doc, "memory", json_integer(j->memory_kb / (long long)j->runs));
}

static void on_finished(struct execution *ex, const struct job_result *res, void *arg)
{
    (void)ex;
    struct j0_job *j = arg;
    j0_finish(j->doc, res);
    j->runs++;
    j->cpu_s += res->ran ? (double)res->run.cpu_ms / 1000 : 0;
    j->memory_kb += json_integer_value(json_object_get(j->doc, "memory"));
    /* number_of_runs: again in a fresh sandbox while it is Accepted (a run that
     * cannot be submitted completes j with the runs done) */
    json_int_t want = json_integer_value(json_object_get(j->doc, "number_of_runs"));
    if (json_integer_value(json_object_get(j->doc, "status_id")) == J0_ACCEPTED &&
        (json_int_t)j->runs < want) {
        submit(j);
        return;
    }
    complete(j);
}

/* The last run is in: the document saved and delivered, the waiting client answered. */
static void complete(struct j0_job *j)
{
    set_means(j);
    save(j);
    deliver(j);
    if (j->rc) {
        bool bad;
        json_t *o = j0_render(j->svc, j->doc, j->mask, j->b64, &bad);
        if (!o && bad)
            o = json_pack("{s:s,s:O}", "error", J0_UTF8_ERROR, "token",
                          json_object_get(j->doc, "token"));
        j0_reply_json(j->rc, 201, o);
    }
    j0_job_free(j);
}

static void on_abort(void *arg)
{
    struct j0_job *j = arg;
    if (j->ex)
        execution_cancel(j->ex, "cancelled: the client disconnected");
}

/* Submits j's doc (one run) for j's caller. false after answering (j freed). */
static bool submit(struct j0_job *j)
{
    static const struct exec_events ev = {.accepted = on_accepted, .started = on_started,
                                          .finished = on_finished, .refused = on_refused};
    struct service *s = j->svc;
    struct exec_req er;
    struct sb_error err;
    struct refusal r;
    if (j0_exec_req(s, j->doc, &er, &err) < 0) {
        gate_refuse(s, &j->who, gate_reason_of(&err), &err, &r);
        on_refused(NULL, &r, j);
        return false;
    }
    j->ex = execution_submit(s, &j->who, &er, j->wait ? REQ_SYNC : REQ_ASYNC, &ev, j, &r);
    if (!j->ex) {
        on_refused(NULL, &r, j);
        return false;
    }
    return true;
}

static struct j0_job *job_new(struct rest_call *rc, json_t *doc)
{
    struct j0_job *j = calloc(1, sizeof *j);
    if (!j) {
        json_decref(doc);
        return NULL;
    }
    j->svc = rc->rest->svc;
    j->doc = doc;
    j->who = rc->who;
    return j;
}

/* A 422: counted and audited like the native API's invalid requests. */
static void refuse_invalid(struct rest_call *rc, json_t *errors)
{
    struct sb_error e;
    struct refusal r;
    char *text = json_dumps(errors, JSON_COMPACT | JSON_PRESERVE_ORDER);
    sb_fail(&e, SB_E_INVALID_ARGUMENT, "judge0: %.200s", text ? text : "invalid");
    free(text);
    gate_refuse(rc->rest->svc, &rc->who, REFUSE_INVALID, &e, &r);
    j0_reply_json(rc, 422, errors);
}

void judge0_create(struct rest_call *rc)
{
    if (j0_enter(rc, false) < 0)
        return;
    json_t *body = j0_body(rc), *errors = NULL;
    if (!body)
        return;
    uint64_t mask;
    bool wait = j0_flag(rc, body, "wait"), b64 = j0_flag(rc, body, "base64_encoded");
    json_t *doc = j0_fields(rc, body, &mask) < 0 ? NULL
                  : j0_validate(rc->rest->svc, body, b64, &errors);
    json_decref(body);
    if (!doc) {
        if (errors)
            refuse_invalid(rc, errors);
        return;
    }
    struct j0_job *j = job_new(rc, doc);
    if (!j || !(j->rc = rest_call_keep(rc))) {
        if (!j)
            rest_reply_error(rc, SB_E_INTERNAL, "out of memory", NULL);
        else
            j0_job_free(j);
        return;
    }
    j->wait = wait, j->b64 = b64, j->mask = mask;
    if (submit(j) && wait)
        http_conn_on_abort(rc->c, on_abort, j);
}

void judge0_batch_create(struct rest_call *rc)
{
    if (j0_enter(rc, false) < 0)
        return;
    json_t *body = j0_body(rc);
    if (!body)
        return;
    json_t *subs = json_object_get(body, "submissions");
    size_t n = json_is_array(subs) ? json_array_size(subs) : 0;
    if (n == 0 || n > J0_MAX_BATCH) {
        j0_reply_error(rc, 400, n ? "number of submissions in a batch should be less than or "
                                    "equal to 20"
                                  : "there should be at least one submission in a batch");
        json_decref(body);
        return;
    }
    bool b64 = j0_flag(rc, body, "base64_encoded");
    struct j0_batch *b = calloc(1, sizeof *b);
    if (!b || !(b->rc = rest_call_keep(rc))) {
        free(b);
        json_decref(body);
        return;
    }
    b->answer = json_array();
    b->waiting = 1;            /* this call's own, released at the end */
    for (size_t i = 0; i < n; i++) {
        json_t *errors = NULL, *el = json_array_get(subs, i);
        json_t *doc = json_is_object(el) ? j0_validate(rc->rest->svc, el, b64, &errors) : NULL;
        json_array_append_new(b->answer, doc ? json_null() : errors ? errors : json_object());
        struct j0_job *j = doc ? job_new(rc, doc) : NULL;
        if (!j)
            continue;
        b->any_valid = true;
        b->waiting++;
        j->batch = b, j->slot = i;
        submit(j);
    }
    json_decref(body);
    batch_done(b);
}

/* ---- reading ---- */

/* One slot of a batch show. */
struct j0_slot {
    struct j0_read *read;
    size_t i;
};

/* A show or a batch show waiting on the store. */
struct j0_read {
    struct rest_call *rc;
    uint64_t mask;
    bool b64;
    json_t *answer;            /* batch: the array being filled */
    size_t waiting;
    bool bad;                  /* a text field could not be shown */
    uint64_t page, per_page;   /* list */
    struct j0_slot slots[J0_MAX_BATCH];   /* batch show */
};

static json_t *visible(struct j0_read *r, struct share_row *row)
{
    json_t *doc = row ? json_loads(row->doc, 0, NULL) : NULL;
    if (doc && row->key_id[0] && !r->rc->who.admin && strcmp(row->key_id, r->rc->who.key_id)) {
        json_decref(doc);
        doc = NULL;
    }
    if (row) {
        share_row_free(row);
        free(row);
    }
    return doc;
}

static void on_show(void *arg, int rc2, const struct sb_error *err, struct share_row *row)
{
    struct j0_read *r = arg;
    json_t *doc = visible(r, row);
    bool bad = false;
    json_t *o = doc ? j0_render(r->rc->rest->svc, doc, r->mask, r->b64, &bad) : NULL;
    if (rc2 < 0)
        rest_reply_error(r->rc, SB_E_UNAVAILABLE, err->msg, "Retry-After: 5\r\n");
    else if (o)
        j0_reply_json(r->rc, 200, o);
    else if (bad)
        j0_reply_error(r->rc, 400, J0_UTF8_ERROR);
    else
        j0_reply_empty(r->rc, 404);
    json_decref(doc);
    free(r->rc);
    free(r);
}

static struct j0_read *read_new(struct rest_call *rc, json_t *body)
{
    struct j0_read *r = calloc(1, sizeof *r);
    if (!r || j0_fields(rc, body, &r->mask) < 0 || !(r->rc = rest_call_keep(rc))) {
        free(r);
        return NULL;
    }
    r->b64 = j0_flag(rc, body, "base64_encoded");
    return r;
}

void judge0_show(struct rest_call *rc)
{
    if (j0_enter(rc, false) < 0)
        return;
    char token[256];
    snprintf(token, sizeof token, "%s", rc->params[0]);
    if (!util_uuid_canonical(token, token)) {
        j0_reply_empty(rc, 404);
        return;
    }
    struct j0_read *r = read_new(rc, NULL);
    if (r)
        store_judge0_get(rc->rest->svc->store, token, on_show, r);
}

static void on_batch_row(void *arg, int rc2, const struct sb_error *err, struct share_row *row)
{
    (void)rc2, (void)err;
    struct j0_slot *slot = arg;
    struct j0_read *r = slot->read;
    size_t i = slot->i;
    json_t *doc = visible(r, row);
    bool bad = false;
    json_t *o = doc ? j0_render(r->rc->rest->svc, doc, r->mask, r->b64, &bad) : json_null();
    r->bad |= bad;
    json_array_set_new(r->answer, i, o ? o : json_null());
    json_decref(doc);
    if (--r->waiting)
        return;
    if (r->bad) {
        json_decref(r->answer);
        j0_reply_error(r->rc, 400, J0_UTF8_ERROR_MANY);
    } else {
        j0_reply_json(r->rc, 200, json_pack("{s:o}", "submissions", r->answer));
    }
    free(r->rc);
    free(r);
}

void judge0_batch_show(struct rest_call *rc)
{
    if (j0_enter(rc, false) < 0)
        return;
    char tokens[4096] = "";
    if (http_query_get(rc->req, "tokens", tokens, sizeof tokens) != 1 &&
        http_header(rc->req, "tokens"))
        snprintf(tokens, sizeof tokens, "%s", http_header(rc->req, "tokens"));
    size_t n = tokens[0] ? 1 : 0;
    for (const char *p = tokens; *p; p++)
        n += *p == ',';
    if (n == 0 || n > J0_MAX_BATCH) {
        j0_reply_error(rc, 400, n ? "number of submissions in a batch should be less than or "
                                    "equal to 20"
                                  : "there should be at least one submission in a batch");
        return;
    }
    struct j0_read *r = read_new(rc, NULL);
    if (!r)
        return;
    r->answer = json_array();
    r->waiting = n;
    char *next = tokens;
    for (size_t i = 0; i < n; i++) {
        const char *t = strsep(&next, ",");     /* empty names too: slots stay aligned */
        json_array_append_new(r->answer, json_null());
        char canon[37] = "-";
        if (!t || !util_uuid_canonical(t, canon))
            snprintf(canon, sizeof canon, "-");
        r->slots[i] = (struct j0_slot){r, i};
        store_judge0_get(rc->rest->svc->store, canon, on_batch_row, &r->slots[i]);
    }
}

/* page / per_page: a whole number (Rails' to_i: leading digits, else 0). */
static long long page_param(struct rest_call *rc, const char *name, long long dflt, char *raw,
                            size_t len)
{
    if (j0_param(rc, NULL, name, raw, len) != 1) {
        snprintf(raw, len, "%lld", dflt);
        return dflt;
    }
    return strtoll(raw, NULL, 10);
}

static json_t *page_meta(uint64_t page, uint64_t per, uint64_t total)
{
    uint64_t pages = per ? (total + per - 1) / per : 1;
    if (pages == 0)
        pages = 1;
    return json_pack("{s:I,s:o,s:o,s:I,s:I}", "current_page", (json_int_t)page, "next_page",
                     page < pages ? json_integer((json_int_t)page + 1) : json_null(),
                     "prev_page", page > 1 ? json_integer((json_int_t)page - 1) : json_null(),
                     "total_pages", (json_int_t)pages, "total_count", (json_int_t)total);
}

static void on_list(void *arg, int rc2, const struct sb_error *err, struct share_row *rows,
                    size_t n, uint64_t total)
{
    struct j0_read *r = arg;
    json_t *items = json_array();
    for (size_t i = 0; i < n && !r->bad; i++) {
        json_t *doc = json_loads(rows[i].doc, 0, NULL);
        json_t *o = doc ? j0_render(r->rc->rest->svc, doc, r->mask, r->b64, &r->bad) : NULL;
        if (o)
            json_array_append_new(items, o);
        json_decref(doc);
    }
    for (size_t i = 0; i < n; i++)
        share_row_free(&rows[i]);
    free(rows);
    if (rc2 < 0)
        rest_reply_error(r->rc, SB_E_UNAVAILABLE, err->msg, "Retry-After: 5\r\n");
    else if (r->bad)
        j0_reply_error(r->rc, 400, J0_UTF8_ERROR_MANY);
    else
        j0_reply_json(r->rc, 200, json_pack("{s:O,s:o}", "submissions", items, "meta",
                                            page_meta(r->page, r->per_page, total)));
    json_decref(items);
    free(r->rc);
    free(r);
}

void judge0_list(struct rest_call *rc)
{
    if (j0_enter(rc, true) < 0)
        return;
    char raw[64], msg[96];
    long long page = page_param(rc, "page", 1, raw, sizeof raw);
    if (page <= 0) {
        snprintf(msg, sizeof msg, "invalid page: %s", raw);
        j0_reply_error(rc, 400, msg);
        return;
    }
    long long per = page_param(rc, "per_page", 20, raw, sizeof raw);
    if (per < 0) {
        snprintf(msg, sizeof msg, "invalid per_page: %s", raw);
        j0_reply_error(rc, 400, msg);
        return;
    }
    if (per > J0_MAX_PER_PAGE)
        per = J0_MAX_PER_PAGE;
    struct j0_read *r = read_new(rc, NULL);
    if (!r)
        return;
    r->page = (uint64_t)page;
    r->per_page = (uint64_t)per;
    store_judge0_list(rc->rest->svc->store, NULL, (uint64_t)(page - 1) * (uint64_t)per,
                      (unsigned)per, on_list, r);
}

void judge0_delete(struct rest_call *rc)
{
    if (j0_enter(rc, true) < 0)
        return;
    j0_reply_error(rc, 400, "delete not allowed");
}
