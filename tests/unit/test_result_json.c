/* Unit tests for src/service/result_json.c: UTF-8 sanitising, the result object and execution views. */
#include <criterion/criterion.h>
#include <signal.h>
#include <string.h>

#include "result_fixture.h"
#include "service/result_json.h"

/* ---- json_bytes ---- */

static void expect_bytes(const char *in, size_t len, const char *want, size_t want_len,
                         bool want_lossy)
{
    bool lossy = !want_lossy;
    json_t *j = result_json_bytes(in, len, &lossy);
    cr_assert_not_null(j);
    cr_assert_eq(lossy, want_lossy, "lossy for %zu bytes", len);
    cr_assert_eq(json_string_length(j), want_len);
    cr_assert_eq(memcmp(json_string_value(j), want, want_len), 0);
    json_decref(j);
}
#define BYTES(in, want, lossy) expect_bytes(in, sizeof in - 1, want, sizeof want - 1, lossy)
#define FFFD "\xef\xbf\xbd"

Test(result_json, bytes_keeps_valid_utf8)
{
    BYTES("", "", false);
    BYTES("hello\n", "hello\n", false);
    BYTES("caf\xc3\xa9", "caf\xc3\xa9", false);                /* 2-byte */
    BYTES("\xe2\x82\xac", "\xe2\x82\xac", false);              /* 3-byte euro */
    BYTES("\xf0\x9f\x98\x80!", "\xf0\x9f\x98\x80!", false);    /* 4-byte emoji */
    BYTES("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf", false);      /* U+10FFFF */
    BYTES("\xef\xbf\xbf", "\xef\xbf\xbf", false);              /* U+FFFF */
    BYTES("a\0b", "a\0b", false);                              /* NUL kept */
    json_t *j = result_json_bytes(NULL, 0, NULL);
    cr_assert_str_eq(json_string_value(j), "");
    json_decref(j);
}

Test(result_json, bytes_replaces_invalid_bytes)
{
    BYTES("\xff", FFFD, true);
    BYTES("a\xff" "b", "a" FFFD "b", true);
    BYTES("\x80", FFFD, true);                                 /* lone continuation */
    BYTES("\xe2\x82", FFFD FFFD, true);                        /* truncated at the end */
    BYTES("\xe2\x82x", FFFD FFFD "x", true);                   /* truncated in the middle */
    BYTES("\xc0\xaf", FFFD FFFD, true);                        /* overlong '/' */
    BYTES("\xe0\x80\xaf", FFFD FFFD FFFD, true);               /* overlong, 3 bytes */
    BYTES("\xf0\x80\x80\xaf", FFFD FFFD FFFD FFFD, true);      /* overlong, 4 bytes */
    BYTES("\xed\xa0\x80", FFFD FFFD FFFD, true);               /* surrogate U+D800 */
    BYTES("\xed\xbf\xbf", FFFD FFFD FFFD, true);               /* surrogate U+DFFF */
    BYTES("\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD, true);      /* above U+10FFFF */
    BYTES("\xf8\x88\x80\x80\x80", FFFD FFFD FFFD FFFD FFFD, true);
    BYTES("ok\xf0\x9f\x98\x80\xff\0end", "ok\xf0\x9f\x98\x80" FFFD "\0end", true);
}

/* ---- stage_to_json ---- */

static json_t *to_json(struct sbx_result r)
{
    struct stage_result st;
    stage_classify(&st, &r, &lim);
    json_t *obj = json_object();
    result_json_stage(&st, obj);
    stage_free(&st);
    return obj;
}

Test(result_json, of_a_clean_run)
{
    struct sbx_result r = exited(0);
    sb_buf_puts(&r.out, "hi\n");
    r.wall_ns = 45 * 1000000ull + 123;
    r.cpu_ns = 30 * 1000000ull;
    r.memory_peak = 2048 * 1024;
    json_t *o = to_json(r);
    cr_assert_str_eq(json_string_value(json_object_get(o, "status")), "ok");
    cr_assert_str_eq(json_string_value(json_object_get(o, "stdout")), "hi\n");
    cr_assert_str_eq(json_string_value(json_object_get(o, "stderr")), "");
    cr_assert(json_is_integer(json_object_get(o, "exit_code")));
    cr_assert_eq(json_integer_value(json_object_get(o, "exit_code")), 0);
    cr_assert(json_is_null(json_object_get(o, "signal")));
    cr_assert_str_eq(json_string_value(json_object_get(o, "execution_time")), "45ms");
    cr_assert_eq(json_integer_value(json_object_get(o, "wall_time_ms")), 45);
    cr_assert_eq(json_integer_value(json_object_get(o, "cpu_time_ms")), 30);
    cr_assert_eq(json_integer_value(json_object_get(o, "memory_kb")), 2048);
    cr_assert(json_is_false(json_object_get(o, "truncated")));
    cr_assert_null(json_object_get(o, "message"), "no message when ok");
    cr_assert_eq(json_object_size(o), 10);
    json_decref(o);
}

Test(result_json, of_a_signalled_run_has_null_exit_code)
{
    struct sbx_result r = signalled(SIGSEGV);
    sb_buf_append(&r.err, "bad\xff", 4);
    json_t *o = to_json(r);
    cr_assert_str_eq(json_string_value(json_object_get(o, "status")), "runtime_error");
    cr_assert(json_is_null(json_object_get(o, "exit_code")));
    cr_assert_eq(json_integer_value(json_object_get(o, "signal")), 11);
    cr_assert_str_eq(json_string_value(json_object_get(o, "stderr")), "bad" FFFD);
    cr_assert_str_eq(json_string_value(json_object_get(o, "message")),
                     "killed by signal 11 (SEGV)");
    cr_assert_eq(json_object_size(o), 11);
    json_decref(o);
}

Test(result_json, of_a_nonzero_exit_and_a_timeout)
{
    json_t *o = to_json(exited(3));
    cr_assert_eq(json_integer_value(json_object_get(o, "exit_code")), 3);
    cr_assert(json_is_null(json_object_get(o, "signal")));
    cr_assert_str_eq(json_string_value(json_object_get(o, "message")), "exited with code 3");
    json_decref(o);
    struct sbx_result r = killed();
    r.wall_exceeded = true;
    r.truncated = true;
    o = to_json(r);
    cr_assert_str_eq(json_string_value(json_object_get(o, "status")), "time_limit_exceeded");
    cr_assert(json_is_null(json_object_get(o, "exit_code")));
    cr_assert_eq(json_integer_value(json_object_get(o, "signal")), 9);
    cr_assert(json_is_true(json_object_get(o, "truncated")));
    json_decref(o);
}

/* ---- the whole result: every field, for every kind of result ---- */

static const char *const run_fields[] = {"stdout", "stderr", "exit_code", "execution_time",
                                         "status", "signal", "wall_time_ms", "cpu_time_ms",
                                         "memory_kb", "truncated", NULL};

static void has_run_fields(json_t *o)
{
    for (int i = 0; run_fields[i]; i++)
        cr_assert_not_null(json_object_get(o, run_fields[i]), "missing %s", run_fields[i]);
}

Test(result_json, results_without_a_run_have_every_field)
{
    /* SoulBox failed, a cancellation, an execution a crash interrupted */
    struct job_result failed = {.failed = true, .error = {SB_E_SANDBOX_SETUP, "setup broke"}};
    struct job_result noted = {0};
    job_result_note(&noted, "the server stopped while this execution was running");
    struct job_result *all[] = {&failed, &noted};
    const char *why[] = {"setup broke", "the server stopped while this execution was running"};
    for (int i = 0; i < 2; i++) {
        json_t *o = result_json(all[i]);
        has_run_fields(o);
        cr_assert_str_eq(json_string_value(json_object_get(o, "status")), "internal_error");
        cr_assert_str_eq(json_string_value(json_object_get(o, "message")), why[i]);
        cr_assert(json_is_null(json_object_get(o, "exit_code")));
        cr_assert_str_eq(json_string_value(json_object_get(o, "execution_time")), "0ms");
        json_decref(o);
    }
}

Test(result_json, a_compile_error_has_every_field_and_its_stage)
{
    struct job_result r = {.status = SB_ST_COMPILE_ERROR, .has_compile = true};
    r.compile.status = SB_ST_COMPILE_ERROR;
    snprintf(r.compile.message, sizeof r.compile.message, "compilation failed: exited with code 1");
    sb_buf_puts(&r.compile.err, "x.c:1: error");
    json_t *o = result_json(&r);
    has_run_fields(o);
    cr_assert_str_eq(json_string_value(json_object_get(o, "status")), "compile_error");
    cr_assert_str_eq(json_string_value(json_object_get(o, "message")),
                     "compilation failed: exited with code 1");
    cr_assert_str_eq(json_string_value(json_object_get(o, "compile_output")), "x.c:1: error");
    cr_assert(json_is_object(json_object_get(o, "compile")));
    json_decref(o);
    job_result_free(&r);
}

Test(result_json, an_execution_view_before_and_after)
{
    struct exec_row row = {.created_ms = 1700000000000ull};
    snprintf(row.id, sizeof row.id, "0a503d33-2e09-4140-9546-868355a9e8fc");
    snprintf(row.state, sizeof row.state, "running");
    snprintf(row.mode, sizeof row.mode, "async");
    snprintf(row.language, sizeof row.language, "python");
    json_t *o = result_json_execution(&row);
    cr_assert_str_eq(json_string_value(json_object_get(o, "status")), "running");
    cr_assert_str_eq(json_string_value(json_object_get(o, "created_at")),
                     "2023-11-14T22:13:20.000Z");
    cr_assert_null(json_object_get(o, "stdout"));
    json_decref(o);
    row.has_result = true;
    row.result.ran = true;
    row.result.status = row.result.run.status = SB_ST_OK;
    row.result.run.exited = true;
    o = result_json_execution(&row);
    cr_assert_str_eq(json_string_value(json_object_get(o, "status")), "ok");
    has_run_fields(o);
    cr_assert_str_eq(json_string_value(json_object_get(o, "id")), row.id);
    json_decref(o);
}
