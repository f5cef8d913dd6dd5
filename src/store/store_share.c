/* The audit log read back a page at a time, and share links (one JSON document each): the operations and their SQLite side. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"

void audit_row_free(struct audit_row *r)
{
    for (int i = 0; i < AUDIT_NFIELDS; i++) {
        free(r->f[i]);
        r->f[i] = NULL;
    }
}

void share_row_free(struct share_row *r)
{
    free(r->doc);
    r->doc = NULL;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* ---- queueing (loop thread) ---- */

void store_audit_list(struct store *s, const struct audit_query *q, store_audit_cb cb, void *arg)
{
    struct op *op = store_op_new(OP_AUDIT_LIST, arg);
    if (!op) {
        struct sb_error err;
        store_oom(&err);
        cb(arg, -1, &err, NULL, 0, 0);
        return;
    }
    op->cb.audit = cb;
    op->s[0] = dup_or_null(q->event);
    op->s[1] = dup_or_null(q->key_id);
    op->s[2] = dup_or_null(q->status);
    op->u[0] = q->limit;
    op->u[1] = q->before_seq ? q->before_seq : (uint64_t)INT64_MAX;
    op->u[2] = q->since_ms > (uint64_t)INT64_MAX ? (uint64_t)INT64_MAX : q->since_ms;
    store_op_submit(s, op);
}

void store_share_put(struct store *s, const char *id, const char *key_id, const char *doc,
                     uint64_t created_ms, uint64_t keep, store_done_cb cb, void *arg)
{
    struct op *op = store_doc_put_op(OP_SHARE_PUT, id, key_id, doc, created_ms, cb, arg);
    if (!op)
        return;
    op->u[1] = keep > (uint64_t)INT64_MAX ? (uint64_t)INT64_MAX : keep;
    store_op_submit(s, op);
}

void store_share_get(struct store *s, const char *id, store_share_cb cb, void *arg)
{
    store_doc_get(s, OP_SHARE_GET, id, cb, arg);
}

/* ---- SQLite (the store's thread) ---- */

static int read_audit_row(sqlite3_stmt *q, struct audit_row *row, struct sb_error *err)
{
    row->seq = (uint64_t)sqlite3_column_int64(q, 0);
    row->ts_ms = (uint64_t)sqlite3_column_int64(q, 1);
    for (int i = 0; i < AUDIT_NFIELDS; i++) {
        const unsigned char *t = sqlite3_column_text(q, i + 2);
        if (t && !(row->f[i] = strdup((const char *)t)))
            return sb_fail(err, SB_E_INTERNAL, "store: out of memory");
    }
    return 0;
}

static int do_audit_list(sqlite3 *db, struct op *op)
{
    sqlite3_stmt *q = store_prepare(db,
        "SELECT seq, ts_ms, event, request_id, key_id, client, language, code_sha256, limits, "
        "status, detail FROM audit WHERE seq < ?1 AND ts_ms >= ?2 "
        "AND (?3 IS NULL OR event = ?3) AND (?4 IS NULL OR key_id = ?4) "
        "AND (?5 IS NULL OR status = ?5) ORDER BY seq DESC LIMIT ?6", &op->err);
    if (!q)
        return -1;
    sqlite3_bind_int64(q, 1, (sqlite3_int64)op->u[1]);
    sqlite3_bind_int64(q, 2, (sqlite3_int64)op->u[2]);
    for (int i = 0; i < 3; i++)
        store_bind_text(q, i + 3, op->s[i]);
    sqlite3_bind_int64(q, 6, (sqlite3_int64)op->u[0] + 1);
    op->audit = calloc(op->u[0] + 1, sizeof *op->audit);
    int rc = op->audit ? SQLITE_ROW : SQLITE_NOMEM, out = 0;
    while (op->audit && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (op->naudit == op->u[0]) {      /* one more than asked: another page follows */
            op->next_cursor = op->audit[op->naudit - 1].seq;
            break;
        }
        if (read_audit_row(q, &op->audit[op->naudit++], &op->err) < 0) {
            out = -1;
            break;
        }
    }
    sqlite3_finalize(q);
    if (!out && rc != SQLITE_ROW && rc != SQLITE_DONE)
        out = sb_fail(&op->err, SB_E_INTERNAL, "store: read audit: %s", sqlite3_errmsg(db));
    return out;
}

static int do_share_put(sqlite3 *db, struct op *op)
{
    if (store_doc_write(db, op, "INSERT INTO shares(id, created_ms, key_id, doc) "
                        "VALUES(?, ?, ?, ?)", "write share") < 0)
        return -1;
    /* the oldest beyond `keep` go (none while there are fewer) */
    sqlite3_stmt *q = store_prepare(db, "DELETE FROM shares WHERE seq <= "
                                    "(SELECT seq FROM shares ORDER BY seq DESC LIMIT 1 OFFSET ?)",
                                    &op->err);
    if (!q)
        return -1;
    sqlite3_bind_int64(q, 1, (sqlite3_int64)op->u[1]);
    return store_step_done(db, q, &op->err, "prune shares");
}

static int do_share_get(sqlite3 *db, struct op *op)
{
    return store_doc_read(db, op, "SELECT id, created_ms, key_id, doc FROM shares WHERE id = ?",
                          "read share");
}

int store_run_share_op(sqlite3 *db, struct op *op)
{
    switch (op->kind) {
    case OP_AUDIT_LIST: return do_audit_list(db, op);
    case OP_SHARE_PUT:  return do_share_put(db, op);
    default:            return do_share_get(db, op);
    }
}
