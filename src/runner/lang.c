/* Language registry: YAML files (a directory, or the set embedded at build time) -> validated structs. */
#include "runner/lang.h"

#include <ctype.h>
#include <cyaml/cyaml.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "common/yamlerr.h"
#include "sandbox/plan.h"

/* The languages directory joined by the build: "\0SOULBOX-LANG <file>\n<text>", ... */
extern const char sb_languages_bundle[];
extern const char sb_languages_bundle_end[];


/* ---- schema: every field a string or a list of strings ---- */

struct raw_limits {
    char *wall_time_ms, *cpu_time_ms, *memory_mb, *disk_mb, *processes, *output_kb,
        *file_size_kb, *open_files, *stack_kb;
};

struct raw_test {
    char *program;
    char *compile_error;
    char *fail_exit_code;
};

#define LIST(name) char **name; unsigned name##_count

struct raw_warm {
    char **run;
    unsigned run_count;
    char **cold_env;
    unsigned cold_env_count;
};

struct raw_lang {
    char *name;
    LIST(aliases);
    LIST(packages);
    LIST(version);
    char *source;
    LIST(source_ext);
    LIST(compile);
    char *artifact;
    char *artifact_tar;
    LIST(run);
    LIST(env);
    LIST(etc);
    LIST(binds);
    struct raw_limits *limits;
    struct raw_limits *compile_limits;
    struct raw_test *test;
    struct raw_warm *warm;
};

#define OPT (CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL)
#define REQ CYAML_FLAG_POINTER
#define STR(key, flags, member) CYAML_FIELD_STRING_PTR(key, flags, struct raw_lang, member, 1, 65535)
#define SEQ(key, flags, member, min) \
    CYAML_FIELD_SEQUENCE(key, flags, struct raw_lang, member, &str_entry, min, 256)
#define NUM(key, member) CYAML_FIELD_STRING_PTR(key, OPT, struct raw_limits, member, 1, 32)

static const cyaml_schema_value_t str_entry = {
    CYAML_VALUE_STRING(CYAML_FLAG_POINTER, char, 0, 4095),
};

static const cyaml_schema_field_t limit_fields[] = {
    NUM("wall_time_ms", wall_time_ms), NUM("cpu_time_ms", cpu_time_ms),
    NUM("memory_mb", memory_mb), NUM("disk_mb", disk_mb), NUM("processes", processes),
    NUM("output_kb", output_kb), NUM("file_size_kb", file_size_kb),
    NUM("open_files", open_files), NUM("stack_kb", stack_kb), CYAML_FIELD_END,
};

static const cyaml_schema_field_t test_fields[] = {
    CYAML_FIELD_STRING_PTR("program", REQ, struct raw_test, program, 1, 65535),
    CYAML_FIELD_STRING_PTR("compile_error", OPT, struct raw_test, compile_error, 1, 65535),
    CYAML_FIELD_STRING_PTR("fail_exit_code", OPT, struct raw_test, fail_exit_code, 1, 3),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t warm_fields[] = {
    CYAML_FIELD_SEQUENCE("run", CYAML_FLAG_POINTER, struct raw_warm, run, &str_entry, 1, 256),
    CYAML_FIELD_SEQUENCE("cold_env", OPT, struct raw_warm, cold_env, &str_entry, 0, 32),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t lang_fields[] = {
    STR("name", REQ, name),
    SEQ("aliases", OPT, aliases, 0),
    SEQ("packages", REQ, packages, 0),
    SEQ("version", REQ, version, 1),
    STR("source", REQ, source),
    SEQ("source_ext", OPT, source_ext, 1),
    SEQ("compile", OPT, compile, 1),
    STR("artifact", OPT, artifact),
    CYAML_FIELD_STRING_PTR("artifact_tar", OPT, struct raw_lang, artifact_tar, 1, 8),
    SEQ("run", REQ, run, 1),
    SEQ("env", OPT, env, 0),
    SEQ("etc", OPT, etc, 0),
    SEQ("binds", OPT, binds, 0),
    CYAML_FIELD_MAPPING_PTR("limits", OPT, struct raw_lang, limits, limit_fields),
    CYAML_FIELD_MAPPING_PTR("compile_limits", OPT, struct raw_lang, compile_limits, limit_fields),
    CYAML_FIELD_MAPPING_PTR("test", REQ, struct raw_lang, test, test_fields),
    CYAML_FIELD_MAPPING_PTR("warm", OPT, struct raw_lang, warm, warm_fields),
    CYAML_FIELD_END,
};

static const cyaml_schema_value_t lang_schema = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_POINTER, struct raw_lang, lang_fields),
};

/* ---- conversion and validation ---- */

static int bad(struct sb_error *err, const char *file, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bad(struct sb_error *err, const char *file, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return sb_fail(err, SB_E_CONFIG, "%s: %s", file, msg);
}

static void free_list(char **v)
{
    for (char **p = v; p && *p; p++)
        free(*p);
    free(v);
}

static char **dup_list(char **v, unsigned n)
{
    char **out = calloc(n + 1, sizeof *out);
    if (!out)
        return NULL;
    for (unsigned i = 0; i < n; i++)
        if (!(out[i] = strdup(v[i]))) {
            free_list(out);
            return NULL;
        }
    return out;
}

static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 32)
        return false;
    for (; *s; s++)
        if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && !strchr("+-_#", *s))
            return false;
    return true;
}

/* Debian package names: [a-z0-9][a-z0-9+.-]+ (they reach apt-get in setup.sh). */
static bool package_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 2 || n > 64 || !(islower((unsigned char)s[0]) || isdigit((unsigned char)s[0])))
        return false;
    for (; *s; s++)
        if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && !strchr("+.-", *s))
            return false;
    return true;
}

static int limits_from(const struct raw_limits *r, struct lang_limits *out, const char *file,
                       const char *section, struct sb_error *err)
{
    memset(out, 0, sizeof *out);
    if (!r)
        return 0;
    const struct { const char *key; const char *text; uint64_t *dst; } f[] = {
        {"wall_time_ms", r->wall_time_ms, &out->wall_time_ms},
        {"cpu_time_ms", r->cpu_time_ms, &out->cpu_time_ms},
        {"memory_mb", r->memory_mb, &out->memory_mb},
        {"disk_mb", r->disk_mb, &out->disk_mb},
        {"processes", r->processes, &out->processes},
        {"output_kb", r->output_kb, &out->output_kb},
        {"file_size_kb", r->file_size_kb, &out->file_size_kb},
        {"open_files", r->open_files, &out->open_files},
        {"stack_kb", r->stack_kb, &out->stack_kb},
    };
    for (size_t i = 0; i < sizeof f / sizeof *f; i++)
        if (f[i].text && (util_parse_u64(f[i].text, f[i].dst) < 0 || *f[i].dst == 0))
            return bad(err, file, "%s.%s: '%s' is not a positive decimal integer", section,
                       f[i].key, f[i].text);
    return 0;
}

static int check_argv(char **v, unsigned n, const char *file, const char *key, bool allow_rel,
                      struct sb_error *err)
{
    if (n == 0)
        return 0;
    bool rel = allow_rel && !strncmp(v[0], "./", 2) && plan_relpath_ok(v[0] + 2);
    if (!rel && !plan_path_ok(v[0]))
        return bad(err, file, "%s[0]: '%s' must be an absolute path%s", key, v[0],
                   allow_rel ? " or ./<file in the workdir>" : "");
    return 0;
}

static int check_raw(const struct raw_lang *r, const char *file, struct sb_error *err)
{
    if (!name_ok(r->name))
        return bad(err, file, "name: '%s' must be 1-32 of a-z 0-9 + - _ #", r->name);
    for (unsigned i = 0; i < r->aliases_count; i++)
        if (!name_ok(r->aliases[i]))
            return bad(err, file, "aliases[%u]: '%s' must be 1-32 of a-z 0-9 + - _ #", i,
                       r->aliases[i]);
    for (unsigned i = 0; i < r->packages_count; i++)
        if (!package_ok(r->packages[i]))
            return bad(err, file, "packages[%u]: '%s' is not a Debian package name", i,
                       r->packages[i]);
    if (!plan_relpath_ok(r->source) || strchr(r->source, '/'))
        return bad(err, file, "source: '%s' must be a plain file name", r->source);
    if (check_argv(r->version, r->version_count, file, "version", false, err) < 0 ||
        check_argv(r->compile, r->compile_count, file, "compile", false, err) < 0 ||
        check_argv(r->run, r->run_count, file, "run", true, err) < 0 ||
        (r->warm && check_argv(r->warm->run, r->warm->run_count, file, "warm.run", false,
                               err) < 0))
        return -1;
    if (r->warm && r->compile)
        return bad(err, file, "warm: only for interpreted languages (compiled ones get "
                   "pooled sandboxes without it)");
    if (r->compile && !r->artifact)
        return bad(err, file, "artifact: required with compile");
    if (r->artifact && (!plan_relpath_ok(r->artifact) || strchr(r->artifact, '/')))
        return bad(err, file, "artifact: '%s' must be a plain file name", r->artifact);
    if (r->artifact_tar && strcmp(r->artifact_tar, "true") && strcmp(r->artifact_tar, "false"))
        return bad(err, file, "artifact_tar: true or false");
    if (r->compile && !r->test->compile_error)
        return bad(err, file, "test.compile_error: required for a compiled language");
    uint64_t code;
    if (r->test->fail_exit_code &&
        (util_parse_u64(r->test->fail_exit_code, &code) < 0 || code == 0 || code > 255))
        return bad(err, file, "test.fail_exit_code: an exit code from 1 to 255");
    for (unsigned i = 0; i < r->env_count; i++) {
        const char *eq = strchr(r->env[i], '=');
        if (!eq || eq == r->env[i])
            return bad(err, file, "env[%u]: '%s' must be KEY=VALUE", i, r->env[i]);
    }
    if (r->etc_count > LANG_MAX_ETC || r->binds_count > LANG_MAX_BINDS)
        return bad(err, file, "etc and binds: at most %d and %d entries", LANG_MAX_ETC,
                   LANG_MAX_BINDS);
    for (unsigned i = 0; i < r->etc_count; i++)
        if (!plan_relpath_ok(r->etc[i]) || strchr(r->etc[i], '/'))
            return bad(err, file, "etc[%u]: '%s' must be a name directly under /etc", i,
                       r->etc[i]);
    for (unsigned i = 0; i < r->binds_count; i++)
        if (!plan_path_ok(r->binds[i]) || !strcmp(r->binds[i], "/"))
            return bad(err, file, "binds[%u]: '%s' must be an absolute path", i, r->binds[i]);
    for (unsigned i = 0; i < r->source_ext_count; i++)
        if (r->source_ext[i][0] != '.' || strchr(r->source_ext[i], '/'))
            return bad(err, file, "source_ext[%u]: '%s' must look like .ext", i,
                       r->source_ext[i]);
    return 0;
}

static void lang_free(struct lang *l)
{
    if (!l)
        return;
    free(l->name);
    free_list(l->aliases);
    free_list(l->packages);
    free_list(l->version);
    free(l->source);
    free_list(l->source_ext);
    free_list(l->compile);
    free(l->artifact);
    free_list(l->run);
    free_list(l->warm_run);
    free_list(l->warm_cold_env);
    free_list(l->env);
    free_list(l->etc);
    free_list(l->binds);
    free(l->test_program);
    free(l->test_compile_error);
    free(l->file);
    free(l);
}

static struct lang *convert(const struct raw_lang *r, const char *file, struct sb_error *err)
{
    struct lang *l = calloc(1, sizeof *l);
    if (!l) {
        sb_fail(err, SB_E_INTERNAL, "out of memory");
        return NULL;
    }
    l->name = strdup(r->name);
    l->aliases = dup_list(r->aliases, r->aliases_count);
    l->packages = dup_list(r->packages, r->packages_count);
    l->version = dup_list(r->version, r->version_count);
    l->source = strdup(r->source);
    l->source_ext = dup_list(r->source_ext, r->source_ext_count);
    l->compile = r->compile ? dup_list(r->compile, r->compile_count) : NULL;
    l->artifact = r->artifact ? strdup(r->artifact) : NULL;
    l->artifact_tar = r->artifact_tar && !strcmp(r->artifact_tar, "true");
    l->run = dup_list(r->run, r->run_count);
    l->warm_run = r->warm ? dup_list(r->warm->run, r->warm->run_count) : NULL;
    l->warm_cold_env = r->warm ? dup_list(r->warm->cold_env, r->warm->cold_env_count) : NULL;
    l->env = dup_list(r->env, r->env_count);
    l->etc = dup_list(r->etc, r->etc_count);
    l->binds = dup_list(r->binds, r->binds_count);
    l->test_program = strdup(r->test->program);
    l->test_compile_error = r->test->compile_error ? strdup(r->test->compile_error) : NULL;
    l->test_fail_exit_code = 3;
    if (r->test->fail_exit_code)
        l->test_fail_exit_code = atoi(r->test->fail_exit_code);
    l->file = strdup(file);
    if (!l->name || !l->aliases || !l->packages || !l->version || !l->source ||
        !l->source_ext || (r->compile && !l->compile) || !l->run || !l->env || !l->etc ||
        (r->warm && (!l->warm_run || !l->warm_cold_env)) ||
        !l->binds || !l->test_program || !l->file) {
        lang_free(l);
        sb_fail(err, SB_E_INTERNAL, "out of memory");
        return NULL;
    }
    if (limits_from(r->limits, &l->limits, file, "limits", err) < 0 ||
        limits_from(r->compile_limits, &l->compile_limits, file, "compile_limits", err) < 0) {
        lang_free(l);
        return NULL;
    }
    return l;
}

/* ---- loading ---- */

static int add(struct lang_registry *reg, const char *file, const char *text, size_t len,
               struct sb_error *err)
{
    struct yaml_err lc = {{0}, {0}};
    cyaml_config_t cfg = {.log_fn = yaml_err_log, .log_ctx = &lc, .mem_fn = cyaml_mem,
                          .log_level = CYAML_LOG_ERROR, .flags = CYAML_CFG_NO_ALIAS};
    struct raw_lang *raw = NULL;
    cyaml_err_t e = cyaml_load_data((const uint8_t *)text, len, &cfg, &lang_schema,
                                    (cyaml_data_t **)&raw, NULL);
    if (e != CYAML_OK)
        return bad(err, file, "%s%s%s", lc.where, lc.where[0] ? ": " : "",
                   lc.msg[0] ? lc.msg : cyaml_strerror(e));
    int rc = check_raw(raw, file, err);
    struct lang *l = rc == 0 ? convert(raw, file, err) : NULL;
    cyaml_free(&cfg, &lang_schema, raw, 0);
    if (!l)
        return -1;
    const char *clash = lang_find(reg, l->name) ? l->name : NULL;
    for (char **a = l->aliases; !clash && *a; a++)
        if (lang_find(reg, *a))
            clash = *a;
    if (clash) {
        sb_fail(err, SB_E_CONFIG, "%s: name or alias '%s' is already used by %s", file, clash,
                lang_find(reg, clash)->file);
        lang_free(l);
        return -1;
    }
    struct lang **v = realloc(reg->v, (reg->n + 1) * sizeof *v);
    if (!v) {
        lang_free(l);
        return sb_fail(err, SB_E_INTERNAL, "out of memory");
    }
    reg->v = v;
    reg->v[reg->n++] = l;
    return 0;
}

/* Whether a file name is "<only>.yaml" (or only is NULL: every file). */
static bool wanted(const char *file, size_t len, const char *only)
{
    return !only || (len == strlen(only) + 5 && !strncmp(file, only, strlen(only)) &&
                     !strncmp(file + len - 5, ".yaml", 5));
}

static int load_dir(const char *dir, const char *only, struct lang_registry *reg,
                    struct sb_error *err)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);
    if (n < 0)
        return sb_fail_errno(err, SB_E_CONFIG, errno, "languages dir %s", dir);
    int rc = 0;
    for (int i = 0; i < n; i++) {
        size_t len = strlen(names[i]->d_name);
        if (rc == 0 && len > 5 && !strcmp(names[i]->d_name + len - 5, ".yaml") &&
            wanted(names[i]->d_name, len, only)) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
            FILE *f = fopen(path, "re");
            char *text = NULL;
            size_t cap = 0;
            ssize_t got = f ? getdelim(&text, &cap, '\0', f) : -1;
            if (f)
                fclose(f);
            rc = got < 0 ? sb_fail(err, SB_E_CONFIG, "%s: cannot read", path)
                         : add(reg, path, text, (size_t)got, err);
            free(text);
        }
        free(names[i]);
    }
    free(names);
    if (rc == 0 && reg->n == 0 && !only)
        rc = sb_fail(err, SB_E_CONFIG, "languages dir %s has no *.yaml files", dir);
    return rc;
}

static int load_bundle(const char *only, struct lang_registry *reg, struct sb_error *err)
{
    static const char mark[] = "\nSOULBOX-LANG ";
    const char *p = sb_languages_bundle, *end = sb_languages_bundle_end;
    while (p < end) {
        /* Each entry: NUL, marker text, file name, newline, YAML until the next NUL. */
        if (*p != '\0' || (size_t)(end - p) < sizeof mark || memcmp(p + 1, mark + 1, sizeof mark - 2))
            return sb_fail(err, SB_E_INTERNAL, "embedded languages are corrupt");
        const char *name = p + sizeof mark - 1;
        const char *nl = memchr(name, '\n', (size_t)(end - name));
        if (!nl)
            return sb_fail(err, SB_E_INTERNAL, "embedded languages are corrupt");
        const char *text = nl + 1;
        const char *next = memchr(text, '\0', (size_t)(end - text));
        if (!next)
            next = end;
        char file[256];
        snprintf(file, sizeof file, "%.*s (embedded)", (int)(nl - name), name);
        if (wanted(name, (size_t)(nl - name), only) &&
            add(reg, file, text, (size_t)(next - text), err) < 0)
            return -1;
        p = next;
    }
    return 0;
}

static int load_some(const char *dir, const char *only, struct lang_registry *reg,
                     struct sb_error *err)
{
    memset(reg, 0, sizeof *reg);
    int rc = dir && *dir ? load_dir(dir, only, reg, err) : load_bundle(only, reg, err);
    if (rc < 0)
        lang_registry_free(reg);
    return rc;
}

int lang_registry_load(const char *dir, struct lang_registry *reg, struct sb_error *err)
{
    return load_some(dir, NULL, reg, err);
}

int lang_registry_open_for(const char *dir, const char *name, char *const *names, size_t n,
                           struct lang_registry *reg, struct sb_error *err)
{
    /* Most runs name a language by its own name: its file is all there is to
     * read. An alias (or a file named otherwise) needs them all. */
    bool offered = n == 0;
    for (size_t i = 0; i < n && !offered; i++)
        offered = !strcmp(names[i], name);
    if (name && offered && name_ok(name) && load_some(dir, name, reg, err) == 0) {
        if (reg->n == 1 && !strcmp(reg->v[0]->name, name))
            return 0;
        lang_registry_free(reg);
    }
    return lang_registry_open(dir, names, n, reg, err);
}

int lang_registry_keep(struct lang_registry *reg, char *const *names, size_t n,
                       struct sb_error *err)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        while (k < reg->n && strcmp(reg->v[k]->name, names[i]))
            k++;
        if (k == reg->n)
            return sb_fail(err, SB_E_CONFIG, "sandbox.languages: no language named '%s'",
                           names[i]);
    }
    size_t kept = 0;
    for (size_t k = 0; k < reg->n; k++) {
        bool want = false;
        for (size_t i = 0; i < n && !want; i++)
            want = !strcmp(reg->v[k]->name, names[i]);
        if (want)
            reg->v[kept++] = reg->v[k];
        else
            lang_free(reg->v[k]);
    }
    reg->n = kept;
    return 0;
}

int lang_registry_open(const char *dir, char *const *names, size_t n, struct lang_registry *reg,
                       struct sb_error *err)
{
    if (lang_registry_load(dir, reg, err) < 0)
        return -1;
    if (lang_registry_keep(reg, names, n, err) < 0) {
        lang_registry_free(reg);
        return -1;
    }
    return 0;
}

void lang_registry_free(struct lang_registry *reg)
{
    for (size_t i = 0; i < reg->n; i++)
        lang_free(reg->v[i]);
    free(reg->v);
    memset(reg, 0, sizeof *reg);
}

const struct lang *lang_find(const struct lang_registry *reg, const char *name)
{
    if (!reg)
        return NULL;
    for (size_t i = 0; i < reg->n; i++) {
        const struct lang *l = reg->v[i];
        if (!strcmp(l->name, name))
            return l;
        for (char **a = l->aliases; a && *a; a++)
            if (!strcmp(*a, name))
                return l;
    }
    return NULL;
}
