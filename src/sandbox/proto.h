/* Control messages between the host and the agent over a SOCK_SEQPACKET socketpair. */
#ifndef SB_SANDBOX_PROTO_H
#define SB_SANDBOX_PROTO_H

#include <stdint.h>

/* fds the agent receives at exec */
#define AGENT_FD_CONTROL 3
#define AGENT_FD_PLAN    4

enum agent_msg_type {
    /* agent -> host */
    AGENT_READY = 1,   /* sandbox set up; with PLAN_WAIT_GO, waiting for GO */
    AGENT_STARTED,     /* program started: pid (inside the sandbox) */
    AGENT_EXITED,      /* program ended: status, wall_ns, agent_cpu_ns, seccomp_nr */
    AGENT_FAILED,      /* setup failed: err (errno) and text naming the step */
    AGENT_FILE,        /* reply to FETCH: an fd attached, or err */
    /* host -> agent */
    HOST_GO = 100,     /* exec request attached as a memfd */
    HOST_FETCH,        /* text: path of a regular file to hand back as an fd */
    HOST_KILL,         /* kill every process of the program now */
    HOST_ATTACHED,     /* the agent is in the sandbox's cgroup: go on */
};

struct agent_msg {
    uint32_t type;
    int32_t err;          /* errno for FAILED / FILE */
    int32_t status;       /* wait(2) status of the program for EXITED */
    int32_t pid;
    int32_t seccomp_nr;   /* syscall that triggered a seccomp kill, or -1 */
    uint32_t seccomp_arch;
    uint64_t wall_ns;     /* program start to exit, measured by the agent */
    uint64_t agent_cpu_ns;/* CPU the agent itself used (subtracted from the cgroup's) */
    char text[1024];
};

/* Sends one message, with fd attached if fd >= 0. Returns 0 or -errno. */
int proto_send(int sock, const struct agent_msg *m, int fd);

/* Receives one message; *fd gets an attached fd or -1 (fd may be NULL, then
 * any attached fd is closed). Returns 1 on a message, 0 on EOF, -errno on error
 * (-EPROTO for a short or oversized message). */
int proto_recv(int sock, struct agent_msg *m, int *fd);

#endif
