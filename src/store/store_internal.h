/* Internals of the store shared by store.c (thread, queue, audit), store_exec.c
 * (execution rows) and store_schema.c (schema, migrations, recovery). */
#ifndef SB_STORE_STORE_INTERNAL_H
#define SB_STORE_STORE_INTERNAL_H

#include <sqlite3.h>

#include "common/list.h"
#include "store/store.h"

enum op_kind { OP_INSERT, OP_STARTED, OP_START_OWNED, OP_FINISHED, OP_CALLBACK, OP_AUDIT, OP_GET,
               OP_LIST, OP_SESSION_ADD, OP_SESSION_END, OP_SESSION_WHERE };

#define OP_NSTR 12

/* One operation: queued by the loop, run by the store's thread in order,
 * completed on the loop. */
struct op {
    enum op_kind kind;
    struct list_node node;
    char *s[OP_NSTR];
    uint64_t u[2];
    bool scope_all;              /* GET, LIST: no key filter (s[1] holds the key) */
    struct job_result result;    /* FINISHED */
    bool has_result;
    union {
        store_done_cb done;
        store_row_cb row;
        store_list_cb list;
        store_place_cb place;
    } cb;
    struct session_place place;  /* SESSION_WHERE: what was read */
    void *arg;
    int rc;
    struct sb_error err;
    struct exec_row *rows;       /* GET, LIST: what was read */
    size_t nrows;
    uint64_t next_cursor;
};

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

/* store_schema.c */
/* Creates or migrates the schema to the current version. */
int store_schema(sqlite3 *db, const char *dir, struct sb_error *err);
/* Ends what a crashed server left queued or running; *count gets how many. */
int store_recover(sqlite3 *db, int *count, struct sb_error *err);

#endif
