/* E2B envd's process.Process service over session commands: Start and Connect stream (Connect envelopes), List, SendInput, SendSignal, CloseStdin, Update. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/base64.h"
#include "common/util.h"
#include "frontend/e2b/connect.h"
#include "frontend/e2b/e2b.h"
#include "service/session_cmd.h"

/* The SDK drops a body silent for long: keepalive events well before that. */
#define KEEPALIVE_MS 30000

/* The command a ProcessSelector names ({"pid": N} or {"tag": "x"}), or NULL. */
static struct session_cmd *selected(struct session *s, json_t *msg)
{
    json_t *sel = json_object_get(msg, "process");
    json_t *pid = json_object_get(sel, "pid"), *tag = json_object_get(sel, "tag");
    for (struct list_node *l = s->cmds.next; l != &s->cmds; l = l->next) {
        struct session_cmd *c = (struct session_cmd *)l;
        if (json_is_integer(pid) && json_integer_value(pid) == (json_int_t)c->pid)
            return c;
        if (json_is_string(pid) && c->pid == (uint32_t)strtoul(json_string_value(pid), NULL, 10))
            return c;
        if (json_is_string(tag) && c->tag && !strcmp(c->tag, json_string_value(tag)) &&
            c->running)
            return c;
    }
    return NULL;
}

/* ---- streams: Start and Connect ---- */

struct pstream {
    struct cmd_watcher w;
    struct rest_call *rc;
    struct session *s;
    struct session_cmd *cmd;
    uv_timer_t keepalive;
    bool pty;
};

static void send_env(struct pstream *p, uint8_t flags, json_t *ev)
{
    e2b_stream_send(p->rc->c, flags, ev);
}

static void pstream_closed(uv_handle_t *h)
{
    struct pstream *p = h->data;
    session_cmd_unref(p->cmd);
    session_unref(p->s);
    free(p->rc);
    free(p);
}

static void pstream_end(struct pstream *p)
{
    uv_timer_stop(&p->keepalive);
    uv_close((uv_handle_t *)&p->keepalive, pstream_closed);
}

static void on_keepalive(uv_timer_t *t)
{
    struct pstream *p = t->data;
    send_env(p, 0, json_pack("{s:{s:{}}}", "event", "keepalive"));
}

static void on_output(struct cmd_watcher *w, int stream, const char *data, size_t len)
{
    struct pstream *p = w->arg;
    char *b64 = base64_encode(data, len);
    if (!b64)
        return;
    const char *name = p->pty ? "pty" : stream == 1 ? "stdout" : "stderr";
    send_env(p, 0, json_pack("{s:{s:{s:s}}}", "event", "data", name, b64));
    free(b64);
}

/* What Go's os.ProcessState.String() says, which envd reports. */
static void status_text(const struct session_cmd *c, char *out, size_t len)
{
    if (c->signal) {
        const char *name = strsignal(c->signal);
        snprintf(out, len, "signal: %s", name ? name : "unknown");
        size_t at = 8;
        if (out[at] >= 'A' && out[at] <= 'Z')
            out[at] = (char)(out[at] - 'A' + 'a');
    } else {
        snprintf(out, len, "exit status %d", c->exit_code);
    }
}

static void on_exited(struct cmd_watcher *w, struct session_cmd *c)
{
    struct pstream *p = w->arg;
    char status[96];
    status_text(c, status, sizeof status);
    json_t *end = json_pack("{s:i,s:b,s:s}", "exitCode", c->signal ? -1 : c->exit_code,
                            "exited", !c->signal, "status", status);
    if (end && (c->signal || c->exit_code))
        json_object_set_new(end, "error", json_string(c->error[0] ? c->error : status));
    send_env(p, 0, json_pack("{s:{s:o}}", "event", "end", end));
    send_env(p, CONNECT_FLAG_END, json_object());
    rest_log(p->rc, 200);
    http_stream_end(p->rc->c);
    pstream_end(p);
}

static void on_abort(void *arg)
{
    struct pstream *p = arg;
    session_cmd_unwatch(&p->w); /* the command runs on, as envd's do */
    rest_log(p->rc, 499);
    http_stream_end(p->rc->c);
    pstream_end(p);
}

static void stream(struct rest_call *rc, struct session *s, struct session_cmd *c, bool pty)
{
    struct pstream *p = calloc(1, sizeof *p);
    if (!p || !(p->rc = rest_call_keep(rc))) {
        free(p);
        return;
    }
    p->s = s;
    p->cmd = c;
    p->pty = pty;
    session_ref(s);
    session_cmd_ref(c);
    uv_timer_init(s->svc->loop, &p->keepalive);
    p->keepalive.data = p;
    uv_timer_start(&p->keepalive, on_keepalive, KEEPALIVE_MS, KEEPALIVE_MS);
    p->w = (struct cmd_watcher){.output = on_output, .exited = on_exited, .arg = p};
    http_stream_start(rc->c, 200, "application/connect+json", NULL);
    send_env(p, 0, json_pack("{s:{s:{s:I}}}", "event", "start", "pid", (json_int_t)c->pid));
    http_conn_on_abort(rc->c, on_abort, p);
    session_cmd_watch(c, &p->w, false);
}

static void start(struct rest_call *rc, struct session *s)
{
    json_t *m = e2b_message(rc, true);
    if (!m)
        return;
    json_t *proc = json_object_get(m, "process"), *args = json_object_get(proc, "args");
    json_t *cmd = json_object_get(proc, "cmd"), *cwd = json_object_get(proc, "cwd");
    json_t *envs = json_object_get(proc, "envs"), *in = json_object_get(m, "stdin");
    json_t *pty = json_object_get(m, "pty"), *tag = json_object_get(m, "tag");
    size_t nargs = json_is_array(args) ? json_array_size(args) : 0;
    const char **argv = calloc(nargs + 2, sizeof *argv);
    const char *bad = NULL;
    if (!json_is_string(cmd) || (args && !json_is_array(args)) ||
        (cwd && !json_is_string(cwd)) || (envs && !json_is_object(envs)))
        bad = "process.cmd must be a string, args a list, envs an object, cwd a string";
    else if (nargs > rc->rest->svc->cfg->server.max_args)
        bad = "too many arguments";
    for (size_t i = 0; !bad && argv && i < nargs; i++)
        if (!json_is_string(json_array_get(args, i)))
            bad = "process.args must be strings";
        else
            argv[i + 1] = json_string_value(json_array_get(args, i));
    if (bad || !argv) {
        e2b_unary_error(rc, SB_E_INVALID_ARGUMENT, bad ? bad : "out of memory");
        free(argv);
        json_decref(m);
        return;
    }
    argv[0] = json_string_value(cmd);
    char tbuf[32];
    uint64_t timeout = 0;
    const char *th = http_header(rc->req, "connect-timeout-ms");
    if (th && snprintf(tbuf, sizeof tbuf, "%s", th) && util_parse_u64(tbuf, &timeout) < 0)
        timeout = 0;
    json_t *size = json_object_get(pty, "size");
    struct session_cmd_req r = {
        .argv = argv, .argc = nargs + 1, .cwd = cwd ? json_string_value(cwd) : NULL,
        .env = envs, .stdin_open = !in || json_is_true(in), .timeout_ms = timeout,
        .pty = pty && !json_is_null(pty),
        .rows = (uint16_t)json_integer_value(json_object_get(size, "rows")),
        .cols = (uint16_t)json_integer_value(json_object_get(size, "cols")),
        .tag = json_is_string(tag) ? json_string_value(tag) : NULL,
    };
    struct sb_error err;
    struct session_cmd *c = session_cmd_start(s, &r, &err);
    if (!c)
        e2b_unary_error(rc, err.code, err.msg);
    else
        stream(rc, s, c, r.pty);
    free(argv);
    json_decref(m);
}

static void reconnect(struct rest_call *rc, struct session *s)
{
    json_t *m = e2b_message(rc, true);
    if (!m)
        return;
    struct session_cmd *c = selected(s, m);
    if (!c || !c->running)
        e2b_unary_error(rc, SB_E_NOT_FOUND, "process not found");
    else
        stream(rc, s, c, json_is_true(json_object_get(c->config, "pty")));
    json_decref(m);
}

/* ---- unary calls ---- */

static void list(struct rest_call *rc, struct session *s)
{
    json_t *arr = json_array();
    for (struct list_node *l = s->cmds.next; l != &s->cmds; l = l->next) {
        struct session_cmd *c = (struct session_cmd *)l;
        if (!c->running)
            continue;
        json_t *p = json_pack("{s:I,s:O}", "pid", (json_int_t)c->pid, "config", c->config);
        if (p && c->tag)
            json_object_set_new(p, "tag", json_string(c->tag));
        json_array_append_new(arr, p);
    }
    e2b_unary_ok(rc, json_pack("{s:o}", "processes", arr));
}

static void control(struct rest_call *rc, struct session *s, const char *method)
{
    json_t *m = e2b_message(rc, false);
    if (!m)
        return;
    struct session_cmd *c = selected(s, m);
    if (!c || !c->running) {
        e2b_unary_error(rc, SB_E_NOT_FOUND, "process not found");
        json_decref(m);
        return;
    }
    const char *bad = NULL;
    if (!strcmp(method, "SendSignal")) {
        const char *name = json_string_value(json_object_get(m, "signal"));
        json_t *num = json_object_get(m, "signal");
        char buf[32];
        if (json_is_integer(num))
            snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(num));
        int sig = session_signal_number(name ? name : json_is_integer(num) ? buf : NULL);
        if (sig < 0)
            bad = "signal must be SIGNAL_SIGKILL or SIGNAL_SIGTERM";
        else
            session_cmd_signal(c, sig);
    } else if (!strcmp(method, "SendInput")) {
        json_t *in = json_object_get(m, "input");
        const char *b64 = json_string_value(json_object_get(in, "stdin"));
        if (!b64)
            b64 = json_string_value(json_object_get(in, "pty"));
        size_t len = 0;
        char *data = b64 ? base64_decode(b64, strlen(b64), &len) : NULL;
        int r = data ? session_cmd_stdin(c, data, len) : -3;
        free(data);
        if (r == -3)
            bad = "input.stdin must be base64";
        else if (r < 0) {
            e2b_unary_error(rc, SB_E_CONFLICT, r == -2 ? "stdin is full: the process is not "
                            "reading" : "the process's stdin is closed");
            json_decref(m);
            return;
        }
    } else if (!strcmp(method, "CloseStdin")) {
        session_cmd_stdin_close(c);
    } else { /* Update: the terminal's size */
        json_t *size = json_object_get(json_object_get(m, "pty"), "size");
        if (size)
            session_cmd_resize(c, (uint16_t)json_integer_value(json_object_get(size, "rows")),
                               (uint16_t)json_integer_value(json_object_get(size, "cols")));
    }
    if (bad)
        e2b_unary_error(rc, SB_E_INVALID_ARGUMENT, bad);
    else
        e2b_unary_ok(rc, json_object());
    json_decref(m);
}

void e2b_process_call(struct rest_call *rc, struct session *s, const char *method)
{
    if (!strcmp(method, "Start"))
        start(rc, s);
    else if (!strcmp(method, "Connect"))
        reconnect(rc, s);
    else if (!strcmp(method, "List"))
        list(rc, s);
    else if (!strcmp(method, "SendSignal") || !strcmp(method, "SendInput") ||
             !strcmp(method, "CloseStdin") || !strcmp(method, "Update"))
        control(rc, s, method);
    else
        e2b_unary_error(rc, SB_E_METHOD_NOT_ALLOWED, "this method is not implemented");
}
