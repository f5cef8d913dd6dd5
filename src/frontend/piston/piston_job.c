/* Piston requests -> the native execute request (validated in Piston's order), and results -> Piston's run/compile objects. */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base64.h"
#include "common/buf.h"
#include "frontend/piston/piston.h"
#include "frontend/request.h"
#include "runner/result.h"
#include "service/result_json.h"

static int say(char *msg, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int say(char *msg, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, len, fmt, ap);
    va_end(ap);
    return -1;
}

static bool nonempty_string(json_t *v)
{
    return json_is_string(v) && json_string_length(v) > 0;
}

/* Only files whose encoding is absent or utf8 are code files (Piston). */
static bool is_code(json_t *f)
{
    json_t *e = json_object_get(f, "encoding");
    return !e || (json_is_string(e) && !strcmp(json_string_value(e), "utf8"));
}

/* The name of an unnamed main file: the language's source name, or for Java
 * its public class's (Piston runs Java's single-file launcher). */
static char *main_name(const struct lang *l, const char *code)
{
    if (strcmp(l->name, "java"))
        return strdup(l->source);
    for (const char *p = strstr(code, "public "); p; p = strstr(p + 1, "public ")) {
        const char *c = p + 7;
        while (!strncmp(c, "final ", 6) || !strncmp(c, "abstract ", 9) || *c == ' ')
            c += *c == ' ' ? 1 : !strncmp(c, "final ", 6) ? 6 : 9;
        if (strncmp(c, "class ", 6))
            continue;
        for (c += 6; *c == ' ';)
            c++;
        size_t n = 0;
        while (isalnum((unsigned char)c[n]) || c[n] == '_' || c[n] == '$')
            n++;
        char *name = n ? malloc(n + 6) : NULL;
        if (name)
            snprintf(name, n + 6, "%.*s.java", (int)n, c);
        return name ? name : strdup(l->source);
    }
    return strdup(l->source);
}

/* hex -> base64 (the native request takes utf8 and base64). */
static char *hex_to_base64(const char *hex, size_t len)
{
    size_t n = len / 2;
    unsigned char *raw = malloc(n + 1);
    if (!raw)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        sscanf(hex + 2 * i, "%2x", &v);
        raw[i] = (unsigned char)v;
    }
    char *b = base64_encode(raw, n);
    free(raw);
    return b;
}

static json_t *native_file(json_t *f, size_t i, const struct lang *l, bool main)
{
    json_t *name = json_object_get(f, "name"), *content = json_object_get(f, "content");
    const char *enc = json_string_value(json_object_get(f, "encoding"));
    char *nm = NULL;
    if (json_is_string(name) && json_string_length(name))
        nm = strdup(json_string_value(name));
    else if (main)
        nm = main_name(l, json_string_value(content));
    else if ((nm = malloc(32)))
        snprintf(nm, 32, "file%zu.code", i);
    json_t *o = json_pack("{s:s?}", "name", nm);
    free(nm);
    if (enc && !strcmp(enc, "base64")) {
        json_object_set(o, "content", content);
        json_object_set_new(o, "encoding", json_string("base64"));
    } else if (enc && !strcmp(enc, "hex")) {
        char *b = hex_to_base64(json_string_value(content), json_string_length(content));
        json_object_set_new(o, "content", json_string(b ? b : ""));
        json_object_set_new(o, "encoding", json_string("base64"));
        free(b);
    } else {
        json_object_set(o, "content", content);
    }
    return o;
}

/* files: the first code file goes first (SoulBox's entry point). */
static json_t *native_files(json_t *files, const struct lang *l)
{
    json_t *out = json_array();
    size_t i, main_i = 0;
    json_t *f;
    json_array_foreach(files, i, f) {
        if (is_code(f)) {
            main_i = i;
            break;
        }
    }
    json_array_append_new(out, native_file(json_array_get(files, main_i), main_i, l, true));
    json_array_foreach(files, i, f) {
        if (i != main_i)
            json_array_append_new(out, native_file(f, i, l, false));
    }
    return out;
}

/* The limit loop of Piston's validation (rules 7-9), with SoulBox's rules:
 * a negative memory limit and 0 mean "the default". The run's go into
 * limits, the compile stage's into compile (SoulBox's names, unbounded:
 * request_compile_limits_within bounds them). */
static int check_limits(json_t *body, const struct sb_config *cfg, json_t *limits,
                        json_t *compile, char *msg, size_t len)
{
    const double wall = (double)cfg->security.execution_timeout * 1000.0;
    const double cpu = (double)cfg->maximums.cpu_time_ms;
    const double mem = (double)cfg->security.max_memory_mb * 1048576.0;
    static const struct { const char *name; int kind; const char *native; bool run; } f[] = {
        {"compile_memory_limit", 2, "memory_mb", false}, {"run_memory_limit", 2, "memory_mb", true},
        {"compile_timeout", 0, "wall_time_ms", false},   {"run_timeout", 0, "wall_time_ms", true},
        {"compile_cpu_time", 1, "cpu_time_ms", false},   {"run_cpu_time", 1, "cpu_time_ms", true},
    };
    for (size_t i = 0; i < sizeof f / sizeof *f; i++) {
        json_t *v = json_object_get(body, f[i].name);
        if (!v || json_is_false(v) || json_is_null(v) || (json_is_string(v) && !json_string_length(v)))
            continue;
        if (!json_is_number(v))
            return say(msg, len, "If specified, %s must be a number", f[i].name);
        double x = json_number_value(v), ceiling = f[i].kind == 0 ? wall : f[i].kind == 1 ? cpu : mem;
        if (x == 0 || (f[i].kind == 2 && x < 0))
            continue;
        if (ceiling > 0 && x > ceiling)
            return say(msg, len, "%s cannot exceed the configured limit of %.0f", f[i].name,
                       ceiling);
        if (x < 0)
            return say(msg, len, "%s must be non-negative", f[i].name);
        double native = f[i].kind == 2 ? ceil(x / 1048576.0) : ceil(x);
        json_object_set_new(f[i].run ? limits : compile, f[i].native,
                            json_integer((json_int_t)native));
    }
    return 0;
}

static int check_files(json_t *files, char *msg, size_t len)
{
    if (!json_is_array(files))
        return say(msg, len, "files is required as an array");
    size_t i;
    json_t *f;
    json_array_foreach(files, i, f) {
        if (!json_is_string(json_object_get(f, "content")))
            return say(msg, len, "files[%zu].content is required as a string", i);
    }
    return 0;
}

static bool has_code_file(json_t *files)
{
    size_t i;
    json_t *f;
    json_array_foreach(files, i, f) {
        if (is_code(f))
            return true;
    }
    return false;
}

/* stdin with its trailing newline (Piston appends one when missing). */
static json_t *native_stdin(json_t *in)
{
    const char *s = json_is_string(in) ? json_string_value(in) : "";
    size_t n = json_is_string(in) ? json_string_length(in) : 0;
    if (n && s[n - 1] == '\n')
        return json_incref(in);
    char *d = malloc(n + 2);
    if (!d)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\n';
    json_t *v = json_stringn(d, n + 1);
    free(d);
    return v;
}

int piston_job_build(json_t *body, const struct piston_rt *rts, size_t nrts,
                     const struct sb_config *cfg, bool interactive, struct piston_job *job,
                     char *msg, size_t msglen)
{
    memset(job, 0, sizeof *job);
    if (!json_is_object(body))
        return say(msg, msglen, "language is required as a string");
    json_t *lang = json_object_get(body, "language"), *ver = json_object_get(body, "version");
    json_t *files = json_object_get(body, "files"), *in = json_object_get(body, "stdin");
    json_t *args = json_object_get(body, "args");
    if (!nonempty_string(lang))
        return say(msg, msglen, "language is required as a string");
    if (!nonempty_string(ver))
        return say(msg, msglen, "version is required as a string");
    if (check_files(files, msg, msglen) < 0)
        return -1;
    job->rt = piston_resolve(rts, nrts, json_string_value(lang), json_string_value(ver));
    if (!job->rt)
        return say(msg, msglen, "%s-%s runtime is unknown", json_string_value(lang),
                   json_string_value(ver));
    if (!has_code_file(files))
        return say(msg, msglen, "files must include at least one utf8 encoded file");
    json_t *limits = json_object(), *compile = json_object();
    if (check_limits(body, cfg, limits, compile, msg, msglen) < 0) {
        json_decref(limits);
        json_decref(compile);
        return -1;
    }
    if (!interactive && in && !json_is_null(in) && !json_is_string(in)) {
        json_decref(limits);
        json_decref(compile);
        return say(msg, msglen, "stdin must be a string");
    }
    request_compile_limits_within(cfg, job->rt->lang, compile);
    job->native = json_pack("{s:s,s:o,s:o}", "language", job->rt->lang->name, "files",
                            native_files(files, job->rt->lang), "limits", limits);
    if (job->native && json_object_size(compile))
        json_object_set(job->native, "compile_limits", compile);
    json_decref(compile);
    if (!job->native)
        return say(msg, msglen, "out of memory");
    if (!interactive)
        json_object_set_new(job->native, "stdin", native_stdin(in));
    if (json_is_array(args))
        json_object_set(job->native, "args", args);
    else if (json_is_string(args) && json_string_length(args))
        return say(msg, msglen, "args must be an array of strings");
    return 0;
}

/* ---- results ---- */

static const char *const signal_names[65] = {
    NULL, "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE",
    "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT",
    "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU",
    "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS",
};

int piston_signal_number(const char *name)
{
    if (!name)
        return -1;
    for (int i = 1; i < 32; i++)
        if (!strcmp(signal_names[i], name))
            return i;
    if (!strcmp(name, "SIGRTMIN"))
        return 34;
    if (!strcmp(name, "SIGRTMAX"))
        return 64;
    int n;
    char tail;
    if (sscanf(name, "SIGRTMIN+%d%c", &n, &tail) == 1 && n >= 1 && n <= 15)
        return 34 + n;
    if (sscanf(name, "SIGRTMAX-%d%c", &n, &tail) == 1 && n >= 1 && n <= 14)
        return 64 - n;
    return -1;
}

/* Piston's view of a stage: status, message, code, signal. */
struct verdict {
    const char *status;            /* NULL: success */
    char message[300];
    long code;                     /* -1: null */
    const char *signal;            /* NULL: null */
};

static void verdict_of(const struct stage_result *st, struct verdict *v)
{
    memset(v, 0, sizeof *v);
    v->code = -1;
    int code = st->exited && !st->signal ? st->exit_code : st->signal ? 128 + st->signal : 1;
    switch (st->status) {
    case SB_ST_OK:
        v->code = st->exited ? st->exit_code : 0;
        return;
    case SB_ST_TIME_LIMIT:
        v->status = "TO", v->signal = "SIGKILL";
        snprintf(v->message, sizeof v->message, "%s", st->cause == SBX_CAUSE_CPU
                 ? "Time limit exceeded" : "Time limit exceeded (wall clock)");
        return;
    case SB_ST_OUTPUT_LIMIT: {
        bool err = st->err.len > st->out.len;
        v->status = err ? "EL" : "OL", v->signal = "SIGKILL";
        snprintf(v->message, sizeof v->message, "%s length exceeded", err ? "stderr" : "stdout");
        return;
    }
    case SB_ST_INTERNAL_ERROR:
        v->status = "XX";
        snprintf(v->message, sizeof v->message, "%s", st->message);
        return;
    case SB_ST_MEMORY_LIMIT:
        code = 137;
        break;
    default: /* runtime_error, compile_error: the wrapper's exit status */
        if (code == 0)
            code = 1;
        break;
    }
    v->status = "RE", v->code = code;
    snprintf(v->message, sizeof v->message, "Exited with error status %d", code);
}

void piston_stage_code(const struct stage_result *st, json_t **code, json_t **signal)
{
    struct verdict v;
    verdict_of(st, &v);
    *code = v.code < 0 ? json_null() : json_integer(v.code);
    *signal = v.signal ? json_string(v.signal) : json_null();
}

json_t *piston_stage_json(const struct stage_result *st, const struct sb_buf *output)
{
    struct verdict v;
    verdict_of(st, &v);
    json_t *out = result_json_bytes(st->out.data, st->out.len, NULL);
    json_t *err = result_json_bytes(st->err.data, st->err.len, NULL);
    json_t *both;
    if (output) {
        both = result_json_bytes(output->data, output->len, NULL);
    } else {
        struct sb_buf b = {0};
        sb_buf_append(&b, st->out.data, st->out.len);
        sb_buf_append(&b, st->err.data, st->err.len);
        both = result_json_bytes(b.data, b.len, NULL);
        sb_buf_free(&b);
    }
    return json_pack("{s:o*,s:o*,s:o*,s:o*,s:o*,s:s?,s:s?,s:I,s:I,s:I}", "stdout", out,
                     "stderr", err, "output", both, "code",
                     v.code < 0 ? json_null() : json_integer(v.code), "signal",
                     v.signal ? json_string(v.signal) : json_null(), "message",
                     v.status ? v.message : NULL, "status", v.status,
                     "cpu_time", (json_int_t)st->cpu_ms, "wall_time", (json_int_t)st->wall_ms,
                     "memory", (json_int_t)(st->memory_kb * 1000));
}

json_t *piston_result_json(const struct piston_rt *rt, const struct job_result *res,
                           const struct sb_buf *output)
{
    json_t *o = json_pack("{s:s,s:s}", "language", rt->name, "version", rt->version);
    if (!o)
        return NULL;
    if (res->has_compile) {
        json_object_set_new(o, "compile", piston_stage_json(&res->compile, NULL));
        if (res->status == SB_ST_COMPILE_ERROR) {
            json_object_set(o, "run", json_object_get(o, "compile"));
            return o;
        }
    }
    if (res->ran) {
        json_object_set_new(o, "run", piston_stage_json(&res->run, output));
    } else {
        struct stage_result empty;
        result_empty_stage(res, &empty);
        json_object_set_new(o, "run", piston_stage_json(&empty, NULL));
    }
    return o;
}
