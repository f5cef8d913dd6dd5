/* Unit tests for src/sandbox/mountinfo.c: finding mounts in mountinfo text. */
#include <criterion/criterion.h>
#include <errno.h>

#include "sandbox/mountinfo.h"

static const char *const text =
    "22 1 0:21 / /sys/fs/cgroup rw,nosuid,nodev,noexec - tmpfs tmpfs ro,mode=755\n"
    "23 22 0:22 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "24 22 0:23 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpuacct,cpu\n"
    "25 22 0:24 / /sys/fs/cgroup/my\\040mem rw,nosuid shared:9 - cgroup cgroup rw,memory\n"
    "26 22 0:25 / /sys/fs/cgroup/unified rw,nosuid,relatime - cgroup2 cgroup2 "
    "rw,nsdelegate,memory_recursiveprot\n";

Test(mountinfo, finds_by_type_and_super_option)
{
    struct mount_entry m;
    cr_assert_eq(mountinfo_find(text, "cgroup", "cpuacct", &m), 0);
    cr_assert_str_eq(m.point, "/sys/fs/cgroup/cpu,cpuacct");
    cr_assert_eq(mountinfo_find(text, "cgroup", "cpu", &m), 0);
    cr_assert_str_eq(m.point, "/sys/fs/cgroup/cpu", "the first that holds it, as a whole entry");
    cr_assert_eq(mountinfo_find(text, "cgroup2", NULL, &m), 0);
    cr_assert_str_eq(m.point, "/sys/fs/cgroup/unified");
    cr_assert_str_eq(m.opts, "rw,nosuid,relatime");
    cr_assert_str_eq(m.super, "rw,nsdelegate,memory_recursiveprot");
    cr_assert_eq(mountinfo_find(text, "cgroup", "pids", &m), -ENOENT);
    cr_assert_eq(mountinfo_find("", "cgroup2", NULL, &m), -ENOENT);
}

Test(mountinfo, optional_fields_and_escapes)
{
    struct mount_entry m;
    cr_assert_eq(mountinfo_find(text, "cgroup", "memory", &m), 0);
    cr_assert_str_eq(m.point, "/sys/fs/cgroup/my mem");
    cr_assert_str_eq(m.opts, "rw,nosuid");
}

Test(mountinfo, options_are_whole_entries)
{
    cr_assert(mount_opt_has("rw,nosuid,relatime", "nosuid"));
    cr_assert(mount_opt_has("rw", "rw"));
    cr_assert_not(mount_opt_has("rw,nosuidx", "nosuid"));
    cr_assert_not(mount_opt_has("favordynmodsx", "favordynmods"));
    cr_assert_not(mount_opt_has("", "rw"));
}
