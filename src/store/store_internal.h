/* Internals of the store shared by store.c (thread, queue, audit), store_exec.c
 * (execution rows), store_fn.c (functions), store_schema.c (schema, migrations,
 * recovery) and the PostgreSQL backend. */
#ifndef SB_STORE_STORE_INTERNAL_H
#define SB_STORE_STORE_INTERNAL_H

#include <sqlite3.h>

#include "common/list.h"
#include "store/store.h"

enum op_kind { OP_INSERT, OP_STARTED, OP_START_OWNED, OP_FINISHED, OP_CALLBACK, OP_AUDIT, OP_GET,
               OP_LIST, OP_SESSION_ADD, OP_SESSION_END, OP_SESSION_WHERE,
               OP_FN_PUT, OP_FN_DELETE, OP_FN_LOAD, OP_FN_CLAIM,
               OP_AUDIT_LIST, OP_SHARE_PUT, OP_SHARE_GET, OP_J0_PUT, OP_J0_GET,
               OP_J0_LIST };

#define OP_NSTR 12

/* One operation: queued by the loop, run by the store's thread in order,
 * completed on the loop. */
struct op {
    enum op_kind kind;
    struct list_node node;
    char *s[OP_NSTR];
    uint64_t u[3];
    bool scope_all;              /* GET, LIST: no key filter (s[1] holds the key) */
    struct job_result result;    /* FINISHED */
    bool has_result;
    union {
        store_done_cb done;
        store_row_cb row;
        store_list_cb list;
        store_place_cb place;
        store_fn_cb fn;
        store_audit_cb audit;
        store_share_cb share;
        store_judge0_list_cb j0_list;
    } cb;
    struct session_place place;  /* SESSION_WHERE: what was read */
    void *arg;
    int rc;
    struct sb_error err;
    struct exec_row *rows;       /* GET, LIST: what was read */
    size_t nrows;
    uint64_t next_cursor;
    struct fn_row *fns;          /* FN_LOAD: what was read */
    size_t nfns;
    struct audit_row *audit;     /* AUDIT_LIST: what was read (next_cursor too) */
    size_t naudit;
    struct share_row *share;     /* SHARE_GET: what was read, or NULL */
    struct share_row *docs;      /* J0_LIST: what was read (next_cursor: the total) */
    size_t ndocs;
};

/* The functions' operations: s[0] name, s[1] owner, s[2] doc, s[3] node; u[0] the
 * expected generation (PUT, DELETE) or fire_ms (CLAIM), u[1] now_ms (PUT). */
static inline bool op_is_fn(enum op_kind k)
{
    return k == OP_FN_PUT || k == OP_FN_DELETE || k == OP_FN_LOAD || k == OP_FN_CLAIM;
}
/* The audit log's pages and the share links: AUDIT_LIST has s[0] event, s[1]
 * key_id, s[2] status (NULL: any), u[0] limit, u[1] before_seq, u[2] since_ms;
 * SHARE_PUT s[0] id, s[1] key_id, s[2] doc, u[0] created_ms, u[1] keep;
 * SHARE_GET s[0] id. */
static inline bool op_is_share(enum op_kind k)
{
    return k == OP_AUDIT_LIST || k == OP_SHARE_PUT || k == OP_SHARE_GET;
}
/* Judge0 submissions: J0_PUT s[0] token, s[1] key_id, s[2] doc, u[0] created_ms;
 * J0_GET s[0] token (what was read goes in op->share); J0_LIST s[1] key_id (NULL: all),
 * u[0] limit, u[1] offset. */
static inline bool op_is_judge0(enum op_kind k)
{
    return k == OP_J0_PUT || k == OP_J0_GET || k == OP_J0_LIST;
}
/* A new operation (NULL when out of memory, logged), and queueing it (store.c). */
struct op *store_op_new(enum op_kind kind, void *arg);
void store_op_submit(struct store *s, struct op *op);
/* Frees what a read put in op (exec rows, function rows): before a retry, or unread. */
void store_op_drop_rows(struct op *op);
/* SB_E_CONFLICT for function name (a put or delete whose generation moved). */
int store_fn_conflict(struct op *op);

/* sqlite helpers (store.c) */
int store_sql(sqlite3 *db, const char *sql, struct sb_error *err, const char *what);
sqlite3_stmt *store_prepare(sqlite3 *db, const char *sql, struct sb_error *err);
/* Steps a statement to its end and finalizes it. 0 or -1 with err. */
int store_step_done(sqlite3 *db, sqlite3_stmt *st, struct sb_error *err, const char *what);
void store_bind_text(sqlite3_stmt *st, int i, const char *s);

/* store_exec.c: the execution operations, on the store's thread. 0 or -1. */
int store_run_exec_op(sqlite3 *db, struct op *op);
/* Writes a result's typed columns and stage rows for the execution `seq`. */
int store_write_result(sqlite3 *db, int64_t seq, const struct job_result *r,
                       struct sb_error *err);

/* store_fn.c: the functions' operations, on the store's thread. 0, 1 (CLAIM:
 * already claimed) or -1. */
int store_run_fn_op(sqlite3 *db, struct op *op);

/* store_share.c: the audit log's pages and the share links, on the store's
 * thread. 0 or -1. */
int store_run_share_op(sqlite3 *db, struct op *op);

/* store_judge0.c: the Judge0 submissions, on the store's thread. 0 or -1. */
int store_run_judge0_op(sqlite3 *db, struct op *op);

/* store_doc.c: a JSON document row by key (SHARE_PUT/GET, J0_PUT/GET): s[0] the
 * key, s[1] key_id (NULL: none), s[2] the doc, u[0] created_ms. */
/* Fails err with "store: out of memory": -1. */
int store_oom(struct sb_error *err);
/* A put op holding those (the caller adds its own and submits it), or NULL
 * after telling cb (may be NULL) that memory ran out. */
struct op *store_doc_put_op(enum op_kind kind, const char *id, const char *key_id,
                            const char *doc, uint64_t created_ms, store_done_cb cb, void *arg);
/* Queues a get of id: cb gets the row (op->share) or NULL. */
void store_doc_get(struct store *s, enum op_kind kind, const char *id, store_share_cb cb,
                   void *arg);
/* Runs sql with ?1..?4 bound to s[0], u[0], s[1], s[2]. 0 or -1 with op->err. */
int store_doc_write(sqlite3 *db, struct op *op, const char *sql, const char *what);
/* Copies the current row's (id, created_ms, key_id, doc) into r. 0 or -1 with err. */
int store_doc_row(sqlite3_stmt *q, struct share_row *r, struct sb_error *err);
/* Runs sql (selecting those four columns) with ?1 bound to s[0]; the row, if
 * any, goes in op->share. 0 or -1 with op->err ("store: <what>: ..."). */
int store_doc_read(sqlite3 *db, struct op *op, const char *sql, const char *what);

/* store_schema.c */
/* Creates or migrates the schema to the current version. */
int store_schema(sqlite3 *db, const char *dir, struct sb_error *err);
/* Ends what a crashed server left queued or running; *count gets how many. */
int store_recover(sqlite3 *db, int *count, struct sb_error *err);

#endif
