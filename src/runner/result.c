/* Verdict classification and result JSON. */
#include "runner/result.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const status_names[] = {
#define SB_X(name, wire) [SB_ST_##name] = wire,
    SB_STATUS_MAP(SB_X)
#undef SB_X
};

const char *sb_status_name(enum sb_status s)
{
    return (unsigned)s < SB_ST__COUNT ? status_names[s] : "internal_error";
}

int sb_status_from_name(const char *name)
{
    for (int i = 0; name && i < SB_ST__COUNT; i++)
        if (!strcmp(status_names[i], name))
            return i;
    return -1;
}

static void msg(struct stage_result *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void msg(struct stage_result *st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->message, sizeof st->message, fmt, ap);
    va_end(ap);
}

static void copy_measurements(struct stage_result *st, struct sbx_result *r)
{
    st->exited = r->exited;
    st->exit_code = r->exit_code;
    st->signal = r->term_signal;
    st->wall_ms = r->wall_ns / 1000000u;
    st->cpu_ms = r->cpu_ns / 1000000u;
    st->memory_kb = r->memory_peak / 1024;
    st->truncated = r->truncated;
    st->net_enabled = r->net_enabled;
    st->net = r->net;
    st->t_start = r->t.start;
    st->t_spawned = r->t.spawned;
    st->t_attached = r->t.attached;
    st->t_ready = r->t.ready;
    st->t_started = r->t.started;
    st->t_exited = r->t.exited;
    st->t_reaped = r->t.reaped;
    st->t_finished = r->t.finished;
    st->out = r->out;
    st->err = r->err;
    memset(&r->out, 0, sizeof r->out);
    memset(&r->err, 0, sizeof r->err);
}

/* The verdict and message of a run that did not end on its own. */
static void by_cause(struct stage_result *st, const struct sbx_result *r,
                     const struct sbx_limits *lim)
{
    switch (st->cause) {
    case SBX_CAUSE_SECCOMP:
        st->status = SB_ST_RUNTIME_ERROR;
        st->signal = SIGSYS;
        st->exited = false;
        snprintf(st->seccomp_call, sizeof st->seccomp_call, "%s", r->seccomp_name);
        msg(st, "killed by seccomp: forbidden system call %s", r->seccomp_name);
        break;
    case SBX_CAUSE_OUTPUT:
        st->status = SB_ST_OUTPUT_LIMIT;
        msg(st, "output limit of %llu bytes exceeded", (unsigned long long)lim->output_bytes);
        break;
    case SBX_CAUSE_MEMORY:
        st->status = SB_ST_MEMORY_LIMIT;
        msg(st, "memory limit of %llu KB exceeded", (unsigned long long)lim->memory_kb);
        break;
    case SBX_CAUSE_CPU:
        st->status = SB_ST_TIME_LIMIT;
        msg(st, "CPU time limit of %llu ms exceeded", (unsigned long long)lim->cpu_ms);
        break;
    case SBX_CAUSE_WALL:
        st->status = SB_ST_TIME_LIMIT;
        msg(st, "wall time limit of %llu ms exceeded", (unsigned long long)lim->wall_ms);
        break;
    case SBX_CAUSE_KILLED:
        st->status = SB_ST_RUNTIME_ERROR;
        st->signal = SIGKILL;
        msg(st, "killed on request");
        break;
    case SBX_CAUSE_FILE_SIZE:
        st->status = SB_ST_RUNTIME_ERROR;
        msg(st, "file size limit of %llu KB exceeded (SIGXFSZ)",
            (unsigned long long)lim->file_size_kb);
        break;
    default:
        break;
    }
}

void stage_classify(struct stage_result *st, struct sbx_result *r, const struct sbx_limits *lim)
{
    memset(st, 0, sizeof *st);
    copy_measurements(st, r);
    st->cause = sbx_result_cause(r);
    if (st->cause == SBX_CAUSE_CANCELLED)
        st->cause = SBX_CAUSE_NONE; /* the caller reports a cancellation itself */
    by_cause(st, r, lim);
    if (st->cause != SBX_CAUSE_NONE) {
        /* set by by_cause */
    } else if (r->term_signal) {
        st->status = SB_ST_RUNTIME_ERROR;
        msg(st, "killed by signal %d (%s)", r->term_signal, sigabbrev_np(r->term_signal)
                                                              ? sigabbrev_np(r->term_signal) : "?");
    } else if (r->exit_code != 0) {
        st->status = SB_ST_RUNTIME_ERROR;
        msg(st, "exited with code %d", r->exit_code);
    } else {
        st->status = SB_ST_OK;
    }
    if (st->status != SB_ST_OK && st->status != SB_ST_RUNTIME_ERROR && !r->exited)
        st->signal = r->term_signal ? r->term_signal : SIGKILL;
}

void stage_free(struct stage_result *st)
{
    sb_buf_free(&st->out);
    sb_buf_free(&st->err);
}

int stage_copy(struct stage_result *dst, const struct stage_result *src)
{
    *dst = *src;
    memset(&dst->out, 0, sizeof dst->out);
    memset(&dst->err, 0, sizeof dst->err);
    sb_buf_append(&dst->out, src->out.data, src->out.len);
    sb_buf_append(&dst->err, src->err.data, src->err.len);
    if (dst->out.oom || dst->err.oom) {
        stage_free(dst);
        return -1;
    }
    return 0;
}

void job_result_free(struct job_result *r)
{
    if (r->has_compile)
        stage_free(&r->compile);
    if (r->ran)
        stage_free(&r->run);
    for (size_t i = 0; i < r->ncases; i++)
        stage_free(&r->cases[i].run);
    free(r->cases);
    r->cases = NULL;
    r->ncases = 0;
    sbx_collected_free(r->files, r->nfiles);
    r->files = NULL;
    r->nfiles = 0;
}

int job_result_copy(struct job_result *dst, const struct job_result *src)
{
    *dst = *src;
    dst->cases = NULL;
    dst->ncases = 0;
    dst->files = NULL;
    dst->nfiles = 0;
    dst->has_compile = dst->ran = false;
    if (src->nfiles && !(dst->files = calloc(src->nfiles, sizeof *dst->files)))
        goto oom;
    for (; dst->nfiles < src->nfiles; dst->nfiles++) {
        struct sbx_collected *d = &dst->files[dst->nfiles];
        const struct sbx_collected *f = &src->files[dst->nfiles];
        d->len = f->len;
        d->name = strdup(f->name);
        d->data = malloc(f->len + 1);
        if (!d->name || !d->data) {
            free(d->name);
            free(d->data);
            goto oom;
        }
        memcpy(d->data, f->data, f->len);
    }
    if (src->has_compile && stage_copy(&dst->compile, &src->compile) < 0)
        goto oom;
    dst->has_compile = src->has_compile;
    if (src->ran && stage_copy(&dst->run, &src->run) < 0)
        goto oom;
    dst->ran = src->ran;
    if (src->ncases && !(dst->cases = calloc(src->ncases, sizeof *dst->cases)))
        goto oom;
    for (; dst->ncases < src->ncases; dst->ncases++) {
        dst->cases[dst->ncases] = src->cases[dst->ncases];
        if (stage_copy(&dst->cases[dst->ncases].run, &src->cases[dst->ncases].run) < 0)
            goto oom;
    }
    return 0;
oom:
    job_result_free(dst);
    return -1;
}

void job_result_note(struct job_result *r, const char *why)
{
    r->status = SB_ST_INTERNAL_ERROR;
    snprintf(r->note, sizeof r->note, "%s", why);
}

const char *case_verdict(const struct case_result *c)
{
    if (c->run.status != SB_ST_OK)
        return sb_status_name(c->run.status);
    if (!c->judged)
        return "ok";
    return c->accepted ? "accepted" : "wrong_answer";
}

void case_summarize(const struct job_result *r, struct case_summary *out)
{
    *out = (struct case_summary){r->ncases, 0, "accepted"};
    for (size_t i = 0; i < r->ncases; i++) {
        const char *v = case_verdict(&r->cases[i]);
        if (!strcmp(v, "accepted"))
            out->accepted++;
        else if (!strcmp(out->verdict, "accepted"))
            out->verdict = v;
    }
}

void result_empty_stage(const struct job_result *r, struct stage_result *out)
{
    memset(out, 0, sizeof *out);
    out->status = r->failed ? SB_ST_INTERNAL_ERROR : r->status;
    const char *why = r->failed ? r->error.msg : r->note[0] ? r->note
                    : r->has_compile ? r->compile.message : "";
    snprintf(out->message, sizeof out->message, "%s", why);
}

/* ---- judging ---- */


/* Lines without trailing spaces, tabs and CRs; trailing empty lines dropped. */
static size_t next_line(const char *s, size_t len, size_t *pos, size_t *end)
{
    size_t start = *pos;
    size_t nl = start;
    while (nl < len && s[nl] != '\n')
        nl++;
    size_t e = nl;
    while (e > start && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r'))
        e--;
    *end = e;
    *pos = nl < len ? nl + 1 : len;
    return start;
}

static size_t content_end(const char *s, size_t len)
{
    /* Length without trailing whitespace-only lines. */
    size_t e = len;
    while (e > 0 && (s[e - 1] == '\n' || s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r'))
        e--;
    return e;
}

bool output_matches(const char *got, size_t got_len, const char *want, size_t want_len)
{
    got_len = content_end(got ? got : "", got_len);
    want_len = content_end(want ? want : "", want_len);
    size_t gp = 0, wp = 0;
    while (gp < got_len || wp < want_len) {
        if (gp >= got_len || wp >= want_len)
            return false;
        size_t ge, we;
        size_t gs = next_line(got, got_len, &gp, &ge);
        size_t ws = next_line(want, want_len, &wp, &we);
        if (ge - gs != we - ws || memcmp(got + gs, want + ws, ge - gs))
            return false;
    }
    return true;
}
