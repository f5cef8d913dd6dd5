/* Snapshots of booted guests, one per machine shape, kept in memory; each new VM is restored from one instead of booting. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "vm/snapshot.h"

/*
 * A snapshot is QEMU's migration stream of a guest saved right after its
 * /init loaded the modules (before anything of a sandbox exists in it), in
 * a sealed memfd. The machine must be the same on both sides, so there is
 * one per shape: guest RAM, vCPUs, accelerator, TCG cache, network card, test
 * hooks. The first VM of a shape makes it (one extra boot, ~1 s of saving),
 * under the lock: VMs of that shape wait and then restore. A failure falls
 * back to booting, and is tried again after RETRY_MS.
 */

#define SNAP_MAX 8
#define RETRY_MS 300000
#define MARK "SOULBOX-SNAPSHOT-POINT"

struct snap {
    bool used;
    unsigned memory_mb, vcpus, tb_mb;
    enum vmm_accel accel;
    bool net, test_hooks;
    int fd;                    /* the device state, a sealed memfd; -1: none (yet) */
    int ram;                   /* the guest's RAM, a sealed memfd */
    uint64_t failed_ms;        /* when it last failed */
    uint64_t used_ms;
};

struct vm_snaps {
    pthread_mutex_t mu;
    struct snap s[SNAP_MAX];
    atomic_ullong restores, boots, saved, restore_failures;
    char error[256];           /* the last failure, for /health */
};

struct vm_snaps *vm_snaps_new(void)
{
    struct vm_snaps *v = calloc(1, sizeof *v);
    if (v)
        pthread_mutex_init(&v->mu, NULL);
    return v;
}

void vm_snaps_free(struct vm_snaps *v)
{
    if (!v)
        return;
    for (int i = 0; i < SNAP_MAX; i++)
        if (v->s[i].used && v->s[i].fd >= 0)
            close(v->s[i].fd), close(v->s[i].ram);
    pthread_mutex_destroy(&v->mu);
    free(v);
}

static bool same_shape(const struct snap *s, const struct vmm_req *r)
{
    return s->used && s->memory_mb == r->memory_mb && s->vcpus == r->vcpus &&
           s->tb_mb == r->tb_mb && s->accel == r->accel && s->net == r->net &&
           s->test_hooks == r->test_hooks;
}

/* Reads the console until the guest says it is ready to be saved. */
static int wait_mark(int console, unsigned timeout_ms, struct sb_error *err)
{
    char buf[8192];
    size_t len = 0;
    uint64_t end = util_mono_ns() / 1000000 + timeout_ms;
    for (;;) {
        uint64_t now = util_mono_ns() / 1000000;
        struct pollfd pf = {console, POLLIN, 0};
        int rc = now < end ? poll(&pf, 1, (int)(end - now)) : 0;
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc == 0)
            return sb_fail(err, SB_E_SANDBOX_SETUP, "the guest to snapshot did not boot within "
                           "%u ms", timeout_ms);
        if (len == sizeof buf - 1) { /* keep the tail */
            memmove(buf, buf + len / 2, len - len / 2);
            len -= len / 2;
        }
        ssize_t n = read(console, buf + len, sizeof buf - 1 - len);
        if (n <= 0) {
            buf[len] = '\0';
            const char *tail = len > 300 ? buf + len - 300 : buf;
            return sb_fail(err, SB_E_SANDBOX_SETUP, "the guest to snapshot ended while booting%s%s",
                           len ? ": " : "", tail);
        }
        len += (size_t)n;
        buf[len] = '\0';
        if (strstr(buf, MARK))
            return 0;
    }
}

static int no_plumbing(void *arg, int pidfd, struct sb_error *err)
{
    (void)arg, (void)pidfd, (void)err;
    return 0; /* the guest to save never sends a packet: its namespace stays empty */
}

static int seal(int fd)
{
    return fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK);
}

static int ram_memfd(unsigned memory_mb)
{
    int fd = memfd_create("soulbox-vm-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd >= 0 && ftruncate(fd, (off_t)memory_mb << 20) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Boots a guest of s's shape (like r) and saves it: the device state into
 * s->fd, the RAM (QEMU leaves it out of the stream) in s->ram. */
static int make(struct snap *s, const struct vmm_req *like, struct sb_error *err)
{
    int fd = memfd_create("soulbox-vm-state", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    int ram = ram_memfd(like->memory_mb);
    if (fd < 0 || ram < 0) {
        sb_fail_errno(err, SB_E_SANDBOX_SETUP, errno, "memfd for a snapshot");
        goto fail;
    }
    struct vmm_req r = *like;
    r.mode = VMM_SNAPSHOT;
    r.snap_fd = -1;
    r.ram_fd = ram;
    r.plumb = no_plumbing;
    struct vmm_procs p;
    int rc = vmm_launch(&r, &p, err);
    if (rc == 0)
        rc = wait_mark(p.console, 60000, err);
    if (rc == 0)
        rc = vmm_snapshot_save(&p, fd, 60000, err);
    vmm_reap(&p); /* its mappings of ram are gone: it can be sealed */
    struct stat st;
    if (rc == 0 && (fstat(fd, &st) < 0 || st.st_size == 0))
        rc = sb_fail(err, SB_E_SANDBOX_SETUP, "the VM's snapshot is empty");
    if (rc == 0 && (seal(fd) < 0 || seal(ram) < 0))
        rc = sb_fail_errno(err, SB_E_SANDBOX_SETUP, errno, "seal the snapshot");
    if (rc < 0)
        goto fail;
    s->fd = fd, s->ram = ram;
    return 0;
fail:
    if (fd >= 0)
        close(fd);
    if (ram >= 0)
        close(ram);
    return -1;
}

/* A private copy of the saved RAM: only what the guest had written (the
 * rest stays a hole, as in a fresh guest). */
static int ram_copy(int src, unsigned memory_mb)
{
    int dst = ram_memfd(memory_mb);
    if (dst < 0)
        return -1;
    off_t end = (off_t)memory_mb << 20, at = 0;
    while (at < end) {
        off_t d = lseek(src, at, SEEK_DATA);
        if (d < 0)
            break; /* ENXIO: no data after at */
        off_t h = lseek(src, d, SEEK_HOLE);
        if (h < 0)
            h = end;
        loff_t in = d, out = d;
        while (in < h) {
            ssize_t n = copy_file_range(src, &in, dst, &out, (size_t)(h - in), 0);
            if (n <= 0) {
                close(dst);
                return -1;
            }
        }
        at = h;
    }
    return dst;
}

/* The slot for r's shape: its own, a free one, or the least recently used. */
static struct snap *slot_for(struct vm_snaps *v, const struct vmm_req *r)
{
    struct snap *lru = &v->s[0];
    for (int i = 0; i < SNAP_MAX; i++) {
        if (same_shape(&v->s[i], r))
            return &v->s[i];
        if (!v->s[i].used || (lru->used && v->s[i].used_ms < lru->used_ms))
            lru = &v->s[i];
    }
    if (lru->used && lru->fd >= 0)
        close(lru->fd), close(lru->ram);
    *lru = (struct snap){.used = true, .memory_mb = r->memory_mb, .vcpus = r->vcpus,
                         .tb_mb = r->tb_mb, .accel = r->accel, .net = r->net,
                         .test_hooks = r->test_hooks, .fd = -1, .ram = -1};
    return lru;
}

int vm_snapshot_open(struct vm_snaps *v, const struct vmm_req *r, int *ram_fd,
                     struct sb_error *err)
{
    pthread_mutex_lock(&v->mu);
    struct snap *s = slot_for(v, r);
    uint64_t now = util_mono_ns() / 1000000;
    s->used_ms = now;
    if (s->fd < 0 && (!s->failed_ms || now - s->failed_ms >= RETRY_MS)) {
        struct sb_error e = {0};
        if (make(s, r, &e) < 0) {
            s->failed_ms = now ? now : 1;
            snprintf(v->error, sizeof v->error, "%s", e.msg);
            log_msg(LOG_WARN, "microvm: no snapshot for %u MiB, %u vCPU guests (they boot): %s",
                     r->memory_mb, r->vcpus, e.msg);
        } else {
            s->failed_ms = 0;
            v->error[0] = '\0';
            atomic_fetch_add(&v->saved, 1);
        }
    }
    int fd = -1;
    if (s->fd >= 0) {
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", s->fd);
        fd = open(path, O_RDONLY | O_CLOEXEC); /* its own offset: restores run at once */
        *ram_fd = fd >= 0 ? ram_copy(s->ram, s->memory_mb) : -1;
        if (fd < 0 || *ram_fd < 0) {
            sb_fail_errno(err, SB_E_SANDBOX_SETUP, errno, "open the snapshot");
            if (fd >= 0)
                close(fd);
            fd = -1;
        }
    } else {
        sb_fail(err, SB_E_SANDBOX_SETUP, "no snapshot: %s", v->error);
    }
    pthread_mutex_unlock(&v->mu);
    return fd;
}

void vm_snapshot_count(struct vm_snaps *v, bool restored)
{
    atomic_fetch_add(restored ? &v->restores : &v->boots, 1);
}

void vm_snapshot_restore_failed(struct vm_snaps *v, const char *why)
{
    atomic_fetch_add(&v->restore_failures, 1);
    pthread_mutex_lock(&v->mu);
    snprintf(v->error, sizeof v->error, "a restore: %s", why);
    pthread_mutex_unlock(&v->mu);
    log_msg(LOG_WARN, "microvm: a VM restored from a snapshot failed, it boots instead: %s", why);
}

void vm_snapshot_stats(struct vm_snaps *v, struct vm_snap_stats *st)
{
    pthread_mutex_lock(&v->mu);
    st->restores = atomic_load(&v->restores);
    st->boots = atomic_load(&v->boots);
    st->saved = atomic_load(&v->saved);
    st->restore_failures = atomic_load(&v->restore_failures);
    st->held = 0;
    for (int i = 0; i < SNAP_MAX; i++)
        st->held += v->s[i].used && v->s[i].fd >= 0;
    snprintf(st->error, sizeof st->error, "%s", v->error);
    pthread_mutex_unlock(&v->mu);
}
