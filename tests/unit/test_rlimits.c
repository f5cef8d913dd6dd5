/* Unit tests for src/sandbox/rlimits.c: the setrlimit table built for a sandboxed program. */
#include <criterion/criterion.h>
#include <errno.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/rlimits.h"

static struct plan_rlimit out[PLAN_MAX_RLIMITS];
static uint32_t n;

static const struct rlimits_spec spec = {
    .cpu_ms = 500, .file_size_kb = 1024, .open_files = 64, .stack_kb = 8192, .processes = 32,
};

/* The entry for resource res; fails the test if it is missing or doubled. */
static const struct plan_rlimit *get(int res)
{
    const struct plan_rlimit *found = NULL;
    for (uint32_t i = 0; i < n; i++)
        if (out[i].resource == (uint32_t)res) {
            cr_assert_null(found, "resource %d listed twice", res);
            found = &out[i];
        }
    cr_assert_not_null(found, "resource %d missing", res);
    return found;
}

static void build(const struct rlimits_spec *s)
{
    n = rlimits_build(s, out);
    cr_assert_leq(n, PLAN_MAX_RLIMITS);
}

Test(rlimits, builds_the_full_table)
{
    build(&spec);
    cr_assert_eq(n, 8);
}

Test(rlimits, cpu_is_a_backstop_rounded_up_plus_one_second)
{
    static const struct { uint64_t ms, cur; } cases[] = {
        {500, 2}, {1, 2}, {999, 2}, {1000, 2}, {1001, 3}, {2500, 4},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct rlimits_spec s = spec;
        s.cpu_ms = cases[i].ms;
        build(&s);
        const struct plan_rlimit *r = get(RLIMIT_CPU);
        cr_assert_eq(r->cur, cases[i].cur, "%llu ms", (unsigned long long)cases[i].ms);
        /* The hard limit is one second past the soft one, so SIGXCPU comes first. */
        cr_assert_eq(r->max, cases[i].cur + 1, "%llu ms", (unsigned long long)cases[i].ms);
    }
}

/* 0 is a session's process: no per-process CPU limit (the session's TTL and
 * CPU quota bound it). */
Test(rlimits, cpu_zero_is_unlimited)
{
    struct rlimits_spec s = spec;
    s.cpu_ms = 0;
    build(&s);
    const struct plan_rlimit *r = get(RLIMIT_CPU);
    cr_assert_eq(r->cur, RLIM_INFINITY);
    cr_assert_eq(r->max, RLIM_INFINITY);
}

Test(rlimits, exact_values)
{
    build(&spec);
    const struct plan_rlimit *r = get(RLIMIT_FSIZE);
    cr_assert_eq(r->cur, 1024 * 1024);
    cr_assert_eq(r->max, 1024 * 1024);
    r = get(RLIMIT_NOFILE);
    cr_assert_eq(r->cur, 64);
    cr_assert_eq(r->max, 64);
    r = get(RLIMIT_STACK);
    cr_assert_eq(r->cur, 8192 * 1024);
    cr_assert_eq(r->max, 8192 * 1024);
    r = get(RLIMIT_NPROC);
    cr_assert_eq(r->cur, 32);
    cr_assert_eq(r->max, 32);
    r = get(RLIMIT_CORE);
    cr_assert_eq(r->cur, 0);
    cr_assert_eq(r->max, 0);
    r = get(RLIMIT_MEMLOCK);
    cr_assert_eq(r->cur, 64 * 1024);
    cr_assert_eq(r->max, 64 * 1024);
    r = get(RLIMIT_MSGQUEUE);
    cr_assert_eq(r->cur, 0);
    cr_assert_eq(r->max, 0);
}

Test(rlimits, zero_stack_means_unlimited)
{
    struct rlimits_spec s = spec;
    s.stack_kb = 0;
    build(&s);
    const struct plan_rlimit *r = get(RLIMIT_STACK);
    cr_assert_eq(r->cur, RLIM_INFINITY);
    cr_assert_eq(r->max, RLIM_INFINITY);
}

Test(rlimits, soft_never_exceeds_hard)
{
    build(&spec);
    for (uint32_t i = 0; i < n; i++)
        cr_assert_leq(out[i].cur, out[i].max, "resource %u", out[i].resource);
}

/* Applying the table in a child really sets the limits (lowering needs no privilege). */
Test(rlimits, apply_sets_the_limits)
{
    build(&spec);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        struct plan_exec e = {.n_rlimits = n, .rlimits = out};
        const char *what = NULL;
        struct rlimit rl;
        if (rlimits_apply(&e, &what) != 0)
            _exit(10);
        if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur != 64 || rl.rlim_max != 64)
            _exit(11);
        if (getrlimit(RLIMIT_CPU, &rl) || rl.rlim_cur != 2 || rl.rlim_max != 3)
            _exit(12);
        if (getrlimit(RLIMIT_CORE, &rl) || rl.rlim_max != 0)
            _exit(13);
        _exit(0);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status));
    cr_assert_eq(WEXITSTATUS(status), 0, "child step %d failed", WEXITSTATUS(status));
}

Test(rlimits, apply_names_the_failing_resource)
{
    struct plan_rlimit bad[] = {{RLIMIT_NOFILE, 10, 5}}; /* soft above hard: EINVAL */
    struct plan_exec e = {.n_rlimits = 1, .rlimits = bad};
    const char *what = NULL;
    cr_assert_eq(rlimits_apply(&e, &what), -EINVAL);
    cr_assert_str_eq(what, "RLIMIT_NOFILE");
}
