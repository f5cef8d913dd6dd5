/* The SoulBox service: HTTP API over the runner, with store, admission, auth, metrics. */
#ifndef SB_SERVER_SERVER_H
#define SB_SERVER_SERVER_H

#include <stdbool.h>
#include <uv.h>

#include "common/list.h"
#include "config/config.h"
#include "runner/job.h"
#include "sandbox/sandbox.h"
#include "scheduler/sched.h"
#include "service/auth.h"
#include "service/callback.h"
#include "service/metrics.h"
#include "frontend/request.h"
#include "store/store.h"
#include "transport/http.h"

/* What the startup probe found out about a language. */
struct lang_status {
    const struct lang *lang;
    bool probed;
    bool available;
    char version[64];
    char why[256];              /* when unavailable */
};

struct execution;
struct h2_server;

struct server {
    uv_loop_t *loop;
    const struct sb_config *cfg;
    struct sbx_engine engine;
    struct runner runner;
    struct store *store;
    struct sched sched;
    struct http_server *http;
    struct h2_server *grpc;
    struct metrics metrics;
    struct auth auth;
    struct callback_cfg cbcfg;
    uv_signal_t sigint, sigterm;
    uv_timer_t grace;
    uint64_t started_ms;
    bool stopping;
    bool closed;
    struct list_node inflight; /* struct execution, newest first */
    unsigned ninflight;
    struct lang_registry registry;
    struct lang_status *langs;
    size_t nlangs;
    size_t probe_next;          /* next language to probe */
    unsigned probes_running;
    bool langs_ready;           /* every language probed */
    bool pools_closing;
    bool engine_open, registry_open;   /* for an orderly exit from a failed start */
    int exit_code;
};

/* Runs the service until SIGTERM/SIGINT and a graceful shutdown. Returns the
 * process exit code (0 after a clean shutdown). */
int server_run(const struct sb_config *cfg);

/* A language passed its probe (languages.c): its warm pool starts filling. */
void server_language_usable(struct server *s, const struct lang *l);

/* An execution ended (execution.c): during shutdown, maybe the last one. */
void server_execution_ended(struct server *s);

/* The HTTP entry point (router.c). */
void router_handle(struct http_conn *c, struct http_request *req, void *arg);
/* Route table for `soulbox routes` and the OpenAPI check: "METHOD PATH" lines. */
void router_print(void);

/* Logs a request and counts it in the metrics (the replies below do it). */
void router_log(struct server *s, struct http_request *req, const char *route, int status);
/* Replies that also log the request and count it in the metrics. */
void reply_json(struct server *s, struct http_conn *c, struct http_request *req,
                const char *route, int status, json_t *body, const char *extra_headers);
void reply_error(struct server *s, struct http_conn *c, struct http_request *req,
                 const char *route, enum sb_code code, const char *message,
                 const char *extra_headers);

/* Handlers (api.c). */
void api_health(struct server *s, struct http_conn *c, struct http_request *req, const char *key);
void api_languages(struct server *s, struct http_conn *c, struct http_request *req, const char *key);
void api_metrics(struct server *s, struct http_conn *c, struct http_request *req, const char *key);
void api_execute(struct server *s, struct http_conn *c, struct http_request *req, const char *key);
void api_submit(struct server *s, struct http_conn *c, struct http_request *req, const char *key);
void api_list(struct server *s, struct http_conn *c, struct http_request *req, const char *key);
void api_get(struct server *s, struct http_conn *c, struct http_request *req, const char *key);

/* Probing languages at startup, in the background (languages.c). */
void languages_probe(struct server *s);
const struct lang_status *languages_find(const struct server *s, const struct lang *l);
/* {"languages": [...], "unavailable": [...], "probing": [...]} (GET /api/languages). */
json_t *languages_json(const struct server *s);
/* 0, or -1 with SB_E_UNKNOWN_LANGUAGE when the probe found it unusable. */
int languages_check(const struct server *s, const struct lang *l, struct sb_error *err);

/* WebSocket endpoint GET /api/ws (ws.c). key: the key id from the upgrade
 * request's headers, or NULL (then, with auth on, a first "auth" message). */
void api_ws(struct server *s, struct http_conn *c, struct http_request *req, const char *key);

#endif
