/* Conversions between soulbox.v1 protobuf messages and the JSON API. Messages
 * built here use malloc for every part, so protobuf-c's free_unpacked frees
 * them. */
#include "frontend/grpc/grpc_convert.h"

#include "service/result_json.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/base64.h"

/* ---- an allocator that remembers sizes ----
 * protobuf-c hands out strings NUL-terminated, without their length: a string
 * holding a NUL would silently lose its tail. Each block carries its size, so
 * a string's real length is its block's size minus the terminator. */

struct block {
    size_t size;
    max_align_t align[];
};

static void *sized_alloc(void *arg, size_t size)
{
    (void)arg;
    struct block *b = malloc(sizeof *b + size);
    if (!b)
        return NULL;
    b->size = size;
    return b->align;
}

static void sized_free(void *arg, void *p)
{
    (void)arg;
    if (p)
        free((char *)p - offsetof(struct block, align));
}

ProtobufCAllocator pb_sized_allocator = {sized_alloc, sized_free, NULL};

/* Length of a string field of a message unpacked with pb_sized_allocator. */
static size_t pb_strlen(const char *s)
{
    if (!s || s == protobuf_c_empty_string)
        return 0; /* unset: the descriptor's default, never allocated */
    const struct block *b = (const struct block *)(s - offsetof(struct block, align));
    return b->size - 1;
}

/* ---- request: protobuf -> JSON ---- */

/* A proto3 string as a JSON string: UTF-8 is required (jansson refuses
 * anything else); NUL characters stay, for the JSON API's checks to judge. */
static json_t *utf8(const char *s, const char *field, struct sb_error *err)
{
    json_t *j = json_stringn(s ? s : "", pb_strlen(s));
    if (!j)
        sb_fail(err, SB_E_INVALID_ARGUMENT, "%s: not valid UTF-8", field);
    return j;
}

static int set(json_t *o, const char *key, json_t *v)
{
    return v ? json_object_set_new(o, key, v) : -1;
}

static int files_to_json(const Soulbox__V1__ExecuteRequest *r, json_t *o, struct sb_error *err)
{
    json_t *files = json_array();
    json_object_set_new(o, "files", files);
    for (size_t i = 0; i < r->n_files; i++) {
        char *b64 = base64_encode(r->files[i]->content.data, r->files[i]->content.len);
        json_t *name = utf8(r->files[i]->name, "files[].name", err);
        if (!b64 || !name) {
            free(b64);
            json_decref(name);
            return name ? sb_fail(err, SB_E_INTERNAL, "out of memory") : -1;
        }
        json_array_append_new(files, json_pack("{s:o,s:s,s:s}", "name", name, "content", b64,
                                               "encoding", "base64"));
        free(b64);
    }
    return 0;
}

struct named_limit {
    const char *name;
    uint64_t v;
};

/* o[key] = the limits that are set (0 is unset in proto3). */
static void named_limits_to_json(const struct named_limit *f, size_t n, const char *key,
                                 json_t *o)
{
    json_t *lim = json_object();
    for (size_t i = 0; i < n; i++)
        if (f[i].v)
            json_object_set_new(lim, f[i].name, json_integer((json_int_t)(f[i].v > INT64_MAX
                                                                             ? INT64_MAX
                                                                             : f[i].v)));
    json_object_set_new(o, key, lim);
}

static void limits_to_json(const Soulbox__V1__ExecuteRequest *r, json_t *o)
{
    const Soulbox__V1__Limits *l = r->limits;
    if (l) {
        const struct named_limit f[] = {
            {"wall_time_ms", l->wall_time_ms}, {"cpu_time_ms", l->cpu_time_ms},
            {"memory_mb", l->memory_mb}, {"processes", l->processes}, {"output_kb", l->output_kb},
            {"disk_mb", l->disk_mb}, {"file_size_kb", l->file_size_kb},
            {"open_files", l->open_files}, {"stack_kb", l->stack_kb},
        };
        named_limits_to_json(f, sizeof f / sizeof *f, "limits", o);
    }
    const Soulbox__V1__CompileLimits *c = r->compile_limits;
    if (c) {
        const struct named_limit f[] = {
            {"wall_time_ms", c->wall_time_ms}, {"cpu_time_ms", c->cpu_time_ms},
            {"memory_mb", c->memory_mb},
        };
        named_limits_to_json(f, sizeof f / sizeof *f, "compile_limits", o);
    }
}

static int cases_to_json(const Soulbox__V1__ExecuteRequest *r, json_t *o, struct sb_error *err)
{
    json_t *cases = json_array();
    json_object_set_new(o, "test_cases", cases);
    for (size_t i = 0; i < r->n_test_cases; i++) {
        const Soulbox__V1__TestCase *tc = r->test_cases[i];
        json_t *c = json_object();
        json_array_append_new(cases, c);
        if (set(c, "stdin", utf8(tc->stdin, "test_cases[].stdin", err)) < 0)
            return -1;
        if (tc->_expected_output_case == SOULBOX__V1__TEST_CASE___EXPECTED_OUTPUT_EXPECTED_OUTPUT &&
            set(c, "expected_output", utf8(tc->expected_output, "test_cases[].expected_output",
                                           err)) < 0)
            return -1;
    }
    return 0;
}

/* A repeated string field as o's JSON array `name` (absent when empty). */
static int strings_to_json(char **v, size_t n, const char *name, const char *what, json_t *o,
                           struct sb_error *err)
{
    if (!n)
        return 0;
    json_t *arr = json_array();
    json_object_set_new(o, name, arr);
    for (size_t i = 0; i < n; i++) {
        json_t *a = utf8(v[i], what, err);
        if (!a)
            return -1;
        json_array_append_new(arr, a);
    }
    return 0;
}

static int args_env_to_json(const Soulbox__V1__ExecuteRequest *r, json_t *o,
                            struct sb_error *err)
{
    if (strings_to_json(r->args, r->n_args, "args", "args[]", o, err) < 0 ||
        strings_to_json(r->compile_args, r->n_compile_args, "compile_args", "compile_args[]",
                        o, err) < 0)
        return -1;
    if (r->n_env) {
        json_t *env = json_object();
        json_object_set_new(o, "env", env);
        for (size_t i = 0; i < r->n_env; i++) {
            json_t *v = utf8(r->env[i]->value, "env", err);
            size_t klen = pb_strlen(r->env[i]->key);
            json_t *k = json_stringn(r->env[i]->key, klen); /* only checks the UTF-8 */
            if (!v || !k || strlen(r->env[i]->key) != klen) {
                json_decref(v);
                json_decref(k);
                return sb_fail(err, SB_E_INVALID_ARGUMENT, "env: names must be UTF-8 "
                               "without NUL");
            }
            json_decref(k);
            json_object_set_new(env, r->env[i]->key, v);
        }
    }
    return 0;
}

json_t *pb_network_to_json(bool enabled, size_t n_allow, char *const *allow,
                          struct sb_error *err)
{
    json_t *net = json_pack("{s:b}", "enabled", enabled);
    json_t *list = n_allow ? json_array() : NULL;
    if (!net || (n_allow && set(net, "allow", list) < 0))
        goto fail;
    for (size_t i = 0; i < n_allow; i++)
        if (json_array_append_new(list, utf8(allow[i], "network.allow[]", err)) < 0)
            goto fail;
    return net;
fail:
    if (!err->msg[0])
        sb_fail(err, SB_E_INTERNAL, "out of memory");
    json_decref(net);
    return NULL;
}

json_t *pb_request_to_json(const Soulbox__V1__ExecuteRequest *r, struct sb_error *err)
{
    json_t *o = json_object();
    if (!o || set(o, "language", utf8(r->language, "language", err)) < 0)
        goto fail;
    if (r->code && r->code[0] && set(o, "code", utf8(r->code, "code", err)) < 0)
        goto fail;
    if (r->n_files && files_to_json(r, o, err) < 0)
        goto fail;
    /* stdin is bytes: not necessarily UTF-8, so not checked */
    if (r->stdin.len &&
        set(o, "stdin", json_stringn_nocheck((const char *)r->stdin.data, r->stdin.len)) < 0)
        goto fail;
    if (args_env_to_json(r, o, err) < 0)
        goto fail;
    limits_to_json(r, o);
    if (r->n_test_cases && cases_to_json(r, o, err) < 0)
        goto fail;
    /* only when set: an unset message is "no network", as the field's absence is */
    if (r->network && set(o, "network", pb_network_to_json(r->network->enabled,
                                                           r->network->n_allow,
                                                           r->network->allow, err)) < 0)
        goto fail;
    if (r->isolation && *r->isolation &&
        set(o, "isolation", utf8(r->isolation, "isolation", err)) < 0)
        goto fail;
    return o;
fail:
    if (!err->msg[0])
        sb_fail(err, SB_E_INTERNAL, "out of memory");
    json_decref(o);
    return NULL;
}

/* ---- result: typed -> protobuf ---- */

static char *dup_str(const char *s)
{
    return strdup(s ? s : "");
}

/* The program's bytes as the JSON API shows them: UTF-8, invalid bytes as
 * U+FFFD (NUL characters kept). */
static ProtobufCBinaryData text_bytes(const struct sb_buf *b)
{
    struct sb_buf fixed = {0};
    ProtobufCBinaryData out = {0, NULL};
    const char *d = b->data;
    size_t n = b->len;
    if (result_utf8(b->data, b->len, &fixed))
        d = fixed.data, n = fixed.len;
    if (n && d && (out.data = malloc(n))) {
        memcpy(out.data, d, n);
        out.len = n;
    }
    sb_buf_free(&fixed);
    return out;
}

static Soulbox__V1__NetworkStats *net_of(const struct net_stats *in)
{
    Soulbox__V1__NetworkStats *n = malloc(sizeof *n);
    if (!n)
        return NULL;
    soulbox__v1__network_stats__init(n);
    n->bytes_sent = in->bytes_sent;
    n->bytes_received = in->bytes_received;
    n->connections = in->connections;
    n->connections_refused = in->refused;
    return n;
}

static Soulbox__V1__StageResult *stage_of(const struct stage_result *in)
{
    Soulbox__V1__StageResult *st = malloc(sizeof *st);
    if (!st)
        return NULL;
    soulbox__v1__stage_result__init(st);
    char t[32];
    snprintf(t, sizeof t, "%llums", (unsigned long long)in->wall_ms);
    st->status = dup_str(sb_status_name(in->status));
    st->stdout = text_bytes(&in->out);
    st->stderr = text_bytes(&in->err);
    st->execution_time = dup_str(t);
    st->message = dup_str(in->message);
    st->wall_time_ms = in->wall_ms;
    st->cpu_time_ms = in->cpu_ms;
    st->memory_kb = in->memory_kb;
    st->truncated = in->truncated;
    if (in->exited && !in->signal) {
        st->_exit_code_case = SOULBOX__V1__STAGE_RESULT___EXIT_CODE_EXIT_CODE;
        st->exit_code = in->exit_code;
    }
    if (in->signal) {
        st->_signal_case = SOULBOX__V1__STAGE_RESULT___SIGNAL_SIGNAL;
        st->signal = in->signal;
    }
    if (in->net_enabled)
        st->network = net_of(&in->net);
    return st;
}

static int cases_of(const struct job_result *in, Soulbox__V1__ExecuteResult *r)
{
    if (!in->ncases)
        return 0;
    if (!(r->test_cases = calloc(in->ncases, sizeof *r->test_cases)))
        return -1;
    for (size_t i = 0; i < in->ncases; i++, r->n_test_cases++) {
        Soulbox__V1__TestCaseResult *t = malloc(sizeof *t);
        if (!t)
            return -1;
        soulbox__v1__test_case_result__init(t);
        r->test_cases[i] = t;
        t->index = (uint32_t)i;
        t->verdict = dup_str(case_verdict(&in->cases[i]));
        t->result = stage_of(&in->cases[i].run);
    }
    struct case_summary sum;
    case_summarize(in, &sum);
    if ((r->summary = malloc(sizeof *r->summary))) {
        soulbox__v1__summary__init(r->summary);
        r->summary->total = (uint32_t)sum.total;
        r->summary->accepted = (uint32_t)sum.accepted;
        r->summary->verdict = dup_str(sum.verdict);
    }
    return 0;
}

static ProtobufCBinaryData compile_output(const struct stage_result *c)
{
    struct sb_buf both = {0};
    sb_buf_append(&both, c->out.data, c->out.len);
    sb_buf_append(&both, c->err.data, c->err.len);
    ProtobufCBinaryData b = text_bytes(&both);
    sb_buf_free(&both);
    return b;
}

Soulbox__V1__ExecuteResult *pb_result_from_result(const struct job_result *in, const char *id)
{
    Soulbox__V1__ExecuteResult *r = malloc(sizeof *r);
    if (!r)
        return NULL;
    soulbox__v1__execute_result__init(r);
    r->id = dup_str(id);
    if (in->failed || in->note[0] || !in->ran) {
        struct stage_result empty;
        result_empty_stage(in, &empty);
        r->result = stage_of(&empty);
    } else if (!in->ncases) {
        r->result = stage_of(&in->run);
    }
    if (in->has_compile && !in->failed) {
        r->compile = stage_of(&in->compile);
        r->compile_output = compile_output(&in->compile);
        r->_compile_cached_case = SOULBOX__V1__EXECUTE_RESULT___COMPILE_CACHED_COMPILE_CACHED;
        r->compile_cached = in->compile_cached;
    }
    if (cases_of(in, r) < 0) {
        soulbox__v1__execute_result__free_unpacked(r, NULL);
        return NULL;
    }
    return r;
}

/* ---- languages ---- */

static char *str_of(const json_t *o, const char *key)
{
    return dup_str(json_string_value(json_object_get(o, key)));
}

static char **strings_of(const json_t *arr, size_t *n)
{
    *n = json_array_size(arr);
    char **v = calloc(*n ? *n : 1, sizeof *v);
    for (size_t i = 0; v && i < *n; i++)
        v[i] = strdup(json_string_value(json_array_get(arr, i)));
    return v;
}

Soulbox__V1__ListLanguagesResponse *pb_languages_from_json(const json_t *langs)
{
    Soulbox__V1__ListLanguagesResponse *r = malloc(sizeof *r);
    if (!r)
        return NULL;
    soulbox__v1__list_languages_response__init(r);
    const json_t *ok = json_object_get(langs, "languages");
    const json_t *bad = json_object_get(langs, "unavailable");
    r->languages = calloc(json_array_size(ok) + 1, sizeof *r->languages);
    r->unavailable = calloc(json_array_size(bad) + 1, sizeof *r->unavailable);
    r->probing = strings_of(json_object_get(langs, "probing"), &r->n_probing);
    for (size_t i = 0; r->languages && i < json_array_size(ok); i++) {
        const json_t *l = json_array_get(ok, i);
        Soulbox__V1__Language *pl = malloc(sizeof *pl);
        if (!pl)
            break;
        soulbox__v1__language__init(pl);
        pl->name = str_of(l, "name");
        pl->version = str_of(l, "version");
        pl->compiled = json_is_true(json_object_get(l, "compiled"));
        pl->aliases = strings_of(json_object_get(l, "aliases"), &pl->n_aliases);
        r->languages[r->n_languages++] = pl;
    }
    for (size_t i = 0; r->unavailable && i < json_array_size(bad); i++) {
        const json_t *u = json_array_get(bad, i);
        Soulbox__V1__UnavailableLanguage *pu = malloc(sizeof *pu);
        if (!pu)
            break;
        soulbox__v1__unavailable_language__init(pu);
        pu->name = str_of(u, "name");
        pu->reason = str_of(u, "reason");
        r->unavailable[r->n_unavailable++] = pu;
    }
    return r;
}

/* ---- the cluster ---- */

static uint32_t u32_of(const json_t *o, const char *key)
{
    json_int_t v = json_integer_value(json_object_get(o, key));
    return v < 0 ? 0 : (uint32_t)v;
}

static Soulbox__V1__ClusterNode *cluster_node_of(const json_t *n)
{
    Soulbox__V1__ClusterNode *p = malloc(sizeof *p);
    if (!p)
        return NULL;
    soulbox__v1__cluster_node__init(p);
    p->id = str_of(n, "id");
    p->name = str_of(n, "name");
    p->state = str_of(n, "state");
    p->self = json_is_true(json_object_get(n, "self"));
    p->capacity = u32_of(n, "capacity");
    p->max_queue = u32_of(n, "max_queue");
    p->running = u32_of(n, "running");
    p->queued = u32_of(n, "queued");
    p->languages = strings_of(json_object_get(n, "languages"), &p->n_languages);
    p->started_ms = (uint64_t)json_integer_value(json_object_get(n, "started_ms"));
    p->heartbeat_age_ms = (uint64_t)json_integer_value(json_object_get(n, "heartbeat_age_ms"));
    p->reason = str_of(n, "reason");
    p->url = str_of(n, "url");
    return p;
}

Soulbox__V1__Cluster *pb_cluster_from_json(const json_t *c)
{
    Soulbox__V1__Cluster *r = malloc(sizeof *r);
    if (!r)
        return NULL;
    soulbox__v1__cluster__init(r);
    r->store = str_of(c, "store");
    r->node = str_of(c, "node");
    r->name = str_of(c, "name");
    r->database = str_of(c, "database");
    r->error = str_of(c, "error");
    r->queued = u32_of(c, "queued");
    const json_t *nodes = json_object_get(c, "nodes");
    r->nodes = calloc(json_array_size(nodes) + 1, sizeof *r->nodes);
    for (size_t i = 0; r->nodes && i < json_array_size(nodes); i++) {
        Soulbox__V1__ClusterNode *p = cluster_node_of(json_array_get(nodes, i));
        if (!p)
            break;
        r->nodes[r->n_nodes++] = p;
    }
    return r;
}
