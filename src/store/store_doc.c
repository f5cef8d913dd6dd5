/* A JSON document row by key (share links, Judge0 submissions): queueing its
 * put and get, and their SQLite side. The PostgreSQL side: store_pg_doc.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"

int store_oom(struct sb_error *err)
{
    return sb_fail(err, SB_E_INTERNAL, "store: out of memory");
}

/* ---- queueing (loop thread) ---- */

struct op *store_doc_put_op(enum op_kind kind, const char *id, const char *key_id,
                            const char *doc, uint64_t created_ms, store_done_cb cb, void *arg)
{
    struct op *op = store_op_new(kind, arg);
    if (op && (!(op->s[0] = strdup(id)) || !(op->s[2] = strdup(doc)))) {
        free(op->s[0]);
        free(op);
        op = NULL;
    }
    if (!op) {
        struct sb_error err;
        store_oom(&err);
        if (cb)
            cb(arg, -1, &err);
        return NULL;
    }
    op->cb.done = cb;
    op->s[1] = key_id && *key_id ? strdup(key_id) : NULL;
    op->u[0] = created_ms;
    return op;
}

void store_doc_get(struct store *s, enum op_kind kind, const char *id, store_share_cb cb,
                   void *arg)
{
    struct op *op = store_op_new(kind, arg);
    if (!op || !(op->s[0] = strdup(id))) {
        free(op);
        struct sb_error err;
        store_oom(&err);
        cb(arg, -1, &err, NULL);
        return;
    }
    op->cb.share = cb;
    store_op_submit(s, op);
}

/* ---- SQLite (the store's thread) ---- */

int store_doc_write(sqlite3 *db, struct op *op, const char *sql, const char *what)
{
    sqlite3_stmt *q = store_prepare(db, sql, &op->err);
    if (!q)
        return -1;
    store_bind_text(q, 1, op->s[0]);
    sqlite3_bind_int64(q, 2, (sqlite3_int64)op->u[0]);
    store_bind_text(q, 3, op->s[1]);
    store_bind_text(q, 4, op->s[2]);
    return store_step_done(db, q, &op->err, what);
}

int store_doc_row(sqlite3_stmt *q, struct share_row *r, struct sb_error *err)
{
    const unsigned char *key = sqlite3_column_text(q, 2), *doc = sqlite3_column_text(q, 3);
    if (!(r->doc = strdup(doc ? (const char *)doc : "{}")))
        return store_oom(err);
    snprintf(r->id, sizeof r->id, "%s", (const char *)sqlite3_column_text(q, 0));
    r->created_ms = (uint64_t)sqlite3_column_int64(q, 1);
    snprintf(r->key_id, sizeof r->key_id, "%s", key ? (const char *)key : "");
    return 0;
}

int store_doc_read(sqlite3 *db, struct op *op, const char *sql, const char *what)
{
    sqlite3_stmt *q = store_prepare(db, sql, &op->err);
    if (!q)
        return -1;
    store_bind_text(q, 1, op->s[0]);
    int rc = sqlite3_step(q), out = 0;
    if (rc == SQLITE_ROW) {
        struct share_row *r = calloc(1, sizeof *r);
        if (!r)
            out = store_oom(&op->err);
        else if ((out = store_doc_row(q, r, &op->err)) < 0)
            free(r);
        else
            op->share = r;
    } else if (rc != SQLITE_DONE) {
        out = sb_fail(&op->err, SB_E_INTERNAL, "store: %s: %s", what, sqlite3_errmsg(db));
    }
    sqlite3_finalize(q);
    return out;
}
