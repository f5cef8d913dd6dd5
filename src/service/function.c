/* The functions registry: one JSON document per function in the store, applied to the versions this node runs; writes to a function in order, retried after another node's change. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "service/function_internal.h"
#include "service/service.h"
#include "store/store.h"

#define TICK_MS 200
#define SYNC_MS 10000   /* cluster: a full reload, for notices missed while away */

static struct fn_registry *reg(struct service *svc)
{
    return svc->functions;
}

void fn_audit(struct service *svc, const struct caller *who, const char *event,
              const char *name, const char *detail)
{
    char what[256];
    snprintf(what, sizeof what, "function %s%s%s", name, detail ? ": " : "",
             detail ? detail : "");
    struct audit_record a = {
        .ts_ms = util_now_ms(), .event = event, .request_id = who ? who->request_id : NULL,
        .key_id = who && who->has_key ? who->key_id : NULL,
        .client = who ? who->client : NULL, .detail = what,
    };
    store_audit(svc->store, &a);
}

struct function *fn_find(struct service *svc, const char *name)
{
    struct fn_registry *r = reg(svc);
    FN_EACH(&r->all, pos) {
        struct function *f = list_entry(pos, struct function, node);
        if (!strcmp(f->name, name) && !f->deleted)
            return f;
    }
    return NULL;
}

bool fn_visible(const struct function *f, const struct caller *who)
{
    return f->doc && (who->admin || !strcmp(f->owner, who->key_id));
}

struct fn_version *fn_version_find(struct function *f, unsigned number)
{
    for (size_t i = 0; i < f->nversions; i++)
        if (f->versions[i]->number == number)
            return f->versions[i];
    return NULL;
}

/* A version keeps its function's memory (its name, its logs) while
 * anything holds the version, e.g. an invocation still running after a delete. */
void fn_version_unref(struct fn_version *v)
{
    if (--v->refs)
        return;
    struct function *f = v->fn;
    fn_version_free(v);
    if (f)
        fn_unref(f);
}

struct fn_version *fn_resolve(struct function *f, const char *ref, struct sb_error *err)
{
    unsigned number = f->active;
    if (ref && *ref) {
        uint64_t n;
        json_t *a = json_object_get(json_object_get(f->doc, "aliases"), ref);
        if (json_is_integer(a))
            number = (unsigned)json_integer_value(a);
        else if (util_parse_u64(ref, &n) == 0 && n > 0 && n < 1u << 30)
            number = (unsigned)n;
        else
            return sb_fail(err, SB_E_NOT_FOUND, "function %s has no version or alias '%.64s'",
                           f->name, ref), NULL;
    }
    struct fn_version *v = fn_version_find(f, number);
    if (!v)
        sb_fail(err, SB_E_NOT_FOUND, "function %s has no version %u", f->name, number);
    return v;
}

/* ---- applying a document ---- */

/* No new invocations; those waiting are refused, its instances end. */
static void stop_version(struct fn_version *v, const char *why)
{
    v->retired = true;
    fn_fail_queue(v, why);
    fn_instances_stop(v, why);
}

static void retire(struct fn_version *v, const char *why)
{
    stop_version(v, why);
    fn_version_unref(v);
}

/* Makes f what doc says (generation gen): versions built or kept, removed
 * ones retired. Versions that no longer build here (a language this node
 * lacks) stay in the document, unserved, with a warning. */
void fn_apply_doc(struct function *f, json_t *doc, uint64_t gen)
{
    struct service *svc = f->svc;
    json_t *vers = json_object_get(doc, "versions");
    size_t n = json_array_size(vers), k = 0;
    struct fn_version **nv = calloc(n ? n : 1, sizeof *nv);
    if (!nv)
        return;
    size_t i;
    json_t *e;
    json_array_foreach(vers, i, e) {
        unsigned num = (unsigned)json_integer_value(json_object_get(e, "number"));
        struct fn_version *v = fn_version_find(f, num);
        if (v) {
            v->refs++;
        } else {
            struct sb_error err;
            if (fn_version_build(svc, json_object_get(e, "spec"), num, &v, &err) < 0) {
                log_msg(LOG_WARN, "function %s version %u is not served here: %s", f->name,
                        num, err.msg);
                continue;
            }
            v->fn = f;
            f->refs++;
            v->created_ms = (uint64_t)json_integer_value(json_object_get(e, "created_ms"));
            snprintf(v->created_by, sizeof v->created_by, "%s",
                     json_string_value(json_object_get(e, "created_by")) ?: "");
            fn_cron_arm(v, util_now_ms());
        }
        nv[k++] = v;
    }
    for (size_t j = 0; j < f->nversions; j++) {
        bool kept = false;
        for (size_t m = 0; m < k && !kept; m++)
            kept = nv[m] == f->versions[j];
        if (kept)
            fn_version_unref(f->versions[j]);
        else
            retire(f->versions[j], "the version was removed");
    }
    free(f->versions);
    f->versions = nv;
    f->nversions = k;
    json_decref(f->doc);
    f->doc = json_incref(doc);
    f->generation = gen;
    snprintf(f->owner, sizeof f->owner, "%s", json_string_value(json_object_get(doc, "owner")) ?: "");
    f->created_ms = (uint64_t)json_integer_value(json_object_get(doc, "created_ms"));
    f->updated_ms = (uint64_t)json_integer_value(json_object_get(doc, "updated_ms"));
    unsigned was = f->active;
    f->active = (unsigned)json_integer_value(json_object_get(doc, "active"));
    struct fn_version *now_active = fn_version_find(f, f->active);
    if (now_active && was != f->active)   /* its schedule counts from now */
        fn_cron_arm(now_active, util_now_ms());
}

struct function *fn_new(struct service *svc, const char *name)
{
    struct fn_registry *r = reg(svc);
    struct function *f = calloc(1, sizeof *f);
    size_t nlogs = svc->cfg->functions.log_entries;
    if (!f || !(f->logs = calloc(nlogs ? nlogs : 1, sizeof *f->logs))) {
        free(f);
        return NULL;
    }
    f->svc = svc;
    snprintf(f->name, sizeof f->name, "%s", name);
    list_init(&f->ops);
    list_insert_tail(&r->all, &f->node);
    r->n++;
    f->refs = 1;
    return f;
}

void fn_log_entry_free(struct fn_registry *r, struct fn_log *l)
{
    r->kept_bytes -= l->kept;
    free(l->error);
    free(l->logs);
    json_decref(l->response);
    memset(l, 0, sizeof *l);
}

void fn_unref(struct function *f)
{
    if (--f->refs)
        return;
    for (size_t i = 0; i < f->svc->cfg->functions.log_entries; i++)
        fn_log_entry_free(f->svc->functions, &f->logs[i]);
    free(f->logs);
    free(f->versions);
    json_decref(f->doc);
    free(f);
}

/* Out of the registry: its versions retired, its memory once unreferenced. */
void fn_remove(struct function *f, const char *why)
{
    if (f->deleted)
        return;
    f->deleted = true;
    for (size_t i = 0; i < f->nversions; i++)
        retire(f->versions[i], why);
    f->nversions = 0;
    list_remove(&f->node);
    reg(f->svc)->n--;
    fn_unref(f);
}

/* A row from the store: the function made (or removed, row NULL) to match. */
static void sync_row(struct service *svc, const char *name, struct fn_row *row)
{
    struct function *f = fn_find(svc, name);
    if (!row) {
        if (f && f->doc && !f->writing)
            fn_remove(f, "the function was deleted");
        return;
    }
    json_t *doc = json_loads(row->doc, 0, NULL);
    if (!doc) {
        log_msg(LOG_WARN, "function %s: its stored document is not JSON; not served", name);
        return;
    }
    if (!f)
        f = fn_new(svc, name);
    if (f && (f->generation != row->generation || !f->doc))
        fn_apply_doc(f, doc, row->generation);
    json_decref(doc);
}

struct load {
    struct service *svc;
    char name[FN_NAME_MAX + 1];  /* "" for all */
    bool all;
};

static void on_loaded(void *arg, int rc, const struct sb_error *err, struct fn_row *rows,
                      size_t n)
{
    struct load *ld = arg;
    struct service *svc = ld->svc;
    struct fn_registry *r = reg(svc);
    if (rc < 0) {
        log_msg(LOG_WARN, "functions: could not read the store: %s", err->msg);
    } else if (!r->closing) {
        for (size_t i = 0; i < n; i++)
            sync_row(svc, rows[i].name, &rows[i]);
        /* gone from the store: removed here too (a full load, or the one asked for) */
        FN_EACH_SAFE(&r->all, pos, next) {
            struct function *f = list_entry(pos, struct function, node);
            bool found = false;
            for (size_t i = 0; i < n && !found; i++)
                found = !strcmp(rows[i].name, f->name);
            if (!found && f->doc && !f->writing && (ld->all || !strcmp(f->name, ld->name)))
                fn_remove(f, "the function was deleted");
        }
        r->loaded = true;
    }
    for (size_t i = 0; i < n; i++)
        fn_row_free(&rows[i]);
    free(rows);
    free(ld);
}

static void load(struct service *svc, const char *name)
{
    struct load *ld = calloc(1, sizeof *ld);
    if (!ld)
        return;
    ld->svc = svc;
    ld->all = !name;
    snprintf(ld->name, sizeof ld->name, "%s", name ? name : "");
    store_fn_load(svc->store, name, on_loaded, ld);
}

void fn_registry_changed(struct service *svc, const char *name)
{
    if (reg(svc) && !reg(svc)->closing)
        load(svc, name);
}

/* ---- the registry ---- */

static void on_tick(uv_timer_t *t)
{
    struct service *svc = t->data;
    struct fn_registry *r = reg(svc);
    uint64_t now = util_now_ms();
    FN_EACH_SAFE(&r->all, pos, next) {
        struct function *f = list_entry(pos, struct function, node);
        for (size_t i = 0; i < f->nversions; i++)
            fn_instances_tick(f->versions[i], now);
    }
    fn_cron_tick(svc, now);
    if (store_is_shared(svc->store) && now - r->last_sync_ms >= SYNC_MS) {
        r->last_sync_ms = now;  /* what another node changed and a notice missed */
        load(svc, NULL);
    }
}

int fn_registry_open(struct service *svc, struct sb_error *err)
{
    struct fn_registry *r = calloc(1, sizeof *r);
    if (!r)
        return sb_fail(err, SB_E_INTERNAL, "out of memory");
    list_init(&r->all);
    uv_timer_init(svc->loop, &r->tick);
    r->tick.data = svc;
    svc->functions = r;
    return 0;
}

void fn_registry_start(struct service *svc)
{
    struct fn_registry *r = reg(svc);
    if (!svc->cfg->functions.enabled)
        return;
    r->last_sync_ms = util_now_ms();
    load(svc, NULL);
    uv_timer_start(&r->tick, on_tick, TICK_MS, TICK_MS);
}

static void each_version(struct service *svc, void (*fn)(struct fn_version *, const char *),
                         const char *why);

void fn_registry_close(struct service *svc, const char *why)
{
    struct fn_registry *r = reg(svc);
    if (!r || r->closing)
        return;
    r->closing = true;
    each_version(svc, stop_version, why);
    uv_close((uv_handle_t *)&r->tick, NULL);   /* stops it */
}

void fn_registry_free(struct service *svc)
{
    struct fn_registry *r = reg(svc);
    if (!r)
        return;
    while (!list_empty(&r->all))
        fn_remove(list_entry(r->all.next, struct function, node), "the server stopped");
    free(r);
    svc->functions = NULL;
}

/* fn(version, why) for every version of every function. */
static void each_version(struct service *svc, void (*fn)(struct fn_version *, const char *),
                         const char *why)
{
    struct fn_registry *r = reg(svc);
    if (!r)
        return;
    FN_EACH(&r->all, pos) {
        struct function *f = list_entry(pos, struct function, node);
        for (size_t i = 0; i < f->nversions; i++)
            fn(f->versions[i], why);
    }
}

void fn_cancel_all(struct service *svc, const char *why)
{
    each_version(svc, fn_cancel_version, why);
}

unsigned fn_running(struct service *svc)
{
    struct fn_registry *r = reg(svc);
    return r ? r->ninvocations : 0;
}

void fn_registry_drain(struct service *svc)
{
    each_version(svc, fn_fail_queue, "the server is shutting down");
}
