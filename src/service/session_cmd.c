/* Commands of a session: start, follow (with replay), stdin, signals, results. */
#include "service/session_cmd.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "service/result_json.h"
#include "service/service.h"
#include "service/session_internal.h"

/* ---- lifetime ---- */

void session_cmd_ref(struct session_cmd *c)
{
    c->refs++;
}

void session_cmd_unref(struct session_cmd *c)
{
    if (--c->refs)
        return;
    c->svc->sessions.output_held -= c->log.len;
    free(c->tag);
    json_decref(c->config);
    sb_buf_free(&c->log);
    sb_buf_free(&c->early_stdin);
    free(c);
}

/* Forgets the oldest finished commands beyond the session's maximum. */
static void trim(struct session *s)
{
    uint64_t max = s->svc->cfg->sessions.max_commands;
    struct list_node *n = s->cmds.next, *next;
    for (; n != &s->cmds && s->ncmds > max; n = next) {
        next = n->next;
        struct session_cmd *c = (struct session_cmd *)n;
        if (c->running)
            continue;
        list_remove(&c->node);
        s->ncmds--;
        session_cmd_unref(c);
    }
}

/* ---- the process's callbacks ---- */

static void on_output(struct sbx_proc *p, int stream, const char *data, size_t len, void *arg)
{
    (void)p;
    struct session_cmd *c = arg;
    struct session *s = c->s;
    uint8_t hdr[5] = {(uint8_t)stream};
    uint32_t n = (uint32_t)len;
    memcpy(hdr + 1, &n, 4);
    struct session_registry *reg = &s->svc->sessions;
    if (reg->output_held + len + 5 > s->svc->cfg->sessions.max_output_held_mb << 20) {
        c->output_dropped = true; /* followers still get it below */
    } else {
        size_t before = c->log.len;
        sb_buf_append(&c->log, hdr, sizeof hdr);
        sb_buf_append(&c->log, data, len);
        reg->output_held += c->log.len - before;
    }
    if (stream == 1)
        c->out_bytes += len;
    else
        c->err_bytes += len;
    s->output_used += len;
    struct list_node *l, *next;
    for (l = c->watchers.next; l != &c->watchers; l = next) {
        next = l->next;
        struct cmd_watcher *w = (struct cmd_watcher *)l;
        w->output(w, stream, data, len);
    }
}

static void on_started(struct sbx_proc *p, void *arg)
{
    struct session_cmd *c = arg;
    c->started = true;
    if (c->early_stdin.len)
        sbx_proc_stdin_write(p, c->early_stdin.data, c->early_stdin.len);
    sb_buf_free(&c->early_stdin);
    if (c->early_close)
        sbx_proc_stdin_close(p);
}

static const char *status_of(const struct sbx_result *r)
{
    if (r->exec_failed)
        return "runtime_error"; /* the caller's program or directory */
    if (r->failed)
        return "internal_error";
    switch (sbx_result_cause(r)) {
    case SBX_CAUSE_OUTPUT: return "output_limit_exceeded";
    case SBX_CAUSE_MEMORY: return "memory_limit_exceeded";
    case SBX_CAUSE_CPU:
    case SBX_CAUSE_WALL: return "time_limit_exceeded";
    case SBX_CAUSE_KILLED: return "killed";
    case SBX_CAUSE_CANCELLED: return "cancelled";
    default: break;
    }
    return r->exited && !r->term_signal && r->exit_code == 0 ? "ok" : "runtime_error";
}

static void on_exited(struct sbx_proc *p, void *arg)
{
    struct session_cmd *c = arg;
    const struct sbx_result *r = sbx_proc_result(p);
    c->running = false;
    c->ended_ms = util_now_ms();
    c->status = status_of(r);
    c->signal = r->term_signal;
    c->exit_code = r->term_signal ? -1 : r->exit_code;
    if (r->exec_failed) /* as a shell says it: 127 not found, 126 cannot run */
        c->exit_code = r->exec_errno == ENOENT ? 127 : 126;
    if (r->failed) {
        const char *m = r->error.msg;
        if (r->exec_failed && !strncmp(m, "sandbox setup: ", 15))
            m += 15;
        snprintf(c->error, sizeof c->error, "%s", m);
    }
    c->wall_ms = r->wall_ns / 1000000u;
    c->cpu_ms = r->cpu_ns / 1000000u;
    c->memory_peak_kb = r->memory_peak / 1024;
    sbx_proc_free(p);
    c->proc = NULL;
    struct list_node *l, *next;
    for (l = c->watchers.next; l != &c->watchers; l = next) {
        next = l->next;
        struct cmd_watcher *w = (struct cmd_watcher *)l;
        list_remove(&w->node);
        w->attached = false;
        w->exited(w, c);
    }
    trim(c->s);
    session_cmd_unref(c); /* the process's */
}

/* ---- starting ---- */

static int env_array(struct session *s, json_t *env, const char ***out, size_t *n,
                     struct sb_error *err)
{
    size_t cap = s->nenv + (env ? json_object_size(env) : 0) + 1;
    const char **v = calloc(cap, sizeof *v);
    if (!v)
        return sb_fail(err, SB_E_INTERNAL, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < s->nenv; i++)
        v[k++] = s->env[i];
    *out = v;
    *n = k;
    if (!env)
        return 0;
    if (!json_is_object(env))
        return sb_fail(err, SB_E_INVALID_ARGUMENT, "env must be an object of strings");
    const char *key;
    json_t *val;
    json_object_foreach(env, key, val) {
        if (!json_is_string(val) || !*key || strchr(key, '='))
            return sb_fail(err, SB_E_INVALID_ARGUMENT, "env: '%s' must be a name with a "
                           "string value", key);
        char *kv;
        if (asprintf(&kv, "%s=%s", key, json_string_value(val)) < 0)
            return sb_fail(err, SB_E_INTERNAL, "out of memory");
        v[k++] = kv; /* freed by the caller: entries past s->nenv */
    }
    *n = k;
    return 0;
}

static void env_free(struct session *s, const char **v, size_t n)
{
    for (size_t i = s->nenv; i < n; i++)
        free((char *)v[i]);
    free(v);
}

static json_t *config_json(const char *const *argv, size_t argc, json_t *env, const char *cwd)
{
    json_t *args = json_array();
    for (size_t i = 1; i < argc; i++)
        json_array_append_new(args, json_string(argv[i]));
    return json_pack("{s:s,s:o,s:o,s:s}", "cmd", argv[0], "args", args, "envs",
                     env ? json_incref(env) : json_object(), "cwd", cwd);
}

static int check_req(struct session *s, const struct session_cmd_req *req, struct sb_error *err)
{
    if (!session_live(s))
        return sb_fail(err, SB_E_CONFLICT, "the sandbox is %s%s", session_state_name(s->state),
                       s->state == SESSION_PAUSED ? ": resume it first" : "");
    if (!req->argv && (!req->shell || !*req->shell))
        return sb_fail(err, SB_E_INVALID_ARGUMENT, "give `cmd` (a shell line) or `argv`");
    if (req->argv && (req->argc == 0 || !req->argv[0] || !*req->argv[0]))
        return sb_fail(err, SB_E_INVALID_ARGUMENT, "argv must name a program");
    if (req->timeout_ms > s->svc->cfg->sessions.max_ttl_ms)
        return sb_fail(err, SB_E_LIMIT_EXCEEDS_MAX, "timeout_ms is above the server's maximum");
    unsigned running = 0;
    for (struct list_node *l = s->cmds.next; l != &s->cmds; l = l->next)
        running += ((struct session_cmd *)l)->running;
    if (running >= s->lim.processes)
        return sb_fail(err, SB_E_RATE_LIMITED, "the session runs %u commands, its maximum",
                       running);
    if (s->output_used >= s->output_max)
        return sb_fail(err, SB_E_RATE_LIMITED, "the session has used its whole output "
                       "allowance (%llu MB)", (unsigned long long)(s->output_max >> 20));
    return 0;
}

struct session_cmd *session_cmd_start(struct session *s, const struct session_cmd_req *req,
                                      struct sb_error *err)
{
    if (check_req(s, req, err) < 0)
        return NULL;
    char cwd[4096];
    if (session_path(req->cwd ? req->cwd : "/home/user", "/home/user", cwd, sizeof cwd, err) < 0)
        return NULL;
    const char *shell_argv[] = {"/bin/bash", "-c", req->shell, NULL};
    const char *const *argv = req->argv ? req->argv : shell_argv;
    size_t argc = req->argv ? req->argc : 3;
    const char **env = NULL;
    size_t envc = 0;
    if (env_array(s, req->env, &env, &envc, err) < 0) {
        if (env)
            env_free(s, env, envc);
        return NULL;
    }
    struct session_cmd *c = calloc(1, sizeof *c);
    if (!c || !(c->config = config_json(argv, argc, req->env, cwd)) ||
        (req->tag && !(c->tag = strdup(req->tag)))) {
        env_free(s, env, envc);
        if (c)
            json_decref(c->config);
        free(c);
        return sb_fail(err, SB_E_INTERNAL, "out of memory"), NULL;
    }
    const struct sb_config *cfg = s->svc->cfg;
    struct sbx_exec x = {
        .argv = argv, .argc = argc, .env = env, .envc = envc, .cwd = cwd,
        .limits = {
            .wall_ms = req->timeout_ms, .output_bytes = s->output_max - s->output_used,
            .file_size_kb = s->lim.disk_kb, .stack_kb = cfg->defaults.stack_kb,
            .open_files = s->lim.open_files, .processes = s->lim.processes,
        },
        .stdin_data = req->stdin_data, .stdin_len = req->stdin_len,
        .interactive = req->stdin_open || req->pty, .pty = req->pty,
        .rows = req->rows ? req->rows : 24, .cols = req->cols ? req->cols : 80,
    };
    static const struct sbx_proc_callbacks cb = {on_started, on_output, NULL, on_exited};
    c->s = s;
    c->svc = s->svc;
    c->interactive = req->stdin_open || req->pty;
    c->refs = 2; /* the session's list and the process */
    c->running = true;
    c->pid = ++s->next_pid;
    c->started_ms = util_now_ms();
    list_init(&c->watchers);
    c->proc = sbx_exec(s->sbx, &x, &cb, c, err);
    env_free(s, env, envc);
    if (!c->proc) {
        json_decref(c->config);
        free(c->tag);
        free(c);
        s->next_pid--;
        return NULL;
    }
    list_insert_tail(&s->cmds, &c->node);
    s->ncmds++;
    s->svc->sessions.commands++;
    char detail[300];
    snprintf(detail, sizeof detail, "pid %u: %.250s", c->pid,
             req->shell ? req->shell : argv[0]);
    session_audit(s, "session_command", detail);
    session_touch(s);
    return c;
}

struct session_cmd *session_cmd_find(struct session *s, uint32_t pid)
{
    for (struct list_node *l = s->cmds.next; l != &s->cmds; l = l->next)
        if (((struct session_cmd *)l)->pid == pid)
            return (struct session_cmd *)l;
    return NULL;
}

/* ---- following ---- */

struct replay_done {
    uv_timer_t t;
    struct cmd_watcher *w;
    struct session_cmd *c;
};

static void replay_closed(uv_handle_t *h)
{
    struct replay_done *r = h->data;
    session_cmd_unref(r->c);
    free(r);
}

static void replay_fire(uv_timer_t *t)
{
    struct replay_done *r = t->data;
    if (r->w) {
        r->w->attached = false;
        r->w->pending = NULL;
        r->w->exited(r->w, r->c);
    }
    uv_close((uv_handle_t *)&r->t, replay_closed);
}

void session_cmd_watch(struct session_cmd *c, struct cmd_watcher *w, bool replay)
{
    if (replay) {
        for (size_t o = 0; o + 5 <= c->log.len;) {
            uint32_t n;
            memcpy(&n, c->log.data + o + 1, 4);
            w->output(w, c->log.data[o], c->log.data + o + 5, n);
            o += 5 + n;
        }
    }
    w->attached = true;
    if (c->running) {
        list_insert_tail(&c->watchers, &w->node);
        return;
    }
    /* ended already: exited follows from the loop, like every callback */
    list_init(&w->node);
    struct replay_done *r = calloc(1, sizeof *r);
    if (!r) {
        w->attached = false;
        return;
    }
    r->w = w;
    r->c = c;
    w->pending = r;
    session_cmd_ref(c);
    uv_timer_init(c->s->svc->loop, &r->t);
    r->t.data = r;
    uv_timer_start(&r->t, replay_fire, 0, 0);
}

void session_cmd_unwatch(struct cmd_watcher *w)
{
    if (w->pending)
        ((struct replay_done *)w->pending)->w = NULL;
    else if (w->attached)
        list_remove(&w->node);
    w->pending = NULL;
    w->attached = false;
}

void session_cmd_output(const struct session_cmd *c, struct sb_buf *out, struct sb_buf *err)
{
    for (size_t o = 0; o + 5 <= c->log.len;) {
        uint32_t n;
        memcpy(&n, c->log.data + o + 1, 4);
        sb_buf_append(c->log.data[o] == 1 ? out : err, c->log.data + o + 5, n);
        o += 5 + n;
    }
    sb_buf_append(out, "", 0);
    sb_buf_append(err, "", 0);
}

/* ---- controls ---- */

int session_cmd_stdin(struct session_cmd *c, const void *data, size_t len)
{
    if (!c->running || !c->proc || !c->interactive)
        return -1;
    session_touch(c->s);
    if (!c->started) { /* kept until it runs: a terminal has no input before */
        if (c->early_close)
            return -1;
        if (c->early_stdin.len + len > (1u << 20))
            return -2;
        return sb_buf_append(&c->early_stdin, data, len) < 0 ? -2 : 0;
    }
    return sbx_proc_stdin_write(c->proc, data, len);
}

void session_cmd_stdin_close(struct session_cmd *c)
{
    if (c->running && c->proc && !c->started)
        c->early_close = true;
    else if (c->running && c->proc)
        sbx_proc_stdin_close(c->proc);
}

int session_cmd_signal(struct session_cmd *c, int sig)
{
    if (!c->running || !c->proc)
        return -1;
    session_touch(c->s);
    if (sig == SIGKILL)
        sbx_proc_kill(c->proc);
    else
        sbx_proc_signal(c->proc, sig);
    return 0;
}

void session_cmd_resize(struct session_cmd *c, uint16_t rows, uint16_t cols)
{
    if (c->running && c->proc)
        sbx_proc_resize(c->proc, rows, cols);
}

int session_signal_number(const char *name)
{
    static const struct { const char *n; int sig; } t[] = {
        {"HUP", SIGHUP}, {"INT", SIGINT}, {"QUIT", SIGQUIT}, {"KILL", SIGKILL},
        {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"TERM", SIGTERM}, {"CONT", SIGCONT},
        {"STOP", SIGSTOP}, {"TSTP", SIGTSTP}, {"ALRM", SIGALRM}, {"PIPE", SIGPIPE},
        {"WINCH", SIGWINCH},
    };
    if (!name)
        return -1;
    uint64_t num;
    if (util_parse_u64(name, &num) == 0) {
        for (size_t i = 0; i < sizeof t / sizeof *t; i++)
            if ((uint64_t)t[i].sig == num)
                return t[i].sig;
        return -1;
    }
    if (!strncmp(name, "SIGNAL_", 7))
        name += 7;
    if (!strncmp(name, "SIG", 3))
        name += 3;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        if (!strcmp(t[i].n, name))
            return t[i].sig;
    return -1;
}

json_t *session_cmd_json(const struct session_cmd *c, bool with_output)
{
    char started[40];
    util_iso_time(c->started_ms, started, sizeof started);
    json_t *j = json_pack("{s:I,s:O,s:s,s:s,s:I,s:I}", "pid", (json_int_t)c->pid, "config",
                          c->config, "state", c->running ? "running" : "exited", "started_at",
                          started, "stdout_bytes", (json_int_t)c->out_bytes, "stderr_bytes",
                          (json_int_t)c->err_bytes);
    if (c->tag)
        json_object_set_new(j, "tag", json_string(c->tag));
    if (c->output_dropped)
        json_object_set_new(j, "output_dropped", json_true());
    if (!c->running) {
        char ended[40];
        util_iso_time(c->ended_ms, ended, sizeof ended);
        json_object_set_new(j, "ended_at", json_string(ended));
        json_object_set_new(j, "status", json_string(c->status));
        json_object_set_new(j, "exit_code", json_integer(c->exit_code));
        json_object_set_new(j, "signal", c->signal ? json_integer(c->signal) : json_null());
        json_object_set_new(j, "wall_time_ms", json_integer((json_int_t)c->wall_ms));
        json_object_set_new(j, "cpu_time_ms", json_integer((json_int_t)c->cpu_ms));
        if (c->error[0])
            json_object_set_new(j, "error", json_string(c->error));
    }
    if (with_output) {
        struct sb_buf out = {0}, err = {0};
        session_cmd_output(c, &out, &err);
        json_object_set_new(j, "stdout", result_json_bytes(out.data, out.len, NULL));
        json_object_set_new(j, "stderr", result_json_bytes(err.data, err.len, NULL));
        sb_buf_free(&out);
        sb_buf_free(&err);
    }
    return j;
}

/* ---- the session ends ---- */

void session_cmds_free(struct session *s)
{
    while (!list_empty(&s->cmds)) {
        struct session_cmd *c = (struct session_cmd *)s->cmds.next;
        list_remove(&c->node);
        session_cmd_unref(c);
    }
    s->ncmds = 0;
}
