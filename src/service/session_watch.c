/* Directory watches: a watcher process in the session (drivers/watch.py, inotify) whose JSON lines become events. */
#include "service/session_watch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/service.h"

extern const char sb_driver_watch[];

#define LINE_MAX_BYTES (1u << 20)

struct session_watch {
    struct session *s;
    struct sbx_proc *proc;
    struct watch_watcher *w;     /* NULL once stopped */
    struct sb_buf line;
    bool ended;
};

static void watch_free(struct session_watch *sw)
{
    sb_buf_free(&sw->line);
    session_unref(sw->s);
    free(sw);
}

static void end(struct session_watch *sw, const char *why)
{
    struct watch_watcher *w = sw->w;
    sw->w = NULL;
    if (w && !sw->ended) {
        sw->ended = true;
        w->end(w, why);
    }
}

static bool on_line(void *arg, const char *text, size_t len)
{
    struct session_watch *sw = arg;
    json_t *ev = json_loadb(text, len, 0, NULL);
    const char *type = json_string_value(json_object_get(ev, "type"));
    const char *path = json_string_value(json_object_get(ev, "path"));
    if (!type || !sw->w) {
    } else if (!strcmp(type, "ready")) {
        sw->w->ready(sw->w);
    } else if (!strcmp(type, "error")) {
        char why[300];
        snprintf(why, sizeof why, "%s",
                 json_string_value(json_object_get(ev, "message")) ?: "the watch failed");
        end(sw, why);
    } else if (!strcmp(type, "overflow")) {
        end(sw, "too many changes at once: events were lost (watch again)");
    } else if (path) {
        sw->w->event(sw->w, type, path, json_is_true(json_object_get(ev, "dir")));
    }
    json_decref(ev);
    return true;
}

static void on_output(struct sbx_proc *p, int stream, const char *data, size_t len, void *arg)
{
    struct session_watch *sw = arg;
    if (stream != 1)
        return;
    sb_buf_append(&sw->line, data, len);
    sb_buf_lines(&sw->line, on_line, sw);
    if (sw->line.len > LINE_MAX_BYTES)
        sbx_proc_kill(p);
}

static void on_exited(struct sbx_proc *p, void *arg)
{
    struct session_watch *sw = arg;
    const struct sbx_result *r = sbx_proc_result(p);
    const char *why = sbx_result_cause(r) == SBX_CAUSE_CANCELLED ? "the session ended"
                    : r->failed ? r->error.msg : "the watched directory is gone";
    char msg[300];
    snprintf(msg, sizeof msg, "%s", why);
    sbx_proc_free(p);
    sw->proc = NULL;
    end(sw, msg);
    watch_free(sw);
}

struct session_watch *session_watch_start(struct session *s, const char *path, bool recursive,
                                          struct watch_watcher *w, struct sb_error *err)
{
    if (!session_live(s))
        return sb_fail(err, SB_E_CONFLICT, "the sandbox is %s", session_state_name(s->state)),
               NULL;
    struct session_watch *sw = calloc(1, sizeof *sw);
    if (!sw)
        return sb_fail(err, SB_E_INTERNAL, "out of memory"), NULL;
    const char *argv[] = {"/usr/bin/python3", "-c", sb_driver_watch, path, recursive ? "1" : "0",
                          NULL};
    const struct sb_config *cfg = s->svc->cfg;
    struct sbx_exec x = {
        .argv = argv, .argc = 5, .env = (const char *const *)s->env, .envc = s->nenv,
        .cwd = "/",
        .limits = {.output_bytes = 1ull << 40, .file_size_kb = 1, .open_files = 64,
                   .processes = s->lim.processes, .stack_kb = cfg->defaults.stack_kb},
    };
    static const struct sbx_proc_callbacks cb = {NULL, on_output, NULL, on_exited};
    sw->s = s;
    sw->w = w;
    session_ref(s);
    sw->proc = sbx_exec(s->sbx, &x, &cb, sw, err);
    if (!sw->proc) {
        session_unref(s);
        free(sw);
        return NULL;
    }
    session_touch(s);
    return sw;
}

void session_watch_stop(struct session_watch *sw)
{
    sw->w = NULL;
    if (sw->proc)
        sbx_proc_kill(sw->proc); /* on_exited frees it */
}
