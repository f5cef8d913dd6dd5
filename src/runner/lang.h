/* Languages SoulBox can run: how to compile (optionally) and run a program. */
#ifndef SB_RUNNER_LANG_H
#define SB_RUNNER_LANG_H

#include <stddef.h>

struct lang {
    const char *name;
    const char *const *aliases;        /* NULL-terminated */
    const char *source;                /* entry file name for `code` */
    /* In compile and run, "{entry}" stands for the entry file (files[0]). */
    const char *const *compile;        /* argv, NULL-terminated; NULL if interpreted */
    const char *artifact;              /* file the compile stage leaves in the workdir */
    const char *const *run;            /* argv before the user's args */
    const char *const *env;            /* extra "K=V", NULL-terminated */
    const char *const *version;        /* argv printing the version (probed in a sandbox) */
};

/* Finds a language by name or alias (case-sensitive), or NULL. */
const struct lang *lang_find(const char *name);

/* All languages, NULL-terminated. */
const struct lang *const *lang_all(void);

#endif
