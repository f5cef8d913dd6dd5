/* Internals of the REST front end shared by router.c, rest_exec.c, rest_info.c and ws.c. */
#ifndef SB_FRONTEND_REST_REST_INTERNAL_H
#define SB_FRONTEND_REST_REST_INTERNAL_H

#include <jansson.h>

#include "frontend/rest/rest.h"
#include "service/gate.h"

#define REST_MAX_PARAMS 4

/* A request on its way through a handler. */
struct rest_call {
    struct rest *rest;
    struct http_conn *c;
    struct http_request *req;
    const char *route;          /* the route's pattern, for logs and metrics */
    struct caller who;
    const char *params[REST_MAX_PARAMS];   /* {name} segments, in order (into req->path copies) */
    char param_buf[REST_MAX_PARAMS][256];
    size_t nparams;
    bool no_forward;            /* cluster mode: answer here (after a lookup) */
};

typedef void (*rest_handler)(struct rest_call *rc);

/* Replies that log the request and count it in the metrics. body: stolen. */
void rest_reply_json(struct rest_call *rc, int status, json_t *body, const char *extra_headers);
/* The same with another JSON media type (a compat API's, e.g. with a charset). */
void rest_reply_json_as(struct rest_call *rc, int status, json_t *body, const char *content_type,
                        const char *extra_headers);
void rest_reply_error(struct rest_call *rc, enum sb_code code, const char *message,
                      const char *extra_headers);
/* A refusal: its status, message and Retry-After. */
void rest_reply_refusal(struct rest_call *rc, const struct refusal *r);
/* The gate of a route that needs a key (auth, rate limit, the key's
 * connections): 0 with rc->who filled, or -1 after replying. */
int rest_gate_key(struct rest_call *rc);
/* Logs and counts a request answered some other way (a stream, an upgrade). */
void rest_log(struct rest_call *rc, int status);

/* One Server-Sent Event on a started stream: "event: type", "data: " ev as
 * compact JSON (ev is stolen, and may hold type; NULL sends nothing). Returns the bytes queued
 * on the socket, or -1. */
ssize_t rest_sse_send(struct http_conn *c, const char *type, json_t *ev);

/* A copy of the call that outlives the handler (answered later); NULL
 * after replying 500 when memory is exhausted. */
struct rest_call *rest_call_keep(struct rest_call *rc);
/* Cluster mode: a request for a session this node does not hold is looked up
 * in the shared store and forwarded to its node (or answered: lost, its node
 * away). true: taken; false: run fn here (rest_forward.c). */
bool rest_forward(struct rest_call *rc, rest_handler fn);
/* The same for the session `id` named some other way (E2B's E2b-Sandbox-Id):
 * fn runs (with rc->no_forward set) when this node should answer. */
bool rest_forward_session(struct rest_call *rc, const char *id, rest_handler fn);

/* Handlers (rest_exec.c) */
void rest_execute(struct rest_call *rc);
void rest_submit(struct rest_call *rc);
void rest_get(struct rest_call *rc);
void rest_list(struct rest_call *rc);
/* (rest_info.c) */
void rest_health(struct rest_call *rc);
void rest_languages(struct rest_call *rc);
void rest_cluster(struct rest_call *rc);
void rest_metrics(struct rest_call *rc);
/* (rest_audit.c) GET /api/audit: admin keys only (anyone when auth is off) */
void rest_audit(struct rest_call *rc);
/* (rest_share.c) POST /api/shares, GET /api/shares/{id} */
void rest_share_create(struct rest_call *rc);
void rest_share_get(struct rest_call *rc);
/* (rest_ui.c) the web UI's pages and assets */
void rest_ui(struct rest_call *rc);
/* Sessions (rest_session.c): the session {id} of the call as its caller may
 * see it, or NULL after replying 404; the body as a JSON object, or NULL
 * after replying 400; an engine error as its status. */
struct session *rest_session(struct rest_call *rc);
json_t *rest_json_body(struct rest_call *rc);
void rest_reply_sb_error(struct rest_call *rc, const struct sb_error *err);
void rest_templates(struct rest_call *rc);
void rest_sandbox_create(struct rest_call *rc);
void rest_sandbox_list(struct rest_call *rc);
void rest_sandbox_get(struct rest_call *rc);
void rest_sandbox_delete(struct rest_call *rc);
void rest_sandbox_timeout(struct rest_call *rc);
void rest_sandbox_pause(struct rest_call *rc);
void rest_sandbox_resume(struct rest_call *rc);
void rest_command_run(struct rest_call *rc);
void rest_command_list(struct rest_call *rc);
void rest_command_get(struct rest_call *rc);
void rest_command_stdin(struct rest_call *rc);
void rest_command_signal(struct rest_call *rc);
/* (rest_files.c) */
void rest_file_read(struct rest_call *rc);
void rest_file_put(struct rest_call *rc);
void rest_file_upload(struct rest_call *rc);
void rest_file_list(struct rest_call *rc);
void rest_file_stat(struct rest_call *rc);
void rest_file_mkdir(struct rest_call *rc);
void rest_file_move(struct rest_call *rc);
void rest_file_remove(struct rest_call *rc);
void rest_file_watch(struct rest_call *rc);
/* (rest_ctx.c) */
void rest_context_create(struct rest_call *rc);
void rest_context_list(struct rest_call *rc);
void rest_context_delete(struct rest_call *rc);
void rest_context_restart(struct rest_call *rc);
void rest_context_interrupt(struct rest_call *rc);
void rest_cell_execute(struct rest_call *rc);
/* (rest_functions.c) */
void rest_fn_deploy(struct rest_call *rc);
void rest_fn_list(struct rest_call *rc);
void rest_fn_get(struct rest_call *rc);
void rest_fn_delete(struct rest_call *rc);
void rest_fn_versions(struct rest_call *rc);
void rest_fn_rollback(struct rest_call *rc);
void rest_fn_alias_put(struct rest_call *rc);
void rest_fn_alias_delete(struct rest_call *rc);
void rest_fn_logs(struct rest_call *rc);
void rest_fn_invoke_async(struct rest_call *rc);
void rest_fn_invocation(struct rest_call *rc);
/* /fn/{name}[@version][/path], any method: the gate is its own (public functions). */
void rest_fn_invoke(struct rest_call *rc);
/* (ws.c) GET /api/ws: the key from the upgrade request, or none yet (then, with
 * auth on, a first "auth" message). */
void rest_ws(struct rest_call *rc);
/* Checks a WebSocket upgrade request; returns the Sec-WebSocket-Accept value
 * (malloc'd), or NULL after replying (ws.c, also Piston's /api/v2/connect). */
char *ws_handshake_accept(struct rest_call *rc);

#endif
