/* Results as JSON: the result object of every API (REST, WebSocket and SSE events, the CLI). */
#include "service/result_json.h"

#include <stdio.h>
#include <string.h>

#include "common/base64.h"
#include "common/buf.h"
#include "common/util.h"

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

bool result_utf8(const char *data, size_t len, struct sb_buf *out)
{
    const unsigned char *s = (const unsigned char *)(data ? data : "");
    size_t i = 0, clean_upto = 0;
    bool bad = false;
    while (i < len) {
        size_t n = utf8_seq(s + i, len - i);
        if (n) {
            i += n;
            continue;
        }
        bad = true;
        sb_buf_append(out, s + clean_upto, i - clean_upto);
        sb_buf_append(out, "\xef\xbf\xbd", 3);
        i++;
        clean_upto = i;
    }
    if (bad)
        sb_buf_append(out, s + clean_upto, len - clean_upto);
    return bad;
}

json_t *result_json_bytes(const char *data, size_t len, bool *lossy)
{
    struct sb_buf b = {0};
    bool bad = result_utf8(data, len, &b);
    if (lossy)
        *lossy = bad;
    json_t *j = !bad ? json_stringn(data ? data : "", len)
              : b.oom ? NULL : json_stringn(b.data, b.len);
    sb_buf_free(&b);
    return j;
}

static void set_new(json_t *obj, const char *key, json_t *v)
{
    if (v)
        json_object_set_new(obj, key, v);
}

void result_json_stage(const struct stage_result *st, json_t *obj)
{
    /* The brief's field order: stdout, stderr, exit_code, execution_time, ... */
    char t[32];
    set_new(obj, "stdout", result_json_bytes(st->out.data, st->out.len, NULL));
    set_new(obj, "stderr", result_json_bytes(st->err.data, st->err.len, NULL));
    set_new(obj, "exit_code", st->exited && !st->signal ? json_integer(st->exit_code) : json_null());
    snprintf(t, sizeof t, "%llums", (unsigned long long)st->wall_ms);
    set_new(obj, "execution_time", json_string(t));
    set_new(obj, "status", json_string(sb_status_name(st->status)));
    set_new(obj, "signal", st->signal ? json_integer(st->signal) : json_null());
    set_new(obj, "wall_time_ms", json_integer((json_int_t)st->wall_ms));
    set_new(obj, "cpu_time_ms", json_integer((json_int_t)st->cpu_ms));
    set_new(obj, "memory_kb", json_integer((json_int_t)st->memory_kb));
    set_new(obj, "truncated", json_boolean(st->truncated));
    if (st->net_enabled)
        set_new(obj, "network", json_pack("{s:I,s:I,s:I,s:I}",
                                          "bytes_sent", (json_int_t)st->net.bytes_sent,
                                          "bytes_received", (json_int_t)st->net.bytes_received,
                                          "connections", (json_int_t)st->net.connections,
                                          "connections_refused", (json_int_t)st->net.refused));
    if (st->message[0])
        set_new(obj, "message", json_string(st->message));
}

static void compile_json(const struct job_result *r, json_t *o)
{
    json_t *c = json_object();
    if (!c)
        return;
    result_json_stage(&r->compile, c);
    struct sb_buf both = {0};
    sb_buf_append(&both, r->compile.out.data, r->compile.out.len);
    sb_buf_append(&both, r->compile.err.data, r->compile.err.len);
    set_new(o, "compile_output", result_json_bytes(both.data, both.len, NULL));
    sb_buf_free(&both);
    set_new(o, "compile_cached", json_boolean(r->compile_cached));
    json_object_set_new(o, "compile", c);
}

static void cases_json(const struct job_result *r, json_t *o)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < r->ncases; i++) {
        const struct case_result *c = &r->cases[i];
        json_t *cj = json_object();
        if (!cj)
            continue;
        set_new(cj, "index", json_integer((json_int_t)i));
        set_new(cj, "verdict", json_string(case_verdict(c)));
        result_json_stage(&c->run, cj);
        set_new(cj, "warm", json_boolean(c->run.warm));
        json_array_append_new(arr, cj);
    }
    struct case_summary sum;
    case_summarize(r, &sum);
    set_new(o, "test_cases", arr);
    set_new(o, "summary", json_pack("{s:i,s:i,s:s}", "total", (int)sum.total,
                                    "accepted", (int)sum.accepted, "verdict", sum.verdict));
}

json_t *result_json(const struct job_result *r)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    if (r->failed || r->note[0] || !r->ran) {
        struct stage_result st;
        result_empty_stage(r, &st);
        result_json_stage(&st, o);
    } else if (r->ncases) {
        set_new(o, "status", json_string(sb_status_name(r->status)));
        cases_json(r, o);
    } else {
        result_json_stage(&r->run, o);
        set_new(o, "warm", json_boolean(r->run.warm));
    }
    if (r->has_compile && !r->failed)
        compile_json(r, o);
    if (r->nfiles || r->files_truncated) {
        json_t *arr = json_array();
        for (size_t i = 0; arr && i < r->nfiles; i++) {
            char *b64 = base64_encode(r->files[i].data, r->files[i].len);
            json_array_append_new(arr, json_pack("{s:s,s:I,s:s}", "name", r->files[i].name,
                                                 "size", (json_int_t)r->files[i].len,
                                                 "content", b64 ? b64 : ""));
            free(b64);
        }
        set_new(o, "files", arr);
        set_new(o, "files_truncated", json_boolean(r->files_truncated));
    }
    return o;
}

static void set_time(json_t *o, const char *key, uint64_t ms)
{
    char buf[40];
    if (!ms)
        return;
    util_iso_time(ms, buf, sizeof buf);
    set_new(o, key, json_string(buf));
}

json_t *result_json_execution(const struct exec_row *row)
{
    json_t *o = row->has_result ? result_json(&row->result) : json_object();
    if (!o)
        return NULL;
    set_new(o, "id", json_string(row->id));
    if (!row->has_result)
        set_new(o, "status", json_string(row->state));
    set_new(o, "language", json_string(row->language));
    set_new(o, "mode", json_string(row->mode));
    set_time(o, "created_at", row->created_ms);
    set_time(o, "started_at", row->started_ms);
    set_time(o, "finished_at", row->finished_ms);
    if (row->callback_url)
        set_new(o, "callback", json_pack("{s:s,s:s,s:i}", "url", row->callback_url, "state",
                                         row->callback_state, "attempts",
                                         row->callback_attempts));
    return o;
}

json_t *result_json_list(const struct exec_row *rows, size_t n, uint64_t next_cursor)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        json_t *e = result_json_execution(&rows[i]);
        if (e)
            json_array_append_new(arr, e);
    }
    char cur[32];
    snprintf(cur, sizeof cur, "%llu", (unsigned long long)next_cursor);
    return json_pack("{s:o,s:o}", "executions", arr ? arr : json_array(), "next_cursor",
                     next_cursor ? json_string(cur) : json_null());
}
