/* Unit tests for src/sandbox/cgroup.c (cgroup naming) and cgroup_favor.c. */
#include <criterion/criterion.h>
#include <limits.h>
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

/* dir/file holds `want` (one line). */
static void expect_file(const char *dir, const char *file, const char *want)
{
    char path[PATH_MAX], v[64];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "re");
    cr_assert_not_null(f, "%s", path);
    cr_assert_not_null(fgets(v, sizeof v, f));
    fclose(f);
    v[strcspn(v, "\n")] = '\0';
    cr_assert_str_eq(v, want, "%s", path);
}

/* A claim rewrites only what changes, and what it rewrites is right: the
 * CPU weight of a pooled sandbox, a quota removed, memory raised and lowered. */
Test(cgroup, update_changes_exactly_the_limits_that_differ)
{
    if (geteuid() != 0)
        cr_skip_test("needs root (creates cgroups)");
    struct cg_ctx ctx;
    struct sb_error err;
    char root[64];
    snprintf(root, sizeof root, "soulbox-unit-%d", (int)getpid());
    cr_assert_eq(cg_init(&ctx, root, &err), 0, "%s", err.msg);
    if (ctx.version != CG_V1 || ctx.ncpus < 2) {
        for (int i = 0; i < ctx.ndirs; i++)
            rmdir(ctx.dirs[i]);
        cr_skip_test("written for cgroup v1 with 2+ CPUs");
    }
    struct cg cg;
    char name[64], cpu[PATH_MAX], mem[PATH_MAX], pids[PATH_MAX];
    cg_make_name(name, sizeof name, 990001);
    struct cg_limits pooled = {256u << 20, 65, 100, true};
    cr_assert_eq(cg_create(&ctx, name, &pooled, &cg, &err), 0, "%s", err.msg);
    snprintf(cpu, sizeof cpu, "%s/%s", ctx.dirs[ctx.dir_of[CG_CPU]], name);
    snprintf(mem, sizeof mem, "%s/%s", ctx.dirs[ctx.dir_of[CG_MEMORY]], name);
    snprintf(pids, sizeof pids, "%s/%s", ctx.dirs[ctx.dir_of[CG_PIDS]], name);
    expect_file(cpu, "cpu.shares", "2");
    expect_file(cpu, "cpu.cfs_quota_us", "100000");
    /* claimed: full weight, no quota, more memory, fewer processes */
    struct cg_limits req = {512u << 20, 11, 0, false};
    cr_assert_eq(cg_update(&cg, &req), 0);
    expect_file(cpu, "cpu.shares", "1024");
    expect_file(cpu, "cpu.cfs_quota_us", "-1"); /* the quota is gone */
    expect_file(mem, "memory.limit_in_bytes", "536870912");
    expect_file(pids, "pids.max", "11");
    /* lower again, with a quota back */
    struct cg_limits low = {64u << 20, 11, 50, false};
    cr_assert_eq(cg_update(&cg, &low), 0);
    expect_file(mem, "memory.limit_in_bytes", "67108864");
    expect_file(cpu, "cpu.cfs_quota_us", "50000");
    cr_assert_eq(cg_destroy(&cg, &err), 0, "%s", err.msg);
    for (int i = 0; i < ctx.ndirs; i++)
        cr_assert_eq(rmdir(ctx.dirs[i]), 0, "%s", ctx.dirs[i]);
}
