/* Changes to functions (deploy, aliases, rollback, delete): queued per function, written to the store against its generation, retried after another node's change, then applied. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "service/function_internal.h"
#include "service/service.h"
#include "store/store.h"

#define WRITE_ATTEMPTS 4

enum op_kind { OP_DEPLOY, OP_ALIAS, OP_UNALIAS, OP_ROLLBACK, OP_DELETE };

/* A change waiting for its turn to be written. */
struct fn_op {
    struct list_node node;
    enum op_kind kind;
    struct function *f;
    json_t *body;
    char alias[FN_ALIAS_MAX + 1];
    struct caller who;
    fn_reply_cb cb;
    void *arg;
    int attempts;
    unsigned number;             /* what the write made (deploy, rollback) */
};

/* ---- writes ---- */

static void op_next(struct function *f);

static void op_done(struct fn_op *op, int status, json_t *body, const struct sb_error *err)
{
    struct function *f = op->f;
    list_remove(&op->node);
    op->cb(op->arg, status, body, err);
    json_decref(op->body);
    free(op);
    f->writing = false;
    op_next(f);
    if (!f->doc && !f->writing && list_empty(&f->ops))
        fn_remove(f, "never written");
    fn_unref(f);
}

static int fail_op(struct fn_op *op, enum sb_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail_op(struct fn_op *op, enum sb_code code, const char *fmt, ...)
{
    struct sb_error e = {.code = code};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e.msg, sizeof e.msg, fmt, ap);
    va_end(ap);
    op_done(op, 0, NULL, &e);
    return -1;
}

/* The versions beyond functions.max_versions, oldest first, that are neither
 * active nor aliased, leave the document. */
static void prune(struct service *svc, json_t *doc)
{
    json_t *vers = json_object_get(doc, "versions"), *aliases = json_object_get(doc, "aliases");
    json_int_t active = json_integer_value(json_object_get(doc, "active"));
    for (size_t i = 0; json_array_size(vers) > svc->cfg->functions.max_versions &&
                       i < json_array_size(vers);) {
        json_int_t num = json_integer_value(json_object_get(json_array_get(vers, i), "number"));
        bool keep = num == active;
        const char *k;
        json_t *v;
        json_object_foreach(aliases, k, v)
            keep = keep || json_integer_value(v) == num;
        if (keep)
            i++;
        else
            json_array_remove(vers, i);
    }
}

static bool doc_has(json_t *doc, json_int_t number)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(doc, "versions"), i, e)
        if (json_integer_value(json_object_get(e, "number")) == number)
            return true;
    return false;
}

/* The requested version number of an alias or rollback body, or -1 after failing op. */
static json_int_t body_version(struct fn_op *op, json_t *doc, bool optional)
{
    json_t *v = json_object_get(op->body, "version");
    if (!v && optional) {       /* rollback: the newest version before the active one */
        json_int_t active = json_integer_value(json_object_get(doc, "active")), best = 0;
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(doc, "versions"), i, e) {
            json_int_t n = json_integer_value(json_object_get(e, "number"));
            if (n < active && n > best)
                best = n;
        }
        if (!best)
            return fail_op(op, SB_E_CONFLICT, "function %s has no version before its active "
                           "one", op->f->name);
        return best;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 1)
        return fail_op(op, SB_E_INVALID_ARGUMENT, "version: must be a version number of %s",
                       op->f->name);
    if (!doc_has(doc, json_integer_value(v)))
        return fail_op(op, SB_E_NOT_FOUND, "function %s has no version %lld", op->f->name,
                       (long long)json_integer_value(v));
    return json_integer_value(v);
}

/* The document after op: 0, or -1 after failing op. */
static int mutate(struct fn_op *op, json_t *doc)
{
    uint64_t now = util_now_ms();
    json_t *aliases = json_object_get(doc, "aliases");
    json_int_t n;
    switch (op->kind) {
    case OP_DEPLOY:
        n = json_integer_value(json_object_get(doc, "next"));
        n = n > 0 ? n : 1;
        json_array_append_new(json_object_get(doc, "versions"),
                              json_pack("{s:I,s:I,s:s,s:O}", "number", n, "created_ms",
                                        (json_int_t)now, "created_by", op->who.key_id,
                                        "spec", op->body));
        json_object_set_new(doc, "next", json_integer(n + 1));
        json_object_set_new(doc, "active", json_integer(n));
        op->number = (unsigned)n;
        prune(op->f->svc, doc);
        break;
    case OP_ALIAS:
        if ((n = body_version(op, doc, false)) < 0)
            return -1;
        json_object_set_new(aliases, op->alias, json_integer(n));
        break;
    case OP_UNALIAS:
        if (!json_object_get(aliases, op->alias))
            return fail_op(op, SB_E_NOT_FOUND, "no such alias: %s", op->alias);
        json_object_del(aliases, op->alias);
        break;
    case OP_ROLLBACK:
        if ((n = body_version(op, doc, true)) < 0)
            return -1;
        json_object_set_new(doc, "active", json_integer(n));
        op->number = (unsigned)n;
        break;
    case OP_DELETE:
        break;
    }
    json_object_set_new(doc, "updated_ms", json_integer((json_int_t)now));
    return 0;
}

static void op_write(struct fn_op *op);

static void on_reloaded(void *arg, int rc, const struct sb_error *err, struct fn_row *rows,
                        size_t n)
{
    struct fn_op *op = arg;
    struct function *f = op->f;
    if (rc < 0) {
        op_done(op, 0, NULL, err);
    } else {
        json_t *d = n ? json_loads(rows[0].doc, 0, NULL) : NULL;
        if (d) {
            fn_apply_doc(f, d, rows[0].generation);
            json_decref(d);
        } else if (f->doc) {
            json_decref(f->doc);
            f->doc = NULL;
            f->generation = 0;
        }
        if (op->kind != OP_DEPLOY && !f->doc)
            fail_op(op, SB_E_NOT_FOUND, "no such function: %s", f->name);
        else if (op->kind == OP_DEPLOY && f->doc && strcmp(f->owner, op->who.key_id))
            fail_op(op, SB_E_CONFLICT, "the name %s belongs to another API key", f->name);
        else
            op_write(op);
    }
    for (size_t i = 0; i < n; i++)
        fn_row_free(&rows[i]);
    free(rows);
}

static void finish_op(struct fn_op *op, json_t *doc, uint64_t gen)
{
    struct function *f = op->f;
    struct service *svc = f->svc;
    char detail[128];
    if (op->kind == OP_DELETE) {
        fn_audit(svc, &op->who, "function_delete", f->name, NULL);
        fn_remove(f, "the function was deleted");
        op_done(op, 204, NULL, NULL);
        return;
    }
    fn_apply_doc(f, doc, gen);
    json_t *body = NULL;
    struct fn_version *v = op->number ? fn_version_find(f, op->number) : NULL;
    if (op->kind == OP_DEPLOY) {
        snprintf(detail, sizeof detail, "version %u", op->number);
        fn_audit(svc, &op->who, "function_deploy", f->name, detail);
    } else if (op->kind == OP_ROLLBACK) {
        snprintf(detail, sizeof detail, "active version %u", op->number);
        fn_audit(svc, &op->who, "function_rollback", f->name, detail);
    } else {
        snprintf(detail, sizeof detail, "alias %s%s", op->alias,
                 op->kind == OP_UNALIAS ? " removed" : "");
        fn_audit(svc, &op->who, "function_alias", f->name, detail);
    }
    if (v && (body = fn_version_json(v))) {
        json_object_set_new(body, "name", json_string(f->name));
        json_object_set_new(body, "active_version", json_integer(f->active));
    } else if (!v && op->kind != OP_DEPLOY) {
        struct sb_error e;
        if (fn_get_json(svc, &op->who, f->name, &body, &e) < 0)
            op_done(op, 0, NULL, &e);
        else
            op_done(op, 200, body, NULL);
        return;
    }
    op_done(op, op->kind == OP_DEPLOY ? 201 : 200, body, NULL);
}

struct write_ctx {
    struct fn_op *op;
    json_t *doc;
};

static void on_written(void *arg, int rc, const struct sb_error *err)
{
    struct write_ctx *w = arg;
    struct fn_op *op = w->op;
    uint64_t gen = op->f->generation + 1;
    if (rc == 0 || op->f->svc->functions->closing) {
        if (rc == 0)
            finish_op(op, w->doc, gen);
        else
            op_done(op, 0, NULL, err);
    } else if (err->code == SB_E_CONFLICT && ++op->attempts < WRITE_ATTEMPTS) {
        store_fn_load(op->f->svc->store, op->f->name, on_reloaded, op); /* another writer */
    } else {
        op_done(op, 0, NULL, err);
    }
    json_decref(w->doc);
    free(w);
}

static void op_write(struct fn_op *op)
{
    struct function *f = op->f;
    struct service *svc = f->svc;
    uint64_t now = util_now_ms();
    json_t *doc = f->doc ? json_deep_copy(f->doc)
                         : json_pack("{s:s,s:s,s:I,s:I,s:i,s:i,s:{},s:[]}", "name", f->name,
                                     "owner", op->who.key_id, "created_ms", (json_int_t)now,
                                     "updated_ms", (json_int_t)now, "active", 0, "next", 1,
                                     "aliases", "versions");
    struct write_ctx *w = calloc(1, sizeof *w);
    if (!doc || !w) {
        json_decref(doc);
        free(w);
        fail_op(op, SB_E_INTERNAL, "out of memory");
        return;
    }
    if (mutate(op, doc) < 0) {
        json_decref(doc);
        free(w);
        return;
    }
    w->op = op;
    w->doc = doc;
    if (op->kind == OP_DELETE) {
        store_fn_delete(svc->store, f->name, f->generation, on_written, w);
        return;
    }
    char *text = json_dumps(doc, JSON_COMPACT);
    if (!text) {
        json_decref(doc);
        free(w);
        fail_op(op, SB_E_INTERNAL, "out of memory");
        return;
    }
    store_fn_put(svc->store, f->name, json_string_value(json_object_get(doc, "owner")), text,
                 f->generation, now, on_written, w);
    free(text);
}

static void op_next(struct function *f)
{
    if (f->deleted && !f->writing && !list_empty(&f->ops)) {
        f->writing = true; /* op_done clears it and comes back here for the next */
        fail_op(list_entry(f->ops.next, struct fn_op, node), SB_E_CONFLICT,
                "function %s was deleted meanwhile", f->name);
        return;
    }
    if (f->writing || list_empty(&f->ops))
        return;
    f->writing = true;
    op_write(list_entry(f->ops.next, struct fn_op, node));
}

/* Queues a change of function name (created for a deploy). */
static void submit(struct service *svc, const struct caller *who, enum op_kind kind,
                   const char *name, const char *alias, json_t *body, fn_reply_cb cb, void *arg)
{
    struct sb_error e;
    struct fn_registry *r = svc->functions;
    if (!svc->cfg->functions.enabled || !r->loaded || r->closing) {
        sb_fail(&e, SB_E_UNAVAILABLE, "%s", !svc->cfg->functions.enabled
                ? "functions are off on this server (functions.enabled)"
                : r->closing ? "the server is shutting down" : "functions are loading");
        return cb(arg, 0, NULL, &e);
    }
    struct function *f = fn_find(svc, name);
    if (f && f->doc && !fn_visible(f, who) && kind == OP_DEPLOY) {
        sb_fail(&e, SB_E_CONFLICT, "the name %s belongs to another API key", name);
        return cb(arg, 0, NULL, &e);
    }
    if ((!f || !f->doc || !fn_visible(f, who)) && kind != OP_DEPLOY) {
        sb_fail(&e, SB_E_NOT_FOUND, "no such function: %.64s", name);
        return cb(arg, 0, NULL, &e);
    }
    if (!f && r->n >= svc->cfg->functions.max_functions) {
        sb_fail(&e, SB_E_RATE_LIMITED, "%u functions are deployed, the maximum "
                "(functions.max_functions)", r->n);
        return cb(arg, 0, NULL, &e);
    }
    struct fn_op *op = calloc(1, sizeof *op);
    if (!op || (!f && !(f = fn_new(svc, name)))) {
        free(op);
        sb_fail(&e, SB_E_INTERNAL, "out of memory");
        return cb(arg, 0, NULL, &e);
    }
    *op = (struct fn_op){.kind = kind, .f = f, .body = json_incref(body), .who = *who,
                         .cb = cb, .arg = arg};
    snprintf(op->alias, sizeof op->alias, "%s", alias ? alias : "");
    f->refs++;
    list_insert_tail(&f->ops, &op->node);
    op_next(f);
}

/* A compiled language's version compiles (through the compile cache) before
 * it is deployed: a compile error is the deploy's 400. */
struct compiling {
    struct service *svc;
    struct caller who;
    struct fn_version *v;
    fn_reply_cb cb;
    void *arg;
};

static void on_compiled(struct job *j, void *arg)
{
    struct compiling *c = arg;
    const struct job_result *r = job_result(j);
    struct sb_error e;
    if (r->failed) {
        c->cb(c->arg, 0, NULL, &r->error);
    } else if (r->status != SB_ST_OK) {
        const struct sb_buf *out = r->compile.err.len ? &r->compile.err : &r->compile.out;
        size_t n = out->len < 400 ? out->len : 400;
        sb_fail(&e, SB_E_INVALID_ARGUMENT, "code: the function did not compile (%s): %.*s",
                r->compile.message[0] ? r->compile.message : "compile_error", (int)n,
                out->data ? out->data : "");
        c->cb(c->arg, 0, NULL, &e);
    } else {
        submit(c->svc, &c->who, OP_DEPLOY,
               json_string_value(json_object_get(c->v->spec, "name")), NULL, c->v->spec, c->cb,
               c->arg);
    }
    job_free(j);
    fn_version_free(c->v);
    free(c);
}

static void compile_first(struct service *svc, const struct caller *who, struct fn_version *v,
                          fn_reply_cb cb, void *arg)
{
    struct sb_error e;
    struct compiling *c = calloc(1, sizeof *c);
    if (!c) {
        fn_version_free(v);
        return sb_fail(&e, SB_E_INTERNAL, "out of memory"), cb(arg, 0, NULL, &e);
    }
    *c = (struct compiling){.svc = svc, .who = *who, .v = v, .cb = cb, .arg = arg};
    struct job_request jr;
    exec_req_job(&v->req, &jr);
    jr.compile_only = true;
    if (!job_start(&svc->runner, &jr, on_compiled, NULL, c, &e)) {
        fn_version_free(v);
        free(c);
        cb(arg, 0, NULL, &e);
    }
}

void fn_deploy(struct service *svc, const struct caller *who, json_t *body, fn_reply_cb cb,
               void *arg)
{
    struct sb_error e;
    json_t *name = json_object_get(body, "name");
    if (!json_is_object(body))
        return sb_fail(&e, SB_E_INVALID_ARGUMENT, "body: must be a JSON object"),
               cb(arg, 0, NULL, &e);
    if (!json_is_string(name))
        return sb_fail(&e, SB_E_INVALID_ARGUMENT, "name: required, a string"),
               cb(arg, 0, NULL, &e);
    if (fn_name_ok(json_string_value(name), &e) < 0)
        return cb(arg, 0, NULL, &e);
    /* validated before it is queued: a bad spec never reaches the store */
    struct fn_version *v;
    if (fn_version_build(svc, body, 0, &v, &e) < 0)
        return cb(arg, 0, NULL, &e);
    if (!v->req.lang->compile) {
        fn_version_free(v);
        submit(svc, who, OP_DEPLOY, json_string_value(name), NULL, body, cb, arg);
        return;
    }
    compile_first(svc, who, v, cb, arg);
}

static int alias_ok(const char *alias, struct sb_error *err)
{
    size_t n = strlen(alias);
    bool ok = n >= 1 && n <= FN_ALIAS_MAX && strspn(alias, "0123456789") != n;
    for (size_t i = 0; ok && i < n; i++)
        ok = (alias[i] >= 'a' && alias[i] <= 'z') || (alias[i] >= '0' && alias[i] <= '9') ||
             alias[i] == '-' || alias[i] == '_';
    return ok ? 0 : sb_fail(err, SB_E_INVALID_ARGUMENT, "alias: '%.64s' must be 1-%d "
                            "characters of a-z, 0-9, '-' and '_', not only digits", alias,
                            FN_ALIAS_MAX);
}

void fn_set_alias(struct service *svc, const struct caller *who, const char *name,
                  const char *alias, json_t *body, fn_reply_cb cb, void *arg)
{
    struct sb_error e;
    if (alias_ok(alias, &e) < 0)
        return cb(arg, 0, NULL, &e);
    submit(svc, who, OP_ALIAS, name, alias, body, cb, arg);
}

void fn_delete_alias(struct service *svc, const struct caller *who, const char *name,
                     const char *alias, fn_reply_cb cb, void *arg)
{
    submit(svc, who, OP_UNALIAS, name, alias, NULL, cb, arg);
}

void fn_rollback(struct service *svc, const struct caller *who, const char *name, json_t *body,
                 fn_reply_cb cb, void *arg)
{
    submit(svc, who, OP_ROLLBACK, name, NULL, body, cb, arg);
}

void fn_delete(struct service *svc, const struct caller *who, const char *name, fn_reply_cb cb,
               void *arg)
{
    submit(svc, who, OP_DELETE, name, NULL, NULL, cb, arg);
}
