/* Host side: sandbox uid allocation with OFD byte-range locks on a shared lock file. */
#include "sandbox/uidpool.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int uidpool_open(struct uidpool *p, const char *state_dir, uint32_t base, uint32_t count,
                 struct sb_error *err)
{
    memset(p, 0, sizeof *p);
    p->fd = -1;
    if (base == 0 || count == 0 || base > UINT32_MAX - count)
        return sb_fail(err, SB_E_CONFIG, "uid range %u+%u is invalid", base, count);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/uids.lock", state_dir);
    p->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (p->fd < 0)
        return sb_fail_errno(err, SB_E_INTERNAL, errno, "open %s", path);
    p->held = calloc(count, 1);
    if (!p->held) {
        close(p->fd);
        p->fd = -1;
        return sb_fail(err, SB_E_INTERNAL, "out of memory");
    }
    p->base = base;
    p->count = count;
    p->cursor = (uint32_t)getpid() % count;
    pthread_mutex_init(&p->mu, NULL);
    return 0;
}

static int lock_slot(int fd, uint32_t slot, short type)
{
    struct flock fl = {
        .l_type = type, .l_whence = SEEK_SET, .l_start = (off_t)slot, .l_len = 1,
    };
    return fcntl(fd, F_OFD_SETLK, &fl);
}

int uidpool_acquire(struct uidpool *p, uint32_t *uid, struct sb_error *err)
{
    pthread_mutex_lock(&p->mu);
    for (uint32_t i = 0; i < p->count; i++) {
        uint32_t slot = (p->cursor + i) % p->count;
        if (p->held[slot])
            continue;
        if (lock_slot(p->fd, slot, F_WRLCK) == 0) {
            p->held[slot] = 1;
            p->cursor = (slot + 1) % p->count;
            pthread_mutex_unlock(&p->mu);
            *uid = p->base + slot;
            return 0;
        }
        if (errno != EAGAIN && errno != EACCES) {
            int e = errno;
            pthread_mutex_unlock(&p->mu);
            return sb_fail_errno(err, SB_E_INTERNAL, e, "fcntl F_OFD_SETLK uids.lock");
        }
    }
    pthread_mutex_unlock(&p->mu);
    return sb_fail(err, SB_E_UNAVAILABLE, "all %u sandbox uids are in use", p->count);
}

void uidpool_release(struct uidpool *p, uint32_t uid)
{
    if (uid < p->base || uid - p->base >= p->count)
        return;
    uint32_t slot = uid - p->base;
    pthread_mutex_lock(&p->mu);
    if (p->held[slot]) {
        lock_slot(p->fd, slot, F_UNLCK);
        p->held[slot] = 0;
    }
    pthread_mutex_unlock(&p->mu);
}

void uidpool_close(struct uidpool *p)
{
    if (p->fd >= 0)
        close(p->fd);
    free(p->held);
    if (p->held)
        pthread_mutex_destroy(&p->mu);
    memset(p, 0, sizeof *p);
    p->fd = -1;
}
