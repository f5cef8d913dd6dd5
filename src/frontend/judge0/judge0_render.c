/* Judge0 submissions as clients see them: the 35 fields in their order, `fields=`, base64 (MIME style) or text, number and time formats. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/base64.h"
#include "frontend/judge0/judge0_internal.h"
#include "service/result_json.h"

enum kind { PLAIN, TEXT, MESSAGE, FILES, STATUS, LANGUAGE };

static const struct {
    const char *name;
    enum kind kind;
} fields[J0_NFIELDS] = {
    {"source_code", TEXT}, {"language_id", PLAIN}, {"stdin", TEXT},
    {"expected_output", TEXT}, {"stdout", TEXT}, {"status_id", PLAIN},
    {"created_at", PLAIN}, {"finished_at", PLAIN}, {"time", PLAIN}, {"memory", PLAIN},
    {"stderr", TEXT}, {"token", PLAIN}, {"number_of_runs", PLAIN},
    {"cpu_time_limit", PLAIN}, {"cpu_extra_time", PLAIN}, {"wall_time_limit", PLAIN},
    {"memory_limit", PLAIN}, {"stack_limit", PLAIN}, {"max_processes_and_or_threads", PLAIN},
    {"enable_per_process_and_thread_time_limit", PLAIN},
    {"enable_per_process_and_thread_memory_limit", PLAIN}, {"max_file_size", PLAIN},
    {"compile_output", TEXT}, {"exit_code", PLAIN}, {"exit_signal", PLAIN},
    {"message", MESSAGE}, {"wall_time", PLAIN}, {"compiler_options", PLAIN},
    {"command_line_arguments", PLAIN}, {"redirect_stderr_to_stdout", PLAIN},
    {"callback_url", PLAIN}, {"additional_files", FILES}, {"enable_network", PLAIN},
    {"status", STATUS}, {"language", LANGUAGE},
};

static const char *const statuses[J0_NSTATUS + 1] = {
    "", "In Queue", "Processing", "Accepted", "Wrong Answer", "Time Limit Exceeded",
    "Compilation Error", "Runtime Error (SIGSEGV)", "Runtime Error (SIGXFSZ)",
    "Runtime Error (SIGFPE)", "Runtime Error (SIGABRT)", "Runtime Error (NZEC)",
    "Runtime Error (Other)", "Internal Error", "Exec Format Error",
};

const char *j0_status_name(int id)
{
    return id >= 1 && id <= J0_NSTATUS ? statuses[id] : "";
}

uint64_t j0_default_fields(void)
{
    static const char *const names[] = {"stdout", "time", "memory", "stderr", "token",
                                        "compile_output", "message", "status"};
    uint64_t m = 0;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        for (int f = 0; f < J0_NFIELDS; f++)
            if (!strcmp(fields[f].name, names[i]))
                m |= 1ull << f;
    return m;
}

/* Adds name (len n) to the mask, or to bad[] when unknown. */
static void field_add(const char *name, size_t n, uint64_t *m, struct sb_buf *bad)
{
    if (n == 1 && name[0] == '*') {
        *m |= (1ull << J0_NFIELDS) - 1;
        return;
    }
    for (int f = 0; f < J0_NFIELDS; f++)
        if (strlen(fields[f].name) == n && !strncmp(fields[f].name, name, n)) {
            *m |= 1ull << f;
            return;
        }
    sb_buf_printf(bad, "%s%.*s", bad->len ? ", " : "", (int)n, name);
}

int j0_fields(struct rest_call *rc, json_t *body, uint64_t *mask)
{
    char v[2048];
    *mask = j0_default_fields();
    if (j0_param(rc, body, "fields", v, sizeof v) != 1 || !v[0])
        return 0;
    uint64_t m = 0;
    struct sb_buf bad = {0};
    for (const char *p = v;; p++) {     /* split on ',' only: names are not trimmed */
        size_t n = strcspn(p, ",");
        field_add(p, n, &m, &bad);
        p += n;
        if (!*p)
            break;
    }
    if (bad.len) {
        char msg[2200];
        snprintf(msg, sizeof msg, "invalid fields: [%s]", bad.data);
        sb_buf_free(&bad);
        j0_reply_error(rc, 400, msg);
        return -1;
    }
    *mask = m;
    return 0;
}

json_t *j0_b64_mime(const char *data, size_t len)
{
    char *plain = base64_encode(data, len);
    struct sb_buf b = {0};
    size_t n = plain ? strlen(plain) : 0;
    for (size_t i = 0; i < n; i += 60) {
        sb_buf_append(&b, plain + i, n - i < 60 ? n - i : 60);
        sb_buf_append(&b, "\n", 1);
    }
    free(plain);
    json_t *s = b.oom || !plain ? NULL : json_stringn(b.data ? b.data : "", b.len);
    sb_buf_free(&b);
    return s;
}

void j0_b64_lenient(const char *in, size_t len, struct sb_buf *out)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        const char *p = in[i] ? strchr(alphabet, in[i]) : NULL;
        if (!p)
            continue;
        acc = (acc << 6) | (uint32_t)(p - alphabet);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            char c = (char)((acc >> bits) & 0xff);
            sb_buf_append(out, &c, 1);
        }
    }
}

void j0_seconds(double s, char *buf, size_t len)
{
    snprintf(buf, len, "%.3f", s);
    char *end = buf + strlen(buf) - 1;
    while (end[0] == '0' && end[-1] != '.')
        *end-- = '\0';
}

void j0_timestamp(uint64_t ms, char *buf, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(ms % 1000));
}

/* A text field kept as plain base64 in doc: null, MIME base64, or text;
 * NULL when it is not valid UTF-8 and must be text. */
static json_t *render_text(json_t *v, bool b64)
{
    if (!json_is_string(v))
        return json_null();
    size_t n = 0;
    char *raw = base64_decode(json_string_value(v), json_string_length(v), &n);
    if (!raw)
        return json_null();
    json_t *out = NULL;
    struct sb_buf scratch = {0};
    if (b64)
        out = j0_b64_mime(raw, n);
    else if (!result_utf8(raw, n, &scratch))
        out = json_stringn_nocheck(raw, n);
    sb_buf_free(&scratch);
    free(raw);
    return out;
}

static json_t *render_one(struct service *s, json_t *doc, int f, bool b64)
{
    json_t *v = json_object_get(doc, fields[f].name);
    switch (fields[f].kind) {
    case TEXT:     return render_text(v, b64);
    case FILES:    return render_text(v, true);
    case MESSAGE:
        if (!json_is_string(v))
            return json_null();
        return b64 ? j0_b64_mime(json_string_value(v), json_string_length(v)) : json_copy(v);
    case STATUS: {
        int id = (int)json_integer_value(json_object_get(doc, "status_id"));
        return json_pack("{s:i,s:s}", "id", id, "description", j0_status_name(id));
    }
    case LANGUAGE: {
        int id = (int)json_integer_value(json_object_get(doc, "language_id"));
        const struct j0_lang *jl = j0_lang_find(id);
        char name[128] = "";
        if (jl)
            j0_lang_name(s, jl, name, sizeof name);
        return json_pack("{s:i,s:s}", "id", id, "name", name);
    }
    default:       return v ? json_copy(v) : json_null();
    }
}

json_t *j0_render(struct service *s, json_t *doc, uint64_t mask, bool b64, bool *utf8_error)
{
    json_t *o = json_object();
    *utf8_error = false;
    for (int f = 0; o && f < J0_NFIELDS; f++) {
        if (!(mask & (1ull << f)))
            continue;
        json_t *v = render_one(s, doc, f, b64);
        if (!v) {
            *utf8_error = fields[f].kind == TEXT;
            json_decref(o);
            return NULL;
        }
        json_object_set_new(o, fields[f].name, v);
    }
    return o;
}
