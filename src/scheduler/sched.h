/* Admission: at most N executions run at once, a bounded FIFO queue waits for a slot. */
#ifndef SB_SCHEDULER_SCHED_H
#define SB_SCHEDULER_SCHED_H

#include <stdbool.h>

#include "common/list.h"

struct sched_item {
    void (*start)(struct sched_item *it);  /* called when the item gets a slot */
    struct list_node node;                 /* in the queue, while queued */
    bool queued;
};

struct sched {
    unsigned max_running;
    unsigned max_queue;
    unsigned running;
    unsigned queued;
    unsigned reserved;     /* admitted, not yet submitted (e.g. being persisted) */
    struct list_node queue; /* oldest first */
};

void sched_init(struct sched *s, unsigned max_running, unsigned max_queue);

/* Starts it now (it->start runs before this returns) or queues it.
 * Returns 0, or -1 when the queue is full (the item is untouched). */
int sched_submit(struct sched *s, struct sched_item *it);

/* Admission in two steps: reserve room now, submit later (it cannot fail
 * then) or release the reservation. Returns 0, or -1 when full. */
int sched_reserve(struct sched *s);
void sched_submit_reserved(struct sched *s, struct sched_item *it);
void sched_release(struct sched *s);

/* A running item finished: frees its slot and starts the oldest queued one. */
void sched_done(struct sched *s);

/* Removes a still-queued item (its client went away). Returns whether it was queued. */
bool sched_cancel(struct sched *s, struct sched_item *it);

#endif
