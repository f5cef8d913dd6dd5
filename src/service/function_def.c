/* A function's deploy spec: validated, turned into a runnable version (its files, environment, limits and network through the execute request's own validation), and described without its secrets. */
#include <ctype.h>
#include <regex.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "frontend/request.h"
#include "service/function_internal.h"
#include "service/service.h"

extern const char sb_fnrt_python[];
extern const char sb_fnrt_javascript[];

/* A 400 naming the field: `return bad(err, "field: why")`. */
#define bad(err, ...) sb_fail(err, SB_E_INVALID_ARGUMENT, __VA_ARGS__)

int fn_name_ok(const char *name, struct sb_error *err)
{
    size_t n = strlen(name);
    bool ok = n >= 1 && n <= FN_NAME_MAX && (islower((unsigned char)name[0]) ||
                                             isdigit((unsigned char)name[0]));
    for (size_t i = 0; ok && i < n; i++)
        ok = islower((unsigned char)name[i]) || isdigit((unsigned char)name[i]) ||
             name[i] == '-' || name[i] == '_';
    if (!ok)
        return bad(err, "name: '%.80s' must be 1-%d characters of a-z, 0-9, '-' and '_', "
                   "starting with a letter or digit", name, FN_NAME_MAX);
    return 0;
}

static bool is_native(const char *lang)
{
    return !strcmp(lang, "python") || !strcmp(lang, "javascript");
}

/* Whether source defines the conventional handler (python: def handler;
 * javascript: an exported handler). */
static bool defines_handler(const char *lang, const char *src)
{
    const char *py = "^[ \t]*(async[ \t]+)?def[ \t]+handler[ \t]*\\(";
    const char *js = "(export[ \t]+(async[ \t]+)?function[ \t]*\\*?[ \t]*handler[^A-Za-z0-9_$])|"
                     "(export[ \t]+(const|let|var)[ \t]+handler[^A-Za-z0-9_$])|"
                     "(exports\\.handler[ \t]*=)|(module\\.exports[ \t]*=)";
    regex_t re;
    if (regcomp(&re, !strcmp(lang, "python") ? py : js, REG_EXTENDED | REG_NEWLINE | REG_NOSUB))
        return false;
    bool found = regexec(&re, src, 0, NULL, 0) == 0;
    regfree(&re);
    return found;
}

static bool is_esm(const char *src)
{
    regex_t re;
    if (regcomp(&re, "^[ \t]*(export|import)[ \t{*]", REG_EXTENDED | REG_NEWLINE | REG_NOSUB))
        return false;
    bool found = regexec(&re, src, 0, NULL, 0) == 0;
    regfree(&re);
    return found;
}

/* The entry file's source text in spec (code, or files[0] when utf8), or NULL. */
static const char *entry_source(json_t *spec)
{
    json_t *code = json_object_get(spec, "code");
    if (json_is_string(code))
        return json_string_value(code);
    json_t *f0 = json_array_get(json_object_get(spec, "files"), 0);
    json_t *enc = json_object_get(f0, "encoding");
    if (enc && (!json_is_string(enc) || strcmp(json_string_value(enc), "utf8")))
        return NULL;
    return json_string_value(json_object_get(f0, "content"));
}

static int get_uint(json_t *spec, const char *key, uint64_t def, uint64_t lo, uint64_t hi,
                    uint64_t *out, struct sb_error *err)
{
    json_t *v = json_object_get(spec, key);
    if (!v || json_is_null(v)) {
        *out = def;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < (json_int_t)lo ||
        (uint64_t)json_integer_value(v) > hi)
        return bad(err, "%s: must be an integer from %llu to %llu", key,
                   (unsigned long long)lo, (unsigned long long)hi);
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

static int get_bool(json_t *spec, const char *key, bool *out, struct sb_error *err)
{
    json_t *v = json_object_get(spec, key);
    if (!v || json_is_null(v))
        return *out = false, 0;
    if (!json_is_boolean(v))
        return bad(err, "%s: must be true or false", key);
    *out = json_is_true(v);
    return 0;
}

/* env: {"K": "v"} or {"K": {"value": "v", "secret": true}} -> plain values. */
static int plain_env(json_t *env, json_t **out, struct sb_error *err)
{
    *out = json_object();
    if (!*out)
        return bad(err, "out of memory");
    if (!env || json_is_null(env))
        return 0;
    if (!json_is_object(env))
        return bad(err, "env: must be an object of strings or {\"value\", \"secret\"} objects");
    const char *k;
    json_t *v;
    json_object_foreach(env, k, v) {
        json_t *val = v;
        if (json_is_object(v)) {
            json_t *sec = json_object_get(v, "secret");
            val = json_object_get(v, "value");
            if (json_object_size(v) != (size_t)(1 + (sec != NULL)) || !json_is_string(val) ||
                (sec && !json_is_boolean(sec)))
                return bad(err, "env.%.64s: must be a string or {\"value\": string, \"secret\": "
                           "bool}", k);
        }
        if (!json_is_string(val))
            return bad(err, "env.%.64s: must be a string or {\"value\": string, \"secret\": "
                       "bool}", k);
        if (!strncmp(k, "SOULBOX_", 8))
            return bad(err, "env.%.64s: SOULBOX_ variables are the function's context", k);
        json_object_set(*out, k, val);
    }
    return 0;
}

/* The user's file for code given inline: main.py, or index.mjs / index.cjs. */
static const char *code_file(const char *lang, const char *code)
{
    if (!strcmp(lang, "python"))
        return "main.py";
    return is_esm(code) ? "index.mjs" : "index.cjs";
}

static json_t *file_obj(const char *name, const char *content)
{
    return json_pack("{s:s,s:s}", "name", name, "content", content);
}

/* The execute request that runs the version: language, files (the runtime
 * first in handler mode), env, limits (wall = timeout_ms), network, isolation. */
static json_t *exec_json(json_t *spec, const char *lang, enum fn_mode mode, json_t *env,
                         uint64_t timeout_ms, struct sb_error *err)
{
    json_t *limits = json_deep_copy(json_object_get(spec, "limits"));
    if (limits && !json_is_object(limits)) {
        json_decref(limits);
        return bad(err, "limits: must be an object"), NULL;
    }
    if (!limits)
        limits = json_object();
    if (json_object_get(limits, "wall_time_ms")) {
        json_decref(limits);
        return bad(err, "limits.wall_time_ms: a function's is timeout_ms"), NULL;
    }
    json_object_set_new(limits, "wall_time_ms", json_integer((json_int_t)timeout_ms));
    json_t *x = json_pack("{s:s,s:o,s:o}", "language", lang, "env", json_incref(env),
                          "limits", limits);
    static const char *const pass[] = {"network", "isolation", NULL};
    for (size_t i = 0; x && pass[i]; i++)
        if (json_object_get(spec, pass[i]))
            json_object_set(x, pass[i], json_object_get(spec, pass[i]));
    json_t *code = json_object_get(spec, "code"), *files = json_object_get(spec, "files");
    if (!x)
        return bad(err, "out of memory"), NULL;
    if (mode == FN_STDIO) {
        if (code)
            json_object_set(x, "code", code);
        if (files)
            json_object_set(x, "files", files);
        return x;
    }
    json_t *all = json_array();
    bool py = !strcmp(lang, "python");
    json_array_append_new(all, file_obj(py ? "__soulbox_fn__.py" : "__soulbox_fn__.cjs",
                                        py ? sb_fnrt_python : sb_fnrt_javascript));
    if (json_is_string(code)) {
        json_array_append_new(all, file_obj(code_file(lang, json_string_value(code)),
                                            json_string_value(code)));
    } else if (json_is_array(files)) {
        size_t i;
        json_t *f;
        json_array_foreach(files, i, f)
            json_array_append(all, f);
    } else if (code) {
        json_array_append(all, code); /* the execute validation names the bad type */
    }
    json_object_set_new(x, "files", all);
    return x;
}

/* "module.func" -> the module's file among the version's files and func. */
static int find_handler(struct fn_version *v, const char *handler, struct sb_error *err)
{
    const char *dot = strrchr(handler, '.');
    if (!dot || dot == handler || !dot[1] || strlen(dot + 1) >= sizeof v->func)
        return bad(err, "handler: '%.100s' must be \"<module>.<function>\" (e.g. main.handler)",
                   handler);
    snprintf(v->func, sizeof v->func, "%s", dot + 1);
    for (const char *c = v->func; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '_' && *c != '$')
            return bad(err, "handler: '%.64s' is not a function name", v->func);
    size_t mlen = (size_t)(dot - handler);
    static const char *const exts[] = {".py", ".mjs", ".js", ".cjs"};
    for (size_t i = 1; i < v->req.nfiles; i++) { /* [0] is the runtime */
        const char *f = v->req.files[i].name;
        if (strncmp(f, handler, mlen))
            continue;
        for (size_t e = 0; e < sizeof exts / sizeof *exts; e++)
            if (!strcmp(f + mlen, exts[e])) {
                snprintf(v->module, sizeof v->module, "%s", f);
                return 0;
            }
    }
    return bad(err, "handler: no file for module '%.*s' among the files", (int)mlen, handler);
}

/* "<stem of the first file>.handler": main.handler, index.handler, app.handler. */
static const char *default_handler(const struct fn_version *v, char *out, size_t len)
{
    const char *f = v->req.nfiles > 1 ? v->req.files[1].name : "main.py";
    const char *dot = strrchr(f, '.');
    snprintf(out, len, "%.*s.handler", (int)(dot ? dot - f : (ptrdiff_t)strlen(f)), f);
    return out;
}

/* The mode and handler: an explicit "handler", none ("" or stdio), or the
 * conventional one when the entry defines it. */
static int pick_mode(struct fn_version *v, json_t *spec, const char *lang,
                     const char **handler, struct sb_error *err)
{
    json_t *h = json_object_get(spec, "handler");
    if (h && !json_is_null(h) && !json_is_string(h))
        return bad(err, "handler: must be a string (\"main.handler\") or \"\" for stdio");
    *handler = h ? json_string_value(h) : NULL;
    if (*handler && !**handler) {
        v->mode = FN_STDIO;
        return 0;
    }
    if (*handler) {
        if (!is_native(lang))
            return bad(err, "handler: handlers are python or javascript; in %s the event is "
                       "the program's stdin and its stdout the body (omit handler)", lang);
        v->mode = FN_HANDLER;
        return 0;
    }
    const char *src = entry_source(spec);
    v->mode = is_native(lang) && src && defines_handler(lang, src) ? FN_HANDLER : FN_STDIO;
    return 0;
}

static int parse_schedule(struct fn_version *v, json_t *s, struct sb_error *err)
{
    if (!s || json_is_null(s))
        return 0;
    json_t *arr = json_is_string(s) ? json_pack("[O]", s) : json_incref(s);
    int rc = 0;
    if (!json_is_array(arr) || json_array_size(arr) > FN_MAX_SCHEDULES)
        rc = bad(err, "schedule: a cron expression or an array of at most %d", FN_MAX_SCHEDULES);
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e) {
        char why[200];
        if (rc < 0)
            break;
        if (!json_is_string(e))
            rc = bad(err, "schedule[%zu]: must be a cron expression", i);
        else if (cron_parse(json_string_value(e), &v->sched[i], why, sizeof why) < 0)
            rc = bad(err, "schedule[%zu]: %s", i, why);
        else if (!(v->sched_expr[i] = strdup(json_string_value(e))))
            rc = bad(err, "out of memory");
        else
            v->nsched = i + 1;
    }
    json_decref(arr);
    return rc;
}

static int check_keys(json_t *spec, struct sb_error *err)
{
    static const char *const keys[] = {
        "name", "language", "code", "files", "handler", "env", "limits", "network",
        "isolation", "reuse", "min_instances", "max_instances", "concurrency", "timeout_ms",
        "idle_timeout_ms", "schedule", "public", "description", NULL};
    const char *k;
    json_t *val;
    json_object_foreach(spec, k, val) {
        size_t i = 0;
        while (keys[i] && strcmp(keys[i], k))
            i++;
        if (!keys[i])
            return bad(err, "%.64s: unknown field", k);
    }
    json_t *d = json_object_get(spec, "description");
    if (d && !json_is_null(d) && (!json_is_string(d) || json_string_length(d) > 1024))
        return bad(err, "description: must be a string of at most 1024 bytes");
    return 0;
}

/* Instances, concurrency, timeouts. */
static int parse_scaling(struct service *svc, struct fn_version *v, json_t *spec,
                         struct sb_error *err)
{
    const struct sb_config *cfg = svc->cfg;
    uint64_t max_wall = cfg->security.execution_timeout * 1000, u;
    if (get_bool(spec, "reuse", &v->reuse, err) < 0 ||
        get_bool(spec, "public", &v->public_, err) < 0 ||
        get_uint(spec, "timeout_ms", cfg->defaults.wall_time_ms < max_wall ? cfg->defaults.wall_time_ms
                                                                      : max_wall,
                 1, max_wall, &v->timeout_ms, err) < 0 ||
        get_uint(spec, "idle_timeout_ms", cfg->functions.idle_timeout_ms, 100,
                 30 * 86400000ull, &v->idle_ms, err) < 0)
        return -1;
    if (get_uint(spec, "max_instances", cfg->functions.max_instances < 10
                                            ? cfg->functions.max_instances : 10,
                 1, cfg->functions.max_instances, &u, err) < 0)
        return -1;
    v->max_instances = (unsigned)u;
    if (get_uint(spec, "min_instances", 0, 0, v->max_instances, &u, err) < 0)
        return -1;
    v->min_instances = (unsigned)u;
    if (get_uint(spec, "concurrency", 1, 1, FN_CONCURRENCY_MAX, &u, err) < 0)
        return -1;
    v->concurrency = (unsigned)u;
    if (v->reuse && v->mode != FN_HANDLER)
        return bad(err, "reuse: warm instances run a handler (python or javascript "
                   "defining handler(event, context))");
    if (!v->reuse && v->min_instances)
        return bad(err, "min_instances: only with reuse (without it every invocation gets a "
                   "fresh sandbox from the language's warm pool)");
    json_t *cpu = json_object_get(json_object_get(spec, "limits"), "cpu_time_ms");
    if (v->reuse && cpu && !json_is_null(cpu))
        return bad(err, "limits.cpu_time_ms: with reuse an instance's CPU serves all its "
                   "invocations; each one is bounded by timeout_ms");
    if (!v->reuse && v->concurrency > 1)
        return bad(err, "concurrency: only with reuse (a fresh sandbox serves one invocation)");
    return 0;
}

int fn_version_build(struct service *svc, json_t *spec, unsigned number,
                     struct fn_version **out, struct sb_error *err)
{
    if (!json_is_object(spec))
        return bad(err, "body: must be a JSON object");
    if (check_keys(spec, err) < 0)
        return -1;
    json_t *lang = json_object_get(spec, "language");
    const struct lang *l = json_is_string(lang) ? lang_find(&svc->registry, json_string_value(lang))
                                                : NULL;
    if (!lang)
        return bad(err, "language: required");
    if (!l) {
        sb_fail(err, SB_E_UNKNOWN_LANGUAGE, "language: '%.64s' is not available (see GET "
                "/api/languages)", json_is_string(lang) ? json_string_value(lang) : "?");
        return -1;
    }
    struct fn_version *v = calloc(1, sizeof *v);
    if (!v)
        return bad(err, "out of memory");
    list_init(&v->instances);
    list_init(&v->queue);
    list_init(&v->jobs);
    v->number = number;
    v->refs = 1;
    const char *handler = NULL;
    char def_handler[300];
    json_t *env = NULL, *x = NULL;
    int rc = pick_mode(v, spec, l->name, &handler, err);
    if (rc == 0)
        rc = parse_scaling(svc, v, spec, err);
    if (rc == 0)
        rc = plain_env(json_object_get(spec, "env"), &env, err);
    if (rc == 0 && !(x = exec_json(spec, l->name, v->mode, env, v->timeout_ms, err)))
        rc = -1;
    if (rc == 0)
        rc = exec_req_from_json(x, svc->cfg, &svc->registry, REQ_SYNC, &v->req, err);
    if (rc == 0 && v->mode == FN_HANDLER)
        rc = find_handler(v, handler ? handler : default_handler(v, def_handler,
                                                                   sizeof def_handler), err);
    if (rc == 0)
        rc = parse_schedule(v, json_object_get(spec, "schedule"), err);
    json_decref(env);
    json_decref(x);
    if (rc < 0) {
        fn_version_free(v);
        return -1;
    }
    v->spec = json_incref(spec);
    *out = v;
    return 0;
}

void fn_version_free(struct fn_version *v)
{
    if (!v)
        return;
    exec_req_free(&v->req);
    json_decref(v->spec);
    free(v->init_error);
    for (size_t i = 0; i < v->nsched; i++)
        free(v->sched_expr[i]);
    free(v);
}

/* env with secrets' values hidden. */
static json_t *env_json(json_t *env)
{
    json_t *o = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(env, k, v) {
        if (json_is_object(v) && json_is_true(json_object_get(v, "secret")))
            json_object_set_new(o, k, json_pack("{s:b}", "secret", 1));
        else
            json_object_set(o, k, json_is_object(v) ? json_object_get(v, "value") : v);
    }
    return o;
}

json_t *fn_version_json(const struct fn_version *v)
{
    char at[40];
    util_iso_time(v->created_ms, at, sizeof at);
    json_t *files = json_array(), *sched = json_array();
    for (size_t i = v->mode == FN_HANDLER ? 1 : 0; i < v->req.nfiles; i++)
        json_array_append_new(files, json_string(v->req.files[i].name));
    for (size_t i = 0; i < v->nsched; i++)
        json_array_append_new(sched, json_string(v->sched_expr[i]));
    json_t *lim = json_loads(v->req.limits_json ? v->req.limits_json : "{}", 0, NULL);
    json_object_del(lim, "wall_time_ms");
    if (v->reuse)       /* not applied per invocation (timeout_ms is) */
        json_object_del(lim, "cpu_time_ms");
    char handler[330];
    snprintf(handler, sizeof handler, "%.*s.%s",
             (int)(strrchr(v->module, '.') ? strrchr(v->module, '.') - v->module : 0),
             v->module, v->func);
    json_t *desc = json_object_get(v->spec, "description");
    json_t *o = json_pack(
        "{s:I,s:s,s:s,s:s,s:s,s:o,s:b,s:b,s:I,s:I,s:I,s:I,s:I,s:o,s:o,s:o,s:o,s:o,s:s,s:s}",
        "version", (json_int_t)v->number, "created_at", at, "created_by", v->created_by,
        "language", v->req.lang->name, "mode", v->mode == FN_HANDLER ? "handler" : "stdio",
        "handler", v->mode == FN_HANDLER ? json_string(handler) : json_null(),
        "reuse", v->reuse, "public", v->public_,
        "min_instances", (json_int_t)v->min_instances,
        "max_instances", (json_int_t)v->max_instances,
        "concurrency", (json_int_t)v->concurrency, "timeout_ms", (json_int_t)v->timeout_ms,
        "idle_timeout_ms", (json_int_t)v->idle_ms, "limits", lim ? lim : json_object(),
        "env", env_json(json_object_get(v->spec, "env")), "files", files, "schedule", sched,
        "network", json_incref(json_object_get(v->spec, "network")
                               ? json_object_get(v->spec, "network") : json_null()),
        "isolation", v->req.isolation == SBX_ISO_MICROVM ? "microvm" : "namespaces",
        "code_sha256", v->req.code_sha256);
    if (o)
        json_object_set(o, "description", json_is_string(desc) ? desc : json_null());
    return o;
}
