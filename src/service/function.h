/* Serverless functions: deployed code with numbered immutable versions and aliases, invoked over HTTP, run in warm instances (docs/functions.md). */
#ifndef SB_SERVICE_FUNCTION_H
#define SB_SERVICE_FUNCTION_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/list.h"
#include "service/gate.h"

struct service;
struct function;
struct fn_registry;

/*
 * A function is a name owned by one API key (or by nobody without auth),
 * with versions 1, 2, 3... each immutable once deployed, aliases naming
 * versions, and an active version (the newest unless rolled back) that
 * /fn/{name} serves. Everything lives in the store (SQLite, or PostgreSQL
 * shared by a cluster): one JSON document per function. Instances (the
 * sandboxes that run invocations) are per node and per version.
 */

int fn_registry_open(struct service *svc, struct sb_error *err);
/* Loads the store's functions, starts their minimum instances and schedules. */
void fn_registry_start(struct service *svc);
/* Stops every instance and timer (shutdown); pending invocations fail with why. */
void fn_registry_close(struct service *svc, const char *why);
void fn_registry_free(struct service *svc);
/* Cluster mode: function `name` (NULL: all) changed in the store; reload it. */
void fn_registry_changed(struct service *svc, const char *name);
/* Prometheus text of the functions' metrics, appended to out. */
void fn_metrics_render(struct service *svc, struct sb_buf *out);
/* A drain: no new invocations; those waiting are refused; running ones finish. */
void fn_registry_drain(struct service *svc);
/* Ends every invocation under way with why (shutdown_grace_ms ran out). */
void fn_cancel_all(struct service *svc, const char *why);
/* Invocations under way (a drain waits for them). */
unsigned fn_running(struct service *svc);

/* ---- management (each completes once, from the loop: reply is a JSON
 * body to send with status, or err) ---- */

typedef void (*fn_reply_cb)(void *arg, int status, json_t *body, const struct sb_error *err);

/* POST /api/functions: deploys body's function as its next version. */
void fn_deploy(struct service *svc, const struct caller *who, json_t *body, fn_reply_cb cb,
               void *arg);
/* PUT/DELETE an alias, rollback, delete: changes written to the store. */
void fn_set_alias(struct service *svc, const struct caller *who, const char *name,
                  const char *alias, json_t *body, fn_reply_cb cb, void *arg);
void fn_delete_alias(struct service *svc, const struct caller *who, const char *name,
                     const char *alias, fn_reply_cb cb, void *arg);
void fn_rollback(struct service *svc, const struct caller *who, const char *name, json_t *body,
                 fn_reply_cb cb, void *arg);
void fn_delete(struct service *svc, const struct caller *who, const char *name, fn_reply_cb cb,
               void *arg);
/* Reads: 0 with *out (a JSON body), or -1 with err. */
int fn_list_json(struct service *svc, const struct caller *who, json_t **out,
                 struct sb_error *err);
int fn_get_json(struct service *svc, const struct caller *who, const char *name, json_t **out,
                struct sb_error *err);
int fn_versions_json(struct service *svc, const struct caller *who, const char *name,
                     json_t **out, struct sb_error *err);
int fn_logs_json(struct service *svc, const struct caller *who, const char *name,
                 unsigned limit, json_t **out, struct sb_error *err);
int fn_invocation_json(struct service *svc, const struct caller *who, const char *name,
                       const char *id, json_t **out, struct sb_error *err);

/* ---- invocations ---- */

/* What an invocation answers over HTTP. */
struct fn_response {
    int status;
    char *headers;               /* "Name: value\r\n" lines (owned), or NULL */
    char *content_type;          /* owned, or NULL */
    char *body;                  /* owned */
    size_t body_len;
};

void fn_response_free(struct fn_response *r);

struct fn_invocation;
/* The answer: resp (the callee takes its buffers), or err (an engine error:
 * not found, over a limit, the instance failed to start...) with retry_after
 * seconds for 429/503 (0: none). */
typedef void (*fn_done_cb)(void *arg, struct fn_response *resp, const struct sb_error *err,
                           unsigned retry_after);

/* Invokes `target` ("name", "name@3", "name@prod") with event (an object:
 * method, path, query, headers, body, is_base64; borrowed). anonymous: who
 * presented no key (only public functions answer; a private one is 401).
 * done follows once unless this returns NULL after setting err; it may
 * follow before this returns (an answer known at once). */
struct fn_invocation *fn_invoke(struct service *svc, const struct caller *who, bool anonymous,
                                const char *target, json_t *event, fn_done_cb done, void *arg,
                                struct sb_error *err, unsigned *retry_after);
/* The caller went away: a queued invocation ends at once (done follows
 * with an error, to nobody); a running one goes on to its end. */
void fn_invocation_detach(struct fn_invocation *inv);
/* Whether target's function is public (anyone may invoke it without a key). */
bool fn_is_public(struct service *svc, const char *target);

/* POST /api/functions/{name}/invocations: an asynchronous invocation whose
 * result is kept (GET .../invocations/{id}) and POSTed to callback_url. */
void fn_invoke_async(struct service *svc, const struct caller *who, const char *name,
                     json_t *body, fn_reply_cb cb, void *arg);

#endif
