/* Executions: the one submit path of every front end. Persisted, admitted, run, recorded, reported. */
#ifndef SB_SERVICE_EXECUTION_H
#define SB_SERVICE_EXECUTION_H

#include <stdbool.h>

#include "service/exec_req.h"
#include "service/gate.h"
#include "store/store.h"

struct service;
struct execution;

/* What a front end hears about its execution; every callback comes from the
 * loop, never from inside the call that caused it. */
struct exec_events {
    /* Durable and queued: its id is known (optional). */
    void (*accepted)(struct execution *ex, void *arg);
    /* Its job is starting: out of the queue, its sandbox being made (optional). */
    void (*started)(struct execution *ex, void *arg);
    /* Run-stage output as it is produced (optional). */
    void (*output)(struct execution *ex, int stream, const char *data, size_t len, void *arg);
    /* The result is final (borrowed: valid inside the call); the execution
     * is freed after it returns. */
    void (*finished)(struct execution *ex, const struct job_result *res, void *arg);
    /* It could not be recorded (the store failed): it never runs and is
     * freed after this returns. */
    void (*refused)(struct execution *ex, const struct refusal *r, void *arg);
};

/*
 * Submits an execution for `who`. Takes ownership of req (also on failure).
 * Refuses (counted, r filled) when the language is unavailable, the service
 * is draining or the queue has no room. Returns the execution, whose events
 * then follow, or NULL.
 */
struct execution *execution_submit(struct service *s, const struct caller *who,
                                   struct exec_req *req, enum req_kind kind,
                                   const struct exec_events *ev, void *arg, struct refusal *r);

/* Stops it (queued: never runs; running: sandbox killed). Its result is
 * internal_error with `why` unless it already finished. */
void execution_cancel(struct execution *ex, const char *why);
/* Interactive executions (WebSocket, gRPC Interact). Stdin typed before the
 * program starts is kept for it. stdin_write: 0; -1 when stdin is closed or
 * the execution is over; -2 when 1 MiB already waits unread (try later). */
int execution_stdin_write(struct execution *ex, const void *data, size_t len);
void execution_stdin_close(struct execution *ex);
/* The user stops the program: runtime_error, signal 9, "killed on request". */
void execution_kill(struct execution *ex);
/* A signal to the running program, which it may catch (Piston's WebSocket);
 * SIGKILL is execution_kill. Nothing happens while it is queued or compiling. */
void execution_signal(struct execution *ex, int sig);
/* Backpressure from a slow reader: stop (or restart) reading the program's
 * output; the program blocks on write meanwhile, its limits still running.
 * A reader paused for longer than the idle timeout loses the execution. */
void execution_output_pause(struct execution *ex, bool pause);
/* Stops reporting to the front end (its client is gone) without cancelling. */
void execution_detach(struct execution *ex);

const char *execution_id(const struct execution *ex);

/* Looks an execution up for `who`: in flight, then in the store. cb gets
 * the row (the callee owns it), or NULL when there is none `who` may see
 * (another key's is exactly like an unknown id). */
void execution_lookup(struct service *s, const char *id, const struct caller *who,
                      store_row_cb cb, void *arg);
/* Newest first, `who`'s own (all of them for an admin or without auth). */
void execution_list(struct service *s, unsigned limit, uint64_t before_seq,
                    const struct caller *who, store_list_cb cb, void *arg);

/* Cancels every execution (shutdown). */
void execution_cancel_all(struct service *s, const char *why);

/* Cluster mode (cluster/cluster.h's hooks): run one taken from the shared
 * queue (c is the callee's); an execution this node handed over ended;
 * a heartbeat passed. */
struct cluster_claim;
void execution_claimed(struct service *s, struct cluster_claim *c);
void execution_remote_done(struct service *s, const char *id);
void execution_remote_tick(struct service *s);

#endif
