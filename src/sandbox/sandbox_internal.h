/* Internals of one sandboxed run, shared by sandbox.c (lifecycle) and stdio.c
 * (output capture, stdin). Not for use outside src/sandbox. */
#ifndef SB_SANDBOX_SANDBOX_INTERNAL_H
#define SB_SANDBOX_SANDBOX_INTERNAL_H

#include "sandbox/sandbox.h"

struct sbx {
    struct sbx_engine *e;
    sbx_done_cb done;
    sbx_output_cb output;
    void *arg;
    struct sbx_result r;
    struct sbx_limits lim;
    char *stdin_copy;
    size_t stdin_len;
    bool interactive;        /* stdin stays open for sbx_stdin_write */
    /* pooled: set up ahead of a request (sbx_go hands it one) */
    bool pooled, warm, waiting, ready;
    /* The result goes out as soon as the program is gone (reported); the
     * agent's exit, cgroup and uid clean-up finish after, and the struct is
     * freed once both that is done and the caller called sbx_free. */
    bool reported, released, cleaned;
    sbx_ready_cb ready_cb;
    bool stdin_closing;      /* close once the queued writes are done */
    size_t stdin_pending;    /* bytes queued, not yet taken by the pipe */
    bool output_paused;
    char *fetch_path;
    uint64_t fetch_max;

    uint32_t uid;
    bool have_uid;
    struct cg cg;
    pid_t pid;
    int pidfd, ctl;

    uv_timer_t setup_timer, wall_timer, cpu_timer;
    uv_poll_t pid_poll, ctl_poll;
    uv_pipe_t out_pipe, err_pipe, in_pipe;
    bool pid_poll_on, ctl_poll_on, out_on, err_on, in_on;

    bool started, agent_done, finishing, killed;
    uint64_t t_started, cpu_base_ns, agent_cpu_ns;
    bool have_agent_cpu;
    int open_handles;
};

/* sandbox.c */
void sbx_kill_agent(struct sbx *s);
void sbx_close_handle(struct sbx *s, uv_handle_t *h, bool *on);
void sbx_maybe_finish(struct sbx *s);

/* stdio.c: starts reading the output pipes and, with a stdin pipe, writes the
 * initial stdin (closing it after unless interactive). */
void sbx_stdio_start(struct sbx *s);
/* A pooled sandbox was claimed: its stdin data, then EOF unless interactive. */
void sbx_stdio_claimed(struct sbx *s, const void *data, size_t len);

#endif
