/* The store's PostgreSQL backend (cluster mode): the same operations as SQLite, on the store's thread. */
#ifndef SB_STORE_STORE_PG_H
#define SB_STORE_STORE_PG_H

#include <jansson.h>
#include <stdint.h>

#include "common/list.h"
#include "store/pq.h"

struct store_pg;
struct op;

/* Connects to url, runs the schema's migrations (under an advisory lock:
 * nodes starting together migrate once). node: this node's id, the owner
 * of executions it inserts as its own. 0 or -1 with err. */
int store_pg_open(struct store_pg **out, const char *url, const char *node, struct sb_error *err);
void store_pg_close(struct store_pg *p);

/*
 * Runs a batch of operations (struct op, in order) in one transaction. When
 * the database cannot be reached, inserts and reads fail at once (503) and
 * the writes that must not be lost (started, finished, callback, audit) are
 * moved, in order, to `retry`; then it returns 1 (try again later), else 0.
 */
int store_pg_batch(struct store_pg *p, struct list_node *batch, struct list_node *retry);

/* Creates or migrates the schema on c (store_pg_schema.c). */
int store_pg_schema(PGconn *c, struct sb_error *err);

/* For `soulbox audit --store`: the audit since since_ms as a JSON array. */
json_t *store_pg_read_audit(const char *url, uint64_t since_ms, struct sb_error *err);

/* ---- shared by the backend's files (store_pg.c, store_pg_fn.c) ---- */

#define PG_PMAX 24

/* A statement's parameters, in order: text (NULL: SQL NULL) or integers as text. */
struct pg_params {
    const char *v[PG_PMAX];
    int len[PG_PMAX], fmt[PG_PMAX];
    char num[PG_PMAX][24];
    int n;
};
void pg_text(struct pg_params *p, const char *s);
void pg_int(struct pg_params *p, long long v);

/* Runs sql with p (may be NULL); *out gets the result when out is non-NULL
 * (rows or a count wanted; the caller clears it). 0 or -1 with err. */
int pg_run(PGconn *c, const char *sql, struct pg_params *p, PGresult **out, struct sb_error *err,
           const char *what);

/* The functions' operations (op_is_fn) on c (store_pg_fn.c): 0, 1 (a claim
 * already made) or -1 with op->err. */
int store_pg_fn_op(PGconn *c, struct op *op);

/* The audit log's pages and the share links (op_is_share) on c
 * (store_pg_share.c): 0 or -1 with op->err. */
int store_pg_share_op(PGconn *c, struct op *op);
/* The Judge0 submissions (op_is_judge0) on c (store_pg_judge0.c): 0 or -1 with op->err. */
int store_pg_judge0_op(PGconn *c, struct op *op);

/* A JSON document row by key (store_pg_doc.c; the SQLite side: store_doc.c). */
struct share_row;
/* Runs sql with $1..$4 from s[0], u[0], s[1], s[2]. 0 or -1 with op->err. */
int pg_doc_write(PGconn *c, struct op *op, const char *sql, const char *what);
/* Copies row i's (id, created_ms, key_id, doc) into s. 0 or -1 with err. */
int pg_doc_row(const PGresult *r, int i, struct share_row *s, struct sb_error *err);
/* Runs sql (selecting those four columns) with $1 from s[0]; the row, if any,
 * goes in op->share. 0 or -1 with op->err. */
int pg_doc_read(PGconn *c, struct op *op, const char *sql, const char *what);

#endif
