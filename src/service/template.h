/* Session templates as data: templates/<name>.yaml, embedded at build time, validated against the languages. */
#ifndef SB_SERVICE_TEMPLATE_H
#define SB_SERVICE_TEMPLATE_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "runner/lang.h"

/*
 * A template says what a session's sandbox offers: the languages whose /etc
 * entries, host binds and environment it gets, the language of its default
 * code context, modules python contexts import before their first cell, and
 * limits that differ from the config's session defaults.
 */
struct template {
    char *name;
    char **aliases;            /* NULL-terminated */
    char *description;
    char **languages;          /* names in the registry, NULL-terminated */
    char *default_context;     /* a context language: python, javascript, bash */
    char **preload;            /* python modules, NULL-terminated */
    char **env;                /* "KEY=VALUE": the languages' env, then the template's */
    char **etc;                /* the languages' /etc names, NULL-terminated */
    char **binds;              /* the languages' host binds, NULL-terminated */
    uint64_t memory_mb;        /* 0: the config's */
    char *file;
};

struct template_registry {
    struct template **v;
    size_t n;
};

/* Loads the embedded templates. A language the server does not offer adds
 * nothing to a template; a template with none of its languages offered is
 * left out and named in *dropped (a comma list; may be NULL). */
int template_registry_load(struct template_registry *t, const struct lang_registry *reg,
                           char *dropped, size_t dropped_len, struct sb_error *err);
void template_registry_free(struct template_registry *t);
/* By name or alias, or NULL. */
const struct template *template_find(const struct template_registry *t, const char *name);

/* Whether `lang` is a context language SoulBox has a driver for. */
int template_context_ok(const char *lang);

#endif
