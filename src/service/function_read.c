/* Reading functions: listings, one function, its versions, the logs of its last invocations. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "service/function_internal.h"
#include "service/service.h"

/* ---- reads ---- */

static struct function *visible(struct service *svc, const struct caller *who, const char *name,
                                struct sb_error *err)
{
    if (!svc->cfg->functions.enabled)
        return sb_fail(err, SB_E_UNAVAILABLE, "functions are off on this server "
                       "(functions.enabled)"), NULL;
    struct function *f = fn_find(svc, name);
    if (!f || !fn_visible(f, who))
        return sb_fail(err, SB_E_NOT_FOUND, "no such function: %.64s", name), NULL;
    return f;
}

static json_t *summary(struct function *f)
{
    char c[40], u[40];
    util_iso_time(f->created_ms, c, sizeof c);
    util_iso_time(f->updated_ms, u, sizeof u);
    unsigned latest = 0, ready = 0, starting = 0, busy = 0, queued = 0;
    for (size_t i = 0; i < f->nversions; i++) {
        struct fn_version *v = f->versions[i];
        latest = v->number > latest ? v->number : latest;
        ready += fn_instances_ready(v);
        starting += v->nstarting;
        busy += v->nrunning + fn_instances_busy(v);
        queued += v->nqueued;
    }
    return json_pack("{s:s,s:s,s:s,s:I,s:I,s:O,s:I,s:{s:I,s:I,s:I,s:I}}", "name", f->name,
                     "created_at", c, "updated_at", u, "active_version", (json_int_t)f->active,
                     "latest_version", (json_int_t)latest,
                     "aliases", json_object_get(f->doc, "aliases"),
                     "versions", (json_int_t)f->nversions, "instances", "running",
                     (json_int_t)ready, "starting", (json_int_t)starting,
                     "invocations_running", (json_int_t)busy,
                     "invocations_queued", (json_int_t)queued);
}

static int by_name(const void *a, const void *b)
{
    return strcmp((*(struct function *const *)a)->name, (*(struct function *const *)b)->name);
}

int fn_list_json(struct service *svc, const struct caller *who, json_t **out,
                 struct sb_error *err)
{
    if (!svc->cfg->functions.enabled)
        return sb_fail(err, SB_E_UNAVAILABLE, "functions are off on this server "
                       "(functions.enabled)");
    struct fn_registry *r = svc->functions;
    struct function **all = calloc(r->n ? r->n : 1, sizeof *all);
    size_t n = 0;
    if (!all)
        return sb_fail(err, SB_E_INTERNAL, "out of memory");
    FN_EACH(&r->all, pos) {
        struct function *f = list_entry(pos, struct function, node);
        if (!f->deleted && n < r->n && fn_visible(f, who))
            all[n++] = f;
    }
    qsort(all, n, sizeof *all, by_name);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, summary(all[i]));
    free(all);
    *out = json_pack("{s:o}", "functions", arr);
    return *out ? 0 : sb_fail(err, SB_E_INTERNAL, "out of memory");
}

int fn_get_json(struct service *svc, const struct caller *who, const char *name, json_t **out,
                struct sb_error *err)
{
    struct function *f = visible(svc, who, name, err);
    if (!f)
        return -1;
    *out = summary(f);
    struct fn_version *v = fn_version_find(f, f->active);
    if (*out && v)
        json_object_set_new(*out, "active", fn_version_json(v));
    return *out ? 0 : sb_fail(err, SB_E_INTERNAL, "out of memory");
}

int fn_versions_json(struct service *svc, const struct caller *who, const char *name,
                     json_t **out, struct sb_error *err)
{
    struct function *f = visible(svc, who, name, err);
    if (!f)
        return -1;
    json_t *arr = json_array();
    for (size_t i = f->nversions; i-- > 0;)
        json_array_append_new(arr, fn_version_json(f->versions[i]));
    *out = json_pack("{s:s,s:I,s:o}", "name", f->name, "active_version", (json_int_t)f->active,
                     "versions", arr);
    return *out ? 0 : sb_fail(err, SB_E_INTERNAL, "out of memory");
}

/* ---- logs of the last invocations ---- */

/* Its logs' last FN_LOG_KEEP_BYTES (whole UTF-8 characters), marked cut. */
static void keep_tail(struct fn_log *l)
{
    size_t n = l->logs ? strlen(l->logs) : 0;
    if (n <= FN_LOG_KEEP_BYTES)
        return;
    const char *from = l->logs + n - FN_LOG_KEEP_BYTES;
    while ((*from & 0xC0) == 0x80)
        from++;
    static const char mark[] = "[earlier logs cut]\n";
    char *t = malloc(sizeof mark + strlen(from));
    if (t) {
        memcpy(t, mark, sizeof mark - 1);
        strcpy(t + sizeof mark - 1, from);
    }
    free(l->logs);
    l->logs = t;
}

/* An async response's body counts against FN_KEPT_RESPONSES; beyond it
 * the body is dropped (body_dropped: true). */
static void keep_response(struct fn_registry *r, struct fn_log *l)
{
    json_t *body = json_object_get(l->response, "body");
    size_t n = json_string_length(body);
    if (!l->response || !n)
        return;
    if (r->kept_bytes + n > FN_KEPT_RESPONSES) {
        json_object_set_new(l->response, "body", json_string(""));
        json_object_set_new(l->response, "body_dropped", json_true());
        return;
    }
    l->kept = n;
    r->kept_bytes += n;
}

void fn_log_add(struct function *f, const struct fn_log *entry)
{
    struct fn_registry *r = f->svc->functions;
    size_t cap = f->svc->cfg->functions.log_entries;
    struct fn_log copy = *entry;
    if (!cap) {
        fn_log_entry_free(r, &copy);
        return;
    }
    struct fn_log *slot = fn_log_find(f, entry->id);
    if (!slot) {
        slot = &f->logs[f->log_next];
        f->log_next = (f->log_next + 1) % cap;
        f->nlogs += f->nlogs < cap;
    }
    fn_log_entry_free(r, slot);
    copy.kept = 0;
    keep_tail(&copy);
    keep_response(r, &copy);
    *slot = copy;
}

struct fn_log *fn_log_find(struct function *f, const char *id)
{
    for (size_t i = 0; i < f->nlogs; i++)
        if (!strcmp(f->logs[i].id, id))
            return &f->logs[i];
    return NULL;
}

static json_t *log_json(const struct fn_log *l)
{
    char at[40];
    util_iso_time(l->started_ms, at, sizeof at);
    json_t *o = json_pack("{s:s,s:s,s:I,s:s,s:s,s:b,s:b,s:s,s:s?,s:s?}", "id", l->id,
                          "request_id", l->request_id, "version", (json_int_t)l->version,
                          "started_at", at, "state", l->done ? "done" : "running",
                          "cold", l->cold, "async", l->async, "status", l->status,
                          "error", l->error, "logs", l->logs);
    if (o && l->done) {
        json_object_set_new(o, "duration_ms", json_real(l->duration_ms));
        json_object_set_new(o, "http_status", json_integer(l->http_status));
    }
    if (o && l->response)
        json_object_set(o, "response", l->response);
    return o;
}

int fn_logs_json(struct service *svc, const struct caller *who, const char *name,
                 unsigned limit, json_t **out, struct sb_error *err)
{
    struct function *f = visible(svc, who, name, err);
    if (!f)
        return -1;
    size_t cap = svc->cfg->functions.log_entries;
    json_t *arr = json_array();
    for (size_t i = 0; i < f->nlogs && json_array_size(arr) < limit; i++) {
        size_t k = (f->log_next + cap - 1 - i) % cap; /* newest first */
        json_array_append_new(arr, log_json(&f->logs[k]));
    }
    *out = json_pack("{s:s,s:o}", "name", f->name, "invocations", arr);
    return *out ? 0 : sb_fail(err, SB_E_INTERNAL, "out of memory");
}

int fn_invocation_json(struct service *svc, const struct caller *who, const char *name,
                       const char *id, json_t **out, struct sb_error *err)
{
    struct function *f = visible(svc, who, name, err);
    if (!f)
        return -1;
    struct fn_log *l = fn_log_find(f, id);
    if (!l)
        return sb_fail(err, SB_E_NOT_FOUND, "no such invocation: %.64s", id);
    *out = log_json(l);
    return *out ? 0 : sb_fail(err, SB_E_INTERNAL, "out of memory");
}
