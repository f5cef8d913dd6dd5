/* KVM or TCG: sandbox.microvm.accel auto boots a probe guest under KVM once per host boot (a /dev/kvm that opens may still not run guests). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "vm/vm.h"

#define PROBE_TIMEOUT_MS 15000

/*
 * Nested virtualisation is where /dev/kvm lies: the device opens, KVM_RUN of
 * a trivial guest works, and QEMU then hangs in the guest's kernel or asserts
 * on an MSR the outer hypervisor refuses (seen on this project's CI
 * machines). So the probe is the real thing: QEMU boots the guest kernel and
 * the initramfs under KVM with sbx_probe=1, whose /init powers off at once.
 * An exit 0 within PROBE_TIMEOUT_MS means KVM runs guests here. The answer
 * is kept in state_dir (a tmpfs: once per host boot) with the kernel's
 * release, so a CLI run does not probe each time.
 */

static int probe_boot(const struct vm_engine *v, char *why, size_t len)
{
    char kern[64], initrd[64], append[64];
    snprintf(kern, sizeof kern, "/proc/self/fd/%d", v->kernel_fd);
    snprintf(initrd, sizeof initrd, "/proc/self/fd/%d", v->initrd_fd);
    snprintf(append, sizeof append, "console=ttyS0 quiet panic=-1 sbx_probe=1");
    char *argv[] = {(char *)v->qemu, "-M", "microvm", "-accel", "kvm", "-cpu", "host",
                    "-m", "128M", "-smp", "1", "-nodefaults", "-no-user-config",
                    "-display", "none", "-no-reboot", "-kernel", kern, "-initrd", initrd,
                    "-append", append, NULL};
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0), dup2(null, 1), dup2(null, 2);
        fcntl(v->kernel_fd, F_SETFD, 0);
        fcntl(v->initrd_fd, F_SETFD, 0);
        execv(argv[0], argv);
        _exit(127);
    }
    if (pid < 0) {
        snprintf(why, len, "fork: %s", strerror(errno));
        return -1;
    }
    int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
    struct pollfd p = {pfd, POLLIN, 0};
    int r = pfd >= 0 ? poll(&p, 1, PROBE_TIMEOUT_MS) : -1;
    if (r <= 0)
        kill(pid, SIGKILL);
    int st = 0;
    waitpid(pid, &st, 0);
    if (pfd >= 0)
        close(pfd);
    if (r <= 0) {
        snprintf(why, len, "a KVM guest did not finish booting within %d ms",
                 PROBE_TIMEOUT_MS);
        return -1;
    }
    if (WIFSIGNALED(st)) {
        snprintf(why, len, "QEMU with KVM was killed by signal %d (%s)", WTERMSIG(st),
                 strsignal(WTERMSIG(st)));
        return -1;
    }
    if (WEXITSTATUS(st) != 0) {
        snprintf(why, len, "QEMU with KVM exited with %d", WEXITSTATUS(st));
        return -1;
    }
    return 0;
}

static pthread_mutex_t probe_mu = PTHREAD_MUTEX_INITIALIZER;

const char *vm_accel_name(struct vm_engine *v)
{
    if (pthread_mutex_trylock(&probe_mu) != 0)
        return "probing";
    const char *n = !v->accel_known ? "auto" : v->accel == VMM_KVM ? "kvm" : "tcg";
    pthread_mutex_unlock(&probe_mu);
    return n;
}

enum vmm_accel vm_accel(struct vm_engine *v, const char *state_dir)
{
    if (v->cfg->accel != VM_ACCEL_AUTO)
        return v->accel;
    pthread_mutex_lock(&probe_mu);
    if (v->accel_known) {
        pthread_mutex_unlock(&probe_mu);
        return v->accel;
    }
    char path[512], line[300] = "";
    snprintf(path, sizeof path, "%s/kvm-probe-%s", state_dir, v->kernel_release);
    FILE *f = fopen(path, "r");
    if (f) {
        if (!fgets(line, sizeof line, f))
            line[0] = '\0';
        fclose(f);
    }
    if (!strncmp(line, "kvm", 3) || !strncmp(line, "tcg", 3)) {
        v->accel = line[0] == 'k' ? VMM_KVM : VMM_TCG;
        snprintf(v->accel_why, sizeof v->accel_why, "%s", line + 4);
        v->accel_why[strcspn(v->accel_why, "\n")] = '\0';
    } else {
        v->accel = VMM_TCG;
        int k = open("/dev/kvm", O_RDWR | O_CLOEXEC);
        if (k < 0) {
            snprintf(v->accel_why, sizeof v->accel_why, "/dev/kvm: %s", strerror(errno));
        } else {
            close(k);
            if (probe_boot(v, v->accel_why, sizeof v->accel_why) == 0) {
                v->accel = VMM_KVM;
                snprintf(v->accel_why, sizeof v->accel_why, "a probe guest booted under KVM");
            }
        }
        char tmp[560];
        snprintf(tmp, sizeof tmp, "%s.%d", path, (int)getpid());
        if ((f = fopen(tmp, "w"))) {
            fprintf(f, "%s %s\n", v->accel == VMM_KVM ? "kvm" : "tcg", v->accel_why);
            if (fclose(f) == 0)
                rename(tmp, path);
            else
                unlink(tmp);
        }
    }
    v->accel_known = true;
    pthread_mutex_unlock(&probe_mu);
    return v->accel;
}
