/* Cluster membership and the shared queue: heartbeats, lost nodes, claiming queued executions, LISTEN/NOTIFY. */
#ifndef SB_CLUSTER_CLUSTER_H
#define SB_CLUSTER_CLUSTER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "common/error.h"
#include "config/config.h"

struct cluster;

/* An execution this node took from the shared queue: already `running` and
 * this node's in the database (owned by whoever receives it). */
struct cluster_claim {
    char id[37];
    char mode[16];
    char key_id[65];           /* "" when none */
    char client[64];
    char request_id[129];
    uint64_t created_ms, started_ms;
    char *request_json;        /* the request as the API took it */
};
void cluster_claim_free(struct cluster_claim *c);

/* What the node hears, on the loop thread. */
struct cluster_hooks {
    /* Took it from the queue: run it (the callee owns c). */
    void (*claimed)(void *arg, struct cluster_claim *c);
    /* An execution ended on some node (its result is in the store). */
    void (*done)(void *arg, const char *id);
    /* Each heartbeat (for work that waits on other nodes). */
    void (*tick)(void *arg);
    /* This node was declared lost while out of touch: the cluster ended or
     * re-queued its executions, so what it still runs must stop. */
    void (*lost)(void *arg);
    /* A function was deployed, changed or deleted (by any node): reload it. */
    void (*function_changed)(void *arg, const char *name);
};

/*
 * Joins the cluster whose database is url as a new node (id: name and a
 * random part, so a restarted node is a new member and its previous
 * incarnation is found lost by the others). Runs a thread of its own.
 * 0 or -1 with err.
 */
int cluster_start(struct cluster **out, uv_loop_t *loop, const struct sb_config *cfg,
                  const struct cluster_hooks *hooks, void *arg, struct sb_error *err);
const char *cluster_node_id(const struct cluster *c);

/* The node's load, from the loop: room is how many more it can start now
 * (the thread claims queued work up to it). */
void cluster_set_load(struct cluster *c, unsigned running, unsigned queued, unsigned room);
/* The languages this node can run (it claims only those). */
void cluster_set_languages(struct cluster *c, const char *const *names, size_t n);

/* Whether another live node had room at its last heartbeat (a request this
 * node cannot start now is then handed over through the queue). */
bool cluster_peer_has_room(struct cluster *c);
/* Executions the queue may hold: the live nodes' server.max_queue together. */
unsigned cluster_queue_capacity(struct cluster *c);
/* Takes a place in the shared queue for a request handed over: 0, -1 when
 * the queue is full, -2 (err says why) when the database is out of reach. */
int cluster_queue_take(struct cluster *c, struct sb_error *err);

/* {"node", "name", "database", "nodes": [...]} for /health and GET /api/cluster. */
json_t *cluster_status(struct cluster *c);

/* Leaves the cluster (the node's row says `left`) and stops the thread. */
void cluster_stop(struct cluster *c);

#endif
