/* Piston v2 REST routes: runtimes, execute (through the service's executions), packages, and Piston's 404. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "frontend/piston/piston.h"
#include "frontend/request.h"
#include "service/execution.h"

#define PREFIX "/api/v2/"

void piston_reply_message(struct rest_call *rc, int status, const char *msg)
{
    rest_reply_json(rc, status, json_pack("{s:s}", "message", msg), NULL);
}

/* The routes answer only when compat.piston is on (Piston's own 404 otherwise
 * would hide that it is off). */
static bool enabled(struct rest_call *rc)
{
    if (rc->rest->svc->cfg->compat.piston)
        return true;
    rest_reply_error(rc, SB_E_NOT_FOUND, "no such endpoint (the Piston API is off: "
                     "compat.piston)", NULL);
    return false;
}

bool piston_claims_unknown(struct rest_call *rc)
{
    if (strncmp(rc->req->path, PREFIX, strlen(PREFIX)) || !rc->rest->svc->cfg->compat.piston)
        return false;
    rc->route = "/api/v2/*";
    piston_reply_message(rc, 404, "Not Found");
    return true;
}

/* A refusal (rate limit, queue full, auth) in Piston's body shape. */
static void reply_refusal(struct rest_call *rc, const struct refusal *r)
{
    char extra[64] = "";
    if (r->retry_after)
        snprintf(extra, sizeof extra, "Retry-After: %u\r\n", r->retry_after);
    rest_reply_json(rc, sb_code_http(r->err.code), json_pack("{s:s}", "message", r->err.msg),
                    extra[0] ? extra : NULL);
}

/* A validation failure: counted and audited like the native API's, then
 * Piston's 400. */
static void refuse_400(struct rest_call *rc, const char *msg)
{
    struct sb_error e;
    struct refusal r;
    sb_fail(&e, SB_E_INVALID_ARGUMENT, "%s", msg);
    gate_refuse(rc->rest->svc, &rc->who, REFUSE_INVALID, &e, &r);
    piston_reply_message(rc, 400, msg);
}

void piston_runtimes(struct rest_call *rc)
{
    if (!enabled(rc))
        return;
    size_t n;
    struct piston_rt *rts = piston_runtimes_list(&rc->rest->svc->probe, &n);
    rest_reply_json(rc, 200, piston_runtimes_json(rts, n), NULL);
    free(rts);
}

/* ---- POST /api/v2/execute ---- */

struct pending {
    struct rest_call *rc;
    struct execution *ex;
    struct piston_rt *rts;
    const struct piston_rt *rt;
    struct sb_buf output;          /* the run's stdout and stderr in arrival order */
    size_t output_max;
};

static void free_pending(struct pending *p)
{
    sb_buf_free(&p->output);
    free(p->rts);
    free(p->rc);
    free(p);
}

static void on_output(struct execution *ex, int stream, const char *data, size_t len, void *arg)
{
    (void)ex, (void)stream;
    struct pending *p = arg;
    if (p->output.len + len > p->output_max)
        len = p->output_max > p->output.len ? p->output_max - p->output.len : 0;
    sb_buf_append(&p->output, data, len);
}

static void on_finished(struct execution *ex, const struct job_result *res, void *arg)
{
    struct pending *p = arg;
    /* the native record of the same execution (GET /api/executions/{id}) */
    char extra[96];
    snprintf(extra, sizeof extra, "X-SoulBox-Execution-Id: %s\r\n", execution_id(ex));
    if (res->failed)
        rest_reply_json(p->rc, 500, json_pack("{s:s}", "message", res->error.msg), extra);
    else
        rest_reply_json(p->rc, 200, piston_result_json(p->rt, res, &p->output), extra);
    free_pending(p);
}

static void on_refused(struct execution *ex, const struct refusal *r, void *arg)
{
    (void)ex;
    struct pending *p = arg;
    reply_refusal(p->rc, r);
    free_pending(p);
}

static void on_abort(void *arg)
{
    struct pending *p = arg;
    if (p->ex)
        execution_cancel(p->ex, "cancelled: the client disconnected");
}

/* The body as JSON whatever its Content-Type (piston-client sends text/plain). */
static json_t *body_json(struct rest_call *rc)
{
    json_error_t je;
    json_t *j = json_loadb(rc->req->body.data ? rc->req->body.data : "", rc->req->body.len,
                           JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        char msg[256];
        snprintf(msg, sizeof msg, "Invalid JSON body: %s", je.text);
        refuse_400(rc, msg);
    }
    return j;
}

/* Validates a Piston body into a native request; 0, or -1 after replying. */
static int decode(struct rest_call *rc, json_t *body, struct pending *p, struct exec_req *er)
{
    struct service *s = rc->rest->svc;
    struct piston_job job;
    char msg[300];
    size_t n;
    p->rts = piston_runtimes_list(&s->probe, &n);
    if (piston_job_build(body, p->rts, n, s->cfg, false, &job, msg, sizeof msg) < 0) {
        json_decref(job.native);
        refuse_400(rc, msg);
        return -1;
    }
    p->rt = job.rt;
    struct sb_error err;
    int rc2 = exec_req_from_json(job.native, s->cfg, &s->registry, REQ_SYNC, er, &err);
    json_decref(job.native);
    if (rc2 < 0) {
        struct refusal r;
        gate_refuse(s, &rc->who, gate_reason_of(&err), &err, &r);
        piston_reply_message(rc, 400, err.msg);
        return -1;
    }
    p->output_max = er->limits.output_bytes;
    return 0;
}

void piston_execute(struct rest_call *rc)
{
    static const struct exec_events events = {.output = on_output, .finished = on_finished,
                                              .refused = on_refused};
    if (!enabled(rc))
        return;
    json_t *body = body_json(rc);
    if (!body)
        return;
    struct pending *p = calloc(1, sizeof *p);
    struct exec_req er;
    if (!p) {
        json_decref(body);
        piston_reply_message(rc, 500, "out of memory");
        return;
    }
    int rc2 = decode(rc, body, p, &er);
    json_decref(body);
    if (rc2 < 0 || !(p->rc = rest_call_keep(rc))) {
        if (rc2 == 0)
            exec_req_free(&er);
        free_pending(p);
        return;
    }
    struct refusal r;
    p->ex = execution_submit(rc->rest->svc, &rc->who, &er, REQ_SYNC, &events, p, &r);
    if (!p->ex) {
        reply_refusal(rc, &r);
        free_pending(p);
        return;
    }
    http_conn_on_abort(rc->c, on_abort, p);
}

/* ---- packages: built-in runtimes, never installed or removed ---- */

static const char *package_of(const struct piston_rt *rt)
{
    return rt->runtime ? rt->runtime : rt->name;
}

void piston_packages(struct rest_call *rc)
{
    if (!enabled(rc))
        return;
    size_t n;
    struct piston_rt *rts = piston_runtimes_list(&rc->rest->svc->probe, &n);
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        bool seen = false; /* one entry per package (gcc provides several) */
        for (size_t k = 0; k < i; k++)
            seen |= !strcmp(package_of(&rts[k]), package_of(&rts[i]));
        if (!seen)
            json_array_append_new(arr, json_pack("{s:s,s:s,s:b}", "language",
                                                 package_of(&rts[i]), "language_version",
                                                 rts[i].version, "installed", 1));
    }
    free(rts);
    rest_reply_json(rc, 200, arr, NULL);
}

void piston_packages_change(struct rest_call *rc)
{
    if (!enabled(rc))
        return;
    json_t *body = body_json(rc);
    if (!body)
        return;
    const char *lang = json_string_value(json_object_get(body, "language"));
    const char *ver = json_string_value(json_object_get(body, "version"));
    size_t n;
    struct piston_rt *rts = piston_runtimes_list(&rc->rest->svc->probe, &n);
    const struct piston_rt *found = NULL;
    for (size_t i = 0; lang && ver && i < n; i++)
        if (!strcmp(package_of(&rts[i]), lang) && piston_range_ok(ver, rts[i].v))
            found = &rts[i];
    char msg[512];
    if (!found) {
        snprintf(msg, sizeof msg, "Requested package %s-%s does not exist", lang ? lang : "",
                 ver ? ver : "");
        piston_reply_message(rc, 404, msg);
    } else if (!strcmp(rc->req->method, "POST")) {
        piston_reply_message(rc, 500, "Already installed");
    } else {
        snprintf(msg, sizeof msg, "%s-%s is built into SoulBox and cannot be uninstalled",
                 lang, found->version);
        piston_reply_message(rc, 500, msg);
    }
    free(rts);
    json_decref(body);
}
