/* The microVM isolation backend: settings, what the host can run, and the backend's ops. */
#ifndef SB_VM_VM_H
#define SB_VM_VM_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "vm/vmm.h"

enum vm_accel_choice { VM_ACCEL_AUTO, VM_ACCEL_KVM, VM_ACCEL_TCG };

/* sandbox.microvm in the config. */
struct vm_cfg {
    bool enabled;              /* false: requests for microvm get a 400 */
    enum vm_accel_choice accel;
    const char *qemu;          /* "qemu-system-x86_64" */
    const char *virtiofsd;     /* "/usr/lib/qemu/virtiofsd" */
    const char *kernel;        /* NULL: the newest /boot/vmlinuz-*-cloud-amd64 */
    uint32_t overhead_mb;      /* guest RAM beyond the sandbox's memory limit */
    uint32_t tb_mb;            /* TCG code cache */
    uint32_t vmm_overhead_mb;  /* the QEMU cgroup's memory beyond the guest's RAM */
    uint32_t hang_timeout_ms;  /* a booted guest silent this long is killed */
    bool snapshot;             /* restore VMs from snapshots of booted guests */
};

/* What the engine holds for microVMs. */
struct vm_engine {
    bool available;
    char reason[256];          /* why not, for errors and /api/languages */
    enum vmm_accel accel;
    bool accel_known;          /* accel auto: probed (vm_accel) */
    char accel_why[256];       /* what the probe found */
    int kernel_fd, initrd_fd;
    char kernel_release[64];
    char modules_dir[PATH_MAX];  /* its modules: /lib/modules/<release> or beside it */
    char agent_path[PATH_MAX]; /* this binary, exported to guests */
    char qemu[PATH_MAX], virtiofsd[PATH_MAX]; /* found on PATH */
    unsigned tsc_khz;
    struct vm_snaps *snaps;    /* NULL: snapshots off (snapshot.h) */
    const struct vm_cfg *cfg;
};

/* Checks the host (QEMU, virtiofsd, a kernel with its modules, KVM when
 * asked) and builds the initramfs (in memory). Never fails the engine: an
 * unusable host leaves available false with the reason. */
void vm_engine_init(struct vm_engine *v, const struct vm_cfg *cfg);
void vm_engine_close(struct vm_engine *v);

/* Where make setup unpacks the guest kernel package (boot/, lib/modules/):
 * not installed, so that the host's boot loader never offers it. */
#define VM_GUEST_KERNEL_DIR "/var/lib/soulbox/guest-kernel"

/* The initramfs from the kernel's modules_dir: /init (built with SoulBox)
 * and the modules it loads, as a cpio "newc" archive in a sealed memfd.
 * Returns the fd, or -1 with err. */
int vm_initramfs(const char *modules_dir, struct sb_error *err);

/* The accelerator VMs get: the configured one, or with auto the answer of a
 * probe (a guest booted under KVM once per host boot, remembered in
 * state_dir). Blocking the first time (up to 15 s): call off the loop. */
enum vmm_accel vm_accel(struct vm_engine *v, const char *state_dir);

/* "kvm", "tcg", "auto" (not probed yet) or "probing"; never blocks. */
const char *vm_accel_name(struct vm_engine *v);

struct sbx_backend_ops;
extern const struct sbx_backend_ops sbx_vm_backend;

#endif
