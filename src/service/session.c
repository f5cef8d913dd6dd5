/* Sessions: creation with quotas, ownership, TTL and idle timeout, ending, and files passed through to the sandbox. */
#include "service/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/cluster.h"
#include "common/log.h"
#include "common/util.h"
#include "service/service.h"
#include "service/session_cmd.h"
#include "service/session_ctx.h"
#include "service/session_internal.h"

const char *session_state_name(enum session_state s)
{
    static const char *const names[] = {"starting", "running", "pausing", "paused",
                                        "resuming", "ending", "ended"};
    return names[s];
}

/* ---- the registry ---- */

int session_registry_open(struct service *svc, struct sb_error *err)
{
    struct session_registry *r = &svc->sessions;
    list_init(&r->all);
    char dropped[512];
    if (template_registry_load(&r->templates, &svc->registry, dropped, sizeof dropped, err) < 0)
        return -1;
    if (dropped[0])
        log_event(LOG_INFO, "session templates left out",
                  json_pack("{s:s}", "templates", dropped));
    return 0;
}

void session_registry_close(struct service *svc)
{
    template_registry_free(&svc->sessions.templates);
}

unsigned session_count(const struct service *svc)
{
    return svc->sessions.n;
}

/* ---- lifetime ---- */

static void session_drop_paused(struct session *s);

void session_ref(struct session *s)
{
    s->refs++;
}

static void free_session(struct session *s)
{
    session_cmds_free(s);
    session_ctxs_free(s);
    json_decref(s->metadata);
    net_policy_free(&s->net);
    for (size_t i = 0; i < s->nenv; i++)
        free(s->env[i]);
    free(s->env);
    free(s);
}

static void timer_closed(uv_handle_t *h)
{
    struct session *s = h->data;
    s->timer_open = false;
    session_unref(s);
}

void session_unref(struct session *s)
{
    if (--s->refs == 0)
        free_session(s);
}

bool session_live(const struct session *s)
{
    return s->state == SESSION_STARTING || s->state == SESSION_RUNNING;
}

bool session_exists(const struct session *s)
{
    return s->state < SESSION_ENDING;
}

void session_audit(struct session *s, const char *event, const char *detail)
{
    struct audit_record a = {
        .ts_ms = util_now_ms(), .event = event, .request_id = s->id,
        .key_id = s->has_key ? s->key_id : NULL, .client = s->owner,
        .language = s->tpl->name, .status = session_state_name(s->state), .detail = detail,
    };
    store_audit(s->svc->store, &a);
}

/* The end of a session: out of the registry, recorded, its saved state gone. */
static void finish_end(struct session *s)
{
    s->state = SESSION_ENDED;
    s->ended_ms = util_now_ms();
    list_remove(&s->node);
    s->svc->sessions.n--;
    s->svc->sessions.ended++;
    if (s->ready_cb) {
        struct sb_error e;
        sb_fail(&e, SB_E_SANDBOX_SETUP, "%s", s->end_reason);
        void (*cb)(struct session *, const struct sb_error *, void *) = s->ready_cb;
        s->ready_cb = NULL;
        cb(s, &e, s->ready_arg);
    }
    session_audit(s, "session_ended", s->end_reason);
    if (s->svc->cluster)
        store_session_end(s->svc->store, s->id, s->end_reason);
    log_event(LOG_INFO, "session ended",
              json_pack("{s:s,s:s,s:I}", "id", s->id, "reason", s->end_reason, "lived_ms",
                        (json_int_t)(s->ended_ms - s->created_ms)));
    session_forget(s);
    if (s->op_cb) {
        struct sb_error e;
        sb_fail(&e, SB_E_UNAVAILABLE, "the session ended: %s", s->end_reason);
        session_op_done(s, &e);
    }
    struct service *svc = s->svc;
    if (s->timer_open) /* the timer's reference goes when it is closed */
        uv_close((uv_handle_t *)&s->timer, timer_closed);
    session_unref(s); /* the registry's */
    service_check_drained(svc);
}

/* The sandbox is gone: every process has reported and no file request is left. */
static void on_ended(struct sbx *x, void *arg)
{
    struct session *s = arg;
    const struct sbx_end *end = sbx_end(x);
    sbx_free(x);
    s->sbx = NULL;
    if (s->state == SESSION_PAUSING && !end->failed) {
        session_pause_sandbox_gone(s);
        return;
    }
    if (s->state != SESSION_ENDING)
        snprintf(s->end_reason, sizeof s->end_reason, "%s",
                 end->failed ? end->error.msg : "the sandbox ended");
    finish_end(s);
}

static void on_ready(struct sbx *x, void *arg)
{
    (void)x;
    struct session *s = arg;
    if (s->state == SESSION_RESUMING) {
        session_resume_ready(s);
        return;
    }
    if (s->state == SESSION_STARTING)
        s->state = SESSION_RUNNING;
    if (s->ready_cb) {
        void (*cb)(struct session *, const struct sb_error *, void *) = s->ready_cb;
        s->ready_cb = NULL;
        cb(s, NULL, s->ready_arg);
    }
}

void session_kill(struct session *s, const char *reason)
{
    if (!session_exists(s))
        return;
    snprintf(s->end_reason, sizeof s->end_reason, "%s", reason);
    uv_timer_stop(&s->timer);
    if (!s->sbx) { /* paused: nothing runs */
        finish_end(s);
        return;
    }
    s->state = SESSION_ENDING;
    sbx_destroy(s->sbx);
}

void session_end_all(struct service *svc, const char *why)
{
    struct list_node *n, *next;
    for (n = svc->sessions.all.next; n != &svc->sessions.all; n = next) {
        next = n->next;
        struct session *s = (struct session *)n;
        if (s->sbx) /* a paused session stays saved for the next start */
            session_kill(s, why);
        else if (s->state == SESSION_PAUSED)
            session_drop_paused(s);
    }
}

/* ---- timers: TTL and idle ---- */

#define arm session_arm

static void on_timer(uv_timer_t *t)
{
    struct session *s = t->data;
    uint64_t now = util_now_ms();
    uint64_t idle = s->svc->cfg->sessions.idle_timeout_ms;
    if (now >= s->ends_ms)
        session_kill(s, "its timeout ran out");
    else if (idle && now >= s->active_ms + idle && !session_busy(s))
        session_kill(s, "idle timeout");
    else if (idle && now >= s->active_ms + idle)
        s->active_ms = now; /* a command or cell runs: it is not idle */
    else
        arm(s);
}

void session_arm(struct session *s)
{
    uint64_t now = util_now_ms(), at = s->ends_ms;
    uint64_t idle = s->svc->cfg->sessions.idle_timeout_ms;
    if (idle && s->active_ms + idle < at)
        at = s->active_ms + idle;
    uv_timer_start(&s->timer, on_timer, at > now ? at - now : 0, 0);
}

bool session_busy(const struct session *s)
{
    for (const struct list_node *l = s->cmds.next; l != &s->cmds; l = l->next)
        if (((const struct session_cmd *)l)->running)
            return true;
    return session_ctxs_busy(s);
}

void session_touch(struct session *s)
{
    s->active_ms = util_now_ms();
}

int session_set_timeout(struct session *s, uint64_t ttl_ms, struct sb_error *err)
{
    uint64_t max = s->svc->cfg->sessions.max_ttl_ms;
    if (ttl_ms > max)
        return sb_fail(err, SB_E_LIMIT_EXCEEDS_MAX, "timeout %llu ms is above the server's "
                       "maximum of %llu ms (sessions.max_ttl_ms)", (unsigned long long)ttl_ms,
                       (unsigned long long)max);
    if (s->state == SESSION_PAUSED) { /* counts again from the resume */
        s->ttl_left_ms = ttl_ms;
        session_save(s);
        return 0;
    }
    if (!session_live(s))
        return sb_fail(err, SB_E_CONFLICT, "the sandbox is %s", session_state_name(s->state));
    s->ends_ms = util_now_ms() + ttl_ms;
    session_touch(s);
    arm(s);
    return 0;
}

/* ---- creation ---- */

static int check_strings(json_t *obj, const char *what, size_t max, struct sb_error *err)
{
    if (!obj)
        return 0;
    if (!json_is_object(obj))
        return sb_fail(err, SB_E_INVALID_ARGUMENT, "%s must be an object of strings", what);
    if (json_object_size(obj) > max)
        return sb_fail(err, SB_E_INVALID_ARGUMENT, "%s has %zu entries; at most %zu are "
                       "allowed", what, json_object_size(obj), max);
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        if (!json_is_string(v))
            return sb_fail(err, SB_E_INVALID_ARGUMENT, "%s.%s must be a string", what, k);
        if (!*k || strlen(k) > 256 || json_string_length(v) > 4096)
            return sb_fail(err, SB_E_INVALID_ARGUMENT, "%s: keys are 1-256 bytes, values at "
                           "most 4096", what);
        if (!strcmp(what, "env") && (strchr(k, '=') || memchr(json_string_value(v), 0,
                                                              json_string_length(v))))
            return sb_fail(err, SB_E_INVALID_ARGUMENT, "env: '%s' is not a valid variable", k);
    }
    return 0;
}

/* One limit: 0 takes def; above max is an error. */
static int pick(uint64_t want, uint64_t def, uint64_t max, const char *name, const char *key,
                uint64_t *out, struct sb_error *err)
{
    *out = want ? want : def;
    if (*out > max)
        return sb_fail(err, SB_E_LIMIT_EXCEEDS_MAX, "limits.%s: %llu is above the server's "
                       "maximum of %llu (%s)", name, (unsigned long long)*out,
                       (unsigned long long)max, key);
    return 0;
}

static int resolve_limits(const struct sb_config *cfg, const struct template *t,
                          const struct session_limits *in, struct sbx_limits *out,
                          uint64_t *output_max, struct sb_error *err)
{
    const struct sb_sessions_cfg *sc = &cfg->sessions;
    uint64_t mem, disk, outmb, cpu, procs, files;
    uint64_t mem_def = t->memory_mb ? t->memory_mb : sc->memory_mb;
    uint64_t disk_def = sc->disk_mb, procs_def = sc->processes;
    /* the session defaults never exceed the sandbox ceilings */
    if (mem_def > cfg->security.max_memory_mb)
        mem_def = cfg->security.max_memory_mb;
    if (disk_def > cfg->security.max_disk_mb)
        disk_def = cfg->security.max_disk_mb;
    if (procs_def > cfg->maximums.processes)
        procs_def = cfg->maximums.processes;
    if (pick(in->memory_mb, mem_def, cfg->security.max_memory_mb, "memory_mb",
             "sandbox.security.max_memory_mb", &mem, err) < 0 ||
        pick(in->disk_mb, disk_def, cfg->security.max_disk_mb, "disk_mb",
             "sandbox.security.max_disk_mb", &disk, err) < 0 ||
        pick(in->output_mb, sc->output_mb, sc->max_output_mb, "output_mb",
             "sessions.max_output_mb", &outmb, err) < 0 ||
        pick(in->cpu_percent, cfg->security.max_cpu_percent, cfg->security.max_cpu_percent,
             "max_cpu_percent", "sandbox.security.max_cpu_percent", &cpu, err) < 0 ||
        pick(in->processes, procs_def, cfg->maximums.processes, "processes",
             "sandbox.maximums.processes", &procs, err) < 0 ||
        pick(in->open_files, cfg->defaults.open_files, cfg->maximums.open_files, "open_files",
             "sandbox.maximums.open_files", &files, err) < 0)
        return -1;
    if (mem < 8)
        return sb_fail(err, SB_E_INVALID_ARGUMENT, "limits.memory_mb must be at least 8");
    *out = (struct sbx_limits){
        .memory_kb = mem * 1024, .disk_kb = disk * 1024, .cpu_percent = (uint32_t)cpu,
        .processes = (uint32_t)procs, .open_files = (uint32_t)files,
        .file_size_kb = disk * 1024, .stack_kb = cfg->defaults.stack_kb,
    };
    *output_max = outmb << 20;
    return 0;
}

/* Quotas of the server and of the owner. */
static int check_quota(struct service *svc, const char *owner, uint64_t memory_kb,
                       struct sb_error *err)
{
    const struct sb_sessions_cfg *sc = &svc->cfg->sessions;
    unsigned live = 0;
    for (struct list_node *l = svc->sessions.all.next; l != &svc->sessions.all; l = l->next)
        live += ((struct session *)l)->state < SESSION_ENDING;
    if (live >= sc->max_sessions)
        return sb_fail(err, SB_E_RATE_LIMITED, "the server has %u live sessions, its maximum "
                       "(sessions.max_sessions): end one first", live);
    uint64_t n = 0, kb = 0;
    for (struct list_node *l = svc->sessions.all.next; l != &svc->sessions.all; l = l->next) {
        struct session *s = (struct session *)l;
        if (s->state >= SESSION_ENDING)
            continue; /* deleted: it no longer counts, though its teardown may go on */
        if (!strcmp(s->owner, owner)) {
            n++;
            kb += s->lim.memory_kb;
        }
    }
    if (n >= sc->max_per_key)
        return sb_fail(err, SB_E_RATE_LIMITED, "this key has %llu live sessions, its maximum "
                       "(sessions.max_per_key): end one first", (unsigned long long)n);
    if ((kb + memory_kb) / 1024 > sc->max_memory_mb_per_key)
        return sb_fail(err, SB_E_RATE_LIMITED, "this key's sessions would use %llu MB of memory "
                       "together, above its maximum of %llu MB "
                       "(sessions.max_memory_mb_per_key)",
                       (unsigned long long)((kb + memory_kb) / 1024),
                       (unsigned long long)sc->max_memory_mb_per_key);
    return 0;
}

static void new_id(char *out, size_t len, size_t n)
{
    static const char abc[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    uint8_t r[64];
    util_random(r, sizeof r);
    size_t i = 0;
    for (; i < n && i + 1 < len; i++)
        out[i] = abc[r[i] % 36];
    out[i] = '\0';
}

static int add_env(struct session *s, const char *kv)
{
    /* a later value of the same name replaces the earlier */
    size_t klen = strcspn(kv, "=");
    for (size_t i = 0; i < s->nenv; i++) {
        if (!strncmp(s->env[i], kv, klen) && s->env[i][klen] == '=') {
            char *d = strdup(kv);
            if (!d)
                return -1;
            free(s->env[i]);
            s->env[i] = d;
            return 0;
        }
    }
    char **v = realloc(s->env, (s->nenv + 2) * sizeof *v);
    if (!v)
        return -1;
    s->env = v;
    if (!(v[s->nenv] = strdup(kv)))
        return -1;
    v[++s->nenv] = NULL;
    return 0;
}

static int build_env(struct session *s, json_t *env)
{
    static const char *const base[] = {
        "PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/home/user", "USER=user", "LANG=C.UTF-8",
        "TERM=xterm-256color", "TMPDIR=/tmp",
    };
    for (size_t i = 0; i < sizeof base / sizeof *base; i++)
        if (add_env(s, base[i]) < 0)
            return -1;
    for (char **p = s->tpl->env; *p; p++)
        if (add_env(s, *p) < 0)
            return -1;
    const char *k;
    json_t *v;
    json_object_foreach(env, k, v) {
        char *kv = NULL;
        if (asprintf(&kv, "%s=%s", k, json_string_value(v)) < 0)
            return -1;
        int rc = add_env(s, kv);
        free(kv);
        if (rc < 0)
            return -1;
    }
    return 0;
}

struct session *session_create(struct service *svc, const struct caller *who,
                               const struct session_req *req,
                               void (*cb)(struct session *, const struct sb_error *, void *),
                               void *arg, struct sb_error *err)
{
    const struct sb_config *cfg = svc->cfg;
    if (!cfg->sessions.enabled)
        return sb_fail(err, SB_E_UNAVAILABLE, "sessions are turned off on this server "
                       "(sessions.enabled)"), NULL;
    if (!service_accepting(svc))
        return sb_fail(err, SB_E_UNAVAILABLE, "the server is shutting down"), NULL;
    const char *tname = req->template && *req->template ? req->template : "base";
    const struct template *t = template_find(&svc->sessions.templates, tname);
    if (!t)
        return sb_fail(err, SB_E_INVALID_ARGUMENT, "unknown template '%s' (GET "
                       "/api/templates lists them)", tname), NULL;
    uint64_t ttl = req->ttl_ms ? req->ttl_ms : cfg->sessions.default_ttl_ms;
    if (ttl > cfg->sessions.max_ttl_ms)
        return sb_fail(err, SB_E_LIMIT_EXCEEDS_MAX, "timeout %llu ms is above the server's "
                       "maximum of %llu ms (sessions.max_ttl_ms)", (unsigned long long)ttl,
                       (unsigned long long)cfg->sessions.max_ttl_ms), NULL;
    if (check_strings(req->metadata, "metadata", 64, err) < 0 ||
        check_strings(req->env, "env", cfg->server.max_args, err) < 0)
        return NULL;
    struct sbx_limits lim;
    uint64_t output_max = 0;
    if (resolve_limits(cfg, t, &req->limits, &lim, &output_max, err) < 0)
        return NULL;
    char owner[80];
    if (who->has_key)
        snprintf(owner, sizeof owner, "%s", who->key_id);
    else
        snprintf(owner, sizeof owner, "addr:%s", who->client);
    if (check_quota(svc, owner, lim.memory_kb, err) < 0)
        return NULL;
    struct session *s = session_alloc(svc, t);
    if (!s)
        return sb_fail(err, SB_E_INTERNAL, "out of memory"), NULL;
    s->lim = lim;
    s->output_max = output_max;
    snprintf(s->owner, sizeof s->owner, "%s", owner);
    if (who->has_key)
        snprintf(s->key_id, sizeof s->key_id, "%s", who->key_id);
    s->has_key = who->has_key;
    new_id(s->id, sizeof s->id, 20);
    new_id(s->access_token, sizeof s->access_token, 40);
    s->metadata = req->metadata ? json_deep_copy(req->metadata) : json_object();
    s->created_ms = s->active_ms = util_now_ms();
    s->ends_ms = s->created_ms + ttl;
    s->network = req->net_policy != NULL;
    s->isolation = req->isolation;
    if (!s->metadata || build_env(s, req->env) < 0 ||
        (s->network && net_policy_copy(&s->net, req->net_policy, NULL) < 0)) {
        free_session(s);
        return sb_fail(err, SB_E_INTERNAL, "out of memory"), NULL;
    }
    s->ready_cb = cb;
    s->ready_arg = arg;
    if (session_start_sandbox(s, err) < 0) {
        free_session(s);
        return NULL;
    }
    session_register(s);
    arm(s);
    svc->sessions.created++;
    session_audit(s, "session_created", t->name);
    session_save(s);
    return s;
}

struct session *session_alloc(struct service *svc, const struct template *t)
{
    struct session *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->svc = svc;
    s->tpl = t;
    s->refs = 1;
    list_init(&s->cmds);
    list_init(&s->ctxs);
    return s;
}

/* In the registry, with its timer. */
void session_register(struct session *s)
{
    uv_timer_init(s->svc->loop, &s->timer);
    s->timer.data = s;
    s->timer_open = true;
    s->refs++; /* the timer's */
    list_insert_tail(&s->svc->sessions.all, &s->node);
    s->svc->sessions.n++;
    if (s->svc->cluster)   /* any node can then find where it lives */
        store_session_add(s->svc->store, s->id, cluster_node_id(s->svc->cluster),
                          s->has_key ? s->key_id : NULL, s->created_ms);
}

int session_start_sandbox(struct session *s, struct sb_error *err)
{
    const struct template *t = s->tpl;
    struct sbx_net net = {.policy = &s->net, .tag = s->id};
    runner_net_limits(s->svc->cfg, &net.limits);
    /* Its files are memory (tmpfs charged to the session): filled to the
     * memory limit they would leave its processes, the sandbox's agent
     * included, nothing to run in, and the agent would be killed. A quarter
     * of the memory stays for processes: a full disk is ENOSPC instead. */
    struct sbx_limits lim = s->lim;
    if (lim.disk_kb > lim.memory_kb / 4 * 3)
        lim.disk_kb = lim.memory_kb / 4 * 3;
    struct sbx_spec spec = {
        .limits = lim, .extra_etc = (const char *const *)t->etc,
        .extra_binds = (const char *const *)t->binds, .pty = true, .home = "/home/user",
        .network = s->network, .net_policy = s->network ? &net : NULL,
        .isolation = s->isolation,
    };
    static const struct sbx_callbacks sbx_cb = {on_ready, on_ended};
    s->sbx = sbx_create(&s->svc->engine, &spec, &sbx_cb, s, err);
    return s->sbx ? 0 : -1;
}

/* Shutdown: a paused session leaves memory and stays saved. */
static void session_drop_paused(struct session *s)
{
    s->state = SESSION_ENDED;
    list_remove(&s->node);
    s->svc->sessions.n--;
    if (s->timer_open)
        uv_close((uv_handle_t *)&s->timer, timer_closed);
    session_unref(s); /* the registry's */
}

/* ---- lookups ---- */

static bool visible(const struct session *s, const struct caller *who)
{
    if (!session_exists(s))
        return false;
    if (!who->has_key)
        return !s->has_key;
    return who->admin || (s->has_key && !strcmp(s->key_id, who->key_id));
}

struct session *session_find(struct service *svc, const struct caller *who, const char *id)
{
    for (struct list_node *l = svc->sessions.all.next; l != &svc->sessions.all; l = l->next) {
        struct session *s = (struct session *)l;
        if (!strcmp(s->id, id))
            return visible(s, who) ? s : NULL;
    }
    return NULL;
}

bool session_held(struct service *svc, const char *id)
{
    for (struct list_node *l = svc->sessions.all.next; l != &svc->sessions.all; l = l->next)
        if (!strcmp(((struct session *)l)->id, id) && session_exists((struct session *)l))
            return true;
    return false;
}

struct session *session_find_token(struct service *svc, const char *id, const char *token)
{
    for (struct list_node *l = svc->sessions.all.next; l != &svc->sessions.all; l = l->next) {
        struct session *s = (struct session *)l;
        if (!strcmp(s->id, id)) {
            /* constant time: the token is a secret */
            size_t n = strlen(s->access_token);
            unsigned char d = (unsigned char)(strlen(token) != n);
            for (size_t i = 0; i < n; i++)
                d |= (unsigned char)(s->access_token[i] ^ token[i < strlen(token) ? i : 0]);
            return !d && session_exists(s) ? s : NULL;
        }
    }
    return NULL;
}

size_t session_list(struct service *svc, const struct caller *who, struct session **out,
                    size_t max)
{
    size_t n = 0;
    for (struct list_node *l = svc->sessions.all.next; l != &svc->sessions.all && n < max;
         l = l->next) {
        struct session *s = (struct session *)l;
        if (visible(s, who))
            out[n++] = s;
    }
    return n;
}

bool session_metadata_matches(const struct session *s, const char *filter)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", filter);
    char *save = NULL;
    for (char *kv = strtok_r(buf, "&", &save); kv; kv = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(kv, '=');
        if (!eq)
            return false;
        *eq = '\0';
        const char *have = json_string_value(json_object_get(s->metadata, kv));
        if (!have || strcmp(have, eq + 1))
            return false;
    }
    return true;
}

uint64_t session_memory_bytes(const struct session *s)
{
    return s->sbx && s->state == SESSION_RUNNING ? sbx_memory(s->sbx) : 0;
}

static uint64_t timeout_left(const struct session *s)
{
    uint64_t now = util_now_ms();
    if (s->state == SESSION_PAUSED || s->state == SESSION_PAUSING ||
        s->state == SESSION_RESUMING)
        return s->ttl_left_ms;
    return s->ends_ms > now ? s->ends_ms - now : 0;
}

json_t *session_json(const struct session *s)
{
    char created[40], ends[40];
    util_iso_time(s->created_ms, created, sizeof created);
    util_iso_time(s->ends_ms, ends, sizeof ends);
    json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:O,s:{s:I,s:I,s:I,s:I,s:I,s:I},s:{s:I,s:I,"
                     "s:I,s:I}}",
                     "id", s->id, "template", s->tpl->name, "state",
                     session_state_name(s->state), "created_at", created, "ends_at", ends,
                     "timeout_s", (json_int_t)(timeout_left(s) / 1000),
                     "metadata", s->metadata, "limits", "memory_mb",
                     (json_int_t)(s->lim.memory_kb / 1024), "disk_mb",
                     (json_int_t)(s->lim.disk_kb / 1024), "max_cpu_percent",
                     (json_int_t)s->lim.cpu_percent, "processes", (json_int_t)s->lim.processes,
                     "open_files", (json_int_t)s->lim.open_files, "output_mb",
                     (json_int_t)(s->output_max >> 20), "usage", "memory_bytes",
                     (json_int_t)session_memory_bytes(s), "output_bytes",
                     (json_int_t)s->output_used, "commands", (json_int_t)s->ncmds, "contexts",
                     (json_int_t)s->nctxs);
    if (j) {
        json_object_set_new(j, "network", session_network_json(s));
        json_object_set_new(j, "isolation", json_string(session_isolation_name(s)));
    }
    return j;
}

const char *session_isolation_name(const struct session *s)
{
    return s->isolation == SBX_ISO_MICROVM ? "microvm" : "namespaces";
}

json_t *session_network_json(const struct session *s)
{
    json_t *allow = json_array();
    for (size_t i = 0; s->network && allow && i < s->net.n_allow; i++) {
        char e[320];
        net_entry_format(&s->net.allow[i], e, sizeof e);
        json_array_append_new(allow, json_string(e));
    }
    json_t *o = json_pack("{s:b,s:o}", "enabled", s->network, "allow", allow);
    struct net_stats st;
    if (o && s->sbx && sbx_net_stats(s->sbx, &st))
        json_object_set_new(o, "usage", json_pack("{s:I,s:I,s:I,s:I}", "bytes_sent",
                                                  (json_int_t)st.bytes_sent, "bytes_received",
                                                  (json_int_t)st.bytes_received, "connections",
                                                  (json_int_t)st.connections,
                                                  "connections_refused", (json_int_t)st.refused));
    return o;
}

/* ---- files ---- */

static int live(struct session *s, struct sb_error *err)
{
    if (!session_live(s))
        return sb_fail(err, SB_E_CONFLICT, "the sandbox is %s%s", session_state_name(s->state),
                       s->state == SESSION_PAUSED ? ": resume it first" : "");
    session_touch(s);
    return 0;
}

int session_file_read(struct session *s, const char *path, uint64_t max, sbx_file_cb cb,
                      void *arg, struct sb_error *err)
{
    return live(s, err) < 0 ? -1 : sbx_file_read(s->sbx, path, max, cb, arg, err);
}

int session_file_write(struct session *s, const char *path, const void *data, size_t len,
                       sbx_file_cb cb, void *arg, struct sb_error *err)
{
    if (live(s, err) < 0)
        return -1;
    s->svc->sessions.file_bytes_in += len;
    return sbx_file_write(s->sbx, path, data, len, 0644, 0, cb, arg, err);
}

int session_file_list(struct session *s, const char *path, sbx_file_cb cb, void *arg,
                      struct sb_error *err)
{
    return live(s, err) < 0 ? -1 : sbx_file_list(s->sbx, path, 100000, cb, arg, err);
}

int session_file_stat(struct session *s, const char *path, sbx_file_cb cb, void *arg,
                      struct sb_error *err)
{
    return live(s, err) < 0 ? -1 : sbx_file_stat(s->sbx, path, cb, arg, err);
}

int session_file_mkdir(struct session *s, const char *path, sbx_file_cb cb, void *arg,
                       struct sb_error *err)
{
    return live(s, err) < 0 ? -1 : sbx_file_mkdir(s->sbx, path, true, cb, arg, err);
}

int session_file_move(struct session *s, const char *from, const char *to, sbx_file_cb cb,
                      void *arg, struct sb_error *err)
{
    return live(s, err) < 0 ? -1 : sbx_file_move(s->sbx, from, to, true, cb, arg, err);
}

int session_file_remove(struct session *s, const char *path, sbx_file_cb cb, void *arg,
                        struct sb_error *err)
{
    return live(s, err) < 0 ? -1 : sbx_file_remove(s->sbx, path, true, cb, arg, err);
}
