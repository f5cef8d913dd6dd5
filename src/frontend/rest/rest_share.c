/* REST share links: POST /api/shares (a program, and optionally a finished execution's result, under an unguessable id), GET /api/shares/{id}. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "frontend/rest/rest_internal.h"
#include "service/service.h"
#include "service/share.h"

/* A failure of the service as its status (503 with Retry-After). */
static void reply_failure(struct rest_call *rc, const struct sb_error *err)
{
    rest_reply_error(rc, err->code, err->msg,
                     err->code == SB_E_UNAVAILABLE ? "Retry-After: 5\r\n" : NULL);
}

static void on_made(void *arg, int rc2, const struct sb_error *err, const char *id,
                    uint64_t created_ms)
{
    struct rest_call *rc = arg;
    if (rc2 < 0) {
        reply_failure(rc, err);
    } else {
        char created[40], url[96], loc[128];
        util_iso_time(created_ms, created, sizeof created);
        snprintf(url, sizeof url, "/?share=%s", id);
        snprintf(loc, sizeof loc, "Location: /api/shares/%s\r\n", id);
        rest_reply_json(rc, 201, json_pack("{s:s,s:s,s:s}", "id", id, "url", url, "created",
                                           created), loc);
    }
    free(rc);
}

void rest_share_create(struct rest_call *rc)
{
    struct service *s = rc->rest->svc;
    json_t *body = rest_json_body(rc);
    if (!body)
        return;
    struct share_req req;
    struct sb_error err;
    int parsed = share_req_parse(body, s->cfg, &s->registry, &req, &err);
    json_decref(body);
    if (parsed < 0) {
        rest_reply_sb_error(rc, &err);
        return;
    }
    struct rest_call *k = rest_call_keep(rc);
    if (!k) {
        share_req_free(&req);
        return;
    }
    share_create(s, &k->who, &req, on_made, k);
}

static void on_read(void *arg, int rc2, const struct sb_error *err, json_t *share)
{
    struct rest_call *rc = arg;
    if (rc2 < 0)
        reply_failure(rc, err);
    else if (!share)
        rest_reply_error(rc, SB_E_NOT_FOUND, "no such share", NULL);
    else
        rest_reply_json(rc, 200, share, NULL);
    free(rc);
}

void rest_share_get(struct rest_call *rc)
{
    if (!share_id_ok(rc->params[0])) {
        rest_reply_error(rc, SB_E_NOT_FOUND, "no such share", NULL);
        return;
    }
    struct rest_call *k = rest_call_keep(rc);
    if (k)
        share_read(rc->rest->svc, k->params[0], on_read, k);
}
