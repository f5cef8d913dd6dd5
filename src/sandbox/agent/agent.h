/* soulbox-agent internals: the state pid 1 of a sandbox keeps, and its parts. */
#ifndef SB_SANDBOX_AGENT_AGENT_H
#define SB_SANDBOX_AGENT_AGENT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "sandbox/plan.h"
#include "sandbox/proto.h"

/* Processes alive at once in one sandbox (more: EXEC fails with EAGAIN). */
#define AGENT_MAX_PROCS 256
/* File writes in progress at once (chunked: FIRST ... LAST). */
#define AGENT_MAX_WRITES 16

struct aproc {
    uint32_t id;             /* the host's id; 0: free slot */
    pid_t pid;               /* session and group leader */
    uint32_t flags;          /* PEXEC_* */
    uint64_t t_start;        /* exec (cold) or GO (warm) */
    int warm_fd;             /* warm: our end of its fd 3, until GO */
    bool warm_waiting;       /* ... and its ready byte has not come */
    bool go;                 /* warm: GO arrived (it counts as started) */
    int pty;                 /* our copy of its pty master (resize), or -1 */
    int seccomp_nr;          /* forbidden call that got it killed, or -1 */
    uint32_t seccomp_arch;
};

struct awrite {
    uint32_t id;             /* 0: free */
    int fd;
    int err;                 /* first failure; later chunks are dropped */
    char what[300];
};

struct agent {
    struct plan plan;
    int sigfd;
    int notifyfd;            /* seccomp user notifications, or -1 */
    struct aproc procs[AGENT_MAX_PROCS];
    struct awrite writes[AGENT_MAX_WRITES];
    uint8_t rx[AGENT_PAYLOAD_MAX];
    uint8_t tx[AGENT_REPLY_MAX];
};

/* agent.c: sends a frame to the host; a failed send means the host is gone
 * and the sandbox ends with it. */
void agent_send(uint16_t type, uint32_t id, int32_t err, uint32_t flags, const void *payload,
                uint32_t len, const int *fds, int nfds);
/* The same with a text payload (A_FAILED, A_EXEC_FAILED, A_FILE errors). */
void agent_send_text(uint16_t type, uint32_t id, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* agent_proc.c */
void agent_exec(struct agent *a, uint32_t id, const uint8_t *p, uint32_t len, int *fds, int nfds);
void agent_go(struct agent *a, uint32_t id, const uint8_t *p, uint32_t len);
void agent_signal(struct agent *a, uint32_t id, int sig);
void agent_resize(struct agent *a, uint32_t id, uint16_t rows, uint16_t cols);
void agent_reap(struct agent *a);
void agent_seccomp_notify(struct agent *a);
void agent_warm_ready(struct agent *a, struct aproc *p);
void agent_kill_all(void);

/* agent_files.c */
void agent_file(struct agent *a, const struct agent_hdr *h, const uint8_t *p);

#endif
