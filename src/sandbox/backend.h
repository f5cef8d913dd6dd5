/* Isolation backends: what the engine asks of the technology that makes a sandbox (namespaces today). */
#ifndef SB_SANDBOX_BACKEND_H
#define SB_SANDBOX_BACKEND_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "common/error.h"
#include "sandbox/cgroup.h"

struct sbx;
struct sbx_spec;
struct sbx_limits;

/* Resource use of a whole sandbox. */
struct sbx_stats {
    uint64_t cpu_ns;
    uint64_t memory_peak;
    uint64_t oom_kills;
};

/*
 * The engine (sbx.c, proc.c, files.c) owns the protocol: it speaks frames
 * (proto.h) over the channel fd a backend gives it, keeps the processes
 * and file requests, enforces limits and builds results. A backend makes
 * and unmakes the sandbox around that channel. A microVM backend boots a
 * guest whose init is the same agent, gives a vsock as the channel, and
 * relays stdio (stdio() returning sockets it copies to and from the guest).
 * Every call is made on the loop thread.
 */
struct sbx_backend_ops {
    const char *name;
    /* Starts the agent, which builds the sandbox on the other end of the
     * channel. Returns -1 with err (nothing is left to release), or 0 and
     * then, from the loop (possibly before returning), either sets s->ctl and
     * calls sbx_channel_open(), or calls sbx_start_failed(). Calls
     * sbx_agent_gone() when the agent ends. kill() may come in between. */
    int (*start)(struct sbx *s, const struct sbx_spec *spec, struct sb_error *err);
    /* stdio for a new process: agent_fds[0..2] travel with its EXEC frame,
     * host_fds[0..2] (stdin write end, stdout and stderr read ends) stay. */
    int (*stdio)(struct sbx *s, int agent_fds[3], int host_fds[3], struct sb_error *err);
    /* Ends everything in the sandbox now (the agent included). */
    void (*kill)(struct sbx *s);
    int (*stats)(struct sbx *s, struct sbx_stats *st);
    /* Just the CPU of stats (cheaper): 0 or -errno. */
    int (*cpu)(struct sbx *s, uint64_t *ns);
    uint64_t (*memory)(const struct sbx *s);
    void (*reset_peak)(struct sbx *s);
    int (*set_limits)(struct sbx *s, const struct sbx_limits *l, struct sb_error *err);
    /* The agent is gone: release what is left (cgroup, uid). Returns 0 or -1
     * with err. */
    int (*release)(struct sbx *s, struct sb_error *err);
};

/* The namespace backend's per-sandbox state (ns_backend.c). */
struct sbx_backend_state {
    uint32_t uid;
    bool have_uid;
    struct cg cg;
    pid_t pid;
    int pidfd;
    uv_poll_t pid_poll;
    bool pid_poll_on;
    bool killed;
    /* the spawn, on a thread of libuv's pool (the loop never waits for it) */
    uv_work_t work;
    bool spawning;             /* the thread owns the fields below and cg */
    int plan_fd, chan[2];
    struct cg_limits cl;
    char cg_name[64];
    int spawn_rc;
    struct sb_error spawn_err;
};

extern const struct sbx_backend_ops sbx_ns_backend;

#endif
