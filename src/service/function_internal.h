/* Internals of serverless functions shared by function.c (registry, store), function_def.c (deploy specs), function_run.c (invocations), function_inst.c (warm instances) and function_cron.c (schedules). */
#ifndef SB_SERVICE_FUNCTION_INTERNAL_H
#define SB_SERVICE_FUNCTION_INTERNAL_H

#include "runner/job.h"
#include "service/cron.h"
#include "service/exec_req.h"
#include "service/function.h"

#define FN_NAME_MAX 63
#define FN_ALIAS_MAX 63
#define FN_MAX_SCHEDULES 8
#define FN_LOGS_MAX_BYTES (64u << 10)    /* logs taken from an invocation */
#define FN_LOG_KEEP_BYTES (4u << 10)     /* of which the last ones kept in its log entry */
#define FN_KEPT_RESPONSES (256u << 20)   /* async responses' bodies kept, all functions */
#define FN_EVENT_MAX_BYTES (8u << 20)    /* an event as JSON */
#define FN_CONCURRENCY_MAX 64

/* Visiting a list, declaring pos (and nx, the next node, when the body may unlink pos). */
#define FN_EACH(head, pos) for (struct list_node *pos = (head)->next; pos != (head); pos = pos->next)
#define FN_EACH_SAFE(head, pos, nx)                                                  \
    for (struct list_node *pos = (head)->next, *nx = pos->next; pos != (head);       \
         pos = nx, nx = pos->next)

/* Histogram bounds of invocation durations, seconds. */
#define FN_BUCKETS 12

enum fn_mode {
    FN_HANDLER,                  /* python/javascript: handler(event, context) */
    FN_STDIO,                    /* any language: the event on stdin, stdout the body */
};

/* Counters of one version on this node. */
#define FN_REFUSED SB_ST__COUNT        /* invocations' slot for those refused */

struct fn_stats {
    uint64_t invocations[2][FN_REFUSED + 1];  /* [warm][sb_status, or FN_REFUSED] */
    uint64_t buckets[FN_BUCKETS];
    double sum_s;
    uint64_t count;
    uint64_t instances_started, instances_failed;
};

struct fn_version {
    struct function *fn;
    unsigned number;
    uint64_t created_ms;
    char created_by[65];         /* key id, "" without auth */
    json_t *spec;                /* the deploy request (values of secrets included) */
    struct exec_req req;         /* language, files, env, limits, network from spec */
    enum fn_mode mode;
    char module[256];            /* FN_HANDLER: the file and function */
    char func[64];
    bool reuse, public_;
    unsigned min_instances, max_instances, concurrency;
    uint64_t timeout_ms, idle_ms;
    struct cron sched[FN_MAX_SCHEDULES];
    char *sched_expr[FN_MAX_SCHEDULES];
    size_t nsched;
    uint64_t next_fire[FN_MAX_SCHEDULES];
    /* runtime, on this node */
    struct list_node instances;  /* struct fn_instance */
    unsigned ninstances, nstarting;
    struct list_node queue;      /* struct fn_invocation waiting, oldest first */
    struct list_node jobs;       /* without reuse: those given to the server's scheduler */
    unsigned nqueued, nrunning;  /* running: without reuse, jobs (or waiting for a slot) */
    struct fn_stats stats;
    char *init_error;            /* reuse: why the last instance could not load, or NULL */
    uint64_t init_failed_ms;
    bool retired;                /* pruned or its function deleted: no new invocations */
    unsigned refs;
};

/* An invocation remembered for GET .../logs and .../invocations/{id}. */
struct fn_log {
    char id[37];
    char request_id[129];
    unsigned version;
    uint64_t started_ms;
    double duration_ms;
    bool cold, async, done;
    int http_status;
    char status[32];             /* ok, runtime_error, ... */
    char *error;                 /* owned, or NULL */
    char *logs;                  /* owned, or NULL */
    json_t *response;            /* async: {status, headers, body, is_base64}, or NULL */
    size_t kept;                 /* bytes of response body counted in the registry */
};

struct function {
    struct list_node node;
    struct service *svc;
    char name[FN_NAME_MAX + 1];
    char owner[80];              /* key id, "" without auth */
    uint64_t generation;         /* the store's; 0 until first written */
    uint64_t created_ms, updated_ms;
    unsigned active;
    json_t *doc;                 /* what the store holds (NULL until written) */
    struct fn_version **versions;  /* ascending numbers */
    size_t nversions;
    struct fn_log *logs;         /* ring of cfg log_entries */
    size_t nlogs, log_next;
    bool writing, deleted;
    struct list_node ops;        /* struct fn_op waiting to write, oldest first */
    unsigned refs;
};

struct fn_registry {
    struct list_node all;        /* struct function, by name */
    unsigned n;
    bool loaded, closing;
    unsigned ninstances;         /* warm instances of all functions */
    unsigned ninvocations;       /* under way */
    uv_timer_t tick;             /* scale-down, schedules, cluster resync */
    uint64_t last_sync_ms;
    size_t kept_bytes;           /* async responses' bodies kept in logs, all functions */
};

/* function.c */
struct function *fn_find(struct service *svc, const char *name);
/* A new function in the registry (no document yet), or NULL. */
struct function *fn_new(struct service *svc, const char *name);
void fn_unref(struct function *f);
/* Out of the registry: its versions retired; freed once unreferenced. */
void fn_remove(struct function *f, const char *why);
/* Makes f what doc says (the store's generation gen). */
void fn_apply_doc(struct function *f, json_t *doc, uint64_t gen);
void fn_log_entry_free(struct fn_registry *r, struct fn_log *l);
bool fn_visible(const struct function *f, const struct caller *who);
struct fn_version *fn_version_find(struct function *f, unsigned number);
void fn_version_unref(struct fn_version *v);
/* The version a target's suffix names (number, alias, "" = active), or NULL with err. */
struct fn_version *fn_resolve(struct function *f, const char *ref, struct sb_error *err);
void fn_log_add(struct function *f, const struct fn_log *entry);
struct fn_log *fn_log_find(struct function *f, const char *id);
void fn_audit(struct service *svc, const struct caller *who, const char *event,
              const char *name, const char *detail);

/* function_def.c: a deploy spec -> a version (0, or -1 with err). The
 * version's spec is stolen on success. */
int fn_version_build(struct service *svc, json_t *spec, unsigned number,
                     struct fn_version **out, struct sb_error *err);
void fn_version_free(struct fn_version *v);
/* Its public description: secrets' values hidden. */
json_t *fn_version_json(const struct fn_version *v);
int fn_name_ok(const char *name, struct sb_error *err);

/* function_run.c */
void fn_run_next(struct fn_version *v);          /* queued work may start now */
/* Ends every invocation of v (shutdown): queued, waiting for a slot, running. */
void fn_cancel_version(struct fn_version *v, const char *why);
void fn_fail_queue(struct fn_version *v, const char *why);
/* Out of its version's queue (it was queued). */
void fn_dequeue(struct fn_invocation *inv);
/* Ends inv with the function's error (fn_error_response) and the logs it
 * gathered from a warm instance's stderr. */
void fn_invocation_fail(struct fn_invocation *inv, const char *status, const char *why);
/* A finished job -> status name, the HTTP answer and its logs (malloc'd, or NULL). */
const char *fn_job_answer(struct fn_invocation *inv, const struct job_result *r,
                          struct fn_response *resp, const char **logs);
/* Whether s[0..n) is UTF-8 (a JSON string can hold it). */
bool fn_utf8_ok(const char *s, size_t n);
/* A runtime's response line -> status name and the HTTP answer. */
const char *fn_answer_line(struct fn_invocation *inv, json_t *line, struct fn_response *resp);
/* The function's error as the HTTP answer (502, or 504 for a timeout);
 * message is also kept as the invocation's error (its log entry). */
void fn_error_response(struct fn_invocation *inv, const char *status, const char *message,
                       json_t *detail, struct fn_response *out);
/* The response for a handler's value / a stdio run's stdout. */
int fn_response_from_value(json_t *value, bool bytes, struct fn_response *out,
                           struct sb_error *err);

/* function_inst.c: warm instances of a reuse version */
struct fn_instance;
/* Starts one more instance (cold); -1 with err when no more may start. */
int fn_instance_start(struct fn_version *v, struct sb_error *err);
/* An idle instance with room for one more invocation, or NULL. */
struct fn_instance *fn_instance_free_slot(struct fn_version *v);
/* Sends inv to it; its end is reported through fn_invocation_end. */
void fn_instance_send(struct fn_instance *in, struct fn_invocation *inv);
/* Ends instances idle past their time beyond min_instances; tops up to min. */
void fn_instances_tick(struct fn_version *v, uint64_t now_ms);
/* Ends its instances; invocations in them end with why. */
void fn_instances_stop(struct fn_version *v, const char *why);
unsigned fn_instances_ready(const struct fn_version *v);
/* Invocations its instances run now. */
unsigned fn_instances_busy(const struct fn_version *v);

/* What an invocation carries through run or instance. */
struct fn_invocation {
    struct list_node node;       /* in a queue, or an instance's in-flight list */
    struct service *svc;
    struct fn_version *v;        /* a reference */
    char id[37];
    char request_id[129];
    char *line;                  /* the envelope: {"id","event","context"} + "\n" */
    size_t line_len;
    char *event_json;            /* FN_STDIO: the event alone */
    size_t event_len;
    uint64_t t0_ns, started_ms, deadline_ms;
    bool cold, async, queued, finished;
    fn_done_cb done;
    void *arg;
    struct job *job;             /* without reuse */
    struct sched_wait *wait;     /* without reuse: waiting for a run slot */
    char cancelled[160];         /* why its job was cancelled ("" if it was not) */
    struct sb_buf out;           /* without reuse: its stdout until the response line */
    /* answered: its caller has the answer (possibly before the run ended) */
    bool answered;
    int http_status;
    double answer_s;
    char status[32];
    char *error;                 /* the answer's error message, or NULL */
    json_t *response;            /* async: the answer as kept, or NULL */
    struct fn_instance *inst;    /* with reuse */
    uv_timer_t timer;            /* reuse: its timeout (closed with it, which frees it) */
    struct sb_buf logs;          /* stderr seen while it ran (reuse), capped */
    char *callback_url;          /* async */
};

/* The answer goes to the caller now (status names the verdict: "ok",
 * "runtime_error", ...) and into the function's logs, with logs (what it
 * printed so far); the record is completed at its end. */
void fn_invocation_answer(struct fn_invocation *inv, const char *status,
                          struct fn_response *resp, const struct sb_error *err,
                          const char *logs);
/* The end of an invocation (from a job or an instance): the answer, unless
 * it was given already (then resp is dropped), and its record. */
void fn_invocation_end(struct fn_invocation *inv, const char *status, struct fn_response *resp,
                       const struct sb_error *err, const char *logs);

/* function_cron.c */
void fn_cron_arm(struct fn_version *v, uint64_t now_ms);
void fn_cron_tick(struct service *svc, uint64_t now_ms);

#endif
