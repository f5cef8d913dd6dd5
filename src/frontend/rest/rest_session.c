/* REST sessions: /api/sandboxes (create, list, get, delete, timeout), /api/templates, and commands (run, stream, reattach, stdin, signal). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base64.h"
#include "common/util.h"
#include "frontend/events.h"
#include "frontend/request.h"
#include "frontend/rest/rest_internal.h"
#include "service/result_json.h"
#include "service/session_cmd.h"

/* ---- shared helpers ---- */

struct session *rest_session(struct rest_call *rc)
{
    struct session *s = session_find(rc->rest->svc, &rc->who, rc->params[0]);
    if (!s)
        rest_reply_error(rc, SB_E_NOT_FOUND, "no such sandbox", NULL);
    return s;
}

json_t *rest_json_body(struct rest_call *rc)
{
    json_error_t je;
    json_t *j = json_loadb(rc->req->body.data ? rc->req->body.data : "", rc->req->body.len,
                           JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(j)) {
        char msg[256];
        snprintf(msg, sizeof msg, "the body must be a JSON object%s%s", j ? "" : ": ",
                 j ? "" : je.text);
        json_decref(j);
        rest_reply_error(rc, SB_E_INVALID_ARGUMENT, msg, NULL);
        return NULL;
    }
    return j;
}

void rest_reply_sb_error(struct rest_call *rc, const struct sb_error *err)
{
    char extra[64] = "";
    if (err->code == SB_E_RATE_LIMITED)
        snprintf(extra, sizeof extra, "Retry-After: 5\r\n");
    rest_reply_error(rc, err->code, err->msg, extra[0] ? extra : NULL);
}

/* A number field: absent -> def; not a non-negative integer -> -1. */
static int get_u64(json_t *o, const char *key, uint64_t def, uint64_t *out)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        *out = def;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return -1;
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

/* The first key of o that is not in known[n], or NULL. */
static const char *unknown_key(json_t *o, const char *const *known, size_t n)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        bool ok = false;
        for (size_t i = 0; i < n; i++)
            ok |= !strcmp(k, known[i]);
        if (!ok)
            return k;
    }
    return NULL;
}

static bool wants_events(const struct http_request *req)
{
    const char *accept = http_header(req, "accept");
    return accept && strstr(accept, "text/event-stream");
}

/* ---- templates ---- */

void rest_templates(struct rest_call *rc)
{
    const struct template_registry *t = &rc->rest->svc->sessions.templates;
    json_t *arr = json_array();
    for (size_t i = 0; i < t->n; i++) {
        json_t *al = json_array(), *langs = json_array();
        for (char **a = t->v[i]->aliases; *a; a++)
            json_array_append_new(al, json_string(*a));
        for (char **a = t->v[i]->languages; *a; a++)
            json_array_append_new(langs, json_string(*a));
        json_array_append_new(arr, json_pack("{s:s,s:o,s:s,s:o,s:s}", "name", t->v[i]->name,
                                             "aliases", al, "description",
                                             t->v[i]->description, "languages", langs,
                                             "default_context", t->v[i]->default_context));
    }
    rest_reply_json(rc, 200, json_pack("{s:o}", "templates", arr), NULL);
}

/* ---- POST /api/sandboxes ---- */

struct creating {
    struct rest_call *rc;
    bool aborted;
};

static void on_create_abort(void *arg)
{
    ((struct creating *)arg)->aborted = true;
}

static void created(struct session *s, const struct sb_error *err, void *arg)
{
    struct creating *c = arg;
    if (err) {
        rest_reply_error(c->rc, SB_E_SANDBOX_SETUP, err->msg, NULL);
    } else if (c->aborted) {
        session_kill(s, "the client went away while it was created");
        rest_log(c->rc, 499);
        http_respond(c->rc->c, 499, "application/json", "{}", 2, NULL);
    } else {
        char loc[96];
        snprintf(loc, sizeof loc, "Location: /api/sandboxes/%s\r\n", s->id);
        rest_reply_json(c->rc, 201, session_json(s), loc);
    }
    free(c->rc);
    free(c);
}

/* The request's limits object. Returns 0, or -1 after replying. */
static int parse_limits(struct rest_call *rc, json_t *o, struct session_limits *l)
{
    if (!o || json_is_null(o))
        return 0;
    static const char *const known[] = {"memory_mb", "disk_mb", "output_mb", "max_cpu_percent",
                                        "processes", "open_files"};
    const char *k = unknown_key(o, known, sizeof known / sizeof *known);
    json_t *v;
    char msg[160];
    if (k) {
        snprintf(msg, sizeof msg, "limits.%s is not a session limit", k);
        rest_reply_error(rc, SB_E_INVALID_ARGUMENT, msg, NULL);
        return -1;
    }
    json_object_foreach(o, k, v) {
        if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
            json_integer_value(v) > (1ll << 40)) {
            snprintf(msg, sizeof msg, "limits.%s must be a positive integer", k);
            rest_reply_error(rc, SB_E_INVALID_ARGUMENT, msg, NULL);
            return -1;
        }
    }
    uint64_t cpu = 0, procs = 0, files = 0;
    get_u64(o, "memory_mb", 0, &l->memory_mb);
    get_u64(o, "disk_mb", 0, &l->disk_mb);
    get_u64(o, "output_mb", 0, &l->output_mb);
    get_u64(o, "max_cpu_percent", 0, &cpu);
    get_u64(o, "processes", 0, &procs);
    get_u64(o, "open_files", 0, &files);
    if (cpu > 1000000 || procs > 1000000 || files > 1000000) {
        rest_reply_error(rc, SB_E_LIMIT_EXCEEDS_MAX, "a limit is above the server's maximum",
                         NULL);
        return -1;
    }
    l->cpu_percent = (uint32_t)cpu, l->processes = (uint32_t)procs;
    l->open_files = (uint32_t)files;
    return 0;
}

static void free_net(struct net_policy *p)
{
    if (p)
        net_policy_free(p);
    free(p);
}

void rest_sandbox_create(struct rest_call *rc)
{
    json_t *b = rest_json_body(rc);
    if (!b)
        return;
    static const char *const known[] = {"template", "language", "timeout_s", "metadata", "env",
                                        "limits", "network", "isolation"};
    const char *k = unknown_key(b, known, sizeof known / sizeof *known);
    if (k) {
        char msg[160];
        snprintf(msg, sizeof msg, "unknown field '%s'", k);
        rest_reply_error(rc, SB_E_INVALID_ARGUMENT, msg, NULL);
        json_decref(b);
        return;
    }
    struct session_req req = {0};
    json_t *tpl = json_object_get(b, "template"), *lang = json_object_get(b, "language");
    uint64_t ttl_s = 0;
    const char *bad = NULL;
    if ((tpl && !json_is_string(tpl)) || (lang && !json_is_string(lang)))
        bad = "template and language must be strings";
    else if (get_u64(b, "timeout_s", 0, &ttl_s) < 0 || ttl_s > 100000000)
        bad = "timeout_s must be a non-negative integer (seconds)";
    if (bad) {
        rest_reply_error(rc, SB_E_INVALID_ARGUMENT, bad, NULL);
        json_decref(b);
        return;
    }
    req.template = tpl ? json_string_value(tpl) : lang ? json_string_value(lang) : NULL;
    req.ttl_ms = ttl_s * 1000;
    req.metadata = json_object_get(b, "metadata");
    req.env = json_object_get(b, "env");
    struct net_policy *net = NULL;
    struct sb_error nerr;
    if (request_network(json_object_get(b, "network"), rc->rest->svc->cfg, &net, &nerr) < 0) {
        rest_reply_sb_error(rc, &nerr);
        json_decref(b);
        return;
    }
    req.net_policy = net;
    if (request_isolation(json_object_get(b, "isolation"), rc->rest->svc->cfg, &req.isolation,
                          &nerr) < 0) {
        rest_reply_sb_error(rc, &nerr);
        free_net(net);
        json_decref(b);
        return;
    }
    if (parse_limits(rc, json_object_get(b, "limits"), &req.limits) < 0) {
        free_net(net);
        json_decref(b);
        return;
    }
    struct creating *c = calloc(1, sizeof *c);
    if (!c || !(c->rc = rest_call_keep(rc))) {
        if (!c)
            rest_reply_error(rc, SB_E_INTERNAL, "out of memory", NULL);
        free(c);
        free_net(net);
        json_decref(b);
        return;
    }
    struct sb_error err;
    struct session *s = session_create(rc->rest->svc, &rc->who, &req, created, c, &err);
    free_net(net);
    json_decref(b);
    if (!s) {
        rest_reply_sb_error(rc, &err);
        free(c->rc);
        free(c);
        return;
    }
    http_conn_on_abort(rc->c, on_create_abort, c);
}

/* ---- list, get, delete, timeout ---- */

void rest_sandbox_list(struct rest_call *rc)
{
    char meta[1024], state[64], num[32];
    uint64_t limit = 100, offset = 0;
    if (http_query_get(rc->req, "metadata", meta, sizeof meta) < 0 ||
        http_query_get(rc->req, "state", state, sizeof state) < 0 ||
        http_query_u64(rc->req, "limit", num, sizeof num, 1000, &limit) < 0 ||
        http_query_u64(rc->req, "offset", num, sizeof num, 1000000, &offset) < 0) {
        rest_reply_error(rc, SB_E_INVALID_ARGUMENT, "bad query: metadata=k=v&..., state=running, "
                         "limit<=1000, offset", NULL);
        return;
    }
    if (http_query_get(rc->req, "metadata", meta, sizeof meta) == 0)
        meta[0] = '\0';
    if (http_query_get(rc->req, "state", state, sizeof state) == 0)
        state[0] = '\0';
    struct session *v[4096];
    size_t n = session_list(rc->rest->svc, &rc->who, v, sizeof v / sizeof *v);
    json_t *arr = json_array();
    size_t matched = 0, shown = 0;
    for (size_t i = 0; i < n; i++) {
        if (meta[0] && !session_metadata_matches(v[i], meta))
            continue;
        if (state[0] && !strstr(state, session_state_name(v[i]->state)))
            continue;
        if (matched++ < offset || shown >= limit)
            continue;
        shown++;
        json_array_append_new(arr, session_json(v[i]));
    }
    json_t *o = json_pack("{s:o,s:I}", "sandboxes", arr, "total", (json_int_t)matched);
    if (offset + shown < matched)
        json_object_set_new(o, "next_offset", json_integer((json_int_t)(offset + shown)));
    rest_reply_json(rc, 200, o, NULL);
}

void rest_sandbox_get(struct rest_call *rc)
{
    struct session *s = rest_session(rc);
    if (s)
        rest_reply_json(rc, 200, session_json(s), NULL);
}

void rest_sandbox_delete(struct rest_call *rc)
{
    struct session *s = rest_session(rc);
    if (!s)
        return;
    session_kill(s, "deleted by its owner");
    rest_log(rc, 204);
    http_respond(rc->c, 204, NULL, NULL, 0, NULL);
}

void rest_sandbox_timeout(struct rest_call *rc)
{
    struct session *s = rest_session(rc);
    json_t *b = s ? rest_json_body(rc) : NULL;
    if (!b)
        return;
    uint64_t secs;
    struct sb_error err;
    if (get_u64(b, "timeout_s", 0, &secs) < 0 || !json_object_get(b, "timeout_s") ||
        secs == 0 || secs > 100000000) {
        rest_reply_error(rc, SB_E_INVALID_ARGUMENT, "timeout_s must be a positive integer "
                         "(seconds from now)", NULL);
    } else if (session_set_timeout(s, secs * 1000, &err) < 0) {
        rest_reply_sb_error(rc, &err);
    } else {
        rest_reply_json(rc, 200, session_json(s), NULL);
    }
    json_decref(b);
}

/* ---- pause, resume ---- */

static void op_done(struct session *s, const struct sb_error *err, void *arg)
{
    struct rest_call *rc = arg;
    if (err)
        rest_reply_sb_error(rc, err);
    else
        rest_reply_json(rc, 200, session_json(s), NULL);
    free(rc);
}

static void pause_or_resume(struct rest_call *rc, bool pause)
{
    struct session *s = rest_session(rc);
    if (!s)
        return;
    struct rest_call *k = rest_call_keep(rc);
    struct sb_error err;
    if (!k)
        return;
    int r = pause ? session_pause(s, op_done, k, &err) : session_resume(s, op_done, k, &err);
    if (r < 0) {
        rest_reply_sb_error(rc, &err);
        free(k);
    }
}

void rest_sandbox_pause(struct rest_call *rc)
{
    pause_or_resume(rc, true);
}

void rest_sandbox_resume(struct rest_call *rc)
{
    pause_or_resume(rc, false);
}

/* ---- commands ---- */

/* A client following a command: a JSON result at the end, or SSE events. */
struct follower {
    struct cmd_watcher w;
    struct rest_call *rc;
    struct session *s;
    struct session_cmd *cmd;
    struct text_carry carry;
    bool sse;
};

static void sse_event(struct follower *f, const char *type, json_t *ev)
{
    rest_sse_send(f->rc->c, type, ev);
}

static void follow_output(struct cmd_watcher *w, int stream, const char *data, size_t len)
{
    struct follower *f = w->arg;
    if (!f->sse)
        return; /* the result carries it */
    json_t *ev = event_output(&f->carry, stream, data, len);
    if (ev)
        sse_event(f, stream == 1 ? "stdout" : "stderr", ev);
}

static void follower_free(struct follower *f)
{
    session_cmd_unref(f->cmd);
    session_unref(f->s);
    free(f->rc);
    free(f);
}

static void follow_exited(struct cmd_watcher *w, struct session_cmd *c)
{
    struct follower *f = w->arg;
    if (f->sse) {
        json_t *e1 = event_output_flush(&f->carry, 1), *e2 = event_output_flush(&f->carry, 2);
        if (e1)
            sse_event(f, "stdout", e1);
        if (e2)
            sse_event(f, "stderr", e2);
        sse_event(f, "exit", session_cmd_json(c, false));
        rest_log(f->rc, 200);
        http_stream_end(f->rc->c);
    } else {
        rest_reply_json(f->rc, 200, session_cmd_json(c, true), NULL);
    }
    follower_free(f);
}

/* The client went away: stop following (the command runs on). */
static void follow_abort(void *arg)
{
    struct follower *f = arg;
    session_cmd_unwatch(&f->w);
    rest_log(f->rc, 499);
    if (f->sse)
        http_stream_end(f->rc->c);
    else
        http_respond(f->rc->c, 499, "application/json", "{}", 2, NULL);
    follower_free(f);
}

/* Follows c for this call: SSE (events as they come) or one JSON at the end. */
static void follow(struct rest_call *rc, struct session *s, struct session_cmd *c, bool replay)
{
    struct follower *f = calloc(1, sizeof *f);
    if (!f || !(f->rc = rest_call_keep(rc))) {
        if (!f)
            rest_reply_error(rc, SB_E_INTERNAL, "out of memory", NULL);
        free(f);
        return;
    }
    f->s = s;
    f->cmd = c;
    session_ref(s);
    session_cmd_ref(c);
    f->sse = wants_events(rc->req);
    f->w = (struct cmd_watcher){.output = follow_output, .exited = follow_exited, .arg = f};
    if (f->sse) {
        http_stream_start(rc->c, 200, "text/event-stream", "Cache-Control: no-store\r\n");
        sse_event(f, "start", json_pack("{s:I}", "pid", (json_int_t)c->pid));
    }
    http_conn_on_abort(rc->c, follow_abort, f);
    session_cmd_watch(c, &f->w, replay);
}

/* Decodes a command request; returns 0 or -1 after replying. argv (malloc'd
 * array of borrowed strings) is the caller's to free. */
static int decode_cmd(struct rest_call *rc, json_t *b, struct session_cmd_req *r,
                      const char ***argv, uint8_t **stdin_buf, bool *background)
{
    static const char *const known[] = {"cmd", "argv", "cwd", "env", "stdin", "stdin_base64",
                                        "stdin_open", "timeout_ms", "background", "pty", "rows",
                                        "cols", "tag", "user"};
    const char *k = unknown_key(b, known, sizeof known / sizeof *known), *bad = NULL;
    char msg[200];
    if (k) {
        snprintf(msg, sizeof msg, "unknown field '%s'", k);
        bad = msg;
    }
    json_t *cmd = json_object_get(b, "cmd"), *av = json_object_get(b, "argv");
    json_t *cwd = json_object_get(b, "cwd"), *in = json_object_get(b, "stdin");
    json_t *in64 = json_object_get(b, "stdin_base64"), *tag = json_object_get(b, "tag");
    json_t *user = json_object_get(b, "user");
    uint64_t timeout = 0, rows = 0, cols = 0;
    if (bad) {
    } else if ((cmd && !json_is_string(cmd)) || (cwd && !json_is_string(cwd)) ||
               (in && !json_is_string(in)) || (in64 && !json_is_string(in64)) ||
               (tag && !json_is_string(tag)) || (user && !json_is_string(user))) {
        bad = "cmd, cwd, stdin, stdin_base64, tag and user must be strings";
    } else if (!!cmd == !!av) {
        bad = "give exactly one of cmd (a shell line) and argv (a list of strings)";
    } else if (av && (!json_is_array(av) || json_array_size(av) == 0 ||
                      json_array_size(av) > rc->rest->svc->cfg->server.max_args)) {
        bad = "argv must be a non-empty list of strings (at most server.max_args)";
    } else if (get_u64(b, "timeout_ms", 0, &timeout) < 0 || get_u64(b, "rows", 0, &rows) < 0 ||
               rows > 1000 || get_u64(b, "cols", 0, &cols) < 0 || cols > 1000) {
        bad = "timeout_ms, rows (<= 1000) and cols (<= 1000) must be non-negative integers";
    } else if (user && strcmp(json_string_value(user), "user") &&
               strcmp(json_string_value(user), "root")) {
        bad = "user must be \"user\" (every command runs as the session's unprivileged user)";
    }
    if (!bad && av) {
        size_t n = json_array_size(av);
        *argv = calloc(n + 1, sizeof **argv);
        for (size_t i = 0; *argv && i < n; i++) {
            if (!json_is_string(json_array_get(av, i)))
                bad = "argv must be a list of strings";
            else
                (*argv)[i] = json_string_value(json_array_get(av, i));
        }
        r->argv = *argv;
        r->argc = n;
    }
    if (!bad && in64) {
        size_t len = 0;
        *stdin_buf = (uint8_t *)base64_decode(json_string_value(in64), json_string_length(in64), &len);
        if (!*stdin_buf)
            bad = "stdin_base64 is not base64";
        r->stdin_data = *stdin_buf;
        r->stdin_len = len;
    } else if (!bad && in) {
        r->stdin_data = json_string_value(in);
        r->stdin_len = json_string_length(in);
    }
    if (bad) {
        rest_reply_error(rc, SB_E_INVALID_ARGUMENT, bad, NULL);
        return -1;
    }
    r->shell = cmd ? json_string_value(cmd) : NULL;
    r->cwd = cwd ? json_string_value(cwd) : NULL;
    r->env = json_object_get(b, "env");
    r->stdin_open = json_is_true(json_object_get(b, "stdin_open"));
    r->timeout_ms = timeout;
    r->pty = json_is_true(json_object_get(b, "pty"));
    r->rows = (uint16_t)rows;
    r->cols = (uint16_t)cols;
    r->tag = tag ? json_string_value(tag) : NULL;
    *background = json_is_true(json_object_get(b, "background"));
    return 0;
}

void rest_command_run(struct rest_call *rc)
{
    struct session *s = rest_session(rc);
    json_t *b = s ? rest_json_body(rc) : NULL;
    if (!b)
        return;
    struct session_cmd_req r = {0};
    const char **argv = NULL;
    uint8_t *stdin_buf = NULL;
    bool background = false;
    if (decode_cmd(rc, b, &r, &argv, &stdin_buf, &background) == 0) {
        struct sb_error err;
        struct session_cmd *c = session_cmd_start(s, &r, &err);
        if (!c) {
            rest_reply_sb_error(rc, &err);
        } else if (background) {
            char loc[128];
            snprintf(loc, sizeof loc, "Location: /api/sandboxes/%s/commands/%u\r\n", s->id,
                     c->pid);
            rest_reply_json(rc, 201, session_cmd_json(c, false), loc);
        } else {
            follow(rc, s, c, false);
        }
    }
    free(argv);
    free(stdin_buf);
    json_decref(b);
}

void rest_command_list(struct rest_call *rc)
{
    struct session *s = rest_session(rc);
    if (!s)
        return;
    json_t *arr = json_array();
    for (struct list_node *l = s->cmds.next; l != &s->cmds; l = l->next)
        json_array_append_new(arr, session_cmd_json((struct session_cmd *)l, false));
    rest_reply_json(rc, 200, json_pack("{s:o}", "commands", arr), NULL);
}

/* The command {pid} of the session {id}, or NULL after replying. */
static struct session_cmd *find_cmd(struct rest_call *rc, struct session **sp)
{
    struct session *s = rest_session(rc);
    if (!s)
        return NULL;
    uint64_t pid;
    struct session_cmd *c = NULL;
    if (util_parse_u64(rc->params[1], &pid) == 0 && pid <= UINT32_MAX)
        c = session_cmd_find(s, (uint32_t)pid);
    if (!c)
        rest_reply_error(rc, SB_E_NOT_FOUND, "no such command", NULL);
    *sp = s;
    return c;
}

void rest_command_get(struct rest_call *rc)
{
    struct session *s;
    struct session_cmd *c = find_cmd(rc, &s);
    if (!c)
        return;
    char follow_q[8];
    bool wait = http_query_get(rc->req, "wait", follow_q, sizeof follow_q) == 1 &&
                !strcmp(follow_q, "true");
    if (wants_events(rc->req) || wait)
        follow(rc, s, c, true); /* reattach: everything so far, then live */
    else
        rest_reply_json(rc, 200, session_cmd_json(c, true), NULL);
}

void rest_command_stdin(struct rest_call *rc)
{
    struct session *s;
    struct session_cmd *c = find_cmd(rc, &s);
    json_t *b = c ? rest_json_body(rc) : NULL;
    if (!b)
        return;
    json_t *d = json_object_get(b, "data"), *d64 = json_object_get(b, "data_base64");
    uint8_t *buf = NULL;
    size_t len = 0;
    const char *bad = NULL;
    if ((d && !json_is_string(d)) || (d64 && !json_is_string(d64)))
        bad = "data and data_base64 must be strings";
    else if (d64 && !(buf = (uint8_t *)base64_decode(json_string_value(d64), json_string_length(d64), &len)))
        bad = "data_base64 is not base64";
    int rc2 = 0;
    if (!bad && (d || d64))
        rc2 = d64 ? session_cmd_stdin(c, buf, len)
                  : session_cmd_stdin(c, json_string_value(d), json_string_length(d));
    if (bad)
        rest_reply_error(rc, SB_E_INVALID_ARGUMENT, bad, NULL);
    else if (rc2 == -2)
        rest_reply_error(rc, SB_E_RATE_LIMITED, "1 MiB of stdin is waiting: the program is not "
                         "reading; try again later", "Retry-After: 1\r\n");
    else if (rc2 < 0)
        rest_reply_error(rc, SB_E_CONFLICT, "the command's stdin is closed (start it with "
                         "stdin_open) or it has ended", NULL);
    else {
        if (json_is_true(json_object_get(b, "close")))
            session_cmd_stdin_close(c);
        rest_log(rc, 204);
        http_respond(rc->c, 204, NULL, NULL, 0, NULL);
    }
    free(buf);
    json_decref(b);
}

void rest_command_signal(struct rest_call *rc)
{
    struct session *s;
    struct session_cmd *c = find_cmd(rc, &s);
    json_t *b = c ? rest_json_body(rc) : NULL;
    if (!b)
        return;
    json_t *sig = json_object_get(b, "signal");
    char name[32] = "SIGKILL";
    if (json_is_string(sig))
        snprintf(name, sizeof name, "%s", json_string_value(sig));
    else if (json_is_integer(sig))
        snprintf(name, sizeof name, "%lld", (long long)json_integer_value(sig));
    int n = sig && !json_is_string(sig) && !json_is_integer(sig) ? -1
                                                                  : session_signal_number(name);
    json_t *rows = json_object_get(b, "rows"), *cols = json_object_get(b, "cols");
    if (json_is_integer(rows) && json_is_integer(cols) && !sig) {
        session_cmd_resize(c, (uint16_t)json_integer_value(rows),
                           (uint16_t)json_integer_value(cols));
        rest_log(rc, 204);
        http_respond(rc->c, 204, NULL, NULL, 0, NULL);
    } else if (n < 0) {
        rest_reply_error(rc, SB_E_INVALID_ARGUMENT, "signal must be a name like SIGTERM or "
                         "SIGKILL (or its number)", NULL);
    } else if (session_cmd_signal(c, n) < 0) {
        rest_reply_error(rc, SB_E_CONFLICT, "the command has ended", NULL);
    } else {
        rest_log(rc, 204);
        http_respond(rc->c, 204, NULL, NULL, 0, NULL);
    }
    json_decref(b);
}
