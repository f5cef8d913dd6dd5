/* Scheduled invocations: each schedule of a function's active version fires at the times its cron expression names (UTC), claimed in the store so that one node of a cluster fires each time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "cluster/cluster.h"
#include "common/util.h"
#include "service/function_internal.h"
#include "service/service.h"

void fn_cron_arm(struct fn_version *v, uint64_t now_ms)
{
    for (size_t i = 0; i < v->nsched; i++)
        v->next_fire[i] = cron_next(&v->sched[i], now_ms);
}

struct fire {
    struct service *svc;
    char name[FN_NAME_MAX + 1];
    unsigned version;
    size_t index;
    uint64_t at_ms;
};

static void fire_now(struct fire *fi)
{
    struct service *svc = fi->svc;
    struct function *f = fn_find(svc, fi->name);
    struct fn_version *v = f ? fn_version_find(f, fi->version) : NULL;
    if (!v || v->retired || fi->index >= v->nsched)
        return;
    char at[40], target[96];
    util_iso_time(fi->at_ms, at, sizeof at);
    snprintf(target, sizeof target, "%s@%u", f->name, v->number);
    json_t *event = json_pack("{s:s,s:s,s:s,s:s,s:s,s:{},s:{},s:s,s:b}", "source", "schedule",
                              "schedule", v->sched_expr[fi->index], "time", at, "method", "POST",
                              "path", "/", "query", "headers", "body", "", "is_base64", 0);
    struct caller owner = {.admin = true, .frontend = "schedule"};
    snprintf(owner.key_id, sizeof owner.key_id, "%s", f->owner);
    owner.has_key = f->owner[0] != '\0';
    snprintf(owner.client, sizeof owner.client, "schedule");
    struct sb_error err;
    unsigned retry;
    if (event && !fn_invoke(svc, &owner, false, target, event, NULL, NULL, &err, &retry))
        log_msg(LOG_WARN, "function %s: its schedule '%s' could not fire at %s: %s", f->name,
                v->sched_expr[fi->index], at, err.msg);
    json_decref(event);
}

static void on_claimed(void *arg, int rc, const struct sb_error *err)
{
    struct fire *fi = arg;
    if (rc == 0)
        fire_now(fi);
    else if (rc < 0)
        log_msg(LOG_WARN, "function %s: a scheduled invocation was not claimed: %s", fi->name,
                err->msg);
    free(fi);
}

/* Fires what is due (once for the latest due time when the loop was late). */
void fn_cron_tick(struct service *svc, uint64_t now_ms)
{
    FN_EACH(&svc->functions->all, pos) {
        struct function *f = list_entry(pos, struct function, node);
        struct fn_version *v = f->doc ? fn_version_find(f, f->active) : NULL;
        for (size_t i = 0; v && i < v->nsched; i++) {
            if (!v->next_fire[i] || v->next_fire[i] > now_ms)
                continue;
            uint64_t due = v->next_fire[i];
            for (uint64_t n; (n = cron_next(&v->sched[i], due)) && n <= now_ms;)
                due = n;
            v->next_fire[i] = cron_next(&v->sched[i], due);
            struct fire *fi = calloc(1, sizeof *fi);
            if (!fi)
                continue;
            *fi = (struct fire){.svc = svc, .version = v->number, .index = i, .at_ms = due};
            snprintf(fi->name, sizeof fi->name, "%s", f->name);
            char key[96];
            snprintf(key, sizeof key, "%s/%zu", f->name, i);
            store_fn_claim_fire(svc->store, key, due,
                                svc->cluster ? cluster_node_id(svc->cluster) : "local",
                                on_claimed, fi);
        }
    }
}
