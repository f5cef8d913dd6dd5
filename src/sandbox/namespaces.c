/* Host side: clone into new namespaces and exec the agent (posix_spawn-style). */
#include "sandbox/namespaces.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/proto.h"

/* Where the agent's own binary sits between the fd shuffle and exec. */
#define AGENT_EXEC_FD 5
#define NSLOTS 6

/*
 * A server holds thousands of descriptors (clients, pipes of running
 * sandboxes). A child that copied that table would copy and then close all
 * of them on every spawn. Instead the child shares the table (CLONE_FILES)
 * and unshares only its low end with close_range(CLOSE_RANGE_UNSHARE): the
 * fds it needs are first placed in NSLOTS low slots reserved at startup.
 */
static int slots[NSLOTS] = {-1, -1, -1, -1, -1, -1};
static int slot_max = -1;
static int devnull = -1;
static pthread_mutex_t slot_mu = PTHREAD_MUTEX_INITIALIZER;

int ns_init(struct sb_error *err)
{
    pthread_mutex_lock(&slot_mu);
    if (devnull < 0) {
        devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
        for (int i = 0; i < NSLOTS && devnull >= 0; i++) {
            slots[i] = fcntl(devnull, F_DUPFD_CLOEXEC, 0);
            if (slots[i] > slot_max)
                slot_max = slots[i];
        }
    }
    bool ok = devnull >= 0 && slots[NSLOTS - 1] >= 0;
    pthread_mutex_unlock(&slot_mu);
    return ok ? 0 : sb_fail_errno(err, SB_E_INTERNAL, errno, "reserve spawn descriptors");
}

struct child_ctx {
    const struct ns_spawn_req *req;
    volatile int err;
    volatile const char *step;
};

/* Runs in the child, sharing the caller's memory until exec: only plain
 * syscalls, no allocation, no locks. */
static int child_main(void *arg)
{
    struct child_ctx *c = arg;
    /* A private fd table holding only fds 0..slot_max: cheap however many
     * descriptors the caller has open. */
    if (syscall(SYS_close_range, (unsigned)slot_max + 1, ~0U, CLOSE_RANGE_UNSHARE) < 0) {
        c->step = "close_range CLOSE_RANGE_UNSHARE";
        goto fail;
    }
    /* Lift every source fd above the targets first, so no dup2 clobbers one. */
    int src[NSLOTS];
    for (int i = 0; i < NSLOTS; i++) {
        src[i] = fcntl(slots[i], F_DUPFD_CLOEXEC, 64);
        if (src[i] < 0) {
            c->step = "dup";
            goto fail;
        }
    }
    for (int i = 0; i < 5; i++) {
        if (dup2(src[i], i) < 0) {
            c->step = "dup2";
            goto fail;
        }
    }
    if (dup3(src[5], AGENT_EXEC_FD, O_CLOEXEC) < 0) {
        c->step = "dup3";
        goto fail;
    }
    syscall(SYS_close_range, AGENT_EXEC_FD + 1, ~0U, 0);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) {
        c->step = "prctl PR_SET_PDEATHSIG";
        goto fail;
    }
    char *const argv[] = {"soulbox-agent", NULL};
    char *const envp[] = {NULL};
    syscall(SYS_execveat, AGENT_EXEC_FD, "", argv, envp, AT_EMPTY_PATH);
    c->step = "execveat agent";
fail:
    c->err = errno;
    _exit(127);
}

int ns_spawn(const struct ns_spawn_req *req, pid_t *pid, int *pidfd, struct sb_error *err)
{
    static const int flags_base = CLONE_VM | CLONE_VFORK | CLONE_PIDFD | CLONE_NEWPID |
                                  CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | SIGCHLD;
    int flags = flags_base | (req->share_net ? 0 : CLONE_NEWNET);
    struct child_ctx c = {req, 0, NULL};
    /* The child runs on this stack region while this thread is suspended. */
    static __thread char stack[64 * 1024] __attribute__((aligned(16)));
    if (slot_max < 0 && ns_init(err) < 0)
        return -1;
    /* Block every signal so no handler of ours runs on the child's side of
     * the shared memory; the agent resets its mask itself. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_mutex_lock(&slot_mu);
    const int src[NSLOTS] = {req->stdio[0], req->stdio[1], req->stdio[2], req->control_fd,
                             req->plan_fd, req->agent_fd};
    int fd = -1, clone_errno = 0;
    pid_t p = -1;
    for (int i = 0; i < NSLOTS; i++)
        if (dup3(src[i], slots[i], O_CLOEXEC) < 0) {
            clone_errno = errno;
            break;
        }
    if (!clone_errno) {
        p = clone(child_main, stack + sizeof stack, flags | CLONE_FILES, &c, &fd);
        clone_errno = errno;
    }
    /* Back to placeholders: the slots must not keep the pipes open. */
    for (int i = 0; i < NSLOTS; i++)
        dup3(devnull, slots[i], O_CLOEXEC);
    pthread_mutex_unlock(&slot_mu);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (p < 0)
        return sb_fail_errno(err, SB_E_SANDBOX_SETUP, clone_errno, "clone");
    if (c.err) {
        int e = c.err;
        waitpid(p, NULL, 0);
        if (fd >= 0)
            close(fd);
        return sb_fail_errno(err, SB_E_SANDBOX_SETUP, e, "spawn agent: %s", c.step);
    }
    *pid = p;
    *pidfd = fd;
    return 0;
}
