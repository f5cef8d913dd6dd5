/* Code contexts: a driver process per context (src/service/drivers/), cells queued and run one at a time. */
#include "service/session_ctx.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "service/service.h"
#include "service/session_internal.h"

/* The drivers, embedded by drivers_blob.S. */
extern const char sb_driver_python[];
extern const char sb_driver_javascript[];
extern const char sb_driver_bash[];

/* A driver line longer than this is broken: the context restarts. */
#define LINE_MAX_BYTES (64u << 20)

struct cell {
    struct list_node node;
    struct session_ctx *ctx;
    uint64_t id;
    char *line;                  /* the request, one JSON line */
    struct cell_watcher *w;      /* NULL once detached */
    bool sent;
    uint64_t timeout_ms;
    uv_timer_t timer;
    bool timer_on;
};

struct session_ctx {
    struct list_node node;
    struct session *s;
    char id[40];
    char lang[16];
    char cwd[1024];
    struct sbx_proc *proc;
    bool ready;
    struct sb_buf line;
    struct list_node cells;      /* head: running (sent) or next */
    unsigned restarts;
    unsigned refs;
    bool is_default;             /* made by /execute without a context: its language's default */
};

static int start_driver(struct session_ctx *c, struct sb_error *err);

static void ctx_unref(struct session_ctx *c)
{
    if (--c->refs)
        return;
    sb_buf_free(&c->line);
    free(c);
}

/* ---- cells ---- */

static void timer_closed(uv_handle_t *h)
{
    struct cell *cell = h->data;
    free(cell->line);
    ctx_unref(cell->ctx);
    free(cell);
}

static void cell_free(struct cell *cell)
{
    list_remove(&cell->node);
    uv_close((uv_handle_t *)&cell->timer, timer_closed);
}

static void cell_event(struct cell *cell, json_t *ev)
{
    if (cell->w)
        cell->w->event(cell->w, ev);
}

static void cell_end(struct cell *cell, unsigned count)
{
    struct cell_watcher *w = cell->w;
    cell->w = NULL;
    cell_free(cell);
    if (w)
        w->end(w, count);
}

/* Ends a cell with an error event of its own (the interpreter went away). */
static void cell_fail(struct cell *cell, const char *name, const char *value)
{
    json_t *ev = json_pack("{s:s,s:s,s:s,s:s}", "type", "error", "name", name, "value", value,
                           "traceback", value);
    if (ev)
        cell_event(cell, ev);
    json_decref(ev);
    cell_end(cell, 0);
}

static void on_cell_timeout(uv_timer_t *t)
{
    struct cell *cell = t->data;
    if (cell->ctx->proc)
        sbx_proc_signal(cell->ctx->proc, SIGINT);
}

static void send_next(struct session_ctx *c)
{
    if (!c->ready || list_empty(&c->cells) || !c->proc)
        return;
    struct cell *cell = (struct cell *)c->cells.next;
    if (cell->sent)
        return;
    cell->sent = true;
    size_t len = strlen(cell->line);
    int rc = sbx_proc_stdin_write(c->proc, cell->line, len);
    if (rc == 0 && cell->timeout_ms)
        uv_timer_start(&cell->timer, on_cell_timeout, cell->timeout_ms, 0);
    if (rc < 0)
        cell_fail(cell, "ContextError", "the context's interpreter does not take input");
}

/* ---- the driver's output: JSON lines ---- */

static void on_line(struct session_ctx *c, const char *text, size_t len)
{
    json_t *ev = json_loadb(text, len, 0, NULL);
    if (!json_is_object(ev)) {
        json_decref(ev);
        return;
    }
    const char *type = json_string_value(json_object_get(ev, "type"));
    if (type && !strcmp(type, "ready")) {
        c->ready = true;
        send_next(c);
    } else if (type && !list_empty(&c->cells)) {
        struct cell *cell = (struct cell *)c->cells.next;
        json_int_t id = json_integer_value(json_object_get(ev, "id"));
        if (cell->sent && (uint64_t)id == cell->id) {
            json_object_del(ev, "id");
            if (!strcmp(type, "end")) {
                unsigned n = (unsigned)json_integer_value(json_object_get(ev, "execution_count"));
                c->s->svc->sessions.cells++;
                cell_end(cell, n);
                send_next(c);
            } else {
                cell_event(cell, ev);
            }
        }
    }
    json_decref(ev);
}

/* One line for on_line; false once a watcher restarted or deleted the
 * context (its interpreter, and this output, are gone). */
static bool take_line(void *arg, const char *text, size_t len)
{
    struct session_ctx *c = arg;
    struct sbx_proc *p = c->proc;
    on_line(c, text, len);
    return c->proc == p;
}

static void on_output(struct sbx_proc *p, int stream, const char *data, size_t len, void *arg)
{
    struct session_ctx *c = arg;
    if (p != c->proc || stream != 1)
        return; /* stderr: the driver's own complaints */
    c->s->output_used += len;
    sb_buf_append(&c->line, data, len);
    sb_buf_lines(&c->line, take_line, c);
    if (c->proc != p)
        return; /* a watcher restarted or deleted the context */
    if (c->line.len > LINE_MAX_BYTES)
        sbx_proc_kill(p);
}

static const char *why_gone(const struct sbx_result *r)
{
    switch (sbx_result_cause(r)) {
    case SBX_CAUSE_MEMORY: return "memory_limit_exceeded: the context ran out of memory";
    case SBX_CAUSE_OUTPUT: return "output_limit_exceeded: the session used its output allowance";
    case SBX_CAUSE_CANCELLED: return "the session ended";
    case SBX_CAUSE_KILLED: return "the context was restarted";
    default: break;
    }
    return r->failed ? r->error.msg : "the context's interpreter exited";
}

static void on_exited(struct sbx_proc *p, void *arg)
{
    struct session_ctx *c = arg;
    const struct sbx_result *r = sbx_proc_result(p);
    char why[300], exec_why[200];
    bool r_exec_failed = r->exec_failed;
    snprintf(exec_why, sizeof exec_why, "%s", r->error.msg);
    snprintf(why, sizeof why, "%s; its state is lost%s", why_gone(r),
             session_live(c->s) ? " and it starts again" : "");
    sbx_proc_free(p);
    c->proc = NULL;
    c->ready = false;
    c->line.len = 0;
    /* the running cell dies with it; queued ones wait for the new interpreter */
    if (!list_empty(&c->cells) && ((struct cell *)c->cells.next)->sent)
        cell_fail((struct cell *)c->cells.next, "ContextRestarted", why);
    struct sb_error err;
    bool startable = !r_exec_failed;
    if (!startable)
        snprintf(why, sizeof why, "the context's interpreter could not start: %s", exec_why);
    if (!startable) {
        /* queued cells too: this interpreter cannot start (the next cell tries again) */
        while (!list_empty(&c->cells))
            cell_fail((struct cell *)c->cells.next, "ContextError", why);
    } else if (session_live(c->s) && c->restarts < 1000 && start_driver(c, &err) == 0) {
        c->restarts++;
    } else {
        while (!list_empty(&c->cells))
            cell_fail((struct cell *)c->cells.next, "ContextError", why);
    }
    ctx_unref(c); /* the process's */
}

/* ---- the driver process ---- */

static int start_driver(struct session_ctx *c, struct sb_error *err)
{
    struct session *s = c->s;
    const char *argv[80];
    size_t argc = 0;
    if (!strcmp(c->lang, "python")) {
        argv[argc++] = "/usr/bin/python3";
        argv[argc++] = "-u";
        argv[argc++] = "-c";
        argv[argc++] = sb_driver_python;
        for (char **m = s->tpl->preload; *m && argc < 79; m++)
            argv[argc++] = *m;
    } else if (!strcmp(c->lang, "javascript")) {
        argv[argc++] = "/usr/bin/node";
        argv[argc++] = "-e";
        argv[argc++] = sb_driver_javascript;
    } else {
        argv[argc++] = "/bin/bash";
        argv[argc++] = "-c";
        argv[argc++] = sb_driver_bash;
    }
    argv[argc] = NULL;
    const struct sb_config *cfg = s->svc->cfg;
    struct sbx_exec x = {
        .argv = argv, .argc = argc, .env = (const char *const *)s->env, .envc = s->nenv,
        .cwd = c->cwd,
        .limits = {
            .output_bytes = s->output_max > s->output_used ? s->output_max - s->output_used : 1,
            .file_size_kb = s->lim.disk_kb, .stack_kb = cfg->defaults.stack_kb,
            .open_files = s->lim.open_files, .processes = s->lim.processes,
        },
        .interactive = true,
    };
    static const struct sbx_proc_callbacks cb = {NULL, on_output, NULL, on_exited};
    c->proc = sbx_exec(s->sbx, &x, &cb, c, err);
    if (!c->proc)
        return -1;
    c->refs++;
    return 0;
}

/* A context language by its name or an alias ("py", "js", "node", "sh"), or
 * the template's default for none; "" for anything else. */
static const char *context_language(const struct session *s, const char *language)
{
    const char *lang = language && *language ? language : s->tpl->default_context;
    static const struct { const char *alias, *name; } t[] = {
        {"python", "python"}, {"python3", "python"}, {"py", "python"},
        {"javascript", "javascript"}, {"js", "javascript"}, {"node", "javascript"},
        {"nodejs", "javascript"}, {"bash", "bash"}, {"sh", "bash"}, {"shell", "bash"},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        if (!strcmp(lang, t[i].alias))
            return t[i].name;
    return "";
}

static struct session_ctx *ctx_create(struct session *s, const char *language, const char *cwd,
                                      bool is_default, struct sb_error *err)
{
    if (!session_live(s))
        return sb_fail(err, SB_E_CONFLICT, "the sandbox is %s", session_state_name(s->state)),
               NULL;
    const char *lang = context_language(s, language);
    if (!template_context_ok(lang))
        return sb_fail(err, SB_E_INVALID_ARGUMENT, "language '%s': contexts are python, "
                       "javascript or bash", language), NULL;
    if (s->nctxs >= s->svc->cfg->sessions.max_contexts)
        return sb_fail(err, SB_E_RATE_LIMITED, "the session has %u contexts, its maximum "
                       "(sessions.max_contexts)", s->nctxs), NULL;
    struct session_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return sb_fail(err, SB_E_INTERNAL, "out of memory"), NULL;
    if (session_path(cwd ? cwd : "/home/user", "/home/user", c->cwd, sizeof c->cwd, err) < 0) {
        free(c);
        return NULL;
    }
    c->s = s;
    c->refs = 1;
    c->is_default = is_default;
    snprintf(c->lang, sizeof c->lang, "%s", lang);
    util_uuid(c->id);
    list_init(&c->cells);
    /* its working directory is made if missing (queued before the interpreter) */
    if (strcmp(c->cwd, "/home/user") && strcmp(c->cwd, "/tmp"))
        session_file_mkdir(s, c->cwd, NULL, NULL, err);
    if (start_driver(c, err) < 0) {
        free(c);
        return NULL;
    }
    list_insert_tail(&s->ctxs, &c->node);
    s->nctxs++;
    session_touch(s);
    char detail[128];
    snprintf(detail, sizeof detail, "%s context %s", c->lang, c->id);
    session_audit(s, "session_context", detail);
    return c;
}

struct session_ctx *session_ctx_find(struct session *s, const char *id)
{
    for (struct list_node *l = s->ctxs.next; l != &s->ctxs; l = l->next)
        if (!strcmp(((struct session_ctx *)l)->id, id))
            return (struct session_ctx *)l;
    return NULL;
}

struct session_ctx *session_ctx_create(struct session *s, const char *language, const char *cwd,
                                       struct sb_error *err)
{
    return ctx_create(s, language, cwd, false, err);
}

struct session_ctx *session_ctx_default(struct session *s, const char *language,
                                        struct sb_error *err)
{
    const char *lang = context_language(s, language);
    for (struct list_node *l = s->ctxs.next; l != &s->ctxs; l = l->next) {
        struct session_ctx *c = (struct session_ctx *)l;
        if (c->is_default && !strcmp(c->lang, lang))
            return c;
    }
    return ctx_create(s, language, NULL, true, err);
}

struct cell *session_ctx_execute(struct session_ctx *c, const struct cell_req *req,
                                 struct cell_watcher *w, struct sb_error *err)
{
    if (!session_live(c->s))
        return sb_fail(err, SB_E_CONFLICT, "the sandbox is %s", session_state_name(c->s->state)),
               NULL;
    if (req->env && !json_is_object(req->env))
        return sb_fail(err, SB_E_INVALID_ARGUMENT, "env must be an object"), NULL;
    /* an interpreter that could not start last time is tried again */
    if (!c->proc && start_driver(c, err) < 0)
        return NULL;
    struct cell *cell = calloc(1, sizeof *cell);
    if (!cell)
        return sb_fail(err, SB_E_INTERNAL, "out of memory"), NULL;
    cell->id = ++c->s->next_exec;
    json_t *j = json_pack("{s:I,s:s,s:o,s:b}", "id", (json_int_t)cell->id, "code",
                          req->code ? req->code : "",
                          "env", req->env ? json_incref(req->env) : json_object(), "svg", req->svg);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!text || asprintf(&cell->line, "%s\n", text) < 0) {
        free(text);
        free(cell);
        return sb_fail(err, SB_E_INVALID_ARGUMENT, "code must be valid UTF-8"), NULL;
    }
    free(text);
    cell->ctx = c;
    cell->w = w;
    cell->timeout_ms = req->timeout_ms;
    c->refs++;
    uv_timer_init(c->s->svc->loop, &cell->timer);
    cell->timer.data = cell;
    list_insert_tail(&c->cells, &cell->node);
    session_touch(c->s);
    send_next(c);
    return cell;
}

void session_cell_detach(struct cell *cell)
{
    cell->w = NULL;
}

void session_ctx_interrupt(struct session_ctx *c)
{
    if (c->proc && !list_empty(&c->cells) && ((struct cell *)c->cells.next)->sent)
        sbx_proc_signal(c->proc, SIGINT);
}

/* Ends the cells and the interpreter (no restart follows from its exit). */
static void stop(struct session_ctx *c, const char *why)
{
    while (!list_empty(&c->cells))
        cell_fail((struct cell *)c->cells.next, "ContextRestarted", why);
    if (c->proc) {
        sbx_proc_free(c->proc); /* killed; no callback follows */
        c->proc = NULL;
        ctx_unref(c);
    }
    c->ready = false;
    c->line.len = 0;
}

int session_ctx_restart(struct session_ctx *c, struct sb_error *err)
{
    if (!session_live(c->s)) /* paused: its interpreters start again when it resumes */
        return sb_fail(err, SB_E_CONFLICT, "the sandbox is %s", session_state_name(c->s->state));
    stop(c, "the context was restarted");
    return start_driver(c, err);
}

void session_ctx_delete(struct session_ctx *c)
{
    stop(c, "the context was deleted");
    list_remove(&c->node);
    c->s->nctxs--;
    ctx_unref(c);
}

const char *session_ctx_id(const struct session_ctx *c)
{
    return c->id;
}

const char *session_ctx_language(const struct session_ctx *c)
{
    return c->lang;
}

const char *session_ctx_cwd(const struct session_ctx *c)
{
    return c->cwd;
}

struct session_ctx *session_ctx_adopt(struct session *s, const char *id, const char *lang,
                                      const char *cwd)
{
    if (!id || !lang || !cwd || !template_context_ok(lang) || strlen(id) >= 40 ||
        strlen(cwd) >= 1024 || cwd[0] != '/')
        return NULL;
    struct session_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->s = s;
    c->refs = 1;
    snprintf(c->id, sizeof c->id, "%s", id);
    snprintf(c->lang, sizeof c->lang, "%s", lang);
    snprintf(c->cwd, sizeof c->cwd, "%s", cwd);
    list_init(&c->cells);
    list_insert_tail(&s->ctxs, &c->node);
    s->nctxs++;
    return c;
}

bool session_ctxs_busy(const struct session *s)
{
    for (const struct list_node *l = s->ctxs.next; l != &s->ctxs; l = l->next) {
        const struct session_ctx *c = (const struct session_ctx *)l;
        if (!list_empty(&c->cells))
            return true;
    }
    return false;
}

void session_ctxs_resume(struct session *s)
{
    for (struct list_node *l = s->ctxs.next; l != &s->ctxs; l = l->next) {
        struct session_ctx *c = (struct session_ctx *)l;
        struct sb_error err;
        if (!c->proc && start_driver(c, &err) < 0)
            while (!list_empty(&c->cells))
                cell_fail((struct cell *)c->cells.next, "ContextError", err.msg);
    }
}

json_t *session_ctx_json(const struct session_ctx *c)
{
    return json_pack("{s:s,s:s,s:s}", "id", c->id, "language", c->lang, "cwd", c->cwd);
}

void session_ctxs_free(struct session *s)
{
    while (!list_empty(&s->ctxs)) {
        struct session_ctx *c = (struct session_ctx *)s->ctxs.next;
        session_ctx_delete(c);
    }
}
