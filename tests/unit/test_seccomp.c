/* Unit tests for src/sandbox/seccomp.c: policy compilation, allowlist checks and the loaded filter's effect. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/creds.h"
#include "sandbox/seccomp.h"

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

/* The build embeds the default programs (seccomp_blob.S). */
extern const unsigned char sb_bpf_notify[], sb_bpf_notify_end[];
extern const unsigned char sb_bpf_kill[], sb_bpf_kill_end[];

static void compile_ok(const char *const *allowed, size_t n, bool notify, struct seccomp_prog *p)
{
    struct sb_error e = {0};
    cr_assert_eq(seccomp_compile_mode(allowed, n, notify, p, &e), 0, "%s", e.msg);
    cr_assert_not_null(p->bpf);
    cr_assert_gt(p->len, 0);
    cr_assert_eq(p->len % 8, 0, "not a whole number of sock_filter");
    cr_assert_leq(p->len / 8, 4096, "above BPF_MAXINSNS");
    cr_assert_eq(p->notify, notify);
}

Test(seccomp, default_program_compiles)
{
    struct seccomp_prog p;
    struct sb_error e = {0};
    cr_assert_eq(seccomp_compile(NULL, 0, &p, &e), 0, "%s", e.msg);
    cr_assert_not_null(p.bpf);
    cr_assert_gt(p.len, 0);
    cr_assert_eq(p.len % 8, 0);
    cr_assert_eq(p.notify, seccomp_notify_supported());
    seccomp_prog_free(&p);
    cr_assert_null(p.bpf);
    cr_assert_eq(p.len, 0);
}

Test(seccomp, embedded_programs_match_a_fresh_compile)
{
    struct seccomp_prog kill, notify;
    compile_ok(NULL, 0, false, &kill);
    compile_ok(NULL, 0, true, &notify);
    cr_assert_eq((size_t)(sb_bpf_kill_end - sb_bpf_kill), kill.len, "stale kill blob");
    cr_assert_eq(memcmp(sb_bpf_kill, kill.bpf, kill.len), 0, "stale kill blob");
    cr_assert_eq((size_t)(sb_bpf_notify_end - sb_bpf_notify), notify.len, "stale notify blob");
    cr_assert_eq(memcmp(sb_bpf_notify, notify.bpf, notify.len), 0, "stale notify blob");
    cr_assert(kill.len != notify.len || memcmp(kill.bpf, notify.bpf, kill.len),
              "kill and notify programs are identical");
    seccomp_prog_free(&kill);
    seccomp_prog_free(&notify);
}

Test(seccomp, allowlist_compiles_to_a_different_program)
{
    static const char *const allowed[] = {"read", "write", "ptrace", "clone", "clone3"};
    struct seccomp_prog deny, allow;
    compile_ok(NULL, 0, false, &deny);
    /* ptrace and clone3 stay denied, clone keeps its argument rules: all accepted. */
    compile_ok(allowed, 5, false, &allow);
    cr_assert(deny.len != allow.len || memcmp(deny.bpf, allow.bpf, deny.len));
    seccomp_prog_free(&deny);
    seccomp_prog_free(&allow);
}

Test(seccomp, allowlist_compile_rejects_unknown_names)
{
    static const char *const allowed[] = {"read", "frobnicate"};
    struct seccomp_prog p;
    struct sb_error e = {0};
    cr_assert_eq(seccomp_compile_mode(allowed, 2, false, &p, &e), -1);
    cr_assert_eq(e.code, SB_E_CONFIG);
    cr_assert_str_eq(e.msg, "seccomp: unknown syscall 'frobnicate'");
    cr_assert_null(p.bpf);
}

Test(seccomp, validate_allowlist)
{
    struct sb_error e = {0};
    const char *ok[] = {"read", "write", "openat", "clone3", "io_uring_setup"};
    cr_assert_eq(seccomp_validate_allowlist(ok, 5, &e), 0, "%s", e.msg);
    cr_assert_eq(seccomp_validate_allowlist(NULL, 0, &e), 0);
    const char *unknown[] = {"read", "frobnicate"};
    cr_assert_eq(seccomp_validate_allowlist(unknown, 2, &e), -1);
    cr_assert_eq(e.code, SB_E_CONFIG);
    cr_assert_str_eq(e.msg, "unknown syscall 'frobnicate'");
    const char *denied[] = {"read", "ptrace"};
    cr_assert_eq(seccomp_validate_allowlist(denied, 2, &e), -1);
    cr_assert_str_eq(e.msg, "syscall 'ptrace' is always denied by SoulBox");
    const char *killed[] = {"kexec_load"};
    cr_assert_eq(seccomp_validate_allowlist(killed, 1, &e), -1);
    cr_assert_str_eq(e.msg, "syscall 'kexec_load' is always denied by SoulBox");
    const char *mount[] = {"mount"};
    cr_assert_eq(seccomp_validate_allowlist(mount, 1, &e), -1);
}

Test(seccomp, syscall_names)
{
    char buf[32];
    cr_assert_str_eq(seccomp_syscall_name(101, AUDIT_ARCH_X86_64, buf, sizeof buf), "ptrace");
    cr_assert_str_eq(seccomp_syscall_name(101, 0xC000003E, buf, sizeof buf), "ptrace");
    cr_assert_str_eq(seccomp_syscall_name(169, AUDIT_ARCH_X86_64, buf, sizeof buf), "reboot");
    cr_assert_str_eq(seccomp_syscall_name(26, AUDIT_ARCH_I386, buf, sizeof buf), "ptrace");
    cr_assert_str_eq(seccomp_syscall_name(99999, AUDIT_ARCH_X86_64, buf, sizeof buf),
                     "syscall 99999");
#ifdef __x86_64__
    cr_assert_str_eq(seccomp_syscall_name(0, 0, buf, sizeof buf), "read", "0: native arch");
#endif
    char tiny[4];
    cr_assert_str_eq(seccomp_syscall_name(101, AUDIT_ARCH_X86_64, tiny, sizeof tiny), "ptr");
}

/* ---- the filter in a real process ---- */

/* Forks a child that loads p and runs body; returns its wait status. The
 * child reports progress through a pipe so a kill is attributed to the
 * right step. */
static int run_filtered(const struct seccomp_prog *p, int (*body)(int fd), int *steps)
{
    int pfd[2];
    cr_assert_eq(pipe(pfd), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        char why[128];
        close(pfd[0]);
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
            creds_load_seccomp(p->bpf, p->len, 0, why, sizeof why) < 0)
            _exit(100);
        _exit(body(pfd[1]));
    }
    close(pfd[1]);
    char c;
    *steps = 0;
    while (read(pfd[0], &c, 1) == 1)
        (*steps)++;
    close(pfd[0]);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    return status;
}

#define STEP(fd) do { if (write(fd, "s", 1) != 1) return 99; } while (0)
/* Each call is chosen to fail differently (or harmlessly) without the filter. */
#define FAILS_WITH(call, err)                                                         \
    do {                                                                              \
        errno = 0;                                                                    \
        long rc_ = (long)(call);                                                      \
        if (rc_ != -1 || errno != (err)) {                                            \
            fprintf(stderr, "%s: got %ld, %s\n", #call, rc_, strerrorname_np(errno)); \
            return 1;                                                                 \
        }                                                                             \
    } while (0)

static int deny_list_body(int fd)
{
    FAILS_WITH(syscall(SYS_ptrace, 2 /* PTRACE_PEEKDATA */, 1, 0, 0), EPERM);
    STEP(fd);
    FAILS_WITH(syscall(SYS_clone3, NULL, 0), ENOSYS);
    STEP(fd);
    FAILS_WITH(unshare(CLONE_NEWUSER), EPERM);
    FAILS_WITH(syscall(SYS_clone, CLONE_NEWNS | CLONE_FS | SIGCHLD, 0, 0, 0, 0), EPERM);
    FAILS_WITH(syscall(SYS_mount, "none", "/nonexistent-soulbox-test", "tmpfs", 0, NULL), EPERM);
    FAILS_WITH(personality(ADDR_NO_RANDOMIZE), EPERM);
    FAILS_WITH(socket(AF_VSOCK, SOCK_STREAM, 0), EAFNOSUPPORT);
    int null = open("/dev/null", O_RDONLY);
    FAILS_WITH(ioctl(null, TIOCSTI, "x"), EPERM);
    STEP(fd);
    /* Ordinary calls still work, including a query of the personality. */
    if (getpid() <= 0 || personality(0xffffffff) == -1)
        return 98;
    pid_t child = fork();
    if (child == 0)
        _exit(7);
    int st;
    if (child < 0 || waitpid(child, &st, 0) != child || !WIFEXITED(st) || WEXITSTATUS(st) != 7)
        return 97;
    STEP(fd);
    return 0;
}

Test(seccomp, deny_list_errors_are_returned)
{
    struct seccomp_prog p;
    int steps;
    compile_ok(NULL, 0, false, &p);
    int status = run_filtered(&p, deny_list_body, &steps);
    cr_assert(WIFEXITED(status), "child killed by signal %d after %d steps",
              WIFSIGNALED(status) ? WTERMSIG(status) : 0, steps);
    cr_assert_eq(WEXITSTATUS(status), 0, "check failed with %d after %d steps (see stderr)",
                 WEXITSTATUS(status), steps);
    cr_assert_eq(steps, 4);
    seccomp_prog_free(&p);
}

static int reboot_body(int fd)
{
    STEP(fd);
    /* Invalid magic numbers: even unfiltered, root gets EINVAL, never a reboot. */
    syscall(SYS_reboot, 0, 0, 0, NULL);
    STEP(fd);
    return 0;
}

Test(seccomp, kill_listed_call_kills_the_process)
{
    struct seccomp_prog p;
    int steps;
    compile_ok(NULL, 0, false, &p);
    int status = run_filtered(&p, reboot_body, &steps);
    cr_assert(WIFSIGNALED(status), "reboot() returned (exit %d)", WEXITSTATUS(status));
    cr_assert_eq(WTERMSIG(status), SIGSYS);
    cr_assert_eq(steps, 1);
    seccomp_prog_free(&p);
}

#ifdef __x86_64__
static int x32_body(int fd)
{
    STEP(fd);
    syscall(39 | 0x40000000); /* getpid with the x32 bit: a foreign ABI */
    STEP(fd);
    return 0;
}

Test(seccomp, x32_abi_kills_the_process)
{
    struct seccomp_prog p;
    int steps;
    compile_ok(NULL, 0, false, &p);
    int status = run_filtered(&p, x32_body, &steps);
    cr_assert(WIFSIGNALED(status), "x32 call returned (exit %d)", WEXITSTATUS(status));
    cr_assert_eq(WTERMSIG(status), SIGSYS);
    cr_assert_eq(steps, 1);
    seccomp_prog_free(&p);
}

static long int80_getpid(void)
{
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory"); /* i386 getpid */
    return ret;
}

static int i386_body(int fd)
{
    STEP(fd);
    int80_getpid();
    STEP(fd);
    return 0;
}

Test(seccomp, i386_abi_kills_the_process)
{
    /* Some kernels and hypervisors refuse int 0x80 outright (SIGSEGV): then
     * there is nothing for the filter to stop. */
    pid_t probe = fork();
    cr_assert_geq(probe, 0);
    if (probe == 0) {
        signal(SIGSEGV, SIG_DFL); /* no sanitizer report for the expected fault */
        _exit(int80_getpid() == getpid() ? 0 : 1);
    }
    int st;
    cr_assert_eq(waitpid(probe, &st, 0), probe);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        cr_skip_test("int 0x80 does not work on this machine even without a filter");
    struct seccomp_prog p;
    int steps;
    compile_ok(NULL, 0, false, &p);
    int status = run_filtered(&p, i386_body, &steps);
    cr_assert(WIFSIGNALED(status), "int 0x80 returned (exit %d)", WEXITSTATUS(status));
    cr_assert_eq(WTERMSIG(status), SIGSYS);
    cr_assert_eq(steps, 1);
    seccomp_prog_free(&p);
}
#endif

static int allowlist_body(int fd)
{
    if (getppid() <= 0 || getpid() <= 0)
        return 90;
    FAILS_WITH(syscall(SYS_ptrace, 2 /* PTRACE_PEEKDATA */, 1, 0, 0), EPERM);
    FAILS_WITH(syscall(SYS_clone3, NULL, 0), ENOSYS);
    FAILS_WITH(syscall(SYS_clone, CLONE_NEWUSER | CLONE_FS | SIGCHLD, 0, 0, 0, 0), EPERM);
    STEP(fd);
    syscall(SYS_getuid); /* not on the list: the default action kills */
    STEP(fd);
    return 0;
}

Test(seccomp, allowlist_kills_unlisted_calls)
{
    static const char *const allowed[] = {"getppid"};
    struct seccomp_prog p;
    int steps;
    compile_ok(allowed, 1, false, &p);
    int status = run_filtered(&p, allowlist_body, &steps);
    cr_assert(WIFSIGNALED(status), "exit %d after %d steps", WEXITSTATUS(status), steps);
    cr_assert_eq(WTERMSIG(status), SIGSYS);
    cr_assert_eq(steps, 1);
    seccomp_prog_free(&p);
}
