/* Persistent store: executions and audit records in SQLite (WAL), on a thread of its own. */
#ifndef SB_STORE_STORE_H
#define SB_STORE_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "common/error.h"

struct store;

/* An execution as stored. Strings are copied by the store. */
struct exec_record {
    const char *id;
    uint64_t created_ms;
    const char *mode;          /* "sync" | "async" */
    const char *language;
    const char *code_sha256;
    const char *request_id;
    const char *key_id;        /* NULL when auth is off */
    const char *client;
    const char *limits_json;
    const char *callback_url;  /* NULL if none */
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

/* Completion of an operation, on the loop thread. rc is 0 or -1 (err says why);
 * data is a new reference or NULL (the callee owns it). */
typedef void (*store_cb)(void *arg, int rc, const struct sb_error *err, json_t *data);

/*
 * Opens (creating) <data_dir>/soulbox.db, takes the data dir's lock (one
 * server per data dir), migrates the schema and marks executions a crashed
 * server left queued or running as internal_error. *recovered gets their
 * count. Returns 0 or -1 with err naming the cause.
 */
int store_open(struct store **out, uv_loop_t *loop, const char *data_dir,
               const char *audit_log, int *recovered, struct sb_error *err);

/* Finishes every queued operation, then closes. */
void store_close(struct store *s);

/* Records a new execution (state queued). cb (may be NULL) learns whether it
 * is durable; operations run in submission order. */
void store_exec_insert(struct store *s, const struct exec_record *r, store_cb cb, void *arg);
void store_exec_started(struct store *s, const char *id, uint64_t ms);
/* result: the execution's result object (borrowed). */
void store_exec_finished(struct store *s, const char *id, uint64_t ms, const char *status,
                         json_t *result);
/* Callback delivery state: "pending", "delivered", "failed: <why>". */
void store_callback_state(struct store *s, const char *id, const char *state, int attempts);
void store_audit(struct store *s, const struct audit_record *r);

/* The execution object (as GET /api/executions/{id} shows it), or data NULL. */
void store_exec_get(struct store *s, const char *id, store_cb cb, void *arg);
/* {"executions": [...], "next_cursor": "..."|null}, newest first. */
void store_exec_list(struct store *s, unsigned limit, uint64_t before_seq, store_cb cb, void *arg);

/* For `soulbox audit`: reads records since since_ms (inclusive) directly,
 * without a server. Returns a JSON array or NULL with err set. */
json_t *store_read_audit(const char *data_dir, uint64_t since_ms, struct sb_error *err);

#endif
