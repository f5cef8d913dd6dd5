/* Host side: a unique unprivileged uid for every live sandbox, across processes. */
#ifndef SB_SANDBOX_UIDPOOL_H
#define SB_SANDBOX_UIDPOOL_H

#include <pthread.h>
#include <stdint.h>

#include "common/error.h"

/*
 * Slot i of [base, base + count) is taken while some process holds an OFD
 * byte-range lock on byte i of <state_dir>/uids.lock. The kernel drops the
 * lock when its holder dies, so a crash never leaks a uid; within a process a
 * bitmap tells which slots this process holds.
 */
struct uidpool {
    int fd;
    uint32_t base;
    uint32_t count;
    uint32_t cursor;
    uint8_t *held;
    pthread_mutex_t mu;
};

int uidpool_open(struct uidpool *p, const char *state_dir, uint32_t base, uint32_t count,
                 struct sb_error *err);
/* Takes a free uid. Returns 0, or -1 with err (SB_E_UNAVAILABLE when every
 * uid of the range is in use). */
int uidpool_acquire(struct uidpool *p, uint32_t *uid, struct sb_error *err);
void uidpool_release(struct uidpool *p, uint32_t uid);
void uidpool_close(struct uidpool *p);

#endif
