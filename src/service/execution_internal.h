/* Internals of executions shared by execution.c (the lifecycle) and execution_cluster.c (cluster mode). */
#ifndef SB_SERVICE_EXECUTION_INTERNAL_H
#define SB_SERVICE_EXECUTION_INTERNAL_H

#include "common/buf.h"
#include "common/list.h"
#include "service/execution.h"
#include "service/service.h"

/*
 * PERSISTING -> QUEUED -> RUNNING -> DONE, or PERSISTING -> DONE (cancelled
 * or killed before it was queued, or not recorded), or QUEUED -> DONE
 * (cancelled or killed in the queue). Only finish() and refuse() end one.
 */
enum ex_state { EX_PERSISTING, EX_QUEUED, EX_RUNNING, EX_DONE };

/* Stdin held for an execution that has not started, like the job's bound. */
#define EARLY_STDIN_MAX (1u << 20)

struct execution {
    struct sched_item item;      /* the scheduler hands it back */
    struct service *svc;
    char id[37];
    enum req_kind kind;
    struct exec_req req;
    struct exec_events ev;
    void *arg;
    bool detached;
    enum ex_state state;
    struct caller who;
    uint64_t created_ms, started_ms;
    struct job *job;
    struct job_result res;
    double queued_ms, setup_ms, teardown_ms;   /* for the log */
    char cancel_why[128];
    /* interactive controls that arrived before the job existed */
    struct sb_buf early_in;
    bool early_close, paused, kill_requested;
    uv_timer_t stall;          /* while paused: a reader that never comes back */
    uv_timer_t later;          /* ends it from the loop (a cancel before it runs) */
    int handles;
    bool finished;             /* finish() ran: freed once its handles close */
    /* cluster mode */
    bool remote;               /* handed to the shared queue: another node runs it, this
                                  one waits for its result (sync) */
    bool start_recorded;       /* `running` in the store already (owned at insert, claimed) */
    bool checking;             /* a remote one's row is being read */
    struct list_node node;     /* in the service's in-flight list */
};

/* A new execution in the service's in-flight list (takes req's contents). */
struct execution *ex_new(struct service *s, const struct caller *who, struct exec_req *req,
                         enum req_kind kind, const struct exec_events *ev, void *arg);
/* Ends it with no verdict: `why` is its note. */
void ex_finish_noted(struct execution *ex, const char *why, bool was_running);
/* Ends one another node ran (its result in ex->res, or none). */
void ex_finish_remote(struct execution *ex);
/* Cluster mode: tells the cluster thread this node's load and room. */
void ex_report_load(struct service *s);

#endif
