/* Host side: the syscall policy as a table, compiled to BPF with libseccomp. */
#include "sandbox/seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/personality.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

enum act {
    A_EPERM,   /* fail politely: programs may probe for it */
    A_ENOSYS,  /* pretend the kernel lacks it, so libc falls back */
    A_KILL,    /* never legitimate in a sandbox: kill and report by name */
};

/* What a program never needs and what widens the kernel surface. */
static const struct deny {
    const char *name;
    enum act act;
} deny_table[] = {
    /* looking into or steering other processes */
    {"ptrace", A_EPERM}, {"process_vm_readv", A_EPERM}, {"process_vm_writev", A_EPERM},
    {"pidfd_getfd", A_EPERM},
    /* mounts, roots and namespaces */
    {"mount", A_EPERM}, {"umount2", A_EPERM}, {"pivot_root", A_EPERM}, {"chroot", A_EPERM},
    {"move_mount", A_EPERM}, {"open_tree", A_EPERM}, {"fsopen", A_EPERM},
    {"fsconfig", A_EPERM}, {"fsmount", A_EPERM}, {"fspick", A_EPERM},
    {"mount_setattr", A_EPERM}, {"unshare", A_EPERM}, {"setns", A_EPERM},
    {"clone3", A_ENOSYS}, /* its flags live in memory BPF cannot read */
    /* kernel keyrings */
    {"add_key", A_EPERM}, {"request_key", A_EPERM}, {"keyctl", A_EPERM},
    /* large kernel attack surfaces */
    {"bpf", A_EPERM}, {"perf_event_open", A_EPERM}, {"userfaultfd", A_EPERM},
    {"io_uring_setup", A_ENOSYS}, {"io_uring_enter", A_ENOSYS},
    {"io_uring_register", A_ENOSYS}, {"open_by_handle_at", A_EPERM},
    {"name_to_handle_at", A_EPERM}, {"lookup_dcookie", A_EPERM}, {"fanotify_init", A_EPERM},
    {"quotactl", A_EPERM}, {"quotactl_fd", A_EPERM}, {"nfsservctl", A_EPERM},
    {"vhangup", A_EPERM}, {"iopl", A_EPERM}, {"ioperm", A_EPERM}, {"uselib", A_EPERM},
    {"sysfs", A_EPERM}, {"_sysctl", A_EPERM},
    /* the host's clock and log */
    {"settimeofday", A_EPERM}, {"clock_settime", A_EPERM}, {"clock_adjtime", A_EPERM},
    {"adjtimex", A_EPERM}, {"syslog", A_EPERM},
    /* whole-machine operations: only an attack would try these */
    {"kexec_load", A_KILL}, {"kexec_file_load", A_KILL}, {"init_module", A_KILL},
    {"finit_module", A_KILL}, {"delete_module", A_KILL}, {"reboot", A_KILL},
    {"swapon", A_KILL}, {"swapoff", A_KILL}, {"acct", A_KILL},
};

/* Calls the agent makes after loading the filter (allowlist mode adds them). */
static const char *const agent_needs[] = {
    "read", "write", "close", "poll", "ppoll", "wait4", "waitid", "kill", "exit",
    "exit_group", "rt_sigprocmask", "rt_sigreturn", "clone", "fork", "vfork", "execve",
    "setsid", "prlimit64", "setrlimit", "chdir", "umask", "close_range", "dup2", "dup3",
    "openat", "open", "fstat", "newfstatat", "sendmsg", "recvmsg", "mmap", "munmap",
    "getrusage", "clock_gettime", "pipe2", "ioctl", "brk", "mkdirat", "fcntl", "getpid",
    "seccomp", "socketpair", "sendto", "setresuid",
    /* file operations for the host */
    "openat2", "unlinkat", "renameat2", "getdents64", "fstatfs", "readlinkat", "lseek",
    "symlinkat",
};

#define NS_FLAGS (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | \
                  CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET)

/* Personality bits that change how memory is laid out or protected. Bits
 * 28-31 are in no valid persona but are set by the 0xffffffff query, so
 * masking them in keeps the query allowed. */
static const unsigned long persona_bits[] = {
    ADDR_NO_RANDOMIZE, MMAP_PAGE_ZERO, READ_IMPLIES_EXEC, ADDR_COMPAT_LAYOUT,
    ADDR_LIMIT_32BIT, ADDR_LIMIT_3GB, FDPIC_FUNCPTRS,
};

static uint32_t act_value(enum act a, bool notify)
{
    switch (a) {
    case A_EPERM:  return SCMP_ACT_ERRNO(EPERM);
    case A_ENOSYS: return SCMP_ACT_ERRNO(ENOSYS);
    case A_KILL:   break;
    }
    return notify ? SCMP_ACT_NOTIFY : SCMP_ACT_KILL_PROCESS;
}

bool seccomp_notify_supported(void)
{
    char buf[256] = {0};
    int fd = open("/proc/sys/kernel/seccomp/actions_avail", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    return n > 0 && strstr(buf, "user_notif") != NULL;
}

static const struct deny *find_deny(const char *name)
{
    for (size_t i = 0; i < sizeof deny_table / sizeof *deny_table; i++)
        if (!strcmp(deny_table[i].name, name))
            return &deny_table[i];
    return NULL;
}

/* Rules with argument checks: namespace flags on clone, personality
 * changes, vsock sockets and terminal injection. */
static int add_arg_rules(scmp_filter_ctx c, bool allowlist)
{
    int rc = 0;
    for (unsigned long f = 1; f && rc == 0; f <<= 1)
        if (f & NS_FLAGS)
            rc = seccomp_rule_add(c, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                                  SCMP_A0(SCMP_CMP_MASKED_EQ, f, f));
    for (size_t i = 0; i < sizeof persona_bits / sizeof *persona_bits && rc == 0; i++)
        rc = seccomp_rule_add(c, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(personality), 1,
                              SCMP_A0(SCMP_CMP_MASKED_EQ, persona_bits[i] | 0xf0000000ul,
                                      persona_bits[i]));
    if (rc == 0)
        rc = seccomp_rule_add(c, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1,
                              SCMP_A0(SCMP_CMP_EQ, AF_VSOCK));
    if (!allowlist) {
        /* ioctl's request is an int: compare the low 32 bits only. */
        if (rc == 0)
            rc = seccomp_rule_add(c, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
                                  SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCSTI));
        if (rc == 0)
            rc = seccomp_rule_add(c, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
                                  SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCLINUX));
        return rc;
    }
    /* Allowlist mode: an unconditional allow would override the rules
     * above, so allow exactly their complement. */
    if (rc == 0)
        rc = seccomp_rule_add(c, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                              SCMP_A0(SCMP_CMP_MASKED_EQ, NS_FLAGS, 0));
    if (rc == 0)
        rc = seccomp_rule_add(c, SCMP_ACT_ALLOW, SCMP_SYS(personality), 1,
                              SCMP_A0(SCMP_CMP_EQ, 0xffffffffu));
    if (rc == 0)
        rc = seccomp_rule_add(c, SCMP_ACT_ALLOW, SCMP_SYS(personality), 1,
                              SCMP_A0(SCMP_CMP_EQ, PER_LINUX));
    if (rc == 0)
        rc = seccomp_rule_add(c, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
                              SCMP_A0(SCMP_CMP_LT, AF_VSOCK));
    if (rc == 0)
        rc = seccomp_rule_add(c, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
                              SCMP_A0(SCMP_CMP_GT, AF_VSOCK));
    return rc;
}

static bool has_arg_rules(int nr)
{
    return nr == SCMP_SYS(clone) || nr == SCMP_SYS(personality) || nr == SCMP_SYS(socket);
}

static int allow_name(scmp_filter_ctx c, const char *name, struct sb_error *err)
{
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR)
        return sb_fail(err, SB_E_CONFIG, "seccomp: unknown syscall '%s'", name);
    if (find_deny(name) || has_arg_rules(nr))
        return 0; /* handled by the deny table or the argument rules */
    int rc = seccomp_rule_add(c, SCMP_ACT_ALLOW, nr, 0);
    if (rc < 0 && rc != -EEXIST)
        return sb_fail_errno(err, SB_E_INTERNAL, -rc, "seccomp_rule_add allow %s", name);
    return 0;
}

static int export_bpf(scmp_filter_ctx c, struct seccomp_prog *out, struct sb_error *err)
{
    int fd = memfd_create("soulbox-bpf", MFD_CLOEXEC);
    if (fd < 0)
        return sb_fail_errno(err, SB_E_INTERNAL, errno, "memfd_create");
    int rc = seccomp_export_bpf(c, fd);
    off_t n = lseek(fd, 0, SEEK_END);
    if (rc < 0 || n <= 0 || n % 8 || lseek(fd, 0, SEEK_SET) < 0) {
        close(fd);
        return sb_fail_errno(err, SB_E_INTERNAL, rc < 0 ? -rc : EIO, "seccomp_export_bpf");
    }
    out->bpf = malloc((size_t)n);
    if (!out->bpf || pread(fd, out->bpf, (size_t)n, 0) != n) {
        close(fd);
        free(out->bpf);
        out->bpf = NULL;
        return sb_fail(err, SB_E_INTERNAL, "seccomp: reading exported BPF failed");
    }
    close(fd);
    out->len = (uint32_t)n;
    return 0;
}

int seccomp_compile(const char *const *allowed, size_t n_allowed,
                    struct seccomp_prog *out, struct sb_error *err)
{
    return seccomp_compile_mode(allowed, n_allowed, seccomp_notify_supported(), out, err);
}

int seccomp_compile_mode(const char *const *allowed, size_t n_allowed, bool notify,
                         struct seccomp_prog *out, struct sb_error *err)
{
    bool allowlist = allowed != NULL && n_allowed > 0;
    memset(out, 0, sizeof *out);
    out->notify = notify;
    uint32_t kill = act_value(A_KILL, out->notify);
    scmp_filter_ctx c = seccomp_init(allowlist ? kill : SCMP_ACT_ALLOW);
    if (!c)
        return sb_fail(err, SB_E_INTERNAL, "seccomp_init failed");
    int rc = 0;
    /* Only the native ABI: x32 numbers and i386 int 0x80 kill the process. */
    if ((rc = seccomp_attr_set(c, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS)) < 0 ||
        (rc = seccomp_attr_set(c, SCMP_FLTATR_CTL_NNP, 0)) < 0) {
        sb_fail_errno(err, SB_E_INTERNAL, -rc, "seccomp_attr_set");
        goto out;
    }
    for (size_t i = 0; i < sizeof deny_table / sizeof *deny_table; i++) {
        int nr = seccomp_syscall_resolve_name(deny_table[i].name);
        if (nr == __NR_SCMP_ERROR)
            continue; /* not on this architecture */
        uint32_t act = act_value(deny_table[i].act, out->notify);
        if (allowlist && act == kill)
            continue; /* already the default action */
        rc = seccomp_rule_add(c, act, nr, 0);
        if (rc < 0) {
            sb_fail_errno(err, SB_E_INTERNAL, -rc, "seccomp_rule_add %s", deny_table[i].name);
            goto out;
        }
    }
    if ((rc = add_arg_rules(c, allowlist)) < 0) {
        sb_fail_errno(err, SB_E_INTERNAL, -rc, "seccomp argument rules");
        goto out;
    }
    for (size_t i = 0; allowlist && i < n_allowed; i++)
        if ((rc = allow_name(c, allowed[i], err)) < 0)
            goto out;
    for (size_t i = 0; allowlist && i < sizeof agent_needs / sizeof *agent_needs; i++)
        if ((rc = allow_name(c, agent_needs[i], err)) < 0)
            goto out;
    rc = export_bpf(c, out, err);
out:
    seccomp_release(c);
    return rc < 0 ? -1 : 0;
}

void seccomp_prog_free(struct seccomp_prog *p)
{
    free(p->bpf);
    memset(p, 0, sizeof *p);
}

int seccomp_validate_allowlist(const char *const *names, size_t n, struct sb_error *err)
{
    for (size_t i = 0; i < n; i++) {
        if (seccomp_syscall_resolve_name(names[i]) == __NR_SCMP_ERROR)
            return sb_fail(err, SB_E_CONFIG, "unknown syscall '%s'", names[i]);
        const struct deny *d = find_deny(names[i]);
        if (d && d->act != A_ENOSYS)
            return sb_fail(err, SB_E_CONFIG, "syscall '%s' is always denied by SoulBox",
                           names[i]);
    }
    return 0;
}

const char *seccomp_syscall_name(int nr, uint32_t arch, char *buf, size_t len)
{
    char *name = seccomp_syscall_resolve_num_arch(arch ? arch : SCMP_ARCH_NATIVE, nr);
    if (name) {
        snprintf(buf, len, "%s", name);
        free(name);
    } else {
        snprintf(buf, len, "syscall %d", nr);
    }
    return buf;
}
