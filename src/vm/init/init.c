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

/*
 * The initramfs (built by the host, src/vm/initramfs.c) holds this as
 * /init, the guest kernel's modules it needs under /modules (their load
 * order in /modules/order, dependencies first: there is no modprobe) and
 * /dev, /proc, /sys, /newroot. Anything it says goes to the serial console,
 * which the host keeps the end of for its error messages.
 */

static void __attribute__((noreturn)) die(const char *what)
{
    char b[600];
    int n = snprintf(b, sizeof b, "soulbox-init: %s: %s\n", what, strerror(errno));
    if (write(2, b, (size_t)n) < 0) {
    }
    reboot(RB_POWER_OFF);
    _exit(1);
}

static void mnt(const char *src, const char *dst, const char *type, unsigned long fl,
                const char *opt)
{
    mkdir(dst, 0755);
    if (mount(src, dst, type, fl, opt) < 0) {
        char w[512];
        snprintf(w, sizeof w, "mount %s on %s (%s)", src, dst, type);
        die(w);
    }
}

static void load_modules(void)
{
    FILE *f = fopen("/modules/order", "r");
    char line[256], path[300];
    if (!f)
        die("open /modules/order");
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        if (!line[0])
            continue;
        snprintf(path, sizeof path, "/modules/%s", line);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            die(path);
        if (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST)
            die(path);
        close(fd);
    }
    fclose(f);
}

int main(void)
{
    if (getenv("sbx_probe")) /* the host checks whether KVM boots a guest (vm/accel.c) */
        reboot(RB_POWER_OFF);
    mount("devtmpfs", "/dev", "devtmpfs", 0, "");
    int c = open("/dev/console", O_RDWR);
    if (c >= 0) {
        dup2(c, 0);
        dup2(c, 1);
        dup2(c, 2);
        if (c > 2)
            close(c);
    }
    mnt("proc", "/proc", "proc", 0, "");
    mnt("sysfs", "/sys", "sysfs", 0, "");
    load_modules();
    /* virtio-mmio probing is asynchronous: retry for up to 10 s */
    int tries = 0;
    while (mount("runtimes", "/newroot", "virtiofs", MS_RDONLY | MS_NODEV, "") < 0) {
        if (++tries > 1000)
            die("mount the runtimes (virtiofs) on /newroot");
        usleep(10000);
    }
    unsigned long nd = MS_NOSUID | MS_NODEV;
    mnt("tmpfs", "/newroot/tmp", "tmpfs", nd, "mode=1777,size=64m");
    mnt("tmpfs", "/newroot/run", "tmpfs", nd, "mode=755,size=50%");
    mnt("proc", "/newroot/proc", "proc", nd | MS_NOEXEC, "");
    mnt("sysfs", "/newroot/sys", "sysfs", nd | MS_NOEXEC, "");
    mnt("devtmpfs", "/newroot/dev", "devtmpfs", MS_NOSUID | MS_NOEXEC, "");
    mnt("cgroup2", "/newroot/sys/fs/cgroup", "cgroup2", nd | MS_NOEXEC, "nsdelegate");
    /* Allocations are judged by the sandbox's cgroup, as on a host: a
     * program over its memory limit is OOM-killed (memory_limit_exceeded),
     * not refused by the guest's overcommit heuristic. */
    int oc = open("/proc/sys/vm/overcommit_memory", O_WRONLY | O_CLOEXEC);
    if (oc < 0 || write(oc, "1", 1) != 1)
        die("vm.overcommit_memory");
    close(oc);
    if (chroot("/newroot") < 0 || chdir("/") < 0)
        die("chroot /newroot");
    const char *agent = getenv("sbx_agent");
    if (!agent) {
        errno = EINVAL;
        die("no sbx_agent= on the kernel command line");
    }
    char *argv[] = {(char *)agent, "vm-agent", NULL};
    char *env[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8",
                   getenv("sbx_test_hooks") ? "SOULBOX_VM_TEST_HOOKS=1" : NULL, NULL};
    execve(agent, argv, env);
    die(agent);
}
