/* Admission control: a concurrency limit and a FIFO queue. */
#include "scheduler/sched.h"

#include <stddef.h>

void sched_init(struct sched *s, unsigned max_running, unsigned max_queue)
{
    s->max_running = max_running;
    s->max_queue = max_queue;
    s->running = s->queued = s->reserved = 0;
    s->head = s->tail = NULL;
}

int sched_submit(struct sched *s, struct sched_item *it)
{
    it->next = it->prev = NULL;
    it->queued = false;
    if (s->running < s->max_running && !s->head) {
        s->running++;
        it->start(it);
        return 0;
    }
    if (s->queued >= s->max_queue)
        return -1;
    it->queued = true;
    it->prev = s->tail;
    if (s->tail)
        s->tail->next = it;
    else
        s->head = it;
    s->tail = it;
    s->queued++;
    return 0;
}

static void unlink_item(struct sched *s, struct sched_item *it)
{
    if (it->prev)
        it->prev->next = it->next;
    else
        s->head = it->next;
    if (it->next)
        it->next->prev = it->prev;
    else
        s->tail = it->prev;
    it->next = it->prev = NULL;
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
    while (s->head && s->running < s->max_running) {
        struct sched_item *it = s->head;
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
