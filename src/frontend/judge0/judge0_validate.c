/* Judge0 submissions in: the 4.2 validation with Judge0's exact messages, into the stored document (text fields as base64). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base64.h"
#include "common/util.h"
#include "frontend/judge0/judge0_internal.h"
#include "frontend/request.h"

/* The numeric limits, in validation order. Bounds are printed as Judge0
 * prints them (its float maxima with one decimal). */
static const struct limit {
    const char *name;
    bool is_float;
    double dflt, min, max;
    bool min_strict;                /* "must be greater than" (else: or equal to) */
    const char *min_text, *max_text;
    bool zero_is_default;           /* SoulBox: 0 would be "unlimited" */
} limits[] = {
    {"number_of_runs", false, J0_NUMBER_OF_RUNS, 0, J0_MAX_NUMBER_OF_RUNS, true, "0", "20", false},
    {"cpu_time_limit", true, J0_CPU_TIME_LIMIT, 0, J0_MAX_CPU_TIME_LIMIT, false, "0", "15.0", true},
    {"cpu_extra_time", true, J0_CPU_EXTRA_TIME, 0, J0_MAX_CPU_EXTRA_TIME, false, "0", "5.0", false},
    {"wall_time_limit", true, J0_WALL_TIME_LIMIT, 1, J0_MAX_WALL_TIME_LIMIT, false, "1", "20.0",
     false},
    {"memory_limit", false, J0_MEMORY_LIMIT, 2048, J0_MAX_MEMORY_LIMIT, false, "2048", "512000",
     false},
    {"stack_limit", false, J0_STACK_LIMIT, 0, J0_MAX_STACK_LIMIT, false, "0", "128000", true},
    {"max_processes_and_or_threads", false, J0_MAX_PROCESSES, 0, J0_MAX_MAX_PROCESSES, true, "0",
     "120", false},
    {"max_file_size", false, J0_MAX_FILE_SIZE, 0, J0_MAX_MAX_FILE_SIZE, false, "0", "4096", true},
};
#define NLIMITS (sizeof limits / sizeof *limits)

static void err_add(json_t *errors, const char *field, const char *msg)
{
    json_t *a = json_object_get(errors, field);
    if (!a) {
        a = json_array();
        json_object_set_new(errors, field, a);
    }
    json_array_append_new(a, json_string(msg));
}

static bool blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strchr(" \t\r\n\f\v", s[i]))
            return false;
    return true;
}

/* A text field into doc as plain base64 (null when absent); *raw gets the bytes. */
static void text_field(json_t *body, json_t *doc, const char *name, bool b64, struct sb_buf *raw)
{
    json_t *v = json_object_get(body, name);
    if (!json_is_string(v)) {
        json_object_set_new(doc, name, json_null());
        return;
    }
    if (b64)
        j0_b64_lenient(json_string_value(v), json_string_length(v), raw);
    else
        sb_buf_append(raw, json_string_value(v), json_string_length(v));
    char *enc = base64_encode(raw->data ? raw->data : "", raw->len);
    json_object_set_new(doc, name, enc ? json_string(enc) : json_null());
    free(enc);
}

/* A number as Rails casts it: 1 with *out, 0 absent (null), -1 not a number. */
static int number(json_t *v, double *out)
{
    if (!v || json_is_null(v))
        return 0;
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return 1;
    }
    if (!json_is_string(v))
        return -1;
    char *end;
    *out = strtod(json_string_value(v), &end);
    return end != json_string_value(v) && !*end && isfinite(*out) ? 1 : -1;
}

static bool boolean(json_t *v, bool dflt)
{
    if (json_is_boolean(v))
        return json_is_true(v);
    if (!json_is_string(v))
        return dflt;
    const char *s = json_string_value(v);
    static const char *const yes[] = {"true", "1", "t", "T", "TRUE", "True", "on", "yes"};
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
        if (!strcmp(s, yes[i]))
            return true;
    return false;
}

static void check_limit(const struct limit *l, json_t *body, json_t *doc, json_t *errors,
                        json_t *set)
{
    double v = l->dflt;
    int got = number(json_object_get(body, l->name), &v);
    if (got < 0) {
        err_add(errors, l->name, "is not a number");
        return;
    }
    if (!l->is_float)
        v = trunc(v);
    if (got && l->zero_is_default && v == 0)
        got = 0, v = l->dflt;
    char msg[96];
    if (l->min_strict ? v <= l->min : v < l->min) {
        snprintf(msg, sizeof msg, "must be greater than %s%s", l->min_strict ? "" : "or equal to ",
                 l->min_text);
        err_add(errors, l->name, msg);
    } else if (v > l->max) {
        snprintf(msg, sizeof msg, "must be less than or equal to %s", l->max_text);
        err_add(errors, l->name, msg);
    }
    if (got)
        json_array_append_new(set, json_string(l->name));
    if (l->is_float) {
        char s[32];
        j0_seconds(v, s, sizeof s);
        json_object_set_new(doc, l->name, json_string(s));
    } else {
        json_object_set_new(doc, l->name, json_integer((json_int_t)v));
    }
}

/* language_id: the row, or NULL with its errors added. */
static const struct j0_lang *check_language(struct service *s, json_t *body, json_t *doc,
                                            json_t *errors)
{
    double id = 0;
    char msg[128];
    if (number(json_object_get(body, "language_id"), &id) != 1) {
        err_add(errors, "language_id", "can't be blank");
        err_add(errors, "language_id", "language with id  doesn't exist");
        json_object_set_new(doc, "language_id", json_null());
        return NULL;
    }
    json_object_set_new(doc, "language_id", json_integer((json_int_t)id));
    const struct j0_lang *jl = j0_lang_find((int)id);
    if (j0_lang_archived((int)id))
        snprintf(msg, sizeof msg, "language with id %d is archived and cannot be used anymore",
                 (int)id);
    else if (!jl || !j0_lang_usable(s, jl))
        snprintf(msg, sizeof msg, "language with id %lld doesn't exist", (long long)id);
    else
        return jl;
    err_add(errors, "language_id", msg);
    return NULL;
}

/* compiler_options / command_line_arguments: a string of at most 512 (blank: none). */
static const char *option(json_t *body, json_t *doc, const char *name, json_t *errors)
{
    json_t *v = json_object_get(body, name);
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;
    json_object_set_new(doc, name, s ? json_string(s) : json_null());
    if (s && strlen(s) > 512)
        err_add(errors, name, "is too long (maximum is 512 characters)");
    return s && !blank(s, strlen(s)) ? s : NULL;
}

static void check_options(json_t *body, json_t *doc, json_t *errors)
{
    for (size_t i = 0; i < NLIMITS; i++)
        check_limit(&limits[i], body, doc, errors, json_object_get(doc, "_set"));
    json_object_set_new(doc, "enable_per_process_and_thread_time_limit",
        json_boolean(boolean(json_object_get(body, "enable_per_process_and_thread_time_limit"),
                             false)));
    json_object_set_new(doc, "enable_per_process_and_thread_memory_limit",
        json_boolean(boolean(json_object_get(body, "enable_per_process_and_thread_memory_limit"),
                             false)));
    json_object_set_new(doc, "redirect_stderr_to_stdout",
        json_boolean(boolean(json_object_get(body, "redirect_stderr_to_stdout"), false)));
    json_t *cb = json_object_get(body, "callback_url");
    json_object_set_new(doc, "callback_url",
                        json_is_string(cb) ? json_copy(cb) : json_null());
    json_object_set_new(doc, "enable_network", json_false());
}

/* additional_files: always base64 (leniently), a zip SoulBox can extract
 * within Judge0's max_extract_size; stored as plain base64. */
static void check_files(struct service *s, json_t *v, json_t *doc, json_t *errors)
{
    struct zip_list z;
    const char *why;
    char msg[128];
    struct sb_buf raw = {0};
    j0_b64_lenient(json_string_value(v), json_string_length(v), &raw);
    if (raw.oom || j0_unzip(s, raw.data, raw.len, &z, &why) < 0) {
        snprintf(msg, sizeof msg, "is not a zip archive SoulBox can extract: %s",
                 raw.oom ? "out of memory" : why);
        err_add(errors, "additional_files", msg);
        sb_buf_free(&raw);
        return;
    }
    /* the names SoulBox's requests refuse (compilers would read them as options) */
    for (size_t i = 0; i < z.n; i++)
        if (request_file_name_why(z.v[i].name)) {
            snprintf(msg, sizeof msg, "has a file SoulBox cannot name '%.64s'", z.v[i].name);
            err_add(errors, "additional_files", msg);
            break;
        }
    zip_free(&z);
    char *enc = base64_encode(raw.data ? raw.data : "", raw.len);
    json_object_set_new(doc, "additional_files", enc ? json_string(enc) : json_null());
    free(enc);
    sb_buf_free(&raw);
}

static void result_fields_null(json_t *doc)
{
    static const char *const names[] = {"stdout", "finished_at", "time", "memory", "stderr",
                                        "compile_output", "exit_code", "exit_signal", "message",
                                        "wall_time"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        json_object_set_new(doc, names[i], json_null());
    json_object_set_new(doc, "status_id", json_integer(J0_IN_QUEUE));
    char ts[40];
    j0_timestamp(util_now_ms(), ts, sizeof ts);
    json_object_set_new(doc, "created_at", json_string(ts));
}

json_t *j0_validate(struct service *s, json_t *body, bool b64, json_t **errors)
{
    json_t *doc = json_object(), *e = json_object();
    json_object_set_new(doc, "_set", json_array());
    struct sb_buf src = {0}, in = {0}, want = {0};
    text_field(body, doc, "source_code", b64, &src);
    text_field(body, doc, "stdin", b64, &in);
    text_field(body, doc, "expected_output", b64, &want);
    /* a multi-file program is its additional_files alone */
    double id = 0;
    bool multi = number(json_object_get(body, "language_id"), &id) == 1 &&
                 (int)id == J0_LANG_MULTI_FILE;
    if (multi != blank(src.data ? src.data : "", src.len))
        err_add(e, "source_code", multi ? "must be blank" : "can't be blank");
    json_t *files = json_object_get(body, "additional_files");
    bool has_files = json_is_string(files) && json_string_length(files);
    if (multi && !has_files)
        err_add(e, "additional_files", "can't be blank");
    json_object_set_new(doc, "additional_files", json_null());
    const struct j0_lang *jl = check_language(s, body, doc, e);
    check_options(body, doc, e);
    const char *copts = option(body, doc, "compiler_options", e);
    option(body, doc, "command_line_arguments", e);
    if (copts && jl && !jl->compiled)
        err_add(e, "compiler_options",
                "setting compiler options is only allowed for compiled languages");
    if (has_files)
        check_files(s, files, doc, e);
    if (boolean(json_object_get(body, "enable_network"), false))
        err_add(e, "enable_network", "enabling network is not allowed");
    result_fields_null(doc);
    sb_buf_free(&src);
    sb_buf_free(&in);
    sb_buf_free(&want);
    if (json_object_size(e)) {
        json_decref(doc);
        *errors = e;
        return NULL;
    }
    json_decref(e);
    return doc;
}
