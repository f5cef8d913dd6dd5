/* Unit tests for src/sandbox/cgroup.c: the pure part, cgroup naming. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sandbox/cgroup.h"

Test(cgroup, name_holds_pid_and_sequence)
{
    char buf[64], want[64];
    cg_make_name(buf, sizeof buf, 42);
    snprintf(want, sizeof want, "sbx-%d-42", (int)getpid());
    cr_assert_str_eq(buf, want);
    cg_make_name(buf, sizeof buf, 18446744073709551615ul);
    snprintf(want, sizeof want, "sbx-%d-18446744073709551615", (int)getpid());
    cr_assert_str_eq(buf, want);
}

Test(cgroup, names_differ_by_sequence_and_stay_terminated)
{
    char a[64], b[64], tiny[6];
    cg_make_name(a, sizeof a, 1);
    cg_make_name(b, sizeof b, 2);
    cr_assert_str_neq(a, b);
    cr_assert_null(strchr(a, '/'), "a cgroup name is one path component");
    cg_make_name(tiny, sizeof tiny, 7);
    cr_assert_eq(strlen(tiny), sizeof tiny - 1);
    cr_assert_eq(strncmp(tiny, a, sizeof tiny - 1), 0, "truncated, not garbled");
}
