/* Admission control: a concurrency limit and a FIFO queue. */
#include "scheduler/sched.h"

#include <stddef.h>

void sched_init(struct sched *s, unsigned max_running, unsigned max_queue)
{
    s->max_running = max_running;
    s->max_queue = max_queue;
    s->running = s->queued = s->reserved = 0;
    list_init(&s->queue);
}

int sched_submit(struct sched *s, struct sched_item *it)
{
    list_init(&it->node);
    it->queued = false;
    if (s->running < s->max_running && list_empty(&s->queue)) {
        s->running++;
        it->start(it);
        return 0;
    }
    if (s->queued >= s->max_queue)
        return -1;
    it->queued = true;
    list_insert_tail(&s->queue, &it->node);
    s->queued++;
    return 0;
}

static void unlink_item(struct sched *s, struct sched_item *it)
{
    list_remove(&it->node);
    it->queued = false;
    s->queued--;
}

int sched_reserve(struct sched *s)
{
    if (s->running + s->queued + s->reserved >= s->max_running + s->max_queue)
        return -1;
    s->reserved++;
    return 0;
}

void sched_release(struct sched *s)
{
    if (s->reserved)
        s->reserved--;
}

void sched_submit_reserved(struct sched *s, struct sched_item *it)
{
    sched_release(s);
    s->max_queue++; /* the reservation guaranteed room: never refuse here */
    sched_submit(s, it);
    s->max_queue--;
}

void sched_done(struct sched *s)
{
    if (s->running)
        s->running--;
    while (!list_empty(&s->queue) && s->running < s->max_running) {
        struct sched_item *it = list_first_entry(&s->queue, struct sched_item, node);
        unlink_item(s, it);
        s->running++;
        it->start(it);
    }
}

bool sched_cancel(struct sched *s, struct sched_item *it)
{
    if (!it->queued)
        return false;
    unlink_item(s, it);
    return true;
}
