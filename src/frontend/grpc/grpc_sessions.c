/* The soulbox.v1.Sessions service (proto/soulbox/v1/sessions.proto): sessions, commands, cells and files over gRPC, on the same service calls as /api/sandboxes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "frontend/grpc/grpc.h"
#include "frontend/grpc/grpc_convert.h"
#include "frontend/grpc/grpc_forward.h"
#include "frontend/request.h"
#include "frontend/session_files.h"
#include "net/policy.h"
#include "service/service.h"
#include "service/session_cmd.h"
#include "service/session_ctx.h"
#include "soulbox/v1/sessions.pb-c.h"

#define READ_MAX (64u << 20)   /* a gRPC message stays well below the 16 MiB frames x many */

/* ---- helpers ---- */

/* The session, or NULL after the call was answered (not found) or taken
 * over (another node holds it: grpc_forward.c). */
static struct session *find(struct grpc_call *c, const char *id)
{
    struct session *s = id && *id ? session_find(grpc_call_service(c), grpc_call_caller(c), id)
                                  : NULL;
    if (!s && !(id && *id && grpc_forward_session(c, id)))
        grpc_finish(c, GRPC_NOT_FOUND, "no such sandbox");
    return s;
}

static void fail(struct grpc_call *c, const struct sb_error *err)
{
    grpc_finish_error(c, err);
}

/* map<string,string> entries -> a JSON object (NULL when none). */
typedef struct {
    ProtobufCMessage base;
    char *key;
    char *value;
} map_entry;

static json_t *map_json(size_t n, void **entries)
{
    if (!n)
        return NULL;
    json_t *o = json_object();
    for (size_t i = 0; i < n; i++) {
        map_entry *e = entries[i];
        json_object_set_new(o, e->key ? e->key : "", json_string(e->value ? e->value : ""));
    }
    return o;
}

/* A Sandbox message; its strings and entries live in `arena` until sent. */
struct arena {
    void *p[64];
    size_t n;
};

static void *keep(struct arena *a, void *p)
{
    if (p && a->n < sizeof a->p / sizeof *a->p)
        a->p[a->n++] = p;
    return p;
}

static void arena_free(struct arena *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->p[i]);
    a->n = 0;
}

/* The session's network as GET /api/sandboxes/{id} shows it: the message with
 * its entries' text in one block, and the usage while it has a sandbox. */
static void network_pb(const struct session *s, Soulbox__V1__Sandbox *m, struct arena *a)
{
    enum { TEXT = sizeof ((struct net_entry *)0)->text + 20 };   /* text plus a port */
    size_t n = s->network ? s->net.n_allow : 0;
    Soulbox__V1__SandboxNetwork *net = keep(a, malloc(sizeof *net + n * (sizeof(char *) + TEXT)));
    if (net) {
        soulbox__v1__sandbox_network__init(net);
        net->enabled = s->network;
        net->n_allow = n;
        net->allow = (char **)(net + 1);
        for (size_t i = 0; i < n; i++) {
            net->allow[i] = (char *)(net->allow + n) + i * TEXT;
            net_entry_format(&s->net.allow[i], net->allow[i], TEXT);
        }
        m->network = net;
    }
    m->isolation = (char *)session_isolation_name(s);
    struct net_stats st;
    Soulbox__V1__SandboxNetworkUsage *u = NULL;
    if (s->network && s->sbx && sbx_net_stats(s->sbx, &st) && (u = keep(a, malloc(sizeof *u)))) {
        soulbox__v1__sandbox_network_usage__init(u);
        u->bytes_sent = st.bytes_sent;
        u->bytes_received = st.bytes_received;
        u->connections = st.connections;
        u->connections_refused = st.refused;
        m->network_usage = u;
    }
}

static void sandbox_pb(const struct session *s, Soulbox__V1__Sandbox *m,
                       Soulbox__V1__SessionLimits *l, struct arena *a)
{
    json_t *j = session_json(s);
    soulbox__v1__sandbox__init(m);
    soulbox__v1__session_limits__init(l);
    m->id = keep(a, strdup(s->id));
    m->template_ = keep(a, strdup(s->tpl->name));
    m->state = (char *)session_state_name(s->state);
    m->created_at = keep(a, strdup(json_string_value(json_object_get(j, "created_at")) ?: ""));
    m->ends_at = keep(a, strdup(json_string_value(json_object_get(j, "ends_at")) ?: ""));
    m->timeout_s = (uint64_t)json_integer_value(json_object_get(j, "timeout_s"));
    json_decref(j);
    size_t n = json_object_size(s->metadata), i = 0;
    Soulbox__V1__Sandbox__MetadataEntry **v = keep(a, calloc(n ? n : 1, sizeof *v));
    Soulbox__V1__Sandbox__MetadataEntry *es = keep(a, calloc(n ? n : 1, sizeof *es));
    const char *k;
    json_t *val;
    json_object_foreach(s->metadata, k, val) {
        if (!v || !es)
            break;
        soulbox__v1__sandbox__metadata_entry__init(&es[i]);
        es[i].key = (char *)k;
        es[i].value = (char *)json_string_value(val);
        v[i] = &es[i];
        i++;
    }
    m->n_metadata = v && es ? i : 0;
    m->metadata = v;
    l->memory_mb = s->lim.memory_kb / 1024;
    l->disk_mb = s->lim.disk_kb / 1024;
    l->output_mb = s->output_max >> 20;
    l->max_cpu_percent = s->lim.cpu_percent;
    l->processes = s->lim.processes;
    l->open_files = s->lim.open_files;
    m->limits = l;
    network_pb(s, m, a);
}

static void reply_sandbox(struct grpc_call *c, const struct session *s)
{
    Soulbox__V1__Sandbox m;
    Soulbox__V1__SessionLimits l;
    struct arena a = {0};
    sandbox_pb(s, &m, &l, &a);
    grpc_send(c, &m.base);
    arena_free(&a);
    grpc_finish(c, GRPC_OK, NULL);
}

#define UNPACK(type, fn, c, data, len)                                           \
    type *req = fn##__unpack(&pb_sized_allocator, len, data);                   \
    if (!req)                                                                   \
        return grpc_finish(c, GRPC_INVALID_ARGUMENT, "not a valid " #type);

/* ---- sandboxes ---- */

struct pending {
    struct grpc_call *c;         /* NULL once the call was cancelled */
    int kind;                    /* file operations: 'r' read, 'w' write, 'd' remove */
};

static void pending_cancelled(struct grpc_call *c)
{
    struct pending *p = grpc_call_data(c);
    if (p)
        p->c = NULL;
    grpc_call_set_data(c, NULL);
}

static void created(struct session *s, const struct sb_error *err, void *arg)
{
    struct pending *p = arg;
    if (!p->c) {
        if (!err)
            session_kill(s, "the client went away while it was created");
    } else {
        grpc_call_set_data(p->c, NULL);
        if (err)
            fail(p->c, err);
        else
            reply_sandbox(p->c, s);
    }
    free(p);
}

/* The request's network through the JSON API's parser (request_network):
 * *out NULL when unset or not enabled. Returns 0, or -1 with err. */
static int network_policy(struct grpc_call *c, const Soulbox__V1__SandboxNetwork *n,
                          struct net_policy **out, struct sb_error *err)
{
    *out = NULL;
    if (!n)
        return 0;
    json_t *j = pb_network_to_json(n->enabled, n->n_allow, n->allow, err);
    int rc = j ? request_network(j, grpc_call_service(c)->cfg, out, err) : -1;
    json_decref(j);
    return rc;
}

static void free_policy(struct net_policy *p)
{
    if (p)
        net_policy_free(p);
    free(p);
}

static void create_msg(struct grpc_call *c, const uint8_t *data, size_t len)
{
    UNPACK(Soulbox__V1__CreateSandboxRequest, soulbox__v1__create_sandbox_request, c, data, len)
    struct net_policy *net = NULL;
    struct sb_error err = {0};
    enum sbx_isolation iso = SBX_ISO_NAMESPACES;
    json_t *isoj = req->isolation && *req->isolation ? json_string(req->isolation) : NULL;
    int iso_rc = request_isolation(isoj, grpc_call_service(c)->cfg, &iso, &err);
    json_decref(isoj);
    if (iso_rc < 0 || network_policy(c, req->network, &net, &err) < 0) {
        fail(c, &err);
        soulbox__v1__create_sandbox_request__free_unpacked(req, &pb_sized_allocator);
        return;
    }
    json_t *meta = map_json(req->n_metadata, (void **)req->metadata);
    json_t *env = map_json(req->n_env, (void **)req->env);
    struct session_req sr = {
        .template = req->template_, .ttl_ms = req->timeout_s * 1000, .metadata = meta,
        .env = env, .net_policy = net, .isolation = iso,
    };
    if (req->limits)
        sr.limits = (struct session_limits){
            .memory_mb = req->limits->memory_mb, .disk_mb = req->limits->disk_mb,
            .output_mb = req->limits->output_mb, .cpu_percent = req->limits->max_cpu_percent,
            .processes = req->limits->processes, .open_files = req->limits->open_files,
        };
    struct pending *p = calloc(1, sizeof *p);
    if (!p) {
        grpc_finish(c, GRPC_RESOURCE_EXHAUSTED, "out of memory");
    } else {
        p->c = c;
        grpc_call_set_data(c, p);
        if (!session_create(grpc_call_service(c), grpc_call_caller(c), &sr, created, p, &err)) {
            grpc_call_set_data(c, NULL);
            free(p);
            fail(c, &err);
        }
    }
    free_policy(net);   /* session_create copied it */
    json_decref(meta);
    json_decref(env);
    soulbox__v1__create_sandbox_request__free_unpacked(req, &pb_sized_allocator);
}

static void get_msg(struct grpc_call *c, const uint8_t *data, size_t len)
{
    UNPACK(Soulbox__V1__SandboxRef, soulbox__v1__sandbox_ref, c, data, len)
    struct session *s = find(c, req->id);
    if (s)
        reply_sandbox(c, s);
    soulbox__v1__sandbox_ref__free_unpacked(req, &pb_sized_allocator);
}

static void delete_msg(struct grpc_call *c, const uint8_t *data, size_t len)
{
    UNPACK(Soulbox__V1__SandboxRef, soulbox__v1__sandbox_ref, c, data, len)
    struct session *s = find(c, req->id);
    if (s) {
        session_kill(s, "deleted by its owner");
        Soulbox__V1__Empty e = SOULBOX__V1__EMPTY__INIT;
        grpc_send(c, &e.base);
        grpc_finish(c, GRPC_OK, NULL);
    }
    soulbox__v1__sandbox_ref__free_unpacked(req, &pb_sized_allocator);
}

static bool meta_matches(const struct session *s, const Soulbox__V1__ListSandboxesRequest *r)
{
    for (size_t i = 0; i < r->n_metadata; i++) {
        const char *have = json_string_value(json_object_get(s->metadata, r->metadata[i]->key));
        if (!have || strcmp(have, r->metadata[i]->value))
            return false;
    }
    return !r->state[0] || !strcmp(r->state, session_state_name(s->state));
}

static void list_msg(struct grpc_call *c, const uint8_t *data, size_t len)
{
    UNPACK(Soulbox__V1__ListSandboxesRequest, soulbox__v1__list_sandboxes_request, c, data, len)
    static struct session *v[4096];
    size_t n = session_list(grpc_call_service(c), grpc_call_caller(c), v, 4096), k = 0;
    Soulbox__V1__Sandbox *ms = calloc(n ? n : 1, sizeof *ms);
    Soulbox__V1__SessionLimits *ls = calloc(n ? n : 1, sizeof *ls);
    Soulbox__V1__Sandbox **ps = calloc(n ? n : 1, sizeof *ps);
    struct arena *as = calloc(n ? n : 1, sizeof *as);
    if (!ms || !ls || !ps || !as) {
        grpc_finish(c, GRPC_RESOURCE_EXHAUSTED, "out of memory");
    } else {
        for (size_t i = 0; i < n; i++)
            if (meta_matches(v[i], req)) {
                sandbox_pb(v[i], &ms[k], &ls[k], &as[k]);
                ps[k] = &ms[k];
                k++;
            }
        Soulbox__V1__ListSandboxesResponse r = SOULBOX__V1__LIST_SANDBOXES_RESPONSE__INIT;
        r.n_sandboxes = k;
        r.sandboxes = ps;
        grpc_send(c, &r.base);
        grpc_finish(c, GRPC_OK, NULL);
    }
    for (size_t i = 0; as && i < k; i++)
        arena_free(&as[i]);
    free(ms), free(ls), free(ps), free(as);
    soulbox__v1__list_sandboxes_request__free_unpacked(req, &pb_sized_allocator);
}

static void timeout_msg(struct grpc_call *c, const uint8_t *data, size_t len)
{
    UNPACK(Soulbox__V1__SetTimeoutRequest, soulbox__v1__set_timeout_request, c, data, len)
    struct session *s = find(c, req->id);
    struct sb_error err;
    if (s && req->timeout_s == 0)
        grpc_finish(c, GRPC_INVALID_ARGUMENT, "timeout_s must be positive");
    else if (s && session_set_timeout(s, req->timeout_s * 1000, &err) < 0)
        fail(c, &err);
    else if (s)
        reply_sandbox(c, s);
    soulbox__v1__set_timeout_request__free_unpacked(req, &pb_sized_allocator);
}

static void op_done(struct session *s, const struct sb_error *err, void *arg)
{
    struct pending *p = arg;
    if (p->c) {
        grpc_call_set_data(p->c, NULL);
        if (err)
            fail(p->c, err);
        else
            reply_sandbox(p->c, s);
    }
    free(p);
}

static void pause_resume(struct grpc_call *c, const uint8_t *data, size_t len, bool pause)
{
    UNPACK(Soulbox__V1__SandboxRef, soulbox__v1__sandbox_ref, c, data, len)
    struct session *s = find(c, req->id);
    struct pending *p = s ? calloc(1, sizeof *p) : NULL;
    struct sb_error err;
    if (p) {
        p->c = c;
        grpc_call_set_data(c, p);
        if ((pause ? session_pause(s, op_done, p, &err) : session_resume(s, op_done, p, &err)) < 0) {
            grpc_call_set_data(c, NULL);
            free(p);
            fail(c, &err);
        }
    } else if (s) {
        grpc_finish(c, GRPC_RESOURCE_EXHAUSTED, "out of memory");
    }
    soulbox__v1__sandbox_ref__free_unpacked(req, &pb_sized_allocator);
}

static void pause_msg(struct grpc_call *c, const uint8_t *data, size_t len)
{
    pause_resume(c, data, len, true);
}

static void resume_msg(struct grpc_call *c, const uint8_t *data, size_t len)
{
    pause_resume(c, data, len, false);
}

/* ---- RunCommand ---- */

struct gcmd {
    struct cmd_watcher w;
    struct grpc_call *c;
    struct session *s;
    struct session_cmd *cmd;
};

static void gcmd_free(struct gcmd *g)
{
    session_cmd_unref(g->cmd);
    session_unref(g->s);
    free(g);
}

static void cmd_output(struct cmd_watcher *w, int stream, const char *data, size_t len)
{
    struct gcmd *g = w->arg;
    Soulbox__V1__CommandOutput o = SOULBOX__V1__COMMAND_OUTPUT__INIT;
    o.stream = (uint32_t)stream;
    o.data.data = (uint8_t *)data;
    o.data.len = len;
    Soulbox__V1__CommandEvent ev = SOULBOX__V1__COMMAND_EVENT__INIT;
    ev.event_case = SOULBOX__V1__COMMAND_EVENT__EVENT_OUTPUT;
    ev.output = &o;
    grpc_send(g->c, &ev.base);
}

static void cmd_exited(struct cmd_watcher *w, struct session_cmd *cmd)
{
    struct gcmd *g = w->arg;
    Soulbox__V1__CommandExited x = SOULBOX__V1__COMMAND_EXITED__INIT;
    x.pid = cmd->pid;
    x.status = (char *)cmd->status;
    x.exit_code = cmd->exit_code;
    x.signal = cmd->signal;
    x.wall_time_ms = cmd->wall_ms;
    x.cpu_time_ms = cmd->cpu_ms;
    x.error = cmd->error;
    Soulbox__V1__CommandEvent ev = SOULBOX__V1__COMMAND_EVENT__INIT;
    ev.event_case = SOULBOX__V1__COMMAND_EVENT__EVENT_EXITED;
    ev.exited = &x;
    grpc_send(g->c, &ev.base);
    grpc_call_set_data(g->c, NULL);
    grpc_finish(g->c, GRPC_OK, NULL);
    gcmd_free(g);
}

static void cmd_cancelled(struct grpc_call *c)
{
    struct gcmd *g = grpc_call_data(c);
    grpc_call_set_data(c, NULL);
    if (g) {
        session_cmd_unwatch(&g->w); /* the command runs on */
        gcmd_free(g);
    }
}

static void run_msg(struct grpc_call *c, const uint8_t *data, size_t len)
{
    UNPACK(Soulbox__V1__RunCommandRequest, soulbox__v1__run_command_request, c, data, len)
    struct session *s = find(c, req->id);
    json_t *env = map_json(req->n_env, (void **)req->env);
    struct sb_error err;
    if (s && (!!req->cmd[0] == !!req->n_argv)) {
        grpc_finish(c, GRPC_INVALID_ARGUMENT, "give exactly one of cmd and argv");
    } else if (s) {
        struct session_cmd_req r = {
            .argv = req->n_argv ? (const char *const *)req->argv : NULL, .argc = req->n_argv,
            .shell = req->cmd[0] ? req->cmd : NULL, .cwd = req->cwd[0] ? req->cwd : NULL,
            .env = env, .stdin_data = req->stdin.data, .stdin_len = req->stdin.len,
            .timeout_ms = req->timeout_ms, .tag = req->tag[0] ? req->tag : NULL,
        };
        struct session_cmd *cmd = session_cmd_start(s, &r, &err);
        struct gcmd *g = cmd ? calloc(1, sizeof *g) : NULL;
        if (!cmd) {
            fail(c, &err);
        } else if (!g) {
            grpc_finish(c, GRPC_RESOURCE_EXHAUSTED, "out of memory");
        } else {
            g->c = c;
            g->s = s;
            g->cmd = cmd;
            session_ref(s);
            session_cmd_ref(cmd);
            g->w = (struct cmd_watcher){.output = cmd_output, .exited = cmd_exited, .arg = g};
            grpc_call_set_data(c, g);
            Soulbox__V1__CommandStarted st = SOULBOX__V1__COMMAND_STARTED__INIT;
            st.pid = cmd->pid;
            Soulbox__V1__CommandEvent ev = SOULBOX__V1__COMMAND_EVENT__INIT;
            ev.event_case = SOULBOX__V1__COMMAND_EVENT__EVENT_STARTED;
            ev.started = &st;
            grpc_send(c, &ev.base);
            session_cmd_watch(cmd, &g->w, false);
        }
    }
    json_decref(env);
    soulbox__v1__run_command_request__free_unpacked(req, &pb_sized_allocator);
}

/* ---- ExecuteCell ---- */

struct gcell {
    struct cell_watcher w;
    struct grpc_call *c;
    struct session *s;
    struct cell *cell;
};

static void cell_event(struct cell_watcher *w, json_t *ev)
{
    struct gcell *g = w->arg;
    const char *type = json_string_value(json_object_get(ev, "type"));
    Soulbox__V1__CellEvent e = SOULBOX__V1__CELL_EVENT__INIT;
    Soulbox__V1__CellResult r = SOULBOX__V1__CELL_RESULT__INIT;
    Soulbox__V1__CellError x = SOULBOX__V1__CELL_ERROR__INIT;
    Soulbox__V1__CellResult__DataEntry es[16], *ps[16];
    char *texts[16] = {0};
    size_t n = 0;
    if (!type)
        return;
    if (!strcmp(type, "stdout") || !strcmp(type, "stderr")) {
        bool out = type[3] == 'o';
        e.event_case = out ? SOULBOX__V1__CELL_EVENT__EVENT_STDOUT
                           : SOULBOX__V1__CELL_EVENT__EVENT_STDERR;
        char *t = (char *)json_string_value(json_object_get(ev, "text"));
        if (out)
            e.stdout = t ? t : "";
        else
            e.stderr = t ? t : "";
    } else if (!strcmp(type, "result")) {
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(ev, "data"), k, v) {
            if (n == 16)
                break;
            soulbox__v1__cell_result__data_entry__init(&es[n]);
            es[n].key = (char *)k;
            texts[n] = json_is_string(v) ? NULL : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            es[n].value = texts[n] ? texts[n] : (char *)json_string_value(v);
            if (!es[n].value)
                continue;
            ps[n] = &es[n];
            n++;
        }
        r.n_data = n;
        r.data = ps;
        r.main = json_is_true(json_object_get(ev, "main"));
        e.event_case = SOULBOX__V1__CELL_EVENT__EVENT_RESULT;
        e.result = &r;
    } else if (!strcmp(type, "error")) {
        x.name = (char *)(json_string_value(json_object_get(ev, "name")) ?: "");
        x.value = (char *)(json_string_value(json_object_get(ev, "value")) ?: "");
        x.traceback = (char *)(json_string_value(json_object_get(ev, "traceback")) ?: "");
        e.event_case = SOULBOX__V1__CELL_EVENT__EVENT_ERROR;
        e.error = &x;
    } else {
        return;
    }
    grpc_send(g->c, &e.base);
    for (size_t i = 0; i < 16; i++)
        free(texts[i]);
}

static void gcell_free(struct gcell *g)
{
    session_unref(g->s);
    free(g);
}

static void cell_end(struct cell_watcher *w, unsigned count)
{
    struct gcell *g = w->arg;
    Soulbox__V1__CellEvent e = SOULBOX__V1__CELL_EVENT__INIT;
    e.event_case = SOULBOX__V1__CELL_EVENT__EVENT_END;
    e.end = count;
    grpc_send(g->c, &e.base);
    grpc_call_set_data(g->c, NULL);
    grpc_finish(g->c, GRPC_OK, NULL);
    gcell_free(g);
}

static void cell_cancelled(struct grpc_call *c)
{
    struct gcell *g = grpc_call_data(c);
    grpc_call_set_data(c, NULL);
    if (g) {
        session_cell_detach(g->cell);
        gcell_free(g);
    }
}

static void cell_msg(struct grpc_call *c, const uint8_t *data, size_t len)
{
    UNPACK(Soulbox__V1__ExecuteCellRequest, soulbox__v1__execute_cell_request, c, data, len)
    struct session *s = find(c, req->id);
    json_t *env = map_json(req->n_env, (void **)req->env);
    struct sb_error err;
    struct session_ctx *ctx = NULL;
    if (!s) {
    } else if (req->context_id[0] && !(ctx = session_ctx_find(s, req->context_id))) {
        grpc_finish(c, GRPC_NOT_FOUND, "no such context");
    } else if (!ctx && !(ctx = session_ctx_default(s, req->language, &err))) {
        fail(c, &err);
    } else {
        struct gcell *g = calloc(1, sizeof *g);
        struct cell_req r = {.code = req->code, .env = env, .svg = req->svg,
                             .timeout_ms = req->timeout_ms};
        if (!g) {
            grpc_finish(c, GRPC_RESOURCE_EXHAUSTED, "out of memory");
        } else {
            g->c = c;
            g->s = s;
            session_ref(s);
            g->w = (struct cell_watcher){.event = cell_event, .end = cell_end, .arg = g};
            if (!(g->cell = session_ctx_execute(ctx, &r, &g->w, &err))) {
                gcell_free(g);
                fail(c, &err);
            } else {
                grpc_call_set_data(c, g);
            }
        }
    }
    json_decref(env);
    soulbox__v1__execute_cell_request__free_unpacked(req, &pb_sized_allocator);
}

/* ---- files ---- */

static int norm_path(struct grpc_call *c, const char *in, char *out, size_t len)
{
    struct sb_error err;
    if (session_path(in, "/home/user", out, len, &err) < 0) {
        fail(c, &err);
        return -1;
    }
    return 0;
}

static void file_error(struct grpc_call *c, const struct sbx_file_result *r)
{
    struct sb_error err;
    sb_fail(&err, files_errno_code(r->err), "%s", r->message);
    fail(c, &err);
}

static void entry_pb(const struct sbx_entry *e, const char *path, Soulbox__V1__FileEntry *m,
                     char mtime[40])
{
    static const char *const types[] = {"", "file", "dir", "symlink", "other"};
    soulbox__v1__file_entry__init(m);
    const char *slash = strrchr(path, '/');
    m->name = (char *)(slash && slash[1] ? slash + 1 : path);
    m->path = (char *)path;
    m->type = (char *)types[e->type <= SBX_OTHER ? e->type : SBX_OTHER];
    m->size = e->size;
    m->mode = e->mode;
    util_iso_time((uint64_t)(e->mtime_ms > 0 ? e->mtime_ms : 0), mtime, 40);
    m->modified_at = mtime;
    m->symlink_target = e->target ? e->target : "";
}

static void file_done(struct sbx *x, struct sbx_file_result *r, void *arg)
{
    (void)x;
    struct pending *p = arg;
    struct grpc_call *c = p->c;
    int kind = p->kind;
    free(p);
    if (!c)
        return;
    grpc_call_set_data(c, NULL);
    if (r->err)
        return file_error(c, r);
    if (kind == 'r') {
        Soulbox__V1__FileContent fc = SOULBOX__V1__FILE_CONTENT__INIT;
        fc.content.data = r->data;
        fc.content.len = r->data ? r->len : 0;
        grpc_send(c, &fc.base);
    } else if (kind == 'd' || r->n != 1) {
        Soulbox__V1__Empty e = SOULBOX__V1__EMPTY__INIT;
        grpc_send(c, &e.base);
    } else {
        Soulbox__V1__FileEntry m;
        char mtime[40];
        entry_pb(&r->entries[0], r->entries[0].name, &m, mtime);
        grpc_send(c, &m.base);
    }
    grpc_finish(c, GRPC_OK, NULL);
}

/* Starts a file operation for call c; kind 'r' read, 'w' write, 'd' remove. */
static void file_op(struct grpc_call *c, const char *id, const char *path, int kind,
                    const uint8_t *data, size_t len)
{
    struct session *s = find(c, id);
    char p[4096];
    struct sb_error err;
    if (!s || norm_path(c, path, p, sizeof p) < 0)
        return;
    struct pending *pd = calloc(1, sizeof *pd);
    if (!pd)
        return grpc_finish(c, GRPC_RESOURCE_EXHAUSTED, "out of memory");
    pd->c = c;
    pd->kind = kind;
    grpc_call_set_data(c, pd);
    int rc = kind == 'r' ? session_file_read(s, p, READ_MAX, file_done, pd, &err)
           : kind == 'w' ? session_file_write(s, p, data, len, file_done, pd, &err)
                         : session_file_remove(s, p, file_done, pd, &err);
    if (rc < 0) {
        grpc_call_set_data(c, NULL);
        free(pd);
        fail(c, &err);
    }
}

static void read_msg(struct grpc_call *c, const uint8_t *data, size_t len)
{
    UNPACK(Soulbox__V1__FileRef, soulbox__v1__file_ref, c, data, len)
    file_op(c, req->id, req->path, 'r', NULL, 0);
    soulbox__v1__file_ref__free_unpacked(req, &pb_sized_allocator);
}

static void remove_msg(struct grpc_call *c, const uint8_t *data, size_t len)
{
    UNPACK(Soulbox__V1__FileRef, soulbox__v1__file_ref, c, data, len)
    file_op(c, req->id, req->path, 'd', NULL, 0);
    soulbox__v1__file_ref__free_unpacked(req, &pb_sized_allocator);
}

static void write_msg(struct grpc_call *c, const uint8_t *data, size_t len)
{
    UNPACK(Soulbox__V1__WriteFileRequest, soulbox__v1__write_file_request, c, data, len)
    file_op(c, req->id, req->path, 'w', req->content.data, req->content.len);
    soulbox__v1__write_file_request__free_unpacked(req, &pb_sized_allocator);
}

static void walked(struct files_walk *w, void *arg)
{
    struct pending *p = arg;
    struct grpc_call *c = p->c;
    free(p);
    if (c) {
        grpc_call_set_data(c, NULL);
        if (w->error != SB_E_OK) {
            struct sb_error err;
            sb_fail(&err, w->error, "%s", w->message);
            fail(c, &err);
        } else {
            Soulbox__V1__FileEntry *ms = calloc(w->n ? w->n : 1, sizeof *ms);
            Soulbox__V1__FileEntry **ps = calloc(w->n ? w->n : 1, sizeof *ps);
            char (*times)[40] = calloc(w->n ? w->n : 1, 40);
            if (!ms || !ps || !times) {
                grpc_finish(c, GRPC_RESOURCE_EXHAUSTED, "out of memory");
            } else {
                for (size_t i = 0; i < w->n; i++) {
                    entry_pb(&w->entries[i], w->paths[i], &ms[i], times[i]);
                    ps[i] = &ms[i];
                }
                Soulbox__V1__ListFilesResponse r = SOULBOX__V1__LIST_FILES_RESPONSE__INIT;
                r.n_entries = w->n;
                r.entries = ps;
                grpc_send(c, &r.base);
                grpc_finish(c, GRPC_OK, NULL);
            }
            free(ms), free(ps), free(times);
        }
    }
    files_walk_free(w);
}

static void list_files_msg(struct grpc_call *c, const uint8_t *data, size_t len)
{
    UNPACK(Soulbox__V1__ListFilesRequest, soulbox__v1__list_files_request, c, data, len)
    struct session *s = find(c, req->id);
    char p[4096];
    struct sb_error err;
    if (s && norm_path(c, req->path[0] ? req->path : "/home/user", p, sizeof p) == 0) {
        struct pending *pd = calloc(1, sizeof *pd);
        if (!pd) {
            grpc_finish(c, GRPC_RESOURCE_EXHAUSTED, "out of memory");
        } else {
            pd->c = c;
            grpc_call_set_data(c, pd);
            unsigned depth = req->depth >= 1 && req->depth <= 16 ? req->depth : 1;
            if (!files_walk(s, p, depth, 10000, walked, pd, &err)) {
                grpc_call_set_data(c, NULL);
                free(pd);
                fail(c, &err);
            }
        }
    }
    soulbox__v1__list_files_request__free_unpacked(req, &pb_sized_allocator);
}

/* ---- the table ---- */

#define UNARY(name, fn, cancel) \
    static const struct grpc_method m_##fn = {"/soulbox.v1.Sessions/" name, GRPC_UNARY, false, \
                                              fn, NULL, cancel}
UNARY("CreateSandbox", create_msg, pending_cancelled);
UNARY("GetSandbox", get_msg, NULL);
UNARY("ListSandboxes", list_msg, NULL);
UNARY("DeleteSandbox", delete_msg, NULL);
UNARY("SetTimeout", timeout_msg, NULL);
UNARY("PauseSandbox", pause_msg, pending_cancelled);
UNARY("ResumeSandbox", resume_msg, pending_cancelled);
UNARY("ReadFile", read_msg, pending_cancelled);
UNARY("WriteFile", write_msg, pending_cancelled);
UNARY("ListFiles", list_files_msg, pending_cancelled);
UNARY("RemoveFile", remove_msg, pending_cancelled);
static const struct grpc_method m_run = {"/soulbox.v1.Sessions/RunCommand", GRPC_SERVER_STREAM,
                                         false, run_msg, NULL, cmd_cancelled};
static const struct grpc_method m_cell = {"/soulbox.v1.Sessions/ExecuteCell",
                                          GRPC_SERVER_STREAM, false, cell_msg, NULL,
                                          cell_cancelled};

const struct grpc_method *const grpc_sessions_methods[] = {
    &m_create_msg, &m_get_msg, &m_list_msg, &m_delete_msg, &m_timeout_msg, &m_pause_msg,
    &m_resume_msg, &m_run, &m_cell, &m_read_msg, &m_write_msg, &m_list_files_msg,
    &m_remove_msg, NULL,
};
