/* Snapshots of booted microVM guests: made once per machine shape, each new VM restored from one. */
#ifndef SB_VM_SNAPSHOT_H
#define SB_VM_SNAPSHOT_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "vm/vmm.h"

struct vm_snaps;

struct vm_snap_stats {
    uint64_t restores, boots;  /* VMs started each way */
    uint64_t saved;            /* snapshots made */
    uint64_t restore_failures; /* restores that failed (those VMs booted instead) */
    unsigned held;             /* snapshots in memory now */
    char error[256];           /* the last failure to make one ("" if none) */
};

struct vm_snaps *vm_snaps_new(void);
void vm_snaps_free(struct vm_snaps *v);
/* A descriptor (its own offset, at 0) of the device state saved for r's
 * machine, and in *ram_fd a private copy of its RAM, made now if there is
 * none (blocking: a worker thread's job; a VM of the same shape waits for
 * it). Returns -1 with err when none can be had: the VM then boots. */
int vm_snapshot_open(struct vm_snaps *v, const struct vmm_req *r, int *ram_fd,
                     struct sb_error *err);
/* Counts a VM started (restored, or booted). */
void vm_snapshot_count(struct vm_snaps *v, bool restored);
/* Counts and logs a restore that failed (its VM boots instead). */
void vm_snapshot_restore_failed(struct vm_snaps *v, const char *why);
void vm_snapshot_stats(struct vm_snaps *v, struct vm_snap_stats *st);

#endif
