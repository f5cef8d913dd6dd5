/* Code contexts of a session: persistent python, javascript or bash interpreters that run cells. */
#ifndef SB_SERVICE_SESSION_CTX_H
#define SB_SERVICE_SESSION_CTX_H

#include <jansson.h>

#include "service/session.h"

struct session_ctx;

/* Someone waiting for one cell: its events in order (stdout, stderr,
 * result, error: the driver's JSON objects, borrowed), then end. */
struct cell_watcher {
    void (*event)(struct cell_watcher *w, json_t *ev);
    void (*end)(struct cell_watcher *w, unsigned execution_count);
    void *arg;
};

struct cell_req {
    const char *code;
    json_t *env;                 /* object, or NULL */
    bool svg;                    /* charts as SVG too */
    uint64_t timeout_ms;         /* 0: none (interrupted after it) */
};

/* A new context: language python, javascript or bash; cwd NULL: the
 * working dir. NULL with err. */
struct session_ctx *session_ctx_create(struct session *s, const char *language, const char *cwd,
                                       struct sb_error *err);
struct session_ctx *session_ctx_find(struct session *s, const char *id);
/* The session's default context (the template's language), created on first use. */
struct session_ctx *session_ctx_default(struct session *s, const char *language,
                                        struct sb_error *err);
/* Queues a cell; w's callbacks follow from the loop. Returns a cell handle
 * to cancel the watch with (client gone), or NULL with err. */
struct cell *session_ctx_execute(struct session_ctx *c, const struct cell_req *req,
                                 struct cell_watcher *w, struct sb_error *err);
/* The watcher is gone: no more callbacks (the cell still runs to its end). */
void session_cell_detach(struct cell *cell);
/* Interrupts the running cell (KeyboardInterrupt in python); state stays. */
void session_ctx_interrupt(struct session_ctx *c);
/* A fresh interpreter; queued and running cells end with an error. */
int session_ctx_restart(struct session_ctx *c, struct sb_error *err);
void session_ctx_delete(struct session_ctx *c);
json_t *session_ctx_json(const struct session_ctx *c);
const char *session_ctx_id(const struct session_ctx *c);

/* For session.c, when the session is freed (every driver has reported its
 * exit before the sandbox ended). */
void session_ctxs_free(struct session *s);

#endif
