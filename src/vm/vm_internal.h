/* Internals of the microVM backend shared by vm_backend.c (the ops, on the loop) and relay.c (the relay thread). */
#ifndef SB_VM_VM_INTERNAL_H
#define SB_VM_VM_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "sandbox/sandbox_internal.h"
#include "vm/stream.h"
#include "vm/vm.h"

#define MAX_RPROCS 512
#define CONSOLE_KEEP 4096
#define QUEUE_HIGH (4u << 20)

struct rproc {
    bool used, exited, pty_pending;
    bool in_done;              /* a pty's engine end stopped writing: stop reading it */
    uint32_t id;
    int in;                    /* engine's stdin (we read), or the pty's end */
    int out[3];                /* [1], [2]: we write; for a pty [1] == in */
    struct sb_buf q[3];
    bool eof[3];               /* the guest's stream ended: close once q is written */
};

struct vm_sbx {
    struct sbx *s;
    struct vmm_procs p;
    struct cg cg;
    char cg_name[64];
    char export_dir[300];
    uint32_t uid;
    bool have_uid, spawning, killed, gone;
    bool started;              /* H_VM_START sent: the engine's frames may follow */
    bool hung;                 /* the relay killed a guest that stopped answering */
    uint64_t last_rx_ns, last_ping_ns;
    uv_work_t work;
    int rc;
    struct sb_error err;
    struct vmm_req req;
    const char **paths;        /* the export */
    uint8_t *start;            /* H_VM_START's payload */
    size_t start_len;
    int chan[2];               /* [0] the engine's (s->ctl), [1] the relay's */
    pthread_t thread;
    bool thread_on;
    /* shared with the relay thread */
    pthread_mutex_t mu;
    struct agent_vm_stats stats;
    bool have_stats, stats_asked;
    char kernel[64];
    char console[CONSOLE_KEEP];
    size_t console_len;
    /* the relay's own */
    struct vm_rx rx;
    struct sb_buf tx;          /* to the guest */
    struct sb_buf fwd;         /* frames to the engine that did not fit yet */
    struct rproc procs[MAX_RPROCS];
    uint8_t *frame;
};

/* The relay thread's body (relay.c): runs until the guest's port ends. */
void *vm_relay_main(void *arg);

#endif
