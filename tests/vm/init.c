/* /init of the check-cgroup2 VM (tests/vm/run_in_vm.py): a static PID 1 that
 * loads the few modules the guest needs to reach the host's filesystem
 * (listed in /modules/order, dependencies first), mounts the host's / over
 * virtiofs read-only with private tmpfs for the writable paths, mounts a
 * pure cgroup v2 hierarchy, then runs the guest script named by the kernel
 * command line (sbx_script=) as a child, reaps every orphan until that
 * script ends, and powers off. Its output goes to the serial console. */
#define _GNU_SOURCE
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
#include <sys/wait.h>
#include <unistd.h>

#define BOOT_FAIL_PREFIX "SBX-INIT-FAIL "
#include "vm/init/boot.h"

static void say(const char *fmt, ...)
{
    char b[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b, sizeof b, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof b - 1)
        n = sizeof b - 1;
    if (write(1, b, n) < 0) {
    }
}

int main(void)
{
    boot_start();
    boot_mount_virtiofs("hostroot", 0, 10000, 10);
    unsigned long nd = MS_NOSUID | MS_NODEV;
    boot_mount("tmpfs", "/newroot/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=755,size=256m");
    /* The repository (sbx_repo=) at /run/repo before the tmpfs below may hide
     * it (a clone under /tmp or /root) */
    const char *repo = getenv("sbx_repo");
    if (repo) {
        char src[4096];
        snprintf(src, sizeof src, "/newroot%s", repo);
        mkdir("/newroot/run/repo", 0755);
        if (mount(src, "/newroot/run/repo", NULL, MS_BIND, NULL) < 0)
            boot_die(src);
    }
    /* The guest kernel's modules (sbx_modules=) where its modprobe looks,
     * when make setup unpacked the kernel instead of installing it */
    const char *mods = getenv("sbx_modules");
    if (mods && strcmp(mods, "/lib/modules")) {
        char src[4096];
        snprintf(src, sizeof src, "/newroot%s", mods);
        if (mount(src, "/newroot/lib/modules", NULL, MS_BIND, NULL) < 0)
            boot_die(src);
    }
    boot_mount("tmpfs", "/newroot/tmp", "tmpfs", nd, "mode=1777,size=1g");
    boot_mount("tmpfs", "/newroot/var/tmp", "tmpfs", nd, "mode=1777,size=256m");
    boot_mount("tmpfs", "/newroot/root", "tmpfs", nd, "mode=700,size=64m");
    boot_mount("proc", "/newroot/proc", "proc", 0, "");
    boot_mount("sysfs", "/newroot/sys", "sysfs", 0, "");
    boot_mount("devtmpfs", "/newroot/dev", "devtmpfs", 0, "");
    boot_mount("devpts", "/newroot/dev/pts", "devpts", 0, "newinstance,ptmxmode=0666,mode=620");
    boot_mount("tmpfs", "/newroot/dev/shm", "tmpfs", nd, "mode=1777");
    boot_mount("cgroup2", "/newroot/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC,
        "nsdelegate");
    if (chroot("/newroot") < 0 || chdir("/") < 0)
        boot_die("chroot /newroot");
    /* /dev/ptmx of a devtmpfs is the initial instance: use the new one */
    unlink("/dev/ptmx");
    if (symlink("pts/ptmx", "/dev/ptmx") < 0)
        say("init: symlink /dev/ptmx: %s\n", strerror(errno));
    const char *script = getenv("sbx_script");
    if (!script) {
        errno = EINVAL;
        boot_die("no sbx_script= on the kernel command line");
    }
    char in_repo[4096];
    if (script[0] != '/') { /* relative: in the repository */
        snprintf(in_repo, sizeof in_repo, "/run/repo/%s", script);
        script = in_repo;
    }
    pid_t p = fork();
    if (p == 0) {
        char *env[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                       "HOME=/root", "LANG=C.UTF-8", "TERM=dumb", NULL};
        char *argv[] = {"/bin/bash", (char *)script, NULL};
        setsid();
        execve("/bin/bash", argv, env);
        boot_die("exec /bin/bash");
    }
    int st = 0;
    for (;;) {
        pid_t w = wait(&st);
        if (w == p)
            break;
        if (w < 0 && errno == ECHILD)
            break;
    }
    say("SBX-SCRIPT-EXIT %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    sync();
    reboot(RB_POWER_OFF);
    return 0;
}
