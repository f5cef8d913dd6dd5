/* Session templates: the embedded templates/<name>.yaml -> validated structs, joined with their languages. */
#include "service/template.h"

#include <cyaml/cyaml.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "common/yamlerr.h"

/* "\0SOULBOX-TPL <file>\n<text>", ... joined by the build. */
extern const char sb_templates_bundle[];
extern const char sb_templates_bundle_end[];

#define LIST(name) char **name; unsigned name##_count

struct raw_tpl_limits {
    char *memory_mb;
};

struct raw_tpl {
    char *name;
    LIST(aliases);
    char *description;
    LIST(languages);
    char *default_context;
    LIST(preload);
    LIST(env);
    struct raw_tpl_limits *limits;
};

#define OPT (CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL)
static const cyaml_schema_value_t str_entry = {
    CYAML_VALUE_STRING(CYAML_FLAG_POINTER, char, 0, 1024),
};
#define STR_LIST(key, member, min, max) \
    CYAML_FIELD_SEQUENCE(key, OPT, struct raw_tpl, member, &str_entry, min, max)

static const cyaml_schema_field_t limit_fields[] = {
    CYAML_FIELD_STRING_PTR("memory_mb", OPT, struct raw_tpl_limits, memory_mb, 1, 16),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t tpl_fields[] = {
    CYAML_FIELD_STRING_PTR("name", CYAML_FLAG_POINTER, struct raw_tpl, name, 1, 64),
    STR_LIST("aliases", aliases, 0, 16),
    CYAML_FIELD_STRING_PTR("description", OPT, struct raw_tpl, description, 0, 256),
    CYAML_FIELD_SEQUENCE("languages", CYAML_FLAG_POINTER, struct raw_tpl, languages,
                         &str_entry, 1, 16),
    CYAML_FIELD_STRING_PTR("default_context", CYAML_FLAG_POINTER, struct raw_tpl,
                           default_context, 1, 32),
    STR_LIST("preload", preload, 0, 64),
    STR_LIST("env", env, 0, 64),
    CYAML_FIELD_MAPPING_PTR("limits", OPT, struct raw_tpl, limits, limit_fields),
    CYAML_FIELD_END,
};

static const cyaml_schema_value_t tpl_schema = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_POINTER, struct raw_tpl, tpl_fields),
};

int template_context_ok(const char *lang)
{
    return !strcmp(lang, "python") || !strcmp(lang, "javascript") || !strcmp(lang, "bash");
}

static void free_list(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

static void tpl_free(struct template *t)
{
    if (!t)
        return;
    free(t->name);
    free_list(t->aliases);
    free(t->description);
    free_list(t->languages);
    free(t->default_context);
    free_list(t->preload);
    free_list(t->env);
    free_list(t->etc);
    free_list(t->binds);
    free(t->file);
    free(t);
}

/* Appends s to the NULL-terminated *v unless it is there already. */
static int push_unique(char ***v, size_t *n, const char *s)
{
    for (size_t i = 0; i < *n; i++)
        if (!strcmp((*v)[i], s))
            return 0;
    char **nv = realloc(*v, (*n + 2) * sizeof *nv);
    if (!nv)
        return -1;
    *v = nv;
    if (!(nv[*n] = strdup(s)))
        return -1;
    nv[++*n] = NULL;
    return 0;
}

static int copy_list(char ***out, char **v, unsigned n)
{
    size_t k = 0;
    *out = calloc(1, sizeof **out);
    if (!*out)
        return -1;
    for (unsigned i = 0; i < n; i++)
        if (push_unique(out, &k, v[i]) < 0)
            return -1;
    return 0;
}

static bool name_ok(const char *s)
{
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ||
              *p == '.'))
            return false;
    return *s != '\0';
}

/* The template from raw, its offered languages' /etc, binds and env joined
 * in. NULL with err, or NULL with err->code SB_E_OK when none is offered. */
static struct template *convert(const struct raw_tpl *r, const char *file,
                                const struct lang_registry *reg, struct sb_error *err)
{
    if (!name_ok(r->name))
        return sb_fail(err, SB_E_CONFIG, "%s: name '%s' is not [a-z0-9._-]+", file, r->name),
               NULL;
    if (!template_context_ok(r->default_context))
        return sb_fail(err, SB_E_CONFIG, "%s: default_context '%s' is not python, javascript "
                       "or bash", file, r->default_context), NULL;
    struct template *t = calloc(1, sizeof *t);
    size_t ne = 0, nb = 0, nv = 0;
    if (!t || !(t->name = strdup(r->name)) || !(t->file = strdup(file)) ||
        !(t->description = strdup(r->description ? r->description : "")) ||
        !(t->default_context = strdup(r->default_context)) ||
        copy_list(&t->aliases, r->aliases, r->aliases_count) < 0 ||
        copy_list(&t->languages, r->languages, r->languages_count) < 0 ||
        copy_list(&t->preload, r->preload, r->preload_count) < 0 ||
        !(t->etc = calloc(1, sizeof *t->etc)) || !(t->binds = calloc(1, sizeof *t->binds)) ||
        !(t->env = calloc(1, sizeof *t->env)))
        goto oom;
    unsigned offered = 0;
    for (unsigned i = 0; i < r->languages_count; i++) {
        const struct lang *l = lang_find(reg, r->languages[i]);
        if (!l)
            continue; /* not offered here: it adds nothing */
        offered++;
        for (char **p = l->etc; p && *p; p++)
            if (push_unique(&t->etc, &ne, *p) < 0)
                goto oom;
        for (char **p = l->binds; p && *p; p++)
            if (push_unique(&t->binds, &nb, *p) < 0)
                goto oom;
        for (char **p = l->env; p && *p; p++)
            if (push_unique(&t->env, &nv, *p) < 0)
                goto oom;
    }
    if (!offered) {
        err->code = SB_E_OK;
        snprintf(err->msg, sizeof err->msg, "none of its languages is offered");
        tpl_free(t);
        return NULL;
    }
    for (unsigned i = 0; i < r->env_count; i++) {
        if (!strchr(r->env[i], '=') || r->env[i][0] == '=') {
            sb_fail(err, SB_E_CONFIG, "%s: env '%s' is not KEY=VALUE", file, r->env[i]);
            tpl_free(t);
            return NULL;
        }
        if (push_unique(&t->env, &nv, r->env[i]) < 0)
            goto oom;
    }
    if (r->limits && r->limits->memory_mb &&
        (util_parse_size(r->limits->memory_mb, "MB", &t->memory_mb) != 0 || t->memory_mb < 8)) {
        sb_fail(err, SB_E_CONFIG, "%s: limits.memory_mb '%s' is not a size of at least 8MB",
                file, r->limits->memory_mb);
        tpl_free(t);
        return NULL;
    }
    return t;
oom:
    tpl_free(t);
    sb_fail(err, SB_E_INTERNAL, "out of memory");
    return NULL;
}

static int add(struct template_registry *tr, const struct lang_registry *reg, const char *file,
               const char *text, size_t len, char *dropped, size_t dlen, struct sb_error *err)
{
    struct yaml_err lc = {{0}, {0}};
    cyaml_config_t cfg = {.log_fn = yaml_err_log, .log_ctx = &lc, .mem_fn = cyaml_mem,
                          .log_level = CYAML_LOG_ERROR, .flags = CYAML_CFG_NO_ALIAS};
    struct raw_tpl *raw = NULL;
    cyaml_err_t e = cyaml_load_data((const uint8_t *)text, len, &cfg, &tpl_schema,
                                    (cyaml_data_t **)&raw, NULL);
    if (e != CYAML_OK)
        return sb_fail(err, SB_E_CONFIG, "%s: %s%s%s", file, lc.where, lc.where[0] ? ": " : "",
                       lc.msg[0] ? lc.msg : cyaml_strerror(e));
    err->code = SB_E_INTERNAL;
    struct template *t = convert(raw, file, reg, err);
    if (!t && err->code == SB_E_OK && dropped) {
        size_t n = strlen(dropped);
        snprintf(dropped + n, dlen - n, "%s%s (%s)", n ? ", " : "", raw->name, err->msg);
    }
    cyaml_free(&cfg, &tpl_schema, raw, 0);
    if (!t)
        return err->code == SB_E_OK ? 0 : -1;
    const char *clash = template_find(tr, t->name) ? t->name : NULL;
    for (char **a = t->aliases; !clash && *a; a++)
        if (template_find(tr, *a))
            clash = *a;
    struct template **v = clash ? NULL : realloc(tr->v, (tr->n + 1) * sizeof *v);
    if (!v) {
        if (clash)
            sb_fail(err, SB_E_CONFIG, "%s: name or alias '%s' is already used", file, clash);
        else
            sb_fail(err, SB_E_INTERNAL, "out of memory");
        tpl_free(t);
        return -1;
    }
    tr->v = v;
    tr->v[tr->n++] = t;
    return 0;
}

int template_registry_load(struct template_registry *tr, const struct lang_registry *reg,
                           char *dropped, size_t dlen, struct sb_error *err)
{
    static const char mark[] = "\nSOULBOX-TPL ";
    memset(tr, 0, sizeof *tr);
    if (dropped && dlen)
        dropped[0] = '\0';
    const char *p = sb_templates_bundle, *end = sb_templates_bundle_end;
    while (p < end) {
        if (*p != '\0' || (size_t)(end - p) < sizeof mark ||
            memcmp(p + 1, mark + 1, sizeof mark - 2))
            goto corrupt;
        const char *name = p + sizeof mark - 1;
        const char *nl = memchr(name, '\n', (size_t)(end - name));
        if (!nl)
            goto corrupt;
        const char *text = nl + 1;
        const char *next = memchr(text, '\0', (size_t)(end - text));
        if (!next)
            next = end;
        char file[256];
        snprintf(file, sizeof file, "templates/%.*s (embedded)", (int)(nl - name), name);
        if (add(tr, reg, file, text, (size_t)(next - text), dropped, dlen, err) < 0) {
            template_registry_free(tr);
            return -1;
        }
        p = next;
    }
    return 0;
corrupt:
    template_registry_free(tr);
    return sb_fail(err, SB_E_INTERNAL, "embedded templates are corrupt");
}

void template_registry_free(struct template_registry *tr)
{
    for (size_t i = 0; i < tr->n; i++)
        tpl_free(tr->v[i]);
    free(tr->v);
    memset(tr, 0, sizeof *tr);
}

const struct template *template_find(const struct template_registry *tr, const char *name)
{
    for (size_t i = 0; i < tr->n; i++) {
        if (!strcmp(tr->v[i]->name, name))
            return tr->v[i];
        for (char **a = tr->v[i]->aliases; *a; a++)
            if (!strcmp(*a, name))
                return tr->v[i];
    }
    return NULL;
}
