/* Serverless functions in PostgreSQL: the SQLite side's operations (store_fn.c), each one statement, writes notifying the other nodes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"
#include "store/store_pg.h"

/* Claimed firings older than this (by the database's clock) are dropped. */
#define FIRE_KEEP_MS "86400000"

static uint64_t col_u64(const PGresult *r, int row, int col)
{
    return pq.PQgetisnull(r, row, col) ? 0 : strtoull(pq.PQgetvalue(r, row, col), NULL, 10);
}

/* Runs a write returning one row when it matched, none when the generation
 * moved: 0, or SB_E_CONFLICT. */
static int write_one(PGconn *c, const char *sql, struct pg_params *q, struct op *op,
                     const char *what)
{
    PGresult *r = NULL;
    if (pg_run(c, sql, q, &r, &op->err, what) < 0)
        return -1;
    int n = pq.PQntuples(r);
    pq.PQclear(r);
    return n == 1 ? 0 : store_fn_conflict(op);
}

/* expect 0 inserts (a name taken is a conflict); otherwise only the
 * generation read is overwritten. The other nodes hear of it on commit. */
static int do_put(PGconn *c, struct op *op)
{
    struct pg_params q = {0};
    pg_text(&q, op->s[0]);
    pg_text(&q, op->s[1]);
    pg_text(&q, op->s[2]);
    pg_int(&q, (long long)op->u[0]);
    pg_int(&q, (long long)op->u[1]);
    return write_one(c, op->u[0] == 0
        ? "WITH w AS (INSERT INTO functions(name, owner, doc, generation, updated_ms) "
          "VALUES($1, $2, $3, $4::bigint + 1, $5) ON CONFLICT (name) DO NOTHING RETURNING name) "
          "SELECT pg_notify('soulbox_functions', name) FROM w"
        : "WITH w AS (UPDATE functions SET owner = $2, doc = $3, generation = $4::bigint + 1, "
          "updated_ms = $5 WHERE name = $1 AND generation = $4 RETURNING name) "
          "SELECT pg_notify('soulbox_functions', name) FROM w", &q, op, "write function");
}

static int do_delete(PGconn *c, struct op *op)
{
    struct pg_params q = {0};
    pg_text(&q, op->s[0]);
    pg_int(&q, (long long)op->u[0]);
    return write_one(c,
        "WITH d AS (DELETE FROM functions WHERE name = $1 AND generation = $2 RETURNING name), "
        "f AS (DELETE FROM function_fires x USING d WHERE x.name = d.name OR "
        "left(x.name, length(d.name) + 1) = d.name || '/') "
        "SELECT pg_notify('soulbox_functions', name) FROM d", &q, op, "delete function");
}

/* 0: claimed now; 1: a row was there (claimed before, by any node). */
static int do_claim(PGconn *c, struct op *op)
{
    struct pg_params q = {0};
    pg_text(&q, op->s[0]);
    pg_int(&q, (long long)op->u[0]);
    pg_text(&q, op->s[3]);
    PGresult *r = NULL;
    if (pg_run(c, "DELETE FROM function_fires WHERE fire_ms < " PG_NOW_MS " - " FIRE_KEEP_MS,
               NULL, NULL, &op->err, "drop old firings") < 0 ||
        pg_run(c, "INSERT INTO function_fires(name, fire_ms, node) VALUES($1, $2, $3) "
               "ON CONFLICT (name, fire_ms) DO NOTHING", &q, &r, &op->err, "claim firing") < 0)
        return -1;
    int n = atoi(pq.PQcmdTuples(r));
    pq.PQclear(r);
    return n == 1 ? 0 : 1;
}

static int do_load(PGconn *c, struct op *op)
{
    struct pg_params q = {0};
    pg_text(&q, op->s[0]);
    PGresult *r = NULL;
    if (pg_run(c, "SELECT name, owner, doc, generation, updated_ms FROM functions "
               "WHERE $1::text IS NULL OR name = $1 ORDER BY name", &q, &r, &op->err,
               "load functions") < 0)
        return -1;
    int n = pq.PQntuples(r), rc = 0;
    if (n && !(op->fns = calloc((size_t)n, sizeof *op->fns)))
        rc = sb_fail(&op->err, SB_E_INTERNAL, "store: out of memory");
    for (int i = 0; rc == 0 && i < n; i++) {
        struct fn_row *f = &op->fns[i];
        snprintf(f->name, sizeof f->name, "%s", pq.PQgetvalue(r, i, 0));
        snprintf(f->owner, sizeof f->owner, "%s", pq.PQgetvalue(r, i, 1));
        if (!(f->doc = strdup(pq.PQgetvalue(r, i, 2))))
            rc = sb_fail(&op->err, SB_E_INTERNAL, "store: out of memory for function %s",
                         f->name);
        f->generation = col_u64(r, i, 3);
        f->updated_ms = col_u64(r, i, 4);
        op->nfns++;
    }
    pq.PQclear(r);
    return rc;
}

int store_pg_fn_op(PGconn *c, struct op *op)
{
    switch (op->kind) {
    case OP_FN_PUT:    return do_put(c, op);
    case OP_FN_DELETE: return do_delete(c, op);
    case OP_FN_CLAIM:  return do_claim(c, op);
    default:           return do_load(c, op);
    }
}
