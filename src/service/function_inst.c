/* Warm instances of a function version that opted into reuse: a sandbox running the language's function runtime in loop mode, fed one JSON line per invocation, replaced when it dies, times out or runs out of memory, scaled between min_instances and max_instances. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "runner/argv.h"
#include "service/function_internal.h"
#include "service/service.h"

/* A response line beyond the version's output limit (base64 and JSON
 * escapes can double it) kills the instance. */
#define RESPONSE_MAX(v) ((v)->req.limits.output_bytes * 2 + (128u << 10))
#define INIT_RETRY_MS 1000              /* after a failed load, the next start waits this */

enum inst_state { I_STARTING, I_READY, I_DEAD };

struct fn_instance {
    struct list_node node;       /* in v->instances */
    struct fn_version *v;        /* a reference */
    struct sbx *sbx;
    struct sbx_proc *proc;
    struct sbx_net net;
    enum inst_state state;
    unsigned inflight;
    struct list_node active;     /* struct fn_invocation sent, oldest first */
    struct sb_buf line;          /* stdout up to the next newline */
    char init_error[600];
    uint64_t ready_ms, idle_since_ms, served;
    size_t files_left;
};

static struct fn_registry *reg_of(struct fn_instance *in)
{
    return in->v->fn->svc->functions;
}

unsigned fn_instances_ready(const struct fn_version *v)
{
    return v->ninstances - v->nstarting;
}

unsigned fn_instances_busy(const struct fn_version *v)
{
    unsigned n = 0;
    FN_EACH(&v->instances, pos)
        n += list_entry(pos, struct fn_instance, node)->inflight;
    return n;
}

struct fn_instance *fn_instance_free_slot(struct fn_version *v)
{
    FN_EACH(&v->instances, pos) {
        struct fn_instance *in = list_entry(pos, struct fn_instance, node);
        if (in->state == I_READY && in->inflight < v->concurrency)
            return in;
    }
    return NULL;
}

/* ---- ending ---- */

/* inv leaves the instance's in-flight list (answered, timed out or failed). */
static void take_off(struct fn_instance *in, struct fn_invocation *inv)
{
    list_remove(&inv->node);
    inv->inst = NULL;
    in->inflight--;
}

/* Ends every invocation still in it with why (status), then the instance. */
static void inst_kill(struct fn_instance *in, const char *status, const char *why)
{
    struct fn_version *v = in->v;
    if (in->state == I_DEAD)
        return;
    if (in->state == I_STARTING)
        v->nstarting--;
    in->state = I_DEAD;
    v->ninstances--;
    reg_of(in)->ninstances--;
    list_remove(&in->node);
    while (!list_empty(&in->active)) {
        struct fn_invocation *inv = list_entry(in->active.next, struct fn_invocation, node);
        take_off(in, inv);
        fn_invocation_fail(inv, status, why);
    }
    if (in->proc)
        sbx_proc_free(in->proc);    /* killed, no callback follows */
    in->proc = NULL;
    if (in->sbx)
        sbx_free(in->sbx);          /* destroyed, freed once gone */
    in->sbx = NULL;
    sb_buf_free(&in->line);
    fn_version_unref(v);
    free(in);
    fn_run_next(v);                 /* a replacement, if invocations wait */
    service_check_drained(v->fn->svc);
}

/* A load that failed: the waiting invocations get its error, and new
 * instances wait INIT_RETRY_MS before trying again. */
static void load_failed(struct fn_instance *in, const char *why)
{
    struct fn_version *v = in->v;
    free(v->init_error);
    v->init_error = strdup(why);
    v->init_failed_ms = util_now_ms();
    while (!list_empty(&v->queue) && v->nstarting <= 1) {
        struct fn_invocation *inv = list_entry(v->queue.next, struct fn_invocation, node);
        fn_dequeue(inv);
        fn_invocation_fail(inv, "runtime_error", why);
    }
}

static const char *exit_status(const struct sbx_result *r, char *why, size_t len)
{
    switch (sbx_result_cause(r)) {
    case SBX_CAUSE_MEMORY:
        snprintf(why, len, "the function's instance ran out of memory (limits.memory_mb); it "
                 "was replaced");
        return "memory_limit_exceeded";
    case SBX_CAUSE_SECCOMP:
        snprintf(why, len, "the function's instance made a forbidden system call (%s); it was "
                 "replaced", r->seccomp_name);
        return "runtime_error";
    default:
        break;
    }
    if (r->failed)
        snprintf(why, len, "the function's instance failed: %s", r->error.msg);
    else if (r->term_signal)
        snprintf(why, len, "the function's instance was killed by signal %d; it was replaced",
                 r->term_signal);
    else
        snprintf(why, len, "the function's instance exited (code %d); it was replaced",
                 r->exit_code);
    return "runtime_error";
}

static void on_exited(struct sbx_proc *p, void *arg)
{
    struct fn_instance *in = arg;
    char why[700];
    const char *status = exit_status(sbx_proc_result(p), why, sizeof why);
    if (in->state == I_STARTING || in->init_error[0]) {
        if (in->init_error[0])
            snprintf(why, sizeof why, "the function could not load: %s", in->init_error);
        load_failed(in, why);
        status = "runtime_error";
    }
    in->proc = NULL;
    sbx_proc_free(p);
    inst_kill(in, status, why);
}

static void on_sbx_ended(struct sbx *s, void *arg)
{
    struct fn_instance *in = arg;
    (void)s;
    char why[600];
    snprintf(why, sizeof why, "the function's instance ended: %s",
             sbx_end(s)->failed ? sbx_end(s)->error.msg : "its sandbox is gone");
    if (in->state == I_STARTING)
        load_failed(in, why);
    inst_kill(in, "runtime_error", why);
}

/* ---- the runtime's messages ---- */

static struct fn_invocation *find_active(struct fn_instance *in, const char *id)
{
    FN_EACH(&in->active, pos) {
        struct fn_invocation *inv = list_entry(pos, struct fn_invocation, node);
        if (id && !strcmp(inv->id, id))
            return inv;
    }
    return NULL;
}

static void on_response(struct fn_instance *in, json_t *msg)
{
    struct fn_invocation *inv = find_active(in, json_string_value(json_object_get(msg, "id")));
    if (!inv)
        return; /* it timed out meanwhile */
    take_off(in, inv);
    in->served++;
    if (!in->inflight)
        in->idle_since_ms = util_now_ms();
    struct fn_response resp;
    const char *status = fn_answer_line(inv, msg, &resp);
    const char *logs = json_string_value(json_object_get(msg, "logs"));
    if (inv->logs.len) {   /* what reached fd 2 directly comes after what it printed */
        struct sb_buf all = {0};
        sb_buf_puts(&all, logs ? logs : "");
        sb_buf_append(&all, inv->logs.data, inv->logs.len);
        char *text = sb_buf_steal(&all, NULL);
        fn_invocation_end(inv, status, &resp, NULL, text);
        free(text);
    } else {
        fn_invocation_end(inv, status, &resp, NULL, logs);
    }
}

static bool on_line(void *arg, const char *text, size_t len)
{
    struct fn_instance *in = arg;
    json_t *msg = json_loadb(text, len, 0, NULL);
    const char *type = json_string_value(json_object_get(msg, "type"));
    if (!type) {
        log_msg(LOG_WARN, "function %s: its runtime said something unexpected", in->v->fn->name);
    } else if (!strcmp(type, "ready") && in->state == I_STARTING) {
        in->state = I_READY;
        in->v->nstarting--;
        in->ready_ms = in->idle_since_ms = util_now_ms();
        free(in->v->init_error);
        in->v->init_error = NULL;
    } else if (!strcmp(type, "init_error")) {
        json_t *e = json_object_get(msg, "error");
        snprintf(in->init_error, sizeof in->init_error, "%s: %s",
                 json_string_value(json_object_get(e, "type")) ?: "Error",
                 json_string_value(json_object_get(e, "message")) ?: "");
    } else if (!strcmp(type, "response")) {
        on_response(in, msg);
    }
    json_decref(msg);
    return in->state != I_DEAD;
}

static void on_output(struct sbx_proc *p, int stream, const char *data, size_t len, void *arg)
{
    struct fn_instance *in = arg;
    (void)p;
    if (stream == 2) {  /* direct writes to fd 2: the running invocations' logs */
        FN_EACH(&in->active, pos) {
            struct fn_invocation *inv = list_entry(pos, struct fn_invocation, node);
            size_t room = inv->logs.len < FN_LOGS_MAX_BYTES ? FN_LOGS_MAX_BYTES - inv->logs.len
                                                            : 0;
            sb_buf_append(&inv->logs, data, len < room ? len : room);
        }
        return;
    }
    struct fn_version *v = in->v;
    v->refs++;          /* a line may end the instance (and its last reference) */
    sb_buf_append(&in->line, data, len);
    sb_buf_lines(&in->line, on_line, in);
    if (in->state != I_DEAD && in->line.len > RESPONSE_MAX(v))
        inst_kill(in, "output_limit_exceeded", "the function's response is larger than its "
                  "output limit (limits.output_kb); the instance was replaced");
    fn_run_next(v);
    fn_version_unref(v);
}

/* ---- starting ---- */

static int exec_runtime(struct fn_instance *in, struct sb_error *err)
{
    struct fn_version *v = in->v;
    const struct lang *l = v->req.lang;
    char conc[16], num[16];
    snprintf(conc, sizeof conc, "%u", v->concurrency);
    snprintf(num, sizeof num, "%u", v->number);
    const char *argv[16];
    size_t argc = 0;
    for (char **a = l->run; *a && argc < 10; a++)
        argv[argc++] = strcmp(*a, "{entry}") ? *a : v->req.files[0].name;
    argv[argc++] = "loop", argv[argc++] = v->module, argv[argc++] = v->func;
    argv[argc++] = conc;
    argv[argc] = NULL;
    char **env = NULL;
    size_t nenv = 0;
    char fn_kv[100], ver_kv[40];
    snprintf(fn_kv, sizeof fn_kv, "SOULBOX_FUNCTION=%s", v->fn->name);
    snprintf(ver_kv, sizeof ver_kv, "SOULBOX_FUNCTION_VERSION=%s", num);
    int rc = runner_lang_env(l, &env, &nenv);
    for (size_t i = 0; rc == 0 && i < v->req.nenv; i++)
        rc = runner_env_put(&env, &nenv, v->req.env[i]);
    if (rc == 0)
        rc = runner_env_put(&env, &nenv, fn_kv) | runner_env_put(&env, &nenv, ver_kv);
    if (rc < 0) {
        argv_free(env);
        return sb_fail(err, SB_E_INTERNAL, "out of memory");
    }
    const struct sbx_limits *lim = &v->req.limits;
    struct sbx_exec x = {
        .argv = argv, .argc = argc, .env = (const char *const *)env, .envc = nenv,
        .limits = {.file_size_kb = lim->file_size_kb, .stack_kb = lim->stack_kb,
                   .open_files = lim->open_files, .processes = lim->processes},
        .interactive = true, .forward_only = true,
    };
    static const struct sbx_proc_callbacks cb = {NULL, on_output, NULL, on_exited};
    in->proc = sbx_exec(in->sbx, &x, &cb, in, err);
    argv_free(env);
    return in->proc ? 0 : -1;
}

static void on_file(struct sbx *s, struct sbx_file_result *r, void *arg)
{
    struct fn_instance *in = arg;
    struct sb_error err;
    (void)s;
    if (in->state == I_DEAD)
        return;
    if (r->err) {
        char why[600];
        snprintf(why, sizeof why, "the function's files could not be written: %s", r->message);
        load_failed(in, why);
        inst_kill(in, "runtime_error", why);
        return;
    }
    if (--in->files_left == 0 && exec_runtime(in, &err) < 0) {
        load_failed(in, err.msg);
        inst_kill(in, "runtime_error", err.msg);
    }
}

/* Its files: directories first (lib/app.py needs lib), then each file. */
static int write_files(struct fn_instance *in, struct sb_error *err)
{
    const struct exec_req *r = &in->v->req;
    in->files_left = r->nfiles;
    for (size_t i = 0; i < r->nfiles; i++) {
        const char *slash = strrchr(r->files[i].name, '/');
        if (slash) {
            char dir[512];
            snprintf(dir, sizeof dir, "%.*s", (int)(slash - r->files[i].name),
                     r->files[i].name);
            if (sbx_file_mkdir(in->sbx, dir, true, NULL, NULL, err) < 0)
                return -1;
        }
        if (sbx_file_write(in->sbx, r->files[i].name, r->files[i].data, r->files[i].len, 0644,
                           0, on_file, in, err) < 0)
            return -1;
    }
    return 0;
}

int fn_instance_start(struct fn_version *v, struct sb_error *err)
{
    struct service *svc = v->fn->svc;
    if (v->retired || svc->functions->closing)
        return sb_fail(err, SB_E_UNAVAILABLE, "the version is retired");
    if (v->init_error && util_now_ms() - v->init_failed_ms < INIT_RETRY_MS)
        return 0;   /* the tick tries again */
    struct fn_instance *in = calloc(1, sizeof *in);
    if (!in)
        return sb_fail(err, SB_E_INTERNAL, "out of memory");
    in->v = v;
    v->refs++;
    list_init(&in->active);
    const struct lang *l = v->req.lang;
    const struct sbx_limits *lim = &v->req.limits;
    struct sbx_spec spec = {
        .isolation = v->req.isolation,
        .limits = {.memory_kb = lim->memory_kb, .processes = lim->processes,
                   .cpu_percent = lim->cpu_percent, .disk_kb = lim->disk_kb},
        .extra_etc = (const char *const *)l->etc, .extra_binds = (const char *const *)l->binds,
    };
    if (v->req.net_policy) {
        in->net.policy = v->req.net_policy;
        runner_net_limits(svc->cfg, &in->net.limits);
        in->net.tag = v->fn->name;
        spec.network = true;
        spec.net_policy = &in->net;
    }
    static const struct sbx_callbacks cb = {NULL, on_sbx_ended};
    in->sbx = sbx_create(&svc->engine, &spec, &cb, in, err);
    if (!in->sbx) {
        fn_version_unref(v);
        free(in);
        return -1;
    }
    in->state = I_STARTING;
    list_insert_tail(&v->instances, &in->node);
    v->ninstances++;
    v->nstarting++;
    v->stats.instances_started++;
    svc->functions->ninstances++;
    if (write_files(in, err) < 0) {
        inst_kill(in, "runtime_error", err->msg);
        return -1;
    }
    return 0;
}

/* ---- invocations ---- */

static void on_timeout(uv_timer_t *t)
{
    struct fn_invocation *inv = t->data;
    struct fn_instance *in = inv->inst;
    if (!in)
        return;
    char why[200];
    snprintf(why, sizeof why, "the function did not answer within %llu ms (timeout_ms)",
             (unsigned long long)inv->v->timeout_ms);
    /* it ends first, alone with its timeout; the others on the instance are
     * told it was replaced */
    take_off(in, inv);
    fn_invocation_fail(inv, "time_limit_exceeded", why);
    inst_kill(in, "runtime_error", "another invocation on the same instance timed out; the "
              "instance was replaced");
}

void fn_instance_send(struct fn_instance *in, struct fn_invocation *inv)
{
    inv->inst = in;
    inv->cold = in->served == 0 && in->ready_ms >= inv->started_ms;
    in->inflight++;
    list_insert_tail(&in->active, &inv->node);
    uv_timer_start(&inv->timer, on_timeout, inv->v->timeout_ms, 0);
    int rc = sbx_proc_stdin_write(in->proc, inv->line, inv->line_len);
    if (rc < 0) {
        take_off(in, inv);
        fn_invocation_fail(inv, "internal_error", rc == -2 ? "the instance is not reading its "
                           "input" : "the instance's input is closed");
    }
}

void fn_instances_tick(struct fn_version *v, uint64_t now_ms)
{
    if (!v->reuse || v->retired)
        return;
    FN_EACH_SAFE(&v->instances, pos, next) {
        struct fn_instance *in = list_entry(pos, struct fn_instance, node);
        if (v->ninstances > v->min_instances && in->state == I_READY && !in->inflight &&
            now_ms - in->idle_since_ms >= v->idle_ms)
            inst_kill(in, "ok", "scaled down");
    }
    struct sb_error err;
    struct fn_registry *r = v->fn->svc->functions;
    while (v->ninstances < v->min_instances &&
           r->ninstances < v->fn->svc->cfg->functions.max_instances_total &&
           !(v->init_error && now_ms - v->init_failed_ms < INIT_RETRY_MS)) {
        if (fn_instance_start(v, &err) < 0) {
            log_msg(LOG_WARN, "function %s version %u: %s", v->fn->name, v->number, err.msg);
            break;
        }
    }
    fn_run_next(v);
}

void fn_instances_stop(struct fn_version *v, const char *why)
{
    while (!list_empty(&v->instances))
        inst_kill(list_entry(v->instances.next, struct fn_instance, node), "internal_error",
                  why);
}
