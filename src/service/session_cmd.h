/* Commands of a session: processes started over time, foreground or background, with output kept for reattaching. */
#ifndef SB_SERVICE_SESSION_CMD_H
#define SB_SERVICE_SESSION_CMD_H

#include <jansson.h>

#include "service/session.h"

struct session_cmd_req {
    const char *const *argv;     /* the program and its arguments, or NULL for `shell` */
    size_t argc;
    const char *shell;           /* a line for /bin/bash -c (when argv is NULL) */
    const char *cwd;             /* NULL: the working dir */
    json_t *env;                 /* object of strings, or NULL */
    const void *stdin_data;      /* written first */
    size_t stdin_len;
    bool stdin_open;             /* stdin stays open for session_cmd_stdin */
    uint64_t timeout_ms;         /* 0: until the session ends */
    bool pty;
    uint16_t rows, cols;
    const char *tag;             /* a name the client gives it (E2B's tag), or NULL */
};

struct session_cmd;

/* Someone following a command's output: every chunk in order (those before
 * the watch first when replay was asked), then its end. */
struct cmd_watcher {
    struct list_node node;
    void (*output)(struct cmd_watcher *w, int stream, const char *data, size_t len);
    void (*exited)(struct cmd_watcher *w, struct session_cmd *c);
    void *arg;
    bool attached;
    void *pending;               /* the end's delivery when it had ended already */
};

struct session_cmd {
    struct list_node node;
    struct session *s;
    struct service *svc;         /* outlives the session (output_held) */
    uint32_t pid;                /* its id in the session (E2B's pid) */
    char *tag;
    json_t *config;              /* {cmd, args, envs, cwd} as started */
    struct sbx_proc *proc;
    bool running;
    bool started;
    struct sb_buf log;           /* [stream u8][len u32][bytes]... every chunk, in order */
    bool interactive;            /* stdin_open or pty: it takes stdin */
    struct sb_buf early_stdin;   /* typed before it started (a pty exists only then) */
    bool early_close;
    uint64_t out_bytes, err_bytes;
    bool output_dropped;         /* sessions.max_output_held_mb was reached: not all is kept */
    uint64_t started_ms, ended_ms;
    /* the end, once !running */
    const char *status;          /* ok, runtime_error, time_limit_exceeded, ... */
    int exit_code;               /* -1 with a signal */
    int signal;
    char error[256];             /* why SoulBox could not run it, or "" */
    uint64_t wall_ms, cpu_ms, memory_peak_kb;
    struct list_node watchers;
    unsigned refs;
};

/* Starts a command. NULL with err (bad request, session ending, too many). */
struct session_cmd *session_cmd_start(struct session *s, const struct session_cmd_req *req,
                                      struct sb_error *err);
struct session_cmd *session_cmd_find(struct session *s, uint32_t pid);
/* Follows c: replay (everything it printed so far) first if asked; if it has
 * already ended, exited follows from the loop. */
void session_cmd_watch(struct session_cmd *c, struct cmd_watcher *w, bool replay);
void session_cmd_unwatch(struct cmd_watcher *w);
/* Interactive stdin (see sbx_proc_stdin_write); -1 when closed or ended. */
int session_cmd_stdin(struct session_cmd *c, const void *data, size_t len);
void session_cmd_stdin_close(struct session_cmd *c);
/* A signal to its process group; SIGKILL is a kill on request. 0, or -1 when it ended. */
int session_cmd_signal(struct session_cmd *c, int sig);
void session_cmd_resize(struct session_cmd *c, uint16_t rows, uint16_t cols);
/* Its state and, once ended, its result; with_output: stdout/stderr too. */
json_t *session_cmd_json(const struct session_cmd *c, bool with_output);
/* stdout and stderr gathered from the log (malloc'd, NUL-terminated). */
void session_cmd_output(const struct session_cmd *c, struct sb_buf *out, struct sb_buf *err);
void session_cmd_ref(struct session_cmd *c);
void session_cmd_unref(struct session_cmd *c);
/* Signal numbers by name ("SIGKILL", "KILL", "9"), or -1. */
int session_signal_number(const char *name);

/* For session.c, when the session is freed (its sandbox's end has reported
 * every process's exit before). */
void session_cmds_free(struct session *s);

#endif
