/* One execution inside the service: persisted, admitted, run, recorded, reported. */
#ifndef SB_SERVER_EXECUTION_H
#define SB_SERVER_EXECUTION_H

#include <jansson.h>
#include <stdbool.h>

#include "frontend/request.h"
#include "service/service.h"

struct execution;

struct exec_meta {
    const char *request_id;
    const char *client;
    const char *key_id;          /* NULL when auth is off */
};

struct exec_hooks {
    /* The record is durable (rc 0: the execution is queued next) or could not
     * be stored (rc -1: the execution is dropped after this returns). */
    void (*persisted)(struct execution *ex, int rc, const struct sb_error *err, void *arg);
    /* The result is final (execution_result); the execution is freed after. */
    void (*finished)(struct execution *ex, void *arg);
    /* Optional: run-stage output as it is produced. */
    void (*output)(struct execution *ex, int stream, const char *data, size_t len, void *arg);
    void *arg;
};

/*
 * Takes ownership of req (also on failure). Refuses with SB_E_UNAVAILABLE when
 * the server is stopping or the queue has no room. Returns the execution,
 * whose hooks then fire from the loop, or NULL with err.
 */
struct execution *execution_create(struct server *s, struct exec_req *req, enum req_kind kind,
                                   const struct exec_meta *meta, const struct exec_hooks *hooks,
                                   struct sb_error *err);

/* Stops the execution (queued: never runs; running: sandbox killed). The
 * result becomes internal_error with `why` unless it already finished. */
void execution_cancel(struct execution *ex, const char *why);
/* Interactive executions (WebSocket, gRPC Interact). Stdin typed before the
 * program starts is kept for it. stdin_write: 0; -1 when stdin is closed or
 * the execution is over; -2 when 1 MiB already waits unread (try later). */
int execution_stdin_write(struct execution *ex, const void *data, size_t len);
void execution_stdin_close(struct execution *ex);
/* The user stops the program: runtime_error, signal 9, "killed on request". */
void execution_kill(struct execution *ex);
/* Backpressure from a slow reader: stop (or restart) reading the program's
 * output; the program blocks on write meanwhile, its limits still running. */
void execution_output_pause(struct execution *ex, bool pause);

/* Stops reporting to the hooks' owner (client gone) without cancelling. */
void execution_detach(struct execution *ex);

const char *execution_id(const struct execution *ex);
/* SoulBox itself failed (not the program): the API answers 5xx. */
bool execution_engine_failed(const struct execution *ex);
/* The final result object (borrowed), valid inside `finished`. */
json_t *execution_result(const struct execution *ex);
/* The execution as GET /api/executions/{id} shows it while in flight. */
json_t *execution_view(const struct execution *ex);

struct execution *execution_find(struct server *s, const char *id);
/* Cancels every execution (shutdown). */
void execution_cancel_all(struct server *s, const char *why);

#endif
