/* Unit tests for src/sandbox/cgroup.c (cgroup naming) and cgroup_favor.c. */
#include <criterion/criterion.h>
#include <stdbool.h>
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

/* The cgroup2 line of /proc/self/mountinfo (mount options and super options). */
static bool cgroup2_line(char *out, size_t len)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    char line[4096];
    bool found = false;
    while (f && !found && fgets(line, sizeof line, f))
        if (strstr(line, " - cgroup2 ")) {
            snprintf(out, len, "%s", line);
            found = true;
        }
    if (f)
        fclose(f);
    return found;
}

Test(cgroup, favordynmods_is_turned_on_once_and_keeps_the_other_options)
{
    if (geteuid() != 0)
        cr_skip_test("needs root (remounts cgroup2)");
    char before[4096] = "", after[4096] = "";
    bool mounted = cgroup2_line(before, sizeof before);
    struct sb_error err;
    int rc = cg_favor_dynmods("/tmp", &err);
    cr_assert_geq(rc, 0, "cg_favor_dynmods: %s", err.msg);
    cr_assert_eq(cg_favor_dynmods("/tmp", &err), 0, "already on: nothing to do");
    if (!mounted)
        return; /* v1 only: the option was set through a passing mount */
    cr_assert(cgroup2_line(after, sizeof after));
    cr_assert_not_null(strstr(strstr(after, " - "), "favordynmods"), "%s", after);
    /* the same mount point and per-mount options (fields 5 and 6) */
    char mp1[1024], mo1[512], mp2[1024], mo2[512];
    cr_assert_eq(sscanf(before, "%*s %*s %*s %*s %1023s %511s", mp1, mo1), 2);
    cr_assert_eq(sscanf(after, "%*s %*s %*s %*s %1023s %511s", mp2, mo2), 2);
    cr_assert_str_eq(mp1, mp2);
    cr_assert_str_eq(mo1, mo2);
    /* every super option it had is still there */
    char *sup = strstr(before, " - cgroup2 ");
    sup = strchr(sup + 11, ' ') + 1;
    sup[strcspn(sup, "\n")] = '\0';
    for (char *tok = strtok(sup, ","); tok; tok = strtok(NULL, ","))
        cr_assert_not_null(strstr(strstr(after, " - "), tok), "lost %s: %s", tok, after);
}
