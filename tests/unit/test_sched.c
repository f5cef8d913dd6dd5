/* Unit tests for src/scheduler/sched.c: the concurrency limit and the FIFO queue. */
#include <criterion/criterion.h>
#include <string.h>

#include "scheduler/sched.h"

struct job {
    struct sched_item item;    /* first: start() gets it back */
    char name;
};

static char started[32];

static void start(struct sched_item *it)
{
    size_t n = strlen(started);
    started[n] = ((struct job *)it)->name;
    started[n + 1] = '\0';
}

static void init_jobs(struct job *j, size_t n)
{
    started[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        memset(&j[i], 0, sizeof j[i]);
        j[i].item.start = start;
        j[i].name = (char)('a' + i);
    }
}

Test(sched, runs_up_to_the_limit_then_queues_in_order)
{
    struct sched s;
    struct job j[5];
    init_jobs(j, 5);
    sched_init(&s, 2, 2);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(sched_submit(&s, &j[i].item), 0);
    cr_assert_str_eq(started, "ab");
    cr_assert_eq(s.running, 2);
    cr_assert_eq(s.queued, 2);
    cr_assert_eq(sched_submit(&s, &j[4].item), -1, "the queue is full");
    cr_assert_not(j[4].item.queued);
    sched_done(&s);
    cr_assert_str_eq(started, "abc");
    sched_done(&s);
    cr_assert_str_eq(started, "abcd");
    cr_assert_eq(s.queued, 0);
    sched_done(&s);
    sched_done(&s);
    cr_assert_eq(s.running, 0);
}

Test(sched, a_cancelled_item_never_starts)
{
    struct sched s;
    struct job j[4];
    init_jobs(j, 4);
    sched_init(&s, 1, 10);
    for (int i = 0; i < 4; i++)
        sched_submit(&s, &j[i].item);
    cr_assert(sched_cancel(&s, &j[2].item));
    cr_assert_not(sched_cancel(&s, &j[2].item), "no longer queued");
    cr_assert_not(sched_cancel(&s, &j[0].item), "running, not queued");
    cr_assert_eq(s.queued, 2);
    sched_done(&s);
    sched_done(&s);
    cr_assert_str_eq(started, "abd");
}

Test(sched, a_new_item_waits_behind_the_queue)
{
    struct sched s;
    struct job j[3];
    init_jobs(j, 3);
    sched_init(&s, 1, 10);
    sched_submit(&s, &j[0].item);
    sched_submit(&s, &j[1].item);
    sched_done(&s);                  /* b runs */
    s.max_running = 2;               /* room, but c must not overtake anyone */
    sched_submit(&s, &j[2].item);
    cr_assert_str_eq(started, "abc");
}

Test(sched, a_reservation_always_submits)
{
    struct sched s;
    struct job j[3];
    init_jobs(j, 3);
    sched_init(&s, 1, 1);
    cr_assert_eq(sched_reserve(&s), 0);
    cr_assert_eq(sched_reserve(&s), 0);
    cr_assert_eq(sched_reserve(&s), -1, "running + queue are reserved");
    sched_submit_reserved(&s, &j[0].item);
    sched_submit_reserved(&s, &j[1].item);
    cr_assert_str_eq(started, "a");
    cr_assert_eq(s.queued, 1);
    cr_assert_eq(s.reserved, 0);
    sched_release(&s);               /* nothing reserved: harmless */
    cr_assert_eq(s.reserved, 0);
    sched_done(&s);
    cr_assert_str_eq(started, "ab");
}
