/* Judge0 submissions in PostgreSQL: the SQLite side's operations (store_judge0.c), a statement each. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"
#include "store/store_pg.h"

static int do_put(PGconn *c, struct op *op)
{
    return pg_doc_write(c, op, "INSERT INTO judge0_submissions(token, created_ms, key_id, doc) "
                        "VALUES($1, $2, $3, $4) ON CONFLICT (token) DO UPDATE SET doc = "
                        "excluded.doc", "write judge0 submission");
}

static int do_get(PGconn *c, struct op *op)
{
    return pg_doc_read(c, op, "SELECT token, created_ms, coalesce(key_id, ''), doc FROM "
                       "judge0_submissions WHERE token = $1", "read judge0 submission");
}

static int do_list(PGconn *c, struct op *op)
{
    struct pg_params q = {0};
    pg_text(&q, op->s[1]);
    pg_int(&q, (long long)op->u[0]);
    pg_int(&q, (long long)op->u[1]);
    PGresult *r = NULL;
    if (pg_run(c, "SELECT token, created_ms, coalesce(key_id, ''), doc, count(*) OVER () "
               "FROM judge0_submissions WHERE $1::text IS NULL OR key_id = $1 "
               "ORDER BY seq DESC LIMIT $2 OFFSET $3", &q, &r, &op->err,
               "list judge0 submissions") < 0)
        return -1;
    size_t n = (size_t)pq.PQntuples(r);
    int rc = 0;
    if (n && !(op->docs = calloc(n, sizeof *op->docs)))
        rc = store_oom(&op->err);
    for (size_t i = 0; !rc && i < n; i++)
        if (!(rc = pg_doc_row(r, (int)i, &op->docs[op->ndocs++], &op->err)))
            op->next_cursor = strtoull(pq.PQgetvalue(r, (int)i, 4), NULL, 10);
    pq.PQclear(r);
    return rc;
}

int store_pg_judge0_op(PGconn *c, struct op *op)
{
    switch (op->kind) {
    case OP_J0_PUT:  return do_put(c, op);
    case OP_J0_LIST: return do_list(c, op);
    default:         return do_get(c, op);
    }
}
