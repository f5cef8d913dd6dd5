/* Execute request decoding and validation. Every check names the offending field. */
#include "frontend/request.h"

#include "common/glob.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base64.h"
#include "common/glob.h"
#include "common/sha256.h"
#include "runner/limits.h"
#include "runner/runner.h"
#include "sandbox/plan.h"
#include "service/callback_policy.h"

#define MAX_ARG_BYTES 65536
#define MAX_ENV_NAME 256

static int bad(struct sb_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(struct sb_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err->code = SB_E_INVALID_ARGUMENT;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

/* A JSON string without NUL bytes (json_string_length counts them, strlen stops). */
static bool plain_string(json_t *v)
{
    return json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v);
}

static int check_keys(json_t *obj, const char *const *allowed, const char *where,
                      struct sb_error *err)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        bool ok = false;
        for (const char *const *a = allowed; *a; a++)
            ok |= !strcmp(key, *a);
        if (!ok)
            return bad(err, "%s%s: unknown field", where, key);
    }
    return 0;
}

static int add_file(struct exec_req *r, const char *name, const char *data, size_t len, bool copy)
{
    struct job_file *f = &r->files[r->nfiles];
    f->name = strdup(name);
    f->data = copy ? malloc(len + 1) : data;
    if (!f->name || !f->data)
        return -1;
    if (copy) {
        memcpy((char *)f->data, data, len);
        ((char *)f->data)[len] = '\0';
    }
    f->len = len;
    r->nfiles++;
    return 0;
}

const char *request_file_name_why(const char *n)
{
    if (!plan_relpath_ok(n))
        return "must be a relative path without '..', '.', empty components or a leading '/'";
    /* Names reach compilers' command lines ({sources}): "-fplugin=x.so" would
     * be an option there, "@x" a file of options (gcc, javac). */
    if (n[0] == '-' || n[0] == '@')
        return "must not start with '-' or '@' (it would be read as a compiler option)";
    return NULL;
}

static int parse_file(json_t *f, size_t i, struct exec_req *r, struct sb_error *err)
{
    static const char *const keys[] = {"name", "content", "encoding", NULL};
    char where[48];
    snprintf(where, sizeof where, "files[%zu].", i);
    if (!json_is_object(f))
        return bad(err, "files[%zu]: must be an object", i);
    if (check_keys(f, keys, where, err) < 0)
        return -1;
    json_t *name = json_object_get(f, "name"), *content = json_object_get(f, "content");
    json_t *enc = json_object_get(f, "encoding");
    if (!plain_string(name))
        return bad(err, "files[%zu].name: must be a string without NUL", i);
    const char *n = json_string_value(name), *why = request_file_name_why(n);
    if (why)
        return bad(err, "files[%zu].name: '%s' %s", i, n, why);
    for (size_t j = 0; j < r->nfiles; j++)
        if (!strcmp(r->files[j].name, n))
            return bad(err, "files[%zu].name: '%s' appears twice", i, n);
    if (!json_is_string(content))
        return bad(err, "files[%zu].content: must be a string", i);
    const char *e = enc ? (json_is_string(enc) ? json_string_value(enc) : "") : "utf8";
    if (!strcmp(e, "utf8") || !strcmp(e, "utf-8"))
        return add_file(r, n, json_string_value(content), json_string_length(content), true) < 0
                   ? bad(err, "out of memory") : 0;
    if (strcmp(e, "base64"))
        return bad(err, "files[%zu].encoding: must be \"utf8\" or \"base64\"", i);
    size_t dlen;
    char *data = base64_decode(json_string_value(content), json_string_length(content), &dlen);
    if (!data)
        return bad(err, "files[%zu].content: not valid base64", i);
    if (add_file(r, n, data, dlen, false) < 0) {
        free(data);
        return bad(err, "out of memory");
    }
    return 0;
}

static int parse_source(json_t *root, const struct sb_config *cfg, struct exec_req *r,
                        struct sb_error *err)
{
    json_t *code = json_object_get(root, "code"), *files = json_object_get(root, "files");
    if (code && files)
        return bad(err, "code, files: give one, not both");
    if (!code && !files)
        return bad(err, "code: required (or files)");
    if (code) {
        if (!json_is_string(code))
            return bad(err, "code: must be a string");
        r->files = calloc(1, sizeof *r->files);
        if (!r->files || add_file(r, r->lang->source, json_string_value(code),
                                  json_string_length(code), true) < 0)
            return bad(err, "out of memory");
        sha256_hex(json_string_value(code), json_string_length(code), r->code_sha256);
        return 0;
    }
    if (!json_is_array(files) || json_array_size(files) == 0)
        return bad(err, "files: must be a non-empty array");
    if (json_array_size(files) > cfg->server.max_files)
        return bad(err, "files: %zu files, at most %llu allowed", json_array_size(files),
                   (unsigned long long)cfg->server.max_files);
    r->files = calloc(json_array_size(files), sizeof *r->files);
    if (!r->files)
        return bad(err, "out of memory");
    size_t i;
    json_t *f;
    json_array_foreach(files, i, f) {
        if (parse_file(f, i, r, err) < 0)
            return -1;
    }
    struct sha256 h;
    uint8_t d[32];
    sha256_init(&h);
    for (size_t k = 0; k < r->nfiles; k++) {
        sha256_update(&h, r->files[k].name, strlen(r->files[k].name) + 1);
        sha256_update(&h, r->files[k].data, r->files[k].len);
        sha256_update(&h, "", 1);
    }
    sha256_final(&h, d);
    for (int k = 0; k < 32; k++)
        snprintf(r->code_sha256 + 2 * k, 3, "%02x", d[k]);
    return 0;
}

/* args or compile_args (name): an array of strings without NUL. */
static int parse_strings(json_t *args, const char *name, const struct sb_config *cfg,
                         char ***out, size_t *n, struct sb_error *err)
{
    if (!args)
        return 0;
    if (!json_is_array(args))
        return bad(err, "%s: must be an array of strings", name);
    if (json_array_size(args) > cfg->server.max_args)
        return bad(err, "%s: at most %llu allowed", name,
                   (unsigned long long)cfg->server.max_args);
    *out = calloc(json_array_size(args) + 1, sizeof **out);
    if (!*out)
        return bad(err, "out of memory");
    size_t i;
    json_t *a;
    json_array_foreach(args, i, a) {
        if (!plain_string(a) || json_string_length(a) > MAX_ARG_BYTES)
            return bad(err, "%s[%zu]: must be a string without NUL, at most %d bytes", name, i,
                       MAX_ARG_BYTES);
        if (!((*out)[*n] = strdup(json_string_value(a))))
            return bad(err, "out of memory");
        (*n)++;
    }
    return 0;
}

static int parse_args(json_t *root, const struct sb_config *cfg, struct exec_req *r,
                      struct sb_error *err)
{
    if (parse_strings(json_object_get(root, "args"), "args", cfg, &r->args, &r->nargs,
                      err) < 0 ||
        parse_strings(json_object_get(root, "compile_args"), "compile_args", cfg,
                      &r->compile_args, &r->ncompile_args, err) < 0)
        return -1;
    if (r->ncompile_args && !r->lang->compile)
        return bad(err, "compile_args: %s has no compile step", r->lang->name);
    return 0;
}

static bool env_name_ok(const char *k)
{
    if (!*k || strlen(k) > MAX_ENV_NAME || isdigit((unsigned char)*k))
        return false;
    for (; *k; k++)
        if (!isalnum((unsigned char)*k) && *k != '_')
            return false;
    return true;
}

static int parse_env(json_t *env, const struct sb_config *cfg, struct exec_req *r,
                     struct sb_error *err)
{
    if (!env)
        return 0;
    if (!json_is_object(env))
        return bad(err, "env: must be an object of string values");
    if (json_object_size(env) > cfg->server.max_args)
        return bad(err, "env: at most %llu variables allowed",
                   (unsigned long long)cfg->server.max_args);
    r->env = calloc(json_object_size(env) + 1, sizeof *r->env);
    if (!r->env)
        return bad(err, "out of memory");
    const char *k;
    json_t *v;
    json_object_foreach(env, k, v) {
        if (!env_name_ok(k))
            return bad(err, "env.%s: names are letters, digits and '_', not starting with a digit",
                       k);
        if (!plain_string(v) || json_string_length(v) > MAX_ARG_BYTES)
            return bad(err, "env.%s: must be a string without NUL, at most %d bytes", k,
                       MAX_ARG_BYTES);
        size_t n = strlen(k) + json_string_length(v) + 2;
        char *kv = malloc(n);
        if (!kv)
            return bad(err, "out of memory");
        snprintf(kv, n, "%s=%s", k, json_string_value(v));
        r->env[r->nenv++] = kv;
    }
    return 0;
}

static int parse_limits(json_t *lim, const struct sb_config *cfg, struct exec_req *r,
                        struct sb_error *err)
{
    struct limit_request lr;
    limit_request_init(&lr);
    if (lim) {
        if (!json_is_object(lim))
            return bad(err, "limits: must be an object");
        static const struct { const char *name; size_t off; } f[] = {
            {"wall_time_ms", offsetof(struct limit_request, wall_time_ms)},
            {"cpu_time_ms", offsetof(struct limit_request, cpu_time_ms)},
            {"memory_mb", offsetof(struct limit_request, memory_mb)},
            {"disk_mb", offsetof(struct limit_request, disk_mb)},
            {"processes", offsetof(struct limit_request, processes)},
            {"output_kb", offsetof(struct limit_request, output_kb)},
            {"file_size_kb", offsetof(struct limit_request, file_size_kb)},
            {"open_files", offsetof(struct limit_request, open_files)},
            {"stack_kb", offsetof(struct limit_request, stack_kb)},
        };
        const char *k;
        json_t *v;
        json_object_foreach(lim, k, v) {
            size_t i = 0;
            while (i < sizeof f / sizeof *f && strcmp(f[i].name, k))
                i++;
            if (i == sizeof f / sizeof *f)
                return bad(err, "limits.%s: unknown limit", k);
            if (!json_is_integer(v) || json_integer_value(v) < 0)
                return bad(err, "limits.%s: must be a non-negative integer", k);
            *(uint64_t *)((char *)&lr + f[i].off) = (uint64_t)json_integer_value(v);
        }
    }
    if (limits_resolve(cfg, &r->lang->limits, &lr, "limits.", &r->limits, err) < 0)
        return -1;
    json_t *j = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
                          "wall_time_ms", (json_int_t)r->limits.wall_ms,
                          "cpu_time_ms", (json_int_t)r->limits.cpu_ms,
                          "memory_mb", (json_int_t)(r->limits.memory_kb / 1024),
                          "disk_mb", (json_int_t)(r->limits.disk_kb / 1024),
                          "processes", (json_int_t)r->limits.processes,
                          "output_kb", (json_int_t)(r->limits.output_bytes / 1024),
                          "file_size_kb", (json_int_t)r->limits.file_size_kb,
                          "open_files", (json_int_t)r->limits.open_files,
                          "stack_kb", (json_int_t)r->limits.stack_kb);
    r->limits_json = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    return r->limits_json ? 0 : bad(err, "out of memory");
}

/* compile_limits' fields for language l: each from its minimum to the
 * compile stage's own, into out's field (scaled to its unit) when out is set. */
struct compile_field {
    const char *name;
    uint64_t min, max, scale;
    uint64_t *out;
};
#define N_COMPILE_FIELDS 3

static void compile_fields(const struct sb_config *cfg, const struct lang *l,
                           struct job_compile_limits *out, struct compile_field *f)
{
    struct sbx_limits own;
    limits_compile(cfg, &l->compile_limits, &own);
    f[0] = (struct compile_field){"wall_time_ms", 1, own.wall_ms, 1, out ? &out->wall_ms : NULL};
    f[1] = (struct compile_field){"cpu_time_ms", 1, own.cpu_ms, 1, out ? &out->cpu_ms : NULL};
    f[2] = (struct compile_field){"memory_mb", 8, own.memory_kb / 1024, 1024,
                                  out ? &out->memory_kb : NULL};
}

/* compile_limits: a compiled language's compile stage, lower than its own. */
static int parse_compile_limits(json_t *lim, const struct sb_config *cfg, struct exec_req *r,
                                struct sb_error *err)
{
    if (!lim)
        return 0;
    if (!json_is_object(lim))
        return bad(err, "compile_limits: must be an object");
    if (!r->lang->compile)
        return bad(err, "compile_limits: %s has no compile step", r->lang->name);
    struct compile_field f[N_COMPILE_FIELDS];
    compile_fields(cfg, r->lang, &r->compile_limits, f);
    const char *k;
    json_t *v;
    json_object_foreach(lim, k, v) {
        size_t i = 0;
        while (i < N_COMPILE_FIELDS && strcmp(f[i].name, k))
            i++;
        if (i == N_COMPILE_FIELDS)
            return bad(err, "compile_limits.%s: unknown limit (wall_time_ms, cpu_time_ms, "
                       "memory_mb)", k);
        json_int_t x = json_is_integer(v) ? json_integer_value(v) : -1;
        if (x < (json_int_t)f[i].min || (uint64_t)x > f[i].max)
            return bad(err, "compile_limits.%s: an integer from %llu to %llu (the compile "
                       "stage's own)", k, (unsigned long long)f[i].min,
                       (unsigned long long)f[i].max);
        *f[i].out = (uint64_t)x * f[i].scale;
    }
    return 0;
}

void request_compile_limits_within(const struct sb_config *cfg, const struct lang *l,
                                   json_t *compile)
{
    struct compile_field f[N_COMPILE_FIELDS];
    compile_fields(cfg, l, NULL, f);
    for (size_t i = 0; i < N_COMPILE_FIELDS; i++) {
        json_t *v = json_object_get(compile, f[i].name);
        json_int_t x = json_integer_value(v);
        if (v && (!l->compile || (uint64_t)x >= f[i].max))
            json_object_del(compile, f[i].name);
        else if (v && (uint64_t)x < f[i].min)
            json_object_set_new(compile, f[i].name, json_integer((json_int_t)f[i].min));
    }
}

static int parse_callback(json_t *cb, const struct sb_config *cfg, enum req_kind kind,
                          struct exec_req *r, struct sb_error *err)
{
    if (!cb)
        return 0;
    if (kind != REQ_ASYNC)
        return bad(err, "callback_url: only for POST /api/executions");
    if (!plain_string(cb) || json_string_length(cb) > 2048)
        return bad(err, "callback_url: must be a string of at most 2048 bytes");
    struct http_url u;
    const char *why;
    if (callback_url_parse(json_string_value(cb), &u, &why) < 0)
        return bad(err, "callback_url: %s", why);
    if (callback_literal_host_allowed(u.host, cfg->server.callbacks_allow_private, &why) == 0)
        return bad(err, "callback_url: %s is a %s, refused by server.callbacks", u.host, why);
    if (!cfg->server.callbacks_allow_private && !strcmp(u.host, "localhost"))
        return bad(err, "callback_url: localhost is refused by server.callbacks");
    r->callback_url = strdup(json_string_value(cb));
    return r->callback_url ? 0 : bad(err, "out of memory");
}

static char *dup_json_string(json_t *v, size_t *len)
{
    *len = json_string_length(v);
    char *d = malloc(*len + 1);
    if (d)
        memcpy(d, json_string_value(v), *len + 1);
    return d;
}

static int parse_cases(json_t *cases, const struct sb_config *cfg, struct exec_req *r,
                       struct sb_error *err)
{
    static const char *const keys[] = {"stdin", "expected_output", NULL};
    if (!cases)
        return 0;
    if (!json_is_array(cases) || json_array_size(cases) == 0)
        return bad(err, "test_cases: must be a non-empty array");
    if (json_array_size(cases) > cfg->server.max_test_cases)
        return bad(err, "test_cases: %zu cases, at most %llu allowed", json_array_size(cases),
                   (unsigned long long)cfg->server.max_test_cases);
    if (r->stdin_data)
        return bad(err, "stdin: not with test_cases (each case has its own stdin)");
    r->cases = calloc(json_array_size(cases), sizeof *r->cases);
    if (!r->cases)
        return bad(err, "out of memory");
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c) {
        char where[48];
        snprintf(where, sizeof where, "test_cases[%zu].", i);
        if (!json_is_object(c))
            return bad(err, "test_cases[%zu]: must be an object", i);
        if (check_keys(c, keys, where, err) < 0)
            return -1;
        json_t *in = json_object_get(c, "stdin"), *want = json_object_get(c, "expected_output");
        if ((in && !json_is_string(in)) || (want && !json_is_string(want)))
            return bad(err, "test_cases[%zu]: stdin and expected_output must be strings", i);
        struct job_case *jc = &r->cases[r->ncases++];
        size_t len = 0;
        jc->stdin_data = in ? dup_json_string(in, &len) : strdup("");
        jc->stdin_len = len;
        if (want) {
            jc->expected = dup_json_string(want, &len);
            jc->expected_len = len;
        }
        if (!jc->stdin_data || (want && !jc->expected))
            return bad(err, "out of memory");
    }
    return 0;
}

/* "return_files": a list of at most 32 patterns (glob_ok). */
static int parse_return_files(json_t *v, struct exec_req *r, struct sb_error *err)
{
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_array(v) || json_array_size(v) > 32)
        return bad(err, "return_files: must be a list of at most 32 patterns");
    if (!(r->return_files = calloc(json_array_size(v) + 1, sizeof *r->return_files)))
        return bad(err, "out of memory");
    for (size_t i = 0; i < json_array_size(v); i++) {
        json_t *p = json_array_get(v, i);
        if (!plain_string(p) || !glob_ok(json_string_value(p)))
            return bad(err, "return_files[%zu]: must be a relative pattern (1-256 bytes, no "
                       "'.' or '..' component), like \"*.png\" or \"out/**\"", i);
        if (!(r->return_files[i] = strdup(json_string_value(p))))
            return bad(err, "out of memory");
        r->nreturn_files++;
    }
    return 0;
}

int request_isolation(json_t *v, const struct sb_config *cfg, enum sbx_isolation *out,
                      struct sb_error *err)
{
    const char *name = cfg->isolation;
    if (v && !json_is_null(v)) {
        if (!plain_string(v))
            return bad(err, "isolation: must be a string");
        name = json_string_value(v);
    }
    if (!strcmp(name, "namespaces")) {
        *out = SBX_ISO_NAMESPACES;
        return 0;
    }
    if (strcmp(name, "microvm"))
        return bad(err, "isolation: '%.32s' is not namespaces or microvm", name);
    if (!cfg->microvm.enabled)
        return bad(err, "isolation: microvm is not enabled on this server");
    *out = SBX_ISO_MICROVM;
    return 0;
}

int request_network(json_t *v, const struct sb_config *cfg, struct net_policy **out,
                    struct sb_error *err)
{
    static const char *const keys[] = {"enabled", "allow", NULL};
    *out = NULL;
    if (!v || json_is_null(v) || json_is_false(v))
        return 0;
    if (json_is_true(v))
        v = json_pack("{s:b}", "enabled", 1);
    else
        json_incref(v);
    int rc = -1;
    json_t *en = json_object_get(v, "enabled"), *allow = json_object_get(v, "allow");
    const char *list[64];
    size_t n = 0;
    if (!json_is_object(v))
        bad(err, "network: must be an object {\"enabled\": true, \"allow\": [...]}");
    else if (check_keys(v, keys, "network.", err) < 0)
        ;
    else if (en && !json_is_boolean(en))
        bad(err, "network.enabled: must be true or false");
    else if (allow && (!json_is_array(allow) || json_array_size(allow) > 64))
        bad(err, "network.allow: must be a list of at most 64 entries");
    else if (!json_is_true(en) && allow && json_array_size(allow))
        bad(err, "network.allow: needs \"enabled\": true");
    else if (!json_is_true(en))
        rc = 0;
    else if (!cfg->security.enable_network)
        bad(err, "network: this server does not allow network access "
                 "(sandbox.security.enable_network is false)");
    else {
        rc = 0;
        for (size_t i = 0; allow && i < json_array_size(allow) && rc == 0; i++) {
            json_t *e = json_array_get(allow, i);
            if (!json_is_string(e) || !json_string_length(e) || json_string_length(e) > 300)
                rc = bad(err, "network.allow[%zu]: must be an entry (see docs/network.md)", i);
            else
                list[n++] = json_string_value(e);
        }
        if (rc == 0 && !(*out = calloc(1, sizeof **out)))
            rc = bad(err, "out of memory");
        if (rc == 0 && runner_net_narrow(cfg, list, n, *out, err) < 0) {
            free(*out);
            *out = NULL;
            rc = -1;
        }
    }
    json_decref(v);
    return rc;
}

static int parse_root(json_t *root, const struct sb_config *cfg,
                      const struct lang_registry *langs, enum req_kind kind,
                      struct exec_req *r, struct sb_error *err)
{
    static const char *const keys[] = {"language", "code", "files", "stdin", "args",
                                       "compile_args", "env", "limits", "compile_limits",
                                       "callback_url", "test_cases", "return_files", "network",
                                       "isolation", NULL};
    if (!json_is_object(root))
        return bad(err, "body: must be a JSON object");
    if (check_keys(root, keys, "", err) < 0)
        return -1;
    json_t *lang = json_object_get(root, "language");
    if (!lang)
        return bad(err, "language: required");
    if (!plain_string(lang))
        return bad(err, "language: must be a string");
    r->lang = lang_find(langs, json_string_value(lang));
    if (!r->lang) {
        err->code = SB_E_UNKNOWN_LANGUAGE;
        snprintf(err->msg, sizeof err->msg, "language: '%.64s' is not available (see GET "
                 "/api/languages)", json_string_value(lang));
        return -1;
    }
    if (parse_source(root, cfg, r, err) < 0)
        return -1;
    json_t *in = json_object_get(root, "stdin");
    if (in && !json_is_null(in)) {
        if (!json_is_string(in))
            return bad(err, "stdin: must be a string");
        r->stdin_len = json_string_length(in);
        if (!(r->stdin_data = malloc(r->stdin_len + 1)))
            return bad(err, "out of memory");
        memcpy(r->stdin_data, json_string_value(in), r->stdin_len + 1);
    }
    if (parse_args(root, cfg, r, err) < 0 ||
        parse_env(json_object_get(root, "env"), cfg, r, err) < 0 ||
        parse_limits(json_object_get(root, "limits"), cfg, r, err) < 0 ||
        parse_compile_limits(json_object_get(root, "compile_limits"), cfg, r, err) < 0 ||
        parse_callback(json_object_get(root, "callback_url"), cfg, kind, r, err) < 0 ||
        parse_cases(json_object_get(root, "test_cases"), cfg, r, err) < 0)
        return -1;
    if (parse_return_files(json_object_get(root, "return_files"), r, err) < 0)
        return -1;
    if (request_network(json_object_get(root, "network"), cfg, &r->net_policy, err) < 0 ||
        request_isolation(json_object_get(root, "isolation"), cfg, &r->isolation, err) < 0)
        return -1;
    if (r->nreturn_files && r->ncases)
        return bad(err, "return_files: not with test_cases (each case's sandbox is its own)");
    if (r->ncases && (kind == REQ_STREAM || kind == REQ_INTERACTIVE))
        return bad(err, "test_cases: not with streaming (POST /api/execute returns them all)");
    r->interactive = kind == REQ_INTERACTIVE;
    return 0;
}


int exec_req_from_json(json_t *root, const struct sb_config *cfg,
                       const struct lang_registry *langs, enum req_kind kind,
                       struct exec_req *out, struct sb_error *err)
{
    memset(out, 0, sizeof *out);
    int rc = parse_root(root, cfg, langs, kind, out, err);
    if (rc < 0)
        exec_req_free(out);
    else
        out->source = json_incref(root);
    return rc;
}

int exec_req_parse(const char *body, size_t len, const struct sb_config *cfg,
                   const struct lang_registry *langs, enum req_kind kind,
                   struct exec_req *out, struct sb_error *err)
{
    memset(out, 0, sizeof *out);
    json_error_t je;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
    if (!root)
        return bad(err, "body: invalid JSON at line %d column %d: %s", je.line, je.column,
                   je.text);
    int rc = exec_req_from_json(root, cfg, langs, kind, out, err);
    json_decref(root);
    return rc;
}


