/* Agent side: credentials, capabilities, no_new_privs and the seccomp filter load. */
#include "sandbox/creds.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/error.h"

static int fail(char *why, size_t whylen, int err, const char *what)
{
    snprintf(why, whylen, "%s: %s", what, sb_errno_name(err));
    return -err;
}

int creds_drop(uint32_t uid, uint32_t agent_uid, uint32_t gid, char *why, size_t whylen)
{
    if (uid == 0 || gid == 0 || agent_uid == 0 || agent_uid == uid)
        return fail(why, whylen, EINVAL, "sandbox uid/gid 0 or agent uid = program uid");
    /* The bounding set can only shrink while we still hold CAP_SETPCAP. */
    for (unsigned long cap = 0; cap <= 63; cap++) {
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
            if (errno == EINVAL)
                break; /* past the kernel's last capability */
            return fail(why, whylen, errno, "prctl PR_CAPBSET_DROP");
        }
    }
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        return fail(why, whylen, errno, "prctl PR_CAP_AMBIENT_CLEAR_ALL");
    if (setgroups(0, NULL) < 0)
        return fail(why, whylen, errno, "setgroups");
    if (setresgid(gid, gid, gid) < 0)
        return fail(why, whylen, errno, "setresgid");
    /* Real uid: the program's, so the agent may signal its processes and set
     * their limits; effective and saved: another, so they cannot do the same
     * to the agent (prlimit and ptrace need all three to match). */
    if (setresuid(uid, agent_uid, agent_uid) < 0)
        return fail(why, whylen, errno, "setresuid");
    setfsuid(uid); /* files the agent writes belong to the program */
    /* Leaving uid 0 without keep-caps clears the permitted and effective
     * sets; check rather than trust it. */
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    if (syscall(SYS_capget, &hdr, data) < 0)
        return fail(why, whylen, errno, "capget");
    for (int i = 0; i < 2; i++)
        if (data[i].effective || data[i].permitted || data[i].inheritable)
            return fail(why, whylen, EPERM, "capabilities survived setresuid");
    uid_t r, e, s;
    if (getresuid(&r, &e, &s) < 0 || r != uid || e != agent_uid || s != agent_uid ||
        (uint32_t)setfsuid((uid_t)-1) != uid)
        return fail(why, whylen, EPERM, "uid did not change");
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return fail(why, whylen, errno, "prctl PR_SET_NO_NEW_PRIVS");
    return 0;
}

int creds_become_program(uint32_t uid)
{
    if (syscall(SYS_setresuid, uid, uid, uid) < 0)
        return -errno;
    return 0;
}

int creds_load_seccomp(const void *bpf, uint32_t len, int want_listener,
                       char *why, size_t whylen)
{
    struct sock_fprog prog = {
        .len = (unsigned short)(len / sizeof(struct sock_filter)),
        .filter = (struct sock_filter *)bpf,
    };
    unsigned int flags = want_listener ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0;
    long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
    if (rc < 0)
        return fail(why, whylen, errno, "seccomp SET_MODE_FILTER");
    return want_listener ? (int)rc : 0;
}
