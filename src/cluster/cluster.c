/* The cluster thread: one PostgreSQL connection for heartbeats, finding lost nodes, claiming queued work and hearing NOTIFY. */
#include "cluster/cluster.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/list.h"
#include "common/log.h"
#include "common/util.h"
#include "store/pq.h"
#include "store/store_pg.h"

#define NOW_MS PG_NOW_MS
#define RECONNECT_MS 500
#define CLAIM_BATCH 16

enum ev_kind { EV_CLAIMED, EV_DONE, EV_TICK, EV_LOST, EV_FUNCTION };

struct event {
    enum ev_kind kind;
    struct list_node node;
    struct cluster_claim *claim;
    char id[80];               /* an execution's id, or a function's name */
};

struct cluster {
    uv_loop_t *loop;
    uv_async_t async;
    uv_thread_t thread;
    struct cluster_hooks hooks;
    void *arg;
    char *url;
    char id[80], name[64], advertise[256];  /* advertise: how others reach its API */
    uint64_t heartbeat_ms, timeout_ms, max_queue, grpc_port;
    int wake_fd;
    uint64_t started_ms;
    PGconn *conn;                /* the thread's */
    uint64_t connected_ms;       /* monotonic: since when conn has worked */
    pthread_mutex_t mu;          /* guards what follows */
    bool stopping;
    unsigned running, queued, room, capacity;
    char *languages;             /* JSON array */
    json_t *nodes;               /* the last heartbeat's view (the thread builds, swaps) */
    bool peer_room;
    unsigned queue_capacity;
    unsigned shared_queued;      /* in the shared queue at the last heartbeat */
    unsigned taken;              /* places this node took since then */
    char db_error[200];          /* "" while the database answers */
    struct list_node events;     /* for the loop */
};

void cluster_claim_free(struct cluster_claim *c)
{
    if (c) {
        free(c->request_json);
        free(c);
    }
}

const char *cluster_node_id(const struct cluster *c)
{
    return c->id;
}

/* ---- to the loop ---- */

static void post(struct cluster *c, enum ev_kind kind, const char *id, struct cluster_claim *cl)
{
    struct event *e = calloc(1, sizeof *e);
    if (!e) {
        cluster_claim_free(cl);
        log_msg(LOG_ERROR, "cluster: out of memory");
        return;
    }
    e->kind = kind;
    e->claim = cl;
    if (id)
        snprintf(e->id, sizeof e->id, "%s", id);
    pthread_mutex_lock(&c->mu);
    list_insert_tail(&c->events, &e->node);
    pthread_mutex_unlock(&c->mu);
    uv_async_send(&c->async);
}

static void on_async(uv_async_t *a)
{
    struct cluster *c = a->data;
    struct list_node list, *pos, *tmp;
    list_init(&list);
    pthread_mutex_lock(&c->mu);
    list_splice_tail(&list, &c->events);
    pthread_mutex_unlock(&c->mu);
    list_foreach_safe(pos, tmp, &list) {
        struct event *e = list_entry(pos, struct event, node);
        list_remove(pos);
        switch (e->kind) {
        case EV_CLAIMED: c->hooks.claimed(c->arg, e->claim); break;
        case EV_DONE:    c->hooks.done(c->arg, e->id); break;
        case EV_TICK:    c->hooks.tick(c->arg); break;
        case EV_LOST:    c->hooks.lost(c->arg); break;
        case EV_FUNCTION:
            if (c->hooks.function_changed)
                c->hooks.function_changed(c->arg, e->id);
            break;
        }
        free(e);
    }
}

/* ---- statements ---- */

static PGresult *query(struct cluster *c, const char *sql, int n, const char *const *v,
                       const char *what)
{
    PGresult *r = pq.PQexecParams(c->conn, sql, n, NULL, v, NULL, NULL, 0);
    ExecStatusType st = r ? pq.PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return r;
    struct sb_error err;
    pq_failed(c->conn, r, &err, what);
    log_msg(LOG_ERROR, "cluster: %s", err.msg);
    pq.PQclear(r);
    return NULL;
}

static bool exec_ok(struct cluster *c, const char *sql, int n, const char *const *v,
                    const char *what)
{
    PGresult *r = query(c, sql, n, v, what);
    pq.PQclear(r);
    return r != NULL;
}

/* ---- heartbeats ---- */

static void node_view(struct cluster *c, PGresult *r)
{
    json_t *arr = json_array();
    bool room = false;
    unsigned cap = 0;
    for (int i = 0; i < pq.PQntuples(r); i++) {
        const char *id = pq.PQgetvalue(r, i, 0), *state = pq.PQgetvalue(r, i, 2);
        int capacity = atoi(pq.PQgetvalue(r, i, 3)), running = atoi(pq.PQgetvalue(r, i, 4));
        int queued = atoi(pq.PQgetvalue(r, i, 5));
        json_t *langs = json_loads(pq.PQgetvalue(r, i, 6), 0, NULL);
        bool up = !strcmp(state, "up");
        json_t *o = json_pack("{s:s,s:s,s:s,s:b,s:i,s:i,s:i,s:i,s:o,s:I,s:I}", "id", id,
                              "name", pq.PQgetvalue(r, i, 1), "state", state,
                              "self", !strcmp(id, c->id), "capacity", capacity,
                              "max_queue", atoi(pq.PQgetvalue(r, i, 10)), "running", running,
                              "queued", queued, "languages", langs ? langs : json_array(),
                              "started_ms", (json_int_t)strtoll(pq.PQgetvalue(r, i, 7), NULL, 10),
                              "heartbeat_age_ms",
                              (json_int_t)strtoll(pq.PQgetvalue(r, i, 8), NULL, 10));
        if (!pq.PQgetisnull(r, i, 9))
            json_object_set_new(o, "reason", json_string(pq.PQgetvalue(r, i, 9)));
        if (!pq.PQgetisnull(r, i, 11))
            json_object_set_new(o, "url", json_string(pq.PQgetvalue(r, i, 11)));
        json_array_append_new(arr, o);
        if (up) {
            cap += (unsigned)atoi(pq.PQgetvalue(r, i, 10));
            if (strcmp(id, c->id) && running < capacity)
                room = true;
        }
    }
    pthread_mutex_lock(&c->mu);
    json_t *old = c->nodes;
    c->nodes = arr;
    c->peer_room = room;
    c->queue_capacity = cap;
    pthread_mutex_unlock(&c->mu);
    json_decref(old);
}

/* Says this node is alive with its load; learns whether it had been found
 * lost meanwhile. */
static bool heartbeat(struct cluster *c)
{
    char started[24], cap[16], mq[16], run[16], q[16];
    pthread_mutex_lock(&c->mu);
    snprintf(cap, sizeof cap, "%u", c->capacity);
    snprintf(run, sizeof run, "%u", c->running);
    snprintf(q, sizeof q, "%u", c->queued);
    char *langs = strdup(c->languages ? c->languages : "[]");
    pthread_mutex_unlock(&c->mu);
    snprintf(started, sizeof started, "%llu", (unsigned long long)c->started_ms);
    snprintf(mq, sizeof mq, "%llu", (unsigned long long)c->max_queue);
    char gport[16];
    snprintf(gport, sizeof gport, "%llu", (unsigned long long)c->grpc_port);
    const char *v[] = {c->id, c->name, started, cap, run, q, langs ? langs : "[]", mq, c->advertise,
                       gport};
    PGresult *r = query(c,
        "WITH prev AS (SELECT state FROM nodes WHERE id = $1) "
        "INSERT INTO nodes(id, name, started_ms, heartbeat_ms, state, capacity, running, queued, "
        "languages, max_queue, url, grpc_port) VALUES($1, $2, $3, " NOW_MS ", 'up', $4, $5, $6, "
        "$7, $8, $9, $10) ON CONFLICT (id) DO UPDATE SET heartbeat_ms = " NOW_MS ", state = 'up', "
        "capacity = $4, running = $5, queued = $6, languages = $7, max_queue = $8, url = $9, "
        "grpc_port = $10, ended_ms = NULL, reason = NULL RETURNING (SELECT state FROM prev)", 10,
        v, "heartbeat");
    free(langs);
    if (!r)
        return false;
    bool was_lost = !pq.PQgetisnull(r, 0, 0) && !strcmp(pq.PQgetvalue(r, 0, 0), "lost");
    pq.PQclear(r);
    if (was_lost) {
        log_msg(LOG_ERROR, "cluster: this node was found lost while out of touch with the "
                "database; its executions were ended or handed over, what it still runs stops");
        post(c, EV_LOST, NULL, NULL);
    }
    r = query(c, "SELECT count(*) FROM executions WHERE state = 'queued' AND node IS NULL", 0,
              NULL, "queue length");
    if (!r)
        return false;
    pthread_mutex_lock(&c->mu);
    c->shared_queued = (unsigned)atoi(pq.PQgetvalue(r, 0, 0));
    c->taken = 0;
    pthread_mutex_unlock(&c->mu);
    pq.PQclear(r);
    r = query(c, "SELECT id, name, state, capacity, running, queued, languages, started_ms, "
              NOW_MS " - heartbeat_ms, reason, max_queue, url FROM nodes WHERE state = 'up' "
              "OR ended_ms > " NOW_MS " - 3600000 ORDER BY started_ms, id", 0, NULL, "nodes");
    if (!r)
        return false;
    node_view(c, r);
    pq.PQclear(r);
    return true;
}

/* ---- lost nodes ---- */

/* What a node that is gone leaves: its queued requests go back to the queue,
 * what it ran or held for its own clients ends as internal_error saying
 * why, and whoever waits hears of it. Inside the caller's transaction. */
static bool end_node_work(struct cluster *c, const char *id, const char *name, const char *why)
{
    const char *w[] = {id, name, why};
    PGresult *q = query(c,
        "WITH r AS (UPDATE executions SET node = NULL WHERE node = $1 AND state = 'queued' "
        "AND mode IN ('sync', 'async') RETURNING id) "
        "SELECT count(*), pg_notify('soulbox_queue', '') FROM r", 1, w, "requeue");
    PGresult *f = q ? query(c,
        "WITH f AS (UPDATE executions SET state = 'done', status = 'internal_error', "
        "finished_ms = " NOW_MS ", request = NULL, note = 'node ' || $2 || ' (' || $1 || ') "
        "was lost (' || $3 || ') while this execution was ' || state "
        "WHERE node = $1 AND state <> 'done' RETURNING id) "
        "SELECT id, pg_notify('soulbox_done', id) FROM f", 3, w, "end lost executions") : NULL;
    PGresult *ss = f ? query(c,
        "UPDATE sessions SET state = 'lost', ended_ms = " NOW_MS ", reason = 'node ' || $2 || "
        "' (' || $1 || ') was lost (' || $3 || ')' WHERE node = $1 AND state = 'live'", 3, w,
        "sessions lost") : NULL;
    bool ok = q && f && ss;
    pq.PQclear(ss);
    if (ok && (atoi(pq.PQgetvalue(q, 0, 0)) || pq.PQntuples(f)))
        log_event(LOG_WARN, "a node's executions were taken over",
                  json_pack("{s:s,s:s,s:s,s:i,s:i}", "node", id, "name", name, "reason", why,
                            "requeued", atoi(pq.PQgetvalue(q, 0, 0)), "ended", pq.PQntuples(f)));
    pq.PQclear(q);
    pq.PQclear(f);
    return ok;
}

/* Nodes silent for longer than the timeout are lost. All or nothing. */
static bool reap(struct cluster *c)
{
    char timeout[24];
    snprintf(timeout, sizeof timeout, "%llu", (unsigned long long)c->timeout_ms);
    const char *v[] = {c->id, timeout};
    if (!exec_ok(c, "BEGIN", 0, NULL, "begin"))
        return false;
    PGresult *lost = query(c,
        "UPDATE nodes SET state = 'lost', ended_ms = " NOW_MS ", reason = 'no heartbeat for ' || "
        "(" NOW_MS " - heartbeat_ms) || ' ms' WHERE state = 'up' AND id <> $1 AND "
        "heartbeat_ms < " NOW_MS " - $2::bigint RETURNING id, name, reason", 2, v, "find lost nodes");
    bool ok = lost != NULL;
    for (int i = 0; ok && i < pq.PQntuples(lost); i++) {
        log_event(LOG_WARN, "node lost", json_pack("{s:s,s:s,s:s}", "node",
                  pq.PQgetvalue(lost, i, 0), "name", pq.PQgetvalue(lost, i, 1), "reason",
                  pq.PQgetvalue(lost, i, 2)));
        ok = end_node_work(c, pq.PQgetvalue(lost, i, 0), pq.PQgetvalue(lost, i, 1),
                           pq.PQgetvalue(lost, i, 2));
    }
    pq.PQclear(lost);
    if (ok && exec_ok(c, "COMMIT", 0, NULL, "commit"))
        return true;
    exec_ok(c, "ROLLBACK", 0, NULL, "rollback");
    return false;
}

/* A node stopping: it leaves, and what it still owned is handed over. */
static void leave(struct cluster *c)
{
    const char *v[] = {c->id};
    if (!exec_ok(c, "BEGIN", 0, NULL, "begin"))
        return;
    if (exec_ok(c, "UPDATE nodes SET state = 'left', ended_ms = " NOW_MS ", reason = 'stopped' "
                "WHERE id = $1", 1, v, "leave") &&
        end_node_work(c, c->id, c->name, "it stopped") &&
        exec_ok(c, "COMMIT", 0, NULL, "commit"))
        return;
    exec_ok(c, "ROLLBACK", 0, NULL, "rollback");
}

/* ---- the queue ---- */

static void copy_col(char *dst, size_t len, PGresult *r, int i, int col)
{
    snprintf(dst, len, "%s", pq.PQgetisnull(r, i, col) ? "" : pq.PQgetvalue(r, i, col));
}

/* Takes up to `room` queued executions this node can run, oldest first,
 * skipping rows another node is taking. Returns how many. */
static int claim(struct cluster *c, unsigned room)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%u", room < CLAIM_BATCH ? room : CLAIM_BATCH);
    pthread_mutex_lock(&c->mu);
    char *langs = strdup(c->languages ? c->languages : "[]");
    pthread_mutex_unlock(&c->mu);
    const char *v[] = {c->id, langs ? langs : "[]", lim};
    PGresult *r = query(c,
        "UPDATE executions e SET node = $1, state = 'running', started_ms = " NOW_MS ", "
        "runs = runs + 1 FROM (SELECT seq FROM executions WHERE state = 'queued' AND "
        "node IS NULL AND language IN (SELECT json_array_elements_text($2::json)) "
        "ORDER BY seq LIMIT $3 FOR UPDATE SKIP LOCKED) q WHERE e.seq = q.seq "
        "RETURNING e.id, e.mode, e.key_id, e.client, e.request_id, e.created_ms, e.started_ms, "
        "e.request", 3, v, "claim");
    free(langs);
    if (!r)
        return -1;
    int n = pq.PQntuples(r);
    for (int i = 0; i < n; i++) {
        struct cluster_claim *cl = calloc(1, sizeof *cl);
        if (!cl)
            break;
        copy_col(cl->id, sizeof cl->id, r, i, 0);
        copy_col(cl->mode, sizeof cl->mode, r, i, 1);
        copy_col(cl->key_id, sizeof cl->key_id, r, i, 2);
        copy_col(cl->client, sizeof cl->client, r, i, 3);
        copy_col(cl->request_id, sizeof cl->request_id, r, i, 4);
        cl->created_ms = strtoull(pq.PQgetvalue(r, i, 5), NULL, 10);
        cl->started_ms = strtoull(pq.PQgetvalue(r, i, 6), NULL, 10);
        cl->request_json = pq.PQgetisnull(r, i, 7) ? NULL : strdup(pq.PQgetvalue(r, i, 7));
        post(c, EV_CLAIMED, NULL, cl);
    }
    pq.PQclear(r);
    pthread_mutex_lock(&c->mu);
    c->room = c->room > (unsigned)n ? c->room - (unsigned)n : 0;
    pthread_mutex_unlock(&c->mu);
    return n;
}

/* NOTIFYs that arrived: work queued, executions done. */
static bool drain_notifies(struct cluster *c, bool *queued)
{
    if (!pq.PQconsumeInput(c->conn))
        return false;
    PGnotify *n;
    while ((n = pq.PQnotifies(c->conn))) {
        if (!strcmp(n->relname, "soulbox_queue"))
            *queued = true;
        else if (!strcmp(n->relname, "soulbox_done") && strlen(n->extra) < 37)
            post(c, EV_DONE, n->extra, NULL);
        else if (!strcmp(n->relname, "soulbox_functions") && strlen(n->extra) < 80)
            post(c, EV_FUNCTION, n->extra, NULL);
        pq.PQfreemem(n);
    }
    return true;
}

/* ---- the thread ---- */

static bool connect_db(struct cluster *c)
{
    struct sb_error err;
    c->conn = pq_connect(c->url, "soulbox-cluster", &err);
    if (c->conn && pq_exec(c->conn, "LISTEN soulbox_queue; LISTEN soulbox_done; LISTEN soulbox_functions", &err,
                           "listen") < 0) {
        pq.PQfinish(c->conn);
        c->conn = NULL;
    }
    pthread_mutex_lock(&c->mu);
    bool was_down = c->db_error[0];
    if (c->conn) {
        c->db_error[0] = '\0';
        c->connected_ms = util_mono_ns() / 1000000u;
    } else
        snprintf(c->db_error, sizeof c->db_error, "%s", err.msg);
    pthread_mutex_unlock(&c->mu);
    if (!c->conn && !was_down)
        log_msg(LOG_ERROR, "cluster: the database is unreachable: %s", err.msg);
    if (c->conn && was_down)
        log_msg(LOG_INFO, "cluster: the database is reachable again");
    return c->conn != NULL;
}

static void disconnect(struct cluster *c, const char *why)
{
    pthread_mutex_lock(&c->mu);
    snprintf(c->db_error, sizeof c->db_error, "%s", why);
    pq_tidy(c->db_error);
    log_msg(LOG_ERROR, "cluster: lost the database: %s", c->db_error);
    pthread_mutex_unlock(&c->mu);
    pq.PQfinish(c->conn);
    c->conn = NULL;
}

static void wait_for(struct cluster *c, uint64_t ms)
{
    struct pollfd p[2] = {{.fd = c->wake_fd, .events = POLLIN},
                          {.fd = c->conn ? pq.PQsocket(c->conn) : -1, .events = POLLIN}};
    if (poll(p, c->conn ? 2 : 1, (int)ms) > 0 && (p[0].revents & POLLIN)) {
        uint64_t v;
        if (read(c->wake_fd, &v, sizeof v) < 0 && errno != EAGAIN)
            log_msg(LOG_ERROR, "cluster: wake: %s", strerror(errno));
    }
}

/* One round: heartbeat when due, lost nodes, the queue, notifications.
 * false when the connection failed. */
static bool round_trip(struct cluster *c, uint64_t *next_beat, bool *queued)
{
    uint64_t now = util_mono_ns() / 1000000u;
    if (now >= *next_beat) {
        /* Only a node that has been in touch for a whole timeout judges the
         * others: after an outage of the database everyone's heartbeat is
         * old, and those nodes are alive. */
        bool judge = now - c->connected_ms > c->timeout_ms;
        if (!heartbeat(c) || (judge && !reap(c)))
            return false;
        *next_beat = now + c->heartbeat_ms;
        *queued = true;             /* a poll, in case a NOTIFY was missed */
        post(c, EV_TICK, NULL, NULL);
    }
    pthread_mutex_lock(&c->mu);
    unsigned room = c->room;
    pthread_mutex_unlock(&c->mu);
    if (*queued && room) {
        int n = claim(c, room);
        if (n < 0)
            return false;
        *queued = n == CLAIM_BATCH;   /* maybe more; otherwise the next NOTIFY or beat */
    }
    return drain_notifies(c, queued);
}

static void thread_main(void *arg)
{
    struct cluster *c = arg;
    uint64_t next_beat = 0;
    bool queued = true;
    for (;;) {
        pthread_mutex_lock(&c->mu);
        bool stop = c->stopping;
        pthread_mutex_unlock(&c->mu);
        if (stop)
            break;
        if (!c->conn && !connect_db(c)) {
            wait_for(c, RECONNECT_MS);
            continue;
        }
        if (!round_trip(c, &next_beat, &queued)) {
            disconnect(c, pq.PQerrorMessage(c->conn));
            next_beat = 0;
            continue;
        }
        uint64_t now = util_mono_ns() / 1000000u;
        wait_for(c, next_beat > now ? next_beat - now : 0);
        drain_notifies(c, &queued);
    }
    if (c->conn) {
        leave(c);
        pq.PQfinish(c->conn);
        c->conn = NULL;
    }
}

static void wake(struct cluster *c)
{
    uint64_t one = 1;
    if (write(c->wake_fd, &one, sizeof one) < 0 && errno != EAGAIN)
        log_msg(LOG_ERROR, "cluster: wake: %s", strerror(errno));
}

/* ---- the loop's side ---- */

void cluster_set_load(struct cluster *c, unsigned running, unsigned queued, unsigned room)
{
    pthread_mutex_lock(&c->mu);
    bool more = room > c->room;
    c->running = running;
    c->queued = queued;
    c->room = room;
    pthread_mutex_unlock(&c->mu);
    if (more)
        wake(c);
}

void cluster_set_languages(struct cluster *c, const char *const *names, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(names[i]));
    char *s = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    pthread_mutex_lock(&c->mu);
    free(c->languages);
    c->languages = s;
    pthread_mutex_unlock(&c->mu);
    wake(c);
}

bool cluster_peer_has_room(struct cluster *c)
{
    pthread_mutex_lock(&c->mu);
    bool r = c->peer_room && !c->db_error[0];
    pthread_mutex_unlock(&c->mu);
    return r;
}

/* Before the first view of the nodes: this node's own max_queue. (c->mu held) */
static unsigned capacity_locked(const struct cluster *c)
{
    return c->queue_capacity ? c->queue_capacity : (unsigned)c->max_queue;
}

unsigned cluster_queue_capacity(struct cluster *c)
{
    pthread_mutex_lock(&c->mu);
    unsigned r = capacity_locked(c);
    pthread_mutex_unlock(&c->mu);
    return r;
}

int cluster_queue_take(struct cluster *c, struct sb_error *err)
{
    pthread_mutex_lock(&c->mu);
    int rc = c->shared_queued + c->taken < capacity_locked(c) ? 0 : -1;
    if (c->db_error[0]) {
        rc = -2;
        sb_fail(err, SB_E_UNAVAILABLE, "the database is unreachable (%s); try again later",
                c->db_error);
    }
    if (rc == 0)
        c->taken++;
    pthread_mutex_unlock(&c->mu);
    return rc;
}

json_t *cluster_status(struct cluster *c)
{
    pthread_mutex_lock(&c->mu);
    /* a copy: the thread's view is not shared */
    json_t *o = json_pack("{s:s,s:s,s:s,s:i,s:o}", "node", c->id, "name", c->name,
                          "database", c->db_error[0] ? "unreachable" : "up",
                          "queued", (int)c->shared_queued,
                          "nodes", c->nodes ? json_deep_copy(c->nodes) : json_array());
    if (c->db_error[0])
        json_object_set_new(o, "error", json_string(c->db_error));
    pthread_mutex_unlock(&c->mu);
    return o;
}

int cluster_start(struct cluster **out, uv_loop_t *loop, const struct sb_config *cfg,
                  const struct cluster_hooks *hooks, void *arg, struct sb_error *err)
{
    struct cluster *c = calloc(1, sizeof *c);
    if (!c || !(c->url = strdup(cfg->server.store))) {
        free(c);
        return sb_fail(err, SB_E_INTERNAL, "out of memory");
    }
    char host[64] = "node";
    if (gethostname(host, sizeof host - 1) < 0)
        snprintf(host, sizeof host, "node");
    snprintf(c->name, sizeof c->name, "%s", cfg->cluster.node_name[0] ? cfg->cluster.node_name
                                                                        : host);
    char uuid[37];
    util_uuid(uuid);
    snprintf(c->id, sizeof c->id, "%s-%.8s", c->name, uuid);
    const char *listen = cfg->server.listen;
    bool any = !strcmp(listen, "0.0.0.0") || !strcmp(listen, "::") || !*listen;
    if (cfg->cluster.advertise_url[0])
        snprintf(c->advertise, sizeof c->advertise, "%s", cfg->cluster.advertise_url);
    else if (strchr(any ? host : listen, ':'))
        snprintf(c->advertise, sizeof c->advertise, "http://[%s]:%llu", any ? host : listen,
                 (unsigned long long)cfg->server.port);
    else
        snprintf(c->advertise, sizeof c->advertise, "http://%s:%llu", any ? host : listen,
                 (unsigned long long)cfg->server.port);
    c->loop = loop;
    c->hooks = *hooks;
    c->arg = arg;
    c->heartbeat_ms = cfg->cluster.heartbeat_ms;
    c->timeout_ms = cfg->cluster.node_timeout_ms;
    c->max_queue = cfg->server.max_queue;
    c->grpc_port = cfg->server.grpc_port;
    c->capacity = (unsigned)cfg->server.max_concurrent;
    c->started_ms = util_now_ms();
    list_init(&c->events);
    pthread_mutex_init(&c->mu, NULL);
    c->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (c->wake_fd < 0) {
        sb_fail_errno(err, SB_E_INTERNAL, errno, "cluster: eventfd");
        goto fail;
    }
    /* Joining is checked now: a node that cannot reach the database at
     * start says so and exits instead of serving alone. */
    if (!connect_db(c)) {
        sb_fail(err, SB_E_UNAVAILABLE, "cluster: %s", c->db_error);
        goto fail;
    }
    if (store_pg_schema(c->conn, err) < 0)
        goto fail;
    if (!heartbeat(c)) {
        sb_fail(err, SB_E_UNAVAILABLE, "cluster: cannot register this node: %s",
                pq.PQerrorMessage(c->conn));
        goto fail;
    }
    uv_async_init(loop, &c->async, on_async);
    c->async.data = c;
    if (uv_thread_create(&c->thread, thread_main, c) != 0) {
        uv_close((uv_handle_t *)&c->async, NULL);
        sb_fail(err, SB_E_INTERNAL, "cluster: cannot start its thread");
        goto fail;
    }
    log_event(LOG_INFO, "joined the cluster", json_pack("{s:s}", "node", c->id));
    *out = c;
    return 0;
fail:
    if (c->conn)
        pq.PQfinish(c->conn);
    if (c->wake_fd >= 0)
        close(c->wake_fd);
    pthread_mutex_destroy(&c->mu);
    free(c->url);
    free(c);
    return -1;
}

static void free_cluster(uv_handle_t *h)
{
    struct cluster *c = h->data;
    json_decref(c->nodes);
    free(c->languages);
    free(c->url);
    free(c);
}

void cluster_stop(struct cluster *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->stopping = true;
    pthread_mutex_unlock(&c->mu);
    wake(c);
    uv_thread_join(&c->thread);
    /* Claims not yet run go back: nobody here will run them. */
    struct list_node *pos, *tmp;
    list_foreach_safe(pos, tmp, &c->events) {
        struct event *e = list_entry(pos, struct event, node);
        list_remove(pos);
        cluster_claim_free(e->claim);
        free(e);
    }
    close(c->wake_fd);
    pthread_mutex_destroy(&c->mu);
    uv_close((uv_handle_t *)&c->async, free_cluster);
}
