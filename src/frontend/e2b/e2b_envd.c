/* E2B sandbox requests: routed by E2b-Sandbox-Id / E2b-Sandbox-Port, authorised by the sandbox's access token, then to envd or the code interpreter. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/e2b/connect.h"
#include "frontend/e2b/e2b.h"

#define ENVD_PORT "49983"
#define JUPYTER_PORT "49999"

void e2b_stream_send(struct http_conn *c, uint8_t flags, json_t *ev)
{
    char *text = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
    json_decref(ev);
    struct sb_buf b = {0};
    if (text && connect_put(&b, flags, text, strlen(text)) == 0)
        http_stream_write(c, b.data, b.len);
    sb_buf_free(&b);
    free(text);
}

void e2b_unary_ok(struct rest_call *rc, json_t *body)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    rest_log(rc, 200);
    http_respond(rc->c, 200, "application/json", text ? text : "{}", text ? strlen(text) : 2,
                 NULL);
    free(text);
}

/* Server-streaming calls carry errors in their end-of-stream envelope, under 200. */
static bool streaming(const struct rest_call *rc)
{
    const char *ct = http_header(rc->req, "content-type");
    return ct && !strncmp(ct, "application/connect+json", 24);
}

void e2b_unary_error(struct rest_call *rc, enum sb_code code, const char *message)
{
    if (streaming(rc)) {
        json_t *e = json_pack("{s:{s:s,s:s}}", "error", "code", connect_code(code), "message",
                              message);
        char *text = e ? json_dumps(e, JSON_COMPACT) : NULL;
        json_decref(e);
        struct sb_buf b = {0};
        connect_put(&b, CONNECT_FLAG_END, text ? text : "{}", text ? strlen(text) : 2);
        free(text);
        rest_log(rc, 200);
        http_respond(rc->c, 200, "application/connect+json", b.data, b.len, NULL);
        sb_buf_free(&b);
        return;
    }
    const char *name = connect_code(code);
    int status = connect_http_status(name);
    json_t *j = json_pack("{s:s,s:s}", "code", name, "message", message);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    rest_log(rc, status);
    http_respond(rc->c, status, "application/json", text ? text : "{}", text ? strlen(text) : 2,
                 NULL);
    free(text);
}

/* The request's message: the first envelope of a streaming call, or the
 * JSON body of a unary one. NULL after replying. */
json_t *e2b_message(struct rest_call *rc, bool streaming)
{
    const char *body = rc->req->body.data ? rc->req->body.data : "";
    size_t len = rc->req->body.len;
    const char *msg = body;
    size_t mlen = len;
    struct sb_error err;
    if (streaming) {
        size_t off = 0;
        uint8_t flags;
        int got = connect_next(body, len, &off, &flags, &msg, &mlen, &err);
        if (got <= 0) {
            e2b_unary_error(rc, got < 0 ? err.code : SB_E_INVALID_ARGUMENT,
                            got < 0 ? err.msg : "connect: the request has no message");
            return NULL;
        }
    }
    json_t *j = mlen ? json_loadb(msg, mlen, 0, NULL) : json_object();
    if (!json_is_object(j)) {
        json_decref(j);
        e2b_unary_error(rc, SB_E_INVALID_ARGUMENT, "the message is not a JSON object");
        return NULL;
    }
    return j;
}

/* The session the request is for, authorised, or NULL after replying. */
static struct session *authorise(struct rest_call *rc, const char *id)
{
    struct service *svc = rc->rest->svc;
    const char *token = http_header(rc->req, "x-access-token");
    struct session *s = NULL;
    if (token)
        s = session_find_token(svc, id, token);
    else if (!svc->auth.enabled)
        s = session_find(svc, &rc->who, id); /* no keys: loopback, anyone */
    if (!s) {
        /* unknown, ended, or not this token's: the same answer, in the
         * shape the caller reads (Connect RPC, or envd's HTTP API) */
        const char *p = rc->req->path;
        if (!strncmp(p, "/process.", 9) || !strncmp(p, "/filesystem.", 12))
            e2b_unary_error(rc, SB_E_NOT_FOUND, "sandbox not found");
        else
            e2b_reply_error(rc, 404, "sandbox %s not found", id);
        return NULL;
    }
    /* rate limits and connection caps count against the session's key */
    struct refusal ref;
    if (s->has_key) {
        snprintf(rc->who.key_id, sizeof rc->who.key_id, "%s", s->key_id);
        rc->who.has_key = true;
    }
    if (gate_rate(svc, &rc->who, &ref) < 0) {
        rest_reply_refusal(rc, &ref);
        return NULL;
    }
    session_touch(s);
    return s;
}

static void envd(struct rest_call *rc, struct session *s)
{
    const char *path = rc->req->path, *m = rc->req->method;
    if (!strcmp(path, "/health")) {
        rest_log(rc, 204);
        http_respond(rc->c, 204, NULL, NULL, 0, NULL);
    } else if (!strcmp(path, "/files") && !strcmp(m, "GET")) {
        e2b_files_get(rc, s);
    } else if (!strcmp(path, "/files") && !strcmp(m, "POST")) {
        e2b_files_post(rc, s);
    } else if (!strncmp(path, "/process.Process/", 17) && !strcmp(m, "POST")) {
        e2b_process_call(rc, s, path + 17);
    } else if (!strncmp(path, "/filesystem.Filesystem/", 23) && !strcmp(m, "POST")) {
        e2b_fs_call(rc, s, path + 23);
    } else {
        e2b_reply_error(rc, 404, "envd has no %s %s here", m, path);
    }
}

/* Cluster mode: answered here after all (the sandbox is not another node's). */
static void envd_here(struct rest_call *rc)
{
    e2b_envd_claims(rc);
}

bool e2b_envd_claims(struct rest_call *rc)
{
    const char *id = http_header(rc->req, "e2b-sandbox-id");
    if (!id || !rc->rest->svc->cfg->compat.e2b)
        return false;
    const char *port = http_header(rc->req, "e2b-sandbox-port");
    rc->who.frontend = "e2b";
    rc->route = port && !strcmp(port, JUPYTER_PORT) ? "e2b:jupyter" : "e2b:envd";
    if (strlen(id) > 64) {
        e2b_reply_error(rc, 400, "E2b-Sandbox-Id is too long");
        return true;
    }
    if (rest_forward_session(rc, id, envd_here))   /* another node's (cluster mode) */
        return true;
    struct session *s = authorise(rc, id);
    if (!s)
        return true;
    if (port && !strcmp(port, JUPYTER_PORT))
        e2b_jupyter(rc, s);
    else if (!port || !strcmp(port, ENVD_PORT))
        envd(rc, s);
    else
        e2b_reply_error(rc, 502, "port %s of the sandbox is not reachable: SoulBox serves envd "
                        "(" ENVD_PORT ") and the code interpreter (" JUPYTER_PORT ")", port);
    return true;
}
