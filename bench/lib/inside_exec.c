/* bench helper (bench/inside.sh): execs PROGRAM with one sandbox ingredient,
 * or none, so that the pairs compared differ only by it:
 *   inside_exec none PROGRAM [ARGS...]
 *   inside_exec seccomp FILTER.bpf PROGRAM...  SoulBox's own filter (raw BPF)
 *   inside_exec overlay EMPTY_DIR PROGRAM...   /usr a private lower-only overlay
 *   inside_exec mountns - PROGRAM...           a private mount namespace only */
#define _GNU_SOURCE
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static int load_filter(const char *path)
{
    static struct sock_filter insns[65536 / sizeof(struct sock_filter)];
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(insns, 1, sizeof insns, f) : 0;
    if (f)
        fclose(f);
    if (n == 0 || n % sizeof *insns) {
        fprintf(stderr, "inside_exec: cannot read %s\n", path);
        return -1;
    }
    struct sock_fprog prog = {(unsigned short)(n / sizeof *insns), insns};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
        syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) {
        perror("inside_exec: seccomp");
        return -1;
    }
    return 0;
}

static int private_ns(void)
{
    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
        perror("inside_exec: mount namespace");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    int prog = !strcmp(argv[1 < argc ? 1 : 0], "none") ? 2 : 3;
    if (argc <= prog) {
        fprintf(stderr, "usage: inside_exec none|seccomp FILE|overlay DIR|mountns - PROGRAM...\n");
        return 2;
    }
    const char *mode = argv[1];
    if (!strcmp(mode, "seccomp") && load_filter(argv[2]) < 0)
        return 2;
    if ((!strcmp(mode, "overlay") || !strcmp(mode, "mountns")) && private_ns() < 0)
        return 2;
    if (!strcmp(mode, "overlay")) {
        char opts[4200];
        const char *extra = getenv("OVL_EXTRA");
        snprintf(opts, sizeof opts, "lowerdir=/usr:%s%s%s", argv[2], extra ? "," : "",
                 extra ? extra : "");
        if (mount("overlay", "/usr", "overlay", MS_RDONLY | MS_NOSUID | MS_NODEV, opts) < 0) {
            perror("inside_exec: overlay");
            return 2;
        }
    }
    execv(argv[prog], argv + prog);
    perror("inside_exec: exec");
    return 127;
}
