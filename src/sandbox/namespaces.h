/* Host side: start the agent in fresh namespaces and the sandbox's cgroup. */
#ifndef SB_SANDBOX_NAMESPACES_H
#define SB_SANDBOX_NAMESPACES_H

#include <stdbool.h>
#include <sys/types.h>

#include "common/error.h"

struct ns_spawn_req {
    int agent_fd;        /* sealed memfd holding the static agent binary */
    int stdio[3];        /* become the agent's (and program's) fds 0, 1, 2 */
    int control_fd;      /* becomes fd 3 */
    int plan_fd;         /* becomes fd 4 */
    bool share_net;      /* keep the host's network namespace (never by default) */
};

/* Reserves the low descriptor slots spawns use; call early, while few fds
 * are open. Returns 0 or -1 with err. */
int ns_init(struct sb_error *err);

/*
 * clone()s with new pid, mount, ipc, uts and net namespaces (vfork-style:
 * the caller's thread waits only until the exec), arms the parent-death
 * signal and execs the agent. Returns 0 with *pid and
 * *pidfd set, or -1 with err naming the failing step.
 */
int ns_spawn(const struct ns_spawn_req *req, pid_t *pid, int *pidfd, struct sb_error *err);

#endif
