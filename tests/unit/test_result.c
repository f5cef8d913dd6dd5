/* Unit tests for src/runner/result.c: verdict classification, causes, copies, case summaries. */
#include <criterion/criterion.h>
#include <signal.h>
#include <string.h>

#include "result_fixture.h"
#include "runner/result.h"

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

Test(result, the_cause_is_typed)
{
    struct sbx_result r = exited(0);
    r.seccomp_nr = 169;
    snprintf(r.seccomp_name, sizeof r.seccomp_name, "reboot");
    r.wall_exceeded = true; /* seccomp comes first */
    struct stage_result st = classify(r);
    cr_assert_eq(st.cause, SBX_CAUSE_SECCOMP);
    cr_assert_str_eq(st.seccomp_call, "reboot");
    r = killed();
    r.wall_exceeded = true;
    st = classify(r);
    cr_assert_eq(st.cause, SBX_CAUSE_WALL);
    st = classify(exited(1));
    cr_assert_eq(st.cause, SBX_CAUSE_NONE);
    cr_assert_str_eq(sbx_cause_name(SBX_CAUSE_MEMORY), "memory_limit");
    cr_assert_eq(sbx_cause_from_name("cpu_time_limit"), SBX_CAUSE_CPU);
    cr_assert_eq(sbx_cause_from_name("nonsense"), -1);
    cr_assert_eq(sb_status_from_name("compile_error"), SB_ST_COMPILE_ERROR);
    cr_assert_eq(sb_status_from_name("queued"), -1);
}

Test(result, copies_are_deep_and_free_everything)
{
    struct job_result a = {.status = SB_ST_OK, .ran = true, .has_compile = true};
    sb_buf_puts(&a.run.out, "run out");
    sb_buf_puts(&a.compile.err, "warning");
    a.ncases = 2;
    a.cases = calloc(2, sizeof *a.cases);
    sb_buf_puts(&a.cases[1].run.out, "case 1");
    a.cases[1].accepted = a.cases[1].judged = true;
    struct job_result b;
    cr_assert_eq(job_result_copy(&b, &a), 0);
    job_result_free(&a);
    cr_assert_eq(b.run.out.len, 7);
    cr_assert_eq(memcmp(b.run.out.data, "run out", 7), 0);
    cr_assert_eq(memcmp(b.compile.err.data, "warning", 7), 0);
    cr_assert_eq(b.ncases, 2);
    cr_assert_eq(memcmp(b.cases[1].run.out.data, "case 1", 6), 0);
    cr_assert(b.cases[1].accepted);
    job_result_free(&b);
    cr_assert_null(b.cases);
}

Test(result, case_summary_and_verdicts)
{
    struct case_result c[3] = {0};
    c[0].judged = c[0].accepted = true;
    c[1].judged = true;
    c[2].run.status = SB_ST_TIME_LIMIT;
    struct job_result r = {.ran = true, .cases = c, .ncases = 3};
    cr_assert_str_eq(case_verdict(&c[0]), "accepted");
    cr_assert_str_eq(case_verdict(&c[1]), "wrong_answer");
    cr_assert_str_eq(case_verdict(&c[2]), "time_limit_exceeded");
    struct case_summary sum;
    case_summarize(&r, &sum);
    cr_assert_eq(sum.total, 3);
    cr_assert_eq(sum.accepted, 1);
    cr_assert_str_eq(sum.verdict, "wrong_answer");
}

Test(result, a_result_without_a_run_shows_why)
{
    struct job_result r = {.failed = true, .error = {SB_E_INTERNAL, "engine broke"}};
    struct stage_result st;
    result_empty_stage(&r, &st);
    cr_assert_eq(st.status, SB_ST_INTERNAL_ERROR);
    cr_assert_str_eq(st.message, "engine broke");
    struct job_result n = {0};
    job_result_note(&n, "the server stopped while this execution was running");
    result_empty_stage(&n, &st);
    cr_assert_eq(st.status, SB_ST_INTERNAL_ERROR);
    cr_assert_str_eq(st.message, "the server stopped while this execution was running");
}
