/* The VMM: launching QEMU's microvm (and virtiofsd for the runtimes) confined. The one place that knows QEMU's command line. */
#ifndef SB_VM_VMM_H
#define SB_VM_VMM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "sandbox/cgroup.h"

enum vmm_accel { VMM_TCG, VMM_KVM };

/* How a VM starts (docs/microvm.md, "Snapshots"):
 * VMM_BOOT     boots with the runtimes' virtiofs device (virtio-mmio);
 * VMM_SNAPSHOT boots with no runtimes device and a PCIe root port, for its
 *              guest to be saved once booted (snapshot.c): no virtiofsd;
 * VMM_RESTORE  the same machine loaded from that image (-incoming), the
 *              runtimes' device then plugged into the root port over QMP. */
enum vmm_mode { VMM_BOOT, VMM_SNAPSHOT, VMM_RESTORE };

/* What the guest sees of the host's files: each path read-only at the same
 * place (a directory, a file, or a symlink copied as a symlink). */
struct vmm_export {
    const char *const *paths;
    size_t n_paths;
    const char *agent_path;    /* this binary: /.soulbox/soulbox in the guest */
};

struct vmm_req {
    enum vmm_mode mode;
    int snap_fd;               /* VMM_RESTORE: the device state to load (QEMU's fd 8) */
    int ram_fd;                /* VMM_SNAPSHOT, VMM_RESTORE: the guest's RAM, a memfd of
                                  memory_mb (QEMU's fd 10); saved apart from the state */
    const char *qemu;          /* qemu-system-x86_64 */
    const char *virtiofsd;
    enum vmm_accel accel;
    unsigned memory_mb, vcpus;
    unsigned tb_mb;            /* TCG's code cache */
    int kernel_fd, initrd_fd;  /* opened by the caller, read by QEMU as /proc/self/fd/N */
    unsigned tsc_khz;          /* the host's TSC (TCG's guest clock calibration) */
    bool test_hooks;           /* the guest agent obeys test markers (SOULBOX_TEST_VM_HOOKS) */
    bool test_no_hotplug;      /* a restore leaves the runtimes out (SOULBOX_TEST_VM_NO_HOTPLUG) */
    struct vmm_export export;
    const char *export_dir;    /* empty dir the export is assembled on (in a private mount ns) */
    uint32_t uid;              /* QEMU runs as uid:uid */
    struct cg *cg;             /* created, not attached: both join it before exec */
    /* Egress (docs/network.md): QEMU starts in a network namespace of its
     * own, which plumb (called before QEMU may run) makes the sandbox's
     * filtered egress; the guest's virtio-net is QEMU's user-mode stack, so
     * every connection the guest opens is a socket of QEMU's in it. */
    bool net;
    int (*plumb)(void *arg, int qemu_pidfd, struct sb_error *err);
    void *plumb_arg;
};

/* What runs for one VM. */
struct vmm_procs {
    pid_t qemu_pid, fsd_pid;
    int qemu_pidfd, fsd_pidfd;
    int port;                  /* the virtio-serial port "sbx" (stream socket) */
    int console;               /* the guest's serial console (read end) */
    int qmp;                   /* VMM_SNAPSHOT, VMM_RESTORE: QEMU's monitor (QMP) */
};

/* Starts virtiofsd (not for VMM_SNAPSHOT), then QEMU, each already in the
 * cgroup. Blocking (a worker thread's job). Returns 0, or -1 with err
 * (nothing left running). */
int vmm_launch(const struct vmm_req *req, struct vmm_procs *out, struct sb_error *err);
/* Kills both (SIGKILL). */
void vmm_kill(const struct vmm_procs *p);
/* Kills both, waits for them, and closes every descriptor of p (-1 after). */
void vmm_reap(struct vmm_procs *p);
/* VMM_RESTORE, once launched: waits for QEMU to have loaded the image,
 * plugs the runtimes' device in (unless !plug: a test's stuck restore) and
 * lets the guest run. Returns 0 or -1 with err. */
int vmm_restore_finish(const struct vmm_procs *p, bool plug, unsigned timeout_ms,
                       struct sb_error *err);
/* VMM_SNAPSHOT, once the guest is ready: pauses it and saves it to
 * snap_fd. Returns 0 or -1 with err. */
int vmm_snapshot_save(const struct vmm_procs *p, int snap_fd, unsigned timeout_ms,
                      struct sb_error *err);
/* The host's TSC frequency in kHz (0 if unknown). */
unsigned vmm_tsc_khz(void);

#endif
