/* /init of a SoulBox microVM guest: static, libc only. Loads the virtio modules, mounts the host's runtimes (virtiofs, read-only) as the root with private tmpfs for what must be writable and a pure cgroup v2 hierarchy, then execs `soulbox vm-agent` from it. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define BOOT_FAIL_PREFIX "soulbox-init: "
#include "vm/init/boot.h"

/*
 * The initramfs (built by the host, src/vm/initramfs.c) holds this as
 * /init, the guest kernel's modules it needs under /modules (their load
 * order in /modules/order, dependencies first: there is no modprobe) and
 * /dev, /proc, /sys, /newroot. Anything it says goes to the serial console,
 * which the host keeps the end of for its error messages.
 */

int main(void)
{
    if (getenv("sbx_probe")) /* the host checks whether KVM boots a guest (vm/accel.c) */
        reboot(RB_POWER_OFF);
    boot_start();
    if (getenv("sbx_snap")) {
        /* The host saves this guest now (vm/snapshot.c) and restores copies
         * of it, each of which then gets its runtimes' device plugged in. */
        static const char mark[] = "SOULBOX-SNAPSHOT-POINT\n";
        if (write(2, mark, sizeof mark - 1) < 0) {
        }
        boot_mount_virtiofs("runtimes", MS_NODEV, 1000, 600);
    } else {
        boot_mount_virtiofs("runtimes", MS_NODEV, 10000, 10);
    }
    unsigned long nd = MS_NOSUID | MS_NODEV;
    boot_mount("tmpfs", "/newroot/tmp", "tmpfs", nd, "mode=1777,size=64m");
    boot_mount("tmpfs", "/newroot/run", "tmpfs", nd, "mode=755,size=50%");
    boot_mount("proc", "/newroot/proc", "proc", nd | MS_NOEXEC, "");
    boot_mount("sysfs", "/newroot/sys", "sysfs", nd | MS_NOEXEC, "");
    boot_mount("devtmpfs", "/newroot/dev", "devtmpfs", MS_NOSUID | MS_NOEXEC, "");
    boot_mount("cgroup2", "/newroot/sys/fs/cgroup", "cgroup2", nd | MS_NOEXEC, "nsdelegate");
    /* Allocations are judged by the sandbox's cgroup, as on a host: a
     * program over its memory limit is OOM-killed (memory_limit_exceeded),
     * not refused by the guest's overcommit heuristic. */
    int oc = open("/proc/sys/vm/overcommit_memory", O_WRONLY | O_CLOEXEC);
    if (oc < 0 || write(oc, "1", 1) != 1)
        boot_die("vm.overcommit_memory");
    close(oc);
    if (chroot("/newroot") < 0 || chdir("/") < 0)
        boot_die("chroot /newroot");
    const char *agent = getenv("sbx_agent");
    if (!agent) {
        errno = EINVAL;
        boot_die("no sbx_agent= on the kernel command line");
    }
    char *argv[] = {(char *)agent, "vm-agent", NULL};
    char *env[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8",
                   getenv("sbx_test_hooks") ? "SOULBOX_VM_TEST_HOOKS=1" : NULL, NULL};
    execve(agent, argv, env);
    boot_die(agent);
}
