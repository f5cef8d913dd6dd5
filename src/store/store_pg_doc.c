/* A JSON document row by key in PostgreSQL: the SQLite side's helpers (store_doc.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"
#include "store/store_pg.h"

int pg_doc_write(PGconn *c, struct op *op, const char *sql, const char *what)
{
    struct pg_params q = {0};
    pg_text(&q, op->s[0]);
    pg_int(&q, (long long)op->u[0]);
    pg_text(&q, op->s[1]);
    pg_text(&q, op->s[2]);
    return pg_run(c, sql, &q, NULL, &op->err, what);
}

int pg_doc_row(const PGresult *r, int i, struct share_row *s, struct sb_error *err)
{
    if (!(s->doc = strdup(pq.PQgetvalue(r, i, 3))))
        return store_oom(err);
    snprintf(s->id, sizeof s->id, "%s", pq.PQgetvalue(r, i, 0));
    s->created_ms = pq.PQgetisnull(r, i, 1) ? 0 : strtoull(pq.PQgetvalue(r, i, 1), NULL, 10);
    snprintf(s->key_id, sizeof s->key_id, "%s", pq.PQgetvalue(r, i, 2));
    return 0;
}

int pg_doc_read(PGconn *c, struct op *op, const char *sql, const char *what)
{
    struct pg_params q = {0};
    pg_text(&q, op->s[0]);
    PGresult *r = NULL;
    if (pg_run(c, sql, &q, &r, &op->err, what) < 0)
        return -1;
    int rc = 0;
    if (pq.PQntuples(r) == 1) {
        struct share_row *s = calloc(1, sizeof *s);
        if (!s)
            rc = store_oom(&op->err);
        else if ((rc = pg_doc_row(r, 0, s, &op->err)) < 0)
            free(s);
        else
            op->share = s;
    }
    pq.PQclear(r);
    return rc;
}
