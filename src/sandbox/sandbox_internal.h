/* Internals of the sandbox engine shared by sbx.c (lifecycle, channel),
 * proc.c (processes), stdio.c (their streams), files.c (file requests) and
 * the backends. Not for use outside src/sandbox. */
#ifndef SB_SANDBOX_SANDBOX_INTERNAL_H
#define SB_SANDBOX_SANDBOX_INTERNAL_H

#include "sandbox/backend.h"
#include "sandbox/proto.h"
#include "sandbox/sandbox.h"

enum sbx_state {
    SBX_STARTING,    /* the agent sets up */
    SBX_READY,       /* processes and files are served */
    SBX_ENDING,      /* killed or failed: waiting for the agent to be gone */
    SBX_GONE,        /* agent gone, processes reported: `ended` has run */
};

enum proc_state {
    P_QUEUED,        /* the sandbox is not ready: EXEC not sent yet */
    P_STARTING,      /* EXEC sent */
    P_WARM,          /* a warm program waits for GO */
    P_RUNNING,       /* started (STARTED, or GO) */
    P_EXITED,        /* the agent reported its end: output may still drain */
    P_DONE,          /* `exited` ran (or it was freed before) */
};

/* A frame waiting for room in the channel. */
struct out_frame {
    struct agent_hdr h;
    int fds[AGENT_MAX_FDS];
    int nfds;
    uint8_t payload[];
};

/* A file request in flight (its frames are queued or sent). */
struct file_req {
    uint32_t id;
    uint32_t op;
    sbx_file_cb cb;
    void *arg;
    struct sbx_file_result r;
    size_t cap_entries;
    size_t cap_data;
    uint64_t max;
};

struct sbx {
    struct sbx_engine *e;
    const struct sbx_backend_ops *ops;
    struct sbx_backend_state be;     /* the namespace backend's own */
    struct vm_sbx *vm;               /* the microVM backend's own (freed at release) */
    uv_poll_t vm_poll;               /* ... and its VMM's pidfd watch, which must outlive it */
    bool vm_poll_on;
    enum sbx_state state;
    struct sbx_callbacks cb;
    void *arg;
    struct sbx_limits lim;           /* sandbox-wide */
    struct sbx_end end;
    struct sbx_times t;
    bool freed;                      /* sbx_free came before the end */
    bool kill_requested;             /* sbx_kill: its end is no surprise */
    bool torn_down;                  /* the backend released it */
    bool agent_gone;
    int ctl;                         /* the channel, -1 when closed */
    uv_poll_t ctl_poll;
    bool ctl_poll_on;
    int ctl_events;
    uv_timer_t setup_timer;
    int open_handles;
    uint32_t next_id;
    uint64_t agent_cpu_ns;           /* the agent's own CPU, as last reported */
    /* frames waiting to be sent, oldest first (out[out_head..nout)) */
    struct out_frame **out;
    size_t nout, out_head, out_cap;
    /* processes not yet done, and file requests in flight */
    struct sbx_proc **procs;
    size_t nprocs, procs_cap;
    struct file_req **files;
    size_t nfiles, files_cap;
    /* egress: the plumbing (made by the backend), then the box */
    bool network;
    struct netns_fds net_fds;
    struct sbx_net net_req;          /* spec.net_policy, copied, until the box opens */
    struct net_policy net_req_policy;
    bool net_req_set;
    char net_tag[80];
    struct net_box *net;
    struct net_stats net_final;      /* its traffic, once the box is closed */
};

/* A sandbox's plan (plan.h) from the layout lc for this spec, its program
 * uid and its agent's, encoded into *buf (malloc'd). 0 or -1 with err.
 * Shared by the backends (ns_backend.c). */
int sbx_plan_bytes(struct sbx *s, const struct sbx_spec *spec, const struct layout_cfg *lc,
                   uint32_t uid, uint32_t agent_uid, bool new_net, uint8_t **buf, size_t *len,
                   struct sb_error *err);

/* Opens the box of spec.net_policy once the backend has plumbed (loop). */
int sbx_net_start(struct sbx *s, struct sb_error *err);

struct sbx_proc {
    struct sbx *s;
    uint32_t id;
    enum proc_state state;
    struct sbx_proc_callbacks cb;
    void *arg;
    bool freed;                      /* sbx_proc_free came before the end */
    uint32_t flags;                  /* PEXEC_* */
    struct sbx_limits lim;
    struct sbx_result r;
    /* the EXEC frame and the stdio it carries, kept until the sandbox is ready */
    uint8_t *exec;
    uint32_t exec_len;
    int agent_fds[3];
    /* stdio (host ends) */
    uv_pipe_t out_pipe, err_pipe, in_pipe;
    bool out_on, err_on, in_on;
    int pty;                         /* pty master (also stdin), or -1 */
    char *stdin_copy;
    size_t stdin_len;
    bool interactive, stdin_closing, output_paused, kill_sent, go_sent;
    bool forward_only;          /* output only to cb.output: not kept, no output limit */
    uint64_t pending_sigs; /* asked for while P_QUEUED (bit N: signal N), sent after EXEC */
    uint16_t pending_rows, pending_cols; /* a resize asked for while P_QUEUED */
    size_t stdin_pending;
    /* limits and accounting */
    uv_timer_t wall_timer, cpu_timer, drain_timer;
    uint64_t t_started, cpu_base_ns, oom_base;
    int open_handles;
    bool agent_cpu_known;
    uint64_t agent_cpu_ns;
    struct agent_exited exit_msg;
};

/* sbx.c */
/* Queues a frame (payload copied, fds owned: closed after sending or on
 * failure). Returns 0 or -1 (no memory; the fds are closed). */
int sbx_send(struct sbx *s, uint16_t type, uint32_t id, uint32_t flags, const void *payload,
             uint32_t len, const int *fds, int nfds);
void sbx_close_handle(int *counter, uv_handle_t *h, bool *on, uv_close_cb cb);
/* A handle of s closed (its close callback). */
void sbx_handle_closed(uv_handle_t *h);
/* The backend saw the agent end. */
void sbx_agent_gone(struct sbx *s, const char *how);
/* The backend's start finished: the channel s->ctl is open (backend.h). */
void sbx_channel_open(struct sbx *s);
/* The backend's start failed later (err says why); nothing is left to release. */
void sbx_start_failed(struct sbx *s, const struct sb_error *err);
/* Ends the sandbox now: the backend kills it; `ended` follows once gone. */
void sbx_kill(struct sbx *s, const char *why_failed);
void sbx_maybe_gone(struct sbx *s);

/* proc.c */
void proc_ready(struct sbx_proc *p);           /* the sandbox is ready: send EXEC */
void proc_on_frame(struct sbx_proc *p, const struct agent_hdr *h, const uint8_t *payload,
                   const int *fds, int nfds);
void proc_sandbox_gone(struct sbx_proc *p);    /* the agent is gone */
void proc_maybe_done(struct sbx_proc *p);
/* Close callback of every handle of a process (its accounting). */
void proc_handle_closed(uv_handle_t *h);
/* A limit was hit (or its user asked): kill it, let its output drain. */
void proc_limit_hit(struct sbx_proc *p);
struct sbx_proc *proc_find(struct sbx *s, uint32_t id);

/* stdio.c */
/* Takes the host ends of its pipes (stdin, stdout, stderr), starts reading
 * and writes the initial stdin. */
void stdio_open(struct sbx_proc *p, const int host[3]);
/* A pty's master (p->pty) arrived: the same with the terminal. */
void stdio_start(struct sbx_proc *p);
/* A warm process got its run: its stdin data, then EOF unless interactive. */
void stdio_claimed(struct sbx_proc *p, const void *data, size_t len);
void stdio_close(struct sbx_proc *p);

/* files.c */
void files_on_frame(struct sbx *s, const struct agent_hdr *h, const uint8_t *payload);
/* The agent is gone: every request fails with why. */
void files_fail_all(struct sbx *s, int err, const char *why);

#endif
