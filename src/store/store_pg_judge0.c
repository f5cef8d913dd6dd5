/* Judge0 submissions in PostgreSQL: the SQLite side's operations (store_judge0.c), a statement each. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"
#include "store/store_pg.h"

static int do_put(PGconn *c, struct op *op)
{
    struct pg_params q = {0};
    pg_text(&q, op->s[0]);
    pg_int(&q, (long long)op->u[0]);
    pg_text(&q, op->s[1]);
    pg_text(&q, op->s[2]);
    return pg_run(c, "INSERT INTO judge0_submissions(token, created_ms, key_id, doc) "
                  "VALUES($1, $2, $3, $4) ON CONFLICT (token) DO UPDATE SET doc = excluded.doc",
                  &q, NULL, &op->err, "write judge0 submission");
}

static int do_get(PGconn *c, struct op *op)
{
    struct pg_params q = {0};
    pg_text(&q, op->s[0]);
    PGresult *r = NULL;
    if (pg_run(c, "SELECT token, created_ms, coalesce(key_id, ''), doc FROM judge0_submissions "
               "WHERE token = $1", &q, &r, &op->err, "read judge0 submission") < 0)
        return -1;
    int rc = 0;
    if (pq.PQntuples(r) == 1) {
        struct share_row *s = calloc(1, sizeof *s);
        if (!s || !(s->doc = strdup(pq.PQgetvalue(r, 0, 3)))) {
            free(s);
            rc = sb_fail(&op->err, SB_E_INTERNAL, "store: out of memory");
        } else {
            snprintf(s->id, sizeof s->id, "%s", pq.PQgetvalue(r, 0, 0));
            s->created_ms = strtoull(pq.PQgetvalue(r, 0, 1), NULL, 10);
            snprintf(s->key_id, sizeof s->key_id, "%s", pq.PQgetvalue(r, 0, 2));
            op->share = s;
        }
    }
    pq.PQclear(r);
    return rc;
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
        rc = sb_fail(&op->err, SB_E_INTERNAL, "store: out of memory");
    for (size_t i = 0; !rc && i < n; i++) {
        struct share_row *s = &op->docs[op->ndocs++];
        if (!(s->doc = strdup(pq.PQgetvalue(r, (int)i, 3)))) {
            rc = sb_fail(&op->err, SB_E_INTERNAL, "store: out of memory");
            break;
        }
        snprintf(s->id, sizeof s->id, "%s", pq.PQgetvalue(r, (int)i, 0));
        s->created_ms = strtoull(pq.PQgetvalue(r, (int)i, 1), NULL, 10);
        snprintf(s->key_id, sizeof s->key_id, "%s", pq.PQgetvalue(r, (int)i, 2));
        op->next_cursor = strtoull(pq.PQgetvalue(r, (int)i, 4), NULL, 10);
    }
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
