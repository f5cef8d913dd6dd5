/* Pausing and resuming sessions: their files saved by a tar inside the sandbox, the sandbox released, a new one given the files back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "service/service.h"
#include "service/session_ctx.h"
#include "service/session_internal.h"

/* What is saved: the working dir (also /home/user) and /tmp. tar runs
 * inside the sandbox with the program's rights: it archives symlinks as
 * symlinks and can reach nothing the program could not. */
static const char *const SAVE_ARGV[] = {
    "/bin/sh", "-c",
    /* what is in them, not the two directories themselves (a restore must
     * not try to give /tmp, which root owns, its mode back) */
    "cd / && find workspace tmp -mindepth 1 -print0 | "
    "/bin/tar --null --no-recursion -T - --warning=no-file-changed -cf -",
    NULL};
static const char *const RESTORE_ARGV[] = {"/bin/tar", "-C", "/", "--no-overwrite-dir", "-xf",
                                           "-", NULL};

void session_op_done(struct session *s, const struct sb_error *err)
{
    void (*cb)(struct session *, const struct sb_error *, void *) = s->op_cb;
    s->op_cb = NULL;
    if (cb)
        cb(s, err, s->op_arg);
    session_unref(s); /* the operation's */
}

static int start_op(struct session *s, void (*cb)(struct session *, const struct sb_error *,
                                                  void *),
                    void *arg, enum session_state need, const char *what, struct sb_error *err)
{
    if (s->state != need || s->op_cb)
        return sb_fail(err, SB_E_CONFLICT, "the sandbox is %s: it cannot be %s now",
                       session_state_name(s->state), what);
    s->op_cb = cb;
    s->op_arg = arg;
    session_ref(s);
    return 0;
}

static struct sbx_limits tar_limits(const struct session *s)
{
    return (struct sbx_limits){
        .output_bytes = s->lim.disk_kb * 1024 + (1u << 20), .file_size_kb = s->lim.disk_kb,
        /* the uid's process count includes what runs in the session (node's threads) */
        .open_files = 256, .processes = s->lim.processes, .stack_kb = 8192,
    };
}

/* ---- pause ---- */

static void saved(struct sbx_proc *p, void *arg)
{
    struct session *s = arg;
    struct sbx_result *r = sbx_proc_result_mut(p);
    struct sb_error err = {0};
    s->op_proc = NULL;
    if (s->state != SESSION_PAUSING) { /* it was deleted (or timed out) meanwhile */
        sbx_proc_free(p);
        sb_fail(&err, SB_E_CONFLICT, "the sandbox ended while it was being paused");
        session_op_done(s, &err);
        return;
    }
    /* tar exits 1 when a file changed while it read: the archive is whole */
    if (r->failed || !r->exited || r->term_signal || r->exit_code > 1 || r->output_exceeded)
        sb_fail(&err, SB_E_INTERNAL, "saving the sandbox's files failed: %s%.200s",
                r->failed ? r->error.msg : "tar: ", r->failed ? "" : r->err.data ? r->err.data
                                                                                 : "");
    else
        session_snapshot_write(s, r->out.data ? r->out.data : "", r->out.len, &err);
    sbx_proc_free(p);
    if (err.code != SB_E_OK) {
        s->state = SESSION_RUNNING;
        session_arm(s);
        session_op_done(s, &err);
        return;
    }
    /* the files are safe: the sandbox goes (on_ended -> session_pause_sandbox_gone) */
    sbx_destroy(s->sbx);
}

int session_pause(struct session *s, void (*cb)(struct session *, const struct sb_error *, void *),
                  void *arg, struct sb_error *err)
{
    if (start_op(s, cb, arg, SESSION_RUNNING, "paused", err) < 0)
        return -1;
    uint64_t now = util_now_ms();
    s->ttl_left_ms = s->ends_ms > now ? s->ends_ms - now : 1000;
    s->state = SESSION_PAUSING;
    uv_timer_stop(&s->timer);
    struct sbx_exec x = {
        .argv = SAVE_ARGV, .argc = 3, .env = (const char *const *)s->env, .envc = s->nenv,
        .cwd = "/", .limits = tar_limits(s),
    };
    static const struct sbx_proc_callbacks pcb = {NULL, NULL, NULL, saved};
    s->op_proc = sbx_exec(s->sbx, &x, &pcb, s, err);
    if (!s->op_proc) {
        s->state = SESSION_RUNNING;
        session_arm(s);
        s->op_cb = NULL;
        session_unref(s);
        return -1;
    }
    return 0;
}

void session_pause_sandbox_gone(struct session *s)
{
    s->state = SESSION_PAUSED;
    s->paused_ms = util_now_ms();
    session_save(s);
    session_audit(s, "session_paused", NULL);
    log_event(LOG_INFO, "session paused", json_pack("{s:s}", "id", s->id));
    session_op_done(s, NULL);
    service_check_drained(s->svc);
}

/* ---- resume ---- */

static void restored(struct sbx_proc *p, void *arg)
{
    struct session *s = arg;
    const struct sbx_result *r = sbx_proc_result(p);
    s->op_proc = NULL;
    if (s->state != SESSION_RESUMING) { /* deleted meanwhile */
        struct sb_error err;
        sbx_proc_free(p);
        sb_fail(&err, SB_E_CONFLICT, "the sandbox ended while it was being resumed");
        session_op_done(s, &err);
        return;
    }
    /* tar's exit 2 means some file could not be put back as it was (its
     * message says which): the others are, and the session goes on */
    bool ok = !r->failed && r->exited && !r->term_signal && r->exit_code <= 2;
    char why[300];
    snprintf(why, sizeof why, "restoring the sandbox's files failed: %.200s",
             r->failed ? r->error.msg : r->err.data ? r->err.data : "tar");
    char warn[300] = "";
    if (ok && r->exit_code)
        snprintf(warn, sizeof warn, "%.250s", r->err.data ? r->err.data : "");
    sbx_proc_free(p);
    if (!ok) {
        struct sb_error err;
        sb_fail(&err, SB_E_INTERNAL, "%s", why);
        session_op_done(s, &err);
        session_kill(s, why);
        return;
    }
    s->state = SESSION_RUNNING;
    s->ends_ms = util_now_ms() + s->ttl_left_ms;
    session_touch(s);
    session_arm(s);
    session_ctxs_resume(s);
    session_save(s);
    session_snapshot_drop(s);
    session_audit(s, "session_resumed", warn[0] ? warn : NULL);
    session_op_done(s, NULL);
}

void session_resume_ready(struct session *s)
{
    char *tar = NULL;
    size_t len = 0;
    struct sb_error err;
    if (session_snapshot_read(s, &tar, &len, &err) < 0) {
        session_op_done(s, &err);
        session_kill(s, err.msg);
        return;
    }
    struct sbx_exec x = {
        .argv = RESTORE_ARGV, .argc = 6, .env = (const char *const *)s->env, .envc = s->nenv,
        .cwd = "/", .limits = tar_limits(s), .stdin_data = tar, .stdin_len = len,
    };
    static const struct sbx_proc_callbacks pcb = {NULL, NULL, NULL, restored};
    s->op_proc = sbx_exec(s->sbx, &x, &pcb, s, &err);
    free(tar);
    if (!s->op_proc) {
        session_op_done(s, &err);
        session_kill(s, err.msg);
    }
}

int session_resume(struct session *s,
                   void (*cb)(struct session *, const struct sb_error *, void *), void *arg,
                   struct sb_error *err)
{
    if (start_op(s, cb, arg, SESSION_PAUSED, "resumed", err) < 0)
        return -1;
    s->state = SESSION_RESUMING;
    if (session_start_sandbox(s, err) < 0) {
        s->state = SESSION_PAUSED;
        s->op_cb = NULL;
        session_unref(s);
        return -1;
    }
    return 0;
}
