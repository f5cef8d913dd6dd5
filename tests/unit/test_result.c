/* Unit tests for src/runner/result.c: verdict classification, UTF-8 sanitising and result JSON. */
#include <criterion/criterion.h>
#include <signal.h>
#include <string.h>

#include "runner/result.h"

static const struct sbx_limits lim = {
    .wall_ms = 2000, .cpu_ms = 1000, .memory_kb = 262144, .disk_kb = 65536,
    .output_bytes = 1048576, .file_size_kb = 1024, .stack_kb = 8192, .processes = 64,
    .open_files = 256, .cpu_percent = 100,
};

/* A program that ran and exited with code 0. */
static struct sbx_result exited(int code)
{
    struct sbx_result r;
    memset(&r, 0, sizeof r);
    r.exited = true;
    r.exit_code = code;
    r.seccomp_nr = -1;
    return r;
}

static struct sbx_result signalled(int sig)
{
    struct sbx_result r = exited(0);
    r.term_signal = sig;
    return r;
}

/* Killed by the supervisor before the agent saw an exit. */
static struct sbx_result killed(void)
{
    struct sbx_result r = exited(0);
    r.exited = false;
    r.term_signal = SIGKILL;
    return r;
}

static struct stage_result classify(struct sbx_result r)
{
    struct stage_result st;
    stage_classify(&st, &r, &lim);
    return st;
}

Test(result, status_names)
{
    cr_assert_str_eq(sb_status_name(SB_ST_OK), "ok");
    cr_assert_str_eq(sb_status_name(SB_ST_RUNTIME_ERROR), "runtime_error");
    cr_assert_str_eq(sb_status_name(SB_ST_TIME_LIMIT), "time_limit_exceeded");
    cr_assert_str_eq(sb_status_name(SB_ST_MEMORY_LIMIT), "memory_limit_exceeded");
    cr_assert_str_eq(sb_status_name(SB_ST_OUTPUT_LIMIT), "output_limit_exceeded");
    cr_assert_str_eq(sb_status_name(SB_ST_COMPILE_ERROR), "compile_error");
    cr_assert_str_eq(sb_status_name(SB_ST_INTERNAL_ERROR), "internal_error");
    cr_assert_str_eq(sb_status_name(SB_ST__COUNT), "internal_error");
}

Test(result, clean_exit_is_ok)
{
    struct stage_result st = classify(exited(0));
    cr_assert_eq(st.status, SB_ST_OK);
    cr_assert_str_eq(st.message, "");
    cr_assert(st.exited);
    cr_assert_eq(st.exit_code, 0);
    cr_assert_eq(st.signal, 0);
}

Test(result, nonzero_exit_is_a_runtime_error)
{
    struct stage_result st = classify(exited(3));
    cr_assert_eq(st.status, SB_ST_RUNTIME_ERROR);
    cr_assert_str_eq(st.message, "exited with code 3");
    cr_assert_eq(st.exit_code, 3);
    cr_assert_eq(st.signal, 0);
}

Test(result, crash_signal_is_a_runtime_error)
{
    struct stage_result st = classify(signalled(SIGSEGV));
    cr_assert_eq(st.status, SB_ST_RUNTIME_ERROR);
    cr_assert_eq(st.signal, 11);
    cr_assert_str_eq(st.message, "killed by signal 11 (SEGV)");
}

Test(result, wall_timeout_is_a_time_limit_with_sigkill)
{
    struct sbx_result r = killed();
    r.wall_exceeded = true;
    struct stage_result st = classify(r);
    cr_assert_eq(st.status, SB_ST_TIME_LIMIT);
    cr_assert_str_eq(st.message, "wall time limit of 2000 ms exceeded");
    cr_assert_eq(st.signal, SIGKILL);
    /* Even when no signal was recorded, a killed run reports SIGKILL. */
    r.term_signal = 0;
    st = classify(r);
    cr_assert_eq(st.status, SB_ST_TIME_LIMIT);
    cr_assert_eq(st.signal, 9);
}

Test(result, cpu_limit_and_sigxcpu_are_time_limits)
{
    struct sbx_result r = killed();
    r.cpu_exceeded = true;
    struct stage_result st = classify(r);
    cr_assert_eq(st.status, SB_ST_TIME_LIMIT);
    cr_assert_str_eq(st.message, "CPU time limit of 1000 ms exceeded");
    cr_assert_eq(st.signal, SIGKILL);
    st = classify(signalled(SIGXCPU));
    cr_assert_eq(st.status, SB_ST_TIME_LIMIT);
    cr_assert_str_eq(st.message, "CPU time limit of 1000 ms exceeded");
    cr_assert_eq(st.signal, SIGXCPU);
    /* CPU wins over wall when both tripped. */
    r.wall_exceeded = true;
    st = classify(r);
    cr_assert_str_eq(st.message, "CPU time limit of 1000 ms exceeded");
}

Test(result, oom_kill_is_a_memory_limit_unless_the_program_exited_cleanly)
{
    struct sbx_result r = signalled(SIGKILL);
    r.oom_killed = true;
    struct stage_result st = classify(r);
    cr_assert_eq(st.status, SB_ST_MEMORY_LIMIT);
    cr_assert_str_eq(st.message, "memory limit of 262144 KB exceeded");
    r = exited(1);
    r.oom_killed = true;
    st = classify(r);
    cr_assert_eq(st.status, SB_ST_MEMORY_LIMIT);
    /* A child was OOM-killed but the program handled it and exited 0. */
    r = exited(0);
    r.oom_killed = true;
    st = classify(r);
    cr_assert_eq(st.status, SB_ST_OK);
    cr_assert_str_eq(st.message, "");
}

Test(result, output_limit)
{
    struct sbx_result r = killed();
    r.output_exceeded = true;
    r.oom_killed = true; /* output wins: it is why the run was killed */
    struct stage_result st = classify(r);
    cr_assert_eq(st.status, SB_ST_OUTPUT_LIMIT);
    cr_assert_str_eq(st.message, "output limit of 1048576 bytes exceeded");
    cr_assert_eq(st.signal, SIGKILL);
}

Test(result, seccomp_kill_is_a_runtime_error_naming_the_call)
{
    struct sbx_result r = exited(0);
    r.seccomp_nr = 169;
    strcpy(r.seccomp_name, "reboot");
    r.wall_exceeded = true; /* seccomp takes precedence over everything */
    struct stage_result st = classify(r);
    cr_assert_eq(st.status, SB_ST_RUNTIME_ERROR);
    cr_assert_eq(st.signal, 31);
    cr_assert_not(st.exited);
    cr_assert_str_eq(st.message, "killed by seccomp: forbidden system call reboot");
    /* nr 0 (read on x86_64) is a valid syscall number too */
    r.seccomp_nr = 0;
    strcpy(r.seccomp_name, "read");
    st = classify(r);
    cr_assert_str_eq(st.message, "killed by seccomp: forbidden system call read");
}

Test(result, file_size_signal_is_a_runtime_error)
{
    struct stage_result st = classify(signalled(SIGXFSZ));
    cr_assert_eq(st.status, SB_ST_RUNTIME_ERROR);
    cr_assert_eq(st.signal, SIGXFSZ);
    cr_assert_str_eq(st.message, "file size limit of 1024 KB exceeded (SIGXFSZ)");
}

Test(result, classify_takes_buffers_and_measurements)
{
    struct sbx_result r = exited(0);
    sb_buf_puts(&r.out, "out");
    sb_buf_puts(&r.err, "err");
    char *out_data = r.out.data;
    r.wall_ns = 45999999;
    r.cpu_ns = 12000000;
    r.memory_peak = 10 * 1024 + 1023;
    r.truncated = true;
    r.t.start = 1;
    r.t.finished = 8;
    struct stage_result st;
    stage_classify(&st, &r, &lim);
    cr_assert_eq(st.out.data, out_data, "buffer moved, not copied");
    cr_assert_str_eq(st.err.data, "err");
    cr_assert_null(r.out.data);
    cr_assert_null(r.err.data);
    cr_assert_eq(st.wall_ms, 45);
    cr_assert_eq(st.cpu_ms, 12);
    cr_assert_eq(st.memory_kb, 10);
    cr_assert(st.truncated);
    cr_assert_eq(st.t_start, 1);
    cr_assert_eq(st.t_finished, 8);
    stage_free(&st);
    cr_assert_null(st.out.data);
}

/* ---- json_bytes ---- */

static void expect_bytes(const char *in, size_t len, const char *want, size_t want_len,
                         bool want_lossy)
{
    bool lossy = !want_lossy;
    json_t *j = json_bytes(in, len, &lossy);
    cr_assert_not_null(j);
    cr_assert_eq(lossy, want_lossy, "lossy for %zu bytes", len);
    cr_assert_eq(json_string_length(j), want_len);
    cr_assert_eq(memcmp(json_string_value(j), want, want_len), 0);
    json_decref(j);
}
#define BYTES(in, want, lossy) expect_bytes(in, sizeof in - 1, want, sizeof want - 1, lossy)
#define FFFD "\xef\xbf\xbd"

Test(result, json_bytes_keeps_valid_utf8)
{
    BYTES("", "", false);
    BYTES("hello\n", "hello\n", false);
    BYTES("caf\xc3\xa9", "caf\xc3\xa9", false);                /* 2-byte */
    BYTES("\xe2\x82\xac", "\xe2\x82\xac", false);              /* 3-byte euro */
    BYTES("\xf0\x9f\x98\x80!", "\xf0\x9f\x98\x80!", false);    /* 4-byte emoji */
    BYTES("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf", false);      /* U+10FFFF */
    BYTES("\xef\xbf\xbf", "\xef\xbf\xbf", false);              /* U+FFFF */
    BYTES("a\0b", "a\0b", false);                              /* NUL kept */
    json_t *j = json_bytes(NULL, 0, NULL);
    cr_assert_str_eq(json_string_value(j), "");
    json_decref(j);
}

Test(result, json_bytes_replaces_invalid_bytes)
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
    stage_to_json(&st, obj);
    stage_free(&st);
    return obj;
}

Test(result, json_of_a_clean_run)
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

Test(result, json_of_a_signalled_run_has_null_exit_code)
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

Test(result, json_of_a_nonzero_exit_and_a_timeout)
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
