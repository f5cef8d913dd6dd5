/* Persistent store: executions (typed results), audit records and serverless functions in SQLite (WAL), on a thread of its own. */
#ifndef SB_STORE_STORE_H
#define SB_STORE_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "common/error.h"
#include "runner/result.h"

struct store;

/* A new execution. Strings are copied by the store. */
struct exec_record {
    const char *id;
    uint64_t created_ms;
    const char *mode;          /* "sync" | "async" | "stream" | "interactive" */
    const char *language;
    const char *code_sha256;
    const char *request_id;
    const char *key_id;        /* NULL when auth is off */
    const char *client;
    const char *limits_json;
    const char *callback_url;  /* NULL if none */
    /* Cluster mode (ignored by SQLite): */
    const char *node;          /* the node running it; NULL: the shared queue (any node) */
    const char *request_json;  /* the request, for the node that takes it from the queue */
    uint64_t started_ms;       /* owned and running at once (0: queued) */
};

/* An execution as read back (owned by whoever receives it: exec_row_free). */
struct exec_row {
    uint64_t seq;
    char id[37];
    uint64_t created_ms, started_ms, finished_ms;   /* 0: not (yet) */
    char state[16];            /* queued, running, done */
    char mode[16];
    char language[64];
    char key_id[65];           /* "" when none */
    char *callback_url;        /* NULL if none */
    char callback_state[300];
    int callback_attempts;
    bool has_result;           /* state done */
    struct job_result result;
};
void exec_row_free(struct exec_row *r);

/* Whose executions a read may see: every one (auth off, or an admin key),
 * or only those created with key_id. */
struct store_scope {
    bool all;
    const char *key_id;
};

/* One audit record: an execution or a security event. */
struct audit_record {
    uint64_t ts_ms;
    const char *event;         /* "execution", "seccomp_kill", "limit_exceeded",
                                  "auth_failure", "rate_limited", ... */
    const char *request_id;
    const char *key_id;
    const char *client;
    const char *language;
    const char *code_sha256;
    const char *limits_json;
    const char *status;
    const char *detail;
};

/* Completions run on the loop thread; err says why when rc is -1. */
typedef void (*store_done_cb)(void *arg, int rc, const struct sb_error *err);
/* row: the execution (the callee owns it: exec_row_free, then free), or NULL
 * when there is none the scope may see. */
typedef void (*store_row_cb)(void *arg, int rc, const struct sb_error *err, struct exec_row *row);
/* rows[n] newest first (the callee owns them: exec_row_free each, then free
 * rows); next_cursor 0 when this is the last page. */
typedef void (*store_list_cb)(void *arg, int rc, const struct sb_error *err, struct exec_row *rows,
                              size_t n, uint64_t next_cursor);

/*
 * Opens (creating) <data_dir>/soulbox.db, takes the data dir's lock (one
 * server per data dir), migrates the schema and ends executions a crashed
 * server left queued or running with an internal_error saying so.
 * *recovered gets their count. Returns 0 or -1 with err naming the cause.
 */
int store_open(struct store **out, uv_loop_t *loop, const char *data_dir,
               const char *audit_log, int *recovered, struct sb_error *err);

/* Cluster mode: the store in PostgreSQL at url (migrated at start; nothing is
 * recovered here: a node that dies is found by the others, cluster/). node:
 * this node's id. 0 or -1 with err. */
int store_open_pg(struct store **out, uv_loop_t *loop, const char *url, const char *node,
                  const char *audit_log, struct sb_error *err);
/* Whether several nodes share this store (PostgreSQL). */
bool store_is_shared(const struct store *s);

/* Finishes every queued operation, then closes. */
void store_close(struct store *s);
/* Operations that failed since the store opened (reads and writes; the
 * disk full, the file gone, a corrupt database): soulbox_store_errors_total. */
uint64_t store_errors(const struct store *s);

/* Records a new execution (state queued). cb (may be NULL) learns whether it
 * is durable; operations run in submission order. */
void store_exec_insert(struct store *s, const struct exec_record *r, store_done_cb cb, void *arg);
void store_exec_started(struct store *s, const char *id, uint64_t ms);
/* Cluster mode: started only if the execution is still queued and this
 * node's (cb rc -1 otherwise: it was taken over while this node was out of
 * touch); with SQLite the same as store_exec_started. */
void store_exec_start_owned(struct store *s, const char *id, uint64_t ms, store_done_cb cb,
                            void *arg);
/* The final result (copied). */
void store_exec_finished(struct store *s, const char *id, uint64_t ms,
                         const struct job_result *result);
/* Callback delivery state: "pending", "delivered", "failed: <why>". */
void store_callback_state(struct store *s, const char *id, const char *state, int attempts);
void store_audit(struct store *s, const struct audit_record *r);

void store_exec_get(struct store *s, const char *id, const struct store_scope *scope,
                    store_row_cb cb, void *arg);
/* Newest first, before the execution numbered before_seq (0: from the newest). */
void store_exec_list(struct store *s, unsigned limit, uint64_t before_seq,
                     const struct store_scope *scope, store_list_cb cb, void *arg);

/* ---- cluster mode: where sessions live ---- */

/* A session as the shared store knows it. */
struct session_place {
    bool found;
    char state[16];            /* live, ended, lost */
    char node[80];             /* its node's id, name, URL and state */
    char node_name[64];
    char url[256];
    int grpc_port;             /* its gRPC port (on the URL's host), 0: unknown */
    char node_state[16];       /* up, lost, left */
    char reason[200];          /* why it ended or was lost */
};
typedef void (*store_place_cb)(void *arg, int rc, const struct sb_error *err,
                               const struct session_place *p);

/* Records a session created on `node` (for key_id, or NULL), and its end.
 * No-ops on SQLite. */
void store_session_add(struct store *s, const char *id, const char *node, const char *key_id,
                       uint64_t created_ms);
void store_session_end(struct store *s, const char *id, const char *reason);
/* Where session id lives (cb from the loop); on SQLite: not found. */
void store_session_where(struct store *s, const char *id, store_place_cb cb, void *arg);

/* ---- serverless functions: one JSON document per function ---- */

struct fn_row {
    char name[64];
    char owner[80];
    char *doc;               /* malloc'd */
    uint64_t generation;     /* 1 for a new function, +1 on each write */
    uint64_t updated_ms;
};
void fn_row_free(struct fn_row *r);   /* frees r->doc */
/* rows (the callee owns them: fn_row_free each, then free(rows)), ordered by name. */
typedef void (*store_fn_cb)(void *arg, int rc, const struct sb_error *err, struct fn_row *rows,
                            size_t n);
/* Writes function name's document if its generation is still `expect` (0: it must not exist
 * yet); it becomes expect + 1. cb (may be NULL) gets rc 0, or -1 with err: SB_E_CONFLICT
 * ("function NAME was changed by another request") when the generation moved (or it exists
 * when expect is 0 / is gone when expect > 0), another code for a database failure.
 * PostgreSQL: in the same transaction, pg_notify('soulbox_functions', name). A name or
 * owner too long for struct fn_row fails at once (SB_E_INVALID_ARGUMENT, cb before return). */
void store_fn_put(struct store *s, const char *name, const char *owner, const char *doc,
                  uint64_t expect, uint64_t now_ms, store_done_cb cb, void *arg);
/* Deletes it if its generation is still `expect` (SB_E_CONFLICT otherwise, as above);
 * its function_fires rows go too. PostgreSQL: notifies like put. */
void store_fn_delete(struct store *s, const char *name, uint64_t expect, store_done_cb cb,
                     void *arg);
/* Reads one function (name) or every function (name NULL); n 0 when none. */
void store_fn_load(struct store *s, const char *name, store_fn_cb cb, void *arg);
/* Claims the scheduled firing of `name` at fire_ms for `node`: cb rc 0 when this call claimed
 * it, 1 when it was already claimed (by any node), -1 with err on a failure. Claims older
 * than a day (by the database's clock) are dropped meanwhile. */
void store_fn_claim_fire(struct store *s, const char *name, uint64_t fire_ms, const char *node,
                         store_done_cb cb, void *arg);

/* ---- the audit log, read back (GET /api/audit) ---- */

/* A record's text fields, in struct audit_record's order. */
enum audit_field { AUDIT_EVENT, AUDIT_REQUEST_ID, AUDIT_KEY_ID, AUDIT_CLIENT, AUDIT_LANGUAGE,
                   AUDIT_CODE_SHA256, AUDIT_LIMITS, AUDIT_STATUS, AUDIT_DETAIL, AUDIT_NFIELDS };

/* One record as read back (audit_row_free frees its fields). */
struct audit_row {
    uint64_t seq;                /* the cursor: pages go on below it */
    uint64_t ts_ms;
    char *f[AUDIT_NFIELDS];      /* malloc'd, NULL when absent */
};
void audit_row_free(struct audit_row *r);

/* Which records a page holds: newest first, below before_seq (0: from the
 * newest), at or after since_ms; event, key_id and status match exactly
 * when not NULL. */
struct audit_query {
    unsigned limit;
    uint64_t before_seq;
    uint64_t since_ms;
    const char *event, *key_id, *status;
};
/* rows[n] (the callee owns them: audit_row_free each, then free rows);
 * next_cursor 0 when this is the last page. */
typedef void (*store_audit_cb)(void *arg, int rc, const struct sb_error *err,
                               struct audit_row *rows, size_t n, uint64_t next_cursor);
void store_audit_list(struct store *s, const struct audit_query *q, store_audit_cb cb,
                      void *arg);

/* ---- share links: one JSON document each ---- */

struct share_row {
    char id[64];
    uint64_t created_ms;
    char key_id[65];         /* who made it ("" when auth is off) */
    char *doc;               /* malloc'd */
};
void share_row_free(struct share_row *r);   /* frees r->doc */
/* row: the share (the callee owns it: share_row_free, then free), or NULL when
 * there is none. */
typedef void (*store_share_cb)(void *arg, int rc, const struct sb_error *err,
                               struct share_row *row);
/* Records share id, then drops the oldest shares beyond `keep`. Strings are
 * copied; cb (may be NULL) learns whether it is durable. */
void store_share_put(struct store *s, const char *id, const char *key_id, const char *doc,
                     uint64_t created_ms, uint64_t keep, store_done_cb cb, void *arg);
void store_share_get(struct store *s, const char *id, store_share_cb cb, void *arg);

/* ---- Judge0 submissions (the compat API): one JSON document per token ---- */

/* Writes submission `token`'s document (created, or replaced: its result), for key_id
 * ("" or NULL: none). Strings are copied; cb (may be NULL) learns whether it is durable. */
void store_judge0_put(struct store *s, const char *token, const char *key_id, const char *doc,
                      uint64_t created_ms, store_done_cb cb, void *arg);
/* Reads one: the row's id is the token (the callee owns it: share_row_free, then free),
 * NULL when there is none. */
void store_judge0_get(struct store *s, const char *token, store_share_cb cb, void *arg);
/* rows[n], newest first (the callee owns them: share_row_free each, then free rows), and
 * how many there are in all. */
typedef void (*store_judge0_list_cb)(void *arg, int rc, const struct sb_error *err,
                                     struct share_row *rows, size_t n, uint64_t total);
/* A page: `limit` submissions after the newest `offset`, every key's (key_id NULL) or
 * key_id's. */
void store_judge0_list(struct store *s, const char *key_id, uint64_t offset, unsigned limit,
                       store_judge0_list_cb cb, void *arg);

/* For `soulbox audit`: reads records since since_ms (inclusive) directly,
 * without a server. Returns a JSON array or NULL with err set. */
json_t *store_read_audit(const char *data_dir, uint64_t since_ms, struct sb_error *err);

#endif
