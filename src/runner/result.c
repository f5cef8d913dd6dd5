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

static void msg(struct stage_result *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void msg(struct stage_result *st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->message, sizeof st->message, fmt, ap);
    va_end(ap);
}

void stage_classify(struct stage_result *st, struct sbx_result *r, const struct sbx_limits *lim)
{
    memset(st, 0, sizeof *st);
    st->exited = r->exited;
    st->exit_code = r->exit_code;
    st->signal = r->term_signal;
    st->wall_ms = r->wall_ns / 1000000u;
    st->cpu_ms = r->cpu_ns / 1000000u;
    st->memory_kb = r->memory_peak / 1024;
    st->truncated = r->truncated;
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
    bool clean_exit = r->exited && !r->term_signal && r->exit_code == 0;
    if (r->seccomp_nr >= 0) {
        st->status = SB_ST_RUNTIME_ERROR;
        st->signal = SIGSYS;
        st->exited = false;
        msg(st, "killed by seccomp: forbidden system call %s", r->seccomp_name);
    } else if (r->output_exceeded) {
        st->status = SB_ST_OUTPUT_LIMIT;
        msg(st, "output limit of %llu bytes exceeded", (unsigned long long)lim->output_bytes);
    } else if (r->oom_killed && !clean_exit) {
        st->status = SB_ST_MEMORY_LIMIT;
        msg(st, "memory limit of %llu KB exceeded", (unsigned long long)lim->memory_kb);
    } else if (r->cpu_exceeded || r->term_signal == SIGXCPU) {
        st->status = SB_ST_TIME_LIMIT;
        msg(st, "CPU time limit of %llu ms exceeded", (unsigned long long)lim->cpu_ms);
    } else if (r->wall_exceeded) {
        st->status = SB_ST_TIME_LIMIT;
        msg(st, "wall time limit of %llu ms exceeded", (unsigned long long)lim->wall_ms);
    } else if (r->killed_on_request && (!r->exited || r->term_signal == SIGKILL)) {
        st->status = SB_ST_RUNTIME_ERROR;
        st->signal = SIGKILL;
        msg(st, "killed on request");
    } else if (r->term_signal == SIGXFSZ) {
        st->status = SB_ST_RUNTIME_ERROR;
        msg(st, "file size limit of %llu KB exceeded (SIGXFSZ)",
            (unsigned long long)lim->file_size_kb);
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

/* Length of the valid UTF-8 sequence at s (max n bytes), or 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    uint32_t cp;
    if ((c & 0xe0) == 0xc0)
        len = 2, cp = c & 0x1f;
    else if ((c & 0xf0) == 0xe0)
        len = 3, cp = c & 0x0f;
    else if ((c & 0xf8) == 0xf0)
        len = 4, cp = c & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

json_t *json_bytes(const char *data, size_t len, bool *lossy)
{
    const unsigned char *s = (const unsigned char *)(data ? data : "");
    struct sb_buf b = {0};
    size_t i = 0, clean_upto = 0;
    bool bad = false;
    while (i < len) {
        size_t n = utf8_seq(s + i, len - i);
        if (n) {
            i += n;
            continue;
        }
        bad = true;
        sb_buf_append(&b, s + clean_upto, i - clean_upto);
        sb_buf_append(&b, "\xef\xbf\xbd", 3);
        i++;
        clean_upto = i;
    }
    if (lossy)
        *lossy = bad;
    if (!bad)
        return json_stringn((const char *)s, len);
    sb_buf_append(&b, s + clean_upto, len - clean_upto);
    json_t *j = b.oom ? NULL : json_stringn(b.data, b.len);
    sb_buf_free(&b);
    return j;
}

static void set_new(json_t *obj, const char *key, json_t *v)
{
    if (v)
        json_object_set_new(obj, key, v);
}

void stage_to_json(const struct stage_result *st, json_t *obj)
{
    /* The brief's field order: stdout, stderr, exit_code, execution_time, ... */
    char t[32];
    set_new(obj, "stdout", json_bytes(st->out.data, st->out.len, NULL));
    set_new(obj, "stderr", json_bytes(st->err.data, st->err.len, NULL));
    set_new(obj, "exit_code", st->exited && !st->signal ? json_integer(st->exit_code) : json_null());
    snprintf(t, sizeof t, "%llums", (unsigned long long)st->wall_ms);
    set_new(obj, "execution_time", json_string(t));
    set_new(obj, "status", json_string(sb_status_name(st->status)));
    set_new(obj, "signal", st->signal ? json_integer(st->signal) : json_null());
    set_new(obj, "wall_time_ms", json_integer((json_int_t)st->wall_ms));
    set_new(obj, "cpu_time_ms", json_integer((json_int_t)st->cpu_ms));
    set_new(obj, "memory_kb", json_integer((json_int_t)st->memory_kb));
    set_new(obj, "truncated", json_boolean(st->truncated));
    if (st->message[0])
        set_new(obj, "message", json_string(st->message));
}
