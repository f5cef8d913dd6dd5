/* Unit tests for src/sandbox/uidpool.c: uid allocation with OFD locks shared across processes. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/uidpool.h"

#define BASE 2100000000u

static char dir[64];
static char lockfile[128];

static void make_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/sbx-uidpool-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(lockfile, sizeof lockfile, "%s/uids.lock", dir);
}

static void remove_dir(void)
{
    unlink(lockfile);
    rmdir(dir);
}

TestSuite(uidpool, .init = make_dir, .fini = remove_dir);

static void open_ok(struct uidpool *p, uint32_t count)
{
    struct sb_error e = {0};
    cr_assert_eq(uidpool_open(p, dir, BASE, count, &e), 0, "%s", e.msg);
}

static uint32_t acquire_ok(struct uidpool *p)
{
    struct sb_error e = {0};
    uint32_t uid = 0;
    cr_assert_eq(uidpool_acquire(p, &uid, &e), 0, "%s", e.msg);
    cr_assert(uid >= p->base && uid < p->base + p->count, "uid %u out of range", uid);
    return uid;
}

static void expect_exhausted(struct uidpool *p)
{
    struct sb_error e = {0};
    uint32_t uid = 0;
    char want[64];
    cr_assert_eq(uidpool_acquire(p, &uid, &e), -1, "got uid %u", uid);
    cr_assert_eq(e.code, SB_E_UNAVAILABLE);
    snprintf(want, sizeof want, "all %u sandbox uids are in use", p->count);
    cr_assert_str_eq(e.msg, want);
}

Test(uidpool, open_creates_a_private_lock_file)
{
    struct uidpool p;
    open_ok(&p, 8);
    struct stat st;
    cr_assert_eq(stat(lockfile, &st), 0);
    cr_assert(S_ISREG(st.st_mode));
    cr_assert_eq(st.st_mode & 07777, 0600);
    cr_assert_eq(p.base, BASE);
    cr_assert_eq(p.count, 8);
    uidpool_close(&p);
    cr_assert_eq(p.fd, -1);
    cr_assert_null(p.held);
}

Test(uidpool, acquires_are_distinct_and_in_range)
{
    struct uidpool p;
    open_ok(&p, 16);
    uint32_t seen[16];
    for (int i = 0; i < 16; i++) {
        seen[i] = acquire_ok(&p);
        for (int j = 0; j < i; j++)
            cr_assert_neq(seen[i], seen[j], "uid %u handed out twice", seen[i]);
    }
    expect_exhausted(&p);
    uidpool_close(&p);
}

Test(uidpool, pool_of_two_is_exhausted_on_the_third_acquire)
{
    struct uidpool p;
    open_ok(&p, 2);
    uint32_t a = acquire_ok(&p), b = acquire_ok(&p);
    cr_assert_neq(a, b);
    cr_assert_eq(a + b, 2 * BASE + 1, "both of BASE and BASE+1");
    expect_exhausted(&p);
    uidpool_close(&p);
}

Test(uidpool, release_makes_a_uid_reusable)
{
    struct uidpool p;
    open_ok(&p, 2);
    uint32_t a = acquire_ok(&p), b = acquire_ok(&p);
    uidpool_release(&p, a);
    cr_assert_eq(acquire_ok(&p), a);
    expect_exhausted(&p);
    uidpool_release(&p, b);
    uidpool_release(&p, b); /* twice: harmless */
    cr_assert_eq(acquire_ok(&p), b);
    /* Foreign uids are ignored, not wrapped into the range. */
    uidpool_release(&p, BASE - 1);
    uidpool_release(&p, BASE + 2);
    uidpool_release(&p, 0);
    expect_exhausted(&p);
    uidpool_close(&p);
}

/* OFD locks belong to the open file, not the process: a second pool in the
 * same process must not get a uid the first one holds. */
Test(uidpool, second_pool_in_the_same_process_conflicts)
{
    struct uidpool p, q;
    open_ok(&p, 2);
    open_ok(&q, 2);
    uint32_t a = acquire_ok(&p);
    uint32_t b = acquire_ok(&q);
    cr_assert_neq(a, b);
    expect_exhausted(&q);
    expect_exhausted(&p);
    uidpool_close(&p); /* closing drops p's locks */
    cr_assert_eq(acquire_ok(&q), a);
    uidpool_close(&q);
}

/* Child: opens its own pool and tries to take `want` uids; exits with how
 * many it got (+100 if the failure was not "unavailable"). */
static int child_take(int want, uint32_t avoid, bool hold_and_die)
{
    struct uidpool q;
    struct sb_error e;
    if (uidpool_open(&q, dir, BASE, 2, &e) < 0)
        return 200;
    int got = 0;
    for (int i = 0; i < want; i++) {
        uint32_t uid;
        if (uidpool_acquire(&q, &uid, &e) < 0)
            return e.code == SB_E_UNAVAILABLE ? got : 100 + got;
        if (uid == avoid)
            return 150;
        got++;
    }
    if (!hold_and_die)
        uidpool_close(&q);
    return got; /* exiting drops any lock still held */
}

static int in_child(int want, uint32_t avoid, bool hold_and_die)
{
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0)
        _exit(child_take(want, avoid, hold_and_die));
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status));
    return WEXITSTATUS(status);
}

Test(uidpool, another_process_cannot_take_a_held_uid)
{
    struct uidpool p;
    open_ok(&p, 2);
    uint32_t a = acquire_ok(&p);
    /* The child gets the other uid (never a) and then runs out. */
    cr_assert_eq(in_child(2, a, false), 1);
    uint32_t b = acquire_ok(&p);
    cr_assert_eq(in_child(1, UINT32_MAX, false), 0, "child got a uid the parent holds");
    /* Released by the parent: available to the other process again. */
    uidpool_release(&p, b);
    cr_assert_eq(in_child(2, a, false), 1);
    uidpool_close(&p);
}

Test(uidpool, a_dead_holder_leaks_nothing)
{
    /* The child takes both uids and exits without releasing them. */
    cr_assert_eq(in_child(2, UINT32_MAX, true), 2);
    struct uidpool p;
    open_ok(&p, 2);
    acquire_ok(&p);
    acquire_ok(&p);
    uidpool_close(&p);
}

Test(uidpool, invalid_ranges_are_rejected)
{
    static const struct { uint32_t base, count; } bad[] = {
        {0, 10}, {BASE, 0}, {UINT32_MAX - 5, 10}, {UINT32_MAX, 1}, {1, UINT32_MAX},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct uidpool p;
        struct sb_error e = {0};
        char want[80];
        cr_assert_eq(uidpool_open(&p, dir, bad[i].base, bad[i].count, &e), -1,
                     "%u+%u accepted", bad[i].base, bad[i].count);
        cr_assert_eq(e.code, SB_E_CONFIG);
        snprintf(want, sizeof want, "uid range %u+%u is invalid", bad[i].base, bad[i].count);
        cr_assert_str_eq(e.msg, want);
        cr_assert_eq(p.fd, -1);
        uidpool_close(&p); /* safe after a failed open */
    }
    /* The last uid of the range stays below UINT32_MAX ((uid_t)-1). */
    struct uidpool p;
    struct sb_error e = {0};
    cr_assert_eq(uidpool_open(&p, dir, UINT32_MAX - 1, 1, &e), 0, "%s", e.msg);
    uint32_t uid = 0;
    cr_assert_eq(uidpool_acquire(&p, &uid, &e), 0);
    cr_assert_eq(uid, UINT32_MAX - 1);
    uidpool_close(&p);
}

Test(uidpool, open_errors_name_the_path)
{
    struct uidpool p;
    struct sb_error e = {0};
    char want[200];
    cr_assert_eq(uidpool_open(&p, "/nonexistent-soulbox-dir", BASE, 2, &e), -1);
    cr_assert_eq(e.code, SB_E_INTERNAL);
    cr_assert_str_eq(e.msg, "open /nonexistent-soulbox-dir/uids.lock: ENOENT");
    /* A symlink planted as the lock file is not followed. */
    cr_assert_eq(symlink("/etc/passwd", lockfile), 0);
    cr_assert_eq(uidpool_open(&p, dir, BASE, 2, &e), -1);
    snprintf(want, sizeof want, "open %s: ELOOP", lockfile);
    cr_assert_str_eq(e.msg, want);
    cr_assert_eq(p.fd, -1);
}
