/* The E2B SDK's wire protocol (../shared/compat/e2b-protocol.md): control plane, envd and the code interpreter, over the service's sessions. */
#ifndef SB_FRONTEND_E2B_E2B_H
#define SB_FRONTEND_E2B_E2B_H

#include <stdbool.h>

#include "frontend/rest/rest_internal.h"

/* What envd version SoulBox says its sandboxes run (the SDK gates features on it). */
#define E2B_ENVD_VERSION "0.5.6"

/* Control plane (routes in router.c; X-API-KEY is the SoulBox API key). */
void e2b_create(struct rest_call *rc);
void e2b_connect(struct rest_call *rc);
void e2b_list(struct rest_call *rc);
void e2b_get(struct rest_call *rc);
void e2b_kill(struct rest_call *rc);
void e2b_timeout(struct rest_call *rc);
void e2b_pause(struct rest_call *rc);

/* Requests to a sandbox (they carry E2b-Sandbox-Id): true when this is one
 * and it has been answered (or will be). */
bool e2b_envd_claims(struct rest_call *rc);

/* {"code": status, "message": ...}, the shape the SDK reads. */
void e2b_reply_error(struct rest_call *rc, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* envd's parts (e2b_process.c, e2b_fs.c, e2b_jupyter.c), called by e2b_envd.c
 * with the session authorised; body already read. */
void e2b_process_call(struct rest_call *rc, struct session *s, const char *method);
void e2b_fs_call(struct rest_call *rc, struct session *s, const char *method);
void e2b_files_get(struct rest_call *rc, struct session *s);
void e2b_files_post(struct rest_call *rc, struct session *s);
void e2b_jupyter(struct rest_call *rc, struct session *s);
/* The request's message: the first envelope of a streaming call, or the
 * JSON body of a unary one; NULL after replying. */
json_t *e2b_message(struct rest_call *rc, bool streaming);
/* One Connect envelope (flags, then ev as compact JSON; ev is stolen) on a
 * started stream. */
void e2b_stream_send(struct http_conn *c, uint8_t flags, json_t *ev);
/* A Connect unary reply: 200 JSON body (stolen), or an error (for a
 * streaming call: 200 with the error in the end-of-stream envelope). */
void e2b_unary_ok(struct rest_call *rc, json_t *body);
void e2b_unary_error(struct rest_call *rc, enum sb_code code, const char *message);

#endif
