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
    const struct ns_spawn_req *r = c->req;
    /* Lift every source fd above the targets first, so no dup2 clobbers one. */
    int src[6] = {r->stdio[0], r->stdio[1], r->stdio[2], r->control_fd, r->plan_fd,
                  r->agent_fd};
    for (int i = 0; i < 6; i++) {
        src[i] = fcntl(src[i], F_DUPFD_CLOEXEC, 16);
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
    /* Block every signal so no handler of ours runs on the child's side of
     * the shared memory; the agent resets its mask itself. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int fd = -1;
    pid_t p = clone(child_main, stack + sizeof stack, flags, &c, &fd);
    int clone_errno = errno;
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
