/* Executions in cluster mode: running work taken from the shared queue, and answering requests another node ran. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/cluster.h"
#include "common/util.h"
#include "frontend/request.h"
#include "service/execution_internal.h"

/* Taken from the shared queue: run here for whoever sent it to another node. */
void execution_claimed(struct service *s, struct cluster_claim *cl)
{
    struct sb_error err;
    struct exec_req req;
    enum req_kind kind = strcmp(cl->mode, "sync") ? REQ_ASYNC : REQ_SYNC;
    json_t *root = cl->request_json ? json_loads(cl->request_json, 0, NULL) : NULL;
    int rc = root ? exec_req_from_json(root, s->cfg, &s->registry, kind, &req, &err)
                  : sb_fail(&err, SB_E_INTERNAL, "the request was not recorded");
    json_decref(root);
    if (rc < 0) {
        struct job_result res = {.failed = true, .status = SB_ST_INTERNAL_ERROR};
        sb_fail(&res.error, SB_E_INTERNAL, "node %s could not run it: %s",
                cluster_node_id(s->cluster), err.msg);
        store_exec_finished(s->store, cl->id, util_now_ms(), &res);
        cluster_claim_free(cl);
        return;
    }
    struct caller who = {.frontend = "cluster", .has_key = cl->key_id[0] != '\0'};
    snprintf(who.request_id, sizeof who.request_id, "%s", cl->request_id);
    snprintf(who.client, sizeof who.client, "%s", cl->client);
    snprintf(who.key_id, sizeof who.key_id, "%s", cl->key_id);
    static const struct exec_events none = {0};
    struct execution *ex = ex_new(s, &who, &req, kind, &none, NULL);
    if (!ex) {
        exec_req_free(&req);
        struct job_result res = {.failed = true, .status = SB_ST_INTERNAL_ERROR};
        sb_fail(&res.error, SB_E_INTERNAL, "out of memory");
        store_exec_finished(s->store, cl->id, util_now_ms(), &res);
        cluster_claim_free(cl);
        return;
    }
    snprintf(ex->id, sizeof ex->id, "%s", cl->id);
    ex->created_ms = cl->created_ms;
    ex->detached = true;
    ex->start_recorded = true;
    ex->state = EX_QUEUED;
    cluster_claim_free(cl);
    if (sched_submit(&s->sched, &ex->item) < 0)
        ex_finish_noted(ex, "the node that took it had no room after all", false);
    ex_report_load(s);
}

static struct execution *find_remote(struct service *s, const char *id)
{
    struct list_node *pos;
    list_foreach(pos, &s->inflight) {
        struct execution *ex = list_entry(pos, struct execution, node);
        if (ex->remote && ex->state == EX_QUEUED && !strcmp(ex->id, id))
            return ex;
    }
    return NULL;
}

struct remote_check {
    struct service *svc;
    char id[37];
};

static void on_remote_row(void *arg, int rc, const struct sb_error *err, struct exec_row *row)
{
    (void)err;
    struct remote_check *c = arg;
    struct execution *ex = find_remote(c->svc, c->id);
    if (ex)
        ex->checking = false;
    if (ex && rc == 0 && row && row->has_result) {
        job_result_free(&ex->res);
        ex->res = row->result;
        row->has_result = false;
        ex_finish_remote(ex);
    }
    if (row) {
        exec_row_free(row);
        free(row);
    }
    free(c);
}

static void check_remote(struct execution *ex)
{
    struct remote_check *c = malloc(sizeof *c);
    if (!c || ex->checking) {
        free(c);
        return;
    }
    c->svc = ex->svc;
    snprintf(c->id, sizeof c->id, "%s", ex->id);
    ex->checking = true;
    struct store_scope all = {true, NULL};
    store_exec_get(ex->svc->store, ex->id, &all, on_remote_row, c);
}

void execution_remote_done(struct service *s, const char *id)
{
    struct execution *ex = find_remote(s, id);
    if (ex)
        check_remote(ex);
}

/* Each heartbeat: a result whose NOTIFY was missed (the connection was
 * being re-made) is found anyway. */
void execution_remote_tick(struct service *s)
{
    uint64_t now = util_now_ms();
    struct list_node *pos;
    list_foreach(pos, &s->inflight) {
        struct execution *ex = list_entry(pos, struct execution, node);
        if (ex->remote && ex->state == EX_QUEUED && now - ex->created_ms > 1000)
            check_remote(ex);
    }
    ex_report_load(s);
}
