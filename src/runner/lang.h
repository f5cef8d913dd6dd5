/* Languages as data: languages/<name>.yaml files, loaded and validated at startup. */
#ifndef SB_RUNNER_LANG_H
#define SB_RUNNER_LANG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

/* Per-language overrides of the config's limits; 0 = not overridden. */
struct lang_limits {
    uint64_t wall_time_ms, cpu_time_ms, memory_mb, disk_mb, processes, output_kb,
        file_size_kb, open_files, stack_kb;
};

/*
 * In `compile` and `run` argv elements, placeholders are replaced per request:
 *   {entry}        the entry file (files[0], or `source` for `code`)
 *   {entry_base}   the entry without its extension     (pkg/main.py -> pkg/main)
 *   {entry_module} {entry_base} with '/' -> '.'         (com/x/App.java -> com.x.App)
 *   {sources}      every file whose name ends in one of `source_ext` (one argv each)
 *   {memory_mb}    the run's memory limit in MB
 */
/* What a sandbox layout has room for beyond the config's own entries. */
#define LANG_MAX_ETC 32
#define LANG_MAX_BINDS 32

struct lang {
    char *name;
    char **aliases;            /* NULL-terminated, may be empty */
    char **packages;           /* Debian packages (scripts/setup.sh installs them) */
    char **version;            /* argv printing the version; probed in a sandbox */
    char *source;              /* entry file name for `code` */
    char **source_ext;         /* extensions {sources} selects, e.g. ".c" */
    char **compile;            /* NULL if interpreted */
    char *artifact;            /* what the compile stage leaves in the workdir */
    bool artifact_tar;         /* ... a tar archive to unpack into the run's workdir */
    char **run;
    /* Warm pools: an interpreter started before the request (NULL: none).
     * It gets the pool's preload modules as extra arguments, imports them,
     * writes one byte to fd 3 (a socket) when ready, reads {"argv": [...],
     * "env": [...]} (the run's) from fd 3 until EOF, closes fd 3 and runs
     * the program exactly as `run` would. */
    char **warm_run;
    char **warm_cold_env;      /* request variables with these prefixes run cold */
    char **env;                /* "KEY=VALUE" */
    char **etc;                /* extra /etc entries exposed read-only */
    char **binds;              /* extra host paths bound read-only */
    struct lang_limits limits;         /* run defaults */
    struct lang_limits compile_limits; /* compile stage */
    /* Self-test (tests/integration/test_languages.py): prints "Hello, World!"
     * on empty stdin, exits 3 when stdin starts with "fail", else echoes stdin. */
    char *test_program;
    char *test_compile_error;  /* compiled languages: a program that does not compile */
    int test_fail_exit_code;   /* what "fail" exits with (3 unless the language cannot) */
    char *file;                /* where it was loaded from */
};

struct lang_registry {
    struct lang **v;
    size_t n;
};

/* Loads every *.yaml in dir, or (dir NULL or "") the files embedded at build
 * time. Each file is validated: unknown keys, missing fields, unsafe paths,
 * duplicate names/aliases fail with the file and the reason. */
int lang_registry_load(const char *dir, struct lang_registry *reg, struct sb_error *err);

/* lang_registry_load, then lang_registry_keep(names) when n > 0. */
int lang_registry_open(const char *dir, char *const *names, size_t n, struct lang_registry *reg,
                       struct sb_error *err);

/* The same, reading only what `name` needs when it is a language's own name
 * (the CLI runs one language; validation across files is the server's). */
int lang_registry_open_for(const char *dir, const char *name, char *const *names, size_t n,
                           struct lang_registry *reg, struct sb_error *err);

/* Keeps only the named languages (names, not aliases); an unknown name fails. */
int lang_registry_keep(struct lang_registry *reg, char *const *names, size_t n,
                       struct sb_error *err);
void lang_registry_free(struct lang_registry *reg);

/* By name or alias (case-sensitive), or NULL. */
const struct lang *lang_find(const struct lang_registry *reg, const char *name);

/* The language of a source file, from its extension (lang_infer.c): the one
 * language that lists it in source_ext, or, when several do, the one whose
 * name or alias is the extension itself (.py: python, not pypy). NULL with
 * err set when none or several match. */
const struct lang *lang_for_path(const struct lang_registry *reg, const char *path,
                                 struct sb_error *err);


#endif
