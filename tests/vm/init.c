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

static void die(const char *what)
{
    say("SBX-INIT-FAIL %s: %s\n", what, strerror(errno));
    sync();
    reboot(RB_POWER_OFF);
    _exit(1);
}

static void mnt(const char *src, const char *dst, const char *type, unsigned long fl, const char *opt)
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
    /* virtio-mmio probing is asynchronous: retry the mount for a while */
    mkdir("/newroot", 0755);
    int tries = 0;
    while (mount("hostroot", "/newroot", "virtiofs", MS_RDONLY, "") < 0) {
        if (++tries > 500)
            die("mount virtiofs hostroot on /newroot");
        usleep(10000);
    }
    unsigned long nd = MS_NOSUID | MS_NODEV;
    mnt("tmpfs", "/newroot/tmp", "tmpfs", nd, "mode=1777,size=1g");
    mnt("tmpfs", "/newroot/var/tmp", "tmpfs", nd, "mode=1777,size=256m");
    mnt("tmpfs", "/newroot/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=755,size=256m");
    mnt("tmpfs", "/newroot/root", "tmpfs", nd, "mode=700,size=64m");
    mnt("proc", "/newroot/proc", "proc", 0, "");
    mnt("sysfs", "/newroot/sys", "sysfs", 0, "");
    mnt("devtmpfs", "/newroot/dev", "devtmpfs", 0, "");
    mnt("devpts", "/newroot/dev/pts", "devpts", 0, "newinstance,ptmxmode=0666,mode=620");
    mnt("tmpfs", "/newroot/dev/shm", "tmpfs", nd, "mode=1777");
    mnt("cgroup2", "/newroot/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC,
        "nsdelegate");
    if (chroot("/newroot") < 0 || chdir("/") < 0)
        die("chroot /newroot");
    /* /dev/ptmx of a devtmpfs is the initial instance: use the new one */
    unlink("/dev/ptmx");
    if (symlink("pts/ptmx", "/dev/ptmx") < 0)
        say("init: symlink /dev/ptmx: %s\n", strerror(errno));
    const char *script = getenv("sbx_script");
    if (!script) {
        errno = EINVAL;
        die("no sbx_script= on the kernel command line");
    }
    pid_t p = fork();
    if (p == 0) {
        char *env[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                       "HOME=/root", "LANG=C.UTF-8", "TERM=dumb", NULL};
        char *argv[] = {"/bin/bash", (char *)script, NULL};
        setsid();
        execve("/bin/bash", argv, env);
        die("exec /bin/bash");
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
