/* What a guest's static /init does first, shared by SoulBox's (init.c) and make check-cgroup2's (tests/vm/init.c): report and power off, mount, load the modules listed in /modules/order. */
#ifndef SB_VM_INIT_BOOT_H
#define SB_VM_INIT_BOOT_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Each /init defines how its failures start (the host looks for it). */
#ifndef BOOT_FAIL_PREFIX
#error define BOOT_FAIL_PREFIX
#endif

static void __attribute__((noreturn)) boot_die(const char *what)
{
    char b[600];
    int n = snprintf(b, sizeof b, BOOT_FAIL_PREFIX "%s: %s\n", what, strerror(errno));
    if (write(2, b, (size_t)n) < 0) {
    }
    sync();
    reboot(RB_POWER_OFF);
    _exit(1);
}

static void boot_mount(const char *src, const char *dst, const char *type, unsigned long fl,
                       const char *opt)
{
    mkdir(dst, 0755);
    if (mount(src, dst, type, fl, opt) < 0) {
        char w[512];
        snprintf(w, sizeof w, "mount %s on %s (%s)", src, dst, type);
        boot_die(w);
    }
}

/* /modules/order: one file name of /modules per line, dependencies first
 * (there is no modprobe in an initramfs). */
static void boot_load_modules(void)
{
    FILE *f = fopen("/modules/order", "r");
    char line[256], path[300];
    if (!f)
        boot_die("open /modules/order");
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        if (!line[0])
            continue;
        snprintf(path, sizeof path, "/modules/%s", line);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            boot_die(path);
        if (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST)
            boot_die(path);
        close(fd);
    }
    fclose(f);
}

/* /dev (the console on 0-2), /proc, /sys and the modules. */
static void boot_start(void)
{
    mount("devtmpfs", "/dev", "devtmpfs", 0, "");
    int c = open("/dev/console", O_RDWR);
    if (c >= 0) {
        dup2(c, 0);
        dup2(c, 1);
        dup2(c, 2);
        if (c > 2)
            close(c);
    }
    boot_mount("proc", "/proc", "proc", 0, "");
    boot_mount("sysfs", "/sys", "sysfs", 0, "");
    boot_load_modules();
}

/* The virtiofs export `tag` on /newroot, read-only; virtio probing is
 * asynchronous (and a restored guest's device is plugged in after the
 * restore), so it is retried every poll_us for up to timeout_s. */
static void boot_mount_virtiofs(const char *tag, unsigned long flags, unsigned poll_us,
                                unsigned timeout_s)
{
    mkdir("/newroot", 0755);
    unsigned long max = (unsigned long)timeout_s * 1000000 / poll_us;
    for (unsigned long tries = 0;
         mount(tag, "/newroot", "virtiofs", MS_RDONLY | flags, "") < 0; tries++) {
        if (tries > max) {
            char w[128];
            snprintf(w, sizeof w, "mount virtiofs %s on /newroot", tag);
            boot_die(w);
        }
        usleep(poll_us);
    }
}

#endif
