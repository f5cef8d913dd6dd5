/* Judge0 submissions as SoulBox executions: the native request built from the document, and the result mapped back (status ids, messages, figures). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base64.h"
#include "common/util.h"
#include "frontend/judge0/judge0_internal.h"
#include "frontend/request.h"
#include "service/service.h"

/* A text field of doc as bytes (NULL when null; free it). */
static char *doc_bytes(json_t *doc, const char *name, size_t *len)
{
    json_t *v = json_object_get(doc, name);
    *len = 0;
    return json_is_string(v) ? base64_decode(json_string_value(v), json_string_length(v), len)
                             : NULL;
}

static bool was_set(json_t *doc, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(doc, "_set"), i, v)
        if (!strcmp(json_string_value(v), name))
            return true;
    return false;
}

static uint64_t clamp(uint64_t v, uint64_t max)
{
    return max && v > max ? max : v;
}

static double seconds_of(json_t *doc, const char *name)
{
    const char *v = json_string_value(json_object_get(doc, name));
    return v ? atof(v) : 0;
}

/* Judge0's limits in SoulBox's units; memory, processes, stack and file size
 * only when the submission names them (else the language's own defaults).
 * The CPU limit is killed at after cpu_extra_time more, as isolate does
 * (run_fields still says TLE past the limit itself). */
static json_t *native_limits(const struct service *s, json_t *doc)
{
    const struct sb_limits *max = &s->cfg->maximums;
    double cpu = seconds_of(doc, "cpu_time_limit") + seconds_of(doc, "cpu_extra_time");
    double wall = seconds_of(doc, "wall_time_limit");
    json_t *l = json_pack("{s:I,s:I}",
        "cpu_time_ms", (json_int_t)clamp((uint64_t)llround(cpu * 1000), max->cpu_time_ms),
        "wall_time_ms", (json_int_t)clamp((uint64_t)(wall * 1000), max->wall_time_ms));
    json_int_t mem = json_integer_value(json_object_get(doc, "memory_limit"));
    if (was_set(doc, "memory_limit"))
        json_object_set_new(l, "memory_mb", json_integer((json_int_t)clamp(
            (uint64_t)(mem + 1023) / 1024 < 8 ? 8 : (uint64_t)(mem + 1023) / 1024, max->memory_mb)));
    if (was_set(doc, "max_processes_and_or_threads"))
        json_object_set_new(l, "processes", json_integer((json_int_t)clamp(
            (uint64_t)json_integer_value(json_object_get(doc, "max_processes_and_or_threads")),
            max->processes)));
    json_int_t stack = json_integer_value(json_object_get(doc, "stack_limit"));
    if (was_set(doc, "stack_limit"))
        json_object_set_new(l, "stack_kb", json_integer((json_int_t)clamp(
            stack < 64 ? 64 : (uint64_t)stack, max->stack_kb)));
    if (was_set(doc, "max_file_size"))
        json_object_set_new(l, "file_size_kb", json_integer((json_int_t)clamp(
            (uint64_t)json_integer_value(json_object_get(doc, "max_file_size")),
            max->file_size_kb)));
    return l;
}

/* command_line_arguments split like bash would (whitespace; quotes group). */
static json_t *split_args(const char *s)
{
    json_t *a = json_array();
    struct sb_buf w = {0};
    char quote = 0;
    bool in_word = false;
    for (; s && *s; s++) {
        if (quote ? *s == quote : (*s == '"' || *s == '\'')) {
            quote = quote ? 0 : *s;
            in_word = true;
        } else if (!quote && strchr(" \t\n", *s)) {
            if (in_word)
                json_array_append_new(a, json_stringn(w.data ? w.data : "", w.len));
            sb_buf_reset(&w);
            in_word = false;
        } else if (quote || !strchr("$&;<>|`", *s)) {
            sb_buf_append(&w, s, 1);
            in_word = true;
        }
    }
    if (in_word)
        json_array_append_new(a, json_stringn(w.data ? w.data : "", w.len));
    sb_buf_free(&w);
    return a;
}

int j0_unzip(struct service *s, const void *zip, size_t len, struct zip_list *out,
             const char **why)
{
    return zip_read(zip ? zip : "", len, s->cfg->server.max_files - 2,
                    (size_t)J0_MAX_EXTRACT_KB * 1024, out, why);
}

/* {"name", "content" (base64), "encoding": "base64"}: any bytes. */
static json_t *file_json(const char *name, const void *data, size_t len)
{
    char *enc = base64_encode(data, len);
    json_t *f = enc ? json_pack("{s:s,s:s,s:s}", "name", name, "content", enc, "encoding",
                                "base64") : NULL;
    free(enc);
    return f;
}

/* What the emulated languages run, as bash (the entry file). */
#define J0_DRIVER "judge0-run.sh"
#define J0_COMPILE_OUT "judge0-compile-output"
#define J0_COMPILE_STATUS "judge0-compile-status"
static const char *const drivers[] = {
    [J0_K_TEXT] = "exec /bin/cat text.txt \"$@\"\n",
    [J0_K_BINARY] = "chmod +x a.out && exec ./a.out \"$@\"\n",
    /* its compile script (if any; output and status kept for the result),
     * then its run script, as is (no arguments) */
    [J0_K_SQL] = "exec sqlite3 db.sqlite < script.sql\n",
    [J0_K_MULTI] = "if [ -f compile ]; then\n"
                   "    /bin/bash compile > " J0_COMPILE_OUT " 2>&1 < /dev/null\n"
                   "    echo $? > " J0_COMPILE_STATUS "\n"
                   "    [ \"$(cat " J0_COMPILE_STATUS ")\" = 0 ] || exit 0\n"
                   "fi\n"
                   "exec /bin/bash run\n",
};

/* The request's files: the source under Judge0's name (after the emulated
 * languages' driver), then additional_files beside it, never over it. */
static json_t *native_files(struct service *s, const struct j0_lang *jl, const struct lang *l,
                            json_t *doc, struct sb_error *err)
{
    json_t *files = json_array();
    const char *name = jl->source_file ? jl->source_file : l->source;
    if (jl->kind != J0_K_LANGUAGE)
        json_array_append_new(files, file_json(J0_DRIVER, drivers[jl->kind],
                                               strlen(drivers[jl->kind])));
    if (jl->kind != J0_K_MULTI) {
        size_t n;
        char *src = doc_bytes(doc, "source_code", &n);
        json_array_append_new(files, file_json(name, src ? src : "", n));
        free(src);
    }
    size_t n;
    char *zip = doc_bytes(doc, "additional_files", &n);
    struct zip_list z = {0};
    const char *why;
    int rc = zip ? j0_unzip(s, zip, n, &z, &why) : 0;
    free(zip);
    if (rc < 0) {
        json_decref(files);
        sb_fail(err, SB_E_INVALID_ARGUMENT, "additional_files: %s", why);
        return NULL;
    }
    for (size_t i = 0; i < z.n; i++) {
        bool taken = !strcmp(z.v[i].name, J0_DRIVER) ||
                     (jl->kind != J0_K_MULTI && !strcmp(z.v[i].name, name));
        if (!taken)
            json_array_append_new(files, file_json(z.v[i].name, z.v[i].data, z.v[i].len));
    }
    zip_free(&z);
    return files;
}

int j0_exec_req(struct service *s, json_t *doc, struct exec_req *out, struct sb_error *err)
{
    const struct j0_lang *jl = j0_lang_find((int)json_integer_value(json_object_get(doc,
                                                                                    "language_id")));
    const struct lang *l = jl ? j0_lang_usable(s, jl) : NULL;
    if (!l)
        return sb_fail(err, SB_E_UNKNOWN_LANGUAGE, "language unavailable");
    json_t *files = native_files(s, jl, l, doc, err);
    if (!files)
        return -1;
    size_t in_len;
    char *in = doc_bytes(doc, "stdin", &in_len);
    /* the emulated ones are a bash script (j0_lang_usable checked bash) */
    json_t *root = json_pack("{s:s,s:o,s:o}", "language",
                             jl->kind == J0_K_LANGUAGE ? l->name : "bash", "files", files,
                             "limits", native_limits(s, doc));
    if (in)
        json_object_set_new(root, "stdin", json_stringn_nocheck(in, in_len));
    free(in);
    json_t *cla = json_object_get(doc, "command_line_arguments");
    if (json_is_string(cla) && jl->kind != J0_K_MULTI)
        json_object_set_new(root, "args", split_args(json_string_value(cla)));
    /* compiler_options go where Judge0's %s is: after the compiler's own options */
    json_t *opts = json_object_get(doc, "compiler_options");
    if (json_is_string(opts) && l->compile)
        json_object_set_new(root, "compile_args", split_args(json_string_value(opts)));
    if (jl->kind == J0_K_MULTI)
        json_object_set_new(root, "return_files", json_pack("[s,s]", J0_COMPILE_OUT,
                                                            J0_COMPILE_STATUS));
    int rc = root ? exec_req_from_json(root, s->cfg, &s->registry, REQ_SYNC, out, err)
                  : sb_fail(err, SB_E_INTERNAL, "out of memory");
    json_decref(root);
    return rc;
}

/* ---- results ---- */

static void trim_right(const char *s, size_t *n)
{
    while (*n && strchr(" \t\r\n\f\v", s[*n - 1] ? s[*n - 1] : ' '))
        (*n)--;
}

bool j0_output_matches(const char *got, size_t glen, const char *want, size_t wlen)
{
    struct sb_buf a = {0}, b = {0};
    const char *src[2] = {got, want};
    size_t len[2] = {glen, wlen};
    struct sb_buf *dst[2] = {&a, &b};
    for (int k = 0; k < 2; k++) {      /* each line's trailing whitespace, then the end's */
        for (size_t i = 0; i <= len[k];) {
            const char *nl = memchr(src[k] + i, '\n', len[k] - i);
            size_t n = nl ? (size_t)(nl - src[k] - i) : len[k] - i;
            trim_right(src[k] + i, &n);
            sb_buf_append(dst[k], src[k] + i, n);
            if (!nl)
                break;
            sb_buf_append(dst[k], "\n", 1);
            i += (size_t)(nl - (src[k] + i)) + 1;
        }
        size_t n = dst[k]->len;
        trim_right(dst[k]->data ? dst[k]->data : "", &n);
        dst[k]->len = n;
    }
    bool eq = a.len == b.len && (!a.len || !memcmp(a.data, b.data, a.len));
    sb_buf_free(&a);
    sb_buf_free(&b);
    return eq;
}

static void set_text(json_t *doc, const char *name, const char *data, size_t len)
{
    char *enc = len ? base64_encode(data, len) : NULL;
    json_object_set_new(doc, name, enc ? json_string(enc) : json_null());
    free(enc);
}

static void set_seconds(json_t *doc, const char *name, uint64_t ms)
{
    char s[32];
    j0_seconds((double)ms / 1000, s, sizeof s);
    json_object_set_new(doc, name, json_string(s));
}

static void set_exit(json_t *doc, int status, int code, const char *message)
{
    json_object_set_new(doc, "status_id", json_integer(status));
    json_object_set_new(doc, "exit_code", json_integer(code));
    json_object_set_new(doc, "exit_signal", json_null());
    json_object_set_new(doc, "message", message ? json_string(message) : json_null());
}

/* The run stage's verdict as Judge0 reports it behind its bash wrapper. */
static void run_verdict(json_t *doc, const struct stage_result *st, enum sb_status status)
{
    char msg[64];
    int code = st->signal ? 128 + st->signal : st->exit_code;
    switch (status) {
    case SB_ST_TIME_LIMIT:
        set_exit(doc, J0_TLE, 0, st->cause == SBX_CAUSE_WALL ? "Time limit exceeded (wall clock)"
                                                             : "Time limit exceeded");
        return;
    case SB_ST_MEMORY_LIMIT: code = 137; break;
    case SB_ST_OUTPUT_LIMIT: code = 153; break;
    case SB_ST_RUNTIME_ERROR: break;
    default:
        set_exit(doc, J0_INTERNAL_ERROR, 0, st->message[0] ? st->message : "internal error");
        return;
    }
    snprintf(msg, sizeof msg, "Exited with error status %d", code);
    set_exit(doc, J0_RE_NZEC, code, msg);
}

static void run_fields(json_t *doc, const struct job_result *res)
{
    const struct stage_result *st = &res->run;
    struct sb_buf out = {0};
    sb_buf_append(&out, st->out.data ? st->out.data : "", st->out.len);
    bool redirect = json_is_true(json_object_get(doc, "redirect_stderr_to_stdout"));
    if (redirect)
        sb_buf_append(&out, st->err.data ? st->err.data : "", st->err.len);
    set_text(doc, "stdout", out.data, out.len);
    set_text(doc, "stderr", st->err.data, redirect ? 0 : st->err.len);
    set_seconds(doc, "time", st->cpu_ms);
    set_seconds(doc, "wall_time", st->wall_ms);
    json_int_t mem = (json_int_t)st->memory_kb;
    if (res->status == SB_ST_MEMORY_LIMIT)
        mem = json_integer_value(json_object_get(doc, "memory_limit"));
    json_object_set_new(doc, "memory", json_integer(mem));
    /* the extra time lets it end, not pass: over the limit is TLE (isolate's "TO") */
    if (res->status != SB_ST_TIME_LIMIT &&
        st->cpu_ms > (uint64_t)llround(seconds_of(doc, "cpu_time_limit") * 1000)) {
        set_exit(doc, J0_TLE, 0, "Time limit exceeded");
    } else if (res->status != SB_ST_OK) {
        run_verdict(doc, st, res->status);
    } else {
        size_t wlen;
        char *want = doc_bytes(doc, "expected_output", &wlen);
        json_t *w = json_object_get(doc, "expected_output");
        bool ok = json_is_null(w) || (out.len && j0_output_matches(out.data, out.len,
                                                                   want ? want : "", wlen));
        set_exit(doc, ok ? J0_ACCEPTED : J0_WRONG_ANSWER, 0, NULL);
        free(want);
    }
    sb_buf_free(&out);
}

static const struct sbx_collected *returned(const struct job_result *res, const char *name)
{
    for (size_t i = 0; i < res->nfiles; i++)
        if (!strcmp(res->files[i].name, name))
            return &res->files[i];
    return NULL;
}

/* A multi-file program's compile script: its output, and a failure is 6 with
 * the run's fields null. true when it failed. */
static bool multi_compile(json_t *doc, const struct job_result *res)
{
    const struct sbx_collected *out = returned(res, J0_COMPILE_OUT);
    const struct sbx_collected *st = returned(res, J0_COMPILE_STATUS);
    if (out)
        set_text(doc, "compile_output", (const char *)out->data, out->len);
    if (!st || (st->len == 2 && !memcmp(st->data, "0\n", 2)))
        return false;
    json_object_set_new(doc, "status_id", json_integer(J0_COMPILE_ERROR));
    return true;
}

void j0_finish(json_t *doc, const struct job_result *res)
{
    char ts[40];
    j0_timestamp(util_now_ms(), ts, sizeof ts);
    json_object_set_new(doc, "finished_at", json_string(ts));
    if (json_integer_value(json_object_get(doc, "language_id")) == J0_LANG_MULTI_FILE &&
        !res->failed && res->ran && multi_compile(doc, res))
        return;
    if (res->has_compile) {
        struct sb_buf co = {0};
        sb_buf_append(&co, res->compile.out.data ? res->compile.out.data : "",
                      res->compile.out.len);
        sb_buf_append(&co, res->compile.err.data ? res->compile.err.data : "",
                      res->compile.err.len);
        set_text(doc, "compile_output", co.data, co.len);
        sb_buf_free(&co);
    }
    if (res->failed) {
        set_exit(doc, J0_INTERNAL_ERROR, 0, res->error.msg);
        json_object_set_new(doc, "exit_code", json_null());
    } else if (res->status == SB_ST_COMPILE_ERROR) {
        json_object_set_new(doc, "status_id", json_integer(J0_COMPILE_ERROR));
        if (res->compile.status == SB_ST_TIME_LIMIT)
            set_text(doc, "compile_output", "Compilation time limit exceeded.", 32);
    } else if (!res->ran) {
        set_exit(doc, J0_INTERNAL_ERROR, 0, res->note[0] ? res->note : "it did not run");
        json_object_set_new(doc, "exit_code", json_null());
    } else {
        run_fields(doc, res);
    }
}
