/* Judge0 submissions (the compat API): one JSON document per token, written on creation and again with the result; the operations and their SQLite side. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"

/* ---- queueing (loop thread) ---- */

static void oom(struct sb_error *err)
{
    sb_fail(err, SB_E_INTERNAL, "store: out of memory");
}

void store_judge0_put(struct store *s, const char *token, const char *key_id, const char *doc,
                      uint64_t created_ms, store_done_cb cb, void *arg)
{
    struct op *op = store_op_new(OP_J0_PUT, arg);
    if (op && (!(op->s[0] = strdup(token)) || !(op->s[2] = strdup(doc)))) {
        free(op->s[0]);
        free(op);
        op = NULL;
    }
    if (!op) {
        struct sb_error err;
        oom(&err);
        if (cb)
            cb(arg, -1, &err);
        return;
    }
    op->cb.done = cb;
    op->s[1] = key_id && *key_id ? strdup(key_id) : NULL;
    op->u[0] = created_ms;
    store_op_submit(s, op);
}

void store_judge0_get(struct store *s, const char *token, store_share_cb cb, void *arg)
{
    struct op *op = store_op_new(OP_J0_GET, arg);
    if (!op || !(op->s[0] = strdup(token))) {
        free(op);
        struct sb_error err;
        oom(&err);
        cb(arg, -1, &err, NULL);
        return;
    }
    op->cb.share = cb;
    store_op_submit(s, op);
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
        oom(&err);
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
    sqlite3_stmt *q = store_prepare(db, "INSERT INTO judge0_submissions(token, created_ms, "
                                    "key_id, doc) VALUES(?, ?, ?, ?) ON CONFLICT(token) "
                                    "DO UPDATE SET doc = excluded.doc", &op->err);
    if (!q)
        return -1;
    store_bind_text(q, 1, op->s[0]);
    sqlite3_bind_int64(q, 2, (sqlite3_int64)op->u[0]);
    store_bind_text(q, 3, op->s[1]);
    store_bind_text(q, 4, op->s[2]);
    return store_step_done(db, q, &op->err, "write judge0 submission");
}

/* One row (token, created_ms, key_id, doc) into r. */
static int read_row(sqlite3_stmt *q, struct share_row *r, struct sb_error *err)
{
    const unsigned char *key = sqlite3_column_text(q, 2), *doc = sqlite3_column_text(q, 3);
    if (!(r->doc = strdup(doc ? (const char *)doc : "{}")))
        return sb_fail(err, SB_E_INTERNAL, "store: out of memory");
    snprintf(r->id, sizeof r->id, "%s", (const char *)sqlite3_column_text(q, 0));
    r->created_ms = (uint64_t)sqlite3_column_int64(q, 1);
    snprintf(r->key_id, sizeof r->key_id, "%s", key ? (const char *)key : "");
    return 0;
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
        if ((out = read_row(q, &op->docs[op->ndocs++], &op->err)) < 0)
            break;
    sqlite3_finalize(q);
    if (!out && rc != SQLITE_ROW && rc != SQLITE_DONE)
        out = sb_fail(&op->err, SB_E_INTERNAL, "store: list judge0 submissions: %s",
                      sqlite3_errmsg(db));
    return out;
}

static int do_get(sqlite3 *db, struct op *op)
{
    sqlite3_stmt *q = store_prepare(db, "SELECT token, created_ms, key_id, doc FROM "
                                    "judge0_submissions WHERE token = ?", &op->err);
    if (!q)
        return -1;
    store_bind_text(q, 1, op->s[0]);
    int rc = sqlite3_step(q), out = 0;
    if (rc == SQLITE_ROW) {
        struct share_row *r = calloc(1, sizeof *r);
        const unsigned char *key = sqlite3_column_text(q, 2), *doc = sqlite3_column_text(q, 3);
        if (!r || !(r->doc = strdup(doc ? (const char *)doc : "{}"))) {
            free(r);
            out = sb_fail(&op->err, SB_E_INTERNAL, "store: out of memory");
        } else {
            snprintf(r->id, sizeof r->id, "%s", (const char *)sqlite3_column_text(q, 0));
            r->created_ms = (uint64_t)sqlite3_column_int64(q, 1);
            snprintf(r->key_id, sizeof r->key_id, "%s", key ? (const char *)key : "");
            op->share = r;
        }
    } else if (rc != SQLITE_DONE) {
        out = sb_fail(&op->err, SB_E_INTERNAL, "store: read judge0 submission: %s",
                      sqlite3_errmsg(db));
    }
    sqlite3_finalize(q);
    return out;
}

int store_run_judge0_op(sqlite3 *db, struct op *op)
{
    switch (op->kind) {
    case OP_J0_PUT:  return do_put(db, op);
    case OP_J0_LIST: return do_list(db, op);
    default:         return do_get(db, op);
    }
}
