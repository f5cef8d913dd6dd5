/* The audit log's pages and share links in PostgreSQL: the SQLite side's operations (store_share.c), each a statement or two. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"
#include "store/store_pg.h"

static uint64_t col_u64(const PGresult *r, int row, int col)
{
    return pq.PQgetisnull(r, row, col) ? 0 : strtoull(pq.PQgetvalue(r, row, col), NULL, 10);
}

static int read_audit_rows(const PGresult *r, struct op *op)
{
    size_t n = (size_t)pq.PQntuples(r);
    if (n > op->u[0]) {                    /* one more than asked: another page follows */
        n = op->u[0];
        op->next_cursor = col_u64(r, (int)n - 1, 0);
    }
    if (n && !(op->audit = calloc(n, sizeof *op->audit)))
        return sb_fail(&op->err, SB_E_INTERNAL, "store: out of memory");
    for (size_t i = 0; i < n; i++) {
        struct audit_row *a = &op->audit[op->naudit++];
        a->seq = col_u64(r, (int)i, 0);
        a->ts_ms = col_u64(r, (int)i, 1);
        for (int k = 0; k < AUDIT_NFIELDS; k++)
            if (!pq.PQgetisnull(r, (int)i, k + 2) &&
                !(a->f[k] = strdup(pq.PQgetvalue(r, (int)i, k + 2))))
                return sb_fail(&op->err, SB_E_INTERNAL, "store: out of memory");
    }
    return 0;
}

static int do_audit_list(PGconn *c, struct op *op)
{
    struct pg_params q = {0};
    pg_int(&q, (long long)op->u[1]);
    pg_int(&q, (long long)op->u[2]);
    for (int i = 0; i < 3; i++)
        pg_text(&q, op->s[i]);
    pg_int(&q, (long long)op->u[0] + 1);
    PGresult *r = NULL;
    if (pg_run(c, "SELECT seq, ts_ms, event, request_id, key_id, client, language, code_sha256, "
               "limits, status, detail FROM audit WHERE seq < $1 AND ts_ms >= $2 "
               "AND ($3::text IS NULL OR event = $3) AND ($4::text IS NULL OR key_id = $4) "
               "AND ($5::text IS NULL OR status = $5) ORDER BY seq DESC LIMIT $6", &q, &r,
               &op->err, "read audit") < 0)
        return -1;
    int rc = read_audit_rows(r, op);
    pq.PQclear(r);
    return rc;
}

static int do_share_put(PGconn *c, struct op *op)
{
    struct pg_params k = {0};
    pg_int(&k, (long long)op->u[1]);
    /* the oldest beyond `keep` go (none while there are fewer) */
    return pg_doc_write(c, op, "INSERT INTO shares(id, created_ms, key_id, doc) "
                        "VALUES($1, $2, $3, $4)", "write share") < 0 ||
           pg_run(c, "DELETE FROM shares WHERE seq <= "
                  "(SELECT seq FROM shares ORDER BY seq DESC LIMIT 1 OFFSET $1)", &k, NULL,
                  &op->err, "prune shares") < 0 ? -1 : 0;
}

static int do_share_get(PGconn *c, struct op *op)
{
    return pg_doc_read(c, op, "SELECT id, created_ms, coalesce(key_id, ''), doc FROM shares "
                       "WHERE id = $1", "read share");
}

int store_pg_share_op(PGconn *c, struct op *op)
{
    switch (op->kind) {
    case OP_AUDIT_LIST: return do_audit_list(c, op);
    case OP_SHARE_PUT:  return do_share_put(c, op);
    default:            return do_share_get(c, op);
    }
}
