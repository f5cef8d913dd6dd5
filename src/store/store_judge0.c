/* Judge0 submissions (the compat API): one JSON document per token, written on creation and again with the result; the operations and their SQLite side. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"

/* ---- queueing (loop thread) ---- */

void store_judge0_put(struct store *s, const char *token, const char *key_id, const char *doc,
                      uint64_t created_ms, store_done_cb cb, void *arg)
{
    struct op *op = store_doc_put_op(OP_J0_PUT, token, key_id, doc, created_ms, cb, arg);
    if (op)
        store_op_submit(s, op);
}

void store_judge0_get(struct store *s, const char *token, store_share_cb cb, void *arg)
{
    store_doc_get(s, OP_J0_GET, token, cb, arg);
}

void store_judge0_list(struct store *s, const char *key_id, uint64_t offset, unsigned limit,
                       store_judge0_list_cb cb, void *arg)
{
    struct op *op = store_op_new(OP_J0_LIST, arg);
    if (op && key_id && !(op->s[1] = strdup(key_id))) {
        free(op);
        op = NULL;
    }
    if (!op) {
        struct sb_error err;
        store_oom(&err);
        cb(arg, -1, &err, NULL, 0, 0);
        return;
    }
    op->cb.j0_list = cb;
    op->u[0] = limit;
    op->u[1] = offset > (uint64_t)INT64_MAX ? (uint64_t)INT64_MAX : offset;
    store_op_submit(s, op);
}

/* ---- SQLite (the store's thread) ---- */

static int do_put(sqlite3 *db, struct op *op)
{
    return store_doc_write(db, op, "INSERT INTO judge0_submissions(token, created_ms, key_id, "
                           "doc) VALUES(?, ?, ?, ?) ON CONFLICT(token) "
                           "DO UPDATE SET doc = excluded.doc", "write judge0 submission");
}

static int do_list(sqlite3 *db, struct op *op)
{
    sqlite3_stmt *q = store_prepare(db, "SELECT count(*) FROM judge0_submissions "
                                    "WHERE ?1 IS NULL OR key_id = ?1", &op->err);
    if (!q)
        return -1;
    store_bind_text(q, 1, op->s[1]);
    op->next_cursor = sqlite3_step(q) == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(q, 0) : 0;
    sqlite3_finalize(q);
    q = store_prepare(db, "SELECT token, created_ms, key_id, doc FROM judge0_submissions "
                      "WHERE ?1 IS NULL OR key_id = ?1 ORDER BY seq DESC LIMIT ?2 OFFSET ?3",
                      &op->err);
    if (!q)
        return -1;
    store_bind_text(q, 1, op->s[1]);
    sqlite3_bind_int64(q, 2, (sqlite3_int64)op->u[0]);
    sqlite3_bind_int64(q, 3, (sqlite3_int64)op->u[1]);
    op->docs = calloc(op->u[0] ? op->u[0] : 1, sizeof *op->docs);
    int rc = op->docs ? SQLITE_ROW : SQLITE_NOMEM, out = 0;
    while (op->docs && (rc = sqlite3_step(q)) == SQLITE_ROW)
        if ((out = store_doc_row(q, &op->docs[op->ndocs++], &op->err)) < 0)
            break;
    sqlite3_finalize(q);
    if (!out && rc != SQLITE_ROW && rc != SQLITE_DONE)
        out = sb_fail(&op->err, SB_E_INTERNAL, "store: list judge0 submissions: %s",
                      sqlite3_errmsg(db));
    return out;
}

static int do_get(sqlite3 *db, struct op *op)
{
    return store_doc_read(db, op, "SELECT token, created_ms, key_id, doc FROM "
                          "judge0_submissions WHERE token = ?", "read judge0 submission");
}

int store_run_judge0_op(sqlite3 *db, struct op *op)
{
    switch (op->kind) {
    case OP_J0_PUT:  return do_put(db, op);
    case OP_J0_LIST: return do_list(db, op);
    default:         return do_get(db, op);
    }
}
