/* Serverless functions in the store: one opaque JSON document per function, written only at the generation read, and claimed cron firings; the operations and their SQLite side. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "store/store_internal.h"

/* Claimed firings are kept this long: long enough that no node fires a time
 * twice, short enough that the table stays small. */
#define FIRE_KEEP_MS (24ull * 3600 * 1000)

void fn_row_free(struct fn_row *r)
{
    free(r->doc);
    r->doc = NULL;
}

int store_fn_conflict(struct op *op)
{
    return sb_fail(&op->err, SB_E_CONFLICT, "function %s was changed by another request",
                   op->s[0]);
}

/* Steps a write; 0 when it changed a row, SB_E_CONFLICT when none matched. */
static int step_changed(sqlite3 *db, sqlite3_stmt *q, struct op *op, const char *what)
{
    if (store_step_done(db, q, &op->err, what) < 0)
        return -1;
    return sqlite3_changes(db) == 1 ? 0 : store_fn_conflict(op);
}

static int do_put(sqlite3 *db, struct op *op)
{
    /* expect 0 inserts (a name taken is a conflict); otherwise only the
     * generation read is overwritten. */
    sqlite3_stmt *q = store_prepare(db, op->u[0] == 0
        ? "INSERT INTO functions(name, owner, doc, generation, updated_ms) "
          "VALUES(?1, ?2, ?3, ?4 + 1, ?5) ON CONFLICT(name) DO NOTHING"
        : "UPDATE functions SET owner = ?2, doc = ?3, generation = ?4 + 1, updated_ms = ?5 "
          "WHERE name = ?1 AND generation = ?4", &op->err);
    if (!q)
        return -1;
    store_bind_text(q, 1, op->s[0]);
    store_bind_text(q, 2, op->s[1]);
    store_bind_text(q, 3, op->s[2]);
    sqlite3_bind_int64(q, 4, (sqlite3_int64)op->u[0]);
    sqlite3_bind_int64(q, 5, (sqlite3_int64)op->u[1]);
    return step_changed(db, q, op, "write function");
}

static int do_delete(sqlite3 *db, struct op *op)
{
    sqlite3_stmt *q = store_prepare(db, "DELETE FROM functions WHERE name = ? AND generation = ?",
                                    &op->err);
    if (!q)
        return -1;
    store_bind_text(q, 1, op->s[0]);
    sqlite3_bind_int64(q, 2, (sqlite3_int64)op->u[0]);
    if (step_changed(db, q, op, "delete function") < 0)
        return -1;
    /* its schedules' firings are claimed as "NAME/<schedule index>" */
    if (!(q = store_prepare(db, "DELETE FROM function_fires WHERE name = ?1 OR "
                                "substr(name, 1, length(?1) + 1) = ?1 || '/'", &op->err)))
        return -1;
    store_bind_text(q, 1, op->s[0]);
    return store_step_done(db, q, &op->err, "delete function firings");
}

/* 0: claimed now; 1: a row was there (claimed before, by any node). */
static int do_claim(sqlite3 *db, struct op *op)
{
    sqlite3_stmt *q = store_prepare(db, "DELETE FROM function_fires WHERE fire_ms < ?", &op->err);
    if (!q)
        return -1;
    uint64_t now = util_now_ms();
    sqlite3_bind_int64(q, 1, (sqlite3_int64)(now > FIRE_KEEP_MS ? now - FIRE_KEEP_MS : 0));
    if (store_step_done(db, q, &op->err, "drop old firings") < 0)
        return -1;
    if (!(q = store_prepare(db, "INSERT INTO function_fires(name, fire_ms, node) VALUES(?, ?, ?) "
                            "ON CONFLICT(name, fire_ms) DO NOTHING", &op->err)))
        return -1;
    store_bind_text(q, 1, op->s[0]);
    sqlite3_bind_int64(q, 2, (sqlite3_int64)op->u[0]);
    store_bind_text(q, 3, op->s[3]);
    if (store_step_done(db, q, &op->err, "claim firing") < 0)
        return -1;
    return sqlite3_changes(db) == 1 ? 0 : 1;
}

static int read_fn(sqlite3_stmt *q, struct fn_row *r, struct sb_error *err)
{
    memset(r, 0, sizeof *r);
    snprintf(r->name, sizeof r->name, "%s", (const char *)sqlite3_column_text(q, 0));
    snprintf(r->owner, sizeof r->owner, "%s", (const char *)sqlite3_column_text(q, 1));
    const void *doc = sqlite3_column_text(q, 2);
    size_t len = (size_t)sqlite3_column_bytes(q, 2);
    if (!(r->doc = malloc(len + 1)))
        return sb_fail(err, SB_E_INTERNAL, "store: out of memory for function %s", r->name);
    memcpy(r->doc, doc ? doc : "", len);
    r->doc[len] = '\0';
    r->generation = (uint64_t)sqlite3_column_int64(q, 3);
    r->updated_ms = (uint64_t)sqlite3_column_int64(q, 4);
    return 0;
}

static int do_load(sqlite3 *db, struct op *op)
{
    sqlite3_stmt *q = store_prepare(db, "SELECT name, owner, doc, generation, updated_ms "
                                    "FROM functions WHERE ?1 IS NULL OR name = ?1 ORDER BY name",
                                    &op->err);
    if (!q)
        return -1;
    store_bind_text(q, 1, op->s[0]);
    int rc = SQLITE_DONE, out = 0;
    size_t cap = 0;
    while (out == 0 && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (op->nfns == cap) {
            struct fn_row *v = realloc(op->fns, (cap = cap ? cap * 2 : 8) * sizeof *v);
            if (!v) {
                out = sb_fail(&op->err, SB_E_INTERNAL, "store: out of memory");
                break;
            }
            op->fns = v;
        }
        if ((out = read_fn(q, &op->fns[op->nfns], &op->err)) == 0)
            op->nfns++;
    }
    if (out == 0 && rc != SQLITE_DONE)
        out = sb_fail(&op->err, SB_E_INTERNAL, "store: load functions: %s", sqlite3_errmsg(db));
    sqlite3_finalize(q);
    return out;
}

int store_run_fn_op(sqlite3 *db, struct op *op)
{
    switch (op->kind) {
    case OP_FN_PUT:    return do_put(db, op);
    case OP_FN_DELETE: return do_delete(db, op);
    case OP_FN_CLAIM:  return do_claim(db, op);
    default:           return do_load(db, op);
    }
}

/* ---- public operations (queued like the others; PostgreSQL: store_pg_fn.c) ---- */

static void fail_now(store_done_cb cb, void *arg, enum sb_code code, const char *msg)
{
    struct sb_error err;
    sb_fail(&err, code, "%s", msg);
    if (cb)
        cb(arg, -1, &err);
}

/* An op that never reached the queue. */
static void discard(struct op *op)
{
    if (!op)
        return;
    for (int i = 0; i < OP_NSTR; i++)
        free(op->s[i]);
    free(op);
}

/* An op for a write on name, or NULL after telling cb why not. */
static struct op *fn_write_op(enum op_kind kind, const char *name, store_done_cb cb, void *arg)
{
    if (strlen(name) >= sizeof ((struct fn_row *)0)->name) {
        fail_now(cb, arg, SB_E_INVALID_ARGUMENT, "store: function name too long");
        return NULL;
    }
    struct op *op = store_op_new(kind, arg);
    if (!op || !(op->s[0] = strdup(name))) {
        discard(op);
        fail_now(cb, arg, SB_E_INTERNAL, "store: out of memory");
        return NULL;
    }
    op->cb.done = cb;
    return op;
}

void store_fn_put(struct store *s, const char *name, const char *owner, const char *doc,
                  uint64_t expect, uint64_t now_ms, store_done_cb cb, void *arg)
{
    if (strlen(owner) >= sizeof ((struct fn_row *)0)->owner) {
        fail_now(cb, arg, SB_E_INVALID_ARGUMENT, "store: function owner too long");
        return;
    }
    struct op *op = fn_write_op(OP_FN_PUT, name, cb, arg);
    if (!op)
        return;
    op->s[1] = strdup(owner);
    op->s[2] = strdup(doc);
    if (!op->s[1] || !op->s[2]) {   /* a document is up to 32 MiB */
        discard(op);
        fail_now(cb, arg, SB_E_INTERNAL, "store: out of memory for the function's document");
        return;
    }
    op->u[0] = expect;
    op->u[1] = now_ms;
    store_op_submit(s, op);
}

void store_fn_delete(struct store *s, const char *name, uint64_t expect, store_done_cb cb,
                     void *arg)
{
    struct op *op = fn_write_op(OP_FN_DELETE, name, cb, arg);
    if (!op)
        return;
    op->u[0] = expect;
    store_op_submit(s, op);
}

void store_fn_claim_fire(struct store *s, const char *name, uint64_t fire_ms, const char *node,
                         store_done_cb cb, void *arg)
{
    struct op *op = fn_write_op(OP_FN_CLAIM, name, cb, arg);
    if (!op)
        return;
    if (node && !(op->s[3] = strdup(node))) {
        discard(op);
        fail_now(cb, arg, SB_E_INTERNAL, "store: out of memory");
        return;
    }
    op->u[0] = fire_ms;
    store_op_submit(s, op);
}

void store_fn_load(struct store *s, const char *name, store_fn_cb cb, void *arg)
{
    struct op *op = store_op_new(OP_FN_LOAD, arg);
    if (!op || (name && !(op->s[0] = strdup(name)))) {
        discard(op);
        struct sb_error err;
        sb_fail(&err, SB_E_INTERNAL, "store: out of memory");
        cb(arg, -1, &err, NULL, 0);
        return;
    }
    op->cb.fn = cb;
    store_op_submit(s, op);
}
