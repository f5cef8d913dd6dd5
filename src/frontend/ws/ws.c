/* GET /api/ws: one interactive execution, or one session command (a terminal
 * with pty), per WebSocket connection (RFC 6455 framing by libwslay). Client
 * messages: auth, execute or command, stdin, stdin_close, kill, signal,
 * resize. Server messages: started, stdout, stderr, exit, error. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <wslay/wslay.h>

#include "common/base64.h"
#include "common/log.h"
#include "common/sha1.h"
#include "common/util.h"
#include "frontend/events.h"
#include "frontend/request.h"
#include "frontend/rest/rest_internal.h"
#include "frontend/ws/ws_msg.h"
#include "frontend/ws/wsconn.h"
#include "service/execution.h"
#include "service/session_cmd.h"

#define ROUTE "/api/ws"
/* Output waiting for a slow client: above PAUSE the program's output is no
 * longer read (it blocks on write), below RESUME it is again. */
#define PAUSE_MARK (256u << 10)
#define RESUME_MARK (64u << 10)
/* wslay stops handing frames to the socket above this (the rest waits queued). */
#define SOCKET_MARK (128u << 10)
#define PING_MS 25000
/* Close codes of our own (4000 + the HTTP status of the same error). */
#define CLOSE_BAD_REQUEST 4400
#define CLOSE_UNAUTHENTICATED 4401
#define CLOSE_RATE_LIMITED 4429
#define CLOSE_UNAVAILABLE 4503

enum ws_state { WS_AUTH, WS_READY, WS_RUNNING, WS_DONE };

struct ws {
    struct wsconn conn;        /* first: wsconn_accept allocates the whole */
    struct service *s;
    enum ws_state state;
    struct caller who;
    struct execution *ex;
    /* or a session's command */
    struct session *sess;
    struct session_cmd *cmd;
    struct cmd_watcher cw;
    struct text_carry carry;
    bool paused;
};

/* ---- sending ---- */

static void send_json(struct ws *w, json_t *ev)
{
    wsconn_send_json(&w->conn, ev);
}

static void close_with(struct ws *w, uint16_t code, const char *reason)
{
    wsconn_close(&w->conn, code, reason);
}

static void fail(struct ws *w, enum sb_code code, const char *msg, uint16_t close_code)
{
    send_json(w, event_error(code, msg));
    if (close_code)
        close_with(w, close_code, sb_code_name(code));
}

/* ---- the execution's hooks ---- */

static void on_accepted(struct execution *ex, void *arg)
{
    struct ws *w = arg;
    send_json(w, event_started(execution_id(ex)));
    wsconn_flush(&w->conn);
}

static void on_refused(struct execution *ex, const struct refusal *r, void *arg)
{
    (void)ex;
    struct ws *w = arg;
    w->ex = NULL;
    w->state = WS_DONE;
    fail(w, r->err.code, r->err.msg, CLOSE_UNAVAILABLE);
    wsconn_flush(&w->conn);
}

static void on_output(struct execution *ex, int stream, const char *data, size_t len, void *arg)
{
    struct ws *w = arg;
    send_json(w, event_output(&w->carry, stream, data, len));
    wsconn_flush(&w->conn);
    if (!w->paused && wsconn_backlog(&w->conn) > PAUSE_MARK) {
        w->paused = true;
        execution_output_pause(ex, true);
    }
}

static void on_finished(struct execution *ex, const struct job_result *res, void *arg)
{
    struct ws *w = arg;
    w->ex = NULL;
    w->state = WS_DONE;
    send_json(w, event_output_flush(&w->carry, 1));
    send_json(w, event_output_flush(&w->carry, 2));
    send_json(w, event_exit(res, execution_id(ex)));
    close_with(w, WSLAY_CODE_NORMAL_CLOSURE, "done");
    wsconn_flush(&w->conn);
    /* The client has this long to read the rest and answer the close. */
    wsconn_timer(&w->conn, w->s->cfg->server.idle_timeout_ms);
}

/* The close code for a refusal: 4000 + its HTTP status. */
static uint16_t close_code(const struct refusal *r)
{
    return (uint16_t)(4000 + sb_code_http(r->err.code));
}

/* ---- a session's command ---- */

static void cmd_output(struct cmd_watcher *cw, int stream, const char *data, size_t len)
{
    struct ws *w = cw->arg;
    send_json(w, event_output(&w->carry, stream, data, len));
    wsconn_flush(&w->conn);
}

static void cmd_release(struct ws *w)
{
    if (w->cmd) {
        session_cmd_unwatch(&w->cw);
        session_cmd_unref(w->cmd);
        session_unref(w->sess);
    }
    w->cmd = NULL;
    w->sess = NULL;
}

static void cmd_exited(struct cmd_watcher *cw, struct session_cmd *c)
{
    struct ws *w = cw->arg;
    w->state = WS_DONE;
    send_json(w, event_output_flush(&w->carry, 1));
    send_json(w, event_output_flush(&w->carry, 2));
    json_t *ev = session_cmd_json(c, false);
    if (ev)
        json_object_set_new(ev, "type", json_string("exit"));
    send_json(w, ev);
    cmd_release(w);
    close_with(w, WSLAY_CODE_NORMAL_CLOSURE, "done");
    wsconn_flush(&w->conn);
    wsconn_timer(&w->conn, w->s->cfg->server.idle_timeout_ms);
}

/* {"type":"command","sandbox_id", "pid"} attaches to a running command (what
 * it printed so far first); with "cmd" (a shell line) or "argv" instead of
 * "pid" it starts one with stdin open ("pty", "rows", "cols", "cwd", "env",
 * "timeout_ms" as in POST .../commands). The command outlives the connection. */
static void do_command(struct ws *w, json_t *msg)
{
    struct refusal r;
    if (gate_rate(w->s, &w->who, &r) < 0)
        return fail(w, r.err.code, r.err.msg, close_code(&r));
    const char *id = json_string_value(json_object_get(msg, "sandbox_id"));
    struct session *s = id ? session_find(w->s, &w->who, id) : NULL;
    if (!s)
        return fail(w, SB_E_NOT_FOUND, "no such sandbox", 0);
    json_t *pid = json_object_get(msg, "pid"), *cmd = json_object_get(msg, "cmd");
    json_t *av = json_object_get(msg, "argv"), *cwd = json_object_get(msg, "cwd");
    struct session_cmd *c = NULL;
    struct sb_error err;
    bool attach = pid != NULL;
    if (attach) {
        c = json_is_integer(pid) ? session_cmd_find(s, (uint32_t)json_integer_value(pid)) : NULL;
        if (!c || !c->running)
            return fail(w, SB_E_NOT_FOUND, "no such running command", 0);
    } else {
        size_t n = json_is_array(av) ? json_array_size(av) : 0;
        const char *argv[257];
        if ((!!json_is_string(cmd)) == (n > 0) || n > 256 || (cwd && !json_is_string(cwd)))
            return fail(w, SB_E_INVALID_ARGUMENT, "command: give \"cmd\" (a shell line) or "
                        "\"argv\" (at most 256 strings), or \"pid\" to attach", 0);
        for (size_t i = 0; i < n; i++)
            if (!(argv[i] = json_string_value(json_array_get(av, i))))
                return fail(w, SB_E_INVALID_ARGUMENT, "command: argv must be strings", 0);
        argv[n] = NULL;
        json_int_t rows = json_integer_value(json_object_get(msg, "rows"));
        json_int_t cols = json_integer_value(json_object_get(msg, "cols"));
        json_int_t to = json_integer_value(json_object_get(msg, "timeout_ms"));
        struct session_cmd_req req = {
            .argv = n ? argv : NULL, .argc = n, .shell = json_string_value(cmd),
            .cwd = json_string_value(cwd), .env = json_object_get(msg, "env"),
            .stdin_open = true, .pty = json_is_true(json_object_get(msg, "pty")),
            .rows = rows > 0 && rows < 1000 ? (uint16_t)rows : 0,
            .cols = cols > 0 && cols < 1000 ? (uint16_t)cols : 0,
            .timeout_ms = to > 0 ? (uint64_t)to : 0,
        };
        if (!(c = session_cmd_start(s, &req, &err)))
            return fail(w, err.code, err.msg, 0);
    }
    w->state = WS_RUNNING;
    w->sess = s;
    w->cmd = c;
    session_ref(s);
    session_cmd_ref(c);
    w->cw = (struct cmd_watcher){.output = cmd_output, .exited = cmd_exited, .arg = w};
    send_json(w, json_pack("{s:s,s:I,s:s}", "type", "started", "pid", (json_int_t)c->pid,
                           "sandbox_id", s->id));
    session_cmd_watch(c, &w->cw, attach);
    wsconn_timer(&w->conn, PING_MS);
}

static void cmd_control(struct ws *w, enum ws_msg_type type, json_t *msg)
{
    struct session_cmd *c = w->cmd;
    if (type == WS_MSG_STDIN) {
        json_t *data = json_object_get(msg, "data");
        if (!json_is_string(data))
            return fail(w, SB_E_INVALID_ARGUMENT, "stdin: data must be a string", 0);
        int rc = session_cmd_stdin(c, json_string_value(data), json_string_length(data));
        if (rc == -1)
            fail(w, SB_E_INVALID_ARGUMENT, "stdin: closed", 0);
        else if (rc == -2)
            fail(w, SB_E_RATE_LIMITED, "stdin: 1 MiB is already waiting for the program to "
                 "read it; send more later", 0);
    } else if (type == WS_MSG_STDIN_CLOSE) {
        session_cmd_stdin_close(c);
    } else if (type == WS_MSG_KILL) {
        session_cmd_signal(c, SIGKILL);
    } else if (type == WS_MSG_SIGNAL) {
        const char *name = json_string_value(json_object_get(msg, "signal"));
        int sig = session_signal_number(name);
        if (sig < 0)
            return fail(w, SB_E_INVALID_ARGUMENT, "signal: a name like SIGINT or SIGTERM", 0);
        session_cmd_signal(c, sig);
    } else if (type == WS_MSG_RESIZE) {
        json_int_t rows = json_integer_value(json_object_get(msg, "rows"));
        json_int_t cols = json_integer_value(json_object_get(msg, "cols"));
        if (rows <= 0 || rows >= 1000 || cols <= 0 || cols >= 1000)
            return fail(w, SB_E_INVALID_ARGUMENT, "resize: rows and cols from 1 to 999", 0);
        session_cmd_resize(c, (uint16_t)rows, (uint16_t)cols);
    }
}

/* ---- client messages ---- */

static void do_auth(struct ws *w, json_t *msg)
{
    struct refusal r;
    const char *key = json_string_value(json_object_get(msg, "key"));
    if (gate_authenticate(w->s, &w->who, key ? key : "", &r) < 0 ||
        (w->who.has_key && w->conn.c && http_conn_set_owner(w->conn.c, w->who.key_id) < 0 &&
         gate_refuse_connections(w->s, &w->who, &r) < 0))
        return fail(w, r.err.code, r.err.msg, close_code(&r));
    w->state = WS_READY;
    send_json(w, json_pack("{s:s}", "type", "authenticated"));
}

static void do_execute(struct ws *w, json_t *msg)
{
    static const struct exec_events events = {.accepted = on_accepted, .output = on_output,
                                               .finished = on_finished, .refused = on_refused};
    struct service *s = w->s;
    struct refusal r;
    if (gate_rate(s, &w->who, &r) < 0)
        return fail(w, r.err.code, r.err.msg, close_code(&r));
    json_object_del(msg, "type");
    struct exec_req er;
    struct sb_error err;
    if (exec_req_from_json(msg, s->cfg, &s->registry, REQ_INTERACTIVE, &er, &err) < 0) {
        gate_refuse(s, &w->who, gate_reason_of(&err), &err, &r);
        return fail(w, r.err.code, r.err.msg, 0); /* the client may try again */
    }
    w->state = WS_RUNNING;
    w->ex = execution_submit(s, &w->who, &er, REQ_INTERACTIVE, &events, w, &r);
    if (!w->ex) {
        w->state = r.reason == REFUSE_UNKNOWN_LANGUAGE ? WS_READY : WS_DONE;
        fail(w, r.err.code, r.err.msg, w->state == WS_DONE ? close_code(&r) : 0);
        return;
    }
    wsconn_timer(&w->conn, PING_MS);
}

static void do_stdin(struct ws *w, json_t *msg)
{
    json_t *data = json_object_get(msg, "data");
    if (!json_is_string(data))
        return fail(w, SB_E_INVALID_ARGUMENT, "stdin: data must be a string", 0);
    int rc = execution_stdin_write(w->ex, json_string_value(data), json_string_length(data));
    if (rc == -1)
        fail(w, SB_E_INVALID_ARGUMENT, "stdin: closed (stdin_close was sent, or the program "
             "closed it)", 0);
    else if (rc == -2)
        fail(w, SB_E_RATE_LIMITED, "stdin: 1 MiB is already waiting for the program to read "
             "it; send more later", 0);
}

static void on_message(struct ws *w, const char *text, size_t len)
{
    enum ws_msg_type type;
    char why[300];
    json_t *msg = ws_msg_parse(text, len, &type, why, sizeof why);
    if (!msg) {
        fail(w, SB_E_INVALID_ARGUMENT, why, 0);
    } else if (type == WS_MSG_AUTH && w->state == WS_AUTH) {
        do_auth(w, msg);
    } else if (w->state == WS_AUTH) {
        fail(w, SB_E_UNAUTHENTICATED, "send {\"type\":\"auth\",\"key\":...} first (or the key "
             "in the upgrade request's Authorization or X-API-Key header)",
             CLOSE_UNAUTHENTICATED);
    } else if (type == WS_MSG_EXECUTE && w->state == WS_READY) {
        do_execute(w, msg);
    } else if (type == WS_MSG_COMMAND && w->state == WS_READY) {
        do_command(w, msg);
    } else if (type == WS_MSG_EXECUTE || type == WS_MSG_COMMAND) {
        fail(w, SB_E_INVALID_ARGUMENT, type == WS_MSG_EXECUTE ? "one execution per connection"
                                                              : "one command per connection", 0);
    } else if (type == WS_MSG_AUTH) {
        fail(w, SB_E_INVALID_ARGUMENT, "auth: not expected now (already authenticated, or "
             "authentication is off)", 0);
    } else if (w->state == WS_RUNNING && w->cmd) {
        cmd_control(w, type, msg);
    } else if (w->state != WS_RUNNING || !w->ex) {
        fail(w, SB_E_INVALID_ARGUMENT, w->state == WS_DONE ? "the execution has ended"
                                                           : "nothing is running yet", 0);
    } else if (type == WS_MSG_RESIZE) {
        fail(w, SB_E_INVALID_ARGUMENT, "resize is for a session's command (with a pty)", 0);
    } else if (type == WS_MSG_SIGNAL) {
        int sig = session_signal_number(json_string_value(json_object_get(msg, "signal")));
        if (sig < 0)
            fail(w, SB_E_INVALID_ARGUMENT, "signal: a name like SIGINT or SIGTERM", 0);
        else
            execution_signal(w->ex, sig);
    } else if (type == WS_MSG_STDIN) {
        do_stdin(w, msg);
    } else if (type == WS_MSG_STDIN_CLOSE) {
        execution_stdin_close(w->ex);
    } else {
        execution_kill(w->ex);
    }
    json_decref(msg);
}

static void on_frame(void *arg, bool binary, const char *data, size_t len)
{
    struct ws *w = arg;
    if (!binary)
        on_message(w, data, len);
    else
        close_with(w, WSLAY_CODE_UNSUPPORTED_DATA, "text (JSON) messages only");
}

/* ---- the connection ---- */

static void on_drain(void *arg)
{
    struct ws *w = arg;
    if (w->paused && w->ex && wsconn_backlog(&w->conn) < RESUME_MARK) {
        w->paused = false;
        execution_output_pause(w->ex, false);
    }
}

static void on_closed(void *arg)
{
    struct ws *w = arg;
    cmd_release(w); /* a session's command runs on: it can be attached to again */
    if (w->ex) {
        /* The client is gone: so is its sandbox. */
        struct execution *ex = w->ex;
        w->ex = NULL;
        execution_detach(ex);
        execution_cancel(ex, "cancelled: the client disconnected");
    }
}

static void on_timeout(void *arg)
{
    struct ws *w = arg;
    if (w->state == WS_DONE) {
        http_raw_close(w->conn.c);
        return;
    }
    if (w->state == WS_AUTH || w->state == WS_READY) {
        fail(w, SB_E_REQUEST_TIMEOUT, "no execute message in time", 1008);
    } else { /* a client that stops reading is the execution's concern */
        wsconn_ping(&w->conn);
        wsconn_timer(&w->conn, PING_MS);
    }
    wsconn_flush(&w->conn);
}

static const struct wsconn_ops conn_ops = {.message = on_frame, .drain = on_drain,
                                           .closed = on_closed, .timeout = on_timeout,
                                           .freed = free};

/* ---- the handshake ---- */

static bool has_token(const char *list, const char *token)
{
    size_t n = strlen(token);
    for (const char *p = list; p && *p;) {
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        size_t len = strcspn(p, ", \t");
        if (len == n && !strncasecmp(p, token, n))
            return true;
        p += len;
    }
    return false;
}

char *ws_handshake_accept(struct rest_call *rc)
{
    const struct http_request *req = rc->req;
    const char *key = http_header(req, "sec-websocket-key");
    const char *version = http_header(req, "sec-websocket-version");
    if (!has_token(http_header(req, "upgrade"), "websocket") ||
        !has_token(http_header(req, "connection"), "upgrade")) {
        rest_reply_error(rc, SB_E_UPGRADE_REQUIRED,
                    "GET /api/ws is a WebSocket endpoint (Upgrade: websocket)",
                    "Upgrade: websocket\r\nConnection: Upgrade\r\n");
        return NULL;
    }
    if (!version || strcmp(version, "13")) {
        rest_reply_error(rc, SB_E_UPGRADE_REQUIRED, "Sec-WebSocket-Version must be 13",
                    "Sec-WebSocket-Version: 13\r\n");
        return NULL;
    }
    size_t raw_len = 0;
    char *raw = key ? base64_decode(key, strlen(key), &raw_len) : NULL;
    free(raw);
    if (!raw || raw_len != 16) {
        rest_reply_error(rc, SB_E_INVALID_ARGUMENT,
                    "Sec-WebSocket-Key must be 16 bytes in base64", NULL);
        return NULL;
    }
    char buf[128];
    snprintf(buf, sizeof buf, "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
    uint8_t digest[20];
    sha1(buf, strlen(buf), digest);
    return base64_encode(digest, sizeof digest);
}

void rest_ws(struct rest_call *rc)
{
    struct service *s = rc->rest->svc;
    struct ws *w = wsconn_accept(rc, sizeof *w, SOCKET_MARK, &conn_ops);
    if (!w)
        return;
    w->s = s;
    w->who = rc->who;
    w->who.frontend = "websocket";
    w->state = s->auth.enabled && !w->who.has_key ? WS_AUTH : WS_READY;
    wsconn_timer(&w->conn, s->cfg->server.idle_timeout_ms);
    wsconn_upgrade(&w->conn, rc); /* may deliver the first messages */
}
