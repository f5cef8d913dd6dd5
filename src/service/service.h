/* The service core: what every front end calls (executions, the gate, languages, metrics), with its store, runner and sandboxes. */
#ifndef SB_SERVICE_SERVICE_H
#define SB_SERVICE_SERVICE_H

#include <stdbool.h>
#include <uv.h>

#include "common/list.h"
#include "config/config.h"
#include "runner/job.h"
#include "runner/lang.h"
#include "sandbox/sandbox.h"
#include "scheduler/sched.h"
#include "service/auth.h"
#include "service/callback.h"
#include "service/function.h"
#include "service/lang_probe.h"
#include "service/metrics.h"
#include "service/session.h"
#include "store/store.h"

enum service_state {
    SERVICE_RUNNING,   /* takes executions */
    SERVICE_DRAINING,  /* refuses new ones; in-flight ones finish (or are cancelled) */
    SERVICE_CLOSED,
};

struct service {
    uv_loop_t *loop;
    const struct sb_config *cfg;
    enum service_state state;
    struct sbx_engine engine;
    struct runner runner;
    struct store *store;
    struct cluster *cluster;    /* cluster mode (server.store is PostgreSQL), or NULL */
    struct net_engine *net;     /* egress, when the config enables it */
    struct sched sched;
    struct metrics metrics;
    struct auth auth;
    struct callbacks callbacks;
    struct lang_registry registry;
    struct lang_probe probe;
    struct session_registry sessions;
    bool sessions_open;
    struct fn_registry *functions;  /* serverless functions (function.h) */
    struct list_node inflight;  /* struct execution, newest first */
    unsigned ninflight;
    uint64_t started_ms;
    bool engine_open, registry_open, pools_closing;
    void (*drained)(void *arg);
    void *drained_arg;
    void (*closed)(void *arg);
    void *closed_arg;
};

/* Opens everything an execution needs: sandbox engine, languages, compile
 * cache, warm pools, store (recovering what a crash left), scheduler.
 * Returns 0, or -1 with err (then service_abort releases what was opened). */
int service_open(struct service *s, uv_loop_t *loop, const struct sb_config *cfg,
                 struct sb_error *err);
/* After a failed open: releases what was opened (runs the loop to finish). */
void service_abort(struct service *s);
/* Starts checking the languages (their warm pools fill as they pass). */
void service_start(struct service *s);

/* Stops taking executions; in-flight ones go on. `drained` runs (once, from
 * the loop) when none is left and no probe or pooled sandbox runs. */
void service_drain(struct service *s, void (*drained)(void *arg), void *arg);
/* Cancels every execution still in flight, with why. */
void service_cancel_all(struct service *s, const char *why);
/* After draining: closes the store and the engine once every sandbox is
 * gone; `closed` follows. */
void service_close(struct service *s, void (*closed)(void *arg), void *arg);
/* Frees what service_open allocated (after `closed`, or after abort). */
void service_free(struct service *s);

bool service_accepting(const struct service *s);

/* GET /api/cluster, GetCluster: the nodes sharing this one's store (cluster
 * mode), or this node alone on SQLite ({"store": "sqlite", one node}). */
json_t *service_cluster_json(struct service *s);

/* An execution ended or a probe finished: during a drain, maybe the last. */
void service_check_drained(struct service *s);

#endif
